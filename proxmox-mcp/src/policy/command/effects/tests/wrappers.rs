//! The PVE command-line wrappers judged as the API request they make, options read the way
//! PVE's Getopt reads them, the guests they name and what root protection refuses in them
//! (adversarial review, round 2: findings 1, 2, 5, 6, 8 and 9).

use super::pve::check as classes;
use crate::policy::Class::{Destructive as D, Exec as X, Lifecycle as L, Modify as M, Read as R};
use crate::policy::api::Selection;
use crate::policy::command::{Protected, analyze, test_context};

/// Options in any case and abbreviated, as Getopt takes them (finding 1).
#[test]
fn options_in_any_case_and_abbreviated() {
    classes(&[
        ("qmrestore /var/lib/vz/dump/x.vma.zst 100 --forc 1", D),
        ("qmrestore /var/lib/vz/dump/x.vma.zst 100 --FORCE 1", D),
        ("qmrestore /var/lib/vz/dump/x.vma.zst 100 -Force", D),
        ("qmrestore /var/lib/vz/dump/x.vma.zst 100 --force 0", M),
        ("qmrestore /var/lib/vz/dump/x.vma.zst 100", M),
        ("pct restore 103 /var/lib/vz/dump/x.tar.zst --forc 1", D),
        ("pct restore 103 /var/lib/vz/dump/x.tar.zst --FORCE", D),
        ("qm create 100 --archive local:backup/x.vma.zst --FORC 1", D),
        ("pct create 101 local:backup/x.tar.zst --forc", D),
        ("vzdump 101 --SCRIPT /tmp/x", X),
        ("vzdump 101 --scr /tmp/x", X),
        ("vzdump 101 -script=/tmp/x", X),
        ("vzdump 101 --PRUNE-BACKUPS keep-last=1", D),
        ("vzdump 101 --prune keep-last=1", D),
        ("qm move-disk 101 scsi0 --target-vm 102", D),
        ("qm move-disk 101 scsi0 --TARGET-VMID 102", D),
        ("qm disk move 101 scsi0 --target-vmi=102", D),
        ("pct move-volume 103 mp0 --Target-Vmid 104", D),
        ("qm move-disk 101 scsi0 --target-storage local-lvm", M),
        ("pvesm prune-backups local --DRY-RUN", R),
        ("pvesm prune-backups local --dry", R),
        ("pvesm prune-backups local --keep-last 1", D),
        ("qm set 101 --DELETE scsi1", D),
    ]);
}

/// `pveum` as the access request it makes (finding 5).
#[test]
fn pveum_as_its_api_request() {
    classes(&[
        (
            "pveum acl modify / --roles Administrator --users bob@pve",
            D,
        ),
        ("pveum acl modify / --roles Administrator --groups ops", D),
        ("pveum aclmod / --users bob@pve --roles Administrator", D),
        (
            "pveum acl modify /vms/100 --roles PVEVMUser --users bob@pve",
            M,
        ),
        ("pveum acl modify / --roles NoAccess --users bob@pve", D),
        ("pveum acl delete / --roles PVEAuditor --users bob@pve", D),
        ("pveum acldel / --roles PVEAuditor --users bob@pve", D),
        ("pveum user add evil@pve --password Passw0rd1", D),
        ("pveum useradd evil@pve --password Passw0rd1", D),
        ("pveum user add alice@pve --comment x", M),
        ("pveum user modify bob@pve --groups admin --append 1", D),
        ("pveum user modify bob@pve --enable 0", D),
        ("pveum user modify bob@pve --comment x", M),
        (
            "pveum role modify PVEVMUser --privs Sys.Modify,Permissions.Modify --append 1",
            D,
        ),
        ("pveum user token modify bob@pve t --privsep 0", D),
        ("pveum user token add bob@pve x --privsep 0", D),
        ("pveum user token remove bob@pve x", D),
        ("pveum user delete bob@pve", D),
        ("pveum userdel bob@pve", D),
        ("pveum group delete ops", D),
        ("pveum role delete Custom", D),
        ("pveum realm delete ldap", D),
        ("pveum user tfa delete bob@pve", D),
        ("pveum user list", R),
        ("pveum acl list", R),
        ("pveum user token list bob@pve", R),
        ("pveum user permissions bob@pve", R),
        // A user named like a read word is still a change.
        ("pveum user add list@pve --password x", D),
        ("pveum frobnicate bob@pve", D),
        ("pveum user frobnicate bob@pve", D),
    ]);
}

