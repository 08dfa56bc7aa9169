//! The HTTP front: one catch-all handler applying faults, auth, CSRF, schema checks, then routing.

pub mod access;
pub mod agent;
pub mod backup;
pub mod cluster;
pub mod console;
pub mod envelope;
pub mod firewall;
pub mod guest_config;
pub mod guests;
pub mod jobs;
pub mod lifecycle;
pub mod mapping;
pub mod migrate;
pub mod network;
pub mod nodes;
pub mod params;
pub mod power;
pub mod router;
pub mod snapshots;
pub mod storage;
pub mod tasks;
pub mod users;

use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::Duration;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::Method;
use axum::response::Response;
use serde_json::{Map, Value};

use crate::auth::{self, Keys, Presented};
use crate::config::Faults;
use crate::reqlog::{RequestLog, RequestRecord};
use crate::schema::{ApiSchema, Violation};
use crate::state::Cluster;
use crate::state::access::{Identity, Perms};
use crate::state::task::{Effect, TaskSpec};
use crate::util::now_epoch;
use envelope::{ApiResult, PveError};
use params::Params;

/// Maximum request body, like pveproxy.
const MAX_BODY: usize = 512 * 1024;

/// Shared server state.
pub struct App {
    pub cluster: RwLock<Cluster>,
    pub faults: RwLock<Faults>,
    pub schema: Option<Arc<ApiSchema>>,
    pub log: RequestLog,
    pub keys: Keys,
    pub time_scale: f64,
    pub fingerprint: String,
    pub cert_pem: String,
}

impl App {
    pub fn read(&self) -> RwLockReadGuard<'_, Cluster> {
        self.cluster.read().unwrap_or_else(|e| e.into_inner())
    }

    pub fn write(&self) -> RwLockWriteGuard<'_, Cluster> {
        self.cluster.write().unwrap_or_else(|e| e.into_inner())
    }

    pub fn faults(&self) -> Faults {
        self.faults.read().map(|f| f.clone()).unwrap_or_default()
    }
}

/// The axum router: everything goes to one handler.
pub fn router(app: Arc<App>) -> Router {
    Router::new().fallback(handle).with_state(app)
}

/// One request's context, handed to every handler.
pub struct Ctx<'a> {
    pub app: &'a Arc<App>,
    pub method: &'a str,
    /// Path below `/api2/json`, e.g. `/nodes/pve1/status`.
    pub path: &'a str,
    pub params: Params,
    pub who: Identity,
    pub perms: Perms,
    pub now: u64,
}

impl<'a> Ctx<'a> {
    pub fn read(&self) -> RwLockReadGuard<'_, Cluster> {
        self.app.read()
    }

    pub fn write(&self) -> RwLockWriteGuard<'_, Cluster> {
        self.app.write()
    }

    pub fn not_impl(&self) -> PveError {
        PveError::not_implemented(self.method, self.path)
    }

    /// Requires all of `privs` on `path` (403 naming the first missing one).
    pub fn require(&self, path: &str, privs: &[&str]) -> Result<(), PveError> {
        match privs.iter().find(|p| !self.perms.has(path, p)) {
            None => Ok(()),
            Some(p) => Err(PveError::forbidden(path, p)),
        }
    }

    /// Requires any one of `privs` on `path`.
    pub fn require_any(&self, path: &str, privs: &[&str]) -> Result<(), PveError> {
        if self.perms.has_any(path, privs) {
            Ok(())
        } else {
            Err(PveError::forbidden(path, &privs.join("|")))
        }
    }

    /// A guest privilege, also granted through the guest's pool.
    pub fn can_vm(&self, vmid: u32, pool: Option<&str>, privilege: &str) -> bool {
        self.perms.has(&format!("/vms/{vmid}"), privilege)
            || pool.is_some_and(|p| self.perms.has(&format!("/pool/{p}"), privilege))
    }

    pub fn require_vm(
        &self,
        vmid: u32,
        pool: Option<&str>,
        privs: &[&str],
    ) -> Result<(), PveError> {
        match privs.iter().find(|p| !self.can_vm(vmid, pool, p)) {
            None => Ok(()),
            Some(p) => Err(PveError::forbidden(&format!("/vms/{vmid}"), p)),
        }
    }

    pub fn require_vm_any(
        &self,
        vmid: u32,
        pool: Option<&str>,
        privs: &[&str],
    ) -> Result<(), PveError> {
        if privs.iter().any(|p| self.can_vm(vmid, pool, p)) {
            Ok(())
        } else {
            Err(PveError::forbidden(
                &format!("/vms/{vmid}"),
                &privs.join("|"),
            ))
        }
    }

    /// The task owner as it appears in UPIDs (`user@realm` or `user@realm!token`).
    pub fn user_id(&self) -> String {
        self.who.id()
    }

    /// Task duration for a base number of seconds, scaled.
    pub fn scaled(&self, secs: f64) -> Duration {
        Duration::from_secs_f64((secs * self.app.time_scale).max(0.0))
    }

    /// Starts a worker task; the effect is applied when it ends.
    #[allow(clippy::too_many_arguments)] // mirrors the UPID fields; a builder would add noise
    pub fn start_task(
        &self,
        c: &mut Cluster,
        node: &str,
        kind: &str,
        id: &str,
        base_secs: f64,
        log: Vec<String>,
        effect: Option<Effect>,
    ) -> String {
        let duration = self.scaled(base_secs);
        let upid = c.add_task(
            TaskSpec {
                node: node.to_string(),
                kind: kind.to_string(),
                id: id.to_string(),
                user: self.user_id(),
                duration,
                log,
                effect,
            },
            self.now,
        );
        schedule(self.app, c, &upid, duration);
        upid
    }
}

