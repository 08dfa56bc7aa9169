//! `list_tasks`: recent Proxmox tasks of one node or the whole cluster, filtered, as compact rows.

use std::fmt::Write as _;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use futures::StreamExt as _;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::args::{NodeName, Vmid, bounded};
use super::{Hints, Render, ToolCtx, ToolDef, ToolError};
use crate::audit::event::{format_time, parse_time};
use crate::policy::Class;
use crate::pve::Params;
use crate::pve::params::encode_segment;

/// Rows returned unless asked otherwise.
const DEFAULT_LIMIT: u32 = 50;
/// Most rows one call returns.
const MAX_LIMIT: u32 = 1000;
/// The row layout of [`TaskList::rows`].
const COLUMNS: [&str; 8] = [
    "upid", "node", "type", "id", "user", "start", "end", "status",
];

pub fn tools() -> Vec<ToolDef> {
    vec![ToolDef::new(
        "list_tasks",
        "List tasks",
        "Recent tasks, newest first.",
        Class::Read,
        Hints::READ,
        &["GET /nodes", "GET /nodes/{node}/tasks"],
        list_tasks,
    )]
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ListTasksParams {
    /// Default: all
    pub node: Option<NodeName>,
    pub running: Option<bool>,
    /// Failed only
    pub errors: Option<bool>,
    /// RFC 3339 or age: 2h
    pub since: Option<String>,
    /// e.g. vzdump
    #[serde(rename = "type")]
    pub kind: Option<String>,
    pub vmid: Option<Vmid>,
    pub user: Option<String>,
    /// Default 50
    pub limit: Option<u32>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct TaskList {
    /// upid, node, type, id, user, start, end, status
    pub columns: Vec<String>,
    pub rows: Vec<Vec<Value>>,
    /// Nodes that could not be asked
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub skipped: Vec<String>,
}

/// Seconds since the epoch of an RFC 3339 UTC time or of an age (`30m`, `2h`, `7d`) before now.
pub fn parse_since(text: &str, now: SystemTime) -> Result<u64, ToolError> {
    let t = text.trim();
    let epoch = |at: SystemTime| at.duration_since(UNIX_EPOCH).unwrap_or_default().as_secs();
    if let Some(at) = parse_time(t) {
        return Ok(epoch(at));
    }
    let bad = || {
        ToolError::invalid(format!(
            "since {t:?} is neither an RFC 3339 UTC time (2026-11-22T08:00:00Z) nor an age like \
             30m, 2h or 7d"
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
        "w" => n.saturating_mul(7 * 86_400),
        _ => return Err(bad()),
    };
    Ok(epoch(
        now.checked_sub(Duration::from_secs(secs))
            .unwrap_or(UNIX_EPOCH),
    ))
}

/// `2025-06-01T02:00:00Z` of an epoch.
pub fn iso(epoch: u64) -> String {
    let text = format_time(UNIX_EPOCH + Duration::from_secs(epoch));
    text.replace(".000Z", "Z")
}

/// A filter word: bounded, and only the characters task types and user ids use.
fn word<'a>(name: &str, value: &'a str, extra: &[u8]) -> Result<&'a str, ToolError> {
    let v = bounded(name, value.trim(), 64)?;
    if v.is_empty()
        || !v
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_".contains(&b) || extra.contains(&b))
    {
        return Err(ToolError::invalid(format!(
            "{name} {value:?} has characters a task {name} never has"
        )));
    }
    Ok(v)
}

/// The query for `GET /nodes/{node}/tasks` from the filters.
fn query(p: &ListTasksParams, limit: u32) -> Result<Params, ToolError> {
    let mut q = Params::new();
    q.insert("limit".into(), json!(limit));
    let source = if p.running == Some(true) {
        "active"
    } else {
        "all"
    };
    q.insert("source".into(), json!(source));
    if p.errors == Some(true) {
        q.insert("errors".into(), json!(1));
    }
    if let Some(s) = &p.since {
        q.insert("since".into(), json!(parse_since(s, SystemTime::now())?));
    }
    if let Some(t) = &p.kind {
        q.insert("typefilter".into(), json!(word("type", t, b"")?));
    }
    if let Some(u) = &p.user {
        q.insert("userfilter".into(), json!(word("user", u, b"@!.")?));
    }
    if let Some(v) = p.vmid {
        q.insert("vmid".into(), json!(v.0));
    }
    Ok(q)
}

async fn list_tasks(ctx: ToolCtx, p: ListTasksParams) -> Result<TaskList, ToolError> {
    let limit = p.limit.unwrap_or(DEFAULT_LIMIT);
    if !(1..=MAX_LIMIT).contains(&limit) {
        return Err(ToolError::invalid(format!(
            "limit must be 1 to {MAX_LIMIT} (got {limit})"
        )));
    }
    let q = query(&p, limit)?;
    let (nodes, mut skipped) = match &p.node {
        Some(n) => (vec![n.0.clone()], Vec::new()),
        None => {
            let all = ctx.pve.nodes().await?;
            let (on, off): (Vec<_>, Vec<_>) = all
                .into_iter()
                .partition(|n| n.status.as_deref().is_none_or(|s| s == "online"));
            (
                on.into_iter().map(|n| n.node).collect(),
                off.into_iter()
                    .map(|n| format!("{} (offline)", n.node))
                    .collect(),
            )
        }
    };
    let single = p.node.is_some();
    let fetched: Vec<(String, Result<Vec<Value>, crate::pve::PveError>)> =
        futures::stream::iter(nodes)
            .map(|node| {
                let pve = ctx.pve.clone();
                let q = q.clone();
                async move {
                    let path = format!("/nodes/{}/tasks", encode_segment(&node));
                    let r = pve.get::<Vec<Value>>(&path, &q).await;
                    (node, r)
                }
            })
            .buffer_unordered(8)
            .collect()
            .await;
    let mut tasks = Vec::new();
    for (node, r) in fetched {
        match r {
            Ok(list) => tasks.extend(list),
            Err(e) if single => return Err(e.into()),
            Err(e) => skipped.push(format!("{node} ({e})")),
        }
    }
    let start = |t: &Value| t.get("starttime").and_then(Value::as_u64).unwrap_or(0);
    tasks.sort_by_key(|t| std::cmp::Reverse(start(t)));
    tasks.truncate(limit as usize);
    let rows = tasks.iter().map(row).collect();
    skipped.sort();
    Ok(TaskList {
        columns: COLUMNS.iter().map(|c| c.to_string()).collect(),
        rows,
        skipped,
    })
}

/// One compact row in [`COLUMNS`] order.
fn row(t: &Value) -> Vec<Value> {
    let s = |k: &str| t.get(k).and_then(Value::as_str).unwrap_or("").to_string();
    let time = |k: &str| {
        t.get(k)
            .and_then(|v| v.as_u64().or_else(|| v.as_str()?.parse().ok()))
            .map_or(Value::Null, |e| Value::String(iso(e)))
    };
    let end = time("endtime");
    let status = match t.get("status").and_then(Value::as_str) {
        _ if end.is_null() => "running",
        Some(st) if !st.is_empty() => st,
        _ => "unknown",
    };
    vec![
        json!(s("upid")),
        json!(s("node")),
        json!(s("type")),
        json!(s("id")),
        json!(s("user")),
        time("starttime"),
        end,
        json!(status),
    ]
}

impl Render for TaskList {
    fn render(&self) -> String {
        let mut o = format!("{} tasks, newest first", self.rows.len());
        if !self.skipped.is_empty() {
            let _ = write!(o, " (not asked: {})", self.skipped.join(", "));
        }
        o.push_str("\nstart node type id user status upid\n");
        for r in &self.rows {
            let cell = |i: usize| r.get(i).and_then(Value::as_str).unwrap_or("-");
            let id = match cell(3) {
                "" => "-",
                x => x,
            };
            let _ = writeln!(
                o,
                "{} {} {} {id} {} {} {}",
                cell(5),
                cell(1),
                cell(2),
                cell(4),
                cell(7),
                cell(0)
            );
        }
        o
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn since_accepts_times_and_ages() {
        let now = UNIX_EPOCH + Duration::from_secs(1_000_000);
        let check = |text: &str, want: Option<u64>| {
            let got = parse_since(text, now).ok();
            assert_eq!(got, want, "{text}");
        };
        check("2h", Some(1_000_000 - 7200));
        check("30m", Some(1_000_000 - 1800));
        check("1d", Some(1_000_000 - 86_400));
        check("1970-01-02T00:00:00Z", Some(86_400));
        check("2 hours", None);
        check("h", None);
        check("5y", None);
        assert_eq!(iso(86_400), "1970-01-02T00:00:00Z");
    }

    #[test]
    fn filter_words_refuse_odd_characters() {
        assert!(word("type", "qmstart", b"").is_ok());
        assert!(word("user", "root@pam!tok", b"@!.").is_ok());
        assert!(word("type", "qm;rm -rf", b"").is_err());
        assert!(word("user", "", b"@!.").is_err());
    }
}
