//! Firewall options and rules at cluster, node and guest level; aliases, IP sets and groups.

use serde_json::{Map, Value, json};

use super::Ctx;
use super::envelope::{ApiResult, PveError, Reply};
use super::guests::{lookup, pool_of};
use super::router::index_by;
use crate::state::firewall::RuleSet;
use crate::state::guest::Kind;
use crate::state::{Cluster, Obj};

/// Who may read and write a firewall scope.
struct Scope {
    key: String,
    read: Check,
    write: Check,
}

/// A privilege check for a scope.
type Check = Box<dyn Fn(&Ctx) -> Result<(), PveError>>;

const RULE_FIELDS: &[&str] = &[
    "type",
    "action",
    "enable",
    "source",
    "dest",
    "proto",
    "dport",
    "sport",
    "macro",
    "iface",
    "log",
    "comment",
    "icmp-type",
];

pub fn route_cluster(ctx: &Ctx, rest: &[&str]) -> ApiResult {
    let scope = Scope {
        key: "cluster".into(),
        read: Box::new(|ctx| ctx.require("/", &["Sys.Audit"])),
        write: Box::new(|ctx| ctx.require("/", &["Sys.Modify"])),
    };
    match (ctx.method, rest) {
        ("GET", []) => Ok(index_by(
            "name",
            &[
                "aliases", "rules", "options", "groups", "ipset", "macros", "refs",
            ],
        )),
        ("GET", ["macros"]) => Ok(Reply::json(json!([
            {"macro": "SSH", "descr": "Secure shell traffic"},
            {"macro": "HTTP", "descr": "Hypertext Transfer Protocol (WWW)"},
            {"macro": "HTTPS", "descr": "Hypertext Transfer Protocol (WWW) over SSL"},
            {"macro": "Ping", "descr": "ICMP echo request"},
            {"macro": "DNS", "descr": "Domain Name System traffic (upd and tcp)"},
        ]))),
        ("GET", ["refs"]) => {
            (scope.read)(ctx)?;
            let c = ctx.read();
            let mut out = Vec::new();
            for (n, a) in &c.firewall.aliases {
                out.push(json!({"type": "alias", "name": n, "ref": n, "scope": "dc", "comment": a.get("comment")}));
            }
            for (n, s) in &c.firewall.ipsets {
                out.push(json!({"type": "ipset", "name": n, "ref": format!("+{n}"), "scope": "dc", "comment": s.comment}));
            }
            Ok(Reply::json(json!(out)))
        }
        ("GET", ["aliases"]) => {
            (scope.read)(ctx)?;
            let c = ctx.read();
            Ok(Reply::json(json!(
                c.firewall.aliases.values().cloned().collect::<Vec<_>>()
            )))
        }
        ("POST", ["aliases"]) => {
            (scope.write)(ctx)?;
            let name = ctx.params.req("name")?;
            let cidr = ctx.params.req("cidr")?;
            let mut c = ctx.write();
            if c.firewall.aliases.contains_key(&name) {
                return Err(PveError::internal(format!("alias '{name}' already exists")));
            }
            let mut o = Map::new();
            o.insert("name".into(), json!(name));
            o.insert("cidr".into(), json!(cidr));
            if let Some(cm) = ctx.params.str("comment") {
                o.insert("comment".into(), json!(cm));
            }
            c.firewall.aliases.insert(name, o);
            Ok(Reply::null())
        }
        (m, ["aliases", name]) => {
            let mut c = ctx.write();
            let missing = || PveError::internal(format!("no such alias '{name}'"));
            match m {
                "GET" => {
                    (scope.read)(ctx)?;
                    Ok(Reply::json(Value::Object(
                        c.firewall.aliases.get(*name).cloned().ok_or_else(missing)?,
                    )))
                }
                "PUT" => {
                    (scope.write)(ctx)?;
                    let a = c.firewall.aliases.get_mut(*name).ok_or_else(missing)?;
                    a.insert("cidr".into(), json!(ctx.params.req("cidr")?));
                    if let Some(cm) = ctx.params.str("comment") {
                        a.insert("comment".into(), json!(cm));
                    }
                    if let Some(new) = ctx.params.str("rename") {
                        let mut a = c.firewall.aliases.remove(*name).ok_or_else(missing)?;
                        a.insert("name".into(), json!(new));
                        c.firewall.aliases.insert(new, a);
                    }
                    Ok(Reply::null())
                }
                "DELETE" => {
                    (scope.write)(ctx)?;
                    c.firewall.aliases.remove(*name).ok_or_else(missing)?;
                    Ok(Reply::null())
                }
                _ => Err(ctx.not_impl()),
            }
        }
        (_, ["ipset", rest @ ..]) => sets(ctx, &scope, "ipset", rest),
        (_, ["groups", rest @ ..]) => sets(ctx, &scope, "group", rest),
        _ => common(ctx, &scope, rest),
    }
}

