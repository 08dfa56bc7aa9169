//! Requests classified by method and path: lifecycle, hard power-offs, disk writes, services,
//! path spellings and the guest a path names.

use serde_json::{Value, json};

use super::check;
use crate::policy::Class::*;
use crate::policy::api::*;

#[test]
fn classifies() {
    let none = || json!({});
    check(&[
        ("GET", "/cluster/resources", none(), Read),
        ("get", "/nodes/pve1/qemu/100/config", none(), Read),
        ("GET", "/nodes/pve1/qemu/100/agent/file-read", none(), Exec),
        (
            "GET",
            "/nodes/pve1/qemu/100/agent/exec-status",
            none(),
            Exec,
        ),
        ("GET", "/nodes/pve1/qemu/100/vncwebsocket", none(), Exec),
        (
            "POST",
            "/nodes/pve1/qemu/100/status/start",
            none(),
            Lifecycle,
        ),
        (
            "POST",
            "/nodes/pve1/lxc/101/status/shutdown",
            none(),
            Lifecycle,
        ),
        (
            "POST",
            "/nodes/pve1/qemu/100/status/suspend",
            none(),
            Lifecycle,
        ),
        (
            "POST",
            "/nodes/pve1/qemu/100/status/reboot",
            none(),
            Lifecycle,
        ),
        ("POST", "/nodes/pve1/startall", none(), Lifecycle),
        ("POST", "/nodes/pve1/status", none(), Destructive),
        (
            "POST",
            "//api2/json/nodes/pve1/status/",
            none(),
            Destructive,
        ),
        ("GET", "/nodes/pve1/status", none(), Read),
        // No such endpoint: PVE answers 501, and what the table does not know is Destructive.
        ("PUT", "/nodes/pve1/status", none(), Destructive),
        (
            "POST",
            "/nodes/pve1/qemu/100/status/reset",
            none(),
            Destructive,
        ),
        (
            "POST",
            "/nodes/pve1/qemu/100/status/RESET/",
            none(),
            Destructive,
        ),
        ("DELETE", "/nodes/pve1/qemu/100", none(), Destructive),
        (
            "DELETE",
            "/nodes/pve1/storage/local/prunebackups",
            none(),
            Destructive,
        ),
        (
            "POST",
            "/nodes/pve1/qemu/100/snapshot/s1/rollback",
            none(),
            Destructive,
        ),
        (
            "POST",
            "/nodes/pve1/lxc/101/snapshot/s1/rollback",
            none(),
            Destructive,
        ),
        ("PUT", "/nodes/pve1/disks/wipedisk", none(), Destructive),
        ("PUT", "/nodes/pve1/qemu/100/unlink", none(), Destructive),
        ("POST", "/nodes/pve1/ceph/osd/3/zap", none(), Destructive),
        ("POST", "/nodes/pve1/something/purge", none(), Destructive),
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
        ("POST", "/nodes/pve1/termproxy", none(), Exec),
        ("POST", "/nodes/pve1/qemu/100/vncproxy", none(), Exec),
        ("POST", "/nodes/pve1/lxc/101/spiceproxy", none(), Exec),
        ("POST", "/nodes/pve1/qemu/100/monitor", none(), Exec),
        ("POST", "/nodes/pve1/qemu/100/agent/exec%2F", none(), Exec),
        (
            "POST",
            "/api2/extjs/nodes/pve1/qemu/100/agent/exec",
            none(),
            Exec,
        ),
        ("POST", "/nodes/pve1/qemu", none(), Modify),
        ("PUT", "/nodes/pve1/qemu/100/config", none(), Modify),
        ("POST", "/nodes/pve1/qemu/100/snapshot", none(), Modify),
        (
            "PUT",
            "/nodes/pve1/qemu/100/status/start",
            none(),
            Destructive,
        ),
        ("PATCH", "/nodes/pve1/qemu/100/config", none(), Destructive),
        ("", "/version", none(), Destructive),
        ("OPTIONS", "/version", none(), Destructive),
    ]);
}

