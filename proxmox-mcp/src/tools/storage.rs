//! `storage_operations`: storages and their content, ISO/template downloads, volume deletion,
//! backup pruning and backup jobs, as one action tool.
//!
//! Every mutation is assessed as the PVE request it makes ([`api_assessment`]); the reads
//! (`list`, `status`, `content`, `jobs`, `coverage`, a prune dry run) assess as reads.

mod check;
mod jobs;
mod reads;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::action::{ActionResult, api_assessment, follow, upid_of, wait_secs};
use super::args::{NodeName, Vmid};
use super::task_list::iso;
use super::{AssessCtx, Assessment, Hints, ToolCtx, ToolDef, ToolError};
use crate::policy::Class;
use crate::policy::engine::Request;
use crate::pve::params::encode_segment;
use crate::pve::{Method, Params};

pub fn tools() -> Vec<ToolDef> {
    vec![
        ToolDef::new(
            "storage_operations",
            "Storage and backups",
            "Storages, volumes, ISO/template downloads, backup pruning and jobs.",
            Class::Destructive,
            Hints {
                read_only: false,
                destructive: true,
                idempotent: false,
                open_world: true,
            },
            &[
                "GET /storage",
                "GET /cluster/resources",
                "GET /nodes",
                "GET /nodes/{node}/storage",
                "GET /nodes/{node}/storage/{storage}/content",
                "POST /nodes/{node}/storage/{storage}/download-url",
                "DELETE /nodes/{node}/storage/{storage}/content/{volume}",
                "GET /nodes/{node}/storage/{storage}/prunebackups",
                "DELETE /nodes/{node}/storage/{storage}/prunebackups",
                "GET /cluster/backup",
                "GET /cluster/backup/{id}",
                "POST /cluster/backup",
                "PUT /cluster/backup/{id}",
                "DELETE /cluster/backup/{id}",
                "GET /cluster/backup-info/not-backed-up",
                "POST /nodes/{node}/vzdump",
            ],
            storage_operations,
        )
        .assessed_async_by(assess)
        .read_actions(&["list", "status", "content", "jobs", "coverage"]),
    ]
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    List,
    Status,
    Content,
    DownloadUrl,
    DeleteVolume,
    PruneBackups,
    Jobs,
    JobCreate,
    JobUpdate,
    JobDelete,
    JobRun,
    Coverage,
}

impl Action {
    fn as_str(self) -> &'static str {
        match self {
            Action::List => "list",
            Action::Status => "status",
            Action::Content => "content",
            Action::DownloadUrl => "download_url",
            Action::DeleteVolume => "delete_volume",
            Action::PruneBackups => "prune_backups",
            Action::Jobs => "jobs",
            Action::JobCreate => "job_create",
            Action::JobUpdate => "job_update",
            Action::JobDelete => "job_delete",
            Action::JobRun => "job_run",
            Action::Coverage => "coverage",
        }
    }
}

#[derive(Debug, Clone, Copy, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    Snapshot,
    Suspend,
    Stop,
}

#[derive(Debug, Clone, Copy, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Compress {
    None,
    Gzip,
    Lzo,
    Zstd,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StorageParams {
    pub action: Action,
    /// Needed except by list/status/jobs
    pub node: Option<NodeName>,
    pub storage: Option<String>,
    /// iso, vztmpl, backup, images…
    pub content: Option<String>,
    pub vmid: Option<Vmid>,
    pub url: Option<String>,
    pub filename: Option<String>,
    /// Hex digest
    pub checksum: Option<String>,
    /// volid
    pub volume: Option<String>,
    /// Default true
    pub dry_run: Option<bool>,
    /// keep-last=3,keep-daily=7
    pub keep: Option<String>,
    pub id: Option<String>,
    /// e.g. 02:00, sat 03:30
    pub schedule: Option<String>,
    pub vmids: Option<Vec<Vmid>>,
    pub all: Option<bool>,
    pub mode: Option<Mode>,
    pub compress: Option<Compress>,
    pub enabled: Option<bool>,
    pub comment: Option<String>,
    /// Seconds (default 60, job_run 0)
    #[schemars(range(max = 600))]
    pub wait: Option<u64>,
}

/// One PVE request a mutation makes.
struct Call {
    method: Method,
    path: String,
    params: Params,
    summary: String,
    /// The request returns a UPID to follow.
    task: bool,
}

fn read(summary: String) -> Assessment {
    Assessment::new(Request::new(Class::Read), summary)
}

async fn assess(ctx: AssessCtx, p: StorageParams) -> Result<Assessment, ToolError> {
    let what = p.action.as_str();
    match p.action {
        Action::List | Action::Jobs | Action::Coverage => Ok(read(format!("storage {what}"))),
        Action::Status | Action::Content => {
            let on = p.node.as_ref().map_or("all nodes".into(), |n| n.0.clone());
            Ok(read(format!(
                "storage {what} {} on {on}",
                p.storage.as_deref().map(check::clip).unwrap_or_default()
            )))
        }
        Action::PruneBackups => prune_assess(ctx, p).await,
        Action::JobRun => jobs::run_assess(ctx, p).await,
        Action::JobCreate => {
            let id = match &p.id {
                Some(id) => check::job_id(id)?.to_string(),
                None => jobs::new_id(&format!("{p:?}")),
            };
            let call = jobs::create(&p, &id)?;
            let mut a = assessment(&ctx, &call).await?;
            a.set_plan(NewJob { id })?;
            Ok(a)
        }
        _ => assessment(&ctx, &mutation(&p)?).await,
    }
}

