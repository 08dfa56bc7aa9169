//! The only IO of the diagnostics wing: reads the server's own state and the cluster into a
//! [`Snapshot`] with at most [`DEFAULT_LIMIT`] requests in flight. A request that fails leaves
//! its fact as "not checked: why"; nothing here aborts the whole collection.

use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;
use std::path::Path;
use std::sync::OnceLock;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use futures::StreamExt;
use serde_json::Value;

pub mod cluster;

use super::snapshot::*;
use crate::apidoc::ApiDoc;
use crate::engine::Engine;
use crate::pve::params::encode_segment;
use crate::pve::{Params, Pve};

/// Requests in flight at once.
pub const DEFAULT_LIMIT: usize = 5;
/// Guests whose config is read at most (the rest are reported as not checked).
pub const MAX_GUESTS: usize = 500;

/// What one enabled tool may call: its name and declared endpoints (`"GET /cluster/status"`).
pub struct ToolEndpoints {
    pub tool: &'static str,
    pub endpoints: &'static [&'static str],
}

/// What to read beyond the server facts.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// Everything `health_check` needs.
    Health,
    /// Nodes, guests and their configs, backup jobs, firewall.
    Practices,
}

/// Runs `futs` with at most `limit` in flight, keeping their order.
pub async fn bounded<T, F>(limit: usize, futs: Vec<F>) -> Vec<T>
where
    F: Future<Output = T>,
{
    futures::stream::iter(futs)
        .buffered(limit.max(1))
        .collect()
        .await
}

/// `GET path`, with the failure as the reason the fact is not checked.
async fn get(pve: &Pve, path: &str) -> Got<Value> {
    pve.get::<Value>(path, &Params::new())
        .await
        .map_err(|e| format!("GET {path}: {e}"))
}

pub(crate) fn now_secs() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// The server's own facts (no cluster needed).
pub fn server_facts(engine: &Engine) -> ServerFacts {
    let safety = engine.safety();
    let audit = safety.audit().map(|log| {
        let report = log.verify();
        AuditFacts {
            writable: probe_writable(log.dir()),
            records: report.records,
            problems: report.problems.iter().map(|p| p.to_string()).collect(),
        }
    });
    ServerFacts {
        version: env!("CARGO_PKG_VERSION").into(),
        uptime_secs: engine.uptime().as_secs(),
        mode: safety.mode().as_str().into(),
        clusters: engine.config().clusters.len(),
        audit,
        state_dir: free_space(safety.state_dir()),
        behind_bridge: std::env::var_os("PROXMOX_MCP_BEHIND_BRIDGE").is_some_and(|v| v == "1"),
    }
}

/// Creates and removes a probe file in `dir`.
fn probe_writable(dir: &Path) -> Result<(), String> {
    let probe = dir.join(format!(".health-probe-{}", std::process::id()));
    std::fs::write(&probe, b"")
        .and_then(|()| std::fs::remove_file(&probe))
        .map_err(|e| format!("{}: {e}", dir.display()))
}

fn free_space(dir: &Path) -> Got<FreeSpace> {
    let st = rustix::fs::statvfs(dir).map_err(|e| format!("statvfs {}: {e}", dir.display()))?;
    Ok(FreeSpace {
        free_bytes: st.f_bavail.saturating_mul(st.f_frsize),
        total_bytes: st.f_blocks.saturating_mul(st.f_frsize),
    })
}

/// The API schema from the configuration, loaded once.
fn api_doc(engine: &Engine) -> Got<&'static ApiDoc> {
    static DOC: OnceLock<Result<ApiDoc, String>> = OnceLock::new();
    let loaded = DOC.get_or_init(|| match &engine.config().api_schema {
        None => Err(
            "no API schema configured (api_schema / PROXMOX_MCP_API_SCHEMA), so \
                     the privileges the tools need are unknown"
                .into(),
        ),
        Some(p) => ApiDoc::load(p).map_err(|e| e.to_string()),
    });
    loaded.as_ref().map_err(Clone::clone)
}

/// What each enabled tool's endpoints need, from the schema's permission summaries.
fn needs(engine: &Engine, tools: &[ToolEndpoints]) -> Got<Vec<Need>> {
    if tools.is_empty() {
        return Ok(Vec::new());
    }
    let doc = api_doc(engine)?;
    let mut out = Vec::new();
    for t in tools {
        for ep in t.endpoints {
            let Some((method, path)) = ep.split_once(' ') else {
                continue;
            };
            let Some(e) = doc.lookup(method, path) else {
                continue;
            };
            if let Some((any, privs)) = e.permissions.as_deref().and_then(parse_permissions) {
                out.push(Need {
                    tool: t.tool.into(),
                    endpoint: (*ep).into(),
                    any,
                    privs,
                });
            }
        }
    }
    Ok(out)
}

