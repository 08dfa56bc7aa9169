//! Running an already-allowed shell command on a node: locally or over OpenSSH, with a scrubbed
//! environment, capped output, a timeout and cancellation that kill everything the command started.
//!
//! This module decides nothing: the policy engine has approved the command before [`Executor::run`]
//! sees it. What it guarantees is containment:
//!
//! - the child never sees our environment (API token secrets, `SSH_AUTH_SOCK`, …): it gets
//!   `PATH`, `HOME` and `LANG=C.UTF-8` only, and its working directory is `/`;
//! - the child runs in its own process group, and a timeout or cancellation sends `SIGKILL` to the
//!   whole group, grandchildren included (`sleep 100 &`);
//! - stdout and stderr are read concurrently, each kept up to [`OUTPUT_CAP`] bytes and drained
//!   past that so the child never blocks on a full pipe.
//!
//! Over SSH, killing the client ends the session, but the remote command may keep running until
//! the remote sshd notices the closed connection and the command next writes to it (a command
//! that never writes runs to completion). Use remote-side limits (`timeout 30 cmd`) where that
//! matters.

mod local;
mod process;
mod ssh;
#[cfg(test)]
mod tests;

use std::path::PathBuf;
use std::time::Duration;

use serde::{Serialize, Serializer};
/// Re-exported so callers (and the end-to-end tests) need no direct `tokio-util` dependency.
pub use tokio_util::sync::CancellationToken;

use crate::config::{ExecConfig, ExecutorKind, SshConfig};

/// Bytes kept per stream (stdout, stderr); the rest is read and discarded.
pub const OUTPUT_CAP: usize = 1 << 20;

/// One command to run on one node.
#[derive(Debug, Clone, Copy)]
pub struct ExecRequest<'a> {
    /// The PVE node name (`pve1`).
    pub node: &'a str,
    /// A shell command line, run by `bash -c` (local) or the remote user's login shell (ssh).
    pub command: &'a str,
    /// Bytes written to the command's stdin; `None` means `/dev/null`.
    pub stdin: Option<&'a [u8]>,
    /// Wall-clock limit, clamped to [`ExecConfig::MAX_TIMEOUT`].
    pub timeout: Duration,
}

/// What a command did. `exit_code` and `signal` describe how the main process ended (`None`
/// when it was still running at the timeout); `timed_out` says we stopped waiting and killed it.
#[derive(Debug, Clone, Serialize)]
pub struct ExecOutput {
    pub stdout: String,
    pub stderr: String,
    pub exit_code: Option<i32>,
    pub signal: Option<i32>,
    pub timed_out: bool,
    pub stdout_truncated: bool,
    pub stderr_truncated: bool,
    #[serde(rename = "duration_ms", serialize_with = "as_millis")]
    pub duration: Duration,
}

fn as_millis<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_u64(u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// Why a command did not run (or did not finish). A command that ran and failed is an `Ok`
/// [`ExecOutput`] with its exit code, not an error.
#[derive(Debug, thiserror::Error)]
pub enum ExecError {
    #[error(
        "shell command execution is disabled for this cluster. An operator can enable it in the \
         config file with `[cluster.exec] executor = \"ssh\"` (OpenSSH to each node, strict host \
         key checking) or `executor = \"local\"` (only the node proxmox-mcp itself runs on), or \
         with the environment variable PROXMOX_MCP_EXECUTOR=ssh|local"
    )]
    Disabled,

    #[error(
        "node {node:?} is not the local node {local:?}: the local executor only runs commands on \
         the node proxmox-mcp runs on. Target {local:?}, or have an operator set \
         `[cluster.exec] executor = \"ssh\"` to reach every node (or fix `local_node` if \
         {local:?} is the wrong name for this host)"
    )]
    NotLocal { node: String, local: String },

    /// The child process could not be started at all.
    #[error("cannot start {program}: {source}")]
    Spawn {
        program: String,
        #[source]
        source: std::io::Error,
    },

    /// The SSH connection failed (host key, authentication, network); the message says how to fix it.
    #[error("{0}")]
    Ssh(String),

    /// The caller cancelled the request; the command was killed.
    #[error("the command was cancelled and killed")]
    Cancelled,
}

/// Runs commands the way one cluster's `[cluster.exec]` says.
#[derive(Debug, Clone)]
pub struct Executor {
    kind: ExecutorKind,
    /// The node this process runs on (configured, else the short host name).
    local_node: String,
    ssh: SshConfig,
    /// Local executor: the account commands run as, through sudo (`None`: our own user).
    run_as: Option<String>,
    /// `HOME` for children: our user's home directory from `/etc/passwd` (the `run_as`
    /// account's, which sudo sets, when there is one).
    home: PathBuf,
}

