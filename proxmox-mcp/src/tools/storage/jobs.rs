//! Backup jobs (`/cluster/backup`): list, create, update, delete, run now (`vzdump` on each node
//! with the job's settings) and coverage (guests no enabled job backs up).

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::super::action::{ActionResult, api_assessment, follow, upid_of, wait_secs};
use super::super::{AssessCtx, Assessment, ToolCtx, ToolError};
use super::reads::table;
use super::{Call, Compress, Mode, StorageParams, check};
use crate::pve::params::encode_segment;
use crate::pve::types::ClusterResource;
use crate::pve::{Method, Params};

/// Job settings `vzdump` takes as they are (PVE's GUI "Run now" passes the same).
/// The job's guest selection: replaced by the resolved vmid list when a job is run now.
const SELECTION_KEYS: [&str; 4] = ["all", "exclude", "pool", "vmid"];

const VZDUMP_KEYS: [&str; 31] = [
    "all",
    "bwlimit",
    "compress",
    "dumpdir",
    "exclude",
    "exclude-path",
    "fleecing",
    "ionice",
    "lockwait",
    "mailnotification",
    "mailto",
    "maxfiles",
    "mode",
    "notes-template",
    "notification-mode",
    "pbs-change-detection-mode",
    "performance",
    "pigz",
    "pool",
    "protected",
    "prune-backups",
    "quiet",
    "remove",
    "script",
    "stdexcludes",
    "stop",
    "stopwait",
    "storage",
    "tmpdir",
    "vmid",
    "zstd",
];

/// A job id in PVE's own style, `backup-1a2b3c4d-5e6f`, derived from the job's settings: the
/// same request gets the same id, so a human's confirmation (bound to the planned request)
/// still matches when the call is retried with the answer.
pub fn new_id(settings: &str) -> String {
    use sha2::{Digest as _, Sha256};
    let d = Sha256::digest(settings.as_bytes());
    format!("backup-{}-{}", hex::encode(&d[..4]), hex::encode(&d[4..6]))
}

fn job_path(id: &str) -> String {
    format!("/cluster/backup/{}", encode_segment(id))
}

fn need_id(p: &StorageParams) -> Result<&str, ToolError> {
    let id = p.id.as_deref().ok_or_else(|| {
        ToolError::invalid(format!(
            "id is required for action={} (action=jobs lists the jobs)",
            p.action.as_str()
        ))
    })?;
    check::job_id(id)
}

