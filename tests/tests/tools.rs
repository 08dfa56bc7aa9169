//! Every tool, in both protocol revisions, against the simulator's own view of the cluster;
//! plus the MCP surface (tools/list), JSON-string arguments, cancellation and concurrency.

use std::time::{Duration, Instant};

use e2e::{
    ApiClient, Auth, Faults, Harness, Map, Protocol, ResultExt as _, Trust, Value, json,
    per_protocol, rows, vmids,
};
use rmcp::{
    ServiceError,
    model::{CancelledNotificationParam, ServerResult},
};
use tokio::sync::oneshot::error::TryRecvError;

const ALL_TOOLS: [&str; 7] = [
    "list_vms",
    "list_containers",
    "vm_status",
    "node_status",
    "get_system_info",
    "task_status",
    "proxmox_api",
];

per_protocol!(
    tools_list_describes_every_tool,
    list_vms_returns_exactly_the_sims_vms,
    list_filters_match_the_sim,
    list_containers_returns_exactly_the_sims_containers,
    vm_status_reports_state_config_and_agent,
    node_status_shows_every_node_including_offline,
    get_system_info_reports_cluster_quorum_and_totals,
    task_status_waits_with_progress_and_log_tail,
    proxmox_api_reads_and_accepts_params_as_json_string,
    cancellation_stops_a_task_wait,
    requests_are_served_concurrently,
);

// ---------------------------------------------------------------------------------------------
// helpers

/// The sim's guests of one kind (`qemu` / `lxc`), straight from its API, sorted by vmid.
async fn sim_guests(api: &ApiClient, kind: &str) -> Vec<Map<String, Value>> {
    e2e::sim::guests(api, kind).await
}

fn s<'a>(row: &'a Map<String, Value>, key: &str) -> &'a str {
    row.get(key).and_then(Value::as_str).unwrap_or("")
}

fn vmid_of(row: &Map<String, Value>) -> u64 {
    row.get("vmid").and_then(Value::as_u64).expect("vmid")
}

fn ids(rows: &[Map<String, Value>]) -> Vec<u64> {
    vmids(rows)
}

/// `/cluster/resources` GETs the server made since the last `clear_requests`.
fn resource_gets(h: &Harness) -> usize {
    h.sim
        .requests()
        .iter()
        .filter(|r| r.method == "GET" && r.path == "/api2/json/cluster/resources")
        .count()
}

/// Starts a worker task on the sim directly (not through the server) and returns its UPID.
async fn start_task(api: &ApiClient, node: &str, kind: &str, vmid: u64, action: &str) -> String {
    let upid = api
        .post(&format!("/nodes/{node}/{kind}/{vmid}/status/{action}"), &[])
        .await
        .unwrap_or_else(|e| panic!("{action} {vmid} on the sim: {e:#}"));
    let upid = upid.as_str().expect("a UPID string").to_string();
    assert!(upid.starts_with("UPID:"), "{upid}");
    upid
}

async fn first_guest(api: &ApiClient, kind: &str, status: &str) -> Map<String, Value> {
    sim_guests(api, kind)
        .await
        .into_iter()
        .find(|g| s(g, "status") == status && g.get("template").and_then(Value::as_u64) != Some(1))
        .unwrap_or_else(|| panic!("the sim has no {status} {kind} guest"))
}

// ---------------------------------------------------------------------------------------------
// tools/list

