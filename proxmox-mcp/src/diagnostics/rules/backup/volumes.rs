//! Pure: rules over the backup volumes and snapshots: RPO, very old and orphan backups, old
//! snapshots (B04–B06, B13).

use std::collections::{BTreeMap, BTreeSet};

use super::super::optimise::kit::{
    More, age, finding, guest_object, guest_snapshots, is_template, retention,
};
use super::super::util::{flag, num, str_of};
use super::super::{Area, Confidence, Ctx, Outcome, Rule, Severity, Skip};
use crate::diagnostics::snapshot::cluster::ClusterSnapshot;

/// One backup volume and the storage it is on.
struct Volume<'a> {
    storage: &'a str,
    volid: &'a str,
    vmid: Option<u32>,
    ctime: i64,
    protected: bool,
}

/// The vmid in a vzdump file name (`…/vzdump-qemu-101-2025_….vma.zst` → 101).
fn vmid_from_volid(volid: &str) -> Option<u32> {
    let name = volid.rsplit(['/', ':']).next()?;
    let rest = name.strip_prefix("vzdump-")?;
    rest.split('-').nth(1)?.parse().ok()
}

/// Every readable backup volume; the storages that could not be listed; skipped when none
/// could.
fn volumes(snap: &ClusterSnapshot) -> Result<(Vec<Volume<'_>>, Vec<String>), Skip> {
    let mut out = Vec::new();
    let mut unread = Vec::new();
    let mut why = None;
    for (key, list) in &snap.backups {
        let storage = key.split_once('/').map_or(key.as_str(), |(_, s)| s);
        match list {
            Ok(list) => {
                for v in list {
                    if str_of(v, "content").is_some_and(|c| c != "backup") {
                        continue;
                    }
                    let Some(volid) = str_of(v, "volid") else {
                        continue;
                    };
                    out.push(Volume {
                        storage,
                        volid,
                        vmid: num(v, "vmid")
                            .map(|n| n as u32)
                            .or_else(|| vmid_from_volid(volid)),
                        ctime: num(v, "ctime").unwrap_or(0.0) as i64,
                        protected: flag(v, "protected") == Some(true),
                    });
                }
            }
            Err(e) => {
                unread.push(key.clone());
                why.get_or_insert_with(|| format!("{key}: {e}"));
            }
        }
    }
    if let Some(why) = why
        && unread.len() == snap.backups.len()
    {
        return Err(Skip(why));
    }
    Ok((out, unread))
}

macro_rules! rule_head {
    ($id:literal, $title:literal) => {
        fn id(&self) -> &'static str {
            $id
        }
        fn area(&self) -> Area {
            Area::Backup
        }
        fn title(&self) -> &'static str {
            $title
        }
    };
}

/// B04: the newest backup of a guest is older than the RPO.
pub struct B04;

