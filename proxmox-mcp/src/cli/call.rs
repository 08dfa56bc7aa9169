//! `proxmox-mcp call TOOL …`: run one tool through the same dispatch the MCP server uses.

use std::process::ExitCode;
use std::sync::Arc;

use rmcp::model::{CallToolResponse, JsonObject};
use serde_json::Value;
use tokio_util::sync::CancellationToken;

use super::{CallArgs, Output, out};
use crate::dispatch::{Call, Origin, dispatch};
use crate::engine::{Engine, Progress};
use crate::safety::confirm::Channel;

/// Parse `--arg k=v` pairs (values as JSON when they parse, else strings) or `--json`.
pub fn parse_args(args: &CallArgs) -> anyhow::Result<JsonObject> {
    if let Some(json) = &args.json {
        return match serde_json::from_str::<Value>(json)? {
            Value::Object(map) => Ok(map),
            other => anyhow::bail!("--json must be a JSON object, got {other}"),
        };
    }
    let mut map = JsonObject::new();
    for pair in &args.args {
        let (k, v) = pair
            .split_once('=')
            .ok_or_else(|| anyhow::anyhow!("--arg {pair:?} is not KEY=VALUE"))?;
        let value = serde_json::from_str::<Value>(v).unwrap_or_else(|_| Value::from(v));
        map.insert(k.to_string(), value);
    }
    Ok(map)
}

/// Call the tool and print it; exit code 1 when the tool reports an error.
pub async fn run(engine: Arc<Engine>, args: &CallArgs) -> anyhow::Result<ExitCode> {
    if crate::tools::find(&args.tool).is_none() {
        anyhow::bail!(
            "unknown tool {:?}; `proxmox-mcp tools` lists them",
            args.tool
        );
    }
    let map = parse_args(args)?;
    let cancel = CancellationToken::new();
    let guard = cancel.clone();
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            guard.cancel();
        }
    });
    let call = Call {
        tool: args.tool.clone(),
        args: map,
        origin: Origin::cli(),
        channel: Channel::Terminal,
        progress: Progress::Stderr,
        cancel,
    };
    let result = match dispatch(&engine, call).await {
        CallToolResponse::Complete(r) => r,
        other => anyhow::bail!("unexpected response for the command line: {other:?}"),
    };
    let failed = result.is_error == Some(true);
    match args.output {
        Output::Json => out(&format!("{}\n", serde_json::to_string_pretty(&result)?))?,
        Output::Text => {
            let text: String = result
                .content
                .iter()
                .filter_map(|c| c.as_text().map(|t| t.text.as_str()))
                .collect::<Vec<_>>()
                .join("\n");
            if failed {
                eprintln!("{}", text.trim_end());
            } else {
                out(&format!("{}\n", text.trim_end()))?;
            }
        }
    }
    Ok(if failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}
