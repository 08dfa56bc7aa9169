//! Task endpoints: node task lists with filters, status, log, stop, and `/cluster/tasks`.

use serde_json::{Value, json};

use super::Ctx;
use super::envelope::{ApiResult, PveError, Reply};
use super::router::index_by;
use crate::state::task::{Task, is_ok, parse_upid};

/// May the caller see this task (owner, or Sys.Audit on the node)?
fn visible(ctx: &Ctx, t: &Task) -> bool {
    let me = ctx.who.id();
    t.user == me
        || t.user.split('!').next() == Some(ctx.who.userid()) && !me.contains('!')
        || ctx.perms.has(&format!("/nodes/{}", t.node), "Sys.Audit")
}

pub fn route(ctx: &Ctx, node: &str, rest: &[&str]) -> ApiResult {
    match (ctx.method, rest) {
        ("GET", []) => list(ctx, node),
        (m, [upid, rest @ ..]) => {
            let parsed = parse_upid(upid).ok_or_else(|| {
                PveError::param("upid", format!("unable to parse worker upid '{upid}'"))
            })?;
            if parsed.node != node {
                return Err(PveError::internal(format!(
                    "no such task on node '{node}' (task belongs to '{}')",
                    parsed.node
                )));
            }
            let upid = upid.to_string();
            match (m, rest) {
                ("GET", []) => {
                    find(ctx, &upid)?;
                    Ok(index_by("name", &["log", "status"]))
                }
                ("GET", ["status"]) => {
                    let c = ctx.read();
                    let t = find_in(ctx, &c.tasks, &c, &upid)?;
                    Ok(Reply::json(t.status_json()))
                }
                ("GET", ["log"]) => log(ctx, &upid),
                ("DELETE", []) => {
                    let mut c = ctx.write();
                    let t = find_in(ctx, &c.tasks, &c, &upid)?;
                    if t.user != ctx.who.id()
                        && !ctx.perms.has(&format!("/nodes/{node}"), "Sys.Modify")
                    {
                        return Err(PveError::forbidden(&format!("/nodes/{node}"), "Sys.Modify"));
                    }
                    c.abort_task(&upid, ctx.now);
                    Ok(Reply::null())
                }
                _ => Err(ctx.not_impl()),
            }
        }
        _ => Err(ctx.not_impl()),
    }
}

fn find(ctx: &Ctx, upid: &str) -> Result<(), PveError> {
    let c = ctx.read();
    find_in(ctx, &c.tasks, &c, upid).map(|_| ())
}

fn find_in<'c>(
    ctx: &Ctx,
    _all: &'c [Task],
    c: &'c crate::state::Cluster,
    upid: &str,
) -> Result<&'c Task, PveError> {
    let t = c
        .task(upid)
        .ok_or_else(|| PveError::internal(format!("no such task '{upid}'")))?;
    if !visible(ctx, t) {
        return Err(PveError::forbidden(
            &format!("/nodes/{}", t.node),
            "Sys.Audit",
        ));
    }
    Ok(t)
}

fn log(ctx: &Ctx, upid: &str) -> ApiResult {
    let start = ctx.params.uint("start", 0)? as usize;
    let limit = ctx.params.uint("limit", 50)? as usize;
    let c = ctx.read();
    let t = find_in(ctx, &c.tasks, &c, upid)?;
    let lines = t.visible_log();
    let total = lines.len();
    let out: Vec<Value> = lines
        .iter()
        .enumerate()
        .skip(start)
        .take(if limit == 0 { usize::MAX } else { limit })
        .map(|(i, l)| json!({"n": i + 1, "t": l}))
        .collect();
    let out = if out.is_empty() && total == 0 {
        vec![json!({"n": 1, "t": "no content"})]
    } else {
        out
    };
    Ok(Reply::json(json!(out)).with("total", json!(total)))
}

/// Does the task pass the list filters?
fn matches(ctx: &Ctx, t: &Task) -> Result<bool, PveError> {
    let p = &ctx.params;
    if let Some(v) = p.int("vmid")?
        && t.id != v.to_string()
    {
        return Ok(false);
    }
    if let Some(tf) = p.str("typefilter")
        && !t.kind.contains(&tf)
    {
        return Ok(false);
    }
    if let Some(uf) = p.str("userfilter")
        && !t.user.contains(&uf)
    {
        return Ok(false);
    }
    let exit = t.exitstatus();
    if p.flag("errors")? && exit.is_none_or(is_ok) {
        return Ok(false);
    }
    if let Some(sf) = p.str("statusfilter") {
        let class = match exit {
            None => "active",
            Some("OK") => "ok",
            Some(s) if s.starts_with("WARNINGS") => "warning",
            Some("unexpected status") => "unknown",
            Some(_) => "error",
        };
        if !sf.split(',').any(|s| s.trim() == class) {
            return Ok(false);
        }
    }
    if let Some(s) = p.int("since")?
        && (t.starttime as i64) < s
    {
        return Ok(false);
    }
    if let Some(u) = p.int("until")?
        && (t.starttime as i64) > u
    {
        return Ok(false);
    }
    Ok(true)
}

fn list(ctx: &Ctx, node: &str) -> ApiResult {
    let start = ctx.params.uint("start", 0)? as usize;
    let limit = ctx.params.uint("limit", 50)? as usize;
    let source = ctx.params.str("source").unwrap_or_else(|| "archive".into());
    if !matches!(source.as_str(), "archive" | "active" | "all") {
        return Err(PveError::param(
            "source",
            format!(
                "value '{source}' does not have a value in the enumeration 'archive, active, all'"
            ),
        ));
    }
    let c = ctx.read();
    let mut sel = Vec::new();
    for t in c.tasks.iter().rev().filter(|t| t.node == node) {
        let src_ok = match source.as_str() {
            "active" => t.running(),
            "archive" => !t.running(),
            _ => true,
        };
        if src_ok && visible(ctx, t) && matches(ctx, t)? {
            sel.push(t);
        }
    }
    let total = sel.len();
    let out: Vec<Value> = sel
        .into_iter()
        .skip(start)
        .take(if limit == 0 { usize::MAX } else { limit })
        .map(Task::list_json)
        .collect();
    Ok(Reply::json(json!(out)).with("total", json!(total)))
}

/// `GET /cluster/tasks`: recent tasks of all nodes, newest first.
pub fn cluster_tasks(ctx: &Ctx) -> ApiResult {
    let c = ctx.read();
    let out: Vec<Value> = c
        .tasks
        .iter()
        .rev()
        .filter(|t| visible(ctx, t))
        .take(500)
        .map(Task::list_json)
        .collect();
    Ok(Reply::json(json!(out)))
}
