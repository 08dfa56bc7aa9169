//! Pure: the analysis rules over a [`ClusterSnapshot`]. One rule per type, gathered by [`all`];
//! ids are stable and never reused. A rule that lacks a fact it needs reports itself skipped
//! with the reason (the `?` on a [`Got`] does that), never as a pass.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::Serialize;
use serde_json::Value;

use super::snapshot::Got;
use super::snapshot::cluster::ClusterSnapshot;
use crate::config::DiagnosticsConfig;

pub mod backup;
pub mod guests;
pub mod health;
pub mod optimise;
pub mod security;
pub mod util;

/// How bad a finding is, worst last (so `max` is the worst).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Info,
    Notice,
    Warning,
    Critical,
}

/// Which part of the report (and of the score) a rule belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Area {
    /// Cluster, nodes, storage, HA, tasks, hardware.
    Health,
    /// Guest configuration.
    Guests,
    /// Capacity and efficiency.
    Optimisation,
    /// Access, firewall, certificates, updates.
    Security,
    /// Backups, snapshots, replication.
    Backup,
}

impl Area {
    pub const ALL: [Area; 5] = [
        Area::Health,
        Area::Guests,
        Area::Optimisation,
        Area::Security,
        Area::Backup,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Area::Health => "health",
            Area::Guests => "guests",
            Area::Optimisation => "optimisation",
            Area::Security => "security",
            Area::Backup => "backup",
        }
    }
}

/// How sure the rule is that the finding is a real problem.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Confidence {
    /// The data says so directly (a pool is FAULTED).
    High,
    /// Likely, but context may make it intended (a privileged container).
    Medium,
    /// A hint worth a look (a consolidation candidate).
    Low,
}

/// A call to one of this server's tools that applies the fix. It still goes through the gate:
/// the model cannot apply a change the policy would ask a human about.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct ToolCall {
    pub tool: &'static str,
    pub arguments: Value,
}

/// One problem found on one object.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct Finding {
    /// The rule's id (`H11`, `V01a`).
    pub rule: &'static str,
    pub area: Area,
    pub severity: Severity,
    /// What it is about: `cluster`, `node/pve1`, `storage/pve1/local-lvm`, `qemu/101`,
    /// `lxc/203`, `user/alice@pve`, `token/root@pam!ci`, `job/backup-1`.
    pub object: String,
    /// One line: what is wrong.
    pub title: String,
    /// The numbers behind it (`cpu 91 % (warn 70, crit 85)`).
    pub evidence: String,
    /// What to do, in a sentence.
    pub recommendation: String,
    /// The exact command or API request that fixes it.
    pub fix: Option<String>,
    /// The tool call here that does it, when one exists.
    pub tool_call: Option<ToolCall>,
    pub confidence: Confidence,
}

/// Why a rule could not judge: the fact it needs was not read (or not chosen to be read).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skip(pub String);

impl From<&String> for Skip {
    fn from(why: &String) -> Self {
        Skip(why.clone())
    }
}

impl From<String> for Skip {
    fn from(why: String) -> Self {
        Skip(why)
    }
}

/// What a rule says about the whole snapshot.
pub type Outcome = Result<Vec<Finding>, Skip>;

/// Thresholds (configured or the rule's default) and the other knobs a rule reads.
pub struct Ctx<'a> {
    pub config: &'a DiagnosticsConfig,
}

impl Ctx<'_> {
    /// The configured value of `key` (`"H11.warn"`), else `default`.
    pub fn threshold(&self, key: &str, default: f64) -> f64 {
        self.config.thresholds.get(key).copied().unwrap_or(default)
    }
}

/// One check. Implementations are unit structs; `check` is pure.
pub trait Rule: Sync {
    /// Stable id, never reused (`H01`, `V15b`).
    fn id(&self) -> &'static str;
    fn area(&self) -> Area;
    /// What it checks, one line (`Cluster not quorate`).
    fn title(&self) -> &'static str;
    /// Compares nodes with each other: skipped on a single-node cluster.
    fn cross_node(&self) -> bool {
        false
    }
    /// The findings on `snap`, or why it could not judge.
    fn check(&self, snap: &ClusterSnapshot, ctx: &Ctx) -> Outcome;
}

/// Every rule, in catalogue order.
pub fn all() -> impl Iterator<Item = &'static dyn Rule> {
    [
        health::RULES,
        guests::RULES,
        optimise::RULES,
        security::RULES,
        backup::RULES,
    ]
    .into_iter()
    .flatten()
    .copied()
}

/// The verdict of one rule on one snapshot.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct RuleResult {
    pub rule: &'static str,
    pub area: Area,
    pub title: &'static str,
    /// `pass`, `skip`, or the worst severity of its findings.
    pub verdict: &'static str,
    /// Why it was skipped.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub skipped: Option<String>,
}

/// Every rule run over `snap`: the findings (ignore rules not yet applied) and one result per
/// rule.
pub fn evaluate(snap: &ClusterSnapshot, ctx: &Ctx) -> (Vec<Finding>, Vec<RuleResult>) {
    let mut findings = Vec::new();
    let mut results = Vec::new();
    for rule in all() {
        let outcome = if rule.cross_node() && snap.single_node() {
            Err(Skip("single-node cluster: nothing to compare".into()))
        } else {
            rule.check(snap, ctx)
        };
        let (verdict, skipped) = match outcome {
            Err(Skip(why)) => ("skip", Some(why)),
            Ok(found) => {
                let verdict = match found.iter().map(|f| f.severity).max() {
                    None => "pass",
                    Some(Severity::Info) => "info",
                    Some(Severity::Notice) => "notice",
                    Some(Severity::Warning) => "warning",
                    Some(Severity::Critical) => "critical",
                };
                findings.extend(found);
                (verdict, None)
            }
        };
        results.push(RuleResult {
            rule: rule.id(),
            area: rule.area(),
            title: rule.title(),
            verdict,
            skipped,
        });
    }
    (findings, results)
}

/// A fact's body, or a [`Skip`] naming why it was not read.
pub fn got<T>(fact: &Got<T>) -> Result<&T, Skip> {
    fact.as_ref().map_err(Skip::from)
}

/// Findings grouped by rule id (handy in tests).
pub fn by_rule(findings: &[Finding]) -> BTreeMap<&'static str, Vec<&Finding>> {
    let mut out: BTreeMap<&'static str, Vec<&Finding>> = BTreeMap::new();
    for f in findings {
        out.entry(f.rule).or_default().push(f);
    }
    out
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    #[test]
    fn ids_are_unique_and_well_formed() {
        let mut seen = BTreeSet::new();
        for r in all() {
            assert!(seen.insert(r.id()), "rule id {} used twice", r.id());
            let prefix = match r.area() {
                Area::Health => 'H',
                Area::Guests => 'V',
                Area::Optimisation => 'O',
                Area::Security => 'S',
                Area::Backup => 'B',
            };
            assert!(
                r.id().starts_with(prefix),
                "{} is in area {:?}",
                r.id(),
                r.area()
            );
            assert!(!r.title().is_empty());
        }
    }
}
