//! Table-driven tests of `resolve`: one `check` over file, environment, secret files and keyring.
//! The `[cluster.exec]` cases are in `exec`, the `[policy]`/`[audit]`/`api_schema` ones in
//! `settings`.

mod exec;
mod settings;

use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;

use super::*;
use crate::config::env::*;
use crate::config::types::{AuditConfig, ExecutorKind, PolicyConfig, SshConfig};

/// Real secret and key files (so the mode checks run), a keyring made of a map, an injected host
/// name. A file exists when it is a real file in the temp dir or is listed in `present`, so the
/// host's own `/usr/share/pve-docs` never matters.
#[derive(Default)]
struct Fake {
    keyring: BTreeMap<String, String>,
    host_name: Option<String>,
    present: Vec<PathBuf>,
}

impl Fake {
    fn keyring<'a>(entries: impl IntoIterator<Item = (&'a str, &'a str)>) -> Self {
        Fake {
            keyring: entries
                .into_iter()
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .collect(),
            ..Fake::default()
        }
    }
}

impl SecretSource for Fake {
    fn read_file(&self, path: &Path) -> Result<Secret, ConfigError> {
        load::read_secret_file(path)
    }
    fn read_keyring(&self, account: &str) -> Result<Option<Secret>, ConfigError> {
        Ok(self.keyring.get(account).map(Secret::new))
    }
    fn check_private_file(&self, what: &'static str, path: &Path) -> Result<(), ConfigError> {
        load::check_owner_only(what, path)
    }
    fn is_file(&self, path: &Path) -> bool {
        self.present.iter().any(|p| p == path)
            || (path.starts_with(std::env::temp_dir()) && path.is_file())
    }
    fn host_name(&self) -> Option<String> {
        self.host_name.clone()
    }
}

/// One row: the inputs, and the rendered config (see [`render`]) or a part of the error message.
/// `{dir}` in any string stands for a fresh temp dir; `{user}` for the user's state dir.
#[derive(Clone, Copy)]
struct Case<'a> {
    name: &'a str,
    /// Parsed as `path` (default `{dir}/config.toml`).
    toml: Option<&'a str>,
    path: &'a str,
    env: &'a [(&'a str, &'a str)],
    /// Files created in `{dir}`: name, content, mode.
    files: &'a [(&'a str, &'a str, u32)],
    keyring: &'a [(&'a str, &'a str)],
    cli_state: Option<&'a str>,
    /// What the host name files hold (`None`: they cannot be read).
    host_name: Option<&'a str>,
    /// Paths outside `{dir}` that exist.
    present: &'a [&'a str],
    expect: Result<&'a str, &'a str>,
    /// Each warning must contain the matching entry; the counts must agree.
    warnings: &'a [&'a str],
}

const BASE: Case<'static> = Case {
    name: "",
    toml: None,
    path: "{dir}/config.toml",
    env: &[],
    files: &[],
    keyring: &[],
    cli_state: None,
    host_name: None,
    present: &[],
    expect: Ok(""),
    warnings: &[],
};

/// Token secrets have the UUID shape PVE issues; [`render`] shows only their first group, and
/// each source below has its own letter.
const ENV_SECRET: &str = "eeeeeeee-eeee-eeee-eeee-eeeeeeeeeeee";
const FILE_SECRET: &str = "ffffffff-ffff-ffff-ffff-ffffffffffff";
const KEYRING_SECRET: &str = "cccccccc-cccc-cccc-cccc-cccccccccccc";
const KEYRING_SECRET_2: &str = "dddddddd-dddd-dddd-dddd-dddddddddddd";

const URL: (&str, &str) = (PROXMOX_URL, "https://pve1:8006");
const ID: (&str, &str) = (PROXMOX_TOKEN_ID, "mcp@pve!mcp");
const SECRET: (&str, &str) = (PROXMOX_TOKEN_SECRET, ENV_SECRET);
/// What `URL`, `ID`, `SECRET` resolve to.
const ENV_CLUSTER: &str = "default https://pve1:8006 token mcp@pve!mcp=eeeeeeee";

const HOME: &str = r#"
[[cluster]]
name = "home"
url = "https://pve1:8006"
token_id = "mcp@pve!mcp"
token_secret_file = "home.secret"
"#;
const HOME_SECRET: &[(&str, &str, u32)] = &[(
    "home.secret",
    "ffffffff-ffff-ffff-ffff-ffffffffffff\n",
    0o600,
)];

