//! Pure: the guest rules V13–V19 (HA placement, NICs, start-up, protection, pending and saved state).

use std::collections::BTreeMap;

use serde_json::Value;

use super::{Guest, Kinds, drive_storage, guest_rule, per_guest, storage_shared, storage_type};
use crate::diagnostics::rules::util::{flag, num};
use crate::diagnostics::rules::{Confidence, Finding, Severity, Skip, got};

/// The disks of `g` on storages that are not shared, as `key (storage)`. Local ZFS is left to
/// V14: with storage replication it is a supported HA setup.
fn local_disks(g: &Guest, defs: &[Value]) -> Vec<(String, String)> {
    g.disks()
        .into_iter()
        .filter_map(|(k, v)| {
            let st = drive_storage(v, g.is_qemu())?;
            (storage_shared(defs, st) == Some(false) && storage_type(defs, st) != Some("zfspool"))
                .then(|| (k.to_string(), st.to_string()))
        })
        .collect()
}

guest_rule!(V13, "V13", "HA guest on local storage", |snap, _ctx| {
    let defs = got(&snap.storage_config)?;
    per_guest(snap, Kinds::Both, |g| {
        if !g.ha_managed(snap)? {
            return Ok(vec![]);
        }
        let local = local_disks(g, defs);
        if local.is_empty() {
            return Ok(vec![]);
        }
        let list: Vec<String> = local.iter().map(|(k, s)| format!("{k} on {s}")).collect();
        Ok(vec![g.finding(
            "V13",
            Severity::Critical,
            format!("{}: HA-managed with disks on local storage", g.label()),
            format!("{} (not shared): HA cannot recover the guest on another node", list.join(", ")),
            "Move the disks to shared storage (Ceph, NFS, shared LVM), or use replicated local ZFS, or remove the guest from HA.",
        )])
    })
});

guest_rule!(
    V14,
    "V14",
    "HA guest on local ZFS without replication",
    |snap, _ctx| {
        let defs = got(&snap.storage_config)?;
        let jobs = got(&snap.replication_jobs)?;
        per_guest(snap, Kinds::Both, |g| {
            if !g.ha_managed(snap)? {
                return Ok(vec![]);
            }
            let zfs: Vec<String> = g
                .disks()
                .into_iter()
                .filter_map(|(k, v)| {
                    let st = drive_storage(v, g.is_qemu())?;
                    (storage_type(defs, st) == Some("zfspool")).then(|| format!("{k} on {st}"))
                })
                .collect();
            let replicated = jobs.iter().any(|j| {
                num(j, "guest") == Some(f64::from(g.g.vmid)) && flag(j, "disable") != Some(true)
            });
            if zfs.is_empty() || replicated {
                return Ok(vec![]);
            }
            let f = g.finding(
            "V14",
            Severity::Warning,
            format!("{}: HA on local ZFS without a replication job", g.label()),
            format!("{}; no enabled replication job for guest {}", zfs.join(", "), g.g.vmid),
            "Add a storage replication job to the node(s) HA may recover the guest on, or move the disks to shared storage.",
        );
            Ok(vec![g.fix_text(
            f,
            format!("pvesh create /cluster/replication --id {}-0 --type local --target <other-node> --schedule '*/15'", g.g.vmid),
        )])
        })
    }
);

guest_rule!(
    V15a,
    "V15a",
    "Guest without a network interface",
    |snap, _ctx| {
        per_guest(snap, Kinds::Both, |g| {
            if g.template() || !g.nics().is_empty() {
                return Ok(vec![]);
            }
            let net = if g.is_qemu() {
                "virtio,bridge=vmbr0,firewall=1"
            } else {
                "name=eth0,bridge=vmbr0,ip=dhcp,firewall=1"
            };
            let mut f = g.finding(
                "V15a",
                Severity::Warning,
                format!("{}: no network interface", g.label()),
                "no netN entry in the config".into(),
                "Add a network interface, unless the guest is deliberately isolated.",
            );
            f.confidence = Confidence::Medium;
            Ok(vec![g.set(f, &[("net0", net)])])
        })
    }
);