/// `ha-manager`, `pvesm`, `vzdump`, `pvesr`, `pveceph`, `pvenode` as their API requests, with
/// the hand-written class as the least (findings 6 and 8).
#[test]
fn wrappers_as_their_api_request() {
    classes(&[
        ("ha-manager set vm:101 --state stopped", D),
        ("ha-manager set vm:101 --state disabled", D),
        ("ha-manager set vm:101 --state ignored", D),
        ("ha-manager add vm:102 --state stopped", D),
        ("ha-manager set vm:101 --state started", M),
        ("ha-manager set vm:101 --comment x", M),
        ("ha-manager crm-command node-maintenance enable pve2", D),
        ("ha-manager crm-command node-maintenance disable pve2", M),
        ("ha-manager crm-command stop vm:101 0", D),
        ("ha-manager remove vm:101", D),
        ("ha-manager migrate vm:101 pve2", M),
        ("ha-manager status", R),
        ("ha-manager frobnicate vm:101", D),
        (
            "pvesm add nfs evil --server 203.0.113.5 --export /x --content backup,images",
            X,
        ),
        (
            "pvesm add pbs evil --server 203.0.113.5 --datastore x --fingerprint aa:bb",
            X,
        ),
        ("pvesm set local --path /etc", X),
        ("pvesm add dir scratch --path /srv/scratch", M),
        ("pvesm set local --content iso,backup", D),
        ("pvesm set local --comment iso", M),
        ("pvesm remove local", D),
        ("pvesm free local-lvm:vm-101-disk-0", D),
        ("pvesm export local-lvm:vm-101-disk-0 raw+size -", X),
        ("pvesm frobnicate local", D),
        ("vzdump 101 --remove 1", D),
        ("vzdump 101 --stop 1", D),
        ("vzdump 101 --dumpdir /etc", D),
        ("vzdump 101 --stdout", X),
        ("vzdump 101 --STDOUT 1", X),
        ("vzdump 101 --mode snapshot --storage local", M),
        ("pvesr update 101-0 --remove_job full", D),
        ("pvesr update 101-0 --rate 10", M),
        ("pvesr delete 101-0", D),
        ("pvesr finalize-local-job 101-0", D),
        ("pvesr frobnicate 101-0", D),
        ("pvesr list", R),
        ("pveceph pool set rbd --size 1 --min_size 1", D),
        ("pveceph osd out 0", D),
        ("pveceph init --network 10.0.0.0/24", D),
        ("pveceph pool destroy rbd", D),
        ("pveceph frobnicate", D),
        ("pveceph pool ls", R),
        ("pveceph start", L),
        (
            "pvenode acme plugin add dns cf1 --api cf --data /tmp/cf.txt",
            X,
        ),
        (
            "pvenode acme account register evil a@b.c --directory https://evil.example/dir",
            X,
        ),
        ("pvenode acme plugin list", R),
        ("pvenode frobnicate", D),
        ("pvenode stopall", D),
        ("pvenode startall", L),
        ("pvesh set /cluster/ha/resources/vm:101 --state stopped", D),
        (
            "pvesh set /nodes/pve2/qemu/101/config --delete protection",
            D,
        ),
    ]);
}

