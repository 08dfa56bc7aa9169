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
            json!({"bwlimit": "default=1000"}),
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

#[test]
fn abbreviated_and_recased_cli_options_count_as_the_full_name() {
    let opts = |line: &str| {
        cli_options(
            &line
                .split_whitespace()
                .map(str::to_string)
                .collect::<Vec<_>>(),
        )
    };
    let cfg = "/nodes/pve2/qemu/101/config";
    check(&[
        (
            "PUT",
            cfg,
            serde_json::Value::Object(opts("--prot 0")),
            Destructive,
        ),
        (
            "PUT",
            cfg,
            serde_json::Value::Object(opts("--del protection,tags")),
            Destructive,
        ),
        (
            "PUT",
            cfg,
            serde_json::Value::Object(opts("--tag foo")),
            Destructive,
        ),
        (
            "PUT",
            cfg,
            serde_json::Value::Object(opts("--hook local:snippets/x.sh")),
            Exec,
        ),
        (
            "PUT",
            cfg,
            serde_json::Value::Object(opts("--ARG -monitor")),
            Exec,
        ),
        (
            "PUT",
            cfg,
            serde_json::Value::Object(opts("--cipass x --ciu root")),
            Exec,
        ),
        (
            "PUT",
            cfg,
            serde_json::Value::Object(opts("--memory 2048")),
            Modify,
        ),
        (
            "POST",
            "/nodes/pve2/vzdump",
            serde_json::Value::Object(opts("--vmid 101 --rem 1")),
            Destructive,
        ),
        (
            "POST",
            "/nodes/pve2/vzdump",
            serde_json::Value::Object(opts("--vmid 101 --SCRIPT /tmp/x")),
            Exec,
        ),
        (
            "POST",
            "/nodes/pve2/qemu",
            serde_json::Value::Object(opts("--vmid 100 --archive x --FORC 1")),
            Destructive,
        ),
        (
            "PUT",
            "/cluster/ha/resources/vm:101",
            serde_json::Value::Object(opts("--sta stopped")),
            Destructive,
        ),
        (
            "PUT",
            "/storage/local",
            serde_json::Value::Object(opts("--pa /etc")),
            Exec,
        ),
        (
            "POST",
            "/nodes/pve2/qemu/101/move_disk",
            serde_json::Value::Object(opts("--disk scsi0 --target-vm 102")),
            Destructive,
        ),
    ]);
}

/// Every parameter name the rules read is one an abbreviated option can stand for: the
/// names quoted in the rules' sources are all in [`CLI_KEYS`].
#[test]
fn cli_keys_cover_every_name_the_rules_read() {
    let sources = [
        include_str!("../params.rs"),
        include_str!("../guests.rs"),
        include_str!("../lockout.rs"),
        include_str!("../../protect.rs"),
    ];
    let mut missing = Vec::new();
    for src in sources {
        let code = src.split("#[cfg(test)]").next().unwrap_or(src);
        for marker in ["param(params, \"", "truthy(\""] {
            for (i, _) in code.match_indices(marker) {
                let rest = &code[i + marker.len()..];
                let name = &rest[..rest.find('"').unwrap_or(0)];
                if !CLI_KEYS.contains(&name) && !missing.contains(&name.to_string()) {
                    missing.push(name.to_string());
                }
            }
        }
    }
    assert!(missing.is_empty(), "not in CLI_KEYS: {missing:?}");
}

#[test]
fn host_paths_anywhere_in_a_property_string() {
    check(&[
        (
            "PUT",
            "/nodes/pve1/lxc/103/config",
            json!({"mp0": "mp=/mnt/host,/"}),
            Destructive,
        ),
        (
            "POST",
            "/nodes/pve1/lxc",
            json!({"vmid": 300, "ostemplate": "local:vztmpl/d.tar.zst", "mp0": "mp=/mnt/etc,/etc"}),
            Destructive,
        ),
        (
            "PUT",
            "/nodes/pve2/qemu/102/config",
            json!({"scsi1": "cache=none,/dev/sda"}),
            Destructive,
        ),
        (
            "PUT",
            "/nodes/pve2/qemu/102/config",
            json!({"scsi1": ["/dev/sdb"]}),
            Destructive,
        ),
        (
            "PUT",
            "/nodes/pve1/lxc/103/config",
            json!({"mp0": ["/etc,mp=/mnt/etc"]}),
            Destructive,
        ),
        (
            "PUT",
            "/nodes/pve1/lxc/103/config",
            json!({"features": ["mount=nfs;cifs"]}),
            Destructive,
        ),
        (
            "PUT",
            "/nodes/pve2/qemu/102/config",
            json!({"serial0": ["/dev/ttyS0"]}),
            Destructive,
        ),
        (
            "PUT",
            "/nodes/pve2/qemu/102/config",
            json!({"scsi1": "local-lvm:8,cache=none"}),
            Modify,
        ),
    ]);
}

