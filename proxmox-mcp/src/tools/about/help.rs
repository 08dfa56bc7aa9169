//! `help_llm`: a guide written for the assistant, generated from the registry (tools, groups,
//! purposes) and the configuration in force (limits, protection, approval lifetime), with the
//! current health and the common workflows as numbered steps naming our tools.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::probe_clusters;
use crate::config::ExecConfig;
use crate::policy::mode::Mode;
use crate::tools::{GROUPS, Render, ToolCtx, ToolDef, ToolError, registry, select};

/// The topics, in the order `help_llm` without a category shows them.
pub const CATEGORIES: &[&str] = &[
    "tools",
    "modes",
    "approval",
    "protection",
    "limits",
    "health",
    "workflows",
];

#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HelpParams {
    /// tools, modes, approval, protection, limits, health or workflows; omit for all
    pub category: Option<String>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct HelpResult {
    pub sections: Vec<Section>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct Section {
    pub category: &'static str,
    pub text: String,
}

/// The common workflows: a title and steps naming our tools in backticks.
pub const WORKFLOWS: &[(&str, &[&str])] = &[
    (
        "Restart a stuck VM",
        &[
            "`vm_status` vmid: state, lock, pending changes, guest-agent answer.",
            "`list_tasks` for that vmid: is a task (backup, migrate) still holding it? \
             `task_status` shows its log.",
            "`vm_action` action=shutdown (clean, waits); if it times out, action=stop.",
            "`vm_action` action=start, then `vm_status` to confirm it runs and the agent answers.",
        ],
    ),
    (
        "Free disk space",
        &[
            "`storage_operations` action=status: which storages are full.",
            "`storage_operations` action=content on the full one: backups, ISOs, disks by size.",
            "`storage_operations` action=prune_backups (a dry run by default) shows what the \
             retention would remove; dry_run=false prunes.",
            "On the node's root fs: `execute_command` `df -h` and `du -xh --max-depth=1 /var` \
             (reads), then clean up what you found (asks a human).",
        ],
    ),
    (
        "Find why a backup failed",
        &[
            "`list_tasks` with type vzdump and status error: the failed run and its UPID.",
            "`task_status` UPID: the log tail names the guest and the error.",
            "`storage_operations` action=status on the target: full, offline or not enabled?",
            "`storage_operations` action=jobs: the job's schedule, storage and mode; \
             `vm_status` for the guest (lock, disks).",
        ],
    ),
    (
        "Add a VLAN safely",
        &[
            "`network_config` action=list on the node: the bridges and what is pending.",
            "`explain_command` for the change you plan: how it will be judged.",
            "`network_config` action=create (e.g. a VLAN on vmbr0): staged, nothing applied yet.",
            "Review the staged diff, then `network_config` action=apply (a human confirms; it \
             can cut the node off) or action=revert.",
            "`node_status` afterwards: the node still answers.",
        ],
    ),
    (
        "Rolling node maintenance",
        &[
            "`get_system_info`: quorum, nodes, HA state. Never take more than one node down.",
            "`cluster_management` action=ha_status and `list_vms` / `list_containers` with the \
             node: what runs there.",
            "`vm_action` / `container_action` action=migrate each guest to another node (or \
             shut down what may be down); `task_status` follows each.",
            "Do the maintenance (`execute_command` apt, reboot: each asks a human).",
            "`node_status`: back online; migrate the guests back; next node.",
        ],
    ),
];

pub(super) async fn help_llm(ctx: ToolCtx, p: HelpParams) -> Result<HelpResult, ToolError> {
    let wanted: Vec<&'static str> = match p.category.as_deref().map(str::trim) {
        None | Some("") | Some("all") => CATEGORIES.to_vec(),
        Some(c) => match CATEGORIES.iter().find(|k| k.eq_ignore_ascii_case(c)) {
            Some(k) => vec![*k],
            None => {
                return Err(ToolError::invalid(format!(
                    "unknown category {c:?}; choose one of {} (or omit it for all)",
                    CATEGORIES.join(", ")
                )));
            }
        },
    };
    let mut sections = Vec::new();
    for category in wanted {
        let text = match category {
            "tools" => tools_text(&ctx),
            "modes" => modes_text(&ctx),
            "approval" => approval_text(&ctx),
            "protection" => protection_text(&ctx),
            "limits" => limits_text(&ctx),
            "health" => health_text(&ctx).await,
            _ => workflows_text(),
        };
        sections.push(Section { category, text });
    }
    Ok(HelpResult { sections })
}

/// The first sentence of a description: the tool's purpose in one line.
fn purpose(t: &ToolDef) -> &str {
    let d = t.description;
    match d.find(". ") {
        Some(i) => &d[..=i],
        None => d,
    }
}

fn tools_text(ctx: &ToolCtx) -> String {
    let selected = &ctx.engine.config().tools;
    let mut s = String::from(
        "Tools by group (every tool takes an optional `cluster`; guests are addressed by vmid \
         alone). Start with get_system_info, then the list tools; action tools change things.",
    );
    for group in GROUPS {
        let tools: Vec<&ToolDef> = registry()
            .iter()
            .filter(|t| t.group == *group && select::enabled(selected, t))
            .collect();
        if tools.is_empty() {
            continue;
        }
        s.push_str(&format!("\n{group}:"));
        for t in tools {
            s.push_str(&format!("\n  {}: {}", t.name, purpose(t)));
        }
    }
    s
}

