//! Hand-made clusters described in TOML (see `scenarios/small.toml`).

use std::path::Path;

use anyhow::Context;
use serde::Deserialize;

use super::access::{ALL_PRIVS, Group, Role, Token, UgKind, User};
use super::defaults::{add_cluster_config, default_network, default_storages, default_volumes};
use super::generate::{GuestSpec, Secrets, base_access, build_guest, build_node};
use super::guest::Kind;
use super::storage::StorageCfg;
use super::task::{TaskSpec, TaskStatus};
use super::{Cluster, Pool};

/// A cluster description.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    #[serde(default = "default_cluster")]
    pub cluster: String,
    pub nodes: Vec<NodeDef>,
    #[serde(default)]
    pub storages: Vec<StorageDef>,
    #[serde(default)]
    pub pools: Vec<PoolDef>,
    #[serde(default)]
    pub guests: Vec<GuestDef>,
    #[serde(default)]
    pub users: Vec<UserDef>,
    #[serde(default)]
    pub groups: Vec<GroupDef>,
    /// Custom roles, beside the built-in ones.
    #[serde(default)]
    pub roles: Vec<RoleDef>,
    /// ACL entries beyond the one each user's `role` grants.
    #[serde(default)]
    pub acl: Vec<AclDef>,
    /// Tasks that already ended in an error.
    #[serde(default)]
    pub failed_tasks: Vec<FailedTaskDef>,
    /// HA resources (`vm:100`, guest must exist) the HA manager reports in the error state.
    #[serde(default)]
    pub ha_errors: Vec<String>,
}

/// A finished task with an error exit status.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FailedTaskDef {
    pub node: String,
    /// Task type, e.g. `vzdump`.
    pub kind: String,
    #[serde(default)]
    pub id: String,
    pub error: String,
}

fn default_cluster() -> String {
    "sim-cluster".into()
}