async fn tools_list_describes_every_tool(p: Protocol) {
    let h = Harness::start(p).await;
    let tools = h.mcp.tools().await;
    let names: Vec<&str> = tools.iter().map(|t| t.name.as_ref()).collect();
    for want in ALL_TOOLS {
        assert!(names.contains(&want), "tools/list lacks {want}: {names:?}");
    }
    for t in &tools {
        let name = t.name.as_ref();
        assert!(
            t.description.as_deref().is_some_and(|d| d.len() > 20),
            "{name}: no useful description"
        );
        let input = &t.input_schema;
        assert_eq!(
            input.get("type"),
            Some(&json!("object")),
            "{name}: input schema root must be type object: {input:?}"
        );
        let props = input
            .get("properties")
            .and_then(Value::as_object)
            .unwrap_or_else(|| panic!("{name}: input schema has no properties"));
        assert!(
            props.contains_key("cluster"),
            "{name}: every tool takes `cluster`"
        );
        let output = t
            .output_schema
            .as_ref()
            .unwrap_or_else(|| panic!("{name}: no outputSchema"));
        assert_eq!(output.get("type"), Some(&json!("object")), "{name}");
        let a = t
            .annotations
            .as_ref()
            .unwrap_or_else(|| panic!("{name}: no annotations"));
        assert!(a.idempotent_hint.is_some(), "{name}: idempotentHint");
        assert!(a.open_world_hint.is_some(), "{name}: openWorldHint");
        if ALL_TOOLS.contains(&name) && name != "proxmox_api" {
            // The inventory and status tools only read.
            assert_eq!(a.read_only_hint, Some(true), "{name}: readOnlyHint");
            assert_eq!(a.destructive_hint, Some(false), "{name}: destructiveHint");
        }
        // Tools that can change or destroy say so.
        if matches!(
            name,
            "proxmox_api" | "execute_command" | "execute_vm_command"
        ) {
            assert_eq!(a.read_only_hint, Some(false), "{name}: readOnlyHint");
            assert_eq!(a.destructive_hint, Some(true), "{name}: destructiveHint");
        }
    }
    // Required parameters are declared as such.
    let req = |n: &str| -> Vec<String> {
        let t = tools.iter().find(|t| t.name == n).unwrap();
        t.input_schema
            .get("required")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|v| v.as_str().map(String::from))
                    .collect()
            })
            .unwrap_or_default()
    };
    assert_eq!(req("vm_status"), ["vmid"]);
    assert_eq!(req("task_status"), ["upid"]);
    assert!(req("proxmox_api").contains(&"path".to_string()));
    assert!(req("list_vms").is_empty());
    h.finish().await;
}

// ---------------------------------------------------------------------------------------------
// list_vms / list_containers

/// Compares a list result row by row with the sim's guests.
fn assert_same_guests(what: &str, got: &Value, want: &[Map<String, Value>]) {
    let got_rows = rows(got);
    assert_eq!(
        ids(&got_rows),
        ids(want),
        "{what}: vmids differ from the sim's"
    );
    assert_eq!(
        got.get("count").and_then(Value::as_u64),
        Some(want.len() as u64),
        "{what}: count"
    );
    let running = want.iter().filter(|g| s(g, "status") == "running").count();
    assert_eq!(
        got.get("running").and_then(Value::as_u64),
        Some(running as u64),
        "{what}: running"
    );
    for w in want {
        let r = got_rows
            .iter()
            .find(|r| r.get("vmid").and_then(Value::as_u64) == Some(vmid_of(w)))
            .unwrap();
        for k in ["name", "node", "status"] {
            assert_eq!(s(r, k), s(w, k), "{what}: {k} of {}", vmid_of(w));
        }
    }
}

async fn list_vms_returns_exactly_the_sims_vms(p: Protocol) {
    let h = Harness::start(p).await;
    let api = h.sim.api();
    let want = sim_guests(&api, "qemu").await;
    assert!(want.len() >= 10, "the sim should have VMs: {}", want.len());

    h.sim.clear_requests();
    let r = h.call("list_vms", json!({})).await;
    r.ok("list_vms");
    assert_eq!(
        resource_gets(&h),
        1,
        "list_vms must cost exactly one GET /cluster/resources"
    );
    assert_eq!(h.sim.requests().len(), 1, "and nothing else");
    let got = r.structured();
    assert_same_guests("list_vms {}", got, &want);
    // No container leaks into the VM list.
    let cts = sim_guests(&api, "lxc").await;
    let got_ids = ids(&rows(got));
    for c in &cts {
        assert!(
            !got_ids.contains(&vmid_of(c)),
            "container {} in list_vms",
            vmid_of(c)
        );
    }
    // The text the model reads carries every guest too.
    let text = r.text();
    for w in &want {
        let line = text
            .lines()
            .find(|l| l.split_whitespace().next() == Some(&vmid_of(w).to_string()))
            .unwrap_or_else(|| panic!("no text line for {}: {text}", vmid_of(w)));
        assert!(line.contains(s(w, "node")), "{line}");
    }
    h.finish().await;
}

