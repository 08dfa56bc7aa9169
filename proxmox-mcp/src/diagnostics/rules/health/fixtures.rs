//! Test fixtures: a healthy three-node cluster as PVE reports it, and the runners the tests use.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use crate::config::DiagnosticsConfig;
use crate::diagnostics::rules::{Ctx, Outcome, Rule, Severity, Skip};
use crate::diagnostics::snapshot::cluster::{ClusterSnapshot, GuestSnapshot, NodeSnapshot};

/// Fixed "now" of the fixtures (2026-12-06 06:00 UTC).
pub const NOW: i64 = 1_796_536_800;
pub const GIB: u64 = 1 << 30;
pub const NODES: [&str; 3] = ["pve1", "pve2", "pve3"];

/// Runs one rule with the default configuration.
pub fn run(rule: &dyn Rule, snap: &ClusterSnapshot) -> Outcome {
    let config = DiagnosticsConfig::default();
    rule.check(snap, &Ctx { config: &config })
}

/// `(rule, object, severity)` of every finding, or panics when the rule skipped.
pub fn check(rule: &dyn Rule, snap: &ClusterSnapshot) -> Vec<(&'static str, String, Severity)> {
    let found = run(rule, snap)
        .unwrap_or_else(|Skip(why)| panic!("{} skipped unexpectedly: {why}", rule.id()));
    for f in &found {
        assert!(!f.evidence.is_empty() && !f.recommendation.is_empty());
        assert_eq!(f.rule, rule.id());
    }
    found
        .into_iter()
        .map(|f| (f.rule, f.object, f.severity))
        .collect()
}

/// Asserts the rule skips, and that the reason names `why`.
pub fn skips(rule: &dyn Rule, snap: &ClusterSnapshot, why: &str) {
    match run(rule, snap) {
        Err(Skip(reason)) => assert!(reason.contains(why), "{}: {reason}", rule.id()),
        Ok(found) => panic!("{} did not skip: {found:#?}", rule.id()),
    }
}

/// The error a fact read fails with in the skip tests.
pub fn denied<T>() -> Result<T, String> {
    Err("GET /nodes/pve1/x: 403 Permission check failed".into())
}

/// A node of the baseline.
pub fn node<'a>(snap: &'a mut ClusterSnapshot, name: &str) -> &'a mut NodeSnapshot {
    snap.nodes.get_mut(name).expect("baseline node")
}

/// A guest of the baseline.
pub fn guest(snap: &mut ClusterSnapshot, vmid: u32) -> &mut GuestSnapshot {
    snap.guests.get_mut(&vmid).expect("baseline guest")
}

