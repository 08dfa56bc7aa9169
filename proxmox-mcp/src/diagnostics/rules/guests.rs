//! Pure: the VM/CT configuration rules (catalogue V01–V30) and the per-guest reading helpers.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::util::{flag, num, prop_string, pve_bool, str_of};
use super::{Area, Confidence, Finding, Outcome, Rule, Severity, Skip, ToolCall, got};
use crate::diagnostics::snapshot::cluster::{ClusterSnapshot, GuestSnapshot};

mod ct;
mod disks;
#[cfg(test)]
mod fixtures;
mod load;
mod machine;
mod placement;
mod vm;

/// The guests rules, in catalogue order.
pub static RULES: &[&dyn Rule] = &[
    &vm::V01,
    &vm::V02,
    &vm::V03,
    &vm::V04a,
    &vm::V04b,
    &vm::V05,
    &vm::V06,
    &vm::V07a,
    &vm::V07b,
    &vm::V08a,
    &vm::V08b,
    &disks::V09a,
    &disks::V09b,
    &disks::V10,
    &disks::V11,
    &disks::V12,
    &placement::V13,
    &placement::V14,
    &placement::V15a,
    &placement::V15b,
    &placement::V16,
    &placement::V17,
    &placement::V18,
    &placement::V19,
    &machine::V20a,
    &machine::V20b,
    &machine::V20c,
    &load::V21a,
    &load::V21b,
    &load::V22,
    &load::V23,
    &load::V24,
    &ct::V25,
    &ct::V26,
    &ct::V27,
    &ct::V28a,
    &ct::V28b,
    &ct::V29a,
    &ct::V29b,
    &ct::V29c,
    &ct::V30,
];

/// Declares a guests rule: a unit struct and its [`Rule`] impl around a `check` body.
macro_rules! guest_rule {
    ($name:ident, $id:literal, $title:literal, |$snap:ident, $ctx:ident| $body:expr) => {
        #[doc = $title]
        pub struct $name;

        impl $crate::diagnostics::rules::Rule for $name {
            fn id(&self) -> &'static str {
                $id
            }
            fn area(&self) -> $crate::diagnostics::rules::Area {
                $crate::diagnostics::rules::Area::Guests
            }
            fn title(&self) -> &'static str {
                $title
            }
            fn check(
                &self,
                $snap: &$crate::diagnostics::snapshot::cluster::ClusterSnapshot,
                $ctx: &$crate::diagnostics::rules::Ctx,
            ) -> $crate::diagnostics::rules::Outcome {
                $body
            }
        }
    };
}
pub(crate) use guest_rule;

/// Which guests a rule looks at.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kinds {
    Qemu,
    Lxc,
    Both,
}

impl Kinds {
    fn takes(self, kind: &str) -> bool {
        match self {
            Kinds::Qemu => kind == "qemu",
            Kinds::Lxc => kind == "lxc",
            Kinds::Both => kind == "qemu" || kind == "lxc",
        }
    }
}

/// One guest: its snapshot and its config (empty when [`per_resource`] could not read it).
pub(crate) struct Guest<'a> {
    pub g: &'a GuestSnapshot,
    pub cfg: &'a BTreeMap<String, String>,
}

