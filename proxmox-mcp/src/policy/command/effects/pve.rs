//! What the Proxmox VE command-line tools do, by subcommand.

use super::{Verdict, v};
use crate::policy::Class::{Destructive, Exec, Lifecycle, Modify, Read};
use crate::policy::api::{
    classify_api_call, cli_options, deletes_disk, host_device, host_resource, unprotects,
};

fn sub(args: &[String], k: usize) -> &str {
    args.get(k).map(String::as_str).unwrap_or("")
}

fn has(args: &[String], flags: &[&str]) -> bool {
    args.iter().any(|a| {
        flags
            .iter()
            .any(|f| a == f || a.starts_with(&format!("{f}=")))
    })
}

fn lifecycle(s: &str) -> bool {
    matches!(
        s,
        "start" | "stop" | "shutdown" | "reboot" | "suspend" | "resume"
    )
}

/// A guest's power command (`qm stop 100`, `pct shutdown 101 --forceStop 1`) classified as the
/// very API request it makes, so the shell and the API give one verdict: `stop` pulls the plug
/// and a forced shutdown ends in one, both Destructive.
fn power(kind: &str, verb: &str, args: &[String]) -> Verdict {
    let params = cli_options(args.get(1..).unwrap_or_default());
    let class = classify_api_call(
        "POST",
        &format!("/nodes/localhost/{kind}/0/status/{verb}"),
        &params,
    );
    let noun = if kind == "qemu" { "VM" } else { "container" };
    match (verb, class) {
        ("stop", _) => v(
            class,
            &format!("hard-stops the {noun}: pulls the plug, unsaved guest data is lost"),
        ),
        (_, Destructive) => v(
            class,
            &format!("shuts the {noun} down, hard-stopping it if it does not stop in time"),
        ),
        _ => v(class, &format!("changes the {noun}'s power state")),
    }
}

/// `qm set`/`pct set` classified as the config request they make: lifting
/// protection, touching tags, deleting a disk or giving the guest host resources (a host path
/// as a disk, a bind mount, passthrough) is Destructive, a hook script or raw QEMU arguments
/// (code the host runs) Exec.
fn set(kind: &str, args: &[String]) -> Verdict {
    let params = cli_options(args.get(1..).unwrap_or_default());
    let class = classify_api_call("PUT", &format!("/nodes/localhost/{kind}/0/config"), &params);
    let noun = if kind == "qemu" { "VM" } else { "container" };
    let host = host_resource(&params);
    match class {
        Exec => v(
            Exec,
            &format!("sets a hook script or raw arguments the host runs when the {noun} starts"),
        ),
        Destructive if unprotects(&params) => v(
            Destructive,
            &format!(
                "lifts the {noun}'s protection flag or changes its tags (a protected tag could go)"
            ),
        ),
        Destructive if deletes_disk(&params) => v(
            Destructive,
            &format!("removes a disk or mount point from the {noun} (an unused one is deleted)"),
        ),
        Destructive if host.is_some() => v(
            Destructive,
            &format!(
                "gives the {noun} the host's own resources: {}",
                host.unwrap_or_default()
            ),
        ),
        _ if params.keys().any(|k| k.trim_start_matches('-') == "delete") => {
            v(class, &format!("removes {noun} configuration entries"))
        }
        _ => v(class, &format!("changes the {noun}'s configuration")),
    }
}

/// `qm create`/`pct create` classified as the request they make: raw QEMU arguments or a hook
/// script are Exec, host devices, paths or bind mounts Destructive.
fn create(kind: &str, args: &[String]) -> Verdict {
    let params = cli_options(args.get(1..).unwrap_or_default());
    let class = classify_api_call("POST", &format!("/nodes/localhost/{kind}"), &params);
    let noun = if kind == "qemu" { "VM" } else { "container" };
    match (class, host_resource(&params)) {
        (Exec, _) => v(
            Exec,
            &format!("creates a {noun} with a hook script or raw arguments the host runs"),
        ),
        (Destructive, Some(what)) => v(
            Destructive,
            &format!("creates a {noun} with the host's own resources: {what}"),
        ),
        _ => v(class, &format!("creates a {noun}")),
    }
}

/// `qm importdisk`/`qm disk import`: copying a host device (`/dev/…`, or `/proc`, `/sys`) into
/// a guest's disk hands the guest the host's data, Destructive; an image file is Modify.
fn import_disk(args: &[String]) -> Verdict {
    match args.iter().find(|a| host_device(a)) {
        Some(dev) => v(
            Destructive,
            &format!("copies the host's {dev} into a guest disk, handing the guest its data"),
        ),
        None => v(Modify, "imports a disk image into a VM"),
    }
}

