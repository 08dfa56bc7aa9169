//! Every environment variable proxmox-mcp reads, named once, and a snapshot of them for `resolve`.
//!
//! The names are a public contract (README, `--help`, packaging): add new ones here and to [`ALL`],
//! never spell them as string literals elsewhere.

use std::collections::BTreeMap;

// Shared with the HTTP bridge, which passes them on to the engine it runs.
pub use proxmox_mcp_contract::env::{PROXMOX_MCP_CONFIG, PROXMOX_MCP_LOG, PROXMOX_MCP_STATE_DIR};

/// Base URL of the default cluster, e.g. `https://pve1:8006`.
pub const PROXMOX_URL: &str = "PROXMOX_URL";
/// API token id of the default cluster, `user@realm!tokenname`.
pub const PROXMOX_TOKEN_ID: &str = "PROXMOX_TOKEN_ID";
/// API token secret (UUID) of the default cluster.
pub const PROXMOX_TOKEN_SECRET: &str = "PROXMOX_TOKEN_SECRET";
/// Ticket auth: `user@realm` of the default cluster.
pub const PROXMOX_USER: &str = "PROXMOX_USER";
/// Ticket auth: password of [`PROXMOX_USER`].
pub const PROXMOX_PASSWORD: &str = "PROXMOX_PASSWORD";
/// PEM file with the CA that signed the default cluster's certificate.
pub const PROXMOX_CA_FILE: &str = "PROXMOX_CA_FILE";
/// SHA-256 fingerprint of the default cluster's certificate, `AA:BB:…`.
pub const PROXMOX_FINGERPRINT: &str = "PROXMOX_FINGERPRINT";
/// `1`/`true`/`yes` (or `0`/`false`/`no`): skip certificate verification for the default cluster.
pub const PROXMOX_INSECURE: &str = "PROXMOX_INSECURE";
/// Shell executor of the default cluster: `disabled` (default), `local` or `ssh`.
pub const PROXMOX_MCP_EXECUTOR: &str = "PROXMOX_MCP_EXECUTOR";
/// Local executor: the node this process runs on (default: the host name).
pub const PROXMOX_MCP_LOCAL_NODE: &str = "PROXMOX_MCP_LOCAL_NODE";
/// Local executor: run every command as this Unix account, through `sudo -n -u ACCOUNT`
/// (default: unset, our own user).
pub const PROXMOX_MCP_EXEC_RUN_AS: &str = "PROXMOX_MCP_EXEC_RUN_AS";
/// Default timeout of a shell command, in seconds (1 to 600, default 60).
pub const PROXMOX_MCP_EXEC_TIMEOUT_SECS: &str = "PROXMOX_MCP_EXEC_TIMEOUT_SECS";
/// SSH executor: remote user (default `root`).
pub const PROXMOX_MCP_SSH_USER: &str = "PROXMOX_MCP_SSH_USER";
/// SSH executor: port (default 22).
pub const PROXMOX_MCP_SSH_PORT: &str = "PROXMOX_MCP_SSH_PORT";
/// SSH executor: private key file, mode 0600 or 0400.
pub const PROXMOX_MCP_SSH_KEY: &str = "PROXMOX_MCP_SSH_KEY";
/// SSH executor: known_hosts file the node host keys are checked against.
pub const PROXMOX_MCP_SSH_KNOWN_HOSTS: &str = "PROXMOX_MCP_SSH_KNOWN_HOSTS";
/// SSH executor: node addresses, `pve1=10.0.0.11,pve2=10.0.0.12`.
pub const PROXMOX_MCP_SSH_HOSTS: &str = "PROXMOX_MCP_SSH_HOSTS";
/// The PVE API schema (`apidata.js` or its JSON) `explain_command` reads descriptions from.
pub const PROXMOX_MCP_API_SCHEMA: &str = "PROXMOX_MCP_API_SCHEMA";
/// Guests that are always protected, `100,101`.
pub const PROXMOX_MCP_PROTECTED_VMIDS: &str = "PROXMOX_MCP_PROTECTED_VMIDS";
/// Guests with one of these tags are protected, `protected,prod` (default `protected`).
pub const PROXMOX_MCP_PROTECTED_TAGS: &str = "PROXMOX_MCP_PROTECTED_TAGS";
/// How long an out-of-band approval stays valid, in seconds (1 to 86400, default 600).
pub const PROXMOX_MCP_APPROVAL_TTL_SECS: &str = "PROXMOX_MCP_APPROVAL_TTL_SECS";
/// How many days of audit log are kept (1 to 3650, default 7).
pub const PROXMOX_MCP_AUDIT_RETENTION_DAYS: &str = "PROXMOX_MCP_AUDIT_RETENTION_DAYS";
/// The system journal's native socket audit records are copied to, or `off`
/// (default `/run/systemd/journal/socket`).
pub const PROXMOX_MCP_JOURNAL_SOCKET: &str = "PROXMOX_MCP_JOURNAL_SOCKET";
/// Tools and groups `tools/list` offers, comma-separated (replaces `[tools] allow`).
pub const PROXMOX_MCP_TOOLS_ALLOW: &str = "PROXMOX_MCP_TOOLS_ALLOW";
/// Tools and groups removed from `tools/list`, comma-separated (replaces `[tools] deny`).
pub const PROXMOX_MCP_TOOLS_DENY: &str = "PROXMOX_MCP_TOOLS_DENY";
/// Set (to `1`) by `mcp-http-bridge` on the engine it starts: the transport is the bridge.
pub const PROXMOX_MCP_BEHIND_BRIDGE: &str = "PROXMOX_MCP_BEHIND_BRIDGE";
/// `[update]` overrides: `source`, `url`, `signing_pubkey`, `timeout_secs`, `dpkg_install`,
/// `build_command`.
pub const PROXMOX_MCP_UPDATE_SOURCE: &str = "PROXMOX_MCP_UPDATE_SOURCE";
pub const PROXMOX_MCP_UPDATE_URL: &str = "PROXMOX_MCP_UPDATE_URL";
pub const PROXMOX_MCP_UPDATE_PUBKEY: &str = "PROXMOX_MCP_UPDATE_PUBKEY";
pub const PROXMOX_MCP_UPDATE_TIMEOUT_SECS: &str = "PROXMOX_MCP_UPDATE_TIMEOUT_SECS";
pub const PROXMOX_MCP_UPDATE_DPKG_INSTALL: &str = "PROXMOX_MCP_UPDATE_DPKG_INSTALL";
pub const PROXMOX_MCP_UPDATE_BUILD_COMMAND: &str = "PROXMOX_MCP_UPDATE_BUILD_COMMAND";
/// Set (to `1`) in the environment of every command `execute_command` runs. Not a setting: the
/// operator commands (`approve`, `deny`, `mode MODE`) refuse to run when they see it.
pub const PROXMOX_MCP_TOOL_CALL: &str = "PROXMOX_MCP_TOOL_CALL";

