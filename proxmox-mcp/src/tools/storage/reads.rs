//! The read actions of `storage_operations`: `list` (cluster-wide, with usage), `status` (per
//! node) and `content` (volumes of one storage), as `{columns, rows}` tables.

use futures::StreamExt as _;
use serde_json::{Value, json};

use super::super::action::ActionResult;
use super::super::args::NodeName;
use super::super::render::{ratio_pct, size};
use super::super::{ToolCtx, ToolError};
use super::{StorageParams, check, iso, need_node, need_storage, storage_path};
use crate::pve::Params;
use crate::pve::params::encode_segment;

/// A `{columns, rows}` table.
pub(super) fn table(columns: &[&str], rows: Vec<Vec<Value>>) -> Value {
    json!({"columns": columns, "rows": rows})
}

fn flag(v: &Value) -> bool {
    match v {
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_u64() == Some(1),
        Value::String(s) => s == "1",
        _ => false,
    }
}

pub(super) async fn list(ctx: &ToolCtx) -> Result<ActionResult, ToolError> {
    let cfgs: Vec<Value> = ctx.pve.get("/storage", &Params::new()).await?;
    let res = ctx.pve.cluster_resources(Some("storage")).await?;
    let mut rows = Vec::new();
    for c in &cfgs {
        let id = c["storage"].as_str().unwrap_or_default();
        let here: Vec<_> = res
            .iter()
            .filter(|r| r.storage.as_deref() == Some(id))
            .collect();
        let shared = flag(&c["shared"]) || here.iter().any(|r| r.shared == Some(true));
        let usage =
            |r: &&crate::pve::types::ClusterResource| (r.disk.unwrap_or(0), r.maxdisk.unwrap_or(0));
        let (used, total) = if shared {
            here.first().map(usage).unwrap_or((0, 0))
        } else {
            here.iter()
                .map(usage)
                .fold((0, 0), |(u, t), (a, b)| (u + a, t + b))
        };
        let worst = here
            .iter()
            .filter_map(|r| ratio_pct(r.disk.unwrap_or(0), r.maxdisk.unwrap_or(0)))
            .fold(None::<f64>, |m, x| Some(m.map_or(x, |m| m.max(x))));
        let nodes: Vec<&str> = here.iter().filter_map(|r| r.node.as_deref()).collect();
        rows.push(vec![
            json!(id),
            c["type"].clone(),
            c["content"].clone(),
            json!(shared),
            json!(!flag(&c["disable"])),
            json!(nodes.join(",")),
            json!(size(used)),
            json!(size(total)),
            json!(worst),
        ]);
    }
    let n = rows.len();
    let data = table(
        &[
            "storage",
            "type",
            "content",
            "shared",
            "enabled",
            "nodes",
            "used",
            "total",
            "max_used_pct",
        ],
        rows,
    );
    Ok(ActionResult::done(
        "list",
        "cluster",
        data,
        format!("{n} storages (max_used_pct: fullest node)"),
    ))
}

/// The online nodes, or the one asked for.
async fn nodes_of(ctx: &ToolCtx, node: Option<&NodeName>) -> Result<Vec<String>, ToolError> {
    if let Some(n) = node {
        return Ok(vec![n.0.clone()]);
    }
    let mut out: Vec<String> = ctx
        .pve
        .nodes()
        .await?
        .into_iter()
        .filter(|n| n.status.as_deref().is_none_or(|s| s == "online"))
        .map(|n| n.node)
        .collect();
    out.sort();
    Ok(out)
}

pub(super) async fn status(ctx: &ToolCtx, p: &StorageParams) -> Result<ActionResult, ToolError> {
    let only = p.storage.as_deref().map(check::storage_id).transpose()?;
    let nodes = nodes_of(ctx, p.node.as_ref()).await?;
    let mut q = Params::new();
    if let Some(s) = only {
        q.insert("storage".into(), json!(s));
    }
    let fetched: Vec<(String, Result<Vec<Value>, crate::pve::PveError>)> =
        futures::stream::iter(nodes)
            .map(|node| {
                let pve = ctx.pve.clone();
                let q = q.clone();
                async move {
                    let path = format!("/nodes/{}/storage", encode_segment(&node));
                    let r = pve.get::<Vec<Value>>(&path, &q).await;
                    (node, r)
                }
            })
            .buffered(8)
            .collect()
            .await;
    let mut rows = Vec::new();
    let mut errors = Vec::new();
    for (node, r) in fetched {
        let list = match r {
            Ok(l) => l,
            Err(e) if p.node.is_some() => return Err(e.into()),
            Err(e) => {
                errors.push(format!("{node}: {e}"));
                continue;
            }
        };
        for s in list {
            let n = |k: &str| s[k].as_u64().unwrap_or(0);
            rows.push(vec![
                json!(node),
                s["storage"].clone(),
                s["type"].clone(),
                json!(flag(&s["active"])),
                json!(flag(&s["enabled"])),
                json!(size(n("used"))),
                json!(size(n("avail"))),
                json!(size(n("total"))),
                json!(ratio_pct(n("used"), n("total"))),
            ]);
        }
    }
    let mut message = format!("{} storage entries", rows.len());
    if !errors.is_empty() {
        message.push_str(&format!(" (failed: {})", errors.join("; ")));
    }
    let data = table(
        &[
            "node", "storage", "type", "active", "enabled", "used", "avail", "total", "used_pct",
        ],
        rows,
    );
    Ok(ActionResult::done(
        "status",
        "storage status",
        data,
        message,
    ))
}

const CONTENT_TYPES: [&str; 7] = [
    "iso", "vztmpl", "backup", "images", "rootdir", "snippets", "import",
];

pub(super) async fn content(ctx: &ToolCtx, p: &StorageParams) -> Result<ActionResult, ToolError> {
    let node = need_node(p)?;
    let storage = need_storage(p)?;
    let mut q = Params::new();
    if let Some(c) = &p.content {
        if !CONTENT_TYPES.contains(&c.as_str()) {
            return Err(ToolError::invalid(format!(
                "content {:?} is not one of {}",
                check::clip(c),
                CONTENT_TYPES.join(", ")
            )));
        }
        q.insert("content".into(), json!(c));
    }
    if let Some(v) = p.vmid {
        q.insert("vmid".into(), json!(v.0));
    }
    let mut list: Vec<Value> = ctx
        .pve
        .get(&storage_path(node, storage, "/content"), &q)
        .await?;
    list.sort_by(|a, b| a["volid"].as_str().cmp(&b["volid"].as_str()));
    let rows: Vec<Vec<Value>> = list
        .iter()
        .map(|v| {
            vec![
                v["volid"].clone(),
                v["content"].clone(),
                v["format"].clone(),
                json!(size(v["size"].as_u64().unwrap_or(0))),
                v["vmid"].clone(),
                v["ctime"].as_u64().map_or(Value::Null, |t| json!(iso(t))),
                json!(flag(&v["protected"])),
                v["notes"].clone(),
            ]
        })
        .collect();
    let message = format!("{} volumes on {storage} (node {node})", rows.len());
    let data = table(
        &[
            "volid",
            "content",
            "format",
            "size",
            "vmid",
            "created",
            "protected",
            "notes",
        ],
        rows,
    );
    Ok(ActionResult::done(
        "content",
        format!("{storage} on {node}"),
        data,
        message,
    ))
}
