//! The contract between the bridge and the engine it runs.
//!
//! The bridge starts `proxmox-mcp serve --behind-bridge` and is the only writer of the child's
//! stdin. On every request it forwards it removes [`CALLER_META_KEY`] from what the HTTP client
//! sent and sets it to the [`Caller`] it authenticated. The engine reads that field only when it
//! was started with [`BEHIND_BRIDGE_FLAG`]; a stdio server ignores it, so a stdio client cannot
//! claim to be someone else by sending it.

use serde::{Deserialize, Serialize};

/// The engine's subcommand the bridge runs.
pub const SERVE_SUBCOMMAND: &str = "serve";
/// The flag that makes the engine trust [`CALLER_META_KEY`].
pub const BEHIND_BRIDGE_FLAG: &str = "--behind-bridge";
/// The request `_meta` key carrying the [`Caller`].
pub const CALLER_META_KEY: &str = "dev.proxmox-mcp/caller";
/// A custom request the bridge sends to ask whether the engine can reach Proxmox; answered
/// with a [`Readiness`] and never audited (it changes nothing and sends no guest data).
pub const READY_METHOD: &str = "proxmox-mcp/ready";

/// Who called over HTTP, as the bridge authenticated them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Caller {
    /// The name of the bridge token the request carried (`default` for the first-start
    /// secret, `anonymous` when the bridge runs without auth on loopback).
    pub token: String,
    /// The peer address of the HTTP connection.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remote: Option<String>,
    /// The MCP client's own name and version (`clientInfo`), as it sent them to the bridge.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_version: Option<String>,
}

/// The answer to [`READY_METHOD`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Readiness {
    /// Every configured cluster answered `GET /version`.
    pub ready: bool,
    /// One line per cluster, e.g. `default: PVE 9.1.2` or `default: unreachable (timeout)`.
    pub clusters: Vec<String>,
}

/// The longest a tool waits for a Proxmox task (`wait` on action tools), in seconds. The
/// bridge's per-call timeout must not be shorter, or it would cut off calls the engine allows.
pub const TASK_WAIT_MAX_SECS: u64 = 600;
