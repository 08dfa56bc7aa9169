//! `user_management` and `cluster_management` end to end: every change is read back through the
//! tools and the sim, root and self protection hold, bad input changes nothing, secrets never
//! reach the audit log.

use e2e::{Harness, Human, Protocol, ResultExt as _, Value, json, per_protocol};

per_protocol!(root_and_self_protection_refused);

const UM: &str = "user_management";
const CM: &str = "cluster_management";

async fn normal() -> Harness {
    Harness::builder(Protocol::Modern)
        .mode("normal")
        .human(Human::Accept)
        .start()
        .await
}

/// Every audit file, as raw text (to prove a secret is nowhere in it).
fn audit_text(h: &Harness) -> String {
    let dir = h.dir.path().join("state/audit");
    let mut out = String::new();
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        out.push_str(&std::fs::read_to_string(e.path()).unwrap_or_default());
    }
    out
}

/// The final audit record of the last call to `tool`.
fn last_record(h: &Harness, tool: &str) -> Value {
    h.audit()
        .into_iter()
        .rev()
        .find(|r| r["tool"] == json!(tool) && r["result"] != json!("started"))
        .unwrap_or_else(|| panic!("no audit record for {tool}"))
}

/// The access configuration as the sim's admin sees it: users, groups, ACL.
async fn access_state(h: &Harness) -> Value {
    let api = h.sim.api();
    json!({
        "users": api.get_query("/access/users", &[("full", "1")]).await.unwrap(),
        "groups": api.get("/access/groups").await.unwrap(),
        "acl": api.get("/access/acl").await.unwrap(),
        "ha": api.get("/cluster/ha/resources").await.unwrap(),
    })
}

