//! Guest configuration: `GET/PUT/POST .../config`, `pending`, per-key privileges and disk allocation.

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};

use super::Ctx;
use super::envelope::{ApiResult, PveError, Reply};
use super::guests::{lookup, lookup_mut, pool_of};
use crate::state::Cluster;
use crate::state::guest::{Guest, Kind, is_disk_key};

/// Config keys PVE returns as JSON integers.
const INT_KEYS: &[&str] = &[
    "cores",
    "sockets",
    "vcpus",
    "memory",
    "balloon",
    "numa",
    "onboot",
    "protection",
    "template",
    "cpuunits",
    "shares",
    "tablet",
    "kvm",
    "acpi",
    "localtime",
    "reboot",
    "swap",
    "unprivileged",
    "console",
    "tty",
    "debug",
    "freeze",
];

pub fn config_json(cfg: &BTreeMap<String, String>) -> Map<String, Value> {
    cfg.iter()
        .filter(|(k, _)| k.as_str() != "parent" || !cfg.is_empty())
        .map(|(k, v)| {
            let val = if INT_KEYS.contains(&k.as_str()) {
                v.parse::<i64>()
                    .map(Value::from)
                    .unwrap_or_else(|_| json!(v))
            } else {
                json!(v)
            };
            (k.clone(), val)
        })
        .collect()
}

pub(super) fn get_config(ctx: &Ctx, node: &str, kind: Kind, vmid: u32) -> ApiResult {
    let c = ctx.read();
    ctx.require_vm(vmid, pool_of(&c, vmid).as_deref(), &["VM.Audit"])?;
    let g = lookup(&c, node, kind, vmid)?;
    let current = ctx.params.flag("current")?;
    let cfg = if let Some(snap) = ctx.params.str("snapshot") {
        g.snapshots
            .get(&snap)
            .map(|s| s.config.clone())
            .ok_or_else(|| PveError::internal(format!("snapshot '{snap}' does not exist")))?
    } else if current {
        g.config.clone()
    } else {
        g.effective_config()
    };
    let mut m = config_json(&cfg);
    m.insert("digest".into(), json!(g.digest()));
    Ok(Reply::json(Value::Object(m)))
}

pub(super) fn pending(ctx: &Ctx, node: &str, kind: Kind, vmid: u32) -> ApiResult {
    let c = ctx.read();
    ctx.require_vm(vmid, pool_of(&c, vmid).as_deref(), &["VM.Audit"])?;
    let g = lookup(&c, node, kind, vmid)?;
    let cur = config_json(&g.config);
    let pend = config_json(&g.pending);
    let mut keys: std::collections::BTreeSet<&String> = cur.keys().collect();
    keys.extend(pend.keys());
    keys.extend(g.pending_delete.iter());
    let mut out = Vec::new();
    for k in keys {
        let mut e = json!({"key": k});
        if let Some(v) = cur.get(k) {
            e["value"] = v.clone();
        }
        if let Some(v) = pend.get(k) {
            e["pending"] = v.clone();
        }
        if g.pending_delete.contains(k) {
            e["delete"] = json!(1);
        }
        out.push(e);
    }
    out.push(json!({"key": "digest", "value": g.digest()}));
    Ok(Reply::json(json!(out)))
}

/// Parameters that steer an update rather than being config keys.
const CONTROL_PARAMS: &[&str] = &[
    "node",
    "vmid",
    "delete",
    "digest",
    "revert",
    "skiplock",
    "force",
    "background_delay",
];

/// Keys that cannot change on a running QEMU VM without a restart (default hotplug set).
const COLD_KEYS: &[&str] = &[
    "cores",
    "sockets",
    "memory",
    "cpu",
    "machine",
    "bios",
    "ostype",
    "numa",
    "scsihw",
    "vga",
    "args",
    "hugepages",
    "kvm",
    "vcpus",
    "affinity",
    "arch",
];

