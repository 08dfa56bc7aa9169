//! Test fixtures: a healthy three-node cluster as the security rules see it.

use serde_json::{Value, json};

use crate::config::DiagnosticsConfig;
use crate::diagnostics::rules::{Ctx, Rule, Severity, Skip};
use crate::diagnostics::snapshot::cluster::{ClusterSnapshot, GuestSnapshot, NodeSnapshot};

/// 2026-12-06 00:00 UTC.
pub const NOW: i64 = 1_796_515_200;
pub const DAY: i64 = 86_400;

/// A well-run cluster: root and the admins have TFA, scoped tokens with expiry and comment, a
/// firewall with DROP in, ACME certificates, an active subscription and correct repositories.
pub fn healthy() -> ClusterSnapshot {
    let mut snap = ClusterSnapshot {
        now: NOW,
        version: Ok(json!({"version": "9.1.1", "release": "9.1", "repoid": "a1b2c3d4"})),
        users: Ok(vec![
            json!({"userid": "root@pam", "enable": 1, "expire": 0, "realm-type": "pam",
                   "tokens": [{"tokenid": "mcp", "expire": NOW + 200 * DAY, "privsep": 1,
                               "comment": "diagnostics server"}]}),
            json!({"userid": "alice@pve", "enable": 1, "expire": 0, "groups": ["admins"],
                   "realm-type": "pve"}),
            json!({"userid": "bob@pve", "enable": 1, "expire": NOW + 90 * DAY, "groups": "",
                   "realm-type": "pve",
                   "tokens": [{"tokenid": "ci", "privsep": "1", "comment": "CI pipeline"}]}),
            json!({"userid": "carol@corp", "enable": 1, "expire": 0, "realm-type": "ldap",
                   "groups": "admins"}),
            json!({"userid": "old@pve", "enable": 0, "expire": 0, "realm-type": "pve"}),
        ]),
        tfa: Ok(vec![
            json!({"userid": "root@pam", "entries": [
                {"type": "totp", "id": "totp/a", "enable": 1, "created": NOW - 400 * DAY,
                 "description": "phone"},
                {"type": "recovery", "id": "recovery", "created": NOW - 400 * DAY,
                 "description": ""}]}),
            json!({"userid": "alice@pve", "entries": [
                {"type": "webauthn", "id": "webauthn/b", "created": NOW - 30 * DAY,
                 "description": "key"}]}),
        ]),
        acl: Ok(vec![
            json!({"path": "/", "type": "group", "ugid": "admins", "roleid": "PVEAdmin",
                   "propagate": 1}),
            json!({"path": "/pool/dev", "type": "user", "ugid": "bob@pve",
                   "roleid": "PVEVMUser", "propagate": 1}),
            json!({"path": "/", "type": "token", "ugid": "root@pam!mcp",
                   "roleid": "PVEAuditor", "propagate": 1}),
            json!({"path": "/vms/100", "type": "user", "ugid": "bob@pve",
                   "roleid": "Ops", "propagate": 0}),
        ]),
        groups: Ok(vec![
            json!({"groupid": "admins", "users": "alice@pve,carol@corp"}),
            json!({"groupid": "empty"}),
        ]),
        roles: Ok(vec![
            json!({"roleid": "Administrator", "privs": "Sys.Modify,Permissions.Modify,VM.Audit",
                   "special": 1}),
            json!({"roleid": "PVEAdmin", "privs": "Sys.Audit,VM.Allocate", "special": 1}),
            json!({"roleid": "PVEVMUser", "privs": "VM.Audit,VM.Console", "special": 1}),
            json!({"roleid": "PVEAuditor", "privs": "Sys.Audit,VM.Audit", "special": 1}),
            json!({"roleid": "Ops", "privs": "VM.PowerMgmt,VM.Audit", "special": 0}),
        ]),
        domains: Ok(vec![
            json!({"realm": "pam", "type": "pam", "comment": "Linux PAM"}),
            json!({"realm": "pve", "type": "pve", "comment": "Proxmox VE"}),
            json!({"realm": "corp", "type": "ldap", "tfa": "oath"}),
            json!({"realm": "sso", "type": "openid"}),
        ]),
        firewall_options: Ok(json!({"enable": 1, "policy_in": "DROP", "policy_out": "ACCEPT"})),
        firewall_rules: Ok(vec![
            json!({"pos": 0, "type": "in", "action": "ACCEPT", "source": "+management",
                   "proto": "tcp", "dport": "8006", "enable": 1}),
            json!({"pos": 1, "type": "in", "action": "ACCEPT", "macro": "SSH",
                   "source": "192.0.2.0/24", "enable": 1, "log": "nolog"}),
            json!({"pos": 2, "type": "out", "action": "ACCEPT", "enable": 1}),
            json!({"pos": 3, "type": "group", "action": "webservers", "enable": 1}),
            json!({"pos": 4, "type": "in", "action": "ACCEPT", "enable": 0}),
        ]),
        totem: Ok(
            json!({"cluster_name": "prod", "config_version": "5", "secauth": "on",
                         "ip_version": "ipv4-6", "link_mode": "passive", "version": "2",
                         "interface": {"0": {"linknumber": "0"}, "1": {"linknumber": "1"}}}),
        ),
        ..ClusterSnapshot::default()
    };
    for name in ["pve1", "pve2", "pve3"] {
        snap.nodes.insert(name.into(), healthy_node(name));
    }
    for (vmid, kind, node) in [(100, "qemu", "pve1"), (200, "lxc", "pve2")] {
        snap.guests.insert(
            vmid,
            GuestSnapshot {
                vmid,
                kind: kind.into(),
                node: node.into(),
                resource: json!({"vmid": vmid, "type": kind, "node": node,
                                 "status": "running", "template": 0}),
                firewall_options: Some(Ok(json!({"enable": 1, "ipfilter": 1}))),
                ..GuestSnapshot::default()
            },
        );
    }
    snap
}

