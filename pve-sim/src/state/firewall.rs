//! Firewall options, rules, aliases, IP sets and security groups at cluster, node and guest level.

use std::collections::BTreeMap;

use serde::Serialize;

use super::Obj;

#[derive(Clone, Debug, Default, Serialize)]
pub struct RuleSet {
    pub comment: Option<String>,
    pub entries: Vec<Obj>,
}

#[derive(Clone, Debug, Default, Serialize)]
pub struct Firewall {
    /// Options by scope: `cluster`, `node/<name>`, `vm/<vmid>`.
    pub options: BTreeMap<String, Obj>,
    /// Rules by scope (same keys as options).
    pub rules: BTreeMap<String, Vec<Obj>>,
    pub aliases: BTreeMap<String, Obj>,
    pub ipsets: BTreeMap<String, RuleSet>,
    pub groups: BTreeMap<String, RuleSet>,
}
