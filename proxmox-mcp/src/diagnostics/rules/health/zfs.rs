//! Pure: ZFS pool rules: pool health, vdev errors, usage, fragmentation (H26–H28).

use serde_json::Value;

use super::{FindingExt, bytes, finding, graded, health_rule, per_node};
use crate::diagnostics::rules::util::{num, pct, str_of};
use crate::diagnostics::rules::{Confidence, Ctx, Finding, Outcome, Severity, Skip};
use crate::diagnostics::snapshot::cluster::{ClusterSnapshot, NodeSnapshot};

health_rule!(H26, "H26", "ZFS pool not ONLINE", zfs_health);
health_rule!(H27, "H27", "ZFS vdev faulted or with errors", zfs_vdevs);
health_rule!(H28a, "H28a", "ZFS pool usage high", zfs_usage);
health_rule!(H28b, "H28b", "ZFS pool fragmentation high", zfs_frag);
fn zfs_health(snap: &ClusterSnapshot, _: &Ctx) -> Outcome {
    per_node(
        snap,
        |n| &n.zfs,
        |n, pools, out| {
            for p in pools {
                let (Some(name), Some(health)) = (str_of(p, "name"), str_of(p, "health")) else {
                    continue;
                };
                if health == "ONLINE" {
                    continue;
                }
                out.push(
                finding(
                    "H26",
                    Severity::Critical,
                    format!("zfs/{}/{name}", n.name),
                    format!("ZFS pool {name} on {} is {health}", n.name),
                    format!("health {health}"),
                    "Replace or reattach the failed devices and let the pool resilver; check `zpool status -v` for the affected vdevs.",
                )
                .with_fix(format!("zpool status -v {name}")),
            );
            }
        },
    )
}

/// Walks a `zpool status` vdev tree: (name, state, read, write, cksum) of every vdev.
fn walk<'a>(v: &'a Value, out: &mut Vec<(&'a str, Option<&'a str>, f64, f64, f64)>) {
    for c in v
        .get("children")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        if let Some(name) = str_of(c, "name") {
            let e = |k| num(c, k).unwrap_or(0.0);
            out.push((name, str_of(c, "state"), e("read"), e("write"), e("cksum")));
        }
        walk(c, out);
    }
}

/// Why the opt-in fact `key` is empty.
pub(super) fn off_reason(snap: &ClusterSnapshot, key: &str, default: &str) -> Skip {
    Skip(
        snap.skipped
            .get(key)
            .cloned()
            .unwrap_or_else(|| default.to_string()),
    )
}

fn zfs_vdevs(snap: &ClusterSnapshot, _: &Ctx) -> Outcome {
    let mut out = Vec::new();
    let mut missing = Vec::new();
    let mut pools_seen = 0;
    for n in snap.nodes.values().filter(|n| n.online) {
        let Ok(pools) = &n.zfs else { continue };
        for p in pools.iter().filter_map(|p| str_of(p, "name")) {
            pools_seen += 1;
            match n.zfs_detail.get(p) {
                None => missing.push(format!("{}/{p}: not read", n.name)),
                Some(Err(why)) => missing.push(format!("{}/{p}: {why}", n.name)),
                Some(Ok(detail)) => vdev_findings(n, p, detail, &mut out),
            }
        }
    }
    if out.is_empty() && !missing.is_empty() {
        if missing.len() == pools_seen && snap.nodes.values().all(|n| n.zfs_detail.is_empty()) {
            return Err(off_reason(
                snap,
                "zfs_detail",
                "per-pool ZFS checks are off (diagnostics.zfs_detail)",
            ));
        }
        return Err(Skip(missing.join("; ")));
    }
    Ok(out)
}

fn vdev_findings(n: &NodeSnapshot, pool: &str, detail: &Value, out: &mut Vec<Finding>) {
    let mut vdevs = Vec::new();
    walk(detail, &mut vdevs);
    let bad: Vec<String> = vdevs
        .iter()
        .filter(|(_, s, ..)| s.is_some_and(|s| !matches!(s, "ONLINE" | "AVAIL")))
        .map(|(name, s, ..)| format!("{name} {}", s.unwrap_or("")))
        .collect();
    let errs: Vec<String> = vdevs
        .iter()
        .filter(|(_, _, r, w, c)| r + w + c > 0.0)
        .map(|(name, _, r, w, c)| format!("{name} read {r} write {w} cksum {c}"))
        .collect();
    if bad.is_empty() && errs.is_empty() {
        return;
    }
    let severity = if bad.is_empty() {
        Severity::Warning
    } else {
        Severity::Critical
    };
    let mut evidence: Vec<String> = bad.into_iter().chain(errs).collect();
    if let Some(e) = str_of(detail, "errors").filter(|e| !e.starts_with("No known")) {
        evidence.push(e.to_string());
    }
    out.push(
        finding(
            "H27",
            severity,
            format!("zfs/{}/{pool}", n.name),
            format!("ZFS pool {pool} on {} has failing devices", n.name),
            evidence.join("; "),
            "Replace devices that are faulted or keep erroring, then clear the counters and scrub.",
        )
        .with_fix(format!(
            "zpool status -v {pool}; zpool clear {pool}; zpool scrub {pool}"
        )),
    );
}