impl Rule for B04 {
    rule_head!("B04", "Last backup too old");
    fn check(&self, snap: &ClusterSnapshot, ctx: &Ctx) -> Outcome {
        let (vols, unread) = volumes(snap)?;
        snap.resources.as_ref().map_err(Skip::from)?;
        let warn = ctx.threshold("B04.warn", 26.0);
        let crit = ctx.threshold("B04.crit", 50.0);
        // Guests no job covers are B02's.
        let uncovered: BTreeSet<u32> = snap
            .not_backed_up
            .as_ref()
            .map(|l| {
                l.iter()
                    .filter_map(|m| num(m, "vmid"))
                    .map(|n| n as u32)
                    .collect()
            })
            .unwrap_or_default();
        let mut newest: BTreeMap<u32, &Volume> = BTreeMap::new();
        for v in &vols {
            let Some(vmid) = v.vmid else { continue };
            if newest.get(&vmid).is_none_or(|o| o.ctime < v.ctime) {
                newest.insert(vmid, v);
            }
        }
        let mut out = Vec::new();
        for g in snap.guests.values().filter(|g| !is_template(g)) {
            if uncovered.contains(&g.vmid) {
                continue;
            }
            let Some(v) = newest.get(&g.vmid) else {
                continue;
            };
            let hours = (snap.now - v.ctime) as f64 / 3600.0;
            let severity = if hours > crit {
                Severity::Critical
            } else if hours > warn {
                Severity::Warning
            } else {
                continue;
            };
            let mut evidence = format!(
                "newest backup {} on {} is {} old (warn > {warn} h, crit > {crit} h)",
                v.volid,
                v.storage,
                age(snap.now - v.ctime)
            );
            let confidence = if unread.is_empty() {
                Confidence::High
            } else {
                evidence.push_str(&format!("; not listed: {}", unread.join(", ")));
                Confidence::Medium
            };
            let cmd = format!(
                "vzdump {} --storage {} --mode snapshot --compress zstd",
                g.vmid, v.storage
            );
            out.push(
                finding(
                    self,
                    severity,
                    guest_object(g),
                    format!("Guest {} has no recent backup", g.vmid),
                    evidence,
                    "Find why the scheduled backup skipped or failed, and take a backup now.",
                )
                .fix(cmd)
                .confidence(confidence),
            );
        }
        Ok(out)
    }
}

/// Whether retention on `storage` (its jobs' or its own) keeps monthly/yearly backups.
fn keeps_long(snap: &ClusterSnapshot, storage: &str) -> Result<bool, Skip> {
    let long = |r: Option<BTreeMap<String, f64>>| {
        r.is_some_and(|r| {
            ["keep-monthly", "keep-yearly", "keep-all"]
                .iter()
                .any(|k| r.get(*k).is_some_and(|n| *n > 0.0))
        })
    };
    let jobs = snap.backup_jobs.as_ref().map_err(Skip::from)?;
    if jobs
        .iter()
        .filter(|j| str_of(j, "storage") == Some(storage))
        .any(|j| long(retention(j.get("prune-backups"))))
    {
        return Ok(true);
    }
    let defs = snap.storage_config.as_ref().map_err(Skip::from)?;
    Ok(defs
        .iter()
        .filter(|s| str_of(s, "storage") == Some(storage))
        .any(|s| long(retention(s.get("prune-backups")))))
}

/// B05: very old backup files no retention keeps on purpose.
pub struct B05;

impl Rule for B05 {
    rule_head!("B05", "Very old backup files");
    fn check(&self, snap: &ClusterSnapshot, ctx: &Ctx) -> Outcome {
        let (vols, _) = volumes(snap)?;
        snap.resources.as_ref().map_err(Skip::from)?;
        let days = ctx.threshold("B05.warn", 60.0);
        let mut long: BTreeMap<&str, bool> = BTreeMap::new();
        let mut out = Vec::new();
        for v in &vols {
            let age_s = snap.now - v.ctime;
            if v.protected || (age_s as f64) <= days * 86_400.0 {
                continue;
            }
            // Orphans are B06's.
            if v.vmid.is_some_and(|id| !snap.guests.contains_key(&id)) {
                continue;
            }
            let keeps = match long.get(v.storage) {
                Some(k) => *k,
                None => {
                    let k = keeps_long(snap, v.storage)?;
                    long.insert(v.storage, k);
                    k
                }
            };
            if keeps {
                continue;
            }
            out.push(
                finding(
                    self,
                    Severity::Warning,
                    format!("backup/{}", v.volid),
                    format!("Backup {} is {} old", v.volid, age(age_s)),
                    format!(
                        "created {} ago (warn > {days} d); no retention on {} keeps monthly or \
                         yearly backups",
                        age(age_s),
                        v.storage
                    ),
                    "Delete it if it is no longer needed, or mark it protected if it is kept on \
                     purpose.",
                )
                .fix(format!("pvesm free {}", v.volid))
                .confidence(Confidence::Medium),
            );
        }
        Ok(out)
    }
}

