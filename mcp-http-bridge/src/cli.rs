//! The command line and the settings it resolves to (validated before anything starts).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use proxmox_mcp_contract::{bridge::TASK_WAIT_MAX_SECS, env, paths};

#[derive(Debug, Parser)]
#[command(
    name = "mcp-http-bridge",
    version,
    about = "Serves the proxmox-mcp engine as MCP Streamable HTTP (POST /mcp), with bearer tokens",
    args_conflicts_with_subcommands = true
)]
pub struct Cli {
    /// With no subcommand: serve, with these options
    #[command(flatten)]
    pub serve: ServeArgs,
    /// State directory (the engine's; the bridge keeps its tokens in `bridge/` inside it)
    #[arg(long, global = true, env = env::PROXMOX_MCP_STATE_DIR, value_name = "DIR")]
    pub state_dir: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve HTTP (the default)
    Serve(ServeArgs),
    /// Manage the bearer tokens clients use
    #[command(subcommand)]
    Token(TokenCommand),
    /// Exit 0 when GET /healthz on the listen address answers 200 (for container health checks)
    Healthcheck {
        #[arg(long, env = env::BRIDGE_LISTEN, default_value = "127.0.0.1:3001")]
        listen: SocketAddr,
    },
}

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Create the first-start secret if there is no token store yet; prints its path
    Init,
    /// Create a named token and print it (once: only its hash is kept)
    Add { name: String },
    /// List token names (never the secrets)
    List,
    /// Revoke every secret of a token, at once
    Revoke { name: String },
    /// Give a token a new secret; the old one keeps working for the grace period
    Rotate {
        name: String,
        /// Seconds the old secret stays valid
        #[arg(long, env = env::BRIDGE_ROTATE_GRACE_SECS, default_value_t = 3600)]
        grace: u64,
    },
}

#[derive(Debug, Args, Clone, Default)]
pub struct ServeArgs {
    /// Address to listen on
    #[arg(long, env = env::BRIDGE_LISTEN, default_value = "127.0.0.1:3001")]
    pub listen: Option<SocketAddr>,
    /// The proxmox-mcp binary to run (default: beside this binary, else on PATH)
    #[arg(long, env = env::BRIDGE_ENGINE, value_name = "PATH")]
    pub engine: Option<PathBuf>,
    /// Extra Host names accepted (comma-separated; loopback names always are)
    #[arg(long, env = env::BRIDGE_ALLOWED_HOSTS, value_delimiter = ',')]
    pub allowed_hosts: Vec<String>,
    /// Origins accepted (comma-separated scheme://host[:port|:*]; loopback always is)
    #[arg(long, env = env::BRIDGE_ALLOWED_ORIGINS, value_delimiter = ',')]
    pub allowed_origins: Vec<String>,
    /// TLS certificate chain (PEM); with --tls-key, serve HTTPS
    #[arg(long, env = env::BRIDGE_TLS_CERT, requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// TLS private key (PEM)
    #[arg(long, env = env::BRIDGE_TLS_KEY, requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// Seconds one call may take (at least the engine's longest task wait + 60)
    #[arg(long, env = env::BRIDGE_CALL_TIMEOUT_SECS, default_value_t = 900)]
    pub call_timeout: u64,
    /// Copy the bridge's and the engine's log to DIR/mcp-http-bridge.log
    #[arg(long, env = env::BRIDGE_LOG_DIR, value_name = "DIR")]
    pub log_dir: Option<PathBuf>,
    /// Serve without tokens (only on a loopback address)
    #[arg(long, env = env::BRIDGE_NO_AUTH)]
    pub no_auth: bool,
    /// Sustained requests per second per token
    #[arg(long, env = env::BRIDGE_RATE, default_value_t = 50.0)]
    pub rate: f64,
    /// Requests a token may send in a burst above the rate
    #[arg(long, env = env::BRIDGE_BURST, default_value_t = 200)]
    pub burst: u32,
    /// Requests one token may have in flight at once
    #[arg(long, env = env::BRIDGE_MAX_CONCURRENT, default_value_t = 64)]
    pub max_concurrent: u32,
    /// Legacy (2025-11-25) sessions open at once
    #[arg(long, env = env::BRIDGE_MAX_SESSIONS, default_value_t = 64)]
    pub max_sessions: usize,
    /// First pause before restarting a crashed engine, in milliseconds (doubles, up to 30 s)
    #[arg(long, default_value_t = 500, hide = true)]
    pub restart_backoff_ms: u64,
    /// Restarts within 10 minutes after which the bridge stops restarting the engine
    #[arg(long, default_value_t = 5, hide = true)]
    pub max_restarts: u32,
    /// Seconds a client may take to send its request headers, and its request body
    #[arg(long, default_value_t = 10, hide = true)]
    pub client_timeout_secs: u64,
}

