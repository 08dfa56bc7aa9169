//! What a request must pass before it reaches MCP: an accepted `Host` and `Origin` (403), a
//! current bearer token (401), the token's rate and concurrency (429), and for a new legacy
//! session the session cap (503). A legacy session stays bound to the token that opened it.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http::{HeaderMap, StatusCode, header};
use proxmox_mcp_contract::bridge::Caller;
use proxmox_mcp_contract::env;
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use tokio::sync::Semaphore;

use crate::cli::{LOOPBACK_HOSTS, Settings};
use crate::tokens::Verifier;

/// The largest request body accepted (413 above).
pub const MAX_BODY: usize = 4 * 1024 * 1024;
const SESSION_HEADER: &str = "mcp-session-id";

/// The peer address of the connection, set by the accept loop.
#[derive(Debug, Clone, Copy)]
pub struct Remote(pub SocketAddr);

struct Bucket {
    tokens: f64,
    at: Instant,
}

pub struct Guard {
    pub settings: Arc<Settings>,
    pub verifier: Option<Verifier>,
    pub sessions: Arc<LocalSessionManager>,
    buckets: Mutex<HashMap<String, Bucket>>,
    inflight: Mutex<HashMap<String, Arc<Semaphore>>>,
    /// Legacy session id → the token that opened it.
    owners: Mutex<HashMap<String, String>>,
}

fn refuse(status: StatusCode, msg: &str) -> Response {
    let body = serde_json::json!({
        "jsonrpc": "2.0",
        "id": null,
        "error": { "code": -32000, "message": msg },
    });
    let mut r = (status, axum::Json(body)).into_response();
    if status == StatusCode::UNAUTHORIZED {
        r.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            http::HeaderValue::from_static("Bearer realm=\"proxmox-mcp\""),
        );
    }
    r
}

/// `host[:port]` without the port, lowercase (`[::1]:3001` → `[::1]`). Anything after the
/// name but a port (`[::1]evil`, `localhost:evil`) leaves the value whole, so it matches no
/// allowed name.
fn host_only(h: &str) -> String {
    let h = h.trim().to_ascii_lowercase();
    let port_ok = |p: &str| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit());
    let name = if h.starts_with('[') {
        h.split_once(']').and_then(|(a, rest)| {
            (rest.is_empty() || rest.strip_prefix(':').is_some_and(port_ok))
                .then(|| format!("{a}]"))
        })
    } else {
        match h.rsplit_once(':') {
            None => Some(h.clone()),
            Some((a, p)) => port_ok(p).then(|| a.to_string()),
        }
    };
    name.unwrap_or(h)
}

/// A header value as it may appear in the log: at most 100 characters.
fn clip(v: &str) -> String {
    match v.char_indices().nth(100) {
        Some((i, _)) => format!("{}…", &v[..i]),
        None => v.to_string(),
    }
}

/// Whether `origin` (`scheme://host[:port]`) is loopback or in the list.
pub fn origin_allowed(origin: &str, allowed: &[String]) -> bool {
    let o = origin.trim().to_ascii_lowercase();
    let Some((scheme, rest)) = o.split_once("://") else {
        return false;
    };
    if !matches!(scheme, "http" | "https") || rest.contains('/') {
        return false;
    }
    if LOOPBACK_HOSTS.contains(&host_only(rest).as_str()) {
        return true;
    }
    allowed.iter().any(|a| {
        if let Some(prefix) = a.strip_suffix(":*") {
            o == prefix
                || o.strip_prefix(prefix).is_some_and(|p| {
                    p.strip_prefix(':').is_some_and(|port| {
                        !port.is_empty() && port.bytes().all(|b| b.is_ascii_digit())
                    })
                })
        } else {
            *a == o
        }
    })
}

impl Guard {
    pub fn new(
        settings: Arc<Settings>,
        verifier: Option<Verifier>,
        sessions: Arc<LocalSessionManager>,
    ) -> Self {
        Guard {
            settings,
            verifier,
            sessions,
            buckets: Mutex::new(HashMap::new()),
            inflight: Mutex::new(HashMap::new()),
            owners: Mutex::new(HashMap::new()),
        }
    }

