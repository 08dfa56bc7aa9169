//! Guest migration: the `GET .../migrate` preflight and the migrate task.

use serde_json::json;

use super::Ctx;
use super::envelope::{ApiResult, PveError, Reply};
use super::guests::{lookup, pool_of};
use super::lifecycle::{lock_error, with_guest};
use crate::state::Cluster;
use crate::state::guest::{Guest, Kind};

fn local_disks(c: &Cluster, g: &Guest) -> Vec<(String, String, u64)> {
    g.disk_volumes()
        .into_iter()
        .filter(|(_, v, _)| {
            v.split(':')
                .next()
                .and_then(|s| c.storage(s))
                .is_some_and(|s| !s.shared)
        })
        .collect()
}

/// `GET .../migrate` (preflight).
pub fn migrate_preflight(ctx: &Ctx, node: &str, kind: Kind, vmid: u32) -> ApiResult {
    let c = ctx.read();
    ctx.require_vm(vmid, pool_of(&c, vmid).as_deref(), &["VM.Migrate"])?;
    let g = lookup(&c, node, kind, vmid)?;
    let allowed: Vec<&str> = c
        .nodes
        .iter()
        .filter(|n| n.name != node && c.node_online(&n.name))
        .map(|n| n.name.as_str())
        .collect();
    let mut not_allowed = serde_json::Map::new();
    for n in c
        .nodes
        .iter()
        .filter(|n| n.name != node && !c.node_online(&n.name))
    {
        not_allowed.insert(n.name.clone(), json!({"unavailable_storages": []}));
    }
    let disks: Vec<_> = local_disks(&c, g)
        .into_iter()
        .map(|(k, v, size)| json!({"volid": v, "size": size, "drivename": k, "is_attached": 1, "cdrom": 0, "is_vmstate": 0}))
        .collect();
    let v = match kind {
        Kind::Qemu => json!({
            "running": u8::from(g.is_running()),
            "allowed_nodes": allowed,
            "not_allowed_nodes": not_allowed,
            "local_disks": disks,
            "local_resources": [],
            "mapped-resources": [],
            "mapped-resource-info": {},
        }),
        Kind::Lxc => json!({
            "running": u8::from(g.is_running()),
            "allowed-nodes": allowed,
            "not-allowed-nodes": not_allowed,
        }),
    };
    Ok(Reply::json(v))
}

/// `POST .../migrate`.
pub fn migrate(ctx: &Ctx, node: &str, kind: Kind, vmid: u32) -> ApiResult {
    let p = &ctx.params;
    let target = p.req("target")?;
    let online = p.flag("online")?;
    let restart = p.flag("restart")?;
    let with_local = p.flag("with-local-disks")?;
    let mut c = ctx.write();
    ctx.require_vm(vmid, pool_of(&c, vmid).as_deref(), &["VM.Migrate"])?;
    let g = lookup(&c, node, kind, vmid)?;
    if target == node {
        return Err(PveError::internal("target is local node."));
    }
    if c.node(&target).is_none() {
        return Err(PveError::internal(format!(
            "no such cluster node '{target}'"
        )));
    }
    if !c.node_online(&target) {
        return Err(PveError::internal(format!(
            "target node '{target}' is not online"
        )));
    }
    if let Some(l) = g.lock() {
        return Err(lock_error(kind, l));
    }
    let running = g.is_running();
    match kind {
        Kind::Qemu if running && !online => {
            return Err(PveError::internal(
                "can't migrate running VM without --online",
            ));
        }
        Kind::Lxc if running && !restart && !online => {
            return Err(PveError::internal(
                "CT is running - use --restart to migrate",
            ));
        }
        _ => {}
    }
    let local = local_disks(&c, g);
    if kind == Kind::Qemu && running && !local.is_empty() && !with_local {
        return Err(PveError::internal(format!(
            "can't live migrate attached local disks without with-local-disks option ({})",
            local
                .iter()
                .map(|(_, v, _)| v.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        )));
    }
    let mut log = vec![format!(
        "starting migration of {} {vmid} to node '{target}' ({})",
        kind.label(),
        c.node(&target).map(|n| n.ip.clone()).unwrap_or_default()
    )];
    for (k, v, _) in &local {
        log.push(format!("found local disk '{v}' (attached to {k})"));
    }
    if running {
        log.push("starting VM on remote node".into());
        log.push("migration active, transferred 1.2 GiB of 4.0 GiB VM-state".into());
    }
    log.push("migration finished successfully".into());
    if let Some(g) = c.guests.get_mut(&vmid) {
        g.config.insert("lock".into(), "migrate".into());
    }
    let n = node.to_string();
    let t = target.clone();
    let effect = Box::new(move |c: &mut Cluster| {
        with_guest(c, &n, kind, vmid, |g, _| {
            g.config.remove("lock");
            g.node = t;
            Ok(Vec::new())
        })
    });
    let tt = if kind == Kind::Qemu {
        "qmigrate"
    } else {
        "vzmigrate"
    };
    let upid = ctx.start_task(&mut c, node, tt, &vmid.to_string(), 6.0, log, Some(effect));
    Ok(Reply::string(upid))
}
