//! Users, groups, tokens, roles and ACLs, and the PVE privilege evaluation over them.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

/// Every privilege PVE 9 knows.
pub const ALL_PRIVS: &[&str] = &[
    "Datastore.Allocate",
    "Datastore.AllocateSpace",
    "Datastore.AllocateTemplate",
    "Datastore.Audit",
    "Group.Allocate",
    "Mapping.Audit",
    "Mapping.Modify",
    "Mapping.Use",
    "Permissions.Modify",
    "Pool.Allocate",
    "Pool.Audit",
    "Realm.Allocate",
    "Realm.AllocateUser",
    "SDN.Allocate",
    "SDN.Audit",
    "SDN.Use",
    "Sys.AccessNetwork",
    "Sys.Audit",
    "Sys.Console",
    "Sys.Incoming",
    "Sys.Modify",
    "Sys.PowerMgmt",
    "Sys.Syslog",
    "User.Modify",
    "VM.Allocate",
    "VM.Audit",
    "VM.Backup",
    "VM.Clone",
    "VM.Config.CDROM",
    "VM.Config.CPU",
    "VM.Config.Cloudinit",
    "VM.Config.Disk",
    "VM.Config.HWType",
    "VM.Config.Memory",
    "VM.Config.Network",
    "VM.Config.Options",
    "VM.Console",
    "VM.GuestAgent.Audit",
    "VM.GuestAgent.FileRead",
    "VM.GuestAgent.FileSystemMgmt",
    "VM.GuestAgent.FileWrite",
    "VM.GuestAgent.Unrestricted",
    "VM.Migrate",
    "VM.PowerMgmt",
    "VM.Replicate",
    "VM.Snapshot",
    "VM.Snapshot.Rollback",
];

/// Privileges only `Administrator` (not `PVEAdmin`) has.
const ROOT_ONLY: &[&str] = &[
    "Sys.AccessNetwork",
    "Sys.Incoming",
    "Sys.Modify",
    "Sys.PowerMgmt",
    "Realm.Allocate",
];

/// The built-in roles with their PVE 9 privileges.
pub fn builtin_roles() -> BTreeMap<String, Role> {
    let vm_user = [
        "VM.Audit",
        "VM.Backup",
        "VM.Config.CDROM",
        "VM.Config.Cloudinit",
        "VM.Console",
        "VM.GuestAgent.Audit",
        "VM.PowerMgmt",
    ];
    let mut roles: Vec<(&str, Vec<&str>)> = vec![
        ("Administrator", ALL_PRIVS.to_vec()),
        ("NoAccess", vec![]),
        (
            "PVEAdmin",
            ALL_PRIVS
                .iter()
                .copied()
                .filter(|p| !ROOT_ONLY.contains(p))
                .collect(),
        ),
        (
            "PVEAuditor",
            vec![
                "Datastore.Audit",
                "Mapping.Audit",
                "Pool.Audit",
                "SDN.Audit",
                "Sys.Audit",
                "VM.Audit",
            ],
        ),
        (
            "PVEDatastoreAdmin",
            vec![
                "Datastore.Allocate",
                "Datastore.AllocateSpace",
                "Datastore.AllocateTemplate",
                "Datastore.Audit",
            ],
        ),
        (
            "PVEDatastoreUser",
            vec!["Datastore.AllocateSpace", "Datastore.Audit"],
        ),
        (
            "PVEMappingAdmin",
            vec!["Mapping.Audit", "Mapping.Modify", "Mapping.Use"],
        ),
        ("PVEMappingUser", vec!["Mapping.Audit", "Mapping.Use"]),
        ("PVEPoolAdmin", vec!["Pool.Allocate", "Pool.Audit"]),
        ("PVEPoolUser", vec!["Pool.Audit"]),
        ("PVESDNAdmin", vec!["SDN.Allocate", "SDN.Audit", "SDN.Use"]),
        ("PVESDNUser", vec!["SDN.Audit", "SDN.Use"]),
        (
            "PVESysAdmin",
            vec![
                "Permissions.Modify",
                "Sys.Audit",
                "Sys.Console",
                "Sys.Syslog",
            ],
        ),
        ("PVETemplateUser", vec!["VM.Audit", "VM.Clone"]),
        (
            "PVEUserAdmin",
            vec!["Group.Allocate", "Realm.AllocateUser", "User.Modify"],
        ),
        (
            "PVEVMAdmin",
            ALL_PRIVS
                .iter()
                .copied()
                .filter(|p| p.starts_with("VM."))
                .collect(),
        ),
        ("PVEVMUser", vm_user.to_vec()),
    ];
    roles
        .drain(..)
        .map(|(id, privs)| {
            (
                id.to_string(),
                Role {
                    privs: privs.into_iter().map(str::to_string).collect(),
                    special: true,
                },
            )
        })
        .collect()
}

