//! `HttpClient` against a local server: headers, encoding, retries, error mapping, construction.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use serde_json::{Value, json};

use super::test_server::{Req, Resp, SECRET, assert_no_secret, cfg, client, params, serve, token};
use super::*;
use crate::config::{Auth, Secret};

#[tokio::test]
async fn token_header_query_and_form_encoding() {
    let srv = serve(|r: &Req| match r.method.as_str() {
        "GET" => Resp::ok(json!([{"id": "qemu/100", "type": "qemu", "vmid": 100}])),
        "POST" => Resp::ok(json!(
            "UPID:pve1:00007323:001036A5:6419CAF8:qmstart:100:mcp@pve!test:"
        )),
        _ => Resp::ok(Value::Null),
    })
    .await;
    let c = client(&srv.url, token());
    assert_eq!(c.base_url(), srv.url);
    let data = c
        .call(
            Method::Get,
            "/cluster/resources",
            &params(json!({"type": "vm"})),
        )
        .await
        .unwrap();
    assert_eq!(data[0]["vmid"], 100);
    c.call(
        Method::Post,
        "/nodes/pve1/qemu/100/agent/exec",
        &params(json!({"command": ["/bin/sh", "-c", "echo a b"], "force": true, "timeout": 30})),
    )
    .await
    .unwrap();
    c.call(
        Method::Delete,
        "/nodes/pve1/qemu/100",
        &params(json!({"purge": true})),
    )
    .await
    .unwrap();

    let reqs = srv.requests();
    let get = &reqs[0];
    assert_eq!(get.target, "/api2/json/cluster/resources?type=vm");
    assert_eq!(
        get.header("authorization"),
        Some(format!("PVEAPIToken=mcp@pve!test={SECRET}").as_str())
    );
    assert_eq!(get.header("csrfpreventiontoken"), None);
    assert_eq!(get.header("cookie"), None);
    assert!(get.body.is_empty());

    let post = &reqs[1];
    assert_eq!(post.target, "/api2/json/nodes/pve1/qemu/100/agent/exec");
    assert_eq!(
        post.header("content-type"),
        Some("application/x-www-form-urlencoded")
    );
    assert_eq!(
        post.body,
        "command=%2Fbin%2Fsh&command=-c&command=echo+a+b&force=1&timeout=30"
    );
    assert_eq!(
        post.header("csrfpreventiontoken"),
        None,
        "tokens need no CSRF token"
    );

    let delete = &reqs[2];
    assert_eq!(delete.method, "DELETE");
    assert_eq!(delete.target, "/api2/json/nodes/pve1/qemu/100?purge=1");
    assert!(
        delete.body.is_empty(),
        "DELETE must not carry a body (PVE answers 501)"
    );
}

#[tokio::test]
async fn paths_are_sent_as_given_and_nested_params_refused() {
    let srv = serve(|_: &Req| Resp::ok(json!({}))).await;
    let c = client(&srv.url, token());
    let upid = "UPID:pve1:00007323:001036A5:6419CAF8:qmstart:100:mcp@pve!test:";
    c.call(
        Method::Get,
        &format!("/nodes/pve1/tasks/{upid}/status"),
        &Params::new(),
    )
    .await
    .unwrap();
    assert_eq!(
        srv.requests()[0].target,
        format!("/api2/json/nodes/pve1/tasks/{upid}/status")
    );

    let e = c
        .call(
            Method::Put,
            "/nodes/pve1/qemu/100/config",
            &params(json!({"net0": {"model": "virtio"}})),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(&e, PveError::Config(m) if m.contains("'net0' is an object")),
        "{e:?}"
    );
    let e = c
        .call(Method::Get, "/nodes/../access", &Params::new())
        .await
        .unwrap_err();
    assert!(matches!(e, PveError::Config(_)));
    assert_eq!(srv.requests().len(), 1, "refused calls are not sent");
}

