//! Read-only use of the Proxmox VE tools: `qm`, `pct`, `pvesh get` and friends. Their options
//! are whole words after one or two dashes (`-full`, `--full`). `qm guest exec` and
//! `pct exec` are reads when the command they run inside the guest is one: the proof names it
//! as an inner command. `pvesh get` is a read when the API call it makes is one. `pveperf`
//! is not here: it writes test files.

use super::{Inner, NONE, Operands, Opts, Parsed, Reader, Sub, parse, parse_head};
use crate::policy::Class;
use crate::policy::api::{classify_api_call, cli_options};
use crate::policy::command::walk::Arg;

/// The table formatting options of the Proxmox tools.
const FORMAT_LONG: &[&str] = &["noborder", "noheader", "human-readable", "help"];
const FORMAT: Opts = Opts {
    long: FORMAT_LONG,
    long_valued: &["output-format"],
    words: true,
    ..NONE
};
/// No options at all but `--help`.
const PLAIN: Opts = Opts {
    long: &["help"],
    words: true,
    ..NONE
};
const VERBOSE: Opts = Opts {
    long: &["help"],
    long_optional: &["verbose"],
    words: true,
    ..NONE
};

/// The guest agent commands that only read.
const AGENT_READS: &[&str] = &[
    "ping",
    "info",
    "get-fsinfo",
    "get-host-name",
    "get-memory-block-info",
    "get-memory-blocks",
    "get-osinfo",
    "get-time",
    "get-timezone",
    "get-users",
    "get-vcpus",
    "network-get-interfaces",
    "fsfreeze-status",
];

const fn cmd(words: &'static [&'static str], opts: Opts, operands: usize) -> Sub {
    Sub {
        words,
        opts,
        operands: Operands::AtMost(operands),
    }
}

const fn custom(
    words: &'static [&'static str],
    opts: Opts,
    check: fn(&Parsed, &[Arg]) -> Inner,
) -> Sub {
    Sub {
        words,
        opts,
        operands: Operands::Custom(check),
    }
}

const CONFIG: Opts = Opts {
    long: &["help"],
    long_valued: &["snapshot"],
    long_optional: &["current"],
    words: true,
    ..NONE
};
const HELP: Opts = Opts {
    long: &["help"],
    long_optional: &["verbose"],
    words: true,
    ..NONE
};