/// The privileges in a permission summary (`VM.Audit on /vms/{vmid}`) and whether any one of
/// them suffices. `None` when it names none, or lets the user act on themselves.
pub fn parse_permissions(summary: &str) -> Option<(bool, Vec<String>)> {
    let check = summary.split("; ").next().unwrap_or("");
    if check.contains("the user themselves") || check.contains("authenticated user") {
        return None;
    }
    let mut privs: Vec<String> = Vec::new();
    for word in check.split(|c: char| c.is_whitespace() || c == ',' || c == '(' || c == ')') {
        let is_priv = word.split_once('.').is_some_and(|(a, b)| {
            a.chars().next().is_some_and(|c| c.is_ascii_uppercase())
                && a.chars().all(|c| c.is_ascii_alphabetic())
                && b.chars().next().is_some_and(|c| c.is_ascii_uppercase())
                && b.chars().all(|c| c.is_ascii_alphabetic() || c == '.')
        });
        if is_priv && !privs.iter().any(|p| p == word) {
            privs.push(word.to_string());
        }
    }
    let any = check.contains(" or ") || check.contains("any of");
    (!privs.is_empty()).then_some((any, privs))
}

fn s(v: &Value, k: &str) -> String {
    match v.get(k) {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        _ => String::new(),
    }
}

fn n(v: &Value, k: &str) -> Option<i64> {
    match v.get(k)? {
        Value::Number(n) => n.as_i64().or_else(|| n.as_f64().map(|f| f as i64)),
        Value::String(s) => s.parse().ok(),
        _ => None,
    }
}

fn list(v: Got<Value>) -> Got<Vec<Value>> {
    v.map(|v| v.as_array().cloned().unwrap_or_default())
}

/// Reads everything `scope` needs.
pub async fn collect(
    engine: &Engine,
    pve: &Pve,
    tools: &[ToolEndpoints],
    scope: Scope,
) -> Snapshot {
    let server = server_facts(engine);
    let now = now_secs();
    let started = Instant::now();
    let version = get(pve, "/version").await;
    let latency_ms = started.elapsed().as_millis() as u64;
    let pve_facts = version.map(|v| PveFacts {
        version: s(&v, "version"),
        latency_ms,
    });
    let skip = |what: &str| -> String {
        match &pve_facts {
            Err(why) => format!("{what} skipped: Proxmox is not usable ({why})"),
            Ok(_) => format!("{what} not read for this check"),
        }
    };
    let mut snap = Snapshot {
        now,
        server,
        pve: pve_facts.clone(),
        clock_skew: Err(skip("clock")),
        granted: Err(skip("permissions")),
        needs: needs(engine, tools),
        cluster: Err(skip("cluster status")),
        storages: Err(skip("storage")),
        tasks: Err(skip("tasks")),
        ha: Err(skip("HA status")),
        guests: Err(skip("guests")),
        backup_jobs: Err(skip("backup jobs")),
        firewall_enabled: Err(skip("firewall")),
    };
    if pve_facts.is_err() {
        return snap;
    }
    let health = scope == Scope::Health;
    let paths: Vec<&str> = if health {
        vec![
            "/cluster/status",
            "/cluster/resources",
            "/access/permissions",
            "/cluster/tasks",
            "/cluster/ha/status/current",
        ]
    } else {
        vec![
            "/cluster/status",
            "/cluster/resources",
            "/cluster/backup",
            "/cluster/firewall/options",
        ]
    };
    let mut got: BTreeMap<&str, Got<Value>> = paths
        .iter()
        .copied()
        .zip(bounded(DEFAULT_LIMIT, paths.iter().map(|p| get(pve, p)).collect()).await)
        .collect();
    let mut take = |p: &str| got.remove(p).unwrap_or_else(|| Err(skip(p)));

    snap.cluster = list(take("/cluster/status")).map(|items| {
        let mut c = ClusterFacts::default();
        for i in &items {
            match s(i, "type").as_str() {
                "cluster" => c.quorate = n(i, "quorate").map(|q| q == 1),
                "node" => {
                    c.nodes.insert(s(i, "name"), n(i, "online") == Some(1));
                }
                _ => {}
            }
        }
        c
    });
    let resources = list(take("/cluster/resources"));
    snap.storages = resources.clone().map(|items| {
        items
            .iter()
            .filter(|i| s(i, "type") == "storage" && s(i, "status") != "unknown")
            .map(|i| StorageUse {
                storage: s(i, "storage"),
                node: s(i, "node"),
                used: n(i, "disk").unwrap_or(0).max(0) as u64,
                total: n(i, "maxdisk").unwrap_or(0).max(0) as u64,
                shared: n(i, "shared") == Some(1),
            })
            .collect()
    });
    if health {
        snap.granted = take("/access/permissions").map(|v| {
            let mut set = BTreeSet::new();
            for privs in v.as_object().into_iter().flat_map(|m| m.values()) {
                for (p, on) in privs.as_object().into_iter().flatten() {
                    if on.as_i64() != Some(0) && on.as_bool() != Some(false) {
                        set.insert(p.clone());
                    }
                }
            }
            set
        });
        snap.tasks = list(take("/cluster/tasks")).map(|items| {
            items
                .iter()
                .map(|t| TaskFact {
                    upid: s(t, "upid"),
                    node: s(t, "node"),
                    kind: s(t, "type"),
                    status: s(t, "status"),
                    endtime: n(t, "endtime"),
                })
                .collect()
        });
        snap.ha = list(take("/cluster/ha/status/current")).map(|items| {
            items
                .iter()
                .map(|h| HaFact {
                    id: s(h, "id"),
                    kind: s(h, "type"),
                    status: s(h, "status"),
                    state: h.get("state").and_then(Value::as_str).map(String::from),
                })
                .collect()
        });
        let node = snap.cluster.as_ref().map(|c| {
            c.nodes
                .iter()
                .find(|(_, online)| **online)
                .map(|(n, _)| n.clone())
        });
        snap.clock_skew = match node {
            Err(why) => Err(format!("no node to read the time from: {why}")),
            Ok(None) => Err("no online node to read the time from".into()),
            Ok(Some(node)) => {
                let before = now_secs();
                let t = get(pve, &format!("/nodes/{}/time", encode_segment(&node))).await;
                let after = now_secs();
                t.and_then(|v| {
                    n(&v, "time")
                        .map(|pve_time| pve_time - (before + after) / 2)
                        .ok_or_else(|| "GET /nodes/{node}/time gave no time".to_string())
                })
            }
        };
    } else {
        snap.backup_jobs = list(take("/cluster/backup")).map(|items| {
            items
                .iter()
                .map(|j| {
                    let ids = |k: &str| -> BTreeSet<u32> {
                        s(j, k)
                            .split(|c: char| c == ',' || c.is_whitespace())
                            .filter_map(|v| v.parse().ok())
                            .collect()
                    };
                    BackupJob {
                        id: s(j, "id"),
                        enabled: n(j, "enabled") != Some(0),
                        all: n(j, "all") == Some(1),
                        vmids: ids("vmid"),
                        exclude: ids("exclude"),
                        pool: Some(s(j, "pool")).filter(|p| !p.is_empty()),
                    }
                })
                .collect()
        });
        snap.firewall_enabled =
            take("/cluster/firewall/options").map(|v| n(&v, "enable") == Some(1));
        snap.guests = match resources {
            Err(why) => Err(why),
            Ok(items) => Ok(guests(pve, &items, snap.cluster.as_ref().ok()).await),
        };
    }
    snap
}

