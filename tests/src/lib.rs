//! Shared end-to-end harness: a `pve-sim` on 127.0.0.1, the real `proxmox-mcp` binary over
//! stdio, and an rmcp client in either protocol revision.
//!
//! A test usually reads:
//! ```text
//! let h = Harness::start(protocol).await;
//! let r = h.call("list_vms", json!({"node": "pve1"})).await;
//! h.finish().await; // also checks every PVE request against the API schema
//! ```

pub mod bridge;
pub mod mcp;
pub mod sim;
pub mod sshd;

use std::{
    path::{Path, PathBuf},
    time::SystemTime,
};

use rmcp::{
    ClientLifecycleMode,
    model::{CallToolResult, ProtocolVersion},
};
pub use serde_json::{Map, Value, json};

pub use mcp::{Human, Mcp, ResultExt, object, truncate};
pub use pve_sim::{Faults, SimConfig};
pub use sim::{ApiClient, Sim, schema, schema_path, small_config};

/// The two MCP lifecycles a client can use.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Protocol {
    /// `initialize` handshake, 2025-11-25.
    Legacy,
    /// `server/discover` and per-request metadata, 2026-07-28.
    Modern,
}

impl Protocol {
    pub const BOTH: [Protocol; 2] = [Protocol::Legacy, Protocol::Modern];

    pub fn version(self) -> ProtocolVersion {
        match self {
            Protocol::Legacy => ProtocolVersion::V_2025_11_25,
            Protocol::Modern => ProtocolVersion::V_2026_07_28,
        }
    }

    pub fn lifecycle(self) -> ClientLifecycleMode {
        match self {
            Protocol::Legacy => ClientLifecycleMode::Initialize,
            Protocol::Modern => ClientLifecycleMode::Discover {
                preferred_versions: vec![ProtocolVersion::V_2026_07_28],
            },
        }
    }
}

/// Declares `mod name { legacy, modern }` tests that run `async fn name(Protocol)` once per
/// protocol revision.
#[macro_export]
macro_rules! per_protocol {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn legacy() {
                super::$name($crate::Protocol::Legacy).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn modern() {
                super::$name($crate::Protocol::Modern).await
            }
        }
    )*};
}

/// Installs the ring crypto provider for rustls (reqwest is built without one).
pub fn init_crypto() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// The workspace root (the parent of this crate).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ has a parent")
        .to_path_buf()
}

/// The `proxmox-mcp` binary under test: `PROXMOX_MCP_BIN`, else the one beside this test
/// executable (`target/<profile>/deps/x` → `target/<profile>/proxmox-mcp`).
pub fn binary() -> PathBuf {
    workspace_binary("proxmox-mcp", "PROXMOX_MCP_BIN")
}

/// The `mcp-http-bridge` binary: `PROXMOX_MCP_BRIDGE_BIN`, else the one beside this test
/// executable.
pub fn bridge_binary() -> PathBuf {
    workspace_binary("mcp-http-bridge", "PROXMOX_MCP_BRIDGE_BIN")
}

/// A workspace binary: the path in `env`, else `name` in the profile directory this test
/// executable was built into (which follows `CARGO_TARGET_DIR`).
fn workspace_binary(name: &str, env: &str) -> PathBuf {
    if let Some(p) = std::env::var_os(env) {
        return PathBuf::from(p);
    }
    let exe = std::env::current_exe().expect("current_exe");
    let mut dir = exe.parent().expect("exe dir");
    if dir.ends_with("deps") {
        dir = dir.parent().expect("profile dir");
    }
    let bin = dir.join(name);
    assert!(
        bin.is_file(),
        "{} not found: build it first with `cargo build --workspace --bins` \
         (`--release` for benchmarks), or set {env}",
        bin.display()
    );
    warn_if_stale(&bin);
    bin
}

/// Prints a warning when a source file is newer than the binary (it was not rebuilt).
fn warn_if_stale(bin: &Path) {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let Ok(built) = bin.metadata().and_then(|m| m.modified()) else {
            return;
        };
        let root = workspace_root();
        let newest = ["proxmox-mcp/src", "pve-sim/src", "mcp-http-bridge/src"]
            .iter()
            .filter_map(|d| newest_mtime(&root.join(d)))
            .max();
        if newest.is_some_and(|n| n > built) {
            let release = bin.components().any(|c| c.as_os_str() == "release");
            eprintln!(
                "WARNING: {} is older than its sources; run `cargo build{} --workspace --bins`",
                bin.display(),
                if release { " --release" } else { "" }
            );
        }
    });
}

