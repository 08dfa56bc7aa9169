//! The gate every call passes before it may run: what the call is ([`Assessment`]), what an
//! assessor may consult ([`AssessCtx`]: who we are, the mode, the cluster, and the guest facts
//! of this one call, fetched once), and the verdict ([`decide`]: the policy function over the
//! assessment, with the target guests' protection looked up).
//!
//! The gate sits between the tools and the pure policy: tools build assessments through it,
//! the dispatcher asks it for the verdict, and `explain_command` asks it the same question
//! without running anything. It imports nothing from the tools or the dispatcher.

pub mod identity;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use crate::config::ExecConfig;
use crate::error::ToolError;
use crate::policy::api::Selection;
use crate::policy::command::ServerFiles;
use crate::policy::decision::Decision;
use crate::policy::engine::{GuestTarget, Policy, Request, evaluate};
use crate::policy::mode::Mode;
use crate::policy::protect::Identity;
use crate::pve::types::ClusterResource;
use crate::pve::{Pve, PveError};

/// What the policy engine needs to know about one call before it runs. Tools with a fixed class
/// get the registry's default; tools whose danger depends on their arguments (`proxmox_api`,
/// `execute_command`, `toggle_mode`, the action tools) declare their own assessor.
#[derive(Debug, Clone)]
pub struct Assessment {
    /// Class and root-protection hits; the gate fills in the target guest.
    pub request: Request,
    /// Guests the call acts on: their tags and PVE `protection` flag are looked up for
    /// destructive calls.
    pub guests: Vec<u32>,
    /// One line a human reads before approving: what exactly will happen.
    pub summary: String,
    /// What the call acts on, for the audit log: `qemu/100`, `node pve1`, `POST /nodes/…`.
    pub target: Option<String>,
    /// A tool's own decision, replacing the mode table (root protection still comes first):
    /// `toggle_mode` always asks before making the server less safe.
    pub decision: Option<Decision>,
    /// What the assessment resolved (the requests, the guests a tag selector matched), handed
    /// to the handler as it is, so it acts on exactly what the human approved.
    pub plan: Option<Plan>,
    /// Sets of guests the requests select that only the cluster resolves (a pool, a node's
    /// guests, every guest, a backup job's selection): resolved for calls that may destroy.
    pub selections: Vec<Selection>,
    /// The PVE requests the call will make, as planned: what `proxmox_api` with the same
    /// request is judged on, so both get the same verdict.
    pub requests: Vec<crate::pve::Request>,
}

impl Assessment {
    pub fn new(request: Request, summary: impl Into<String>) -> Self {
        Assessment {
            request,
            guests: Vec::new(),
            summary: summary.into(),
            target: None,
            decision: None,
            plan: None,
            selections: Vec::new(),
            requests: Vec::new(),
        }
    }

    pub fn target(mut self, target: impl Into<String>) -> Self {
        self.target = Some(target.into());
        self
    }

    pub fn guests(mut self, vmids: impl IntoIterator<Item = u32>) -> Self {
        self.guests.extend(vmids);
        self
    }

    /// Hands `plan` to the handler (typed, read back by the tool context) and binds a
    /// human's yes to it (its JSON form is part of what an approval is bound to).
    pub fn set_plan<T: serde::Serialize + Send + Sync + 'static>(
        &mut self,
        plan: T,
    ) -> Result<(), ToolError> {
        let bound = serde_json::to_value(&plan)
            .map_err(|e| ToolError::Config(format!("cannot describe the plan: {e}")))?;
        self.plan = Some(Plan {
            bound,
            typed: Arc::new(plan),
        });
        Ok(())
    }

    /// Adds another request of the same call: the call is as dangerous as its most dangerous
    /// request, and acts on every request's guests.
    pub fn join(&mut self, other: Assessment) {
        let (r, o) = (&mut self.request, other.request);
        r.class = r.class.max(o.class);
        r.may_destroy |= o.may_destroy;
        r.guests_unknown |= o.guests_unknown;
        for hit in o.protected {
            if !r.protected.contains(&hit) {
                r.protected.push(hit);
            }
        }
        for g in other.guests {
            if !self.guests.contains(&g) {
                self.guests.push(g);
            }
        }
        for s in other.selections {
            if !self.selections.contains(&s) {
                self.selections.push(s);
            }
        }
        self.requests.extend(other.requests);
    }
}

/// What an assessment resolved for its handler: the value itself, and its JSON form that a
/// human's yes is bound to.
#[derive(Clone)]
pub struct Plan {
    pub bound: serde_json::Value,
    pub typed: Arc<dyn std::any::Any + Send + Sync>,
}

impl std::fmt::Debug for Plan {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Plan({})", self.bound)
    }
}

