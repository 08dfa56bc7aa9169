//! Pure: storage rules: availability, usage, thin overcommit, thin-pool metadata (H22–H25).

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use super::{FindingExt, bytes, finding, graded, health_rule, per_node};
use crate::diagnostics::rules::util::{flag, num, pct, prop_string, str_of};
use crate::diagnostics::rules::{Confidence, Ctx, Finding, Outcome, Severity, Skip};
use crate::diagnostics::snapshot::cluster::ClusterSnapshot;

health_rule!(H22, "H22", "Storage not available", inactive);
health_rule!(H23, "H23", "Storage usage high", usage);
health_rule!(H24, "H24", "Thin storage overcommitted", overcommit);
health_rule!(H25, "H25", "LVM-thin metadata usage high", thin_meta);

/// The storage definition of `id` in `/storage`, when readable.
fn definition<'a>(snap: &'a ClusterSnapshot, id: &str) -> Option<&'a Value> {
    snap.storage_config
        .as_ref()
        .ok()?
        .iter()
        .find(|s| str_of(s, "storage") == Some(id))
}

/// Nodes that `/cluster/resources` shows online.
fn online_nodes(snap: &ClusterSnapshot) -> BTreeSet<&str> {
    snap.resources_of("node")
        .map(|it| {
            it.filter(|n| str_of(n, "status") == Some("online"))
                .filter_map(|n| str_of(n, "node"))
                .collect()
        })
        .unwrap_or_default()
}

/// Disk volumes of a guest config: (key, storage, size in bytes if given).
pub(super) fn volumes(cfg: &BTreeMap<String, String>) -> Vec<(&str, &str, Option<f64>)> {
    cfg.iter()
        .filter(|(k, _)| is_disk_key(k))
        .filter_map(|(k, v)| {
            let opts = prop_string(v, "file");
            let file = opts.iter().find(|(o, _)| *o == "file" || *o == "volume")?.1;
            if opts.iter().any(|(o, v)| *o == "media" && *v == "cdrom") {
                return None;
            }
            let (store, _) = file.split_once(':')?;
            let size = opts
                .iter()
                .find(|(o, _)| *o == "size")
                .and_then(|(_, s)| parse_size(s));
            Some((k.as_str(), store, size))
        })
        .collect()
}

fn is_disk_key(k: &str) -> bool {
    if matches!(k, "efidisk0" | "tpmstate0" | "rootfs") {
        return true;
    }
    ["scsi", "virtio", "sata", "ide", "mp", "unused"]
        .iter()
        .any(|p| {
            k.strip_prefix(p)
                .is_some_and(|d| !d.is_empty() && d.bytes().all(|b| b.is_ascii_digit()))
        })
}

/// A PVE disk size (`32G`, `512M`, `1T`, `4096K`, bytes without a suffix).
pub(super) fn parse_size(s: &str) -> Option<f64> {
    let s = s.trim();
    let (digits, unit) = s.split_at(
        s.find(|c: char| !c.is_ascii_digit() && c != '.')
            .unwrap_or(s.len()),
    );
    let n: f64 = digits.parse().ok()?;
    let mult = match unit.to_ascii_uppercase().as_str() {
        "" | "B" => 1.0,
        "K" => 1024.0,
        "M" => 1024f64.powi(2),
        "G" => 1024f64.powi(3),
        "T" => 1024f64.powi(4),
        _ => return None,
    };
    Some(n * mult)
}

fn inactive(snap: &ClusterSnapshot, _: &Ctx) -> Outcome {
    let storages = snap.resources_of("storage").map_err(Skip)?;
    let up = online_nodes(snap);
    let mut out = Vec::new();
    for s in storages {
        let (Some(id), Some(node)) = (str_of(s, "storage"), str_of(s, "node")) else {
            continue;
        };
        if str_of(s, "status") == Some("available") || !up.contains(node) {
            continue;
        }
        if definition(snap, id).is_some_and(|d| flag(d, "disable") == Some(true)) {
            continue;
        }
        let users: Vec<String> = snap
            .guests
            .values()
            .filter(|g| g.node == node)
            .filter(|g| {
                g.config
                    .as_ref()
                    .is_ok_and(|c| volumes(c).iter().any(|(_, st, _)| *st == id))
            })
            .map(|g| format!("{}/{}", g.kind, g.vmid))
            .collect();
        let severity = if users.is_empty() {
            Severity::Warning
        } else {
            Severity::Critical
        };
        let guests = if users.is_empty() {
            "no guest disks on it".to_string()
        } else {
            format!("guest disks on it: {}", users.join(", "))
        };
        out.push(
            finding(
                "H22",
                severity,
                format!("storage/{node}/{id}"),
                format!("Storage {id} is not available on {node}"),
                format!("status {}; {guests}", str_of(s, "status").unwrap_or("missing")),
                "Restore access to the storage (mount, network, target); disable it on purpose if it is retired.",
            )
            .with_fix(format!("pvesm status --storage {id}")),
        );
    }
    Ok(out)
}

