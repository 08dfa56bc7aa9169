//! The API request a Proxmox VE command-line wrapper makes: `pvesh` and the thin wrappers over
//! one API call (`pveum`, `ha-manager`, `pvesm`, `vzdump`, `pvesr`, `pveceph`, `pvenode`), as
//! (method, path, parameters), so the shell gets the verdict, the root protection and the
//! named guests of the request it stands for.
//!
//! PVE parses options with Getopt::Long (any case, any unique prefix, options and operands in
//! any order): operands are found after removing options and their values, and an option is
//! looked up by [`opt`] the way Getopt would resolve it.

use serde_json::{Map, Value};

use crate::policy::api::cli_options;

/// One API request a command makes. The node is `localhost` where the command acts on the
/// node it runs on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ApiCall {
    pub method: &'static str,
    pub path: String,
    pub params: Map<String, Value>,
}

/// `qm`/`pct` options that take no value: a following operand is not theirs
/// (`qm destroy --purge 101`). Compared lowercased; an abbreviation of one counts too.
pub(crate) const GUEST_FLAGS: &[&str] = &[
    "purge",
    "skiplock",
    "force",
    "destroy-unreferenced-disks",
    "keepactive",
    "forcestop",
    "overrule-shutdown",
    "online",
    "with-local-disks",
    "with-conntrack-state",
    "full",
    "todisk",
    "nocheck",
    "vmstate",
    "unique",
    "restart",
    "dry-run",
    "stdout",
];

/// The operands of a command line: every argument that is neither an option nor an option's
/// value. An option takes the next argument as its value unless it is written `--key=value`,
/// is one of `flags` or the next argument is another option; after `--` everything is an
/// operand. With [`GUEST_FLAGS`] this is conservative for finding guests: a value a flag
/// would take in PVE stays an operand here.
pub(crate) fn operands<'a>(args: &'a [String], flags: &[&str]) -> Vec<&'a str> {
    let mut out = Vec::new();
    let mut k = 0;
    while k < args.len() {
        let a = args[k].as_str();
        k += 1;
        if a == "--" {
            out.extend(args[k..].iter().map(String::as_str));
            break;
        }
        let Some(opt) = a.strip_prefix("--").or_else(|| a.strip_prefix('-')) else {
            out.push(a);
            continue;
        };
        if opt.is_empty() || opt.starts_with(|c: char| c.is_ascii_digit()) {
            out.push(a);
            continue;
        }
        if opt.contains('=') {
            continue;
        }
        let key = opt.to_ascii_lowercase();
        if flags.iter().any(|f| f.starts_with(&key)) {
            continue;
        }
        if let Some(next) = args.get(k)
            && (!next.starts_with('-') || next.parse::<f64>().is_ok())
        {
            k += 1;
        }
    }
    out
}

/// The value of option `name` (lowercase, without dashes) as PVE's Getopt reads it: the key in
/// any case, or any prefix of it (an abbreviation; an ambiguous one counts for every option it
/// could stand for).
pub(crate) fn opt<'a>(params: &'a Map<String, Value>, name: &str) -> Option<&'a Value> {
    params.iter().find_map(|(k, v)| {
        let key = k.trim().trim_start_matches('-').to_ascii_lowercase();
        (!key.is_empty() && name.starts_with(&key)).then_some(v)
    })
}

/// Whether option `name` is given ([`opt`]).
pub(crate) fn given(args: &[String], name: &str) -> bool {
    opt(&cli_options(args), name).is_some()
}

/// Whether option `name` is given and not plainly false (`0`, `false`, `no`, `off`).
pub(crate) fn truthy(args: &[String], name: &str) -> bool {
    opt(&cli_options(args), name).is_some_and(|v| match v {
        Value::String(s) => !matches!(
            s.trim().to_ascii_lowercase().as_str(),
            "0" | "false" | "no" | "off"
        ),
        Value::Bool(b) => *b,
        _ => true,
    })
}

/// The API request `prog args` makes, for `pvesh` and the thin wrappers; `None` for reads
/// and for what is not one API request (local tools, unknown subcommands).
pub(crate) fn api_call(prog: &str, args: &[String]) -> Option<ApiCall> {
    let ops = operands(args, &[]);
    let mut params = cli_options(args);
    let (method, path) = match prog {
        "pvesh" => pvesh(&ops)?,
        "pveum" => pveum(&ops, &mut params)?,
        "ha-manager" => ha_manager(&ops, &mut params)?,
        "pvesm" => pvesm(&ops, &mut params)?,
        "vzdump" => {
            let vmids: Vec<&str> = ops.clone();
            if !vmids.is_empty() {
                params.insert("vmid".into(), Value::String(vmids.join(",")));
            }
            ("POST", "/nodes/localhost/vzdump".to_string())
        }
        "pvesr" => pvesr(&ops, &mut params)?,
        "pveceph" => pveceph(&ops, &mut params)?,
        "pvenode" => pvenode(&ops, &mut params)?,
        _ => return None,
    };
    Some(ApiCall {
        method,
        path,
        params,
    })
}

