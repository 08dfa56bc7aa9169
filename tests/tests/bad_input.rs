//! Hostile and broken input, and a broken connection to Proxmox: every case ends in a clear
//! `isError` result (never a crash or a protocol error) and leaves the cluster untouched.

use std::time::{Duration, Instant};

use e2e::{Auth, Harness, Protocol, Trust, Value, json, per_protocol};

per_protocol!(
    bad_vmids_are_refused_without_side_effects,
    path_traversal_never_leaves_the_json_api,
    protocol_relative_path_is_refused,
    writes_through_proxmox_api_wait_for_a_human,
    huge_payloads_get_a_clear_error,
    unknown_tools_and_arguments,
);

/// Snapshot of everything a tool could have changed.
fn state(h: &Harness) -> Value {
    h.sim.state()
}

/// The cluster is as it was, and no write request reached the sim.
fn assert_untouched(h: &Harness, before: &Value, what: &str) {
    let writes: Vec<String> = h
        .sim
        .requests()
        .iter()
        .filter(|r| r.method != "GET")
        .map(|r| format!("{} {}", r.method, r.path))
        .collect();
    assert!(
        writes.is_empty(),
        "{what}: write requests reached the sim: {writes:?}"
    );
    assert!(&state(h) == before, "{what}: the sim's state changed");
}

/// Asserts no request the sim saw carries `needle` in its path or parameters.
fn assert_never_sent(h: &Harness, needle: &str) {
    for r in h.sim.requests() {
        let all = format!(
            "{} {}",
            e2e::decode_path(&r.path),
            Value::Object(r.params.clone())
        );
        assert!(!all.contains(needle), "{needle:?} reached the sim: {all}");
    }
}

async fn bad_vmids_are_refused_without_side_effects(p: Protocol) {
    let h = Harness::start(p).await;
    let before = state(&h);
    h.sim.clear_requests();

    // Unknown but well-formed: a not-found message naming it.
    let msg = h.err("vm_status", json!({"vmid": 99999})).await;
    assert!(msg.contains("99999"), "{msg}");
    assert!(
        msg.to_lowercase().contains("not found")
            || msg.to_lowercase().contains("no guest")
            || msg.to_lowercase().contains("does not exist"),
        "unknown vmid should say it was not found: {msg}"
    );

    // Malformed: refused before any request, naming the argument.
    for bad in [
        json!("abc"),
        json!(true),
        json!("100; rm -rf /"),
        json!("100 OR 1=1"),
        json!(-1),
        json!(1.5),
        json!(99),
        json!(1_000_000_000_000u64),
        json!(""),
        json!(null),
        json!({"vmid": 100}),
        json!([100]),
    ] {
        h.sim.clear_requests();
        let msg = h.err("vm_status", json!({"vmid": bad})).await;
        assert!(
            msg.contains("vmid"),
            "vmid={bad}: the message names the argument: {msg}"
        );
        assert!(
            h.sim.requests().is_empty(),
            "vmid={bad}: refused only after contacting Proxmox"
        );
    }
    let msg = h.err("vm_status", json!({})).await;
    assert!(msg.contains("vmid"), "missing vmid: {msg}");

    // Injection attempts in other arguments.
    for (tool, args) in [
        ("list_vms", json!({"node": "pve1; rm -rf /"})),
        ("list_vms", json!({"node": "../pve1"})),
        ("node_status", json!({"node": "pve1/../../access"})),
        ("node_status", json!({"node": "pve1; rm -rf /"})),
        ("task_status", json!({"upid": "UPID:../../etc/passwd"})),
        ("task_status", json!({"upid": "100; rm -rf /"})),
        ("list_vms", json!({"status": "running; rm -rf /"})),
    ] {
        h.err(tool, args.clone()).await;
    }
    assert_never_sent(&h, "rm -rf");
    assert_never_sent(&h, "..");
    assert_never_sent(&h, "OR 1=1");

    // A node that does not exist.
    let msg = h.err("node_status", json!({"node": "pve9"})).await;
    assert!(msg.contains("pve9"), "{msg}");
    let msg = h.err("list_vms", json!({"node": "pve9"})).await;
    assert!(msg.contains("pve9"), "{msg}");

    assert_untouched(&h, &before, "bad vmids");
    h.finish().await;
}

