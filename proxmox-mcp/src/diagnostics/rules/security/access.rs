//! Pure: access rules S01–S03 (second factors, administrators) and the helpers that tell who administers.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Value, json};

use super::{api, finding};
use crate::diagnostics::rules::util::{flag, num, str_of};
use crate::diagnostics::rules::{Confidence, Ctx, Finding, Outcome, Rule, Severity, Skip, got};
use crate::diagnostics::snapshot::cluster::ClusterSnapshot;

/// Built-in roles that administer whatever they are granted on.
const ADMIN_ROLES: [&str; 2] = ["Administrator", "PVEAdmin"];
/// Privileges that make a custom role an administrator's.
const ADMIN_PRIVS: [&str; 2] = ["Permissions.Modify", "Sys.Modify"];

/// A role that administers: a built-in admin role, or one granting an admin privilege.
fn is_admin_role(role: &str, roles: &[Value]) -> bool {
    ADMIN_ROLES.contains(&role)
        || roles
            .iter()
            .filter(|r| str_of(r, "roleid") == Some(role))
            .filter_map(|r| str_of(r, "privs"))
            .any(|privs| privs.split(',').any(|p| ADMIN_PRIVS.contains(&p.trim())))
}

/// `/` or a top-level subtree (`/vms`, `/storage`, `/nodes`, `/access`, …).
fn is_broad(path: &str) -> bool {
    let path = path.trim_end_matches('/');
    path.is_empty() || path.matches('/').count() == 1
}

/// The comma-separated or array `groups`/`users` member as a list.
fn list(v: Option<&Value>) -> Vec<String> {
    match v {
        Some(Value::Array(a)) => a
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_owned)
            .collect(),
        Some(Value::String(s)) => s
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect(),
        _ => Vec::new(),
    }
}

/// Each user's groups, from the user list and the group list (either may be the only one set).
fn memberships(users: &[Value], groups: &[Value]) -> BTreeMap<String, BTreeSet<String>> {
    let mut out: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for u in users {
        if let Some(id) = str_of(u, "userid") {
            out.entry(id.into())
                .or_default()
                .extend(list(u.get("groups")));
        }
    }
    for g in groups {
        if let Some(gid) = str_of(g, "groupid") {
            for user in list(g.get("users")) {
                out.entry(user).or_default().insert(gid.into());
            }
        }
    }
    out
}

/// Users holding an admin role on a broad path, directly or through a group, with how.
pub(super) fn admins(
    users: &[Value],
    groups: &[Value],
    acl: &[Value],
    roles: &[Value],
) -> BTreeMap<String, String> {
    let member = memberships(users, groups);
    let mut out = BTreeMap::new();
    for entry in acl {
        let (Some(path), Some(kind), Some(ugid), Some(role)) = (
            str_of(entry, "path"),
            str_of(entry, "type"),
            str_of(entry, "ugid"),
            str_of(entry, "roleid"),
        ) else {
            continue;
        };
        if !is_broad(path) || !is_admin_role(role, roles) {
            continue;
        }
        match kind {
            "user" => {
                out.entry(ugid.to_owned())
                    .or_insert_with(|| format!("{role} on {path}"));
            }
            "group" => {
                for (user, of) in &member {
                    if of.contains(ugid) {
                        out.entry(user.clone())
                            .or_insert_with(|| format!("{role} on {path} through group {ugid}"));
                    }
                }
            }
            _ => {}
        }
    }
    out
}

/// The realm of `user@realm`.
fn realm_of(userid: &str) -> &str {
    userid.rsplit_once('@').map_or("", |(_, r)| r)
}

/// Realms that enforce a second factor themselves (`tfa` set on the realm).
fn tfa_realms(domains: &[Value]) -> BTreeSet<&str> {
    domains
        .iter()
        .filter(|d| str_of(d, "tfa").is_some_and(|t| !t.is_empty()))
        .filter_map(|d| str_of(d, "realm"))
        .collect()
}

