//! Pure: operational rules: Ceph, replication, tasks, the cluster log, guest locks, the API
//! itself (H32–H35, H37, H38).

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Value, json};

use super::{FindingExt, finding, health_rule, per_node};
use crate::diagnostics::rules::util::{num, str_of};
use crate::diagnostics::rules::{Confidence, Ctx, Outcome, Severity, got};
use crate::diagnostics::snapshot::cluster::ClusterSnapshot;

health_rule!(H32, "H32", "Ceph not healthy", ceph);
health_rule!(H33, "H33", "Replication failing", replication);
health_rule!(H34, "H34", "Failed tasks", failed_tasks);
health_rule!(H35, "H35", "Errors in the cluster log", log_errors);
health_rule!(H37, "H37", "Guest lock left behind", locks);
health_rule!(H38, "H38", "API version endpoint unreadable", api_down);

fn ceph(snap: &ClusterSnapshot, _: &Ctx) -> Outcome {
    let Some(status) = &snap.ceph else {
        return Ok(vec![]);
    };
    let status = got(status)?;
    let health = status
        .pointer("/health/status")
        .and_then(Value::as_str)
        .unwrap_or("HEALTH_UNKNOWN");
    let severity = match health {
        "HEALTH_OK" => return Ok(vec![]),
        "HEALTH_WARN" => Severity::Warning,
        _ => Severity::Critical,
    };
    let checks: Vec<String> = status
        .pointer("/health/checks")
        .and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .map(|(k, c)| {
                    let msg = c
                        .pointer("/summary/message")
                        .and_then(Value::as_str)
                        .unwrap_or("");
                    format!("{k}: {msg}")
                })
                .collect()
        })
        .unwrap_or_default();
    Ok(vec![
        finding(
            "H32",
            severity,
            "cluster",
            format!("Ceph reports {health}"),
            if checks.is_empty() { health.to_string() } else { format!("{health}; {}", checks.join("; ")) },
            "Resolve the Ceph health checks listed (OSDs down, PGs degraded, full ratios) before they affect guest IO.",
        )
        .with_fix("ceph health detail"),
    ])
}

fn replication(snap: &ClusterSnapshot, ctx: &Ctx) -> Outcome {
    let crit = ctx.threshold("H33.crit", 3.0);
    let mut seen = BTreeSet::new();
    per_node(
        snap,
        |n| &n.replication,
        |n, jobs, out| {
            for j in jobs {
                let (Some(id), Some(fails)) = (str_of(j, "id"), num(j, "fail_count")) else {
                    continue;
                };
                if fails <= 0.0 || !seen.insert(id.to_string()) {
                    continue;
                }
                let severity = if fails >= crit {
                    Severity::Critical
                } else {
                    Severity::Warning
                };
                let error = str_of(j, "error").unwrap_or("no error text");
                out.push(
                finding(
                    "H33",
                    severity,
                    format!("replication/{id}"),
                    format!("Replication {id} from {} is failing", n.name),
                    format!("fail_count {fails} (crit ≥ {crit}); target {}; error: {error}", str_of(j, "target").unwrap_or("?")),
                    "Fix the cause in the error (target storage, space, network) and run the job again.",
                )
                .with_api("POST", &format!("/nodes/{}/replication/{id}/schedule_now", n.name), json!({}))
                .with_fix(format!("pvesr run --id {id} --verbose")),
            );
            }
        },
    )
}

/// A finished task whose status is neither OK nor warnings.
fn failed(t: &Value) -> bool {
    str_of(t, "status").is_some_and(|s| s != "OK" && !s.starts_with("WARNINGS"))
}

/// A task still running (no end time, no status).
fn running(t: &Value) -> bool {
    t.get("endtime").is_none_or(Value::is_null) && str_of(t, "status").is_none()
}

