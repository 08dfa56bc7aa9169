//! Parameters that raise the class: firewall options, protection and tags, host resources,
//! certificates and remote migration.

use serde_json::json;

use super::check;
use crate::policy::Class::*;

/// Disabling the cluster or node firewall, turning it on, or a blocking default policy is
/// Destructive; other options, and guest firewalls, are Modify.
#[test]
fn firewall_options() {
    let cl = "/cluster/firewall/options";
    let node = "/nodes/pve1/firewall/options";
    let vm = "/nodes/pve1/qemu/100/firewall/options";
    check(&[
        ("PUT", cl, json!({"enable": 0}), Destructive),
        ("PUT", cl, json!({"enable": "0"}), Destructive),
        ("PUT", cl, json!({"enable": false}), Destructive),
        ("PUT", cl, json!({"enable": "false"}), Destructive),
        ("PUT", cl, json!({"enable": "OFF"}), Destructive),
        ("PUT", cl, json!({"enable": "no"}), Destructive),
        ("PUT", node, json!({"enable": 0}), Destructive),
        ("PUT", node, json!({"Enable": "False"}), Destructive),
        (
            "PUT",
            "/api2/json/nodes/pve1/firewall/options/",
            json!({"enable": "0"}),
            Destructive,
        ),
        (
            "PUT",
            cl,
            json!({"enable": 1, "policy_in": "DROP"}),
            Destructive,
        ),
        (
            "PUT",
            cl,
            json!({"enable": "on", "policy_out": "reject"}),
            Destructive,
        ),
        ("PUT", cl, json!({"enable": true}), Destructive),
        ("PUT", cl, json!({"policy_in": "DROP"}), Destructive),
        ("PUT", cl, json!({"policy_forward": "drop"}), Destructive),
        ("PUT", cl, json!({"delete": "enable"}), Destructive),
        (
            "PUT",
            cl,
            json!({"delete": "log_ratelimit,policy_in"}),
            Destructive,
        ),
        ("PUT", cl, json!({"policy_in": "ACCEPT"}), Modify),
        (
            "PUT",
            cl,
            json!({"policy_out": "accept", "ebtables": 1}),
            Modify,
        ),
        (
            "PUT",
            cl,
            json!({"log_ratelimit": "enable=1,rate=1/second"}),
            Modify,
        ),
        ("PUT", node, json!({"nosmurfs": 1}), Modify),
        // A guest's own firewall switched or re-policied exposes or cuts off that guest.
        ("PUT", vm, json!({"enable": 0}), Destructive),
        ("PUT", vm, json!({"policy_in": "DROP"}), Destructive),
        ("PUT", vm, json!({"policy_in": "ACCEPT"}), Modify),
        ("GET", cl, json!({"enable": 0}), Read),
    ]);
}

