//! `proxmox_api`: a raw call for anything the dedicated tools do not cover, confined to
//! `/api2/json` by a strict path normaliser. Every method; each call is classified from its
//! method, path and parameters ([`crate::policy::api`]) and decided like any other tool call.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{AssessCtx, Assessment, Hints, Render, ToolCtx, ToolDef, ToolError};
use crate::policy::Class;
use crate::pve::{Method, Params};

/// Text the model reads is cut here (structured content keeps more).
const MAX_TEXT_BYTES: usize = 32 * 1024;
/// Structured results larger than this are dropped with a note.
const MAX_STRUCTURED_BYTES: usize = 1024 * 1024;
const MAX_PATH_BYTES: usize = 1024;

pub fn tools() -> Vec<ToolDef> {
    vec![
        ToolDef::new(
            "proxmox_api",
            "Raw Proxmox API call",
            "Raw Proxmox API request for anything the other tools lack. path is relative to \
         /api2/json (e.g. /nodes/pve1/disks/list). Judged exactly like the dedicated tool \
         sending the same request: every endpoint has a class, parameters can raise it, \
         protected guests are refused, root@pam and our own account are never changed.",
            Class::Destructive,
            Hints {
                read_only: false,
                destructive: true,
                idempotent: false,
                open_world: false,
            },
            &["GET *", "POST *", "PUT *", "DELETE *"],
            proxmox_api,
        )
        .assessed_async_by(assess)
        .identity_when(writes),
    ]
}

/// A GET never reaches root protection; every other method is judged against who we are.
fn writes(args: &rmcp::model::JsonObject) -> bool {
    args.get("method")
        .and_then(Value::as_str)
        .is_some_and(|m| !m.trim().eq_ignore_ascii_case("GET"))
}

fn http_method(m: Option<HttpMethod>) -> Method {
    match m.unwrap_or(HttpMethod::GET) {
        HttpMethod::GET => Method::Get,
        HttpMethod::POST => Method::Post,
        HttpMethod::PUT => Method::Put,
        HttpMethod::DELETE => Method::Delete,
    }
}

fn method_name(m: HttpMethod) -> &'static str {
    match m {
        HttpMethod::GET => "GET",
        HttpMethod::POST => "POST",
        HttpMethod::PUT => "PUT",
        HttpMethod::DELETE => "DELETE",
    }
}

/// Classify one request through [`super::request::assess_request`], the function every tool
/// that writes uses: the same request gets the same verdict here as from any dedicated tool.
async fn assess(ctx: AssessCtx, p: ApiParams) -> Result<Assessment, ToolError> {
    let method = http_method(p.method);
    let path = normalize_path(&p.path).map_err(ToolError::InvalidArgs)?;
    let params = to_params(p.params)?;
    let mut summary = format!("{} {path}", method.as_str());
    if !params.is_empty() {
        // What the human approves is shown whole, with secrets (passwords, keys) masked.
        let shown = crate::audit::redact::redact_value(&Value::Object(params.clone())).to_string();
        summary.push_str(&format!(" with {shown}"));
    }
    super::request::assess_request(
        &ctx,
        crate::pve::Request::new(method, path, params),
        summary,
    )
    .await
}

