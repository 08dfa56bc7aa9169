//! The firewall half of `network_config`: options, rules, aliases and IP sets at cluster, node
//! and guest level, each turned into one request under the level's `…/firewall` path.

use serde_json::{Value, json};

use super::super::ToolError;
use super::super::render::clip;
use super::{Action, Level, NetParams, Plan, Shape, validate};
use crate::policy::api::firewall_lockdown;
use crate::pve::{Method, Params, Pve};

/// The `…/firewall` base path of a level, resolving a guest's node and kind from its vmid.
async fn base(pve: &Pve, p: &NetParams) -> Result<(String, String), ToolError> {
    let level = p.level.ok_or_else(|| {
        ToolError::invalid(format!(
            "level is required for action {}: cluster, node (with node) or vm (with vmid)",
            p.action.name()
        ))
    })?;
    match level {
        Level::Cluster => {
            refuse_given(p, &[("node", p.node.is_some()), ("vmid", p.vmid.is_some())])?;
            Ok(("/cluster/firewall".into(), "cluster firewall".into()))
        }
        Level::Node => {
            refuse_given(p, &[("vmid", p.vmid.is_some())])?;
            let node = super::need_node(p)?;
            Ok((
                format!("/nodes/{node}/firewall"),
                format!("node {node} firewall"),
            ))
        }
        Level::Vm => {
            let vmid = p
                .vmid
                .ok_or_else(|| ToolError::invalid("level vm needs vmid"))?;
            let guest = pve.locate_guest(vmid.0).await?;
            let kind = guest
                .guest_kind()
                .ok_or_else(|| ToolError::NotFound(format!("{vmid} is not a VM or container")))?;
            let node = guest
                .node
                .ok_or_else(|| ToolError::NotFound(format!("guest {vmid} has no node")))?;
            if let Some(given) = &p.node
                && given.as_str() != node
            {
                return Err(ToolError::invalid(format!(
                    "guest {vmid} is on node {node}, not {given}"
                )));
            }
            Ok((
                format!("/nodes/{node}/{}/{vmid}/firewall", kind.path_segment()),
                format!("{kind} {vmid} firewall"),
            ))
        }
    }
}

fn refuse_given(p: &NetParams, names: &[(&str, bool)]) -> Result<(), ToolError> {
    match names.iter().find(|(_, g)| *g) {
        Some((n, _)) => Err(ToolError::invalid(format!(
            "{n} does not apply to level {:?} of action {}",
            p.level,
            p.action.name()
        ))),
        None => Ok(()),
    }
}

/// Rule fields of a call, validated, as PVE parameters.
fn rule_fields(p: &NetParams) -> Result<Params, ToolError> {
    let mut out = Params::new();
    if let Some(t) = &p.kind {
        if !matches!(t.as_str(), "in" | "out" | "group") {
            return Err(ToolError::invalid(format!(
                "rule type {:?} must be in, out or group",
                clip(t, 40)
            )));
        }
        out.insert("type".into(), json!(t));
    }
    if let Some(a) = &p.rule_action {
        let group = p.kind.as_deref() == Some("group");
        let ok = if group {
            validate::word("rule_action (security group)", a, 18).is_ok()
        } else {
            matches!(a.as_str(), "ACCEPT" | "DROP" | "REJECT")
        };
        if !ok {
            return Err(ToolError::invalid(format!(
                "rule_action {:?} must be ACCEPT, DROP or REJECT (or a security group name with \
                 type=group)",
                clip(a, 40)
            )));
        }
        out.insert("action".into(), json!(a));
    }
    for (name, value) in [("source", &p.source), ("dest", &p.dest)] {
        if let Some(v) = value {
            validate::addr_spec(name, v)?;
            out.insert(name.into(), json!(v));
        }
    }
    for (name, value) in [("dport", &p.dport), ("sport", &p.sport)] {
        if let Some(v) = value {
            validate::ports(name, v)?;
            out.insert(name.into(), json!(v));
        }
    }
    if let Some(v) = &p.proto {
        validate::word("proto", v, 32)?;
        out.insert("proto".into(), json!(v));
    }
    if let Some(v) = &p.macro_name {
        validate::word("macro", v, 128)?;
        out.insert("macro".into(), json!(v));
    }
    if let Some(v) = &p.iface {
        out.insert("iface".into(), json!(validate::iface(v)?));
    }
    if let Some(b) = p.enable {
        out.insert("enable".into(), json!(u8::from(b)));
    }
    if let Some(c) = &p.comment {
        validate::comment(c)?;
        out.insert("comment".into(), json!(c));
    }
    if (p.dport.is_some() || p.sport.is_some()) && p.proto.is_none() && p.macro_name.is_none() {
        return Err(ToolError::invalid(
            "dport/sport need proto (e.g. tcp) or a macro",
        ));
    }
    Ok(out)
}

