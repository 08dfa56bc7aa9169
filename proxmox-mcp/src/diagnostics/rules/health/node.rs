//! Pure: per-node rules: services, load, memory, root filesystem, uptime, kernel (H10–H18).

use serde_json::{Value, json};

use super::{FindingExt, bytes, finding, graded, health_rule, per_node, rrd_avg};
use crate::diagnostics::rules::util::{num, pct, str_of};
use crate::diagnostics::rules::{Ctx, Finding, Outcome, Severity, Skip};
use crate::diagnostics::snapshot::cluster::ClusterSnapshot;

health_rule!(H10, "H10", "Core PVE service down", services);
health_rule!(H11, "H11", "Node CPU usage high", cpu);
health_rule!(H12, "H12", "Node memory usage high", memory);
health_rule!(H13, "H13", "Node IO wait high", iowait);
health_rule!(H14, "H14", "Node swap usage high", swap);
health_rule!(H15, "H15", "Node root filesystem full", rootfs);
health_rule!(H16, "H16", "Node pressure stall high", pressure);
health_rule!(H17, "H17", "Node rebooted recently", uptime);
health_rule!(H18, "H18", "Reboot pending for a newer kernel", kernel);
/// Services every node needs; `corosync` only in a cluster.
const CORE: [&str; 5] = [
    "pveproxy",
    "pvedaemon",
    "pvestatd",
    "pvescheduler",
    "pve-cluster",
];

fn services(snap: &ClusterSnapshot, _: &Ctx) -> Outcome {
    let clustered = !snap.single_node();
    per_node(
        snap,
        |n| &n.services,
        |n, list, out| {
            for s in list {
                let Some(name) = str_of(s, "service").or_else(|| str_of(s, "name")) else {
                    continue;
                };
                if !(CORE.contains(&name) || (clustered && name == "corosync")) {
                    continue;
                }
                let state = str_of(s, "state").unwrap_or("unknown");
                let active = str_of(s, "active-state").unwrap_or("unknown");
                if state == "running" && !matches!(active, "failed" | "inactive") {
                    continue;
                }
                let node = &n.name;
                out.push(
                    finding(
                        "H10",
                        Severity::Critical,
                        format!("service/{node}/{name}"),
                        format!("{name} is not running on {node}"),
                        format!("state {state}, active-state {active}"),
                        format!("Restart {name} and read its journal for the cause."),
                    )
                    .with_api(
                        "POST",
                        &format!("/nodes/{node}/services/{name}/restart"),
                        json!({}),
                    )
                    .with_fix(format!(
                        "systemctl restart {name}; journalctl -u {name} -n 50"
                    )),
                );
            }
        },
    )
}

fn cpu(snap: &ClusterSnapshot, ctx: &Ctx) -> Outcome {
    per_node(
        snap,
        |n| &n.rrd,
        |n, rrd, out| {
            let (Some(hour), Some(recent)) = (rrd_avg(rrd, "cpu", 3600), rrd_avg(rrd, "cpu", 300))
            else {
                return;
            };
            let (hour, recent) = (hour * 100.0, recent * 100.0);
            let (severity, warn, crit, span) = match graded(ctx, "H11", hour, 70.0, 85.0) {
                Some((s, w, c)) => (s, w, c, "the last hour"),
                None => match graded(ctx, "H11", recent, 70.0, 85.0) {
                    Some((Severity::Critical, w, c)) => {
                        (Severity::Warning, w, c, "the last 5 minutes")
                    }
                    _ => return,
                },
            };
            let value = if span == "the last hour" {
                hour
            } else {
                recent
            };
            out.push(finding(
            "H11",
            severity,
            format!("node/{}", n.name),
            format!("CPU of {} at {value:.0} %", n.name),
            format!("cpu {value:.0} % over {span} (hour {hour:.0} %, 5 min {recent:.0} %; warn ≥ {warn}, crit ≥ {crit})"),
            "Move or limit busy guests, or add CPU capacity.",
        ));
        },
    )
}

