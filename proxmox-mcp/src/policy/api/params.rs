//! Parameter escalations: what a request's parameters make it do beyond its path (lifting a
//! guest's protection, deleting its disks, giving it host resources, hook scripts, forced
//! stops, firewall lockdowns, storages in system trees, options that reach everyone), and
//! command-line options read as API parameters.

use serde_json::{Map, Value};

use super::{classify_api, decode, segments};
use crate::policy::Class;

/// Classifies a raw API request with its parameters: [`classify_api`], raised by what the
/// parameters make the request do:
///
/// - a `hookscript` anywhere (the host runs it at the guest's every start), raw QEMU `args` or
///   a cloud-init `cicustom` snippet on a guest's creation or config: Exec;
/// - a guest config change (`PUT`/`POST /nodes/{n}/{qemu|lxc}/{vmid}/config`) that lifts the
///   `protection` flag (any value but 1/true/yes/on), deletes or reverts it, sets, deletes or
///   reverts `tags`, deletes a disk or mount point ([`deletes_disk`]) or gives the guest host
///   resources ([`host_resource`]): Destructive;
/// - creating a guest with `force` in any spelling but a false one (a restore over the existing
///   guest) or with host resources: Destructive;
/// - a guest shutdown with `forceStop` in any spelling but a false one: Destructive (it ends in
///   a hard stop);
/// - the cluster or node firewall options ([`firewall_lockdown`]): Destructive;
/// - a backup or a backup job (`/nodes/{n}/vzdump`, `/cluster/backup[/{id}]`) with a `script`
///   hook: Exec; with `prune-backups`, `remove` or `stop` (deleting older backups, aborting
///   running ones) or a `dumpdir`/`tmpdir` in a system tree: Destructive;
/// - a storage whose `path`, `mountpoint`, `is_mountpoint` or `content-dirs` reaches into a
///   system tree ([`system_path`]): Exec (guests and uploads then write where the host reads
///   its own configuration and programs);
/// - datacenter options that affect every user or guest ([`EVERYONE_OPTIONS`]): Destructive;
/// - a user or token disabled, expired or moved out of groups, or keys changed, and an ACL
///   change that removes grants, gives `NoAccess` or stops propagation: Destructive (they can
///   lock admins out);
/// - an HA resource asked to stop or disable (a shutdown that ends in a hard stop), a
///   replication job's `remove_job`, lifting a volume's `protected` flag, and `skiplock`
///   anywhere (it writes past the lock another task holds): Destructive.
pub fn classify_api_call(method: &str, path: &str, params: &Map<String, Value>) -> Class {
    judge_api_call(method, path, params).class
}

/// What [`classify_api_call`] found: the class, and whether the request may destroy (its
/// endpoint is destructive, a parameter made it so, or it runs code of its own on a guest or
/// node: a protected guest refuses it even when the class is exec).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ApiVerdict {
    pub class: Class,
    pub may_destroy: bool,
}