fn enum_str<T: serde::Serialize>(v: T) -> String {
    serde_json::to_value(v)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

/// The settings shared by create and update.
fn settings(p: &StorageParams, q: &mut Params) -> Result<(), ToolError> {
    if let Some(s) = &p.schedule {
        q.insert("schedule".into(), json!(check::schedule(s)?));
    }
    if let Some(s) = &p.storage {
        q.insert("storage".into(), json!(check::storage_id(s)?));
    }
    if let Some(list) = &p.vmids {
        if list.is_empty() {
            return Err(ToolError::invalid(
                "vmids is empty; give guests or all=true",
            ));
        }
        let ids: Vec<String> = list.iter().map(|v| v.to_string()).collect();
        q.insert("vmid".into(), json!(ids.join(",")));
    }
    if let Some(m) = p.mode {
        q.insert("mode".into(), json!(enum_str::<Mode>(m)));
    }
    if let Some(c) = p.compress {
        let c = match c {
            Compress::None => "0".to_string(),
            other => enum_str(other),
        };
        q.insert("compress".into(), json!(c));
    }
    if let Some(e) = p.enabled {
        q.insert("enabled".into(), json!(e));
    }
    if let Some(c) = &p.comment {
        q.insert("comment".into(), json!(check::comment(c)?));
    }
    if let Some(k) = &p.keep {
        q.insert("prune-backups".into(), json!(check::keep(k)?));
    }
    if let Some(n) = &p.node {
        q.insert("node".into(), json!(n.as_str()));
    }
    Ok(())
}

fn targets(p: &StorageParams) -> String {
    match (&p.vmids, p.all) {
        (_, Some(true)) => "all guests".into(),
        (Some(v), _) => format!(
            "guests {}",
            v.iter()
                .map(|v| v.to_string())
                .collect::<Vec<_>>()
                .join(",")
        ),
        _ => "the same guests".into(),
    }
}

pub(super) fn create(p: &StorageParams, id: &str) -> Result<Call, ToolError> {
    let mut q = Params::new();
    q.insert("id".into(), json!(check::job_id(id)?));
    if p.schedule.is_none() || p.storage.is_none() {
        return Err(ToolError::invalid(
            "job_create needs schedule (e.g. 02:00) and storage",
        ));
    }
    match (&p.vmids, p.all) {
        (Some(_), Some(true)) => {
            return Err(ToolError::invalid("give vmids or all=true, not both"));
        }
        (None, None | Some(false)) => {
            return Err(ToolError::invalid(
                "job_create needs the guests: vmids=[…] or all=true",
            ));
        }
        _ => {}
    }
    if p.all == Some(true) {
        q.insert("all".into(), json!(true));
    }
    settings(p, &mut q)?;
    q.entry("mode").or_insert(json!("snapshot"));
    q.entry("compress").or_insert(json!("zstd"));
    q.entry("enabled").or_insert(json!(true));
    let summary = format!(
        "create backup job {id}: {} at {} to {}",
        targets(p),
        q["schedule"].as_str().unwrap_or_default(),
        q["storage"].as_str().unwrap_or_default()
    );
    Ok(Call {
        method: Method::Post,
        path: "/cluster/backup".into(),
        params: q,
        summary,
        task: false,
    })
}

pub(super) fn update(p: &StorageParams) -> Result<Call, ToolError> {
    let id = need_id(p)?;
    let mut q = Params::new();
    settings(p, &mut q)?;
    match (&p.vmids, p.all) {
        (Some(_), Some(true)) => {
            return Err(ToolError::invalid("give vmids or all=true, not both"));
        }
        (Some(_), _) => {
            q.insert("delete".into(), json!("all,pool,exclude"));
        }
        (None, Some(true)) => {
            q.insert("all".into(), json!(true));
            q.insert("delete".into(), json!("vmid,pool"));
        }
        (None, Some(false)) => {
            return Err(ToolError::invalid(
                "all=false alone leaves the job without guests; give vmids instead",
            ));
        }
        (None, None) => {}
    }
    if q.is_empty() {
        return Err(ToolError::invalid(
            "job_update needs a change: schedule, storage, vmids, all, mode, compress, enabled, \
             comment, keep or node",
        ));
    }
    let changes: Vec<String> = q
        .iter()
        .map(|(k, v)| format!("{k}={}", v.as_str().map_or(v.to_string(), str::to_string)))
        .collect();
    Ok(Call {
        method: Method::Put,
        path: job_path(id),
        summary: format!("update backup job {id}: {}", changes.join(" ")),
        params: q,
        task: false,
    })
}

pub(super) fn delete(p: &StorageParams) -> Result<Call, ToolError> {
    let id = need_id(p)?;
    Ok(Call {
        method: Method::Delete,
        path: job_path(id),
        params: Params::new(),
        summary: format!("DELETE backup job {id} (its backups stay)"),
        task: false,
    })
}

/// A stored value as text (PVE mixes numbers and strings).
fn text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(if *b { "1" } else { "0" }.into()),
        _ => None,
    }
}

