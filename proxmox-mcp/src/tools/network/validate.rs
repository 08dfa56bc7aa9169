//! Argument checks for `network_config`: interface names, addresses, ports, firewall specs.
//!
//! Everything here runs before any request is built, so a hostile or malformed value is an
//! `isError` that never reaches the cluster.

use std::net::IpAddr;

use super::super::ToolError;

/// PVE's interface names: a letter first, then letters, digits, `.`, `_`, `-`; 2 to 20 chars.
pub fn iface(name: &str) -> Result<&str, ToolError> {
    let ok = (2..=20).contains(&name.len())
        && name.starts_with(|c: char| c.is_ascii_alphabetic())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
        && !name.contains("..");
    if ok {
        Ok(name)
    } else {
        Err(ToolError::invalid(format!(
            "{:?} is not a valid interface name: 2-20 characters, a letter first, then letters, \
             digits, '.', '_' or '-' (e.g. vmbr1, bond0, vmbr0.20)",
            clip(name)
        )))
    }
}

/// A list of interface names (`bridge_ports`, `slaves`), given with spaces or commas; returned
/// space-separated as PVE writes it.
pub fn iface_list(what: &str, list: &str) -> Result<String, ToolError> {
    let names: Vec<&str> = list.split([' ', ',']).filter(|s| !s.is_empty()).collect();
    if names.is_empty() {
        return Err(ToolError::invalid(format!("{what} lists no interface")));
    }
    for n in &names {
        iface(n).map_err(|e| ToolError::invalid(format!("{what}: {e}")))?;
    }
    Ok(names.join(" "))
}

/// An IPv4 or IPv6 address.
pub fn ip(what: &str, text: &str) -> Result<IpAddr, ToolError> {
    text.parse().map_err(|_| {
        ToolError::invalid(format!(
            "{what} {:?} is not an IP address (e.g. 192.168.1.1)",
            clip(text)
        ))
    })
}

/// An address with prefix length, `192.168.1.10/24` or `fd00::1/64`.
pub fn cidr(text: &str) -> Result<IpAddr, ToolError> {
    let bad = || {
        ToolError::invalid(format!(
            "cidr {:?} is not an address with a prefix length (e.g. 192.168.1.10/24)",
            clip(text)
        ))
    };
    let (addr, len) = text.split_once('/').ok_or_else(bad)?;
    let addr: IpAddr = addr.parse().map_err(|_| bad())?;
    let max = if addr.is_ipv4() { 32 } else { 128 };
    match len.parse::<u8>() {
        Ok(n) if n <= max && !len.starts_with('+') => Ok(addr),
        _ => Err(bad()),
    }
}

/// A VLAN tag, 1 to 4094.
pub fn vlan_id(id: i64) -> Result<i64, ToolError> {
    if (1..=4094).contains(&id) {
        Ok(id)
    } else {
        Err(ToolError::invalid(format!(
            "vlan_id {id} is out of range: VLAN ids are 1 to 4094"
        )))
    }
}

/// A firewall port spec: comma-separated ports (1-65535), ranges `a:b` or service names.
pub fn ports(what: &str, spec: &str) -> Result<(), ToolError> {
    let bad = |item: &str| {
        ToolError::invalid(format!(
            "{what} {:?} is not a port spec: ports 1-65535, ranges like 8000:8080 or service \
             names, comma-separated",
            clip(item)
        ))
    };
    if spec.is_empty() || spec.len() > 256 {
        return Err(bad(spec));
    }
    for item in spec.split(',') {
        let port = |p: &str| p.parse::<u16>().is_ok_and(|n| n >= 1) && !p.starts_with('+');
        let ok = match item.split_once(':') {
            Some((a, b)) => port(a) && port(b),
            None => {
                port(item)
                    || (item.starts_with(|c: char| c.is_ascii_alphabetic())
                        && item.len() <= 32
                        && item
                            .bytes()
                            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_')))
            }
        };
        if !ok {
            return Err(bad(item));
        }
    }
    Ok(())
}

/// A firewall address spec: IPs, CIDRs, ranges, alias names, `+ipset`, `dc/`/`guest/` scopes.
pub fn addr_spec(what: &str, spec: &str) -> Result<(), ToolError> {
    let ok = !spec.is_empty()
        && spec.len() <= 512
        && spec
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b".:/,+_-!".contains(&b))
        && !spec.contains("..");
    if ok {
        Ok(())
    } else {
        Err(ToolError::invalid(format!(
            "{what} {:?} is not an address spec: IPs, CIDRs, ranges (a-b), alias names or +ipset, \
             comma-separated",
            clip(spec)
        )))
    }
}

