//! Storage: `/storage` config, per-node status and content, volume deletion and downloads.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Value, json};

use super::Ctx;
use super::envelope::{ApiResult, PveError, Reply};
use super::router::index;
use crate::state::storage::{StorageCfg, Volume};
use crate::state::{Cluster, metrics};

pub(super) fn storage_path(id: &str) -> String {
    format!("/storage/{id}")
}

fn cfg_digest(c: &Cluster) -> String {
    crate::util::digest(&serde_json::to_string(&c.storages).unwrap_or_default())
}

/// `/storage[/{storage}]`.
pub fn route_config(ctx: &Ctx, rest: &[&str]) -> ApiResult {
    match (ctx.method, rest) {
        ("GET", []) => {
            let c = ctx.read();
            let ty = ctx.params.str("type");
            let digest = cfg_digest(&c);
            let out: Vec<Value> = c
                .storages
                .iter()
                .filter(|s| ty.as_deref().is_none_or(|t| t == s.kind))
                .filter(|s| {
                    ctx.perms.has_any(
                        &storage_path(&s.id),
                        &["Datastore.Audit", "Datastore.AllocateSpace"],
                    )
                })
                .map(|s| s.config_json(&digest))
                .collect();
            Ok(Reply::json(json!(out)))
        }
        ("POST", []) => {
            ctx.require("/storage", &["Datastore.Allocate"])?;
            let p = &ctx.params;
            let id = p.req("storage")?;
            let kind = p.req("type")?;
            let mut c = ctx.write();
            if c.storage(&id).is_some() {
                return Err(PveError::internal(format!(
                    "create storage failed: storage ID '{id}' already defined"
                )));
            }
            let content = p.str("content").unwrap_or_else(|| match kind.as_str() {
                "dir" | "nfs" | "cifs" => "backup,iso,vztmpl".into(),
                "pbs" => "backup".into(),
                _ => "images,rootdir".into(),
            });
            let mut props = BTreeMap::new();
            for (k, v) in p.strings() {
                if !matches!(
                    k.as_str(),
                    "storage" | "type" | "content" | "nodes" | "shared" | "disable"
                ) {
                    props.insert(k, v);
                }
            }
            let shared = p.flag("shared")?
                || matches!(kind.as_str(), "nfs" | "cifs" | "pbs" | "rbd" | "cephfs");
            c.storages.push(StorageCfg {
                id: id.clone(),
                kind: kind.clone(),
                content,
                shared,
                nodes: p
                    .str("nodes")
                    .map(|n| n.split(',').map(str::to_string).collect()),
                disable: p.flag("disable")?,
                total: 2 << 40,
                base_used: 1 << 30,
                props,
            });
            Ok(Reply::json(json!({"storage": id, "type": kind})))
        }
        ("GET", [id]) => {
            ctx.require(&storage_path(id), &["Datastore.Allocate"])?;
            let c = ctx.read();
            let s = c
                .storage(id)
                .ok_or_else(|| PveError::internal(format!("storage '{id}' does not exist")))?;
            Ok(Reply::json(s.config_json(&cfg_digest(&c))))
        }
        ("PUT", [id]) => {
            ctx.require("/storage", &["Datastore.Allocate"])?;
            let p = &ctx.params;
            let mut c = ctx.write();
            let s = c
                .storages
                .iter_mut()
                .find(|s| s.id == *id)
                .ok_or_else(|| PveError::internal(format!("storage '{id}' does not exist")))?;
            for k in p.split_list("delete") {
                match k.as_str() {
                    "nodes" => s.nodes = None,
                    "disable" => s.disable = false,
                    other => {
                        s.props.remove(other);
                    }
                }
            }
            for (k, v) in p.strings() {
                match k.as_str() {
                    "delete" | "digest" | "storage" => {}
                    "content" => s.content = v,
                    "nodes" => s.nodes = Some(v.split(',').map(str::to_string).collect()),
                    "disable" => s.disable = v == "1",
                    "shared" => s.shared = v == "1",
                    _ => {
                        s.props.insert(k, v);
                    }
                }
            }
            Ok(Reply::json(json!({"storage": id, "type": s.kind})))
        }
        ("DELETE", [id]) => {
            ctx.require("/storage", &["Datastore.Allocate"])?;
            let mut c = ctx.write();
            let before = c.storages.len();
            c.storages.retain(|s| s.id != *id);
            if c.storages.len() == before {
                return Err(PveError::internal(format!("storage '{id}' does not exist")));
            }
            Ok(Reply::null())
        }
        _ => Err(ctx.not_impl()),
    }
}

