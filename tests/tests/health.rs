//! `health_check` and `best_practices check_live` against seeded sims: a healthy cluster is
//! `ok`; a node offline, a storage at 90% and a token without `VM.Snapshot` make it `degraded`
//! with exactly those reasons; the live practice checks fail exactly the seeded defects; what a
//! token may not read is reported as not checked.

use e2e::sim::schema_path;
use e2e::{Auth, Harness, Protocol, Value, json};

/// Every privilege the sim knows except `VM.Snapshot`.
const ALMOST_ALL: &str = r#"["Datastore.Allocate","Datastore.AllocateSpace","Datastore.AllocateTemplate","Datastore.Audit","Group.Allocate","Mapping.Audit","Mapping.Modify","Mapping.Use","Permissions.Modify","Pool.Allocate","Pool.Audit","Realm.Allocate","Realm.AllocateUser","SDN.Allocate","SDN.Audit","SDN.Use","Sys.AccessNetwork","Sys.Audit","Sys.Console","Sys.Incoming","Sys.Modify","Sys.PowerMgmt","Sys.Syslog","User.Modify","VM.Allocate","VM.Audit","VM.Backup","VM.Clone","VM.Config.CDROM","VM.Config.CPU","VM.Config.Cloudinit","VM.Config.Disk","VM.Config.HWType","VM.Config.Memory","VM.Config.Network","VM.Config.Options","VM.Console","VM.GuestAgent.Audit","VM.GuestAgent.FileRead","VM.GuestAgent.FileSystemMgmt","VM.GuestAgent.FileWrite","VM.GuestAgent.Unrestricted","VM.Migrate","VM.PowerMgmt","VM.Replicate","VM.Snapshot.Rollback"]"#;

/// Three nodes, two storages, two VMs and a container; `defects` seeds the problems.
fn scenario(defects: bool) -> pve_sim::Scenario {
    scenario_with(defects, "")
}

/// [`scenario`] with more TOML appended.
fn scenario_with(defects: bool, extra: &str) -> pve_sim::Scenario {
    let (online, used, agent, unprivileged) = if defects {
        ("false", 900, "false", "false")
    } else {
        ("true", 100, "true", "true")
    };
    let toml = format!(
        r#"
[[nodes]]
name = "pve1"
[[nodes]]
name = "pve2"
[[nodes]]
name = "pve3"
online = {online}

[[storages]]
id = "local"
type = "dir"
content = "iso,vztmpl,backup,images,rootdir"
path = "/var/lib/vz"
size = 1000

[[storages]]
id = "tank"
type = "dir"
content = "images,rootdir"
path = "/tank"
shared = true
size = 1000
used = {used}

[[guests]]
vmid = 100
name = "web"
node = "pve1"
storage = "local"
agent = {agent}

[[guests]]
vmid = 101
name = "db"
node = "pve2"
storage = "local"

[[guests]]
vmid = 200
kind = "lxc"
name = "ct"
node = "pve1"
storage = "local"
unprivileged = {unprivileged}

[[roles]]
id = "AlmostAll"
privs = {ALMOST_ALL}

[[roles]]
id = "NoSysAudit"
privs = ["VM.Audit", "Datastore.Audit"]

[[users]]
userid = "ops@pve"
role = "Administrator"
tokens = [
  {{ id = "nosnap", secret = "11111111-2222-3333-4444-555555555555", role = "AlmostAll" }},
  {{ id = "guests", secret = "66666666-7777-8888-9999-000000000000", role = "NoSysAudit" }},
]
{extra}
"#
    );
    pve_sim::Scenario::from_toml(&toml).expect("scenario")
}

/// The API schema the privilege check reads; `None` (with a notice: the test is skipped) when
/// `../shared/pve/api-schema.json` is not next to the workspace and E2E_API_SCHEMA is unset.
fn api_schema() -> Option<std::path::PathBuf> {
    let p = schema_path();
    if p.is_none() {
        eprintln!(
            "SKIPPED: the PVE API schema (../shared/pve/api-schema.json or E2E_API_SCHEMA) is \
             not available; health_check's privilege check needs it"
        );
    }
    p
}

async fn start(defects: bool, auth: Auth) -> Option<Harness> {
    let schema = api_schema()?;
    let h = Harness::builder(Protocol::Modern)
        .with_sim(|c| c.scenario = Some(scenario(defects)))
        .auth(auth)
        .env("PROXMOX_MCP_API_SCHEMA", schema.display().to_string())
        .start()
        .await;
    Some(h)
}

