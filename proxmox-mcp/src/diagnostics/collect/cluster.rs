//! IO: reads one cluster into a [`ClusterSnapshot`] for the analysis tools. A read that fails
//! stays in the snapshot as its reason; nothing here aborts the collection.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::config::DiagnosticsConfig;
use crate::diagnostics::snapshot::Got;
use crate::diagnostics::snapshot::cluster::{ClusterSnapshot, GuestSnapshot, NodeSnapshot};
use crate::pve::{Params, Pve};

/// What to read beyond the default checks.
#[derive(Debug, Clone, Default)]
pub struct Want {
    /// One guest in depth (pending, snapshots, firewall, agent, RRD): `diagnose_vm_issues`,
    /// `analyze_vm_performance`.
    pub guest: Option<u32>,
    /// RRD timeframe for that guest (`hour`, `day`, `week`, `month`).
    pub timeframe: Option<String>,
}

/// `GET path` as JSON, the failure kept as the reason.
async fn get(pve: &Pve, path: &str) -> Got<Value> {
    pve.get::<Value>(path, &Params::new())
        .await
        .map_err(|e| format!("GET {path}: {e}"))
}

fn list(v: Got<Value>) -> Got<Vec<Value>> {
    v.map(|v| v.as_array().cloned().unwrap_or_default())
}

/// Reads the cluster. (First cut: resources and guests only; the full collection replaces it.)
pub async fn collect(pve: &Pve, _cfg: &DiagnosticsConfig, _want: &Want) -> ClusterSnapshot {
    let mut snap = ClusterSnapshot {
        now: super::now_secs(),
        ..ClusterSnapshot::default()
    };
    snap.resources = list(get(pve, "/cluster/resources").await);
    snap.requests = 1;
    if let Ok(items) = &snap.resources {
        for r in items {
            let kind = r.get("type").and_then(Value::as_str).unwrap_or_default();
            let node = r
                .get("node")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string();
            match kind {
                "node" => {
                    snap.nodes.insert(
                        node.clone(),
                        NodeSnapshot {
                            online: r.get("status").and_then(Value::as_str) == Some("online"),
                            name: node,
                            ..NodeSnapshot::default()
                        },
                    );
                }
                "qemu" | "lxc" => {
                    let Some(vmid) = r.get("vmid").and_then(Value::as_u64) else {
                        continue;
                    };
                    snap.guests.insert(
                        vmid as u32,
                        GuestSnapshot {
                            vmid: vmid as u32,
                            kind: kind.into(),
                            node,
                            resource: r.clone(),
                            config: Ok(BTreeMap::new()),
                            ..GuestSnapshot::default()
                        },
                    );
                }
                _ => {}
            }
        }
    }
    snap
}
