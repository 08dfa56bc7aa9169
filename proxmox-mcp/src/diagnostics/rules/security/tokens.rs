//! Pure: identity rules S04–S07 (stale users, API tokens, realms).

use super::access::{admins, enabled, tokens};
use serde_json::{Value, json};

use super::{api, finding};
use crate::diagnostics::rules::util::{flag, num, str_of};
use crate::diagnostics::rules::{Confidence, Ctx, Finding, Outcome, Rule, Severity, got};
use crate::diagnostics::snapshot::cluster::ClusterSnapshot;

/// S04a: a disabled user that still owns API tokens or an admin role.
pub struct S04a;
impl Rule for S04a {
    meta!(
        "S04a",
        "Disabled user still holding tokens or an admin role"
    );
    fn check(&self, snap: &ClusterSnapshot, _ctx: &Ctx) -> Outcome {
        let users = got(&snap.users)?;
        let acl = got(&snap.acl)?;
        let roles = got(&snap.roles)?;
        // Memberships also come with each user (`groups`): the group list only adds to them.
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
    meta!("S04b", "Expired user still enabled");
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
    meta!("S05a", "API token without expiry");
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
    meta!("S05b", "API token not rotated within a year");
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
    meta!("S05c", "API token without a comment");
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
    meta!("S06", "root@pam token without privilege separation");
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
    meta!("S07", "External realm without two-factor authentication");
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

    use super::super::fixtures::*;
    use super::*;

    const CASES: &[Case] = &[
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
    fn identity_rules() {
        check(CASES);
    }
}
