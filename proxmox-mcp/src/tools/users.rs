//! `user_management`: PVE users, groups, roles, ACLs, API tokens and effective permissions.
//!
//! Every action is one PVE request (`request`); mutations are assessed as that request, so
//! root protection (root@pam, our own user and token, grants to ourselves) is enforced by the
//! policy exactly as for `proxmox_api`. Passwords go into the create request only and never
//! into the summary, the output or the audit log; a new token's secret goes to a 0600 file for
//! the human ([`crate::state::handover`]), never to the model or the audit log.

pub mod ids;

use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Value, json};

use super::action::{ActionResult, api_assessment};
use super::{AssessCtx, Assessment, Hints, ToolCtx, ToolDef, ToolError};
use crate::policy::Class;
use crate::policy::engine::Request;
use crate::pve::params::encode_segment;
use crate::pve::{Method, Params};

pub fn tools() -> Vec<ToolDef> {
    vec![
        ToolDef::new(
            "user_management",
            "Users, groups, ACLs, tokens",
            "PVE users, groups, roles, ACLs, API tokens (the secret goes to a file for the human), effective \
             permissions. root@pam and our own account are protected.",
            Class::Destructive,
            Hints {
                read_only: false,
                destructive: true,
                idempotent: false,
                open_world: false,
            },
            &[
                "GET /access/users",
                "POST /access/users",
                "GET /access/users/{userid}",
                "PUT /access/users/{userid}",
                "DELETE /access/users/{userid}",
                "GET /access/groups",
                "POST /access/groups",
                "DELETE /access/groups/{groupid}",
                "GET /access/roles",
                "GET /access/acl",
                "PUT /access/acl",
                "GET /access/users/{userid}/token",
                "POST /access/users/{userid}/token/{tokenid}",
                "DELETE /access/users/{userid}/token/{tokenid}",
                "GET /access/permissions",
            ],
            user_management,
        )
        .assessed_async_by(assess)
        .read_actions(&[
            "users",
            "user_get",
            "groups",
            "roles",
            "acl",
            "tokens",
            "permissions",
        ]),
    ]
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    Users,
    UserGet,
    UserCreate,
    UserUpdate,
    UserDelete,
    Groups,
    GroupCreate,
    GroupDelete,
    Roles,
    Acl,
    AclGrant,
    AclRevoke,
    Tokens,
    TokenCreate,
    TokenDelete,
    Permissions,
}

impl Action {
    fn name(self) -> &'static str {
        match self {
            Action::Users => "users",
            Action::UserGet => "user_get",
            Action::UserCreate => "user_create",
            Action::UserUpdate => "user_update",
            Action::UserDelete => "user_delete",
            Action::Groups => "groups",
            Action::GroupCreate => "group_create",
            Action::GroupDelete => "group_delete",
            Action::Roles => "roles",
            Action::Acl => "acl",
            Action::AclGrant => "acl_grant",
            Action::AclRevoke => "acl_revoke",
            Action::Tokens => "tokens",
            Action::TokenCreate => "token_create",
            Action::TokenDelete => "token_delete",
            Action::Permissions => "permissions",
        }
    }
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct UserParams {
    pub action: Action,
    /// name@realm (acl_*, permissions: or name@realm!token)
    pub userid: Option<String>,
    /// Token name (token_*; acl_* with userid)
    pub tokenid: Option<String>,
    /// Group id (group_*, acl_* subject)
    pub group: Option<String>,
    /// Comma list (user_create/update)
    pub groups: Option<String>,
    /// user_create, pve realm
    pub password: Option<String>,
    pub email: Option<String>,
    pub firstname: Option<String>,
    pub lastname: Option<String>,
    pub comment: Option<String>,
    #[serde(default, deserialize_with = "crate::pve::perl::de_opt_bool")]
    pub enable: Option<bool>,
    /// Epoch, 0=never (user_*, token_create)
    pub expire: Option<u64>,
    /// ACL path e.g. /vms/100 (acl*, permissions)
    pub path: Option<String>,
    /// Role (acl_grant/revoke)
    pub role: Option<String>,
    #[serde(default, deserialize_with = "crate::pve::perl::de_opt_bool")]
    pub propagate: Option<bool>,
    /// token_create: own ACLs (default 1)
    #[serde(default, deserialize_with = "crate::pve::perl::de_opt_bool")]
    pub privsep: Option<bool>,
}