async fn list_containers_returns_exactly_the_sims_containers(p: Protocol) {
    let h = Harness::start(p).await;
    let api = h.sim.api();
    let want = sim_guests(&api, "lxc").await;
    assert!(want.len() >= 3, "the sim should have containers");
    h.sim.clear_requests();
    let got = h.ok("list_containers", json!({})).await;
    assert_eq!(resource_gets(&h), 1);
    assert_same_guests("list_containers {}", &got, &want);

    let node = s(&want[0], "node").to_string();
    let got = h.ok("list_containers", json!({"node": node})).await;
    let on_node: Vec<_> = want
        .iter()
        .filter(|g| s(g, "node") == node)
        .cloned()
        .collect();
    assert_same_guests("list_containers node", &got, &on_node);
    h.finish().await;
}

async fn list_filters_match_the_sim(p: Protocol) {
    let h = Harness::start(p).await;
    let api = h.sim.api();
    let all = sim_guests(&api, "qemu").await;
    let check = |what: String, got: Value, pred: &dyn Fn(&Map<String, Value>) -> bool| {
        let want: Vec<_> = all.iter().filter(|g| pred(g)).cloned().collect();
        assert!(
            !want.is_empty() && want.len() < all.len(),
            "{what}: the filter must select a proper subset for this test to mean anything ({} of {})",
            want.len(),
            all.len()
        );
        assert_same_guests(&what, &got, &want);
    };

    // node
    let got = h.ok("list_vms", json!({"node": "pve2"})).await;
    check("node=pve2".into(), got, &|g| s(g, "node") == "pve2");

    // status (both ways)
    for st in ["running", "stopped"] {
        let got = h.ok("list_vms", json!({"status": st})).await;
        check(format!("status={st}"), got, &|g| s(g, "status") == st);
    }

    // name: exact name, then a glob on its prefix (case-insensitive)
    let name = s(&all[0], "name").to_string();
    let got = h.ok("list_vms", json!({"name": name})).await;
    let exact: Vec<_> = all
        .iter()
        .filter(|g| s(g, "name").to_lowercase().contains(&name.to_lowercase()))
        .cloned()
        .collect();
    assert_same_guests(&format!("name={name}"), &got, &exact);
    let prefix: String = name
        .chars()
        .take_while(|c| c.is_ascii_alphabetic())
        .collect();
    assert!(!prefix.is_empty(), "sim names start with letters: {name}");
    let pattern = format!("{}*", prefix.to_uppercase());
    let got = h.ok("list_vms", json!({"name": pattern})).await;
    let by_prefix: Vec<_> = all
        .iter()
        .filter(|g| {
            s(g, "name")
                .to_lowercase()
                .starts_with(&prefix.to_lowercase())
        })
        .cloned()
        .collect();
    assert_same_guests(&format!("name={pattern}"), &got, &by_prefix);
    let got = h.ok("list_vms", json!({"name": "no-such-guest-*"})).await;
    assert_same_guests("name matching nothing", &got, &[]);

    // tag
    let tags = |g: &Map<String, Value>| -> Vec<String> {
        s(g, "tags")
            .split([';', ',', ' '])
            .filter(|t| !t.is_empty())
            .map(str::to_lowercase)
            .collect()
    };
    let tag = all
        .iter()
        .flat_map(tags)
        .find(|t| all.iter().filter(|g| tags(g).contains(t)).count() < all.len())
        .expect("the sim tags some VMs");
    let got = h.ok("list_vms", json!({"tag": tag})).await;
    check(format!("tag={tag}"), got, &|g| tags(g).contains(&tag));

    // pool
    let pool = all
        .iter()
        .find_map(|g| g.get("pool").and_then(Value::as_str))
        .expect("the sim puts some VMs in a pool")
        .to_string();
    let got = h.ok("list_vms", json!({"pool": pool})).await;
    check(format!("pool={pool}"), got, &|g| s(g, "pool") == pool);

    // combined: node + status
    let got = h
        .ok("list_vms", json!({"node": "pve1", "status": "running"}))
        .await;
    let want: Vec<_> = all
        .iter()
        .filter(|g| s(g, "node") == "pve1" && s(g, "status") == "running")
        .cloned()
        .collect();
    assert_same_guests("node=pve1 status=running", &got, &want);

    // extra fields, also when the list arrives as a JSON string
    for fields in [json!(["uptime", "pool"]), json!("[\"uptime\",\"pool\"]")] {
        let got = h.ok("list_vms", json!({"fields": fields})).await;
        let cols = got["columns"].as_array().expect("columns");
        assert!(
            cols.contains(&json!("uptime")) && cols.contains(&json!("pool")),
            "fields={fields}: {cols:?}"
        );
        for (r, w) in rows(&got).iter().zip(&all) {
            assert_eq!(
                r.get("pool").and_then(Value::as_str).unwrap_or(""),
                s(w, "pool")
            );
        }
    }
    h.finish().await;
}