fn newest_mtime(dir: &Path) -> Option<SystemTime> {
    let mut newest = None;
    for e in std::fs::read_dir(dir).ok()?.flatten() {
        let p = e.path();
        let t = if p.is_dir() {
            newest_mtime(&p)
        } else {
            e.metadata().and_then(|m| m.modified()).ok()
        };
        newest = newest.max(t);
    }
    newest
}

/// How the server authenticates to the sim.
#[derive(Clone, Debug)]
pub enum Auth {
    /// The sim's admin API token.
    Admin,
    /// The sim's read-only auditor token.
    Auditor,
    /// An explicit token id and secret.
    Token(String, String),
    /// The admin token id with this (wrong) secret.
    AdminWithSecret(String),
    /// root@pam with the sim's password (ticket flow).
    Password,
}

/// How the server trusts the sim's self-signed certificate.
#[derive(Clone, Debug)]
pub enum Trust {
    /// `PROXMOX_FINGERPRINT` = the sim's SHA-256 fingerprint.
    Fingerprint,
    /// `PROXMOX_CA_FILE` = the sim's certificate in PEM.
    CaFile,
    /// `PROXMOX_FINGERPRINT` = this (wrong) value.
    WrongFingerprint(String),
    /// No pin and no CA: the server must refuse the self-signed certificate.
    None,
}

/// Builds a [`Harness`].
pub struct HarnessBuilder {
    protocol: Protocol,
    sim: SimConfig,
    auth: Auth,
    trust: Trust,
    url: Option<String>,
    env: Vec<(String, String)>,
    human: Human,
    mode: Option<String>,
    config: Option<String>,
}

impl HarnessBuilder {
    /// How the client answers confirmation forms (default: it cannot show them).
    pub fn human(mut self, h: Human) -> Self {
        self.human = h;
        self
    }
    /// The persisted mode the server starts in (default: none stored, i.e. `safe`).
    pub fn mode(mut self, m: &str) -> Self {
        self.mode = Some(m.to_string());
        self
    }
    /// Contents of the config file (default: empty, environment only). `{dir}` is replaced by the
    /// test's temporary directory.
    pub fn config(mut self, toml: impl Into<String>) -> Self {
        self.config = Some(toml.into());
        self
    }
    pub fn sim(mut self, cfg: SimConfig) -> Self {
        self.sim = cfg;
        self
    }
    /// Adjusts the default (small) sim configuration.
    pub fn with_sim(mut self, f: impl FnOnce(&mut SimConfig)) -> Self {
        f(&mut self.sim);
        self
    }
    pub fn auth(mut self, a: Auth) -> Self {
        self.auth = a;
        self
    }
    pub fn trust(mut self, t: Trust) -> Self {
        self.trust = t;
        self
    }
    /// Overrides `PROXMOX_URL` (the sim still runs, so its log shows whether it was contacted).
    pub fn url(mut self, url: impl Into<String>) -> Self {
        self.url = Some(url.into());
        self
    }
    pub fn env(mut self, k: &str, v: impl Into<String>) -> Self {
        self.env.push((k.to_string(), v.into()));
        self
    }

