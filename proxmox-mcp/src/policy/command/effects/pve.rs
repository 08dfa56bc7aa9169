//! What the Proxmox VE command-line tools do, by subcommand.

use super::pve_api::{ApiCall, api_call, given, opt, truthy};
use super::{Verdict, v};
use crate::policy::Class::{Destructive, Exec, Lifecycle, Modify, Read};
use crate::policy::api::{
    classify_api_call, cli_options, deletes_disk, host_device, host_resource, risky_get, unprotects,
};

fn sub(args: &[String], k: usize) -> &str {
    args.get(k).map(String::as_str).unwrap_or("")
}

/// A literal option of a tool that does not parse with Getopt's abbreviations (`zfs`, `zpool`).
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
        )
        .guarded(),
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
        _ if opt(&params, "delete").is_some() => {
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
        )
        .guarded(),
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
        "pvesh" => pvesh(args),
        "pveum" => wrapped(prog, args, pveum(s0, s1, args)),
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
            "prune-backups" if given(args, "dry-run") => {
                v(Read, "lists backups a prune would remove")
            }
            "free" | "remove" | "prune-backups" => wrapped(
                prog,
                args,
                v(Destructive, "deletes a volume, storage or backups"),
            ),
            "export" => v(
                Exec,
                "exports a volume's whole data, to standard output or a file",
            )
            .writes()
            .guarded(),
            "add" | "set" | "alloc" | "import" => wrapped(
                prog,
                args,
                v(
                    Modify,
                    "changes storage configuration or allocates a volume",
                )
                .writes(),
            ),
            _ => v(
                Destructive,
                "a pvesm subcommand not known to be harmless: it may delete volumes or storages",
            ),
        },
        "vzdump" => wrapped(prog, args, vzdump(args)),
        "qmrestore" | "pct-restore" => restore(args),
        "ha-manager" => match s0 {
            "status" | "config" | "groupconfig" | "help" | "" => v(Read, "shows HA state"),
            "rules" if matches!(s1, "list" | "config" | "") => v(Read, "shows HA rules"),
            _ => wrapped(prog, args, ha_manager(s0, s1, args)),
        },
        "pveceph" => match s0 {
            "status" | "help" | "" => v(Read, "shows Ceph state"),
            _ if matches!(s1, "ls" | "list" | "get" | "details") => v(Read, "lists Ceph objects"),
            _ => wrapped(prog, args, pveceph(s0, s1)),
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
            "acme" if matches!(sub(args, 2), "list" | "info" | "config" | "") => {
                v(Read, "shows ACME configuration")
            }
            _ => wrapped(prog, args, pvenode(s0, s1, args)),
        },
        "pveam" => match s0 {
            "list" | "available" | "help" => v(Read, "lists appliance templates"),
            "remove" => v(Destructive, "deletes a template"),
            _ => v(Modify, "downloads or updates templates"),
        },
        "pvesr" => match s0 {
            "list" | "status" | "read" | "help" => v(Read, "shows storage replication"),
            "delete" | "prepare-local-job" | "finalize-local-job" | "set-state" => wrapped(
                prog,
                args,
                v(
                    Destructive,
                    "deletes a replication job, or the replication snapshots and volumes it \
                     leaves behind",
                ),
            ),
            "create-local-job" | "update" | "enable" | "disable" | "schedule-now" | "run" => {
                wrapped(prog, args, v(Modify, "changes storage replication"))
            }
            _ => v(
                Destructive,
                "a pvesr subcommand not known to be harmless: it may delete replicated volumes",
            ),
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
        "create" if truthy(args, "force") => restore(args),
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
    given(args, "target-vmid")
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
        "create" if truthy(args, "force") => restore(args),
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
    if truthy(args, "force") {
        v(Destructive, "restores a backup over an existing guest")
    } else {
        v(Modify, "restores a backup as a new guest")
    }
}