#[derive(Clone, Debug, Serialize)]
pub struct Role {
    pub privs: BTreeSet<String>,
    pub special: bool,
}

#[derive(Clone, Debug, Default, Serialize)]
pub struct Token {
    #[serde(skip)]
    pub secret: String,
    pub privsep: bool,
    pub expire: u64,
    pub comment: Option<String>,
}

#[derive(Clone, Debug, Default, Serialize)]
pub struct User {
    pub enable: bool,
    pub expire: u64,
    pub firstname: Option<String>,
    pub lastname: Option<String>,
    pub email: Option<String>,
    pub comment: Option<String>,
    pub groups: BTreeSet<String>,
    #[serde(skip)]
    pub password: Option<String>,
    pub tokens: BTreeMap<String, Token>,
}

#[derive(Clone, Debug, Default, Serialize)]
pub struct Group {
    pub comment: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum UgKind {
    User,
    Group,
    Token,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct AclEntry {
    pub path: String,
    pub ugid: String,
    pub kind: UgKind,
    pub roleid: String,
    pub propagate: bool,
}

#[derive(Clone, Debug, Serialize)]
pub struct Domain {
    pub kind: String,
    pub comment: String,
    pub default: bool,
    /// The realm's TFA requirement, e.g. `type=oath`.
    pub tfa: Option<String>,
}

/// Who is calling.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Identity {
    User(String),
    Token { user: String, token: String },
}

impl Identity {
    /// `user@realm` or `user@realm!token`.
    pub fn id(&self) -> String {
        match self {
            Identity::User(u) => u.clone(),
            Identity::Token { user, token } => format!("{user}!{token}"),
        }
    }

    pub fn userid(&self) -> &str {
        match self {
            Identity::User(u) | Identity::Token { user: u, .. } => u,
        }
    }
}

#[derive(Clone, Debug, Default, Serialize)]
pub struct Access {
    pub users: BTreeMap<String, User>,
    pub groups: BTreeMap<String, Group>,
    pub roles: BTreeMap<String, Role>,
    pub acl: Vec<AclEntry>,
    pub domains: BTreeMap<String, Domain>,
}

impl Access {
    /// The built-in realms, roles and `root@pam`.
    pub fn base(root_password: &str) -> Self {
        let mut a = Access {
            roles: builtin_roles(),
            ..Default::default()
        };
        for (realm, kind, comment, default) in [
            ("pam", "pam", "Linux PAM standard authentication", false),
            ("pve", "pve", "Proxmox VE authentication server", true),
        ] {
            a.domains.insert(
                realm.into(),
                Domain {
                    kind: kind.into(),
                    comment: comment.into(),
                    default,
                    tfa: None,
                },
            );
        }
        a.users.insert(
            "root@pam".into(),
            User {
                enable: true,
                email: Some("root@example.invalid".into()),
                password: Some(root_password.into()),
                ..Default::default()
            },
        );
        a
    }

    /// Adds a user with a token and grants `role` on `/` to both.
    pub fn add_token_user(
        &mut self,
        userid: &str,
        token: &str,
        secret: &str,
        role: &str,
        comment: &str,
    ) {
        let user = self
            .users
            .entry(userid.to_string())
            .or_insert_with(|| User {
                enable: true,
                comment: Some(comment.into()),
                ..Default::default()
            });
        user.tokens.insert(
            token.to_string(),
            Token {
                secret: secret.to_string(),
                privsep: true,
                expire: 0,
                comment: Some(comment.into()),
            },
        );
        self.grant("/", userid, UgKind::User, role);
        self.grant("/", &format!("{userid}!{token}"), UgKind::Token, role);
    }

    pub fn grant(&mut self, path: &str, ugid: &str, kind: UgKind, role: &str) {
        self.acl
            .retain(|e| !(e.path == path && e.ugid == ugid && e.roleid == role));
        self.acl.push(AclEntry {
            path: path.into(),
            ugid: ugid.into(),
            kind,
            roleid: role.into(),
            propagate: true,
        });
    }

