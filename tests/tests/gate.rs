//! The gate's cost: a guest destroy reads the cluster once and the guest's configuration once
//! before the DELETE, whichever way the human is asked, and who the server is gets read once.

use e2e::{Harness, Human, Protocol, json};

/// Stopped VMs that are neither templates nor protected, for destroying.
async fn disposable(h: &Harness, n: usize) -> Vec<u64> {
    let vms = e2e::sim::guests(&h.sim.api(), "qemu").await;
    let mut out = Vec::new();
    for g in vms {
        let stopped = g.get("status") == Some(&json!("stopped"));
        let template = g.get("template") == Some(&json!(1));
        let tagged = g
            .get("tags")
            .and_then(|t| t.as_str())
            .is_some_and(|t| t.to_lowercase().contains("protected"));
        if stopped && !template && !tagged {
            let vmid = g["vmid"].as_u64().unwrap();
            let node = g["node"].as_str().unwrap().to_string();
            let cfg = h
                .sim
                .api()
                .get(&format!("/nodes/{node}/qemu/{vmid}/config"))
                .await
                .unwrap();
            if cfg.get("protection").is_none_or(|p| p != &json!(1)) {
                out.push(vmid);
            }
        }
        if out.len() == n {
            break;
        }
    }
    assert_eq!(out.len(), n, "the sim needs {n} disposable VMs");
    out
}

/// What the server asked the sim during one call, as `METHOD path`.
fn seen(h: &Harness) -> Vec<String> {
    h.sim
        .requests()
        .iter()
        .map(|r| format!("{} {}", r.method, r.path))
        .collect()
}

async fn destroy_costs(p: Protocol, most: usize) {
    let h = Harness::builder(p)
        .mode("normal")
        .human(Human::Accept)
        .start()
        .await;
    let [warm, vm] = disposable(&h, 2).await[..] else {
        unreachable!()
    };
    // The first change also reads who the server is (node, groups, roles), once.
    h.ok(
        "vm_action",
        json!({"action": "destroy", "vmid": warm, "wait": 0}),
    )
    .await;
    h.sim.clear_requests();
    let asked = h.mcp.asked().len();
    h.ok(
        "vm_action",
        json!({"action": "destroy", "vmid": vm, "wait": 0}),
    )
    .await;
    assert_eq!(h.mcp.asked().len(), asked + 1, "the human was asked once");
    let reqs = seen(&h);
    assert!(
        reqs.len() <= most,
        "{p:?}: a destroy cost {} PVE requests, at most {most} expected: {reqs:#?}",
        reqs.len()
    );
    assert!(
        reqs.last().is_some_and(|r| r.starts_with("DELETE ")),
        "{reqs:#?}"
    );
    h.finish().await;
}

/// Asked through a form (elicitation): one round.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_destroy_confirmed_in_one_round_costs_three_requests() {
    destroy_costs(Protocol::Legacy, 3).await;
}

/// Asked through an input-required round: the answering round reuses the guests the asking
/// round read, and reads the guest's protection afresh.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_destroy_confirmed_through_input_required_costs_four_requests() {
    destroy_costs(Protocol::Modern, 4).await;
}
