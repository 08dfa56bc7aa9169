//! Node views: `/nodes`, `/nodes/{node}/status`, `/nodes/{node}/subscription`, `/nodes/{node}/network`.

use serde::{Deserialize, Serialize};

use super::super::perl;

/// One entry of `GET /nodes`.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct NodeListItem {
    pub node: String,
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
    /// SHA-256 of the node certificate, `AA:BB:…`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ssl_fingerprint: Option<String>,
    /// Subscription level (`""` when none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub level: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
pub struct CpuInfo {
    #[serde(
        default,
        deserialize_with = "perl::de_opt_u64",
        skip_serializing_if = "Option::is_none"
    )]
    pub cpus: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    #[serde(
        default,
        deserialize_with = "perl::de_opt_u64",
        skip_serializing_if = "Option::is_none"
    )]
    pub sockets: Option<u64>,
    #[serde(
        default,
        deserialize_with = "perl::de_opt_u64",
        skip_serializing_if = "Option::is_none"
    )]
    pub cores: Option<u64>,
    #[serde(
        default,
        deserialize_with = "perl::de_opt_f64",
        skip_serializing_if = "Option::is_none"
    )]
    pub mhz: Option<f64>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
pub struct MemUsage {
    #[serde(
        default,
        deserialize_with = "perl::de_opt_u64",
        skip_serializing_if = "Option::is_none"
    )]
    pub total: Option<u64>,
    #[serde(
        default,
        deserialize_with = "perl::de_opt_u64",
        skip_serializing_if = "Option::is_none"
    )]
    pub used: Option<u64>,
    #[serde(
        default,
        deserialize_with = "perl::de_opt_u64",
        skip_serializing_if = "Option::is_none"
    )]
    pub free: Option<u64>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
pub struct FsUsage {
    #[serde(
        default,
        deserialize_with = "perl::de_opt_u64",
        skip_serializing_if = "Option::is_none"
    )]
    pub total: Option<u64>,
    #[serde(
        default,
        deserialize_with = "perl::de_opt_u64",
        skip_serializing_if = "Option::is_none"
    )]
    pub used: Option<u64>,
    #[serde(
        default,
        deserialize_with = "perl::de_opt_u64",
        skip_serializing_if = "Option::is_none"
    )]
    pub avail: Option<u64>,
    #[serde(
        default,
        deserialize_with = "perl::de_opt_u64",
        skip_serializing_if = "Option::is_none"
    )]
    pub free: Option<u64>,
}

/// `GET /nodes/{node}/status`.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
pub struct NodeStatus {
    #[serde(
        default,
        deserialize_with = "perl::de_opt_f64",
        skip_serializing_if = "Option::is_none"
    )]
    pub cpu: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpuinfo: Option<CpuInfo>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory: Option<MemUsage>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub swap: Option<MemUsage>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rootfs: Option<FsUsage>,
    /// 1, 5 and 15 minute load (PVE sends strings).
    #[serde(default, deserialize_with = "perl::de_f64_vec")]
    pub loadavg: Vec<f64>,
    #[serde(
        default,
        deserialize_with = "perl::de_opt_u64",
        skip_serializing_if = "Option::is_none"
    )]
    pub uptime: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kversion: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pveversion: Option<String>,
    #[serde(
        rename = "current-kernel",
        default,
        deserialize_with = "perl::de_opt_value",
        skip_serializing_if = "Option::is_none"
    )]
    pub current_kernel: Option<serde_json::Value>,
    /// IO wait fraction.
    #[serde(
        default,
        deserialize_with = "perl::de_opt_f64",
        skip_serializing_if = "Option::is_none"
    )]
    pub wait: Option<f64>,
}

/// `GET /nodes/{node}/subscription`.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct Subscription {
    /// `new`, `notfound`, `active`, `invalid`, `expired`, `suspended`.
    #[serde(deserialize_with = "perl::de_string")]
    pub status: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub level: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub productname: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nextduedate: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

/// One entry of `GET /nodes/{node}/network`.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct NetworkInterface {
    pub iface: String,
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    #[serde(
        default,
        deserialize_with = "perl::de_opt_bool",
        skip_serializing_if = "Option::is_none"
    )]
    pub active: Option<bool>,
    #[serde(
        default,
        deserialize_with = "perl::de_opt_bool",
        skip_serializing_if = "Option::is_none"
    )]
    pub autostart: Option<bool>,
    #[serde(
        default,
        deserialize_with = "perl::de_opt_bool",
        skip_serializing_if = "Option::is_none"
    )]
    pub exists: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method6: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
    #[serde(
        default,
        deserialize_with = "perl::de_opt_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub netmask: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cidr: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gateway: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address6: Option<String>,
    #[serde(
        default,
        deserialize_with = "perl::de_opt_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub netmask6: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cidr6: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gateway6: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bridge_ports: Option<String>,
    #[serde(
        default,
        deserialize_with = "perl::de_opt_bool",
        skip_serializing_if = "Option::is_none"
    )]
    pub bridge_vlan_aware: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bridge_vids: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bond_mode: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slaves: Option<String>,
    #[serde(
        rename = "vlan-id",
        default,
        deserialize_with = "perl::de_opt_u64",
        skip_serializing_if = "Option::is_none"
    )]
    pub vlan_id: Option<u64>,
    #[serde(
        rename = "vlan-raw-device",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub vlan_raw_device: Option<String>,
    #[serde(
        default,
        deserialize_with = "perl::de_opt_u64",
        skip_serializing_if = "Option::is_none"
    )]
    pub mtu: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comments: Option<String>,
    #[serde(
        default,
        deserialize_with = "perl::de_vec",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub families: Vec<String>,
    #[serde(
        default,
        deserialize_with = "perl::de_opt_u64",
        skip_serializing_if = "Option::is_none"
    )]
    pub priority: Option<u64>,
}

/// One sample of `GET /nodes/{node}/rrddata` or `/nodes/{node}/{qemu|lxc}/{vmid}/rrddata`.
/// Only `time` is always present; other series appear as the period has data.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct RrdPoint {
    #[serde(deserialize_with = "perl::de_opt_i64")]
    pub time: Option<i64>,
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
        deserialize_with = "perl::de_opt_f64",
        skip_serializing_if = "Option::is_none"
    )]
    pub mem: Option<f64>,
    #[serde(
        default,
        deserialize_with = "perl::de_opt_f64",
        skip_serializing_if = "Option::is_none"
    )]
    pub maxmem: Option<f64>,
    #[serde(
        default,
        deserialize_with = "perl::de_opt_f64",
        skip_serializing_if = "Option::is_none"
    )]
    pub disk: Option<f64>,
    #[serde(
        default,
        deserialize_with = "perl::de_opt_f64",
        skip_serializing_if = "Option::is_none"
    )]
    pub maxdisk: Option<f64>,
    #[serde(
        default,
        deserialize_with = "perl::de_opt_f64",
        skip_serializing_if = "Option::is_none"
    )]
    pub netin: Option<f64>,
    #[serde(
        default,
        deserialize_with = "perl::de_opt_f64",
        skip_serializing_if = "Option::is_none"
    )]
    pub netout: Option<f64>,
    #[serde(
        default,
        deserialize_with = "perl::de_opt_f64",
        skip_serializing_if = "Option::is_none"
    )]
    pub diskread: Option<f64>,
    #[serde(
        default,
        deserialize_with = "perl::de_opt_f64",
        skip_serializing_if = "Option::is_none"
    )]
    pub diskwrite: Option<f64>,
}
