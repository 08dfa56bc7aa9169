//! The local executor against real processes (the ssh executor is tested end to end in
//! `tests/tests/ssh.rs` against a throwaway sshd).

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use super::*;

fn local_config() -> ExecConfig {
    ExecConfig {
        executor: ExecutorKind::Local,
        local_node: Some("pve1".into()),
        ..ExecConfig::default()
    }
}

fn local() -> Executor {
    Executor::new(&local_config())
}

fn req<'a>(command: &'a str, stdin: Option<&'a [u8]>, timeout: Duration) -> ExecRequest<'a> {
    ExecRequest {
        node: "pve1",
        command,
        stdin,
        timeout,
    }
}

/// Runs `command` locally with a 10 s timeout.
async fn sh(command: &str) -> ExecOutput {
    local()
        .run(
            req(command, None, Duration::from_secs(10)),
            CancellationToken::new(),
        )
        .await
        .unwrap_or_else(|e| panic!("{command}: {e}"))
}

/// Whether `pid` is running (a zombie waiting for a reaper is not).
fn alive(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        // `pid (comm) S ...`: the state follows the last ')'.
        Ok(stat) => stat
            .rsplit_once(')')
            .is_some_and(|(_, rest)| !rest.trim_start().starts_with(['Z', 'X'])),
        Err(_) => false,
    }
}

