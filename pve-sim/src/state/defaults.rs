//! The defaults every cluster starts with: storages, ISO/template volumes, node networks, HA,
//! backup jobs, firewall and SDN examples, datacenter options.

use serde_json::json;

use super::generate::gateway;
use super::guest::Kind;
use super::network::NodeNetwork;
use super::storage::{StorageCfg, Volume};
use super::{Cluster, GEN_EPOCH, Node, Obj};

/// The default storages: local (dir), local-lvm (lvmthin) and a shared nfs-backup.
pub fn default_storages() -> Vec<StorageCfg> {
    let props = |pairs: &[(&str, &str)]| {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    };
    vec![
        StorageCfg {
            id: "local".into(),
            kind: "dir".into(),
            content: "backup,iso,vztmpl".into(),
            shared: false,
            nodes: None,
            disable: false,
            total: 100 << 30,
            base_used: 9 << 30,
            props: props(&[("path", "/var/lib/vz")]),
        },
        StorageCfg {
            id: "local-lvm".into(),
            kind: "lvmthin".into(),
            content: "images,rootdir".into(),
            shared: false,
            nodes: None,
            disable: false,
            total: 8 << 40,
            base_used: 0,
            props: props(&[("thinpool", "data"), ("vgname", "pve")]),
        },
        StorageCfg {
            id: "nfs-backup".into(),
            kind: "nfs".into(),
            content: "backup".into(),
            shared: true,
            nodes: None,
            disable: false,
            total: 16 << 40,
            base_used: 1 << 40,
            props: props(&[
                ("export", "/export/pve-backup"),
                ("path", "/mnt/pve/nfs-backup"),
                ("server", "10.10.10.5"),
                ("prune-backups", "keep-daily=7,keep-last=3,keep-weekly=4"),
                ("options", "vers=4.2"),
            ]),
        },
    ]
}

/// ISOs and container templates on `local` of every node.
pub fn default_volumes(nodes: &[Node]) -> Vec<Volume> {
    let mut out = Vec::new();
    for n in nodes {
        for (name, content, size) in [
            ("iso/debian-12.7.0-amd64-netinst.iso", "iso", 661_651_456u64),
            (
                "iso/ubuntu-24.04.1-live-server-amd64.iso",
                "iso",
                2_773_874_688,
            ),
            ("iso/virtio-win-0.1.262.iso", "iso", 708_497_408),
            (
                "vztmpl/debian-12-standard_12.7-1_amd64.tar.zst",
                "vztmpl",
                126_697_425,
            ),
            (
                "vztmpl/ubuntu-24.04-standard_24.04-2_amd64.tar.zst",
                "vztmpl",
                141_877_209,
            ),
            (
                "vztmpl/alpine-3.20-default_20240908_amd64.tar.xz",
                "vztmpl",
                3_157_040,
            ),
        ] {
            let format = if content == "iso" {
                "iso"
            } else if name.ends_with(".xz") {
                "txz"
            } else {
                "tzst"
            };
            out.push(Volume {
                volid: format!("local:{name}"),
                storage: "local".into(),
                node: Some(n.name.clone()),
                content: content.into(),
                format: format.into(),
                size,
                ctime: GEN_EPOCH - 86_400 * 60,
                vmid: None,
                subtype: None,
                notes: None,
                protected: false,
            });
        }
    }
    out
}

/// The default network of a node: one NIC, a bridge with the node IP and a VLAN-aware bridge.
pub fn default_network(ip: &str, idx: usize) -> NodeNetwork {
    let mut n = NodeNetwork::default();
    let obj = |v: serde_json::Value| -> Obj { v.as_object().cloned().unwrap_or_default() };
    n.ifaces.insert(
        "eno1".into(),
        obj(
            json!({"iface": "eno1", "type": "eth", "method": "manual", "method6": "manual",
            "families": ["inet"], "active": 1, "exists": 1, "priority": 3}),
        ),
    );
    n.ifaces.insert(
        "eno2".into(),
        obj(
            json!({"iface": "eno2", "type": "eth", "method": "manual", "method6": "manual",
            "families": ["inet"], "active": 1, "exists": 1, "priority": 4}),
        ),
    );
    n.ifaces.insert(
        "vmbr0".into(),
        obj(
            json!({"iface": "vmbr0", "type": "bridge", "method": "static", "method6": "manual",
            "families": ["inet"], "active": 1, "autostart": 1, "priority": 5,
            "address": ip, "netmask": "24", "cidr": format!("{ip}/24"), "gateway": gateway(ip),
            "bridge_ports": "eno1", "bridge_stp": "off", "bridge_fd": "0"}),
        ),
    );
    n.ifaces.insert(
        "vmbr1".into(),
        obj(
            json!({"iface": "vmbr1", "type": "bridge", "method": "manual", "method6": "manual",
            "families": ["inet"], "active": 1, "autostart": 1, "priority": 6,
            "bridge_ports": "eno2", "bridge_stp": "off", "bridge_fd": "0",
            "bridge_vlan_aware": 1, "bridge_vids": "2-4094",
            "comments": format!("VM traffic (node {})\n", idx + 1)}),
        ),
    );
    n
}

