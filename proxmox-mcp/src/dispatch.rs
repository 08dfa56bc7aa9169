//! The one pipeline every tool call goes through, from the MCP server and the CLI alike:
//!
//! look up → normalise arguments → resolve the cluster → **assess** (class, root-protection hits,
//! target guests) → **decide** (the policy function) → **confirm** with a human when the decision
//! says so → run (cancellable) → **audit** → map to an MCP result.
//!
//! Every call leaves one audit record with its final outcome. A call that can change anything
//! also leaves a record *before* it runs, and does not run when that record cannot be written:
//! a crash mid-action still shows what was started, and nothing changes unaudited.

use std::sync::Arc;
use std::time::{Instant, SystemTime};

use rmcp::model::{CallToolResponse, CallToolResult, ContentBlock, JsonObject};
use serde_json::Value;
use tokio_util::sync::CancellationToken;

use crate::audit::{Client, Event, Outcome, Transport, redact};
use crate::engine::{Engine, Progress};
use crate::policy::Class;
use crate::policy::decision::Decision;
use crate::policy::engine::{GuestTarget, Policy, evaluate};
use crate::pve::Pve;
use crate::safety::confirm::{self, Answer, Channel};
use crate::state::ApprovalId;
use crate::state::approvals::call_hash;
use crate::tools::{self, AssessCtx, Assessment, ToolCtx, ToolDef, ToolError, ToolOutput};

/// Reserved argument: the id of an out-of-band approval a human granted for this very call.
pub const APPROVAL_ARG: &str = "approval_id";

/// The most a human is asked to read before approving, in characters. A call whose
/// description is longer is refused, never shown cut short.
pub const MAX_SHOWN: usize = 8 * 1024;

/// Who made a call and how it reached us.
#[derive(Debug, Clone)]
pub struct Origin {
    pub transport: Transport,
    pub client: Client,
}

impl Origin {
    pub fn cli() -> Self {
        Origin {
            transport: Transport::Cli,
            client: Client {
                name: "proxmox-mcp-cli".into(),
                version: env!("CARGO_PKG_VERSION").into(),
            },
        }
    }
}

/// One tool call as it enters the pipeline.
pub struct Call {
    pub tool: String,
    pub args: JsonObject,
    pub origin: Origin,
    pub channel: Channel,
    pub progress: Progress,
    pub cancel: CancellationToken,
}

/// How a call ended inside the pipeline, before it becomes an MCP result.
enum Flow {
    /// It ran: the tool's output.
    Ran(ToolOutput),
    /// It was stopped or failed; `Outcome` says which for the audit log.
    Stopped(Outcome, String),
    /// A human is being asked through an MRTR round.
    Ask(rmcp::model::InputRequiredResult),
}

/// Runs one call end to end and audits it. Unknown tools come back as an `isError` result; the
/// MCP handler turns them into a protocol error before calling this.
pub async fn dispatch(engine: &Arc<Engine>, call: Call) -> CallToolResponse {
    let started = Instant::now();
    let mut ev = Event::new(&call.tool, Class::Read, Outcome::Failed);
    ev.time = SystemTime::now();
    ev.client = call.origin.client.clone();
    ev.transport = call.origin.transport;
    ev.arguments = Value::Object(call.args.clone());
    ev.mode = engine.safety().mode().to_string();

    let flow = pipeline(engine, call, &mut ev).await;
    ev.duration_ms = started.elapsed().as_millis() as u64;
    let tool = ev.tool.clone();
    let response = match flow {
        Flow::Ran(mut out) => {
            // Nothing secret reaches the model: stdout and stderr of commands included.
            out.text = redact::redact_str(&out.text).into_owned();
            out.structured = redact::redact_output(out.structured);
            ev.upid = out
                .structured
                .get("upid")
                .and_then(Value::as_str)
                .map(str::to_owned);
            ev.result = Some(result_line(&out.structured));
            let mut result = CallToolResult::success(vec![ContentBlock::text(out.text)]);
            result.structured_content = Some(out.structured);
            tracing::debug!(tool, ms = ev.duration_ms, "ok");
            CallToolResponse::Complete(result)
        }
        Flow::Stopped(outcome, message) => {
            let message = redact::redact_str(&message).into_owned();
            ev.decision = outcome;
            if ev.reason.is_empty() {
                ev.reason = message.clone();
            }
            ev.result = Some(crate::tools::render::clip(&message, 500));
            tracing::info!(tool, ms = ev.duration_ms, %outcome, "stopped: {message}");
            CallToolResponse::Complete(CallToolResult::error(vec![ContentBlock::text(format!(
                "{tool}: {message}"
            ))]))
        }
        Flow::Ask(input) => {
            ev.decision = Outcome::Pending;
            ev.result = Some("asked the human through the client".into());
            CallToolResponse::InputRequired(input)
        }
    };
    record(engine, &ev);
    response
}

