//! Pure: the guest disk and device rules V09–V12 (cache, backup, detached disks, passthrough).

use super::{Kinds, drive_storage, guest_rule, indexed, opt, per_guest, vm::replace_opt};
use crate::diagnostics::rules::util::pve_bool;
use crate::diagnostics::rules::{Confidence, Severity};

guest_rule!(V09a, "V09a", "Disk cache mode unsafe", |snap, _ctx| {
    per_guest(snap, Kinds::Qemu, |g| {
        let mut out = vec![];
        for (key, value) in g.disks() {
            if opt(value, "file", "cache") != Some("unsafe") {
                continue;
            }
            let f = g.finding(
                "V09a",
                Severity::Warning,
                format!("{}: {key} uses cache=unsafe", g.label()),
                format!("{key} = {value}: flushes are ignored, a host crash loses data"),
                "Use cache=none (or writeback with backups) for any disk whose data matters.",
            );
            out.push(g.set(f, &[(key, &replace_opt(value, "cache", "none"))]));
        }
        Ok(out)
    })
});

guest_rule!(
    V09b,
    "V09b",
    "Writeback cache on a disk excluded from backup",
    |snap, _ctx| {
        per_guest(snap, Kinds::Qemu, |g| {
            let mut out = vec![];
            for (key, value) in g.disks() {
                if opt(value, "file", "cache") != Some("writeback")
                    || opt(value, "file", "backup") != Some("0")
                {
                    continue;
                }
                let f = g.finding(
                "V09b",
                Severity::Warning,
                format!("{}: {key} has writeback cache and no backup", g.label()),
                format!("{key} = {value}"),
                "Writeback cache risks data on a host crash; with the disk excluded from backup there is no way back: use cache=none or include the disk in backups.",
            );
                out.push(g.set(f, &[(key, &replace_opt(value, "cache", "none"))]));
            }
            Ok(out)
        })
    }
);

guest_rule!(V10, "V10", "Disk excluded from backup", |snap, _ctx| {
    per_guest(snap, Kinds::Both, |g| {
        let mut out = vec![];
        for (key, value) in g.disks() {
            let backup = if g.is_qemu() {
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
            };
            if backup {
                continue;
            }
            let how = if opt(value, "file", "backup").is_none() {
                " (volume mount points are excluded unless backup=1)"
            } else {
                ""
            };
            let f = g.finding(
                "V10",
                Severity::Critical,
                format!("{}: {key} excluded from backup", g.label()),
                format!("{key} = {value}{how}"),
                "Include the disk in backups (backup=1), or document where its data is protected otherwise.",
            );
            out.push(g.set(f, &[(key, &replace_opt(value, "backup", "1"))]));
        }
        Ok(out)
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