/// Every variable with a one-line description, in the order the docs and `--help` list them.
pub const ALL: &[(&str, &str)] = &[
    (
        PROXMOX_URL,
        "base URL of the default cluster, e.g. https://pve1:8006",
    ),
    (
        PROXMOX_TOKEN_ID,
        "API token id of the default cluster, user@realm!name",
    ),
    (
        PROXMOX_TOKEN_SECRET,
        "API token secret of the default cluster",
    ),
    (
        PROXMOX_USER,
        "ticket auth instead of a token: user@realm of the default cluster",
    ),
    (PROXMOX_PASSWORD, "ticket auth: password of PROXMOX_USER"),
    (
        PROXMOX_CA_FILE,
        "PEM file with the CA of the default cluster's certificate",
    ),
    (
        PROXMOX_FINGERPRINT,
        "SHA-256 fingerprint (AA:BB:...) of the default cluster's certificate",
    ),
    (
        PROXMOX_INSECURE,
        "1/true/yes: do not verify the default cluster's certificate",
    ),
    (
        PROXMOX_MCP_EXECUTOR,
        "shell executor of the default cluster: disabled (default), local or ssh",
    ),
    (
        PROXMOX_MCP_LOCAL_NODE,
        "local executor: the node this process runs on (default: the host name)",
    ),
    (
        PROXMOX_MCP_EXEC_RUN_AS,
        "local executor: run commands as this account through sudo -n -u (default: our own user)",
    ),
    (
        PROXMOX_MCP_EXEC_TIMEOUT_SECS,
        "default shell command timeout in seconds, 1 to 600 (default 60)",
    ),
    (
        PROXMOX_MCP_SSH_USER,
        "ssh executor: remote user (default root)",
    ),
    (PROXMOX_MCP_SSH_PORT, "ssh executor: port (default 22)"),
    (
        PROXMOX_MCP_SSH_KEY,
        "ssh executor: private key file, mode 0600 or 0400",
    ),
    (
        PROXMOX_MCP_SSH_KNOWN_HOSTS,
        "ssh executor: known_hosts file to check the nodes' host keys against",
    ),
    (
        PROXMOX_MCP_SSH_HOSTS,
        "ssh executor: node addresses, e.g. pve1=10.0.0.11,pve2=10.0.0.12",
    ),
    (
        PROXMOX_MCP_CONFIG,
        "path of the TOML configuration file (like --config)",
    ),
    (
        PROXMOX_MCP_STATE_DIR,
        "directory for modes, approvals and the audit log",
    ),
    (
        PROXMOX_MCP_LOG,
        "log filter for stderr, e.g. info or proxmox_mcp=debug",
    ),
    (
        PROXMOX_MCP_API_SCHEMA,
        "PVE API schema file (apidata.js) for explain_command",
    ),
    (
        PROXMOX_MCP_PROTECTED_VMIDS,
        "guests that are always protected, e.g. 100,101",
    ),
    (
        PROXMOX_MCP_PROTECTED_TAGS,
        "guests with one of these tags are protected, e.g. protected,prod",
    ),
    (
        PROXMOX_MCP_APPROVAL_TTL_SECS,
        "how long an out-of-band approval stays valid, seconds (default 600)",
    ),
    (
        PROXMOX_MCP_AUDIT_RETENTION_DAYS,
        "days of audit log to keep (default 7)",
    ),
    (
        PROXMOX_MCP_JOURNAL_SOCKET,
        "system journal socket audit records are copied to, or off \
         (default /run/systemd/journal/socket)",
    ),
    (
        PROXMOX_MCP_TOOLS_ALLOW,
        "only these tools and groups are offered, e.g. guests,tasks,get_mcp_info",
    ),
    (
        PROXMOX_MCP_TOOLS_DENY,
        "these tools and groups are removed from tools/list, e.g. exec,api",
    ),
    (
        PROXMOX_MCP_BEHIND_BRIDGE,
        "set to 1 by mcp-http-bridge on the engine it starts",
    ),
    (
        PROXMOX_MCP_UPDATE_SOURCE,
        "where check_updates looks: auto, feed or git",
    ),
    (
        PROXMOX_MCP_UPDATE_URL,
        "release JSON URL or git remote for check_updates",
    ),
    (
        PROXMOX_MCP_UPDATE_PUBKEY,
        "minisign public key releases must be signed with",
    ),
    (
        PROXMOX_MCP_UPDATE_TIMEOUT_SECS,
        "timeout of an update check or download, seconds (default 20)",
    ),
    (
        PROXMOX_MCP_UPDATE_DPKG_INSTALL,
        "1: self_update installs a verified .deb with dpkg -i",
    ),
    (
        PROXMOX_MCP_UPDATE_BUILD_COMMAND,
        "how self_update builds a git checkout",
    ),
    (
        PROXMOX_MCP_TOOL_CALL,
        "set by proxmox-mcp for the commands it runs; operator commands refuse to run with it",
    ),
];

