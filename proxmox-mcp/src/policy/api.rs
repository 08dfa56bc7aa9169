//! Classification of raw Proxmox API requests (`proxmox_api`) by method, path and parameters.
//!
//! Paths are compared segment by segment after [`segments`] has undone the spellings that could
//! hide a target: percent-encoding (repeated), doubled and trailing slashes, and any
//! `/api2/<format>` prefix. [`classify_api`] looks at the path alone; [`classify_api_call`] also
//! reads the parameters, which can only raise the class: a guest config change that drops the
//! `protection` flag or touches `tags` (a protected tag could go) is Destructive, so protected
//! guests refuse it and normal mode asks a human.

use serde_json::{Map, Value};

use super::Class;
use crate::tools::raw_api::risky_get;

/// Lifecycle actions under `…/status/`.
const LIFECYCLE: &[&str] = &["start", "stop", "shutdown", "reboot", "suspend", "resume"];

/// Path words that mean data goes away, wherever they appear in a segment.
const DESTRUCTIVE_WORDS: &[&str] = &["zap", "destroy", "purge", "wipe"];

/// Final segments that run code on a node or in a guest, or open a console.
const EXEC_LAST: &[&str] = &[
    "termproxy",
    "vncproxy",
    "spiceproxy",
    "vncwebsocket",
    "mtunnel",
    "mtunnelwebsocket",
    "monitor",
    "sendkey",
];

/// The path's segments, decoded: percent-encoding undone (until stable, `%2F` included), empty
/// segments (from doubled or trailing slashes) dropped, surrounding whitespace trimmed and an
/// `/api2/<format>` prefix removed. Case is kept: node and storage names are case-sensitive.
pub fn segments(path: &str) -> Vec<String> {
    // Decode before splitting: an encoded `%2F` is a separator to us, the conservative reading.
    let mut segs: Vec<String> = decode(path)
        .split('/')
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .collect();
    if segs.first().is_some_and(|s| s.eq_ignore_ascii_case("api2")) {
        let n = segs.len().min(2);
        segs.drain(..n);
    }
    segs
}

/// Percent-decodes until nothing changes (so `%2540` is `@` too); a bad escape stays as is.
pub(crate) fn decode(s: &str) -> String {
    let mut cur = s.to_string();
    for _ in 0..4 {
        let bytes = cur.as_bytes();
        let mut out = Vec::with_capacity(bytes.len());
        let mut i = 0;
        while i < bytes.len() {
            let hex = (bytes[i] == b'%')
                .then(|| cur.get(i + 1..i + 3))
                .flatten()
                .and_then(|h| u8::from_str_radix(h, 16).ok());
            match hex {
                Some(b) => {
                    out.push(b);
                    i += 3;
                }
                None => {
                    out.push(bytes[i]);
                    i += 1;
                }
            }
        }
        let next = String::from_utf8_lossy(&out).into_owned();
        if next == cur {
            break;
        }
        cur = next;
    }
    cur
}

/// Classifies a raw API request. `path` is relative to `/api2/json` (a prefix, encodings and
/// stray slashes are tolerated). Unknown methods are Destructive: deny by default.
pub fn classify_api(method: &str, path: &str) -> Class {
    let segs = segments(path);
    let lower: Vec<String> = segs.iter().map(|s| s.to_ascii_lowercase()).collect();
    let last = lower.last().map(String::as_str).unwrap_or("");
    let method = method.trim().to_ascii_uppercase();
    if method == "GET" {
        return if risky_get(&format!("/{}", segs.join("/"))).is_some() {
            Class::Exec
        } else {
            Class::Read
        };
    }
    let write = match method.as_str() {
        "POST" | "PUT" => Class::Modify,
        "DELETE" => Class::Destructive,
        _ => return Class::Destructive,
    };
    let parent = lower
        .len()
        .checked_sub(2)
        .map(|i| lower[i].as_str())
        .unwrap_or("");
    let exec = (parent == "agent" && matches!(last, "exec" | "file-write" | "set-user-password"))
        || (lower.first().map(String::as_str) == Some("nodes")
            && lower.len() == 3
            && last == "execute")
        || EXEC_LAST.contains(&last);
    if exec {
        return Class::Exec;
    }
    let destructive = write == Class::Destructive
        || (parent == "status" && last == "reset")
        || (lower.len() >= 3 && lower[lower.len() - 3] == "snapshot" && last == "rollback")
        || matches!(last, "wipedisk" | "unlink" | "rollback")
        || lower
            .iter()
            .any(|s| DESTRUCTIVE_WORDS.iter().any(|w| s.contains(w)));
    // `POST /nodes/{node}/status` reboots or shuts the node down, with every guest on it.
    let node_power =
        method == "POST" && lower.len() == 3 && lower[0] == "nodes" && last == "status";
    if destructive || node_power {
        return Class::Destructive;
    }
    if method == "POST" && parent == "status" && LIFECYCLE.contains(&last) {
        return Class::Lifecycle;
    }
    if method == "POST"
        && lower.first().map(String::as_str) == Some("nodes")
        && lower.len() == 3
        && matches!(last, "startall" | "stopall" | "suspendall")
    {
        return Class::Lifecycle;
    }
    write
}

