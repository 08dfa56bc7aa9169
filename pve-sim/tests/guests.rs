//! Guest lifecycle, tasks, agent exec, faults and the request log over real HTTPS.

#[path = "support/client.rs"]
mod support;

use std::time::Duration;

use pve_sim::{Faults, SimConfig};
use support::{Api, sim, sim_with, upid_regex};

#[tokio::test]
async fn start_stop_and_task_lifecycle() {
    let sim = sim_with(SimConfig {
        time_scale: 0.2,
        ..Default::default()
    })
    .await;
    let api = Api::admin(&sim);
    let (vmid, node) = api
        .find_guest(|g| {
            g["type"] == "qemu"
                && g["status"] == "stopped"
                && g["template"] == 0
                && g.get("lock").is_none()
        })
        .await;
    let r = api
        .post(&format!("/nodes/{node}/qemu/{vmid}/status/start"), &[])
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    let upid = r.data().as_str().expect("upid").to_string();
    assert!(upid_regex().is_match(&upid), "{upid}");
    assert!(
        upid.ends_with(":qmstart:".to_string().as_str())
            || upid.contains(&format!(":qmstart:{vmid}:mcp@pve!admin:")),
        "{upid}"
    );

    // Running first (start takes 1 s * 0.2), no exitstatus yet.
    let st = api.get(&format!("/nodes/{node}/tasks/{upid}/status")).await;
    assert_eq!(st.data()["status"], "running");
    assert!(st.data().get("exitstatus").is_none());
    let exit = api.wait_task(&upid).await;
    assert!(exit == "OK" || exit == "WARNINGS: 1", "{exit}");

    let cur = api
        .get(&format!("/nodes/{node}/qemu/{vmid}/status/current"))
        .await;
    assert_eq!(cur.data()["status"], "running");
    assert_eq!(cur.data()["qmpstatus"], "running");
    assert!(cur.data()["pid"].as_u64().is_some());

    let log = api
        .get(&format!("/nodes/{node}/tasks/{upid}/log?start=0&limit=50"))
        .await;
    assert_eq!(log.data()[0]["n"], 1);
    assert!(log.body["total"].as_u64().expect("total") >= 2);
    let last = log
        .data()
        .as_array()
        .expect("lines")
        .last()
        .expect("line")
        .clone();
    assert!(last["t"].as_str().expect("t").starts_with("TASK "));

    // Starting again fails inside the task.
    let again = api
        .post(&format!("/nodes/{node}/qemu/{vmid}/status/start"), &[])
        .await;
    let exit = api.wait_task(again.data().as_str().expect("upid")).await;
    assert_eq!(exit, format!("VM {vmid} already running"));

    let list = api
        .get(&format!("/nodes/{node}/tasks?vmid={vmid}&limit=10"))
        .await;
    assert!(list.body["total"].as_u64().expect("total") >= 2);
    let errs = api.get(&format!("/nodes/{node}/tasks?errors=1")).await;
    assert!(
        errs.data()
            .as_array()
            .expect("list")
            .iter()
            .all(|t| t["status"] != "OK")
    );

    let stop = api
        .post(&format!("/nodes/{node}/qemu/{vmid}/status/stop"), &[])
        .await;
    assert_eq!(
        api.wait_task(stop.data().as_str().expect("upid")).await,
        "OK"
    );
    let cur = api
        .get(&format!("/nodes/{node}/qemu/{vmid}/status/current"))
        .await;
    assert_eq!(cur.data()["status"], "stopped");
    assert!(cur.data().get("pid").is_none());
    let cluster = api.get("/cluster/tasks").await;
    assert!(!cluster.data().as_array().expect("list").is_empty());
    sim.shutdown().await;
}

