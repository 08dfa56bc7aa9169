//! Commands whose class depends on their options: disks, networking, systemd, awk, sed, find,
//! curl and a few storage tools.

use super::knowledge::{Verdict, first, has, short, v};
use crate::policy::Class::{Destructive, Exec, Lifecycle, Modify, Read};

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
        ("mount", false) => v(Modify, "mounts a file system"),
        ("smartctl", false) => v(Modify, "changes SMART settings or starts a self-test"),
        _ => v(Destructive, "rewrites partition tables or wipes signatures"),
    }
}

pub(super) fn ip(args: &[String]) -> Verdict {
    let words: Vec<&str> = args
        .iter()
        .filter(|a| !a.starts_with('-'))
        .map(String::as_str)
        .collect();
    let verb = words.get(1).copied().unwrap_or("show");
    if matches!(
        verb,
        "show" | "list" | "ls" | "get" | "lst" | "sh" | "s" | "l"
    ) || words.len() <= 1
    {
        v(Read, "shows network configuration")
    } else if matches!(verb, "del" | "delete" | "flush" | "d") {
        v(Destructive, "deletes network configuration")
    } else if words.first() == Some(&"netns") && verb == "exec" {
        v(Exec, "runs a command in a network namespace")
    } else {
        v(Modify, "changes network configuration")
    }
}

/// Units that reboot, halt or isolate the node when started.
const POWER_TARGETS: &[&str] = &[
    "reboot.target",
    "poweroff.target",
    "halt.target",
    "kexec.target",
    "shutdown.target",
    "rescue.target",
    "emergency.target",
    "ctrl-alt-del.target",
    "soft-reboot.target",
    "sleep.target",
    "suspend.target",
    "hibernate.target",
];

pub(super) fn systemctl(args: &[String]) -> Verdict {
    let verb = first(args);
    let starts = matches!(
        verb,
        "start" | "restart" | "reload-or-restart" | "try-restart" | "isolate"
    );
    if starts
        && args
            .iter()
            .any(|a| POWER_TARGETS.contains(&a.trim_end_matches('/')))
    {
        return v(Destructive, "reboots, halts or isolates the node");
    }
    match verb {
        "" | "status" | "is-active" | "is-enabled" | "is-failed" | "is-system-running"
        | "list-units" | "list-unit-files" | "list-timers" | "list-sockets"
        | "list-dependencies" | "list-jobs" | "show" | "cat" | "get-default" | "help" => {
            v(Read, "shows service state")
        }
        "start"
        | "stop"
        | "restart"
        | "reload"
        | "try-restart"
        | "reload-or-restart"
        | "try-reload-or-restart"
        | "kill"
        | "reset-failed" => v(Lifecycle, "starts, stops or restarts services"),
        "reboot" | "poweroff" | "halt" | "kexec" | "isolate" | "rescue" | "emergency"
        | "suspend" | "hibernate" | "soft-reboot" => {
            v(Destructive, "reboots, halts or isolates the node")
        }
        _ => v(Modify, "changes unit configuration"),
    }
}

pub(super) fn firewall(args: &[String]) -> Verdict {
    if has(
        args,
        &[
            "-F",
            "--flush",
            "-X",
            "--delete-chain",
            "-D",
            "--delete",
            "-Z",
            "-P",
            "--policy",
        ],
    ) || args
        .iter()
        .any(|a| a.starts_with("-F") && a.len() <= 3 && !a.starts_with("--"))
    {
        v(Destructive, "flushes, deletes or re-polices firewall rules")
    } else if has(args, &["-L", "--list", "-S", "--list-rules"]) || short(args, 'L') {
        v(Read, "lists firewall rules")
    } else {
        v(Modify, "adds firewall rules")
    }
}

pub(super) fn awk(args: &[String]) -> Verdict {
    let prog = args
        .iter()
        .find(|a| !a.starts_with('-'))
        .map(String::as_str)
        .unwrap_or("");
    if prog.contains("system") || prog.contains("|") || prog.contains("getline") {
        v(Exec, "awk program runs commands")
    } else if prog.contains("> \"")
        || prog.contains(">\"")
        || prog.contains(">> ")
        || has(args, &["-i"])
    {
        v(Modify, "awk program writes files").writes()
    } else {
        v(Read, "filters text")
    }
}

pub(super) fn sed(args: &[String]) -> Verdict {
    let in_place = args.iter().any(|a| {
        a.starts_with("--in-place")
            || (a.starts_with('-') && !a.starts_with("--") && a[1..].contains('i'))
    });
    let script: String = args
        .iter()
        .filter(|a| !a.starts_with('-'))
        .take(1)
        .cloned()
        .collect();
    let command = script
        .trim_start()
        .trim_start_matches(|c: char| c.is_ascii_digit() || ",$~! ".contains(c));
    let execs = script.ends_with("/e") || script.contains("/e;") || command.starts_with('e');
    if execs {
        v(Exec, "sed script runs commands")
    } else if in_place {
        v(Modify, "edits files in place").writes()
    } else if script.contains(" w ") || script.contains("/w ") || script.starts_with("w ") {
        v(Modify, "sed script writes a file").writes()
    } else {
        v(Read, "filters text")
    }
}