fn need_pos(p: &NetParams) -> Result<u32, ToolError> {
    let pos = p.pos.ok_or_else(|| {
        ToolError::invalid(format!(
            "pos is required for action {} (fw_rules shows each rule's pos)",
            p.action.name()
        ))
    })?;
    checked_pos(pos)
}

fn checked_pos(pos: i64) -> Result<u32, ToolError> {
    u32::try_from(pos)
        .ok()
        .filter(|p| *p < 100_000)
        .ok_or_else(|| ToolError::invalid(format!("pos {pos} must be 0 or more")))
}

/// No interface fields on a firewall action (they would be silently ignored otherwise).
fn no_iface_fields(p: &NetParams) -> Result<(), ToolError> {
    let given = [
        ("cidr", p.cidr.is_some()),
        ("gateway", p.gateway.is_some()),
        ("autostart", p.autostart.is_some()),
        ("ports", p.ports.is_some()),
        ("vlan_aware", p.vlan_aware.is_some()),
        ("bond_mode", p.bond_mode.is_some()),
        ("vlan_id", p.vlan_id.is_some()),
    ];
    refuse_given(p, &given)
}

/// No rule fields on an action that takes none.
fn no_rule_fields(p: &NetParams) -> Result<(), ToolError> {
    let given = [
        ("type", p.kind.is_some()),
        ("rule_action", p.rule_action.is_some()),
        ("source", p.source.is_some()),
        ("dest", p.dest.is_some()),
        ("proto", p.proto.is_some()),
        ("dport", p.dport.is_some()),
        ("sport", p.sport.is_some()),
        ("macro", p.macro_name.is_some()),
        ("iface", p.iface.is_some()),
        ("enable", p.enable.is_some()),
        ("comment", p.comment.is_some()),
    ];
    refuse_given(p, &given)
}

pub(super) async fn plan(pve: &Pve, p: &NetParams) -> Result<Plan, ToolError> {
    no_iface_fields(p)?;
    if p.action != Action::FwOptions && p.options.is_some() {
        return Err(ToolError::invalid(format!(
            "options does not apply to action {}",
            p.action.name()
        )));
    }
    if !matches!(
        p.action,
        Action::FwAddRule | Action::FwUpdateRule | Action::FwDeleteRule
    ) && p.pos.is_some()
    {
        return Err(ToolError::invalid(format!(
            "pos does not apply to action {}",
            p.action.name()
        )));
    }
    if !matches!(p.action, Action::FwAddRule | Action::FwUpdateRule) {
        no_rule_fields(p)?;
    }
    let (base, what) = base(pve, p).await?;
    match p.action {
        Action::FwOptions => match &p.options {
            None => Ok(Plan::new(
                Method::Get,
                format!("{base}/options"),
                Shape::Read,
                what.clone(),
                format!("show {what} options"),
            )),
            Some(opts) => {
                let params = option_params(opts)?;
                let shown = clip(&Value::Object(params.clone()).to_string(), 300);
                Ok(Plan::new(
                    Method::Put,
                    format!("{base}/options"),
                    Shape::Change,
                    what.clone(),
                    format!("set {what} options {shown}"),
                )
                .with(params))
            }
        },
        Action::FwRules => Ok(Plan::new(
            Method::Get,
            format!("{base}/rules"),
            Shape::Read,
            what.clone(),
            format!("list {what} rules"),
        )),
        Action::FwAliases | Action::FwIpsets => {
            if p.level == Some(Level::Node) {
                return Err(ToolError::invalid(
                    "aliases and IP sets exist at level cluster or vm, not node",
                ));
            }
            let (seg, noun) = if p.action == Action::FwAliases {
                ("aliases", "aliases")
            } else {
                ("ipset", "IP sets")
            };
            Ok(Plan::new(
                Method::Get,
                format!("{base}/{seg}"),
                Shape::Read,
                what.clone(),
                format!("list {what} {noun}"),
            ))
        }
        Action::FwAddRule => {
            let mut params = rule_fields(p)?;
            if !params.contains_key("type") || !params.contains_key("action") {
                return Err(ToolError::invalid(
                    "fw_add_rule needs type (in, out or group) and rule_action (ACCEPT, DROP, \
                     REJECT or a group name)",
                ));
            }
            if let Some(pos) = p.pos {
                params.insert("pos".into(), json!(checked_pos(pos)?));
            }
            let shown = clip(&Value::Object(params.clone()).to_string(), 300);
            Ok(Plan::new(
                Method::Post,
                format!("{base}/rules"),
                Shape::Change,
                what.clone(),
                format!("add a rule to {what}: {shown}"),
            )
            .with(params))
        }
        Action::FwUpdateRule => {
            let pos = need_pos(p)?;
            let params = rule_fields(p)?;
            if params.is_empty() {
                return Err(ToolError::invalid(
                    "fw_update_rule changes nothing: give rule fields to set",
                ));
            }
            let shown = clip(&Value::Object(params.clone()).to_string(), 300);
            Ok(Plan::new(
                Method::Put,
                format!("{base}/rules/{pos}"),
                Shape::Change,
                format!("{what} rule {pos}"),
                format!("update rule {pos} of {what}: {shown}"),
            )
            .with(params))
        }
        Action::FwDeleteRule => {
            let pos = need_pos(p)?;
            Ok(Plan::new(
                Method::Delete,
                format!("{base}/rules/{pos}"),
                Shape::Change,
                format!("{what} rule {pos}"),
                format!("delete rule {pos} of {what}"),
            ))
        }
        _ => Err(ToolError::invalid("not a firewall action")),
    }
}