    /// Checks an API token; `None` if unknown, disabled, expired or wrong secret.
    pub fn authenticate_token(&self, full: &str, secret: &str, now: u64) -> Option<Identity> {
        let (userid, token) = full.split_once('!')?;
        let user = self.users.get(userid)?;
        if !user.enable || (user.expire != 0 && user.expire < now) {
            return None;
        }
        let t = user.tokens.get(token)?;
        if t.secret != secret || (t.expire != 0 && t.expire < now) {
            return None;
        }
        Some(Identity::Token {
            user: userid.into(),
            token: token.into(),
        })
    }

    pub fn check_password(&self, userid: &str, password: &str) -> bool {
        self.users
            .get(userid)
            .is_some_and(|u| u.enable && u.password.as_deref() == Some(password))
    }

    /// A per-request privilege evaluator for `who`.
    pub fn perms(&self, who: &Identity) -> Perms {
        let userid = who.userid();
        if userid == "root@pam" {
            let privsep = match who {
                Identity::Token { token, .. } => self
                    .users
                    .get(userid)
                    .and_then(|u| u.tokens.get(token))
                    .is_some_and(|t| t.privsep),
                Identity::User(_) => false,
            };
            if !privsep {
                return Perms {
                    all: true,
                    user: Vec::new(),
                    token: None,
                };
            }
        }
        let groups = self
            .users
            .get(userid)
            .map(|u| u.groups.clone())
            .unwrap_or_default();
        let role_privs = |r: &str| {
            self.roles
                .get(r)
                .map(|r| r.privs.clone())
                .unwrap_or_default()
        };
        let user_entries: Vec<PermEntry> = self
            .acl
            .iter()
            .filter_map(|e| {
                let direct = match e.kind {
                    UgKind::User if e.ugid == userid => true,
                    UgKind::Group if groups.contains(&e.ugid) => false,
                    _ => return None,
                };
                Some(PermEntry {
                    path: e.path.clone(),
                    propagate: e.propagate,
                    direct,
                    privs: role_privs(&e.roleid),
                })
            })
            .collect();
        let user_all = userid == "root@pam";
        let token = match who {
            Identity::Token { token, .. } => {
                let privsep = self
                    .users
                    .get(userid)
                    .and_then(|u| u.tokens.get(token))
                    .is_none_or(|t| t.privsep);
                privsep.then(|| {
                    let full = who.id();
                    self.acl
                        .iter()
                        .filter(|e| e.kind == UgKind::Token && e.ugid == full)
                        .map(|e| PermEntry {
                            path: e.path.clone(),
                            propagate: e.propagate,
                            direct: true,
                            privs: role_privs(&e.roleid),
                        })
                        .collect()
                })
            }
            Identity::User(_) => None,
        };
        Perms {
            all: user_all && token.is_none(),
            user: if user_all {
                vec![PermEntry {
                    path: "/".into(),
                    propagate: true,
                    direct: true,
                    privs: ALL_PRIVS.iter().map(|s| s.to_string()).collect(),
                }]
            } else {
                user_entries
            },
            token,
        }
    }
}

#[derive(Clone, Debug)]
struct PermEntry {
    path: String,
    propagate: bool,
    direct: bool,
    privs: BTreeSet<String>,
}

/// Privilege evaluation for one caller (built once per request).
#[derive(Clone, Debug)]
pub struct Perms {
    all: bool,
    user: Vec<PermEntry>,
    token: Option<Vec<PermEntry>>,
}

/// The ACL levels of a path: `/vms/100` gives `/`, `/vms`, `/vms/100`.
fn levels(path: &str) -> Vec<&str> {
    let mut out = vec!["/"];
    for (i, c) in path.char_indices().skip(1) {
        if c == '/' {
            out.push(&path[..i]);
        }
    }
    if path.len() > 1 {
        out.push(path.trim_end_matches('/'));
    }
    out
}

/// The entries that decide a path: deeper levels override, user entries override group entries.
fn deciding<'a>(entries: &'a [PermEntry], path: &str) -> Vec<&'a PermEntry> {
    let mut result: Vec<&PermEntry> = Vec::new();
    for level in levels(path) {
        let exact = level == path.trim_end_matches('/') || (level == "/" && path == "/");
        let here: Vec<&PermEntry> = entries
            .iter()
            .filter(|e| e.path == level && (exact || e.propagate))
            .collect();
        if here.is_empty() {
            continue;
        }
        let direct: Vec<&PermEntry> = here.iter().copied().filter(|e| e.direct).collect();
        result = if direct.is_empty() { here } else { direct };
    }
    result
}