/// [`classify_api_call`] with the may-destroy flag.
pub fn judge_api_call(method: &str, path: &str, params: &Map<String, Value>) -> ApiVerdict {
    let class = classify_api(method, path);
    let method = method.trim().to_ascii_uppercase();
    let runs_code = |c: Class| c == Class::Exec && method != "GET";
    if !matches!(method.as_str(), "PUT" | "POST") {
        return ApiVerdict {
            class,
            may_destroy: class == Class::Destructive || runs_code(class),
        };
    }
    let lower: Vec<String> = segments(path)
        .iter()
        .map(|s| s.to_ascii_lowercase())
        .collect();
    let l: Vec<&str> = lower.iter().map(String::as_str).collect();
    let truthy = |name: &str| param(params, name).is_some_and(|v| !is_false(v));
    let mut raised = Class::Read;
    let mut destroys = false;
    let mut raise = |c: Class| {
        destroys |= c == Class::Destructive;
        raised = raised.max(c);
    };
    if param(params, "hookscript").is_some() {
        raise(Class::Exec);
    }
    if truthy("skiplock") {
        raise(Class::Destructive);
    }
    match l.as_slice() {
        ["nodes", _, "qemu" | "lxc", vmid, "config"] => {
            if runs_on_host(params) || sets_guest_login(params) {
                raise(Class::Exec);
            }
            if unprotects(params)
                || deletes_disk(params)
                || host_resource(params).is_some()
                || takes_volume(params, vmid)
                || touches(params, &["lock"])
                || truthy("template")
                || cuts_nic(params)
                || risky_disk_option(params)
                || deletes_state_or_nic(params)
            {
                raise(Class::Destructive);
            }
        }
        ["nodes", _, "qemu" | "lxc"] => {
            if runs_on_host(params) {
                raise(Class::Exec);
            }
            let own = param(params, "vmid").map(scalar).unwrap_or_default();
            // PVE creates a privileged container unless told otherwise (`unprivileged`
            // defaults to 0); a restore takes the setting from its backup.
            let privileged = l[2] == "lxc"
                && !truthy("restore")
                && !param(params, "unprivileged").is_some_and(is_true);
            if truthy("force")
                || host_resource(params).is_some()
                || takes_volume(params, &own)
                || privileged
            {
                raise(Class::Destructive);
            }
        }
        [
            "nodes",
            _,
            "qemu" | "lxc",
            _,
            "firewall",
            "rules" | "groups",
            ..,
        ]
        | ["cluster", "sdn", "vnets", _, "firewall", "rules", ..]
            if blocking_rule(params) =>
        {
            raise(Class::Destructive);
        }
        [
            "nodes",
            _,
            "qemu" | "lxc",
            vmid,
            "move_disk" | "move_volume",
        ] if param(params, "target-vmid").is_some_and(|t| scalar(t) != *vmid) => {
            raise(Class::Destructive);
        }
        ["nodes", _, "qemu" | "lxc", _, "firewall", "options"]
        | ["cluster", "sdn", "vnets", _, "firewall", "options"]
            if firewall_lockdown(params) || lifts_filters(params) =>
        {
            raise(Class::Destructive);
        }
        [.., "firewall", "ipset" | "groups"] if param(params, "rename").is_some() => {
            raise(Class::Destructive);
        }
        ["nodes", _, "qemu" | "lxc", _, "status", "shutdown"] if truthy("forcestop") => {
            raise(Class::Destructive);
        }
        ["cluster", "firewall", "options"] | ["nodes", _, "firewall", "options"]
            if firewall_lockdown(params) =>
        {
            raise(Class::Destructive);
        }
        ["nodes", _, "vzdump"] | ["cluster", "backup", ..] => {
            if param(params, "script").is_some() {
                raise(Class::Exec);
            }
            let dirs = ["dumpdir", "tmpdir"]
                .iter()
                .any(|k| param(params, k).is_some_and(|v| any_text(v, system_path)));
            let stop_mode =
                param(params, "mode").is_some_and(|v| any_text(v, |s| clean(s) == "stop"));
            let switched_off = l[0] == "cluster"
                && (param(params, "enabled").is_some_and(is_false)
                    || param(params, "exclude").is_some()
                    || touches(params, &["enabled", "exclude"]));
            // Changing an existing job's selection, node or storage can drop guests from it:
            // its guests are named, so protected ones refuse.
            let reselects = l.len() == 3 && method == "PUT" && touches(params, JOB_SELECTION);
            if param(params, "prune-backups").is_some()
                || truthy("remove")
                || truthy("stop")
                || dirs
                || stop_mode
                || switched_off
                || reselects
            {
                raise(Class::Destructive);
            }
        }
        ["storage"] | ["storage", _] => {
            if storage_reaches_system(params) || remote_storage(params) {
                raise(Class::Exec);
            }
            // A storage's retention prunes every guest's backups at their next backup to it;
            // disabling it or narrowing its nodes stops its guests from starting there.
            if touches(params, &["prune-backups", "nodes"]) || truthy("disable") {
                raise(Class::Destructive);
            }
            // A new or removed encryption key makes every backup encrypted with the old one
            // unrestorable; the content types of an existing storage decide whether backups
            // and disks may still go there.
            if touches(params, &["encryption-key", "master-pubkey"])
                || (l.len() == 2 && touches(params, &["content"]))
            {
                raise(Class::Destructive);
            }
        }
        ["cluster", "options"] if touches(params, EVERYONE_OPTIONS) => {
            raise(Class::Destructive);
        }
        ["access", "acl"] if revokes(params) || grants_power(params) => {
            raise(Class::Destructive);
        }
        ["access", "users", ..] if locks_out(params) || empowers(params) => {
            raise(Class::Destructive);
        }
        ["access", "roles", _] if param(params, "privs").is_some() => {
            // Everyone holding the role gets the new privileges at once.
            raise(Class::Destructive);
        }
        ["cluster", "ha", "resources", ..]
            if param(params, "state").is_some_and(|v| {
                any_text(v, |s| {
                    matches!(clean(s).as_str(), "stopped" | "disabled" | "ignored")
                })
            }) || gives_up_recovery(params) =>
        {
            raise(Class::Destructive);
        }
        // A restricted group or a strict node rule keeps its guests off every other node: with
        // those nodes down, they stay stopped.
        ["cluster", "ha", "groups", ..] if truthy("restricted") => raise(Class::Destructive),
        ["cluster", "ha", "rules", ..] if truthy("strict") => raise(Class::Destructive),
        // Moving guests between pools changes who may act on them (pool ACLs follow); taking
        // them out drops them from pool-selected backup jobs.
        ["pools"] | ["pools", _] if truthy("allow-move") || truthy("delete") => {
            raise(Class::Destructive)
        }
        ["cluster", "replication", ..] if param(params, "remove_job").is_some() => {
            raise(Class::Destructive);
        }
        ["nodes", _, "storage", _, "content", _, ..]
            if param(params, "protected").is_some_and(|v| !is_true(v)) =>
        {
            raise(Class::Destructive);
        }
        _ => {}
    }
    let class = class.max(raised);
    ApiVerdict {
        class,
        may_destroy: destroys || class == Class::Destructive || runs_code(class),
    }
}

