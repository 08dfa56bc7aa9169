//! `get_mcp_info`: build facts, how we were installed, the configuration with the origin of
//! each setting (secrets masked), paths, transport, mode, uptime, clusters and tool groups.

use std::path::Path;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{ClusterState, probe_clusters};
use crate::audit::Transport;
use crate::config::{Origin, env};
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
    /// deb, container, git checkout, cargo or unknown (detected)
    pub install_method: &'static str,
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

/// How this binary was installed, from where it runs: a Debian package (under `/usr/bin` with
/// dpkg's file list), a container (`/.dockerenv`), a git checkout (a directory above it holds
/// `.git`), `cargo install` (under `~/.cargo/bin`), else unknown.
pub fn install_method() -> &'static str {
    let exe = std::env::current_exe().ok();
    let home = std::env::var_os("HOME").map(std::path::PathBuf::from);
    install_method_of(exe.as_deref(), home.as_deref(), &|p: &Path| p.exists())
}

/// [`install_method`] over a given binary path, home and file-existence check.
fn install_method_of(
    exe: Option<&Path>,
    home: Option<&Path>,
    exists: &dyn Fn(&Path) -> bool,
) -> &'static str {
    let Some(exe) = exe else {
        return "unknown";
    };
    if exe.starts_with("/usr/bin") && exists(Path::new("/var/lib/dpkg/info/proxmox-mcp.list")) {
        return "deb";
    }
    if exists(Path::new("/.dockerenv")) {
        return "container";
    }
    if exe.ancestors().skip(1).any(|dir| exists(&dir.join(".git"))) {
        return "git checkout";
    }
    if home.is_some_and(|h| exe.starts_with(h.join(".cargo/bin"))) {
        return "cargo";
    }
    "unknown"
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
        install_method: install_method(),
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

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;

    fn check(exe: &str, files: &[&str], want: &str) {
        let home = PathBuf::from("/home/u");
        let exists = |p: &Path| files.iter().any(|f| Path::new(f) == p);
        let got = install_method_of(Some(Path::new(exe)), Some(&home), &exists);
        assert_eq!(got, want, "{exe} with {files:?}");
    }

    #[test]
    fn install_methods() {
        check(
            "/usr/bin/proxmox-mcp",
            &["/var/lib/dpkg/info/proxmox-mcp.list"],
            "deb",
        );
        check("/usr/bin/proxmox-mcp", &[], "unknown");
        check("/usr/local/bin/proxmox-mcp", &["/.dockerenv"], "container");
        check(
            "/src/pm/target/release/proxmox-mcp",
            &["/src/pm/.git"],
            "git checkout",
        );
        check("/home/u/.cargo/bin/proxmox-mcp", &[], "cargo");
        assert_eq!(install_method_of(None, None, &|_| true), "unknown");
    }
}
