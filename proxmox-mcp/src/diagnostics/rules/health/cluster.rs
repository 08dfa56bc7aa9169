//! Pure: quorum, corosync and HA rules (H01–H09).

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

use serde_json::Value;

use super::{FindingExt, finding, health_rule};
use crate::diagnostics::rules::util::{flag, num, str_of};
use crate::diagnostics::rules::{Confidence, Ctx, Outcome, Severity, Skip, got};
use crate::diagnostics::snapshot::cluster::ClusterSnapshot;

health_rule!(H01, "H01", "Cluster not quorate", quorate);
health_rule!(H02, "H02", "Node offline", offline);
health_rule!(H03, "H03", "Fewer than three quorum votes", few_votes);
health_rule!(H04, "H04", "Non-default quorum votes", odd_votes);
health_rule!(H05, "H05", "QDevice not connected", qdevice);
health_rule!(
    H06a,
    "H06a",
    "Corosync link given as a host name",
    link_hostname
);
health_rule!(H06b, "H06b", "Single corosync link", single_link);
health_rule!(H07, "H07", "Corosync transport other than knet", transport);
health_rule!(H08, "H08", "HA resource in error", ha_error);
health_rule!(
    H09,
    "H09",
    "HA group or rule without a usable node",
    ha_nodes
);

fn quorate(snap: &ClusterSnapshot, _: &Ctx) -> Outcome {
    let status = got(&snap.status)?;
    let Some(cluster) = status.iter().find(|e| str_of(e, "type") == Some("cluster")) else {
        return Ok(vec![]);
    };
    if flag(cluster, "quorate") == Some(true) {
        return Ok(vec![]);
    }
    let online = status
        .iter()
        .filter(|e| str_of(e, "type") == Some("node") && flag(e, "online") == Some(true))
        .count();
    let total = num(cluster, "nodes").unwrap_or(0.0);
    Ok(vec![
        finding(
            "H01",
            Severity::Critical,
            "cluster",
            "Cluster is not quorate",
            format!("quorate 0; {online} of {total} nodes online"),
            "Restore corosync connectivity between the nodes (or bring nodes back) until a majority of votes is present; /etc/pve is read-only until then.",
        )
        .with_fix("pvecm status"),
    ])
}

/// Names and online state of the nodes in `/cluster/status`.
fn node_states(status: &[Value]) -> BTreeMap<&str, bool> {
    status
        .iter()
        .filter(|e| str_of(e, "type") == Some("node"))
        .filter_map(|e| Some((str_of(e, "name")?, flag(e, "online") == Some(true))))
        .collect()
}

fn offline(snap: &ClusterSnapshot, _: &Ctx) -> Outcome {
    let status = got(&snap.status)?;
    let guests = |node: &str| snap.guests.values().filter(|g| g.node == node).count();
    Ok(node_states(status)
        .into_iter()
        .filter(|(_, up)| !up)
        .map(|(name, _)| {
            finding(
                "H02",
                Severity::Critical,
                format!("node/{name}"),
                format!("Node {name} is offline"),
                format!("online 0 in /cluster/status; {} guests placed on it", guests(name)),
                "Check power, network and corosync on the node and bring it back, or remove it from the cluster if it is retired.",
            )
            .with_fix(format!("pvecm status; ssh {name} systemctl status corosync pve-cluster"))
        })
        .collect())
}

/// The votes of the corosync node list, or `None` when there is no cluster.
fn votes(nodes: &[Value]) -> Option<f64> {
    (!nodes.is_empty()).then(|| {
        nodes
            .iter()
            .map(|n| num(n, "quorum_votes").unwrap_or(1.0))
            .sum()
    })
}

fn has_qdevice(q: &Value) -> bool {
    q.as_object().is_some_and(|m| !m.is_empty())
}

fn few_votes(snap: &ClusterSnapshot, ctx: &Ctx) -> Outcome {
    let nodes = got(&snap.corosync_nodes)?;
    let Some(node_votes) = votes(nodes) else {
        return Ok(vec![]);
    };
    let qdevice = got(&snap.qdevice)?;
    let total = node_votes + f64::from(u8::from(has_qdevice(qdevice)));
    let min = ctx.threshold("H03.min", 3.0);
    if total >= min {
        return Ok(vec![]);
    }
    Ok(vec![
        finding(
            "H03",
            Severity::Warning,
            "cluster",
            format!("Only {total} quorum votes"),
            format!("{} nodes with {node_votes} votes, qdevice {} (need ≥ {min})", nodes.len(), if has_qdevice(qdevice) { "yes" } else { "no" }),
            "Add a third node or a QDevice so one failed node does not cost the cluster its quorum.",
        )
        .with_fix("pvecm qdevice setup <qnetd-host-ip>"),
    ])
}

