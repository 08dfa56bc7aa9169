//! Authentication and authorization over real HTTPS: tokens, tickets, CSRF, expiry, 401/403.

#[path = "support/client.rs"]
mod support;

use std::time::Duration;

use support::{Api, client, send, sim};

#[tokio::test]
async fn token_auth_and_failures() {
    let sim = sim().await;
    let api = Api::admin(&sim);
    let r = api.get("/version").await;
    assert_eq!(r.status, 200);
    assert_eq!(r.data()["release"], "9.1");

    let http = client(&sim);
    let url = format!("{}/api2/json/version", sim.url());
    let none = send(http.get(&url)).await;
    assert_eq!(none.status, 401);
    assert_eq!(none.message(), "No ticket");

    let bad = send(http.get(&url).header(
        "Authorization",
        format!("PVEAPIToken={}=wrong", sim.admin().token_id),
    ))
    .await;
    assert_eq!(bad.status, 401);
    assert_eq!(bad.message(), "Authentication failed!");

    let space = send(http.get(&url).header(
        "Authorization",
        format!(
            "PVEAPIToken {}={}",
            sim.admin().token_id,
            sim.admin().secret
        ),
    ))
    .await;
    assert_eq!(space.status, 200);

    // The reason phrase carries the message too.
    let raw = http.get(&url).send().await.expect("send");
    assert_eq!(raw.status().as_u16(), 401);
    sim.shutdown().await;
}

#[tokio::test]
async fn ticket_flow_with_csrf_and_renewal() {
    let sim = sim().await;
    let http = client(&sim);
    let base = format!("{}/api2/json", sim.url());
    let (user, pw) = sim.root_password();

    let bad = send(
        http.post(format!("{base}/access/ticket"))
            .form(&[("username", user.as_str()), ("password", "nope")]),
    )
    .await;
    assert_eq!(bad.status, 401);

    let t = send(
        http.post(format!("{base}/access/ticket"))
            .form(&[("username", user.as_str()), ("password", pw.as_str())]),
    )
    .await;
    assert_eq!(t.status, 200, "{:?}", t.body);
    let ticket = t.data()["ticket"].as_str().expect("ticket").to_string();
    let csrf = t.data()["CSRFPreventionToken"]
        .as_str()
        .expect("csrf")
        .to_string();
    assert!(ticket.starts_with("PVE:root@pam:"));
    assert_eq!(t.data()["username"], "root@pam");
    assert_eq!(t.data()["clustername"], "sim-cluster");
    assert_eq!(t.data()["cap"]["vms"]["VM.PowerMgmt"], 1);

    // JSON login works as well.
    let tj = send(
        http.post(format!("{base}/access/ticket"))
            .json(&serde_json::json!({"username": "root", "realm": "pam", "password": pw})),
    )
    .await;
    assert_eq!(tj.status, 200, "{:?}", tj.body);

    let cookie = format!("PVEAuthCookie={}", pve_cookie(&ticket));
    let r = send(http.get(format!("{base}/nodes")).header("Cookie", &cookie)).await;
    assert_eq!(r.status, 200);
    let r = send(
        http.get(format!("{base}/nodes"))
            .header("Authorization", format!("PVEAuthCookie={ticket}")),
    )
    .await;
    assert_eq!(r.status, 200);

    // Writes need the CSRF token.
    let no_csrf = send(
        http.post(format!("{base}/pools"))
            .header("Cookie", &cookie)
            .form(&[("poolid", "x1")]),
    )
    .await;
    assert_eq!(no_csrf.status, 401);
    assert_eq!(no_csrf.message(), "Permission denied - invalid csrf token");
    let ok = send(
        http.post(format!("{base}/pools"))
            .header("Cookie", &cookie)
            .header("CSRFPreventionToken", &csrf)
            .form(&[("poolid", "x1")]),
    )
    .await;
    assert_eq!(ok.status, 200, "{:?}", ok.body);

    // Renewal with the ticket as password.
    let renewed = send(
        http.post(format!("{base}/access/ticket"))
            .form(&[("username", user.as_str()), ("password", ticket.as_str())]),
    )
    .await;
    assert_eq!(renewed.status, 200);

    // Expiry.
    sim.set_ticket_lifetime(Duration::from_secs(1));
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let expired = send(http.get(format!("{base}/nodes")).header("Cookie", &cookie)).await;
    assert_eq!(expired.status, 401);
    assert_eq!(expired.message(), "Authentication failed!");
    sim.shutdown().await;
}

fn pve_cookie(t: &str) -> String {
    t.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

#[tokio::test]
async fn auditor_reads_but_cannot_write() {
    let sim = sim().await;
    let ro = Api::auditor(&sim);
    let admin = Api::admin(&sim);
    let list = ro.get("/cluster/resources").await;
    assert_eq!(list.status, 200);
    assert!(!list.data().as_array().expect("array").is_empty());
    let (vmid, node) = admin
        .find_guest(|g| g["type"] == "qemu" && g["template"] == 0)
        .await;
    let r = ro
        .post(&format!("/nodes/{node}/qemu/{vmid}/status/start"), &[])
        .await;
    assert_eq!(r.status, 403);
    assert_eq!(
        r.message(),
        format!("Permission check failed (/vms/{vmid}, VM.PowerMgmt)")
    );
    let perms = ro.get("/access/permissions").await;
    assert_eq!(perms.data()["/"]["VM.Audit"], 1);
    assert!(perms.data()["/"].get("VM.PowerMgmt").is_none());
    let users = ro.get("/access/users").await;
    assert_eq!(users.status, 200);
    sim.shutdown().await;
}
