//! Pure: datacenter and node firewall rules S08–S11.

use serde_json::{Value, json};

use super::{api, finding, per_node};
use crate::diagnostics::rules::util::{flag, num, str_of};
use crate::diagnostics::rules::{Confidence, Ctx, Finding, Outcome, Rule, Severity, Skip, got};
use crate::diagnostics::snapshot::cluster::ClusterSnapshot;

/// The datacenter firewall options; PVE always answers with an object (at least its digest).
fn cluster_options(snap: &ClusterSnapshot) -> Result<&Value, Skip> {
    let options = got(&snap.firewall_options)?;
    if !options.is_object() {
        return Err(Skip(
            "/cluster/firewall/options returned no options object".into(),
        ));
    }
    Ok(options)
}

/// The datacenter firewall is on (`enable` defaults to 0).
pub(super) fn cluster_firewall_on(snap: &ClusterSnapshot) -> Result<bool, Skip> {
    Ok(flag(cluster_options(snap)?, "enable").unwrap_or(false))
}

/// A policy member, upper-cased.
fn policy(options: &Value, key: &str) -> Option<String> {
    str_of(options, key).map(str::to_ascii_uppercase)
}

/// S08: the datacenter firewall is off.
pub struct S08;
impl Rule for S08 {
    meta!("S08", "Datacenter firewall disabled");
    fn check(&self, snap: &ClusterSnapshot, _ctx: &Ctx) -> Outcome {
        if cluster_firewall_on(snap)? {
            return Ok(vec![]);
        }
        Ok(vec![Finding {
            evidence: "/cluster/firewall/options: enable 0 (no host or guest rule is applied)"
                .into(),
            recommendation: "Allow the management ports (8006, 22) from the admin networks, \
                             then enable the datacenter firewall."
                .into(),
            fix: Some("pvesh set /cluster/firewall/options --enable 1".into()),
            tool_call: api("PUT", "/cluster/firewall/options", json!({"enable": "1"})),
            confidence: Confidence::Medium,
            ..finding(
                "S08",
                Severity::Warning,
                "cluster".into(),
                "The datacenter firewall is disabled".into(),
            )
        }])
    }
}

/// One permissive default policy of the datacenter firewall (only judged while it is on).
fn permissive_policy(
    snap: &ClusterSnapshot,
    rule: &'static str,
    key: &str,
    severity: Severity,
) -> Outcome {
    let options = cluster_options(snap)?;
    if !cluster_firewall_on(snap)? || policy(options, key).as_deref() != Some("ACCEPT") {
        return Ok(vec![]);
    }
    Ok(vec![Finding {
        evidence: format!("/cluster/firewall/options: {key} ACCEPT"),
        recommendation: format!("Set {key} to DROP and allow what is needed with explicit rules."),
        fix: Some(format!("pvesh set /cluster/firewall/options --{key} DROP")),
        tool_call: api("PUT", "/cluster/firewall/options", json!({key: "DROP"})),
        ..finding(
            rule,
            severity,
            "cluster".into(),
            format!("Datacenter firewall {key} is ACCEPT"),
        )
    }])
}

/// S09a: the datacenter input policy accepts everything not dropped by a rule.
pub struct S09a;
impl Rule for S09a {
    meta!("S09a", "Datacenter firewall input policy ACCEPT");
    fn check(&self, snap: &ClusterSnapshot, _ctx: &Ctx) -> Outcome {
        permissive_policy(snap, "S09a", "policy_in", Severity::Warning)
    }
}

/// S09b: the forward policy (PVE 9, nftables firewall) set to ACCEPT. Only an explicit
/// setting is reported: an unset policy is the product default.
pub struct S09b;
impl Rule for S09b {
    meta!("S09b", "Datacenter firewall forward policy ACCEPT");
    fn check(&self, snap: &ClusterSnapshot, _ctx: &Ctx) -> Outcome {
        permissive_policy(snap, "S09b", "policy_forward", Severity::Notice)
    }
}