pub(super) async fn list(ctx: &ToolCtx) -> Result<ActionResult, ToolError> {
    let jobs: Vec<Value> = ctx.pve.get("/cluster/backup", &Params::new()).await?;
    let rows: Vec<Vec<Value>> = jobs
        .iter()
        .map(|j| {
            let t = |k: &str| text(&j[k]);
            let guests = if t("all").as_deref() == Some("1") {
                match t("exclude") {
                    Some(x) => format!("all except {x}"),
                    None => "all".into(),
                }
            } else if let Some(p) = t("pool") {
                format!("pool {p}")
            } else {
                t("vmid").unwrap_or_default()
            };
            vec![
                json!(t("id")),
                json!(t("enabled").as_deref() != Some("0")),
                json!(t("schedule")),
                json!(t("storage")),
                json!(guests),
                json!(t("node")),
                json!(t("mode")),
                json!(t("compress")),
                j["next-run"]
                    .as_u64()
                    .map_or(Value::Null, |e| json!(super::iso(e))),
                json!(t("comment")),
            ]
        })
        .collect();
    let message = format!("{} backup jobs", rows.len());
    let data = table(
        &[
            "id", "enabled", "schedule", "storage", "guests", "node", "mode", "compress",
            "next_run", "comment",
        ],
        rows,
    );
    Ok(ActionResult::done("jobs", "cluster", data, message))
}

pub(super) async fn coverage(ctx: &ToolCtx) -> Result<ActionResult, ToolError> {
    let list: Vec<Value> = ctx
        .pve
        .get("/cluster/backup-info/not-backed-up", &Params::new())
        .await?;
    let rows: Vec<Vec<Value>> = list
        .iter()
        .map(|g| vec![g["vmid"].clone(), g["name"].clone(), g["type"].clone()])
        .collect();
    let message = if rows.is_empty() {
        "every guest is covered by an enabled backup job".to_string()
    } else {
        format!("{} guests are in no enabled backup job", rows.len())
    };
    Ok(ActionResult::done(
        "coverage",
        "cluster",
        table(&["vmid", "name", "type"], rows),
        message,
    ))
}

/// The guests a job covers, by node: `all` (minus `exclude`), `vmid` list or `pool`, limited to
/// the job's `node`.
fn covered(job: &Value, guests: &[ClusterResource]) -> BTreeMap<String, Vec<u32>> {
    let t = |k: &str| text(&job[k]);
    let list = |k: &str| -> Vec<u32> {
        t(k).unwrap_or_default()
            .split([',', ';', ' '])
            .filter_map(|v| v.trim().parse().ok())
            .collect()
    };
    let (all, ids, exclude, pool, only) = (
        t("all").as_deref() == Some("1"),
        list("vmid"),
        list("exclude"),
        t("pool"),
        t("node"),
    );
    let mut out: BTreeMap<String, Vec<u32>> = BTreeMap::new();
    for g in guests {
        let (Some(vmid), Some(node)) = (g.vmid, g.node.as_deref()) else {
            continue;
        };
        if g.template || only.as_deref().is_some_and(|n| n != node) {
            continue;
        }
        let hit = (all && !exclude.contains(&vmid))
            || ids.contains(&vmid)
            || pool.is_some() && g.pool == pool;
        if hit {
            out.entry(node.to_string()).or_default().push(vmid);
        }
    }
    out
}

/// One node's part of running a job now: the guests approved there and the `vzdump` request
/// that backs exactly them up.
#[derive(Debug, Clone, serde::Serialize)]
struct RunStep {
    node: String,
    vmids: Vec<u32>,
    request: crate::pve::Request,
}

/// Per node, the `vzdump` request that runs the job there.
async fn run_plan(ctx: &AssessCtx, p: &StorageParams) -> Result<(String, Vec<RunStep>), ToolError> {
    let id = need_id(p)?.to_string();
    let job: Value = ctx.pve.get(&job_path(&id), &Params::new()).await?;
    let guests = ctx.guests().await?;
    let mut by_node = covered(&job, &guests);
    if let Some(n) = &p.node {
        by_node.retain(|k, _| k == n.as_str());
    }
    if by_node.is_empty() {
        return Err(ToolError::NotFound(format!(
            "backup job {id} covers no guest{}; nothing to run",
            p.node
                .as_ref()
                .map_or(String::new(), |n| format!(" on node {n}"))
        )));
    }
    let mut params = Params::new();
    for k in VZDUMP_KEYS {
        if SELECTION_KEYS.contains(&k) {
            continue;
        }
        if let Some(v) = text(&job[k]) {
            params.insert(k.into(), json!(v));
        }
    }
    // Each node backs up exactly the guests the human approved, named by vmid: a selection
    // (all, pool, exclude) would be resolved again when it runs and could take in guests
    // added since.
    let plan = by_node
        .into_iter()
        .map(|(node, vmids)| {
            let mut params = params.clone();
            let list: Vec<String> = vmids.iter().map(u32::to_string).collect();
            params.insert("vmid".into(), json!(list.join(",")));
            let path = format!("/nodes/{}/vzdump", encode_segment(&node));
            RunStep {
                request: crate::pve::Request::new(Method::Post, path, params),
                node,
                vmids,
            }
        })
        .collect();
    Ok((id, plan))
}

