//! Pure: physical disk rules: SMART verdict and attributes, SSD wearout (H29–H31).

use serde_json::Value;

use super::zfs::off_reason;
use super::{FindingExt, finding, graded, health_rule, per_node};
use crate::diagnostics::rules::util::{num, str_of};
use crate::diagnostics::rules::{Confidence, Ctx, Finding, Outcome, Severity, Skip};
use crate::diagnostics::snapshot::cluster::{ClusterSnapshot, NodeSnapshot};

health_rule!(H29, "H29", "Disk SMART verdict not passed", smart_verdict);
health_rule!(H30a, "H30a", "Disk has reallocated sectors", reallocated);
health_rule!(
    H30b,
    "H30b",
    "Disk has pending or uncorrectable sectors",
    pending
);
health_rule!(H30c, "H30c", "Disk has interface CRC errors", crc);
health_rule!(H30d, "H30d", "Disk temperature high", temperature);
health_rule!(H31, "H31", "SSD wearing out", wearout);

/// Whole disks of a node's disk list (partitions carry a `parent`).
fn whole_disks(list: &[Value]) -> impl Iterator<Item = (&str, &Value)> {
    list.iter()
        .filter(|d| d.get("parent").is_none())
        .filter_map(|d| Some((str_of(d, "devpath")?, d)))
}

fn smart_verdict(snap: &ClusterSnapshot, _: &Ctx) -> Outcome {
    per_node(
        snap,
        |n| &n.disks,
        |n, list, out| {
            for (dev, d) in whole_disks(list) {
                let Some(health) = str_of(d, "health") else {
                    continue;
                };
                if matches!(health.to_ascii_uppercase().as_str(), "PASSED" | "OK") {
                    continue;
                }
                let failed = health.eq_ignore_ascii_case("FAILED");
                let f = finding(
                "H29",
                if failed { Severity::Critical } else { Severity::Warning },
                format!("disk/{}{dev}", n.name),
                format!("Disk {dev} on {} reports SMART {health}", n.name),
                format!("SMART health {health} ({})", str_of(d, "model").unwrap_or("unknown model")),
                "Check the disk's SMART log and replace it if it is failing; make sure its data is redundant or backed up.",
            )
            .with_fix(format!("smartctl -a {dev}"));
                out.push(if failed {
                    f
                } else {
                    f.with_confidence(Confidence::Medium)
                });
            }
        },
    )
}

/// The leading number of a SMART raw value (`36 (Min/Max 20/45)` → 36).
fn raw(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.split_whitespace().next()?.parse().ok(),
        _ => None,
    }
}

/// An attribute's raw value from an ATA SMART table, by name.
fn attr(smart: &Value, names: &[&str]) -> Option<f64> {
    smart
        .get("attributes")?
        .as_array()?
        .iter()
        .find(|a| str_of(a, "name").is_some_and(|n| names.contains(&n)))
        .and_then(|a| raw(a.get("raw")?))
}

/// A `Key: value` line of NVMe SMART text (`Temperature: 38 Celsius`).
fn text_value(smart: &Value, key: &str) -> Option<f64> {
    str_of(smart, "text")?
        .lines()
        .find_map(|l| l.trim().strip_prefix(key)?.trim().strip_prefix(':'))
        .and_then(|v| v.split_whitespace().next()?.replace(',', "").parse().ok())
}

/// Runs `judge` over every SMART table read; skips when SMART checks were not run at all.
fn per_smart(
    snap: &ClusterSnapshot,
    mut judge: impl FnMut(&NodeSnapshot, &str, &Value, &mut Vec<Finding>),
) -> Outcome {
    let mut out = Vec::new();
    let mut missing = Vec::new();
    let mut read = 0;
    let mut disks = 0;
    for n in snap.nodes.values().filter(|n| n.online) {
        disks += n
            .disks
            .as_ref()
            .map(|d| whole_disks(d).count())
            .unwrap_or(0);
        for (dev, s) in &n.smart {
            match s {
                Ok(v) => {
                    read += 1;
                    judge(n, dev, v, &mut out);
                }
                Err(why) => missing.push(format!("{}{dev}: {why}", n.name)),
            }
        }
    }
    if read == 0 && missing.is_empty() && disks > 0 {
        return Err(off_reason(
            snap,
            "smart",
            "SMART checks are off (diagnostics.smart)",
        ));
    }
    if out.is_empty() && !missing.is_empty() {
        return Err(Skip(missing.join("; ")));
    }
    Ok(out)
}

/// One SMART counter rule: which raw values count, and how bad a non-zero one is.
struct Counter {
    rule: &'static str,
    severity: Severity,
    attrs: &'static [&'static str],
    nvme: Option<&'static str>,
    what: &'static str,
    recommendation: &'static str,
}