// ---------------------------------------------------------------------------------------------
// vm_status

/// Whether the sim's config for a guest enables the agent.
async fn agent_enabled(api: &ApiClient, node: &str, vmid: u64) -> bool {
    let cfg = api
        .get(&format!("/nodes/{node}/qemu/{vmid}/config"))
        .await
        .expect("sim config");
    let a = match cfg.get("agent") {
        Some(Value::String(s)) => s.clone(),
        Some(v) => v.to_string(),
        None => return false,
    };
    let first = a.split(',').next().unwrap_or("");
    matches!(first, "1" | "enabled=1")
}

async fn vm_status_reports_state_config_and_agent(p: Protocol) {
    let h = Harness::start(p).await;
    let api = h.sim.api();
    let vms = sim_guests(&api, "qemu").await;

    // A running VM with the agent enabled.
    let mut with_agent = None;
    for g in vms.iter().filter(|g| s(g, "status") == "running") {
        if agent_enabled(&api, s(g, "node"), vmid_of(g)).await {
            with_agent = Some(g.clone());
            break;
        }
    }
    let g = with_agent.expect("the sim has a running VM with the guest agent");
    let vmid = vmid_of(&g);
    let st = h.ok("vm_status", json!({"vmid": vmid})).await;
    assert_eq!(st["vmid"], json!(vmid));
    assert_eq!(st["kind"], json!("qemu"));
    assert_eq!(
        st["node"],
        json!(s(&g, "node")),
        "node resolved automatically"
    );
    assert_eq!(st["name"], json!(s(&g, "name")));
    assert_eq!(st["status"], json!("running"));
    let cfg = api
        .get(&format!("/nodes/{}/qemu/{vmid}/config", s(&g, "node")))
        .await
        .unwrap();
    if let Some(cores) = cfg.get("cores") {
        let cores = cores
            .as_str()
            .map(String::from)
            .unwrap_or(cores.to_string());
        assert_eq!(st["config"]["cores"], json!(cores), "config summary");
    }
    let agent = &st["agent"];
    assert_eq!(agent["available"], json!(true), "agent info: {agent}");
    let ips = agent["ips"].as_array().expect("agent ips");
    assert!(!ips.is_empty(), "agent reports IPs: {agent}");
    assert!(
        agent["os"].as_str().is_some_and(|o| !o.is_empty()),
        "agent OS: {agent}"
    );
    // vmid given as a numeric string is fine too.
    let st2 = h.ok("vm_status", json!({"vmid": vmid.to_string()})).await;
    assert_eq!(st2["vmid"], json!(vmid));

    // A stopped VM: no agent section, no uptime.
    let stopped = first_guest(&api, "qemu", "stopped").await;
    let st = h.ok("vm_status", json!({"vmid": vmid_of(&stopped)})).await;
    assert_eq!(st["status"], json!("stopped"));
    assert_eq!(st["node"], json!(s(&stopped, "node")));
    assert!(st.get("agent").is_none_or(Value::is_null), "{st}");

    // A container works through the same tool.
    let ct = sim_guests(&api, "lxc").await.remove(0);
    let st = h.ok("vm_status", json!({"vmid": vmid_of(&ct)})).await;
    assert_eq!(st["kind"], json!("lxc"));
    assert_eq!(st["node"], json!(s(&ct, "node")));
    assert_eq!(st["status"], json!(s(&ct, "status")));
    h.finish().await;
}

