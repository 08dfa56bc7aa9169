//! Guest lifecycle: create, clone, destroy, migrate, template and resize, as tasks.

use std::collections::BTreeMap;

use serde_json::json;

use super::Ctx;
use super::envelope::{ApiResult, PveError, Reply};
use super::guest_config::{allocate_disk, normalize_tags};
use super::guests::{lookup, lookup_mut, pool_of};
use crate::state::Cluster;
use crate::state::guest::{Guest, Kind, Power, is_disk_key};
use crate::util::{mac_for, parse_size, prop_get, uuid_for};

/// The "does not exist" text used inside task effects.
pub(super) fn gone(node: &str, kind: Kind, vmid: u32) -> String {
    let dir = if kind == Kind::Qemu {
        "qemu-server"
    } else {
        "lxc"
    };
    format!("Configuration file 'nodes/{node}/{dir}/{vmid}.conf' does not exist")
}

/// Runs `f` on the guest inside a task effect.
pub(super) fn with_guest(
    c: &mut Cluster,
    node: &str,
    kind: Kind,
    vmid: u32,
    f: impl FnOnce(&mut Guest, u64) -> Result<Vec<String>, String>,
) -> Result<Vec<String>, String> {
    let now = crate::util::now_epoch();
    let g = c
        .guest_on_mut(node, kind, vmid)
        .ok_or_else(|| gone(node, kind, vmid))?;
    f(g, now)
}

pub(super) fn lock_error(kind: Kind, lock: &str) -> PveError {
    PveError::internal(format!("{} is locked ({lock})", kind.label()))
}

/// Parameters of create/clone that are not config keys.
const CREATE_CONTROL: &[&str] = &[
    "node",
    "vmid",
    "pool",
    "start",
    "unique",
    "archive",
    "storage",
    "force",
    "ostemplate",
    "password",
    "ssh-public-keys",
    "restore",
    "ignore-unpack-errors",
    "bwlimit",
    "live-restore",
    "import-working-storage",
    "ha-managed",
];

