//! The one tool registry: each tool declares its name, class, hints, PVE endpoints and handler here.
//!
//! Families live in their own files ([`cluster`], [`inventory`], [`guest`], [`tasks`],
//! [`raw_api`]); this module holds the
//! declarations, the typed-handler adapter and the shared context a handler runs with.

pub mod args;
pub mod cluster;
pub mod guest;
pub mod inventory;
pub mod raw_api;
pub mod render;
pub mod schema;
pub mod tasks;

use std::future::Future;
use std::sync::{Arc, LazyLock};

use futures::future::BoxFuture;
use rmcp::model::JsonObject;
use schemars::JsonSchema;
use serde::Serialize;
use serde::de::DeserializeOwned;
use tokio_util::sync::CancellationToken;

use crate::engine::Progress;
use crate::policy::Class;
use crate::pve::{Pve, PveError};

/// What a handler gets: the resolved cluster client, progress reporting and cancellation.
#[derive(Clone)]
pub struct ToolCtx {
    /// Name of the cluster this call targets.
    pub cluster: String,
    pub pve: Pve,
    pub progress: Progress,
    pub cancel: CancellationToken,
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
        }
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
    tools.extend(raw_api::tools());
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
            assert!(!t.endpoints.is_empty(), "{} declares no endpoints", t.name);
            if t.class == Class::Read {
                assert!(t.hints.read_only && !t.hints.destructive, "{}", t.name);
            }
        }
    }
}
