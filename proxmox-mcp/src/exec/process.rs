//! One child process in its own process group: scrubbed environment, stdin, concurrent capped
//! capture of stdout and stderr, and a timeout or cancellation that kills the whole group.
//!
//! A command run through `sudo -u ACCOUNT` stays in the group (sudo without a pty does not start
//! its own), but its processes belong to the account and our `SIGKILL` cannot reach them: for
//! such a command the group is also killed as the account (`sudo -n -u ACCOUNT -- kill`).

use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::process::{ExitStatus, Stdio};
use std::time::{Duration, Instant};

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::process::{ChildStdin, Command};
use tokio_util::sync::CancellationToken;

use super::{ExecError, ExecOutput, OUTPUT_CAP, local};
use crate::config::env::PROXMOX_MCP_TOOL_CALL;

/// `PATH` of every child we start.
pub(super) const SAFE_PATH: &str = "/usr/sbin:/usr/bin:/sbin:/bin";

/// The complete environment of a child besides `HOME`.
const ENV: [(&str, &str); 2] = [("PATH", SAFE_PATH), ("LANG", "C.UTF-8")];

/// After the group was killed: how long to wait for the leader and for the pipes to close (a
/// process that left the group with `setsid` can hold them open forever).
const KILL_GRACE: Duration = Duration::from_secs(2);

/// `program` with an empty environment but [`ENV`], `HOME` and the tool-call marker, cwd `/`,
/// piped stdout and stderr, leading a new process group.
///
/// The marker ([`PROXMOX_MCP_TOOL_CALL`]`=1`) tells our own operator commands (`proxmox-mcp
/// approve` …) that they were started by a tool call, which they refuse. For the SSH executor it
/// marks the local `ssh` client only.
pub(super) fn command(program: &str, home: &Path) -> Command {
    let mut cmd = Command::new(program);
    cmd.env_clear()
        .envs(ENV)
        .env("HOME", home)
        .env(PROXMOX_MCP_TOOL_CALL, "1")
        .current_dir("/")
        .process_group(0)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    cmd
}

enum Outcome {
    Finished,
    TimedOut,
    Cancelled,
}

/// Spawns `cmd` (built by [`command`]) and collects its output until it exits and both pipes are
/// closed, the timeout passes or `cancel` fires. `run_as`: the account `cmd` runs its command as
/// (through sudo), whose processes the kill must reach too.
pub(super) async fn run(
    mut cmd: Command,
    program: &str,
    run_as: Option<&str>,
    stdin: Option<&[u8]>,
    timeout: Duration,
    cancel: &CancellationToken,
) -> Result<ExecOutput, ExecError> {
    if cancel.is_cancelled() {
        return Err(ExecError::Cancelled);
    }
    cmd.stdin(if stdin.is_some() {
        Stdio::piped()
    } else {
        Stdio::null()
    });
    let started = Instant::now();
    let mut child = cmd.spawn().map_err(|source| ExecError::Spawn {
        program: program.to_string(),
        source,
    })?;
    // Declared after `child`, so dropped before it: the group dies before the leader is reaped.
    let mut group = GroupGuard(child.id(), run_as);
    let (Some(mut stdout), Some(mut stderr)) = (child.stdout.take(), child.stderr.take()) else {
        unreachable!("`command` pipes stdout and stderr")
    };
    let stdin_pipe = child.stdin.take();

    let mut out = Capture::default();
    let mut err = Capture::default();
    let mut status: Option<ExitStatus> = None;
    let outcome = {
        let work = async {
            tokio::join!(
                feed(stdin_pipe, stdin.unwrap_or_default()),
                out.drain(&mut stdout),
                err.drain(&mut stderr),
                async { status = child.wait().await.ok() },
            );
        };
        tokio::select! {
            biased;
            () = work => Outcome::Finished,
            () = cancel.cancelled() => Outcome::Cancelled,
            () = tokio::time::sleep(timeout) => Outcome::TimedOut,
        }
    };

    match outcome {
        // Whatever the command left running in the background (without our pipes) stays.
        Outcome::Finished => group.disarm(),
        Outcome::TimedOut | Outcome::Cancelled => {
            group.kill();
            let _ = child.start_kill();
            if status.is_none() {
                status = tokio::time::timeout(KILL_GRACE, child.wait())
                    .await
                    .ok()
                    .and_then(Result::ok);
            }
            if let Outcome::Cancelled = outcome {
                return Err(ExecError::Cancelled);
            }
            let _ = tokio::time::timeout(KILL_GRACE, async {
                tokio::join!(out.drain(&mut stdout), err.drain(&mut stderr))
            })
            .await;
        }
    }

    let timed_out = matches!(outcome, Outcome::TimedOut);
    Ok(ExecOutput {
        stdout: out.text(),
        stderr: err.text(),
        exit_code: status.and_then(|s| s.code()),
        signal: status.and_then(|s| s.signal()),
        timed_out,
        stdout_truncated: out.truncated,
        stderr_truncated: err.truncated,
        duration: started.elapsed(),
    })
}

