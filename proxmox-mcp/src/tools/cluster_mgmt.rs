//! `cluster_management`: the Datacenter view's HA (status, resources, groups and rules, adding
//! and removing guests) and resource pools with their members.
//!
//! HA changes are assessed as the request they make; the guest behind an HA resource id is
//! resolved during assessment (a bare vmid becomes `vm:` or `ct:`) and handed to the handler
//! in the plan, so it acts on exactly what was approved.

use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Value, json};

use super::action::{ActionResult, api_assessment};
use super::users::ids;
use super::{AssessCtx, Assessment, Hints, ToolCtx, ToolDef, ToolError};
use crate::policy::Class;
use crate::policy::engine::Request;
use crate::pve::params::encode_segment;
use crate::pve::types::GuestKind;
use crate::pve::{Method, Params};

pub fn tools() -> Vec<ToolDef> {
    vec![
        ToolDef::new(
            "cluster_management",
            "HA and pools",
            "HA status, resources, groups/rules, add/remove guests; pools, members.",
            Class::Destructive,
            Hints {
                read_only: false,
                destructive: true,
                idempotent: false,
                open_world: false,
            },
            &[
                "GET /cluster/ha/status/current",
                "GET /cluster/ha/resources",
                "POST /cluster/ha/resources",
                "DELETE /cluster/ha/resources/{sid}",
                "GET /cluster/ha/groups",
                "GET /cluster/ha/rules",
                "GET /cluster/resources",
                "GET /pools",
            ],
            cluster_management,
        )
        .assessed_async_by(assess)
        .read_actions(&[
            "ha_status",
            "ha_resources",
            "ha_groups",
            "pools",
            "pool_members",
        ]),
    ]
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    HaStatus,
    HaResources,
    HaGroups,
    HaAdd,
    HaRemove,
    Pools,
    PoolMembers,
}

