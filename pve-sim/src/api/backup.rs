//! Backups: `POST /nodes/{node}/vzdump` and PVE's retention (`prune-backups`) marking.

use std::collections::{BTreeMap, BTreeSet};

use super::Ctx;
use super::envelope::{ApiResult, PveError, Reply};
use super::storage::{get_storage, storage_path};
use crate::state::Cluster;
use crate::state::generate::backup_volume;
use crate::state::guest::Kind;
use crate::state::storage::{StorageCfg, Volume, civil};

/// Parses `keep-last=3,keep-daily=7,...`.
fn parse_keep(s: &str) -> BTreeMap<String, u64> {
    s.split(',')
        .filter_map(|kv| kv.split_once('='))
        .filter_map(|(k, v)| v.parse().ok().map(|n| (k.to_string(), n)))
        .collect()
}

/// PVE's `prune_mark`: each backup group marked keep, remove or protected.
pub(super) fn prune_marks<'c>(
    c: &'c Cluster,
    s: &StorageCfg,
    node: &str,
    ctx: &Ctx,
) -> Result<Vec<(&'c Volume, &'static str)>, PveError> {
    let keep_str = ctx
        .params
        .str("prune-backups")
        .or_else(|| s.props.get("prune-backups").cloned())
        .unwrap_or_else(|| "keep-all=1".into());
    let keep = parse_keep(&keep_str);
    let vmid = ctx.params.int("vmid")?;
    let ty = ctx.params.str("type");
    Ok(marks_for(c, &s.id, node, &keep, vmid, ty.as_deref()))
}

/// The retention marks of the backups on `storage` seen from `node`, optionally of one guest
/// (`vmid`) and one guest type (`ty`).
fn marks_for<'c>(
    c: &'c Cluster,
    storage: &str,
    node: &str,
    keep: &BTreeMap<String, u64>,
    vmid: Option<i64>,
    ty: Option<&str>,
) -> Vec<(&'c Volume, &'static str)> {
    let mut groups: BTreeMap<(String, u32), Vec<&Volume>> = BTreeMap::new();
    for v in c
        .volumes
        .iter()
        .filter(|v| v.storage == storage && v.visible_on(node) && v.content == "backup")
    {
        let Some(id) = v.vmid else { continue };
        if vmid.is_some_and(|x| x != i64::from(id))
            || ty.is_some_and(|t| Some(t) != v.subtype.as_deref())
        {
            continue;
        }
        groups
            .entry((v.subtype.clone().unwrap_or_default(), id))
            .or_default()
            .push(v);
    }
    let mut out = Vec::new();
    for (_, mut list) in groups {
        list.sort_by_key(|v| std::cmp::Reverse(v.ctime));
        out.extend(mark(&list, keep));
    }
    out
}

/// Maps a backup time to its retention period id.
type PeriodId = fn(u64) -> String;

fn mark<'c>(list: &[&'c Volume], keep: &BTreeMap<String, u64>) -> Vec<(&'c Volume, &'static str)> {
    let mut marks: Vec<Option<&'static str>> = list
        .iter()
        .map(|v| v.protected.then_some("protected"))
        .collect();
    let keep_all =
        keep.get("keep-all").is_some_and(|n| *n > 0) || keep.iter().all(|(_, n)| *n == 0);
    if keep_all {
        return list
            .iter()
            .zip(marks)
            .map(|(v, m)| (*v, m.unwrap_or("keep")))
            .collect();
    }
    let rules: [(&str, PeriodId); 6] = [
        ("keep-last", |t| t.to_string()),
        ("keep-hourly", |t| {
            let (y, m, d, h, _, _) = civil(t);
            format!("{y}/{m}/{d}/{h}")
        }),
        ("keep-daily", |t| {
            let (y, m, d, _, _, _) = civil(t);
            format!("{y}/{m}/{d}")
        }),
        ("keep-weekly", |t| ((t / 86_400 + 3) / 7).to_string()),
        ("keep-monthly", |t| {
            let (y, m, ..) = civil(t);
            format!("{y}/{m}")
        }),
        ("keep-yearly", |t| civil(t).0.to_string()),
    ];
    for (name, id_of) in rules {
        let Some(&count) = keep.get(name) else {
            continue;
        };
        let mut already: BTreeSet<String> = BTreeSet::new();
        for (v, m) in list.iter().zip(&marks) {
            if *m == Some("keep") {
                already.insert(id_of(v.ctime));
            }
        }
        let mut newly: BTreeSet<String> = BTreeSet::new();
        for (i, v) in list.iter().enumerate() {
            let id = id_of(v.ctime);
            if marks[i].is_some() || already.contains(&id) {
                continue;
            }
            if !newly.contains(&id) {
                if newly.len() as u64 >= count {
                    break;
                }
                newly.insert(id);
                marks[i] = Some("keep");
            } else {
                marks[i] = Some("remove");
            }
        }
    }
    list.iter()
        .zip(marks)
        .map(|(v, m)| (*v, m.unwrap_or("remove")))
        .collect()
}