fn healthy_node(i: usize, name: &str) -> NodeSnapshot {
    let gib = GIB as f64;
    let rrd = (0..70)
        .map(|k| {
            json!({"time": NOW - 60 * (69 - k), "cpu": 0.2, "iowait": 0.01, "maxcpu": 16,
                "memused": 40.0 * gib, "memtotal": 128.0 * gib,
                "pressurecpusome": 2.0, "pressureiofull": 0.5, "pressurememoryfull": 0.0})
        })
        .collect();
    let disks = vec![
        json!({"devpath": "/dev/nvme0n1", "type": "nvme", "health": "PASSED", "wearout": 97,
            "size": 1_000_204_886_016u64, "model": "Samsung SSD 990 PRO 1TB", "gpt": 1,
            "mounted": 0, "osdid": -1, "used": "ZFS"}),
        json!({"devpath": "/dev/sda", "type": "hdd", "health": "PASSED", "wearout": "N/A",
            "size": 4_000_787_030_016u64, "model": "WDC WD40EFRX", "gpt": 1, "mounted": 0,
            "osdid": -1, "used": "LVM"}),
    ];
    let smart = BTreeMap::from([
        (
            "/dev/nvme0n1".to_string(),
            Ok(json!({"health": "PASSED", "type": "text",
                "text": "Critical Warning: 0x00\nTemperature: 38 Celsius\nMedia and Data Integrity Errors: 0\n"})),
        ),
        (
            "/dev/sda".to_string(),
            Ok(json!({"health": "PASSED", "type": "ata", "attributes": [
                {"id": "  5", "name": "Reallocated_Sector_Ct", "raw": "0", "value": 100, "worst": 100, "threshold": 10, "fail": "-", "flags": "PO--CK", "normalized": 100},
                {"id": "194", "name": "Temperature_Celsius", "raw": "36 (Min/Max 20/45)", "value": 64, "worst": 50, "threshold": 0, "fail": "-", "flags": "-O---K", "normalized": 64},
                {"id": "197", "name": "Current_Pending_Sector", "raw": "0", "value": 200, "worst": 200, "threshold": 0, "fail": "-", "flags": "-O--CK", "normalized": 200},
                {"id": "198", "name": "Offline_Uncorrectable", "raw": "0", "value": 100, "worst": 253, "threshold": 0, "fail": "-", "flags": "----CK", "normalized": 100},
                {"id": "199", "name": "UDMA_CRC_Error_Count", "raw": "0", "value": 200, "worst": 200, "threshold": 0, "fail": "-", "flags": "-O--CK", "normalized": 200}
            ]})),
        ),
    ]);
    let zfs_detail = BTreeMap::from([(
        "rpool".to_string(),
        Ok(
            json!({"name": "rpool", "state": "ONLINE", "errors": "No known data errors",
            "scan": "scrub repaired 0B in 00:01:02 with 0 errors",
            "children": [{"name": "rpool", "state": "ONLINE", "read": 0, "write": 0, "cksum": 0, "msg": "",
                "children": [{"name": "mirror-0", "state": "ONLINE", "read": 0, "write": 0, "cksum": 0, "msg": "",
                    "children": [
                        {"name": "nvme0n1p3", "state": "ONLINE", "read": 0, "write": 0, "cksum": 0, "msg": ""},
                        {"name": "nvme1n1p3", "state": "ONLINE", "read": 0, "write": 0, "cksum": 0, "msg": ""}
                    ]}]}]}),
        ),
    )]);
    NodeSnapshot {
        name: name.into(),
        online: true,
        status: Ok(json!({
            "cpu": 0.2, "wait": 0.01, "uptime": 3_000_000,
            "kversion": "Linux 6.14.11-4-pve #1 SMP PREEMPT_DYNAMIC PMX 6.14.11-4 (2025-10-10T08:04Z)",
            "pveversion": "pve-manager/9.1.1/42db4a6cf33dac83",
            "current-kernel": {"sysname": "Linux", "release": "6.14.11-4-pve", "machine": "x86_64"},
            "memory": {"total": 128 * GIB, "used": 40 * GIB, "free": 88 * GIB, "available": 88 * GIB},
            "swap": {"total": 8 * GIB, "used": 0, "free": 8 * GIB},
            "rootfs": {"total": 100 * GIB, "used": 20 * GIB, "free": 80 * GIB, "avail": 80 * GIB},
        })),
        version: Ok(json!({"version": "9.1.1", "release": "9.1", "repoid": "42db4a6cf33dac83"})),
        rrd: Ok(rrd),
        services: Ok([
            "pveproxy", "pvedaemon", "pvestatd", "pvescheduler", "pve-cluster", "corosync",
            "pve-firewall", "chrony", "pve-ha-lrm", "pve-ha-crm",
        ]
        .iter()
        .map(|s| json!({"service": s, "name": s, "state": "running", "active-state": "active", "unit-state": "enabled"}))
        .chain([json!({"service": "postfix", "name": "postfix", "state": "dead", "active-state": "inactive", "unit-state": "disabled"})])
        .collect()),
        apt_versions: Ok(vec![
            json!({"Package": "proxmox-ve", "Version": "9.1.0", "CurrentState": "Installed", "RunningKernel": "6.14.11-4-pve", "ManagerVersion": "9.1.1"}),
            json!({"Package": "pve-manager", "Version": "9.1.1", "CurrentState": "Installed"}),
            json!({"Package": "proxmox-kernel-6.14", "Version": "6.14.11-4", "CurrentState": "Installed"}),
            json!({"Package": "proxmox-kernel-6.14.11-4-pve-signed", "Version": "6.14.11-4", "CurrentState": "Installed"}),
            json!({"Package": "proxmox-kernel-6.14.8-2-pve-signed", "Version": "6.14.8-2", "CurrentState": "Installed"}),
        ]),
        network: Ok(vec![
            json!({"iface": "eno1", "type": "eth", "active": 1, "autostart": 1, "exists": 1, "families": ["inet"], "method": "manual"}),
            json!({"iface": "eno2", "type": "eth", "active": 1, "autostart": 1, "exists": 1, "families": ["inet"], "method": "manual"}),
            json!({"iface": "eno3", "type": "eth", "active": 0, "exists": 1, "families": ["inet"], "method": "manual"}),
            json!({"iface": "bond0", "type": "bond", "active": 1, "autostart": 1, "slaves": "eno1 eno2", "bond_mode": "802.3ad", "families": ["inet"], "method": "manual"}),
            json!({"iface": "vmbr0", "type": "bridge", "active": 1, "autostart": 1, "bridge_ports": "bond0", "bridge_vlan_aware": 1, "bridge_vids": "2-4094", "mtu": 1500,
                "address": format!("10.0.0.{}", i + 1), "cidr": format!("10.0.0.{}/24", i + 1), "families": ["inet"], "method": "static"}),
        ]),
        time: Ok(json!({"time": NOW, "localtime": NOW + 3600, "timezone": "Europe/Berlin"})),
        dns: Ok(json!({"search": "example.lan", "dns1": "10.0.0.53", "dns2": "10.0.0.54"})),
        disks: Ok(disks),
        smart,
        zfs: Ok(vec![json!({"name": "rpool", "health": "ONLINE", "size": 1_000 * GIB, "alloc": 300 * GIB, "free": 700 * GIB, "frag": 8, "dedup": 1.0})]),
        zfs_detail,
        lvmthin: Ok(vec![json!({"lv": "data", "vg": "pve", "lv_size": 3_000 * GIB, "used": 600 * GIB, "metadata_size": GIB, "metadata_used": GIB / 5})]),
        replication: Ok(vec![]),
        ..NodeSnapshot::default()
    }
}

