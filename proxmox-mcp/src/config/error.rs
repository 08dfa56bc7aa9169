//! `ConfigError`: everything that can be wrong with the configuration, each saying what to do.

use std::path::PathBuf;

use super::env;
use super::load;

/// Everything that can be wrong with the configuration, each with what to do about it.
///
/// Messages never contain a secret: fields that could hold one pasted in the wrong place (a URL
/// with `user:password@`, a token id with `=SECRET`, a user with `:password`) are stored in their
/// printable form, which the constructors below and `resolve` take care of.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read the config file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}{}: unknown key `{key}` ({expected})", at_line(*.line))]
    UnknownKey {
        path: PathBuf,
        line: Option<usize>,
        key: String,
        expected: String,
    },
    #[error("{path}{}: {message}", at_line(*.line))]
    Toml {
        path: PathBuf,
        line: Option<usize>,
        message: String,
    },
    #[error("cluster name `{name}` is used twice; give each [[cluster]] a unique `name`")]
    DuplicateCluster { name: String },
    #[error("cluster name `{name}` is invalid: use letters, digits, `-`, `_` and `.`")]
    BadClusterName { name: String },
    #[error(
        "cluster `{cluster}` has no URL: set `url` in its [[cluster]] table (or {})",
        env::PROXMOX_URL
    )]
    MissingUrl { cluster: String },
    #[error("{key} `{url}` is invalid: {reason}")]
    BadUrl {
        key: &'static str,
        /// With any `user:password@` replaced by `***@` (built by `ConfigError::bad_url`).
        url: String,
        reason: String,
    },
    #[error(
        "{var} is set but no cluster is configured: set {} (e.g. https://pve1:8006) or add a [[cluster]] to the config file",
        env::PROXMOX_URL
    )]
    EnvWithoutCluster { var: &'static str },
    /// A value in the config file that TOML accepts but proxmox-mcp does not. `key` is its
    /// dotted path inside its table (`exec.timeout_secs`), `value` is shown as TOML writes it.
    #[error("{}{key}: {value} is invalid: expected {expected}", in_cluster(.cluster.as_deref()))]
    BadValue {
        /// The cluster of a `[cluster.*]` key; `None` for top-level tables.
        cluster: Option<String>,
        key: &'static str,
        value: String,
        expected: &'static str,
    },
    #[error("{var}=`{value}` is invalid: expected {expected}")]
    BadEnvValue {
        var: &'static str,
        value: String,
        expected: &'static str,
    },
    #[error(
        "cluster `{cluster}` has both an API token and a user/password: keep one (token_id/{} or user/{})",
        env::PROXMOX_TOKEN_ID,
        env::PROXMOX_USER
    )]
    BothAuth { cluster: String },
    #[error(
        "cluster `{cluster}` has no credentials: set token_id with token_secret_file or token_secret_keyring = true (or {} and {})",
        env::PROXMOX_TOKEN_ID,
        env::PROXMOX_TOKEN_SECRET
    )]
    NoCredentials { cluster: String },
    #[error(
        "cluster `{cluster}`: token `{token_id}` has no secret: set token_secret_file (mode 0600) or token_secret_keyring = true, or {}",
        env::PROXMOX_TOKEN_SECRET
    )]
    TokenSecretMissing { cluster: String, token_id: String },
    #[error(
        "cluster `{cluster}` has a token secret but no token id: set token_id (or {}) to `user@realm!tokenname`",
        env::PROXMOX_TOKEN_ID
    )]
    TokenIdMissing { cluster: String },
    /// `reason` is the message of [`crate::pve::auth::validate_token_id`], which shows only the
    /// part of the id before an `=`.
    #[error("cluster `{cluster}`: {reason}")]
    BadTokenId { cluster: String, reason: String },
    /// `reason` is the message of [`crate::pve::auth::validate_token_secret`], which never shows
    /// the secret; `origin` says where it came from.
    #[error("cluster `{cluster}`, {origin}: {reason}")]
    BadTokenSecret {
        cluster: String,
        origin: String,
        reason: String,
    },
    #[error(
        "cluster `{cluster}`: user `{user}` has no password: set password_file (mode 0600) or password_keyring = true, or {}",
        env::PROXMOX_PASSWORD
    )]
    PasswordMissing { cluster: String, user: String },
    #[error(
        "cluster `{cluster}` has a password but no user: set user (or {}) to `user@realm`, e.g. root@pam",
        env::PROXMOX_USER
    )]
    UserMissing { cluster: String },
    #[error("cluster `{cluster}`: user `{user}` is invalid: expected `user@realm`, e.g. root@pam")]
    BadUser {
        cluster: String,
        /// Only the part before a `:` or whitespace (`root@pam:password` is a password pasted in).
        user: String,
    },
    #[error("cluster `{cluster}` sets the {what} {sources}: keep exactly one")]
    SecretSourceConflict {
        cluster: String,
        what: &'static str,
        sources: String,
    },
    /// `reason` is the message of [`crate::pve::tls::parse_fingerprint`], the one parser the TLS
    /// setup uses too.
    #[error("cluster `{cluster}`: {reason}")]
    BadFingerprint { cluster: String, reason: String },
    #[error("cluster `{cluster}`: {key} must be at least 1 (seconds)")]
    BadTimeout { cluster: String, key: &'static str },
    /// A file that must be private (a secret file, an ssh key) is readable by others; `what`
    /// says which kind.
    #[error(
        "{what} {path} has mode {mode:04o}, so other users may read it: run `chmod 600 {path}`"
    )]
    SecretFileMode {
        what: &'static str,
        path: PathBuf,
        mode: u32,
    },
    #[error("cannot read the {what} {path}: {source}")]
    SecretFileRead {
        what: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("the {origin} is empty")]
    EmptySecret { origin: String },
    #[error(
        "cluster `{cluster}`: no secret in the OS keyring (service `{}`, tried user {}): store it with `proxmox-mcp config set-secret --cluster {cluster}` (it reads the secret from stdin), or use a secret file",
        load::KEYRING_SERVICE,
        .accounts.join(", ")
    )]
    KeyringMissing {
        cluster: String,
        accounts: Vec<String>,
    },
    #[error(
        "OS keyring (service `{}`, user `{account}`) failed: {source}; where there is no keyring (containers, services without a session) use a secret file instead",
        load::KEYRING_SERVICE
    )]
    Keyring {
        account: String,
        source: keyring::Error,
    },
    #[error(
        "cluster `{cluster}`: the local executor needs the name of the node it runs on, but {reason}: set local_node in [cluster.exec] (or {})",
        env::PROXMOX_MCP_LOCAL_NODE
    )]
    NoLocalNode { cluster: String, reason: String },
    #[error(
        "cluster `{cluster}`: the ssh known_hosts file {path} does not exist: point ssh_known_hosts (or {}) at the nodes' host keys, e.g. a copy of /etc/pve/priv/known_hosts",
        env::PROXMOX_MCP_SSH_KNOWN_HOSTS
    )]
    KnownHostsMissing { cluster: String, path: PathBuf },
    #[error(
        "the API schema {path} does not exist: point api_schema (or {}) at apidata.js of pve-docs ({}) or a copy of it",
        env::PROXMOX_MCP_API_SCHEMA,
        load::PVE_API_SCHEMA
    )]
    ApiSchemaMissing { path: PathBuf },
    #[error(
        "cannot determine a state directory (no home directory): set {} or `state_dir` in the config file",
        env::PROXMOX_MCP_STATE_DIR
    )]
    NoStateDir,
}

