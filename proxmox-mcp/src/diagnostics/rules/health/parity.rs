//! Pure: rules comparing nodes with each other: versions, settings, MTU, clocks (H19–H21);
//! and the time sync service clocks depend on.

use std::collections::BTreeMap;

use super::node::{running_kernel, version_key};
use super::{FindingExt, finding, health_rule, per_node};
use crate::diagnostics::rules::util::{num, str_of};
use crate::diagnostics::rules::{Confidence, Ctx, Finding, Outcome, Severity};
use crate::diagnostics::snapshot::Got;
use crate::diagnostics::snapshot::cluster::{ClusterSnapshot, NodeSnapshot};
use serde_json::Value;

health_rule!(
    H19a,
    "H19a",
    "PVE version differs between nodes",
    pve_skew,
    true
);
health_rule!(
    H19b,
    "H19b",
    "Running kernel differs between nodes",
    kernel_skew,
    true
);
health_rule!(
    H20a,
    "H20a",
    "Time zone differs between nodes",
    tz_parity,
    true
);
health_rule!(
    H20b,
    "H20b",
    "DNS settings differ between nodes",
    dns_parity,
    true
);
health_rule!(
    H20c,
    "H20c",
    "Interface MTU differs between nodes",
    mtu_parity,
    true
);
health_rule!(H21, "H21", "Node clocks drift apart", clocks, true);
health_rule!(H21b, "H21b", "No time synchronisation running", ntp);

/// One value per online node, read from one fact.
fn values(
    snap: &ClusterSnapshot,
    fact: impl Fn(&NodeSnapshot) -> &Got<Value>,
    pick: impl Fn(&Value) -> Option<String>,
) -> Result<BTreeMap<String, String>, crate::diagnostics::rules::Skip> {
    let mut vals = BTreeMap::new();
    per_node(snap, fact, |n, v, _| {
        if let Some(s) = pick(v) {
            vals.insert(n.name.clone(), s);
        }
    })?;
    Ok(vals)
}

/// The most common value (ties: the smallest), and the nodes that deviate from it.
fn deviants(vals: &BTreeMap<String, String>) -> Option<(&str, Vec<(&str, &str)>)> {
    let mut count: BTreeMap<&str, usize> = BTreeMap::new();
    for v in vals.values() {
        *count.entry(v).or_default() += 1;
    }
    if count.len() < 2 {
        return None;
    }
    let (&common, _) = count
        .iter()
        .max_by_key(|(v, c)| (**c, std::cmp::Reverse(**v)))?;
    let off = vals
        .iter()
        .filter(|(_, v)| v.as_str() != common)
        .map(|(n, v)| (n.as_str(), v.as_str()))
        .collect();
    Some((common, off))
}

fn pve_skew(snap: &ClusterSnapshot, _: &Ctx) -> Outcome {
    let vals = values(
        snap,
        |n| &n.version,
        |v| str_of(v, "version").map(str::to_string),
    )?;
    let Some(newest) = vals.values().max_by_key(|v| version_key(v)) else {
        return Ok(vec![]);
    };
    let major = |v: &str| version_key(v).first().copied();
    Ok(vals
        .iter()
        .filter(|(_, v)| version_key(v) < version_key(newest))
        .map(|(node, v)| {
            let severity = if major(v) != major(newest) { Severity::Critical } else { Severity::Warning };
            finding(
                "H19a",
                severity,
                format!("node/{node}"),
                format!("{node} runs PVE {v}, others {newest}"),
                format!("pve-manager {v} on {node}; newest in the cluster {newest}"),
                "Upgrade the node to the cluster's version; mixed versions are only meant for the duration of an upgrade.",
            )
            .with_fix("apt update && apt full-upgrade")
        })
        .collect())
}

fn kernel_skew(snap: &ClusterSnapshot, _: &Ctx) -> Outcome {
    let vals = values(snap, |n| &n.status, running_kernel)?;
    let Some(newest) = vals.values().max_by_key(|v| version_key(v)) else {
        return Ok(vec![]);
    };
    Ok(vals
        .iter()
        .filter(|(_, v)| version_key(v) < version_key(newest))
        .map(|(node, v)| {
            finding(
                "H19b",
                Severity::Warning,
                format!("node/{node}"),
                format!("{node} runs kernel {v}, others {newest}"),
                format!("running kernel {v} on {node}; newest running in the cluster {newest}"),
                "Update and reboot the node so all nodes run the same kernel (live migration between kernels can misbehave).",
            )
            .with_fix("apt update && apt full-upgrade && reboot")
            .with_confidence(Confidence::Medium)
        })
        .collect())
}

