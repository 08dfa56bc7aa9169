//! `storage_operations` and `list_tasks` against the simulator: every action's effect is visible
//! in a following read, invalid calls change nothing and are audited, safe mode asks first.

use std::time::Duration;

use e2e::{ApiClient, Harness, Human, Map, Protocol, Value, json, per_protocol, rows};

per_protocol!(reads_match_the_sim);

// ---------------------------------------------------------------------------------------------
// helpers

async fn harness(mode: &str, human: Human) -> Harness {
    Harness::builder(Protocol::Modern)
        .mode(mode)
        .human(human)
        .start()
        .await
}

async fn node_names(api: &ApiClient) -> Vec<String> {
    let mut v: Vec<String> = api
        .get("/nodes")
        .await
        .expect("sim /nodes")
        .as_array()
        .expect("nodes array")
        .iter()
        .filter_map(|n| n["node"].as_str().map(str::to_string))
        .collect();
    v.sort();
    v
}

/// The volids on `storage` as `node` sees them, straight from the sim.
async fn sim_volids(api: &ApiClient, node: &str, storage: &str) -> Vec<String> {
    let mut v: Vec<String> = api
        .get(&format!("/nodes/{node}/storage/{storage}/content"))
        .await
        .expect("sim content")
        .as_array()
        .expect("content array")
        .iter()
        .filter_map(|x| x["volid"].as_str().map(str::to_string))
        .collect();
    v.sort();
    v
}

async fn sim_jobs(api: &ApiClient) -> Vec<Value> {
    api.get("/cluster/backup")
        .await
        .expect("sim /cluster/backup")
        .as_array()
        .cloned()
        .unwrap_or_default()
}

fn col(rows: &[Map<String, Value>], key: &str) -> Vec<String> {
    rows.iter()
        .filter_map(|r| r[key].as_str().map(str::to_string))
        .collect()
}

fn has(rows: &[Map<String, Value>], key: &str, value: &str) -> bool {
    rows.iter().any(|r| r[key].as_str() == Some(value))
}

/// The `data` table of an action result as rows.
fn data_rows(r: &Value) -> Vec<Map<String, Value>> {
    rows(&r["data"])
}

/// Final audit records of `tool` (not the "started" intent records).
fn audited(h: &Harness, tool: &str) -> usize {
    h.audit()
        .iter()
        .filter(|r| r["tool"] == json!(tool) && r["result"] != json!("started"))
        .count()
}

/// A guest outside the `prod` pool (which the sim's default job covers), not a template.
async fn unbacked_guest(api: &ApiClient) -> (String, u64) {
    let all = api
        .get_query("/cluster/resources", &[("type", "vm")])
        .await
        .expect("resources");
    let g = all
        .as_array()
        .expect("array")
        .iter()
        .find(|g| {
            g["pool"].as_str() != Some("prod")
                && g["template"].as_u64().unwrap_or(0) == 0
                && g["lock"].is_null()
        })
        .expect("a guest outside prod")
        .clone();
    (
        g["node"].as_str().unwrap().to_string(),
        g["vmid"].as_u64().unwrap(),
    )
}

/// A guest with backups on nfs-backup, and its backup volids.
async fn backed_up_guest(api: &ApiClient, node: &str) -> (u64, Vec<String>) {
    let content = api
        .get(&format!("/nodes/{node}/storage/nfs-backup/content"))
        .await
        .expect("content");
    let list = content.as_array().expect("array");
    let vmid = list[0]["vmid"].as_u64().expect("backup vmid");
    let mut vols: Vec<String> = list
        .iter()
        .filter(|v| v["vmid"].as_u64() == Some(vmid))
        .filter_map(|v| v["volid"].as_str().map(str::to_string))
        .collect();
    vols.sort();
    (vmid, vols)
}

// ---------------------------------------------------------------------------------------------
// reads

