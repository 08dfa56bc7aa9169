//! `/cluster` (status, resources, nextid, tasks, options, HA, backup jobs, mappings) and
//! `/pools`.

use std::collections::BTreeSet;

use serde::Serialize;
use serde_json::{Value, json};

use super::envelope::{ApiResult, PveError, Reply};
use super::guests::GuestRes;
use super::router::index;
use super::{Ctx, firewall, jobs, mapping, network};
use crate::state::Cluster;
use crate::state::metrics;

pub fn route(ctx: &Ctx, rest: &[&str]) -> ApiResult {
    match (ctx.method, rest) {
        ("GET", []) => Ok(index(&[
            "log",
            "options",
            "resources",
            "tasks",
            "backup",
            "backup-info",
            "ha",
            "firewall",
            "sdn",
            "mapping",
            "config",
            "status",
            "nextid",
        ])),
        ("GET", ["status"]) => status(ctx),
        ("GET", ["resources"]) => resources(ctx),
        ("GET", ["nextid"]) => nextid(ctx),
        ("GET", ["tasks"]) => super::tasks::cluster_tasks(ctx),
        ("GET", ["options"]) => {
            ctx.require("/", &["Sys.Audit"])?;
            Ok(Reply::json(Value::Object(ctx.read().options.clone())))
        }
        ("PUT", ["options"]) => {
            ctx.require("/", &["Sys.Modify"])?;
            let mut c = ctx.write();
            let opts = &mut c.options;
            for k in ctx.params.split_list("delete") {
                opts.remove(&k);
            }
            for (k, v) in ctx.params.strings() {
                if k != "delete" {
                    opts.insert(k, Value::String(v));
                }
            }
            Ok(Reply::null())
        }
        (_, ["ha", rest @ ..]) => jobs::route_ha(ctx, rest),
        (_, ["backup", rest @ ..]) => jobs::route_backup(ctx, rest),
        (_, ["backup-info", rest @ ..]) => jobs::route_backup_info(ctx, rest),
        (_, ["firewall", rest @ ..]) => firewall::route_cluster(ctx, rest),
        (_, ["sdn", rest @ ..]) => network::route_sdn(ctx, rest),
        (_, ["mapping", rest @ ..]) => mapping::route(ctx, rest),
        ("POST", ["config", "join"]) => join(ctx),
        _ => Err(ctx.not_impl()),
    }
}

/// `POST /cluster/config/join`: root@pam only. The node answering is already a cluster member,
/// so, like PVE, the join worker starts and fails its pre-checks.
pub fn join(ctx: &Ctx) -> ApiResult {
    if !ctx.perms.is_root() {
        return Err(PveError::forbidden_msg("user != root@pam"));
    }
    ctx.params.req("hostname")?;
    let mut c = ctx.write();
    let node = c
        .nodes
        .first()
        .map(|n| n.name.clone())
        .ok_or_else(|| PveError::internal("no node"))?;
    let effect: crate::state::task::Effect = Box::new(|_| {
        Err("detected the following error(s):\n* cluster config \
             '/etc/pve/corosync.conf' already exists\n* this host already contains \
             virtual guests"
            .into())
    });
    let upid = ctx.start_task(
        &mut c,
        &node,
        "clusterjoin",
        "",
        1.0,
        Vec::new(),
        Some(effect),
    );
    Ok(Reply::string(upid))
}

fn status(ctx: &Ctx) -> ApiResult {
    ctx.require("/", &["Sys.Audit"])?;
    let c = ctx.read();
    let online = c.nodes.iter().filter(|n| c.node_online(&n.name)).count();
    let mut out = vec![json!({
        "type": "cluster", "id": "cluster", "name": c.name, "nodes": c.nodes.len(),
        "quorate": u8::from(online * 2 > c.nodes.len()), "version": 3 + c.nodes.len(),
    })];
    for (i, n) in c.nodes.iter().enumerate() {
        out.push(json!({
            "type": "node", "id": format!("node/{}", n.name), "name": n.name, "nodeid": n.nodeid,
            "ip": n.ip, "online": u8::from(c.node_online(&n.name)), "local": u8::from(i == 0),
            "level": n.level,
        }));
    }
    Ok(Reply::json(json!(out)))
}

