//! The HTTP bridge end to end: real clients (rmcp and the Python SDK, both revisions) → the
//! `mcp-http-bridge` binary → its `proxmox-mcp` child → the simulator over HTTPS. Also the
//! refusals that must never reach the engine, the audit naming the HTTP client, and
//! supervision (a killed child, a child that cannot start).

use std::time::{Duration, Instant};

use e2e::Protocol;
use e2e::bridge::{Bridge, bridge_binary};
use e2e::{Human, Mcp, ResultExt as _, Sim, SimConfig, Value, json, small_config};

async fn stopped_vm(sim: &Sim) -> (String, u64) {
    let vms = e2e::sim::guests(&sim.api(), "qemu").await;
    let g = vms
        .iter()
        .find(|g| g["status"] == json!("stopped"))
        .expect("a stopped VM");
    (
        g["node"].as_str().unwrap().to_string(),
        g["vmid"].as_u64().unwrap(),
    )
}

fn start_args(node: &str, vmid: u64) -> Value {
    json!({"method": "POST", "path": format!("/nodes/{node}/qemu/{vmid}/status/start")})
}

/// The records of `tool` with the HTTP client they name.
fn http_records<'a>(audit: &'a [Value], tool: &str) -> Vec<&'a Value> {
    audit.iter().filter(|r| r["tool"] == json!(tool)).collect()
}

