//! Pure: node capacity rules: overcommit, idle nodes, KSM, load score, topology (O01–O03,
//! O06, O15, O16).

use std::collections::BTreeMap;

use serde_json::Value;

use super::super::util::{num, pct, str_of};
use super::super::{Area, Confidence, Ctx, Outcome, Rule, Severity, Skip};
use super::kit::{
    More, cfg_num, finding, gib, guest_object, is_running, is_template, online_nodes,
};
use crate::diagnostics::snapshot::cluster::{ClusterSnapshot, GuestSnapshot};

/// The `/cluster/resources` node entries.
fn resource_nodes(snap: &ClusterSnapshot) -> Result<Vec<&Value>, Skip> {
    Ok(snap.resources_of("node").map_err(Skip)?.collect())
}

/// Running, non-template guests by node.
fn running_by_node(snap: &ClusterSnapshot) -> BTreeMap<&str, Vec<&GuestSnapshot>> {
    let mut out: BTreeMap<&str, Vec<&GuestSnapshot>> = BTreeMap::new();
    for g in snap.guests.values() {
        if is_running(g) && !is_template(g) {
            out.entry(g.node.as_str()).or_default().push(g);
        }
    }
    out
}

/// A guest's virtual CPUs: `cores`×`sockets` (QEMU) or `cores` (LXC) from its config, else
/// the resource entry's `maxcpu`.
fn vcpus(g: &GuestSnapshot) -> f64 {
    let from_config = g.config.as_ref().ok().and_then(|c| {
        let cores = cfg_num(c, "cores")?;
        let sockets = if g.kind == "qemu" {
            cfg_num(c, "sockets").unwrap_or(1.0)
        } else {
            1.0
        };
        Some(cores * sockets)
    });
    from_config
        .or_else(|| num(&g.resource, "maxcpu"))
        .unwrap_or(1.0)
}

/// O01: running guests' vCPUs against the node's CPUs.
pub struct O01;

impl Rule for O01 {
    fn id(&self) -> &'static str {
        "O01"
    }
    fn area(&self) -> Area {
        Area::Optimisation
    }
    fn title(&self) -> &'static str {
        "vCPU overcommit"
    }
    fn check(&self, snap: &ClusterSnapshot, ctx: &Ctx) -> Outcome {
        let nodes = resource_nodes(snap)?;
        let warn = ctx.threshold("O01.warn", 4.0);
        let running = running_by_node(snap);
        let mut out = Vec::new();
        for name in online_nodes(&nodes) {
            let Some(node) = nodes.iter().find(|n| str_of(n, "node") == Some(&name)) else {
                continue;
            };
            let Some(cpus) = num(node, "maxcpu").filter(|c| *c > 0.0) else {
                continue;
            };
            let guests = running.get(name.as_str()).map(Vec::as_slice).unwrap_or(&[]);
            let total: f64 = guests.iter().map(|g| vcpus(g)).sum();
            let ratio = total / cpus;
            if ratio > warn {
                out.push(
                    finding(
                        self,
                        Severity::Warning,
                        format!("node/{name}"),
                        format!("vCPU overcommit {ratio:.1}:1 on {name}"),
                        format!(
                            "{total:.0} vCPUs of {} running guests on {cpus:.0} host CPUs: ratio \
                             {ratio:.1} (warn > {warn}); stopped guests not counted",
                            guests.len()
                        ),
                        "Migrate guests to a less loaded node or lower their vCPU counts.",
                    )
                    .confidence(Confidence::Medium),
                );
            }
        }
        Ok(out)
    }
}

/// O02: running guests' configured memory against the node's RAM.
pub struct O02;

