//! The safety core end to end: the real binary, an rmcp client in both protocol revisions playing
//! the human, the simulated cluster, the audit log on disk and the operator's CLI.
//!
//! Every test checks the effect (or its absence) on the sim, not just the message.

use std::time::Duration;

use e2e::{Harness, Human, Protocol, ResultExt as _, Value, json, per_protocol};

per_protocol!(
    in_band_accept_runs_the_call,
    in_band_decline_changes_nothing,
    out_of_band_approval_runs_once_for_exact_arguments,
    root_protection_holds_in_normal_mode,
    read_only_mode_refuses_writes_but_reads,
    toggle_mode_safer_is_immediate_less_safe_asks,
    execute_vm_command_reads_run_and_writes_ask,
    explain_agrees_with_execution,
    bad_input_is_refused_and_audited,
);

// ---------------------------------------------------------------------------------------------
// helpers

/// A stopped, non-template VM of the sim: (node, vmid).
async fn stopped_vm(h: &Harness) -> (String, u64) {
    let vms = e2e::sim::guests(&h.sim.api(), "qemu").await;
    let g = vms
        .iter()
        .find(|g| g["status"] == json!("stopped") && g.get("template") != Some(&json!(1)))
        .expect("the sim has a stopped VM");
    (
        g["node"].as_str().unwrap().to_string(),
        g["vmid"].as_u64().unwrap(),
    )
}

/// A running VM with the guest agent enabled: (node, vmid, name).
async fn agent_vm(h: &Harness) -> (String, u64, String) {
    let api = h.sim.api();
    for g in e2e::sim::guests(&api, "qemu").await {
        if g["status"] != json!("running") {
            continue;
        }
        let node = g["node"].as_str().unwrap().to_string();
        let vmid = g["vmid"].as_u64().unwrap();
        let cfg = api
            .get(&format!("/nodes/{node}/qemu/{vmid}/config"))
            .await
            .unwrap();
        let agent = cfg.get("agent").map(|a| a.to_string()).unwrap_or_default();
        if agent.contains('1') {
            let name = g["name"].as_str().unwrap_or_default().to_string();
            return (node, vmid, name);
        }
    }
    panic!("the sim has no running VM with the agent on");
}

async fn vm_status(h: &Harness, node: &str, vmid: u64) -> String {
    let s = h
        .sim
        .api()
        .get(&format!("/nodes/{node}/qemu/{vmid}/status/current"))
        .await
        .unwrap();
    s["status"].as_str().unwrap_or_default().to_string()
}

fn start_args(node: &str, vmid: u64) -> Value {
    json!({"method": "POST", "path": format!("/nodes/{node}/qemu/{vmid}/status/start")})
}

/// The approval id in an out-of-band message.
fn approval_id(msg: &str) -> String {
    let at = msg
        .find("proxmox-mcp approve ")
        .unwrap_or_else(|| panic!("no approval id in: {msg}"));
    msg[at + "proxmox-mcp approve ".len()..][..10].to_string()
}

/// The final audit record of the last call to `tool`.
fn last_record(h: &Harness, tool: &str) -> Value {
    h.audit()
        .into_iter()
        .rev()
        .find(|r| r["tool"] == json!(tool) && r["result"] != json!("started"))
        .unwrap_or_else(|| panic!("no audit record for {tool}"))
}