    /// 403 unless Host and Origin are acceptable.
    // The error is the response itself, built once per refused request.
    #[allow(clippy::result_large_err)]
    fn check_host_origin(&self, headers: &HeaderMap, uri: &http::Uri) -> Result<(), Response> {
        if headers.get_all(header::HOST).iter().nth(1).is_some() {
            return Err(refuse(
                StatusCode::FORBIDDEN,
                "Forbidden: more than one Host header",
            ));
        }
        let host = headers
            .get(header::HOST)
            .and_then(|h| h.to_str().ok())
            .map(str::to_string)
            .or_else(|| uri.authority().map(|a| a.to_string()));
        let Some(host) = host else {
            return Err(refuse(StatusCode::FORBIDDEN, "Forbidden: no Host header"));
        };
        let name = host_only(&host);
        if !LOOPBACK_HOSTS.contains(&name.as_str()) && !self.settings.allowed_hosts.contains(&name)
        {
            tracing::warn!(
                "refused a request for Host {:?}: add {} to {} (--allowed-hosts) if clients \
                 reach the bridge by that name",
                clip(&host),
                clip(&name),
                env::BRIDGE_ALLOWED_HOSTS
            );
            return Err(refuse(
                StatusCode::FORBIDDEN,
                "Forbidden: Host header is not allowed",
            ));
        }
        let origins: Vec<_> = headers.get_all(header::ORIGIN).iter().collect();
        if origins.len() > 1 {
            tracing::warn!("refused a request with {} Origin headers", origins.len());
            return Err(refuse(
                StatusCode::FORBIDDEN,
                "Forbidden: more than one Origin header",
            ));
        }
        if let Some(o) = origins.first() {
            let o = o.to_str().unwrap_or("");
            if !origin_allowed(o, &self.settings.allowed_origins) {
                tracing::warn!(
                    "refused a request from Origin {:?}: add it to {} (--allowed-origins) if \
                     that web page may use the bridge",
                    clip(o),
                    env::BRIDGE_ALLOWED_ORIGINS
                );
                return Err(refuse(
                    StatusCode::FORBIDDEN,
                    "Forbidden: Origin header is not allowed",
                ));
            }
        }
        Ok(())
    }

    /// The token's name, or 401.
    #[allow(clippy::result_large_err)]
    fn authenticate(&self, headers: &HeaderMap, uri: &http::Uri) -> Result<String, Response> {
        let Some(verifier) = &self.verifier else {
            return Ok("anonymous".into());
        };
        if uri
            .query()
            .is_some_and(|q| q.to_ascii_lowercase().contains("token") || q.contains("auth"))
        {
            return Err(refuse(
                StatusCode::UNAUTHORIZED,
                "tokens are never accepted in the URL: send Authorization: Bearer <token>",
            ));
        }
        let presented = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| {
                let (scheme, rest) = v.trim().split_once(' ')?;
                scheme.eq_ignore_ascii_case("bearer").then(|| rest.trim())
            });
        match presented.and_then(|t| verifier.verify(t)) {
            Some(name) => Ok(name),
            None => Err(refuse(
                StatusCode::UNAUTHORIZED,
                "missing or invalid bearer token (Authorization: Bearer <token>)",
            )),
        }
    }

    fn take_rate(&self, token: &str) -> bool {
        let mut buckets = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        let burst = f64::from(self.settings.burst);
        let now = Instant::now();
        let b = buckets.entry(token.to_string()).or_insert(Bucket {
            tokens: burst,
            at: now,
        });
        b.tokens =
            (b.tokens + now.duration_since(b.at).as_secs_f64() * self.settings.rate).min(burst);
        b.at = now;
        if b.tokens >= 1.0 {
            b.tokens -= 1.0;
            true
        } else {
            false
        }
    }

    fn semaphore(&self, token: &str) -> Arc<Semaphore> {
        let mut m = self.inflight.lock().unwrap_or_else(|e| e.into_inner());
        m.entry(token.to_string())
            .or_insert_with(|| Arc::new(Semaphore::new(self.settings.max_concurrent as usize)))
            .clone()
    }
}

/// Whether a body is a legacy `initialize` request (it opens a session). Only a body that
/// names the method (literally, or behind a JSON escape) is parsed, and then only its `method`.
fn is_initialize(body: &[u8]) -> bool {
    #[derive(serde::Deserialize)]
    struct Method<'a> {
        #[serde(borrow)]
        method: Option<std::borrow::Cow<'a, str>>,
    }
    let named = body.windows(10).any(|w| w == b"initialize") || body.contains(&b'\\');
    named
        && serde_json::from_slice::<Method>(body)
            .ok()
            .is_some_and(|m| m.method.as_deref() == Some("initialize"))
}

