//! Pure: backup job rules: existence, coverage, failures, retention, schedules (B01–B03,
//! B07–B09).

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::super::optimise::kit::{More, finding, is_template, retention};
use super::super::util::{flag, num, str_of};
use super::super::{Area, Confidence, Ctx, Outcome, Rule, Severity, got};
use crate::diagnostics::snapshot::cluster::ClusterSnapshot;

/// The job's id (`backup-1a2b`).
pub(super) fn job_id(j: &Value) -> &str {
    str_of(j, "id").unwrap_or("?")
}

pub(super) fn enabled(j: &Value) -> bool {
    flag(j, "enabled") != Some(false)
}

/// Non-template guests the cluster has.
pub(super) fn has_guests(snap: &ClusterSnapshot) -> bool {
    snap.guests.values().any(|g| !is_template(g))
}

/// The storage definition with `id`.
pub(super) fn storage_def<'a>(defs: &'a [Value], id: &str) -> Option<&'a Value> {
    defs.iter().find(|s| str_of(s, "storage") == Some(id))
}

pub(super) fn has_content(s: &Value, what: &str) -> bool {
    str_of(s, "content")
        .unwrap_or("")
        .split(',')
        .any(|c| c.trim() == what)
}

/// The PVE major version, when read.
pub(super) fn major(snap: &ClusterSnapshot) -> Option<u32> {
    let v = snap.version.as_ref().ok()?;
    str_of(v, "version")?.split('.').next()?.parse().ok()
}

rule_meta!(B01, "B01", "No backup job");

impl Rule for B01 {
    rule_head!();
    fn check(&self, snap: &ClusterSnapshot, _ctx: &Ctx) -> Outcome {
        let jobs = got(&snap.backup_jobs)?;
        if !jobs.is_empty() || !has_guests(snap) {
            return Ok(Vec::new());
        }
        let guests = snap.guests.values().filter(|g| !is_template(g)).count();
        let storage = snap
            .storage_config
            .as_ref()
            .ok()
            .and_then(|d| {
                d.iter()
                    .filter(|s| flag(s, "disable") != Some(true))
                    .find(|s| has_content(s, "backup"))
            })
            .and_then(|s| str_of(s, "storage"))
            .unwrap_or("<backup-storage>");
        let params = json!({"schedule": "02:00", "storage": storage, "all": 1, "mode": "snapshot",
            "compress": "zstd", "prune-backups": "keep-daily=7,keep-weekly=4,keep-monthly=6"});
        Ok(vec![
            finding(
                self,
                Severity::Warning,
                "cluster",
                "No backup job is configured",
                format!("0 backup jobs for {guests} guests"),
                "Create a scheduled backup job covering every guest, with retention.",
            )
            .fix(format!(
                "pvesh create /cluster/backup --schedule 02:00 --storage {storage} --all 1 \
                 --mode snapshot --compress zstd --prune-backups \
                 keep-daily=7,keep-weekly=4,keep-monthly=6"
            ))
            .api("POST", "/cluster/backup", params),
        ])
    }
}

rule_meta!(B02, "B02", "Guests not covered by a backup job");

impl Rule for B02 {
    rule_head!();
    fn check(&self, snap: &ClusterSnapshot, _ctx: &Ctx) -> Outcome {
        let missing = got(&snap.not_backed_up)?;
        // No job at all is B01's finding.
        if snap.backup_jobs.as_ref().is_ok_and(Vec::is_empty) {
            return Ok(Vec::new());
        }
        Ok(missing
            .iter()
            .filter_map(|m| {
                let vmid = num(m, "vmid")? as u32;
                let kind = str_of(m, "type").unwrap_or("qemu");
                let name = str_of(m, "name").unwrap_or("");
                Some(
                    finding(
                        self,
                        Severity::Warning,
                        format!("{kind}/{vmid}"),
                        format!("Guest {vmid} {name} is in no backup job"),
                        format!("{kind} {vmid} ({name}) listed by not-backed-up"),
                        "Add the guest to a backup job (or its pool), or ignore it here if it \
                         needs no backup.",
                    )
                    .confidence(Confidence::Medium),
                )
            })
            .collect())
    }
}

rule_meta!(B03, "B03", "Recent backup failed");

