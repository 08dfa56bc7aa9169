//! Host state: the persisted mode and out-of-band approvals, through the library and the CLI.

use std::fs;
use std::os::unix::fs::PermissionsExt as _;
use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Barrier};
use std::time::{Duration, UNIX_EPOCH};

use proxmox_mcp::state::{
    ApprovalError, ApprovalStatus, ApprovalStore, ModeStore, StoredMode, approvals::Clock,
};
use serde_json::json;

const TTL: Duration = Duration::from_secs(600);

fn args() -> serde_json::Value {
    json!({"node": "pve1", "vmid": 100, "force": true})
}

/// Every file under `dir` with its content, to prove an operation touched nothing.
fn snapshot(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut all = Vec::new();
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            all.extend(snapshot(&path));
        } else {
            all.push((path.display().to_string(), fs::read(&path).unwrap()));
        }
    }
    all.sort();
    all
}

/// A clock the test moves by hand, starting at a fixed time.
fn manual_clock() -> (Clock, Arc<AtomicU64>) {
    let ms = Arc::new(AtomicU64::new(1_800_000_000_000));
    let read = ms.clone();
    let clock: Clock =
        Arc::new(move || UNIX_EPOCH + Duration::from_millis(read.load(Ordering::SeqCst)));
    (clock, ms)
}

#[test]
fn mode_defaults_to_safe_and_is_shared_between_handles() {
    let tmp = tempfile::tempdir().unwrap();
    let state = tmp.path().join("state");
    let a = ModeStore::open(&state);
    let b = ModeStore::open(&state);
    assert_eq!(a.get(), StoredMode::Safe);
    assert!(!state.exists(), "reading the mode creates nothing");

    let v = b.version();
    assert_eq!(a.set(StoredMode::Normal).unwrap(), StoredMode::Safe);
    assert!(b.changed_since(&v));
    assert_eq!(b.get(), StoredMode::Normal);
    b.set(StoredMode::ReadOnly).unwrap();
    assert_eq!(a.get(), StoredMode::ReadOnly);
    assert_eq!(a.status().fallback, None);

    let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&state), 0o700);
    assert_eq!(mode(&state.join("mode")), 0o600);
    assert_eq!(
        fs::read_to_string(state.join("mode")).unwrap(),
        "read-only\n"
    );
}

#[test]
fn garbled_mode_file_means_read_only_with_a_reason() {
    let tmp = tempfile::tempdir().unwrap();
    let store = ModeStore::open(tmp.path());
    store.set(StoredMode::Normal).unwrap();
    assert_eq!(store.get(), StoredMode::Normal);
    fs::write(tmp.path().join("mode"), "normal-ish\n").unwrap();
    let status = store.status();
    assert_eq!(status.mode, StoredMode::ReadOnly);
    let reason = status.fallback.expect("a reason");
    assert!(reason.contains("normal-ish"), "{reason}");

    fs::write(tmp.path().join("mode"), [0xff, 0xfe]).unwrap();
    assert_eq!(ModeStore::open(tmp.path()).get(), StoredMode::ReadOnly);
}

#[test]
fn approval_happy_path() {
    let tmp = tempfile::tempdir().unwrap();
    let store = ApprovalStore::open(tmp.path()).unwrap();
    let a = store
        .request("delete_vm", &args(), "delete VM 100 on pve1", TTL)
        .unwrap();
    assert_eq!(a.id.len(), 10);
    assert_eq!(a.status, ApprovalStatus::Pending);
    let file = tmp.path().join("approvals").join(format!("{}.json", a.id));
    assert_eq!(
        fs::metadata(&file).unwrap().permissions().mode() & 0o777,
        0o600
    );

    // Key order does not matter: the binding is over canonical JSON.
    let reordered = json!({"force": true, "vmid": 100, "node": "pve1"});
    assert!(matches!(
        store.consume(&a.id, "delete_vm", &reordered),
        Err(ApprovalError::Pending(_))
    ));
    // Another handle (another process) approves; lower case is fine for a human.
    let approved = ApprovalStore::open(tmp.path())
        .unwrap()
        .approve(&a.id.to_lowercase())
        .unwrap();
    assert_eq!(approved.status, ApprovalStatus::Approved);
    store.consume(&a.id, "delete_vm", &reordered).unwrap();
    assert_eq!(store.get(&a.id).unwrap().status, ApprovalStatus::Used);
}

