//! The value checks the file and the environment share for `[policy]`, `[audit]` and
//! `[cluster.exec]`: each accepts one form and, when it refuses, says what it expected.

use std::collections::BTreeMap;

use crate::config::types::{ExecConfig, ExecutorKind};

/// A refused value: the offending part as TOML would write it, and what was expected.
#[derive(Debug, PartialEq, Eq)]
pub(super) struct Bad {
    pub value: String,
    pub expected: &'static str,
}

impl Bad {
    fn text(text: &str, expected: &'static str) -> Self {
        Bad {
            value: format!("{text:?}"),
            expected,
        }
    }
}

/// An integer setting and its bounds.
pub(super) struct Bounded {
    pub min: u64,
    pub max: u64,
    pub expected: &'static str,
}

impl Bounded {
    pub fn check(&self, n: u64) -> Result<u64, Bad> {
        if (self.min..=self.max).contains(&n) {
            Ok(n)
        } else {
            Err(Bad {
                value: n.to_string(),
                expected: self.expected,
            })
        }
    }

    /// `text` (an environment value) as a number within the bounds.
    pub fn parse(&self, text: &str) -> Result<u64, Bad> {
        let n = text
            .trim()
            .parse::<u64>()
            .map_err(|_| Bad::text(text, self.expected))?;
        self.check(n)
    }
}

pub(super) const APPROVAL_TTL_SECS: Bounded = Bounded {
    min: 1,
    max: 86_400,
    expected: "1 to 86400 (seconds)",
};
pub(super) const RETENTION_DAYS: Bounded = Bounded {
    min: 1,
    max: 3650,
    expected: "1 to 3650 (days)",
};
pub(super) const EXEC_TIMEOUT_SECS: Bounded = Bounded {
    min: 1,
    max: ExecConfig::MAX_TIMEOUT.as_secs(),
    expected: "1 to 600 (seconds)",
};
pub(super) const SSH_PORT: Bounded = Bounded {
    min: 1,
    max: 65_535,
    expected: "a port from 1 to 65535",
};
pub(super) const SSH_CONNECT_TIMEOUT_SECS: Bounded = Bounded {
    min: 1,
    max: 120,
    expected: "1 to 120 (seconds)",
};
/// The range PVE allows for guest ids.
pub(super) const VMID: Bounded = Bounded {
    min: 100,
    max: 999_999_999,
    expected: "guest ids (VMIDs) from 100 to 999999999",
};

pub(super) const JOURNAL_SOCKET: &str = "`off` or the absolute path of the system journal's socket";
pub(super) const VMIDS_ENV: &str =
    "guest ids (VMIDs) from 100 to 999999999 separated by commas, e.g. 100,101";
const TAG: &str = "PVE tags: letters, digits, `_`, `-`, `+` and `.`, not empty";
pub(super) const TAGS_ENV: &str =
    "PVE tags (letters, digits, `_`, `-`, `+` and `.`) separated by commas, e.g. protected,prod";
const EXECUTOR: &str = "disabled, local or ssh";
const NODE: &str = "a node name: letters, digits and `-` (at most 63), e.g. pve1";
const USER: &str = "a user name: letters, digits, `.`, `_` and `-`, not starting with `-`";
const ACCOUNT: &str = "a Unix account other than root: lowercase letters, digits, `_` and `-` \
     (at most 32), starting with a letter or `_`, e.g. proxmox-mcp-exec";
const ADDRESS: &str =
    "a host name or IP address (letters, digits, `.`, `-`, `_`, `:`, `%`), not starting with `-`";
pub(super) const HOSTS_ENV: &str =
    "node=address pairs separated by commas (each node once), e.g. pve1=10.0.0.11,pve2=10.0.0.12";

/// `disabled`, `local` or `ssh`, in any case.
pub(super) fn executor(text: &str) -> Result<ExecutorKind, Bad> {
    match text.trim().to_ascii_lowercase().as_str() {
        "disabled" => Ok(ExecutorKind::Disabled),
        "local" => Ok(ExecutorKind::Local),
        "ssh" => Ok(ExecutorKind::Ssh),
        _ => Err(Bad::text(text, EXECUTOR)),
    }
}

/// A PVE tag, trimmed and lowercased (PVE compares tags case-insensitively).
pub(super) fn tag(text: &str) -> Result<String, Bad> {
    let tag = text.trim().to_lowercase();
    let mut chars = tag.chars();
    let ok = chars
        .next()
        .is_some_and(|c| c.is_ascii_alphanumeric() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '+' | '.'));
    if ok {
        Ok(tag)
    } else {
        Err(Bad::text(text, TAG))
    }
}

/// A node name, as PVE uses it in `/nodes/{node}`: a host name's first label.
pub(super) fn node_name(text: &str) -> Result<String, Bad> {
    let ok = !text.is_empty()
        && text.len() <= 63
        && !text.starts_with('-')
        && !text.ends_with('-')
        && text.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
    if ok {
        Ok(text.to_owned())
    } else {
        Err(Bad::text(text, NODE))
    }
}

