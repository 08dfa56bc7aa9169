//! Dispatch by path segments: a literal segment is matched before a placeholder.

use serde_json::json;

use super::envelope::{ApiResult, Reply};
use super::{Ctx, access, cluster, nodes, storage};
use crate::util::percent_decode;

/// Routes a request to its handler.
pub fn dispatch(ctx: &Ctx) -> ApiResult {
    let decoded: Vec<String> = ctx
        .path
        .split('/')
        .filter(|s| !s.is_empty())
        .map(|s| percent_decode(s, false))
        .collect();
    let segs: Vec<&str> = decoded.iter().map(String::as_str).collect();
    match (ctx.method, segs.as_slice()) {
        ("GET", []) => Ok(index(&[
            "version", "cluster", "nodes", "storage", "access", "pools",
        ])),
        ("GET", ["version"]) => Ok(version()),
        (_, ["cluster", rest @ ..]) => cluster::route(ctx, rest),
        (_, ["nodes", rest @ ..]) => nodes::route(ctx, rest),
        (_, ["storage", rest @ ..]) => storage::route_config(ctx, rest),
        (_, ["access", rest @ ..]) => access::route(ctx, rest),
        (_, ["pools", rest @ ..]) => cluster::route_pools(ctx, rest),
        _ => Err(ctx.not_impl()),
    }
}

/// A directory index: `[{"subdir": ...}]` (PVE's shape for index GETs).
pub fn index(names: &[&str]) -> Reply {
    Reply::json(json!(
        names
            .iter()
            .map(|n| json!({ "subdir": n }))
            .collect::<Vec<_>>()
    ))
}

/// Like `index` but with a custom key (e.g. `name`).
pub fn index_by(key: &str, names: &[&str]) -> Reply {
    Reply::json(json!(
        names.iter().map(|n| json!({ key: n })).collect::<Vec<_>>()
    ))
}

fn version() -> Reply {
    Reply::json(json!({
        "version": "9.1.1",
        "release": "9.1",
        "repoid": "42db4a6cf33dac83",
        "console": "html5",
    }))
}
