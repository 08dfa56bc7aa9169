//! Pure: where backups go and who hears of failures, and replication jobs (B10–B12, B14,
//! B15).

use std::collections::BTreeSet;

use serde_json::json;

use super::super::optimise::kit::{More, finding, is_template};
use super::super::util::{flag, num, str_of};
use super::super::{Area, Confidence, Ctx, Outcome, Rule, Severity, Skip, got};
use super::jobs::{enabled, has_content, has_guests, job_id, major, storage_def};
use crate::diagnostics::snapshot::cluster::ClusterSnapshot;

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
    use serde_json::{Value, json};

    use super::super::super::optimise::fixtures::{check, denied, healthy, skipped};
    use super::*;

    fn job(s: &mut ClusterSnapshot) -> &mut Value {
        &mut s.backup_jobs.as_mut().unwrap()[0]
    }

    #[test]
    fn every_rule_skips_without_its_fact() {
        let s = ClusterSnapshot {
            backup_jobs: Err(denied("/cluster/backup")),
            replication_jobs: Err(denied("/cluster/replication")),
            storage_config: Err(denied("/storage")),
            ..healthy()
        };
        for r in [
            &B10a as &dyn Rule,
            &B10b,
            &B11,
            &B12a,
            &B12b,
            &B14a,
            &B14b,
            &B15,
        ] {
            skipped(r, &s);
        }
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