/// What an assessor may consult: who we are, the mode, how commands would run, and (for
/// assessors that resolve targets) the cluster.
#[derive(Clone)]
pub struct AssessCtx {
    pub cluster: String,
    pub identity: Identity,
    pub mode: Mode,
    pub exec: ExecConfig,
    pub pve: Pve,
    /// The server's own files, out of every command's reach.
    pub server: Arc<ServerFiles>,
    /// What this call learned about guests, shared with the verdict.
    pub facts: Arc<GuestFacts>,
    /// The server's state directory and configuration file, for tools about the server itself
    /// (`None` until the dispatcher sets them).
    pub server_paths: Option<(std::path::PathBuf, Option<std::path::PathBuf>)>,
    /// The `[update]` settings, so `self_update`'s summary names what would run.
    pub update: Option<crate::config::UpdateConfig>,
}

/// What the gate learned about guests during one call: `/cluster/resources` (read at most
/// once, or carried over from the round that asked a human) and each guest's tags and
/// `protection` flag (one config read per guest, at most once). The
/// assessor and the verdict share it, so a call resolves each guest once.
#[derive(Default)]
pub struct GuestFacts {
    resources: tokio::sync::OnceCell<Arc<Vec<ClusterResource>>>,
    flags: Mutex<HashMap<u32, (bool, Vec<String>)>>,
    /// The resources came from the asking round and hold only its guests.
    seeded: std::sync::atomic::AtomicBool,
}

impl AssessCtx {
    /// The context of one call: its facts start empty.
    pub fn for_call(
        cluster: String,
        identity: Identity,
        mode: Mode,
        exec: ExecConfig,
        pve: Pve,
        server: Arc<ServerFiles>,
    ) -> Self {
        AssessCtx {
            cluster,
            identity,
            mode,
            exec,
            pve,
            server,
            facts: Arc::default(),
            server_paths: None,
            update: None,
        }
    }

    /// Sets [`AssessCtx::server_paths`]: the state directory and the configuration file.
    pub fn with_server_paths(
        mut self,
        state_dir: std::path::PathBuf,
        config_file: Option<std::path::PathBuf>,
    ) -> Self {
        self.server_paths = Some((state_dir, config_file));
        self
    }

    /// Sets [`AssessCtx::update`].
    pub fn with_update(mut self, update: crate::config::UpdateConfig) -> Self {
        self.update = Some(update);
        self
    }

    /// The cluster's guests (`GET /cluster/resources?type=vm`), read once per call.
    pub async fn guests(&self) -> Result<Arc<Vec<ClusterResource>>, PveError> {
        self.facts
            .resources
            .get_or_try_init(|| async {
                self.pve.cluster_resources(Some("vm")).await.map(Arc::new)
            })
            .await
            .cloned()
    }

    /// Starts this call's facts with guests an earlier round of the same call (same tool and
    /// arguments) read: its guests resolve to the same ones without reading them again. Their
    /// protection (tags and flag) is read fresh from each guest's configuration.
    pub fn seed(&self, guests: Vec<ClusterResource>) {
        if self.facts.resources.set(Arc::new(guests)).is_ok() {
            self.facts
                .seeded
                .store(true, std::sync::atomic::Ordering::Relaxed);
        }
    }

    /// The guests among `vmids` this call read, to seed the round that answers it.
    pub fn known_guests(&self, vmids: &[u32]) -> Vec<ClusterResource> {
        self.facts
            .resources
            .get()
            .map(|all| {
                all.iter()
                    .filter(|r| r.vmid.is_some_and(|v| vmids.contains(&v)))
                    .cloned()
                    .collect()
            })
            .unwrap_or_default()
    }

    /// PVE's tags and `protection` flag of a guest, from its configuration, read once per call.
    async fn protection(
        &self,
        r: &ClusterResource,
        vmid: u32,
    ) -> Result<(bool, Vec<String>), ToolError> {
        if let Some(known) = self
            .facts
            .flags
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&vmid)
        {
            return Ok(known.clone());
        }
        let (Some(kind), Some(node)) = (r.guest_kind(), r.node.as_deref()) else {
            return Ok((false, Vec::new()));
        };
        let config = self.pve.guest_config(kind, node, vmid).await?;
        let flag = config
            .get_str("protection")
            .is_some_and(|v| matches!(v.trim(), "1" | "true"));
        let tags: Vec<String> = crate::pve::types::split_tags(config.get_str("tags").as_deref())
            .into_iter()
            .map(str::to_owned)
            .collect();
        self.facts
            .flags
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(vmid, (flag, tags.clone()));
        Ok((flag, tags))
    }
}

/// Whether [`decide`] reads the target guests' `protection` flags (one config read each).
/// The configured vmids and tags are always checked; the flag can wait for the round that
/// runs the call when a human is asked first: the dispatcher checks it again before running.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flags {
    Check,
    Later,
}