fn set(params: &mut Map<String, Value>, key: &str, value: &str) {
    if !value.is_empty() {
        params.insert(key.into(), Value::String(value.to_string()));
    }
}

fn word<'a>(ops: &[&'a str], k: usize) -> &'a str {
    ops.get(k).copied().unwrap_or("")
}

type Route = (&'static str, String);

fn pvesh(ops: &[&str]) -> Option<Route> {
    let method = match word(ops, 0) {
        "get" | "ls" => "GET",
        "delete" => "DELETE",
        "set" => "PUT",
        "create" => "POST",
        _ => return None,
    };
    Some((method, word(ops, 1).to_string()))
}

/// `pveum`, with its old one-word aliases (`useradd`, `aclmod`, …).
fn pveum(ops: &[&str], params: &mut Map<String, Value>) -> Option<Route> {
    let alias: Option<[&str; 2]> = match word(ops, 0) {
        "useradd" => Some(["user", "add"]),
        "usermod" => Some(["user", "modify"]),
        "userdel" => Some(["user", "delete"]),
        "groupadd" => Some(["group", "add"]),
        "groupmod" => Some(["group", "modify"]),
        "groupdel" => Some(["group", "delete"]),
        "roleadd" => Some(["role", "add"]),
        "rolemod" => Some(["role", "modify"]),
        "roledel" => Some(["role", "delete"]),
        "aclmod" => Some(["acl", "modify"]),
        "acldel" => Some(["acl", "delete"]),
        _ => None,
    };
    let words: Vec<&str> = match alias {
        Some(w) => w
            .iter()
            .copied()
            .chain(ops.iter().skip(1).copied())
            .collect(),
        None => ops.to_vec(),
    };
    let w = |k: usize| word(&words, k);
    Some(match (w(0), w(1)) {
        ("user", "add") => {
            set(params, "userid", w(2));
            ("POST", "/access/users".into())
        }
        ("user", "modify") => ("PUT", format!("/access/users/{}", w(2))),
        ("user", "delete") => ("DELETE", format!("/access/users/{}", w(2))),
        ("user", "token") => {
            let path = format!("/access/users/{}/token/{}", w(3), w(4));
            match w(2) {
                "add" => ("POST", path),
                "modify" => ("PUT", path),
                "remove" | "delete" => ("DELETE", path),
                _ => return None,
            }
        }
        ("user", "tfa") => match w(2) {
            "delete" => {
                let id = opt(params, "id")
                    .and_then(Value::as_str)
                    .unwrap_or("all")
                    .to_string();
                ("DELETE", format!("/access/tfa/{}/{id}", w(3)))
            }
            "unlock" => ("PUT", format!("/access/users/{}/unlock-tfa", w(3))),
            _ => return None,
        },
        ("group", "add") => {
            set(params, "groupid", w(2));
            ("POST", "/access/groups".into())
        }
        ("group", "modify") => ("PUT", format!("/access/groups/{}", w(2))),
        ("group", "delete") => ("DELETE", format!("/access/groups/{}", w(2))),
        ("role", "add") => {
            set(params, "roleid", w(2));
            ("POST", "/access/roles".into())
        }
        ("role", "modify") => ("PUT", format!("/access/roles/{}", w(2))),
        ("role", "delete") => ("DELETE", format!("/access/roles/{}", w(2))),
        ("acl", "modify" | "delete") => {
            set(params, "path", w(2));
            if w(1) == "delete" {
                set(params, "delete", "1");
            }
            ("PUT", "/access/acl".into())
        }
        ("realm", "add") => {
            set(params, "realm", w(2));
            ("POST", "/access/domains".into())
        }
        ("realm", "modify") => ("PUT", format!("/access/domains/{}", w(2))),
        ("realm", "delete") => ("DELETE", format!("/access/domains/{}", w(2))),
        ("realm", "sync") => ("POST", format!("/access/domains/{}/sync", w(2))),
        ("pool", "add") => {
            set(params, "poolid", w(2));
            ("POST", "/pools".into())
        }
        ("pool", "modify") => ("PUT", format!("/pools/{}", w(2))),
        ("pool", "delete") => ("DELETE", format!("/pools/{}", w(2))),
        ("passwd", _) => {
            set(params, "userid", w(1));
            ("PUT", "/access/password".into())
        }
        ("ticket", _) => {
            set(params, "username", w(1));
            ("POST", "/access/ticket".into())
        }
        _ => return None,
    })
}

fn ha_manager(ops: &[&str], params: &mut Map<String, Value>) -> Option<Route> {
    let w = |k: usize| word(ops, k);
    let (verb, sid, node) = match w(0) {
        "crm-command" => (w(1), w(2), w(3)),
        _ => (w(0), w(1), w(2)),
    };
    Some(match verb {
        "add" => {
            set(params, "sid", sid);
            ("POST", "/cluster/ha/resources".into())
        }
        "set" => ("PUT", format!("/cluster/ha/resources/{sid}")),
        "remove" => ("DELETE", format!("/cluster/ha/resources/{sid}")),
        "migrate" | "relocate" => {
            set(params, "node", node);
            ("POST", format!("/cluster/ha/resources/{sid}/{verb}"))
        }
        "disarm-ha" | "arm-ha" => ("POST", format!("/cluster/ha/status/{verb}")),
        "groupadd" => {
            set(params, "group", sid);
            ("POST", "/cluster/ha/groups".into())
        }
        "groupset" => ("PUT", format!("/cluster/ha/groups/{sid}")),
        "groupremove" => ("DELETE", format!("/cluster/ha/groups/{sid}")),
        "rules" => match w(1) {
            "add" => {
                set(params, "type", w(2));
                set(params, "rule", w(3));
                ("POST", "/cluster/ha/rules".into())
            }
            "set" => {
                set(params, "type", w(2));
                ("PUT", format!("/cluster/ha/rules/{}", w(3)))
            }
            "remove" => ("DELETE", format!("/cluster/ha/rules/{}", w(2))),
            _ => return None,
        },
        _ => return None,
    })
}

fn pvesm(ops: &[&str], params: &mut Map<String, Value>) -> Option<Route> {
    let w = |k: usize| word(ops, k);
    Some(match w(0) {
        "add" => {
            set(params, "type", w(1));
            set(params, "storage", w(2));
            ("POST", "/storage".into())
        }
        "set" => ("PUT", format!("/storage/{}", w(1))),
        "remove" => ("DELETE", format!("/storage/{}", w(1))),
        "alloc" => {
            set(params, "vmid", w(2));
            set(params, "filename", w(3));
            set(params, "size", w(4));
            ("POST", format!("/nodes/localhost/storage/{}/content", w(1)))
        }
        "free" => {
            let volume = w(1);
            let storage = opt(params, "storage")
                .and_then(Value::as_str)
                .map(str::to_string)
                .unwrap_or_else(|| volume.split(':').next().unwrap_or("").to_string());
            (
                "DELETE",
                format!("/nodes/localhost/storage/{storage}/content/{volume}"),
            )
        }
        "prune-backups" => (
            "DELETE",
            format!("/nodes/localhost/storage/{}/prunebackups", w(1)),
        ),
        _ => return None,
    })
}

fn pvesr(ops: &[&str], params: &mut Map<String, Value>) -> Option<Route> {
    let w = |k: usize| word(ops, k);
    Some(match w(0) {
        "create-local-job" => {
            set(params, "id", w(1));
            set(params, "target", w(2));
            set(params, "type", "local");
            ("POST", "/cluster/replication".into())
        }
        "update" => ("PUT", format!("/cluster/replication/{}", w(1))),
        "enable" | "disable" => {
            let off = if w(0) == "disable" { "1" } else { "0" };
            set(params, "disable", off);
            ("PUT", format!("/cluster/replication/{}", w(1)))
        }
        "delete" => ("DELETE", format!("/cluster/replication/{}", w(1))),
        "schedule-now" => (
            "POST",
            format!("/nodes/localhost/replication/{}/schedule_now", w(1)),
        ),
        _ => return None,
    })
}

fn pveceph(ops: &[&str], params: &mut Map<String, Value>) -> Option<Route> {
    let w = |k: usize| word(ops, k);
    let base = "/nodes/localhost/ceph";
    let or = |s: &str, d: &str| {
        if s.is_empty() {
            d.to_string()
        } else {
            s.to_string()
        }
    };
    Some(match (w(0), w(1)) {
        ("init", _) => ("POST", format!("{base}/init")),
        ("start" | "stop" | "restart", _) => {
            set(params, "service", w(1));
            ("POST", format!("{base}/{}", w(0)))
        }
        ("pool", "create") => {
            set(params, "name", w(2));
            ("POST", format!("{base}/pool"))
        }
        ("pool", "set") => ("PUT", format!("{base}/pool/{}", w(2))),
        ("pool", "destroy") => ("DELETE", format!("{base}/pool/{}", w(2))),
        ("osd", "create") => {
            set(params, "dev", w(2));
            ("POST", format!("{base}/osd"))
        }
        ("osd", "destroy") => ("DELETE", format!("{base}/osd/{}", w(2))),
        ("osd", "in" | "out" | "scrub") => ("POST", format!("{base}/osd/{}/{}", w(2), w(1))),
        ("mon" | "mgr" | "mds", "create") => {
            ("POST", format!("{base}/{}/{}", w(0), or(w(2), "localhost")))
        }
        ("mon" | "mgr" | "mds", "destroy") => ("DELETE", format!("{base}/{}/{}", w(0), w(2))),
        ("fs", "create") => {
            let name = opt(params, "name")
                .and_then(Value::as_str)
                .unwrap_or("cephfs")
                .to_string();
            ("POST", format!("{base}/fs/{name}"))
        }
        ("flags", "set" | "unset") => ("PUT", format!("/cluster/ceph/flags/{}", w(2))),
        _ => return None,
    })
}

fn pvenode(ops: &[&str], params: &mut Map<String, Value>) -> Option<Route> {
    let w = |k: usize| word(ops, k);
    let or = |s: &str, d: &str| {
        if s.is_empty() {
            d.to_string()
        } else {
            s.to_string()
        }
    };
    Some(match (w(0), w(1), w(2)) {
        ("acme", "account", "register") => {
            set(params, "name", w(3));
            set(params, "contact", w(4));
            ("POST", "/cluster/acme/account".into())
        }
        ("acme", "account", "update") => (
            "PUT",
            format!("/cluster/acme/account/{}", or(w(3), "default")),
        ),
        ("acme", "account", "deactivate") => (
            "DELETE",
            format!("/cluster/acme/account/{}", or(w(3), "default")),
        ),
        ("acme", "plugin", "add") => {
            set(params, "type", w(3));
            set(params, "id", w(4));
            ("POST", "/cluster/acme/plugins".into())
        }
        ("acme", "plugin", "set") => ("PUT", format!("/cluster/acme/plugins/{}", w(3))),
        ("acme", "plugin", "remove") => ("DELETE", format!("/cluster/acme/plugins/{}", w(3))),
        ("acme", "cert", "order") => (
            "POST",
            "/nodes/localhost/certificates/acme/certificate".into(),
        ),
        ("acme", "cert", "renew") => (
            "PUT",
            "/nodes/localhost/certificates/acme/certificate".into(),
        ),
        ("acme", "cert", "revoke") => (
            "DELETE",
            "/nodes/localhost/certificates/acme/certificate".into(),
        ),
        ("cert", "set", _) => {
            set(params, "certificates", w(2));
            set(params, "key", w(3));
            ("POST", "/nodes/localhost/certificates/custom".into())
        }
        ("cert", "delete", _) => ("DELETE", "/nodes/localhost/certificates/custom".into()),
        ("config", "set", _) => ("PUT", "/nodes/localhost/config".into()),
        ("startall" | "stopall", _, _) => ("POST", format!("/nodes/localhost/{}", w(0))),
        ("migrateall", _, _) => {
            set(params, "target", w(1));
            ("POST", "/nodes/localhost/migrateall".into())
        }
        ("wakeonlan", _, _) => ("POST", format!("/nodes/{}/wakeonlan", w(1))),
        _ => return None,
    })
}

/// Whether a request creates an API token: PVE answers with its secret, which a command prints
/// to the model (the `user_management` tool's `token_create` writes it to an operator file).
pub(crate) fn creates_token(method: &str, path: &str) -> bool {
    let segs = crate::policy::api::segments(path);
    let lower: Vec<String> = segs.iter().map(|s| s.to_ascii_lowercase()).collect();
    let l: Vec<&str> = lower.iter().map(String::as_str).collect();
    method.trim().eq_ignore_ascii_case("POST")
        && matches!(l.as_slice(), ["access", "users", _, "token", _])
}