async fn wait_for_status(h: &Harness, node: &str, vmid: u64, want: &str) {
    for _ in 0..100 {
        if vm_status(h, node, vmid).await == want {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("VM {vmid} never became {want}");
}

// ---------------------------------------------------------------------------------------------
// confirmation

async fn in_band_accept_runs_the_call(p: Protocol) {
    let h = Harness::builder(p).human(Human::Accept).start().await;
    let (node, vmid) = stopped_vm(&h).await;
    let r = h.ok("proxmox_api", start_args(&node, vmid)).await;
    assert!(r["upid"].as_str().unwrap().starts_with("UPID:"), "{r}");
    wait_for_status(&h, &node, vmid, "running").await;

    let asked = h.mcp.asked();
    assert_eq!(asked.len(), 1, "{asked:?}");
    assert!(
        asked[0].contains(&format!("POST /nodes/{node}/qemu/{vmid}/status/start")),
        "{}",
        asked[0]
    );
    let rec = last_record(&h, "proxmox_api");
    assert_eq!(rec["decision"], "confirmed", "{rec}");
    assert_eq!(rec["class"], "lifecycle");
    assert_eq!(rec["upid"], r["upid"]);
    // The start was on disk before it ran.
    assert!(
        h.audit()
            .iter()
            .any(|r| r["tool"] == "proxmox_api" && r["result"] == "started"),
        "no intent record"
    );
    h.finish().await;
}

async fn in_band_decline_changes_nothing(p: Protocol) {
    let h = Harness::builder(p).human(Human::Decline).start().await;
    let (node, vmid) = stopped_vm(&h).await;
    for human in [Human::Decline, Human::Cancel, Human::AcceptUnticked] {
        h.mcp.set_human(human);
        let msg = h.err("proxmox_api", start_args(&node, vmid)).await;
        assert!(msg.contains("said no"), "{human:?}: {msg}");
        assert_eq!(last_record(&h, "proxmox_api")["decision"], "declined");
    }
    assert!(h.writes().is_empty(), "{:?}", h.writes());
    assert_eq!(vm_status(&h, &node, vmid).await, "stopped");
    assert_eq!(h.mcp.asked().len(), 3);
    h.finish().await;
}

async fn out_of_band_approval_runs_once_for_exact_arguments(p: Protocol) {
    let h = Harness::start(p).await;
    let (node, vmid) = stopped_vm(&h).await;
    let args = start_args(&node, vmid);
    let msg = h.err("proxmox_api", args.clone()).await;
    let id = approval_id(&msg);
    assert_eq!(last_record(&h, "proxmox_api")["decision"], "pending");

    let with_id = |mut a: Value| {
        a["approval_id"] = json!(id);
        a
    };
    let pending = h.err("proxmox_api", with_id(args.clone())).await;
    assert!(pending.contains("still pending"), "{pending}");

    let listed = h.cli(&["approvals"]);
    assert!(String::from_utf8_lossy(&listed.stdout).contains(&id));
    let approved = h.cli(&["approve", &id]);
    assert!(approved.status.success(), "{approved:?}");

    // Another VM with the same approval: refused, nothing runs.
    let other = start_args(&node, vmid + 1);
    let msg = h.err("proxmox_api", with_id(other)).await;
    assert!(msg.contains("other arguments"), "{msg}");
    assert!(h.writes().is_empty());

    let r = h.ok("proxmox_api", with_id(args.clone())).await;
    assert!(r["upid"].as_str().is_some());
    assert_eq!(last_record(&h, "proxmox_api")["decision"], "confirmed");
    assert_eq!(h.writes().len(), 1, "{:?}", h.writes());

    let reused = h.err("proxmox_api", with_id(args.clone())).await;
    assert!(reused.contains("already used"), "{reused}");
    assert_eq!(h.writes().len(), 1);

    // A denied one never runs.
    let msg = h.err("proxmox_api", start_args(&node, vmid + 2)).await;
    let denied = approval_id(&msg);
    assert!(h.cli(&["deny", &denied]).status.success());
    let mut a = start_args(&node, vmid + 2);
    a["approval_id"] = json!(denied);
    assert!(h.err("proxmox_api", a).await.contains("denied"));
    assert_eq!(h.writes().len(), 1);
    // The operator's decisions are audited too.
    let ops: Vec<Value> = h
        .audit()
        .into_iter()
        .filter(|r| r["transport"] == "cli")
        .collect();
    assert_eq!(ops.len(), 2, "{ops:?}");
    h.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_approval_is_refused() {
    let h = Harness::builder(Protocol::Modern)
        .env("PROXMOX_MCP_APPROVAL_TTL_SECS", "1")
        .start()
        .await;
    let (node, vmid) = stopped_vm(&h).await;
    let args = start_args(&node, vmid);
    let id = approval_id(&h.err("proxmox_api", args.clone()).await);
    assert!(h.cli(&["approve", &id]).status.success());
    tokio::time::sleep(Duration::from_millis(1300)).await;
    let mut a = args;
    a["approval_id"] = json!(id);
    let msg = h.err("proxmox_api", a).await;
    assert!(msg.contains("expired"), "{msg}");
    assert!(h.writes().is_empty());
    h.finish().await;
}

// ---------------------------------------------------------------------------------------------
// root protection, modes

async fn root_protection_holds_in_normal_mode(p: Protocol) {
    let h = Harness::builder(p)
        .mode("normal")
        .human(Human::Accept)
        .start()
        .await;
    let own = h.sim.admin().token_id.clone();
    let (user, token) = own.split_once('!').unwrap();
    let attempts = [
        json!({"method": "PUT", "path": "/access/users/root@pam", "params": {"comment": "x"}}),
        json!({"method": "DELETE", "path": "/access/users/root%40pam"}),
        json!({"method": "PUT", "path": "/api2/json//access/users/ROOT@PAM/", "params": {"enable": 0}}),
        json!({"method": "PUT", "path": "/access/password", "params": {"userid": "root@pam", "password": "hunter2hunter2"}}),
        json!({"method": "PUT", "path": "/access/acl", "params": {"path": "/", "roles": "NoAccess", "users": "root@pam"}}),
        json!({"method": "DELETE", "path": format!("/access/users/{user}/token/{token}")}),
        json!({"method": "PUT", "path": "/access/acl", "params": {"path": "/", "roles": "Administrator", "tokens": own}}),
    ];
    for a in attempts {
        let msg = h.err("proxmox_api", a.clone()).await;
        assert!(msg.contains("Root protection"), "{a}: {msg}");
        assert_eq!(last_record(&h, "proxmox_api")["decision"], "refused");
    }
    // Same through a shell command, even before any executor is consulted.
    let msg = h
        .err(
            "execute_command",
            json!({"node": "pve1", "command": "pveum user delete root@pam"}),
        )
        .await;
    assert!(msg.contains("Root protection"), "{msg}");
    assert!(h.mcp.asked().is_empty(), "nobody may be asked to lift it");
    assert!(h.writes().is_empty(), "{:?}", h.writes());
    h.finish().await;
}

async fn read_only_mode_refuses_writes_but_reads(p: Protocol) {
    let h = Harness::builder(p)
        .mode("read-only")
        .human(Human::Accept)
        .start()
        .await;
    let (node, vmid) = stopped_vm(&h).await;
    let msg = h.err("proxmox_api", start_args(&node, vmid)).await;
    assert!(msg.contains("read-only"), "{msg}");
    assert!(h.mcp.asked().is_empty());
    h.ok("proxmox_api", json!({"path": "/version"})).await;
    h.ok("list_vms", json!({})).await;
    let names: Vec<String> = h
        .mcp
        .tools()
        .await
        .iter()
        .map(|t| t.name.to_string())
        .collect();
    for t in &e2e::tools_hidden_in_read_only() {
        assert!(!names.contains(t), "{t} is listed in read-only mode");
    }
    assert!(names.contains(&"toggle_mode".to_string()));
    assert!(h.writes().is_empty());
    h.finish().await;
}

async fn toggle_mode_safer_is_immediate_less_safe_asks(p: Protocol) {
    let h = Harness::builder(p)
        .mode("normal")
        .human(Human::Decline)
        .start()
        .await;
    let r = h.ok("toggle_mode", json!({})).await;
    assert_eq!(r["mode"], "normal");
    let r = h.ok("toggle_mode", json!({"mode": "safe"})).await;
    assert_eq!(r["changed"], true);
    assert!(h.mcp.asked().is_empty(), "safer needs nobody");
    if p == Protocol::Legacy {
        // A client with a session hears that the tool list changed.
        for _ in 0..50 {
            if h.mcp.list_changed() > 0 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert_eq!(h.mcp.list_changed(), 1);
    }
    let msg = h.err("toggle_mode", json!({"mode": "normal"})).await;
    assert!(msg.contains("said no"), "{msg}");
    assert_eq!(h.ok("toggle_mode", json!({})).await["mode"], "safe");
    // Even read-only can be left, but only with a human's yes.
    h.ok("toggle_mode", json!({"mode": "read-only"})).await;
    h.mcp.set_human(Human::Accept);
    let r = h.ok("toggle_mode", json!({"mode": "normal"})).await;
    assert_eq!(
        (r["mode"].clone(), r["previous"].clone()),
        (json!("normal"), json!("read-only"))
    );
    let out = h.cli(&["mode"]);
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "normal");
    let msg = h.err("toggle_mode", json!({"mode": "yolo"})).await;
    assert!(msg.contains("unknown mode"), "{msg}");
    h.finish().await;
}

// ---------------------------------------------------------------------------------------------
// execution

async fn execute_vm_command_reads_run_and_writes_ask(p: Protocol) {
    let h = Harness::start(p).await;
    let (_node, vmid, name) = agent_vm(&h).await;
    let r = h
        .ok(
            "execute_vm_command",
            json!({"vmid": vmid, "command": ["cat", "/etc/hostname"]}),
        )
        .await;
    assert_eq!(r["stdout"], format!("{name}\n"));
    assert_eq!(r["exit_code"], 0);
    assert_eq!(r["success"], true);
    assert_eq!(r["mode"], "safe");
    for key in [
        "stderr",
        "execution_time",
        "timestamp",
        "explanation",
        "warnings",
        "suggestions",
    ] {
        assert!(r.get(key).is_some(), "{key} missing in {r}");
    }
    let r = h
        .ok(
            "execute_vm_command",
            json!({"vmid": vmid, "command": "cat /etc/missing"}),
        )
        .await;
    assert_eq!(
        (r["exit_code"].clone(), r["success"].clone()),
        (json!(1), json!(false))
    );
    // A shell runs whatever its script says: never a proven read, even `exit 3`.
    let msg = h
        .err(
            "execute_vm_command",
            json!({"vmid": vmid, "command": "sh -c 'exit 3'"}),
        )
        .await;
    assert!(msg.contains("proxmox-mcp approve"), "{msg}");

    let before = h.writes().len();
    let msg = h
        .err(
            "execute_vm_command",
            json!({"vmid": vmid, "command": ["rm", "-rf", "/var/lib/important"]}),
        )
        .await;
    assert!(msg.contains("proxmox-mcp approve"), "{msg}");
    assert_eq!(h.writes().len(), before, "nothing may reach the agent");
    h.finish().await;
}

/// Explaining a command or API call predicts exactly what running it does, in the mode in force.
async fn explain_agrees_with_execution(p: Protocol) {
    let h = Harness::builder(p)
        .mode("normal")
        .env("PROXMOX_MCP_EXECUTOR", "local")
        .env("PROXMOX_MCP_LOCAL_NODE", "pve1")
        .start()
        .await;
    let touch = format!("touch {}/created", h.dir.path().display());
    let commands = [
        "echo hello",
        "df -h /",
        "qm list",
        "qm stop 100",
        "qm destroy 101 --purge",
        touch.as_str(),
        "pveum user delete root@pam",
        "cat /etc/pve/priv/authkey.key",
        "echo $(printf cm0gLXJmIC8= | base64 -d) | sh",
    ];
    for c in commands {
        let ex = h.ok("explain_command", json!({"command": c})).await;
        let predicted = ex["decisions"]["normal"]["decision"]
            .as_str()
            .unwrap()
            .to_string();
        for m in ["read-only", "safe", "normal"] {
            assert!(ex["decisions"][m]["decision"].is_string(), "{c}: {ex}");
        }
        let r = h
            .call("execute_command", json!({"node": "pve1", "command": c}))
            .await;
        let happened = if !r.failed() {
            "allow"
        } else if r.text().contains("proxmox-mcp approve") {
            "confirm"
        } else {
            "refuse"
        };
        assert_eq!(
            predicted,
            happened,
            "{c}: explain said {predicted}, running did {}",
            r.text()
        );
    }
    let (node, vmid) = stopped_vm(&h).await;
    let calls = [
        json!({"method": "GET", "path": "/cluster/resources"}),
        start_args(&node, vmid),
        json!({"method": "DELETE", "path": format!("/nodes/{node}/qemu/{vmid}")}),
        json!({"method": "PUT", "path": "/access/users/root@pam", "params": {"comment": "x"}}),
    ];
    for c in calls {
        let ex = h.ok("explain_command", c.clone()).await;
        let predicted = ex["decisions"]["normal"]["decision"]
            .as_str()
            .unwrap()
            .to_string();
        let r = h.call("proxmox_api", c.clone()).await;
        let happened = if !r.failed() {
            "allow"
        } else if r.text().contains("proxmox-mcp approve") {
            "confirm"
        } else {
            "refuse"
        };
        assert_eq!(predicted, happened, "{c}: {}", r.text());
    }
    h.finish().await;
}

async fn bad_input_is_refused_and_audited(p: Protocol) {
    let h = Harness::builder(p)
        .mode("normal")
        .env("PROXMOX_MCP_EXECUTOR", "local")
        .env("PROXMOX_MCP_LOCAL_NODE", "pve1")
        .start()
        .await;
    let marker = h.dir.path().join("must-not-exist");
    let touch = format!("touch {}", marker.display());
    let huge = format!("{touch}; echo {}", "a".repeat(64 * 1024));
    let cases = [
        (
            "execute_command",
            json!({"node": "pve1", "command": huge}),
            "limit",
        ),
        (
            "execute_command",
            json!({"node": "pve1", "command": format!("{touch}\u{0}")}),
            "NUL",
        ),
        (
            "execute_command",
            json!({"node": "pve1; rm -rf /", "command": "true"}),
            "node",
        ),
        (
            "execute_command",
            json!({"node": "pve1", "command": "true", "timeout": 601}),
            "timeout",
        ),
        (
            "execute_command",
            json!({"node": "pve1", "command": 42}),
            "command",
        ),
        (
            "execute_vm_command",
            json!({"vmid": "100; rm -rf /", "command": ["true"]}),
            "vmid",
        ),
        ("toggle_mode", json!({"mode": "../normal"}), "unknown mode"),
        (
            "proxmox_api",
            json!({"method": "POST", "path": "/nodes/pve1/qemu/100/status/start", "approval_id": "../../etc/passwd"}),
            "malformed",
        ),
        (
            "proxmox_api",
            json!({"method": "POST", "path": "/nodes/pve1/qemu/100/status/start", "approval_id": 12}),
            "approval_id",
        ),
        (
            "proxmox_api",
            json!({"method": "DELETE", "path": "/nodes/../../etc"}),
            "path",
        ),
    ];
    for (tool, args, want) in cases {
        let before = h.audit().len();
        let msg = h.err(tool, args.clone()).await;
        assert!(
            msg.to_lowercase().contains(&want.to_lowercase()),
            "{tool} {}: {msg}",
            e2e::truncate(&args.to_string(), 200)
        );
        let after = h.audit();
        assert!(after.len() > before, "{tool}: no audit record");
        let rec = after.last().unwrap();
        assert!(
            rec["decision"] == "refused" || rec["decision"] == "failed",
            "{rec}"
        );
    }
    assert!(!marker.exists(), "a refused command ran");
    assert!(h.writes().is_empty(), "{:?}", h.writes());
    assert_eq!(h.ok("toggle_mode", json!({})).await["mode"], "normal");
    h.finish().await;
}

// ---------------------------------------------------------------------------------------------
// audit log, history

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn history_audit_verify_and_no_secrets() {
    let h = Harness::builder(Protocol::Modern)
        .human(Human::Decline)
        .start()
        .await;
    let secret = "Hunter2-Secret-Password-0815";
    h.ok("list_vms", json!({})).await;
    h.err(
        "proxmox_api",
        json!({"method": "POST", "path": "/access/users",
               "params": {"userid": "bob@pve", "password": secret}}),
    )
    .await;
    let ex = h
        .ok(
            "explain_command",
            json!({"command": format!("pveum passwd bob@pve --password {secret}")}),
        )
        .await;
    assert!(
        !ex.to_string().contains(secret),
        "explain echoed the secret: {ex}"
    );
    h.err("toggle_mode", json!({"mode": "normal"})).await;

    let all = h.ok("get_command_history", json!({})).await;
    assert!(all["matched"].as_u64().unwrap() >= 4, "{all}");
    assert!(
        all["summary"].as_str().unwrap().contains("declined"),
        "{all}"
    );
    let declined = h
        .ok(
            "get_command_history",
            json!({"decision": "declined", "since": "1h"}),
        )
        .await;
    let entries = declined["entries"].as_array().unwrap();
    assert_eq!(entries.len(), 2, "{declined}");
    assert!(entries.iter().all(|e| e["decision"] == "declined"));
    let page = h.ok("get_command_history", json!({"limit": 1})).await;
    assert_eq!(page["entries"].as_array().unwrap().len(), 1);
    let next = page["next_cursor"].as_u64().expect("a next page");
    let page2 = h
        .ok("get_command_history", json!({"limit": 1, "cursor": next}))
        .await;
    assert!(page2["entries"][0]["seq"].as_u64().unwrap() < next);
    let text = h
        .ok(
            "get_command_history",
            json!({"text": "bob@pve", "tool": "proxmox_api"}),
        )
        .await;
    // 2026-07-28: the asking round (pending) and the answered retry (declined).
    let decisions: Vec<&Value> = text["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| &e["decision"])
        .collect();
    assert_eq!(decisions, [&json!("declined"), &json!("pending")], "{text}");

    // No secret anywhere in the state directory (audit log, approvals).
    let state = h.dir.path().join("state");
    for f in walk(&state) {
        let bytes = std::fs::read(&f).unwrap();
        assert!(
            !String::from_utf8_lossy(&bytes).contains(secret),
            "{} holds the secret",
            f.display()
        );
    }

    let ok = h.cli(&["audit", "verify"]);
    assert!(ok.status.success(), "{ok:?}");
    assert!(String::from_utf8_lossy(&ok.stdout).contains("intact"));
    // Tamper with one record: verify must say so and fail.
    let day = walk(&state.join("audit"))
        .into_iter()
        .find(|p| p.extension().is_some_and(|e| e == "jsonl"))
        .unwrap();
    let text = std::fs::read_to_string(&day).unwrap();
    std::fs::write(&day, text.replacen("\"declined\"", "\"allowed\"", 1)).unwrap();
    let bad = h.cli(&["audit", "verify"]);
    assert_eq!(bad.status.code(), Some(1), "{bad:?}");
    assert!(String::from_utf8_lossy(&bad.stdout).contains("TAMPERED"));
    h.finish().await;
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}

/// `execute_command` through the MCP server to a real sshd on 127.0.0.1 (the SSH executor).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn execute_command_over_ssh_follows_the_policy() {
    let Some(sshd) = e2e::sshd::Sshd::start() else {
        return;
    };
    let h = Harness::builder(Protocol::Modern)
        .mode("normal")
        .env("PROXMOX_MCP_EXECUTOR", "ssh")
        .env("PROXMOX_MCP_SSH_USER", sshd.user.clone())
        .env("PROXMOX_MCP_SSH_PORT", sshd.port.to_string())
        .env("PROXMOX_MCP_SSH_KEY", sshd.key.display().to_string())
        .env(
            "PROXMOX_MCP_SSH_KNOWN_HOSTS",
            sshd.known_hosts.display().to_string(),
        )
        .env("PROXMOX_MCP_SSH_HOSTS", "pve1=127.0.0.1")
        .start()
        .await;
    let r = h
        .ok(
            "execute_command",
            json!({"node": "pve1", "command": "echo via-ssh; id -un; echo oops >&2"}),
        )
        .await;
    assert_eq!(
        r["stdout"],
        format!("via-ssh\n{}\n", sshd.user),
        "{r}\n{}",
        sshd.log()
    );
    assert_eq!(r["stderr"], "oops\n");
    assert_eq!(r["exit_code"], 0);
    assert!(r["target"].as_str().unwrap().contains("ssh"), "{r}");
    let rec = last_record(&h, "execute_command");
    assert_eq!(
        (rec["decision"].clone(), rec["result"].clone()),
        (json!("allowed"), json!("exit 0"))
    );

    // A modify runs in normal mode; a destructive one waits for a human and changes nothing.
    let file = h.dir.path().join("made-over-ssh");
    let r = h
        .ok(
            "execute_command",
            json!({"node": "pve1", "command": format!("touch {}", file.display())}),
        )
        .await;
    assert_eq!(r["class"], "modify");
    assert!(file.exists());
    let msg = h
        .err(
            "execute_command",
            json!({"node": "pve1", "command": format!("rm -rf {}", file.display())}),
        )
        .await;
    assert!(msg.contains("proxmox-mcp approve"), "{msg}");
    assert!(file.exists(), "a destructive command ran without a human");
    // Timeout: killed, partial output kept, reported.
    let r = h
        .ok(
            "execute_command",
            json!({"node": "pve1", "command": "echo started; sleep 8", "timeout": 2}),
        )
        .await;
    assert_eq!(r["success"], false);
    assert!(r["warnings"].to_string().contains("timed out"), "{r}");
    h.finish().await;
}

/// Destructive actions on protected guests are refused in every mode, without asking anyone:
/// by the configured vmid list, by tag, and by PVE's own protection flag.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn protected_guests_refuse_destructive_actions() {
    let h = Harness::builder(Protocol::Modern)
        .mode("normal")
        .human(Human::Accept)
        .env("PROXMOX_MCP_PROTECTED_VMIDS", "105")
        .start()
        .await;
    let api = h.sim.api();
    let vms = e2e::sim::guests(&api, "qemu").await;
    let at = |i: usize| {
        (
            vms[i]["node"].as_str().unwrap().to_string(),
            vms[i]["vmid"].as_u64().unwrap(),
        )
    };
    let listed = vms
        .iter()
        .position(|g| g["vmid"] == json!(105))
        .expect("the sim has VM 105");
    let (tagged, flagged, ordinary) = (
        (0..vms.len()).find(|&i| i != listed).unwrap(),
        (0..vms.len()).rev().find(|&i| i != listed).unwrap(),
        (1..vms.len()).find(|&i| i != listed).unwrap(),
    );
    let (n, v) = at(tagged);
    api.post(
        &format!("/nodes/{n}/qemu/{v}/config"),
        &[("tags", "Protected;web")],
    )
    .await
    .unwrap();
    let (n, v) = at(flagged);
    api.post(
        &format!("/nodes/{n}/qemu/{v}/config"),
        &[("protection", "1")],
    )
    .await
    .unwrap();
    // Both are async config tasks: wait until the sim shows them.
    for (i, key) in [(tagged, "tags"), (flagged, "protection")] {
        let (n, v) = at(i);
        let mut seen = false;
        for _ in 0..200 {
            let cfg = api
                .get(&format!("/nodes/{n}/qemu/{v}/config"))
                .await
                .unwrap();
            if cfg.get(key).is_some() {
                seen = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert!(seen, "{key} of {v} never showed");
    }
    h.sim.clear_requests();
    for (i, why) in [
        (listed, "configured list"),
        (tagged, "protected tag"),
        (flagged, "protection flag"),
    ] {
        let (n, v) = at(i);
        let msg = h
            .err(
                "proxmox_api",
                json!({"method": "DELETE", "path": format!("/nodes/{n}/qemu/{v}")}),
            )
            .await;
        assert!(msg.contains(why), "{v}: {msg}");
        // Lifting the protection is itself destructive, so it is refused as well.
        let msg = h
            .err(
                "proxmox_api",
                json!({"method": "PUT", "path": format!("/nodes/{n}/qemu/{v}/config"),
                       "params": {"delete": "protection,tags"}}),
            )
            .await;
        assert!(msg.contains(why), "{v}: {msg}");
    }
    assert!(
        h.mcp.asked().is_empty(),
        "nobody may be asked to lift a protection"
    );
    assert!(h.writes().is_empty(), "{:?}", h.writes());
    // An ordinary guest: the hard stop and the same DELETE each ask a human (who accepts
    // here), then run.
    let (n, v) = at(ordinary);
    h.call(
        "proxmox_api",
        json!({"method": "POST", "path": format!("/nodes/{n}/qemu/{v}/status/stop")}),
    )
    .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    h.ok(
        "proxmox_api",
        json!({"method": "DELETE", "path": format!("/nodes/{n}/qemu/{v}")}),
    )
    .await;
    assert_eq!(h.mcp.asked().len(), 2);
    h.finish().await;
}

/// With the PVE API schema configured, explanations of API calls carry its descriptions.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn explain_uses_the_api_schema() {
    let Some(schema) = e2e::schema_path() else {
        eprintln!("SKIPPED explain_uses_the_api_schema: no API schema beside the repository");
        return;
    };
    let h = Harness::builder(Protocol::Legacy)
        .env("PROXMOX_MCP_API_SCHEMA", schema.display().to_string())
        .start()
        .await;
    let ex = h
        .ok(
            "explain_command",
            json!({"method": "POST", "path": "/nodes/pve1/qemu/100/status/start",
                   "params": {"timeout": 30}}),
        )
        .await;
    assert_eq!(
        ex["api"]["endpoint"], "POST /nodes/{node}/qemu/{vmid}/status/start",
        "{ex}"
    );
    assert!(
        ex["api"]["description"].as_str().unwrap().contains("Start"),
        "{ex}"
    );
    assert!(ex["api"]["params"]["timeout"].is_string(), "{ex}");
    assert!(ex["api"]["permissions"].is_string(), "{ex}");
    assert_eq!(ex["class"], "lifecycle");
    assert_eq!(ex["decisions"]["safe"]["decision"], "confirm");
    assert_eq!(ex["decisions"]["read-only"]["decision"], "refuse");
    h.finish().await;
}

/// An approval covers the guests a human saw: when a tag selector matches other guests by the
/// time the call is retried, the approval no longer fits and nothing runs.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_approval_does_not_cover_a_changed_selection() {
    let h = Harness::start(Protocol::Modern).await;
    let api = h.sim.api();
    let vms = e2e::sim::guests(&api, "qemu").await;
    let stopped: Vec<(String, u64)> = vms
        .iter()
        .filter(|g| g["status"] == json!("stopped") && g.get("template") != Some(&json!(1)))
        .map(|g| {
            (
                g["node"].as_str().unwrap().to_string(),
                g["vmid"].as_u64().unwrap(),
            )
        })
        .take(2)
        .collect();
    let ((n1, v1), (n2, v2)) = (stopped[0].clone(), stopped[1].clone());
    tag_vm(&api, &n1, v1, "batch").await;
    let args = json!({"action": "start", "tag": "batch", "wait": 0});
    let msg = h.err("vm_action", args.clone()).await;
    assert!(
        msg.contains(&v1.to_string()),
        "the human sees the guest: {msg}"
    );
    let id = approval_id(&msg);
    assert!(h.cli(&["approve", &id]).status.success());
    // Another guest joins the selection before the retry.
    tag_vm(&api, &n2, v2, "batch").await;
    h.sim.clear_requests();
    let mut retry = args.clone();
    retry["approval_id"] = json!(id);
    let msg = h.err("vm_action", retry).await;
    assert!(msg.contains("other arguments"), "{msg}");
    assert!(h.writes().is_empty(), "{:?}", h.writes());
    h.finish().await;
}

/// Sets a VM's tags on the sim (an async config task) and waits until the cluster shows them.
async fn tag_vm(api: &e2e::ApiClient, node: &str, vmid: u64, tags: &str) {
    api.post(
        &format!("/nodes/{node}/qemu/{vmid}/config"),
        &[("tags", tags)],
    )
    .await
    .unwrap();
    for _ in 0..200 {
        let done = e2e::sim::guests(api, "qemu")
            .await
            .iter()
            .any(|g| g["vmid"] == json!(vmid) && g["tags"].as_str() == Some(tags));
        if done {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("the tags of {vmid} never changed");
}