// ---------------------------------------------------------------------------------------------
// node_status / get_system_info

async fn node_status_shows_every_node_including_offline(p: Protocol) {
    let h = Harness::builder(p)
        .with_sim(|c| {
            c.faults = Faults {
                offline_nodes: vec!["pve3".into()],
                ..Faults::default()
            }
        })
        .start()
        .await;
    let all = h.ok("node_status", json!({})).await;
    let nodes = all["nodes"].as_array().expect("nodes");
    let names: Vec<&str> = nodes.iter().filter_map(|n| n["node"].as_str()).collect();
    assert_eq!(names, ["pve1", "pve2", "pve3"], "{all}");
    for n in nodes {
        let name = n["node"].as_str().unwrap();
        let online = name != "pve3";
        assert_eq!(n["online"], json!(online), "{name}: {n}");
        if online {
            assert!(n["cpus"].as_u64().is_some_and(|c| c > 0), "{name}: cpus");
            assert!(
                n["memory"]["total"].as_u64().is_some_and(|t| t > 0),
                "{name}: memory"
            );
            assert!(n["uptime"].as_u64().is_some(), "{name}: uptime");
        }
    }
    assert!(
        h.call("node_status", json!({}))
            .await
            .text()
            .contains("offline"),
        "the text names the offline node as offline"
    );

    // One node, compared with the sim's own report.
    let one = h.ok("node_status", json!({"node": "pve2"})).await;
    let nodes = one["nodes"].as_array().expect("nodes");
    assert_eq!(nodes.len(), 1, "{one}");
    let sim_status = h.sim.api().get("/nodes/pve2/status").await.unwrap();
    let n = &nodes[0];
    assert_eq!(n["node"], json!("pve2"));
    assert_eq!(n["online"], json!(true));
    assert_eq!(
        n["memory"]["total"], sim_status["memory"]["total"],
        "memory total: {n} vs {sim_status}"
    );
    assert_eq!(n["cpus"], sim_status["cpuinfo"]["cpus"]);

    // The offline node alone: reported offline (or a clear error naming it), never "online".
    let r = h.call("node_status", json!({"node": "pve3"})).await;
    if r.failed() {
        let t = r.text();
        assert!(t.contains("pve3"), "{t}");
    } else {
        assert_eq!(r.structured()["nodes"][0]["online"], json!(false));
    }
    h.finish().await;
}

async fn get_system_info_reports_cluster_quorum_and_totals(p: Protocol) {
    let h = Harness::start(p).await;
    let api = h.sim.api();
    let info = h.ok("get_system_info", json!({})).await;
    assert_eq!(info["cluster"], json!("sim-cluster"), "{info}");
    assert_eq!(info["quorate"], json!(true));
    let version = api.get("/version").await.unwrap();
    assert!(
        info["version"]
            .as_str()
            .is_some_and(|v| v.contains(version["version"].as_str().unwrap())),
        "version {} vs sim {version}",
        info["version"]
    );
    let nodes = info["nodes"].as_array().expect("nodes");
    assert_eq!(nodes.len(), 3, "node count: {info}");
    assert!(nodes.iter().all(|n| n["online"] == json!(true)));
    // Totals count templates apart from the guests.
    let is_template = |g: &Map<String, Value>| g.get("template").and_then(Value::as_u64) == Some(1);
    let vms = sim_guests(&api, "qemu").await;
    let cts = sim_guests(&api, "lxc").await;
    let templates = vms.iter().chain(&cts).filter(|g| is_template(g)).count();
    assert!(templates > 0, "the sim has templates");
    let (vms, cts): (Vec<_>, Vec<_>) = (
        vms.into_iter().filter(|g| !is_template(g)).collect(),
        cts.into_iter().filter(|g| !is_template(g)).collect(),
    );
    let t = &info["totals"];
    assert_eq!(t["vms"], json!(vms.len()), "{t}");
    assert_eq!(t["containers"], json!(cts.len()), "{t}");
    assert_eq!(t["templates"], json!(templates), "{t}");
    let running =
        |v: &[Map<String, Value>]| v.iter().filter(|g| s(g, "status") == "running").count();
    assert_eq!(t["vms_running"], json!(running(&vms)));
    assert_eq!(t["containers_running"], json!(running(&cts)));
    let cores: u64 = api
        .get_query("/cluster/resources", &[("type", "node")])
        .await
        .unwrap()
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|n| n["maxcpu"].as_u64())
        .sum();
    assert_eq!(t["cpu_cores"], json!(cores), "{t}");
    let text = h.call("get_system_info", json!({})).await.text();
    assert!(text.contains("sim-cluster"), "{text}");
    h.finish().await;
}