/// The MAC address of a `netN` value (`virtio=BC:24:…`, `hwaddr=…`, `macaddr=…`), upper case.
fn mac_of(value: &str) -> Option<String> {
    let looks = |s: &str| {
        s.len() == 17
            && s.split(':').count() == 6
            && s.split(':')
                .all(|p| p.len() == 2 && p.chars().all(|c| c.is_ascii_hexdigit()))
    };
    value
        .split(',')
        .filter_map(|p| p.split_once('='))
        .find(|(k, v)| matches!(*k, "hwaddr" | "macaddr") || looks(v))
        .map(|(_, v)| v.to_ascii_uppercase())
        .filter(|v| looks(v))
}

guest_rule!(V15b, "V15b", "Duplicate MAC address", |snap, _ctx| {
    let mut macs: BTreeMap<String, Vec<(String, String)>> = BTreeMap::new();
    // Skipped when no guest config could be read; judged over the readable ones.
    per_guest(snap, Kinds::Both, |_| Ok(vec![]))?;
    for g in snap.guests.values() {
        let Ok(cfg) = &g.config else { continue };
        let guest = Guest { g, cfg };
        for (key, value) in guest.nics() {
            if let Some(mac) = mac_of(value) {
                macs.entry(mac)
                    .or_default()
                    .push((guest.object(), key.to_string()));
            }
        }
    }
    let mut out: Vec<Finding> = vec![];
    for (mac, users) in macs.iter().filter(|(_, u)| u.len() > 1) {
        for (object, key) in users {
            let others: Vec<String> = users
                .iter()
                .filter(|(o, k)| (o, k) != (object, key))
                .map(|(o, k)| format!("{o} {k}"))
                .collect();
            let vmid: u32 = object
                .rsplit('/')
                .next()
                .and_then(|v| v.parse().ok())
                .unwrap_or_default();
            let g = &snap.guests[&vmid];
            let guest = Guest {
                g,
                cfg: g.config.as_ref().map_err(Skip::from)?,
            };
            let f = guest.finding(
                "V15b",
                Severity::Warning,
                format!("{}: MAC {mac} also used by {}", guest.label(), others.join(", ")),
                format!("{key} has {mac}; also on {}", others.join(", ")),
                "Give each interface a unique MAC: set the model without an address and PVE generates a new one.",
            );
            let model = guest.cfg.get(key).map(String::as_str).unwrap_or_default();
            let fresh: Vec<&str> = model.split(',').filter(|p| mac_of(p).is_none()).collect();
            let first = model
                .split(',')
                .next()
                .and_then(|p| p.split_once('='))
                .map(|(k, _)| k)
                .unwrap_or("virtio");
            let new = if guest.is_qemu() {
                std::iter::once(first)
                    .chain(fresh.iter().copied())
                    .collect::<Vec<_>>()
                    .join(",")
            } else {
                fresh.join(",")
            };
            out.push(guest.set(f, &[(key, &new)]));
        }
    }
    out.sort_by(|a, b| a.object.cmp(&b.object));
    Ok(out)
});

guest_rule!(
    V16,
    "V16",
    "Running guest not started on boot",
    |snap, _ctx| {
        per_guest(snap, Kinds::Both, |g| {
            if !g.running() || g.bool_key("onboot") == Some(true) || g.ha_managed(snap)? {
                return Ok(vec![]);
            }
            let f = g.finding(
                "V16",
                Severity::Warning,
                format!("{}: running but not started on boot", g.label()),
                format!(
                    "status running, onboot = {}",
                    g.key("onboot").unwrap_or("0 (unset)")
                ),
                "Enable start at boot so the guest comes back after a node reboot.",
            );
            Ok(vec![g.set(f, &[("onboot", "1")])])
        })
    }
);