/// The policy decision, with every target guest's protection looked up for calls that may
/// destroy (destructive, or commands that could do anything). The strictest decision over
/// the guests wins; a lookup failure refuses (fail closed).
pub async fn decide(
    policy: &Policy,
    a: &Assessment,
    ctx: &AssessCtx,
    flags: Flags,
) -> Result<Decision, ToolError> {
    let base = || match &a.decision {
        Some(d) if a.request.protected.is_empty() => d.clone(),
        _ => evaluate(policy, &a.request),
    };
    if !a.request.may_destroy || (a.guests.is_empty() && a.selections.is_empty()) {
        return Ok(base());
    }
    let mut vmids = a.guests.clone();
    for s in &a.selections {
        let chosen = selected(ctx, s).await.map_err(|e| {
            ToolError::Refused(format!(
                "cannot resolve the guests this selects ({e}), so protected guests cannot be \
                 ruled out; nothing was done. Name the vmids instead"
            ))
        })?;
        for v in chosen {
            if !vmids.contains(&v) {
                vmids.push(v);
            }
        }
    }
    let guests = guest_targets(ctx, &vmids, flags).await.map_err(|e| {
        ToolError::Refused(format!(
            "cannot check whether the target guests are protected ({e}); nothing was done"
        ))
    })?;
    let mut worst = base();
    for g in guests {
        let d = evaluate(policy, &a.request.clone().with_guest(g));
        if d.strictness() > worst.strictness() {
            worst = d;
        }
    }
    Ok(worst)
}

/// The guests a selection stands for now.
async fn selected(ctx: &AssessCtx, s: &Selection) -> Result<Vec<u32>, ToolError> {
    let all = ctx.guests().await?;
    let pick = |keep: &dyn Fn(&ClusterResource) -> bool| -> Vec<u32> {
        all.iter()
            .filter(|r| keep(r))
            .filter_map(|r| r.vmid)
            .collect()
    };
    Ok(match s {
        Selection::All => pick(&|_| true),
        Selection::Node(n) => pick(&|r| r.node.as_deref() == Some(n.as_str())),
        Selection::Pool(p) => pick(&|r| r.pool.as_deref() == Some(p.as_str())),
        Selection::BackupJob(id) => {
            let path = format!("/cluster/backup/{}", crate::pve::params::encode_segment(id));
            let job = ctx
                .pve
                .call(crate::pve::Method::Get, &path, &crate::pve::Params::new())
                .await?;
            let text = |k: &str| match job.get(k) {
                Some(serde_json::Value::String(s)) => Some(s.clone()),
                Some(serde_json::Value::Number(n)) => Some(n.to_string()),
                _ => None,
            };
            let all_flag = text("all").is_some_and(|v| v != "0");
            let node = text("node");
            let pool = text("pool");
            let ids: Vec<u32> = text("vmid")
                .unwrap_or_default()
                .split([',', ' ', ';'])
                .filter_map(|v| v.trim().parse().ok())
                .collect();
            // Conservative: `exclude` is not subtracted, and `all` counts every guest.
            pick(&|r| {
                let on_node = node.as_deref().is_none_or(|n| r.node.as_deref() == Some(n));
                let vmid = r.vmid.unwrap_or(0);
                (all_flag && on_node)
                    || ids.contains(&vmid)
                    || pool
                        .as_deref()
                        .is_some_and(|p| r.pool.as_deref() == Some(p))
            })
        }
    })
}

/// Tags (from `/cluster/resources`) and, with [`Flags::Check`], the `protection` flag (from
/// each config) of `vmids`. Guests that do not exist are skipped: the call itself reports them.
pub async fn guest_targets(
    ctx: &AssessCtx,
    vmids: &[u32],
    flags: Flags,
) -> Result<Vec<GuestTarget>, ToolError> {
    let mut resources = ctx.guests().await?;
    let seeded = ctx.facts.seeded.load(std::sync::atomic::Ordering::Relaxed);
    if seeded
        && vmids
            .iter()
            .any(|v| !resources.iter().any(|r| r.vmid == Some(*v)))
    {
        // A guest the asking round did not see: never skip its check, read them all.
        resources = Arc::new(ctx.pve.cluster_resources(Some("vm")).await?);
    }
    let mut out = Vec::new();
    for &vmid in vmids {
        let Some(r) = resources.iter().find(|r| r.vmid == Some(vmid)) else {
            continue;
        };
        let mut tags: Vec<String> = r.tag_list().into_iter().map(str::to_owned).collect();
        let protection_flag = match flags {
            Flags::Check => {
                // The configuration is the truth: its tags count as well as the listed ones.
                let (flag, current) = ctx.protection(r, vmid).await?;
                tags.extend(current);
                flag
            }
            Flags::Later => false,
        };
        out.push(GuestTarget {
            vmid,
            tags,
            protection_flag,
        });
    }
    Ok(out)
}
