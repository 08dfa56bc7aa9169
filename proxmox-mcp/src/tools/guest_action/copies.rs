//! Copies of a guest: clone, migrate (after PVE's own preflight) and restore from a backup.

use serde_json::{Value, json};

use super::{Args, Built, Call, describe, guest_path, next_id, noun};
use crate::pve::types::GuestKind;
use crate::pve::{Method, Params};
use crate::tools::action::Target;
use crate::tools::{AssessCtx, ToolError};

/// `POST …/clone` to `newid` (the next free id unless given).
pub async fn clone(
    ctx: &AssessCtx,
    kind: GuestKind,
    a: &Args,
    t: &Target,
) -> Result<Built, ToolError> {
    let newid = match a.newid {
        Some(v) => v.0,
        None => next_id(ctx).await?,
    };
    let mut params = Params::new();
    params.insert("newid".into(), Value::from(newid));
    if let Some(n) = &a.name {
        let key = match kind {
            GuestKind::Qemu => "name",
            GuestKind::Lxc => "hostname",
        };
        params.insert(key.into(), Value::from(n.clone()));
    }
    if let Some(full) = a.full {
        params.insert("full".into(), Value::from(u8::from(full)));
    }
    if let Some(target) = &a.target {
        params.insert("target".into(), Value::from(target.as_str()));
    }
    if let Some(s) = &a.storage {
        params.insert("storage".into(), Value::from(s.clone()));
    }
    if let Some(d) = &a.description {
        params.insert("description".into(), Value::from(d.clone()));
    }
    let call = Call::new(t, Method::Post, guest_path(kind, t, "/clone"), params);
    let mut built = Built::one(call, describe(kind, t));
    built.note = Some(format!("new {} {newid}", noun(kind)));
    built.report = Some(json!({"newid": newid}));
    Ok(built)
}

fn names(v: Option<&Value>) -> Vec<String> {
    v.and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default()
}

