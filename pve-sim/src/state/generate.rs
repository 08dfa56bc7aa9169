//! Deterministic cluster generation from (nodes, vms, cts, seed), and the builders scenarios reuse.

use std::collections::BTreeMap;

use super::access::{Access, Group, UgKind, User};
use super::defaults::{add_cluster_config, default_network, default_storages, default_volumes};
use super::guest::{Guest, Kind, Power, Snapshot};
use super::storage::{StorageCfg, Volume, backup_name};
use super::{Cluster, GEN_EPOCH, Node, Pool};
use crate::util::{frac, mac_for, mix2, uuid_for};

/// Secrets chosen at start (random); never part of the deterministic state.
#[derive(Clone, Debug)]
pub struct Secrets {
    pub root_password: String,
    pub admin_secret: String,
    pub auditor_secret: String,
}

pub const ADMIN_USER: &str = "mcp@pve";
pub const ADMIN_TOKEN: &str = "admin";
pub const AUDITOR_USER: &str = "audit@pve";
pub const AUDITOR_TOKEN: &str = "ro";

/// The access configuration every cluster starts with.
pub fn base_access(secrets: &Secrets) -> Access {
    let mut a = Access::base(&secrets.root_password);
    a.add_token_user(
        ADMIN_USER,
        ADMIN_TOKEN,
        &secrets.admin_secret,
        "Administrator",
        "proxmox-mcp administrator",
    );
    a.add_token_user(
        AUDITOR_USER,
        AUDITOR_TOKEN,
        &secrets.auditor_secret,
        "PVEAuditor",
        "read-only auditor",
    );
    a.groups.insert(
        "ops".into(),
        Group {
            comment: Some("Operations".into()),
        },
    );
    a.users.insert(
        "alice@pve".into(),
        User {
            enable: true,
            firstname: Some("Alice".into()),
            lastname: Some("Operator".into()),
            email: Some("alice@example.invalid".into()),
            groups: ["ops".to_string()].into(),
            ..Default::default()
        },
    );
    a.grant("/pool/dev", "ops", UgKind::Group, "PVEVMUser");
    a
}

/// Everything needed to build one guest.
#[derive(Clone, Debug)]
pub struct GuestSpec {
    pub vmid: u32,
    pub kind: Kind,
    pub name: String,
    pub node: String,
    pub running: bool,
    pub memory_mib: u64,
    pub cores: u32,
    pub disk_gib: u64,
    pub disk_storage: String,
    pub tags: Option<String>,
    pub agent: bool,
    pub template: bool,
    pub protection: bool,
    pub pool: Option<String>,
    pub ip: Option<String>,
    pub ostype: Option<String>,
    pub lock: Option<String>,
    pub onboot: bool,
}