async fn assessment(ctx: &AssessCtx, call: &Call) -> Result<Assessment, ToolError> {
    api_assessment(
        ctx,
        call.method.as_str(),
        &call.path,
        &call.params,
        call.summary.clone(),
    )
    .await
}

/// The single request of `download_url`, `delete_volume`, `job_update` and `job_delete`.
fn mutation(p: &StorageParams) -> Result<Call, ToolError> {
    match p.action {
        Action::DownloadUrl => download(p),
        Action::DeleteVolume => delete_volume(p),
        Action::JobUpdate => jobs::update(p),
        Action::JobDelete => jobs::delete(p),
        other => Err(ToolError::Config(format!(
            "{} is not a single-request action",
            other.as_str()
        ))),
    }
}

fn need_node(p: &StorageParams) -> Result<&str, ToolError> {
    p.node.as_ref().map(|n| n.as_str()).ok_or_else(|| {
        ToolError::invalid(format!(
            "node is required for action={} (action=status lists storages per node)",
            p.action.as_str()
        ))
    })
}

fn need_storage(p: &StorageParams) -> Result<&str, ToolError> {
    let s = p.storage.as_deref().ok_or_else(|| {
        ToolError::invalid(format!(
            "storage is required for action={} (action=list shows them)",
            p.action.as_str()
        ))
    })?;
    check::storage_id(s)
}

fn storage_path(node: &str, storage: &str, rest: &str) -> String {
    format!(
        "/nodes/{}/storage/{}{rest}",
        encode_segment(node),
        encode_segment(storage)
    )
}

fn download(p: &StorageParams) -> Result<Call, ToolError> {
    let node = need_node(p)?;
    let storage = need_storage(p)?;
    let url = check::url(p.url.as_deref().ok_or_else(|| {
        ToolError::invalid("url is required for download_url (http:// or https://)")
    })?)?;
    let name = match &p.filename {
        Some(f) => f.clone(),
        None => url
            .path_segments()
            .and_then(|mut s| s.next_back())
            .unwrap_or_default()
            .to_string(),
    };
    let name = check::filename(&name)?;
    let content = check::download_content(p.content.as_deref(), name)?;
    let mut params = Params::new();
    params.insert("url".into(), json!(url.as_str()));
    params.insert("filename".into(), json!(name));
    params.insert("content".into(), json!(content));
    if let Some(sum) = &p.checksum {
        let (sum, alg) = check::checksum(sum)?;
        params.insert("checksum".into(), json!(sum));
        params.insert("checksum-algorithm".into(), json!(alg));
    }
    Ok(Call {
        method: Method::Post,
        path: storage_path(node, storage, "/download-url"),
        summary: format!("download {url} to {storage}:{content}/{name} on node {node}"),
        params,
        task: true,
    })
}

fn delete_volume(p: &StorageParams) -> Result<Call, ToolError> {
    let node = need_node(p)?;
    let vol = p
        .volume
        .as_deref()
        .ok_or_else(|| ToolError::invalid("volume is required for delete_volume"))?;
    let storage = p.storage.as_deref().map(check::storage_id).transpose()?;
    let (storage, volid) = check::volume(vol, storage)?;
    let guest = check::volume_owner(&volid);
    let of = guest.map_or(String::new(), |g| format!(" (belongs to guest {g})"));
    Ok(Call {
        method: Method::Delete,
        path: storage_path(
            node,
            &storage,
            &format!("/content/{}", encode_segment(&volid)),
        ),
        params: Params::new(),
        summary: format!("DELETE volume {volid} on node {node}{of}"),
        task: true,
    })
}

/// The query of both prune requests.
fn prune_params(p: &StorageParams) -> Result<Params, ToolError> {
    let mut q = Params::new();
    if let Some(k) = &p.keep {
        q.insert("prune-backups".into(), json!(check::keep(k)?));
    }
    if let Some(v) = p.vmid {
        q.insert("vmid".into(), json!(v.0));
    }
    Ok(q)
}

