//! Pure: cluster-wide objects: shared storage visibility, storage content use, metrics export,
//! unused pools/groups/roles (O11, O12, O14, O17).

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Value, json};

use super::super::util::{flag, str_of};
use super::super::{Area, Confidence, Ctx, Outcome, Rule, Severity, got};
use super::kit::{More, finding, guest_configs};
use crate::diagnostics::snapshot::cluster::ClusterSnapshot;

/// The content types of a storage definition.
fn content(s: &Value) -> BTreeSet<&str> {
    str_of(s, "content")
        .unwrap_or("")
        .split(',')
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .collect()
}

/// The storage definitions that are not disabled, by id.
fn enabled_storages(defs: &[Value]) -> BTreeMap<&str, &Value> {
    defs.iter()
        .filter(|s| flag(s, "disable") != Some(true))
        .filter_map(|s| Some((str_of(s, "storage")?, s)))
        .collect()
}

/// O11: a shared storage visible on one node of a multi-node cluster.
pub struct O11;

impl Rule for O11 {
    fn id(&self) -> &'static str {
        "O11"
    }
    fn area(&self) -> Area {
        Area::Optimisation
    }
    fn title(&self) -> &'static str {
        "Shared storage on one node only"
    }
    fn cross_node(&self) -> bool {
        true
    }
    fn check(&self, snap: &ClusterSnapshot, _ctx: &Ctx) -> Outcome {
        let nodes: BTreeSet<&str> = snap
            .resources_of("node")
            .map_err(super::super::Skip)?
            .filter_map(|n| str_of(n, "node"))
            .collect();
        if nodes.len() < 2 {
            return Ok(Vec::new());
        }
        let mut seen: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
        for s in snap.resources_of("storage").map_err(super::super::Skip)? {
            if flag(s, "shared") == Some(true)
                && let (Some(id), Some(node)) = (str_of(s, "storage"), str_of(s, "node"))
            {
                seen.entry(id).or_default().insert(node);
            }
        }
        let mut out = Vec::new();
        for (id, on) in seen.into_iter().filter(|(_, on)| on.len() == 1) {
            let node = on.iter().next().copied().unwrap_or_default();
            let all: Vec<&str> = nodes.iter().copied().collect();
            out.push(
                finding(
                    self,
                    Severity::Warning,
                    format!("storage/{id}"),
                    format!("Shared storage {id} is only on {node}"),
                    format!(
                        "shared: 1 but visible on 1 of {} nodes ({node}); cluster nodes {}",
                        nodes.len(),
                        all.join(", ")
                    ),
                    "Make the storage available on every node (or mark it not shared) so \
                     migration and HA can use it.",
                )
                .fix(format!("pvesh set /storage/{id} --delete nodes"))
                .api("PUT", &format!("/storage/{id}"), json!({"delete": "nodes"}))
                .confidence(Confidence::Medium),
            );
        }
        Ok(out)
    }
}

/// The storage id of a volume reference (`local-lvm:vm-101-disk-0,size=8G` → `local-lvm`).
fn volume_storage(v: &str) -> Option<&str> {
    let file = v.split(',').next()?;
    let file = file.strip_prefix("file=").unwrap_or(file);
    let (storage, _) = file.split_once(':')?;
    (!storage.is_empty() && !storage.starts_with('/')).then_some(storage)
}

/// Guest volumes and the content type they need: QEMU disks `images`, container volumes
/// `rootdir`.
fn guest_volume_keys(kind: &str, key: &str, value: &str) -> Option<&'static str> {
    if value.contains("media=cdrom") {
        return None;
    }
    let bus = key.trim_end_matches(|c: char| c.is_ascii_digit());
    let numbered = bus.len() < key.len();
    match kind {
        "qemu" if numbered && matches!(bus, "scsi" | "virtio" | "sata" | "ide" | "unused") => {
            Some("images")
        }
        "qemu" if key == "efidisk0" || key == "tpmstate0" => Some("images"),
        "lxc" if key == "rootfs" || (numbered && matches!(bus, "mp" | "unused")) => Some("rootdir"),
        _ => None,
    }
}

/// O12a: volumes on a storage whose content types do not allow them.
pub struct O12a;

