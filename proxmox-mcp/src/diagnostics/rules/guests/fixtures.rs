//! Test fixtures for the guests rules: a healthy 3-node cluster and the `check` helpers.

use std::collections::BTreeMap;

use serde_json::json;

use crate::config::DiagnosticsConfig;
use crate::diagnostics::rules::{Ctx, Outcome, Rule, Severity};
use crate::diagnostics::snapshot::cluster::{ClusterSnapshot, GuestSnapshot, NodeSnapshot};

pub const NOW: i64 = 1_780_000_000;

fn cfg(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn guest(vmid: u32, kind: &str, node: &str, status: &str, pairs: &[(&str, &str)]) -> GuestSnapshot {
    let running = status == "running";
    let template = pairs.iter().any(|(k, v)| *k == "template" && *v == "1");
    GuestSnapshot {
        vmid,
        kind: kind.into(),
        node: node.into(),
        resource: json!({
            "id": format!("{kind}/{vmid}"), "type": kind, "vmid": vmid, "node": node,
            "status": status, "template": u8::from(template),
            "name": pairs.iter().find(|(k, _)| *k == "name" || *k == "hostname").map(|(_, v)| *v),
            "cpu": if running { 0.12 } else { 0.0 }, "maxcpu": 2,
            "mem": if running { 1_073_741_824u64 } else { 0 }, "maxmem": 4_294_967_296u64,
            "uptime": if running { 864_000 } else { 0 },
        }),
        config: Ok(cfg(pairs)),
        agent_ping: (kind == "qemu" && running).then_some(Ok(())),
        rrd: running.then(|| {
            Ok(vec![json!({
                "time": NOW - 60, "cpu": 0.12,
                "pressurecpusome": 1.5, "pressureiofull": 0.2, "pressurememoryfull": 0.0,
            })])
        }),
        ..GuestSnapshot::default()
    }
}

/// A well-run 3-node cluster: two HA VMs on Ceph (Linux and Windows 11), a stopped VM on local
/// ZFS, a protected template, an unprivileged container.
pub fn baseline() -> ClusterSnapshot {
    let mut snap = ClusterSnapshot {
        now: NOW,
        ..ClusterSnapshot::default()
    };
    for n in ["pve1", "pve2", "pve3"] {
        snap.nodes.insert(
            n.into(),
            NodeSnapshot {
                name: n.into(),
                online: true,
                ..NodeSnapshot::default()
            },
        );
    }
    snap.storage_config = Ok(vec![
        json!({"storage": "local", "type": "dir", "path": "/var/lib/vz", "content": "iso,vztmpl"}),
        json!({"storage": "local-lvm", "type": "lvmthin", "thinpool": "data", "vgname": "pve", "content": "images,rootdir"}),
        json!({"storage": "local-zfs", "type": "zfspool", "pool": "rpool/data", "content": "images,rootdir", "sparse": 1}),
        json!({"storage": "ceph-vm", "type": "rbd", "pool": "vm", "content": "images,rootdir", "krbd": 0}),
        json!({"storage": "pbs", "type": "pbs", "content": "backup", "datastore": "main", "server": "127.0.0.1"}),
    ]);
    snap.ha_resources = Ok(vec![
        json!({"sid": "vm:101", "type": "vm", "state": "started"}),
        json!({"sid": "vm:102", "type": "vm", "state": "started"}),
    ]);
    let guests = [
        guest(
            101,
            "qemu",
            "pve1",
            "running",
            &[
                ("name", "web"),
                ("agent", "1"),
                ("ostype", "l26"),
                ("cpu", "x86-64-v2-AES"),
                ("cores", "2"),
                ("memory", "4096"),
                ("scsihw", "virtio-scsi-single"),
                ("scsi0", "ceph-vm:vm-101-disk-0,iothread=1,size=32G"),
                ("ide2", "none,media=cdrom"),
                ("net0", "virtio=BC:24:11:00:01:01,bridge=vmbr0,firewall=1"),
                ("onboot", "1"),
                ("boot", "order=scsi0;ide2;net0"),
            ],
        ),
        guest(
            102,
            "qemu",
            "pve2",
            "running",
            &[
                ("name", "win"),
                ("agent", "1"),
                ("ostype", "win11"),
                ("bios", "ovmf"),
                ("machine", "pc-q35-9.2+pve1"),
                ("cpu", "x86-64-v2-AES"),
                (
                    "efidisk0",
                    "ceph-vm:vm-102-disk-1,efitype=4m,pre-enrolled-keys=1,size=1M",
                ),
                ("tpmstate0", "ceph-vm:vm-102-disk-2,size=4M,version=v2.0"),
                ("scsihw", "virtio-scsi-single"),
                (
                    "scsi0",
                    "ceph-vm:vm-102-disk-0,cache=writeback,iothread=1,size=64G",
                ),
                ("ide2", "none,media=cdrom"),
                ("net0", "virtio=BC:24:11:00:01:02,bridge=vmbr0,firewall=1"),
                ("onboot", "1"),
                ("boot", "order=scsi0"),
            ],
        ),
        guest(
            103,
            "qemu",
            "pve3",
            "stopped",
            &[
                ("name", "lab"),
                ("agent", "1"),
                ("ostype", "l26"),
                ("cpu", "x86-64-v2-AES"),
                ("scsihw", "virtio-scsi-single"),
                ("scsi0", "local-zfs:vm-103-disk-0,iothread=1,size=16G"),
                ("net0", "virtio=BC:24:11:00:01:03,bridge=vmbr0,firewall=1"),
                ("boot", "order=scsi0"),
            ],
        ),
        guest(
            900,
            "qemu",
            "pve1",
            "stopped",
            &[
                ("name", "debian-tpl"),
                ("template", "1"),
                ("protection", "1"),
                ("ostype", "l26"),
                ("cpu", "x86-64-v2-AES"),
                ("scsihw", "virtio-scsi-single"),
                ("scsi0", "ceph-vm:base-900-disk-0,iothread=1,size=8G"),
                ("net0", "virtio=BC:24:11:00:09:00,bridge=vmbr0,firewall=1"),
            ],
        ),
        guest(
            201,
            "lxc",
            "pve2",
            "running",
            &[
                ("hostname", "dns"),
                ("ostype", "debian"),
                ("unprivileged", "1"),
                ("features", "nesting=1,keyctl=1"),
                ("memory", "512"),
                ("swap", "512"),
                ("cores", "1"),
                ("rootfs", "ceph-vm:vm-201-disk-0,size=8G"),
                ("mp0", "ceph-vm:vm-201-disk-1,mp=/srv,backup=1,size=4G"),
                (
                    "net0",
                    "name=eth0,bridge=vmbr0,hwaddr=BC:24:11:00:02:01,ip=dhcp,firewall=1",
                ),
                ("onboot", "1"),
            ],
        ),
    ];
    for mut g in guests {
        if g.vmid == 102 {
            let mut snaps = BTreeMap::new();
            snaps.insert(
                "pre-update".to_string(),
                cfg(&[
                    ("snaptime", &(NOW - 86_400).to_string()),
                    ("machine", "pc-q35-9.2+pve1"),
                ]),
            );
            g.snapshots = Ok(snaps);
        }
        snap.guests.insert(g.vmid, g);
    }
    snap
}

/// A guest of the baseline to change.
pub fn guest_mut(snap: &mut ClusterSnapshot, vmid: u32) -> &mut GuestSnapshot {
    snap.guests.get_mut(&vmid).expect("baseline guest")
}

/// Sets (`Some`) or removes (`None`) config keys of a baseline guest.
pub fn with(
    mut snap: ClusterSnapshot,
    vmid: u32,
    changes: &[(&str, Option<&str>)],
) -> ClusterSnapshot {
    let cfg = guest_mut(&mut snap, vmid)
        .config
        .as_mut()
        .expect("config read");
    for (k, v) in changes {
        match v {
            Some(v) => cfg.insert(k.to_string(), v.to_string()),
            None => cfg.remove(*k),
        };
    }
    snap
}

/// Sets a member of a baseline guest's `/cluster/resources` entry.
pub fn with_res(
    mut snap: ClusterSnapshot,
    vmid: u32,
    key: &str,
    value: serde_json::Value,
) -> ClusterSnapshot {
    guest_mut(&mut snap, vmid).resource[key] = value;
    snap
}

/// Every guest's config unreadable.
pub fn no_configs(mut snap: ClusterSnapshot) -> ClusterSnapshot {
    for g in snap.guests.values_mut() {
        g.config = Err(format!(
            "GET /nodes/{}/{}/{}/config: 403 Permission check failed",
            g.node, g.kind, g.vmid
        ));
    }
    snap
}

pub fn run(rule: &dyn Rule, snap: &ClusterSnapshot) -> Outcome {
    let cfg = DiagnosticsConfig::default();
    rule.check(snap, &Ctx { config: &cfg })
}

/// Runs `rule` on `snap` and compares (object, severity) of its findings with `want`; every
/// finding must carry the rule's id and a fix.
pub fn check(rule: &dyn Rule, snap: &ClusterSnapshot, want: &[(&str, Severity)]) {
    let found = run(rule, snap).unwrap_or_else(|e| panic!("{} skipped: {}", rule.id(), e.0));
    let got: Vec<(&str, Severity)> = found
        .iter()
        .map(|f| (f.object.as_str(), f.severity))
        .collect();
    assert_eq!(got, want, "{}: {found:#?}", rule.id());
    for f in &found {
        assert_eq!(f.rule, rule.id());
        assert!(!f.evidence.is_empty() && !f.recommendation.is_empty());
    }
}

/// `rule` reports itself skipped on `snap`, with a reason mentioning `why`.
pub fn skips(rule: &dyn Rule, snap: &ClusterSnapshot, why: &str) {
    match run(rule, snap) {
        Err(s) => assert!(s.0.contains(why), "{}: skip reason {:?}", rule.id(), s.0),
        Ok(f) => panic!("{} did not skip: {f:#?}", rule.id()),
    }
}