fn status_json(c: &Cluster, s: &StorageCfg, node: &str) -> Value {
    let used = c.storage_used(s, node);
    let active = !s.disable;
    json!({
        "storage": s.id, "type": s.kind, "content": s.content, "shared": u8::from(s.shared),
        "active": u8::from(active), "enabled": u8::from(!s.disable),
        "total": s.total, "used": used, "avail": s.total - used,
        "used_fraction": used as f64 / s.total.max(1) as f64,
    })
}

pub(super) fn get_storage<'c>(
    c: &'c Cluster,
    node: &str,
    id: &str,
) -> Result<&'c StorageCfg, PveError> {
    c.storage_on(node, id)
        .ok_or_else(|| PveError::internal(format!("storage '{id}' does not exist")))
}

/// `/nodes/{node}/storage[/...]`.
pub fn route_node(ctx: &Ctx, node: &str, rest: &[&str]) -> ApiResult {
    match (ctx.method, rest) {
        ("GET", []) => {
            let c = ctx.read();
            let content = ctx.params.str("content");
            let only = ctx.params.str("storage");
            let enabled = ctx.params.flag("enabled")?;
            let out: Vec<Value> = c
                .storages
                .iter()
                .filter(|s| s.available_on(node))
                .filter(|s| only.as_deref().is_none_or(|o| o == s.id))
                .filter(|s| {
                    content
                        .as_deref()
                        .is_none_or(|ct| ct.split(',').any(|x| s.has_content(x)))
                })
                .filter(|s| !enabled || !s.disable)
                .filter(|s| {
                    ctx.perms.has_any(
                        &storage_path(&s.id),
                        &["Datastore.Audit", "Datastore.AllocateSpace"],
                    )
                })
                .map(|s| status_json(&c, s, node))
                .collect();
            Ok(Reply::json(json!(out)))
        }
        ("GET", [id]) => {
            audit(ctx, id)?;
            get_storage(&ctx.read(), node, id)?;
            Ok(index(&[
                "content",
                "download-url",
                "file-restore",
                "prunebackups",
                "rrd",
                "rrddata",
                "status",
                "upload",
            ]))
        }
        ("GET", [id, "status"]) => {
            audit(ctx, id)?;
            let c = ctx.read();
            let s = get_storage(&c, node, id)?;
            let mut v = status_json(&c, s, node);
            if let Some(o) = v.as_object_mut() {
                o.remove("storage");
                o.remove("used_fraction");
            }
            Ok(Reply::json(v))
        }
        ("GET", [id, "rrddata"]) => {
            audit(ctx, id)?;
            let c = ctx.read();
            let s = get_storage(&c, node, id)?;
            let tf = ctx.params.req("timeframe")?;
            super::guests::check_timeframe(&tf)?;
            let used = c.storage_used(s, node) as f64;
            let fields = [("used", used)];
            let consts = [("total", json!(s.total))];
            Ok(Reply::json(metrics::series(
                crate::util::mix(s.total),
                ctx.now,
                &tf,
                false,
                &fields,
                &consts,
            )))
        }
        ("GET", [id, "content"]) => content(ctx, node, id),
        ("POST", [id, "content"]) => alloc(ctx, node, id),
        ("GET", [id, "content", vol]) => {
            audit(ctx, id)?;
            let c = ctx.read();
            get_storage(&c, node, id)?;
            let volid = full_volid(id, vol);
            let v = find_volume(&c, node, id, &volid)?;
            let mut out = json!({"path": format!("/var/lib/vz/{}", volid.split(':').nth(1).unwrap_or("")),
                "size": v.size, "used": v.size, "format": v.format});
            if let Some(n) = &v.notes {
                out["notes"] = json!(n);
            }
            out["protected"] = json!(u8::from(v.protected));
            Ok(Reply::json(out))
        }
        ("PUT", [id, "content", vol]) => {
            ctx.require(&storage_path(id), &["Datastore.Allocate"])?;
            let mut c = ctx.write();
            get_storage(&c, node, id)?;
            let volid = full_volid(id, vol);
            let v = c
                .volumes
                .iter_mut()
                .find(|v| v.volid == volid && v.visible_on(node))
                .ok_or_else(|| PveError::internal(format!("volume '{volid}' does not exist")))?;
            if let Some(n) = ctx.params.str("notes") {
                v.notes = (!n.is_empty()).then_some(n);
            }
            if let Some(p) = ctx.params.bool("protected")? {
                v.protected = p;
            }
            Ok(Reply::null())
        }
        ("DELETE", [id, "content", vol]) => delete_volume(ctx, node, id, vol),
        ("POST", [id, "download-url"]) => download(ctx, node, id),
        ("GET", [id, "prunebackups"]) => {
            audit(ctx, id)?;
            let c = ctx.read();
            let s = get_storage(&c, node, id)?;
            let marks = super::backup::prune_marks(&c, s, node, ctx)?;
            Ok(Reply::json(json!(marks.iter().map(|(v, m)| {
                json!({"volid": v.volid, "ctime": v.ctime, "mark": m, "type": v.subtype.clone().unwrap_or_default(), "vmid": v.vmid})
            }).collect::<Vec<_>>())))
        }
        ("DELETE", [id, "prunebackups"]) => {
            ctx.require(&storage_path(id), &["Datastore.Allocate"])?;
            let mut c = ctx.write();
            let s = get_storage(&c, node, id)?.clone();
            let marks = super::backup::prune_marks(&c, &s, node, ctx)?;
            let remove: BTreeSet<String> = marks
                .iter()
                .filter(|(_, m)| *m == "remove")
                .map(|(v, _)| v.volid.clone())
                .collect();
            let log: Vec<String> = marks
                .iter()
                .map(|(v, m)| format!("{}: {m}", v.volid))
                .collect();
            let effect = Box::new(move |c: &mut Cluster| {
                c.volumes.retain(|v| !remove.contains(&v.volid));
                Ok(Vec::new())
            });
            let upid = ctx.start_task(&mut c, node, "prunebackups", id, 1.0, log, Some(effect));
            Ok(Reply::string(upid))
        }
        _ => Err(ctx.not_impl()),
    }
}

