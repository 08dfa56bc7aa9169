//! UPIDs (`UPID:node:pid:pstart:starttime:type:id:user:`): parse with the server's own rule, print back exactly.

use std::fmt;
use std::str::FromStr;
use std::sync::LazyLock;

use regex::Regex;

use super::error::PveError;

/// A Proxmox task id as returned by every asynchronous call.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Upid {
    pub node: String,
    pub pid: u32,
    /// Process start in clock ticks since boot (8 or 9 hex digits).
    pub pstart: u64,
    /// Epoch seconds.
    pub starttime: i64,
    /// Worker type, e.g. `qmstart`.
    pub kind: String,
    /// Worker id, e.g. the vmid; may be empty.
    pub id: String,
    /// Who started it; may be a token id (`root@pam!api`).
    pub user: String,
}

/// `PVE::UPID` decode regex (FACTS.md §6).
static UPID_RE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"^UPID:([a-zA-Z0-9]([a-zA-Z0-9\-]*[a-zA-Z0-9])?):([0-9A-Fa-f]{8}):([0-9A-Fa-f]{8,9}):([0-9A-Fa-f]{8}):([^:\s/]+):([^:\s/]*):([^:\s/]+):$",
    )
    .expect("valid UPID regex")
});

impl FromStr for Upid {
    type Err = PveError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let caps = UPID_RE.captures(s).ok_or_else(|| {
            PveError::Config(format!(
                "'{s}' is not a valid task id (UPID); expected \
                 UPID:<node>:<pid 8 hex>:<pstart 8-9 hex>:<starttime 8 hex>:<type>:<id>:<user>: as \
                 returned by the call that started the task"
            ))
        })?;
        let hex = |i: usize| u64::from_str_radix(&caps[i], 16).expect("regex guarantees hex");
        Ok(Upid {
            node: caps[1].to_owned(),
            pid: u32::try_from(hex(3)).expect("8 hex digits fit u32"),
            pstart: hex(4),
            starttime: i64::try_from(hex(5)).expect("8 hex digits fit i64"),
            kind: caps[6].to_owned(),
            id: caps[7].to_owned(),
            user: caps[8].to_owned(),
        })
    }
}

impl fmt::Display for Upid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "UPID:{}:{:08X}:{:08X}:{:08X}:{}:{}:{}:",
            self.node, self.pid, self.pstart, self.starttime, self.kind, self.id, self.user
        )
    }
}

impl serde::Serialize for Upid {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for Upid {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(s: &str, want: Option<(&str, u32, u64, i64, &str, &str, &str)>) {
        let got = s.parse::<Upid>();
        match want {
            None => assert!(got.is_err(), "{s} should not parse"),
            Some((node, pid, pstart, starttime, kind, id, user)) => {
                let u = got.unwrap_or_else(|e| panic!("{s}: {e}"));
                assert_eq!(
                    (
                        u.node.as_str(),
                        u.pid,
                        u.pstart,
                        u.starttime,
                        u.kind.as_str(),
                        u.id.as_str(),
                        u.user.as_str()
                    ),
                    (node, pid, pstart, starttime, kind, id, user),
                    "{s}"
                );
                assert_eq!(u.to_string(), s, "round trip of {s}");
                let json = serde_json::to_string(&u).unwrap();
                assert_eq!(json, format!("\"{s}\""));
                assert_eq!(serde_json::from_str::<Upid>(&json).unwrap(), u);
            }
        }
    }

    #[test]
    fn table() {
        check(
            "UPID:dahu-2:00007323:001036A5:6419CAF8:qmstart:100:root@pam:",
            Some((
                "dahu-2", 0x7323, 0x001036A5, 0x6419CAF8, "qmstart", "100", "root@pam",
            )),
        );
        // 9-hex pstart after ~497 days of uptime.
        check(
            "UPID:pve1:0000ABCD:1C419D88A:6119FB65:vzdump:101:root@pam:",
            Some((
                "pve1",
                0xABCD,
                0x1C419D88A,
                0x6119FB65,
                "vzdump",
                "101",
                "root@pam",
            )),
        );
        // Empty id.
        check(
            "UPID:pve1:00000DD3:1C419D88:6119FB65:vzdump::root@pam:",
            Some((
                "pve1", 0xDD3, 0x1C419D88, 0x6119FB65, "vzdump", "", "root@pam",
            )),
        );
        // Token user.
        check(
            "UPID:n1:00000001:00000002:00000003:qmstop:100:mcp@pve!assistant:",
            Some(("n1", 1, 2, 3, "qmstop", "100", "mcp@pve!assistant")),
        );
        check(
            "UPID:iaclab-01-01:00000DD3:1C419D88:6119FB65:srvreload:networking:root@pam:",
            Some((
                "iaclab-01-01",
                0xDD3,
                0x1C419D88,
                0x6119FB65,
                "srvreload",
                "networking",
                "root@pam",
            )),
        );
        // Malformed.
        check(
            "UPID:pve1:00000DD3:1C419D88:6119FB65:vzdump::root@pam",
            None,
        ); // no trailing colon
        check("UPID:pve1:DD3:1C419D88:6119FB65:vzdump::root@pam:", None); // short pid
        check(
            "UPID:pve1:00000DD3:1C419D8:6119FB65:vzdump::root@pam:",
            None,
        ); // 7-hex pstart
        check(
            "UPID:pve1:00000DD3:1C419D88AA:6119FB65:vzdump::root@pam:",
            None,
        ); // 10-hex pstart
        check(
            "UPID:-pve:00000DD3:1C419D88:6119FB65:vzdump::root@pam:",
            None,
        ); // bad node
        check(
            "UPID:pve1:00000DD3:1C419D88:6119FB65:vz/dump::root@pam:",
            None,
        ); // slash in type
        check("UPID:pve1:00000DD3:1C419D88:6119FB65:::root@pam:", None); // empty type
        check("", None);
    }

    #[test]
    fn lowercase_hex_is_read_and_printed_uppercase() {
        let u: Upid = "UPID:pve:0000abcd:001036a5:6419caf8:qmstart:100:root@pam:"
            .parse()
            .unwrap();
        assert_eq!(
            u.to_string(),
            "UPID:pve:0000ABCD:001036A5:6419CAF8:qmstart:100:root@pam:"
        );
    }
}