/// Classifies a raw API request with its parameters: [`classify_api`], raised to Destructive
/// when a guest config change (`PUT`/`POST /nodes/{n}/{qemu|lxc}/{vmid}/config`) lifts the
/// `protection` flag (any value but 1/true/yes/on), deletes or reverts it, or sets, deletes or
/// reverts `tags`.
pub fn classify_api_call(method: &str, path: &str, params: &Map<String, Value>) -> Class {
    let class = classify_api(method, path);
    let method = method.trim().to_ascii_uppercase();
    let lower: Vec<String> = segments(path)
        .iter()
        .map(|s| s.to_ascii_lowercase())
        .collect();
    let guest_config = matches!(method.as_str(), "PUT" | "POST")
        && lower.len() == 5
        && lower[0] == "nodes"
        && matches!(lower[2].as_str(), "qemu" | "lxc")
        && lower[4] == "config";
    if guest_config && unprotects(params) {
        return class.max(Class::Destructive);
    }
    class
}

/// Whether config parameters can take a guest's protection away: `protection` set to anything
/// but a true value, `protection` or `tags` in `delete`/`revert`, or `tags` set at all.
pub fn unprotects(params: &Map<String, Value>) -> bool {
    params.iter().any(|(k, v)| {
        match decode(k)
            .trim()
            .trim_start_matches('-')
            .to_ascii_lowercase()
            .as_str()
        {
            "protection" => !is_true(v),
            "tags" => true,
            "delete" | "revert" => list_items(v)
                .iter()
                .any(|i| matches!(i.as_str(), "protection" | "tags")),
            _ => false,
        }
    })
}

/// PVE's true spellings for a boolean; everything else (0, false, no, off, empty) is false.
fn is_true(v: &Value) -> bool {
    match v {
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64() == Some(1.0),
        Value::String(s) => matches!(
            decode(s)
                .trim()
                .trim_matches(['"', '\'', '`'])
                .to_ascii_lowercase()
                .as_str(),
            "1" | "true" | "yes" | "on"
        ),
        _ => false,
    }
}

/// The items of a list parameter (`a,b;c d` or a JSON array), decoded and lowercased.
fn list_items(v: &Value) -> Vec<String> {
    match v {
        Value::String(s) => decode(s)
            .split(|c: char| matches!(c, ',' | ';') || c.is_whitespace())
            .map(|i| i.trim_matches(['"', '\'', '`']).trim().to_ascii_lowercase())
            .filter(|i| !i.is_empty())
            .collect(),
        Value::Array(items) => items.iter().flat_map(list_items).collect(),
        _ => Vec::new(),
    }
}

/// Command-line options (`pvesh`, `qm set`) as API parameters: `--key value`, `-key value`, `--key=value`; an
/// option without a value (a boolean flag) is `1`.
pub fn cli_options(args: &[String]) -> Map<String, Value> {
    let mut out = Map::new();
    let mut k = 0;
    while k < args.len() {
        let a = &args[k];
        k += 1;
        let Some(opt) = a.strip_prefix("--").or_else(|| a.strip_prefix('-')) else {
            continue;
        };
        if opt.is_empty() || opt.starts_with(|c: char| c.is_ascii_digit()) {
            continue;
        }
        let (key, value) = match opt.split_once('=') {
            Some((key, value)) => (key, value.to_string()),
            None => match args.get(k) {
                Some(next) if !next.starts_with('-') || next.parse::<f64>().is_ok() => {
                    k += 1;
                    (opt, next.clone())
                }
                _ => (opt, "1".to_string()),
            },
        };
        out.insert(key.to_string(), Value::String(value));
    }
    out
}

