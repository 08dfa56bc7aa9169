//! Root protection for raw API requests: `root@pam`, the node we run against and our own
//! identity are never changed, whatever the mode. Protected guests are configured here too.
//!
//! Every spelling is reduced before comparing: `root%40pam`, `ROOT@PAM`, doubled or trailing
//! slashes, `/api2/<format>` prefixes, quotes and whitespace around list items.
//!
//! What is protected, in one place:
//! - **Changing** root@pam, our own user, token or ACLs, or removing any node: refused in
//!   every mode, through the API (here) and through commands ([`super::command`]).
//! - **Writing** `/etc/pve/priv`, `/etc/pve/user.cfg`, `/root/.ssh`, `/etc/shadow`,
//!   `/etc/passwd`, `/etc/sudoers*` with a command: refused in every mode.
//! - **Reading secrets** with a command (`/etc/pve/priv/*`, TLS and SSH private keys,
//!   `/etc/shadow`, the cluster database): refused in every mode, so they never reach the
//!   assistant ([`super::command::Protected::SecretRead`]). Listing or testing for them is fine.
//! - **Reading through the API** is a protection hit only where the API hands out files: a
//!   guest agent's `file-read`, a backup's `file-restore`, and host paths given to a guest as a
//!   disk, CD-ROM, mount point or import source are checked against the same secrets
//!   (reading root@pam's user entry or ACLs stays allowed).
//! - **Protected guests** (configured vmids, tags, PVE's `protection: 1`) refuse Destructive
//!   work, and lifting a guest's protection or changing its tags is Destructive
//!   ([`super::api::classify_api_call`]), so it cannot be used to get around them.

use std::collections::BTreeSet;

use serde_json::{Map, Value};

use super::api::{decode, segments};
use super::command::{Context, Protected, ServerFiles};

const ROOT: &str = "root@pam";

/// Who the server is, for root protection.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Identity {
    /// The node we run against (removing it from the cluster is refused).
    pub own_node: Option<String>,
    /// The server's own Proxmox user, `user@realm`.
    pub own_user: Option<String>,
    /// The server's own API token, `user@realm!name`.
    pub own_token: Option<String>,
    /// The groups our user belongs to; `None` when they could not be read, and then any grant
    /// to a group, or change of one, could be a grant to us and is refused (fail closed).
    pub own_groups: Option<BTreeSet<String>>,
    /// The roles granted to our user, token or groups; `None` when they could not all be read,
    /// and then editing any role is refused (fail closed).
    pub own_roles: Option<BTreeSet<String>>,
}

impl Identity {
    /// The same identity for shell-command analysis ([`super::command::analyze`]), with where
    /// commands run: the executor's working directory and home, and the server's own files.
    pub fn context<'a>(
        &'a self,
        server: &'a ServerFiles,
        cwd: &'a str,
        home: &'a str,
    ) -> Context<'a> {
        Context {
            own_node: self.own_node.as_deref(),
            own_user: self.own_user.as_deref(),
            own_token: self.own_token.as_deref(),
            cwd,
            home,
            server,
        }
    }

    /// Our users, lowercased: the configured one and the owner of our token.
    fn own_users(&self) -> Vec<String> {
        let mut out: Vec<String> = self.own_user.iter().map(|u| account(u)).collect();
        if let Some(t) = &self.own_token {
            out.push(user_of(&account(t)).to_string());
        }
        out.retain(|u| !u.is_empty());
        out
    }

    fn own_token(&self) -> Option<String> {
        self.own_token.as_deref().map(account)
    }

    /// Whether `group` is one of ours: `Some(true)`/`Some(false)`, `None` when our groups are
    /// unknown. Compared without case: a near-spelling is not worth the risk.
    fn holds_group(&self, group: &str) -> Option<bool> {
        let group = account(group);
        let own = self.own_groups.as_ref()?;
        Some(own.iter().any(|g| account(g) == group))
    }

    /// Whether `role` is granted to us: `None` when our roles are unknown.
    fn holds_role(&self, role: &str) -> Option<bool> {
        let role = account(role);
        let own = self.own_roles.as_ref()?;
        Some(own.iter().any(|r| account(r) == role))
    }
}

