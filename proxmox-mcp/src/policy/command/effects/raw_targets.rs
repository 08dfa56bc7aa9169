//! The raw-target path table: block devices, volumes, guest images, kernel memory and settings,
//! and the firewall and cluster files whose overwriting destroys data or cuts the node off.

use super::persistence::persistence;

/// Directories right under `/dev/` that hold no disks: writing there is not a raw write.
const DEV_SAFE_DIRS: &[&str] = &[
    "fd",
    "pts",
    "shm",
    "mqueue",
    "hugepages",
    "tcp",
    "udp",
    "net",
    "input",
    "snd",
    "dri",
    "bus",
    "cpu",
    "usb",
    "vfio",
    "virtio-ports",
    "serial",
    "hugepages-1G",
    "hugepages-2M",
];

/// Targets whose overwriting destroys data or cuts the node off: block devices, device-mapper,
/// LVM and ZFS volumes, guest disk images and backups under storage paths, kernel memory,
/// sysrq, the watchdog, every kernel setting and device attribute under `/proc/sys` and `/sys`
/// (those that name a program the kernel runs are [`persistence`] instead), and the
/// cluster and host firewall and corosync configurations (written directly, they can turn the
/// firewall off, lock the node down or split the cluster, as the API's Destructive requests do).
pub(crate) fn raw_target(path: &str) -> Option<String> {
    let cuts_off = path == "/etc/pve/firewall/cluster.fw"
        || path == "/etc/pve/local/host.fw"
        || (path.starts_with("/etc/pve/nodes/") && path.ends_with("/host.fw"))
        || matches!(
            path,
            "/etc/pve/corosync.conf" | "/etc/corosync/corosync.conf" | "/etc/corosync/authkey"
        );
    if cuts_off {
        return Some(format!(
            "writes {path} directly, which can turn the firewall off, lock the node down or \
             split it from the cluster"
        ));
    }
    if let Some(dev) = path.strip_prefix("/dev/") {
        let block = [
            "sd", "nvme", "vd", "hd", "xvd", "zd", "mapper/", "dm-", "disk/", "md", "rbd", "pve/",
            "loop", "zvol/", "nbd", "mmcblk", "sr", "sg", "bcache", "drbd", "pmem", "zram",
            "block/",
        ];
        // `/dev/VG/LV` is a logical volume of any volume group.
        let nested = dev
            .split_once('/')
            .is_some_and(|(dir, _)| !DEV_SAFE_DIRS.contains(&dir));
        if block.iter().any(|b| dev.starts_with(b)) || nested {
            return Some(format!("writes raw data to the block device {path}"));
        }
        if matches!(dev, "mem" | "kmem" | "port") {
            return Some(format!("writes kernel memory through {path}"));
        }
        if dev.starts_with("watchdog") {
            return Some(format!(
                "arms the hardware watchdog {path}: the node resets when it is not fed"
            ));
        }
    }
    if path == "/proc/sysrq-trigger" {
        return Some("triggers a kernel sysrq action (reboot, crash, kill all)".into());
    }
    if path.starts_with("/sys/") {
        let detaches = ["/delete", "/remove", "/unbind"]
            .iter()
            .any(|s| path.ends_with(s));
        if detaches || path == "/sys/power/state" || path.starts_with("/sys/firmware/efi/efivars/")
        {
            return Some(format!(
                "writes {path}, which detaches a device, suspends the node or changes firmware variables"
            ));
        }
    }
    // Any other kernel setting or device attribute: one value can hang, panic or cut off the
    // node (the ones that name a program the kernel runs are persistence, and Exec).
    let kernel = ["/proc/sys", "/sys"]
        .iter()
        .any(|d| path == *d || path.starts_with(&format!("{d}/")));
    if kernel && persistence(path).is_none() {
        return Some(format!(
            "writes the kernel setting {path}, which can hang, panic or cut off the node"
        ));
    }
    let image = [
        ".raw", ".qcow2", ".qcow", ".vmdk", ".vhdx", ".vdi", ".img", ".vma", ".vma.zst", ".vma.gz",
        ".vma.lzo", ".tar.zst", ".tar.gz", ".tgz", ".tar.lzo", ".tar", ".iso",
    ];
    let storage = ["/var/lib/vz/", "/mnt/pve/", "/var/lib/pve/"];
    if storage.iter().any(|s| path.starts_with(s))
        && (image.iter().any(|e| path.ends_with(e))
            || ["/images/", "/dump/", "/private/"]
                .iter()
                .any(|d| path.contains(d)))
    {
        return Some(format!("overwrites the guest image or backup {path}"));
    }
    None
}