fn memory(snap: &ClusterSnapshot, ctx: &Ctx) -> Outcome {
    per_node(
        snap,
        |n| &n.status,
        |n, st, out| {
            let m = &st["memory"];
            let (Some(used), Some(total)) = (num(m, "used"), num(m, "total")) else {
                return;
            };
            let Some(p) = pct(used, total) else { return };
            if let Some((severity, warn, crit)) = graded(ctx, "H12", p, 80.0, 90.0) {
                out.push(finding(
                "H12",
                severity,
                format!("node/{}", n.name),
                format!("Memory of {} at {p:.0} %", n.name),
                format!("memory {} of {} used ({p:.0} %; warn ≥ {warn}, crit ≥ {crit})", bytes(used), bytes(total)),
                "Migrate or shrink guests, cap the ZFS ARC, or add memory before the OOM killer picks a guest.",
            ));
            }
        },
    )
}

fn iowait(snap: &ClusterSnapshot, ctx: &Ctx) -> Outcome {
    per_node(
        snap,
        |n| &n.rrd,
        |n, rrd, out| {
            let Some(w) = rrd_avg(rrd, "iowait", 300) else {
                return;
            };
            let w = w * 100.0;
            if let Some((severity, warn, crit)) = graded(ctx, "H13", w, 15.0, 30.0) {
                out.push(finding(
                "H13",
                severity,
                format!("node/{}", n.name),
                format!("IO wait of {} at {w:.0} %", n.name),
                format!("iowait {w:.1} % over the last 5 minutes (warn ≥ {warn}, crit ≥ {crit})"),
                "Find the guests or jobs saturating the disks (backups, scrubs, replication) and spread them or move to faster storage.",
            ));
            }
        },
    )
}

fn swap(snap: &ClusterSnapshot, ctx: &Ctx) -> Outcome {
    per_node(
        snap,
        |n| &n.status,
        |n, st, out| {
            let s = &st["swap"];
            let (Some(used), Some(total)) = (num(s, "used"), num(s, "total")) else {
                return;
            };
            let Some(p) = pct(used, total) else { return };
            let warn = ctx.threshold("H14.warn", 90.0);
            if p >= warn {
                out.push(finding(
                "H14",
                Severity::Warning,
                format!("node/{}", n.name),
                format!("Swap of {} at {p:.0} %", n.name),
                format!("swap {} of {} used ({p:.0} %; warn ≥ {warn})", bytes(used), bytes(total)),
                "Reduce memory pressure on the node (migrate guests, lower ballooning targets) so guests are not swapped out.",
            ));
            }
        },
    )
}

fn rootfs(snap: &ClusterSnapshot, ctx: &Ctx) -> Outcome {
    per_node(
        snap,
        |n| &n.status,
        |n, st, out| {
            let r = &st["rootfs"];
            let (Some(used), Some(total)) = (num(r, "used"), num(r, "total")) else {
                return;
            };
            let free = num(r, "avail")
                .or_else(|| num(r, "free"))
                .unwrap_or(total - used);
            let Some(p) = pct(used, total) else { return };
            let gib = (1u64 << 30) as f64;
            let by_pct = graded(ctx, "H15", p, 90.0, 95.0).map(|(s, _, _)| s);
            let warn = ctx.threshold("H15.warn", 90.0);
            let crit = ctx.threshold("H15.crit", 95.0);
            let low = ctx.threshold("H15.free_warn_gb", 5.0);
            let notice = ctx.threshold("H15.free_notice_gb", 10.0);
            let by_free = if free < low * gib {
                Some(Severity::Warning)
            } else if free < notice * gib {
                Some(Severity::Notice)
            } else {
                None
            };
            if let Some(severity) = by_pct.max(by_free) {
                out.push(
                finding(
                    "H15",
                    severity,
                    format!("node/{}", n.name),
                    format!("Root filesystem of {} nearly full", n.name),
                    format!("rootfs {p:.0} % used, {} free (warn ≥ {warn} %, crit ≥ {crit} %; free < {low} GB warn, < {notice} GB notice)", bytes(free)),
                    "Free space on / (old kernels, logs, ISO images and backups in /var/lib/vz) before services and updates fail.",
                )
                .with_fix("apt autoremove --purge; journalctl --vacuum-size=500M; du -xhd1 / | sort -h"),
            );
            }
        },
    )
}