async fn prune_assess(ctx: AssessCtx, p: StorageParams) -> Result<Assessment, ToolError> {
    let node = need_node(&p)?;
    let storage = need_storage(&p)?;
    let q = prune_params(&p)?;
    let path = storage_path(node, storage, "/prunebackups");
    if p.dry_run != Some(false) {
        return Ok(read(format!(
            "preview pruning backups on {storage} (node {node})"
        )));
    }
    let (remove, _) = super::request::prune_preview(&ctx.pve, &path, &q).await?;
    let volids: Vec<&str> = remove.iter().map(|(v, _)| v.as_str()).collect();
    let plan = Prune {
        remove: volids.iter().map(|v| v.to_string()).collect(),
    };
    if remove.is_empty() {
        let mut a = read(format!(
            "prune backups on {storage} (node {node}): nothing to remove"
        ));
        a.set_plan(plan)?;
        return Ok(a);
    }
    let summary = format!(
        "PRUNE (delete) {} backups on {storage} (node {node}): {}",
        remove.len(),
        volids.join(", ")
    );
    let mut guests: Vec<u32> = remove.iter().filter_map(|(_, g)| *g).collect();
    guests.sort_unstable();
    guests.dedup();
    let mut a = api_assessment(&ctx, "DELETE", &path, &q, summary).await?;
    a.set_plan(plan)?;
    Ok(a)
}

/// The id a new backup job gets, chosen when the call was assessed.
#[derive(serde::Serialize)]
struct NewJob {
    id: String,
}

/// The backups a prune was approved to remove.
#[derive(serde::Serialize)]
struct Prune {
    remove: Vec<String>,
}

async fn storage_operations(ctx: ToolCtx, p: StorageParams) -> Result<ActionResult, ToolError> {
    let what = p.action.as_str();
    match p.action {
        Action::List => reads::list(&ctx).await,
        Action::Status => reads::status(&ctx, &p).await,
        Action::Content => reads::content(&ctx, &p).await,
        Action::PruneBackups => prune(&ctx, &p).await,
        Action::Jobs => jobs::list(&ctx).await,
        Action::Coverage => jobs::coverage(&ctx).await,
        Action::JobRun => jobs::run(&ctx, &p).await,
        Action::JobCreate => {
            let id = ctx.plan::<NewJob>()?.id.clone();
            let call = jobs::create(&p, &id)?;
            let mut r = execute(&ctx, what, call, &p).await?;
            r.data = Some(json!({"id": id}));
            Ok(r)
        }
        _ => execute(&ctx, what, mutation(&p)?, &p).await,
    }
}

/// Makes `call`; a task is followed for `wait` seconds.
async fn execute(
    ctx: &ToolCtx,
    what: &str,
    call: Call,
    p: &StorageParams,
) -> Result<ActionResult, ToolError> {
    let wait = wait_secs(p.wait, 60)?;
    let data = ctx.pve.call(call.method, &call.path, &call.params).await?;
    if !call.task {
        return Ok(ActionResult::done(
            what,
            call.summary.clone(),
            data,
            format!("{what}: done ({})", call.summary),
        ));
    }
    let upid = upid_of(&data)?;
    let task = follow(ctx, &upid, wait).await?;
    ActionResult::task(what, call.summary, task).into_result()
}

async fn prune(ctx: &ToolCtx, p: &StorageParams) -> Result<ActionResult, ToolError> {
    let node = need_node(p)?;
    let storage = need_storage(p)?;
    let q = prune_params(p)?;
    let path = storage_path(node, storage, "/prunebackups");
    let (remove, marks) = super::request::prune_preview(&ctx.pve, &path, &q).await?;
    let target = format!("{storage} on {node}");
    if p.dry_run != Some(false) {
        let rows = marks
            .iter()
            .map(|m| {
                vec![
                    m["volid"].clone(),
                    m["vmid"].clone(),
                    m["ctime"].as_u64().map_or(Value::Null, |t| json!(iso(t))),
                    m["mark"].clone(),
                ]
            })
            .collect();
        let message = format!(
            "dry run: {} of {} backups would be removed; run again with dry_run=false to prune",
            remove.len(),
            marks.len()
        );
        let data = reads::table(&["volid", "vmid", "created", "mark"], rows);
        return Ok(ActionResult::done("prune_backups", target, data, message));
    }
    let approved: Vec<&str> = ctx
        .plan::<Prune>()
        .map(|p| p.remove.iter().map(String::as_str).collect())
        .unwrap_or_default();
    let extra: Vec<&str> = remove
        .iter()
        .map(|(v, _)| v.as_str())
        .filter(|v| !approved.contains(v))
        .collect();
    if !extra.is_empty() {
        return Err(ToolError::Refused(format!(
            "the backups to remove changed since the assessment ({} not approved: {}); nothing \
             was pruned, run the action again",
            extra.len(),
            extra.join(", ")
        )));
    }
    if remove.is_empty() {
        return Ok(ActionResult::done(
            "prune_backups",
            target,
            json!({"removed": []}),
            "nothing to prune: every backup is kept by the retention options".into(),
        ));
    }
    let wait = wait_secs(p.wait, 60)?;
    let upid = upid_of(&ctx.pve.call(Method::Delete, &path, &q).await?)?;
    let task = follow(ctx, &upid, wait).await?;
    let mut r = ActionResult::task("prune_backups", target, task);
    r.data = Some(json!({"removed": remove.iter().map(|(v, _)| v).collect::<Vec<_>>()}));
    r.into_result()
}
