//! `/access`: tickets, groups, roles, ACLs, permissions and realms (users and tokens in `users.rs`).

use serde_json::{Map, Value, json};

use super::envelope::{ApiResult, PveError, Reply};
use super::router::index;
use super::{Ctx, users};
use crate::state::access::{ALL_PRIVS, AclEntry, Identity, Perms, Role, UgKind};

pub fn route(ctx: &Ctx, rest: &[&str]) -> ApiResult {
    match (ctx.method, rest) {
        ("GET", []) => Ok(index(&[
            "users",
            "groups",
            "roles",
            "acl",
            "domains",
            "ticket",
            "password",
            "permissions",
            "tfa",
        ])),
        ("GET", ["ticket"]) => Ok(Reply::null()),
        ("POST", ["ticket"]) => ticket(ctx),
        ("PUT", ["password"]) => password(ctx),
        ("GET", ["users"]) => users::users(ctx),
        ("POST", ["users"]) => users::create_user(ctx),
        ("GET", ["users", u]) => users::get_user(ctx, u),
        ("PUT", ["users", u]) => users::update_user(ctx, u),
        ("DELETE", ["users", u]) => users::delete_user(ctx, u),
        ("GET", ["users", u, "token"]) => users::tokens(ctx, u),
        (m, ["users", u, "token", t]) => users::token(ctx, m, u, t),
        ("GET", ["groups"]) => groups(ctx),
        ("POST", ["groups"]) => group_write(ctx, &ctx.params.req("groupid")?, true),
        ("GET", ["groups", g]) => get_group(ctx, g),
        ("PUT", ["groups", g]) => group_write(ctx, g, false),
        ("DELETE", ["groups", g]) => {
            ctx.require("/access/groups", &["Group.Allocate"])?;
            let mut c = ctx.write();
            if c.access.groups.remove(*g).is_none() {
                return Err(PveError::internal(format!("group '{g}' does not exist")));
            }
            for u in c.access.users.values_mut() {
                u.groups.remove(*g);
            }
            c.access
                .acl
                .retain(|e| !(e.kind == UgKind::Group && e.ugid == *g));
            Ok(Reply::null())
        }
        ("GET", ["roles"]) => roles(ctx),
        ("POST", ["roles"]) => role_write(ctx, &ctx.params.req("roleid")?, true),
        ("GET", ["roles", r]) => {
            let c = ctx.read();
            let role = c
                .access
                .roles
                .get(*r)
                .ok_or_else(|| PveError::internal(format!("role '{r}' does not exist")))?;
            let m: Map<String, Value> = role.privs.iter().map(|p| (p.clone(), json!(1))).collect();
            Ok(Reply::json(Value::Object(m)))
        }
        ("PUT", ["roles", r]) => role_write(ctx, r, false),
        ("DELETE", ["roles", r]) => {
            ctx.require("/access", &["Sys.Modify"])?;
            let mut c = ctx.write();
            match c.access.roles.get(*r) {
                None => Err(PveError::internal(format!("role '{r}' does not exist"))),
                Some(role) if role.special => Err(PveError::internal(format!(
                    "cannot delete special role '{r}'"
                ))),
                Some(_) => {
                    c.access.roles.remove(*r);
                    c.access.acl.retain(|e| e.roleid != *r);
                    Ok(Reply::null())
                }
            }
        }
        ("GET", ["acl"]) => acl(ctx),
        ("PUT", ["acl"]) => update_acl(ctx),
        ("GET", ["permissions"]) => permissions(ctx),
        ("GET", ["domains"]) => {
            let c = ctx.read();
            let out: Vec<Value> = c
                .access
                .domains
                .iter()
                .map(|(r, d)| {
                    let mut v = json!({"realm": r, "type": d.kind, "comment": d.comment});
                    if d.default {
                        v["default"] = json!(1);
                    }
                    v
                })
                .collect();
            Ok(Reply::json(json!(out)))
        }
        ("GET", ["domains", r]) => {
            ctx.require("/access/domains", &["Realm.Allocate"])?;
            let c = ctx.read();
            let d = c
                .access
                .domains
                .get(*r)
                .ok_or_else(|| PveError::internal(format!("domain '{r}' does not exist")))?;
            let mut v =
                json!({"type": d.kind, "comment": d.comment, "digest": crate::util::digest(r)});
            if let Some(t) = &d.tfa {
                v["tfa"] = json!(t);
            }
            Ok(Reply::json(v))
        }
        ("PUT", ["domains", r]) => update_domain(ctx, r),
        _ => Err(ctx.not_impl()),
    }
}

