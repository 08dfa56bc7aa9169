//! Which guests a shell command acts on (`qm destroy 100`, `pct exec 101 -- …`), so the caller
//! can look them up for protected-guest checks.

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
    let vmid = |s: &str| {
        s.parse::<u32>()
            .ok()
            .filter(|v| (100..=999_999_999).contains(v))
    };
    let positionals: Vec<&str> = args
        .iter()
        .map(String::as_str)
        .filter(|a| !a.starts_with('-'))
        .collect();
    match prog {
        "qm" | "pct" => {
            // `qm destroy 100`, `qm guest exec 100`, `qm disk unlink 100`, `pct restore 101 …`.
            out.extend(positionals.iter().skip(1).take(2).find_map(|a| vmid(a)));
        }
        "qmrestore" | "pct-restore" => out.extend(positionals.get(1).and_then(|a| vmid(a))),
        "vzdump" => out.extend(positionals.iter().filter_map(|a| vmid(a))),
        "pvesh" => out.extend(
            positionals
                .get(1)
                .and_then(|p| crate::policy::api::target_vmid(p)),
        ),
        "ha-manager" => out.extend(positionals.iter().filter_map(|a| {
            let id = a.split_once(':').map(|(_, id)| id).unwrap_or(a);
            vmid(id)
        })),
        _ => {}
    }
    for a in args {
        out.extend(named_guests(a));
    }
    out.sort_unstable();
    out.dedup();
    out
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