/// A hard power-off, forced shutdowns, `stopall` and whole-disk writes are Destructive.
#[test]
fn hard_power_off_and_disk_writes() {
    let none = || json!({});
    check(&[
        (
            "POST",
            "/nodes/pve1/qemu/100/status/stop",
            none(),
            Destructive,
        ),
        (
            "POST",
            "/nodes/pve1/lxc/101/status/stop",
            none(),
            Destructive,
        ),
        (
            "POST",
            "//api2/json/nodes/pve1/qemu/100/status/STOP/",
            none(),
            Destructive,
        ),
        (
            "POST",
            "/nodes/pve1/qemu/100/status/st%6Fp",
            none(),
            Destructive,
        ),
        ("POST", "/nodes/pve1/stopall", none(), Destructive),
        (
            "POST",
            "/nodes/pve1/stopall",
            json!({"force-stop": 0}),
            Destructive,
        ),
        (
            "POST",
            "/api2/json/nodes/pve1/StopAll/",
            none(),
            Destructive,
        ),
        ("GET", "/nodes/pve1/qemu/100/status/stop", none(), Read),
        ("POST", "/nodes/pve1/suspendall", none(), Lifecycle),
        (
            "POST",
            "/nodes/pve1/qemu/100/status/shutdown",
            json!({"forceStop": 1}),
            Destructive,
        ),
        (
            "POST",
            "/nodes/pve1/qemu/100/status/shutdown",
            json!({"forceStop": "1"}),
            Destructive,
        ),
        (
            "POST",
            "/nodes/pve1/qemu/100/status/shutdown",
            json!({"forceStop": true}),
            Destructive,
        ),
        (
            "POST",
            "/nodes/pve1/qemu/100/status/shutdown",
            json!({"forceStop": "true"}),
            Destructive,
        ),
        (
            "POST",
            "/nodes/pve1/lxc/101/status/shutdown",
            json!({"forceStop": "On"}),
            Destructive,
        ),
        (
            "POST",
            "/nodes/pve1/lxc/101/status/shutdown",
            json!({"forceStop": "YES"}),
            Destructive,
        ),
        (
            "POST",
            "/nodes/pve1/lxc/101/status/shutdown",
            json!({"forceStop": " %31 "}),
            Destructive,
        ),
        (
            "POST",
            "/nodes/pve1/lxc/101/status/shutdown",
            json!({"forcestop": 1}),
            Destructive,
        ),
        (
            "POST",
            "/nodes/pve1/lxc/101/status/shutdown",
            json!({"--forceStop": 1}),
            Destructive,
        ),
        (
            "POST",
            "/nodes/pve1/qemu/100/status/shutdown",
            json!({"forceStop": 0}),
            Lifecycle,
        ),
        (
            "POST",
            "/nodes/pve1/qemu/100/status/shutdown",
            json!({"forceStop": "off"}),
            Lifecycle,
        ),
        (
            "POST",
            "/nodes/pve1/qemu/100/status/shutdown",
            json!({"forceStop": false}),
            Lifecycle,
        ),
        (
            "POST",
            "/nodes/pve1/qemu/100/status/shutdown",
            json!({"timeout": 60}),
            Lifecycle,
        ),
        (
            "POST",
            "/nodes/pve1/qemu/100/status/reboot",
            json!({"forceStop": 1}),
            Lifecycle,
        ),
        (
            "POST",
            "/cluster/config/join",
            json!({"hostname": "pve2"}),
            Destructive,
        ),
        (
            "POST",
            "/nodes/pve1/disks/zfs",
            json!({"name": "tank"}),
            Destructive,
        ),
        (
            "POST",
            "/nodes/pve1/disks/initgpt",
            json!({"disk": "/dev/sdb"}),
            Destructive,
        ),
        ("POST", "/nodes/pve1/disks/lvm", none(), Destructive),
        (
            "POST",
            "/nodes/pve1/ceph/osd",
            json!({"dev": "/dev/sdb"}),
            Destructive,
        ),
        ("GET", "/nodes/pve1/disks/zfs", none(), Read),
    ]);
}

/// Stopping any service, or restarting one the node needs, is Destructive; restarting another
/// service, and starting or reloading any, is Lifecycle.
#[test]
fn services() {
    let none = || json!({});
    let mut cases = Vec::new();
    for svc in CRITICAL_SERVICES {
        for (action, want) in [
            ("stop", Destructive),
            ("restart", Destructive),
            ("start", Lifecycle),
            ("reload", Lifecycle),
        ] {
            cases.push(("POST", format!("/nodes/pve1/services/{svc}/{action}"), want));
        }
    }
    let cases: Vec<(&str, &str, Value, Class)> = cases
        .iter()
        .map(|(m, p, want)| (*m, p.as_str(), none(), *want))
        .chain([
            (
                "POST",
                "/nodes/pve1/services/PVEPROXY/stop",
                none(),
                Destructive,
            ),
            (
                "POST",
                "/nodes/pve1/services/pve%2Dcluster/stop",
                none(),
                Destructive,
            ),
            // Every service the API lists is node infrastructure: stopped, it stays down.
            (
                "POST",
                "/nodes/pve1/services/cron/stop",
                none(),
                Destructive,
            ),
            (
                "POST",
                "/nodes/pve1/services/chrony/stop",
                none(),
                Destructive,
            ),
            ("POST", "/nodes/pve1/services/cron/start", none(), Lifecycle),
            (
                "POST",
                "/nodes/pve1/services/postfix/restart",
                none(),
                Lifecycle,
            ),
            ("GET", "/nodes/pve1/services/corosync/state", none(), Read),
        ])
        .collect();
    check(&cases);
}

#[test]
fn segments_undo_variants() {
    let want = ["access", "users", "root@pam"];
    for p in [
        "/access/users/root@pam",
        "//access//users/root%40pam/",
        "/api2/json/access/users/root%2540pam",
        "/API2/extjs/access/users/root@pam",
        "access/users/root@pam//",
    ] {
        assert_eq!(segments(p), want, "{p}");
    }
}

#[test]
fn vmid() {
    assert_eq!(target_vmid("/nodes/pve1/qemu/100/status/start"), Some(100));
    assert_eq!(target_vmid("//api2/json/nodes/pve1/lxc/101"), Some(101));
    assert_eq!(target_vmid("/nodes/pve1/storage"), None);
    assert_eq!(target_vmid("/NODES/pve1/QEMU/102/status/stop"), Some(102));
}
