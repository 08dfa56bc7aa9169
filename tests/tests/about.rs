//! `get_mcp_info`, `help_llm`, the `[tools]` allow and deny lists, and the MCP resources and
//! prompts, against the real binary over stdio in both protocol revisions.

use std::collections::BTreeSet;

use e2e::{Harness, Human, Mcp, Protocol, ResultExt as _, Value, binary, isolation_env, json};
use e2e::{object, per_protocol};
use rmcp::ServiceError;
use rmcp::model::{ErrorCode, GetPromptRequestParams, ReadResourceRequestParams, ResourceContents};

per_protocol!(
    info_reports_build_sources_transport_and_clusters,
    help_llm_answers_each_category,
    allow_list_offers_exactly_those_tools,
    deny_removes_a_group_everywhere,
    unknown_tool_name_stops_the_server,
    resources_list_and_read,
    prompts_list_and_get,
    behind_the_bridge,
);

/// A secret that must never come back from the server.
const OTHER_SECRET: &str = "0badc0de-1111-2222-3333-444455556666";

/// The first cluster is the sim (its URL and token come from the environment); the second,
/// with a clear-text secret in the file, listens nowhere.
fn two_clusters() -> String {
    format!(
        "[policy]\napproval_ttl_secs = 120\n\n\
         [[cluster]]\nname = \"sim\"\nurl = \"https://placeholder:8006\"\n\n\
         [[cluster]]\nname = \"other\"\nurl = \"https://127.0.0.1:9\"\n\
         token_id = \"x@pve!y\"\ntoken_secret = \"{OTHER_SECRET}\"\n"
    )
}

fn setting<'a>(info: &'a Value, name: &str) -> &'a Value {
    info["settings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == name)
        .unwrap_or_else(|| panic!("no setting {name} in {:#}", info["settings"]))
}

