//! Disks and file systems: `mount` and `umount` by their targets, and the disk tools whose
//! class depends on their options (`smartctl`, `wipefs`, `fdisk`, `parted`…).

use super::{Verdict, has, holds_persistence, long_opt, short, v};
use crate::policy::Class::{Destructive, Exec, Lifecycle, Modify, Read};
use crate::policy::command::paths::normalize;

pub(super) fn disk(prog: &str, args: &[String]) -> Verdict {
    let reads = match prog {
        "journalctl" | "smartctl" => {
            !(prog == "smartctl" && has(args, &["-t", "--test", "-s", "--smart", "-o", "-S"]))
        }
        "mount" => args.is_empty() || has(args, &["-l", "--show-labels"]) && args.len() == 1,
        "wipefs" => !has(args, &["-a", "--all", "-o", "--offset"]) && !short(args, 'a'),
        "fdisk" | "sfdisk" => has(args, &["-l", "--list", "-d", "--dump", "-s"]),
        "parted" => {
            has(args, &["-l", "--list", "print"])
                && args.iter().all(|a| a != "rm" && !a.starts_with("mk"))
        }
        "sgdisk" => {
            has(args, &["-p", "--print", "-i", "--info", "-v", "--verify"]) && args.len() <= 3
        }
        _ => false,
    };
    match (prog, reads) {
        (_, true) => v(Read, "reads disk or log information"),
        ("mount", false) if mount_runs(args) => v(
            Exec,
            "mounts through a helper or a FUSE program it names, which runs as root",
        )
        .opaque(),
        ("mount", false) => mount_target(args),
        ("smartctl", false) => v(Modify, "changes SMART settings or starts a self-test"),
        _ => v(Destructive, "rewrites partition tables or wipes signatures"),
    }
}

/// `mount` options that run a program of the caller's choosing: a FUSE type (`fuse`,
/// `fuse.PROG`, `fuseblk`) runs the program it names, `helper=`/`uhelper=` and SSHFS's
/// `ssh_command=`/`sftp_server=` run theirs, and another fstab (`-T`) can hold any of them.
fn mount_runs(args: &[String]) -> bool {
    let mut k = 0;
    while k < args.len() {
        let a = args[k].as_str();
        let value = |opt: &str| -> Option<String> {
            if a == opt {
                args.get(k + 1).cloned()
            } else {
                a.strip_prefix(opt)
                    .map(|v| v.trim_start_matches('=').to_string())
                    .filter(|v| !v.is_empty())
            }
        };
        if let Some(t) = value("-t").or_else(|| value("--types"))
            && t.split(',').any(|t| t.trim().starts_with("fuse"))
        {
            return true;
        }
        if let Some(o) = value("-o").or_else(|| value("--options")) {
            let runs = o.split(',').any(|o| {
                let key = o
                    .split('=')
                    .next()
                    .unwrap_or("")
                    .trim()
                    .to_ascii_lowercase();
                matches!(
                    key.as_str(),
                    "helper" | "uhelper" | "ssh_command" | "sftp_server" | "ssh_cmd"
                )
            });
            if runs {
                return true;
            }
        }
        if a == "-T" || a.starts_with("--fstab") || a.contains('#') {
            return true;
        }
        k += 1;
    }
    false
}

/// Mount points the node cannot run, be reached or hold its guests without: unmounting one,
/// mounting something over it or making it read-only breaks the node.
const VITAL_MOUNTS: &[&str] = &[
    "/",
    "/etc",
    "/etc/pve",
    "/var",
    "/var/lib/vz",
    "/usr",
    "/boot",
    "/boot/efi",
    "/proc",
    "/sys",
    "/sys/fs/cgroup",
    "/dev",
    "/dev/pts",
    "/run",
];

/// A path operand as the mount table names it (`//etc/pve/` is `/etc/pve`).
fn mount_point(a: &str) -> Option<String> {
    a.starts_with('/').then(|| normalize(a, None)).flatten()
}

/// `mount` options that take a separate value.
const MOUNT_VALUE_OPTS: &[&str] = &[
    "-o",
    "--options",
    "-t",
    "--types",
    "-L",
    "--label",
    "-U",
    "--uuid",
    "-O",
    "--test-opts",
    "-N",
    "--namespace",
    "--options-mode",
    "--options-source",
    "--source",
    "--target",
    "--target-prefix",
    "--map-users",
    "--map-groups",
];