fn audit(ctx: &Ctx, id: &str) -> Result<(), PveError> {
    ctx.require_any(
        &storage_path(id),
        &["Datastore.Audit", "Datastore.AllocateSpace"],
    )
}

fn full_volid(id: &str, vol: &str) -> String {
    if vol.contains(':') {
        vol.to_string()
    } else {
        format!("{id}:{vol}")
    }
}

fn find_volume<'c>(
    c: &'c Cluster,
    node: &str,
    id: &str,
    volid: &str,
) -> Result<&'c Volume, PveError> {
    c.volumes
        .iter()
        .find(|v| v.volid == volid && v.storage == id && v.visible_on(node))
        .ok_or_else(|| PveError::internal(format!("volume '{volid}' does not exist")))
}

fn content(ctx: &Ctx, node: &str, id: &str) -> ApiResult {
    audit(ctx, id)?;
    let c = ctx.read();
    let s = get_storage(&c, node, id)?;
    let filter = ctx.params.str("content");
    let vmid = ctx.params.int("vmid")?;
    let mut out: Vec<Value> = c
        .volumes
        .iter()
        .filter(|v| v.storage == id && v.visible_on(node))
        .map(Volume::content_json)
        .collect();
    for img in c.images(s, node) {
        out.push(json!({"volid": img.volid, "content": img.content, "format": img.format, "size": img.size,
            "used": img.size / 3, "vmid": img.vmid, "ctime": crate::state::GEN_EPOCH - 86_400 * 30}));
    }
    out.retain(|v| {
        filter.as_deref().is_none_or(|f| v["content"] == f)
            && vmid.is_none_or(|id| v["vmid"].as_i64() == Some(id))
            && v["vmid"].as_u64().is_none_or(|id| {
                let pool = c.guests.get(&(id as u32)).and_then(|g| g.pool.as_deref());
                ctx.can_vm(id as u32, pool, "VM.Audit")
                    || ctx.perms.has(&storage_path(&s.id), "Datastore.Allocate")
            })
    });
    Ok(Reply::json(json!(out)))
}