#[test]
fn an_exec_parameter_never_hides_a_destructive_one() {
    let cases = [
        (
            "PUT",
            "/nodes/pve2/qemu/101/config",
            json!({"delete": "protection", "args": "-name x"}),
        ),
        (
            "POST",
            "/nodes/pve2/vzdump",
            json!({"vmid": "101", "remove": 1, "script": "/bin/true"}),
        ),
        (
            "POST",
            "/nodes/pve2/qemu/101/agent/file-write",
            json!({"file": "/etc/x", "content": "y"}),
        ),
        (
            "POST",
            "/nodes/pve2/qemu/101/monitor",
            json!({"command": "quit"}),
        ),
    ];
    for (m, p, params) in cases {
        let v = judge_api_call(m, p, params.as_object().unwrap());
        assert!(v.may_destroy, "{m} {p} {params}: {v:?}");
    }
    let read = judge_api_call(
        "GET",
        "/nodes/pve2/qemu/101/agent/file-read",
        &Default::default(),
    );
    assert!(!read.may_destroy, "{read:?}");
}

#[test]
fn quieter_damage_asks() {
    let cfg = "/nodes/pve2/qemu/101/config";
    check(&[
        ("PUT", cfg, json!({"delete": "lock"}), Destructive),
        ("PUT", cfg, json!({"lock": "backup"}), Destructive),
        ("PUT", cfg, json!({"template": 1}), Destructive),
        (
            "PUT",
            cfg,
            json!({"net0": "virtio,bridge=vmbr0,firewall=0"}),
            Destructive,
        ),
        (
            "PUT",
            cfg,
            json!({"net0": "virtio,bridge=vmbr0,firewall=1"}),
            Modify,
        ),
        (
            "PUT",
            "/nodes/pve1/lxc/103/config",
            json!({"entrypoint": "/bin/sh"}),
            Exec,
        ),
        (
            "POST",
            "/nodes/pve1/lxc",
            json!({"vmid": 300, "ostemplate": "local:vztmpl/d.tar.zst", "unprivileged": 0}),
            Destructive,
        ),
        (
            "POST",
            "/nodes/pve1/lxc",
            json!({"vmid": 300, "ostemplate": "local:vztmpl/d.tar.zst", "unprivileged": 1}),
            Modify,
        ),
        (
            "POST",
            "/nodes/pve2/qemu/101/firewall/rules",
            json!({"type": "in", "action": "DROP", "enable": 1}),
            Destructive,
        ),
        (
            "POST",
            "/nodes/pve2/qemu/101/firewall/rules",
            json!({"type": "in", "action": "ACCEPT", "dport": "443"}),
            Modify,
        ),
        (
            "PUT",
            "/nodes/pve2/qemu/101/firewall/options",
            json!({"ipfilter": 0, "macfilter": 0}),
            Destructive,
        ),
        (
            "PUT",
            "/storage/nfs-backup",
            json!({"prune-backups": "keep-last=1"}),
            Destructive,
        ),
        (
            "PUT",
            "/storage/local-lvm",
            json!({"disable": 1}),
            Destructive,
        ),
        (
            "PUT",
            "/storage/local-lvm",
            json!({"nodes": "pve3"}),
            Destructive,
        ),
        (
            "PUT",
            "/cluster/backup/daily",
            json!({"enabled": 0}),
            Destructive,
        ),
        (
            "PUT",
            "/cluster/backup/daily",
            json!({"exclude": "101"}),
            Destructive,
        ),
        (
            "PUT",
            "/cluster/backup/daily",
            json!({"schedule": "03:00"}),
            Modify,
        ),
        (
            "POST",
            "/cluster/backup",
            json!({"all": 1, "schedule": "*:0/1", "mode": "stop", "storage": "local"}),
            Destructive,
        ),
        (
            "POST",
            "/nodes/pve2/vzdump",
            json!({"vmid": "101", "mode": "stop"}),
            Destructive,
        ),
        (
            "POST",
            "/nodes/pve2/vzdump",
            json!({"vmid": "101", "mode": "snapshot"}),
            Modify,
        ),
        (
            "PUT",
            "/access/users/bob@pve/unlock-tfa",
            json!({}),
            Destructive,
        ),
    ]);
    assert!(risky_get("/cluster/notifications/endpoints/webhook/slack").is_some());
}