    pub async fn start(self) -> Harness {
        let sim = Sim::start(self.sim).await;
        let dir = tempfile::tempdir().expect("tempdir");
        let mut env = isolation_env(dir.path());
        env.push(("PROXMOX_URL".into(), self.url.unwrap_or_else(|| sim.url())));
        match self.auth {
            Auth::Admin | Auth::Auditor => {
                let c = if matches!(self.auth, Auth::Admin) {
                    sim.admin()
                } else {
                    sim.auditor()
                };
                env.push(("PROXMOX_TOKEN_ID".into(), c.token_id.clone()));
                env.push(("PROXMOX_TOKEN_SECRET".into(), c.secret.clone()));
            }
            Auth::AdminWithSecret(secret) => {
                env.push(("PROXMOX_TOKEN_ID".into(), sim.admin().token_id.clone()));
                env.push(("PROXMOX_TOKEN_SECRET".into(), secret));
            }
            Auth::Token(id, secret) => {
                env.push(("PROXMOX_TOKEN_ID".into(), id));
                env.push(("PROXMOX_TOKEN_SECRET".into(), secret));
            }
            Auth::Password => {
                let (user, pass) = sim.root_password();
                env.push(("PROXMOX_USER".into(), user));
                env.push(("PROXMOX_PASSWORD".into(), pass));
            }
        }
        match self.trust {
            Trust::Fingerprint => env.push(("PROXMOX_FINGERPRINT".into(), sim.fingerprint())),
            Trust::CaFile => {
                let p = dir.path().join("sim-ca.pem");
                std::fs::write(&p, sim.cert_pem()).expect("writing CA file");
                env.push(("PROXMOX_CA_FILE".into(), p.display().to_string()));
            }
            Trust::WrongFingerprint(fp) => env.push(("PROXMOX_FINGERPRINT".into(), fp)),
            Trust::None => {}
        }
        env.extend(self.env);
        if let Some(mode) = &self.mode {
            let state = dir.path().join("state");
            std::fs::create_dir_all(&state).expect("creating the state dir");
            std::fs::write(state.join("mode"), format!("{mode}\n")).expect("writing the mode");
        }
        if let Some(toml) = &self.config {
            let text = toml.replace("{dir}", &dir.path().display().to_string());
            std::fs::write(dir.path().join("empty-config.toml"), text).expect("writing config");
        }
        let mcp = Mcp::spawn_with(&binary(), self.protocol, &env, self.human)
            .await
            .unwrap_or_else(|e| panic!("{e:#}"));
        Harness { sim, mcp, dir, env }
    }
}

/// Environment that isolates the server from the host: an empty config file, state and HOME in
/// a temporary directory, logs on stderr, no copy of audit records in the host's journal.
pub fn isolation_env(dir: &Path) -> Vec<(String, String)> {
    let d = |s: &str| dir.join(s).display().to_string();
    // An explicit config file must exist: an empty one means "environment only".
    std::fs::write(dir.join("empty-config.toml"), "").expect("writing the empty config");
    vec![
        ("PROXMOX_MCP_CONFIG".into(), d("empty-config.toml")),
        ("PROXMOX_MCP_STATE_DIR".into(), d("state")),
        ("PROXMOX_MCP_LOG".into(), "warn".into()),
        ("PROXMOX_MCP_JOURNAL_SOCKET".into(), "off".into()),
        ("HOME".into(), d("home")),
        ("XDG_CONFIG_HOME".into(), d("home/.config")),
        ("XDG_STATE_HOME".into(), d("home/.local/state")),
        ("XDG_DATA_HOME".into(), d("home/.local/share")),
    ]
}

/// A sim, the server connected to it, and a client connected to the server.
pub struct Harness {
    pub sim: Sim,
    pub mcp: Mcp,
    pub dir: tempfile::TempDir,
    /// The server's environment, for running the CLI against the same state.
    pub env: Vec<(String, String)>,
}

impl Harness {
    pub fn builder(protocol: Protocol) -> HarnessBuilder {
        HarnessBuilder {
            protocol,
            sim: small_config(),
            auth: Auth::Admin,
            trust: Trust::Fingerprint,
            url: None,
            env: Vec::new(),
            human: Human::Absent,
            mode: None,
            config: None,
        }
    }

    /// Runs the `proxmox-mcp` CLI with the server's environment (same state dir and config).
    pub fn cli(&self, args: &[&str]) -> std::process::Output {
        let mut cmd = std::process::Command::new(binary());
        mcp::scrub_env(&mut cmd);
        cmd.envs(self.env.iter().map(|(k, v)| (k, v)))
            .args(args)
            .stdin(std::process::Stdio::null())
            .output()
            .expect("running the CLI")
    }

    /// Requests that could change the sim (anything but GET) the server made so far.
    pub fn writes(&self) -> Vec<String> {
        self.sim
            .requests()
            .iter()
            .filter(|r| r.method != "GET")
            .map(|r| format!("{} {}", r.method, r.path))
            .collect()
    }

