//! The human command line: `--version`, `tools`, `call … --output json` against a sim, the
//! README's try-it command `proxmox-mcp demo call list_vms`, and operator commands refused
//! inside a tool call.

use std::{process::Output, time::Duration};

use e2e::{Sim, Value, json, rows, vmids};

/// Runs the binary with the host's Proxmox settings scrubbed, plus `env`, in a fresh directory.
async fn run(args: &[&str], env: &[(String, String)]) -> Output {
    let dir = tempfile::tempdir().unwrap();
    run_in(dir.path(), args, env).await
}

/// [`run`] with its config, state and home in `dir`.
async fn run_in(dir: &std::path::Path, args: &[&str], env: &[(String, String)]) -> Output {
    let mut cmd = tokio::process::Command::new(e2e::binary());
    e2e::mcp::scrub_env(cmd.as_std_mut());
    cmd.envs(e2e::isolation_env(dir))
        .envs(env.iter().cloned())
        .args(args)
        .kill_on_drop(true);
    tokio::time::timeout(Duration::from_secs(60), cmd.output())
        .await
        .unwrap_or_else(|_| panic!("proxmox-mcp {args:?} did not finish in 60 s"))
        .expect("running proxmox-mcp")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn assert_success(o: &Output, what: &str) {
    assert!(
        o.status.success(),
        "{what}: exit {:?}\nstdout:\n{}\nstderr:\n{}",
        o.status.code(),
        stdout(o),
        stderr(o)
    );
}

/// Connection settings for the sim (admin token, pinned fingerprint).
fn sim_env(sim: &Sim) -> Vec<(String, String)> {
    let c = sim.admin();
    vec![
        ("PROXMOX_URL".into(), sim.url()),
        ("PROXMOX_TOKEN_ID".into(), c.token_id.clone()),
        ("PROXMOX_TOKEN_SECRET".into(), c.secret.clone()),
        ("PROXMOX_FINGERPRINT".into(), sim.fingerprint()),
    ]
}

const TOOLS: [&str; 7] = [
    "list_vms",
    "list_containers",
    "vm_status",
    "node_status",
    "get_system_info",
    "task_status",
    "proxmox_api",
];

#[tokio::test]
async fn version_flag() {
    let o = run(&["--version"], &[]).await;
    assert_success(&o, "--version");
    let out = stdout(&o);
    assert!(out.contains("proxmox-mcp"), "{out}");
    assert!(out.contains(env!("CARGO_PKG_VERSION")), "{out}");
}

#[tokio::test]
async fn tools_lists_every_tool() {
    let o = run(&["tools"], &[]).await;
    assert_success(&o, "tools");
    let out = stdout(&o);
    for t in TOOLS {
        assert!(
            out.lines().any(|l| l.split_whitespace().next() == Some(t)),
            "`tools` lacks {t}:\n{out}"
        );
    }
    // The JSON form is the tools/list payload.
    let o = run(&["tools", "--output", "json"], &[]).await;
    assert_success(&o, "tools --output json");
    let v: Value = serde_json::from_slice(&o.stdout).expect("tools --output json is JSON");
    let names: Vec<&str> = v["tools"]
        .as_array()
        .expect("tools array")
        .iter()
        .filter_map(|t| t["name"].as_str())
        .collect();
    for t in TOOLS {
        assert!(names.contains(&t), "{t} missing from {names:?}");
    }
}

/// The README's try command: no Proxmox, no config, prints the demo cluster's VMs.
#[tokio::test]
async fn demo_call_list_vms_prints_vms() {
    let o = run(&["demo", "call", "list_vms"], &[]).await;
    assert_success(&o, "demo call list_vms");
    let out = stdout(&o);
    let guest_lines: Vec<&str> = out
        .lines()
        .filter(|l| {
            l.split_whitespace()
                .next()
                .and_then(|w| w.parse::<u32>().ok())
                .is_some_and(|id| id >= 100)
        })
        .collect();
    assert!(
        guest_lines.len() >= 5,
        "expected a table of VMs, got:\n{out}"
    );
    assert!(guest_lines.iter().any(|l| l.contains("running")), "{out}");
    assert!(guest_lines.iter().any(|l| l.contains("pve1")), "{out}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn call_prints_the_mcp_result_as_json() {
    let sim = Sim::small().await;
    let env = sim_env(&sim);
    let want = e2e::sim::guests(&sim.api(), "qemu").await;

    let o = run(&["call", "list_vms", "--output", "json"], &env).await;
    assert_success(&o, "call list_vms --output json");
    let v: Value = serde_json::from_slice(&o.stdout).expect("--output json prints JSON");
    assert_ne!(v["isError"], json!(true));
    assert_eq!(vmids(&rows(&v["structuredContent"])), vmids(&want));
    assert!(v["content"][0]["text"].as_str().is_some(), "{v}");

    // --arg with a JSON-typed value, and --json.
    let vmid = want[0]["vmid"].as_u64().unwrap();
    let o = run(
        &[
            "call",
            "vm_status",
            "--arg",
            &format!("vmid={vmid}"),
            "--output",
            "json",
        ],
        &env,
    )
    .await;
    assert_success(&o, "call vm_status --arg");
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["structuredContent"]["vmid"], json!(vmid));
    assert_eq!(v["structuredContent"]["node"], want[0]["node"]);

    let o = run(
        &[
            "call",
            "list_vms",
            "--json",
            r#"{"node":"pve2"}"#,
            "--output",
            "json",
        ],
        &env,
    )
    .await;
    assert_success(&o, "call list_vms --json");
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    let on_pve2: Vec<_> = want
        .iter()
        .filter(|g| g["node"] == json!("pve2"))
        .cloned()
        .collect();
    assert_eq!(vmids(&rows(&v["structuredContent"])), vmids(&on_pve2));

    // Text output is the model's text.
    let o = run(&["call", "get_system_info"], &env).await;
    assert_success(&o, "call get_system_info");
    assert!(stdout(&o).contains("sim-cluster"), "{}", stdout(&o));
    sim.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn call_failures_exit_non_zero_with_the_message() {
    let sim = Sim::small().await;
    let env = sim_env(&sim);
    let o = run(&["call", "vm_status", "--arg", "vmid=99999"], &env).await;
    assert_eq!(o.status.code(), Some(1), "a tool error exits 1");
    assert!(stderr(&o).contains("99999"), "{}", stderr(&o));

    let o = run(
        &[
            "call",
            "vm_status",
            "--arg",
            "vmid=99999",
            "--output",
            "json",
        ],
        &env,
    )
    .await;
    assert_eq!(o.status.code(), Some(1));
    let v: Value = serde_json::from_slice(&o.stdout).expect("JSON even on failure");
    assert_eq!(v["isError"], json!(true));

    let o = run(&["call", "no_such_tool"], &env).await;
    assert!(!o.status.success());
    assert!(stderr(&o).contains("no_such_tool"), "{}", stderr(&o));
    sim.finish().await;
}

/// The privileges `config check` lists on `/` (the line `privileges on /: A, B, …`).
fn privileges(report: &str) -> Vec<&str> {
    let line = report
        .lines()
        .find_map(|l| l.trim().strip_prefix("privileges on /: "))
        .unwrap_or_else(|| panic!("no `privileges on /:` line in:\n{report}"));
    line.split(", ").collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn config_check_tests_the_connection() {
    let sim = Sim::small().await;
    let env = sim_env(&sim);
    let o = run(&["config", "check"], &env).await;
    assert_success(&o, "config check");
    let out = stdout(&o);
    for line in [
        "connected: PVE 9.",
        "cluster: sim-cluster",
        &format!("as token {}", sim.admin().token_id),
    ] {
        assert!(out.contains(line), "`{line}` missing:\n{out}");
    }
    let privs = privileges(&out);
    for p in ["VM.Audit", "Sys.Audit", "VM.PowerMgmt", "Sys.Modify"] {
        assert!(privs.contains(&p), "admin lacks {p}: {privs:?}");
    }
    assert!(!out.contains("warnings:"), "{out}");

    // The read-only token: audit privileges only. Verification off is warned about before the
    // cluster sections.
    let auditor = sim.auditor();
    let mut ro = env.clone();
    ro.retain(|(k, _)| !k.starts_with("PROXMOX_TOKEN_"));
    ro.push(("PROXMOX_TOKEN_ID".into(), auditor.token_id.clone()));
    ro.push(("PROXMOX_TOKEN_SECRET".into(), auditor.secret.clone()));
    ro.push(("PROXMOX_INSECURE".into(), "1".into()));
    let o = run(&["config", "check"], &ro).await;
    assert_success(&o, "config check (auditor)");
    let out = stdout(&o);
    assert!(out.contains("connected: PVE 9."), "{out}");
    assert!(
        out.contains(&format!("as token {}", auditor.token_id)),
        "{out}"
    );
    let mut privs = privileges(&out);
    privs.sort_unstable();
    assert_eq!(
        privs,
        [
            "Datastore.Audit",
            "Mapping.Audit",
            "Pool.Audit",
            "SDN.Audit",
            "Sys.Audit",
            "VM.Audit"
        ],
        "{out}"
    );
    let warnings = out.find("\nwarnings:\n").unwrap_or_else(|| panic!("{out}"));
    let off = out
        .find("TLS certificate verification is OFF")
        .unwrap_or_else(|| panic!("{out}"));
    let cluster = out.find("\n[default]").unwrap_or_else(|| panic!("{out}"));
    assert!(
        warnings < off && off < cluster,
        "warnings come first:\n{out}"
    );

    // A wrong secret: exit 1, naming the token but never printing the secret.
    let wrong = "00000000-dead-beef-0000-000000000000";
    let mut bad = env.clone();
    bad.retain(|(k, _)| k != "PROXMOX_TOKEN_SECRET");
    bad.push(("PROXMOX_TOKEN_SECRET".into(), wrong.into()));
    let o = run(&["config", "check"], &bad).await;
    assert_eq!(o.status.code(), Some(1), "a refused token fails the check");
    let out = stdout(&o);
    let failed = out
        .lines()
        .find(|l| l.trim_start().starts_with("FAILED: "))
        .unwrap_or_else(|| panic!("no FAILED line:\n{out}"));
    assert!(failed.contains(&sim.admin().token_id), "{failed}");
    let all = format!("{out}{}", stderr(&o));
    assert!(!all.contains(wrong), "the secret is printed:\n{all}");
    assert!(!all.contains(&sim.admin().secret), "{all}");

    let mut bad = env.clone();
    bad.retain(|(k, _)| k != "PROXMOX_FINGERPRINT");
    bad.push(("PROXMOX_FINGERPRINT".into(), "00:11".into()));
    let o = run(&["config", "check"], &bad).await;
    assert!(!o.status.success(), "a bad fingerprint must fail the check");
    sim.finish().await;
}

/// `proxmox-mcp approve` run by a command the server started (it carries the executors' marker)
/// refuses, leaves the approval pending and audits the attempt; from an operator's shell it works.
#[tokio::test]
async fn approve_refuses_inside_a_tool_call() {
    use proxmox_mcp::state::{ApprovalStatus, ApprovalStore};
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    let store = ApprovalStore::open(&state).unwrap();
    let args = json!({"node": "pve1", "vmid": 100});
    let a = store
        .request(
            "vm_action",
            &args,
            "destroy VM 100",
            Duration::from_secs(600),
        )
        .unwrap();

    let marker = [("PROXMOX_MCP_TOOL_CALL".to_owned(), "1".to_owned())];
    let o = run_in(dir.path(), &["approve", &a.id], &marker).await;
    assert_eq!(o.status.code(), Some(2), "stderr:\n{}", stderr(&o));
    let err = stderr(&o);
    for needle in [
        "`proxmox-mcp approve` refused",
        "inside a tool call",
        "run it from an operator's own shell",
    ] {
        assert!(err.contains(needle), "{needle:?} in:\n{err}");
    }
    assert!(!stdout(&o).contains("approved"), "{}", stdout(&o));
    assert_eq!(store.get(&a.id).unwrap().status, ApprovalStatus::Pending);

    // The attempt is on record, and the log is intact.
    let records: Vec<Value> = std::fs::read_dir(state.join("audit"))
        .unwrap()
        .flatten()
        .filter(|e| e.path().extension().is_some_and(|x| x == "jsonl"))
        .flat_map(|e| {
            let text = std::fs::read_to_string(e.path()).unwrap();
            text.lines()
                .map(|l| serde_json::from_str::<Value>(l).unwrap())
                .collect::<Vec<_>>()
        })
        .collect();
    assert_eq!(records.len(), 1, "{records:?}");
    let r = &records[0];
    assert_eq!(
        (r["tool"].as_str(), r["decision"].as_str()),
        (Some("approve"), Some("refused"))
    );
    assert_eq!(r["transport"], json!("cli"));
    assert_eq!(r["target"], json!(format!("approval {}", a.id)));
    let o = run_in(dir.path(), &["audit", "verify"], &[]).await;
    assert_success(&o, "audit verify");
    assert!(
        stdout(&o).contains("1 records in 1 files: intact"),
        "{}",
        stdout(&o)
    );

    // The operator, in their own shell.
    let o = run_in(dir.path(), &["approve", &a.id], &[]).await;
    assert_success(&o, "approve");
    assert_eq!(store.get(&a.id).unwrap().status, ApprovalStatus::Approved);
}

/// `proxmox-mcp rollback` is an operator command too: from inside a tool call it refuses and
/// leaves the kept binary where it is.
#[tokio::test]
async fn rollback_refuses_inside_a_tool_call() {
    let dir = tempfile::tempdir().unwrap();
    let bin = dir.path().join("proxmox-mcp");
    std::fs::write(&bin, "new").unwrap();
    std::fs::write(dir.path().join("proxmox-mcp.previous"), "old").unwrap();
    let bin_arg = bin.display().to_string();
    let args = ["rollback", "--binary", bin_arg.as_str()];

    let marker = [("PROXMOX_MCP_TOOL_CALL".to_owned(), "1".to_owned())];
    let o = run_in(dir.path(), &args, &marker).await;
    assert_eq!(o.status.code(), Some(2), "stderr:\n{}", stderr(&o));
    let err = stderr(&o);
    assert!(err.contains("`proxmox-mcp rollback` refused"), "{err}");
    assert!(err.contains("inside a tool call"), "{err}");
    assert_eq!(std::fs::read_to_string(&bin).unwrap(), "new");
    assert!(dir.path().join("proxmox-mcp.previous").exists());

    // From an operator's shell it runs, and refuses a kept binary no update recorded.
    let o = run_in(dir.path(), &args, &[]).await;
    assert_eq!(o.status.code(), Some(1), "stderr:\n{}", stderr(&o));
    assert!(stderr(&o).contains("no record"), "{}", stderr(&o));
    assert_eq!(std::fs::read_to_string(&bin).unwrap(), "new");
}