fn odd_votes(snap: &ClusterSnapshot, _: &Ctx) -> Outcome {
    let nodes = got(&snap.corosync_nodes)?;
    Ok(nodes
        .iter()
        .filter_map(|n| {
            let name = str_of(n, "name").or_else(|| str_of(n, "node"))?;
            let v = num(n, "quorum_votes").unwrap_or(1.0);
            (v != 1.0).then(|| {
                finding(
                    "H04",
                    Severity::Warning,
                    format!("node/{name}"),
                    format!("Node {name} has {v} quorum votes"),
                    format!("quorum_votes {v} (default 1)"),
                    "Give every node one vote; extra votes let one node's failure (or presence) decide quorum.",
                )
                .with_fix("edit quorum_votes in /etc/pve/corosync.conf (and bump config_version)")
            })
        })
        .collect())
}

fn qdevice(snap: &ClusterSnapshot, _: &Ctx) -> Outcome {
    let q = got(&snap.qdevice)?;
    if !has_qdevice(q) {
        return Ok(vec![]);
    }
    let state = str_of(q, "State")
        .or_else(|| str_of(q, "state"))
        .unwrap_or("unknown");
    if state.eq_ignore_ascii_case("connected") {
        return Ok(vec![]);
    }
    Ok(vec![
        finding(
            "H05",
            Severity::Warning,
            "cluster",
            "QDevice is not connected",
            format!("qdevice State {state}"),
            "Check the corosync-qnetd host and the corosync-qdevice service on the nodes.",
        )
        .with_fix("systemctl status corosync-qdevice; corosync-qdevice-tool -sv"),
    ])
}

/// The `ringN_addr` values of one corosync node entry.
fn links(n: &Value) -> Vec<(&str, &str)> {
    n.as_object()
        .map(|m| {
            m.iter()
                .filter(|(k, _)| k.starts_with("ring") && k.ends_with("_addr"))
                .filter_map(|(k, v)| Some((k.as_str(), v.as_str()?)))
                .collect()
        })
        .unwrap_or_default()
}

fn link_hostname(snap: &ClusterSnapshot, _: &Ctx) -> Outcome {
    let nodes = got(&snap.corosync_nodes)?;
    Ok(nodes
        .iter()
        .filter_map(|n| {
            let name = str_of(n, "name").or_else(|| str_of(n, "node"))?;
            let named: Vec<String> = links(n)
                .into_iter()
                .filter(|(_, a)| a.parse::<IpAddr>().is_err())
                .map(|(k, a)| format!("{k} {a}"))
                .collect();
            (!named.is_empty()).then(|| {
                finding(
                    "H06a",
                    Severity::Warning,
                    format!("node/{name}"),
                    format!("Corosync link of {name} given as a host name"),
                    named.join(", "),
                    "Use IP addresses for corosync links so cluster communication does not depend on name resolution.",
                )
                .with_fix("set ringN_addr to the link's IP in /etc/pve/corosync.conf (and bump config_version)")
            })
        })
        .collect())
}

fn single_link(snap: &ClusterSnapshot, _: &Ctx) -> Outcome {
    let nodes = got(&snap.corosync_nodes)?;
    if nodes.len() < 2 {
        return Ok(vec![]);
    }
    Ok(nodes
        .iter()
        .filter_map(|n| {
            let name = str_of(n, "name").or_else(|| str_of(n, "node"))?;
            let l = links(n);
            (l.len() < 2).then(|| {
                finding(
                    "H06b",
                    Severity::Warning,
                    format!("node/{name}"),
                    format!("Node {name} has a single corosync link"),
                    format!("{} corosync link(s): {}", l.len(), l.iter().map(|(k, a)| format!("{k} {a}")).collect::<Vec<_>>().join(", ")),
                    "Add a second corosync link on a separate network so one switch or NIC failure does not break quorum.",
                )
                .with_fix(format!("pvecm addnode {name} --link0 <ip> --link1 <ip> (or add ring1_addr in /etc/pve/corosync.conf)"))
                .with_confidence(Confidence::Medium)
            })
        })
        .collect())
}

