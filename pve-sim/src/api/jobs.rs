//! Cluster-wide jobs and HA: backup jobs, backup coverage, HA resources, groups, rules and status.

use std::collections::BTreeSet;

use serde_json::{Map, Value, json};

use super::Ctx;
use super::envelope::{ApiResult, PveError, Reply};
use super::router::index_by;
use crate::state::Obj;
use crate::state::guest::Kind;

/// Keys that steer a request rather than being stored.
const CONTROL: &[&str] = &["delete", "digest", "id", "sid", "rule", "group", "purge"];

fn obj_digest(o: &Obj) -> String {
    crate::util::digest(&Value::Object(o.clone()).to_string())
}

/// Applies `delete` and all other parameters to a stored object.
fn apply_params(ctx: &Ctx, o: &mut Obj, keep: &[&str]) -> Result<(), PveError> {
    if let Some(d) = ctx.params.str("digest")
        && d != obj_digest(o)
    {
        return Err(PveError::internal(
            "detected modified configuration - file changed by other user? Try again.",
        ));
    }
    for k in ctx.params.split_list("delete") {
        o.remove(&k);
    }
    for (k, v) in ctx.params.strings() {
        if CONTROL.contains(&k.as_str()) && !keep.contains(&k.as_str()) {
            continue;
        }
        let val = match v.parse::<i64>() {
            Ok(n) if !k.contains("vmid") && k != "schedule" && k != "comment" => json!(n),
            _ => json!(v),
        };
        o.insert(k, val);
    }
    Ok(())
}

/// The next run of a simple `HH:MM` (or `*-*-* HH:MM`) schedule.
fn next_run(schedule: &str, now: u64) -> u64 {
    let hm = schedule.rsplit(' ').next().unwrap_or(schedule);
    let parsed = hm.split_once(':').and_then(|(h, m)| {
        Some((
            h.split(',').next()?.parse::<u64>().ok()?,
            m.parse::<u64>().ok()?,
        ))
    });
    match parsed {
        Some((h, m)) if h < 24 && m < 60 => {
            let day = now / 86_400 * 86_400;
            let t = day + h * 3600 + m * 60;
            if t > now { t } else { t + 86_400 }
        }
        _ => now / 3600 * 3600 + 3600,
    }
}