impl Rule for O12a {
    fn id(&self) -> &'static str {
        "O12a"
    }
    fn area(&self) -> Area {
        Area::Optimisation
    }
    fn title(&self) -> &'static str {
        "Volumes of a type the storage does not allow"
    }
    fn check(&self, snap: &ClusterSnapshot, _ctx: &Ctx) -> Outcome {
        let defs = got(&snap.storage_config)?;
        let by_id: BTreeMap<&str, &Value> = defs
            .iter()
            .filter_map(|s| Some((str_of(s, "storage")?, s)))
            .collect();
        // storage → (needed content, volumes)
        let mut misuse: BTreeMap<&str, BTreeMap<&str, Vec<String>>> = BTreeMap::new();
        for (g, c) in guest_configs(snap)? {
            for (k, v) in c {
                let (Some(need), Some(storage)) =
                    (guest_volume_keys(&g.kind, k, v), volume_storage(v))
                else {
                    continue;
                };
                if let Some(def) = by_id.get(storage)
                    && !content(def).contains(need)
                {
                    misuse
                        .entry(storage)
                        .or_default()
                        .entry(need)
                        .or_default()
                        .push(format!("{} {k}", g.vmid));
                }
            }
        }
        for (key, vols) in &snap.backups {
            let storage = key.split_once('/').map_or(key.as_str(), |(_, s)| s);
            let Ok(vols) = vols else { continue };
            if vols.is_empty() {
                continue;
            }
            if let Some(def) = by_id.get(storage)
                && !content(def).contains("backup")
            {
                misuse
                    .entry(storage)
                    .or_default()
                    .entry("backup")
                    .or_default()
                    .extend(
                        vols.iter()
                            .filter_map(|v| str_of(v, "volid").map(str::to_owned))
                            .take(5),
                    );
            }
        }
        let mut out = Vec::new();
        for (storage, needs) in misuse {
            let def = by_id[storage];
            let mut have = content(def);
            let missing: Vec<&str> = needs.keys().copied().collect();
            let evidence: Vec<String> = needs
                .iter()
                .map(|(need, vols)| format!("{need} volumes ({}) ", vols.join(", ")))
                .collect();
            have.extend(missing.iter().copied());
            let all: Vec<&str> = have.into_iter().collect();
            out.push(
                finding(
                    self,
                    Severity::Warning,
                    format!("storage/{storage}"),
                    format!("Storage {storage} holds volumes its content types do not allow"),
                    format!(
                        "{}on a storage with content '{}'",
                        evidence.concat(),
                        str_of(def, "content").unwrap_or("")
                    ),
                    "Allow the content type on the storage or move the volumes: PVE hides \
                     volumes of types a storage does not allow (backups not pruned, disks not \
                     listed).",
                )
                .fix(format!(
                    "pvesh set /storage/{storage} --content {}",
                    all.join(",")
                ))
                .api(
                    "PUT",
                    &format!("/storage/{storage}"),
                    json!({"content": all.join(",")}),
                ),
            );
        }
        Ok(out)
    }
}

/// O12b: two storages on the same directory.
pub struct O12b;

impl Rule for O12b {
    fn id(&self) -> &'static str {
        "O12b"
    }
    fn area(&self) -> Area {
        Area::Optimisation
    }
    fn title(&self) -> &'static str {
        "Directory used by two storages"
    }
    fn check(&self, snap: &ClusterSnapshot, _ctx: &Ctx) -> Outcome {
        let defs = got(&snap.storage_config)?;
        let mut by_path: BTreeMap<String, Vec<&str>> = BTreeMap::new();
        for (id, s) in enabled_storages(defs) {
            if let Some(path) = str_of(s, "path") {
                let path = path.trim_end_matches('/');
                let path = if path.is_empty() { "/" } else { path };
                by_path.entry(path.to_owned()).or_default().push(id);
            }
        }
        Ok(by_path
            .into_iter()
            .filter(|(_, ids)| ids.len() > 1)
            .map(|(path, ids)| {
                finding(
                    self,
                    Severity::Warning,
                    format!("storage/{}", ids[0]),
                    format!("Storages {} share the directory {path}", ids.join(" and ")),
                    format!("path {path} used by {}", ids.join(", ")),
                    "Give each storage its own directory: volumes then show up (and are pruned \
                     or deleted) through both.",
                )
            })
            .collect())
    }
}

