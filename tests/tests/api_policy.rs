//! One verdict per request: the raw API (`proxmox_api`) refuses or asks exactly where the
//! dedicated tools do, for a list of known ways around them. In every refused or asking case
//! nothing reached the simulator for that write, and the audit log holds the verdict.
//!
//! The server runs in `normal` mode unless a test says otherwise; the client cannot show forms,
//! so "asks" means an approval id in the result.

use std::time::Duration;

use e2e::{Harness, Human, Protocol, ResultExt as _, Value, json};

const API: &str = "proxmox_api";

// ---------------------------------------------------------------------------------------------
// helpers

/// What a call must come to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Verdict {
    /// `isError` with a reason, no approval offered, audited as `refused`.
    Refused,
    /// An approval id for a human, audited as `pending`.
    Asks,
}

async fn harness(mode: &str, env: &[(&str, &str)]) -> Harness {
    let mut b = Harness::builder(Protocol::Modern).mode(mode);
    for (k, v) in env {
        b = b.env(k, *v);
    }
    b.start().await
}

/// The approval id in an out-of-band message.
fn approval_id(msg: &str) -> Option<String> {
    let at = msg.find("proxmox-mcp approve ")?;
    Some(
        msg[at + "proxmox-mcp approve ".len()..]
            .chars()
            .take(10)
            .collect(),
    )
}

/// The final audit record of the last call to `tool`.
fn last_record(h: &Harness, tool: &str) -> Value {
    h.audit()
        .into_iter()
        .rev()
        .find(|r| r["tool"] == json!(tool) && r["result"] != json!("started"))
        .unwrap_or_else(|| panic!("no audit record for {tool}"))
}

/// Every audit file, as raw text.
fn audit_text(h: &Harness) -> String {
    let dir = h.dir.path().join("state/audit");
    let mut out = String::new();
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        out.push_str(&std::fs::read_to_string(e.path()).unwrap_or_default());
    }
    out
}

/// The requests the sim served for `method` on `path` (below `/api2/json`, decoded).
fn reached(h: &Harness, method: &str, path: &str) -> Vec<u16> {
    let want = format!("/api2/json{}", e2e::decode_path(path));
    h.sim
        .requests()
        .iter()
        .filter(|r| r.method == method && e2e::decode_path(&r.path).trim_end_matches('/') == want)
        .map(|r| r.status)
        .collect()
}

/// The verdicts a test found wrong, reported together at its end so that one run lists every
/// request that still gets through.
#[derive(Default)]
struct Findings(std::sync::Mutex<Vec<String>>);

impl Findings {
    fn add(&self, what: String) {
        self.0.lock().unwrap().push(what);
    }

    /// Fails the test with every finding.
    fn assert_empty(&self) {
        let f = self.0.lock().unwrap();
        assert!(
            f.is_empty(),
            "{} wrong verdict(s):\n- {}",
            f.len(),
            f.join("\n- ")
        );
    }

    /// [`Findings::assert_empty`], then checks that no write at all reached the sim.
    fn assert_none(&self, h: &Harness) {
        self.assert_empty();
        assert!(h.writes().is_empty(), "{:?}", h.writes());
    }
}

/// Calls `tool` with `args` and checks `verdict`, that `method path` never reached the sim and
/// that the verdict is audited. Returns the message; a wrong verdict is added to `found`.
async fn expect(
    h: &Harness,
    found: &Findings,
    tool: &str,
    args: Value,
    verdict: Verdict,
    (method, path): (&str, &str),
) -> String {
    let what = format!("{tool} {}", e2e::truncate(&args.to_string(), 200));
    let r = h.call(tool, args).await;
    let msg = r.text();
    let shown = e2e::truncate(&msg, 400);
    let sent = reached(h, method, path);
    if !sent.is_empty() {
        found.add(format!(
            "{what}: want {verdict:?}, but {method} {path} reached the sim (HTTP {sent:?}): {shown}"
        ));
        return msg;
    }
    if !r.failed() {
        found.add(format!("{what}: want {verdict:?}, got success: {shown}"));
        return msg;
    }
    let rec = last_record(h, tool);
    let asked = approval_id(&msg).is_some();
    match verdict {
        Verdict::Refused if asked => {
            found.add(format!(
                "{what}: want Refused, but it asks a human: {shown}"
            ));
        }
        Verdict::Asks if !asked => {
            found.add(format!("{what}: want Asks, but no approval id: {shown}"));
        }
        _ => {
            let want = if verdict == Verdict::Asks {
                "pending"
            } else {
                "refused"
            };
            if rec["decision"] != want {
                found.add(format!(
                    "{what}: audited as {}, want {want}",
                    rec["decision"]
                ));
            }
        }
    }
    msg
}