async fn reads_match_the_sim(p: Protocol) {
    let h = Harness::start(p).await;
    let api = h.sim.api();
    let nodes = node_names(&api).await;
    let node = &nodes[0];

    let r = h.ok("storage_operations", json!({"action": "list"})).await;
    let mut got = col(&data_rows(&r), "storage");
    got.sort();
    let mut want: Vec<String> = api
        .get("/storage")
        .await
        .unwrap()
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|s| s["storage"].as_str().map(str::to_string))
        .collect();
    want.sort();
    assert_eq!(got, want);
    assert!(data_rows(&r).iter().all(|r| r["max_used_pct"].is_number()));

    let r = h
        .ok("storage_operations", json!({"action": "status"}))
        .await;
    let rs = data_rows(&r);
    for n in &nodes {
        assert!(has(&rs, "node", n), "{n} missing: {r}");
    }
    let r = h
        .ok(
            "storage_operations",
            json!({"action": "status", "node": node}),
        )
        .await;
    assert!(col(&data_rows(&r), "node").iter().all(|n| n == node));

    let r = h
        .ok(
            "storage_operations",
            json!({"action": "content", "node": node, "storage": "local"}),
        )
        .await;
    let mut got = col(&data_rows(&r), "volid");
    got.sort();
    assert_eq!(got, sim_volids(&api, node, "local").await);
    let r = h
        .ok(
            "storage_operations",
            json!({"action": "content", "node": node, "storage": "local", "content": "iso"}),
        )
        .await;
    let rs = data_rows(&r);
    assert!(!rs.is_empty() && col(&rs, "content").iter().all(|c| c == "iso"));
    let (vmid, vols) = backed_up_guest(&api, node).await;
    let r = h
        .ok(
            "storage_operations",
            json!({"action": "content", "node": node, "storage": "nfs-backup", "vmid": vmid}),
        )
        .await;
    let mut got = col(&data_rows(&r), "volid");
    got.sort();
    assert_eq!(got, vols);

    let r = h.ok("storage_operations", json!({"action": "jobs"})).await;
    assert!(has(&data_rows(&r), "id", "backup-sim-daily"), "{r}");
    let r = h
        .ok("storage_operations", json!({"action": "coverage"}))
        .await;
    let sim: Vec<u64> = api
        .get("/cluster/backup-info/not-backed-up")
        .await
        .unwrap()
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|g| g["vmid"].as_u64())
        .collect();
    assert_eq!(e2e::vmids(&data_rows(&r)), {
        let mut s = sim.clone();
        s.sort_unstable();
        s
    });
    assert!(h.writes().is_empty(), "{:?}", h.writes());
    h.finish().await;
}

// ---------------------------------------------------------------------------------------------
// downloads and volumes

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn download_appears_and_delete_removes() {
    let h = harness("normal", Human::Accept).await;
    let api = h.sim.api();
    let node = node_names(&api).await[0].clone();

    // Waited for: the ISO is there when the call returns.
    let r = h
        .ok(
            "storage_operations",
            json!({"action": "download_url", "node": node, "storage": "local",
                   "url": "https://mirror.example.org/images/test-1.iso",
                   "checksum": "a".repeat(64)}),
        )
        .await;
    assert_eq!(r["task"]["status"], "ok", "{r}");
    assert!(
        sim_volids(&api, &node, "local")
            .await
            .contains(&"local:iso/test-1.iso".into())
    );
    let req = h
        .sim
        .requests()
        .into_iter()
        .find(|r| r.method == "POST" && r.path.ends_with("/download-url"))
        .expect("the download request");
    assert!(format!("{req:?}").contains("sha256"), "{req:?}");

    // Not waited for: followed with task_status, then visible through our own content read.
    let r = h
        .ok(
            "storage_operations",
            json!({"action": "download_url", "node": node, "storage": "local", "wait": 0,
                   "url": "http://example.org/t/alpine-3.21-default_amd64.tar.xz"}),
        )
        .await;
    let upid = r["upid"].as_str().expect("upid").to_string();
    let t = h.ok("task_status", json!({"upid": upid, "wait": 30})).await;
    assert_eq!(t["success"], true, "{t}");
    let r = h
        .ok(
            "storage_operations",
            json!({"action": "content", "node": node, "storage": "local", "content": "vztmpl"}),
        )
        .await;
    assert!(
        has(
            &data_rows(&r),
            "volid",
            "local:vztmpl/alpine-3.21-default_amd64.tar.xz"
        ),
        "{r}"
    );

    // Delete: gone afterwards.
    h.ok(
        "storage_operations",
        json!({"action": "delete_volume", "node": node, "volume": "local:iso/test-1.iso"}),
    )
    .await;
    assert!(
        !sim_volids(&api, &node, "local")
            .await
            .contains(&"local:iso/test-1.iso".into())
    );
    // A volume that does not exist is PVE's error, as an isError.
    let msg = h
        .err(
            "storage_operations",
            json!({"action": "delete_volume", "node": node, "storage": "local",
                   "volume": "iso/test-1.iso"}),
        )
        .await;
    assert!(msg.contains("does not exist"), "{msg}");
    h.finish().await;
}