fn modes_text(ctx: &ToolCtx) -> String {
    let mut s = format!(
        "Current mode: {}. toggle_mode shows or switches it; a safer mode is immediate, a \
         less safe one needs a human's approval.",
        ctx.engine.safety().mode()
    );
    for m in Mode::ALL {
        s.push_str(&format!("\n  {m}: {}", crate::tools::mode::meaning(m)));
    }
    s
}

fn approval_text(ctx: &ToolCtx) -> String {
    format!(
        "When a call needs a human, the server asks through the client: a form (elicitation) \
         or an input request (2026-07-28 clients); retry nothing yourself, the answer resumes \
         the call. Clients that cannot ask get an approval id instead: tell the operator to \
         run `proxmox-mcp approve ID` (or deny), then call the same tool with the same \
         arguments plus approval_id=ID. An approval is valid {}s and for that exact call only; \
         a `confirm` argument you set yourself is not a human's yes. A declined or expired \
         approval means: not done, report it. explain_command tells beforehand whether a call \
         will ask.",
        ctx.engine.config().policy.approval_ttl.as_secs()
    )
}

fn protection_text(ctx: &ToolCtx) -> String {
    let policy = &ctx.engine.config().policy;
    let list = |items: Vec<String>| {
        if items.is_empty() {
            "none".to_owned()
        } else {
            items.join(", ")
        }
    };
    format!(
        "Never changed, in any mode: root@pam, this server's own user, token, groups and \
         roles, its files and binary, and node removal. Protected guests refuse destructive actions (delete, stop, rollback, \
         restore over them). Protected vmids: {}. Protected tags: {}. A refusal is final: \
         do not look for another tool or a raw API call to do the same; proxmox_api and \
         execute_command are judged by the same rules.",
        list(policy.protected_vmids.iter().map(u32::to_string).collect()),
        list(policy.protected_tags.iter().cloned().collect()),
    )
}

fn limits_text(ctx: &ToolCtx) -> String {
    let cfg = ctx.engine.config();
    let mut s = format!(
        "Commands: output is capped at {} KiB per stream; timeout per call up to {}s. \
         Task waits: up to {}s (task_status wait). Bulk guest actions: up to {} guests per \
         call. Arguments: up to {} KiB. Audit log kept {} days.",
        crate::exec::OUTPUT_CAP / 1024,
        ExecConfig::MAX_TIMEOUT.as_secs(),
        crate::tools::tasks::MAX_WAIT_SECS,
        crate::tools::action::MAX_TARGETS,
        crate::tools::args::MAX_ARGS_BYTES / 1024,
        cfg.audit.retention.as_secs() / 86_400,
    );
    for c in &cfg.clusters {
        s.push_str(&format!(
            "\n  cluster {}: API connect {}s, request {}s; commands {} (default timeout {}s)",
            c.name,
            c.timeouts.connect.as_secs(),
            c.timeouts.request.as_secs(),
            match c.exec.executor {
                crate::config::ExecutorKind::Disabled => "disabled",
                crate::config::ExecutorKind::Local => "local",
                crate::config::ExecutorKind::Ssh => "over ssh",
            },
            c.exec.timeout.as_secs(),
        ));
    }
    s
}

async fn health_text(ctx: &ToolCtx) -> String {
    let clusters = probe_clusters(&ctx.engine).await;
    let up = clusters.iter().filter(|c| c.pve_version.is_some()).count();
    let mut s = format!(
        "Mode {}; {up} of {} clusters reachable.",
        ctx.engine.safety().mode(),
        clusters.len()
    );
    if clusters.is_empty() {
        s.push_str(" No cluster is configured: only the server's own tools work.");
    }
    for c in &clusters {
        s.push_str(&format!("\n  {}", c.render()));
    }
    if let Err(e) = ctx.engine.safety().audit() {
        s.push_str(&format!(
            "\n  audit log unavailable ({e}): changes are refused"
        ));
    }
    s
}

fn workflows_text() -> String {
    let mut s = String::from("Common workflows (read first, change second, verify last):");
    for (title, steps) in WORKFLOWS {
        s.push_str(&format!("\n{title}:"));
        for (i, step) in steps.iter().enumerate() {
            s.push_str(&format!("\n  {}. {step}", i + 1));
        }
    }
    s
}

impl Render for HelpResult {
    fn render(&self) -> String {
        self.sections
            .iter()
            .map(|s| format!("## {}\n{}", s.category, s.text))
            .collect::<Vec<_>>()
            .join("\n\n")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn workflows_name_only_real_tools() {
        for (title, steps) in WORKFLOWS {
            for step in *steps {
                let named: Vec<&str> = step.split('`').skip(1).step_by(2).collect();
                assert!(
                    !named.is_empty() || step.contains(" action="),
                    "{title}: {step}"
                );
                for n in named {
                    if n.contains(' ') {
                        continue; // a shell command shown verbatim
                    }
                    assert!(
                        crate::tools::find(n).is_some(),
                        "{title}: `{n}` is not a tool"
                    );
                }
            }
        }
    }
}
