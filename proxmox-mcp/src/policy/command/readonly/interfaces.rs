//! Read-only network programs for interfaces, routes and sockets: `ip`, `bridge`, `ss`,
//! `netstat`, `arp`, `route`, `ethtool` and `networkctl`.

use super::{Inner, NONE, Operands, Opts, Parsed, Reader, verb};
use crate::policy::command::walk::Arg;

pub(in crate::policy::command) static READERS: &[Reader] = &[
    Reader {
        names: &["ip"],
        what: "shows network configuration",
        opts: NONE,
        operands: Operands::Raw(ip),
    },
    Reader {
        names: &["bridge"],
        what: "shows bridge configuration",
        opts: NONE,
        operands: Operands::Raw(bridge),
    },
    Reader {
        // No `-K`/`--kill` (closes sockets), `-D`/`--diag` (writes a file), `-N` (netns).
        names: &["ss"],
        what: "lists sockets",
        opts: Opts {
            flags: "hVHOnraloemipsEZzb460tudwxSMXTB",
            valued: "fAF",
            long: &[
                "help",
                "version",
                "no-header",
                "oneline",
                "numeric",
                "resolve",
                "all",
                "listening",
                "options",
                "extended",
                "memory",
                "processes",
                "threads",
                "info",
                "tos",
                "cgroup",
                "tipcinfo",
                "summary",
                "events",
                "context",
                "contexts",
                "bpf",
                "inet-sockopt",
                "ipv4",
                "ipv6",
                "packet",
                "tcp",
                "udp",
                "dccp",
                "raw",
                "unix",
                "sctp",
                "vsock",
                "xdp",
                "mptcp",
                "tipc",
                "bound-inactive",
            ],
            long_valued: &["family", "query", "socket", "filter"],
            ..NONE
        },
        operands: Operands::Any,
    },
    Reader {
        names: &["netstat"],
        what: "lists sockets, routes and interfaces",
        opts: Opts {
            flags: "rigsMaltnNepocuwxvWCF46Z",
            valued: "A",
            long: &[
                "route",
                "interfaces",
                "groups",
                "statistics",
                "masquerade",
                "verbose",
                "wide",
                "numeric",
                "numeric-hosts",
                "numeric-ports",
                "numeric-users",
                "symbolic",
                "extend",
                "programs",
                "timers",
                "continuous",
                "listening",
                "all",
                "fib",
                "cache",
                "tcp",
                "udp",
                "udplite",
                "raw",
                "unix",
                "inet",
                "inet6",
                "help",
                "version",
            ],
            long_valued: &["protocol"],
            ..NONE
        },
        operands: Operands::NoneAllowed,
    },
    Reader {
        // No `-d`, `-s` or `-f` (they change the ARP table).
        names: &["arp"],
        what: "shows the ARP table",
        opts: Opts {
            flags: "aenv",
            valued: "iHA",
            long: &["all", "numeric", "verbose", "help", "version"],
            long_valued: &["device", "hw-type"],
            ..NONE
        },
        operands: Operands::Any,
    },
    Reader {
        // No operands: `route add`/`route del` change the table.
        names: &["route"],
        what: "shows the routing table",
        opts: Opts {
            flags: "nveFC46h",
            valued: "A",
            long: &[
                "numeric", "extend", "verbose", "fib", "cache", "help", "version",
            ],
            ..NONE
        },
        operands: Operands::NoneAllowed,
    },
    Reader {
        names: &["ethtool"],
        what: "shows network interface settings",
        opts: NONE,
        operands: Operands::Raw(ethtool),
    },
    Reader {
        names: &["networkctl"],
        what: "shows network links",
        opts: Opts {
            flags: "aslh",
            valued: "n",
            long: &[
                "help",
                "version",
                "no-pager",
                "no-legend",
                "all",
                "stats",
                "full",
            ],
            long_valued: &["lines"],
            long_optional: &["json"],
            ..NONE
        },
        operands: Operands::Custom(networkctl),
    },
];

