//! Guest routing and reads: lists, `status/current`, `rrddata`, `interfaces`.

use serde::Serialize;
use serde_json::{Value, json};

use super::envelope::{ApiResult, PveError, Reply};
use super::router::index;
use super::{Ctx, agent, firewall, guest_config, lifecycle, migrate, power, snapshots};
use crate::state::guest::{Guest, Kind, Power};
use crate::state::{Cluster, metrics};

/// A guest entry of `/cluster/resources` (and pool members).
#[derive(Serialize)]
pub struct GuestRes<'a> {
    id: String,
    #[serde(rename = "type")]
    kind: &'static str,
    vmid: u32,
    name: &'a str,
    node: &'a str,
    status: &'static str,
    template: u8,
    maxcpu: u32,
    cpu: f64,
    mem: u64,
    maxmem: u64,
    disk: u64,
    maxdisk: u64,
    netin: u64,
    netout: u64,
    diskread: u64,
    diskwrite: u64,
    uptime: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pool: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    tags: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    lock: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    hastate: Option<&'static str>,
}

impl<'a> GuestRes<'a> {
    pub fn new(c: &'a Cluster, g: &'a Guest, now: u64, node_online: bool, ha: bool) -> Self {
        let m = if node_online {
            metrics::guest(c.seed, g, now)
        } else {
            metrics::GuestMetrics::default()
        };
        GuestRes {
            id: format!("{}/{}", g.kind.as_str(), g.vmid),
            kind: g.kind.as_str(),
            vmid: g.vmid,
            name: g.name(),
            node: &g.node,
            status: if !node_online {
                "unknown"
            } else if g.is_running() {
                "running"
            } else {
                "stopped"
            },
            template: u8::from(g.is_template()),
            maxcpu: g.derived.maxcpu,
            cpu: m.cpu,
            mem: m.mem,
            maxmem: g.derived.maxmem,
            disk: m.disk,
            maxdisk: g.derived.maxdisk,
            netin: m.netin,
            netout: m.netout,
            diskread: m.diskread,
            diskwrite: m.diskwrite,
            uptime: m.uptime,
            pool: g.pool.as_deref(),
            tags: g.tags(),
            lock: g.lock(),
            hastate: ha.then_some("started"),
        }
    }
}

/// Parses the `{vmid}` path segment.
pub fn parse_vmid(s: &str) -> Result<u32, PveError> {
    let v: i64 = s.parse().map_err(|_| {
        PveError::param("vmid", format!("type check ('integer') failed - got '{s}'"))
    })?;
    if v < 100 {
        return Err(PveError::param(
            "vmid",
            "value must have a minimum value of 100",
        ));
    }
    if v > 999_999_999 {
        return Err(PveError::param(
            "vmid",
            "value must have a maximum value of 999999999",
        ));
    }
    Ok(v as u32)
}

/// The pool of a guest, if it exists anywhere (for permission checks before existence checks).
pub fn pool_of(c: &Cluster, vmid: u32) -> Option<String> {
    c.guests.get(&vmid).and_then(|g| g.pool.clone())
}

/// The guest or the PVE "does not exist" 500.
pub fn lookup<'c>(
    c: &'c Cluster,
    node: &str,
    kind: Kind,
    vmid: u32,
) -> Result<&'c Guest, PveError> {
    c.guest_on(node, kind, vmid)
        .ok_or_else(|| PveError::no_config(node, kind == Kind::Qemu, vmid))
}

pub fn lookup_mut<'c>(
    c: &'c mut Cluster,
    node: &str,
    kind: Kind,
    vmid: u32,
) -> Result<&'c mut Guest, PveError> {
    c.guest_on_mut(node, kind, vmid)
        .ok_or_else(|| PveError::no_config(node, kind == Kind::Qemu, vmid))
}