fn alloc(ctx: &Ctx, node: &str, id: &str) -> ApiResult {
    ctx.require(&storage_path(id), &["Datastore.AllocateSpace"])?;
    let p = &ctx.params;
    let vmid = super::guests::parse_vmid(&p.req("vmid")?)?;
    let filename = p.req("filename")?;
    let size = p.req("size")?;
    let bytes = crate::util::parse_size(&size)
        .ok_or_else(|| PveError::param("size", "value does not match the regex pattern"))?;
    let bytes = if size.chars().all(|c| c.is_ascii_digit()) {
        bytes << 10
    } else {
        bytes
    };
    let mut c = ctx.write();
    let s = get_storage(&c, node, id)?.clone();
    let volid = format!("{id}:{filename}");
    if c.volumes.iter().any(|v| v.volid == volid) {
        return Err(PveError::internal(format!(
            "volume '{volid}' already exists"
        )));
    }
    c.volumes.push(Volume {
        volid: volid.clone(),
        storage: id.to_string(),
        node: (!s.shared).then(|| node.to_string()),
        content: "images".into(),
        format: if filename.ends_with(".qcow2") {
            "qcow2".into()
        } else {
            "raw".into()
        },
        size: bytes,
        ctime: ctx.now,
        vmid: Some(vmid),
        subtype: None,
        notes: None,
        protected: false,
    });
    Ok(Reply::string(volid))
}

fn delete_volume(ctx: &Ctx, node: &str, id: &str, vol: &str) -> ApiResult {
    let volid = full_volid(id, vol);
    let mut c = ctx.write();
    let s = get_storage(&c, node, id)?.clone();
    if let Some(img) = c.images(&s, node).into_iter().find(|i| i.volid == volid) {
        ctx.require(&storage_path(id), &["Datastore.Allocate"])?;
        return Err(PveError::internal(format!(
            "unable to delete volume '{volid}' - volume is used by VM {} (remove it from the guest configuration first)",
            img.vmid
        )));
    }
    let v = find_volume(&c, node, id, &volid)?.clone();
    if v.content == "backup" {
        let pool = v
            .vmid
            .and_then(|id| c.guests.get(&id))
            .and_then(|g| g.pool.clone());
        let vm_ok = v
            .vmid
            .is_some_and(|id| ctx.can_vm(id, pool.as_deref(), "VM.Backup"));
        if !(ctx.perms.has(&storage_path(id), "Datastore.Allocate")
            || (vm_ok && ctx.perms.has(&storage_path(id), "Datastore.AllocateSpace")))
        {
            return Err(PveError::forbidden(&storage_path(id), "Datastore.Allocate"));
        }
    } else {
        ctx.require(&storage_path(id), &["Datastore.Allocate"])?;
    }
    if v.protected {
        return Err(PveError::internal("cannot delete protected backup file"));
    }
    let vid = volid.clone();
    let effect = Box::new(move |c: &mut Cluster| {
        c.volumes.retain(|x| x.volid != vid);
        Ok(Vec::new())
    });
    let log = vec![format!("Removed volume '{volid}'")];
    let upid = ctx.start_task(&mut c, node, "imgdel", "", 0.5, log, Some(effect));
    Ok(Reply::string(upid))
}

