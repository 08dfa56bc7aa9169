//! The resolved configuration: what the engine runs with after file, environment and CLI are merged.

use std::collections::{BTreeMap, BTreeSet};
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
    /// `[policy]`: protected guests and out-of-band approvals.
    pub policy: PolicyConfig,
    /// `[audit]`: retention of the audit log, and the system journal it is copied to.
    pub audit: AuditConfig,
    /// `api_schema`: the PVE API schema `explain_command` reads descriptions from
    /// (`apidata.js` or its JSON). Default: `/usr/share/pve-docs/api-viewer/apidata.js` if present.
    pub api_schema: Option<PathBuf>,
    /// `[tools]`: the allow and deny lists that trim `tools/list`.
    pub tools: ToolsConfig,
    /// Where each setting came from (file, environment, CLI or default), secrets masked.
    pub sources: Vec<Setting>,
    /// `[update]`: where `check_updates` looks and how `self_update` installs.
    pub update: UpdateConfig,
    /// `[diagnostics]`: thresholds, ignore rules, expensive checks, the AI narrative.
    pub diagnostics: DiagnosticsConfig,
}

/// `[diagnostics]`: how the analysis tools collect and judge.
#[derive(Debug, Clone, PartialEq)]
pub struct DiagnosticsConfig {
    /// Requests in flight at once while collecting (default 5).
    pub concurrency: usize,
    /// Threshold overrides by key (`"H11.warn" = 80`); a rule falls back to its own default.
    pub thresholds: BTreeMap<String, f64>,
    /// Findings to leave out of reports (still counted as ignored).
    pub ignore: Vec<IgnoreRule>,
    /// Expensive checks: SMART per disk.
    pub smart: bool,
    /// Expensive checks: `zpool status` detail per ZFS pool.
    pub zfs_detail: bool,
    /// Expensive checks: reads inside guests through the agent (ping, filesystems).
    pub guest_agent: bool,
    /// Guests whose config is read one by one when the node report is unavailable.
    pub max_guest_reads: usize,
    /// `[diagnostics.ai]`: the optional narrative.
    pub ai: AiConfig,
}

impl Default for DiagnosticsConfig {
    fn default() -> Self {
        DiagnosticsConfig {
            concurrency: 5,
            thresholds: BTreeMap::new(),
            ignore: Vec::new(),
            smart: false,
            zfs_detail: false,
            guest_agent: false,
            max_guest_reads: 200,
            ai: AiConfig::default(),
        }
    }
}

/// One ignore rule: every given part must match for a finding to be ignored.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct IgnoreRule {
    /// A rule id (`V01`).
    pub id: Option<String>,
    /// The object exactly (`qemu/101`, `node/pve1`, `storage/pve1/local`).
    pub object: Option<String>,
    /// A regular expression over `"<id> <object> <title>"`.
    pub regex: Option<String>,
}

/// Which LLM writes the optional narrative.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AiBackend {
    #[default]
    None,
    Anthropic,
    OpenAi,
    ClaudeCli,
}

/// `[diagnostics.ai]` (`PROXMOX_MCP_AI_ENABLED`, `PROXMOX_MCP_AI_TIMEOUT`).
#[derive(Debug, Clone, PartialEq)]
pub struct AiConfig {
    pub backend: AiBackend,
    /// The model name the backend is asked for (`None`: the backend's default).
    pub model: Option<String>,
    /// Anthropic: the API base (default `https://api.anthropic.com`); OpenAI-compatible: the
    /// server base (`http://127.0.0.1:11434` for Ollama).
    pub url: Option<String>,
    /// `claude-cli`: the executable (default `claude`).
    pub command: Option<String>,
    /// Whole request limit (default 60 s).
    pub timeout: Duration,
    /// Response token limit (default 4,000).
    pub max_tokens: u32,
    /// Also mask IP addresses and host names before sending.
    pub mask_hosts: bool,
    /// At most this many requests per minute.
    pub per_minute: u32,
}

impl Default for AiConfig {
    fn default() -> Self {
        AiConfig {
            backend: AiBackend::None,
            model: None,
            url: None,
            command: None,
            timeout: Duration::from_secs(60),
            max_tokens: 4000,
            mask_hosts: false,
            per_minute: 6,
        }
    }
}

/// Where release information comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum UpdateSourceKind {
    /// A git checkout asks its remote's tags; anything else the release feed.
    #[default]
    Auto,
    /// Release JSON at `url` (the project's feed, or a mirror).
    Feed,
    /// `git ls-remote --tags` of `url` (default: the checkout's `origin`).
    Git,
}

/// `[update]`: update checks and self-update.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpdateConfig {
    pub source: UpdateSourceKind,
    /// The feed URL or git remote; `None`: the project's feed, or the checkout's `origin`.
    pub url: Option<String>,
    /// The minisign public key (its base64 line) releases must be signed with; `None`: the
    /// key compiled into this build.
    pub signing_pubkey: Option<String>,
    /// How long one check or download may take.
    pub timeout: Duration,
    /// `.deb` installs: install the downloaded, verified package with `dpkg -i` (else only say
    /// the apt command).
    pub dpkg_install: bool,
    /// Git checkouts: the build command, run by `sh -c` in the work tree with
    /// `CARGO_TARGET_DIR` set; the new binary is `$CARGO_TARGET_DIR/release/proxmox-mcp`.
    pub build_command: String,
}