/// `name url auth [ca=..] [fp=AA:BB:CC] [insecure] connect/request [exec[..]]` per cluster, then
/// `policy[..]`, `audit=..d`, `journal=..`, `schema=..` when they are not the defaults, then `state=..`;
/// a token secret shows only its first group (`eeeeeeee`), a password all of it.
fn render(config: &Config, dir: &str) -> String {
    let mut parts: Vec<String> = config
        .clusters
        .iter()
        .map(|c| {
            let mut line = match &c.auth {
                Auth::Token { id, secret } => {
                    let first = secret.expose().split('-').next().unwrap_or_default();
                    format!("{} {} token {id}={first}", c.name, c.url)
                }
                Auth::Password { user, password } => {
                    format!("{} {} password {user}={}", c.name, c.url, password.expose())
                }
            };
            if let Some(ca) = &c.tls.ca_file {
                line += &format!(" ca={}", ca.display());
            }
            if let Some(fp) = &c.tls.fingerprint {
                line += &format!(" fp={}", &fp[..8]);
            }
            if c.tls.insecure {
                line += " insecure";
            }
            let t = c.timeouts;
            line += &format!(" {}/{}", t.connect.as_secs(), t.request.as_secs());
            if c.exec != ExecConfig::default() {
                line += &render_exec(&c.exec);
            }
            line
        })
        .collect();
    let policy = &config.policy;
    if *policy != PolicyConfig::default() {
        let vmids: Vec<_> = policy.protected_vmids.iter().map(u32::to_string).collect();
        let tags: Vec<_> = policy.protected_tags.iter().cloned().collect();
        parts.push(format!(
            "policy[vmids={} tags={} ttl={}s]",
            vmids.join(","),
            tags.join(","),
            policy.approval_ttl.as_secs()
        ));
    }
    let audit = &config.audit;
    if audit.retention != AuditConfig::default().retention {
        parts.push(format!("audit={}d", audit.retention.as_secs() / 86_400));
    }
    if audit.journal_socket != AuditConfig::default().journal_socket {
        let socket = audit.journal_socket.as_ref();
        parts.push(format!(
            "journal={}",
            socket.map_or_else(|| "off".to_owned(), |p| p.display().to_string())
        ));
    }
    if let Some(schema) = &config.api_schema {
        parts.push(format!("schema={}", schema.display()));
    }
    parts.push(format!("state={}", config.state_dir.display()));
    let mut out = parts.join("; ").replace(dir, "{dir}");
    if let Some(user) = load::user_state_dir() {
        out = out.replace(&user.display().to_string(), "{user}");
    }
    out
}

/// ` exec[kind timeout [node=..] [as=..] [user:port connect [key=..] [kh=..] [hosts=n=a,..]]]`; the
/// ssh part only when it is not the default.
fn render_exec(e: &ExecConfig) -> String {
    let kind = match e.executor {
        ExecutorKind::Disabled => "disabled",
        ExecutorKind::Local => "local",
        ExecutorKind::Ssh => "ssh",
    };
    let mut out = format!(" exec[{kind} {}s", e.timeout.as_secs());
    if let Some(node) = &e.local_node {
        out += &format!(" node={node}");
    }
    if let Some(account) = &e.run_as {
        out += &format!(" as={account}");
    }
    let ssh = &e.ssh;
    if *ssh != SshConfig::default() {
        out += &format!(
            " {}:{} {}s",
            ssh.user,
            ssh.port,
            ssh.connect_timeout.as_secs()
        );
        if let Some(key) = &ssh.key {
            out += &format!(" key={}", key.display());
        }
        if let Some(kh) = &ssh.known_hosts {
            out += &format!(" kh={}", kh.display());
        }
        if !ssh.hosts.is_empty() {
            let hosts: Vec<_> = ssh.hosts.iter().map(|(n, a)| format!("{n}={a}")).collect();
            out += &format!(" hosts={}", hosts.join(","));
        }
    }
    out + "]"
}