fn token(name: &str, secret: &str) -> Auth {
    Auth::Token(format!("ops@pve!{name}"), secret.into())
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .unwrap_or_else(|| panic!("not an array: {v}"))
        .iter()
        .map(|s| s.as_str().expect("string").to_string())
        .collect()
}

#[tokio::test]
async fn a_healthy_cluster_is_ok() {
    let Some(h) = start(false, Auth::Admin).await else {
        return;
    };
    let out = h.ok("health_check", json!({})).await;
    assert_eq!(out["overall"], "ok", "{out:#}");
    assert!(strings(&out["reasons"]).is_empty(), "{out:#}");
    assert!(strings(&out["not_checked"]).is_empty(), "{out:#}");
    let checks = out["checks"].as_array().expect("checks");
    for name in [
        "audit",
        "reachable",
        "privileges",
        "nodes",
        "storage",
        "clock",
    ] {
        assert!(
            checks
                .iter()
                .any(|c| c["name"] == name && c["status"] == "ok"),
            "{name}: {out:#}"
        );
    }
    let version = checks.iter().find(|c| c["name"] == "version").unwrap();
    assert!(
        !version["detail"].as_str().unwrap().contains("bridge"),
        "over stdio: {version:#}"
    );
    assert!(h.writes().is_empty(), "{:?}", h.writes());
    h.finish().await;
}

#[tokio::test]
async fn offline_node_full_storage_and_missing_privilege_degrade() {
    let Some(h) = start(
        true,
        token("nosnap", "11111111-2222-3333-4444-555555555555"),
    )
    .await
    else {
        return;
    };
    let out = h.ok("health_check", json!({})).await;
    assert_eq!(out["overall"], "degraded", "{out:#}");
    let mut reasons = strings(&out["reasons"]);
    reasons.sort();
    assert_eq!(reasons.len(), 3, "{reasons:#?}");
    assert_eq!(reasons[0], "node pve3 is offline", "{reasons:#?}");
    assert!(
        reasons[1].starts_with("storage tank on ") && reasons[1].contains("% full"),
        "{reasons:#?}"
    );
    assert!(
        reasons[2].starts_with("the token lacks VM.Snapshot (needed by ")
            && reasons[2].contains("vm_action"),
        "{reasons:#?}"
    );
    h.finish().await;
}

