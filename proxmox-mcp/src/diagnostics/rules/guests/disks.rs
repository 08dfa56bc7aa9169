//! Pure: the guest disk and device rules V09–V12 (cache, backup, detached disks, passthrough).

use super::{Kinds, drive_storage, guest_rule, indexed, opt, per_guest, vm::replace_opt};
use crate::diagnostics::rules::util::pve_bool;
use crate::diagnostics::rules::{Confidence, Severity};

guest_rule!(V09a, "V09a", "Disk cache mode unsafe", |snap, _ctx| {
    per_guest(snap, Kinds::Qemu, |g| {
        let hits = g
            .disks()
            .into_iter()
            .filter(|(_, v)| opt(v, "file", "cache") == Some("unsafe"))
            .map(|(k, v)| (k, v, replace_opt(v, "cache", "none")))
            .collect();
        Ok(g.drives_finding(
            "V09a",
            Severity::Warning,
            "use cache=unsafe",
            ": flushes are ignored, a host crash loses data",
            "Use cache=none (or writeback with backups) for any disk whose data matters.",
            hits,
        ))
    })
});

guest_rule!(
    V09b,
    "V09b",
    "Writeback cache on a disk excluded from backup",
    |snap, _ctx| {
        per_guest(snap, Kinds::Qemu, |g| {
            let hits = g
                .disks()
                .into_iter()
                .filter(|(_, v)| {
                    opt(v, "file", "cache") == Some("writeback")
                        && opt(v, "file", "backup").and_then(pve_bool) == Some(false)
                })
                .map(|(k, v)| (k, v, replace_opt(v, "cache", "none")))
                .collect();
            Ok(g.drives_finding(
            "V09b",
            Severity::Warning,
            "have writeback cache and no backup",
            "",
            "Writeback cache risks data on a host crash; with the disk excluded from backup there is no way back: use cache=none or include the disk in backups.",
            hits,
        ))
        })
    }
);

/// Whether a disk is included in backups.
fn backed_up(g: &super::Guest, key: &str, value: &str) -> bool {
    if g.is_qemu() {
        // QEMU disks are backed up unless backup=0.
        opt(value, "file", "backup")
            .and_then(pve_bool)
            .unwrap_or(true)
    } else if key == "rootfs" || drive_storage(value, false).is_none() {
        // The root file system is always backed up; bind mounts and devices never are.
        true
    } else {
        // A container's volume mount point is backed up only with backup=1.
        opt(value, "volume", "backup")
            .and_then(pve_bool)
            .unwrap_or(false)
    }
}

guest_rule!(V10, "V10", "Disk excluded from backup", |snap, _ctx| {
    per_guest(snap, Kinds::Both, |g| {
        let hits: Vec<(&str, &str, String)> = g
            .disks()
            .into_iter()
            .filter(|(k, v)| !backed_up(g, k, v))
            .map(|(k, v)| (k, v, replace_opt(v, "backup", "1")))
            .collect();
        let implicit = hits
            .iter()
            .any(|(_, v, _)| opt(v, "volume", "backup").is_none());
        Ok(g.drives_finding(
            "V10",
            Severity::Critical,
            "excluded from backup",
            if implicit { " (volume mount points are excluded unless backup=1)" } else { "" },
            "Include the disk in backups (backup=1), or document where its data is protected otherwise.",
            hits,
        ))
    })
});

guest_rule!(V11, "V11", "Detached (unused) disks", |snap, _ctx| {
    per_guest(snap, Kinds::Both, |g| {
        let unused: Vec<(&str, &str)> = g
            .cfg
            .iter()
            .filter(|(k, _)| indexed(k, "unused"))
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        if unused.is_empty() {
            return Ok(vec![]);
        }
        let keys: Vec<&str> = unused.iter().map(|(k, _)| *k).collect();
        let list: Vec<String> = unused.iter().map(|(k, v)| format!("{k} = {v}")).collect();
        let f = g.finding(
            "V11",
            Severity::Warning,
            format!("{}: {} detached disk(s)", g.label(), unused.len()),
            list.join("; "),
            "Reattach the volume if it is needed, else delete it (deleting an unusedN entry destroys the volume): it takes space and is not backed up.",
        );
        let mut f = g.delete(f, &keys);
        f.confidence = Confidence::Medium;
        Ok(vec![f])
    })
});