impl Action {
    fn name(self) -> &'static str {
        match self {
            Action::HaStatus => "ha_status",
            Action::HaResources => "ha_resources",
            Action::HaGroups => "ha_groups",
            Action::HaAdd => "ha_add",
            Action::HaRemove => "ha_remove",
            Action::Pools => "pools",
            Action::PoolMembers => "pool_members",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum HaState {
    Started,
    Stopped,
    Disabled,
    Ignored,
}

impl HaState {
    fn as_str(self) -> &'static str {
        match self {
            HaState::Started => "started",
            HaState::Stopped => "stopped",
            HaState::Disabled => "disabled",
            HaState::Ignored => "ignored",
        }
    }
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ClusterParams {
    pub action: Action,
    /// vm:100, ct:101, vmid (ha_add/remove)
    #[serde(default, deserialize_with = "crate::pve::perl::de_opt_string")]
    pub sid: Option<String>,
    /// ha_add (started)
    pub state: Option<HaState>,
    /// ha_add
    pub group: Option<String>,
    pub max_restart: Option<u32>,
    pub max_relocate: Option<u32>,
    /// pool_members
    pub pool: Option<String>,
}

/// What the assessment resolved for an HA change.
#[derive(Debug, Clone, serde::Serialize, Deserialize)]
struct Plan {
    sid: String,
    vmid: u32,
}

fn refuse_extra(p: &ClusterParams, allowed: &[&str]) -> Result<(), ToolError> {
    let given = [
        ("sid", p.sid.is_some()),
        ("state", p.state.is_some()),
        ("group", p.group.is_some()),
        ("max_restart", p.max_restart.is_some()),
        ("max_relocate", p.max_relocate.is_some()),
        ("pool", p.pool.is_some()),
    ];
    let extra = super::action::unused_args(&given, allowed);
    if extra.is_empty() {
        Ok(())
    } else {
        Err(ToolError::invalid(format!(
            "{} does not use {}",
            p.action.name(),
            extra.join(", ")
        )))
    }
}

/// Parses `vm:100`, `ct:101` or `100` into (kind, vmid); kind is None for a bare vmid.
fn parse_sid(raw: &str) -> Result<(Option<GuestKind>, u32), ToolError> {
    let s = raw.trim();
    let (kind, id) = match s.split_once(':') {
        Some(("vm", id)) => (Some(GuestKind::Qemu), id),
        Some(("ct", id)) => (Some(GuestKind::Lxc), id),
        None => (None, s),
        Some(_) => (None, ""),
    };
    let vmid = super::args::Vmid::parse(id).map_err(|_| {
        ToolError::invalid(format!(
            "sid {:?} is not an HA resource id: use vm:100, ct:101 or a vmid",
            raw.chars().take(80).collect::<String>()
        ))
    })?;
    Ok((kind, vmid.0))
}

/// The HA resource id of a guest, its kind checked against the cluster.
/// `ha_remove` of an explicit `vm:`/`ct:` id works for a guest that no longer exists.
async fn resolve_sid(ctx: &AssessCtx, raw: &str, must_exist: bool) -> Result<Plan, ToolError> {
    let (kind, vmid) = parse_sid(raw)?;
    let actual = match ctx.pve.locate_guest(vmid).await {
        Ok(g) => g.guest_kind(),
        Err(crate::pve::PveError::NotFound { .. }) if kind.is_some() && !must_exist => None,
        Err(e) => return Err(e.into()),
    };
    if let (Some(want), Some(got)) = (kind, actual)
        && want != got
    {
        return Err(ToolError::invalid(format!(
            "{raw} names the wrong kind: guest {vmid} is a {}",
            if got == GuestKind::Qemu {
                "VM (vm:)"
            } else {
                "container (ct:)"
            }
        )));
    }
    let prefix = match actual.or(kind) {
        Some(GuestKind::Lxc) => "ct",
        _ => "vm",
    };
    Ok(Plan {
        sid: format!("{prefix}:{vmid}"),
        vmid,
    })
}

/// The create request of `ha_add` (everything but the sid, which assessment resolves).
fn add_params(p: &ClusterParams, sid: &str) -> Result<Params, ToolError> {
    let mut params = Params::new();
    params.insert("sid".into(), json!(sid));
    params.insert(
        "state".into(),
        json!(p.state.unwrap_or(HaState::Started).as_str()),
    );
    if let Some(g) = &p.group {
        params.insert("group".into(), json!(ids::simple_id("group", g.trim())?));
    }
    for (k, v) in [
        ("max_restart", p.max_restart),
        ("max_relocate", p.max_relocate),
    ] {
        if let Some(v) = v {
            if v > 10 {
                return Err(ToolError::invalid(format!("{k} must be 0 to 10")));
            }
            params.insert(k.into(), json!(v));
        }
    }
    Ok(params)
}

fn check_reads(p: &ClusterParams) -> Result<(), ToolError> {
    match p.action {
        Action::PoolMembers => {
            refuse_extra(p, &["pool"])?;
            let pool = p
                .pool
                .as_deref()
                .ok_or_else(|| ToolError::invalid("pool_members needs `pool`"))?;
            ids::poolid(pool.trim())?;
            Ok(())
        }
        _ => refuse_extra(p, &[]),
    }
}

async fn assess(ctx: AssessCtx, p: ClusterParams) -> Result<Assessment, ToolError> {
    let name = p.action.name();
    match p.action {
        Action::HaAdd | Action::HaRemove => {
            let add = p.action == Action::HaAdd;
            refuse_extra(
                &p,
                if add {
                    &["sid", "state", "group", "max_restart", "max_relocate"]
                } else {
                    &["sid"]
                },
            )?;
            let raw = p
                .sid
                .as_deref()
                .ok_or_else(|| ToolError::invalid(format!("{name} needs `sid` (vm:100)")))?;
            // Validate the arguments before any IO.
            parse_sid(raw)?;
            if add {
                add_params(&p, "vm:100")?;
            }
            let plan = resolve_sid(&ctx, raw, add).await?;
            let (method, path, params, summary) = if add {
                let params = add_params(&p, &plan.sid)?;
                let summary = format!(
                    "add {} to HA (state {})",
                    plan.sid,
                    p.state.unwrap_or(HaState::Started).as_str()
                );
                ("POST", "/cluster/ha/resources".to_string(), params, summary)
            } else {
                (
                    "DELETE",
                    format!("/cluster/ha/resources/{}", encode_segment(&plan.sid)),
                    Params::new(),
                    format!("remove {} from HA (the guest itself stays)", plan.sid),
                )
            };
            let mut a = api_assessment(&ctx, method, &path, &params, summary).await?;
            a.set_plan(plan)?;
            Ok(a)
        }
        _ => {
            check_reads(&p)?;
            let target = p.pool.clone().unwrap_or_else(|| "cluster".into());
            Ok(
                Assessment::new(Request::new(Class::Read), format!("{name} {target}"))
                    .target(target),
            )
        }
    }
}

async fn get(ctx: &ToolCtx, path: &str, params: &Params) -> Result<Value, ToolError> {
    Ok(ctx.pve.call(Method::Get, path, params).await?)
}

fn count(name: &str, what: &str, data: &Value) -> String {
    match data.as_array() {
        Some(rows) => format!("{name}: {} {what}", rows.len()),
        None => name.to_string(),
    }
}

async fn cluster_management(ctx: ToolCtx, p: ClusterParams) -> Result<ActionResult, ToolError> {
    let name = p.action.name();
    let none = Params::new();
    let result = match p.action {
        Action::HaStatus => {
            let d = get(&ctx, "/cluster/ha/status/current", &none).await?;
            ActionResult::done(name, "cluster", d.clone(), count(name, "entries", &d))
        }
        Action::HaResources => {
            let d = get(&ctx, "/cluster/ha/resources", &none).await?;
            ActionResult::done(name, "cluster", d.clone(), count(name, "resources", &d))
        }
        Action::HaGroups => {
            // PVE 9 migrates groups to rules; show both, whichever the cluster has.
            let groups = get(&ctx, "/cluster/ha/groups", &none).await;
            let rules = get(&ctx, "/cluster/ha/rules", &none).await;
            let show = |r: &Result<Value, ToolError>| match r {
                Ok(v) => v.clone(),
                Err(e) => json!({"error": e.to_string()}),
            };
            let n = |r: &Result<Value, ToolError>| {
                r.as_ref()
                    .ok()
                    .and_then(Value::as_array)
                    .map_or(0, Vec::len)
            };
            if let (Err(e), Err(_)) = (&groups, &rules) {
                return Err(ToolError::Refused(format!(
                    "cannot read HA groups or rules: {e}"
                )));
            }
            let message = format!(
                "ha_groups: {} groups (deprecated in PVE 9), {} rules",
                n(&groups),
                n(&rules)
            );
            ActionResult::done(
                name,
                "cluster",
                json!({"groups": show(&groups), "rules": show(&rules)}),
                message,
            )
        }
        Action::Pools => {
            let d = get(&ctx, "/pools", &none).await?;
            ActionResult::done(name, "cluster", d.clone(), count(name, "pools", &d))
        }
        Action::PoolMembers => {
            check_reads(&p)?;
            let pool = p.pool.as_deref().unwrap_or_default().trim().to_string();
            let mut params = Params::new();
            params.insert("poolid".into(), json!(pool));
            let d = get(&ctx, "/pools", &params).await?;
            let entry = d
                .as_array()
                .and_then(|rows| {
                    rows.iter()
                        .find(|r| r.get("poolid").and_then(Value::as_str) == Some(pool.as_str()))
                })
                .cloned()
                .ok_or_else(|| {
                    ToolError::NotFound(format!(
                        "pool {pool:?} does not exist or is not visible (pools lists them)"
                    ))
                })?;
            let members = entry.get("members").cloned().unwrap_or(json!([]));
            let message = count(&format!("pool {pool}"), "members", &members);
            ActionResult::done(name, pool, entry, message)
        }
        Action::HaAdd | Action::HaRemove => {
            let plan: &Plan = ctx.plan()?;
            if p.action == Action::HaAdd {
                let params = add_params(&p, &plan.sid)?;
                ctx.pve
                    .call(Method::Post, "/cluster/ha/resources", &params)
                    .await?;
            } else {
                let path = format!("/cluster/ha/resources/{}", encode_segment(&plan.sid));
                ctx.pve.call(Method::Delete, &path, &none).await?;
            }
            let verb = if p.action == Action::HaAdd {
                "added to"
            } else {
                "removed from"
            };
            ActionResult::done(
                name,
                plan.sid.clone(),
                json!({"sid": plan.sid}),
                format!("{} {verb} HA", plan.sid),
            )
        }
    };
    Ok(result)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sids() {
        assert_eq!(parse_sid("vm:100").unwrap(), (Some(GuestKind::Qemu), 100));
        assert_eq!(parse_sid("ct:101").unwrap(), (Some(GuestKind::Lxc), 101));
        assert_eq!(parse_sid(" 102 ").unwrap(), (None, 102));
        for bad in ["vm:", "xx:100", "100; rm -rf /", "vm:99", "../100", ""] {
            assert!(parse_sid(bad).is_err(), "{bad}");
        }
    }
}
