//! What common system commands do; Proxmox tools live in `pve.rs`. Unknown commands are Exec.

use std::ops::Range;

use super::tools::{awk, curl, disk, find, firewall, ip, other, sed, systemctl};

use crate::policy::Class::{self, Destructive, Exec, Lifecycle, Modify, Read};

/// The knowledge base's answer for one simple command.
#[derive(Debug, Clone)]
pub(crate) struct Verdict {
    pub class: Class,
    pub explanation: String,
    pub reversible: bool,
    /// Its non-option arguments are paths it may write: check them against protected paths.
    pub writes: bool,
    /// It recurses into directories: a parent of a protected tree counts.
    pub recursive: bool,
    /// Its arguments may name Proxmox accounts: check root@pam and our own identity.
    pub accounts: bool,
    /// Its arguments name Unix users: `root` is root@pam.
    pub unix_user: bool,
    /// Its arguments may name our own node (`pvecm delnode`, `pvesh delete`).
    pub node: bool,
    /// Argument ranges that are commands of their own (`pct exec`, `find -exec`).
    pub inner: Vec<Range<usize>>,
}

pub(crate) fn v(class: Class, explanation: &str) -> Verdict {
    Verdict {
        class,
        explanation: explanation.to_string(),
        reversible: class < Destructive,
        writes: false,
        recursive: false,
        accounts: false,
        unix_user: false,
        node: false,
        inner: Vec::new(),
    }
}

impl Verdict {
    pub fn writes(mut self) -> Self {
        self.writes = true;
        self
    }
    pub fn accounts(mut self) -> Self {
        self.accounts = true;
        self
    }
    pub fn node(mut self) -> Self {
        self.node = true;
        self
    }
    pub fn irreversible(mut self) -> Self {
        self.reversible = false;
        self
    }
    pub fn inner(mut self, r: Range<usize>) -> Self {
        self.inner.push(r);
        self
    }
    fn user(mut self) -> Self {
        self.unix_user = true;
        self
    }
    fn recursive_if(mut self, args: &[String]) -> Self {
        self.recursive = short(args, 'r') || short(args, 'R') || has(args, &["--recursive"]);
        self
    }
}

pub(super) fn has(args: &[String], flags: &[&str]) -> bool {
    args.iter().any(|a| {
        flags
            .iter()
            .any(|f| a == f || (f.starts_with("--") && a.starts_with(&format!("{f}="))))
    })
}

/// A short option letter, alone or bundled (`-rf`).
pub(super) fn short(args: &[String], c: char) -> bool {
    args.iter()
        .any(|a| a.starts_with('-') && !a.starts_with("--") && a.len() > 1 && a[1..].contains(c))
}

pub(super) fn first(args: &[String]) -> &str {
    args.iter()
        .find(|a| !a.starts_with('-'))
        .map(String::as_str)
        .unwrap_or("")
}

#[rustfmt::skip]
const READ_ONLY: &[&str] = &[
    "ls", "cat", "head", "tail", "less", "more", "grep", "egrep", "fgrep", "rg", "zgrep", "zcat", "bzcat",
    "xzcat", "zless", "df", "du", "free", "uptime", "ps", "pstree", "pgrep", "top", "htop", "atop", "uname",
    "id", "whoami", "who", "w", "last", "lastlog", "groups", "lscpu", "lspci", "lsusb", "lsmod", "lsof",
    "lsblk", "blkid", "findmnt", "sensors", "ping", "ping6", "traceroute", "tracepath", "mtr", "dig",
    "nslookup", "host", "whois", "echo", "printf", "wc", "cut", "tr", "column", "paste", "join", "comm", "diff",
    "cmp", "nl", "tac", "rev", "fold", "fmt", "expand", "unexpand", "od", "hexdump", "xxd", "base64", "base32",
    "md5sum", "sha1sum", "sha256sum", "sha512sum", "cksum", "b2sum", "jq", "yq", "stat", "file", "which",
    "whereis", "type", "realpath", "readlink", "basename", "dirname", "pwd", "true", "false", "test", "[", "[[",
    "]]", "sleep", "seq", "tree", "printenv", "locale", "getent", "nproc", "vmstat", "iostat", "mpstat", "sar",
    "pidstat", "dmidecode", "lshw", "ss", "netstat", "lvs", "vgs", "pvs", "lvdisplay", "vgdisplay", "pvdisplay",
    "lvscan", "vgscan", "pvscan", "showmount", "zdb", "arcstat", "arc_summary", "lsattr", "getfacl", "namei",
    "ssh-keyscan", "atq", "history", "read", ":", "umask", "jobs", "wait", "exit", "return", "shift", "let",
    "getopts", "break", "continue", "set", "shopt", "unset", "export", "declare", "typeset", "local",
    "readonly", "hash", "cd", "pushd", "popd", "dirs", "for", "numastat", "numactl", "iotop", "ethtool", "uniq",
    "strings", "look", "cal", "tput", "clear", "ncdu", "dpkg-query", "apt-cache", "apt-config", "lsinitramfs",
    "corosync-cfgtool", "corosync-quorumtool", "ipcs", "getconf", "logname", "tty", "users", "finger",
    "sha224sum", "sha384sum", "md5", "unalias", "vdir", "dir", "dmesg", "hostname", "date", "sort", "arp",
];

