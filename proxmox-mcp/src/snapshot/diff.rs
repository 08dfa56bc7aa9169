//! Pure comparison of two snapshots: objects added and removed, and per object the keys added,
//! removed and changed with their old and new values.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::Serialize;

use super::normalize::again;
use super::{Object, Snapshot};

/// What happened to one key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct Change {
    pub key: String,
    /// Absent when the key was added
    #[serde(skip_serializing_if = "Option::is_none")]
    pub old: Option<String>,
    /// Absent when the key was removed
    #[serde(skip_serializing_if = "Option::is_none")]
    pub new: Option<String>,
}

/// A change from borrowed parts, for tests here and in the tool.
#[cfg(test)]
pub(crate) fn change(key: &str, old: Option<&str>, new: Option<&str>) -> Change {
    Change {
        key: key.into(),
        old: old.map(Into::into),
        new: new.map(Into::into),
    }
}

/// The changes of one object present in both snapshots.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct ObjectChanges {
    pub object: String,
    pub changes: Vec<Change>,
}

/// Everything that differs between two snapshots.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, JsonSchema)]
pub struct Diff {
    /// Objects only in the newer snapshot
    pub added: Vec<String>,
    /// Objects only in the older snapshot
    pub removed: Vec<String>,
    pub changed: Vec<ObjectChanges>,
    /// Objects one side could not capture, with why: not compared
    pub not_compared: BTreeMap<String, String>,
}

impl Diff {
    pub fn is_empty(&self) -> bool {
        self.added.is_empty() && self.removed.is_empty() && self.changed.is_empty()
    }

    /// Number of differences: objects added or removed plus keys changed.
    pub fn count(&self) -> usize {
        self.added.len()
            + self.removed.len()
            + self.changed.iter().map(|o| o.changes.len()).sum::<usize>()
    }
}

/// Compares `old` with `new`. Both are normalised again first, so files written under older
/// rules compare under the current ones.
pub fn diff(old: &Snapshot, new: &Snapshot) -> Diff {
    let mut d = Diff::default();
    let why_missing = |id: &str| {
        old.not_captured(id)
            .map(|w| format!("not captured in {}: {w}", old.id))
            .or_else(|| {
                new.not_captured(id)
                    .map(|w| format!("not captured in {}: {w}", new.id))
            })
    };
    for (id, o) in &old.objects {
        match new.objects.get(id) {
            Some(n) => {
                let changes = object_changes(o, n);
                if !changes.is_empty() {
                    d.changed.push(ObjectChanges {
                        object: id.clone(),
                        changes,
                    });
                }
            }
            None => match why_missing(id) {
                Some(why) => {
                    d.not_compared.insert(id.clone(), why);
                }
                None => d.removed.push(id.clone()),
            },
        }
    }
    for id in new
        .objects
        .keys()
        .filter(|id| !old.objects.contains_key(*id))
    {
        match why_missing(id) {
            Some(why) => {
                d.not_compared.insert(id.clone(), why);
            }
            None => d.added.push(id.clone()),
        }
    }
    d
}

fn object_changes(old: &Object, new: &Object) -> Vec<Change> {
    let (a, b) = (again(old.kind, &old.values), again(new.kind, &new.values));
    let mut out = Vec::new();
    for (k, v) in &a {
        match b.get(k) {
            Some(w) if w == v => {}
            w => out.push(Change {
                key: k.clone(),
                old: Some(v.clone()),
                new: w.cloned(),
            }),
        }
    }
    for (k, w) in b.iter().filter(|(k, _)| !a.contains_key(*k)) {
        out.push(Change {
            key: k.clone(),
            old: None,
            new: Some(w.clone()),
        });
    }
    if same_rule_order(&a, &b) {
        out.retain(|c| !(c.key.starts_with("rule ") && c.old.is_some() && c.new.is_some()));
    }
    out
}