/// Runs `GET …/migrate?target=…` and turns a "not allowed" into a refusal with PVE's reasons;
/// otherwise plans `POST …/migrate` (live for a running VM, restart mode for a running CT).
pub async fn migrate(
    ctx: &AssessCtx,
    kind: GuestKind,
    a: &Args,
    t: &Target,
) -> Result<Built, ToolError> {
    let target = a
        .target
        .as_ref()
        .ok_or_else(|| ToolError::invalid("migrate needs target (a node)"))?;
    if target.as_str() == t.node {
        return Err(ToolError::invalid(format!(
            "{} is already on {target}",
            describe(kind, t)
        )));
    }
    let mut q = Params::new();
    q.insert("target".into(), Value::from(target.as_str()));
    let pre = ctx
        .pve
        .call(Method::Get, &guest_path(kind, t, "/migrate"), &q)
        .await?;
    let running = pre
        .get("running")
        .is_some_and(|v| v.as_u64() == Some(1) || v.as_bool() == Some(true));
    let (allowed_key, not_key) = match kind {
        GuestKind::Qemu => ("allowed_nodes", "not_allowed_nodes"),
        GuestKind::Lxc => ("allowed-nodes", "not-allowed-nodes"),
    };
    let mut reasons = Vec::new();
    if let Some(why) = pre.get(not_key).and_then(|m| m.get(target.as_str())) {
        reasons.push(format!("PVE says {target} is not allowed: {why}"));
    } else if pre.get(allowed_key).is_some()
        && !names(pre.get(allowed_key))
            .iter()
            .any(|n| n == target.as_str())
    {
        reasons.push(format!(
            "{target} is not among the allowed nodes ({})",
            names(pre.get(allowed_key)).join(", ")
        ));
    }
    let local_disks: Vec<String> = pre
        .get("local_disks")
        .and_then(Value::as_array)
        .map(|d| {
            d.iter()
                .filter_map(|x| x.get("volid").and_then(Value::as_str))
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default();
    let local_res = names(pre.get("local_resources"));
    if kind == GuestKind::Qemu && running {
        if !local_res.is_empty() {
            reasons.push(format!(
                "the running VM uses local resources ({})",
                local_res.join(", ")
            ));
        }
        if !local_disks.is_empty() && a.with_local_disks != Some(true) {
            reasons.push(format!(
                "the running VM has local disks ({}); pass with_local_disks=true to move them",
                local_disks.join(", ")
            ));
        }
    }
    if !reasons.is_empty() {
        return Err(ToolError::Refused(format!(
            "migration preflight for {} to {target} failed; nothing was done: {}",
            describe(kind, t),
            reasons.join("; ")
        )));
    }
    let mut params = Params::new();
    params.insert("target".into(), Value::from(target.as_str()));
    match kind {
        GuestKind::Qemu => {
            if a.online.unwrap_or(running) {
                params.insert("online".into(), Value::from(1));
            }
            if a.with_local_disks == Some(true) {
                params.insert("with-local-disks".into(), Value::from(1));
            }
        }
        GuestKind::Lxc => {
            if a.restart.unwrap_or(running) {
                params.insert("restart".into(), Value::from(1));
                if let Some(secs) = a.timeout {
                    params.insert("timeout".into(), Value::from(secs));
                }
            }
        }
    }
    let call = Call::new(t, Method::Post, guest_path(kind, t, "/migrate"), params);
    let mut built = Built::one(call, describe(kind, t));
    let mut note = format!(
        "preflight OK: {}{target} allowed",
        if running { "running, " } else { "" }
    );
    if !local_disks.is_empty() {
        note.push_str(&format!("; local disks {}", local_disks.join(", ")));
    }
    built.note = Some(note);
    built.report = Some(json!({"preflight": pre}));
    Ok(built)
}

/// `POST /nodes/{node}/qemu` with `archive`, or `/lxc` with `ostemplate` + `restore=1`, to
/// `vmid` (the next free id unless given; an existing guest only with `force`).
pub async fn restore(ctx: &AssessCtx, kind: GuestKind, a: &Args) -> Result<Built, ToolError> {
    let archive = a
        .archive
        .clone()
        .ok_or_else(|| ToolError::invalid("restore needs archive (a backup volume id)"))?;
    if a.sel.vmids.is_some() || a.sel.tag.is_some() || a.sel.pool.is_some() {
        return Err(ToolError::invalid("restore takes one vmid"));
    }
    let all = ctx.pve.cluster_resources(Some("vm")).await?;
    let (vmid, existing) = match a.sel.vmid {
        Some(v) => (v.0, all.iter().find(|r| r.vmid == Some(v.0))),
        None => (next_id(ctx).await?, None),
    };
    if let Some(r) = existing {
        if r.guest_kind() != Some(kind) {
            return Err(ToolError::invalid(format!(
                "{vmid} exists and is not a {}",
                noun(kind)
            )));
        }
        if a.force != Some(true) {
            return Err(ToolError::invalid(format!(
                "{} {vmid} exists; pass force=true to overwrite it with the backup",
                noun(kind)
            )));
        }
    }
    let node = match (existing.and_then(|r| r.node.clone()), &a.node) {
        (Some(n), Some(given)) if n != given.as_str() => {
            return Err(ToolError::invalid(format!(
                "{} {vmid} is on {n}, not {given}",
                noun(kind)
            )));
        }
        (Some(n), _) => n,
        (None, Some(given)) => given.to_string(),
        (None, None) => return Err(ToolError::invalid("restore needs node for a new guest")),
    };
    let mut params = Params::new();
    params.insert("vmid".into(), Value::from(vmid));
    match kind {
        GuestKind::Qemu => {
            params.insert("archive".into(), Value::from(archive.clone()));
        }
        GuestKind::Lxc => {
            params.insert("ostemplate".into(), Value::from(archive.clone()));
            params.insert("restore".into(), Value::from(1));
        }
    }
    if let Some(s) = &a.storage {
        params.insert("storage".into(), Value::from(s.clone()));
    }
    if existing.is_some() {
        params.insert("force".into(), Value::from(1));
    }
    if a.start == Some(true) {
        params.insert("start".into(), Value::from(1));
    }
    let t = Target {
        vmid,
        node: node.clone(),
        name: existing.and_then(|r| r.name.clone()).unwrap_or_default(),
    };
    let path = format!("/nodes/{node}/{}", kind.path_segment());
    let call = Call::new(&t, Method::Post, path, params);
    let mut built = Built::one(call, describe(kind, &t));
    built.note = Some(match existing {
        Some(_) => format!(
            "OVERWRITES the existing {} {vmid} with {archive}",
            noun(kind)
        ),
        None => format!("new {} {vmid} from {archive}", noun(kind)),
    });
    built.report = Some(json!({"vmid": vmid}));
    if existing.is_some() {
        built.destructive = true;
    }
    Ok(built)
}