/// The object a task is about: its guest when its id names one, else its node.
fn task_object(snap: &ClusterSnapshot, t: &Value) -> String {
    let guest = str_of(t, "id")
        .and_then(|id| id.parse::<u32>().ok())
        .and_then(|vmid| snap.guests.get(&vmid));
    match guest {
        Some(g) => format!("{}/{}", g.kind, g.vmid),
        None => format!("node/{}", str_of(t, "node").unwrap_or("?")),
    }
}

fn failed_tasks(snap: &ClusterSnapshot, ctx: &Ctx) -> Outcome {
    let tasks = got(&snap.tasks)?;
    let window = ctx.threshold("H34.hours", 48.0) * 3600.0;
    let since = snap.now as f64 - window;
    let recent = |t: &&Value| num(t, "starttime").is_some_and(|s| s >= since);
    // The newest finished run per (type, id): a failure later fixed is a warning, one still
    // failing is critical.
    let mut latest: BTreeMap<(&str, &str), (f64, bool)> = BTreeMap::new();
    for t in tasks.iter().filter(|t| !running(t)) {
        let key = (
            str_of(t, "type").unwrap_or(""),
            str_of(t, "id").unwrap_or(""),
        );
        let start = num(t, "starttime").unwrap_or(0.0);
        let e = latest.entry(key).or_insert((start, failed(t)));
        if start >= e.0 {
            *e = (start, failed(t));
        }
    }
    let mut groups: BTreeMap<(String, &str, &str), Vec<&Value>> = BTreeMap::new();
    for t in tasks.iter().filter(recent).filter(|t| failed(t)) {
        let key = (
            task_object(snap, t),
            str_of(t, "type").unwrap_or(""),
            str_of(t, "id").unwrap_or(""),
        );
        groups.entry(key).or_default().push(t);
    }
    Ok(groups
        .into_iter()
        .map(|((object, kind, id), ts)| {
            let still = latest.get(&(kind, id)).is_some_and(|(_, f)| *f);
            let last = ts.iter().max_by(|a, b| num(a, "starttime").partial_cmp(&num(b, "starttime")).unwrap_or(std::cmp::Ordering::Equal)).copied();
            let status = last.and_then(|t| str_of(t, "status")).unwrap_or("?");
            let node = last.and_then(|t| str_of(t, "node")).unwrap_or("?");
            let upid = last.and_then(|t| str_of(t, "upid")).unwrap_or("");
            let (severity, later) = if still { (Severity::Critical, "still failing") } else { (Severity::Warning, "a later run succeeded") };
            finding(
                "H34",
                severity,
                object,
                format!("{} {kind} task(s) {id} failed in the last {:.0} h", ts.len(), window / 3600.0),
                format!("last on {node}: {status}; {later}"),
                "Read the task log for the cause and fix it; repeated failures of scheduled jobs leave guests unprotected.",
            )
            .with_fix(format!("GET /nodes/{node}/tasks/{upid}/log"))
        })
        .collect())
}

fn log_errors(snap: &ClusterSnapshot, ctx: &Ctx) -> Outcome {
    let log = got(&snap.log)?;
    let since = snap.now as f64 - ctx.threshold("H35.hours", 48.0) * 3600.0;
    let errors: Vec<&Value> = log
        .iter()
        .filter(|e| num(e, "pri").is_some_and(|p| p <= 3.0))
        .filter(|e| num(e, "time").is_none_or(|t| t >= since))
        .collect();
    let min = ctx.threshold("H35.count", 10.0);
    if (errors.len() as f64) < min {
        return Ok(vec![]);
    }
    let sample: Vec<String> = errors
        .iter()
        .take(3)
        .map(|e| {
            format!(
                "{} {}: {}",
                str_of(e, "node").unwrap_or("?"),
                str_of(e, "tag").unwrap_or("?"),
                str_of(e, "msg").unwrap_or("")
            )
        })
        .collect();
    Ok(vec![
        finding(
            "H35",
            Severity::Info,
            "cluster",
            format!("{} errors in the cluster log", errors.len()),
            format!(
                "{} entries with priority error or worse (≥ {min}); e.g. {}",
                errors.len(),
                sample.join(" | ")
            ),
            "Review the cluster log for recurring errors.",
        )
        .with_fix("GET /cluster/log?max=500")
        .with_confidence(Confidence::Medium),
    ])
}