/// Waits up to 2 s for `pid` to die.
async fn gone(pid: u32) -> bool {
    for _ in 0..40 {
        if !alive(pid) {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    false
}

#[tokio::test]
async fn stdout_stderr_and_exit_code_apart() {
    let out = sh("echo hello; echo oops >&2; exit 3").await;
    assert_eq!(out.stdout, "hello\n");
    assert_eq!(out.stderr, "oops\n");
    assert_eq!(out.exit_code, Some(3));
    assert_eq!(out.signal, None);
    assert!(!out.timed_out && !out.stdout_truncated && !out.stderr_truncated);
}

#[tokio::test]
async fn a_signal_is_reported() {
    let out = sh("kill -TERM $$").await;
    assert_eq!((out.exit_code, out.signal), (None, Some(15)));
}

#[tokio::test]
async fn stdin_is_passed_or_dev_null() {
    let data = b"line 1\nline 2\n\x00binary";
    let out = local()
        .run(
            req("cat; echo done >&2", Some(data), Duration::from_secs(10)),
            CancellationToken::new(),
        )
        .await
        .unwrap();
    assert_eq!(out.stdout.as_bytes(), data);
    assert_eq!(out.stderr, "done\n");

    // Without stdin, `cat` reads /dev/null and ends at once instead of waiting for the timeout.
    let out = sh("cat; echo $?").await;
    assert_eq!(out.stdout, "0\n");
    assert!(!out.timed_out);
}

#[tokio::test]
async fn stdin_larger_than_a_pipe_while_output_flows() {
    // 4 MiB in, 4 MiB out at the same time: deadlocks unless stdin, stdout and stderr are
    // serviced concurrently.
    let data = vec![b'x'; 4 << 20];
    let out = local()
        .run(
            req("tee /dev/stderr", Some(&data), Duration::from_secs(30)),
            CancellationToken::new(),
        )
        .await
        .unwrap();
    assert_eq!(out.exit_code, Some(0));
    assert_eq!(out.stdout.len(), OUTPUT_CAP);
    assert!(out.stdout_truncated && out.stderr_truncated);
}

#[tokio::test]
async fn timeout_kills_the_whole_process_group() {
    let started = Instant::now();
    let out = local()
        .run(
            req(
                "echo started; sleep 100 & echo $!; wait",
                None,
                Duration::from_secs(1),
            ),
            CancellationToken::new(),
        )
        .await
        .unwrap();
    assert!(started.elapsed() < Duration::from_secs(5), "{out:?}");
    assert!(out.timed_out, "{out:?}");
    assert_eq!((out.exit_code, out.signal), (None, Some(9)));
    let mut lines = out.stdout.lines();
    assert_eq!(lines.next(), Some("started"), "partial output is kept");
    let grandchild: u32 = lines.next().unwrap().parse().unwrap();
    assert!(gone(grandchild).await, "sleep {grandchild} survived");
    assert!(out.duration >= Duration::from_secs(1));
}

#[tokio::test]
async fn background_process_holding_the_pipe_ends_at_the_timeout() {
    // The shell exits at once but `sleep` keeps stdout open: we wait for it (its output is part
    // of the command's), then kill it at the timeout and report the shell's exit code.
    let out = local()
        .run(
            req("sleep 100 & echo $!; exit 4", None, Duration::from_secs(1)),
            CancellationToken::new(),
        )
        .await
        .unwrap();
    assert!(out.timed_out);
    assert_eq!(out.exit_code, Some(4));
    let pid: u32 = out.stdout.trim().parse().unwrap();
    assert!(gone(pid).await, "sleep {pid} survived");
}

#[tokio::test]
async fn a_process_that_left_the_group_does_not_hang_us() {
    // `setsid` escapes the group kill and keeps the pipe: we give up on it after a grace period.
    let started = Instant::now();
    let out = local()
        .run(
            req(
                "setsid sleep 8 & sleep 100",
                None,
                Duration::from_millis(500),
            ),
            CancellationToken::new(),
        )
        .await
        .unwrap();
    assert!(out.timed_out);
    assert!(started.elapsed() < Duration::from_secs(5), "{out:?}");
}

#[tokio::test]
async fn output_is_capped_but_drained() {
    let out = sh("head -c 3000000 /dev/zero; head -c 3000000 /dev/zero >&2; echo tail >&2").await;
    // Exit 0 without a timeout: the writers were never blocked (nor killed by SIGPIPE).
    assert_eq!(out.exit_code, Some(0), "{:?}", out.signal);
    assert!(!out.timed_out);
    assert_eq!(out.stdout.len(), OUTPUT_CAP);
    assert_eq!(out.stderr.len(), OUTPUT_CAP);
    assert!(out.stdout_truncated && out.stderr_truncated);

    let exact = sh(&format!("head -c {OUTPUT_CAP} /dev/zero")).await;
    assert_eq!(exact.stdout.len(), OUTPUT_CAP);
    assert!(!exact.stdout_truncated);
}

#[tokio::test]
async fn invalid_utf8_is_decoded_lossily() {
    let out = sh(r"printf 'ok \377\n'").await;
    assert_eq!(out.stdout, "ok \u{FFFD}\n");
}

#[tokio::test]
async fn the_environment_is_scrubbed() {
    // Our own environment (whatever the test runner has: CARGO_*, RUST_*, HOME, tokens…) must
    // not reach the child: it sees only what we set plus what bash adds itself.
    let out = sh("env; echo \"cwd=$(pwd)\"").await;
    let keys: BTreeSet<&str> = out
        .stdout
        .lines()
        .filter_map(|l| l.split_once('=').map(|(k, _)| k))
        .filter(|k| *k != "cwd")
        .collect();
    let allowed = BTreeSet::from([
        "PATH",
        "HOME",
        "LANG",
        "PROXMOX_MCP_TOOL_CALL",
        "PWD",
        "SHLVL",
        "_",
    ]);
    assert!(keys.is_subset(&allowed), "unexpected: {keys:?}");
    // The marker our operator commands refuse to run with.
    assert!(out.stdout.contains("PROXMOX_MCP_TOOL_CALL=1\n"));
    assert!(out.stdout.contains("PATH=/usr/sbin:/usr/bin:/sbin:/bin\n"));
    assert!(out.stdout.contains("LANG=C.UTF-8\n"));
    assert!(out.stdout.contains("cwd=/\n"));
}

#[tokio::test]
async fn other_nodes_are_not_local() {
    let e = local()
        .run(
            ExecRequest {
                node: "pve2",
                ..req("true", None, Duration::from_secs(5))
            },
            CancellationToken::new(),
        )
        .await
        .unwrap_err();
    assert!(matches!(&e, ExecError::NotLocal { node, local } if node == "pve2" && local == "pve1"));
    assert!(e.to_string().contains("executor = \"ssh\""), "{e}");

    // Node names compare case-insensitively.
    let out = local()
        .run(
            ExecRequest {
                node: "PVE1",
                ..req("echo hi", None, Duration::from_secs(5))
            },
            CancellationToken::new(),
        )
        .await
        .unwrap();
    assert_eq!(out.stdout, "hi\n");
}

#[tokio::test]
async fn disabled_says_how_to_enable() {
    let ex = Executor::new(&ExecConfig::default());
    assert_eq!(ex.kind(), ExecutorKind::Disabled);
    let e = ex
        .run(
            req("true", None, Duration::from_secs(5)),
            CancellationToken::new(),
        )
        .await
        .unwrap_err();
    assert!(matches!(e, ExecError::Disabled));
    let msg = e.to_string();
    for want in [
        "[cluster.exec]",
        "executor = \"ssh\"",
        "\"local\"",
        "PROXMOX_MCP_EXECUTOR",
    ] {
        assert!(msg.contains(want), "{want} missing from: {msg}");
    }
}

#[tokio::test]
async fn cancellation_kills_the_command() {
    let cancel = CancellationToken::new();
    let dir = tempfile::tempdir().unwrap();
    let pidfile = dir.path().join("pid");
    let command = format!("sleep 100 & echo $! > {}; wait", pidfile.display());
    let ex = local();
    let run = ex.run(req(&command, None, Duration::from_secs(60)), cancel.clone());
    let started = Instant::now();
    let trigger = async {
        while !pidfile.exists() {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        cancel.cancel();
    };
    let (result, ()) = tokio::join!(run, trigger);
    assert!(matches!(result, Err(ExecError::Cancelled)), "{result:?}");
    assert!(started.elapsed() < Duration::from_secs(5));
    let pid: u32 = std::fs::read_to_string(&pidfile)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert!(gone(pid).await, "sleep {pid} survived the cancellation");

    // An already cancelled token starts nothing.
    let marker = dir.path().join("ran");
    let command = format!("touch {}", marker.display());
    let result = ex
        .run(req(&command, None, Duration::from_secs(5)), cancel)
        .await;
    assert!(matches!(result, Err(ExecError::Cancelled)));
    assert!(!marker.exists());
}

#[tokio::test]
async fn dropping_the_future_kills_the_command() {
    let dir = tempfile::tempdir().unwrap();
    let pidfile = dir.path().join("pid");
    let command = format!("sleep 100 & echo $! > {}; wait", pidfile.display());
    let ex = local();
    let run = ex.run(
        req(&command, None, Duration::from_secs(60)),
        CancellationToken::new(),
    );
    // Give up on the future once the grandchild exists.
    let _ = tokio::time::timeout(Duration::from_millis(500), run).await;
    let pid: u32 = std::fs::read_to_string(&pidfile)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert!(gone(pid).await, "sleep {pid} survived the dropped future");
}

#[test]
fn describe_and_serialize() {
    assert_eq!(local().describe("pve1"), "local shell on pve1");
    let mut cfg = ExecConfig {
        executor: ExecutorKind::Ssh,
        ..ExecConfig::default()
    };
    cfg.ssh.port = 2222;
    cfg.ssh.hosts.insert("pve1".into(), "127.0.0.1".into());
    let ex = Executor::new(&cfg);
    assert_eq!(ex.kind(), ExecutorKind::Ssh);
    assert_eq!(ex.describe("pve1"), "ssh root@127.0.0.1:2222");
    assert_eq!(ex.describe("pve2"), "ssh root@pve2:2222");

    let out = ExecOutput {
        stdout: "a".into(),
        stderr: String::new(),
        exit_code: Some(0),
        signal: None,
        timed_out: false,
        stdout_truncated: false,
        stderr_truncated: false,
        duration: Duration::from_micros(1_234_567),
    };
    let v = serde_json::to_value(&out).unwrap();
    assert_eq!(v["duration_ms"], 1234);
    assert!(v.get("duration").is_none());
}

#[test]
fn run_as_goes_through_sudo() {
    let plain = local();
    let (cmd, program) = plain.local_command("qm list");
    let argv: Vec<_> = cmd.as_std().get_args().collect();
    assert_eq!(program, local::shell());
    assert_eq!(argv, ["-c", "qm list"]);

    let ex = Executor::new(&ExecConfig {
        run_as: Some("proxmox-mcp-exec".into()),
        ..local_config()
    });
    assert_eq!(
        ex.describe("pve1"),
        "local shell on pve1 as proxmox-mcp-exec"
    );
    let (cmd, program) = ex.local_command("echo hi; id -un");
    let std = cmd.as_std();
    assert_eq!(
        (program, std.get_program()),
        ("/usr/bin/sudo", "/usr/bin/sudo".as_ref())
    );
    let argv: Vec<_> = std.get_args().collect();
    assert_eq!(
        argv,
        [
            "-n",
            "-u",
            "proxmox-mcp-exec",
            "--",
            local::shell(),
            "-c",
            "echo hi; id -un"
        ]
    );
    // The rest of the child's setup is the plain command's.
    let envs: Vec<_> = std.get_envs().map(|(k, _)| k.to_owned()).collect();
    assert!(
        envs.iter().any(|k| k == "PROXMOX_MCP_TOOL_CALL"),
        "{envs:?}"
    );
    assert_eq!(std.get_current_dir(), Some(std::path::Path::new("/")));

    // Only the local executor runs commands as another account.
    let ssh = Executor::new(&ExecConfig {
        executor: ExecutorKind::Ssh,
        run_as: Some("proxmox-mcp-exec".into()),
        ..ExecConfig::default()
    });
    assert!(ssh.run_as.is_none());
}

/// As root with sudo installed (root may `sudo -u` anyone without a password): a command runs as
/// `nobody` with its stdin, and the timeout still kills the whole group. Elsewhere it says why it
/// did not run.
#[tokio::test]
async fn run_as_runs_the_command_as_the_account() {
    use std::os::unix::fs::MetadataExt;
    let root = std::fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0);
    if !root || !std::path::Path::new(local::SUDO).exists() {
        eprintln!(
            "SKIPPED run_as_runs_the_command_as_the_account: needs root and {}",
            local::SUDO
        );
        return;
    }
    let ex = Executor::new(&ExecConfig {
        run_as: Some("nobody".into()),
        ..local_config()
    });
    let out = ex
        .run(
            req("id -un; cat", Some(b"from stdin"), Duration::from_secs(10)),
            CancellationToken::new(),
        )
        .await
        .unwrap();
    assert_eq!(
        (out.exit_code, out.stdout.as_str()),
        (Some(0), "nobody\nfrom stdin"),
        "{out:?}"
    );

    let out = ex
        .run(
            req("sleep 100 & echo $!; wait", None, Duration::from_secs(1)),
            CancellationToken::new(),
        )
        .await
        .unwrap();
    assert!(out.timed_out, "{out:?}");
    let grandchild: u32 = out.stdout.trim().parse().unwrap();
    assert!(gone(grandchild).await, "sleep {grandchild} survived");
}
