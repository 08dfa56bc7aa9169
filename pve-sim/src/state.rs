//! The simulated cluster: every node, guest, storage, user and task, kept in memory behind one lock.

pub mod access;
pub mod defaults;
pub mod firewall;
pub mod generate;
pub mod guest;
pub mod metrics;
pub mod network;
pub mod scenario;
pub mod storage;
pub mod task;

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde_json::{Map, Value, json};

use access::Access;
use firewall::Firewall;
use guest::{Guest, Kind};
use network::NodeNetwork;
use storage::{StorageCfg, Volume};
use task::Task;

/// A JSON object, used for the many small config records (HA, backup jobs, SDN, ...).
pub type Obj = Map<String, Value>;

/// Fixed epoch for generated timestamps (2025-06-01 00:00:00 UTC), so state dumps are deterministic.
pub const GEN_EPOCH: u64 = 1_748_736_000;

#[derive(Clone, Debug)]
pub struct Node {
    pub name: String,
    pub nodeid: u32,
    pub ip: String,
    pub cpus: u32,
    pub sockets: u32,
    pub cpu_model: String,
    pub memory: u64,
    pub rootfs: u64,
    pub swap: u64,
    /// Configured online state (scenario); fault injection can also take a node offline.
    pub online: bool,
    /// Uptime in seconds at simulator start.
    pub uptime_base: u64,
    pub kversion: String,
    pub pveversion: String,
    pub level: String,
    pub timezone: String,
}

#[derive(Clone, Debug, Default)]
pub struct Pool {
    pub comment: Option<String>,
    pub storages: BTreeSet<String>,
}

pub struct Cluster {
    pub name: String,
    pub seed: u64,
    pub nodes: Vec<Node>,
    pub guests: BTreeMap<u32, Guest>,
    pub storages: Vec<StorageCfg>,
    pub volumes: Vec<Volume>,
    pub pools: BTreeMap<String, Pool>,
    pub access: Access,
    pub tasks: Vec<Task>,
    pub task_index: HashMap<String, usize>,
    pub next_pid: u32,
    pub ha_resources: BTreeMap<String, Obj>,
    /// HA resources (`vm:100`) the manager reports in the `error` state (seeded by scenarios).
    pub ha_errors: std::collections::BTreeSet<String>,
    pub ha_groups: BTreeMap<String, Obj>,
    pub ha_rules: BTreeMap<String, Obj>,
    pub backup_jobs: BTreeMap<String, Obj>,
    pub networks: BTreeMap<String, NodeNetwork>,
    pub firewall: Firewall,
    pub sdn_zones: BTreeMap<String, Obj>,
    pub sdn_vnets: BTreeMap<String, Obj>,
    pub options: Obj,
    /// A node's uploaded proxy certificate (PEM), by node name.
    pub custom_certs: BTreeMap<String, String>,
    /// Directory mappings (`/cluster/mapping/dir`), by id.
    pub dir_mappings: BTreeMap<String, Obj>,
    /// Epoch seconds when the simulator started.
    pub started: u64,
    /// Nodes that fault injection currently reports offline.
    pub offline_faults: BTreeSet<String>,
}

impl Cluster {
    pub fn empty(name: &str, seed: u64, access: Access) -> Self {
        Cluster {
            name: name.to_string(),
            seed,
            nodes: Vec::new(),
            guests: BTreeMap::new(),
            storages: Vec::new(),
            volumes: Vec::new(),
            pools: BTreeMap::new(),
            access,
            tasks: Vec::new(),
            task_index: HashMap::new(),
            next_pid: 0x0001_0000 + (seed as u32 & 0xfff) * 16,
            ha_resources: BTreeMap::new(),
            ha_errors: Default::default(),
            ha_groups: BTreeMap::new(),
            ha_rules: BTreeMap::new(),
            backup_jobs: BTreeMap::new(),
            networks: BTreeMap::new(),
            firewall: Firewall::default(),
            sdn_zones: BTreeMap::new(),
            sdn_vnets: BTreeMap::new(),
            options: Map::new(),
            custom_certs: BTreeMap::new(),
            dir_mappings: BTreeMap::new(),
            started: crate::util::now_epoch(),
            offline_faults: BTreeSet::new(),
        }
    }

    pub fn node(&self, name: &str) -> Option<&Node> {
        self.nodes.iter().find(|n| n.name == name)
    }

    pub fn node_online(&self, name: &str) -> bool {
        self.node(name)
            .is_some_and(|n| n.online && !self.offline_faults.contains(name))
    }

    /// A guest of the given kind on the given node.
    pub fn guest_on(&self, node: &str, kind: Kind, vmid: u32) -> Option<&Guest> {
        self.guests
            .get(&vmid)
            .filter(|g| g.node == node && g.kind == kind)
    }

    pub fn guest_on_mut(&mut self, node: &str, kind: Kind, vmid: u32) -> Option<&mut Guest> {
        self.guests
            .get_mut(&vmid)
            .filter(|g| g.node == node && g.kind == kind)
    }

    /// The lowest free VMID from 100.
    pub fn next_free_vmid(&self) -> u32 {
        let mut id = 100;
        for &v in self.guests.keys() {
            if v == id {
                id += 1;
            } else if v > id {
                break;
            }
        }
        id
    }

    pub fn storage(&self, id: &str) -> Option<&StorageCfg> {
        self.storages.iter().find(|s| s.id == id)
    }

    /// The storage if it is configured for `node`.
    pub fn storage_on(&self, node: &str, id: &str) -> Option<&StorageCfg> {
        self.storage(id).filter(|s| s.available_on(node))
    }

