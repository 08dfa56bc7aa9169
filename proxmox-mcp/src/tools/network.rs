//! `network_config`: node interfaces (staged, then applied or reverted), the firewall at cluster,
//! node and guest level, and the SDN zone and vnet lists.
//!
//! Every call is turned into exactly one PVE request by [`plan`] during assessment; the request
//! is assessed as itself ([`api_assessment`]) and handed to the handler as the plan, so what runs
//! is what the human approved. `apply` is raised to Destructive when the pending changes touch the
//! interface that carries a node's management IP (an ifreload there can cut us off).

mod firewall;
mod iface;
mod validate;

pub(crate) use iface::apply_risk;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use super::action::{ActionResult, api_assessment, follow, upid_of};
use super::args::{NodeName, Vmid};
use super::render::clip;
use super::{AssessCtx, Assessment, Hints, ToolCtx, ToolDef, ToolError};
use crate::policy::Class;
use crate::policy::engine::Request;
use crate::pve::{Method, Params, Pve};

pub fn tools() -> Vec<ToolDef> {
    vec![
        ToolDef::new(
            "network_config",
            "Network, firewall, SDN",
            "Node interfaces: create/update/delete are staged until apply (ifreload; can cut a \
             node off) or revert. fw_*: level cluster|node|vm (+node/vmid).",
            Class::Destructive,
            Hints {
                read_only: false,
                destructive: true,
                idempotent: false,
                open_world: false,
            },
            &[
                "GET /cluster/status",
                "GET /cluster/resources",
                "GET /nodes/{node}/network",
                "POST /nodes/{node}/network",
                "PUT /nodes/{node}/network",
                "DELETE /nodes/{node}/network",
                "GET /nodes/{node}/network/{iface}",
                "PUT /nodes/{node}/network/{iface}",
                "DELETE /nodes/{node}/network/{iface}",
                "GET /cluster/firewall/options",
                "PUT /cluster/firewall/options",
                "GET /cluster/firewall/rules",
                "POST /cluster/firewall/rules",
                "PUT /cluster/firewall/rules/{pos}",
                "DELETE /cluster/firewall/rules/{pos}",
                "GET /cluster/firewall/aliases",
                "GET /cluster/firewall/ipset",
                "GET /nodes/{node}/firewall/options",
                "PUT /nodes/{node}/firewall/options",
                "GET /nodes/{node}/firewall/rules",
                "POST /nodes/{node}/firewall/rules",
                "PUT /nodes/{node}/firewall/rules/{pos}",
                "DELETE /nodes/{node}/firewall/rules/{pos}",
                "GET /nodes/{node}/qemu/{vmid}/firewall/options",
                "PUT /nodes/{node}/qemu/{vmid}/firewall/options",
                "GET /nodes/{node}/qemu/{vmid}/firewall/rules",
                "POST /nodes/{node}/qemu/{vmid}/firewall/rules",
                "PUT /nodes/{node}/qemu/{vmid}/firewall/rules/{pos}",
                "DELETE /nodes/{node}/qemu/{vmid}/firewall/rules/{pos}",
                "GET /nodes/{node}/qemu/{vmid}/firewall/aliases",
                "GET /nodes/{node}/qemu/{vmid}/firewall/ipset",
                "GET /nodes/{node}/lxc/{vmid}/firewall/options",
                "PUT /nodes/{node}/lxc/{vmid}/firewall/options",
                "GET /nodes/{node}/lxc/{vmid}/firewall/rules",
                "POST /nodes/{node}/lxc/{vmid}/firewall/rules",
                "PUT /nodes/{node}/lxc/{vmid}/firewall/rules/{pos}",
                "DELETE /nodes/{node}/lxc/{vmid}/firewall/rules/{pos}",
                "GET /nodes/{node}/lxc/{vmid}/firewall/aliases",
                "GET /nodes/{node}/lxc/{vmid}/firewall/ipset",
                "GET /cluster/sdn/zones",
                "GET /cluster/sdn/vnets",
            ],
            network_config,
        )
        .assessed_async_by(assess)
        .read_actions(&[
            "list",
            "get",
            "fw_options",
            "fw_rules",
            "fw_aliases",
            "fw_ipsets",
            "sdn_zones",
            "sdn_vnets",
        ]),
    ]
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    List,
    Get,
    Create,
    Update,
    Delete,
    Apply,
    Revert,
    FwOptions,
    FwRules,
    FwAddRule,
    FwUpdateRule,
    FwDeleteRule,
    FwAliases,
    FwIpsets,
    SdnZones,
    SdnVnets,
}

impl Action {
    fn name(self) -> String {
        serde_json::to_value(self)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default()
    }
}