/// B06: backups of guests that no longer exist.
pub struct B06;

impl Rule for B06 {
    rule_head!("B06", "Orphan backups");
    fn check(&self, snap: &ClusterSnapshot, _ctx: &Ctx) -> Outcome {
        let (vols, _) = volumes(snap)?;
        snap.resources.as_ref().map_err(Skip::from)?;
        Ok(vols
            .iter()
            .filter(|v| v.vmid.is_some_and(|id| !snap.guests.contains_key(&id)))
            .map(|v| {
                let vmid = v.vmid.unwrap_or_default();
                finding(
                    self,
                    Severity::Warning,
                    format!("backup/{}", v.volid),
                    format!("Backup of deleted guest {vmid}"),
                    format!(
                        "{} ({} old): guest {vmid} no longer exists",
                        v.volid,
                        age(snap.now - v.ctime)
                    ),
                    "Delete the backup once it is certain the guest will not be restored (or \
                     mark it protected to keep it).",
                )
                .fix(format!("pvesm free {}", v.volid))
                .confidence(Confidence::Medium)
            })
            .collect())
    }
}

/// B13: old snapshots.
pub struct B13;

impl Rule for B13 {
    rule_head!("B13", "Old snapshot");
    fn check(&self, snap: &ClusterSnapshot, ctx: &Ctx) -> Outcome {
        let warn = ctx.threshold("B13.warn", 30.0);
        let crit = ctx.threshold("B13.crit", 90.0);
        let mut out = Vec::new();
        for (g, snaps) in guest_snapshots(snap)? {
            for (name, s) in snaps {
                let Some(t) = s.get("snaptime").and_then(|t| t.trim().parse::<i64>().ok()) else {
                    continue;
                };
                let days = (snap.now - t) as f64 / 86_400.0;
                let severity = if days > crit {
                    Severity::Critical
                } else if days > warn {
                    Severity::Warning
                } else {
                    continue;
                };
                let cmd = if g.kind == "qemu" { "qm" } else { "pct" };
                out.push(
                    finding(
                        self,
                        severity,
                        format!("snapshot/{}/{name}", g.vmid),
                        format!("Snapshot {name} of {} is {days:.0} days old", g.vmid),
                        format!("taken {days:.0} d ago (warn > {warn} d, crit > {crit} d)"),
                        "Delete the snapshot, or roll back if it is still needed: snapshots are \
                         not backups and slow the disk down as they grow.",
                    )
                    .fix(format!("{cmd} delsnapshot {} {name}", g.vmid)),
                );
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::super::super::optimise::fixtures::{
        DAY, NOW, backup_volume, cfg, check, denied, healthy, run_with, skipped,
    };
    use super::*;

    fn add(s: &mut ClusterSnapshot, v: serde_json::Value) {
        s.backups
            .get_mut("pve1/nfs-backup")
            .unwrap()
            .as_mut()
            .unwrap()
            .push(v);
    }

    fn unreadable() -> ClusterSnapshot {
        let mut s = healthy();
        for v in s.backups.values_mut() {
            *v = Err(denied("/nodes/pve1/storage/nfs-backup/content"));
        }
        for g in s.guests.values_mut() {
            g.snapshots = Err(denied("/nodes/x/qemu/1/snapshot"));
        }
        s
    }

    #[test]
    fn b04_rpo() {
        let mut s = healthy();
        check(&B04, &s, &[]);
        if let Ok(v) = s.backups.get_mut("pve1/nfs-backup").unwrap().as_mut() {
            v.retain(|b| b["vmid"] != 102 && b["vmid"] != 201);
            v.push(backup_volume("nfs-backup", 102, "qemu", 30 * 3600));
            v.push(backup_volume("nfs-backup", 201, "lxc", 3 * DAY));
        }
        check(
            &B04,
            &s,
            &[
                ("qemu/102", Severity::Warning),
                ("lxc/201", Severity::Critical),
            ],
        );
        // Guests no job covers are B02's.
        s.not_backed_up = Ok(vec![json!({"vmid": 201, "type": "lxc"})]);
        check(&B04, &s, &[("qemu/102", Severity::Warning)]);
        skipped(&B04, &unreadable());
    }

    #[test]
    fn b04_b13_thresholds_are_tunable() {
        let s = healthy();
        let found = run_with(&B04, &s, &[("B04.warn", 1.0)]).unwrap();
        assert_eq!(found.len(), 3, "{found:#?}");
        assert!(found.iter().all(|f| f.severity == Severity::Warning));
        let found = run_with(&B13, &s, &[("B13.warn", 1.0)]).unwrap();
        assert_eq!(found.len(), 3, "{found:#?}");
    }

    #[test]
    fn b05_old_files_without_long_retention() {
        let mut s = healthy();
        // 95-day-old backups are kept by keep-monthly.
        check(&B05, &s, &[]);
        s.backup_jobs.as_mut().unwrap()[0]["prune-backups"] = json!("keep-daily=7");
        s.storage_config.as_mut().unwrap()[2]["prune-backups"] = json!("keep-last=3");
        let old: Vec<String> = s.backups["pve1/nfs-backup"]
            .as_ref()
            .unwrap()
            .iter()
            .filter(|b| b["ctime"].as_i64().unwrap() < NOW - 60 * DAY)
            .map(|b| format!("backup/{}", b["volid"].as_str().unwrap()))
            .collect();
        let want: Vec<(&str, Severity)> = old
            .iter()
            .map(|o| (o.as_str(), Severity::Warning))
            .collect();
        check(&B05, &s, &want);
        // Protected backups are kept on purpose.
        for b in s
            .backups
            .get_mut("pve1/nfs-backup")
            .unwrap()
            .as_mut()
            .unwrap()
        {
            b["protected"] = json!(1);
        }
        check(&B05, &s, &[]);
        skipped(&B05, &unreadable());
    }

    #[test]
    fn b06_orphans() {
        let mut s = healthy();
        check(&B06, &s, &[]);
        let orphan = backup_volume("nfs-backup", 999, "qemu", 2 * DAY);
        let id = format!("backup/{}", orphan["volid"].as_str().unwrap());
        add(&mut s, orphan);
        check(&B06, &s, &[(id.as_str(), Severity::Warning)]);
        // The vmid from the file name when the entry has none.
        let mut s = healthy();
        add(
            &mut s,
            json!({"volid": "nfs-backup:backup/vzdump-lxc-555-2025_01_01-00_00_00.tar.zst",
                "ctime": NOW - DAY, "size": 1}),
        );
        check(
            &B06,
            &s,
            &[(
                "backup/nfs-backup:backup/vzdump-lxc-555-2025_01_01-00_00_00.tar.zst",
                Severity::Warning,
            )],
        );
        skipped(&B06, &unreadable());
        let mut s = healthy();
        s.resources = Err(denied("/cluster/resources"));
        skipped(&B06, &s);
    }

    #[test]
    fn b13_snapshot_age() {
        let mut s = healthy();
        check(&B13, &s, &[]);
        let snaps = s.guests.get_mut(&101).unwrap().snapshots.as_mut().unwrap();
        snaps.insert(
            "old".into(),
            cfg(&[("snaptime", &(NOW - 40 * DAY).to_string())]),
        );
        snaps.insert(
            "ancient".into(),
            cfg(&[("snaptime", &(NOW - 100 * DAY).to_string())]),
        );
        check(
            &B13,
            &s,
            &[
                ("snapshot/101/old", Severity::Warning),
                ("snapshot/101/ancient", Severity::Critical),
            ],
        );
        skipped(&B13, &unreadable());
    }
}
