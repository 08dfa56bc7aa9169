//! A tiny HTTP/1.1 (optionally TLS) server on 127.0.0.1:0 for client tests: scripted replies, recorded requests.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::Value;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpListener;

use super::{HttpClient, Params, PveError};
use crate::config::{Auth, ClusterConfig, Secret, Timeouts, TlsConfig};

/// A request as the server saw it.
#[derive(Clone, Debug)]
pub struct Req {
    pub method: String,
    /// Path and query, e.g. `/api2/json/cluster/resources?type=vm`.
    pub target: String,
    /// Header names lowercased.
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Req {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn form(&self) -> Vec<(String, String)> {
        serde_urlencoded::from_str(&self.body).unwrap()
    }
}

/// The scripted answer.
pub struct Resp {
    pub status: u16,
    pub reason: String,
    pub body: String,
    pub delay: Duration,
}

impl Resp {
    pub fn ok(data: serde_json::Value) -> Self {
        Resp::new(200, "OK", serde_json::json!({ "data": data }).to_string())
    }

    pub fn new(status: u16, reason: &str, body: impl Into<String>) -> Self {
        Resp {
            status,
            reason: reason.to_owned(),
            body: body.into(),
            delay: Duration::ZERO,
        }
    }

    pub fn delayed(mut self, d: Duration) -> Self {
        self.delay = d;
        self
    }
}

pub type Handler = Arc<dyn Fn(&Req) -> Resp + Send + Sync>;

pub struct TestServer {
    pub url: String,
    pub requests: Arc<Mutex<Vec<Req>>>,
    /// SHA-256 of the served certificate (TLS servers).
    pub fingerprint: Option<String>,
    /// PEM of the CA that signed the served certificate (TLS servers).
    pub ca_pem: Option<String>,
}

impl TestServer {
    pub fn requests(&self) -> Vec<Req> {
        self.requests.lock().unwrap().clone()
    }
}

/// Plain HTTP.
pub async fn serve(handler: impl Fn(&Req) -> Resp + Send + Sync + 'static) -> TestServer {
    start(Arc::new(handler), None).await
}

/// HTTPS with a fresh CA and a leaf for 127.0.0.1/localhost.
pub async fn serve_tls(handler: impl Fn(&Req) -> Resp + Send + Sync + 'static) -> TestServer {
    let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "Test PVE Root CA");
    let ca = rcgen::CertifiedIssuer::self_signed(ca_params, rcgen::KeyPair::generate().unwrap())
        .unwrap();
    let leaf_key = rcgen::KeyPair::generate().unwrap();
    let leaf_params =
        rcgen::CertificateParams::new(vec!["127.0.0.1".to_owned(), "localhost".to_owned()])
            .unwrap();
    let leaf = leaf_params.signed_by(&leaf_key, &ca).unwrap();
    let fingerprint = crate::pve::tls::fingerprint(leaf.der());
    let key = rustls::pki_types::PrivateKeyDer::try_from(leaf_key.serialize_der()).unwrap();
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_no_client_auth()
    .with_single_cert(vec![leaf.der().clone(), ca.der().clone()], key)
    .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let mut server = start(Arc::new(handler), Some(acceptor)).await;
    server.fingerprint = Some(fingerprint);
    server.ca_pem = Some(ca.pem());
    server
}

async fn start(handler: Handler, tls: Option<tokio_rustls::TlsAcceptor>) -> TestServer {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let scheme = if tls.is_some() { "https" } else { "http" };
    let requests = Arc::new(Mutex::new(Vec::new()));
    let log = requests.clone();
    tokio::spawn(async move {
        loop {
            let Ok((tcp, _)) = listener.accept().await else {
                return;
            };
            let handler = handler.clone();
            let log = log.clone();
            let tls = tls.clone();
            tokio::spawn(async move {
                match tls {
                    None => handle(tcp, handler, log).await,
                    Some(acceptor) => {
                        // A client that rejects our certificate aborts the handshake: fine.
                        if let Ok(stream) = acceptor.accept(tcp).await {
                            handle(stream, handler, log).await;
                        }
                    }
                }
            });
        }
    });
    TestServer {
        url: format!("{scheme}://{addr}"),
        requests,
        fingerprint: None,
        ca_pem: None,
    }
}

async fn handle<S: AsyncRead + AsyncWrite + Unpin>(
    mut stream: S,
    handler: Handler,
    log: Arc<Mutex<Vec<Req>>>,
) {
    let mut buf = Vec::new();
    let head_end = loop {
        if let Some(pos) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break pos;
        }
        let mut chunk = [0u8; 4096];
        match stream.read(&mut chunk).await {
            Ok(0) | Err(_) => return,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
    let mut lines = head.split("\r\n");
    let mut first = lines.next().unwrap_or_default().split(' ');
    let method = first.next().unwrap_or_default().to_owned();
    let target = first.next().unwrap_or_default().to_owned();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let len: usize = headers
        .iter()
        .find(|(n, _)| n == "content-length")
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    let mut body = buf[head_end + 4..].to_vec();
    while body.len() < len {
        let mut chunk = [0u8; 4096];
        match stream.read(&mut chunk).await {
            Ok(0) | Err(_) => break,
            Ok(n) => body.extend_from_slice(&chunk[..n]),
        }
    }
    let req = Req {
        method,
        target,
        headers,
        body: String::from_utf8_lossy(&body).to_string(),
    };
    log.lock().unwrap().push(req.clone());
    let resp = handler(&req);
    if !resp.delay.is_zero() {
        tokio::time::sleep(resp.delay).await;
    }
    let out = format!(
        "HTTP/1.1 {} {}\r\nContent-Type: application/json;charset=UTF-8\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{}",
        resp.status,
        resp.reason,
        resp.body.len(),
        resp.body
    );
    let _ = stream.write_all(out.as_bytes()).await;
    let _ = stream.shutdown().await;
}

pub const SECRET: &str = "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee";
pub const PASSWORD: &str = "correct horse battery staple";

pub fn cfg(url: &str, auth: Auth) -> ClusterConfig {
    ClusterConfig {
        name: "test".into(),
        url: url.into(),
        auth,
        tls: TlsConfig::default(),
        timeouts: Timeouts {
            connect: Duration::from_secs(1),
            request: Duration::from_secs(2),
        },
        exec: Default::default(),
        secret_files: Vec::new(),
    }
}

pub fn token() -> Auth {
    Auth::Token {
        id: "mcp@pve!test".into(),
        secret: Secret::new(SECRET),
    }
}

pub fn password() -> Auth {
    Auth::Password {
        user: "root@pam".into(),
        password: Secret::new(PASSWORD),
    }
}

pub fn client(url: &str, auth: Auth) -> HttpClient {
    HttpClient::new(&cfg(url, auth))
        .unwrap()
        .with_retry_delays(vec![Duration::from_millis(1), Duration::from_millis(3)])
}

pub fn params(v: Value) -> Params {
    v.as_object().unwrap().clone()
}

/// No error message may ever contain a secret.
pub fn assert_no_secret(e: &PveError) {
    let text = format!("{e} {e:?}");
    assert!(
        !text.contains(SECRET) && !text.contains(PASSWORD),
        "secret leaked: {text}"
    );
}
