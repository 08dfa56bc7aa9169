//! Storage, boot and kernel-module tools judged by one set of rules (`mdadm`, `cryptsetup`,
//! `hdparm`, `nvme`, `qemu-img`, `ceph`, `proxmox-boot-tool`, `modprobe`, swap…): what destroys,
//! what runs code, what only reads.

use super::disks::umount;
use super::{Verdict, has, long_opt, short, v};
use crate::policy::Class::{Destructive, Exec, Lifecycle, Modify, Read};

pub(super) fn other(prog: &str, s0: &str, args: &[String]) -> Verdict {
    let word = |w: &str| args.iter().any(|a| a == w);
    let destroys = match prog {
        "mdadm" => has(
            args,
            &[
                "--zero-superblock",
                "--remove",
                "--fail",
                "--stop",
                "-S",
                "-C",
                "--create",
                "-B",
                "--build",
                "-G",
                "--grow",
                "-r",
                "-f",
                "--force",
            ],
        ),
        "cryptsetup" => {
            matches!(
                s0,
                "luksFormat"
                    | "erase"
                    | "luksErase"
                    | "luksKillSlot"
                    | "luksRemoveKey"
                    | "luksChangeKey"
                    | "luksHeaderRestore"
                    | "reencrypt"
                    | "repair"
                    | "convert"
                    | "luksSuspend"
            ) || (s0 == "token" && word("remove"))
        }
        "hdparm" => {
            args.iter().any(|a| {
                [
                    "--security-erase",
                    "--trim-sector",
                    "--write-sector",
                    "--make-bad-sector",
                    "--repair-sector",
                    "--dco-restore",
                    "--dco-setmax",
                    "--security-set-pass",
                ]
                .iter()
                .any(|o| a.starts_with(o))
            }) || hdparm_breaks(args)
        }
        "nvme" => matches!(
            s0,
            "format"
                | "delete-ns"
                | "detach-ns"
                | "sanitize"
                | "write"
                | "write-zeroes"
                | "write-uncor"
                | "dsm"
                | "fw-download"
                | "fw-commit"
                | "fw-activate"
                | "security-send"
        ),
        "qemu-img" => {
            (s0 == "snapshot" && has(args, &["-d", "-a"]))
                || s0 == "commit"
                || (s0 == "resize" && has(args, &["--shrink"]))
        }
        "ceph" if ceph_breaks(args) => true,
        "ceph" | "rbd" | "rados" => args.iter().any(|a| {
            matches!(
                a.as_str(),
                "rm" | "remove"
                    | "delete"
                    | "del"
                    | "purge"
                    | "destroy"
                    | "purge-snap"
                    | "zap"
                    | "lost"
                    | "mark_unfound_lost"
                    | "force-create-pg"
                    | "rmpool"
                    | "rmsnap"
                    | "rollback"
                    | "truncate"
                    | "cleanup"
                    | "--allow-shrink"
            )
        }),
        "proxmox-boot-tool" => matches!(s0, "format" | "init"),
        "update-initramfs" => short(args, 'd'),
        "modprobe" => short(args, 'r') || has(args, &["--remove"]),
        "rmmod" => true,
        _ => false,
    };
    if destroys {
        let what = match prog {
            "proxmox-boot-tool" => "formats or overwrites an EFI system partition",
            "update-initramfs" => "deletes initramfs images, which can leave the node unbootable",
            "modprobe" | "rmmod" => {
                "unloads a kernel module; a network or storage driver takes its devices with it"
            }
            "mdadm" => {
                "creates, grows, fails, removes or stops RAID arrays, or wipes their members"
            }
            "cryptsetup" => "formats, erases or re-keys an encrypted device",
            "qemu-img" => "deletes, applies or commits image snapshots, or shrinks an image",
            "hdparm" => {
                "erases, resizes or resets a disk, puts it to sleep or turns its write cache \
                 off, which can stall or destroy what is on it"
            }
            "ceph" if ceph_breaks(args) => {
                "fails a file system, marks OSDs out, pauses all I/O or lets insecure clients \
                 reclaim their identity, which stops or endangers the cluster's storage"
            }
            _ => "erases or removes storage or data",
        };
        let verdict = v(Destructive, what);
        return if prog == "qemu-img" {
            verdict.writes()
        } else {
            verdict
        };
    }
    let runs = match prog {
        "insmod" => true,
        "modprobe" => has(args, &["-C", "--config"]),
        _ => false,
    };
    if runs {
        return v(
            Exec,
            "loads kernel code from a file or a configuration it is given",
        )
        .opaque();
    }
    let read = match prog {
        "multipath" => has(args, &["-ll", "-l"]),
        "iscsiadm" => !has(args, &["-o", "--op", "--login", "--logout", "-l", "-u"]),
        "mdadm" => has(
            args,
            &["--detail", "-D", "--examine", "-E", "--query", "-Q"],
        ),
        "cryptsetup" => matches!(s0, "status" | "luksDump" | "isLuks" | "luksUUID"),
        "hdparm" => has(args, &["-I", "-i", "-t", "-T", "-g"]),
        "nvme" => matches!(
            s0,
            "list" | "smart-log" | "id-ctrl" | "id-ns" | "error-log" | "list-subsys"
        ),
        "qemu-img" => {
            matches!(s0, "info" | "check" | "compare" | "map" | "measure") && !has(args, &["-r"])
        }
        "ceph" => {
            matches!(s0, "status" | "health" | "df" | "versions" | "version")
                || has(args, &["-s", "--status", "-w", "--watch"])
                || args.iter().any(|a| {
                    matches!(
                        a.as_str(),
                        "ls" | "tree" | "dump" | "stat" | "df" | "get" | "status"
                    )
                })
        }
        "rbd" | "rados" => matches!(
            s0,
            "ls" | "list" | "info" | "du" | "df" | "lspools" | "status"
        ),
        "proxmox-boot-tool" => {
            matches!(s0, "status" | "help" | "") || (s0 == "kernel" && word("list"))
        }
        "alias" => args.is_empty(),
        "trap" => args.len() <= 1,
        _ => false,
    };
    if read {
        return v(Read, "reads state, changes nothing");
    }
    match prog {
        "alias" => v(Read, "defines an alias (its body is classified separately)"),
        "trap" => v(
            Read,
            "sets a signal handler (its body is classified separately)",
        ),
        "ssh-copy-id" => v(
            Modify,
            "installs an SSH key into a remote account's authorized_keys",
        ),
        "umount" => umount(args),
        "swapoff" if short(args, 'a') || long_opt(args, &["all"], &[]) => v(
            Destructive,
            "turns every swap area off, which can set the OOM killer on the node's guests",
        ),
        "swapoff" | "swapon" => v(Lifecycle, "toggles swap"),
        "qemu-img" => v(Modify, "creates, converts or changes disk images").writes(),
        _ => v(Modify, &format!("`{prog}` changes system state")),
    }
}

