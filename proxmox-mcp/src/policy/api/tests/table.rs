//! The endpoint table: the issue's attacks, shells, consoles and what makes the node fetch
//! things, what the table does not know, and how a path finds its row.

use serde_json::json;

use super::check;
use crate::policy::Class::*;
use crate::policy::api::*;

/// The attacks the issue lists, each with the class it must get.
#[test]
fn issue_attacks() {
    let none = || json!({});
    let cfg = "/nodes/pve1/qemu/100/config";
    let fw = "/cluster/firewall/options";
    check(&[
        (
            "POST",
            "/nodes/pve1/qemu",
            json!({"vmid": 102, "archive": "local:backup/vzdump-qemu-102.vma.zst", "force": 1}),
            Destructive,
        ),
        (
            "PUT",
            cfg,
            json!({"delete": "scsi0", "force": 1}),
            Destructive,
        ),
        ("PUT", cfg, json!({"delete": "unused0"}), Destructive),
        (
            "PUT",
            fw,
            json!({"enable": 1, "policy_in": "DROP"}),
            Destructive,
        ),
        ("PUT", fw, json!({"enable": 2}), Destructive),
        ("PUT", fw, json!({"enable": "2"}), Destructive),
        ("PUT", fw, json!({"enable": "ON"}), Destructive),
        ("PUT", fw, json!({"enable": "yes"}), Destructive),
        ("PUT", fw, json!({"Enable": true}), Destructive),
        ("PUT", fw, json!({"policy_out": "REJECT"}), Destructive),
        ("PUT", fw, json!({"policy_in": 0}), Destructive),
        ("PUT", fw, json!({"policy_in": "ACCEPT"}), Modify),
        ("PUT", fw, json!({"log_ratelimit": "enable=1"}), Modify),
        (
            "POST",
            "/nodes/pve1/vzdump",
            json!({"prune-backups": "keep-last=1"}),
            Destructive,
        ),
        (
            "PUT",
            "/cluster/backup/job1",
            json!({"prune-backups": "keep-last=1"}),
            Destructive,
        ),
        (
            "DELETE",
            "/nodes/pve1/storage/local-lvm/content/local-lvm:vm-107-disk-0",
            none(),
            Destructive,
        ),
        ("POST", "/nodes/pve1/vncshell", none(), Exec),
        ("POST", "/nodes/pve1/spiceshell", none(), Exec),
        ("POST", "/nodes/pve1/termproxy", none(), Exec),
        ("POST", "/cluster/config/join", none(), Destructive),
        ("POST", "/nodes/pve1/apt/update", none(), Destructive),
        (
            "POST",
            "/nodes/pve1/services/cron/stop",
            none(),
            Destructive,
        ),
        (
            "POST",
            "/storage",
            json!({"storage": "x", "type": "dir", "path": "/etc/pve"}),
            Exec,
        ),
        (
            "PUT",
            "/access/roles/PVEAdmin",
            json!({"privs": "Sys.Modify"}),
            Destructive,
        ),
        (
            "POST",
            "/nodes/pve1/certificates/custom",
            none(),
            Destructive,
        ),
        (
            "POST",
            "/nodes/pve1/storage/local/download-url",
            json!({"url": "http://x/y.iso", "content": "iso", "filename": "y.iso"}),
            Exec,
        ),
        (
            "PUT",
            cfg,
            json!({"hookscript": "local:snippets/x.sh"}),
            Exec,
        ),
        (
            "PUT",
            cfg,
            json!({"cicustom": "user=local:snippets/u.yaml"}),
            Exec,
        ),
        (
            "POST",
            "/cluster/mapping/dir",
            json!({"id": "d", "map": "node=pve1,path=/srv"}),
            Exec,
        ),
        ("PUT", "/cluster/mapping/dir/d", none(), Exec),
    ]);
}

