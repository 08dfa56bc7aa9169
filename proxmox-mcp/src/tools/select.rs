//! The `[tools]` allow and deny lists: which tools of the registry this server offers. A name
//! is a tool or a group ([`super::GROUPS`]); an unknown one is a start-up error, so a typo never
//! silently offers (or hides) more than meant.

use super::{GROUPS, ToolDef, registry};
use crate::config::ToolsConfig;

/// Whether `name` is a tool or a group.
fn known(name: &str) -> bool {
    GROUPS.contains(&name) || registry().iter().any(|t| t.name == name)
}

fn names(tool: &ToolDef, list: &[String]) -> bool {
    list.iter().any(|n| n == tool.name || n == tool.group)
}

/// Check the lists against the registry: every name known, at least one tool left.
pub fn check(cfg: &ToolsConfig) -> Result<(), String> {
    let lists = [
        (
            "tools.allow (PROXMOX_MCP_TOOLS_ALLOW)",
            cfg.allow.as_deref(),
        ),
        (
            "tools.deny (PROXMOX_MCP_TOOLS_DENY)",
            Some(cfg.deny.as_slice()),
        ),
    ];
    for (what, list) in lists {
        let unknown: Vec<&str> = list
            .unwrap_or_default()
            .iter()
            .map(String::as_str)
            .filter(|n| !known(n))
            .collect();
        if !unknown.is_empty() {
            return Err(format!(
                "{what} names unknown tools or groups: {}; groups are {}, and \
                 `proxmox-mcp tools` lists the tool names",
                unknown.join(", "),
                GROUPS.join(", ")
            ));
        }
    }
    if !registry().iter().any(|t| enabled(cfg, t)) {
        return Err("tools.allow and tools.deny leave no tool to offer".into());
    }
    Ok(())
}

/// Whether `tool` is offered: named (or its group named) by `allow` when there is one, and
/// not by `deny`.
pub fn enabled(cfg: &ToolsConfig, tool: &ToolDef) -> bool {
    cfg.allow.as_ref().is_none_or(|a| names(tool, a)) && !names(tool, &cfg.deny)
}

/// Whether the tool called `name` exists and is offered.
pub fn offered(cfg: &ToolsConfig, name: &str) -> bool {
    super::find(name).is_some_and(|t| enabled(cfg, t))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(allow: Option<&[&str]>, deny: &[&str]) -> ToolsConfig {
        let own = |l: &[&str]| l.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        ToolsConfig {
            allow: allow.map(own),
            deny: own(deny),
        }
    }

    fn check_case(allow: Option<&[&str]>, deny: &[&str], on: &[&str], off: &[&str]) {
        let c = cfg(allow, deny);
        check(&c).unwrap();
        for n in on {
            assert!(
                offered(&c, n),
                "{n} should be offered ({allow:?} / {deny:?})"
            );
        }
        for n in off {
            assert!(
                !offered(&c, n),
                "{n} should be hidden ({allow:?} / {deny:?})"
            );
        }
    }

    #[test]
    fn allow_and_deny_by_name_and_group() {
        check_case(
            None,
            &[],
            &["list_vms", "execute_command"],
            &["no_such_tool"],
        );
        check_case(
            Some(&["guests", "get_mcp_info"]),
            &[],
            &["list_vms", "vm_action", "get_mcp_info"],
            &["execute_command", "help_llm"],
        );
        check_case(
            None,
            &["exec", "proxmox_api"],
            &["list_vms", "toggle_mode"],
            &["execute_command", "explain_command", "proxmox_api"],
        );
        check_case(
            Some(&["guests"]),
            &["vm_action"],
            &["list_vms"],
            &["vm_action"],
        );
    }

    #[test]
    fn unknown_names_and_empty_results_are_errors() {
        let e = check(&cfg(Some(&["list_vm"]), &[])).unwrap_err();
        assert!(e.contains("tools.allow") && e.contains("list_vm"), "{e}");
        let e = check(&cfg(None, &["guests", "nope"])).unwrap_err();
        assert!(e.contains("tools.deny") && e.contains("nope"), "{e}");
        let e = check(&cfg(Some(&["guests"]), &["guests"])).unwrap_err();
        assert!(e.contains("no tool"), "{e}");
    }
}
