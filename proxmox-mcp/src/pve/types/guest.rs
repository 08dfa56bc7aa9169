//! Guest views: status, config, pending changes, lists, snapshots, interfaces and guest-agent replies.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::super::error::PveError;
use super::super::perl;

/// QEMU VM or LXC container.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum GuestKind {
    Qemu,
    Lxc,
}

impl GuestKind {
    /// The path segment: `/nodes/{node}/qemu/...` or `/nodes/{node}/lxc/...`.
    pub fn path_segment(self) -> &'static str {
        match self {
            GuestKind::Qemu => "qemu",
            GuestKind::Lxc => "lxc",
        }
    }
}

impl fmt::Display for GuestKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.path_segment())
    }
}

impl FromStr for GuestKind {
    type Err = PveError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "qemu" | "vm" | "kvm" => Ok(GuestKind::Qemu),
            "lxc" | "ct" | "container" => Ok(GuestKind::Lxc),
            _ => Err(PveError::Config(format!(
                "unknown guest type '{s}'; use 'qemu' (virtual machine) or 'lxc' (container)"
            ))),
        }
    }
}

/// `GET /nodes/{node}/{qemu|lxc}/{vmid}/status/current`.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct GuestStatus {
    /// `running`, `stopped` (and `paused` etc. in `qmpstatus`).
    pub status: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub qmpstatus: Option<String>,
    #[serde(
        default,
        deserialize_with = "perl::de_opt_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub name: Option<String>,
    #[serde(
        default,
        deserialize_with = "perl::de_opt_f64",
        skip_serializing_if = "Option::is_none"
    )]
    pub cpus: Option<f64>,
    #[serde(
        default,
        deserialize_with = "perl::de_opt_f64",
        skip_serializing_if = "Option::is_none"
    )]
    pub cpu: Option<f64>,
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
    #[serde(
        default,
        deserialize_with = "perl::de_opt_u64",
        skip_serializing_if = "Option::is_none"
    )]
    pub pid: Option<u64>,
    /// QEMU: the guest agent is enabled in the config.
    #[serde(
        default,
        deserialize_with = "perl::de_opt_bool",
        skip_serializing_if = "Option::is_none"
    )]
    pub agent: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lock: Option<String>,
    #[serde(
        default,
        deserialize_with = "perl::de_opt_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub tags: Option<String>,
    #[serde(default, deserialize_with = "perl::de_bool")]
    pub template: bool,
    #[serde(
        rename = "running-qemu",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub running_qemu: Option<String>,
    #[serde(
        rename = "running-machine",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub running_machine: Option<String>,
    /// HA state as PVE reports it (`{"managed": 0}`, …; shapes vary by version).
    #[serde(
        default,
        deserialize_with = "perl::de_opt_value",
        skip_serializing_if = "Option::is_none"
    )]
    pub ha: Option<Value>,
}

impl GuestStatus {
    pub fn tag_list(&self) -> Vec<&str> {
        super::cluster::split_tags(self.tags.as_deref())
    }
}

/// `GET /nodes/{node}/{qemu|lxc}/{vmid}/config`: values kept exactly as PVE sent them.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(transparent)]
pub struct GuestConfig(pub Map<String, Value>);

const QEMU_DISK_PREFIXES: [&str; 4] = ["scsi", "virtio", "sata", "ide"];