/// HA recovery switched off: no restart or relocation after a failure (`max_restart: 0`,
/// `max_relocate: 0`).
fn gives_up_recovery(params: &Map<String, Value>) -> bool {
    ["max_restart", "max_relocate"].iter().any(|k| {
        param(params, k)
            .is_some_and(|v| any_text(v, |s| clean(s).parse::<f64>().is_ok_and(|n| n == 0.0)))
    })
}

/// A disk option that loses or freezes the guest's data: writes never flushed
/// (`cache=unsafe`), every write discarded at stop (`snapshot=1`), the disk made read-only
/// (`ro=1`), or left out of every backup (`backup=0`).
fn risky_disk_option(params: &Map<String, Value>) -> bool {
    params.iter().any(|(k, v)| {
        disk_key(&param_key(k))
            && any_text(v, |s| {
                property_items(s).iter().any(|i| {
                    i.split_once('=').is_some_and(|(k, v)| {
                        let v = Value::String(v.to_string());
                        match clean(k).as_str() {
                            "cache" => clean(v.as_str().unwrap_or_default()) == "unsafe",
                            "snapshot" | "ro" => !is_false(&v),
                            "backup" => is_false(&v),
                            _ => false,
                        }
                    })
                })
            })
    })
}

/// A deletion of a hibernated guest's saved memory (`vmstate`) or of a network device (the
/// guest is cut off at once).
fn deletes_state_or_nic(params: &Map<String, Value>) -> bool {
    ["delete", "revert"].iter().any(|d| {
        param(params, d).is_some_and(|v| {
            list_items(v).iter().any(|i| {
                i == "vmstate"
                    || i.strip_prefix("net")
                        .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
            })
        })
    })
}

/// What a backup job backs up and where (its schedule stays an ordinary change).
const JOB_SELECTION: &[&str] = &["vmid", "pool", "all", "node", "storage"];

/// Datacenter options whose change reaches every user or guest: HA shutdown policy, resource
/// scheduling and fencing (guests move or nodes fence), the migration network and its
/// encryption, the proxy every node fetches through, who may set which tags (protected tags
/// guard guests), and the second-factor settings (changing them breaks registered keys; for
/// `root@pam` that is refused outright by [`super::auth_lockout`]).
pub const EVERYONE_OPTIONS: &[&str] = &[
    "ha",
    "crs",
    "fencing",
    "migration",
    "migration_unsecure",
    "http_proxy",
    "registered-tags",
    "user-tag-access",
    "u2f",
    "webauthn",
];

/// Whether `params` set, delete or revert any of `keys`.
fn touches(params: &Map<String, Value>, keys: &[&str]) -> bool {
    keys.iter().any(|k| param(params, k).is_some())
        || ["delete", "revert"].iter().any(|d| {
            param(params, d)
                .is_some_and(|v| list_items(v).iter().any(|i| keys.contains(&i.as_str())))
        })
}

/// A user or token change that can lock its holder out: disabled, an expiry set, its groups
/// replaced (not appended to), its keys changed, or anything deleted back to defaults.
fn locks_out(params: &Map<String, Value>) -> bool {
    param(params, "enable").is_some_and(|v| !is_true(v))
        || param(params, "expire").is_some()
        || param(params, "keys").is_some()
        || param(params, "delete").is_some()
        || (param(params, "groups").is_some() && !param(params, "append").is_some_and(is_true))
}

/// An ACL change that can take access away: grants removed (`delete`), the `NoAccess` role
/// given, or propagation turned off (sub-paths lose what they inherited).
fn revokes(params: &Map<String, Value>) -> bool {
    param(params, "delete").is_some_and(|v| !is_false(v))
        || param(params, "roles").is_some_and(|v| list_items(v).iter().any(|r| r == "noaccess"))
        || param(params, "propagate").is_some_and(|v| !is_true(v))
}

/// A guest firewall rule that blocks (`DROP`, `REJECT`) or pulls in a security group: it can
/// cut the guest off.
fn blocking_rule(params: &Map<String, Value>) -> bool {
    param(params, "action")
        .is_some_and(|v| any_text(v, |s| !matches!(clean(s).as_str(), "accept" | "")))
        || param(params, "type").is_some_and(|v| any_text(v, |s| clean(s) == "group"))
}

