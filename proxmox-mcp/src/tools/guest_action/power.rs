//! Power actions (`status/{start,stop,…}`) and backups (`vzdump`), for one guest or many.

use serde_json::Value;

use super::{Action, Args, Built, Call, describe, guest_path, noun};
use crate::pve::types::GuestKind;
use crate::pve::{Method, Params};
use crate::tools::ToolError;
use crate::tools::action::Target;

/// The request of a power action or a backup of `t`.
pub fn call(kind: GuestKind, a: &Args, t: &Target) -> Result<Call, ToolError> {
    let mut params = Params::new();
    let command = match a.action {
        Action::Start => "start",
        Action::Stop => "stop",
        Action::Shutdown => "shutdown",
        Action::Reboot => "reboot",
        Action::Reset if kind == GuestKind::Qemu => "reset",
        Action::Reset => return Err(ToolError::invalid("containers have no reset; use reboot")),
        Action::Suspend => "suspend",
        Action::Resume => "resume",
        Action::Snapshot => return super::snapshots::create_call(kind, a, t),
        Action::Backup => return Ok(backup(a, t)),
        other => {
            return Err(ToolError::invalid(format!(
                "{} is not a power action",
                other.as_str()
            )));
        }
    };
    if let Some(secs) = a.timeout {
        if !matches!(a.action, Action::Shutdown | Action::Reboot) {
            return Err(ToolError::invalid("timeout is for shutdown and reboot"));
        }
        params.insert("timeout".into(), Value::from(secs));
    }
    if a.force == Some(true) {
        if a.action != Action::Shutdown {
            return Err(ToolError::invalid(
                "force is for shutdown (hard stop after the timeout) and restore",
            ));
        }
        params.insert("forceStop".into(), Value::from(1));
    }
    let path = guest_path(kind, t, &format!("/status/{command}"));
    Ok(Call::new(t, Method::Post, path, params))
}

/// `POST /nodes/{node}/vzdump` for one guest; zstd unless told otherwise.
fn backup(a: &Args, t: &Target) -> Call {
    let mut params = Params::new();
    params.insert("vmid".into(), Value::from(t.vmid.to_string()));
    if let Some(s) = &a.storage {
        params.insert("storage".into(), Value::from(s.clone()));
    }
    let mode = match a.mode {
        Some(super::BackupMode::Suspend) => "suspend",
        Some(super::BackupMode::Stop) => "stop",
        _ => "snapshot",
    };
    params.insert("mode".into(), Value::from(mode));
    params.insert("compress".into(), Value::from("zstd"));
    if let Some(d) = &a.description {
        params.insert("notes-template".into(), Value::from(d.clone()));
    }
    Call::new(t, Method::Post, format!("/nodes/{}/vzdump", t.node), params)
}

/// One request per resolved guest; the summary lists every one of them.
pub fn many(kind: GuestKind, a: &Args, targets: &[Target], how: &str) -> Result<Built, ToolError> {
    let calls = targets
        .iter()
        .map(|t| call(kind, a, t))
        .collect::<Result<Vec<_>, _>>()?;
    let list = targets
        .iter()
        .map(|t| describe(kind, t))
        .collect::<Vec<_>>()
        .join(", ");
    let what = format!("{} {}s by {how}: {list}", targets.len(), noun(kind));
    Ok(Built {
        calls,
        what,
        note: None,
        report: None,
        destructive: false,
    })
}