/// Finishes a task now (zero duration) or after `duration`.
pub fn schedule(app: &Arc<App>, c: &mut Cluster, upid: &str, duration: Duration) {
    if duration.is_zero() {
        c.finish_task(upid, now_epoch());
        return;
    }
    let app = Arc::clone(app);
    let upid = upid.to_string();
    tokio::spawn(async move {
        tokio::time::sleep(duration).await;
        app.write().finish_task(&upid, now_epoch());
    });
}

/// The catch-all handler.
async fn handle(State(app): State<Arc<App>>, req: Request) -> Response {
    let started = std::time::Instant::now();
    let faults = app.faults();
    let method = req.method().clone();
    let full_path = req.uri().path().to_string();
    let query = req.uri().query().unwrap_or("").to_string();
    let rel = full_path.strip_prefix("/api2/json").unwrap_or(&full_path);
    if !faults.latency.is_zero() {
        tokio::time::sleep(faults.latency).await;
    }
    if faults.hang_paths.iter().any(|h| {
        !h.is_empty() && (full_path.starts_with(h.as_str()) || rel.starts_with(h.as_str()))
    }) {
        std::future::pending::<()>().await;
    }
    let headers = req.headers().clone();
    let content_type = headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase();
    let body = axum::body::to_bytes(req.into_body(), MAX_BODY).await.ok();
    let mut raw = Map::new();
    params::parse_form(&query, &mut raw);
    let mut who_str = String::new();
    let result = match body {
        None => Err(PveError::new(501, "for data too large")),
        Some(body) => match merge_body(&method, &content_type, &body, &mut raw) {
            Err(e) => Err(e),
            Ok(()) => process(
                &app,
                &faults,
                &method,
                &full_path,
                &headers,
                raw.clone(),
                &mut who_str,
            ),
        },
    };
    let resp = match result {
        Ok(r) => r.into_response(),
        Err(e) => e.into_response(),
    };
    app.log.push(RequestRecord {
        method: method.to_string(),
        path: full_path,
        params: raw,
        status: resp.status().as_u16(),
        auth: who_str,
        duration_us: started.elapsed().as_micros() as u64,
    });
    resp
}

/// Merges a POST/PUT body into the parameters.
fn merge_body(
    method: &Method,
    ct: &str,
    body: &[u8],
    into: &mut Map<String, Value>,
) -> Result<(), PveError> {
    if body.is_empty() {
        return Ok(());
    }
    if *method == Method::GET || *method == Method::DELETE || *method == Method::HEAD {
        return Err(PveError::new(
            501,
            format!("Unexpected content for method '{method}'"),
        ));
    }
    if ct.starts_with("application/json") {
        let v: Value = serde_json::from_slice(body)
            .map_err(|e| PveError::new(400, format!("unable to parse JSON body - {e}")))?;
        match v {
            Value::Object(m) => {
                for (k, v) in m {
                    into.insert(k, v);
                }
                Ok(())
            }
            Value::Null => Ok(()),
            _ => Err(PveError::new(400, "JSON body must be an object")),
        }
    } else if ct.is_empty() || ct.starts_with("application/x-www-form-urlencoded") {
        let text = String::from_utf8_lossy(body);
        params::parse_form(&text, into);
        Ok(())
    } else if ct.starts_with("multipart/form-data") {
        Err(PveError::new(
            501,
            "multipart uploads are not supported by the simulator",
        ))
    } else {
        Err(PveError::new(
            506,
            format!("unsupported content type '{ct}'"),
        ))
    }
}

