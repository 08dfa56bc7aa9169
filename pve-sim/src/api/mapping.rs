//! `/cluster/mapping`: directory mappings (virtiofs shares); PCI and USB mappings list empty.

use serde_json::{Value, json};

use super::Ctx;
use super::envelope::{ApiResult, PveError, Reply};
use super::router::index_by;
use crate::util::prop_get;

/// `/cluster/mapping/...`: only `dir` mappings are kept; `pci` and `usb` list empty.
pub fn route(ctx: &Ctx, rest: &[&str]) -> ApiResult {
    match (ctx.method, rest) {
        ("GET", []) => Ok(index_by("name", &["dir", "pci", "usb"])),
        ("GET", ["pci" | "usb"]) => Ok(Reply::json(json!([]))),
        ("GET", ["dir"]) => {
            let c = ctx.read();
            let out: Vec<Value> = c
                .dir_mappings
                .iter()
                .filter(|(id, _)| {
                    ctx.perms.has_any(
                        &format!("/mapping/dir/{id}"),
                        &["Mapping.Audit", "Mapping.Modify", "Mapping.Use"],
                    )
                })
                .map(|(_, m)| Value::Object(m.clone()))
                .collect();
            Ok(Reply::json(json!(out)))
        }
        ("POST", ["dir"]) => {
            ctx.require("/mapping/dir", &["Mapping.Modify"])?;
            let id = ctx.params.req("id")?;
            let map = checked_map(ctx)?;
            let mut c = ctx.write();
            if c.dir_mappings.contains_key(&id) {
                return Err(PveError::internal(format!(
                    "dir mapping '{id}' already defined"
                )));
            }
            let mut m = serde_json::Map::new();
            m.insert("id".into(), json!(id));
            m.insert("map".into(), json!(map));
            if let Some(d) = ctx.params.str("description") {
                m.insert("description".into(), json!(d));
            }
            c.dir_mappings.insert(id, m);
            Ok(Reply::null())
        }
        ("GET", ["dir", id]) => {
            ctx.require_any(
                &format!("/mapping/dir/{id}"),
                &["Mapping.Audit", "Mapping.Modify"],
            )?;
            let c = ctx.read();
            let m = c
                .dir_mappings
                .get(*id)
                .ok_or_else(|| PveError::internal(format!("dir mapping '{id}' not found")))?;
            Ok(Reply::json(Value::Object(m.clone())))
        }
        ("PUT", ["dir", id]) => {
            ctx.require(&format!("/mapping/dir/{id}"), &["Mapping.Modify"])?;
            let map = ctx
                .params
                .has("map")
                .then(|| checked_map(ctx))
                .transpose()?;
            let mut c = ctx.write();
            let m = c
                .dir_mappings
                .get_mut(*id)
                .ok_or_else(|| PveError::internal(format!("dir mapping '{id}' not found")))?;
            if let Some(map) = map {
                m.insert("map".into(), json!(map));
            }
            if let Some(d) = ctx.params.str("description") {
                m.insert("description".into(), json!(d));
            }
            for k in ctx.params.split_list("delete") {
                m.remove(&k);
            }
            Ok(Reply::null())
        }
        ("DELETE", ["dir", id]) => {
            ctx.require(&format!("/mapping/dir/{id}"), &["Mapping.Modify"])?;
            ctx.write()
                .dir_mappings
                .remove(*id)
                .ok_or_else(|| PveError::internal(format!("dir mapping '{id}' not found")))?;
            Ok(Reply::null())
        }
        _ => Err(ctx.not_impl()),
    }
}

/// `map` entries (`node=<node>,path=<abs path>`), each naming a known node once.
fn checked_map(ctx: &Ctx) -> Result<Vec<String>, PveError> {
    let map = ctx.params.list("map");
    let c = ctx.read();
    let mut seen = std::collections::BTreeSet::new();
    for e in &map {
        let node = prop_get(e, "node").unwrap_or_default();
        let path = prop_get(e, "path").unwrap_or_default();
        if c.node(&node).is_none() {
            return Err(PveError::param("map", format!("unknown node '{node}'")));
        }
        if !path.starts_with('/') {
            return Err(PveError::param(
                "map",
                format!("path '{path}' is not absolute"),
            ));
        }
        if !seen.insert(node.clone()) {
            return Err(PveError::param("map", format!("node '{node}' given twice")));
        }
    }
    Ok(map)
}
