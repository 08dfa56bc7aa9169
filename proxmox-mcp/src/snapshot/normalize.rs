//! Pure normalisation of PVE configuration objects into flat maps of canonical strings: an
//! omitted default equals an explicit one, `2048` equals `"2048"`, `on`/`yes`/`true` equal `1`,
//! unordered lists are sorted, volatile keys (`digest`, `next-run`, `lock`) are dropped and
//! secrets are replaced by a marker before anything is stored.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// What a secret's value is replaced with: its presence is kept, never its value.
pub const SECRET: &str = "(set)";

/// The kinds of configuration object a snapshot holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    Qemu,
    Lxc,
    Storage,
    User,
    Group,
    Role,
    Acl,
    HaResource,
    HaGroup,
    HaRule,
    BackupJob,
    Pool,
    /// Datacenter options (`datacenter.cfg`).
    ClusterOptions,
    FirewallOptions,
    GuestFirewallOptions,
    FirewallRules,
}

impl Kind {
    /// Keys that are state, not configuration, or repeat the object's id.
    fn dropped(self) -> &'static [&'static str] {
        match self {
            Kind::Qemu | Kind::Lxc => &["lock", "pending"],
            Kind::Storage => &["storage"],
            Kind::User => &[
                "userid",
                "realm-type",
                "tokens",
                "tfa-locked-until",
                "totp-locked",
            ],
            Kind::Group => &["groupid"],
            Kind::Role => &["roleid"],
            Kind::HaResource => &["sid", "type"],
            Kind::HaGroup => &["group", "type"],
            Kind::HaRule => &["rule"],
            Kind::BackupJob => &["id", "next-run"],
            Kind::Pool => &["poolid", "members"],
            Kind::Acl
            | Kind::ClusterOptions
            | Kind::FirewallOptions
            | Kind::GuestFirewallOptions
            | Kind::FirewallRules => &[],
        }
    }

    /// PVE's defaults for the keys that matter, in canonical form (from the API schema; a test
    /// checks them against it). A key set to its default is the same as the key omitted.
    pub fn defaults(self) -> &'static [(&'static str, &'static str)] {
        match self {
            Kind::Qemu => &[
                ("acpi", "1"),
                ("autostart", "0"),
                ("bios", "seabios"),
                ("cores", "1"),
                ("cpulimit", "0"),
                ("hotplug", "disk,network,usb"),
                ("kvm", "1"),
                // `[current=]<integer>`, 512 MiB when omitted (the schema says so in prose).
                ("memory", "512"),
                ("numa", "0"),
                ("onboot", "0"),
                ("ostype", "other"),
                ("protection", "0"),
                ("reboot", "1"),
                ("scsihw", "lsi"),
                ("shares", "1000"),
                ("sockets", "1"),
                ("tablet", "1"),
                ("template", "0"),
            ],
            Kind::Lxc => &[
                ("arch", "amd64"),
                ("cmode", "tty"),
                ("console", "1"),
                ("cpulimit", "0"),
                ("memory", "512"),
                ("onboot", "0"),
                ("protection", "0"),
                ("swap", "512"),
                ("template", "0"),
                ("tty", "2"),
                ("unprivileged", "0"),
            ],
            Kind::Storage => &[("disable", "0"), ("shared", "0")],
            Kind::User => &[("enable", "1"), ("expire", "0")],
            Kind::HaResource => &[
                ("failback", "1"),
                ("max_relocate", "1"),
                ("max_restart", "1"),
                ("state", "started"),
            ],
            Kind::HaGroup => &[("nofailback", "0"), ("restricted", "0")],
            Kind::BackupJob => &[
                ("all", "0"),
                ("compress", "0"),
                ("enabled", "1"),
                ("mode", "snapshot"),
            ],
            Kind::FirewallOptions => &[("ebtables", "1"), ("enable", "0")],
            Kind::GuestFirewallOptions => &[
                ("dhcp", "0"),
                ("enable", "0"),
                ("macfilter", "1"),
                ("ndp", "1"),
            ],
            Kind::Group
            | Kind::Role
            | Kind::Acl
            | Kind::HaRule
            | Kind::Pool
            | Kind::ClusterOptions
            | Kind::FirewallRules => &[],
        }
    }
}

