//! What a tool is made of: its declaration ([`ToolDef`]: name, class, hints, PVE endpoints,
//! schemas, handler, assessor), the typed-handler adapter, the context a handler runs with
//! ([`ToolCtx`]) and the output it returns ([`ToolOutput`], [`Render`]).

use std::future::Future;
use std::sync::Arc;

use futures::future::BoxFuture;
use rmcp::model::JsonObject;
use schemars::JsonSchema;
use serde::Serialize;
use serde::de::DeserializeOwned;
use tokio_util::sync::CancellationToken;

use crate::error::ToolError;
use crate::gate::{AssessCtx, Assessment};
use crate::policy::Class;
use crate::policy::engine::Request;
use crate::policy::mode::Mode;
use crate::policy::protect::Identity;
use crate::progress::Progress;

use super::{args, schema};
use crate::pve::Pve;

/// What a handler gets: the resolved cluster client, progress reporting and cancellation.
#[derive(Clone)]
pub struct ToolCtx {
    /// Name of the cluster this call targets.
    pub cluster: String,
    pub pve: Pve,
    pub progress: Progress,
    pub cancel: CancellationToken,
    /// The engine, for tools about the server itself (mode, audit, executors).
    pub engine: Arc<crate::engine::Engine>,
    /// The mode this call was decided in.
    pub mode: Mode,
    /// Who the server is on this cluster.
    pub identity: Identity,
    /// What the assessment resolved for this call ([`Assessment::plan`]).
    pub plan: Option<crate::gate::Plan>,
    /// The MCP client that made the call, and how it reached us.
    pub client: crate::audit::Client,
    pub transport: crate::audit::Transport,
}

impl ToolCtx {
    /// The plan this call's assessment made, as the type it was made as.
    pub fn plan<T: 'static>(&self) -> Result<&T, ToolError> {
        self.plan
            .as_ref()
            .and_then(|p| p.typed.downcast_ref::<T>())
            .ok_or_else(|| {
                ToolError::Config("no plan from the assessment; nothing was done".into())
            })
    }
}

/// A successful result: machine-readable structure plus the short text the model reads.
#[derive(Debug, Clone)]
pub struct ToolOutput {
    pub structured: serde_json::Value,
    pub text: String,
    /// The task this call started, for the audit log.
    pub upid: Option<String>,
    /// The exit code of the command this call ran, for the audit log.
    pub exit_code: Option<i32>,
}

/// Output types render themselves as compact text for the model.
pub trait Render: Serialize {
    fn render(&self) -> String;

    /// The task this result says the call started (`UPID:…`).
    fn started_task(&self) -> Option<String> {
        None
    }

    /// The exit code of the command this result says the call ran.
    fn exit_code(&self) -> Option<i32> {
        None
    }

    /// The `structuredContent` value. Large outputs override this to move their data into
    /// the value instead of copying it.
    fn into_structured(self) -> serde_json::Result<serde_json::Value>
    where
        Self: Sized,
    {
        serde_json::to_value(&self)
    }
}

/// Hints published as MCP tool annotations.
#[derive(Debug, Clone, Copy)]
pub struct Hints {
    pub read_only: bool,
    pub destructive: bool,
    pub idempotent: bool,
    pub open_world: bool,
}

impl Hints {
    /// A pure read of the cluster: safe to repeat, changes nothing.
    pub const READ: Hints = Hints {
        read_only: true,
        destructive: false,
        idempotent: true,
        open_world: false,
    };
}

type Assessor = Arc<
    dyn Fn(AssessCtx, JsonObject) -> BoxFuture<'static, Result<Assessment, ToolError>>
        + Send
        + Sync,
>;

type Handler = Arc<
    dyn Fn(ToolCtx, JsonObject) -> BoxFuture<'static, Result<ToolOutput, ToolError>> + Send + Sync,
>;