#[tokio::test]
async fn get_is_retried_on_503_but_post_never() {
    let hits = Arc::new(AtomicU32::new(0));
    let h = hits.clone();
    let srv = serve(move |r: &Req| {
        let n = h.fetch_add(1, Ordering::SeqCst);
        if r.method == "GET" && n == 2 {
            Resp::ok(json!({"version": "9.1.1"}))
        } else {
            Resp::new(503, "Service Unavailable", "")
        }
    })
    .await;
    let c = client(&srv.url, token());
    let v = c
        .call(Method::Get, "/version", &Params::new())
        .await
        .unwrap();
    assert_eq!(v["version"], "9.1.1");
    assert_eq!(hits.load(Ordering::SeqCst), 3, "GET tried 3 times");

    let e = c
        .call(
            Method::Post,
            "/nodes/pve1/qemu/100/status/start",
            &Params::new(),
        )
        .await
        .unwrap_err();
    assert!(matches!(e, PveError::Api { status: 503, .. }), "{e:?}");
    assert!(e.may_have_reached_server());
    assert_eq!(hits.load(Ordering::SeqCst), 4, "POST tried once");

    // A GET that keeps failing gives up after 3 tries.
    let e = c
        .call(Method::Get, "/nodes", &Params::new())
        .await
        .unwrap_err();
    assert!(matches!(e, PveError::Api { status: 503, .. }));
    assert_eq!(hits.load(Ordering::SeqCst), 7);
}

#[tokio::test]
async fn connect_refused_and_timeouts() {
    // A port that was just free: nothing listens there.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let url = format!("http://127.0.0.1:{port}");
    let c = client(&url, token());
    let e = c
        .call(
            Method::Post,
            "/nodes/pve1/qemu/100/status/stop",
            &Params::new(),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(&e, PveError::Connect { url: u, .. } if *u == url),
        "{e:?}"
    );
    assert!(!e.may_have_reached_server());
    assert!(e.to_string().contains(&url));
    assert_no_secret(&e);

    let srv = serve(|_: &Req| Resp::ok(Value::Null).delayed(Duration::from_secs(3))).await;
    let mut config = cfg(&srv.url, token());
    config.timeouts.request = Duration::from_millis(200);
    let c = HttpClient::new(&config).unwrap();
    let started = std::time::Instant::now();
    let e = c
        .call(
            Method::Post,
            "/nodes/pve1/qemu/100/status/stop",
            &Params::new(),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(
            e,
            PveError::Timeout {
                may_have_reached: true,
                ..
            }
        ),
        "{e:?}"
    );
    assert!(e.to_string().contains("may have reached"));
    assert!(started.elapsed() < Duration::from_secs(2));
}

#[tokio::test]
async fn errors_from_reason_phrase_and_body() {
    let srv = serve(|r: &Req| match r.target.as_str() {
        "/api2/json/nodes/pve1/qemu/100/status/start" => Resp::new(
            403,
            "Permission check failed (/vms/100, VM.PowerMgmt)",
            r#"{"data":null}"#,
        ),
        "/api2/json/nodes/pve1/qemu/999/config" => Resp::new(
            500,
            "Configuration file 'nodes/pve1/qemu-server/999.conf' does not exist",
            r#"{"data":null}"#,
        ),
        "/api2/json/nodes/pve1/qemu/100/status/stop" => Resp::new(
            500,
            "Internal Server Error",
            r#"{"data":null,"message":"VM 100 not running\n"}"#,
        ),
        "/api2/json/nodes/PVE1/status" => Resp::new(595, "Connection refused", ""),
        "/api2/json/nodes/pve1/qemu/100/agent/exec-status" => Resp::new(
            400,
            "Parameter verification failed.",
            r#"{"errors":{"pid":"property is missing and it is not optional"},"data":null}"#,
        ),
        "/api2/json/nodes/pve1/qemu/100/agent/info" => {
            Resp::new(500, "QEMU guest agent is not running", "")
        }
        "/api2/json/version" => Resp::new(401, "authentication failure", ""),
        _ => Resp::new(501, "Method 'GET /foo' not implemented", ""),
    })
    .await;
    let c = client(&srv.url, token());
    let call = |m: Method, p: &'static str| {
        let c = &c;
        async move { c.call(m, p, &Params::new()).await.unwrap_err() }
    };

    let e = call(Method::Post, "/nodes/pve1/qemu/100/status/start").await;
    match &e {
        PveError::Permission {
            message,
            path,
            privilege,
        } => {
            assert_eq!(
                (path.as_deref(), privilege.as_deref()),
                (Some("/vms/100"), Some("VM.PowerMgmt"))
            );
            assert!(
                message
                    .starts_with("API token mcp@pve!test lacks privilege VM.PowerMgmt on /vms/100"),
                "{message}"
            );
        }
        other => panic!("{other:?}"),
    }
    let e = call(Method::Get, "/nodes/pve1/qemu/999/config").await;
    assert!(
        matches!(&e, PveError::NotFound { message } if message.starts_with("Configuration file 'nodes/pve1/qemu-server/999.conf' does not exist")),
        "{e:?}"
    );
    let e = call(Method::Post, "/nodes/pve1/qemu/100/status/stop").await;
    assert!(
        matches!(&e, PveError::Api { status: 500, message } if message.starts_with("VM 100 not running (POST")),
        "{e:?}"
    );
    let e = call(Method::Get, "/nodes/PVE1/status").await;
    assert!(
        matches!(e, PveError::NodeUnreachable { status: 595, .. }),
        "{e:?}"
    );
    let e = call(Method::Get, "/nodes/pve1/qemu/100/agent/exec-status").await;
    assert!(
        matches!(&e, PveError::Params { errors, .. } if errors["pid"] == "property is missing and it is not optional"),
        "{e:?}"
    );
    let e = call(Method::Get, "/nodes/pve1/qemu/100/agent/info").await;
    assert!(matches!(e, PveError::Agent { .. }), "{e:?}");
    let e = call(Method::Get, "/version").await;
    assert!(
        matches!(&e, PveError::Auth { message } if message.contains("API token mcp@pve!test")),
        "{e:?}"
    );
    assert_no_secret(&e);
    let e = call(Method::Get, "/foo").await;
    assert!(matches!(e, PveError::NotImplemented { .. }), "{e:?}");
}

