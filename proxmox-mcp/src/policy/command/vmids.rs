//! Which guests a shell command acts on (`qm destroy 100`, `pct exec 101 -- …`), so the caller
//! can look them up for protected-guest checks.

use super::effects::{GUEST_FLAGS, api_call, operands};
use crate::policy::api::Selection;

/// The guests one command acts on, for protected-guest checks: the vmid after a `qm`/`pct`
/// subcommand (`qm destroy 100`, `qm guest exec 100`, `pct exec 101 -- …`), the archive
/// target of `qmrestore`, `vzdump`'s guests, the guest in a `pvesh` path, `ha-manager`'s
/// `vm:100`, and guest disks and config files named anywhere (`vm-100-disk-0`,
/// `/var/lib/vz/images/100/…`, `/etc/pve/qemu-server/100.conf`). A vmid computed at run time
/// (`qm destroy $ID`) is not found; check [`super::Part::class`] for what is at stake.
pub(super) fn target_vmids(argv: &[String]) -> Vec<u32> {
    let mut out = Vec::new();
    let Some((prog, args)) = argv.split_first() else {
        return out;
    };
    let prog = prog.rsplit('/').next().unwrap_or(prog);
    // Options and operands come in any order (`qm stop --timeout 10 101`): every operand left
    // after removing options and their values that reads as a vmid is named, not only the
    // one where the vmid belongs.
    let guest_operands = || operands(args, GUEST_FLAGS);
    match prog {
        // `qm destroy 100`, `qm guest exec 100`, `qm disk unlink 100`, `pct restore 101 …`.
        "qm" | "pct" | "qmrestore" | "pct-restore" => {
            out.extend(guest_operands().iter().skip(1).filter_map(|a| vmid(a)));
        }
        "vzdump" => out.extend(guest_operands().iter().filter_map(|a| vmid(a))),
        "ha-manager" => out.extend(operands(args, &[]).iter().filter_map(|a| {
            let id = a.split_once(':').map(|(_, id)| id).unwrap_or(a);
            vmid(id)
        })),
        _ => {}
    }
    // `pvesh` and the wrappers over one API request name the guests that request names
    // (`--vms 101`, `--vmid`, HA sids, replication jobs, volumes, a batch's calls).
    if let Some(call) = api_call(prog, args) {
        out.extend(crate::policy::api::named_guests(call.method, &call.path, &call.params).vmids);
    }
    for a in args {
        out.extend(named_guests(a));
    }
    out.sort_unstable();
    out.dedup();
    out
}

/// The guest sets the API request of `pvesh` or a wrapper selects without naming them (every
/// guest, a pool's, a backup job's); a node-wide one is every guest, as which node the command
/// runs on is not known here.
pub(super) fn target_selections(argv: &[String]) -> Vec<Selection> {
    let Some((prog, args)) = argv.split_first() else {
        return Vec::new();
    };
    let prog = prog.rsplit('/').next().unwrap_or(prog);
    let Some(call) = api_call(prog, args) else {
        return Vec::new();
    };
    let mut out: Vec<Selection> =
        crate::policy::api::named_guests(call.method, &call.path, &call.params)
            .selections
            .into_iter()
            .map(|s| match s {
                Selection::Node(n) if n.eq_ignore_ascii_case("localhost") => Selection::All,
                s => s,
            })
            .collect();
    out.sort();
    out.dedup();
    out
}

/// A literal vmid: a number PVE accepts as a guest id.
pub(super) fn vmid(s: &str) -> Option<u32> {
    s.parse::<u32>()
        .ok()
        .filter(|v| (100..=999_999_999).contains(v))
}

