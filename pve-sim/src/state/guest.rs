//! A guest (QEMU VM or LXC container): its config as PVE stores it, power state and pending changes.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use crate::util::{parse_size, prop_get};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    Qemu,
    Lxc,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Qemu => "qemu",
            Kind::Lxc => "lxc",
        }
    }

    /// "VM" or "CT", as PVE messages say.
    pub fn label(self) -> &'static str {
        match self {
            Kind::Qemu => "VM",
            Kind::Lxc => "CT",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "qemu" => Some(Kind::Qemu),
            "lxc" => Some(Kind::Lxc),
            _ => None,
        }
    }

    /// Task type prefix: `qm` or `vz`.
    pub fn task_prefix(self) -> &'static str {
        match self {
            Kind::Qemu => "qm",
            Kind::Lxc => "vz",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Power {
    Running,
    Stopped,
    /// QEMU only: process running, `qmpstatus: paused`.
    Paused,
}

#[derive(Clone, Debug, Serialize)]
pub struct Snapshot {
    pub description: String,
    pub snaptime: u64,
    pub vmstate: bool,
    pub parent: Option<String>,
    pub config: BTreeMap<String, String>,
}

/// A guest agent command started by `agent/exec`.
#[derive(Clone, Debug, Serialize)]
pub struct Exec {
    #[serde(skip)]
    pub started: Option<tokio::time::Instant>,
    pub duration_ms: u64,
    pub exitcode: i32,
    pub out: String,
    pub err: String,
}

#[derive(Clone, Debug, Serialize)]
pub struct Guest {
    pub vmid: u32,
    pub kind: Kind,
    pub node: String,
    pub power: Power,
    /// The config file, keys and values as PVE writes them.
    pub config: BTreeMap<String, String>,
    pub pending: BTreeMap<String, String>,
    pub pending_delete: BTreeSet<String>,
    pub snapshots: BTreeMap<String, Snapshot>,
    pub pool: Option<String>,
    /// Primary IPv4 address the guest agent / interfaces report.
    pub ip: Option<String>,
    /// Whether the guest agent would answer (needs `agent: 1` and a running VM as well).
    pub agent_installed: bool,
    /// Epoch seconds when the guest was started (for uptime).
    #[serde(skip)]
    pub started_at: u64,
    #[serde(skip)]
    pub execs: BTreeMap<u32, Exec>,
    #[serde(skip)]
    pub next_exec_pid: u32,
    /// Cached values derived from `config` (see `refresh`).
    #[serde(skip)]
    pub derived: Derived,
}

#[derive(Clone, Debug, Default)]
pub struct Derived {
    pub name: String,
    pub maxmem: u64,
    pub maxcpu: u32,
    pub maxdisk: u64,
    pub maxswap: u64,
}

/// Disk keys in the order PVE looks at them.
pub const QEMU_DISK_PREFIXES: &[&str] = &["scsi", "virtio", "sata", "ide", "efidisk", "tpmstate"];

/// Is this config key a guest disk (`scsi0`, `virtio1`, `rootfs`, `mp0`, ...)?
pub fn is_disk_key(kind: Kind, key: &str) -> bool {
    let split = key.trim_end_matches(|c: char| c.is_ascii_digit());
    if split.len() == key.len() {
        return kind == Kind::Lxc && key == "rootfs";
    }
    match kind {
        Kind::Qemu => QEMU_DISK_PREFIXES.contains(&split) || split == "unused",
        Kind::Lxc => split == "mp" || split == "unused",
    }
}

impl Guest {
    pub fn new(vmid: u32, kind: Kind, node: &str, config: BTreeMap<String, String>) -> Self {
        let mut g = Guest {
            vmid,
            kind,
            node: node.to_string(),
            power: Power::Stopped,
            config,
            pending: BTreeMap::new(),
            pending_delete: BTreeSet::new(),
            snapshots: BTreeMap::new(),
            pool: None,
            ip: None,
            agent_installed: true,
            started_at: 0,
            execs: BTreeMap::new(),
            next_exec_pid: 1000 + vmid % 1000,
            derived: Derived::default(),
        };
        g.refresh();
        g
    }

    /// Recomputes the cached derived values after a config change.
    pub fn refresh(&mut self) {
        let c = &self.config;
        let mem_mib = c
            .get("memory")
            .map(|m| prop_get(m, "current").unwrap_or_else(|| m.clone()))
            .and_then(|m| m.parse::<u64>().ok())
            .unwrap_or(512);
        let num = |k: &str, d: u32| c.get(k).and_then(|v| v.parse().ok()).unwrap_or(d);
        self.derived = match self.kind {
            Kind::Qemu => Derived {
                name: c
                    .get("name")
                    .cloned()
                    .unwrap_or_else(|| format!("VM {}", self.vmid)),
                maxmem: mem_mib << 20,
                maxcpu: c
                    .get("vcpus")
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(num("cores", 1) * num("sockets", 1)),
                maxdisk: self.boot_disk_size(),
                maxswap: 0,
            },
            Kind::Lxc => Derived {
                name: c
                    .get("hostname")
                    .cloned()
                    .unwrap_or_else(|| format!("CT{}", self.vmid)),
                maxmem: mem_mib << 20,
                maxcpu: num("cores", 1),
                maxdisk: c
                    .get("rootfs")
                    .and_then(|r| prop_get(r, "size"))
                    .and_then(|s| parse_size(&s))
                    .unwrap_or(0),
                maxswap: u64::from(num("swap", 512)) << 20,
            },
        };
    }

    fn boot_disk_size(&self) -> u64 {
        let from_order = self
            .config
            .get("boot")
            .and_then(|b| prop_get(b, "order"))
            .and_then(|o| {
                o.split(';')
                    .find(|k| {
                        self.config
                            .get(*k)
                            .is_some_and(|v| !v.contains("media=cdrom"))
                            && is_disk_key(Kind::Qemu, k)
                    })
                    .map(str::to_string)
            });
        let key = from_order.or_else(|| {
            ["scsi0", "virtio0", "sata0", "ide0"]
                .iter()
                .find(|k| self.config.contains_key(**k))
                .map(|k| k.to_string())
        });
        key.and_then(|k| self.config.get(&k).and_then(|v| prop_get(v, "size")))
            .and_then(|s| parse_size(&s))
            .unwrap_or(0)
    }

    pub fn name(&self) -> &str {
        &self.derived.name
    }

    pub fn is_template(&self) -> bool {
        self.config.get("template").is_some_and(|v| v == "1")
    }

    pub fn lock(&self) -> Option<&str> {
        self.config.get("lock").map(String::as_str)
    }

    pub fn tags(&self) -> Option<&str> {
        self.config.get("tags").map(String::as_str)
    }

    pub fn is_running(&self) -> bool {
        self.power != Power::Stopped
    }

    pub fn agent_enabled(&self) -> bool {
        self.kind == Kind::Qemu
            && self.config.get("agent").is_some_and(|a| {
                let first = a.split(',').next().unwrap_or("");
                first == "1" || first == "enabled=1"
            })
    }

    pub fn protected(&self) -> bool {
        self.config.get("protection").is_some_and(|v| v == "1")
    }

    /// The config with pending changes applied (what `GET .../config` shows).
    pub fn effective_config(&self) -> BTreeMap<String, String> {
        let mut c = self.config.clone();
        for (k, v) in &self.pending {
            c.insert(k.clone(), v.clone());
        }
        for k in &self.pending_delete {
            c.remove(k);
        }
        c
    }

    /// Applies pending changes (at VM start, like `vmconfig_apply_pending`).
    pub fn apply_pending(&mut self) {
        if self.pending.is_empty() && self.pending_delete.is_empty() {
            return;
        }
        self.config = self.effective_config();
        self.pending.clear();
        self.pending_delete.clear();
        self.refresh();
    }

    /// The config digest (over config and pending, like the whole config file).
    pub fn digest(&self) -> String {
        let mut text = String::new();
        for (k, v) in &self.config {
            text.push_str(&format!("{k}: {v}\n"));
        }
        if !self.pending.is_empty() || !self.pending_delete.is_empty() {
            text.push_str("[PENDING]\n");
            for (k, v) in &self.pending {
                text.push_str(&format!("{k}: {v}\n"));
            }
            for k in &self.pending_delete {
                text.push_str(&format!("delete: {k}\n"));
            }
        }
        for (name, s) in &self.snapshots {
            text.push_str(&format!("[{name}] {}\n", s.snaptime));
        }
        crate::util::digest(&text)
    }

    /// Volume ids of all disks (`local-lvm:vm-100-disk-0`), excluding cdroms and `none`.
    pub fn disk_volumes(&self) -> Vec<(String, String, u64)> {
        self.config
            .iter()
            .filter(|(k, v)| is_disk_key(self.kind, k) && !v.contains("media=cdrom"))
            .filter_map(|(k, v)| {
                let vol = v.split(',').next()?.to_string();
                if vol == "none" || !vol.contains(':') {
                    return None;
                }
                let size = prop_get(v, "size")
                    .and_then(|s| parse_size(&s))
                    .unwrap_or(0);
                Some((k.clone(), vol, size))
            })
            .collect()
    }

    /// The most recent snapshot (the `parent` of the current state).
    pub fn current_parent(&self) -> Option<String> {
        self.config.get("parent").cloned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn derived_values() {
        let g = Guest::new(
            100,
            Kind::Qemu,
            "pve1",
            cfg(&[
                ("name", "web-01"),
                ("memory", "2048"),
                ("cores", "2"),
                ("sockets", "2"),
                ("boot", "order=scsi0;ide2;net0"),
                ("scsi0", "local-lvm:vm-100-disk-0,size=32G"),
                ("ide2", "local:iso/debian.iso,media=cdrom"),
                ("agent", "1"),
            ]),
        );
        assert_eq!(g.name(), "web-01");
        assert_eq!(g.derived.maxmem, 2048 << 20);
        assert_eq!(g.derived.maxcpu, 4);
        assert_eq!(g.derived.maxdisk, 32 << 30);
        assert!(g.agent_enabled());
        assert_eq!(g.disk_volumes().len(), 1);
    }

    #[test]
    fn disk_keys() {
        let check = |k: Kind, key: &str, want: bool| assert_eq!(is_disk_key(k, key), want, "{key}");
        check(Kind::Qemu, "scsi0", true);
        check(Kind::Qemu, "net0", false);
        check(Kind::Qemu, "efidisk0", true);
        check(Kind::Lxc, "rootfs", true);
        check(Kind::Lxc, "mp3", true);
        check(Kind::Lxc, "net0", false);
        check(Kind::Qemu, "sockets", false);
    }
}
