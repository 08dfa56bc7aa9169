//! Packages: `apt`, `apt-get`, `aptitude` and `dpkg`, by what they do: queries read, removals
//! destroy, package files and hooks run code as root.

use super::{Verdict, has, long_opt, v};
use crate::policy::Class::{Destructive, Exec, Modify, Read};

/// `apt`, `apt-get`, `aptitude`: options or a configuration file can add hooks (Exec, opaque),
/// a local package file runs its maintainer scripts (Exec); otherwise by subcommand (`s0`).
pub(super) fn apt(s0: &str, args: &[String]) -> Verdict {
    if long_opt(args, &["option", "config-file"], &[])
        || args
            .iter()
            .any(|a| !a.starts_with("--") && a.starts_with('-') && a[1..].contains(['o', 'c']))
    {
        v(
            Exec,
            "sets apt options or a configuration file, which can add hooks that run commands",
        )
        .opaque()
    } else if matches!(s0, "install" | "reinstall")
        && args
            .iter()
            .any(|a| !a.starts_with('-') && (a.ends_with(".deb") || a.contains('/')))
    {
        v(
            Exec,
            "installs a local package file, whose maintainer scripts run as root",
        )
    } else {
        match s0 {
            "list" | "show" | "search" | "policy" | "depends" | "rdepends" | "changelog"
            | "showsrc" | "" => v(Read, "queries packages"),
            "remove" | "purge" | "autoremove" | "autopurge" | "clean" | "autoclean" => {
                v(Destructive, "removes packages")
            }
            _ if has(args, &["-s", "--simulate", "--dry-run"]) => {
                v(Read, "simulates a package change")
            }
            _ => v(Modify, "installs or upgrades packages"),
        }
    }
}

/// `dpkg`: hook commands (Exec, opaque), installing a package file (Exec: its maintainer
/// scripts run as root), queries, removals, and anything else that installs or configures.
pub(super) fn dpkg(args: &[String]) -> Verdict {
    if long_opt(args, &["pre-invoke", "post-invoke"], &[]) {
        v(Exec, "dpkg runs the hook commands it is given").opaque()
    } else if has(args, &["-i", "--install", "--unpack"])
        || args
            .iter()
            .any(|a| !a.starts_with("--") && a.starts_with('-') && a.contains('i'))
    {
        v(
            Exec,
            "installs a package file, whose maintainer scripts run as root",
        )
    } else if has(
        args,
        &[
            "-l",
            "-L",
            "-S",
            "-s",
            "--status",
            "--list",
            "--listfiles",
            "--search",
            "--get-selections",
            "--print-architecture",
        ],
    ) {
        v(Read, "queries packages")
    } else if has(args, &["-r", "-P", "--remove", "--purge"]) {
        v(Destructive, "removes packages")
    } else {
        v(Modify, "installs or configures packages")
    }
}
