//! The simulated cluster side of a test: a `pve-sim` on 127.0.0.1, a direct admin client for
//! arranging state, and the schema conformance check run on every request it served.

use std::{
    path::PathBuf,
    sync::{Arc, OnceLock},
    time::Duration,
};

use anyhow::{Context as _, bail};
use pve_sim::{SimConfig, SimHandle, schema::ApiSchema};
use serde_json::{Map, Value};

use crate::workspace_root;

/// Where the PVE API schema lives: `E2E_API_SCHEMA`, else `../shared/pve/api-schema.json`
/// next to the workspace.
pub fn schema_path() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("E2E_API_SCHEMA") {
        return Some(PathBuf::from(p)).filter(|p| p.is_file());
    }
    let p = workspace_root().join("../shared/pve/api-schema.json");
    p.is_file().then_some(p)
}

/// The schema, loaded once per test binary. `None` (with a notice on stderr) when absent.
pub fn schema() -> Option<Arc<ApiSchema>> {
    static SCHEMA: OnceLock<Option<Arc<ApiSchema>>> = OnceLock::new();
    SCHEMA
        .get_or_init(|| match schema_path() {
            Some(p) => {
                Some(Arc::new(ApiSchema::load(&p).unwrap_or_else(|e| {
                    panic!("loading {}: {e:#}", p.display())
                })))
            }
            None => {
                eprintln!(
                    "NOTICE: ../shared/pve/api-schema.json not found (set E2E_API_SCHEMA); \
                     PVE API conformance checks are SKIPPED"
                );
                None
            }
        })
        .clone()
}

/// A small simulated cluster that the suites can afford to start once per test.
pub fn small_config() -> SimConfig {
    SimConfig {
        nodes: 3,
        vms: 12,
        cts: 6,
        seed: 7,
        time_scale: 0.01,
        schema: schema_path(),
        ..SimConfig::default()
    }
}

/// A running simulator. Dropping or [`Sim::finish`]ing it checks every request it served
/// against the PVE API schema and fails the test on an unknown path or invalid parameter.
pub struct Sim {
    handle: Option<SimHandle>,
    checked: bool,
}

impl Sim {
    pub async fn start(cfg: SimConfig) -> Sim {
        crate::init_crypto();
        assert!(cfg.bind.ip().is_loopback(), "tests only talk to 127.0.0.1");
        let handle = pve_sim::start(cfg).await.expect("starting pve-sim");
        Sim {
            handle: Some(handle),
            checked: false,
        }
    }

    pub async fn small() -> Sim {
        Sim::start(small_config()).await
    }

    pub fn handle(&self) -> &SimHandle {
        self.handle.as_ref().expect("sim already shut down")
    }

    /// A direct client with the sim's admin token, for arranging and inspecting state.
    pub fn api(&self) -> ApiClient {
        let c = self.handle().admin();
        ApiClient::new(
            &self.handle().url(),
            &format!("PVEAPIToken={}={}", c.token_id, c.secret),
        )
    }

    /// Every request the sim served that violates the schema, rendered for a failure message.
    pub fn violations(&self) -> Vec<String> {
        let Some(schema) = schema() else {
            return Vec::new();
        };
        violations(&schema, &self.handle().requests())
    }

    /// Fails the test when any request so far is not conformant.
    pub fn assert_conformant(&self) {
        let v = self.violations();
        assert!(
            v.is_empty(),
            "{} PVE request(s) do not conform to api-schema.json:\n  {}",
            v.len(),
            v.join("\n  ")
        );
    }

    /// Checks conformance, then shuts the sim down.
    pub async fn finish(mut self) {
        self.checked = true;
        self.assert_conformant();
        if let Some(h) = self.handle.take() {
            h.shutdown().await;
        }
    }
}

impl std::ops::Deref for Sim {
    type Target = SimHandle;
    fn deref(&self) -> &SimHandle {
        self.handle()
    }
}

impl Drop for Sim {
    fn drop(&mut self) {
        if !self.checked && self.handle.is_some() && !std::thread::panicking() {
            self.checked = true;
            self.assert_conformant();
        }
    }
}

/// Checks recorded requests against the schema; one line per violation.
pub fn violations(schema: &ApiSchema, requests: &[pve_sim::RequestRecord]) -> Vec<String> {
    let mut out = Vec::new();
    for r in requests {
        let Some(rel) = r.path.strip_prefix("/api2/json") else {
            out.push(format!("{} {}: outside /api2/json", r.method, r.path));
            continue;
        };
        let rel = if rel.is_empty() { "/" } else { rel };
        if let Err(v) = schema.check(&r.method, rel, &r.params) {
            out.push(format!(
                "{} {} {}: {}",
                r.method,
                r.path,
                Value::Object(r.params.clone()),
                describe(&v)
            ));
        }
    }
    out
}