fn usage(snap: &ClusterSnapshot, ctx: &Ctx) -> Outcome {
    let storages = snap.resources_of("storage").map_err(Skip)?;
    let mut seen = BTreeSet::new();
    let mut out = Vec::new();
    for s in storages {
        let (Some(id), Some(node)) = (str_of(s, "storage"), str_of(s, "node")) else {
            continue;
        };
        if str_of(s, "status").is_some_and(|st| st != "available") {
            continue;
        }
        let shared = flag(s, "shared") == Some(true);
        let object = if shared {
            format!("storage/{id}")
        } else {
            format!("storage/{node}/{id}")
        };
        if !seen.insert(object.clone()) {
            continue;
        }
        let (Some(used), Some(total)) = (num(s, "disk"), num(s, "maxdisk")) else {
            continue;
        };
        let Some(p) = pct(used, total) else { continue };
        if let Some((severity, warn, crit)) = graded(ctx, "H23", p, 80.0, 90.0) {
            out.push(finding(
                "H23",
                severity,
                object,
                format!("Storage {id} is {p:.0} % full"),
                format!("{} of {} used ({p:.0} %; warn ≥ {warn}, crit ≥ {crit})", bytes(used), bytes(total)),
                "Free space (old backups, snapshots, unused disks) or extend the storage before writes fail.",
            ));
        }
    }
    Ok(out)
}

fn overcommit(snap: &ClusterSnapshot, ctx: &Ctx) -> Outcome {
    let storages = snap.resources_of("storage").map_err(Skip)?;
    let limit = ctx.threshold("H24.pct", 100.0);
    let mut missing = Vec::new();
    let mut out: Vec<Finding> = Vec::new();
    let mut seen = BTreeSet::new();
    for s in storages {
        let (Some(id), Some(node)) = (str_of(s, "storage"), str_of(s, "node")) else {
            continue;
        };
        let plugin = str_of(s, "plugintype").unwrap_or("");
        let thin = plugin == "lvmthin"
            || (plugin == "zfspool"
                && definition(snap, id).is_some_and(|d| flag(d, "sparse") == Some(true)));
        let shared = flag(s, "shared") == Some(true);
        if !thin || (shared && !seen.insert(id)) {
            continue;
        }
        let Some(total) = num(s, "maxdisk").filter(|t| *t > 0.0) else {
            continue;
        };
        let mut provisioned = 0.0;
        let mut count = 0;
        for g in snap.guests.values().filter(|g| shared || g.node == node) {
            match &g.config {
                Ok(cfg) => {
                    for (_, store, size) in volumes(cfg) {
                        if store == id {
                            provisioned += size.unwrap_or(0.0);
                            count += 1;
                        }
                    }
                }
                Err(why) => missing.push(format!("{}/{}: {why}", g.kind, g.vmid)),
            }
        }
        let Some(p) = pct(provisioned, total) else {
            continue;
        };
        if p > limit {
            let object = if shared {
                format!("storage/{id}")
            } else {
                format!("storage/{node}/{id}")
            };
            out.push(
                finding(
                    "H24",
                    Severity::Warning,
                    object,
                    format!("Thin storage {id} on {node} is overcommitted"),
                    format!("{count} guest volumes provision {} on {} ({p:.0} %; warn > {limit} %)", bytes(provisioned), bytes(total)),
                    "Watch actual usage closely or add capacity: if the guests fill their disks the pool runs out and guests stop with IO errors.",
                )
                .with_confidence(Confidence::Medium),
            );
        }
    }
    if out.is_empty() && !missing.is_empty() {
        missing.dedup();
        return Err(Skip(format!(
            "guest configs not read: {}",
            missing.join("; ")
        )));
    }
    Ok(out)
}

