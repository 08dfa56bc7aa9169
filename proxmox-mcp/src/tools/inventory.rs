//! Guest inventory: `list_vms`, `list_containers` (one `/cluster/resources` call) and `vm_status`.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use futures::future::join3;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::args::{NodeName, Vmid, bounded};
use super::render::{duration, glob_match, mib, pct};
use super::{Hints, Render, ToolCtx, ToolDef, ToolError};
use crate::policy::Class;
use crate::pve::types::{ClusterResource, GuestConfig, GuestKind, PendingItem};

pub fn tools() -> Vec<ToolDef> {
    vec![
        ToolDef::new(
            "list_vms",
            "List VMs",
            "All QEMU VMs in one call. Filters: node, status, name (glob), tag, pool. \
             Template/lock in `flags`; `fields` adds columns.",
            Class::Read,
            Hints::READ,
            &["GET /cluster/resources"],
            |ctx, p: ListParams| list(ctx, p, GuestKind::Qemu),
        ),
        ToolDef::new(
            "list_containers",
            "List containers",
            "All LXC containers in one call; same filters and columns as list_vms.",
            Class::Read,
            Hints::READ,
            &["GET /cluster/resources"],
            |ctx, p: ListParams| list(ctx, p, GuestKind::Lxc),
        ),
        ToolDef::new(
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
        ),
    ]
}

// ---------------------------------------------------------------------------------------------
// list_vms / list_containers

// Guest run state as `/cluster/resources` reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
// (paused and suspended guests are `running` here; vm_status shows their qmpstatus)
pub enum StatusFilter {
    Running,
    Stopped,
    // Guests on an offline node.
    Unknown,
}

impl StatusFilter {
    fn as_str(self) -> &'static str {
        match self {
            StatusFilter::Running => "running",
            StatusFilter::Stopped => "stopped",
            StatusFilter::Unknown => "unknown",
        }
    }
}

// Optional extra columns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Field {
    Disk,
    Maxdisk,
    Uptime,
    Maxcpu,
    Pool,
    Lock,
    Template,
    Hastate,
    Netin,
    Netout,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ListParams {
    /// Only this node
    pub node: Option<NodeName>,
    pub status: Option<StatusFilter>,
    /// Name glob (* ?) or substring, case-insensitive
    pub name: Option<String>,
    /// Only guests with this tag
    pub tag: Option<String>,
    /// Only guests in this pool
    pub pool: Option<String>,
    /// Extra columns (disk/maxdisk in GiB, net in MiB, uptime in s)
    pub fields: Option<Vec<Field>>,
}

/// A columnar guest table: `rows[i][j]` is the value of `columns[j]` for guest i.
#[derive(Debug, Serialize, JsonSchema)]
pub struct GuestList {
    /// vm or container
    pub kind: &'static str,
    pub count: usize,
    pub running: usize,
    /// cpu: % of own cores; mem, maxmem: MiB
    pub columns: Vec<&'static str>,
    pub rows: Vec<Vec<Value>>,
    /// vmid -> template, lock=…
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub flags: BTreeMap<u32, String>,
}

fn compact_num(x: f64) -> Value {
    if x.fract() == 0.0 && x.abs() < 1e15 {
        Value::from(x as i64)
    } else {
        Value::from(x)
    }
}

fn gib(bytes: Option<u64>) -> Value {
    compact_num(((bytes.unwrap_or(0) as f64 / (1u64 << 30) as f64) * 10.0).round() / 10.0)
}

fn flags(r: &ClusterResource) -> String {
    let mut f = Vec::new();
    if r.template {
        f.push("template".to_string());
    }
    if let Some(lock) = r.lock.as_deref().filter(|l| !l.is_empty()) {
        f.push(format!("lock={lock}"));
    }
    f.join(",")
}

fn field_value(r: &ClusterResource, field: Field) -> Value {
    match field {
        Field::Disk => gib(r.disk),
        Field::Maxdisk => gib(r.maxdisk),
        Field::Uptime => Value::from(r.uptime.unwrap_or(0)),
        Field::Maxcpu => compact_num(r.maxcpu.unwrap_or(0.0)),
        Field::Pool => Value::from(r.pool.clone().unwrap_or_default()),
        Field::Lock => Value::from(r.lock.clone().unwrap_or_default()),
        Field::Template => Value::from(r.template),
        Field::Hastate => Value::from(r.hastate.clone().unwrap_or_default()),
        Field::Netin => Value::from(mib(r.netin.unwrap_or(0))),
        Field::Netout => Value::from(mib(r.netout.unwrap_or(0))),
    }
}

fn field_name(field: Field) -> &'static str {
    match field {
        Field::Disk => "disk",
        Field::Maxdisk => "maxdisk",
        Field::Uptime => "uptime",
        Field::Maxcpu => "maxcpu",
        Field::Pool => "pool",
        Field::Lock => "lock",
        Field::Template => "template",
        Field::Hastate => "hastate",
        Field::Netin => "netin",
        Field::Netout => "netout",
    }
}

