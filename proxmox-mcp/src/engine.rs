//! The shared runtime: configuration, one Proxmox client per cluster, who we are on each, and
//! the safety state.
//!
//! The stdio server, the CLI and the tests all drive tools through one [`Engine`].

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::config::{Auth, Config};
use crate::error::ToolError;
use crate::gate::identity::{self, Access};
use crate::policy::command::ServerFiles;
use crate::policy::protect::Identity;
use crate::pve::{HttpClient, Pve};
use crate::safety::Safety;

/// How long our groups and roles are trusted before they are read again (a change we make
/// ourselves forgets them at once).
pub const ACCESS_TTL: Duration = Duration::from_secs(300);

/// Everything a tool call needs beyond its arguments.
pub struct Engine {
    config: Config,
    clients: Mutex<HashMap<String, Pve>>,
    safety: Safety,
    /// Per cluster: the node our API URL lands on (`local` in `/cluster/status`), once known.
    own_nodes: Mutex<HashMap<String, String>>,
    /// Per cluster: our groups and roles, and when they were read.
    access: Mutex<HashMap<String, (Instant, Access)>>,
    /// The server's own files and programs, out of every command's reach.
    server_files: Arc<ServerFiles>,
    /// When this engine was built (the server's uptime).
    started: Instant,
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
            access: Mutex::new(HashMap::new()),
            server_files,
            started: Instant::now(),
        })
    }

    /// How long this engine has been running.
    pub fn uptime(&self) -> Duration {
        self.started.elapsed()
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
            own_groups: None,
            own_roles: None,
        }
    }

    /// [`Engine::configured_identity`] completed from the cluster: the node the API URL lands
    /// on (looked up once per cluster), and our groups and roles (read at most every
    /// [`ACCESS_TTL`], and again after a change of access we made ourselves). What cannot be
    /// read stays unknown, and the requests it matters for are refused.
    pub async fn identity(&self, cluster: &str, pve: &Pve) -> Identity {
        let mut id = self.configured_identity(cluster);
        if id.own_node.is_none()
            && let Some(node) = identity::own_node(pve).await
        {
            self.own_nodes
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .insert(cluster.to_owned(), node.clone());
            id.own_node = Some(node);
        }
        let cached = self
            .access
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(cluster)
            .filter(|(at, _)| at.elapsed() < ACCESS_TTL)
            .map(|(_, a)| a.clone());
        let access = match cached {
            Some(a) => a,
            None => {
                let user = id.own_user.clone().unwrap_or_default();
                let a = identity::access(pve, &user, id.own_token.as_deref()).await;
                self.access
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .insert(cluster.to_owned(), (Instant::now(), a.clone()));
                a
            }
        };
        access.apply(&mut id);
        id
    }

    /// Forgets our groups and roles on `cluster`: a call changed access, so read them anew.
    pub fn forget_access(&self, cluster: &str) {
        self.access
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(cluster);
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

pub use crate::progress::Progress;
