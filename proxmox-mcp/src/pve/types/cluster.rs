//! Cluster-wide views: `/cluster/resources`, `/cluster/status`, `/cluster/ha/status/current`, `/version`, `/cluster/backup`.

use serde::{Deserialize, Serialize};

use super::super::perl::{self, Text};
use super::guest::GuestKind;

/// One entry of `GET /cluster/resources` (guest, node, storage, pool, sdn…).
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct ClusterResource {
    /// `qemu/100`, `lxc/101`, `node/pve1`, `storage/pve1/local`, `pool/x`, `sdn/pve1/zone`.
    pub id: String,
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(
        default,
        deserialize_with = "perl::de_opt_vmid",
        skip_serializing_if = "Option::is_none"
    )]
    pub vmid: Option<u32>,
    #[serde(
        default,
        deserialize_with = "perl::de_opt_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    #[serde(
        default,
        deserialize_with = "perl::de_opt_f64",
        skip_serializing_if = "Option::is_none"
    )]
    pub cpu: Option<f64>,
    #[serde(
        default,
        deserialize_with = "perl::de_opt_f64",
        skip_serializing_if = "Option::is_none"
    )]
    pub maxcpu: Option<f64>,
    #[serde(
        default,
        deserialize_with = "perl::de_opt_u64",
        skip_serializing_if = "Option::is_none"
    )]
    pub mem: Option<u64>,
    #[serde(
        default,
        deserialize_with = "perl::de_opt_u64",
        skip_serializing_if = "Option::is_none"
    )]
    pub maxmem: Option<u64>,
    #[serde(
        default,
        deserialize_with = "perl::de_opt_u64",
        skip_serializing_if = "Option::is_none"
    )]
    pub disk: Option<u64>,
    #[serde(
        default,
        deserialize_with = "perl::de_opt_u64",
        skip_serializing_if = "Option::is_none"
    )]
    pub maxdisk: Option<u64>,
    #[serde(
        default,
        deserialize_with = "perl::de_opt_u64",
        skip_serializing_if = "Option::is_none"
    )]
    pub uptime: Option<u64>,
    /// `;`-separated (see [`ClusterResource::tag_list`]).
    #[serde(
        default,
        deserialize_with = "perl::de_opt_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub tags: Option<String>,
    #[serde(default, deserialize_with = "perl::de_bool")]
    pub template: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lock: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pool: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hastate: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub storage: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plugintype: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content: Option<String>,
    #[serde(
        default,
        deserialize_with = "perl::de_opt_bool",
        skip_serializing_if = "Option::is_none"
    )]
    pub shared: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub level: Option<String>,
    #[serde(
        default,
        deserialize_with = "perl::de_opt_u64",
        skip_serializing_if = "Option::is_none"
    )]
    pub netin: Option<u64>,
    #[serde(
        default,
        deserialize_with = "perl::de_opt_u64",
        skip_serializing_if = "Option::is_none"
    )]
    pub netout: Option<u64>,
    #[serde(
        default,
        deserialize_with = "perl::de_opt_u64",
        skip_serializing_if = "Option::is_none"
    )]
    pub diskread: Option<u64>,
    #[serde(
        default,
        deserialize_with = "perl::de_opt_u64",
        skip_serializing_if = "Option::is_none"
    )]
    pub diskwrite: Option<u64>,
}

/// A `/cluster/resources` entry with what the guest list and the cluster totals use, decoded
/// straight from the response body ([`crate::pve::Pve::each_resource`]): strings are borrowed
/// from it and other members skipped, so 5,000 guests cost a fraction of [`ClusterResource`]s.
#[derive(Debug, Deserialize)]
pub struct ResourceRef<'a> {
    #[serde(borrow)]
    pub id: Text<'a>,
    #[serde(rename = "type", borrow)]
    pub kind: Text<'a>,
    #[serde(default, deserialize_with = "perl::de_opt_vmid")]
    pub vmid: Option<u32>,
    #[serde(default, borrow)]
    pub name: Text<'a>,
    #[serde(default, borrow)]
    pub node: Text<'a>,
    #[serde(default, borrow)]
    pub status: Text<'a>,
    #[serde(default, deserialize_with = "perl::de_opt_f64")]
    pub cpu: Option<f64>,
    #[serde(default, deserialize_with = "perl::de_opt_f64")]
    pub maxcpu: Option<f64>,
    #[serde(default, deserialize_with = "perl::de_opt_u64")]
    pub mem: Option<u64>,
    #[serde(default, deserialize_with = "perl::de_opt_u64")]
    pub maxmem: Option<u64>,
    #[serde(default, deserialize_with = "perl::de_opt_u64")]
    pub disk: Option<u64>,
    #[serde(default, deserialize_with = "perl::de_opt_u64")]
    pub maxdisk: Option<u64>,
    #[serde(default, deserialize_with = "perl::de_opt_u64")]
    pub uptime: Option<u64>,
    #[serde(default, deserialize_with = "perl::de_opt_u64")]
    pub netin: Option<u64>,
    #[serde(default, deserialize_with = "perl::de_opt_u64")]
    pub netout: Option<u64>,
    #[serde(default, borrow)]
    pub tags: Text<'a>,
    #[serde(default, deserialize_with = "perl::de_bool")]
    pub template: bool,
    #[serde(default, borrow)]
    pub lock: Text<'a>,
    #[serde(default, borrow)]
    pub pool: Text<'a>,
    #[serde(default, borrow)]
    pub hastate: Text<'a>,
    #[serde(default, borrow)]
    pub storage: Text<'a>,
    #[serde(default, deserialize_with = "perl::de_opt_bool")]
    pub shared: Option<bool>,
}