#[test]
fn params_raise_the_class() {
    let cfg = "/nodes/pve1/qemu/100/config";
    let ct = "/nodes/pve1/lxc/101/config";
    check(&[
        ("PUT", cfg, json!({"protection": 0}), Destructive),
        ("POST", cfg, json!({"protection": "false"}), Destructive),
        ("PUT", ct, json!({"protection": false}), Destructive),
        ("PUT", cfg, json!({"protection": ""}), Destructive),
        ("PUT", cfg, json!({"protection": "%30"}), Destructive),
        (
            "PUT",
            cfg,
            json!({"delete": "net1,protection"}),
            Destructive,
        ),
        ("PUT", cfg, json!({"delete": ["Protection"]}), Destructive),
        ("PUT", cfg, json!({"delete": "net1; tags"}), Destructive),
        ("POST", cfg, json!({"revert": "protection"}), Destructive),
        ("PUT", cfg, json!({"tags": "web;db"}), Destructive),
        (
            "PUT",
            "/api2/json/nodes/pve1/lxc/101/config/",
            json!({"tags": ""}),
            Destructive,
        ),
        ("PUT", cfg, json!({"delete": "unused0"}), Destructive),
        ("PUT", cfg, json!({"delete": "net1,scsi1"}), Destructive),
        (
            "POST",
            cfg,
            json!({"delete": ["virtio2"], "force": 1}),
            Destructive,
        ),
        ("PUT", cfg, json!({"delete": "efidisk0"}), Destructive),
        ("PUT", ct, json!({"delete": "mp0"}), Destructive),
        ("PUT", ct, json!({"delete": "unused3"}), Destructive),
        (
            "PUT",
            cfg,
            json!({"hookscript": "local:snippets/x.pl"}),
            Exec,
        ),
        (
            "PUT",
            ct,
            json!({"hookscript": "local:snippets/x.pl"}),
            Exec,
        ),
        (
            "POST",
            cfg,
            json!({"args": "-netdev tap,script=/tmp/x"}),
            Exec,
        ),
        (
            "POST",
            "/nodes/pve1/qemu",
            json!({"vmid": 100, "archive": "x", "force": 1}),
            Destructive,
        ),
        (
            "POST",
            "/nodes/pve1/lxc",
            json!({"vmid": 101, "force": "true"}),
            Destructive,
        ),
        (
            "POST",
            "/nodes/pve1/qemu",
            json!({"vmid": 100, "force": 0}),
            Modify,
        ),
        (
            "POST",
            "/nodes/pve1/vzdump",
            json!({"vmid": "100", "prune-backups": "keep-last=1"}),
            Destructive,
        ),
        (
            "POST",
            "/nodes/pve1/vzdump",
            json!({"vmid": "100", "script": "/tmp/x"}),
            Exec,
        ),
        (
            "POST",
            "/nodes/pve1/vzdump",
            json!({"vmid": "100", "mode": "snapshot"}),
            Modify,
        ),
        ("PUT", cfg, json!({"protection": 1}), Modify),
        ("PUT", cfg, json!({"protection": "true"}), Modify),
        ("PUT", cfg, json!({"delete": "net1"}), Destructive),
        ("PUT", cfg, json!({"delete": "cores"}), Modify),
        ("PUT", cfg, json!({"delete": "unusedx,mpx"}), Modify),
        ("PUT", cfg, json!({"memory": 4096}), Modify),
        ("PUT", cfg, json!({"scsi1": "local-lvm:8"}), Modify),
        ("GET", cfg, json!({"tags": "x"}), Read),
        (
            "PUT",
            "/nodes/pve1/qemu/100/firewall/options",
            json!({"tags": "x"}),
            Modify,
        ),
        (
            "POST",
            "/nodes/pve1/status",
            json!({"command": "reboot"}),
            Destructive,
        ),
        (
            "POST",
            "/nodes/pve1/status",
            json!({"command": "shutdown"}),
            Destructive,
        ),
    ]);
}

