//! The interface half of `network_config`: staged creates, updates and deletes, apply and
//! revert, and how risky an apply is for the node's management address.

use serde_json::{Map, Value, json};

use super::super::ToolError;
use super::super::action::wait_secs;
use super::super::render::clip;
use super::{Action, NetParams, Plan, Shape, need_node, validate};
use crate::pve::{Method, Params, Pve};

/// Seconds `apply` waits for the reload task by default.
const APPLY_WAIT: u64 = 60;

const BOND_MODES: &[&str] = &[
    "balance-rr",
    "active-backup",
    "balance-xor",
    "broadcast",
    "802.3ad",
    "balance-tlb",
    "balance-alb",
];

fn need_iface(p: &NetParams) -> Result<&str, ToolError> {
    let name = p.iface.as_deref().ok_or_else(|| {
        ToolError::invalid(format!("iface is required for action {}", p.action.name()))
    })?;
    validate::iface(name)
}

/// Interface fields a call sets, as PVE parameters, checked against the interface type.
fn iface_fields(p: &NetParams, kind: &str) -> Result<Params, ToolError> {
    let mut out = Params::new();
    let only = |field: &str, given: bool, want: &str| -> Result<(), ToolError> {
        if given && kind != want {
            Err(ToolError::invalid(format!(
                "{field} applies to type {want}, not {kind}"
            )))
        } else {
            Ok(())
        }
    };
    only("vlan_aware", p.vlan_aware.is_some(), "bridge")?;
    only("bond_mode", p.bond_mode.is_some(), "bond")?;
    only("vlan_id", p.vlan_id.is_some(), "vlan")?;
    if let Some(c) = &p.cidr {
        let key = if validate::cidr(c)?.is_ipv4() {
            "cidr"
        } else {
            "cidr6"
        };
        out.insert(key.into(), json!(c));
    }
    if let Some(g) = &p.gateway {
        let key = if validate::ip("gateway", g)?.is_ipv4() {
            "gateway"
        } else {
            "gateway6"
        };
        out.insert(key.into(), json!(g));
    }
    if let Some(b) = p.autostart {
        out.insert("autostart".into(), json!(b));
    }
    if let Some(ports) = &p.ports {
        let (key, value) = match kind {
            "bridge" => ("bridge_ports", validate::iface_list("ports", ports)?),
            "bond" => ("slaves", validate::iface_list("ports", ports)?),
            "vlan" => ("vlan-raw-device", validate::iface(ports)?.to_string()),
            other => {
                return Err(ToolError::invalid(format!(
                    "ports applies to bridge, bond or vlan, not {other}"
                )));
            }
        };
        out.insert(key.into(), json!(value));
    }
    if let Some(b) = p.vlan_aware {
        out.insert("bridge_vlan_aware".into(), json!(b));
    }
    if let Some(m) = &p.bond_mode {
        if !BOND_MODES.contains(&m.as_str()) {
            return Err(ToolError::invalid(format!(
                "bond_mode {:?} is not one of {}",
                clip(m, 40),
                BOND_MODES.join(", ")
            )));
        }
        out.insert("bond_mode".into(), json!(m));
    }
    if let Some(id) = p.vlan_id {
        out.insert("vlan-id".into(), json!(validate::vlan_id(id)?));
    }
    if let Some(c) = &p.comment {
        validate::comment(c)?;
        out.insert("comments".into(), json!(c));
    }
    Ok(out)
}

