//! `HttpClient` authentication and transport security: ticket login, CSRF, renewal, TLS pinning.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::json;

use super::test_server::{
    PASSWORD, Req, Resp, assert_no_secret, cfg, client, password, serve, serve_tls, token,
};
use super::*;
use crate::config::{Auth, Secret, TlsConfig};

/// A PVE-like ticket endpoint: ticket N is `PVE:root@pam:N::sig+/=`; `valid` is the ticket number
/// the server still accepts.
struct TicketServer {
    logins: Mutex<Vec<Vec<(String, String)>>>,
    valid: AtomicU32,
}

fn ticket(n: u32) -> String {
    format!("PVE:root@pam:{n:08X}::sig+/=")
}

fn ticket_handler(state: Arc<TicketServer>) -> impl Fn(&Req) -> Resp + Send + Sync + 'static {
    move |r: &Req| {
        if r.target == "/api2/json/access/ticket" {
            let form = r.form();
            let pw = form
                .iter()
                .find(|(k, _)| k == "password")
                .map(|(_, v)| v.clone())
                .unwrap_or_default();
            let user_ok = form.contains(&("username".into(), "root@pam".into()));
            let current = state.valid.load(Ordering::SeqCst);
            state.logins.lock().unwrap().push(form);
            if !user_ok || (pw != PASSWORD && pw != ticket(current)) {
                return Resp::new(401, "authentication failure", r#"{"data":null}"#);
            }
            let n = current + 1;
            state.valid.store(n, Ordering::SeqCst);
            return Resp::ok(
                json!({"username": "root@pam", "ticket": ticket(n), "CSRFPreventionToken": format!("{n:08X}:csrf")}),
            );
        }
        let n = state.valid.load(Ordering::SeqCst);
        let cookie_ok = r.header("cookie")
            == Some(super::auth::cookie_header(&Secret::new(ticket(n))).as_str());
        if !cookie_ok {
            return Resp::new(401, "No ticket", r#"{"data":null}"#);
        }
        if r.method != "GET"
            && r.header("csrfpreventiontoken") != Some(format!("{n:08X}:csrf").as_str())
        {
            return Resp::new(
                401,
                "Permission denied - invalid csrf token",
                r#"{"data":null}"#,
            );
        }
        Resp::ok(json!(r.method.clone()))
    }
}

#[tokio::test]
async fn ticket_login_csrf_relogin_and_renewal() {
    let state = Arc::new(TicketServer {
        logins: Mutex::default(),
        valid: AtomicU32::new(0),
    });
    let srv = serve(ticket_handler(state.clone())).await;
    let c = client(&srv.url, password());

    // Lazy login on the first call; cookie URI-escaped; CSRF only on writes.
    assert_eq!(
        c.call(Method::Get, "/nodes", &Params::new()).await.unwrap(),
        "GET"
    );
    assert_eq!(
        c.call(
            Method::Post,
            "/nodes/pve1/qemu/100/status/start",
            &Params::new()
        )
        .await
        .unwrap(),
        "POST"
    );
    let reqs = srv.requests();
    assert_eq!(
        reqs[0].header("content-type"),
        Some("application/x-www-form-urlencoded")
    );
    assert_eq!(reqs[0].header("authorization"), None);
    assert_eq!(
        reqs[1].header("cookie"),
        Some("PVEAuthCookie=PVE:root@pam:00000001::sig%2B%2F%3D")
    );
    assert_eq!(reqs[1].header("csrfpreventiontoken"), None);
    assert_eq!(reqs[2].header("csrfpreventiontoken"), Some("00000001:csrf"));
    assert_eq!(
        state.logins.lock().unwrap().len(),
        1,
        "one login for both calls"
    );

    // The server forgets the ticket: one re-login and the call goes through.
    state.valid.store(5, Ordering::SeqCst);
    assert_eq!(
        c.call(Method::Put, "/cluster/options", &Params::new())
            .await
            .unwrap(),
        "PUT"
    );
    assert_eq!(state.logins.lock().unwrap().len(), 2);
    assert_eq!(state.valid.load(Ordering::SeqCst), 6);

    // Renewal: an old ticket is exchanged for a new one with itself as the password.
    c.age_ticket(Duration::from_secs(106 * 60)).await;
    assert_eq!(
        c.call(Method::Get, "/nodes", &Params::new()).await.unwrap(),
        "GET"
    );
    let logins = state.logins.lock().unwrap().clone();
    assert_eq!(logins.len(), 3);
    assert!(
        logins[2].contains(&("password".into(), ticket(6))),
        "renewed with the ticket: {:?}",
        logins[2]
    );
    assert_eq!(state.valid.load(Ordering::SeqCst), 7);

    // A ticket past its lifetime is not renewed: a fresh password login instead.
    c.age_ticket(Duration::from_secs(2 * 3600)).await;
    c.call(Method::Get, "/nodes", &Params::new()).await.unwrap();
    let logins = state.logins.lock().unwrap().clone();
    assert!(logins[3].contains(&("password".into(), PASSWORD.into())));
}

#[tokio::test]
async fn wrong_password_is_reported_once_without_the_secret() {
    let state = Arc::new(TicketServer {
        logins: Mutex::default(),
        valid: AtomicU32::new(0),
    });
    let srv = serve(ticket_handler(state.clone())).await;
    let c = client(
        &srv.url,
        Auth::Password {
            user: "root@pam".into(),
            password: Secret::new("wrong-password"),
        },
    );
    let e = c
        .call(Method::Get, "/nodes", &Params::new())
        .await
        .unwrap_err();
    assert!(
        matches!(&e, PveError::Auth { message } if message.contains("login as root@pam failed")),
        "{e:?}"
    );
    assert!(!e.to_string().contains("wrong-password"));
    assert_eq!(
        state.logins.lock().unwrap().len(),
        1,
        "a refused login is not repeated"
    );
}

#[tokio::test]
async fn tls_pinning_ca_file_and_untrusted_certificates() {
    let srv = serve_tls(|_: &Req| Resp::ok(json!({"version": "9.1.1"}))).await;
    let fp = srv.fingerprint.clone().unwrap();
    let version = |tls: TlsConfig| {
        let mut config = cfg(&srv.url, token());
        config.tls = tls;
        async move {
            let c = HttpClient::new(&config)?.with_retry_delays(vec![]);
            c.call(Method::Get, "/version", &Params::new()).await
        }
    };

    // The right pin is accepted, in any case and with or without colons.
    for pin in [fp.clone(), fp.to_lowercase().replace(':', "")] {
        let v = version(TlsConfig {
            fingerprint: Some(pin),
            ..TlsConfig::default()
        })
        .await
        .unwrap();
        assert_eq!(v["version"], "9.1.1");
    }

    // A wrong pin is refused, and the error names the presented fingerprint.
    let wrong = "00".repeat(32);
    let e = version(TlsConfig {
        fingerprint: Some(wrong),
        ..TlsConfig::default()
    })
    .await
    .unwrap_err();
    match &e {
        PveError::Tls {
            presented_fingerprint,
            detail,
            ..
        } => {
            assert_eq!(presented_fingerprint.as_deref(), Some(fp.as_str()));
            assert!(
                detail.starts_with("the certificate does not match the pinned fingerprint 00:00:"),
                "{detail}"
            );
        }
        other => panic!("{other:?}"),
    }
    assert!(
        e.to_string().contains(&format!("PROXMOX_FINGERPRINT={fp}")),
        "{e}"
    );
    assert!(!e.may_have_reached_server());
    assert_no_secret(&e);

    // Default verification: the private CA is unknown.
    let e = version(TlsConfig::default()).await.unwrap_err();
    assert!(
        matches!(&e, PveError::Tls { presented_fingerprint: Some(p), .. } if *p == fp),
        "{e:?}"
    );
    let m = e.to_string();
    // (Machines without system CA certificates get the second message.)
    assert!(
        m.contains("not signed by a CA this machine trusts")
            || m.contains("no trusted CA certificates"),
        "{m}"
    );

    // With the CA file the chain verifies (hostname 127.0.0.1 is in the certificate).
    let dir = tempfile::tempdir().unwrap();
    let ca = dir.path().join("pve-root-ca.pem");
    std::fs::write(&ca, srv.ca_pem.clone().unwrap()).unwrap();
    let v = version(TlsConfig {
        ca_file: Some(ca),
        ..TlsConfig::default()
    })
    .await
    .unwrap();
    assert_eq!(v["version"], "9.1.1");

    // Explicitly insecure accepts anything.
    let v = version(TlsConfig {
        insecure: true,
        ..TlsConfig::default()
    })
    .await
    .unwrap();
    assert_eq!(v["version"], "9.1.1");
    assert_eq!(
        srv.requests().len(),
        4,
        "only the accepted handshakes reached the server"
    );
}