fn thin_meta(snap: &ClusterSnapshot, ctx: &Ctx) -> Outcome {
    per_node(
        snap,
        |n| &n.lvmthin,
        |n, pools, out| {
            for p in pools {
                let (Some(used), Some(size)) = (num(p, "metadata_used"), num(p, "metadata_size"))
                else {
                    continue;
                };
                let Some(pc) = pct(used, size) else { continue };
                let Some((severity, warn, crit)) = graded(ctx, "H25", pc, 70.0, 85.0) else {
                    continue;
                };
                let vg = str_of(p, "vg").unwrap_or("?");
                let lv = str_of(p, "lv").unwrap_or("?");
                let id = snap.storage_config.as_ref().ok().and_then(|all| {
                    all.iter()
                        .find(|s| {
                            str_of(s, "type") == Some("lvmthin")
                                && str_of(s, "vgname") == Some(vg)
                                && str_of(s, "thinpool") == Some(lv)
                        })
                        .and_then(|s| str_of(s, "storage"))
                });
                let object = match id {
                    Some(id) => format!("storage/{}/{id}", n.name),
                    None => format!("storage/{}/{vg}/{lv}", n.name),
                };
                out.push(
                finding(
                    "H25",
                    severity,
                    object,
                    format!("Metadata of thin pool {vg}/{lv} on {} is {pc:.0} % full", n.name),
                    format!("metadata {} of {} ({pc:.0} %; warn ≥ {warn}, crit ≥ {crit})", bytes(used), bytes(size)),
                    "Extend the thin pool's metadata now: a full metadata volume corrupts the pool.",
                )
                .with_fix(format!("lvextend --poolmetadatasize +1G {vg}/{lv}")),
            );
            }
        },
    )
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::super::fixtures::{GIB, baseline, check, denied, guest, node, skips};
    use super::*;
    use crate::diagnostics::rules::Rule;

    fn storage(snap: &mut ClusterSnapshot, id: &str, f: impl Fn(&mut Value)) {
        for r in snap.resources.as_mut().unwrap() {
            if r["id"] == id {
                f(r);
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
                &H22,
                |s| {
                    storage(s, "storage/pve1/local-lvm", |r| {
                        r["status"] = json!("unavailable")
                    })
                },
                "storage/pve1/local-lvm",
                Severity::Critical,
            ),
            (
                &H22,
                |s| {
                    storage(s, "storage/pve3/ceph-nfs", |r| {
                        r["status"] = json!("unavailable")
                    })
                },
                "storage/pve3/ceph-nfs",
                Severity::Warning,
            ),
            (
                &H23,
                |s| {
                    storage(s, "storage/pve2/local-lvm", |r| {
                        r["disk"] = json!(2_900 * GIB)
                    })
                },
                "storage/pve2/local-lvm",
                Severity::Critical,
            ),
            (
                &H23,
                |s| {
                    for n in ["pve1", "pve2", "pve3"] {
                        storage(s, &format!("storage/{n}/ceph-nfs"), |r| {
                            r["disk"] = json!(6_600 * GIB)
                        });
                    }
                },
                "storage/ceph-nfs",
                Severity::Warning,
            ),
            (
                &H24,
                |s| {
                    guest(s, 100)
                        .config
                        .as_mut()
                        .unwrap()
                        .insert("scsi1".into(), "local-lvm:vm-100-disk-2,size=4T".into());
                },
                "storage/pve1/local-lvm",
                Severity::Warning,
            ),
            (
                &H25,
                |s| {
                    node(s, "pve2").lvmthin.as_mut().unwrap()[0]["metadata_used"] =
                        json!(GIB * 9 / 10)
                },
                "storage/pve2/local-lvm",
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
        // Disabled on purpose, or on an offline node: not H22's business.
        snap.storage_config.as_mut().unwrap()[1]["disable"] = json!(1);
        storage(&mut snap, "storage/pve1/ceph-nfs", |r| {
            r["status"] = json!("unavailable")
        });
        storage(&mut snap, "node/pve3", |r| r["status"] = json!("offline"));
        storage(&mut snap, "storage/pve3/local-lvm", |r| {
            r["status"] = json!("unknown")
        });
        // Big disks on a thick storage are no overcommit.
        guest(&mut snap, 100).config.as_mut().unwrap().insert(
            "scsi1".into(),
            "ceph-nfs:100/vm-100-disk-2.qcow2,size=40T".into(),
        );
        for rule in [&H22 as &dyn Rule, &H23, &H24, &H25] {
            assert_eq!(check(rule, &snap), vec![], "{}", rule.id());
        }
    }

    #[test]
    fn missing_facts_skip() {
        type Case = (&'static dyn Rule, fn(&mut ClusterSnapshot));
        let cases: &[Case] = &[
            (&H22, |s| s.resources = denied()),
            (&H23, |s| s.resources = denied()),
            (&H24, |s| s.resources = denied()),
            (&H24, |s| guest(s, 100).config = denied()),
            (&H25, |s| node(s, "pve1").lvmthin = denied()),
        ];
        for (rule, seed) in cases {
            let mut snap = baseline();
            seed(&mut snap);
            skips(*rule, &snap, "403");
        }
    }

    #[test]
    fn sizes_and_volumes() {
        assert_eq!(parse_size("32G"), Some(32.0 * GIB as f64));
        assert_eq!(parse_size("512M"), Some(512.0 * 1024.0 * 1024.0));
        assert_eq!(parse_size("4096"), Some(4096.0));
        assert_eq!(parse_size("3X"), None);
        let cfg = BTreeMap::from([
            (
                "scsi0".to_string(),
                "local-lvm:vm-1-disk-0,size=8G".to_string(),
            ),
            (
                "ide2".to_string(),
                "local:iso/a.iso,media=cdrom".to_string(),
            ),
            (
                "mp0".to_string(),
                "tank:subvol-1-disk-1,mp=/data,size=2G".to_string(),
            ),
            ("net0".to_string(), "virtio=AA,bridge=vmbr0".to_string()),
        ]);
        let v = volumes(&cfg);
        assert_eq!(v.len(), 2);
        assert_eq!(v[0].1, "tank");
    }
}