fn check(case: Case<'_>) {
    let name = case.name;
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().to_str().unwrap();
    let fill = |s: &str| s.replace("{dir}", dir);
    for (file, content, mode) in case.files {
        let path = tmp.path().join(file);
        std::fs::write(&path, content).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(*mode)).unwrap();
    }
    let env = EnvVars::from_pairs(case.env.iter().map(|(k, v)| (*k, fill(v))));
    let fake = Fake {
        host_name: case.host_name.map(str::to_owned),
        present: case.present.iter().map(PathBuf::from).collect(),
        ..Fake::keyring(case.keyring.iter().copied())
    };
    let opts = LoadOptions {
        config_path: None,
        state_dir: case.cli_state.map(|s| PathBuf::from(fill(s))),
    };
    let result = case
        .toml
        .map(|text| {
            let path = PathBuf::from(fill(case.path));
            parse_file(&path, &fill(text)).map(|f| (path, f))
        })
        .transpose()
        .and_then(|file| resolve_with_warnings(file, &env, &fake, &opts));
    match (result, case.expect) {
        (Ok((config, warnings)), Ok(want)) => {
            assert_eq!(render(&config, dir), want, "case `{name}`");
            let warnings: Vec<_> = warnings.iter().map(|w| w.replace(dir, "{dir}")).collect();
            assert_eq!(
                warnings.len(),
                case.warnings.len(),
                "case `{name}`: {warnings:#?}"
            );
            for (got, want) in warnings.iter().zip(case.warnings) {
                assert!(got.contains(want), "case `{name}`: warning {got:?}");
            }
        }
        (Err(e), Err(want)) => {
            let msg = e.to_string().replace(dir, "{dir}");
            assert!(msg.contains(want), "case `{name}`: error {msg:?}");
        }
        (Ok((config, _)), Err(want)) => panic!(
            "case `{name}`: expected error {want:?}, got {}",
            render(&config, dir)
        ),
        (Err(e), Ok(_)) => panic!("case `{name}`: unexpected error: {e}"),
    }
}

#[test]
fn sources_and_precedence() {
    let cases = [
        Case {
            name: "nothing configured is fine",
            expect: Ok("state={user}"),
            ..BASE
        },
        Case {
            name: "env only",
            env: &[URL, ID, SECRET],
            expect: Ok("default https://pve1:8006 token mcp@pve!mcp=eeeeeeee 5/30; state={user}"),
            ..BASE
        },
        Case {
            name: "file only, secret file relative to the config, 0600",
            toml: Some(HOME),
            files: HOME_SECRET,
            expect: Ok("home https://pve1:8006 token mcp@pve!mcp=ffffffff 5/30; state={user}"),
            ..BASE
        },
        Case {
            name: "secret file 0400 is fine too",
            toml: Some(HOME),
            files: &[("home.secret", FILE_SECRET, 0o400)],
            expect: Ok("home https://pve1:8006 token mcp@pve!mcp=ffffffff 5/30; state={user}"),
            ..BASE
        },
        Case {
            name: "env overrides the first cluster",
            toml: Some(HOME),
            files: HOME_SECRET,
            env: &[
                (PROXMOX_URL, "https://pve2:8006"),
                SECRET,
                (PROXMOX_CA_FILE, "/etc/ca.pem"),
            ],
            expect: Ok(
                "home https://pve2:8006 token mcp@pve!mcp=eeeeeeee ca=/etc/ca.pem 5/30; state={user}",
            ),
            ..BASE
        },
        Case {
            name: "env user/password switch the first cluster to ticket auth",
            toml: Some(HOME),
            env: &[(PROXMOX_USER, "root@pam"), (PROXMOX_PASSWORD, "pw")],
            expect: Ok("home https://pve1:8006 password root@pam=pw 5/30; state={user}"),
            ..BASE
        },
        Case {
            name: "several clusters: the first is the default and the one env touches",
            toml: Some(
                r#"
                [[cluster]]
                name = "a"
                url = "https://a:8006"
                token_id = "mcp@pve!mcp"
                [[cluster]]
                name = "b"
                url = "https://b:8006"
                user = "root@pam"
                password_file = "{dir}/b.pw"
                fingerprint = "aabbccddeeff00112233445566778899aabbccddeeff00112233445566778899"
                connect_timeout_secs = 2
                request_timeout_secs = 60
                "#,
            ),
            files: &[("b.pw", "pw", 0o600)],
            env: &[SECRET],
            expect: Ok(
                "a https://a:8006 token mcp@pve!mcp=eeeeeeee 5/30; b https://b:8006 password root@pam=pw fp=AA:BB:CC 2/60; state={user}",
            ),
            ..BASE
        },
        Case {
            name: "keyring, by cluster name",
            toml: Some(
                "[[cluster]]\nname = \"home\"\nurl = \"https://pve1:8006\"\ntoken_id = \"mcp@pve!mcp\"\ntoken_secret_keyring = true",
            ),
            keyring: &[("home", KEYRING_SECRET)],
            expect: Ok("home https://pve1:8006 token mcp@pve!mcp=cccccccc 5/30; state={user}"),
            ..BASE
        },
        Case {
            name: "keyring, falling back to the token id",
            toml: Some(
                "[[cluster]]\nurl = \"https://pve1:8006\"\ntoken_id = \"mcp@pve!mcp\"\ntoken_secret_keyring = true",
            ),
            keyring: &[("mcp@pve!mcp", KEYRING_SECRET_2)],
            expect: Ok("default https://pve1:8006 token mcp@pve!mcp=dddddddd 5/30; state={user}"),
            ..BASE
        },
        Case {
            name: "inline secret works, with a warning",
            toml: Some(
                "[[cluster]]\nurl = \"https://pve1:8006\"\ntoken_id = \"mcp@pve!mcp\"\n\
                 token_secret = \"aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa\"",
            ),
            expect: Ok("default https://pve1:8006 token mcp@pve!mcp=aaaaaaaa 5/30; state={user}"),
            warnings: &["token_secret is stored in clear text in {dir}/config.toml"],
            ..BASE
        },
        Case {
            name: "a secret from env replaces the inline one, without a warning",
            toml: Some("[[cluster]]\nurl = \"https://pve1:8006\"\ntoken_secret = \"inline\""),
            env: &[ID, SECRET],
            expect: Ok("default https://pve1:8006 token mcp@pve!mcp=eeeeeeee 5/30; state={user}"),
            ..BASE
        },
    ];
    cases.into_iter().for_each(check);
}