fn locks(snap: &ClusterSnapshot, _: &Ctx) -> Outcome {
    let res = got(&snap.resources)?;
    let busy: BTreeSet<&str> = snap
        .tasks
        .as_deref()
        .unwrap_or(&[])
        .iter()
        .filter(|t| running(t))
        .filter_map(|t| str_of(t, "id"))
        .collect();
    let mut out = Vec::new();
    for r in res {
        let kind = str_of(r, "type").unwrap_or("");
        if !matches!(kind, "qemu" | "lxc") {
            continue;
        }
        let (Some(lock), Some(vmid)) =
            (str_of(r, "lock").filter(|l| !l.is_empty()), num(r, "vmid"))
        else {
            continue;
        };
        let vmid = vmid as u32;
        if busy.contains(vmid.to_string().as_str()) {
            continue;
        }
        let (severity, confidence) = if lock == "suspended" {
            (Severity::Info, Confidence::Medium)
        } else if snap.tasks.is_err() {
            (Severity::Warning, Confidence::Medium)
        } else {
            (Severity::Warning, Confidence::High)
        };
        let node = str_of(r, "node").unwrap_or("?");
        let cmd = if kind == "qemu" { "qm" } else { "pct" };
        out.push(
            finding(
                "H37",
                severity,
                format!("{kind}/{vmid}"),
                format!("Guest {vmid} is locked ({lock})"),
                format!("lock {lock} on {node} with no running task for the guest"),
                "Confirm no operation is still running for the guest, then remove the lock.",
            )
            .with_fix(format!("{cmd} unlock {vmid}"))
            .with_confidence(confidence),
        );
    }
    Ok(out)
}

