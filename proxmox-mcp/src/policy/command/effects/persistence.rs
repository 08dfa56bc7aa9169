//! The persistence path table: files and trees that make code run later or make programs load
//! code; writing one is at least Exec.

/// Files and trees that make code run later, or make programs load code, by what they are: a
/// path is one of them when it is the entry or lies below it. [`persistence`] checks written
/// paths against them; [`holds_persistence`] also finds the directories that hold them.
const PERSISTENT: &[(&[&str], &str)] = &[
    (
        &[
            "/var/spool/cron",
            "/etc/anacrontab",
            "/etc/crontab",
            "/etc/cron.d",
            "/etc/cron.hourly",
            "/etc/cron.daily",
            "/etc/cron.weekly",
            "/etc/cron.monthly",
            "/etc/cron.yearly",
        ],
        "a cron job, which runs commands later",
    ),
    (
        // A backup job's `script` (and vzdump.conf's) runs as root; vzdump.cron is the
        // cluster's cron table, linked from /etc/cron.d.
        &[
            "/etc/pve/jobs.cfg",
            "/etc/pve/vzdump.cron",
            "/etc/vzdump.conf",
        ],
        "a scheduled backup job or its defaults, whose hook script runs as root",
    ),
    (
        &[
            "/etc/systemd",
            "/lib/systemd",
            "/run/systemd",
            "/root/.config/systemd",
            "/etc/environment.d",
        ],
        "a systemd unit, timer or setting, which runs commands later",
    ),
    (
        // tmpfiles.d writes files at boot, binfmt.d registers interpreters, sysctl sets the
        // kernel's core_pattern and modprobe programs, fstab and crypttab mount (through
        // helpers) and unlock (through key scripts), modules load kernel code.
        &[
            "/etc/tmpfiles.d",
            "/run/tmpfiles.d",
            "/etc/binfmt.d",
            "/run/binfmt.d",
            "/etc/sysctl.conf",
            "/etc/sysctl.d",
            "/run/sysctl.d",
            "/etc/fstab",
            "/etc/crypttab",
            "/etc/modules",
            "/etc/modules-load.d",
            "/run/modules-load.d",
            "/etc/modprobe.d",
            "/run/modprobe.d",
            "/lib/modprobe.d",
        ],
        "boot-time configuration that loads kernel code, writes files or sets programs the \
         kernel runs",
    ),
    (
        &[
            "/proc/sys/kernel/core_pattern",
            "/proc/sys/kernel/modprobe",
            "/proc/sys/kernel/hotplug",
            "/proc/sys/kernel/poweroff_cmd",
            "/proc/sys/fs/binfmt_misc",
            "/sys/kernel/uevent_helper",
        ],
        "a program the kernel runs as root (on a crash, a module request, a device event or \
         for a binary format)",
    ),
    (
        &[
            "/boot",
            "/etc/default",
            "/etc/kernel",
            "/etc/initramfs-tools",
            "/etc/grub.d",
        ],
        "the boot loader, kernel, initramfs or the defaults services source as shell code",
    ),
    (
        &["/etc/apt"],
        "apt configuration: hooks that run commands, or package sources and keys apt trusts",
    ),
    (
        &[
            "/etc/dpkg",
            "/var/lib/dpkg/info",
            "/etc/network",
            "/etc/udev",
            "/run/udev",
            "/lib/udev",
            "/etc/ssh",
            "/etc/profile.d",
            "/etc/init.d",
            "/etc/dhcp",
            "/etc/update-motd.d",
            "/etc/pve/local/hooks",
            "/var/lib/vz/snippets",
            "/etc/logrotate.d",
            "/etc/logrotate.conf",
            "/etc/xdg",
            "/etc/bash_completion.d",
            "/etc/NetworkManager/dispatcher.d",
            "/etc/ppp",
            "/etc/zfs/zed.d",
            "/etc/smartd.conf",
            "/etc/smartmontools",
            "/etc/aliases",
            "/etc/postfix",
            "/etc/lxc",
            "/etc/acpi",
            "/etc/rsyslog.conf",
            "/etc/rsyslog.d",
            "/etc/hosts.allow",
            "/etc/hosts.deny",
            "/etc/inetd.conf",
            "/etc/xinetd.conf",
            "/etc/xinetd.d",
            "/etc/needrestart",
        ],
        "a hook, rule or configuration whose commands run later",
    ),
    (
        &[
            "/bin",
            "/sbin",
            "/lib",
            "/lib32",
            "/lib64",
            "/libx32",
            "/usr",
            "/opt",
            "/etc/alternatives",
            "/etc/perl",
        ],
        "a program, library or module that runs whenever it is used",
    ),
    (
        &[
            "/etc/ld.so.preload",
            "/etc/ld.so.conf",
            "/etc/ld.so.conf.d",
            "/etc/ld.so.cache",
        ],
        "the dynamic loader's configuration, which loads libraries into every program",
    ),
    (
        &[
            "/etc/profile",
            "/etc/bash.bashrc",
            "/etc/environment",
            "/etc/rc.local",
            "/etc/inittab",
            "/etc/zsh",
            "/etc/pam.d",
            "/etc/security",
        ],
        "a shell profile, login or startup file, which runs commands later",
    ),
    (
        // OpenSSL engines, NSS modules, git hooks and commands, wget's `execute`, sudo plugins.
        &[
            "/etc/ssl/openssl.cnf",
            "/usr/lib/ssl/openssl.cnf",
            "/etc/nsswitch.conf",
            "/etc/gitconfig",
            "/etc/wgetrc",
            "/etc/inputrc",
            "/etc/manpath.config",
            "/etc/mailcap",
            "/etc/sudo.conf",
        ],
        "configuration that makes other programs load code or run commands",
    ),
];

