//! Pure: the security rules (access, firewall, certificates, updates, cluster crypto).

use serde_json::{Value, json};

use super::{Area, Confidence, Finding, Rule, Severity, Skip, ToolCall};
use crate::diagnostics::snapshot::cluster::{ClusterSnapshot, NodeSnapshot};

/// The `id`, `area` and `title` of a security rule, inside its `impl Rule`.
macro_rules! meta {
    ($id:literal, $title:literal) => {
        fn id(&self) -> &'static str {
            $id
        }
        fn area(&self) -> $crate::diagnostics::rules::Area {
            $crate::diagnostics::rules::Area::Security
        }
        fn title(&self) -> &'static str {
            $title
        }
    };
}

mod access;
mod certs;
mod corosync;
#[cfg(test)]
mod fixtures;
mod guest;
mod network;
mod node;
mod repos;
mod tokens;

/// The security rules, in catalogue order.
pub static RULES: &[&dyn Rule] = &[
    &access::S01,
    &access::S02,
    &access::S03,
    &tokens::S04a,
    &tokens::S04b,
    &tokens::S05a,
    &tokens::S05b,
    &tokens::S05c,
    &tokens::S06,
    &tokens::S07,
    &network::S08,
    &network::S09a,
    &network::S09b,
    &network::S10,
    &network::S11a,
    &network::S11b,
    &guest::S12a,
    &guest::S12b,
    &certs::S13a,
    &certs::S13b,
    &certs::S13c,
    &certs::S14,
    &node::S15a,
    &node::S15b,
    &node::S15c,
    &node::S16,
    &repos::S17a,
    &repos::S17b,
    &repos::S17c,
    &node::S18,
    &node::S21,
    &corosync::S22a,
    &corosync::S22b,
];

/// A security finding with the fields every rule sets; the rest is filled in with struct
/// update syntax (`Finding { evidence, ..finding(..) }`).
fn finding(rule: &'static str, severity: Severity, object: String, title: String) -> Finding {
    Finding {
        rule,
        area: Area::Security,
        severity,
        object,
        title,
        evidence: String::new(),
        recommendation: String::new(),
        fix: None,
        tool_call: None,
        confidence: Confidence::High,
    }
}

/// A `proxmox_api` call (it goes through the gate like any other).
fn api(method: &str, path: &str, params: Value) -> Option<ToolCall> {
    Some(ToolCall {
        tool: "proxmox_api",
        arguments: json!({"method": method, "path": path, "params": params}),
    })
}

/// Runs `judge` on every online node. Offline nodes are left to the health rule that reports
/// them. A node whose fact was not read is left out; when no node could be judged and one was
/// not read, the whole rule is skipped with the reasons (the collection's coverage note names
/// the missing reads either way).
fn per_node(
    snap: &ClusterSnapshot,
    mut judge: impl FnMut(&NodeSnapshot) -> Result<Vec<Finding>, Skip>,
) -> Result<Vec<Finding>, Skip> {
    let mut found = Vec::new();
    let mut missing = Vec::new();
    let mut judged = 0usize;
    for node in snap.nodes.values().filter(|n| n.online) {
        match judge(node) {
            Ok(f) => {
                judged += 1;
                found.extend(f);
            }
            Err(Skip(why)) => missing.push(format!("{}: {why}", node.name)),
        }
    }
    if judged == 0 && !missing.is_empty() {
        return Err(Skip(missing.join("; ")));
    }
    Ok(found)
}

/// Days, rounded down, from `now` to `then` (negative when past).
fn days_until(now: i64, then: i64) -> i64 {
    (then - now).div_euclid(86_400)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::DiagnosticsConfig;
    use crate::diagnostics::rules::Ctx;

    #[test]
    fn healthy_and_empty_snapshots_have_no_security_findings() {
        let config = DiagnosticsConfig::default();
        let ctx = Ctx { config: &config };
        let mut wrong = Vec::new();
        for (name, snap) in [
            ("healthy baseline", fixtures::healthy()),
            ("default", ClusterSnapshot::default()),
        ] {
            for rule in RULES {
                match rule.check(&snap, &ctx) {
                    Ok(found) if found.is_empty() => {}
                    Ok(found) => wrong.push(format!("{name}: {} {found:#?}", rule.id())),
                    // An empty snapshot lacks what some rules need (root@pam in the user
                    // list, guest firewall options): they say so instead of passing.
                    Err(Skip(_)) if name == "default" => {}
                    Err(Skip(why)) => wrong.push(format!("{name}: {} skipped: {why}", rule.id())),
                }
            }
        }
        assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    }

    #[test]
    fn at_least_26_rules_with_security_ids() {
        assert!(RULES.len() >= 26);
        for r in RULES {
            assert!(r.id().starts_with('S') && r.area() == Area::Security);
        }
    }

    #[test]
    fn per_node_skips_only_when_nothing_was_judged() {
        let mut snap = fixtures::healthy();
        let all_fail = per_node(&snap, |_| Err(Skip("403".into())));
        assert!(matches!(all_fail, Err(Skip(ref w)) if w.contains("pve1: 403")));
        snap.nodes.get_mut("pve2").unwrap().online = false;
        let some = per_node(&snap, |n| {
            if n.name == "pve1" {
                Err(Skip("403".into()))
            } else {
                Ok(vec![finding(
                    "S00",
                    Severity::Info,
                    n.name.clone(),
                    "t".into(),
                )])
            }
        });
        assert_eq!(
            some.unwrap().len(),
            1,
            "pve3 only: pve2 offline, pve1 unread"
        );
        assert_eq!(days_until(0, 86_399), 0);
        assert_eq!(days_until(0, -1), -1);
    }
}