fn numbered(key: &str, prefix: &str) -> Option<u32> {
    key.strip_prefix(prefix)
        .filter(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
        .and_then(|n| n.parse().ok())
}

/// Order keys as `scsi0 < scsi1 < scsi10` (bus, then number) rather than by text.
fn sort_key(key: &str) -> (String, u32) {
    let split = key.trim_end_matches(|c: char| c.is_ascii_digit()).len();
    (key[..split].to_owned(), key[split..].parse().unwrap_or(0))
}

impl GuestConfig {
    /// A value as text; numbers and booleans rendered (`memory: 2048` → `"2048"`).
    pub fn get_str(&self, key: &str) -> Option<String> {
        self.0.get(key).and_then(perl::value_string)
    }

    /// The `digest` for optimistic locking of config updates.
    pub fn digest(&self) -> Option<&str> {
        self.0.get("digest").and_then(Value::as_str)
    }

    fn collect(&self, pick: impl Fn(&str) -> bool) -> Vec<(String, String)> {
        let mut out: Vec<(String, String)> = self
            .0
            .iter()
            .filter(|(k, _)| pick(k))
            .filter_map(|(k, v)| perl::value_string(v).map(|s| (k.clone(), s)))
            .collect();
        out.sort_by_key(|(k, _)| sort_key(k));
        out
    }

    fn is_disk_key(key: &str) -> bool {
        QEMU_DISK_PREFIXES
            .iter()
            .any(|p| numbered(key, p).is_some())
            || matches!(key, "efidisk0" | "tpmstate0" | "rootfs")
            || numbered(key, "mp").is_some()
    }

    fn is_cdrom(value: &str) -> bool {
        value.split(',').any(|part| part.trim() == "media=cdrom")
    }

    /// Disks: `scsiN`/`virtioN`/`sataN`/`ideN`/`efidisk0`/`tpmstate0` (QEMU), `rootfs`/`mpN` (LXC).
    /// CD-ROM drives (`media=cdrom`) are not disks: see [`GuestConfig::cdroms`].
    pub fn disks(&self) -> Vec<(String, String)> {
        self.collect(Self::is_disk_key)
            .into_iter()
            .filter(|(_, v)| !Self::is_cdrom(v))
            .collect()
    }

    /// CD-ROM drives (`ide2: none,media=cdrom`, `local:iso/x.iso,media=cdrom`).
    pub fn cdroms(&self) -> Vec<(String, String)> {
        self.collect(Self::is_disk_key)
            .into_iter()
            .filter(|(_, v)| Self::is_cdrom(v))
            .collect()
    }

    /// Network devices `netN`.
    pub fn nics(&self) -> Vec<(String, String)> {
        self.collect(|k| numbered(k, "net").is_some())
    }

    /// Detached volumes `unusedN`.
    pub fn unused(&self) -> Vec<(String, String)> {
        self.collect(|k| numbered(k, "unused").is_some())
    }
}

/// One entry of `GET /nodes/{node}/qemu/{vmid}/pending`.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct PendingItem {
    pub key: String,
    #[serde(
        default,
        deserialize_with = "perl::de_opt_value",
        skip_serializing_if = "Option::is_none"
    )]
    pub value: Option<Value>,
    #[serde(
        default,
        deserialize_with = "perl::de_opt_value",
        skip_serializing_if = "Option::is_none"
    )]
    pub pending: Option<Value>,
    /// 1: pending deletion, 2: forced deletion.
    #[serde(
        default,
        deserialize_with = "de_opt_u8",
        skip_serializing_if = "Option::is_none"
    )]
    pub delete: Option<u8>,
}

fn de_opt_u8<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<u8>, D::Error> {
    let v = perl::de_opt_u64(d)?;
    v.map(|n| u8::try_from(n).map_err(serde::de::Error::custom))
        .transpose()
}

/// One entry of `GET /nodes/{node}/qemu` or `/lxc` (vmid may be a string on old pve-container).
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct GuestListItem {
    #[serde(deserialize_with = "perl::de_vmid")]
    pub vmid: u32,
    #[serde(
        default,
        deserialize_with = "perl::de_opt_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    #[serde(
        default,
        deserialize_with = "perl::de_opt_f64",
        skip_serializing_if = "Option::is_none"
    )]
    pub cpus: Option<f64>,
    #[serde(
        default,
        deserialize_with = "perl::de_opt_f64",
        skip_serializing_if = "Option::is_none"
    )]
    pub cpu: Option<f64>,
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
    #[serde(
        default,
        deserialize_with = "perl::de_opt_u64",
        skip_serializing_if = "Option::is_none"
    )]
    pub pid: Option<u64>,
    #[serde(default, deserialize_with = "perl::de_bool")]
    pub template: bool,
    #[serde(
        default,
        deserialize_with = "perl::de_opt_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub tags: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lock: Option<String>,
}

/// One entry of `GET /nodes/{node}/{qemu|lxc}/{vmid}/snapshot` (includes the `current` pseudo-snapshot).
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct Snapshot {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent: Option<String>,
    #[serde(
        default,
        deserialize_with = "perl::de_opt_i64",
        skip_serializing_if = "Option::is_none"
    )]
    pub snaptime: Option<i64>,
    #[serde(
        default,
        deserialize_with = "perl::de_opt_bool",
        skip_serializing_if = "Option::is_none"
    )]
    pub vmstate: Option<bool>,
    #[serde(
        default,
        deserialize_with = "perl::de_opt_u64",
        skip_serializing_if = "Option::is_none"
    )]
    pub running: Option<u64>,
}

/// One entry of `GET /nodes/{node}/lxc/{vmid}/interfaces`.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct LxcInterface {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hwaddr: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inet: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inet6: Option<String>,
}

