//! `mcp-http-bridge`: serves the proxmox-mcp engine over MCP Streamable HTTP. It runs the engine
//! as one supervised child (`proxmox-mcp serve --behind-bridge`) and adds what HTTP needs:
//! bearer tokens, Host/Origin checks, limits, health endpoints and TLS.

mod app;
mod child;
mod cli;
mod forward;
mod guard;
mod log;
mod tokens;

use std::process::ExitCode;
use std::sync::Arc;

use clap::Parser;
use tokio_util::sync::CancellationToken;
use tracing_subscriber::EnvFilter;

use cli::{Cli, Command, ServeArgs, Settings, TokenCommand};
use proxmox_mcp_contract::{env, paths};
use tokens::Store;

fn main() -> ExitCode {
    let cli = Cli::parse();
    // Two workers: one client's large body or a burst of TLS handshakes keeps one busy, not
    // the whole bridge (and not the engine's liveness probe).
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("mcp-http-bridge: cannot start the async runtime: {e}");
            return ExitCode::from(2);
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("mcp-http-bridge: {e}");
            ExitCode::from(2)
        }
    }
}

fn store(state_dir: Option<std::path::PathBuf>) -> Result<Store, String> {
    Ok(Store::new(
        cli::state_dir(state_dir)?.join(paths::BRIDGE_STATE_SUBDIR),
    ))
}

/// Token commands write their result to stdout (the one place the bridge prints a secret).
#[allow(clippy::print_stdout)]
async fn run(cli: Cli) -> Result<ExitCode, String> {
    match cli.command.unwrap_or(Command::Serve(cli.serve)) {
        Command::Serve(a) => serve(a, cli.state_dir).await,
        Command::Token(t) => {
            let store = store(cli.state_dir)?;
            match t {
                TokenCommand::Init => match store.init()? {
                    Some(p) => println!(
                        "created the first token (\"default\"); its secret is in {}",
                        p.display()
                    ),
                    None => println!("token store exists: {}", store.path().display()),
                },
                TokenCommand::Add { name } => {
                    let token = store.add(&name)?;
                    eprintln!("token {name} created; it is shown once, store it now:");
                    println!("{token}");
                }
                TokenCommand::List => {
                    for e in store.list()? {
                        match e.expires {
                            Some(x) => {
                                println!("{}\t(old secret, valid until unix time {x})", e.name)
                            }
                            None => println!("{}", e.name),
                        }
                    }
                }
                TokenCommand::Revoke { name } => {
                    store.revoke(&name)?;
                    eprintln!("token {name} revoked");
                }
                TokenCommand::Rotate { name, grace } => {
                    let token = store.rotate(&name, grace)?;
                    eprintln!("token {name} rotated; the old secret stays valid for {grace} s");
                    println!("{token}");
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Healthcheck { listen } => Ok(healthcheck(listen).await),
    }
}

async fn serve(a: ServeArgs, state_dir: Option<std::path::PathBuf>) -> Result<ExitCode, String> {
    let state_dir = cli::state_dir(state_dir)?;
    let settings = Arc::new(Settings::resolve(a)?);
    let log = Arc::new(log::LogSink::open(settings.log_dir.as_deref())?);
    init_tracing(log.clone());
    let verifier = if settings.auth {
        let store = Store::new(state_dir.join(paths::BRIDGE_STATE_SUBDIR));
        if let Some(p) = store.init()? {
            tracing::warn!(
                "first start: created the bridge token \"default\"; its secret is in {} \
                 (send it as Authorization: Bearer …; add more with `mcp-http-bridge token add NAME`)",
                p.display()
            );
        }
        Some(tokens::Verifier::new(store))
    } else {
        tracing::warn!(
            "serving WITHOUT tokens ({}); loopback only",
            env::BRIDGE_NO_AUTH
        );
        None
    };
    let tls = match &settings.tls {
        Some((c, k)) => Some(app::tls_acceptor(c, k)?),
        None => None,
    };
    let listener = tokio::net::TcpListener::bind(settings.listen)
        .await
        .map_err(|e| format!("cannot listen on {}: {e}", settings.listen))?;
    let shutdown = CancellationToken::new();
    let sup = child::Supervisor::start(settings.clone(), log, shutdown.child_token())
        .await
        .map_err(|e| format!("cannot start the engine (a configuration error?): {e}"))?;
    let sessions = app::session_manager();
    let guard = Arc::new(guard::Guard::new(settings.clone(), verifier, sessions));
    let router = app::app(sup.clone(), guard, shutdown.child_token());
    tracing::info!(
        listen = %settings.listen,
        tls = settings.tls.is_some(),
        engine = %settings.engine.display(),
        "serving MCP on {}://{}/mcp",
        if settings.tls.is_some() { "https" } else { "http" },
        settings.listen
    );
    let stop = shutdown.clone();
    tokio::spawn(async move {
        use tokio::signal::unix::{SignalKind, signal};
        let (Ok(mut term), Ok(mut int)) = (
            signal(SignalKind::terminate()),
            signal(SignalKind::interrupt()),
        ) else {
            return;
        };
        tokio::select! {
            _ = term.recv() => {}
            _ = int.recv() => {}
        }
        tracing::info!("signal received: draining, then stopping the engine");
        stop.cancel();
    });
    app::serve(
        listener,
        router,
        tls,
        settings.client_timeout,
        shutdown.clone(),
    )
    .await;
    sup.stop().await;
    Ok(ExitCode::SUCCESS)
}

fn init_tracing(log: Arc<log::LogSink>) {
    let filter = EnvFilter::try_from_env(env::PROXMOX_MCP_LOG)
        .unwrap_or_else(|_| EnvFilter::new("info,rmcp=warn"));
    tracing_subscriber::fmt()
        .with_writer(move || log::Writer(log.clone()))
        .with_env_filter(filter)
        .with_ansi(false)
        .compact()
        .try_init()
        .ok();
}

/// GET /healthz on the listen address (loopback when it listens on all addresses).
async fn healthcheck(listen: std::net::SocketAddr) -> ExitCode {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut addr = listen;
    if addr.ip().is_unspecified() {
        addr.set_ip(if addr.is_ipv4() {
            std::net::Ipv4Addr::LOCALHOST.into()
        } else {
            std::net::Ipv6Addr::LOCALHOST.into()
        });
    }
    let check = async {
        let mut s = tokio::net::TcpStream::connect(addr).await.ok()?;
        s.write_all(b"GET /healthz HTTP/1.0\r\nHost: localhost\r\n\r\n")
            .await
            .ok()?;
        let mut buf = Vec::new();
        s.read_to_end(&mut buf).await.ok()?;
        let text = String::from_utf8_lossy(&buf);
        Some(text.starts_with("HTTP/1.0 200") || text.starts_with("HTTP/1.1 200"))
    };
    match tokio::time::timeout(std::time::Duration::from_secs(5), check).await {
        Ok(Some(true)) => ExitCode::SUCCESS,
        _ => {
            eprintln!("mcp-http-bridge: {addr}/healthz did not answer 200");
            ExitCode::from(1)
        }
    }
}