fn api_down(snap: &ClusterSnapshot, _: &Ctx) -> Outcome {
    match &snap.version {
        Ok(_) => Ok(vec![]),
        Err(why) => Ok(vec![
            finding(
                "H38",
                Severity::Critical,
                "cluster",
                "The PVE API did not answer GET /version",
                why.clone(),
                "Check pveproxy and pvedaemon on the node this server talks to, and the token's access.",
            )
            .with_fix("systemctl status pveproxy pvedaemon"),
        ]),
    }
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::{NOW, baseline, check, denied, node, skips};
    use super::*;
    use crate::diagnostics::rules::Rule;

    fn task(node: &str, kind: &str, id: &str, ago: i64, status: Option<&str>) -> Value {
        let mut t = json!({"upid": format!("UPID:{node}:0:0:0:{kind}:{id}:root@pam:"), "node": node, "type": kind, "id": id,
            "user": "root@pam", "starttime": NOW - ago});
        if let Some(s) = status {
            t["status"] = json!(s);
            t["endtime"] = json!(NOW - ago + 10);
        }
        t
    }

    fn lock(snap: &mut ClusterSnapshot, vmid: u64, lock: &str) {
        for r in snap.resources.as_mut().unwrap() {
            if r["vmid"] == vmid {
                r["lock"] = json!(lock);
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
                &H32,
                |s| {
                    s.ceph = Some(Ok(
                        json!({"health": {"status": "HEALTH_WARN", "checks": {"OSD_DOWN": {"severity": "HEALTH_WARN", "summary": {"message": "1 osds down"}}}}}),
                    ))
                },
                "cluster",
                Severity::Warning,
            ),
            (
                &H32,
                |s| s.ceph = Some(Ok(json!({"health": {"status": "HEALTH_ERR"}}))),
                "cluster",
                Severity::Critical,
            ),
            (
                &H33,
                |s| {
                    node(s, "pve1").replication = Ok(vec![
                        json!({"id": "100-0", "guest": 100, "target": "pve2", "fail_count": 1, "error": "no space"}),
                    ])
                },
                "replication/100-0",
                Severity::Warning,
            ),
            (
                &H33,
                |s| {
                    node(s, "pve1").replication = Ok(vec![
                        json!({"id": "100-0", "guest": 100, "target": "pve2", "fail_count": 5}),
                    ])
                },
                "replication/100-0",
                Severity::Critical,
            ),
            (
                &H34,
                |s| {
                    s.tasks.as_mut().unwrap().push(task(
                        "pve1",
                        "vzdump",
                        "100",
                        600,
                        Some("job errors"),
                    ))
                },
                "qemu/100",
                Severity::Critical,
            ),
            (
                &H34,
                |s| {
                    let t = s.tasks.as_mut().unwrap();
                    t.push(task(
                        "pve2",
                        "vzdump",
                        "200",
                        90_000,
                        Some("unable to create temporary directory"),
                    ));
                },
                "lxc/200",
                Severity::Warning,
            ),
            (
                &H34,
                |s| {
                    s.tasks.as_mut().unwrap().push(task(
                        "pve3",
                        "aptupdate",
                        "",
                        600,
                        Some("command 'apt-get update' failed: exit code 100"),
                    ))
                },
                "node/pve3",
                Severity::Critical,
            ),
            (
                &H35,
                |s| {
                    let log = s.log.as_mut().unwrap();
                    for k in 0..12 {
                        log.push(json!({"uid": 10 + k, "time": NOW - 100 * k, "node": "pve2", "pri": 3, "tag": "pvestatd", "msg": "storage 'nas' is not online"}));
                    }
                },
                "cluster",
                Severity::Info,
            ),
            (
                &H37,
                |s| lock(s, 100, "backup"),
                "qemu/100",
                Severity::Warning,
            ),
            (
                &H37,
                |s| lock(s, 200, "suspended"),
                "lxc/200",
                Severity::Info,
            ),
            (
                &H38,
                |s| s.version = Err("GET /version: 503 Service Unavailable".into()),
                "cluster",
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
        // Ceph healthy; a backup running right now holds its lock; old failures and a few
        // log errors are history.
        snap.ceph = Some(Ok(json!({"health": {"status": "HEALTH_OK", "checks": {}}})));
        snap.tasks
            .as_mut()
            .unwrap()
            .push(task("pve1", "vzdump", "100", 60, None));
        lock(&mut snap, 100, "backup");
        snap.tasks.as_mut().unwrap().push(task(
            "pve1",
            "vzdump",
            "100",
            4 * 86_400,
            Some("job errors"),
        ));
        for k in 0..3 {
            snap.log.as_mut().unwrap().push(json!({"uid": 10 + k, "time": NOW, "node": "pve2", "pri": 3, "tag": "x", "msg": "e"}));
        }
        node(&mut snap, "pve1").replication =
            Ok(vec![json!({"id": "100-0", "guest": 100, "fail_count": 0})]);
        for rule in [&H32 as &dyn Rule, &H33, &H34, &H35, &H37, &H38] {
            assert_eq!(check(rule, &snap), vec![], "{}", rule.id());
        }
    }

    #[test]
    fn missing_facts_skip() {
        type Case = (&'static dyn Rule, fn(&mut ClusterSnapshot));
        let cases: &[Case] = &[
            (&H32, |s| s.ceph = Some(denied())),
            (&H33, |s| node(s, "pve1").replication = denied()),
            (&H34, |s| s.tasks = denied()),
            (&H35, |s| s.log = denied()),
            (&H37, |s| s.resources = denied()),
        ];
        for (rule, seed) in cases {
            let mut snap = baseline();
            seed(&mut snap);
            skips(*rule, &snap, "403");
        }
    }
}