pub(in crate::policy::command) static READERS: &[Reader] = &[
    Reader {
        names: &["qm"],
        what: "shows virtual machine state",
        opts: NONE,
        operands: Operands::Subs(&[
            cmd(
                &["list"],
                Opts {
                    long: FORMAT_LONG,
                    long_valued: &["output-format"],
                    long_optional: &["full"],
                    words: true,
                    ..NONE
                },
                0,
            ),
            cmd(&["status"], VERBOSE, 1),
            cmd(&["config"], CONFIG, 1),
            cmd(&["pending"], FORMAT, 1),
            cmd(
                &["showcmd"],
                Opts {
                    long: &["help"],
                    long_valued: &["snapshot"],
                    long_optional: &["pretty"],
                    words: true,
                    ..NONE
                },
                1,
            ),
            cmd(&["listsnapshot"], PLAIN, 1),
            custom(&["cloudinit", "dump"], PLAIN, cloudinit_dump),
            cmd(&["cloudinit", "pending"], PLAIN, 1),
            custom(&["guest", "cmd"], PLAIN, agent_command),
            custom(&["agent"], PLAIN, agent_command),
            // `guest exec-status` is not here: it hands out (and uses up) the output of a
            // command run in the guest, as `GET …/agent/exec-status` does through the API.
            custom(
                &["guest", "exec"],
                Opts {
                    long: &["help"],
                    long_valued: &["timeout", "synchronous", "pass-stdin"],
                    words: true,
                    ..NONE
                },
                guest_exec,
            ),
            cmd(
                &["wait"],
                Opts {
                    long: &["help"],
                    long_valued: &["timeout"],
                    words: true,
                    ..NONE
                },
                1,
            ),
            cmd(&["help"], HELP, 2),
        ]),
    },
    Reader {
        names: &["pct"],
        what: "shows container state",
        opts: NONE,
        operands: Operands::Subs(&[
            cmd(&["list"], FORMAT, 0),
            cmd(&["status"], VERBOSE, 1),
            cmd(&["config"], CONFIG, 1),
            cmd(&["pending"], FORMAT, 1),
            cmd(&["listsnapshot"], PLAIN, 1),
            cmd(&["df"], PLAIN, 1),
            cmd(&["cpusets"], PLAIN, 0),
            custom(
                &["exec"],
                Opts {
                    long: &["help"],
                    long_valued: &["keep-env"],
                    words: true,
                    ..NONE
                },
                guest_exec,
            ),
            cmd(&["help"], HELP, 2),
        ]),
    },
    Reader {
        names: &["pvesh"],
        what: "reads the Proxmox API",
        opts: NONE,
        operands: Operands::Raw(pvesh),
    },
    Reader {
        names: &["pveversion"],
        what: "shows Proxmox VE versions",
        opts: Opts {
            flags: "v",
            long: &["verbose", "help"],
            ..NONE
        },
        operands: Operands::NoneAllowed,
    },
    Reader {
        names: &["pvecm"],
        what: "shows cluster membership",
        opts: NONE,
        operands: Operands::Subs(&[
            cmd(&["status"], PLAIN, 0),
            cmd(&["nodes"], PLAIN, 0),
            cmd(&["help"], HELP, 2),
        ]),
    },
    Reader {
        // No scan of other hosts (`nfs`, `cifs`, `iscsi`, `pbs`, `glusterfs`).
        names: &["pvesm"],
        what: "shows storage state",
        opts: NONE,
        operands: Operands::Subs(&[
            cmd(
                &["status"],
                Opts {
                    long: FORMAT_LONG,
                    long_valued: &["output-format", "storage", "content", "target"],
                    long_optional: &["enabled", "format"],
                    words: true,
                    ..NONE
                },
                0,
            ),
            cmd(
                &["list"],
                Opts {
                    long: FORMAT_LONG,
                    long_valued: &["output-format", "content", "vmid"],
                    words: true,
                    ..NONE
                },
                1,
            ),
            cmd(&["path"], PLAIN, 1),
            cmd(&["scan", "lvm"], FORMAT, 0),
            cmd(&["scan", "lvmthin"], FORMAT, 1),
            cmd(&["scan", "zfs"], FORMAT, 0),
            cmd(&["help"], HELP, 2),
        ]),
    },
    Reader {
        names: &["ha-manager"],
        what: "shows HA state",
        opts: NONE,
        operands: Operands::Subs(&[
            cmd(&["status"], VERBOSE, 0),
            cmd(
                &["config"],
                Opts {
                    long: FORMAT_LONG,
                    long_valued: &["output-format", "type"],
                    words: true,
                    ..NONE
                },
                0,
            ),
            cmd(&["groupconfig"], FORMAT, 0),
            cmd(&["rules", "config"], FORMAT, 0),
            cmd(&["help"], HELP, 2),
        ]),
    },
    Reader {
        names: &["pvenode"],
        what: "shows node tasks and configuration",
        opts: NONE,
        operands: Operands::Subs(&[
            cmd(
                &["task", "list"],
                Opts {
                    long: FORMAT_LONG,
                    long_valued: &[
                        "output-format",
                        "limit",
                        "source",
                        "start",
                        "since",
                        "until",
                        "statusfilter",
                        "typefilter",
                        "userfilter",
                        "vmid",
                    ],
                    long_optional: &["errors"],
                    words: true,
                    ..NONE
                },
                0,
            ),
            cmd(
                &["task", "log"],
                Opts {
                    long: &["help"],
                    long_valued: &["start"],
                    words: true,
                    ..NONE
                },
                1,
            ),
            cmd(&["task", "status"], FORMAT, 1),
            cmd(
                &["config", "get"],
                Opts {
                    long: &["help"],
                    long_valued: &["property"],
                    words: true,
                    ..NONE
                },
                0,
            ),
            cmd(&["cert", "info"], FORMAT, 0),
            cmd(&["help"], HELP, 2),
        ]),
    },
    Reader {
        names: &["pvesubscription"],
        what: "shows the subscription",
        opts: NONE,
        operands: Operands::Subs(&[cmd(&["get"], FORMAT, 0), cmd(&["help"], HELP, 2)]),
    },
    Reader {
        names: &["pveam"],
        what: "lists appliance templates",
        opts: NONE,
        operands: Operands::Subs(&[
            cmd(
                &["list"],
                Opts {
                    long: FORMAT_LONG,
                    long_valued: &["output-format", "content"],
                    words: true,
                    ..NONE
                },
                1,
            ),
            cmd(
                &["available"],
                Opts {
                    long: FORMAT_LONG,
                    long_valued: &["output-format", "section"],
                    words: true,
                    ..NONE
                },
                0,
            ),
            cmd(&["help"], HELP, 2),
        ]),
    },
    Reader {
        names: &["pvesr"],
        what: "shows storage replication",
        opts: NONE,
        operands: Operands::Subs(&[
            cmd(&["list"], FORMAT, 0),
            cmd(
                &["status"],
                Opts {
                    long: FORMAT_LONG,
                    long_valued: &["output-format", "guest"],
                    words: true,
                    ..NONE
                },
                0,
            ),
            cmd(&["read"], FORMAT, 1),
            cmd(&["help"], HELP, 2),
        ]),
    },
    Reader {
        names: &["pve-firewall"],
        what: "shows firewall state",
        opts: NONE,
        operands: Operands::Subs(&[
            cmd(&["status"], PLAIN, 0),
            cmd(&["compile"], PLAIN, 0),
            cmd(&["localnet"], PLAIN, 0),
            cmd(
                &["simulate"],
                Opts {
                    long: &["help"],
                    long_valued: &["from", "to", "protocol", "source", "dest", "dport", "sport"],
                    long_optional: &["verbose"],
                    words: true,
                    ..NONE
                },
                0,
            ),
            cmd(&["help"], HELP, 2),
        ]),
    },
    Reader {
        names: &["pveceph"],
        what: "shows Ceph state",
        opts: NONE,
        operands: Operands::Subs(&[cmd(&["status"], PLAIN, 0), cmd(&["help"], HELP, 2)]),
    },
    Reader {
        names: &["pvereport"],
        what: "prints a system report",
        opts: PLAIN,
        operands: Operands::NoneAllowed,
    },
    Reader {
        names: &["pveum"],
        what: "shows users, groups, roles and ACLs",
        opts: NONE,
        operands: Operands::Subs(&[
            cmd(
                &["user", "list"],
                Opts {
                    long: FORMAT_LONG,
                    long_valued: &["output-format"],
                    long_optional: &["enabled", "full"],
                    words: true,
                    ..NONE
                },
                0,
            ),
            cmd(
                &["user", "permissions"],
                Opts {
                    long: FORMAT_LONG,
                    long_valued: &["output-format", "path"],
                    words: true,
                    ..NONE
                },
                1,
            ),
            cmd(&["user", "token", "list"], FORMAT, 1),
            cmd(
                &["user", "token", "permissions"],
                Opts {
                    long: FORMAT_LONG,
                    long_valued: &["output-format", "path"],
                    words: true,
                    ..NONE
                },
                2,
            ),
            cmd(&["acl", "list"], FORMAT, 0),
            cmd(&["group", "list"], FORMAT, 0),
            cmd(&["role", "list"], FORMAT, 0),
            cmd(&["pool", "list"], FORMAT, 0),
            cmd(&["realm", "list"], FORMAT, 0),
            cmd(&["help"], HELP, 3),
        ]),
    },
    Reader {
        names: &["proxmox-boot-tool"],
        what: "shows the boot configuration",
        opts: NONE,
        operands: Operands::Subs(&[
            cmd(
                &["status"],
                Opts {
                    long: &["quiet", "help"],
                    words: true,
                    ..NONE
                },
                0,
            ),
            cmd(&["kernel", "list"], PLAIN, 0),
            cmd(&["help"], PLAIN, 0),
        ]),
    },
    Reader {
        // No `-R` (reload), `-k`, `-H` (shutdown) or `-r`.
        names: &["corosync-cfgtool"],
        what: "shows corosync link status",
        opts: Opts {
            flags: "snbh",
            valued: "ai",
            ..NONE
        },
        operands: Operands::Custom(corosync),
    },
    Reader {
        // No `-e` (expected votes) or `-v` (votes).
        names: &["corosync-quorumtool"],
        what: "shows quorum status",
        opts: Opts {
            flags: "slpaHiVh",
            valued: "o",
            ..NONE
        },
        operands: Operands::Custom(corosync),
    },
];

