//! The MCP side of a test: the real `proxmox-mcp` binary spawned over stdio and an rmcp client
//! connected to it in one of the two protocol revisions.

use std::{
    path::Path,
    process::Stdio,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use rmcp::{
    ClientHandler, ClientServiceExt as _, RoleClient, ServiceError,
    model::{
        CallToolRequest, CallToolRequestParams, CallToolResult, ClientCapabilities, ClientConfig,
        ClientRequest, ElicitRequestParams, ElicitResult, ElicitationAction, ErrorData,
        Implementation, JsonObject, ProgressNotificationParam, ProgressToken, ProtocolVersion,
        ServerResult, Tool,
    },
    service::{
        NotificationContext, Peer, PeerRequestOptions, RequestContext, RequestHandle,
        RunningService,
    },
    transport::TokioChildProcess,
};
use serde_json::Value;
use tokio::io::AsyncReadExt as _;

use crate::Protocol;

/// How the test client answers the server's confirmation forms (it plays the human).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Human {
    /// The client does not declare elicitation: the server must use approval ids.
    Absent,
    /// Accepts with `confirm: true`.
    Accept,
    /// Accepts but leaves `confirm` unticked.
    AcceptUnticked,
    Decline,
    Cancel,
}

/// The client side handler: records progress notifications and confirmation forms.
#[derive(Clone)]
pub struct TestClient {
    protocol: Protocol,
    progress: Arc<Mutex<Vec<ProgressNotificationParam>>>,
    human: Arc<Mutex<Human>>,
    /// The messages of every form the server showed.
    asked: Arc<Mutex<Vec<String>>>,
    /// `notifications/tools/list_changed` received.
    list_changed: Arc<std::sync::atomic::AtomicUsize>,
}

impl ClientHandler for TestClient {
    fn get_info(&self) -> ClientConfig {
        let mut info = ClientConfig::default();
        info.client_info = Implementation::new("e2e-tests", env!("CARGO_PKG_VERSION"));
        if *self.human.lock().unwrap() != Human::Absent {
            info.capabilities = ClientCapabilities::builder().enable_elicitation().build();
        }
        if self.protocol == Protocol::Legacy {
            info.protocol_version = ProtocolVersion::V_2025_11_25;
        }
        info
    }

    async fn on_tool_list_changed(&self, _ctx: NotificationContext<RoleClient>) {
        self.list_changed
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    }

    async fn create_elicitation(
        &self,
        request: ElicitRequestParams,
        _context: RequestContext<RoleClient>,
    ) -> Result<ElicitResult, ErrorData> {
        if let ElicitRequestParams::FormElicitationParams { message, .. } = &request {
            self.asked.lock().unwrap().push(message.clone());
        }
        let human = *self.human.lock().unwrap();
        Ok(match human {
            Human::Accept => ElicitResult::new(ElicitationAction::Accept)
                .with_content(serde_json::json!({"confirm": true})),
            Human::AcceptUnticked => ElicitResult::new(ElicitationAction::Accept)
                .with_content(serde_json::json!({"confirm": false})),
            Human::Decline => ElicitResult::new(ElicitationAction::Decline),
            Human::Cancel | Human::Absent => ElicitResult::new(ElicitationAction::Cancel),
        })
    }

    async fn on_progress(
        &self,
        params: ProgressNotificationParam,
        _ctx: NotificationContext<RoleClient>,
    ) {
        self.progress.lock().unwrap().push(params);
    }
}

/// A connected client and the server process behind it.
pub struct Mcp {
    client: Option<RunningService<RoleClient, TestClient>>,
    human: Arc<Mutex<Human>>,
    asked: Arc<Mutex<Vec<String>>>,
    list_changed: Arc<std::sync::atomic::AtomicUsize>,
    pub protocol: Protocol,
    pid: Option<u32>,
    stderr: Arc<Mutex<String>>,
    progress: Arc<Mutex<Vec<ProgressNotificationParam>>>,
    /// Time from spawn to the first reply (`initialize` or `server/discover` result).
    pub startup: Duration,
}

impl Mcp {
    /// Spawns `bin` with exactly the given extra environment (on top of a scrubbed parent
    /// environment) and connects in `protocol`.
    pub async fn spawn(
        bin: &Path,
        protocol: Protocol,
        env: &[(String, String)],
    ) -> anyhow::Result<Mcp> {
        Self::spawn_with(bin, protocol, env, Human::Absent).await
    }

