//! Every guest a raw API request names, wherever it names it, so the gate can check protected
//! guests: the path, vmid parameters, HA resource ids, replication job ids, volume ids, and
//! the selections (all guests, a pool, a backup job's) that only resolve at run time.

use std::collections::BTreeSet;

use serde_json::{Map, Value};

use super::params::{clean, is_false, param, param_key};
use super::{decode, segments};

/// The guests one request names.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NamedGuests {
    /// Guests named by id, directly or through a volume, HA resource or replication job.
    pub vmids: BTreeSet<u32>,
    /// Sets of guests the request selects that only the cluster can resolve.
    pub selections: BTreeSet<Selection>,
}

impl NamedGuests {
    /// Nothing named at all.
    pub fn is_empty(&self) -> bool {
        self.vmids.is_empty() && self.selections.is_empty()
    }
}

/// Guests a request selects without naming them.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Selection {
    /// Every guest in the cluster (`all=1`, a bulk action or prune without `vms`/`vmid`). An
    /// `exclude` list only narrows it; it is not read, to stay on the safe side.
    All,
    /// Every guest on this node (`startall`, `stopall`, `suspendall`, `migrateall` without
    /// `vms`).
    Node(String),
    /// The guests of this pool (`pool=…`).
    Pool(String),
    /// The guests the existing backup job with this id selects (an update may keep them).
    BackupJob(String),
}

/// Parameters whose values are guest ids (one, or a list in any separator, or an array).
const VMID_PARAMS: &[&str] = &["vmid", "vms", "target-vmid"];

/// Parameters whose values are HA resource ids (`vm:100`, `ct:100`, `100`), one or a list.
const SID_PARAMS: &[&str] = &["sid", "resources"];

/// Every guest `method path params` names. The path: `/nodes/{n}/{qemu|lxc}/{vmid}/…`,
/// `/cluster/ha/resources/{sid}/…`, `/cluster/replication/{id}`,
/// `/nodes/{n}/replication/{id}/…`, volume ids anywhere in it, `/cluster/backup/{id}` (that
/// job's selection). The parameters: `vmid`, `vms`, `target-vmid`, a numeric `target`, HA
/// `sid`/`resources`, a replication job `id`, volume ids in any value (`vm-107-disk-0`,
/// `base-107-disk-1`, `subvol-107-disk-0`, `vm-107-cloudinit`, `vzdump-qemu-107-…`, PBS
/// `vm/107/…`), and `all`/`pool` selections. A clone's `newid` is a new guest and is not
/// named. Keys are compared decoded, trimmed, without leading dashes and in any case; values
/// decoded and unquoted.
pub fn named_guests(method: &str, path: &str, params: &Map<String, Value>) -> NamedGuests {
    let mut out = NamedGuests::default();
    let method = method.trim().to_ascii_uppercase();
    let segs = segments(path);
    let lower: Vec<String> = segs.iter().map(|s| s.to_ascii_lowercase()).collect();
    let l: Vec<&str> = lower.iter().map(String::as_str).collect();
    match l.as_slice() {
        ["nodes", _, "qemu" | "lxc", vmid, ..] => out.vmids.extend(vmid_of(vmid)),
        ["cluster", "ha", "resources", sid, ..] => out.vmids.extend(sid_vmid(sid)),
        ["cluster", "replication", id, ..] | ["nodes", _, "replication", id, ..] => {
            out.vmids.extend(job_vmid(id));
        }
        ["cluster", "backup", _, ..] if method != "GET" => {
            out.selections.insert(Selection::BackupJob(name(&segs[2])));
        }
        _ => {}
    }
    for seg in &segs {
        out.vmids.extend(volume_vmids(seg));
    }
    // A volume id whose `/` was percent-encoded is split by `segments`; read it whole too.
    out.vmids.extend(volume_vmids(&decode(path)));

    // The calls a batch runs name guests of their own.
    if let Some(Some(calls)) = super::bulk_commands(&method, path, params) {
        for (m, p, a) in calls {
            let inner = named_guests(&m, &p, &a);
            out.vmids.extend(inner.vmids);
            out.selections.extend(inner.selections);
        }
    }
    for (k, v) in params {
        let key = param_key(k);
        let key = key.as_str();
        if VMID_PARAMS.contains(&key) {
            out.vmids
                .extend(texts(v).iter().flat_map(|t| list_vmids(t)));
        } else if SID_PARAMS.contains(&key) {
            out.vmids.extend(
                texts(v)
                    .iter()
                    .flat_map(|t| split_list(t))
                    .filter_map(|s| sid_vmid(&s)),
            );
        } else if key == "target" {
            // A node name or a volume almost everywhere; a guest only when it is a number.
            out.vmids
                .extend(texts(v).iter().filter_map(|t| vmid_of(&clean(t))));
        } else if key == "id" && matches!(l.as_slice(), ["cluster", "replication", ..]) {
            out.vmids
                .extend(texts(v).iter().filter_map(|t| job_vmid(&clean(t))));
        }
        for t in texts(v) {
            out.vmids.extend(volume_vmids(&t));
        }
    }

    if method != "GET" {
        let all = param(params, "all").is_some_and(|v| !is_false(v));
        if all {
            out.selections.insert(Selection::All);
        }
        if let Some(pool) = param(params, "pool").map(name_of).filter(|p| !p.is_empty())
            && matches!(
                l.as_slice(),
                ["nodes", _, "vzdump"] | ["cluster", "backup", ..]
            )
        {
            out.selections.insert(Selection::Pool(pool));
        }
        let listed = param(params, "vms").is_some() || param(params, "vmid").is_some();
        match l.as_slice() {
            [
                "nodes",
                node,
                "startall" | "stopall" | "suspendall" | "migrateall",
            ] if !listed => {
                let node = segs.get(1).map_or(*node, String::as_str);
                out.selections.insert(Selection::Node(name(node)));
            }
            ["cluster", "bulk-action", ..] | ["nodes", _, "storage", _, "prunebackups"]
                if !listed =>
            {
                out.selections.insert(Selection::All);
            }
            _ => {}
        }
    }
    out
}

