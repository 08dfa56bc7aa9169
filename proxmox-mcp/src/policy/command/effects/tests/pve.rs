//! The Proxmox VE tools by subcommand, as `effects/pve.rs` judges them.

use super::super::pve::lookup;
use crate::policy::Class::{self, Destructive as D, Exec as X, Lifecycle as L, Modify as M};

/// (command line, class) for the Proxmox tools, straight from the knowledge base.
pub(super) fn check(cases: &[(&str, Class)]) {
    let bad: Vec<String> = cases
        .iter()
        .filter_map(|&(line, want)| {
            let words: Vec<String> = line.split_whitespace().map(String::from).collect();
            let got = lookup(&words[0], &words[1..]).map(|v| v.class);
            (got != Some(want)).then(|| format!("{line:?}: got {got:?}, want {want}"))
        })
        .collect();
    assert!(bad.is_empty(), "{}", bad.join("\n"));
}

#[test]
fn power() {
    check(&[
        ("qm stop 100", D),
        ("qm stop 100 --skiplock 1", D),
        ("pct stop 101", D),
        ("qm reset 100", D),
        ("qm shutdown 100", L),
        ("qm shutdown 100 --timeout 60", L),
        ("qm shutdown 100 --forceStop 1", D),
        ("qm shutdown 100 --forceStop", D),
        ("qm shutdown 100 -forceStop=true", D),
        ("qm shutdown 100 --forceStop=YES", D),
        ("qm shutdown 100 --forceStop 0", L),
        ("pct shutdown 101 --forceStop on", D),
        ("pct shutdown 101 --forceStop off", L),
        ("qm reboot 100", L),
        ("qm start 100", L),
        ("qm suspend 100 --todisk 1", L),
        ("pvenode stopall", D),
        ("pvenode startall", L),
        ("pvesh create /nodes/pve1/stopall", D),
        ("pvesh create /nodes/pve1/qemu/100/status/stop", D),
        (
            "pvesh create /nodes/pve1/qemu/100/status/shutdown --forceStop 1",
            D,
        ),
        ("pvesh create /nodes/pve1/qemu/100/status/shutdown", L),
        ("ha-manager crm-command stop vm:100 0", D),
    ]);
}

#[test]
fn config_disks_and_hooks() {
    check(&[
        ("qm set 100 --delete unused0", D),
        ("qm set 100 --delete scsi1", D),
        ("qm set 100 -delete net1,virtio2", D),
        ("pct set 101 --delete mp0", D),
        ("pct set 101 --delete unused1", D),
        ("qm set 100 --delete net1", D),
        ("qm set 100 --delete cores", M),
        ("qm set 100 --memory 4096", M),
        ("qm set 100 --protection 0", D),
        ("qm set 100 --hookscript local:snippets/x.pl", X),
        ("qm set 100 --args -foo", X),
        ("pct set 101 --hookscript local:snippets/x.pl", X),
        (
            "qm create 100 --archive local:backup/x.vma.zst --force 1",
            D,
        ),
        ("pct create 101 local:backup/x.tar.zst --force", D),
        ("qm create 100 --memory 512", M),
        // Laxer than the API request they stand for, until they were aligned with it.
        ("qm template 100", D),
        ("pct template 101", D),
        ("qm unlock 100", D),
        ("pct unlock 101", D),
        ("qm guest cmd 100 fsfreeze-freeze", D),
        ("qm agent 100 fsfreeze-freeze", D),
        ("qm guest cmd 100 fsfreeze-thaw", L),
        ("qm guest passwd 100 root", X),
        (
            "qm disk move 100 scsi0 --target-vmid 102 --target-disk scsi1",
            D,
        ),
        ("qm move-disk 100 scsi0 local-lvm", M),
        (
            "pct move-volume 101 mp0 --target-vmid 102 --target-volume mp1",
            D,
        ),
        ("pct move-volume 101 mp0 local-lvm", M),
        ("qm clone 100 200", M),
        ("qm snapshot 100 pre", M),
        ("qm frobnicate 100", D),
        ("pct frobnicate 101", D),
        ("qm disk unlink 100 --idlist scsi1", D),
        ("qm importdisk 100 /tmp/x.qcow2 local-lvm", M),
        ("pvesm free local-lvm:vm-100-disk-0", D),
        ("vzdump 100 --script /tmp/x", X),
        ("vzdump 100 --prune-backups keep-last=1", D),
        ("vzdump 100 --mode snapshot", M),
        ("qm set 100 --scsi1 /dev/sdb", D),
        ("qm set 100 --ide2 /dev/sr0,media=cdrom", D),
        ("qm set 100 --tpmstate0 /dev/sdd", D),
        ("qm set 100 --hostpci0 0000:01:00.0,pcie=1", D),
        ("qm set 100 --usb1 mapping=stick", D),
        ("qm set 100 --parallel0 /dev/parport0", D),
        ("qm set 100 --scsi1 local-lvm:32", M),
        ("qm set 100 --ide2 local:iso/x.iso,media=cdrom", M),
        ("pct set 101 --mp0 volume=/srv/x,mp=/x", D),
        ("pct set 101 --rootfs /var/lib/x", D),
        ("pct set 101 --mp0 local-lvm:8,mp=/data", M),
        ("pct set 101 --features nesting=1,keyctl=1", M),
        ("qm importdisk 100 /dev/sda local-lvm", D),
        ("qm importdisk 100 /proc/kcore local-lvm", D),
        ("qm disk import 100 /tmp/x.raw local-lvm", M),
        ("qm create 200 --hookscript local:snippets/x.pl", X),
        ("qm create 200 --args -foo", X),
        ("pct create 201 local:vztmpl/x.tar.zst --dev0 /dev/sdb", D),
        (
            "pct create 201 local:vztmpl/x.tar.zst --rootfs local-lvm:8 --unprivileged 1",
            M,
        ),
        (
            "pct create 201 local:vztmpl/x.tar.zst --rootfs local-lvm:8",
            D,
        ),
        ("qm remote-migrate 100 100 host=x --target-storage local", D),
        (
            "pct remote-migrate 101 101 host=x --target-storage local",
            D,
        ),
        ("qm migrate 100 pve2", M),
    ]);
}

