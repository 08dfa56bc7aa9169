//! Plain data: what the analyses read about one cluster. Each body is the PVE API's own JSON
//! (the `data` member), so a fixture is a recorded response; each read is [`Got`]: the body, or
//! why it was not read (`GET /access/tfa: 403 Permission check failed`), which the rules turn
//! into "not checked" instead of a pass.

use std::collections::BTreeMap;

use serde_json::Value;

use super::Got;

/// One cluster as the analyses see it. Collected by `collect::cluster`; built by hand in tests.
#[derive(Debug, Clone)]
pub struct ClusterSnapshot {
    /// Unix seconds when collection started.
    pub now: i64,
    /// `GET /version`.
    pub version: Got<Value>,
    /// `GET /cluster/status`: the `cluster` entry (quorate, nodes) and one entry per node.
    pub status: Got<Vec<Value>>,
    /// `GET /cluster/resources`: nodes, guests (`qemu`/`lxc`), storages, pools, SDN.
    pub resources: Got<Vec<Value>>,
    /// `GET /cluster/tasks`: recent tasks of every node.
    pub tasks: Got<Vec<Value>>,
    /// `GET /cluster/log?max=500`.
    pub log: Got<Vec<Value>>,
    /// `GET /cluster/config/nodes` (corosync node list; empty or error on a single node).
    pub corosync_nodes: Got<Vec<Value>>,
    /// `GET /cluster/config/totem`.
    pub totem: Got<Value>,
    /// `GET /cluster/config/qdevice`.
    pub qdevice: Got<Value>,
    /// `GET /cluster/ha/status/current`.
    pub ha_status: Got<Vec<Value>>,
    /// `GET /cluster/ha/resources`.
    pub ha_resources: Got<Vec<Value>>,
    /// `GET /cluster/ha/groups` (PVE 9 may answer with the rules instead).
    pub ha_groups: Got<Vec<Value>>,
    /// `GET /cluster/ha/rules` (PVE 9).
    pub ha_rules: Got<Vec<Value>>,
    /// `GET /cluster/backup`: the backup jobs.
    pub backup_jobs: Got<Vec<Value>>,
    /// `GET /cluster/backup-info/not-backed-up`.
    pub not_backed_up: Got<Vec<Value>>,
    /// `GET /cluster/replication`: the replication jobs.
    pub replication_jobs: Got<Vec<Value>>,
    /// `GET /cluster/options`: datacenter options (keyboard, migration, notify, …).
    pub options: Got<Value>,
    /// `GET /cluster/firewall/options`.
    pub firewall_options: Got<Value>,
    /// `GET /cluster/firewall/rules`.
    pub firewall_rules: Got<Vec<Value>>,
    /// `GET /cluster/metrics/server`.
    pub metrics_servers: Got<Vec<Value>>,
    /// `GET /cluster/ceph/status`; `None` when no node runs Ceph (not an error).
    pub ceph: Option<Got<Value>>,
    /// `GET /storage`: storage definitions (type, content, shared, nodes, prune-backups, …).
    pub storage_config: Got<Vec<Value>>,
    /// `GET /pools`.
    pub pools: Got<Vec<Value>>,
    /// `GET /access/users?full=1`: users with their tokens, groups and `tfa-locked-until`.
    pub users: Got<Vec<Value>>,
    /// `GET /access/tfa`: per user, the TFA entries.
    pub tfa: Got<Vec<Value>>,
    /// `GET /access/acl`.
    pub acl: Got<Vec<Value>>,
    /// `GET /access/groups`.
    pub groups: Got<Vec<Value>>,
    /// `GET /access/roles`.
    pub roles: Got<Vec<Value>>,
    /// `GET /access/domains`.
    pub domains: Got<Vec<Value>>,
    /// Per node, by name.
    pub nodes: BTreeMap<String, NodeSnapshot>,
    /// Per guest, by vmid: every guest in `/cluster/resources`.
    pub guests: BTreeMap<u32, GuestSnapshot>,
    /// Backup volumes per storage (`GET /nodes/{n}/storage/{s}/content?content=backup`, read
    /// once per storage: on one node for a shared storage), keyed `"<node>/<storage>"`.
    pub backups: BTreeMap<String, Got<Vec<Value>>>,
    /// What collection chose not to read, and why (single node, expensive checks off, …):
    /// rules that need those facts report "skipped" with this reason.
    pub skipped: BTreeMap<String, String>,
    /// PVE requests made to build this snapshot.
    pub requests: u64,
}