impl<'a> Guest<'a> {
    pub fn key(&self, k: &str) -> Option<&'a str> {
        self.cfg.get(k).map(String::as_str)
    }

    /// A 0/1 config key (absent: `None`).
    pub fn bool_key(&self, k: &str) -> Option<bool> {
        self.key(k).and_then(pve_bool)
    }

    pub fn is_qemu(&self) -> bool {
        self.g.kind == "qemu"
    }

    pub fn template(&self) -> bool {
        self.bool_key("template") == Some(true) || flag(&self.g.resource, "template") == Some(true)
    }

    pub fn status(&self) -> &'a str {
        str_of(&self.g.resource, "status").unwrap_or("unknown")
    }

    /// Running and not a template.
    pub fn running(&self) -> bool {
        self.status() == "running" && !self.template()
    }

    pub fn name(&self) -> &'a str {
        str_of(&self.g.resource, "name")
            .or_else(|| self.key("name"))
            .or_else(|| self.key("hostname"))
            .unwrap_or("")
    }

    /// `qemu/101`.
    pub fn object(&self) -> String {
        format!("{}/{}", self.g.kind, self.g.vmid)
    }

    /// `qemu/101 (web)`, for titles.
    pub fn label(&self) -> String {
        match self.name() {
            "" => self.object(),
            n => format!("{} ({n})", self.object()),
        }
    }

    /// `/nodes/pve1/qemu/101/config`.
    pub fn config_path(&self) -> String {
        format!(
            "/nodes/{}/{}/{}/config",
            self.g.node, self.g.kind, self.g.vmid
        )
    }

    /// `win11`, `l26`, … (QEMU), or the container's distribution.
    pub fn ostype(&self) -> Option<&'a str> {
        self.key("ostype")
    }

    pub fn windows(&self) -> bool {
        self.is_qemu()
            && self.ostype().is_some_and(|o| {
                o.starts_with("win") || o.starts_with("w2k") || o == "wxp" || o == "wvista"
            })
    }

    /// In the HA stack (`vm:101` / `ct:201`, or the plain id) and not `ignored` there.
    pub fn ha_managed(&self, snap: &ClusterSnapshot) -> Result<bool, Skip> {
        let ha = got(&snap.ha_resources)?;
        Ok(ha
            .iter()
            .any(|r| ha_sid_matches(r, self.g.vmid) && str_of(r, "state") != Some("ignored")))
    }

    /// Disk-like entries: QEMU `ide/sata/scsi/virtio/efidisk/tpmstate`, LXC `rootfs`/`mpN`,
    /// as (key, value) sorted by key. CD-ROMs included (callers check `media=cdrom`).
    pub fn drives(&self) -> Vec<(&'a str, &'a str)> {
        self.cfg
            .iter()
            .filter(|(k, _)| is_drive_key(k, self.is_qemu()))
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect()
    }

    /// Disks only (no CD-ROM).
    pub fn disks(&self) -> Vec<(&'a str, &'a str)> {
        self.drives()
            .into_iter()
            .filter(|(_, v)| opt(v, "file", "media") != Some("cdrom"))
            .collect()
    }

    /// `netN` entries.
    pub fn nics(&self) -> Vec<(&'a str, &'a str)> {
        self.cfg
            .iter()
            .filter(|(k, _)| indexed(k, "net"))
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect()
    }

    /// A finding about this guest, with the fix filled in by [`Guest::set`] / [`Guest::delete`].
    pub fn finding(
        &self,
        rule: &'static str,
        severity: Severity,
        title: String,
        evidence: String,
        recommendation: &str,
    ) -> Finding {
        Finding {
            rule,
            area: Area::Guests,
            severity,
            object: self.object(),
            title,
            evidence,
            recommendation: recommendation.to_string(),
            fix: None,
            tool_call: None,
            confidence: Confidence::High,
        }
    }

    /// One finding for the drives in `hits` (key, current value, fixed value), or none: the
    /// title names the keys, the fix sets them all at once.
    pub fn drives_finding(
        &self,
        rule: &'static str,
        severity: Severity,
        what: &str,
        note: &str,
        recommendation: &str,
        hits: Vec<(&str, &str, String)>,
    ) -> Vec<Finding> {
        if hits.is_empty() {
            return vec![];
        }
        let keys: Vec<&str> = hits.iter().map(|h| h.0).collect();
        let evidence: Vec<String> = hits.iter().map(|(k, v, _)| format!("{k} = {v}")).collect();
        let f = self.finding(
            rule,
            severity,
            format!("{}: {} {what}", self.label(), keys.join(", ")),
            format!("{}{note}", evidence.join("; ")),
            recommendation,
        );
        let params: Vec<(&str, &str)> = hits.iter().map(|(k, _, n)| (*k, n.as_str())).collect();
        vec![self.set(f, &params)]
    }

    /// Fills `f`'s fix with a config change setting `params`.
    pub fn set(&self, mut f: Finding, params: &[(&str, &str)]) -> Finding {
        let args: Vec<String> = params
            .iter()
            .map(|(k, v)| format!("--{k} {}", shell_word(v)))
            .collect();
        f.fix = Some(format!(
            "pvesh set {} {}",
            self.config_path(),
            args.join(" ")
        ));
        let map: serde_json::Map<String, Value> = params
            .iter()
            .map(|(k, v)| (k.to_string(), Value::String(v.to_string())))
            .collect();
        f.tool_call = Some(ToolCall {
            tool: "proxmox_api",
            arguments: json!({"method": "PUT", "path": self.config_path(), "params": map}),
        });
        f
    }

    /// Fills `f`'s fix with a config change deleting `keys`.
    pub fn delete(&self, f: Finding, keys: &[&str]) -> Finding {
        let keys = keys.join(",");
        self.set(f, &[("delete", &keys)])
    }

    /// Fills `f`'s fix with a plain text (an action that is not a config change).
    pub fn fix_text(&self, mut f: Finding, fix: String) -> Finding {
        f.fix = Some(fix);
        f
    }
}