/// One finding per node deviating from the common value.
fn parity(
    rule: &'static str,
    what: &str,
    vals: &BTreeMap<String, String>,
    recommendation: &str,
    fix: impl Fn(&str, &str) -> String,
) -> Vec<Finding> {
    let Some((common, off)) = deviants(vals) else {
        return vec![];
    };
    off.into_iter()
        .map(|(node, v)| {
            finding(
                rule,
                Severity::Warning,
                format!("node/{node}"),
                format!("{what} of {node} differs from the other nodes"),
                format!("{node}: {v}; most nodes: {common}"),
                recommendation,
            )
            .with_fix(fix(node, common))
        })
        .collect()
}

fn tz_parity(snap: &ClusterSnapshot, _: &Ctx) -> Outcome {
    let vals = values(
        snap,
        |n| &n.time,
        |v| str_of(v, "timezone").map(str::to_string),
    )?;
    Ok(parity(
        "H20a",
        "Time zone",
        &vals,
        "Use one time zone on all nodes so logs, schedules and backups line up.",
        |node, tz| format!("PUT /nodes/{node}/time timezone={tz}"),
    ))
}

fn dns_parity(snap: &ClusterSnapshot, _: &Ctx) -> Outcome {
    let pick = |v: &Value| {
        let parts: Vec<String> = ["search", "dns1", "dns2", "dns3"]
            .iter()
            .map(|k| format!("{k}={}", str_of(v, k).unwrap_or("-")))
            .collect();
        Some(parts.join(" "))
    };
    let vals = values(snap, |n| &n.dns, pick)?;
    Ok(parity(
        "H20b",
        "DNS configuration",
        &vals,
        "Use the same resolvers and search domain on all nodes.",
        |node, dns| format!("PUT /nodes/{node}/dns {dns}"),
    ))
}

fn mtu_parity(snap: &ClusterSnapshot, _: &Ctx) -> Outcome {
    let mut by_iface: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
    per_node(
        snap,
        |n| &n.network,
        |n, net, _| {
            for i in net {
                let kind = str_of(i, "type").unwrap_or("");
                if !matches!(kind, "bridge" | "bond" | "OVSBridge") {
                    continue;
                }
                let Some(name) = str_of(i, "iface") else {
                    continue;
                };
                let mtu = num(i, "mtu").unwrap_or(1500.0);
                by_iface
                    .entry(name.to_string())
                    .or_default()
                    .insert(n.name.clone(), format!("{mtu}"));
            }
        },
    )?;
    Ok(by_iface
        .iter()
        .flat_map(|(iface, vals)| {
            parity(
                "H20c",
                &format!("MTU of {iface}"),
                vals,
                "Use the same MTU on the same network on every node; a mismatch breaks migration and storage traffic with large frames.",
                |node, mtu| format!("PUT /nodes/{node}/network/{iface} mtu={mtu}"),
            )
            .into_iter()
            .map(move |mut f| {
                f.object = format!("iface/{}/{iface}", &f.object["node/".len()..]);
                f
            })
        })
        .collect())
}

fn clocks(snap: &ClusterSnapshot, ctx: &Ctx) -> Outcome {
    let mut times = BTreeMap::new();
    per_node(
        snap,
        |n| &n.time,
        |n, t, _| {
            if let Some(s) = num(t, "time") {
                times.insert(n.name.clone(), s);
            }
        },
    )?;
    if times.len() < 2 {
        return Ok(vec![]);
    }
    let mut sorted: Vec<f64> = times.values().copied().collect();
    sorted.sort_by(f64::total_cmp);
    let median = sorted[sorted.len() / 2];
    let max = ctx.threshold("H21.seconds", 5.0);
    Ok(times
        .iter()
        .filter(|(_, t)| (**t - median).abs() > max)
        .map(|(node, t)| {
            let off = t - median;
            finding(
                "H21",
                Severity::Warning,
                format!("node/{node}"),
                format!("Clock of {node} is {off:+.0} s off"),
                format!("{node} time {t:.0}, cluster median {median:.0} ({off:+.0} s; warn > {max} s)"),
                "Fix time synchronisation (chrony) on the node; drifting clocks break corosync, TLS and scheduling.",
            )
            .with_fix("systemctl restart chrony; chronyc tracking")
        })
        .collect())
}

/// Time synchronisation services a node may run.
const TIME_SYNC: [&str; 5] = ["chrony", "systemd-timesyncd", "ntp", "ntpsec", "openntpd"];