fn ids(v: &Value, key: &str) -> Vec<String> {
    v.as_array()
        .map(|a| {
            a.iter()
                .filter_map(|r| r[key].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn users_and_groups_round_trip() {
    let h = normal().await;
    let password = "Tr0ub4dor-and-3";
    h.ok(
        UM,
        json!({"action": "group_create", "group": "devs", "comment": "Developers"}),
    )
    .await;
    let g = h.ok(UM, json!({"action": "groups"})).await;
    assert!(ids(&g["data"], "groupid").contains(&"devs".into()), "{g}");

    let r = h
        .call(
            UM,
            json!({"action": "user_create", "userid": "carol@pve", "password": password,
                "email": "carol@example.invalid", "groups": "devs", "comment": "new hire"}),
        )
        .await;
    r.ok("user_create");
    // The password really was set.
    let ticket = h
        .sim
        .api()
        .post(
            "/access/ticket",
            &[("username", "carol@pve"), ("password", password)],
        )
        .await
        .expect("carol can log in");
    assert_eq!(ticket["username"], "carol@pve");
    assert!(!r.text().contains(password) && !r.structured().to_string().contains(password));
    let list = h.ok(UM, json!({"action": "users"})).await;
    assert!(ids(&list["data"], "userid").contains(&"carol@pve".into()));
    let u = h
        .ok(UM, json!({"action": "user_get", "userid": "carol@pve"}))
        .await;
    assert_eq!(u["data"]["email"], "carol@example.invalid", "{u}");
    assert_eq!(u["data"]["groups"], json!(["devs"]), "{u}");

    h.ok(
        UM,
        json!({"action": "user_update", "userid": "carol@pve", "firstname": "Carol", "enable": 0}),
    )
    .await;
    let u = h.sim.api().get("/access/users/carol@pve").await.unwrap();
    assert_eq!(u["firstname"], "Carol");
    assert_eq!(u["enable"], 0);

    // Deleting asks (Destructive in normal mode); the human accepts.
    h.ok(UM, json!({"action": "user_delete", "userid": "carol@pve"}))
        .await;
    assert_eq!(last_record(&h, UM)["decision"], "confirmed");
    let users = h.sim.api().get("/access/users").await.unwrap();
    assert!(!ids(&users, "userid").contains(&"carol@pve".into()));
    h.ok(UM, json!({"action": "group_delete", "group": "devs"}))
        .await;
    let groups = h.sim.api().get("/access/groups").await.unwrap();
    assert!(!ids(&groups, "groupid").contains(&"devs".into()));
    let roles = h.ok(UM, json!({"action": "roles"})).await;
    assert!(ids(&roles["data"], "roleid").contains(&"Administrator".into()));

    assert!(
        !audit_text(&h).contains(password),
        "the password reached the audit log"
    );
    h.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acl_grant_shows_in_permissions_and_revoke_removes_it() {
    let h = normal().await;
    let grant = json!({"action": "acl_grant", "userid": "alice@pve", "path": "/storage/local",
        "role": "PVEDatastoreAdmin"});
    h.ok(UM, grant.clone()).await;
    let acl = h
        .ok(UM, json!({"action": "acl", "path": "/storage/local"}))
        .await;
    let rows = acl["data"].as_array().unwrap();
    assert!(
        rows.iter()
            .any(|r| r["ugid"] == "alice@pve" && r["roleid"] == "PVEDatastoreAdmin"),
        "{acl}"
    );
    let perms = h
        .ok(
            UM,
            json!({"action": "permissions", "userid": "alice@pve", "path": "/storage/local"}),
        )
        .await;
    assert_eq!(
        perms["data"]["/storage/local"]["Datastore.Allocate"], 1,
        "{perms}"
    );

    let mut revoke = grant;
    revoke["action"] = json!("acl_revoke");
    h.ok(UM, revoke).await;
    let acl = h.sim.api().get("/access/acl").await.unwrap();
    assert!(
        !acl.as_array()
            .unwrap()
            .iter()
            .any(|r| r["ugid"] == "alice@pve" && r["path"] == "/storage/local"),
        "{acl}"
    );
    let perms = h
        .ok(
            UM,
            json!({"action": "permissions", "userid": "alice@pve", "path": "/storage/local"}),
        )
        .await;
    assert!(
        perms["data"]["/storage/local"]
            .get("Datastore.Allocate")
            .is_none(),
        "{perms}"
    );
    h.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn token_secret_goes_to_the_human_never_to_the_model_or_the_log() {
    let h = normal().await;
    let r = h
        .call(
            UM,
            json!({"action": "token_create", "userid": "alice@pve", "tokenid": "ci",
                "comment": "pipeline"}),
        )
        .await;
    r.ok("token_create");
    // The human reads the secret from a private file on the host; the model never sees it.
    let file = r.structured()["data"]["stored_in"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        r.text().contains(&file),
        "the model must say where: {}",
        r.text()
    );
    let mode =
        std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(&file).unwrap().permissions());
    assert_eq!(mode & 0o777, 0o600, "{file}");
    let secret = std::fs::read_to_string(&file).unwrap().trim().to_string();
    assert_eq!(secret.len(), 36, "a UUID secret in {file}");
    assert!(
        !r.text().contains(&secret),
        "the model saw the secret: {}",
        r.text()
    );
    assert!(
        !r.structured().to_string().contains(&secret),
        "the model saw the secret: {}",
        r.structured()
    );
    // The secret really authenticates.
    let api = e2e::ApiClient::new(&h.sim.url(), &format!("PVEAPIToken=alice@pve!ci={secret}"));
    api.get("/version").await.expect("the new token works");

    let list = h
        .ok(UM, json!({"action": "tokens", "userid": "alice@pve"}))
        .await;
    assert!(
        ids(&list["data"], "tokenid").contains(&"ci".into()),
        "{list}"
    );
    assert!(!list.to_string().contains(&secret), "shown twice: {list}");
    assert!(
        !audit_text(&h).contains(&secret),
        "the token secret reached the audit log"
    );

    h.ok(
        UM,
        json!({"action": "token_delete", "userid": "alice@pve", "tokenid": "ci"}),
    )
    .await;
    let toks = h
        .sim
        .api()
        .get("/access/users/alice@pve/token")
        .await
        .unwrap();
    assert!(!ids(&toks, "tokenid").contains(&"ci".into()), "{toks}");
    h.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ha_add_remove_and_pools_match_the_sim() {
    let h = normal().await;
    let api = h.sim.api();
    let vms = e2e::sim::guests(&api, "qemu").await;
    let cts = e2e::sim::guests(&api, "lxc").await;
    let ha_before = ids(&api.get("/cluster/ha/resources").await.unwrap(), "sid");
    let free = |rows: &[e2e::Map<String, Value>], kind: &str| {
        rows.iter()
            .map(|g| g["vmid"].as_u64().unwrap())
            .find(|v| !ha_before.contains(&format!("{kind}:{v}")))
            .expect("a guest outside HA")
    };
    let vm = free(&vms, "vm");
    let ct = free(&cts, "ct");

    let r = h
        .ok(
            CM,
            json!({"action": "ha_add", "sid": format!("vm:{vm}"), "state": "started",
                "max_restart": 2}),
        )
        .await;
    assert_eq!(r["target"], format!("vm:{vm}"));
    // A bare vmid of a container becomes ct:<id>.
    let r = h.ok(CM, json!({"action": "ha_add", "sid": ct})).await;
    assert_eq!(r["target"], format!("ct:{ct}"));
    let res = h.ok(CM, json!({"action": "ha_resources"})).await;
    let sids = ids(&res["data"], "sid");
    assert!(
        sids.contains(&format!("vm:{vm}")) && sids.contains(&format!("ct:{ct}")),
        "{res}"
    );
    let st = h.ok(CM, json!({"action": "ha_status"})).await;
    assert!(st.to_string().contains(&format!("vm:{vm}")), "{st}");
    let groups = h.ok(CM, json!({"action": "ha_groups"})).await;
    assert!(groups["data"]["rules"].is_array(), "{groups}");

    // The wrong kind is refused before anything is sent.
    let before = h.writes().len();
    let msg = h
        .err(CM, json!({"action": "ha_add", "sid": format!("ct:{vm}")}))
        .await;
    assert!(msg.contains("wrong kind"), "{msg}");
    assert_eq!(h.writes().len(), before);

    h.ok(
        CM,
        json!({"action": "ha_remove", "sid": format!("vm:{vm}")}),
    )
    .await;
    let res = api.get("/cluster/ha/resources").await.unwrap();
    let mut want = ha_before.clone();
    want.push(format!("ct:{ct}"));
    want.sort();
    let mut got = ids(&res, "sid");
    got.sort();
    assert_eq!(got, want, "{res}");

    let pools = h.ok(CM, json!({"action": "pools"})).await;
    let sim_pools = api.get("/pools").await.unwrap();
    assert_eq!(ids(&pools["data"], "poolid"), ids(&sim_pools, "poolid"));
    let members = h
        .ok(CM, json!({"action": "pool_members", "pool": "prod"}))
        .await;
    let sim = api
        .get_query("/pools", &[("poolid", "prod")])
        .await
        .unwrap();
    let vmids = |v: &Value| {
        let mut x: Vec<u64> = v["members"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|m| m["vmid"].as_u64())
            .collect();
        x.sort_unstable();
        x
    };
    assert!(!vmids(&sim[0]).is_empty());
    assert_eq!(vmids(&members["data"]), vmids(&sim[0]));
    let msg = h
        .err(CM, json!({"action": "pool_members", "pool": "nope"}))
        .await;
    assert!(msg.contains("does not exist"), "{msg}");
    h.finish().await;
}

async fn root_and_self_protection_refused(p: Protocol) {
    let h = Harness::builder(p)
        .mode("normal")
        .human(Human::Accept)
        .start()
        .await;
    let own = h.sim.admin().token_id.clone();
    let (user, token) = own.split_once('!').unwrap();
    let before = access_state(&h).await;
    let attempts = [
        json!({"action": "user_update", "userid": "root@pam", "comment": "x"}),
        json!({"action": "user_update", "userid": "root@pam", "enable": 0}),
        json!({"action": "user_delete", "userid": "ROOT@PAM"}),
        json!({"action": "token_delete", "userid": user, "tokenid": token}),
        json!({"action": "token_create", "userid": "root@pam", "tokenid": "x1"}),
        json!({"action": "acl_grant", "userid": user, "path": "/", "role": "Administrator"}),
        json!({"action": "acl_grant", "userid": own, "path": "/", "role": "Administrator"}),
        json!({"action": "acl_grant", "userid": user, "tokenid": token, "path": "/vms",
            "role": "Administrator"}),
        json!({"action": "acl_revoke", "userid": "root@pam", "path": "/", "role": "Administrator"}),
        json!({"action": "user_update", "userid": user, "enable": 0}),
    ];
    for a in attempts {
        let n = h.audit().len();
        let msg = h.err(UM, a.clone()).await;
        assert!(msg.contains("Refused"), "{a}: {msg}");
        let rec = last_record(&h, UM);
        assert_eq!(rec["decision"], "refused", "{a}: {rec}");
        assert!(h.audit().len() > n, "{a}: not audited");
    }
    assert!(h.mcp.asked().is_empty(), "{:?}", h.mcp.asked());
    assert!(h.writes().is_empty(), "{:?}", h.writes());
    assert_eq!(access_state(&h).await, before);
    h.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_calls_change_nothing() {
    let h = normal().await;
    let before = access_state(&h).await;
    let cases = [
        (
            UM,
            json!({"action": "user_get", "userid": "bob"}),
            "name@realm",
        ),
        (
            UM,
            json!({"action": "user_create", "userid": "bob@pve; rm -rf /"}),
            "not a PVE user id",
        ),
        (UM, json!({"action": "user_delete"}), "needs `userid`"),
        (UM, json!({"action": "drop_all"}), "unknown variant"),
        (UM, json!({"userid": "bob@pve"}), "action"),
        (
            UM,
            json!({"action": "user_create", "userid": "bob@pve", "enable": "maybe"}),
            "boolean",
        ),
        (
            UM,
            json!({"action": "acl_grant", "userid": "alice@pve", "path": "/../etc",
                "role": "Administrator"}),
            "not an ACL path",
        ),
        (
            UM,
            json!({"action": "acl_grant", "group": "ops;x", "path": "/", "role": "PVEAuditor"}),
            "group",
        ),
        (
            UM,
            json!({"action": "user_update", "userid": "alice@pve", "password": "hunter22hunter"}),
            "only at user_create",
        ),
        (
            UM,
            json!({"action": "token_create", "userid": "alice@pve", "tokenid": "x y"}),
            "token name",
        ),
        (
            UM,
            json!({"action": "users", "nonsense": 1}),
            "unknown field",
        ),
        (CM, json!({"action": "ha_add"}), "needs `sid`"),
        (
            CM,
            json!({"action": "ha_add", "sid": "vm:100; reboot"}),
            "HA resource id",
        ),
        (
            CM,
            json!({"action": "ha_add", "sid": "vm:99999"}),
            "does not exist",
        ),
        (
            CM,
            json!({"action": "pool_members", "pool": "../prod"}),
            "pool id",
        ),
        (
            CM,
            json!({"action": "pools", "sid": "vm:100"}),
            "does not use",
        ),
    ];
    for (tool, args, want) in cases {
        let n = h.audit().len();
        let msg = h.err(tool, args.clone()).await;
        assert!(msg.contains(want), "{args}: {msg}");
        assert!(h.audit().len() > n, "{args}: not audited");
    }
    assert!(
        !audit_text(&h).contains("hunter22hunter"),
        "a password reached the audit log"
    );
    assert!(h.writes().is_empty(), "{:?}", h.writes());
    assert_eq!(access_state(&h).await, before);
    h.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn safe_mode_asks_and_read_only_refuses() {
    let h = Harness::builder(Protocol::Modern)
        .mode("safe")
        .human(Human::Decline)
        .start()
        .await;
    let before = access_state(&h).await;
    let msg = h
        .err(UM, json!({"action": "user_create", "userid": "dave@pve"}))
        .await;
    assert!(msg.contains("said no"), "{msg}");
    assert_eq!(last_record(&h, UM)["decision"], "declined");
    let msg = h.err(CM, json!({"action": "ha_add", "sid": 100})).await;
    assert!(msg.contains("said no"), "{msg}");
    assert_eq!(h.mcp.asked().len(), 2);
    assert!(
        h.mcp.asked()[0].contains("create user dave@pve"),
        "{:?}",
        h.mcp.asked()
    );
    // Reads do not ask.
    h.ok(UM, json!({"action": "users"})).await;
    assert_eq!(h.mcp.asked().len(), 2);
    assert!(h.writes().is_empty(), "{:?}", h.writes());
    assert_eq!(access_state(&h).await, before);
    h.finish().await;

    let h = Harness::builder(Protocol::Modern)
        .mode("read-only")
        .human(Human::Accept)
        .start()
        .await;
    let msg = h
        .err(UM, json!({"action": "group_create", "group": "x"}))
        .await;
    assert!(msg.contains("read-only"), "{msg}");
    h.ok(CM, json!({"action": "pools"})).await;
    assert!(h.writes().is_empty());
    h.finish().await;
}