fn download(ctx: &Ctx, node: &str, id: &str) -> ApiResult {
    ctx.require(&storage_path(id), &["Datastore.AllocateTemplate"])?;
    ctx.require(&format!("/nodes/{node}"), &["Sys.Audit", "Sys.Modify"])?;
    let p = &ctx.params;
    let url = p.req("url")?;
    let filename = p.req("filename")?;
    let content = p.req("content")?;
    if !matches!(content.as_str(), "iso" | "vztmpl" | "import") {
        return Err(PveError::param(
            "content",
            format!(
                "value '{content}' does not have a value in the enumeration 'iso, vztmpl, import'"
            ),
        ));
    }
    check_download(
        &url,
        &filename,
        &content,
        p.str("checksum"),
        p.str("checksum-algorithm"),
    )?;
    let mut c = ctx.write();
    let s = get_storage(&c, node, id)?.clone();
    if !s.has_content(&content) {
        return Err(PveError::internal(format!(
            "storage '{id}' is not configured for content-type '{content}'"
        )));
    }
    let volid = format!("{id}:{content}/{filename}");
    if c.volumes
        .iter()
        .any(|v| v.volid == volid && v.visible_on(node))
    {
        return Err(PveError::internal(format!(
            "refusing to override existing file '{filename}'"
        )));
    }
    let size = 300_000_000 + crate::util::mix(url.len() as u64) % 500_000_000;
    let n = node.to_string();
    let now = ctx.now;
    let effect = Box::new(move |c: &mut Cluster| {
        c.volumes.push(Volume {
            volid,
            storage: s.id.clone(),
            node: (!s.shared).then(|| n.clone()),
            content: content.clone(),
            format: match content.as_str() {
                "iso" => "iso".into(),
                _ if filename.ends_with(".tar.xz") => "txz".into(),
                _ => "tzst".into(),
            },
            size,
            ctime: now,
            vmid: None,
            subtype: None,
            notes: None,
            protected: false,
        });
        Ok(vec![format!(
            "download of '{url}' to '{filename}' finished"
        )])
    });
    let log = vec![
        format!("downloading {} to {}", p.req("url")?, p.req("filename")?),
        "--2025-06-01 00:00:00--  (try: 1)".into(),
        "Length: 661651456 (631M) [application/octet-stream]".into(),
        " 50% [=================>                 ] 330.8M  110MB/s".into(),
    ];
    let upid = ctx.start_task(
        &mut c,
        node,
        "download",
        &p.req("filename")?,
        3.0,
        log,
        Some(effect),
    );
    Ok(Reply::string(upid))
}

/// PVE's checks before a download starts: an http(s) URL (the schema pattern), a checksum
/// together with its algorithm, and a file name that fits the content type.
fn check_download(
    url: &str,
    filename: &str,
    content: &str,
    checksum: Option<String>,
    algorithm: Option<String>,
) -> Result<(), PveError> {
    if !(url.starts_with("http://") || url.starts_with("https://")) {
        return Err(PveError::param(
            "url",
            "value does not match the regex pattern",
        ));
    }
    match (checksum, algorithm) {
        (Some(_), None) => {
            return Err(PveError::param(
                "checksum-algorithm",
                "'checksum-algorithm' is required when 'checksum' is set",
            ));
        }
        (None, Some(_)) => {
            return Err(PveError::param(
                "checksum",
                "'checksum' is required when 'checksum-algorithm' is set",
            ));
        }
        _ => {}
    }
    if filename.contains('/') || filename.starts_with('.') {
        return Err(PveError::param("filename", "invalid filename"));
    }
    let fits = match content {
        "iso" => filename.ends_with(".iso") || filename.ends_with(".img"),
        "vztmpl" => [".tar.gz", ".tar.xz", ".tar.zst", ".tar.bz2", ".tgz"]
            .iter()
            .any(|e| filename.ends_with(e)),
        _ => true,
    };
    if !fits {
        return Err(PveError::param(
            "filename",
            format!("invalid filename or wrong extension for content type '{content}'"),
        ));
    }
    Ok(())
}
