//! The ssh executor against a real, throwaway sshd on 127.0.0.1: output, exit codes, stdin,
//! timeouts, the output cap, and the refusals (host key, authentication, connection) with
//! messages that say how to fix them.
//!
//! Each test skips (with a notice) when /usr/sbin/sshd is missing, unless
//! `PROXMOX_MCP_REQUIRE_SSHD=1` (set by `scripts/test` once it has installed openssh-server).

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use e2e::sshd::{Sshd, free_port};
use proxmox_mcp::config::{ExecConfig, ExecutorKind, SshConfig};
use proxmox_mcp::exec::{
    CancellationToken, ExecError, ExecOutput, ExecRequest, Executor, OUTPUT_CAP,
};

/// An ssh executor for node `pve1` = this sshd, adjusted by `f`.
fn executor(sshd: &Sshd, f: impl FnOnce(&mut SshConfig)) -> Executor {
    let mut ssh = SshConfig {
        user: sshd.user.clone(),
        port: sshd.port,
        key: Some(sshd.key.clone()),
        known_hosts: Some(sshd.known_hosts.clone()),
        hosts: BTreeMap::from([("pve1".to_string(), "127.0.0.1".to_string())]),
        connect_timeout: Duration::from_secs(5),
    };
    f(&mut ssh);
    Executor::new(&ExecConfig {
        executor: ExecutorKind::Ssh,
        ssh,
        ..ExecConfig::default()
    })
}

async fn run(
    ex: &Executor,
    command: &str,
    stdin: Option<&[u8]>,
    timeout: Duration,
) -> Result<ExecOutput, ExecError> {
    let req = ExecRequest {
        node: "pve1",
        command,
        stdin,
        timeout,
    };
    ex.run(req, CancellationToken::new()).await
}

/// Runs `command` with a 20 s timeout; it must reach the remote shell.
async fn ok(sshd: &Sshd, command: &str, stdin: Option<&[u8]>) -> ExecOutput {
    let ex = executor(sshd, |_| {});
    run(&ex, command, stdin, Duration::from_secs(20))
        .await
        .unwrap_or_else(|e| panic!("{command}: {e}\nsshd log:\n{}", sshd.log()))
}

/// Runs `true` with `f`'s configuration; it must fail with [`ExecError::Ssh`]. Returns the message.
async fn refused(sshd: &Sshd, f: impl FnOnce(&mut SshConfig)) -> String {
    let ex = executor(sshd, f);
    match run(&ex, "true", None, Duration::from_secs(20)).await {
        Err(ExecError::Ssh(msg)) => msg,
        other => panic!(
            "expected ExecError::Ssh, got {other:?}\nsshd log:\n{}",
            sshd.log()
        ),
    }
}

macro_rules! sshd_or_skip {
    () => {
        match Sshd::start() {
            Some(s) => s,
            None => return,
        }
    };
}

#[tokio::test]
async fn stdout_stderr_and_exit_code() {
    let sshd = sshd_or_skip!();
    let out = ok(&sshd, "echo hello; echo oops >&2; exit 3", None).await;
    assert_eq!(out.stdout, "hello\n");
    assert_eq!(out.stderr, "oops\n");
    assert_eq!(out.exit_code, Some(3));
    assert!(!out.timed_out);

    // A remote exit 255 without ssh's own messages is the command's result, not a refusal.
    let out = ok(&sshd, "echo bye >&2; exit 255", None).await;
    assert_eq!((out.exit_code, out.stderr.as_str()), (Some(255), "bye\n"));
}

#[tokio::test]
async fn stdin_passes_through() {
    let sshd = sshd_or_skip!();
    let data = b"first line\nsecond line\n";
    let out = ok(&sshd, "cat", Some(data)).await;
    assert_eq!(out.stdout.as_bytes(), data);
    assert_eq!(out.exit_code, Some(0));

    // No stdin: the remote side sees EOF at once.
    let out = ok(&sshd, "cat; echo end", None).await;
    assert_eq!(out.stdout, "end\n");
}

