//! Same request, same verdict: for every action of every tool that writes, the PVE requests
//! the tool plans are sent through `proxmox_api` as they are, and both must get the same
//! decision in every mode, the same class and the same protected guests.
//!
//! The tools are assessed in-process, through the very functions the dispatcher calls
//! (`ToolDef::assess`, `gate::decide`), against pve-sim; nothing runs.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use e2e::sim::{ApiClient, Sim};
use e2e::{Map, json};
use proxmox_mcp::config::{AuditConfig, ClusterConfig, Config, PolicyConfig, Secret};
use proxmox_mcp::engine::Engine;
use proxmox_mcp::gate::{self, AssessCtx, Assessment, Flags};
use proxmox_mcp::policy::decision::Decision;
use proxmox_mcp::policy::mode::Mode;
use proxmox_mcp::tools::{self, ToolError};
use serde_json::Value;

const MODES: [Mode; 3] = [Mode::ReadOnly, Mode::Safe, Mode::Normal];

/// The cluster's cast: which guests are protected and how, where their backups are.
struct Cast {
    nodes: Vec<String>,
    /// Unprotected VMs with a backup on `nfs-backup`: (node, vmid, volid).
    free_vm: (String, u64, String),
    /// A VM protected by PVE's `protection` flag, with a backup.
    flag_vm: (String, u64, String),
    /// A VM protected by the server's configured `protected_vmids`.
    cfg_vm: (String, u64),
    free_ct: (String, u64),
    /// A container protected by the `protected` tag.
    tag_ct: (String, u64),
}

struct World {
    sim: Sim,
    engine: Arc<Engine>,
    cast: Cast,
    _dir: tempfile::TempDir,
}

async fn config_of(api: &ApiClient, kind: &str, node: &str, vmid: u64) -> Map<String, Value> {
    api.get(&format!("/nodes/{node}/{kind}/{vmid}/config"))
        .await
        .unwrap()
        .as_object()
        .cloned()
        .unwrap()
}

fn plain(g: &Map<String, Value>) -> bool {
    let tags = g.get("tags").and_then(Value::as_str).unwrap_or_default();
    !tags.to_ascii_lowercase().contains("protected") && g.get("template") != Some(&json!(1))
}

async fn wait_config(api: &ApiClient, kind: &str, node: &str, vmid: u64, key: &str) {
    for _ in 0..200 {
        if config_of(api, kind, node, vmid).await.contains_key(key) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("{key} never showed in the config of {vmid}");
}

async fn world() -> World {
    let sim = Sim::small().await;
    let api = sim.api();
    let mut backed = Vec::new();
    let mut others = Vec::new();
    for g in e2e::sim::guests(&api, "qemu").await {
        let (node, vmid) = (
            g["node"].as_str().unwrap().to_string(),
            g["vmid"].as_u64().unwrap(),
        );
        if !plain(&g)
            || config_of(&api, "qemu", &node, vmid)
                .await
                .contains_key("protection")
        {
            continue;
        }
        let content = api
            .get_query(
                &format!("/nodes/{node}/storage/nfs-backup/content"),
                &[("vmid", &vmid.to_string())],
            )
            .await
            .unwrap();
        match content.as_array().and_then(|a| a.first()) {
            Some(v) if backed.len() < 2 => {
                backed.push((node, vmid, v["volid"].as_str().unwrap().to_string()))
            }
            _ => others.push((node, vmid)),
        }
    }
    assert!(
        backed.len() == 2 && !others.is_empty(),
        "the sim lacks VMs: {backed:?} {others:?}"
    );
    let (flag_vm, free_vm) = (backed.remove(0), backed.remove(0));
    let cfg_vm = others.remove(0);
    let flag_path = format!("/nodes/{}/qemu/{}/config", flag_vm.0, flag_vm.1);
    api.put(&flag_path, &[("protection", "1")]).await.unwrap();
    wait_config(&api, "qemu", &flag_vm.0, flag_vm.1, "protection").await;

    let cts: Vec<(String, u64)> = e2e::sim::guests(&api, "lxc")
        .await
        .into_iter()
        .filter(plain)
        .map(|g| {
            (
                g["node"].as_str().unwrap().to_string(),
                g["vmid"].as_u64().unwrap(),
            )
        })
        .collect();
    assert!(cts.len() >= 2, "the sim needs two containers");
    let (free_ct, tag_ct) = (cts[0].clone(), cts[1].clone());
    let tag_path = format!("/nodes/{}/lxc/{}/config", tag_ct.0, tag_ct.1);
    api.put(&tag_path, &[("tags", "protected")]).await.unwrap();
    wait_config(&api, "lxc", &tag_ct.0, tag_ct.1, "tags").await;

    let nodes: BTreeSet<String> = api
        .get("/nodes")
        .await
        .unwrap()
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["node"].as_str().unwrap().to_string())
        .collect();

    let dir = tempfile::tempdir().unwrap();
    let admin = sim.admin();
    let engine = Engine::new(Config {
        clusters: vec![ClusterConfig::token_pinned(
            "sim",
            sim.url(),
            admin.token_id,
            Secret::new(admin.secret),
            sim.fingerprint(),
        )],
        state_dir: dir.path().join("state"),
        source: None,
        policy: PolicyConfig {
            protected_vmids: [cfg_vm.1 as u32].into(),
            ..PolicyConfig::default()
        },
        audit: AuditConfig::without_journal(),
        api_schema: None,
        tools: Default::default(),
        sources: Vec::new(),
        update: Default::default(),
        diagnostics: Default::default(),
    });
    World {
        sim,
        engine,
        cast: Cast {
            nodes: nodes.into_iter().collect(),
            free_vm,
            flag_vm,
            cfg_vm,
            free_ct,
            tag_ct,
        },
        _dir: dir,
    }
}