/// Builds a guest with a realistic config.
pub fn build_guest(seed: u64, s: &GuestSpec) -> Guest {
    let mut c: BTreeMap<String, String> = BTreeMap::new();
    let mut put = |k: &str, v: String| {
        c.insert(k.to_string(), v);
    };
    let vmid = s.vmid;
    let ip_conf =
        s.ip.as_ref()
            .map(|ip| format!("ip={ip}/24,gw={}", gateway(ip)))
            .unwrap_or_else(|| "ip=dhcp".into());
    match s.kind {
        Kind::Qemu => {
            put("name", s.name.clone());
            put("memory", s.memory_mib.to_string());
            put("cores", s.cores.to_string());
            put("sockets", "1".into());
            put("cpu", "x86-64-v2-AES".into());
            put("ostype", s.ostype.clone().unwrap_or_else(|| "l26".into()));
            put("scsihw", "virtio-scsi-single".into());
            put("boot", "order=scsi0;ide2;net0".into());
            put(
                "scsi0",
                format!(
                    "{}:vm-{vmid}-disk-0,iothread=1,size={}G",
                    s.disk_storage, s.disk_gib
                ),
            );
            put("ide2", "none,media=cdrom".into());
            put(
                "net0",
                format!("virtio={},bridge=vmbr0,firewall=1", mac_for(seed, vmid, 0)),
            );
            put("numa", "0".into());
            put(
                "smbios1",
                format!("uuid={}", uuid_for(seed, u64::from(vmid))),
            );
            put("vmgenid", uuid_for(seed ^ 0x77, u64::from(vmid)));
            put(
                "meta",
                format!(
                    "creation-qemu=9.0.2,ctime={}",
                    GEN_EPOCH - 86_400 * 30 + u64::from(vmid)
                ),
            );
            if s.agent {
                put("agent", "1".into());
            }
            if s.ip.is_some() {
                put("ipconfig0", ip_conf);
            }
        }
        Kind::Lxc => {
            put("hostname", s.name.clone());
            put("memory", s.memory_mib.to_string());
            put("swap", "512".into());
            put("cores", s.cores.to_string());
            put("arch", "amd64".into());
            put(
                "ostype",
                s.ostype.clone().unwrap_or_else(|| "debian".into()),
            );
            put(
                "rootfs",
                format!("{}:vm-{vmid}-disk-0,size={}G", s.disk_storage, s.disk_gib),
            );
            put(
                "net0",
                format!(
                    "name=eth0,bridge=vmbr0,firewall=1,hwaddr={},{ip_conf},type=veth",
                    mac_for(seed, vmid, 0)
                ),
            );
            put("unprivileged", "1".into());
            put("features", "nesting=1".into());
        }
    }
    if let Some(t) = &s.tags {
        put("tags", t.clone());
    }
    if s.template {
        put("template", "1".into());
    }
    if s.protection {
        put("protection", "1".into());
    }
    if let Some(l) = &s.lock {
        put("lock", l.clone());
    }
    if s.onboot {
        put("onboot", "1".into());
    }
    let mut g = Guest::new(vmid, s.kind, &s.node, c);
    g.pool = s.pool.clone();
    g.ip = s.ip.clone();
    if s.running && !s.template {
        g.power = Power::Running;
        g.started_at = GEN_EPOCH;
    }
    g
}

pub(super) fn gateway(ip: &str) -> String {
    match ip.rsplit_once('.') {
        Some((net, _)) => format!("{net}.1"),
        None => ip.to_string(),
    }
}

/// A backup volume for a guest at `epoch`.
pub fn backup_volume(
    storage: &StorageCfg,
    node: &str,
    kind: Kind,
    vmid: u32,
    name: &str,
    epoch: u64,
    size: u64,
) -> Volume {
    let file = backup_name(kind, vmid, epoch, "zstd");
    Volume {
        volid: format!("{}:backup/{file}", storage.id),
        storage: storage.id.clone(),
        node: (!storage.shared).then(|| node.to_string()),
        content: "backup".into(),
        format: match kind {
            Kind::Qemu => "vma.zst".into(),
            Kind::Lxc => "tar.zst".into(),
        },
        size,
        ctime: epoch,
        vmid: Some(vmid),
        subtype: Some(kind.as_str().into()),
        notes: Some(name.to_string()),
        protected: false,
    }
}