/// `POST /nodes/{node}/qemu|lxc`.
pub fn create(ctx: &Ctx, node: &str, kind: Kind) -> ApiResult {
    let p = &ctx.params;
    let vmid = super::guests::parse_vmid(&p.req("vmid")?)?;
    let pool = p.str("pool");
    if !ctx.can_vm(vmid, pool.as_deref(), "VM.Allocate") {
        return Err(PveError::forbidden(&format!("/vms/{vmid}"), "VM.Allocate"));
    }
    let start = p.flag("start")?;
    let storage = p.str("storage");
    let mut c = ctx.write();
    if let Some(pl) = &pool
        && !c.pools.contains_key(pl)
    {
        return Err(PveError::internal(format!("no such pool '{pl}'")));
    }
    // A restore with `force` replaces a stopped guest of the same kind on this node.
    let restoring = p.str("archive").is_some() || p.flag("restore")?;
    let mut replace = false;
    if restoring
        && p.flag("force")?
        && let Some(g) = c.guests.get(&vmid)
    {
        let label = kind.label();
        if g.kind != kind || g.node != node {
            return Err(PveError::internal(format!(
                "unable to restore {label} {vmid} - {label} {vmid} already exists on node '{}'",
                g.node
            )));
        }
        if g.is_running() {
            return Err(PveError::internal(format!(
                "unable to restore {label} {vmid} - {label} is running"
            )));
        }
        if g.protected() {
            return Err(PveError::internal(format!(
                "unable to restore {label} {vmid} - protection mode enabled"
            )));
        }
        if let Some(l) = g.lock() {
            return Err(lock_error(kind, l));
        }
        replace = true;
    }
    if let Some(g) = c.guests.get(&vmid).filter(|_| !replace) {
        return Err(PveError::internal(match kind {
            Kind::Qemu => format!(
                "unable to create VM {vmid} - VM {vmid} already exists on node '{}'",
                g.node
            ),
            Kind::Lxc => format!("CT {vmid} already exists on node '{}'", g.node),
        }));
    }
    let mut cfg: BTreeMap<String, String> = p
        .strings()
        .into_iter()
        .filter(|(k, _)| !CREATE_CONTROL.contains(&k.as_str()))
        .collect();
    if let Some(archive) = p.str("archive")
        && kind == Kind::Qemu
    {
        restore_config(&c, &archive, kind, &mut cfg)?;
    }
    if kind == Kind::Lxc {
        let restore = p.flag("restore")?;
        let tpl = p.req("ostemplate")?;
        if !c
            .volumes
            .iter()
            .any(|v| v.volid == tpl && v.visible_on(node))
        {
            return Err(PveError::internal(format!("volume '{tpl}' does not exist")));
        }
        if restore {
            restore_config(&c, &tpl, kind, &mut cfg)?;
        } else {
            let os = tpl
                .rsplit('/')
                .next()
                .unwrap_or("")
                .split(['-', '_'])
                .next()
                .unwrap_or("debian");
            cfg.entry("ostype".into()).or_insert_with(|| os.to_string());
        }
        cfg.entry("arch".into()).or_insert_with(|| "amd64".into());
        cfg.entry("memory".into()).or_insert_with(|| "512".into());
        cfg.entry("swap".into()).or_insert_with(|| "512".into());
        cfg.entry("cores".into()).or_insert_with(|| "1".into());
        cfg.entry("hostname".into())
            .or_insert_with(|| format!("CT{vmid}"));
        cfg.entry("rootfs".into()).or_insert_with(|| {
            format!(
                "{}:8",
                storage.clone().unwrap_or_else(|| "local-lvm".into())
            )
        });
    } else {
        cfg.entry("memory".into()).or_insert_with(|| "2048".into());
        cfg.entry("cores".into()).or_insert_with(|| "1".into());
        cfg.entry("sockets".into()).or_insert_with(|| "1".into());
        cfg.entry("smbios1".into())
            .or_insert_with(|| format!("uuid={}", uuid_for(c.seed ^ 0x1234, u64::from(vmid))));
        cfg.entry("vmgenid".into())
            .or_insert_with(|| uuid_for(c.seed ^ 0x4321, u64::from(vmid)));
        cfg.entry("meta".into())
            .or_insert_with(|| format!("creation-qemu=10.1.2,ctime={}", ctx.now));
    }
    let mut taken = Vec::new();
    let keys: Vec<String> = cfg.keys().cloned().collect();
    for k in keys {
        let v = cfg.get(&k).cloned().unwrap_or_default();
        if is_disk_key(kind, &k) {
            let nv = allocate_disk(&c, node, kind, vmid, &k, &v, &mut taken)?;
            cfg.insert(k, nv);
        } else if k.starts_with("net") && kind == Kind::Qemu && !v.contains('=') {
            cfg.insert(
                k,
                format!("virtio={},bridge=vmbr0", mac_for(c.seed, vmid, 0)),
            );
        } else if k.starts_with("net") && kind == Kind::Qemu {
            cfg.insert(k, fill_mac(&v, c.seed, vmid));
        } else if k == "tags" {
            cfg.insert(k, normalize_tags(&v));
        }
    }
    if c.node(node).is_none() {
        return Err(PveError::internal(format!("no such node '{node}'")));
    }
    let mut g = Guest::new(vmid, kind, node, cfg);
    g.pool = pool;
    g.config.insert("lock".into(), "create".into());
    if replace {
        c.guests.remove(&vmid);
    }
    c.guests.insert(vmid, g);
    let n = node.to_string();
    let (tt, base) = match kind {
        Kind::Qemu => ("qmcreate", 2.0),
        Kind::Lxc => ("vzcreate", 4.0),
    };
    let log = match kind {
        Kind::Qemu => taken
            .iter()
            .map(|v| {
                format!(
                    "  Logical volume \"{}\" created.",
                    v.split(':').nth(1).unwrap_or(v)
                )
            })
            .collect(),
        Kind::Lxc => vec![
            format!(
                "extracting archive '{}'",
                p.str("ostemplate").unwrap_or_default()
            ),
            "Total bytes read: 524288000 (500MiB, 250MiB/s)".into(),
            "Detected container architecture: amd64".into(),
            "Creating SSH host key 'ssh_host_ed25519_key' - this may take some time ...".into(),
        ],
    };
    let effect = Box::new(move |c: &mut Cluster| {
        with_guest(c, &n, kind, vmid, |g, now| {
            g.config.remove("lock");
            if start {
                g.power = Power::Running;
                g.started_at = now;
            }
            g.refresh();
            Ok(Vec::new())
        })
    });
    let upid = ctx.start_task(&mut c, node, tt, &vmid.to_string(), base, log, Some(effect));
    Ok(Reply::string(upid))
}

/// Adds a MAC to a `net` value that names a model without one.
fn fill_mac(v: &str, seed: u64, vmid: u32) -> String {
    let mut parts: Vec<String> = v.split(',').map(str::to_string).collect();
    if let Some(first) = parts.first_mut()
        && !first.contains('=')
    {
        *first = format!("{first}={}", mac_for(seed, vmid, 0));
    }
    if let Some(first) = parts.first_mut()
        && let Some(model) = first.strip_prefix("model=")
    {
        *first = format!("{model}={}", mac_for(seed, vmid, 0));
    }
    parts.join(",")
}

