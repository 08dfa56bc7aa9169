//! Classification of raw Proxmox API requests (`proxmox_api`) by method, path and parameters.
//!
//! Paths are compared segment by segment after [`segments`] has undone the spellings that could
//! hide a target: percent-encoding (repeated), doubled and trailing slashes, and any
//! `/api2/<format>` prefix. [`classify_api`] looks at the method and path alone: GETs are reads
//! unless [`risky_get`] says otherwise, every other method takes its class from the table of
//! endpoints in `api/table.rs` ([`ENDPOINTS`]), and what the table does not know is Destructive.
//! [`classify_api_call`] also reads the parameters, which can only raise the class.
//!
//! Beside the class: [`auth_lockout`] finds requests that could lock `root@pam` out (root
//! protection refuses them in every mode), and [`named_guests`] every guest a request names,
//! so protected guests can be checked.
//!
//! `api/table.rs` holds the endpoints, `api/params.rs` the escalations by parameter,
//! `api/get.rs` the GETs with side effects, `api/guests.rs` the guests a request names,
//! `api/lockout.rs` the root lock-outs and `api/paths.rs` the decoding of paths.

mod bulk;
mod get;
mod guests;
mod lockout;
mod params;
mod paths;
mod table;

#[cfg(test)]
mod tests;

pub use bulk::bulk_commands;
pub use get::risky_get;
pub use guests::{NamedGuests, Selection, named_guests};
pub use lockout::auth_lockout;
pub use params::{
    ApiVerdict, CLI_KEYS, EVERYONE_OPTIONS, SYSTEM_TREES, classify_api_call, cli_options,
    deletes_disk, files_read, firewall_lockdown, host_device, host_resource, is_list_sep,
    judge_api_call, system_path, unprotects,
};
pub(crate) use paths::decode;
pub use paths::{segments, target_vmid};
pub use table::{ENDPOINTS, Endpoint, endpoint};

use super::Class;

/// Services a node cannot be reached, managed or kept in the cluster without: cluster file
/// system and membership, the API and the daemons behind it, HA and its watchdog (stopping
/// them can fence the node), the firewall, SSH, the network and the guests' own unit. Stopping,
/// killing, masking or disabling one is Destructive, and so is restarting one: a restart that
/// does not come back (a broken configuration, lost quorum) leaves it stopped, and restarting
/// corosync or HA can fence the node. Starting and reloading stay Lifecycle. Through the API,
/// stopping any service is Destructive (each one the API lists is node infrastructure, and
/// it stays down), restarting one of these is too, restarting another stays Lifecycle.
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

/// Classifies a raw API request by method and path. `path` is relative to `/api2/json` (a
/// prefix, encodings and stray slashes are tolerated; literal segments compare in any case).
/// A GET is Read, or Exec when [`risky_get`]; any other method is what [`endpoint`] says, and
/// Destructive when no endpoint matches or the method is unknown: deny by default. Stopping or
/// restarting one of the [`CRITICAL_SERVICES`] is Destructive.
pub fn classify_api(method: &str, path: &str) -> Class {
    let method = method.trim().to_ascii_uppercase();
    if method == "GET" {
        return if risky_get(path).is_some() {
            Class::Exec
        } else {
            Class::Read
        };
    }
    if !matches!(method.as_str(), "POST" | "PUT" | "DELETE") {
        return Class::Destructive;
    }
    let Some(found) = endpoint(&method, path) else {
        return Class::Destructive;
    };
    let lower: Vec<String> = segments(path)
        .iter()
        .map(|s| s.to_ascii_lowercase())
        .collect();
    let l: Vec<&str> = lower.iter().map(String::as_str).collect();
    let cuts_off = matches!(
        l.as_slice(),
        ["nodes", _, "services", svc, "stop" | "restart"] if critical_service(svc)
    );
    if cuts_off {
        return found.class.max(Class::Destructive);
    }
    found.class
}
