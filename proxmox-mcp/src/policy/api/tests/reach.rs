//! Requests that cut a node off, reach every user or guest, or overwrite what was there.

use serde_json::json;

use super::check;
use crate::policy::Class::*;

/// What cuts a node off, reaches everyone, or overwrites what was there.
#[test]
fn destructive() {
    let none = || json!({});
    let opts = "/cluster/options";
    check(&[
        (
            "POST",
            "/nodes/pve1/hosts",
            json!({"data": "x"}),
            Destructive,
        ),
        (
            "PUT",
            "/nodes/pve1/dns",
            json!({"dns1": "1.1.1.1"}),
            Destructive,
        ),
        (
            "PUT",
            "/nodes/pve1/time",
            json!({"timezone": "UTC"}),
            Modify,
        ),
        (
            "POST",
            "/nodes/pve1/apt/repositories",
            json!({"index": 0, "path": "/etc/apt/sources.list"}),
            Destructive,
        ),
        (
            "PUT",
            "/nodes/pve1/apt/repositories",
            json!({"handle": "test"}),
            Destructive,
        ),
        (
            "PUT",
            "/nodes/pve1/certificates/acme/certificate",
            none(),
            Destructive,
        ),
        (
            "DELETE",
            "/nodes/pve1/certificates/acme/certificate",
            none(),
            Destructive,
        ),
        (
            "POST",
            "/nodes/pve1/status",
            json!({"command": "reboot"}),
            Destructive,
        ),
        ("POST", "/nodes/pve1/stopall", none(), Destructive),
        (
            "POST",
            "/cluster/bulk-action/guest/shutdown",
            none(),
            Destructive,
        ),
        (
            "POST",
            "/cluster/bulk-action/guest/start",
            none(),
            Lifecycle,
        ),
        (
            "POST",
            "/nodes/pve1/migrateall",
            json!({"target": "pve2"}),
            Modify,
        ),
        ("PUT", "/cluster/sdn", none(), Destructive),
        (
            "POST",
            "/nodes/pve1/firewall/rules",
            json!({"action": "DROP"}),
            Destructive,
        ),
        (
            "POST",
            "/cluster/firewall/rules",
            json!({"action": "ACCEPT"}),
            Destructive,
        ),
        (
            "POST",
            "/nodes/pve1/qemu/100/firewall/rules",
            json!({"action": "DROP"}),
            // A blocking rule can cut the guest off: it asks, and a protected guest refuses.
            Destructive,
        ),
        (
            "PUT",
            "/access/acl",
            json!({"path": "/", "roles": "NoAccess"}),
            Destructive,
        ),
        (
            "PUT",
            "/access/acl",
            json!({"path": "/", "roles": "PVEAuditor,noaccess"}),
            Destructive,
        ),
        (
            "PUT",
            "/access/acl",
            json!({"path": "/", "roles": "PVEAuditor", "delete": 1}),
            Destructive,
        ),
        (
            "PUT",
            "/access/acl",
            json!({"path": "/", "roles": "PVEAuditor", "propagate": 0}),
            Destructive,
        ),
        (
            "PUT",
            "/access/acl",
            json!({"path": "/vms/150", "roles": "PVEVMUser", "users": "a@pve"}),
            Modify,
        ),
        (
            "PUT",
            "/access/acl",
            json!({"path": "/vms", "roles": "PVEVMUser", "users": "a@pve"}),
            Destructive,
        ),
        (
            "PUT",
            "/access/domains/ldap",
            json!({"default": 1}),
            Destructive,
        ),
        (
            "PUT",
            "/access/domains/pam",
            json!({"comment": "x"}),
            Destructive,
        ),
        ("POST", "/access/domains/ldap/sync", none(), Destructive),
        ("POST", "/cluster/jobs/realm-sync/j", none(), Destructive),
        (
            "PUT",
            "/access/password",
            json!({"userid": "a@pve"}),
            Destructive,
        ),
        (
            "PUT",
            "/access/users/a@pve",
            json!({"enable": 0}),
            Destructive,
        ),
        (
            "PUT",
            "/access/users/a@pve",
            json!({"expire": 1}),
            Destructive,
        ),
        (
            "PUT",
            "/access/users/a@pve",
            json!({"groups": "x"}),
            Destructive,
        ),
        (
            "PUT",
            "/access/users/a@pve",
            json!({"groups": "x", "append": 1}),
            // Joining a group hands out the group's grants.
            Destructive,
        ),
        (
            "PUT",
            "/access/users/a@pve",
            json!({"email": "a@x"}),
            Modify,
        ),
        (
            "PUT",
            "/access/users/a@pve/token/t",
            json!({"expire": 1}),
            Destructive,
        ),
        ("PUT", opts, json!({"webauthn": "id=x"}), Destructive),
        ("PUT", opts, json!({"u2f": "appid=x"}), Destructive),
        (
            "PUT",
            opts,
            json!({"ha": "shutdown_policy=freeze"}),
            Destructive,
        ),
        ("PUT", opts, json!({"crs": "ha=static"}), Destructive),
        ("PUT", opts, json!({"fencing": "hardware"}), Destructive),
        (
            "PUT",
            opts,
            json!({"migration": "type=insecure"}),
            Destructive,
        ),
        (
            "PUT",
            opts,
            json!({"http_proxy": "http://x:3128"}),
            Destructive,
        ),
        (
            "PUT",
            opts,
            json!({"user-tag-access": "user-allow=free"}),
            Destructive,
        ),
        (
            "PUT",
            opts,
            json!({"delete": "registered-tags"}),
            Destructive,
        ),
        (
            "PUT",
            opts,
            json!({"keyboard": "de", "language": "de"}),
            Modify,
        ),
        ("PUT", opts, json!({"delete": "keyboard"}), Modify),
        (
            "POST",
            "/nodes/pve1/vzdump",
            json!({"vmid": 100, "remove": 1}),
            Destructive,
        ),
        (
            "POST",
            "/nodes/pve1/vzdump",
            json!({"vmid": 100, "remove": 0}),
            Modify,
        ),
        (
            "POST",
            "/nodes/pve1/vzdump",
            json!({"stop": 1}),
            Destructive,
        ),
        (
            "POST",
            "/nodes/pve1/vzdump",
            json!({"vmid": 100, "dumpdir": "/etc/cron.d"}),
            Destructive,
        ),
        (
            "POST",
            "/nodes/pve1/vzdump",
            json!({"vmid": 100, "dumpdir": "/mnt/backup"}),
            Modify,
        ),
        (
            "POST",
            "/cluster/backup",
            json!({"all": 1, "remove": "yes"}),
            Destructive,
        ),
        (
            "POST",
            "/cluster/backup",
            json!({"all": 1, "prune-backups": "keep-last=1"}),
            Destructive,
        ),
        (
            "PUT",
            "/cluster/backup/job1",
            json!({"schedule": "daily"}),
            Modify,
        ),
        (
            "PUT",
            "/cluster/replication/100-0",
            json!({"remove_job": "full"}),
            Destructive,
        ),
        (
            "PUT",
            "/cluster/replication/100-0",
            json!({"rate": 10}),
            Modify,
        ),
        (
            "POST",
            "/cluster/ha/resources",
            json!({"sid": "vm:100", "state": "stopped"}),
            Destructive,
        ),
        (
            "PUT",
            "/cluster/ha/resources/vm:100",
            json!({"state": "Disabled"}),
            Destructive,
        ),
        (
            "PUT",
            "/cluster/ha/resources/vm:100",
            json!({"state": "started"}),
            Modify,
        ),
        ("POST", "/cluster/ha/status/disarm-ha", none(), Destructive),
        (
            "PUT",
            "/nodes/pve1/storage/local/content/local:backup/vzdump-qemu-100-2024_01_01-00_00_00.vma.zst",
            json!({"protected": 0}),
            Destructive,
        ),
        (
            "PUT",
            "/nodes/pve1/storage/local/content/local%3Abackup%2Fvzdump-qemu-100.vma.zst",
            json!({"notes": "x"}),
            Modify,
        ),
        (
            "POST",
            "/nodes/pve1/qemu/100/status/start",
            json!({"skiplock": 1}),
            Destructive,
        ),
        ("POST", "/nodes/pve1/lxc/101/template", none(), Destructive),
        (
            "PUT",
            "/nodes/pve1/qemu/100/resize",
            json!({"disk": "scsi0", "size": "+1G"}),
            Modify,
        ),
        ("POST", "/nodes/pve1/ceph/stop", none(), Destructive),
        ("POST", "/nodes/pve1/ceph/init", none(), Destructive),
        ("POST", "/nodes/pve1/ceph/start", none(), Lifecycle),
        ("PUT", "/cluster/ceph/flags/pause", none(), Destructive),
        ("POST", "/nodes/pve1/ceph/osd/3/out", none(), Destructive),
        ("POST", "/nodes/pve1/ceph/osd/3/in", none(), Modify),
        ("DELETE", "/nodes/pve1/ceph/pool/rbd", none(), Destructive),
        ("POST", "/cluster/sdn/rollback", none(), Destructive),
        (
            "PUT",
            "/nodes/pve1/qemu/100/unlink",
            json!({"idlist": "scsi1"}),
            Destructive,
        ),
        ("POST", "/nodes/pve1/wakeonlan", none(), Lifecycle),
        (
            "DELETE",
            "/nodes/pve1/tasks/UPID:pve1:1:2:3:vzdump::root@pam:",
            none(),
            Destructive,
        ),
    ]);
}

/// Interface changes are staged: nothing changes on the node until the pending configuration
/// is applied. The apply (`PUT /nodes/{n}/network`) is Modify here and raised to Destructive
/// when the pending changes touch the management interface, which only the cluster can tell
/// (`tools::request`, tested end to end).
#[test]
fn staged_network_changes() {
    let none = || json!({});
    check(&[
        (
            "POST",
            "/nodes/pve1/network",
            json!({"iface": "vmbr1"}),
            Modify,
        ),
        ("PUT", "/nodes/pve1/network/vmbr0", none(), Modify),
        ("DELETE", "/nodes/pve1/network/vmbr1", none(), Modify),
        ("DELETE", "/nodes/pve1/network", none(), Modify),
        ("PUT", "/nodes/pve1/network", none(), Modify),
    ]);
}