/// A guest's IP or MAC filter turned off: it may then spoof another host's addresses (a
/// gateway, a node's management IP).
fn lifts_filters(params: &Map<String, Value>) -> bool {
    const FILTERS: &[&str] = &["ipfilter", "macfilter"];
    FILTERS
        .iter()
        .any(|k| param(params, k).is_some_and(|v| !is_true(v)))
        || ["delete", "revert"].iter().any(|d| {
            param(params, d)
                .is_some_and(|v| list_items(v).iter().any(|i| FILTERS.contains(&i.as_str())))
        })
}

/// A network device taken out of the firewall (`net0: …,firewall=0`) or unplugged
/// (`link_down=1`).
fn cuts_nic(params: &Map<String, Value>) -> bool {
    params.iter().any(|(k, v)| {
        let key = param_key(k);
        key.starts_with("net")
            && any_text(v, |s| {
                property_items(s).iter().any(|i| {
                    i.split_once('=').is_some_and(|(k, v)| {
                        let v = Value::String(v.to_string());
                        match clean(k).as_str() {
                            "firewall" => is_false(&v),
                            "link_down" => !is_false(&v),
                            _ => false,
                        }
                    })
                })
            })
    })
}

/// Built-in roles whose grant gives no power over accounts, permissions, nodes or guests'
/// configuration: watching, using guests and storages as a user. Any other role (the admin
/// roles, and custom roles whose privileges are not known here) is a grant a human approves.
const PLAIN_ROLES: &[&str] = &[
    "pveauditor",
    "pvevmuser",
    "pvedatastoreuser",
    "pvetemplateuser",
    "pvepooluser",
    "pvemappinguser",
    "pvesdnuser",
];

/// An ACL grant (not a removal) of a role beyond [`PLAIN_ROLES`], or of any role but the
/// auditor's over many guests at once: the root, all guests, all storages or a pool (a plain
/// user role there still powers off, reconfigures and backs up every guest below).
fn grants_power(params: &Map<String, Value>) -> bool {
    let removal = param(params, "delete").is_some_and(|v| !is_false(v));
    let broad = param(params, "path").is_some_and(|v| {
        any_text(v, |p| {
            let p = clean(p);
            let segs: Vec<&str> = p.split('/').filter(|s| !s.is_empty()).collect();
            matches!(segs.as_slice(), [] | ["vms"] | ["storage"] | ["pool", ..])
        })
    });
    !removal
        && param(params, "roles").is_some_and(|v| {
            list_items(v).iter().any(|r| {
                !PLAIN_ROLES.contains(&r.as_str()) || (broad && r.as_str() != "pveauditor")
            })
        })
}

/// A user or token change that hands out power: a password set (an account someone now logs
/// in with), group membership given (the groups' grants follow), or a token's privilege
/// separation turned off (it gets every right of its user).
fn empowers(params: &Map<String, Value>) -> bool {
    param(params, "password").is_some()
        || param(params, "groups").is_some()
        || param(params, "privsep").is_some_and(|v| !is_true(v))
}

/// Keys that set who logs in to a guest and how: cloud-init's user, password and SSH keys
/// take effect at the guest's next boot, over whatever accounts it has.
fn sets_guest_login(params: &Map<String, Value>) -> bool {
    ["cipassword", "sshkeys", "ciuser"]
        .iter()
        .any(|k| param(params, k).is_some())
}

/// Whether a guest's disk or mount point values (or `import-from`) name a volume of another
/// guest than `own`: attaching it shares a live disk, importing it copies that guest's data.
fn takes_volume(params: &Map<String, Value>, own: &str) -> bool {
    let own = own.trim().parse::<u32>().ok();
    params.iter().any(|(k, v)| {
        let key = param_key(k);
        disk_key(&key)
            && any_text(v, |s| {
                super::guests::volume_vmids(&without_linked_base(s))
                    .into_iter()
                    .any(|g| Some(g) != own)
            })
    })
}

