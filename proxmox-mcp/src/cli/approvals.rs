//! `proxmox-mcp mode`, `approvals`, `approve`, `deny`, `audit verify`: the operator's side of
//! the host state. Every change an operator makes here is audited too (transport `cli`), and so
//! is every refusal to make one from inside a tool call ([`super::guard`]).

use std::process::ExitCode;

use crate::audit::{AuditLog, Event, Outcome, Transport};
use crate::config::{self, Config, LoadOptions};
use crate::dispatch::Origin;
use crate::policy::Class;
use crate::state::{ApprovalStore, Listed, ModeStore, StoredMode};

/// Writes an operator action to the audit log; an operator is told when that fails.
pub(super) fn audit(
    cfg: &Config,
    tool: &str,
    decision: Outcome,
    reason: String,
    target: Option<String>,
) {
    let mut ev = Event::new(tool, Class::Modify, decision);
    let origin = Origin::cli();
    ev.client = origin.client;
    ev.transport = Transport::Cli;
    ev.reason = reason;
    ev.target = target;
    ev.mode = ModeStore::open(&cfg.state_dir).get().to_string();
    let written =
        AuditLog::open(&cfg.state_dir.join("audit"), cfg.audit.retention).and_then(|log| {
            log.with_journal(cfg.audit.journal_socket.as_deref())
                .append(&ev)
        });
    if let Err(e) = written {
        eprintln!("proxmox-mcp: warning: the audit record was not written: {e}");
    }
}