/// The one PVE request an action makes.
struct Call {
    method: Method,
    path: String,
    params: Params,
    /// What a human approves (never a password).
    summary: String,
    /// What it acts on, for the result.
    target: String,
}

fn need<'a>(v: &'a Option<String>, name: &str, action: Action) -> Result<&'a str, ToolError> {
    v.as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .ok_or_else(|| ToolError::invalid(format!("{} needs `{name}`", action.name())))
}

/// Refuses parameters the action does not use, so a mistaken call never half-applies.
fn only(p: &UserParams, allowed: &[&str]) -> Result<(), ToolError> {
    let given = [
        ("userid", p.userid.is_some()),
        ("tokenid", p.tokenid.is_some()),
        ("group", p.group.is_some()),
        ("groups", p.groups.is_some()),
        ("password", p.password.is_some()),
        ("email", p.email.is_some()),
        ("firstname", p.firstname.is_some()),
        ("lastname", p.lastname.is_some()),
        ("comment", p.comment.is_some()),
        ("enable", p.enable.is_some()),
        ("expire", p.expire.is_some()),
        ("path", p.path.is_some()),
        ("role", p.role.is_some()),
        ("propagate", p.propagate.is_some()),
        ("privsep", p.privsep.is_some()),
    ];
    let extra = super::action::unused_args(&given, allowed);
    if extra.is_empty() {
        Ok(())
    } else if extra.contains(&"password") {
        Err(ToolError::invalid(format!(
            "{} does not take a password: PVE sets passwords only at user_create (an API \
             token cannot change one; use the web UI or `pveum passwd`)",
            p.action.name()
        )))
    } else {
        Err(ToolError::invalid(format!(
            "{} does not use {}",
            p.action.name(),
            extra.join(", ")
        )))
    }
}

/// The user-attribute parameters of user_create / user_update, validated.
fn user_fields(p: &UserParams, params: &mut Params) -> Result<(), ToolError> {
    for (k, v) in [
        ("email", &p.email),
        ("firstname", &p.firstname),
        ("lastname", &p.lastname),
        ("comment", &p.comment),
    ] {
        if let Some(v) = v {
            params.insert(k.into(), json!(ids::text(k, v)?));
        }
    }
    if let Some(g) = &p.groups {
        let list: Vec<&str> = g
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .collect();
        for id in &list {
            ids::simple_id("group", id)?;
        }
        params.insert("groups".into(), json!(list.join(",")));
    }
    if let Some(e) = p.enable {
        params.insert("enable".into(), json!(e));
    }
    if let Some(e) = p.expire {
        params.insert("expire".into(), json!(e));
    }
    Ok(())
}

/// The ACL subject: a user, a token (`user!tok` or userid + tokenid) or a group, as the
/// `PUT /access/acl` parameter naming it.
fn acl_subject(p: &UserParams) -> Result<(&'static str, String), ToolError> {
    match (&p.userid, &p.group) {
        (Some(_), Some(_)) => Err(ToolError::invalid(
            "give either userid (with tokenid for a token) or group, not both",
        )),
        (None, Some(g)) if p.tokenid.is_none() => {
            Ok(("groups", ids::simple_id("group", g.trim())?.to_string()))
        }
        (Some(u), None) => {
            let (user, tok) = ids::user_or_token(u.trim())?;
            match (tok, &p.tokenid) {
                (Some(_), Some(_)) => Err(ToolError::invalid(
                    "the token is named twice: use userid user@realm!token or tokenid",
                )),
                (Some(t), None) => Ok(("tokens", format!("{user}!{t}"))),
                (None, Some(t)) => Ok(("tokens", format!("{user}!{}", ids::tokenid(t.trim())?))),
                (None, None) => Ok(("users", user.to_string())),
            }
        }
        _ => Err(ToolError::invalid(format!(
            "{} needs a subject: userid (a user, or with tokenid a token) or group",
            p.action.name()
        ))),
    }
}

