//! The top-level settings: `[policy]`, `[audit]` and `api_schema`, file first, then environment.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::values::{self, Bad, Bounded};
use super::{ConfigError, SecretSource};
use crate::config::env::{self, EnvVars};
use crate::config::file::{FileAudit, FilePolicy, FileTools};
use crate::config::load;
use crate::config::types::{AuditConfig, PolicyConfig, ToolsConfig};

/// A [`ConfigError::BadValue`] for the top-level `key`.
fn bad(key: &'static str) -> impl Fn(Bad) -> ConfigError {
    move |b| ConfigError::BadValue {
        cluster: None,
        key,
        value: b.value,
        expected: b.expected,
    }
}

/// A [`ConfigError::BadEnvValue`] for `var`, showing its whole value.
fn bad_env<'a>(
    var: &'static str,
    value: &'a str,
    expected: &'static str,
) -> impl Fn(Bad) -> ConfigError + 'a {
    move |_| ConfigError::BadEnvValue {
        var,
        value: value.to_owned(),
        expected,
    }
}

/// An environment number within `bounds`, if the variable is set.
fn env_number(
    env: &EnvVars,
    var: &'static str,
    bounds: &Bounded,
) -> Result<Option<u64>, ConfigError> {
    env.get(var)
        .map(|v| bounds.parse(v).map_err(bad_env(var, v, bounds.expected)))
        .transpose()
}

/// `[policy]` with `PROXMOX_MCP_PROTECTED_VMIDS`, `PROXMOX_MCP_PROTECTED_TAGS` and
/// `PROXMOX_MCP_APPROVAL_TTL_SECS` on top (each replaces the file's value).
pub(super) fn policy(file: FilePolicy, env: &EnvVars) -> Result<PolicyConfig, ConfigError> {
    let mut policy = PolicyConfig::default();
    if let Some(ids) = file.protected_vmids {
        policy.protected_vmids = ids
            .into_iter()
            .map(|id| vmid(values::VMID.check(id)?))
            .collect::<Result<_, _>>()
            .map_err(bad("policy.protected_vmids"))?;
    }
    if let Some(tags) = file.protected_tags {
        policy.protected_tags = tags
            .iter()
            .map(|t| values::tag(t))
            .collect::<Result<_, _>>()
            .map_err(bad("policy.protected_tags"))?;
    }
    if let Some(secs) = file.approval_ttl_secs {
        let secs = values::APPROVAL_TTL_SECS
            .check(secs)
            .map_err(bad("policy.approval_ttl_secs"))?;
        policy.approval_ttl = Duration::from_secs(secs);
    }

    if let Some(v) = env.get(env::PROXMOX_MCP_PROTECTED_VMIDS) {
        policy.protected_vmids = values::list(v)
            .map(|id| vmid(values::VMID.parse(id)?))
            .collect::<Result<BTreeSet<_>, _>>()
            .map_err(bad_env(
                env::PROXMOX_MCP_PROTECTED_VMIDS,
                v,
                values::VMIDS_ENV,
            ))?;
    }
    if let Some(v) = env.get(env::PROXMOX_MCP_PROTECTED_TAGS) {
        policy.protected_tags = values::list(v)
            .map(values::tag)
            .collect::<Result<_, _>>()
            .map_err(bad_env(
                env::PROXMOX_MCP_PROTECTED_TAGS,
                v,
                values::TAGS_ENV,
            ))?;
    }
    if let Some(secs) = env_number(
        env,
        env::PROXMOX_MCP_APPROVAL_TTL_SECS,
        &values::APPROVAL_TTL_SECS,
    )? {
        policy.approval_ttl = Duration::from_secs(secs);
    }
    Ok(policy)
}

/// A checked VMID as the `u32` PVE uses (the bounds keep it in range).
fn vmid(id: u64) -> Result<u32, Bad> {
    u32::try_from(id).map_err(|_| Bad {
        value: id.to_string(),
        expected: values::VMID.expected,
    })
}