#[test]
fn state_dir() {
    let env_state = &[(PROXMOX_MCP_STATE_DIR, "/env/state")];
    let cases = [
        Case {
            name: "file state_dir, relative to the file",
            toml: Some("state_dir = \"state\""),
            expect: Ok("state={dir}/state"),
            ..BASE
        },
        Case {
            name: "env beats file",
            toml: Some("state_dir = \"state\""),
            env: env_state,
            expect: Ok("state=/env/state"),
            ..BASE
        },
        Case {
            name: "CLI beats env",
            env: env_state,
            cli_state: Some("/cli/state"),
            expect: Ok("state=/cli/state"),
            ..BASE
        },
        Case {
            name: "a file in /etc/proxmox-mcp means a system install",
            toml: Some(""),
            path: "/etc/proxmox-mcp/config.toml",
            expect: Ok("state=/var/lib/proxmox-mcp"),
            ..BASE
        },
    ];
    cases.into_iter().for_each(check);
}

#[test]
fn urls() {
    #[rustfmt::skip]
    let table = [
        ("https://pve1:8006/", Ok("https://pve1:8006"), None),
        ("HTTPS://PVE1:8006", Ok("https://pve1:8006"), None),
        ("https://[fd00::1]:8006", Ok("https://[fd00::1]:8006"), None),
        ("https://pve1:8006/api2/json", Ok("https://pve1:8006"), Some("/api2/json suffix")),
        ("https://pve1:8006/api2/json/", Ok("https://pve1:8006"), Some("/api2/json suffix")),
        ("http://pve1:8006", Ok("http://pve1:8006"), Some("plain http")),
        ("pve1:8006", Err("PROXMOX_URL `pve1:8006` is invalid: it has no scheme; did you mean https://pve1:8006 ?"), None),
        ("ftp://pve1", Err("scheme `ftp` is not https://"), None),
        ("https://pve1:8006/pve", Err("it has a path (`/pve`)"), None),
        ("https://u:pw@pve1:8006", Err("PROXMOX_URL `https://***@pve1:8006` is invalid: it must not contain credentials"), None),
        ("https://u:pw@pve1:99999", Err("PROXMOX_URL `https://***@pve1:99999` is invalid: invalid port"), None),
        ("u:pw@pve1:8006", Err("PROXMOX_URL `***@pve1:8006` is invalid: it has no scheme; did you mean https://***@pve1:8006 ?"), None),
        ("https://pve1:8006/?x=1", Err("query or fragment"), None),
        ("https://pve1:99999", Err("PROXMOX_URL `https://pve1:99999` is invalid: invalid port"), None),
    ];
    for (url, expect, warning) in table {
        let want =
            expect.map(|u| format!("default {u} token mcp@pve!mcp=eeeeeeee 5/30; state={{user}}"));
        check(Case {
            name: url,
            env: &[(PROXMOX_URL, url), ID, SECRET],
            expect: want.as_deref().map_err(|e| *e),
            warnings: warning.as_slice(),
            ..BASE
        });
    }
}

