//! Parameter escalations: what a request's parameters make it do beyond its path (lifting a
//! guest's protection, deleting its disks, giving it host resources, hook scripts, forced
//! stops, firewall lockdowns), and command-line options read as API parameters.

use serde_json::{Map, Value};

use super::{classify_api, decode, segments};
use crate::policy::Class;

/// Classifies a raw API request with its parameters: [`classify_api`], raised by what the
/// parameters make the request do:
///
/// - a guest config change (`PUT`/`POST /nodes/{n}/{qemu|lxc}/{vmid}/config`) that lifts the
///   `protection` flag (any value but 1/true/yes/on), deletes or reverts it, sets, deletes or
///   reverts `tags`, deletes a disk or mount point ([`deletes_disk`]) or gives the guest host
///   resources ([`host_resource`]): Destructive; one that sets a `hookscript` or raw QEMU
///   `args` (code the host runs at the guest's next start): Exec; creating a guest is judged
///   the same way;
/// - a guest shutdown with `forceStop` in any spelling but a false one: Destructive (it ends in
///   a hard stop);
/// - the cluster or node firewall options ([`firewall_lockdown`]): Destructive;
/// - creating a guest with `force` (it overwrites the existing guest) or with host resources:
///   Destructive; with a hook script or raw QEMU arguments: Exec;
/// - a backup with `prune-backups` (it deletes older backups): Destructive; a backup or a
///   scheduled backup job (`/cluster/backup`) with a `script` hook: Exec.
pub fn classify_api_call(method: &str, path: &str, params: &Map<String, Value>) -> Class {
    let class = classify_api(method, path);
    let method = method.trim().to_ascii_uppercase();
    if !matches!(method.as_str(), "PUT" | "POST") {
        return class;
    }
    let lower: Vec<String> = segments(path)
        .iter()
        .map(|s| s.to_ascii_lowercase())
        .collect();
    let l: Vec<&str> = lower.iter().map(String::as_str).collect();
    let raised = match l.as_slice() {
        ["nodes", _, "qemu" | "lxc", _, "config"] => {
            if runs_on_host(params) {
                Class::Exec
            } else if unprotects(params) || deletes_disk(params) || host_resource(params).is_some()
            {
                Class::Destructive
            } else {
                class
            }
        }
        ["nodes", _, "qemu" | "lxc"] => {
            if runs_on_host(params) {
                Class::Exec
            } else if param(params, "force").is_some_and(|v| !is_false(v))
                || host_resource(params).is_some()
            {
                Class::Destructive
            } else {
                class
            }
        }
        ["nodes", _, "qemu" | "lxc", _, "status", "shutdown"]
            if param(params, "forcestop").is_some_and(|v| !is_false(v)) =>
        {
            Class::Destructive
        }
        ["cluster", "firewall", "options"] | ["nodes", _, "firewall", "options"]
            if firewall_lockdown(params) =>
        {
            Class::Destructive
        }
        ["nodes", _, "vzdump"] | ["cluster", "backup", ..] if param(params, "script").is_some() => {
            Class::Exec
        }
        ["nodes", _, "vzdump"] if param(params, "prune-backups").is_some() => Class::Destructive,
        _ => class,
    };
    class.max(raised)
}

/// A hook script or raw QEMU arguments: code the host runs when the guest starts.
fn runs_on_host(params: &Map<String, Value>) -> bool {
    param(params, "hookscript").is_some() || param(params, "args").is_some()
}

/// The value of parameter `name` (lowercase), its key compared decoded, trimmed, without
/// leading dashes and in any case.
fn param<'a>(params: &'a Map<String, Value>, name: &str) -> Option<&'a Value> {
    params.iter().find_map(|(k, v)| {
        decode(k)
            .trim()
            .trim_start_matches('-')
            .eq_ignore_ascii_case(name)
            .then_some(v)
    })
}

/// Whether a change of the cluster or node firewall options can disable the firewall or lock
/// the nodes down: `enable` set at all (a false value disables it; a true one turns on its
/// rules and the cluster's default `DROP` input policy, which can cut off the API and SSH), an
/// input, output or forward policy other than `ACCEPT`, or any of these deleted (back to the
/// defaults: cluster firewall off, input policy `DROP`).
pub fn firewall_lockdown(params: &Map<String, Value>) -> bool {
    const POLICIES: &[&str] = &["policy_in", "policy_out", "policy_forward"];
    if param(params, "enable").is_some() {
        return true;
    }
    let blocks = POLICIES.iter().any(|p| {
        param(params, p).is_some_and(|v| !matches!(v, Value::String(s) if clean(s) == "accept"))
    });
    let resets = ["delete", "revert"].iter().any(|k| {
        param(params, k).is_some_and(|v| {
            list_items(v)
                .iter()
                .any(|i| i == "enable" || POLICIES.contains(&i.as_str()))
        })
    });
    blocks || resets
}