/// O14: no external metrics server.
pub struct O14;

impl Rule for O14 {
    fn id(&self) -> &'static str {
        "O14"
    }
    fn area(&self) -> Area {
        Area::Optimisation
    }
    fn title(&self) -> &'static str {
        "No external metrics"
    }
    fn check(&self, snap: &ClusterSnapshot, _ctx: &Ctx) -> Outcome {
        let servers = got(&snap.metrics_servers)?;
        if snap.nodes.is_empty() {
            return Ok(Vec::new());
        }
        if servers.iter().any(|s| flag(s, "disable") != Some(true)) {
            return Ok(Vec::new());
        }
        let evidence = if servers.is_empty() {
            "no metrics server configured".to_owned()
        } else {
            format!("{} metrics servers, all disabled", servers.len())
        };
        Ok(vec![
            finding(
                self,
                Severity::Info,
                "cluster",
                "No external metrics server",
                evidence,
                "Send metrics to InfluxDB or Graphite to keep history beyond the RRD and to \
                 alert on trends.",
            )
            .fix("pvesh create /cluster/metrics/server/influx --type influxdb --server <host> --port 8089")
            .confidence(Confidence::Medium),
        ])
    }
}

/// O17a: a pool without members.
pub struct O17a;

impl Rule for O17a {
    fn id(&self) -> &'static str {
        "O17a"
    }
    fn area(&self) -> Area {
        Area::Optimisation
    }
    fn title(&self) -> &'static str {
        "Empty pool"
    }
    fn check(&self, snap: &ClusterSnapshot, _ctx: &Ctx) -> Outcome {
        let pools = got(&snap.pools)?;
        let mut out = Vec::new();
        for p in pools {
            let Some(id) = str_of(p, "poolid") else {
                continue;
            };
            let (empty, confidence) = match p.get("members").and_then(Value::as_array) {
                Some(m) => (m.is_empty(), Confidence::High),
                // The list form omits members: fall back to the guests' pool; storages in the
                // pool are not visible there.
                None => (
                    !snap
                        .resources
                        .as_ref()
                        .map_err(super::super::Skip::from)?
                        .iter()
                        .any(|r| str_of(r, "pool") == Some(id)),
                    Confidence::Low,
                ),
            };
            if empty {
                out.push(
                    finding(
                        self,
                        Severity::Info,
                        format!("pool/{id}"),
                        format!("Pool {id} is empty"),
                        "no guests or storages in the pool",
                        "Delete the pool if it is no longer used.",
                    )
                    .fix(format!("pvesh delete /pools/{id}"))
                    .confidence(confidence),
                );
            }
        }
        Ok(out)
    }
}

/// O17b: a group without users.
pub struct O17b;

impl Rule for O17b {
    fn id(&self) -> &'static str {
        "O17b"
    }
    fn area(&self) -> Area {
        Area::Optimisation
    }
    fn title(&self) -> &'static str {
        "Empty group"
    }
    fn check(&self, snap: &ClusterSnapshot, _ctx: &Ctx) -> Outcome {
        Ok(got(&snap.groups)?
            .iter()
            .filter(|g| str_of(g, "users").unwrap_or("").trim().is_empty())
            .filter_map(|g| str_of(g, "groupid"))
            .map(|id| {
                finding(
                    self,
                    Severity::Info,
                    format!("group/{id}"),
                    format!("Group {id} has no users"),
                    "users: none",
                    "Delete the group (and its ACL entries) if it is no longer used.",
                )
                .fix(format!("pvesh delete /access/groups/{id}"))
            })
            .collect())
    }
}

/// O17c: a custom role no ACL entry uses.
pub struct O17c;

