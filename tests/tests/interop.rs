//! Interop with a client we did not write: the official Python MCP SDK drives the real binary
//! (`tests/interop/pyclient.py`), with the legacy `initialize` handshake and with
//! `server/discover` (auto).
//!
//! `scripts/test` installs the SDK and exports `PROXMOX_MCP_PYTHON`. Without it this test fails,
//! unless `PROXMOX_MCP_SKIP_INTEROP=1` says to skip.

use std::time::Duration;

use e2e::{Sim, SimConfig, Value, json, rows, small_config, vmids};

/// The Python interpreter with the `mcp` SDK, or `None` when explicitly skipped.
fn python() -> Option<String> {
    if let Ok(p) = std::env::var("PROXMOX_MCP_PYTHON")
        && !p.is_empty()
    {
        return Some(p);
    }
    if std::env::var("PROXMOX_MCP_SKIP_INTEROP").as_deref() == Ok("1") {
        eprintln!("SKIPPED interop: PROXMOX_MCP_SKIP_INTEROP=1");
        return None;
    }
    panic!(
        "PROXMOX_MCP_PYTHON is not set: run the suite with `scripts/test`, which installs the \
         Python MCP SDK and sets it (or set PROXMOX_MCP_SKIP_INTEROP=1 to skip interop)"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_sdk_legacy() {
    python_sdk("legacy", "2025-11-25").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_sdk_auto_discover() {
    python_sdk("auto", "2026-07-28").await;
}

async fn python_sdk(mode: &str, want_protocol: &str) {
    let Some(python) = python() else { return };
    // A VM start takes 6 s here: still running when the Python client gets to waiting on it.
    let sim = Sim::start(SimConfig {
        time_scale: 6.0,
        ..small_config()
    })
    .await;
    let api = sim.api();
    let vms = e2e::sim::guests(&api, "qemu").await;
    let stopped = vms
        .iter()
        .find(|g| g["status"] == json!("stopped"))
        .expect("a stopped VM");
    let upid = api
        .post(
            &format!(
                "/nodes/{}/qemu/{}/status/start",
                stopped["node"].as_str().unwrap(),
                stopped["vmid"]
            ),
            &[],
        )
        .await
        .unwrap();

    let dir = tempfile::tempdir().unwrap();
    let calls = json!([
        {"tool": "list_vms", "arguments": {}},
        {"tool": "vm_status", "arguments": {"vmid": vms[0]["vmid"]}},
        {"tool": "vm_status", "arguments": {"vmid": "abc"}},
        {"tool": "proxmox_api", "arguments": {"path": "/cluster/resources", "params": "{\"type\":\"node\"}"}},
        {"tool": "task_status", "arguments": {"upid": upid, "wait": 60}},
        {"tool": "no_such_tool", "arguments": {}},
    ]);
    let report = run_pyclient(&python, &sim, dir.path(), mode, &calls).await;

    assert_eq!(report["protocol"], json!(want_protocol), "{mode}");
    assert_eq!(report["server"]["name"], json!("proxmox-mcp"));
    let tools: Vec<&str> = report["tools"]
        .as_array()
        .expect("tools")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    for t in [
        "list_vms",
        "list_containers",
        "vm_status",
        "node_status",
        "get_system_info",
        "task_status",
        "proxmox_api",
    ] {
        assert!(tools.contains(&t), "{mode}: {t} missing from {tools:?}");
    }
    let results = report["results"].as_array().expect("results");
    assert_eq!(results.len(), 6);
    let ok = |i: usize| {
        let r = &results[i];
        assert_eq!(r["is_error"], json!(false), "{mode} call {i}: {r}");
        &r["structured"]
    };

    // list_vms: exactly the sim's VMs, with structured content.
    assert_eq!(vmids(&rows(ok(0))), vmids(&vms), "{mode}: list_vms");
    // vm_status
    assert_eq!(ok(1)["vmid"], vms[0]["vmid"]);
    assert_eq!(ok(1)["node"], vms[0]["node"]);
    // Bad argument: a tool error the model can read, not a protocol error.
    assert_eq!(
        results[2]["is_error"],
        json!(true),
        "{mode}: {}",
        results[2]
    );
    assert!(results[2]["text"].as_str().unwrap_or("").contains("vmid"));
    // params as a JSON string
    let data = ok(3)["data"].as_array().expect("data");
    assert_eq!(data.len(), 3, "{mode}: only nodes");
    // task_status waited with progress the SDK received.
    assert_eq!(ok(4)["status"], json!("stopped"), "{mode}");
    assert_eq!(ok(4)["success"], json!(true), "{mode}");
    let progress = results[4]["progress"].as_array().expect("progress");
    assert!(
        !progress.is_empty(),
        "{mode}: no progress reached the Python client"
    );
    // Unknown tool: a JSON-RPC error.
    assert!(results[5]["error"].is_object(), "{mode}: {}", results[5]);

    sim.finish().await;
}

// ---------------------------------------------------------------------------------------------
// Human confirmation through the Python SDK: MRTR (auto → 2026-07-28) and elicitation/create
// (legacy), accepting and declining.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_sdk_confirms_legacy_accept() {
    python_confirm("legacy", "accept").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_sdk_confirms_legacy_decline() {
    python_confirm("legacy", "decline").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_sdk_confirms_auto_accept() {
    python_confirm("auto", "accept").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_sdk_confirms_auto_decline() {
    python_confirm("auto", "decline").await;
}

async fn python_confirm(mode: &str, action: &str) {
    let Some(python) = python() else { return };
    let sim = Sim::start(small_config()).await;
    let api = sim.api();
    let vms = e2e::sim::guests(&api, "qemu").await;
    let stopped = vms
        .iter()
        .find(|g| g["status"] == json!("stopped") && g.get("template") != Some(&json!(1)))
        .expect("a stopped VM");
    let (node, vmid) = (stopped["node"].as_str().unwrap(), &stopped["vmid"]);
    let path = format!("/nodes/{node}/qemu/{vmid}/status/start");

    let dir = tempfile::tempdir().unwrap();
    let spec = json!({
        "calls": [{"tool": "proxmox_api", "arguments": {"method": "POST", "path": path}}],
        "elicitation": {"action": action, "content": if action == "accept" { json!({"confirm": true}) } else { Value::Null }},
    });
    let report = run_pyclient(&python, &sim, dir.path(), mode, &spec).await;
    let asked = report["elicitations"].as_array().expect("elicitations");
    assert_eq!(asked.len(), 1, "{mode}/{action}: {report}");
    assert!(asked[0].as_str().unwrap_or("").contains(&path), "{asked:?}");
    let r = &report["results"][0];
    let starts = sim
        .requests()
        .iter()
        .filter(|q| q.method == "POST" && q.path.ends_with(&format!("/qemu/{vmid}/status/start")))
        .count();
    if action == "accept" {
        assert_eq!(r["is_error"], json!(false), "{mode}: {r}");
        assert!(
            r["structured"]["upid"]
                .as_str()
                .unwrap()
                .starts_with("UPID:")
        );
        assert_eq!(starts, 1, "{mode}: the start must reach PVE once");
    } else {
        assert_eq!(r["is_error"], json!(true), "{mode}: {r}");
        assert!(r["text"].as_str().unwrap().contains("said no"), "{r}");
        assert_eq!(starts, 0, "{mode}: a declined call must not reach PVE");
    }
    sim.finish().await;
}

/// Runs `pyclient.py` in `mode` with `spec` (calls, options) against the server configured for
/// `sim`, isolated in `dir`; returns its JSON report.
async fn run_pyclient(
    python: &str,
    sim: &Sim,
    dir: &std::path::Path,
    mode: &str,
    spec: &Value,
) -> Value {
    let spec_path = dir.join("calls.json");
    std::fs::write(&spec_path, spec.to_string()).unwrap();
    let c = sim.admin();
    let mut cmd = tokio::process::Command::new(python);
    e2e::mcp::scrub_env(cmd.as_std_mut());
    cmd.envs(e2e::isolation_env(dir))
        .env("PROXMOX_URL", sim.url())
        .env("PROXMOX_TOKEN_ID", &c.token_id)
        .env("PROXMOX_TOKEN_SECRET", &c.secret)
        .env("PROXMOX_FINGERPRINT", sim.fingerprint())
        .arg(e2e::workspace_root().join("tests/interop/pyclient.py"))
        .arg(e2e::binary())
        .arg(mode)
        .arg(&spec_path)
        .kill_on_drop(true);
    let out = tokio::time::timeout(Duration::from_secs(90), cmd.output())
        .await
        .expect("pyclient did not finish in 90 s")
        .expect("running pyclient");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "pyclient {mode} failed ({:?}):\n{stderr}",
        out.status
    );
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "pyclient printed no JSON ({e}):\n{}\n{stderr}",
            String::from_utf8_lossy(&out.stdout)
        )
    })
}
