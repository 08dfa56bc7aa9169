//! What the Proxmox VE command-line tools do, by subcommand.

use super::knowledge::{Verdict, v};
use crate::policy::Class::{Destructive, Exec, Lifecycle, Modify, Read};
use crate::policy::api::{classify_api_call, cli_options, unprotects};

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
            "qdevice" if s1 == "remove" => v(Destructive, "removes the cluster's QDevice"),
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
        "vzdump" => v(Modify, "writes a backup archive").writes(),
        "qmrestore" | "pct-restore" => restore(args),
        "ha-manager" => match s0 {
            "status" | "config" | "groupconfig" | "help" | "" => v(Read, "shows HA state"),
            "remove" | "groupremove" => v(Destructive, "removes an HA resource or group"),
            "rules" if s1 == "remove" => v(Destructive, "removes an HA rule"),
            "crm-command" if s1 == "stop" => v(Lifecycle, "stops an HA resource"),
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
            _ => v(Modify, "changes the Ceph setup"),
        },
        "zfs" => match s0 {
            "list" | "get" | "help" | "holds" | "diff" | "userspace" | "groupspace"
            | "projectspace" | "version" | "send" | "" => v(Read, "shows ZFS datasets"),
            "destroy" | "rollback" => v(Destructive, "destroys or rolls back a ZFS dataset"),
            "recv" | "receive" if has(args, &["-F"]) => {
                v(Destructive, "receives a stream, rolling back first")
            }
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
            "import" | "export" | "online" | "offline" => {
                v(Lifecycle, "imports, exports or onlines pool devices")
            }
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
            "cert" if s1 == "delete" => v(Destructive, "deletes the node's certificate"),
            "startall" | "stopall" | "migrateall" => {
                v(Lifecycle, "starts, stops or migrates all guests")
            }
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
            "start" | "stop" | "restart" => v(Lifecycle, "starts or stops the firewall"),
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
        "guest" if s1 == "passwd" => v(Modify, "changes a password inside the VM"),
        _ if lifecycle(s0) => v(Lifecycle, "changes the VM's power state"),
        "destroy" | "rollback" | "delsnapshot" | "reset" | "unlink" => v(
            Destructive,
            "destroys, resets or rolls back a VM or its data",
        ),
        "disk" if s1 == "unlink" => v(Destructive, "unlinks and deletes VM disks"),
        "template" => v(Modify, "turns the VM into a template (irreversible)").irreversible(),
        "set" if unprotects(&cli_options(args.get(1..).unwrap_or_default())) => v(
            Destructive,
            "lifts the VM's protection flag or changes its tags (a protected tag could go)",
        ),
        "set" if has(args, &["--delete", "-delete"]) => {
            v(Modify, "removes VM configuration entries")
        }
        "monitor" | "terminal" | "vncproxy" | "mtunnel" | "sendkey" | "nbdstop" => {
            v(Exec, "opens an interactive channel into the VM")
        }
        _ => v(Modify, "changes or creates a VM"),
    }
}

fn guest_cmd(cmd: &str) -> Verdict {
    match cmd {
        "fsfreeze-freeze" | "fsfreeze-thaw" | "shutdown" | "suspend-disk" | "suspend-ram"
        | "suspend-hybrid" => v(Lifecycle, "changes the guest's run state through the agent"),
        "fstrim" => v(Modify, "trims guest file systems"),
        _ => v(Read, "queries the guest agent"),
    }
}

fn pct(s0: &str, args: &[String]) -> Verdict {
    match s0 {
        "list" | "status" | "config" | "pending" | "listsnapshot" | "df" | "cpusets" | "help"
        | "" => v(Read, "shows container state"),
        _ if lifecycle(s0) => v(Lifecycle, "changes the container's power state"),
        "destroy" | "rollback" | "delsnapshot" => v(
            Destructive,
            "destroys or rolls back a container or its data",
        ),
        "restore" => restore(args),
        "set" if unprotects(&cli_options(args.get(1..).unwrap_or_default())) => v(
            Destructive,
            "lifts the container's protection flag or changes its tags (a protected tag could go)",
        ),
        "template" => {
            v(Modify, "turns the container into a template (irreversible)").irreversible()
        }
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
        _ => v(Modify, "changes or creates a container"),
    }
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
    v(class, what).accounts().node()
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
