//! Provisioning: create, set_config (then the pending changes), resize a disk, convert to a
//! template, destroy.

use serde_json::{Value, json};

use super::{Action, Args, Built, Call, describe, guest_path, next_id, noun, validate};
use crate::audit::redact::{MASK, is_secret_key};
use crate::pve::types::GuestKind;
use crate::pve::{Method, Params};
use crate::tools::action::Target;
use crate::tools::{AssessCtx, ToolCtx, ToolError};

/// `POST /nodes/{node}/qemu|lxc`: the guest agent on for VMs, unprivileged for containers,
/// unless the config says otherwise.
pub async fn create(ctx: &AssessCtx, kind: GuestKind, a: &Args) -> Result<Built, ToolError> {
    if a.sel.is_multi() {
        return Err(ToolError::invalid("create takes one vmid"));
    }
    let node = a
        .node
        .as_ref()
        .ok_or_else(|| ToolError::invalid("create needs node"))?;
    let mut params = match &a.config {
        Some(cfg) => validate::config(kind, cfg, true)?,
        None => Params::new(),
    };
    let vmid = match a.sel.vmid {
        Some(v) => v.0,
        None => next_id(ctx).await?,
    };
    params.insert("vmid".into(), Value::from(vmid));
    match kind {
        GuestKind::Qemu => {
            if let Some(n) = &a.name {
                params.insert("name".into(), Value::from(n.clone()));
            }
            params.entry("agent").or_insert_with(|| Value::from("1"));
            params.entry("ostype").or_insert_with(|| Value::from("l26"));
            if let Some(s) = &a.storage {
                params.insert("storage".into(), Value::from(s.clone()));
            }
        }
        GuestKind::Lxc => {
            let tpl = a
                .ostemplate
                .clone()
                .ok_or_else(|| ToolError::invalid("create needs ostemplate"))?;
            params.insert("ostemplate".into(), Value::from(tpl));
            if let Some(n) = &a.name {
                params.insert("hostname".into(), Value::from(n.clone()));
            }
            params
                .entry("unprivileged")
                .or_insert_with(|| Value::from("1"));
            if let Some(s) = &a.storage {
                params.insert("storage".into(), Value::from(s.clone()));
                params
                    .entry("rootfs")
                    .or_insert_with(|| Value::from(format!("{s}:8")));
            }
        }
    }
    if let Some(d) = &a.description {
        params.insert("description".into(), Value::from(d.clone()));
    }
    if a.start == Some(true) {
        params.insert("start".into(), Value::from(1));
    }
    let t = Target {
        vmid,
        node: node.to_string(),
        name: a.name.clone().unwrap_or_default(),
    };
    let path = format!("/nodes/{node}/{}", kind.path_segment());
    let call = Call::new(&t, Method::Post, path, params);
    let mut built = Built::one(call, describe(kind, &t));
    built.note = Some(format!("new {} {vmid}", noun(kind)));
    built.report = Some(json!({"vmid": vmid}));
    Ok(built)
}

/// resize_disk, set_config, convert_to_template and destroy of an existing guest.
pub fn plan(kind: GuestKind, a: &Args, t: &Target) -> Result<Built, ToolError> {
    let call = match a.action {
        Action::ResizeDisk => {
            let mut params = Params::new();
            let disk = a.disk.clone().unwrap_or_default();
            let size = a.size.clone().unwrap_or_default();
            validate::disk(kind, &disk)?;
            validate::size(&size)?;
            params.insert("disk".into(), Value::from(disk));
            params.insert("size".into(), Value::from(size));
            Call::new(t, Method::Put, guest_path(kind, t, "/resize"), params)
        }
        Action::SetConfig => {
            let cfg = a
                .config
                .as_ref()
                .ok_or_else(|| ToolError::invalid("set_config needs config"))?;
            let params = validate::config(kind, cfg, false)?;
            // QEMU: the asynchronous POST (a task, so `wait` applies); LXC only has PUT.
            let method = match kind {
                GuestKind::Qemu => Method::Post,
                GuestKind::Lxc => Method::Put,
            };
            Call::new(t, method, guest_path(kind, t, "/config"), params)
        }
        Action::ConvertToTemplate => Call::new(
            t,
            Method::Post,
            guest_path(kind, t, "/template"),
            Params::new(),
        ),
        Action::Destroy => {
            let mut params = Params::new();
            if a.purge != Some(false) {
                params.insert("purge".into(), Value::from(1));
            }
            params.insert("destroy-unreferenced-disks".into(), Value::from(1));
            Call::new(t, Method::Delete, guest_path(kind, t, ""), params)
        }
        other => {
            return Err(ToolError::invalid(format!(
                "{} is not a provisioning action",
                other.as_str()
            )));
        }
    };
    Ok(Built::one(call, describe(kind, t)))
}

/// The changes still pending after a config update (applied at the next restart), secrets
/// masked; an error is reported in place rather than failing the applied change.
pub async fn pending(ctx: &ToolCtx, kind: GuestKind, t: &Target) -> Value {
    let path = guest_path(kind, t, "/pending");
    match ctx.pve.call(Method::Get, &path, &Params::new()).await {
        Ok(Value::Array(items)) => Value::Array(
            items
                .into_iter()
                .filter(|i| i.get("pending").is_some() || i.get("delete").is_some())
                .map(|mut i| {
                    let secret = i
                        .get("key")
                        .and_then(Value::as_str)
                        .is_some_and(is_secret_key);
                    if secret && let Some(m) = i.as_object_mut() {
                        for f in ["value", "pending"] {
                            if m.contains_key(f) {
                                m.insert(f.into(), Value::from(MASK));
                            }
                        }
                    }
                    i
                })
                .collect(),
        ),
        Ok(other) => other,
        Err(e) => json!({"error": e.to_string()}),
    }
}