// ---------------------------------------------------------------------------------------------
// pruning

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prune_previews_then_removes() {
    let h = harness("normal", Human::Accept).await;
    let api = h.sim.api();
    let node = node_names(&api).await[0].clone();
    let (vmid, vols) = backed_up_guest(&api, &node).await;
    assert_eq!(vols.len(), 3, "{vols:?}");
    let before = sim_volids(&api, &node, "nfs-backup").await;
    let args = json!({"action": "prune_backups", "node": node, "storage": "nfs-backup",
                      "vmid": vmid, "keep": "keep-last=1"});

    // Dry run (the default): lists what would go, removes nothing, asks nobody.
    let r = h.ok("storage_operations", args.clone()).await;
    let marks = data_rows(&r);
    let removed: Vec<&str> = marks
        .iter()
        .filter(|m| m["mark"] == "remove")
        .filter_map(|m| m["volid"].as_str())
        .collect();
    assert_eq!(removed.len(), 2, "{r}");
    assert_eq!(sim_volids(&api, &node, "nfs-backup").await, before);
    assert!(h.mcp.asked().is_empty());
    assert!(h.writes().is_empty());

    // For real: asks (destructive), then exactly the previewed backups are gone.
    let mut real = args.clone();
    real["dry_run"] = json!(false);
    let r = h.ok("storage_operations", real).await;
    assert_eq!(r["task"]["status"], "ok", "{r}");
    assert_eq!(h.mcp.asked().len(), 1);
    assert!(h.mcp.asked()[0].contains("PRUNE"), "{:?}", h.mcp.asked());
    let after = sim_volids(&api, &node, "nfs-backup").await;
    for v in &before {
        assert_eq!(after.contains(v), !removed.contains(&v.as_str()), "{v}");
    }
    h.finish().await;
}