fn healthy_node(name: &str) -> NodeSnapshot {
    let cert = |file: &str, issuer: &str, subject: &str, days: i64, kind: &str, bits: u32| {
        json!({"filename": file, "issuer": issuer, "subject": subject,
               "notbefore": NOW - 30 * DAY, "notafter": NOW + days * DAY,
               "public-key-type": kind, "public-key-bits": bits,
               "fingerprint": "AA:BB"})
    };
    let ca = "/CN=Proxmox Virtual Environment/OU=0f1e/O=PVE Cluster Manager CA";
    NodeSnapshot {
        name: name.into(),
        online: true,
        status: Ok(
            json!({"cpuinfo": {"model": "Intel(R) Xeon(R) Gold 6338 CPU @ 2.00GHz",
                                      "cpus": 64, "sockets": 2}}),
        ),
        version: Ok(json!({"version": "9.1.1", "release": "9.1"})),
        certificates: Ok(vec![
            cert("pve-root-ca.pem", ca, ca, 3000, "rsaEncryption", 4096),
            cert(
                "pve-ssl.pem",
                ca,
                &format!("/OU=PVE Cluster Node/O=Proxmox Virtual Environment/CN={name}.lan"),
                700,
                "rsaEncryption",
                2048,
            ),
            cert(
                "pveproxy-ssl.pem",
                "/C=US/O=Let's Encrypt/CN=R11",
                &format!("/CN={name}.example.com"),
                80,
                "rsaEncryption",
                4096,
            ),
        ]),
        subscription: Ok(json!({"status": "active", "level": "c",
                                "nextduedate": "2027-06-24", "productname": "Proxmox VE"})),
        apt_updates: Ok(vec![]),
        apt_versions: Ok(vec![
            json!({"Package": "proxmox-ve", "Version": "9.1.0", "CurrentState": "Installed",
                   "RunningKernel": "6.17.2-1-pve", "ManagerVersion": "9.1.1"}),
            json!({"Package": "pve-manager", "Version": "9.1.1", "CurrentState": "Installed"}),
            json!({"Package": "intel-microcode", "Version": "3.20250512.1",
                   "CurrentState": "Installed"}),
        ]),
        apt_repositories: Ok(repositories(true)),
        firewall_options: Ok(json!({"enable": 1})),
        ..NodeSnapshot::default()
    }
}

