//! `network_config` end to end: interfaces staged, applied, reverted and deleted; firewall rules
//! and options at cluster, node and guest level; SDN lists; bad input, safe and read-only mode.
//!
//! Every effect is checked on the sim itself, not just in the tool's answer.

use e2e::{Harness, Human, Protocol, Value, json, per_protocol};

per_protocol!(bridge_is_staged_then_applied_reverted_and_deleted);

const NODE: &str = "pve1";

// ---------------------------------------------------------------------------------------------
// helpers

/// The interface as the sim shows it now (the pending view when there are pending changes).
async fn sim_iface(h: &Harness, iface: &str) -> Option<Value> {
    h.sim
        .api()
        .get(&format!("/nodes/{NODE}/network/{iface}"))
        .await
        .ok()
}

/// The sim's stored network of `NODE`: `{ifaces, pending}`.
fn sim_network(h: &Harness) -> Value {
    h.sim.state()["networks"][NODE].clone()
}

/// The final audit record of the last `network_config` call.
fn last_record(h: &Harness) -> Value {
    h.audit()
        .into_iter()
        .rev()
        .find(|r| r["tool"] == json!("network_config") && r["result"] != json!("started"))
        .expect("an audit record for network_config")
}

fn net(action: &str, extra: Value) -> Value {
    let mut args = json!({"action": action});
    for (k, v) in extra.as_object().unwrap() {
        args[k] = v.clone();
    }
    args
}

/// Some guest of the sim: (kind, node, vmid).
async fn a_guest(h: &Harness, kind: &str) -> (String, u64) {
    let g = e2e::sim::guests(&h.sim.api(), kind)
        .await
        .into_iter()
        .find(|g| g.get("template") != Some(&json!(1)))
        .expect("the sim has a guest");
    (
        g["node"].as_str().unwrap().to_string(),
        g["vmid"].as_u64().unwrap(),
    )
}

fn rule_comments(rules: &Value) -> Vec<String> {
    rules
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["comment"].as_str().unwrap_or_default().to_string())
        .collect()
}

// ---------------------------------------------------------------------------------------------
// interfaces