/// The corosync tools: showing options only, no operand.
fn corosync(p: &Parsed, _: &[Arg]) -> Inner {
    if p.opts.is_empty() || !p.operands.is_empty() {
        return Err("the corosync tool needs a showing option and no operand".into());
    }
    Ok(None)
}

/// `qm cloudinit dump VMID user|network|meta`.
fn cloudinit_dump(p: &Parsed, _: &[Arg]) -> Inner {
    match p.exact()?.as_slice() {
        [_, "user" | "network" | "meta"] => Ok(None),
        _ => Err("`qm cloudinit dump` takes a VM and user, network or meta".into()),
    }
}

/// `qm guest cmd VMID COMMAND` / `qm agent VMID COMMAND` for the agent commands that read.
fn agent_command(p: &Parsed, _: &[Arg]) -> Inner {
    match p.exact()?.as_slice() {
        [_, command] if AGENT_READS.contains(command) => Ok(None),
        [_, command] => Err(format!(
            "the guest agent command `{command}` changes the guest"
        )),
        _ => Err("`qm guest cmd` takes a VM and a command".into()),
    }
}

/// `qm guest exec VMID [--timeout N] [--synchronous 0|1] [--pass-stdin 0] -- argv…` and
/// `pct exec VMID [--keep-env 0|1] -- argv…`: the argv is an inner command. Without `--`,
/// the command starts after the VMID and may hold no word starting with `-` (the tool would
/// take it for one of its own options).
fn guest_exec(p: &Parsed, args: &[Arg]) -> Inner {
    if p.values("pass-stdin").any(|v| v != "0") {
        return Err("`--pass-stdin` feeds input to the guest command".into());
    }
    let split = args.iter().position(|a| a.text == "--");
    let (head, start) = match split {
        Some(k) => (&args[..k], k + 1),
        None => {
            let vmid = p.operands.first().map_or(args.len(), |(k, _)| *k);
            (&args[..(vmid + 1).min(args.len())], vmid + 1)
        }
    };
    let opts = Opts {
        long: &["help"],
        long_valued: &["timeout", "synchronous", "pass-stdin", "keep-env"],
        words: true,
        ..NONE
    };
    let head = parse(head, &opts)?;
    if head.exact()?.len() != 1 {
        return Err("the guest command must follow the VMID (after `--`)".into());
    }
    if start >= args.len() {
        return Err("no command to run in the guest".into());
    }
    if split.is_none() && args[start..].iter().any(|a| a.text.starts_with('-')) {
        return Err("without `--`, an option of the guest command is read by the tool".into());
    }
    Ok(Some(start..args.len()))
}

