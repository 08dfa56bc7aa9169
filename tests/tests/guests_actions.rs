//! `vm_action` and `container_action` end to end: every action's effect read back from the sim
//! (both by waiting and by following the UPID with `task_status`), multi-target selectors and
//! the confirmation that lists them, invalid calls that change nothing, safe and read-only modes.

use std::time::{Duration, Instant};

use e2e::{Harness, Human, Protocol, Value, json};

// ---------------------------------------------------------------------------------------------
// helpers

async fn normal(p: Protocol) -> Harness {
    Harness::builder(p)
        .mode("normal")
        .human(Human::Accept)
        .start()
        .await
}

/// The sim's `/cluster/resources` entry of `vmid`, if it exists.
async fn resource(h: &Harness, vmid: u64) -> Option<Value> {
    let all = h
        .sim
        .api()
        .get_query("/cluster/resources", &[("type", "vm")])
        .await
        .unwrap();
    all.as_array()
        .unwrap()
        .iter()
        .find(|g| g["vmid"] == json!(vmid))
        .cloned()
}

async fn node_of(h: &Harness, vmid: u64) -> String {
    resource(h, vmid)
        .await
        .unwrap_or_else(|| panic!("no guest {vmid}"))["node"]
        .as_str()
        .unwrap()
        .to_string()
}

async fn kind_of(h: &Harness, vmid: u64) -> String {
    resource(h, vmid).await.unwrap()["type"]
        .as_str()
        .unwrap()
        .to_string()
}

async fn config(h: &Harness, vmid: u64) -> Value {
    let (node, kind) = (node_of(h, vmid).await, kind_of(h, vmid).await);
    h.sim
        .api()
        .get(&format!("/nodes/{node}/{kind}/{vmid}/config"))
        .await
        .unwrap()
}

async fn status(h: &Harness, vmid: u64) -> String {
    resource(h, vmid).await.unwrap()["status"]
        .as_str()
        .unwrap()
        .to_string()
}

async fn snapshots(h: &Harness, vmid: u64) -> Vec<String> {
    let (node, kind) = (node_of(h, vmid).await, kind_of(h, vmid).await);
    let list = h
        .sim
        .api()
        .get(&format!("/nodes/{node}/{kind}/{vmid}/snapshot"))
        .await
        .unwrap();
    list.as_array()
        .unwrap()
        .iter()
        .filter_map(|s| s["name"].as_str())
        .filter(|n| *n != "current")
        .map(str::to_owned)
        .collect()
}

/// Follows a UPID through our own `task_status` tool until it ends OK.
async fn follow_ok(h: &Harness, r: &Value) {
    let upid = r["upid"].as_str().unwrap_or_else(|| panic!("no upid: {r}"));
    let t = h.ok("task_status", json!({"upid": upid, "wait": 30})).await;
    assert_eq!(t["success"], json!(true), "{t}");
}

/// What must not change when a call is refused: every guest's node, status, name, tags, lock.
async fn fingerprint(h: &Harness) -> Vec<String> {
    let all = h
        .sim
        .api()
        .get_query("/cluster/resources", &[("type", "vm")])
        .await
        .unwrap();
    let mut v: Vec<String> = all
        .as_array()
        .unwrap()
        .iter()
        .map(|g| {
            format!(
                "{} {} {} {} {} {} {}",
                g["vmid"], g["node"], g["status"], g["name"], g["tags"], g["lock"], g["template"]
            )
        })
        .collect();
    v.sort();
    v
}

fn has_vmid(list: &Value, vmid: u64) -> bool {
    e2e::vmids(&e2e::rows(list)).contains(&vmid)
}

