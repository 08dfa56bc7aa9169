//! The shared runtime: configuration, one Proxmox client per cluster, progress reporting.
//!
//! The stdio server, the CLI and the tests all drive tools through one [`Engine`].

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use rmcp::model::{ProgressNotificationParam, ProgressToken};
use rmcp::service::{Peer, RoleServer};

use crate::config::{Auth, Config};
use crate::policy::command::ServerFiles;
use crate::policy::protect::Identity;
use crate::pve::{HttpClient, Pve};
use crate::safety::Safety;
use crate::tools::ToolError;

/// Everything a tool call needs beyond its arguments.
pub struct Engine {
    config: Config,
    clients: Mutex<HashMap<String, Pve>>,
    safety: Safety,
    /// Per cluster: the node our API URL lands on (`local` in `/cluster/status`), once known.
    own_nodes: Mutex<HashMap<String, String>>,
    /// The server's own files and programs, out of every command's reach.
    server_files: Arc<ServerFiles>,
}

impl Engine {
    pub fn new(config: Config) -> Arc<Self> {
        let safety = Safety::new(
            &config.state_dir,
            config.policy.clone(),
            config.audit.clone(),
        );
        let server_files = Arc::new(server_files(&config));
        // Every tool result is redacted with these as literal needles, beside the patterns.
        for cluster in &config.clusters {
            match &cluster.auth {
                Auth::Token { secret, .. } => {
                    crate::audit::redact::register_secret(secret.expose())
                }
                Auth::Password { password, .. } => {
                    crate::audit::redact::register_secret(password.expose())
                }
            }
        }
        Arc::new(Engine {
            config,
            clients: Mutex::new(HashMap::new()),
            safety,
            own_nodes: Mutex::new(HashMap::new()),
            server_files,
        })
    }

    /// The server's own state, configuration, secret files and binary.
    pub fn server_files(&self) -> &Arc<ServerFiles> {
        &self.server_files
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Mode, audit log, approvals and confirmation sealing.
    pub fn safety(&self) -> &Safety {
        &self.safety
    }

    /// Who the server is on `cluster` as far as the configuration says (no IO): its user and
    /// token, and the local executor's node.
    pub fn configured_identity(&self, cluster: &str) -> Identity {
        let Some(cfg) = self.config.cluster(Some(cluster)) else {
            return Identity::default();
        };
        let own_token = match &cfg.auth {
            Auth::Token { id, .. } => Some(id.clone()),
            Auth::Password { .. } => None,
        };
        let own_node = cfg.exec.local_node.clone().or_else(|| {
            self.own_nodes
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .get(cluster)
                .cloned()
        });
        Identity {
            own_node,
            own_user: Some(cfg.auth.user().to_owned()),
            own_token,
        }
    }

    /// [`Engine::configured_identity`] completed with the node the API URL lands on (`local`
    /// in `/cluster/status`), looked up once per cluster. A lookup failure leaves it unknown.
    pub async fn identity(&self, cluster: &str, pve: &Pve) -> Identity {
        let mut id = self.configured_identity(cluster);
        if id.own_node.is_none()
            && let Ok(items) = pve.cluster_status().await
            && let Some(node) = items
                .into_iter()
                .find(|i| i.kind == "node" && i.local == Some(true))
        {
            self.own_nodes
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .insert(cluster.to_owned(), node.name.clone());
            id.own_node = Some(node.name);
        }
        id
    }

    /// The client for `cluster` (default: the first configured), built on first use.
    pub fn pve(&self, cluster: Option<&str>) -> Result<(String, Pve), ToolError> {
        let cfg = match self.config.cluster(cluster) {
            Some(c) => c,
            None if self.config.clusters.is_empty() => {
                return Err(ToolError::Config(
                    "no Proxmox cluster is configured: set PROXMOX_URL and PROXMOX_TOKEN_ID/\
                     PROXMOX_TOKEN_SECRET (or a config file), then check with \
                     `proxmox-mcp config check`"
                        .into(),
                ));
            }
            None => {
                let names: Vec<&str> = self
                    .config
                    .clusters
                    .iter()
                    .map(|c| c.name.as_str())
                    .collect();
                return Err(ToolError::invalid(format!(
                    "unknown cluster {:?}; configured clusters: {}",
                    cluster.unwrap_or_default(),
                    names.join(", ")
                )));
            }
        };
        let mut clients = self.clients.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(pve) = clients.get(&cfg.name) {
            return Ok((cfg.name.clone(), pve.clone()));
        }
        let client = HttpClient::new(cfg)?;
        let pve = Pve::new(Arc::new(client));
        clients.insert(cfg.name.clone(), pve.clone());
        Ok((cfg.name.clone(), pve))
    }
}

/// The server's own files from its configuration: the standard install locations plus the
/// state directory, the config file, every secret file and the running binary.
fn server_files(config: &Config) -> ServerFiles {
    let text = |p: &std::path::Path| p.display().to_string();
    let mut files = ServerFiles::standard().with_state_dir(&text(&config.state_dir));
    if let Some(source) = &config.source {
        files = files.with_config_file(&text(source));
    }
    for file in config.clusters.iter().flat_map(|c| &c.secret_files) {
        files = files.with_secret_file(&text(file));
    }
    if let Ok(exe) = std::env::current_exe() {
        files = files.with_program(&text(&exe));
    }
    files
}

/// Where a long-running tool reports progress.
#[derive(Clone, Default)]
pub enum Progress {
    /// Nobody is listening.
    #[default]
    None,
    /// An MCP client that sent a `progressToken`.
    Mcp {
        peer: Peer<RoleServer>,
        token: ProgressToken,
    },
    /// A human at the CLI: one line per update on stderr.
    Stderr,
}

impl Progress {
    pub async fn report(&self, done: f64, total: Option<f64>, message: impl Into<String>) {
        match self {
            Progress::None => {}
            Progress::Mcp { peer, token } => {
                let mut p = ProgressNotificationParam::new(token.clone(), done);
                p.total = total;
                p.message = Some(message.into());
                if let Err(e) = peer.notify_progress(p).await {
                    tracing::debug!("progress notification not delivered: {e}");
                }
            }
            Progress::Stderr => eprintln!("… {}", message.into()),
        }
    }
}