guest_rule!(V17, "V17", "Template without protection", |snap, _ctx| {
    per_guest(snap, Kinds::Both, |g| {
        if !g.template() || g.bool_key("protection") == Some(true) {
            return Ok(vec![]);
        }
        let mut f = g.finding(
            "V17",
            Severity::Info,
            format!("{}: template not protected", g.label()),
            format!("template = 1, protection = {}", g.key("protection").unwrap_or("0 (unset)")),
            "Protect templates: clones are made from them and removing one by mistake loses the base image.",
        );
        f.confidence = Confidence::Low;
        Ok(vec![g.set(f, &[("protection", "1")])])
    })
});

guest_rule!(V18, "V18", "Pending configuration changes", |snap, _ctx| {
    got(&snap.resources)?;
    let mut out = vec![];
    let mut judged = 0;
    let mut unread = None;
    for g in snap.guests.values() {
        let pending = match &g.pending {
            Ok(p) => p,
            Err(why) => {
                unread.get_or_insert_with(|| {
                    format!("pending changes of {}/{} not read: {why}", g.kind, g.vmid)
                });
                continue;
            }
        };
        judged += 1;
        if pending.is_empty() || flag(&g.resource, "template") == Some(true) {
            continue;
        }
        let keys: Vec<String> = pending
            .iter()
            .map(|(k, v)| match v {
                Some(v) => format!("{k} → {v}"),
                None => format!("{k} (delete)"),
            })
            .collect();
        let cfg = BTreeMap::new();
        let guest = Guest {
            g,
            cfg: g.config.as_ref().unwrap_or(&cfg),
        };
        let f = guest.finding(
            "V18",
            Severity::Info,
            format!("{}: {} pending change(s) need a restart", guest.label(), pending.len()),
            keys.join("; "),
            "Restart the guest (a reboot through PVE, not from inside) to apply them, or revert them.",
        );
        out.push(guest.fix_text(
            f,
            format!(
                "pvesh create /nodes/{}/{}/{}/status/reboot",
                g.node, g.kind, g.vmid
            ),
        ));
    }
    match unread {
        Some(why) if judged == 0 => Err(Skip(why)),
        _ => Ok(out),
    }
});