async fn path_traversal_never_leaves_the_json_api(p: Protocol) {
    let h = Harness::start(p).await;
    let before = state(&h);
    h.sim.clear_requests();
    for path in [
        "/nodes/../access",
        "/nodes/../../access/users",
        "../../etc/passwd",
        "/api2/json/../x",
        "/api2/json/../../etc/passwd",
        "/nodes/%2e%2e/access",
        "https://evil.example/api2/json/nodes",
        "http://127.0.0.1:1/api2/json/nodes",
        "evil.example:8006/api2/json/nodes",
        "/api2/extjs/nodes",
        "/api2/html/nodes",
        "/nodes?node=x",
        "/nodes#frag",
        "/nodes\\..\\access",
        "/nodes/pve1\n/status",
        "",
    ] {
        let msg = h
            .err("proxmox_api", json!({"method": "GET", "path": path}))
            .await;
        assert!(
            msg.to_lowercase().contains("path") || msg.contains("URL") || msg.contains("/api2"),
            "path={path:?}: the message should say what is wrong with the path: {msg}"
        );
    }
    // The server reads who it is on the cluster (its node, groups and roles) before judging a
    // call that may change something; nothing else may reach the sim.
    let seen: Vec<String> = h
        .sim
        .requests()
        .iter()
        .map(|r| r.path.clone())
        .filter(|p| !e2e::sim::identity_lookup(p))
        .collect();
    assert!(
        seen.is_empty(),
        "refused paths still reached the sim: {seen:?}"
    );
    // Bad parameter shapes are refused too.
    for params in [
        json!({"a": {"nested": 1}}),
        json!({"bad name": 1}),
        json!({"x": [[1]]}),
        json!("{not json"),
    ] {
        h.err(
            "proxmox_api",
            json!({"path": "/cluster/resources", "params": params}),
        )
        .await;
    }
    assert!(h.sim.requests().is_empty());
    assert_untouched(&h, &before, "path traversal");
    h.finish().await;
}

/// `//host/...` is a protocol-relative URL: resolved against the base URL it names another
/// host. It must be refused, not silently collapsed to `/nodes`.
async fn protocol_relative_path_is_refused(p: Protocol) {
    let h = Harness::start(p).await;
    h.sim.clear_requests();
    for path in ["//nodes", "//evil.example/api2/json/nodes"] {
        let r = h
            .call("proxmox_api", json!({"method": "GET", "path": path}))
            .await;
        assert!(
            r.is_error == Some(true),
            "path={path:?} was accepted (collapsed to a local path?) instead of refused"
        );
    }
    assert!(h.sim.requests().is_empty());
    h.finish().await;
}

async fn writes_through_proxmox_api_wait_for_a_human(p: Protocol) {
    let h = Harness::start(p).await;
    let before = state(&h);
    h.sim.clear_requests();
    for method in ["POST", "PUT", "DELETE", "post"] {
        let msg = h
            .err(
                "proxmox_api",
                json!({"method": method, "path": "/nodes/pve1/qemu/100/status/stop"}),
            )
            .await;
        // Safe mode and a client without forms: a human must approve out of band.
        assert!(
            msg.contains("proxmox-mcp approve"),
            "{method}: the message says how a human approves: {msg}"
        );
    }
    for method in ["PATCH", "CONNECT", "", "GET /x"] {
        h.err("proxmox_api", json!({"method": method, "path": "/version"}))
            .await;
    }
    // Only reads may reach PVE (who we are, whether the target guest is protected).
    let writes: Vec<_> = h
        .sim
        .requests()
        .into_iter()
        .filter(|r| r.method != "GET")
        .map(|r| format!("{} {}", r.method, r.path))
        .collect();
    assert!(writes.is_empty(), "{writes:?}");
    assert_untouched(&h, &before, "writes via proxmox_api");
    h.finish().await;
}

async fn huge_payloads_get_a_clear_error(p: Protocol) {
    let h = Harness::start(p).await;
    let before = state(&h);
    h.sim.clear_requests();
    let big = "a".repeat(2 * 1024 * 1024);
    for (tool, args) in [
        ("list_vms", json!({"name": big})),
        ("proxmox_api", json!({"path": format!("/nodes/{big}")})),
        ("task_status", json!({"upid": big})),
        ("list_vms", json!({"name": "x", "tag": "a".repeat(100_000)})),
    ] {
        let t0 = Instant::now();
        let msg = h.err(tool, args).await;
        assert!(
            msg.contains("limit") || msg.contains("too long") || msg.contains("longer"),
            "{tool}: the message should say the input is too large: {}",
            e2e::truncate(&msg, 300)
        );
        assert!(
            msg.len() < 2000,
            "{tool}: the error echoes the payload ({} bytes)",
            msg.len()
        );
        assert!(t0.elapsed() < Duration::from_secs(10));
    }
    assert!(h.sim.requests().is_empty());
    // A long but legal name filter still works.
    h.ok("list_vms", json!({"name": "a".repeat(200)})).await;
    // And the server is healthy afterwards.
    h.ok("get_system_info", json!({})).await;
    assert_untouched(&h, &before, "huge payloads");
    h.finish().await;
}