/// The config a backup carries: the backed-up guest's, without its disks (restored fresh).
fn restore_config(
    c: &Cluster,
    archive: &str,
    kind: Kind,
    cfg: &mut BTreeMap<String, String>,
) -> Result<(), PveError> {
    let vol = c
        .volumes
        .iter()
        .find(|v| v.volid == archive)
        .ok_or_else(|| PveError::internal(format!("volume '{archive}' does not exist")))?;
    if let Some(src) = vol.vmid.and_then(|id| c.guests.get(&id)) {
        for (k, v) in &src.config {
            if !matches!(k.as_str(), "lock" | "parent" | "template") && !is_disk_key(src.kind, k) {
                cfg.entry(k.clone()).or_insert_with(|| v.clone());
            }
        }
    }
    if kind == Kind::Qemu {
        cfg.entry("scsi0".into())
            .or_insert_with(|| "local-lvm:32".into());
    }
    Ok(())
}

/// `DELETE /nodes/{node}/qemu|lxc/{vmid}`.
pub fn destroy(ctx: &Ctx, node: &str, kind: Kind, vmid: u32) -> ApiResult {
    let mut c = ctx.write();
    ctx.require_vm(vmid, pool_of(&c, vmid).as_deref(), &["VM.Allocate"])?;
    let g = lookup(&c, node, kind, vmid)?;
    let label = kind.label();
    if g.protected() {
        return Err(PveError::internal(format!(
            "can't remove {label} {vmid} - protection mode enabled"
        )));
    }
    if let Some(l) = g.lock()
        && !ctx.params.flag("skiplock")?
    {
        return Err(lock_error(kind, l));
    }
    if g.is_running() {
        return Err(PveError::internal(match kind {
            Kind::Qemu => format!("VM {vmid} is running - destroy failed"),
            Kind::Lxc => format!("CT {vmid} is running - unable to destroy"),
        }));
    }
    let purge = ctx.params.flag("purge")?;
    let disks: Vec<String> = g.disk_volumes().into_iter().map(|(_, v, _)| v).collect();
    let n = node.to_string();
    if let Some(g) = c.guests.get_mut(&vmid) {
        g.config.insert("lock".into(), "destroyed".into());
    }
    let mut log: Vec<String> = disks
        .iter()
        .map(|v| {
            format!(
                "  Logical volume \"{}\" successfully removed.",
                v.split(':').nth(1).unwrap_or(v)
            )
        })
        .collect();
    if purge {
        log.push(format!(
            "purging {label} {vmid} from related configurations.."
        ));
    }
    let effect = Box::new(move |c: &mut Cluster| {
        if c.guest_on(&n, kind, vmid).is_none() {
            return Err(gone(&n, kind, vmid));
        }
        c.guests.remove(&vmid);
        c.firewall.options.remove(&format!("vm/{vmid}"));
        c.firewall.rules.remove(&format!("vm/{vmid}"));
        if purge {
            let sid = format!("{}:{vmid}", if kind == Kind::Qemu { "vm" } else { "ct" });
            c.ha_resources.remove(&sid);
            for job in c.backup_jobs.values_mut() {
                if let Some(list) = job.get("vmid").and_then(|v| v.as_str()).map(str::to_string) {
                    let rest: Vec<&str> =
                        list.split(',').filter(|x| *x != vmid.to_string()).collect();
                    job.insert("vmid".into(), json!(rest.join(",")));
                }
            }
        }
        Ok(Vec::new())
    });
    let tt = format!("{}destroy", kind.task_prefix());
    let upid = ctx.start_task(&mut c, node, &tt, &vmid.to_string(), 1.5, log, Some(effect));
    Ok(Reply::string(upid))
}

