//! The HTTP side shared by the API backends: one POST with at most one retry, the streamed
//! body decoded as server-sent events, all within one deadline.

use std::time::Duration;

use reqwest::StatusCode;
use reqwest::header::{HeaderMap, HeaderValue, RETRY_AFTER};
use serde_json::Value;
use tokio::time::Instant;

use super::sse::{Decoder, Event};
use super::{Call, Failed, Reply};

/// What a backend makes of the events of one streamed reply.
pub trait Stream {
    /// One event; `Err` ends the reply with that note.
    fn event(&mut self, ev: &Event, text: &mut String) -> Result<(), String>;
    /// Whether the reply was complete (its end event arrived).
    fn done(&self) -> bool;
    /// The model the backend says answered.
    fn model(&self) -> Option<String>;
    /// A note beside a complete reply (`cut at max_tokens`).
    fn note(&self) -> Option<String>;
    /// A reply that came back whole as JSON although a stream was asked for.
    fn whole(&self, body: &Value) -> Result<String, String>;
}

/// An HTTP client with verified certificates; the deadline bounds each request.
pub fn client(timeout: Duration) -> Result<reqwest::Client, String> {
    let (tls, _) = crate::pve::tls::client_config(&crate::config::TlsConfig::default(), "ai")
        .map_err(|e| format!("cannot set up TLS: {e}"))?;
    reqwest::Client::builder()
        .tls_backend_preconfigured(tls)
        .connect_timeout(timeout.min(Duration::from_secs(10)))
        .http1_only()
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("proxmox-mcp/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| format!("cannot build the HTTP client: {e}"))
}

/// Why a status is worth one more try, or `None`.
fn transient(status: StatusCode) -> Option<String> {
    match status.as_u16() {
        429 => Some("the backend is rate limiting (HTTP 429)".into()),
        529 => Some("the backend is overloaded (HTTP 529)".into()),
        s if status.is_server_error() => Some(format!("the backend failed (HTTP {s})")),
        _ => None,
    }
}

/// `Retry-After` in seconds (the HTTP-date form is not honoured).
fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let v = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    v.parse::<f64>()
        .ok()
        .filter(|s| s.is_finite() && *s >= 0.0)
        .map(Duration::from_secs_f64)
}

/// The error message in a JSON error body (`{"error":{"message":…}}`, `{"error":"…"}`).
fn error_message(body: &[u8]) -> String {
    let text = match serde_json::from_slice::<Value>(body) {
        Ok(v) => v["error"]["message"]
            .as_str()
            .or(v["error"].as_str())
            .or(v["message"].as_str())
            .map(str::to_owned)
            .unwrap_or_else(|| String::from_utf8_lossy(body).into_owned()),
        Err(_) => String::from_utf8_lossy(body).into_owned(),
    };
    let text = super::sanitize::secrets(text.trim());
    let mut short: String = text.chars().take(200).collect();
    if short.len() < text.len() {
        short.push('…');
    }
    short
}