/// `GET /nodes/{n}/apt/repositories` of a PVE 9 node: Debian, its security suite and the
/// enterprise repository (`enterprise` enabled or not).
pub fn repositories(enterprise: bool) -> Value {
    json!({
        "files": [
            {"path": "/etc/apt/sources.list.d/debian.sources", "file-type": "sources",
             "repositories": [
                {"Types": ["deb"], "URIs": ["http://mirror.example/debian"],
                 "Suites": ["trixie", "trixie-updates"], "Components": ["main", "contrib"],
                 "Enabled": true, "FileType": "sources"},
                {"Types": ["deb"], "URIs": ["http://mirror.example/debian-security"],
                 "Suites": ["trixie-security"], "Components": ["main", "contrib"],
                 "Enabled": true, "FileType": "sources"}]},
            {"path": "/etc/apt/sources.list.d/pve-enterprise.sources", "file-type": "sources",
             "repositories": [
                {"Types": ["deb"], "URIs": ["https://enterprise.proxmox.com/debian/pve"],
                 "Suites": ["trixie"], "Components": ["pve-enterprise"],
                 "Enabled": enterprise, "FileType": "sources"}]},
        ],
        "standard-repos": [
            {"handle": "enterprise", "name": "Enterprise", "status": u8::from(enterprise)},
            {"handle": "no-subscription", "name": "No-Subscription"},
            {"handle": "test", "name": "Test"},
        ],
        "infos": [],
        "errors": [],
    })
}

/// What a table case expects of one rule.
pub enum Want {
    /// No findings.
    Pass,
    /// Exactly these `(object, severity)` findings, in order.
    Find(&'static [(&'static str, Severity)]),
    /// Skipped, the reason containing this text.
    Skip(&'static str),
}

/// One table case: the rule, a name, how the healthy baseline is changed, what is expected.
pub type Case = (
    &'static dyn Rule,
    &'static str,
    fn(&mut ClusterSnapshot),
    Want,
);

/// Runs every case on a fresh healthy baseline; also checks that findings carry evidence, a
/// recommendation and the rule's own id.
pub fn check(cases: &[Case]) {
    let config = DiagnosticsConfig::default();
    let ctx = Ctx { config: &config };
    for (rule, name, change, want) in cases {
        let mut snap = healthy();
        change(&mut snap);
        let got = rule.check(&snap, &ctx);
        let label = format!("{} / {name}", rule.id());
        match (want, got) {
            (Want::Pass, Ok(found)) => assert!(found.is_empty(), "{label}: {found:#?}"),
            (Want::Find(expected), Ok(found)) => {
                let seen: Vec<(&str, Severity)> = found
                    .iter()
                    .map(|f| (f.object.as_str(), f.severity))
                    .collect();
                assert_eq!(seen, expected.to_vec(), "{label}: {found:#?}");
                for f in &found {
                    assert_eq!(f.rule, rule.id(), "{label}");
                    assert!(
                        !f.evidence.is_empty() && !f.recommendation.is_empty(),
                        "{label}"
                    );
                }
            }
            (Want::Skip(why), Err(Skip(reason))) => {
                assert!(reason.contains(why), "{label}: skipped for {reason:?}")
            }
            (_, got) => panic!("{label}: unexpected {got:?}"),
        }
    }
}

/// A fact that could not be read.
pub fn denied<T>(what: &str) -> Result<T, String> {
    Err(format!("GET {what}: 403 Permission check failed"))
}

/// The user `id` of the snapshot's user list.
pub fn user<'a>(snap: &'a mut ClusterSnapshot, id: &str) -> &'a mut Value {
    snap.users
        .as_mut()
        .unwrap()
        .iter_mut()
        .find(|u| u["userid"] == id)
        .unwrap()
}

/// The datacenter firewall options.
pub fn options(s: &mut ClusterSnapshot) -> &mut Value {
    s.firewall_options.as_mut().unwrap()
}

/// One node.
pub fn node<'a>(s: &'a mut ClusterSnapshot, name: &str) -> &'a mut NodeSnapshot {
    s.nodes.get_mut(name).unwrap()
}

/// One certificate of a node, by file name.
pub fn cert<'a>(s: &'a mut ClusterSnapshot, name: &str, file: &str) -> &'a mut Value {
    node(s, name)
        .certificates
        .as_mut()
        .unwrap()
        .iter_mut()
        .find(|c| c["filename"] == file)
        .unwrap()
}

/// A node's APT repository body.
pub fn repos<'a>(s: &'a mut ClusterSnapshot, name: &str) -> &'a mut Value {
    node(s, name).apt_repositories.as_mut().unwrap()
}