/// `/nodes/{node}/qemu|lxc[/...]`.
pub fn route(ctx: &Ctx, node: &str, kind: Kind, rest: &[&str]) -> ApiResult {
    match (ctx.method, rest) {
        ("GET", []) => list(ctx, node, kind),
        ("POST", []) => lifecycle::create(ctx, node, kind),
        (_, [vmid, rest @ ..]) => {
            let vmid = parse_vmid(vmid)?;
            guest_route(ctx, node, kind, vmid, rest)
        }
        _ => Err(ctx.not_impl()),
    }
}

fn guest_route(ctx: &Ctx, node: &str, kind: Kind, vmid: u32, rest: &[&str]) -> ApiResult {
    let q = kind == Kind::Qemu;
    match (ctx.method, rest) {
        ("GET", []) => {
            audit(ctx, node, kind, vmid)?;
            Ok(index(if q {
                &[
                    "config", "pending", "status", "snapshot", "firewall", "rrd", "rrddata",
                    "agent", "migrate", "clone", "resize", "template", "feature",
                ]
            } else {
                &[
                    "config",
                    "pending",
                    "status",
                    "snapshot",
                    "firewall",
                    "rrd",
                    "rrddata",
                    "interfaces",
                    "migrate",
                    "clone",
                    "resize",
                    "template",
                    "feature",
                ]
            }))
        }
        ("DELETE", []) => lifecycle::destroy(ctx, node, kind, vmid),
        ("GET", ["status"]) => {
            audit(ctx, node, kind, vmid)?;
            Ok(index(&[
                "current", "start", "stop", "shutdown", "reboot", "reset", "suspend", "resume",
            ]))
        }
        ("GET", ["status", "current"]) => status_current(ctx, node, kind, vmid),
        ("POST", ["status", action]) => power::power(ctx, node, kind, vmid, action),
        ("GET", ["config"]) => guest_config::get_config(ctx, node, kind, vmid),
        ("PUT", ["config"]) => guest_config::update_config(ctx, node, kind, vmid, false),
        ("POST", ["config"]) if q => guest_config::update_config(ctx, node, kind, vmid, true),
        ("GET", ["pending"]) => guest_config::pending(ctx, node, kind, vmid),
        ("GET", ["rrddata"]) => rrddata(ctx, node, kind, vmid),
        ("GET", ["interfaces"]) if !q => interfaces(ctx, node, vmid),
        ("GET", ["feature"]) => {
            audit(ctx, node, kind, vmid)?;
            Ok(Reply::json(json!({"hasFeature": 1, "nodes": []})))
        }
        (_, ["snapshot", rest @ ..]) => snapshots::route(ctx, node, kind, vmid, rest),
        ("POST", ["clone"]) => lifecycle::clone(ctx, node, kind, vmid),
        ("GET", ["migrate"]) => migrate::migrate_preflight(ctx, node, kind, vmid),
        ("POST", ["migrate"]) => migrate::migrate(ctx, node, kind, vmid),
        ("POST", ["template"]) => lifecycle::template(ctx, node, kind, vmid),
        ("PUT", ["resize"]) => lifecycle::resize(ctx, node, kind, vmid),
        (_, ["agent", rest @ ..]) if q => agent::route(ctx, node, vmid, rest),
        (_, ["firewall", rest @ ..]) => firewall::route_guest(ctx, node, kind, vmid, rest),
        _ => Err(ctx.not_impl()),
    }
}

/// VM.Audit on the guest, then existence.
fn audit(ctx: &Ctx, node: &str, kind: Kind, vmid: u32) -> Result<(), PveError> {
    let c = ctx.read();
    ctx.require_vm(vmid, pool_of(&c, vmid).as_deref(), &["VM.Audit"])?;
    lookup(&c, node, kind, vmid).map(|_| ())
}

#[derive(Serialize)]
struct ListEntry<'a> {
    vmid: u32,
    name: &'a str,
    status: &'static str,
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    kind: Option<&'static str>,
    cpus: u32,
    cpu: f64,
    mem: u64,
    maxmem: u64,
    disk: u64,
    maxdisk: u64,
    netin: u64,
    netout: u64,
    diskread: u64,
    diskwrite: u64,
    uptime: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pid: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    qmpstatus: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    swap: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    maxswap: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    template: Option<u8>,
    #[serde(skip_serializing_if = "Option::is_none")]
    tags: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    lock: Option<&'a str>,
}