/// The knowledge base for one command (wrappers are handled by the caller).
pub(crate) fn lookup(prog: &str, args: &[String]) -> Verdict {
    if let Some(verdict) = super::pve::lookup(prog, args) {
        return verdict;
    }
    if prog.starts_with("mkfs") || prog.starts_with("mke2fs") || prog.starts_with("mkswap") {
        return v(Destructive, "creates a file system, erasing the device");
    }
    let s0 = first(args);
    match prog {
        "journalctl"
            if has(
                args,
                &[
                    "--vacuum-size",
                    "--vacuum-time",
                    "--vacuum-files",
                    "--rotate",
                    "--flush",
                ],
            ) =>
        {
            v(Destructive, "deletes or rotates journal files")
        }
        "dmesg"
            if short(args, 'c') || short(args, 'C') || has(args, &["--clear", "--read-clear"]) =>
        {
            v(Modify, "clears the kernel ring buffer")
        }
        "hostname" if !s0.is_empty() => v(Modify, "changes the host name"),
        "date" if has(args, &["-s", "--set"]) => v(Modify, "sets the system clock"),
        "sort" if has(args, &["-o", "--output"]) => {
            v(Modify, "writes sorted output to a file").writes()
        }
        "arp" if short(args, 'd') || short(args, 's') => v(Modify, "changes the ARP table"),
        "ethtool"
            if args
                .iter()
                .any(|a| a.starts_with("-s") || a.starts_with("-K") || a == "--change") =>
        {
            v(Modify, "changes NIC settings")
        }
        "journalctl" | "mount" | "smartctl" | "wipefs" | "fdisk" | "sfdisk" | "parted"
        | "sgdisk" => disk(prog, args),
        _ if READ_ONLY.contains(&prog) => v(Read, "reads state, changes nothing"),
        "env" => v(Read, "prints the environment"),
        "ip" | "bridge" => ip(args),
        "systemctl" => systemctl(args),
        "service" => match args.get(1).map(String::as_str).unwrap_or("") {
            "status" | "" => v(Read, "shows a service's status"),
            "start" | "stop" | "restart" | "reload" | "force-reload" | "try-restart" => {
                v(Lifecycle, "starts, stops or restarts a service")
            }
            _ => v(Modify, "changes a service"),
        },
        "hostnamectl" | "timedatectl" | "localectl" | "loginctl" | "networkctl" | "resolvectl"
        | "chronyc" => match s0 {
            "" | "status" | "show" | "list" | "tracking" | "sources" | "sourcestats"
            | "list-sessions" | "list-timezones" | "list-users" | "timesync-status"
            | "show-timesync" | "query" => v(Read, "shows system settings"),
            _ => v(Modify, "changes system settings"),
        },
        "iptables" | "ip6tables" | "iptables-legacy" | "iptables-nft" | "ebtables" => {
            firewall(args)
        }
        "nft" => match s0 {
            "list" => v(Read, "shows nftables rules"),
            "flush" | "delete" | "destroy" => v(Destructive, "deletes firewall rules"),
            _ => v(Modify, "changes firewall rules"),
        },
        "ipset" | "conntrack" | "ovs-vsctl" | "ovs-ofctl" | "brctl" => {
            if matches!(
                s0,
                "list" | "show" | "dump-flows" | "list-br" | "list-ports"
            ) || has(args, &["-L", "--list", "-S"])
            {
                v(Read, "shows network state")
            } else if s0.starts_with("del")
                || s0 == "destroy"
                || s0 == "flush"
                || has(args, &["-F", "-D", "-X"])
            {
                v(Destructive, "deletes network configuration")
            } else {
                v(Modify, "changes network configuration")
            }
        }
        "awk" | "gawk" | "mawk" | "nawk" => awk(args),
        "sed" => sed(args),
        "find" => find(args),
        "curl" => curl(args),
        "wget" => {
            if has(args, &["--spider", "-O-", "-qO-", "-qO", "-O"])
                && args.iter().any(|a| a == "-" || a.ends_with("O-"))
            {
                v(Read, "fetches a URL to standard output")
            } else if has(args, &["--spider"]) {
                v(Read, "checks a URL")
            } else {
                v(Modify, "downloads a file").writes()
            }
        }
        "tar" => {
            let flags = args.first().map(String::as_str).unwrap_or("");
            let listing =
                has(args, &["-t", "--list"]) || (!flags.starts_with("--") && flags.contains('t'));
            if listing && !has(args, &["-x", "--extract", "-c", "--create"]) {
                v(Read, "lists an archive")
            } else {
                v(Modify, "creates or extracts an archive").writes()
            }
        }
        "unzip" if short(args, 'l') => v(Read, "lists an archive"),
        "zip" | "unzip" | "gzip" | "gunzip" | "bzip2" | "bunzip2" | "xz" | "unxz" | "zstd"
        | "unzstd" | "split" | "ssh-keygen" | "openssl" | "gpg" | "patch" | "install"
        | "mktemp" | "mkfifo" | "mknod" => {
            if prog == "ssh-keygen" && has(args, &["-l", "-F", "-y", "-L"]) {
                v(Read, "shows key information")
            } else if prog == "openssl"
                && matches!(
                    s0,
                    "x509" | "s_client" | "version" | "verify" | "ciphers" | "dgst" | "rand"
                )
                && !has(args, &["-out"])
            {
                v(Read, "inspects certificates or keys")
            } else {
                v(Modify, "writes files").writes()
            }
        }
        "cp" | "mv" | "ln" | "touch" | "mkdir" | "tee" | "chgrp" | "setfacl" | "chattr"
        | "rsync" | "scp" => {
            if prog == "rsync"
                && args
                    .iter()
                    .any(|a| a.starts_with("--delete") || a == "--remove-source-files")
            {
                v(Destructive, "synchronises files, deleting extra ones")
                    .writes()
                    .recursive_if(&["-r".into()])
            } else if prog == "tee" && args.iter().all(|a| a.starts_with('-') || a == "/dev/null") {
                v(Read, "copies standard input to standard output")
            } else {
                let rec = prog == "mv" || has(args, &["-a", "--archive"]);
                let verdict = v(Modify, "writes, copies or moves files")
                    .writes()
                    .recursive_if(args);
                Verdict {
                    recursive: verdict.recursive || rec,
                    ..verdict
                }
            }
        }
        "chmod" | "chown" => v(Modify, "changes file permissions or ownership")
            .writes()
            .recursive_if(args),
        "rm" | "rmdir" | "unlink" | "shred" | "truncate" | "srm" | "wipe" | "blkdiscard"
        | "fstrim" => {
            let verdict = v(Destructive, "deletes or overwrites data")
                .writes()
                .recursive_if(args);
            if prog == "fstrim" {
                v(Modify, "discards unused blocks")
            } else {
                verdict
            }
        }
        "dd" => {
            if args.iter().any(|a| a.starts_with("of=")) {
                v(Destructive, "writes raw data to a file or device").writes()
            } else {
                v(Read, "copies data to standard output")
            }
        }
        "reboot" | "poweroff" | "halt" | "shutdown" | "kexec" => {
            if prog == "shutdown" && has(args, &["-c"]) {
                v(Lifecycle, "cancels a pending shutdown")
            } else {
                v(Destructive, "reboots or powers off the node")
            }
        }
        "init" | "telinit" => v(Destructive, "changes the runlevel (may reboot or halt)"),
        "kill" => {
            if args.iter().any(|a| a == "1" || a == "-1") {
                v(Destructive, "kills init or every process")
            } else if args.iter().all(|a| a.starts_with('-')) {
                v(Read, "lists signals")
            } else {
                v(Lifecycle, "signals a process")
            }
        }
        "pkill" | "killall" | "killall5" => v(Destructive, "kills processes by name"),
        "lvremove" | "vgremove" | "pvremove" | "lvreduce" | "pvcreate" | "vgreduce" | "dmsetup" => {
            if prog == "dmsetup" && matches!(s0, "ls" | "info" | "status" | "table" | "deps") {
                v(Read, "shows device-mapper state")
            } else {
                v(Destructive, "removes or shrinks LVM volumes")
            }
        }
        "lvcreate" | "vgcreate" | "lvextend" | "lvresize" | "vgextend" | "lvchange"
        | "vgchange" | "lvrename" | "vgrename" | "pvresize" | "pvmove" => {
            if prog == "lvresize"
                && args
                    .iter()
                    .any(|a| a.starts_with("-L-") || a.starts_with("-l-"))
            {
                v(Destructive, "shrinks a logical volume")
            } else {
                v(Modify, "changes LVM volumes")
            }
        }
        "userdel" | "deluser" | "groupdel" | "delgroup" => {
            v(Destructive, "deletes a user or group").user()
        }
        "useradd" | "adduser" | "usermod" | "groupadd" | "addgroup" | "groupmod" | "chage"
        | "chsh" | "chfn" | "gpasswd" => v(Modify, "changes user accounts").user(),
        "passwd" => {
            let verdict = v(Modify, "changes a password").user();
            if args.iter().all(|a| a.starts_with('-')) {
                Verdict {
                    explanation: "changes the current user's (root's) password".into(),
                    ..verdict
                }
            } else {
                verdict
            }
        }
        "chpasswd" | "newusers" => v(Modify, "sets passwords from standard input"),
        "visudo" | "vipw" | "vigr" => v(Modify, "edits sudoers or the user database"),
        "crontab" => {
            if has(args, &["-l"]) {
                v(Read, "lists cron jobs")
            } else if has(args, &["-r"]) {
                v(Destructive, "deletes all cron jobs")
            } else {
                v(Modify, "installs cron jobs")
            }
        }
        "atrm" => v(Destructive, "deletes scheduled jobs"),
        "apt" | "apt-get" | "aptitude" => match s0 {
            "list" | "show" | "search" | "policy" | "depends" | "rdepends" | "changelog"
            | "showsrc" | "" => v(Read, "queries packages"),
            "remove" | "purge" | "autoremove" | "autopurge" | "clean" | "autoclean" => {
                v(Destructive, "removes packages")
            }
            _ if has(args, &["-s", "--simulate", "--dry-run"]) => {
                v(Read, "simulates a package change")
            }
            _ => v(Modify, "installs or upgrades packages"),
        },
        "dpkg" => {
            if has(
                args,
                &[
                    "-l",
                    "-L",
                    "-S",
                    "-s",
                    "--status",
                    "--list",
                    "--listfiles",
                    "--search",
                    "--get-selections",
                    "--print-architecture",
                ],
            ) {
                v(Read, "queries packages")
            } else if has(args, &["-r", "-P", "--remove", "--purge"]) {
                v(Destructive, "removes packages")
            } else {
                v(Modify, "installs or configures packages")
            }
        }
        "apt-mark" if s0.starts_with("show") => v(Read, "shows package marks"),
        "apt-mark" | "update-grub" | "update-initramfs" | "proxmox-boot-tool" | "sysctl"
        | "modprobe" | "rmmod" | "insmod" | "swapoff" | "swapon" | "umount" | "exportfs"
        | "iscsiadm" | "multipath" | "mdadm" | "cryptsetup" | "hdparm" | "nvme" | "qemu-img"
        | "ceph" | "rbd" | "rados" | "git" | "ssh-copy-id" | "alias" | "trap" => {
            other(prog, s0, args)
        }
        _ => v(
            Exec,
            &format!("`{prog}` is not in the knowledge base: it could do anything"),
        )
        .writes(),
    }
}