/// One node. An offline node's reads are errors naming the node as offline.
#[derive(Debug, Clone)]
pub struct NodeSnapshot {
    pub name: String,
    /// From `/cluster/status`.
    pub online: bool,
    /// `GET /nodes/{n}/status`: cpu, memory, swap, rootfs, uptime, loadavg, kversion, cpuinfo,
    /// ksm, wait, current-kernel, boot-info.
    pub status: Got<Value>,
    /// `GET /nodes/{n}/version`.
    pub version: Got<Value>,
    /// `GET /nodes/{n}/rrddata?timeframe=hour&cf=AVERAGE` (PVE 9 adds pressure fields).
    pub rrd: Got<Vec<Value>>,
    /// `GET /nodes/{n}/services`.
    pub services: Got<Vec<Value>>,
    /// `GET /nodes/{n}/certificates/info`.
    pub certificates: Got<Vec<Value>>,
    /// `GET /nodes/{n}/subscription`.
    pub subscription: Got<Value>,
    /// `GET /nodes/{n}/apt/update`: pending updates (needs Sys.Modify).
    pub apt_updates: Got<Vec<Value>>,
    /// `GET /nodes/{n}/apt/versions`.
    pub apt_versions: Got<Vec<Value>>,
    /// `GET /nodes/{n}/apt/repositories`: `files`, `infos`, `standard-repos`, `errors`.
    pub apt_repositories: Got<Value>,
    /// `GET /nodes/{n}/network`.
    pub network: Got<Vec<Value>>,
    /// `GET /nodes/{n}/time`: `localtime`, `time`, `timezone`.
    pub time: Got<Value>,
    /// `GET /nodes/{n}/dns`.
    pub dns: Got<Value>,
    /// `GET /nodes/{n}/hosts`: `data` (the /etc/hosts text), `digest`.
    pub hosts: Got<Value>,
    /// `GET /nodes/{n}/disks/list`: disks with `health`, `wearout`, `type`.
    pub disks: Got<Vec<Value>>,
    /// `GET /nodes/{n}/disks/smart?disk=…` per disk (expensive: `diagnostics.smart`).
    pub smart: BTreeMap<String, Got<Value>>,
    /// `GET /nodes/{n}/disks/zfs`: pools with `health`, `size`, `alloc`, `frag`.
    pub zfs: Got<Vec<Value>>,
    /// `GET /nodes/{n}/disks/zfs/{pool}` per pool (expensive: `diagnostics.zfs_detail`).
    pub zfs_detail: BTreeMap<String, Got<Value>>,
    /// `GET /nodes/{n}/disks/lvmthin`: thin pools with `usage`, `metadata_used`, `metadata_size`.
    pub lvmthin: Got<Vec<Value>>,
    /// `GET /nodes/{n}/replication`: replication state on this node (`fail_count`, `last_sync`).
    pub replication: Got<Vec<Value>>,
    /// `GET /nodes/{n}/firewall/options`.
    pub firewall_options: Got<Value>,
    /// `GET /nodes/{n}/hardware/pci` (IOMMU groups).
    pub pci: Got<Vec<Value>>,
    /// `GET /nodes/{n}/capabilities/qemu/machines`.
    pub machines: Got<Vec<Value>>,
}

/// One guest. `config` comes from the node report (one request per node) or, when that is not
/// readable, from `GET …/config` for at most `max_guest_reads` guests.
#[derive(Debug, Clone)]
pub struct GuestSnapshot {
    pub vmid: u32,
    /// `qemu` or `lxc`.
    pub kind: String,
    pub node: String,
    /// The guest's `/cluster/resources` entry (status, cpu, mem, maxmem, disk, maxdisk, uptime,
    /// template, lock, hastate, tags, pool, name).
    pub resource: Value,
    /// The current config as key → value strings (as `GET …/config` returns them).
    pub config: Got<BTreeMap<String, String>>,
    /// Pending changes (`[PENDING]` section / `GET …/pending` entries with `pending` or
    /// `delete`), as key → new value (`None`: the key is deleted on next start).
    pub pending: Got<BTreeMap<String, Option<String>>>,
    /// Snapshots: name → their config section (with `snaptime`, `vmstate`, `parent`).
    pub snapshots: Got<BTreeMap<String, BTreeMap<String, String>>>,
    /// `GET …/firewall/options`; `None` when not read (not part of the default checks).
    pub firewall_options: Option<Got<Value>>,
    /// `POST …/agent/ping` answered (expensive: `diagnostics.guest_agent`); `None`: not tried.
    pub agent_ping: Option<Got<()>>,
    /// `GET …/agent/get-fsinfo` (expensive); `None`: not tried.
    pub agent_fsinfo: Option<Got<Vec<Value>>>,
    /// `GET …/rrddata` over the requested timeframe; only for single-guest analyses.
    pub rrd: Option<Got<Vec<Value>>>,
}

