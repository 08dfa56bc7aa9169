//! `proxmox-mcp mode`, `approvals`, `approve`, `deny`: the operator's side of the host state.

use std::process::ExitCode;

use crate::config::{self, LoadOptions};
use crate::state::{ApprovalStore, Listed, ModeStore, StoredMode};

use super::out;

/// `proxmox-mcp mode [MODE]`: print the mode, or set it (the operator on the host is trusted:
/// no confirmation, in either direction).
pub fn mode(load: &LoadOptions, new: Option<&str>) -> anyhow::Result<ExitCode> {
    // Validate before reading the config, so a typo fails the same way everywhere.
    let new = new.map(str::parse::<StoredMode>).transpose()?;
    let store = ModeStore::open(config::load(load)?.state_dir);
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
    let store = ApprovalStore::open(config::load(load)?.state_dir)?;
    let a = store.approve(id.as_str())?;
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
    let store = ApprovalStore::open(config::load(load)?.state_dir)?;
    let a = store.deny(id.as_str())?;
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