/// Keys that are booleans wherever they appear in the objects a snapshot holds.
const BOOL_KEYS: &[&str] = &[
    "acpi",
    "all",
    "autostart",
    "console",
    "debug",
    "disable",
    "dhcp",
    "ebtables",
    "enable",
    "enabled",
    "failback",
    "ipfilter",
    "kvm",
    "localtime",
    "macfilter",
    "ndp",
    "nofailback",
    "numa",
    "onboot",
    "propagate",
    "protection",
    "radv",
    "reboot",
    "restricted",
    "shared",
    "special",
    "tablet",
    "template",
    "unprivileged",
];

/// Comma lists whose order means nothing.
const SET_KEYS: &[&str] = &[
    "content",
    "exclude",
    "groups",
    "hotplug",
    "members",
    "nodes",
    "resources",
    "users",
    "vmid",
];

/// Boolean members of property strings (`net0: …,firewall=on`, `features: nesting=1`).
const PROPERTY_BOOLS: &[&str] = &[
    "acl",
    "backup",
    "enabled",
    "firewall",
    "freeze-fs-on-backup",
    "fstrim_cloned_disks",
    "fuse",
    "iothread",
    "keyctl",
    "link_down",
    "nesting",
    "replicate",
    "ro",
    "shared",
    "ssd",
];

/// Free text, kept as written.
const TEXT_KEYS: &[&str] = &[
    "args",
    "comment",
    "description",
    "email",
    "firstname",
    "lastname",
    "notes-template",
    "schedule",
];

/// Whether a key names a secret: passwords, secrets, tokens, keys (`sshkeys`, `encryption-key`,
/// `keyring`, `master-pubkey`), but not `keyboard`.
pub fn is_secret_key(key: &str) -> bool {
    let k = key.to_ascii_lowercase();
    ["password", "passwd", "secret", "token"]
        .iter()
        .any(|w| k.contains(w))
        || k.ends_with("key")
        || k.ends_with("keys")
        || k.contains("keyring")
}

/// Whether a value is a password hash (`$6$…`, `$y$…`, `$2b$…`, `$argon2id$…`).
fn is_hash(v: &str) -> bool {
    let Some(rest) = v.strip_prefix('$') else {
        return false;
    };
    let Some((scheme, tail)) = rest.split_once('$') else {
        return false;
    };
    !tail.is_empty()
        && matches!(
            scheme,
            "1" | "2a" | "2b" | "2y" | "5" | "6" | "y" | "argon2i" | "argon2d" | "argon2id"
        )
}

/// A scalar as PVE's Perl would print it: `2048` and `"2048"` alike, `1.50` as `1.5`.
fn scalar(v: &Value) -> Option<String> {
    match v {
        Value::Null => None,
        Value::Bool(b) => Some(if *b { "1" } else { "0" }.into()),
        Value::Number(n) => Some(number(n.as_f64()?).unwrap_or_else(|| n.to_string())),
        Value::String(s) => Some(s.trim().to_owned()),
        Value::Array(items) => {
            let mut parts: Vec<String> = items.iter().filter_map(scalar).collect();
            parts.sort();
            parts.dedup();
            Some(parts.join(","))
        }
        Value::Object(_) => Some(v.to_string()),
    }
}

fn number(f: f64) -> Option<String> {
    if !f.is_finite() {
        return None;
    }
    if f.fract() == 0.0 && f.abs() < 9.0e15 {
        Some(format!("{}", f as i64))
    } else {
        Some(format!("{f}"))
    }
}

/// A string that is plainly a number (`2048`, `-1`, `1.50`; not `007` or `1e3`) in canonical
/// form.
fn numeric_string(s: &str) -> Option<String> {
    let body = s.strip_prefix('-').unwrap_or(s);
    let (int, frac) = body.split_once('.').unwrap_or((body, ""));
    let digits = |p: &str| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit());
    let int_ok = digits(int) && (int == "0" || !int.starts_with('0'));
    let frac_ok = frac.is_empty() || digits(frac);
    if !int_ok || !frac_ok || (body.contains('.') && frac.is_empty()) {
        return None;
    }
    number(s.parse().ok()?)
}