async fn info_reports_build_sources_transport_and_clusters(protocol: Protocol) {
    let h = Harness::builder(protocol)
        .config(two_clusters())
        .env("PROXMOX_MCP_AUDIT_RETENTION_DAYS", "3")
        .start()
        .await;
    let r = h.call("get_mcp_info", json!({})).await;
    r.ok("get_mcp_info");
    let info = r.structured().clone();
    let commit = info["commit"].as_str().unwrap();
    assert!(
        commit.len() >= 7 && commit.chars().all(|c| c.is_ascii_hexdigit()),
        "commit {commit:?} (built inside a git tree)"
    );
    let date = info["build_date"].as_str().unwrap();
    assert!(date.len() == 10 && date.as_bytes()[4] == b'-', "{date}");
    assert_eq!(info["version"], env!("CARGO_PKG_VERSION"));
    // The binary under test sits in this git tree's target/.
    assert_eq!(info["install_method"], "git");
    assert_eq!(info["transport"], "stdio");
    assert!(info["client"].as_str().unwrap().starts_with("e2e-tests/"));
    assert_eq!(info["mode"], "safe");
    assert!(info["config_file"].as_str().unwrap().ends_with(".toml"));

    for (name, from, value) in [
        ("policy.approval_ttl_secs", "file", "120"),
        ("audit.retention_days", "env", "3"),
        ("policy.protected_tags", "default", "protected"),
        ("cluster.sim.url", "env", ""),
        ("cluster.other.url", "file", "https://127.0.0.1:9"),
        ("cluster.other.token_secret", "file", "****"),
        ("cluster.sim.token_secret", "env", "****"),
    ] {
        let s = setting(&info, name);
        assert_eq!(s["from"], from, "{name}: {s}");
        if !value.is_empty() {
            assert_eq!(s["value"], value, "{name}: {s}");
        }
    }
    assert_eq!(
        setting(&info, "audit.retention_days")["var"],
        "PROXMOX_MCP_AUDIT_RETENTION_DAYS"
    );
    let everything = format!("{}{info}", r.text());
    assert!(
        !everything.contains(OTHER_SECRET),
        "the file's secret leaked"
    );
    let sim_secret = h.sim.admin().secret.clone();
    assert!(!everything.contains(&sim_secret), "the env secret leaked");

    let clusters = info["clusters"].as_array().unwrap();
    assert_eq!(clusters.len(), 2, "{clusters:?}");
    assert!(clusters[0]["pve_version"].is_string(), "{}", clusters[0]);
    assert!(
        clusters[1]["status"]
            .as_str()
            .unwrap()
            .starts_with("unreachable"),
        "{}",
        clusters[1]
    );
    let groups: Vec<&str> = info["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["group"].as_str().unwrap())
        .collect();
    assert!(
        groups.contains(&"guests") && groups.contains(&"server"),
        "{groups:?}"
    );
    assert_eq!(
        info["tools_offered"].as_u64().unwrap() as usize,
        h.mcp.tools().await.len()
    );
    h.finish().await;
}

async fn help_llm_answers_each_category(protocol: Protocol) {
    let h = Harness::start(protocol).await;
    let all = h.ok("help_llm", json!({})).await;
    let sections = all["sections"].as_array().unwrap();
    let names: Vec<&str> = sections
        .iter()
        .map(|s| s["category"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "tools",
            "modes",
            "approval",
            "protection",
            "limits",
            "health",
            "workflows"
        ]
    );
    for (category, wants) in [
        ("tools", &["guests:", "list_vms: ", "get_mcp_info: "][..]),
        ("modes", &["Current mode: safe", "read-only: "]),
        ("approval", &["approval_id", "valid 600s"]),
        ("protection", &["root@pam", "Protected tags: protected"]),
        ("limits", &["cluster default: API connect 5s, request 30s"]),
        ("health", &["1 of 1 clusters reachable"]),
        ("workflows", &["Restart a stuck VM:", "1. ", "vm_action"]),
    ] {
        let one = h.ok("help_llm", json!({"category": category})).await;
        let text = one["sections"][0]["text"].as_str().unwrap();
        assert_eq!(one["sections"].as_array().unwrap().len(), 1);
        for want in wants {
            assert!(text.contains(want), "{category}: no {want:?} in {text}");
        }
    }
    let e = h.err("help_llm", json!({"category": "everything"})).await;
    assert!(
        e.contains("unknown category") && e.contains("workflows"),
        "{e}"
    );
    h.finish().await;
}

fn names(tools: &[rmcp::model::Tool]) -> BTreeSet<String> {
    tools.iter().map(|t| t.name.to_string()).collect()
}

/// The JSON-RPC error message of a call that must not be routed.
async fn unrouted(mcp: &Mcp, tool: &str) -> String {
    match mcp.try_call(tool, json!({})).await {
        Err(ServiceError::McpError(e)) => {
            assert_eq!(e.code, ErrorCode::INVALID_PARAMS, "{tool}: {e:?}");
            e.message.to_string()
        }
        other => panic!("{tool}: expected a JSON-RPC error, got {other:?}"),
    }
}

async fn allow_list_offers_exactly_those_tools(protocol: Protocol) {
    let h = Harness::builder(protocol)
        .env("PROXMOX_MCP_TOOLS_ALLOW", "list_vms, get_mcp_info,tasks")
        .start()
        .await;
    let offered = names(&h.mcp.tools().await);
    let want: BTreeSet<String> = ["list_vms", "get_mcp_info", "task_status", "list_tasks"]
        .map(String::from)
        .into();
    assert_eq!(offered, want);
    h.ok("list_vms", json!({})).await;
    let hidden = unrouted(&h.mcp, "vm_status").await;
    let missing = unrouted(&h.mcp, "no_such_tool").await;
    assert_eq!(
        hidden.replace("vm_status", "X"),
        missing.replace("no_such_tool", "X")
    );
    let info = h.ok("get_mcp_info", json!({})).await;
    assert_eq!(setting(&info, "tools.allow")["from"], "env");
    h.finish().await;
}

async fn deny_removes_a_group_everywhere(protocol: Protocol) {
    let h = Harness::builder(protocol)
        .config("[tools]\ndeny = [\"exec\", \"proxmox_api\"]\n")
        .start()
        .await;
    let offered = names(&h.mcp.tools().await);
    for gone in [
        "execute_command",
        "execute_vm_command",
        "explain_command",
        "proxmox_api",
    ] {
        assert!(!offered.contains(gone), "{gone} still offered");
    }
    assert!(offered.contains("list_vms") && offered.contains("help_llm"));
    unrouted(&h.mcp, "execute_command").await;
    // The CLI goes through the dispatcher: refused as unknown, and audited.
    let out = h.cli(&["call", "explain_command", "-a", "command=ls"]);
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!out.status.success(), "{said}");
    assert!(said.contains("unknown tool"), "{said}");
    let refused = h
        .audit()
        .into_iter()
        .any(|r| r["tool"] == "explain_command" && r["decision"] == "refused");
    assert!(refused, "no refused explain_command in the audit log");
    // The operator's listing shows what the server offers.
    let listed = String::from_utf8_lossy(&h.cli(&["tools"]).stdout).into_owned();
    assert!(listed.contains("list_vms"), "{listed}");
    assert!(
        !listed.contains("execute_command") && !listed.contains("proxmox_api"),
        "{listed}"
    );
    h.finish().await;
}

