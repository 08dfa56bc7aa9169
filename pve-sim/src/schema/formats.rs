//! The common named PVE string formats (`pve-vmid`, `pve-node`, ...); unknown formats pass.

use std::net::IpAddr;

fn is_node_name(s: &str) -> bool {
    !s.is_empty()
        && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        && !s.starts_with('-')
        && !s.ends_with('-')
}

fn is_storage_id(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() >= 2
        && b[0].is_ascii_lowercase()
        && b.iter().all(|c| {
            c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, b'-' | b'_' | b'.')
        })
        && (b[b.len() - 1].is_ascii_lowercase() || b[b.len() - 1].is_ascii_digit())
}

fn is_config_id(s: &str) -> bool {
    let mut c = s.chars();
    c.next().is_some_and(|f| f.is_ascii_alphabetic())
        && s.len() >= 2
        && c.all(|x| x.is_ascii_alphanumeric() || x == '_' || x == '-')
}

fn is_cidr(s: &str) -> bool {
    match s.split_once('/') {
        Some((ip, len)) => match (ip.parse::<IpAddr>(), len.parse::<u8>()) {
            (Ok(IpAddr::V4(_)), Ok(l)) => l <= 32,
            (Ok(IpAddr::V6(_)), Ok(l)) => l <= 128,
            _ => false,
        },
        None => false,
    }
}

fn is_mac(s: &str) -> bool {
    let parts: Vec<&str> = s.split(':').collect();
    parts.len() == 6
        && parts
            .iter()
            .all(|p| p.len() == 2 && p.chars().all(|c| c.is_ascii_hexdigit()))
        && u8::from_str_radix(parts[0], 16).is_ok_and(|b| b & 1 == 0)
}

fn is_dns_name(s: &str) -> bool {
    !s.is_empty() && s.split('.').all(is_node_name)
}

fn is_tag(s: &str) -> bool {
    let mut c = s.chars();
    c.next()
        .is_some_and(|f| f.is_ascii_alphanumeric() || f == '_')
        && c.all(|x| x.is_ascii_alphanumeric() || matches!(x, '_' | '-' | '+' | '.'))
}

/// Checks a value against a named format; `Err` holds PVE's message.
pub fn check(format: &str, v: &str) -> Result<(), String> {
    if let Some(base) = format.strip_suffix("-list") {
        if base == "pve-tag" {
            return v
                .split([';', ',', ' '])
                .filter(|t| !t.is_empty())
                .try_for_each(|t| {
                    if is_tag(t) {
                        Ok(())
                    } else {
                        Err(format!("invalid tag '{t}'"))
                    }
                });
        }
        return v
            .split(|c: char| c == ',' || c == ';' || c.is_whitespace() || c == '\0')
            .filter(|x| !x.is_empty())
            .try_for_each(|x| check(base, x));
    }
    let ok = |b: bool, msg: String| if b { Ok(()) } else { Err(msg) };
    match format {
        "pve-vmid" => ok(
            v.parse::<u64>()
                .is_ok_and(|n| (100..=999_999_999).contains(&n))
                && !v.starts_with('0'),
            "value does not look like a valid VM ID".into(),
        ),
        "pve-node" => ok(
            is_node_name(v),
            "value does not look like a valid node name".into(),
        ),
        "pve-storage-id" => ok(
            is_storage_id(v),
            format!("storage ID '{v}' contains illegal characters"),
        ),
        "pve-configid" => ok(is_config_id(v), format!("invalid configuration ID '{v}'")),
        "pve-poolid" => ok(
            !v.is_empty()
                && v.chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')),
            format!("invalid pool ID '{v}'"),
        ),
        "pve-userid" => ok(
            v.split_once('@')
                .is_some_and(|(u, r)| !u.is_empty() && !r.is_empty())
                && !v.contains([' ', ':', '/'])
                && v.len() <= 64,
            format!("value '{v}' does not look like a valid user name"),
        ),
        "pve-groupid" => ok(
            !v.is_empty()
                && v.chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')),
            format!("group name '{v}' contains invalid characters"),
        ),
        "pve-roleid" => ok(
            !v.is_empty()
                && v.chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')),
            format!("role name '{v}' contains invalid characters"),
        ),
        "pve-realm" => ok(
            v.len() >= 2
                && v.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
                && v.chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')),
            format!("realm '{v}' contains invalid characters"),
        ),
        "pve-iface" => ok(
            v.len() >= 2
                && v.len() <= 21
                && v.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
                && v.chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-' | ':')),
            format!("invalid network interface name '{v}'"),
        ),
        "ip" => ok(
            v.parse::<IpAddr>().is_ok(),
            "value does not look like a valid IP address".into(),
        ),
        "ipv4" => ok(
            matches!(v.parse::<IpAddr>(), Ok(IpAddr::V4(_))),
            "value does not look like a valid IPv4 address".into(),
        ),
        "ipv6" => ok(
            matches!(v.parse::<IpAddr>(), Ok(IpAddr::V6(_))),
            "value does not look like a valid IPv6 address".into(),
        ),
        "CIDR" | "CIDRv4" | "CIDRv6" => ok(
            is_cidr(v),
            "value does not look like a valid CIDR network".into(),
        ),
        "IPorCIDR" => ok(
            v.parse::<IpAddr>().is_ok() || is_cidr(v),
            "value does not look like a valid IP address or CIDR network".into(),
        ),
        "mac-addr" => ok(
            is_mac(v),
            "value does not look like a valid unicast MAC address".into(),
        ),
        "dns-name" => ok(
            is_dns_name(v),
            format!("value '{v}' does not look like a valid DNS name"),
        ),
        "email" => ok(
            v.split_once('@')
                .is_some_and(|(a, b)| !a.is_empty() && b.contains('.')),
            "value does not look like a valid email address".into(),
        ),
        "pve-volume-id" => ok(
            v.split_once(':').is_some_and(|(s, rest)| {
                !s.is_empty() && !rest.is_empty() && !s.contains(char::is_whitespace)
            }),
            format!("unable to parse volume ID '{v}'"),
        ),
        "pve-tag" => ok(is_tag(v), format!("invalid tag '{v}'")),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::check;

    #[test]
    fn formats() {
        let cases: &[(&str, &str, bool)] = &[
            ("pve-vmid", "100", true),
            ("pve-vmid", "99", false),
            ("pve-vmid", "1000000000", false),
            ("pve-node", "pve1", true),
            ("pve-node", "10.0.0.1", false),
            ("pve-node", "pve-1", true),
            ("pve-storage-id", "local-lvm", true),
            ("pve-storage-id", "Local", false),
            ("pve-configid", "pre-upgrade", true),
            ("pve-configid", "1abc", false),
            ("pve-vmid-list", "100,101 102", true),
            ("pve-vmid-list", "100,abc", false),
            ("mac-addr", "BC:24:11:00:00:01", true),
            ("mac-addr", "01:24:11:00:00:01", false),
            ("CIDR", "10.0.0.0/24", true),
            ("CIDR", "10.0.0.0", false),
            ("pve-tag-list", "prod;web", true),
            ("pve-tag-list", "prod;w b!", false),
            ("pve-userid", "mcp@pve", true),
            ("pve-userid", "mcp", false),
            ("something-else", "anything", true),
        ];
        for (f, v, ok) in cases {
            assert_eq!(check(f, v).is_ok(), *ok, "{f} {v}");
        }
    }
}
