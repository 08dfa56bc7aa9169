//! Operator commands refuse to run inside a tool call: the executors' marker, and the process ancestry.
//!
//! Defense in depth behind command classification: `approve`, `deny` and `mode MODE` act as the
//! operator, which a model must never do. A command `execute_command` starts carries
//! [`PROXMOX_MCP_TOOL_CALL`] in its environment; a command that removed it still descends from
//! the server, so the ancestry is walked through `/proc` too (`/proc/<pid>/stat` for the parent,
//! `/proc/<pid>/exe` for the program): an ancestor running this very program means a proxmox-mcp
//! process started us. Without `/proc` that half is skipped. A process that detached itself from
//! the server (reparented to init) escapes the walk; classification is the primary defense.

use std::fs;
use std::os::unix::fs::MetadataExt as _;
use std::path::{Path, PathBuf};

use crate::config::env::PROXMOX_MCP_TOOL_CALL;

/// More ancestors than any real process tree has; ends a walk through a looping fake tree.
const MAX_DEPTH: usize = 4096;

/// Why this process looks like a tool call's, if it does.
pub(crate) fn inside_tool_call() -> Option<String> {
    if std::env::var_os(PROXMOX_MCP_TOOL_CALL).is_some_and(|v| !v.is_empty()) {
        return Some(format!(
            "{PROXMOX_MCP_TOOL_CALL} is set: the MCP server's command execution started it"
        ));
    }
    spawned_by_same_program(Path::new("/proc")).map(|pid| {
        format!("its ancestor process {pid} runs proxmox-mcp: a proxmox-mcp process started it")
    })
}

/// The nearest ancestor of `self` (as `proc` shows the processes) that runs the same executable,
/// if any. `None` too when `proc` cannot tell.
pub(crate) fn spawned_by_same_program(proc: &Path) -> Option<u32> {
    let me = Exe::of(&proc.join("self"))?;
    let mut pid = parent(&proc.join("self"))?;
    for _ in 0..MAX_DEPTH {
        if pid == 0 {
            return None;
        }
        let dir = proc.join(pid.to_string());
        // Another user's process hides its `exe`: skip it, its parent may still be ours.
        if Exe::of(&dir).is_some_and(|exe| exe.same_as(&me)) {
            return Some(pid);
        }
        pid = parent(&dir)?;
    }
    None
}

/// A process's executable: its file (device and inode) and its path, as far as readable.
struct Exe {
    file: Option<(u64, u64)>,
    path: Option<PathBuf>,
}

impl Exe {
    fn of(dir: &Path) -> Option<Self> {
        let link = dir.join("exe");
        let file = fs::metadata(&link).ok().map(|m| (m.dev(), m.ino()));
        // A program replaced since it started (an upgrade) shows as `PATH (deleted)`.
        let path = fs::read_link(&link).ok().map(|p| {
            let text = p.to_string_lossy();
            PathBuf::from(text.strip_suffix(" (deleted)").unwrap_or(&text))
        });
        (file.is_some() || path.is_some()).then_some(Self { file, path })
    }

    fn same_as(&self, other: &Exe) -> bool {
        fn same<T: PartialEq>(a: &Option<T>, b: &Option<T>) -> bool {
            a.is_some() && a == b
        }
        same(&self.file, &other.file) || same(&self.path, &other.path)
    }
}

/// The parent pid from `<dir>/stat`: `pid (comm) state ppid …`, where `comm` may hold anything.
fn parent(dir: &Path) -> Option<u32> {
    let stat = fs::read_to_string(dir.join("stat")).ok()?;
    let after_comm = &stat[stat.rfind(')')? + 1..];
    after_comm.split_whitespace().nth(1)?.parse().ok()
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::symlink;

    use super::*;

    /// One process of a fake `/proc`: `(pid, ppid, exe)`.
    type Proc<'a> = (&'a str, u32, Option<&'a str>);

    /// A fake `/proc`: `self` first; `exe` names a file in the root (`None`: no readable `exe`).
    fn fake_proc(procs: &[Proc]) -> tempfile::TempDir {
        let root = tempfile::tempdir().unwrap();
        for bin in ["proxmox-mcp", "bash", "sshd"] {
            fs::write(root.path().join(bin), bin).unwrap();
        }
        for (pid, ppid, exe) in procs {
            let dir = root.path().join(pid);
            fs::create_dir(&dir).unwrap();
            let comm = "(a) b) c)";
            fs::write(
                dir.join("stat"),
                format!("{pid} {comm} S {ppid} 1 1 0 -1\n"),
            )
            .unwrap();
            if let Some(exe) = exe {
                symlink(root.path().join(exe), dir.join("exe")).unwrap();
            }
        }
        root
    }

    #[test]
    fn ancestry_walk() {
        let me = ("self", 30, Some("proxmox-mcp"));
        #[rustfmt::skip]
        let cases: [(&str, Vec<Proc>, Option<u32>); 7] = [
            ("server -> bash -> us", vec![me, ("30", 20, Some("bash")), ("20", 1, Some("proxmox-mcp")), ("1", 0, Some("sshd"))], Some(20)),
            ("operator shell", vec![me, ("30", 20, Some("bash")), ("20", 1, Some("sshd")), ("1", 0, Some("sshd"))], None),
            ("an unreadable exe is skipped", vec![me, ("30", 20, None), ("20", 0, Some("proxmox-mcp"))], Some(20)),
            ("the server is pid 1 (a container)", vec![me, ("30", 1, Some("bash")), ("1", 0, Some("proxmox-mcp"))], Some(1)),
            ("a vanished parent ends the walk", vec![me, ("30", 20, Some("bash"))], None),
            ("a loop ends", vec![me, ("30", 20, Some("bash")), ("20", 30, Some("bash"))], None),
            ("no proc at all", vec![], None),
        ];
        for (name, procs, want) in cases {
            let root = fake_proc(&procs);
            assert_eq!(spawned_by_same_program(root.path()), want, "{name}");
        }
    }

    #[test]
    fn a_replaced_program_still_matches_by_path() {
        let a = Exe {
            file: Some((1, 2)),
            path: Some("/usr/bin/proxmox-mcp".into()),
        };
        let b = Exe {
            file: Some((1, 3)),
            path: Some("/usr/bin/proxmox-mcp".into()),
        };
        let c = Exe {
            file: None,
            path: None,
        };
        assert!(a.same_as(&b));
        assert!(!c.same_as(&c));
    }

    /// Set in the child of [`the_real_proc_sees_the_parent`]: the pid it must find.
    const PROBE: &str = "PROXMOX_MCP_GUARD_PROBE_PARENT";

    /// In a normal run: this test binary is not started by itself. Run again as a child of this
    /// very binary, it must find its parent through the real `/proc`.
    #[test]
    fn the_real_proc_sees_the_parent() {
        if !Path::new("/proc/self/stat").exists() {
            return;
        }
        if let Some(parent) = std::env::var_os(PROBE) {
            let want: u32 = parent.to_str().unwrap().parse().unwrap();
            assert_eq!(spawned_by_same_program(Path::new("/proc")), Some(want));
            return;
        }
        assert_eq!(spawned_by_same_program(Path::new("/proc")), None);
        let status = std::process::Command::new(std::env::current_exe().unwrap())
            .args([
                "cli::guard::tests::the_real_proc_sees_the_parent",
                "--exact",
                "--test-threads=1",
            ])
            .env(PROBE, std::process::id().to_string())
            .stdout(std::process::Stdio::null())
            .status()
            .unwrap();
        assert!(status.success(), "the child did not find its parent");
    }
}
