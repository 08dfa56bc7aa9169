//! The `proxmox-mcp` binary: parse the command line, log to stderr, run.

use std::process::ExitCode;

use clap::Parser;
use tracing_subscriber::EnvFilter;

fn main() -> ExitCode {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    tune_allocator();
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

/// glibc's allocator raises its mmap threshold to the largest block freed so far, and from then
/// on keeps that much (and what fragments around it) for the life of the process: one listing
/// of 5,000 guests would pin twice its size for good. Fixed thresholds return large blocks at
/// once. Tunables are read only when a program starts, and setting them from inside needs
/// unsafe code, so the process re-executes itself once with them in `GLIBC_TUNABLES` (added to
/// what the operator set; thresholds the operator set win). If that fails, it runs untuned.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn tune_allocator() {
    use std::os::unix::process::CommandExt;

    // Large blocks mapped and unmapped on their own, the heap's free top returned, and one arena
    // (the blocking threads' allocations would each keep a heap of their own).
    const TUNED: &str = "glibc.malloc.mmap_threshold=65536:glibc.malloc.trim_threshold=131072:\
                         glibc.malloc.arena_max=1";
    // Set on the re-executed process: never twice, even where glibc drops the tunables.
    const MARK: &str = "PROXMOX_MCP_ALLOCATOR_TUNED";
    if std::env::var_os(MARK).is_some() {
        return;
    }
    let current = match std::env::var_os("GLIBC_TUNABLES") {
        None => String::new(),
        Some(v) => match v.into_string() {
            Ok(v) => v,
            Err(_) => return,
        },
    };
    if current.contains("glibc.malloc.mmap_threshold")
        || current.contains("glibc.malloc.trim_threshold")
    {
        return;
    }
    let Ok(exe) = std::env::current_exe() else {
        return;
    };
    let mut args = std::env::args_os();
    let arg0 = args.next().unwrap_or_else(|| exe.clone().into_os_string());
    let tunables = if current.is_empty() {
        TUNED.to_string()
    } else {
        format!("{current}:{TUNED}")
    };
    // `exec` returns only when it failed; then carry on as we are.
    let _ = std::process::Command::new(&exe)
        .arg0(arg0)
        .args(args)
        .env("GLIBC_TUNABLES", tunables)
        .env(MARK, "1")
        .exec();
}