/// Raw values above `0` (or the configured `<rule>.max`) are findings.
fn counter(snap: &ClusterSnapshot, ctx: &Ctx, c: &Counter) -> Outcome {
    let max = ctx.threshold(&format!("{}.max", c.rule), 0.0);
    per_smart(snap, |n, dev, s, out| {
        let mut hits = Vec::new();
        for a in c.attrs {
            if let Some(v) = attr(s, &[a]).filter(|v| *v > max) {
                hits.push(format!("{a} {v}"));
            }
        }
        if let Some(key) = c.nvme
            && let Some(v) = text_value(s, key).filter(|v| *v > max)
        {
            hits.push(format!("{key} {v}"));
        }
        if !hits.is_empty() {
            out.push(
                finding(
                    c.rule,
                    c.severity,
                    format!("disk/{}{dev}", n.name),
                    format!("Disk {dev} on {} has {}", n.name, c.what),
                    format!("{} (threshold > {max})", hits.join(", ")),
                    c.recommendation,
                )
                .with_fix(format!("smartctl -a {dev}")),
            );
        }
    })
}

fn reallocated(snap: &ClusterSnapshot, ctx: &Ctx) -> Outcome {
    counter(
        snap,
        ctx,
        &Counter {
            rule: "H30a",
            severity: Severity::Warning,
            attrs: &["Reallocated_Sector_Ct", "Reallocated_Event_Count"],
            nvme: None,
            what: "reallocated sectors",
            recommendation: "Watch the count; plan to replace the disk if it grows.",
        },
    )
}

fn pending(snap: &ClusterSnapshot, ctx: &Ctx) -> Outcome {
    counter(
        snap,
        ctx,
        &Counter {
            rule: "H30b",
            severity: Severity::Critical,
            attrs: &[
                "Current_Pending_Sector",
                "Offline_Uncorrectable",
                "Reported_Uncorrect",
            ],
            nvme: Some("Media and Data Integrity Errors"),
            what: "unreadable sectors",
            recommendation: "Replace the disk: it has sectors it cannot read.",
        },
    )
}

fn crc(snap: &ClusterSnapshot, ctx: &Ctx) -> Outcome {
    counter(
        snap,
        ctx,
        &Counter {
            rule: "H30c",
            severity: Severity::Warning,
            attrs: &["UDMA_CRC_Error_Count", "CRC_Error_Count"],
            nvme: None,
            what: "interface CRC errors",
            recommendation: "Reseat or replace the SATA/SAS cable or backplane slot; CRC errors point at the link, not the platters.",
        },
    )
}

fn temperature(snap: &ClusterSnapshot, ctx: &Ctx) -> Outcome {
    let warn = ctx.threshold("H30d.warn", 55.0);
    let crit = ctx.threshold("H30d.crit", 65.0);
    per_smart(snap, |n, dev, s, out| {
        let Some(t) = attr(
            s,
            &[
                "Temperature_Celsius",
                "Airflow_Temperature_Cel",
                "Temperature_Internal",
            ],
        )
        .or_else(|| text_value(s, "Temperature")) else {
            return;
        };
        let severity = if t >= crit {
            Severity::Critical
        } else if t >= warn {
            Severity::Warning
        } else {
            return;
        };
        out.push(finding(
            "H30d",
            severity,
            format!("disk/{}{dev}", n.name),
            format!("Disk {dev} on {} runs at {t} °C", n.name),
            format!("temperature {t} °C (warn ≥ {warn}, crit ≥ {crit})"),
            "Improve cooling (airflow, fans, dust) around the disk.",
        ));
    })
}

