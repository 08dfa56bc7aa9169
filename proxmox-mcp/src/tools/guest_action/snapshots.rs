//! Snapshots: create, list, roll back, delete.

use serde_json::Value;

use super::{Action, Args, Built, Call, describe, guest_path};
use crate::pve::types::GuestKind;
use crate::pve::{Method, Params};
use crate::tools::ToolError;
use crate::tools::action::Target;

fn snapname(a: &Args) -> Result<&str, ToolError> {
    a.snapname
        .as_deref()
        .ok_or_else(|| ToolError::invalid(format!("{} needs snapname", a.action.as_str())))
}

/// `POST …/snapshot` (also used per guest by multi-target snapshots).
pub fn create_call(kind: GuestKind, a: &Args, t: &Target) -> Result<Call, ToolError> {
    let mut params = Params::new();
    params.insert("snapname".into(), Value::from(snapname(a)?));
    if let Some(d) = &a.description {
        params.insert("description".into(), Value::from(d.clone()));
    }
    if a.vmstate == Some(true) {
        if kind != GuestKind::Qemu {
            return Err(ToolError::invalid("vmstate is for VMs"));
        }
        params.insert("vmstate".into(), Value::from(1));
    }
    Ok(Call::new(
        t,
        Method::Post,
        guest_path(kind, t, "/snapshot"),
        params,
    ))
}

pub fn plan(kind: GuestKind, a: &Args, t: &Target) -> Result<Built, ToolError> {
    let what = describe(kind, t);
    let call = match a.action {
        Action::Snapshot => create_call(kind, a, t)?,
        Action::ListSnapshots => Call::new(
            t,
            Method::Get,
            guest_path(kind, t, "/snapshot"),
            Params::new(),
        ),
        Action::Rollback => {
            let mut params = Params::new();
            if a.start == Some(true) {
                params.insert("start".into(), Value::from(1));
            }
            let path = guest_path(kind, t, &format!("/snapshot/{}/rollback", snapname(a)?));
            Call::new(t, Method::Post, path, params)
        }
        Action::DeleteSnapshot => {
            let path = guest_path(kind, t, &format!("/snapshot/{}", snapname(a)?));
            Call::new(t, Method::Delete, path, Params::new())
        }
        other => {
            return Err(ToolError::invalid(format!(
                "{} is not a snapshot action",
                other.as_str()
            )));
        }
    };
    Ok(Built::one(call, what))
}