/// `PUT /access/domains/{realm}`: comment, default realm and the realm's TFA requirement (the
/// LDAP/AD/OpenID connection settings are accepted and ignored).
fn update_domain(ctx: &Ctx, realm: &str) -> ApiResult {
    ctx.require("/access/realm", &["Realm.Allocate"])?;
    let p = &ctx.params;
    let make_default = p.flag("default")?;
    let mut c = ctx.write();
    let d = c
        .access
        .domains
        .get_mut(realm)
        .ok_or_else(|| PveError::internal(format!("domain '{realm}' does not exist")))?;
    for k in p.split_list("delete") {
        match k.as_str() {
            "comment" => d.comment.clear(),
            "tfa" => d.tfa = None,
            _ => {}
        }
    }
    if let Some(cm) = p.str("comment") {
        d.comment = cm;
    }
    if let Some(t) = p.str("tfa") {
        let kind = crate::util::prop_get(&t, "type").unwrap_or_default();
        if !matches!(kind.as_str(), "oath" | "yubico") {
            return Err(PveError::param("tfa", format!("invalid type '{kind}'")));
        }
        d.tfa = Some(t);
    }
    if make_default {
        for (id, d) in c.access.domains.iter_mut() {
            d.default = id == realm;
        }
    }
    Ok(Reply::null())
}

/// The `cap` object of a ticket response.
fn caps(perms: &Perms) -> Value {
    let cat = |path: &str, prefixes: &[&str]| -> Value {
        let m: Map<String, Value> = ALL_PRIVS
            .iter()
            .filter(|p| prefixes.iter().any(|pre| p.starts_with(pre)))
            .filter(|p| perms.has(path, p))
            .map(|p| (p.to_string(), json!(1)))
            .collect();
        Value::Object(m)
    };
    json!({
        "vms": cat("/vms", &["VM."]),
        "storage": cat("/storage", &["Datastore."]),
        "access": cat("/access", &["User.", "Group.", "Permissions.", "Realm."]),
        "nodes": cat("/nodes", &["Sys."]),
        "dc": cat("/", &["Sys.Audit", "Sys.Modify", "SDN.", "Mapping."]),
        "sdn": cat("/sdn", &["SDN."]),
        "mapping": cat("/mapping", &["Mapping."]),
    })
}

fn ticket(ctx: &Ctx) -> ApiResult {
    let mut username = ctx.params.req("username")?;
    let password = ctx.params.req("password")?;
    if !username.contains('@') {
        let realm = ctx.params.str("realm").unwrap_or_else(|| "pam".into());
        username = format!("{username}@{realm}");
    }
    let keys = &ctx.app.keys;
    let renewed = password.starts_with("PVE:")
        && keys.verify_ticket(&password, ctx.now).as_deref() == Some(username.as_str());
    let c = ctx.read();
    if !renewed && !c.access.check_password(&username, &password) {
        return Err(PveError::unauthorized("authentication failure"));
    }
    let perms = c.access.perms(&Identity::User(username.clone()));
    Ok(Reply::json(json!({
        "username": username,
        "ticket": keys.ticket(&username, ctx.now),
        "CSRFPreventionToken": keys.csrf(&username, ctx.now),
        "cap": caps(&perms),
        "clustername": c.name,
    })))
}

fn password(ctx: &Ctx) -> ApiResult {
    let userid = ctx.params.req("userid")?;
    let pw = ctx.params.req("password")?;
    if userid != ctx.who.userid() {
        ctx.require("/access/groups", &["User.Modify"])?;
    }
    if pw.len() < 5 {
        return Err(PveError::param(
            "password",
            "value must be at least 5 characters long",
        ));
    }
    let mut c = ctx.write();
    let u = c
        .access
        .users
        .get_mut(&userid)
        .ok_or_else(|| PveError::internal(format!("user '{userid}' does not exist")))?;
    u.password = Some(pw);
    Ok(Reply::null())
}