/// `[audit]` with `PROXMOX_MCP_AUDIT_RETENTION_DAYS` and `PROXMOX_MCP_JOURNAL_SOCKET` on top.
pub(super) fn audit(file: FileAudit, env: &EnvVars) -> Result<AuditConfig, ConfigError> {
    let file_days = file
        .retention_days
        .map(|d| values::RETENTION_DAYS.check(d))
        .transpose()
        .map_err(bad("audit.retention_days"))?;
    let env_days = env_number(
        env,
        env::PROXMOX_MCP_AUDIT_RETENTION_DAYS,
        &values::RETENTION_DAYS,
    )?;
    let mut audit = AuditConfig::default();
    if let Some(days) = env_days.or(file_days) {
        audit.retention = Duration::from_secs(days * 86_400);
    }
    if let Some(v) = &file.journal_socket {
        audit.journal_socket = journal_socket(v.trim()).map_err(bad("audit.journal_socket"))?;
    }
    if let Some(v) = env.get(env::PROXMOX_MCP_JOURNAL_SOCKET) {
        audit.journal_socket = journal_socket(v).map_err(bad_env(
            env::PROXMOX_MCP_JOURNAL_SOCKET,
            v,
            values::JOURNAL_SOCKET,
        ))?;
    }
    Ok(audit)
}

/// `off` (any case), or an absolute path.
fn journal_socket(v: &str) -> Result<Option<PathBuf>, Bad> {
    if v.eq_ignore_ascii_case("off") {
        return Ok(None);
    }
    let path = PathBuf::from(v);
    if path.is_absolute() {
        Ok(Some(path))
    } else {
        Err(Bad {
            value: v.to_owned(),
            expected: values::JOURNAL_SOCKET,
        })
    }
}

/// `PROXMOX_MCP_API_SCHEMA` > the file's `api_schema` (already made absolute); either must
/// exist. With neither, [`load::PVE_API_SCHEMA`] if it exists, else none.
pub(super) fn api_schema(
    file: Option<PathBuf>,
    env: &EnvVars,
    host: &dyn SecretSource,
) -> Result<Option<PathBuf>, ConfigError> {
    let configured = env
        .get(env::PROXMOX_MCP_API_SCHEMA)
        .map(PathBuf::from)
        .or(file);
    match configured {
        Some(path) if host.is_file(&path) => Ok(Some(path)),
        Some(path) => Err(ConfigError::ApiSchemaMissing { path }),
        None => Ok(host
            .is_file(Path::new(load::PVE_API_SCHEMA))
            .then(|| PathBuf::from(load::PVE_API_SCHEMA))),
    }
}

/// `[tools]` with `PROXMOX_MCP_TOOLS_ALLOW` and `PROXMOX_MCP_TOOLS_DENY` on top (each replaces the
/// file's list). Names are only trimmed here: the tool registry checks them at start-up.
pub(super) fn tools(file: FileTools, env: &EnvVars) -> Result<ToolsConfig, ConfigError> {
    const NAMES: &str = "tool or group names, e.g. guests,tasks,get_mcp_info";
    let names = |items: Vec<String>| -> Result<Vec<String>, Bad> {
        items
            .into_iter()
            .map(|n| {
                let n = n.trim().to_owned();
                if n.is_empty() || !n.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                    Err(Bad {
                        value: n,
                        expected: NAMES,
                    })
                } else {
                    Ok(n)
                }
            })
            .collect()
    };
    let mut tools = ToolsConfig {
        allow: file
            .allow
            .map(names)
            .transpose()
            .map_err(bad("tools.allow"))?,
        deny: names(file.deny.unwrap_or_default()).map_err(bad("tools.deny"))?,
    };
    if let Some(v) = env.get(env::PROXMOX_MCP_TOOLS_ALLOW) {
        let list = values::list(v).map(str::to_owned).collect();
        tools.allow = Some(names(list).map_err(bad_env(env::PROXMOX_MCP_TOOLS_ALLOW, v, NAMES))?);
    }
    if let Some(v) = env.get(env::PROXMOX_MCP_TOOLS_DENY) {
        let list = values::list(v).map(str::to_owned).collect();
        tools.deny = names(list).map_err(bad_env(env::PROXMOX_MCP_TOOLS_DENY, v, NAMES))?;
    }
    if tools.allow.as_ref().is_some_and(Vec::is_empty) {
        return Err(ConfigError::BadValue {
            cluster: None,
            key: "tools.allow",
            value: "[]".into(),
            expected: "at least one tool or group (leave allow out to offer every tool)",
        });
    }
    Ok(tools)
}