/// POSTs `body` to `url` and reads the streamed reply through `stream`.
pub async fn post(
    call: &Call<'_>,
    url: &str,
    headers: Vec<(&'static str, String)>,
    body: &Value,
    mut stream: impl Stream,
) -> Result<Reply, Failed> {
    let deadline = call.deadline;
    let payload = serde_json::to_vec(body).map_err(|e| Failed::new(format!("{e}")))?;
    let http = client(call.cfg.timeout).map_err(Failed::new)?;
    let mut sent = 0usize;
    let mut received = 0usize;
    let timed_out = |sent, received| Failed {
        why: format!(
            "no complete answer within the timeout ({} s)",
            call.cfg.timeout.as_secs_f64()
        ),
        sent,
        received,
    };
    let mut tries = 0;
    let resp = loop {
        tries += 1;
        let mut req = http
            .post(url)
            .header("content-type", "application/json")
            .header("accept", "text/event-stream, application/json")
            .body(payload.clone());
        for (k, v) in &headers {
            let mut v = HeaderValue::from_str(v)
                .map_err(|_| Failed::new(format!("the {k} header is not valid")))?;
            v.set_sensitive(true);
            req = req.header(*k, v);
        }
        sent += payload.len();
        let resp = match tokio::time::timeout_at(deadline, req.send()).await {
            Err(_) => return Err(timed_out(sent, received)),
            Ok(Err(e)) => {
                return Err(Failed {
                    why: format!("cannot reach the backend: {}", without_url(&e)),
                    sent,
                    received,
                });
            }
            Ok(Ok(r)) => r,
        };
        let status = resp.status();
        if status.is_success() {
            break resp;
        }
        let wait = retry_after(resp.headers());
        let body = tokio::time::timeout_at(deadline, resp.bytes())
            .await
            .ok()
            .and_then(Result::ok)
            .unwrap_or_default();
        received += body.len();
        let Some(why) = transient(status) else {
            let what = match status.as_u16() {
                401 | 403 => "the backend refused the credentials",
                404 => "the backend has no such endpoint or model",
                _ => "the backend refused the request",
            };
            return Err(Failed {
                why: format!(
                    "{what} (HTTP {}): {}",
                    status.as_u16(),
                    error_message(&body)
                ),
                sent,
                received,
            });
        };
        let pause = wait.unwrap_or(Duration::from_secs(1));
        let fits = Instant::now() + pause < deadline;
        if tries >= 2 || !fits {
            let after = match (tries >= 2, wait) {
                (true, _) => " after one retry".to_owned(),
                (false, Some(w)) => format!(
                    "; retry-after {} s does not fit in the timeout",
                    w.as_secs_f64()
                ),
                (false, None) => String::new(),
            };
            return Err(Failed {
                why: format!("{why}{after}: {}", error_message(&body)),
                sent,
                received,
            });
        }
        tracing::info!("AI backend: {why}; retrying in {pause:?}");
        tokio::time::sleep(pause).await;
    };

    let json = resp
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    let mut resp = resp;
    let mut text = String::new();
    if json {
        let body = match tokio::time::timeout_at(deadline, resp.bytes()).await {
            Err(_) => return Err(timed_out(sent, received)),
            Ok(Err(e)) => {
                return Err(Failed {
                    why: format!("the reply broke off: {}", without_url(&e)),
                    sent,
                    received,
                });
            }
            Ok(Ok(b)) => b,
        };
        received += body.len();
        let fail = |why: String| Failed {
            why,
            sent,
            received,
        };
        let v: Value =
            serde_json::from_slice(&body).map_err(|e| fail(format!("malformed reply: {e}")))?;
        text = stream.whole(&v).map_err(fail)?;
        return Ok(Reply {
            text,
            model: v["model"].as_str().map(str::to_owned),
            note: None,
            sent,
            received,
        });
    }
    let mut decoder = Decoder::default();
    let mut last_report: Option<Instant> = None;
    loop {
        let chunk = match tokio::time::timeout_at(deadline, resp.chunk()).await {
            Err(_) => return Err(timed_out(sent, received)),
            Ok(Err(e)) => {
                return Err(Failed {
                    why: format!("the stream broke off: {}", without_url(&e)),
                    sent,
                    received,
                });
            }
            Ok(Ok(c)) => c,
        };
        let events = match &chunk {
            Some(c) => {
                received += c.len();
                decoder.feed(c)
            }
            None => decoder.finish().into_iter().collect(),
        };
        for ev in &events {
            stream.event(ev, &mut text).map_err(|why| Failed {
                why,
                sent,
                received,
            })?;
        }
        // The first text at once, then at most four updates a second.
        let due = last_report.is_none_or(|t| t.elapsed() >= Duration::from_millis(250));
        if due && !text.is_empty() {
            last_report = Some(Instant::now());
            let chars = text.chars().count();
            call.progress
                .report(
                    chars as f64,
                    None,
                    format!("AI analysis: {chars} characters received"),
                )
                .await;
        }
        if stream.done() || chunk.is_none() {
            break;
        }
    }
    if !stream.done() {
        return Err(Failed {
            why: format!(
                "malformed reply: the stream ended before its end event ({} characters received)",
                text.chars().count()
            ),
            sent,
            received,
        });
    }
    Ok(Reply {
        text,
        model: stream.model(),
        note: stream.note(),
        sent,
        received,
    })
}

/// A transport error without the request URL (it may carry a query string).
fn without_url(e: &reqwest::Error) -> String {
    let mut s = if e.is_connect() {
        "connection failed".to_owned()
    } else if e.is_timeout() {
        "timed out".to_owned()
    } else if e.is_body() || e.is_decode() {
        "reading the body failed".to_owned()
    } else {
        "request failed".to_owned()
    };
    let mut src = std::error::Error::source(e);
    while let Some(inner) = src {
        s.push_str(&format!(
            ": {}",
            super::sanitize::secrets(&inner.to_string())
        ));
        src = inner.source();
    }
    s
}

/// The JSON in one event's data, or a note.
pub fn json(ev: &Event) -> Result<Value, String> {
    serde_json::from_str(&ev.data).map_err(|e| {
        let mut head: String = ev.data.chars().take(60).collect();
        if head.len() < ev.data.len() {
            head.push('…');
        }
        format!(
            "malformed reply: event data is not JSON ({e}): {}",
            super::sanitize::secrets(&head)
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(status: u16, want: Option<&str>) {
        assert_eq!(
            transient(StatusCode::from_u16(status).unwrap()).as_deref(),
            want,
            "{status}"
        );
    }

    #[test]
    fn transient_statuses() {
        check(429, Some("the backend is rate limiting (HTTP 429)"));
        check(529, Some("the backend is overloaded (HTTP 529)"));
        check(503, Some("the backend failed (HTTP 503)"));
        check(400, None);
        check(401, None);
    }

    #[test]
    fn error_bodies() {
        assert_eq!(
            error_message(
                br#"{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}"#
            ),
            "Overloaded"
        );
        assert_eq!(
            error_message(br#"{"error":"model not found"}"#),
            "model not found"
        );
        assert_eq!(error_message(b"password=abc"), "password=****");
    }

    #[test]
    fn retry_after_seconds() {
        let mut h = HeaderMap::new();
        assert_eq!(retry_after(&h), None);
        h.insert(RETRY_AFTER, HeaderValue::from_static("2"));
        assert_eq!(retry_after(&h), Some(Duration::from_secs(2)));
        h.insert(
            RETRY_AFTER,
            HeaderValue::from_static("Wed, 21 Oct 2015 07:28:00 GMT"),
        );
        assert_eq!(retry_after(&h), None);
    }
}
