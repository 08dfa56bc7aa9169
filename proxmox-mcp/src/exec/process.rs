//! One child process in its own process group: scrubbed environment, stdin, concurrent capped
//! capture of stdout and stderr, and a timeout or cancellation that kills the whole group.

use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::process::{ExitStatus, Stdio};
use std::time::{Duration, Instant};

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::process::{ChildStdin, Command};
use tokio_util::sync::CancellationToken;

use super::{ExecError, ExecOutput, OUTPUT_CAP};
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
/// closed, the timeout passes or `cancel` fires.
pub(super) async fn run(
    mut cmd: Command,
    program: &str,
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
    let mut group = GroupGuard(child.id());
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

/// The child's process group (its pgid is its pid). Killed on drop unless disarmed, so a `run`
/// future dropped half-way does not leave the command running.
struct GroupGuard(Option<u32>);

impl GroupGuard {
    fn kill(&mut self) {
        if let Some(pgid) = self.0.take() {
            kill_group(pgid);
        }
    }

    fn disarm(&mut self) {
        self.0 = None;
    }
}

impl Drop for GroupGuard {
    fn drop(&mut self) {
        self.kill();
    }
}

/// `SIGKILL` to every process in group `pgid`.
///
/// std has no `killpg` and this workspace forbids `unsafe` (so no libc call), hence kill(1):
/// procps' `kill -KILL -- -PGID`, else the shell builtin `kill -9 -PGID` (dash's `kill` does not
/// take `--`). Blocking, but it is a fork and exec of a tiny program. The number cannot name
/// another group: the leader is not reaped yet, or some member still holds the group id.
fn kill_group(pgid: u32) {
    let target = format!("-{pgid}");
    let mut cmd = match ["/usr/bin/kill", "/bin/kill"]
        .into_iter()
        .find(|k| Path::new(k).exists())
    {
        Some(kill) => {
            let mut c = std::process::Command::new(kill);
            c.args(["-KILL", "--", &target]);
            c
        }
        None => {
            let mut c = std::process::Command::new("/bin/sh");
            c.args(["-c", r#"kill -9 "$0""#, &target]);
            c
        }
    };
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
        Err(e) => tracing::warn!(pgid, error = %e, "cannot run kill(1) for the process group"),
    }
}
