//! The human command line: serve stdio (default), list and call tools, check the config, demo.

mod approvals;
mod call;
mod check;
mod config_backup;
#[cfg(feature = "demo")]
mod demo;
mod guard;

use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, CommandFactory, Parser, Subcommand, ValueEnum};

use crate::config::{self, Config};
use crate::engine::Engine;
use crate::server::McpServer;
use crate::tools;

#[derive(Debug, Parser)]
#[command(
    name = "proxmox-mcp",
    version,
    about = "MCP server that lets an AI assistant run a Proxmox VE cluster safely",
    long_about = "MCP server that lets an AI assistant run a Proxmox VE cluster safely.\n\n\
        With no subcommand it serves MCP over stdio (what an MCP client launches).\n\
        Connection settings come from the config file and PROXMOX_* environment variables."
)]
pub struct Cli {
    /// Config file (default: the user's ~/.config/proxmox-mcp/config.toml if it exists, else
    /// /etc/proxmox-mcp/config.toml; env PROXMOX_MCP_CONFIG)
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// State directory for modes, approvals and the audit log (env PROXMOX_MCP_STATE_DIR)
    #[arg(long, global = true, value_name = "DIR")]
    pub state_dir: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve MCP over stdio (the default)
    Serve(ServeArgs),
    /// List the tools this server offers
    Tools(ToolsArgs),
    /// Call one tool and print its result
    Call(CallArgs),
    /// Inspect the configuration
    #[command(subcommand)]
    Config(ConfigCommand),
    /// Run against a built-in simulated cluster (no Proxmox needed)
    #[cfg(feature = "demo")]
    Demo(demo::DemoArgs),
    /// Show the mode, or set it for every process on this host
    ///
    /// `read-only`: write tools are hidden and refused; `safe` (default): every mutation needs
    /// human confirmation; `normal`: mutations run, destructive ones need confirmation.
    Mode {
        /// The new mode: read-only, safe or normal (omit to print the current one)
        mode: Option<String>,
    },
    /// List approvals waiting for a human (out-of-band confirmation)
    Approvals {
        /// Also list decided, used and recently expired approvals
        #[arg(long)]
        all: bool,
    },
    /// Grant a pending approval, so the call it was issued for may run once
    Approve {
        /// The approval id the tool reported
        id: String,
    },
    /// Refuse a pending approval (or revoke a granted one not used yet)
    Deny {
        /// The approval id the tool reported
        id: String,
    },
    /// Check or locate the audit log
    #[command(subcommand)]
    Audit(AuditCommand),
    /// Back up, list or restore the server's own config and state
    #[command(subcommand)]
    ConfigBackup(config_backup::ConfigBackupCommand),
    /// Restore the binary and config file kept by the last self_update
    Rollback {
        /// The installed binary to roll back (default: this one)
        #[arg(long, value_name = "FILE")]
        binary: Option<PathBuf>,
    },
    /// Print shell completions (bash, zsh, fish, elvish, powershell)
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
}

#[derive(Debug, Args, Default)]
pub struct ServeArgs {
    /// Serve the HTTP bridge (`mcp-http-bridge` runs us with this): audit calls as HTTP, with
    /// the client the bridge names on each request. Never set it for an MCP client you launch
    /// yourself.
    #[arg(long = "behind-bridge")]
    pub behind_bridge: bool,
}

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Walk the hash chain and compare it with the head pointer: exit 0 when intact, 1 when
    /// records were edited, removed (anywhere, also at either end), reordered or truncated
    Verify,
    /// Print the audit log directory
    Path,
}

