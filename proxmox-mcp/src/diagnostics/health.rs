//! Pure: a [`Snapshot`] judged into checks and one overall verdict (ok / degraded / failing)
//! with the reasons. Whatever was not read is "not checked", never a pass.

use std::collections::{BTreeMap, BTreeSet};

use schemars::JsonSchema;
use serde::Serialize;

use super::snapshot::{Need, Snapshot};

/// Storage use above this share is a problem.
pub const STORAGE_FULL: f64 = 0.85;
/// Clock skew against PVE above this (seconds) is a problem (tickets, task times, TOTP).
pub const MAX_SKEW_SECS: i64 = 5;
/// The state directory needs at least this much free space (audit log, approvals).
pub const MIN_FREE_BYTES: u64 = 256 << 20;
/// The oldest supported PVE major version.
pub const MIN_PVE_MAJOR: u32 = 8;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Ok,
    NotChecked,
    Degraded,
    Failing,
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct Check {
    /// server, proxmox or cluster
    pub area: &'static str,
    pub name: &'static str,
    pub status: Status,
    pub detail: String,
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct Health {
    /// ok, degraded or failing
    pub overall: Status,
    /// Why it is not ok, one line each
    pub reasons: Vec<String>,
    /// What could not be checked, and why
    pub not_checked: Vec<String>,
    pub checks: Vec<Check>,
}

/// Judges the snapshot.
pub fn assess(s: &Snapshot) -> Health {
    let mut checks = Vec::new();
    let mut add = |area, name, status, detail: String| {
        checks.push(Check {
            area,
            name,
            status,
            detail,
        })
    };
    let sv = &s.server;
    let bridge = if sv.behind_bridge {
        ", behind the HTTP bridge"
    } else {
        ""
    };
    add(
        "server",
        "version",
        Status::Ok,
        format!(
            "proxmox-mcp {}, up {}s, mode {}{bridge}",
            sv.version, sv.uptime_secs, sv.mode
        ),
    );
    if sv.clusters == 0 {
        add(
            "server",
            "config",
            Status::Degraded,
            "the configuration is valid but names no Proxmox cluster".into(),
        );
    } else {
        add(
            "server",
            "config",
            Status::Ok,
            format!("valid, {} cluster(s)", sv.clusters),
        );
    }
    match &sv.audit {
        Err(why) => add("server", "audit", Status::Failing, why.clone()),
        Ok(a) => match (&a.writable, a.problems.first()) {
            (Err(e), _) => add(
                "server",
                "audit",
                Status::Failing,
                format!("the audit log is not writable: {e}"),
            ),
            (_, Some(p)) => add(
                "server",
                "audit",
                Status::Failing,
                format!(
                    "the audit chain is broken ({} problem(s)): {p}",
                    a.problems.len()
                ),
            ),
            _ => add(
                "server",
                "audit",
                Status::Ok,
                format!("writable, chain of {} records intact", a.records),
            ),
        },
    }
    match &sv.state_dir {
        Err(why) => add("server", "state_dir", Status::NotChecked, why.clone()),
        Ok(f) => {
            let low = f.free_bytes < MIN_FREE_BYTES;
            add(
                "server",
                "state_dir",
                if low { Status::Degraded } else { Status::Ok },
                format!(
                    "{} MiB free of {} MiB in the state directory{}",
                    f.free_bytes >> 20,
                    f.total_bytes >> 20,
                    if low { " (too little)" } else { "" }
                ),
            );
        }
    }
    match &s.pve {
        Err(why) => add(
            "proxmox",
            "reachable",
            Status::Failing,
            format!("Proxmox is not usable: {why}"),
        ),
        Ok(p) => {
            add(
                "proxmox",
                "reachable",
                Status::Ok,
                format!("reachable and authenticated, {} ms", p.latency_ms),
            );
            let major: Option<u32> = p.version.split('.').next().and_then(|m| m.parse().ok());
            match major {
                Some(m) if m >= MIN_PVE_MAJOR => add(
                    "proxmox",
                    "version",
                    Status::Ok,
                    format!("PVE {} (supported)", p.version),
                ),
                _ => add(
                    "proxmox",
                    "version",
                    Status::Degraded,
                    format!(
                        "PVE {} is not supported (need {MIN_PVE_MAJOR}.x or newer)",
                        p.version
                    ),
                ),
            }
        }
    }
    match &s.clock_skew {
        Err(why) => add("server", "clock", Status::NotChecked, why.clone()),
        Ok(d) if d.abs() > MAX_SKEW_SECS => add(
            "server",
            "clock",
            Status::Degraded,
            format!("our clock is {d} s off PVE's (more than {MAX_SKEW_SECS} s)"),
        ),
        Ok(d) => add(
            "server",
            "clock",
            Status::Ok,
            format!("{d} s off PVE's clock"),
        ),
    }
    match (&s.granted, &s.needs) {
        (Err(why), _) | (_, Err(why)) => {
            add("proxmox", "privileges", Status::NotChecked, why.clone())
        }
        (Ok(granted), Ok(needs)) => {
            let missing = missing_privileges(granted, needs);
            if missing.is_empty() {
                add(
                    "proxmox",
                    "privileges",
                    Status::Ok,
                    format!(
                        "the token holds what the {} enabled tool endpoints need",
                        needs.len()
                    ),
                );
            }
            for (privs, tools) in missing {
                let tools: Vec<&str> = tools.iter().map(String::as_str).collect();
                add(
                    "proxmox",
                    "privileges",
                    Status::Degraded,
                    format!("the token lacks {privs} (needed by {})", tools.join(", ")),
                );
            }
        }
    }
    match &s.cluster {
        Err(why) => {
            add("cluster", "quorum", Status::NotChecked, why.clone());
            add("cluster", "nodes", Status::NotChecked, why.clone());
        }
        Ok(c) => {
            match c.quorate {
                Some(false) => add(
                    "cluster",
                    "quorum",
                    Status::Failing,
                    "the cluster has lost quorum: /etc/pve is read-only".into(),
                ),
                Some(true) => add("cluster", "quorum", Status::Ok, "quorate".into()),
                None => add("cluster", "quorum", Status::Ok, "single node".into()),
            }
            let offline: Vec<&String> = c
                .nodes
                .iter()
                .filter(|(_, o)| !**o)
                .map(|(n, _)| n)
                .collect();
            if offline.is_empty() {
                add(
                    "cluster",
                    "nodes",
                    Status::Ok,
                    format!("all {} nodes online", c.nodes.len()),
                );
            }
            for n in offline {
                add(
                    "cluster",
                    "nodes",
                    Status::Degraded,
                    format!("node {n} is offline"),
                );
            }
        }
    }
    match &s.storages {
        Err(why) => add("cluster", "storage", Status::NotChecked, why.clone()),
        Ok(list) => {
            let mut seen = BTreeSet::new();
            let mut full = 0;
            for st in list {
                if st.total == 0 || (st.shared && !seen.insert(st.storage.clone())) {
                    continue;
                }
                let share = st.used as f64 / st.total as f64;
                if share > STORAGE_FULL {
                    full += 1;
                    add(
                        "cluster",
                        "storage",
                        Status::Degraded,
                        format!(
                            "storage {} on {} is {:.0}% full",
                            st.storage,
                            st.node,
                            share * 100.0
                        ),
                    );
                }
            }
            if full == 0 {
                add(
                    "cluster",
                    "storage",
                    Status::Ok,
                    format!(
                        "{} storages, none over {:.0}%",
                        list.len(),
                        STORAGE_FULL * 100.0
                    ),
                );
            }
        }
    }
    match &s.tasks {
        Err(why) => add("cluster", "tasks", Status::NotChecked, why.clone()),
        Ok(tasks) => {
            let failed: Vec<_> = tasks
                .iter()
                .filter(|t| {
                    t.endtime.is_some_and(|e| e >= s.now - 86_400)
                        && !t.status.is_empty()
                        && t.status != "OK"
                        && !t.status.starts_with("WARNINGS")
                })
                .collect();
            match failed.first() {
                None => add(
                    "cluster",
                    "tasks",
                    Status::Ok,
                    "no failed tasks in the last 24 h".into(),
                ),
                Some(t) => add(
                    "cluster",
                    "tasks",
                    Status::Degraded,
                    format!(
                        "{} task(s) failed in the last 24 h, e.g. {} on {}: {}",
                        failed.len(),
                        t.kind,
                        t.node,
                        t.status
                    ),
                ),
            }
        }
    }
    match &s.ha {
        Err(why) => add("cluster", "ha", Status::NotChecked, why.clone()),
        Ok(items) => {
            let bad: Vec<String> = items
                .iter()
                .filter(|h| match h.kind.as_str() {
                    "service" => h
                        .state
                        .as_deref()
                        .is_some_and(|st| matches!(st, "error" | "fence" | "recovery")),
                    "quorum" => h.status != "OK",
                    _ => false,
                })
                .map(|h| format!("{}: {}", h.id, h.state.as_deref().unwrap_or(&h.status)))
                .collect();
            if bad.is_empty() {
                add("cluster", "ha", Status::Ok, "no HA errors".into());
            } else {
                add(
                    "cluster",
                    "ha",
                    Status::Degraded,
                    format!("HA errors: {}", bad.join(", ")),
                );
            }
        }
    }
    let overall = checks
        .iter()
        .map(|c| c.status)
        .filter(|s| *s != Status::NotChecked)
        .max()
        .unwrap_or(Status::Ok);
    let reasons = checks
        .iter()
        .filter(|c| matches!(c.status, Status::Degraded | Status::Failing))
        .map(|c| c.detail.clone())
        .collect();
    let not_checked = checks
        .iter()
        .filter(|c| c.status == Status::NotChecked)
        .map(|c| format!("{}: not checked: {}", c.name, c.detail))
        .collect();
    Health {
        overall,
        reasons,
        not_checked,
        checks,
    }
}

/// The privileges the token lacks, each with the tools that need it: an all-of need lists each
/// missing privilege; an any-of need none of which is held lists its alternatives (`A or B`).
pub fn missing_privileges(
    granted: &BTreeSet<String>,
    needs: &[Need],
) -> BTreeMap<String, BTreeSet<String>> {
    let mut out: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for n in needs {
        let held = |p: &String| granted.contains(p);
        if n.any {
            if !n.privs.is_empty() && !n.privs.iter().any(held) {
                out.entry(n.privs.join(" or "))
                    .or_default()
                    .insert(n.tool.clone());
            }
        } else {
            for p in n.privs.iter().filter(|p| !held(p)) {
                out.entry(p.clone()).or_default().insert(n.tool.clone());
            }
        }
    }
    out
}

#[cfg(test)]
pub(crate) mod tests {
    use super::super::snapshot::*;
    use super::*;

    /// A healthy three-node cluster.
    pub(crate) fn healthy() -> Snapshot {
        let nodes = ["pve1", "pve2", "pve3"];
        Snapshot {
            now: 1_800_000_000,
            server: ServerFacts {
                version: "1.0.0".into(),
                uptime_secs: 10,
                mode: "safe".into(),
                clusters: 1,
                audit: Ok(AuditFacts {
                    writable: Ok(()),
                    records: 3,
                    problems: vec![],
                }),
                state_dir: Ok(FreeSpace {
                    free_bytes: 10 << 30,
                    total_bytes: 20 << 30,
                }),
                behind_bridge: false,
            },
            pve: Ok(PveFacts {
                version: "9.1.1".into(),
                latency_ms: 3,
            }),
            clock_skew: Ok(0),
            granted: Ok(["VM.Audit", "VM.PowerMgmt"]
                .map(String::from)
                .into_iter()
                .collect()),
            needs: Ok(vec![Need {
                tool: "guest_action".into(),
                endpoint: "POST /nodes/{node}/qemu/{vmid}/status/start".into(),
                any: false,
                privs: vec!["VM.PowerMgmt".into()],
            }]),
            cluster: Ok(ClusterFacts {
                quorate: Some(true),
                nodes: nodes.iter().map(|n| (n.to_string(), true)).collect(),
            }),
            storages: Ok(nodes
                .iter()
                .map(|n| StorageUse {
                    storage: "local".into(),
                    node: n.to_string(),
                    used: 10,
                    total: 100,
                    shared: false,
                })
                .collect()),
            tasks: Ok(vec![TaskFact {
                upid: "UPID:pve1:1".into(),
                node: "pve1".into(),
                kind: "qmstart".into(),
                status: "OK".into(),
                endtime: Some(1_800_000_000 - 60),
            }]),
            ha: Ok(vec![HaFact {
                id: "quorum".into(),
                kind: "quorum".into(),
                status: "OK".into(),
                state: None,
            }]),
            guests: Ok(vec![]),
            backup_jobs: Ok(vec![]),
            firewall_enabled: Ok(true),
        }
    }

    fn check(name: &str, change: impl FnOnce(&mut Snapshot), overall: Status, reasons: &[&str]) {
        let mut s = healthy();
        change(&mut s);
        let h = assess(&s);
        assert_eq!(h.overall, overall, "{name}: {h:#?}");
        assert_eq!(h.reasons.len(), reasons.len(), "{name}: {:?}", h.reasons);
        for (got, want) in h.reasons.iter().zip(reasons) {
            assert!(got.contains(want), "{name}: {got:?} lacks {want:?}");
        }
    }

    #[test]
    fn each_rule_fires_alone() {
        check("healthy", |_| {}, Status::Ok, &[]);
        check(
            "node offline",
            |s| {
                s.cluster
                    .as_mut()
                    .unwrap()
                    .nodes
                    .insert("pve3".into(), false);
            },
            Status::Degraded,
            &["node pve3 is offline"],
        );
        check(
            "storage full",
            |s| s.storages.as_mut().unwrap()[1].used = 90,
            Status::Degraded,
            &["storage local on pve2 is 90% full"],
        );
        check(
            "missing privilege",
            |s| {
                s.granted.as_mut().unwrap().remove("VM.PowerMgmt");
            },
            Status::Degraded,
            &["the token lacks VM.PowerMgmt (needed by guest_action)"],
        );
        check(
            "no quorum",
            |s| s.cluster.as_mut().unwrap().quorate = Some(false),
            Status::Failing,
            &["lost quorum"],
        );
        check(
            "unreachable",
            |s| s.pve = Err("GET /version: 401 authentication failure".into()),
            Status::Failing,
            &["Proxmox is not usable: GET /version: 401"],
        );
        check(
            "old pve",
            |s| s.pve.as_mut().unwrap().version = "7.4".into(),
            Status::Degraded,
            &["PVE 7.4 is not supported"],
        );
        check(
            "skew",
            |s| s.clock_skew = Ok(-42),
            Status::Degraded,
            &["-42 s off"],
        );
        check(
            "failed task",
            |s| s.tasks.as_mut().unwrap()[0].status = "command 'x' failed".into(),
            Status::Degraded,
            &["1 task(s) failed"],
        );
        check(
            "old failed task",
            |s| {
                let t = &mut s.tasks.as_mut().unwrap()[0];
                t.status = "failed".into();
                t.endtime = Some(s.now - 90_000);
            },
            Status::Ok,
            &[],
        );
        check(
            "ha error",
            |s| {
                s.ha.as_mut().unwrap().push(HaFact {
                    id: "service:vm:100".into(),
                    kind: "service".into(),
                    status: "vm:100 (pve1, error)".into(),
                    state: Some("error".into()),
                })
            },
            Status::Degraded,
            &["HA errors: service:vm:100: error"],
        );
        check(
            "audit broken",
            |s| s.server.audit.as_mut().unwrap().problems = vec!["record 2 altered".into()],
            Status::Failing,
            &["audit chain is broken"],
        );
        check(
            "low disk",
            |s| s.server.state_dir.as_mut().unwrap().free_bytes = 1 << 20,
            Status::Degraded,
            &["1 MiB free"],
        );
    }

    #[test]
    fn what_cannot_be_read_is_listed_not_passed() {
        let mut s = healthy();
        s.tasks = Err("GET /cluster/tasks: 403 Permission check failed".into());
        let h = assess(&s);
        assert_eq!(h.overall, Status::Ok);
        assert_eq!(
            h.not_checked,
            vec!["tasks: not checked: GET /cluster/tasks: 403 Permission check failed"]
        );
    }

    #[test]
    fn any_of_needs_report_alternatives() {
        let granted: BTreeSet<String> = ["A.X".to_string()].into();
        let needs = vec![
            Need {
                tool: "t1".into(),
                endpoint: "GET /a".into(),
                any: true,
                privs: vec!["A.X".into(), "B.Y".into()],
            },
            Need {
                tool: "t2".into(),
                endpoint: "GET /b".into(),
                any: true,
                privs: vec!["C.Z".into(), "B.Y".into()],
            },
        ];
        let m = missing_privileges(&granted, &needs);
        assert_eq!(m.keys().collect::<Vec<_>>(), vec!["C.Z or B.Y"]);
    }
}