/// `proxmox-mcp audit verify`: walk the chain; exit 1 on tampering or damage.
pub fn audit_verify(load: &LoadOptions) -> anyhow::Result<ExitCode> {
    let cfg = config::load(load)?;
    let log = AuditLog::open(&cfg.state_dir.join("audit"), cfg.audit.retention)?;
    let report = log.verify();
    out(&format!("{report}\n"))?;
    Ok(if report.is_intact() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

use super::{guard, out};

/// Refuses the operator command `tool` when a tool call started this process, and audits the
/// attempt as refused (when the configuration can be read).
pub(super) fn refuse_inside_tool_call(
    load: &LoadOptions,
    tool: &str,
    target: String,
) -> anyhow::Result<()> {
    let Some(why) = guard::inside_tool_call() else {
        return Ok(());
    };
    let message = format!(
        "`proxmox-mcp {tool}` refused: this process was started from inside a tool call ({why}). \
         Operator commands act as the human operator and never run from a tool call; run it \
         from an operator's own shell."
    );
    if let Ok(cfg) = config::load(load) {
        audit(&cfg, tool, Outcome::Refused, message.clone(), Some(target));
    }
    anyhow::bail!(message)
}

/// `proxmox-mcp mode [MODE]`: print the mode, or set it (the operator on the host is trusted:
/// no confirmation, in either direction).
pub fn mode(load: &LoadOptions, new: Option<&str>) -> anyhow::Result<ExitCode> {
    // Validate before reading the config, so a typo fails the same way everywhere.
    let new = new.map(str::parse::<StoredMode>).transpose()?;
    if new.is_some() {
        refuse_inside_tool_call(load, "mode", "mode".into())?;
    }
    let cfg = config::load(load)?;
    let store = ModeStore::open(&cfg.state_dir);
    match new {
        None => {
            let status = store.status();
            if let Some(reason) = &status.fallback {
                eprintln!("proxmox-mcp: {reason}");
            }
            out(&format!("{}\n", status.mode))?;
        }
        Some(mode) => {
            let previous = store.set(mode)?;
            audit(
                &cfg,
                "mode",
                Outcome::Allowed,
                format!("the operator set the mode from {previous} to {mode}"),
                Some("mode".into()),
            );
            if previous == mode {
                out(&format!("mode is {mode} (unchanged)\n"))?;
            } else {
                out(&format!("mode set to {mode} (was {previous})\n"))?;
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `proxmox-mcp approvals [--all]`: pending approvals (with `--all`, every record kept).
pub fn list(load: &LoadOptions, all: bool) -> anyhow::Result<ExitCode> {
    let store = ApprovalStore::open(config::load(load)?.state_dir)?;
    let now = store.now_ms();
    let rows: Vec<Listed> = store
        .list()?
        .into_iter()
        .filter(|l| {
            all || (l.approval.status == crate::state::ApprovalStatus::Pending && !l.expired)
        })
        .collect();
    if rows.is_empty() {
        out(if all {
            "no approvals\n"
        } else {
            "no pending approvals\n"
        })?;
        return Ok(ExitCode::SUCCESS);
    }
    let mut text = format!(
        "{:<10}  {:<9}  {:<20}  {:>5}  {:>10}  SUMMARY\n",
        "ID", "STATUS", "TOOL", "AGE", "EXPIRES IN"
    );
    for Listed {
        approval: a,
        expired,
    } in &rows
    {
        let status = if *expired
            && matches!(
                a.status,
                crate::state::ApprovalStatus::Pending | crate::state::ApprovalStatus::Approved
            ) {
            "expired".to_owned()
        } else {
            a.status.to_string()
        };
        let expires = if a.expires_ms > now {
            duration(a.expires_ms - now)
        } else {
            "-".to_owned()
        };
        text.push_str(&format!(
            "{:<10}  {:<9}  {:<20}  {:>5}  {:>10}  {}\n",
            a.id,
            status,
            a.tool,
            duration(now.saturating_sub(a.created_ms)),
            expires,
            one_line(&a.summary)
        ));
    }
    out(&text)?;
    Ok(ExitCode::SUCCESS)
}

/// `proxmox-mcp approve ID`.
pub fn approve(load: &LoadOptions, id: &str) -> anyhow::Result<ExitCode> {
    // Parse first: a malformed id fails before any file is read or created.
    let id = crate::state::ApprovalId::parse(id)?;
    refuse_inside_tool_call(load, "approve", format!("approval {id}"))?;
    let cfg = config::load(load)?;
    let store = ApprovalStore::open(&cfg.state_dir)?;
    let a = store.approve(id.as_str())?;
    audit(
        &cfg,
        "approve",
        Outcome::Allowed,
        format!(
            "the operator approved {} for {}: {}",
            a.id,
            a.tool,
            one_line(&a.summary)
        ),
        Some(format!("approval {}", a.id)),
    );
    out(&format!(
        "approved {}: {} — {}\nthe call may now be retried once with this approval id\n",
        a.id,
        a.tool,
        one_line(&a.summary)
    ))?;
    Ok(ExitCode::SUCCESS)
}

/// `proxmox-mcp deny ID`.
pub fn deny(load: &LoadOptions, id: &str) -> anyhow::Result<ExitCode> {
    let id = crate::state::ApprovalId::parse(id)?;
    refuse_inside_tool_call(load, "deny", format!("approval {id}"))?;
    let cfg = config::load(load)?;
    let store = ApprovalStore::open(&cfg.state_dir)?;
    let a = store.deny(id.as_str())?;
    audit(
        &cfg,
        "deny",
        Outcome::Allowed,
        format!(
            "the operator denied {} for {}: {}",
            a.id,
            a.tool,
            one_line(&a.summary)
        ),
        Some(format!("approval {}", a.id)),
    );
    out(&format!(
        "denied {}: {} — {}\n",
        a.id,
        a.tool,
        one_line(&a.summary)
    ))?;
    Ok(ExitCode::SUCCESS)
}

/// `42s`, `7m05s`, `3h`, `2d`.
fn duration(ms: u64) -> String {
    let s = ms / 1000;
    match s {
        0..60 => format!("{s}s"),
        60..3600 => format!("{}m{:02}s", s / 60, s % 60),
        3600..86400 => format!("{}h", s / 3600),
        _ => format!("{}d", s / 86400),
    }
}

/// The summary on one line, control characters shown as spaces (it comes from the model).
fn one_line(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}