/// The guests in `/cluster/resources`, each with its config read (bounded).
async fn guests(pve: &Pve, items: &[Value], cluster: Option<&ClusterFacts>) -> Vec<GuestFact> {
    let mut out: Vec<GuestFact> = items
        .iter()
        .filter(|i| matches!(s(i, "type").as_str(), "qemu" | "lxc"))
        .map(|i| GuestFact {
            vmid: n(i, "vmid").unwrap_or(0) as u32,
            kind: s(i, "type"),
            node: s(i, "node"),
            name: s(i, "name"),
            template: n(i, "template") == Some(1),
            pool: Some(s(i, "pool")).filter(|p| !p.is_empty()),
            config: Err(String::new()),
        })
        .collect();
    out.sort_by_key(|g| g.vmid);
    let offline = |node: &str| cluster.is_some_and(|c| c.nodes.get(node) == Some(&false));
    let configs = bounded(
        DEFAULT_LIMIT,
        out.iter()
            .enumerate()
            .map(|(i, g)| {
                let path = format!(
                    "/nodes/{}/{}/{}/config",
                    encode_segment(&g.node),
                    g.kind,
                    g.vmid
                );
                let skip = if i >= MAX_GUESTS {
                    Some(format!("more than {MAX_GUESTS} guests"))
                } else if offline(&g.node) {
                    Some(format!("node {} is offline", g.node))
                } else {
                    None
                };
                async move {
                    match skip {
                        Some(why) => Err(why),
                        None => get(pve, &path).await.map(|v| {
                            v.as_object()
                                .into_iter()
                                .flatten()
                                .map(|(k, v)| {
                                    let text = match v {
                                        Value::String(s) => s.clone(),
                                        other => other.to_string(),
                                    };
                                    (k.clone(), text)
                                })
                                .collect()
                        }),
                    }
                }
            })
            .collect(),
    )
    .await;
    for (g, c) in out.iter_mut().zip(configs) {
        g.config = c;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn permission_summaries() {
        type Want = Option<(bool, Vec<&'static str>)>;
        let cases: [(&str, Want); 6] = [
            (
                "VM.PowerMgmt on /vms/{vmid}",
                Some((false, vec!["VM.PowerMgmt"])),
            ),
            (
                "any of VM.Config.Disk, VM.Config.CPU on /vms/{vmid}",
                Some((true, vec!["VM.Config.Disk", "VM.Config.CPU"])),
            ),
            (
                "Datastore.Audit and Datastore.Allocate on /storage/{storage}",
                Some((false, vec!["Datastore.Audit", "Datastore.Allocate"])),
            ),
            ("any authenticated user; Only lists VM.Audit.", None),
            (
                "the user themselves or User.Modify on a group of the user",
                None,
            ),
            ("root@pam only", None),
        ];
        for (text, want) in cases {
            let want = want.map(|(a, v)| (a, v.into_iter().map(String::from).collect()));
            assert_eq!(parse_permissions(text), want, "{text}");
        }
    }
}
