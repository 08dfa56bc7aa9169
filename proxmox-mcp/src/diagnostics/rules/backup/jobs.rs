//! Pure: backup job and replication job rules (B01–B03, B07–B12, B14, B15).

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Value, json};

use super::super::optimise::kit::{More, finding, is_template, retention};
use super::super::util::{flag, num, str_of};
use super::super::{Area, Confidence, Ctx, Outcome, Rule, Severity, Skip, got};
use crate::diagnostics::snapshot::cluster::ClusterSnapshot;

/// The job's id (`backup-1a2b`).
fn job_id(j: &Value) -> &str {
    str_of(j, "id").unwrap_or("?")
}

fn enabled(j: &Value) -> bool {
    flag(j, "enabled") != Some(false)
}

/// Non-template guests the cluster has.
fn has_guests(snap: &ClusterSnapshot) -> bool {
    snap.guests.values().any(|g| !is_template(g))
}

/// The storage definition with `id`.
fn storage_def<'a>(defs: &'a [Value], id: &str) -> Option<&'a Value> {
    defs.iter().find(|s| str_of(s, "storage") == Some(id))
}

fn has_content(s: &Value, what: &str) -> bool {
    str_of(s, "content")
        .unwrap_or("")
        .split(',')
        .any(|c| c.trim() == what)
}

/// The PVE major version, when read.
fn major(snap: &ClusterSnapshot) -> Option<u32> {
    let v = snap.version.as_ref().ok()?;
    str_of(v, "version")?.split('.').next()?.parse().ok()
}

/// A job rule over the enabled jobs (or all jobs).
macro_rules! rule_meta {
    ($t:ident, $id:literal, $title:literal) => {
        pub struct $t;
        impl $t {
            const ID: &'static str = $id;
            const TITLE: &'static str = $title;
        }
    };
}

macro_rules! rule_head {
    () => {
        fn id(&self) -> &'static str {
            Self::ID
        }
        fn area(&self) -> Area {
            Area::Backup
        }
        fn title(&self) -> &'static str {
            Self::TITLE
        }
    };
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

rule_meta!(B10a, "B10a", "Backup target unavailable");

impl Rule for B10a {
    rule_head!();
    fn check(&self, snap: &ClusterSnapshot, _ctx: &Ctx) -> Outcome {
        let jobs = got(&snap.backup_jobs)?;
        let defs = got(&snap.storage_config)?;
        let available: BTreeSet<(&str, &str)> = snap
            .resources_of("storage")
            .map_err(Skip)?
            .filter(|s| str_of(s, "status") == Some("available"))
            .filter_map(|s| Some((str_of(s, "node")?, str_of(s, "storage")?)))
            .collect();
        let online: BTreeSet<&str> = snap
            .resources_of("node")
            .map_err(Skip)?
            .filter(|n| str_of(n, "status") == Some("online"))
            .filter_map(|n| str_of(n, "node"))
            .collect();
        let guest_nodes: BTreeSet<&str> = snap
            .guests
            .values()
            .filter(|g| !is_template(g))
            .map(|g| g.node.as_str())
            .filter(|n| online.contains(n))
            .collect();
        let mut out = Vec::new();
        for j in jobs.iter().filter(|j| enabled(j)) {
            let Some(storage) = str_of(j, "storage") else {
                continue;
            };
            let id = job_id(j);
            let problem = match storage_def(defs, storage) {
                None => Some(format!("storage {storage} does not exist")),
                Some(d) if flag(d, "disable") == Some(true) => {
                    Some(format!("storage {storage} is disabled"))
                }
                Some(d) if !has_content(d, "backup") => Some(format!(
                    "storage {storage} does not allow backups (content {})",
                    str_of(d, "content").unwrap_or("")
                )),
                Some(_) => {
                    let runs_on: BTreeSet<&str> = match str_of(j, "node") {
                        Some(n) => n
                            .split(',')
                            .map(str::trim)
                            .filter(|n| online.contains(n))
                            .collect(),
                        None => guest_nodes.clone(),
                    };
                    let missing: Vec<&str> = runs_on
                        .into_iter()
                        .filter(|n| !available.contains(&(*n, storage)))
                        .collect();
                    (!missing.is_empty()).then(|| {
                        format!(
                            "storage {storage} is not available on {}",
                            missing.join(", ")
                        )
                    })
                }
            };
            if let Some(problem) = problem {
                out.push(finding(
                    self,
                    Severity::Warning,
                    format!("job/{id}"),
                    format!("Backup job {id} cannot write everywhere it runs"),
                    problem,
                    "Point the job at a backup storage every node reaches, or make the storage \
                     available on those nodes.",
                ));
            }
        }
        Ok(out)
    }
}