#[test]
fn cluster_storage_and_services() {
    check(&[
        ("pvecm add 10.0.0.1", D),
        ("pvecm expected 1", D),
        ("pvecm status", crate::policy::Class::Read),
        ("pve-firewall stop", D),
        ("pve-firewall restart", D),
        ("pve-firewall start", L),
        ("pveceph osd create /dev/sdc", D),
        ("pveceph osd destroy 3", D),
        ("zpool create tank mirror /dev/sdb /dev/sdc", D),
        ("zpool attach tank /dev/sdb /dev/sdd", D),
        ("zpool replace tank /dev/sdb /dev/sdd", D),
        ("zpool checkpoint -d tank", D),
        ("zpool clear tank", M),
        ("zfs rollback rpool/data/x@s", D),
        ("zfs snapshot rpool/data/x@s", M),
        ("zpool export tank", D),
        ("zpool offline tank /dev/sdb", D),
        ("zpool online tank /dev/sdb", L),
        ("zpool import tank", L),
        ("zpool set readonly=on tank", D),
        ("zpool set bootfs=rpool/ROOT/x rpool", D),
        ("zpool set autotrim=on tank", M),
        ("zfs set readonly=on rpool/data", D),
        ("zfs set rdonly=on rpool/data", D),
        ("zfs set canmount=off rpool/ROOT/pve-1", D),
        ("zfs set canmount=noauto rpool/data", D),
        ("zfs set mountpoint=/x rpool/data", D),
        ("zfs set volsize=1G rpool/data/vm-100-disk-0", D),
        ("zfs inherit mountpoint rpool/data", D),
        ("zfs unmount -a", D),
        ("zfs set readonly=off rpool/data", M),
        ("zfs set canmount=on rpool/data", M),
        ("zfs set compression=zstd rpool/data", M),
        ("zfs inherit compression rpool/data", M),
        ("zfs unmount rpool/data/subvol-101-disk-0", M),
        ("pvecm updatecerts", D),
        ("pvenode cert set /tmp/c.pem /tmp/k.pem --force 1", D),
        ("pvenode cert delete", D),
        ("pvenode acme cert order", D),
        ("pvenode acme cert renew", D),
        ("pvenode acme cert revoke", D),
        ("pvenode config set --wakeonlan x", M),
    ]);
}