/// `hdparm` settings that stall or destroy a disk's data: the write cache off (`-W0`), sleep
/// (`-Y`, only a reset wakes it), a device reset (`-w`), a smaller visible size (`-N` with a
/// value), the read-only flag (`-r1`).
fn hdparm_breaks(args: &[String]) -> bool {
    let value = |k: usize, opt: char| -> Option<&str> {
        let a = args[k].as_str();
        let rest = a.strip_prefix('-').and_then(|r| r.strip_prefix(opt))?;
        if rest.is_empty() {
            args.get(k + 1)
                .map(String::as_str)
                .filter(|n| !n.starts_with('/') && !n.starts_with('-'))
        } else {
            Some(rest)
        }
    };
    (0..args.len()).any(|k| {
        let a = args[k].as_str();
        let shorts = a.starts_with('-') && !a.starts_with("--");
        (shorts && a[1..].contains(['Y', 'w']))
            || value(k, 'W').is_some_and(|n| n.trim_start_matches('=') == "0")
            || value(k, 'r').is_some_and(|n| n.trim_start_matches('=') == "1")
            || value(k, 'N').is_some()
    })
}

/// `ceph` commands that stop or endanger the cluster's storage: failing a file system or MDS,
/// marking OSDs out, pausing all client I/O, allowing insecure global-id reclaim.
fn ceph_breaks(args: &[String]) -> bool {
    let words: Vec<&str> = args
        .iter()
        .filter(|a| !a.starts_with('-'))
        .map(String::as_str)
        .collect();
    let at = |k: usize| words.get(k).copied().unwrap_or("");
    matches!(
        (at(0), at(1)),
        ("fs" | "mds", "fail") | ("osd", "out" | "pause")
    ) || (at(0) == "osd" && at(1) == "set" && at(2) == "pause")
        || ((matches!((at(0), at(1)), ("config", "set")) || at(0) == "tell")
            && args
                .iter()
                .any(|a| a.contains("auth_allow_insecure_global_id_reclaim")))
}
