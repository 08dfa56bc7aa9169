//! The rmcp `ServerHandler`: protocol in, [`crate::dispatch`] for every tool call. It decides how
//! a human can be asked (MRTR, elicitation or approval ids) from the client's protocol revision
//! and capabilities, and hides write tools from `tools/list` in read-only mode.

pub mod prompts;
pub mod resources;
pub mod stdio;

use std::sync::{Arc, LazyLock};

use proxmox_mcp_contract::bridge::{CALLER_META_KEY, READY_METHOD, Readiness};
use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CustomRequest, CustomResult, ErrorCode, ErrorData,
    GetPromptRequestParams, GetPromptResponse, Implementation, ListPromptsResult,
    ListResourcesResult, ListToolsResult, PaginatedRequestParams, ReadResourceRequestParams,
    ReadResourceResponse, ServerCapabilities, ServerConfig, Tool,
};
// Logging is deprecated from 2026-07-28 on, but 2025-11-25 clients still set a level.
#[allow(deprecated)]
use rmcp::model::SetLevelRequestParams;
use rmcp::service::{RequestContext, RoleServer};
use rmcp::transport::IntoTransport;
use rmcp::{ServerHandler, ServiceExt};
use tokio_util::sync::CancellationToken;

use crate::audit::{Client, HttpClient, Transport};
use crate::dispatch::{Call, Origin, dispatch};
use crate::engine::{Engine, Progress};
use crate::policy::mode::Mode;
use crate::safety::confirm::Channel;
use crate::tools;

/// Orientation for an assistant, sent as the server's `instructions`.
pub const INSTRUCTIONS: &str = "Proxmox VE cluster tools. Start with get_system_info (cluster, \
quorum, versions, totals), then list_vms / list_containers (one cheap call for the whole \
cluster; filter by node, status, name, tag, pool) and node_status; vm_status shows one guest in \
depth. Guests are addressed by vmid alone: the node is resolved for you. Changes go through \
vm_action, container_action, storage_operations, network_config, user_management and \
cluster_management; execute_command / execute_vm_command run shell commands on a node or in a \
guest; proxmox_api is a raw call (any method) for what they lack. Every call is judged by one \
policy whichever tool sends it: the mode (read-only, safe, normal; toggle_mode) decides what \
runs, what needs a human's approval (you get a form, an input request, or an approval id for \
the operator) and what is refused. root@pam, this server's own user, token, groups, roles and \
files, and node removal are never changed; protected guests refuse destructive actions; \
explain_command says beforehand how a command or API call will be judged. Long actions return \
a UPID; task_status follows it. Every tool takes an optional `cluster` when several are \
configured.";

/// The MCP face of the engine.
#[derive(Clone)]
pub struct McpServer {
    engine: Arc<Engine>,
    transport: Transport,
    /// Started by the HTTP bridge: trust the caller field it sets on every request.
    behind_bridge: bool,
}

impl McpServer {
    pub fn new(engine: Arc<Engine>) -> Self {
        McpServer {
            engine,
            transport: Transport::Stdio,
            behind_bridge: false,
        }
    }

    /// Serve the HTTP bridge: calls are audited as HTTP, with the caller the bridge names in
    /// [`CALLER_META_KEY`] (the bridge is our only client and strips that field from what its
    /// own clients send). Without this, the field is never read.
    pub fn behind_bridge(mut self) -> Self {
        self.transport = Transport::Http;
        self.behind_bridge = true;
        self
    }

    /// Serve MCP over `transport` until the client goes away or `shutdown` is cancelled.
    pub async fn run<T, E, A>(self, transport: T, shutdown: CancellationToken) -> anyhow::Result<()>
    where
        T: IntoTransport<RoleServer, E, A>,
        E: std::error::Error + Send + Sync + 'static,
    {
        let service = self.serve(transport).await?;
        let stop = service.cancellation_token();
        let watcher = tokio::spawn(async move {
            shutdown.cancelled().await;
            stop.cancel();
        });
        let quit = service.waiting().await;
        watcher.abort();
        quit?;
        Ok(())
    }

