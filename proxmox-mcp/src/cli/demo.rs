//! `proxmox-mcp demo …`: everything the real CLI does, against a simulated cluster in-process.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Subcommand};

use super::{CallArgs, ToolsArgs};
use crate::config::{ClusterConfig, Config, LoadOptions, Secret};
use crate::engine::Engine;

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Nodes in the simulated cluster
    #[arg(long, default_value_t = 3)]
    pub nodes: usize,
    /// QEMU VMs
    #[arg(long, default_value_t = 12)]
    pub vms: usize,
    /// LXC containers
    #[arg(long, default_value_t = 6)]
    pub cts: usize,
    /// Seed for the deterministic generator
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// A hand-made cluster (TOML scenario file) instead of generation
    #[arg(long, value_name = "FILE")]
    pub scenario: Option<PathBuf>,
    /// Task duration multiplier (0 = tasks finish instantly)
    #[arg(long, default_value_t = 0.2)]
    pub time_scale: f64,
    #[command(subcommand)]
    pub command: Option<DemoCommand>,
}

#[derive(Debug, Subcommand)]
pub enum DemoCommand {
    /// Serve MCP over stdio against the simulated cluster (the default)
    Serve,
    /// List the tools
    Tools(ToolsArgs),
    /// Call one tool against the simulated cluster
    Call(CallArgs),
}

pub async fn run(args: DemoArgs, load: LoadOptions) -> anyhow::Result<ExitCode> {
    let scenario = match &args.scenario {
        Some(p) => Some(pve_sim::Scenario::load(p)?),
        None => None,
    };
    let sim = pve_sim::start(pve_sim::SimConfig {
        nodes: args.nodes,
        vms: args.vms,
        cts: args.cts,
        seed: args.seed,
        scenario,
        time_scale: args.time_scale,
        ..Default::default()
    })
    .await?;
    tracing::info!(url = %sim.url(), "simulated cluster started");
    let admin = sim.admin();
    let state_dir = load.state_dir.clone().unwrap_or_else(|| {
        std::env::temp_dir().join(format!("proxmox-mcp-demo-{}", std::process::id()))
    });
    let cfg = Config {
        clusters: vec![ClusterConfig::token_pinned(
            "demo",
            sim.url(),
            admin.token_id,
            Secret::new(admin.secret),
            sim.fingerprint(),
        )],
        state_dir,
        source: None,
        policy: Default::default(),
        // Records of a simulated cluster do not belong in the system journal.
        audit: crate::config::AuditConfig::without_journal(),
        api_schema: None,
        tools: Default::default(),
        sources: Vec::new(),
        update: Default::default(),
        diagnostics: Default::default(),
    };
    let code = match args.command.unwrap_or(DemoCommand::Serve) {
        DemoCommand::Serve => {
            super::serve(cfg, &super::ServeArgs::default()).await?;
            ExitCode::SUCCESS
        }
        DemoCommand::Tools(t) => {
            super::print_tools(t.output, &cfg.tools)?;
            ExitCode::SUCCESS
        }
        DemoCommand::Call(c) => super::call::run(Engine::new(cfg), &c).await?,
    };
    sim.shutdown().await;
    Ok(code)
}
