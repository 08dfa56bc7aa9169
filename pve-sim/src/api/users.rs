//! `/access/users` and API tokens: list, create, read, update, delete; token secrets shown once.

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};

use super::Ctx;
use super::envelope::{ApiResult, PveError, Reply};
use crate::state::access::{Identity, Token, User};

fn realm_type(userid: &str) -> &str {
    userid.rsplit('@').next().unwrap_or("pve")
}

fn may_see_user(ctx: &Ctx, userid: &str) -> bool {
    userid == ctx.who.userid()
        || ctx
            .perms
            .has_any("/access/groups", &["User.Modify", "Sys.Audit"])
        || ctx.perms.has_any(
            &format!("/access/realm/{}", realm_type(userid)),
            &["User.Modify", "Realm.AllocateUser"],
        )
}

fn user_json(id: &str, u: &User, full: bool) -> Value {
    let mut v = json!({"userid": id, "enable": u8::from(u.enable), "expire": u.expire, "realm-type": realm_type(id)});
    for (k, val) in [
        ("firstname", &u.firstname),
        ("lastname", &u.lastname),
        ("email", &u.email),
        ("comment", &u.comment),
    ] {
        if let Some(s) = val {
            v[k] = json!(s);
        }
    }
    if !u.groups.is_empty() {
        v["groups"] = json!(u.groups.iter().cloned().collect::<Vec<_>>().join(","));
    }
    if full {
        v["tokens"] = json!(
            u.tokens
                .iter()
                .map(|(t, tok)| token_json(t, tok))
                .collect::<Vec<_>>()
        );
    }
    v
}

fn token_json(id: &str, t: &Token) -> Value {
    let mut v = json!({"tokenid": id, "expire": t.expire, "privsep": u8::from(t.privsep)});
    if let Some(c) = &t.comment {
        v["comment"] = json!(c);
    }
    v
}

pub(super) fn users(ctx: &Ctx) -> ApiResult {
    let full = ctx.params.flag("full")?;
    let enabled = ctx.params.bool("enabled")?;
    let c = ctx.read();
    let out: Vec<Value> = c
        .access
        .users
        .iter()
        .filter(|(id, _)| may_see_user(ctx, id))
        .filter(|(_, u)| enabled.is_none_or(|e| e == u.enable))
        .map(|(id, u)| user_json(id, u, full))
        .collect();
    Ok(Reply::json(json!(out)))
}

fn check_userid(userid: &str) -> Result<(), PveError> {
    let ok = userid
        .split_once('@')
        .is_some_and(|(n, r)| !n.is_empty() && !r.is_empty() && !userid.contains([' ', ':', '/']));
    if ok {
        Ok(())
    } else {
        Err(PveError::param(
            "userid",
            format!("value '{userid}' does not look like a valid user name"),
        ))
    }
}

pub(super) fn create_user(ctx: &Ctx) -> ApiResult {
    let p = &ctx.params;
    let userid = p.req("userid")?;
    check_userid(&userid)?;
    ctx.require(
        &format!("/access/realm/{}", realm_type(&userid)),
        &["Realm.AllocateUser"],
    )
    .or_else(|_| ctx.require("/access/groups", &["User.Modify"]))?;
    let mut c = ctx.write();
    if !c.access.domains.contains_key(realm_type(&userid)) {
        return Err(PveError::internal(format!(
            "create user failed: domain '{}' does not exist",
            realm_type(&userid)
        )));
    }
    if c.access.users.contains_key(&userid) {
        return Err(PveError::internal(format!(
            "create user failed: user '{userid}' already exists"
        )));
    }
    let groups: std::collections::BTreeSet<String> = p.split_list("groups").into_iter().collect();
    if let Some(g) = groups.iter().find(|g| !c.access.groups.contains_key(*g)) {
        return Err(PveError::internal(format!(
            "create user failed: no such group '{g}'"
        )));
    }
    c.access.users.insert(
        userid,
        User {
            enable: p.bool("enable")?.unwrap_or(true),
            expire: p.uint("expire", 0)?,
            firstname: p.str("firstname"),
            lastname: p.str("lastname"),
            email: p.str("email"),
            comment: p.str("comment"),
            groups,
            password: p.str("password"),
            tokens: BTreeMap::new(),
        },
    );
    Ok(Reply::null())
}

pub(super) fn get_user(ctx: &Ctx, userid: &str) -> ApiResult {
    if !may_see_user(ctx, userid) {
        return Err(PveError::forbidden("/access/groups", "User.Modify"));
    }
    let c = ctx.read();
    let u = c
        .access
        .users
        .get(userid)
        .ok_or_else(|| no_such_user(userid))?;
    let mut v = user_json(userid, u, false);
    if let Some(o) = v.as_object_mut() {
        o.remove("userid");
        o.remove("realm-type");
        o.insert("groups".into(), json!(u.groups.iter().collect::<Vec<_>>()));
        let toks: Map<String, Value> = u
            .tokens
            .iter()
            .map(|(t, tok)| {
                let mut j = token_json(t, tok);
                if let Some(o) = j.as_object_mut() {
                    o.remove("tokenid");
                }
                (t.clone(), j)
            })
            .collect();
        o.insert("tokens".into(), Value::Object(toks));
    }
    Ok(Reply::json(v))
}