    /// Connects over Streamable HTTP (the bridge at `url`) in `protocol`, with `token` as the
    /// bearer token, answering confirmation forms as `human` does.
    pub async fn connect_http(
        url: &str,
        token: Option<&str>,
        protocol: Protocol,
        human: Human,
    ) -> anyhow::Result<Mcp> {
        use rmcp::transport::StreamableHttpClientTransport;
        use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;
        let mut config = StreamableHttpClientTransportConfig::with_uri(url);
        if let Some(t) = token {
            config = config.auth_header(t);
        }
        let transport = StreamableHttpClientTransport::from_config(config);
        let progress = Arc::new(Mutex::new(Vec::new()));
        let human = Arc::new(Mutex::new(human));
        let asked = Arc::new(Mutex::new(Vec::new()));
        let list_changed = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let handler = TestClient {
            protocol,
            progress: progress.clone(),
            human: human.clone(),
            asked: asked.clone(),
            list_changed: list_changed.clone(),
        };
        let t0 = Instant::now();
        let client = handler
            .serve_with_lifecycle(transport, protocol.lifecycle())
            .await
            .map_err(|e| anyhow::anyhow!("connecting ({protocol:?}) to {url}: {e}"))?;
        Ok(Mcp {
            client: Some(client),
            human,
            asked,
            list_changed,
            protocol,
            pid: None,
            stderr: Arc::new(Mutex::new(String::new())),
            progress,
            startup: t0.elapsed(),
        })
    }

    /// [`Mcp::spawn`] with a client that answers confirmation forms as `human` does.
    pub async fn spawn_with(
        bin: &Path,
        protocol: Protocol,
        env: &[(String, String)],
        human: Human,
    ) -> anyhow::Result<Mcp> {
        let mut cmd = tokio::process::Command::new(bin);
        scrub_env(cmd.as_std_mut());
        cmd.envs(env.iter().map(|(k, v)| (k, v)));
        let t0 = Instant::now();
        let (proc, stderr_pipe) = TokioChildProcess::builder(cmd)
            .stderr(Stdio::piped())
            .spawn()?;
        let pid = proc.id();
        let stderr = Arc::new(Mutex::new(String::new()));
        if let Some(mut pipe) = stderr_pipe {
            let sink = stderr.clone();
            tokio::spawn(async move {
                let mut buf = [0u8; 4096];
                while let Ok(n) = pipe.read(&mut buf).await {
                    if n == 0 {
                        break;
                    }
                    sink.lock()
                        .unwrap()
                        .push_str(&String::from_utf8_lossy(&buf[..n]));
                }
            });
        }
        let progress = Arc::new(Mutex::new(Vec::new()));
        let human = Arc::new(Mutex::new(human));
        let asked = Arc::new(Mutex::new(Vec::new()));
        let list_changed = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let handler = TestClient {
            protocol,
            progress: progress.clone(),
            human: human.clone(),
            asked: asked.clone(),
            list_changed: list_changed.clone(),
        };
        let client = handler
            .serve_with_lifecycle(proc, protocol.lifecycle())
            .await;
        let startup = t0.elapsed();
        let client = match client {
            Ok(c) => c,
            Err(e) => {
                // Give the stderr reader a moment to collect the server's last words.
                tokio::time::sleep(Duration::from_millis(100)).await;
                anyhow::bail!(
                    "connecting ({protocol:?}) to {}: {e}\nserver stderr:\n{}",
                    bin.display(),
                    stderr.lock().unwrap()
                );
            }
        };
        let negotiated = client.peer_info().map(|i| i.protocol_version.clone());
        anyhow::ensure!(
            negotiated.as_ref() == Some(&protocol.version()),
            "negotiated {negotiated:?}, wanted {:?}",
            protocol.version()
        );
        Ok(Mcp {
            client: Some(client),
            human,
            asked,
            list_changed,
            protocol,
            pid,
            stderr,
            progress,
            startup,
        })
    }

    /// Changes how the human answers from now on (the declared capability stays).
    pub fn set_human(&self, human: Human) {
        *self.human.lock().unwrap() = human;
    }