/// `qm`, `pct` and friends; `None` when `prog` is not a Proxmox tool.
pub(crate) fn lookup(prog: &str, args: &[String]) -> Option<Verdict> {
    let s0 = sub(args, 0);
    let s1 = sub(args, 1);
    Some(match prog {
        "qm" => qm(s0, s1, args),
        "pct" => pct(s0, args),
        "pvesh" => pvesh(s0, args),
        "pveum" => pveum(args),
        "pvecm" => match s0 {
            "status" | "nodes" | "help" | "" => v(Read, "shows cluster membership"),
            "delnode" => v(Destructive, "removes a node from the cluster").node(),
            "add" => v(
                Destructive,
                "joins this node to a cluster, replacing its own configuration with the cluster's",
            ),
            "expected" => v(
                Destructive,
                "overrides the expected votes, which can let a partition act without quorum",
            ),
            "qdevice" if s1 == "remove" => v(Destructive, "removes the cluster's QDevice"),
            "updatecerts" => v(
                Destructive,
                "regenerates or redistributes the node's certificates and SSH keys, which can \
                 lock the web interface, the API and migrations out",
            ),
            "mtunnel" => v(Exec, "opens a migration tunnel"),
            _ => v(Modify, "changes the cluster configuration"),
        },
        "pvesm" => match s0 {
            "status" | "list" | "path" | "scan" | "help" | "apiinfo" | "extractconfig"
            | "nfsscan" | "cifsscan" | "glusterfsscan" | "iscsiscan" | "lvmscan"
            | "lvmthinscan" | "zfsscan" | "" => v(Read, "shows storage state"),
            "prune-backups" if has(args, &["--dry-run"]) => {
                v(Read, "lists backups a prune would remove")
            }
            "free" | "remove" | "prune-backups" => {
                v(Destructive, "deletes a volume, storage or backups")
            }
            _ => v(
                Modify,
                "changes storage configuration or allocates a volume",
            )
            .writes(),
        },
        "vzdump" if has(args, &["--script", "-script"]) => {
            v(Exec, "runs the backup hook script it is given").opaque()
        }
        "vzdump" if has(args, &["--prune-backups", "-prune-backups"]) => v(
            Destructive,
            "writes a backup archive and prunes older backups",
        )
        .writes(),
        "vzdump" => v(Modify, "writes a backup archive").writes(),
        "qmrestore" | "pct-restore" => restore(args),
        "ha-manager" => match s0 {
            "status" | "config" | "groupconfig" | "help" | "" => v(Read, "shows HA state"),
            "remove" | "groupremove" => v(Destructive, "removes an HA resource or group"),
            "rules" if s1 == "remove" => v(Destructive, "removes an HA rule"),
            "crm-command" if s1 == "stop" => v(
                Destructive,
                "stops an HA resource, hard-stopping it after the timeout (at once with 0)",
            ),
            _ => v(Modify, "changes HA configuration"),
        },
        "pveceph" => match s0 {
            "status" | "help" | "" => v(Read, "shows Ceph state"),
            _ if matches!(s1, "ls" | "list" | "get") => v(Read, "lists Ceph objects"),
            "purge" => v(Destructive, "removes Ceph and its data from the node"),
            "start" | "stop" => v(Lifecycle, "starts or stops Ceph services"),
            _ if matches!(s1, "destroy" | "delete" | "remove") => {
                v(Destructive, "destroys a Ceph object")
            }
            "osd" if s1 == "create" => v(
                Destructive,
                "creates an OSD on a disk, erasing what is on it",
            ),
            _ => v(Modify, "changes the Ceph setup"),
        },
        "zfs" => match s0 {
            "list" | "get" | "help" | "holds" | "diff" | "userspace" | "groupspace"
            | "projectspace" | "version" | "send" | "" => v(Read, "shows ZFS datasets"),
            "destroy" | "rollback" => v(Destructive, "destroys or rolls back a ZFS dataset"),
            "recv" | "receive" if has(args, &["-F"]) => {
                v(Destructive, "receives a stream, rolling back first")
            }
            "set" | "inherit" if zfs_breaks(args) => v(
                Destructive,
                "makes a dataset read-only, stops it mounting, moves its mount point or resizes \
                 a volume, which takes storage from under the node or its guests",
            ),
            "unmount" | "umount" if args.iter().any(|a| a == "-a" || a == "-f") => v(
                Destructive,
                "unmounts every dataset, or one by force, from under the node or its guests",
            ),
            "upgrade" => v(Modify, "upgrades dataset versions (irreversible)").irreversible(),
            _ => v(Modify, "changes ZFS datasets"),
        },
        "zpool" => match s0 {
            "list" | "status" | "get" | "iostat" | "history" | "events" | "help" | "version"
            | "wait" | "" => v(Read, "shows ZFS pools"),
            "destroy" | "labelclear" | "detach" | "remove" | "split" => v(
                Destructive,
                "destroys a pool or removes a device's data from it",
            ),
            "create" | "add" | "attach" | "replace" => v(
                Destructive,
                "writes a pool onto devices, erasing what is on them",
            ),
            "import" | "clear"
                if args
                    .iter()
                    .any(|a| a == "-F" || a == "-X" || a.starts_with("--rewind")) =>
            {
                v(
                    Destructive,
                    "rewinds a pool, discarding its latest transactions",
                )
            }
            "checkpoint" if has(args, &["-d", "--discard"]) => {
                v(Destructive, "discards the pool's checkpoint")
            }
            "export" | "offline" => v(
                Destructive,
                "exports a pool or takes a device offline: the node's guests lose their storage \
                 or its redundancy",
            ),
            "set"
                if args.iter().any(|a| {
                    let a = a.to_ascii_lowercase();
                    a == "readonly=on" || a.starts_with("bootfs=")
                }) =>
            {
                v(
                    Destructive,
                    "makes a pool read-only or changes the dataset the node boots from",
                )
            }
            "import" | "online" => v(Lifecycle, "imports a pool or onlines pool devices"),
            "upgrade" => v(Modify, "upgrades pool features (irreversible)").irreversible(),
            _ => v(Modify, "changes a ZFS pool"),
        },
        "pveversion" | "pveperf" | "pvereport" | "pvesubscription"
            if s0 != "set" && s0 != "delete" =>
        {
            v(Read, "shows Proxmox VE information")
        }
        "pvesubscription" => v(Modify, "changes the subscription key"),
        "pvenode" => match s0 {
            "task" if matches!(s1, "list" | "log" | "status") => v(Read, "shows node tasks"),
            "config" if s1 == "get" => v(Read, "shows node configuration"),
            "cert" if s1 == "info" => v(Read, "shows node certificates"),
            "acme" if matches!(s1, "list" | "info") => v(Read, "shows ACME configuration"),
            "cert" if matches!(s1, "delete" | "set") => v(
                Destructive,
                "replaces or deletes the node's certificate, which the API and web interface \
                 restart with (a bad one locks them out)",
            ),
            "acme" if s1 == "cert" && matches!(sub(args, 2), "order" | "renew" | "revoke") => v(
                Destructive,
                "orders, renews or revokes the node's ACME certificate, which the API and web \
                 interface restart with",
            ),
            "stopall" => v(
                Destructive,
                "stops every guest on the node, hard-stopping those that do not shut down in time",
            ),
            "startall" | "migrateall" => v(Lifecycle, "starts or migrates all guests"),
            _ => v(Modify, "changes node configuration"),
        },
        "pveam" => match s0 {
            "list" | "available" | "help" => v(Read, "lists appliance templates"),
            "remove" => v(Destructive, "deletes a template"),
            _ => v(Modify, "downloads or updates templates"),
        },
        "pvesr" => match s0 {
            "list" | "status" | "read" | "help" => v(Read, "shows storage replication"),
            "delete" => v(Destructive, "deletes a replication job"),
            _ => v(Modify, "changes storage replication"),
        },
        "pve-firewall" => match s0 {
            "status" | "compile" | "localnet" | "simulate" | "help" => {
                v(Read, "shows firewall state")
            }
            "stop" | "restart" => v(
                Destructive,
                "stops the firewall and removes its rules (a restart that fails leaves it off)",
            ),
            "start" => v(Lifecycle, "starts the firewall"),
            _ => v(Modify, "changes the firewall"),
        },
        "pveupgrade" | "pveupdate" => v(Modify, "updates Proxmox VE packages"),
        "proxmox-backup-client" => match s0 {
            "list" | "status" | "catalog" | "help" | "version" => v(Read, "shows backups"),
            "snapshot" if matches!(s1, "list" | "files") => v(Read, "shows backup snapshots"),
            "forget" | "prune" => v(Destructive, "deletes backups"),
            "snapshot" if s1 == "forget" => v(Destructive, "deletes a backup snapshot"),
            "restore" => v(Modify, "restores files").writes(),
            _ => v(Modify, "changes backups"),
        },
        _ => return None,
    })
}