fn api(method: &str, path: &str, params: Value) -> Value {
    json!({"method": method, "path": path, "params": params})
}

/// The node `/cluster/status` calls local: the node the server runs against.
async fn local_node(h: &Harness) -> String {
    let st = h.sim.api().get("/cluster/status").await.unwrap();
    st.as_array()
        .unwrap()
        .iter()
        .find(|e| e["type"] == "node" && e["local"] == json!(1))
        .and_then(|e| e["name"].as_str())
        .expect("a local node")
        .to_string()
}

/// A VM that nothing protects: no `protected` tag, no protection flag, not a template.
fn unprotected(g: &e2e::Map<String, Value>) -> bool {
    let tags = g.get("tags").and_then(Value::as_str).unwrap_or_default();
    !tags.to_ascii_lowercase().contains("protected") && g.get("template") != Some(&json!(1))
}

/// Two VMs that have backups on `nfs-backup`, neither protected: (node, vmid, backup volid).
async fn backed_up_vms(h: &Harness) -> Vec<(String, u64, String)> {
    let api = h.sim.api();
    let mut out = Vec::new();
    for g in e2e::sim::guests(&api, "qemu").await {
        if !unprotected(&g) {
            continue;
        }
        let node = g["node"].as_str().unwrap().to_string();
        let vmid = g["vmid"].as_u64().unwrap();
        let cfg = api
            .get(&format!("/nodes/{node}/qemu/{vmid}/config"))
            .await
            .unwrap();
        if cfg.get("protection").is_some_and(|p| p == 1 || p == "1") {
            continue;
        }
        let content = api
            .get_query(
                &format!("/nodes/{node}/storage/nfs-backup/content"),
                &[("vmid", &vmid.to_string())],
            )
            .await
            .unwrap();
        if let Some(v) = content.as_array().and_then(|a| a.first()) {
            out.push((node, vmid, v["volid"].as_str().unwrap().to_string()));
        }
    }
    assert!(out.len() >= 2, "the sim has two backed-up VMs: {out:?}");
    out
}