fn zfs_usage(snap: &ClusterSnapshot, ctx: &Ctx) -> Outcome {
    per_node(
        snap,
        |n| &n.zfs,
        |n, pools, out| {
            for p in pools {
                let (Some(name), Some(alloc), Some(size)) =
                    (str_of(p, "name"), num(p, "alloc"), num(p, "size"))
                else {
                    continue;
                };
                let Some(pc) = pct(alloc, size) else { continue };
                if let Some((severity, warn, crit)) = graded(ctx, "H28a", pc, 80.0, 90.0) {
                    out.push(finding(
                    "H28a",
                    severity,
                    format!("zfs/{}/{name}", n.name),
                    format!("ZFS pool {name} on {} is {pc:.0} % full", n.name),
                    format!("alloc {} of {} ({pc:.0} %; warn ≥ {warn}, crit ≥ {crit})", bytes(alloc), bytes(size)),
                    "Free space or add vdevs: ZFS slows down sharply and fragments when a pool runs above 80 %.",
                ));
                }
            }
        },
    )
}

fn zfs_frag(snap: &ClusterSnapshot, ctx: &Ctx) -> Outcome {
    per_node(
        snap,
        |n| &n.zfs,
        |n, pools, out| {
            for p in pools {
                let (Some(name), Some(frag)) = (str_of(p, "name"), num(p, "frag")) else {
                    continue;
                };
                if let Some((severity, warn, crit)) = graded(ctx, "H28b", frag, 40.0, 60.0) {
                    out.push(
                    finding(
                        "H28b",
                        severity,
                        format!("zfs/{}/{name}", n.name),
                        format!("ZFS pool {name} on {} is {frag:.0} % fragmented", n.name),
                        format!("frag {frag:.0} % (warn ≥ {warn}, crit ≥ {crit})"),
                        "Keep more free space in the pool; fragmentation only falls when data is rewritten (e.g. send/receive to a fresh pool).",
                    )
                    .with_confidence(Confidence::Medium),
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

    fn rpool_detail(snap: &mut ClusterSnapshot) -> &mut Value {
        node(snap, "pve2")
            .zfs_detail
            .get_mut("rpool")
            .unwrap()
            .as_mut()
            .unwrap()
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
                &H26,
                |s| node(s, "pve3").zfs.as_mut().unwrap()[0]["health"] = json!("DEGRADED"),
                "zfs/pve3/rpool",
                Severity::Critical,
            ),
            (
                &H27,
                |s| {
                    rpool_detail(s)["children"][0]["children"][0]["children"][1]["state"] =
                        json!("FAULTED")
                },
                "zfs/pve2/rpool",
                Severity::Critical,
            ),
            (
                &H27,
                |s| {
                    rpool_detail(s)["children"][0]["children"][0]["children"][0]["cksum"] =
                        json!(12)
                },
                "zfs/pve2/rpool",
                Severity::Warning,
            ),
            (
                &H28a,
                |s| node(s, "pve1").zfs.as_mut().unwrap()[0]["alloc"] = json!(850u64 << 30),
                "zfs/pve1/rpool",
                Severity::Warning,
            ),
            (
                &H28b,
                |s| node(s, "pve1").zfs.as_mut().unwrap()[0]["frag"] = json!(65),
                "zfs/pve1/rpool",
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
        // A hot spare waiting; no ZFS at all on one node.
        rpool_detail(&mut snap)["children"]
            .as_array_mut()
            .unwrap()
            .push(json!({"name": "spares", "children": [{"name": "sdz", "state": "AVAIL"}]}));
        let n3 = node(&mut snap, "pve3");
        n3.zfs = Ok(vec![]);
        n3.zfs_detail.clear();
        for rule in [&H26 as &dyn Rule, &H27, &H28a, &H28b] {
            assert_eq!(check(rule, &snap), vec![], "{}", rule.id());
        }
    }

    #[test]
    fn missing_facts_skip() {
        type Case = (&'static dyn Rule, fn(&mut ClusterSnapshot), &'static str);
        let cases: &[Case] = &[
            (&H26, |s| node(s, "pve1").zfs = denied(), "403"),
            (
                &H27,
                |s| *node(s, "pve1").zfs_detail.get_mut("rpool").unwrap() = denied(),
                "403",
            ),
            (
                &H27,
                |s| s.nodes.values_mut().for_each(|n| n.zfs_detail.clear()),
                "diagnostics.zfs_detail",
            ),
            (&H28a, |s| node(s, "pve1").zfs = denied(), "403"),
            (&H28b, |s| node(s, "pve1").zfs = denied(), "403"),
        ];
        for (rule, seed, why) in cases {
            let mut snap = baseline();
            seed(&mut snap);
            skips(*rule, &snap, why);
        }
    }
}
