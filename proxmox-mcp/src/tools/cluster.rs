//! Cluster and node overview: `node_status` and `get_system_info`.

use std::collections::BTreeSet;
use std::fmt::Write as _;

use futures::future::join_all;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::args::NodeName;
use super::render::{duration, pct, ratio_pct, size};
use super::{Hints, Render, ToolCtx, ToolDef, ToolError};
use crate::policy::Class;
use crate::pve::Pve;
use crate::pve::types::{NodeListItem, NodeStatus};

pub fn tools() -> Vec<ToolDef> {
    vec![
        ToolDef::new(
            "node_status",
            "Node status",
            "One node or all: online state, CPU, memory, swap, root fs, load, uptime, kernel and \
             PVE version.",
            Class::Read,
            Hints::READ,
            &["GET /nodes", "GET /nodes/{node}/status"],
            node_status,
        ),
        ToolDef::new(
            "get_system_info",
            "Cluster overview",
            "Cluster name, quorum, nodes, PVE version, resource totals (guests, CPU, memory, \
             storage), HA state and subscription state. A good first call.",
            Class::Read,
            Hints::READ,
            &[
                "GET /cluster/status",
                "GET /version",
                "GET /cluster/resources",
                "GET /cluster/ha/status/current",
                "GET /nodes/{node}/subscription",
            ],
            system_info,
        ),
    ]
}

// ---------------------------------------------------------------------------------------------
// node_status

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NodeStatusParams {
    /// One node; all nodes when omitted
    pub node: Option<NodeName>,
}

