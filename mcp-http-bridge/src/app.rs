//! The HTTP application: `/mcp` behind the guard, `/healthz` and `/readyz` open; and the accept
//! loop (plain or TLS) with a graceful drain.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::State;
use axum::response::IntoResponse;
use axum::routing::get;
use http::StatusCode;
use hyper_util::rt::TokioIo;
use proxmox_mcp_contract::bridge::{READY_METHOD, Readiness};
use rmcp::model::{ClientRequest, CustomRequest, ServerResult};
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tower::ServiceExt as _;

use crate::child::Supervisor;
use crate::forward::Bridge;
use crate::guard::{Guard, MAX_BODY, Remote, mcp_guard};

/// How long a readiness answer is reused (probes do not hit Proxmox more often than this).
const READY_CACHE: Duration = Duration::from_secs(5);
/// How long a drain waits for open requests on shutdown.
const DRAIN: Duration = Duration::from_secs(20);
/// Open connections at most; more wait until one closes.
const MAX_CONNECTIONS: usize = 512;

pub struct AppState {
    pub sup: Arc<Supervisor>,
    /// The last readiness answer. Held across a refresh, so concurrent probes ask the engine
    /// (and Proxmox) once, not once each.
    ready: tokio::sync::Mutex<Option<(Instant, bool, serde_json::Value)>>,
}

pub fn app(sup: Arc<Supervisor>, guard: Arc<Guard>, shutdown: CancellationToken) -> Router {
    let bridge = Bridge {
        sup: sup.clone(),
        call_timeout: guard.settings.call_timeout,
    };
    // Host and Origin are checked (and logged) by the guard, before the token. A call's
    // answer goes back as plain JSON; one that sends progress or asks first gets a stream.
    let config = StreamableHttpServerConfig::default()
        .disable_allowed_hosts()
        .with_json_response(true)
        .with_max_request_body_bytes(MAX_BODY)
        .with_cancellation_token(shutdown.child_token());
    let mcp =
        StreamableHttpService::new(move || Ok(bridge.clone()), guard.sessions.clone(), config);
    let state = Arc::new(AppState {
        sup,
        ready: tokio::sync::Mutex::new(None),
    });
    Router::new()
        .nest_service("/mcp", mcp)
        .layer(axum::middleware::from_fn_with_state(guard, mcp_guard))
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .with_state(state)
}

pub fn session_manager() -> Arc<LocalSessionManager> {
    Arc::new(LocalSessionManager::default())
}

async fn healthz(State(s): State<Arc<AppState>>) -> impl IntoResponse {
    axum::Json(serde_json::json!({
        "status": "ok",
        "version": env!("CARGO_PKG_VERSION"),
        "uptime_secs": s.sup.uptime().as_secs(),
    }))
}