#[tokio::test]
async fn the_local_environment_stays_local() {
    let sshd = sshd_or_skip!();
    // The client runs with a scrubbed environment: no agent, nothing of ours forwarded.
    let out = ok(&sshd, "env", None).await;
    for line in out.stdout.lines() {
        let key = line.split('=').next().unwrap_or_default();
        assert!(
            !key.starts_with("CARGO") && !key.starts_with("PROXMOX") && key != "SSH_AUTH_SOCK",
            "{line}"
        );
    }
}

#[tokio::test]
async fn timeout_kills_the_client() {
    let sshd = sshd_or_skip!();
    let ex = executor(&sshd, |_| {});
    let started = Instant::now();
    let out = run(&ex, "sleep 30", None, Duration::from_secs(1))
        .await
        .unwrap();
    let took = started.elapsed();
    assert!(out.timed_out, "{out:?}");
    assert_eq!(out.exit_code, None);
    assert!(took < Duration::from_secs(5), "took {took:?}");

    // What arrived before the timeout is kept. (A generous timeout: the connection itself can
    // take a second when the machine is busy.)
    let out = run(&ex, "echo started; sleep 30", None, Duration::from_secs(4))
        .await
        .unwrap();
    assert!(out.timed_out, "{out:?}");
    assert_eq!(out.stdout, "started\n", "partial output is kept");
}

#[tokio::test]
async fn output_is_capped_over_ssh() {
    let sshd = sshd_or_skip!();
    let out = ok(
        &sshd,
        "head -c 3000000 /dev/zero; head -c 3000000 /dev/zero >&2; echo done >&2",
        None,
    )
    .await;
    assert_eq!(out.exit_code, Some(0), "the stream was drained to the end");
    assert_eq!(out.stdout.len(), OUTPUT_CAP);
    assert_eq!(out.stderr.len(), OUTPUT_CAP);
    assert!(out.stdout_truncated && out.stderr_truncated);
}

#[tokio::test]
async fn wrong_host_key_is_refused() {
    let sshd = sshd_or_skip!();
    let wrong = sshd.wrong_known_hosts();
    let msg = refused(&sshd, |c| c.known_hosts = Some(wrong.clone())).await;
    assert!(msg.contains("host key"), "{msg}");
    assert!(msg.contains("does NOT match"), "{msg}");
    assert!(msg.contains(&wrong.display().to_string()), "{msg}");
}

#[tokio::test]
async fn unknown_host_key_is_refused() {
    let sshd = sshd_or_skip!();
    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().join("known_hosts");
    std::fs::write(&empty, "").unwrap();
    let msg = refused(&sshd, |c| c.known_hosts = Some(empty.clone())).await;
    let file = empty.display();
    assert!(
        msg.contains(&format!(
            "host key of [127.0.0.1]:{} is not in {file}",
            sshd.port
        )),
        "{msg}"
    );
    assert!(
        msg.contains(&format!("ssh-keyscan -p {} 127.0.0.1 >> {file}", sshd.port)),
        "{msg}"
    );
    // ssh must not have learned the key on its own.
    assert_eq!(std::fs::read_to_string(&empty).unwrap(), "");
}

#[tokio::test]
async fn unauthorized_key_is_refused() {
    let sshd = sshd_or_skip!();
    let stranger = sshd.unauthorized_key();
    let msg = refused(&sshd, |c| c.key = Some(stranger.clone())).await;
    assert!(msg.contains("refused our key"), "{msg}");
    assert!(msg.contains("authorized_keys"), "{msg}");
}

#[tokio::test]
async fn closed_port_is_a_connection_error() {
    let sshd = sshd_or_skip!();
    let port = free_port();
    let msg = refused(&sshd, |c| c.port = port).await;
    assert!(
        msg.contains(&format!("cannot connect to 127.0.0.1 port {port}")),
        "{msg}"
    );
}

#[tokio::test]
async fn describe_names_the_target() {
    let sshd = sshd_or_skip!();
    let ex = executor(&sshd, |_| {});
    assert_eq!(
        ex.describe("pve1"),
        format!("ssh {}@127.0.0.1:{}", sshd.user, sshd.port)
    );
}