/// Where a firewall action applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Level {
    Cluster,
    Node,
    Vm,
}

/// By hand, so a wrong level is named as such (serde's enum error does not name the field).
impl<'de> Deserialize<'de> for Level {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        match Value::deserialize(d)? {
            Value::String(s) if s == "cluster" => Ok(Level::Cluster),
            Value::String(s) if s == "node" => Ok(Level::Node),
            Value::String(s) if s == "vm" => Ok(Level::Vm),
            other => Err(serde::de::Error::custom(format!(
                "level must be cluster, node or vm (got {})",
                clip(&other.to_string(), 40)
            ))),
        }
    }
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NetParams {
    pub action: Action,
    pub node: Option<NodeName>,
    pub iface: Option<String>,
    /// bridge|bond|vlan|in|out|group
    #[serde(rename = "type")]
    pub kind: Option<String>,
    pub cidr: Option<String>,
    pub gateway: Option<String>,
    pub autostart: Option<bool>,
    /// Bridge ports/bond slaves/VLAN raw device
    pub ports: Option<String>,
    pub vlan_aware: Option<bool>,
    pub bond_mode: Option<String>,
    pub vlan_id: Option<i64>,
    pub level: Option<Level>,
    pub vmid: Option<Vmid>,
    /// To set (null clears)
    pub options: Option<Map<String, Value>>,
    /// ACCEPT|DROP|REJECT|group
    pub rule_action: Option<String>,
    pub source: Option<String>,
    pub dest: Option<String>,
    pub proto: Option<String>,
    pub dport: Option<String>,
    pub sport: Option<String>,
    #[serde(rename = "macro")]
    pub macro_name: Option<String>,
    pub enable: Option<bool>,
    pub comment: Option<String>,
    pub pos: Option<i64>,
    pub wait: Option<i64>,
}

/// How the handler presents the outcome of the planned request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum Shape {
    /// A GET whose data is returned as is.
    Read,
    /// `GET /nodes/{node}/network`: interfaces plus the pending diff.
    List,
    /// `GET /nodes/{node}/network/{iface}`: the interface, marked when it has pending changes.
    Iface,
    /// An interface change: staged until `apply`.
    Staged,
    /// `PUT /nodes/{node}/network`: the reload task.
    Task,
    /// A change that takes effect at once (firewall, revert).
    Change,
}

/// The one PVE request a call makes, decided during assessment.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Plan {
    method: Method,
    path: String,
    params: Params,
    shape: Shape,
    /// What it acts on, as the result names it: `vmbr1 on pve1`, `cluster firewall`.
    what: String,
    /// The sentence a human approves.
    summary: String,
    /// Seconds to wait for a task.
    wait: u64,
}

impl Plan {
    fn new(method: Method, path: String, shape: Shape, what: String, summary: String) -> Self {
        Plan {
            method,
            path,
            params: Params::new(),
            shape,
            what,
            summary,
            wait: 0,
        }
    }

    fn with(mut self, params: Params) -> Self {
        self.params = params;
        self
    }
}

fn method_str(m: Method) -> &'static str {
    match m {
        Method::Get => "GET",
        Method::Post => "POST",
        Method::Put => "PUT",
        Method::Delete => "DELETE",
    }
}

/// Builds the request for a call, validating every argument on the way.
pub async fn plan(pve: &Pve, p: &NetParams) -> Result<Plan, ToolError> {
    use Action::*;
    let used = |names: &[(&str, bool)]| -> Result<(), ToolError> {
        match names.iter().find(|(_, given)| *given) {
            Some((n, _)) => Err(ToolError::invalid(format!(
                "{n} does not apply to action {}",
                p.action.name()
            ))),
            None => Ok(()),
        }
    };
    if !matches!(
        p.action,
        FwOptions | FwRules | FwAddRule | FwUpdateRule | FwDeleteRule | FwAliases | FwIpsets
    ) {
        used(&[
            ("level", p.level.is_some()),
            ("vmid", p.vmid.is_some()),
            ("options", p.options.is_some()),
            ("rule_action", p.rule_action.is_some()),
            ("pos", p.pos.is_some()),
        ])?;
    }
    if p.action != Apply {
        used(&[("wait", p.wait.is_some())])?;
    }
    match p.action {
        List | Get | Create | Update | Delete | Apply | Revert => iface::iface_plan(pve, p).await,
        SdnZones | SdnVnets => {
            used(&[("node", p.node.is_some()), ("iface", p.iface.is_some())])?;
            let what = if p.action == SdnZones {
                "zones"
            } else {
                "vnets"
            };
            Ok(Plan::new(
                Method::Get,
                format!("/cluster/sdn/{what}"),
                Shape::Read,
                format!("SDN {what}"),
                format!("list SDN {what}"),
            ))
        }
        _ => firewall::plan(pve, p).await,
    }
}