#[derive(Serialize)]
struct NodeRes<'a> {
    id: String,
    #[serde(rename = "type")]
    kind: &'static str,
    node: &'a str,
    status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    maxcpu: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    cpu: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    mem: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    maxmem: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    disk: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    maxdisk: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    uptime: Option<u64>,
    level: &'a str,
    #[serde(rename = "cgroup-mode", skip_serializing_if = "Option::is_none")]
    cgroup_mode: Option<u8>,
}

#[derive(Serialize)]
struct StorageRes<'a> {
    id: String,
    #[serde(rename = "type")]
    kind: &'static str,
    node: &'a str,
    storage: &'a str,
    plugintype: &'a str,
    content: &'a str,
    shared: u8,
    status: &'static str,
    disk: u64,
    maxdisk: u64,
}

/// Per-node sums of running guests' memory and CPU (for node metrics).
pub fn node_load(c: &Cluster, now: u64) -> std::collections::HashMap<&str, (u64, f64)> {
    let mut m: std::collections::HashMap<&str, (u64, f64)> = std::collections::HashMap::new();
    for g in c.guests.values().filter(|g| g.is_running()) {
        let gm = metrics::guest(c.seed, g, now);
        let e = m.entry(g.node.as_str()).or_default();
        e.0 += gm.mem;
        e.1 += gm.cpu * f64::from(g.derived.maxcpu);
    }
    m
}

fn resources(ctx: &Ctx) -> ApiResult {
    let filter = ctx.params.str("type");
    if let Some(f) = &filter
        && !matches!(f.as_str(), "vm" | "storage" | "node" | "sdn")
    {
        return Err(PveError::param(
            "type",
            format!(
                "value '{f}' does not have a value in the enumeration 'vm, storage, node, sdn'"
            ),
        ));
    }
    let want = |t: &str| filter.as_deref().is_none_or(|f| f == t);
    let c = ctx.read();
    let now = ctx.now;
    let mut out: Vec<u8> = Vec::with_capacity(c.guests.len() * 300 + 4096);
    out.push(b'[');
    let mut first = true;
    let mut push = |out: &mut Vec<u8>, v: &dyn erased::Ser| {
        if !first {
            out.push(b',');
        }
        first = false;
        v.write(out);
    };
    if want("vm") {
        let ha: BTreeSet<u32> = c
            .ha_resources
            .keys()
            .filter_map(|s| s.split(':').nth(1).and_then(|v| v.parse().ok()))
            .collect();
        for g in c.guests.values() {
            if !ctx.can_vm(g.vmid, g.pool.as_deref(), "VM.Audit") {
                continue;
            }
            let online = c.node_online(&g.node);
            let r = GuestRes::new(&c, g, now, online, ha.contains(&g.vmid));
            push(&mut out, &r);
        }
    }
    if want("node") {
        let load = node_load(&c, now);
        for n in &c.nodes {
            if !ctx.perms.has(&format!("/nodes/{}", n.name), "Sys.Audit") {
                continue;
            }
            let r = if c.node_online(&n.name) {
                let (gm, gc) = load.get(n.name.as_str()).copied().unwrap_or_default();
                let m = metrics::node(c.seed, n, now, c.started, gm, gc);
                NodeRes {
                    id: format!("node/{}", n.name),
                    kind: "node",
                    node: &n.name,
                    status: "online",
                    maxcpu: Some(n.cpus),
                    cpu: Some(m.cpu),
                    mem: Some(m.mem),
                    maxmem: Some(n.memory),
                    disk: Some(m.disk),
                    maxdisk: Some(n.rootfs),
                    uptime: Some(m.uptime),
                    level: &n.level,
                    cgroup_mode: Some(2),
                }
            } else {
                NodeRes {
                    id: format!("node/{}", n.name),
                    kind: "node",
                    node: &n.name,
                    status: "offline",
                    maxcpu: None,
                    cpu: None,
                    mem: None,
                    maxmem: None,
                    disk: None,
                    maxdisk: None,
                    uptime: None,
                    level: &n.level,
                    cgroup_mode: None,
                }
            };
            push(&mut out, &r);
        }
    }
    if want("storage") {
        let usage = c.storage_usage_all();
        for n in &c.nodes {
            let online = c.node_online(&n.name);
            for s in c
                .storages
                .iter()
                .filter(|s| s.available_on(&n.name) && !s.disable)
            {
                if !ctx.perms.has_any(
                    &format!("/storage/{}", s.id),
                    &["Datastore.Audit", "Datastore.AllocateSpace"],
                ) {
                    continue;
                }
                let r = StorageRes {
                    id: format!("storage/{}/{}", n.name, s.id),
                    kind: "storage",
                    node: &n.name,
                    storage: &s.id,
                    plugintype: &s.kind,
                    content: &s.content,
                    shared: u8::from(s.shared),
                    status: if online { "available" } else { "unknown" },
                    disk: usage
                        .get(&(s.id.clone(), n.name.clone()))
                        .copied()
                        .unwrap_or(0),
                    maxdisk: s.total,
                };
                push(&mut out, &r);
            }
        }
    }
    if filter.is_none() {
        for id in c.pools.keys() {
            if !ctx.perms.has(&format!("/pool/{id}"), "Pool.Audit") {
                continue;
            }
            push(
                &mut out,
                &json!({"id": format!("pool/{id}"), "type": "pool", "pool": id}),
            );
        }
    }
    if want("sdn") {
        for n in &c.nodes {
            let online = c.node_online(&n.name);
            for (zone, z) in &c.sdn_zones {
                if !ctx.perms.has(&format!("/sdn/zones/{zone}"), "SDN.Audit") {
                    continue;
                }
                push(
                    &mut out,
                    &json!({"id": format!("sdn/{}/{zone}", n.name), "type": "sdn", "sdn": zone,
                        "node": n.name, "status": if online { "ok" } else { "unknown" },
                        "zone-type": z.get("type").cloned().unwrap_or(json!("simple"))}),
                );
            }
        }
    }
    out.push(b']');
    Ok(Reply::raw(out))
}