fn canonical_bool(s: &str) -> Option<&'static str> {
    match s.to_ascii_lowercase().as_str() {
        "1" | "on" | "yes" | "true" => Some("1"),
        "0" | "off" | "no" | "false" => Some("0"),
        _ => None,
    }
}

fn sorted_list(s: &str, seps: &[char], join: &str) -> String {
    let mut parts: Vec<&str> = s
        .split(|c| seps.contains(&c))
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .collect();
    parts.sort_unstable();
    parts.dedup();
    parts.join(join)
}

/// A property string (`virtio=AA:BB,bridge=vmbr0,firewall=1`): positional parts first as
/// written, `k=v` parts sorted, numbers and boolean spellings in their values made canonical.
fn property_string(s: &str) -> String {
    let (mut positional, mut named): (Vec<String>, Vec<String>) = (Vec::new(), Vec::new());
    for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        match part.split_once('=') {
            Some((k, v)) => {
                let v = if PROPERTY_BOOLS.contains(&k) {
                    canonical_bool(v).map_or_else(|| v.to_owned(), str::to_owned)
                } else {
                    numeric_string(v).unwrap_or_else(|| v.to_owned())
                };
                named.push(format!("{k}={v}"));
            }
            None => positional.push(part.to_owned()),
        }
    }
    named.sort();
    positional.extend(named);
    positional.join(",")
}

/// The canonical value of one key, or `None` when it is dropped (volatile, empty, a default).
pub fn value(kind: Kind, key: &str, raw: &Value) -> Option<String> {
    if key == "digest" || kind.dropped().contains(&key) {
        return None;
    }
    let s = scalar(raw)?;
    if is_secret_key(key) || is_hash(&s) {
        return Some(SECRET.into());
    }
    let v = if BOOL_KEYS.contains(&key) {
        canonical_bool(&s).map_or(s, str::to_owned)
    } else if key == "tags" {
        sorted_list(&s, &[';', ',', ' '], ";")
    } else if SET_KEYS.contains(&key) {
        sorted_list(&s, &[',', ';'], ",")
    } else if TEXT_KEYS.contains(&key) {
        s
    } else if let Some(n) = numeric_string(&s) {
        n
    } else if s.contains('=') && !s.contains(char::is_whitespace) {
        property_string(&s)
    } else {
        s
    };
    if v.is_empty() {
        return None;
    }
    let default = kind.defaults().iter().find(|(k, _)| *k == key);
    if default.is_some_and(|(_, d)| *d == v) {
        return None;
    }
    Some(v)
}

/// A configuration object (a guest config, a storage entry, a user…) normalised.
pub fn object(kind: Kind, raw: &Map<String, Value>) -> BTreeMap<String, String> {
    raw.iter()
        .filter_map(|(k, v)| Some((k.clone(), value(kind, k, v)?)))
        .collect()
}

/// Applies normalisation again to an object read back from a file: a no-op for objects this
/// version wrote, and it brings older files up to the current rules.
pub fn again(kind: Kind, values: &BTreeMap<String, String>) -> BTreeMap<String, String> {
    match kind {
        Kind::Acl | Kind::FirewallRules => values.clone(),
        _ => values
            .iter()
            .filter_map(|(k, v)| {
                let v = if v == SECRET {
                    v.clone()
                } else {
                    value(kind, k, &Value::String(v.clone()))?
                };
                Some((k.clone(), v))
            })
            .collect(),
    }
}

