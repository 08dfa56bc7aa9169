//! The `proxmox-mcp` binary: parse the command line, log to stderr, run.

use std::process::ExitCode;

use clap::Parser;
use tracing_subscriber::EnvFilter;

fn main() -> ExitCode {
    let cli = proxmox_mcp::cli::Cli::parse();
    // stdout belongs to JSON-RPC: logs go to stderr only.
    let filter = EnvFilter::try_from_env(proxmox_mcp::config::env::PROXMOX_MCP_LOG)
        .unwrap_or_else(|_| EnvFilter::new("warn,rustls_platform_verifier=off"));
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(filter)
        .with_ansi(false)
        .compact()
        .init();
    // One thread is plenty for an IO-bound server (calls still run concurrently) and keeps the
    // memory footprint small: every extra thread gets its own allocator arena.
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("proxmox-mcp: cannot start the async runtime: {e}");
            return ExitCode::from(2);
        }
    };
    match runtime.block_on(proxmox_mcp::cli::run(cli)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("proxmox-mcp: {e:#}");
            ExitCode::from(2)
        }
    }
}
