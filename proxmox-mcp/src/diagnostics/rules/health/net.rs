//! Pure: node network rules: NICs down, bonds without redundancy, tagged NICs on plain bridges
//! (H36).

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Value, json};

use super::{FindingExt, finding, health_rule, per_node};
use crate::diagnostics::rules::util::{flag, prop_string, str_of};
use crate::diagnostics::rules::{Confidence, Ctx, Outcome, Severity, Skip};
use crate::diagnostics::snapshot::cluster::ClusterSnapshot;

health_rule!(H36a, "H36a", "Network interface in use is down", nic_down);
health_rule!(H36b, "H36b", "Bond without redundancy", bond);
health_rule!(
    H36c,
    "H36c",
    "VLAN tag on a bridge that is not VLAN aware",
    vlan_bridge
);

/// Interfaces named as bridge ports or bond slaves on one node.
fn members(net: &[Value]) -> BTreeSet<&str> {
    net.iter()
        .flat_map(|i| {
            let ports = str_of(i, "bridge_ports").unwrap_or("");
            let slaves = str_of(i, "slaves").unwrap_or("");
            ports.split_whitespace().chain(slaves.split_whitespace())
        })
        .collect()
}

fn nic_down(snap: &ClusterSnapshot, _: &Ctx) -> Outcome {
    per_node(
        snap,
        |n| &n.network,
        |n, net, out| {
            let used = members(net);
            for i in net.iter().filter(|i| str_of(i, "type") == Some("eth")) {
                let Some(name) = str_of(i, "iface") else {
                    continue;
                };
                let in_use = used.contains(name) || flag(i, "autostart") == Some(true);
                if !in_use || flag(i, "active") == Some(true) {
                    continue;
                }
                let role = if used.contains(name) {
                    "a bridge port or bond slave"
                } else {
                    "set to autostart"
                };
                out.push(
                    finding(
                        "H36a",
                        Severity::Warning,
                        format!("iface/{}/{name}", n.name),
                        format!("{name} on {} is down", n.name),
                        format!("{name} is {role} but not active"),
                        "Check cable, switch port and driver of the interface.",
                    )
                    .with_fix(format!("ip link show {name}; ethtool {name}")),
                );
            }
        },
    )
}

fn bond(snap: &ClusterSnapshot, _: &Ctx) -> Outcome {
    per_node(
        snap,
        |n| &n.network,
        |n, net, out| {
            let active: BTreeMap<&str, bool> = net
                .iter()
                .filter_map(|i| Some((str_of(i, "iface")?, flag(i, "active") == Some(true))))
                .collect();
            for b in net.iter().filter(|i| str_of(i, "type") == Some("bond")) {
                let Some(name) = str_of(b, "iface") else {
                    continue;
                };
                let slaves: Vec<&str> = str_of(b, "slaves")
                    .unwrap_or("")
                    .split_whitespace()
                    .collect();
                let up = slaves
                    .iter()
                    .filter(|s| active.get(*s) == Some(&true))
                    .count();
                if up >= 2 {
                    continue;
                }
                let evidence = if slaves.len() < 2 {
                    format!("{} slave(s): {}", slaves.len(), slaves.join(" "))
                } else {
                    let down: Vec<&str> = slaves
                        .iter()
                        .copied()
                        .filter(|s| active.get(s) != Some(&true))
                        .collect();
                    format!(
                        "{up} of {} slaves active; down: {}",
                        slaves.len(),
                        down.join(" ")
                    )
                };
                out.push(
                finding(
                    "H36b",
                    Severity::Warning,
                    format!("iface/{}/{name}", n.name),
                    format!("Bond {name} on {} has no redundancy", n.name),
                    evidence,
                    "Give the bond at least two working slaves so one link or switch failure does not cut the node off.",
                )
                .with_fix(format!("cat /proc/net/bonding/{name}")),
            );
            }
        },
    )
}

