//! Kernel settings (`sysctl`) and the clock (`date`, `timedatectl`, `chronyc`, `hwclock`): what
//! runs a program as root, and what breaks the node or the cluster's quorum.

use super::{Verdict, has, short, v};
use crate::policy::Class::{self, Destructive, Exec, Modify, Read};
use crate::policy::command::paths::glob_match;
use crate::policy::command::paths::normalize;

/// Whether `date` sets the clock: `-s`/`--set` (any abbreviation, any spelling of its value)
/// or a time operand (`MMDDhhmm[[CC]YY][.ss]`; a `+FORMAT` only formats).
pub(super) fn date_sets(args: &[String]) -> bool {
    let mut k = 0;
    let mut options = true;
    while k < args.len() {
        let a = args[k].as_str();
        k += 1;
        if options && a == "--" {
            options = false;
        } else if options && let Some(long) = a.strip_prefix("--") {
            let name = long.split('=').next().unwrap_or("");
            if !name.is_empty() && "set".starts_with(name) {
                return true;
            }
            let valued = ["date", "file", "reference", "resolution"]
                .iter()
                .any(|o| name.len() >= 2 && o.starts_with(name));
            if valued && !long.contains('=') {
                k += 1;
            }
        } else if options && a.len() > 1 && a.starts_with('-') {
            for (i, c) in a[1..].char_indices() {
                match c {
                    's' => return true,
                    'd' | 'f' | 'r' => {
                        if i + 2 == a.len() {
                            k += 1;
                        }
                        break;
                    }
                    // `-I[FMT]`: the rest is its optional value.
                    'I' => break,
                    _ => {}
                }
            }
        } else if !a.starts_with('+') {
            return true;
        }
    }
    false
}

/// `timedatectl set-time`, `chronyc settime`, or `timedatectl set-ntp` off: the clock is set
/// by hand or left to drift.
pub(super) fn clock_by_hand(args: &[String]) -> bool {
    args.iter().any(|a| a == "set-time" || a == "settime")
        || args.windows(2).any(|w| {
            let off = w[1].to_ascii_lowercase();
            w[0] == "set-ntp" && matches!(off.as_str(), "false" | "0" | "no" | "off")
        })
}

/// `hwclock`: setting the system clock from the hardware clock (or its time scale) jumps it,
/// `--set` puts a chosen time in the hardware clock for the next boot: Destructive. Copying the
/// system time to the hardware clock or adjusting its drift is Modify; showing it is a read.
pub(super) fn hwclock(args: &[String]) -> Verdict {
    let any = |long: &[&str], c: Option<char>| has(args, long) || c.is_some_and(|c| short(args, c));
    if any(&["--hctosys", "--systz", "--set"], Some('s')) {
        v(
            Destructive,
            "sets the system clock or the hardware clock: a jump breaks cluster quorum, \
             certificates and tickets",
        )
    } else if any(&["--systohc", "--adjust"], Some('w')) || short(args, 'a') {
        v(Modify, "copies the system time to the hardware clock")
    } else if args.is_empty()
        || any(
            &["--show", "--get", "--version", "--help", "--test"],
            Some('r'),
        )
    {
        v(Read, "shows the hardware clock")
    } else {
        v(Destructive, "changes the clock")
    }
}

/// Kernel settings that name a program the kernel runs as root.
const SYSCTL_PROGRAMS: &[&str] = &[
    "kernel.core_pattern",
    "kernel.modprobe",
    "kernel.hotplug",
    "kernel.poweroff_cmd",
    "fs.binfmt_misc.register",
];

/// The class of writing one kernel setting: one that names a program the kernel runs is Exec,
/// a network setting Modify, anything else (`kernel.`, `vm.`, `fs.`…: panics, the OOM killer,
/// memory overcommit) Destructive.
fn sysctl_key(key: &str) -> Class {
    let key = key
        .trim()
        .trim_start_matches('-')
        .replace('/', ".")
        .to_ascii_lowercase();
    if SYSCTL_PROGRAMS
        .iter()
        .any(|p| glob_match(&key, p) || key.starts_with(&format!("{p}.")))
        || key.starts_with("fs.binfmt_misc")
    {
        Exec
    } else if key.starts_with("net.") {
        Modify
    } else {
        Destructive
    }
}

/// Configuration files `sysctl --system` reads (and only an Exec-gated write changes).
fn sysctl_system_file(path: &str) -> bool {
    normalize(path, None).is_some_and(|p| {
        p == "/etc/sysctl.conf"
            || [
                "/etc/sysctl.d/",
                "/run/sysctl.d/",
                "/usr/lib/sysctl.d/",
                "/lib/sysctl.d/",
                "/usr/local/lib/sysctl.d/",
            ]
            .iter()
            .any(|d| p.starts_with(d))
    })
}

/// `sysctl` writes: `-w`/`name=value` by key ([`sysctl_key`]); loading the system's own files
/// (`-p` alone, `--system`) is Destructive; loading any other file (or standard input) may set
/// `kernel.core_pattern` to a program, Exec.
pub(super) fn sysctl(args: &[String]) -> Verdict {
    let mut load = false;
    let mut files: Vec<&str> = Vec::new();
    let mut system = false;
    let mut keys: Vec<&str> = Vec::new();
    let mut k = 0;
    while k < args.len() {
        let a = args[k].as_str();
        k += 1;
        if let Some(long) = a.strip_prefix("--") {
            let (name, value) = long.split_once('=').unwrap_or((long, ""));
            if name.len() >= 2 && "system".starts_with(name) {
                system = true;
            } else if name.len() >= 2 && "load".starts_with(name) {
                load = true;
                if !value.is_empty() {
                    files.push(value);
                }
            } else if name == "pattern" && !long.contains('=') {
                k += 1;
            }
        } else if a.len() > 1 && a.starts_with('-') {
            for (i, c) in a[1..].char_indices() {
                match c {
                    'p' | 'f' => {
                        load = true;
                        let rest = &a[i + 2..];
                        if !rest.is_empty() {
                            files.push(rest.trim_start_matches('='));
                        }
                        break;
                    }
                    'r' => {
                        if i + 2 == a.len() {
                            k += 1;
                        }
                        break;
                    }
                    _ => {}
                }
            }
        } else if load {
            files.push(a);
        } else if a.contains('=') {
            keys.push(a.split('=').next().unwrap_or(""));
        }
    }
    if load && files.iter().any(|f| !sysctl_system_file(f)) {
        return v(
            Exec,
            "loads kernel settings from a file or standard input, which may set a program the \
             kernel runs as root (core_pattern, modprobe)",
        );
    }
    let mut verdict = if load || system {
        v(
            Destructive,
            "applies the system's kernel settings files, which can change how the node panics, \
             swaps or kills processes",
        )
    } else {
        v(Read, "reads kernel settings")
    };
    for key in keys {
        let class = sysctl_key(key);
        if class > verdict.class || verdict.class == Read {
            let what = match class {
                Exec => format!("sets {key}, a program the kernel runs as root"),
                Modify => format!("changes the network setting {key}"),
                _ => format!(
                    "changes the kernel setting {key}, which can hang, panic or cut off the node"
                ),
            };
            verdict = v(class, &what);
        }
    }
    verdict
}