fn wearout(snap: &ClusterSnapshot, ctx: &Ctx) -> Outcome {
    per_node(
        snap,
        |n| &n.disks,
        |n, list, out| {
            for (dev, d) in whole_disks(list) {
                // PVE reports the life REMAINING in percent ("N/A" for spinning disks).
                let Some(left) = num(d, "wearout") else {
                    continue;
                };
                let used = 100.0 - left;
                if let Some((severity, warn, crit)) = graded(ctx, "H31", used, 70.0, 85.0) {
                    out.push(
                    finding(
                        "H31",
                        severity,
                        format!("disk/{}{dev}", n.name),
                        format!("SSD {dev} on {} is {used:.0} % worn", n.name),
                        format!("wearout {left:.0} % life left = {used:.0} % used (warn ≥ {warn}, crit ≥ {crit})"),
                        "Plan the replacement of the SSD before it reaches its write endurance.",
                    )
                    .with_fix(format!("smartctl -a {dev}")),
                );
                }
            }
        },
    )
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::super::fixtures::{baseline, check, denied, node, skips};
    use super::*;
    use crate::diagnostics::rules::Rule;

    fn sda_attr(snap: &mut ClusterSnapshot, name: &str, value: &str) {
        let smart = node(snap, "pve1")
            .smart
            .get_mut("/dev/sda")
            .unwrap()
            .as_mut()
            .unwrap();
        for a in smart["attributes"].as_array_mut().unwrap() {
            if a["name"] == name {
                a["raw"] = json!(value);
            }
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
                &H29,
                |s| node(s, "pve2").disks.as_mut().unwrap()[1]["health"] = json!("FAILED"),
                "disk/pve2/dev/sda",
                Severity::Critical,
            ),
            (
                &H29,
                |s| node(s, "pve2").disks.as_mut().unwrap()[0]["health"] = json!("UNKNOWN"),
                "disk/pve2/dev/nvme0n1",
                Severity::Warning,
            ),
            (
                &H30a,
                |s| sda_attr(s, "Reallocated_Sector_Ct", "8"),
                "disk/pve1/dev/sda",
                Severity::Warning,
            ),
            (
                &H30b,
                |s| sda_attr(s, "Current_Pending_Sector", "1"),
                "disk/pve1/dev/sda",
                Severity::Critical,
            ),
            (
                &H30b,
                |s| {
                    let nvme = node(s, "pve3")
                        .smart
                        .get_mut("/dev/nvme0n1")
                        .unwrap()
                        .as_mut()
                        .unwrap();
                    nvme["text"] =
                        json!("Temperature: 40 Celsius\nMedia and Data Integrity Errors: 3\n");
                },
                "disk/pve3/dev/nvme0n1",
                Severity::Critical,
            ),
            (
                &H30c,
                |s| sda_attr(s, "UDMA_CRC_Error_Count", "27"),
                "disk/pve1/dev/sda",
                Severity::Warning,
            ),
            (
                &H30d,
                |s| sda_attr(s, "Temperature_Celsius", "67 (Min/Max 20/70)"),
                "disk/pve1/dev/sda",
                Severity::Critical,
            ),
            (
                &H30d,
                |s| {
                    let nvme = node(s, "pve3")
                        .smart
                        .get_mut("/dev/nvme0n1")
                        .unwrap()
                        .as_mut()
                        .unwrap();
                    nvme["text"] = json!("Temperature: 58 Celsius\n");
                },
                "disk/pve3/dev/nvme0n1",
                Severity::Warning,
            ),
            (
                &H31,
                |s| node(s, "pve1").disks.as_mut().unwrap()[0]["wearout"] = json!(22),
                "disk/pve1/dev/nvme0n1",
                Severity::Warning,
            ),
            (
                &H31,
                |s| node(s, "pve1").disks.as_mut().unwrap()[0]["wearout"] = json!("10"),
                "disk/pve1/dev/nvme0n1",
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
        // A partition with odd health and wear figures is judged through its disk.
        node(&mut snap, "pve1").disks.as_mut().unwrap().push(
            json!({"devpath": "/dev/sda1", "parent": "/dev/sda", "health": "UNKNOWN", "wearout": 1}),
        );
        // A disk without SMART support reports no table: nothing to judge.
        node(&mut snap, "pve2")
            .smart
            .insert("/dev/sdb".into(), Ok(json!({"health": "UNKNOWN"})));
        for rule in [&H29 as &dyn Rule, &H30a, &H30b, &H30c, &H30d, &H31] {
            assert_eq!(check(rule, &snap), vec![], "{}", rule.id());
        }
    }

    #[test]
    fn missing_facts_skip() {
        type Case = (&'static dyn Rule, fn(&mut ClusterSnapshot), &'static str);
        let cases: &[Case] = &[
            (&H29, |s| node(s, "pve1").disks = denied(), "403"),
            (
                &H30a,
                |s| s.nodes.values_mut().for_each(|n| n.smart.clear()),
                "diagnostics.smart",
            ),
            (
                &H30b,
                |s| {
                    s.nodes.values_mut().for_each(|n| n.smart.clear());
                    s.skipped.insert(
                        "smart".into(),
                        "SMART reads disabled by the operator".into(),
                    );
                },
                "disabled by the operator",
            ),
            (
                &H30c,
                |s| *node(s, "pve1").smart.get_mut("/dev/sda").unwrap() = denied(),
                "403",
            ),
            (
                &H30d,
                |s| *node(s, "pve1").smart.get_mut("/dev/sda").unwrap() = denied(),
                "403",
            ),
            (&H31, |s| node(s, "pve1").disks = denied(), "403"),
        ];
        for (rule, seed, why) in cases {
            let mut snap = baseline();
            seed(&mut snap);
            skips(*rule, &snap, why);
        }
    }
}
