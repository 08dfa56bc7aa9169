//! Pure: access rules S01–S07 (TFA, administrators, stale identities, API tokens, realms).

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Value, json};

use super::{api, finding};
use crate::diagnostics::rules::util::{flag, num, str_of};
use crate::diagnostics::rules::{
    Area, Confidence, Ctx, Finding, Outcome, Rule, Severity, Skip, got,
};
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
fn admins(
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
fn enabled(user: &Value) -> bool {
    flag(user, "enable").unwrap_or(true)
}

/// The user's tokens.
fn tokens(user: &Value) -> &[Value] {
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
    fn id(&self) -> &'static str {
        "S01"
    }
    fn area(&self) -> Area {
        Area::Security
    }
    fn title(&self) -> &'static str {
        "root@pam without two-factor authentication"
    }
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
    fn id(&self) -> &'static str {
        "S02"
    }
    fn area(&self) -> Area {
        Area::Security
    }
    fn title(&self) -> &'static str {
        "Administrators without two-factor authentication"
    }
    fn check(&self, snap: &ClusterSnapshot, _ctx: &Ctx) -> Outcome {
        let users = got(&snap.users)?;
        let tfa = got(&snap.tfa)?;
        let acl = got(&snap.acl)?;
        let roles = got(&snap.roles)?;
        let domains = got(&snap.domains)?;
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
    fn id(&self) -> &'static str {
        "S03"
    }
    fn area(&self) -> Area {
        Area::Security
    }
    fn title(&self) -> &'static str {
        "Administrator role granted on /"
    }
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

/// S04a: a disabled user that still owns API tokens or an admin role.
pub struct S04a;
impl Rule for S04a {
    fn id(&self) -> &'static str {
        "S04a"
    }
    fn area(&self) -> Area {
        Area::Security
    }
    fn title(&self) -> &'static str {
        "Disabled user still holding tokens or an admin role"
    }
    fn check(&self, snap: &ClusterSnapshot, _ctx: &Ctx) -> Outcome {
        let users = got(&snap.users)?;
        let acl = got(&snap.acl)?;
        let roles = got(&snap.roles)?;
        let groups = snap.groups.as_deref().unwrap_or_default();
        let admin = admins(users, groups, acl, roles);
        let mut out = Vec::new();
        for user in users.iter().filter(|u| !enabled(u)) {
            let Some(id) = str_of(user, "userid") else {
                continue;
            };
            let toks: Vec<&str> = tokens(user)
                .iter()
                .filter_map(|t| str_of(t, "tokenid"))
                .collect();
            let role = admin.get(id);
            if toks.is_empty() && role.is_none() {
                continue;
            }
            let mut held = Vec::new();
            if !toks.is_empty() {
                held.push(format!("API tokens {}", toks.join(", ")));
            }
            if let Some(how) = role {
                held.push(how.clone());
            }
            let fix = match toks.first() {
                Some(t) => format!("pveum user token remove {id} {t}"),
                None => format!(
                    "pveum acl list | grep {id}   # then: pveum acl delete <path> --users {id} --roles <role>"
                ),
            };
            out.push(Finding {
                evidence: format!("{id} is disabled but still has {}", held.join(" and ")),
                recommendation: "Remove the tokens and permissions of a disabled account, or \
                                 delete the account if it is no longer needed."
                    .into(),
                fix: Some(fix),
                ..finding(
                    "S04a",
                    Severity::Warning,
                    format!("user/{id}"),
                    format!("Disabled user {id} still holds access"),
                )
            });
        }
        Ok(out)
    }
}

