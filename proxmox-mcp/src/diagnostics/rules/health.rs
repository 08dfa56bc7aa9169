//! Pure: the health rules (cluster, nodes, storage, disks, HA, tasks), catalogue H01–H38.

use serde_json::{Value, json};

use super::{Area, Confidence, Ctx, Finding, Outcome, Rule, Severity, Skip, ToolCall};
use crate::diagnostics::snapshot::Got;
use crate::diagnostics::snapshot::cluster::{ClusterSnapshot, NodeSnapshot};

mod cluster;
mod disks;
#[cfg(test)]
mod fixtures;
mod net;
mod node;
mod ops;
mod parity;
mod storage;
mod zfs;

/// Declares a unit-struct health rule whose `check` is the named function.
macro_rules! health_rule {
    ($ty:ident, $id:literal, $title:literal, $check:path) => {
        health_rule!($ty, $id, $title, $check, false);
    };
    ($ty:ident, $id:literal, $title:literal, $check:path, $cross:literal) => {
        #[doc = concat!("`", $id, "`: ", $title, ".")]
        pub struct $ty;
        impl $crate::diagnostics::rules::Rule for $ty {
            fn id(&self) -> &'static str {
                $id
            }
            fn area(&self) -> $crate::diagnostics::rules::Area {
                $crate::diagnostics::rules::Area::Health
            }
            fn title(&self) -> &'static str {
                $title
            }
            fn cross_node(&self) -> bool {
                $cross
            }
            fn check(
                &self,
                snap: &$crate::diagnostics::snapshot::cluster::ClusterSnapshot,
                ctx: &$crate::diagnostics::rules::Ctx,
            ) -> $crate::diagnostics::rules::Outcome {
                $check(snap, ctx)
            }
        }
    };
}
pub(crate) use health_rule;

/// The health rules, in catalogue order.
pub static RULES: &[&dyn Rule] = &[
    &cluster::H01,
    &cluster::H02,
    &cluster::H03,
    &cluster::H04,
    &cluster::H05,
    &cluster::H06a,
    &cluster::H06b,
    &cluster::H07,
    &cluster::H08,
    &cluster::H09,
    &node::H10,
    &node::H11,
    &node::H12,
    &node::H13,
    &node::H14,
    &node::H15,
    &node::H16,
    &node::H17,
    &node::H18,
    &parity::H19a,
    &parity::H19b,
    &parity::H20a,
    &parity::H20b,
    &parity::H20c,
    &parity::H21,
    &parity::H21b,
    &storage::H22,
    &storage::H23,
    &storage::H24,
    &storage::H25,
    &zfs::H26,
    &zfs::H27,
    &zfs::H28a,
    &zfs::H28b,
    &disks::H29,
    &disks::H30a,
    &disks::H30b,
    &disks::H30c,
    &disks::H30d,
    &disks::H31,
    &ops::H32,
    &ops::H33,
    &ops::H34,
    &ops::H35,
    &net::H36a,
    &net::H36b,
    &net::H36c,
    &ops::H37,
    &ops::H38,
];

/// A health finding with high confidence and no fix yet; the `with_*` helpers add the rest.
fn finding(
    rule: &'static str,
    severity: Severity,
    object: impl Into<String>,
    title: impl Into<String>,
    evidence: impl Into<String>,
    recommendation: impl Into<String>,
) -> Finding {
    Finding {
        rule,
        area: Area::Health,
        severity,
        object: object.into(),
        title: title.into(),
        evidence: evidence.into(),
        recommendation: recommendation.into(),
        fix: None,
        tool_call: None,
        confidence: Confidence::High,
    }
}

/// Builder steps on a [`Finding`].
trait FindingExt {
    fn with_fix(self, fix: impl Into<String>) -> Self;
    fn with_api(self, method: &str, path: &str, params: Value) -> Self;
    fn with_confidence(self, confidence: Confidence) -> Self;
}

impl FindingExt for Finding {
    fn with_fix(mut self, fix: impl Into<String>) -> Self {
        self.fix = Some(fix.into());
        self
    }

    /// The fix as a `proxmox_api` call (and, when no fix text is set, as the request line).
    fn with_api(mut self, method: &str, path: &str, params: Value) -> Self {
        if self.fix.is_none() {
            let args = params
                .as_object()
                .map(|m| {
                    m.iter()
                        .map(|(k, v)| match v {
                            Value::String(s) => format!(" {k}={s}"),
                            other => format!(" {k}={other}"),
                        })
                        .collect::<String>()
                })
                .unwrap_or_default();
            self.fix = Some(format!("{method} {path}{args}"));
        }
        self.tool_call = Some(ToolCall {
            tool: "proxmox_api",
            arguments: json!({"method": method, "path": path, "params": params}),
        });
        self
    }

    fn with_confidence(mut self, confidence: Confidence) -> Self {
        self.confidence = confidence;
        self
    }
}

