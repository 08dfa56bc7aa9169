//! `config_snapshot`: take the cluster's configuration as a snapshot in the state directory,
//! list the snapshots, and diff two of them (or one and now). Reading the cluster and writing
//! our own state directory changes nothing on the cluster: the tool is a read, audited as one.

use std::time::SystemTime;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{Hints, Render, ToolCtx, ToolDef, ToolError};
use crate::audit::event::format_time;
use crate::policy::Class;
use crate::snapshot::Snapshot;
use crate::snapshot::collect::{ENDPOINTS, collect};
use crate::snapshot::diff::{Diff, diff};
use crate::snapshot::store::{Listed, Store, StoreError, check_id, id_for};

/// Lines of changes the text shows; the structured result has them all.
const SHOWN: usize = 200;

pub fn tools() -> Vec<ToolDef> {
    vec![ToolDef::new(
        "config_snapshot",
        "Configuration snapshots and drift",
        "Snapshot the cluster configuration (guests, storage, users/groups/roles/ACL \
         without secrets, datacenter options, firewall, HA, pools, backup jobs) into the server's state, list them, or \
             diff two (to omitted: against now). Defaults and spellings are normalised, so a \
             diff shows only real drift.",
        Class::Read,
        Hints {
            idempotent: false,
            ..Hints::READ
        },
        ENDPOINTS,
        config_snapshot,
    )]
}

