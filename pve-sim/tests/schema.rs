//! Strict request checking against the real PVE 9.1 schema (skipped when the file is absent).

#[path = "support/client.rs"]
mod support;

use std::path::PathBuf;

use pve_sim::SimConfig;
use pve_sim::schema::{ApiSchema, Violation};
use serde_json::{Map, Value, json};
use support::{Api, sim_with};

fn schema_path() -> Option<PathBuf> {
    let p = PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../shared/pve/api-schema.json"
    ));
    if p.exists() {
        Some(p)
    } else {
        eprintln!("NOTICE: {} not found; schema tests skipped", p.display());
        None
    }
}

fn params(v: Value) -> Map<String, Value> {
    v.as_object().cloned().unwrap_or_default()
}

#[test]
fn real_schema_rules() {
    let Some(p) = schema_path() else { return };
    let s = ApiSchema::load(&p).expect("load");
    assert!(s.len() > 400);
    let ok = |m: &str, path: &str, v: Value| {
        let r = s.check(m, path, &params(v));
        assert!(r.is_ok(), "{m} {path}: {r:?}");
    };
    let bad =
        |m: &str, path: &str, v: Value, key: &str, msg: &str| match s.check(m, path, &params(v)) {
            Err(Violation::InvalidParams(e)) => {
                let got = e.get(key).cloned().unwrap_or_default();
                assert!(
                    got.contains(msg),
                    "{m} {path}: {key} = {got:?}, want {msg:?} (all: {e:?})"
                );
            }
            other => panic!("{m} {path}: {other:?}"),
        };
    ok("GET", "/cluster/resources", json!({"type": "vm"}));
    bad(
        "GET",
        "/cluster/resources",
        json!({"type": "foo"}),
        "type",
        "enumeration",
    );
    ok("POST", "/nodes/pve1/qemu/100/status/start", json!({}));
    bad(
        "POST",
        "/nodes/pve1/qemu/100/status/start",
        json!({"skiplock": "true"}),
        "skiplock",
        "type check ('boolean') failed - got 'true'",
    );
    bad(
        "POST",
        "/nodes/pve1/qemu/100/status/start",
        json!({"bogus": "1"}),
        "bogus",
        "property is not defined in schema",
    );
    bad(
        "POST",
        "/nodes/pve1/qemu/42/status/start",
        json!({}),
        "vmid",
        "value must have a minimum value of 100",
    );
    bad(
        "GET",
        "/nodes/10.0.0.1/status",
        json!({}),
        "node",
        "valid node name",
    );
    bad(
        "GET",
        "/nodes/pve1/qemu/100/agent/exec-status",
        json!({}),
        "pid",
        "property is missing and it is not optional",
    );
    ok(
        "POST",
        "/nodes/pve1/qemu/100/agent/exec",
        json!({"command": ["uname", "-a"]}),
    );
    ok(
        "PUT",
        "/nodes/pve1/qemu/100/config",
        json!({"net0": "virtio=BC:24:11:00:00:01,bridge=vmbr0,firewall=1", "cores": "2", "delete": "ide2"}),
    );
    bad(
        "PUT",
        "/nodes/pve1/qemu/100/config",
        json!({"net0": "bridge=vmbr0"}),
        "net0",
        "net0.model: property is missing",
    );
    ok(
        "GET",
        "/nodes/pve1/tasks/UPID:pve1:00001234:001036A5:6419CAF8:qmstart:100:root@pam:/status",
        json!({}),
    );
    ok(
        "DELETE",
        "/nodes/pve1/storage/local/content/local:iso%2Fdebian.iso",
        json!({}),
    );
    assert!(matches!(
        s.check("GET", "/foo", &Map::new()),
        Err(Violation::UnknownPath(_))
    ));
    assert!(matches!(
        s.check("DELETE", "/version", &Map::new()),
        Err(Violation::UnknownMethod(_))
    ));
    assert!(s.describe("GET", "/cluster/resources").is_some());
}

#[tokio::test]
async fn server_checks_before_routing() {
    let Some(p) = schema_path() else { return };
    let sim = sim_with(SimConfig {
        schema: Some(p),
        time_scale: 0.0,
        ..Default::default()
    })
    .await;
    let api = Api::admin(&sim);
    let r = api.get("/nodes/pve1/bogus").await;
    assert_eq!(r.status, 501);
    assert_eq!(
        r.message(),
        "Method 'GET /nodes/pve1/bogus' not implemented"
    );
    let r = api.get("/cluster/resources?type=foo").await;
    assert_eq!(r.status, 400);
    assert_eq!(r.message(), "Parameter verification failed.");
    assert!(r.body["errors"]["type"].is_string());
    assert!(r.body["data"].is_null());
    let r = api.get("/cluster/resources?type=vm").await;
    assert_eq!(r.status, 200);
    let (vmid, node) = api.find_guest(|g| g["type"] == "qemu").await;
    let r = api
        .post(
            &format!("/nodes/{node}/qemu/{vmid}/status/start"),
            &[("skiplock", "true")],
        )
        .await;
    assert_eq!(r.status, 400);
    assert_eq!(
        r.body["errors"]["skiplock"],
        "type check ('boolean') failed - got 'true'"
    );
    sim.shutdown().await;
}
