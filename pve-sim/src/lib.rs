//! pve-sim: a simulated Proxmox VE API server (stateful, schema-checked) for tests, demos and benchmarks.

mod api;
mod auth;
mod config;
mod reqlog;
pub mod schema;
mod server;
mod state;
mod tls;
mod util;

use std::net::SocketAddr;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use anyhow::Context;

pub use config::{Credentials, Faults, SimConfig};
pub use reqlog::RequestRecord;
pub use state::scenario;
pub use state::scenario::Scenario;

use api::App;
use state::generate::{ADMIN_TOKEN, ADMIN_USER, AUDITOR_TOKEN, AUDITOR_USER, Secrets};

/// A running simulator. Dropping it without `shutdown` leaves the server running until the runtime ends.
pub struct SimHandle {
    addr: SocketAddr,
    tls: bool,
    app: Arc<App>,
    secrets: Secrets,
    stop: tokio::sync::watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

/// Starts the simulator on `cfg.bind` and returns once it accepts connections.
pub async fn start(cfg: SimConfig) -> anyhow::Result<SimHandle> {
    let secrets = Secrets {
        root_password: util::random_uuid(),
        admin_secret: util::random_uuid(),
        auditor_secret: util::random_uuid(),
    };
    let mut cluster = match &cfg.scenario {
        Some(sc) => sc.build(cfg.seed, &secrets),
        None => state::generate::generate(cfg.nodes, cfg.vms, cfg.cts, cfg.seed, &secrets),
    };
    cluster.settle_uptimes();
    cluster.offline_faults = cfg.faults.offline_nodes.iter().cloned().collect();
    let schema = match &cfg.schema {
        Some(p) => Some(Arc::new(schema::ApiSchema::load(p)?)),
        None => None,
    };
    let cert = tls::generate()?;
    let tls_cfg = if cfg.tls {
        Some(tls::server_config(&cert)?)
    } else {
        None
    };
    let listener = tokio::net::TcpListener::bind(cfg.bind)
        .await
        .with_context(|| format!("bind {}", cfg.bind))?;
    let addr = listener.local_addr()?;
    let app = Arc::new(App {
        cluster: RwLock::new(cluster),
        faults: RwLock::new(cfg.faults.clone()),
        schema,
        log: reqlog::RequestLog::new(cfg.request_log.as_deref())?,
        keys: auth::Keys::new(),
        time_scale: if cfg.time_scale.is_finite() {
            cfg.time_scale.max(0.0)
        } else {
            1.0
        },
        fingerprint: cert.fingerprint.clone(),
        cert_pem: cert.cert_pem.clone(),
    });
    let (stop, stop_rx) = tokio::sync::watch::channel(false);
    let router = api::router(Arc::clone(&app));
    let task = tokio::spawn(server::serve(listener, tls_cfg, router, stop_rx));
    tracing::info!(%addr, tls = cfg.tls, "pve-sim listening");
    Ok(SimHandle {
        addr,
        tls: cfg.tls,
        app,
        secrets,
        stop,
        task,
    })
}

impl SimHandle {
    /// `https://127.0.0.1:PORT` (or `http://` without TLS); no `/api2/json`.
    pub fn url(&self) -> String {
        let scheme = if self.tls { "https" } else { "http" };
        match self.addr {
            SocketAddr::V6(a) => format!("{scheme}://[{}]:{}", a.ip(), a.port()),
            SocketAddr::V4(a) => format!("{scheme}://{}:{}", a.ip(), a.port()),
        }
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// SHA-256 of the certificate, `AA:BB:...` like PVE's `ssl_fingerprint`.
    pub fn fingerprint(&self) -> String {
        self.app.fingerprint.clone()
    }

    /// The self-signed certificate (PEM), usable as a CA file.
    pub fn cert_pem(&self) -> String {
        self.app.cert_pem.clone()
    }

    /// The full-admin token `mcp@pve!admin` (Administrator on `/`).
    pub fn admin(&self) -> Credentials {
        Credentials {
            token_id: format!("{ADMIN_USER}!{ADMIN_TOKEN}"),
            secret: self.secrets.admin_secret.clone(),
        }
    }

    /// The read-only token `audit@pve!ro` (PVEAuditor on `/`).
    pub fn auditor(&self) -> Credentials {
        Credentials {
            token_id: format!("{AUDITOR_USER}!{AUDITOR_TOKEN}"),
            secret: self.secrets.auditor_secret.clone(),
        }
    }

    /// `("root@pam", password)` for ticket authentication.
    pub fn root_password(&self) -> (String, String) {
        ("root@pam".into(), self.secrets.root_password.clone())
    }

    /// When the task `upid` ends (or ended), on this process's monotonic clock: lets a
    /// benchmark measure how soon a client noticed.
    pub fn task_end(&self, upid: &str) -> Option<std::time::Instant> {
        self.app
            .read()
            .task(upid)
            .map(|t| (t.started + t.duration).into_std())
    }

    /// A deterministic dump of the cluster (no secrets, no clock-dependent values).
    pub fn state(&self) -> serde_json::Value {
        self.app.read().dump()
    }

    /// The secret of API token `user@realm!name` as the cluster stores it (never in `state()`),
    /// for tests that prove a secret was not leaked.
    pub fn token_secret(&self, token_id: &str) -> Option<String> {
        let (user, name) = token_id.split_once('!')?;
        let c = self.app.read();
        Some(c.access.users.get(user)?.tokens.get(name)?.secret.clone())
    }

    /// Every request served so far.
    pub fn requests(&self) -> Vec<RequestRecord> {
        self.app.log.all()
    }

    pub fn clear_requests(&self) {
        self.app.log.clear();
    }

    /// Replaces the fault injection settings.
    pub fn set_faults(&self, f: Faults) {
        self.app.write().offline_faults = f.offline_nodes.iter().cloned().collect();
        if let Ok(mut cur) = self.app.faults.write() {
            *cur = f;
        }
    }

    /// Ticket lifetime (default 2 hours), for expiry tests.
    pub fn set_ticket_lifetime(&self, d: Duration) {
        self.app.keys.set_lifetime(d.as_secs());
    }

    /// Stops accepting, aborts open connections and waits for the server task.
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        let _ = self.task.await;
    }
}