fn storage(node: &str, id: &str, plugin: &str, shared: bool, used: u64, size: u64) -> Value {
    json!({"id": format!("storage/{node}/{id}"), "type": "storage", "storage": id, "node": node,
        "status": "available", "plugintype": plugin, "shared": u8::from(shared),
        "disk": used, "maxdisk": size, "content": "images,rootdir"})
}

/// A healthy three-node cluster: quorate, two links each, services up, low load, healthy disks
/// and pools, storages available and half empty, HA started, two guests, no failed tasks.
pub fn baseline() -> ClusterSnapshot {
    let mut status = vec![
        json!({"type": "cluster", "id": "cluster", "name": "prod", "nodes": 3, "quorate": 1, "version": 3}),
    ];
    let mut resources = Vec::new();
    let mut corosync = Vec::new();
    let mut nodes = BTreeMap::new();
    for (i, name) in NODES.iter().enumerate() {
        status.push(json!({"type": "node", "id": format!("node/{name}"), "name": name, "nodeid": i + 1,
            "online": 1, "ip": format!("10.0.0.{}", i + 1), "local": u8::from(i == 0), "level": "c"}));
        corosync.push(
            json!({"name": name, "node": name, "nodeid": (i + 1).to_string(), "quorum_votes": "1",
            "ring0_addr": format!("10.0.0.{}", i + 1), "ring1_addr": format!("10.1.0.{}", i + 1)}),
        );
        resources.push(
            json!({"id": format!("node/{name}"), "type": "node", "node": name, "status": "online",
            "cpu": 0.2, "maxcpu": 16, "mem": 40 * GIB, "maxmem": 128 * GIB, "uptime": 3_000_000}),
        );
        resources.push(storage(
            name,
            "local-lvm",
            "lvmthin",
            false,
            600 * GIB,
            3_000 * GIB,
        ));
        resources.push(storage(
            name,
            "ceph-nfs",
            "nfs",
            true,
            2_000 * GIB,
            8_000 * GIB,
        ));
        nodes.insert(name.to_string(), healthy_node(i, name));
    }
    resources.push(
        json!({"id": "qemu/100", "type": "qemu", "vmid": 100, "node": "pve1", "name": "web",
        "status": "running", "maxdisk": 32 * GIB, "maxmem": 4 * GIB, "hastate": "started"}),
    );
    resources.push(
        json!({"id": "lxc/200", "type": "lxc", "vmid": 200, "node": "pve2", "name": "dns",
        "status": "running", "maxdisk": 8 * GIB, "maxmem": GIB}),
    );
    let qemu = GuestSnapshot {
        vmid: 100,
        kind: "qemu".into(),
        node: "pve1".into(),
        resource: resources[resources.len() - 2].clone(),
        config: Ok(BTreeMap::from([
            (
                "scsi0".into(),
                "local-lvm:vm-100-disk-0,iothread=1,size=32G".into(),
            ),
            (
                "efidisk0".into(),
                "local-lvm:vm-100-disk-1,efitype=4m,size=4M".into(),
            ),
            ("ide2".into(), "none,media=cdrom".into()),
            (
                "net0".into(),
                "virtio=BC:24:11:00:00:01,bridge=vmbr0,firewall=1,tag=20".into(),
            ),
        ])),
        ..GuestSnapshot::default()
    };
    let lxc = GuestSnapshot {
        vmid: 200,
        kind: "lxc".into(),
        node: "pve2".into(),
        resource: resources[resources.len() - 1].clone(),
        config: Ok(BTreeMap::from([
            ("rootfs".into(), "local-lvm:vm-200-disk-0,size=8G".into()),
            (
                "net0".into(),
                "name=eth0,bridge=vmbr0,firewall=1,hwaddr=BC:24:11:00:00:02,ip=dhcp,type=veth"
                    .into(),
            ),
        ])),
        ..GuestSnapshot::default()
    };
    ClusterSnapshot {
        now: NOW,
        version: Ok(json!({"version": "9.1.1", "release": "9.1", "repoid": "42db4a6cf33dac83"})),
        status: Ok(status),
        resources: Ok(resources),
        tasks: Ok(vec![
            json!({"upid": "UPID:pve1:1:2:3:vzdump:100:root@pam:", "node": "pve1", "type": "vzdump", "id": "100",
                "user": "root@pam", "starttime": NOW - 3600, "endtime": NOW - 3000, "status": "OK"}),
            json!({"upid": "UPID:pve2:1:2:3:vzdump:200:root@pam:", "node": "pve2", "type": "vzdump", "id": "200",
                "user": "root@pam", "starttime": NOW - 3600, "endtime": NOW - 3500, "status": "WARNINGS: 1"}),
            json!({"upid": "UPID:pve1:1:2:3:qmstart:100:root@pam:", "node": "pve1", "type": "qmstart", "id": "100",
                "user": "root@pam", "starttime": NOW - 5 * 86_400, "endtime": NOW - 5 * 86_400, "status": "start failed"}),
        ]),
        log: Ok(vec![
            json!({"uid": 1, "time": NOW - 60, "node": "pve1", "pri": 6, "tag": "pvedaemon", "pid": 1, "user": "root@pam", "msg": "successful auth"}),
        ]),
        corosync_nodes: Ok(corosync),
        totem: Ok(
            json!({"cluster_name": "prod", "config_version": "3", "interface": {"0": {"linknumber": "0"}, "1": {"linknumber": "1"}},
            "ip_version": "ipv4-6", "link_mode": "passive", "secauth": "on", "version": "2"}),
        ),
        qdevice: Ok(json!({})),
        ha_status: Ok(vec![
            json!({"id": "quorum", "type": "quorum", "status": "OK", "quorate": 1, "node": "pve1"}),
            json!({"id": "service:vm:100", "type": "service", "sid": "vm:100", "node": "pve1", "state": "started", "status": "vm:100 (pve1, started)"}),
        ]),
        ha_resources: Ok(vec![
            json!({"sid": "vm:100", "type": "vm", "state": "started", "group": "prefer-pve1"}),
        ]),
        ha_groups: Ok(vec![
            json!({"group": "prefer-pve1", "type": "group", "nodes": "pve1:2,pve2,pve3"}),
        ]),
        ha_rules: Ok(vec![
            json!({"rule": "keep-web", "type": "node-affinity", "nodes": "pve1:2,pve2", "resources": "vm:100"}),
        ]),
        storage_config: Ok(vec![
            json!({"storage": "local-lvm", "type": "lvmthin", "vgname": "pve", "thinpool": "data", "content": "images,rootdir"}),
            json!({"storage": "ceph-nfs", "type": "nfs", "server": "10.0.0.50", "export": "/tank", "content": "images,rootdir,backup", "shared": 1}),
        ]),
        nodes,
        guests: BTreeMap::from([(100, qemu), (200, lxc)]),
        ..ClusterSnapshot::default()
    }
}
