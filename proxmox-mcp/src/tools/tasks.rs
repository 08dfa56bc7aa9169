//! Following Proxmox tasks: `task_status` reads a UPID's state and log, optionally waiting.

use std::fmt::Write as _;
use std::time::Duration;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{Hints, Render, ToolCtx, ToolDef, ToolError};
use crate::policy::Class;
use crate::pve::types::TaskStatus;
use crate::pve::{TaskOutcome, Upid, WaitOptions, wait_task};

/// Longest wait a single call may ask for.
pub const MAX_WAIT_SECS: u64 = 600;
/// Log lines returned unless asked otherwise.
const DEFAULT_LOG_LINES: u64 = 20;

pub fn tools() -> Vec<ToolDef> {
    vec![ToolDef::new(
        "task_status",
        "Task status",
        "State of a Proxmox task by UPID: running or stopped, exit status (OK and WARNINGS \
         count as success), and the log tail. `wait` (s) blocks until it ends, with progress.",
        Class::Read,
        Hints::READ,
        &[
            "GET /nodes/{node}/tasks/{upid}/status",
            "GET /nodes/{node}/tasks/{upid}/log",
        ],
        task_status,
    )]
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TaskStatusParams {
    /// UPID:node:pid:pstart:starttime:type:id:user:
    pub upid: String,
    /// Seconds to wait for the task to finish (0-600, default 0)
    #[schemars(range(max = 600))]
    pub wait: Option<u64>,
    /// Log lines to return from the end (default 20, max 500)
    #[schemars(range(max = 500))]
    pub log_lines: Option<u64>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct TaskReport {
    pub upid: String,
    pub node: String,
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub id: String,
    pub user: String,
    /// running | stopped
    pub status: String,
    /// OK, WARNINGS: n, or the error
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exitstatus: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub success: Option<bool>,
    /// `wait` ran out first
    pub timed_out: bool,
    /// s since start
    #[serde(skip_serializing_if = "Option::is_none")]
    pub runtime: Option<u64>,
    pub log: Vec<String>,
}

fn parse_upid(text: &str) -> Result<Upid, ToolError> {
    if text.len() > 512 {
        return Err(ToolError::invalid("upid is too long to be a UPID"));
    }
    text.trim().parse::<Upid>().map_err(|e| {
        ToolError::invalid(format!(
            "{e}; a UPID looks like UPID:pve1:00001234:0000ABCD:6419CAF8:qmstart:100:root@pam:"
        ))
    })
}

async fn task_status(ctx: ToolCtx, p: TaskStatusParams) -> Result<TaskReport, ToolError> {
    let upid = parse_upid(&p.upid)?;
    let wait = p.wait.unwrap_or(0);
    if wait > MAX_WAIT_SECS {
        return Err(ToolError::invalid(format!(
            "wait is {wait} s; the maximum is {MAX_WAIT_SECS} s"
        )));
    }
    let log_lines = p.log_lines.unwrap_or(DEFAULT_LOG_LINES).min(500);

    let (status, timed_out) = if wait == 0 {
        (ctx.pve.task_status(&upid).await?, false)
    } else {
        let opts = WaitOptions {
            timeout: Duration::from_secs(wait),
            min_poll: Duration::from_millis(50),
            max_poll: Duration::from_secs(1),
            ..WaitOptions::default()
        };
        let progress = ctx.progress.clone();
        let total = wait as f64;
        let outcome = wait_task(&ctx.pve, &upid, opts, &ctx.cancel, move |tp| {
            let progress = progress.clone();
            async move {
                let secs = tp.elapsed.as_secs_f64();
                progress
                    .report(
                        secs.min(total),
                        Some(total),
                        format!(
                            "{} {}: running for {:.0}s",
                            tp.status.kind,
                            upid_id(&tp.status),
                            secs
                        ),
                    )
                    .await;
            }
        })
        .await
        .map_err(|e| match e {
            crate::pve::PveError::Cancelled => ToolError::Cancelled,
            other => ToolError::Pve(other),
        })?;
        match outcome {
            TaskOutcome::Finished(s) => (s, false),
            TaskOutcome::TimedOut(s) => (s, true),
        }
    };

    let log = if log_lines == 0 {
        Vec::new()
    } else {
        let lines = ctx.pve.task_log_tail(&upid, log_lines).await?;
        let skip = lines.len().saturating_sub(log_lines as usize);
        lines.into_iter().skip(skip).map(|l| l.t).collect()
    };
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    Ok(TaskReport {
        upid: upid.to_string(),
        node: upid.node.clone(),
        kind: status.kind.clone(),
        id: upid.id.clone(),
        user: status.user.clone(),
        success: status.succeeded(),
        exitstatus: status.exitstatus.clone(),
        runtime: (status.is_running()).then(|| (now - upid.starttime).max(0) as u64),
        status: status.status,
        timed_out,
        log,
    })
}

fn upid_id(s: &TaskStatus) -> String {
    s.id.clone().unwrap_or_default()
}

impl Render for TaskReport {
    fn render(&self) -> String {
        let mut o = String::new();
        let state = match (self.status.as_str(), self.success) {
            ("running", _) if self.timed_out => "still running (wait ended)".to_string(),
            ("running", _) => "running".to_string(),
            (_, Some(true)) => format!(
                "finished OK ({})",
                self.exitstatus.as_deref().unwrap_or("OK")
            ),
            (_, _) => format!(
                "FAILED: {}",
                self.exitstatus.as_deref().unwrap_or("unknown exit status")
            ),
        };
        let _ = writeln!(
            o,
            "task {} {} on {} by {}: {state}",
            self.kind, self.id, self.node, self.user
        );
        if !self.log.is_empty() {
            let _ = writeln!(o, "log tail:");
            for l in &self.log {
                let _ = writeln!(o, "  {l}");
            }
        }
        o
    }
}
