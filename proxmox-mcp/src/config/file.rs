//! The TOML file format, `config.toml`: one documented struct per table, parsed strictly.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Deserializer};

use super::error::ConfigError;
use super::secret::Secret;

/// The configuration file, `config.toml`. Every key is optional; unknown keys are errors.
///
/// ```toml
/// state_dir = "/var/lib/proxmox-mcp"
/// api_schema = "/usr/share/pve-docs/api-viewer/apidata.js"
///
/// [policy]
/// protected_vmids = [100, 101]
/// protected_tags = ["protected", "prod"]
/// approval_ttl_secs = 600
///
/// [tools]
/// deny = ["exec", "proxmox_api"]
///
/// [audit]
/// retention_days = 7
/// journal_socket = "/run/systemd/journal/socket"
///
/// [[cluster]]
/// name = "home"
/// url = "https://pve1:8006"
/// token_id = "mcp@pve!mcp"
/// token_secret_file = "/etc/proxmox-mcp/home.secret"
///
/// [cluster.exec]
/// executor = "ssh"
/// ssh_key = "/etc/proxmox-mcp/id_ed25519"
/// ssh_known_hosts = "/etc/proxmox-mcp/known_hosts"
///
/// [cluster.exec.hosts]
/// pve1 = "10.0.0.11"
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
    /// `api_schema`: the PVE API schema `explain_command` reads descriptions from, `apidata.js`
    /// or its JSON; it must exist (env `PROXMOX_MCP_API_SCHEMA`). Default:
    /// `/usr/share/pve-docs/api-viewer/apidata.js` when that file exists (a PVE node), else none.
    pub api_schema: Option<PathBuf>,
    /// `[policy]`: what is protected beyond root, and how long approvals last.
    #[serde(default)]
    pub policy: FilePolicy,
    /// `[audit]`: how long the audit log is kept.
    #[serde(default)]
    pub audit: FileAudit,
    /// `[tools]`: which tools `tools/list` offers.
    #[serde(default)]
    pub tools: FileTools,
    /// `[[cluster]]` tables, one per Proxmox VE cluster (or standalone node). The first is the
    /// default for tools called without a `cluster` argument, and the one the `PROXMOX_*`
    /// environment variables override.
    #[serde(default, rename = "cluster")]
    pub clusters: Vec<FileCluster>,
    /// `[update]`: update checks and self-update.
    #[serde(default)]
    pub update: FileUpdate,
}

/// The `[update]` table (env `PROXMOX_MCP_UPDATE_*` override each key).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileUpdate {
    /// `source`: `auto` (default: git tags for a git checkout, else the feed), `feed` or `git`.
    pub source: Option<String>,
    /// `url`: the release JSON URL (a mirror) or the git remote.
    pub url: Option<String>,
    /// `signing_pubkey`: the minisign public key (base64 line) releases are signed with.
    pub signing_pubkey: Option<String>,
    /// `timeout_secs`: one check or download, 1 to 600 (default 20).
    pub timeout_secs: Option<u64>,
    /// `dpkg_install = true`: a `.deb` install installs the verified package with `dpkg -i`.
    pub dpkg_install: Option<bool>,
    /// `build_command`: how a git checkout builds (default
    /// `cargo build --release --locked -p proxmox-mcp`).
    pub build_command: Option<String>,
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
    /// `[cluster.exec]`: how `execute_command` reaches this cluster's nodes (default: it does
    /// not). The `PROXMOX_MCP_EXECUTOR`/`PROXMOX_MCP_SSH_*` variables override the first cluster's.
    #[serde(default)]
    pub exec: FileExec,
}

/// The `[policy]` table.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FilePolicy {
    /// `protected_vmids`: guests whose destructive actions are always refused, e.g. `[100, 101]`;
    /// each from 100 to 999999999 (env `PROXMOX_MCP_PROTECTED_VMIDS=100,101`). Default none.
    pub protected_vmids: Option<Vec<u64>>,
    /// `protected_tags`: guests carrying one of these tags are protected too, compared
    /// case-insensitively and trimmed; PVE tags (letters, digits, `_`, `-`, `+`, `.`), never empty
    /// (env `PROXMOX_MCP_PROTECTED_TAGS=protected,prod`). Default `["protected"]`; `[]` turns
    /// tag protection off.
    pub protected_tags: Option<Vec<String>>,
    /// `approval_ttl_secs`: how long an out-of-band approval (and a pending confirmation) stays
    /// valid, 1 to 86400 (env `PROXMOX_MCP_APPROVAL_TTL_SECS`). Default 600.
    pub approval_ttl_secs: Option<u64>,
}