pub fn route_backup(ctx: &Ctx, rest: &[&str]) -> ApiResult {
    match (ctx.method, rest) {
        ("GET", []) => {
            ctx.require("/", &["Sys.Audit"])?;
            let c = ctx.read();
            let out: Vec<Value> = c
                .backup_jobs
                .values()
                .map(|j| {
                    let mut v = Value::Object(j.clone());
                    let sched = j.get("schedule").and_then(Value::as_str).unwrap_or("00:00");
                    if j.get("enabled").is_none_or(|e| e != 0) {
                        v["next-run"] = json!(next_run(sched, ctx.now));
                    }
                    v
                })
                .collect();
            Ok(Reply::json(json!(out)))
        }
        ("POST", []) => {
            ctx.require("/", &["Sys.Modify"])?;
            let mut c = ctx.write();
            let id = ctx.params.str("id").unwrap_or_else(|| {
                let h = crate::util::mix(ctx.now ^ c.backup_jobs.len() as u64);
                format!("backup-{:08x}-{:04x}", h >> 32, h & 0xffff)
            });
            if c.backup_jobs.contains_key(&id) {
                return Err(PveError::internal(format!("Job '{id}' already exists")));
            }
            if !ctx.params.has("vmid") && !ctx.params.flag("all")? && !ctx.params.has("pool") {
                return Err(PveError::param(
                    "vmid",
                    "property is missing and it is not optional",
                ));
            }
            let mut o = Map::new();
            o.insert("id".into(), json!(id));
            o.insert("type".into(), json!("vzdump"));
            o.insert("enabled".into(), json!(1));
            o.insert("schedule".into(), json!("00:00"));
            apply_params(ctx, &mut o, &[])?;
            c.backup_jobs.insert(id, o);
            Ok(Reply::null())
        }
        ("GET", [id]) => {
            ctx.require("/", &["Sys.Audit"])?;
            let c = ctx.read();
            let j = c
                .backup_jobs
                .get(*id)
                .ok_or_else(|| PveError::internal(format!("job '{id}' does not exist")))?;
            Ok(Reply::json(Value::Object(j.clone())))
        }
        ("PUT", [id]) => {
            ctx.require("/", &["Sys.Modify"])?;
            let mut c = ctx.write();
            let j = c
                .backup_jobs
                .get_mut(*id)
                .ok_or_else(|| PveError::internal(format!("job '{id}' does not exist")))?;
            apply_params(ctx, j, &[])?;
            Ok(Reply::null())
        }
        ("DELETE", [id]) => {
            ctx.require("/", &["Sys.Modify"])?;
            let mut c = ctx.write();
            c.backup_jobs
                .remove(*id)
                .ok_or_else(|| PveError::internal(format!("job '{id}' does not exist")))?;
            Ok(Reply::null())
        }
        ("GET", [id, "included_volumes"]) => {
            ctx.require("/", &["Sys.Audit"])?;
            let c = ctx.read();
            let j = c
                .backup_jobs
                .get(*id)
                .ok_or_else(|| PveError::internal(format!("job '{id}' does not exist")))?;
            let covered = covered_by(&c, j);
            let children: Vec<Value> = c
                .guests
                .values()
                .filter(|g| covered.contains(&g.vmid))
                .map(|g| {
                    let disks: Vec<Value> = g
                        .disk_volumes()
                        .into_iter()
                        .map(|(k, v, _)| json!({"id": k, "name": v, "included": 1, "reason": "default", "leaf": 1}))
                        .collect();
                    json!({"id": g.vmid, "name": g.name(), "type": g.kind.as_str(), "leaf": 0, "children": disks})
                })
                .collect();
            Ok(Reply::json(json!({"children": children})))
        }
        _ => Err(ctx.not_impl()),
    }
}

/// The VMIDs a backup job covers.
fn covered_by(c: &crate::state::Cluster, j: &Obj) -> BTreeSet<u32> {
    let get = |k: &str| {
        j.get(k)
            .map(|v| crate::api::params::scalar(v).unwrap_or_default())
    };
    let node = get("node");
    let on_node = |n: &str| node.as_deref().is_none_or(|x| x == n);
    let mut out = BTreeSet::new();
    if get("all").as_deref() == Some("1") {
        let exclude: BTreeSet<u32> = get("exclude")
            .unwrap_or_default()
            .split(',')
            .filter_map(|v| v.trim().parse().ok())
            .collect();
        out.extend(
            c.guests
                .values()
                .filter(|g| on_node(&g.node) && !exclude.contains(&g.vmid))
                .map(|g| g.vmid),
        );
    }
    if let Some(list) = get("vmid") {
        out.extend(list.split(',').filter_map(|v| v.trim().parse::<u32>().ok()));
    }
    if let Some(pool) = get("pool") {
        out.extend(
            c.guests
                .values()
                .filter(|g| g.pool.as_deref() == Some(pool.as_str()))
                .map(|g| g.vmid),
        );
    }
    out
}

pub fn route_backup_info(ctx: &Ctx, rest: &[&str]) -> ApiResult {
    match (ctx.method, rest) {
        ("GET", []) => Ok(index_by("subdir", &["not-backed-up"])),
        ("GET", ["not-backed-up"]) => {
            ctx.require("/", &["Sys.Audit"])?;
            let c = ctx.read();
            let mut covered = BTreeSet::new();
            for j in c
                .backup_jobs
                .values()
                .filter(|j| j.get("enabled").is_none_or(|e| e != 0))
            {
                covered.extend(covered_by(&c, j));
            }
            let out: Vec<Value> = c
                .guests
                .values()
                .filter(|g| !covered.contains(&g.vmid) && !g.is_template())
                .map(|g| json!({"vmid": g.vmid, "name": g.name(), "type": g.kind.as_str()}))
                .collect();
            Ok(Reply::json(json!(out)))
        }
        _ => Err(ctx.not_impl()),
    }
}