/// The request an action makes, from validated parameters.
fn request(p: &UserParams) -> Result<Call, ToolError> {
    let a = p.action;
    let get = |path: &str, target: &str| Call {
        method: Method::Get,
        path: path.to_string(),
        params: Params::new(),
        summary: format!("{} {target}", a.name()),
        target: target.to_string(),
    };
    let user = || -> Result<&str, ToolError> { ids::userid(need(&p.userid, "userid", a)?) };
    let user_path = |u: &str| format!("/access/users/{}", encode_segment(u));
    Ok(match a {
        Action::Users => {
            only(p, &[])?;
            get("/access/users", "users")
        }
        Action::Groups => {
            only(p, &[])?;
            get("/access/groups", "groups")
        }
        Action::Roles => {
            only(p, &[])?;
            get("/access/roles", "roles")
        }
        Action::Acl => {
            only(p, &["path", "userid", "group"])?;
            if let Some(path) = &p.path {
                ids::acl_path(path.trim())?;
            }
            if let Some(u) = &p.userid {
                ids::user_or_token(u.trim())?;
            }
            if let Some(g) = &p.group {
                ids::simple_id("group", g.trim())?;
            }
            get("/access/acl", "acl")
        }
        Action::UserGet => {
            only(p, &["userid"])?;
            let u = user()?;
            get(&user_path(u), u)
        }
        Action::Tokens => {
            only(p, &["userid"])?;
            let u = user()?;
            get(&format!("{}/token", user_path(u)), u)
        }
        Action::Permissions => {
            only(p, &["userid", "tokenid", "path"])?;
            let mut params = Params::new();
            let mut who = "us".to_string();
            if let Some(u) = &p.userid {
                let (user, tok) = ids::user_or_token(u.trim())?;
                who = match (tok, &p.tokenid) {
                    (Some(t), None) => format!("{user}!{t}"),
                    (None, Some(t)) => format!("{user}!{}", ids::tokenid(t.trim())?),
                    (None, None) => user.to_string(),
                    (Some(_), Some(_)) => {
                        return Err(ToolError::invalid(
                            "the token is named twice: use userid user@realm!token or tokenid",
                        ));
                    }
                };
                params.insert("userid".into(), json!(who));
            } else if p.tokenid.is_some() {
                return Err(ToolError::invalid("tokenid needs the userid it belongs to"));
            }
            if let Some(path) = &p.path {
                params.insert("path".into(), json!(ids::acl_path(path.trim())?));
            }
            Call {
                method: Method::Get,
                path: "/access/permissions".into(),
                params,
                summary: format!("permissions of {who}"),
                target: who,
            }
        }
        Action::UserCreate => {
            only(
                p,
                &[
                    "userid",
                    "password",
                    "email",
                    "firstname",
                    "lastname",
                    "comment",
                    "groups",
                    "enable",
                    "expire",
                ],
            )?;
            let u = user()?;
            let mut params = Params::new();
            params.insert("userid".into(), json!(u));
            user_fields(p, &mut params)?;
            if let Some(pw) = &p.password {
                if pw.chars().count() < 8 || pw.len() > 256 || pw.chars().any(char::is_control) {
                    return Err(ToolError::invalid(
                        "password must be 8 to 256 characters, without control characters",
                    ));
                }
                params.insert("password".into(), json!(pw));
            }
            let pw = if p.password.is_some() {
                " with a password"
            } else {
                ""
            };
            Call {
                method: Method::Post,
                path: "/access/users".into(),
                params,
                summary: format!("create user {u}{pw}"),
                target: u.into(),
            }
        }
        Action::UserUpdate => {
            only(
                p,
                &[
                    "userid",
                    "email",
                    "firstname",
                    "lastname",
                    "comment",
                    "groups",
                    "enable",
                    "expire",
                ],
            )?;
            let u = user()?;
            let mut params = Params::new();
            user_fields(p, &mut params)?;
            if params.is_empty() {
                return Err(ToolError::invalid(
                    "user_update needs something to change: email, firstname, lastname, \
                     comment, groups, enable or expire",
                ));
            }
            let summary = format!("update user {u}: {}", Value::Object(params.clone()));
            Call {
                method: Method::Put,
                path: user_path(u),
                params,
                summary,
                target: u.into(),
            }
        }
        Action::UserDelete => {
            only(p, &["userid"])?;
            let u = user()?;
            Call {
                method: Method::Delete,
                path: user_path(u),
                params: Params::new(),
                summary: format!("DELETE user {u} (its tokens and ACL entries go with it)"),
                target: u.into(),
            }
        }
        Action::GroupCreate | Action::GroupDelete => {
            let create = a == Action::GroupCreate;
            only(
                p,
                if create {
                    &["group", "comment"]
                } else {
                    &["group"]
                },
            )?;
            let g = ids::simple_id("group", need(&p.group, "group", a)?)?;
            let mut params = Params::new();
            if create {
                params.insert("groupid".into(), json!(g));
                if let Some(c) = &p.comment {
                    params.insert("comment".into(), json!(ids::text("comment", c)?));
                }
            }
            Call {
                method: if create { Method::Post } else { Method::Delete },
                path: if create {
                    "/access/groups".into()
                } else {
                    format!("/access/groups/{}", encode_segment(g))
                },
                params,
                summary: format!("{} group {g}", if create { "create" } else { "DELETE" }),
                target: g.into(),
            }
        }
        Action::AclGrant | Action::AclRevoke => {
            let grant = a == Action::AclGrant;
            only(
                p,
                if grant {
                    &["userid", "tokenid", "group", "path", "role", "propagate"]
                } else {
                    &["userid", "tokenid", "group", "path", "role"]
                },
            )?;
            let path = ids::acl_path(need(&p.path, "path", a)?)?;
            let role = ids::simple_id("role", need(&p.role, "role", a)?)?;
            let (key, subject) = acl_subject(p)?;
            let mut params = Params::new();
            params.insert("path".into(), json!(path));
            params.insert("roles".into(), json!(role));
            params.insert(key.into(), json!(subject));
            if grant {
                if let Some(pr) = p.propagate {
                    params.insert("propagate".into(), json!(pr));
                }
            } else {
                params.insert("delete".into(), json!(true));
            }
            let summary = if grant {
                format!("grant role {role} on {path} to {subject}")
            } else {
                format!("revoke role {role} on {path} from {subject}")
            };
            Call {
                method: Method::Put,
                path: "/access/acl".into(),
                params,
                summary,
                target: format!("{subject} on {path}"),
            }
        }
        Action::TokenCreate | Action::TokenDelete => {
            let create = a == Action::TokenCreate;
            only(
                p,
                if create {
                    &["userid", "tokenid", "comment", "expire", "privsep"]
                } else {
                    &["userid", "tokenid"]
                },
            )?;
            let u = user()?;
            let t = ids::tokenid(need(&p.tokenid, "tokenid", a)?)?;
            let mut params = Params::new();
            if let Some(c) = &p.comment {
                params.insert("comment".into(), json!(ids::text("comment", c)?));
            }
            if let Some(e) = p.expire {
                params.insert("expire".into(), json!(e));
            }
            if let Some(s) = p.privsep {
                params.insert("privsep".into(), json!(s));
            }
            let sep = if p.privsep == Some(false) {
                " WITHOUT privilege separation (it gets all of the user's rights)"
            } else {
                ""
            };
            Call {
                method: if create { Method::Post } else { Method::Delete },
                path: format!("{}/token/{}", user_path(u), encode_segment(t)),
                params,
                summary: if create {
                    format!("create API token {u}!{t}{sep}")
                } else {
                    format!("DELETE API token {u}!{t}")
                },
                target: format!("{u}!{t}"),
            }
        }
    })
}