/// Everything after body parsing: faults, auth, CSRF, schema, proxy check, routing.
fn process(
    app: &Arc<App>,
    faults: &Faults,
    method: &Method,
    full_path: &str,
    headers: &axum::http::HeaderMap,
    raw: Map<String, Value>,
    who_str: &mut String,
) -> ApiResult {
    if faults.error_rate > 0.0 && rand::random::<f64>() < faults.error_rate {
        let status = match faults.error_status {
            0 => 503,
            s => s,
        };
        let reason = axum::http::StatusCode::from_u16(status)
            .ok()
            .and_then(|s| s.canonical_reason())
            .unwrap_or("error");
        return Err(PveError::new(status, format!("injected fault: {reason}")));
    }
    let Some(rel) = full_path.strip_prefix("/api2/json") else {
        return Err(PveError::new(501, "no such uri"));
    };
    let rel = if rel.is_empty() { "/" } else { rel };
    let m = method.as_str();
    let now = now_epoch();
    let public = (rel == "/access/ticket" && (m == "POST" || m == "GET"))
        || (rel == "/access/domains" && m == "GET");
    let params = Params(raw);
    if public {
        let ctx_who = Identity::User(String::new());
        let perms = app.read().access.perms(&ctx_who);
        let ctx = Ctx {
            app,
            method: m,
            path: rel,
            params,
            who: ctx_who,
            perms,
            now,
        };
        check_schema(app, m, rel, &ctx.params)?;
        return router::dispatch(&ctx);
    }
    let (who, via_ticket) = authenticate(app, headers, now)?;
    *who_str = who.id();
    if via_ticket && m != "GET" && m != "HEAD" {
        let token = headers
            .get("csrfpreventiontoken")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        if !app.keys.verify_csrf(token, who.userid(), now) {
            return Err(PveError::unauthorized(
                "Permission denied - invalid csrf token",
            ));
        }
    }
    if matches!(who, Identity::Token { .. })
        && ((rel == "/access/password" && m == "PUT")
            || (rel.starts_with("/access/tfa") && m != "GET"))
    {
        return Err(PveError::forbidden_msg(&format!(
            "URI '{rel}' not available with API token, need proper ticket."
        )));
    }
    check_schema(app, m, rel, &params)?;
    let perms = app.read().access.perms(&who);
    let ctx = Ctx {
        app,
        method: m,
        path: rel,
        params,
        who,
        perms,
        now,
    };
    router::dispatch(&ctx)
}

fn check_schema(app: &App, m: &str, rel: &str, params: &Params) -> Result<(), PveError> {
    let Some(schema) = &app.schema else {
        return Ok(());
    };
    match schema.check(m, rel, &params.0) {
        Ok(()) => Ok(()),
        Err(Violation::UnknownPath(_)) | Err(Violation::UnknownMethod(_)) => {
            Err(PveError::not_implemented(m, rel))
        }
        Err(Violation::InvalidParams(errs)) => Err(PveError::params(errs)),
    }
}

/// Resolves the caller, or fails with 401.
fn authenticate(
    app: &App,
    headers: &axum::http::HeaderMap,
    now: u64,
) -> Result<(Identity, bool), PveError> {
    match auth::presented(headers) {
        Presented::Nothing => Err(PveError::unauthorized("No ticket")),
        Presented::Token { id, secret } => app
            .read()
            .access
            .authenticate_token(&id, &secret, now)
            .map(|w| (w, false))
            .ok_or_else(|| PveError::unauthorized("Authentication failed!")),
        Presented::Ticket(t) => {
            let user = app
                .keys
                .verify_ticket(&t, now)
                .ok_or_else(|| PveError::unauthorized("Authentication failed!"))?;
            let c = app.read();
            match c.access.users.get(&user) {
                Some(u) if u.enable => Ok((Identity::User(user), true)),
                _ => Err(PveError::unauthorized("Authentication failed!")),
            }
        }
    }
}