/// S04b: a user past its expiry date that is still enabled.
pub struct S04b;
impl Rule for S04b {
    fn id(&self) -> &'static str {
        "S04b"
    }
    fn area(&self) -> Area {
        Area::Security
    }
    fn title(&self) -> &'static str {
        "Expired user still enabled"
    }
    fn check(&self, snap: &ClusterSnapshot, _ctx: &Ctx) -> Outcome {
        let users = got(&snap.users)?;
        Ok(users
            .iter()
            .filter(|u| enabled(u))
            .filter_map(|u| Some((str_of(u, "userid")?, num(u, "expire")? as i64)))
            .filter(|&(_, expire)| expire > 0 && expire < snap.now)
            .map(|(id, expire)| Finding {
                evidence: format!(
                    "{id}: enable 1, expire {expire} ({} days ago)",
                    (snap.now - expire) / 86_400
                ),
                recommendation: "Disable or delete accounts past their expiry date so they \
                                 cannot be revived by extending the date."
                    .into(),
                fix: Some(format!("pveum user modify {id} --enable 0")),
                tool_call: api(
                    "PUT",
                    &format!("/access/users/{id}"),
                    json!({"enable": "0"}),
                ),
                ..finding(
                    "S04b",
                    Severity::Warning,
                    format!("user/{id}"),
                    format!("Expired user {id} is still enabled"),
                )
            })
            .collect())
    }
}

/// Every token with its owner and effective expiry (a token without `expire` lives as long
/// as its user).
fn all_tokens(users: &[Value]) -> Vec<(&str, &Value, i64)> {
    users
        .iter()
        .filter_map(|u| Some((u, str_of(u, "userid")?)))
        .flat_map(|(u, id)| {
            let user_expire = num(u, "expire").unwrap_or(0.0) as i64;
            tokens(u)
                .iter()
                .map(move |t| (id, t, num(t, "expire").map_or(user_expire, |e| e as i64)))
        })
        .filter(|(_, t, _)| str_of(t, "tokenid").is_some())
        .collect()
}

/// `user@realm!tokenid`.
fn token_name(user: &str, token: &Value) -> String {
    format!("{user}!{}", str_of(token, "tokenid").unwrap_or(""))
}

fn token_object(user: &str, token: &Value) -> String {
    format!("token/{}", token_name(user, token))
}

fn token_fix(user: &str, token: &Value, option: &str) -> String {
    format!(
        "pveum user token modify {user} {} {option}",
        str_of(token, "tokenid").unwrap_or("")
    )
}

/// S05a: an API token that never expires.
pub struct S05a;
impl Rule for S05a {
    fn id(&self) -> &'static str {
        "S05a"
    }
    fn area(&self) -> Area {
        Area::Security
    }
    fn title(&self) -> &'static str {
        "API token without expiry"
    }
    fn check(&self, snap: &ClusterSnapshot, _ctx: &Ctx) -> Outcome {
        let users = got(&snap.users)?;
        Ok(all_tokens(users)
            .into_iter()
            .filter(|&(_, _, expire)| expire == 0)
            .map(|(user, t, _)| Finding {
                evidence: "expire 0 (the token and its user never expire)".into(),
                recommendation: "Give every API token an expiry date and rotate it before then."
                    .into(),
                fix: Some(token_fix(user, t, "--expire <unix time within a year>")),
                ..finding(
                    "S05a",
                    Severity::Info,
                    token_object(user, t),
                    format!("Token {} never expires", token_name(user, t)),
                )
            })
            .collect())
    }
}

/// S05b: an API token whose expiry is further away than the rotation period.
pub struct S05b;
impl Rule for S05b {
    fn id(&self) -> &'static str {
        "S05b"
    }
    fn area(&self) -> Area {
        Area::Security
    }
    fn title(&self) -> &'static str {
        "API token not rotated within a year"
    }
    fn check(&self, snap: &ClusterSnapshot, ctx: &Ctx) -> Outcome {
        let users = got(&snap.users)?;
        let max_days = ctx.threshold("S05.max_days", 365.0) as i64;
        Ok(all_tokens(users)
            .into_iter()
            .filter(|&(_, _, expire)| expire > snap.now + max_days * 86_400)
            .map(|(user, t, expire)| Finding {
                evidence: format!(
                    "expires in {} days (rotate at least every {max_days} days)",
                    super::days_until(snap.now, expire)
                ),
                recommendation: "Rotate the token: issue a new one with an expiry within the \
                                 rotation period and remove the old one."
                    .into(),
                fix: Some(token_fix(user, t, "--expire <unix time within a year>")),
                ..finding(
                    "S05b",
                    Severity::Notice,
                    token_object(user, t),
                    format!(
                        "Token {} lives longer than {max_days} days",
                        token_name(user, t)
                    ),
                )
            })
            .collect())
    }
}

