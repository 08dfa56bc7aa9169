//! What the action-style management tools (`vm_action`, `container_action`,
//! `storage_operations`, `network_config`, `user_management`, `cluster_management`) share:
//!
//! - [`api_assessment`]: an action is assessed as the PVE request it will make, through
//!   [`assess_request`], the function `proxmox_api` uses, so a tool can never be laxer.
//! - [`follow`]: wait for the UPID a mutation returned (adaptive polling, progress, log tail on
//!   failure).
//! - [`Selector`], [`resolve_guests`], [`run_many`]: several guests per lifecycle action, by
//!   list, tag or pool, run concurrently with a limit, one result per guest.
//! - [`ActionResult`]: the one output shape of every action tool.

use std::time::Duration;

use futures::StreamExt as _;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::args::Vmid;
use super::request::assess_request;
use super::{AssessCtx, Assessment, Render, ToolCtx, ToolError};
use crate::pve::types::{ClusterResource, GuestKind};
use crate::pve::{Params, PveError, TaskOutcome, Upid, WaitOptions, wait_task};

/// Longest `wait` any action accepts, in seconds.
pub const MAX_WAIT: u64 = proxmox_mcp_contract::bridge::TASK_WAIT_MAX_SECS;
/// Guests acted on at once by a multi-target action.
pub const CONCURRENCY: usize = 8;
/// Most guests one multi-target call may act on.
pub const MAX_TARGETS: usize = 200;
/// Task log lines returned when a task fails.
const LOG_TAIL: u64 = 20;

/// An action assessed as the PVE request it makes, through [`assess_request`]: the very
/// function `proxmox_api` uses, so a tool can never be laxer than the raw call.
pub async fn api_assessment(
    ctx: &AssessCtx,
    method: &str,
    path: &str,
    params: &Params,
    summary: impl Into<String>,
) -> Result<Assessment, ToolError> {
    let method: crate::pve::Method = method
        .parse()
        .map_err(|_| ToolError::invalid(format!("unknown HTTP method {method:?}")))?;
    assess_request(
        ctx,
        crate::pve::Request::new(method, path, params.clone()),
        summary,
    )
    .await
}

/// The names among `given` (name, whether the call set it) that `allowed` does not list: the
/// arguments an action would silently ignore, which action tools refuse instead.
pub fn unused_args<'a>(given: &[(&'a str, bool)], allowed: &[&str]) -> Vec<&'a str> {
    given
        .iter()
        .filter(|(k, set)| *set && !allowed.contains(k))
        .map(|(k, _)| *k)
        .collect()
}

/// How a task ended, as far as we waited.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct TaskResult {
    pub upid: String,
    /// started (not waited for), running (wait ended first), ok, failed
    pub status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exitstatus: Option<String>,
    /// The end of the task log, when it failed
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub log_tail: Vec<String>,
}

impl TaskResult {
    pub fn ok(&self) -> bool {
        matches!(self.status, "ok" | "started" | "running")
    }
}

/// The `wait` argument: seconds, at most [`MAX_WAIT`].
pub fn wait_secs(wait: Option<u64>, default: u64) -> Result<u64, ToolError> {
    match wait.unwrap_or(default) {
        w if w > MAX_WAIT => Err(ToolError::invalid(format!(
            "wait is {w} s; the maximum is {MAX_WAIT} s"
        ))),
        w => Ok(w),
    }
}

/// Parses the UPID a mutation returned (PVE's `data` is the UPID string).
pub fn upid_of(data: &Value) -> Result<Upid, ToolError> {
    data.as_str()
        .and_then(|s| s.parse::<Upid>().ok())
        .ok_or_else(|| ToolError::Config(format!("PVE returned no task id (UPID): {data}")))
}

/// Follows `upid` for up to `wait` seconds, reporting progress; on failure, the log tail.
/// `wait == 0` returns at once with status `started`.
pub async fn follow(ctx: &ToolCtx, upid: &Upid, wait: u64) -> Result<TaskResult, ToolError> {
    let text = upid.to_string();
    if wait == 0 {
        return Ok(TaskResult {
            upid: text,
            status: "started",
            exitstatus: None,
            log_tail: Vec::new(),
        });
    }
    let opts = WaitOptions {
        timeout: Duration::from_secs(wait),
        min_poll: Duration::from_millis(20),
        max_poll: Duration::from_secs(1),
        fast_for: Duration::from_secs(3),
        count_log: false,
    };
    let progress = ctx.progress.clone();
    let what = format!("{} {}", upid.kind, upid.id);
    let total = wait as f64;
    let outcome = wait_task(&ctx.pve, upid, opts, &ctx.cancel, move |tp| {
        let progress = progress.clone();
        let what = what.clone();
        async move {
            let secs = tp.elapsed.as_secs_f64();
            progress
                .report(
                    secs.min(total),
                    Some(total),
                    format!("{what}: running for {secs:.0}s"),
                )
                .await;
        }
    })
    .await
    .map_err(|e| match e {
        PveError::Cancelled => ToolError::Cancelled,
        other => ToolError::Pve(other),
    })?;
    let (status, state) = match &outcome {
        TaskOutcome::TimedOut(s) => (s, "running"),
        TaskOutcome::Finished(s) if s.succeeded() == Some(true) => (s, "ok"),
        TaskOutcome::Finished(s) => (s, "failed"),
    };
    let log_tail = if state == "failed" {
        ctx.pve
            .task_log_tail(upid, LOG_TAIL)
            .await
            .map(|lines| lines.into_iter().map(|l| l.t).collect())
            .unwrap_or_default()
    } else {
        Vec::new()
    };
    Ok(TaskResult {
        upid: text,
        status: state,
        exitstatus: status.exitstatus.clone(),
        log_tail,
    })
}