/// One address in the agent's `network-get-interfaces`.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct AgentIpAddress {
    #[serde(rename = "ip-address")]
    pub ip_address: String,
    #[serde(
        rename = "ip-address-type",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub ip_address_type: Option<String>,
    #[serde(
        default,
        deserialize_with = "perl::de_opt_u64",
        skip_serializing_if = "Option::is_none"
    )]
    pub prefix: Option<u64>,
}

/// One entry of the agent's `network-get-interfaces` result.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct AgentNetworkInterface {
    pub name: String,
    #[serde(
        rename = "hardware-address",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub hardware_address: Option<String>,
    #[serde(
        rename = "ip-addresses",
        default,
        deserialize_with = "perl::de_vec",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub ip_addresses: Vec<AgentIpAddress>,
    #[serde(
        default,
        deserialize_with = "perl::de_opt_value",
        skip_serializing_if = "Option::is_none"
    )]
    pub statistics: Option<Value>,
}

/// `GET /nodes/{node}/qemu/{vmid}/agent/exec-status` (PVE already decoded the output to text).
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
pub struct AgentExecStatus {
    #[serde(default, deserialize_with = "perl::de_bool")]
    pub exited: bool,
    #[serde(
        default,
        deserialize_with = "perl::de_opt_i64",
        skip_serializing_if = "Option::is_none"
    )]
    pub exitcode: Option<i64>,
    #[serde(
        default,
        deserialize_with = "perl::de_opt_i64",
        skip_serializing_if = "Option::is_none"
    )]
    pub signal: Option<i64>,
    #[serde(rename = "out-data", default, skip_serializing_if = "Option::is_none")]
    pub out_data: Option<String>,
    #[serde(rename = "err-data", default, skip_serializing_if = "Option::is_none")]
    pub err_data: Option<String>,
    #[serde(rename = "out-truncated", default, deserialize_with = "perl::de_bool")]
    pub out_truncated: bool,
    #[serde(rename = "err-truncated", default, deserialize_with = "perl::de_bool")]
    pub err_truncated: bool,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn kinds() {
        assert_eq!("qemu".parse::<GuestKind>().unwrap(), GuestKind::Qemu);
        assert_eq!("LXC".parse::<GuestKind>().unwrap(), GuestKind::Lxc);
        assert!("openvz".parse::<GuestKind>().is_err());
        assert_eq!(serde_json::to_string(&GuestKind::Lxc).unwrap(), "\"lxc\"");
        assert_eq!(GuestKind::Qemu.path_segment(), "qemu");
    }

    #[test]
    fn config_helpers() {
        let cfg: GuestConfig = serde_json::from_value(json!({
            "scsi10": "local-lvm:vm-1-disk-10,size=1G", "scsi1": "local-lvm:vm-1-disk-1,size=2G",
            "scsi0": "local-lvm:vm-1-disk-0,size=32G", "virtio0": "x:1", "efidisk0": "x:efi",
            "ide2": "none,media=cdrom", "ide0": "local:iso/a.iso,media=cdrom", "net1": "virtio=AA,bridge=vmbr1",
            "net0": "virtio=BB,bridge=vmbr0", "memory": 2048, "onboot": 1, "digest": "abc",
            "scsihw": "virtio-scsi-pci", "unused0": "x:old", "netx": "no"
        }))
        .unwrap();
        let keys = |v: Vec<(String, String)>| v.into_iter().map(|(k, _)| k).collect::<Vec<_>>();
        assert_eq!(
            keys(cfg.disks()),
            ["efidisk0", "scsi0", "scsi1", "scsi10", "virtio0"]
        );
        assert_eq!(keys(cfg.cdroms()), ["ide0", "ide2"]);
        assert_eq!(keys(cfg.nics()), ["net0", "net1"]);
        assert_eq!(keys(cfg.unused()), ["unused0"]);
        assert_eq!(cfg.get_str("memory").as_deref(), Some("2048"));
        assert_eq!(cfg.get_str("onboot").as_deref(), Some("1"));
        assert_eq!(cfg.digest(), Some("abc"));
        let ct: GuestConfig = serde_json::from_value(json!({"rootfs": "local-lvm:vm-200-disk-0,size=8G", "mp0": "x:y,mp=/data", "net0": "name=eth0,bridge=vmbr0"})).unwrap();
        assert_eq!(keys(ct.disks()), ["mp0", "rootfs"]);
        assert_eq!(serde_json::to_value(&ct).unwrap()["mp0"], "x:y,mp=/data");
    }
}