fn transport(snap: &ClusterSnapshot, _: &Ctx) -> Outcome {
    let totem = got(&snap.totem)?;
    match str_of(totem, "transport") {
        Some(t) if !t.eq_ignore_ascii_case("knet") => Ok(vec![
            finding(
                "H07",
                Severity::Critical,
                "cluster",
                format!("Corosync transport is {t}"),
                format!("totem transport {t} (supported: knet)"),
                "Switch corosync to the knet transport; udp/udpu lack encryption and multiple links and are unsupported by current releases.",
            )
            .with_fix("remove `transport` from the totem section of /etc/pve/corosync.conf (and bump config_version)"),
        ]),
        _ => Ok(vec![]),
    }
}

fn ha_error(snap: &ClusterSnapshot, _: &Ctx) -> Outcome {
    let status = got(&snap.ha_status)?;
    let mut bad: BTreeMap<String, String> = status
        .iter()
        .filter(|e| str_of(e, "type") == Some("service"))
        .filter(|e| str_of(e, "state") == Some("error"))
        .filter_map(|e| {
            let sid = str_of(e, "sid")?;
            Some((
                sid.to_string(),
                format!(
                    "state error ({})",
                    str_of(e, "status").unwrap_or("no status")
                ),
            ))
        })
        .collect();
    if let Ok(res) = &snap.resources {
        for r in res.iter().filter(|r| str_of(r, "hastate") == Some("error")) {
            let kind = if str_of(r, "type") == Some("lxc") {
                "ct"
            } else {
                "vm"
            };
            if let Some(vmid) = num(r, "vmid") {
                bad.entry(format!("{kind}:{vmid}"))
                    .or_insert_with(|| "hastate error in /cluster/resources".into());
            }
        }
    }
    Ok(bad
        .into_iter()
        .map(|(sid, why)| {
            finding(
                "H08",
                Severity::Critical,
                format!("ha/{sid}"),
                format!("HA resource {sid} is in error state"),
                why,
                "Find the cause in the HA and task logs, fix it, then disable and re-enable the resource to clear the error.",
            )
            .with_api("PUT", &format!("/cluster/ha/resources/{sid}"), serde_json::json!({"state": "disabled"}))
            .with_fix(format!("ha-manager set {sid} --state disabled && ha-manager set {sid} --state started"))
        })
        .collect())
}

/// Node names of an HA group/rule `nodes` list (`pve1:2,pve2`).
fn ha_node_list(v: &Value) -> Vec<&str> {
    str_of(v, "nodes")
        .unwrap_or("")
        .split(',')
        .map(|n| n.split(':').next().unwrap_or("").trim())
        .filter(|n| !n.is_empty())
        .collect()
}