/// `zfs set`/`zfs inherit` of a property that takes storage away: `readonly=on`, `canmount`
/// other than `on`, any `mountpoint`, any `volsize` (it may shrink the volume); inheriting
/// one of these may do the same.
fn zfs_breaks(args: &[String]) -> bool {
    let inherit = sub(args, 0) == "inherit";
    args.iter()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .any(|a| {
            let a = a.to_ascii_lowercase();
            let (key, value) = a.split_once('=').unwrap_or((&a, ""));
            match key {
                "readonly" | "rdonly" => inherit || value == "on",
                "canmount" => inherit || value != "on",
                "mountpoint" | "volsize" => inherit || a.contains('='),
                _ => false,
            }
        })
}

fn qm(s0: &str, s1: &str, args: &[String]) -> Verdict {
    match s0 {
        "list" | "status" | "config" | "pending" | "showcmd" | "listsnapshot" | "help" | "wait"
        | "" => v(Read, "shows virtual machine state"),
        "cloudinit" if matches!(s1, "dump" | "pending") => v(Read, "shows cloud-init data"),
        "guest" | "agent" if s0 == "agent" || s1 == "cmd" => {
            let cmd = if s0 == "agent" {
                sub(args, 2)
            } else {
                sub(args, 3)
            };
            guest_cmd(cmd)
        }
        "guest" if s1 == "exec-status" => v(Read, "shows a guest command's status"),
        "guest" if s1 == "exec" => v(Exec, "runs a command inside the VM through the guest agent"),
        "guest" if s1 == "passwd" => v(
            Exec,
            "sets a password inside the VM through the guest agent (takes over the account)",
        ),
        _ if lifecycle(s0) => power("qemu", s0, args),
        "destroy" | "rollback" | "delsnapshot" | "reset" | "unlink" => v(
            Destructive,
            "destroys, resets or rolls back a VM or its data",
        ),
        "disk" if s1 == "unlink" => v(Destructive, "unlinks and deletes VM disks"),
        "template" => v(Destructive, "turns the VM into a template (irreversible)").irreversible(),
        "unlock" => v(
            Destructive,
            "removes the lock a backup, migration or snapshot task holds on the VM",
        ),
        "clone" | "snapshot" | "resize" | "rescan" | "cleanup" | "migrate" | "import" => {
            v(Modify, "changes or creates a VM")
        }
        "move-disk" | "move_disk" if reassigns(args) => v(
            Destructive,
            "moves a disk to another VM, away from this one",
        ),
        "disk" if s1 == "move" && reassigns(args) => v(
            Destructive,
            "moves a disk to another VM, away from this one",
        ),
        "move-disk" | "move_disk" => v(Modify, "moves a VM disk"),
        "disk" if matches!(s1, "move" | "resize" | "rescan") => {
            v(Modify, "moves, resizes or rescans VM disks")
        }
        "set" => set("qemu", args),
        "create" if has(args, &["--force", "-force"]) => restore(args),
        "create" => create("qemu", args),
        "importdisk" => import_disk(args),
        "disk" if s1 == "import" => import_disk(args),
        "remote-migrate" => remote_migrate("VM"),
        "monitor" | "terminal" | "vncproxy" | "mtunnel" | "sendkey" | "nbdstop" => {
            v(Exec, "opens an interactive channel into the VM")
        }
        _ => v(
            Destructive,
            "a qm subcommand not known to be harmless: it may change or destroy the VM",
        ),
    }
}