/// Shells, consoles, tunnels, code run in guests, and what makes the node fetch things.
#[test]
fn exec() {
    let none = || json!({});
    check(&[
        ("POST", "/nodes/pve1/qemu/100/vncproxy", none(), Exec),
        ("POST", "/nodes/pve1/lxc/101/vncproxy", none(), Exec),
        ("POST", "/nodes/pve1/qemu/100/spiceproxy", none(), Exec),
        ("POST", "/nodes/pve1/lxc/101/termproxy", none(), Exec),
        ("POST", "/nodes/pve1/qemu/100/mtunnel", none(), Exec),
        ("POST", "/nodes/pve1/lxc/101/mtunnel", none(), Exec),
        ("GET", "/nodes/pve1/qemu/100/mtunnelwebsocket", none(), Exec),
        ("GET", "/nodes/pve1/vncwebsocket", none(), Exec),
        ("POST", "/nodes/pve1/qemu/100/monitor", none(), Exec),
        (
            "PUT",
            "/nodes/pve1/qemu/100/sendkey",
            json!({"key": "ret"}),
            Exec,
        ),
        ("POST", "/nodes/pve1/qemu/100/agent/exec", none(), Exec),
        (
            "POST",
            "/nodes/pve1/qemu/100/agent/file-write",
            none(),
            Exec,
        ),
        (
            "POST",
            "/nodes/pve1/qemu/100/agent/set-user-password",
            none(),
            Exec,
        ),
        ("POST", "/nodes/pve1/execute", none(), Exec),
        (
            "POST",
            "/nodes/pve1/storage/local/oci-registry-pull",
            json!({"reference": "docker.io/x:latest"}),
            Exec,
        ),
        (
            "POST",
            "/nodes/pve1/vzdump",
            json!({"script": "/root/x.sh"}),
            Exec,
        ),
        (
            "POST",
            "/cluster/backup",
            json!({"script": "/root/x.sh"}),
            Exec,
        ),
        (
            "POST",
            "/nodes/pve1/qemu",
            json!({"vmid": 200, "cicustom": "user=local:snippets/u.yaml"}),
            Exec,
        ),
        (
            "PUT",
            cfg_ct(),
            json!({"HOOKSCRIPT": "local:snippets/x.sh"}),
            Exec,
        ),
        (
            "PUT",
            "/nodes/pve1/qemu/100/config",
            json!({"--args": "-chardev x"}),
            Exec,
        ),
        ("POST", "/access/ticket", json!({"username": "a@pve"}), Exec),
        (
            "POST",
            "/cluster/notifications/endpoints/webhook",
            json!({"url": "http://x"}),
            Exec,
        ),
        (
            "POST",
            "/cluster/metrics/server/m",
            json!({"server": "x"}),
            Exec,
        ),
        ("POST", "/cluster/acme/plugins", json!({"id": "p"}), Exec),
    ]);
}

fn cfg_ct() -> &'static str {
    "/nodes/pve1/lxc/101/config"
}

/// What the table does not know is Destructive; harmless POSTs are what they are.
#[test]
fn unknown_and_harmless() {
    let none = || json!({});
    check(&[
        ("POST", "/nodes/pve1/qemu/100/agent/ping", none(), Read),
        (
            "POST",
            "/nodes/pve1/qemu/100/agent/fsfreeze-status",
            none(),
            Read,
        ),
        (
            "POST",
            "/nodes/pve1/qemu/100/agent/fsfreeze-freeze",
            none(),
            Destructive,
        ),
        (
            "POST",
            "/nodes/pve1/qemu/100/agent/fsfreeze-thaw",
            none(),
            Lifecycle,
        ),
        (
            "POST",
            "/nodes/pve1/qemu/100/agent",
            json!({"command": "ping"}),
            Destructive,
        ),
        (
            "POST",
            "/nodes/pve1/qemu/100/agent/shutdown",
            none(),
            Lifecycle,
        ),
        ("POST", "/access/vncticket", none(), Read),
        ("POST", "/nodes/pve1/nonexistent", none(), Destructive),
        ("PUT", "/version", none(), Destructive),
        (
            "POST",
            "/nodes/pve1/qemu/100/config/extra",
            none(),
            Destructive,
        ),
        ("POST", "/nodes/pve1/qemu/100", none(), Destructive),
        (
            "POST",
            "/NODES/PVE1/QEMU/100/STATUS/START",
            none(),
            Lifecycle,
        ),
        (
            "post",
            "/api2/json/nodes/pve1/lxc/101/status/Stop",
            none(),
            Destructive,
        ),
        (
            "POST",
            "/nodes/pve1/storage/local/content",
            json!({"vmid": 100}),
            Modify,
        ),
        ("POST", "/pools", json!({"poolid": "p"}), Modify),
        (
            "PUT",
            "/pools",
            json!({"poolid": "p", "vms": "100"}),
            Modify,
        ),
        (
            "PUT",
            "/cluster/firewall/ipset/mgmt/10.0.0.0%2F24",
            json!({"nomatch": 1}),
            Destructive,
        ),
        (
            "PUT",
            "/nodes/pve1/qemu/100/firewall/ipset/s/10.0.0.0%2F24",
            json!({"comment": "x"}),
            Modify,
        ),
    ]);
}

#[test]
fn table_lookup() {
    let e = endpoint(
        "post",
        "/api2/json/nodes/pve1/qemu/100/snapshot/s1/ROLLBACK/",
    )
    .unwrap();
    assert_eq!(
        e.path,
        "/nodes/{node}/qemu/{vmid}/snapshot/{snapname}/rollback"
    );
    assert_eq!(e.class, Destructive);
    let e = endpoint(
        "DELETE",
        "/nodes/pve1/storage/pbs/content/pbs:backup/vm/107/2024",
    )
    .unwrap();
    assert_eq!(e.path, "/nodes/{node}/storage/{storage}/content/{volume}");
    assert!(endpoint("GET", "/nodes/pve1/status").is_none());
    assert!(
        endpoint("POST", "/nodes/pve1/storage/local/content/").is_some_and(|e| e.class == Modify)
    );
}