async fn assess(ctx: AssessCtx, p: UserParams) -> Result<Assessment, ToolError> {
    let c = request(&p)?;
    if c.method == Method::Get {
        return Ok(Assessment::new(Request::new(Class::Read), c.summary).target(c.target));
    }
    api_assessment(&ctx, c.method.as_str(), &c.path, &c.params, c.summary).await
}

/// Keeps the ACL entries matching the optional path / subject filters.
fn filter_acl(data: Value, p: &UserParams) -> Value {
    let Value::Array(rows) = data else {
        return data;
    };
    let path = p.path.as_deref().map(|s| s.trim().trim_end_matches('/'));
    let ugid = p.userid.as_deref().or(p.group.as_deref()).map(str::trim);
    let keep = |r: &Value| {
        let s = |k: &str| r.get(k).and_then(Value::as_str).unwrap_or_default();
        path.is_none_or(|want| {
            let got = s("path");
            got == want || (want.is_empty() && got == "/")
        }) && ugid.is_none_or(|want| s("ugid") == want)
    };
    Value::Array(rows.into_iter().filter(keep).collect())
}

/// Takes a new token's secret out of PVE's answer (`value`) into an operator-only file:
/// returns the token id and the file. Both `user_management` and `proxmox_api` create tokens
/// through this, so the secret never reaches the model either way.
pub(crate) fn hand_over_token(
    ctx: &ToolCtx,
    data: &Value,
    fallback: &str,
) -> Result<(String, std::path::PathBuf), ToolError> {
    let secret = data
        .get("value")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    let full = data
        .get("full-tokenid")
        .and_then(Value::as_str)
        .unwrap_or(fallback)
        .to_string();
    let file = crate::state::handover::hand_over(ctx.engine.safety().state_dir(), &full, &secret)
        .map_err(|e| {
        ToolError::Config(format!(
            "created API token {full}, but its secret could not be stored for the operator \
                 ({e}); delete the token (token_delete) and create it again"
        ))
    })?;
    Ok((full, file))
}

