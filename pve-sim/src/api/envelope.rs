//! The PVE response envelope: `{"data":...}` on success, status + reason phrase + message on error.

use std::collections::BTreeMap;

use axum::body::Body;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;
use hyper::ext::ReasonPhrase;
use serde::Serialize;
use serde_json::Value;

/// An error as PVE reports it.
#[derive(Clone, Debug, PartialEq)]
pub struct PveError {
    pub status: u16,
    pub message: String,
    /// Per-parameter messages (400 "Parameter verification failed.").
    pub errors: Option<BTreeMap<String, String>>,
}

impl PveError {
    pub fn new(status: u16, message: impl Into<String>) -> Self {
        Self {
            status,
            message: message.into(),
            errors: None,
        }
    }

    /// A handler `die`: HTTP 500.
    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(500, message)
    }

    /// 400 with one parameter error.
    pub fn param(name: impl Into<String>, msg: impl Into<String>) -> Self {
        let mut m = BTreeMap::new();
        m.insert(name.into(), msg.into());
        Self::params(m)
    }

    /// 400 with several parameter errors.
    pub fn params(errors: BTreeMap<String, String>) -> Self {
        Self {
            status: 400,
            message: "Parameter verification failed.".into(),
            errors: Some(errors),
        }
    }

    /// 501 for an unknown path or method.
    pub fn not_implemented(method: &str, path: &str) -> Self {
        Self::new(501, format!("Method '{method} {path}' not implemented"))
    }

    /// 403 for a failed privilege check.
    pub fn forbidden(path: &str, privs: &str) -> Self {
        Self::new(403, format!("Permission check failed ({path}, {privs})"))
    }

    /// 403 with a free-form reason.
    pub fn forbidden_msg(msg: &str) -> Self {
        Self::new(403, format!("Permission check failed ({msg})"))
    }

    pub fn unauthorized(msg: &str) -> Self {
        Self::new(401, msg)
    }

    /// The 500 a wrong node/vmid pair gives.
    pub fn no_config(node: &str, qemu: bool, vmid: u32) -> Self {
        let dir = if qemu { "qemu-server" } else { "lxc" };
        Self::internal(format!(
            "Configuration file 'nodes/{node}/{dir}/{vmid}.conf' does not exist"
        ))
    }

    /// Renders the error as an HTTP response.
    pub fn into_response(self) -> Response {
        #[derive(Serialize)]
        struct ErrBody<'a> {
            #[serde(skip_serializing_if = "Option::is_none")]
            errors: Option<&'a BTreeMap<String, String>>,
            data: Value,
            message: &'a str,
        }
        let body = serde_json::to_vec(&ErrBody {
            errors: self.errors.as_ref(),
            data: Value::Null,
            message: &self.message,
        })
        .unwrap_or_default();
        let mut resp = json_response(body);
        *resp.status_mut() =
            StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let first = self.message.lines().next().unwrap_or("").trim();
        let reason: String = first
            .chars()
            .map(|c| if c.is_control() && c != '\t' { ' ' } else { c })
            .collect();
        if let Ok(r) = ReasonPhrase::try_from(reason.into_bytes()) {
            resp.extensions_mut().insert(r);
        }
        resp.headers_mut()
            .insert(header::CONNECTION, HeaderValue::from_static("close"));
        resp
    }
}

impl std::fmt::Display for PveError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.status, self.message)
    }
}

impl std::error::Error for PveError {}

/// The result type of every handler.
pub type ApiResult = Result<Reply, PveError>;

/// A successful reply: `data` plus optional top-level extras such as `total`.
pub struct Reply {
    data: ReplyData,
    extra: Vec<(&'static str, Value)>,
}

enum ReplyData {
    Value(Value),
    /// Already serialised JSON for `data` (used for large lists).
    Raw(Vec<u8>),
}

impl Reply {
    pub fn json(v: Value) -> Self {
        Self {
            data: ReplyData::Value(v),
            extra: Vec::new(),
        }
    }

    pub fn null() -> Self {
        Self::json(Value::Null)
    }

    pub fn string(s: impl Into<String>) -> Self {
        Self::json(Value::String(s.into()))
    }

    /// Serialises any value as `data`.
    pub fn ser<T: Serialize>(v: &T) -> Self {
        match serde_json::to_vec(v) {
            Ok(b) => Self::raw(b),
            Err(_) => Self::null(),
        }
    }

    pub fn raw(bytes: Vec<u8>) -> Self {
        Self {
            data: ReplyData::Raw(bytes),
            extra: Vec::new(),
        }
    }

    /// Adds a top-level key next to `data` (e.g. `total`).
    pub fn with(mut self, key: &'static str, v: Value) -> Self {
        self.extra.push((key, v));
        self
    }

    pub fn into_response(self) -> Response {
        let mut out = Vec::with_capacity(64);
        out.extend_from_slice(b"{\"data\":");
        match self.data {
            ReplyData::Value(v) => {
                let _ = serde_json::to_writer(&mut out, &v);
            }
            ReplyData::Raw(b) => out.extend_from_slice(&b),
        }
        for (k, v) in self.extra {
            out.push(b',');
            let _ = serde_json::to_writer(&mut out, k);
            out.push(b':');
            let _ = serde_json::to_writer(&mut out, &v);
        }
        out.push(b'}');
        json_response(out)
    }
}

fn json_response(body: Vec<u8>) -> Response {
    let mut resp = Response::new(Body::from(body));
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json;charset=UTF-8"),
    );
    resp.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("max-age=0"));
    resp.headers_mut().insert(
        header::SERVER,
        HeaderValue::from_static("pve-api-daemon/3.0"),
    );
    resp
}