/// Firewall rules: each rule's canonical text (`rule IN ACCEPT dport=22 proto=tcp`) → its
/// 1-based position. Keys name the rule, so a rule added at the top is one added key, not a
/// change to every rule after it (the diff reports positions only when the order changed).
pub fn rules(raw: &[Value]) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for (i, rule) in raw.iter().enumerate() {
        let Some(r) = rule.as_object() else { continue };
        let field = |k: &str| r.get(k).and_then(scalar).unwrap_or_default();
        let mut text = format!("rule {} {}", field("type").to_uppercase(), field("action"));
        let mut rest: Vec<String> = r
            .iter()
            .filter(|(k, _)| {
                !matches!(
                    k.as_str(),
                    "type" | "action" | "pos" | "digest" | "ipversion"
                )
            })
            .filter_map(|(k, v)| {
                let s = scalar(v)?;
                let s = match k.as_str() {
                    "enable" => canonical_bool(&s).map_or(s, str::to_owned),
                    _ => s,
                };
                let default =
                    matches!((k.as_str(), s.as_str()), ("enable", "0") | ("log", "nolog"));
                (!s.is_empty() && !default).then(|| format!("{k}={s}"))
            })
            .collect();
        rest.sort();
        for part in rest {
            text.push(' ');
            text.push_str(&part);
        }
        let mut key = text.clone();
        let mut n = 2;
        while out.contains_key(&key) {
            key = format!("{text} #{n}");
            n += 1;
        }
        out.insert(key, (i + 1).to_string());
    }
    out
}