/// S05c: an API token without a comment saying what uses it.
pub struct S05c;
impl Rule for S05c {
    fn id(&self) -> &'static str {
        "S05c"
    }
    fn area(&self) -> Area {
        Area::Security
    }
    fn title(&self) -> &'static str {
        "API token without a comment"
    }
    fn check(&self, snap: &ClusterSnapshot, _ctx: &Ctx) -> Outcome {
        let users = got(&snap.users)?;
        Ok(all_tokens(users)
            .into_iter()
            .filter(|(_, t, _)| str_of(t, "comment").is_none_or(|c| c.trim().is_empty()))
            .map(|(user, t, _)| Finding {
                evidence: "comment empty".into(),
                recommendation: "Note on each token what uses it, so unused tokens can be \
                                 found and removed."
                    .into(),
                fix: Some(token_fix(user, t, "--comment '<what uses it>'")),
                ..finding(
                    "S05c",
                    Severity::Info,
                    token_object(user, t),
                    format!("Token {} has no comment", token_name(user, t)),
                )
            })
            .collect())
    }
}

/// S06: a root@pam token without privilege separation (it is root).
pub struct S06;
impl Rule for S06 {
    fn id(&self) -> &'static str {
        "S06"
    }
    fn area(&self) -> Area {
        Area::Security
    }
    fn title(&self) -> &'static str {
        "root@pam token without privilege separation"
    }
    fn check(&self, snap: &ClusterSnapshot, _ctx: &Ctx) -> Outcome {
        let users = got(&snap.users)?;
        Ok(all_tokens(users)
            .into_iter()
            .filter(|&(user, t, _)| user == "root@pam" && flag(t, "privsep") == Some(false))
            .map(|(user, t, _)| {
                let tok = str_of(t, "tokenid").unwrap_or("");
                Finding {
                    evidence: "privsep 0: the token has every privilege of root@pam".into(),
                    recommendation: "Turn on privilege separation and grant the token only the \
                                     roles it needs."
                        .into(),
                    fix: Some(token_fix(user, t, "--privsep 1")),
                    tool_call: api(
                        "PUT",
                        &format!("/access/users/{user}/token/{tok}"),
                        json!({"privsep": "1"}),
                    ),
                    ..finding(
                        "S06",
                        Severity::Warning,
                        token_object(user, t),
                        format!("Token {user}!{tok} has full root privileges"),
                    )
                }
            })
            .collect())
    }
}