#[test]
fn insecure_and_fingerprint() {
    let off = &["certificate verification is OFF; pin"][..];
    #[rustfmt::skip]
    let table = [
        ("1", Ok(" insecure"), off),
        ("TRUE", Ok(" insecure"), off),
        ("yes", Ok(" insecure"), off),
        ("0", Ok(""), &[]),
        ("no", Ok(""), &[]),
        ("maybe", Err("PROXMOX_INSECURE=`maybe` is invalid: expected 1, true or yes"), &[]),
    ];
    for (value, expect, warnings) in table {
        let want = expect.map(|flag| format!("{ENV_CLUSTER}{flag} 5/30; state={{user}}"));
        check(Case {
            name: value,
            env: &[URL, ID, SECRET, (PROXMOX_INSECURE, value)],
            expect: want.as_deref().map_err(|e| *e),
            warnings,
            ..BASE
        });
    }
    let fp = (
        PROXMOX_FINGERPRINT,
        "aa:bb:cc:dd:ee:ff:00:11:22:33:44:55:66:77:88:99:aa:bb:cc:dd:ee:ff:00:11:22:33:44:55:66:77:88:99",
    );
    let cases = [
        Case {
            name: "fingerprint, normalized",
            env: &[URL, ID, SECRET, fp],
            expect: Ok(
                "default https://pve1:8006 token mcp@pve!mcp=eeeeeeee fp=AA:BB:CC 5/30; state={user}",
            ),
            ..BASE
        },
        Case {
            name: "insecure with a fingerprint says it is ignored",
            env: &[URL, ID, SECRET, fp, (PROXMOX_INSECURE, "1")],
            expect: Ok(
                "default https://pve1:8006 token mcp@pve!mcp=eeeeeeee fp=AA:BB:CC insecure 5/30; state={user}",
            ),
            warnings: &["verification is OFF (fingerprint/ca_file are ignored)"],
            ..BASE
        },
        Case {
            name: "bad fingerprint",
            env: &[URL, ID, SECRET, (PROXMOX_FINGERPRINT, "AA:BB")],
            expect: Err(
                "cluster `default`: PROXMOX_FINGERPRINT 'AA:BB' is invalid: it has 4 hex digits, 64 are needed",
            ),
            ..BASE
        },
        Case {
            name: "a SHA-1 fingerprint",
            env: &[
                URL,
                ID,
                SECRET,
                (
                    PROXMOX_FINGERPRINT,
                    "AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD",
                ),
            ],
            expect: Err("it has 40 hex digits, which is a SHA-1 fingerprint; SHA-256 is needed"),
            ..BASE
        },
    ];
    cases.into_iter().for_each(check);
}