/// The `[tools]` table: trims `tools/list` for clients that pay for every schema byte. Entries
/// are tool names or group names (`get_mcp_info` lists the groups); an unknown one stops the
/// server from starting.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileTools {
    /// `allow`: only these tools and groups are offered (env `PROXMOX_MCP_TOOLS_ALLOW`).
    /// Default: every tool.
    pub allow: Option<Vec<String>>,
    /// `deny`: these tools and groups are removed, after `allow` (env `PROXMOX_MCP_TOOLS_DENY`).
    /// Default none.
    pub deny: Option<Vec<String>>,
}

/// The `[audit]` table.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileAudit {
    /// `retention_days`: audit log days older than this are pruned, 1 to 3650
    /// (env `PROXMOX_MCP_AUDIT_RETENTION_DAYS`). Default 7.
    pub retention_days: Option<u64>,
    /// `journal_socket`: the system journal's native socket every record is copied to, an
    /// absolute path, or `"off"` (env `PROXMOX_MCP_JOURNAL_SOCKET`). Default
    /// `/run/systemd/journal/socket`, skipped when it does not exist.
    pub journal_socket: Option<String>,
}

/// A `[cluster.exec]` table. The `ssh_*` keys and `hosts` are read whatever the executor, but
/// the key and known_hosts files are only checked when `executor = "ssh"`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileExec {
    /// `executor`: `"disabled"` (shell commands are refused), `"local"` (commands for
    /// `local_node` run in this process's host, as its Unix user) or `"ssh"` (OpenSSH to each
    /// node, strict host key checking) (env `PROXMOX_MCP_EXECUTOR`). Default `"disabled"`.
    pub executor: Option<String>,
    /// `local_node`: the node this process runs on, for the local executor
    /// (env `PROXMOX_MCP_LOCAL_NODE`). Default: the host name up to its first `.`.
    pub local_node: Option<String>,
    /// `run_as`: the local executor runs every command as this Unix account, through
    /// `sudo -n -u ACCOUNT -- /bin/bash -c CMD` (env `PROXMOX_MCP_EXEC_RUN_AS`); sudoers must
    /// allow it (see `packaging/deb/sudoers.example`). Default: unset, commands run as our user.
    pub run_as: Option<String>,
    /// `timeout_secs`: default command timeout, 1 to 600 (env `PROXMOX_MCP_EXEC_TIMEOUT_SECS`).
    /// Default 60.
    pub timeout_secs: Option<u64>,
    /// `ssh_user`: remote user (env `PROXMOX_MCP_SSH_USER`). Default `root`.
    pub ssh_user: Option<String>,
    /// `ssh_port`: 1 to 65535 (env `PROXMOX_MCP_SSH_PORT`). Default 22.
    pub ssh_port: Option<u64>,
    /// `ssh_key`: private key file; it must exist and be mode 0600 or 0400
    /// (env `PROXMOX_MCP_SSH_KEY`). Default: the ssh client's own identity.
    pub ssh_key: Option<PathBuf>,
    /// `ssh_known_hosts`: known_hosts file the node host keys are checked against, e.g. a copy
    /// of `/etc/pve/priv/known_hosts`; it must exist (env `PROXMOX_MCP_SSH_KNOWN_HOSTS`).
    /// Default: `~/.ssh/known_hosts` of the service user, warned about.
    pub ssh_known_hosts: Option<PathBuf>,
    /// `ssh_connect_timeout_secs`: ssh connect timeout, 1 to 120. Default 10.
    pub ssh_connect_timeout_secs: Option<u64>,
    /// `[cluster.exec.hosts]`: `node = "address"` per node; a node not listed is reached by its
    /// name (env `PROXMOX_MCP_SSH_HOSTS=pve1=10.0.0.11,pve2=10.0.0.12`, which replaces the table).
    pub hosts: Option<BTreeMap<String, String>>,
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
