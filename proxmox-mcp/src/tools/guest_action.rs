//! `vm_action` (QEMU) and `container_action` (LXC): one tool per guest kind for power, copies,
//! snapshots, backups and provisioning, sharing one planner.
//!
//! Every call is planned in the assessor: the guests are resolved (a tag or pool selector into
//! the exact list a human approves), each PVE request is built and validated, and the plan goes
//! to the handler as [`ToolCtx::plan`], so the handler makes exactly the requests assessed.
//! Request builders live in `power` (power and backups, single or many guests), `snapshots`,
//! `copies` (clone, migrate, restore) and `provision` (create, set_config, resize, template,
//! destroy); input checks in `validate`, the arguments in `params`.

mod copies;
mod params;
mod power;
mod provision;
mod snapshots;
mod validate;

pub use params::{Action, Args, BackupMode, CtAction, CtParams, VmParams};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::action::{
    ActionResult, Selector, Target, TaskResult, api_assessment, follow, resolve_guests, run_many,
    upid_of, wait_secs,
};
use super::{AssessCtx, Assessment, Hints, ToolCtx, ToolDef, ToolError};
use crate::policy::Class;
use crate::pve::types::GuestKind;
use crate::pve::{Method, Params};

pub fn tools() -> Vec<ToolDef> {
    let hints = Hints {
        read_only: false,
        destructive: true,
        idempotent: false,
        open_world: false,
    };
    vec![
        ToolDef::new(
            "vm_action",
            "VM action",
            "QEMU VMs: vmid, or vmids/tag/pool for power/snapshot/backup. Waits `wait` s for the \
             task (default 60; 0: clone, migrate, backup, restore, create, destroy). create: \
             agent=1.",
            Class::Destructive,
            hints,
            VM_ENDPOINTS,
            vm_action,
        )
        .assessed_async_by(assess_vm)
        .read_actions(&["list_snapshots"]),
        ToolDef::new(
            "container_action",
            "Container action",
            "LXC containers: vmid, or vmids/tag/pool for power/snapshot/backup. Waits `wait` s \
             for the task (default 60; 0: clone, migrate, backup, restore, create, destroy). \
             create: unprivileged.",
            Class::Destructive,
            hints,
            CT_ENDPOINTS,
            container_action,
        )
        .assessed_async_by(assess_ct)
        .read_actions(&["list_snapshots"]),
    ]
}

const VM_ENDPOINTS: &[&str] = &[
    "GET /cluster/resources",
    "GET /cluster/nextid",
    "POST /nodes/{node}/qemu/{vmid}/status/start",
    "POST /nodes/{node}/qemu/{vmid}/status/stop",
    "POST /nodes/{node}/qemu/{vmid}/status/shutdown",
    "POST /nodes/{node}/qemu/{vmid}/status/reboot",
    "POST /nodes/{node}/qemu/{vmid}/status/reset",
    "POST /nodes/{node}/qemu/{vmid}/status/suspend",
    "POST /nodes/{node}/qemu/{vmid}/status/resume",
    "POST /nodes/{node}/qemu/{vmid}/clone",
    "GET /nodes/{node}/qemu/{vmid}/migrate",
    "POST /nodes/{node}/qemu/{vmid}/migrate",
    "GET /nodes/{node}/qemu/{vmid}/snapshot",
    "POST /nodes/{node}/qemu/{vmid}/snapshot",
    "POST /nodes/{node}/qemu/{vmid}/snapshot/{snapname}/rollback",
    "DELETE /nodes/{node}/qemu/{vmid}/snapshot/{snapname}",
    "POST /nodes/{node}/vzdump",
    "POST /nodes/{node}/qemu",
    "PUT /nodes/{node}/qemu/{vmid}/resize",
    "POST /nodes/{node}/qemu/{vmid}/config",
    "GET /nodes/{node}/qemu/{vmid}/pending",
    "POST /nodes/{node}/qemu/{vmid}/template",
    "DELETE /nodes/{node}/qemu/{vmid}",
    "GET /nodes/{node}/tasks/{upid}/status",
    "GET /nodes/{node}/tasks/{upid}/log",
];