async fn list(ctx: ToolCtx, p: ListParams, kind: GuestKind) -> Result<GuestList, ToolError> {
    let name = p
        .name
        .as_deref()
        .map(|n| bounded("name", n, 256))
        .transpose()?;
    let tag = p
        .tag
        .as_deref()
        .map(|t| bounded("tag", t, 128))
        .transpose()?;
    let pool = p
        .pool
        .as_deref()
        .map(|t| bounded("pool", t, 128))
        .transpose()?;
    let resources = ctx.pve.cluster_resources(None).await?;
    if let Some(node) = &p.node {
        let known: Vec<&str> = resources
            .iter()
            .filter(|r| r.kind == "node")
            .filter_map(|r| r.node.as_deref())
            .collect();
        if !known.is_empty() && !known.contains(&node.as_str()) {
            return Err(ToolError::NotFound(format!(
                "node {node} is not in the cluster (node names are case-sensitive); nodes: {}",
                known.join(", ")
            )));
        }
    }
    let mut guests: Vec<&ClusterResource> = resources
        .iter()
        .filter(|r| r.guest_kind() == Some(kind))
        .filter(|r| {
            p.node
                .as_ref()
                .is_none_or(|n| r.node.as_deref() == Some(n.as_str()))
        })
        .filter(|r| {
            p.status
                .is_none_or(|s| r.status.as_deref() == Some(s.as_str()))
        })
        .filter(|r| name.is_none_or(|n| glob_match(n, r.name.as_deref().unwrap_or(""))))
        .filter(|r| tag.is_none_or(|t| r.tag_list().iter().any(|x| x.eq_ignore_ascii_case(t))))
        .filter(|r| pool.is_none_or(|x| r.pool.as_deref() == Some(x)))
        .collect();
    guests.sort_by_key(|r| r.vmid);

    let with_tags = guests
        .iter()
        .any(|r| r.tags.as_deref().is_some_and(|t| !t.is_empty()));
    let mut columns = vec!["vmid", "name", "node", "status", "cpu", "mem", "maxmem"];
    if with_tags {
        columns.push("tags");
    }
    let extra = p.fields.unwrap_or_default();
    columns.extend(extra.iter().map(|f| field_name(*f)));

    let rows = guests
        .iter()
        .map(|r| {
            let mut row = vec![
                Value::from(r.vmid.unwrap_or(0)),
                Value::from(r.name.clone().unwrap_or_default()),
                Value::from(r.node.clone().unwrap_or_default()),
                Value::from(r.status.clone().unwrap_or_default()),
                Value::from(pct(r.cpu.unwrap_or(0.0)).round() as i64),
                Value::from(mib(r.mem.unwrap_or(0))),
                Value::from(mib(r.maxmem.unwrap_or(0))),
            ];
            if with_tags {
                row.push(Value::from(r.tags.clone().unwrap_or_default()));
            }
            row.extend(extra.iter().map(|f| field_value(r, *f)));
            row
        })
        .collect();
    let running = guests
        .iter()
        .filter(|r| r.status.as_deref() == Some("running"))
        .count();
    let flags = guests
        .iter()
        .filter_map(|r| Some((r.vmid?, flags(r))).filter(|(_, f)| !f.is_empty()))
        .collect();
    Ok(GuestList {
        kind: match kind {
            GuestKind::Qemu => "vm",
            GuestKind::Lxc => "container",
        },
        count: guests.len(),
        running,
        columns,
        rows,
        flags,
    })
}

impl Render for GuestList {
    fn into_structured(self) -> serde_json::Result<Value> {
        let mut map = serde_json::Map::new();
        map.insert("kind".into(), Value::from(self.kind));
        map.insert("count".into(), Value::from(self.count));
        map.insert("running".into(), Value::from(self.running));
        map.insert("columns".into(), Value::from(self.columns));
        let rows = self.rows.into_iter().map(Value::Array).collect();
        map.insert("rows".into(), Value::Array(rows));
        if !self.flags.is_empty() {
            map.insert("flags".into(), serde_json::to_value(&self.flags)?);
        }
        Ok(Value::Object(map))
    }

    fn render(&self) -> String {
        let mut out = String::with_capacity(64 + self.rows.len() * 48);
        let _ = writeln!(
            out,
            "{} {}s, {} running. cpu=% of own cores, mem=MiB used/max",
            self.count, self.kind, self.running
        );
        // Header: merge mem/maxmem into one column, as in the rows below.
        let header: Vec<&str> = self
            .columns
            .iter()
            .filter(|c| **c != "maxmem")
            .map(|c| if *c == "mem" { "mem/max" } else { c })
            .collect();
        out.push_str(&header.join(" "));
        out.push('\n');
        for row in &self.rows {
            let mut first = true;
            for (col, v) in self.columns.iter().zip(row) {
                let cell = match v {
                    Value::String(s) if s.is_empty() => "-".to_string(),
                    Value::String(s) => s.replace(' ', "_"),
                    other => other.to_string(),
                };
                match *col {
                    "maxmem" => {
                        out.push('/');
                        out.push_str(&cell);
                        continue;
                    }
                    "cpu" => {
                        out.push(' ');
                        out.push_str(&cell);
                        out.push('%');
                        continue;
                    }
                    _ => {}
                }
                if !first {
                    out.push(' ');
                }
                first = false;
                out.push_str(&cell);
            }
            let vmid = row.first().and_then(Value::as_u64).unwrap_or(0) as u32;
            if let Some(f) = self.flags.get(&vmid) {
                out.push(' ');
                out.push_str(f);
            }
            out.push('\n');
        }
        out
    }
}

// ---------------------------------------------------------------------------------------------
// vm_status

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
