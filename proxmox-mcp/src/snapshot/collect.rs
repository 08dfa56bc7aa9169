//! Reading a cluster's configuration into a [`Snapshot`]: the lists first (guests, storage,
//! access, HA, backup jobs, cluster firewall), then each guest's configuration and firewall and
//! each security group's rules, at most [`PARALLEL`] requests at a time. An endpoint that fails
//! is recorded in the snapshot as not captured, with why; the rest is still taken.

use futures::StreamExt as _;
use serde_json::Value;

use super::normalize::{self, Kind};
use super::{Object, Snapshot};
use crate::pve::params::encode_segment;
use crate::pve::{Method, Params, Pve};

/// Requests in flight at once.
pub const PARALLEL: usize = 5;

/// Every endpoint a snapshot may read (for the tool's declaration).
pub const ENDPOINTS: &[&str] = &[
    "GET /cluster/resources",
    "GET /nodes/{node}/qemu/{vmid}/config",
    "GET /nodes/{node}/lxc/{vmid}/config",
    "GET /nodes/{node}/qemu/{vmid}/firewall/options",
    "GET /nodes/{node}/lxc/{vmid}/firewall/options",
    "GET /nodes/{node}/qemu/{vmid}/firewall/rules",
    "GET /nodes/{node}/lxc/{vmid}/firewall/rules",
    "GET /storage",
    "GET /access/users",
    "GET /access/groups",
    "GET /access/acl",
    "GET /pools",
    "GET /cluster/ha/resources",
    "GET /cluster/ha/groups",
    "GET /cluster/ha/rules",
    "GET /cluster/backup",
    "GET /cluster/firewall/options",
    "GET /cluster/firewall/rules",
    "GET /cluster/firewall/groups",
    "GET /cluster/firewall/groups/{group}",
];

/// How one response becomes objects.
#[derive(Clone)]
enum Build {
    /// A list of objects, each keyed by `id_key`, stored as `prefix` + id.
    Each {
        kind: Kind,
        id_key: &'static str,
        prefix: &'static str,
    },
    /// One object.
    One {
        kind: Kind,
        id: String,
    },
    /// A firewall rule list.
    Rules {
        id: String,
    },
    Acl,
    /// `/cluster/resources?type=vm`: more requests per guest.
    Guests,
    /// The security groups: one more request per group.
    SecurityGroups,
}

#[derive(Clone)]
struct Job {
    /// What is not captured when this request fails (an object id, or a prefix ending in `/`).
    scope: String,
    path: String,
    params: Params,
    build: Build,
}

impl Job {
    fn new(scope: impl Into<String>, path: impl Into<String>, build: Build) -> Job {
        Job {
            scope: scope.into(),
            path: path.into(),
            params: Params::new(),
            build,
        }
    }
}

fn each(kind: Kind, path: &str, id_key: &'static str, prefix: &'static str) -> Job {
    Job::new(
        prefix,
        path,
        Build::Each {
            kind,
            id_key,
            prefix,
        },
    )
}

fn first_jobs() -> Vec<Job> {
    let mut guests = Job::new("qemu/", "/cluster/resources", Build::Guests);
    guests
        .params
        .insert("type".into(), Value::String("vm".into()));
    vec![
        guests,
        each(Kind::Storage, "/storage", "storage", "storage/"),
        each(Kind::User, "/access/users", "userid", "user/"),
        each(Kind::Group, "/access/groups", "groupid", "group/"),
        Job::new("acl", "/access/acl", Build::Acl),
        each(Kind::Pool, "/pools", "poolid", "pool/"),
        each(Kind::HaResource, "/cluster/ha/resources", "sid", "ha/"),
        each(Kind::HaGroup, "/cluster/ha/groups", "group", "ha-group/"),
        each(Kind::HaRule, "/cluster/ha/rules", "rule", "ha-rule/"),
        each(Kind::BackupJob, "/cluster/backup", "id", "backup-job/"),
        Job::new(
            "firewall/cluster/options",
            "/cluster/firewall/options",
            Build::One {
                kind: Kind::FirewallOptions,
                id: "firewall/cluster/options".into(),
            },
        ),
        Job::new(
            "firewall/cluster/rules",
            "/cluster/firewall/rules",
            Build::Rules {
                id: "firewall/cluster/rules".into(),
            },
        ),
        Job::new(
            "firewall/group/",
            "/cluster/firewall/groups",
            Build::SecurityGroups,
        ),
    ]
}

