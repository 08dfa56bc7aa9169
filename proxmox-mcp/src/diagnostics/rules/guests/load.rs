//! Pure: the guest state and load rules V21–V24 (CPU, memory, pressure, stopped, restarted).

use super::{Kinds, guest_rule, per_guest, per_resource, res_num};
use crate::diagnostics::rules::util::{flag, num, pct, str_of};
use crate::diagnostics::rules::{Confidence, Severity, Skip};

/// Warning/critical by thresholds, or nothing.
fn level(value: f64, warn: f64, crit: f64) -> Option<Severity> {
    if value >= crit {
        Some(Severity::Critical)
    } else if value >= warn {
        Some(Severity::Warning)
    } else {
        None
    }
}

guest_rule!(V21a, "V21a", "Guest CPU usage high", |snap, ctx| {
    let (warn, crit) = (
        ctx.threshold("V21a.warn", 70.0),
        ctx.threshold("V21a.crit", 85.0),
    );
    per_resource(snap, Kinds::Both, |g| {
        let Some(cpu) = res_num(g, "cpu").filter(|_| g.running()).map(|c| c * 100.0) else {
            return Ok(vec![]);
        };
        let Some(sev) = level(cpu, warn, crit) else {
            return Ok(vec![]);
        };
        let mut f = g.finding(
            "V21a",
            sev,
            format!("{}: CPU at {cpu:.0} %", g.label()),
            format!(
                "cpu {cpu:.0} % of {} vCPU (warn ≥ {warn}, crit ≥ {crit})",
                res_num(g, "maxcpu").unwrap_or_default()
            ),
            "Find the busy process in the guest; add vCPUs if the load is legitimate and lasting.",
        );
        f.confidence = Confidence::Medium;
        Ok(vec![f])
    })
});

guest_rule!(V21b, "V21b", "Guest memory usage high", |snap, ctx| {
    let (warn, crit) = (
        ctx.threshold("V21b.warn", 70.0),
        ctx.threshold("V21b.crit", 85.0),
    );
    per_resource(snap, Kinds::Both, |g| {
        let (Some(mem), Some(max)) = (res_num(g, "mem"), res_num(g, "maxmem")) else {
            return Ok(vec![]);
        };
        let Some(used) = pct(mem, max).filter(|_| g.running()) else {
            return Ok(vec![]);
        };
        let Some(sev) = level(used, warn, crit) else {
            return Ok(vec![]);
        };
        let gib = |b: f64| b / 1_073_741_824.0;
        let mut f = g.finding(
            "V21b",
            sev,
            format!("{}: memory at {used:.0} %", g.label()),
            format!(
                "mem {:.1} of {:.1} GiB = {used:.0} % (warn ≥ {warn}, crit ≥ {crit})",
                gib(mem),
                gib(max)
            ),
            "Check the guest's memory use; raise its memory if it is legitimately short.",
        );
        f.confidence = Confidence::Medium;
        Ok(vec![f])
    })
});

guest_rule!(V22, "V22", "Guest pressure stall (PSI)", |snap, ctx| {
    // (rrd field, name, default warn, default crit), values in percent.
    let metrics = [
        ("pressurecpusome", "cpu", 50.0, 80.0),
        ("pressureiofull", "io", 20.0, 50.0),
        ("pressurememoryfull", "mem", 10.0, 30.0),
    ];
    let mut judged = 0;
    let mut running = 0;
    let out = per_guest(snap, Kinds::Both, |g| {
        if !g.running() {
            return Ok(vec![]);
        }
        let Some(Ok(rows)) = &g.g.rrd else {
            return Ok(vec![]);
        };
        // (severity, title part, evidence part) per stalled resource; one finding per guest.
        let mut hits = vec![];
        for (field, name, w, c) in metrics {
            let vals: Vec<f64> = rows.iter().filter_map(|r| num(r, field)).collect();
            if vals.is_empty() {
                continue;
            }
            let avg = vals.iter().sum::<f64>() / vals.len() as f64;
            let (warn, crit) = (
                ctx.threshold(&format!("V22.{name}_warn"), w),
                ctx.threshold(&format!("V22.{name}_crit"), c),
            );
            if let Some(sev) = level(avg, warn, crit) {
                hits.push((
                    sev,
                    format!("{name} {avg:.0} %"),
                    format!(
                        "{field} average {avg:.1} % over {} samples (warn ≥ {warn}, crit ≥ {crit})",
                        vals.len()
                    ),
                ));
            }
        }
        let Some(sev) = hits.iter().map(|h| h.0).max() else {
            return Ok(vec![]);
        };
        let titles: Vec<&str> = hits.iter().map(|h| h.1.as_str()).collect();
        let evidence: Vec<&str> = hits.iter().map(|h| h.2.as_str()).collect();
        Ok(vec![g.finding(
            "V22",
            sev,
            format!("{}: pressure stall: {}", g.label(), titles.join(", ")),
            evidence.join("; "),
            "The guest is stalled waiting for these resources: give it more, or move it to a less busy node or storage.",
        )])
    })?;
    for g in snap.guests.values() {
        let running_guest = str_of(&g.resource, "status") == Some("running")
            && flag(&g.resource, "template") != Some(true);
        if running_guest && g.config.is_ok() {
            running += 1;
            if matches!(&g.rrd, Some(Ok(rows)) if rows.iter().any(|r| metrics.iter().any(|m| r.get(m.0).is_some())))
            {
                judged += 1;
            }
        }
    }
    if running > 0 && judged == 0 {
        return Err(Skip("guest pressure data not read (guest RRD is read for single-guest analyses, PVE 9 only)".into()));
    }
    Ok(out)
});