/// Round 3: HA recovery switched off, placement that strands guests, pool moves and disks that
/// lose data on a host crash; their harmless neighbours stay modify.
#[test]
fn round3_ha_pools_and_unsafe_cache() {
    check(&[
        (
            "PUT",
            "/cluster/ha/resources/vm:101",
            json!({"max_restart": 0}),
            Destructive,
        ),
        (
            "PUT",
            "/cluster/ha/resources/vm:101",
            json!({"max_relocate": "00"}),
            Destructive,
        ),
        (
            "PUT",
            "/cluster/ha/resources/vm:101",
            json!({"max_restart": 3}),
            Modify,
        ),
        (
            "POST",
            "/cluster/ha/resources",
            json!({"sid": "vm:101", "max_relocate": 0.0}),
            Destructive,
        ),
        (
            "PUT",
            "/cluster/ha/groups/g1",
            json!({"nodes": "pve3", "restricted": "yes"}),
            Destructive,
        ),
        (
            "PUT",
            "/cluster/ha/groups/g1",
            json!({"nodes": "pve3", "restricted": 0}),
            Modify,
        ),
        (
            "POST",
            "/cluster/ha/rules",
            json!({"rule": "r", "type": "node-affinity", "resources": "vm:101", "nodes": "pve3", "strict": 1}),
            Destructive,
        ),
        (
            "POST",
            "/cluster/ha/rules",
            json!({"rule": "r", "type": "node-affinity", "resources": "vm:101", "nodes": "pve3"}),
            Modify,
        ),
        (
            "PUT",
            "/pools/dev",
            json!({"vms": "101", "allow-move": 1}),
            Destructive,
        ),
        (
            "PUT",
            "/pools",
            json!({"poolid": "dev", "vms": "101", "allow-move": "on"}),
            Destructive,
        ),
        ("PUT", "/pools/dev", json!({"vms": "150"}), Modify),
        (
            "PUT",
            "/nodes/pve2/qemu/150/config",
            json!({"scsi0": "local-lvm:vm-150-disk-0,cache=unsafe"}),
            Destructive,
        ),
        (
            "PUT",
            "/nodes/pve2/qemu/150/config",
            json!({"virtio1": "local-lvm:4, CACHE = 'Unsafe'"}),
            Destructive,
        ),
        (
            "PUT",
            "/nodes/pve2/qemu/150/config",
            json!({"scsi0": "local-lvm:vm-150-disk-0,cache=writeback"}),
            Modify,
        ),
    ]);
}