/// Normalises `100`, `vm:100` or `ct:101` to a full service id.
fn parse_sid(c: &crate::state::Cluster, sid: &str) -> Result<String, PveError> {
    let (ty, id) = match sid.split_once(':') {
        Some((t, i)) => (Some(t), i),
        None => (None, sid),
    };
    let vmid: u32 = id
        .parse()
        .map_err(|_| PveError::param("sid", format!("unable to parse HA resource id '{sid}'")))?;
    let g = c
        .guests
        .get(&vmid)
        .ok_or_else(|| PveError::internal(format!("unable to find VM '{vmid}'")))?;
    let actual = if g.kind == Kind::Qemu { "vm" } else { "ct" };
    if let Some(t) = ty
        && t != actual
    {
        return Err(PveError::internal(format!(
            "HA resource '{sid}' has wrong type, expected '{actual}'"
        )));
    }
    Ok(format!("{actual}:{vmid}"))
}

pub fn route_ha(ctx: &Ctx, rest: &[&str]) -> ApiResult {
    match (ctx.method, rest) {
        ("GET", []) => Ok(index_by("id", &["status", "resources", "groups", "rules"])),
        ("GET", ["status"]) => Ok(index_by("name", &["current", "manager_status"])),
        ("GET", ["status", "current"]) => {
            ctx.require("/", &["Sys.Audit"])?;
            ha_status(ctx)
        }
        ("GET", ["status", "manager_status"]) => {
            ctx.require("/", &["Sys.Audit"])?;
            let c = ctx.read();
            let master = c
                .nodes
                .iter()
                .find(|n| c.node_online(&n.name))
                .map(|n| n.name.clone())
                .unwrap_or_default();
            let node_status: Map<String, Value> = c
                .nodes
                .iter()
                .map(|n| {
                    (
                        n.name.clone(),
                        json!(if c.node_online(&n.name) {
                            "online"
                        } else {
                            "unknown"
                        }),
                    )
                })
                .collect();
            Ok(Reply::json(
                json!({"manager_status": {"master_node": master, "node_status": node_status, "timestamp": ctx.now},
                "quorum": {"node": master, "quorate": "1"}}),
            ))
        }
        ("GET", ["resources"]) => {
            ctx.require("/", &["Sys.Audit"])?;
            let c = ctx.read();
            let ty = ctx.params.str("type");
            let out: Vec<Value> = c
                .ha_resources
                .values()
                .filter(|r| {
                    ty.as_deref()
                        .is_none_or(|t| r.get("type").and_then(Value::as_str) == Some(t))
                })
                .map(|r| {
                    let mut v = Value::Object(r.clone());
                    v["digest"] = json!(obj_digest(r));
                    v
                })
                .collect();
            Ok(Reply::json(json!(out)))
        }
        ("POST", ["resources"]) => {
            ctx.require("/", &["Sys.Console"])?;
            let mut c = ctx.write();
            let sid = parse_sid(&c, &ctx.params.req("sid")?)?;
            if c.ha_resources.contains_key(&sid) {
                return Err(PveError::internal(format!(
                    "resource ID '{sid}' already defined"
                )));
            }
            let mut o = Map::new();
            o.insert("sid".into(), json!(sid));
            o.insert("type".into(), json!(sid.split(':').next().unwrap_or("vm")));
            o.insert("state".into(), json!("started"));
            apply_params(ctx, &mut o, &[])?;
            check_state(&o)?;
            c.ha_resources.insert(sid, o);
            Ok(Reply::null())
        }
        (m, ["resources", sid, rest @ ..]) => {
            let mut c = ctx.write();
            let sid = parse_sid(&c, sid)?;
            let exists = c.ha_resources.contains_key(&sid);
            let missing = || PveError::internal(format!("no such resource '{sid}'"));
            match (m, rest) {
                ("GET", []) => {
                    ctx.require("/", &["Sys.Audit"])?;
                    let r = c.ha_resources.get(&sid).ok_or_else(missing)?;
                    let mut v = Value::Object(r.clone());
                    v["digest"] = json!(obj_digest(r));
                    Ok(Reply::json(v))
                }
                ("PUT", []) => {
                    ctx.require("/", &["Sys.Console"])?;
                    let r = c.ha_resources.get_mut(&sid).ok_or_else(missing)?;
                    apply_params(ctx, r, &[])?;
                    check_state(r)?;
                    Ok(Reply::null())
                }
                ("DELETE", []) => {
                    ctx.require("/", &["Sys.Console"])?;
                    if !exists {
                        return Err(missing());
                    }
                    c.ha_resources.remove(&sid);
                    Ok(Reply::null())
                }
                ("POST", ["migrate" | "relocate"]) => {
                    ctx.require("/", &["Sys.Console"])?;
                    let node = ctx.params.req("node")?;
                    if !exists {
                        return Err(missing());
                    }
                    if c.node(&node).is_none() {
                        return Err(PveError::internal(format!("no such cluster node '{node}'")));
                    }
                    let vmid: u32 = sid
                        .split(':')
                        .nth(1)
                        .and_then(|v| v.parse().ok())
                        .unwrap_or(0);
                    if let Some(g) = c.guests.get_mut(&vmid) {
                        g.node = node.clone();
                    }
                    Ok(Reply::json(json!({"sid": sid, "requested-node": node})))
                }
                _ => Err(ctx.not_impl()),
            }
        }
        ("GET", ["groups"]) => {
            ctx.require("/", &["Sys.Audit"])?;
            let c = ctx.read();
            Ok(Reply::json(json!(
                c.ha_groups.values().cloned().collect::<Vec<_>>()
            )))
        }
        ("POST", ["groups"]) => named_create(ctx, "group", |c| &mut c.ha_groups),
        (m, ["groups", g]) => named_item(ctx, m, g, |c| &mut c.ha_groups),
        ("GET", ["rules"]) => {
            ctx.require("/", &["Sys.Audit"])?;
            let c = ctx.read();
            let ty = ctx.params.str("type");
            let out: Vec<Value> = c
                .ha_rules
                .values()
                .filter(|r| {
                    ty.as_deref()
                        .is_none_or(|t| r.get("type").and_then(Value::as_str) == Some(t))
                })
                .cloned()
                .map(Value::Object)
                .collect();
            Ok(Reply::json(json!(out)))
        }
        ("POST", ["rules"]) => {
            let ty = ctx.params.req("type")?;
            if !matches!(ty.as_str(), "node-affinity" | "resource-affinity") {
                return Err(PveError::param(
                    "type",
                    format!(
                        "value '{ty}' does not have a value in the enumeration 'node-affinity, resource-affinity'"
                    ),
                ));
            }
            ctx.params.req("resources")?;
            named_create(ctx, "rule", |c| &mut c.ha_rules)
        }
        (m, ["rules", r]) => named_item(ctx, m, r, |c| &mut c.ha_rules),
        _ => Err(ctx.not_impl()),
    }
}

