//! `get_command_history`: the audit log, searched. Records are already redacted on disk.

use std::time::{Duration, SystemTime};

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{Hints, Render, ToolCtx, ToolDef, ToolError};
use crate::audit::event::{format_time, parse_time};
use crate::audit::{Outcome, Query};
use crate::policy::Class;

pub fn tools() -> Vec<ToolDef> {
    vec![
        ToolDef::new(
            "get_command_history",
            "Audit log search",
            "What was run, refused or approved through this server (the audit log), newest \
             first, with a summary line. Filters combine; page with cursor.",
            Class::Read,
            Hints::READ,
            &[],
            history,
        )
        .local(),
    ]
}

#[derive(Debug, Clone, Copy, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum DecisionFilter {
    Allowed,
    Confirmed,
    Declined,
    Refused,
    Failed,
    Pending,
}

impl From<DecisionFilter> for Outcome {
    fn from(d: DecisionFilter) -> Self {
        match d {
            DecisionFilter::Allowed => Outcome::Allowed,
            DecisionFilter::Confirmed => Outcome::Confirmed,
            DecisionFilter::Declined => Outcome::Declined,
            DecisionFilter::Refused => Outcome::Refused,
            DecisionFilter::Failed => Outcome::Failed,
            DecisionFilter::Pending => Outcome::Pending,
        }
    }
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HistoryParams {
    /// RFC 3339 UTC time or an age: 30m, 24h, 7d
    pub since: Option<String>,
    /// Same forms as since
    pub until: Option<String>,
    pub tool: Option<String>,
    pub decision: Option<DecisionFilter>,
    /// Client name substring
    pub client: Option<String>,
    /// Substring anywhere in a record
    pub text: Option<String>,
    /// Default 50
    #[schemars(range(min = 1, max = 500))]
    pub limit: Option<u32>,
    /// next_cursor of the previous page
    pub cursor: Option<u64>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct HistoryEntry {
    pub seq: u64,
    pub time: String,
    pub tool: String,
    pub class: Class,
    pub decision: Outcome,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub reason: String,
    pub arguments: Value,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub upid: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub result: Option<String>,
    pub duration_ms: u64,
    pub mode: String,
    // client name/version and transport
    pub client: String,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct HistoryResult {
    // One line: how many records matched, by decision
    pub summary: String,
    pub matched: usize,
    pub entries: Vec<HistoryEntry>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<u64>,
    pub retention_days: u64,
}

/// RFC 3339 (UTC, `Z`) or a relative age like `90s`, `30m`, `24h`, `7d`.
fn parse_when(what: &str, s: &str, now: SystemTime) -> Result<SystemTime, ToolError> {
    let t = s.trim();
    if let Some(at) = parse_time(t) {
        return Ok(at);
    }
    let bad = || {
        ToolError::invalid(format!(
            "{what} {t:?} is neither an RFC 3339 UTC time (2026-11-22T08:00:00Z) nor an age \
             like 30m, 24h or 7d"
        ))
    };
    let split = t.find(|c: char| !c.is_ascii_digit()).ok_or_else(bad)?;
    let (num, unit) = t.split_at(split);
    let n: u64 = num.parse().map_err(|_| bad())?;
    let secs = match unit {
        "s" => n,
        "m" => n.saturating_mul(60),
        "h" => n.saturating_mul(3600),
        "d" => n.saturating_mul(86_400),
        _ => return Err(bad()),
    };
    Ok(now
        .checked_sub(Duration::from_secs(secs))
        .unwrap_or(SystemTime::UNIX_EPOCH))
}

async fn history(ctx: ToolCtx, p: HistoryParams) -> Result<HistoryResult, ToolError> {
    let now = SystemTime::now();
    let query = Query {
        since: p
            .since
            .as_deref()
            .map(|s| parse_when("since", s, now))
            .transpose()?,
        until: p
            .until
            .as_deref()
            .map(|s| parse_when("until", s, now))
            .transpose()?,
        tool: p.tool,
        decision: p.decision.map(Into::into),
        client: p.client,
        text: p.text,
        cursor: p.cursor,
        limit: p.limit.unwrap_or(0) as usize,
    };
    let log = ctx.engine.safety().audit().map_err(ToolError::Config)?;
    let page = log
        .query(&query)
        .map_err(|e| ToolError::Config(e.to_string()))?;
    let entries = page
        .records
        .into_iter()
        .map(|r| {
            let e = r.event;
            HistoryEntry {
                seq: r.seq,
                time: format_time(e.time),
                tool: e.tool,
                class: e.class,
                decision: e.decision,
                reason: e.reason,
                arguments: e.arguments,
                target: e.target,
                upid: e.upid,
                result: e.result,
                duration_ms: e.duration_ms,
                mode: e.mode,
                client: format!(
                    "{}/{} ({})",
                    e.client.name,
                    e.client.version,
                    serde_json::to_value(e.transport)
                        .ok()
                        .and_then(|v| v.as_str().map(str::to_owned))
                        .unwrap_or_default()
                ),
            }
        })
        .collect();
    Ok(HistoryResult {
        summary: page.summary.to_string(),
        matched: page.summary.matched,
        entries,
        next_cursor: page.next_cursor,
        retention_days: log.retention().as_secs() / 86_400,
    })
}

impl Render for HistoryResult {
    fn render(&self) -> String {
        let mut s = format!("{} (retention {} days)", self.summary, self.retention_days);
        for e in &self.entries {
            s.push_str(&format!(
                "\n#{} {} {} [{}] {}",
                e.seq, e.time, e.tool, e.class, e.decision
            ));
            if let Some(t) = &e.target {
                s.push_str(&format!(" {t}"));
            }
            if let Some(r) = &e.result {
                s.push_str(&format!(" → {}", super::render::clip(r, 160)));
            }
        }
        if let Some(c) = self.next_cursor {
            s.push_str(&format!("\nMore: call again with cursor={c}"));
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_and_ages_parse() {
        let now = parse_time("2026-11-22T12:00:00Z").unwrap();
        assert_eq!(
            parse_when("since", "2h", now).unwrap(),
            parse_time("2026-11-22T10:00:00Z").unwrap()
        );
        assert_eq!(
            parse_when("since", "7d", now).unwrap(),
            parse_time("2026-11-15T12:00:00Z").unwrap()
        );
        assert!(parse_when("since", "2026-11-22T08:00:00Z", now).is_ok());
        for bad in ["yesterday", "5w", "", "-3h", "h"] {
            assert!(parse_when("since", bad, now).is_err(), "{bad}");
        }
    }
}