#[test]
fn errors() {
    let zero_timeout = "[[cluster]]\nurl = \"https://pve1:8006\"\ntoken_id = \"a@pve!b\"\n\
                        token_secret = \"x\"\nrequest_timeout_secs = 0";
    let cases = [
        Case {
            name: "unknown key in a cluster",
            toml: Some("[[cluster]]\nurl = \"https://pve1:8006\"\ntokn_id = \"x\""),
            expect: Err(
                "{dir}/config.toml:3: unknown key `tokn_id` (expected one of `name`, `url`, `token_id`",
            ),
            ..BASE
        },
        Case {
            name: "unknown top-level key",
            toml: Some("stat_dir = \"/x\""),
            expect: Err("{dir}/config.toml:1: unknown key `stat_dir`"),
            ..BASE
        },
        Case {
            name: "wrong type",
            toml: Some("[[cluster]]\ninsecure = \"yes\""),
            expect: Err("{dir}/config.toml:2: invalid type: string \"yes\", expected a boolean"),
            ..BASE
        },
        Case {
            name: "token id without secret",
            env: &[URL, ID],
            expect: Err(
                "cluster `default`: token `mcp@pve!mcp` has no secret: set token_secret_file (mode 0600) or token_secret_keyring = true, or PROXMOX_TOKEN_SECRET",
            ),
            ..BASE
        },
        Case {
            name: "secret without token id",
            env: &[URL, SECRET],
            expect: Err(
                "cluster `default` has a token secret but no token id: set token_id (or PROXMOX_TOKEN_ID)",
            ),
            ..BASE
        },
        Case {
            name: "both token and password in the environment",
            env: &[URL, ID, SECRET, (PROXMOX_USER, "root@pam")],
            expect: Err("cluster `default` has both an API token and a user/password: keep one"),
            ..BASE
        },
        Case {
            name: "both token and password in the file",
            toml: Some(
                "[[cluster]]\nurl = \"https://pve1:8006\"\ntoken_id = \"a@pve!b\"\nuser = \"root@pam\"",
            ),
            expect: Err("cluster `default` has both an API token and a user/password"),
            ..BASE
        },
        Case {
            name: "user without password",
            env: &[URL, (PROXMOX_USER, "root@pam")],
            expect: Err(
                "cluster `default`: user `root@pam` has no password: set password_file (mode 0600) or password_keyring = true, or PROXMOX_PASSWORD",
            ),
            ..BASE
        },
        Case {
            name: "password without user",
            env: &[URL, (PROXMOX_PASSWORD, "pw")],
            expect: Err("cluster `default` has a password but no user"),
            ..BASE
        },
        Case {
            name: "user without realm",
            env: &[URL, (PROXMOX_USER, "root"), (PROXMOX_PASSWORD, "pw")],
            expect: Err("user `root` is invalid: expected `user@realm`, e.g. root@pam"),
            ..BASE
        },
        Case {
            name: "no credentials",
            toml: Some("[[cluster]]\nurl = \"https://pve1:8006\""),
            expect: Err(
                "cluster `default` has no credentials: set token_id with token_secret_file",
            ),
            ..BASE
        },
        Case {
            name: "no url",
            toml: Some("[[cluster]]\nname = \"x\"\ntoken_id = \"a@pve!b\""),
            expect: Err(
                "cluster `x` has no URL: set `url` in its [[cluster]] table (or PROXMOX_URL)",
            ),
            ..BASE
        },
        Case {
            name: "bad url from the file names the key",
            toml: Some("[[cluster]]\nurl = \"pve1\"\ntoken_id = \"a@pve!b\"\ntoken_secret = \"x\""),
            expect: Err("url `pve1` is invalid: it has no scheme"),
            ..BASE
        },
        Case {
            name: "env credentials without any cluster",
            env: &[ID],
            expect: Err("PROXMOX_TOKEN_ID is set but no cluster is configured: set PROXMOX_URL"),
            ..BASE
        },
        Case {
            name: "token id pasted with its secret",
            env: &[URL, (PROXMOX_TOKEN_ID, "mcp@pve!mcp=uuid"), SECRET],
            expect: Err(
                "cluster `default`: API token id 'mcp@pve!mcp=…' is invalid: it contains '='; the part after '=' looks like the secret: put it in PROXMOX_TOKEN_SECRET",
            ),
            ..BASE
        },
        Case {
            name: "token id without token name",
            env: &[URL, (PROXMOX_TOKEN_ID, "mcp@pve"), SECRET],
            expect: Err(
                "cluster `default`: API token id 'mcp@pve' is invalid: the token name is missing: append '!TOKENNAME' (e.g. 'mcp@pve!assistant')",
            ),
            ..BASE
        },
        Case {
            name: "token id without realm",
            env: &[URL, (PROXMOX_TOKEN_ID, "mcp!mcp"), SECRET],
            expect: Err(
                "cluster `default`: API token id 'mcp!mcp' is invalid: the realm is missing: 'mcp' must be USER@REALM, e.g. 'mcp@pve' or 'mcp@pam'",
            ),
            ..BASE
        },
        Case {
            name: "token id from the file, bad token name",
            toml: Some(
                "[[cluster]]\nname = \"h\"\nurl = \"https://pve1:8006\"\ntoken_id = \"mcp@pve!1st\"\ntoken_secret_keyring = true",
            ),
            expect: Err(
                "cluster `h`: API token id 'mcp@pve!1st' is invalid: the token name '1st' must start with a letter",
            ),
            ..BASE
        },
        Case {
            name: "token secret not shaped like a UUID, from the environment",
            env: &[URL, ID, (PROXMOX_TOKEN_SECRET, "s3")],
            expect: Err(
                "cluster `default`, PROXMOX_TOKEN_SECRET: the API token secret is invalid: it is 2 characters long, a token secret has 36.",
            ),
            ..BASE
        },
        Case {
            name: "token secret not shaped like a UUID, says which file",
            toml: Some(HOME),
            files: &[("home.secret", "tok\n", 0o600)],
            expect: Err(
                "cluster `home`, the secret file {dir}/home.secret: the API token secret is invalid: it is 3 characters long",
            ),
            ..BASE
        },
        Case {
            name: "secret file readable by others",
            toml: Some(HOME),
            files: &[("home.secret", FILE_SECRET, 0o644)],
            expect: Err(
                "secret file {dir}/home.secret has mode 0644, so other users may read it: run `chmod 600 {dir}/home.secret`",
            ),
            ..BASE
        },
        Case {
            name: "secret file missing",
            toml: Some(HOME),
            expect: Err("cannot read the secret file {dir}/home.secret: No such file"),
            ..BASE
        },
        Case {
            name: "empty secret file",
            toml: Some(HOME),
            files: &[("home.secret", "\n", 0o600)],
            expect: Err("the secret file {dir}/home.secret is empty"),
            ..BASE
        },
        Case {
            name: "two secret sources",
            toml: Some(
                "[[cluster]]\nname = \"h\"\ntoken_secret = \"x\"\ntoken_secret_file = \"f\"",
            ),
            expect: Err(
                "cluster `h` sets the token secret in `token_secret` and `token_secret_file`: keep exactly one",
            ),
            ..BASE
        },
        Case {
            name: "nothing in the keyring",
            toml: Some(
                "[[cluster]]\nname = \"h\"\nurl = \"https://pve1:8006\"\ntoken_id = \"a@pve!b\"\ntoken_secret_keyring = true",
            ),
            expect: Err(
                "cluster `h`: no secret in the OS keyring (service `proxmox-mcp`, tried user h, a@pve!b): store it with `proxmox-mcp config set-secret --cluster h` (it reads the secret from stdin)",
            ),
            ..BASE
        },
        Case {
            name: "duplicate names",
            toml: Some("[[cluster]]\nname = \"a\"\n[[cluster]]\nname = \"a\""),
            expect: Err("cluster name `a` is used twice; give each [[cluster]] a unique `name`"),
            ..BASE
        },
        Case {
            name: "two unnamed clusters are both `default`",
            toml: Some("[[cluster]]\n[[cluster]]"),
            expect: Err("cluster name `default` is used twice"),
            ..BASE
        },
        Case {
            name: "bad cluster name",
            toml: Some("[[cluster]]\nname = \"my lab\""),
            expect: Err("cluster name `my lab` is invalid"),
            ..BASE
        },
        Case {
            name: "zero timeout",
            toml: Some(zero_timeout),
            expect: Err("cluster `default`: request_timeout_secs must be at least 1"),
            ..BASE
        },
    ];
    cases.into_iter().for_each(check);
}