/// PSI fields of the node RRD (PVE 9, percent of time stalled) with their default thresholds.
const PSI: [(&str, &str, &str, f64, f64); 3] = [
    ("pressurecpusome", "cpu_some", "CPU some", 40.0, 70.0),
    ("pressureiofull", "io_full", "IO full", 10.0, 30.0),
    ("pressurememoryfull", "mem_full", "memory full", 5.0, 15.0),
];

fn pressure(snap: &ClusterSnapshot, ctx: &Ctx) -> Outcome {
    per_node(
        snap,
        |n| &n.rrd,
        |n, rrd, out| {
            let mut worst = None;
            let mut parts = Vec::new();
            for (field, key, label, warn, crit) in PSI {
                let Some(v) = rrd_avg(rrd, field, 300) else {
                    continue;
                };
                let warn = ctx.threshold(&format!("H16.{key}_warn"), warn);
                let crit = ctx.threshold(&format!("H16.{key}_crit"), crit);
                let sev = if v >= crit {
                    Severity::Critical
                } else if v >= warn {
                    Severity::Warning
                } else {
                    continue;
                };
                worst = worst.max(Some(sev));
                parts.push(format!("{label} {v:.1} % (warn ≥ {warn}, crit ≥ {crit})"));
            }
            if let Some(severity) = worst {
                out.push(finding(
                "H16",
                severity,
                format!("node/{}", n.name),
                format!("Pressure stalls on {}", n.name),
                format!("{} over the last 5 minutes", parts.join(", ")),
                "Tasks on the node are stalled waiting for the resource: reduce contention (move guests, limit IO) or add capacity.",
            ));
            }
        },
    )
}

fn uptime(snap: &ClusterSnapshot, ctx: &Ctx) -> Outcome {
    per_node(
        snap,
        |n| &n.status,
        |n, st, out| {
            let Some(up) = num(st, "uptime") else { return };
            let min = ctx.threshold("H17.seconds", 600.0);
            if up < min {
                out.push(
                finding(
                    "H17",
                    Severity::Info,
                    format!("node/{}", n.name),
                    format!("{} rebooted {up:.0} s ago", n.name),
                    format!("uptime {up:.0} s (< {min} s)"),
                    "Confirm the reboot was planned; otherwise check the journal of the previous boot for a crash or power loss.",
                )
                .with_fix("journalctl -b -1 -e"),
            );
            }
        },
    )
}

/// Numeric parts of a Debian version or kernel release, for ordering (`6.14.11-4` → 6,14,11,4).
pub(super) fn version_key(v: &str) -> Vec<u64> {
    v.split(|c: char| !c.is_ascii_digit())
        .filter(|p| !p.is_empty())
        .filter_map(|p| p.parse().ok())
        .collect()
}

/// The running kernel release of a node status.
pub(super) fn running_kernel(st: &Value) -> Option<String> {
    st.pointer("/current-kernel/release")
        .and_then(Value::as_str)
        .map(str::to_string)
        .or_else(|| {
            str_of(st, "kversion")?
                .split_whitespace()
                .nth(1)
                .map(str::to_string)
        })
}

/// The newest installed kernel release among `proxmox-kernel-*-pve[-signed]` and
/// `pve-kernel-*-pve` packages of `/apt/versions`.
fn newest_kernel(versions: &[Value]) -> Option<String> {
    versions
        .iter()
        .filter(|p| str_of(p, "CurrentState").is_none_or(|s| s == "Installed"))
        .filter_map(|p| {
            let name = str_of(p, "Package")?;
            let rest = name
                .strip_prefix("proxmox-kernel-")
                .or_else(|| name.strip_prefix("pve-kernel-"))?;
            let rel = rest.strip_suffix("-signed").unwrap_or(rest);
            rel.ends_with("-pve").then(|| rel.to_string())
        })
        .max_by_key(|r| version_key(r))
}