/// Quotes a value for a shell when it needs it.
fn shell_word(v: &str) -> String {
    if !v.is_empty()
        && v.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.,=:/+@".contains(c))
    {
        v.to_string()
    } else {
        format!("'{}'", v.replace('\'', r"'\''"))
    }
}

/// `net0`, `unused12`: `prefix` then digits only.
pub(crate) fn indexed(key: &str, prefix: &str) -> bool {
    key.strip_prefix(prefix)
        .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
}

fn is_drive_key(key: &str, qemu: bool) -> bool {
    if qemu {
        ["ide", "sata", "scsi", "virtio"]
            .iter()
            .any(|p| indexed(key, p))
            || key == "efidisk0"
            || key == "tpmstate0"
    } else {
        key == "rootfs" || indexed(key, "mp")
    }
}

/// One option of a property string (`opt("local:iso/x.iso,media=cdrom", "file", "media")`).
pub(crate) fn opt<'a>(value: &'a str, default_key: &'a str, key: &str) -> Option<&'a str> {
    prop_string(value, default_key)
        .into_iter()
        .find(|(k, _)| *k == key)
        .map(|(_, v)| v)
}

/// The volume of a drive (`local-lvm:vm-101-disk-0`), its storage (`local-lvm`); `None` for
/// `none`, bind mounts and device paths.
pub(crate) fn drive_storage(value: &str, qemu: bool) -> Option<&str> {
    let file = opt(
        value,
        if qemu { "file" } else { "volume" },
        if qemu { "file" } else { "volume" },
    )?;
    if file.starts_with('/') || file == "none" {
        return None;
    }
    file.split_once(':').map(|(s, _)| s)
}

/// Whether an HA resource entry is this guest (`sid` `vm:101`, `ct:101` or `101`).
pub(crate) fn ha_sid_matches(r: &Value, vmid: u32) -> bool {
    let sid = str_of(r, "sid").unwrap_or_default();
    let id = sid.rsplit(':').next().unwrap_or_default();
    id.parse::<u32>().ok() == Some(vmid)
}

/// Whether a storage (by id) is shared: the definition's `shared` flag, or a type that is
/// shared by nature.
pub(crate) fn storage_shared(defs: &[Value], id: &str) -> Option<bool> {
    let def = defs.iter().find(|d| str_of(d, "storage") == Some(id))?;
    let by_type = matches!(
        str_of(def, "type").unwrap_or_default(),
        "nfs" | "cifs" | "rbd" | "cephfs" | "glusterfs" | "iscsi" | "iscsidirect" | "pbs" | "zfs"
    );
    Some(flag(def, "shared") == Some(true) || by_type)
}

/// The storage type of a storage id.
pub(crate) fn storage_type<'a>(defs: &'a [Value], id: &str) -> Option<&'a str> {
    defs.iter()
        .find(|d| str_of(d, "storage") == Some(id))
        .and_then(|d| str_of(d, "type"))
}

/// Runs `f` over every guest of `kinds` whose config was read. Guests whose config was not
/// read are left to the coverage report; when none of them could be read, the rule is skipped.
pub(crate) fn per_guest(
    snap: &ClusterSnapshot,
    kinds: Kinds,
    f: impl Fn(&Guest) -> Result<Vec<Finding>, Skip>,
) -> Outcome {
    got(&snap.resources)?;
    let mut found = Vec::new();
    let mut judged = 0usize;
    let mut unread = None;
    for g in snap.guests.values().filter(|g| kinds.takes(&g.kind)) {
        match &g.config {
            Ok(cfg) => {
                judged += 1;
                found.extend(f(&Guest { g, cfg })?);
            }
            Err(why) => {
                unread.get_or_insert_with(|| {
                    format!("config of {}/{} not read: {why}", g.kind, g.vmid)
                });
            }
        }
    }
    match unread {
        Some(why) if judged == 0 => Err(Skip(why)),
        _ => Ok(found),
    }
}

