//! Stateful management flows (snapshots, clone, migrate, backups, storage, access, pools, HA,
//! network, firewall), run with the real schema checking on when it is available.

#[path = "support/client.rs"]
mod support;

use std::path::PathBuf;

use pve_sim::{Credentials, SimConfig};
use serde_json::Value;
use support::{Api, sim_with};

async fn strict_sim() -> pve_sim::SimHandle {
    let p = PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../shared/pve/api-schema.json"
    ));
    let schema = if p.exists() {
        Some(p)
    } else {
        eprintln!("NOTICE: api-schema.json not found; running without schema checks");
        None
    };
    sim_with(SimConfig {
        schema,
        time_scale: 0.0,
        ..Default::default()
    })
    .await
}

fn upid(r: &support::Resp) -> String {
    assert_eq!(r.status, 200, "{:?}", r.body);
    r.data().as_str().expect("upid").to_string()
}

#[tokio::test]
async fn snapshots_clone_migrate_template() {
    let sim = strict_sim().await;
    let api = Api::admin(&sim);
    let (vmid, node) = api
        .find_guest(|g| {
            g["type"] == "qemu"
                && g["template"] == 0
                && g["status"] == "stopped"
                && g.get("lock").is_none()
        })
        .await;
    let base = format!("/nodes/{node}/qemu/{vmid}");
    let r = api
        .post(
            &format!("{base}/snapshot"),
            &[("snapname", "before-test"), ("description", "x")],
        )
        .await;
    assert_eq!(api.wait_task(&upid(&r)).await, "OK");
    let list = api.get(&format!("{base}/snapshot")).await;
    let names: Vec<&str> = list
        .data()
        .as_array()
        .expect("list")
        .iter()
        .filter_map(|s| s["name"].as_str())
        .collect();
    assert!(
        names.contains(&"before-test") && names.contains(&"current"),
        "{names:?}"
    );
    assert_eq!(
        api.put(&format!("{base}/config"), &[("cores", "7")])
            .await
            .status,
        200
    );
    let r = api
        .post(&format!("{base}/snapshot/before-test/rollback"), &[])
        .await;
    assert_eq!(api.wait_task(&upid(&r)).await, "OK");
    assert_ne!(api.get(&format!("{base}/config")).await.data()["cores"], 7);
    let r = api.delete(&format!("{base}/snapshot/before-test")).await;
    assert_eq!(api.wait_task(&upid(&r)).await, "OK");
    let again = api.delete(&format!("{base}/snapshot/before-test")).await;
    assert_eq!(again.status, 500);

    // Clone a template (linked) onto the same node.
    let (tpl, tnode) = api.find_guest(|g| g["template"] == 1).await;
    let newid = api
        .get("/cluster/nextid")
        .await
        .data()
        .as_str()
        .expect("id")
        .to_string();
    let r = api
        .post(
            &format!("/nodes/{tnode}/qemu/{tpl}/clone"),
            &[("newid", newid.as_str()), ("name", "clone-test")],
        )
        .await;
    assert_eq!(api.wait_task(&upid(&r)).await, "OK");
    let cfg = api
        .get(&format!("/nodes/{tnode}/qemu/{newid}/config"))
        .await;
    assert_eq!(cfg.data()["name"], "clone-test");
    assert!(cfg.data().get("template").is_none());

    // Migrate the stopped VM elsewhere.
    let nodes = api.get("/nodes").await;
    let target = nodes
        .data()
        .as_array()
        .expect("nodes")
        .iter()
        .filter_map(|n| n["node"].as_str())
        .find(|n| *n != node)
        .expect("other node")
        .to_string();
    let pre = api.get(&format!("{base}/migrate")).await;
    assert!(
        pre.data()["allowed_nodes"]
            .as_array()
            .expect("allowed")
            .iter()
            .any(|n| n == target.as_str())
    );
    let r = api
        .post(&format!("{base}/migrate"), &[("target", target.as_str())])
        .await;
    assert_eq!(api.wait_task(&upid(&r)).await, "OK");
    assert_eq!(api.node_of(vmid).await, target);
    assert_eq!(api.get(&format!("{base}/config")).await.status, 500);

    // Resize and convert to a template.
    let moved = format!("/nodes/{target}/qemu/{vmid}");
    let r = api
        .put(
            &format!("{moved}/resize"),
            &[("disk", "scsi0"), ("size", "+1G")],
        )
        .await;
    assert_eq!(api.wait_task(&upid(&r)).await, "OK");
    let r = api.post(&format!("{moved}/template"), &[]).await;
    assert_eq!(api.wait_task(&upid(&r)).await, "OK");
    assert_eq!(
        api.get(&format!("{moved}/config")).await.data()["template"],
        1
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn create_guests_backup_and_storage() {
    let sim = strict_sim().await;
    let api = Api::admin(&sim);
    let r = api
        .post(
            "/nodes/pve1/qemu",
            &[
                ("vmid", "5000"),
                ("name", "new-vm"),
                ("memory", "1024"),
                ("scsi0", "local-lvm:8"),
                ("net0", "virtio,bridge=vmbr0"),
                ("start", "1"),
            ],
        )
        .await;
    assert_eq!(api.wait_task(&upid(&r)).await, "OK");
    let cfg = api.get("/nodes/pve1/qemu/5000/config").await;
    assert_eq!(cfg.data()["scsi0"], "local-lvm:vm-5000-disk-0,size=8G");
    assert!(
        cfg.data()["net0"]
            .as_str()
            .expect("net0")
            .starts_with("virtio=BC:24:11:")
    );
    assert_eq!(
        api.get("/nodes/pve1/qemu/5000/status/current").await.data()["status"],
        "running"
    );
    let dup = api.post("/nodes/pve1/qemu", &[("vmid", "5000")]).await;
    assert_eq!(dup.status, 500);

    let r = api
        .post(
            "/nodes/pve1/lxc",
            &[
                ("vmid", "5001"),
                ("hostname", "new-ct"),
                (
                    "ostemplate",
                    "local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst",
                ),
                ("rootfs", "local-lvm:4"),
            ],
        )
        .await;
    assert_eq!(api.wait_task(&upid(&r)).await, "OK");
    assert_eq!(
        api.get("/nodes/pve1/lxc/5001/config").await.data()["hostname"],
        "new-ct"
    );

    let r = api
        .post(
            "/nodes/pve1/vzdump",
            &[("vmid", "5000"), ("storage", "local"), ("mode", "snapshot")],
        )
        .await;
    assert_eq!(api.wait_task(&upid(&r)).await, "OK");
    let content = api
        .get("/nodes/pve1/storage/local/content?content=backup")
        .await;
    let backup = content
        .data()
        .as_array()
        .expect("content")
        .iter()
        .find(|v| v["vmid"] == 5000)
        .expect("new backup")
        .clone();
    let volid = backup["volid"].as_str().expect("volid").to_string();
    assert!(
        volid.starts_with("local:backup/vzdump-qemu-5000-"),
        "{volid}"
    );

    let st = api.get("/nodes/pve1/storage").await;
    let local = st
        .data()
        .as_array()
        .expect("list")
        .iter()
        .find(|s| s["storage"] == "local")
        .expect("local")
        .clone();
    assert_eq!(local["active"], 1);
    assert!(local["total"].as_u64().expect("total") > local["used"].as_u64().expect("used"));
    let status = api.get("/nodes/pve1/storage/local-lvm/status").await;
    assert_eq!(status.data()["type"], "lvmthin");
    assert_eq!(
        api.get("/storage")
            .await
            .data()
            .as_array()
            .expect("storage")
            .len(),
        3
    );
    let prune = api.get("/nodes/pve1/storage/nfs-backup/prunebackups").await;
    assert_eq!(prune.status, 200, "{:?}", prune.body);

    let enc: String = volid.replace(':', "%3A").replace('/', "%2F");
    let r = api
        .delete(&format!("/nodes/pve1/storage/local/content/{enc}"))
        .await;
    assert_eq!(api.wait_task(&upid(&r)).await, "OK");
    let content = api
        .get("/nodes/pve1/storage/local/content?content=backup")
        .await;
    assert!(
        !content
            .data()
            .as_array()
            .expect("list")
            .iter()
            .any(|v| v["volid"] == volid.as_str())
    );

    let r = api
        .post(
            "/nodes/pve1/storage/local/download-url",
            &[
                ("url", "https://example.invalid/x.iso"),
                ("filename", "x.iso"),
                ("content", "iso"),
            ],
        )
        .await;
    assert_eq!(api.wait_task(&upid(&r)).await, "OK");
    let isos = api
        .get("/nodes/pve1/storage/local/content?content=iso")
        .await;
    assert!(
        isos.data()
            .as_array()
            .expect("list")
            .iter()
            .any(|v| v["volid"] == "local:iso/x.iso")
    );

    // Backup jobs.
    assert_eq!(
        api.post(
            "/cluster/backup",
            &[
                ("id", "job-test"),
                ("schedule", "03:30"),
                ("storage", "local"),
                ("vmid", "5000,5001")
            ]
        )
        .await
        .status,
        200
    );
    let jobs = api.get("/cluster/backup").await;
    assert!(
        jobs.data()
            .as_array()
            .expect("jobs")
            .iter()
            .any(|j| j["id"] == "job-test" && j["next-run"].is_u64())
    );
    let nb = api.get("/cluster/backup-info/not-backed-up").await;
    assert!(
        !nb.data()
            .as_array()
            .expect("list")
            .iter()
            .any(|g| g["vmid"] == 5000)
    );
    assert_eq!(api.delete("/cluster/backup/job-test").await.status, 200);

    // Destroy the running VM: refused, then stop and destroy.
    assert_eq!(api.delete("/nodes/pve1/qemu/5000").await.status, 500);
    let r = api.post("/nodes/pve1/qemu/5000/status/stop", &[]).await;
    assert_eq!(api.wait_task(&upid(&r)).await, "OK");
    let r = api.delete("/nodes/pve1/qemu/5000?purge=1").await;
    assert_eq!(api.wait_task(&upid(&r)).await, "OK");
    sim.shutdown().await;
}

#[tokio::test]
async fn access_pools_ha_network_firewall() {
    let sim = strict_sim().await;
    let api = Api::admin(&sim);
    assert_eq!(
        api.post(
            "/access/users",
            &[
                ("userid", "carol@pve"),
                ("password", "carol-pw-1"),
                ("comment", "test")
            ]
        )
        .await
        .status,
        200
    );
    let tok = api
        .post("/access/users/carol@pve/token/ci", &[("privsep", "1")])
        .await;
    assert_eq!(tok.status, 200, "{:?}", tok.body);
    assert_eq!(tok.data()["full-tokenid"], "carol@pve!ci");
    let secret = tok.data()["value"].as_str().expect("value").to_string();
    let carol = Api::token(
        &sim,
        &Credentials {
            token_id: "carol@pve!ci".into(),
            secret,
        },
    );
    assert_eq!(
        carol
            .get("/cluster/resources?type=vm")
            .await
            .data()
            .as_array()
            .expect("list")
            .len(),
        0
    );
    assert_eq!(
        api.put(
            "/access/acl",
            &[
                ("path", "/vms"),
                ("roles", "PVEAuditor"),
                ("users", "carol@pve"),
                ("tokens", "carol@pve!ci")
            ]
        )
        .await
        .status,
        200
    );
    assert!(
        !carol
            .get("/cluster/resources?type=vm")
            .await
            .data()
            .as_array()
            .expect("list")
            .is_empty()
    );
    let perms = api
        .get("/access/permissions?userid=carol@pve!ci&path=/vms/100")
        .await;
    assert_eq!(perms.data()["/vms/100"]["VM.Audit"], 1);
    let acl = api.get("/access/acl").await;
    assert!(
        acl.data()
            .as_array()
            .expect("acl")
            .iter()
            .any(|e| e["ugid"] == "carol@pve!ci" && e["type"] == "token")
    );
    let roles = api.get("/access/roles").await;
    assert!(
        roles
            .data()
            .as_array()
            .expect("roles")
            .iter()
            .any(|r| r["roleid"] == "PVEVMAdmin")
    );
    assert_eq!(
        api.delete("/access/users/carol@pve/token/ci").await.status,
        200
    );
    assert_eq!(carol.get("/version").await.status, 401);

    // Pools.
    assert_eq!(
        api.post("/pools", &[("poolid", "lab"), ("comment", "lab pool")])
            .await
            .status,
        200
    );
    let (vmid, _) = api
        .find_guest(|g| g.get("pool").is_none() && g["template"] == 0)
        .await;
    let vm = vmid.to_string();
    assert_eq!(
        api.put("/pools/lab", &[("vms", vm.as_str())]).await.status,
        200
    );
    let members = api.get("/pools/lab").await;
    assert_eq!(members.data()["members"][0]["vmid"], vmid);
    assert_eq!(api.delete("/pools/lab").await.status, 500);

    // HA.
    assert_eq!(
        api.post(
            "/cluster/ha/resources",
            &[("sid", format!("vm:{vmid}").as_str()), ("state", "started")]
        )
        .await
        .status,
        200
    );
    let ha = api.get("/cluster/ha/status/current").await;
    assert!(
        ha.data()
            .as_array()
            .expect("status")
            .iter()
            .any(|e| e["sid"] == format!("vm:{vmid}").as_str())
    );

    // Network: pending, apply, revert.
    assert_eq!(
        api.post(
            "/nodes/pve1/network",
            &[
                ("iface", "vmbr9"),
                ("type", "bridge"),
                ("cidr", "192.0.2.1/24"),
                ("autostart", "1")
            ]
        )
        .await
        .status,
        200
    );
    let net = api.get("/nodes/pve1/network").await;
    assert!(
        net.body["changes"]
            .as_str()
            .expect("changes")
            .contains("vmbr9")
    );
    let r = api.put("/nodes/pve1/network", &[]).await;
    assert_eq!(api.wait_task(&upid(&r)).await, "OK");
    let net = api.get("/nodes/pve1/network").await;
    assert!(net.body.get("changes").is_none());
    let vmbr9 = net
        .data()
        .as_array()
        .expect("ifaces")
        .iter()
        .find(|i| i["iface"] == "vmbr9")
        .expect("vmbr9")
        .clone();
    assert_eq!(vmbr9["active"], 1);
    assert_eq!(api.delete("/nodes/pve1/network/vmbr9").await.status, 200);
    assert_eq!(api.delete("/nodes/pve1/network").await.status, 200);
    assert!(api.get("/nodes/pve1/network/vmbr9").await.status == 200);

    // Firewall.
    let before = api
        .get("/cluster/firewall/rules")
        .await
        .data()
        .as_array()
        .expect("rules")
        .len();
    assert_eq!(
        api.post(
            "/cluster/firewall/rules",
            &[
                ("type", "in"),
                ("action", "ACCEPT"),
                ("proto", "tcp"),
                ("dport", "443"),
                ("enable", "1")
            ]
        )
        .await
        .status,
        200
    );
    let rules = api.get("/cluster/firewall/rules").await;
    let list: &Vec<Value> = rules.data().as_array().expect("rules");
    assert_eq!(list.len(), before + 1);
    assert_eq!(list[0]["dport"], "443");
    assert_eq!(list[0]["pos"], 0);
    assert_eq!(
        api.put("/cluster/firewall/rules/0", &[("moveto", "2")])
            .await
            .status,
        200
    );
    assert_eq!(api.delete("/cluster/firewall/rules/1").await.status, 200);
    assert_eq!(
        api.get("/cluster/firewall/options").await.data()["enable"],
        1
    );
    assert_eq!(
        api.put("/cluster/firewall/options", &[("enable", "0")])
            .await
            .status,
        200
    );
    assert_eq!(
        api.post(
            "/cluster/firewall/ipset/management",
            &[("cidr", "10.99.0.0/16")]
        )
        .await
        .status,
        200
    );
    sim.shutdown().await;
}