fn ha_nodes(snap: &ClusterSnapshot, _: &Ctx) -> Outcome {
    let status = got(&snap.status)?;
    let known = node_states(status);
    // PVE 9 keeps node preferences in rules; either list is enough to judge.
    if let (Err(why), Err(_)) = (&snap.ha_groups, &snap.ha_rules) {
        return Err(Skip(why.clone()));
    }
    let groups = snap.ha_groups.as_deref().unwrap_or(&[]);
    let rules = snap.ha_rules.as_deref().unwrap_or(&[]);
    let mut out = Vec::new();
    let mut seen = BTreeSet::new();
    let entries = groups
        .iter()
        .filter_map(|g| Some((str_of(g, "group")?, "group", g)))
        .chain(
            rules
                .iter()
                .filter_map(|r| Some((str_of(r, "rule")?, "rule", r))),
        );
    for (id, what, entry) in entries {
        let listed = ha_node_list(entry);
        if listed.is_empty() || !seen.insert((what, id)) {
            continue;
        }
        let unknown: Vec<&str> = listed
            .iter()
            .copied()
            .filter(|n| !known.contains_key(n))
            .collect();
        let usable = listed
            .iter()
            .filter(|n| known.get(*n) == Some(&true))
            .count();
        let (severity, evidence) = if usable == 0 {
            (
                Severity::Critical,
                format!("nodes {}: none online", listed.join(",")),
            )
        } else if !unknown.is_empty() {
            (
                Severity::Warning,
                format!(
                    "nodes {}: not cluster members: {}",
                    listed.join(","),
                    unknown.join(",")
                ),
            )
        } else {
            continue;
        };
        let path = if what == "group" { "groups" } else { "rules" };
        out.push(
            finding(
                "H09",
                severity,
                format!("ha/{what}:{id}"),
                format!("HA {what} {id} names nodes that cannot run its resources"),
                evidence,
                "Point the HA group or rule at existing, online nodes so its resources can fail over.",
            )
            .with_fix(format!("PUT /cluster/ha/{path}/{id} nodes=<online nodes>")),
        );
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::super::fixtures::{baseline, check, denied, skips};
    use super::*;
    use crate::diagnostics::rules::Rule;

    fn set_status(snap: &mut ClusterSnapshot, f: impl Fn(&mut Value)) {
        for e in snap.status.as_mut().unwrap() {
            f(e);
        }
    }

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
                &H01,
                |s| {
                    set_status(s, |e| {
                        if e["type"] == "cluster" {
                            e["quorate"] = json!(0)
                        }
                    })
                },
                "cluster",
                Severity::Critical,
            ),
            (
                &H02,
                |s| {
                    set_status(s, |e| {
                        if e["name"] == "pve3" {
                            e["online"] = json!(0)
                        }
                    })
                },
                "node/pve3",
                Severity::Critical,
            ),
            (
                &H03,
                |s| {
                    s.corosync_nodes.as_mut().unwrap().pop();
                },
                "cluster",
                Severity::Warning,
            ),
            (
                &H04,
                |s| s.corosync_nodes.as_mut().unwrap()[1]["quorum_votes"] = json!("2"),
                "node/pve2",
                Severity::Warning,
            ),
            (
                &H05,
                |s| s.qdevice = Ok(json!({"State": "Disconnected", "QNetd host": "10.0.0.9:5403"})),
                "cluster",
                Severity::Warning,
            ),
            (
                &H06a,
                |s| s.corosync_nodes.as_mut().unwrap()[0]["ring0_addr"] = json!("pve1-cl"),
                "node/pve1",
                Severity::Warning,
            ),
            (
                &H06b,
                |s| {
                    s.corosync_nodes.as_mut().unwrap()[2]
                        .as_object_mut()
                        .unwrap()
                        .remove("ring1_addr");
                },
                "node/pve3",
                Severity::Warning,
            ),
            (
                &H07,
                |s| s.totem.as_mut().unwrap()["transport"] = json!("udpu"),
                "cluster",
                Severity::Critical,
            ),
            (
                &H08,
                |s| s.ha_status.as_mut().unwrap()[1]["state"] = json!("error"),
                "ha/vm:100",
                Severity::Critical,
            ),
            (
                &H09,
                |s| s.ha_groups.as_mut().unwrap()[0]["nodes"] = json!("pve1,pve9"),
                "ha/group:prefer-pve1",
                Severity::Warning,
            ),
            (
                &H09,
                |s| {
                    set_status(s, |e| {
                        if e["name"] == "pve1" || e["name"] == "pve2" {
                            e["online"] = json!(0)
                        }
                    });
                },
                "ha/rule:keep-web",
                Severity::Critical,
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
        // Two nodes plus a connected qdevice: three votes.
        snap.corosync_nodes.as_mut().unwrap().pop();
        snap.qdevice = Ok(json!({"State": "Connected", "Algorithm": "Fifty-Fifty split"}));
        // IPv6 links, explicit knet, resource hastate from resources only when in error.
        snap.corosync_nodes.as_mut().unwrap()[0]["ring0_addr"] = json!("fd00::1");
        snap.totem.as_mut().unwrap()["transport"] = json!("knet");
        for rule in [&H03 as &dyn Rule, &H05, &H06a, &H06b, &H07] {
            assert_eq!(check(rule, &snap), vec![], "{}", rule.id());
        }
        // A single node without a cluster: no corosync facts to judge.
        let mut single = baseline();
        single.corosync_nodes = Ok(vec![]);
        for rule in [&H03 as &dyn Rule, &H04, &H06b] {
            assert_eq!(check(rule, &single), vec![], "{}", rule.id());
        }
    }

    #[test]
    fn missing_facts_skip() {
        type Case = (&'static dyn Rule, fn(&mut ClusterSnapshot));
        let cases: &[Case] = &[
            (&H01, |s| s.status = denied()),
            (&H02, |s| s.status = denied()),
            (&H03, |s| s.corosync_nodes = denied()),
            (&H03, |s| s.qdevice = denied()),
            (&H04, |s| s.corosync_nodes = denied()),
            (&H05, |s| s.qdevice = denied()),
            (&H06a, |s| s.corosync_nodes = denied()),
            (&H06b, |s| s.corosync_nodes = denied()),
            (&H07, |s| s.totem = denied()),
            (&H08, |s| s.ha_status = denied()),
            (&H09, |s| {
                s.ha_groups = denied();
                s.ha_rules = denied();
            }),
            (&H09, |s| s.status = denied()),
        ];
        for (rule, seed) in cases {
            let mut snap = baseline();
            seed(&mut snap);
            skips(*rule, &snap, "403");
        }
    }
}
