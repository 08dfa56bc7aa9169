//! Guest snapshots: list, create, delete, rollback and per-snapshot config.

use serde_json::{Value, json};

use super::Ctx;
use super::envelope::{ApiResult, PveError, Reply};
use super::guest_config::config_json;
use super::guests::{lookup, lookup_mut, pool_of};
use crate::state::Cluster;
use crate::state::generate::add_snapshot;
use crate::state::guest::{Kind, Power};

pub fn route(ctx: &Ctx, node: &str, kind: Kind, vmid: u32, rest: &[&str]) -> ApiResult {
    let pool = pool_of(&ctx.read(), vmid);
    let pool = pool.as_deref();
    match (ctx.method, rest) {
        ("GET", []) => {
            ctx.require_vm(vmid, pool, &["VM.Audit"])?;
            list(ctx, node, kind, vmid)
        }
        ("POST", []) => {
            ctx.require_vm(vmid, pool, &["VM.Snapshot"])?;
            create(ctx, node, kind, vmid)
        }
        ("GET", [name]) => {
            ctx.require_vm(vmid, pool, &["VM.Audit"])?;
            existing(ctx, node, kind, vmid, name)?;
            Ok(Reply::json(json!([{"cmd": "rollback"}, {"cmd": "config"}])))
        }
        ("DELETE", [name]) => {
            ctx.require_vm(vmid, pool, &["VM.Snapshot"])?;
            delete(ctx, node, kind, vmid, name)
        }
        ("POST", [name, "rollback"]) => {
            ctx.require_vm_any(vmid, pool, &["VM.Snapshot", "VM.Snapshot.Rollback"])?;
            rollback(ctx, node, kind, vmid, name)
        }
        ("GET", [name, "config"]) => {
            ctx.require_vm(vmid, pool, &["VM.Audit"])?;
            let c = ctx.read();
            let g = lookup(&c, node, kind, vmid)?;
            let s = g
                .snapshots
                .get(*name)
                .ok_or_else(|| PveError::internal(format!("snapshot '{name}' does not exist")))?;
            let mut m = config_json(&s.config);
            m.insert("snaptime".into(), json!(s.snaptime));
            if !s.description.is_empty() {
                m.insert("description".into(), json!(s.description));
            }
            if let Some(p) = &s.parent {
                m.insert("parent".into(), json!(p));
            }
            if s.vmstate {
                m.insert(
                    "vmstate".into(),
                    json!(format!("local-lvm:vm-{vmid}-state-{name}")),
                );
            }
            Ok(Reply::json(Value::Object(m)))
        }
        ("PUT", [name, "config"]) => {
            ctx.require_vm(vmid, pool, &["VM.Snapshot"])?;
            let mut c = ctx.write();
            let g = lookup_mut(&mut c, node, kind, vmid)?;
            let s = g
                .snapshots
                .get_mut(*name)
                .ok_or_else(|| PveError::internal(format!("snapshot '{name}' does not exist")))?;
            if let Some(d) = ctx.params.str("description") {
                s.description = d;
            }
            Ok(Reply::null())
        }
        _ => Err(ctx.not_impl()),
    }
}

fn existing(ctx: &Ctx, node: &str, kind: Kind, vmid: u32, name: &str) -> Result<(), PveError> {
    let c = ctx.read();
    let g = lookup(&c, node, kind, vmid)?;
    if g.snapshots.contains_key(name) {
        Ok(())
    } else {
        Err(PveError::internal(format!(
            "snapshot '{name}' does not exist"
        )))
    }
}

fn list(ctx: &Ctx, node: &str, kind: Kind, vmid: u32) -> ApiResult {
    let c = ctx.read();
    let g = lookup(&c, node, kind, vmid)?;
    let mut out = Vec::new();
    for (name, s) in &g.snapshots {
        let mut v = json!({"name": name, "description": s.description, "snaptime": s.snaptime});
        if kind == Kind::Qemu {
            v["vmstate"] = json!(u8::from(s.vmstate));
        }
        if let Some(p) = &s.parent {
            v["parent"] = json!(p);
        }
        out.push(v);
    }
    let mut cur = json!({"name": "current", "description": "You are here!", "digest": g.digest()});
    if kind == Kind::Qemu {
        cur["running"] = json!(u8::from(g.is_running()));
    }
    if let Some(p) = g.current_parent() {
        cur["parent"] = json!(p);
    }
    out.push(cur);
    Ok(Reply::json(json!(out)))
}

fn valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        && name.len() <= 40
}

fn gone(node: &str, kind: Kind, vmid: u32) -> String {
    let dir = if kind == Kind::Qemu {
        "qemu-server"
    } else {
        "lxc"
    };
    format!("Configuration file 'nodes/{node}/{dir}/{vmid}.conf' does not exist")
}

