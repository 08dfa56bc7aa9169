//! Firewalls: `iptables` and its relatives, and `nft`, by what a rule change can lock out.

use super::{Verdict, has, short, v};
use crate::policy::Class::{Destructive, Modify, Read};

/// `iptables` match options that narrow a rule to some traffic.
const IPT_MATCHES: &[&str] = &[
    "-s",
    "--source",
    "--src",
    "-d",
    "--destination",
    "--dst",
    "-p",
    "--protocol",
    "--dport",
    "--sport",
    "--dports",
    "--sports",
    "-m",
    "--match",
    "--mac-source",
    "-f",
    "--fragment",
];

pub(super) fn firewall(args: &[String]) -> Verdict {
    let adds = has(
        args,
        &["-A", "--append", "-I", "--insert", "-R", "--replace"],
    );
    let target = args
        .iter()
        .position(|a| a == "-j" || a == "--jump")
        .and_then(|k| args.get(k + 1))
        .map(|t| t.to_ascii_uppercase())
        .or_else(|| {
            args.iter()
                .find_map(|a| a.strip_prefix("--jump=").or_else(|| a.strip_prefix("-j")))
                .filter(|t| !t.is_empty())
                .map(str::to_ascii_uppercase)
        });
    let drops = matches!(target.as_deref(), Some("DROP" | "REJECT"));
    if adds && drops && !has(args, IPT_MATCHES) {
        return v(
            Destructive,
            "adds a rule that drops all traffic of a chain, which locks the node down",
        );
    }
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

/// `nft`: deleting or flushing rules, a `drop`/`reject` policy, a catch-all drop rule, or a
/// rule file (which may start with `flush ruleset`) is Destructive.
pub(super) fn nft(args: &[String]) -> Verdict {
    if has(args, &["-f", "--file", "-i", "--interactive"]) {
        return v(
            Destructive,
            "loads firewall rules from a file or a prompt, which may flush the ruleset",
        );
    }
    let words: Vec<String> = args
        .iter()
        .filter(|a| !a.starts_with('-'))
        .flat_map(|a| {
            a.split(|c: char| c.is_whitespace() || matches!(c, ';' | '{' | '}'))
                .filter(|w| !w.is_empty())
                .map(str::to_ascii_lowercase)
                .collect::<Vec<_>>()
        })
        .collect();
    let s0 = words.first().map(String::as_str).unwrap_or("");
    let policy_drop = words
        .windows(2)
        .any(|w| w[0] == "policy" && matches!(w[1].as_str(), "drop" | "reject"));
    let catch_all = matches!(s0, "add" | "insert" | "replace" | "create")
        && words.get(1).map(String::as_str) == Some("rule")
        && {
            let rest = &words[2..];
            let family = rest.first().is_some_and(|f| {
                matches!(
                    f.as_str(),
                    "ip" | "ip6" | "inet" | "arp" | "bridge" | "netdev"
                )
            });
            let statement = rest.get(if family { 3 } else { 2 }..).unwrap_or_default();
            statement
                .iter()
                .any(|w| matches!(w.as_str(), "drop" | "reject"))
                && statement
                    .iter()
                    .all(|w| matches!(w.as_str(), "drop" | "reject" | "counter" | "log"))
        };
    match s0 {
        "list" => v(Read, "shows nftables rules"),
        "flush" | "delete" | "destroy" => v(Destructive, "deletes firewall rules"),
        _ if policy_drop || catch_all => v(
            Destructive,
            "drops all traffic of a chain by policy or a catch-all rule, which locks the node down",
        ),
        _ => v(Modify, "changes firewall rules"),
    }
}