pub fn guest_pid(g: &Guest) -> u32 {
    10_000 + (crate::util::mix(u64::from(g.vmid) ^ g.started_at) % 4_000_000) as u32
}

fn list(ctx: &Ctx, node: &str, kind: Kind) -> ApiResult {
    let c = ctx.read();
    let now = ctx.now;
    let mut out = Vec::new();
    for g in c
        .guests
        .values()
        .filter(|g| g.node == node && g.kind == kind)
    {
        if !ctx.can_vm(g.vmid, g.pool.as_deref(), "VM.Audit") {
            continue;
        }
        let m = metrics::guest(c.seed, g, now);
        let running = g.is_running();
        out.push(ListEntry {
            vmid: g.vmid,
            name: g.name(),
            status: if running { "running" } else { "stopped" },
            kind: (kind == Kind::Lxc).then_some("lxc"),
            cpus: g.derived.maxcpu,
            cpu: m.cpu,
            mem: m.mem,
            maxmem: g.derived.maxmem,
            disk: m.disk,
            maxdisk: g.derived.maxdisk,
            netin: m.netin,
            netout: m.netout,
            diskread: m.diskread,
            diskwrite: m.diskwrite,
            uptime: m.uptime,
            pid: running.then(|| guest_pid(g)),
            qmpstatus: None,
            swap: (kind == Kind::Lxc).then_some(0),
            maxswap: (kind == Kind::Lxc).then_some(g.derived.maxswap),
            template: g.is_template().then_some(1),
            tags: g.tags(),
            lock: g.lock(),
        });
    }
    Ok(Reply::ser(&out))
}

fn ha_json(c: &Cluster, g: &Guest) -> Value {
    let sid = format!(
        "{}:{}",
        if g.kind == Kind::Qemu { "vm" } else { "ct" },
        g.vmid
    );
    match c.ha_resources.get(&sid) {
        Some(r) => {
            json!({"managed": 1, "state": r.get("state").cloned().unwrap_or(json!("started"))})
        }
        None => json!({"managed": 0}),
    }
}

fn status_current(ctx: &Ctx, node: &str, kind: Kind, vmid: u32) -> ApiResult {
    let c = ctx.read();
    ctx.require_vm(vmid, pool_of(&c, vmid).as_deref(), &["VM.Audit"])?;
    let g = lookup(&c, node, kind, vmid)?;
    let m = metrics::guest(c.seed, g, ctx.now);
    let running = g.is_running();
    let mut v = json!({
        "vmid": vmid,
        "name": g.name(),
        "status": if running { "running" } else { "stopped" },
        "cpus": g.derived.maxcpu,
        "cpu": m.cpu,
        "mem": m.mem,
        "maxmem": g.derived.maxmem,
        "disk": m.disk,
        "maxdisk": g.derived.maxdisk,
        "netin": m.netin,
        "netout": m.netout,
        "diskread": m.diskread,
        "diskwrite": m.diskwrite,
        "uptime": m.uptime,
        "ha": ha_json(&c, g),
    });
    if let Some(t) = g.tags() {
        v["tags"] = json!(t);
    }
    if let Some(l) = g.lock() {
        v["lock"] = json!(l);
    }
    if g.is_template() {
        v["template"] = json!(1);
    }
    if running {
        v["pid"] = json!(guest_pid(g));
    }
    match kind {
        Kind::Qemu => {
            if g.config.contains_key("agent") {
                v["agent"] = json!(u8::from(g.agent_enabled()));
            }
            v["clipboard"] = Value::Null;
            if running {
                v["qmpstatus"] = json!(if g.power == Power::Paused {
                    "paused"
                } else {
                    "running"
                });
                if g.power == Power::Paused {
                    v["status"] = json!("running");
                }
                v["running-qemu"] = json!("10.1.2");
                v["running-machine"] = json!("pc-i440fx-10.1+pve0");
                v["balloon"] = json!(g.derived.maxmem);
                v["freemem"] = json!(g.derived.maxmem.saturating_sub(m.mem));
                v["proxmox-support"] = json!({"backup-fleecing": true, "backup-max-workers": true,
                    "pbs-dirty-bitmap": true, "pbs-dirty-bitmap-migration": true,
                    "pbs-dirty-bitmap-savevm": true, "pbs-library-version": "2.0.1 (UNKNOWN)",
                    "pbs-masterkey": true, "query-bitmap-info": true});
                v["nics"] = json!({format!("tap{vmid}i0"): {"netin": m.netin, "netout": m.netout}});
            }
        }
        Kind::Lxc => {
            v["type"] = json!("lxc");
            v["swap"] = json!(0);
            v["maxswap"] = json!(g.derived.maxswap);
        }
    }
    Ok(Reply::json(v))
}

