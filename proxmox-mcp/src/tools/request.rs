//! One verdict per PVE request: [`assess_request`] is how every tool that writes, and
//! `proxmox_api`, turn the request they will send into an [`Assessment`]. The same typed
//! request gets the same class, the same protected guests and the same root-protection hits
//! whichever tool sends it; a tool may only add a human-readable summary and its plan.
//!
//! Pure rules first (the endpoint table, parameter escalations, root protection, the guests the
//! request names: [`crate::policy::api`]); then the facts only the cluster knows, read once per
//! call: the program an agent `exec` runs, which backups a prune removes, whether pending
//! network changes touch a node's management interface.

use serde_json::Value;

use super::{AssessCtx, Assessment, ToolError};
use crate::policy::Class;
use crate::policy::api::{named_guests, risky_get, segments, target_vmid};
use crate::policy::engine::Request;
use crate::pve::{self, Method, Params};

/// The assessment of `req`, described to the human as `summary`.
pub async fn assess_request(
    ctx: &AssessCtx,
    req: pve::Request,
    summary: impl Into<String>,
) -> Result<Assessment, ToolError> {
    let method = req.method.as_str();
    let path = req.path.as_str();
    let params = &req.params;
    refuse_control_chars(params)?;
    let mut request = Request::api(method, path, params, &ctx.identity);
    let mut summary = summary.into();
    let shape = Shape::of(req.method, path);
    // Guests a program run inside a guest names (`qm destroy 105` typed into a VM's shell).
    let mut commanded = Vec::new();

    if let Shape::AgentExec = shape {
        // A program run inside the guest is judged as `execute_vm_command` judges it: a
        // proven read inside the guest is a read here too.
        let line = super::exec::shell_join(&agent_argv(params)?);
        let analysis = super::exec::analyze_bounded(
            &line,
            &ctx.identity,
            &ctx.server,
            super::exec::Site::Guest,
        )
        .await?;
        commanded = analysis.vmids();
        let inner = Request::command(&analysis);
        // The endpoint runs a program; what that program does is the verdict.
        request.class = inner.class;
        request.may_destroy = inner.may_destroy;
        request.guests_unknown |= inner.guests_unknown;
        for hit in inner.protected {
            if !request.protected.contains(&hit) {
                request.protected.push(hit);
            }
        }
    }
    if req.method == Method::Get
        && let Some(why) = risky_get(path)
    {
        request.class = request.class.max(Class::Exec);
        summary.push_str(&format!(" (it {why})"));
    }

    let named = named_guests(method, path, params);
    let mut a = Assessment::new(request, String::new())
        .target(format!("{method} {path}"))
        .guests(target_vmid(path))
        .guests(named.vmids)
        .guests(commanded);
    a.selections.extend(named.selections);

    match &shape {
        Shape::Prune { node } => {
            // The backups this prune removes belong to their guests: name exactly those
            // (instead of "every guest"), read from the same preview the storage tool shows.
            let (removes, _) = prune_preview(&ctx.pve, path, params).await.map_err(|e| {
                ToolError::Refused(format!(
                    "cannot preview which backups this prune removes on {node} ({e}), so \
                     protected guests cannot be ruled out; nothing was done"
                ))
            })?;
            a.selections
                .retain(|s| *s != crate::policy::api::Selection::All);
            a = a.guests(removes.into_iter().filter_map(|(_, vmid)| vmid));
        }
        Shape::NetworkApply { node } => {
            if let Some(why) = super::network::apply_risk(&ctx.pve, node).await {
                a.request.class = a.request.class.max(Class::Destructive);
                summary.push_str(&format!(
                    " — DANGER: {why}; applying could cut this server off from {node}"
                ));
            }
        }
        _ => {}
    }
    a.guests.sort_unstable();
    a.guests.dedup();
    a.summary = summary;
    a.requests.push(req);
    Ok(a)
}

/// Refuses parameters with control characters other than tab and line breaks: PVE splits
/// lists on NUL, and no honest value needs one.
fn refuse_control_chars(params: &Params) -> Result<(), ToolError> {
    fn bad(v: &Value) -> Option<char> {
        match v {
            Value::String(s) => s
                .chars()
                .find(|c| c.is_control() && !matches!(c, '\t' | '\n' | '\r')),
            Value::Array(items) => items.iter().find_map(bad),
            Value::Object(map) => map
                .iter()
                .find_map(|(k, v)| bad(&Value::String(k.clone())).or_else(|| bad(v))),
            _ => None,
        }
    }
    for (k, v) in params {
        if let Some(c) = bad(&Value::String(k.clone())).or_else(|| bad(v)) {
            return Err(ToolError::invalid(format!(
                "parameter {k:?} contains the control character U+{:04X}; PVE would read it \
                 as a list separator, so it is refused and nothing was done",
                c as u32
            )));
        }
    }
    Ok(())
}

/// Backups `DELETE {path}` (a storage's `prunebackups`) would remove, as `(volid, vmid)`,
/// and every mark, from PVE's own dry run (`GET` on the same path with the same parameters).
pub async fn prune_preview(
    pve: &pve::Pve,
    path: &str,
    params: &Params,
) -> Result<(Vec<(String, Option<u32>)>, Vec<Value>), ToolError> {
    let marks: Vec<Value> = pve.get(path, params).await?;
    let remove = marks
        .iter()
        .filter(|m| m["mark"] == "remove")
        .map(|m| {
            let volid = m["volid"].as_str().unwrap_or_default().to_string();
            let vmid = m["vmid"].as_u64().and_then(|v| u32::try_from(v).ok());
            (volid, vmid)
        })
        .collect();
    Ok((remove, marks))
}

/// The requests whose verdict needs a fact from the cluster.
enum Shape {
    /// `POST /nodes/{n}/qemu/{vmid}/agent/exec`: a program run inside the guest.
    AgentExec,
    /// `DELETE /nodes/{n}/storage/{s}/prunebackups`: removes backups now.
    Prune {
        node: String,
    },
    /// `PUT /nodes/{n}/network`: applies the pending network configuration.
    NetworkApply {
        node: String,
    },
    Plain,
}

impl Shape {
    fn of(method: Method, path: &str) -> Self {
        let segs = segments(path);
        let lower: Vec<String> = segs.iter().map(|s| s.to_ascii_lowercase()).collect();
        let l: Vec<&str> = lower.iter().map(String::as_str).collect();
        let node = || segs.get(1).cloned().unwrap_or_default();
        match (method, l.as_slice()) {
            (Method::Post, ["nodes", _, "qemu", _, "agent", "exec"]) => Shape::AgentExec,
            (Method::Delete, ["nodes", _, "storage", _, "prunebackups"]) => {
                Shape::Prune { node: node() }
            }
            (Method::Put, ["nodes", _, "network"]) => Shape::NetworkApply { node: node() },
            _ => Shape::Plain,
        }
    }
}

/// The argv of an agent `exec` (`command`: a list, or one string split like a shell would,
/// without expansion).
fn agent_argv(params: &Params) -> Result<Vec<String>, ToolError> {
    match params.get("command") {
        Some(Value::Array(items)) => Ok(items
            .iter()
            .map(|v| match v {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            })
            .collect()),
        Some(Value::String(s)) => super::exec::split_words(s).map_err(ToolError::invalid),
        _ => Err(ToolError::invalid(
            "agent/exec needs `command`: the program and its arguments",
        )),
    }
}