/// `options` as PVE parameters: scalars set, `null` clears (collected into `delete`).
fn option_params(opts: &serde_json::Map<String, Value>) -> Result<Params, ToolError> {
    if opts.is_empty() {
        return Err(ToolError::invalid(
            "options is empty; omit it to read the options",
        ));
    }
    let mut out = Params::new();
    let mut delete = Vec::new();
    for (k, v) in opts {
        let ok_key = !k.is_empty()
            && k.len() <= 64
            && k.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
        if !ok_key || matches!(k.as_str(), "delete" | "digest" | "node" | "vmid") {
            return Err(ToolError::invalid(format!(
                "options: {:?} is not a firewall option name (e.g. enable, policy_in)",
                clip(k, 40)
            )));
        }
        match v {
            Value::Null => delete.push(k.clone()),
            Value::Bool(b) => {
                out.insert(k.clone(), json!(u8::from(*b)));
            }
            Value::Number(_) => {
                out.insert(k.clone(), v.clone());
            }
            Value::String(s) if s.len() <= 256 && !s.chars().any(char::is_control) => {
                out.insert(k.clone(), v.clone());
            }
            _ => {
                return Err(ToolError::invalid(format!(
                    "options.{k} must be a number, boolean, short string or null"
                )));
            }
        }
    }
    if !delete.is_empty() {
        out.insert("delete".into(), json!(delete.join(",")));
    }
    Ok(out)
}

/// Why a cluster- or node-level firewall change is dangerous, if it is: the very changes the
/// API rules classify as Destructive ([`firewall_lockdown`]). Turning the firewall off leaves
/// the nodes unprotected; turning it on or a blocking policy can lock the server out.
pub(super) fn lockout_risk(p: &NetParams) -> Option<String> {
    if p.action != Action::FwOptions || !matches!(p.level, Some(Level::Cluster | Level::Node)) {
        return None;
    }
    let opts = p.options.as_ref()?;
    let params = option_params(opts).ok()?;
    if !firewall_lockdown(&params) {
        return None;
    }
    let truthy = |v: &Value| match v {
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_u64() == Some(1),
        Value::String(s) => matches!(
            s.trim().to_ascii_lowercase().as_str(),
            "1" | "true" | "yes" | "on"
        ),
        _ => false,
    };
    let off = opts.get("enable").is_some_and(|v| !truthy(v));
    Some(if off {
        "DANGER: this turns the firewall off (or back to its default), leaving the nodes \
         unprotected"
            .to_string()
    } else {
        "DANGER: this can block access to the nodes (API port 8006, SSH) unless rules allow it"
            .to_string()
    })
}