pub(super) async fn iface_plan(pve: &Pve, p: &NetParams) -> Result<Plan, ToolError> {
    let node = need_node(p)?.as_str().to_string();
    let base = format!("/nodes/{node}/network");
    let setters = [
        ("cidr", p.cidr.is_some()),
        ("gateway", p.gateway.is_some()),
        ("autostart", p.autostart.is_some()),
        ("ports", p.ports.is_some()),
        ("vlan_aware", p.vlan_aware.is_some()),
        ("bond_mode", p.bond_mode.is_some()),
        ("vlan_id", p.vlan_id.is_some()),
        ("comment", p.comment.is_some()),
    ];
    let no_setters = || match setters.iter().find(|(_, g)| *g) {
        Some((n, _)) => Err(ToolError::invalid(format!(
            "{n} does not apply to action {}",
            p.action.name()
        ))),
        None => Ok(()),
    };
    if !matches!(p.action, Action::Create | Action::Update) {
        no_setters()?;
    }
    if matches!(p.action, Action::List | Action::Apply | Action::Revert) && p.iface.is_some() {
        return Err(ToolError::invalid(format!(
            "iface does not apply to action {}: it acts on the whole node",
            p.action.name()
        )));
    }
    match p.action {
        Action::List => {
            let mut params = Params::new();
            if let Some(t) = &p.kind {
                validate::word("type", t, 32)?;
                params.insert("type".into(), json!(t));
            }
            Ok(Plan::new(
                Method::Get,
                base,
                Shape::List,
                format!("node {node}"),
                format!("list network interfaces of {node}"),
            )
            .with(params))
        }
        Action::Get => {
            let iface = need_iface(p)?;
            Ok(Plan::new(
                Method::Get,
                format!("{base}/{iface}"),
                Shape::Iface,
                format!("{iface} on {node}"),
                format!("show interface {iface} of {node}"),
            ))
        }
        Action::Create => {
            let iface = need_iface(p)?;
            let kind = p.kind.as_deref().ok_or_else(|| {
                ToolError::invalid("type is required for create: bridge, bond or vlan")
            })?;
            if !matches!(kind, "bridge" | "bond" | "vlan") {
                return Err(ToolError::invalid(format!(
                    "type {:?} cannot be created here: use bridge, bond or vlan",
                    clip(kind, 40)
                )));
            }
            let mut params = iface_fields(p, kind)?;
            if kind == "vlan" && !iface.contains('.') && (p.ports.is_none() || p.vlan_id.is_none())
            {
                return Err(ToolError::invalid(format!(
                    "a VLAN named {iface} needs ports (the raw device) and vlan_id, or a name \
                     like vmbr0.20"
                )));
            }
            params.insert("iface".into(), json!(iface));
            params.insert("type".into(), json!(kind));
            let shown = Value::Object(params.clone()).to_string();
            Ok(Plan::new(
                Method::Post,
                base,
                Shape::Staged,
                format!("{iface} on {node}"),
                format!("create {kind} {iface} on {node} (pending until apply): {shown}"),
            )
            .with(params))
        }
        Action::Update => {
            let iface = need_iface(p)?;
            // PVE wants the type on every update: take the interface's own when not given.
            let kind = match &p.kind {
                Some(k) => {
                    validate::word("type", k, 32)?;
                    k.clone()
                }
                None => {
                    let cur: Value = pve
                        .call(Method::Get, &format!("{base}/{iface}"), &Params::new())
                        .await?;
                    cur.get("type")
                        .and_then(Value::as_str)
                        .map(str::to_owned)
                        .ok_or_else(|| {
                            ToolError::NotFound(format!(
                                "interface {iface} on {node} has no type; pass type"
                            ))
                        })?
                }
            };
            let mut params = iface_fields(p, &kind)?;
            if params.is_empty() {
                return Err(ToolError::invalid(
                    "update changes nothing: give fields to set (cidr, gateway, ports, comment, …)",
                ));
            }
            params.insert("type".into(), json!(kind));
            let shown = Value::Object(params.clone()).to_string();
            Ok(Plan::new(
                Method::Put,
                format!("{base}/{iface}"),
                Shape::Staged,
                format!("{iface} on {node}"),
                format!("update {iface} on {node} (pending until apply): {shown}"),
            )
            .with(params))
        }
        Action::Delete => {
            let iface = need_iface(p)?;
            Ok(Plan::new(
                Method::Delete,
                format!("{base}/{iface}"),
                Shape::Staged,
                format!("{iface} on {node}"),
                format!("delete interface {iface} on {node} (pending until apply)"),
            ))
        }
        Action::Apply => {
            let mut plan = Plan::new(
                Method::Put,
                base,
                Shape::Task,
                format!("node {node}"),
                format!(
                    "apply the pending network changes on {node} (ifreload): a wrong \
                     configuration can make the node unreachable"
                ),
            );
            let wait = p
                .wait
                .map(|w| u64::try_from(w).map_err(|_| ToolError::invalid("wait must be >= 0")))
                .transpose()?;
            plan.wait = wait_secs(wait, APPLY_WAIT)?;
            Ok(plan)
        }
        Action::Revert => Ok(Plan::new(
            Method::Delete,
            base,
            Shape::Change,
            format!("node {node}"),
            format!("revert (discard) the pending network changes on {node}"),
        )),
        _ => Err(ToolError::invalid("not an interface action")),
    }
}