/// Validated settings.
#[derive(Debug, Clone)]
pub struct Settings {
    pub listen: SocketAddr,
    pub engine: PathBuf,
    pub allowed_hosts: Vec<String>,
    pub allowed_origins: Vec<String>,
    pub tls: Option<(PathBuf, PathBuf)>,
    pub call_timeout: Duration,
    pub log_dir: Option<PathBuf>,
    pub auth: bool,
    pub rate: f64,
    pub burst: u32,
    pub max_concurrent: u32,
    pub max_sessions: usize,
    pub restart_backoff: Duration,
    pub max_restarts: u32,
    pub client_timeout: Duration,
}

/// Loopback names, always accepted as `Host` and `Origin`.
pub const LOOPBACK_HOSTS: [&str; 3] = ["localhost", "127.0.0.1", "[::1]"];

/// The state directory the engine will use, by the same rules: the option or env, else the
/// system directory when the config is the system one, else the user's.
pub fn state_dir(given: Option<PathBuf>) -> Result<PathBuf, String> {
    if let Some(d) = given {
        return Ok(d);
    }
    let config = std::env::var_os(env::PROXMOX_MCP_CONFIG)
        .map(PathBuf::from)
        .or_else(|| paths::config_candidates().into_iter().find(|p| p.is_file()));
    if config.as_deref().is_some_and(paths::is_system_config) {
        return Ok(PathBuf::from(paths::SYSTEM_STATE_DIR));
    }
    paths::user_state_dir().ok_or_else(|| {
        format!(
            "no state directory: set {} or --state-dir",
            env::PROXMOX_MCP_STATE_DIR
        )
    })
}

