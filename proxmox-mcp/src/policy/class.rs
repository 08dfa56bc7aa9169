//! What a call can do to a cluster, from harmless to irreversible; the most dangerous part decides.

use serde::{Deserialize, Serialize};

/// The class of a tool call or raw API request. Ordered from least to most dangerous.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Class {
    /// Reads state, changes nothing.
    Read,
    /// Power and run state: start, clean shutdown, reboot, suspend, resume (a hard stop is
    /// Destructive).
    Lifecycle,
    /// Configuration changes and creation.
    Modify,
    /// Deletes, destroys, rollbacks, hard stops and resets, purges, wipes, and what cuts a node
    /// off (its cluster services, firewall or network).
    Destructive,
    /// Runs arbitrary commands on a node or in a guest, or makes something run later.
    Exec,
}

/// A plain string enum in schemas: the variant docs would cost `tools/list` bytes on every tool.
impl schemars::JsonSchema for Class {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Class".into()
    }

    fn inline_schema() -> bool {
        true
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({"type": "string", "enum": ["read", "lifecycle", "modify", "destructive", "exec"]})
    }
}

impl Class {
    pub fn as_str(self) -> &'static str {
        match self {
            Class::Read => "read",
            Class::Lifecycle => "lifecycle",
            Class::Modify => "modify",
            Class::Destructive => "destructive",
            Class::Exec => "exec",
        }
    }

    /// True when the call can change the cluster.
    pub fn is_mutation(self) -> bool {
        self != Class::Read
    }
}

impl std::fmt::Display for Class {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}