/// Writes `data` and closes stdin. A child that exits without reading it is not an error.
async fn feed(pipe: Option<ChildStdin>, data: &[u8]) {
    if let Some(mut pipe) = pipe {
        let _ = pipe.write_all(data).await;
        let _ = pipe.shutdown().await;
    }
}

/// One stream's bytes, the first [`OUTPUT_CAP`] of them.
#[derive(Default)]
struct Capture {
    buf: Vec<u8>,
    truncated: bool,
}

impl Capture {
    /// Reads until EOF or a read error, keeping what fits. Cancel-safe: a dropped read loses nothing.
    async fn drain(&mut self, r: &mut (impl AsyncRead + Unpin)) {
        let mut chunk = vec![0; 64 * 1024];
        while let Ok(n @ 1..) = r.read(&mut chunk).await {
            self.push(&chunk[..n]);
        }
    }

    fn push(&mut self, bytes: &[u8]) {
        let room = OUTPUT_CAP - self.buf.len();
        if bytes.len() > room {
            self.truncated = true;
        }
        self.buf.extend_from_slice(&bytes[..bytes.len().min(room)]);
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.buf).into_owned()
    }
}

/// The child's process group (its pgid is its pid), and the account its command runs as, if not
/// ours. Killed on drop unless disarmed, so a `run` future dropped half-way does not leave the
/// command running.
struct GroupGuard<'a>(Option<u32>, Option<&'a str>);

impl GroupGuard<'_> {
    fn kill(&mut self) {
        if let Some(pgid) = self.0.take() {
            for argv in kill_commands(pgid, kill_program(), self.1) {
                kill_group(pgid, &argv);
            }
        }
    }

    fn disarm(&mut self) {
        self.0 = None;
    }
}

impl Drop for GroupGuard<'_> {
    fn drop(&mut self) {
        self.kill();
    }
}

/// kill(1) by its path, or `None` for the shell builtin.
///
/// std has no `killpg` and this workspace forbids `unsafe` (so no libc call), hence kill(1):
/// procps' `kill -KILL -- -PGID`, else the shell builtin `kill -9 -PGID` (dash's `kill` does not
/// take `--`).
fn kill_program() -> Option<&'static str> {
    ["/usr/bin/kill", "/bin/kill"]
        .into_iter()
        .find(|k| Path::new(k).exists())
}

/// The command lines that send `SIGKILL` to group `pgid`: ours, then, for a command run as
/// `run_as`, the same kill run as that account through sudo (its processes are not ours to
/// signal; ours, sudo included, are not its). Processes the command started as yet another user
/// (a `sudo qm …` inside it) are beyond both.
fn kill_commands(pgid: u32, kill: Option<&str>, run_as: Option<&str>) -> Vec<Vec<String>> {
    let target = format!("-{pgid}");
    let ours: Vec<&str> = match kill {
        Some(kill) => vec![kill, "-KILL", "--", &target],
        None => vec!["/bin/sh", "-c", r#"kill -9 "$0""#, &target],
    };
    let mut all = vec![ours.clone()];
    if let Some(account) = run_as {
        let mut theirs = vec![local::SUDO];
        theirs.extend(local::sudo_args(account, &ours));
        all.push(theirs);
    }
    all.into_iter()
        .map(|argv| argv.into_iter().map(str::to_owned).collect())
        .collect()
}

/// Runs one of [`kill_commands`]. Blocking, but it is a fork and exec of a tiny program (and of
/// sudo for a command run as another account). The number cannot name another group: the leader
/// is not reaped yet, or some member still holds the group id.
fn kill_group(pgid: u32, argv: &[String]) {
    let Some((program, args)) = argv.split_first() else {
        return;
    };
    let mut cmd = std::process::Command::new(program);
    cmd.args(args);
    let result = cmd
        .env_clear()
        .envs(ENV)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
    match result {
        Ok(s) if s.success() => {}
        // Exit 1 also when the group is already gone; the leader still gets `start_kill`.
        Ok(s) => tracing::debug!(pgid, status = %s, "kill of the process group failed"),
        Err(e) => {
            tracing::warn!(pgid, error = %e, program, "cannot run kill(1) for the process group")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_group_is_killed_as_the_account_too() {
        let check = |kill, run_as, want: &[&[&str]]| {
            assert_eq!(kill_commands(42, kill, run_as), want, "{kill:?} {run_as:?}");
        };
        check(
            Some("/usr/bin/kill"),
            None,
            &[&["/usr/bin/kill", "-KILL", "--", "-42"]],
        );
        check(None, None, &[&["/bin/sh", "-c", r#"kill -9 "$0""#, "-42"]]);
        check(
            Some("/bin/kill"),
            Some("proxmox-mcp-exec"),
            &[
                &["/bin/kill", "-KILL", "--", "-42"],
                &[
                    "/usr/bin/sudo",
                    "-n",
                    "-u",
                    "proxmox-mcp-exec",
                    "--",
                    "/bin/kill",
                    "-KILL",
                    "--",
                    "-42",
                ],
            ],
        );
    }
}