/// Whether the rules in both maps keep their relative order (a rule added or removed shifts
/// the positions of the rules after it, which is no change of theirs).
fn same_rule_order(a: &BTreeMap<String, String>, b: &BTreeMap<String, String>) -> bool {
    let order = |m: &BTreeMap<String, String>, other: &BTreeMap<String, String>| {
        let mut rules: Vec<(u64, &String)> = m
            .iter()
            .filter(|(k, _)| k.starts_with("rule ") && other.contains_key(*k))
            .map(|(k, v)| (v.parse().unwrap_or(u64::MAX), k))
            .collect();
        rules.sort();
        rules
            .into_iter()
            .map(|(_, k)| k.clone())
            .collect::<Vec<_>>()
    };
    order(a, b) == order(b, a)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::snapshot::Kind;

    type Spec<'a> = (&'a str, Kind, &'a [(&'a str, &'a str)]);

    fn snap(id: &str, objects: &[Spec]) -> Snapshot {
        Snapshot {
            id: id.into(),
            cluster: "c".into(),
            taken: "2026-01-01T00:00:00Z".into(),
            objects: objects
                .iter()
                .map(|(id, kind, kv)| {
                    let values = kv
                        .iter()
                        .map(|(k, v)| (k.to_string(), v.to_string()))
                        .collect();
                    (
                        id.to_string(),
                        Object {
                            kind: *kind,
                            values,
                        },
                    )
                })
                .collect(),
            missing: BTreeMap::new(),
        }
    }

    #[test]
    fn added_removed_and_changed_keys() {
        let a = snap(
            "a",
            &[
                (
                    "qemu/100",
                    Kind::Qemu,
                    &[("memory", "2048"), ("name", "web")],
                ),
                ("user/bob@pve", Kind::User, &[]),
            ],
        );
        let b = snap(
            "b",
            &[
                ("qemu/100", Kind::Qemu, &[("memory", "4096"), ("tags", "x")]),
                ("user/eve@pve", Kind::User, &[]),
            ],
        );
        let d = diff(&a, &b);
        assert_eq!(d.added, ["user/eve@pve"]);
        assert_eq!(d.removed, ["user/bob@pve"]);
        assert_eq!(
            d.changed,
            [ObjectChanges {
                object: "qemu/100".into(),
                changes: vec![
                    change("memory", Some("2048"), Some("4096")),
                    change("name", Some("web"), None),
                    change("tags", None, Some("x")),
                ],
            }]
        );
        assert_eq!(d.count(), 5);
        assert!(diff(&a, &a).is_empty());
    }

    #[test]
    fn defaults_written_under_old_rules_are_no_change() {
        let a = snap(
            "a",
            &[("qemu/100", Kind::Qemu, &[("cores", "1"), ("onboot", "yes")])],
        );
        let b = snap("b", &[("qemu/100", Kind::Qemu, &[("onboot", "1")])]);
        assert!(diff(&a, &b).is_empty(), "{:?}", diff(&a, &b));
    }

    #[test]
    fn a_rule_added_on_top_is_one_change() {
        let r = Kind::FirewallRules;
        let a = snap(
            "a",
            &[("fw", r, &[("rule IN ACCEPT", "1"), ("rule OUT DROP", "2")])],
        );
        let b = snap(
            "b",
            &[(
                "fw",
                r,
                &[
                    ("rule IN DROP", "1"),
                    ("rule IN ACCEPT", "2"),
                    ("rule OUT DROP", "3"),
                ],
            )],
        );
        assert_eq!(
            diff(&a, &b).changed[0].changes,
            [change("rule IN DROP", None, Some("1"))]
        );
        let swapped = snap(
            "c",
            &[("fw", r, &[("rule IN ACCEPT", "2"), ("rule OUT DROP", "1")])],
        );
        assert_eq!(diff(&a, &swapped).count(), 2, "a reorder is drift");
    }

    #[test]
    fn objects_not_captured_are_not_removed() {
        let a = snap("a", &[("user/bob@pve", Kind::User, &[])]);
        let mut b = snap("b", &[]);
        b.missing.insert("user/".into(), "HTTP 403".into());
        let d = diff(&a, &b);
        assert!(d.is_empty());
        assert_eq!(
            d.not_compared["user/bob@pve"],
            "not captured in b: HTTP 403"
        );
    }
}