impl ConfigError {
    /// [`ConfigError::BadUrl`] for `raw`, with its userinfo hidden.
    pub(crate) fn bad_url(key: &'static str, raw: &str, reason: String) -> Self {
        Self::BadUrl {
            key,
            url: redact_userinfo(raw),
            reason,
        }
    }
}

/// `raw` with everything between `scheme://` and the last `@` replaced by `***`, so
/// `https://root:pw@pve:8006` prints as `https://***@pve:8006`. Works on text that is not a valid
/// URL too, and errs on the side of hiding: an `@` anywhere after the scheme counts.
pub(crate) fn redact_userinfo(raw: &str) -> String {
    let start = raw.find("://").map_or(0, |i| i + 3);
    match raw[start..].rfind('@') {
        Some(at) => format!("{}***{}", &raw[..start], &raw[start + at..]),
        None => raw.to_owned(),
    }
}

/// A user id as it may be printed: the part before a `:` or whitespace (after it would be a
/// password), then `…`.
pub(crate) fn printable_user(user: &str) -> String {
    match user.find(|c: char| c == ':' || c.is_whitespace()) {
        Some(i) => format!("{}…", &user[..i]),
        None => user.to_owned(),
    }
}

fn in_cluster(cluster: Option<&str>) -> String {
    cluster
        .map(|c| format!("cluster `{c}`: "))
        .unwrap_or_default()
}

fn at_line(line: Option<usize>) -> String {
    line.map(|l| format!(":{l}")).unwrap_or_default()
}