/// The guests a command names, wherever its operands stand and whatever request it makes
/// (finding 9).
#[test]
fn named_guests() {
    for (cmd, want) in [
        ("qm stop --timeout 10 --keepActive 0 101", &[101][..]),
        ("qm set --tags x --delete protection 101", &[101]),
        ("qm destroy --skiplock 1 --purge 1 101", &[101]),
        ("qm destroy --purge 101", &[101]),
        ("qm destroy --PURGE 101", &[101]),
        ("pct stop --skiplock 101", &[101]),
        ("qmrestore --force 1 /tmp/x.vma 105", &[105]),
        (
            "pvesh create /cluster/bulk-action/guest/shutdown --vms 101",
            &[101],
        ),
        ("pvesh create /nodes/pve2/stopall --vms 101", &[101]),
        (
            "pvesh create /nodes/pve2/vzdump --vmid 101 --remove 1",
            &[101],
        ),
        (
            r#"pvesh create /nodes/pve2/execute --commands '[{"method":"POST","path":"/nodes/pve2/qemu/101/status/stop"}]'"#,
            &[101],
        ),
        (
            "pvesh set /cluster/ha/resources/vm:101 --state stopped",
            &[101],
        ),
        ("ha-manager set vm:101 --state stopped", &[101]),
        ("ha-manager set --state stopped vm:101", &[101]),
        ("pvesr update 101-0 --remove_job full", &[101]),
        ("pvesm free local-lvm:vm-101-disk-0", &[101]),
        ("pvesm prune-backups local --vmid 101 --keep-last 1", &[101]),
        ("vzdump --stdout 101", &[101]),
    ] {
        assert_eq!(analyze(cmd, &test_context()).vmids(), want, "{cmd}");
    }
    for (cmd, want) in [
        (
            "pvesh create /nodes/pve2/stopall",
            vec![Selection::Node("pve2".into())],
        ),
        ("pvenode stopall", vec![Selection::All]),
        ("vzdump --all 1 --remove 1", vec![Selection::All]),
        (
            "pvesm prune-backups local --keep-last 1",
            vec![Selection::All],
        ),
        ("qm stop 101", vec![]),
    ] {
        assert_eq!(analyze(cmd, &test_context()).selections(), want, "{cmd}");
    }
}

/// A destructive guest command without a literal vmid among its operands: its guests are not
/// known, so protected guests cannot be ruled out.
#[test]
fn guests_unknown_without_a_vmid() {
    for (cmd, unknown) in [
        ("qm destroy --purge", true),
        ("qm stop --timeout 10", true),
        ("qm destroy 101 --purge $P", true),
        ("qm stop --timeout 10 101", false),
        ("qm destroy --purge 1 101", false),
        ("pct destroy 101", false),
    ] {
        let a = analyze(cmd, &test_context());
        assert_eq!(a.guests_unknown, unknown, "{cmd}: {a:?}");
    }
}

/// `vzdump --stdout` hands a guest's whole disk to the output: exec, and protected guests
/// refuse it (finding 8).
#[test]
fn vzdump_stdout_is_guarded() {
    for cmd in ["vzdump 101 --stdout", "vzdump --STDOUT 101 --mode snapshot"] {
        let a = analyze(cmd, &test_context());
        assert_eq!(a.class, X, "{cmd}");
        assert!(a.may_destroy, "{cmd}: protected guests must refuse it");
        assert_eq!(a.vmids(), vec![101], "{cmd}");
    }
    let a = analyze("vzdump 101 --mode snapshot", &test_context());
    assert!(!a.may_destroy);
}

fn protected(cmd: &str) -> Vec<Protected> {
    analyze(cmd, &test_context()).protected
}

/// Root protection of the request a wrapper makes, and token secrets that would reach the
/// model (finding 5).
#[test]
fn wrapper_requests_under_root_protection() {
    for cmd in [
        "pveum user token add bob@pve x --privsep 0",
        "pveum user token add bob@pve x",
        "pvesh create /access/users/bob@pve/token/x",
        "pvesh create /access/users/bob%40pve/token/x --privsep 0",
        "pvesh create //access/users/bob@pve/token/x/",
    ] {
        let hits = protected(cmd);
        assert!(
            hits.iter()
                .any(|p| matches!(p, Protected::SecretRead(s) if s.contains("token_create"))),
            "{cmd}: {hits:?}"
        );
    }
    for cmd in [
        "pveum user modify root@pam --enable 0",
        "pveum aclmod / --users root@pam --roles NoAccess",
        "pveum passwd root@pam",
        "pveum user token add root@pam x",
    ] {
        assert!(
            protected(cmd)
                .iter()
                .any(|p| matches!(p, Protected::RootAccount(_))),
            "{cmd}"
        );
    }
    for cmd in [
        "pveum acl modify / --users mcp@pve --roles Administrator",
        "pveum user token modify mcp@pve mcp --privsep 0",
        // This server's groups and roles are not known to a command: refused, fail closed.
        "pveum acl modify / --roles PVEAuditor --groups ops",
        "pveum role modify PVEVMUser --privs Sys.Modify --append 1",
        "pveum group modify admins --comment x",
    ] {
        assert!(
            protected(cmd)
                .iter()
                .any(|p| matches!(p, Protected::OwnIdentity(_))),
            "{cmd}"
        );
    }
    for cmd in [
        "pveum user token modify bob@pve t --privsep 0",
        "pveum user token list bob@pve",
        "pveum user add alice@pve --comment x",
        "pvesh get /access/users/bob@pve/token/x",
        "pvesh set /access/users/bob@pve/token/x --comment y",
    ] {
        assert!(protected(cmd).is_empty(), "{cmd}: {:?}", protected(cmd));
    }
}