#[test]
fn approval_for_other_arguments_is_refused_and_stays_usable() {
    let tmp = tempfile::tempdir().unwrap();
    let store = ApprovalStore::open(tmp.path()).unwrap();
    let a = store
        .request("delete_vm", &args(), "delete VM 100", TTL)
        .unwrap();
    store.approve(&a.id).unwrap();
    let other = json!({"node": "pve1", "vmid": 101, "force": true});
    assert!(matches!(
        store.consume(&a.id, "delete_vm", &other),
        Err(ApprovalError::OtherArguments(_))
    ));
    assert!(matches!(
        store.consume(&a.id, "stop_vm", &args()),
        Err(ApprovalError::OtherArguments(_))
    ));
    // Type matters too: "100" is not 100.
    let stringly = json!({"node": "pve1", "vmid": "100", "force": true});
    assert!(matches!(
        store.consume(&a.id, "delete_vm", &stringly),
        Err(ApprovalError::OtherArguments(_))
    ));
    store.consume(&a.id, "delete_vm", &args()).unwrap();
}

#[test]
fn reused_approval_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let store = ApprovalStore::open(tmp.path()).unwrap();
    let a = store
        .request("delete_vm", &args(), "delete VM 100", TTL)
        .unwrap();
    store.approve(&a.id).unwrap();
    store.consume(&a.id, "delete_vm", &args()).unwrap();
    let err = store.consume(&a.id, "delete_vm", &args()).unwrap_err();
    assert!(matches!(err, ApprovalError::AlreadyUsed(_)), "{err}");
    assert!(err.to_string().contains("already used"), "{err}");
    // Approving again does not revive it.
    assert!(matches!(
        store.approve(&a.id),
        Err(ApprovalError::AlreadyUsed(_))
    ));
}

#[test]
fn expired_approval_is_refused_then_pruned() {
    let tmp = tempfile::tempdir().unwrap();
    let (clock, now) = manual_clock();
    let store = ApprovalStore::open_with_clock(tmp.path(), clock.clone()).unwrap();
    let a = store
        .request("delete_vm", &args(), "delete VM 100", TTL)
        .unwrap();
    store.approve(&a.id).unwrap();
    let pending = store
        .request("stop_vm", &args(), "stop VM 100", TTL)
        .unwrap();

    now.fetch_add(TTL.as_millis() as u64, Ordering::SeqCst);
    let err = store.consume(&a.id, "delete_vm", &args()).unwrap_err();
    assert!(matches!(err, ApprovalError::Expired(_)), "{err}");
    assert!(matches!(
        store.approve(&pending.id),
        Err(ApprovalError::Expired(_))
    ));
    let listed = store.list().unwrap();
    assert_eq!(listed.len(), 2);
    assert!(listed.iter().all(|l| l.expired));

    // Long after expiry, opening the store prunes the records.
    now.fetch_add(2 * 3600 * 1000, Ordering::SeqCst);
    let reopened = ApprovalStore::open_with_clock(tmp.path(), clock).unwrap();
    assert!(reopened.list().unwrap().is_empty());
    assert!(matches!(
        reopened.consume(&a.id, "delete_vm", &args()),
        Err(ApprovalError::Unknown(_))
    ));
}

#[test]
fn expired_with_a_real_tiny_ttl() {
    let tmp = tempfile::tempdir().unwrap();
    let store = ApprovalStore::open(tmp.path()).unwrap();
    let a = store
        .request("delete_vm", &args(), "x", Duration::from_millis(1))
        .unwrap();
    std::thread::sleep(Duration::from_millis(5));
    assert!(matches!(
        store.consume(&a.id, "delete_vm", &args()),
        Err(ApprovalError::Expired(_))
    ));
}