fn ntp(snap: &ClusterSnapshot, _: &Ctx) -> Outcome {
    per_node(
        snap,
        |n| &n.services,
        |n, list, out| {
            let known: Vec<(&str, &str)> = list
                .iter()
                .filter_map(|s| {
                    let name = str_of(s, "service").or_else(|| str_of(s, "name"))?;
                    TIME_SYNC
                        .contains(&name)
                        .then(|| (name, str_of(s, "state").unwrap_or("unknown")))
                })
                .collect();
            // A service list without any time sync unit says nothing either way.
            if known.is_empty() || known.iter().any(|(_, st)| *st == "running") {
                return;
            }
            let states: Vec<String> = known.iter().map(|(n, s)| format!("{n} {s}")).collect();
            out.push(
                finding(
                    "H21b",
                    Severity::Warning,
                    format!("node/{}", n.name),
                    format!("No time synchronisation running on {}", n.name),
                    states.join(", "),
                    "Run chrony on every node; corosync, Ceph and TLS need clocks in step.",
                )
                .with_api(
                    "POST",
                    &format!("/nodes/{}/services/chrony/start", n.name),
                    serde_json::json!({}),
                )
                .with_fix("systemctl enable --now chrony"),
            );
        },
    )
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::super::fixtures::{baseline, check, denied, node, skips};
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
                &H19a,
                |s| node(s, "pve2").version.as_mut().unwrap()["version"] = json!("9.0.10"),
                "node/pve2",
                Severity::Warning,
            ),
            (
                &H19a,
                |s| node(s, "pve3").version.as_mut().unwrap()["version"] = json!("8.4.14"),
                "node/pve3",
                Severity::Critical,
            ),
            (
                &H19b,
                |s| {
                    node(s, "pve1").status.as_mut().unwrap()["current-kernel"]["release"] =
                        json!("6.14.8-2-pve")
                },
                "node/pve1",
                Severity::Warning,
            ),
            (
                &H20a,
                |s| node(s, "pve3").time.as_mut().unwrap()["timezone"] = json!("UTC"),
                "node/pve3",
                Severity::Warning,
            ),
            (
                &H20b,
                |s| node(s, "pve2").dns.as_mut().unwrap()["dns1"] = json!("8.8.8.8"),
                "node/pve2",
                Severity::Warning,
            ),
            (
                &H20c,
                |s| node(s, "pve1").network.as_mut().unwrap()[4]["mtu"] = json!(9000),
                "iface/pve1/vmbr0",
                Severity::Warning,
            ),
            (
                &H21,
                |s| {
                    node(s, "pve2").time.as_mut().unwrap()["time"] =
                        json!(super::super::fixtures::NOW - 42)
                },
                "node/pve2",
                Severity::Warning,
            ),
            (
                &H21b,
                |s| node(s, "pve3").services.as_mut().unwrap()[7]["state"] = json!("dead"),
                "node/pve3",
                Severity::Warning,
            ),
        ];
        for (rule, seed, object, severity) in cases {
            assert_eq!(rule.cross_node(), rule.id() != "H21b", "{}", rule.id());
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
        // Clocks a second apart, MTU unset on one node (1500) and explicit on another.
        node(&mut snap, "pve2").time.as_mut().unwrap()["time"] =
            json!(super::super::fixtures::NOW + 1);
        node(&mut snap, "pve2").network.as_mut().unwrap()[4]
            .as_object_mut()
            .unwrap()
            .remove("mtu");
        // An offline node with an older version is H02's finding, not a skew.
        node(&mut snap, "pve3").online = false;
        node(&mut snap, "pve3").version = Ok(json!({"version": "8.4.1"}));
        // chrony replaced by systemd-timesyncd; a service list without any time service.
        let services = node(&mut snap, "pve1").services.as_mut().unwrap();
        services[7]["state"] = json!("dead");
        services.push(
            json!({"service": "systemd-timesyncd", "state": "running", "active-state": "active"}),
        );
        node(&mut snap, "pve2").services.as_mut().unwrap().remove(7);
        for rule in [&H19a as &dyn Rule, &H19b, &H20a, &H20b, &H20c, &H21, &H21b] {
            assert_eq!(check(rule, &snap), vec![], "{}", rule.id());
        }
    }

    #[test]
    fn missing_facts_skip() {
        type Case = (&'static dyn Rule, fn(&mut ClusterSnapshot));
        let cases: &[Case] = &[
            (&H19a, |s| node(s, "pve1").version = denied()),
            (&H19b, |s| node(s, "pve1").status = denied()),
            (&H20a, |s| node(s, "pve1").time = denied()),
            (&H20b, |s| node(s, "pve1").dns = denied()),
            (&H20c, |s| node(s, "pve1").network = denied()),
            (&H21, |s| node(s, "pve1").time = denied()),
            (&H21b, |s| node(s, "pve1").services = denied()),
        ];
        for (rule, seed) in cases {
            let mut snap = baseline();
            seed(&mut snap);
            skips(*rule, &snap, "403");
        }
    }
}