/// A node with deterministic hardware.
pub fn build_node(
    seed: u64,
    idx: usize,
    name: &str,
    cpus: Option<u32>,
    memory: Option<u64>,
    online: bool,
) -> Node {
    let h = mix2(seed, idx as u64 + 1);
    let cpus = cpus.unwrap_or([16, 32, 48, 64][(h % 4) as usize]);
    let memory = memory.unwrap_or([64u64, 128, 256][((h >> 8) % 3) as usize] << 30);
    let amd = (h >> 16).is_multiple_of(2);
    Node {
        name: name.to_string(),
        nodeid: idx as u32 + 1,
        ip: format!("10.10.10.{}", 11 + idx),
        cpus,
        sockets: if cpus >= 48 { 2 } else { 1 },
        cpu_model: if amd {
            "AMD EPYC 7543 32-Core Processor".into()
        } else {
            "Intel(R) Xeon(R) Gold 6338 CPU @ 2.00GHz".into()
        },
        memory,
        rootfs: 100 << 30,
        swap: 8 << 30,
        online,
        uptime_base: 86_400 * (5 + (h >> 24) % 60) + (h >> 32) % 86_400,
        kversion: "Linux 6.14.11-4-pve #1 SMP PREEMPT_DYNAMIC PMX 6.14.11-4 (2025-10-10T08:04Z)"
            .into(),
        pveversion: "pve-manager/9.1.1/42db4a6cf33dac83".into(),
        level: "c".into(),
        timezone: "Europe/Vienna".into(),
    }
}

const ROLES: &[&str] = &[
    "web", "db", "app", "cache", "proxy", "mail", "dns", "monitor", "ci", "git", "vpn", "ldap",
    "log", "queue", "search", "files",
];

/// Generates a whole cluster.
pub fn generate(nodes: usize, vms: usize, cts: usize, seed: u64, secrets: &Secrets) -> Cluster {
    let mut c = Cluster::empty("sim-cluster", seed, base_access(secrets));
    let nodes = nodes.max(1);
    for i in 0..nodes {
        let n = build_node(seed, i, &format!("pve{}", i + 1), None, None, true);
        c.networks.insert(n.name.clone(), default_network(&n.ip, i));
        c.nodes.push(n);
    }
    c.storages = default_storages();
    c.volumes = default_volumes(&c.nodes);
    c.pools.insert(
        "prod".into(),
        Pool {
            comment: Some("Production workloads".into()),
            ..Default::default()
        },
    );
    c.pools.insert(
        "dev".into(),
        Pool {
            comment: Some("Development and testing".into()),
            ..Default::default()
        },
    );
    let mut role_count: BTreeMap<&str, u32> = BTreeMap::new();
    let total = vms + cts;
    for i in 0..total {
        let vmid = 100 + i as u32;
        let kind = if i < vms { Kind::Qemu } else { Kind::Lxc };
        let key = seed ^ 0xC0FFEE;
        let h = mix2(key, u64::from(vmid));
        let role = ROLES[(h % ROLES.len() as u64) as usize];
        let n = role_count.entry(role).or_insert(0);
        *n += 1;
        let template = kind == Kind::Qemu && vms >= 4 && (i == vms - 1 || i == vms - 2);
        let name = if template {
            if i == vms - 1 {
                "tpl-debian-12".to_string()
            } else {
                "tpl-ubuntu-24".to_string()
            }
        } else {
            format!("{role}-{:02}", n)
        };
        let env = match (h >> 8) % 10 {
            0..=4 => "prod",
            5..=7 => "dev",
            _ => "staging",
        };
        let protection = !template && frac(key, u64::from(vmid) + 7) < 0.05;
        let mut tags = vec![env.to_string(), role.to_string()];
        if protection {
            tags.push("protected".into());
        }
        let running = !template && frac(key, u64::from(vmid) + 1) < 0.75;
        let lock = (running && frac(key, u64::from(vmid) + 3) < 0.02).then(|| "backup".to_string());
        let node = c.nodes[(mix2(key, u64::from(vmid) + 11) % nodes as u64) as usize]
            .name
            .clone();
        let mem_choices: &[u64] = match kind {
            Kind::Qemu => &[1024, 2048, 4096, 8192, 16384],
            Kind::Lxc => &[512, 1024, 2048],
        };
        let spec = GuestSpec {
            vmid,
            kind,
            name,
            node,
            running,
            memory_mib: mem_choices[((h >> 16) % mem_choices.len() as u64) as usize],
            cores: [1, 2, 2, 4, 8][((h >> 20) % 5) as usize],
            disk_gib: match kind {
                Kind::Qemu => [16, 32, 32, 64, 100][((h >> 24) % 5) as usize],
                Kind::Lxc => [4, 8, 8, 16][((h >> 24) % 4) as usize],
            },
            disk_storage: "local-lvm".into(),
            tags: (!template).then(|| tags.join(";")),
            agent: kind == Kind::Qemu && frac(key, u64::from(vmid) + 2) < 0.8,
            template,
            protection,
            pool: match env {
                "prod" if !template => Some("prod".into()),
                "dev" if !template => Some("dev".into()),
                _ => None,
            },
            ip: (!template).then(|| format!("10.20.{}.{}", i / 250, i % 250 + 2)),
            ostype: match kind {
                Kind::Lxc => Some(["debian", "ubuntu", "alpine"][((h >> 28) % 3) as usize].into()),
                Kind::Qemu => None,
            },
            lock,
            onboot: env == "prod",
        };
        let mut g = build_guest(seed, &spec);
        g.agent_installed = frac(key, u64::from(vmid) + 4) < 0.95;
        if frac(key, u64::from(vmid) + 5) < 0.1 && !template {
            add_snapshot(
                &mut g,
                "pre-upgrade",
                "before dist-upgrade",
                GEN_EPOCH - 86_400 * 3,
            );
        }
        c.guests.insert(vmid, g);
    }
    add_backups(&mut c);
    add_cluster_config(&mut c);
    c
}