/// S10: a node's host firewall is off while the datacenter firewall is on.
pub struct S10;
impl Rule for S10 {
    meta!(
        "S10",
        "Node firewall disabled while the datacenter firewall is on"
    );
    fn check(&self, snap: &ClusterSnapshot, _ctx: &Ctx) -> Outcome {
        if !cluster_firewall_on(snap)? {
            return Ok(vec![]);
        }
        per_node(snap, |node| {
            let options = got(&node.firewall_options)?;
            if flag(options, "enable").unwrap_or(true) {
                return Ok(vec![]);
            }
            let n = &node.name;
            let path = format!("/nodes/{n}/firewall/options");
            Ok(vec![Finding {
                evidence: format!("{path}: enable 0; datacenter firewall enable 1"),
                recommendation: "Enable the host firewall so the node's own rules and the \
                                 datacenter rules protect it."
                    .into(),
                fix: Some(format!("pvesh set {path} --enable 1")),
                tool_call: api("PUT", &path, json!({"enable": "1"})),
                ..finding(
                    "S10",
                    Severity::Warning,
                    format!("node/{n}"),
                    format!("Host firewall disabled on {n}"),
                )
            }])
        })
    }
}

/// A rule is on unless `enable` says 0.
fn rule_on(rule: &Value) -> bool {
    flag(rule, "enable").unwrap_or(true)
}

/// An inbound or forward ACCEPT that names no source, destination, protocol, port or macro.
fn any_any_accept(rule: &Value) -> bool {
    let direction = str_of(rule, "type").map(str::to_ascii_lowercase);
    matches!(direction.as_deref(), Some("in" | "forward"))
        && str_of(rule, "action").is_some_and(|a| a.eq_ignore_ascii_case("ACCEPT"))
        && [
            "source",
            "dest",
            "proto",
            "dport",
            "sport",
            "macro",
            "icmp-type",
        ]
        .iter()
        .all(|k| str_of(rule, k).is_none_or(|v| v.trim().is_empty()))
}

/// S11a: an enabled datacenter rule accepting any traffic from anywhere.
pub struct S11a;
impl Rule for S11a {
    meta!("S11a", "Datacenter firewall rule accepting any to any");
    fn check(&self, snap: &ClusterSnapshot, _ctx: &Ctx) -> Outcome {
        let rules = got(&snap.firewall_rules)?;
        Ok(rules
            .iter()
            .filter(|r| rule_on(r) && any_any_accept(r))
            .map(|r| {
                let pos = num(r, "pos").map_or_else(|| "?".into(), |p| p.to_string());
                let kind = str_of(r, "type").unwrap_or("in");
                let iface = str_of(r, "iface").map_or(String::new(), |i| format!(" on {i}"));
                Finding {
                    evidence: format!(
                        "rule {pos}: {kind} ACCEPT{iface} with no source, destination, \
                         protocol, port or macro"
                    ),
                    recommendation: "Restrict the rule to the sources and ports that need it, \
                                     or remove it: it makes the input policy meaningless."
                        .into(),
                    fix: Some(format!(
                        "pvesh set /cluster/firewall/rules/{pos} --source <admin network> \
                         --proto tcp --dport <ports>   # or: pvesh delete /cluster/firewall/rules/{pos}"
                    )),
                    ..finding(
                        "S11a",
                        Severity::Warning,
                        "cluster".into(),
                        format!("Firewall rule {pos} accepts any traffic"),
                    )
                }
            })
            .collect())
    }
}

