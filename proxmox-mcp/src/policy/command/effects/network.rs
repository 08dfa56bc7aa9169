//! Network configuration: `ip` and `bridge`, `ethtool`, and taking interfaces up and down
//! (`ifup`, `ifdown`, `ifreload`, `ifconfig`).

use super::{Verdict, has, v};
use crate::policy::Class::{Destructive, Exec, Modify, Read};

/// Interfaces on the guest side of a bridge (QEMU taps, container veths, the per-guest firewall
/// bridges): taking one down cuts off one guest, not the node.
fn guest_iface(name: &str) -> bool {
    ["tap", "veth", "fwbr", "fwpr", "fwln"]
        .iter()
        .any(|p| name.starts_with(p))
}

/// `ip` options that take a value (so the value is not the object or the verb).
const IP_VALUE_OPTS: &[&str] = &[
    "-n", "-netns", "--netns", "-f", "-family", "--family", "-l", "-loops", "-rc", "-rcvbuf",
];

pub(super) fn ip(args: &[String]) -> Verdict {
    if has(args, &["-b", "-batch", "--batch"]) {
        return v(
            Destructive,
            "runs ip commands from a file, which may delete or flush anything",
        );
    }
    let mut words: Vec<&str> = Vec::new();
    let mut k = 0;
    while k < args.len() {
        let a = args[k].as_str();
        if IP_VALUE_OPTS.contains(&a) {
            k += 2;
            continue;
        }
        if !a.starts_with('-') {
            words.push(a);
        }
        k += 1;
    }
    let verb = words.get(1).copied().unwrap_or("show");
    let iface = match words.get(2).copied() {
        Some("dev") => words.get(3).copied().unwrap_or(""),
        Some(w) => w,
        None => "",
    };
    let object = words.first().copied().unwrap_or("");
    let is_route = !object.is_empty() && "route".starts_with(object);
    let is_rule = object.len() >= 2 && "rule".starts_with(object);
    let is_link = !object.is_empty() && "link".starts_with(object);
    let adds = !verb.is_empty()
        && ["add", "append", "prepend", "replace", "change", "chg"]
            .iter()
            .any(|v| v.starts_with(verb));
    let tiny_mtu = words
        .windows(2)
        .any(|w| w[0] == "mtu" && c_number(w[1]).is_none_or(|n| n < 576));
    let default_route = words.first().is_some_and(|o| o.starts_with('r'))
        && words
            .iter()
            .skip(2)
            .any(|w| *w == "default" || *w == "0.0.0.0/0");
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
    } else if words[2..].iter().any(|w| matches!(*w, "down" | "nomaster")) {
        if guest_iface(iface) {
            v(Modify, "takes a guest's interface down")
        } else {
            v(
                Destructive,
                &format!(
                    "takes {} down or off its bridge, which can cut the node or its guests off the network",
                    if iface.is_empty() {
                        "an interface"
                    } else {
                        iface
                    }
                ),
            )
        }
    } else if default_route && matches!(verb, "replace" | "change" | "chg") {
        v(
            Destructive,
            "replaces the default route, which can cut the node off the network",
        )
    } else if (is_route || is_rule)
        && adds
        && words[2..]
            .iter()
            .any(|w| matches!(*w, "blackhole" | "unreachable" | "prohibit"))
    {
        v(
            Destructive,
            "adds a route or rule that drops traffic (blackhole, unreachable, prohibit), which \
             can cut the node off from its cluster, its storage or its admins",
        )
    } else if is_link && verb == "set" && !guest_iface(iface) && tiny_mtu {
        v(
            Destructive,
            &format!(
                "sets an MTU below 576 on {}, which stops it carrying ordinary traffic",
                if iface.is_empty() {
                    "an interface"
                } else {
                    iface
                }
            ),
        )
    } else if is_link && verb == "set" && !guest_iface(iface) && words.contains(&"netns") {
        v(
            Destructive,
            &format!(
                "moves {} into another network namespace, out of the node's reach",
                if iface.is_empty() {
                    "an interface"
                } else {
                    iface
                }
            ),
        )
    } else {
        v(Modify, "changes network configuration")
    }
}

/// A number as `ip` reads it (C's `strtoul` with base 0: `0x` hex, a leading `0` octal).
fn c_number(s: &str) -> Option<u64> {
    if let Some(hex) = s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        u64::from_str_radix(hex, 16).ok()
    } else if s.len() > 1 && s.starts_with('0') {
        u64::from_str_radix(&s[1..], 8).ok()
    } else {
        s.parse().ok()
    }
}

/// `ethtool -s`/`--change`: a speed, duplex, autonegotiation, port, advertised-modes, MDI-X,
/// master/slave or lanes setting the far end does not match takes the link down, Destructive
/// on the node's own NICs; other settings (Wake-on-LAN, message level) and offloads (`-K`)
/// are Modify.
pub(super) fn ethtool(args: &[String]) -> Verdict {
    let link = args.iter().any(|a| a.starts_with("-s") || a == "--change")
        && args.iter().any(|a| {
            matches!(
                a.as_str(),
                "speed"
                    | "duplex"
                    | "autoneg"
                    | "port"
                    | "advertise"
                    | "mdix"
                    | "master-slave"
                    | "lanes"
            )
        });
    let dev = args
        .iter()
        .find(|a| !a.starts_with('-'))
        .map(String::as_str)
        .unwrap_or("");
    if link && !guest_iface(dev) {
        v(
            Destructive,
            &format!(
                "changes the link settings of {}, which takes the link down when the far end \
                 does not match",
                if dev.is_empty() { "a NIC" } else { dev }
            ),
        )
    } else {
        v(Modify, "changes NIC settings")
    }
}

/// `ifdown`, `ifup`, `ifreload`, `ifconfig`: taking a bridge, bond or uplink down is
/// Destructive (it cuts the node or its guests off); a guest's own interface is not.
pub(super) fn ifupdown(prog: &str, args: &[String]) -> Verdict {
    let names: Vec<&str> = args
        .iter()
        .filter(|a| !a.starts_with('-'))
        .map(String::as_str)
        .collect();
    let off = |what: &str| {
        v(
            Destructive,
            &format!("takes {what} down, which can cut the node or its guests off the network"),
        )
    };
    match prog {
        "ifdown" if has(args, &["-a", "--all"]) || names.is_empty() => off("every interface"),
        "ifdown" if names.iter().all(|n| guest_iface(n)) => {
            v(Modify, "takes a guest's interface down")
        }
        "ifdown" => off(&names.join(", ")),
        "ifup" => v(Modify, "brings interfaces up"),
        "ifreload" | "ifquery" if prog == "ifquery" || has(args, &["-s", "--syntax-check"]) => {
            v(Read, "checks the interface configuration")
        }
        "ifreload" => v(
            Modify,
            "applies /etc/network/interfaces (as the API's network apply does)",
        ),
        // ifconfig
        _ if names.len() <= 1 => v(Read, "shows interfaces"),
        _ if names.contains(&"down") && guest_iface(names[0]) => {
            v(Modify, "takes a guest's interface down")
        }
        _ if names.contains(&"down") => off(names[0]),
        _ if names.contains(&"del") => v(
            Destructive,
            "removes an address, which can cut the node off",
        ),
        _ => v(Modify, "changes an interface"),
    }
}
