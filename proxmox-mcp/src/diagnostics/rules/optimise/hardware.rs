//! Pure: node hardware rules: CPU feature levels across nodes, IOMMU (O07, O08).

use std::collections::{BTreeMap, BTreeSet};

use super::super::util::{num, str_of};
use super::super::{Area, Confidence, Ctx, Outcome, Rule, Severity, Skip};
use super::kit::{More, finding};
use crate::diagnostics::snapshot::cluster::ClusterSnapshot;

/// The x86-64 micro-architecture level a CPU flag list reaches (1–4).
fn x86_level(flags: &BTreeSet<&str>) -> u8 {
    const V2: &[&str] = &[
        "cx16", "lahf_lm", "popcnt", "pni", "sse4_1", "sse4_2", "ssse3",
    ];
    const V3: &[&str] = &[
        "avx", "avx2", "bmi1", "bmi2", "f16c", "fma", "abm", "movbe", "xsave",
    ];
    const V4: &[&str] = &["avx512f", "avx512bw", "avx512cd", "avx512dq", "avx512vl"];
    let has = |set: &[&str]| set.iter().all(|f| flags.contains(f));
    if !has(V2) {
        1
    } else if !has(V3) {
        2
    } else if !has(V4) {
        3
    } else {
        4
    }
}

/// O07: nodes whose CPUs offer different feature sets (live migration between them breaks).
pub struct O07;

impl Rule for O07 {
    fn id(&self) -> &'static str {
        "O07"
    }
    fn area(&self) -> Area {
        Area::Optimisation
    }
    fn title(&self) -> &'static str {
        "CPU feature-level mismatch"
    }
    fn cross_node(&self) -> bool {
        true
    }
    fn check(&self, snap: &ClusterSnapshot, _ctx: &Ctx) -> Outcome {
        let mut flags: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
        let mut why = None;
        for node in snap.nodes.values().filter(|n| n.online) {
            let set = match &node.status {
                Ok(s) => s
                    .get("cpuinfo")
                    .and_then(|c| str_of(c, "flags"))
                    .map(|f| f.split_whitespace().collect::<BTreeSet<_>>()),
                Err(e) => {
                    why.get_or_insert_with(|| e.clone());
                    continue;
                }
            };
            if let Some(set) = set.filter(|s| !s.is_empty()) {
                flags.insert(node.name.as_str(), set);
            }
        }
        if flags.len() < 2 {
            return match why {
                Some(why) => Err(Skip(why)),
                None => Ok(Vec::new()),
            };
        }
        let union: BTreeSet<&str> = flags.values().flatten().copied().collect();
        let levels: BTreeMap<&str, u8> = flags.iter().map(|(n, f)| (*n, x86_level(f))).collect();
        let lacking: Vec<String> = flags
            .iter()
            .filter(|(_, f)| f.len() < union.len())
            .map(|(n, f)| {
                let missing: Vec<&str> = union.difference(f).copied().take(8).collect();
                format!("{n} lacks {}", missing.join(" "))
            })
            .collect();
        if lacking.is_empty() {
            return Ok(Vec::new());
        }
        let lowest = levels.values().min().copied().unwrap_or(1);
        let highest = levels.values().max().copied().unwrap_or(1);
        let level_list: Vec<String> = levels
            .iter()
            .map(|(n, l)| format!("{n} x86-64-v{l}"))
            .collect();
        let evidence = format!("{}; {}", level_list.join(", "), lacking.join("; "));
        let f = if lowest != highest {
            finding(
                self,
                Severity::Warning,
                "cluster",
                "Nodes reach different x86-64 levels",
                evidence,
                format!(
                    "Give guests a CPU model all nodes support (x86-64-v{lowest} or lower, not \
                     host) so they can live-migrate anywhere."
                ),
            )
        } else {
            finding(
                self,
                Severity::Notice,
                "cluster",
                "Node CPU flags differ",
                evidence,
                "Guests with cpu: host may fail to live-migrate between these nodes; use a named \
                 CPU model.",
            )
            .confidence(Confidence::Medium)
        };
        Ok(vec![f])
    }
}

/// O08: a node whose PCI devices sit in no IOMMU group (no passthrough possible).
pub struct O08;

impl Rule for O08 {
    fn id(&self) -> &'static str {
        "O08"
    }
    fn area(&self) -> Area {
        Area::Optimisation
    }
    fn title(&self) -> &'static str {
        "IOMMU off"
    }
    fn check(&self, snap: &ClusterSnapshot, _ctx: &Ctx) -> Outcome {
        let mut out = Vec::new();
        let mut why = None;
        let mut judged = 0;
        for node in snap.nodes.values().filter(|n| n.online) {
            let pci = match &node.pci {
                Ok(p) => p,
                Err(e) => {
                    why.get_or_insert_with(|| e.clone());
                    continue;
                }
            };
            judged += 1;
            if !pci.is_empty()
                && pci
                    .iter()
                    .all(|d| num(d, "iommugroup").unwrap_or(-1.0) < 0.0)
            {
                out.push(
                    finding(
                        self,
                        Severity::Info,
                        format!("node/{}", node.name),
                        format!("IOMMU is off on {}", node.name),
                        format!("{} PCI devices, none in an IOMMU group", pci.len()),
                        "Enable VT-d/AMD-Vi in the firmware (and intel_iommu=on on Intel) if \
                         guests need PCI passthrough.",
                    )
                    .confidence(Confidence::Medium),
                );
            }
        }
        match why {
            Some(why) if judged == 0 => Err(Skip(why)),
            _ => Ok(out),
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::super::fixtures::{check, denied, healthy, skipped};
    use super::*;

    #[test]
    fn o07_cpu_levels() {
        let mut s = healthy();
        check(&O07, &s, &[]);
        let set_flags = |s: &mut crate::diagnostics::snapshot::cluster::ClusterSnapshot,
                         f: &str| {
            s.nodes.get_mut("pve3").unwrap().status.as_mut().unwrap()["cpuinfo"]["flags"] =
                json!(f);
        };
        let base = super::super::fixtures::FLAGS;
        set_flags(&mut s, &base.replace(" avx2", ""));
        check(&O07, &s, &[("cluster", Severity::Warning)]);
        set_flags(&mut s, &base.replace(" sha_ni", ""));
        check(&O07, &s, &[("cluster", Severity::Notice)]);
        for n in s.nodes.values_mut() {
            n.status = Err(denied("/nodes/x/status"));
        }
        skipped(&O07, &s);
    }

    #[test]
    fn o08_iommu_groups() {
        let mut s = healthy();
        check(&O08, &s, &[]);
        s.nodes.get_mut("pve1").unwrap().pci = Ok(vec![
            json!({"id": "0000:00:00.0", "iommugroup": -1}),
            json!({"id": "0000:01:00.0", "iommugroup": "-1"}),
        ]);
        check(&O08, &s, &[("node/pve1", Severity::Info)]);
        for n in s.nodes.values_mut() {
            n.pci = Err(denied("/nodes/x/hardware/pci"));
        }
        skipped(&O08, &s);
    }
}