/// The privilege a config key needs.
pub fn key_privilege(kind: Kind, key: &str, value: Option<&str>) -> &'static str {
    let base = key.trim_end_matches(|c: char| c.is_ascii_digit());
    if is_disk_key(kind, key) {
        if value.is_some_and(|v| v.contains("media=cdrom")) {
            return "VM.Config.CDROM";
        }
        return "VM.Config.Disk";
    }
    match base {
        "memory" | "balloon" | "shares" | "swap" => "VM.Config.Memory",
        "cores" | "sockets" | "cpu" | "vcpus" | "cpulimit" | "cpuunits" | "numa" | "affinity" => {
            "VM.Config.CPU"
        }
        "net" => "VM.Config.Network",
        "ipconfig" | "ciuser" | "cipassword" | "citype" | "ciupgrade" | "cicustom" | "sshkeys"
        | "nameserver" | "searchdomain" => "VM.Config.Cloudinit",
        "ostype" | "machine" | "bios" | "scsihw" | "vga" | "hostpci" | "usb" | "serial"
        | "audio" | "rng" | "parallel" | "arch" | "tpmstate" => "VM.Config.HWType",
        _ => "VM.Config.Options",
    }
}

/// Normalises tags like PVE (`;`-separated).
pub fn normalize_tags(t: &str) -> String {
    t.split([';', ',', ' '])
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join(";")
}

/// Allocates disks given as `storage:SIZE_GB` and validates storages. Returns the final value.
pub fn allocate_disk(
    c: &Cluster,
    node: &str,
    kind: Kind,
    vmid: u32,
    key: &str,
    value: &str,
    taken: &mut Vec<String>,
) -> Result<String, PveError> {
    let mut parts = value.splitn(2, ',');
    let first = parts.next().unwrap_or("");
    let rest = parts.next();
    let Some((sid, spec)) = first.split_once(':') else {
        return Ok(value.to_string());
    };
    if sid == "none" || value.contains("media=cdrom") {
        return Ok(value.to_string());
    }
    let s = c
        .storage_on(node, sid)
        .ok_or_else(|| PveError::param(key, format!("storage '{sid}' does not exist")))?;
    let ct = if kind == Kind::Lxc {
        "rootdir"
    } else {
        "images"
    };
    if !s.has_content(ct) {
        return Err(PveError::internal(format!(
            "storage '{sid}' does not support content-type '{ct}'"
        )));
    }
    let Ok(size_gb) = spec.parse::<f64>() else {
        return Ok(value.to_string());
    };
    let existing: Vec<String> = c
        .guests
        .get(&vmid)
        .map(|g| g.disk_volumes().into_iter().map(|(_, v, _)| v).collect())
        .unwrap_or_default();
    let mut n = 0;
    let name = loop {
        let cand = if s.kind == "dir" || s.kind == "nfs" {
            format!(
                "{sid}:{vmid}/vm-{vmid}-disk-{n}.{}",
                if kind == Kind::Lxc { "raw" } else { "qcow2" }
            )
        } else {
            format!("{sid}:vm-{vmid}-disk-{n}")
        };
        if !existing.contains(&cand) && !taken.contains(&cand) {
            break cand;
        }
        n += 1;
    };
    taken.push(name.clone());
    let size = if size_gb.fract() == 0.0 {
        format!("{}G", size_gb as u64)
    } else {
        format!("{}M", (size_gb * 1024.0) as u64)
    };
    let mut out = format!("{name},size={size}");
    if let Some(r) = rest {
        let r: Vec<&str> = r.split(',').filter(|p| !p.starts_with("size=")).collect();
        if !r.is_empty() {
            out = format!("{name},{},size={size}", r.join(","));
        }
    }
    Ok(out)
}