impl Rule for B03 {
    rule_head!();
    fn check(&self, snap: &ClusterSnapshot, ctx: &Ctx) -> Outcome {
        let tasks = got(&snap.tasks)?;
        let window = ctx.threshold("B03.hours", 48.0) * 3600.0;
        // Newest finished vzdump task per (node, guest id or whole job run).
        let mut newest: BTreeMap<(&str, &str), &Value> = BTreeMap::new();
        for t in tasks {
            if str_of(t, "type") != Some("vzdump") {
                continue;
            }
            let Some(start) = num(t, "starttime") else {
                continue;
            };
            if (snap.now as f64 - start) > window || str_of(t, "status").is_none() {
                continue;
            }
            let key = (
                str_of(t, "node").unwrap_or(""),
                str_of(t, "id").unwrap_or(""),
            );
            let newer = newest
                .get(&key)
                .is_none_or(|o| num(o, "starttime").unwrap_or(0.0) < start);
            if newer {
                newest.insert(key, t);
            }
        }
        let mut out = Vec::new();
        for ((node, id), t) in newest {
            let status = str_of(t, "status").unwrap_or("");
            if status == "OK" {
                continue;
            }
            let severity = if status.starts_with("WARNINGS") {
                Severity::Warning
            } else {
                Severity::Critical
            };
            let object = match id.parse::<u32>() {
                Ok(vmid) => {
                    let kind = snap.guests.get(&vmid).map_or("qemu", |g| g.kind.as_str());
                    format!("{kind}/{vmid}")
                }
                Err(_) => format!("node/{node}"),
            };
            let upid = str_of(t, "upid").unwrap_or("");
            let what = if id.is_empty() {
                format!("backup run on {node}")
            } else {
                format!("backup of {id} on {node}")
            };
            out.push(
                finding(
                    self,
                    severity,
                    object,
                    format!("Last {what} ended with: {status}"),
                    format!(
                        "vzdump {upid} started {:.1} h ago: {status}",
                        (snap.now as f64 - num(t, "starttime").unwrap_or(0.0)) / 3600.0
                    ),
                    "Read the task log, fix the cause and rerun the backup.",
                )
                .fix(format!("pvesh get /nodes/{node}/tasks/{upid}/log"))
                .api("GET", &format!("/nodes/{node}/tasks/{upid}/log"), json!({})),
            );
        }
        Ok(out)
    }
}

rule_meta!(B07a, "B07a", "Backup job without retention");

impl Rule for B07a {
    rule_head!();
    fn check(&self, snap: &ClusterSnapshot, _ctx: &Ctx) -> Outcome {
        let jobs = got(&snap.backup_jobs)?;
        let mut out = Vec::new();
        for j in jobs.iter().filter(|j| enabled(j)) {
            let removes = flag(j, "remove") != Some(false);
            if removes
                && (retention(j.get("prune-backups")).is_some() || j.get("maxfiles").is_some())
            {
                continue;
            }
            let storage = str_of(j, "storage").unwrap_or("");
            let from_storage = if removes {
                let defs = got(&snap.storage_config)?;
                storage_def(defs, storage).and_then(|s| retention(s.get("prune-backups")))
            } else {
                None
            };
            if from_storage.is_some() {
                continue;
            }
            let id = job_id(j);
            let evidence = if removes {
                format!("no prune-backups on the job or on storage {storage}: backups accumulate")
            } else {
                "remove: 0: retention is never applied".to_owned()
            };
            let params = json!({"prune-backups": "keep-daily=7,keep-weekly=4,keep-monthly=6"});
            out.push(
                finding(
                    self,
                    Severity::Warning,
                    format!("job/{id}"),
                    format!("Backup job {id} keeps every backup"),
                    evidence,
                    "Set a retention (keep-daily/weekly/monthly) on the job or the storage.",
                )
                .fix(format!(
                    "pvesh set /cluster/backup/{id} --prune-backups \
                     keep-daily=7,keep-weekly=4,keep-monthly=6"
                ))
                .api("PUT", &format!("/cluster/backup/{id}"), params),
            );
        }
        Ok(out)
    }
}

rule_meta!(B07b, "B07b", "Backup job uses legacy maxfiles");