#[tokio::test]
async fn live_practices_fail_exactly_the_seeded_defects() {
    let Some(h) = start(true, Auth::Admin).await else {
        return;
    };
    // A backup job that covers the VMs but not the container.
    h.sim
        .api()
        .post(
            "/cluster/backup",
            &[
                ("schedule", "daily"),
                ("vmid", "100,101"),
                ("storage", "local"),
                ("id", "nightly"),
            ],
        )
        .await
        .expect("creating a backup job");
    h.sim
        .api()
        .put("/cluster/firewall/options", &[("enable", "0")])
        .await
        .expect("disabling the firewall");
    let out = h.ok("best_practices", json!({"check_live": true})).await;
    let s = &out["summary"];
    let mut fail = strings(&s["fail"]);
    fail.sort();
    assert_eq!(
        fail,
        [
            "backup.coverage",
            "ct.unprivileged",
            "security.firewall",
            "vm.guest-agent"
        ],
        "{out:#}"
    );
    let mut pass = strings(&s["pass"]);
    pass.sort();
    assert_eq!(pass, ["ha.three-nodes", "vm.scsi"], "{out:#}");
    assert!(strings(&s["not_checked"]).is_empty(), "{out:#}");
    let item = |id: &str| {
        out["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|i| i["id"] == id)
            .cloned()
            .unwrap_or_else(|| panic!("{id} missing"))
    };
    let agent = item("vm.guest-agent");
    assert!(
        agent["live"]["evidence"]
            .as_str()
            .unwrap()
            .contains("100 (agent off)"),
        "{agent:#}"
    );
    let backup = item("backup.coverage");
    assert!(
        backup["live"]["evidence"]
            .as_str()
            .unwrap()
            .contains("200 not in any"),
        "{backup:#}"
    );
    // The guidance itself is there whether or not the cluster is read.
    let plain = h.ok("best_practices", json!({"topic": "security"})).await;
    assert!(plain.get("summary").is_none(), "{plain:#}");
    assert!(
        plain["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|i| i["topic"] == "security" && i["live"].is_null())
    );
    let bad = h.err("best_practices", json!({"topic": "nonsense"})).await;
    assert!(bad.contains("backups"), "{bad}");
    h.finish().await;
}

#[tokio::test]
async fn what_the_token_may_not_read_is_not_checked() {
    let Some(h) = start(
        true,
        token("guests", "66666666-7777-8888-9999-000000000000"),
    )
    .await
    else {
        return;
    };
    let out = h.ok("best_practices", json!({"check_live": true})).await;
    let s = &out["summary"];
    let mut not_checked = strings(&s["not_checked"]);
    not_checked.sort();
    // /cluster/status, /cluster/backup and the firewall options need Sys.Audit.
    assert_eq!(
        not_checked,
        ["backup.coverage", "ha.three-nodes", "security.firewall"],
        "{out:#}"
    );
    let fw = out["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["id"] == "security.firewall")
        .cloned()
        .unwrap();
    assert!(
        fw["live"]["evidence"]
            .as_str()
            .unwrap()
            .contains("lacks privilege Sys.Audit"),
        "{fw:#}"
    );
    let health = h.ok("health_check", json!({})).await;
    let nc = strings(&health["not_checked"]);
    assert!(
        nc.iter().all(|n| n.contains("lacks privilege Sys.Audit")),
        "{health:#}"
    );
    assert!(
        nc.iter()
            .any(|n| n.starts_with("quorum: not checked: GET /cluster/status: API token")),
        "{health:#}"
    );
    h.finish().await;
}

#[tokio::test]
async fn behind_the_bridge_the_engine_says_so() {
    use e2e::bridge::Bridge;
    use e2e::{Human, Mcp, ResultExt as _, Sim};
    let sim = Sim::small().await;
    let b = Bridge::start(&sim, &[]).await;
    let mcp = Mcp::connect_http(&b.url, Some(&b.token()), Protocol::Modern, Human::Absent)
        .await
        .unwrap();
    let r = mcp.call("health_check", json!({})).await;
    r.ok("health_check");
    let out = r.structured().clone();
    let version = out["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "version")
        .cloned()
        .unwrap();
    assert!(
        version["detail"]
            .as_str()
            .unwrap()
            .ends_with(", behind the HTTP bridge"),
        "{version:#}"
    );
    mcp.close().await;
    sim.finish().await;
}

#[tokio::test]
async fn failed_tasks_and_ha_errors_degrade() {
    let mut sc = scenario_with(
        false,
        r#"
[[failed_tasks]]
node = "pve2"
kind = "vzdump"
id = "101"
error = "job errors"
"#,
    );
    sc.ha_errors = vec!["vm:101".into()];
    let Some(schema) = api_schema() else {
        return;
    };
    let h = Harness::builder(Protocol::Modern)
        .with_sim(|c| c.scenario = Some(sc))
        .env("PROXMOX_MCP_API_SCHEMA", schema.display().to_string())
        .start()
        .await;
    let out = h.ok("health_check", json!({})).await;
    assert_eq!(out["overall"], "degraded", "{out:#}");
    let mut reasons = strings(&out["reasons"]);
    reasons.sort();
    assert_eq!(
        reasons,
        [
            "1 task(s) failed in the last 24 h, e.g. vzdump on pve2: job errors",
            "HA errors: service:vm:101: error",
        ],
        "{out:#}"
    );
    h.finish().await;
}

#[tokio::test]
async fn an_unreachable_proxmox_is_failing_and_nothing_live_passes() {
    let h = Harness::builder(Protocol::Modern)
        .url("https://127.0.0.1:1")
        .start()
        .await;
    let out = h.ok("health_check", json!({})).await;
    assert_eq!(out["overall"], "failing", "{out:#}");
    let reasons = strings(&out["reasons"]);
    assert_eq!(reasons.len(), 1, "{reasons:#?}");
    assert!(
        reasons[0].starts_with("Proxmox is not usable: GET /version"),
        "{reasons:#?}"
    );
    assert!(
        strings(&out["not_checked"])
            .iter()
            .any(|n| n.starts_with("nodes: not checked: cluster status skipped")),
        "{out:#}"
    );
    let live = h.ok("best_practices", json!({"check_live": true})).await;
    let s = &live["summary"];
    assert!(strings(&s["pass"]).is_empty(), "{live:#}");
    assert!(strings(&s["fail"]).is_empty(), "{live:#}");
    assert_eq!(strings(&s["not_checked"]).len(), 6, "{live:#}");
    h.finish().await;
}