/// Users with at least one enabled second factor (a recovery key list alone is not one).
fn tfa_users(tfa: &[Value]) -> BTreeSet<&str> {
    tfa.iter()
        .filter(|t| {
            t.get("entries").and_then(Value::as_array).is_some_and(|e| {
                e.iter().any(|entry| {
                    flag(entry, "enable").unwrap_or(true)
                        && str_of(entry, "type").is_some_and(|k| k != "recovery")
                })
            })
        })
        .filter_map(|t| str_of(t, "userid"))
        .collect()
}

/// `enable` defaults to on.
pub(super) fn enabled(user: &Value) -> bool {
    flag(user, "enable").unwrap_or(true)
}

/// The user's tokens.
pub(super) fn tokens(user: &Value) -> &[Value] {
    user.get("tokens")
        .and_then(Value::as_array)
        .map_or(&[], Vec::as_slice)
}

fn tfa_fix(userid: &str) -> String {
    format!(
        "Log in as {userid} and add a TOTP or WebAuthn factor (Datacenter → Permissions → \
         Two Factor), or set a TFA provider on the realm: pveum realm modify {} --tfa type=oath",
        realm_of(userid)
    )
}

/// S01: root@pam has no second factor.
pub struct S01;
impl Rule for S01 {
    meta!("S01", "root@pam without two-factor authentication");
    fn check(&self, snap: &ClusterSnapshot, _ctx: &Ctx) -> Outcome {
        let users = got(&snap.users)?;
        let tfa = got(&snap.tfa)?;
        let domains = got(&snap.domains)?;
        // The list shows only the users the reading token may see.
        let Some(root) = users
            .iter()
            .find(|u| str_of(u, "userid") == Some("root@pam"))
        else {
            return Err(Skip(
                "root@pam is not in the user list the token can read".into(),
            ));
        };
        if !enabled(root) {
            return Ok(vec![]);
        }
        if tfa_users(tfa).contains("root@pam") || tfa_realms(domains).contains("pam") {
            return Ok(vec![]);
        }
        Ok(vec![Finding {
            evidence: "no enabled TOTP, WebAuthn, U2F or Yubico entry for root@pam in \
                       /access/tfa, and the pam realm sets no TFA provider"
                .into(),
            recommendation: "Add a second factor to root@pam: it holds every privilege and \
                             logs in with the node's root password."
                .into(),
            fix: Some(tfa_fix("root@pam")),
            ..finding(
                "S01",
                Severity::Critical,
                "user/root@pam".into(),
                "root@pam has no second factor".into(),
            )
        }])
    }
}

/// S02: an administrator (Administrator/PVEAdmin or an admin custom role on a broad path,
/// directly or through a group) without a second factor.
pub struct S02;
impl Rule for S02 {
    meta!("S02", "Administrators without two-factor authentication");
    fn check(&self, snap: &ClusterSnapshot, _ctx: &Ctx) -> Outcome {
        let users = got(&snap.users)?;
        let tfa = got(&snap.tfa)?;
        let acl = got(&snap.acl)?;
        let roles = got(&snap.roles)?;
        let domains = got(&snap.domains)?;
        // Memberships also come with each user (`groups`): the group list only adds to them.
        let groups = snap.groups.as_deref().unwrap_or_default();
        let with_tfa = tfa_users(tfa);
        let realms = tfa_realms(domains);
        let active: BTreeSet<&str> = users
            .iter()
            .filter(|u| enabled(u))
            .filter(|u| num(u, "expire").is_none_or(|e| e == 0.0 || e > snap.now as f64))
            .filter_map(|u| str_of(u, "userid"))
            .collect();
        Ok(admins(users, groups, acl, roles)
            .into_iter()
            .filter(|(user, _)| user != "root@pam" && active.contains(user.as_str()))
            .filter(|(user, _)| {
                !with_tfa.contains(user.as_str()) && !realms.contains(realm_of(user))
            })
            .map(|(user, how)| Finding {
                evidence: format!(
                    "{user} holds {how}; no enabled second factor in /access/tfa and realm \
                     {} sets no TFA provider",
                    realm_of(&user)
                ),
                recommendation: "Require a second factor for every account that can \
                                 administer the cluster."
                    .into(),
                fix: Some(tfa_fix(&user)),
                ..finding(
                    "S02",
                    Severity::Warning,
                    format!("user/{user}"),
                    format!("Administrator {user} has no second factor"),
                )
            })
            .collect())
    }
}