guest_rule!(
    V23,
    "V23",
    "Guest set to start on boot is stopped",
    |snap, _ctx| {
        per_guest(snap, Kinds::Both, |g| {
            if g.template()
                || g.status() != "stopped"
                || g.bool_key("onboot") != Some(true)
                || g.ha_managed(snap)?
            {
                return Ok(vec![]);
            }
            let f = g.finding(
                "V23",
                Severity::Warning,
                format!("{}: stopped although it starts on boot", g.label()),
                "status stopped, onboot = 1".into(),
                "Start the guest, or clear onboot if it is meant to stay off.",
            );
            Ok(vec![g.fix_text(
                f,
                format!(
                    "pvesh create /nodes/{}/{}/{}/status/start",
                    g.g.node, g.g.kind, g.g.vmid
                ),
            )])
        })
    }
);

guest_rule!(V24, "V24", "Guest restarted recently", |snap, ctx| {
    let secs = ctx.threshold("V24.secs", 600.0);
    per_resource(snap, Kinds::Both, |g| {
        let Some(up) = res_num(g, "uptime").filter(|u| g.running() && *u < secs) else {
            return Ok(vec![]);
        };
        let mut f = g.finding(
            "V24",
            Severity::Info,
            format!("{}: up for {up:.0} s only", g.label()),
            format!("uptime {up:.0} s (< {secs:.0} s)"),
            "Check whether the restart was planned (task log, guest logs); an unplanned one hints at a crash or OOM kill.",
        );
        f.confidence = Confidence::Medium;
        Ok(vec![f])
    })
});

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::super::fixtures::{baseline, check, guest_mut, no_configs, skips, with, with_res};
    use super::*;
    use crate::diagnostics::rules::Rule;
    use Severity::*;

    const NONE: &[(&str, Severity)] = &[];

    #[test]
    fn missing_facts_skip() {
        let rules: &[&dyn Rule] = &[&V22, &V23];
        for r in rules {
            skips(*r, &no_configs(baseline()), "403");
            check(*r, &baseline(), NONE);
        }
        // Load and uptime come from /cluster/resources alone: judged without configs.
        let rules: &[&dyn Rule] = &[&V21a, &V21b, &V24];
        for r in rules {
            check(*r, &baseline(), NONE);
            check(*r, &no_configs(baseline()), NONE);
            let mut snap = baseline();
            snap.resources = Err("GET /cluster/resources: 403".into());
            skips(*r, &snap, "resources");
        }
        check(
            &V21a,
            &no_configs(with_res(baseline(), 101, "cpu", json!(0.9))),
            &[("qemu/101", Critical)],
        );
        let mut snap = baseline();
        for g in snap.guests.values_mut() {
            g.rrd = None;
        }
        skips(&V22, &snap, "RRD");
        let mut snap = baseline();
        snap.ha_resources = Err("GET /cluster/ha/resources: 403".into());
        check(&V23, &snap, NONE);
        skips(
            &V23,
            &with(snap, 103, &[("onboot", Some("1"))]),
            "ha/resources",
        );
    }

    #[test]
    fn v21_load() {
        check(
            &V21a,
            &with_res(baseline(), 101, "cpu", json!(0.75)),
            &[("qemu/101", Warning)],
        );
        check(
            &V21a,
            &with_res(baseline(), 101, "cpu", json!(0.9)),
            &[("qemu/101", Critical)],
        );
        check(
            &V21b,
            &with_res(baseline(), 201, "mem", json!(3_865_470_566u64)),
            &[("lxc/201", Critical)],
        );
        check(
            &V21b,
            &with_res(baseline(), 201, "mem", json!(3_221_225_472u64)),
            &[("lxc/201", Warning)],
        );
        // A stopped guest is not judged on stale numbers.
        check(&V21a, &with_res(baseline(), 103, "cpu", json!(0.99)), NONE);
    }

    #[test]
    fn v22_pressure() {
        let mut snap = baseline();
        guest_mut(&mut snap, 101).rrd = Some(Ok(vec![
            json!({"pressureiofull": "35.0"}),
            json!({"pressureiofull": 25.0}),
        ]));
        check(&V22, &snap, &[("qemu/101", Warning)]);
        guest_mut(&mut snap, 201).rrd = Some(Ok(vec![json!({"pressurememoryfull": 40.0})]));
        check(&V22, &snap, &[("qemu/101", Warning), ("lxc/201", Critical)]);
        // Two stalled resources on one guest: one finding at the worse severity.
        guest_mut(&mut snap, 101).rrd = Some(Ok(vec![
            json!({"pressureiofull": 30.0, "pressurecpusome": 90.0, "pressurememoryfull": 1.0}),
        ]));
        check(
            &V22,
            &snap,
            &[("qemu/101", Critical), ("lxc/201", Critical)],
        );
        // Low pressure does not trigger.
        guest_mut(&mut snap, 101).rrd = Some(Ok(vec![json!({"pressurecpusome": 49.0})]));
        check(&V22, &snap, &[("lxc/201", Critical)]);
    }

    #[test]
    fn v23_v24() {
        check(
            &V23,
            &with(baseline(), 103, &[("onboot", Some("1"))]),
            &[("qemu/103", Warning)],
        );
        check(&V23, &with(baseline(), 103, &[("onboot", Some("0"))]), NONE);
        check(
            &V24,
            &with_res(baseline(), 201, "uptime", json!(120)),
            &[("lxc/201", Info)],
        );
        check(&V24, &with_res(baseline(), 103, "uptime", json!(0)), NONE);
    }
}