impl Executor {
    /// Builds an executor; reads the host name (when `local_node` is unset) and our home directory.
    pub fn new(cfg: &ExecConfig) -> Self {
        let run_as = match cfg.executor {
            ExecutorKind::Local => cfg.run_as.clone(),
            _ => None,
        };
        let home = match &run_as {
            Some(account) => local::account_home(account),
            None => local::home_dir(),
        };
        Executor {
            kind: cfg.executor,
            local_node: cfg
                .local_node
                .clone()
                .or_else(local::host_name)
                .unwrap_or_else(|| "localhost".into()),
            ssh: cfg.ssh.clone(),
            run_as,
            home,
        }
    }

    pub fn kind(&self) -> ExecutorKind {
        self.kind
    }

    /// Where commands start and their `HOME`, as this executor sets them up: commands start
    /// in `/` on every executor; `HOME` is our own home locally and the remote user's over SSH.
    /// The classifier resolves relative paths and `~` against the same two values.
    pub fn workdir(&self) -> (&'static str, String) {
        match self.kind {
            ExecutorKind::Ssh => ("/", ssh::Target::remote_home(&self.ssh.user)),
            _ => ("/", self.home.display().to_string()),
        }
    }

    /// The node this process runs on (the local executor's only node).
    pub fn local_node(&self) -> &str {
        &self.local_node
    }

    /// How a command for `node` would run, for messages and the audit log:
    /// `ssh root@127.0.0.1:2222`, `local shell on pve1`, `disabled`.
    pub fn describe(&self, node: &str) -> String {
        match self.kind {
            ExecutorKind::Disabled => "disabled".into(),
            ExecutorKind::Local => match &self.run_as {
                None => format!("local shell on {}", self.local_node),
                Some(account) => format!("local shell on {} as {account}", self.local_node),
            },
            ExecutorKind::Ssh => format!(
                "ssh {}@{}:{}",
                self.ssh.user,
                ssh::host_for(&self.ssh, node),
                self.ssh.port
            ),
        }
    }

    /// Runs `req` to completion, timeout or cancellation. On timeout the output so far comes back
    /// with `timed_out: true`; on cancellation the command is killed and [`ExecError::Cancelled`]
    /// returned. Dropping the future also kills the command's process group.
    pub async fn run(
        &self,
        req: ExecRequest<'_>,
        cancel: CancellationToken,
    ) -> Result<ExecOutput, ExecError> {
        let timeout = req.timeout.min(ExecConfig::MAX_TIMEOUT);
        tracing::debug!(node = req.node, via = %self.describe(req.node), ?timeout, "exec");
        let out = match self.kind {
            ExecutorKind::Disabled => return Err(ExecError::Disabled),
            ExecutorKind::Local => {
                if !req.node.eq_ignore_ascii_case(&self.local_node) {
                    return Err(ExecError::NotLocal {
                        node: req.node.to_string(),
                        local: self.local_node.clone(),
                    });
                }
                let (cmd, program) = self.local_command(req.command);
                let run_as = self.run_as.as_deref();
                process::run(cmd, program, run_as, req.stdin, timeout, &cancel).await?
            }
            ExecutorKind::Ssh => {
                let target = ssh::Target::new(&self.ssh, req.node)?;
                let mut cmd = process::command("ssh", &self.home);
                cmd.args(target.args(req.command));
                let out = process::run(cmd, "ssh", None, req.stdin, timeout, &cancel)
                    .await
                    .map_err(ssh::spawn_error)?;
                if out.exit_code == Some(ssh::CLIENT_FAILURE)
                    && let Some(msg) = target.diagnose(&out.stderr)
                {
                    return Err(ExecError::Ssh(msg));
                }
                out
            }
        };
        tracing::debug!(
            node = req.node,
            exit_code = ?out.exit_code,
            signal = ?out.signal,
            timed_out = out.timed_out,
            duration_ms = out.duration.as_millis(),
            "exec finished"
        );
        Ok(out)
    }

    /// The local executor's child and its program's name: `SHELL -c COMMAND`, or with `run_as`,
    /// `sudo -n -u ACCOUNT -- SHELL -c COMMAND`.
    fn local_command(&self, command: &str) -> (tokio::process::Command, &'static str) {
        let shell = local::shell();
        match &self.run_as {
            None => {
                let mut cmd = process::command(shell, &self.home);
                cmd.arg("-c").arg(command);
                (cmd, shell)
            }
            Some(account) => {
                let mut cmd = process::command(local::SUDO, &self.home);
                cmd.args(local::sudo_args(account, &[shell, "-c", command]));
                (cmd, local::SUDO)
            }
        }
    }
}
