//! The engine child: spawn `proxmox-mcp serve --behind-bridge`, connect over stdio with the
//! 2026-07-28 lifecycle, and supervise it. One child is shared by every HTTP client: the engine
//! keeps no per-client state (2026-07-28 is stateless, and confirmations travel in sealed
//! `requestState`), and one process means one audit log writer, one Proxmox connection pool and
//! one set of approvals.
//!
//! A child that dies or stops answering is restarted with a doubling pause; after too many
//! restarts in a window the circuit opens and the bridge stops trying (`/readyz` says why). A
//! child that fails its first handshake is a configuration error: the bridge exits with the
//! child's last stderr lines.

use std::collections::VecDeque;
use std::io::Write as _;
use std::process::Stdio;
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use proxmox_mcp_contract::bridge::{BEHIND_BRIDGE_FLAG, SERVE_SUBCOMMAND};
use rmcp::handler::client::progress::ProgressDispatcher;
use rmcp::model::{
    ClientConfig, Implementation, ProgressNotificationParam, ProtocolVersion, ServerConfig,
};
use rmcp::service::{NotificationContext, Peer, RoleClient, RunningService};
use rmcp::transport::TokioChildProcess;
use rmcp::{ClientHandler, ClientLifecycleMode, ClientServiceExt};
use tokio::io::AsyncBufReadExt;
use tokio_util::sync::CancellationToken;

use crate::cli::Settings;
use crate::log::LogSink;

/// How many of the child's stderr lines are kept for error reports.
const TAIL_LINES: usize = 30;
/// How long a failure report waits for the child's last stderr lines to arrive.
const STDERR_DRAIN: Duration = Duration::from_secs(2);
/// How long the first handshake may take.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(30);
/// Liveness probe: every, and how long the child has to answer `tools/list`.
const PROBE_EVERY: Duration = Duration::from_secs(10);
const PROBE_TIMEOUT: Duration = Duration::from_secs(10);
/// The window in which restarts are counted for the circuit breaker.
const RESTART_WINDOW: Duration = Duration::from_secs(600);
const MAX_BACKOFF: Duration = Duration::from_secs(30);

/// Our side of the child connection: forwards the child's progress to whoever waits for it.
#[derive(Clone)]
pub struct ChildClient {
    pub progress: ProgressDispatcher,
}

impl ClientHandler for ChildClient {
    fn get_info(&self) -> ClientConfig {
        let mut info = ClientConfig::default();
        info.client_info = Implementation::new("mcp-http-bridge", env!("CARGO_PKG_VERSION"));
        info
    }

    async fn on_progress(
        &self,
        params: ProgressNotificationParam,
        _context: NotificationContext<RoleClient>,
    ) {
        self.progress.handle_notification(params).await;
    }
}

/// A live connection to the child.
pub struct Conn {
    pub peer: Peer<RoleClient>,
    pub progress: ProgressDispatcher,
    pub server: ServerConfig,
    pub pid: Option<u32>,
}

enum Link {
    Starting,
    Up(Arc<Conn>),
    Down(String),
}

/// The supervised child.
pub struct Supervisor {
    settings: Arc<Settings>,
    link: RwLock<Link>,
    tail: Arc<Mutex<VecDeque<String>>>,
    /// The task copying the current child's stderr into `tail` and the log.
    stderr_reader: Mutex<Option<tokio::task::JoinHandle<()>>>,
    log: Arc<LogSink>,
    shutdown: CancellationToken,
    started: Instant,
}

/// Why the engine cannot take a call right now.
pub fn unavailable(why: &str) -> String {
    format!("the proxmox-mcp engine behind this bridge is not available: {why}")
}

