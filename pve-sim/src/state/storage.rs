//! Storage definitions and volumes (ISOs, templates, backups); guest disk images are derived from configs.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::{Value, json};

use super::Cluster;
use super::guest::Kind;

#[derive(Clone, Debug, Serialize)]
pub struct StorageCfg {
    pub id: String,
    /// Plugin type: dir, lvmthin, lvm, nfs, zfspool, pbs, cifs, rbd.
    pub kind: String,
    /// Comma-separated content types.
    pub content: String,
    pub shared: bool,
    /// Restricted to these nodes (None = all).
    pub nodes: Option<Vec<String>>,
    pub disable: bool,
    /// Capacity in bytes (per node for local storages).
    pub total: u64,
    /// Bytes used by things the simulator does not model.
    pub base_used: u64,
    /// Other config keys (path, vgname, thinpool, server, export, prune-backups, ...).
    pub props: BTreeMap<String, String>,
}

impl StorageCfg {
    pub fn available_on(&self, node: &str) -> bool {
        self.nodes
            .as_ref()
            .is_none_or(|n| n.iter().any(|x| x == node))
    }

    pub fn has_content(&self, c: &str) -> bool {
        self.content.split(',').any(|x| x == c)
    }

    /// The `/storage` entry.
    pub fn config_json(&self, digest: &str) -> Value {
        let mut v = json!({
            "storage": self.id,
            "type": self.kind,
            "content": self.content,
            "digest": digest,
        });
        if self.shared
            && !matches!(
                self.kind.as_str(),
                "nfs" | "cifs" | "pbs" | "rbd" | "cephfs"
            )
        {
            v["shared"] = json!(1);
        }
        if let Some(n) = &self.nodes {
            v["nodes"] = json!(n.join(","));
        }
        if self.disable {
            v["disable"] = json!(1);
        }
        for (k, val) in &self.props {
            v[k] = json!(val);
        }
        v
    }
}

#[derive(Clone, Debug, Serialize)]
pub struct Volume {
    pub volid: String,
    pub storage: String,
    /// The node for local storages; None for shared storages.
    pub node: Option<String>,
    pub content: String,
    pub format: String,
    pub size: u64,
    pub ctime: u64,
    pub vmid: Option<u32>,
    pub subtype: Option<String>,
    pub notes: Option<String>,
    pub protected: bool,
}

impl Volume {
    pub fn visible_on(&self, node: &str) -> bool {
        self.node.as_deref().is_none_or(|n| n == node)
    }

    pub fn content_json(&self) -> Value {
        let mut v = json!({
            "volid": self.volid,
            "content": self.content,
            "format": self.format,
            "size": self.size,
            "ctime": self.ctime,
        });
        if let Some(id) = self.vmid {
            v["vmid"] = json!(id);
        }
        if let Some(s) = &self.subtype {
            v["subtype"] = json!(s);
        }
        if let Some(n) = &self.notes {
            v["notes"] = json!(n);
        }
        if self.protected {
            v["protected"] = json!(1);
        }
        v
    }
}

/// A disk image derived from a guest config.
pub struct Image {
    pub volid: String,
    pub vmid: u32,
    pub size: u64,
    pub content: &'static str,
    pub format: &'static str,
}

impl Cluster {
    /// Disk images of guests on `storage` as seen from `node`.
    pub fn images(&self, storage: &StorageCfg, node: &str) -> Vec<Image> {
        let prefix = format!("{}:", storage.id);
        let mut out = Vec::new();
        for g in self.guests.values() {
            if !storage.shared && g.node != node {
                continue;
            }
            for (_, vol, size) in g.disk_volumes() {
                if let Some(rest) = vol.strip_prefix(&prefix) {
                    let format = if rest.ends_with(".qcow2") {
                        "qcow2"
                    } else {
                        "raw"
                    };
                    out.push(Image {
                        volid: vol.clone(),
                        vmid: g.vmid,
                        size,
                        content: if g.kind == Kind::Lxc {
                            "rootdir"
                        } else {
                            "images"
                        },
                        format,
                    });
                }
            }
        }
        out
    }

