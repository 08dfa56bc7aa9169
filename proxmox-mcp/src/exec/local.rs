//! The `local` executor's view of this host: its shell, its node name, our home directory, and
//! the `sudo` command line that runs a command as the `run_as` account.

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

/// `/bin/bash`, or `/bin/sh` on a host without bash.
pub(super) fn shell() -> &'static str {
    if Path::new("/bin/bash").exists() {
        "/bin/bash"
    } else {
        "/bin/sh"
    }
}

/// `sudo` by its full path: the child's `PATH` is fixed, but the program is not looked up at all.
pub(super) const SUDO: &str = "/usr/bin/sudo";

/// Arguments of [`SUDO`] that run `argv` as `account`: never a password prompt (`-n`: fail
/// instead), and `--` so nothing in `argv` is read as a sudo option.
pub(super) fn sudo_args<'a>(account: &'a str, argv: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec!["-n", "-u", account, "--"];
    args.extend_from_slice(argv);
    args
}

/// The short host name, which is what PVE uses as the node name (`pve1.example.com` → `pve1`).
pub(super) fn host_name() -> Option<String> {
    ["/proc/sys/kernel/hostname", "/etc/hostname"]
        .into_iter()
        .find_map(|p| std::fs::read_to_string(p).ok())
        .and_then(|s| {
            let short = s.trim().split('.').next().unwrap_or_default().to_string();
            (!short.is_empty()).then_some(short)
        })
}

/// Our user's home directory from `/etc/passwd` (not `$HOME`, which the caller may have set to
/// anything), falling back to `$HOME` and then `/`.
pub(super) fn home_dir() -> PathBuf {
    // `/proc/self` belongs to the process's effective uid; std has no getuid().
    let uid = std::fs::metadata("/proc/self").map(|m| m.uid()).ok();
    let from_passwd = uid.and_then(|uid| {
        let passwd = std::fs::read_to_string("/etc/passwd").ok()?;
        passwd_home(&passwd, uid)
    });
    from_passwd
        .or_else(|| std::env::var_os("HOME").map(PathBuf::from))
        .unwrap_or_else(|| PathBuf::from("/"))
}

/// The home directory of `account` from `/etc/passwd` (what `sudo -u` sets `HOME` to), else `/`.
pub(super) fn account_home(account: &str) -> PathBuf {
    std::fs::read_to_string("/etc/passwd")
        .ok()
        .and_then(|passwd| passwd_find(&passwd, |f| f[0] == account))
        .unwrap_or_else(|| PathBuf::from("/"))
}

/// The home directory of `uid` in an `/etc/passwd` text (`name:x:uid:gid:gecos:home:shell`).
fn passwd_home(passwd: &str, uid: u32) -> Option<PathBuf> {
    passwd_find(passwd, |f| f[2].parse() == Ok(uid))
}

/// The home directory of the first well-formed `/etc/passwd` line whose fields match `is`.
fn passwd_find(passwd: &str, is: impl Fn(&[&str]) -> bool) -> Option<PathBuf> {
    passwd.lines().find_map(|line| {
        let f: Vec<&str> = line.split(':').collect();
        (f.len() >= 7 && is(&f) && !f[5].is_empty()).then(|| PathBuf::from(f[5]))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwd_home_finds_the_uid() {
        let passwd = "root:x:0:0:root:/root:/bin/bash\n\
                      broken line\n\
                      www-data:x:33:33:www-data:/var/www:/usr/sbin/nologin\n";
        let check = |uid, want: Option<&str>| {
            assert_eq!(
                passwd_home(passwd, uid),
                want.map(PathBuf::from),
                "uid {uid}"
            )
        };
        check(0, Some("/root"));
        check(33, Some("/var/www"));
        check(1000, None);
        assert_eq!(
            passwd_find(passwd, |f| f[0] == "www-data"),
            Some(PathBuf::from("/var/www"))
        );
    }

    #[test]
    fn sudo_runs_the_shell_as_the_account() {
        assert_eq!(
            sudo_args("proxmox-mcp-exec", &["/bin/bash", "-c", "-u root; qm list"]),
            [
                "-n",
                "-u",
                "proxmox-mcp-exec",
                "--",
                "/bin/bash",
                "-c",
                "-u root; qm list"
            ]
        );
    }
}
