//! Every guest a request names: in the path, in vmid lists, HA and replication ids, volume
//! ids, and the selections that resolve at run time; in adversarial spellings.

use serde_json::{Value, json};

use crate::policy::api::*;

fn named(method: &str, path: &str, params: Value) -> NamedGuests {
    let Value::Object(map) = params else {
        panic!("params must be an object")
    };
    named_guests(method, path, &map)
}

/// (method, path, params, vmids, selections)
type Case<'a> = (&'a str, &'a str, Value, &'a [u32], &'a [Selection]);

fn check(cases: &[Case]) {
    let bad: Vec<String> = cases
        .iter()
        .filter_map(|(m, p, params, vmids, sel)| {
            let got = named(m, p, params.clone());
            let want = NamedGuests {
                vmids: vmids.iter().copied().collect(),
                selections: sel.iter().cloned().collect(),
            };
            (got != want).then(|| format!("{m} {p} {params}: got {got:?}, want {want:?}"))
        })
        .collect();
    assert!(bad.is_empty(), "{}", bad.join("\n"));
}

#[test]
fn in_the_path() {
    let none = || json!({});
    check(&[
        (
            "POST",
            "/nodes/pve1/qemu/100/status/stop",
            none(),
            &[100],
            &[],
        ),
        (
            "POST",
            "/NODES/pve1/QEMU/100/status/stop",
            none(),
            &[100],
            &[],
        ),
        (
            "DELETE",
            "//api2/json/nodes/pve1/lxc/%31%30%31/",
            none(),
            &[101],
            &[],
        ),
        ("DELETE", "/nodes/pve1/lxc/ 101 ", none(), &[101], &[]),
        ("GET", "/nodes/pve1/qemu/100/config", none(), &[100], &[]),
        (
            "DELETE",
            "/cluster/ha/resources/vm:100",
            none(),
            &[100],
            &[],
        ),
        (
            "DELETE",
            "/cluster/ha/resources/CT%3A101",
            none(),
            &[101],
            &[],
        ),
        ("PUT", "/cluster/ha/resources/102", none(), &[102], &[]),
        ("DELETE", "/cluster/replication/100-0", none(), &[100], &[]),
        (
            "POST",
            "/nodes/pve1/replication/103-1/schedule_now",
            none(),
            &[103],
            &[],
        ),
        (
            "DELETE",
            "/nodes/pve1/storage/local-lvm/content/local-lvm:vm-107-disk-0",
            none(),
            &[107],
            &[],
        ),
        (
            "DELETE",
            "/nodes/pve1/storage/local/content/local%3Abackup%2Fvzdump-qemu-108-2024_01_01-00_00_00.vma.zst",
            none(),
            &[108],
            &[],
        ),
        (
            "DELETE",
            "/nodes/pve1/storage/pbs/content/pbs:backup/ct/109/2024-01-01T00:00:00Z",
            none(),
            &[109],
            &[],
        ),
        (
            "DELETE",
            "/nodes/pve1/storage/local-zfs/content/local-zfs:subvol-110-disk-0",
            none(),
            &[110],
            &[],
        ),
        (
            "DELETE",
            "/nodes/pve1/storage/local-lvm/content/local-lvm:base-111-disk-1",
            none(),
            &[111],
            &[],
        ),
        (
            "DELETE",
            "/nodes/pve1/storage/local-lvm/content/local-lvm:VM-112-CLOUDINIT",
            none(),
            &[112],
            &[],
        ),
        (
            "PUT",
            "/cluster/backup/backup-Job1",
            none(),
            &[],
            &[Selection::BackupJob("backup-Job1".into())],
        ),
        (
            "DELETE",
            "/cluster/backup/%22j2%22",
            none(),
            &[],
            &[Selection::BackupJob("j2".into())],
        ),
        ("GET", "/cluster/backup/j3", none(), &[], &[]),
        ("GET", "/nodes/pve1/storage", none(), &[], &[]),
        ("POST", "/nodes/pve1/qemu", none(), &[], &[]),
    ]);
}