pub(super) fn update_user(ctx: &Ctx, userid: &str) -> ApiResult {
    ctx.require("/access/groups", &["User.Modify"])?;
    let p = &ctx.params;
    let append = p.flag("append")?;
    let mut c = ctx.write();
    let known_groups: Vec<String> = c.access.groups.keys().cloned().collect();
    let u = c
        .access
        .users
        .get_mut(userid)
        .ok_or_else(|| no_such_user(userid))?;
    for k in p.split_list("delete") {
        match k.as_str() {
            "firstname" => u.firstname = None,
            "lastname" => u.lastname = None,
            "email" => u.email = None,
            "comment" => u.comment = None,
            "groups" => u.groups.clear(),
            _ => {}
        }
    }
    if let Some(v) = p.bool("enable")? {
        u.enable = v;
    }
    if let Some(v) = p.int("expire")? {
        u.expire = v.max(0) as u64;
    }
    for (k, slot) in [
        ("firstname", &mut u.firstname),
        ("lastname", &mut u.lastname),
        ("email", &mut u.email),
        ("comment", &mut u.comment),
    ] {
        if let Some(v) = p.str(k) {
            *slot = Some(v);
        }
    }
    if p.has("groups") {
        let groups = p.split_list("groups");
        if let Some(g) = groups.iter().find(|g| !known_groups.contains(g)) {
            return Err(PveError::internal(format!("no such group '{g}'")));
        }
        if !append {
            u.groups.clear();
        }
        u.groups.extend(groups);
    }
    Ok(Reply::null())
}

pub(super) fn delete_user(ctx: &Ctx, userid: &str) -> ApiResult {
    ctx.require("/access/groups", &["User.Modify"])?;
    if userid == "root@pam" {
        return Err(PveError::internal(
            "delete user failed: cannot delete 'root@pam'",
        ));
    }
    let mut c = ctx.write();
    if c.access.users.remove(userid).is_none() {
        return Err(PveError::internal(format!(
            "delete user failed: no such user ('{userid}')"
        )));
    }
    c.access
        .acl
        .retain(|e| e.ugid != userid && !e.ugid.starts_with(&format!("{userid}!")));
    Ok(Reply::null())
}

fn may_manage_tokens(ctx: &Ctx, userid: &str) -> Result<(), PveError> {
    if userid == ctx.who.userid() && !matches!(ctx.who, Identity::Token { .. }) {
        return Ok(());
    }
    if userid == ctx.who.userid() {
        return Ok(());
    }
    ctx.require("/access/groups", &["User.Modify"])
}

pub(super) fn tokens(ctx: &Ctx, userid: &str) -> ApiResult {
    may_manage_tokens(ctx, userid)?;
    let c = ctx.read();
    let u = c
        .access
        .users
        .get(userid)
        .ok_or_else(|| no_such_user(userid))?;
    Ok(Reply::json(json!(
        u.tokens
            .iter()
            .map(|(t, tok)| token_json(t, tok))
            .collect::<Vec<_>>()
    )))
}

pub(super) fn token(ctx: &Ctx, method: &str, userid: &str, tokenid: &str) -> ApiResult {
    may_manage_tokens(ctx, userid)?;
    let p = &ctx.params;
    let mut c = ctx.write();
    let u = c
        .access
        .users
        .get_mut(userid)
        .ok_or_else(|| no_such_user(userid))?;
    match method {
        "GET" => {
            let t = u.tokens.get(tokenid).ok_or_else(|| {
                PveError::internal(format!("no such token '{tokenid}' for user '{userid}'"))
            })?;
            let mut v = token_json(tokenid, t);
            if let Some(o) = v.as_object_mut() {
                o.remove("tokenid");
            }
            Ok(Reply::json(v))
        }
        "POST" => {
            let ok = tokenid
                .chars()
                .next()
                .is_some_and(|c| c.is_ascii_alphabetic())
                && tokenid
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
            if !ok {
                return Err(PveError::param("tokenid", "invalid format"));
            }
            if u.tokens.contains_key(tokenid) {
                return Err(PveError::internal("Token already exists."));
            }
            let t = Token {
                secret: crate::util::random_uuid(),
                privsep: p.bool("privsep")?.unwrap_or(true),
                expire: p.uint("expire", u.expire)?,
                comment: p.str("comment"),
            };
            let mut info = json!({"privsep": u8::from(t.privsep), "expire": t.expire});
            if let Some(cm) = &t.comment {
                info["comment"] = json!(cm);
            }
            let value = t.secret.clone();
            u.tokens.insert(tokenid.to_string(), t);
            Ok(Reply::json(
                json!({"full-tokenid": format!("{userid}!{tokenid}"), "info": info, "value": value}),
            ))
        }
        "PUT" => {
            let t = u.tokens.get_mut(tokenid).ok_or_else(|| {
                PveError::internal(format!("no such token '{tokenid}' for user '{userid}'"))
            })?;
            if let Some(v) = p.bool("privsep")? {
                t.privsep = v;
            }
            if let Some(v) = p.int("expire")? {
                t.expire = v.max(0) as u64;
            }
            if p.split_list("delete").iter().any(|k| k == "comment") {
                t.comment = None;
            }
            if let Some(v) = p.str("comment") {
                t.comment = Some(v);
            }
            let mut v = token_json(tokenid, t);
            if let Some(o) = v.as_object_mut() {
                o.remove("tokenid");
            }
            Ok(Reply::json(v))
        }
        "DELETE" => {
            if u.tokens.remove(tokenid).is_none() {
                return Err(PveError::internal(format!(
                    "no such token '{tokenid}' for user '{userid}'"
                )));
            }
            let full = format!("{userid}!{tokenid}");
            c.access.acl.retain(|e| e.ugid != full);
            Ok(Reply::null())
        }
        _ => Err(ctx.not_impl()),
    }
}

/// PVE's answer for an unknown user id.
fn no_such_user(userid: &str) -> PveError {
    PveError::internal(format!("no such user ('{userid}')"))
}