// ---------------------------------------------------------------------------------------------
// VM: power, snapshots, config, disks

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn vm_power_snapshots_config_and_disks() {
    let h = normal(Protocol::Modern).await;
    let vm = 101; // stopped, on pve1

    // start with wait: done, and promptly once the task ends
    let t0 = Instant::now();
    let r = h
        .ok("vm_action", json!({"action": "start", "vmid": vm}))
        .await;
    assert!(t0.elapsed() < Duration::from_secs(3), "{:?}", t0.elapsed());
    assert_eq!(r["ok"], json!(true), "{r}");
    assert_eq!(r["task"]["status"], json!("ok"), "{r}");
    assert_eq!(status(&h, vm).await, "running");

    // stop without waiting, then follow the UPID
    let r = h
        .ok(
            "vm_action",
            json!({"action": "stop", "vmid": vm, "wait": 0}),
        )
        .await;
    assert_eq!(r["task"]["status"], json!("started"), "{r}");
    follow_ok(&h, &r).await;
    assert_eq!(status(&h, vm).await, "stopped");

    // snapshot, then change memory, roll back, delete the snapshot
    let before = config(&h, vm).await["memory"].clone();
    h.ok(
        "vm_action",
        json!({"action": "snapshot", "vmid": vm, "snapname": "pre_change", "description": "e2e"}),
    )
    .await;
    assert!(snapshots(&h, vm).await.contains(&"pre_change".to_string()));
    let listed = h
        .ok("vm_action", json!({"action": "list_snapshots", "vmid": vm}))
        .await;
    assert!(
        listed["data"].to_string().contains("pre_change"),
        "{listed}"
    );

    h.ok(
        "vm_action",
        json!({"action": "set_config", "vmid": vm,
               "config": {"memory": 3072, "description": "changed", "cipassword": "hunter2-secret"}}),
    )
    .await;
    let cfg = config(&h, vm).await;
    assert_eq!(cfg["memory"].to_string().trim_matches('"'), "3072", "{cfg}");
    assert_eq!(cfg["description"], json!("changed"));

    let r = h
        .ok(
            "vm_action",
            json!({"action": "rollback", "vmid": vm, "snapname": "pre_change", "wait": 0}),
        )
        .await;
    follow_ok(&h, &r).await;
    assert_eq!(config(&h, vm).await["memory"], before);
    assert_eq!(
        h.mcp.asked().len(),
        3,
        "stop (a hard power-off) and rollback are destructive, and a cloud-init password sets \
         who logs in to the guest: three questions"
    );

    h.ok(
        "vm_action",
        json!({"action": "delete_snapshot", "vmid": vm, "snapname": "pre_change"}),
    )
    .await;
    assert!(!snapshots(&h, vm).await.contains(&"pre_change".to_string()));

    // resize: +2G on the first disk
    let size = |c: &Value| {
        c["scsi0"]
            .as_str()
            .and_then(|d| d.split(',').find_map(|p| p.strip_prefix("size=")))
            .map(str::to_owned)
    };
    let old = size(&config(&h, vm).await).expect("VM 101 has scsi0 with a size");
    let r = h
        .ok(
            "vm_action",
            json!({"action": "resize_disk", "vmid": vm, "disk": "scsi0", "size": "+2G"}),
        )
        .await;
    assert_eq!(r["task"]["status"], json!("ok"), "{r}");
    let new = size(&config(&h, vm).await).unwrap();
    let gib = |s: &str| s.trim_end_matches('G').parse::<u64>().unwrap();
    assert_eq!(gib(&new), gib(&old) + 2, "{old} -> {new}");

    // a cold change on a running VM is reported as pending
    let running = 102;
    let r = h
        .ok(
            "vm_action",
            json!({"action": "set_config", "vmid": running, "config": {"cores": 6}}),
        )
        .await;
    let pending = r["data"]["pending"].to_string();
    assert!(pending.contains("cores"), "{r}");

    // the password never reaches the audit log or any result
    let audit = serde_json::to_string(&h.audit()).unwrap();
    assert!(!audit.contains("hunter2"), "secret in the audit log");
    h.finish().await;
}