async fn unknown_tools_and_arguments(p: Protocol) {
    let h = Harness::start(p).await;
    // An unknown tool cannot be routed: a JSON-RPC error, not a tool result.
    let r = h.mcp.try_call("no_such_tool", json!({})).await;
    assert!(r.is_err(), "unknown tool gave a result: {r:?}");
    // Unknown arguments are named (a typo must not silently widen a filter).
    let msg = h.err("list_vms", json!({"nod": "pve1"})).await;
    assert!(msg.contains("nod"), "{msg}");
    let msg = h.err("list_vms", json!({"status": "sleeping"})).await;
    assert!(msg.contains("sleeping") || msg.contains("status"), "{msg}");
    let msg = h
        .err("list_vms", json!({"fields": ["uptime", "password"]}))
        .await;
    assert!(msg.contains("password"), "{msg}");
    let msg = h
        .err("task_status", json!({"upid": "UPID:x", "wait": 100_000}))
        .await;
    assert!(!msg.is_empty());
    let msg = h.err("list_vms", json!({"cluster": "nope"})).await;
    assert!(msg.contains("nope"), "unknown cluster named: {msg}");
    h.finish().await;
}

// ---------------------------------------------------------------------------------------------
// A broken connection to Proxmox (one protocol each: the MCP side is not what is tested)

/// A 127.0.0.1 port nothing listens on.
fn closed_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    drop(l);
    port
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unreachable_proxmox_fails_fast_naming_the_url() {
    let port = closed_port();
    let url = format!("https://127.0.0.1:{port}");
    let h = Harness::builder(Protocol::Modern).url(&url).start().await;
    for tool in ["list_vms", "get_system_info", "node_status"] {
        let t0 = Instant::now();
        let msg = h.err(tool, json!({})).await;
        let took = t0.elapsed();
        assert!(
            took < Duration::from_secs(7),
            "{tool}: took {took:?}, longer than the connect timeout"
        );
        assert!(
            msg.contains(&format!("127.0.0.1:{port}")),
            "{tool}: names the URL: {msg}"
        );
    }
    assert!(h.sim.requests().is_empty());
    h.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_token_says_authentication_failed() {
    let secret = "00000000-dead-beef-0000-000000000000";
    let h = Harness::builder(Protocol::Legacy)
        .auth(Auth::AdminWithSecret(secret.into()))
        .start()
        .await;
    let msg = h.err("list_vms", json!({})).await;
    let lower = msg.to_lowercase();
    assert!(
        msg.contains("401") || lower.contains("authentication"),
        "says the credentials were refused: {msg}"
    );
    assert!(
        msg.contains("PROXMOX_TOKEN") || lower.contains("token"),
        "says which setting: {msg}"
    );
    assert!(!msg.contains(secret), "the secret is echoed: {msg}");
    assert!(!h.mcp.stderr().contains(secret), "the secret is logged");
    let statuses: Vec<u16> = h.sim.requests().iter().map(|r| r.status).collect();
    assert!(statuses.contains(&401), "{statuses:?}");
    h.finish().await;
}

async fn assert_pin_hint(trust: Trust, p: Protocol) {
    let h = Harness::builder(p).trust(trust.clone()).start().await;
    let fp = h.sim.fingerprint();
    let msg = h.err("list_vms", json!({})).await;
    assert!(
        msg.contains(&fp),
        "{trust:?}: the message carries the sim's actual fingerprint {fp}: {msg}"
    );
    assert!(
        msg.contains("PROXMOX_FINGERPRINT"),
        "{trust:?}: the message says how to pin it: {msg}"
    );
    assert!(
        h.sim.requests().is_empty(),
        "{trust:?}: an HTTP request went over an unverified connection"
    );
    h.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_fingerprint_says_how_to_pin() {
    let wrong = (0..32).map(|_| "AB").collect::<Vec<_>>().join(":");
    assert_pin_hint(Trust::WrongFingerprint(wrong), Protocol::Modern).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn self_signed_without_pin_says_how_to_pin() {
    assert_pin_hint(Trust::None, Protocol::Legacy).await;
}