/// What the gate makes of one call in one mode.
#[derive(Debug)]
struct Judged {
    assessment: Assessment,
    decision: Result<Decision, String>,
}

async fn judge(w: &World, tool: &str, args: &Value, mode: Mode) -> Result<Judged, ToolError> {
    let def = tools::find(tool).unwrap_or_else(|| panic!("no tool {tool}"));
    let mut args = args.as_object().cloned().unwrap();
    tools::args::normalize(&def.input_schema, &mut args)?;
    let (cluster, pve) = w.engine.pve(None)?;
    let identity = w.engine.identity(&cluster, &pve).await;
    let mut policy = w.engine.safety().policy(identity);
    policy.mode = mode;
    let ctx = AssessCtx::for_call(
        cluster,
        policy.identity.clone(),
        mode,
        Default::default(),
        pve,
        w.engine.server_files().clone(),
    );
    let assessment = def.assess(ctx.clone(), &args).await?;
    let decision = gate::decide(&policy, &assessment, &ctx, Flags::Check)
        .await
        .map_err(|e| e.to_string());
    Ok(Judged {
        assessment,
        decision,
    })
}

/// A decision as compared: allow / confirm / refuse, and for refusals the guests they name.
fn verdict(d: &Result<Decision, String>) -> String {
    match d {
        Ok(d) => d.to_string(),
        Err(e) => format!("refuse ({e})"),
    }
}

fn strictness(d: &Result<Decision, String>) -> u8 {
    d.as_ref().map_or(2, Decision::strictness)
}