fn rrddata(ctx: &Ctx, node: &str, kind: Kind, vmid: u32) -> ApiResult {
    let c = ctx.read();
    ctx.require_vm(vmid, pool_of(&c, vmid).as_deref(), &["VM.Audit"])?;
    let g = lookup(&c, node, kind, vmid)?;
    let tf = ctx.params.req("timeframe")?;
    check_timeframe(&tf)?;
    let cf_max = ctx.params.str("cf").as_deref() == Some("MAX");
    let running = g.is_running();
    let scale = if running { 1.0 } else { 0.0 };
    let mm = g.derived.maxmem as f64;
    let fields: Vec<(&str, f64)> = vec![
        ("cpu", 0.3 * scale),
        ("mem", mm * 0.7 * scale),
        ("netin", 150_000.0 * scale),
        ("netout", 60_000.0 * scale),
        ("diskread", 200_000.0 * scale),
        ("diskwrite", 100_000.0 * scale),
        (
            "disk",
            if kind == Kind::Lxc {
                g.derived.maxdisk as f64 * 0.4
            } else {
                0.0
            },
        ),
    ];
    let mut consts = vec![
        ("maxcpu", json!(g.derived.maxcpu)),
        ("maxmem", json!(g.derived.maxmem)),
        ("maxdisk", json!(g.derived.maxdisk)),
    ];
    if kind == Kind::Qemu && running {
        consts.push(("memhost", json!((mm * 0.5) as u64)));
    }
    let key = c.seed ^ u64::from(vmid) << 12;
    Ok(Reply::json(metrics::series(
        key, ctx.now, &tf, cf_max, &fields, &consts,
    )))
}

pub fn check_timeframe(tf: &str) -> Result<(), PveError> {
    if matches!(tf, "hour" | "day" | "week" | "month" | "year" | "decade") {
        Ok(())
    } else {
        Err(PveError::param(
            "timeframe",
            format!(
                "value '{tf}' does not have a value in the enumeration 'hour, day, week, month, year, decade'"
            ),
        ))
    }
}

fn interfaces(ctx: &Ctx, node: &str, vmid: u32) -> ApiResult {
    let c = ctx.read();
    ctx.require_vm(vmid, pool_of(&c, vmid).as_deref(), &["VM.Audit"])?;
    let g = lookup(&c, node, Kind::Lxc, vmid)?;
    if !g.is_running() {
        return Err(PveError::internal(format!("CT {vmid} not running")));
    }
    let mac = g
        .config
        .get("net0")
        .and_then(|n| crate::util::prop_get(n, "hwaddr"))
        .unwrap_or_default()
        .to_lowercase();
    let mut eth0 = json!({"name": "eth0", "hwaddr": mac});
    if let Some(ip) = &g.ip {
        eth0["inet"] = json!(format!("{ip}/24"));
    }
    Ok(Reply::json(json!([
        {"name": "lo", "hwaddr": "00:00:00:00:00:00", "inet": "127.0.0.1/8", "inet6": "::1/128"},
        eth0,
    ])))
}
