//! Deterministic generation and the large-cluster performance budget.

#[path = "support/client.rs"]
mod support;

use std::time::Instant;

use pve_sim::SimConfig;
use support::{Api, sim_with};

#[tokio::test]
async fn same_seed_same_state() {
    let a = sim_with(SimConfig {
        seed: 42,
        ..Default::default()
    })
    .await;
    let b = sim_with(SimConfig {
        seed: 42,
        ..Default::default()
    })
    .await;
    let c = sim_with(SimConfig {
        seed: 43,
        ..Default::default()
    })
    .await;
    assert_eq!(a.state(), b.state());
    assert_ne!(a.state(), c.state());
    assert_ne!(a.admin().secret, b.admin().secret);
    for s in [a, b, c] {
        s.shutdown().await;
    }
}

#[tokio::test]
async fn big_cluster_starts_fast_and_lists_everything() {
    let t = Instant::now();
    let sim = sim_with(SimConfig {
        nodes: 5,
        vms: 4000,
        cts: 1000,
        ..Default::default()
    })
    .await;
    let startup = t.elapsed();
    assert!(startup.as_secs_f64() < 5.0, "startup took {startup:?}");
    let api = Api::admin(&sim);
    let t = Instant::now();
    let r = api.get("/cluster/resources").await;
    let took = t.elapsed();
    let list = r.data().as_array().expect("list");
    assert_eq!(
        list.iter()
            .filter(|e| e["type"] == "qemu" || e["type"] == "lxc")
            .count(),
        5000
    );
    assert!(took.as_secs_f64() < 5.0, "/cluster/resources took {took:?}");
    let ro = Api::auditor(&sim);
    assert_eq!(
        ro.get("/cluster/resources?type=vm")
            .await
            .data()
            .as_array()
            .expect("list")
            .len(),
        5000
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn scenario_cluster() {
    let sc = pve_sim::Scenario::load(concat!(env!("CARGO_MANIFEST_DIR"), "/scenarios/small.toml"))
        .expect("scenario");
    let sim = sim_with(SimConfig {
        scenario: Some(sc),
        time_scale: 0.0,
        ..Default::default()
    })
    .await;
    let api = Api::admin(&sim);
    let st = api.get("/cluster/status").await;
    assert_eq!(st.data()[0]["name"], "demo-cluster");
    assert_eq!(api.get("/nodes/pve3/status").await.status, 595);
    let r = api.get("/nodes/pve1/qemu/100/config").await;
    assert_eq!(r.data()["name"], "web-01");
    sim.shutdown().await;
}