/// Round 3 of the review: the `cdrom` alias, backup keys and selections, data lost quietly
/// through disk and NIC options, privileged containers by default, VNet firewall rules and
/// plain roles granted over many guests.
#[test]
fn round3_aliases_keys_and_quiet_loss() {
    let cfg = "/nodes/pve2/qemu/102/config";
    check(&[
        ("PUT", cfg, json!({"cdrom": "/dev/sda"}), Destructive),
        (
            "PUT",
            cfg,
            json!({"cdrom": "local-lvm:vm-101-disk-0"}),
            Destructive,
        ),
        ("PUT", cfg, json!({"cdrom": "local:iso/debian.iso"}), Modify),
        ("PUT", cfg, json!({"delete": "cdrom"}), Destructive),
        (
            "POST",
            "/nodes/pve2/qemu",
            json!({"vmid": 300, "cdrom": "/dev/nvme0n1"}),
            Destructive,
        ),
        (
            "PUT",
            cfg,
            json!({"scsi1": "local-lvm:0,import-from=/srv/x.img"}),
            Destructive,
        ),
        (
            "PUT",
            cfg,
            json!({"scsi0": "local-lvm:vm-102-disk-0,snapshot=1"}),
            Destructive,
        ),
        (
            "PUT",
            cfg,
            json!({"scsi0": "local-lvm:vm-102-disk-0,ro=on"}),
            Destructive,
        ),
        (
            "PUT",
            cfg,
            json!({"scsi0": "local-lvm:vm-102-disk-0,backup=0"}),
            Destructive,
        ),
        (
            "PUT",
            cfg,
            json!({"scsi0": "local-lvm:vm-102-disk-0,backup=1,ssd=1"}),
            Modify,
        ),
        ("PUT", cfg, json!({"delete": "vmstate"}), Destructive),
        ("PUT", cfg, json!({"revert": "net0"}), Destructive),
        (
            "PUT",
            cfg,
            json!({"net0": "virtio,bridge=vmbr0,link_down=1"}),
            Destructive,
        ),
        (
            "PUT",
            cfg,
            json!({"net0": "virtio,bridge=vmbr0,link_down=0"}),
            Modify,
        ),
        (
            "PUT",
            "/storage/pbs1",
            json!({"encryption-key": "autogen"}),
            Destructive,
        ),
        (
            "PUT",
            "/storage/pbs1",
            json!({"delete": "encryption-key"}),
            Destructive,
        ),
        (
            "PUT",
            "/storage/pbs1",
            json!({"delete": "master-pubkey"}),
            Destructive,
        ),
        (
            "PUT",
            "/storage/nfs-backup",
            json!({"content": "iso"}),
            Destructive,
        ),
        (
            "POST",
            "/storage",
            json!({"storage": "n", "type": "dir", "path": "/mnt/n", "content": "iso"}),
            Modify,
        ),
        (
            "PUT",
            "/cluster/backup/daily",
            json!({"pool": "dev"}),
            Destructive,
        ),
        (
            "PUT",
            "/cluster/backup/daily",
            json!({"vmid": "102"}),
            Destructive,
        ),
        (
            "PUT",
            "/cluster/backup/daily",
            json!({"node": "pve3"}),
            Destructive,
        ),
        (
            "PUT",
            "/cluster/backup/daily",
            json!({"delete": "pool"}),
            Destructive,
        ),
        (
            "PUT",
            "/pools/prod",
            json!({"vms": "101", "delete": 1}),
            Destructive,
        ),
        (
            "POST",
            "/nodes/pve1/lxc",
            json!({"vmid": 300, "ostemplate": "local:vztmpl/d.tar.zst"}),
            Destructive,
        ),
        (
            "POST",
            "/nodes/pve1/lxc",
            json!({"vmid": 300, "ostemplate": "local:vztmpl/d.tar.zst", "unprivileged": ["0"]}),
            Destructive,
        ),
        (
            "POST",
            "/nodes/pve1/lxc",
            json!({"vmid": 300, "ostemplate": "local:vztmpl/d.tar.zst", "unprivileged": "yes"}),
            Modify,
        ),
        (
            "POST",
            "/cluster/sdn/vnets/vnet100/firewall/rules",
            json!({"type": "forward", "action": "DROP", "enable": 1}),
            Destructive,
        ),
        (
            "POST",
            "/cluster/sdn/vnets/vnet100/firewall/rules",
            json!({"type": "forward", "action": "ACCEPT"}),
            Modify,
        ),
        (
            "PUT",
            "/access/acl",
            json!({"path": "/", "roles": "PVEVMUser", "users": "bob@pve"}),
            Destructive,
        ),
        (
            "PUT",
            "/access/acl",
            json!({"path": "/pool/prod", "roles": "PVEDatastoreUser", "groups": "ops"}),
            Destructive,
        ),
        (
            "PUT",
            "/access/acl",
            json!({"path": "/", "roles": "PVEAuditor", "users": "bob@pve"}),
            Modify,
        ),
        (
            "PUT",
            "/access/acl",
            json!({"path": "/vms/150", "roles": "PVEVMUser", "users": "bob@pve"}),
            Modify,
        ),
    ]);
    let files = |m: &str, p: &str, v: serde_json::Value| {
        let serde_json::Value::Object(map) = v else {
            unreachable!()
        };
        files_read(m, p, &map)
    };
    assert_eq!(
        files(
            "PUT",
            "/nodes/pve2/qemu/102/config",
            json!({"cdrom": "/etc/pve/priv/authkey.key"})
        ),
        vec!["/etc/pve/priv/authkey.key"]
    );
    assert_eq!(
        files(
            "PUT",
            "/nodes/pve2/qemu/102/config",
            json!({"scsi1": "local-lvm:0,import-from=/var/lib/pve-cluster/config.db"})
        ),
        vec!["/var/lib/pve-cluster/config.db"]
    );
    assert_eq!(
        files(
            "GET",
            "/nodes/pve2/qemu/101/agent/file-read",
            json!({"file": "/etc/shadow"})
        ),
        vec!["/etc/shadow"]
    );
    // `/etc/shadow`, base64-encoded as PVE's file restore takes it.
    assert_eq!(
        files(
            "GET",
            "/nodes/pve1/storage/pbs/file-restore/download",
            json!({"volume": "pbs:backup/vm/101/x", "filepath": "L2V0Yy9zaGFkb3c="})
        ),
        vec!["/etc/shadow"]
    );
    assert!(
        files(
            "PUT",
            "/nodes/pve2/qemu/102/config",
            json!({"scsi0": "local-lvm:8"})
        )
        .is_empty()
    );
}