impl ClusterSnapshot {
    /// Nodes the cluster knows, online or not.
    pub fn node_count(&self) -> usize {
        self.nodes.len()
    }

    /// A single node without a cluster: cross-node rules are skipped.
    pub fn single_node(&self) -> bool {
        self.nodes.len() <= 1
    }

    /// The `/cluster/resources` entries of one `type` (`node`, `storage`, `qemu`, `lxc`, `pool`).
    pub fn resources_of<'a>(&'a self, kind: &'a str) -> Got<impl Iterator<Item = &'a Value>> {
        let all = self.resources.as_ref().map_err(Clone::clone)?;
        Ok(all
            .iter()
            .filter(move |r| r.get("type").and_then(Value::as_str) == Some(kind)))
    }
}

impl Default for ClusterSnapshot {
    /// Every fact read and empty: a healthy baseline tests override.
    fn default() -> Self {
        ClusterSnapshot {
            now: Default::default(),
            version: Ok(Default::default()),
            status: Ok(Default::default()),
            resources: Ok(Default::default()),
            tasks: Ok(Default::default()),
            log: Ok(Default::default()),
            corosync_nodes: Ok(Default::default()),
            totem: Ok(Default::default()),
            qdevice: Ok(Default::default()),
            ha_status: Ok(Default::default()),
            ha_resources: Ok(Default::default()),
            ha_groups: Ok(Default::default()),
            ha_rules: Ok(Default::default()),
            backup_jobs: Ok(Default::default()),
            not_backed_up: Ok(Default::default()),
            replication_jobs: Ok(Default::default()),
            options: Ok(Default::default()),
            firewall_options: Ok(Default::default()),
            firewall_rules: Ok(Default::default()),
            metrics_servers: Ok(Default::default()),
            ceph: None,
            storage_config: Ok(Default::default()),
            pools: Ok(Default::default()),
            users: Ok(Default::default()),
            tfa: Ok(Default::default()),
            acl: Ok(Default::default()),
            groups: Ok(Default::default()),
            roles: Ok(Default::default()),
            domains: Ok(Default::default()),
            nodes: Default::default(),
            guests: Default::default(),
            backups: Default::default(),
            skipped: Default::default(),
            requests: Default::default(),
        }
    }
}

impl Default for NodeSnapshot {
    /// Every fact read and empty: a healthy baseline tests override.
    fn default() -> Self {
        NodeSnapshot {
            name: Default::default(),
            online: Default::default(),
            status: Ok(Default::default()),
            version: Ok(Default::default()),
            rrd: Ok(Default::default()),
            services: Ok(Default::default()),
            certificates: Ok(Default::default()),
            subscription: Ok(Default::default()),
            apt_updates: Ok(Default::default()),
            apt_versions: Ok(Default::default()),
            apt_repositories: Ok(Default::default()),
            network: Ok(Default::default()),
            time: Ok(Default::default()),
            dns: Ok(Default::default()),
            hosts: Ok(Default::default()),
            disks: Ok(Default::default()),
            smart: Default::default(),
            zfs: Ok(Default::default()),
            zfs_detail: Default::default(),
            lvmthin: Ok(Default::default()),
            replication: Ok(Default::default()),
            firewall_options: Ok(Default::default()),
            pci: Ok(Default::default()),
            machines: Ok(Default::default()),
        }
    }
}

impl Default for GuestSnapshot {
    /// Every fact read and empty: a healthy baseline tests override.
    fn default() -> Self {
        GuestSnapshot {
            vmid: Default::default(),
            kind: Default::default(),
            node: Default::default(),
            resource: Default::default(),
            config: Ok(Default::default()),
            pending: Ok(Default::default()),
            snapshots: Ok(Default::default()),
            firewall_options: None,
            agent_ping: None,
            agent_fsinfo: None,
            rrd: None,
        }
    }
}