async fn user_management(ctx: ToolCtx, p: UserParams) -> Result<ActionResult, ToolError> {
    let c = request(&p)?;
    let name = p.action.name();
    let data = ctx.pve.call(c.method, &c.path, &c.params).await?;
    let result = match p.action {
        Action::TokenCreate => {
            let (full, file) = hand_over_token(&ctx, &data, &c.target)?;
            let message = format!(
                "created API token {full}. Its secret is not shown here: it was written to {} \
                 on the server host (mode 0600). Ask the human to copy it from there and then \
                 delete the file; it cannot be retrieved from Proxmox again",
                file.display()
            );
            let info = data.get("info").cloned().unwrap_or(Value::Null);
            ActionResult::done(
                name,
                c.target,
                json!({"full-tokenid": full, "stored_in": file.display().to_string(), "info": info}),
                message,
            )
        }
        _ if c.method == Method::Get => {
            let data = if p.action == Action::Acl {
                filter_acl(data, &p)
            } else {
                data
            };
            let message = match data.as_array() {
                Some(rows) => format!("{name}: {} entries", rows.len()),
                None => format!("{name} {}", c.target),
            };
            ActionResult::done(name, c.target, data, message)
        }
        _ => {
            let message = format!("done: {}", c.summary);
            ActionResult::done(name, c.target, data, message)
        }
    };
    Ok(result)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(v: Value) -> Result<UserParams, String> {
        serde_json::from_value(v).map_err(|e| e.to_string())
    }

    /// (arguments, Ok("METHOD path") or Err(fragment of the message))
    fn check(cases: &[(Value, Result<&str, &str>)]) {
        let mut bad = Vec::new();
        for (args, want) in cases {
            let got = params(args.clone()).and_then(|p| {
                request(&p)
                    .map(|c| format!("{} {}", c.method.as_str(), c.path))
                    .map_err(|e| e.to_string())
            });
            let ok = match (&got, want) {
                (Ok(g), Ok(w)) => g == w,
                (Err(g), Err(w)) => g.contains(w),
                _ => false,
            };
            if !ok {
                bad.push(format!("{args}: got {got:?}, want {want:?}"));
            }
        }
        assert!(bad.is_empty(), "{}", bad.join("\n"));
    }

    #[test]
    fn actions_map_to_requests() {
        check(&[
            (json!({"action": "users"}), Ok("GET /access/users")),
            (
                json!({"action": "user_get", "userid": "alice@pve"}),
                Ok("GET /access/users/alice@pve"),
            ),
            (
                json!({"action": "user_update", "userid": "root@pam", "enable": 0}),
                Ok("PUT /access/users/root@pam"),
            ),
            (
                json!({"action": "token_delete", "userid": "mcp@pve", "tokenid": "admin"}),
                Ok("DELETE /access/users/mcp@pve/token/admin"),
            ),
            (
                json!({"action": "acl_revoke", "userid": "a@pve!tk", "path": "/", "role": "X"}),
                Ok("PUT /access/acl"),
            ),
            (
                json!({"action": "user_get", "userid": "bob"}),
                Err("name@realm"),
            ),
            (
                json!({"action": "user_get", "userid": "bob@pve; rm -rf /"}),
                Err("not a PVE user id"),
            ),
            (json!({"action": "user_get"}), Err("needs `userid`")),
            (json!({"action": "nope"}), Err("unknown variant")),
            (
                json!({"action": "user_update", "userid": "a@pve", "password": "x"}),
                Err("only at user_create"),
            ),
            (
                json!({"action": "user_update", "userid": "a@pve"}),
                Err("something"),
            ),
            (
                json!({"action": "acl_grant", "path": "/", "role": "PVEAuditor"}),
                Err("needs a subject"),
            ),
            (
                json!({"action": "users", "path": "/"}),
                Err("does not use path"),
            ),
        ]);
    }

    #[test]
    fn password_never_in_summary() {
        let p = params(json!({"action": "user_create", "userid": "bob@pve",
            "password": "correct horse battery"}))
        .unwrap();
        let c = request(&p).unwrap();
        assert!(!c.summary.contains("horse"), "{}", c.summary);
        assert!(c.params.contains_key("password"));
    }
}
