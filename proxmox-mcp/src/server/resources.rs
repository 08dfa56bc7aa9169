//! MCP resources: the cluster summary, today's audit log and the current mode. The first two
//! are read through the dispatcher (as `get_system_info` and `get_command_history` calls), so a
//! resource read is judged and audited exactly like the tool call it stands for.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use rmcp::model::{CallToolResponse, ErrorData, ReadResourceResult, Resource, ResourceContents};
use serde_json::{Value, json};

use crate::dispatch::{Call, Origin, dispatch};
use crate::engine::{Engine, Progress};
use crate::safety::confirm::Channel;

pub const CLUSTER_SUMMARY: &str = "proxmox://cluster/summary";
pub const AUDIT_TODAY: &str = "proxmox://audit/today";
pub const MODE: &str = "proxmox://mode";

/// The most audit records `proxmox://audit/today` returns (newest first).
pub const AUDIT_CAP: u32 = 200;

/// The resources we offer, for `resources/list`.
pub fn list() -> Vec<Resource> {
    let json = |r: Resource| r.with_mime_type("application/json");
    vec![
        json(
            Resource::new(CLUSTER_SUMMARY, "cluster-summary")
                .with_title("Cluster summary")
                .with_description(
                    "Per configured cluster: quorum, nodes, guests running/total, CPU, memory \
                     and storage use.",
                ),
        ),
        json(
            Resource::new(AUDIT_TODAY, "audit-today")
                .with_title("Today's audit log")
                .with_description(format!(
                    "What was run, refused or approved since midnight UTC, newest first \
                     (at most {AUDIT_CAP} records, redacted)."
                )),
        ),
        json(
            Resource::new(MODE, "mode")
                .with_title("Safety mode")
                .with_description("The current safety mode and what it lets through."),
        ),
    ]
}

/// Read `uri`; an unknown one is `resource not found`.
pub async fn read(
    engine: &Arc<Engine>,
    uri: &str,
    origin: Origin,
) -> Result<ReadResourceResult, ErrorData> {
    let value = match uri {
        CLUSTER_SUMMARY => cluster_summary(engine, origin).await,
        AUDIT_TODAY => audit_today(engine, origin).await,
        MODE => {
            let mode = engine.safety().mode();
            json!({"mode": mode.as_str(), "meaning": crate::tools::mode::meaning(mode)})
        }
        other => {
            let known: Vec<String> = list().into_iter().map(|r| r.uri).collect();
            return Err(ErrorData::resource_not_found(
                format!("no resource {other:?}; known: {}", known.join(", ")),
                Some(json!({"uri": other})),
            ));
        }
    };
    let text = serde_json::to_string_pretty(&value)
        .map_err(|e| ErrorData::internal_error(e.to_string(), None))?;
    Ok(ReadResourceResult::new(vec![
        ResourceContents::text(text, uri).with_mime_type("application/json"),
    ]))
}

/// Run one read tool through the dispatcher: its structured result, or its error text.
async fn read_tool(engine: &Arc<Engine>, origin: &Origin, tool: &str, args: Value) -> Value {
    let call = Call {
        tool: tool.to_owned(),
        args: match args {
            Value::Object(o) => o,
            _ => Default::default(),
        },
        origin: origin.clone(),
        channel: Channel::OutOfBand,
        progress: Progress::None,
        cancel: Default::default(),
    };
    match dispatch(engine, call).await {
        CallToolResponse::Complete(r) if r.is_error != Some(true) => {
            r.structured_content.unwrap_or(Value::Null)
        }
        CallToolResponse::Complete(r) => {
            let text: Vec<String> = r
                .content
                .iter()
                .filter_map(|c| c.as_text().map(|t| t.text.clone()))
                .collect();
            json!({"error": text.join("\n")})
        }
        _ => json!({"error": format!("{tool} did not complete")}),
    }
}

async fn cluster_summary(engine: &Arc<Engine>, origin: Origin) -> Value {
    let names: Vec<String> = engine
        .config()
        .clusters
        .iter()
        .map(|c| c.name.clone())
        .collect();
    if names.is_empty() {
        return json!({"clusters": [], "note": "no Proxmox cluster is configured"});
    }
    let mut clusters = Vec::new();
    for name in names {
        let info = read_tool(engine, &origin, "get_system_info", json!({"cluster": name})).await;
        let mut entry = json!({"cluster": name});
        match info.get("error") {
            Some(e) => entry["error"] = e.clone(),
            None => {
                for key in ["cluster", "quorate", "version", "nodes", "totals"] {
                    if let Some(v) = info.get(key) {
                        let out = if key == "cluster" {
                            "cluster_name"
                        } else {
                            key
                        };
                        entry[out] = v.clone();
                    }
                }
            }
        }
        clusters.push(entry);
    }
    json!({"clusters": clusters})
}

async fn audit_today(engine: &Arc<Engine>, origin: Origin) -> Value {
    let now = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs();
    let midnight = SystemTime::UNIX_EPOCH + Duration::from_secs(now - now % 86_400);
    let since = crate::audit::event::format_time(midnight);
    let args = json!({"since": since, "limit": AUDIT_CAP});
    read_tool(engine, &origin, "get_command_history", args).await
}
