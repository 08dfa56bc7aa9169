//! Writes that reach raw devices, guest images, permissions and Proxmox VE API URLs.

use super::check;
use crate::policy::Class::{Destructive as D, Exec as X, Lifecycle as L, Modify as M};

#[test]
fn raw_devices_and_guest_images() {
    check(&[
        ("echo b > /proc/sysrq-trigger", D),
        ("cp x.img /var/lib/vz/images/100/vm-100-disk-0.raw", D),
        ("cp x /var/lib/vz/images/100/vm-100-disk-0", D),
        ("mv /tmp/x /mnt/pve/nfs/dump/vzdump-qemu-100.vma.zst", D),
        ("tee /dev/sdb", D),
        ("tee /dev/nvme0n1", D),
        ("cp disk.raw /dev/disk/by-id/ata-X", D),
        ("cp disk.raw /dev/mapper/pve-vm--100--disk--0", D),
        ("cp disk.raw /dev/zvol/rpool/data/vm-100-disk-0", D),
        ("cp disk.raw /dev/data/vm-100-disk-0", D),
        ("cat x > /dev/sda", D),
        ("dd if=x of=/dev/sdb", D),
        ("echo 1 > /sys/block/sdb/device/delete", D),
        ("echo mem > /sys/power/state", D),
        ("echo x > /dev/watchdog", D),
        ("cp x /dev/mem", D),
        (
            "qemu-img convert -O raw x.qcow2 /dev/zvol/rpool/data/vm-100-disk-0",
            D,
        ),
        ("qemu-img resize --shrink /tmp/x.qcow2 1G", D),
        ("qemu-img snapshot -a s1 /tmp/x.qcow2", D),
        ("qemu-img create -f qcow2 /tmp/new.qcow2 10G", M),
        ("cp x.iso /tmp/y.iso", M),
        ("echo x > /dev/shm/x", M),
        ("echo x > /tmp/out", M),
        (
            "sed -i s/enable:.1/enable:0/ /etc/pve/firewall/cluster.fw",
            D,
        ),
        ("cp x /etc/pve/nodes/pve1/host.fw", D),
        ("cp x /etc/pve/corosync.conf", D),
        ("cp x /etc/pve/firewall/100.fw", M),
    ]);
}

#[test]
fn permissions_and_proxmox_api_urls() {
    check(&[
        ("chmod -R 000 /etc", D),
        ("chown -R nobody /", D),
        ("chmod -R 755 /var/lib/vz/template", M),
        ("chmod 600 /etc/hosts", M),
        (
            "curl -k -X POST https://127.0.0.1:8006/api2/json/nodes/pve1/qemu/100/status/stop",
            D,
        ),
        (
            "curl -k -d forceStop=1 https://127.0.0.1:8006/api2/json/nodes/pve1/lxc/101/status/shutdown",
            D,
        ),
        (
            "curl -k -X PUT -d enable=0 https://127.0.0.1:8006/api2/json/cluster/firewall/options",
            D,
        ),
        (
            "curl -k -X POST https://127.0.0.1:8006/api2/json/nodes/pve1/qemu/100/status/start",
            L,
        ),
        (
            "curl -k -o /etc/cron.d/x https://127.0.0.1:8006/api2/json/version",
            X,
        ),
        ("git clone https://127.0.0.1/r /etc/cron.d/r", X),
    ]);
}