/// One tool: everything the server, the CLI and the tests need to know about it.
pub struct ToolDef {
    pub name: &'static str,
    pub title: &'static str,
    pub description: &'static str,
    pub class: Class,
    pub hints: Hints,
    /// The PVE endpoints it may call, `"GET /cluster/resources"`, checked against the API schema.
    pub endpoints: &'static [&'static str],
    pub input_schema: Arc<JsonObject>,
    pub output_schema: Arc<JsonObject>,
    handler: Handler,
    assessor: Option<Assessor>,
    /// False for tools about the server itself, which work without a configured cluster.
    pub needs_cluster: bool,
    /// Whether a call may touch who we are (root protection judges it against our node,
    /// groups and roles, read from the cluster first); `None`: whenever the tool may change
    /// anything.
    identity_when: Option<fn(&JsonObject) -> bool>,
    /// For action-style tools: the actions that only read. In read-only mode `tools/list`
    /// offers the tool with just these actions.
    pub read_actions: &'static [&'static str],
    /// The family it belongs to ([`super::GROUPS`]): what `help_llm` sorts by and what the
    /// `[tools]` allow and deny lists may name. Default `server`.
    pub group: &'static str,
}

impl ToolDef {
    /// Declare a tool from a typed async handler; schemas are derived from its types.
    pub fn new<P, O, F, Fut>(
        name: &'static str,
        title: &'static str,
        description: &'static str,
        class: Class,
        hints: Hints,
        endpoints: &'static [&'static str],
        f: F,
    ) -> Self
    where
        P: DeserializeOwned + JsonSchema + Send + 'static,
        O: Serialize + JsonSchema + Render + 'static,
        F: Fn(ToolCtx, P) -> Fut + Send + Sync + Copy + 'static,
        Fut: Future<Output = Result<O, ToolError>> + Send + 'static,
    {
        let input_schema = Arc::new(schema::input::<P>());
        let output_schema = Arc::new(schema::output::<O>());
        let handler: Handler = Arc::new(move |ctx, args| {
            Box::pin(async move {
                let params: P = args::parse(args)?;
                let out = f(ctx, params).await?;
                let text = out.render();
                let (upid, exit_code) = (out.started_task(), out.exit_code());
                let structured = out
                    .into_structured()
                    .map_err(|e| ToolError::Config(format!("cannot encode the result: {e}")))?;
                Ok(ToolOutput {
                    structured,
                    text,
                    upid,
                    exit_code,
                })
            })
        });
        ToolDef {
            name,
            title,
            description,
            class,
            hints,
            endpoints,
            input_schema,
            output_schema,
            handler,
            assessor: None,
            identity_when: None,
            needs_cluster: true,
            read_actions: &[],
            group: "server",
        }
    }

    /// An action-style tool whose `action` enum includes these read-only actions.
    pub fn read_actions(mut self, actions: &'static [&'static str]) -> Self {
        self.read_actions = actions;
        self
    }

    /// Put this tool in `group` (one of [`super::GROUPS`]).
    pub fn in_group(mut self, group: &'static str) -> Self {
        self.group = group;
        self
    }

    /// This tool does not talk to Proxmox (mode, history, explanations).
    pub fn local(mut self) -> Self {
        self.needs_cluster = false;
        self
    }

    /// Declare that this tool's class depends on its arguments: `f` assesses each call from its
    /// typed parameters (parsed the same way the handler parses them).
    pub fn assessed_by<P>(mut self, f: fn(&AssessCtx, P) -> Result<Assessment, ToolError>) -> Self
    where
        P: DeserializeOwned + Send + 'static,
    {
        self.assessor = Some(Arc::new(move |ctx, args| {
            Box::pin(async move { f(&ctx, args::parse(args)?) })
        }));
        self
    }

    /// Like [`ToolDef::assessed_by`], for assessments that read the cluster (resolving a tag or
    /// pool selector into the guests a human is asked about).
    pub fn assessed_async_by<P, Fut>(mut self, f: fn(AssessCtx, P) -> Fut) -> Self
    where
        P: DeserializeOwned + Send + 'static,
        Fut: Future<Output = Result<Assessment, ToolError>> + Send + 'static,
    {
        self.assessor = Some(Arc::new(move |ctx, args| {
            Box::pin(async move { f(ctx, args::parse(args)?).await })
        }));
        self
    }

    /// Only calls for which `f` holds are judged against who we are on the cluster (the
    /// rest never reach root protection, so they need no lookup).
    pub fn identity_when(mut self, f: fn(&JsonObject) -> bool) -> Self {
        self.identity_when = Some(f);
        self
    }

    /// Whether this call is judged against who we are on the cluster (read before assessing).
    pub fn needs_identity(&self, args: &JsonObject) -> bool {
        match self.identity_when {
            Some(f) => f(args),
            None => self.class.is_mutation(),
        }
    }

    /// True when the class comes from the arguments, not from the declaration.
    pub fn is_dynamic(&self) -> bool {
        self.assessor.is_some()
    }

    /// Whether `tools/list` shows this tool in `mode`: read-only hides the write tools (an
    /// action tool with read actions stays, offering only those).
    pub fn visible_in(&self, mode: Mode) -> bool {
        mode != Mode::ReadOnly
            || !self.class.is_mutation()
            || !self.read_actions.is_empty()
            || (self.is_dynamic() && !self.has_actions())
    }

    fn has_actions(&self) -> bool {
        self.input_schema
            .get("properties")
            .and_then(|p| p.get("action"))
            .is_some()
    }

    /// The MCP description of this tool as `tools/list` shows it in `mode`.
    pub fn to_mcp_in(&self, mode: Mode) -> rmcp::model::Tool {
        let tool = self.to_mcp();
        if mode != Mode::ReadOnly || self.read_actions.is_empty() {
            return tool;
        }
        let mut input = (*self.input_schema).clone();
        if let Some(action) = input
            .get_mut("properties")
            .and_then(|p| p.get_mut("action"))
            .and_then(|a| a.as_object_mut())
        {
            action.insert("enum".into(), serde_json::json!(self.read_actions));
        }
        let annotations = rmcp::model::ToolAnnotations::from_raw(
            None,
            Some(true),
            Some(false),
            Some(true),
            Some(self.hints.open_world),
        );
        let mut tool = tool.with_annotations(annotations);
        tool.input_schema = Arc::new(input);
        tool
    }

    /// The policy's view of one call with already-normalised arguments.
    pub async fn assess(&self, ctx: AssessCtx, args: &JsonObject) -> Result<Assessment, ToolError> {
        if let Some(f) = &self.assessor {
            return f(ctx, args.clone()).await;
        }
        let guests = args
            .get("vmid")
            .and_then(|v| v.as_u64().or_else(|| v.as_str()?.parse().ok()))
            .and_then(|v| u32::try_from(v).ok());
        let shown = crate::audit::redact::redact_value(&serde_json::Value::Object(args.clone()));
        // Shown whole: what is too long to read is refused by the dispatcher, never cut.
        let summary = format!("{} {shown}", self.name);
        let mut a = Assessment::new(Request::new(self.class), summary).guests(guests);
        a.target = guests.map(|v| format!("guest {v}"));
        Ok(a)
    }

    /// Run the handler on already-normalised arguments.
    pub fn run(
        &self,
        ctx: ToolCtx,
        args: JsonObject,
    ) -> BoxFuture<'static, Result<ToolOutput, ToolError>> {
        (self.handler)(ctx, args)
    }

    /// The MCP description of this tool.
    pub fn to_mcp(&self) -> rmcp::model::Tool {
        let h = self.hints;
        let annotations = rmcp::model::ToolAnnotations::from_raw(
            None,
            Some(h.read_only),
            Some(h.destructive),
            Some(h.idempotent),
            Some(h.open_world),
        );
        rmcp::model::Tool::new(self.name, self.description, self.input_schema.clone())
            .with_title(self.title)
            .with_raw_output_schema(self.output_schema.clone())
            .with_annotations(annotations)
    }
}
