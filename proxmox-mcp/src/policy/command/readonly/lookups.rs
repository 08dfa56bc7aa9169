//! Read-only name lookups and reachability probes: `dig`, `nslookup`, `host`, `whois`, `ping`,
//! `traceroute`, `mtr`, and the resolver and time-sync status (`resolvectl`, `chronyc`).

use super::{Inner, NONE, Operands, Opts, Parsed, Reader, verb};
use crate::policy::command::walk::Arg;

pub(in crate::policy::command) static READERS: &[Reader] = &[
    Reader {
        // A count of at most 1000 is required, so it ends; no flood (`-f`), preload (`-l`),
        // interval below 0.2 s or packet above 1500 bytes.
        names: &["ping", "ping4", "ping6"],
        what: "checks that a host answers",
        opts: Opts {
            flags: "qn46DOv",
            valued: "cWistw",
            ..NONE
        },
        operands: Operands::Custom(ping),
    },
    Reader {
        names: &["traceroute", "traceroute6"],
        what: "shows the route to a host",
        opts: Opts {
            flags: "46IUTnAeFd",
            valued: "mqwpfNzsi",
            long: &["icmp", "tcp", "udp", "help", "version"],
            long_valued: &[
                "max-hops",
                "queries",
                "wait",
                "port",
                "first",
                "sim-queries",
            ],
            ..NONE
        },
        operands: Operands::Any,
    },
    Reader {
        names: &["tracepath", "tracepath6"],
        what: "shows the route and MTU to a host",
        opts: Opts {
            flags: "46nbV",
            valued: "lmp",
            ..NONE
        },
        operands: Operands::Any,
    },
    Reader {
        // Only the report modes, which end after `-c` cycles.
        names: &["mtr"],
        what: "shows the route to a host",
        opts: Opts {
            flags: "rwjxCnbz46TuyeV",
            valued: "cismfPoaI",
            long: &[
                "report",
                "report-wide",
                "json",
                "xml",
                "csv",
                "no-dns",
                "show-ips",
                "aslookup",
                "tcp",
                "udp",
                "mpls",
                "help",
                "version",
            ],
            long_valued: &[
                "report-cycles",
                "interval",
                "psize",
                "max-ttl",
                "first-ttl",
                "port",
                "order",
                "address",
                "interface",
                "ipinfo",
            ],
            ..NONE
        },
        operands: Operands::Custom(mtr),
    },
    Reader {
        names: &["dig"],
        what: "looks up DNS names",
        opts: NONE,
        operands: Operands::Raw(dig),
    },
    Reader {
        names: &["nslookup"],
        what: "looks up DNS names",
        opts: Opts {
            long: &[
                "debug",
                "nodebug",
                "d2",
                "nod2",
                "vc",
                "novc",
                "recurse",
                "norecurse",
                "search",
                "nosearch",
                "defname",
                "nodefname",
                "fail",
                "nofail",
                "ignoretc",
                "noignoretc",
                "version",
            ],
            long_optional: &[
                "type",
                "querytype",
                "query",
                "q",
                "class",
                "port",
                "timeout",
                "retry",
                "domain",
                "ndots",
            ],
            words: true,
            ..NONE
        },
        operands: Operands::Any,
    },
    Reader {
        names: &["host"],
        what: "looks up DNS names",
        opts: Opts {
            flags: "aACdlnrsTUwvV46",
            valued: "cNpRtWm",
            ..NONE
        },
        operands: Operands::Any,
    },
    Reader {
        names: &["whois"],
        what: "looks up domain registration",
        opts: Opts {
            flags: "IHlLmMcxbBGdKrRa",
            valued: "hpstvqiTg",
            long: &["verbose", "no-recursion", "help", "version"],
            ..NONE
        },
        operands: Operands::Any,
    },
    Reader {
        names: &["resolvectl"],
        what: "shows DNS resolver state or looks up names",
        opts: Opts {
            flags: "46h",
            valued: "iptc",
            long: &["help", "version", "no-pager"],
            long_valued: &[
                "interface",
                "protocol",
                "type",
                "class",
                "legend",
                "cname",
                "search",
                "validate",
                "synthesize",
                "cache",
                "zone",
                "trust-anchor",
                "network",
                "service-address",
                "service-txt",
                "stale-data",
                "relax-single-label",
            ],
            long_optional: &["json"],
            ..NONE
        },
        operands: Operands::Custom(resolvectl),
    },
    Reader {
        // No `-h`/`-p` (another chronyd), `-f` or `-m` (several commands).
        names: &["chronyc"],
        what: "shows time synchronisation state",
        opts: Opts {
            flags: "nc46dav",
            ..NONE
        },
        operands: Operands::Custom(chronyc),
    },
];