pub(super) fn find(args: &[String]) -> Verdict {
    let mut verdict = v(Read, "searches files");
    let mut k = 0;
    while k < args.len() {
        match args[k].as_str() {
            "-delete" => {
                verdict = Verdict {
                    class: Destructive,
                    explanation: "deletes every file it finds".into(),
                    reversible: false,
                    writes: true,
                    recursive: true,
                    ..verdict
                }
            }
            "-exec" | "-execdir" | "-ok" | "-okdir" => {
                let end = (k + 1..args.len())
                    .find(|&j| args[j] == ";" || args[j] == "+")
                    .unwrap_or(args.len());
                verdict.inner.push(k + 1..end);
                verdict.recursive = true;
                k = end;
            }
            "-fprint" | "-fprintf" | "-fprint0" | "-fls" => {
                verdict.class = verdict.class.max(Modify);
                verdict.writes = true;
            }
            _ => {}
        }
        k += 1;
    }
    verdict
}

pub(super) fn curl(args: &[String]) -> Verdict {
    let method = args
        .iter()
        .position(|a| a == "-X" || a == "--request")
        .and_then(|k| args.get(k + 1));
    let method = method.map(|m| m.to_ascii_uppercase()).or_else(|| {
        args.iter().find_map(|a| {
            a.strip_prefix("-X")
                .or(a.strip_prefix("--request="))
                .filter(|m| !m.is_empty())
                .map(str::to_ascii_uppercase)
        })
    });
    let sends = args.iter().any(|a| {
        a.starts_with("-d")
            || a.starts_with("--data")
            || a.starts_with("-F")
            || a.starts_with("--form")
            || a == "-T"
            || a.starts_with("--upload")
            || a == "--json"
    });
    let writes = args.iter().any(|a| {
        matches!(
            a.as_str(),
            "-o" | "-O" | "--output" | "--remote-name" | "-J" | "--remote-name-all"
        ) || a.starts_with("--output=")
    });
    match method.as_deref() {
        Some("DELETE") => v(Destructive, "sends an HTTP DELETE").accounts(),
        Some(m) if m != "GET" && m != "HEAD" => {
            v(Modify, "sends a changing HTTP request").accounts()
        }
        _ if sends => v(Modify, "sends data in an HTTP request").accounts(),
        _ if writes => v(Modify, "downloads to a file").writes(),
        _ => v(Read, "fetches a URL to standard output"),
    }
}

pub(super) fn other(prog: &str, s0: &str, args: &[String]) -> Verdict {
    let read = match prog {
        "sysctl" => args
            .iter()
            .all(|a| !a.contains('=') && a != "-w" && a != "-p" && a != "--system"),
        "multipath" => has(args, &["-ll", "-l"]),
        "iscsiadm" => !has(args, &["-o", "--op", "--login", "--logout", "-l", "-u"]),
        "mdadm" => has(
            args,
            &["--detail", "-D", "--examine", "-E", "--query", "-Q"],
        ),
        "cryptsetup" => matches!(s0, "status" | "luksDump" | "isLuks" | "luksUUID"),
        "hdparm" => has(args, &["-I", "-i", "-t", "-T", "-g"]),
        "nvme" => matches!(
            s0,
            "list" | "smart-log" | "id-ctrl" | "id-ns" | "error-log" | "list-subsys"
        ),
        "qemu-img" => {
            matches!(s0, "info" | "check" | "compare" | "map" | "measure") && !has(args, &["-r"])
        }
        "ceph" => {
            matches!(s0, "status" | "health" | "df" | "versions" | "version")
                || has(args, &["-s", "--status", "-w", "--watch"])
                || args.iter().any(|a| {
                    matches!(
                        a.as_str(),
                        "ls" | "tree" | "dump" | "stat" | "df" | "get" | "status"
                    )
                })
        }
        "rbd" | "rados" => matches!(
            s0,
            "ls" | "list" | "info" | "du" | "df" | "lspools" | "status"
        ),
        "git" => matches!(
            s0,
            "status" | "log" | "diff" | "show" | "branch" | "remote" | "rev-parse" | "ls-files"
        ),
        "alias" => args.is_empty(),
        "trap" => args.len() <= 1,
        _ => false,
    };
    if read {
        return v(Read, "reads state, changes nothing");
    }
    let destroys = match prog {
        "mdadm" => has(
            args,
            &["--zero-superblock", "--remove", "--fail", "--stop", "-S"],
        ),
        "cryptsetup" => matches!(
            s0,
            "luksFormat" | "erase" | "luksErase" | "luksKillSlot" | "luksRemoveKey"
        ),
        "hdparm" => args
            .iter()
            .any(|a| a.starts_with("--security-erase") || a.starts_with("--trim-sector")),
        "nvme" => matches!(s0, "format" | "delete-ns" | "sanitize"),
        "qemu-img" => s0 == "snapshot" && has(args, &["-d"]),
        "ceph" | "rbd" | "rados" => args.iter().any(|a| {
            matches!(
                a.as_str(),
                "rm" | "remove" | "delete" | "purge" | "destroy" | "purge-snap" | "zap"
            )
        }),
        "git" => {
            matches!(s0, "clean" | "reset") || args.iter().any(|a| a == "--force" || a == "-f")
        }
        "ssh-copy-id" => false,
        _ => false,
    };
    match prog {
        _ if destroys => v(Destructive, "erases or removes storage or data"),
        "alias" => v(Read, "defines an alias (its body is classified separately)"),
        "trap" => v(
            Read,
            "sets a signal handler (its body is classified separately)",
        ),
        "ssh-copy-id" => v(
            Modify,
            "installs an SSH key into a remote account's authorized_keys",
        ),
        "umount" | "swapoff" | "swapon" => v(Lifecycle, "mounts, unmounts or toggles swap"),
        _ => v(Modify, &format!("`{prog}` changes system state")),
    }
}
