//! How this server was installed, found out (never configured): a git checkout's `target/`,
//! a Debian package, a container, `cargo install`, or unknown. The probes are injectable.

use std::path::{Path, PathBuf};

use serde::Serialize;

/// The install methods `self_update` knows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "method", rename_all = "snake_case")]
pub enum InstallMethod {
    /// The binary was built in a git work tree's `target/`.
    Git { work_tree: PathBuf },
    /// Installed by the Debian package (`dpkg` owns the binary under `/usr/bin`).
    Deb,
    /// Running in a container image.
    Container,
    /// `cargo install` (`~/.cargo/bin`).
    Cargo,
    /// A release binary put in place by hand, or anything else.
    Unknown,
}

impl InstallMethod {
    pub fn name(&self) -> &'static str {
        match self {
            InstallMethod::Git { .. } => "git",
            InstallMethod::Deb => "deb",
            InstallMethod::Container => "container",
            InstallMethod::Cargo => "cargo",
            InstallMethod::Unknown => "release-binary",
        }
    }
}

/// What detection looks at.
pub trait Probe {
    /// The running binary, symlinks resolved.
    fn exe(&self) -> Option<PathBuf>;
    fn exists(&self, path: &Path) -> bool;
    fn read(&self, path: &Path) -> Option<String>;
    /// Whether `dpkg -S` names a package owning `path`.
    fn dpkg_owns(&self, path: &Path) -> bool;
    fn home(&self) -> Option<PathBuf>;
}

/// The real system.
pub struct System;

impl Probe for System {
    fn exe(&self) -> Option<PathBuf> {
        std::env::current_exe()
            .ok()
            .and_then(|p| p.canonicalize().ok())
    }
    fn exists(&self, path: &Path) -> bool {
        path.exists()
    }
    fn read(&self, path: &Path) -> Option<String> {
        std::fs::read_to_string(path).ok()
    }
    fn dpkg_owns(&self, path: &Path) -> bool {
        std::process::Command::new("dpkg")
            .arg("-S")
            .arg(path)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    }
    fn home(&self) -> Option<PathBuf> {
        std::env::var_os("HOME").map(PathBuf::from)
    }
}

/// How the running binary was installed.
pub fn detect_install_method() -> InstallMethod {
    detect(&System)
}

/// Detection over `probe`: a git work tree's `target/` first (unambiguous), then the package
/// manager, the container, cargo.
pub fn detect(probe: &dyn Probe) -> InstallMethod {
    let Some(exe) = probe.exe() else {
        return InstallMethod::Unknown;
    };
    for dir in exe.ancestors().skip(1) {
        if dir.file_name().is_some_and(|n| n == "target")
            && let Some(tree) = dir.parent()
            && probe.exists(&tree.join(".git"))
        {
            return InstallMethod::Git {
                work_tree: tree.to_path_buf(),
            };
        }
    }
    if exe.starts_with("/usr/bin") && probe.dpkg_owns(&exe) {
        return InstallMethod::Deb;
    }
    // The image installs under /usr: a binary elsewhere in a container (a development
    // container, a volume) was put there by hand and updates as a release binary.
    let cgroup = probe.read(Path::new("/proc/1/cgroup")).unwrap_or_default();
    let in_image = exe.starts_with("/usr/local/bin") || exe.starts_with("/usr/bin");
    let container = probe.exists(Path::new("/.dockerenv"))
        || probe.exists(Path::new("/run/.containerenv"))
        || ["docker", "containerd", "kubepods", "libpod"]
            .iter()
            .any(|m| cgroup.contains(m));
    if in_image && container {
        return InstallMethod::Container;
    }
    if probe
        .home()
        .is_some_and(|h| exe.starts_with(h.join(".cargo/bin")))
    {
        return InstallMethod::Cargo;
    }
    InstallMethod::Unknown
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Fake {
        exe: &'static str,
        files: &'static [&'static str],
        cgroup: &'static str,
        dpkg: bool,
    }

    impl Probe for Fake {
        fn exe(&self) -> Option<PathBuf> {
            Some(PathBuf::from(self.exe))
        }
        fn exists(&self, path: &Path) -> bool {
            self.files.iter().any(|f| Path::new(f) == path)
        }
        fn read(&self, _: &Path) -> Option<String> {
            Some(self.cgroup.to_owned())
        }
        fn dpkg_owns(&self, _: &Path) -> bool {
            self.dpkg
        }
        fn home(&self) -> Option<PathBuf> {
            Some(PathBuf::from("/home/u"))
        }
    }

    fn check(
        exe: &'static str,
        files: &'static [&'static str],
        cgroup: &'static str,
        dpkg: bool,
        want: &str,
    ) {
        let got = detect(&Fake {
            exe,
            files,
            cgroup,
            dpkg,
        });
        assert_eq!(got.name(), want, "{exe} {files:?} {cgroup:?} dpkg={dpkg}");
    }

    #[test]
    fn detects_each_method() {
        check(
            "/src/pmcp/target/release/proxmox-mcp",
            &["/src/pmcp/.git"],
            "",
            false,
            "git",
        );
        check(
            "/src/pmcp/target/release/proxmox-mcp",
            &[],
            "",
            false,
            "release-binary",
        );
        check("/usr/bin/proxmox-mcp", &[], "", true, "deb");
        check("/usr/bin/proxmox-mcp", &[], "", false, "release-binary");
        check(
            "/usr/local/bin/proxmox-mcp",
            &["/.dockerenv"],
            "",
            false,
            "container",
        );
        check(
            "/usr/local/bin/proxmox-mcp",
            &[],
            "0::/system.slice/docker-1.scope",
            false,
            "container",
        );
        check(
            "/home/u/.cargo/bin/proxmox-mcp",
            &[],
            "0::/",
            false,
            "cargo",
        );
        check(
            "/opt/proxmox-mcp",
            &[],
            "0::/init.scope",
            false,
            "release-binary",
        );
        // A git checkout built inside a container is still a checkout.
        check(
            "/w/target/debug/proxmox-mcp",
            &["/w/.git", "/.dockerenv"],
            "",
            false,
            "git",
        );
        assert_eq!(
            detect(&Fake {
                exe: "/w/target/debug/proxmox-mcp",
                files: &["/w/.git"],
                cgroup: "",
                dpkg: false
            }),
            InstallMethod::Git {
                work_tree: PathBuf::from("/w")
            }
        );
    }
}