/// Severity of `value` against warn/crit thresholds read from `<id>.warn` / `<id>.crit`.
fn graded(ctx: &Ctx, id: &str, value: f64, warn: f64, crit: f64) -> Option<(Severity, f64, f64)> {
    let warn = ctx.threshold(&format!("{id}.warn"), warn);
    let crit = ctx.threshold(&format!("{id}.crit"), crit);
    if value >= crit {
        Some((Severity::Critical, warn, crit))
    } else if value >= warn {
        Some((Severity::Warning, warn, crit))
    } else {
        None
    }
}

/// The online nodes (offline ones are H02's finding; their facts are errors).
fn online(snap: &ClusterSnapshot) -> impl Iterator<Item = &NodeSnapshot> {
    snap.nodes.values().filter(|n| n.online)
}

/// Runs `judge` over one fact of every online node. Nodes whose fact was not read lower the
/// coverage: when nothing was found and some node was not read, the rule skips naming why.
fn per_node<T>(
    snap: &ClusterSnapshot,
    fact: impl Fn(&NodeSnapshot) -> &Got<T>,
    mut judge: impl FnMut(&NodeSnapshot, &T, &mut Vec<Finding>),
) -> Outcome {
    let mut out = Vec::new();
    let mut missing = Vec::new();
    for n in online(snap) {
        match fact(n) {
            Ok(v) => judge(n, v, &mut out),
            Err(why) => missing.push(format!("{}: {why}", n.name)),
        }
    }
    if out.is_empty() && !missing.is_empty() {
        return Err(Skip(missing.join("; ")));
    }
    Ok(out)
}

/// Average of `field` over the points of `rrd` within `window` seconds of the newest point.
fn rrd_avg(rrd: &[Value], field: &str, window: i64) -> Option<f64> {
    let newest = rrd.iter().filter_map(|p| p.get("time")?.as_i64()).max()?;
    let vals: Vec<f64> = rrd
        .iter()
        .filter(|p| p.get("time").and_then(Value::as_i64).unwrap_or(i64::MIN) > newest - window)
        .filter_map(|p| super::util::num(p, field))
        .filter(|v| v.is_finite())
        .collect();
    (!vals.is_empty()).then(|| vals.iter().sum::<f64>() / vals.len() as f64)
}

/// Bytes as a short human figure (`12.3 GiB`).
fn bytes(b: f64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = b;
    let mut u = 0;
    while v >= 1024.0 && u < UNITS.len() - 1 {
        v /= 1024.0;
        u += 1;
    }
    format!("{v:.1} {}", UNITS[u])
}

#[cfg(test)]
mod tests {
    use super::fixtures::{baseline, run};
    use super::*;

    #[test]
    fn healthy_baseline_and_empty_snapshot_have_no_findings() {
        let snap = baseline();
        for rule in RULES {
            let found = run(*rule, &snap)
                .unwrap_or_else(|Skip(why)| panic!("{} skipped on the baseline: {why}", rule.id()));
            assert!(
                found.is_empty(),
                "{} on the baseline: {found:#?}",
                rule.id()
            );
            let empty = run(*rule, &ClusterSnapshot::default());
            assert_eq!(empty, Ok(vec![]), "{} on the default snapshot", rule.id());
        }
    }

    #[test]
    fn at_least_thirty_six_rules_in_order() {
        assert!(RULES.len() >= 36);
        let ids: Vec<&str> = RULES.iter().map(|r| r.id()).collect();
        let mut sorted = ids.clone();
        sorted.sort_by_key(|id| (id[1..3].parse::<u32>().unwrap(), id.to_string()));
        assert_eq!(ids, sorted);
    }

    #[test]
    fn thresholds_come_from_the_config() {
        let snap = baseline();
        let mut config = crate::config::DiagnosticsConfig::default();
        for (key, value) in [
            ("H11.warn", 10.0),
            ("H15.free_notice_gb", 100.0),
            ("H23.warn", 20.0),
        ] {
            config.thresholds.insert(key.into(), value);
        }
        let ctx = Ctx { config: &config };
        let ids = |rule: &dyn Rule| -> Vec<String> {
            rule.check(&snap, &ctx)
                .unwrap()
                .into_iter()
                .map(|f| format!("{} {} {:?}", f.rule, f.object, f.severity))
                .collect()
        };
        assert_eq!(
            ids(&node::H11),
            [
                "H11 node/pve1 Warning",
                "H11 node/pve2 Warning",
                "H11 node/pve3 Warning"
            ]
        );
        assert_eq!(ids(&node::H15).len(), 3);
        assert_eq!(
            ids(&storage::H23),
            [
                "H23 storage/pve1/local-lvm Warning",
                "H23 storage/ceph-nfs Warning",
                "H23 storage/pve2/local-lvm Warning",
                "H23 storage/pve3/local-lvm Warning"
            ]
        );
    }

    #[test]
    fn helpers() {
        let rrd = vec![
            json!({"time": 0, "cpu": 0.9}),
            json!({"time": 3000, "cpu": 0.1}),
            json!({"time": 3600, "cpu": "0.3"}),
        ];
        assert_eq!(rrd_avg(&rrd, "cpu", 300), Some(0.3));
        assert!((rrd_avg(&rrd, "cpu", 3601).unwrap() - 1.3 / 3.0).abs() < 1e-9);
        assert_eq!(bytes(1536.0), "1.5 KiB");
    }
}