/// A disk move to another guest (`--target-vmid`): the source guest loses the disk.
fn reassigns(args: &[String]) -> bool {
    args.iter().any(|a| {
        a.trim_start_matches('-')
            .to_ascii_lowercase()
            .starts_with("target-vmid")
    })
}

fn guest_cmd(cmd: &str) -> Verdict {
    match cmd {
        "fsfreeze-freeze" => v(
            Destructive,
            "freezes every guest file system: writes hang until a thaw",
        ),
        "set-user-password" => v(
            Exec,
            "sets a password inside the VM (takes over the account)",
        ),
        "fsfreeze-thaw" | "shutdown" | "suspend-disk" | "suspend-ram" | "suspend-hybrid" => {
            v(Lifecycle, "changes the guest's run state through the agent")
        }
        "fstrim" => v(Modify, "trims guest file systems"),
        _ => v(Read, "queries the guest agent"),
    }
}

fn pct(s0: &str, args: &[String]) -> Verdict {
    match s0 {
        "list" | "status" | "config" | "pending" | "listsnapshot" | "df" | "cpusets" | "help"
        | "" => v(Read, "shows container state"),
        _ if lifecycle(s0) => power("lxc", s0, args),
        "destroy" | "rollback" | "delsnapshot" => v(
            Destructive,
            "destroys or rolls back a container or its data",
        ),
        "restore" => restore(args),
        "create" if has(args, &["--force", "-force"]) => restore(args),
        "create" => create("lxc", args),
        "remote-migrate" => remote_migrate("container"),
        "set" => set("lxc", args),
        "template" => v(
            Destructive,
            "turns the container into a template (irreversible)",
        )
        .irreversible(),
        "unlock" => v(
            Destructive,
            "removes the lock a backup, migration or snapshot task holds on the container",
        ),
        "move-volume" | "move_volume" if reassigns(args) => v(
            Destructive,
            "moves a volume to another container, away from this one",
        ),
        "exec" => {
            let start = args
                .iter()
                .position(|a| a == "--")
                .map(|k| k + 1)
                .unwrap_or(2.min(args.len()));
            v(Read, "runs inside the container").inner(start..args.len())
        }
        "enter" | "console" => v(Exec, "opens a shell inside the container"),
        "push" | "pull" => v(Modify, "copies a file between host and container").writes(),
        "clone" | "snapshot" | "resize" | "rescan" | "migrate" | "move-volume" | "move_volume"
        | "fsck" | "fstrim" => v(Modify, "changes or creates a container"),
        _ => v(
            Destructive,
            "a pct subcommand not known to be harmless: it may change or destroy the container",
        ),
    }
}

