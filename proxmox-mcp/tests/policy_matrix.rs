//! The policy decision matrix (class × target × mode), pinned by a snapshot, and the raw-API
//! evasion corpus run through `classify_api` + `api_protection` + `evaluate`.

use std::collections::BTreeSet;
use std::fmt::Write as _;

use proxmox_mcp::policy::Class;
use proxmox_mcp::policy::command::{Protected, analyze};
use proxmox_mcp::policy::decision::Decision;
use proxmox_mcp::policy::engine::{GuestTarget, Policy, Request, decisions, evaluate};
use proxmox_mcp::policy::mode::Mode;
use proxmox_mcp::policy::protect::{Identity, ProtectedGuests};
use serde_json::{Map, Value};

fn policy(mode: Mode) -> Policy {
    Policy {
        mode,
        protected_guests: ProtectedGuests::default(),
        identity: Identity {
            own_node: Some("pve1".into()),
            own_user: Some("mcp@pve".into()),
            own_token: Some("mcp@pve!mcp".into()),
            own_groups: Some(Default::default()),
            own_roles: Some(Default::default()),
        },
    }
}

const CLASSES: [Class; 5] = [
    Class::Read,
    Class::Lifecycle,
    Class::Modify,
    Class::Destructive,
    Class::Exec,
];

fn targets(class: Class) -> [(&'static str, Request); 5] {
    let ordinary = GuestTarget {
        vmid: 100,
        tags: vec!["web".into()],
        protection_flag: false,
    };
    let guarded = GuestTarget {
        vmid: 200,
        tags: vec!["db".into(), "protected".into()],
        protection_flag: false,
    };
    let hit = |p: Protected| Request {
        protected: vec![p],
        ..Request::new(class)
    };
    [
        ("ordinary", Request::new(class).with_guest(ordinary)),
        ("root", hit(Protected::RootAccount("root@pam".into()))),
        (
            "own-token",
            hit(Protected::OwnIdentity("mcp@pve!mcp".into())),
        ),
        ("protected guest", Request::new(class).with_guest(guarded)),
        (
            "secret file",
            hit(Protected::SecretRead("/etc/pve/priv/token.cfg".into())),
        ),
    ]
}

#[test]
fn decision_matrix() {
    let mut table = String::new();
    let mut reasons = BTreeSet::new();
    let _ = writeln!(
        table,
        "{:<12} {:<16} {:<10} {:<10} normal",
        "class", "target", "read-only", "safe"
    );
    for class in CLASSES {
        for (target, req) in targets(class) {
            let _ = write!(table, "{:<12} {:<16}", class.as_str(), target);
            for (_, d) in decisions(&policy(Mode::Safe), &req) {
                let _ = write!(table, " {:<10}", d.as_str());
                if let Some(r) = d.reason() {
                    reasons.insert(format!("{}: {r}", d.as_str()));
                }
            }
            table = table.trim_end().to_string();
            table.push('\n');
        }
    }
    table.push_str("\nreasons:\n");
    for r in reasons {
        let _ = writeln!(table, "- {r}");
    }
    insta::assert_snapshot!("decision_matrix", table);
}

/// Lifting protection is Destructive, so a protected guest refuses it in every mode, through
/// the API and through the shell; an ordinary guest asks a human in normal mode.
#[test]
fn unprotecting_a_protected_guest_is_refused() {
    let guarded = GuestTarget {
        vmid: 200,
        tags: vec!["protected".into()],
        protection_flag: true,
    };
    let ordinary = GuestTarget {
        vmid: 100,
        ..GuestTarget::default()
    };
    let p = policy(Mode::Normal);
    let api = |params: Value| {
        let Value::Object(map) = params else {
            panic!("params must be an object")
        };
        Request::api("PUT", "/nodes/pve1/qemu/200/config", &map, &p.identity)
    };
    let server = proxmox_mcp::policy::command::ServerFiles::standard();
    let ctx = p.identity.context(&server, "/", "/root");
    let shell = |cmd: &str| Request::command(&analyze(cmd, &ctx));
    let requests = [
        api(serde_json::json!({"protection": 0})),
        api(serde_json::json!({"delete": "protection"})),
        api(serde_json::json!({"tags": "db"})),
        shell("qm set 200 --protection 0"),
        shell("qm set 200 --delete protection"),
        shell("qm set 200 --tags db"),
        shell("pvesh set /nodes/pve1/qemu/200/config --protection 0"),
    ];
    for req in requests {
        for (mode, d) in decisions(&p, &req.clone().with_guest(guarded.clone())) {
            assert!(d.is_refuse(), "{mode}: {req:?} → {d}");
        }
        let d = evaluate(&p, &req.with_guest(ordinary.clone()));
        assert_eq!(d.as_str(), "confirm", "{d}");
    }
    let vmids = analyze("qm set 200 --protection 0; pct exec 101 -- ls", &ctx).vmids();
    assert_eq!(vmids, [101, 200]);
}

/// One corpus line: expectation, mode, method, path, params.
struct Line {
    text: String,
    expect: String,
    mode: Mode,
    method: String,
    path: String,
    params: Map<String, Value>,
}

fn parse(text: &str) -> Vec<Line> {
    text.lines()
        .filter(|l| !l.trim().is_empty() && !l.trim_start().starts_with('#'))
        .map(|l| {
            let mut words = l.split_whitespace();
            let head = words.next().unwrap_or_default();
            let (expect, mode) = match head.split_once('@') {
                Some((e, m)) => (e, m.parse().unwrap_or_else(|e| panic!("{l}: {e}"))),
                None => (head, Mode::Normal),
            };
            let method = words.next().unwrap_or_default().to_string();
            let path = words.next().unwrap_or_default().to_string();
            let mut params = Map::new();
            let mut last: Option<String> = None;
            for w in words {
                match (w.split_once('='), &last) {
                    (Some((k, v)), _) => {
                        params.insert(k.to_string(), Value::String(v.to_string()));
                        last = Some(k.to_string());
                    }
                    (None, Some(k)) => {
                        if let Some(Value::String(v)) = params.get_mut(k) {
                            v.push(' ');
                            v.push_str(w);
                        }
                    }
                    (None, None) => panic!("{l}: {w:?} is not key=value"),
                }
            }
            Line {
                text: l.to_string(),
                expect: expect.to_string(),
                mode,
                method,
                path,
                params,
            }
        })
        .collect()
}

#[test]
fn api_evasion_corpus() {
    let lines = parse(include_str!("corpus/api_evasion.txt"));
    assert!(lines.len() >= 60, "corpus has {} lines", lines.len());
    let mut bad = Vec::new();
    for line in &lines {
        assert!(
            matches!(line.expect.as_str(), "allow" | "confirm" | "refuse"),
            "{}: bad expectation",
            line.text
        );
        let p = policy(line.mode);
        let req = Request::api(&line.method, &line.path, &line.params, &p.identity);
        let got: Decision = evaluate(&p, &req);
        if got.as_str() != line.expect {
            bad.push(format!(
                "{}\n    got {} (class {}, protected {:?})",
                line.text, got, req.class, req.protected
            ));
        }
        let all = decisions(&p, &req);
        if all[0].1.strictness() < all[1].1.strictness()
            || all[1].1.strictness() < all[2].1.strictness()
        {
            bad.push(format!(
                "{}\n    a safer mode is more permissive",
                line.text
            ));
        }
    }
    assert!(
        bad.is_empty(),
        "{} of {} mismatched:\n{}",
        bad.len(),
        lines.len(),
        bad.join("\n")
    );
}