// ---------------------------------------------------------------------------------------------
// task_status

async fn task_status_waits_with_progress_and_log_tail(p: Protocol) {
    // A VM start takes 1.5 s here, so the wait really waits.
    let h = Harness::builder(p)
        .with_sim(|c| c.time_scale = 1.5)
        .start()
        .await;
    let api = h.sim.api();
    let vm = first_guest(&api, "qemu", "stopped").await;
    let (node, vmid) = (s(&vm, "node").to_string(), vmid_of(&vm));
    let upid = start_task(&api, &node, "qemu", vmid, "start").await;

    // Without wait: the current state, at once.
    let now = h.ok("task_status", json!({"upid": upid})).await;
    assert_eq!(now["upid"], json!(upid));
    assert_eq!(now["node"], json!(node));
    assert_eq!(now["type"], json!("qmstart"));
    assert_eq!(now["status"], json!("running"), "{now}");
    assert!(now.get("exitstatus").is_none_or(Value::is_null));

    // With wait: follows to the end with progress notifications.
    let t0 = Instant::now();
    let handle = h
        .mcp
        .start_call("task_status", json!({"upid": upid, "wait": 60}))
        .await;
    let token = handle.progress_token.clone();
    let r = h.mcp.finish_call(handle).await;
    r.ok("task_status wait");
    let done = r.structured();
    assert!(
        t0.elapsed() < Duration::from_secs(30),
        "it should finish long before the wait"
    );
    assert_eq!(done["status"], json!("stopped"), "{done}");
    let sim_status = api
        .get(&format!("/nodes/{node}/tasks/{upid}/status"))
        .await
        .unwrap();
    let exit = sim_status["exitstatus"]
        .as_str()
        .expect("sim exitstatus")
        .to_string();
    assert!(exit == "OK" || exit.starts_with("WARNINGS: "), "{exit}");
    assert_eq!(done["exitstatus"], json!(exit), "the sim's exit status");
    assert_eq!(
        done["success"],
        json!(true),
        "OK and WARNINGS both count as success"
    );
    assert_eq!(done["timed_out"], json!(false));
    let progress = h.mcp.progress(&token);
    assert!(
        !progress.is_empty(),
        "the client receives progress notifications while the server waits"
    );
    assert!(
        progress.windows(2).all(|w| w[1].progress >= w[0].progress),
        "progress increases"
    );

    // The log tail is the sim's log tail.
    let sim_log = api
        .get_query(
            &format!("/nodes/{node}/tasks/{upid}/log"),
            &[("start", "0"), ("limit", "500")],
        )
        .await
        .unwrap();
    let sim_lines: Vec<&str> = sim_log
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|l| l["t"].as_str())
        .collect();
    let log: Vec<&str> = done["log"]
        .as_array()
        .expect("log")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert!(!log.is_empty(), "log tail");
    assert_eq!(log, sim_lines[sim_lines.len() - log.len()..], "log tail");
    assert!(
        log.last().unwrap().contains(&format!("TASK {exit}")),
        "{log:?}"
    );
    let text = r.text();
    assert!(text.contains(&exit), "{text}");

    // The effect is real: the VM runs now, in the sim.
    let st = api
        .get(&format!("/nodes/{node}/qemu/{vmid}/status/current"))
        .await
        .unwrap();
    assert_eq!(st["status"], json!("running"));

    // log_lines limits the tail.
    let short = h
        .ok("task_status", json!({"upid": upid, "log_lines": 1}))
        .await;
    assert_eq!(short["log"].as_array().unwrap().len(), 1);
    h.finish().await;
}