/// S07: an LDAP or AD realm that enforces no second factor.
pub struct S07;
impl Rule for S07 {
    fn id(&self) -> &'static str {
        "S07"
    }
    fn area(&self) -> Area {
        Area::Security
    }
    fn title(&self) -> &'static str {
        "External realm without two-factor authentication"
    }
    fn check(&self, snap: &ClusterSnapshot, _ctx: &Ctx) -> Outcome {
        let domains = got(&snap.domains)?;
        // OpenID realms leave the second factor to the identity provider.
        Ok(domains
            .iter()
            .filter(|d| matches!(str_of(d, "type"), Some("ldap" | "ad")))
            .filter(|d| str_of(d, "tfa").is_none_or(str::is_empty))
            .filter_map(|d| Some((str_of(d, "realm")?, str_of(d, "type")?)))
            .map(|(realm, kind)| Finding {
                evidence: format!("realm {realm} (type {kind}) has no tfa provider"),
                recommendation: "Enforce a second factor on the realm, or make sure each of \
                                 its users has one."
                    .into(),
                fix: Some(format!("pveum realm modify {realm} --tfa type=oath")),
                tool_call: api(
                    "PUT",
                    &format!("/access/domains/{realm}"),
                    json!({"tfa": "type=oath"}),
                ),
                confidence: Confidence::Medium,
                ..finding(
                    "S07",
                    Severity::Info,
                    format!("realm/{realm}"),
                    format!("Realm {realm} enforces no second factor"),
                )
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::super::fixtures::{Case, DAY, NOW, Want, check, denied};
    use super::*;

    fn user<'a>(snap: &'a mut ClusterSnapshot, id: &str) -> &'a mut Value {
        snap.users
            .as_mut()
            .unwrap()
            .iter_mut()
            .find(|u| u["userid"] == id)
            .unwrap()
    }

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
        // S04a
        (
            &S04a,
            "disabled with token",
            |s| user(s, "old@pve")["tokens"] = json!([{"tokenid": "x", "privsep": 1}]),
            Want::Find(&[("user/old@pve", Severity::Warning)]),
        ),
        (
            &S04a,
            "disabled admin through group",
            |s| user(s, "old@pve")["groups"] = json!("admins"),
            Want::Find(&[("user/old@pve", Severity::Warning)]),
        ),
        (
            &S04a,
            "disabled with a guest role only",
            |s| {
                s.acl
                    .as_mut()
                    .unwrap()
                    .push(json!({"path": "/vms/100", "type": "user",
                "ugid": "old@pve", "roleid": "PVEVMUser"}))
            },
            Want::Pass,
        ),
        (
            &S04a,
            "users unreadable",
            |s| s.users = denied("/access/users"),
            Want::Skip("403"),
        ),
        // S04b
        (
            &S04b,
            "expired but enabled",
            |s| user(s, "bob@pve")["expire"] = json!(NOW - 3 * DAY),
            Want::Find(&[("user/bob@pve", Severity::Warning)]),
        ),
        (
            &S04b,
            "expired and disabled",
            |s| user(s, "old@pve")["expire"] = json!(NOW - 3 * DAY),
            Want::Pass,
        ),
        (
            &S04b,
            "users unreadable",
            |s| s.users = denied("/access/users"),
            Want::Skip("403"),
        ),
        // S05a
        (
            &S05a,
            "token without expiry",
            |s| user(s, "root@pam")["tokens"][0]["expire"] = json!(0),
            Want::Find(&[("token/root@pam!mcp", Severity::Info)]),
        ),
        (
            &S05a,
            "token inherits no expiry from its user",
            |s| user(s, "bob@pve")["expire"] = json!(0),
            Want::Find(&[("token/bob@pve!ci", Severity::Info)]),
        ),
        (
            &S05a,
            "users unreadable",
            |s| s.users = denied("/access/users"),
            Want::Skip("403"),
        ),
        // S05b
        (
            &S05b,
            "token for two years",
            |s| user(s, "root@pam")["tokens"][0]["expire"] = json!(NOW + 730 * DAY),
            Want::Find(&[("token/root@pam!mcp", Severity::Notice)]),
        ),
        (
            &S05b,
            "token for 360 days",
            |s| user(s, "root@pam")["tokens"][0]["expire"] = json!(NOW + 360 * DAY),
            Want::Pass,
        ),
        (
            &S05b,
            "users unreadable",
            |s| s.users = denied("/access/users"),
            Want::Skip("403"),
        ),
        // S05c
        (
            &S05c,
            "token without comment",
            |s| {
                user(s, "bob@pve")["tokens"][0]
                    .as_object_mut()
                    .unwrap()
                    .remove("comment");
            },
            Want::Find(&[("token/bob@pve!ci", Severity::Info)]),
        ),
        (
            &S05c,
            "users unreadable",
            |s| s.users = denied("/access/users"),
            Want::Skip("403"),
        ),
        // S06
        (
            &S06,
            "root token without privsep",
            |s| user(s, "root@pam")["tokens"][0]["privsep"] = json!(0),
            Want::Find(&[("token/root@pam!mcp", Severity::Warning)]),
        ),
        (
            &S06,
            "other user's token without privsep",
            |s| user(s, "bob@pve")["tokens"][0]["privsep"] = json!("0"),
            Want::Pass,
        ),
        (
            &S06,
            "privsep unset defaults to on",
            |s| {
                user(s, "root@pam")["tokens"][0]
                    .as_object_mut()
                    .unwrap()
                    .remove("privsep");
            },
            Want::Pass,
        ),
        (
            &S06,
            "users unreadable",
            |s| s.users = denied("/access/users"),
            Want::Skip("403"),
        ),
        // S07
        (
            &S07,
            "ad realm without tfa",
            |s| {
                s.domains
                    .as_mut()
                    .unwrap()
                    .push(json!({"realm": "ad", "type": "ad"}))
            },
            Want::Find(&[("realm/ad", Severity::Info)]),
        ),
        (
            &S07,
            "domains unreadable",
            |s| s.domains = denied("/access/domains"),
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