impl Settings {
    pub fn resolve(a: ServeArgs) -> Result<Settings, String> {
        let listen = a
            .listen
            .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 3001)));
        if a.no_auth && !listen.ip().is_loopback() {
            return Err(format!(
                "refusing to serve {listen} without tokens: --no-auth ({}) is for loopback \
                 addresses only",
                env::BRIDGE_NO_AUTH
            ));
        }
        let mut hosts: Vec<String> = Vec::new();
        for h in a
            .allowed_hosts
            .iter()
            .map(|h| h.trim().to_ascii_lowercase())
        {
            if h.is_empty() {
                continue;
            }
            if h.contains('*') || h.contains('/') {
                return Err(format!(
                    "{}: {h:?} is not a host name; wildcards are refused (list each name the \
                     clients use)",
                    env::BRIDGE_ALLOWED_HOSTS
                ));
            }
            hosts.push(h);
        }
        let mut origins: Vec<String> = Vec::new();
        for o in a
            .allowed_origins
            .iter()
            .map(|o| o.trim().to_ascii_lowercase())
        {
            if o.is_empty() {
                continue;
            }
            let Some((scheme, rest)) = o.split_once("://") else {
                return Err(format!(
                    "{}: {o:?} needs a scheme, e.g. https://mcp.example.org",
                    env::BRIDGE_ALLOWED_ORIGINS
                ));
            };
            let host = rest.rsplit_once(':').map_or(rest, |(h, _)| h);
            if !matches!(scheme, "http" | "https")
                || host.contains('*')
                || host.is_empty()
                || rest.contains('/')
            {
                return Err(format!(
                    "{}: {o:?} is refused: give scheme://host[:port|:*], no wildcard host",
                    env::BRIDGE_ALLOWED_ORIGINS
                ));
            }
            origins.push(o);
        }
        let min = TASK_WAIT_MAX_SECS + 60;
        if a.call_timeout < min {
            return Err(format!(
                "{} is {} s; it must be at least {min} s (the engine waits up to \
                 {TASK_WAIT_MAX_SECS} s for a task)",
                env::BRIDGE_CALL_TIMEOUT_SECS,
                a.call_timeout
            ));
        }
        if a.rate.is_nan()
            || a.rate <= 0.0
            || a.burst == 0
            || a.max_concurrent == 0
            || a.max_sessions == 0
        {
            return Err("rate, burst, max-concurrent and max-sessions must be positive".into());
        }
        let engine = match a.engine {
            Some(p) => p,
            None => default_engine(),
        };
        Ok(Settings {
            listen,
            engine,
            allowed_hosts: hosts,
            allowed_origins: origins,
            tls: a.tls_cert.zip(a.tls_key),
            call_timeout: Duration::from_secs(a.call_timeout),
            log_dir: a.log_dir,
            auth: !a.no_auth,
            rate: a.rate,
            burst: a.burst,
            max_concurrent: a.max_concurrent,
            max_sessions: a.max_sessions,
            restart_backoff: Duration::from_millis(a.restart_backoff_ms.max(10)),
            max_restarts: a.max_restarts,
            client_timeout: Duration::from_secs(a.client_timeout_secs.clamp(1, 300)),
        })
    }
}

/// `proxmox-mcp` beside this binary, else the name alone (looked up on PATH).
fn default_engine() -> PathBuf {
    std::env::current_exe()
        .ok()
        .and_then(|p| p.parent().map(|d| d.join("proxmox-mcp")))
        .filter(|p| p.is_file())
        .unwrap_or_else(|| PathBuf::from("proxmox-mcp"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(f: impl FnOnce(&mut ServeArgs), want_err: Option<&str>) {
        let mut a = ServeArgs {
            call_timeout: 900,
            rate: 10.0,
            burst: 10,
            max_concurrent: 4,
            max_sessions: 4,
            restart_backoff_ms: 500,
            max_restarts: 5,
            client_timeout_secs: 10,
            ..ServeArgs::default()
        };
        f(&mut a);
        match (Settings::resolve(a), want_err) {
            (Ok(_), None) => {}
            (Err(e), Some(w)) => assert!(e.contains(w), "{e}"),
            (r, w) => panic!("got {r:?}, want error {w:?}"),
        }
    }

    #[test]
    fn settings_are_checked() {
        check(|_| {}, None);
        check(
            |a| {
                a.no_auth = true;
                a.listen = Some("0.0.0.0:3001".parse().unwrap());
            },
            Some("without tokens"),
        );
        check(
            |a| {
                a.no_auth = true;
                a.listen = Some("[::1]:3001".parse().unwrap());
            },
            None,
        );
        check(|a| a.allowed_hosts = vec!["*".into()], Some("wildcards"));
        check(
            |a| a.allowed_hosts = vec!["*.lan".into()],
            Some("wildcards"),
        );
        check(|a| a.allowed_hosts = vec!["pve.lan".into()], None);
        check(|a| a.allowed_origins = vec!["*".into()], Some("scheme"));
        check(
            |a| a.allowed_origins = vec!["https://*".into()],
            Some("refused"),
        );
        check(|a| a.allowed_origins = vec!["https://a.lan:*".into()], None);
        check(|a| a.call_timeout = 30, Some("at least"));
        check(|a| a.rate = 0.0, Some("positive"));
    }
}