    /// The caller the bridge named, when we serve the bridge; `None` otherwise (a stdio client
    /// cannot name one). A bridge request without it is a fault between bridge and engine.
    fn http_client(
        &self,
        context: &RequestContext<RoleServer>,
    ) -> Result<Option<HttpClient>, ErrorData> {
        if !self.behind_bridge {
            return Ok(None);
        }
        let field = context.meta.get(CALLER_META_KEY).cloned();
        match field.map(serde_json::from_value::<HttpClient>) {
            Some(Ok(caller)) if !caller.token.is_empty() => Ok(Some(caller)),
            _ => Err(ErrorData::invalid_request(
                format!("the bridge did not name the caller ({CALLER_META_KEY})"),
                None,
            )),
        }
    }

    /// Who makes this request and how it reached us (for requests other than tool calls,
    /// which build theirs in `call_tool`).
    fn origin(&self, context: &RequestContext<RoleServer>) -> Result<Origin, ErrorData> {
        let http_client = self.http_client(context)?;
        let client = match &http_client {
            Some(h) => Client {
                name: h.client_name.clone().unwrap_or_default(),
                version: h.client_version.clone().unwrap_or_default(),
            },
            None => client_of(context),
        };
        Ok(Origin {
            transport: self.transport,
            client,
            http_client,
        })
    }

    /// Whether every configured cluster answers `GET /version` (the bridge's `/readyz`).
    async fn readiness(&self) -> Readiness {
        let clusters: Vec<String> = self
            .engine
            .config()
            .clusters
            .iter()
            .map(|c| c.name.clone())
            .collect();
        let mut out = Readiness {
            ready: !clusters.is_empty(),
            clusters: Vec::new(),
        };
        if clusters.is_empty() {
            out.clusters.push("no Proxmox cluster configured".into());
        }
        for name in clusters {
            let line = match self.engine.pve(Some(&name)) {
                Err(e) => format!("{name}: {e}"),
                Ok((_, pve)) => match tokio::time::timeout(READY_TIMEOUT, pve.version()).await {
                    Ok(Ok(v)) => format!("{name}: PVE {}", v.version),
                    Ok(Err(e)) => format!("{name}: unreachable ({e})"),
                    Err(_) => format!("{name}: unreachable (no answer in {READY_TIMEOUT:?})"),
                },
            };
            if !line.contains(": PVE ") {
                out.ready = false;
            }
            out.clusters.push(line);
        }
        out
    }
}

/// How long a readiness probe waits for each cluster.
const READY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

static TOOL_LIST: LazyLock<Vec<Tool>> = LazyLock::new(|| list_for(Mode::Normal));
static READ_ONLY_LIST: LazyLock<Vec<Tool>> = LazyLock::new(|| list_for(Mode::ReadOnly));

fn list_for(mode: Mode) -> Vec<Tool> {
    tools::registry()
        .iter()
        .filter(|t| t.visible_in(mode))
        .map(|t| t.to_mcp_in(mode))
        .collect()
}

/// The `tools/list` payload in `mode`: read-only hides the write tools and offers action
/// tools with their read actions only.
pub fn tool_list(mode: Mode) -> Vec<Tool> {
    match mode {
        Mode::ReadOnly => READ_ONLY_LIST.clone(),
        _ => TOOL_LIST.clone(),
    }
}

