//! `health_check` and `best_practices`: thin tools over the diagnostics wing.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{Hints, Render, ToolCtx, ToolDef, ToolError};
use crate::diagnostics::collect::{self, Scope, ToolEndpoints};
use crate::diagnostics::health::{self, Health, Status};
use crate::diagnostics::practices::{self, Live, Practice, Verdict};
use crate::policy::Class;

pub fn tools() -> Vec<ToolDef> {
    vec![
        ToolDef::new(
            "health_check",
            "Server, Proxmox and cluster health",
            "Overall ok/degraded/failing with reasons: server (version, uptime, mode, audit \
             chain, free space, clock skew), Proxmox (reachable, latency, version, token \
             privileges the enabled tools lack) and cluster (quorum, nodes, storage >85%, \
             failed tasks 24 h, HA errors). Lists what could not be checked.",
            Class::Read,
            Hints::READ,
            &[
                "GET /version",
                "GET /cluster/status",
                "GET /cluster/resources",
                "GET /access/permissions",
                "GET /cluster/tasks",
                "GET /cluster/ha/status/current",
                "GET /nodes/{node}/time",
            ],
            health_check,
        )
        .local(),
        ToolDef::new(
            "best_practices",
            "Proxmox best-practice guidance",
            "Our guidance per topic (backups, storage, networking, security, ha, vm, \
             containers, updates, monitoring): why, how (command/API call), the tool call \
             here, risk. check_live marks each checkable item pass/fail/not_checked with \
             evidence from the cluster.",
            Class::Read,
            Hints::READ,
            &[
                "GET /version",
                "GET /cluster/status",
                "GET /cluster/resources",
                "GET /cluster/backup",
                "GET /cluster/firewall/options",
                "GET /nodes/{node}/qemu/{vmid}/config",
                "GET /nodes/{node}/lxc/{vmid}/config",
            ],
            best_practices,
        ),
    ]
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HealthParams {}

async fn health_check(ctx: ToolCtx, _p: HealthParams) -> Result<Health, ToolError> {
    let mode = ctx.engine.safety().mode();
    let tools: Vec<ToolEndpoints> = super::registry()
        .iter()
        .filter(|t| t.needs_cluster && t.visible_in(mode))
        .map(|t| ToolEndpoints {
            tool: t.name,
            endpoints: t.endpoints,
        })
        .collect();
    let snap = collect::collect(&ctx.engine, &ctx.pve, &tools, Scope::Health).await;
    Ok(health::assess(&snap))
}

impl Render for Health {
    fn render(&self) -> String {
        let overall = match self.overall {
            Status::Ok => "ok",
            Status::Degraded => "degraded",
            Status::Failing => "failing",
            Status::NotChecked => "not checked",
        };
        let mut s = format!("Health: {overall}.");
        for r in &self.reasons {
            s.push_str(&format!("\n- {r}"));
        }
        for n in &self.not_checked {
            s.push_str(&format!("\n? {n}"));
        }
        s
    }
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PracticeParams {
    /// backups, storage, networking, security, ha, vm, containers, updates, monitoring; omit for all
    pub topic: Option<String>,
    /// Check the items the cluster can show (default false)
    pub check_live: Option<bool>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct PracticeItem {
    #[serde(flatten)]
    pub practice: Practice,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub live: Option<Live>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct PracticeResult {
    pub items: Vec<PracticeItem>,
    /// With check_live: ids that pass, fail, or could not be checked
    #[serde(skip_serializing_if = "Option::is_none")]
    pub summary: Option<LiveSummary>,
}

#[derive(Debug, Default, Serialize, JsonSchema)]
pub struct LiveSummary {
    pub pass: Vec<&'static str>,
    pub fail: Vec<&'static str>,
    pub not_checked: Vec<&'static str>,
}

async fn best_practices(ctx: ToolCtx, p: PracticeParams) -> Result<PracticeResult, ToolError> {
    let chosen = practices::select(p.topic.as_deref()).map_err(ToolError::invalid)?;
    if !p.check_live.unwrap_or(false) {
        let items = chosen
            .into_iter()
            .map(|pr| PracticeItem {
                practice: *pr,
                live: None,
            })
            .collect();
        return Ok(PracticeResult {
            items,
            summary: None,
        });
    }
    let snap = collect::collect(&ctx.engine, &ctx.pve, &[], Scope::Practices).await;
    let mut summary = LiveSummary::default();
    let items = chosen
        .into_iter()
        .map(|pr| {
            let live = practices::evaluate(pr.id, &snap);
            if let Some(l) = &live {
                match l.verdict {
                    Verdict::Pass => summary.pass.push(pr.id),
                    Verdict::Fail => summary.fail.push(pr.id),
                    Verdict::NotChecked => summary.not_checked.push(pr.id),
                }
            }
            PracticeItem {
                practice: *pr,
                live,
            }
        })
        .collect();
    Ok(PracticeResult {
        items,
        summary: Some(summary),
    })
}

impl Render for PracticeResult {
    fn render(&self) -> String {
        let mut s = String::new();
        if let Some(sum) = &self.summary {
            s.push_str(&format!(
                "Live: {} pass, {} fail, {} not checked.",
                sum.pass.len(),
                sum.fail.len(),
                sum.not_checked.len()
            ));
        }
        for i in &self.items {
            let p = &i.practice;
            let mark = match i.live.as_ref().map(|l| l.verdict) {
                Some(Verdict::Pass) => "[pass] ",
                Some(Verdict::Fail) => "[FAIL] ",
                Some(Verdict::NotChecked) => "[not checked] ",
                None => "",
            };
            s.push_str(&format!(
                "\n{mark}{} {}: {} How: {} Here: {} Risk: {}",
                p.id, p.title, p.why, p.how, p.tool, p.risk
            ));
            if let Some(l) = &i.live {
                s.push_str(&format!(" Evidence: {}", l.evidence));
            }
        }
        s.trim_start().to_string()
    }
}