impl UpdateConfig {
    pub const DEFAULT_BUILD: &str = "cargo build --release --locked -p proxmox-mcp";
}

impl Default for UpdateConfig {
    fn default() -> Self {
        UpdateConfig {
            source: UpdateSourceKind::Auto,
            url: None,
            signing_pubkey: None,
            timeout: Duration::from_secs(20),
            dpkg_install: false,
            build_command: Self::DEFAULT_BUILD.to_owned(),
        }
    }
}

/// `[tools]`: tool and group names as written (checked against the registry at start-up).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ToolsConfig {
    /// Only these are offered; `None`: every tool.
    pub allow: Option<Vec<String>>,
    /// These are removed, after `allow`.
    pub deny: Vec<String>,
}

/// Which layer a setting's value came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    File,
    Env(&'static str),
    Cli,
    Default,
}

impl Origin {
    pub fn as_str(self) -> &'static str {
        match self {
            Origin::File => "file",
            Origin::Env(_) => "env",
            Origin::Cli => "cli",
            Origin::Default => "default",
        }
    }
}

/// One resolved setting and where it came from; a secret's value is `****`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Setting {
    /// `state_dir`, `policy.approval_ttl_secs`, `cluster.home.url`, …
    pub name: String,
    pub origin: Origin,
    pub value: String,
}

/// `[policy]`: what the policy engine protects beyond root.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyConfig {
    /// Guests whose destructive actions are always refused.
    pub protected_vmids: BTreeSet<u32>,
    /// Guests carrying one of these tags are protected too (default `protected`).
    pub protected_tags: BTreeSet<String>,
    /// How long an out-of-band approval (and a pending confirmation) stays valid.
    pub approval_ttl: Duration,
}

impl Default for PolicyConfig {
    fn default() -> Self {
        PolicyConfig {
            protected_vmids: BTreeSet::new(),
            protected_tags: BTreeSet::from(["protected".to_string()]),
            approval_ttl: Duration::from_secs(600),
        }
    }
}

/// `[audit]`: how long audit records are kept, and where they are copied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditConfig {
    /// Day files older than this are pruned (default 7 days).
    pub retention: Duration,
    /// The system journal's native socket every record is copied to (`None`: off). Default
    /// `/run/systemd/journal/socket`, skipped when it does not exist.
    pub journal_socket: Option<PathBuf>,
}

impl Default for AuditConfig {
    fn default() -> Self {
        AuditConfig {
            retention: Duration::from_secs(7 * 86_400),
            journal_socket: Some(PathBuf::from(crate::audit::journal::DEFAULT_SOCKET)),
        }
    }
}

impl AuditConfig {
    /// The defaults without the system journal: for tests and throw-away state (the demo).
    pub fn without_journal() -> Self {
        AuditConfig {
            journal_socket: None,
            ..AuditConfig::default()
        }
    }
}

/// How `execute_command` reaches a node's shell.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ExecutorKind {
    /// Shell commands are refused (the default: running commands is opt-in).
    #[default]
    Disabled,
    /// We run on the node: commands for `local_node` run here, as our own Unix user.
    Local,
    /// OpenSSH client to each node, strict host key checking.
    Ssh,
}

/// `[cluster.exec]`: shell command execution on this cluster's nodes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecConfig {
    pub executor: ExecutorKind,
    /// The node this process runs on (local executor). Default: the host name.
    pub local_node: Option<String>,
    /// Local executor: the Unix account commands run as, through `sudo -n -u`. Default: ours.
    pub run_as: Option<String>,
    /// Default command timeout (60 s); a call may ask for up to [`ExecConfig::MAX_TIMEOUT`].
    pub timeout: Duration,
    pub ssh: SshConfig,
}

impl ExecConfig {
    pub const MAX_TIMEOUT: Duration = Duration::from_secs(600);
}

impl Default for ExecConfig {
    fn default() -> Self {
        ExecConfig {
            executor: ExecutorKind::Disabled,
            local_node: None,
            run_as: None,
            timeout: Duration::from_secs(60),
            ssh: SshConfig::default(),
        }
    }
}

/// SSH settings of the `ssh` executor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SshConfig {
    /// Remote user (default `root`).
    pub user: String,
    /// Port (default 22).
    pub port: u16,
    /// Private key file (`-i`); must be mode 0600/0400. Default: the ssh client's own.
    pub key: Option<PathBuf>,
    /// known_hosts file (`UserKnownHostsFile`); host keys are always checked strictly.
    pub known_hosts: Option<PathBuf>,
    /// Address per node name; a node not listed is reached by its name.
    pub hosts: BTreeMap<String, String>,
    /// Connect timeout (default 10 s).
    pub connect_timeout: Duration,
}

impl Default for SshConfig {
    fn default() -> Self {
        SshConfig {
            user: "root".into(),
            port: 22,
            key: None,
            known_hosts: None,
            hosts: BTreeMap::new(),
            connect_timeout: Duration::from_secs(10),
        }
    }
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
    pub exec: ExecConfig,
    /// Files its credentials were read from (secret files, the SSH key): the server's own
    /// secrets, out of every command's reach.
    pub secret_files: Vec<PathBuf>,
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
            exec: ExecConfig::default(),
            secret_files: Vec::new(),
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
