//! Pure: small builders shared by the optimisation and backup rules (findings, guest walks).

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::super::util::{flag, num, str_of};
use super::super::{Confidence, Finding, Rule, Severity, Skip, ToolCall};
use crate::diagnostics::snapshot::cluster::{ClusterSnapshot, GuestSnapshot};

/// A finding of `rule` with no fix yet and high confidence; chain [`More`] to add the rest.
pub fn finding(
    rule: &dyn Rule,
    severity: Severity,
    object: impl Into<String>,
    title: impl Into<String>,
    evidence: impl Into<String>,
    recommendation: impl Into<String>,
) -> Finding {
    Finding {
        rule: rule.id(),
        area: rule.area(),
        severity,
        object: object.into(),
        title: title.into(),
        evidence: evidence.into(),
        recommendation: recommendation.into(),
        fix: None,
        tool_call: None,
        confidence: Confidence::High,
    }
}

/// Chained setters for the optional parts of a [`Finding`].
pub trait More {
    fn fix(self, fix: impl Into<String>) -> Self;
    /// The fix as a `proxmox_api` call (`method`, `path`, `params`).
    fn api(self, method: &str, path: &str, params: Value) -> Self;
    fn confidence(self, c: Confidence) -> Self;
}

impl More for Finding {
    fn fix(mut self, fix: impl Into<String>) -> Self {
        self.fix = Some(fix.into());
        self
    }

    fn api(mut self, method: &str, path: &str, params: Value) -> Self {
        self.tool_call = Some(ToolCall {
            tool: "proxmox_api",
            arguments: json!({"method": method, "path": path, "params": params}),
        });
        self
    }

    fn confidence(mut self, c: Confidence) -> Self {
        self.confidence = c;
        self
    }
}

/// `qemu/101` or `lxc/203`.
pub fn guest_object(g: &GuestSnapshot) -> String {
    format!("{}/{}", g.kind, g.vmid)
}

/// The API path of a guest (`/nodes/pve1/qemu/101`).
pub fn guest_path(g: &GuestSnapshot) -> String {
    format!("/nodes/{}/{}/{}", g.node, g.kind, g.vmid)
}

/// A template (its resource entry or its config says so).
pub fn is_template(g: &GuestSnapshot) -> bool {
    flag(&g.resource, "template") == Some(true)
        || g.config
            .as_ref()
            .ok()
            .and_then(|c| c.get("template"))
            .is_some_and(|t| t.trim() == "1")
}

/// `running` in the guest's resource entry.
pub fn is_running(g: &GuestSnapshot) -> bool {
    str_of(&g.resource, "status") == Some("running")
}

/// A guest with its config.
pub type WithConfig<'a> = (&'a GuestSnapshot, &'a BTreeMap<String, String>);

/// A guest with its snapshots (name → section).
pub type WithSnapshots<'a> = (
    &'a GuestSnapshot,
    Vec<(&'a String, &'a BTreeMap<String, String>)>,
);

/// Every non-template guest with its config. Guests whose config was not read are left out;
/// when there are guests and none was read, the rule is skipped with the first reason.
pub fn guest_configs(snap: &ClusterSnapshot) -> Result<Vec<WithConfig<'_>>, Skip> {
    let mut out = Vec::new();
    let mut why = None;
    for g in snap.guests.values().filter(|g| !is_template(g)) {
        match &g.config {
            Ok(c) => out.push((g, c)),
            Err(e) => {
                why.get_or_insert_with(|| format!("guest {}: {e}", g.vmid));
            }
        }
    }
    match why {
        Some(why) if out.is_empty() => Err(Skip(why)),
        _ => Ok(out),
    }
}

/// Every non-template guest with its snapshots (skipped like [`guest_configs`]), without the
/// `current` pseudo-entry.
pub fn guest_snapshots(snap: &ClusterSnapshot) -> Result<Vec<WithSnapshots<'_>>, Skip> {
    let mut out = Vec::new();
    let mut why = None;
    for g in snap.guests.values().filter(|g| !is_template(g)) {
        match &g.snapshots {
            Ok(s) => out.push((
                g,
                s.iter()
                    .filter(|(name, _)| name.as_str() != "current")
                    .collect(),
            )),
            Err(e) => {
                why.get_or_insert_with(|| format!("guest {}: {e}", g.vmid));
            }
        }
    }
    match why {
        Some(why) if out.is_empty() => Err(Skip(why)),
        _ => Ok(out),
    }
}

/// A number out of a config string map.
pub fn cfg_num(c: &BTreeMap<String, String>, key: &str) -> Option<f64> {
    c.get(key).and_then(|v| v.trim().parse().ok())
}

/// The `/cluster/resources` node entries that are online, by name.
pub fn online_nodes(nodes: &[&Value]) -> Vec<String> {
    nodes
        .iter()
        .filter(|n| str_of(n, "status") == Some("online"))
        .filter_map(|n| str_of(n, "node").map(str::to_owned))
        .collect()
}

/// `1.5 h`, `3.2 d`: an age in seconds for evidence.
pub fn age(secs: i64) -> String {
    let h = secs as f64 / 3600.0;
    if h < 48.0 {
        format!("{h:.1} h")
    } else {
        format!("{:.1} d", h / 24.0)
    }
}

/// A byte count in GiB for evidence.
pub fn gib(bytes: f64) -> String {
    format!("{:.1} GiB", bytes / 1_073_741_824.0)
}

/// PVE's retention options, whether sent as a property string (`keep-last=3,keep-daily=7`) or
/// as an object; `None` when absent or empty.
pub fn retention(v: Option<&Value>) -> Option<BTreeMap<String, f64>> {
    let v = v?;
    let mut out = BTreeMap::new();
    match v {
        Value::String(s) => {
            for (k, v) in s.split(',').filter_map(|p| p.split_once('=')) {
                if let Ok(n) = v.trim().parse::<f64>() {
                    out.insert(k.trim().to_owned(), n);
                }
            }
        }
        Value::Object(o) => {
            for k in o.keys() {
                if let Some(n) = num(v, k) {
                    out.insert(k.clone(), n);
                }
            }
        }
        _ => {}
    }
    (!out.is_empty()).then_some(out)
}