fn groups(ctx: &Ctx) -> ApiResult {
    let c = ctx.read();
    let all = ctx
        .perms
        .has_any("/access/groups", &["Sys.Audit", "Group.Allocate"]);
    let out: Vec<Value> = c
        .access
        .groups
        .iter()
        .filter(|(g, _)| all || c.access.users.get(ctx.who.userid()).is_some_and(|u| u.groups.contains(*g)))
        .map(|(g, grp)| {
            let members: Vec<&String> = c
                .access
                .users
                .iter()
                .filter(|(_, u)| u.groups.contains(g))
                .map(|(id, _)| id)
                .collect();
            let mut v = json!({"groupid": g, "users": members.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(",")});
            if let Some(cm) = &grp.comment {
                v["comment"] = json!(cm);
            }
            v
        })
        .collect();
    Ok(Reply::json(json!(out)))
}

fn get_group(ctx: &Ctx, g: &str) -> ApiResult {
    ctx.require_any("/access/groups", &["Sys.Audit", "Group.Allocate"])?;
    let c = ctx.read();
    let grp = c
        .access
        .groups
        .get(g)
        .ok_or_else(|| PveError::internal(format!("group '{g}' does not exist")))?;
    let members: Vec<&String> = c
        .access
        .users
        .iter()
        .filter(|(_, u)| u.groups.contains(g))
        .map(|(id, _)| id)
        .collect();
    let mut v = json!({"members": members});
    if let Some(cm) = &grp.comment {
        v["comment"] = json!(cm);
    }
    Ok(Reply::json(v))
}

fn group_write(ctx: &Ctx, g: &str, create: bool) -> ApiResult {
    ctx.require("/access/groups", &["Group.Allocate"])?;
    let mut c = ctx.write();
    let exists = c.access.groups.contains_key(g);
    if create && exists {
        return Err(PveError::internal(format!(
            "create group failed: group '{g}' already exists"
        )));
    }
    if !create && !exists {
        return Err(PveError::internal(format!("group '{g}' does not exist")));
    }
    let grp = c.access.groups.entry(g.to_string()).or_default();
    if let Some(cm) = ctx.params.str("comment") {
        grp.comment = Some(cm);
    }
    Ok(Reply::null())
}

fn roles(ctx: &Ctx) -> ApiResult {
    let c = ctx.read();
    let out: Vec<Value> = c
        .access
        .roles
        .iter()
        .map(|(id, r)| json!({"roleid": id, "privs": r.privs.iter().cloned().collect::<Vec<_>>().join(","), "special": u8::from(r.special)}))
        .collect();
    Ok(Reply::json(json!(out)))
}

fn role_write(ctx: &Ctx, roleid: &str, create: bool) -> ApiResult {
    ctx.require("/access", &["Sys.Modify"])?;
    let privs = ctx.params.split_list("privs");
    if let Some(bad) = privs.iter().find(|p| !ALL_PRIVS.contains(&p.as_str())) {
        return Err(PveError::param(
            "privs",
            format!("invalid privilege '{bad}'"),
        ));
    }
    let append = ctx.params.flag("append")?;
    let mut c = ctx.write();
    match c.access.roles.get_mut(roleid) {
        Some(_) if create => Err(PveError::internal(format!(
            "role '{roleid}' already exists"
        ))),
        Some(r) if r.special => Err(PveError::internal(format!(
            "cannot modify special role '{roleid}'"
        ))),
        Some(r) => {
            if !append {
                r.privs.clear();
            }
            r.privs.extend(privs);
            Ok(Reply::null())
        }
        None if create => {
            c.access.roles.insert(
                roleid.to_string(),
                Role {
                    privs: privs.into_iter().collect(),
                    special: false,
                },
            );
            Ok(Reply::null())
        }
        None => Err(PveError::internal(format!(
            "role '{roleid}' does not exist"
        ))),
    }
}

fn acl_json(e: &AclEntry) -> Value {
    json!({"path": e.path, "type": e.kind, "ugid": e.ugid, "roleid": e.roleid, "propagate": u8::from(e.propagate)})
}