// ---------------------------------------------------------------------------------------------
// proxmox_api

async fn proxmox_api_reads_and_accepts_params_as_json_string(p: Protocol) {
    let h = Harness::start(p).await;
    let api = h.sim.api();
    let version = api.get("/version").await.unwrap();
    for path in ["/version", "version", "/api2/json/version"] {
        let r = h
            .ok("proxmox_api", json!({"method": "GET", "path": path}))
            .await;
        assert_eq!(r["data"], version, "{path}");
        assert_eq!(r["path"], json!("/version"));
    }
    // method defaults to GET
    let r = h
        .ok("proxmox_api", json!({"path": "/cluster/status"}))
        .await;
    assert_eq!(r["data"], api.get("/cluster/status").await.unwrap());

    // params as an object and as a JSON string: only the nodes come back.
    for params in [json!({"type": "node"}), json!("{\"type\": \"node\"}")] {
        let r = h
            .ok(
                "proxmox_api",
                json!({"method": "GET", "path": "/cluster/resources", "params": params}),
            )
            .await;
        let data = r["data"].as_array().expect("array");
        assert_eq!(data.len(), 3, "params={params}: {data:?}");
        assert!(
            data.iter().all(|e| e["type"] == json!("node")),
            "params={params}"
        );
    }
    let q = h
        .sim
        .requests()
        .into_iter()
        .rfind(|r| r.path == "/api2/json/cluster/resources")
        .unwrap();
    assert_eq!(
        q.params.get("type"),
        Some(&json!("node")),
        "sent as a query parameter"
    );
    h.finish().await;
}

// ---------------------------------------------------------------------------------------------
// cancellation and concurrency

fn status_polls(h: &Harness, upid: &str) -> usize {
    h.sim
        .requests()
        .iter()
        .map(|r| e2e::decode_path(&r.path))
        .filter(|p| p.contains(upid) && p.ends_with("/status"))
        .count()
}

