//! The rmcp `ServerHandler` and the dispatch pipeline every tool call goes through:
//! look up → normalise arguments → resolve the cluster → run (cancellable) → map to an MCP result.

use std::sync::{Arc, LazyLock};
use std::time::Instant;

use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CallToolResult, ContentBlock, ErrorData,
    Implementation, JsonObject, ListToolsResult, PaginatedRequestParams, ServerCapabilities,
    ServerConfig, Tool,
};
use rmcp::service::{RequestContext, RoleServer};
use rmcp::{ServerHandler, ServiceExt};
use tokio_util::sync::CancellationToken;

use crate::engine::{Engine, Progress};
use crate::tools::{self, ToolCtx, ToolError};

/// Orientation for an assistant, sent as the server's `instructions`.
pub const INSTRUCTIONS: &str = "Proxmox VE cluster tools. Start with get_system_info (cluster, \
quorum, versions, totals), then list_vms / list_containers (one cheap call for the whole \
cluster; filter by node, status, name, tag, pool) and node_status. Guests are addressed by vmid \
alone: the node is resolved for you. vm_status shows one guest in depth. Long actions return a \
UPID; task_status follows it (wait up to N seconds). proxmox_api is a raw read-only GET for \
anything else. Every tool takes an optional `cluster` when several are configured.";

/// The MCP face of the engine.
#[derive(Clone)]
pub struct McpServer {
    engine: Arc<Engine>,
}

impl McpServer {
    pub fn new(engine: Arc<Engine>) -> Self {
        McpServer { engine }
    }

    /// Serve MCP over stdin/stdout until the client goes away.
    pub async fn serve_stdio(self) -> anyhow::Result<()> {
        let service = self.serve(rmcp::transport::stdio()).await?;
        service.waiting().await?;
        Ok(())
    }
}

static TOOL_LIST: LazyLock<Vec<Tool>> =
    LazyLock::new(|| tools::registry().iter().map(|t| t.to_mcp()).collect());

/// The `tools/list` payload.
pub fn tool_list() -> Vec<Tool> {
    TOOL_LIST.clone()
}

impl ServerHandler for McpServer {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().build())
            .with_server_info(
                Implementation::new("proxmox-mcp", env!("CARGO_PKG_VERSION"))
                    .with_title("Proxmox VE"),
            )
            .with_instructions(INSTRUCTIONS)
    }

    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, ErrorData> {
        Ok(ListToolsResult::with_all_items(tool_list()))
    }

    fn get_tool(&self, name: &str) -> Option<Tool> {
        tools::find(name).map(|t| t.to_mcp())
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, ErrorData> {
        if tools::find(&request.name).is_none() {
            return Err(ErrorData::invalid_params(
                format!("tool not found: {}", request.name),
                None,
            ));
        }
        let progress = match context.meta.get_progress_token() {
            Some(token) => Progress::Mcp {
                peer: context.peer.clone(),
                token,
            },
            None => Progress::None,
        };
        let result = dispatch(
            &self.engine,
            &request.name,
            request.arguments,
            progress,
            context.ct.clone(),
        )
        .await;
        Ok(result.into())
    }
}

/// Run one tool call end to end. Unknown tools come back as an `isError` result here; the MCP
/// handler turns them into a protocol error before calling this.
pub async fn dispatch(
    engine: &Engine,
    name: &str,
    args: Option<JsonObject>,
    progress: Progress,
    cancel: CancellationToken,
) -> CallToolResult {
    let started = Instant::now();
    let outcome = run(engine, name, args.unwrap_or_default(), progress, cancel).await;
    let elapsed = started.elapsed();
    match outcome {
        Ok(out) => {
            tracing::debug!(tool = name, ms = elapsed.as_millis() as u64, "ok");
            let mut result = CallToolResult::success(vec![ContentBlock::text(out.text)]);
            result.structured_content = Some(out.structured);
            result
        }
        Err(err) => {
            tracing::info!(
                tool = name,
                ms = elapsed.as_millis() as u64,
                "failed: {err}"
            );
            CallToolResult::error(vec![ContentBlock::text(format!("{name}: {err}"))])
        }
    }
}

async fn run(
    engine: &Engine,
    name: &str,
    mut args: JsonObject,
    progress: Progress,
    cancel: CancellationToken,
) -> Result<tools::ToolOutput, ToolError> {
    let tool = tools::find(name).ok_or_else(|| {
        ToolError::invalid(format!(
            "unknown tool {name:?}; `proxmox-mcp tools` lists them"
        ))
    })?;
    tools::args::normalize(&tool.input_schema, &mut args)?;
    let cluster = match args.remove("cluster") {
        None | Some(serde_json::Value::Null) => None,
        Some(serde_json::Value::String(s)) => Some(s),
        Some(other) => {
            return Err(ToolError::invalid(format!(
                "cluster must be a string (got {other})"
            )));
        }
    };
    let (cluster, pve) = engine.pve(cluster.as_deref())?;
    let ctx = ToolCtx {
        cluster,
        pve,
        progress,
        cancel: cancel.clone(),
    };
    tokio::select! {
        out = tool.run(ctx, args) => out,
        () = cancel.cancelled() => Err(ToolError::Cancelled),
    }
}