/// Writes the final record: synced for anything that could change something, unsynced for
/// plain reads (the next synced record flushes it). Failing cannot undo what ran; it is logged.
fn record(engine: &Engine, ev: &Event) {
    match engine.safety().audit() {
        Ok(log) => {
            let written = if ev.class.is_mutation() || ev.decision != Outcome::Allowed {
                log.append(ev)
            } else {
                log.append_unsynced(ev)
            };
            if let Err(e) = written {
                tracing::error!(tool = %ev.tool, "audit record not written: {e}");
            }
        }
        Err(e) => tracing::error!(tool = %ev.tool, "audit record not written: {e}"),
    }
}

async fn pipeline(engine: &Arc<Engine>, call: Call, ev: &mut Event) -> Flow {
    let Call {
        tool: name,
        mut args,
        channel,
        progress,
        cancel,
        ..
    } = call;
    let Some(tool) = tools::find(&name) else {
        return Flow::Stopped(
            Outcome::Refused,
            format!("unknown tool {name:?}; `proxmox-mcp tools` lists them"),
        );
    };
    ev.class = tool.class;
    let refused = |e: ToolError| Flow::Stopped(Outcome::Refused, e.to_string());

    if let Err(e) = tools::args::normalize(&tool.input_schema, &mut args) {
        return refused(e);
    }
    let approval_id = match args.remove(APPROVAL_ARG) {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => match ApprovalId::parse(&s) {
            Ok(id) => Some(id.to_string()),
            Err(e) => return refused(ToolError::invalid(e.to_string())),
        },
        Some(other) => {
            return refused(ToolError::invalid(format!(
                "{APPROVAL_ARG} must be a string (got {other})"
            )));
        }
    };
    ev.arguments = Value::Object(args.clone());
    let given = args.clone();
    let cluster = match args.remove("cluster") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s),
        Some(other) => {
            return refused(ToolError::invalid(format!(
                "cluster must be a string (got {other})"
            )));
        }
    };
    let (cluster, pve, connected) = match engine.pve(cluster.as_deref()) {
        Ok((name, pve)) => (name, pve, true),
        Err(e) if !tool.needs_cluster => (String::new(), Pve::unavailable(e.to_string()), false),
        Err(e) => return refused(e),
    };

    let safety = engine.safety();
    // Reads never touch root protection: the configured identity (no IO) assesses them. A call
    // that may change something is assessed again once the node we run against is known.
    let mut policy = safety.policy(engine.configured_identity(&cluster));
    let exec = engine
        .config()
        .cluster(Some(&cluster))
        .map(|c| c.exec.clone())
        .unwrap_or_default();
    let assess = |policy: &Policy| {
        let ctx = AssessCtx {
            cluster: cluster.clone(),
            identity: policy.identity.clone(),
            mode: policy.mode,
            exec: exec.clone(),
            pve: pve.clone(),
            server: engine.server_files().clone(),
        };
        tool.assess(ctx, &args)
    };
    let mut assessment = match assess(&policy).await {
        Ok(a) => a,
        Err(e) => return refused(e),
    };
    if connected && assessment.request.class.is_mutation() && policy.identity.own_node.is_none() {
        policy.identity = engine.identity(&cluster, &pve).await;
        assessment = match assess(&policy).await {
            Ok(a) => a,
            Err(e) => return refused(e),
        };
    }
    ev.class = assessment.request.class;
    ev.target = assessment.target.clone();

    let decision = match decide(&policy, &assessment, &pve).await {
        Ok(d) => d,
        Err(e) => return refused(e),
    };
    let outcome = match decision {
        Decision::Allow => Outcome::Allowed,
        Decision::Refuse(reason) => {
            ev.reason = reason.clone();
            return Flow::Stopped(Outcome::Refused, reason);
        }
        Decision::Confirm(reason) => {
            ev.reason = reason.clone();
            let message = ask_text(tool, &assessment, &reason, &cluster);
            let shown = message.chars().count();
            if shown > MAX_SHOWN {
                let why = format!(
                    "this needs a human's confirmation, but what they would have to read is \
                     {shown} characters long and is only ever shown in full, up to {MAX_SHOWN}. \
                     Split it into smaller calls (for a script: put it in a file on the node \
                     and run that file). Nothing was run."
                );
                ev.reason = why.clone();
                return Flow::Stopped(Outcome::Refused, why);
            }
            // What a human's yes is bound to: the tool, every argument but the approval id, and
            // what the assessment resolved (a tag's guests), so a changed selection needs a new yes.
            let plan = assessment.plan.as_ref();
            let hash = call_hash(tool.name, &bound(given.clone(), plan));
            match confirm_call(
                engine,
                tool,
                &hash,
                &bound(args_for_approval(&args, &cluster), plan),
                approval_id.as_deref(),
                channel,
                &message,
                &assessment.summary,
            )
            .await
            {
                Confirmation::Confirmed(how) => {
                    ev.reason = format!("{reason} Confirmed by a human ({how}).");
                    Outcome::Confirmed
                }
                Confirmation::Stop(outcome, why) => return Flow::Stopped(outcome, why),
                Confirmation::Ask(input) => return Flow::Ask(input),
            }
        }
    };

    let class = assessment.request.class;
    if class.is_mutation() {
        // Fail closed: nothing changes unless its start is on disk.
        let mut intent = ev.clone();
        intent.decision = outcome;
        intent.result = Some("started".into());
        let written = safety
            .audit()
            .and_then(|log| log.append(&intent).map_err(|e| e.to_string()));
        if let Err(e) = written {
            return Flow::Stopped(
                Outcome::Failed,
                format!("not run: the audit record could not be written ({e})"),
            );
        }
    }

    let ctx = ToolCtx {
        cluster,
        pve,
        progress,
        cancel: cancel.clone(),
        engine: engine.clone(),
        mode: policy.mode,
        identity: policy.identity.clone(),
        plan: assessment.plan.clone(),
    };
    let ran = tokio::select! {
        out = tool.run(ctx, args) => out,
        () = cancel.cancelled() => Err(ToolError::Cancelled),
    };
    ev.decision = outcome;
    match ran {
        Ok(out) => Flow::Ran(out),
        Err(e) => Flow::Stopped(Outcome::Failed, e.to_string()),
    }
}

