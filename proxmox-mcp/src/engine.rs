//! The shared runtime: configuration, one Proxmox client per cluster, progress reporting.
//!
//! The stdio server, the CLI and the tests all drive tools through one [`Engine`].

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use rmcp::model::{ProgressNotificationParam, ProgressToken};
use rmcp::service::{Peer, RoleServer};

use crate::config::Config;
use crate::pve::{HttpClient, Pve};
use crate::tools::ToolError;

/// Everything a tool call needs beyond its arguments.
pub struct Engine {
    config: Config,
    clients: Mutex<HashMap<String, Pve>>,
}

impl Engine {
    pub fn new(config: Config) -> Arc<Self> {
        Arc::new(Engine {
            config,
            clients: Mutex::new(HashMap::new()),
        })
    }

    pub fn config(&self) -> &Config {
        &self.config
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
