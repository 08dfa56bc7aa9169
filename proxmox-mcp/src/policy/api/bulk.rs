//! `POST /nodes/{node}/execute`: a batch of API calls the node runs as one request. Every
//! rule that judges a request judges each call inside it too.

use serde_json::{Map, Value};

/// The calls inside `POST /nodes/{node}/execute` (`commands`: a JSON list of
/// `{method, path, args}`): `None` when the request is something else, `Some(None)` when the
/// list cannot be read.
#[allow(clippy::type_complexity)]
pub fn bulk_commands(
    method: &str,
    path: &str,
    params: &Map<String, Value>,
) -> Option<Option<Vec<(String, String, Map<String, Value>)>>> {
    let segs = super::segments(path);
    let lower: Vec<String> = segs.iter().map(|s| s.to_lowercase()).collect();
    let bulk = method.trim().eq_ignore_ascii_case("POST")
        && lower.len() == 3
        && lower[0] == "nodes"
        && lower[2] == "execute";
    if !bulk {
        return None;
    }
    let list = match params.get("commands") {
        Some(Value::String(s)) => serde_json::from_str::<Value>(s).ok(),
        Some(v @ Value::Array(_)) => Some(v.clone()),
        _ => None,
    };
    let Some(Value::Array(items)) = list else {
        return Some(None);
    };
    let mut calls = Vec::new();
    for item in items {
        let (Some(m), Some(p)) = (
            item.get("method").and_then(Value::as_str),
            item.get("path").and_then(Value::as_str),
        ) else {
            return Some(None);
        };
        let args = match item.get("args") {
            None | Some(Value::Null) => Map::new(),
            Some(Value::Object(a)) => a.clone(),
            Some(_) => return Some(None),
        };
        calls.push((m.to_string(), p.to_string(), args));
    }
    Some(Some(calls))
}
