//! The one pipeline every tool call goes through, from the MCP server and the CLI alike:
//!
//! **admit** (look up, normalise arguments, resolve the cluster and who we are on it, assess:
//! class, root-protection hits, target guests, planned requests) → **judge** (the gate's
//! verdict, a human's yes when it asks for one) → **execute** (the guests' protection in full,
//! the start on disk, the handler, cancellable) → **audit** → map to an MCP result.
//!
//! Every call leaves one audit record with its final outcome. A call that can change anything
//! also leaves a record *before* it runs, and does not run when that record cannot be written:
//! a crash mid-action still shows what was started, and nothing changes unaudited.

use std::borrow::Cow;
use std::sync::Arc;
use std::time::{Instant, SystemTime};

use rmcp::model::{CallToolResponse, CallToolResult, ContentBlock, JsonObject};
use serde_json::Value;
use tokio_util::sync::CancellationToken;

use crate::audit::{Client, Event, HttpClient, Outcome, Transport, redact};
use crate::engine::Engine;
use crate::error::ToolError;
use crate::gate::{self, AssessCtx, Assessment, Flags};
use crate::policy::Class;
use crate::policy::decision::Decision;
use crate::policy::engine::Policy;
use crate::progress::Progress;
use crate::pve::Pve;
use crate::safety::confirm::{self, Answer, Channel};
use crate::state::ApprovalId;
use crate::state::approvals::call_hash;
use crate::tools::{self, ToolCtx, ToolDef, ToolOutput};

/// Reserved argument: the id of an out-of-band approval a human granted for this very call.
pub const APPROVAL_ARG: &str = "approval_id";

/// The most a human is asked to read before approving, in characters. A call whose
/// description is longer is refused, never shown cut short.
pub const MAX_SHOWN: usize = 8 * 1024;

/// Joins the sealed confirmation and the sealed guest facts in one `requestState` (neither
/// contains it: both are dot-separated base64url).
const FACTS_SEP: char = '~';

/// Who made a call and how it reached us.
#[derive(Debug, Clone)]
pub struct Origin {
    pub transport: Transport,
    pub client: Client,
    /// Set only by a server behind the HTTP bridge, from the bridge's caller field.
    pub http_client: Option<HttpClient>,
}