fn create(ctx: &Ctx, node: &str, kind: Kind, vmid: u32) -> ApiResult {
    let name = ctx.params.req("snapname")?;
    if !valid_name(&name) {
        return Err(PveError::param(
            "snapname",
            format!("invalid configuration ID '{name}'"),
        ));
    }
    if name == "current" || name == "vzdump" {
        return Err(PveError::param(
            "snapname",
            format!("invalid snapshot name '{name}'"),
        ));
    }
    let description = ctx.params.str("description").unwrap_or_default();
    let vmstate = ctx.params.flag("vmstate")?;
    let mut c = ctx.write();
    let g = lookup(&c, node, kind, vmid)?;
    if g.snapshots.contains_key(&name) {
        return Err(PveError::internal(format!(
            "snapshot name '{name}' already used"
        )));
    }
    if let Some(l) = g.lock() {
        return Err(PveError::internal(format!(
            "{} is locked ({l})",
            kind.label()
        )));
    }
    if vmstate && !g.is_running() {
        return Err(PveError::internal(
            "unable to save VM state - VM is not running",
        ));
    }
    let label = kind.label();
    let disks: Vec<String> = g.disk_volumes().into_iter().map(|(k, _, _)| k).collect();
    if let Some(g) = c.guests.get_mut(&vmid) {
        g.config.insert("lock".into(), "snapshot".into());
    }
    let mut log: Vec<String> = disks
        .iter()
        .map(|d| format!("snapshotting '{d}' (local-lvm:vm-{vmid}-disk-0)"))
        .collect();
    if vmstate {
        log.insert(
            0,
            "saving VM state and RAM using storage 'local-lvm'".into(),
        );
    }
    let _ = label;
    let n = node.to_string();
    let effect = Box::new(move |c: &mut Cluster| {
        let now = crate::util::now_epoch();
        let g = c
            .guest_on_mut(&n, kind, vmid)
            .ok_or_else(|| gone(&n, kind, vmid))?;
        g.config.remove("lock");
        add_snapshot(g, &name, &description, now);
        if let Some(s) = g.snapshots.get_mut(&name) {
            s.vmstate = vmstate;
        }
        Ok(Vec::new())
    });
    let tt = format!("{}snapshot", kind.task_prefix());
    let upid = ctx.start_task(&mut c, node, &tt, &vmid.to_string(), 2.0, log, Some(effect));
    Ok(Reply::string(upid))
}

fn delete(ctx: &Ctx, node: &str, kind: Kind, vmid: u32, name: &str) -> ApiResult {
    let mut c = ctx.write();
    let g = lookup(&c, node, kind, vmid)?;
    if !g.snapshots.contains_key(name) {
        return Err(PveError::internal(format!(
            "snapshot '{name}' does not exist"
        )));
    }
    if let Some(l) = g.lock()
        && !ctx.params.flag("force")?
    {
        return Err(PveError::internal(format!(
            "{} is locked ({l})",
            kind.label()
        )));
    }
    let n = node.to_string();
    let snap = name.to_string();
    let effect = Box::new(move |c: &mut Cluster| {
        let g = c
            .guest_on_mut(&n, kind, vmid)
            .ok_or_else(|| gone(&n, kind, vmid))?;
        let removed = g
            .snapshots
            .remove(&snap)
            .ok_or_else(|| format!("snapshot '{snap}' does not exist"))?;
        for s in g.snapshots.values_mut() {
            if s.parent.as_deref() == Some(snap.as_str()) {
                s.parent = removed.parent.clone();
            }
        }
        if g.current_parent().as_deref() == Some(snap.as_str()) {
            match removed.parent {
                Some(p) => g.config.insert("parent".into(), p),
                None => g.config.remove("parent"),
            };
        }
        Ok(Vec::new())
    });
    let tt = format!("{}delsnapshot", kind.task_prefix());
    let log = vec![format!("delete snapshot '{name}'")];
    let upid = ctx.start_task(&mut c, node, &tt, &vmid.to_string(), 1.5, log, Some(effect));
    Ok(Reply::string(upid))
}

fn rollback(ctx: &Ctx, node: &str, kind: Kind, vmid: u32, name: &str) -> ApiResult {
    let start = ctx.params.flag("start")?;
    let mut c = ctx.write();
    let g = lookup(&c, node, kind, vmid)?;
    if !g.snapshots.contains_key(name) {
        return Err(PveError::internal(format!(
            "snapshot '{name}' does not exist"
        )));
    }
    if let Some(l) = g.lock() {
        return Err(PveError::internal(format!(
            "{} is locked ({l})",
            kind.label()
        )));
    }
    let n = node.to_string();
    let snap = name.to_string();
    let effect = Box::new(move |c: &mut Cluster| {
        let now = crate::util::now_epoch();
        let g = c
            .guest_on_mut(&n, kind, vmid)
            .ok_or_else(|| gone(&n, kind, vmid))?;
        let s = g
            .snapshots
            .get(&snap)
            .cloned()
            .ok_or_else(|| format!("snapshot '{snap}' does not exist"))?;
        g.config = s.config.clone();
        g.config.insert("parent".into(), snap.clone());
        g.pending.clear();
        g.pending_delete.clear();
        if s.vmstate || start {
            g.power = Power::Running;
            g.started_at = now;
        } else {
            g.power = Power::Stopped;
        }
        g.refresh();
        Ok(Vec::new())
    });
    let tt = format!("{}rollback", kind.task_prefix());
    let log = vec![format!("rollback to snapshot '{name}'")];
    let upid = ctx.start_task(&mut c, node, &tt, &vmid.to_string(), 2.0, log, Some(effect));
    Ok(Reply::string(upid))
}