pub(super) fn update_config(
    ctx: &Ctx,
    node: &str,
    kind: Kind,
    vmid: u32,
    async_task: bool,
) -> ApiResult {
    let p = &ctx.params;
    let delete = p.split_list("delete");
    let revert = p.split_list("revert");
    let digest = p.str("digest");
    let skiplock = p.flag("skiplock")?;
    let sets: BTreeMap<String, String> = p
        .strings()
        .into_iter()
        .filter(|(k, _)| !CONTROL_PARAMS.contains(&k.as_str()))
        .collect();
    let mut c = ctx.write();
    let pool = pool_of(&c, vmid);
    for (k, v) in &sets {
        ctx.require_vm(vmid, pool.as_deref(), &[key_privilege(kind, k, Some(v))])?;
    }
    for k in delete.iter().chain(revert.iter()) {
        ctx.require_vm(vmid, pool.as_deref(), &[key_privilege(kind, k, None)])?;
    }
    if sets.is_empty() && delete.is_empty() && revert.is_empty() {
        ctx.require_vm_any(vmid, pool.as_deref(), &["VM.Config.Options"])?;
    }
    let g = lookup(&c, node, kind, vmid)?;
    if let Some(d) = &digest
        && *d != g.digest()
    {
        return Err(PveError::internal(
            "detected modified configuration - file changed by other user? Try again.",
        ));
    }
    if let Some(l) = g.lock()
        && !skiplock
    {
        return Err(PveError::internal(format!(
            "{} is locked ({l})",
            kind.label()
        )));
    }
    if let Some(k) = sets.keys().find(|k| delete.contains(k)) {
        return Err(PveError::internal(format!(
            "you can't use '-{k}' and '-delete {k}' at the same time"
        )));
    }
    for (k, v) in &sets {
        validate_key(kind, k, v)?;
    }
    let mut taken = Vec::new();
    let mut final_sets = BTreeMap::new();
    for (k, v) in &sets {
        let v = if is_disk_key(kind, k) {
            allocate_disk(&c, node, kind, vmid, k, v, &mut taken)?
        } else if k == "tags" {
            normalize_tags(v)
        } else {
            v.clone()
        };
        final_sets.insert(k.clone(), v);
    }
    let running_qemu = kind == Kind::Qemu && g.is_running();
    let apply = move |g: &mut Guest| {
        for k in &revert {
            g.pending.remove(k);
            g.pending_delete.remove(k);
        }
        for (k, v) in final_sets {
            if running_qemu && COLD_KEYS.contains(&k.as_str()) {
                g.pending.insert(k, v);
            } else {
                g.pending.remove(&k);
                g.config.insert(k, v);
            }
        }
        for k in delete {
            if running_qemu && COLD_KEYS.contains(&k.as_str()) {
                g.pending_delete.insert(k);
            } else {
                g.config.remove(&k);
                g.pending.remove(&k);
            }
        }
        g.refresh();
    };
    if async_task {
        let node_s = node.to_string();
        let upid = ctx.start_task(
            &mut c,
            node,
            "qmconfig",
            &vmid.to_string(),
            0.5,
            vec![format!("update VM {vmid}: {}", summary(&sets))],
            Some(Box::new(move |c: &mut Cluster| {
                let g = c
                    .guest_on_mut(&node_s, kind, vmid)
                    .ok_or_else(|| format!("VM {vmid} does not exist"))?;
                apply(g);
                Ok(Vec::new())
            })),
        );
        return Ok(Reply::string(upid));
    }
    let g = lookup_mut(&mut c, node, kind, vmid)?;
    apply(g);
    Ok(Reply::null())
}

fn summary(sets: &BTreeMap<String, String>) -> String {
    sets.iter()
        .map(|(k, v)| format!("-{k} '{v}'"))
        .collect::<Vec<_>>()
        .join(" ")
}

/// The checks PVE does even without a schema for the most common keys.
fn validate_key(kind: Kind, k: &str, v: &str) -> Result<(), PveError> {
    let int = |min: i64| -> Result<(), PveError> {
        match v.parse::<i64>() {
            Ok(n) if n >= min => Ok(()),
            Ok(_) => Err(PveError::param(
                k,
                format!("value must have a minimum value of {min}"),
            )),
            Err(_) => Err(PveError::param(
                k,
                format!("type check ('integer') failed - got '{v}'"),
            )),
        }
    };
    match k {
        "cores" | "sockets" => int(1),
        "memory" if kind == Kind::Lxc => int(16),
        "memory" => match crate::util::prop_get(v, "current")
            .as_deref()
            .unwrap_or(v)
            .parse::<i64>()
        {
            Ok(n) if n >= 16 => Ok(()),
            _ => Err(PveError::param(
                k,
                "invalid format - format error\nmemory.current: value must have a minimum value of 16",
            )),
        },
        "name" | "hostname" => {
            let ok = !v.is_empty()
                && v.split('.').all(|l| {
                    !l.is_empty()
                        && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
                        && !l.starts_with('-')
                        && !l.ends_with('-')
                });
            if ok {
                Ok(())
            } else {
                Err(PveError::param(
                    k,
                    format!("value '{v}' does not look like a valid DNS name"),
                ))
            }
        }
        "onboot" | "protection" | "template" => match v {
            "0" | "1" => Ok(()),
            _ => Err(PveError::param(
                k,
                format!("type check ('boolean') failed - got '{v}'"),
            )),
        },
        _ => Ok(()),
    }
}