/// A bare word: protocol, macro, security group, option name.
pub fn word(what: &str, text: &str, max: usize) -> Result<(), ToolError> {
    let ok = !text.is_empty()
        && text.len() <= max
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_'));
    if ok {
        Ok(())
    } else {
        Err(ToolError::invalid(format!(
            "{what} {:?} must be letters, digits, '-' or '_' (at most {max})",
            clip(text)
        )))
    }
}

/// A one-line comment (PVE stores rule comments on one line).
pub fn comment(text: &str) -> Result<(), ToolError> {
    if text.len() > 4096 || text.chars().any(char::is_control) {
        Err(ToolError::invalid(
            "comment must be one line of at most 4096 bytes without control characters",
        ))
    } else {
        Ok(())
    }
}

fn clip(s: &str) -> String {
    s.chars().take(80).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check<T>(f: impl Fn(&str) -> Result<T, ToolError>, good: &[&str], bad: &[&str]) {
        for g in good {
            assert!(f(g).is_ok(), "{g} should pass");
        }
        for b in bad {
            assert!(f(b).is_err(), "{b} should fail");
        }
    }

    #[test]
    fn interface_names() {
        check(
            |s| iface(s).map(|_| ()),
            &["vmbr0", "bond0", "vmbr0.20", "eno1", "enp3s0f1", "br_lab-1"],
            &[
                "eth0; reboot",
                "../x",
                "a/b",
                "x",
                "0eth",
                "vmbr..1",
                "averyveryverylongname0",
                "",
                "eth0\n",
            ],
        );
        assert_eq!(iface_list("p", "eno1, eno2").unwrap(), "eno1 eno2");
        assert!(iface_list("p", "eno1 ../x").is_err());
        assert!(iface_list("p", "eno1;reboot").is_err());
        assert!(iface_list("p", " ").is_err());
    }

    #[test]
    fn addresses() {
        check(
            cidr,
            &["10.0.0.1/24", "fd00::1/64", "0.0.0.0/0"],
            &[
                "10.0.0.1",
                "10.0.0.1/33",
                "10.0.0.300/24",
                "x/24",
                "fd00::1/129",
                "1.2.3.4/+4",
            ],
        );
        check(
            |s| ip("gateway", s),
            &["10.0.0.1", "fe80::1"],
            &["10.0.0", "h; x"],
        );
    }

    #[test]
    fn vlans_and_ports() {
        assert!(vlan_id(1).is_ok() && vlan_id(4094).is_ok());
        assert!(vlan_id(0).is_err() && vlan_id(5000).is_err() && vlan_id(-1).is_err());
        check(
            |s| ports("dport", s),
            &["22", "80,443", "8000:8080", "ssh", "1:65535"],
            &["0", "65536", "22;rm", "1:", "", "a b"],
        );
    }

    #[test]
    fn firewall_specs() {
        check(
            |s| addr_spec("source", s),
            &[
                "10.0.0.0/24",
                "+management",
                "monitoring",
                "10.0.0.1-10.0.0.9",
                "dc/x",
                "fd00::/8",
            ],
            &["a b", "$(x)", "../etc", ""],
        );
        check(
            |s| word("proto", s, 32),
            &["tcp", "udp", "6"],
            &["tcp udp", "", "x;y"],
        );
        assert!(comment("web ui").is_ok() && comment("a\nb").is_err());
    }
}
