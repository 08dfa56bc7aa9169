//! The `PveApi` trait and `HttpClient`, its reqwest implementation (auth, TLS, timeouts, safe retries).

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures::future::BoxFuture;
use reqwest::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, COOKIE, HeaderValue};
use serde_json::Value;

use crate::config::{Auth, ClusterConfig, Secret, Timeouts};

use super::auth::{self, Ticket};
use super::envelope::{self, Context};
use super::error::PveError;
use super::params;
use super::request::{Method, Params};
use super::tls::{self, Presented};

impl Method {
    fn to_reqwest(self) -> reqwest::Method {
        match self {
            Method::Get => reqwest::Method::GET,
            Method::Post => reqwest::Method::POST,
            Method::Put => reqwest::Method::PUT,
            Method::Delete => reqwest::Method::DELETE,
        }
    }

    /// Whether parameters travel in a form body (POST/PUT) rather than the query string.
    fn has_body(self) -> bool {
        matches!(self, Method::Post | Method::Put)
    }
}

/// How a connect-timeout detail starts (such failures are not retried).
const CONNECT_TIMEOUT: &str = "no connection within";

/// Whether a failed request may be sent again.
fn retryable(method: Method, err: &PveError) -> bool {
    match err {
        // Never reached the server: safe for any method. A silent host is not retried, so an
        // unreachable cluster fails within one connect timeout.
        PveError::Connect { detail, .. } => !detail.starts_with(CONNECT_TIMEOUT),
        // Overloaded/bad gateway: only reads may be repeated.
        PveError::Api {
            status: 502 | 503, ..
        } => method == Method::Get,
        _ => false,
    }
}

#[cfg(test)]
#[test]
fn retry_rules() {
    let connect = |detail: &str| PveError::Connect {
        url: "https://pve:8006".into(),
        detail: detail.into(),
    };
    let api = |status| PveError::Api {
        status,
        message: String::new(),
    };
    for (method, err, want) in [
        (Method::Post, connect("connection refused"), true),
        (Method::Get, connect("connection refused"), true),
        (
            Method::Get,
            connect(&format!("{CONNECT_TIMEOUT} the 5 s connect timeout")),
            false,
        ),
        (Method::Get, api(503), true),
        (Method::Get, api(502), true),
        (Method::Post, api(503), false),
        (Method::Get, api(500), false),
        (
            Method::Get,
            PveError::Timeout {
                url: String::new(),
                may_have_reached: true,
            },
            false,
        ),
    ] {
        assert_eq!(retryable(method, &err), want, "{method} {err}");
    }
}

/// Something that answers Proxmox VE API calls: the real HTTP client, or a test double.
pub trait PveApi: Send + Sync + 'static {
    /// `path` is relative to /api2/json and starts with '/'. Returns the envelope's `data` member.
    fn call<'a>(
        &'a self,
        method: Method,
        path: &'a str,
        params: &'a Params,
    ) -> BoxFuture<'a, Result<Value, PveError>>;

    /// The raw body of a successful response (`{"data": …}`), for callers that decode it
    /// straight into their own types. The default re-encodes what [`PveApi::call`] returns.
    fn call_raw<'a>(
        &'a self,
        method: Method,
        path: &'a str,
        params: &'a Params,
    ) -> BoxFuture<'a, Result<Bytes, PveError>> {
        Box::pin(async move {
            let data = self.call(method, path, params).await?;
            let body = serde_json::to_vec(&serde_json::json!({ "data": data })).map_err(|e| {
                PveError::Decode {
                    message: e.to_string(),
                }
            })?;
            Ok(Bytes::from(body))
        })
    }

    /// Base URL, e.g. "https://pve1:8006" (for messages).
    fn base_url(&self) -> &str;
}

enum Credentials {
    Token {
        header: Secret,
    },
    Password {
        user: String,
        password: Secret,
        ticket: tokio::sync::Mutex<Option<Ticket>>,
    },
}

