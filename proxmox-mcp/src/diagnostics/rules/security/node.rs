//! Pure: node rules S15, S16, S18 and S21 (subscription, updates, end of life, microcode).

use serde_json::{Value, json};

use super::{api, days_until, finding, per_node};
use crate::audit::event::parse_day;
use crate::diagnostics::rules::util::str_of;
use crate::diagnostics::rules::{Confidence, Ctx, Finding, Outcome, Rule, Severity, Skip, got};
use crate::diagnostics::snapshot::cluster::{ClusterSnapshot, NodeSnapshot};

/// End of security support per Proxmox VE major release (the last day of the month the
/// project announced; later majors are supported).
const EOL: &[(u64, &str)] = &[
    (4, "2018-06-30"),
    (5, "2020-07-31"),
    (6, "2022-07-31"),
    (7, "2024-07-31"),
    (8, "2026-08-31"),
];

/// The node's subscription status, lower-cased, with the subscription body.
pub(super) fn subscription(node: &NodeSnapshot) -> Result<(String, &Value), Skip> {
    let sub = got(&node.subscription)?;
    Ok((
        str_of(sub, "status").unwrap_or("").to_ascii_lowercase(),
        sub,
    ))
}

/// One subscription finding for the statuses in `statuses`.
fn subscription_status(
    snap: &ClusterSnapshot,
    rule: &'static str,
    statuses: &[&str],
    severity: Severity,
) -> Outcome {
    per_node(snap, |node| {
        let (status, sub) = subscription(node)?;
        if !statuses.contains(&status.as_str()) {
            return Ok(vec![]);
        }
        let n = &node.name;
        let message = str_of(sub, "message").map_or(String::new(), |m| format!(" ({m})"));
        Ok(vec![Finding {
            evidence: format!("/nodes/{n}/subscription: status {status}{message}"),
            recommendation: if status == "notfound" {
                "Add a subscription key for production use (enterprise repository, \
                 support), or switch to the no-subscription repository knowingly."
                    .into()
            } else {
                "Renew or re-check the subscription key with the vendor's shop.".into()
            },
            fix: Some(if status == "notfound" {
                format!("pvesubscription set <key>   # on {n}")
            } else {
                format!("pvesubscription update --force   # on {n}")
            }),
            tool_call: if status == "notfound" {
                None
            } else {
                api(
                    "POST",
                    &format!("/nodes/{n}/subscription"),
                    json!({"force": "1"}),
                )
            },
            ..finding(
                rule,
                severity,
                format!("node/{n}"),
                format!("Subscription on {n}: {status}"),
            )
        }])
    })
}

/// S15a: no subscription, or one that is new (unchecked) or suspended.
pub struct S15a;
impl Rule for S15a {
    meta!(
        "S15a",
        "No valid subscription (not found, new or suspended)"
    );
    fn check(&self, snap: &ClusterSnapshot, _ctx: &Ctx) -> Outcome {
        subscription_status(
            snap,
            "S15a",
            &["notfound", "new", "suspended"],
            Severity::Warning,
        )
    }
}

/// S15b: an expired or invalid subscription.
pub struct S15b;
impl Rule for S15b {
    meta!("S15b", "Subscription expired or invalid");
    fn check(&self, snap: &ClusterSnapshot, _ctx: &Ctx) -> Outcome {
        subscription_status(snap, "S15b", &["expired", "invalid"], Severity::Critical)
    }
}

/// S15c: an active subscription whose next due date is near.
pub struct S15c;
impl Rule for S15c {
    meta!("S15c", "Subscription due soon");
    fn check(&self, snap: &ClusterSnapshot, ctx: &Ctx) -> Outcome {
        let warn = ctx.threshold("S15.warn_days", 30.0);
        per_node(snap, |node| {
            let (status, sub) = subscription(node)?;
            let Some(due) = str_of(sub, "nextduedate").filter(|_| status == "active") else {
                return Ok(vec![]);
            };
            let Some(day) = parse_day(due) else {
                return Ok(vec![]);
            };
            let days = days_until(snap.now, day * 86_400);
            if days as f64 >= warn {
                return Ok(vec![]);
            }
            let n = &node.name;
            Ok(vec![Finding {
                evidence: format!("nextduedate {due}: {days} days (warn < {warn})"),
                recommendation: "Renew the subscription before its due date so the \
                                 enterprise repository keeps working."
                    .into(),
                fix: Some(format!(
                    "pvesubscription update --force   # on {n}, after renewal"
                )),
                ..finding(
                    "S15c",
                    Severity::Warning,
                    format!("node/{n}"),
                    format!("Subscription on {n} is due in {days} days"),
                )
            }])
        })
    }
}

