//! The MCP face of the bridge: every HTTP client request is forwarded to the one engine child.
//!
//! `tools/call` carries the caller the auth layer established in the
//! [`proxmox_mcp_contract::bridge::CALLER_META_KEY`] field, after dropping
//! whatever `_meta` the client sent. A 2026-07-28 client gets the engine's input requests
//! (confirmations) as they are and retries itself; for a 2025-11-25 client the bridge asks it
//! with `elicitation/create` on the call's own stream and retries for it. Progress is relayed
//! with the client's token; a cancelled or closed request cancels the engine's call.

use std::sync::Arc;

use futures::StreamExt as _;
use proxmox_mcp_contract::bridge::{CALLER_META_KEY, Caller};
use rmcp::ServerHandler;
use rmcp::model::{
    CallToolRequest, CallToolRequestParams, CallToolResponse, ClientRequest, ErrorData,
    GetPromptRequestParams, GetPromptResponse, InputRequest, InputResponses, ListPromptsResult,
    ListResourcesResult, ListToolsResult, PaginatedRequestParams, ProgressNotificationParam,
    ReadResourceRequest, ReadResourceRequestParams, ReadResourceResponse, RequestMetaObject,
    ResultType, ServerCapabilities, ServerConfig, ServerResult, Tool,
};
// Logging is deprecated from 2026-07-28 on, but 2025-11-25 clients still set a level.
#[allow(deprecated)]
use rmcp::model::SetLevelRequestParams;
use rmcp::service::{PeerRequestOptions, RequestContext, RoleServer, ServiceError};

use crate::child::{Supervisor, unavailable};

/// Input-request rounds the bridge runs for a legacy client before giving up.
const MAX_ROUNDS: usize = 10;

#[derive(Clone)]
pub struct Bridge {
    pub sup: Arc<Supervisor>,
    pub call_timeout: std::time::Duration,
}

fn down(why: String) -> ErrorData {
    ErrorData::internal_error(unavailable(&why), None)
}

fn from_service(e: ServiceError) -> ErrorData {
    match e {
        ServiceError::McpError(e) => e,
        ServiceError::TransportClosed | ServiceError::TransportSend(_) => {
            ErrorData::internal_error(
                "the proxmox-mcp engine stopped during this call (the bridge restarts it); the \
             call may or may not have taken effect: check with task_status or the audit log \
             before retrying",
                None,
            )
        }
        other => ErrorData::internal_error(format!("engine call failed: {other}"), None),
    }
}

/// The caller the auth layer attached to this HTTP request, with the MCP client's own name.
fn caller_of(ctx: &RequestContext<RoleServer>) -> Caller {
    let mut caller = ctx
        .extensions
        .get::<http::request::Parts>()
        .and_then(|p| p.extensions.get::<Caller>().cloned())
        .unwrap_or_default();
    let info = ctx
        .client_info()
        .or_else(|| ctx.peer.peer_info().map(|p| p.client_info.clone()));
    if let Some(i) = info {
        caller.client_name = Some(i.name);
        caller.client_version = Some(i.version);
    }
    caller
}