impl Perms {
    /// True for `root@pam` (no privilege separation).
    pub fn is_root(&self) -> bool {
        self.all
    }

    pub fn has(&self, path: &str, privilege: &str) -> bool {
        if self.all {
            return true;
        }
        // Fast path: with only propagating entries on `/`, every path answers like `/`.
        let root_only = |e: &[PermEntry]| e.iter().all(|x| x.path == "/" && x.propagate);
        if path != "/" && root_only(&self.user) && self.token.as_deref().is_none_or(root_only) {
            return self.has("/", privilege);
        }
        let ok = |entries: &[PermEntry]| {
            deciding(entries, path)
                .iter()
                .any(|e| e.privs.contains(privilege))
        };
        ok(&self.user) && self.token.as_deref().is_none_or(ok)
    }

    pub fn has_any(&self, path: &str, privs: &[&str]) -> bool {
        privs.iter().any(|p| self.has(path, p))
    }

    pub fn has_all(&self, path: &str, privs: &[&str]) -> bool {
        privs.iter().all(|p| self.has(path, p))
    }

    /// Privileges on a path, as a set.
    pub fn privs(&self, path: &str) -> BTreeSet<String> {
        ALL_PRIVS
            .iter()
            .filter(|p| self.has(path, p))
            .map(|p| p.to_string())
            .collect()
    }

    /// Every path that has an ACL entry for this caller (for `GET /access/permissions`).
    pub fn acl_paths(&self) -> BTreeSet<String> {
        let mut out: BTreeSet<String> = self.user.iter().map(|e| e.path.clone()).collect();
        if let Some(t) = &self.token {
            out.extend(t.iter().map(|e| e.path.clone()));
        }
        if self.all {
            out.insert("/".into());
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn access() -> Access {
        let mut a = Access::base("pw");
        a.add_token_user("mcp@pve", "admin", "s1", "Administrator", "");
        a.add_token_user("audit@pve", "ro", "s2", "PVEAuditor", "");
        a.users.insert(
            "alice@pve".into(),
            User {
                enable: true,
                groups: ["ops".to_string()].into(),
                ..Default::default()
            },
        );
        a.groups.insert("ops".into(), Group::default());
        a.grant("/vms", "ops", UgKind::Group, "PVEVMUser");
        a.grant("/vms/105", "alice@pve", UgKind::User, "NoAccess");
        a
    }

    fn check(who: Identity, path: &str, privilege: &str, want: bool) {
        let a = access();
        assert_eq!(
            a.perms(&who).has(path, privilege),
            want,
            "{who:?} {path} {privilege}"
        );
    }

    #[test]
    fn privilege_table() {
        let admin = || Identity::Token {
            user: "mcp@pve".into(),
            token: "admin".into(),
        };
        let ro = || Identity::Token {
            user: "audit@pve".into(),
            token: "ro".into(),
        };
        let alice = || Identity::User("alice@pve".into());
        check(admin(), "/vms/100", "VM.PowerMgmt", true);
        check(admin(), "/", "Sys.Modify", true);
        check(ro(), "/vms/100", "VM.Audit", true);
        check(ro(), "/vms/100", "VM.PowerMgmt", false);
        check(ro(), "/nodes/pve1", "Sys.Audit", true);
        check(alice(), "/vms/100", "VM.PowerMgmt", true);
        check(alice(), "/vms/105", "VM.Audit", false);
        check(alice(), "/", "Sys.Audit", false);
        check(Identity::User("root@pam".into()), "/x", "Sys.Modify", true);
        check(Identity::User("nobody@pve".into()), "/", "VM.Audit", false);
    }

    #[test]
    fn token_secret_check() {
        let a = access();
        assert!(a.authenticate_token("mcp@pve!admin", "s1", 0).is_some());
        assert!(a.authenticate_token("mcp@pve!admin", "bad", 0).is_none());
        assert!(a.authenticate_token("mcp@pve", "s1", 0).is_none());
    }

    #[test]
    fn level_split() {
        assert_eq!(levels("/vms/100"), vec!["/", "/vms", "/vms/100"]);
        assert_eq!(levels("/"), vec!["/"]);
    }
}