/// Adds a snapshot of the current config.
pub fn add_snapshot(g: &mut Guest, name: &str, description: &str, snaptime: u64) {
    let parent = g.current_parent();
    let mut cfg = g.config.clone();
    cfg.remove("parent");
    g.snapshots.insert(
        name.to_string(),
        Snapshot {
            description: description.into(),
            snaptime,
            vmstate: false,
            parent,
            config: cfg,
        },
    );
    g.config.insert("parent".into(), name.to_string());
}

/// Nightly backups of the `prod` pool on nfs-backup for the last three days.
fn add_backups(c: &mut Cluster) {
    let Some(nfs) = c.storage("nfs-backup").cloned() else {
        return;
    };
    let mut vols = Vec::new();
    for g in c.guests.values() {
        if g.pool.as_deref() != Some("prod") {
            continue;
        }
        for day in 1..=3u64 {
            let epoch = GEN_EPOCH - day * 86_400 + 2 * 3600 + u64::from(g.vmid % 600);
            let size = g.derived.maxdisk / 5 + u64::from(g.vmid) * 1024;
            vols.push(backup_volume(
                &nfs,
                &g.node,
                g.kind,
                g.vmid,
                g.name(),
                epoch,
                size,
            ));
        }
    }
    c.volumes.extend(vols);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secrets() -> Secrets {
        Secrets {
            root_password: "pw".into(),
            admin_secret: "a".into(),
            auditor_secret: "b".into(),
        }
    }

    #[test]
    fn deterministic() {
        let a = generate(3, 10, 5, 7, &secrets()).dump();
        let b = generate(3, 10, 5, 7, &secrets()).dump();
        assert_eq!(a, b);
        let c = generate(3, 10, 5, 8, &secrets()).dump();
        assert_ne!(a, c);
    }

    #[test]
    fn shape() {
        let c = generate(3, 10, 5, 1, &secrets());
        assert_eq!(c.nodes.len(), 3);
        assert_eq!(c.guests.len(), 15);
        assert_eq!(c.guests.values().filter(|g| g.is_template()).count(), 2);
        assert!(c.guests.contains_key(&100));
        assert_eq!(c.next_free_vmid(), 115);
    }

    #[test]
    fn big_generation_is_fast() {
        let t = std::time::Instant::now();
        let c = generate(5, 4000, 1000, 1, &secrets());
        assert_eq!(c.guests.len(), 5000);
        assert!(t.elapsed().as_secs_f64() < 5.0, "{:?}", t.elapsed());
    }
}
