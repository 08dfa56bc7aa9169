//! Every request our client sends must exist in the PVE API schema with valid parameters.
//!
//! Each suite's harness already checks its sim's request log at teardown; this file adds a
//! sweep that calls every tool with a wide set of arguments, and proves the checker can fail.
//! Without `../shared/pve/api-schema.json` it prints a notice and skips.

use std::collections::BTreeSet;

use e2e::{Faults, Harness, Protocol, ResultExt as _, Sim, Value, json, schema};

fn skip_without_schema(what: &str) -> bool {
    if schema().is_none() {
        eprintln!("SKIPPED {what}: ../shared/pve/api-schema.json is not available");
        return true;
    }
    false
}

/// Replaces ids in a request path with placeholders, for a readable endpoint summary.
fn template(path: &str) -> String {
    path.trim_start_matches("/api2/json")
        .split('/')
        .map(|seg| {
            if seg.starts_with("UPID:") {
                "{upid}"
            } else if seg.len() >= 3 && seg.bytes().all(|b| b.is_ascii_digit()) {
                "{vmid}"
            } else if seg.starts_with("pve")
                && seg[3..].bytes().all(|b| b.is_ascii_digit())
                && seg.len() > 3
            {
                "{node}"
            } else {
                seg
            }
        })
        .collect::<Vec<_>>()
        .join("/")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sweep_every_tool_and_argument_combination() {
    if skip_without_schema("the conformance sweep") {
        return;
    }
    let h = Harness::builder(Protocol::Modern)
        .with_sim(|c| {
            c.faults = Faults {
                offline_nodes: vec!["pve3".into()],
                ..Faults::default()
            }
        })
        .start()
        .await;
    let api = h.sim.api();
    let mut calls: Vec<(&str, Value)> = Vec::new();

    // Inventory, with every filter and field.
    let qemu = e2e::sim::guests(&api, "qemu").await;
    let lxc = e2e::sim::guests(&api, "lxc").await;
    let all_fields = json!([
        "disk", "maxdisk", "uptime", "maxcpu", "pool", "lock", "template", "hastate", "netin",
        "netout"
    ]);
    for tool in ["list_vms", "list_containers"] {
        calls.push((tool, json!({})));
        calls.push((tool, json!({"fields": all_fields})));
        for node in ["pve1", "pve2", "pve3"] {
            calls.push((tool, json!({"node": node})));
        }
        for status in ["running", "stopped", "unknown"] {
            calls.push((tool, json!({"status": status})));
        }
        calls.push((tool, json!({"name": "*"})));
        calls.push((tool, json!({"name": "web?"})));
        calls.push((tool, json!({"tag": "protected"})));
        calls.push((tool, json!({"pool": "prod"})));
        calls.push((
            tool,
            json!({"node": "pve1", "status": "running", "name": "*", "fields": ["uptime"]}),
        ));
    }
    // Every guest, whatever its state.
    for g in qemu.iter().chain(&lxc) {
        calls.push(("vm_status", json!({"vmid": g["vmid"]})));
    }
    calls.push(("vm_status", json!({"vmid": 99999})));
    // Nodes, including the offline one.
    calls.push(("node_status", json!({})));
    for node in ["pve1", "pve2", "pve3"] {
        calls.push(("node_status", json!({"node": node})));
    }
    calls.push(("get_system_info", json!({})));
    // Raw reads.
    for (path, params) in [
        ("/version", json!({})),
        ("/cluster/status", json!({})),
        ("/cluster/resources", json!({})),
        ("/cluster/resources", json!({"type": "vm"})),
        ("/cluster/resources", json!({"type": "node"})),
        ("/cluster/resources", json!({"type": "storage"})),
        ("/cluster/tasks", json!({})),
        ("/nodes", json!({})),
        ("/nodes/pve1/status", json!({})),
        ("/nodes/pve1/qemu", json!({})),
        ("/nodes/pve1/lxc", json!({})),
        ("/nodes/pve1/storage", json!({})),
        ("/nodes/pve1/tasks", json!({"limit": 5})),
        ("/nodes/pve1/network", json!({})),
        ("/pools", json!({})),
        ("/storage", json!({})),
    ] {
        calls.push(("proxmox_api", json!({"path": path, "params": params})));
    }

    let mut failed = 0;
    for (tool, args) in &calls {
        if h.call(tool, args.clone()).await.failed() {
            failed += 1;
        }
    }
    // Tasks: without and with waiting, and all log lengths.
    let stopped = qemu
        .iter()
        .find(|g| g["status"] == json!("stopped") && g["node"] != json!("pve3"))
        .expect("a stopped VM on an online node");
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
    for args in [
        json!({"upid": upid}),
        json!({"upid": upid, "wait": 30}),
        json!({"upid": upid, "log_lines": 0}),
        json!({"upid": upid, "log_lines": 500}),
    ] {
        h.call("task_status", args).await.ok("task_status");
    }

    let requests = h.sim.requests();
    let endpoints: BTreeSet<String> = requests
        .iter()
        .map(|r| format!("{} {}", r.method, template(&e2e::decode_path(&r.path))))
        .collect();
    eprintln!(
        "conformance sweep: {} tool calls ({failed} isError), {} PVE requests, {} endpoints:\n  {}",
        calls.len() + 4,
        requests.len(),
        endpoints.len(),
        endpoints.iter().cloned().collect::<Vec<_>>().join("\n  ")
    );
    // The sweep must actually reach what the tools use, or it proves nothing.
    for e in [
        "GET /cluster/resources",
        "GET /cluster/status",
        "GET /nodes/{node}/status",
        "GET /nodes/{node}/qemu/{vmid}/status/current",
        "GET /nodes/{node}/qemu/{vmid}/config",
        "GET /nodes/{node}/lxc/{vmid}/status/current",
        "GET /nodes/{node}/lxc/{vmid}/config",
        "GET /nodes/{node}/tasks/{upid}/status",
        "GET /nodes/{node}/tasks/{upid}/log",
        "GET /version",
    ] {
        assert!(endpoints.contains(e), "the sweep never requested {e}");
    }
    let v = h.sim.violations();
    assert!(
        v.is_empty(),
        "{} of {} requests violate the schema:\n  {}",
        v.len(),
        requests.len(),
        v.join("\n  ")
    );
    h.finish().await;
}

/// The checker itself: bad requests are caught (so a clean sweep means something).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_checker_catches_bad_requests() {
    if skip_without_schema("the checker self-test") {
        return;
    }
    let schema = schema().unwrap();
    let empty = serde_json::Map::new();
    let params = |v: Value| v.as_object().unwrap().clone();
    use pve_sim::schema::Violation;
    assert!(schema.check("GET", "/cluster/resources", &empty).is_ok());
    assert!(
        schema
            .check("GET", "/cluster/resources", &params(json!({"type": "vm"})))
            .is_ok()
    );
    assert!(
        schema
            .check("GET", "/nodes/pve1/qemu/100/status/current", &empty)
            .is_ok()
    );
    assert!(matches!(
        schema.check("GET", "/cluster/no-such-thing", &empty),
        Err(Violation::UnknownPath(_))
    ));
    assert!(matches!(
        schema.check("PATCH", "/cluster/resources", &empty),
        Err(Violation::UnknownMethod(_) | Violation::UnknownPath(_))
    ));
    assert!(matches!(
        schema.check(
            "GET",
            "/cluster/resources",
            &params(json!({"type": "bogus"}))
        ),
        Err(Violation::InvalidParams(_))
    ));
    assert!(matches!(
        schema.check("GET", "/cluster/resources", &params(json!({"nope": 1}))),
        Err(Violation::InvalidParams(_))
    ));

    // And through a sim's request log.
    let sim = Sim::small().await;
    let api = sim.api();
    let _ = api
        .get_query("/cluster/resources", &[("type", "bogus")])
        .await;
    let v = sim.violations();
    assert_eq!(v.len(), 1, "{v:?}");
    assert!(v[0].contains("type"), "{v:?}");
    sim.clear_requests();
    sim.finish().await;
}

#[test]
fn templates_read_well() {
    assert_eq!(
        template("/api2/json/nodes/pve1/qemu/100/status/current"),
        "/nodes/{node}/qemu/{vmid}/status/current"
    );
    assert_eq!(
        template("/api2/json/nodes/pve2/tasks/UPID:pve2:0001:x:y:qmstart:100:root@pam:/log"),
        "/nodes/{node}/tasks/{upid}/log"
    );
}