/// Tiny object-safe serialisation helper for mixing entry types in one list.
mod erased {
    pub trait Ser {
        fn write(&self, out: &mut Vec<u8>);
    }
    impl<T: serde::Serialize> Ser for T {
        fn write(&self, out: &mut Vec<u8>) {
            let _ = serde_json::to_writer(out, self);
        }
    }
}

fn nextid(ctx: &Ctx) -> ApiResult {
    let c = ctx.read();
    if let Some(v) = ctx.params.int("vmid")? {
        if !(100..=999_999_999).contains(&v) {
            return Err(PveError::param(
                "vmid",
                "value does not look like a valid VM ID",
            ));
        }
        if c.guests.contains_key(&(v as u32)) {
            return Err(PveError::param("vmid", format!("VM {v} already exists")));
        }
        return Ok(Reply::string(v.to_string()));
    }
    let lower = c
        .options
        .get("next-id")
        .and_then(Value::as_str)
        .and_then(|s| crate::util::prop_get(s, "lower"))
        .and_then(|s| s.parse::<u32>().ok())
        .unwrap_or(100);
    let mut id = lower.max(100);
    while c.guests.contains_key(&id) {
        id += 1;
    }
    Ok(Reply::string(id.to_string()))
}

/// `/pools` and `/pools/{poolid}`.
pub fn route_pools(ctx: &Ctx, rest: &[&str]) -> ApiResult {
    match (ctx.method, rest) {
        ("GET", []) => {
            let c = ctx.read();
            let only = ctx.params.str("poolid");
            let mut out = Vec::new();
            for (id, p) in &c.pools {
                if only.as_deref().is_some_and(|o| o != id) {
                    continue;
                }
                if !ctx
                    .perms
                    .has_any(&format!("/pool/{id}"), &["Pool.Audit", "Pool.Allocate"])
                {
                    continue;
                }
                let mut v = json!({"poolid": id});
                if let Some(cm) = &p.comment {
                    v["comment"] = json!(cm);
                }
                if only.is_some() {
                    v["members"] = json!(pool_members(ctx, &c, id));
                }
                out.push(v);
            }
            Ok(Reply::json(json!(out)))
        }
        ("POST", []) => {
            let id = ctx.params.req("poolid")?;
            ctx.require(&format!("/pool/{id}"), &["Pool.Allocate"])?;
            let mut c = ctx.write();
            if c.pools.contains_key(&id) {
                return Err(PveError::internal(format!(
                    "create pool failed: pool '{id}' already exists"
                )));
            }
            c.pools.insert(
                id,
                crate::state::Pool {
                    comment: ctx.params.str("comment"),
                    ..Default::default()
                },
            );
            Ok(Reply::null())
        }
        ("PUT", []) => update_pool(ctx, &ctx.params.req("poolid")?),
        ("DELETE", []) => delete_pool(ctx, &ctx.params.req("poolid")?),
        ("GET", [id]) => {
            ctx.require_any(&format!("/pool/{id}"), &["Pool.Audit", "Pool.Allocate"])?;
            let c = ctx.read();
            let p = c
                .pools
                .get(*id)
                .ok_or_else(|| PveError::internal(format!("pool '{id}' does not exist")))?;
            let mut v = json!({"members": pool_members(ctx, &c, id)});
            if let Some(cm) = &p.comment {
                v["comment"] = json!(cm);
            }
            Ok(Reply::json(v))
        }
        ("PUT", [id]) => update_pool(ctx, id),
        ("DELETE", [id]) => delete_pool(ctx, id),
        _ => Err(ctx.not_impl()),
    }
}