impl Supervisor {
    /// Start the child and complete its handshake; an error carries the child's stderr tail.
    pub async fn start(
        settings: Arc<Settings>,
        log: Arc<LogSink>,
        shutdown: CancellationToken,
    ) -> Result<Arc<Supervisor>, String> {
        let sup = Arc::new(Supervisor {
            settings,
            link: RwLock::new(Link::Starting),
            tail: Arc::new(Mutex::new(VecDeque::new())),
            stderr_reader: Mutex::new(None),
            log,
            shutdown,
            started: Instant::now(),
        });
        let running = match sup.spawn(1).await {
            Ok(r) => r,
            Err(e) => return Err(sup.with_final_tail(&e).await),
        };
        let watch = sup.clone();
        tokio::spawn(async move { watch.supervise(running).await });
        let probe = sup.clone();
        tokio::spawn(async move { probe.probe().await });
        Ok(sup)
    }

    pub fn uptime(&self) -> Duration {
        self.started.elapsed()
    }

    /// The live connection, or why there is none.
    pub fn conn(&self) -> Result<Arc<Conn>, String> {
        match &*self.link.read().unwrap_or_else(|e| e.into_inner()) {
            Link::Up(c) => Ok(c.clone()),
            Link::Starting => Err("it is starting".into()),
            Link::Down(why) => Err(why.clone()),
        }
    }

    fn set(&self, link: Link) {
        *self.link.write().unwrap_or_else(|e| e.into_inner()) = link;
    }

    fn with_tail(&self, msg: &str) -> String {
        let tail = self.tail.lock().unwrap_or_else(|e| e.into_inner());
        if tail.is_empty() {
            format!("{msg} (it wrote nothing to stderr)")
        } else {
            let lines: Vec<&str> = tail.iter().map(String::as_str).collect();
            format!("{msg}; its last stderr lines:\n  {}", lines.join("\n  "))
        }
    }

    /// [`Self::with_tail`] once the child's stderr is drained: a child that has just exited
    /// may still have its last lines (the reason it failed) in the pipe.
    async fn with_final_tail(&self, msg: &str) -> String {
        let reader = self
            .stderr_reader
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take();
        if let Some(reader) = reader {
            let _ = tokio::time::timeout(STDERR_DRAIN, reader).await;
        }
        self.with_tail(msg)
    }