impl Rule for O17c {
    fn id(&self) -> &'static str {
        "O17c"
    }
    fn area(&self) -> Area {
        Area::Optimisation
    }
    fn title(&self) -> &'static str {
        "Unused custom role"
    }
    fn check(&self, snap: &ClusterSnapshot, _ctx: &Ctx) -> Outcome {
        const BUILT_IN: &[&str] = &["Administrator", "NoAccess"];
        let roles = got(&snap.roles)?;
        let acl = got(&snap.acl)?;
        let used: BTreeSet<&str> = acl.iter().filter_map(|a| str_of(a, "roleid")).collect();
        Ok(roles
            .iter()
            .filter(|r| flag(r, "special") != Some(true))
            .filter_map(|r| str_of(r, "roleid"))
            .filter(|id| !BUILT_IN.contains(id) && !id.starts_with("PVE") && !used.contains(id))
            .map(|id| {
                finding(
                    self,
                    Severity::Info,
                    format!("role/{id}"),
                    format!("Custom role {id} is not used"),
                    "no ACL entry grants it",
                    "Delete the role if it is no longer needed.",
                )
                .fix(format!("pvesh delete /access/roles/{id}"))
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::super::fixtures::{check, config_of, denied, healthy, skipped};
    use super::*;

    #[test]
    fn o11_shared_storage_visibility() {
        let mut s = healthy();
        check(&O11, &s, &[]);
        if let Ok(r) = s.resources.as_mut() {
            r.retain(|v| !(v["storage"] == "nfs-backup" && v["node"] != "pve1"));
        }
        check(&O11, &s, &[("storage/nfs-backup", Severity::Warning)]);
        s.resources = Err(denied("/cluster/resources"));
        skipped(&O11, &s);
    }

    #[test]
    fn o12_content_use() {
        let mut s = healthy();
        check(&O12a, &s, &[]);
        check(&O12b, &s, &[]);
        config_of(&mut s, 101).insert("scsi1".into(), "local:101/vm-101-disk-1.qcow2".into());
        s.backups.insert(
            "pve2/local".into(),
            Ok(vec![super::super::fixtures::backup_volume(
                "local", 102, "qemu", 3600,
            )]),
        );
        if let Ok(defs) = s.storage_config.as_mut() {
            defs.push(
                json!({"storage": "old-dump", "type": "dir", "path": "/var/lib/vz/",
                "content": "backup"}),
            );
        }
        check(&O12a, &s, &[("storage/local", Severity::Warning)]);
        check(&O12b, &s, &[("storage/local", Severity::Warning)]);
        s.storage_config = Err(denied("/storage"));
        skipped(&O12a, &s);
        skipped(&O12b, &s);
    }

    #[test]
    fn o14_metrics() {
        let mut s = healthy();
        check(&O14, &s, &[]);
        s.metrics_servers = Ok(vec![json!({"id": "g", "type": "graphite", "disable": 1})]);
        check(&O14, &s, &[("cluster", Severity::Info)]);
        s.metrics_servers = Ok(vec![]);
        check(&O14, &s, &[("cluster", Severity::Info)]);
        s.metrics_servers = Err(denied("/cluster/metrics/server"));
        skipped(&O14, &s);
    }

    #[test]
    fn o17_unused_objects() {
        let mut s = healthy();
        for r in [&O17a as &dyn Rule, &O17b, &O17c] {
            check(r, &s, &[]);
        }
        if let Ok(p) = s.pools.as_mut() {
            p.push(json!({"poolid": "old", "members": []}));
            // Without members (the list form), the guests' `pool` decides.
            p.push(json!({"poolid": "lab"}));
            p.push(json!({"poolid": "web"}));
        }
        s.guests.get_mut(&102).unwrap().resource["pool"] = json!("web");
        let g102 = s.guests[&102].resource.clone();
        if let Ok(r) = s.resources.as_mut() {
            r.retain(|v| v["id"] != "qemu/102");
            r.push(g102);
        }
        s.groups
            .as_mut()
            .unwrap()
            .push(json!({"groupid": "interns", "users": ""}));
        s.roles
            .as_mut()
            .unwrap()
            .push(json!({"roleid": "Legacy", "privs": "VM.Audit"}));
        check(
            &O17a,
            &s,
            &[("pool/old", Severity::Info), ("pool/lab", Severity::Info)],
        );
        check(&O17b, &s, &[("group/interns", Severity::Info)]);
        check(&O17c, &s, &[("role/Legacy", Severity::Info)]);
        s.pools = Err(denied("/pools"));
        s.groups = Err(denied("/access/groups"));
        s.acl = Err(denied("/access/acl"));
        for r in [&O17a as &dyn Rule, &O17b, &O17c] {
            skipped(r, &s);
        }
    }
}