fn pool_members(ctx: &Ctx, c: &Cluster, id: &str) -> Vec<Value> {
    let mut out = Vec::new();
    for g in c.guests.values().filter(|g| g.pool.as_deref() == Some(id)) {
        if !ctx.can_vm(g.vmid, g.pool.as_deref(), "VM.Audit") {
            continue;
        }
        let r = GuestRes::new(c, g, ctx.now, c.node_online(&g.node), false);
        out.push(serde_json::to_value(&r).unwrap_or(Value::Null));
    }
    if let Some(p) = c.pools.get(id) {
        for sid in &p.storages {
            if let Some(s) = c.storage(sid) {
                for n in c.nodes.iter().filter(|n| s.available_on(&n.name)) {
                    out.push(json!({"id": format!("storage/{}/{sid}", n.name), "type": "storage",
                        "storage": sid, "node": n.name, "plugintype": s.kind, "content": s.content,
                        "shared": u8::from(s.shared), "maxdisk": s.total, "disk": c.storage_used(s, &n.name),
                        "status": "available"}));
                }
            }
        }
    }
    out
}

fn update_pool(ctx: &Ctx, id: &str) -> ApiResult {
    ctx.require(&format!("/pool/{id}"), &["Pool.Allocate"])?;
    let delete = ctx.params.flag("delete")?;
    let allow_move = ctx.params.flag("allow-move")?;
    let vms: Vec<u32> = ctx
        .params
        .split_list("vms")
        .iter()
        .map(|v| {
            v.parse::<u32>().map_err(|_| {
                PveError::param(
                    "vms",
                    format!("value '{v}' does not look like a valid VM ID"),
                )
            })
        })
        .collect::<Result<_, _>>()?;
    let storages = ctx.params.split_list("storage");
    let mut c = ctx.write();
    if !c.pools.contains_key(id) {
        return Err(PveError::internal(format!("pool '{id}' does not exist")));
    }
    for vmid in &vms {
        let g = c
            .guests
            .get(vmid)
            .ok_or_else(|| PveError::internal(format!("no such VM '{vmid}'")))?;
        if !delete
            && let Some(other) = &g.pool
            && other != id
            && !allow_move
        {
            return Err(PveError::internal(format!(
                "VM {vmid} belongs already to pool '{other}' and allow-move is not set"
            )));
        }
    }
    for vmid in vms {
        if let Some(g) = c.guests.get_mut(&vmid) {
            if delete {
                if g.pool.as_deref() == Some(id) {
                    g.pool = None;
                }
            } else {
                g.pool = Some(id.to_string());
            }
        }
    }
    for s in storages {
        if c.storage(&s).is_none() {
            return Err(PveError::internal(format!("no such storage '{s}'")));
        }
        if let Some(p) = c.pools.get_mut(id) {
            if delete {
                p.storages.remove(&s);
            } else {
                p.storages.insert(s);
            }
        }
    }
    if let Some(cm) = ctx.params.str("comment")
        && let Some(p) = c.pools.get_mut(id)
    {
        p.comment = Some(cm);
    }
    Ok(Reply::null())
}

fn delete_pool(ctx: &Ctx, id: &str) -> ApiResult {
    ctx.require(&format!("/pool/{id}"), &["Pool.Allocate"])?;
    let mut c = ctx.write();
    let Some(p) = c.pools.get(id) else {
        return Err(PveError::internal(format!("pool '{id}' does not exist")));
    };
    if !p.storages.is_empty() || c.guests.values().any(|g| g.pool.as_deref() == Some(id)) {
        return Err(PveError::internal(format!(
            "delete pool failed: pool '{id}' is not empty"
        )));
    }
    c.pools.remove(id);
    Ok(Reply::null())
}
