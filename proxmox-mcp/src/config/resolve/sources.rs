//! Where each setting came from: which layer (CLI, environment, file, default) set it, recorded
//! beside the resolved value for `get_mcp_info`. Secrets are never shown, only where they live.

use std::collections::BTreeSet;

use super::LoadOptions;
use crate::config::env::{self, EnvVars};
use crate::config::file::FileConfig;
use crate::config::types::{Auth, Config, ExecutorKind, Origin, Setting};

/// What the file and the environment set, noted before they are merged.
pub(super) struct Layers {
    /// Dotted keys the file sets (`state_dir`, `policy.protected_tags`, `cluster.0.url`, …).
    file: BTreeSet<String>,
    /// Variables set in the environment.
    env: BTreeSet<&'static str>,
    cli_state_dir: bool,
}

impl Layers {
    pub(super) fn new(file: &FileConfig, env: &EnvVars, cli: &LoadOptions) -> Self {
        let mut keys = BTreeSet::new();
        let mut set = |key: String, present: bool| {
            if present {
                keys.insert(key);
            }
        };
        set("state_dir".into(), file.state_dir.is_some());
        set("api_schema".into(), file.api_schema.is_some());
        let p = &file.policy;
        set("policy.protected_vmids".into(), p.protected_vmids.is_some());
        set("policy.protected_tags".into(), p.protected_tags.is_some());
        set(
            "policy.approval_ttl_secs".into(),
            p.approval_ttl_secs.is_some(),
        );
        set(
            "audit.retention_days".into(),
            file.audit.retention_days.is_some(),
        );
        set(
            "audit.journal_socket".into(),
            file.audit.journal_socket.is_some(),
        );
        set("tools.allow".into(), file.tools.allow.is_some());
        set("tools.deny".into(), file.tools.deny.is_some());
        for (i, c) in file.clusters.iter().enumerate() {
            let k = |name: &str| format!("cluster.{i}.{name}");
            set(k("url"), c.url.is_some());
            set(k("token_id"), c.token_id.is_some());
            set(
                k("token_secret"),
                c.token_secret.is_some()
                    || c.token_secret_file.is_some()
                    || c.token_secret_keyring == Some(true),
            );
            set(k("user"), c.user.is_some());
            set(
                k("password"),
                c.password.is_some()
                    || c.password_file.is_some()
                    || c.password_keyring == Some(true),
            );
            set(k("fingerprint"), c.fingerprint.is_some());
            set(k("ca_file"), c.ca_file.is_some());
            set(k("insecure"), c.insecure.is_some());
            set(k("connect_timeout_secs"), c.connect_timeout_secs.is_some());
            set(k("request_timeout_secs"), c.request_timeout_secs.is_some());
            set(k("exec.executor"), c.exec.executor.is_some());
            set(k("exec.timeout_secs"), c.exec.timeout_secs.is_some());
        }
        Layers {
            file: keys,
            env: env::ALL
                .iter()
                .map(|(name, _)| *name)
                .filter(|name| env.is_set(name))
                .collect(),
            cli_state_dir: cli.state_dir.is_some(),
        }
    }

    /// The origin of `key` (as [`Layers::new`] names file keys), overridden by `var`.
    fn origin(&self, key: &str, var: Option<&'static str>) -> Origin {
        match var {
            Some(v) if self.env.contains(v) => Origin::Env(v),
            _ if self.file.contains(key) => Origin::File,
            _ => Origin::Default,
        }
    }