/// `POST .../clone`.
pub fn clone(ctx: &Ctx, node: &str, kind: Kind, vmid: u32) -> ApiResult {
    let p = &ctx.params;
    let newid = super::guests::parse_vmid(&p.req("newid")?)
        .map_err(|_| PveError::param("newid", "value does not look like a valid VM ID"))?;
    let pool = p.str("pool");
    let target = p.str("target").unwrap_or_else(|| node.to_string());
    let mut c = ctx.write();
    ctx.require_vm(vmid, pool_of(&c, vmid).as_deref(), &["VM.Clone"])?;
    if !ctx.can_vm(newid, pool.as_deref(), "VM.Allocate") {
        return Err(PveError::forbidden(&format!("/vms/{newid}"), "VM.Allocate"));
    }
    let src = lookup(&c, node, kind, vmid)?;
    if c.guests.contains_key(&newid) {
        return Err(PveError::internal(format!(
            "unable to create {} {newid}: config file already exists",
            kind.label()
        )));
    }
    if let Some(l) = src.lock() {
        return Err(lock_error(kind, l));
    }
    if !c.node_online(&target) {
        return Err(PveError::internal(format!(
            "target node '{target}' is not online"
        )));
    }
    let template = src.is_template();
    let full = p.bool("full")?.unwrap_or(!template);
    if !full && !template {
        return Err(PveError::internal(
            "linked clone feature is not supported for drive 'scsi0'",
        ));
    }
    if target != node
        && src.disk_volumes().iter().any(|(_, v, _)| {
            v.split(':')
                .next()
                .and_then(|s| c.storage(s))
                .is_some_and(|s| !s.shared)
        })
        && p.str("storage").is_none()
    {
        return Err(PveError::internal(format!(
            "can't clone VM to node '{target}' (VM uses local storage)"
        )));
    }
    let base_cfg = match p.str("snapname") {
        Some(s) => src
            .snapshots
            .get(&s)
            .map(|x| x.config.clone())
            .ok_or_else(|| PveError::internal(format!("snapshot '{s}' does not exist")))?,
        None => src.config.clone(),
    };
    let mut cfg = BTreeMap::new();
    let storage = p.str("storage");
    let mut disk_no = 0;
    let mut log = vec![format!(
        "create {} clone of drive(s)",
        if full { "full" } else { "linked" }
    )];
    for (k, v) in base_cfg {
        if matches!(k.as_str(), "template" | "parent" | "lock") || k.starts_with("unused") {
            continue;
        }
        let nv = if is_disk_key(kind, &k) && !v.contains("media=cdrom") && v.contains(':') {
            let (vol, opts) = v.split_once(',').unwrap_or((&v, ""));
            let sid = storage
                .clone()
                .unwrap_or_else(|| vol.split(':').next().unwrap_or("local-lvm").to_string());
            let name = format!("{sid}:vm-{newid}-disk-{disk_no}");
            disk_no += 1;
            log.push(format!("drive '{k}': {vol} -> {name}"));
            if opts.is_empty() {
                name
            } else {
                format!("{name},{opts}")
            }
        } else if k.starts_with("net") {
            rewrite_mac(&v, c.seed, newid, kind)
        } else if k == "smbios1" {
            format!("uuid={}", uuid_for(c.seed ^ 0x1234, u64::from(newid)))
        } else if k == "vmgenid" {
            uuid_for(c.seed ^ 0x4321, u64::from(newid))
        } else {
            v
        };
        cfg.insert(k, nv);
    }
    let name_key = if kind == Kind::Qemu {
        "name"
    } else {
        "hostname"
    };
    let new_name = p
        .str(if kind == Kind::Qemu {
            "name"
        } else {
            "hostname"
        })
        .unwrap_or_else(|| format!("Copy-of-VM-{}", src.name()));
    cfg.insert(name_key.into(), new_name);
    if let Some(d) = p.str("description") {
        cfg.insert("description".into(), d);
    }
    cfg.insert("lock".into(), "clone".into());
    let mut g = Guest::new(newid, kind, &target, cfg);
    g.pool = pool;
    c.guests.insert(newid, g);
    let t = target.clone();
    let effect = Box::new(move |c: &mut Cluster| {
        with_guest(c, &t, kind, newid, |g, _| {
            g.config.remove("lock");
            g.refresh();
            Ok(Vec::new())
        })
    });
    let tt = format!("{}clone", kind.task_prefix());
    let upid = ctx.start_task(&mut c, node, &tt, &vmid.to_string(), 5.0, log, Some(effect));
    Ok(Reply::string(upid))
}

fn rewrite_mac(v: &str, seed: u64, vmid: u32, kind: Kind) -> String {
    let mac = mac_for(seed, vmid, 0);
    v.split(',')
        .enumerate()
        .map(|(i, part)| match (kind, part.split_once('=')) {
            (Kind::Qemu, Some((model, _))) if i == 0 && !part.starts_with("bridge") => {
                format!("{model}={mac}")
            }
            (Kind::Lxc, Some(("hwaddr", _))) => format!("hwaddr={mac}"),
            _ => part.to_string(),
        })
        .collect::<Vec<_>>()
        .join(",")
}