/// The arguments an approval is shown with and bound to (the cluster kept in).
fn args_for_approval(args: &JsonObject, cluster: &str) -> JsonObject {
    let mut all = args.clone();
    if !cluster.is_empty() {
        all.insert("cluster".into(), Value::from(cluster));
    }
    all
}

/// Arguments plus the assessment's plan, as one value to hash.
fn bound(mut args: JsonObject, plan: Option<&Value>) -> Value {
    if let Some(plan) = plan {
        args.insert(" plan".into(), plan.clone());
    }
    Value::Object(args)
}

/// The policy decision, with every target guest's protection looked up for calls that may
/// destroy (destructive, or commands that could do anything).
/// The strictest decision over the guests wins; a lookup failure refuses (fail closed).
pub async fn decide(policy: &Policy, a: &Assessment, pve: &Pve) -> Result<Decision, ToolError> {
    let base = || match &a.decision {
        Some(d) if a.request.protected.is_empty() => d.clone(),
        _ => evaluate(policy, &a.request),
    };
    if !a.request.may_destroy || a.guests.is_empty() {
        return Ok(base());
    }
    let guests = guest_targets(pve, &a.guests).await.map_err(|e| {
        ToolError::Refused(format!(
            "cannot check whether the target guests are protected ({e}); nothing was done"
        ))
    })?;
    let mut worst = base();
    for g in guests {
        let d = evaluate(policy, &a.request.clone().with_guest(g));
        if d.strictness() > worst.strictness() {
            worst = d;
        }
    }
    Ok(worst)
}

/// Tags (from `/cluster/resources`) and the `protection` flag (from each config) of `vmids`.
/// Guests that do not exist are skipped: the call itself will report them.
async fn guest_targets(pve: &Pve, vmids: &[u32]) -> Result<Vec<GuestTarget>, ToolError> {
    let resources = pve.cluster_resources(Some("vm")).await?;
    let mut out = Vec::new();
    for &vmid in vmids {
        let Some(r) = resources.iter().find(|r| r.vmid == Some(vmid)) else {
            continue;
        };
        let (Some(kind), Some(node)) = (r.guest_kind(), r.node.as_deref()) else {
            continue;
        };
        let config = pve.guest_config(kind, node, vmid).await?;
        let flag = config
            .get_str("protection")
            .is_some_and(|v| matches!(v.trim(), "1" | "true"));
        out.push(GuestTarget {
            vmid,
            tags: r.tag_list().into_iter().map(str::to_owned).collect(),
            protection_flag: flag,
        });
    }
    Ok(out)
}

