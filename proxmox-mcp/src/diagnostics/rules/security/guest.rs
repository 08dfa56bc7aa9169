//! Pure: guest firewall rules S12 (read only when guest firewall options were collected).

use super::network::cluster_firewall_on;
use serde_json::{Value, json};

use super::{api, finding};
use crate::diagnostics::rules::util::flag;
use crate::diagnostics::rules::{Confidence, Ctx, Finding, Outcome, Rule, Severity, Skip};
use crate::diagnostics::snapshot::cluster::ClusterSnapshot;

/// Runs `judge` on each guest whose firewall options were read, with its object and options
/// path. Skips when none were read (they are not part of the default checks) or none could
/// be; passes when the datacenter firewall is off (S08 reports that; guest rules are not
/// applied then).
fn per_guest(
    snap: &ClusterSnapshot,
    judge: impl Fn(&Value, &str, &str) -> Option<Finding>,
) -> Outcome {
    let read: Vec<_> = snap
        .guests
        .values()
        .filter_map(|g| g.firewall_options.as_ref().map(|o| (g, o)))
        .collect();
    if read.is_empty() {
        return Err(Skip(
            "guest firewall options were not read (not part of the default checks)".into(),
        ));
    }
    if !cluster_firewall_on(snap)? {
        return Ok(vec![]);
    }
    let mut found = Vec::new();
    let mut missing = Vec::new();
    let mut judged = 0usize;
    for (guest, options) in read {
        if flag(&guest.resource, "template") == Some(true) {
            continue;
        }
        let object = format!("{}/{}", guest.kind, guest.vmid);
        match options {
            Ok(options) => {
                let path = format!(
                    "/nodes/{}/{}/{}/firewall/options",
                    guest.node, guest.kind, guest.vmid
                );
                judged += 1;
                found.extend(judge(options, &object, &path));
            }
            Err(why) => missing.push(format!("{object}: {why}")),
        }
    }
    if judged == 0 && !missing.is_empty() {
        return Err(Skip(missing.join("; ")));
    }
    Ok(found)
}

/// S12a: a guest's firewall is off while the datacenter firewall is on.
pub struct S12a;
impl Rule for S12a {
    meta!("S12a", "Guest firewall disabled");
    fn check(&self, snap: &ClusterSnapshot, _ctx: &Ctx) -> Outcome {
        per_guest(snap, |options, object, path| {
            if flag(options, "enable").unwrap_or(false) {
                return None;
            }
            Some(Finding {
                evidence: format!("{path}: enable 0; datacenter firewall enable 1"),
                recommendation: "Enable the guest firewall (and firewall=1 on its NICs) so \
                                 its rules and security groups apply."
                    .into(),
                fix: Some(format!("pvesh set {path} --enable 1")),
                tool_call: api("PUT", path, json!({"enable": "1"})),
                confidence: Confidence::Medium,
                ..finding(
                    "S12a",
                    Severity::Warning,
                    object.into(),
                    format!("Firewall disabled on {object}"),
                )
            })
        })
    }
}

/// S12b: a guest firewall without the IP filter (the guest can spoof addresses).
pub struct S12b;
impl Rule for S12b {
    meta!("S12b", "Guest firewall without IP filter");
    fn check(&self, snap: &ClusterSnapshot, _ctx: &Ctx) -> Outcome {
        per_guest(snap, |options, object, path| {
            if !flag(options, "enable").unwrap_or(false)
                || flag(options, "ipfilter").unwrap_or(false)
            {
                return None;
            }
            Some(Finding {
                evidence: format!("{path}: enable 1, ipfilter 0"),
                recommendation: "Enable the IP filter so the guest can only send from its \
                                 own addresses."
                    .into(),
                fix: Some(format!("pvesh set {path} --ipfilter 1")),
                tool_call: api("PUT", path, json!({"ipfilter": "1"})),
                confidence: Confidence::Medium,
                ..finding(
                    "S12b",
                    Severity::Info,
                    object.into(),
                    format!("No IP filter on {object}"),
                )
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::super::fixtures::*;
    use super::*;

    const CASES: &[Case] = &[
        // S12a
        (
            &S12a,
            "guest firewall off",
            |s| s.guests.get_mut(&200).unwrap().firewall_options = Some(Ok(json!({"enable": 0}))),
            Want::Find(&[("lxc/200", Severity::Warning)]),
        ),
        (
            &S12a,
            "template left alone",
            |s| {
                let g = s.guests.get_mut(&200).unwrap();
                g.firewall_options = Some(Ok(json!({})));
                g.resource["template"] = json!(1);
            },
            Want::Pass,
        ),
        (
            &S12a,
            "not read",
            |s| {
                for g in s.guests.values_mut() {
                    g.firewall_options = None;
                }
            },
            Want::Skip("not read"),
        ),
        (
            &S12a,
            "unreadable",
            |s| {
                for g in s.guests.values_mut() {
                    g.firewall_options = Some(denied("/nodes/pve1/qemu/100/firewall/options"));
                }
            },
            Want::Skip("403"),
        ),
        // S12b
        (
            &S12b,
            "no ipfilter",
            |s| s.guests.get_mut(&100).unwrap().firewall_options = Some(Ok(json!({"enable": 1}))),
            Want::Find(&[("qemu/100", Severity::Info)]),
        ),
        (
            &S12b,
            "firewall off: S12a reports",
            |s| s.guests.get_mut(&100).unwrap().firewall_options = Some(Ok(json!({"enable": 0}))),
            Want::Pass,
        ),
        (
            &S12b,
            "not read",
            |s| {
                for g in s.guests.values_mut() {
                    g.firewall_options = None;
                }
            },
            Want::Skip("not read"),
        ),
    ];

    #[test]
    fn guest_firewall_rules() {
        check(CASES);
    }
}