fn need_node(p: &NetParams) -> Result<&NodeName, ToolError> {
    p.node.as_ref().ok_or_else(|| {
        ToolError::invalid(format!(
            "node is required for action {} (node_status lists the nodes)",
            p.action.name()
        ))
    })
}

async fn assess(ctx: AssessCtx, p: NetParams) -> Result<Assessment, ToolError> {
    let mut plan = plan(&ctx.pve, &p).await?;
    let method = method_str(plan.method);
    let mut a = if plan.method == Method::Get {
        Assessment::new(Request::new(Class::Read), plan.summary.clone())
            .target(format!("GET {}", plan.path))
    } else {
        // `apply` is raised to Destructive there when the pending changes touch a node's
        // management interface, as the same request through `proxmox_api` is.
        let a =
            api_assessment(&ctx, method, &plan.path, &plan.params, plan.summary.clone()).await?;
        plan.summary = a.summary.clone();
        a
    };
    // The request itself is Destructive (the API rules classify firewall lockdowns, so the
    // same request gets the same verdict through `proxmox_api`); the human is told why.
    if let Some(why) = firewall::lockout_risk(&p) {
        plan.summary = format!("{} — {why}", plan.summary);
        a.summary = plan.summary.clone();
    }
    a.set_plan(plan)?;
    Ok(a)
}

async fn network_config(ctx: ToolCtx, p: NetParams) -> Result<ActionResult, ToolError> {
    let plan: &Plan = ctx.plan()?;
    let action = p.action.name();
    let pve = &ctx.pve;
    match plan.shape {
        Shape::Read => {
            let data = pve.call(Method::Get, &plan.path, &plan.params).await?;
            let n = data.as_array().map(Vec::len);
            let message = match n {
                Some(n) => format!("{action} {}: {n} entries", plan.what.clone()),
                None => format!("{action} {}", plan.what.clone()),
            };
            Ok(ActionResult::done(
                &action,
                plan.what.clone(),
                data,
                message,
            ))
        }
        Shape::List => {
            let node = need_node(&p)?.as_str().to_string();
            let (list, changes) = iface::list_with_changes(pve, &node, &plan.params).await?;
            let message = match &changes {
                Some(_) => format!(
                    "{} interfaces on {node}; there are PENDING changes (shown as they will be \
                     after apply; action=apply activates them, revert drops them)",
                    list.len()
                ),
                None => format!("{} interfaces on {node}; no pending changes", list.len()),
            };
            let data = json!({"interfaces": list, "pending_changes": changes});
            Ok(ActionResult::done(
                &action,
                plan.what.clone(),
                data,
                message,
            ))
        }
        Shape::Iface => {
            let node = need_node(&p)?.as_str().to_string();
            let mut data = pve.call(Method::Get, &plan.path, &plan.params).await?;
            let iface = p.iface.clone().unwrap_or_default();
            let (_, changes) = iface::list_with_changes(pve, &node, &Params::new()).await?;
            let pending = changes.as_deref().is_some_and(|c| {
                c.split(|ch: char| ch.is_whitespace() || ch == '/')
                    .any(|w| w == iface)
            });
            if let Some(o) = data.as_object_mut() {
                o.insert("pending".into(), json!(pending));
            }
            let message = if pending {
                format!("{iface} on {node} (has PENDING changes; apply activates them)")
            } else {
                format!("{iface} on {node}")
            };
            Ok(ActionResult::done(
                &action,
                plan.what.clone(),
                data,
                message,
            ))
        }
        Shape::Staged => {
            pve.call(plan.method, &plan.path, &plan.params).await?;
            let message = format!(
                "{action} {}: staged as a pending change; network_config action=apply activates \
                 it, action=revert drops all pending changes",
                plan.what
            );
            Ok(ActionResult::done(
                &action,
                plan.what.clone(),
                json!(plan.params),
                message,
            ))
        }
        Shape::Task => {
            let data = pve.call(plan.method, &plan.path, &plan.params).await?;
            let upid = upid_of(&data)?;
            let task = follow(&ctx, &upid, plan.wait).await?;
            ActionResult::task(&action, plan.what.clone(), task).into_result()
        }
        Shape::Change => {
            pve.call(plan.method, &plan.path, &plan.params).await?;
            let message = format!("{action} {}: done", plan.what.clone());
            Ok(ActionResult::done(
                &action,
                plan.what.clone(),
                json!(plan.params),
                message,
            ))
        }
    }
}