    pub fn task(&self, upid: &str) -> Option<&Task> {
        self.task_index.get(upid).and_then(|&i| self.tasks.get(i))
    }

    pub fn task_mut(&mut self, upid: &str) -> Option<&mut Task> {
        match self.task_index.get(upid) {
            Some(&i) => self.tasks.get_mut(i),
            None => None,
        }
    }

    /// Adds a task and returns its UPID.
    pub fn add_task(&mut self, spec: task::TaskSpec, now: u64) -> String {
        self.next_pid = self
            .next_pid
            .wrapping_add(1 + (crate::util::mix(u64::from(self.next_pid)) % 7) as u32);
        let pid = self.next_pid;
        let boot = self.node(&spec.node).map(|n| n.uptime_base).unwrap_or(0);
        let pstart = (boot + now.saturating_sub(self.started)) * 100 + u64::from(pid % 97);
        let upid = task::upid(
            &spec.node, pid, pstart, now, &spec.kind, &spec.id, &spec.user,
        );
        let t = Task {
            upid: upid.clone(),
            node: spec.node,
            pid,
            pstart,
            starttime: now,
            kind: spec.kind,
            id: spec.id,
            user: spec.user,
            started: tokio::time::Instant::now(),
            duration: spec.duration,
            log: spec.log,
            status: task::TaskStatus::Running,
            endtime: None,
            effect: spec.effect,
        };
        self.task_index.insert(upid.clone(), self.tasks.len());
        self.tasks.push(t);
        upid
    }

    /// Ends a running task: applies its effect and records the exit status.
    pub fn finish_task(&mut self, upid: &str, now: u64) {
        let Some(effect) = self.task_mut(upid).and_then(|t| {
            if t.running() {
                Some(t.effect.take())
            } else {
                None
            }
        }) else {
            return;
        };
        let outcome = match effect {
            Some(f) => f(self),
            None => Ok(Vec::new()),
        };
        if let Some(t) = self.task_mut(upid) {
            t.finish(outcome, now);
        }
    }

    /// Stops a running task without applying its effect.
    pub fn abort_task(&mut self, upid: &str, now: u64) -> bool {
        match self.task_mut(upid) {
            Some(t) if t.running() => {
                t.effect = None;
                t.log.push("received interrupt".into());
                t.finish(Err("interrupted by signal".into()), now);
                true
            }
            _ => false,
        }
    }

    /// Gives running guests a plausible start time before the simulator started (1 h to 40 d).
    pub fn settle_uptimes(&mut self) {
        let started = self.started;
        let seed = self.seed;
        for g in self.guests.values_mut() {
            if g.is_running() {
                let h = crate::util::mix2(seed ^ 0x5151, u64::from(g.vmid));
                g.started_at = started.saturating_sub(3600 + h % (40 * 86_400));
            }
        }
    }

    /// A deterministic dump for before/after comparisons (no secrets, no clock values).
    pub fn dump(&self) -> Value {
        let nodes: Vec<Value> = self
            .nodes
            .iter()
            .map(|n| {
                json!({
                    "name": n.name, "nodeid": n.nodeid, "ip": n.ip, "cpus": n.cpus,
                    "memory": n.memory, "online": n.online,
                })
            })
            .collect();
        let guests: Vec<Value> = self
            .guests
            .values()
            .map(|g| {
                let snaps: BTreeMap<&String, Value> = g
                    .snapshots
                    .iter()
                    .map(|(k, s)| {
                        (
                            k,
                            json!({"description": s.description, "parent": s.parent,
                                "vmstate": s.vmstate, "config": s.config}),
                        )
                    })
                    .collect();
                json!({
                    "vmid": g.vmid, "type": g.kind.as_str(), "node": g.node,
                    "status": g.power, "config": g.config, "pending": g.pending,
                    "pending_delete": g.pending_delete, "snapshots": snaps,
                    "pool": g.pool, "ip": g.ip,
                })
            })
            .collect();
        let users: BTreeMap<&String, Value> = self
            .access
            .users
            .iter()
            .map(|(id, u)| {
                (
                    id,
                    json!({"enable": u.enable, "groups": u.groups,
                        "tokens": u.tokens.iter().map(|(t, tok)| (t.clone(), json!({"privsep": tok.privsep, "comment": tok.comment}))).collect::<BTreeMap<_, _>>()}),
                )
            })
            .collect();
        let tasks: Vec<Value> = self
            .tasks
            .iter()
            .map(|t| {
                json!({"node": t.node, "type": t.kind, "id": t.id, "user": t.user,
                    "exitstatus": t.exitstatus()})
            })
            .collect();
        let pools: BTreeMap<&String, Value> = self
            .pools
            .iter()
            .map(|(k, p)| (k, json!({"comment": p.comment, "storages": p.storages})))
            .collect();
        json!({
            "cluster": self.name,
            "nodes": nodes,
            "guests": guests,
            "storages": self.storages,
            "volumes": self.volumes,
            "pools": pools,
            "users": users,
            "groups": self.access.groups,
            "roles": self.access.roles.iter().filter(|(_, r)| !r.special).map(|(k, r)| (k.clone(), r.privs.clone())).collect::<BTreeMap<_, _>>(),
            "acl": self.access.acl,
            "ha": {"resources": self.ha_resources, "groups": self.ha_groups, "rules": self.ha_rules},
            "backup_jobs": self.backup_jobs,
            "networks": self.networks,
            "firewall": self.firewall,
            "sdn": {"zones": self.sdn_zones, "vnets": self.sdn_vnets},
            "options": self.options,
            "tasks": tasks,
        })
    }
}