/// What a `mount` that runs no helper does, by its target: over a tree that holds code that
/// runs later (`/usr`, `/etc`, `/root`, `/etc/cron.d`…) it replaces that code, Exec; over a
/// mount point the node needs or anything inside `/etc/pve`, or remounting one read-only, it
/// breaks the node, Destructive; moving such a mount away is Destructive too. Anything else is
/// Modify.
fn mount_target(args: &[String]) -> Verdict {
    let mut operands: Vec<&str> = Vec::new();
    let mut options: Vec<String> = Vec::new();
    let mut target: Option<&str> = None;
    let mut k = 0;
    while k < args.len() {
        let a = args[k].as_str();
        k += 1;
        if MOUNT_VALUE_OPTS.contains(&a) {
            let value = args.get(k).map(String::as_str).unwrap_or("");
            k += 1;
            match a {
                "-o" | "--options" => options.push(value.to_string()),
                "--target" => target = Some(value),
                _ => {}
            }
        } else if let Some(value) = a.strip_prefix("--options=") {
            options.push(value.to_string());
        } else if let Some(value) = a.strip_prefix("--target=") {
            target = Some(value);
        } else if let Some(value) = a.strip_prefix("-o").filter(|v| !v.is_empty()) {
            options.push(value.trim_start_matches('=').to_string());
        } else if !a.starts_with('-') {
            operands.push(a);
        }
    }
    let opts: Vec<String> = options
        .iter()
        .flat_map(|o| o.split(','))
        .map(|o| o.trim().to_ascii_lowercase())
        .collect();
    let remount = opts.iter().any(|o| o == "remount");
    let read_only =
        opts.iter().any(|o| o == "ro") || short(args, 'r') || long_opt(args, &["read-only"], &[]);
    let moves = has(args, &["--move"]) || short(args, 'M');
    let target = target
        .or(operands.last().copied())
        .and_then(mount_point)
        .unwrap_or_default();
    // Anything mounted inside the cluster file system shadows part of the cluster's state.
    let vital = |p: &str| VITAL_MOUNTS.contains(&p) || p.starts_with("/etc/pve/");
    if moves
        && operands
            .iter()
            .filter_map(|o| mount_point(o))
            .any(|p| vital(&p))
    {
        return v(
            Destructive,
            "moves a mount the node needs away from its place",
        );
    }
    if remount {
        return if read_only && vital(&target) {
            v(
                Destructive,
                &format!("remounts {target} read-only, which stops the node writing its state"),
            )
        } else {
            v(Modify, "changes a mount's options")
        };
    }
    if !target.is_empty() && holds_persistence(&target) {
        return v(
            Exec,
            &format!(
                "mounts over {target}, replacing programs or configuration that run later \
                 (persistence)"
            ),
        );
    }
    if vital(&target) {
        return v(
            Destructive,
            &format!("mounts over {target}, hiding what the node needs there"),
        );
    }
    v(Modify, "mounts a file system")
}

/// `umount`: lazy, forced or all-at-once unmounts, and unmounting a mount point the node
/// needs (or the cluster file system's `/dev/fuse`), break the node: Destructive.
pub(super) fn umount(args: &[String]) -> Verdict {
    let flags = short(args, 'l')
        || short(args, 'f')
        || short(args, 'a')
        || short(args, 'A')
        || long_opt(args, &["lazy", "force", "all", "all-targets"], &[]);
    let vital = args.iter().filter(|a| !a.starts_with('-')).find(|a| {
        mount_point(a).is_some_and(|p| {
            VITAL_MOUNTS.contains(&p.as_str())
                || matches!(
                    p.as_str(),
                    "/dev/fuse" | "/dev/pve/root" | "/dev/mapper/pve-root"
                )
        })
    });
    if let Some(p) = vital {
        v(
            Destructive,
            &format!("unmounts {p}, which the node needs to run or to hold its guests"),
        )
    } else if flags {
        v(
            Destructive,
            "unmounts lazily, by force or everything at once, which can pull storage from under \
             the node or its guests",
        )
    } else {
        v(Lifecycle, "unmounts a file system")
    }
}