/// Asserts the tool call and `proxmox_api` with each request it plans agree in every mode;
/// returns the tool's verdict per mode, for the callers' own expectations.
async fn same_verdict(w: &World, tool: &str, args: Value) -> Vec<String> {
    let mut out = Vec::new();
    for mode in MODES {
        let case = format!("{tool} {args} in {mode:?}");
        let t = match judge(w, tool, &args, mode).await {
            Ok(t) => t,
            Err(ToolError::Refused(e)) => {
                // Refused while assessing: only a fact the shared assessor needs may do that.
                panic!("{case}: the tool refused before planning a request: {e}")
            }
            Err(e) => panic!("{case}: the arguments are wrong for this test: {e}"),
        };
        let a = &t.assessment;
        assert!(!a.requests.is_empty(), "{case}: no planned PVE request");
        let mut worst: Option<Judged> = None;
        let mut raw_class = None;
        let mut raw_protected = Vec::new();
        let mut raw_guests = BTreeSet::new();
        for r in &a.requests {
            let raw_args = json!({
                "method": r.method.as_str(),
                "path": r.path,
                "params": Value::Object(r.params.clone()),
            });
            let raw = judge(w, "proxmox_api", &raw_args, mode)
                .await
                .unwrap_or_else(|e| panic!("{case}: proxmox_api {raw_args} failed: {e}"));
            raw_class = raw_class.max(Some(raw.assessment.request.class));
            for p in &raw.assessment.request.protected {
                if !raw_protected.contains(p) {
                    raw_protected.push(p.clone());
                }
            }
            raw_guests.extend(raw.assessment.guests.iter().copied());
            if a.requests.len() == 1 {
                assert_eq!(
                    t.decision, raw.decision,
                    "{case}: the tool and proxmox_api {raw_args} disagree"
                );
            }
            if worst
                .as_ref()
                .is_none_or(|w| strictness(&raw.decision) > strictness(&w.decision))
            {
                worst = Some(raw);
            }
        }
        let worst = worst.unwrap();
        assert_eq!(
            strictness(&t.decision),
            strictness(&worst.decision),
            "{case}: the tool says {}, proxmox_api says {} for its requests {:?}",
            verdict(&t.decision),
            verdict(&worst.decision),
            a.requests
        );
        assert_eq!(Some(a.request.class), raw_class, "{case}: class");
        assert_eq!(
            a.request.protected, raw_protected,
            "{case}: root protection"
        );
        let tool_guests: BTreeSet<u32> = a.guests.iter().copied().collect();
        assert_eq!(tool_guests, raw_guests, "{case}: the guests named");
        out.push(verdict(&t.decision));
    }
    out
}