/// The middleware in front of `/mcp`.
pub async fn mcp_guard(State(guard): State<Arc<Guard>>, req: Request, next: Next) -> Response {
    if let Err(r) = guard.check_host_origin(req.headers(), req.uri()) {
        return r;
    }
    let token = match guard.authenticate(req.headers(), req.uri()) {
        Ok(t) => t,
        Err(r) => return r,
    };
    if !guard.take_rate(&token) {
        let mut r = refuse(
            StatusCode::TOO_MANY_REQUESTS,
            "rate limit reached for this token; slow down",
        );
        r.headers_mut()
            .insert(header::RETRY_AFTER, http::HeaderValue::from_static("1"));
        return r;
    }
    let Ok(permit) = guard.semaphore(&token).try_acquire_owned() else {
        let mut r = refuse(
            StatusCode::TOO_MANY_REQUESTS,
            "too many requests in flight for this token",
        );
        r.headers_mut()
            .insert(header::RETRY_AFTER, http::HeaderValue::from_static("1"));
        return r;
    };
    // A legacy session belongs to the token that opened it.
    let session = req
        .headers()
        .get(SESSION_HEADER)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    if let Some(id) = &session {
        let owners = guard.owners.lock().unwrap_or_else(|e| e.into_inner());
        if owners.get(id).is_some_and(|owner| *owner != token) {
            return refuse(StatusCode::NOT_FOUND, "Not Found: unknown session");
        }
    }
    let remote = req.extensions().get::<Remote>().map(|r| r.0.to_string());
    let (mut parts, body) = req.into_parts();
    // New legacy sessions are capped: look at POSTs that carry no session.
    let body = if parts.method == http::Method::POST && session.is_none() {
        let read = tokio::time::timeout(
            guard.settings.client_timeout,
            axum::body::to_bytes(body, MAX_BODY),
        );
        let bytes = match read.await {
            Ok(Ok(b)) => b,
            Err(_) => {
                let mut r = refuse(
                    StatusCode::REQUEST_TIMEOUT,
                    "the request body did not arrive in time",
                );
                r.headers_mut()
                    .insert(header::CONNECTION, http::HeaderValue::from_static("close"));
                return r;
            }
            Ok(Err(_)) => {
                // The rest of the body is not read: the connection cannot carry another request.
                let mut r = refuse(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "request body larger than 4 MiB",
                );
                r.headers_mut()
                    .insert(header::CONNECTION, http::HeaderValue::from_static("close"));
                return r;
            }
        };
        if is_initialize(&bytes)
            && guard.sessions.sessions.read().await.len() >= guard.settings.max_sessions
        {
            tracing::warn!(
                "refused a new session: {} are open ({})",
                guard.settings.max_sessions,
                env::BRIDGE_MAX_SESSIONS
            );
            return refuse(
                StatusCode::SERVICE_UNAVAILABLE,
                "too many open sessions; close one (DELETE) or retry later",
            );
        }
        Body::from(bytes)
    } else {
        body
    };
    parts.extensions.insert(Caller {
        token: token.clone(),
        remote,
        client_name: None,
        client_version: None,
    });
    let mut response = next.run(Request::from_parts(parts, body)).await;
    if let Some(id) = response
        .headers()
        .get(SESSION_HEADER)
        .and_then(|v| v.to_str().ok())
    {
        let mut owners = guard.owners.lock().unwrap_or_else(|e| e.into_inner());
        if owners.len() > guard.settings.max_sessions * 4 {
            // Forget owners of sessions that have ended.
            if let Ok(live) = guard.sessions.sessions.try_read() {
                owners.retain(|k, _| live.keys().any(|s| s.as_ref() == k.as_str()));
            }
        }
        owners.insert(id.to_string(), token);
    }
    // The permit is released when the response body (an SSE stream) ends.
    let (parts, body) = response.into_parts();
    response = Response::from_parts(
        parts,
        Body::new(Held {
            body,
            _permit: permit,
        }),
    );
    response
}

/// A body that holds a concurrency permit until it is dropped.
struct Held {
    body: Body,
    _permit: tokio::sync::OwnedSemaphorePermit,
}

impl http_body::Body for Held {
    type Data = bytes::Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<http_body::Frame<Self::Data>, Self::Error>>> {
        std::pin::Pin::new(&mut self.body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.body.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins() {
        let allowed = vec![
            "https://mcp.lan".to_string(),
            "http://pve.lan:*".to_string(),
        ];
        let check = |o: &str, want: bool| assert_eq!(origin_allowed(o, &allowed), want, "{o}");
        check("http://localhost:5173", true);
        check("http://127.0.0.1", true);
        check("http://[::1]:8080", true);
        check("https://mcp.lan", true);
        check("https://mcp.lan:444", false);
        check("http://pve.lan:3001", true);
        check("http://pve.lan", true);
        check("http://pve.lan.evil.com", false);
        check("http://pve.lan:80x", false);
        check("null", false);
        check("https://evil.example", false);
        check("http://localhost.evil.com", false);
    }

    #[test]
    fn hosts() {
        assert_eq!(host_only("LOCALHOST:3001"), "localhost");
        assert_eq!(host_only("[::1]:3001"), "[::1]");
        assert_eq!(host_only("127.0.0.1"), "127.0.0.1");
        assert_eq!(host_only("pve.lan:3001"), "pve.lan");
        for junk in [
            "[::1]evil.com",
            "[::1]@evil.com:80",
            "localhost:evil",
            "127.0.0.1:",
        ] {
            assert_eq!(host_only(junk), junk, "{junk}");
        }
        assert!(!origin_allowed("http://[::1]evil.com", &[]));
        assert!(!origin_allowed("http://localhost:evil", &[]));
        assert!(is_initialize(
            br#"{"jsonrpc":"2.0","id":1,"method":"initialize"}"#
        ));
        assert!(is_initialize(
            br#"{"jsonrpc":"2.0","id":1,"method":"\u0069nitialize"}"#
        ));
        assert!(!is_initialize(
            br#"{"jsonrpc":"2.0","id":1,"method":"tools/list"}"#
        ));
        assert!(!is_initialize(b"initialize"));
    }
}