/// `ip [options] OBJECT [show|list|lst|get] …`: objects and commands as iproute2 matches them
/// (an object may be abbreviated, `ip a`), commands only spelled out, since a one-letter
/// command can be `set` for one object and `show` for another. `ip netns exec` and
/// `ip vrf exec` are wrappers handled elsewhere.
fn ip(args: &[Arg]) -> Inner {
    /// iproute2's object table, in its order: the first entry an abbreviation starts is it.
    const OBJECTS: &[&str] = &[
        "address",
        "addrlabel",
        "maddress",
        "route",
        "rule",
        "neighbor",
        "neighbour",
        "ntable",
        "ntbl",
        "link",
        "l2tp",
        "fou",
        "ila",
        "macsec",
        "tunnel",
        "tuntap",
        "tap",
        "token",
        "tcpmetrics",
        "tcp_metrics",
        "monitor",
        "xfrm",
        "mroute",
        "mrule",
        "netns",
        "netconf",
        "vrf",
        "sr",
        "nexthop",
        "mptcp",
        "ioam",
        "stats",
        "help",
    ];
    let k = global_options(
        args,
        &[
            "-s",
            "-stats",
            "-statistics",
            "-d",
            "-details",
            "-br",
            "-brief",
            "-j",
            "-json",
            "-p",
            "-pretty",
            "-4",
            "-6",
            "-0",
            "-c",
            "-color",
            "-o",
            "-oneline",
            "-h",
            "-human",
            "-human-readable",
            "-iec",
            "-r",
            "-resolve",
            "-t",
            "-timestamp",
            "-ts",
            "-tshort",
            "-N",
            "-Numeric",
            "-a",
            "-all",
            "-V",
            "-Version",
        ],
        &["-f", "-family"],
        &["-c=", "-color="],
    )?;
    let Some(obj) = args.get(k) else {
        return Err("`ip` without an object".into());
    };
    if obj.glob {
        return Err(format!("`{}` is a glob", obj.text));
    }
    let Some(&object) = OBJECTS.iter().find(|o| o.starts_with(obj.text.as_str())) else {
        return Err(format!("`ip {}` is not known to be read-only", obj.text));
    };
    let rest = &args[k + 1..];
    if let Some(a) = rest.iter().find(|a| a.text.starts_with('-') || a.glob) {
        return Err(format!(
            "`{}` after the object is not known to be read-only",
            a.text
        ));
    }
    let cmd = rest.first().map_or("", |a| a.text.as_str());
    let ok = match object {
        "monitor" | "help" => true,
        "address" | "addrlabel" | "maddress" | "rule" | "link" | "ntable" | "ntbl" | "netconf"
        | "tunnel" | "tuntap" | "tap" | "token" | "tcpmetrics" | "tcp_metrics" | "mrule"
        | "stats" | "l2tp" | "fou" | "macsec" => {
            matches!(cmd, "" | "show" | "list" | "lst" | "help")
        }
        "route" | "neighbor" | "neighbour" | "nexthop" | "mroute" => {
            matches!(cmd, "" | "show" | "list" | "lst" | "get" | "help")
        }
        "netns" => matches!(cmd, "" | "list" | "list-id" | "identify" | "pids" | "help"),
        "vrf" => matches!(cmd, "" | "show" | "list" | "identify" | "pids" | "help"),
        _ => false,
    };
    if !ok {
        return Err(format!("`ip {object} {cmd}` is not known to be read-only"));
    }
    Ok(None)
}