impl Bridge {
    async fn call_once(
        &self,
        request: &CallToolRequestParams,
        ctx: &RequestContext<RoleServer>,
        caller: &Caller,
    ) -> Result<CallToolResponse, ErrorData> {
        let conn = self.sup.conn().map_err(down)?;
        let mut meta = RequestMetaObject::default();
        if let Some(caps) = ctx.client_capabilities() {
            meta.set_client_capabilities(caps.clone());
        }
        let field = serde_json::to_value(caller)
            .map_err(|e| ErrorData::internal_error(e.to_string(), None))?;
        meta.insert(CALLER_META_KEY.to_string(), field);
        let mut params = request.clone();
        params.meta = None;
        let mut handle = conn
            .peer
            .send_request_with_option(
                ClientRequest::CallToolRequest(CallToolRequest::new(params)),
                PeerRequestOptions::no_options().with_meta(meta),
            )
            .await
            .map_err(from_service)?;
        let mut progress = conn.progress.subscribe(handle.progress_token.clone()).await;
        let upstream = ctx.meta.get_progress_token();
        let deadline = tokio::time::sleep(self.call_timeout);
        tokio::pin!(deadline);
        enum Stop {
            Cancelled,
            TimedOut,
        }
        enum End {
            Answer(
                Box<
                    Result<
                        Result<ServerResult, ServiceError>,
                        tokio::sync::oneshot::error::RecvError,
                    >,
                >,
            ),
            Cancelled,
            TimedOut,
        }
        let end = loop {
            tokio::select! {
                r = &mut handle.rx => break End::Answer(Box::new(r)),
                Some(p) = progress.next() => {
                    if let Some(token) = &upstream {
                        let mut fwd = ProgressNotificationParam::new(token.clone(), p.progress);
                        fwd.total = p.total;
                        fwd.message = p.message;
                        let _ = ctx.peer.notify_progress(fwd).await;
                    }
                }
                _ = ctx.ct.cancelled() => break End::Cancelled,
                _ = &mut deadline => break End::TimedOut,
            }
        };
        let end = match end {
            End::Answer(a) => Ok(*a),
            End::Cancelled => Err(Stop::Cancelled),
            End::TimedOut => Err(Stop::TimedOut),
        };
        match end {
            Ok(Ok(Ok(ServerResult::CallToolResult(mut r)))) => {
                r.result_type = Some(ResultType::COMPLETE);
                Ok(CallToolResponse::Complete(r))
            }
            Ok(Ok(Ok(ServerResult::InputRequiredResult(r)))) => {
                Ok(CallToolResponse::InputRequired(r))
            }
            Ok(Ok(Ok(other))) => Err(ErrorData::internal_error(
                format!("the engine answered tools/call with an unexpected result: {other:?}"),
                None,
            )),
            Ok(Ok(Err(e))) => Err(from_service(e)),
            Ok(Err(_)) => Err(from_service(ServiceError::TransportClosed)),
            Err(Stop::Cancelled) => {
                let _ = handle
                    .cancel(Some("the HTTP client cancelled".into()))
                    .await;
                Err(ErrorData::internal_error("the call was cancelled", None))
            }
            Err(Stop::TimedOut) => {
                let _ = handle
                    .cancel(Some("the bridge's call timeout passed".into()))
                    .await;
                Err(ErrorData::internal_error(
                    format!(
                        "no answer from the engine within {} s (the bridge's call timeout); \
                         the call was cancelled, but what it started may still run: check \
                         task_status",
                        self.call_timeout.as_secs()
                    ),
                    None,
                ))
            }
        }
    }

    /// Ask a legacy client for each input the engine needs, on this call's stream.
    async fn fulfil(
        &self,
        requests: rmcp::model::InputRequests,
        ctx: &RequestContext<RoleServer>,
    ) -> Result<InputResponses, ErrorData> {
        let mut out = InputResponses::new();
        for (key, req) in requests {
            let value = match req {
                InputRequest::Elicitation(e) => {
                    let answer = ctx.peer.create_elicitation(e.params).await.map_err(|e| {
                        ErrorData::internal_error(
                            format!("asking the client to confirm failed: {e}"),
                            None,
                        )
                    })?;
                    serde_json::to_value(answer)
                        .map_err(|e| ErrorData::internal_error(e.to_string(), None))?
                }
                other => {
                    return Err(ErrorData::internal_error(
                        format!("the engine asked for an input the bridge cannot relay: {other:?}"),
                        None,
                    ));
                }
            };
            out.insert(key, value);
        }
        Ok(out)
    }
}

impl ServerHandler for Bridge {
    fn get_info(&self) -> ServerConfig {
        match self.sup.conn() {
            Ok(c) => {
                let s = &c.server;
                let mut info = ServerConfig::new(s.capabilities.clone())
                    .with_server_info(s.server_info.clone());
                if let Some(i) = &s.instructions {
                    info = info.with_instructions(i.clone());
                }
                info
            }
            Err(_) => ServerConfig::new(ServerCapabilities::builder().enable_tools().build()),
        }
    }

