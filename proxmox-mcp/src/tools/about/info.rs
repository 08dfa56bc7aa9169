//! `get_mcp_info`: build facts, how we were installed, the configuration with the origin of
//! each setting (secrets masked), paths, transport, mode, uptime, clusters and tool groups.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{ClusterState, probe_clusters};
use crate::audit::Transport;
use crate::config::{Origin, env};
use crate::selfmgmt::update::throttle::Stamp;
use crate::selfmgmt::update::{detect_install_method, last_check};
use crate::tools::{GROUPS, Render, ToolCtx, ToolError, registry, select};

#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct InfoParams {}

#[derive(Debug, Serialize, JsonSchema)]
pub struct InfoResult {
    pub version: &'static str,
    /// Short git commit hash of the build, `unknown` outside a git tree
    pub commit: &'static str,
    /// Build date (UTC, `SOURCE_DATE_EPOCH` when set)
    pub build_date: &'static str,
    pub target: &'static str,
    /// git, deb, container, cargo or release-binary (detected)
    pub install_method: &'static str,
    /// The last `check_updates` answer (checked at most once a day unless forced)
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_update_check: Option<UpdateCheck>,
    /// The config file read, if any
    #[serde(skip_serializing_if = "Option::is_none")]
    pub config_file: Option<String>,
    /// Every setting with where it came from: file, env, cli or default
    pub settings: Vec<SettingRow>,
    pub state_dir: String,
    pub audit_dir: String,
    /// Where the diagnostic log goes
    pub log: String,
    /// stdio, bridge or cli
    pub transport: &'static str,
    /// The MCP client, `name/version`, as it named itself
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client: Option<String>,
    pub mode: &'static str,
    pub uptime_secs: u64,
    pub clusters: Vec<ClusterState>,
    /// Tool groups offered, with their tool counts
    pub groups: Vec<GroupRow>,
    pub tools_offered: usize,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct UpdateCheck {
    /// Unix time of the check
    pub checked_at: u64,
    pub source: String,
    /// The newest release offered, if any
    #[serde(skip_serializing_if = "Option::is_none")]
    pub latest: Option<String>,
    pub update_available: bool,
}

impl From<Stamp> for UpdateCheck {
    fn from(s: Stamp) -> Self {
        UpdateCheck {
            checked_at: s.checked_at,
            source: s.source,
            latest: s.latest,
            update_available: s.update_available,
        }
    }
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct SettingRow {
    pub name: String,
    /// file, env, cli or default
    pub from: &'static str,
    /// The environment variable, when from env
    #[serde(skip_serializing_if = "Option::is_none")]
    pub var: Option<&'static str>,
    pub value: String,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct GroupRow {
    pub group: &'static str,
    pub tools: usize,
}

/// `stdio`, `bridge` (the HTTP bridge started us) or `cli`.
fn transport(t: Transport) -> &'static str {
    match t {
        Transport::Http => "bridge",
        Transport::Stdio if std::env::var_os(env::PROXMOX_MCP_BEHIND_BRIDGE).is_some() => "bridge",
        Transport::Stdio => "stdio",
        Transport::Cli => "cli",
    }
}

pub(super) async fn get_mcp_info(ctx: ToolCtx, _p: InfoParams) -> Result<InfoResult, ToolError> {
    let engine = &ctx.engine;
    let cfg = engine.config();
    let settings = cfg
        .sources
        .iter()
        .map(|s| SettingRow {
            name: s.name.clone(),
            from: s.origin.as_str(),
            var: match s.origin {
                Origin::Env(v) => Some(v),
                _ => None,
            },
            value: s.value.clone(),
        })
        .collect();
    let offered: Vec<_> = registry()
        .iter()
        .filter(|t| select::enabled(&cfg.tools, t))
        .collect();
    let groups = GROUPS
        .iter()
        .map(|g| GroupRow {
            group: g,
            tools: offered.iter().filter(|t| t.group == *g).count(),
        })
        .filter(|g| g.tools > 0)
        .collect();
    let transport = transport(ctx.transport);
    let log = if transport == "bridge" {
        "stderr, kept in the bridge's log".to_owned()
    } else {
        format!("stderr (filter: {})", env::PROXMOX_MCP_LOG)
    };
    let client = (!ctx.client.name.is_empty())
        .then(|| format!("{}/{}", ctx.client.name, ctx.client.version));
    Ok(InfoResult {
        version: env!("CARGO_PKG_VERSION"),
        commit: env!("PROXMOX_MCP_GIT_COMMIT"),
        build_date: env!("PROXMOX_MCP_BUILD_DATE"),
        target: env!("PROXMOX_MCP_TARGET"),
        install_method: detect_install_method().name(),
        last_update_check: last_check(&cfg.state_dir).map(UpdateCheck::from),
        config_file: cfg.source.as_ref().map(|p| p.display().to_string()),
        settings,
        state_dir: cfg.state_dir.display().to_string(),
        audit_dir: cfg.state_dir.join("audit").display().to_string(),
        log,
        transport,
        client,
        mode: engine.safety().mode().as_str(),
        uptime_secs: engine.uptime().as_secs(),
        clusters: probe_clusters(engine).await,
        groups,
        tools_offered: offered.len(),
    })
}

impl Render for InfoResult {
    fn render(&self) -> String {
        let mut s = format!(
            "proxmox-mcp {} ({}, built {}, {}), installed as {}.\n\
             Transport {}{}; mode {}; up {}s.\n",
            self.version,
            self.commit,
            self.build_date,
            self.target,
            self.install_method,
            self.transport,
            self.client
                .as_deref()
                .map(|c| format!(" (client {c})"))
                .unwrap_or_default(),
            self.mode,
            self.uptime_secs,
        );
        if let Some(u) = &self.last_update_check {
            s.push_str(&format!(
                "Last update check (unix {}): {} at {}.\n",
                u.checked_at,
                match (&u.latest, u.update_available) {
                    (Some(l), true) => format!("{l} available"),
                    (Some(l), false) => format!("up to date (newest {l})"),
                    (None, _) => "no releases found".to_owned(),
                },
                u.source
            ));
        }
        s.push_str(&format!(
            "Config file: {}; state {}; audit {}; log {}.\n",
            self.config_file.as_deref().unwrap_or("none"),
            self.state_dir,
            self.audit_dir,
            self.log
        ));
        s.push_str("Clusters:");
        if self.clusters.is_empty() {
            s.push_str(" none configured");
        }
        for c in &self.clusters {
            s.push_str(&format!("\n  {}", c.render()));
        }
        let groups: Vec<String> = self
            .groups
            .iter()
            .map(|g| format!("{} ({})", g.group, g.tools))
            .collect();
        s.push_str(&format!(
            "\nTools offered: {} in groups {}.\nSettings:",
            self.tools_offered,
            groups.join(", ")
        ));
        for row in &self.settings {
            let from = match row.var {
                Some(v) => format!("env {v}"),
                None => row.from.to_owned(),
            };
            s.push_str(&format!("\n  {} = {} [{from}]", row.name, row.value));
        }
        s
    }
}