/// Sets PVE's own protection flag on a VM and waits until its config shows it.
async fn set_protection(h: &Harness, node: &str, vmid: u64) {
    let api = h.sim.api();
    let path = format!("/nodes/{node}/qemu/{vmid}/config");
    api.put(&path, &[("protection", "1")]).await.unwrap();
    for _ in 0..200 {
        let cfg = api.get(&path).await.unwrap();
        if cfg.get("protection").is_some_and(|p| p == 1 || p == "1") {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("the protection flag of {vmid} never showed");
}

/// A protected VM (PVE `protection: 1`) and an unprotected one, both with a backup.
async fn protected_and_not(h: &Harness) -> ((String, u64, String), (String, u64, String)) {
    let mut vms = backed_up_vms(h).await;
    let (free, prot) = (vms.remove(1), vms.remove(0));
    set_protection(h, &prot.0, prot.1).await;
    h.sim.clear_requests();
    (prot, free)
}

// ---------------------------------------------------------------------------------------------
// 1. restore over an existing guest

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restore_over_a_protected_guest_is_refused_over_another_asks() {
    let h = harness("normal", &[]).await;
    let found = Findings::default();
    let ((pn, pv, pvol), (fn_, fv, fvol)) = protected_and_not(&h).await;

    let path = format!("/nodes/{pn}/qemu");
    let raw = api(
        "POST",
        &path,
        json!({"vmid": pv, "archive": pvol, "force": 1}),
    );
    let msg = expect(&h, &found, API, raw, Verdict::Refused, ("POST", &path)).await;
    if !msg.contains("protect") {
        found.add(format!(
            "raw restore: the reason does not name the protection: {msg}"
        ));
    }
    let msg = expect(
        &h,
        &found,
        "vm_action",
        json!({"action": "restore", "vmid": pv, "archive": pvol, "force": true}),
        Verdict::Refused,
        ("POST", &path),
    )
    .await;
    if !msg.contains("protect") {
        found.add(format!(
            "vm_action restore: the reason does not name the protection: {msg}"
        ));
    }

    let path = format!("/nodes/{fn_}/qemu");
    let raw = api(
        "POST",
        &path,
        json!({"vmid": fv, "archive": fvol, "force": 1}),
    );
    expect(&h, &found, API, raw, Verdict::Asks, ("POST", &path)).await;
    expect(
        &h,
        &found,
        "vm_action",
        json!({"action": "restore", "vmid": fv, "archive": fvol, "force": true}),
        Verdict::Asks,
        ("POST", &path),
    )
    .await;
    found.assert_none(&h);
    h.finish().await;
}

// ---------------------------------------------------------------------------------------------
// 2. dropping disks through a config update

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deleting_disks_by_config_update_follows_the_guests_protection() {
    let h = harness("normal", &[]).await;
    let found = Findings::default();
    let ((pn, pv, _), (fn_, fv, _)) = protected_and_not(&h).await;
    for params in [
        json!({"delete": "scsi0", "force": 1}),
        json!({"delete": "unused0"}),
    ] {
        let path = format!("/nodes/{pn}/qemu/{pv}/config");
        let raw = api("PUT", &path, params.clone());
        expect(&h, &found, API, raw, Verdict::Refused, ("PUT", &path)).await;
        let path = format!("/nodes/{fn_}/qemu/{fv}/config");
        let raw = api("PUT", &path, params);
        expect(&h, &found, API, raw, Verdict::Asks, ("PUT", &path)).await;
    }
    found.assert_none(&h);
    h.finish().await;
}

// ---------------------------------------------------------------------------------------------
// 3. network and firewall changes that can cut the server off

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn network_reload_and_firewall_lockdown_ask() {
    let h = harness("normal", &[]).await;
    let found = Findings::default();
    let node = local_node(&h).await;
    // A change staged on vmbr0, the bridge that holds the node's management IP: applying it
    // can cut the server off, so the raw apply asks as `network_config apply` does.
    h.sim
        .api()
        .put(
            &format!("/nodes/{node}/network/vmbr0"),
            &[("type", "bridge"), ("comments", "staged")],
        )
        .await
        .unwrap();
    h.sim.clear_requests();
    let path = format!("/nodes/{node}/network");
    let msg = expect(
        &h,
        &found,
        API,
        api("PUT", &path, json!({})),
        Verdict::Asks,
        ("PUT", &path),
    )
    .await;
    let asked = h.mcp.asked().join("\n");
    if !asked.contains("management IP") && !msg.contains("management IP") {
        found.add(format!(
            "the human is not told the apply touches the management IP: {asked}"
        ));
    }
    let fw = "/cluster/firewall/options";
    expect(
        &h,
        &found,
        API,
        api("PUT", fw, json!({"enable": 1, "policy_in": "DROP"})),
        Verdict::Asks,
        ("PUT", fw),
    )
    .await;
    // Values PVE would read as "on" in disguise: asked, or refused as invalid; never sent.
    for enable in [json!(2), json!("ON")] {
        let args = json!({"action": "fw_options", "level": "cluster",
                          "options": {"enable": enable}});
        let r = h.call("network_config", args.clone()).await;
        assert!(reached(&h, "PUT", fw).is_empty(), "{args} reached the sim");
        let msg = r.err(&args.to_string());
        let rec = last_record(&h, "network_config");
        let asked = approval_id(&msg).is_some() && rec["decision"] == "pending";
        let invalid =
            approval_id(&msg).is_none() && rec["decision"] == "refused" && msg.contains("enable");
        assert!(
            asked || invalid,
            "{args}: neither an ask nor a clear invalid-argument error: {msg} / {rec}"
        );
    }
    found.assert_none(&h);
    h.finish().await;
}

// ---------------------------------------------------------------------------------------------
// 4. pruning through backups and backup jobs, deleting a protected guest's volume

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pruning_asks_and_reaching_a_protected_guest_is_refused() {
    let h = harness("normal", &[]).await;
    let found = Findings::default();
    let ((pn, pv, _), (fn_, fv, _)) = protected_and_not(&h).await;
    let path = format!("/nodes/{fn_}/vzdump");
    expect(
        &h,
        &found,
        API,
        api(
            "POST",
            &path,
            json!({"vmid": fv, "storage": "nfs-backup", "prune-backups": "keep-last=1"}),
        ),
        Verdict::Asks,
        ("POST", &path),
    )
    .await;
    // The daily job selects pool `prod`, which holds the protected guest: a backup belongs to
    // its guest, so a retention that prunes the protected guest's backups is refused.
    let job = "/cluster/backup/backup-sim-daily";
    let msg = expect(
        &h,
        &found,
        API,
        api("PUT", job, json!({"prune-backups": "keep-last=1"})),
        Verdict::Refused,
        ("PUT", job),
    )
    .await;
    if !msg.contains(&pv.to_string()) {
        found.add(format!("the refusal does not name guest {pv}: {msg}"));
    }
    let volid = format!("local-lvm:vm-{pv}-disk-0");
    let path = format!("/nodes/{pn}/storage/local-lvm/content/{volid}");
    expect(
        &h,
        &found,
        API,
        json!({"method": "DELETE", "path": path}),
        Verdict::Refused,
        ("DELETE", &path),
    )
    .await;
    found.assert_none(&h);
    h.finish().await;
}

// ---------------------------------------------------------------------------------------------
// 5. self-escalation through the server's own group, role, user and tokens

/// The server's identity: `bot@pve!mcp`, a privilege-separated token whose user holds the
/// custom role `McpOperator` (it may grant ACLs, but not power guests) and is in `mcp-ops`; on
/// `/access` it may also edit roles, users and tokens. Each attempt below would succeed on PVE.
const ESCALATION: &str = r#"
[[nodes]]
name = "pve1"
[[nodes]]
name = "pve2"

[[guests]]
vmid = 100
name = "web-01"
node = "pve1"
[[guests]]
vmid = 101
name = "db-01"
node = "pve2"

[[groups]]
id = "mcp-ops"
[[groups]]
id = "admins"
[[groups]]
id = "helpdesk"

[[roles]]
id = "McpOperator"
privs = ["Permissions.Modify", "Sys.Audit", "VM.Audit", "Datastore.Audit", "Pool.Audit",
         "SDN.Audit", "Mapping.Audit", "Group.Allocate", "User.Modify", "Realm.AllocateUser"]

# Role and user administration happen below /access.
[[roles]]
id = "McpAccess"
privs = ["Permissions.Modify", "Sys.Modify", "Sys.Audit", "Group.Allocate", "User.Modify",
         "Realm.AllocateUser"]

[[acl]]
path = "/access"
user = "bot@pve"
role = "McpAccess"

[[users]]
userid = "bot@pve"
role = "McpOperator"
groups = ["mcp-ops"]
[[users.tokens]]
id = "mcp"
secret = "0b5e7a51-3c1f-4d6e-9a2b-6f0c1d2e3f40"
role = "Administrator"

[[users]]
userid = "carol@pve"
groups = ["helpdesk"]
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_server_cannot_raise_its_own_privileges() {
    let scenario = pve_sim::Scenario::from_toml(ESCALATION).expect("scenario");
    let token = "bot@pve!mcp";
    let h = Harness::builder(Protocol::Modern)
        .mode("normal")
        .human(Human::Accept)
        .with_sim(|c| c.scenario = Some(scenario))
        .auth(e2e::Auth::Token(
            token.into(),
            "0b5e7a51-3c1f-4d6e-9a2b-6f0c1d2e3f40".into(),
        ))
        .start()
        .await;
    let found = Findings::default();
    // The sim's own view: the token may grant ACLs but not stop a guest.
    let own = e2e::ApiClient::new(
        &h.sim.url(),
        "PVEAPIToken=bot@pve!mcp=0b5e7a51-3c1f-4d6e-9a2b-6f0c1d2e3f40",
    );
    let perms = own
        .get_query("/access/permissions", &[("path", "/vms/100")])
        .await
        .unwrap();
    assert!(
        perms["/vms/100"].get("Permissions.Modify").is_some(),
        "{perms}"
    );
    assert!(perms["/vms/100"].get("VM.PowerMgmt").is_none(), "{perms}");
    h.sim.clear_requests();

    let acl = "/access/acl";
    let attempts = [
        (
            api(
                "PUT",
                acl,
                json!({"path": "/vms", "roles": "Administrator", "groups": "mcp-ops"}),
            ),
            ("PUT", acl.to_string()),
        ),
        (
            api(
                "PUT",
                "/access/roles/McpOperator",
                json!({"privs": "VM.PowerMgmt", "append": 1}),
            ),
            ("PUT", "/access/roles/McpOperator".to_string()),
        ),
        (
            api("PUT", "/access/users/bot@pve", json!({"groups": "admins"})),
            ("PUT", "/access/users/bot@pve".to_string()),
        ),
        (
            api(
                "POST",
                "/access/users/bot@pve/token/second",
                json!({"privsep": 0}),
            ),
            ("POST", "/access/users/bot@pve/token/second".to_string()),
        ),
    ];
    for (args, (m, p)) in attempts {
        let msg = expect(&h, &found, API, args, Verdict::Refused, (m, &p)).await;
        if !msg.contains("Root protection") {
            found.add(format!("{m} {p}: not refused by root protection: {msg}"));
        }
    }
    // The dedicated tools agree.
    let msg = expect(
        &h,
        &found,
        "user_management",
        json!({"action": "token_create", "userid": "bot@pve", "tokenid": "third"}),
        Verdict::Refused,
        ("POST", "/access/users/bot@pve/token/third"),
    )
    .await;
    if !msg.contains("Root protection") {
        found.add(format!(
            "token_create for our own user: not root protection: {msg}"
        ));
    }
    if !h.mcp.asked().is_empty() {
        found.add(format!(
            "a human was asked to lift root protection: {:?}",
            h.mcp.asked()
        ));
    }

    // Still without the privilege: the sim refuses the stop itself.
    let r = h
        .call(
            "vm_action",
            json!({"action": "stop", "vmid": 100, "wait": 0}),
        )
        .await;
    let status = |h: &Harness| {
        let api = h.sim.api();
        async move {
            let g = api
                .get("/nodes/pve1/qemu/100/status/current")
                .await
                .unwrap();
            g["status"].as_str().unwrap_or_default().to_string()
        }
    };
    tokio::time::sleep(Duration::from_millis(200)).await;
    if !r.failed() || status(&h).await != "running" {
        found.add(format!(
            "vm_action stop succeeded: the server gained VM.PowerMgmt: {}",
            e2e::truncate(&r.text(), 300)
        ));
    } else if !r.text().contains("VM.PowerMgmt") && !r.text().contains("ermission") {
        found.add(format!(
            "vm_action stop failed for another reason: {}",
            r.text()
        ));
    }

    // An unrelated group is not the server's own: no root protection.
    h.sim.clear_requests();
    let r = h
        .call(
            API,
            api(
                "PUT",
                acl,
                json!({"path": "/vms", "roles": "Administrator", "groups": "helpdesk"}),
            ),
        )
        .await;
    if r.text().contains("Root protection") {
        found.add(format!("helpdesk is not ours, yet: {}", r.text()));
    } else if !r.failed() {
        let acl_now = h.sim.api().get("/access/acl").await.unwrap();
        assert!(
            acl_now
                .as_array()
                .unwrap()
                .iter()
                .any(|e| e["ugid"] == "helpdesk" && e["path"] == "/vms"),
            "{acl_now}"
        );
    }
    found.assert_empty();
    h.finish().await;
}

// ---------------------------------------------------------------------------------------------
// 6. shells, cluster membership, packages, storage on the host, realms, certificates, ...

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn host_level_requests_ask_or_are_refused() {
    let h = harness("normal", &[]).await;
    let found = Findings::default();
    let node = local_node(&h).await;
    let (vn, vmid, _) = backed_up_vms(&h).await.remove(0);
    h.sim.clear_requests();
    let fingerprint = vec!["AB"; 32].join(":");
    let pem = "-----BEGIN CERTIFICATE-----\nMIIBsim\n-----END CERTIFICATE-----\n";
    let asks = [
        ("POST", format!("/nodes/{node}/termproxy"), json!({})),
        ("POST", format!("/nodes/{node}/vncshell"), json!({})),
        ("POST", format!("/nodes/{node}/spiceshell"), json!({})),
        (
            "POST",
            "/cluster/config/join".to_string(),
            json!({"hostname": "10.9.9.9", "fingerprint": fingerprint, "password": "hunter2"}),
        ),
        ("POST", format!("/nodes/{node}/apt/update"), json!({})),
        (
            "POST",
            "/storage".to_string(),
            json!({"storage": "etc-pve", "type": "dir", "path": "/etc/pve", "content": "images"}),
        ),
        (
            "POST",
            format!("/nodes/{node}/certificates/custom"),
            json!({"certificates": pem, "force": 1, "restart": 1}),
        ),
        (
            "POST",
            format!("/nodes/{node}/storage/local/download-url"),
            json!({"content": "iso", "filename": "x.iso", "url": "https://example.invalid/x.iso"}),
        ),
        (
            "PUT",
            format!("/nodes/{vn}/qemu/{vmid}/config"),
            json!({"hookscript": "local:snippets/x.sh"}),
        ),
        (
            "POST",
            "/cluster/mapping/dir".to_string(),
            json!({"id": "etc", "map": [format!("node={node},path=/etc")]}),
        ),
    ];
    for (m, p, params) in asks {
        expect(&h, &found, API, api(m, &p, params), Verdict::Asks, (m, &p)).await;
    }
    let realm = "/access/domains/pam";
    expect(
        &h,
        &found,
        API,
        api("PUT", realm, json!({"tfa": "type=oath"})),
        Verdict::Refused,
        ("PUT", realm),
    )
    .await;
    found.assert_none(&h);
    h.finish().await;
}

// ---------------------------------------------------------------------------------------------
// 7. a token for another user: a human decides, and only the human sees the secret

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_for_another_user_asks_and_its_secret_stays_with_the_operator() {
    let h = harness("normal", &[]).await;
    let found = Findings::default();
    let args = json!({"action": "token_create", "userid": "alice@pve", "tokenid": "ci"});
    let path = "/access/users/alice@pve/token/ci";
    let msg = expect(
        &h,
        &found,
        "user_management",
        args.clone(),
        Verdict::Asks,
        ("POST", path),
    )
    .await;
    found.assert_empty();
    let id = approval_id(&msg).unwrap();
    let out = h.cli(&["approve", &id]);
    assert!(out.status.success(), "{out:?}");
    let mut again = args;
    again["approval_id"] = json!(id);
    let r = h.call("user_management", again).await;
    r.ok("token_create after approval");
    assert_eq!(reached(&h, "POST", path), vec![200]);
    let secret = h
        .sim
        .token_secret("alice@pve!ci")
        .expect("the sim holds the new token");
    let shown = format!("{}\n{}", r.text(), r.structured());
    assert!(
        !shown.contains(&secret),
        "the model saw the secret: {shown}"
    );
    assert!(
        !audit_text(&h).contains(&secret),
        "the secret reached the audit log"
    );

    let file = r.structured()["data"]["stored_in"]
        .as_str()
        .unwrap_or_else(|| panic!("the result names the operator file: {shown}"))
        .to_string();
    assert!(
        r.text().contains(&file),
        "the model must say where: {}",
        r.text()
    );
    assert!(
        std::path::Path::new(&file).starts_with(h.dir.path().join("state")),
        "{file} is not under the state dir"
    );
    let mode =
        std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(&file).unwrap().permissions());
    assert_eq!(mode & 0o777, 0o600, "{file}");
    assert!(std::fs::read_to_string(&file).unwrap().contains(&secret));
    h.finish().await;
}

// ---------------------------------------------------------------------------------------------
// 8. the human sees every parameter

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_human_sees_every_parameter_or_nothing_is_asked() {
    // Safe mode: every change asks, so this is about what is shown, not whether it asks.
    let h = Harness::builder(Protocol::Modern)
        .mode("safe")
        .human(Human::Decline)
        .start()
        .await;
    let (vn, vmid, _) = backed_up_vms(&h).await.remove(0);
    h.sim.clear_requests();
    let path = format!("/nodes/{vn}/qemu/{vmid}/config");
    let long: String = (0..3000)
        .map(|i| char::from(b'a' + (i % 26) as u8))
        .collect::<String>()
        .replace("xyz", "XYZ");
    let r = h
        .call(
            API,
            api("POST", &path, json!({"description": long, "force": 1})),
        )
        .await;
    let msg = r.err("long parameter");
    assert!(reached(&h, "POST", &path).is_empty());
    let asked = h.mcp.asked();
    assert_eq!(asked.len(), 1, "one confirmation form: {msg}");
    assert!(
        asked[0].contains(&long),
        "the form clips the value ({} chars shown): {}",
        asked[0].len(),
        e2e::truncate(&asked[0], 800)
    );
    assert!(
        asked[0].contains("force"),
        "the form hides force: {}",
        asked[0]
    );
    assert_eq!(last_record(&h, API)["decision"], "declined");

    // Too much to show: refused before anyone is asked.
    let huge = "y".repeat(9 * 1024);
    let r = h
        .call(
            API,
            api("POST", &path, json!({"description": huge, "force": 1})),
        )
        .await;
    let msg = r.err("huge parameter");
    assert!(reached(&h, "POST", &path).is_empty());
    assert_eq!(h.mcp.asked().len(), 1, "nobody may be asked: {msg}");
    assert!(approval_id(&msg).is_none(), "{msg}");
    assert!(
        msg.contains("8192") || msg.contains("8 KiB") || msg.contains("too long"),
        "the reason says it is too much to show: {}",
        e2e::truncate(&msg, 400)
    );
    assert_eq!(last_record(&h, API)["decision"], "refused");
    h.finish().await;
}

// ---------------------------------------------------------------------------------------------
// 9. a job approval covers the guests its pool held when the human said yes

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_approval_does_not_cover_a_grown_pool() {
    // Safe mode: running a job asks in any case; the point is what the yes covers.
    let h = harness("safe", &[]).await;
    let sim = h.sim.api();
    let job = sim.get("/cluster/backup/backup-sim-daily").await.unwrap();
    assert_eq!(job["pool"], "prod", "{job}");
    let outsider = e2e::sim::guests(&sim, "qemu")
        .await
        .into_iter()
        .find(|g| g.get("pool").is_none_or(|p| p != "prod") && g.get("template") != Some(&json!(1)))
        .and_then(|g| g["vmid"].as_u64())
        .expect("a VM outside pool prod");

    let args = json!({"action": "job_run", "id": "backup-sim-daily"});
    let r = h.call("storage_operations", args.clone()).await;
    let msg = r.err("job_run");
    let id = approval_id(&msg).unwrap_or_else(|| panic!("job_run must ask: {msg}"));
    assert!(h.writes().is_empty(), "{:?}", h.writes());
    assert!(h.cli(&["approve", &id]).status.success());

    // The pool grows before the approval is redeemed.
    sim.put(
        "/pools",
        &[
            ("poolid", "prod"),
            ("vms", &outsider.to_string()),
            ("allow-move", "1"),
        ],
    )
    .await
    .unwrap();
    let members = sim
        .get_query("/pools", &[("poolid", "prod")])
        .await
        .unwrap();
    assert!(
        members
            .to_string()
            .contains(&format!("\"vmid\":{outsider}")),
        "{members}"
    );
    h.sim.clear_requests();

    let mut retry = args;
    retry["approval_id"] = json!(id);
    let r = h.call("storage_operations", retry).await;
    let msg = r.err("job_run with an approval for a smaller pool");
    assert!(h.writes().is_empty(), "the job ran: {:?}", h.writes());
    let rec = last_record(&h, "storage_operations");
    assert!(
        rec["decision"] == "refused" || rec["decision"] == "pending",
        "{rec}: {msg}"
    );
    h.finish().await;
}

// ---------------------------------------------------------------------------------------------
// Ways around the rules an adversarial review found, through the raw API

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_tricks_remote_storages_and_borrowed_disks_are_caught() {
    let h = harness("normal", &[]).await;
    let found = Findings::default();
    let ((pn, pv, _), (fn_, fv, _)) = protected_and_not(&h).await;
    let pcfg = format!("/nodes/{pn}/qemu/{pv}/config");
    let fcfg = format!("/nodes/{fn_}/qemu/{fv}/config");
    // A NUL is PVE's list separator when a value holds one: refused before any rule runs.
    for params in [
        json!({"delete": "memory\u{0}protection"}),
        json!({"delete": ["memory", "tags\u{0}x"]}),
    ] {
        let msg = expect(
            &h,
            &found,
            API,
            api("PUT", &pcfg, params),
            Verdict::Refused,
            ("PUT", &pcfg),
        )
        .await;
        if !msg.contains("U+0000") {
            found.add(format!("the NUL refusal does not say why: {msg}"));
        }
    }
    let asks = [
        // Guests' disks and backups would leave the cluster.
        (
            "POST",
            "/storage".to_string(),
            json!({"storage": "offsite", "type": "nfs", "server": "203.0.113.5",
                   "export": "/x", "content": "backup"}),
        ),
        // Who logs in to the guest at its next boot.
        (
            "PUT",
            fcfg.clone(),
            json!({"cipassword": "hunter2", "ciuser": "root"}),
        ),
        // Another guest's live disk, attached here.
        (
            "PUT",
            fcfg.clone(),
            json!({"scsi5": format!("local-lvm:vm-{pv}-disk-0")}),
        ),
        // Power given to another account.
        (
            "PUT",
            "/access/acl".to_string(),
            json!({"path": "/", "roles": "Administrator", "users": "alice@pve"}),
        ),
        (
            "PUT",
            "/access/users/alice@pve".to_string(),
            json!({"groups": "ops", "append": 1}),
        ),
        // The host firewall's sets renamed under its rules.
        (
            "POST",
            "/cluster/firewall/ipset".to_string(),
            json!({"name": "blacklist", "rename": "management"}),
        ),
    ];
    for (m, p, params) in asks {
        let verdict = if p == fcfg && params.get("scsi5").is_some() {
            // The disk belongs to a protected guest: no human may hand it over.
            Verdict::Refused
        } else {
            Verdict::Asks
        };
        expect(&h, &found, API, api(m, &p, params), verdict, (m, &p)).await;
    }
    found.assert_none(&h);
    h.finish().await;
}

/// Round three: `cdrom` is PVE's alias of `ide2` (another guest's disk or a host device as a
/// CD-ROM), secret files read through the guest agent, and keys that make backups
/// unrestorable.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aliases_secret_files_and_backup_keys_are_caught() {
    let h = harness("normal", &[]).await;
    let found = Findings::default();
    let ((_, pv, _), (fn_, fv, _)) = protected_and_not(&h).await;
    let fcfg = format!("/nodes/{fn_}/qemu/{fv}/config");
    let cases = [
        // The protected guest's live disk, as another guest's CD-ROM: no human may hand it over.
        (
            "PUT",
            fcfg.clone(),
            json!({"cdrom": format!("local-lvm:vm-{pv}-disk-0")}),
            Verdict::Refused,
        ),
        // The cluster's keys as a CD-ROM, and guests' password hashes through the agent.
        (
            "PUT",
            fcfg.clone(),
            json!({"cdrom": "/etc/pve/priv/authkey.key"}),
            Verdict::Refused,
        ),
        (
            "GET",
            format!("/nodes/{fn_}/qemu/{fv}/agent/file-read"),
            json!({"file": "/etc/shadow"}),
            Verdict::Refused,
        ),
        // The host's disk as a CD-ROM.
        (
            "PUT",
            fcfg.clone(),
            json!({"cdrom": "/dev/sda"}),
            Verdict::Asks,
        ),
        // Every backup encrypted with the old key becomes unrestorable.
        (
            "PUT",
            "/storage/local".to_string(),
            json!({"delete": "encryption-key"}),
            Verdict::Asks,
        ),
        // A container is privileged unless told otherwise.
        (
            "POST",
            format!("/nodes/{fn_}/lxc"),
            json!({"vmid": 990, "ostemplate": "local:vztmpl/d.tar.zst"}),
            Verdict::Asks,
        ),
    ];
    for (m, p, params, verdict) in cases {
        expect(&h, &found, API, api(m, &p, params), verdict, (m, &p)).await;
    }
    found.assert_none(&h);
    h.finish().await;
}