fn refused_naming(v: &[String], vmid: u64) -> bool {
    v.iter().all(|d| {
        d.starts_with("refuse") && (d.contains(&vmid.to_string()) || d.contains("read-only"))
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn guest_actions_get_the_raw_requests_verdict() {
    let w = world().await;
    let c = &w.cast;
    let (fnode, fvm, fvol) = c.free_vm.clone();
    let (pnode, pvm, pvol) = c.flag_vm.clone();
    let (cnode, cvm) = c.cfg_vm.clone();
    let (fctnode, fct) = c.free_ct.clone();
    let (pctnode, pct) = c.tag_ct.clone();
    let elsewhere = |node: &str| c.nodes.iter().find(|n| *n != node).unwrap().clone();

    // Every per-guest action, on a free guest and on each kind of protected one.
    let per_guest: Vec<(&str, Value)> = vec![
        ("start", json!({})),
        ("stop", json!({})),
        ("shutdown", json!({"timeout": 30})),
        ("reboot", json!({})),
        ("suspend", json!({})),
        ("resume", json!({})),
        ("clone", json!({"newid": 990, "name": "copy"})),
        ("snapshot", json!({"snapname": "pre"})),
        ("rollback", json!({"snapname": "pre"})),
        ("delete_snapshot", json!({"snapname": "pre"})),
        (
            "backup",
            json!({"storage": "nfs-backup", "mode": "snapshot"}),
        ),
        ("resize_disk", json!({"size": "+1G"})),
        ("set_config", json!({"config": {"memory": 2048}})),
        ("set_config", json!({"config": {"delete": "net1"}})),
        ("set_config", json!({"config": {"protection": 0}})),
        ("convert_to_template", json!({})),
        ("destroy", json!({})),
    ];
    for (tool, guests, disk) in [
        (
            "vm_action",
            vec![(fnode.clone(), fvm), (pnode.clone(), pvm), (cnode, cvm)],
            "scsi0",
        ),
        (
            "container_action",
            vec![(fctnode, fct), (pctnode, pct)],
            "rootfs",
        ),
    ] {
        for (action, extra) in &per_guest {
            for &(_, vmid) in &guests {
                let mut args = json!({"action": action, "vmid": vmid, "wait": 0});
                for (k, v) in extra.as_object().unwrap() {
                    args[k] = v.clone();
                }
                if *action == "resize_disk" {
                    args["disk"] = json!(disk);
                }
                let v = same_verdict(&w, tool, args).await;
                let free = vmid == fvm || vmid == fct;
                if ["destroy", "rollback", "convert_to_template"].contains(action) && !free {
                    assert!(refused_naming(&v, vmid), "{tool} {action} {vmid}: {v:?}");
                }
            }
        }
        for (node, vmid) in &guests {
            let mut migrate = json!({"action": "migrate", "vmid": vmid, "node": elsewhere(node)});
            if tool == "vm_action" {
                migrate["with_local_disks"] = json!(true);
            } else {
                migrate["restart"] = json!(true);
            }
            same_verdict(&w, tool, migrate).await;
        }
        // Several guests at once: the strictest of their requests.
        let many: Vec<u64> = guests.iter().map(|g| g.1).collect();
        same_verdict(
            &w,
            tool,
            json!({"action": "stop", "vmids": many, "wait": 0}),
        )
        .await;
    }
    // A reset exists for VMs only.
    same_verdict(&w, "vm_action", json!({"action": "reset", "vmid": fvm})).await;
    // Bulk by pool and tag.
    same_verdict(
        &w,
        "vm_action",
        json!({"action": "shutdown", "pool": "prod", "wait": 0}),
    )
    .await;
    same_verdict(
        &w,
        "container_action",
        json!({"action": "stop", "tag": "protected", "wait": 0}),
    )
    .await;

    // Restores over an existing guest: the target in the params, not the path.
    for (vmid, vol) in [(fvm, &fvol), (pvm, &pvol)] {
        let v = same_verdict(
            &w,
            "vm_action",
            json!({"action": "restore", "vmid": vmid, "archive": vol, "node": fnode,
                   "force": true, "wait": 0}),
        )
        .await;
        if vmid == pvm {
            assert!(refused_naming(&v, pvm), "restore over {pvm}: {v:?}");
        }
    }
    // Create: a new guest, nothing protected.
    same_verdict(
        &w,
        "vm_action",
        json!({"action": "create", "vmid": 991, "node": pnode, "name": "new",
               "config": {"memory": 1024, "cores": 1}, "wait": 0}),
    )
    .await;
    w.sim.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn storage_network_access_and_cluster_actions_get_the_raw_requests_verdict() {
    let w = world().await;
    let c = &w.cast;
    let (fnode, fvm, fvol) = c.free_vm.clone();
    let (pnode, pvm, pvol) = c.flag_vm.clone();
    let (_, cvm) = c.cfg_vm.clone();
    let (_, pct) = c.tag_ct.clone();
    let api = w.sim.api();
    let job = api.get("/cluster/backup").await.unwrap()[0]["id"]
        .as_str()
        .expect("the sim has a backup job")
        .to_string();
    let own_user = "mcp@pve";

    // storage_operations: volumes, pruning, downloads, backup jobs.
    for (node, vol, vmid) in [(&fnode, &fvol, fvm), (&pnode, &pvol, pvm)] {
        let v = same_verdict(
            &w,
            "storage_operations",
            json!({"action": "delete_volume", "node": node, "storage": "nfs-backup", "volume": vol}),
        )
        .await;
        if vmid == pvm {
            assert!(refused_naming(&v, pvm), "deleting {vol}: {v:?}");
        }
        same_verdict(
            &w,
            "storage_operations",
            json!({"action": "prune_backups", "node": node, "storage": "nfs-backup",
                   "keep": "keep-last=1", "vmid": vmid, "dry_run": false}),
        )
        .await;
    }
    for args in [
        json!({"action": "prune_backups", "node": fnode, "storage": "nfs-backup",
               "keep": "keep-last=1", "dry_run": false}),
        json!({"action": "download_url", "node": fnode, "storage": "local", "content": "iso",
               "url": "https://example.invalid/a.iso", "filename": "a.iso"}),
        json!({"action": "job_create", "id": "nightly", "storage": "nfs-backup",
               "schedule": "03:00", "vmids": [fvm], "mode": "snapshot"}),
        json!({"action": "job_create", "id": "everything", "storage": "nfs-backup",
               "schedule": "03:00", "all": true, "keep": "keep-last=1"}),
        json!({"action": "job_update", "id": job, "keep": "keep-last=1"}),
        json!({"action": "job_update", "id": job, "vmids": [pvm, cvm]}),
        json!({"action": "job_update", "id": job, "enabled": false}),
        json!({"action": "job_delete", "id": job}),
        json!({"action": "job_run", "id": job}),
    ] {
        same_verdict(&w, "storage_operations", args).await;
    }

    // network_config: staged interface changes, apply/revert, firewall at every level.
    for args in [
        json!({"action": "create", "node": fnode, "iface": "vmbr9", "type": "bridge"}),
        json!({"action": "update", "node": fnode, "iface": "vmbr0", "comment": "uplink"}),
        json!({"action": "delete", "node": fnode, "iface": "vmbr0"}),
        json!({"action": "apply", "node": fnode}),
        json!({"action": "revert", "node": fnode}),
        json!({"action": "fw_options", "level": "cluster", "options": {"enable": 1}}),
        json!({"action": "fw_options", "level": "cluster", "options": {"enable": false}}),
        json!({"action": "fw_options", "level": "cluster", "options": {"policy_in": "DROP"}}),
        json!({"action": "fw_options", "level": "node", "node": fnode, "options": {"enable": 1}}),
        json!({"action": "fw_options", "level": "vm", "vmid": pvm, "options": {"enable": 1}}),
        json!({"action": "fw_add_rule", "level": "cluster", "type": "in", "rule_action": "DROP",
               "enable": true, "dport": "22", "proto": "tcp"}),
        json!({"action": "fw_add_rule", "level": "vm", "vmid": pct, "type": "in",
               "rule_action": "ACCEPT", "dport": "443", "proto": "tcp"}),
        json!({"action": "fw_update_rule", "level": "cluster", "pos": 0, "enable": false}),
        json!({"action": "fw_delete_rule", "level": "cluster", "pos": 0}),
    ] {
        same_verdict(&w, "network_config", args).await;
    }

    // user_management: ordinary changes, and every way toward our own account or root.
    for args in [
        json!({"action": "user_create", "userid": "bob@pve", "password": "s3cret-pass"}),
        json!({"action": "user_update", "userid": "alice@pve", "email": "a@example.invalid"}),
        json!({"action": "user_update", "userid": "alice@pve", "groups": "ops"}),
        json!({"action": "user_update", "userid": own_user, "groups": "ops"}),
        json!({"action": "user_update", "userid": "root@pam", "enable": false}),
        json!({"action": "user_delete", "userid": "alice@pve"}),
        json!({"action": "user_delete", "userid": own_user}),
        json!({"action": "group_create", "group": "newgroup"}),
        json!({"action": "group_delete", "group": "ops"}),
        json!({"action": "acl_grant", "path": "/vms", "role": "PVEVMUser", "group": "ops"}),
        json!({"action": "acl_grant", "path": "/", "role": "Administrator", "userid": own_user}),
        json!({"action": "acl_grant", "path": "/vms", "role": "PVEAdmin", "userid": "alice@pve"}),
        json!({"action": "acl_revoke", "path": "/", "role": "Administrator", "userid": own_user}),
        json!({"action": "acl_revoke", "path": "/vms", "role": "PVEVMUser", "group": "ops"}),
        json!({"action": "token_create", "userid": "alice@pve", "tokenid": "ci"}),
        json!({"action": "token_create", "userid": own_user, "tokenid": "more"}),
        json!({"action": "token_delete", "userid": "alice@pve", "tokenid": "ci"}),
    ] {
        same_verdict(&w, "user_management", args).await;
    }

    // cluster_management: HA membership of free and protected guests.
    for args in [
        json!({"action": "ha_add", "sid": format!("vm:{fvm}"), "state": "started"}),
        json!({"action": "ha_add", "sid": format!("ct:{pct}"), "max_restart": 2}),
        json!({"action": "ha_remove", "sid": format!("vm:{pvm}")}),
        json!({"action": "ha_remove", "sid": fvm.to_string()}),
    ] {
        same_verdict(&w, "cluster_management", args).await;
    }

    // execute_vm_command: its agent request is judged as the command it runs.
    for command in [json!("cat /etc/hostname"), json!(["rm", "-rf", "/srv"])] {
        for vmid in [fvm, pvm] {
            same_verdict(
                &w,
                "execute_vm_command",
                json!({"vmid": vmid, "command": command}),
            )
            .await;
        }
    }
    w.sim.finish().await;
}