/// `pvesh get|ls PATH [options] [-param value…]`: a read when the API call is one
/// (classified with its parameters); `pvesh usage PATH` and `pvesh help` only document.
fn pvesh(args: &[Arg]) -> Inner {
    let Some((verb, rest)) = args.split_first() else {
        return Err("`pvesh` without a command is an interactive shell".into());
    };
    match verb.text.as_str() {
        "usage" => {
            let opts = Opts {
                long: &["verbose", "returns", "help"],
                long_valued: &["command"],
                words: true,
                ..NONE
            };
            let p = parse(rest, &opts)?;
            if p.exact()?.len() != 1 {
                return Err("`pvesh usage` takes one path".into());
            }
            Ok(None)
        }
        "help" => Ok(None),
        "get" | "ls" => {
            let (_, k) = parse_head(rest, &NONE)?;
            let Some(path) = rest.get(k).filter(|a| !a.glob) else {
                return Err("`pvesh get` needs a literal path".into());
            };
            if rest[k + 1..].iter().any(|a| a.glob) {
                return Err("a glob among the API parameters".into());
            }
            let params: Vec<String> = rest[k + 1..].iter().map(|a| a.text.clone()).collect();
            match classify_api_call("GET", &path.text, &cli_options(&params)) {
                Class::Read => Ok(None),
                _ => Err(format!(
                    "`GET {}` reveals or runs more than state",
                    path.text
                )),
            }
        }
        other => Err(format!("`pvesh {other}` changes state")),
    }
}