/// The reqwest-based client for one cluster.
pub struct HttpClient {
    base_url: String,
    api_root: String,
    http: reqwest::Client,
    creds: Credentials,
    who: String,
    presented: Arc<Presented>,
    timeouts: Timeouts,
    retry_delays: Vec<Duration>,
}

impl fmt::Debug for HttpClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpClient")
            .field("base_url", &self.base_url)
            .field("who", &self.who)
            .finish_non_exhaustive()
    }
}

/// Normalise the configured URL: `https://host:8006`, no trailing slash, no `/api2/json`.
fn normalise_base_url(raw: &str) -> Result<String, PveError> {
    let trimmed = raw.trim().trim_end_matches('/');
    let trimmed = trimmed.strip_suffix("/api2/json").unwrap_or(trimmed);
    let bad = |why: &str| {
        PveError::Config(format!(
            "Proxmox URL '{raw}' is invalid: {why}. Use the form https://HOST:8006 (the node's \
             hostname or IP, port 8006)"
        ))
    };
    let url = url::Url::parse(trimmed).map_err(|e| bad(&e.to_string()))?;
    match url.scheme() {
        "https" => {}
        "http" => tracing::warn!(
            url = trimmed,
            "the Proxmox URL uses plain http: credentials travel unencrypted (pveproxy itself only \
             speaks https on port 8006)"
        ),
        _ => return Err(bad("the scheme must be https://")),
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(bad("it has no host"));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(bad("it must not contain '?' or '#'"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(bad(
            "credentials do not belong in the URL; configure a token instead",
        ));
    }
    Ok(trimmed.to_owned())
}

impl HttpClient {
    /// Build a client for `cfg`. Nothing is sent yet: a password login happens on the first call.
    pub fn new(cfg: &ClusterConfig) -> Result<Self, PveError> {
        let base_url = normalise_base_url(&cfg.url)?;
        let creds = match &cfg.auth {
            Auth::Token { id, secret } => {
                auth::validate_token_id(id)?;
                auth::validate_token_secret(secret)?;
                let header = Secret::new(auth::token_header(id, secret));
                HeaderValue::from_str(header.expose()).map_err(|_| {
                    PveError::Config("the API token id or secret contains characters not allowed in an HTTP header".into())
                })?;
                Credentials::Token { header }
            }
            Auth::Password { user, password } => {
                auth::validate_user_id(user)?;
                if password.is_empty() {
                    return Err(PveError::Config(format!(
                        "the password for {user} is empty"
                    )));
                }
                Credentials::Password {
                    user: user.clone(),
                    password: password.clone(),
                    ticket: tokio::sync::Mutex::new(None),
                }
            }
        };
        let (tls_config, presented) = tls::client_config(&cfg.tls, &base_url)?;
        let http = reqwest::Client::builder()
            .tls_backend_preconfigured(tls_config)
            .connect_timeout(cfg.timeouts.connect)
            .timeout(cfg.timeouts.request)
            .http1_only()
            // An idle connection keeps its read buffer (up to ~400 KiB after a large listing):
            // keep one. A fan-out still reuses it (each request takes the connection the
            // previous one just returned); only the surplus of a burst is closed.
            .pool_max_idle_per_host(1)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("proxmox-mcp/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| PveError::Config(format!("cannot build the HTTP client: {e}")))?;
        Ok(HttpClient {
            who: auth::describe(&cfg.auth),
            api_root: format!("{base_url}/api2/json"),
            base_url,
            http,
            creds,
            presented,
            timeouts: cfg.timeouts,
            retry_delays: vec![Duration::from_millis(100), Duration::from_millis(300)],
        })
    }

    /// Replace the pauses between tries of a retryable GET (default 100 ms, 300 ms: 3 tries).
    pub fn with_retry_delays(mut self, delays: Vec<Duration>) -> Self {
        self.retry_delays = delays;
        self
    }

    /// Who we authenticate as, for messages ("API token mcp@pve!x"); never a secret.
    pub fn who(&self) -> &str {
        &self.who
    }

    fn is_token(&self) -> bool {
        matches!(self.creds, Credentials::Token { .. })
    }

    async fn call_inner(
        &self,
        method: Method,
        path: &str,
        params: &Params,
    ) -> Result<Bytes, PveError> {
        let encoded_path = params::encode_path(path)?;
        let pairs = params::to_pairs(params)?;
        let mut url = format!("{}{}", self.api_root, encoded_path);
        let body = if method.has_body() {
            Some(params::urlencode(&pairs))
        } else {
            if !pairs.is_empty() {
                url.push('?');
                url.push_str(&params::urlencode(&pairs));
            }
            None
        };
        let ctx = Context {
            who: &self.who,
            token: self.is_token(),
            method,
            path,
        };
        let mut relogged = false;
        loop {
            let headers = self.auth_headers(method).await?;
            match self
                .send_with_retries(method, &url, body.as_deref(), &headers, &ctx)
                .await
            {
                // A 401 is not executed, so one fresh login and resend is safe for any method.
                Err(PveError::Auth { .. })
                    if !relogged && matches!(self.creds, Credentials::Password { .. }) =>
                {
                    relogged = true;
                    tracing::info!(who = %self.who, "ticket refused (401); logging in again");
                    self.drop_ticket(&headers).await;
                }
                other => return other,
            }
        }
    }

    async fn send_with_retries(
        &self,
        method: Method,
        url: &str,
        body: Option<&str>,
        headers: &[(reqwest::header::HeaderName, HeaderValue)],
        ctx: &Context<'_>,
    ) -> Result<Bytes, PveError> {
        let mut attempt = 0;
        loop {
            let result = self.send_once(method, url, body, headers, ctx).await;
            let again = result.as_ref().err().is_some_and(|e| retryable(method, e));
            match (again, self.retry_delays.get(attempt)) {
                (true, Some(delay)) => {
                    tracing::debug!(%method, path = ctx.path, attempt = attempt + 1, error = %result.as_ref().err().map(ToString::to_string).unwrap_or_default(), "retrying");
                    tokio::time::sleep(*delay).await;
                    attempt += 1;
                }
                _ => return result,
            }
        }
    }

    async fn send_once(
        &self,
        method: Method,
        url: &str,
        body: Option<&str>,
        headers: &[(reqwest::header::HeaderName, HeaderValue)],
        ctx: &Context<'_>,
    ) -> Result<Bytes, PveError> {
        let started = Instant::now();
        let mut req = self
            .http
            .request(method.to_reqwest(), url)
            .header(ACCEPT, "application/json");
        for (name, value) in headers {
            req = req.header(name.clone(), value.clone());
        }
        if let Some(body) = body {
            req = req
                .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
                .body(body.to_owned());
        }
        let resp = req.send().await.map_err(|e| self.transport_error(&e))?;
        let status = resp.status();
        let reason = resp
            .extensions()
            .get::<hyper::ext::ReasonPhrase>()
            .map(|r| String::from_utf8_lossy(r.as_bytes()).into_owned())
            .or_else(|| status.canonical_reason().map(str::to_owned));
        let bytes = read_body(resp)
            .await
            .map_err(|e| self.transport_error(&e))?;
        tracing::debug!(
            %method,
            path = ctx.path,
            status = status.as_u16(),
            elapsed_ms = started.elapsed().as_millis() as u64,
            bytes = bytes.len(),
            "pve call"
        );
        envelope::check(status.as_u16(), reason.as_deref(), &bytes, ctx)?;
        Ok(bytes)
    }

    /// Map a reqwest failure to Connect / Tls / Timeout, saying whether the request may have arrived.
    fn transport_error(&self, e: &reqwest::Error) -> PveError {
        let url = self.base_url.clone();
        let mut source: Option<&(dyn std::error::Error + 'static)> = Some(e);
        let mut root = e.to_string();
        let mut tls_error: Option<String> = None;
        while let Some(err) = source {
            if let Some(r) = err.downcast_ref::<rustls::Error>() {
                tls_error.get_or_insert_with(|| tls::describe_error(r));
            }
            root = err.to_string();
            // `io::Error::source` skips the wrapped error itself (where TLS failures live).
            source = match err
                .downcast_ref::<std::io::Error>()
                .and_then(|io| io.get_ref())
            {
                Some(inner) => Some(inner as &(dyn std::error::Error + 'static)),
                None => err.source(),
            };
        }
        if let Some(detail) = tls_error {
            return PveError::Tls {
                url,
                detail,
                presented_fingerprint: self.presented.get(),
            };
        }
        if e.is_connect() {
            let detail = if e.is_timeout() || root.contains("timed out") {
                format!(
                    "{CONNECT_TIMEOUT} the {} connect timeout",
                    human(self.timeouts.connect)
                )
            } else {
                root
            };
            return PveError::Connect { url, detail };
        }
        if e.is_timeout() {
            return PveError::Timeout {
                url,
                may_have_reached: true,
            };
        }
        PveError::Api {
            status: 0,
            message: format!(
                "the connection to {url} failed before a complete answer arrived ({root}); the \
                 request may have been carried out, so check the current state before retrying a change"
            ),
        }
    }

    /// Headers that authenticate the request, logging in or renewing the ticket when needed.
    async fn auth_headers(
        &self,
        method: Method,
    ) -> Result<Vec<(reqwest::header::HeaderName, HeaderValue)>, PveError> {
        let header = |v: &str| {
            let mut hv = HeaderValue::from_str(v).map_err(|_| PveError::Decode {
                message: "the server issued a ticket that is not a valid header value".into(),
            })?;
            hv.set_sensitive(true);
            Ok::<_, PveError>(hv)
        };
        match &self.creds {
            Credentials::Token { header: h } => Ok(vec![(AUTHORIZATION, header(h.expose())?)]),
            Credentials::Password { .. } => {
                let ticket = self.current_ticket().await?;
                let mut out = vec![(COOKIE, header(&auth::cookie_header(&ticket.ticket))?)];
                if method.is_write() {
                    out.push((
                        reqwest::header::HeaderName::from_static("csrfpreventiontoken"),
                        header(ticket.csrf.expose())?,
                    ));
                }
                Ok(out)
            }
        }
    }

    /// A usable ticket: cached, renewed with itself when older than 1h45m, or a fresh login.
    async fn current_ticket(&self) -> Result<Ticket, PveError> {
        let Credentials::Password {
            user,
            password,
            ticket,
        } = &self.creds
        else {
            unreachable!("only called for password credentials");
        };
        let mut slot = ticket.lock().await;
        if let Some(t) = slot.as_ref() {
            if !t.needs_renewal() {
                return Ok(t.clone());
            }
            if !t.expired() {
                match self.login(user, &t.ticket).await {
                    Ok(fresh) => {
                        tracing::debug!(user = %user, "ticket renewed");
                        *slot = Some(fresh.clone());
                        return Ok(fresh);
                    }
                    Err(e) => {
                        tracing::info!(user = %user, error = %e, "ticket renewal failed; logging in with the password")
                    }
                }
            }
        }
        let fresh = self.login(user, password).await?;
        tracing::debug!(user = %user, "logged in (ticket)");
        *slot = Some(fresh.clone());
        Ok(fresh)
    }

    /// Forget the ticket used in `headers` (unless another task already replaced it).
    async fn drop_ticket(&self, headers: &[(reqwest::header::HeaderName, HeaderValue)]) {
        if let Credentials::Password { ticket, .. } = &self.creds {
            let mut slot = ticket.lock().await;
            let used = headers
                .iter()
                .find(|(n, _)| n == COOKIE)
                .and_then(|(_, v)| v.to_str().ok());
            let current = slot.as_ref().map(|t| auth::cookie_header(&t.ticket));
            if used.is_some() && used == current.as_deref() {
                *slot = None;
            }
        }
    }

    /// `POST /access/ticket` with the password (or the current ticket, to renew it).
    async fn login(&self, user: &str, password: &Secret) -> Result<Ticket, PveError> {
        let url = format!("{}/access/ticket", self.api_root);
        let body = params::urlencode(&[
            ("username".to_owned(), user.to_owned()),
            ("password".to_owned(), password.expose().to_owned()),
        ]);
        let ctx = Context {
            who: &self.who,
            token: false,
            method: Method::Post,
            path: "/access/ticket",
        };
        let body = self
            .send_with_retries(Method::Post, &url, Some(&body), &[], &ctx)
            .await
            .map_err(|e| match e {
                PveError::Auth { .. } => PveError::Auth {
                    message: format!(
                        "login as {user} failed (POST /access/ticket answered 401). Check the user \
                         name (USER@REALM, e.g. root@pam) and the password, and that the user is \
                         enabled; accounts with two-factor authentication need an API token instead."
                    ),
                },
                other => other,
            })?;
        let data: Value = envelope::parse_data(&body, Method::Post, "/access/ticket")?;
        Ticket::from_response(&data)
    }
}

#[cfg(test)]
impl HttpClient {
    /// Pretend the cached ticket was obtained `by` earlier (renewal tests).
    async fn age_ticket(&self, by: Duration) {
        if let Credentials::Password { ticket, .. } = &self.creds
            && let Some(t) = ticket.lock().await.as_mut()
        {
            t.obtained = t
                .obtained
                .checked_sub(by)
                .expect("monotonic clock far enough from boot");
        }
    }
}

/// The whole body, chunk by chunk into one buffer sized from `Content-Length`: `bytes()` would
/// collect the chunks and then copy them into a second buffer, twice the body at the peak (2 MB
/// each for `/cluster/resources` of 5,000 guests).
async fn read_body(mut resp: reqwest::Response) -> Result<Bytes, reqwest::Error> {
    // A bogus length must not reserve a huge buffer up front.
    const MAX_PRESIZE: u64 = 64 << 20;
    let hint = resp.content_length().unwrap_or(0).min(MAX_PRESIZE);
    let mut body = Vec::with_capacity(usize::try_from(hint).unwrap_or(0));
    while let Some(chunk) = resp.chunk().await? {
        if body.is_empty() && body.capacity() == 0 {
            // No length: a single-chunk body is returned as is, without a copy.
            match resp.chunk().await? {
                None => return Ok(chunk),
                Some(next) => {
                    body.extend_from_slice(&chunk);
                    body.extend_from_slice(&next);
                }
            }
        } else {
            body.extend_from_slice(&chunk);
        }
    }
    Ok(Bytes::from(body))
}

fn human(d: Duration) -> String {
    if d.subsec_millis() == 0 {
        format!("{} s", d.as_secs())
    } else {
        format!("{} ms", d.as_millis())
    }
}

impl PveApi for HttpClient {
    fn call<'a>(
        &'a self,
        method: Method,
        path: &'a str,
        params: &'a Params,
    ) -> BoxFuture<'a, Result<Value, PveError>> {
        Box::pin(async move {
            let body = self.call_inner(method, path, params).await?;
            envelope::parse_data(&body, method, path)
        })
    }

    fn call_raw<'a>(
        &'a self,
        method: Method,
        path: &'a str,
        params: &'a Params,
    ) -> BoxFuture<'a, Result<Bytes, PveError>> {
        Box::pin(self.call_inner(method, path, params))
    }

    fn base_url(&self) -> &str {
        &self.base_url
    }
}

#[cfg(test)]
mod auth_tests;
#[cfg(test)]
mod http_tests;
#[cfg(test)]
mod test_server;