// ---------------------------------------------------------------------------------------------
// backup jobs and tasks

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backup_job_lifecycle_and_run_now() {
    let h = harness("normal", Human::Accept).await;
    let api = h.sim.api();
    let (node, vmid) = unbacked_guest(&api).await;
    let uncovered = |r: &Value| e2e::vmids(&data_rows(r)).contains(&vmid);
    let r = h
        .ok("storage_operations", json!({"action": "coverage"}))
        .await;
    assert!(uncovered(&r), "{vmid} should not be covered yet: {r}");

    // Create: listed by us and by the sim; the guest is covered now.
    let r = h
        .ok(
            "storage_operations",
            json!({"action": "job_create", "schedule": "03:30", "storage": "nfs-backup",
                   "vmids": [vmid], "mode": "snapshot", "compress": "zstd",
                   "comment": "test job"}),
        )
        .await;
    let id = r["data"]["id"].as_str().expect("job id").to_string();
    let r = h.ok("storage_operations", json!({"action": "jobs"})).await;
    assert!(has(&data_rows(&r), "id", &id), "{r}");
    let job = sim_jobs(&api)
        .await
        .into_iter()
        .find(|j| j["id"] == json!(id))
        .unwrap();
    assert_eq!(job["vmid"], json!(vmid.to_string()));
    assert_eq!(job["schedule"], "03:30");
    let r = h
        .ok("storage_operations", json!({"action": "coverage"}))
        .await;
    assert!(!uncovered(&r), "{r}");

    // Update: new schedule, disabled; coverage drops the guest again.
    h.ok(
        "storage_operations",
        json!({"action": "job_update", "id": id, "schedule": "sat 04:00", "enabled": false}),
    )
    .await;
    let job = sim_jobs(&api)
        .await
        .into_iter()
        .find(|j| j["id"] == json!(id))
        .unwrap();
    assert_eq!(job["schedule"], "sat 04:00");
    assert_eq!(job["enabled"], 0);
    let r = h
        .ok("storage_operations", json!({"action": "coverage"}))
        .await;
    assert!(uncovered(&r), "{r}");

    // Run now: a vzdump task on the guest's node, visible in list_tasks and task_status, and
    // its backup in the content.
    let backups = |r: &Value| {
        data_rows(r)
            .iter()
            .filter(|v| v["vmid"].as_u64() == Some(vmid))
            .count()
    };
    let content = json!({"action": "content", "node": node, "storage": "nfs-backup",
                         "vmid": vmid});
    let had = backups(&h.ok("storage_operations", content.clone()).await);
    let r = h
        .ok("storage_operations", json!({"action": "job_run", "id": id}))
        .await;
    let upid = r["upid"].as_str().expect("upid").to_string();
    assert!(upid.contains(":vzdump:"), "{upid}");
    assert!(upid.contains(&format!("UPID:{node}:")), "{upid}");
    let t = h.ok("task_status", json!({"upid": upid, "wait": 30})).await;
    assert_eq!(t["success"], true, "{t}");
    let r = h
        .ok("list_tasks", json!({"type": "vzdump", "vmid": vmid}))
        .await;
    let rs = rows(&r);
    let row = rs
        .iter()
        .find(|x| x["upid"] == json!(upid))
        .expect("task listed");
    assert_eq!(row["status"], "OK");
    assert_eq!(row["node"], json!(node));
    let r = h
        .ok(
            "list_tasks",
            json!({"node": node, "since": "1h", "limit": 5}),
        )
        .await;
    assert!(rows(&r).iter().any(|x| x["upid"] == json!(upid)), "{r}");
    assert_eq!(backups(&h.ok("storage_operations", content).await), had + 1);

    // Delete: gone from the list.
    h.ok(
        "storage_operations",
        json!({"action": "job_delete", "id": id}),
    )
    .await;
    assert!(sim_jobs(&api).await.iter().all(|j| j["id"] != json!(id)));
    let r = h.ok("storage_operations", json!({"action": "jobs"})).await;
    assert!(!has(&data_rows(&r), "id", &id));
    h.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_tasks_filters() {
    let h = harness("normal", Human::Accept).await;
    let api = h.sim.api();
    let nodes = node_names(&api).await;
    let (node, vmid) = unbacked_guest(&api).await;
    let upid = api
        .post(
            &format!("/nodes/{node}/vzdump"),
            &[("vmid", &vmid.to_string()), ("storage", "local")],
        )
        .await
        .unwrap();
    let upid = upid.as_str().unwrap().to_string();
    // Running first (the sim's vzdump takes 50 ms), then finished.
    let r = h.ok("list_tasks", json!({"running": true})).await;
    for t in rows(&r) {
        assert_eq!(t["status"], "running", "{t:?}");
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let all = h.ok("list_tasks", json!({"limit": 1000})).await;
    let all = rows(&all);
    assert!(all.iter().any(|t| t["upid"] == json!(upid)));
    let listed_nodes = col(&all, "node");
    assert!(listed_nodes.iter().all(|n| nodes.iter().any(|x| x == n)));
    let starts = col(&all, "start");
    assert!(starts.windows(2).all(|w| w[0] >= w[1]), "newest first");

    let one = h.ok("list_tasks", json!({"limit": 1})).await;
    assert_eq!(rows(&one).len(), 1);
    let r = h
        .ok("list_tasks", json!({"vmid": vmid, "type": "vzdump"}))
        .await;
    assert_eq!(col(&rows(&r), "upid"), vec![upid.clone()]);
    let r = h.ok("list_tasks", json!({"errors": true})).await;
    assert!(rows(&r).iter().all(|t| t["status"] != "OK"), "{r}");
    let r = h
        .ok("list_tasks", json!({"user": "nobody@pve", "node": node}))
        .await;
    assert!(rows(&r).is_empty(), "{r}");
    for (args, want) in [
        (json!({"since": "yesterday"}), "since"),
        (json!({"type": "qm;start"}), "type"),
        (json!({"limit": 0}), "limit"),
        (json!({"node": "../x"}), "node name"),
    ] {
        let msg = h.err("list_tasks", args.clone()).await;
        assert!(msg.contains(want), "{args}: {msg}");
    }
    h.finish().await;
}

// ---------------------------------------------------------------------------------------------
// refusals

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_calls_are_errors_audited_and_change_nothing() {
    let h = harness("normal", Human::Accept).await;
    let api = h.sim.api();
    let node = node_names(&api).await[0].clone();
    let local = sim_volids(&api, &node, "local").await;
    let jobs = sim_jobs(&api).await;
    h.sim.clear_requests();
    let cases = [
        (
            json!({"action": "content", "node": node, "storage": "../etc"}),
            "not a valid storage id",
        ),
        (
            json!({"action": "download_url", "node": node, "storage": "local;rm",
                   "url": "https://example.org/a.iso"}),
            "not a valid storage id",
        ),
        (
            json!({"action": "delete_volume", "node": node,
                   "volume": "local:iso/../../etc/passwd"}),
            "leaves the storage",
        ),
        (
            json!({"action": "delete_volume", "node": node, "volume": "../etc/passwd"}),
            "volume",
        ),
        (
            json!({"action": "content", "storage": "local"}),
            "node is required",
        ),
        (
            json!({"action": "delete_volume", "volume": "local:iso/x.iso"}),
            "node is required",
        ),
        (
            json!({"action": "download_url", "node": node, "storage": "local",
                   "url": "file:///etc/passwd"}),
            "only http",
        ),
        (
            json!({"action": "download_url", "node": node, "storage": "local",
                   "url": "https://example.org/a.iso", "checksum": "abc"}),
            "checksum",
        ),
        (json!({"action": "explode"}), "unknown variant"),
        (
            json!({"action": "content", "node": node, "storage": "local",
                   "vmid": "100; rm -rf /"}),
            "vmid",
        ),
        (
            json!({"action": "prune_backups", "node": node, "storage": "nfs-backup",
                   "keep": "keep-forever=1", "dry_run": false}),
            "unknown option",
        ),
        (
            json!({"action": "job_update", "id": "backup-sim-daily"}),
            "needs a change",
        ),
        (
            json!({"action": "job_create", "schedule": "02:00", "storage": "local"}),
            "needs the guests",
        ),
        (
            json!({"action": "job_delete", "id": "../x"}),
            "not a valid job id",
        ),
        (json!({"action": "job_run"}), "id is required"),
    ];
    for (args, want) in cases {
        let before = audited(&h, "storage_operations");
        let msg = h.err("storage_operations", args.clone()).await;
        assert!(msg.contains(want), "{args}: {msg}");
        assert_eq!(
            audited(&h, "storage_operations"),
            before + 1,
            "{args} was not audited"
        );
    }
    assert!(h.writes().is_empty(), "{:?}", h.writes());
    assert!(h.mcp.asked().is_empty());
    assert_eq!(sim_volids(&api, &node, "local").await, local);
    assert_eq!(sim_jobs(&api).await.len(), jobs.len());
    h.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn safe_mode_asks_and_a_decline_changes_nothing() {
    let h = harness("safe", Human::Decline).await;
    let api = h.sim.api();
    let node = node_names(&api).await[0].clone();
    let local = sim_volids(&api, &node, "local").await;
    let iso = local
        .iter()
        .find(|v| v.contains(":iso/"))
        .expect("an ISO")
        .clone();
    let jobs = sim_jobs(&api).await;
    h.sim.clear_requests();
    let mutations = [
        json!({"action": "download_url", "node": node, "storage": "local",
               "url": "https://example.org/new.iso"}),
        json!({"action": "delete_volume", "node": node, "volume": iso}),
        json!({"action": "job_create", "schedule": "01:00", "storage": "local", "all": true}),
        json!({"action": "job_delete", "id": "backup-sim-daily"}),
        json!({"action": "prune_backups", "node": node, "storage": "nfs-backup",
               "keep": "keep-last=1", "dry_run": false}),
    ];
    for (i, args) in mutations.iter().enumerate() {
        let msg = h.err("storage_operations", args.clone()).await;
        assert!(msg.contains("said no"), "{args}: {msg}");
        assert_eq!(h.mcp.asked().len(), i + 1, "{args} did not ask");
    }
    // Reads never ask.
    h.ok("storage_operations", json!({"action": "list"})).await;
    h.ok(
        "storage_operations",
        json!({"action": "prune_backups", "node": node, "storage": "nfs-backup",
               "keep": "keep-last=1"}),
    )
    .await;
    assert_eq!(h.mcp.asked().len(), mutations.len());
    assert!(h.writes().is_empty(), "{:?}", h.writes());
    assert_eq!(sim_volids(&api, &node, "local").await, local);
    assert_eq!(sim_jobs(&api).await, jobs);
    h.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn read_only_refuses_and_protected_backups_stay() {
    let h = harness("read-only", Human::Accept).await;
    let api = h.sim.api();
    let node = node_names(&api).await[0].clone();
    let msg = h
        .err(
            "storage_operations",
            json!({"action": "download_url", "node": node, "storage": "local",
                   "url": "https://example.org/new.iso"}),
        )
        .await;
    assert!(msg.contains("read-only"), "{msg}");
    h.ok("list_tasks", json!({})).await;
    h.ok("storage_operations", json!({"action": "jobs"})).await;
    assert!(h.writes().is_empty());
    h.finish().await;

    // A backup belongs to its guest: the guest's protection refuses its deletion and pruning.
    let probe = harness("normal", Human::Accept).await;
    let node = node_names(&probe.sim.api()).await[0].clone();
    let (vmid, _) = backed_up_guest(&probe.sim.api(), &node).await;
    probe.finish().await;
    let h = Harness::builder(Protocol::Modern)
        .mode("normal")
        .human(Human::Accept)
        .env("PROXMOX_MCP_PROTECTED_VMIDS", vmid.to_string())
        .start()
        .await;
    let api = h.sim.api();
    let before = sim_volids(&api, &node, "nfs-backup").await;
    let vol = before
        .iter()
        .find(|v| v.contains(&format!("-{vmid}-")))
        .expect("a backup of the protected guest")
        .clone();
    h.sim.clear_requests();
    for args in [
        json!({"action": "delete_volume", "node": node, "volume": vol}),
        json!({"action": "prune_backups", "node": node, "storage": "nfs-backup",
               "vmid": vmid, "keep": "keep-last=1", "dry_run": false}),
    ] {
        let msg = h.err("storage_operations", args.clone()).await;
        assert!(msg.contains("configured list"), "{args}: {msg}");
    }
    assert!(h.mcp.asked().is_empty(), "nobody may be asked");
    assert!(h.writes().is_empty(), "{:?}", h.writes());
    assert_eq!(sim_volids(&api, &node, "nfs-backup").await, before);
    h.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn running_an_all_guests_job_starts_vzdump_on_every_node() {
    let h = harness("normal", Human::Accept).await;
    let api = h.sim.api();
    let nodes = node_names(&api).await;
    let r = h
        .ok(
            "storage_operations",
            json!({"action": "job_create", "schedule": "sun 01:00", "storage": "local",
                   "all": true, "mode": "snapshot", "enabled": false}),
        )
        .await;
    let id = r["data"]["id"].as_str().expect("job id").to_string();

    // Limited to one node: one task there.
    let r = h
        .ok(
            "storage_operations",
            json!({"action": "job_run", "id": id, "node": nodes[1]}),
        )
        .await;
    let upid = r["upid"].as_str().expect("upid");
    assert!(upid.starts_with(&format!("UPID:{}:", nodes[1])), "{upid}");

    // The whole job: one vzdump per node, each with the job's settings.
    h.sim.clear_requests();
    let r = h
        .ok("storage_operations", json!({"action": "job_run", "id": id}))
        .await;
    let started = r["data"].as_array().expect("one entry per node");
    let mut ran: Vec<&str> = started.iter().filter_map(|s| s["node"].as_str()).collect();
    ran.sort_unstable();
    assert_eq!(ran, nodes.iter().map(String::as_str).collect::<Vec<_>>());
    let posts: Vec<String> = h
        .sim
        .requests()
        .into_iter()
        .filter(|r| r.method == "POST")
        .map(|r| format!("{} {:?}", r.path, r))
        .collect();
    assert_eq!(posts.len(), nodes.len(), "{posts:?}");
    assert!(posts.iter().all(|p| p.contains("vzdump")), "{posts:?}");
    for s in started {
        let t = h
            .ok("task_status", json!({"upid": s["upid"], "wait": 30}))
            .await;
        assert_eq!(t["type"], "vzdump", "{t}");
    }
    h.finish().await;
}