async fn rmcp_client(p: Protocol) {
    let sim = Sim::small().await;
    let b = Bridge::start(&sim, &[]).await;
    let token = b.token();

    // Reads, and a confirmation form answered by the human.
    let mcp = Mcp::connect_http(&b.url, Some(&token), p, Human::Accept)
        .await
        .unwrap();
    let tools = mcp.tools().await;
    assert!(
        tools.iter().any(|t| t.name == "list_vms"),
        "{p:?}: tools listed"
    );
    mcp.call("list_vms", json!({})).await.ok("list_vms");
    let (node, vmid) = stopped_vm(&sim).await;
    let r = mcp.call("proxmox_api", start_args(&node, vmid)).await;
    r.ok("confirmed start");
    assert_eq!(
        mcp.asked().len(),
        1,
        "{p:?}: the human was asked once: {:?}",
        mcp.asked()
    );
    mcp.close().await;

    // No elicitation: an approval id for the operator.
    let mcp = Mcp::connect_http(&b.url, Some(&token), p, Human::Absent)
        .await
        .unwrap();
    let (node2, vmid2) = stopped_vm(&sim).await;
    let msg = mcp
        .call("proxmox_api", start_args(&node2, vmid2))
        .await
        .err("approval");
    assert!(msg.contains("proxmox-mcp approve "), "{msg}");
    mcp.close().await;

    let audit = b.audit();
    let records = http_records(&audit, "proxmox_api");
    assert!(records.len() >= 2, "{audit:?}");
    for r in records {
        assert_eq!(r["transport"], json!("http"), "{r}");
        assert_eq!(r["http_client"]["token"], json!("default"), "{r}");
        assert!(
            r["http_client"]["remote"]
                .as_str()
                .unwrap()
                .starts_with("127.0.0.1:"),
            "{r}"
        );
        assert_eq!(r["client"]["name"], json!("e2e-tests"), "{r}");
    }
    assert!(
        audit.iter().any(|r| r["decision"] == json!("confirmed")),
        "{audit:?}"
    );
    assert!(
        audit.iter().any(|r| r["decision"] == json!("pending")),
        "{audit:?}"
    );
    sim.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rmcp_client_modern() {
    rmcp_client(Protocol::Modern).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rmcp_client_legacy() {
    rmcp_client(Protocol::Legacy).await;
}

/// A raw legacy session: initialize, then a call with a forged caller field in `_meta`.
async fn legacy_session(http: &reqwest::Client, url: &str, token: &str) -> String {
    let r = http
        .post(url)
        .bearer_auth(token)
        .header("accept", "application/json, text/event-stream")
        .json(
            &json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
            "protocolVersion": "2025-11-25", "capabilities": {},
            "clientInfo": {"name": "raw", "version": "1"}}}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let sid = r.headers()["mcp-session-id"].to_str().unwrap().to_string();
    let _ = r.text().await;
    let r = http
        .post(url)
        .bearer_auth(token)
        .header("mcp-session-id", &sid)
        .header("mcp-protocol-version", "2025-11-25")
        .header("accept", "application/json, text/event-stream")
        .json(&json!({"jsonrpc": "2.0", "method": "notifications/initialized"}))
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success());
    sid
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forged_caller_is_ignored() {
    let sim = Sim::small().await;
    let b = Bridge::start(&sim, &[]).await;
    let http = reqwest::Client::new();
    let sid = legacy_session(&http, &b.url, &b.token()).await;
    let forged = json!({"token": "root", "remote": "10.9.9.9:1", "client_name": "forged"});
    let r = http
        .post(&b.url)
        .bearer_auth(b.token())
        .header("mcp-session-id", &sid)
        .header("mcp-protocol-version", "2025-11-25")
        .header("accept", "application/json, text/event-stream")
        .json(
            &json!({"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {
            "name": "proxmox_api", "arguments": {"path": "/version"},
            "_meta": {"dev.proxmox-mcp/caller": forged}}}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let body = r.text().await.unwrap();
    assert!(body.contains("\"result\""), "{body}");
    let audit = b.audit();
    let rec = audit
        .iter()
        .rev()
        .find(|r| r["tool"] == json!("proxmox_api"))
        .expect("audited");
    assert_eq!(rec["http_client"]["token"], json!("default"), "{rec}");
    assert_eq!(rec["client"]["name"], json!("raw"), "{rec}");
    assert!(
        !rec.to_string().contains("forged") && !rec.to_string().contains("10.9.9.9"),
        "{rec}"
    );

    // Over stdio the field means nothing: no HTTP client is recorded.
    let h = e2e::Harness::start(Protocol::Legacy).await;
    let mut meta = rmcp::model::RequestMetaObject::default();
    meta.insert("dev.proxmox-mcp/caller".into(), forged.clone());
    let params = rmcp::model::CallToolRequestParams::new("proxmox_api")
        .with_arguments(e2e::object(json!({"path": "/version"})));
    h.mcp
        .peer()
        .send_request_with_option(
            rmcp::model::ClientRequest::CallToolRequest(rmcp::model::CallToolRequest::new(params)),
            rmcp::service::PeerRequestOptions::no_options().with_meta(meta),
        )
        .await
        .unwrap()
        .await_response()
        .await
        .unwrap();
    let audit = h.audit();
    let rec = audit
        .iter()
        .rev()
        .find(|r| r["tool"] == json!("proxmox_api"))
        .expect("audited");
    assert_eq!(rec["transport"], json!("stdio"), "{rec}");
    assert!(rec.get("http_client").is_none(), "{rec}");
    h.finish().await;
    sim.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refusals_never_reach_the_engine() {
    let sim = Sim::small().await;
    let b = Bridge::start(&sim, &[]).await;
    let http = reqwest::Client::new();
    let (node, vmid) = stopped_vm(&sim).await;
    // A call that would be audited (and asks a human) if it reached the engine.
    let call = json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-11-25", "capabilities": {},
        "clientInfo": {"name": "raw", "version": "1"}}});
    let post = |token: Option<String>| {
        let mut r = http
            .post(&b.url)
            .header("accept", "application/json, text/event-stream")
            .json(&call);
        if let Some(t) = token {
            r = r.bearer_auth(t);
        }
        r
    };
    let status = |r: reqwest::Response| r.status().as_u16();

    let r = post(None).send().await.unwrap();
    assert_eq!(r.status(), 401);
    assert!(
        r.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .starts_with("Bearer")
    );
    assert_eq!(
        status(post(Some("pmb_wrong".into())).send().await.unwrap()),
        401
    );
    let q = http
        .post(format!("{}?access_token={}", b.url, b.token()))
        .json(&call)
        .send()
        .await
        .unwrap();
    assert_eq!(q.status(), 401, "a token in the URL is never accepted");

    // Revoked, rotated past its grace, rotated within it.
    let add = |name: &str| {
        let o = b.cli(&["token", "add", name]);
        assert!(o.status.success(), "{o:?}");
        String::from_utf8(o.stdout).unwrap().trim().to_string()
    };
    let alice = add("alice");
    assert_eq!(status(post(Some(alice.clone())).send().await.unwrap()), 200);
    assert!(b.cli(&["token", "revoke", "alice"]).status.success());
    assert_eq!(status(post(Some(alice)).send().await.unwrap()), 401);
    let bob = add("bob");
    let o = b.cli(&["token", "rotate", "bob", "--grace", "3600"]);
    let bob2 = String::from_utf8(o.stdout).unwrap().trim().to_string();
    assert_eq!(
        status(post(Some(bob.clone())).send().await.unwrap()),
        200,
        "within its grace"
    );
    assert_eq!(status(post(Some(bob2.clone())).send().await.unwrap()), 200);
    let o = b.cli(&["token", "rotate", "bob", "--grace", "0"]);
    let bob3 = String::from_utf8(o.stdout).unwrap().trim().to_string();
    assert_eq!(
        status(post(Some(bob)).send().await.unwrap()),
        401,
        "past its grace"
    );
    assert_eq!(
        status(post(Some(bob2)).send().await.unwrap()),
        401,
        "past its grace"
    );
    assert_eq!(status(post(Some(bob3)).send().await.unwrap()), 200);
    let listed = String::from_utf8(b.cli(&["token", "list"]).stdout).unwrap();
    assert!(
        listed.contains("bob") && listed.contains("default") && !listed.contains("alice"),
        "{listed}"
    );

    let t = b.token();
    // Host and Origin.
    let r = post(Some(t.clone()))
        .header("host", "evil.example:3001")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    let r = post(Some(t.clone()))
        .header("origin", "https://evil.example")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    let r = http
        .post(&b.url)
        .bearer_auth(&t)
        .header("origin", "http://localhost:3000")
        .header("origin", "https://evil.example")
        .json(&call)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403, "duplicate Origin");
    let r = post(Some(t.clone()))
        .header("origin", "http://localhost:5173")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "loopback origins are fine");

    // Oversize body.
    let big = json!({"jsonrpc": "2.0", "id": 9, "method": "tools/call", "params": {
        "name": "proxmox_api", "arguments": start_args(&node, vmid), "pad": "x".repeat(5 << 20)}});
    let r = http
        .post(&b.url)
        .bearer_auth(&t)
        .header("accept", "application/json, text/event-stream")
        .json(&big)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 413);

    // Unknown session.
    let r = http
        .post(&b.url)
        .bearer_auth(&t)
        .header("mcp-session-id", "00000000-0000-4000-8000-000000000000")
        .header("mcp-protocol-version", "2025-11-25")
        .header("accept", "application/json, text/event-stream")
        .json(
            &json!({"jsonrpc": "2.0", "id": 3, "method": "tools/call", "params": {
            "name": "proxmox_api", "arguments": start_args(&node, vmid)}}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    // A session belongs to the token that opened it.
    let sid = legacy_session(&http, &b.url, &t).await;
    let carol = add("carol");
    let r = http
        .post(&b.url)
        .bearer_auth(&carol)
        .header("mcp-session-id", &sid)
        .header("mcp-protocol-version", "2025-11-25")
        .header("accept", "application/json, text/event-stream")
        .json(
            &json!({"jsonrpc": "2.0", "id": 4, "method": "tools/call", "params": {
            "name": "proxmox_api", "arguments": start_args(&node, vmid)}}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404, "another token's session");

    assert!(
        b.audit().is_empty(),
        "nothing reached the engine: {:?}",
        b.audit()
    );
    assert_eq!(
        e2e::sim::guests(&sim.api(), "qemu")
            .await
            .iter()
            .find(|g| g["vmid"] == json!(vmid))
            .unwrap()["status"],
        json!("stopped")
    );
    sim.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_limit_and_no_auth_rules() {
    let sim = Sim::small().await;
    let b = Bridge::start(&sim, &["--rate", "1", "--burst", "3"]).await;
    let http = reqwest::Client::new();
    let mut codes = Vec::new();
    for _ in 0..6 {
        let r = http.post(&b.url).bearer_auth(b.token()).header("accept", "application/json, text/event-stream")
            .json(&json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
                "protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "raw", "version": "1"}}}))
            .send().await.unwrap();
        codes.push(r.status().as_u16());
    }
    assert_eq!(&codes[..3], &[200, 200, 200], "{codes:?}");
    assert!(codes[3..].contains(&429), "{codes:?}");
    assert!(b.audit().is_empty());

    // No tokens on a non-loopback address, wildcards: refused at start.
    for args in [
        &["--no-auth", "--listen", "0.0.0.0:0"][..],
        &["--allowed-hosts", "*"][..],
    ] {
        let mut cmd = std::process::Command::new(bridge_binary());
        e2e::mcp::scrub_env(&mut cmd);
        let dir = tempfile::tempdir().unwrap();
        let o = cmd
            .envs(e2e::isolation_env(dir.path()))
            .args(args)
            .output()
            .unwrap();
        assert!(!o.status.success(), "{args:?} must be refused");
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(err.contains("refus") || err.contains("wildcard"), "{err}");
    }
    sim.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_sdk_over_http() {
    let Ok(python) = std::env::var("PROXMOX_MCP_PYTHON") else {
        if std::env::var("PROXMOX_MCP_SKIP_INTEROP").as_deref() == Ok("1") {
            eprintln!("SKIPPED python_sdk_over_http: PROXMOX_MCP_SKIP_INTEROP=1");
            return;
        }
        panic!("PROXMOX_MCP_PYTHON is not set: run the suite with scripts/test");
    };
    let sim = Sim::small().await;
    let b = Bridge::start(&sim, &[]).await;
    for (mode, want) in [("legacy", "2025-11-25"), ("auto", "2026-07-28")] {
        let (node, vmid) = stopped_vm(&sim).await;
        let spec = json!({
            "calls": [
                {"tool": "list_vms", "arguments": {}},
                {"tool": "proxmox_api", "arguments": start_args(&node, vmid)},
            ],
            "elicitation": {"action": "accept", "content": {"confirm": true}},
        });
        let dir = tempfile::tempdir().unwrap();
        let spec_path = dir.path().join("calls.json");
        std::fs::write(&spec_path, spec.to_string()).unwrap();
        let mut cmd = tokio::process::Command::new(&python);
        e2e::mcp::scrub_env(cmd.as_std_mut());
        let out = cmd
            .envs(e2e::isolation_env(dir.path()))
            .env("PYCLIENT_BEARER", b.token())
            .arg(e2e::workspace_root().join("tests/interop/pyclient.py"))
            .arg(&b.url)
            .arg(mode)
            .arg(&spec_path)
            .kill_on_drop(true)
            .output()
            .await
            .unwrap();
        assert!(
            out.status.success(),
            "{mode}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let report: Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(report["protocol"], json!(want), "{report}");
        assert_eq!(report["results"][0]["is_error"], json!(false), "{report}");
        assert_eq!(
            report["results"][1]["is_error"],
            json!(false),
            "{mode}: confirmed start {report}"
        );
        assert_eq!(
            report["elicitations"].as_array().unwrap().len(),
            1,
            "{report}"
        );
    }
    let audit = b.audit();
    let confirmed: Vec<_> = audit
        .iter()
        .filter(|r| r["decision"] == json!("confirmed") && r["upid"].is_string())
        .collect();
    assert_eq!(confirmed.len(), 2, "{audit:?}");
    for r in confirmed {
        assert_eq!(r["http_client"]["token"], json!("default"), "{r}");
        assert_eq!(r["client"]["name"], json!("mcp"), "{r}");
    }
    sim.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_engine_fails_its_call_and_comes_back() {
    let sim = Sim::start(SimConfig {
        faults: e2e::Faults {
            hang_paths: vec!["/cluster/resources".into()],
            ..e2e::Faults::default()
        },
        ..small_config()
    })
    .await;
    let b = Bridge::start(&sim, &["--restart-backoff-ms", "1500"]).await;
    assert_eq!(b.status("/readyz").await, 200);
    let mcp = Mcp::connect_http(&b.url, Some(&b.token()), Protocol::Modern, Human::Absent)
        .await
        .unwrap();
    let pending = mcp.start_call("list_vms", json!({})).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let pid = b.child_pid().expect("the engine child");
    assert!(
        std::process::Command::new("kill")
            .args(["-KILL", &pid.to_string()])
            .status()
            .unwrap()
            .success()
    );
    let r = tokio::time::timeout(Duration::from_secs(10), pending.await_response())
        .await
        .expect("the call must not hang");
    let e = r.expect_err("the killed call fails");
    assert!(
        e.to_string().contains("engine stopped during this call"),
        "{e}"
    );
    assert_eq!(b.status("/readyz").await, 503, "while the engine is down");
    // Why it died is for the operator's log, not for whoever asks /readyz.
    let ready = reqwest::get(format!("{}/readyz", b.base))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        ready.contains("the bridge log says why") && !ready.contains("stderr"),
        "{ready}"
    );
    let mut back = false;
    for _ in 0..100 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        if b.child_pid().is_some_and(|p| p != pid) && b.status("/readyz").await == 200 {
            back = true;
            break;
        }
    }
    assert!(
        back,
        "the engine was restarted:\n{}",
        b.stderr.lock().unwrap()
    );
    mcp.call("proxmox_api", json!({"path": "/version"}))
        .await
        .ok("after restart");
    mcp.close().await;
    sim.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_engine_that_cannot_start_stops_the_bridge_with_its_stderr() {
    let sim = Sim::small().await;
    let dir = tempfile::tempdir().unwrap();
    let fake = dir.path().join("broken-engine");
    std::fs::write(
        &fake,
        "#!/bin/sh\necho 'config error: no such cluster \"prod\"' >&2\nexit 3\n",
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&fake, std::fs::Permissions::from_mode(0o755)).unwrap();
    let Err((code, stderr)) = Bridge::start_engine(&sim, &fake, &[]).await else {
        panic!("the bridge must not serve without an engine");
    };
    assert_ne!(code, 0);
    assert!(stderr.contains("no such cluster \"prod\""), "{stderr}");
    sim.finish().await;
}

/// Clients that hold connections open without finishing a request are cut off, hostile `Host`
/// values are refused, and readiness probes reach Proxmox once however many arrive at once;
/// none of it reaches the engine, and a normal client is served throughout.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_clients_hostile_hosts_and_probe_floods_are_contained() {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let sim = Sim::small().await;
    let b = Bridge::start(&sim, &["--client-timeout-secs", "1"]).await;
    let addr = b.base.trim_start_matches("http://").to_string();
    let token = b.token();
    // Writes `head`, then reads what the bridge answers until it closes the connection.
    let exchange = |head: String| {
        let addr = addr.clone();
        async move {
            let mut s = tokio::net::TcpStream::connect(&addr).await.unwrap();
            s.write_all(head.as_bytes()).await.unwrap();
            let mut out = Vec::new();
            tokio::time::timeout(Duration::from_secs(10), s.read_to_end(&mut out))
                .await
                .expect("the bridge must close a stalled connection")
                .ok();
            String::from_utf8_lossy(&out).into_owned()
        }
    };

    // Headers never finished: closed after the client timeout, with no request served.
    let t = Instant::now();
    let reply = exchange("POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\n".into()).await;
    assert!(!reply.contains("200 OK"), "{reply}");
    assert!(t.elapsed() < Duration::from_secs(5), "{:?}", t.elapsed());
    // A body announced and never sent: 408, connection closed.
    let reply = exchange(format!(
        "POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {token}\r\n\
         Content-Type: application/json\r\nAccept: application/json, text/event-stream\r\n\
         Content-Length: 100\r\n\r\n{{"
    ))
    .await;
    assert!(reply.starts_with("HTTP/1.1 408"), "{reply}");

    // Host values that only look like loopback, and a second Host header.
    for host in [
        "Host: [::1]evil.example",
        "Host: localhost:evil",
        "Host: 127.0.0.1:",
        "Host: 127.0.0.1\r\nHost: evil.example",
    ] {
        let reply = exchange(format!(
            "POST /mcp HTTP/1.1\r\n{host}\r\nAuthorization: Bearer {token}\r\n\
             Content-Type: application/json\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{{}}"
        ))
        .await;
        assert!(reply.starts_with("HTTP/1.1 403"), "{host}: {reply}");
    }

    // Forty readiness probes at once: Proxmox is asked once.
    let versions = || {
        sim.requests()
            .iter()
            .filter(|r| r.path.ends_with("/version"))
            .count()
    };
    let before = versions();
    let probes: Vec<_> = (0..40)
        .map(|_| reqwest::get(format!("{}/readyz", b.base)))
        .collect();
    for r in futures::future::join_all(probes).await {
        assert_eq!(r.unwrap().status(), 200);
    }
    assert_eq!(
        versions() - before,
        1,
        "one readiness request reached Proxmox"
    );

    let mcp = Mcp::connect_http(&b.url, Some(&token), Protocol::Modern, Human::Absent)
        .await
        .unwrap();
    mcp.call("proxmox_api", json!({"path": "/version"}))
        .await
        .ok("a normal call after all that");
    mcp.close().await;
    let audit = b.audit();
    assert!(
        audit.iter().all(|r| r["tool"] == "proxmox_api"),
        "only the normal call reached the engine: {audit:?}"
    );
    sim.finish().await;
}