    /// Every setting of the resolved `config`, with its origin.
    pub(super) fn settings(&self, config: &Config) -> Vec<Setting> {
        let mut out = Vec::new();
        let mut push = |name: String, origin: Origin, value: String| {
            out.push(Setting {
                name,
                origin,
                value,
            });
        };
        let state_origin = if self.cli_state_dir {
            Origin::Cli
        } else {
            self.origin("state_dir", Some(env::PROXMOX_MCP_STATE_DIR))
        };
        push(
            "state_dir".into(),
            state_origin,
            config.state_dir.display().to_string(),
        );
        let top = |key: &str, var| (key.to_owned(), self.origin(key, Some(var)));
        let list = |items: Vec<String>| {
            if items.is_empty() {
                "none".to_owned()
            } else {
                items.join(",")
            }
        };
        let (k, o) = top("api_schema", env::PROXMOX_MCP_API_SCHEMA);
        let schema = config.api_schema.as_ref().map(|p| p.display().to_string());
        push(k, o, schema.unwrap_or_else(|| "none".into()));
        let policy = &config.policy;
        let (k, o) = top("policy.protected_vmids", env::PROXMOX_MCP_PROTECTED_VMIDS);
        push(
            k,
            o,
            list(policy.protected_vmids.iter().map(u32::to_string).collect()),
        );
        let (k, o) = top("policy.protected_tags", env::PROXMOX_MCP_PROTECTED_TAGS);
        push(k, o, list(policy.protected_tags.iter().cloned().collect()));
        let (k, o) = top(
            "policy.approval_ttl_secs",
            env::PROXMOX_MCP_APPROVAL_TTL_SECS,
        );
        push(k, o, policy.approval_ttl.as_secs().to_string());
        let (k, o) = top(
            "audit.retention_days",
            env::PROXMOX_MCP_AUDIT_RETENTION_DAYS,
        );
        push(
            k,
            o,
            (config.audit.retention.as_secs() / 86_400).to_string(),
        );
        let (k, o) = top("audit.journal_socket", env::PROXMOX_MCP_JOURNAL_SOCKET);
        let socket = config.audit.journal_socket.as_ref();
        push(
            k,
            o,
            socket.map_or_else(|| "off".into(), |p| p.display().to_string()),
        );
        let (k, o) = top("tools.allow", env::PROXMOX_MCP_TOOLS_ALLOW);
        let allow = config.tools.allow.clone();
        push(k, o, allow.map_or_else(|| "all".into(), list));
        let (k, o) = top("tools.deny", env::PROXMOX_MCP_TOOLS_DENY);
        push(k, o, list(config.tools.deny.clone()));

        for (i, c) in config.clusters.iter().enumerate() {
            // The PROXMOX_* variables apply to the first cluster only.
            let var = |v: &'static str| (i == 0).then_some(v);
            let origin =
                |key: &str, v: Option<&'static str>| self.origin(&format!("cluster.{i}.{key}"), v);
            let name = |key: &str| format!("cluster.{}.{key}", c.name);
            push(
                name("url"),
                origin("url", var(env::PROXMOX_URL)),
                display_url(&c.url),
            );
            match &c.auth {
                Auth::Token { id, .. } => {
                    push(
                        name("token_id"),
                        origin("token_id", var(env::PROXMOX_TOKEN_ID)),
                        id.clone(),
                    );
                    push(
                        name("token_secret"),
                        origin("token_secret", var(env::PROXMOX_TOKEN_SECRET)),
                        "****".into(),
                    );
                }
                Auth::Password { user, .. } => {
                    push(
                        name("user"),
                        origin("user", var(env::PROXMOX_USER)),
                        user.clone(),
                    );
                    push(
                        name("password"),
                        origin("password", var(env::PROXMOX_PASSWORD)),
                        "****".into(),
                    );
                }
            }
            let tls = &c.tls;
            push(
                name("fingerprint"),
                origin("fingerprint", var(env::PROXMOX_FINGERPRINT)),
                tls.fingerprint.clone().unwrap_or_else(|| "none".into()),
            );
            push(
                name("ca_file"),
                origin("ca_file", var(env::PROXMOX_CA_FILE)),
                tls.ca_file
                    .as_ref()
                    .map_or_else(|| "none".into(), |p| p.display().to_string()),
            );
            push(
                name("insecure"),
                origin("insecure", var(env::PROXMOX_INSECURE)),
                tls.insecure.to_string(),
            );
            push(
                name("connect_timeout_secs"),
                origin("connect_timeout_secs", None),
                c.timeouts.connect.as_secs().to_string(),
            );
            push(
                name("request_timeout_secs"),
                origin("request_timeout_secs", None),
                c.timeouts.request.as_secs().to_string(),
            );
            let executor = match c.exec.executor {
                ExecutorKind::Disabled => "disabled",
                ExecutorKind::Local => "local",
                ExecutorKind::Ssh => "ssh",
            };
            push(
                name("exec.executor"),
                origin("exec.executor", var(env::PROXMOX_MCP_EXECUTOR)),
                executor.into(),
            );
            push(
                name("exec.timeout_secs"),
                origin("exec.timeout_secs", var(env::PROXMOX_MCP_EXEC_TIMEOUT_SECS)),
                c.exec.timeout.as_secs().to_string(),
            );
        }
        out
    }
}