/// What the human reads before saying yes: everything that will run, whole, with control and
/// invisible characters escaped.
fn ask_text(tool: &ToolDef, a: &Assessment, reason: &str, cluster: &str) -> String {
    let summary = crate::tools::render::visible(&a.summary);
    let mut text = format!("proxmox-mcp wants to run {}: {summary}", tool.name);
    if !cluster.is_empty() {
        text.push_str(&format!("\nCluster: {cluster}"));
    }
    text.push_str(&format!("\nClass: {}. {reason}", a.request.class.as_str()));
    text
}

enum Confirmation {
    Confirmed(String),
    Stop(Outcome, String),
    Ask(rmcp::model::InputRequiredResult),
}

/// Gets a human's yes for this exact call, through the best channel the caller has.
#[allow(clippy::too_many_arguments)]
async fn confirm_call(
    engine: &Engine,
    tool: &ToolDef,
    hash: &str,
    shown_args: &Value,
    approval_id: Option<&str>,
    channel: Channel,
    message: &str,
    summary: &str,
) -> Confirmation {
    let safety = engine.safety();
    let stop = |outcome, why: String| Confirmation::Stop(outcome, why);
    if let Some(id) = approval_id {
        return match safety.approvals().and_then(|s| {
            s.consume(id, tool.name, shown_args)
                .map_err(|e| e.to_string())
        }) {
            Ok(()) => Confirmation::Confirmed(format!("approval {}", id.to_uppercase())),
            Err(e) => stop(Outcome::Refused, format!("{e}. Nothing was run.")),
        };
    }
    let how = channel.as_str();
    let answer = match channel {
        Channel::Mrtr {
            state: Some(state),
            responses,
        } => {
            if let Err(e) = safety.redeem(&state, tool.name, hash) {
                return stop(Outcome::Refused, format!("{e}. Nothing was run."));
            }
            confirm::mrtr_answer(responses.as_ref())
        }
        Channel::Mrtr { state: None, .. } => {
            return match safety.seal(tool.name, hash) {
                Ok(sealed) => Confirmation::Ask(confirm::input_required(message, sealed)),
                Err(e) => stop(
                    Outcome::Refused,
                    format!("cannot ask for confirmation: {e}. Nothing was run."),
                ),
            };
        }
        Channel::Elicit(peer) => confirm::elicit(&peer, message, safety.approval_ttl()).await,
        Channel::Terminal => confirm::terminal(message.to_owned()).await,
        Channel::OutOfBand => Answer::Unavailable("the client cannot show a form".into()),
    };
    match answer {
        Answer::Approved => Confirmation::Confirmed(how.to_string()),
        Answer::Declined(why) => stop(
            Outcome::Declined,
            format!(
                "a human was asked and said no ({why}); nothing was run. Do not retry unless the human asks for it."
            ),
        ),
        Answer::Unavailable(why) => out_of_band(engine, tool, shown_args, summary, message, &why),
    }
}

/// Issues an approval id and tells the model how the human grants it.
fn out_of_band(
    engine: &Engine,
    tool: &ToolDef,
    shown_args: &Value,
    summary: &str,
    message: &str,
    why: &str,
) -> Confirmation {
    let safety = engine.safety();
    let ttl = safety.approval_ttl();
    match safety.approvals().and_then(|s| {
        s.request(
            tool.name,
            shown_args,
            &crate::tools::render::visible(summary),
            ttl,
        )
        .map_err(|e| e.to_string())
    }) {
        Ok(approval) => Confirmation::Stop(
            Outcome::Pending,
            format!(
                "needs a human's approval ({why}). {message}\nAsk the operator to run \
                 `proxmox-mcp approve {id}` on the server host (or `proxmox-mcp deny {id}`); \
                 then call {tool} again with exactly the same arguments plus \
                 \"{APPROVAL_ARG}\": \"{id}\". The approval is valid for {mins} minutes and \
                 for this one call only.",
                id = approval.id,
                tool = tool.name,
                mins = ttl.as_secs().div_ceil(60),
            ),
        ),
        Err(e) => Confirmation::Stop(
            Outcome::Refused,
            format!("needs a human's approval, but {e}. Nothing was run."),
        ),
    }
}

/// A one-line result for the audit log.
fn result_line(structured: &Value) -> String {
    if let Some(code) = structured.get("exit_code") {
        return format!("exit {code}");
    }
    if let Some(upid) = structured.get("upid").and_then(Value::as_str) {
        return format!("task {upid}");
    }
    "ok".into()
}