rule_meta!(B10b, "B10b", "No backup storage");

impl Rule for B10b {
    rule_head!();
    fn check(&self, snap: &ClusterSnapshot, _ctx: &Ctx) -> Outcome {
        let defs = got(&snap.storage_config)?;
        let any = defs
            .iter()
            .any(|s| flag(s, "disable") != Some(true) && has_content(s, "backup"));
        if any || !has_guests(snap) {
            return Ok(Vec::new());
        }
        Ok(vec![
            finding(
                self,
                Severity::Warning,
                "cluster",
                "No storage accepts backups",
                format!("{} storages, none with content backup", defs.len()),
                "Add a Proxmox Backup Server or NFS storage with content backup, off the nodes.",
            )
            .fix("pvesh create /storage --storage backup --type nfs --server <host> --export <path> --content backup"),
        ])
    }
}

rule_meta!(B11, "B11", "Backup job without compression");

impl Rule for B11 {
    rule_head!();
    fn check(&self, snap: &ClusterSnapshot, _ctx: &Ctx) -> Outcome {
        let jobs = got(&snap.backup_jobs)?;
        let defs = got(&snap.storage_config)?;
        Ok(jobs
            .iter()
            .filter(|j| enabled(j))
            .filter(|j| matches!(str_of(j, "compress").unwrap_or("0"), "0" | ""))
            .filter(|j| {
                // PBS compresses on its own.
                let storage = str_of(j, "storage").unwrap_or("");
                storage_def(defs, storage).is_none_or(|s| str_of(s, "type") != Some("pbs"))
            })
            .map(|j| {
                let id = job_id(j);
                finding(
                    self,
                    Severity::Info,
                    format!("job/{id}"),
                    format!("Backup job {id} does not compress"),
                    format!("compress {}", str_of(j, "compress").unwrap_or("unset (0)")),
                    "Use zstd: smaller and usually faster backups.",
                )
                .fix(format!("pvesh set /cluster/backup/{id} --compress zstd"))
                .api(
                    "PUT",
                    &format!("/cluster/backup/{id}"),
                    json!({"compress": "zstd"}),
                )
            })
            .collect())
    }
}

rule_meta!(B12a, "B12a", "Backup job without failure notification");

impl Rule for B12a {
    rule_head!();
    fn check(&self, snap: &ClusterSnapshot, _ctx: &Ctx) -> Outcome {
        Ok(got(&snap.backup_jobs)?
            .iter()
            .filter(|j| enabled(j))
            .filter(|j| {
                str_of(j, "notification-mode") == Some("legacy-sendmail")
                    && str_of(j, "mailto").is_none_or(|m| m.trim().is_empty())
            })
            .map(|j| {
                let id = job_id(j);
                finding(
                    self,
                    Severity::Warning,
                    format!("job/{id}"),
                    format!("Backup job {id} notifies nobody"),
                    "notification-mode legacy-sendmail without mailto: failures go unnoticed",
                    "Use the notification system (with a matcher for backup failures) or set \
                     mailto.",
                )
                .fix(format!(
                    "pvesh set /cluster/backup/{id} --notification-mode notification-system"
                ))
                .api(
                    "PUT",
                    &format!("/cluster/backup/{id}"),
                    json!({"notification-mode": "notification-system"}),
                )
            })
            .collect())
    }
}