/// Guests named inside one argument: disk volumes (`vm-100-disk-0`, `subvol-101-disk-1`,
/// `base-102-disk-0`, `vm-100-state-s1`, `vm-100-cloudinit`), `/images/100/` and
/// `qemu-server/100.conf` or `lxc/101.conf`.
fn named_guests(text: &str) -> Vec<u32> {
    let mut out = Vec::new();
    let digits = |s: &str| -> Option<(u32, usize)> {
        let n = s.bytes().take_while(u8::is_ascii_digit).count();
        let v: u32 = s[..n].parse().ok()?;
        (100..=999_999_999).contains(&v).then_some((v, n))
    };
    for prefix in [
        "vm-",
        "subvol-",
        "base-",
        "/images/",
        "qemu-server/",
        "lxc/",
    ] {
        for (i, _) in text.match_indices(prefix) {
            let before_ok = prefix.contains('/')
                || text[..i]
                    .chars()
                    .next_back()
                    .is_none_or(|c| !c.is_ascii_alphanumeric());
            let rest = &text[i + prefix.len()..];
            let Some((v, n)) = digits(rest) else { continue };
            let after = &rest[n..];
            let ok = match prefix {
                "/images/" => after.is_empty() || after.starts_with('/'),
                "qemu-server/" | "lxc/" => after.starts_with(".conf"),
                _ => after.starts_with('-') || after.is_empty(),
            };
            if before_ok && ok {
                out.push(v);
            }
        }
    }
    out
}

impl super::Part {
    /// The guests this part acts on; see [`super::Analysis::vmids`].
    pub fn vmids(&self) -> Vec<u32> {
        target_vmids(&self.argv)
    }

    /// The guest sets this part selects; see [`super::Analysis::selections`].
    pub fn selections(&self) -> Vec<Selection> {
        target_selections(&self.argv)
    }
}

impl super::Analysis {
    /// The guests the command acts on, sorted, each once: `qm destroy 100`,
    /// `pct exec 101 -- …`, `qm set 102 …`, `pvesh delete /nodes/x/qemu/103`,
    /// `zfs destroy rpool/data/vm-104-disk-0`. Vmids computed at run time are not found.
    pub fn vmids(&self) -> Vec<u32> {
        let mut out: Vec<u32> = self.parts.iter().flat_map(super::Part::vmids).collect();
        out.sort_unstable();
        out.dedup();
        out
    }

    /// The guest sets the command selects without naming them (`pvesh create
    /// /nodes/x/stopall`, `vzdump --all`, `pvesm prune-backups local`), for the gate to
    /// resolve as it resolves those of an API request.
    pub fn selections(&self) -> Vec<Selection> {
        let mut out: Vec<Selection> = self
            .parts
            .iter()
            .flat_map(super::Part::selections)
            .collect();
        out.sort();
        out.dedup();
        out
    }
}

#[cfg(test)]
mod tests {
    use super::super::{analyze, test_context};

    #[test]
    fn vmids() {
        for (cmd, want) in [
            ("qm destroy 100 --purge", &[100][..]),
            ("sudo qm set 102 --memory 4096", &[102]),
            ("pct exec 101 -- rm -rf /tmp/x", &[101]),
            ("qm guest exec 103 -- ls", &[103]),
            ("qm disk unlink 104 --idlist scsi1", &[104]),
            ("qmrestore /var/lib/vz/dump/x.vma.zst 105 --force", &[105]),
            ("pct restore 106 /tmp/x.tar.zst", &[106]),
            ("vzdump 100 101 --mode snapshot", &[100, 101]),
            ("pvesh delete /nodes/pve1/lxc/107", &[107]),
            ("ha-manager remove vm:108", &[108]),
            ("zfs destroy rpool/data/vm-109-disk-0", &[109]),
            ("lvremove -f pve/vm-110-disk-1", &[110]),
            ("pvesm free local-lvm:subvol-111-disk-0", &[111]),
            ("rm -rf /var/lib/vz/images/112", &[112]),
            ("sed -i /protection/d /etc/pve/qemu-server/113.conf", &[113]),
            ("qm start 100 && qm start 101", &[100, 101]),
            ("qm list", &[]),
            ("qm destroy $ID", &[]),
            ("rm /tmp/xvm-100-disk-0", &[]),
            ("qm set 99 --memory 1", &[]),
        ] {
            assert_eq!(analyze(cmd, &test_context()).vmids(), want, "{cmd}");
        }
    }
}