impl ResourceRef<'_> {
    /// `Some` for `qemu`/`lxc` entries.
    pub fn guest_kind(&self) -> Option<GuestKind> {
        self.kind.as_deref()?.parse().ok()
    }
}

impl ClusterResource {
    /// `Some` for `qemu`/`lxc` entries.
    pub fn guest_kind(&self) -> Option<GuestKind> {
        self.kind.parse().ok()
    }

    /// Tags split on `;` (PVE also accepts `,` and spaces when setting them), empty ones dropped.
    pub fn tag_list(&self) -> Vec<&str> {
        split_tags(self.tags.as_deref())
    }
}

pub fn split_tags(tags: Option<&str>) -> Vec<&str> {
    tags.map(|t| {
        t.split([';', ',', ' '])
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .collect()
    })
    .unwrap_or_default()
}

/// One entry of `GET /cluster/status`: the cluster itself (`type: cluster`) or a node.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct ClusterStatusItem {
    #[serde(rename = "type")]
    pub kind: String,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(
        default,
        deserialize_with = "perl::de_opt_u64",
        skip_serializing_if = "Option::is_none"
    )]
    pub nodes: Option<u64>,
    #[serde(
        default,
        deserialize_with = "perl::de_opt_bool",
        skip_serializing_if = "Option::is_none"
    )]
    pub quorate: Option<bool>,
    #[serde(
        default,
        deserialize_with = "perl::de_opt_u64",
        skip_serializing_if = "Option::is_none"
    )]
    pub version: Option<u64>,
    #[serde(
        default,
        deserialize_with = "perl::de_opt_bool",
        skip_serializing_if = "Option::is_none"
    )]
    pub online: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ip: Option<String>,
    #[serde(
        default,
        deserialize_with = "perl::de_opt_bool",
        skip_serializing_if = "Option::is_none"
    )]
    pub local: Option<bool>,
    #[serde(
        default,
        deserialize_with = "perl::de_opt_u64",
        skip_serializing_if = "Option::is_none"
    )]
    pub nodeid: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub level: Option<String>,
}

/// `GET /version`.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct Version {
    #[serde(deserialize_with = "perl::de_string")]
    pub version: String,
    #[serde(
        default,
        deserialize_with = "perl::de_opt_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub release: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repoid: Option<String>,
}

/// One entry of `GET /cluster/ha/status/current` (quorum, master, lrm or service).
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct HaStatusItem {
    pub id: String,
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sid: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
    #[serde(
        default,
        deserialize_with = "perl::de_opt_bool",
        skip_serializing_if = "Option::is_none"
    )]
    pub quorate: Option<bool>,
}

/// One entry of `GET /cluster/backup` (a vzdump job).
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct BackupJob {
    pub id: String,
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    #[serde(
        default,
        deserialize_with = "perl::de_opt_bool",
        skip_serializing_if = "Option::is_none"
    )]
    pub enabled: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schedule: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub storage: Option<String>,
    /// Comma-separated vmids (a string even for one guest).
    #[serde(
        default,
        deserialize_with = "perl::de_opt_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub vmid: Option<String>,
    #[serde(
        default,
        deserialize_with = "perl::de_opt_bool",
        skip_serializing_if = "Option::is_none"
    )]
    pub all: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pool: Option<String>,
    #[serde(
        rename = "next-run",
        default,
        deserialize_with = "perl::de_opt_i64",
        skip_serializing_if = "Option::is_none"
    )]
    pub next_run: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
}