/// S03: the Administrator role on `/` for anyone but root@pam.
pub struct S03;
impl Rule for S03 {
    meta!("S03", "Administrator role granted on /");
    fn check(&self, snap: &ClusterSnapshot, _ctx: &Ctx) -> Outcome {
        let acl = got(&snap.acl)?;
        Ok(acl
            .iter()
            .filter(|e| {
                str_of(e, "path") == Some("/") && str_of(e, "roleid") == Some("Administrator")
            })
            .filter(|e| {
                !(str_of(e, "type") == Some("user") && str_of(e, "ugid") == Some("root@pam"))
            })
            .filter_map(|e| Some((str_of(e, "type")?, str_of(e, "ugid")?)))
            .map(|(kind, ugid)| {
                let (option, param) = match kind {
                    "group" => ("--groups", "groups"),
                    "token" => ("--tokens", "tokens"),
                    _ => ("--users", "users"),
                };
                Finding {
                    evidence: format!(
                        "ACL: {kind} {ugid} has role Administrator on / (propagated to everything)"
                    ),
                    recommendation: "Grant a scoped role (PVEAdmin, PVEVMAdmin, a custom role) on \
                                     the paths needed instead of Administrator on /."
                        .into(),
                    fix: Some(format!(
                        "pveum acl delete / {option} {ugid} --roles Administrator"
                    )),
                    tool_call: api(
                        "PUT",
                        "/access/acl",
                        json!({"path": "/", "roles": "Administrator", param: ugid, "delete": "1"}),
                    ),
                    confidence: Confidence::Medium,
                    ..finding(
                        "S03",
                        Severity::Warning,
                        format!("acl//:{ugid}:Administrator"),
                        format!("{ugid} is Administrator on /"),
                    )
                }
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::super::fixtures::*;
    use super::*;

    const CASES: &[Case] = &[
        // S01
        (
            &S01,
            "root without tfa",
            |s| {
                s.tfa
                    .as_mut()
                    .unwrap()
                    .retain(|t| t["userid"] != "root@pam")
            },
            Want::Find(&[("user/root@pam", Severity::Critical)]),
        ),
        (
            &S01,
            "only recovery keys",
            |s| {
                s.tfa.as_mut().unwrap()[0]["entries"] =
                    json!([{"type": "recovery", "id": "recovery"}])
            },
            Want::Find(&[("user/root@pam", Severity::Critical)]),
        ),
        (
            &S01,
            "totp disabled",
            |s| {
                s.tfa.as_mut().unwrap()[0]["entries"][0]["enable"] = json!(0);
                s.tfa.as_mut().unwrap()[0]["entries"]
                    .as_array_mut()
                    .unwrap()
                    .pop();
            },
            Want::Find(&[("user/root@pam", Severity::Critical)]),
        ),
        (
            &S01,
            "pam realm tfa",
            |s| {
                s.tfa.as_mut().unwrap().clear();
                s.domains.as_mut().unwrap()[0]["tfa"] = json!("yubico");
            },
            Want::Pass,
        ),
        (
            &S01,
            "root disabled",
            |s| {
                s.tfa.as_mut().unwrap().clear();
                user(s, "root@pam")["enable"] = json!(0);
            },
            Want::Pass,
        ),
        (
            &S01,
            "tfa unreadable",
            |s| s.tfa = denied("/access/tfa"),
            Want::Skip("403"),
        ),
        (
            &S01,
            "users unreadable",
            |s| s.users = denied("/access/users"),
            Want::Skip("403"),
        ),
        (
            &S01,
            "root not visible",
            |s| {
                s.users
                    .as_mut()
                    .unwrap()
                    .retain(|u| u["userid"] != "root@pam")
            },
            Want::Skip("not in the user list"),
        ),
        // S02
        (
            &S02,
            "group admin without tfa",
            |s| {
                s.tfa
                    .as_mut()
                    .unwrap()
                    .retain(|t| t["userid"] != "alice@pve")
            },
            Want::Find(&[("user/alice@pve", Severity::Warning)]),
        ),
        (
            &S02,
            "direct Administrator without tfa",
            |s| {
                s.acl
                    .as_mut()
                    .unwrap()
                    .push(json!({"path": "/", "type": "user",
                "ugid": "bob@pve", "roleid": "Administrator", "propagate": 1}))
            },
            Want::Find(&[("user/bob@pve", Severity::Warning)]),
        ),
        (
            &S02,
            "custom role with Sys.Modify on /nodes",
            |s| {
                s.roles.as_mut().unwrap()[4]["privs"] = json!("Sys.Modify,VM.Audit");
                s.acl
                    .as_mut()
                    .unwrap()
                    .push(json!({"path": "/nodes", "type": "user",
                "ugid": "bob@pve", "roleid": "Ops"}))
            },
            Want::Find(&[("user/bob@pve", Severity::Warning)]),
        ),
        (
            &S02,
            "group from the group list only",
            |s| {
                s.tfa
                    .as_mut()
                    .unwrap()
                    .retain(|t| t["userid"] != "alice@pve");
                user(s, "alice@pve")
                    .as_object_mut()
                    .unwrap()
                    .remove("groups");
            },
            Want::Find(&[("user/alice@pve", Severity::Warning)]),
        ),
        (
            &S02,
            "realm without tfa",
            |s| {
                s.domains.as_mut().unwrap()[2]
                    .as_object_mut()
                    .unwrap()
                    .remove("tfa");
            },
            Want::Find(&[("user/carol@corp", Severity::Warning)]),
        ),
        (
            &S02,
            "admin role on one guest only",
            |s| {
                s.acl
                    .as_mut()
                    .unwrap()
                    .push(json!({"path": "/vms/100", "type": "user",
                "ugid": "bob@pve", "roleid": "PVEAdmin"}))
            },
            Want::Pass,
        ),
        (
            &S02,
            "disabled admin",
            |s| {
                s.tfa
                    .as_mut()
                    .unwrap()
                    .retain(|t| t["userid"] != "alice@pve");
                user(s, "alice@pve")["enable"] = json!(0);
            },
            Want::Pass,
        ),
        (
            &S02,
            "acl unreadable",
            |s| s.acl = denied("/access/acl"),
            Want::Skip("403"),
        ),
        (
            &S02,
            "roles unreadable",
            |s| s.roles = denied("/access/roles"),
            Want::Skip("403"),
        ),
        // S03
        (
            &S03,
            "group Administrator on /",
            |s| s.acl.as_mut().unwrap()[0]["roleid"] = json!("Administrator"),
            Want::Find(&[("acl//:admins:Administrator", Severity::Warning)]),
        ),
        (
            &S03,
            "root@pam Administrator on /",
            |s| {
                s.acl
                    .as_mut()
                    .unwrap()
                    .push(json!({"path": "/", "type": "user",
                "ugid": "root@pam", "roleid": "Administrator"}))
            },
            Want::Pass,
        ),
        (
            &S03,
            "Administrator on a pool",
            |s| {
                s.acl
                    .as_mut()
                    .unwrap()
                    .push(json!({"path": "/pool/dev", "type": "user",
                "ugid": "bob@pve", "roleid": "Administrator"}))
            },
            Want::Pass,
        ),
        (
            &S03,
            "acl unreadable",
            |s| s.acl = denied("/access/acl"),
            Want::Skip("403"),
        ),
    ];

    #[test]
    fn access_rules() {
        check(CASES);
    }

    #[test]
    fn broad_paths_and_lists() {
        assert!(is_broad("/") && is_broad("/vms") && is_broad("/storage/"));
        assert!(!is_broad("/vms/100") && !is_broad("/pool/dev"));
        assert_eq!(list(Some(&json!("a, b,,"))), vec!["a", "b"]);
        assert_eq!(list(Some(&json!(["a"]))), vec!["a"]);
        assert_eq!(realm_of("a@b@pve"), "pve");
    }
}