const CT_ENDPOINTS: &[&str] = &[
    "GET /cluster/resources",
    "GET /cluster/nextid",
    "POST /nodes/{node}/lxc/{vmid}/status/start",
    "POST /nodes/{node}/lxc/{vmid}/status/stop",
    "POST /nodes/{node}/lxc/{vmid}/status/shutdown",
    "POST /nodes/{node}/lxc/{vmid}/status/reboot",
    "POST /nodes/{node}/lxc/{vmid}/status/suspend",
    "POST /nodes/{node}/lxc/{vmid}/status/resume",
    "POST /nodes/{node}/lxc/{vmid}/clone",
    "GET /nodes/{node}/lxc/{vmid}/migrate",
    "POST /nodes/{node}/lxc/{vmid}/migrate",
    "GET /nodes/{node}/lxc/{vmid}/snapshot",
    "POST /nodes/{node}/lxc/{vmid}/snapshot",
    "POST /nodes/{node}/lxc/{vmid}/snapshot/{snapname}/rollback",
    "DELETE /nodes/{node}/lxc/{vmid}/snapshot/{snapname}",
    "POST /nodes/{node}/vzdump",
    "POST /nodes/{node}/lxc",
    "PUT /nodes/{node}/lxc/{vmid}/resize",
    "PUT /nodes/{node}/lxc/{vmid}/config",
    "GET /nodes/{node}/lxc/{vmid}/pending",
    "POST /nodes/{node}/lxc/{vmid}/template",
    "DELETE /nodes/{node}/lxc/{vmid}",
    "GET /nodes/{node}/tasks/{upid}/status",
    "GET /nodes/{node}/tasks/{upid}/log",
];

/// One PVE request of a plan, for one guest.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Call {
    pub vmid: u32,
    pub node: String,
    #[serde(default)]
    pub name: String,
    pub method: Method,
    pub path: String,
    pub params: Params,
}

impl Call {
    pub fn new(t: &Target, method: Method, path: String, params: Params) -> Self {
        Call {
            vmid: t.vmid,
            node: t.node.clone(),
            name: t.name.clone(),
            method,
            path,
            params,
        }
    }

    fn target(&self) -> Target {
        Target {
            vmid: self.vmid,
            node: self.node.clone(),
            name: self.name.clone(),
        }
    }
}

/// What a planner built: the requests, how to describe them, and what to report.
pub struct Built {
    pub calls: Vec<Call>,
    /// What the call acts on, in words: `VM 100 (web-01) on pve1`.
    pub what: String,
    /// Extra facts for the human (preflight result, chosen ids).
    pub note: Option<String>,
    /// Returned in the result's `data` (a migration preflight, the new vmid).
    pub report: Option<Value>,
    /// Raise the class to Destructive (a restore over an existing guest).
    pub destructive: bool,
}

impl Built {
    pub fn one(call: Call, what: String) -> Self {
        Built {
            calls: vec![call],
            what,
            note: None,
            report: None,
            destructive: false,
        }
    }
}

/// What the handler receives from the assessor.
#[derive(Debug, Serialize, Deserialize)]
struct Plan {
    action: Action,
    target: String,
    multi: bool,
    calls: Vec<Call>,
    wait: u64,
    report: Option<Value>,
}

pub fn noun(kind: GuestKind) -> &'static str {
    match kind {
        GuestKind::Qemu => "VM",
        GuestKind::Lxc => "CT",
    }
}

/// `/nodes/{node}/{qemu|lxc}/{vmid}{rest}`.
pub fn guest_path(kind: GuestKind, t: &Target, rest: &str) -> String {
    format!("/nodes/{}/{}/{}{rest}", t.node, kind.path_segment(), t.vmid)
}

/// `VM 100 (web-01) on pve1`.
pub fn describe(kind: GuestKind, t: &Target) -> String {
    if t.name.is_empty() {
        format!("{} {} on {}", noun(kind), t.vmid, t.node)
    } else {
        format!("{} {} ({}) on {}", noun(kind), t.vmid, t.name, t.node)
    }
}