/// S16: pending package updates.
pub struct S16;
impl Rule for S16 {
    meta!("S16", "Pending package updates");
    fn check(&self, snap: &ClusterSnapshot, _ctx: &Ctx) -> Outcome {
        per_node(snap, |node| {
            let updates = got(&node.apt_updates)?;
            if updates.is_empty() {
                return Ok(vec![]);
            }
            let n = &node.name;
            let shown: Vec<String> = updates
                .iter()
                .take(8)
                .map(|u| {
                    format!(
                        "{} {} → {}",
                        str_of(u, "Package").unwrap_or("?"),
                        str_of(u, "OldVersion").unwrap_or("?"),
                        str_of(u, "Version").unwrap_or("?")
                    )
                })
                .collect();
            let more = updates.len().saturating_sub(shown.len());
            let more = if more > 0 {
                format!(", and {more} more")
            } else {
                String::new()
            };
            Ok(vec![Finding {
                evidence: format!("{} pending: {}{more}", updates.len(), shown.join(", ")),
                recommendation: "Install the updates (migrate guests away first if a new \
                                 kernel or QEMU needs a restart)."
                    .into(),
                fix: Some(format!("apt update && apt full-upgrade   # on {n}")),
                ..finding(
                    "S16",
                    Severity::Warning,
                    format!("node/{n}"),
                    format!("{} pending updates on {n}", updates.len()),
                )
            }])
        })
    }
}

/// S18: the cluster runs a release past (or near) its end of life.
pub struct S18;
impl Rule for S18 {
    meta!("S18", "Proxmox VE release at end of life");
    fn check(&self, snap: &ClusterSnapshot, ctx: &Ctx) -> Outcome {
        let version = got(&snap.version)?;
        // The oldest release in the cluster: /version answers for one node only.
        let major_of = |v: &Value| -> Option<(u64, String)> {
            let text = str_of(v, "version")?;
            Some((text.split('.').next()?.parse().ok()?, text.to_owned()))
        };
        let oldest = std::iter::once(version)
            .chain(snap.nodes.values().filter_map(|n| n.version.as_ref().ok()))
            .filter_map(major_of)
            .min_by_key(|(major, _)| *major);
        let Some((major, text)) = oldest else {
            return Ok(vec![]);
        };
        let eol = match EOL.iter().find(|(m, _)| *m == major) {
            Some((_, day)) => parse_day(day).map(|d| (d + 1) * 86_400),
            None if major < EOL[0].0 => Some(0),
            None => None,
        };
        let Some(eol) = eol else {
            return Ok(vec![]);
        };
        let notice = ctx.threshold("S18.notice_days", 90.0);
        let days = days_until(snap.now, eol);
        let (severity, title, evidence) = if days < 0 {
            (
                Severity::Warning,
                format!("Proxmox VE {major} is past its end of life"),
                format!(
                    "version {text}; security support for {major}.x ended {} days ago",
                    -days
                ),
            )
        } else if (days as f64) < notice {
            (
                Severity::Notice,
                format!("Proxmox VE {major} reaches its end of life in {days} days"),
                format!(
                    "version {text}; security support for {major}.x ends in {days} days (notice < {notice})"
                ),
            )
        } else {
            return Ok(vec![]);
        };
        Ok(vec![Finding {
            evidence,
            recommendation: "Plan the upgrade to the current major release (run the upgrade \
                             checker first)."
                .into(),
            fix: Some(format!(
                "pve{major}to{} --full   # on each node, then follow the upgrade guide",
                major + 1
            )),
            ..finding("S18", severity, "cluster".into(), title)
        }])
    }
}