/// Runs `f` over every guest of `kinds` from its `/cluster/resources` entry alone (the config,
/// when read, is there too; else empty): for rules that need no config.
pub(crate) fn per_resource(
    snap: &ClusterSnapshot,
    kinds: Kinds,
    f: impl Fn(&Guest) -> Result<Vec<Finding>, Skip>,
) -> Outcome {
    got(&snap.resources)?;
    let empty = BTreeMap::new();
    let mut found = Vec::new();
    for g in snap.guests.values().filter(|g| kinds.takes(&g.kind)) {
        let cfg = g.config.as_ref().unwrap_or(&empty);
        found.extend(f(&Guest { g, cfg })?);
    }
    Ok(found)
}

/// A number member of a resource entry.
pub(crate) fn res_num(g: &Guest, k: &str) -> Option<f64> {
    num(&g.g.resource, k)
}

/// Raw LXC keys of a container config. The API sends them as `lxc: [[key, value], …]`; a
/// collected config may also carry them as a JSON text under `lxc`, as `key: value` lines, or
/// flattened as `lxc.*` keys.
pub(crate) fn raw_lxc(cfg: &BTreeMap<String, String>) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = cfg
        .iter()
        .filter(|(k, _)| k.starts_with("lxc."))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    if let Some(text) = cfg.get("lxc") {
        match serde_json::from_str::<Vec<Vec<String>>>(text) {
            Ok(pairs) => out.extend(pairs.into_iter().filter_map(|p| match p.as_slice() {
                [k, v] => Some((k.clone(), v.clone())),
                _ => None,
            })),
            Err(_) => out.extend(text.lines().filter_map(|l| {
                let (k, v) = l.split_once([':', '='])?;
                Some((k.trim().to_string(), v.trim().to_string()))
            })),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::fixtures::baseline;
    use super::*;
    use crate::config::DiagnosticsConfig;
    use crate::diagnostics::rules::{Ctx, evaluate};

    #[test]
    fn no_findings_on_the_healthy_baseline_or_an_empty_cluster() {
        let cfg = DiagnosticsConfig {
            guest_agent: true,
            ..DiagnosticsConfig::default()
        };
        let ctx = Ctx { config: &cfg };
        for snap in [baseline(), ClusterSnapshot::default()] {
            for rule in RULES {
                let found = rule.check(&snap, &ctx).unwrap_or_default();
                assert!(found.is_empty(), "{} fired: {found:#?}", rule.id());
            }
        }
        // The baseline judges every rule: it holds every fact they read.
        let (_, results) = evaluate(&baseline(), &ctx);
        for r in results.iter().filter(|r| r.rule.starts_with('V')) {
            assert_eq!(r.verdict, "pass", "{} → {:?}", r.rule, r.skipped);
        }
        assert!(RULES.len() >= 34);
    }

    #[test]
    fn ha_membership() {
        let mut snap = baseline();
        let g = &snap.guests[&101];
        let cfg = g.config.as_ref().unwrap();
        assert_eq!(Guest { g, cfg }.ha_managed(&snap), Ok(true));
        snap.ha_resources = Ok(vec![json!({"sid": "vm:101", "state": "ignored"})]);
        let g = &snap.guests[&101];
        assert_eq!(Guest { g, cfg }.ha_managed(&snap), Ok(false));
    }

    #[test]
    fn readers() {
        let mut cfg = BTreeMap::new();
        cfg.insert(
            "lxc".to_string(),
            r#"[["lxc.cgroup.devices.allow","c 10:200 rwm"]]"#.to_string(),
        );
        cfg.insert("lxc.mount.entry".to_string(), "/dev/net".to_string());
        let raw = raw_lxc(&cfg);
        assert_eq!(raw.len(), 2);
        assert!(raw.iter().any(|(k, _)| k == "lxc.cgroup.devices.allow"));
        assert_eq!(
            drive_storage("local-lvm:vm-1-disk-0,iothread=1", true),
            Some("local-lvm")
        );
        assert_eq!(drive_storage("none,media=cdrom", true), None);
        assert_eq!(drive_storage("/srv/data,mp=/data", false), None);
        assert!(indexed("unused3", "unused") && !indexed("unused", "unused"));
        assert_eq!(shell_word("a b"), "'a b'");
    }
}