impl Rule for B07b {
    rule_head!();
    fn check(&self, snap: &ClusterSnapshot, _ctx: &Ctx) -> Outcome {
        let jobs = got(&snap.backup_jobs)?;
        let severity = if major(snap).is_none_or(|m| m >= 9) {
            Severity::Critical
        } else {
            Severity::Warning
        };
        Ok(jobs
            .iter()
            .filter(|j| j.get("maxfiles").is_some())
            .map(|j| {
                let id = job_id(j);
                let keep = num(j, "maxfiles").unwrap_or(1.0);
                let params = json!({"delete": "maxfiles", "prune-backups": format!("keep-last={keep:.0}")});
                finding(
                    self,
                    severity,
                    format!("job/{id}"),
                    format!("Backup job {id} uses the removed maxfiles option"),
                    format!("maxfiles {keep:.0} (dropped in PVE 9: use prune-backups)"),
                    "Replace maxfiles with an equivalent prune-backups setting.",
                )
                .fix(format!(
                    "pvesh set /cluster/backup/{id} --delete maxfiles --prune-backups keep-last={keep:.0}"
                ))
                .api("PUT", &format!("/cluster/backup/{id}"), params)
            })
            .collect())
    }
}

rule_meta!(B08a, "B08a", "Backup job without schedule");

impl Rule for B08a {
    rule_head!();
    fn check(&self, snap: &ClusterSnapshot, _ctx: &Ctx) -> Outcome {
        Ok(got(&snap.backup_jobs)?
            .iter()
            .filter(|j| enabled(j) && str_of(j, "schedule").is_none_or(|s| s.trim().is_empty()))
            .map(|j| {
                let id = job_id(j);
                finding(
                    self,
                    Severity::Warning,
                    format!("job/{id}"),
                    format!("Backup job {id} never runs"),
                    "enabled, but no schedule",
                    "Give the job a schedule.",
                )
                .fix(format!("pvesh set /cluster/backup/{id} --schedule 02:00"))
                .api(
                    "PUT",
                    &format!("/cluster/backup/{id}"),
                    json!({"schedule": "02:00"}),
                )
            })
            .collect())
    }
}

rule_meta!(B08b, "B08b", "Backup job disabled");

impl Rule for B08b {
    rule_head!();
    fn check(&self, snap: &ClusterSnapshot, _ctx: &Ctx) -> Outcome {
        Ok(got(&snap.backup_jobs)?
            .iter()
            .filter(|j| !enabled(j))
            .map(|j| {
                let id = job_id(j);
                finding(
                    self,
                    Severity::Info,
                    format!("job/{id}"),
                    format!("Backup job {id} is disabled"),
                    format!(
                        "enabled 0, schedule {}",
                        str_of(j, "schedule").unwrap_or("none")
                    ),
                    "Enable the job, or delete it if another job replaced it.",
                )
                .fix(format!("pvesh set /cluster/backup/{id} --enabled 1"))
                .api(
                    "PUT",
                    &format!("/cluster/backup/{id}"),
                    json!({"enabled": 1}),
                )
                .confidence(Confidence::Medium)
            })
            .collect())
    }
}

rule_meta!(B09, "B09", "Backup jobs collide");