fn vlan_bridge(snap: &ClusterSnapshot, _: &Ctx) -> Outcome {
    let mut missing = Vec::new();
    let out = per_node(
        snap,
        |n| &n.network,
        |n, net, out| {
            let plain: BTreeSet<&str> = net
                .iter()
                .filter(|i| {
                    str_of(i, "type") == Some("bridge")
                        && flag(i, "bridge_vlan_aware") != Some(true)
                })
                .filter_map(|i| str_of(i, "iface"))
                .collect();
            let mut tagged: BTreeMap<&str, Vec<String>> = BTreeMap::new();
            for g in snap.guests.values().filter(|g| g.node == n.name) {
                let cfg = match &g.config {
                    Ok(c) => c,
                    Err(why) => {
                        missing.push(format!("{}/{}: {why}", g.kind, g.vmid));
                        continue;
                    }
                };
                for (key, val) in cfg.iter().filter(|(k, _)| is_net_key(k)) {
                    let opts = prop_string(val, "model");
                    let get = |k: &str| opts.iter().find(|(o, _)| *o == k).map(|(_, v)| *v);
                    if let (Some(bridge), Some(tag)) = (get("bridge"), get("tag"))
                        && let Some(b) = plain.get(bridge)
                    {
                        tagged
                            .entry(b)
                            .or_default()
                            .push(format!("{}/{} {key} tag {tag}", g.kind, g.vmid));
                    }
                }
            }
            for (bridge, users) in tagged {
                out.push(
                finding(
                    "H36c",
                    Severity::Warning,
                    format!("iface/{}/{bridge}", n.name),
                    format!("Tagged guest NICs on {bridge} of {}, which is not VLAN aware", n.name),
                    users.join(", "),
                    "Make the bridge VLAN aware so tagged guest traffic is handled by one bridge instead of per-VLAN helper bridges.",
                )
                .with_api("PUT", &format!("/nodes/{}/network/{bridge}", n.name), json!({"type": "bridge", "bridge_vlan_aware": 1}))
                .with_confidence(Confidence::Medium),
            );
            }
        },
    )?;
    if out.is_empty() && !missing.is_empty() {
        return Err(Skip(format!(
            "guest configs not read: {}",
            missing.join("; ")
        )));
    }
    Ok(out)
}

/// `net0`, `net1`, …
fn is_net_key(k: &str) -> bool {
    k.strip_prefix("net")
        .is_some_and(|d| !d.is_empty() && d.bytes().all(|b| b.is_ascii_digit()))
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::{baseline, check, denied, guest, node, skips};
    use super::*;
    use crate::diagnostics::rules::Rule;

    #[test]
    fn triggers() {
        type Case = (
            &'static dyn Rule,
            fn(&mut ClusterSnapshot),
            &'static str,
            Severity,
        );
        let cases: &[Case] = &[
            (
                &H36a,
                |s| node(s, "pve1").network.as_mut().unwrap()[1]["active"] = json!(0),
                "iface/pve1/eno2",
                Severity::Warning,
            ),
            (
                &H36b,
                |s| node(s, "pve2").network.as_mut().unwrap()[3]["slaves"] = json!("eno1"),
                "iface/pve2/bond0",
                Severity::Warning,
            ),
            (
                &H36c,
                |s| node(s, "pve1").network.as_mut().unwrap()[4]["bridge_vlan_aware"] = json!(0),
                "iface/pve1/vmbr0",
                Severity::Warning,
            ),
        ];
        for (rule, seed, object, severity) in cases {
            let mut snap = baseline();
            seed(&mut snap);
            assert_eq!(
                check(*rule, &snap),
                vec![(rule.id(), object.to_string(), *severity)],
                "{}",
                rule.id()
            );
        }
    }

    #[test]
    fn healthy_variants_pass() {
        let mut snap = baseline();
        // Untagged NICs on a plain bridge; an unused NIC down; a bond with two live slaves.
        node(&mut snap, "pve1").network.as_mut().unwrap()[4]["bridge_vlan_aware"] = json!(0);
        guest(&mut snap, 100).config.as_mut().unwrap().insert(
            "net0".into(),
            "virtio=BC:24:11:00:00:01,bridge=vmbr0".into(),
        );
        // Offline nodes are H02's business.
        node(&mut snap, "pve3").online = false;
        node(&mut snap, "pve3").network = Err("595 node offline".into());
        for rule in [&H36a as &dyn Rule, &H36b, &H36c] {
            assert_eq!(check(rule, &snap), vec![], "{}", rule.id());
        }
    }

    #[test]
    fn missing_facts_skip() {
        type Case = (&'static dyn Rule, fn(&mut ClusterSnapshot));
        let cases: &[Case] = &[
            (&H36a, |s| node(s, "pve1").network = denied()),
            (&H36b, |s| node(s, "pve1").network = denied()),
            (&H36c, |s| node(s, "pve1").network = denied()),
            (&H36c, |s| guest(s, 100).config = denied()),
        ];
        for (rule, seed) in cases {
            let mut snap = baseline();
            seed(&mut snap);
            skips(*rule, &snap, "403");
        }
    }
}