    async fn spawn(
        &self,
        generation: u64,
    ) -> Result<RunningService<RoleClient, ChildClient>, String> {
        let engine = &self.settings.engine;
        let mut cmd = tokio::process::Command::new(engine);
        cmd.args([SERVE_SUBCOMMAND, BEHIND_BRIDGE_FLAG])
            .env("PROXMOX_MCP_BEHIND_BRIDGE", "1")
            .kill_on_drop(true)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped());
        let (proc, stderr) = TokioChildProcess::builder(cmd)
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("cannot start the engine {}: {e}", engine.display()))?;
        let pid = proc.id();
        if let Some(stderr) = stderr {
            let tail = self.tail.clone();
            let log = self.log.clone();
            let reader = tokio::spawn(async move {
                let mut lines = tokio::io::BufReader::new(stderr).lines();
                while let Ok(Some(line)) = lines.next_line().await {
                    log.line(&line);
                    let mut t = tail.lock().unwrap_or_else(|e| e.into_inner());
                    if t.len() == TAIL_LINES {
                        t.pop_front();
                    }
                    t.push_back(line);
                }
            });
            *self.stderr_reader.lock().unwrap_or_else(|e| e.into_inner()) = Some(reader);
        }
        let client = ChildClient {
            progress: ProgressDispatcher::new(),
        };
        let lifecycle = ClientLifecycleMode::Discover {
            preferred_versions: vec![ProtocolVersion::V_2026_07_28],
        };
        let running = tokio::time::timeout(
            HANDSHAKE_TIMEOUT,
            client.clone().serve_with_lifecycle(proc, lifecycle),
        )
        .await
        .map_err(|_| {
            format!(
                "the engine {} did not complete its handshake in {HANDSHAKE_TIMEOUT:?}",
                engine.display()
            )
        })?
        .map_err(|e| {
            format!(
                "the engine {} exited or failed before its handshake ({e})",
                engine.display()
            )
        })?;
        let server = match running.peer_info() {
            Some(i) => {
                let mut c = ServerConfig::new(i.capabilities.clone());
                if let Some(s) = &i.server_info {
                    c = c.with_server_info(s.clone());
                }
                if let Some(text) = &i.instructions {
                    c = c.with_instructions(text.clone());
                }
                c
            }
            None => ServerConfig::default(),
        };
        tracing::info!(?pid, generation, "engine ready");
        self.set(Link::Up(Arc::new(Conn {
            peer: running.peer().clone(),
            progress: client.progress,
            server,
            pid,
        })));
        Ok(running)
    }

    /// Wait for the child to end; restart it with backoff until the breaker opens.
    async fn supervise(self: Arc<Self>, mut running: RunningService<RoleClient, ChildClient>) {
        let mut restarts: VecDeque<Instant> = VecDeque::new();
        let mut generation = 1;
        loop {
            let ct = running.cancellation_token();
            let stop = self.shutdown.clone();
            tokio::select! {
                quit = running.waiting() => {
                    tracing::warn!("engine exited ({quit:?})");
                }
                _ = stop.cancelled() => {
                    self.set(Link::Down("the bridge is shutting down".into()));
                    ct.cancel();
                    return;
                }
            }
            if self.shutdown.is_cancelled() {
                return;
            }
            // Its stderr goes to the operator's log, never to clients or /readyz.
            tracing::error!("{}", self.with_final_tail("the engine exited").await);
            self.set(Link::Down(
                "the engine exited; restarting it (the bridge log says why)".into(),
            ));
            let mut pause = self.settings.restart_backoff;
            loop {
                let now = Instant::now();
                while restarts
                    .front()
                    .is_some_and(|t| now.duration_since(*t) > RESTART_WINDOW)
                {
                    restarts.pop_front();
                }
                if restarts.len() as u32 >= self.settings.max_restarts {
                    let msg = format!(
                        "the engine was restarted {} times in {} minutes and keeps failing; \
                         not restarting it again (circuit open): read the log, fix the cause \
                         and restart the bridge",
                        restarts.len(),
                        RESTART_WINDOW.as_secs() / 60
                    );
                    tracing::error!("{msg}");
                    self.set(Link::Down(msg));
                    return;
                }
                tokio::select! {
                    _ = tokio::time::sleep(pause) => {}
                    _ = self.shutdown.cancelled() => return,
                }
                restarts.push_back(Instant::now());
                generation += 1;
                match self.spawn(generation).await {
                    Ok(r) => {
                        running = r;
                        break;
                    }
                    Err(e) => {
                        tracing::error!("restart failed: {}", self.with_final_tail(&e).await);
                        self.set(Link::Down(format!("{e}; retrying")));
                        pause = (pause * 2).min(MAX_BACKOFF);
                    }
                }
            }
        }
    }

    /// A child that stops answering `tools/list` twice in a row is wedged: kill it (the
    /// supervisor restarts it). Long tool calls do not count: requests run concurrently.
    async fn probe(self: Arc<Self>) {
        let mut misses = 0;
        loop {
            tokio::select! {
                _ = tokio::time::sleep(PROBE_EVERY) => {}
                _ = self.shutdown.cancelled() => return,
            }
            let Ok(conn) = self.conn() else {
                misses = 0;
                continue;
            };
            match tokio::time::timeout(PROBE_TIMEOUT, conn.peer.list_tools(None)).await {
                Ok(Ok(_)) => misses = 0,
                _ => {
                    misses += 1;
                    tracing::warn!(misses, "the engine did not answer the liveness probe");
                    if misses >= 2 {
                        misses = 0;
                        if let Some(pid) = conn.pid {
                            tracing::error!(pid, "the engine is wedged: killing it");
                            let _ = std::process::Command::new("kill")
                                .args(["-KILL", &pid.to_string()])
                                .status();
                        }
                    }
                }
            }
        }
    }

    /// Stop the child: close its stdin and give it a moment, then it is killed on drop.
    pub async fn stop(&self) {
        self.shutdown.cancel();
        // Give the supervisor task the chance to close the transport.
        tokio::time::sleep(Duration::from_millis(200)).await;
        let _ = std::io::stderr().flush();
    }
}