fn acl(ctx: &Ctx) -> ApiResult {
    let c = ctx.read();
    let out: Vec<Value> = c
        .access
        .acl
        .iter()
        .filter(|e| {
            ctx.perms
                .has_any(&e.path, &["Permissions.Modify", "Sys.Audit"])
        })
        .map(acl_json)
        .collect();
    Ok(Reply::json(json!(out)))
}

fn update_acl(ctx: &Ctx) -> ApiResult {
    let p = &ctx.params;
    let path = p.req("path")?;
    let roles = p.split_list("roles");
    if roles.is_empty() {
        return Err(PveError::param(
            "roles",
            "property is missing and it is not optional",
        ));
    }
    ctx.require(&path, &["Permissions.Modify"])?;
    let delete = p.flag("delete")?;
    let propagate = p.bool("propagate")?.unwrap_or(true);
    let mut c = ctx.write();
    if let Some(r) = roles.iter().find(|r| !c.access.roles.contains_key(*r)) {
        return Err(PveError::internal(format!("role '{r}' does not exist")));
    }
    let mut subjects = Vec::new();
    for u in p.split_list("users") {
        if !c.access.users.contains_key(&u) {
            return Err(PveError::internal(format!("user '{u}' does not exist")));
        }
        subjects.push((u, UgKind::User));
    }
    for g in p.split_list("groups") {
        if !c.access.groups.contains_key(&g) {
            return Err(PveError::internal(format!("group '{g}' does not exist")));
        }
        subjects.push((g, UgKind::Group));
    }
    for t in p.split_list("tokens") {
        let exists = t
            .split_once('!')
            .and_then(|(u, n)| c.access.users.get(u).map(|u| u.tokens.contains_key(n)))
            .unwrap_or(false);
        if !exists {
            return Err(PveError::internal(format!("token '{t}' does not exist")));
        }
        subjects.push((t, UgKind::Token));
    }
    for (ugid, kind) in subjects {
        for r in &roles {
            c.access.acl.retain(|e| {
                !(e.path == path && e.ugid == ugid && e.kind == kind && e.roleid == *r)
            });
            if !delete {
                c.access.acl.push(AclEntry {
                    path: path.clone(),
                    ugid: ugid.clone(),
                    kind,
                    roleid: r.clone(),
                    propagate,
                });
            }
        }
    }
    Ok(Reply::null())
}

fn permissions(ctx: &Ctx) -> ApiResult {
    let c = ctx.read();
    let target = match ctx.params.str("userid") {
        None => ctx.who.clone(),
        Some(u) => {
            let ident = match u.split_once('!') {
                Some((user, tok)) => Identity::Token {
                    user: user.into(),
                    token: tok.into(),
                },
                None => Identity::User(u.clone()),
            };
            let own =
                ident.userid() == ctx.who.userid() && !matches!(ctx.who, Identity::Token { .. });
            if ident != ctx.who && !own {
                ctx.require("/access", &["Sys.Audit"])?;
            }
            if !c.access.users.contains_key(ident.userid()) {
                return Err(PveError::internal(format!(
                    "no such user ('{}')",
                    ident.userid()
                )));
            }
            ident
        }
    };
    let perms = c.access.perms(&target);
    let mut paths: Vec<String> = match ctx.params.str("path") {
        Some(p) => vec![p],
        None => {
            let mut v: Vec<String> = [
                "/",
                "/access",
                "/access/groups",
                "/nodes",
                "/pool",
                "/sdn",
                "/storage",
                "/vms",
                "/mapping",
            ]
            .iter()
            .map(|s| s.to_string())
            .collect();
            v.extend(perms.acl_paths());
            v
        }
    };
    paths.sort();
    paths.dedup();
    let mut out = Map::new();
    for p in paths {
        let privs = perms.privs(&p);
        if privs.is_empty() && ctx.params.str("path").is_none() {
            continue;
        }
        out.insert(
            p,
            Value::Object(privs.into_iter().map(|x| (x, json!(1))).collect()),
        );
    }
    Ok(Reply::json(Value::Object(out)))
}
