//! Configuration snapshots of a cluster: what the API says about guests, storage, access,
//! firewall, HA and backup jobs, normalised so that two snapshots differ only where the
//! configuration really drifted.
//!
//! [`collect`] reads the cluster (the only IO against PVE), [`normalize`] turns each object into
//! a flat map of canonical strings (pure), [`diff`] compares two snapshots (pure) and [`store`]
//! keeps them as files under the state directory.

pub mod collect;
pub mod diff;
pub mod normalize;
pub mod store;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

pub use normalize::Kind;

/// One configuration object: its kind and its keys, each value a canonical string.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Object {
    pub kind: Kind,
    pub values: BTreeMap<String, String>,
}

/// A whole snapshot: every object captured, and what could not be captured and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Snapshot {
    pub id: String,
    pub cluster: String,
    /// RFC 3339 UTC time the collection started.
    pub taken: String,
    /// Object id (`qemu/100`, `user/alice@pve`, `firewall/cluster/rules`) → object.
    pub objects: BTreeMap<String, Object>,
    /// Object id (`qemu/100`) or prefix ending in `/` (`user/`) → why it was not captured.
    /// Objects it covers are never reported as added or removed.
    #[serde(default)]
    pub missing: BTreeMap<String, String>,
}

impl Snapshot {
    /// Why `object` was not captured in this snapshot, if it was not.
    pub fn not_captured(&self, object: &str) -> Option<&str> {
        self.missing
            .iter()
            .find(|(scope, _)| {
                object == scope.as_str()
                    || (scope.ends_with('/') && object.starts_with(scope.as_str()))
            })
            .map(|(_, why)| why.as_str())
    }
}