rule_meta!(B12b, "B12b", "Backup job uses removed notification keys");

impl Rule for B12b {
    rule_head!();
    fn check(&self, snap: &ClusterSnapshot, _ctx: &Ctx) -> Outcome {
        let jobs = got(&snap.backup_jobs)?;
        let severity = if major(snap).is_none_or(|m| m >= 9) {
            Severity::Critical
        } else {
            Severity::Warning
        };
        let mut out = Vec::new();
        for j in jobs {
            let keys: Vec<&str> = ["notification-policy", "notification-target"]
                .into_iter()
                .filter(|k| j.get(*k).is_some())
                .collect();
            if keys.is_empty() {
                continue;
            }
            let id = job_id(j);
            out.push(
                finding(
                    self,
                    severity,
                    format!("job/{id}"),
                    format!("Backup job {id} uses legacy notification keys"),
                    format!("{} set (removed in PVE 9)", keys.join(", ")),
                    "Delete the legacy keys and route backup notifications through the \
                     notification system's matchers.",
                )
                .fix(format!(
                    "pvesh set /cluster/backup/{id} --delete {}",
                    keys.join(",")
                ))
                .api(
                    "PUT",
                    &format!("/cluster/backup/{id}"),
                    json!({"delete": keys.join(",")}),
                ),
            );
        }
        Ok(out)
    }
}

rule_meta!(B14a, "B14a", "Replication job disabled");

impl Rule for B14a {
    rule_head!();
    fn check(&self, snap: &ClusterSnapshot, _ctx: &Ctx) -> Outcome {
        Ok(got(&snap.replication_jobs)?
            .iter()
            .filter(|j| flag(j, "disable") == Some(true))
            .map(|j| {
                let id = job_id(j);
                finding(
                    self,
                    Severity::Warning,
                    format!("replication/{id}"),
                    format!("Replication job {id} is disabled"),
                    format!(
                        "disable 1: guest {} is not replicated to {}",
                        num(j, "guest").map_or("?".into(), |g| format!("{g:.0}")),
                        str_of(j, "target").unwrap_or("?")
                    ),
                    "Enable the job, or remove it if the replica is no longer wanted.",
                )
                .fix(format!(
                    "pvesh set /cluster/replication/{id} --delete disable"
                ))
                .api(
                    "PUT",
                    &format!("/cluster/replication/{id}"),
                    json!({"delete": "disable"}),
                )
            })
            .collect())
    }
}

rule_meta!(B14b, "B14b", "Replication job without schedule");

impl Rule for B14b {
    rule_head!();
    fn check(&self, snap: &ClusterSnapshot, _ctx: &Ctx) -> Outcome {
        Ok(got(&snap.replication_jobs)?
            .iter()
            .filter(|j| flag(j, "disable") != Some(true))
            .filter(|j| str_of(j, "schedule").is_none_or(|s| s.trim().is_empty()))
            .map(|j| {
                let id = job_id(j);
                finding(
                    self,
                    Severity::Warning,
                    format!("replication/{id}"),
                    format!("Replication job {id} has no schedule"),
                    "no schedule set: it runs on the implicit default */15, not a chosen RPO",
                    "Set an explicit schedule matching the guest's recovery point objective.",
                )
                .fix(format!(
                    "pvesh set /cluster/replication/{id} --schedule '*/15'"
                ))
                .api(
                    "PUT",
                    &format!("/cluster/replication/{id}"),
                    json!({"schedule": "*/15"}),
                )
                .confidence(Confidence::Medium)
            })
            .collect())
    }
}

rule_meta!(B15, "B15", "Unencrypted backups on PBS");