async fn assess_vm(ctx: AssessCtx, p: VmParams) -> Result<Assessment, ToolError> {
    assess(ctx, GuestKind::Qemu, p.into()).await
}

async fn assess_ct(ctx: AssessCtx, p: CtParams) -> Result<Assessment, ToolError> {
    assess(ctx, GuestKind::Lxc, p.into()).await
}

/// Validates, resolves and builds every request; the assessment is that of the requests.
async fn assess(ctx: AssessCtx, kind: GuestKind, a: Args) -> Result<Assessment, ToolError> {
    validate::args(kind, &a)?;
    let wait = wait_secs(a.wait, default_wait(&a))?;
    let action = a.action;
    let multi = a.sel.is_multi();
    if multi && !action.multi_ok() {
        return Err(ToolError::invalid(format!(
            "{} takes one guest (vmid); vmids, tag and pool are for start, stop, shutdown, \
             reboot, suspend, resume, snapshot and backup",
            action.as_str()
        )));
    }
    let built = match action {
        Action::Create => provision::create(&ctx, kind, &a).await?,
        Action::Restore => copies::restore(&ctx, kind, &a).await?,
        _ => {
            let targets = resolve_guests(&ctx, kind, &a.sel).await?;
            if multi {
                power::many(kind, &a, &targets, &describe_selector(&a.sel))?
            } else {
                let t = targets
                    .first()
                    .ok_or_else(|| ToolError::NotFound("no such guest".into()))?;
                single(&ctx, kind, &a, t).await?
            }
        }
    };
    let first = built
        .calls
        .first()
        .ok_or_else(|| ToolError::Config("nothing to do".into()))?;
    let mut summary = format!("{} {}", action.as_str(), built.what);
    if !multi {
        summary.push_str(&format!(": {} {}", first.method.as_str(), first.path));
        if !first.params.is_empty() {
            let shown = crate::audit::redact::redact_value(&Value::Object(first.params.clone()));
            summary.push_str(&format!(" {shown}"));
        }
    }
    if let Some(n) = &built.note {
        summary.push_str(&format!(" ({n})"));
    }
    let mut assessment = api_assessment(
        &ctx,
        first.method.as_str(),
        &first.path,
        &first.params,
        summary,
    )
    .await?;
    // Every request of a multi-guest call is judged, each with its own guest.
    for c in built.calls.iter().skip(1) {
        assessment.join(
            api_assessment(&ctx, c.method.as_str(), &c.path, &c.params, String::new()).await?,
        );
    }
    if built.destructive {
        assessment.request.class = assessment.request.class.max(Class::Destructive);
    }
    assessment.guests.sort_unstable();
    assessment.guests.dedup();
    if multi {
        assessment.target = Some(format!(
            "{} {}",
            kind.path_segment(),
            built
                .calls
                .iter()
                .map(|c| c.vmid.to_string())
                .collect::<Vec<_>>()
                .join(",")
        ));
    }
    let plan = Plan {
        action,
        target: built.what,
        multi,
        calls: built.calls,
        wait,
        report: built.report,
    };
    assessment.set_plan(plan)?;
    Ok(assessment)
}

fn default_wait(a: &Args) -> u64 {
    match (a.action, a.timeout) {
        (Action::Shutdown | Action::Reboot, Some(t)) => (t + 30).min(super::action::MAX_WAIT),
        _ => a.action.default_wait(),
    }
}

fn describe_selector(sel: &Selector) -> String {
    if let Some(t) = &sel.tag {
        format!("tag {t}")
    } else if let Some(p) = &sel.pool {
        format!("pool {p}")
    } else {
        "vmids".into()
    }
}