#[test]
fn denied_approval_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let store = ApprovalStore::open(tmp.path()).unwrap();
    let a = store
        .request("delete_vm", &args(), "delete VM 100", TTL)
        .unwrap();
    store.deny(&a.id).unwrap();
    assert!(matches!(
        store.consume(&a.id, "delete_vm", &args()),
        Err(ApprovalError::Denied(_))
    ));
    assert!(matches!(
        store.approve(&a.id),
        Err(ApprovalError::Denied(_))
    ));

    // Revoking a granted, unused approval also works.
    let b = store.request("delete_vm", &args(), "again", TTL).unwrap();
    store.approve(&b.id).unwrap();
    store.deny(&b.id).unwrap();
    assert!(matches!(
        store.consume(&b.id, "delete_vm", &args()),
        Err(ApprovalError::Denied(_))
    ));
}

#[test]
fn unknown_and_malformed_ids_are_refused_without_touching_files() {
    let tmp = tempfile::tempdir().unwrap();
    let store = ApprovalStore::open(tmp.path()).unwrap();
    store.request("delete_vm", &args(), "keep me", TTL).unwrap();
    // A file one level up that a traversal would reach.
    fs::write(tmp.path().join("x.json"), "{}").unwrap();
    let before = snapshot(tmp.path());

    let long = "A".repeat(11);
    for bad in [
        "../x",
        "",
        long.as_str(),
        "ABCDEFGHJ\0",
        "..%2Fx0000",
        "ABCDE/GHJK",
        "ABCDEFGHJU",
    ] {
        for result in [
            store.consume(bad, "delete_vm", &args()),
            store.approve(bad).map(drop),
            store.deny(bad).map(drop),
        ] {
            let err = result.unwrap_err();
            assert!(matches!(err, ApprovalError::Malformed(_)), "{bad:?}: {err}");
            assert!(err.to_string().contains("malformed approval id"), "{err}");
        }
    }
    assert_eq!(snapshot(tmp.path()), before);

    assert!(matches!(
        store.approve("0123456789"),
        Err(ApprovalError::Unknown(_))
    ));
    assert_eq!(snapshot(tmp.path()), before);
}

#[test]
fn concurrent_consume_succeeds_exactly_once() {
    let tmp = tempfile::tempdir().unwrap();
    let store = ApprovalStore::open(tmp.path()).unwrap();
    let a = store.request("delete_vm", &args(), "race", TTL).unwrap();
    store.approve(&a.id).unwrap();

    let barrier = Arc::new(Barrier::new(8));
    let handles: Vec<_> = (0..8)
        .map(|_| {
            let (dir, id, barrier) = (tmp.path().to_path_buf(), a.id.clone(), barrier.clone());
            std::thread::spawn(move || {
                let own = ApprovalStore::open(&dir).unwrap();
                barrier.wait();
                own.consume(&id, "delete_vm", &args())
            })
        })
        .collect();
    let results: Vec<_> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    assert_eq!(
        results.iter().filter(|r| r.is_ok()).count(),
        1,
        "{results:?}"
    );
    assert!(
        results
            .iter()
            .filter_map(|r| r.as_ref().err())
            .all(|e| matches!(e, ApprovalError::AlreadyUsed(_))),
        "{results:?}"
    );
}

// ---- the real binary -------------------------------------------------------------------------

struct Cli {
    _tmp: tempfile::TempDir,
    state: std::path::PathBuf,
    config: std::path::PathBuf,
}

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Cli {
    fn new() -> Self {
        let tmp = tempfile::tempdir().unwrap();
        let state = tmp.path().join("state");
        let config = tmp.path().join("config.toml");
        fs::write(&config, "").unwrap();
        Self {
            _tmp: tmp,
            state,
            config,
        }
    }

    fn run(&self, args: &[&str]) -> Run {
        self.run_with(args, &[])
    }

    fn run_with(&self, args: &[&str], env: &[(&str, &str)]) -> Run {
        let out = Command::new(env!("CARGO_BIN_EXE_proxmox-mcp"))
            .args(args)
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("PROXMOX_MCP_STATE_DIR", &self.state)
            .env("PROXMOX_MCP_CONFIG", &self.config)
            .env("PROXMOX_MCP_JOURNAL_SOCKET", "off")
            .envs(env.iter().copied())
            .output()
            .unwrap();
        Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }
}