/// Whether config parameters delete a guest's disk or mount point: `unusedN` deletes the
/// volume itself; a drive (`scsiN`, `virtioN`, `sataN`, `ideN`, `efidiskN`, `tpmstateN`) or
/// mount point (`rootfs`, `mpN`) is pulled from the guest, and deleted with `force`.
pub fn deletes_disk(params: &Map<String, Value>) -> bool {
    param(params, "delete").is_some_and(|v| list_items(v).iter().any(|i| disk_key(i)))
}

/// What a guest config change or creation gives the guest of the host's own, if anything: a
/// disk or mount point whose volume is a host path (`/dev/sdb`, a file, a bind-mounted
/// directory, used in place), a disk imported from a host device (`import-from=/dev/…`), a
/// PCI, USB (not SPICE), serial or parallel device passed through, a host directory shared
/// with virtiofs, a container device node, or a container's right to mount file systems
/// (`features: mount=…`; in a privileged container, the host's own disks). Every one reaches
/// past the guest, so it is Destructive (a human approves it, and a protected guest refuses).
pub fn host_resource(params: &Map<String, Value>) -> Option<String> {
    params.iter().find_map(|(k, v)| {
        let key = decode(k)
            .trim()
            .trim_start_matches('-')
            .to_ascii_lowercase();
        let value = match v {
            Value::String(s) => decode(s),
            Value::Null => return None,
            other => other.to_string(),
        };
        let items: Vec<String> = value
            .split(',')
            .map(|i| i.trim().trim_matches(['"', '\'', '`']).trim().to_string())
            .collect();
        let item = |name: &str| {
            items.iter().find_map(|i| {
                i.split_once('=')
                    .filter(|(k, _)| k.trim().eq_ignore_ascii_case(name))
                    .map(|(_, v)| v.trim().to_string())
            })
        };
        let stem = key.trim_end_matches(|c: char| c.is_ascii_digit());
        let numbered = stem.len() < key.len();
        if disk_key(&key) && stem != "unused" {
            let volume = items
                .first()
                .filter(|i| !i.contains('='))
                .cloned()
                .or_else(|| item("file"))
                .or_else(|| item("volume"))
                .unwrap_or_default();
            if volume.starts_with('/') {
                return Some(format!("{key} is the host path {volume}"));
            }
            if let Some(from) = item("import-from").filter(|f| host_device(f)) {
                return Some(format!("{key} copies the host's {from}"));
            }
            return None;
        }
        match stem {
            "hostpci" | "virtiofs" | "parallel" | "dev" if numbered => {
                Some(format!("{key} passes a host device or directory through"))
            }
            "usb" if numbered => {
                let host = item("host")
                    .or_else(|| items.first().cloned())
                    .unwrap_or_default();
                (!host.eq_ignore_ascii_case("spice"))
                    .then(|| format!("{key} passes a host USB device through"))
            }
            "serial" if numbered && items.first().is_some_and(|i| i.starts_with('/')) => {
                Some(format!("{key} passes the host's serial port through"))
            }
            "features" if !numbered && item("mount").is_some_and(|m| !m.is_empty()) => Some(
                "features lets the container mount file systems (in a privileged container, \
                 the host's own disks)"
                    .to_string(),
            ),
            _ => None,
        }
    })
}

/// A host device or kernel file: what importing it copies is the host's own data.
pub fn host_device(path: &str) -> bool {
    let p = decode(path);
    let p = p.trim();
    ["/dev/", "/proc/", "/sys/"]
        .iter()
        .any(|d| p.starts_with(d))
}

/// A guest config key naming a disk or mount point.
fn disk_key(key: &str) -> bool {
    if key == "rootfs" {
        return true;
    }
    let stem = key.trim_end_matches(|c: char| c.is_ascii_digit());
    stem.len() < key.len()
        && matches!(
            stem,
            "unused" | "scsi" | "virtio" | "sata" | "ide" | "efidisk" | "tpmstate" | "mp"
        )
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
        Value::String(s) => matches!(clean(s).as_str(), "1" | "true" | "yes" | "on"),
        _ => false,
    }
}

/// PVE's false spellings for a boolean (0, false, no, off, in any case); anything else may be
/// taken as true, so an option that makes a request harsher counts unless it is plainly off.
fn is_false(v: &Value) -> bool {
    match v {
        Value::Bool(b) => !*b,
        Value::Number(n) => n.as_f64() == Some(0.0),
        Value::String(s) => matches!(clean(s).as_str(), "0" | "false" | "no" | "off"),
        _ => false,
    }
}

/// A scalar parameter as PVE reads it: decoded, trimmed, unquoted, lowercase.
fn clean(s: &str) -> String {
    decode(s)
        .trim()
        .trim_matches(['"', '\'', '`'])
        .trim()
        .to_ascii_lowercase()
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