/// 200 when the engine is up and reaches every configured Proxmox cluster; 503 otherwise.
async fn readyz(State(s): State<Arc<AppState>>) -> impl IntoResponse {
    let conn = match s.sup.conn() {
        Ok(c) => c,
        Err(why) => {
            return (
                StatusCode::SERVICE_UNAVAILABLE,
                axum::Json(serde_json::json!({"ready": false, "engine": why})),
            );
        }
    };
    let mut cached = s.ready.lock().await;
    if let Some((at, ok, body)) = cached.clone()
        && at.elapsed() < READY_CACHE
    {
        let code = if ok {
            StatusCode::OK
        } else {
            StatusCode::SERVICE_UNAVAILABLE
        };
        return (code, axum::Json(body));
    }
    let asked = tokio::time::timeout(
        Duration::from_secs(10),
        conn.peer
            .send_request(ClientRequest::CustomRequest(CustomRequest::new(
                READY_METHOD,
                None,
            ))),
    )
    .await;
    let (ok, body) = match asked {
        Ok(Ok(ServerResult::CustomResult(r))) => match serde_json::from_value::<Readiness>(r.0) {
            Ok(r) => (
                r.ready,
                serde_json::json!({"ready": r.ready, "engine": "up", "clusters": r.clusters}),
            ),
            Err(e) => (
                false,
                serde_json::json!({"ready": false, "engine": format!("bad answer: {e}")}),
            ),
        },
        Ok(Ok(_)) => (
            false,
            serde_json::json!({"ready": false, "engine": "unexpected answer"}),
        ),
        Ok(Err(e)) => (
            false,
            serde_json::json!({"ready": false, "engine": e.to_string()}),
        ),
        Err(_) => (
            false,
            serde_json::json!({"ready": false, "engine": "no answer in 10 s"}),
        ),
    };
    *cached = Some((Instant::now(), ok, body.clone()));
    let code = if ok {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (code, axum::Json(body))
}

/// Load a PEM certificate chain and key for HTTPS.
pub fn tls_acceptor(
    cert: &std::path::Path,
    key: &std::path::Path,
) -> Result<tokio_rustls::TlsAcceptor, String> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert)
        .and_then(|i| i.collect::<Result<_, _>>())
        .map_err(|e| format!("{}: {e}", cert.display()))?;
    let key = PrivateKeyDer::from_pem_file(key).map_err(|e| format!("{}: {e}", key.display()))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| format!("TLS certificate/key: {e}"))?;
    Ok(tokio_rustls::TlsAcceptor::from(Arc::new(config)))
}

/// Accept connections until `shutdown`, then let open requests finish (up to [`DRAIN`]).
pub async fn serve(
    listener: TcpListener,
    app: Router,
    tls: Option<tokio_rustls::TlsAcceptor>,
    client_timeout: Duration,
    shutdown: CancellationToken,
) {
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    // HTTP/1.1 only: Streamable HTTP needs nothing more, and it keeps an HTTP/2 stack out of
    // both binaries.
    let mut builder = hyper::server::conn::http1::Builder::new();
    // A client that opens connections and never finishes its headers is cut off.
    builder
        .timer(hyper_util::rt::TokioTimer::new())
        .header_read_timeout(client_timeout);
    let open = Arc::new(tokio::sync::Semaphore::new(MAX_CONNECTIONS));
    loop {
        // At the cap, new connections wait in the listen backlog until one closes.
        let permit = tokio::select! {
            p = open.clone().acquire_owned() => match p {
                Ok(p) => p,
                Err(_) => break,
            },
            _ = shutdown.cancelled() => break,
        };
        let (stream, remote) = tokio::select! {
            r = listener.accept() => match r {
                Ok(x) => x,
                Err(e) => {
                    tracing::warn!("accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            _ = shutdown.cancelled() => break,
        };
        let _ = stream.set_nodelay(true);
        let app = app.clone();
        let service =
            hyper::service::service_fn(move |mut req: http::Request<hyper::body::Incoming>| {
                req.extensions_mut().insert(Remote(remote));
                app.clone().oneshot(req.map(axum::body::Body::new))
            });
        match &tls {
            None => {
                let conn = graceful.watch(builder.serve_connection(TokioIo::new(stream), service));
                tokio::spawn(async move {
                    let _ = conn.await;
                    drop(permit);
                });
            }
            Some(acceptor) => {
                let acceptor = acceptor.clone();
                let builder = builder.clone();
                let watcher = graceful.watcher();
                tokio::spawn(async move {
                    let Ok(Ok(stream)) =
                        tokio::time::timeout(Duration::from_secs(10), acceptor.accept(stream))
                            .await
                    else {
                        return;
                    };
                    let conn = builder.serve_connection(TokioIo::new(stream), service);
                    let _ = watcher.watch(conn).await;
                    drop(permit);
                });
            }
        }
    }
    tracing::info!("draining open requests");
    if tokio::time::timeout(DRAIN, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("requests still open after {DRAIN:?}; closing them");
    }
}