    /// Bytes used on `storage` as seen from `node`.
    pub fn storage_used(&self, storage: &StorageCfg, node: &str) -> u64 {
        let vols: u64 = self
            .volumes
            .iter()
            .filter(|v| v.storage == storage.id && v.visible_on(node))
            .map(|v| v.size)
            .sum();
        let imgs: u64 = self.images(storage, node).iter().map(|i| i.size / 3).sum();
        (storage.base_used + vols + imgs).min(storage.total)
    }

    /// Usage of every (storage, node) pair in one pass over the guests (for `/cluster/resources`).
    pub fn storage_usage_all(&self) -> BTreeMap<(String, String), u64> {
        let mut used: BTreeMap<(String, String), u64> = BTreeMap::new();
        let shared: BTreeMap<&str, bool> = self
            .storages
            .iter()
            .map(|s| (s.id.as_str(), s.shared))
            .collect();
        let mut add = |sid: &str, node: Option<&str>, bytes: u64| {
            let nodes: Vec<&str> = match node {
                Some(n) if !shared.get(sid).copied().unwrap_or(false) => vec![n],
                _ => self.nodes.iter().map(|n| n.name.as_str()).collect(),
            };
            for n in nodes {
                *used.entry((sid.to_string(), n.to_string())).or_default() += bytes;
            }
        };
        for g in self.guests.values() {
            for (_, vol, size) in g.disk_volumes() {
                if let Some((sid, _)) = vol.split_once(':') {
                    add(sid, Some(&g.node), size / 3);
                }
            }
        }
        for v in &self.volumes {
            add(&v.storage, v.node.as_deref(), v.size);
        }
        let mut out = BTreeMap::new();
        for s in &self.storages {
            for n in &self.nodes {
                let u = used
                    .get(&(s.id.clone(), n.name.clone()))
                    .copied()
                    .unwrap_or(0);
                out.insert(
                    (s.id.clone(), n.name.clone()),
                    (s.base_used + u).min(s.total),
                );
            }
        }
        out
    }
}

/// The vzdump archive name for a guest and a time.
pub fn backup_name(kind: Kind, vmid: u32, epoch: u64, compress: &str) -> String {
    let (y, mo, d, h, mi, s) = civil(epoch);
    let (prefix, ext) = match kind {
        Kind::Qemu => ("qemu", "vma"),
        Kind::Lxc => ("lxc", "tar"),
    };
    let comp = match compress {
        "0" | "" => String::new(),
        "gzip" => ".gz".into(),
        "lzo" => ".lzo".into(),
        _ => ".zst".into(),
    };
    format!("vzdump-{prefix}-{vmid}-{y:04}_{mo:02}_{d:02}-{h:02}_{mi:02}_{s:02}.{ext}{comp}")
}

/// Epoch seconds to (year, month, day, hour, minute, second) in UTC.
pub fn civil(epoch: u64) -> (i64, u32, u32, u32, u32, u32) {
    let days = (epoch / 86_400) as i64;
    let rem = epoch % 86_400;
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = if m <= 2 { y + 1 } else { y };
    (
        y,
        m,
        d,
        (rem / 3600) as u32,
        ((rem % 3600) / 60) as u32,
        (rem % 60) as u32,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_dates() {
        assert_eq!(civil(0), (1970, 1, 1, 0, 0, 0));
        assert_eq!(civil(1_735_689_600), (2025, 1, 1, 0, 0, 0));
        assert_eq!(civil(super::super::GEN_EPOCH + 3661), (2025, 6, 1, 1, 1, 1));
        assert_eq!(
            backup_name(Kind::Qemu, 100, 1_735_689_600, "zstd"),
            "vzdump-qemu-100-2025_01_01-00_00_00.vma.zst"
        );
        assert_eq!(
            backup_name(Kind::Lxc, 101, 1_735_689_600, "0"),
            "vzdump-lxc-101-2025_01_01-00_00_00.tar"
        );
    }
}