impl Rule for B15 {
    rule_head!();
    fn check(&self, snap: &ClusterSnapshot, _ctx: &Ctx) -> Outcome {
        Ok(got(&snap.storage_config)?
            .iter()
            .filter(|s| str_of(s, "type") == Some("pbs") && flag(s, "disable") != Some(true))
            .filter(|s| str_of(s, "encryption-key").is_none_or(|k| k.trim().is_empty()))
            .filter_map(|s| str_of(s, "storage"))
            .map(|id| {
                finding(
                    self,
                    Severity::Warning,
                    format!("storage/{id}"),
                    format!("Backups to {id} are not encrypted"),
                    "PBS storage without encryption-key: the backup server can read every guest",
                    "Set a client-side encryption key on the storage and keep a copy of it off \
                     the cluster.",
                )
                .fix(format!("pvesh set /storage/{id} --encryption-key autogen"))
                .api(
                    "PUT",
                    &format!("/storage/{id}"),
                    json!({"encryption-key": "autogen"}),
                )
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

    const ALL: &[&dyn Rule] = &[
        &B01, &B02, &B03, &B07a, &B07b, &B08a, &B08b, &B09, &B10a, &B10b, &B11, &B12a, &B12b,
        &B14a, &B14b, &B15,
    ];

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

    #[test]
    fn b10_targets() {
        let mut s = healthy();
        check(&B10a, &s, &[]);
        check(&B10b, &s, &[]);
        if let Ok(r) = s.resources.as_mut() {
            r.retain(|v| !(v["storage"] == "nfs-backup" && v["node"] == "pve3"));
        }
        check(&B10a, &s, &[("job/backup-daily", Severity::Warning)]);
        // A job pinned to a node only needs the storage there.
        job(&mut s)["node"] = json!("pve1");
        check(&B10a, &s, &[]);
        let mut s = healthy();
        job(&mut s)["storage"] = json!("local");
        check(&B10a, &s, &[("job/backup-daily", Severity::Warning)]);
        s.storage_config.as_mut().unwrap()[2]["content"] = json!("images");
        check(&B10b, &s, &[("cluster", Severity::Warning)]);
    }

    #[test]
    fn b11_compression() {
        let mut s = healthy();
        check(&B11, &s, &[]);
        job(&mut s)["compress"] = json!("0");
        check(&B11, &s, &[("job/backup-daily", Severity::Info)]);
        s.storage_config.as_mut().unwrap()[2]["type"] = json!("pbs");
        check(&B11, &s, &[]);
    }

    #[test]
    fn b12_notifications() {
        let mut s = healthy();
        check(&B12a, &s, &[]);
        check(&B12b, &s, &[]);
        job(&mut s)["notification-mode"] = json!("legacy-sendmail");
        check(&B12a, &s, &[("job/backup-daily", Severity::Warning)]);
        job(&mut s)["mailto"] = json!("ops@example.org");
        check(&B12a, &s, &[]);
        job(&mut s)["notification-policy"] = json!("failure");
        check(&B12b, &s, &[("job/backup-daily", Severity::Critical)]);
    }

    #[test]
    fn b14_replication() {
        let mut s = healthy();
        check(&B14a, &s, &[]);
        check(&B14b, &s, &[]);
        let j = &mut s.replication_jobs.as_mut().unwrap()[0];
        j.as_object_mut().unwrap().remove("schedule");
        check(&B14b, &s, &[("replication/101-0", Severity::Warning)]);
        s.replication_jobs.as_mut().unwrap()[0]["disable"] = json!(1);
        check(&B14a, &s, &[("replication/101-0", Severity::Warning)]);
        check(&B14b, &s, &[]);
    }

    #[test]
    fn b15_pbs_encryption() {
        let mut s = healthy();
        check(&B15, &s, &[]);
        let pbs = |key: Option<&str>| {
            let mut v = json!({"storage": "pbs1", "type": "pbs", "server": "10.0.0.70",
                "datastore": "main", "content": "backup"});
            if let Some(k) = key {
                v["encryption-key"] = json!(k);
            }
            v
        };
        s.storage_config.as_mut().unwrap().push(pbs(None));
        check(&B15, &s, &[("storage/pbs1", Severity::Warning)]);
        s.storage_config.as_mut().unwrap().pop();
        s.storage_config
            .as_mut()
            .unwrap()
            .push(pbs(Some("aa:bb:cc")));
        check(&B15, &s, &[]);
    }
}
