//! Environment variables both binaries read. The engine's own settings are named in its
//! `config::env`; the ones here are shared (the bridge passes its environment to its child).

/// Path of the engine's TOML configuration file (like `--config`).
pub const PROXMOX_MCP_CONFIG: &str = "PROXMOX_MCP_CONFIG";
/// Directory for modes, approvals, the audit log and the bridge's tokens.
pub const PROXMOX_MCP_STATE_DIR: &str = "PROXMOX_MCP_STATE_DIR";
/// `tracing` filter for the log on stderr, e.g. `info` or `proxmox_mcp=debug`.
pub const PROXMOX_MCP_LOG: &str = "PROXMOX_MCP_LOG";

/// Bridge: the address to listen on (default `127.0.0.1:3001`).
pub const BRIDGE_LISTEN: &str = "PROXMOX_MCP_BRIDGE_LISTEN";
/// Bridge: the engine binary it runs (default: `proxmox-mcp` beside the bridge, else `PATH`).
pub const BRIDGE_ENGINE: &str = "PROXMOX_MCP_BRIDGE_ENGINE";
/// Bridge: extra `Host` names accepted, comma-separated (loopback is always accepted).
pub const BRIDGE_ALLOWED_HOSTS: &str = "PROXMOX_MCP_BRIDGE_ALLOWED_HOSTS";
/// Bridge: `Origin`s accepted, comma-separated `scheme://host[:port|:*]`.
pub const BRIDGE_ALLOWED_ORIGINS: &str = "PROXMOX_MCP_BRIDGE_ALLOWED_ORIGINS";
/// Bridge: TLS certificate chain (PEM); with [`BRIDGE_TLS_KEY`] the bridge serves HTTPS.
pub const BRIDGE_TLS_CERT: &str = "PROXMOX_MCP_BRIDGE_TLS_CERT";
/// Bridge: TLS private key (PEM).
pub const BRIDGE_TLS_KEY: &str = "PROXMOX_MCP_BRIDGE_TLS_KEY";
/// Bridge: how long one call may take, in seconds.
pub const BRIDGE_CALL_TIMEOUT_SECS: &str = "PROXMOX_MCP_BRIDGE_CALL_TIMEOUT_SECS";
/// Bridge: directory its log (and the engine's stderr) is copied to.
pub const BRIDGE_LOG_DIR: &str = "PROXMOX_MCP_BRIDGE_LOG_DIR";
/// Bridge: `1` serves without tokens (refused on anything but a loopback address).
pub const BRIDGE_NO_AUTH: &str = "PROXMOX_MCP_BRIDGE_NO_AUTH";
/// Bridge: sustained requests per second per token.
pub const BRIDGE_RATE: &str = "PROXMOX_MCP_BRIDGE_RATE";
/// Bridge: requests a token may burst above the rate.
pub const BRIDGE_BURST: &str = "PROXMOX_MCP_BRIDGE_BURST";
/// Bridge: tool calls one token may have running at once.
pub const BRIDGE_MAX_CONCURRENT: &str = "PROXMOX_MCP_BRIDGE_MAX_CONCURRENT";
/// Bridge: legacy (2025-11-25) sessions open at once.
pub const BRIDGE_MAX_SESSIONS: &str = "PROXMOX_MCP_BRIDGE_MAX_SESSIONS";
/// Bridge: seconds a rotated token's old secret stays valid.
pub const BRIDGE_ROTATE_GRACE_SECS: &str = "PROXMOX_MCP_BRIDGE_ROTATE_GRACE_SECS";