/// `/access/users/{userid}/token/{tokenid}`: where a POST creates a token and PVE answers
/// with its secret.
fn creates_token(path: &str) -> bool {
    let segs = crate::policy::api::segments(path);
    matches!(
        segs.iter().map(String::as_str).collect::<Vec<_>>().as_slice(),
        [a, u, _, t, _] if a.eq_ignore_ascii_case("access") && u.eq_ignore_ascii_case("users") && t.eq_ignore_ascii_case("token")
    )
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
pub enum HttpMethod {
    #[serde(alias = "get")]
    GET,
    #[serde(alias = "post")]
    POST,
    #[serde(alias = "put")]
    PUT,
    #[serde(alias = "delete")]
    DELETE,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ApiParams {
    /// HTTP method (default GET)
    pub method: Option<HttpMethod>,
    /// API path, e.g. /cluster/options
    pub path: String,
    /// Request parameters (scalars or lists of scalars)
    pub params: Option<BTreeMap<String, Value>>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct ApiResult {
    pub method: &'static str,
    /// Normalised path
    pub path: String,
    pub data: Value,
    /// The task a write started, when PVE returned one
    #[serde(skip_serializing_if = "Option::is_none")]
    pub upid: Option<String>,
    /// Why data is null
    #[serde(skip_serializing_if = "Option::is_none")]
    pub truncated: Option<String>,
}

/// Normalise an API path: strip `/api2/json`, collapse `//`, decode each segment and refuse
/// anything that could leave the JSON API (`..`, URLs, other formats, control characters).
/// Returns the canonical, percent-encoded path relative to `/api2/json`.
pub fn normalize_path(raw: &str) -> Result<String, String> {
    let raw = raw.trim();
    if raw.is_empty() {
        return Err("path is empty; e.g. /cluster/status".into());
    }
    if raw.len() > MAX_PATH_BYTES {
        return Err(format!("path is longer than {MAX_PATH_BYTES} bytes"));
    }
    let before_slash = raw.split('/').next().unwrap_or("");
    if raw.contains("://") || before_slash.contains(':') || raw.starts_with("//") {
        return Err(format!(
            "{raw:?} is a URL; give a path relative to /api2/json (the cluster URL is configured, \
             not chosen per call)"
        ));
    }
    if let Some(c) = raw
        .chars()
        .find(|c| c.is_control() || c.is_whitespace() || matches!(c, '\\' | '?' | '#'))
    {
        return Err(format!(
            "path contains {c:?}; pass query parameters in `params`, not in the path"
        ));
    }
    let mut segments = Vec::new();
    for seg in raw.split('/').filter(|s| !s.is_empty()) {
        let decoded = percent_decode(seg)?;
        if decoded == "." || decoded == ".." {
            return Err("path must not contain '.' or '..' segments".into());
        }
        if decoded.chars().any(|c| c.is_control()) {
            return Err("path contains control characters".into());
        }
        segments.push(decoded);
    }
    if segments.first().map(String::as_str) == Some("api2") {
        match segments.get(1).map(String::as_str) {
            Some("json") => {
                segments.drain(..2);
            }
            Some(other) => {
                return Err(format!(
                    "only the JSON API is reachable (/api2/json), not /api2/{other}"
                ));
            }
            None => return Err("path /api2 is incomplete; use /api2/json/…".into()),
        }
    }
    if segments.is_empty() {
        return Err("path names no API object; e.g. /version or /cluster/status".into());
    }
    let mut out = String::new();
    for s in &segments {
        out.push('/');
        out.push_str(&percent_encode(s));
    }
    Ok(out)
}

fn percent_decode(seg: &str) -> Result<String, String> {
    let bytes = seg.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = seg
                .get(i + 1..i + 3)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
                .ok_or_else(|| format!("bad percent-encoding in {seg:?}"))?;
            out.push(hex);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| format!("path segment {seg:?} is not UTF-8"))
}

fn percent_encode(seg: &str) -> String {
    let mut out = String::with_capacity(seg.len());
    for b in seg.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~:@!+=,".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn to_params(params: Option<BTreeMap<String, Value>>) -> Result<Params, ToolError> {
    let mut out = Params::new();
    for (k, v) in params.unwrap_or_default() {
        if k.is_empty()
            || k.len() > 128
            || !k
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-_".contains(&b))
        {
            return Err(ToolError::invalid(format!(
                "parameter name {k:?} is not valid"
            )));
        }
        let ok = match &v {
            Value::Array(items) => items.iter().all(|i| !i.is_object() && !i.is_array()),
            Value::Object(_) => false,
            _ => true,
        };
        if !ok {
            return Err(ToolError::invalid(format!(
                "parameter {k:?} must be a scalar or a list of scalars; PVE takes property \
                 strings like \"virtio,bridge=vmbr0\" for nested values"
            )));
        }
        if !v.is_null() {
            out.insert(k, v);
        }
    }
    Ok(out)
}

async fn proxmox_api(ctx: ToolCtx, p: ApiParams) -> Result<ApiResult, ToolError> {
    let verb = p.method.unwrap_or(HttpMethod::GET);
    let path = normalize_path(&p.path).map_err(ToolError::InvalidArgs)?;
    let method = http_method(p.method);
    let params = to_params(p.params)?;
    let mut data = ctx.pve.call(method, &path, &params).await?;
    if method == Method::Post && creates_token(&path) && data.get("value").is_some() {
        // A new token's secret goes to the operator, as with `user_management token_create`.
        let (full, file) = super::users::hand_over_token(&ctx, &data, &path)?;
        if let Some(obj) = data.as_object_mut() {
            obj.remove("value");
            obj.insert("stored_in".into(), Value::from(file.display().to_string()));
            obj.insert(
                "note".into(),
                Value::from(format!(
                    "the secret of {full} is not shown: it was written to {} on the server \
                     host (mode 0600) for the human to copy",
                    file.display()
                )),
            );
        }
    }
    let upid = data
        .as_str()
        .filter(|s| s.starts_with("UPID:"))
        .map(str::to_owned);
    let size = serde_json::to_vec(&data).map(|v| v.len()).unwrap_or(0);
    let (data, truncated) = if size > MAX_STRUCTURED_BYTES {
        (
            Value::Null,
            Some(format!(
                "response was {size} bytes, over the {MAX_STRUCTURED_BYTES}-byte limit; narrow \
                 it with params (e.g. type=vm) or a more specific path"
            )),
        )
    } else {
        (data, None)
    };
    Ok(ApiResult {
        method: method_name(verb),
        path,
        data,
        upid,
        truncated,
    })
}

impl Render for ApiResult {
    fn started_task(&self) -> Option<String> {
        self.upid.clone()
    }

    fn render(&self) -> String {
        if let Some(t) = &self.truncated {
            return format!("{} {}: {t}", self.method, self.path);
        }
        let body = serde_json::to_string(&self.data).unwrap_or_default();
        if body.len() > MAX_TEXT_BYTES {
            let mut cut = MAX_TEXT_BYTES;
            while !body.is_char_boundary(cut) {
                cut -= 1;
            }
            format!(
                "{}…\n[truncated at {MAX_TEXT_BYTES} of {} bytes; structuredContent has it all]",
                &body[..cut],
                body.len()
            )
        } else {
            body
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(input: &str, want: Result<&str, &str>) {
        match (normalize_path(input), want) {
            (Ok(got), Ok(w)) => assert_eq!(got, w, "{input}"),
            (Err(e), Err(fragment)) => assert!(e.contains(fragment), "{input}: {e}"),
            (got, w) => panic!("{input}: got {got:?}, want {w:?}"),
        }
    }

    #[test]
    fn paths_are_normalised_and_confined() {
        check("/version", Ok("/version"));
        check("nodes/pve1/status", Ok("/nodes/pve1/status"));
        check("/api2/json/cluster/resources", Ok("/cluster/resources"));
        check("/nodes///pve1/", Ok("/nodes/pve1"));
        check("//nodes", Err("URL"));
        check("//evil.example/api2/json/nodes", Err("URL"));
        check(
            "/nodes/pve1/tasks/UPID:pve1:0000A1B2:0001C3D4:6419CAF8:qmstart:100:root@pam!t:/status",
            Ok(
                "/nodes/pve1/tasks/UPID:pve1:0000A1B2:0001C3D4:6419CAF8:qmstart:100:root@pam!t:/status",
            ),
        );
        check(
            "/nodes/pve1/storage/local/content/local%3Aiso%2Fdebian.iso",
            Ok("/nodes/pve1/storage/local/content/local:iso%2Fdebian.iso"),
        );
        check("/access/users/root%40pam", Ok("/access/users/root@pam"));
        check("/nodes/../access", Err("'..'"));
        check("../../etc/passwd", Err("'..'"));
        check("/nodes/%2e%2e/access", Err("'..'"));
        check("/nodes/./pve1", Err("'.'"));
        check("/api2/json/../x", Err("'..'"));
        check("https://evil.example/api2/json/nodes", Err("URL"));
        check("http:/x", Err("URL"));
        check("/api2/extjs/nodes", Err("only the JSON API"));
        check("/nodes?x=1", Err("params"));
        check("/nodes#frag", Err("params"));
        check("/nodes\\pve1", Err("'\\\\'"));
        check("/nodes/pve1%00", Err("control"));
        check("/nodes/%zz", Err("percent"));
        check("", Err("empty"));
        check("/", Err("names no API object"));
        check("/api2/json", Err("names no API object"));
    }

    #[test]
    fn params_must_be_flat() {
        let mut ok = BTreeMap::new();
        ok.insert("type".to_string(), Value::from("vm"));
        ok.insert("command".to_string(), serde_json::json!(["ls", "-la"]));
        assert_eq!(to_params(Some(ok)).unwrap().len(), 2);
        let mut nested = BTreeMap::new();
        nested.insert("x".to_string(), serde_json::json!({"a": 1}));
        assert!(to_params(Some(nested)).is_err());
        let mut bad_name = BTreeMap::new();
        bad_name.insert("a&b=c".to_string(), Value::from(1));
        assert!(to_params(Some(bad_name)).is_err());
    }
}
