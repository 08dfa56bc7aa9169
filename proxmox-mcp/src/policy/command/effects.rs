//! What a command that is not a proven read does: its class (lifecycle, modify, destructive,
//! exec), whether it can be undone, and what root protection must check in its arguments.
//! [`lookup`] sends each program to its family: Proxmox tools in `effects/pve.rs`, the
//! option-dependent system tools in `disks`, `network`, `firewall`, `kernel`, `services`,
//! `packages`, `scripts`, `fetch`, `git`, `files` and `other`; the path tables of what a write
//! must not reach are `raw_targets` and `persistence`. Unknown programs are `Exec` and opaque:
//! they could do anything.

mod disks;
mod fetch;
mod files;
mod firewall;
mod git;
mod kernel;
mod network;
mod other;
mod packages;
mod persistence;
mod pve;
mod pve_api;
mod raw_targets;
mod scripts;
mod services;

#[cfg(test)]
mod tests;

use std::ops::Range;

use disks::disk;
use fetch::curl;
use files::{scp_runs, system_tree, tar_runs};
use firewall::{firewall, nft};
use git::git;
use kernel::{clock_by_hand, date_sets, hwclock, sysctl};
use network::{ethtool, ifupdown, ip};
use other::other;
use packages::{apt, dpkg};
pub(crate) use persistence::{holds_persistence, persistence};
pub(crate) use pve_api::{ApiCall, GUEST_FLAGS, api_call, creates_token, operands};
pub(crate) use raw_targets::raw_target;
use scripts::{awk, find, sed};
use services::{service, systemctl};

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
    /// What it runs cannot be known (an unknown program, a script, a command in an option):
    /// root protection scans its text, and it may destroy anything.
    pub opaque: bool,
    /// The API request it stands for (`pvesh` and the thin wrappers): root protection checks
    /// it as it checks that request.
    pub api: Option<ApiCall>,
    /// Protected guests refuse it whatever its class (`vzdump --stdout` hands a guest's whole
    /// disk to the model).
    pub guarded: bool,
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
        opaque: false,
        api: None,
        guarded: false,
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
    pub fn opaque(mut self) -> Self {
        self.opaque = true;
        self
    }
    pub fn guarded(mut self) -> Self {
        self.guarded = true;
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

/// Whether an argument is a long option GNU getopt would take for one of `names` (given
/// without dashes): the full name or an abbreviation of at least three letters, with or
/// without `=value`. Names in `exact` are options of their own that happen to be prefixes.
pub(super) fn long_opt(args: &[String], names: &[&str], exact: &[&str]) -> bool {
    args.iter().any(|a| {
        let Some(opt) = a.strip_prefix("--") else {
            return false;
        };
        let name = opt.split('=').next().unwrap_or("");
        name.len() >= 3 && !exact.contains(&name) && names.iter().any(|n| n.starts_with(name))
    })
}

/// The values given to a short option (`-o VALUE`, `-oVALUE`).
pub(super) fn short_values<'a>(args: &'a [String], opt: &str) -> Vec<&'a str> {
    let mut out = Vec::new();
    for (k, a) in args.iter().enumerate() {
        if a == opt {
            if let Some(next) = args.get(k + 1) {
                out.push(next.as_str());
            }
        } else if let Some(rest) = a.strip_prefix(opt).filter(|r| !r.is_empty()) {
            out.push(rest.trim_start_matches('='));
        }
    }
    out
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
    if let Some(verdict) = pve::lookup(prog, args) {
        return verdict;
    }
    if [
        "mkfs",
        "mke2fs",
        "mkswap",
        "mkdosfs",
        "mkntfs",
        "mkexfatfs",
        "mkudffs",
        "mkreiserfs",
    ]
    .iter()
    .any(|p| prog.starts_with(p))
    {
        return v(Destructive, "creates a file system, erasing the device");
    }
    let s0 = first(args);
    match prog {
        "sort" if long_opt(args, &["compress-program"], &[]) => v(
            Exec,
            "sort runs the compression program it is given on its temporary files",
        )
        .opaque(),
        "less"
            if args.iter().any(|a| {
                a.strip_prefix('+').is_some_and(|c| {
                    !(c.is_empty()
                        || c.chars().all(|x| x.is_ascii_digit())
                        || matches!(c, "G" | "g" | "F")
                        || c.starts_with('/')
                        || c.starts_with('?'))
                })
            }) || has(args, &["-k", "--lesskey-file", "--lesskey-src", "--lesskey-content"]) =>
        {
            v(
                Exec,
                "less runs initial commands or key bindings it is given, which can run a shell",
            )
            .opaque()
        }
        "man"
            if long_opt(args, &["pager", "html", "config-file", "gxditview"], &[])
                || args.iter().any(|a| {
                    !a.starts_with("--")
                        && ["-P", "-H", "-C", "-X"].iter().any(|o| a.starts_with(o))
                }) =>
        {
            v(Exec, "man runs the pager, browser or configuration it is given").opaque()
        }
        "man" => v(Read, "shows a manual page"),
        "tcpdump" if args.iter().any(|a| a.starts_with("-z")) => v(
            Exec,
            "tcpdump runs the command it is given on every capture file",
        )
        .opaque(),
        "tcpdump" if args.iter().any(|a| a.starts_with("-w")) => {
            v(Modify, "writes captured packets to a file").writes()
        }
        "tcpdump" => v(Read, "captures and shows packets"),
        "logrotate"
            if args
                .iter()
                .all(|a| matches!(a.as_str(), "--version" | "--help" | "-?" | "--usage")) =>
        {
            v(Read, "shows logrotate's version or usage")
        }
        "logrotate" => v(
            Exec,
            "rotates logs by a configuration whose pre- and postrotate scripts run as root",
        )
        .opaque(),
        "update-rc.d" | "insserv" | "chkconfig" => v(
            Exec,
            "changes which init scripts run at boot (persistence)",
        ),
        "ifdown" | "ifup" | "ifreload" | "ifquery" | "ifconfig" => ifupdown(prog, args),
        "resize2fs" => {
            let operands = args.iter().filter(|a| !a.starts_with('-')).count();
            if short(args, 'P') {
                v(Read, "prints a file system's minimum size")
            } else if short(args, 'M') || operands >= 2 {
                v(
                    Destructive,
                    "resizes a file system to a given size, which may shrink it",
                )
            } else {
                v(Modify, "grows a file system to fill its device")
            }
        }
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
        "date" if date_sets(args) => v(
            Destructive,
            "sets the system clock: a jump breaks cluster quorum, certificates and tickets",
        ),
        "sort" if has(args, &["-o", "--output"]) => {
            v(Modify, "writes sorted output to a file").writes()
        }
        "arp" if short(args, 'd') || short(args, 's') => v(Modify, "changes the ARP table"),
        "ethtool"
            if args
                .iter()
                .any(|a| a.starts_with("-s") || a.starts_with("-K") || a == "--change") =>
        {
            ethtool(args)
        }
        "journalctl" | "mount" | "smartctl" | "wipefs" | "fdisk" | "sfdisk" | "parted"
        | "sgdisk" => disk(prog, args),
        _ if READ_ONLY.contains(&prog) => v(Read, "reads state, changes nothing"),
        "env" => v(Read, "prints the environment"),
        "ip" | "bridge" => ip(args),
        "systemctl" => systemctl(args),
        "service" => service(args),
        "timedatectl" | "chronyc" if clock_by_hand(args) => {
            v(
                Destructive,
                "sets the clock by hand or stops time synchronisation: a jump or drift breaks \
                 cluster quorum, certificates and tickets",
            )
        }
        "hwclock" => hwclock(args),
        "sysctl" => sysctl(args),
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
        "nft" => nft(args),
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
        "wget"
            if long_opt(args, &["use-askpass", "execute", "config"], &[])
                || args.iter().any(|a| a.starts_with("-e")) =>
        {
            v(
                Exec,
                "wget runs the askpass program or wgetrc commands it is given, which can write anywhere",
            )
            .opaque()
        }
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
        "tar" if tar_runs(args) => v(
            Exec,
            "tar runs the program, script or checkpoint action it is given",
        )
        .opaque(),
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
        "zip"
            if args.iter().any(|a| a.starts_with("-TT"))
                || long_opt(args, &["unzip-command"], &[]) =>
        {
            v(Exec, "zip runs the test command it is given").opaque()
        }
        "gpg" | "gpg2"
            if long_opt(args, &["photo-viewer", "exec-path"], &[]) =>
        {
            v(Exec, "gpg runs the viewer or helper program it is given").opaque()
        }
        "gpg" | "gpg2" if args.iter().any(|a| a.starts_with("--delete-")) => {
            v(Destructive, "deletes keys from the keyring")
        }
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
        "rsync" if short(args, 'e') || long_opt(args, &["rsh", "rsync-path"], &[]) => v(
            Exec,
            "rsync runs the remote shell or remote rsync command it is given",
        )
        .opaque(),
        "scp" | "sftp" if scp_runs(args) => v(
            Exec,
            "runs the program, proxy command or SSH configuration it is given",
        )
        .opaque(),
        "chmod" | "chown" | "chgrp" | "setfacl"
            if (short(args, 'R') || has(args, &["--recursive"])) && system_tree(args).is_some() =>
        {
            v(
                Destructive,
                &format!(
                    "changes the permissions or owner of everything under {}, which cannot be \
                     undone and can lock everyone out",
                    system_tree(args).unwrap_or_default()
                ),
            )
            .writes()
            .recursive_if(args)
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
        "vgcreate" | "vgextend" => v(
            Destructive,
            "initialises devices as LVM physical volumes, erasing what is on them",
        ),
        "lvresize" => {
            let mut sizes = short_values(args, "-L");
            sizes.extend(short_values(args, "-l"));
            for (k, a) in args.iter().enumerate() {
                for o in ["--size", "--extents"] {
                    if a == o {
                        sizes.extend(args.get(k + 1).map(String::as_str));
                    } else if let Some(val) = a.strip_prefix(&format!("{o}=")) {
                        sizes.push(val);
                    }
                }
            }
            if !sizes.is_empty() && sizes.iter().all(|s| s.starts_with('+')) {
                v(Modify, "grows a logical volume")
            } else {
                v(
                    Destructive,
                    "resizes a logical volume to a size that may be smaller, destroying its end",
                )
            }
        }
        "lvcreate" | "lvextend" | "lvchange" | "vgchange" | "lvrename" | "vgrename"
        | "pvresize" | "pvmove" => v(Modify, "changes LVM volumes"),
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
            if short(args, 'r') {
                v(Destructive, "deletes all cron jobs")
            } else if short(args, 'l') {
                v(Read, "lists cron jobs")
            } else {
                v(
                    Exec,
                    "installs or edits cron jobs, which run commands later (persistence)",
                )
            }
        }
        "atrm" => v(Destructive, "deletes scheduled jobs"),
        "apt" | "apt-get" | "aptitude" => apt(s0, args),
        "dpkg" => dpkg(args),
        "apt-mark" if s0.starts_with("show") => v(Read, "shows package marks"),
        "apt-mark" | "update-grub" | "update-initramfs" | "proxmox-boot-tool" | "modprobe"
        | "rmmod" | "insmod" | "swapoff" | "swapon" | "umount" | "exportfs" | "iscsiadm"
        | "multipath" | "mdadm" | "cryptsetup" | "hdparm" | "nvme" | "qemu-img" | "ceph"
        | "rbd" | "rados" | "ssh-copy-id" | "alias" | "trap" => other(prog, s0, args),
        "git" => git(args),
        _ => v(
            Exec,
            &format!("`{prog}` is not in the knowledge base: it could do anything"),
        )
        .writes()
        .opaque(),
    }
}