#[test]
fn in_the_parameters() {
    check(&[
        (
            "POST",
            "/nodes/pve1/qemu",
            json!({"vmid": 102, "archive": "local:backup/vzdump-qemu-102.vma.zst", "force": 1}),
            &[102],
            &[],
        ),
        (
            "POST",
            "/nodes/pve1/lxc",
            json!({"VMID": "103", "ostemplate": "local:backup/vzdump-lxc-104-2024.tar.zst", "restore": 1}),
            &[103, 104],
            &[],
        ),
        (
            "POST",
            "/nodes/pve1/vzdump",
            json!({"vmid": "100,101"}),
            &[100, 101],
            &[],
        ),
        (
            "POST",
            "/nodes/pve1/vzdump",
            json!({"vmid": " 100 ; 101 "}),
            &[100, 101],
            &[],
        ),
        (
            "POST",
            "/nodes/pve1/vzdump",
            json!({"vmid": "\"100\" '101'"}),
            &[100, 101],
            &[],
        ),
        (
            "POST",
            "/nodes/pve1/vzdump",
            json!({"vmid": "100%2C101"}),
            &[100, 101],
            &[],
        ),
        (
            "POST",
            "/nodes/pve1/vzdump",
            json!({"--vmid": [100, "101"]}),
            &[100, 101],
            &[],
        ),
        (
            "POST",
            "/nodes/pve1/vzdump",
            json!({"vmid": "[100,101]"}),
            &[100, 101],
            &[],
        ),
        (
            "POST",
            "/nodes/pve1/stopall",
            json!({"vms": "100 101"}),
            &[100, 101],
            &[],
        ),
        (
            "POST",
            "/cluster/bulk-action/guest/shutdown",
            json!({"vms": [100, 101]}),
            &[100, 101],
            &[],
        ),
        (
            "POST",
            "/nodes/pve1/qemu/100/move_disk",
            json!({"disk": "scsi0", "target-vmid": 105}),
            &[100, 105],
            &[],
        ),
        (
            "POST",
            "/nodes/pve1/qemu/100/clone",
            json!({"newid": 200, "target": "pve2"}),
            &[100],
            &[],
        ),
        (
            "POST",
            "/cluster/ha/resources",
            json!({"sid": "vm:100"}),
            &[100],
            &[],
        ),
        (
            "POST",
            "/cluster/ha/resources",
            json!({"sid": " 'CT:101' "}),
            &[101],
            &[],
        ),
        (
            "POST",
            "/cluster/ha/rules",
            json!({"resources": "vm:100,ct:101"}),
            &[100, 101],
            &[],
        ),
        (
            "POST",
            "/cluster/replication",
            json!({"id": "106-0", "target": "pve2"}),
            &[106],
            &[],
        ),
        (
            "PUT",
            "/pools/p1",
            json!({"vms": "100,101"}),
            &[100, 101],
            &[],
        ),
        (
            "PUT",
            "/pools",
            json!({"poolid": "p1", "vms": "102", "delete": 1}),
            &[102],
            &[],
        ),
        (
            "PUT",
            "/nodes/pve1/qemu/100/config",
            json!({"scsi1": "local-lvm:vm-107-disk-0"}),
            &[100, 107],
            &[],
        ),
        (
            "POST",
            "/nodes/pve1/storage/local-lvm/content",
            json!({"vmid": 120, "filename": "vm-120-disk-5", "size": "1G"}),
            &[120],
            &[],
        ),
        ("POST", "/nodes/pve1/qemu", json!({"vmid": "abc"}), &[], &[]),
        (
            "PUT",
            "/nodes/pve1/qemu/100/config",
            json!({"name": "my-vm-web"}),
            &[100],
            &[],
        ),
    ]);
}

#[test]
fn selections() {
    check(&[
        (
            "POST",
            "/nodes/pve1/vzdump",
            json!({"all": 1}),
            &[],
            &[Selection::All],
        ),
        (
            "POST",
            "/nodes/pve1/vzdump",
            json!({"all": "1", "exclude": "100"}),
            &[],
            &[Selection::All],
        ),
        (
            "POST",
            "/nodes/pve1/vzdump",
            json!({"ALL": true}),
            &[],
            &[Selection::All],
        ),
        (
            "POST",
            "/nodes/pve1/vzdump",
            json!({"all": 0, "vmid": 100}),
            &[100],
            &[],
        ),
        (
            "POST",
            "/nodes/pve1/vzdump",
            json!({"pool": "Prod"}),
            &[],
            &[Selection::Pool("Prod".into())],
        ),
        (
            "POST",
            "/cluster/backup",
            json!({"pool": " 'web' ", "schedule": "daily"}),
            &[],
            &[Selection::Pool("web".into())],
        ),
        (
            "PUT",
            "/cluster/backup/j1",
            json!({"all": 1}),
            &[],
            &[Selection::All, Selection::BackupJob("j1".into())],
        ),
        (
            "POST",
            "/nodes/pve1/stopall",
            json!({}),
            &[],
            &[Selection::Node("pve1".into())],
        ),
        (
            "POST",
            "/nodes/PVE1/migrateall",
            json!({"target": "pve2"}),
            &[],
            &[Selection::Node("PVE1".into())],
        ),
        (
            "POST",
            "/nodes/pve1/startall",
            json!({"vms": "100"}),
            &[100],
            &[],
        ),
        (
            "POST",
            "/cluster/bulk-action/guest/suspend",
            json!({}),
            &[],
            &[Selection::All],
        ),
        (
            "DELETE",
            "/nodes/pve1/storage/local/prunebackups",
            json!({}),
            &[],
            &[Selection::All],
        ),
        (
            "DELETE",
            "/nodes/pve1/storage/local/prunebackups",
            json!({"vmid": 100}),
            &[100],
            &[],
        ),
        (
            "GET",
            "/nodes/pve1/vzdump/defaults",
            json!({"all": 1}),
            &[],
            &[],
        ),
    ]);
}