impl ServerHandler for McpServer {
    #[allow(deprecated)] // enable_logging: for 2025-11-25 clients
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(
            ServerCapabilities::builder()
                .enable_prompts()
                .enable_resources()
                .enable_tools()
                .enable_tool_list_changed()
                .enable_logging()
                .build(),
        )
        .with_server_info(
            Implementation::new("proxmox-mcp", env!("CARGO_PKG_VERSION")).with_title("Proxmox VE"),
        )
        .with_instructions(INSTRUCTIONS)
    }

    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, ErrorData> {
        let selected = &self.engine.config().tools;
        let mut list = tool_list(self.engine.safety().mode());
        list.retain(|t| tools::select::offered(selected, &t.name));
        Ok(ListToolsResult::with_all_items(list))
    }

    fn get_tool(&self, name: &str) -> Option<Tool> {
        tools::find(name)
            .filter(|t| tools::select::enabled(&self.engine.config().tools, t))
            .map(|t| t.to_mcp())
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, ErrorData> {
        if !tools::select::offered(&self.engine.config().tools, &request.name) {
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
        let modern = context
            .protocol_version()
            .is_some_and(|v| !v.has_initialize());
        let can_elicit = context
            .client_capabilities()
            .is_some_and(|c| c.elicitation.is_some());
        let channel = match (modern, can_elicit) {
            (true, true) => Channel::Mrtr {
                responses: request.input_responses.clone(),
                state: request.request_state.clone(),
            },
            (false, true) => Channel::Elicit(context.peer.clone()),
            (_, false) => Channel::OutOfBand,
        };
        let http_client = self.http_client(&context)?;
        // Behind the bridge our peer is the bridge: the MCP client is the one it names.
        let client = match &http_client {
            Some(h) => Client {
                name: h.client_name.clone().unwrap_or_default(),
                version: h.client_version.clone().unwrap_or_default(),
            },
            None => client_of(&context),
        };
        let call = Call {
            tool: request.name.to_string(),
            args: request.arguments.unwrap_or_default(),
            origin: Origin {
                transport: self.transport,
                client,
                http_client,
            },
            channel,
            progress,
            cancel: context.ct.clone(),
        };
        let mode_before = self.engine.safety().mode();
        let response = dispatch(&self.engine, call).await;
        // The tool list depends on the mode: tell a client with a session to list again.
        if !modern
            && self.engine.safety().mode() != mode_before
            && let Err(e) = context.peer.notify_tool_list_changed().await
        {
            tracing::debug!("tools/list_changed not delivered: {e}");
        }
        Ok(response)
    }

    async fn list_resources(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListResourcesResult, ErrorData> {
        Ok(ListResourcesResult::with_all_items(resources::list()))
    }

    async fn read_resource(
        &self,
        request: ReadResourceRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<ReadResourceResponse, ErrorData> {
        let origin = self.origin(&context)?;
        resources::read(&self.engine, &request.uri, origin)
            .await
            .map(Into::into)
    }

    async fn list_prompts(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListPromptsResult, ErrorData> {
        Ok(ListPromptsResult::with_all_items(prompts::list()))
    }

    async fn get_prompt(
        &self,
        request: GetPromptRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<GetPromptResponse, ErrorData> {
        prompts::get(&request.name, request.arguments.as_ref()).map(Into::into)
    }

    /// Accepted so clients that set a level work; the log itself goes to stderr (and no
    /// `notifications/message` is sent: 2026-07-28 clients must opt in per request).
    #[allow(deprecated)]
    async fn set_level(
        &self,
        _request: SetLevelRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<(), ErrorData> {
        Ok(())
    }

    async fn on_custom_request(
        &self,
        request: CustomRequest,
        _context: RequestContext<RoleServer>,
    ) -> Result<CustomResult, ErrorData> {
        if self.behind_bridge && request.method == READY_METHOD {
            let ready = self.readiness().await;
            return serde_json::to_value(ready)
                .map(CustomResult::new)
                .map_err(|e| ErrorData::internal_error(e.to_string(), None));
        }
        Err(ErrorData::new(
            ErrorCode::METHOD_NOT_FOUND,
            request.method,
            None,
        ))
    }
}

/// The client's name and version: per request on 2026-07-28, from `initialize` before.
fn client_of(context: &RequestContext<RoleServer>) -> Client {
    let info = context
        .client_info()
        .or_else(|| context.peer.peer_info().map(|p| p.client_info.clone()));
    match info {
        Some(i) => Client {
            name: i.name,
            version: i.version,
        },
        None => Client::default(),
    }
}