    /// The audit records on disk, oldest first, as JSON.
    pub fn audit(&self) -> Vec<Value> {
        let dir = self.dir.path().join("state/audit");
        let mut files: Vec<_> = std::fs::read_dir(&dir)
            .map(|rd| rd.flatten().map(|e| e.path()).collect())
            .unwrap_or_default();
        files.retain(|p| p.extension().is_some_and(|e| e == "jsonl"));
        files.sort();
        files
            .iter()
            .flat_map(|f| {
                std::fs::read_to_string(f)
                    .unwrap_or_default()
                    .lines()
                    .filter_map(|l| serde_json::from_str(l).ok())
                    .collect::<Vec<Value>>()
            })
            .collect()
    }

    /// The default: a small sim, admin token, fingerprint pinning.
    pub async fn start(protocol: Protocol) -> Harness {
        Harness::builder(protocol).start().await
    }

    pub async fn call(&self, tool: &str, args: Value) -> CallToolResult {
        self.mcp.call(tool, args).await
    }

    /// Calls a tool that must succeed; returns its `structuredContent`.
    pub async fn ok(&self, tool: &str, args: Value) -> Value {
        let what = format!("{tool} {}", truncate(&args.to_string(), 200));
        let r = self.call(tool, args).await;
        r.ok(&what);
        r.structured().clone()
    }

    /// Calls a tool that must fail with `isError`; returns the message.
    pub async fn err(&self, tool: &str, args: Value) -> String {
        let what = format!("{tool} {}", truncate(&args.to_string(), 200));
        self.call(tool, args).await.err(&what)
    }

    /// Closes the client, then checks PVE API conformance and stops the sim.
    pub async fn finish(self) {
        self.mcp.close().await;
        self.sim.finish().await;
    }
}

/// Turns a list result into row objects, whatever its layout: an array of objects, or a
/// columnar `{columns: [...], rows: [[...]]}` table (optionally nested under one key).
pub fn rows(v: &Value) -> Vec<Map<String, Value>> {
    if let Some(a) = v.as_array() {
        return a.iter().filter_map(|x| x.as_object().cloned()).collect();
    }
    let Some(o) = v.as_object() else {
        return Vec::new();
    };
    if let (Some(cols), Some(rs)) = (
        o.get("columns").and_then(Value::as_array),
        o.get("rows").and_then(Value::as_array),
    ) {
        return rs
            .iter()
            .filter_map(Value::as_array)
            .map(|r| {
                cols.iter()
                    .filter_map(Value::as_str)
                    .zip(r.iter())
                    .map(|(c, x)| (c.to_string(), x.clone()))
                    .collect()
            })
            .collect();
    }
    for key in ["vms", "containers", "guests", "items", "nodes", "data"] {
        if let Some(inner) = o.get(key) {
            return rows(inner);
        }
    }
    Vec::new()
}

/// The sorted `vmid`s of rows.
pub fn vmids(rows: &[Map<String, Value>]) -> Vec<u64> {
    let mut v: Vec<u64> = rows
        .iter()
        .filter_map(|r| {
            r.get("vmid")
                .and_then(|x| x.as_u64().or_else(|| x.as_str()?.parse().ok()))
        })
        .collect();
    v.sort_unstable();
    v
}

/// Percent-decodes a request path as recorded by the sim (`UPID%3A…` → `UPID:…`).
pub fn decode_path(p: &str) -> String {
    let b = p.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%'
            && let Some(x) = p
                .get(i + 1..i + 3)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
        {
            out.push(x);
            i += 3;
            continue;
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The tools `tools/list` must not show in read-only mode: fixed-class write tools.
pub fn tools_hidden_in_read_only() -> Vec<String> {
    proxmox_mcp::tools::registry()
        .iter()
        .filter(|t| !t.visible_in(proxmox_mcp::policy::mode::Mode::ReadOnly))
        .map(|t| t.name.to_string())
        .collect()
}

/// Whether `action` of the action tool `tool` is declared read-only in the registry.
pub fn read_action(tool: &str, action: &str) -> bool {
    proxmox_mcp::tools::find(tool).is_some_and(|t| t.read_actions.contains(&action))
}
