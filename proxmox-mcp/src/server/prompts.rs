//! MCP prompts: ready-made requests a user can pick in their client (troubleshoot a VM, review
//! capacity or security, plan rolling maintenance), each a user message with concrete steps
//! naming our tools.

use rmcp::model::{
    ErrorData, GetPromptResult, JsonObject, Prompt, PromptArgument, PromptMessage, Role,
};
use serde_json::Value;

/// Name, title, description, arguments (name, description, required).
type Spec = (
    &'static str,
    &'static str,
    &'static str,
    &'static [(&'static str, &'static str, bool)],
);

const PROMPTS: &[Spec] = &[
    (
        "troubleshoot-vm",
        "Troubleshoot a VM",
        "Find out why a VM or container misbehaves, reading before changing anything.",
        &[("vmid", "The guest's id, e.g. 100", true)],
    ),
    (
        "capacity-review",
        "Capacity review",
        "CPU, memory and storage headroom per node and storage, with what to do about it.",
        &[],
    ),
    (
        "security-review",
        "Security review",
        "Users, tokens, permissions, firewall and exposure of the cluster, read-only.",
        &[],
    ),
    (
        "rolling-maintenance",
        "Rolling node maintenance",
        "Plan and run maintenance one node at a time, keeping guests up.",
        &[(
            "node",
            "The node to start with (default: you choose)",
            false,
        )],
    ),
];

/// The prompts we offer, for `prompts/list`.
pub fn list() -> Vec<Prompt> {
    PROMPTS
        .iter()
        .map(|(name, title, description, args)| {
            let args = args
                .iter()
                .map(|(n, d, required)| {
                    PromptArgument::new(*n)
                        .with_description(*d)
                        .with_required(*required)
                })
                .collect();
            Prompt::new(*name, Some(*description), Some(args)).with_title(*title)
        })
        .collect()
}

/// The prompt `name` with `args`; an unknown prompt or a missing or bad argument is
/// `invalid params`.
pub fn get(name: &str, args: Option<&JsonObject>) -> Result<GetPromptResult, ErrorData> {
    let Some((_, _, description, specs)) = PROMPTS.iter().find(|p| p.0 == name) else {
        let known: Vec<&str> = PROMPTS.iter().map(|p| p.0).collect();
        return Err(ErrorData::invalid_params(
            format!("no prompt {name:?}; known: {}", known.join(", ")),
            None,
        ));
    };
    let arg = |key: &str| -> Option<String> {
        match args?.get(key)? {
            Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_owned()),
            Value::Number(n) => Some(n.to_string()),
            _ => None,
        }
    };
    for (key, _, required) in *specs {
        if *required && arg(key).is_none() {
            return Err(ErrorData::invalid_params(
                format!("prompt {name} needs the argument `{key}`"),
                None,
            ));
        }
    }
    let text = match name {
        "troubleshoot-vm" => {
            let vmid = arg("vmid").unwrap_or_default();
            crate::tools::args::Vmid::parse(&vmid)
                .map_err(|e| ErrorData::invalid_params(e, None))?;
            troubleshoot(&vmid)
        }
        "capacity-review" => CAPACITY.to_owned(),
        "security-review" => SECURITY.to_owned(),
        _ => rolling(arg("node").as_deref()),
    };
    Ok(
        GetPromptResult::new(vec![PromptMessage::new_text(Role::User, text)])
            .with_description(*description),
    )
}

fn troubleshoot(vmid: &str) -> String {
    format!(
        "Guest {vmid} on our Proxmox VE cluster misbehaves. Find out why, reading before \
         changing anything:\n\
         1. vm_status vmid={vmid}: state, lock, pending changes, usage, guest agent, disks.\n\
         2. list_tasks for vmid {vmid}: failed or still-running tasks; task_status on any \
         failed UPID for its log.\n\
         3. node_status for its node: is the host short of memory, CPU or disk?\n\
         4. storage_operations action=status for the storages its disks are on.\n\
         5. If it has a guest agent, execute_vm_command for logs inside (reads only: \
         journalctl -p err -n 50, df -h).\n\
         6. Say what you found and propose the smallest fix; change nothing before I agree \
         (vm_action / container_action ask me anyway)."
    )
}

const CAPACITY: &str = "Review the capacity of our Proxmox VE cluster:\n\
    1. get_system_info: nodes, totals, quorum.\n\
    2. node_status for every node: CPU, memory, swap, root fs, load.\n\
    3. storage_operations action=status: usage of every storage; action=content on the \
    fullest for what takes the space (old backups, ISOs).\n\
    4. list_vms and list_containers with fields for allocated CPU and memory: \
    over-commitment per node, stopped guests holding disk.\n\
    5. A table of headroom per node and storage, the risks (what fills first, what cannot \
    fail over) and concrete steps, e.g. storage_operations action=prune_backups (dry run) or \
    migrating guests. Change nothing.";

const SECURITY: &str = "Review the security of our Proxmox VE cluster, read-only:\n\
    1. user_management action=users, action=tokens and action=acl: accounts, expired or \
    never-expiring tokens, broad roles (Administrator on /), disabled users still in ACLs.\n\
    2. user_management action=permissions for the risky accounts.\n\
    3. network_config action=fw_options and fw_rules at cluster and node level: is the \
    firewall on, what is open to whom.\n\
    4. get_system_info and node_status: PVE versions and subscription state (updates).\n\
    5. get_command_history: refused or unusual calls lately.\n\
    6. Findings by severity with the fix for each; change nothing.";

fn rolling(node: Option<&str>) -> String {
    let first = node.map_or_else(
        || "the node with the fewest guests".to_owned(),
        |n| format!("node {n}"),
    );
    format!(
        "Plan rolling maintenance of our Proxmox VE cluster, starting with {first}, one node \
         at a time:\n\
         1. get_system_info: quorum and HA state; stop if the cluster is not quorate or a \
         node is already down.\n\
         2. cluster_management action=ha_status, then list_vms and list_containers for the \
         node: what runs there, which guests are HA-managed, which use local storage.\n\
         3. Propose where each guest goes; after I agree, vm_action / container_action \
         action=migrate each one and follow it with task_status.\n\
         4. The maintenance itself through execute_command (apt, reboot): each step asks me.\n\
         5. node_status until the node is back online; migrate the guests back; then the \
         next node."
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prompts_name_only_real_tools() {
        let mut args = JsonObject::new();
        args.insert("vmid".into(), 100.into());
        for p in list() {
            let got = get(&p.name, Some(&args)).unwrap();
            let text = serde_json::to_string(&got).unwrap();
            let named = crate::tools::registry()
                .iter()
                .filter(|t| text.contains(t.name))
                .count();
            assert!(named >= 3, "{} names {named} tools", p.name);
        }
    }

    #[test]
    fn bad_arguments_are_invalid_params() {
        assert!(get("troubleshoot-vm", None).is_err());
        let mut args = JsonObject::new();
        args.insert("vmid".into(), "abc".into());
        assert!(get("troubleshoot-vm", Some(&args)).is_err());
        assert!(get("nope", None).is_err());
        assert!(get("rolling-maintenance", None).is_ok());
    }
}