pub fn route_node(ctx: &Ctx, node: &str, rest: &[&str]) -> ApiResult {
    let p1 = format!("/nodes/{node}");
    let p2 = p1.clone();
    let scope = Scope {
        key: format!("node/{node}"),
        read: Box::new(move |ctx| ctx.require(&p1, &["Sys.Audit"])),
        write: Box::new(move |ctx| ctx.require(&p2, &["Sys.Modify"])),
    };
    match (ctx.method, rest) {
        ("GET", []) => Ok(index_by("name", &["rules", "options", "log"])),
        _ => common(ctx, &scope, rest),
    }
}

pub fn route_guest(ctx: &Ctx, node: &str, kind: Kind, vmid: u32, rest: &[&str]) -> ApiResult {
    {
        let c = ctx.read();
        ctx.require_vm(vmid, pool_of(&c, vmid).as_deref(), &["VM.Audit"])?;
        lookup(&c, node, kind, vmid)?;
    }
    let scope = Scope {
        key: format!("vm/{vmid}"),
        read: Box::new(move |ctx| {
            let pool = pool_of(&ctx.read(), vmid);
            ctx.require_vm(vmid, pool.as_deref(), &["VM.Audit"])
        }),
        write: Box::new(move |ctx| {
            let pool = pool_of(&ctx.read(), vmid);
            ctx.require_vm(vmid, pool.as_deref(), &["VM.Config.Network"])
        }),
    };
    match (ctx.method, rest) {
        ("GET", []) => Ok(index_by(
            "name",
            &["rules", "aliases", "ipset", "options", "log", "refs"],
        )),
        ("GET", ["aliases" | "ipset" | "refs"]) => Ok(Reply::json(json!([]))),
        _ => common(ctx, &scope, rest),
    }
}

/// options, rules, rules/{pos}, log: the same at every level.
fn common(ctx: &Ctx, scope: &Scope, rest: &[&str]) -> ApiResult {
    match (ctx.method, rest) {
        ("GET", ["options"]) => {
            (scope.read)(ctx)?;
            let c = ctx.read();
            let mut o = c
                .firewall
                .options
                .get(&scope.key)
                .cloned()
                .unwrap_or_default();
            o.insert(
                "digest".into(),
                json!(crate::util::digest(&Value::Object(o.clone()).to_string())),
            );
            Ok(Reply::json(Value::Object(o)))
        }
        ("PUT", ["options"]) => {
            (scope.write)(ctx)?;
            let mut c = ctx.write();
            let o = c.firewall.options.entry(scope.key.clone()).or_default();
            for k in ctx.params.split_list("delete") {
                o.remove(&k);
            }
            for (k, v) in ctx.params.strings() {
                if matches!(k.as_str(), "delete" | "digest" | "node" | "vmid") {
                    continue;
                }
                let val = if matches!(
                    k.as_str(),
                    "enable"
                        | "ebtables"
                        | "dhcp"
                        | "ipfilter"
                        | "macfilter"
                        | "ndp"
                        | "radv"
                        | "nosmurfs"
                        | "tcpflags"
                        | "log_nf_conntrack"
                        | "nf_conntrack_allow_invalid"
                        | "protection_synflood"
                ) {
                    json!(v.parse::<i64>().unwrap_or(0))
                } else {
                    json!(v)
                };
                o.insert(k, val);
            }
            Ok(Reply::null())
        }
        ("GET", ["log"]) => {
            (scope.read)(ctx)?;
            Ok(Reply::json(json!([{"n": 0, "t": "no content"}])).with("total", json!(1)))
        }
        ("GET", ["rules"]) => {
            (scope.read)(ctx)?;
            let c = ctx.read();
            Ok(Reply::json(json!(numbered(
                c.firewall
                    .rules
                    .get(&scope.key)
                    .map(Vec::as_slice)
                    .unwrap_or(&[])
            ))))
        }
        ("POST", ["rules"]) => {
            (scope.write)(ctx)?;
            let mut c = ctx.write();
            let rules = c.firewall.rules.entry(scope.key.clone()).or_default();
            insert_rule(ctx, rules)
        }
        (m, ["rules", pos]) => {
            let pos = parse_pos(pos)?;
            // Privileges first: a guest scope's check takes the state lock itself.
            match m {
                "GET" => (scope.read)(ctx),
                _ => (scope.write)(ctx),
            }?;
            let mut c = ctx.write();
            let rules = c.firewall.rules.entry(scope.key.clone()).or_default();
            rule_item(ctx, m, rules, pos)
        }
        _ => Err(ctx.not_impl()),
    }
}