fn check_state(o: &Obj) -> Result<(), PveError> {
    let s = o.get("state").and_then(Value::as_str).unwrap_or("started");
    if matches!(
        s,
        "started" | "stopped" | "enabled" | "disabled" | "ignored"
    ) {
        Ok(())
    } else {
        Err(PveError::param(
            "state",
            format!(
                "value '{s}' does not have a value in the enumeration 'started, stopped, enabled, disabled, ignored'"
            ),
        ))
    }
}

type MapSel = fn(&mut crate::state::Cluster) -> &mut std::collections::BTreeMap<String, Obj>;

fn named_create(ctx: &Ctx, key: &str, sel: MapSel) -> ApiResult {
    ctx.require("/", &["Sys.Console"])?;
    let id = ctx.params.req(key)?;
    let mut c = ctx.write();
    let map = sel(&mut c);
    if map.contains_key(&id) {
        return Err(PveError::internal(format!("{key} '{id}' already defined")));
    }
    let mut o = Map::new();
    o.insert(key.into(), json!(id));
    apply_params(ctx, &mut o, &[key])?;
    map.insert(id, o);
    Ok(Reply::null())
}

fn named_item(ctx: &Ctx, m: &str, id: &str, sel: MapSel) -> ApiResult {
    let mut c = ctx.write();
    let map = sel(&mut c);
    let missing = || PveError::internal(format!("no such entry '{id}'"));
    match m {
        "GET" => {
            ctx.require("/", &["Sys.Audit"])?;
            let o = map.get(id).ok_or_else(missing)?;
            let mut v = Value::Object(o.clone());
            v["digest"] = json!(obj_digest(o));
            Ok(Reply::json(v))
        }
        "PUT" => {
            ctx.require("/", &["Sys.Console"])?;
            let o = map.get_mut(id).ok_or_else(missing)?;
            apply_params(ctx, o, &[])?;
            Ok(Reply::null())
        }
        "DELETE" => {
            ctx.require("/", &["Sys.Console"])?;
            map.remove(id).ok_or_else(missing)?;
            Ok(Reply::null())
        }
        _ => Err(ctx.not_impl()),
    }
}