#[test]
fn construction_validates_credentials() {
    let bad_id = Auth::Token {
        id: "mcp@pve".into(),
        secret: Secret::new(SECRET),
    };
    let e = HttpClient::new(&cfg("https://pve1:8006", bad_id)).unwrap_err();
    assert!(e.to_string().contains("the token name is missing"), "{e}");
    let bad_secret = Auth::Token {
        id: "mcp@pve!x".into(),
        secret: Secret::new("not-a-uuid"),
    };
    let e = HttpClient::new(&cfg("https://pve1:8006", bad_secret)).unwrap_err();
    assert!(e.to_string().contains("token secret is invalid"), "{e}");
    let e = HttpClient::new(&cfg("pve1:8006", token())).unwrap_err();
    assert!(e.to_string().contains("https://HOST:8006"), "{e}");
    let c = HttpClient::new(&cfg("https://pve1:8006/api2/json/", token())).unwrap();
    assert_eq!(c.base_url(), "https://pve1:8006");
    assert_eq!(c.who(), "API token mcp@pve!test");
    assert!(!format!("{c:?}").contains(SECRET));
}

#[test]
fn methods() {
    for (s, m) in [
        ("get", Method::Get),
        ("POST", Method::Post),
        ("Put", Method::Put),
        (" delete ", Method::Delete),
    ] {
        assert_eq!(s.parse::<Method>().unwrap(), m);
        assert_eq!(m.to_string().parse::<Method>().unwrap(), m);
    }
    assert!("PATCH".parse::<Method>().is_err());
    assert!(
        !Method::Get.is_write()
            && Method::Post.is_write()
            && Method::Put.is_write()
            && Method::Delete.is_write()
    );
    assert_eq!(
        serde_json::to_string(&Method::Delete).unwrap(),
        "\"DELETE\""
    );
    assert_eq!(
        serde_json::from_str::<Method>("\"get\"").unwrap(),
        Method::Get
    );
}

#[test]
fn base_urls() {
    assert_eq!(
        normalise_base_url("https://pve1:8006/").unwrap(),
        "https://pve1:8006"
    );
    assert_eq!(
        normalise_base_url("https://pve1:8006/api2/json").unwrap(),
        "https://pve1:8006"
    );
    assert_eq!(
        normalise_base_url(" https://10.0.0.1:8006 ").unwrap(),
        "https://10.0.0.1:8006"
    );
    for bad in [
        "pve1:8006",
        "ftp://pve1",
        "https://",
        "https://u:p@pve1:8006",
        "https://pve1:8006/?x",
    ] {
        assert!(normalise_base_url(bad).is_err(), "{bad}");
    }
}