/// A parameter value's texts: a string, a number, or each item of an array.
fn texts(v: &Value) -> Vec<String> {
    match v {
        Value::String(s) => vec![decode(s)],
        Value::Number(n) => vec![n.to_string()],
        Value::Array(items) => items.iter().flat_map(texts).collect(),
        _ => Vec::new(),
    }
}

/// A name as the cluster spells it (ids of pools, jobs and nodes are case-sensitive):
/// decoded, unquoted, trimmed.
fn name(s: &str) -> String {
    decode(s)
        .trim()
        .trim_matches(|c: char| matches!(c, '"' | '\'' | '`') || c.is_whitespace())
        .to_string()
}

/// A scalar parameter value as a [`name`].
fn name_of(v: &Value) -> String {
    match v {
        Value::String(s) => name(s),
        Value::Number(n) => n.to_string(),
        _ => String::new(),
    }
}

/// The items of a list: split on commas, semicolons and whitespace, each unquoted.
fn split_list(s: &str) -> Vec<String> {
    decode(s)
        .split(super::is_list_sep)
        .map(|i| {
            i.trim_matches(|c: char| matches!(c, '"' | '\'' | '`' | '[' | ']') || c.is_whitespace())
                .to_string()
        })
        .filter(|i| !i.is_empty())
        .collect()
}

/// Every guest id in a list of them (`100,101`, `"100" 101`, `[100, 101]`).
fn list_vmids(s: &str) -> Vec<u32> {
    split_list(s).iter().filter_map(|i| vmid_of(i)).collect()
}

/// One guest id: digits (a `.0` from a JSON float tolerated); anything else is not one.
fn vmid_of(s: &str) -> Option<u32> {
    let s = clean(s);
    let s = s.strip_suffix(".0").unwrap_or(&s);
    (!s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
        .then(|| s.parse().ok())
        .flatten()
}

/// The guest of an HA resource id: `vm:100`, `ct:100` or a bare `100`.
fn sid_vmid(s: &str) -> Option<u32> {
    let s = clean(s);
    let id = s.rsplit(':').next().unwrap_or(&s);
    vmid_of(id)
}

/// The guest of a replication job id: `100-0`.
fn job_vmid(s: &str) -> Option<u32> {
    let s = clean(s);
    vmid_of(s.split('-').next().unwrap_or(&s))
}

/// Guests whose volumes a text names: `vm-107-disk-0`, `base-107-disk-1`,
/// `subvol-107-disk-0`, `basevol-107-…`, `vm-107-cloudinit`, `vm-107-state-…`, backups
/// `vzdump-qemu-107-…`/`vzdump-lxc-107-…`, and PBS snapshots `…:backup/vm/107/…`,
/// `ct/107/…`.
pub fn volume_vmids(text: &str) -> Vec<u32> {
    let t = decode(text).to_ascii_lowercase();
    let b = t.as_bytes();
    let mut out = Vec::new();
    let boundary = |i: usize| i == 0 || !b[i - 1].is_ascii_alphanumeric();
    // `prefix` then digits then `end`; the prefix must start at a word boundary.
    let mut scan = |prefix: &str, ends: &[u8]| {
        let mut from = 0;
        while let Some(pos) = t[from..].find(prefix) {
            let start = from + pos;
            from = start + 1;
            if !boundary(start) {
                continue;
            }
            let digits_at = start + prefix.len();
            let len = b[digits_at..]
                .iter()
                .take_while(|c| c.is_ascii_digit())
                .count();
            let end = b.get(digits_at + len);
            if len > 0
                && len <= 9
                && end.is_none_or(|e| ends.contains(e))
                && let Ok(id) = t[digits_at..digits_at + len].parse()
            {
                out.push(id);
            }
        }
    };
    for prefix in ["vm-", "base-", "subvol-", "basevol-"] {
        scan(prefix, b"-");
    }
    for prefix in ["vzdump-qemu-", "vzdump-lxc-", "vzdump-openvz-"] {
        scan(prefix, b"-.");
    }
    for prefix in ["vm/", "ct/"] {
        scan(prefix, b"/");
    }
    out
}