/// Why applying the pending changes on `node` could cut us off, if it could: they touch the
/// interface holding the node's management IP (or what it is built on), or we cannot tell.
pub(crate) async fn apply_risk(pve: &Pve, node: &str) -> Option<String> {
    let (ip, others) = match pve.cluster_status().await {
        Ok(items) => {
            let mut own = None;
            let mut others = Vec::new();
            for i in items.into_iter().filter(|i| i.kind == "node") {
                match (i.name == node, i.ip) {
                    (true, ip) => own = ip,
                    (false, Some(ip)) => others.push((i.name, ip)),
                    (false, None) => {}
                }
            }
            (own, others)
        }
        Err(e) => return Some(format!("the node's management IP is unknown ({e})")),
    };
    let Some(ip) = ip else {
        return Some("the node's management IP is unknown".into());
    };
    let (ifaces, changes) = match list_with_changes(pve, node, &Params::new()).await {
        Ok(x) => x,
        Err(e) => return Some(format!("the pending changes could not be read ({e})")),
    };
    let changes = changes.filter(|c| !c.trim().is_empty())?;
    let ifaces: Vec<&Map<String, Value>> = ifaces.iter().filter_map(Value::as_object).collect();
    let field = |o: &Map<String, Value>, k: &str| {
        o.get(k)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string()
    };
    let holder = ifaces.iter().find(|o| {
        field(o, "address") == ip || field(o, "cidr").split('/').next() == Some(ip.as_str())
    });
    let Some(holder) = holder else {
        return Some(format!(
            "no interface keeps the management IP {ip} in the pending configuration"
        ));
    };
    // The management interface and everything under it: bridge ports, bond slaves, VLAN parents.
    let mut chain = vec![field(holder, "iface")];
    let mut i = 0;
    while i < chain.len() && chain.len() < 32 {
        let name = chain[i].clone();
        if let Some(o) = ifaces.iter().find(|o| field(o, "iface") == name) {
            let mut under: Vec<String> = ["bridge_ports", "slaves", "vlan-raw-device"]
                .iter()
                .flat_map(|k| {
                    field(o, k)
                        .split([' ', ',', ';'])
                        .map(str::to_owned)
                        .collect::<Vec<_>>()
                })
                .collect();
            if let Some((raw, _)) = name.rsplit_once('.') {
                under.push(raw.to_string());
            }
            for u in under {
                if !u.is_empty() && !chain.contains(&u) {
                    chain.push(u);
                }
            }
        }
        i += 1;
    }
    let words: Vec<&str> = changes
        .split(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | ':')))
        .collect();
    let touched: Vec<&String> = chain
        .iter()
        .filter(|n| words.contains(&n.as_str()))
        .collect();
    if let Some((other, addr)) = others.iter().find(|(_, a)| words.contains(&a.as_str())) {
        return Some(format!(
            "the pending changes use {addr}, the cluster address of node {other}: both nodes \
             would claim it"
        ));
    }
    let existing = changed_existing(&changes);
    if !existing.is_empty() && touched.is_empty() && !words.contains(&ip.as_str()) {
        return Some(format!(
            "the pending changes modify or remove {}, which the node or its guests may be using \
             now",
            existing.join(", ")
        ));
    }
    if !touched.is_empty() || words.contains(&ip.as_str()) {
        let names: Vec<&str> = touched.iter().map(|s| s.as_str()).collect();
        return Some(format!(
            "the pending changes touch {} which carries the management IP {ip}",
            if names.is_empty() {
                chain[0].clone()
            } else {
                names.join(", ")
            }
        ));
    }
    None
}

