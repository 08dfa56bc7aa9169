//! The `pve-sim` binary: parse flags, start the simulator, print one JSON line, serve until stopped.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use clap::Parser;
use pve_sim::{Faults, Scenario, SimConfig};

/// A simulated Proxmox VE API server.
#[derive(Parser, Debug)]
#[command(version, about)]
struct Args {
    /// Listen address.
    #[arg(long, default_value = "127.0.0.1:8006")]
    bind: SocketAddr,
    /// Allow a non-loopback bind address.
    #[arg(long)]
    allow_remote: bool,
    /// Serve plain HTTP instead of HTTPS.
    #[arg(long)]
    http: bool,
    #[arg(long, default_value_t = 3)]
    nodes: usize,
    #[arg(long, default_value_t = 10)]
    vms: usize,
    #[arg(long, default_value_t = 5)]
    cts: usize,
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// A TOML scenario; replaces generation.
    #[arg(long)]
    scenario: Option<PathBuf>,
    /// api-schema.json or apidata.js: enables strict request checking.
    #[arg(long)]
    schema: Option<PathBuf>,
    /// Append one JSON line per request to this file.
    #[arg(long)]
    request_log: Option<PathBuf>,
    /// Multiplies task durations (0 = instant).
    #[arg(long, default_value_t = 1.0)]
    time_scale: f64,
    /// Latency added to every request, in milliseconds.
    #[arg(long, default_value_t = 0)]
    latency_ms: u64,
    /// Probability of an injected error per request.
    #[arg(long, default_value_t = 0.0)]
    error_rate: f64,
    /// Status of injected errors.
    #[arg(long, default_value_t = 503)]
    error_status: u16,
    /// A node that is offline (repeatable).
    #[arg(long = "offline-node")]
    offline_node: Vec<String>,
    /// Requests whose path starts with this never answer (repeatable).
    #[arg(long = "hang")]
    hang: Vec<String>,
    /// Write the certificate (PEM) here.
    #[arg(long)]
    cert_out: Option<PathBuf>,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();
    let args = Args::parse();
    if !args.bind.ip().is_loopback() && !args.allow_remote {
        anyhow::bail!(
            "refusing to bind non-loopback address {} without --allow-remote",
            args.bind
        );
    }
    let scenario = match &args.scenario {
        Some(p) => Some(Scenario::load(p)?),
        None => None,
    };
    let cfg = SimConfig {
        bind: args.bind,
        tls: !args.http,
        nodes: args.nodes,
        vms: args.vms,
        cts: args.cts,
        seed: args.seed,
        scenario,
        schema: args.schema.clone(),
        request_log: args.request_log.clone(),
        time_scale: args.time_scale,
        faults: Faults {
            latency: Duration::from_millis(args.latency_ms),
            error_rate: args.error_rate,
            error_status: args.error_status,
            offline_nodes: args.offline_node.clone(),
            hang_paths: args.hang.clone(),
        },
    };
    let sim = pve_sim::start(cfg).await?;
    if let Some(p) = &args.cert_out {
        std::fs::write(p, sim.cert_pem()).with_context(|| format!("write {}", p.display()))?;
    }
    let admin = sim.admin();
    let auditor = sim.auditor();
    let (root_user, root_password) = sim.root_password();
    let line = serde_json::json!({
        "url": sim.url(),
        "fingerprint": sim.fingerprint(),
        "admin": {"token_id": admin.token_id, "secret": admin.secret},
        "auditor": {"token_id": auditor.token_id, "secret": auditor.secret},
        "root": {"username": root_user, "password": root_password},
    });
    print_line(&line.to_string());
    wait_for_signal().await;
    tracing::info!("shutting down");
    sim.shutdown().await;
    Ok(())
}

#[allow(clippy::print_stdout)]
fn print_line(s: &str) {
    use std::io::Write;
    println!("{s}");
    let _ = std::io::stdout().flush();
}

async fn wait_for_signal() {
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(s) => s,
                Err(_) => {
                    let _ = tokio::signal::ctrl_c().await;
                    return;
                }
            };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
