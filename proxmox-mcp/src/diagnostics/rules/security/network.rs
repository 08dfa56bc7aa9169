//! Pure: network rules S08–S12 (datacenter, node and guest firewall) and S22 (corosync crypto).

use serde_json::{Value, json};

use super::{api, finding, per_node};
use crate::diagnostics::rules::util::{flag, num, str_of};
use crate::diagnostics::rules::{
    Area, Confidence, Ctx, Finding, Outcome, Rule, Severity, Skip, got,
};
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
fn cluster_firewall_on(snap: &ClusterSnapshot) -> Result<bool, Skip> {
    Ok(flag(cluster_options(snap)?, "enable").unwrap_or(false))
}

/// A policy member, upper-cased.
fn policy(options: &Value, key: &str) -> Option<String> {
    str_of(options, key).map(str::to_ascii_uppercase)
}

/// S08: the datacenter firewall is off.
pub struct S08;
impl Rule for S08 {
    fn id(&self) -> &'static str {
        "S08"
    }
    fn area(&self) -> Area {
        Area::Security
    }
    fn title(&self) -> &'static str {
        "Datacenter firewall disabled"
    }
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
    fn id(&self) -> &'static str {
        "S09a"
    }
    fn area(&self) -> Area {
        Area::Security
    }
    fn title(&self) -> &'static str {
        "Datacenter firewall input policy ACCEPT"
    }
    fn check(&self, snap: &ClusterSnapshot, _ctx: &Ctx) -> Outcome {
        permissive_policy(snap, "S09a", "policy_in", Severity::Warning)
    }
}

/// S09b: the forward policy (PVE 9, nftables firewall) set to ACCEPT. Only an explicit
/// setting is reported: an unset policy is the product default.
pub struct S09b;
impl Rule for S09b {
    fn id(&self) -> &'static str {
        "S09b"
    }
    fn area(&self) -> Area {
        Area::Security
    }
    fn title(&self) -> &'static str {
        "Datacenter firewall forward policy ACCEPT"
    }
    fn check(&self, snap: &ClusterSnapshot, _ctx: &Ctx) -> Outcome {
        permissive_policy(snap, "S09b", "policy_forward", Severity::Notice)
    }
}

/// S10: a node's host firewall is off while the datacenter firewall is on.
pub struct S10;
impl Rule for S10 {
    fn id(&self) -> &'static str {
        "S10"
    }
    fn area(&self) -> Area {
        Area::Security
    }
    fn title(&self) -> &'static str {
        "Node firewall disabled while the datacenter firewall is on"
    }
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
    fn id(&self) -> &'static str {
        "S11a"
    }
    fn area(&self) -> Area {
        Area::Security
    }
    fn title(&self) -> &'static str {
        "Datacenter firewall rule accepting any to any"
    }
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
    fn id(&self) -> &'static str {
        "S11b"
    }
    fn area(&self) -> Area {
        Area::Security
    }
    fn title(&self) -> &'static str {
        "Many disabled datacenter firewall rules"
    }
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
    fn id(&self) -> &'static str {
        "S12a"
    }
    fn area(&self) -> Area {
        Area::Security
    }
    fn title(&self) -> &'static str {
        "Guest firewall disabled"
    }
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
    fn id(&self) -> &'static str {
        "S12b"
    }
    fn area(&self) -> Area {
        Area::Security
    }
    fn title(&self) -> &'static str {
        "Guest firewall without IP filter"
    }
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

/// The totem section, `None` on a node without a cluster (nothing configured).
fn totem(snap: &ClusterSnapshot) -> Result<Option<&Value>, Skip> {
    let totem = got(&snap.totem)?;
    Ok(totem
        .as_object()
        .is_some_and(|o| !o.is_empty())
        .then_some(totem))
}

const COROSYNC_FIX: &str = "Edit /etc/pve/corosync.conf: in totem set `crypto_cipher: aes256` \
                            and `crypto_hash: sha256` (or `secauth: on`), raise config_version, \
                            then check with corosync-cfgtool -s";