/// The guest a path is about: `/nodes/{node}/{qemu|lxc}/{vmid}/…` gives `vmid`.
pub fn target_vmid(path: &str) -> Option<u32> {
    let segs = segments(path);
    match segs.as_slice() {
        [nodes, _, kind, vmid, ..]
            if nodes == "nodes" && matches!(kind.as_str(), "qemu" | "lxc") =>
        {
            vmid.parse().ok()
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Class::*;

    fn check(cases: &[(&str, &str, Class)]) {
        let bad: Vec<String> = cases
            .iter()
            .filter(|(m, p, want)| classify_api(m, p) != *want)
            .map(|(m, p, want)| format!("{m} {p}: got {}, want {want}", classify_api(m, p)))
            .collect();
        assert!(bad.is_empty(), "{}", bad.join("\n"));
    }

    #[test]
    fn classifies() {
        check(&[
            ("GET", "/cluster/resources", Read),
            ("get", "/nodes/pve1/qemu/100/config", Read),
            ("GET", "/nodes/pve1/qemu/100/agent/file-read", Exec),
            ("GET", "/nodes/pve1/qemu/100/agent/exec-status", Exec),
            ("GET", "/nodes/pve1/qemu/100/vncwebsocket", Exec),
            ("POST", "/nodes/pve1/qemu/100/status/start", Lifecycle),
            ("POST", "/nodes/pve1/lxc/101/status/shutdown", Lifecycle),
            ("POST", "/nodes/pve1/qemu/100/status/suspend", Lifecycle),
            ("POST", "/nodes/pve1/stopall", Lifecycle),
            ("POST", "/nodes/pve1/status", Destructive),
            ("POST", "//api2/json/nodes/pve1/status/", Destructive),
            ("GET", "/nodes/pve1/status", Read),
            ("PUT", "/nodes/pve1/status", Modify),
            ("POST", "/nodes/pve1/qemu/100/status/reset", Destructive),
            ("POST", "/nodes/pve1/qemu/100/status/RESET/", Destructive),
            ("DELETE", "/nodes/pve1/qemu/100", Destructive),
            (
                "DELETE",
                "/nodes/pve1/storage/local/prunebackups",
                Destructive,
            ),
            (
                "POST",
                "/nodes/pve1/qemu/100/snapshot/s1/rollback",
                Destructive,
            ),
            (
                "POST",
                "/nodes/pve1/lxc/101/snapshot/s1/rollback",
                Destructive,
            ),
            ("PUT", "/nodes/pve1/disks/wipedisk", Destructive),
            ("PUT", "/nodes/pve1/qemu/100/unlink", Destructive),
            ("POST", "/nodes/pve1/ceph/osd/3/zap", Destructive),
            ("POST", "/nodes/pve1/something/purge", Destructive),
            ("POST", "/nodes/pve1/qemu/100/agent/exec", Exec),
            ("POST", "/nodes/pve1/qemu/100/agent/file-write", Exec),
            ("POST", "/nodes/pve1/qemu/100/agent/set-user-password", Exec),
            ("POST", "/nodes/pve1/execute", Exec),
            ("POST", "/nodes/pve1/termproxy", Exec),
            ("POST", "/nodes/pve1/qemu/100/vncproxy", Exec),
            ("POST", "/nodes/pve1/lxc/101/spiceproxy", Exec),
            ("POST", "/nodes/pve1/qemu/100/monitor", Exec),
            ("POST", "/nodes/pve1/qemu/100/agent/exec%2F", Exec),
            ("POST", "/api2/extjs/nodes/pve1/qemu/100/agent/exec", Exec),
            ("POST", "/nodes/pve1/qemu", Modify),
            ("PUT", "/nodes/pve1/qemu/100/config", Modify),
            ("POST", "/nodes/pve1/qemu/100/snapshot", Modify),
            ("PUT", "/nodes/pve1/qemu/100/status/start", Modify),
            ("PATCH", "/nodes/pve1/qemu/100/config", Destructive),
            ("", "/version", Destructive),
            ("OPTIONS", "/version", Destructive),
        ]);
    }

    #[test]
    fn params_raise_the_class() {
        use serde_json::json;
        let cases = [
            (
                "PUT",
                "/nodes/pve1/qemu/100/config",
                json!({"protection": 0}),
                Destructive,
            ),
            (
                "POST",
                "/nodes/pve1/qemu/100/config",
                json!({"protection": "false"}),
                Destructive,
            ),
            (
                "PUT",
                "/nodes/pve1/lxc/101/config",
                json!({"protection": false}),
                Destructive,
            ),
            (
                "PUT",
                "/nodes/pve1/qemu/100/config",
                json!({"protection": ""}),
                Destructive,
            ),
            (
                "PUT",
                "/nodes/pve1/qemu/100/config",
                json!({"protection": "%30"}),
                Destructive,
            ),
            (
                "PUT",
                "/nodes/pve1/qemu/100/config",
                json!({"delete": "net1,protection"}),
                Destructive,
            ),
            (
                "PUT",
                "/nodes/pve1/qemu/100/config",
                json!({"delete": ["Protection"]}),
                Destructive,
            ),
            (
                "PUT",
                "/nodes/pve1/qemu/100/config",
                json!({"delete": "net1; tags"}),
                Destructive,
            ),
            (
                "POST",
                "/nodes/pve1/qemu/100/config",
                json!({"revert": "protection"}),
                Destructive,
            ),
            (
                "PUT",
                "/nodes/pve1/qemu/100/config",
                json!({"tags": "web;db"}),
                Destructive,
            ),
            (
                "PUT",
                "/api2/json/nodes/pve1/lxc/101/config/",
                json!({"tags": ""}),
                Destructive,
            ),
            (
                "PUT",
                "/nodes/pve1/qemu/100/config",
                json!({"protection": 1}),
                Modify,
            ),
            (
                "PUT",
                "/nodes/pve1/qemu/100/config",
                json!({"protection": "true"}),
                Modify,
            ),
            (
                "PUT",
                "/nodes/pve1/qemu/100/config",
                json!({"delete": "net1"}),
                Modify,
            ),
            (
                "PUT",
                "/nodes/pve1/qemu/100/config",
                json!({"memory": 4096}),
                Modify,
            ),
            (
                "GET",
                "/nodes/pve1/qemu/100/config",
                json!({"tags": "x"}),
                Read,
            ),
            (
                "PUT",
                "/nodes/pve1/qemu/100/firewall/options",
                json!({"tags": "x"}),
                Modify,
            ),
            (
                "POST",
                "/nodes/pve1/status",
                json!({"command": "reboot"}),
                Destructive,
            ),
            (
                "POST",
                "/nodes/pve1/status",
                json!({"command": "shutdown"}),
                Destructive,
            ),
        ];
        let bad: Vec<String> = cases
            .iter()
            .filter_map(|(m, p, params, want)| {
                let Value::Object(map) = params else {
                    unreachable!()
                };
                let got = classify_api_call(m, p, map);
                (got != *want).then(|| format!("{m} {p} {params}: got {got}, want {want}"))
            })
            .collect();
        assert!(bad.is_empty(), "{}", bad.join("\n"));
    }

    #[test]
    fn segments_undo_variants() {
        let want = ["access", "users", "root@pam"];
        for p in [
            "/access/users/root@pam",
            "//access//users/root%40pam/",
            "/api2/json/access/users/root%2540pam",
            "/API2/extjs/access/users/root@pam",
            "access/users/root@pam//",
        ] {
            assert_eq!(segments(p), want, "{p}");
        }
    }

    #[test]
    fn vmid() {
        assert_eq!(target_vmid("/nodes/pve1/qemu/100/status/start"), Some(100));
        assert_eq!(target_vmid("//api2/json/nodes/pve1/lxc/101"), Some(101));
        assert_eq!(target_vmid("/nodes/pve1/storage"), None);
    }
}
