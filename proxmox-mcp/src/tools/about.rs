//! `get_mcp_info` and `help_llm`: what this server is (build, install, configuration and where
//! each setting came from, transport, mode, clusters) and how an assistant uses it well.

pub mod help;
pub mod info;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{Hints, Render, ToolDef};
use crate::policy::Class;

pub use help::{CATEGORIES, HelpParams, HelpResult};
pub use info::{InfoParams, InfoResult};

/// The endpoint both tools read: each cluster's PVE version, as a reachability probe.
const VERSION: &[&str] = &["GET /version"];

pub fn tools() -> Vec<ToolDef> {
    vec![
        ToolDef::new(
            "get_mcp_info",
            "About this server",
            "This server's version, commit, build, install method, config file and where each \
             setting came from, state and log paths, transport and client, mode, uptime, \
             clusters with their PVE versions, and the tool groups offered.",
            Class::Read,
            Hints::READ,
            VERSION,
            info::get_mcp_info,
        )
        .local(),
        ToolDef::new(
            "help_llm",
            "How to use this server",
            "Guide for assistants: tools by group, modes, confirmation and approval, root \
             protection, limits, current health and step-by-step workflows. Read it first.",
            Class::Read,
            Hints::READ,
            VERSION,
            help::help_llm,
        )
        .local(),
    ]
}

/// One configured cluster and whether it answers.
#[derive(Debug, Serialize, JsonSchema)]
pub struct ClusterState {
    pub name: String,
    pub url: String,
    /// The PVE version `GET /version` reported; absent when it did not answer.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pve_version: Option<String>,
    /// `ok`, or why it is unreachable
    pub status: String,
}

/// How long one cluster may take to report its version.
pub const PROBE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(3);

/// Every configured cluster with its PVE version (each probed with [`PROBE_TIMEOUT`]).
pub async fn probe_clusters(engine: &crate::engine::Engine) -> Vec<ClusterState> {
    let probes = engine.config().clusters.iter().map(|c| async move {
        let (pve_version, status) = match engine.pve(Some(&c.name)) {
            Err(e) => (None, format!("unusable: {e}")),
            Ok((_, pve)) => match tokio::time::timeout(PROBE_TIMEOUT, pve.version()).await {
                Ok(Ok(v)) => (Some(v.version), "ok".to_owned()),
                Ok(Err(e)) => (None, format!("unreachable: {e}")),
                Err(_) => (
                    None,
                    format!("unreachable: no answer in {}s", PROBE_TIMEOUT.as_secs()),
                ),
            },
        };
        ClusterState {
            name: c.name.clone(),
            url: c.url.clone(),
            pve_version,
            status,
        }
    });
    futures::future::join_all(probes).await
}

/// Parameters of a tool that takes none (beyond the common `cluster`).
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NoParams {}

impl Render for ClusterState {
    fn render(&self) -> String {
        match &self.pve_version {
            Some(v) => format!("{} ({}): PVE {v}", self.name, self.url),
            None => format!("{} ({}): {}", self.name, self.url, self.status),
        }
    }
}