/// A disk value without the template base a linked clone's volume is named after
/// (`base-110-disk-0/vm-120-disk-0` is guest 120's own disk).
fn without_linked_base(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(at) = rest.find("base-") {
        out.push_str(&rest[..at]);
        let tail = &rest[at..];
        let base = tail.find('/').map(|slash| &tail[..slash]).filter(|b| {
            let mut parts = b.trim_start_matches("base-").splitn(3, '-');
            let digits = |p: Option<&str>| {
                p.is_some_and(|p| !p.is_empty() && p.bytes().all(|c| c.is_ascii_digit()))
            };
            digits(parts.next()) && parts.next() == Some("disk") && digits(parts.next())
        });
        match base {
            Some(b) => rest = &tail[b.len() + 1..],
            None => {
                out.push_str("base-");
                rest = &tail[5..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// A scalar parameter as text (a number or a string), trimmed.
fn scalar(v: &Value) -> String {
    match v {
        Value::String(s) => clean(s),
        other => other.to_string(),
    }
}

/// A storage on another host (NFS, CIFS, PBS, iSCSI, GlusterFS, external Ceph, ESXi): guests'
/// disks and backups written to it leave the cluster, so defining or re-pointing one is like
/// making the node send data to a server it names.
fn remote_storage(params: &Map<String, Value>) -> bool {
    ["server", "server2", "portal", "monhost"]
        .iter()
        .any(|k| param(params, k).is_some())
}

/// Whether a storage definition reaches into a system tree: its `path`, `mountpoint` or
/// `is_mountpoint` (when a path), or a `content-dirs` entry that is absolute or climbs out
/// with `..`.
fn storage_reaches_system(params: &Map<String, Value>) -> bool {
    let paths = ["path", "mountpoint"]
        .iter()
        .any(|k| param(params, k).is_some_and(|v| any_text(v, system_path)));
    let mountpoint = param(params, "is_mountpoint").is_some_and(|v| {
        any_text(v, |s| {
            let s = clean(s);
            (s.starts_with('/') || s.contains("..")) && system_path(&s)
        })
    });
    let dirs = param(params, "content-dirs").is_some_and(|v| {
        any_text(v, |s| {
            decode(s).split([',', ';']).any(|item| {
                let dir = item.split_once('=').map_or(item, |(_, d)| d);
                let dir = dir.trim().trim_matches(['"', '\'', '`']).trim();
                dir.starts_with('/') || dir.split(['/', '\\']).any(|p| p.trim() == "..")
            })
        })
    });
    paths || mountpoint || dirs
}

/// Trees a storage, dump directory or mapping must not reach: where the host keeps its
/// configuration, programs, accounts, boot files, kernel interfaces and cluster state.
pub const SYSTEM_TREES: &[&str] = &[
    "/etc",
    "/root",
    "/home",
    "/usr",
    "/bin",
    "/sbin",
    "/lib",
    "/lib32",
    "/lib64",
    "/libx32",
    "/boot",
    "/dev",
    "/proc",
    "/sys",
    "/run",
    "/opt",
    "/snap",
    "/var/lib/pve-cluster",
    "/var/lib/pve-manager",
    "/var/lib/pve",
    "/var/lib/ceph",
    "/var/lib/dpkg",
    "/var/lib/apt",
    "/var/lib/systemd",
    "/var/lib/lxc",
    "/var/lib/rrdcached",
    "/var/spool",
    "/var/log",
];

/// Whether a host path is, lies inside or contains a system tree ([`SYSTEM_TREES`]): `/`,
/// `/var`, `/etc/pve`, `/usr/local/bin`, `/var/lib/../lib/pve-cluster` all are; `/mnt/data`,
/// `/var/lib/vz`, `/srv/backup`, `/tank/images` are not. The path is decoded, unquoted and
/// resolved lexically (`.`, `..`, doubled slashes); a relative or empty path counts, since
/// what it is relative to is not known. Symlinks cannot be seen from here.
pub fn system_path(path: &str) -> bool {
    let raw = decode(path);
    let raw = raw.trim().trim_matches(['"', '\'', '`']).trim();
    if !raw.starts_with('/') {
        return true;
    }
    let mut parts: Vec<&str> = Vec::new();
    for p in raw.split(['/', '\\']) {
        match p.trim() {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            p => parts.push(p),
        }
    }
    if parts.is_empty() {
        return true;
    }
    let norm = format!("/{}", parts.join("/")).to_ascii_lowercase();
    SYSTEM_TREES.iter().any(|t| {
        norm == *t
            || norm.strip_prefix(t).is_some_and(|r| r.starts_with('/'))
            || t.strip_prefix(norm.as_str())
                .is_some_and(|r| r.starts_with('/'))
    })
}

/// Whether any text in a parameter value (a string, or a list's items) satisfies `f`.
fn any_text(v: &Value, f: impl Fn(&str) -> bool + Copy) -> bool {
    match v {
        Value::String(s) => f(s),
        Value::Array(items) => items.iter().any(|i| any_text(i, f)),
        Value::Null => false,
        other => f(&other.to_string()),
    }
}

/// A hook script, raw QEMU arguments, a cloud-init custom snippet, or a container's init
/// command and environment: code the host or the guest runs when the guest starts, outside
/// what its config shows.
fn runs_on_host(params: &Map<String, Value>) -> bool {
    ["hookscript", "args", "cicustom", "entrypoint", "env"]
        .iter()
        .any(|k| param(params, k).is_some())
}

/// The value of parameter `name` (lowercase), its key compared decoded, trimmed, without
/// leading dashes and in any case.
pub(super) fn param<'a>(params: &'a Map<String, Value>, name: &str) -> Option<&'a Value> {
    params
        .iter()
        .find_map(|(k, v)| (param_key(k) == name).then_some(v))
}

/// A parameter name as compared: decoded, trimmed, without leading dashes, lowercase.
pub(super) fn param_key(k: &str) -> String {
    decode(k)
        .trim()
        .trim_start_matches('-')
        .trim()
        .to_ascii_lowercase()
}

/// Whether a change of the cluster or node firewall options can disable the firewall or lock
/// the nodes down: `enable` set at all (a false value disables it; a true one turns on its
/// rules and the cluster's default `DROP` input policy, which can cut off the API and SSH), an
/// input, output or forward policy other than `ACCEPT`, or any of these deleted (back to the
/// defaults: cluster firewall off, input policy `DROP`).
pub fn firewall_lockdown(params: &Map<String, Value>) -> bool {
    const POLICIES: &[&str] = &["policy_in", "policy_out", "policy_forward"];
    if param(params, "enable").is_some() {
        return true;
    }
    let blocks = POLICIES.iter().any(|p| {
        param(params, p).is_some_and(|v| !matches!(v, Value::String(s) if clean(s) == "accept"))
    });
    let resets = ["delete", "revert"].iter().any(|k| {
        param(params, k).is_some_and(|v| {
            list_items(v)
                .iter()
                .any(|i| i == "enable" || POLICIES.contains(&i.as_str()))
        })
    });
    blocks || resets
}

/// Whether config parameters delete a guest's disk or mount point: `unusedN` deletes the
/// volume itself; a drive (`scsiN`, `virtioN`, `sataN`, `ideN`, `efidiskN`, `tpmstateN`) or
/// mount point (`rootfs`, `mpN`) is pulled from the guest, and deleted with `force`.
pub fn deletes_disk(params: &Map<String, Value>) -> bool {
    param(params, "delete").is_some_and(|v| list_items(v).iter().any(|i| disk_key(i)))
}

/// What a guest config change or creation gives the guest of the host's own, if anything: a
/// disk or mount point whose volume is a host path (`/dev/sdb`, a file, a bind-mounted
/// directory, used in place), a disk imported from a host device (`import-from=/dev/…`), a
/// PCI, USB (not SPICE), serial or parallel device passed through, a host directory shared
/// with virtiofs, a container device node, or a container's right to mount file systems
/// (`features: mount=…`; in a privileged container, the host's own disks). Every one reaches
/// past the guest, so it is Destructive (a human approves it, and a protected guest refuses).
pub fn host_resource(params: &Map<String, Value>) -> Option<String> {
    params.iter().find_map(|(k, v)| {
        let key = param_key(k);
        texts(v)
            .iter()
            .find_map(|text| host_resource_in(&key, text))
    })
}

/// [`host_resource`] for one value of `key`.
fn host_resource_in(key: &str, value: &str) -> Option<String> {
    let items = property_items(value);
    let item = |name: &str| {
        items.iter().find_map(|i| {
            i.split_once('=')
                .filter(|(k, _)| k.trim().eq_ignore_ascii_case(name))
                .map(|(_, v)| v.trim().to_string())
        })
    };
    let stem = key.trim_end_matches(|c: char| c.is_ascii_digit());
    let numbered = stem.len() < key.len();
    if disk_key(key) && stem != "unused" {
        // PVE takes the default key's value (`file`, `volume`) from whichever item has no
        // `=`, wherever it stands: every such item is a candidate.
        let volumes = items
            .iter()
            .filter(|i| !i.contains('='))
            .cloned()
            .chain(item("file"))
            .chain(item("volume"));
        for volume in volumes {
            if volume.starts_with('/') || decode(&volume).trim().starts_with('/') {
                return Some(format!("{key} is the host path {volume}"));
            }
        }
        if let Some(from) =
            item("import-from").filter(|f| host_device(f) || decode(f).trim().starts_with('/'))
        {
            return Some(format!("{key} copies the host's {from}"));
        }
        return None;
    }
    match stem {
        "hostpci" | "virtiofs" | "parallel" | "dev" if numbered => {
            Some(format!("{key} passes a host device or directory through"))
        }
        "usb" if numbered => {
            let host = item("host")
                .or_else(|| items.iter().find(|i| !i.contains('=')).cloned())
                .unwrap_or_default();
            (!host.eq_ignore_ascii_case("spice"))
                .then(|| format!("{key} passes a host USB device through"))
        }
        "serial" if numbered && items.iter().any(|i| i.starts_with('/')) => {
            Some(format!("{key} passes the host's serial port through"))
        }
        "features" if !numbered && item("mount").is_some_and(|m| !m.is_empty()) => Some(
            "features lets the container mount file systems (in a privileged container, the \
             host's own disks)"
                .to_string(),
        ),
        _ => None,
    }
}

/// Files a request hands a guest from the host, or reads out of a guest or its backups, by
/// their path: a disk, CD-ROM or mount point that is a host path, an `import-from` source, the
/// `file` a guest agent reads, the `filepath` a file restore downloads (plain or base64, as
/// PVE takes it). Each is checked against the secrets no route may read.
pub fn files_read(method: &str, path: &str, params: &Map<String, Value>) -> Vec<String> {
    let lower: Vec<String> = segments(path)
        .iter()
        .map(|s| s.to_ascii_lowercase())
        .collect();
    let l: Vec<&str> = lower.iter().map(String::as_str).collect();
    let absolute = |s: &str| {
        let d = decode(s);
        let d = d.trim().trim_matches(['"', '\'', '`']).trim();
        d.starts_with('/').then(|| d.to_string())
    };
    let get = method.trim().eq_ignore_ascii_case("GET");
    match l.as_slice() {
        ["nodes", _, "qemu", _, "agent", "file-read"] if get => param(params, "file")
            .map(|v| texts(v).iter().filter_map(|t| absolute(t)).collect())
            .unwrap_or_default(),
        [
            "nodes",
            _,
            "storage",
            _,
            "file-restore",
            "download" | "list",
        ] if get => param(params, "filepath")
            .map(|v| {
                texts(v)
                    .iter()
                    .flat_map(|t| {
                        let decoded = base64_text(t);
                        [absolute(t), decoded.as_deref().and_then(absolute)]
                    })
                    .flatten()
                    .collect()
            })
            .unwrap_or_default(),
        ["nodes", _, "qemu" | "lxc", ..] if !get => params
            .iter()
            .filter(|(k, _)| disk_key(&param_key(k)))
            .flat_map(|(_, v)| texts(v))
            .flat_map(|t| {
                property_items(&t)
                    .into_iter()
                    .map(|i| match i.split_once('=') {
                        Some((k, v))
                            if matches!(clean(k).as_str(), "file" | "volume" | "import-from") =>
                        {
                            v.to_string()
                        }
                        Some(_) => String::new(),
                        None => i,
                    })
                    .collect::<Vec<_>>()
            })
            .filter_map(|t| absolute(&t))
            .collect(),
        _ => Vec::new(),
    }
}

/// `text` decoded from standard base64, when it is that and the result is text.
fn base64_text(text: &str) -> Option<String> {
    use base64::Engine as _;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(text.trim())
        .ok()?;
    String::from_utf8(bytes).ok()
}

/// The items of a property string (`local-lvm:32,cache=none`), decoded, trimmed, unquoted.
pub(super) fn property_items(value: &str) -> Vec<String> {
    decode(value)
        .split(',')
        .map(|i| i.trim().trim_matches(['"', '\'', '`']).trim().to_string())
        .filter(|i| !i.is_empty())
        .collect()
}

/// Every text in a parameter value: a string, each item of a list, a number's digits.
fn texts(v: &Value) -> Vec<String> {
    match v {
        Value::String(s) => vec![s.clone()],
        Value::Array(items) => items.iter().flat_map(texts).collect(),
        Value::Null => Vec::new(),
        other => vec![other.to_string()],
    }
}

/// A host device or kernel file: what importing it copies is the host's own data.
pub fn host_device(path: &str) -> bool {
    let p = decode(path);
    let p = p.trim();
    ["/dev/", "/proc/", "/sys/"]
        .iter()
        .any(|d| p.starts_with(d))
}

/// A guest config key naming a disk or mount point. `cdrom` is PVE's alias of
/// `ide2: …,media=cdrom` (create and update rewrite it), so it is a disk too.
fn disk_key(key: &str) -> bool {
    if key == "rootfs" || key == "cdrom" {
        return true;
    }
    let stem = key.trim_end_matches(|c: char| c.is_ascii_digit());
    stem.len() < key.len()
        && matches!(
            stem,
            "unused" | "scsi" | "virtio" | "sata" | "ide" | "efidisk" | "tpmstate" | "mp"
        )
}

/// Whether config parameters can take a guest's protection away: `protection` set to anything
/// but a true value, `protection` or `tags` in `delete`/`revert`, or `tags` set at all.
pub fn unprotects(params: &Map<String, Value>) -> bool {
    params.iter().any(|(k, v)| {
        match decode(k)
            .trim()
            .trim_start_matches('-')
            .to_ascii_lowercase()
            .as_str()
        {
            "protection" => !is_true(v),
            "tags" => true,
            "delete" | "revert" => list_items(v)
                .iter()
                .any(|i| matches!(i.as_str(), "protection" | "tags")),
            _ => false,
        }
    })
}

/// PVE's true spellings for a boolean; everything else (0, false, no, off, empty) is false.
pub(super) fn is_true(v: &Value) -> bool {
    match v {
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64() == Some(1.0),
        Value::String(s) => matches!(clean(s).as_str(), "1" | "true" | "yes" | "on"),
        _ => false,
    }
}

/// PVE's false spellings for a boolean (0, false, no, off, in any case); anything else may be
/// taken as true, so an option that makes a request harsher counts unless it is plainly off.
pub(super) fn is_false(v: &Value) -> bool {
    match v {
        Value::Bool(b) => !*b,
        Value::Number(n) => n.as_f64() == Some(0.0),
        Value::String(s) => matches!(clean(s).as_str(), "0" | "false" | "no" | "off"),
        _ => false,
    }
}

/// A scalar parameter as PVE reads it: decoded, trimmed, unquoted, lowercase.
pub(super) fn clean(s: &str) -> String {
    decode(s)
        .trim()
        .trim_matches(['"', '\'', '`'])
        .trim()
        .to_ascii_lowercase()
}

/// Whether `c` separates the items of a list parameter: PVE splits on commas, semicolons and
/// whitespace, and on NUL alone when a value holds one; every control character counts here,
/// so no spelling hides an item.
pub fn is_list_sep(c: char) -> bool {
    matches!(c, ',' | ';') || c.is_whitespace() || c.is_control()
}

/// The items of a list parameter (`a,b;c d` or a JSON array), decoded and lowercased.
pub(super) fn list_items(v: &Value) -> Vec<String> {
    match v {
        Value::String(s) => decode(s)
            .split(is_list_sep)
            .map(|i| i.trim_matches(['"', '\'', '`']).trim().to_ascii_lowercase())
            .filter(|i| !i.is_empty())
            .collect(),
        Value::Array(items) => items.iter().flat_map(list_items).collect(),
        _ => Vec::new(),
    }
}

/// Command-line options (`pvesh`, `qm set`) as API parameters: `--key value`, `-key value`,
/// `--key=value`; an option without a value (a boolean flag) is `1`. PVE's CLI reads option
/// names in any case and accepts any unique prefix of one (`--prot 0` is `--protection 0`),
/// so names are lowercased, and a name that is not one the rules read but begins one of them
/// ([`CLI_KEYS`]) counts as each name it may abbreviate as well.
pub fn cli_options(args: &[String]) -> Map<String, Value> {
    let mut out = Map::new();
    let mut k = 0;
    while k < args.len() {
        let a = &args[k];
        k += 1;
        let Some(opt) = a.strip_prefix("--").or_else(|| a.strip_prefix('-')) else {
            continue;
        };
        if opt.is_empty() || opt.starts_with(|c: char| c.is_ascii_digit()) {
            continue;
        }
        let (key, value) = match opt.split_once('=') {
            Some((key, value)) => (key, value.to_string()),
            None => match args.get(k) {
                Some(next) if !next.starts_with('-') || next.parse::<f64>().is_ok() => {
                    k += 1;
                    (opt, next.clone())
                }
                _ => (opt, "1".to_string()),
            },
        };
        let key = key.to_ascii_lowercase();
        if !CLI_KEYS.contains(&key.as_str()) {
            for full in CLI_KEYS.iter().filter(|f| f.starts_with(key.as_str())) {
                out.entry(full.to_string())
                    .or_insert_with(|| Value::String(value.clone()));
            }
        }
        out.insert(key, Value::String(value));
    }
    out
}

/// Every parameter name a rule reads (the test beside this module checks that the rules name
/// no other): what an abbreviated command-line option may stand for.
pub const CLI_KEYS: &[&str] = &[
    // guests: protection, hooks, logins, disks, locks, templates, containers
    "protection",
    "tags",
    "delete",
    "revert",
    "hookscript",
    "args",
    "cicustom",
    "entrypoint",
    "env",
    "cipassword",
    "sshkeys",
    "ciuser",
    "skiplock",
    "force",
    "forcestop",
    "lock",
    "template",
    "unprivileged",
    "features",
    "rootfs",
    "cdrom",
    "file",
    "filepath",
    "efidisk0",
    "tpmstate0",
    "target-vmid",
    "vmid",
    "vms",
    "sid",
    "resources",
    "target",
    "archive",
    "all",
    "pool",
    "id",
    // backups, storages, HA, replication
    "script",
    "remove",
    "stop",
    "mode",
    "prune-backups",
    "encryption-key",
    "master-pubkey",
    "content",
    "node",
    "restore",
    "dumpdir",
    "tmpdir",
    "enabled",
    "exclude",
    "path",
    "mountpoint",
    "is_mountpoint",
    "content-dirs",
    "server",
    "server2",
    "portal",
    "monhost",
    "nodes",
    "disable",
    "state",
    "max_restart",
    "max_relocate",
    "restricted",
    "strict",
    "allow-move",
    "remove_job",
    "protected",
    // firewall
    "enable",
    "policy_in",
    "policy_out",
    "policy_forward",
    "action",
    "type",
    "rename",
    "ipfilter",
    "macfilter",
    // access
    "roles",
    "propagate",
    "groups",
    "append",
    "password",
    "privsep",
    "privs",
    "expire",
    "keys",
    "userid",
    "users",
    "tokens",
    "user",
    "tokenid",
    "realm",
    "tfa",
    // datacenter options
    "ha",
    "crs",
    "fencing",
    "migration",
    "migration_unsecure",
    "http_proxy",
    "registered-tags",
    "user-tag-access",
    "u2f",
    "webauthn",
];
