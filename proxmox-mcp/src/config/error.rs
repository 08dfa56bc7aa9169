//! `ConfigError`: everything that can be wrong with the configuration, each saying what to do.

use std::path::PathBuf;

use super::env;
use super::load;

/// Everything that can be wrong with the configuration, each with what to do about it.
/// Messages never contain a secret.
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
        url: String,
        reason: String,
    },
    #[error(
        "{var} is set but no cluster is configured: set {} (e.g. https://pve1:8006) or add a [[cluster]] to the config file",
        env::PROXMOX_URL
    )]
    EnvWithoutCluster { var: &'static str },
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
    #[error("cluster `{cluster}`: token id `{token_id}` is invalid: {reason}")]
    BadTokenId {
        cluster: String,
        token_id: String,
        reason: &'static str,
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
    BadUser { cluster: String, user: String },
    #[error("cluster `{cluster}` sets the {what} {sources}: keep exactly one")]
    SecretSourceConflict {
        cluster: String,
        what: &'static str,
        sources: String,
    },
    #[error(
        "cluster `{cluster}`: fingerprint `{fingerprint}` is invalid: expected the SHA-256 as 32 hex bytes, AA:BB:…"
    )]
    BadFingerprint {
        cluster: String,
        fingerprint: String,
    },
    #[error("cluster `{cluster}`: {key} must be at least 1 (seconds)")]
    BadTimeout { cluster: String, key: &'static str },
    #[error(
        "secret file {path} has mode {mode:04o}, so other users may read it: run `chmod 600 {path}`"
    )]
    SecretFileMode { path: PathBuf, mode: u32 },
    #[error("cannot read the secret file {path}: {source}")]
    SecretFileRead {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("the {origin} is empty")]
    EmptySecret { origin: String },
    #[error(
        "cluster `{cluster}`: no secret in the OS keyring (service `{}`, tried user {}): store it with `proxmox-mcp token set --cluster {cluster}`, or use a secret file",
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
        "cannot determine a state directory (no home directory): set {} or `state_dir` in the config file",
        env::PROXMOX_MCP_STATE_DIR
    )]
    NoStateDir,
}

fn at_line(line: Option<usize>) -> String {
    line.map(|l| format!(":{l}")).unwrap_or_default()
}