guest_rule!(V12, "V12", "Host device passthrough", |snap, _ctx| {
    per_guest(snap, Kinds::Qemu, |g| {
        let devices: Vec<String> = g
            .cfg
            .iter()
            .filter(|(k, v)| {
                indexed(k, "hostpci")
                    || (indexed(k, "usb") && opt(v, "host", "host") != Some("spice"))
            })
            .map(|(k, v)| format!("{k} = {v}"))
            .collect();
        if devices.is_empty() {
            return Ok(vec![]);
        }
        let mut f = g.finding(
            "V12",
            Severity::Warning,
            format!("{}: host device passthrough", g.label()),
            format!("{}: the guest cannot live-migrate and HA cannot move it", devices.join("; ")),
            "Keep the guest out of HA, pin it to its node, or use resource mappings present on every node it may run on.",
        );
        f.confidence = Confidence::Medium;
        Ok(vec![f])
    })
});

#[cfg(test)]
mod tests {
    use super::super::fixtures::{baseline, check, no_configs, skips, with};
    use super::*;
    use crate::diagnostics::rules::Rule;
    use Severity::*;

    const NONE: &[(&str, Severity)] = &[];

    #[test]
    fn missing_configs_skip() {
        let rules: &[&dyn Rule] = &[&V09a, &V09b, &V10, &V11, &V12];
        for r in rules {
            skips(*r, &no_configs(baseline()), "403");
            check(*r, &baseline(), NONE);
        }
    }

    #[test]
    fn v09_v10_disks() {
        check(
            &V09a,
            &with(
                baseline(),
                101,
                &[("scsi0", Some("ceph-vm:vm-101-disk-0,cache=unsafe"))],
            ),
            &[("qemu/101", Warning)],
        );
        let wb = with(
            baseline(),
            102,
            &[(
                "scsi1",
                Some("ceph-vm:vm-102-disk-3,cache=writeback,backup=0"),
            )],
        );
        check(&V09b, &wb, &[("qemu/102", Warning)]);
        check(&V10, &wb, &[("qemu/102", Critical)]);
        check(
            &V10,
            &with(
                baseline(),
                201,
                &[("mp0", Some("ceph-vm:vm-201-disk-1,mp=/srv,backup=0"))],
            ),
            &[("lxc/201", Critical)],
        );
        // A volume mount point without backup=1 is not backed up; a bind mount never is.
        check(
            &V10,
            &with(
                baseline(),
                201,
                &[("mp0", Some("ceph-vm:vm-201-disk-1,mp=/srv"))],
            ),
            &[("lxc/201", Critical)],
        );
        check(
            &V10,
            &with(baseline(), 201, &[("mp1", Some("/mnt/data,mp=/data"))]),
            NONE,
        );
        // Several disks of one guest: one finding, one fix for all.
        let two = with(
            baseline(),
            101,
            &[
                ("scsi1", Some("ceph-vm:vm-101-disk-1,backup=0")),
                ("scsi2", Some("ceph-vm:vm-101-disk-2,backup=0")),
            ],
        );
        check(&V10, &two, &[("qemu/101", Critical)]);
        let f = &super::super::fixtures::run(&V10, &two).unwrap()[0];
        assert_eq!(
            f.fix.as_deref(),
            Some(
                "pvesh set /nodes/pve1/qemu/101/config --scsi1 ceph-vm:vm-101-disk-1,backup=1 \
                 --scsi2 ceph-vm:vm-101-disk-2,backup=1"
            )
        );
        let f = &super::super::fixtures::run(&V10, &wb).unwrap()[0];
        assert_eq!(
            f.fix.as_deref(),
            Some(
                "pvesh set /nodes/pve2/qemu/102/config --scsi1 ceph-vm:vm-102-disk-3,cache=writeback,backup=1"
            )
        );
    }

    #[test]
    fn v11_v12() {
        let snap = with(
            baseline(),
            101,
            &[
                ("unused0", Some("ceph-vm:vm-101-disk-9")),
                ("unused1", Some("ceph-vm:vm-101-disk-8")),
            ],
        );
        check(&V11, &snap, &[("qemu/101", Warning)]);
        let f = &super::super::fixtures::run(&V11, &snap).unwrap()[0];
        assert_eq!(
            f.fix.as_deref(),
            Some("pvesh set /nodes/pve1/qemu/101/config --delete unused0,unused1")
        );
        check(
            &V12,
            &with(
                baseline(),
                103,
                &[("hostpci0", Some("0000:01:00.0,pcie=1"))],
            ),
            &[("qemu/103", Warning)],
        );
        check(
            &V12,
            &with(baseline(), 103, &[("usb0", Some("spice"))]),
            NONE,
        );
    }
}
