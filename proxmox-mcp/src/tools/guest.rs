//! One guest in depth: `vm_status` (state, config summary, pending changes, guest agent).

use std::collections::BTreeMap;
use std::fmt::Write as _;

use futures::future::join3;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::args::Vmid;
use super::render::{duration, mib, pct};
use super::{Hints, Render, ToolCtx, ToolDef, ToolError};
use crate::policy::Class;
use crate::pve::types::{GuestConfig, GuestKind, PendingItem};

pub fn tools() -> Vec<ToolDef> {
    vec![ToolDef::new(
        "vm_status",
        "Guest status",
        "One VM or container by vmid (node found for you): state, usage, config summary, \
             disks, NICs, pending changes, guest-agent OS and IPs.",
        Class::Read,
        Hints::READ,
        &[
            "GET /cluster/resources",
            "GET /nodes/{node}/qemu/{vmid}/status/current",
            "GET /nodes/{node}/qemu/{vmid}/config",
            "GET /nodes/{node}/qemu/{vmid}/pending",
            "GET /nodes/{node}/qemu/{vmid}/agent/get-osinfo",
            "GET /nodes/{node}/qemu/{vmid}/agent/network-get-interfaces",
            "GET /nodes/{node}/lxc/{vmid}/status/current",
            "GET /nodes/{node}/lxc/{vmid}/config",
            "GET /nodes/{node}/lxc/{vmid}/pending",
        ],
        vm_status,
    )]
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct VmStatusParams {
    pub vmid: Vmid,
}

#[derive(Debug, Default, Serialize, JsonSchema)]
pub struct ConfigSummary {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cores: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sockets: Option<String>,
    /// MiB
    #[serde(skip_serializing_if = "Option::is_none")]
    pub memory: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cpu: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ostype: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub boot: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub agent: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub onboot: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub protection: Option<String>,
    /// scsi0, virtio0, rootfs, mp0, … -> volume and options
    pub disks: BTreeMap<String, String>,
    /// net0, … -> model, MAC, bridge, options
    pub nics: BTreeMap<String, String>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct PendingChange {
    pub key: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub current: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pending: Option<String>,
    /// The key will be removed when the change is applied
    pub delete: bool,
}

#[derive(Debug, Default, Serialize, JsonSchema)]
pub struct AgentInfo {
    pub available: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub os: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kernel: Option<String>,
    pub ips: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct VmStatus {
    pub vmid: u32,
    pub kind: &'static str,
    pub node: String,
    pub name: String,
    pub status: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub qmpstatus: Option<String>,
    pub template: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lock: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tags: Option<String>,
    /// Seconds
    #[serde(skip_serializing_if = "Option::is_none")]
    pub uptime: Option<u64>,
    /// % of the guest's cores
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cpu: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mem: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub maxmem: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ha: Option<String>,
    pub config: ConfigSummary,
    pub pending: Vec<PendingChange>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub agent: Option<AgentInfo>,
}

fn value_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn summarize(kind: GuestKind, cfg: &GuestConfig) -> ConfigSummary {
    ConfigSummary {
        cores: cfg.get_str("cores"),
        sockets: cfg.get_str("sockets"),
        memory: cfg.get_str("memory"),
        cpu: cfg.get_str("cpu"),
        ostype: cfg.get_str("ostype"),
        boot: cfg.get_str("boot"),
        agent: match kind {
            GuestKind::Qemu => cfg.get_str("agent"),
            GuestKind::Lxc => None,
        },
        onboot: cfg.get_str("onboot"),
        protection: cfg.get_str("protection"),
        disks: cfg.disks().into_iter().collect(),
        nics: cfg.nics().into_iter().collect(),
    }
}

fn agent_enabled(cfg: &GuestConfig) -> bool {
    // `agent: 1` or `agent: enabled=1,fstrim_cloned_disks=1`
    cfg.get_str("agent").is_some_and(|a| {
        let first = a.split(',').next().unwrap_or("");
        matches!(
            first,
            "1" | "enabled=1" | "enabled=yes" | "yes" | "on" | "true"
        )
    })
}

fn ips_from_agent(ifaces: &Value) -> Vec<String> {
    let list = ifaces.as_array().cloned().unwrap_or_default();
    let mut ips = Vec::new();
    for iface in &list {
        if iface.get("name").and_then(Value::as_str) == Some("lo") {
            continue;
        }
        for addr in iface
            .get("ip-addresses")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if let Some(ip) = addr.get("ip-address").and_then(Value::as_str)
                && !ip.starts_with("127.")
                && ip != "::1"
                && !ip.starts_with("fe80")
            {
                ips.push(ip.to_string());
            }
        }
    }
    ips
}

async fn agent_info(ctx: &ToolCtx, node: &str, vmid: u32) -> AgentInfo {
    let (os, ifaces) = futures::future::join(
        ctx.pve.agent_get(node, vmid, "get-osinfo"),
        ctx.pve.agent_get(node, vmid, "network-get-interfaces"),
    )
    .await;
    let mut info = AgentInfo::default();
    match os {
        Ok(v) => {
            info.available = true;
            info.os = v
                .get("pretty-name")
                .or_else(|| v.get("name"))
                .and_then(Value::as_str)
                .map(str::to_string);
            info.kernel = v
                .get("kernel-release")
                .and_then(Value::as_str)
                .map(str::to_string);
        }
        Err(e) => info.error = Some(e.to_string()),
    }
    match ifaces {
        Ok(v) => {
            info.available = true;
            info.ips = ips_from_agent(&v);
        }
        Err(e) if info.error.is_none() => info.error = Some(e.to_string()),
        Err(_) => {}
    }
    info
}

fn pending_changes(items: Vec<PendingItem>) -> Vec<PendingChange> {
    items
        .into_iter()
        .filter(|i| i.pending.is_some() || i.delete.unwrap_or(0) > 0)
        .filter(|i| i.key != "digest")
        .map(|i| PendingChange {
            key: i.key,
            current: i.value.as_ref().map(value_text),
            pending: i.pending.as_ref().map(value_text),
            delete: i.delete.unwrap_or(0) > 0,
        })
        .collect()
}

async fn vm_status(ctx: ToolCtx, p: VmStatusParams) -> Result<VmStatus, ToolError> {
    let vmid = p.vmid.0;
    let found = ctx.pve.locate_guest(vmid).await?;
    let kind = found
        .guest_kind()
        .ok_or_else(|| ToolError::NotFound(format!("{vmid} is not a VM or container")))?;
    let node = found
        .node
        .clone()
        .ok_or_else(|| ToolError::NotFound(format!("guest {vmid} has no node")))?;
    let (status, config, pending) = join3(
        ctx.pve.guest_status(kind, &node, vmid),
        ctx.pve.guest_config(kind, &node, vmid),
        ctx.pve.guest_pending(kind, &node, vmid),
    )
    .await;
    let status = status?;
    let config = config?;
    // Pending is informative; a failure there should not hide the rest.
    let pending = pending.map(pending_changes).unwrap_or_default();
    let running = status.status == "running";
    // A paused or suspended VM's agent cannot answer; asking would only wait for its timeout.
    let responsive = running && status.qmpstatus.as_deref().is_none_or(|q| q == "running");
    let agent = if kind == GuestKind::Qemu && responsive && agent_enabled(&config) {
        Some(agent_info(&ctx, &node, vmid).await)
    } else {
        None
    };
    Ok(VmStatus {
        vmid,
        kind: match kind {
            GuestKind::Qemu => "qemu",
            GuestKind::Lxc => "lxc",
        },
        node,
        name: status
            .name
            .clone()
            .or(found.name.clone())
            .unwrap_or_default(),
        status: status.status.clone(),
        qmpstatus: status.qmpstatus.clone(),
        template: status.template || found.template,
        lock: status.lock.clone().or(found.lock.clone()),
        tags: status.tags.clone().or(found.tags.clone()),
        uptime: status.uptime.filter(|_| running),
        cpu: status.cpu.map(pct).filter(|_| running),
        mem: status.mem.map(mib),
        maxmem: status.maxmem.map(mib),
        ha: status
            .ha
            .as_ref()
            .and_then(|h| h.get("state"))
            .and_then(Value::as_str)
            .map(str::to_string)
            .or(found.hastate.clone()),
        config: summarize(kind, &config),
        pending,
        agent,
    })
}

impl Render for VmStatus {
    fn render(&self) -> String {
        let mut o = String::new();
        let _ = write!(
            o,
            "{} {} {} on {}: {}",
            self.kind, self.vmid, self.name, self.node, self.status
        );
        if let Some(q) = self.qmpstatus.as_deref().filter(|q| *q != self.status) {
            let _ = write!(o, " ({q})");
        }
        if self.template {
            o.push_str(" template");
        }
        if let Some(l) = &self.lock {
            let _ = write!(o, " lock={l}");
        }
        if let Some(u) = self.uptime {
            let _ = write!(o, " up {}", duration(u));
        }
        if let Some(c) = self.cpu {
            let _ = write!(o, " cpu {c}%");
        }
        if let (Some(m), Some(mx)) = (self.mem, self.maxmem) {
            let _ = write!(o, " mem {m}/{mx}MiB");
        }
        if let Some(t) = &self.tags {
            let _ = write!(o, " tags={t}");
        }
        if let Some(h) = &self.ha {
            let _ = write!(o, " ha={h}");
        }
        o.push('\n');
        let c = &self.config;
        let mut parts = Vec::new();
        for (k, v) in [
            ("cores", &c.cores),
            ("sockets", &c.sockets),
            ("memory", &c.memory),
            ("cpu", &c.cpu),
            ("ostype", &c.ostype),
            ("boot", &c.boot),
            ("agent", &c.agent),
            ("onboot", &c.onboot),
            ("protection", &c.protection),
        ] {
            if let Some(v) = v {
                parts.push(format!("{k}={v}"));
            }
        }
        let _ = writeln!(o, "config: {}", parts.join(" "));
        for (k, v) in c.disks.iter().chain(&c.nics) {
            let _ = writeln!(o, "  {k}: {v}");
        }
        if !self.pending.is_empty() {
            o.push_str("pending (applied at next restart):\n");
            for p in &self.pending {
                if p.delete {
                    let _ = writeln!(o, "  {}: delete", p.key);
                } else {
                    let _ = writeln!(
                        o,
                        "  {}: {} -> {}",
                        p.key,
                        p.current.as_deref().unwrap_or("-"),
                        p.pending.as_deref().unwrap_or("-")
                    );
                }
            }
        }
        if let Some(a) = &self.agent {
            if a.available {
                let _ = writeln!(
                    o,
                    "agent: {} {} ips={}",
                    a.os.as_deref().unwrap_or("?"),
                    a.kernel.as_deref().unwrap_or(""),
                    if a.ips.is_empty() {
                        "-".to_string()
                    } else {
                        a.ips.join(",")
                    }
                );
            } else {
                let _ = writeln!(
                    o,
                    "agent: not responding ({})",
                    a.error.as_deref().unwrap_or("unknown")
                );
            }
        }
        o
    }
}