/// S22a: corosync traffic neither authenticated nor encrypted.
pub struct S22a;
impl Rule for S22a {
    fn id(&self) -> &'static str {
        "S22a"
    }
    fn area(&self) -> Area {
        Area::Security
    }
    fn title(&self) -> &'static str {
        "Corosync without authentication and encryption"
    }
    fn check(&self, snap: &ClusterSnapshot, _ctx: &Ctx) -> Outcome {
        let Some(totem) = totem(snap)? else {
            return Ok(vec![]);
        };
        let secauth = flag(totem, "secauth").unwrap_or(false);
        let cipher = str_of(totem, "crypto_cipher").unwrap_or("none");
        if secauth || !cipher.eq_ignore_ascii_case("none") {
            return Ok(vec![]);
        }
        Ok(vec![Finding {
            evidence: format!(
                "totem: secauth {}, crypto_cipher {}",
                str_of(totem, "secauth").unwrap_or("unset"),
                str_of(totem, "crypto_cipher").unwrap_or("unset")
            ),
            recommendation: "Turn on corosync encryption: anyone on the cluster network can \
                             otherwise forge cluster messages."
                .into(),
            fix: Some(COROSYNC_FIX.into()),
            ..finding(
                "S22a",
                Severity::Critical,
                "cluster".into(),
                "Corosync traffic is not authenticated or encrypted".into(),
            )
        }])
    }
}

/// S22b: corosync encrypted with 3DES.
pub struct S22b;
impl Rule for S22b {
    fn id(&self) -> &'static str {
        "S22b"
    }
    fn area(&self) -> Area {
        Area::Security
    }
    fn title(&self) -> &'static str {
        "Corosync encrypted with 3DES"
    }
    fn check(&self, snap: &ClusterSnapshot, _ctx: &Ctx) -> Outcome {
        let Some(totem) = totem(snap)? else {
            return Ok(vec![]);
        };
        if !str_of(totem, "crypto_cipher").is_some_and(|c| c.eq_ignore_ascii_case("3des")) {
            return Ok(vec![]);
        }
        Ok(vec![Finding {
            evidence: "totem: crypto_cipher 3des".into(),
            recommendation: "Switch corosync to AES-256: 3DES is a deprecated 64-bit block \
                             cipher."
                .into(),
            fix: Some(COROSYNC_FIX.into()),
            ..finding(
                "S22b",
                Severity::Critical,
                "cluster".into(),
                "Corosync uses the weak 3DES cipher".into(),
            )
        }])
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::super::fixtures::{Case, Want, check, denied};
    use super::*;

    fn options(s: &mut ClusterSnapshot) -> &mut Value {
        s.firewall_options.as_mut().unwrap()
    }

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
        // S22a
        (
            &S22a,
            "secauth off, no cipher",
            |s| s.totem.as_mut().unwrap()["secauth"] = json!("off"),
            Want::Find(&[("cluster", Severity::Critical)]),
        ),
        (
            &S22a,
            "cipher set",
            |s| {
                let t = s.totem.as_mut().unwrap();
                t.as_object_mut().unwrap().remove("secauth");
                t["crypto_cipher"] = json!("aes256");
                t["crypto_hash"] = json!("sha256");
            },
            Want::Pass,
        ),
        (
            &S22a,
            "single node: no totem",
            |s| s.totem = Ok(json!({})),
            Want::Pass,
        ),
        (
            &S22a,
            "totem unreadable",
            |s| s.totem = denied("/cluster/config/totem"),
            Want::Skip("403"),
        ),
        // S22b
        (
            &S22b,
            "3des",
            |s| s.totem.as_mut().unwrap()["crypto_cipher"] = json!("3des"),
            Want::Find(&[("cluster", Severity::Critical)]),
        ),
        (
            &S22b,
            "totem unreadable",
            |s| s.totem = denied("/cluster/config/totem"),
            Want::Skip("403"),
        ),
    ];

    #[test]
    fn network_rules() {
        check(CASES);
    }
}