/// HA, backup jobs, firewall, SDN and cluster options.
pub fn add_cluster_config(c: &mut Cluster) {
    let obj = |v: serde_json::Value| -> Obj { v.as_object().cloned().unwrap_or_default() };
    let ha: Vec<(u32, Kind)> = c
        .guests
        .values()
        .filter(|g| g.pool.as_deref() == Some("prod") && !g.is_template())
        .take(3)
        .map(|g| (g.vmid, g.kind))
        .collect();
    for (vmid, kind) in &ha {
        let sid = format!("{}:{vmid}", if *kind == Kind::Qemu { "vm" } else { "ct" });
        c.ha_resources.insert(
            sid.clone(),
            obj(
                json!({"sid": sid, "type": if *kind == Kind::Qemu { "vm" } else { "ct" },
                "state": "started", "max_restart": 1, "max_relocate": 1, "failback": 1,
                "comment": "critical service"}),
            ),
        );
    }
    if !ha.is_empty() {
        let nodes: Vec<String> = c.nodes.iter().take(2).map(|n| n.name.clone()).collect();
        c.ha_rules.insert(
            "prod-affinity".into(),
            obj(json!({"rule": "prod-affinity", "type": "node-affinity",
                "resources": ha.iter().map(|(v, k)| format!("{}:{v}", if *k == Kind::Qemu { "vm" } else { "ct" })).collect::<Vec<_>>().join(","),
                "nodes": nodes.join(","), "strict": 0})),
        );
    }
    c.backup_jobs.insert(
        "backup-sim-daily".into(),
        obj(
            json!({"id": "backup-sim-daily", "type": "vzdump", "enabled": 1,
            "schedule": "02:00", "storage": "nfs-backup", "mode": "snapshot",
            "compress": "zstd", "pool": "prod", "notes-template": "{{guestname}}",
            "mailnotification": "failure", "fleecing": "0"}),
        ),
    );
    c.firewall.options.insert(
        "cluster".into(),
        obj(json!({"enable": 1, "policy_in": "DROP", "policy_out": "ACCEPT", "policy_forward": "ACCEPT", "ebtables": 1})),
    );
    c.firewall.rules.insert(
        "cluster".into(),
        vec![
            obj(json!({"type": "in", "action": "ACCEPT", "proto": "tcp", "dport": "22", "source": "+management", "enable": 1, "comment": "SSH from management"})),
            obj(json!({"type": "in", "action": "ACCEPT", "proto": "tcp", "dport": "8006", "source": "+management", "enable": 1, "comment": "Web UI"})),
            obj(json!({"type": "in", "action": "ACCEPT", "macro": "Ping", "enable": 1})),
        ],
    );
    c.firewall.aliases.insert(
        "monitoring".into(),
        obj(json!({"name": "monitoring", "cidr": "10.10.10.50", "comment": "Prometheus"})),
    );
    c.firewall.ipsets.insert(
        "management".into(),
        super::firewall::RuleSet {
            comment: Some("admin networks".into()),
            entries: vec![obj(
                json!({"cidr": "10.10.10.0/24", "nomatch": 0, "comment": "mgmt LAN"}),
            )],
        },
    );
    c.firewall.groups.insert(
        "webserver".into(),
        super::firewall::RuleSet {
            comment: Some("HTTP and HTTPS".into()),
            entries: vec![
                obj(json!({"type": "in", "action": "ACCEPT", "proto": "tcp", "dport": "80", "enable": 1})),
                obj(json!({"type": "in", "action": "ACCEPT", "proto": "tcp", "dport": "443", "enable": 1})),
            ],
        },
    );
    c.sdn_zones.insert(
        "localnet".into(),
        obj(json!({"zone": "localnet", "type": "simple", "ipam": "pve", "dhcp": "dnsmasq"})),
    );
    c.sdn_vnets.insert(
        "vnet100".into(),
        obj(json!({"vnet": "vnet100", "zone": "localnet", "type": "vnet", "alias": "lab"})),
    );
    c.options = obj(
        json!({"keyboard": "en-us", "console": "html5", "migration": "secure",
        "next-id": "lower=100"}),
    );
}