/// The plan for an action on one existing guest.
async fn single(
    ctx: &AssessCtx,
    kind: GuestKind,
    a: &Args,
    t: &Target,
) -> Result<Built, ToolError> {
    match a.action {
        Action::Start
        | Action::Stop
        | Action::Shutdown
        | Action::Reboot
        | Action::Reset
        | Action::Suspend
        | Action::Resume
        | Action::Backup => Ok(Built::one(power::call(kind, a, t)?, describe(kind, t))),
        Action::Snapshot | Action::ListSnapshots | Action::Rollback | Action::DeleteSnapshot => {
            snapshots::plan(kind, a, t)
        }
        Action::Clone => copies::clone(ctx, kind, a, t).await,
        Action::Migrate => copies::migrate(ctx, kind, a, t).await,
        Action::ResizeDisk | Action::SetConfig | Action::ConvertToTemplate | Action::Destroy => {
            provision::plan(kind, a, t)
        }
        Action::Create | Action::Restore => Err(ToolError::invalid("not a single-guest action")),
    }
}

/// `GET /cluster/nextid`: PVE declares an integer and sends a string; accept both.
pub async fn next_id(ctx: &AssessCtx) -> Result<u32, ToolError> {
    let v = ctx
        .pve
        .call(Method::Get, "/cluster/nextid", &Params::new())
        .await?;
    v.as_u64()
        .or_else(|| v.as_str().and_then(|s| s.trim().parse().ok()))
        .and_then(|n| u32::try_from(n).ok())
        .ok_or_else(|| ToolError::Config(format!("PVE returned no free vmid: {v}")))
}

async fn vm_action(ctx: ToolCtx, p: VmParams) -> Result<ActionResult, ToolError> {
    run(ctx, GuestKind::Qemu, p.action).await
}

async fn container_action(ctx: ToolCtx, p: CtParams) -> Result<ActionResult, ToolError> {
    run(ctx, GuestKind::Lxc, p.action.into()).await
}

/// Makes exactly the requests the assessment planned.
async fn run(ctx: ToolCtx, kind: GuestKind, action: Action) -> Result<ActionResult, ToolError> {
    let plan: &Plan = ctx.plan()?;
    if plan.action != action {
        return Err(ToolError::Config(
            "the plan is for another action; nothing was done".into(),
        ));
    }
    let name = action.as_str();
    if plan.multi {
        let wait = plan.wait;
        let ctx2 = &ctx;
        let results = run_many(plan.calls.clone(), |call| async move {
            let data = ctx2.pve.call(call.method, &call.path, &call.params).await?;
            follow(ctx2, &upid_of(&data)?, wait).await
        })
        .await;
        return ActionResult::many(name, plan.target.clone(), results).into_result();
    }
    let call = plan
        .calls
        .first()
        .ok_or_else(|| ToolError::Config("empty plan".into()))?;
    let data = ctx.pve.call(call.method, &call.path, &call.params).await?;
    let mut result = if call.method == Method::Get {
        let n = data.as_array().map(Vec::len).unwrap_or(0);
        ActionResult::done(
            name,
            &plan.target,
            data,
            format!("{name} {}: {n} entries", plan.target),
        )
    } else if data.as_str().is_some_and(|s| s.starts_with("UPID:")) {
        let task: TaskResult = follow(&ctx, &upid_of(&data)?, plan.wait).await?;
        ActionResult::task(name, &plan.target, task)
    } else {
        let mut r = ActionResult::done(
            name,
            &plan.target,
            Value::Null,
            format!("{name} {}: done", plan.target),
        );
        r.data = None;
        r
    };
    let mut extra = serde_json::Map::new();
    if let Some(Value::Object(report)) = &plan.report {
        extra.extend(report.clone());
    }
    if action == Action::SetConfig && result.ok {
        let target = call.target();
        let pending = provision::pending(&ctx, kind, &target).await;
        extra.insert("pending".into(), pending);
    }
    if !extra.is_empty() {
        let mut data = match result.data.take() {
            Some(Value::Object(m)) => m,
            Some(other) => serde_json::Map::from_iter([("data".to_string(), other)]),
            None => serde_json::Map::new(),
        };
        data.extend(extra);
        result.data = Some(Value::Object(data));
    }
    result.into_result()
}

impl super::action::OnGuest for Call {
    fn vmid(&self) -> u32 {
        self.vmid
    }
    fn node(&self) -> &str {
        &self.node
    }
}