// ---------------------------------------------------------------------------------------------
// VM: clone, migrate, backup, restore, template, destroy

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn vm_clone_migrate_backup_restore_template_destroy() {
    let h = normal(Protocol::Modern).await;

    // clone with the next free id, followed via task_status; it shows in list_vms
    let r = h
        .ok(
            "vm_action",
            json!({"action": "clone", "vmid": 101, "name": "clone-e2e"}),
        )
        .await;
    let newid = r["data"]["newid"].as_u64().unwrap_or_else(|| panic!("{r}"));
    follow_ok(&h, &r).await;
    let list = h.ok("list_vms", json!({})).await;
    assert!(
        has_vmid(&list, newid),
        "clone {newid} not in list_vms: {list}"
    );
    assert_eq!(
        resource(&h, newid).await.unwrap()["name"],
        json!("clone-e2e")
    );

    // migrate a stopped VM: the preflight is reported, the VM ends up on the target
    let r = h
        .ok(
            "vm_action",
            json!({"action": "migrate", "vmid": 104, "node": "pve2", "wait": 30}),
        )
        .await;
    assert!(r["data"]["preflight"].is_object(), "{r}");
    assert_eq!(node_of(&h, 104).await, "pve2");
    // a running VM with local disks: the preflight refuses, nothing moves
    h.sim.clear_requests();
    let msg = h
        .err(
            "vm_action",
            json!({"action": "migrate", "vmid": 102, "node": "pve2"}),
        )
        .await;
    assert!(
        msg.contains("preflight") && msg.contains("with_local_disks"),
        "{msg}"
    );
    assert!(h.writes().is_empty(), "{:?}", h.writes());
    assert_eq!(node_of(&h, 102).await, "pve1");

    // backup to `local`: the archive appears in the storage content
    let r = h
        .ok(
            "vm_action",
            json!({"action": "backup", "vmid": 101, "storage": "local", "mode": "snapshot"}),
        )
        .await;
    follow_ok(&h, &r).await;
    let content = h
        .sim
        .api()
        .get_query(
            "/nodes/pve1/storage/local/content",
            &[("content", "backup")],
        )
        .await
        .unwrap();
    let volid = content
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|v| v["volid"].as_str())
        .find(|v| v.contains("vzdump-qemu-101-") && v.ends_with(".zst"))
        .unwrap_or_else(|| panic!("no backup of 101 in {content}"))
        .to_string();

    // restore into a new VM, waiting
    let r = h
        .ok(
            "vm_action",
            json!({"action": "restore", "archive": volid, "node": "pve1", "wait": 30}),
        )
        .await;
    let restored = r["data"]["vmid"].as_u64().unwrap_or_else(|| panic!("{r}"));
    assert_eq!(r["task"]["status"], json!("ok"), "{r}");
    assert_eq!(
        resource(&h, restored).await.unwrap()["name"],
        json!("monitor-01")
    );
    // over an existing VM only with force (and it asks: it overwrites)
    let msg = h
        .err(
            "vm_action",
            json!({"action": "restore", "archive": volid, "vmid": restored}),
        )
        .await;
    assert!(msg.contains("force"), "{msg}");
    let asked = h.mcp.asked().len();
    h.ok(
        "vm_action",
        json!({"action": "restore", "archive": volid, "vmid": restored, "force": true, "wait": 30}),
    )
    .await;
    assert_eq!(h.mcp.asked().len(), asked + 1);

    // template, then destroy (destructive: asked and accepted)
    h.ok(
        "vm_action",
        json!({"action": "convert_to_template", "vmid": newid}),
    )
    .await;
    assert_eq!(resource(&h, newid).await.unwrap()["template"], json!(1));
    let r = h
        .ok("vm_action", json!({"action": "destroy", "vmid": newid}))
        .await;
    follow_ok(&h, &r).await;
    assert!(resource(&h, newid).await.is_none(), "{newid} still exists");
    let asked = h.mcp.asked();
    assert!(
        asked
            .last()
            .unwrap()
            .contains(&format!("DELETE /nodes/pve1/qemu/{newid}")),
        "{asked:?}"
    );
    h.finish().await;
}