#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Validate the configuration and test the connection to every cluster
    Check,
    /// Print which config file would be read
    Path,
    /// Store a token secret (or password) in the OS keyring, read from stdin
    ///
    /// The config then names it with `token_secret_keyring = true` (or `password_keyring`).
    /// On Linux this is the kernel keyring, which does not survive a reboot: on servers prefer
    /// a secret file (`token_secret_file`, mode 0600).
    SetSecret {
        /// Cluster name the secret belongs to (the keyring account)
        #[arg(long, default_value = "default")]
        cluster: String,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum Output {
    /// The short text the model reads
    #[default]
    Text,
    /// The full MCP result as JSON
    Json,
}

#[derive(Debug, Args)]
pub struct ToolsArgs {
    #[arg(long, value_enum, default_value_t = Output::Text)]
    pub output: Output,
}

#[derive(Debug, Args)]
pub struct CallArgs {
    /// Tool name (see `proxmox-mcp tools`)
    pub tool: String,
    /// Argument as key=value; the value is parsed as JSON when it can be (`vmid=100`)
    #[arg(long = "arg", short = 'a', value_name = "KEY=VALUE")]
    pub args: Vec<String>,
    /// All arguments as one JSON object
    #[arg(long, value_name = "JSON", conflicts_with = "args")]
    pub json: Option<String>,
    #[arg(long, value_enum, default_value_t = Output::Text)]
    pub output: Output,
}

/// Run the parsed command line.
pub async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let load = config::LoadOptions {
        config_path: cli.config.clone(),
        state_dir: cli.state_dir.clone(),
    };
    match cli
        .command
        .unwrap_or_else(|| Command::Serve(ServeArgs::default()))
    {
        Command::Serve(a) => {
            let cfg = config::load(&load)?;
            tools::select::check(&cfg.tools).map_err(anyhow::Error::msg)?;
            serve(cfg, &a).await?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Tools(a) => {
            // The `[tools]` allow and deny lists apply when a configuration loads; without one
            // every tool is listed.
            let filter = match config::load(&load) {
                Ok(cfg) => {
                    tools::select::check(&cfg.tools).map_err(anyhow::Error::msg)?;
                    cfg.tools
                }
                Err(_) => config::ToolsConfig::default(),
            };
            print_tools(a.output, &filter)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Call(a) => {
            let cfg = config::load(&load)?;
            tools::select::check(&cfg.tools).map_err(anyhow::Error::msg)?;
            call::run(Engine::new(cfg), &a).await
        }
        Command::Config(ConfigCommand::Check) => check::run(&load).await,
        Command::Config(ConfigCommand::Path) => {
            let path = load
                .config_path
                .clone()
                .or_else(config::load::default_config_path);
            match path {
                Some(p) => out(&format!("{}\n", p.display()))?,
                None => out("(no config file; environment only)\n")?,
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Config(ConfigCommand::SetSecret { cluster }) => {
            use std::io::IsTerminal as _;
            if std::io::stdin().is_terminal() {
                anyhow::bail!(
                    "pipe the secret in rather than typing it (a terminal would echo it): \
                     read -rs S && printf '%s\\n' \"$S\" | proxmox-mcp config set-secret \
                     --cluster {cluster}"
                );
            }
            let mut line = String::new();
            std::io::stdin().read_line(&mut line)?;
            let secret = config::Secret::new(line.trim_end_matches(['\r', '\n']));
            config::load::store_secret_in_keyring(&cluster, &secret)?;
            eprintln!("stored the secret for cluster {cluster:?} in the OS keyring");
            Ok(ExitCode::SUCCESS)
        }
        Command::Mode { mode } => approvals::mode(&load, mode.as_deref()),
        Command::Approvals { all } => approvals::list(&load, all),
        Command::ConfigBackup(c) => config_backup::run(&load, c),
        Command::Approve { id } => approvals::approve(&load, &id),
        Command::Deny { id } => approvals::deny(&load, &id),
        Command::Audit(AuditCommand::Verify) => approvals::audit_verify(&load),
        Command::Audit(AuditCommand::Path) => {
            out(&format!(
                "{}\n",
                config::load(&load)?.state_dir.join("audit").display()
            ))?;
            Ok(ExitCode::SUCCESS)
        }
        #[cfg(feature = "demo")]
        Command::Demo(a) => demo::run(a, load).await,
        Command::Rollback { binary } => rollback(&load, binary),
        Command::Completions { shell } => {
            let mut cmd = Cli::command();
            clap_complete::generate(shell, &mut cmd, "proxmox-mcp", &mut std::io::stdout());
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// `proxmox-mcp rollback`: puts `<bin>.previous` back, and the kept config copy back at the
/// config file in use. An operator command: refused inside a tool call.
fn rollback(load: &config::LoadOptions, binary: Option<PathBuf>) -> anyhow::Result<ExitCode> {
    let bin = match binary {
        Some(b) => b,
        None => std::env::current_exe()?,
    };
    let bin = bin.canonicalize().unwrap_or(bin);
    approvals::refuse_inside_tool_call(load, "rollback", format!("binary {}", bin.display()))?;
    let cfg = config::load(load)?;
    let restored =
        crate::selfmgmt::update::swap::rollback(&bin, &cfg.state_dir, cfg.source.as_deref());
    match restored {
        Ok(r) => {
            let mut text = format!("restored {}", r.binary.display());
            if let Some(v) = &r.version {
                text.push_str(&format!(" (version {v})"));
            }
            if let Some(c) = &r.config {
                text.push_str(&format!(" and the config file {}", c.display()));
            }
            if let Some(why) = &r.config_skipped {
                text.push_str(&format!(" (the kept config copy was not restored: {why})"));
            }
            out(&format!("{text}; restart the server to run it\n"))?;
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => {
            eprintln!("proxmox-mcp rollback: {e}");
            Ok(ExitCode::from(1))
        }
    }
}

/// Serve MCP over stdio with this configuration, until stdin closes or SIGTERM/SIGINT.
pub async fn serve(cfg: Config, args: &ServeArgs) -> anyhow::Result<()> {
    for c in &cfg.clusters {
        if c.tls.insecure {
            tracing::warn!(
                cluster = %c.name,
                url = %c.url,
                "TLS certificate verification is DISABLED (insecure); pin the fingerprint \
                 (PROXMOX_FINGERPRINT) or trust the CA (PROXMOX_CA_FILE) instead"
            );
        }
    }
    if cfg.clusters.is_empty() {
        tracing::warn!(
            "no Proxmox cluster configured; tools will explain how to set PROXMOX_URL and a token"
        );
    }
    tracing::info!(
        clusters = cfg.clusters.len(),
        behind_bridge = args.behind_bridge,
        "serving MCP over stdio"
    );
    let engine = Engine::new(cfg);
    // Open (and prune) the audit log now, so a problem shows at start, not at the first change.
    if let Err(e) = engine.safety().audit() {
        tracing::warn!("{e}; changes will be refused until it can be written");
    }
    let mut server = McpServer::new(engine);
    if args.behind_bridge {
        server = server.behind_bridge();
    }
    server
        .run(crate::server::stdio::Stdio::new(), on_signal())
        .await
}

/// Cancelled on SIGTERM or SIGINT.
fn on_signal() -> tokio_util::sync::CancellationToken {
    use tokio::signal::unix::{SignalKind, signal};
    let token = tokio_util::sync::CancellationToken::new();
    let cancel = token.clone();
    tokio::spawn(async move {
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
        tracing::info!("signal received: stopping");
        cancel.cancel();
    });
    token
}

fn print_tools(output: Output, filter: &config::ToolsConfig) -> anyhow::Result<()> {
    match output {
        Output::Json => {
            let tools: Vec<_> = crate::server::tool_list(crate::policy::mode::Mode::Normal)
                .into_iter()
                .filter(|t| tools::select::offered(filter, &t.name))
                .collect();
            let list = serde_json::json!({ "tools": tools });
            out(&format!("{}\n", serde_json::to_string_pretty(&list)?))
        }
        Output::Text => {
            let mut text = String::new();
            for t in crate::tools::registry()
                .iter()
                .filter(|t| tools::select::enabled(filter, t))
            {
                text.push_str(&format!("{:<18} [{}] {}\n", t.name, t.class, t.description));
            }
            out(&text)
        }
    }
}

/// Write to stdout (the CLI's output channel; the stdio server never calls this).
pub(crate) fn out(text: &str) -> anyhow::Result<()> {
    let mut stdout = std::io::stdout().lock();
    stdout.write_all(text.as_bytes())?;
    stdout.flush()?;
    Ok(())
}