async fn unknown_tool_name_stops_the_server(protocol: Protocol) {
    let dir = tempfile::tempdir().unwrap();
    let mut env = isolation_env(dir.path());
    env.push(("PROXMOX_MCP_TOOLS_ALLOW".into(), "list_vms,list_vmz".into()));
    let err = match Mcp::spawn_with(&binary(), protocol, &env, Human::Absent).await {
        Ok(_) => panic!("the server started with an unknown tool in the allow list"),
        Err(e) => format!("{e:#}"),
    };
    assert!(
        err.contains("tools.allow") && err.contains("list_vmz") && !err.contains("list_vms,"),
        "{err}"
    );
    // `config check` says the same and fails.
    let mut cmd = std::process::Command::new(binary());
    e2e::mcp::scrub_env(&mut cmd);
    let out = cmd
        .envs(env.iter().map(|(k, v)| (k, v)))
        .args(["config", "check"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("list_vmz"), "{stderr}");
}

fn text_of(contents: &[ResourceContents]) -> Value {
    match &contents[0] {
        ResourceContents::TextResourceContents { text, .. } => serde_json::from_str(text).unwrap(),
        other => panic!("not text: {other:?}"),
    }
}

async fn resources_list_and_read(protocol: Protocol) {
    let h = Harness::start(protocol).await;
    let peer = h.mcp.peer();
    let listed: BTreeSet<String> = peer
        .list_resources(None)
        .await
        .unwrap()
        .resources
        .into_iter()
        .map(|r| r.uri.clone())
        .collect();
    let want: BTreeSet<String> = [
        "proxmox://cluster/summary",
        "proxmox://audit/today",
        "proxmox://mode",
    ]
    .map(String::from)
    .into();
    assert_eq!(listed, want);

    let read = |uri: &str| peer.read_resource(ReadResourceRequestParams::new(uri));
    let mode = text_of(&read("proxmox://mode").await.unwrap().contents);
    assert_eq!(mode["mode"], "safe");
    let summary = text_of(&read("proxmox://cluster/summary").await.unwrap().contents);
    let first = &summary["clusters"][0];
    assert_eq!(first["cluster"], "default", "{summary:#}");
    assert!(
        !first["nodes"].as_array().unwrap().is_empty(),
        "{summary:#}"
    );
    assert!(first["totals"].is_object(), "{summary:#}");
    // The summary was read through the dispatcher: today's log shows it.
    let today = text_of(&read("proxmox://audit/today").await.unwrap().contents);
    let text = today.to_string();
    assert!(text.contains("get_system_info"), "{today:#}");
    assert!(
        !text.contains(&h.sim.admin().secret),
        "a secret in the audit resource"
    );

    match read("proxmox://nope").await {
        Err(ServiceError::McpError(e)) => {
            // 2026-07-28 reports a missing resource as invalid params.
            let code = match protocol {
                Protocol::Legacy => ErrorCode::RESOURCE_NOT_FOUND,
                Protocol::Modern => ErrorCode::INVALID_PARAMS,
            };
            assert_eq!(e.code, code, "{e:?}");
            assert!(e.message.contains("proxmox://mode"), "{e:?}");
        }
        other => panic!("unknown uri: {other:?}"),
    }
    h.finish().await;
}

async fn prompts_list_and_get(protocol: Protocol) {
    let h = Harness::start(protocol).await;
    let peer = h.mcp.peer();
    let prompts = peer.list_prompts(None).await.unwrap().prompts;
    let listed: Vec<&str> = prompts.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(
        listed,
        [
            "troubleshoot-vm",
            "capacity-review",
            "security-review",
            "rolling-maintenance"
        ]
    );
    let vmid_arg = &prompts[0].arguments.as_ref().unwrap()[0];
    assert_eq!(
        (vmid_arg.name.as_str(), vmid_arg.required),
        ("vmid", Some(true))
    );

    let got = peer
        .get_prompt(
            GetPromptRequestParams::new("troubleshoot-vm")
                .with_arguments(object(json!({"vmid": "100"}))),
        )
        .await
        .unwrap();
    let text = serde_json::to_string(&got.messages).unwrap();
    assert!(text.contains("vm_status vmid=100"), "{text}");
    assert!(text.contains("\"user\""), "{text}");
    let node = peer
        .get_prompt(
            GetPromptRequestParams::new("rolling-maintenance")
                .with_arguments(object(json!({"node": "pve2"}))),
        )
        .await
        .unwrap();
    assert!(
        serde_json::to_string(&node.messages)
            .unwrap()
            .contains("node pve2")
    );

    for (name, args, want) in [
        ("troubleshoot-vm", json!({}), "vmid"),
        ("troubleshoot-vm", json!({"vmid": "abc"}), "vmid"),
        ("no-such-prompt", json!({}), "troubleshoot-vm"),
    ] {
        let p = GetPromptRequestParams::new(name).with_arguments(object(args));
        match peer.get_prompt(p).await {
            Err(ServiceError::McpError(e)) => {
                assert_eq!(e.code, ErrorCode::INVALID_PARAMS, "{name}: {e:?}");
                assert!(e.message.contains(want), "{name}: {e:?}");
            }
            other => panic!("{name}: expected invalid params, got {other:?}"),
        }
    }
    h.finish().await;
}

/// Over HTTP: the transport is the bridge, the client the one the bridge names, and resources
/// and prompts are forwarded like tools.
async fn behind_the_bridge(protocol: Protocol) {
    let sim = e2e::Sim::small().await;
    let b = e2e::bridge::Bridge::start(&sim, &[]).await;
    let mcp = Mcp::connect_http(&b.url, Some(&b.token()), protocol, Human::Absent)
        .await
        .unwrap();
    let r = mcp.call("get_mcp_info", json!({})).await;
    r.ok("get_mcp_info");
    let info = r.structured();
    assert_eq!(info["transport"], "bridge", "{info:#}");
    assert!(
        info["client"].as_str().unwrap().starts_with("e2e-tests/"),
        "{info:#}"
    );
    let peer = mcp.peer();
    assert_eq!(peer.list_resources(None).await.unwrap().resources.len(), 3);
    let mode = peer
        .read_resource(ReadResourceRequestParams::new("proxmox://mode"))
        .await
        .unwrap();
    assert!(text_of(&mode.contents)["mode"].is_string());
    let summary = peer
        .read_resource(ReadResourceRequestParams::new("proxmox://cluster/summary"))
        .await
        .unwrap();
    assert!(text_of(&summary.contents)["clusters"][0]["nodes"].is_array());
    assert_eq!(peer.list_prompts(None).await.unwrap().prompts.len(), 4);
    let got = peer
        .get_prompt(GetPromptRequestParams::new("capacity-review"))
        .await
        .unwrap();
    assert!(
        serde_json::to_string(&got.messages)
            .unwrap()
            .contains("node_status")
    );
    mcp.close().await;
    sim.finish().await;
}
