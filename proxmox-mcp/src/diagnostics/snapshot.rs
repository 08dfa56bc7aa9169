//! Plain data: what [`super::collect`] read about the server and the cluster, each fact either
//! present or "not checked" with the reason.

use std::collections::{BTreeMap, BTreeSet};

pub mod cluster;

/// A fact, or why it could not be read (`GET /cluster/status: 403 …`).
pub type Got<T> = Result<T, String>;

/// Everything the health and best-practice rules look at.
#[derive(Debug, Clone)]
pub struct Snapshot {
    /// Unix seconds when the snapshot was taken.
    pub now: i64,
    pub server: ServerFacts,
    /// Reachability, latency and version (`GET /version`); the error says whether auth failed.
    pub pve: Got<PveFacts>,
    /// PVE's clock minus ours, seconds.
    pub clock_skew: Got<i64>,
    /// Privileges the token holds on any path (`GET /access/permissions`).
    pub granted: Got<BTreeSet<String>>,
    /// What the enabled tools need, from the API schema.
    pub needs: Got<Vec<Need>>,
    pub cluster: Got<ClusterFacts>,
    pub storages: Got<Vec<StorageUse>>,
    pub tasks: Got<Vec<TaskFact>>,
    pub ha: Got<Vec<HaFact>>,
    pub guests: Got<Vec<GuestFact>>,
    pub backup_jobs: Got<Vec<BackupJob>>,
    /// Cluster firewall `enable`.
    pub firewall_enabled: Got<bool>,
}

/// The server itself.
#[derive(Debug, Clone)]
pub struct ServerFacts {
    pub version: String,
    pub uptime_secs: u64,
    pub mode: String,
    /// Clusters in the (already validated) configuration.
    pub clusters: usize,
    pub audit: Got<AuditFacts>,
    pub state_dir: Got<FreeSpace>,
    pub behind_bridge: bool,
}

#[derive(Debug, Clone)]
pub struct AuditFacts {
    /// A probe file could be created in the audit directory.
    pub writable: Result<(), String>,
    pub records: u64,
    /// Tampering or damage found by the chain walk; empty when intact.
    pub problems: Vec<String>,
}

#[derive(Debug, Clone, Copy, Default)]
pub struct FreeSpace {
    pub free_bytes: u64,
    pub total_bytes: u64,
}

#[derive(Debug, Clone, Default)]
pub struct PveFacts {
    pub version: String,
    pub latency_ms: u64,
}

/// One endpoint of an enabled tool and the privileges it needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Need {
    pub tool: String,
    pub endpoint: String,
    /// `true`: any one of `privs` suffices; `false`: all are needed.
    pub any: bool,
    pub privs: Vec<String>,
}

#[derive(Debug, Clone, Default)]
pub struct ClusterFacts {
    /// `None` for a single node without a cluster.
    pub quorate: Option<bool>,
    /// Node name → online.
    pub nodes: BTreeMap<String, bool>,
}

#[derive(Debug, Clone, Default)]
pub struct StorageUse {
    pub storage: String,
    pub node: String,
    pub used: u64,
    pub total: u64,
    pub shared: bool,
}

#[derive(Debug, Clone, Default)]
pub struct TaskFact {
    pub upid: String,
    pub node: String,
    pub kind: String,
    /// Empty while running.
    pub status: String,
    pub endtime: Option<i64>,
}

#[derive(Debug, Clone, Default)]
pub struct HaFact {
    pub id: String,
    pub kind: String,
    pub status: String,
    pub state: Option<String>,
}

#[derive(Debug, Clone)]
pub struct GuestFact {
    pub vmid: u32,
    /// `qemu` or `lxc`.
    pub kind: String,
    pub node: String,
    pub name: String,
    pub template: bool,
    pub pool: Option<String>,
    /// The guest's config (`GET …/config`).
    pub config: Got<BTreeMap<String, String>>,
}

#[derive(Debug, Clone, Default)]
pub struct BackupJob {
    pub id: String,
    pub enabled: bool,
    pub all: bool,
    pub vmids: BTreeSet<u32>,
    pub exclude: BTreeSet<u32>,
    pub pool: Option<String>,
}

impl BackupJob {
    /// Whether this job backs up `guest`.
    pub fn covers(&self, guest: &GuestFact) -> bool {
        self.enabled
            && !self.exclude.contains(&guest.vmid)
            && (self.all
                || self.vmids.contains(&guest.vmid)
                || (self.pool.is_some() && self.pool == guest.pool))
    }
}
