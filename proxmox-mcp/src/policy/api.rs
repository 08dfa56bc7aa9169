//! Classification of raw Proxmox API requests (`proxmox_api`) by method, path and parameters.
//!
//! Paths are compared segment by segment after [`segments`] has undone the spellings that could
//! hide a target: percent-encoding (repeated), doubled and trailing slashes, and any
//! `/api2/<format>` prefix. [`classify_api`] looks at the path alone; [`classify_api_call`] also
//! reads the parameters, which can only raise the class: a guest config change that drops the
//! `protection` flag or touches `tags` (a protected tag could go) is Destructive, so protected
//! guests refuse it and normal mode asks a human.
//!
//! Severity follows the effect: a hard power-off (`status/stop`, `status/reset`, a shutdown
//! with `forceStop`, `stopall`), stopping or restarting a service the node cannot be reached or
//! stay in the cluster without ([`CRITICAL_SERVICES`]), disabling or locking down the cluster or
//! node firewall, deleting a guest's disks, giving a guest the host's devices, paths or
//! directories ([`host_resource`]), replacing the node's certificate and migrating a guest to
//! another cluster are Destructive, whichever tool sends them.
//!
//! This file holds the table of classifications by path; `api/params.rs` the escalations by
//! parameter, `api/paths.rs` the decoding of paths.

mod get;
mod params;
mod paths;

#[cfg(test)]
mod tests;

pub use get::risky_get;
pub use params::{
    classify_api_call, cli_options, deletes_disk, firewall_lockdown, host_device, host_resource,
    unprotects,
};
pub(crate) use paths::decode;
pub use paths::{segments, target_vmid};

use super::Class;

/// Lifecycle actions under `…/status/`: the guest shuts down or pauses cleanly. `stop` (pulling
/// the plug) and `reset` are Destructive.
const LIFECYCLE: &[&str] = &["start", "shutdown", "reboot", "suspend", "resume"];

/// Services a node cannot be reached, managed or kept in the cluster without: cluster file
/// system and membership, the API and the daemons behind it, HA and its watchdog (stopping
/// them can fence the node), the firewall, SSH, the network and the guests' own unit. Stopping,
/// killing, masking or disabling one is Destructive, and so is restarting one: a restart that
/// does not come back (a broken configuration, lost quorum) leaves it stopped, and restarting
/// corosync or HA can fence the node. Starting and reloading stay Lifecycle.
pub const CRITICAL_SERVICES: &[&str] = &[
    "pve-cluster",
    "corosync",
    "pveproxy",
    "pvedaemon",
    "pvestatd",
    "pve-ha-crm",
    "pve-ha-lrm",
    "pve-firewall",
    "proxmox-firewall",
    "ssh",
    "sshd",
    "watchdog-mux",
    "networking",
    "pve-guests",
];

/// Whether `unit` (any case, with or without `.service`/`.socket`, percent-encoded or not) is
/// one of the [`CRITICAL_SERVICES`].
pub fn critical_service(unit: &str) -> bool {
    let unit = decode(unit).trim().to_ascii_lowercase();
    let name = unit
        .strip_suffix(".service")
        .or_else(|| unit.strip_suffix(".socket"))
        .unwrap_or(&unit);
    CRITICAL_SERVICES.contains(&name)
}

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
        || (parent == "status" && matches!(last, "reset" | "stop"))
        || (lower.len() >= 3 && lower[lower.len() - 3] == "snapshot" && last == "rollback")
        || matches!(last, "wipedisk" | "unlink" | "rollback")
        || lower
            .iter()
            .any(|s| DESTRUCTIVE_WORDS.iter().any(|w| s.contains(w)));
    let l: Vec<&str> = lower.iter().map(String::as_str).collect();
    // `POST /nodes/{node}/status` reboots or shuts the node down, with every guest on it;
    // `stopall` hard-stops every guest whose shutdown times out (`force-stop` defaults to 1).
    let node_power = matches!(l.as_slice(), ["nodes", _, "status" | "stopall"]);
    // A node that joins a cluster has its own configuration replaced by the cluster's; creating
    // a pool, volume group, file system, GPT or Ceph OSD writes over whole disks.
    let overwrites = method == "POST"
        && matches!(
            l.as_slice(),
            ["cluster", "config", "join"]
                | [
                    "nodes",
                    _,
                    "disks",
                    "zfs" | "lvm" | "lvmthin" | "directory" | "initgpt"
                ]
                | ["nodes", _, "ceph", "osd"]
        );
    let service = match l.as_slice() {
        ["nodes", _, "services", svc, action] => Some((*svc, *action)),
        _ => None,
    };
    let cuts_off = service
        .is_some_and(|(svc, action)| matches!(action, "stop" | "restart") && critical_service(svc));
    // The API and web interface restart with an uploaded or ordered certificate (a bad one
    // locks them out); a guest migrated to another cluster leaves this one's control.
    let certificate = matches!(
        (method.as_str(), l.as_slice()),
        ("POST", ["nodes", _, "certificates", "custom"])
            | (
                "POST" | "PUT",
                ["nodes", _, "certificates", "acme", "certificate"]
            )
    );
    let leaves = method == "POST"
        && matches!(
            l.as_slice(),
            ["nodes", _, "qemu" | "lxc", _, "remote_migrate"]
        );
    if destructive
        || (method == "POST" && node_power)
        || overwrites
        || cuts_off
        || certificate
        || leaves
    {
        return Class::Destructive;
    }
    if method == "POST" && parent == "status" && LIFECYCLE.contains(&last) {
        return Class::Lifecycle;
    }
    if method == "POST" && matches!(l.as_slice(), ["nodes", _, "startall" | "suspendall"]) {
        return Class::Lifecycle;
    }
    if method == "POST"
        && service
            .is_some_and(|(_, action)| matches!(action, "start" | "stop" | "restart" | "reload"))
    {
        return Class::Lifecycle;
    }
    write
}