/// The cluster-shaped variables: they override the first cluster (or create it, with `PROXMOX_URL`).
pub const CLUSTER_VARS: &[&str] = &[
    PROXMOX_URL,
    PROXMOX_TOKEN_ID,
    PROXMOX_TOKEN_SECRET,
    PROXMOX_USER,
    PROXMOX_PASSWORD,
    PROXMOX_CA_FILE,
    PROXMOX_FINGERPRINT,
    PROXMOX_INSECURE,
    PROXMOX_MCP_EXECUTOR,
    PROXMOX_MCP_LOCAL_NODE,
    PROXMOX_MCP_EXEC_RUN_AS,
    PROXMOX_MCP_EXEC_TIMEOUT_SECS,
    PROXMOX_MCP_SSH_USER,
    PROXMOX_MCP_SSH_PORT,
    PROXMOX_MCP_SSH_KEY,
    PROXMOX_MCP_SSH_KNOWN_HOSTS,
    PROXMOX_MCP_SSH_HOSTS,
];

/// A snapshot of the variables in [`ALL`], so that `resolve` never reads the process environment.
///
/// A variable set to the empty string (or only whitespace) counts as unset, so `PROXMOX_URL=`
/// in a unit file or a shell disables it instead of failing as a bad URL.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct EnvVars(BTreeMap<String, String>);

