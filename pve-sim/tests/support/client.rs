//! Test helpers: start a simulator on 127.0.0.1 and talk to it over real HTTPS with reqwest.
#![allow(dead_code)]

use std::time::Duration;

use pve_sim::{SimConfig, SimHandle};
use serde_json::Value;

/// Starts a small simulator with fast tasks.
pub async fn sim() -> SimHandle {
    sim_with(SimConfig {
        time_scale: 0.02,
        ..Default::default()
    })
    .await
}

pub async fn sim_with(cfg: SimConfig) -> SimHandle {
    pve_sim::start(cfg).await.expect("start simulator")
}

/// A reqwest client that trusts the simulator's certificate.
pub fn client(sim: &SimHandle) -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let cert = reqwest::Certificate::from_pem(sim.cert_pem().as_bytes()).expect("cert");
    reqwest::Client::builder()
        .add_root_certificate(cert)
        .timeout(Duration::from_secs(20))
        .build()
        .expect("client")
}

/// A response reduced to status and JSON body.
#[derive(Debug)]
pub struct Resp {
    pub status: u16,
    pub body: Value,
}

impl Resp {
    pub fn data(&self) -> &Value {
        &self.body["data"]
    }

    pub fn message(&self) -> &str {
        self.body["message"].as_str().unwrap_or("")
    }
}

pub async fn send(req: reqwest::RequestBuilder) -> Resp {
    let r = req.send().await.expect("request");
    let status = r.status().as_u16();
    let text = r.text().await.expect("body");
    let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
    Resp { status, body }
}

/// Token-authenticated API calls.
pub struct Api {
    pub http: reqwest::Client,
    pub base: String,
    pub auth: String,
}

impl Api {
    pub fn admin(sim: &SimHandle) -> Self {
        Self::token(sim, &sim.admin())
    }

    pub fn auditor(sim: &SimHandle) -> Self {
        Self::token(sim, &sim.auditor())
    }

    pub fn token(sim: &SimHandle, c: &pve_sim::Credentials) -> Self {
        Api {
            http: client(sim),
            base: format!("{}/api2/json", sim.url()),
            auth: c.header(),
        }
    }

    pub async fn get(&self, path: &str) -> Resp {
        send(
            self.http
                .get(format!("{}{path}", self.base))
                .header("Authorization", &self.auth),
        )
        .await
    }

    pub async fn post(&self, path: &str, form: &[(&str, &str)]) -> Resp {
        send(
            self.http
                .post(format!("{}{path}", self.base))
                .header("Authorization", &self.auth)
                .form(form),
        )
        .await
    }

    pub async fn put(&self, path: &str, form: &[(&str, &str)]) -> Resp {
        send(
            self.http
                .put(format!("{}{path}", self.base))
                .header("Authorization", &self.auth)
                .form(form),
        )
        .await
    }

    pub async fn delete(&self, path: &str) -> Resp {
        send(
            self.http
                .delete(format!("{}{path}", self.base))
                .header("Authorization", &self.auth),
        )
        .await
    }

    /// The node a guest lives on (from /cluster/resources).
    pub async fn node_of(&self, vmid: u64) -> String {
        let r = self.get("/cluster/resources?type=vm").await;
        r.data()
            .as_array()
            .expect("list")
            .iter()
            .find(|g| g["vmid"].as_u64() == Some(vmid))
            .and_then(|g| g["node"].as_str())
            .expect("guest")
            .to_string()
    }

    /// Finds a guest matching a predicate: (vmid, node).
    pub async fn find_guest(&self, pred: impl Fn(&Value) -> bool) -> (u64, String) {
        let r = self.get("/cluster/resources?type=vm").await;
        let g = r
            .data()
            .as_array()
            .expect("list")
            .iter()
            .find(|g| pred(g))
            .expect("a matching guest")
            .clone();
        (
            g["vmid"].as_u64().expect("vmid"),
            g["node"].as_str().expect("node").to_string(),
        )
    }

    /// Polls a task until it stops; returns the exit status.
    pub async fn wait_task(&self, upid: &str) -> String {
        let node = upid.split(':').nth(1).expect("node in upid");
        for _ in 0..400 {
            let r = self
                .get(&format!("/nodes/{node}/tasks/{upid}/status"))
                .await;
            assert_eq!(r.status, 200, "{:?}", r.body);
            if r.data()["status"] == "stopped" {
                return r.data()["exitstatus"]
                    .as_str()
                    .expect("exitstatus")
                    .to_string();
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        panic!("task {upid} did not finish");
    }
}

/// The server's UPID decode regex from FACTS.md.
pub fn upid_regex() -> regex::Regex {
    regex::Regex::new(
        r"^UPID:([a-zA-Z0-9]([a-zA-Z0-9\-]*[a-zA-Z0-9])?):([0-9A-Fa-f]{8}):([0-9A-Fa-f]{8,9}):([0-9A-Fa-f]{8}):([^:\s/]+):([^:\s/]*):([^:\s/]+):$",
    )
    .expect("regex")
}