fn ha_status(ctx: &Ctx) -> ApiResult {
    let c = ctx.read();
    let master = c.nodes.iter().find(|n| c.node_online(&n.name));
    let mut out = vec![
        json!({"id": "quorum", "type": "quorum", "node": master.map(|n| n.name.clone()),
        "status": "OK", "quorate": 1}),
    ];
    if let Some(m) = master {
        out.push(json!({"id": "master", "type": "master", "node": m.name,
            "status": format!("{} (active, {})", m.name, ctx.now), "timestamp": ctx.now}));
    }
    for n in &c.nodes {
        let online = c.node_online(&n.name);
        let has = c.ha_resources.keys().any(|sid| {
            sid.split(':')
                .nth(1)
                .and_then(|v| v.parse::<u32>().ok())
                .and_then(|v| c.guests.get(&v))
                .is_some_and(|g| g.node == n.name)
        });
        let mode = if !online {
            "old timestamp - dead?"
        } else if has {
            "active"
        } else {
            "idle"
        };
        out.push(
            json!({"id": format!("lrm:{}", n.name), "type": "lrm", "node": n.name,
            "status": format!("{} ({mode}, {})", n.name, ctx.now), "timestamp": ctx.now}),
        );
    }
    for (sid, r) in &c.ha_resources {
        let vmid: u32 = sid
            .split(':')
            .nth(1)
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        let Some(g) = c.guests.get(&vmid) else {
            continue;
        };
        let req = r.get("state").and_then(Value::as_str).unwrap_or("started");
        let state = if c.ha_errors.contains(sid) {
            "error"
        } else if g.is_running() {
            "started"
        } else if req == "stopped" {
            "stopped"
        } else {
            "request_start"
        };
        out.push(
            json!({"id": format!("service:{sid}"), "type": "service", "sid": sid, "node": g.node,
            "state": state, "crm_state": state, "request_state": req,
            "status": format!("{sid} ({}, {state})", g.node),
            "max_restart": r.get("max_restart").cloned().unwrap_or(json!(1)),
            "max_relocate": r.get("max_relocate").cloned().unwrap_or(json!(1))}),
        );
    }
    Ok(Reply::json(json!(out)))
}
