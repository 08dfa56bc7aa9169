//! Read-only firewall listings: `iptables -L`, `iptables-save`, `nft list`, `ipset list`,
//! `conntrack -L` and `ebtables -L`.

use super::{Inner, NONE, Operands, Opts, Parsed, Reader};
use crate::policy::command::walk::Arg;

/// The `iptables` family's listing options.
const IPTABLES: Opts = Opts {
    flags: "LSnvx",
    valued: "t",
    long: &[
        "list",
        "list-rules",
        "numeric",
        "verbose",
        "exact",
        "line-numbers",
        "help",
        "version",
    ],
    long_valued: &["table"],
    ..NONE
};

pub(in crate::policy::command) static READERS: &[Reader] = &[
    Reader {
        names: &[
            "iptables",
            "ip6tables",
            "iptables-legacy",
            "ip6tables-legacy",
            "iptables-nft",
            "ip6tables-nft",
        ],
        what: "lists firewall rules",
        opts: IPTABLES,
        operands: Operands::Custom(iptables),
    },
    Reader {
        // No `-f`/`--file` (writes the rules there) and no `-M` (a modprobe program).
        names: &[
            "iptables-save",
            "ip6tables-save",
            "iptables-legacy-save",
            "ip6tables-legacy-save",
            "iptables-nft-save",
            "ip6tables-nft-save",
        ],
        what: "prints firewall rules",
        opts: Opts {
            flags: "chV",
            valued: "t",
            long: &["counters", "help", "version"],
            long_valued: &["table"],
            ..NONE
        },
        operands: Operands::NoneAllowed,
    },
    Reader {
        // No `-f` (runs a rules file), `-i` (interactive), `-I` (include path).
        names: &["nft"],
        what: "lists nftables rules",
        opts: Opts {
            flags: "nsajtSypTNuvhc",
            long: &[
                "numeric",
                "stateless",
                "handle",
                "json",
                "terse",
                "service",
                "numeric-priority",
                "numeric-protocol",
                "numeric-time",
                "reversedns",
                "guid",
                "version",
                "help",
                "check",
            ],
            ..NONE
        },
        operands: Operands::Custom(nft),
    },
    Reader {
        names: &["ipset"],
        what: "lists IP sets",
        opts: NONE,
        operands: Operands::Raw(ipset),
    },
    Reader {
        // No `-D`, `-F`, `-I`, `-U`, `-R` (change the table) and no `-z` (zeroes counters).
        names: &["conntrack"],
        what: "lists connection tracking entries",
        opts: Opts {
            flags: "LCSEngh",
            valued: "psdfomuqrc",
            long: &[
                "dump", "count", "stats", "event", "src-nat", "dst-nat", "any-nat", "help",
                "version",
            ],
            long_valued: &[
                "proto",
                "src",
                "dst",
                "orig-src",
                "orig-dst",
                "reply-src",
                "reply-dst",
                "sport",
                "dport",
                "orig-port-src",
                "orig-port-dst",
                "reply-port-src",
                "reply-port-dst",
                "state",
                "family",
                "output",
                "mark",
                "status",
                "zone",
                "orig-zone",
                "reply-zone",
            ],
            ..NONE
        },
        operands: Operands::Custom(conntrack),
    },
    Reader {
        // No `-Z` (zeroes counters), `--atomic-*` or `-M`.
        names: &["ebtables", "ebtables-legacy", "ebtables-nft"],
        what: "lists Ethernet bridge rules",
        opts: Opts {
            flags: "L",
            valued: "t",
            long: &["list", "Lc", "Ln", "Lx", "Lmac2", "help", "version"],
            long_valued: &["table"],
            ..NONE
        },
        operands: Operands::Custom(ebtables),
    },
];

/// `iptables -L|-S [CHAIN [RULENUM]]`.
fn iptables(p: &Parsed, _: &[Arg]) -> Inner {
    if !p.any(&["L", "S", "list", "list-rules", "help", "version"]) {
        return Err("`iptables` without `-L`/`-S` changes the rules".into());
    }
    if p.exact()?.len() > 2 {
        return Err("`iptables -L` takes one chain".into());
    }
    Ok(None)
}

/// `nft [options] list …`: one command only (nft joins its arguments and reads `;` and new
/// lines as command separators).
fn nft(p: &Parsed, _: &[Arg]) -> Inner {
    let ops = p.exact()?;
    if ops
        .iter()
        .any(|t| t.contains([';', '\n', '\r', '#', '{', '}']))
    {
        return Err("`nft` with several commands".into());
    }
    match ops.first() {
        Some(&"list") => Ok(None),
        None if p.any(&["h", "help", "v", "version"]) => Ok(None),
        _ => Err("`nft` other than `list` changes the rules".into()),
    }
}

/// `ipset list|save [SET] [-output FORMAT] [-sorted|-name|-terse|-resolve|-quiet]`.
fn ipset(args: &[Arg]) -> Inner {
    let mut k = 0;
    let mut command = None;
    while k < args.len() {
        let a = &args[k];
        let t = a.text.as_str();
        k += 1;
        let word = t
            .strip_prefix('-')
            .map(|r| r.strip_prefix('-').unwrap_or(r));
        match (word, t) {
            (Some("o" | "output"), _) => match args.get(k).map(|a| a.text.as_str()) {
                Some("plain" | "save" | "xml" | "json") => k += 1,
                _ => return Err("`ipset -o` needs a known format".into()),
            },
            (Some("s" | "sorted" | "q" | "quiet" | "n" | "name" | "t" | "terse"), _)
            | (Some("r" | "resolve"), _) => {}
            (Some("L" | "list" | "S" | "save" | "V" | "version" | "h" | "help"), _)
            | (None, "list" | "save" | "version" | "help") => {
                if command.replace(t).is_some() {
                    return Err("`ipset` with two commands".into());
                }
            }
            (None, _) if command.is_some() && !a.glob => {}
            _ => return Err(format!("`ipset {t}` is not known to be read-only")),
        }
    }
    if command.is_none() {
        return Err("`ipset` without `list`".into());
    }
    Ok(None)
}

/// `conntrack -L|-C|-S|-E` with filters.
fn conntrack(p: &Parsed, _: &[Arg]) -> Inner {
    let read = [
        "L", "C", "S", "E", "dump", "count", "stats", "event", "h", "help",
    ];
    if !p.any(&read) || !p.operands.is_empty() {
        return Err("`conntrack` other than listing changes the table".into());
    }
    Ok(None)
}

/// `ebtables -L [CHAIN]`.
fn ebtables(p: &Parsed, _: &[Arg]) -> Inner {
    if !p.any(&["L", "list", "help", "version"]) {
        return Err("`ebtables` without `-L` changes the rules".into());
    }
    if p.exact()?.len() > 1 {
        return Err("`ebtables -L` takes one chain".into());
    }
    Ok(None)
}