/// Every key of the format, as the README documents it.
#[test]
fn the_full_example() {
    let tmp = tempfile::tempdir().unwrap();
    let key = tmp.path().join("id_ed25519");
    std::fs::write(&key, "key").unwrap();
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).unwrap();
    let full = r#"
        state_dir = "/var/lib/proxmox-mcp"
        api_schema = "apidata.js"

        [policy]
        protected_vmids = [100, 101]
        protected_tags = ["protected", "Prod"]
        approval_ttl_secs = 900

        [audit]
        retention_days = 30
        journal_socket = "/run/systemd/journal/socket"

        [[cluster]]
        name = "home"
        url = "https://pve1:8006/api2/json"
        token_id = "mcp@pve!mcp"
        token_secret_file = "/etc/proxmox-mcp/home.secret"
        fingerprint = "AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99"
        ca_file = "pve-root-ca.pem"
        insecure = false
        connect_timeout_secs = 5
        request_timeout_secs = 30

        [cluster.exec]
        executor = "ssh"
        local_node = "pve1"
        timeout_secs = 120
        ssh_user = "mcp"
        ssh_port = 2222
        ssh_key = "{key}"
        ssh_known_hosts = "known_hosts"
        ssh_connect_timeout_secs = 5

        [cluster.exec.hosts]
        pve1 = "10.0.0.11"
        pve2 = "10.0.0.12"

        [[cluster]]
        name = "lab"
        url = "https://10.0.0.5:8006"
        user = "root@pam"
        password_keyring = true
        "#
    .replace("{key}", key.to_str().unwrap());
    let path = Path::new("/etc/proxmox-mcp/config.toml");
    let file = parse_file(path, &full).unwrap();
    assert_eq!(file.clusters.len(), 2);
    let present = [
        "/etc/proxmox-mcp/known_hosts",
        "/etc/proxmox-mcp/apidata.js",
    ];
    let fake = Fake {
        present: present.iter().map(PathBuf::from).collect(),
        ..Fake::keyring([("lab", "pw")])
    };
    // The secret file does not exist here: the keyring cluster alone shows the rest resolves.
    let err = resolve_with_warnings(
        Some((path.into(), file.clone())),
        &EnvVars::default(),
        &fake,
        &LoadOptions::default(),
    )
    .unwrap_err();
    assert!(
        err.to_string().contains("/etc/proxmox-mcp/home.secret"),
        "{err}"
    );
    let mut file = file;
    file.clusters[0].token_secret_file = None;
    file.clusters[0].token_secret_keyring = Some(true);
    let fake = Fake {
        present: present.iter().map(PathBuf::from).collect(),
        ..Fake::keyring([("lab", "pw"), ("home", KEYRING_SECRET)])
    };
    let (config, warnings) = resolve_with_warnings(
        Some((path.into(), file)),
        &EnvVars::default(),
        &fake,
        &LoadOptions::default(),
    )
    .unwrap();
    assert_eq!(
        render(&config, tmp.path().to_str().unwrap()),
        "home https://pve1:8006 token mcp@pve!mcp=cccccccc ca=/etc/proxmox-mcp/pve-root-ca.pem fp=AA:BB:CC 5/30 \
         exec[ssh 120s node=pve1 mcp:2222 5s key={dir}/id_ed25519 kh=/etc/proxmox-mcp/known_hosts hosts=pve1=10.0.0.11,pve2=10.0.0.12]; \
         lab https://10.0.0.5:8006 password root@pam=pw 5/30; \
         policy[vmids=100,101 tags=prod,protected ttl=900s]; audit=30d; schema=/etc/proxmox-mcp/apidata.js; \
         state=/var/lib/proxmox-mcp"
    );
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(warnings[0].contains("/api2/json suffix"));
}