guest_rule!(V19, "V19", "Hibernated state left behind", |snap, _ctx| {
    per_guest(snap, Kinds::Qemu, |g| {
        let Some(state) = g.key("vmstate") else {
            return Ok(vec![]);
        };
        let f = g.finding(
            "V19",
            Severity::Critical,
            format!("{}: hibernated with a saved RAM state", g.label()),
            format!("vmstate = {state} (status {})", g.status()),
            "Resume the guest (start it) or discard the state: a saved state pins the machine version and CPU and blocks config changes and migration.",
        );
        Ok(vec![g.fix_text(
            f,
            format!(
                "pvesh create /nodes/{}/qemu/{}/status/start   # resumes from the saved state",
                g.g.node, g.g.vmid
            ),
        )])
    })
});

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::super::fixtures::{baseline, check, guest_mut, no_configs, run, skips, with};
    use super::*;
    use crate::diagnostics::rules::Rule;
    use Severity::*;

    const NONE: &[(&str, Severity)] = &[];

    #[test]
    fn missing_facts_skip() {
        let rules: &[&dyn Rule] = &[&V13, &V14, &V15a, &V15b, &V16, &V17, &V19];
        for r in rules {
            skips(*r, &no_configs(baseline()), "403");
            check(*r, &baseline(), NONE);
        }
        check(&V18, &baseline(), NONE);
        // HA membership unreadable: the rules that depend on it skip.
        let mut snap = baseline();
        snap.ha_resources = Err("GET /cluster/ha/resources: 403".into());
        skips(&V13, &snap, "ha/resources");
        skips(&V14, &snap, "ha/resources");
        // V16 needs it only for a running guest without onboot.
        check(&V16, &snap, NONE);
        skips(&V16, &with(snap, 201, &[("onboot", None)]), "ha/resources");
        let mut snap = baseline();
        snap.storage_config = Err("GET /storage: 403".into());
        skips(&V13, &snap, "/storage");
        let mut snap = baseline();
        snap.replication_jobs = Err("GET /cluster/replication: 403".into());
        skips(&V14, &snap, "replication");
        let mut snap = baseline();
        for g in snap.guests.values_mut() {
            g.pending = Err("GET pending: 403".into());
        }
        skips(&V18, &snap, "403");
    }

    #[test]
    fn v13_v14_ha_storage() {
        check(
            &V13,
            &with(
                baseline(),
                101,
                &[("scsi1", Some("local-lvm:vm-101-disk-1,size=8G"))],
            ),
            &[("qemu/101", Critical)],
        );
        check(
            &V13,
            &with(
                baseline(),
                201,
                &[("mp1", Some("local-lvm:vm-201-disk-2,mp=/var,backup=1"))],
            ),
            NONE,
        );
        let mut ha_ct = baseline();
        ha_ct
            .ha_resources
            .as_mut()
            .unwrap()
            .push(json!({"sid": "ct:201", "state": "started"}));
        check(
            &V13,
            &with(
                ha_ct,
                201,
                &[("mp1", Some("local-lvm:vm-201-disk-2,mp=/var,backup=1"))],
            ),
            &[("lxc/201", Critical)],
        );
        // Not HA: fine; a CD-ROM ISO on local is V05's business.
        check(
            &V13,
            &with(
                baseline(),
                103,
                &[("scsi1", Some("local-zfs:vm-103-disk-1"))],
            ),
            NONE,
        );
        let mut snap = with(
            baseline(),
            101,
            &[("scsi0", Some("local-zfs:vm-101-disk-0,iothread=1"))],
        );
        check(&V14, &snap, &[("qemu/101", Warning)]);
        // Local ZFS is V14's business, not V13's.
        check(&V13, &snap, NONE);
        snap.replication_jobs = Ok(vec![
            json!({"id": "101-0", "guest": 101, "target": "pve2", "type": "local", "schedule": "*/15"}),
        ]);
        check(&V14, &snap, NONE);
    }

    #[test]
    fn v15_nics() {
        check(
            &V15a,
            &with(baseline(), 103, &[("net0", None)]),
            &[("qemu/103", Warning)],
        );
        check(
            &V15a,
            &with(baseline(), 201, &[("net0", None)]),
            &[("lxc/201", Warning)],
        );
        check(&V15a, &with(baseline(), 900, &[("net0", None)]), NONE);
        let dup = with(
            baseline(),
            201,
            &[(
                "net0",
                Some("name=eth0,bridge=vmbr0,hwaddr=bc:24:11:00:01:01,ip=dhcp"),
            )],
        );
        check(&V15b, &dup, &[("lxc/201", Warning), ("qemu/101", Warning)]);
        let found = run(&V15b, &dup).unwrap();
        let q = found.iter().find(|f| f.object == "qemu/101").unwrap();
        assert_eq!(
            q.fix.as_deref(),
            Some("pvesh set /nodes/pve1/qemu/101/config --net0 virtio,bridge=vmbr0,firewall=1")
        );
        assert_eq!(
            mac_of("e1000=AA:BB:CC:DD:EE:FF,bridge=vmbr1").as_deref(),
            Some("AA:BB:CC:DD:EE:FF")
        );
    }

    #[test]
    fn v16_to_v19() {
        check(
            &V16,
            &with(baseline(), 201, &[("onboot", None)]),
            &[("lxc/201", Warning)],
        );
        // HA starts HA guests: onboot does not matter there.
        check(&V16, &with(baseline(), 101, &[("onboot", Some("0"))]), NONE);
        check(
            &V17,
            &with(baseline(), 900, &[("protection", None)]),
            &[("qemu/900", Info)],
        );
        let mut snap = baseline();
        guest_mut(&mut snap, 101).pending =
            Ok([("memory".to_string(), Some("8192".to_string()))].into());
        check(&V18, &snap, &[("qemu/101", Info)]);
        check(
            &V19,
            &with(
                baseline(),
                103,
                &[("vmstate", Some("local-zfs:vm-103-state-suspend-2026-01-01"))],
            ),
            &[("qemu/103", Critical)],
        );
    }
}