/// Usage of one resource in bytes.
#[derive(Debug, Serialize, JsonSchema)]
pub struct Usage {
    pub used: u64,
    pub total: u64,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct NodeInfo {
    pub node: String,
    pub online: bool,
    /// % of all cores
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cpu: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cpus: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cpu_model: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub memory: Option<Usage>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub swap: Option<Usage>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rootfs: Option<Usage>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub loadavg: Vec<f64>,
    /// Seconds
    #[serde(skip_serializing_if = "Option::is_none")]
    pub uptime: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kernel: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pveversion: Option<String>,
    /// Why details are missing (offline, unreachable)
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct NodeReport {
    pub nodes: Vec<NodeInfo>,
}

fn node_info(item: &NodeListItem, status: Option<Result<NodeStatus, String>>) -> NodeInfo {
    let online = item.status.as_deref() == Some("online");
    let mut info = NodeInfo {
        node: item.node.clone(),
        online,
        cpu: item.cpu.map(pct),
        cpus: item.maxcpu.map(|c| c as u64),
        cpu_model: None,
        memory: item.maxmem.map(|total| Usage {
            used: item.mem.unwrap_or(0),
            total,
        }),
        swap: None,
        rootfs: item.maxdisk.map(|total| Usage {
            used: item.disk.unwrap_or(0),
            total,
        }),
        loadavg: Vec::new(),
        uptime: item.uptime.filter(|_| online),
        kernel: None,
        pveversion: None,
        error: (!online).then(|| {
            format!(
                "node is {}",
                item.status.as_deref().unwrap_or("in an unknown state")
            )
        }),
    };
    match status {
        Some(Ok(s)) => {
            info.cpu = s.cpu.map(pct).or(info.cpu);
            if let Some(ci) = &s.cpuinfo {
                info.cpus = ci.cpus.or(info.cpus);
                info.cpu_model = ci.model.clone();
            }
            let usage = |total: Option<u64>, used: Option<u64>| {
                total.map(|total| Usage {
                    used: used.unwrap_or(0),
                    total,
                })
            };
            if let Some(m) = &s.memory {
                info.memory = usage(m.total, m.used).or(info.memory.take());
            }
            if let Some(m) = &s.swap {
                info.swap = usage(m.total, m.used);
            }
            if let Some(r) = &s.rootfs {
                info.rootfs = usage(r.total, r.used).or(info.rootfs.take());
            }
            info.loadavg = s.loadavg.clone();
            info.uptime = s.uptime.or(info.uptime);
            info.kernel = s.kversion.clone();
            info.pveversion = s.pveversion.clone();
        }
        Some(Err(e)) => info.error = Some(e),
        None => {}
    }
    info
}

async fn node_status(ctx: ToolCtx, p: NodeStatusParams) -> Result<NodeReport, ToolError> {
    let mut nodes = ctx.pve.nodes().await?;
    nodes.sort_by(|a, b| a.node.cmp(&b.node));
    if let Some(want) = &p.node {
        let names: Vec<String> = nodes.iter().map(|n| n.node.clone()).collect();
        nodes.retain(|n| n.node == want.as_str());
        if nodes.is_empty() {
            return Err(ToolError::NotFound(format!(
                "node {want} is not in the cluster (node names are case-sensitive); nodes: {}",
                names.join(", ")
            )));
        }
    }
    let details = join_all(nodes.iter().map(|n| {
        let pve = ctx.pve.clone();
        let online = n.status.as_deref() == Some("online");
        let name = n.node.clone();
        async move {
            if online {
                Some(pve.node_status(&name).await.map_err(|e| e.to_string()))
            } else {
                None
            }
        }
    }))
    .await;
    Ok(NodeReport {
        nodes: nodes
            .iter()
            .zip(details)
            .map(|(n, d)| node_info(n, d))
            .collect(),
    })
}

fn usage_text(label: &str, u: &Option<Usage>) -> Option<String> {
    u.as_ref().map(|u| {
        let p = ratio_pct(u.used, u.total)
            .map(|p| format!(" ({p}%)"))
            .unwrap_or_default();
        format!("{label} {}/{}{p}", size(u.used), size(u.total))
    })
}

impl Render for NodeReport {
    fn render(&self) -> String {
        let mut o = String::new();
        for n in &self.nodes {
            let mut parts = vec![
                n.node.clone(),
                if n.online { "online" } else { "OFFLINE" }.to_string(),
            ];
            if let Some(c) = n.cpu {
                parts.push(match n.cpus {
                    Some(k) => format!("cpu {c}% of {k}"),
                    None => format!("cpu {c}%"),
                });
            }
            parts.extend(usage_text("mem", &n.memory));
            parts.extend(usage_text("swap", &n.swap));
            parts.extend(usage_text("root", &n.rootfs));
            if !n.loadavg.is_empty() {
                let l: Vec<String> = n.loadavg.iter().map(|x| x.to_string()).collect();
                parts.push(format!("load {}", l.join(" ")));
            }
            if let Some(u) = n.uptime {
                parts.push(format!("up {}", duration(u)));
            }
            if let Some(v) = &n.pveversion {
                parts.push(v.clone());
            }
            if let Some(k) = &n.kernel {
                parts.push(k.split_whitespace().take(2).collect::<Vec<_>>().join(" "));
            }
            if let Some(e) = &n.error {
                parts.push(format!("({e})"));
            }
            let _ = writeln!(o, "{}", parts.join(" · "));
        }
        o
    }
}

// ---------------------------------------------------------------------------------------------
// get_system_info

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NoParams {}

#[derive(Debug, Serialize, JsonSchema)]
pub struct NodeBrief {
    pub name: String,
    pub online: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ip: Option<String>,
    /// Subscription status of the node (active, notfound, …)
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subscription: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub level: Option<String>,
}

#[derive(Debug, Default, Serialize, JsonSchema)]
pub struct Totals {
    pub vms: usize,
    pub vms_running: usize,
    pub containers: usize,
    pub containers_running: usize,
    pub templates: usize,
    pub cpu_cores: u64,
    /// % of all online cores in use
    pub cpu_used: f64,
    pub mem_total: u64,
    pub mem_used: u64,
    /// Bytes over all storages (shared ones counted once)
    pub storage_total: u64,
    pub storage_used: u64,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct HaState {
    /// Managed HA resources
    pub resources: usize,
    /// One line per HA status entry (quorum, master, lrm)
    pub status: Vec<String>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct SystemInfo {
    /// Cluster name; absent on a standalone node
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cluster: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub quorate: Option<bool>,
    pub version: String,
    pub nodes: Vec<NodeBrief>,
    pub totals: Totals,
    pub ha: HaState,
}

async fn system_info(ctx: ToolCtx, _: NoParams) -> Result<SystemInfo, ToolError> {
    let (status, version, resources, ha) = tokio::join!(
        ctx.pve.cluster_status(),
        ctx.pve.version(),
        ctx.pve.cluster_resources_body(),
        ctx.pve.ha_status(),
    );
    let status = status?;
    let version = version?;
    let body = resources?;
    let cluster_entry = status.iter().find(|s| s.kind == "cluster");
    let mut nodes: Vec<NodeBrief> = status
        .iter()
        .filter(|s| s.kind == "node")
        .map(|s| NodeBrief {
            name: s.name.clone(),
            online: s.online.unwrap_or(false),
            ip: s.ip.clone(),
            subscription: None,
            level: s.level.clone().filter(|l| !l.is_empty()),
        })
        .collect();
    nodes.sort_by(|a, b| a.name.cmp(&b.name));
    let subs = join_all(nodes.iter().map(|n| {
        let pve = ctx.pve.clone();
        let (name, online) = (n.name.clone(), n.online);
        async move {
            if online {
                pve.subscription(&name).await.ok()
            } else {
                None
            }
        }
    }))
    .await;
    for (n, s) in nodes.iter_mut().zip(subs) {
        if let Some(s) = s {
            n.subscription = Some(s.status);
            if n.level.is_none() {
                n.level = s.level.filter(|l| !l.is_empty());
            }
        }
    }

    let mut t = Totals::default();
    let mut cpu_weighted = 0.0;
    let mut seen_shared = BTreeSet::new();
    Pve::each_resource(&body, |r| {
        let running = r.status.as_deref() == Some("running");
        match r.kind.as_deref().unwrap_or_default() {
            "qemu" if r.template => t.templates += 1,
            "lxc" if r.template => t.templates += 1,
            "qemu" => {
                t.vms += 1;
                t.vms_running += running as usize;
            }
            "lxc" => {
                t.containers += 1;
                t.containers_running += running as usize;
            }
            "node" if r.status.as_deref() == Some("online") => {
                let cores = r.maxcpu.unwrap_or(0.0);
                t.cpu_cores += cores as u64;
                cpu_weighted += r.cpu.unwrap_or(0.0) * cores;
                t.mem_total += r.maxmem.unwrap_or(0);
                t.mem_used += r.mem.unwrap_or(0);
            }
            "storage" => {
                let key = if r.shared == Some(true) {
                    r.storage.as_deref().unwrap_or_default()
                } else {
                    r.id.as_deref().unwrap_or_default()
                };
                if seen_shared.insert(key.to_owned()) {
                    t.storage_total += r.maxdisk.unwrap_or(0);
                    t.storage_used += r.disk.unwrap_or(0);
                }
            }
            _ => {}
        }
    })?;
    if t.cpu_cores > 0 {
        t.cpu_used = pct(cpu_weighted / t.cpu_cores as f64);
    }
    let ha = match ha {
        Ok(items) => HaState {
            resources: items
                .iter()
                .filter(|i| i.kind.as_deref() == Some("service"))
                .count(),
            status: items
                .iter()
                .filter(|i| i.kind.as_deref() != Some("service"))
                .map(|i| {
                    format!(
                        "{}: {}",
                        i.id,
                        i.status.as_deref().or(i.state.as_deref()).unwrap_or("?")
                    )
                })
                .collect(),
        },
        Err(e) => HaState {
            resources: 0,
            status: vec![format!("unavailable: {e}")],
        },
    };
    Ok(SystemInfo {
        cluster: cluster_entry.map(|c| c.name.clone()),
        quorate: cluster_entry.and_then(|c| c.quorate),
        version: match &version.release {
            Some(r) => format!("{} (release {r})", version.version),
            None => version.version.clone(),
        },
        nodes,
        totals: t,
        ha,
    })
}

impl Render for SystemInfo {
    fn render(&self) -> String {
        let mut o = String::new();
        let online = self.nodes.iter().filter(|n| n.online).count();
        let _ = writeln!(
            o,
            "cluster {} · quorum {} · PVE {} · nodes {online}/{} online",
            self.cluster.as_deref().unwrap_or("(standalone)"),
            match self.quorate {
                Some(true) => "ok",
                Some(false) => "LOST",
                None => "n/a",
            },
            self.version,
            self.nodes.len()
        );
        for n in &self.nodes {
            let _ = writeln!(
                o,
                "  {} {} {} subscription={}",
                n.name,
                if n.online { "online" } else { "OFFLINE" },
                n.ip.as_deref().unwrap_or("-"),
                n.subscription.as_deref().unwrap_or("?")
            );
        }
        let t = &self.totals;
        let _ = writeln!(
            o,
            "guests: {}/{} VMs running, {}/{} CTs running, {} templates",
            t.vms_running, t.vms, t.containers_running, t.containers, t.templates
        );
        let _ = writeln!(
            o,
            "cpu {}% of {} cores · mem {}/{} · storage {}/{}",
            t.cpu_used,
            t.cpu_cores,
            size(t.mem_used),
            size(t.mem_total),
            size(t.storage_used),
            size(t.storage_total)
        );
        let _ = writeln!(
            o,
            "HA: {} resources; {}",
            self.ha.resources,
            if self.ha.status.is_empty() {
                "not configured".to_string()
            } else {
                self.ha.status.join("; ")
            }
        );
        o
    }
}