/// Guests whose destructive actions are refused: these vmids, guests carrying one of these tags,
/// and any guest with PVE's own `protection: 1`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProtectedGuests {
    pub vmids: BTreeSet<u32>,
    pub tags: BTreeSet<String>,
}

impl Default for ProtectedGuests {
    fn default() -> Self {
        ProtectedGuests {
            vmids: BTreeSet::new(),
            tags: BTreeSet::from(["protected".to_string()]),
        }
    }
}

/// One account name as compared: decoded, unquoted, trimmed, lowercased.
fn account(raw: &str) -> String {
    decode(raw.trim())
        .trim()
        .trim_matches(|c: char| matches!(c, '"' | '\'' | '`') || c.is_whitespace())
        .to_lowercase()
}

/// The user a token id belongs to: `mcp@pve` for `mcp@pve!mcp`.
fn user_of(id: &str) -> &str {
    id.split('!').next().unwrap_or(id)
}

/// The account names in a parameter value: a comma/semicolon/space separated list, or a JSON
/// array of them, each decoded and unquoted.
fn accounts(v: &Value) -> Vec<String> {
    match v {
        Value::String(s) => decode(s)
            .split(super::api::is_list_sep)
            .map(account)
            .filter(|a| !a.is_empty())
            .collect(),
        Value::Array(items) => items.iter().flat_map(accounts).collect(),
        _ => Vec::new(),
    }
}

/// A file (an absolute host or guest path, literal) that is or holds a secret no route may
/// read ([`super::command::Protected::SecretRead`]): the same list the command checks use.
fn secret_file(file: &str) -> Option<Protected> {
    let norm = super::command::paths::normalize(file, None)?;
    let pattern: String = norm
        .chars()
        .flat_map(|c| {
            let esc = matches!(c, '*' | '?' | '[' | ']' | '\\').then_some('\\');
            esc.into_iter().chain([c])
        })
        .collect();
    super::command::paths::secret_hit(&pattern, true).map(|(secret, _)| {
        Protected::SecretRead(if norm == secret {
            norm.clone()
        } else {
            format!("{norm} ({secret})")
        })
    })
}

/// Parameters that name accounts on `/access/…` calls.
const ACCOUNT_PARAMS: &[&str] = &["userid", "users", "tokens", "user", "tokenid"];

/// Root-protection hits for one raw API request; empty means none. GETs never hit: reading
/// root's configuration changes nothing.
pub fn api_protection(
    method: &str,
    path: &str,
    params: &Map<String, Value>,
    id: &Identity,
) -> Vec<Protected> {
    let secrets: Vec<Protected> = super::api::files_read(method, path, params)
        .iter()
        .filter_map(|f| secret_file(f))
        .collect();
    let method = method.trim().to_ascii_uppercase();
    if method == "GET" {
        return secrets;
    }
    let segs = segments(path);
    let lower: Vec<String> = segs.iter().map(|s| s.to_lowercase()).collect();
    let shown = format!("/{}", segs.join("/"));
    let own_users = id.own_users();
    let own_token = id.own_token();
    let mut hits = secrets;
    let mut hit = |p: Protected| {
        if !hits.contains(&p) {
            hits.push(p);
        }
    };
    // An account named in the path or a parameter: root (or one of its tokens), or us.
    let check = |name: &str, hit: &mut dyn FnMut(Protected)| {
        let name = account(name);
        let user = user_of(&name);
        if user == ROOT {
            hit(Protected::RootAccount(name.clone()));
        }
        if own_users.iter().any(|u| u == user) || own_token.as_deref() == Some(name.as_str()) {
            hit(Protected::OwnIdentity(name.clone()));
        }
    };
    let s = |i: usize| lower.get(i).map(String::as_str);
    if s(0) == Some("access") {
        // /access/users/{id}/…, /access/tfa/{id}/…: the account is in the path.
        if matches!(s(1), Some("users" | "tfa"))
            && let Some(user) = segs.get(2)
        {
            check(user, &mut hit);
            if let (Some("token"), Some(tok)) = (s(3), segs.get(4)) {
                check(&format!("{user}!{tok}"), &mut hit);
            }
        }
        // /access/password, /access/acl, /access/tfa, /access/users: in the parameters.
        for (k, v) in params {
            if ACCOUNT_PARAMS.contains(&k.trim().to_lowercase().as_str()) {
                for name in accounts(v) {
                    check(&name, &mut hit);
                }
            }
        }
    }
    if s(0) == Some("access") {
        own_groups_and_roles(&lower, &segs, params, id, &mut hit);
    }
    if method == "DELETE"
        && matches!(
            (s(0), s(1), s(2), segs.get(3)),
            (Some("cluster"), Some("config"), Some("nodes"), Some(_))
        )
        && let Some(node) = segs.get(3)
        && !node.trim().is_empty()
    {
        // Any node: removing one cannot be undone without reinstalling it.
        hit(Protected::NodeRemoval(format!("{} ({shown})", node.trim())));
    }
    hits
}