impl EnvVars {
    /// The variables of [`ALL`] as the process sees them now (values that are not UTF-8 are
    /// converted lossily; resolve then reports them as invalid).
    pub fn from_process() -> Self {
        Self(
            ALL.iter()
                .filter_map(|(name, _)| {
                    std::env::var_os(name)
                        .map(|v| ((*name).to_owned(), v.to_string_lossy().into_owned()))
                })
                .collect(),
        )
    }

    /// A fixed set, for tests: `EnvVars::from_pairs([(PROXMOX_URL, "https://pve1:8006")])`.
    pub fn from_pairs<I, K, V>(pairs: I) -> Self
    where
        I: IntoIterator<Item = (K, V)>,
        K: Into<String>,
        V: Into<String>,
    {
        Self(
            pairs
                .into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
        )
    }

    /// The value of `name`, trimmed; `None` when unset or blank.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(|v| v.trim()).filter(|v| !v.is_empty())
    }

    /// Whether `name` is set to something non-blank.
    pub fn is_set(&self, name: &str) -> bool {
        self.get(name).is_some()
    }

    /// A boolean variable: `1`/`true`/`yes`/`on` or `0`/`false`/`no`/`off` (any case).
    /// `Err` carries the offending value.
    pub fn flag(&self, name: &str) -> Result<Option<bool>, String> {
        match self.get(name) {
            None => Ok(None),
            Some(v) => match v.to_ascii_lowercase().as_str() {
                "1" | "true" | "yes" | "on" => Ok(Some(true)),
                "0" | "false" | "no" | "off" => Ok(Some(false)),
                _ => Err(v.to_owned()),
            },
        }
    }
}

/// Values are shown for everything but the secrets, so a snapshot can be logged.
impl std::fmt::Debug for EnvVars {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut map = f.debug_map();
        for (k, v) in &self.0 {
            if k == PROXMOX_TOKEN_SECRET || k == PROXMOX_PASSWORD {
                map.entry(k, &"****");
            } else {
                map.entry(k, v);
            }
        }
        map.finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blank_is_unset_and_flags_parse() {
        let env = EnvVars::from_pairs([
            (PROXMOX_URL, "  "),
            (PROXMOX_INSECURE, "Yes"),
            (PROXMOX_FINGERPRINT, "maybe"),
        ]);
        assert_eq!(env.get(PROXMOX_URL), None);
        assert_eq!(env.flag(PROXMOX_INSECURE), Ok(Some(true)));
        assert_eq!(env.flag(PROXMOX_FINGERPRINT), Err("maybe".to_owned()));
        assert_eq!(env.flag(PROXMOX_MCP_LOG), Ok(None));
    }

    #[test]
    fn debug_hides_secrets() {
        let env = EnvVars::from_pairs([(PROXMOX_TOKEN_SECRET, "s3cr3t"), (PROXMOX_USER, "a@pam")]);
        let shown = format!("{env:?}");
        assert!(!shown.contains("s3cr3t"), "{shown}");
        assert!(shown.contains("a@pam"), "{shown}");
    }

    #[test]
    fn every_name_is_listed_once() {
        let mut names: Vec<_> = ALL.iter().map(|(n, _)| *n).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), ALL.len());
        assert!(CLUSTER_VARS.iter().all(|v| names.contains(v)));
    }
}
