//! The TOML file format, `config.toml`: one documented struct per table, parsed strictly.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Deserializer};

use super::error::ConfigError;
use super::secret::Secret;

/// The configuration file, `config.toml`. Every key is optional; unknown keys are errors.
///
/// ```toml
/// state_dir = "/var/lib/proxmox-mcp"
///
/// [[cluster]]
/// name = "home"
/// url = "https://pve1:8006"
/// token_id = "mcp@pve!mcp"
/// token_secret_file = "/etc/proxmox-mcp/home.secret"
/// ```
///
/// Relative paths in the file are relative to the directory the file is in. The file used is the
/// first of: `--config`, `PROXMOX_MCP_CONFIG`, `~/.config/proxmox-mcp/config.toml` (the user's
/// config dir), `/etc/proxmox-mcp/config.toml`; with none, only the environment configures.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    /// `state_dir`: where modes, approvals and the audit log live. Overridden by
    /// `PROXMOX_MCP_STATE_DIR` and the CLI. Default: `/var/lib/proxmox-mcp` when the file is in
    /// `/etc/proxmox-mcp`, else the user's state directory (`~/.local/state/proxmox-mcp`).
    pub state_dir: Option<PathBuf>,
    /// `[[cluster]]` tables, one per Proxmox VE cluster (or standalone node). The first is the
    /// default for tools called without a `cluster` argument, and the one the `PROXMOX_*`
    /// environment variables override.
    #[serde(default, rename = "cluster")]
    pub clusters: Vec<FileCluster>,
}

/// One `[[cluster]]` table. Authenticate with an API token (`token_id` plus exactly one of
/// `token_secret_file`, `token_secret_keyring`, `token_secret`) or with a ticket (`user` plus
/// exactly one of `password_file`, `password_keyring`, `password`), never both.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileCluster {
    /// `name`: what the `cluster` tool argument selects; letters, digits, `-`, `_`, `.`.
    /// Default `default`. Names must be unique.
    pub name: Option<String>,
    /// `url`: `https://host:port` of any node, e.g. `https://pve1:8006` (env `PROXMOX_URL`).
    /// No path; a trailing `/api2/json` is removed with a warning. `http://` works, with a warning.
    pub url: Option<String>,
    /// `token_id`: API token id `user@realm!tokenname`, e.g. `mcp@pve!mcp` (env `PROXMOX_TOKEN_ID`).
    pub token_id: Option<String>,
    /// `token_secret_file`: file holding the token secret; it must be mode 0600 or 0400.
    pub token_secret_file: Option<PathBuf>,
    /// `token_secret_keyring = true`: read the secret from the OS keyring, service
    /// `proxmox-mcp`, user = the cluster name (then the token id).
    pub token_secret_keyring: Option<bool>,
    /// `token_secret`: the secret in clear text. Allowed, but warned about at every start
    /// (env `PROXMOX_TOKEN_SECRET` is the usual way to pass it in clear).
    #[serde(default, deserialize_with = "de_secret")]
    pub token_secret: Option<Secret>,
    /// `user`: ticket auth as `user@realm`, e.g. `root@pam` (env `PROXMOX_USER`).
    pub user: Option<String>,
    /// `password_file`: file holding the password; it must be mode 0600 or 0400.
    pub password_file: Option<PathBuf>,
    /// `password_keyring = true`: the password from the OS keyring, service `proxmox-mcp`,
    /// user = the cluster name (then `user`).
    pub password_keyring: Option<bool>,
    /// `password`: the password in clear text; allowed, warned about (env `PROXMOX_PASSWORD`).
    #[serde(default, deserialize_with = "de_secret")]
    pub password: Option<Secret>,
    /// `fingerprint`: pin the node certificate by SHA-256, `AA:BB:…` (64 hex digits; colons
    /// optional) as the node's certificate view shows it (env `PROXMOX_FINGERPRINT`).
    pub fingerprint: Option<String>,
    /// `ca_file`: PEM file with the CA to trust, e.g. a copy of `/etc/pve/pve-root-ca.pem`
    /// (env `PROXMOX_CA_FILE`).
    pub ca_file: Option<PathBuf>,
    /// `insecure = true`: do not verify the certificate at all (env `PROXMOX_INSECURE=1`).
    /// Default false; warned about at every start.
    pub insecure: Option<bool>,
    /// `connect_timeout_secs`: TCP + TLS connect timeout, default 5, at least 1.
    pub connect_timeout_secs: Option<u64>,
    /// `request_timeout_secs`: timeout of one API request, default 30, at least 1.
    pub request_timeout_secs: Option<u64>,
}

fn de_secret<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Secret>, D::Error> {
    Ok(Option::<String>::deserialize(d)?.map(Secret::new))
}

/// Parse `text` (the contents of `path`) as a [`FileConfig`]; errors name the file and line.
pub fn parse_file(path: &Path, text: &str) -> Result<FileConfig, ConfigError> {
    toml::from_str(text).map_err(|e| {
        let line = e
            .span()
            .map(|s| text[..s.start.min(text.len())].matches('\n').count() + 1);
        let message = e.message().trim().to_owned();
        match message
            .strip_prefix("unknown field `")
            .and_then(|rest| rest.split_once('`'))
        {
            Some((key, rest)) => ConfigError::UnknownKey {
                path: path.to_owned(),
                line,
                key: key.to_owned(),
                expected: rest.trim_start_matches(',').trim().to_owned(),
            },
            None => ConfigError::Toml {
                path: path.to_owned(),
                line,
                message,
            },
        }
    })
}
