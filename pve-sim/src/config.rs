//! Simulator configuration: what to generate, where to listen and which faults to inject.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use crate::state::scenario::Scenario;

/// Everything `start` needs. `Default` gives a small HTTPS cluster on a random loopback port.
#[derive(Clone, Debug)]
pub struct SimConfig {
    /// Listen address; default `127.0.0.1:0` (a free port).
    pub bind: SocketAddr,
    /// Serve HTTPS with a self-signed certificate generated at start (default true).
    pub tls: bool,
    /// Number of generated nodes (default 3).
    pub nodes: usize,
    /// Number of generated QEMU guests (default 10).
    pub vms: usize,
    /// Number of generated LXC guests (default 5).
    pub cts: usize,
    /// Seed for deterministic generation (default 1).
    pub seed: u64,
    /// A hand-made cluster; when set it replaces generation.
    pub scenario: Option<Scenario>,
    /// `api-schema.json` or a node's `apidata.js`: enables strict request checking.
    pub schema: Option<PathBuf>,
    /// Append one JSON line per request to this file.
    pub request_log: Option<PathBuf>,
    /// Multiplies task durations; 0.0 finishes tasks instantly (default 1.0).
    pub time_scale: f64,
    /// Fault injection.
    pub faults: Faults,
}

impl Default for SimConfig {
    fn default() -> Self {
        Self {
            bind: SocketAddr::from(([127, 0, 0, 1], 0)),
            tls: true,
            nodes: 3,
            vms: 10,
            cts: 5,
            seed: 1,
            scenario: None,
            schema: None,
            request_log: None,
            time_scale: 1.0,
            faults: Faults::default(),
        }
    }
}

/// Fault injection knobs; can be changed at runtime with `SimHandle::set_faults`.
#[derive(Clone, Default, Debug)]
pub struct Faults {
    /// Added to every request.
    pub latency: Duration,
    /// Probability (0..1) that any request fails with `error_status`.
    pub error_rate: f64,
    /// Status to inject (500, 502 or 503; 0 means 503).
    pub error_status: u16,
    /// Nodes that are down: proxied calls give 595, status shows offline.
    pub offline_nodes: Vec<String>,
    /// Requests whose path (below `/api2/json`, or the full path) starts with one of these never answer.
    pub hang_paths: Vec<String>,
}

/// An API token (`user@realm!name`) and its secret.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    pub token_id: String,
    pub secret: String,
}

impl Credentials {
    /// The `Authorization` header value for this token.
    pub fn header(&self) -> String {
        format!("PVEAPIToken={}={}", self.token_id, self.secret)
    }
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("token_id", &self.token_id)
            .field("secret", &"****")
            .finish()
    }
}