fn describe(v: &pve_sim::schema::Violation) -> String {
    use pve_sim::schema::Violation::*;
    match v {
        UnknownPath(p) => format!("unknown path {p}"),
        UnknownMethod(m) => format!("unknown method {m}"),
        InvalidParams(errs) => format!(
            "invalid parameters: {}",
            errs.iter()
                .map(|(k, e)| format!("{k}: {e}"))
                .collect::<Vec<_>>()
                .join("; ")
        ),
    }
}

/// A bare reqwest client for the sim's API (admin token, loopback only).
#[derive(Clone)]
pub struct ApiClient {
    http: reqwest::Client,
    base: String,
    auth: String,
}

impl ApiClient {
    pub fn new(url: &str, auth: &str) -> ApiClient {
        crate::init_crypto();
        let http = reqwest::Client::builder()
            // The sim's certificate is self-signed; this client only ever talks to it.
            .tls_danger_accept_invalid_certs(true)
            .timeout(Duration::from_secs(30))
            .build()
            .expect("building reqwest client");
        ApiClient {
            http,
            base: format!("{}/api2/json", url.trim_end_matches('/')),
            auth: auth.to_string(),
        }
    }

    /// `GET`, returning `data` from the envelope.
    pub async fn get(&self, path: &str) -> anyhow::Result<Value> {
        self.get_query(path, &[]).await
    }

    pub async fn get_query(&self, path: &str, query: &[(&str, &str)]) -> anyhow::Result<Value> {
        let req = self
            .http
            .get(format!("{}{path}", self.base))
            .query(query)
            .header("Authorization", &self.auth);
        Self::data(req.send().await.with_context(|| format!("GET {path}"))?).await
    }

    /// The raw body of a `GET`, for size and latency comparisons.
    pub async fn get_bytes(&self, path: &str) -> anyhow::Result<Vec<u8>> {
        let resp = self
            .http
            .get(format!("{}{path}", self.base))
            .header("Authorization", &self.auth)
            .send()
            .await?
            .error_for_status()?;
        Ok(resp.bytes().await?.to_vec())
    }

    /// Form-encoded `POST`, returning `data` (a UPID for worker calls).
    pub async fn post(&self, path: &str, form: &[(&str, &str)]) -> anyhow::Result<Value> {
        let req = self
            .http
            .post(format!("{}{path}", self.base))
            .form(form)
            .header("Authorization", &self.auth);
        Self::data(req.send().await.with_context(|| format!("POST {path}"))?).await
    }

    /// Form-encoded `PUT`, returning `data`.
    pub async fn put(&self, path: &str, form: &[(&str, &str)]) -> anyhow::Result<Value> {
        let req = self
            .http
            .put(format!("{}{path}", self.base))
            .form(form)
            .header("Authorization", &self.auth);
        Self::data(req.send().await.with_context(|| format!("PUT {path}"))?).await
    }

    async fn data(resp: reqwest::Response) -> anyhow::Result<Value> {
        let status = resp.status();
        let body: Value = resp.json().await.unwrap_or(Value::Null);
        if !status.is_success() {
            bail!("HTTP {status}: {body}");
        }
        Ok(body.get("data").cloned().unwrap_or(Value::Null))
    }
}

/// The sim's guests, from its own `/cluster/resources` (ground truth for list tools).
pub async fn guests(api: &ApiClient, kind: &str) -> Vec<Map<String, Value>> {
    let all = api
        .get_query("/cluster/resources", &[("type", "vm")])
        .await
        .expect("sim /cluster/resources");
    let mut v: Vec<Map<String, Value>> = all
        .as_array()
        .expect("resources is an array")
        .iter()
        .filter_map(|e| e.as_object())
        .filter(|e| e.get("type").and_then(Value::as_str) == Some(kind))
        .cloned()
        .collect();
    v.sort_by_key(|e| e.get("vmid").and_then(Value::as_u64));
    v
}

/// Whether `path` (as the sim logs it) is one of the reads the server makes to learn who it
/// is on the cluster before judging a call that may change something: its node
/// (`/cluster/status`), its groups (`/access/users/{own}`) and its roles
/// (`/access/permissions`, `/access/acl`).
pub fn identity_lookup(path: &str) -> bool {
    let p = path.strip_prefix("/api2/json").unwrap_or(path);
    matches!(p, "/cluster/status" | "/access/permissions" | "/access/acl")
        || p.strip_prefix("/access/users/")
            .is_some_and(|u| !u.is_empty() && !u.contains('/'))
}