/// A bind mount's host path is the default key's value, from any item without `=` (finding
/// 2): each is checked.
#[test]
fn bind_mounts_check_every_item() {
    for cmd in [
        "pct set 103 --mp0 mp=/mnt/host,/",
        "pct set 103 --mp0 /,mp=/mnt/host",
        "pct create 300 local:vztmpl/d.tar.zst --unprivileged 0 --mp0 mp=/mnt/host,/",
        "pct create 300 local:vztmpl/d.tar.zst --mp0 mp=/mnt/etc,/etc",
        "pct set 103 --mp1 mp=/mnt/x,backup=0,/etc/pve",
        "pct set 103 --MP0 mp=/mnt/host,/root/.ssh",
        "pct set 103 --mp0=mp=/mnt/host,/etc",
        "pct set 103 --mp0 mp=/mnt/x,volume=/etc/pve/priv",
        "pct set 103 --root mp=/,/etc",
        "pvesh set /nodes/pve1/lxc/103/config --mp0 mp=/mnt/host,/",
    ] {
        assert!(!protected(cmd).is_empty(), "{cmd}");
    }
    for cmd in [
        "pct set 103 --mp0 local-lvm:8,mp=/data",
        "pct set 103 --mp0 mp=/data,local-lvm:8",
        "pct set 103 --mp0 /srv/share,mp=/share",
    ] {
        assert!(protected(cmd).is_empty(), "{cmd}: {:?}", protected(cmd));
    }
}

/// Abbreviated and case-folded options that only [`crate::policy::api::cli_options`] can
/// resolve to their schema names (`--prot` → `protection`).
#[test]
fn options_cli_options_expands() {
    classes(&[
        ("qm set 101 --prot 0", D),
        ("qm set 101 --del protection,tags", D),
        ("qm set 101 --tag foo", D),
        ("qm set 102 --hook local:snippets/x.sh", X),
        ("qm set 102 --arg -monitor", X),
        ("qm set 101 --cipass x --ciu root", X),
        ("qm shutdown 101 --forceS 1", D),
        ("vzdump 101 --rem 1", D),
        ("pct set 103 --feat mount=ext4", D),
        ("pvesh set /nodes/pve2/qemu/101/config --del protection", D),
        ("ha-manager set vm:101 --sta stopped", D),
        ("pvesm set local --pa /etc", X),
        ("pveum aclmod / -user bob@pve -role Administrator", D),
        ("qm set 101 --PROTECTION 0", D),
    ]);
}

/// HA recovery off, placement that strands guests, pool moves and unsafe disk caches get the
/// verdict of their API requests from the shell too.
#[test]
fn ha_pool_and_cache_escalations_match_the_api() {
    classes(&[
        ("ha-manager set vm:150 --max_restart 0", D),
        ("ha-manager set vm:150 --max_restart 2", M),
        ("pvesh set /cluster/ha/groups/g1 --restricted 1", D),
        ("pvesh set /pools/dev --vms 150 --allow-move 1", D),
        ("qm set 150 --scsi0 local-lvm:vm-150-disk-0,cache=unsafe", D),
        ("qm set 150 --cdrom /dev/sda", D),
        ("qm set 150 --cd local:iso/debian.iso", M),
        ("pvesm set pbs1 --encryption-key autogen", D),
        ("pvesh set /cluster/backup/daily --pool dev", D),
        ("qm set 150 --net0 virtio,bridge=vmbr0,link_down=1", D),
    ]);
}
