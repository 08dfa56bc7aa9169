//! Ways around the rules an adversarial review found: list items hidden behind a NUL, data
//! sent off the cluster through a remote storage, guest accounts taken over through
//! cloud-init, grants of power to other accounts, another guest's disks, firewall sets
//! renamed, a guest's own firewall, HA told to ignore a guest.

use serde_json::json;

use super::check;
use crate::policy::Class::*;
use crate::policy::api::*;

#[test]
fn a_nul_separates_list_items_as_it_does_for_pve() {
    let cfg = "/nodes/pve2/qemu/101/config";
    check(&[
        (
            "PUT",
            cfg,
            json!({"delete": "memory\u{0}protection"}),
            Destructive,
        ),
        (
            "PUT",
            cfg,
            json!({"delete": "memory\u{0}unused0"}),
            Destructive,
        ),
        (
            "PUT",
            cfg,
            json!({"delete": "memory\u{0}tags"}),
            Destructive,
        ),
        (
            "PUT",
            "/cluster/firewall/options",
            json!({"delete": "ebtables\u{0}enable"}),
            Destructive,
        ),
        (
            "PUT",
            "/cluster/options",
            json!({"delete": "keyboard\u{0}ha"}),
            Destructive,
        ),
        (
            "PUT",
            "/access/acl",
            json!({"path": "/", "roles": "PVEAuditor\u{0}NoAccess", "users": "bob@pve"}),
            Destructive,
        ),
    ]);
    let named = named_guests(
        "POST",
        "/cluster/bulk-action/guest/shutdown",
        &json!({"vms": "102\u{0}101"}).as_object().unwrap().clone(),
    );
    assert!(
        named.vmids.contains(&101) && named.vmids.contains(&102),
        "{named:?}"
    );
}

#[test]
fn remote_storages_and_guest_logins_are_exec() {
    let cfg = "/nodes/pve1/qemu/100/config";
    check(&[
        (
            "POST",
            "/storage",
            json!({"storage": "x", "type": "nfs", "server": "203.0.113.5", "export": "/x"}),
            Exec,
        ),
        (
            "POST",
            "/storage",
            json!({"storage": "x", "type": "pbs", "server": "pbs.example.invalid"}),
            Exec,
        ),
        (
            "PUT",
            "/storage/nfs-backup",
            json!({"server": "203.0.113.5"}),
            Exec,
        ),
        (
            "POST",
            "/storage",
            json!({"storage": "x", "type": "iscsi", "portal": "10.0.0.9"}),
            Exec,
        ),
        (
            "POST",
            "/storage",
            json!({"storage": "x", "type": "rbd", "monhost": "10.0.0.9"}),
            Exec,
        ),
        (
            "PUT",
            "/storage/nfs-backup",
            json!({"content": "backup,iso"}),
            Modify,
        ),
        ("PUT", cfg, json!({"cipassword": "hunter2"}), Exec),
        ("PUT", cfg, json!({"sshkeys": "ssh-ed25519%20AAAA"}), Exec),
        ("POST", cfg, json!({"ciuser": "root"}), Exec),
        ("PUT", cfg, json!({"ipconfig0": "ip=dhcp"}), Modify),
    ]);
}

#[test]
fn power_given_to_accounts_asks() {
    check(&[
        (
            "PUT",
            "/access/acl",
            json!({"path": "/", "roles": "Administrator", "users": "bob@pve"}),
            Destructive,
        ),
        (
            "PUT",
            "/access/acl",
            json!({"path": "/vms", "roles": "MyCustomRole", "groups": "ops"}),
            Destructive,
        ),
        (
            "PUT",
            "/access/acl",
            json!({"path": "/vms/100", "roles": "PVEVMUser", "users": "bob@pve"}),
            Modify,
        ),
        (
            "PUT",
            "/access/acl",
            json!({"path": "/", "roles": "Administrator", "users": "bob@pve", "delete": 1}),
            Destructive,
        ),
        (
            "POST",
            "/access/users",
            json!({"userid": "evil@pve", "password": "Passw0rd!x"}),
            Destructive,
        ),
        (
            "POST",
            "/access/users",
            json!({"userid": "x@pve", "groups": "ops"}),
            Destructive,
        ),
        (
            "POST",
            "/access/users",
            json!({"userid": "x@pve", "comment": "new"}),
            Modify,
        ),
        (
            "PUT",
            "/access/users/bob@pve",
            json!({"groups": "ops", "append": 1}),
            Destructive,
        ),
        (
            "PUT",
            "/access/users/bob@pve",
            json!({"email": "b@example.invalid"}),
            Modify,
        ),
        (
            "PUT",
            "/access/users/bob@pve/token/ci",
            json!({"privsep": 0}),
            Destructive,
        ),
        (
            "PUT",
            "/access/users/bob@pve/token/ci",
            json!({"comment": "ci"}),
            Modify,
        ),
        (
            "PUT",
            "/access/roles/Helper",
            json!({"privs": "Sys.Modify", "append": 1}),
            Destructive,
        ),
    ]);
}