/// Which guests a lifecycle action targets: one vmid, a list, or every guest with a tag or in
/// a pool (of the tool's kind).
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
pub struct Selector {
    pub vmid: Option<Vmid>,
    pub vmids: Option<Vec<Vmid>>,
    pub tag: Option<String>,
    pub pool: Option<String>,
}

impl Selector {
    /// Whether more than one guest may be meant (list, tag or pool).
    pub fn is_multi(&self) -> bool {
        self.vmids.is_some() || self.tag.is_some() || self.pool.is_some()
    }
}

/// One guest a call acts on.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq, Eq)]
pub struct Target {
    pub vmid: u32,
    pub node: String,
    #[serde(skip_serializing_if = "String::is_empty", default)]
    pub name: String,
}

impl Target {
    pub fn of(r: &ClusterResource) -> Option<Self> {
        Some(Target {
            vmid: r.vmid?,
            node: r.node.clone()?,
            name: r.name.clone().unwrap_or_default(),
        })
    }
}

/// Resolves a selector into guests of `kind`, with the call's one `/cluster/resources` read. Exactly one of
/// vmid, vmids, tag, pool must be given; unknown vmids and empty selections are errors.
pub async fn resolve_guests(
    ctx: &AssessCtx,
    kind: GuestKind,
    sel: &Selector,
) -> Result<Vec<Target>, ToolError> {
    let given = [
        sel.vmid.is_some(),
        sel.vmids.is_some(),
        sel.tag.is_some(),
        sel.pool.is_some(),
    ]
    .iter()
    .filter(|b| **b)
    .count();
    if given != 1 {
        return Err(ToolError::invalid(
            "give exactly one of vmid, vmids, tag or pool",
        ));
    }
    // The call's guest facts: read once, shared with the protection check.
    let all = ctx.guests().await?;
    let of_kind = |r: &&ClusterResource| r.guest_kind() == Some(kind);
    let noun = match kind {
        GuestKind::Qemu => "VM",
        GuestKind::Lxc => "container",
    };
    let mut out = Vec::new();
    if let Some(v) = sel.vmid {
        out.push(v);
    }
    if let Some(list) = &sel.vmids {
        if list.is_empty() || list.len() > MAX_TARGETS {
            return Err(ToolError::invalid(format!(
                "vmids must list 1 to {MAX_TARGETS} guests"
            )));
        }
        out.extend(list.iter().copied());
    }
    if !out.is_empty() {
        let mut targets = Vec::new();
        for v in out {
            let Some(r) = all.iter().find(|r| r.vmid == Some(v.0)) else {
                return Err(ToolError::NotFound(format!(
                    "{noun} {v} does not exist in the cluster (list_vms / list_containers show \
                     the guests)"
                )));
            };
            if r.guest_kind() != Some(kind) {
                let other = match kind {
                    GuestKind::Qemu => "a container: use container_action",
                    GuestKind::Lxc => "a VM: use vm_action",
                };
                return Err(ToolError::invalid(format!("{v} is {other}")));
            }
            if let Some(t) = Target::of(r)
                && !targets.contains(&t)
            {
                targets.push(t);
            }
        }
        return Ok(targets);
    }
    let matched: Vec<Target> = if let Some(tag) = &sel.tag {
        let tag = tag.trim();
        all.iter()
            .filter(of_kind)
            .filter(|r| r.tag_list().iter().any(|t| t.eq_ignore_ascii_case(tag)))
            .filter_map(Target::of)
            .collect()
    } else {
        let pool = sel.pool.as_deref().unwrap_or_default();
        all.iter()
            .filter(of_kind)
            .filter(|r| r.pool.as_deref() == Some(pool))
            .filter_map(Target::of)
            .collect()
    };
    if matched.is_empty() {
        return Err(ToolError::NotFound(format!(
            "no {noun} matches that selector; nothing was done"
        )));
    }
    if matched.len() > MAX_TARGETS {
        return Err(ToolError::invalid(format!(
            "the selector matches {} guests; at most {MAX_TARGETS} per call",
            matched.len()
        )));
    }
    Ok(matched)
}

/// The result for one guest of a multi-target action.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct GuestResult {
    pub vmid: u32,
    pub node: String,
    pub ok: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub task: Option<TaskResult>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// Something a multi-target action acts on: a guest on a node.