/// The TLS setup's own parser decides, so whatever `tls` accepts the config accepts too, and the
/// result is always the `AA:BB:…` form.
#[test]
fn fingerprints_are_read_like_the_tls_setup_reads_them() {
    let want = "AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99";
    for input in [
        want.to_owned(),
        want.to_lowercase(),
        want.replace(':', ""),
        want.replace(':', " "),
        format!("sha256 Fingerprint={want}"),
        format!("SHA256 Fingerprint={}", want.replace(':', " ")),
    ] {
        let env = EnvVars::from_pairs([URL, ID, SECRET, (PROXMOX_FINGERPRINT, input.as_str())]);
        let (config, _) =
            resolve_with_warnings(None, &env, &Fake::default(), &LoadOptions::default())
                .unwrap_or_else(|e| panic!("{input}: {e}"));
        assert_eq!(
            config.clusters[0].tls.fingerprint.as_deref(),
            Some(want),
            "{input}"
        );
    }
}

/// A secret pasted into the wrong setting (the token id, the URL, the user) never comes back in
/// an error message or a warning, in `Display` or `Debug`.
#[test]
fn no_secret_in_any_message() {
    const S: &str = "5ec2e7aa-1111-2222-3333-444444444444";
    let url = |u: &str| (PROXMOX_URL, u.replace("S", S));
    let id = |i: &str| (PROXMOX_TOKEN_ID, i.replace("S", S));
    let owned = |(k, v): (&'static str, &str)| (k, v.to_owned());
    let cases = [
        vec![owned(URL), id("mcp@pve!mcp=S"), owned(SECRET)],
        vec![owned(URL), id("mcp@pve!mcp=S")],
        vec![owned(URL), id("PVEAPIToken=mcp@pve!mcp=S"), owned(SECRET)],
        vec![owned(URL), id("mcp@pve=S"), owned(SECRET)],
        vec![owned(URL), id("=S"), owned(SECRET)],
        vec![owned(URL), id("mcp@pve!mcp==S"), owned(SECRET)],
        vec![owned(URL), id("mcp@pve!mcp S"), owned(SECRET)],
        vec![url("https://root:S@pve1:8006"), owned(ID), owned(SECRET)],
        vec![url("http://root:S@pve1:8006"), owned(ID), owned(SECRET)],
        vec![url("https://root:S@pve1:99999"), owned(ID), owned(SECRET)],
        vec![
            url("https://root:S@pve1:8006/api2/json"),
            owned(ID),
            owned(SECRET),
        ],
        vec![url("root:S@pve1:8006"), owned(ID), owned(SECRET)],
        vec![url("https://S@pve1:8006"), owned(ID), owned(SECRET)],
        vec![
            owned(URL),
            owned(ID),
            (PROXMOX_TOKEN_SECRET, format!("{S}0")),
        ],
        vec![
            owned(URL),
            owned(ID),
            (PROXMOX_TOKEN_SECRET, S.replace('-', "_")),
        ],
        vec![
            owned(URL),
            (PROXMOX_USER, format!("root@pam:{S}")),
            (PROXMOX_PASSWORD, "pw".to_owned()),
        ],
        vec![
            owned(URL),
            (PROXMOX_USER, format!("root@pam {S}")),
            (PROXMOX_PASSWORD, "pw".to_owned()),
        ],
    ];
    for env in cases {
        let shown = format!("{env:?}");
        let result = resolve_with_warnings(
            None,
            &EnvVars::from_pairs(env),
            &Fake::default(),
            &LoadOptions::default(),
        );
        let texts = match result {
            Ok((_, warnings)) => panic!("{shown}: accepted, with warnings {warnings:?}"),
            Err(e) => [e.to_string(), format!("{e:?}")],
        };
        for text in texts {
            for part in S.split('-') {
                assert!(!text.contains(part), "{shown}: `{part}` echoed in {text}");
            }
        }
    }
}