/// `ping -c N HOST`, gently: N from 1 to 1000, `-i` at least 0.2 s, `-s` at most 1500 bytes.
fn ping(p: &Parsed, _: &[Arg]) -> Inner {
    let whole = |v: &str| {
        v.bytes()
            .all(|b| b.is_ascii_digit())
            .then(|| v.parse::<u32>().ok())
            .flatten()
    };
    let decimal = |v: &str| {
        v.bytes()
            .all(|b| b.is_ascii_digit() || b == b'.')
            .then(|| v.parse::<f64>().ok())
            .flatten()
    };
    if !p.has("c") {
        return Err("`ping` without `-c` never ends".into());
    }
    if let Some(c) = p
        .values("c")
        .find(|c| !whole(c).is_some_and(|n| (1..=1000).contains(&n)))
    {
        return Err(format!("`ping -c {c}` is no count from 1 to 1000"));
    }
    if let Some(i) = p
        .values("i")
        .find(|i| !decimal(i).is_some_and(|n| n >= 0.2))
    {
        return Err(format!("`ping -i {i}`: an interval below 0.2 s floods"));
    }
    if let Some(s) = p.values("s").find(|s| whole(s).is_none_or(|n| n > 1500)) {
        return Err(format!("`ping -s {s}`: packets above 1500 bytes flood"));
    }
    if p.exact()?.len() != 1 {
        return Err("`ping` takes one host".into());
    }
    Ok(None)
}

/// `mtr` in a report mode.
fn mtr(p: &Parsed, _: &[Arg]) -> Inner {
    let report = [
        "r",
        "w",
        "j",
        "x",
        "C",
        "report",
        "report-wide",
        "json",
        "xml",
        "csv",
    ];
    if !p.any(&report) {
        return Err("interactive `mtr` is not known to be read-only".into());
    }
    Ok(None)
}

/// `dig [@server] [-options] [+options] name [type] [class]`. Every `+option` only changes the
/// query or its display; no `-k`/`-y` (TSIG keys).
fn dig(args: &[Arg]) -> Inner {
    const FLAGS: &str = "46hmruvi";
    const VALUED: &str = "bcfpqtx";
    let mut k = 0;
    while k < args.len() {
        let t = args[k].text.as_str();
        k += 1;
        let Some(body) = t.strip_prefix('-') else {
            continue;
        };
        for (j, c) in body.char_indices() {
            if VALUED.contains(c) {
                if j + 1 == body.len() {
                    k += 1;
                }
                break;
            }
            if !FLAGS.contains(c) {
                return Err(format!("`dig -{c}` is not known to be read-only"));
            }
        }
    }
    Ok(None)
}

fn resolvectl(p: &Parsed, _: &[Arg]) -> Inner {
    const ANY: usize = usize::MAX;
    verb(
        "resolvectl",
        p,
        &[
            ("", 0),
            ("status", ANY),
            ("query", ANY),
            ("statistics", 0),
            ("help", 0),
        ],
    )?;
    Ok(None)
}

/// `chronyc [options] COMMAND [-a] [-v]` for the monitoring commands only.
fn chronyc(p: &Parsed, _: &[Arg]) -> Inner {
    verb(
        "chronyc",
        p,
        &[
            ("tracking", 0),
            ("sources", 0),
            ("sourcestats", 0),
            ("activity", 0),
            ("ntpdata", 1),
            ("serverstats", 0),
            ("help", 0),
        ],
    )?;
    Ok(None)
}
