//! The one tool registry: each tool declares its name, class, hints, PVE endpoints and handler here.
//!
//! Families live in their own files ([`cluster`], [`inventory`], [`guest`], [`tasks`],
//! [`raw_api`], [`exec`], [`explain`], [`mode`], [`history`]); this module holds the
//! declarations, the typed-handler adapter and the shared context a handler runs with.

pub mod action;
pub mod args;
pub mod cluster;
pub mod cluster_mgmt;
pub mod exec;
pub mod explain;
pub mod guest;
pub mod guest_action;
pub mod history;
pub mod inventory;
pub mod mode;
pub mod network;
pub mod raw_api;
pub mod render;
pub mod schema;
pub mod storage;
pub mod task_list;
pub mod tasks;
pub mod users;

use std::future::Future;
use std::sync::{Arc, LazyLock};

use futures::future::BoxFuture;
use rmcp::model::JsonObject;
use schemars::JsonSchema;
use serde::Serialize;
use serde::de::DeserializeOwned;
use tokio_util::sync::CancellationToken;

use crate::config::ExecConfig;
use crate::engine::Progress;
use crate::policy::Class;
use crate::policy::decision::Decision;
use crate::policy::engine::Request;
use crate::policy::mode::Mode;
use crate::policy::protect::Identity;
use crate::pve::{Pve, PveError};

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
    pub plan: Option<serde_json::Value>,
}

/// A tool failure the model can act on (becomes an `isError` result).
#[derive(Debug, thiserror::Error)]
pub enum ToolError {
    #[error("invalid arguments: {0}")]
    InvalidArgs(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Refused(String),
    #[error("{0}")]
    Pve(#[from] PveError),
    #[error("{0}")]
    Config(String),
    #[error("cancelled by the client")]
    Cancelled,
}

impl ToolError {
    pub fn invalid(msg: impl Into<String>) -> Self {
        ToolError::InvalidArgs(msg.into())
    }
}

/// A successful result: machine-readable structure plus the short text the model reads.
#[derive(Debug, Clone)]
pub struct ToolOutput {
    pub structured: serde_json::Value,
    pub text: String,
}

/// Output types render themselves as compact text for the model.
pub trait Render: Serialize {
    fn render(&self) -> String;

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

/// What the policy engine needs to know about one call before it runs. Tools with a fixed class
/// get [`ToolDef::assess`]'s default; tools whose danger depends on their arguments
/// (`proxmox_api`, `execute_command`, `toggle_mode`) declare their own with [`ToolDef::assessed_by`].
#[derive(Debug, Clone)]
pub struct Assessment {
    /// Class and root-protection hits; the gate fills in the target guest.
    pub request: Request,
    /// Guests the call acts on: their tags and PVE `protection` flag are looked up for
    /// destructive calls.
    pub guests: Vec<u32>,
    /// One line a human reads before approving: what exactly will happen.
    pub summary: String,
    /// What the call acts on, for the audit log: `qemu/100`, `node pve1`, `POST /nodes/…`.
    pub target: Option<String>,
    /// A tool's own decision, replacing the mode table (root protection still comes first):
    /// `toggle_mode` always asks before making the server less safe.
    pub decision: Option<Decision>,
    /// What the assessment resolved (e.g. the guests a tag selector matched), handed to the
    /// handler as [`ToolCtx::plan`] so it acts on exactly what the human approved.
    pub plan: Option<serde_json::Value>,
}

impl Assessment {
    pub fn new(request: Request, summary: impl Into<String>) -> Self {
        Assessment {
            request,
            guests: Vec::new(),
            summary: summary.into(),
            target: None,
            decision: None,
            plan: None,
        }
    }

    pub fn target(mut self, target: impl Into<String>) -> Self {
        self.target = Some(target.into());
        self
    }

    pub fn guests(mut self, vmids: impl IntoIterator<Item = u32>) -> Self {
        self.guests.extend(vmids);
        self
    }
}

/// What an assessor may consult: who we are, the mode, how commands would run, and (for
/// assessors that resolve targets) the cluster.
#[derive(Clone)]
pub struct AssessCtx {
    pub cluster: String,
    pub identity: Identity,
    pub mode: Mode,
    pub exec: ExecConfig,
    pub pve: Pve,
    /// The server's own files, out of every command's reach.
    pub server: Arc<crate::policy::command::ServerFiles>,
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
    /// For action-style tools: the actions that only read. In read-only mode `tools/list`
    /// offers the tool with just these actions.
    pub read_actions: &'static [&'static str],
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
                let structured = out
                    .into_structured()
                    .map_err(|e| ToolError::Config(format!("cannot encode the result: {e}")))?;
                Ok(ToolOutput { structured, text })
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
            needs_cluster: true,
            read_actions: &[],
        }
    }

    /// An action-style tool whose `action` enum includes these read-only actions.
    pub fn read_actions(mut self, actions: &'static [&'static str]) -> Self {
        self.read_actions = actions;
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
        let summary = render::clip(&format!("{} {shown}", self.name), 300);
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

static REGISTRY: LazyLock<Vec<ToolDef>> = LazyLock::new(|| {
    let mut tools = Vec::new();
    tools.extend(cluster::tools());
    tools.extend(inventory::tools());
    tools.extend(guest::tools());
    tools.extend(tasks::tools());
    tools.extend(task_list::tools());
    tools.extend(guest_action::tools());
    tools.extend(storage::tools());
    tools.extend(network::tools());
    tools.extend(users::tools());
    tools.extend(cluster_mgmt::tools());
    tools.extend(raw_api::tools());
    tools.extend(exec::tools());
    tools.extend(explain::tools());
    tools.extend(mode::tools());
    tools.extend(history::tools());
    tools
});

/// Every tool, in the order `tools/list` shows them.
pub fn registry() -> &'static [ToolDef] {
    &REGISTRY
}

/// Look a tool up by name.
pub fn find(name: &str) -> Option<&'static ToolDef> {
    registry().iter().find(|t| t.name == name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_schemas_are_flat_objects() {
        let mut names: Vec<_> = registry().iter().map(|t| t.name).collect();
        names.sort_unstable();
        let before = names.len();
        names.dedup();
        assert_eq!(before, names.len(), "duplicate tool names");
        for t in registry() {
            assert_eq!(
                t.input_schema.get("type").and_then(|v| v.as_str()),
                Some("object"),
                "{}",
                t.name
            );
            assert!(t.input_schema.contains_key("properties"), "{}", t.name);
            assert!(
                !t.input_schema.contains_key("$defs"),
                "{} input schema must be flat",
                t.name
            );
            assert!(
                t.input_schema["properties"].get("cluster").is_some(),
                "{}",
                t.name
            );
            assert!(
                !t.needs_cluster || !t.endpoints.is_empty(),
                "{} declares no endpoints",
                t.name
            );
            if t.class == Class::Read {
                assert!(t.hints.read_only && !t.hints.destructive, "{}", t.name);
            }
            let actions = t.input_schema["properties"]
                .get("action")
                .and_then(|a| a["enum"].as_array())
                .cloned()
                .unwrap_or_default();
            for ra in t.read_actions {
                assert!(
                    actions.iter().any(|a| a == ra),
                    "{}: read action {ra} is not one of its actions",
                    t.name
                );
            }
        }
    }
}