#[test]
fn cli_mode() {
    let cli = Cli::new();
    let r = cli.run(&["mode"]);
    assert_eq!((r.code, r.stdout.as_str()), (0, "safe\n"), "{}", r.stderr);

    let r = cli.run(&["mode", "normal"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.contains("normal"), "{}", r.stdout);
    assert_eq!(ModeStore::open(&cli.state).get(), StoredMode::Normal);
    assert_eq!(cli.run(&["mode"]).stdout, "normal\n");

    let r = cli.run(&["mode", "yolo"]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("unknown mode \"yolo\""), "{}", r.stderr);
    assert!(r.stderr.contains("read-only, safe, normal"), "{}", r.stderr);
    assert_eq!(ModeStore::open(&cli.state).get(), StoredMode::Normal);

    fs::write(cli.state.join("mode"), "garbage").unwrap();
    let r = cli.run(&["mode"]);
    assert_eq!(r.stdout, "read-only\n");
    assert!(r.stderr.contains("assuming read-only"), "{}", r.stderr);
}

#[test]
fn cli_approvals_approve_deny() {
    let cli = Cli::new();
    let r = cli.run(&["approvals"]);
    assert_eq!(
        (r.code, r.stdout.as_str()),
        (0, "no pending approvals\n"),
        "{}",
        r.stderr
    );

    let store = ApprovalStore::open(&cli.state).unwrap();
    let a = store
        .request("delete_vm", &args(), "delete VM 100 on pve1", TTL)
        .unwrap();
    let b = store
        .request("stop_vm", &args(), "stop VM 100 on pve1", TTL)
        .unwrap();

    let r = cli.run(&["approvals"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    for needle in [
        &a.id,
        "delete_vm",
        "delete VM 100 on pve1",
        &b.id,
        "stop_vm",
        "9m5",
    ] {
        assert!(r.stdout.contains(needle), "{needle:?} in {}", r.stdout);
    }

    let r = cli.run(&["approve", &a.id]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stdout.contains(&format!("approved {}", a.id)),
        "{}",
        r.stdout
    );
    let r = cli.run(&["deny", &b.id.to_lowercase()]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stdout.contains(&format!("denied {}", b.id)),
        "{}",
        r.stdout
    );

    assert_eq!(cli.run(&["approvals"]).stdout, "no pending approvals\n");
    let all = cli.run(&["approvals", "--all"]).stdout;
    assert!(all.contains("approved") && all.contains("denied"), "{all}");

    store.consume(&a.id, "delete_vm", &args()).unwrap();
    assert!(matches!(
        store.consume(&b.id, "stop_vm", &args()),
        Err(ApprovalError::Denied(_))
    ));

    // Malformed ids: clear error, exit 2, nothing changes.
    let before = snapshot(&cli.state);
    for bad in ["../x", "ABCDEFGHJKLMN", "a b"] {
        for verb in ["approve", "deny"] {
            let r = cli.run(&[verb, bad]);
            assert_eq!(r.code, 2, "{verb} {bad:?}");
            assert!(r.stderr.contains("malformed approval id"), "{}", r.stderr);
        }
    }
    let r = cli.run(&["approve", "0123456789"]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("unknown approval id"), "{}", r.stderr);
    assert_eq!(snapshot(&cli.state), before);
}

#[test]
fn an_approval_is_good_once_per_host_across_instances_and_restarts() {
    let tmp = tempfile::tempdir().unwrap();
    let (clock, now) = manual_clock();
    let first = ApprovalStore::open_with_clock(tmp.path(), clock.clone()).unwrap();
    let second = ApprovalStore::open_with_clock(tmp.path(), clock.clone()).unwrap();
    let a = first
        .request("delete_vm", &args(), "delete VM 100", TTL)
        .unwrap();
    first.approve(&a.id).unwrap();
    // Granted through one instance, spent through another (two server processes).
    second.consume(&a.id, "delete_vm", &args()).unwrap();
    for store in [&first, &second] {
        assert!(matches!(
            store.consume(&a.id, "delete_vm", &args()),
            Err(ApprovalError::AlreadyUsed(_))
        ));
    }
    // A restart does not forget it, and approving again does not revive it.
    drop((first, second));
    let restarted = ApprovalStore::open_with_clock(tmp.path(), clock.clone()).unwrap();
    assert_eq!(restarted.get(&a.id).unwrap().status, ApprovalStatus::Used);
    for result in [
        restarted.consume(&a.id, "delete_vm", &args()),
        restarted.approve(&a.id).map(drop),
    ] {
        assert!(
            matches!(result, Err(ApprovalError::AlreadyUsed(_))),
            "{result:?}"
        );
    }

    // Long after expiry the used record is pruned: its id is then unknown for good, and
    // neither a grant nor a spend can bring it back.
    now.fetch_add(TTL.as_millis() as u64 + 2 * 3600 * 1000, Ordering::SeqCst);
    let later = ApprovalStore::open_with_clock(tmp.path(), clock).unwrap();
    assert!(later.list().unwrap().is_empty());
    for result in [
        later.approve(&a.id).map(drop),
        later.deny(&a.id).map(drop),
        later.consume(&a.id, "delete_vm", &args()),
    ] {
        assert!(
            matches!(result, Err(ApprovalError::Unknown(_))),
            "{result:?}"
        );
    }
    assert!(fs::read_dir(later.dir()).unwrap().all(|e| {
        let name = e.unwrap().file_name();
        !name.to_string_lossy().ends_with(".json")
    }));
}

#[test]
fn cli_operator_commands_refuse_inside_a_tool_call() {
    let cli = Cli::new();
    let store = ApprovalStore::open(&cli.state).unwrap();
    let a = store
        .request("delete_vm", &args(), "delete VM 100 on pve1", TTL)
        .unwrap();
    let marker = [("PROXMOX_MCP_TOOL_CALL", "1")];
    let cases: [(&[&str], &str); 3] = [
        (&["approve", &a.id], "approve"),
        (&["deny", &a.id], "deny"),
        (&["mode", "normal"], "mode"),
    ];
    for (args, tool) in cases {
        let r = cli.run_with(args, &marker);
        assert_eq!(r.code, 2, "{args:?}: {}", r.stderr);
        for needle in [
            format!("`proxmox-mcp {tool}` refused"),
            "PROXMOX_MCP_TOOL_CALL is set".to_owned(),
            "run it from an operator's own shell".to_owned(),
        ] {
            assert!(
                r.stderr.contains(&needle),
                "{args:?}: {needle:?} in {}",
                r.stderr
            );
        }
    }
    assert_eq!(store.get(&a.id).unwrap().status, ApprovalStatus::Pending);
    assert_eq!(ModeStore::open(&cli.state).get(), StoredMode::Safe);

    // Reading is fine from anywhere.
    for args in [&["mode"][..], &["approvals"], &["audit", "verify"]] {
        let r = cli.run_with(args, &marker);
        assert_eq!(r.code, 0, "{args:?}: {}", r.stderr);
    }

    // Each attempt is in the audit log, refused, as the operator's own actions are.
    let audit = cli.state.join("audit");
    let log =
        proxmox_mcp::audit::AuditLog::open(&audit, proxmox_mcp::audit::AuditLog::DEFAULT_RETENTION)
            .unwrap();
    let page = log.query(&proxmox_mcp::audit::Query::default()).unwrap();
    let refused: Vec<(&str, String)> = page
        .records
        .iter()
        .rev()
        .map(|r| (r.event.tool.as_str(), r.event.decision.to_string()))
        .collect();
    assert_eq!(
        refused,
        [
            ("approve", "refused".to_owned()),
            ("deny", "refused".to_owned()),
            ("mode", "refused".to_owned()),
        ]
    );
    assert!(
        page.records
            .iter()
            .all(|r| r.event.reason.contains("inside a tool call"))
    );

    // From an operator's shell (no marker) the same approval is granted.
    let r = cli.run(&["approve", &a.id]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(store.get(&a.id).unwrap().status, ApprovalStatus::Approved);
}

#[test]
fn request_ids_are_random() {
    let tmp = tempfile::tempdir().unwrap();
    let store = ApprovalStore::open(tmp.path()).unwrap();
    let ids: std::collections::HashSet<_> = (0..50)
        .map(|_| store.request("t", &json!({}), "s", TTL).unwrap().id)
        .collect();
    assert_eq!(ids.len(), 50);
}
