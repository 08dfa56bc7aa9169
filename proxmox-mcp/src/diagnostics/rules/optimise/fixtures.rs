//! Test fixtures: a healthy three-node cluster as the optimisation and backup rules see it.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::super::{Ctx, Outcome, Rule, Severity};
use crate::config::DiagnosticsConfig;
use crate::diagnostics::snapshot::cluster::{ClusterSnapshot, GuestSnapshot, NodeSnapshot};

/// The fixtures' clock.
pub const NOW: i64 = 1_765_000_000;
pub const DAY: i64 = 86_400;
pub const GIB: u64 = 1 << 30;

pub const FLAGS: &str = "fpu vme de pse tsc msr pae mce cx8 apic sep mtrr pge mca cmov pat \
    pse36 clflush mmx fxsr sse sse2 ht syscall nx pdpe1gb rdtscp lm constant_tsc pni pclmulqdq \
    ssse3 fma cx16 pcid sse4_1 sse4_2 x2apic movbe popcnt aes xsave avx f16c rdrand lahf_lm abm \
    avx2 bmi1 bmi2 erms invpcid adx smap sha_ni xsaveopt";

/// Key → value strings.
pub fn cfg(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

fn node(name: &str) -> NodeSnapshot {
    NodeSnapshot {
        name: name.into(),
        online: true,
        status: Ok(json!({
            "cpu": 0.2, "wait": 0.01, "uptime": 900_000,
            "cpuinfo": {"cpus": 16, "sockets": 1, "model": "EPYC", "flags": FLAGS},
            "memory": {"total": 64 * GIB, "used": 24 * GIB},
            "ksm": {"shared": 0},
        })),
        rrd: Ok((0..3)
            .map(|i| json!({"time": NOW - 60 * i, "cpu": 0.3, "memused": 26 * GIB, "memtotal": 64 * GIB}))
            .collect()),
        network: Ok(vec![
            json!({"iface": "eno1", "type": "eth", "active": 1}),
            json!({"iface": "vmbr0", "type": "bridge", "active": 1, "bridge_ports": "eno1"}),
            json!({"iface": "vmbr1", "type": "bridge", "active": 1, "mtu": "9000", "bridge_vlan_aware": 1}),
        ]),
        pci: Ok(vec![
            json!({"id": "0000:00:00.0", "class": "0x060000", "iommugroup": 0}),
            json!({"id": "0000:01:00.0", "class": "0x020000", "iommugroup": 7}),
        ]),
        ..NodeSnapshot::default()
    }
}

fn guest(vmid: u32, kind: &str, node: &str, maxcpu: u32, maxmem: u64) -> GuestSnapshot {
    let config = if kind == "qemu" {
        cfg(&[
            ("name", &format!("vm{vmid}")),
            ("cores", &maxcpu.to_string()),
            ("sockets", "1"),
            ("memory", &(maxmem / (1 << 20)).to_string()),
            ("cpu", "x86-64-v2-AES"),
            ("scsihw", "virtio-scsi-single"),
            (
                "scsi0",
                &format!("local-lvm:vm-{vmid}-disk-0,iothread=1,size=32G"),
            ),
            ("ide2", "none,media=cdrom"),
            (
                "net0",
                &format!(
                    "virtio=BC:24:11:00:00:{:02X},bridge=vmbr0,firewall=1",
                    vmid % 256
                ),
            ),
            ("agent", "1"),
            ("ostype", "l26"),
            ("onboot", "1"),
        ])
    } else {
        cfg(&[
            ("hostname", &format!("ct{vmid}")),
            ("cores", &maxcpu.to_string()),
            ("memory", &(maxmem / (1 << 20)).to_string()),
            ("swap", "512"),
            ("rootfs", &format!("local-lvm:vm-{vmid}-disk-0,size=8G")),
            (
                "net0",
                &format!(
                    "name=eth0,bridge=vmbr0,hwaddr=BC:24:11:00:01:{:02X},ip=dhcp,type=veth",
                    vmid % 256
                ),
            ),
            ("unprivileged", "1"),
        ])
    };
    GuestSnapshot {
        vmid,
        kind: kind.into(),
        node: node.into(),
        resource: json!({
            "id": format!("{kind}/{vmid}"), "type": kind, "vmid": vmid, "node": node,
            "name": format!("g{vmid}"), "status": "running", "template": 0,
            "cpu": 0.2, "maxcpu": maxcpu, "mem": maxmem / 2, "maxmem": maxmem,
            "disk": 0, "maxdisk": 32 * GIB,
        }),
        config: Ok(config),
        snapshots: Ok([(
            "before-upgrade".to_owned(),
            cfg(&[
                ("snaptime", &(NOW - 3 * DAY).to_string()),
                ("description", "pre-upgrade"),
            ]),
        )]
        .into_iter()
        .collect()),
        ..GuestSnapshot::default()
    }
}

fn backup(storage: &str, vmid: u32, kind: &str, ctime: i64) -> Value {
    let sub = if kind == "qemu" { "vma.zst" } else { "tar.zst" };
    let vz = if kind == "qemu" { "qemu" } else { "lxc" };
    json!({
        "volid": format!("{storage}:backup/vzdump-{vz}-{vmid}-{ctime}.{sub}"),
        "content": "backup", "vmid": vmid, "ctime": ctime, "size": 2 * GIB,
        "format": sub, "subtype": kind,
    })
}

/// The healthy baseline: three online nodes, two VMs and a container, a daily job to a shared
/// NFS storage with retention keeping monthlies, fresh backups (and month-old ones the
/// retention keeps), a replication job, metrics, pools/groups/roles in use.
pub fn healthy() -> ClusterSnapshot {
    let names = ["pve1", "pve2", "pve3"];
    let guests = vec![
        guest(101, "qemu", "pve1", 4, 8 * GIB),
        guest(102, "qemu", "pve2", 2, 4 * GIB),
        guest(201, "lxc", "pve3", 2, 2 * GIB),
    ];
    let mut resources: Vec<Value> = names
        .iter()
        .map(|n| {
            json!({"id": format!("node/{n}"), "type": "node", "node": n, "status": "online",
                "cpu": 0.2, "maxcpu": 16, "mem": 24 * GIB, "maxmem": 64 * GIB,
                "disk": 10 * GIB, "maxdisk": 100 * GIB})
        })
        .collect();
    for n in names {
        for (id, plugin, shared, content) in [
            ("local", "dir", 0, "iso,vztmpl"),
            ("local-lvm", "lvmthin", 0, "images,rootdir"),
            ("nfs-backup", "nfs", 1, "backup"),
        ] {
            resources.push(json!({"id": format!("storage/{n}/{id}"), "type": "storage",
                "storage": id, "node": n, "plugintype": plugin, "shared": shared,
                "content": content, "status": "available",
                "disk": 100 * GIB, "maxdisk": 1000 * GIB}));
        }
    }
    resources.extend(guests.iter().map(|g| g.resource.clone()));
    let mut volumes = Vec::new();
    for g in &guests {
        volumes.push(backup("nfs-backup", g.vmid, &g.kind, NOW - 6 * 3600));
        volumes.push(backup("nfs-backup", g.vmid, &g.kind, NOW - 30 * 3600));
        volumes.push(backup("nfs-backup", g.vmid, &g.kind, NOW - 95 * DAY));
    }
    ClusterSnapshot {
        now: NOW,
        version: Ok(json!({"version": "9.1.1", "release": "9.1", "repoid": "abc"})),
        resources: Ok(resources),
        tasks: Ok(vec![
            json!({"upid": "UPID:pve1:0000A1B2:00C0FFEE:6930A000:vzdump::root@pam:",
                "node": "pve1", "type": "vzdump", "id": "", "user": "root@pam",
                "starttime": NOW - 6 * 3600, "endtime": NOW - 5 * 3600, "status": "OK"}),
        ]),
        backup_jobs: Ok(vec![json!({
            "id": "backup-daily", "type": "vzdump", "enabled": 1, "schedule": "02:00",
            "storage": "nfs-backup", "all": 1, "mode": "snapshot", "compress": "zstd",
            "prune-backups": "keep-daily=7,keep-weekly=4,keep-monthly=6",
            "notification-mode": "notification-system",
        })]),
        replication_jobs: Ok(vec![json!({
            "id": "101-0", "guest": 101, "jobnum": 0, "type": "local", "target": "pve2",
            "schedule": "*/15", "source": "pve1",
        })]),
        metrics_servers: Ok(vec![json!({
            "id": "influx", "type": "influxdb", "server": "10.0.0.50", "port": 8089, "disable": 0,
        })]),
        storage_config: Ok(vec![
            json!({"storage": "local", "type": "dir", "path": "/var/lib/vz", "content": "iso,vztmpl"}),
            json!({"storage": "local-lvm", "type": "lvmthin", "vgname": "pve", "thinpool": "data",
                "content": "images,rootdir"}),
            json!({"storage": "nfs-backup", "type": "nfs", "server": "10.0.0.60",
                "export": "/export/pve-backup", "path": "/mnt/pve/nfs-backup",
                "content": "backup", "shared": 1,
                "prune-backups": "keep-daily=7,keep-weekly=4,keep-monthly=6"}),
        ]),
        pools: Ok(vec![json!({"poolid": "prod", "comment": "production",
            "members": [{"id": "qemu/101", "type": "qemu", "vmid": 101, "node": "pve1"}]})]),
        groups: Ok(vec![
            json!({"groupid": "admins", "users": "alice@pve,bob@pve"}),
        ]),
        roles: Ok(vec![
            json!({"roleid": "Administrator", "special": 1, "privs": "Sys.Audit"}),
            json!({"roleid": "PVEAuditor", "special": 1, "privs": "Sys.Audit"}),
            json!({"roleid": "BackupOperator", "privs": "VM.Backup,Datastore.AllocateSpace"}),
        ]),
        acl: Ok(vec![
            json!({"path": "/", "type": "group", "ugid": "admins", "roleid": "PVEAuditor", "propagate": 1}),
            json!({"path": "/vms", "type": "user", "ugid": "backup@pve", "roleid": "BackupOperator", "propagate": 1}),
        ]),
        nodes: names.iter().map(|n| ((*n).to_owned(), node(n))).collect(),
        backups: [("pve1/nfs-backup".to_owned(), Ok(volumes))]
            .into_iter()
            .collect(),
        guests: guests.into_iter().map(|g| (g.vmid, g)).collect(),
        ..ClusterSnapshot::default()
    }
}

/// A backup volume of `vmid` on `storage`, made `age` seconds before [`NOW`].
pub fn backup_volume(storage: &str, vmid: u32, kind: &str, age: i64) -> Value {
    backup(storage, vmid, kind, NOW - age)
}

/// Runs `rule` over `snap` with the default thresholds (or `thresholds`), honouring
/// `cross_node` like [`super::super::evaluate`].
pub fn run_with(rule: &dyn Rule, snap: &ClusterSnapshot, thresholds: &[(&str, f64)]) -> Outcome {
    let config = DiagnosticsConfig {
        thresholds: thresholds
            .iter()
            .map(|(k, v)| ((*k).to_owned(), *v))
            .collect(),
        ..DiagnosticsConfig::default()
    };
    if rule.cross_node() && snap.single_node() {
        return Err(super::super::Skip("single-node".into()));
    }
    rule.check(snap, &Ctx { config: &config })
}

/// `rule` over `snap` finds exactly `want` (object, severity), in any order.
pub fn check(rule: &dyn Rule, snap: &ClusterSnapshot, want: &[(&str, Severity)]) {
    let found =
        run_with(rule, snap, &[]).unwrap_or_else(|s| panic!("{} skipped: {}", rule.id(), s.0));
    let mut got: Vec<(String, Severity)> = found
        .iter()
        .map(|f| {
            assert_eq!(f.rule, rule.id());
            assert_eq!(f.area, rule.area());
            assert!(!f.evidence.is_empty() && !f.recommendation.is_empty());
            (f.object.clone(), f.severity)
        })
        .collect();
    let mut want: Vec<(String, Severity)> =
        want.iter().map(|(o, s)| ((*o).to_owned(), *s)).collect();
    got.sort_by(|a, b| a.0.cmp(&b.0));
    want.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(got, want, "{}: {found:#?}", rule.id());
}

/// `rule` over `snap` is skipped.
pub fn skipped(rule: &dyn Rule, snap: &ClusterSnapshot) {
    assert!(
        run_with(rule, snap, &[]).is_err(),
        "{} should skip",
        rule.id()
    );
}

/// The error a fact gets when the token may not read it.
pub fn denied(path: &str) -> String {
    format!("GET {path}: 403 Permission check failed")
}

/// Mutable access to guest `vmid`'s config.
pub fn config_of(snap: &mut ClusterSnapshot, vmid: u32) -> &mut BTreeMap<String, String> {
    snap.guests
        .get_mut(&vmid)
        .and_then(|g| g.config.as_mut().ok())
        .expect("fixture guest with config")
}

/// Mutable access to the `/cluster/resources` entry with `id`.
pub fn resource<'a>(snap: &'a mut ClusterSnapshot, id: &str) -> &'a mut Value {
    snap.resources
        .as_mut()
        .ok()
        .and_then(|r| {
            r.iter_mut()
                .find(|v| v.get("id").and_then(Value::as_str) == Some(id))
        })
        .expect("fixture resource")
}

/// Every rule of `rules` finds nothing on the baseline and nothing on an empty snapshot.
pub fn quiet_on_healthy(rules: &[&dyn Rule]) {
    for snap in [healthy(), ClusterSnapshot::default()] {
        for rule in rules {
            if let Ok(found) = run_with(*rule, &snap, &[]) {
                assert!(
                    found.is_empty(),
                    "{} on a healthy cluster: {found:#?}",
                    rule.id()
                );
            } else if snap.nodes.len() > 1 {
                panic!("{} skipped on the healthy baseline", rule.id());
            }
        }
    }
}