/// `bridge [options] OBJECT [show]`.
fn bridge(args: &[Arg]) -> Inner {
    let k = global_options(
        args,
        &[
            "-s",
            "-stats",
            "-statistics",
            "-d",
            "-details",
            "-j",
            "-json",
            "-p",
            "-pretty",
            "-c",
            "-color",
            "-compressvlans",
            "-o",
            "-oneline",
            "-h",
            "-human",
            "-t",
            "-timestamp",
            "-4",
            "-6",
            "-V",
            "-Version",
        ],
        &["-f", "-family"],
        &["-color="],
    )?;
    let words: Vec<&str> = args[k.min(args.len())..]
        .iter()
        .map(|a| a.text.as_str())
        .collect();
    if let Some(a) = args[k.min(args.len())..]
        .iter()
        .find(|a| a.text.starts_with('-') || a.glob)
    {
        return Err(format!("`{}` is not known to be read-only", a.text));
    }
    let ok = match words.as_slice() {
        ["monitor", ..] | ["help"] => true,
        [obj, rest @ ..] if matches!(*obj, "link" | "fdb" | "mdb" | "vlan" | "vni") => {
            matches!(rest.first().copied(), None | Some("show" | "list" | "help"))
        }
        _ => false,
    };
    if !ok {
        return Err(format!(
            "`bridge {}` is not known to be read-only",
            words.join(" ")
        ));
    }
    Ok(None)
}

/// iproute2's global options: exact words, `-f FAMILY`, and `-color=WHEN`. Returns the index
/// of the first word that is not one. `-b`/`-batch`, `-force`, `-n`/`-netns` are not known.
fn global_options(
    args: &[Arg],
    words: &[&str],
    valued: &[&str],
    prefixes: &[&str],
) -> Result<usize, String> {
    let mut k = 0;
    while let Some(a) = args.get(k) {
        let t = a.text.as_str();
        if !t.starts_with('-') {
            break;
        }
        let t = t
            .strip_prefix('-')
            .filter(|r| r.starts_with('-'))
            .unwrap_or(t);
        if words.contains(&t) || prefixes.iter().any(|p| t.starts_with(p)) {
            k += 1;
        } else if valued.contains(&t) {
            match args.get(k + 1).map(|a| a.text.as_str()) {
                Some("inet" | "inet6" | "link" | "bridge" | "mpls") => k += 2,
                _ => return Err(format!("`{t}` needs a known address family")),
            }
        } else {
            return Err(format!("`{t}` is not known to be read-only"));
        }
    }
    Ok(k)
}

/// `ethtool [--json] [-I] [SHOW-OPTION] DEVICE [words]`: only the options that show.
fn ethtool(args: &[Arg]) -> Inner {
    const GLOBAL: &[&str] = &[
        "--json",
        "-I",
        "--include-statistics",
        "-h",
        "--help",
        "--version",
    ];
    const SHOW: &[&str] = &[
        "-i",
        "--driver",
        "-S",
        "--statistics",
        "-k",
        "--show-features",
        "--show-offload",
        "-a",
        "--show-pause",
        "-c",
        "--show-coalesce",
        "-g",
        "--show-ring",
        "-l",
        "--show-channels",
        "-m",
        "--dump-module-eeprom",
        "--module-info",
        "-T",
        "--show-time-stamping",
        "-P",
        "--show-permaddr",
        "-d",
        "--register-dump",
        "-e",
        "--eeprom-dump",
        "--show-eee",
        "--show-fec",
        "--show-priv-flags",
        "-x",
        "--show-rxfh-indir",
        "--show-rxfh",
        "-n",
        "-u",
        "--show-nfc",
        "--show-ntuple",
        "--show-tunnels",
        "--show-module",
        "--show-mm",
        "--show-pse",
        "--show-plca",
        "--monitor",
    ];
    let mut actions = 0;
    for a in args {
        let t = a.text.as_str();
        if !t.starts_with('-') {
            continue;
        }
        if SHOW.contains(&t) {
            actions += 1;
        } else if !GLOBAL.contains(&t) && t != "--all-groups" {
            return Err(format!("`ethtool {t}` is not known to be read-only"));
        }
    }
    if actions > 1 {
        return Err("`ethtool` with two actions".into());
    }
    Ok(None)
}

fn networkctl(p: &Parsed, _: &[Arg]) -> Inner {
    const ANY: usize = usize::MAX;
    verb(
        "networkctl",
        p,
        &[
            ("", 0),
            ("list", ANY),
            ("status", ANY),
            ("lldp", ANY),
            ("label", 0),
            ("help", 0),
        ],
    )?;
    Ok(None)
}