#[derive(Debug, Clone, Copy, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    Take,
    List,
    Diff,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SnapshotParams {
    pub action: Action,
    /// diff: the older snapshot id
    pub from: Option<String>,
    /// diff: the newer snapshot id; omit to compare with the cluster now
    pub to: Option<String>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct SnapshotResult {
    pub action: &'static str,
    /// take: the new snapshot's id
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub objects: Option<usize>,
    /// What could not be captured, and why
    #[serde(skip_serializing_if = "Option::is_none")]
    pub not_captured: Option<std::collections::BTreeMap<String, String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub snapshots: Option<Vec<Listed>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub to: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub diff: Option<Diff>,
}

impl SnapshotResult {
    fn new(action: &'static str) -> Self {
        SnapshotResult {
            action,
            id: None,
            objects: None,
            not_captured: None,
            snapshots: None,
            from: None,
            to: None,
            diff: None,
        }
    }
}

fn store_error(e: StoreError) -> ToolError {
    match e {
        StoreError::BadId(_) => ToolError::invalid(e.to_string()),
        StoreError::NotFound(_) => ToolError::NotFound(e.to_string()),
        StoreError::Io { .. } | StoreError::Corrupt { .. } => ToolError::Config(e.to_string()),
    }
}

/// The cluster's configuration now; a cancelled call stops reading at once.
async fn live(ctx: &ToolCtx) -> Result<Snapshot, ToolError> {
    let taken = format_time(SystemTime::now());
    tokio::select! {
        snap = collect(&ctx.pve, id_for(&taken), ctx.cluster.clone(), taken.clone()) => Ok(snap),
        () = ctx.cancel.cancelled() => Err(ToolError::Cancelled),
    }
}

async fn config_snapshot(ctx: ToolCtx, p: SnapshotParams) -> Result<SnapshotResult, ToolError> {
    let store = Store::new(&ctx.engine.config().state_dir);
    let unused = |name: &str, v: &Option<String>| match v {
        Some(_) => Err(ToolError::invalid(format!(
            "{name} is only for action=diff"
        ))),
        None => Ok(()),
    };
    match p.action {
        Action::Take => {
            unused("from", &p.from)?;
            unused("to", &p.to)?;
            let mut snap = live(&ctx).await?;
            let id = store.save(&mut snap).map_err(store_error)?;
            let mut r = SnapshotResult::new("take");
            r.id = Some(id);
            r.objects = Some(snap.objects.len());
            r.not_captured = Some(snap.missing);
            Ok(r)
        }
        Action::List => {
            unused("from", &p.from)?;
            unused("to", &p.to)?;
            let mut r = SnapshotResult::new("list");
            r.snapshots = Some(store.list().map_err(store_error)?);
            Ok(r)
        }
        Action::Diff => {
            let from = p
                .from
                .ok_or_else(|| ToolError::invalid("diff needs from (a snapshot id from list)"))?;
            check_id(&from).map_err(store_error)?;
            if let Some(to) = &p.to {
                check_id(to).map_err(store_error)?;
            }
            let old = store.load(&from).map_err(store_error)?;
            let new = match &p.to {
                Some(to) => store.load(to).map_err(store_error)?,
                None => live(&ctx).await?,
            };
            let mut r = SnapshotResult::new("diff");
            r.from = Some(old.id.clone());
            r.to = Some(p.to.map_or_else(|| "now".into(), |_| new.id.clone()));
            r.diff = Some(diff(&old, &new));
            Ok(r)
        }
    }
}

impl Render for SnapshotResult {
    fn render(&self) -> String {
        let mut out = String::new();
        if let (Some(id), Some(n)) = (&self.id, self.objects) {
            out.push_str(&format!("Snapshot {id} taken: {n} objects."));
        }
        for (scope, why) in self.not_captured.iter().flatten() {
            out.push_str(&format!("\nnot captured {scope}: {why}"));
        }
        if let Some(list) = &self.snapshots {
            if list.is_empty() {
                out.push_str("No snapshots; take one with action=take.");
            }
            for s in list {
                let missing = match s.missing {
                    0 => String::new(),
                    n => format!(", {n} not captured"),
                };
                out.push_str(&format!(
                    "{} {} {} ({} objects{missing})\n",
                    s.id, s.cluster, s.taken, s.objects
                ));
            }
        }
        if let Some(d) = &self.diff {
            render_diff(&mut out, self, d);
        }
        out.trim_end().to_owned()
    }
}

fn render_diff(out: &mut String, r: &SnapshotResult, d: &Diff) {
    let (from, to) = (
        r.from.as_deref().unwrap_or("?"),
        r.to.as_deref().unwrap_or("?"),
    );
    if d.is_empty() {
        out.push_str(&format!("No drift between {from} and {to}."));
    } else {
        out.push_str(&format!("{} differences {from} → {to}:", d.count()));
    }
    let mut lines = Vec::new();
    lines.extend(d.added.iter().map(|o| format!("+ {o}")));
    lines.extend(d.removed.iter().map(|o| format!("- {o}")));
    for o in &d.changed {
        lines.push(format!("{}:", o.object));
        for c in &o.changes {
            // Rules are keyed by their text; their value is the position.
            let (eq, pos) = if c.key.starts_with("rule ") {
                (" at #", "#")
            } else {
                (" = ", "")
            };
            lines.push(match (&c.old, &c.new) {
                (None, Some(n)) => format!("  + {}{eq}{n}", c.key),
                (Some(_), None) => format!("  - {}", c.key),
                (Some(a), Some(b)) => format!("  ~ {}: {pos}{a} → {pos}{b}", c.key),
                (None, None) => continue,
            });
        }
    }
    let hidden = lines.len().saturating_sub(SHOWN);
    for l in lines.into_iter().take(SHOWN) {
        out.push('\n');
        out.push_str(&l);
    }
    if hidden > 0 {
        out.push_str(&format!("\n… {hidden} more lines in the structured result"));
    }
    if !d.not_compared.is_empty() {
        out.push_str(&format!(
            "\nNot compared ({} objects one side could not read): {}",
            d.not_compared.len(),
            d.not_compared
                .keys()
                .take(10)
                .cloned()
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::snapshot::diff::{ObjectChanges, change};

    #[test]
    fn diff_text_is_one_line_per_change() {
        let mut r = SnapshotResult::new("diff");
        r.from = Some("a".into());
        r.to = Some("now".into());
        r.diff = Some(Diff {
            added: vec!["user/eve@pve".into()],
            removed: vec!["user/bob@pve".into()],
            changed: vec![
                ObjectChanges {
                    object: "qemu/100".into(),
                    changes: vec![
                        change("memory", Some("2048"), Some("4096")),
                        change("tags", None, Some("web")),
                        change("onboot", Some("1"), None),
                    ],
                },
                ObjectChanges {
                    object: "firewall/cluster/rules".into(),
                    changes: vec![change("rule IN ACCEPT dport=22", None, Some("1"))],
                },
            ],
            not_compared: Default::default(),
        });
        assert_eq!(
            r.render(),
            "6 differences a → now:\n+ user/eve@pve\n- user/bob@pve\nqemu/100:\n  ~ memory: 2048 → \
             4096\n  + tags = web\n  - onboot\nfirewall/cluster/rules:\n  + rule IN ACCEPT \
             dport=22 at #1"
        );
        r.diff = Some(Diff::default());
        assert_eq!(r.render(), "No drift between a and now.");
    }
}