/// `qm|pct remote-migrate`: the guest leaves for another cluster (the source is deleted with
/// `--delete`), as `POST …/remote_migrate`.
fn remote_migrate(noun: &str) -> Verdict {
    v(
        Destructive,
        &format!("moves the {noun} to another cluster, out of this one's control"),
    )
}

fn restore(args: &[String]) -> Verdict {
    if has(args, &["--force", "-force"]) {
        v(Destructive, "restores a backup over an existing guest")
    } else {
        v(Modify, "restores a backup as a new guest")
    }
}

/// `pvesh VERB PATH --key value…`: the same classification as a raw API request, parameters
/// included, so `pvesh create /nodes/x/status --command reboot` is the node reboot it is.
fn pvesh(s0: &str, args: &[String]) -> Verdict {
    let path = sub(args, 1);
    let method = match s0 {
        "usage" | "help" | "" => return v(Read, "shows Proxmox API documentation"),
        "get" | "ls" => "GET",
        "delete" => "DELETE",
        "set" => "PUT",
        _ => "POST",
    };
    let params = cli_options(args.get(2..).unwrap_or_default());
    let mut class = classify_api_call(method, path, &params);
    if path.to_ascii_lowercase().contains("/access/password") {
        class = class.max(Destructive);
    }
    let what = match (method, class) {
        ("GET", Read) => "reads the Proxmox API",
        ("GET", _) => "reads the Proxmox API in a way that runs or reveals more than state",
        ("DELETE", _) => "deletes through the Proxmox API",
        _ => "changes state through the Proxmox API",
    };
    let verdict = v(class, what).accounts().node();
    // Commands or API calls carried in its parameters (guest agent exec, bulk execute): what
    // they run cannot be read here, so their text is scanned like inline code.
    if class == Exec {
        verdict.opaque()
    } else {
        verdict
    }
}

fn pveum(args: &[String]) -> Verdict {
    let words: Vec<&str> = args.iter().take(3).map(String::as_str).collect();
    let any = |set: &[&str]| words.iter().any(|w| set.contains(w));
    if words.is_empty()
        || any(&["list", "ls", "permissions", "help", "usage"])
        || words[0].ends_with("list")
    {
        return v(Read, "shows users, groups, roles or ACLs");
    }
    let verdict = if any(&["delete", "remove", "del"]) || words.iter().any(|w| w.ends_with("del")) {
        v(
            Destructive,
            "deletes a user, group, role, token, TFA entry or ACL",
        )
    } else {
        v(Modify, "changes users, groups, roles, tokens or ACLs")
    };
    verdict.accounts()
}