/// S11b: many disabled rules left in the datacenter rule set.
pub struct S11b;
impl Rule for S11b {
    meta!("S11b", "Many disabled datacenter firewall rules");
    fn check(&self, snap: &ClusterSnapshot, ctx: &Ctx) -> Outcome {
        let rules = got(&snap.firewall_rules)?;
        let limit = ctx.threshold("S11.disabled", 10.0);
        let disabled = rules.iter().filter(|r| !rule_on(r)).count();
        if (disabled as f64) < limit {
            return Ok(vec![]);
        }
        Ok(vec![Finding {
            evidence: format!(
                "{disabled} of {} datacenter rules disabled (info ≥ {limit})",
                rules.len()
            ),
            recommendation: "Delete rules that are no longer needed so the rule set stays \
                             reviewable."
                .into(),
            fix: Some("pvesh get /cluster/firewall/rules   # then: pvesh delete /cluster/firewall/rules/<pos>".into()),
            ..finding(
                "S11b",
                Severity::Info,
                "cluster".into(),
                format!("{disabled} disabled datacenter firewall rules"),
            )
        }])
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::super::fixtures::*;
    use super::*;

    const CASES: &[Case] = &[
        // S08
        (
            &S08,
            "disabled",
            |s| options(s)["enable"] = json!(0),
            Want::Find(&[("cluster", Severity::Warning)]),
        ),
        (
            &S08,
            "unset means off",
            |s| {
                options(s).as_object_mut().unwrap().remove("enable");
            },
            Want::Find(&[("cluster", Severity::Warning)]),
        ),
        (
            &S08,
            "no options object",
            |s| s.firewall_options = Ok(Value::Null),
            Want::Skip("no options object"),
        ),
        (
            &S08,
            "options unreadable",
            |s| s.firewall_options = denied("/cluster/firewall/options"),
            Want::Skip("403"),
        ),
        // S09a
        (
            &S09a,
            "policy_in ACCEPT",
            |s| options(s)["policy_in"] = json!("ACCEPT"),
            Want::Find(&[("cluster", Severity::Warning)]),
        ),
        (
            &S09a,
            "firewall off: S08 reports",
            |s| {
                options(s)["policy_in"] = json!("ACCEPT");
                options(s)["enable"] = json!(0);
            },
            Want::Pass,
        ),
        (
            &S09a,
            "options unreadable",
            |s| s.firewall_options = denied("/cluster/firewall/options"),
            Want::Skip("403"),
        ),
        // S09b
        (
            &S09b,
            "policy_forward ACCEPT",
            |s| options(s)["policy_forward"] = json!("ACCEPT"),
            Want::Find(&[("cluster", Severity::Notice)]),
        ),
        (
            &S09b,
            "policy_forward DROP",
            |s| options(s)["policy_forward"] = json!("DROP"),
            Want::Pass,
        ),
        (
            &S09b,
            "options unreadable",
            |s| s.firewall_options = denied("/cluster/firewall/options"),
            Want::Skip("403"),
        ),
        // S10
        (
            &S10,
            "node firewall off",
            |s| s.nodes.get_mut("pve2").unwrap().firewall_options = Ok(json!({"enable": 0})),
            Want::Find(&[("node/pve2", Severity::Warning)]),
        ),
        (
            &S10,
            "node off, datacenter off",
            |s| {
                s.nodes.get_mut("pve2").unwrap().firewall_options = Ok(json!({"enable": 0}));
                options(s)["enable"] = json!(0);
            },
            Want::Pass,
        ),
        (
            &S10,
            "offline node left to the health rules",
            |s| {
                let n = s.nodes.get_mut("pve2").unwrap();
                n.online = false;
                n.firewall_options = Err("node pve2 is offline".into());
            },
            Want::Pass,
        ),
        (
            &S10,
            "all node options unreadable",
            |s| {
                for n in s.nodes.values_mut() {
                    n.firewall_options = denied("/nodes/x/firewall/options");
                }
            },
            Want::Skip("403"),
        ),
        // S11a
        (
            &S11a,
            "any-any accept",
            |s| {
                s.firewall_rules
                    .as_mut()
                    .unwrap()
                    .push(json!({"pos": 5, "type": "in",
                "action": "ACCEPT", "enable": 1, "iface": "vmbr0"}))
            },
            Want::Find(&[("cluster", Severity::Warning)]),
        ),
        (
            &S11a,
            "any-any accept disabled",
            |s| {
                s.firewall_rules
                    .as_mut()
                    .unwrap()
                    .push(json!({"pos": 5, "type": "in",
                "action": "ACCEPT", "enable": 0}))
            },
            Want::Pass,
        ),
        (
            &S11a,
            "any-any drop",
            |s| {
                s.firewall_rules
                    .as_mut()
                    .unwrap()
                    .push(json!({"pos": 5, "type": "in",
                "action": "DROP", "enable": 1}))
            },
            Want::Pass,
        ),
        (
            &S11a,
            "rules unreadable",
            |s| s.firewall_rules = denied("/cluster/firewall/rules"),
            Want::Skip("403"),
        ),
        // S11b
        (
            &S11b,
            "ten disabled rules",
            |s| {
                for pos in 10..19 {
                    s.firewall_rules
                        .as_mut()
                        .unwrap()
                        .push(json!({"pos": pos, "type": "in",
                    "action": "ACCEPT", "proto": "tcp", "dport": "80", "enable": 0}));
                }
            },
            Want::Find(&[("cluster", Severity::Info)]),
        ),
        (
            &S11b,
            "nine disabled rules",
            |s| {
                for pos in 10..18 {
                    s.firewall_rules
                        .as_mut()
                        .unwrap()
                        .push(json!({"pos": pos, "type": "in",
                    "action": "ACCEPT", "proto": "tcp", "dport": "80", "enable": 0}));
                }
            },
            Want::Pass,
        ),
        (
            &S11b,
            "rules unreadable",
            |s| s.firewall_rules = denied("/cluster/firewall/rules"),
            Want::Skip("403"),
        ),
    ];

    #[test]
    fn firewall_rules() {
        check(CASES);
    }
}