/// `POST /nodes/{node}/vzdump`.
pub fn vzdump(ctx: &Ctx, node: &str) -> ApiResult {
    let p = &ctx.params;
    let storage = p.str("storage").unwrap_or_else(|| "local".into());
    let mode = p.str("mode").unwrap_or_else(|| "snapshot".into());
    if !matches!(mode.as_str(), "snapshot" | "suspend" | "stop") {
        return Err(PveError::param(
            "mode",
            format!(
                "value '{mode}' does not have a value in the enumeration 'snapshot, suspend, stop'"
            ),
        ));
    }
    let compress = p.str("compress").unwrap_or_else(|| "zstd".into());
    let all = p.flag("all")?;
    let exclude: BTreeSet<u32> = p
        .split_list("exclude")
        .iter()
        .filter_map(|v| v.parse().ok())
        .collect();
    let pool = p.str("pool");
    let ids: Vec<u32> = p
        .split_list("vmid")
        .iter()
        .map(|v| {
            v.parse::<u32>().map_err(|_| {
                PveError::param(
                    "vmid",
                    format!("value '{v}' does not look like a valid VM ID"),
                )
            })
        })
        .collect::<Result<_, _>>()?;
    if ids.is_empty() && !all && pool.is_none() {
        return Err(PveError::param(
            "vmid",
            "property is missing and it is not optional",
        ));
    }
    let mut c = ctx.write();
    let s = get_storage(&c, node, &storage)?.clone();
    if !s.has_content("backup") {
        return Err(PveError::internal(format!(
            "storage '{storage}' does not support backups"
        )));
    }
    ctx.require(&storage_path(&storage), &["Datastore.AllocateSpace"])?;
    for id in &ids {
        if !c.guests.contains_key(id) {
            return Err(PveError::internal(format!("unable to find VM '{id}'")));
        }
    }
    let selected: Vec<(u32, Kind, String, Option<String>)> = c
        .guests
        .values()
        .filter(|g| g.node == node)
        .filter(|g| {
            (all && !exclude.contains(&g.vmid))
                || ids.contains(&g.vmid)
                || pool
                    .as_deref()
                    .is_some_and(|pl| g.pool.as_deref() == Some(pl))
        })
        .map(|g| (g.vmid, g.kind, g.name().to_string(), g.pool.clone()))
        .collect();
    for (vmid, _, _, gpool) in &selected {
        ctx.require_vm(*vmid, gpool.as_deref(), &["VM.Backup"])?;
    }
    let notes_tpl = p.str("notes-template");
    let protected = p.flag("protected")?;
    // Retention given with the call: after its backup, each guest's older backups on the
    // target storage are pruned by it (like `vzdump --prune-backups`).
    let prune = p.str("prune-backups").map(|k| parse_keep(&k));
    let now = ctx.now;
    let mut log = vec![format!(
        "INFO: starting new backup job: vzdump {} --storage {storage} --mode {mode} --compress {compress} --node {node}",
        selected
            .iter()
            .map(|s| s.0.to_string())
            .collect::<Vec<_>>()
            .join(" ")
    )];
    let mut locked_out = Vec::new();
    for (vmid, kind, name, _) in &selected {
        let g = c.guests.get(vmid);
        if let Some(l) = g.and_then(|g| g.lock()) {
            locked_out.push(*vmid);
            log.push(format!(
                "ERROR: Backup of VM {vmid} failed - {} is locked ({l})",
                kind.label()
            ));
            continue;
        }
        log.push(format!(
            "INFO: Starting Backup of VM {vmid} ({})",
            kind.as_str()
        ));
        log.push(format!("INFO: VM Name: {name}"));
        log.push(format!(
            "INFO: creating vzdump archive '{}'",
            crate::state::storage::backup_name(*kind, *vmid, now, &compress)
        ));
        log.push(format!(
            "INFO: Finished Backup of VM {vmid} (00:00:{:02})",
            5 + vmid % 50
        ));
    }
    for (vmid, ..) in &selected {
        if !locked_out.contains(vmid)
            && let Some(g) = c.guests.get_mut(vmid)
        {
            g.config.insert("lock".into(), "backup".into());
        }
    }
    let n = node.to_string();
    let work: Vec<(u32, Kind, String)> = selected
        .iter()
        .filter(|s| !locked_out.contains(&s.0))
        .map(|s| (s.0, s.1, s.2.clone()))
        .collect();
    let failed = !locked_out.is_empty();
    let effect = Box::new(move |c: &mut Cluster| {
        for (vmid, kind, name) in &work {
            let size = match c.guests.get_mut(vmid) {
                Some(g) => {
                    if g.config.get("lock").map(String::as_str) == Some("backup") {
                        g.config.remove("lock");
                    }
                    g.derived.maxdisk / 5 + u64::from(*vmid) * 1024
                }
                None => continue,
            };
            let mut v = backup_volume(&s, &n, *kind, *vmid, name, now, size);
            v.volid = format!(
                "{}:backup/{}",
                s.id,
                crate::state::storage::backup_name(*kind, *vmid, now, &compress)
            );
            v.notes = Some(
                notes_tpl
                    .as_deref()
                    .map(|t| {
                        t.replace("{{guestname}}", name)
                            .replace("{{vmid}}", &vmid.to_string())
                    })
                    .unwrap_or_else(|| name.clone()),
            );
            v.protected = protected;
            v.format = match (kind, compress.as_str()) {
                (Kind::Qemu, "0") => "vma".into(),
                (Kind::Lxc, "0") => "tar".into(),
                (Kind::Qemu, _) => "vma.zst".into(),
                (Kind::Lxc, _) => "tar.zst".into(),
            };
            c.volumes.retain(|x| x.volid != v.volid);
            c.volumes.push(v);
            if let Some(keep) = &prune {
                let gone: BTreeSet<String> =
                    marks_for(c, &s.id, &n, keep, Some(i64::from(*vmid)), None)
                        .into_iter()
                        .filter(|(_, m)| *m == "remove")
                        .map(|(v, _)| v.volid.clone())
                        .collect();
                c.volumes.retain(|x| !gone.contains(&x.volid));
            }
        }
        if failed {
            return Err("job errors".to_string());
        }
        Ok(vec!["INFO: Backup job finished successfully".to_string()])
    });
    let id = if selected.len() == 1 {
        selected[0].0.to_string()
    } else {
        String::new()
    };
    let secs = 2.0 + 3.0 * selected.len().min(10) as f64;
    let upid = ctx.start_task(&mut c, node, "vzdump", &id, secs, log, Some(effect));
    Ok(Reply::string(upid))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vol(ctime: u64, protected: bool) -> Volume {
        Volume {
            volid: format!("s:backup/{ctime}"),
            storage: "s".into(),
            node: None,
            content: "backup".into(),
            format: "vma.zst".into(),
            size: 1,
            ctime,
            vmid: Some(100),
            subtype: Some("qemu".into()),
            notes: None,
            protected,
        }
    }

    #[test]
    fn prune_keep_last_and_daily() {
        let base = crate::state::GEN_EPOCH + 43_200;
        let vols = [
            vol(base + 5 * 86_400, false),
            vol(base + 4 * 86_400, false),
            vol(base + 4 * 86_400 - 60, false),
            vol(base + 3 * 86_400, true),
            vol(base + 2 * 86_400, false),
            vol(base, false),
        ];
        let refs: Vec<&Volume> = vols.iter().collect();
        let marks: Vec<&str> = mark(&refs, &parse_keep("keep-last=1,keep-daily=2"))
            .into_iter()
            .map(|(_, m)| m)
            .collect();
        assert_eq!(
            marks,
            ["keep", "keep", "remove", "protected", "keep", "remove"]
        );
        let all: Vec<&str> = mark(&refs, &parse_keep("keep-all=1"))
            .into_iter()
            .map(|(_, m)| m)
            .collect();
        assert!(all.iter().all(|m| *m == "keep" || *m == "protected"));
    }
}