async fn bridge_is_staged_then_applied_reverted_and_deleted(p: Protocol) {
    let h = Harness::builder(p)
        .mode("normal")
        .human(Human::Accept)
        .start()
        .await;
    let node = json!(NODE);

    // create: pending, visible in list and get, not yet in the running config
    let r = h
        .ok(
            "network_config",
            net(
                "create",
                json!({"node": node, "iface": "vmbr9", "type": "bridge", "cidr": "10.99.0.1/24",
                       "ports": "eno2", "vlan_aware": true, "autostart": true, "comment": "e2e"}),
            ),
        )
        .await;
    assert!(r["message"].as_str().unwrap().contains("apply"), "{r}");
    assert!(sim_network(&h)["ifaces"].get("vmbr9").is_none());
    let list = h
        .ok("network_config", net("list", json!({"node": node})))
        .await;
    let names: Vec<&str> = list["data"]["interfaces"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|i| i["iface"].as_str())
        .collect();
    assert!(names.contains(&"vmbr9"), "{list}");
    assert!(
        list["data"]["pending_changes"]
            .as_str()
            .unwrap()
            .contains("vmbr9"),
        "{list}"
    );
    let got = h
        .ok(
            "network_config",
            net("get", json!({"node": node, "iface": "vmbr9"})),
        )
        .await;
    assert_eq!(got["data"]["pending"], json!(true), "{got}");
    assert_eq!(got["data"]["cidr"], json!("10.99.0.1/24"), "{got}");
    assert_eq!(got["data"]["bridge_ports"], json!("eno2"), "{got}");
    assert_eq!(got["data"]["bridge_vlan_aware"], json!(1), "{got}");

    // apply (waited): the bridge is active, nothing pending; not near the management IP, so modify
    let r = h
        .ok("network_config", net("apply", json!({"node": node})))
        .await;
    assert_eq!(r["task"]["status"], json!("ok"), "{r}");
    assert_eq!(last_record(&h)["class"], json!("modify"));
    let live = sim_network(&h);
    assert!(live["pending"].is_null(), "{live}");
    assert_eq!(live["ifaces"]["vmbr9"]["active"], json!(1), "{live}");

    // update + revert: the pending change goes, the running config stays
    h.ok(
        "network_config",
        net(
            "update",
            json!({"node": node, "iface": "vmbr9", "comment": "changed", "gateway": "10.99.0.254"}),
        ),
    )
    .await;
    assert_eq!(
        sim_iface(&h, "vmbr9").await.unwrap()["comments"],
        json!("changed")
    );
    h.ok("network_config", net("revert", json!({"node": node})))
        .await;
    let after = sim_network(&h);
    assert!(after["pending"].is_null(), "{after}");
    assert_eq!(after["ifaces"]["vmbr9"]["comments"], json!("e2e"));

    // bond and VLAN: staged with their own fields, then reverted
    h.ok(
        "network_config",
        net(
            "create",
            json!({"node": node, "iface": "bond0", "type": "bond", "ports": "eno2",
                   "bond_mode": "active-backup"}),
        ),
    )
    .await;
    h.ok(
        "network_config",
        net(
            "create",
            json!({"node": node, "iface": "vlan20", "type": "vlan", "ports": "vmbr1",
                   "vlan_id": 20}),
        ),
    )
    .await;
    let bond = sim_iface(&h, "bond0").await.unwrap();
    assert_eq!(bond["slaves"], json!("eno2"), "{bond}");
    assert_eq!(bond["bond_mode"], json!("active-backup"), "{bond}");
    let vlan = sim_iface(&h, "vlan20").await.unwrap();
    assert_eq!(vlan["vlan-raw-device"], json!("vmbr1"), "{vlan}");
    h.ok("network_config", net("revert", json!({"node": node})))
        .await;
    assert!(sim_iface(&h, "bond0").await.is_none());

    // delete, then apply without waiting and follow the UPID with task_status
    h.ok(
        "network_config",
        net("delete", json!({"node": node, "iface": "vmbr9"})),
    )
    .await;
    assert!(sim_network(&h)["ifaces"].get("vmbr9").is_some());
    let r = h
        .ok(
            "network_config",
            net("apply", json!({"node": node, "wait": 0})),
        )
        .await;
    let upid = r["upid"]
        .as_str()
        .expect("apply returns the UPID")
        .to_string();
    let t = h.ok("task_status", json!({"upid": upid, "wait": 30})).await;
    assert_eq!(t["exitstatus"], json!("OK"), "{t}");
    assert!(sim_network(&h)["ifaces"].get("vmbr9").is_none());
    h.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn apply_on_the_management_interface_is_destructive() {
    let h = Harness::builder(Protocol::Modern)
        .mode("normal")
        .human(Human::Decline)
        .start()
        .await;
    // vmbr0 carries the node's IP: staging a change is a plain modify …
    h.ok(
        "network_config",
        net(
            "update",
            json!({"node": NODE, "iface": "vmbr0", "comment": "risky"}),
        ),
    )
    .await;
    assert!(h.mcp.asked().is_empty());
    let before = sim_network(&h);
    // … but applying it asks a human, who is told why, and declines
    let msg = h
        .err("network_config", net("apply", json!({"node": NODE})))
        .await;
    assert!(msg.to_lowercase().contains("declined"), "{msg}");
    let asked = h.mcp.asked().join("\n");
    assert!(asked.contains("management IP"), "{asked}");
    assert_eq!(last_record(&h)["class"], json!("destructive"));
    assert_eq!(
        sim_network(&h),
        before,
        "declined apply changed the network"
    );
    assert!(
        !h.writes()
            .iter()
            .any(|w| w == &format!("PUT /nodes/{NODE}/network"))
    );
    h.finish().await;
}

// ---------------------------------------------------------------------------------------------
// firewall and SDN

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn firewall_rules_and_options_at_every_level() {
    let h = Harness::builder(Protocol::Modern)
        .mode("normal")
        .human(Human::Accept)
        .start()
        .await;
    let (_, vmid) = a_guest(&h, "qemu").await;
    let (_, ctid) = a_guest(&h, "lxc").await;
    let levels = [
        json!({"level": "cluster"}),
        json!({"level": "node", "node": NODE}),
        json!({"level": "vm", "vmid": vmid}),
        json!({"level": "vm", "vmid": ctid}),
    ];
    for level in &levels {
        let with = |extra: Value| {
            let mut a = level.clone();
            for (k, v) in extra.as_object().unwrap() {
                a[k] = v.clone();
            }
            a
        };
        h.ok(
            "network_config",
            net(
                "fw_add_rule",
                with(
                    json!({"type": "in", "rule_action": "ACCEPT", "proto": "tcp",
                            "dport": "8443", "source": "10.0.0.0/24", "comment": "e2e",
                            "pos": 0}),
                ),
            ),
        )
        .await;
        let rules = h
            .ok("network_config", net("fw_rules", with(json!({}))))
            .await;
        assert_eq!(
            rules["data"][0]["comment"],
            json!("e2e"),
            "{level}: {rules}"
        );
        assert_eq!(rules["data"][0]["dport"], json!("8443"), "{level}: {rules}");

        h.ok(
            "network_config",
            net(
                "fw_update_rule",
                with(json!({"pos": 0, "comment": "e2e-updated", "enable": false,
                            "rule_action": "DROP"})),
            ),
        )
        .await;
        let rules = h
            .ok("network_config", net("fw_rules", with(json!({}))))
            .await;
        assert_eq!(rules["data"][0]["comment"], json!("e2e-updated"), "{rules}");
        assert_eq!(rules["data"][0]["action"], json!("DROP"), "{rules}");
        assert_eq!(rules["data"][0]["enable"], json!(0), "{rules}");

        let asked = h.mcp.asked().len();
        h.ok(
            "network_config",
            net("fw_delete_rule", with(json!({"pos": 0}))),
        )
        .await;
        assert_eq!(h.mcp.asked().len(), asked + 1, "deleting a rule must ask");
        assert_eq!(last_record(&h)["class"], json!("destructive"));
        let rules = h
            .ok("network_config", net("fw_rules", with(json!({}))))
            .await;
        assert!(
            !rule_comments(&rules["data"])
                .iter()
                .any(|c| c.starts_with("e2e")),
            "{level}: {rules}"
        );
    }

    // options: set and read back; switching a guest's firewall on with an inbound DROP can
    // cut the guest's services off: it asks
    let asked = h.mcp.asked().len();
    h.ok(
        "network_config",
        net(
            "fw_options",
            json!({"level": "vm", "vmid": vmid, "options": {"enable": true, "policy_in": "DROP"}}),
        ),
    )
    .await;
    assert_eq!(last_record(&h)["class"], json!("destructive"));
    assert_eq!(
        h.mcp.asked().len(),
        asked + 1,
        "a guest firewall lockdown must ask"
    );
    let o = h
        .ok(
            "network_config",
            net("fw_options", json!({"level": "vm", "vmid": vmid})),
        )
        .await;
    assert_eq!(o["data"]["enable"], json!(1), "{o}");
    assert_eq!(o["data"]["policy_in"], json!("DROP"), "{o}");
    h.ok(
        "network_config",
        net(
            "fw_options",
            json!({"level": "node", "node": NODE, "options": {"nosmurfs": true, "log_level_in": "info"}}),
        ),
    )
    .await;
    let o = h
        .ok(
            "network_config",
            net("fw_options", json!({"level": "node", "node": NODE})),
        )
        .await;
    assert_eq!(o["data"]["nosmurfs"], json!(1), "{o}");
    assert_eq!(o["data"]["log_level_in"], json!("info"), "{o}");
    // a cluster-wide inbound DROP policy could lock us out: it is destructive (asks)
    let asked = h.mcp.asked().len();
    h.ok(
        "network_config",
        net(
            "fw_options",
            json!({"level": "cluster", "options": {"policy_in": "REJECT", "ebtables": null}}),
        ),
    )
    .await;
    assert_eq!(h.mcp.asked().len(), asked + 1);
    let fw = &h.sim.state()["firewall"]["options"]["cluster"];
    assert_eq!(fw["policy_in"], json!("REJECT"), "{fw}");
    assert!(fw.get("ebtables").is_none(), "{fw}");

    // lists
    let a = h
        .ok(
            "network_config",
            net("fw_aliases", json!({"level": "cluster"})),
        )
        .await;
    assert_eq!(a["data"][0]["name"], json!("monitoring"), "{a}");
    let s = h
        .ok(
            "network_config",
            net("fw_ipsets", json!({"level": "cluster"})),
        )
        .await;
    assert_eq!(s["data"][0]["name"], json!("management"), "{s}");
    h.ok(
        "network_config",
        net("fw_ipsets", json!({"level": "vm", "vmid": vmid})),
    )
    .await;
    let z = h.ok("network_config", net("sdn_zones", json!({}))).await;
    assert_eq!(z["data"][0]["zone"], json!("localnet"), "{z}");
    let v = h.ok("network_config", net("sdn_vnets", json!({}))).await;
    assert_eq!(v["data"][0]["vnet"], json!("vnet100"), "{v}");
    h.finish().await;
}

// ---------------------------------------------------------------------------------------------
// refusals

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_calls_are_refused_audited_and_change_nothing() {
    let h = Harness::builder(Protocol::Modern)
        .mode("normal")
        .human(Human::Accept)
        .start()
        .await;
    let before = h.sim.state();
    h.sim.clear_requests();
    let bridge =
        |iface: &str| json!({"action": "create", "node": NODE, "iface": iface, "type": "bridge"});
    let cases = [
        (bridge("eth0; reboot"), "interface name"),
        (bridge("../x"), "interface name"),
        (
            json!({"action": "get", "node": NODE, "iface": "../../etc"}),
            "interface name",
        ),
        (
            json!({"action": "create", "node": NODE, "iface": "vlan50", "type": "vlan",
                   "ports": "vmbr1", "vlan_id": 5000}),
            "4094",
        ),
        (
            json!({"action": "create", "node": NODE, "iface": "vmbr8", "type": "bridge",
                   "cidr": "10.0.0.300/24"}),
            "cidr",
        ),
        (
            json!({"action": "create", "node": NODE, "iface": "vmbr8", "type": "bridge",
                   "cidr": "10.0.0.1"}),
            "cidr",
        ),
        (
            json!({"action": "create", "node": NODE, "iface": "vmbr8", "type": "bridge",
                   "ports": "eno1;reboot"}),
            "interface name",
        ),
        (
            json!({"action": "create", "node": NODE, "iface": "vmbr8", "type": "eth"}),
            "bridge, bond or vlan",
        ),
        (
            json!({"action": "create", "node": NODE, "iface": "vmbr8", "type": "bridge",
                   "bond_mode": "active-backup"}),
            "bond",
        ),
        (
            json!({"action": "create", "iface": "vmbr8", "type": "bridge"}),
            "node",
        ),
        (
            json!({"action": "create", "node": "pve1; rm -rf /", "iface": "vmbr8", "type": "bridge"}),
            "node",
        ),
        (json!({"action": "fw_rules", "level": "galaxy"}), "level"),
        (json!({"action": "fw_rules"}), "level"),
        (json!({"action": "fw_rules", "level": "vm"}), "vmid"),
        (json!({"action": "fw_rules", "level": "node"}), "node"),
        (
            json!({"action": "fw_add_rule", "level": "cluster", "type": "in",
                   "rule_action": "ACCEPT", "proto": "tcp", "dport": "99999"}),
            "port",
        ),
        (
            json!({"action": "fw_add_rule", "level": "cluster", "type": "in",
                   "rule_action": "ALLOW"}),
            "rule_action",
        ),
        (
            json!({"action": "fw_add_rule", "level": "cluster", "type": "in",
                   "rule_action": "ACCEPT", "source": "$(reboot)"}),
            "source",
        ),
        (
            json!({"action": "fw_delete_rule", "level": "cluster"}),
            "pos",
        ),
        (
            json!({"action": "fw_delete_rule", "level": "cluster", "pos": -1}),
            "pos",
        ),
        (
            json!({"action": "fw_rules", "level": "vm", "vmid": "100; rm -rf /"}),
            "vmid",
        ),
        (
            json!({"action": "fw_options", "level": "cluster", "options": {"en able": 1}}),
            "option",
        ),
        (
            json!({"action": "fw_aliases", "level": "node", "node": NODE}),
            "cluster or vm",
        ),
        (json!({"action": "reboot", "node": NODE}), "unknown variant"),
        (
            json!({"action": "list", "node": NODE, "bogus": 1}),
            "unknown field",
        ),
        (
            json!({"action": "apply", "node": NODE, "wait": 601}),
            "wait",
        ),
    ];
    for (args, want) in cases {
        let n = h.audit().len();
        let msg = h.err("network_config", args.clone()).await;
        assert!(
            msg.to_lowercase().contains(&want.to_lowercase()),
            "{args}: want {want:?} in {msg}"
        );
        let audit = h.audit();
        assert!(audit.len() > n, "{args}: no audit record");
        let rec = audit.last().unwrap();
        assert!(
            rec["decision"] == "refused" || rec["decision"] == "failed",
            "{args}: {rec}"
        );
    }
    assert!(h.writes().is_empty(), "{:?}", h.writes());
    assert!(h.mcp.asked().is_empty(), "{:?}", h.mcp.asked());
    assert_eq!(h.sim.state(), before, "a refused call changed the sim");
    h.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn safe_mode_asks_and_a_decline_changes_nothing() {
    let h = Harness::builder(Protocol::Modern)
        .mode("safe")
        .human(Human::Decline)
        .start()
        .await;
    let before = h.sim.state();
    let calls = [
        json!({"action": "create", "node": NODE, "iface": "vmbr7", "type": "bridge"}),
        json!({"action": "fw_add_rule", "level": "cluster", "type": "in", "rule_action": "DROP",
               "proto": "tcp", "dport": "22"}),
        json!({"action": "fw_options", "level": "node", "node": NODE, "options": {"enable": 0}}),
        json!({"action": "revert", "node": NODE}),
    ];
    for (i, args) in calls.iter().enumerate() {
        let msg = h.err("network_config", args.clone()).await;
        assert!(msg.to_lowercase().contains("declined"), "{args}: {msg}");
        assert_eq!(h.mcp.asked().len(), i + 1, "{args}: no question");
        assert_eq!(last_record(&h)["decision"], json!("declined"));
    }
    assert!(h.writes().is_empty(), "{:?}", h.writes());
    assert_eq!(h.sim.state(), before);
    // reads do not ask
    h.ok("network_config", net("list", json!({"node": NODE})))
        .await;
    h.ok(
        "network_config",
        net("fw_rules", json!({"level": "cluster"})),
    )
    .await;
    assert_eq!(h.mcp.asked().len(), calls.len());
    h.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn read_only_mode_refuses_changes_but_reads() {
    let h = Harness::builder(Protocol::Modern)
        .mode("read-only")
        .human(Human::Accept)
        .start()
        .await;
    let before = h.sim.state();
    let msg = h
        .err(
            "network_config",
            json!({"action": "create", "node": NODE, "iface": "vmbr7", "type": "bridge"}),
        )
        .await;
    assert!(msg.contains("read-only"), "{msg}");
    let msg = h
        .err(
            "network_config",
            json!({"action": "fw_delete_rule", "level": "cluster", "pos": 0}),
        )
        .await;
    assert!(msg.contains("read-only"), "{msg}");
    assert!(h.mcp.asked().is_empty());
    let tools = h.mcp.tools().await;
    assert!(tools.iter().any(|t| t.name == "network_config"));
    h.ok(
        "network_config",
        net("get", json!({"node": NODE, "iface": "vmbr0"})),
    )
    .await;
    h.ok("network_config", net("sdn_vnets", json!({}))).await;
    assert!(h.writes().is_empty());
    assert_eq!(h.sim.state(), before);
    h.finish().await;
}
