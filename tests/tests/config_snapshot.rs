//! `config_snapshot` end to end against pve-sim: a diff between two snapshots, or one and now,
//! reports exactly the changes made in between (a VM's memory, a new firewall rule, a removed
//! user) and nothing for rewrites of defaults in other spellings; snapshots are listed, stored
//! privately without secrets, and ids that are not plain names are refused.

use e2e::{Harness, Human, Protocol, ResultExt as _, Value, json};

const TOOL: &str = "config_snapshot";
const SECRET: &str = "s3cret-CI-pass";

async fn normal() -> Harness {
    Harness::builder(Protocol::Modern)
        .mode("normal")
        .human(Human::Accept)
        .start()
        .await
}

/// The first qemu guest: (node, vmid).
async fn a_vm(h: &Harness) -> (String, u64) {
    let vms = e2e::sim::guests(&h.sim.api(), "qemu").await;
    let vm = vms.first().expect("the sim has VMs");
    (
        vm["node"].as_str().unwrap().to_owned(),
        vm["vmid"].as_u64().unwrap(),
    )
}

/// The diff's changes as sorted lines: `+ obj`, `- obj`, `~ obj key old→new`, `+ obj key`, ….
fn lines(diff: &Value) -> Vec<String> {
    let mut out = Vec::new();
    for o in diff["added"].as_array().unwrap() {
        out.push(format!("+ {}", o.as_str().unwrap()));
    }
    for o in diff["removed"].as_array().unwrap() {
        out.push(format!("- {}", o.as_str().unwrap()));
    }
    for o in diff["changed"].as_array().unwrap() {
        let obj = o["object"].as_str().unwrap();
        for c in o["changes"].as_array().unwrap() {
            let key = c["key"].as_str().unwrap();
            out.push(match (c["old"].as_str(), c["new"].as_str()) {
                (Some(a), Some(b)) => format!("~ {obj} {key} {a}→{b}"),
                (None, Some(_)) => format!("+ {obj} {key}"),
                (Some(_), None) => format!("- {obj} {key}"),
                (None, None) => panic!("a change with neither side: {c}"),
            });
        }
    }
    out.sort();
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn diff_reports_exactly_the_drift() {
    let h = normal().await;
    let api = h.sim.api();
    let (node, vmid) = a_vm(&h).await;
    let config_path = format!("/nodes/{node}/qemu/{vmid}/config");
    let before = api.get(&config_path).await.unwrap();
    let memory = before["memory"]
        .as_str()
        .map(str::to_owned)
        .or_else(|| before["memory"].as_u64().map(|m| m.to_string()))
        .unwrap_or_else(|| "512".into());
    let new_memory = (memory.parse::<u64>().unwrap() + 1024).to_string();
    // A user to remove later, and a secret that must never be stored.
    api.post(
        "/access/users",
        &[("userid", "drift@pve"), ("comment", "to be removed")],
    )
    .await
    .unwrap();
    api.put(&config_path, &[("cipassword", SECRET)])
        .await
        .unwrap();

    let a = h.ok(TOOL, json!({"action": "take"})).await;
    let id_a = a["id"].as_str().unwrap().to_owned();
    assert!(a["objects"].as_u64().unwrap() > 20, "{a}");
    assert_eq!(a["not_captured"], json!({}), "everything is readable: {a}");

    // The three real changes.
    api.put(&config_path, &[("memory", &new_memory)])
        .await
        .unwrap();
    api.post(
        "/cluster/firewall/rules",
        &[
            ("type", "in"),
            ("action", "ACCEPT"),
            ("proto", "tcp"),
            ("dport", "2222"),
            ("enable", "1"),
            ("pos", "0"),
        ],
    )
    .await
    .unwrap();
    let del = h
        .call(
            "proxmox_api",
            json!({"method": "DELETE", "path": "/access/users/drift@pve"}),
        )
        .await;
    del.ok("deleting drift@pve");

    // No-op rewrites: defaults made explicit, in other spellings, on guests, users, firewall.
    let same = api.get(&config_path).await.unwrap();
    let mut rewrites: Vec<(&str, &str)> = Vec::new();
    for (key, default) in [("kvm", "1"), ("acpi", "1"), ("tablet", "1"), ("numa", "0")] {
        if same.get(key).is_none() {
            rewrites.push((key, default));
        }
    }
    if same.get("onboot").is_none() {
        rewrites.push(("onboot", "0"));
    }
    if same.get("cores").is_none() {
        rewrites.push(("cores", "1"));
    }
    assert!(rewrites.len() >= 3, "too few defaults to rewrite: {same}");
    api.put(&config_path, &rewrites).await.unwrap();
    api.put(
        "/access/users/root@pam",
        &[("enable", "1"), ("expire", "0")],
    )
    .await
    .unwrap();
    let fw = api.get("/cluster/firewall/options").await.unwrap();
    if fw.get("ebtables").is_none() {
        api.put("/cluster/firewall/options", &[("ebtables", "1")])
            .await
            .unwrap();
    }
    let after = api.get(&config_path).await.unwrap();
    assert_ne!(
        after["kvm"], before["kvm"],
        "the rewrite reached the sim: {after}"
    );

    let writes = h.writes();
    let b = h.ok(TOOL, json!({"action": "take"})).await;
    let id_b = b["id"].as_str().unwrap().to_owned();
    assert_ne!(id_a, id_b);

    let mut want = vec![
        "+ firewall/cluster/rules rule IN ACCEPT dport=2222 enable=1 proto=tcp".to_owned(),
        "- user/drift@pve".to_owned(),
        format!("~ qemu/{vmid} memory {memory}→{new_memory}"),
    ];
    want.sort();
    let d = h
        .ok(TOOL, json!({"action": "diff", "from": id_a, "to": id_b}))
        .await;
    assert_eq!(lines(&d["diff"]), want, "{d}");
    assert_eq!(d["diff"]["not_compared"], json!({}));
    let now = h.ok(TOOL, json!({"action": "diff", "from": id_a})).await;
    assert_eq!(lines(&now["diff"]), want, "{now}");
    assert_eq!(now["to"], "now");
    let none = h.ok(TOOL, json!({"action": "diff", "from": id_b})).await;
    assert_eq!(lines(&none["diff"]), Vec::<String>::new(), "{none}");

    // The text the model reads.
    let r = h
        .call(TOOL, json!({"action": "diff", "from": id_a, "to": id_b}))
        .await;
    let text = r.ok("diff text").text();
    assert!(
        text.contains(&format!("~ memory: {memory} → {new_memory}")),
        "{text}"
    );
    assert!(text.contains("- user/drift@pve"), "{text}");

    let list = h.ok(TOOL, json!({"action": "list"})).await;
    let ids: Vec<&str> = list["snapshots"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [id_a.as_str(), id_b.as_str()]);

    // Stored privately, without the secret.
    use std::os::unix::fs::PermissionsExt as _;
    let dir = h.dir.path().join("state/snapshots");
    for id in [&id_a, &id_b] {
        let path = dir.join(format!("{id}.json"));
        let meta = std::fs::metadata(&path).unwrap();
        assert_eq!(
            meta.permissions().mode() & 0o777,
            0o600,
            "{}",
            path.display()
        );
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(
            !text.contains(SECRET),
            "the CI password is in {}",
            path.display()
        );
        assert!(
            text.contains("\"cipassword\":\"(set)\""),
            "its presence is kept"
        );
    }
    // The tool only read (the writes are the test's own, before the second snapshot).
    assert_eq!(h.writes(), writes, "the tool changed the cluster");
    let audited = h
        .audit()
        .iter()
        .filter(|r| r["tool"] == TOOL && r["result"] != "started")
        .count();
    assert!(audited >= 6, "{audited} audit records");
    h.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_ids_and_arguments_are_refused() {
    // Read-only mode: reading the cluster into our own state is allowed there too.
    let h = Harness::builder(Protocol::Modern)
        .mode("read-only")
        .start()
        .await;
    for (args, want) in [
        (
            json!({"action": "diff", "from": "../state/mode"}),
            "invalid snapshot id",
        ),
        (
            json!({"action": "diff", "from": "/etc/passwd"}),
            "invalid snapshot id",
        ),
        (
            json!({"action": "diff", "from": "ok", "to": "a/b"}),
            "invalid snapshot id",
        ),
        (
            json!({"action": "diff", "from": ".hidden"}),
            "invalid snapshot id",
        ),
        (json!({"action": "diff", "from": "nope"}), "no snapshot"),
        (json!({"action": "diff"}), "diff needs from"),
        (
            json!({"action": "take", "from": "x"}),
            "only for action=diff",
        ),
        (json!({"action": "rollback"}), "unknown variant"),
    ] {
        let msg = h.err(TOOL, args.clone()).await;
        assert!(msg.contains(want), "{args}: {msg}");
    }
    let list = h.ok(TOOL, json!({"action": "list"})).await;
    assert_eq!(list["snapshots"], json!([]));
    assert!(!h.dir.path().join("state/snapshots").exists());
    let taken = h.ok(TOOL, json!({"action": "take"})).await;
    let list = h.ok(TOOL, json!({"action": "list"})).await;
    assert_eq!(list["snapshots"][0]["id"], taken["id"], "{list}");
    assert!(h.writes().is_empty(), "{:?}", h.writes());
    h.finish().await;
}

/// A node that does not answer: its guests are recorded as not captured (with why), the rest
/// is taken, and a diff lists them as not compared instead of removed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_node_is_recorded_not_removed() {
    let h = Harness::start(Protocol::Modern).await;
    let (node, vmid) = a_vm(&h).await;
    let a = h.ok(TOOL, json!({"action": "take"})).await;
    h.sim.handle().set_faults(e2e::Faults {
        offline_nodes: vec![node.clone()],
        ..Default::default()
    });
    let b = h.ok(TOOL, json!({"action": "take"})).await;
    let missing = b["not_captured"].as_object().unwrap();
    let why = missing
        .get(&format!("qemu/{vmid}"))
        .unwrap_or_else(|| panic!("qemu/{vmid} on offline {node} is not recorded: {b}"));
    assert!(!why.as_str().unwrap().is_empty());
    assert!(
        b["objects"].as_u64().unwrap() > 10,
        "the rest was taken: {b}"
    );
    let d = h
        .ok(
            TOOL,
            json!({"action": "diff", "from": a["id"], "to": b["id"]}),
        )
        .await;
    assert_eq!(lines(&d["diff"]), Vec::<String>::new(), "{d}");
    assert!(
        d["diff"]["not_compared"]
            .get(format!("qemu/{vmid}"))
            .is_some(),
        "{d}"
    );
    let text = h
        .call(
            TOOL,
            json!({"action": "diff", "from": a["id"], "to": b["id"]}),
        )
        .await
        .ok("diff text")
        .text();
    assert!(
        text.contains("No drift") && text.contains("Not compared"),
        "{text}"
    );
    h.finish().await;
}