/// The interfaces a pending diff (`diff -u` of `/etc/network/interfaces`) modifies or removes:
/// stanzas that exist now (their `iface`/`auto` line is context or removed) with a changed
/// line. Interfaces only added are not listed.
pub(crate) fn changed_existing(diff: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    // The stanza the current line belongs to, and whether it exists in the running config.
    let mut stanza: Option<(String, bool)> = None;
    for line in diff.lines() {
        if line.starts_with("---") || line.starts_with("+++") {
            continue;
        }
        if line.starts_with("@@") {
            // A hunk may start inside a stanza whose header it does not show.
            stanza = None;
            continue;
        }
        let (mark, text) = match line.chars().next() {
            Some(c @ ('+' | '-' | ' ')) => (c, &line[1..]),
            _ => (' ', line),
        };
        let mut words = text.split_whitespace();
        let head = words.next();
        if matches!(head, Some("iface" | "auto" | "allow-hotplug" | "source"))
            && let Some(name) = words.next()
        {
            stanza = Some((name.to_string(), mark != '+'));
        }
        let changed = mark != ' ' && !text.trim().is_empty() && !text.trim().starts_with('#');
        let name = match &stanza {
            Some((name, true)) => name.clone(),
            Some((_, false)) => continue,
            None => "an interface whose header the diff does not show".to_string(),
        };
        if changed && !out.contains(&name) {
            out.push(name);
        }
    }
    out
}

/// `GET /nodes/{node}/network`: the interfaces and the pending diff (`changes`) beside `data`.
pub(super) async fn list_with_changes(
    pve: &Pve,
    node: &str,
    params: &Params,
) -> Result<(Vec<Value>, Option<String>), ToolError> {
    let body = pve
        .api()
        .call_raw(Method::Get, &format!("/nodes/{node}/network"), params)
        .await?;
    let v: Value = serde_json::from_slice(&body)
        .map_err(|e| ToolError::Config(format!("cannot decode the interface list: {e}")))?;
    let list = v
        .get("data")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let changes = v
        .get("changes")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .map(str::to_owned);
    Ok((list, changes))
}

#[cfg(test)]
mod tests {
    use super::changed_existing;

    #[test]
    fn a_diff_names_the_existing_interfaces_it_changes() {
        let diff = "--- /etc/network/interfaces\n+++ /etc/network/interfaces.new\n@@ -10,6 +10,12 @@\n auto vmbr1\n iface vmbr1 inet manual\n-\tbridge-ports eno1\n+\tbridge-ports eno9\n \tbridge-stp off\n+\n+auto vmbr5\n+iface vmbr5 inet static\n+\taddress 10.0.5.1/24\n";
        assert_eq!(changed_existing(diff), vec!["vmbr1".to_string()]);
        let added = "@@ -20,3 +20,7 @@\n iface eno2 inet manual\n \n+auto vmbr5\n+iface vmbr5 inet static\n+\taddress 10.0.5.1/24\n";
        assert!(changed_existing(added).is_empty());
        let removed =
            "@@ -1,4 +1,1 @@\n-auto vmbr2\n-iface vmbr2 inet manual\n-\tbridge-ports none\n";
        assert_eq!(changed_existing(removed), vec!["vmbr2".to_string()]);
        let headless = "@@ -40,3 +40,3 @@\n \tbridge-stp off\n-\tbridge-fd 0\n+\tbridge-fd 2\n";
        assert_eq!(changed_existing(headless).len(), 1);
    }
}