fn numbered(rules: &[Obj]) -> Vec<Value> {
    rules
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let mut v = Value::Object(r.clone());
            v["pos"] = json!(i);
            v
        })
        .collect()
}

fn parse_pos(s: &str) -> Result<usize, PveError> {
    s.parse()
        .map_err(|_| PveError::param("pos", format!("type check ('integer') failed - got '{s}'")))
}

fn rule_from_params(ctx: &Ctx, r: &mut Obj) -> Result<(), PveError> {
    for k in ctx.params.split_list("delete") {
        r.remove(&k);
    }
    for (k, v) in ctx.params.strings() {
        if !RULE_FIELDS.contains(&k.as_str()) {
            continue;
        }
        match k.as_str() {
            "type" if !matches!(v.as_str(), "in" | "out" | "forward" | "group") => {
                return Err(PveError::param(
                    "type",
                    format!(
                        "value '{v}' does not have a value in the enumeration 'in, out, forward, group'"
                    ),
                ));
            }
            "enable" => {
                r.insert(k, json!(v.parse::<i64>().unwrap_or(0)));
            }
            _ => {
                r.insert(k, json!(v));
            }
        }
    }
    Ok(())
}

fn insert_rule(ctx: &Ctx, rules: &mut Vec<Obj>) -> ApiResult {
    ctx.params.req("type")?;
    ctx.params.req("action")?;
    let mut r = Map::new();
    rule_from_params(ctx, &mut r)?;
    let pos = ctx.params.uint("pos", 0)? as usize;
    rules.insert(pos.min(rules.len()), r);
    Ok(Reply::null())
}

fn rule_item(ctx: &Ctx, m: &str, rules: &mut Vec<Obj>, pos: usize) -> ApiResult {
    if pos >= rules.len() {
        return Err(PveError::internal("no rule at specified position"));
    }
    match m {
        "GET" => {
            let mut v = Value::Object(rules[pos].clone());
            v["pos"] = json!(pos);
            Ok(Reply::json(v))
        }
        "PUT" => {
            if let Some(to) = ctx.params.int("moveto")? {
                let r = rules.remove(pos);
                let to = (to.max(0) as usize).min(rules.len());
                rules.insert(to, r);
                return Ok(Reply::null());
            }
            rule_from_params(ctx, &mut rules[pos])?;
            Ok(Reply::null())
        }
        "DELETE" => {
            rules.remove(pos);
            Ok(Reply::null())
        }
        _ => Err(ctx.not_impl()),
    }
}

fn set_map<'c>(
    c: &'c mut Cluster,
    kind: &str,
) -> &'c mut std::collections::BTreeMap<String, RuleSet> {
    if kind == "ipset" {
        &mut c.firewall.ipsets
    } else {
        &mut c.firewall.groups
    }
}

