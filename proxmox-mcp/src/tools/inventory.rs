//! Guest inventory: `list_vms` and `list_containers`, both from one `/cluster/resources` call.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::args::{NodeName, bounded};
use super::render::{glob_match, mib, pct};
use super::{Hints, Render, ToolCtx, ToolDef, ToolError};
use crate::policy::Class;
use crate::pve::Pve;
use crate::pve::perl::Text;
use crate::pve::types::{GuestKind, ResourceRef as Entry, split_tags};

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

fn text(t: &Text<'_>) -> Value {
    Value::from(t.as_deref().unwrap_or_default())
}

fn flags(r: &Entry<'_>) -> String {
    let mut f = Vec::new();
    if r.template {
        f.push("template".to_string());
    }
    if let Some(lock) = r.lock.as_deref().filter(|l| !l.is_empty()) {
        f.push(format!("lock={lock}"));
    }
    f.join(",")
}

fn field_value(r: &Entry<'_>, field: Field) -> Value {
    match field {
        Field::Disk => gib(r.disk),
        Field::Maxdisk => gib(r.maxdisk),
        Field::Uptime => Value::from(r.uptime.unwrap_or(0)),
        Field::Maxcpu => compact_num(r.maxcpu.unwrap_or(0.0)),
        Field::Pool => text(&r.pool),
        Field::Lock => text(&r.lock),
        Field::Template => Value::from(r.template),
        Field::Hastate => text(&r.hastate),
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
    let extra = p.fields.unwrap_or_default();
    let body = ctx.pve.cluster_resources_body().await?;
    // One pass over the entries as they decode: a row per listed guest (tags always, dropped
    // below when no listed guest has any), the node names for the check below.
    let mut nodes: Vec<String> = Vec::new();
    let mut rows: Vec<(u32, Vec<Value>)> = Vec::new();
    let (mut running, mut with_tags) = (0, false);
    let mut flag_map = BTreeMap::new();
    Pve::each_resource(&body, |r: Entry<'_>| {
        if r.kind.as_deref() == Some("node") {
            nodes.extend(r.node.as_deref().map(str::to_owned));
        }
        let listed = r.guest_kind() == Some(kind)
            && p.node
                .as_ref()
                .is_none_or(|n| r.node.as_deref() == Some(n.as_str()))
            && p.status
                .is_none_or(|s| r.status.as_deref() == Some(s.as_str()))
            && name.is_none_or(|n| glob_match(n, r.name.as_deref().unwrap_or("")))
            && tag.is_none_or(|t| {
                split_tags(r.tags.as_deref())
                    .iter()
                    .any(|x| x.eq_ignore_ascii_case(t))
            })
            && pool.is_none_or(|x| r.pool.as_deref() == Some(x));
        if !listed {
            return;
        }
        let vmid = r.vmid.unwrap_or(0);
        running += usize::from(r.status.as_deref() == Some("running"));
        with_tags |= r.tags.as_deref().is_some_and(|t| !t.is_empty());
        let f = flags(&r);
        if r.vmid.is_some() && !f.is_empty() {
            flag_map.insert(vmid, f);
        }
        let mut row = Vec::with_capacity(8 + extra.len());
        row.extend([
            Value::from(vmid),
            text(&r.name),
            text(&r.node),
            text(&r.status),
            Value::from(pct(r.cpu.unwrap_or(0.0)).round() as i64),
            Value::from(mib(r.mem.unwrap_or(0))),
            Value::from(mib(r.maxmem.unwrap_or(0))),
            text(&r.tags),
        ]);
        row.extend(extra.iter().map(|f| field_value(&r, *f)));
        rows.push((vmid, row));
    })?;
    if let Some(node) = &p.node
        && !nodes.is_empty()
        && !nodes.iter().any(|n| n == node.as_str())
    {
        return Err(ToolError::NotFound(format!(
            "node {node} is not in the cluster (node names are case-sensitive); nodes: {}",
            nodes.join(", ")
        )));
    }
    rows.sort_by_key(|(vmid, _)| *vmid);

    const TAGS: usize = 7;
    let mut columns = vec!["vmid", "name", "node", "status", "cpu", "mem", "maxmem"];
    if with_tags {
        columns.push("tags");
    }
    columns.extend(extra.iter().map(|f| field_name(*f)));
    let count = rows.len();
    let rows = rows
        .into_iter()
        .map(|(_, mut row)| {
            if !with_tags {
                row.remove(TAGS);
            }
            row
        })
        .collect();
    Ok(GuestList {
        kind: match kind {
            GuestKind::Qemu => "vm",
            GuestKind::Lxc => "container",
        },
        count,
        running,
        columns,
        rows,
        flags: flag_map,
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