#[tokio::test]
async fn wrong_node_and_missing_guest() {
    let sim = sim().await;
    let api = Api::admin(&sim);
    let r = api.get("/nodes/pve1/qemu/999/status/current").await;
    assert_eq!(r.status, 500);
    assert_eq!(
        r.message(),
        "Configuration file 'nodes/pve1/qemu-server/999.conf' does not exist"
    );
    let r = api.get("/nodes/pve1/lxc/998/config").await;
    assert_eq!(
        r.message(),
        "Configuration file 'nodes/pve1/lxc/998.conf' does not exist"
    );
    let r = api.get("/nodes/pve1/qemu/abc/config").await;
    assert_eq!(r.status, 400);
    let r = api.get("/foo/bar").await;
    assert_eq!(r.status, 501);
    assert_eq!(r.message(), "Method 'GET /foo/bar' not implemented");
    let r = api.get("/cluster/nextid").await;
    assert_eq!(r.data(), "115");
    let r = api.get("/cluster/nextid?vmid=100").await;
    assert_eq!(r.status, 400);
    assert_eq!(r.body["errors"]["vmid"], "VM 100 already exists");
    sim.shutdown().await;
}

#[tokio::test]
async fn guest_agent_exec() {
    let sim = sim().await;
    let api = Api::admin(&sim);
    let cfgs = api.get("/cluster/resources?type=vm").await;
    let mut target = None;
    for g in cfgs.data().as_array().expect("list") {
        if g["type"] != "qemu" || g["status"] != "running" {
            continue;
        }
        let (vmid, node) = (
            g["vmid"].as_u64().expect("vmid"),
            g["node"].as_str().expect("node"),
        );
        let ping = api
            .post(&format!("/nodes/{node}/qemu/{vmid}/agent/ping"), &[])
            .await;
        if ping.status == 200 {
            assert_eq!(ping.body, serde_json::json!({"data": {"result": {}}}));
            target = Some((vmid, node.to_string()));
            break;
        }
    }
    let (vmid, node) = target.expect("a VM with a working agent");
    let r = api
        .post(
            &format!("/nodes/{node}/qemu/{vmid}/agent/exec"),
            &[("command", "uname"), ("command", "-a")],
        )
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    let pid = r.data()["pid"].as_u64().expect("pid");
    let mut done = None;
    for _ in 0..100 {
        let s = api
            .get(&format!(
                "/nodes/{node}/qemu/{vmid}/agent/exec-status?pid={pid}"
            ))
            .await;
        assert_eq!(s.status, 200, "{:?}", s.body);
        if s.data()["exited"] == 1 {
            done = Some(s);
            break;
        }
        assert_eq!(s.data()["exited"], 0);
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let done = done.expect("finished");
    assert_eq!(done.data()["exitcode"], 0);
    assert!(
        done.data()["out-data"]
            .as_str()
            .expect("out")
            .starts_with("Linux ")
    );

    let r = api
        .post(
            &format!("/nodes/{node}/qemu/{vmid}/agent/exec"),
            &[
                ("command", "/bin/sh"),
                ("command", "-c"),
                ("command", "nosuchcmd"),
            ],
        )
        .await;
    let pid = r.data()["pid"].as_u64().expect("pid");
    tokio::time::sleep(Duration::from_millis(50)).await;
    let s = api
        .get(&format!(
            "/nodes/{node}/qemu/{vmid}/agent/exec-status?pid={pid}"
        ))
        .await;
    assert_eq!(s.data()["exitcode"], 127);

    let missing = api
        .get(&format!("/nodes/{node}/qemu/{vmid}/agent/exec-status"))
        .await;
    assert_eq!(missing.status, 400);
    assert_eq!(
        missing.body["errors"]["pid"],
        "property is missing and it is not optional"
    );

    let osinfo = api
        .get(&format!("/nodes/{node}/qemu/{vmid}/agent/get-osinfo"))
        .await;
    assert!(osinfo.data()["result"]["id"].is_string());

    // A stopped VM: agent calls fail with PVE's message.
    let (svmid, snode) = api
        .find_guest(|g| g["type"] == "qemu" && g["status"] == "stopped" && g["template"] == 0)
        .await;
    let r = api
        .post(&format!("/nodes/{snode}/qemu/{svmid}/agent/ping"), &[])
        .await;
    assert_eq!(r.status, 500);
    assert!(
        r.message() == format!("VM {svmid} is not running")
            || r.message() == "No QEMU guest agent configured",
        "{}",
        r.message()
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn faults_offline_node_hang_and_errors() {
    let dir = tempfile::tempdir().expect("tempdir");
    let log_path = dir.path().join("requests.jsonl");
    let sim = sim_with(SimConfig {
        time_scale: 0.0,
        request_log: Some(log_path.clone()),
        faults: Faults {
            offline_nodes: vec!["pve2".into()],
            hang_paths: vec!["/nodes/pve3/status".into()],
            ..Default::default()
        },
        ..Default::default()
    })
    .await;
    let api = Api::admin(&sim);
    let r = api.get("/nodes/pve2/status").await;
    assert_eq!(r.status, 595);
    let res = api.get("/cluster/resources?type=node").await;
    let pve2 = res
        .data()
        .as_array()
        .expect("list")
        .iter()
        .find(|n| n["node"] == "pve2")
        .expect("pve2")
        .clone();
    assert_eq!(pve2["status"], "offline");
    let st = api.get("/cluster/status").await;
    assert!(
        st.data()
            .as_array()
            .expect("list")
            .iter()
            .any(|n| n["name"] == "pve2" && n["online"] == 0)
    );

    let hung = tokio::time::timeout(
        Duration::from_millis(300),
        api.http
            .get(format!("{}/nodes/pve3/status", api.base))
            .header("Authorization", &api.auth)
            .send(),
    )
    .await;
    assert!(hung.is_err(), "request should hang");

    sim.set_faults(Faults {
        error_rate: 1.0,
        error_status: 503,
        ..Default::default()
    });
    let r = api.get("/version").await;
    assert_eq!(r.status, 503);
    sim.set_faults(Faults::default());
    assert_eq!(api.get("/nodes/pve2/status").await.status, 200);

    let log = sim.requests();
    assert!(log.iter().any(|r| r.path == "/api2/json/nodes/pve2/status"
        && r.status == 595
        && r.auth == "mcp@pve!admin"));
    sim.clear_requests();
    assert!(sim.requests().is_empty());
    let lines = std::fs::read_to_string(&log_path).expect("log file");
    let first: pve_sim::RequestRecord =
        serde_json::from_str(lines.lines().next().expect("line")).expect("record");
    assert_eq!(first.method, "GET");
    assert!(!lines.contains(&sim.admin().secret));
    sim.shutdown().await;
}

#[tokio::test]
async fn destroy_protected_and_config_update() {
    let sim = sim_with(SimConfig {
        time_scale: 0.0,
        ..Default::default()
    })
    .await;
    let api = Api::admin(&sim);
    let (vmid, node) = api
        .find_guest(|g| g["type"] == "qemu" && g["template"] == 0 && g["status"] == "stopped")
        .await;
    let path = format!("/nodes/{node}/qemu/{vmid}");
    assert_eq!(
        api.put(&format!("{path}/config"), &[("protection", "1")])
            .await
            .status,
        200
    );
    let r = api.delete(&path).await;
    assert_eq!(r.status, 500);
    assert_eq!(
        r.message(),
        format!("can't remove VM {vmid} - protection mode enabled")
    );
    let cfg = api.get(&format!("{path}/config")).await;
    assert_eq!(cfg.data()["protection"], 1);
    let digest = cfg.data()["digest"].as_str().expect("digest").to_string();
    let r = api
        .put(
            &format!("{path}/config"),
            &[("cores", "4"), ("digest", "0000")],
        )
        .await;
    assert_eq!(r.status, 500);
    let r = api
        .put(
            &format!("{path}/config"),
            &[
                ("cores", "4"),
                ("digest", digest.as_str()),
                ("delete", "protection"),
            ],
        )
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    let r = api.delete(&path).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(api.wait_task(r.data().as_str().expect("upid")).await, "OK");
    assert_eq!(api.get(&format!("{path}/config")).await.status, 500);
    sim.shutdown().await;
}