pub trait OnGuest {
    fn vmid(&self) -> u32;
    fn node(&self) -> &str;
}

impl OnGuest for Target {
    fn vmid(&self) -> u32 {
        self.vmid
    }
    fn node(&self) -> &str {
        &self.node
    }
}

/// Runs `f` for every item, at most [`CONCURRENCY`] at a time; results in item order.
pub async fn run_many<T, F, Fut>(items: Vec<T>, f: F) -> Vec<GuestResult>
where
    T: OnGuest,
    F: Fn(T) -> Fut,
    Fut: Future<Output = Result<TaskResult, ToolError>>,
{
    let mut results: Vec<(usize, GuestResult)> =
        futures::stream::iter(items.into_iter().enumerate())
            .map(|(i, item)| {
                let (vmid, node) = (item.vmid(), item.node().to_owned());
                let fut = f(item);
                async move {
                    let r = match fut.await {
                        Ok(task) => GuestResult {
                            vmid,
                            node,
                            ok: task.ok(),
                            task: Some(task),
                            error: None,
                        },
                        Err(e) => GuestResult {
                            vmid,
                            node,
                            ok: false,
                            task: None,
                            error: Some(e.to_string()),
                        },
                    };
                    (i, r)
                }
            })
            .buffer_unordered(CONCURRENCY)
            .collect()
            .await;
    results.sort_by_key(|(i, _)| *i);
    results.into_iter().map(|(_, r)| r).collect()
}

/// What every action tool returns.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct ActionResult {
    pub action: String,
    /// What it acted on
    pub target: String,
    pub ok: bool,
    /// The task a single-target mutation started
    #[serde(skip_serializing_if = "Option::is_none")]
    pub upid: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub task: Option<TaskResult>,
    /// What a read returned, or details of a change
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data: Option<Value>,
    /// One per guest for multi-target actions
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub results: Vec<GuestResult>,
    pub message: String,
}

impl ActionResult {
    /// A read or an immediate change.
    pub fn done(action: &str, target: impl Into<String>, data: Value, message: String) -> Self {
        ActionResult {
            action: action.to_string(),
            target: target.into(),
            ok: true,
            upid: None,
            task: None,
            data: Some(data),
            results: Vec::new(),
            message,
        }
    }

    /// A mutation that started (and maybe finished) a task.
    pub fn task(action: &str, target: impl Into<String>, task: TaskResult) -> Self {
        let target = target.into();
        let message = match task.status {
            "started" => format!(
                "{action} {target}: started; follow it with task_status upid={}",
                task.upid
            ),
            "running" => format!(
                "{action} {target}: still running when the wait ended; follow it with \
                 task_status upid={}",
                task.upid
            ),
            "ok" => format!("{action} {target}: done"),
            _ => format!(
                "{action} {target}: FAILED ({})",
                task.exitstatus.as_deref().unwrap_or("no exit status")
            ),
        };
        ActionResult {
            action: action.to_string(),
            ok: task.ok(),
            upid: Some(task.upid.clone()),
            target,
            task: Some(task),
            data: None,
            results: Vec::new(),
            message,
        }
    }

    /// A multi-target action: one result per guest.
    pub fn many(action: &str, target: impl Into<String>, results: Vec<GuestResult>) -> Self {
        let failed = results.iter().filter(|r| !r.ok).count();
        let target = target.into();
        let message = format!(
            "{action} on {} guests ({target}): {} ok, {failed} failed",
            results.len(),
            results.len() - failed
        );
        ActionResult {
            action: action.to_string(),
            target,
            ok: failed == 0,
            upid: None,
            task: None,
            data: None,
            results,
            message,
        }
    }

    /// The result as a tool outcome: a failed task is an error the model reads (with the log).
    pub fn into_result(self) -> Result<Self, ToolError> {
        if self.ok || !self.results.is_empty() {
            return Ok(self);
        }
        let mut msg = self.message.clone();
        if let Some(t) = &self.task {
            for l in &t.log_tail {
                msg.push_str(&format!("\n  {l}"));
            }
            msg.push_str(&format!("\n(upid {})", t.upid));
        }
        Err(ToolError::Refused(msg))
    }
}

impl Render for ActionResult {
    fn started_task(&self) -> Option<String> {
        self.upid.clone()
    }

    fn render(&self) -> String {
        let mut s = self.message.clone();
        for r in &self.results {
            let what = match (&r.task, &r.error) {
                (_, Some(e)) => format!("error: {e}"),
                (Some(t), None) => {
                    let mut x = t.status.to_string();
                    if let Some(e) = &t.exitstatus
                        && t.status == "failed"
                    {
                        x.push_str(&format!(" ({e})"));
                    }
                    x
                }
                (None, None) => "ok".into(),
            };
            s.push_str(&format!("\n  {} on {}: {what}", r.vmid, r.node));
        }
        if let Some(d) = &self.data {
            let text = serde_json::to_string(d).unwrap_or_default();
            s.push('\n');
            s.push_str(&super::render::clip(&text, 16 * 1024));
        }
        s
    }
}