pub(super) async fn run_assess(ctx: AssessCtx, p: StorageParams) -> Result<Assessment, ToolError> {
    let (id, plan) = run_plan(&ctx, &p).await?;
    let first = &plan[0].request.params;
    let parts: Vec<String> = plan
        .iter()
        .map(|s| format!("{}: {:?}", s.node, s.vmids))
        .collect();
    let summary = format!(
        "run backup job {id} now (vzdump to {}, mode {}) on {}",
        first.get("storage").and_then(Value::as_str).unwrap_or("?"),
        first
            .get("mode")
            .and_then(Value::as_str)
            .unwrap_or("snapshot"),
        parts.join("; ")
    );
    let mut a: Option<Assessment> = None;
    // Every node's request is judged, each with its guests.
    for step in &plan {
        let r = &step.request;
        let one =
            api_assessment(&ctx, r.method.as_str(), &r.path, &r.params, summary.clone()).await?;
        match &mut a {
            None => a = Some(one),
            Some(a) => a.join(one),
        }
    }
    let mut a = a.ok_or_else(|| ToolError::Config("nothing to run".into()))?;
    a.set_plan(plan)?;
    Ok(a)
}

pub(super) async fn run(ctx: &ToolCtx, p: &StorageParams) -> Result<ActionResult, ToolError> {
    let wait = wait_secs(p.wait, 0)?;
    let id = need_id(p)?;
    let plan: &Vec<RunStep> = ctx.plan()?;
    let mut started = Vec::new();
    for step in plan {
        let r = &step.request;
        let res = match ctx.pve.call(r.method, &r.path, &r.params).await {
            Ok(data) => match upid_of(&data) {
                Ok(upid) => follow(ctx, &upid, wait).await,
                Err(e) => Err(e),
            },
            Err(e) => Err(e.into()),
        };
        started.push((step.node.clone(), json!(step.vmids), res));
    }
    let target = format!("backup job {id}");
    if let [(node, _, r)] = started.as_slice() {
        return match r {
            Ok(task) => ActionResult::task("job_run", format!("{target} on {node}"), task.clone())
                .into_result(),
            Err(e) => Err(ToolError::Refused(format!("{target} on {node}: {e}"))),
        };
    }
    let ok = started
        .iter()
        .all(|(_, _, r)| r.as_ref().is_ok_and(|t| t.ok()));
    let rows: Vec<Value> = started
        .iter()
        .map(|(node, vmids, r)| match r {
            Ok(t) => json!({"node": node, "vmids": vmids, "upid": t.upid, "status": t.status}),
            Err(e) => json!({"node": node, "vmids": vmids, "error": e.to_string()}),
        })
        .collect();
    let upid = started
        .iter()
        .find_map(|(_, _, r)| r.as_ref().ok().map(|t| t.upid.clone()));
    let message = format!(
        "job_run {target}: vzdump on {} nodes, {}; follow each upid with task_status",
        started.len(),
        if ok { "all started" } else { "SOME FAILED" }
    );
    let mut result = ActionResult::done("job_run", target, json!(rows), message);
    result.ok = ok;
    result.upid = upid;
    if ok {
        Ok(result)
    } else {
        Err(ToolError::Refused(format!(
            "{}\n{}",
            result.message,
            serde_json::to_string(&result.data).unwrap_or_default()
        )))
    }
}