/// A remote user name for ssh; never an option (`-oProxyCommand=…`).
pub(super) fn ssh_user(text: &str) -> Result<String, Bad> {
    let ok = !text.is_empty()
        && text.len() <= 32
        && !text.starts_with('-')
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
    if ok {
        Ok(text.to_owned())
    } else {
        Err(Bad::text(text, USER))
    }
}

/// The local executor's `run_as` account, as `sudo -u` takes it; never an option, never root
/// (that would undo the point of running commands as an unprivileged account).
pub(super) fn account(text: &str) -> Result<String, Bad> {
    let ok = text.len() <= 32
        && text != "root"
        && text
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_lowercase() || c == '_')
        && text
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '_' | '-'));
    if ok {
        Ok(text.to_owned())
    } else {
        Err(Bad::text(text, ACCOUNT))
    }
}

/// A host name or IP address for ssh; never an option, never `user@host`.
pub(super) fn address(text: &str) -> Result<String, Bad> {
    let ok = !text.is_empty()
        && text.len() <= 253
        && !text.starts_with('-')
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | ':' | '%'));
    if ok {
        Ok(text.to_owned())
    } else {
        Err(Bad::text(text, ADDRESS))
    }
}

/// `[cluster.exec.hosts]`: every node name and address checked.
pub(super) fn hosts(table: BTreeMap<String, String>) -> Result<BTreeMap<String, String>, Bad> {
    table
        .into_iter()
        .map(|(node, addr)| Ok((node_name(&node)?, address(&addr)?)))
        .collect()
}

/// `pve1=10.0.0.11,pve2=10.0.0.12`; a node given twice is refused.
pub(super) fn hosts_env(text: &str) -> Result<BTreeMap<String, String>, Bad> {
    let mut hosts = BTreeMap::new();
    for pair in text.split(',') {
        let (node, addr) = pair
            .split_once('=')
            .ok_or_else(|| Bad::text(pair, HOSTS_ENV))?;
        let node = node_name(node.trim())?;
        let addr = address(addr.trim())?;
        if hosts.insert(node.clone(), addr).is_some() {
            return Err(Bad::text(&node, HOSTS_ENV));
        }
    }
    Ok(hosts)
}

/// The items of a comma-separated environment value, trimmed (empty ones included, so that the
/// item check refuses them).
pub(super) fn list(text: &str) -> impl Iterator<Item = &str> {
    text.split(',').map(str::trim)
}

/// The node name in a host name as the system stores it: trimmed, up to the first `.`.
/// `Err` says why it is not usable.
pub(super) fn short_host_name(raw: &str) -> Result<String, String> {
    let full = raw.trim();
    let short = full.split('.').next().unwrap_or_default();
    if short.is_empty() {
        return Err("the host name is empty".to_owned());
    }
    node_name(short).map_err(|_| format!("the host name {full:?} is not a valid node name"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounds_and_their_texts_agree() {
        for b in [
            APPROVAL_TTL_SECS,
            RETENTION_DAYS,
            EXEC_TIMEOUT_SECS,
            SSH_PORT,
            SSH_CONNECT_TIMEOUT_SECS,
            VMID,
        ] {
            let range = format!("{} to {}", b.min, b.max);
            assert!(b.expected.contains(&range), "{}", b.expected);
            assert_eq!(b.check(b.min), Ok(b.min));
            assert_eq!(b.check(b.max), Ok(b.max));
            assert!(b.check(b.max + 1).is_err());
            assert!(b.parse(" x").is_err());
        }
    }

    #[test]
    fn names_and_addresses() {
        type Check = fn(&str) -> Result<String, Bad>;
        #[rustfmt::skip]
        let table: [(Check, &str, bool); 19] = [
            (node_name, "pve1", true),
            (node_name, "pve-1", true),
            (node_name, "pve1.lan", false),
            (node_name, "-pve", false),
            (node_name, "pve-", false),
            (node_name, "", false),
            (ssh_user, "root", true),
            (ssh_user, "mcp.ops_1", true),
            (ssh_user, "-oProxyCommand=x", false),
            (ssh_user, "root@pve1", false),
            (address, "10.0.0.11", true),
            (address, "fd00::1", true),
            (address, "fe80::1%vmbr0", true),
            (address, "pve1.example.com", true),
            (address, "-oProxyCommand=x", false),
            (address, "root@pve1", false),
            (address, "pve1 x", false),
            (tag, " Prod ", true),
            (tag, "a b", false),
        ];
        for (check, text, ok) in table {
            assert_eq!(check(text).is_ok(), ok, "{text:?}");
        }
        assert_eq!(tag(" Prod+1 "), Ok("prod+1".to_owned()));
    }

    #[test]
    fn host_names() {
        assert_eq!(short_host_name("pve1\n"), Ok("pve1".to_owned()));
        assert_eq!(short_host_name("pve1.example.com\n"), Ok("pve1".to_owned()));
        assert_eq!(
            short_host_name(" \n"),
            Err("the host name is empty".to_owned())
        );
        assert_eq!(
            short_host_name("bad_name"),
            Err("the host name \"bad_name\" is not a valid node name".to_owned())
        );
    }
}