/// S21: no CPU microcode package installed.
pub struct S21;
impl Rule for S21 {
    meta!("S21", "CPU microcode package missing");
    fn check(&self, snap: &ClusterSnapshot, _ctx: &Ctx) -> Outcome {
        per_node(snap, |node| {
            let versions = got(&node.apt_versions)?;
            if versions.is_empty() {
                return Ok(vec![]);
            }
            let model = node
                .status
                .as_ref()
                .ok()
                .and_then(|s| s.get("cpuinfo"))
                .and_then(|c| str_of(c, "model"))
                .unwrap_or("");
            let wanted: &[&str] = if model.contains("Intel") {
                &["intel-microcode"]
            } else if model.contains("AMD") {
                &["amd64-microcode"]
            } else {
                &["intel-microcode", "amd64-microcode"]
            };
            let installed = versions.iter().any(|v| {
                str_of(v, "Package").is_some_and(|p| wanted.contains(&p))
                    && str_of(v, "CurrentState").is_none_or(|s| s == "Installed")
            });
            if installed {
                return Ok(vec![]);
            }
            let n = &node.name;
            let package = wanted.join(" or ");
            Ok(vec![Finding {
                evidence: format!(
                    "{package} not installed per /nodes/{n}/apt/versions (CPU: {})",
                    if model.is_empty() { "unknown" } else { model }
                ),
                recommendation: "Install the CPU microcode package (from the \
                                 non-free-firmware component) so CPU vulnerability fixes load \
                                 at boot."
                    .into(),
                fix: Some(format!("apt install {}   # on {n}, then reboot", wanted[0])),
                confidence: Confidence::Medium,
                ..finding(
                    "S21",
                    Severity::Warning,
                    format!("node/{n}"),
                    format!("No CPU microcode package on {n}"),
                )
            }])
        })
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::super::fixtures::*;
    use super::*;

    const CASES: &[Case] = &[
        // S15a
        (
            &S15a,
            "notfound",
            |s| {
                node(s, "pve1").subscription = Ok(json!({"status": "notfound",
                "message": "There is no subscription key"}))
            },
            Want::Find(&[("node/pve1", Severity::Warning)]),
        ),
        (
            &S15a,
            "suspended",
            |s| node(s, "pve3").subscription.as_mut().unwrap()["status"] = json!("Suspended"),
            Want::Find(&[("node/pve3", Severity::Warning)]),
        ),
        (
            &S15a,
            "subscription unreadable",
            |s| {
                for n in s.nodes.values_mut() {
                    n.subscription = denied("/nodes/x/subscription");
                }
            },
            Want::Skip("403"),
        ),
        // S15b
        (
            &S15b,
            "expired",
            |s| node(s, "pve2").subscription.as_mut().unwrap()["status"] = json!("expired"),
            Want::Find(&[("node/pve2", Severity::Critical)]),
        ),
        (
            &S15b,
            "notfound: S15a reports",
            |s| node(s, "pve2").subscription = Ok(json!({"status": "notfound"})),
            Want::Pass,
        ),
        (
            &S15b,
            "subscription unreadable",
            |s| {
                for n in s.nodes.values_mut() {
                    n.subscription = denied("/nodes/x/subscription");
                }
            },
            Want::Skip("403"),
        ),
        // S15c
        (
            &S15c,
            "due in 10 days",
            |s| node(s, "pve2").subscription.as_mut().unwrap()["nextduedate"] = json!("2026-12-16"),
            Want::Find(&[("node/pve2", Severity::Warning)]),
        ),
        (
            &S15c,
            "due in 40 days",
            |s| node(s, "pve2").subscription.as_mut().unwrap()["nextduedate"] = json!("2027-01-15"),
            Want::Pass,
        ),
        (
            &S15c,
            "subscription unreadable",
            |s| {
                for n in s.nodes.values_mut() {
                    n.subscription = denied("/nodes/x/subscription");
                }
            },
            Want::Skip("403"),
        ),
        // S16
        (
            &S16,
            "updates pending",
            |s| {
                node(s, "pve1").apt_updates = Ok(vec![json!({"Package": "pve-manager",
                "OldVersion": "9.1.1", "Version": "9.1.2", "Origin": "Proxmox",
                "Priority": "optional", "Section": "admin"})])
            },
            Want::Find(&[("node/pve1", Severity::Warning)]),
        ),
        (
            &S16,
            "no Sys.Modify",
            |s| {
                for n in s.nodes.values_mut() {
                    n.apt_updates = denied("/nodes/x/apt/update");
                }
            },
            Want::Skip("403"),
        ),
        // S18
        (
            &S18,
            "PVE 7",
            |s| s.version = Ok(json!({"version": "7.4-3", "release": "7.4"})),
            Want::Find(&[("cluster", Severity::Warning)]),
        ),
        (
            &S18,
            "PVE 8 past August 2026",
            |s| s.version = Ok(json!({"version": "8.4.14"})),
            Want::Find(&[("cluster", Severity::Warning)]),
        ),
        (
            &S18,
            "PVE 8 two months before",
            |s| {
                s.version = Ok(json!({"version": "8.4.1"}));
                s.now = NOW - 150 * DAY;
            },
            Want::Find(&[("cluster", Severity::Notice)]),
        ),
        (
            &S18,
            "PVE 5",
            |s| s.version = Ok(json!({"version": "5.4-13"})),
            Want::Find(&[("cluster", Severity::Warning)]),
        ),
        (
            &S18,
            "one node still on PVE 7",
            |s| node(s, "pve3").version = Ok(json!({"version": "7.4-19", "release": "7.4"})),
            Want::Find(&[("cluster", Severity::Warning)]),
        ),
        (
            &S18,
            "version unreadable",
            |s| s.version = denied("/version"),
            Want::Skip("403"),
        ),
        // S21
        (
            &S21,
            "no microcode",
            |s| {
                node(s, "pve1")
                    .apt_versions
                    .as_mut()
                    .unwrap()
                    .retain(|v| v["Package"] != "intel-microcode")
            },
            Want::Find(&[("node/pve1", Severity::Warning)]),
        ),
        (
            &S21,
            "wrong vendor's microcode",
            |s| node(s, "pve1").status = Ok(json!({"cpuinfo": {"model": "AMD EPYC 7543"}})),
            Want::Find(&[("node/pve1", Severity::Warning)]),
        ),
        (
            &S21,
            "versions unreadable",
            |s| {
                for n in s.nodes.values_mut() {
                    n.apt_versions = denied("/nodes/x/apt/versions");
                }
            },
            Want::Skip("403"),
        ),
    ];

    #[test]
    fn node_rules() {
        check(CASES);
    }

    #[test]
    fn eol_table_is_ordered_dates() {
        for pair in EOL.windows(2) {
            assert!(pair[0].0 < pair[1].0);
            assert!(parse_day(pair[0].1) < parse_day(pair[1].1));
        }
        assert!(EOL.iter().all(|(_, d)| parse_day(d).is_some()));
    }
}