/// The ACL: `<path> <type> <ugid> <role>` → whether it propagates.
pub fn acl(raw: &[Value]) -> BTreeMap<String, String> {
    raw.iter()
        .filter_map(Value::as_object)
        .map(|e| {
            let f = |k: &str| e.get(k).and_then(scalar).unwrap_or_default();
            let key = format!("{} {} {} {}", f("path"), f("type"), f("ugid"), f("roleid"));
            let propagate = e
                .get("propagate")
                .and_then(scalar)
                .and_then(|p| canonical_bool(&p))
                .unwrap_or("1");
            (key, propagate.to_owned())
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn check(kind: Kind, raw: Value, want: &[(&str, &str)]) {
        let got = object(kind, raw.as_object().unwrap());
        let want: BTreeMap<String, String> = want
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        assert_eq!(got, want, "{raw}");
        assert_eq!(again(kind, &got), got, "normalising twice changes {raw}");
    }

    #[test]
    fn spellings_defaults_and_order_do_not_matter() {
        let a = json!({"memory": 2048, "cores": 1, "onboot": "on", "tags": "b;a",
                       "hotplug": "usb,network,disk", "digest": "abc", "net0": "virtio=AA,firewall=1,bridge=vmbr0"});
        let b = json!({"memory": "2048", "onboot": true, "tags": "a;b", "kvm": "yes",
                       "net0": "bridge=vmbr0,firewall=on,virtio=AA", "lock": "backup"});
        let want = [
            ("memory", "2048"),
            ("net0", "bridge=vmbr0,firewall=1,virtio=AA"),
            ("onboot", "1"),
            ("tags", "a;b"),
        ];
        check(Kind::Qemu, a, &want);
        check(Kind::Qemu, b, &want);
    }

    #[test]
    fn property_strings_keep_the_positional_part_first() {
        check(
            Kind::Qemu,
            json!({"scsi0": "local-lvm:vm-100-disk-0,size=32G,iothread=1,cache=none"}),
            &[(
                "scsi0",
                "local-lvm:vm-100-disk-0,cache=none,iothread=1,size=32G",
            )],
        );
    }

    #[test]
    fn numbers_only_when_plainly_numbers() {
        check(
            Kind::Lxc,
            json!({"cpulimit": "1.50", "hostname": "007", "description": "a=b, c", "swap": 512.0}),
            &[
                ("cpulimit", "1.5"),
                ("hostname", "007"),
                ("description", "a=b, c"),
            ],
        );
    }

    #[test]
    fn secrets_and_hashes_never_survive() {
        check(
            Kind::Qemu,
            json!({"cipassword": "$6$salt$hash", "sshkeys": "ssh-ed25519%20AAAA", "keyboard": "de",
                   "ciuser": "$5$x$y"}),
            &[
                ("cipassword", SECRET),
                ("ciuser", SECRET),
                ("keyboard", "de"),
                ("sshkeys", SECRET),
            ],
        );
        check(
            Kind::Storage,
            json!({"password": "hunter2", "encryption-key": "x", "keyring": "y", "type": "rbd",
                   "content": "rootdir,images", "shared": 0, "nodes": "pve2,pve1"}),
            &[
                ("content", "images,rootdir"),
                ("encryption-key", SECRET),
                ("keyring", SECRET),
                ("nodes", "pve1,pve2"),
                ("password", SECRET),
                ("type", "rbd"),
            ],
        );
        check(
            Kind::User,
            json!({"userid": "a@pve", "enable": 1, "expire": 0, "groups": ["ops", "adm"],
                   "tokens": [{"tokenid": "t"}], "realm-type": "pve", "keys": "x", "email": "a@b"}),
            &[("email", "a@b"), ("groups", "adm,ops"), ("keys", SECRET)],
        );
    }

    #[test]
    fn rules_are_keyed_by_content() {
        let a = rules(&[
            json!({"pos": 0, "type": "in", "action": "ACCEPT", "proto": "tcp", "dport": "22", "enable": 1, "digest": "x"}),
            json!({"pos": 1, "type": "out", "action": "DROP", "enable": 0, "log": "nolog"}),
        ]);
        let want: BTreeMap<String, String> = [
            ("rule IN ACCEPT dport=22 enable=1 proto=tcp", "1"),
            ("rule OUT DROP", "2"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        assert_eq!(a, want);
    }

    #[test]
    fn acl_entries_are_keys() {
        let got = acl(&[
            json!({"path": "/vms/100", "type": "user", "ugid": "a@pve", "roleid": "PVEVMUser", "propagate": 1}),
            json!({"path": "/", "type": "group", "ugid": "ops", "roleid": "PVEAuditor", "propagate": "0"}),
        ]);
        assert_eq!(got["/vms/100 user a@pve PVEVMUser"], "1");
        assert_eq!(got["/ group ops PVEAuditor"], "0");
    }

    /// The defaults table agrees with the official API schema wherever the schema states a
    /// default (read from `../shared`, never copied into the repository).
    #[test]
    fn defaults_agree_with_the_api_schema() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../shared/pve/api-schema.json");
        let Ok(text) = std::fs::read_to_string(&path) else {
            eprintln!(
                "SKIPPED: the API schema {} is not available next to the workspace",
                path.display()
            );
            return;
        };
        let schema: Value = serde_json::from_str(&text).unwrap();
        fn find<'a>(nodes: &'a Value, path: &str) -> Option<&'a Value> {
            nodes.as_array()?.iter().find_map(|n| {
                if n["path"] == path {
                    Some(n)
                } else {
                    find(&n["children"], path)
                }
            })
        }
        let table = [
            (Kind::Qemu, "/nodes/{node}/qemu/{vmid}/config", "PUT"),
            (Kind::Lxc, "/nodes/{node}/lxc/{vmid}/config", "PUT"),
            (Kind::User, "/access/users/{userid}", "PUT"),
            (Kind::Storage, "/storage/{storage}", "PUT"),
            (Kind::HaResource, "/cluster/ha/resources/{sid}", "PUT"),
            (Kind::HaGroup, "/cluster/ha/groups/{group}", "PUT"),
            (Kind::BackupJob, "/cluster/backup/{id}", "PUT"),
            (Kind::FirewallOptions, "/cluster/firewall/options", "PUT"),
            (
                Kind::GuestFirewallOptions,
                "/nodes/{node}/qemu/{vmid}/firewall/options",
                "PUT",
            ),
        ];
        let mut compared = 0;
        for (kind, path, method) in table {
            let node = find(&schema, path).unwrap_or_else(|| panic!("{path} not in the schema"));
            let props = &node["info"][method]["parameters"]["properties"];
            for (key, want) in kind.defaults() {
                let p = &props[*key];
                assert!(p.is_object(), "{kind:?}.{key} is not a parameter of {path}");
                if let Some(d) = p.get("default") {
                    let d = value(Kind::Pool, key, d).unwrap_or_default();
                    let d = canonical_bool(&d)
                        .filter(|_| p["type"] == "boolean")
                        .map_or(d.clone(), str::to_owned);
                    assert_eq!(&d, want, "{kind:?}.{key}: the schema's default is {d}");
                    compared += 1;
                }
            }
        }
        assert!(compared > 40, "only {compared} defaults compared");
    }
}