impl Rule for O02 {
    fn id(&self) -> &'static str {
        "O02"
    }
    fn area(&self) -> Area {
        Area::Optimisation
    }
    fn title(&self) -> &'static str {
        "RAM overcommit"
    }
    fn check(&self, snap: &ClusterSnapshot, ctx: &Ctx) -> Outcome {
        let nodes = resource_nodes(snap)?;
        let warn = ctx.threshold("O02.warn", 1.0);
        let running = running_by_node(snap);
        let mut out = Vec::new();
        for name in online_nodes(&nodes) {
            let Some(node) = nodes.iter().find(|n| str_of(n, "node") == Some(&name)) else {
                continue;
            };
            let Some(mem) = num(node, "maxmem").filter(|m| *m > 0.0) else {
                continue;
            };
            let guests = running.get(name.as_str()).map(Vec::as_slice).unwrap_or(&[]);
            let total: f64 = guests
                .iter()
                .filter_map(|g| num(&g.resource, "maxmem"))
                .sum();
            let ratio = total / mem;
            if ratio > warn {
                out.push(finding(
                    self,
                    Severity::Warning,
                    format!("node/{name}"),
                    format!("RAM overcommit on {name}"),
                    format!(
                        "{} configured for {} running guests on {} of RAM: {:.0} % (warn > {:.0} \
                         %); stopped guests not counted",
                        gib(total),
                        guests.len(),
                        gib(mem),
                        ratio * 100.0,
                        warn * 100.0
                    ),
                    "Migrate guests away or lower their memory so the node cannot run out of \
                     RAM under load.",
                ));
            }
        }
        Ok(out)
    }
}

/// O03: a node idle enough to be consolidated onto the others.
pub struct O03;

impl Rule for O03 {
    fn id(&self) -> &'static str {
        "O03"
    }
    fn area(&self) -> Area {
        Area::Optimisation
    }
    fn title(&self) -> &'static str {
        "Consolidation candidate"
    }
    fn cross_node(&self) -> bool {
        true
    }
    fn check(&self, snap: &ClusterSnapshot, ctx: &Ctx) -> Outcome {
        let cpu_max = ctx.threshold("O03.cpu", 10.0);
        let mem_max = ctx.threshold("O03.mem", 20.0);
        let mut out = Vec::new();
        let mut why = None;
        let mut judged = 0;
        for node in snap.nodes.values().filter(|n| n.online) {
            let rows = match &node.rrd {
                Ok(rows) => rows,
                Err(e) => {
                    why.get_or_insert_with(|| e.clone());
                    continue;
                }
            };
            let cpu: Vec<f64> = rows.iter().filter_map(|r| num(r, "cpu")).collect();
            let mem: Vec<f64> = rows
                .iter()
                .filter_map(|r| pct(num(r, "memused")?, num(r, "memtotal")?))
                .collect();
            if cpu.is_empty() || mem.is_empty() {
                continue;
            }
            judged += 1;
            let cpu = cpu.iter().sum::<f64>() * 100.0 / cpu.len() as f64;
            let mem = mem.iter().sum::<f64>() / mem.len() as f64;
            if cpu < cpu_max && mem < mem_max {
                out.push(
                    finding(
                        self,
                        Severity::Info,
                        format!("node/{}", node.name),
                        format!("{} is nearly idle", node.name),
                        format!(
                            "average cpu {cpu:.1} % and memory {mem:.1} % over the RRD window \
                             (info when cpu < {cpu_max} % and memory < {mem_max} %)"
                        ),
                        "Consider moving its guests to the other nodes and powering it down, or \
                         rebalancing load onto it.",
                    )
                    .confidence(Confidence::Low),
                );
            }
        }
        match why {
            Some(why) if judged == 0 => Err(Skip(why)),
            _ => Ok(out),
        }
    }
}

/// O06: KSM is merging memory (density against a cross-guest side channel).
pub struct O06;

impl Rule for O06 {
    fn id(&self) -> &'static str {
        "O06"
    }
    fn area(&self) -> Area {
        Area::Optimisation
    }
    fn title(&self) -> &'static str {
        "KSM review"
    }
    fn check(&self, snap: &ClusterSnapshot, _ctx: &Ctx) -> Outcome {
        let mut out = Vec::new();
        let mut why = None;
        let mut judged = 0;
        for node in snap.nodes.values().filter(|n| n.online) {
            let status = match &node.status {
                Ok(s) => s,
                Err(e) => {
                    why.get_or_insert_with(|| e.clone());
                    continue;
                }
            };
            judged += 1;
            let shared = status
                .get("ksm")
                .and_then(|k| num(k, "shared"))
                .unwrap_or(0.0);
            if shared > 0.0 {
                out.push(
                    finding(
                        self,
                        Severity::Info,
                        format!("node/{}", node.name),
                        format!("KSM is sharing memory on {}", node.name),
                        format!("ksm shared {}", gib(shared)),
                        "Review whether the density gain outweighs the cross-guest side-channel \
                         risk; disable KSM where guests of different trust levels share the node.",
                    )
                    .fix("systemctl disable --now ksmtuned && echo 2 > /sys/kernel/mm/ksm/run")
                    .confidence(Confidence::Low),
                );
            }
        }
        match why {
            Some(why) if judged == 0 => Err(Skip(why)),
            _ => Ok(out),
        }
    }
}