    /// How many `notifications/tools/list_changed` arrived.
    pub fn list_changed(&self) -> usize {
        self.list_changed.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// The messages of the confirmation forms shown so far.
    pub fn asked(&self) -> Vec<String> {
        self.asked.lock().unwrap().clone()
    }

    pub fn service(&self) -> &RunningService<RoleClient, TestClient> {
        self.client.as_ref().expect("client closed")
    }

    pub fn peer(&self) -> &Peer<RoleClient> {
        self.service().peer()
    }

    pub fn pid(&self) -> Option<u32> {
        self.pid
    }

    /// Everything the server wrote to stderr so far.
    pub fn stderr(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }

    pub async fn tools(&self) -> Vec<Tool> {
        self.service()
            .list_all_tools()
            .await
            .unwrap_or_else(|e| panic!("tools/list: {e}\nserver stderr:\n{}", self.stderr()))
    }

    /// `tools/call`; a JSON-RPC error is returned as `Err`.
    pub async fn try_call(&self, tool: &str, args: Value) -> Result<CallToolResult, ServiceError> {
        let mut p = CallToolRequestParams::new(tool.to_string());
        p.arguments = Some(object(args));
        self.service().call_tool(p).await
    }

    /// `tools/call`; a JSON-RPC error fails the test (tool failures are `isError` results).
    pub async fn call(&self, tool: &str, args: Value) -> CallToolResult {
        let shown = args.to_string();
        match self.try_call(tool, args).await {
            Ok(r) => r,
            Err(e) => panic!(
                "{tool} {}: JSON-RPC error {e}\nserver stderr:\n{}",
                truncate(&shown, 300),
                self.stderr()
            ),
        }
    }

    /// Sends a `tools/call` and returns the in-flight handle (for progress and cancellation).
    pub async fn start_call(&self, tool: &str, args: Value) -> RequestHandle<RoleClient> {
        let mut p = CallToolRequestParams::new(tool.to_string());
        p.arguments = Some(object(args));
        self.peer()
            .send_request_with_option(
                ClientRequest::CallToolRequest(CallToolRequest::new(p)),
                PeerRequestOptions::no_options(),
            )
            .await
            .expect("sending tools/call")
    }

    /// Awaits a handle from [`Mcp::start_call`].
    pub async fn finish_call(&self, h: RequestHandle<RoleClient>) -> CallToolResult {
        match h.await_response().await {
            Ok(ServerResult::CallToolResult(r)) => r,
            other => panic!(
                "unexpected tools/call reply {other:?}\nserver stderr:\n{}",
                self.stderr()
            ),
        }
    }

    /// Progress notifications received so far for one request.
    pub fn progress(&self, token: &ProgressToken) -> Vec<ProgressNotificationParam> {
        self.progress
            .lock()
            .unwrap()
            .iter()
            .filter(|p| &p.progress_token == token)
            .cloned()
            .collect()
    }

    /// Closes stdin and waits for the server to exit (SIGTERM/kill after a grace period).
    pub async fn close(mut self) {
        if let Some(c) = self.client.take() {
            let _ = c.cancel().await;
        }
    }
}

/// Removes any Proxmox settings inherited from the developer's shell, so a test only ever sees
/// what it sets.
pub fn scrub_env(cmd: &mut std::process::Command) {
    for (k, _) in std::env::vars_os() {
        let k = k.to_string_lossy();
        if k.starts_with("PROXMOX_") || k == "RUST_LOG" {
            cmd.env_remove(&*k);
        }
    }
}

pub fn object(v: Value) -> JsonObject {
    match v {
        Value::Object(m) => m,
        Value::Null => JsonObject::new(),
        other => panic!("tool arguments must be an object, got {other}"),
    }
}

pub fn truncate(s: &str, n: usize) -> String {
    if s.len() <= n {
        return s.to_string();
    }
    let mut end = n;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}… ({} bytes)", &s[..end], s.len())
}

/// Accessors for tool results.
pub trait ResultExt {
    /// All text content, concatenated.
    fn text(&self) -> String;
    /// `structuredContent`, or a test failure.
    fn structured(&self) -> &Value;
    fn failed(&self) -> bool;
    /// Asserts success and returns `self`.
    fn ok(&self, what: &str) -> &Self;
    /// Asserts `isError: true` and returns the message text.
    fn err(&self, what: &str) -> String;
}

impl ResultExt for CallToolResult {
    fn text(&self) -> String {
        self.content
            .iter()
            .filter_map(|c| c.as_text().map(|t| t.text.as_str()))
            .collect::<Vec<_>>()
            .join("\n")
    }

    fn structured(&self) -> &Value {
        self.structured_content
            .as_ref()
            .unwrap_or_else(|| panic!("no structuredContent in {}", truncate(&self.text(), 500)))
    }

    fn failed(&self) -> bool {
        self.is_error == Some(true)
    }

    fn ok(&self, what: &str) -> &Self {
        assert!(
            !self.failed(),
            "{what}: expected success, got isError: {}",
            truncate(&self.text(), 2000)
        );
        self
    }

    fn err(&self, what: &str) -> String {
        assert!(
            self.failed(),
            "{what}: expected isError, got success: {}",
            truncate(&self.text(), 2000)
        );
        let t = self.text();
        assert!(!t.trim().is_empty(), "{what}: error without a message");
        t
    }
}