/// Host devices, paths and directories given to a guest, certificates and migrations to
/// another cluster are Destructive; storage volumes stay Modify.
#[test]
fn host_resources_certificates_and_remote_migration() {
    let cfg = "/nodes/pve1/qemu/100/config";
    let ct = "/nodes/pve1/lxc/101/config";
    let none = || json!({});
    check(&[
        ("PUT", cfg, json!({"scsi1": "/dev/sdb"}), Destructive),
        (
            "POST",
            cfg,
            json!({"virtio2": "/dev/disk/by-id/ata-X,backup=0"}),
            Destructive,
        ),
        (
            "PUT",
            cfg,
            json!({"sata1": "file=/var/lib/x.raw,cache=none"}),
            Destructive,
        ),
        ("PUT", cfg, json!({"ide1": "%2Fdev%2Fsdb"}), Destructive),
        ("PUT", cfg, json!({"efidisk0": "/dev/sdc"}), Destructive),
        ("PUT", cfg, json!({"tpmstate0": "/tmp/tpm"}), Destructive),
        (
            "PUT",
            cfg,
            json!({"scsi1": "local-lvm:0,import-from=/dev/sda"}),
            Destructive,
        ),
        (
            "PUT",
            cfg,
            json!({"hostpci0": "0000:01:00.0,pcie=1"}),
            Destructive,
        ),
        ("PUT", cfg, json!({"usb0": "host=1234:5678"}), Destructive),
        ("PUT", cfg, json!({"usb1": "mapping=stick"}), Destructive),
        ("PUT", cfg, json!({"serial0": "/dev/ttyS0"}), Destructive),
        (
            "PUT",
            cfg,
            json!({"parallel0": "/dev/parport0"}),
            Destructive,
        ),
        ("PUT", cfg, json!({"virtiofs0": "dirid=share"}), Destructive),
        ("PUT", ct, json!({"mp0": "/srv/data,mp=/data"}), Destructive),
        ("PUT", ct, json!({"mp1": "volume=/,mp=/host"}), Destructive),
        ("PUT", ct, json!({"rootfs": "/var/lib/x"}), Destructive),
        ("PUT", ct, json!({"dev0": "/dev/sda"}), Destructive),
        (
            "PUT",
            ct,
            json!({"features": "nesting=1,mount=ext4"}),
            Destructive,
        ),
        (
            "POST",
            "/nodes/pve1/qemu",
            json!({"vmid": 200, "scsi0": "/dev/sda"}),
            Destructive,
        ),
        (
            "POST",
            "/nodes/pve1/lxc",
            json!({"vmid": 201, "mp0": "/,mp=/host"}),
            Destructive,
        ),
        (
            "POST",
            "/nodes/pve1/qemu",
            json!({"vmid": 200, "args": "-monitor stdio"}),
            Exec,
        ),
        (
            "POST",
            "/nodes/pve1/lxc",
            json!({"vmid": 201, "hookscript": "local:snippets/x.pl"}),
            Exec,
        ),
        (
            "POST",
            "/nodes/pve1/qemu",
            json!({"vmid": 200, "tags": "web", "scsi0": "local-lvm:8"}),
            Modify,
        ),
        ("PUT", cfg, json!({"scsi1": "local-lvm:32"}), Modify),
        (
            "PUT",
            cfg,
            json!({"scsi1": "local-lvm:0,import-from=local:iso/x.qcow2"}),
            Modify,
        ),
        ("PUT", cfg, json!({"usb0": "spice"}), Modify),
        ("PUT", cfg, json!({"serial0": "socket"}), Modify),
        ("PUT", cfg, json!({"scsihw": "virtio-scsi-single"}), Modify),
        ("PUT", ct, json!({"mp0": "local-lvm:8,mp=/data"}), Modify),
        ("PUT", ct, json!({"features": "nesting=1,keyctl=1"}), Modify),
        (
            "POST",
            "/nodes/pve1/certificates/custom",
            none(),
            Destructive,
        ),
        (
            "DELETE",
            "/nodes/pve1/certificates/custom",
            none(),
            Destructive,
        ),
        (
            "POST",
            "/nodes/pve1/certificates/acme/certificate",
            none(),
            Destructive,
        ),
        (
            "PUT",
            "/nodes/pve1/certificates/acme/certificate",
            none(),
            Destructive,
        ),
        ("GET", "/nodes/pve1/certificates/info", none(), Read),
        (
            "POST",
            "/nodes/pve1/qemu/100/remote_migrate",
            none(),
            Destructive,
        ),
        (
            "POST",
            "/nodes/pve1/lxc/101/remote_migrate",
            none(),
            Destructive,
        ),
        ("POST", "/nodes/pve1/qemu/100/migrate", none(), Modify),
        (
            "POST",
            "/cluster/backup",
            json!({"schedule": "daily", "script": "/tmp/x"}),
            Exec,
        ),
        (
            "PUT",
            "/cluster/backup/backup-1",
            json!({"script": "/tmp/x"}),
            Exec,
        ),
        (
            "POST",
            "/cluster/backup",
            json!({"schedule": "daily", "all": 1}),
            Modify,
        ),
    ]);
}