// ---------------------------------------------------------------------------------------------
// create

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_vm_and_container_with_safe_defaults() {
    let h = normal(Protocol::Modern).await;
    let r = h
        .ok(
            "vm_action",
            json!({"action": "create", "node": "pve1", "name": "fresh-vm", "wait": 30, "config": {
                "memory": 1024, "cores": 2, "scsi0": "local-lvm:8",
                "net0": "virtio,bridge=vmbr0",
                "ide2": "local:iso/debian-12.7.0-amd64-netinst.iso,media=cdrom",
                "ciuser": "admin", "cipassword": "very-secret-pw",
                "sshkeys": "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIExample admin@host",
                "ipconfig0": "ip=10.0.0.50/24,gw=10.0.0.1"}}),
        )
        .await;
    let vmid = r["data"]["vmid"].as_u64().unwrap_or_else(|| panic!("{r}"));
    let cfg = config(&h, vmid).await;
    assert_eq!(cfg["agent"].to_string().trim_matches('"'), "1", "{cfg}");
    assert_eq!(cfg["name"], json!("fresh-vm"));
    assert!(
        cfg["scsi0"].as_str().unwrap().starts_with("local-lvm:"),
        "{cfg}"
    );
    // PVE's `urlencoded` sshkeys: spaces as %20
    assert!(
        cfg["sshkeys"].as_str().unwrap().contains("ssh-ed25519%20"),
        "{cfg}"
    );

    let r = h
        .ok(
            "container_action",
            json!({"action": "create", "node": "pve2", "name": "fresh-ct",
                   "ostemplate": "local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst",
                   // (not `password`: the sim's request log masks it, and the schema check
                   // then sees a 4-character password)
                   "config": {"memory": 256,
                              "ssh-public-keys": "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIExample root@host",
                              "net0": "name=eth0,bridge=vmbr0,ip=dhcp"}}),
        )
        .await;
    let ct = r["data"]["vmid"].as_u64().unwrap();
    follow_ok(&h, &r).await;
    let cfg = config(&h, ct).await;
    assert_eq!(
        cfg["unprivileged"].to_string().trim_matches('"'),
        "1",
        "{cfg}"
    );
    assert_eq!(cfg["hostname"], json!("fresh-ct"));

    let audit = serde_json::to_string(&h.audit()).unwrap();
    assert!(
        !audit.contains("very-secret-pw"),
        "the cloud-init password is in the audit log"
    );
    h.finish().await;
}

// ---------------------------------------------------------------------------------------------
// containers

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn container_lifecycle_end_to_end() {
    let h = normal(Protocol::Legacy).await;
    let ct = 117; // stopped, on pve1
    h.ok("container_action", json!({"action": "start", "vmid": ct}))
        .await;
    assert_eq!(status(&h, ct).await, "running");
    h.ok(
        "container_action",
        json!({"action": "snapshot", "vmid": ct, "snapname": "before"}),
    )
    .await;
    assert!(snapshots(&h, ct).await.contains(&"before".to_string()));
    h.ok(
        "container_action",
        json!({"action": "shutdown", "vmid": ct, "timeout": 5, "force": true}),
    )
    .await;
    assert_eq!(status(&h, ct).await, "stopped");

    // set_config is a synchronous PUT for containers
    let r = h
        .ok(
            "container_action",
            json!({"action": "set_config", "vmid": ct, "config": {"memory": 768, "swap": 256}}),
        )
        .await;
    assert!(r["data"]["pending"].is_array(), "{r}");
    assert_eq!(
        config(&h, ct).await["memory"].to_string().trim_matches('"'),
        "768"
    );

    h.ok(
        "container_action",
        json!({"action": "resize_disk", "vmid": ct, "disk": "rootfs", "size": "+1G"}),
    )
    .await;

    // migrate (stopped: offline), followed via task_status
    let r = h
        .ok(
            "container_action",
            json!({"action": "migrate", "vmid": ct, "node": "pve3"}),
        )
        .await;
    assert!(r["data"]["preflight"].is_object(), "{r}");
    follow_ok(&h, &r).await;
    assert_eq!(node_of(&h, ct).await, "pve3");

    // clone, backup + restore, template, destroy
    let r = h
        .ok(
            "container_action",
            json!({"action": "clone", "vmid": ct, "name": "ct-copy", "wait": 30}),
        )
        .await;
    let copy = r["data"]["newid"].as_u64().unwrap();
    assert_eq!(resource(&h, copy).await.unwrap()["name"], json!("ct-copy"));
    let list = h.ok("list_containers", json!({})).await;
    assert!(has_vmid(&list, copy), "{list}");

    let r = h
        .ok(
            "container_action",
            json!({"action": "backup", "vmid": ct, "storage": "nfs-backup", "wait": 30}),
        )
        .await;
    assert_eq!(r["task"]["status"], json!("ok"), "{r}");
    let content = h
        .sim
        .api()
        .get("/nodes/pve3/storage/nfs-backup/content")
        .await
        .unwrap();
    let volid = content
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|v| v["volid"].as_str())
        .find(|v| v.contains(&format!("vzdump-lxc-{ct}-")))
        .unwrap_or_else(|| panic!("no CT backup in {content}"))
        .to_string();
    let r = h
        .ok(
            "container_action",
            json!({"action": "restore", "archive": volid, "node": "pve1", "wait": 30}),
        )
        .await;
    let restored = r["data"]["vmid"].as_u64().unwrap();
    assert_eq!(kind_of(&h, restored).await, "lxc");
    assert_eq!(
        resource(&h, restored).await.unwrap()["name"],
        json!("monitor-05")
    );

    h.ok(
        "container_action",
        json!({"action": "convert_to_template", "vmid": copy}),
    )
    .await;
    assert_eq!(resource(&h, copy).await.unwrap()["template"], json!(1));
    h.ok(
        "container_action",
        json!({"action": "destroy", "vmid": copy, "wait": 30}),
    )
    .await;
    assert!(resource(&h, copy).await.is_none());
    h.finish().await;
}

