//! The one tool registry: the list of families and [`find`].
//!
//! Families live in their own files ([`cluster`], [`inventory`], [`guest`], [`tasks`],
//! [`raw_api`], [`exec`], [`explain`], [`mode`], [`history`], the action tools); what a tool
//! is made of (its declaration, handler adapter and context) is the shared vocabulary in
//! [`def`]; what the gate needs of a call ([`Assessment`], [`AssessCtx`]) lives in
//! [`crate::gate`].

pub mod about;
pub mod action;
pub mod args;
pub mod cluster;
pub mod cluster_mgmt;
pub mod config_backup;
pub mod config_snapshot;
pub mod def;
pub mod exec;
pub mod explain;
pub mod guest;
pub mod guest_action;
pub mod health;
pub mod history;
pub mod inventory;
pub mod mode;
pub mod network;
pub mod raw_api;
pub mod render;
pub mod request;
pub mod schema;
pub mod select;
pub mod storage;
pub mod task_list;
pub mod tasks;
pub mod users;

use std::sync::LazyLock;

pub use crate::error::ToolError;
pub use crate::gate::{AssessCtx, Assessment};
pub use def::{Hints, Render, ToolCtx, ToolDef, ToolOutput};

/// The tool groups, in `tools/list` order; `[tools]` allow and deny lists may name them.
pub const GROUPS: &[&str] = &[
    "cluster", "guests", "tasks", "storage", "network", "users", "api", "exec", "server",
];

/// A family of tools: its group and the function that declares them.
type Family = (&'static str, fn() -> Vec<ToolDef>);

/// The families that belong to a group other than `server`, in `tools/list` order.
const FAMILIES: &[Family] = &[
    ("cluster", cluster::tools),
    ("guests", inventory::tools),
    ("guests", guest::tools),
    ("tasks", tasks::tools),
    ("tasks", task_list::tools),
    ("guests", guest_action::tools),
    ("storage", storage::tools),
    ("network", network::tools),
    ("users", users::tools),
    ("cluster", cluster_mgmt::tools),
    ("api", raw_api::tools),
    ("exec", exec::tools),
    ("exec", explain::tools),
    ("cluster", config_snapshot::tools),
];

static REGISTRY: LazyLock<Vec<ToolDef>> = LazyLock::new(|| {
    let mut tools: Vec<ToolDef> = FAMILIES
        .iter()
        .flat_map(|(group, family)| family().into_iter().map(|t| t.in_group(group)))
        .collect();
    tools.extend(mode::tools());
    tools.extend(history::tools());
    tools.extend(about::tools());
    tools.extend(config_backup::tools());
    tools.extend(health::tools());
    tools
});

/// Every tool, in the order `tools/list` shows them.
pub fn registry() -> &'static [ToolDef] {
    &REGISTRY
}

/// Look a tool up by name.
pub fn find(name: &str) -> Option<&'static ToolDef> {
    registry().iter().find(|t| t.name == name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::Class;

    #[test]
    fn names_are_unique_and_schemas_are_flat_objects() {
        let mut names: Vec<_> = registry().iter().map(|t| t.name).collect();
        names.sort_unstable();
        let before = names.len();
        names.dedup();
        assert_eq!(before, names.len(), "duplicate tool names");
        for t in registry() {
            assert!(GROUPS.contains(&t.group), "{} is in no known group", t.name);
            assert_eq!(
                t.input_schema.get("type").and_then(|v| v.as_str()),
                Some("object"),
                "{}",
                t.name
            );
            assert!(t.input_schema.contains_key("properties"), "{}", t.name);
            assert!(
                !t.input_schema.contains_key("$defs"),
                "{} input schema must be flat",
                t.name
            );
            assert!(
                t.input_schema["properties"].get("cluster").is_some(),
                "{}",
                t.name
            );
            assert!(
                !t.needs_cluster || !t.endpoints.is_empty(),
                "{} declares no endpoints",
                t.name
            );
            if t.class == Class::Read {
                assert!(t.hints.read_only && !t.hints.destructive, "{}", t.name);
            }
            let actions = t.input_schema["properties"]
                .get("action")
                .and_then(|a| a["enum"].as_array())
                .cloned()
                .unwrap_or_default();
            for ra in t.read_actions {
                assert!(
                    actions.iter().any(|a| a == ra),
                    "{}: read action {ra} is not one of its actions",
                    t.name
                );
            }
        }
    }
}