/// The verdict of a command that makes one API request (`pvesh`, `pveum acl modify`, `pvesm
/// add`, …): the class that request gets through the API, at least `floor`'s class (the
/// hand-written knowledge of the tool), and the request itself for root protection and the
/// guests it names. A GET that reveals credentials is Exec, as it is through the API.
fn api_verdict(call: ApiCall, floor: Verdict) -> Verdict {
    let mut class = classify_api_call(call.method, &call.path, &call.params);
    if call.method == "GET" && risky_get(&call.path).is_some() {
        class = class.max(Exec);
    }
    let mut verdict = if class > floor.class {
        Verdict {
            class,
            explanation: format!(
                "{}, judged as the API request {} {} it makes",
                floor.explanation, call.method, call.path
            ),
            reversible: floor.reversible && class < Destructive,
            ..floor
        }
    } else {
        floor
    };
    // Commands or API calls carried in its parameters (guest agent exec, bulk execute): what
    // they run cannot be read here, so their text is scanned like inline code.
    if class == Exec {
        verdict = verdict.opaque();
    }
    if crate::policy::api::segments(&call.path)
        .first()
        .is_some_and(|s| s.eq_ignore_ascii_case("access"))
    {
        verdict = verdict.accounts();
    }
    verdict.api = Some(call);
    verdict
}

/// A thin wrapper's verdict: its API request's ([`api_verdict`]) with `floor` as the least,
/// or `floor` alone when the subcommand is not one API request.
fn wrapped(prog: &str, args: &[String], floor: Verdict) -> Verdict {
    match api_call(prog, args) {
        Some(call) => api_verdict(call, floor),
        None => floor,
    }
}

/// `pvesh VERB PATH --key value…`: the same classification as a raw API request, parameters
/// included, so `pvesh create /nodes/x/status --command reboot` is the node reboot it is.
fn pvesh(args: &[String]) -> Verdict {
    let Some(call) = api_call("pvesh", args) else {
        return v(Read, "shows Proxmox API documentation");
    };
    let method = call.method;
    let floor = if call.path.to_ascii_lowercase().contains("/access/password") {
        v(Destructive, "changes a password")
    } else {
        v(Read, "reads the Proxmox API")
    };
    let mut verdict = api_verdict(call, floor).accounts().node();
    verdict.explanation = match (method, verdict.class) {
        ("GET", Read) => "reads the Proxmox API",
        ("GET", _) => "reads the Proxmox API in a way that runs or reveals more than state",
        ("DELETE", _) => "deletes through the Proxmox API",
        _ => "changes state through the Proxmox API",
    }
    .to_string();
    verdict
}

/// `pveum`: reads are Read; the subcommands that are one API request are judged as it
/// ([`wrapped`]), with deletes Destructive and other changes Modify at least; anything else is
/// Destructive.
fn pveum(s0: &str, s1: &str, args: &[String]) -> Verdict {
    let read = matches!(s0, "" | "help" | "usage" | "permissions")
        || s0.ends_with("list")
        || matches!(s1, "list" | "permissions" | "")
        || (s1 == "token" || s1 == "tfa") && matches!(sub(args, 2), "list" | "permissions" | "");
    let mapped = api_call("pveum", args);
    if mapped.is_none() && read {
        return v(Read, "shows users, groups, roles or ACLs");
    }
    let deletes = matches!(mapped.as_ref(), Some(c) if c.method == "DELETE")
        || s0.ends_with("del")
        || s1 == "delete";
    let verdict = match mapped {
        None => v(
            Destructive,
            "a pveum subcommand not known to be harmless: it may change or delete accounts",
        ),
        Some(_) if deletes => v(
            Destructive,
            "deletes a user, group, role, token, TFA entry or ACL",
        ),
        Some(_) => v(Modify, "changes users, groups, roles, tokens or ACLs"),
    };
    verdict.accounts()
}