/// O15: the composite load score of nodes and running guests.
pub struct O15;

impl Rule for O15 {
    fn id(&self) -> &'static str {
        "O15"
    }
    fn area(&self) -> Area {
        Area::Optimisation
    }
    fn title(&self) -> &'static str {
        "Load score"
    }
    fn check(&self, snap: &ClusterSnapshot, ctx: &Ctx) -> Outcome {
        let nodes = resource_nodes(snap)?;
        let (nw, nc) = (
            ctx.threshold("O15.node_warn", 70.0),
            ctx.threshold("O15.node_crit", 50.0),
        );
        let (gw, gc) = (
            ctx.threshold("O15.guest_warn", 60.0),
            ctx.threshold("O15.guest_crit", 40.0),
        );
        let grade = |score: f64, warn: f64, crit: f64| {
            if score < crit {
                Some(Severity::Critical)
            } else if score < warn {
                Some(Severity::Warning)
            } else {
                None
            }
        };
        let mut out = Vec::new();
        for n in nodes
            .iter()
            .filter(|n| str_of(n, "status") == Some("online"))
        {
            let Some(name) = str_of(n, "node") else {
                continue;
            };
            let cpu = num(n, "cpu").unwrap_or(0.0) * 100.0;
            let mem = pct(
                num(n, "mem").unwrap_or(0.0),
                num(n, "maxmem").unwrap_or(0.0),
            )
            .unwrap_or(0.0);
            let disk = pct(
                num(n, "disk").unwrap_or(0.0),
                num(n, "maxdisk").unwrap_or(0.0),
            )
            .unwrap_or(0.0);
            let score = 100.0 - (cpu * 0.4 + mem * 0.4 + disk * 0.2);
            if let Some(sev) = grade(score, nw, nc) {
                out.push(finding(
                    self,
                    sev,
                    format!("node/{name}"),
                    format!("{name} is heavily loaded (score {score:.0})"),
                    format!(
                        "score {score:.0} = 100 − (cpu {cpu:.0} %·0.4 + memory {mem:.0} %·0.4 + \
                         rootfs {disk:.0} %·0.2) (warn < {nw}, crit < {nc})"
                    ),
                    "Move guests off this node or add capacity.",
                ));
            }
        }
        for g in snap
            .guests
            .values()
            .filter(|g| is_running(g) && !is_template(g))
        {
            let cpu = num(&g.resource, "cpu").unwrap_or(0.0) * 100.0;
            let mem = pct(
                num(&g.resource, "mem").unwrap_or(0.0),
                num(&g.resource, "maxmem").unwrap_or(0.0),
            )
            .unwrap_or(0.0);
            let score = 100.0 - (cpu * 0.5 + mem * 0.5);
            if let Some(sev) = grade(score, gw, gc) {
                out.push(
                    finding(
                        self,
                        sev,
                        guest_object(g),
                        format!("guest {} is short of resources (score {score:.0})", g.vmid),
                        format!(
                            "score {score:.0} = 100 − (cpu {cpu:.0} %·0.5 + memory {mem:.0} %·0.5) \
                             (warn < {gw}, crit < {gc})"
                        ),
                        "Give the guest more vCPUs or memory, or find what consumes them.",
                    )
                    .confidence(Confidence::Medium),
                );
            }
        }
        Ok(out)
    }
}

/// O16: a single node: no HA, no replication, no live migration.
pub struct O16;