#[test]
fn another_guests_disks_ask() {
    let cfg = "/nodes/pve2/qemu/102/config";
    check(&[
        (
            "PUT",
            cfg,
            json!({"scsi1": "local-lvm:vm-101-disk-0"}),
            Destructive,
        ),
        (
            "PUT",
            cfg,
            json!({"scsi2": "local-lvm:0,import-from=local-lvm:vm-101-disk-0"}),
            Destructive,
        ),
        (
            "PUT",
            cfg,
            json!({"scsi1": "local-lvm:vm-102-disk-1,discard=on"}),
            Modify,
        ),
        (
            "PUT",
            cfg,
            json!({"scsi0": "local-lvm:base-110-disk-0/vm-102-disk-0,ssd=1"}),
            Modify,
        ),
        (
            "PUT",
            cfg,
            json!({"scsi0": "local-lvm:base-110-disk-0/vm-101-disk-0"}),
            Destructive,
        ),
        (
            "PUT",
            cfg,
            json!({"scsi3": "local-lvm:base-110-disk-0"}),
            Destructive,
        ),
        (
            "POST",
            "/nodes/pve2/qemu",
            json!({"vmid": 300, "scsi0": "local-lvm:0,import-from=local-lvm:vm-101-disk-0"}),
            Destructive,
        ),
        (
            "POST",
            "/nodes/pve2/qemu",
            json!({"vmid": 300, "scsi0": "local-lvm:32"}),
            Modify,
        ),
        (
            "POST",
            "/nodes/pve2/qemu/101/move_disk",
            json!({"disk": "scsi0", "target-vmid": 102, "target-disk": "scsi1"}),
            Destructive,
        ),
        (
            "POST",
            "/nodes/pve2/lxc/103/move_volume",
            json!({"volume": "mp0", "target-vmid": "104", "target-volume": "mp1"}),
            Destructive,
        ),
        (
            "POST",
            "/nodes/pve2/qemu/101/move_disk",
            json!({"disk": "scsi0", "storage": "local-lvm"}),
            Modify,
        ),
    ]);
}

#[test]
fn firewall_sets_guests_and_ha() {
    check(&[
        (
            "POST",
            "/cluster/firewall/ipset",
            json!({"name": "blacklist", "rename": "management"}),
            Destructive,
        ),
        (
            "POST",
            "/cluster/firewall/groups",
            json!({"group": "web", "rename": "ssh"}),
            Destructive,
        ),
        (
            "POST",
            "/cluster/firewall/ipset",
            json!({"name": "new"}),
            Modify,
        ),
        (
            "PUT",
            "/nodes/pve2/qemu/101/firewall/options",
            json!({"enable": 0}),
            Destructive,
        ),
        (
            "PUT",
            "/nodes/pve2/lxc/103/firewall/options",
            json!({"policy_in": "ACCEPT", "enable": 1}),
            Destructive,
        ),
        (
            "PUT",
            "/nodes/pve2/qemu/101/firewall/options",
            json!({"log_level_in": "info"}),
            Modify,
        ),
        (
            "PUT",
            "/cluster/sdn/vnets/v1/firewall/options",
            json!({"enable": 0}),
            Destructive,
        ),
        (
            "PUT",
            "/cluster/ha/resources/vm:101",
            json!({"state": "ignored"}),
            Destructive,
        ),
    ]);
}

#[test]
fn a_batch_names_the_guests_of_its_calls() {
    let commands = json!([{"method": "POST", "path": "/nodes/pve2/qemu/101/status/stop"}]);
    let named = named_guests(
        "POST",
        "/nodes/pve2/execute",
        &json!({"commands": commands.to_string()})
            .as_object()
            .unwrap()
            .clone(),
    );
    assert!(named.vmids.contains(&101), "{named:?}");
}

#[test]
fn reads_that_reveal_credentials() {
    for path in [
        "/cluster/acme/plugins",
        "/cluster/acme/plugins/cf",
        "/cluster/sdn/ipams/netbox",
        "/cluster/sdn/dns/powerdns",
        "/access/domains/openid",
    ] {
        assert!(risky_get(path).is_some(), "{path}");
    }
    for path in [
        "/cluster/sdn/ipams",
        "/access/domains",
        "/cluster/acme/account",
    ] {
        assert!(risky_get(path).is_none(), "{path}");
    }
}