/// `ha-manager`'s changes; reads are answered before.
fn ha_manager(s0: &str, s1: &str, args: &[String]) -> Verdict {
    match (s0, s1) {
        ("remove" | "groupremove", _) => v(Destructive, "removes an HA resource or group"),
        ("rules", "remove") => v(Destructive, "removes an HA rule"),
        ("crm-command", "stop") => v(
            Destructive,
            "stops an HA resource, hard-stopping it after the timeout (at once with 0)",
        ),
        ("crm-command", "node-maintenance") if sub(args, 2) != "disable" => v(
            Destructive,
            "puts a node into maintenance: every HA guest on it leaves the node",
        ),
        ("crm-command", "disarm-ha") => v(
            Destructive,
            "disarms HA: guests are no longer recovered when their node fails",
        ),
        ("add" | "set" | "migrate" | "relocate" | "groupadd" | "groupset", _)
        | ("rules", "add" | "set")
        | ("crm-command", "migrate" | "relocate" | "node-maintenance" | "arm-ha") => {
            v(Modify, "changes HA configuration")
        }
        _ => v(
            Destructive,
            "an ha-manager subcommand not known to be harmless: it may stop or remove guests",
        ),
    }
}

/// `vzdump`: a hook script runs as root (Exec); `--stdout` hands the guest's whole backup to
/// the output, so to the model (Exec, and protected guests refuse it); pruning is Destructive.
fn vzdump(args: &[String]) -> Verdict {
    let mut verdict = if given(args, "prune-backups") {
        v(
            Destructive,
            "writes a backup archive and prunes older backups",
        )
    } else {
        v(Modify, "writes a backup archive")
    }
    .writes();
    if given(args, "stdout") {
        verdict = v(
            Exec,
            "writes the guest's whole backup (every disk) to standard output, where the \
             assistant reads it",
        )
        .writes()
        .guarded();
    }
    if given(args, "script") {
        verdict.class = Exec;
        verdict.explanation = "runs the backup hook script it is given".to_string();
        verdict = verdict.opaque();
    }
    verdict
}

/// `pveceph`'s changes; reads are answered before.
fn pveceph(s0: &str, s1: &str) -> Verdict {
    match (s0, s1) {
        ("purge", _) => v(Destructive, "removes Ceph and its data from the node"),
        ("start" | "stop" | "restart", _) => v(Lifecycle, "starts or stops Ceph services"),
        (_, "destroy" | "delete" | "remove") => v(Destructive, "destroys a Ceph object"),
        ("osd", "create") => v(
            Destructive,
            "creates an OSD on a disk, erasing what is on it",
        ),
        ("init" | "install", _)
        | ("pool", "create" | "set")
        | ("osd", "in" | "out" | "scrub")
        | ("mon" | "mgr" | "mds" | "fs", "create")
        | ("flags", "set" | "unset") => v(Modify, "changes the Ceph setup"),
        _ => v(
            Destructive,
            "a pveceph subcommand not known to be harmless: it may destroy Ceph data",
        ),
    }
}

/// `pvenode`'s changes; reads are answered before.
fn pvenode(s0: &str, s1: &str, args: &[String]) -> Verdict {
    match (s0, s1) {
        ("cert", "delete" | "set") => v(
            Destructive,
            "replaces or deletes the node's certificate, which the API and web interface \
             restart with (a bad one locks them out)",
        ),
        ("acme", "cert") if matches!(sub(args, 2), "order" | "renew" | "revoke") => v(
            Destructive,
            "orders, renews or revokes the node's ACME certificate, which the API and web \
             interface restart with",
        ),
        ("stopall", _) => v(
            Destructive,
            "stops every guest on the node, hard-stopping those that do not shut down in time",
        ),
        ("startall" | "migrateall", _) => v(Lifecycle, "starts or migrates all guests"),
        ("acme", "account" | "plugin") | ("config", "set") | ("wakeonlan", _) => {
            v(Modify, "changes node configuration")
        }
        _ => v(
            Destructive,
            "a pvenode subcommand not known to be harmless: it may change the node's \
             certificates or stop its guests",
        ),
    }
}