/// Reads the cluster's configuration. Never fails as a whole: what could not be read is in
/// [`Snapshot::missing`].
pub async fn collect(pve: &Pve, id: String, cluster: String, taken: String) -> Snapshot {
    let mut snap = Snapshot {
        id,
        cluster,
        taken,
        objects: Default::default(),
        missing: Default::default(),
    };
    let mut jobs = first_jobs();
    while !jobs.is_empty() {
        let results: Vec<(Job, Result<Value, String>)> =
            futures::stream::iter(std::mem::take(&mut jobs))
                .map(|job| async move {
                    let r = pve
                        .call(Method::Get, &job.path, &job.params)
                        .await
                        .map_err(|e| e.to_string());
                    (job, r)
                })
                .buffer_unordered(PARALLEL)
                .collect()
                .await;
        for (job, result) in results {
            match result {
                Ok(data) => jobs.extend(apply(&mut snap, &job, data)),
                Err(why) => {
                    if matches!(job.build, Build::Guests) {
                        for scope in ["lxc/", "firewall/qemu/", "firewall/lxc/"] {
                            snap.missing.insert(scope.into(), why.clone());
                        }
                    }
                    snap.missing.insert(job.scope, why);
                }
            }
        }
    }
    snap
}

fn items(data: &Value) -> impl Iterator<Item = &serde_json::Map<String, Value>> {
    data.as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_object)
}

/// Files one response into the snapshot; returns the requests it leads to.
fn apply(snap: &mut Snapshot, job: &Job, data: Value) -> Vec<Job> {
    let mut put = |id: String, kind: Kind, values| {
        snap.objects.insert(id, Object { kind, values });
    };
    match &job.build {
        Build::Each {
            kind,
            id_key,
            prefix,
        } => {
            for item in items(&data) {
                if let Some(name) = item.get(*id_key).and_then(Value::as_str) {
                    put(
                        format!("{prefix}{name}"),
                        *kind,
                        normalize::object(*kind, item),
                    );
                }
            }
            Vec::new()
        }
        Build::One { kind, id } => {
            let empty = serde_json::Map::new();
            let obj = data.as_object().unwrap_or(&empty);
            put(id.clone(), *kind, normalize::object(*kind, obj));
            Vec::new()
        }
        Build::Rules { id } => {
            let list = data.as_array().map(Vec::as_slice).unwrap_or_default();
            put(id.clone(), Kind::FirewallRules, normalize::rules(list));
            Vec::new()
        }
        Build::Acl => {
            let list = data.as_array().map(Vec::as_slice).unwrap_or_default();
            put("acl".into(), Kind::Acl, normalize::acl(list));
            Vec::new()
        }
        Build::SecurityGroups => items(&data)
            .filter_map(|g| g.get("group").and_then(Value::as_str))
            .map(|g| {
                let id = format!("firewall/group/{g}");
                let path = format!("/cluster/firewall/groups/{}", encode_segment(g));
                Job::new(id.clone(), path, Build::Rules { id })
            })
            .collect(),
        Build::Guests => items(&data).flat_map(guest_jobs).collect(),
    }
}

fn guest_jobs(r: &serde_json::Map<String, Value>) -> Vec<Job> {
    let kind = match r.get("type").and_then(Value::as_str) {
        Some("qemu") => Kind::Qemu,
        Some("lxc") => Kind::Lxc,
        _ => return Vec::new(),
    };
    let seg = if kind == Kind::Qemu { "qemu" } else { "lxc" };
    let (Some(node), Some(vmid)) = (
        r.get("node").and_then(Value::as_str),
        r.get("vmid").and_then(Value::as_u64),
    ) else {
        return Vec::new();
    };
    let base = format!("/nodes/{}/{seg}/{vmid}", encode_segment(node));
    let id = format!("{seg}/{vmid}");
    let fw = format!("firewall/{seg}/{vmid}");
    vec![
        Job::new(
            id.clone(),
            format!("{base}/config"),
            Build::One { kind, id },
        ),
        Job::new(
            format!("{fw}/options"),
            format!("{base}/firewall/options"),
            Build::One {
                kind: Kind::GuestFirewallOptions,
                id: format!("{fw}/options"),
            },
        ),
        Job::new(
            format!("{fw}/rules"),
            format!("{base}/firewall/rules"),
            Build::Rules {
                id: format!("{fw}/rules"),
            },
        ),
    ]
}