/// `url` without its `user:password@` part, for showing: credentials never leave in settings.
pub fn display_url(url: &str) -> String {
    let (scheme, rest) = match url.find("://") {
        Some(i) => url.split_at(i + 3),
        None => ("", url),
    };
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(end);
    match authority.rfind('@') {
        Some(at) => format!("{scheme}{}{tail}", &authority[at + 1..]),
        None => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use std::path::{Path, PathBuf};

    use super::super::{ConfigError, SecretSource, parse_file, resolve_with_warnings};
    use super::*;
    use crate::config::Secret;

    /// A host with no files, keyring or name.
    struct Bare;

    impl SecretSource for Bare {
        fn read_file(&self, path: &Path) -> Result<Secret, ConfigError> {
            panic!("no secret file expected: {}", path.display())
        }
        fn read_keyring(&self, _: &str) -> Result<Option<Secret>, ConfigError> {
            Ok(None)
        }
        fn check_private_file(&self, _: &'static str, _: &Path) -> Result<(), ConfigError> {
            Ok(())
        }
        fn is_file(&self, _: &Path) -> bool {
            false
        }
        fn host_name(&self) -> Option<String> {
            None
        }
    }

    #[test]
    fn each_setting_says_where_it_came_from() {
        let path = PathBuf::from("/srv/pm/config.toml");
        let toml = "[policy]\napproval_ttl_secs = 120\n[tools]\ndeny = [\"exec\"]\n\
                    [[cluster]]\nname = \"lab\"\nurl = \"https://lab:8006\"\n\
                    token_id = \"a@pve!b\"\ntoken_secret = \"5ec12e70-aaaa-bbbb-cccc-dddddddddddd\"\n";
        let file = parse_file(&path, toml).unwrap();
        let env = EnvVars::from_pairs([
            (env::PROXMOX_MCP_STATE_DIR, "/tmp/st"),
            (env::PROXMOX_MCP_AUDIT_RETENTION_DAYS, "3"),
        ]);
        let cli = LoadOptions::default();
        let (config, _) = resolve_with_warnings(Some((path, file)), &env, &Bare, &cli).unwrap();
        let get = |name: &str| {
            config
                .sources
                .iter()
                .find(|s| s.name == name)
                .unwrap_or_else(|| panic!("no setting {name}: {:#?}", config.sources))
        };
        for (name, origin, value) in [
            (
                "state_dir",
                Origin::Env(env::PROXMOX_MCP_STATE_DIR),
                "/tmp/st",
            ),
            ("policy.approval_ttl_secs", Origin::File, "120"),
            (
                "audit.retention_days",
                Origin::Env(env::PROXMOX_MCP_AUDIT_RETENTION_DAYS),
                "3",
            ),
            ("policy.protected_tags", Origin::Default, "protected"),
            ("tools.allow", Origin::Default, "all"),
            ("tools.deny", Origin::File, "exec"),
            ("cluster.lab.url", Origin::File, "https://lab:8006"),
            ("cluster.lab.token_id", Origin::File, "a@pve!b"),
            ("cluster.lab.token_secret", Origin::File, "****"),
            ("cluster.lab.request_timeout_secs", Origin::Default, "30"),
        ] {
            let s = get(name);
            assert_eq!((s.origin, s.value.as_str()), (origin, value), "{name}");
        }
        assert!(
            config.sources.iter().all(|s| !s.value.contains("5ec12e70")),
            "a secret leaked into the sources"
        );
    }

    #[test]
    fn display_url_drops_userinfo() {
        assert_eq!(
            display_url("https://root:s3cret@pve:8006/api2"),
            "https://pve:8006/api2"
        );
        assert_eq!(display_url("https://u@p@pve:8006"), "https://pve:8006");
        assert_eq!(display_url("https://pve:8006/a@b"), "https://pve:8006/a@b");
        assert_eq!(display_url("pve:8006"), "pve:8006");
    }
}
