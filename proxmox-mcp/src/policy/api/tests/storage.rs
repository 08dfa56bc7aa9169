//! Storages, dump directories and content directories that reach into the host's own trees.

use serde_json::{Value, json};

use super::check;
use crate::policy::Class::*;
use crate::policy::api::*;

/// Storages whose paths reach into the host's own trees run code there.
#[test]
fn storage_paths() {
    let dir = |path: &str| json!({"storage": "x", "type": "dir", "path": path});
    let mut cases: Vec<(&str, &str, Value, crate::policy::Class)> = Vec::new();
    for p in [
        "/",
        "/etc",
        "/etc/pve",
        "/etc/pve/",
        "//etc//pve",
        "/ETC/cron.d",
        "/root",
        "/root/.ssh",
        "/usr/local/bin",
        "/var",
        "/var/lib",
        "/var/lib/pve-cluster",
        "/boot",
        "/dev/shm",
        "/proc",
        "/sys/kernel",
        "/mnt/../etc",
        "/var/lib/vz/../../../etc",
        "%2Fetc%2Fpve",
        " \"/etc\" ",
        "etc/pve",
        "",
        "/home/admin",
        "/run/pve",
        "/opt",
    ] {
        cases.push(("POST", "/storage", dir(p), Exec));
    }
    for p in [
        "/mnt/data",
        "/var/lib/vz",
        "/srv/backup",
        "/tank/images",
        "/mnt/pve/nfs",
    ] {
        cases.push(("POST", "/storage", dir(p), Modify));
    }
    cases.extend([
        (
            "POST",
            "/storage",
            json!({"storage": "z", "type": "zfspool", "pool": "rpool", "mountpoint": "/etc"}),
            Exec,
        ),
        ("PUT", "/storage/z", json!({"mountpoint": "/usr"}), Exec),
        (
            "PUT",
            "/storage/x",
            json!({"content-dirs": "snippets=../../etc/cron.d"}),
            Exec,
        ),
        (
            "PUT",
            "/storage/x",
            json!({"content-dirs": "iso=/etc"}),
            Exec,
        ),
        (
            "PUT",
            "/storage/x",
            json!({"content-dirs": "iso=isos,vztmpl=tmpl"}),
            Modify,
        ),
        ("PUT", "/storage/x", json!({"is_mountpoint": "/etc"}), Exec),
        ("PUT", "/storage/x", json!({"is_mountpoint": "yes"}), Modify),
        (
            "POST",
            "/storage",
            json!({"storage": "n", "type": "nfs", "server": "10.0.0.1", "export": "/etc"}),
            // Not for the export path (on the other host) but for the other host itself:
            // guests' disks and backups would leave the cluster.
            Exec,
        ),
    ]);
    check(&cases);
}

#[test]
fn system_paths() {
    for p in [
        "/",
        "/etc/pve",
        "/var",
        "/usr/../usr/bin",
        "relative",
        "/VAR/LIB",
    ] {
        assert!(system_path(p), "{p}");
    }
    for p in [
        "/mnt",
        "/var/lib/vz/images",
        "/srv",
        "/data/pve",
        "/media/usb",
    ] {
        assert!(!system_path(p), "{p}");
    }
}