/// Self-escalation through a group or a role: a grant to a group we belong to (`PUT
/// /access/acl` with `groups`), a change of such a group (`/access/groups/{id}`), and an edit
/// of a role we hold (`/access/roles/{id}`) reach our own rights as surely as a grant to our
/// user does. Unknown groups or roles refuse, naming what to give the token to read them.
fn own_groups_and_roles(
    lower: &[String],
    segs: &[String],
    params: &Map<String, Value>,
    id: &Identity,
    hit: &mut dyn FnMut(Protected),
) {
    let s = |i: usize| lower.get(i).map(String::as_str);
    let mut check = |kind: &str, name: &str, held: Option<bool>| match held {
        Some(true) => hit(Protected::OwnIdentity(format!(
            "the {kind} {name}, which this server holds"
        ))),
        Some(false) => {}
        None => hit(Protected::OwnIdentity(format!(
            "the {kind} {name}: this server could not read its own {kind}s, so it cannot rule              out that {name} is one of them (give its token Sys.Audit on /access, or let an              administrator make the change)"
        ))),
    };
    if s(1) == Some("acl") {
        for (k, v) in params {
            if decode(k)
                .trim()
                .trim_start_matches('-')
                .eq_ignore_ascii_case("groups")
            {
                for g in accounts(v) {
                    check("group", &g, id.holds_group(&g));
                }
            }
        }
    }
    if s(1) == Some("groups")
        && let Some(g) = segs.get(2)
    {
        check("group", g.trim(), id.holds_group(g));
    }
    if s(1) == Some("roles")
        && let Some(r) = segs.get(2)
    {
        check("role", r.trim(), id.holds_role(r));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn id() -> Identity {
        Identity {
            own_node: Some("pve1".into()),
            own_user: Some("mcp@pve".into()),
            own_token: Some("mcp@pve!mcp".into()),
            own_groups: Some(["mcp-ops".to_string()].into()),
            own_roles: Some(["PVEVMUser".to_string(), "McpRole".to_string()].into()),
        }
    }

    fn hits(method: &str, path: &str, params: Value) -> Vec<Protected> {
        let Value::Object(map) = params else {
            panic!("params must be an object")
        };
        api_protection(method, path, &map, &id())
    }

    /// (method, path, params, want a hit of this kind: "root", "node", "own", "")
    fn check(cases: &[(&str, &str, Value, &str)]) {
        let mut bad = Vec::new();
        for (m, p, params, want) in cases {
            let got = hits(m, p, params.clone());
            let ok = match *want {
                "" => got.is_empty(),
                "root" => got.iter().any(|h| matches!(h, Protected::RootAccount(_))),
                "node" => got.iter().any(|h| matches!(h, Protected::NodeRemoval(_))),
                "own" => got.iter().any(|h| matches!(h, Protected::OwnIdentity(_))),
                "secret" => got.iter().any(|h| matches!(h, Protected::SecretRead(_))),
                other => panic!("bad expectation {other}"),
            };
            if !ok {
                bad.push(format!("{m} {p} {params}: want {want:?}, got {got:?}"));
            }
        }
        assert!(bad.is_empty(), "{}", bad.join("\n"));
    }

    /// Files the API hands out or gives a guest are checked against the secrets the command
    /// route refuses to read, whatever the guest or the method.
    #[test]
    fn secret_files_through_the_api() {
        check(&[
            (
                "GET",
                "/nodes/pve2/qemu/102/agent/file-read",
                json!({"file": "/etc/shadow"}),
                "secret",
            ),
            (
                "GET",
                "/nodes/pve2/qemu/102/agent/file-read",
                json!({"file": "/root/.ssh/../.ssh/id_rsa"}),
                "secret",
            ),
            (
                "GET",
                "/nodes/pve2/qemu/102/agent/file-read",
                json!({"file": "/etc/hostname"}),
                "",
            ),
            (
                "GET",
                "/nodes/pve1/storage/pbs/file-restore/download",
                json!({"volume": "v", "filepath": "/etc/shadow"}),
                "secret",
            ),
            (
                "PUT",
                "/nodes/pve2/qemu/102/config",
                json!({"cdrom": "/etc/pve/priv/authkey.key"}),
                "secret",
            ),
            (
                "PUT",
                "/nodes/pve2/qemu/102/config",
                json!({"scsi1": "local-lvm:0,import-from=/var/lib/pve-cluster/config.db"}),
                "secret",
            ),
            (
                "PUT",
                "/nodes/pve1/lxc/103/config",
                json!({"mp0": "/etc/pve,mp=/x"}),
                "secret",
            ),
            (
                "PUT",
                "/nodes/pve2/qemu/102/config",
                json!({"scsi1": "local-lvm:0,import-from=/srv/x.img"}),
                "",
            ),
        ]);
    }

    #[test]
    fn root_account() {
        check(&[
            (
                "PUT",
                "/access/users/root@pam",
                json!({"enable": 0}),
                "root",
            ),
            (
                "PUT",
                "/access/users/root%40pam",
                json!({"enable": "0"}),
                "root",
            ),
            ("DELETE", "//access//users/ROOT@PAM/", json!({}), "root"),
            (
                "DELETE",
                "/api2/extjs/access/users/root@PAM",
                json!({}),
                "root",
            ),
            ("POST", "/access/users/root@pam/token/t", json!({}), "root"),
            (
                "DELETE",
                "/access/users/root@pam/token/t",
                json!({}),
                "root",
            ),
            ("PUT", "/access/users/%22root@pam%22", json!({}), "root"),
            (
                "PUT",
                "/access/password",
                json!({"userid": "root@pam"}),
                "root",
            ),
            (
                "PUT",
                "/access/password",
                json!({"userid": "\"Root@Pam\""}),
                "root",
            ),
            (
                "POST",
                "/access/tfa/root@pam",
                json!({"type": "totp"}),
                "root",
            ),
            ("DELETE", "/access/tfa/root@pam/abc", json!({}), "root"),
            (
                "POST",
                "/access/tfa",
                json!({"userid": "root%40pam"}),
                "root",
            ),
            (
                "PUT",
                "/access/acl",
                json!({"path": "/", "roles": "NoAccess", "users": "a@pve, root@pam"}),
                "root",
            ),
            (
                "PUT",
                "/access/acl",
                json!({"path": "/", "roles": "NoAccess", "tokens": "root@pam!x"}),
                "root",
            ),
            (
                "PUT",
                "/access/acl",
                json!({"path": "/", "users": ["a@pve", "root@pam"]}),
                "root",
            ),
            ("GET", "/access/users/root@pam", json!({}), ""),
            ("PUT", "/access/users/rooty@pam", json!({}), ""),
            ("PUT", "/access/users/root@pve", json!({}), ""),
            ("PUT", "/nodes/root@pam/config", json!({}), ""),
        ]);
    }

    #[test]
    fn own_node_and_identity() {
        check(&[
            ("DELETE", "/cluster/config/nodes/pve1", json!({}), "node"),
            ("DELETE", "/cluster/config/nodes/PVE1/", json!({}), "node"),
            ("DELETE", "/cluster/config/nodes/pve2", json!({}), "node"),
            ("POST", "/cluster/config/nodes/pve2", json!({}), ""),
            ("PUT", "/access/users/mcp@pve", json!({"enable": 0}), "own"),
            (
                "DELETE",
                "/access/users/mcp%40pve/token/mcp",
                json!({}),
                "own",
            ),
            (
                "POST",
                "/access/users/mcp@pve/token/other",
                json!({}),
                "own",
            ),
            (
                "PUT",
                "/access/acl",
                json!({"path": "/", "roles": "Administrator", "tokens": "mcp@pve!mcp"}),
                "own",
            ),
            (
                "PUT",
                "/access/acl",
                json!({"path": "/", "roles": "PVEAuditor", "users": "mcp@pve", "delete": 1}),
                "own",
            ),
            (
                "PUT",
                "/access/acl",
                json!({"path": "/", "roles": "PVEAuditor", "users": "alice@pve"}),
                "",
            ),
            ("PUT", "/access/users/alice@pve", json!({"enable": 0}), ""),
        ]);
    }

    #[test]
    fn grants_to_our_groups_and_edits_of_our_roles() {
        check(&[
            (
                "PUT",
                "/access/acl",
                json!({"path": "/vms", "roles": "Administrator", "groups": "mcp-ops"}),
                "own",
            ),
            (
                "PUT",
                "/access/acl",
                json!({"path": "/", "roles": "Administrator", "groups": ["x", " MCP-OPS "]}),
                "own",
            ),
            (
                "PUT",
                "/access/acl",
                json!({"path": "/", "roles": "Administrator", "--Groups": "x;mcp%2Dops"}),
                "own",
            ),
            (
                "PUT",
                "/access/acl",
                json!({"path": "/vms", "roles": "Administrator", "groups": "others"}),
                "",
            ),
            (
                "PUT",
                "/access/groups/mcp-ops",
                json!({"comment": "x"}),
                "own",
            ),
            ("DELETE", "/access/groups/mcp-ops", json!({}), "own"),
            ("PUT", "/access/groups/others", json!({"comment": "x"}), ""),
            (
                "PUT",
                "/access/roles/PVEVMUser",
                json!({"privs": "VM.PowerMgmt", "append": 1}),
                "own",
            ),
            ("DELETE", "/access/roles/mcprole", json!({}), "own"),
            (
                "PUT",
                "/access/roles/Other",
                json!({"privs": "VM.Audit"}),
                "",
            ),
            ("POST", "/access/roles", json!({"roleid": "New"}), ""),
            (
                "PUT",
                "/access/users/mcp@pve",
                json!({"groups": "admins"}),
                "own",
            ),
        ]);
    }

    #[test]
    fn unknown_groups_and_roles_fail_closed() {
        let blind = Identity {
            own_groups: None,
            own_roles: None,
            ..id()
        };
        let grant = json!({"path": "/", "roles": "Administrator", "groups": "anyone"});
        let Value::Object(grant) = grant else {
            unreachable!()
        };
        let got = api_protection("PUT", "/access/acl", &grant, &blind);
        assert!(
            matches!(got.as_slice(), [Protected::OwnIdentity(why)] if why.contains("Sys.Audit")),
            "{got:?}"
        );
        let edit = api_protection("PUT", "/access/roles/Any", &Map::new(), &blind);
        assert_eq!(edit.len(), 1, "{edit:?}");
        let other = api_protection("PUT", "/access/users/alice@pve", &Map::new(), &blind);
        assert!(other.is_empty(), "{other:?}");
    }
}
