//! Files and archives: recursive permission changes over system trees, and the options of
//! `tar`, `scp` and `sftp` that run a program.

use super::{long_opt, short_values};

/// Top-level system trees: changing the mode or owner of everything below one cannot be
/// undone (the old modes are lost) and can lock everyone out.
const SYSTEM_TREES: &[&str] = &[
    "/",
    "/etc",
    "/usr",
    "/var",
    "/bin",
    "/sbin",
    "/lib",
    "/lib64",
    "/boot",
    "/root",
    "/home",
    "/opt",
    "/srv",
    "/dev",
    "/run",
    "/tmp",
    "/var/lib",
    "/var/log",
    "/var/lib/vz",
    "/usr/bin",
    "/usr/sbin",
    "/usr/lib",
    "/usr/local",
    "/etc/pve",
    "/etc/ssh",
];

/// `tar` options that run a program: a compressor (`-I`, `--use-compress-program`), a command
/// per file (`--to-command`), a checkpoint action, a volume script (`-F`, `--info-script`,
/// `--new-volume-script`) or a remote shell (`--rsh-command`, `--rmt-command`).
pub(super) fn tar_runs(args: &[String]) -> bool {
    let old_style = args.first().is_some_and(|a| {
        !a.starts_with('-') && a.chars().all(|c| c.is_ascii_alphabetic()) && a.contains(['I', 'F'])
    });
    old_style
        || args
            .iter()
            .any(|a| !a.starts_with("--") && a.starts_with('-') && a[1..].contains(['I', 'F']))
        || long_opt(
            args,
            &[
                "use-compress-program",
                "to-command",
                "checkpoint-action",
                "info-script",
                "new-volume-script",
                "rsh-command",
                "rmt-command",
            ],
            &["checkpoint"],
        )
}

/// `scp`/`sftp` options that run a program: `-S PROGRAM`, an SSH configuration file (`-F`), or
/// `-o` with a proxy, local or known-hosts command or a `Match exec`.
pub(super) fn scp_runs(args: &[String]) -> bool {
    args.iter()
        .any(|a| !a.starts_with("--") && a.starts_with('-') && a[1..].contains(['S', 'F', 'D']))
        || short_values(args, "-o").iter().any(|o| {
            let o = o.to_ascii_lowercase();
            ["proxycommand", "localcommand", "knownhostscommand", "match"]
                .iter()
                .any(|k| o.contains(k))
        })
}

/// The first absolute argument naming a top-level system tree.
pub(super) fn system_tree(args: &[String]) -> Option<String> {
    args.iter()
        .filter(|a| a.starts_with('/'))
        .filter_map(|a| super::super::paths::normalize(a, None))
        .find(|p| SYSTEM_TREES.contains(&p.as_str()))
}