/// `POST .../template`.
pub fn template(ctx: &Ctx, node: &str, kind: Kind, vmid: u32) -> ApiResult {
    let mut c = ctx.write();
    ctx.require_vm(vmid, pool_of(&c, vmid).as_deref(), &["VM.Allocate"])?;
    let g = lookup(&c, node, kind, vmid)?;
    if g.is_template() {
        return Err(PveError::internal(format!(
            "{} {vmid} is already a template",
            kind.label()
        )));
    }
    if let Some(l) = g.lock() {
        return Err(lock_error(kind, l));
    }
    if g.is_running() {
        return Err(PveError::internal(match kind {
            Kind::Qemu => "you can't convert a VM to template if VM is running".to_string(),
            Kind::Lxc => "you can't convert a CT to template if the CT is running".to_string(),
        }));
    }
    let convert = |g: &mut Guest| {
        let keys: Vec<String> = g.config.keys().cloned().collect();
        for k in keys {
            if is_disk_key(g.kind, &k)
                && let Some(v) = g.config.get_mut(&k)
            {
                *v = v.replace(
                    &format!("vm-{}-disk", g.vmid),
                    &format!("base-{}-disk", g.vmid),
                );
            }
        }
        g.config.insert("template".into(), "1".into());
        g.refresh();
    };
    if kind == Kind::Lxc {
        let g = lookup_mut(&mut c, node, kind, vmid)?;
        convert(g);
        return Ok(Reply::null());
    }
    let n = node.to_string();
    let effect = Box::new(move |c: &mut Cluster| {
        with_guest(c, &n, kind, vmid, |g, _| {
            convert(g);
            Ok(Vec::new())
        })
    });
    let upid = ctx.start_task(
        &mut c,
        node,
        "qmtemplate",
        &vmid.to_string(),
        1.0,
        vec![],
        Some(effect),
    );
    Ok(Reply::string(upid))
}

/// `PUT .../resize`.
pub fn resize(ctx: &Ctx, node: &str, kind: Kind, vmid: u32) -> ApiResult {
    let disk = ctx.params.req("disk")?;
    let size = ctx.params.req("size")?;
    let mut c = ctx.write();
    ctx.require_vm(vmid, pool_of(&c, vmid).as_deref(), &["VM.Config.Disk"])?;
    let g = lookup(&c, node, kind, vmid)?;
    if let Some(d) = ctx.params.str("digest")
        && d != g.digest()
    {
        return Err(PveError::internal(
            "detected modified configuration - file changed by other user? Try again.",
        ));
    }
    if let Some(l) = g.lock()
        && !ctx.params.flag("skiplock")?
    {
        return Err(lock_error(kind, l));
    }
    let value = g
        .config
        .get(&disk)
        .filter(|_| is_disk_key(kind, &disk))
        .cloned()
        .ok_or_else(|| PveError::internal(format!("disk '{disk}' does not exist")))?;
    let current = prop_get(&value, "size")
        .and_then(|s| parse_size(&s))
        .unwrap_or(0);
    let (relative, spec) = match size.strip_prefix('+') {
        Some(s) => (true, s),
        None => (false, size.as_str()),
    };
    let amount = parse_size(spec)
        .filter(|_| spec.chars().next().is_some_and(|c| c.is_ascii_digit()))
        .ok_or_else(|| PveError::param("size", "value does not match the regex pattern"))?;
    let new = if relative { current + amount } else { amount };
    if new < current {
        return Err(PveError::internal("shrinking disks is not supported"));
    }
    let new_str = crate::util::format_size(new);
    let n = node.to_string();
    let d = disk.clone();
    let effect = Box::new(move |c: &mut Cluster| {
        with_guest(c, &n, kind, vmid, |g, _| {
            if let Some(v) = g.config.get_mut(&d) {
                let parts: Vec<String> = v
                    .split(',')
                    .map(|p| {
                        if p.starts_with("size=") {
                            format!("size={new_str}")
                        } else {
                            p.to_string()
                        }
                    })
                    .collect();
                *v = parts.join(",");
            }
            g.refresh();
            Ok(Vec::new())
        })
    });
    let log = vec![format!(
        "  Size of logical volume pve/vm-{vmid}-disk-0 changed from {} to {}.",
        crate::util::format_size(current),
        crate::util::format_size(new)
    )];
    let upid = ctx.start_task(
        &mut c,
        node,
        "resize",
        &vmid.to_string(),
        1.0,
        log,
        Some(effect),
    );
    Ok(Reply::string(upid))
}