/// IP sets and security groups share a shape: a named list of entries.
fn sets(ctx: &Ctx, scope: &Scope, kind: &str, rest: &[&str]) -> ApiResult {
    let key = if kind == "ipset" { "name" } else { "group" };
    match (ctx.method, rest) {
        ("GET", []) => {
            (scope.read)(ctx)?;
            let c = ctx.read();
            let map = if kind == "ipset" {
                &c.firewall.ipsets
            } else {
                &c.firewall.groups
            };
            let out: Vec<Value> = map
                .iter()
                .map(|(n, s)| {
                    let mut v = json!({key: n, "digest": crate::util::digest(n)});
                    if let Some(cm) = &s.comment {
                        v["comment"] = json!(cm);
                    }
                    v
                })
                .collect();
            Ok(Reply::json(json!(out)))
        }
        ("POST", []) => {
            (scope.write)(ctx)?;
            let name = ctx.params.req(key)?;
            let mut c = ctx.write();
            let map = set_map(&mut c, kind);
            if map.contains_key(&name) && ctx.params.str("rename").is_none() {
                return Err(PveError::internal(format!(
                    "{kind} '{name}' already exists"
                )));
            }
            if let Some(old) = ctx.params.str("rename") {
                let s = map
                    .remove(&old)
                    .ok_or_else(|| PveError::internal(format!("no such {kind} '{old}'")))?;
                map.insert(name, s);
                return Ok(Reply::null());
            }
            map.insert(
                name,
                RuleSet {
                    comment: ctx.params.str("comment"),
                    entries: Vec::new(),
                },
            );
            Ok(Reply::null())
        }
        (m, [name, rest @ ..]) => {
            match m {
                "GET" => (scope.read)(ctx),
                _ => (scope.write)(ctx),
            }?;
            let mut c = ctx.write();
            let map = set_map(&mut c, kind);
            let missing = || PveError::internal(format!("no such {kind} '{name}'"));
            match (m, rest) {
                ("GET", []) => {
                    let s = map.get(*name).ok_or_else(missing)?;
                    let out = if kind == "group" {
                        numbered(&s.entries)
                    } else {
                        s.entries.iter().cloned().map(Value::Object).collect()
                    };
                    Ok(Reply::json(json!(out)))
                }
                ("DELETE", []) => {
                    let s = map.get(*name).ok_or_else(missing)?;
                    if !s.entries.is_empty() && !ctx.params.flag("force")? {
                        return Err(PveError::internal(format!("{kind} '{name}' is not empty")));
                    }
                    map.remove(*name);
                    Ok(Reply::null())
                }
                ("POST", []) => {
                    let s = map.get_mut(*name).ok_or_else(missing)?;
                    if kind == "group" {
                        return insert_rule(ctx, &mut s.entries);
                    }
                    let cidr = ctx.params.req("cidr")?;
                    if s.entries
                        .iter()
                        .any(|e| e.get("cidr").and_then(Value::as_str) == Some(cidr.as_str()))
                    {
                        return Err(PveError::internal(format!(
                            "address '{cidr}' already exists"
                        )));
                    }
                    let mut e = Map::new();
                    e.insert("cidr".into(), json!(cidr));
                    e.insert(
                        "nomatch".into(),
                        json!(u8::from(ctx.params.flag("nomatch")?)),
                    );
                    if let Some(cm) = ctx.params.str("comment") {
                        e.insert("comment".into(), json!(cm));
                    }
                    s.entries.push(e);
                    Ok(Reply::null())
                }
                (m, [item]) => {
                    let s = map.get_mut(*name).ok_or_else(missing)?;
                    if kind == "group" {
                        return rule_item(ctx, m, &mut s.entries, parse_pos(item)?);
                    }
                    let idx = s
                        .entries
                        .iter()
                        .position(|e| e.get("cidr").and_then(Value::as_str) == Some(*item))
                        .ok_or_else(|| {
                            PveError::internal(format!("no such IP/Network '{item}'"))
                        })?;
                    match m {
                        "GET" => Ok(Reply::json(Value::Object(s.entries[idx].clone()))),
                        "PUT" => {
                            if let Some(cm) = ctx.params.str("comment") {
                                s.entries[idx].insert("comment".into(), json!(cm));
                            }
                            if let Some(nm) = ctx.params.bool("nomatch")? {
                                s.entries[idx].insert("nomatch".into(), json!(u8::from(nm)));
                            }
                            Ok(Reply::null())
                        }
                        "DELETE" => {
                            s.entries.remove(idx);
                            Ok(Reply::null())
                        }
                        _ => Err(ctx.not_impl()),
                    }
                }
                _ => Err(ctx.not_impl()),
            }
        }
        _ => Err(ctx.not_impl()),
    }
}