    async fn list_tools(
        &self,
        request: Option<PaginatedRequestParams>,
        _ctx: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, ErrorData> {
        let conn = self.sup.conn().map_err(down)?;
        let mut r = conn.peer.list_tools(request).await.map_err(from_service)?;
        r.result_type = Some(ResultType::COMPLETE);
        Ok(r)
    }

    /// The engine's log goes to the bridge's stderr and log file, not to MCP clients.
    #[allow(deprecated)]
    async fn set_level(
        &self,
        _request: SetLevelRequestParams,
        _ctx: RequestContext<RoleServer>,
    ) -> Result<(), ErrorData> {
        Ok(())
    }

    fn get_tool(&self, _name: &str) -> Option<Tool> {
        None
    }

    async fn list_resources(
        &self,
        request: Option<PaginatedRequestParams>,
        _ctx: RequestContext<RoleServer>,
    ) -> Result<ListResourcesResult, ErrorData> {
        let conn = self.sup.conn().map_err(down)?;
        let mut r = conn
            .peer
            .list_resources(request)
            .await
            .map_err(from_service)?;
        r.result_type = Some(ResultType::COMPLETE);
        Ok(r)
    }

    /// Resource reads run tools in the engine, so they carry the caller like `tools/call`.
    async fn read_resource(
        &self,
        mut request: ReadResourceRequestParams,
        ctx: RequestContext<RoleServer>,
    ) -> Result<ReadResourceResponse, ErrorData> {
        let conn = self.sup.conn().map_err(down)?;
        let mut meta = RequestMetaObject::default();
        let field = serde_json::to_value(caller_of(&ctx))
            .map_err(|e| ErrorData::internal_error(e.to_string(), None))?;
        meta.insert(CALLER_META_KEY.to_string(), field);
        request.meta = None;
        let mut handle = conn
            .peer
            .send_request_with_option(
                ClientRequest::ReadResourceRequest(ReadResourceRequest::new(request)),
                PeerRequestOptions::no_options().with_meta(meta),
            )
            .await
            .map_err(from_service)?;
        // The same deadline and cancellation as `tools/call`: a read runs tools in the engine.
        let answer = tokio::select! {
            r = &mut handle.rx => match r {
                Ok(r) => r.map_err(from_service)?,
                Err(_) => return Err(from_service(ServiceError::TransportClosed)),
            },
            _ = ctx.ct.cancelled() => {
                let _ = handle.cancel(Some("the HTTP client cancelled".into())).await;
                return Err(ErrorData::internal_error("the read was cancelled", None));
            }
            _ = tokio::time::sleep(self.call_timeout) => {
                let _ = handle
                    .cancel(Some("the bridge's call timeout passed".into()))
                    .await;
                return Err(ErrorData::internal_error(
                    format!(
                        "no answer from the engine within {} s (the bridge's call timeout); \
                         the read was cancelled",
                        self.call_timeout.as_secs()
                    ),
                    None,
                ));
            }
        };
        match answer {
            ServerResult::ReadResourceResult(mut r) => {
                r.result_type = Some(ResultType::COMPLETE);
                Ok(r.into())
            }
            other => Err(ErrorData::internal_error(
                format!("unexpected engine answer to resources/read: {other:?}"),
                None,
            )),
        }
    }

    async fn list_prompts(
        &self,
        request: Option<PaginatedRequestParams>,
        _ctx: RequestContext<RoleServer>,
    ) -> Result<ListPromptsResult, ErrorData> {
        let conn = self.sup.conn().map_err(down)?;
        let mut r = conn
            .peer
            .list_prompts(request)
            .await
            .map_err(from_service)?;
        r.result_type = Some(ResultType::COMPLETE);
        Ok(r)
    }

    async fn get_prompt(
        &self,
        mut request: GetPromptRequestParams,
        _ctx: RequestContext<RoleServer>,
    ) -> Result<GetPromptResponse, ErrorData> {
        let conn = self.sup.conn().map_err(down)?;
        request.meta = None;
        let mut r = conn.peer.get_prompt(request).await.map_err(from_service)?;
        r.result_type = Some(ResultType::COMPLETE);
        Ok(r.into())
    }

    async fn call_tool(
        &self,
        mut request: CallToolRequestParams,
        ctx: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, ErrorData> {
        let caller = caller_of(&ctx);
        let modern = ctx.protocol_version().is_some_and(|v| !v.has_initialize());
        for _ in 0..MAX_ROUNDS {
            match self.call_once(&request, &ctx, &caller).await? {
                CallToolResponse::InputRequired(r) if !modern => {
                    let responses = self
                        .fulfil(r.input_requests.unwrap_or_default(), &ctx)
                        .await?;
                    request.input_responses = Some(responses);
                    request.request_state = r.request_state;
                }
                other => return Ok(other),
            }
        }
        Err(ErrorData::internal_error(
            format!("the engine kept asking for input after {MAX_ROUNDS} rounds"),
            None,
        ))
    }
}