impl Origin {
    pub fn cli() -> Self {
        Origin {
            transport: Transport::Cli,
            client: Client {
                name: "proxmox-mcp-cli".into(),
                version: env!("CARGO_PKG_VERSION").into(),
            },
            http_client: None,
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
    ev.http_client = call.origin.http_client.clone();
    ev.arguments = Value::Object(call.args.clone());
    ev.mode = engine.safety().mode().to_string();

    let flow = pipeline(engine, call, &mut ev).await;
    ev.duration_ms = started.elapsed().as_millis() as u64;
    let tool = ev.tool.clone();
    let response = match flow {
        Flow::Ran(mut out) => {
            // Nothing secret reaches the model: stdout and stderr of commands included.
            if let Cow::Owned(text) = redact::redact_str(&out.text) {
                out.text = text;
            }
            out.structured = redact::redact_output(out.structured);
            ev.upid = out.upid.clone();
            ev.result = Some(match (&out.exit_code, &out.upid) {
                (Some(code), _) => format!("exit {code}"),
                (None, Some(upid)) => format!("task {upid}"),
                (None, None) => "ok".into(),
            });
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
    let admitted = match admit(engine, call, ev).await {
        Ok(a) => a,
        Err(flow) => return flow,
    };
    let outcome = match judge(engine, &admitted, ev).await {
        Ok(outcome) => outcome,
        Err(flow) => return flow,
    };
    execute(engine, admitted, outcome, ev).await
}

/// A call that passed admission: known tool, normalised arguments, its cluster, who we are
/// there, and its assessment.
struct Admitted {
    tool: &'static ToolDef,
    /// The arguments the tool runs with (cluster and approval id taken out).
    args: JsonObject,
    /// The arguments as given (cluster kept, approval id taken out): what a yes is bound to.
    given: JsonObject,
    approval_id: Option<String>,
    channel: Channel,
    progress: Progress,
    cancel: CancellationToken,
    cluster: String,
    pve: Pve,
    policy: Policy,
    ctx: AssessCtx,
    assessment: Assessment,
}

/// Look up, normalise, resolve the cluster and who we are on it (before assessing: a call
/// that may change something is judged against the identity read from the cluster), assess.
async fn admit(engine: &Arc<Engine>, call: Call, ev: &mut Event) -> Result<Admitted, Flow> {
    let Call {
        tool: name,
        mut args,
        channel,
        progress,
        cancel,
        ..
    } = call;
    let refused = |e: ToolError| Flow::Stopped(Outcome::Refused, e.to_string());
    // A tool the `[tools]` lists leave out is as unknown as one that does not exist.
    let offered = tools::find(&name).filter(|t| tools::select::enabled(&engine.config().tools, t));
    let Some(tool) = offered else {
        return Err(Flow::Stopped(
            Outcome::Refused,
            format!("unknown tool {name:?}; `proxmox-mcp tools` lists them"),
        ));
    };
    ev.class = tool.class;
    tools::args::normalize(&tool.input_schema, &mut args).map_err(refused)?;
    let approval_id = match args.remove(APPROVAL_ARG) {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => match ApprovalId::parse(&s) {
            Ok(id) => Some(id.to_string()),
            Err(e) => return Err(refused(ToolError::invalid(e.to_string()))),
        },
        Some(other) => {
            return Err(refused(ToolError::invalid(format!(
                "{APPROVAL_ARG} must be a string (got {other})"
            ))));
        }
    };
    ev.arguments = Value::Object(args.clone());
    let given = args.clone();
    let cluster = match args.remove("cluster") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s),
        Some(other) => {
            return Err(refused(ToolError::invalid(format!(
                "cluster must be a string (got {other})"
            ))));
        }
    };
    let (cluster, pve, connected) = match engine.pve(cluster.as_deref()) {
        Ok((name, pve)) => (name, pve, true),
        Err(e) if !tool.needs_cluster => (String::new(), Pve::unavailable(e.to_string()), false),
        Err(e) => return Err(refused(e)),
    };
    // Reads never touch root protection: the configured identity (no IO) assesses them. A tool
    // that may change something is assessed with who we are on the cluster (cached).
    let identity = if connected && tool.needs_identity(&args) {
        engine.identity(&cluster, &pve).await
    } else {
        engine.configured_identity(&cluster)
    };
    let policy = engine.safety().policy(identity);
    let exec = engine
        .config()
        .cluster(Some(&cluster))
        .map(|c| c.exec.clone())
        .unwrap_or_default();
    let ctx = AssessCtx::for_call(
        cluster.clone(),
        policy.identity.clone(),
        policy.mode,
        exec,
        pve.clone(),
        engine.server_files().clone(),
    )
    .with_server_paths(
        engine.config().state_dir.clone(),
        engine.config().source.clone(),
    )
    .with_update(engine.config().update.clone());
    let mut channel = channel;
    if let Channel::Mrtr {
        state: Some(state), ..
    } = &mut channel
        && let Some((main, facts)) = state.split_once(FACTS_SEP)
    {
        // The answering round of an MRTR confirmation: the guests the asking round read.
        let facts = engine
            .safety()
            .open_facts(
                facts,
                tool.name,
                &call_hash(tool.name, &Value::Object(given.clone())),
            )
            .and_then(|v| serde_json::from_value(v).ok());
        if let Some(guests) = facts {
            ctx.seed(guests);
        }
        *state = main.to_string();
    }
    let assessment = tool.assess(ctx.clone(), &args).await.map_err(refused)?;
    ev.class = assessment.request.class;
    ev.target = assessment.target.clone();
    Ok(Admitted {
        tool,
        args,
        given,
        approval_id,
        channel,
        progress,
        cancel,
        cluster,
        pve,
        policy,
        ctx,
        assessment,
    })
}

/// The verdict: the policy over the assessment, then a human's yes when it asks for one.
async fn judge(engine: &Engine, a: &Admitted, ev: &mut Event) -> Result<Outcome, Flow> {
    let refused = |e: ToolError| Flow::Stopped(Outcome::Refused, e.to_string());
    // The guests' protection flags are read before anyone is asked: nobody is asked to
    // approve what would be refused.
    let flags = Flags::Check;
    let decision = gate::decide(&a.policy, &a.assessment, &a.ctx, flags)
        .await
        .map_err(refused)?;
    match decision {
        Decision::Allow => Ok(Outcome::Allowed),
        Decision::Refuse(reason) => {
            ev.reason = reason.clone();
            Err(Flow::Stopped(Outcome::Refused, reason))
        }
        Decision::Confirm(reason) => {
            ev.reason = reason.clone();
            let tool = a.tool;
            let message = ask_text(tool, &a.assessment, &reason, &a.cluster);
            let shown = message.chars().count();
            if shown > MAX_SHOWN {
                let why = format!(
                    "this needs a human's confirmation, but what they would have to read is \
                     {shown} characters long and is only ever shown in full, up to {MAX_SHOWN}. \
                     Split it into smaller calls (for a script: put it in a file on the node \
                     and run that file). Nothing was run."
                );
                ev.reason = why.clone();
                return Err(Flow::Stopped(Outcome::Refused, why));
            }
            // What a human's yes is bound to: the tool, every argument but the approval id, and
            // what the assessment resolved (a tag's guests), so a changed selection needs a new yes.
            let plan = a.assessment.plan.as_ref().map(|p| &p.bound);
            let hash = call_hash(tool.name, &bound(a.given.clone(), plan));
            // What the answering round may reuse instead of reading it again.
            let asking = matches!(a.channel, Channel::Mrtr { state: None, .. });
            let facts = if asking {
                a.ctx.known_guests(&a.assessment.guests)
            } else {
                Vec::new()
            };
            let facts = (!facts.is_empty())
                .then(|| serde_json::to_value(&facts).ok())
                .flatten()
                .and_then(|v| {
                    let args_hash = call_hash(tool.name, &Value::Object(a.given.clone()));
                    engine.safety().seal_facts(tool.name, &args_hash, &v).ok()
                });
            match confirm_call(
                engine,
                tool,
                &hash,
                &bound(args_for_approval(&a.args, &a.cluster), plan),
                a.approval_id.as_deref(),
                a.channel.clone(),
                &message,
                &a.assessment.summary,
                facts,
            )
            .await
            {
                Confirmation::Confirmed(how) => {
                    ev.reason = format!("{reason} Confirmed by a human ({how}).");
                    Ok(Outcome::Confirmed)
                }
                Confirmation::Stop(outcome, why) => Err(Flow::Stopped(outcome, why)),
                Confirmation::Ask(input) => Err(Flow::Ask(input)),
            }
        }
    }
}

/// Runs an allowed or confirmed call: the guests' protection checked in full, its start on
/// disk, then the handler (cancellable).
async fn execute(engine: &Arc<Engine>, a: Admitted, outcome: Outcome, ev: &mut Event) -> Flow {
    let Admitted {
        tool,
        args,
        progress,
        cancel,
        cluster,
        pve,
        policy,
        ctx,
        assessment,
        ..
    } = a;
    if assessment.request.may_destroy && !assessment.guests.is_empty() {
        // The flags a first round left for later (read once per call: no cost otherwise).
        match gate::decide(&policy, &assessment, &ctx, Flags::Check).await {
            Ok(Decision::Refuse(reason)) => {
                ev.reason = reason.clone();
                return Flow::Stopped(Outcome::Refused, reason);
            }
            Ok(_) => {}
            Err(e) => return Flow::Stopped(Outcome::Refused, e.to_string()),
        }
    }
    let class = assessment.request.class;
    if class.is_mutation() {
        // Fail closed: nothing changes unless its start is on disk.
        let mut intent = ev.clone();
        intent.decision = outcome;
        intent.result = Some("started".into());
        let written = engine
            .safety()
            .audit()
            .and_then(|log| log.append(&intent).map_err(|e| e.to_string()));
        if let Err(e) = written {
            return Flow::Stopped(
                Outcome::Failed,
                format!("not run: the audit record could not be written ({e})"),
            );
        }
    }
    let changes_access = assessment.requests.iter().any(|r| {
        r.method.is_write()
            && crate::policy::api::segments(&r.path)
                .first()
                .is_some_and(|s| s.eq_ignore_ascii_case("access"))
    });
    let tool_ctx = ToolCtx {
        cluster: cluster.clone(),
        pve,
        progress,
        cancel: cancel.clone(),
        engine: engine.clone(),
        mode: policy.mode,
        identity: policy.identity.clone(),
        plan: assessment.plan.clone(),
        client: ev.client.clone(),
        transport: ev.transport,
    };
    let ran = tokio::select! {
        out = tool.run(tool_ctx, args) => out,
        () = cancel.cancelled() => Err(ToolError::Cancelled),
    };
    if changes_access {
        // Our own groups or roles may have changed: read them anew next time.
        engine.forget_access(&cluster);
    }
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
    facts: Option<String>,
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
                Ok(mut sealed) => {
                    if let Some(f) = facts {
                        sealed.push(FACTS_SEP);
                        sealed.push_str(&f);
                    }
                    Confirmation::Ask(confirm::input_required(message, sealed))
                }
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