fn kernel(snap: &ClusterSnapshot, _: &Ctx) -> Outcome {
    let mut missing = Vec::new();
    let out: Vec<Finding> = per_node(
        snap,
        |n| &n.apt_versions,
        |n, versions, out| {
            let st = match &n.status {
                Ok(st) => st,
                Err(why) => return missing.push(format!("{}: {why}", n.name)),
            };
            let (Some(running), Some(newest)) = (running_kernel(st), newest_kernel(versions))
            else {
                return;
            };
            if version_key(&running) >= version_key(&newest) {
                return;
            }
            out.push(
            finding(
                "H18",
                Severity::Warning,
                format!("node/{}", n.name),
                format!("{} runs an older kernel than installed", n.name),
                format!("running {running}, newest installed {newest}"),
                "Reboot the node (after migrating its guests) to run the installed kernel and its fixes.",
            )
            .with_fix(format!("ha-manager crm-command node-maintenance enable {0}; reboot; ha-manager crm-command node-maintenance disable {0}", n.name)),
        );
        },
    )?;
    if out.is_empty() && !missing.is_empty() {
        return Err(Skip(missing.join("; ")));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::{GIB, NOW, baseline, check, denied, node, skips};
    use super::*;
    use crate::diagnostics::rules::Rule;

    fn rrd(snap: &mut ClusterSnapshot, name: &str, field: &str, value: f64, last: i64) {
        for p in node(snap, name).rrd.as_mut().unwrap() {
            if p["time"].as_i64().unwrap() > NOW - last {
                p[field] = json!(value);
            }
        }
    }

    fn status(snap: &mut ClusterSnapshot, name: &str, ptr: &str, value: Value) {
        *node(snap, name)
            .status
            .as_mut()
            .unwrap()
            .pointer_mut(ptr)
            .unwrap() = value;
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
                &H10,
                |s| node(s, "pve2").services.as_mut().unwrap()[0]["state"] = json!("dead"),
                "service/pve2/pveproxy",
                Severity::Critical,
            ),
            (
                &H10,
                |s| node(s, "pve1").services.as_mut().unwrap()[5]["active-state"] = json!("failed"),
                "service/pve1/corosync",
                Severity::Critical,
            ),
            (
                &H11,
                |s| rrd(s, "pve1", "cpu", 0.91, 3600),
                "node/pve1",
                Severity::Critical,
            ),
            (
                &H11,
                |s| rrd(s, "pve1", "cpu", 0.75, 3600),
                "node/pve1",
                Severity::Warning,
            ),
            (
                &H11,
                |s| rrd(s, "pve1", "cpu", 0.99, 300),
                "node/pve1",
                Severity::Warning,
            ),
            (
                &H12,
                |s| status(s, "pve3", "/memory/used", json!(125 * GIB)),
                "node/pve3",
                Severity::Critical,
            ),
            (
                &H12,
                |s| status(s, "pve3", "/memory/used", json!(110 * GIB)),
                "node/pve3",
                Severity::Warning,
            ),
            (
                &H13,
                |s| rrd(s, "pve2", "iowait", 0.2, 300),
                "node/pve2",
                Severity::Warning,
            ),
            (
                &H14,
                |s| status(s, "pve1", "/swap/used", json!(8 * GIB - 1)),
                "node/pve1",
                Severity::Warning,
            ),
            (
                &H15,
                |s| {
                    status(s, "pve1", "/rootfs/used", json!(96 * GIB));
                    status(s, "pve1", "/rootfs/avail", json!(4 * GIB));
                },
                "node/pve1",
                Severity::Critical,
            ),
            (
                &H15,
                |s| {
                    status(s, "pve1", "/rootfs/used", json!(22 * GIB));
                    status(s, "pve1", "/rootfs/total", json!(30 * GIB));
                    status(s, "pve1", "/rootfs/avail", json!(8 * GIB));
                },
                "node/pve1",
                Severity::Notice,
            ),
            (
                &H16,
                |s| rrd(s, "pve2", "pressureiofull", 35.0, 300),
                "node/pve2",
                Severity::Critical,
            ),
            (
                &H16,
                |s| rrd(s, "pve2", "pressurememoryfull", 6.0, 300),
                "node/pve2",
                Severity::Warning,
            ),
            (
                &H17,
                |s| status(s, "pve3", "/uptime", json!(120)),
                "node/pve3",
                Severity::Info,
            ),
            (
                &H18,
                |s| {
                    node(s, "pve2").apt_versions.as_mut().unwrap().push(
                json!({"Package": "proxmox-kernel-6.14.11-5-pve-signed", "Version": "6.14.11-5", "CurrentState": "Installed"}))
                },
                "node/pve2",
                Severity::Warning,
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
        // Single node: corosync is not running there, and that is normal.
        snap.nodes.retain(|k, _| k == "pve1");
        node(&mut snap, "pve1").services.as_mut().unwrap()[5]["state"] = json!("dead");
        // A node without swap, an unused NIC down, a pending (not installed) kernel.
        status(
            &mut snap,
            "pve1",
            "/swap",
            json!({"total": 0, "used": 0, "free": 0}),
        );
        node(&mut snap, "pve1").apt_versions.as_mut().unwrap().push(
            json!({"Package": "proxmox-kernel-6.14.11-5-pve-signed", "Version": "6.14.11-5", "CurrentState": "ConfigFiles"}));
        // Offline nodes are H02's business.
        let mut off = baseline();
        node(&mut off, "pve3").online = false;
        node(&mut off, "pve3").status = Err("595 node offline".into());
        for rule in [&H10 as &dyn Rule, &H12, &H14, &H15, &H17, &H18] {
            assert_eq!(check(rule, &snap), vec![], "{}", rule.id());
            assert_eq!(check(rule, &off), vec![], "{}", rule.id());
        }
    }

    #[test]
    fn missing_facts_skip() {
        type Case = (&'static dyn Rule, fn(&mut ClusterSnapshot));
        let cases: &[Case] = &[
            (&H10, |s| node(s, "pve1").services = denied()),
            (&H11, |s| node(s, "pve1").rrd = denied()),
            (&H12, |s| node(s, "pve1").status = denied()),
            (&H13, |s| node(s, "pve1").rrd = denied()),
            (&H14, |s| node(s, "pve1").status = denied()),
            (&H15, |s| node(s, "pve1").status = denied()),
            (&H16, |s| node(s, "pve1").rrd = denied()),
            (&H17, |s| node(s, "pve1").status = denied()),
            (&H18, |s| node(s, "pve1").apt_versions = denied()),
            (&H18, |s| node(s, "pve1").status = denied()),
        ];
        for (rule, seed) in cases {
            let mut snap = baseline();
            seed(&mut snap);
            skips(*rule, &snap, "403");
        }
    }

    #[test]
    fn kernel_versions_order_numerically() {
        assert!(version_key("6.14.11-4-pve") > version_key("6.14.8-2-pve"));
        let v = vec![
            json!({"Package": "pve-kernel-5.15.108-1-pve", "Version": "5.15.108-1"}),
            json!({"Package": "proxmox-kernel-6.8.12-4-pve-signed", "Version": "6.8.12-4", "CurrentState": "Installed"}),
            json!({"Package": "proxmox-kernel-6.8", "Version": "6.8.12-4", "CurrentState": "Installed"}),
        ];
        assert_eq!(newest_kernel(&v).as_deref(), Some("6.8.12-4-pve"));
        assert_eq!(
            running_kernel(&json!({"kversion": "Linux 6.8.12-4-pve #1 SMP"})).as_deref(),
            Some("6.8.12-4-pve")
        );
    }
}