impl Rule for B09 {
    rule_head!();
    fn check(&self, snap: &ClusterSnapshot, _ctx: &Ctx) -> Outcome {
        let mut groups: BTreeMap<(&str, String), Vec<&str>> = BTreeMap::new();
        for j in got(&snap.backup_jobs)?.iter().filter(|j| enabled(j)) {
            let (Some(storage), Some(schedule)) = (str_of(j, "storage"), str_of(j, "schedule"))
            else {
                continue;
            };
            let schedule = schedule.split_whitespace().collect::<Vec<_>>().join(" ");
            if schedule.is_empty() {
                continue;
            }
            groups
                .entry((storage, schedule))
                .or_default()
                .push(job_id(j));
        }
        Ok(groups
            .into_iter()
            .filter(|(_, ids)| ids.len() > 1)
            .map(|((storage, schedule), ids)| {
                finding(
                    self,
                    Severity::Warning,
                    format!("job/{}", ids[0]),
                    format!("Backup jobs {} start together", ids.join(", ")),
                    format!("{} jobs write to {storage} at '{schedule}'", ids.len()),
                    "Stagger the schedules (or merge the jobs) so they do not compete for the \
                     same storage.",
                )
                .fix(format!(
                    "pvesh set /cluster/backup/{} --schedule <other time>",
                    ids[1]
                ))
                .confidence(Confidence::Medium)
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::super::super::optimise::fixtures::{NOW, check, denied, healthy, skipped};
    use super::*;

    fn job(s: &mut ClusterSnapshot) -> &mut Value {
        &mut s.backup_jobs.as_mut().unwrap()[0]
    }

    fn jobs_denied() -> ClusterSnapshot {
        ClusterSnapshot {
            backup_jobs: Err(denied("/cluster/backup")),
            replication_jobs: Err(denied("/cluster/replication")),
            storage_config: Err(denied("/storage")),
            not_backed_up: Err(denied("/cluster/backup-info/not-backed-up")),
            tasks: Err(denied("/cluster/tasks")),
            ..healthy()
        }
    }

    const ALL: &[&dyn Rule] = &[&B01, &B02, &B03, &B07a, &B07b, &B08a, &B08b, &B09];

    #[test]
    fn every_rule_skips_without_its_fact() {
        let s = jobs_denied();
        for r in ALL {
            skipped(*r, &s);
        }
    }

    #[test]
    fn b01_b02_coverage() {
        let mut s = healthy();
        check(&B01, &s, &[]);
        check(&B02, &s, &[]);
        s.not_backed_up = Ok(vec![json!({"vmid": 102, "name": "web", "type": "qemu"})]);
        check(&B02, &s, &[("qemu/102", Severity::Warning)]);
        s.backup_jobs = Ok(vec![]);
        check(&B01, &s, &[("cluster", Severity::Warning)]);
        // No job at all is reported once, by B01.
        check(&B02, &s, &[]);
        s.guests.clear();
        check(&B01, &s, &[]);
    }

    #[test]
    fn b03_newest_vzdump_per_guest() {
        let mut s = healthy();
        check(&B03, &s, &[]);
        let task = |node: &str, id: &str, ago: i64, status: &str| {
            json!({"upid": format!("UPID:{node}:1:2:3:vzdump:{id}:root@pam:"), "node": node,
                "type": "vzdump", "id": id, "starttime": NOW - ago, "status": status})
        };
        s.tasks = Ok(vec![
            task("pve1", "101", 7200, "job errors"),
            task("pve1", "101", 3600, "OK"),
            task("pve2", "102", 3600, "unable to create temporary directory"),
            task("pve3", "", 3600, "WARNINGS: 1"),
            task("pve3", "201", 72 * 3600, "job errors"),
            json!({"upid": "UPID:pve1:1:2:3:vzdump:103:root@pam:", "node": "pve1",
                "type": "vzdump", "id": "103", "starttime": NOW - 60}),
        ]);
        check(
            &B03,
            &s,
            &[
                ("qemu/102", Severity::Critical),
                ("node/pve3", Severity::Warning),
            ],
        );
    }

    #[test]
    fn b07_retention() {
        let mut s = healthy();
        check(&B07a, &s, &[]);
        check(&B07b, &s, &[]);
        job(&mut s).as_object_mut().unwrap().remove("prune-backups");
        // The storage's retention applies.
        check(&B07a, &s, &[]);
        s.storage_config.as_mut().unwrap()[2]
            .as_object_mut()
            .unwrap()
            .remove("prune-backups");
        check(&B07a, &s, &[("job/backup-daily", Severity::Warning)]);
        job(&mut s)["maxfiles"] = json!(3);
        check(&B07a, &s, &[]);
        check(&B07b, &s, &[("job/backup-daily", Severity::Critical)]);
        s.version = Ok(json!({"version": "8.4.1"}));
        check(&B07b, &s, &[("job/backup-daily", Severity::Warning)]);
        let mut s = healthy();
        job(&mut s)["remove"] = json!(0);
        check(&B07a, &s, &[("job/backup-daily", Severity::Warning)]);
        // An object-shaped retention counts too.
        let mut s = healthy();
        job(&mut s)["prune-backups"] = json!({"keep-last": 3});
        s.storage_config = Err(denied("/storage"));
        check(&B07a, &s, &[]);
    }

    #[test]
    fn b08_schedule_and_enabled() {
        let mut s = healthy();
        check(&B08a, &s, &[]);
        check(&B08b, &s, &[]);
        job(&mut s).as_object_mut().unwrap().remove("schedule");
        check(&B08a, &s, &[("job/backup-daily", Severity::Warning)]);
        job(&mut s)["enabled"] = json!(0);
        check(&B08a, &s, &[]);
        check(&B08b, &s, &[("job/backup-daily", Severity::Info)]);
    }

    #[test]
    fn b09_collision() {
        let mut s = healthy();
        check(&B09, &s, &[]);
        let mut other = job(&mut s).clone();
        other["id"] = json!("backup-extra");
        other["schedule"] = json!(" 02:00 ");
        s.backup_jobs.as_mut().unwrap().push(other.clone());
        check(&B09, &s, &[("job/backup-daily", Severity::Warning)]);
        s.backup_jobs.as_mut().unwrap()[1]["schedule"] = json!("03:00");
        check(&B09, &s, &[]);
    }
}