/// Files that make something run later or make programs load code: cron and backup jobs,
/// systemd units, boot-time and kernel configuration (tmpfiles, sysctl, binfmt, fstab,
/// modules), programs the kernel runs (`core_pattern`, `modprobe`, `uevent_helper`), the boot
/// loader and `/etc/default`, apt sources, keys and hooks, network, udev, SSH and mail hooks,
/// programs, libraries and modules (`/usr`, `/opt`, `/etc/perl`, `/etc/alternatives`), the
/// dynamic loader, shell profiles, and configuration that makes reads load code. Writing one is
/// at least Exec.
pub(crate) fn persistence(path: &str) -> Option<&'static str> {
    let under = |d: &str| path == d || path.starts_with(&format!("{d}/"));
    if path.starts_with("/etc/cron") {
        return Some("a cron job, which runs commands later");
    }
    if let Some((_, what)) = PERSISTENT
        .iter()
        .find(|(dirs, _)| dirs.iter().any(|d| under(d)))
    {
        return Some(what);
    }
    if (path.starts_with("/etc/rc") && path[7..].contains(".d"))
        || (path.starts_with("/mnt/pve/") && path.contains("/snippets/"))
    {
        return Some("a hook or rule that runs commands later");
    }
    if path.starts_with("/etc/ld.so.") || path.starts_with("/etc/python") {
        return Some("a program, library or module that runs whenever it is used");
    }
    let name = path.rsplit('/').next().unwrap_or("");
    let profile = matches!(
        name,
        ".bashrc"
            | ".profile"
            | ".bash_profile"
            | ".bash_login"
            | ".bash_logout"
            | ".zshrc"
            | ".zprofile"
            | ".kshrc"
            | ".cshrc"
            | ".tcshrc"
            | ".inputrc"
            | ".lesskey"
            | ".curlrc"
            | ".wgetrc"
            | ".gitconfig"
            | ".vimrc"
            | ".exrc"
            | ".forward"
    );
    if profile {
        return Some("a shell profile or startup file, which runs commands later");
    }
    // `~/.ssh/rc` runs at every login, `~/.ssh/config` holds proxy and local commands.
    if path.contains("/.ssh/") && matches!(name, "rc" | "config" | "environment") {
        return Some("SSH configuration whose commands run at every login or connection");
    }
    if path.ends_with("/.git/config")
        || path.contains("/.git/hooks/")
        || path.starts_with("/etc/ssl/openssl.cnf.d")
        || path.contains("/.config/git/")
        || path.contains("/.config/environment.d/")
    {
        return Some("configuration that makes other programs load code or run commands");
    }
    // What is written into a process's memory runs as that process.
    if let Some(rest) = path.strip_prefix("/proc/")
        && let Some((pid, "mem")) = rest.split_once('/')
        && (pid == "self" || pid == "thread-self" || pid.chars().all(|c| c.is_ascii_digit()))
    {
        return Some("a process's memory, which runs as that process");
    }
    None
}

/// Whether mounting over `dir` (or unpacking into it) can replace files that make code run
/// later: `dir` is one of them, lies inside one, or holds one (`/`, `/etc`, `/var`, a home).
pub(crate) fn holds_persistence(dir: &str) -> bool {
    let dir = dir.trim_end_matches('/');
    let below = format!("{dir}/");
    persistence(dir).is_some()
        || persistence(&below).is_some()
        || dir == "/root"
        || dir == "/home"
        || (dir.starts_with("/home/") && dir.matches('/').count() == 2)
        || PERSISTENT
            .iter()
            .flat_map(|(dirs, _)| dirs.iter())
            .chain(["/etc/cron", "/etc/rc0.d", "/root/.bashrc"].iter())
            .any(|d| d.starts_with(&below))
}
