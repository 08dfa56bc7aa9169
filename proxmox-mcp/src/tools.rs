//! The one tool registry: the list of families and [`find`].
//!
//! Families live in their own files ([`cluster`], [`inventory`], [`guest`], [`tasks`],
//! [`raw_api`], [`exec`], [`explain`], [`mode`], [`history`], the action tools); what a tool
//! is made of (its declaration, handler adapter and context) is the shared vocabulary in
//! [`def`]; what the gate needs of a call ([`Assessment`], [`AssessCtx`]) lives in
//! [`crate::gate`].

pub mod action;
pub mod args;
pub mod cluster;
pub mod cluster_mgmt;
pub mod def;
pub mod exec;
pub mod explain;
pub mod guest;
pub mod guest_action;
pub mod history;
pub mod inventory;
pub mod mode;
pub mod network;
pub mod raw_api;
pub mod render;
pub mod request;
pub mod schema;
pub mod storage;
pub mod task_list;
pub mod tasks;
pub mod update;
pub mod users;

use std::sync::LazyLock;

pub use crate::error::ToolError;
pub use crate::gate::{AssessCtx, Assessment};
pub use def::{Hints, Render, ToolCtx, ToolDef, ToolOutput};

static REGISTRY: LazyLock<Vec<ToolDef>> = LazyLock::new(|| {
    let mut tools = Vec::new();
    tools.extend(cluster::tools());
    tools.extend(inventory::tools());
    tools.extend(guest::tools());
    tools.extend(tasks::tools());
    tools.extend(task_list::tools());
    tools.extend(guest_action::tools());
    tools.extend(storage::tools());
    tools.extend(network::tools());
    tools.extend(users::tools());
    tools.extend(cluster_mgmt::tools());
    tools.extend(raw_api::tools());
    tools.extend(exec::tools());
    tools.extend(explain::tools());
    tools.extend(mode::tools());
    tools.extend(history::tools());
    tools.extend(update::tools());
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