fn yes() -> bool {
    true
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NodeDef {
    pub name: String,
    pub cpus: Option<u32>,
    /// Memory in GiB.
    pub memory: Option<u64>,
    #[serde(default = "yes")]
    pub online: bool,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StorageDef {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub content: String,
    #[serde(default)]
    pub shared: bool,
    /// Capacity in GiB.
    #[serde(default = "default_storage_size")]
    pub size: u64,
    pub nodes: Option<Vec<String>>,
    pub path: Option<String>,
    /// Space in use in GiB (default: a twentieth of `size`).
    pub used: Option<u64>,
}

fn default_storage_size() -> u64 {
    500
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PoolDef {
    pub id: String,
    pub comment: Option<String>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GuestDef {
    pub vmid: u32,
    #[serde(default = "default_kind")]
    pub kind: String,
    pub name: String,
    pub node: String,
    #[serde(default = "default_status")]
    pub status: String,
    /// MiB.
    #[serde(default = "default_memory")]
    pub memory: u64,
    #[serde(default = "default_cores")]
    pub cores: u32,
    /// GiB.
    #[serde(default = "default_disk")]
    pub disk: u64,
    pub storage: Option<String>,
    pub tags: Option<String>,
    #[serde(default = "yes")]
    pub agent: bool,
    #[serde(default)]
    pub template: bool,
    #[serde(default)]
    pub protection: bool,
    pub pool: Option<String>,
    pub ip: Option<String>,
    pub ostype: Option<String>,
    pub lock: Option<String>,
    #[serde(default)]
    pub onboot: bool,
    /// Containers only: `false` makes a privileged container (default unprivileged).
    #[serde(default = "yes")]
    pub unprivileged: bool,
}

fn default_kind() -> String {
    "qemu".into()
}
fn default_status() -> String {
    "running".into()
}
fn default_memory() -> u64 {
    2048
}
fn default_cores() -> u32 {
    2
}
fn default_disk() -> u64 {
    32
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserDef {
    pub userid: String,
    pub password: Option<String>,
    /// Role granted on `path` (default `/`).
    pub role: Option<String>,
    #[serde(default = "root_path")]
    pub path: String,
    #[serde(default)]
    pub tokens: Vec<TokenDef>,
    /// Groups the user is a member of (each must be listed in `groups`).
    #[serde(default)]
    pub groups: Vec<String>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GroupDef {
    pub id: String,
    pub comment: Option<String>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoleDef {
    pub id: String,
    pub privs: Vec<String>,
}

/// One ACL entry for exactly one of `user`, `group` or `token` (`user@realm!name`).
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AclDef {
    pub path: String,
    pub role: String,
    pub user: Option<String>,
    pub group: Option<String>,
    pub token: Option<String>,
    #[serde(default = "yes")]
    pub propagate: bool,
}

fn root_path() -> String {
    "/".into()
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenDef {
    pub id: String,
    pub secret: String,
    #[serde(default = "yes")]
    pub privsep: bool,
    /// Role granted to the token on the user's path (default: the user's role).
    pub role: Option<String>,
}

impl Scenario {
    pub fn from_toml(s: &str) -> anyhow::Result<Self> {
        let sc: Scenario = toml::from_str(s).context("parse scenario")?;
        sc.validate()?;
        Ok(sc)
    }

    pub fn load(path: impl AsRef<Path>) -> anyhow::Result<Self> {
        let p = path.as_ref();
        let text =
            std::fs::read_to_string(p).with_context(|| format!("read scenario {}", p.display()))?;
        Self::from_toml(&text).with_context(|| format!("scenario {}", p.display()))
    }

    fn validate(&self) -> anyhow::Result<()> {
        anyhow::ensure!(!self.nodes.is_empty(), "a scenario needs at least one node");
        let mut seen = std::collections::BTreeSet::new();
        for g in &self.guests {
            anyhow::ensure!(seen.insert(g.vmid), "duplicate vmid {}", g.vmid);
            anyhow::ensure!(
                self.nodes.iter().any(|n| n.name == g.node),
                "guest {} is on unknown node {}",
                g.vmid,
                g.node
            );
            anyhow::ensure!(
                Kind::parse(&g.kind).is_some(),
                "guest {}: kind must be qemu or lxc",
                g.vmid
            );
            anyhow::ensure!(
                matches!(g.status.as_str(), "running" | "stopped"),
                "guest {}: status must be running or stopped",
                g.vmid
            );
        }
        for u in &self.users {
            for g in &u.groups {
                anyhow::ensure!(
                    self.groups.iter().any(|d| &d.id == g),
                    "user {} is in unknown group {g}",
                    u.userid
                );
            }
        }
        for r in &self.roles {
            for p in &r.privs {
                anyhow::ensure!(
                    ALL_PRIVS.contains(&p.as_str()),
                    "role {}: unknown privilege {p}",
                    r.id
                );
            }
        }
        for a in &self.acl {
            let subjects = [&a.user, &a.group, &a.token]
                .iter()
                .filter(|s| s.is_some())
                .count();
            anyhow::ensure!(
                subjects == 1,
                "acl entry on {} needs exactly one of user, group, token",
                a.path
            );
        }
        Ok(())
    }

    /// Builds the cluster.
    pub fn build(&self, seed: u64, secrets: &Secrets) -> Cluster {
        let mut c = Cluster::empty(&self.cluster, seed, base_access(secrets));
        for (i, n) in self.nodes.iter().enumerate() {
            let node = build_node(
                seed,
                i,
                &n.name,
                n.cpus,
                n.memory.map(|g| g << 30),
                n.online,
            );
            c.networks
                .insert(node.name.clone(), default_network(&node.ip, i));
            c.nodes.push(node);
        }
        c.storages = if self.storages.is_empty() {
            default_storages()
        } else {
            self.storages
                .iter()
                .map(|s| StorageCfg {
                    id: s.id.clone(),
                    kind: s.kind.clone(),
                    content: s.content.clone(),
                    shared: s.shared,
                    nodes: s.nodes.clone(),
                    disable: false,
                    total: s.size << 30,
                    base_used: s.used.map_or((s.size << 30) / 20, |u| u << 30),
                    props: s
                        .path
                        .iter()
                        .map(|p| ("path".to_string(), p.clone()))
                        .collect(),
                })
                .collect()
        };
        if c.storage("local").is_some() {
            c.volumes = default_volumes(&c.nodes);
        }
        for p in &self.pools {
            c.pools.insert(
                p.id.clone(),
                Pool {
                    comment: p.comment.clone(),
                    ..Default::default()
                },
            );
        }
        let image_storage = c
            .storages
            .iter()
            .find(|s| s.has_content("images"))
            .map(|s| s.id.clone())
            .unwrap_or_else(|| "local-lvm".into());
        for g in &self.guests {
            let kind = Kind::parse(&g.kind).unwrap_or(Kind::Qemu);
            if let Some(p) = &g.pool {
                c.pools.entry(p.clone()).or_default();
            }
            let spec = GuestSpec {
                vmid: g.vmid,
                kind,
                name: g.name.clone(),
                node: g.node.clone(),
                running: g.status == "running",
                memory_mib: g.memory,
                cores: g.cores,
                disk_gib: g.disk,
                disk_storage: g.storage.clone().unwrap_or_else(|| image_storage.clone()),
                tags: g.tags.clone(),
                agent: g.agent && kind == Kind::Qemu,
                template: g.template,
                protection: g.protection,
                pool: g.pool.clone(),
                ip: g.ip.clone(),
                ostype: g.ostype.clone(),
                lock: g.lock.clone(),
                onboot: g.onboot,
            };
            let mut guest = build_guest(seed, &spec);
            if kind == Kind::Lxc && !g.unprivileged {
                guest.config.insert("unprivileged".into(), "0".into());
            }
            c.guests.insert(g.vmid, guest);
        }
        for g in &self.groups {
            c.access.groups.insert(
                g.id.clone(),
                Group {
                    comment: g.comment.clone(),
                },
            );
        }
        for r in &self.roles {
            c.access.roles.insert(
                r.id.clone(),
                Role {
                    privs: r.privs.iter().cloned().collect(),
                    special: false,
                },
            );
        }
        for u in &self.users {
            let user = c
                .access
                .users
                .entry(u.userid.clone())
                .or_insert_with(|| User {
                    enable: true,
                    ..Default::default()
                });
            if u.password.is_some() {
                user.password = u.password.clone();
            }
            user.groups.extend(u.groups.iter().cloned());
            for t in &u.tokens {
                user.tokens.insert(
                    t.id.clone(),
                    Token {
                        secret: t.secret.clone(),
                        privsep: t.privsep,
                        expire: 0,
                        comment: None,
                    },
                );
            }
            if let Some(role) = &u.role {
                c.access.grant(&u.path, &u.userid, UgKind::User, role);
            }
            for t in &u.tokens {
                if let Some(role) = t.role.as_ref().or(u.role.as_ref()) {
                    c.access.grant(
                        &u.path,
                        &format!("{}!{}", u.userid, t.id),
                        UgKind::Token,
                        role,
                    );
                }
            }
        }
        for t in &self.failed_tasks {
            let now = c.started;
            let spec = TaskSpec {
                node: t.node.clone(),
                kind: t.kind.clone(),
                id: t.id.clone(),
                user: "root@pam".into(),
                duration: std::time::Duration::ZERO,
                log: vec![t.error.clone()],
                effect: None,
            };
            let upid = c.add_task(spec, now);
            if let Some(task) = c.tasks.last_mut().filter(|task| task.upid == upid) {
                task.status = TaskStatus::Stopped(t.error.clone());
                task.endtime = Some(now);
            }
        }
        for sid in &self.ha_errors {
            let mut r = super::Obj::new();
            r.insert("sid".into(), sid.clone().into());
            r.insert(
                "type".into(),
                sid.split(':').next().unwrap_or("vm").to_string().into(),
            );
            r.insert("state".into(), "started".into());
            c.ha_resources.insert(sid.clone(), r);
            c.ha_errors.insert(sid.clone());
        }
        for a in &self.acl {
            let (ugid, kind) = match (&a.user, &a.group, &a.token) {
                (Some(u), ..) => (u, UgKind::User),
                (_, Some(g), _) => (g, UgKind::Group),
                (.., Some(t)) => (t, UgKind::Token),
                _ => continue,
            };
            c.access.grant(&a.path, ugid, kind, &a.role);
            if !a.propagate
                && let Some(e) = c.access.acl.last_mut()
            {
                e.propagate = false;
            }
        }
        add_cluster_config(&mut c);
        c
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn example_scenario_loads() {
        let text = include_str!("../../scenarios/small.toml");
        let sc = Scenario::from_toml(text).expect("parse");
        let secrets = Secrets {
            root_password: "x".into(),
            admin_secret: "y".into(),
            auditor_secret: "z".into(),
        };
        let c = sc.build(1, &secrets);
        assert_eq!(c.nodes.len(), sc.nodes.len());
        assert_eq!(c.guests.len(), sc.guests.len());
    }

    #[test]
    fn groups_roles_and_acl_entries() {
        let sc = Scenario::from_toml(
            "[[nodes]]\nname='a'\n[[groups]]\nid='ops'\n[[roles]]\nid='Grant'\n\
             privs=['Permissions.Modify','Sys.Audit']\n[[users]]\nuserid='bot@pve'\n\
             role='Grant'\ngroups=['ops']\n[[users.tokens]]\nid='t'\nsecret='s'\n\
             role='Administrator'\n[[acl]]\npath='/storage'\ngroup='ops'\nrole='PVEAuditor'",
        )
        .expect("parse");
        let secrets = Secrets {
            root_password: "x".into(),
            admin_secret: "y".into(),
            auditor_secret: "z".into(),
        };
        let c = sc.build(1, &secrets);
        assert!(c.access.users["bot@pve"].groups.contains("ops"));
        let who = c
            .access
            .authenticate_token("bot@pve!t", "s", 0)
            .expect("token");
        let perms = c.access.perms(&who);
        // The token is limited to what its user may do.
        assert!(perms.has("/vms", "Permissions.Modify"));
        assert!(perms.has("/vms/100", "Sys.Audit"));
        assert!(!perms.has("/vms/100", "VM.PowerMgmt"));
        assert!(perms.has("/storage/local", "Datastore.Audit"));
        assert!(!perms.has("/storage/local", "Permissions.Modify"));
    }

    #[test]
    fn rejects_bad_scenarios() {
        for bad in [
            "nodes = []",
            "[[nodes]]\nname='a'\n[[guests]]\nvmid=100\nname='x'\nnode='b'",
            "[[nodes]]\nname='a'\nbogus=1",
            "[[nodes]]\nname='a'\n[[users]]\nuserid='u@pve'\ngroups=['nope']",
            "[[nodes]]\nname='a'\n[[roles]]\nid='R'\nprivs=['VM.Fly']",
            "[[nodes]]\nname='a'\n[[acl]]\npath='/'\nrole='PVEAuditor'",
        ] {
            assert!(Scenario::from_toml(bad).is_err(), "{bad}");
        }
    }
}