async fn cancellation_stops_a_task_wait(p: Protocol) {
    // A task that runs for minutes (time_scale 100).
    let h = Harness::builder(p)
        .with_sim(|c| c.time_scale = 100.0)
        .start()
        .await;
    let api = h.sim.api();
    let vm = first_guest(&api, "qemu", "stopped").await;
    let upid = start_task(&api, s(&vm, "node"), "qemu", vmid_of(&vm), "start").await;

    let handle = h
        .mcp
        .start_call("task_status", json!({"upid": upid, "wait": 300}))
        .await;
    let (id, token) = (handle.id.clone(), handle.progress_token.clone());
    // Wait until the server is demonstrably polling.
    let t0 = Instant::now();
    while status_polls(&h, &upid) < 3 {
        assert!(
            t0.elapsed() < Duration::from_secs(10),
            "the server never polled the task"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    h.mcp
        .peer()
        .notify_cancelled(CancelledNotificationParam::new(
            Some(id),
            Some("test cancels".into()),
        ))
        .await
        .expect("sending notifications/cancelled");
    tokio::time::sleep(Duration::from_millis(500)).await;
    let polls = status_polls(&h, &upid);
    let notes = h.mcp.progress(&token).len();
    // Uncancelled, the server polls at least once a second.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert_eq!(
        status_polls(&h, &upid),
        polls,
        "the server kept polling the task after notifications/cancelled"
    );
    assert_eq!(
        h.mcp.progress(&token).len(),
        notes,
        "progress after cancellation"
    );
    // The server does not answer a cancelled request (rmcp resolves it locally as Cancelled),
    // and stays healthy.
    let reply = tokio::time::timeout(Duration::from_millis(200), handle.await_response()).await;
    assert!(
        !matches!(reply, Ok(Ok(_))),
        "a cancelled request got a reply: {reply:?}"
    );
    h.ok("get_system_info", json!({})).await;
    h.finish().await;
}

async fn requests_are_served_concurrently(p: Protocol) {
    // Requests for one VM's status never answer; everything else is normal.
    let h = Harness::start(p).await;
    let api = h.sim.api();
    let vm = first_guest(&api, "qemu", "running").await;
    let hung = format!("/nodes/{}/qemu/{}/status", s(&vm, "node"), vmid_of(&vm));
    h.sim.set_faults(Faults {
        hang_paths: vec![hung.clone()],
        ..Faults::default()
    });
    let mut slow = h
        .mcp
        .start_call("vm_status", json!({"vmid": vmid_of(&vm)}))
        .await;
    let slow_id = slow.id.clone();
    tokio::time::sleep(Duration::from_millis(200)).await;

    // While that call hangs, others complete promptly: in parallel, and one after another.
    let t0 = Instant::now();
    let (a, b, c) = tokio::join!(
        h.call("list_vms", json!({})),
        h.call("get_system_info", json!({})),
        h.call("list_containers", json!({"status": "running"})),
    );
    for (what, r) in [
        ("list_vms", a),
        ("get_system_info", b),
        ("list_containers", c),
    ] {
        r.ok(what);
    }
    for _ in 0..5 {
        h.ok("node_status", json!({"node": "pve1"})).await;
    }
    let took = t0.elapsed();
    assert!(
        took < Duration::from_secs(5),
        "calls waited for the hung one ({took:?})"
    );
    assert!(
        matches!(slow.rx.try_recv(), Err(TryRecvError::Empty)),
        "the call on the hung path should still be pending"
    );
    h.mcp
        .peer()
        .notify_cancelled(CancelledNotificationParam::new(Some(slow_id), None))
        .await
        .unwrap();
    match tokio::time::timeout(Duration::from_millis(300), slow.await_response()).await {
        Err(_) | Ok(Err(ServiceError::Cancelled { .. })) => {}
        Ok(Ok(ServerResult::CallToolResult(r))) => {
            panic!("the hung call answered: {}", r.text())
        }
        Ok(other) => panic!("unexpected: {other:?}"),
    }
    h.sim.set_faults(Faults::default());
    h.finish().await;
}

// ---------------------------------------------------------------------------------------------
// other ways to trust the sim and to log in

/// The CA-file trust path, password (ticket) login and a read-only token all work end to end.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ca_file_password_and_auditor_token_work() {
    for (trust, auth, p) in [
        (Trust::CaFile, Auth::Admin, Protocol::Legacy),
        (Trust::Fingerprint, Auth::Password, Protocol::Modern),
        (Trust::CaFile, Auth::Auditor, Protocol::Modern),
    ] {
        let what = format!("{trust:?} + {auth:?}");
        let h = Harness::builder(p)
            .trust(trust)
            .auth(auth.clone())
            .start()
            .await;
        let want = sim_guests(&h.sim.api(), "qemu").await;
        let r = h.call("list_vms", json!({})).await;
        r.ok(&what);
        assert_eq!(ids(&rows(r.structured())), ids(&want), "{what}");
        let who: Vec<String> = h
            .sim
            .requests()
            .iter()
            .filter(|r| r.path == "/api2/json/cluster/resources" && r.status == 200)
            .map(|r| r.auth.clone())
            .collect();
        let expected = match auth {
            Auth::Admin => h.sim.admin().token_id.clone(),
            Auth::Auditor => h.sim.auditor().token_id.clone(),
            _ => h.sim.root_password().0,
        };
        assert!(
            who.iter().any(|w| w == &expected),
            "{what}: the sim saw {who:?}, expected {expected}"
        );
        h.finish().await;
    }
}
