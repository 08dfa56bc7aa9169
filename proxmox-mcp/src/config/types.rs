//! The resolved configuration: what the engine runs with after file, environment and CLI are merged.

use std::path::PathBuf;
use std::time::Duration;

use super::secret::Secret;

/// Everything the engine needs, fully resolved (no further IO to interpret it).
#[derive(Debug, Clone)]
pub struct Config {
    /// Configured clusters; the first is the default for tools called without `cluster`.
    pub clusters: Vec<ClusterConfig>,
    /// Where modes, approvals and the audit log live (`PROXMOX_MCP_STATE_DIR`).
    pub state_dir: PathBuf,
    /// The file the configuration came from, if any.
    pub source: Option<PathBuf>,
}

impl Config {
    /// The cluster named `name`, or the default (first) one when `name` is `None`.
    pub fn cluster(&self, name: Option<&str>) -> Option<&ClusterConfig> {
        match name {
            None => self.clusters.first(),
            Some(n) => self.clusters.iter().find(|c| c.name == n),
        }
    }
}

/// One Proxmox VE cluster (or single node) we talk to.
#[derive(Debug, Clone)]
pub struct ClusterConfig {
    /// Short name used in the `cluster` tool argument (default `default`).
    pub name: String,
    /// Base URL without the API prefix, e.g. `https://pve1:8006`.
    pub url: String,
    pub auth: Auth,
    pub tls: TlsConfig,
    pub timeouts: Timeouts,
}

impl ClusterConfig {
    /// A cluster reached with an API token over a pinned certificate, default timeouts
    /// (the demo's and the benchmark's simulated cluster).
    pub fn token_pinned(
        name: &str,
        url: String,
        token_id: String,
        secret: Secret,
        fingerprint: String,
    ) -> Self {
        ClusterConfig {
            name: name.to_string(),
            url,
            auth: Auth::Token {
                id: token_id,
                secret,
            },
            tls: TlsConfig {
                fingerprint: Some(fingerprint),
                ..TlsConfig::default()
            },
            timeouts: Timeouts::default(),
        }
    }
}

/// How we authenticate against the Proxmox API.
#[derive(Debug, Clone)]
pub enum Auth {
    /// `Authorization: PVEAPIToken=<id>=<secret>`; `id` is `user@realm!name`.
    Token { id: String, secret: Secret },
    /// Ticket auth through `POST /access/ticket` (`user@realm` and password).
    Password { user: String, password: Secret },
}

impl Auth {
    /// The user (for tokens: the owning user, `user@realm`) the server acts as.
    pub fn user(&self) -> &str {
        match self {
            Auth::Token { id, .. } => id.split('!').next().unwrap_or(id),
            Auth::Password { user, .. } => user,
        }
    }
}

/// Certificate verification: on by default; a CA file, a pinned fingerprint, or explicitly off.
#[derive(Debug, Clone, Default)]
pub struct TlsConfig {
    /// PEM file with the CA (e.g. a copy of `/etc/pve/pve-root-ca.pem`).
    pub ca_file: Option<PathBuf>,
    /// SHA-256 of the node certificate, `AA:BB:…` as `GET /nodes` reports `ssl_fingerprint`.
    pub fingerprint: Option<String>,
    /// Skip verification entirely (`PROXMOX_INSECURE=1`); warned about at every start.
    pub insecure: bool,
}

#[derive(Debug, Clone, Copy)]
pub struct Timeouts {
    pub connect: Duration,
    pub request: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Self {
            connect: Duration::from_secs(5),
            request: Duration::from_secs(30),
        }
    }
}