impl Rule for O16 {
    fn id(&self) -> &'static str {
        "O16"
    }
    fn area(&self) -> Area {
        Area::Optimisation
    }
    fn title(&self) -> &'static str {
        "Single-node topology"
    }
    fn check(&self, snap: &ClusterSnapshot, _ctx: &Ctx) -> Outcome {
        let count = if snap.nodes.is_empty() {
            resource_nodes(snap)?.len()
        } else {
            snap.nodes.len()
        };
        if count != 1 {
            return Ok(Vec::new());
        }
        Ok(vec![finding(
            self,
            Severity::Info,
            "cluster",
            "Single node: no HA, replication or live migration",
            "1 node",
            "Add nodes (three, or two plus a QDevice) if guests need to survive a host failure.",
        )])
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::super::fixtures::{
        GIB, check, config_of, denied, healthy, resource, run_with, skipped,
    };
    use super::*;

    #[test]
    fn o01_counts_running_vcpus() {
        let mut s = healthy();
        check(&O01, &s, &[]);
        config_of(&mut s, 101).insert("cores".into(), "70".into());
        check(&O01, &s, &[("node/pve1", Severity::Warning)]);
        // Stopped guests do not count.
        resource(&mut s, "qemu/101")["status"] = json!("stopped");
        s.guests.get_mut(&101).unwrap().resource["status"] = json!("stopped");
        check(&O01, &s, &[]);
        s.resources = Err(denied("/cluster/resources"));
        skipped(&O01, &s);
    }

    #[test]
    fn o02_sums_running_maxmem() {
        let mut s = healthy();
        check(&O02, &s, &[]);
        s.guests.get_mut(&102).unwrap().resource["maxmem"] = json!(80 * GIB);
        check(&O02, &s, &[("node/pve2", Severity::Warning)]);
        s.resources = Err(denied("/cluster/resources"));
        skipped(&O02, &s);
    }

    #[test]
    fn o03_idle_node() {
        let mut s = healthy();
        check(&O03, &s, &[]);
        s.nodes.get_mut("pve3").unwrap().rrd = Ok(vec![
            json!({"cpu": 0.02, "memused": 4 * GIB, "memtotal": 64 * GIB}),
            json!({"cpu": "0.04", "memused": 5 * GIB, "memtotal": 64 * GIB}),
        ]);
        check(&O03, &s, &[("node/pve3", Severity::Info)]);
        for n in s.nodes.values_mut() {
            n.rrd = Err(denied("/nodes/x/rrddata"));
        }
        skipped(&O03, &s);
    }

    #[test]
    fn o06_ksm_sharing() {
        let mut s = healthy();
        check(&O06, &s, &[]);
        s.nodes.get_mut("pve2").unwrap().status.as_mut().unwrap()["ksm"] =
            json!({"shared": 3 * GIB});
        check(&O06, &s, &[("node/pve2", Severity::Info)]);
        for n in s.nodes.values_mut() {
            n.status = Err(denied("/nodes/x/status"));
        }
        skipped(&O06, &s);
    }

    #[test]
    fn o15_scores() {
        let mut s = healthy();
        check(&O15, &s, &[]);
        let n = resource(&mut s, "node/pve2");
        n["cpu"] = json!(0.9);
        n["mem"] = json!(60 * GIB);
        check(&O15, &s, &[("node/pve2", Severity::Critical)]);
        let mut s = healthy();
        let g = &mut s.guests.get_mut(&201).unwrap().resource;
        g["cpu"] = json!(0.5);
        check(&O15, &s, &[("lxc/201", Severity::Warning)]);
        s.resources = Err(denied("/cluster/resources"));
        skipped(&O15, &s);
    }

    #[test]
    fn o16_single_node() {
        let mut s = healthy();
        check(&O16, &s, &[]);
        s.nodes.retain(|n, _| n == "pve1");
        check(&O16, &s, &[("cluster", Severity::Info)]);
        // Cross-node rules are skipped there; O16 is not.
        assert!(run_with(&super::super::hardware::O07, &s, &[]).is_err());
        let mut empty = crate::diagnostics::snapshot::cluster::ClusterSnapshot {
            resources: Err(denied("/cluster/resources")),
            ..Default::default()
        };
        skipped(&O16, &empty);
        empty.resources = Ok(vec![
            json!({"type": "node", "node": "solo", "status": "online"}),
        ]);
        check(&O16, &empty, &[("cluster", Severity::Info)]);
    }

    #[test]
    fn thresholds_are_tunable() {
        let s = healthy();
        let found = run_with(&O01, &s, &[("O01.warn", 0.1)]).unwrap();
        assert_eq!(found.len(), 3);
    }
}