// ---------------------------------------------------------------------------------------------
// multi-target

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn multi_target_start_by_tag_lists_every_guest_and_starts_them_all() {
    let h = Harness::builder(Protocol::Modern)
        .mode("safe")
        .human(Human::Accept)
        .start()
        .await;
    let api = h.sim.api();
    let batch = [101u64, 104, 107, 108];
    for vmid in batch {
        let node = node_of(&h, vmid).await;
        api.post(
            &format!("/nodes/{node}/qemu/{vmid}/config"),
            &[("tags", "batch;e2e")],
        )
        .await
        .unwrap();
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    for vmid in batch {
        assert_eq!(status(&h, vmid).await, "stopped");
    }
    let r = h
        .ok(
            "vm_action",
            json!({"action": "start", "tag": "batch", "wait": 30}),
        )
        .await;
    let results = r["results"].as_array().unwrap_or_else(|| panic!("{r}"));
    assert_eq!(results.len(), batch.len(), "{r}");
    assert!(results.iter().all(|x| x["ok"] == json!(true)), "{r}");
    for vmid in batch {
        assert_eq!(status(&h, vmid).await, "running", "{vmid}");
    }
    // the human approved the whole resolved set, by id and name
    let asked = h.mcp.asked();
    assert_eq!(asked.len(), 1, "{asked:?}");
    for vmid in batch {
        assert!(
            asked[0].contains(&format!("VM {vmid} (")),
            "{vmid}: {}",
            asked[0]
        );
    }
    assert!(asked[0].contains("monitor-01"), "{}", asked[0]);
    // the starts ran concurrently: all were requested before the last one finished
    let starts: Vec<_> = h
        .sim
        .requests()
        .into_iter()
        .filter(|q| q.method == "POST" && q.path.ends_with("/status/start"))
        .collect();
    assert_eq!(starts.len(), batch.len());
    // an explicit list works too, and the audit names every target
    let r = h
        .ok(
            "vm_action",
            json!({"action": "stop", "vmids": [101, 104], "wait": 30}),
        )
        .await;
    assert_eq!(r["results"].as_array().unwrap().len(), 2, "{r}");
    assert_eq!(status(&h, 101).await, "stopped");
    let rec = h
        .audit()
        .into_iter()
        .rev()
        .find(|a| a["tool"] == json!("vm_action") && a["result"] != json!("started"))
        .unwrap();
    assert!(rec["target"].to_string().contains("101,104"), "{rec}");
    h.finish().await;
}

// ---------------------------------------------------------------------------------------------
// refusals

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_calls_are_refused_audited_and_change_nothing() {
    let h = normal(Protocol::Modern).await;
    // A guest carrying the protected tag.
    let api = h.sim.api();
    api.post("/nodes/pve2/qemu/107/config", &[("tags", "protected;prod")])
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    h.sim.clear_requests();
    let before = fingerprint(&h).await;
    let snaps_before = snapshots(&h, 101).await;

    let cases: Vec<(&str, Value, &str)> = vec![
        (
            "vm_action",
            json!({"action": "start", "vmid": "100; rm -rf /"}),
            "vmid",
        ),
        (
            "vm_action",
            json!({"action": "snapshot", "vmid": 101}),
            "snapname",
        ),
        (
            "vm_action",
            json!({"action": "explode", "vmid": 101}),
            "unknown variant",
        ),
        (
            "vm_action",
            json!({"action": "start", "vmid": true}),
            "vmid",
        ),
        (
            "vm_action",
            json!({"action": "start", "vmid": 101, "bogus": 1}),
            "unknown field",
        ),
        (
            "vm_action",
            json!({"action": "destroy", "vmid": 107}),
            "protected",
        ),
        (
            "vm_action",
            json!({"action": "rollback", "vmid": 107, "snapname": "x"}),
            "protected",
        ),
        (
            "vm_action",
            json!({"action": "resize_disk", "vmid": 101, "disk": "scsi0", "size": "+-5G"}),
            "size",
        ),
        (
            "vm_action",
            json!({"action": "set_config", "vmid": 101, "config": {"args": "-monitor stdio"}}),
            "not supported",
        ),
        (
            "vm_action",
            json!({"action": "set_config", "vmid": 101, "config": {"scsi1": "local-lvm:vm-102-disk-0"}}),
            "allowed forms",
        ),
        (
            "vm_action",
            json!({"action": "destroy", "tag": "prod"}),
            "one guest",
        ),
        (
            "vm_action",
            json!({"action": "start", "vmid": 113}),
            "container_action",
        ),
        (
            "vm_action",
            json!({"action": "start", "vmid": 99999}),
            "does not exist",
        ),
        (
            "vm_action",
            json!({"action": "snapshot", "vmid": 101, "snapname": "../x"}),
            "snapname",
        ),
        (
            "vm_action",
            json!({"action": "create", "node": "../etc", "config": {"memory": 512}}),
            "node",
        ),
        (
            "vm_action",
            json!({"action": "restore", "archive": "local:../../etc/shadow", "node": "pve1"}),
            "volume id",
        ),
        (
            "container_action",
            json!({"action": "reset", "vmid": 117}),
            "unknown variant",
        ),
        (
            "container_action",
            json!({"action": "create", "node": "pve1", "name": "x"}),
            "ostemplate",
        ),
    ];
    for (tool, args, want) in &cases {
        let n = h.audit().len();
        let msg = h.err(tool, args.clone()).await;
        assert!(
            msg.to_lowercase().contains(&want.to_lowercase()),
            "{args}: {msg}"
        );
        let audit = h.audit();
        assert!(audit.len() > n, "{args}: not audited");
        let last = audit.last().unwrap();
        assert_eq!(last["tool"], json!(tool), "{last}");
        assert_ne!(last["decision"], json!("allowed"), "{args}: {last}");
    }
    assert!(h.writes().is_empty(), "{:?}", h.writes());
    assert_eq!(fingerprint(&h).await, before);
    assert_eq!(snapshots(&h, 101).await, snaps_before);
    assert!(h.mcp.asked().is_empty(), "{:?}", h.mcp.asked());
    h.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn safe_mode_decline_and_read_only_change_nothing() {
    let h = Harness::builder(Protocol::Modern)
        .mode("safe")
        .human(Human::Decline)
        .start()
        .await;
    let before = fingerprint(&h).await;
    let msg = h
        .err("vm_action", json!({"action": "start", "vmid": 101}))
        .await;
    assert!(msg.contains("said no"), "{msg}");
    let msg = h
        .err("container_action", json!({"action": "start", "tag": "dev"}))
        .await;
    assert!(msg.contains("said no"), "{msg}");
    assert_eq!(h.mcp.asked().len(), 2);
    assert!(h.writes().is_empty(), "{:?}", h.writes());
    assert_eq!(fingerprint(&h).await, before);
    h.finish().await;

    let h = Harness::builder(Protocol::Legacy)
        .mode("read-only")
        .human(Human::Accept)
        .start()
        .await;
    let msg = h
        .err("vm_action", json!({"action": "start", "vmid": 101}))
        .await;
    assert!(msg.contains("read-only"), "{msg}");
    // reads still work
    h.ok(
        "vm_action",
        json!({"action": "list_snapshots", "vmid": 101}),
    )
    .await;
    assert!(h.writes().is_empty(), "{:?}", h.writes());
    assert!(h.mcp.asked().is_empty());
    h.finish().await;
}
