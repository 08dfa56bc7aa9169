//! The knowledge base's own verdicts by option, without the analysis around it.

use super::super::lookup;
use crate::policy::Class::Read as R;
use crate::policy::Class::{self, Destructive as D, Exec as X, Lifecycle as L, Modify as M};

/// (command line split on spaces, class, opaque): the knowledge base's own verdict.
fn check(cases: &[(&str, Class, bool)]) {
    let bad: Vec<String> = cases
        .iter()
        .filter_map(|&(line, class, opaque)| {
            let words: Vec<String> = line.split(' ').map(String::from).collect();
            let got = lookup(&words[0], &words[1..]);
            (got.class != class || got.opaque != opaque).then(|| {
                format!(
                    "{line:?}: got {} opaque={}, want {class} opaque={opaque}",
                    got.class, got.opaque
                )
            })
        })
        .collect();
    assert!(bad.is_empty(), "{}", bad.join("\n"));
}

#[test]
fn programs_run_through_options_are_opaque() {
    check(&[
        ("rsync -e sh a b", X, true),
        ("rsync --rsh=sh a b", X, true),
        ("rsync -av a b", M, false),
        ("scp -S /tmp/x a h:b", X, true),
        ("scp -o ProxyCommand=id a h:b", X, true),
        ("scp -o Port=2222 a h:b", M, false),
        ("tar --to-command=id -xf x.tar", X, true),
        ("tar -xzf x.tar.gz", M, false),
        ("tar -tf x.tar", R, false),
        ("zip -TT id x.zip a", X, true),
        ("apt-get -o A::B=c update", X, true),
        ("apt-get update", M, false),
        ("dpkg --post-invoke=id -r x", X, true),
        ("git -c a.b=c status", X, true),
        ("git status", R, false),
        ("git config --get core.pager", R, false),
        ("git config core.pager less", X, true),
        ("curl -k https://127.0.0.1:8006/api2/json/version", R, false),
        (
            "curl -k https://127.0.0.1:8006/api2/json/nodes/pve1/qemu/100/agent/file-read",
            X,
            false,
        ),
        ("sort --compress-program=id x", X, true),
        ("sort x", R, false),
        ("less +!id x", X, true),
        ("less +G x", R, false),
        ("man -P id ls", X, true),
        ("man ls", R, false),
        ("tcpdump -z id -w x", X, true),
        ("tcpdump -i eno1", R, false),
        ("logrotate /etc/logrotate.conf", X, true),
        ("mount -t fuse /tmp/x#y /mnt", X, true),
        ("awk BEGIN{system(\"id\")}", X, true),
        ("sed s/a/b/e x", X, true),
        ("find / -exec id ;", X, false),
        ("find / -name x", R, false),
        ("curl -K cfg http://x", X, true),
    ]);
}

#[test]
fn effects_by_option() {
    check(&[
        ("systemctl stop pve-cluster", D, false),
        ("systemctl stop nginx", L, false),
        ("systemctl restart pveproxy.service", D, false),
        ("systemctl reload pveproxy", L, false),
        ("systemctl mask x", D, false),
        ("systemctl enable x", X, false),
        ("systemctl status corosync", R, false),
        ("systemctl stop pve*", D, false),
        ("systemctl stop ngi*", L, false),
        ("service sshd stop", D, false),
        ("service sshd start", L, false),
        ("ip link set vmbr0 down", D, false),
        ("ip -n ns1 link set eth0 down", D, false),
        ("ip link set fwpr100p0 down", M, false),
        ("ip link set vmbr0 up", M, false),
        ("ip addr show", R, false),
        ("ifdown vmbr0", D, false),
        ("ifconfig", R, false),
        ("iptables -A INPUT -j DROP", D, false),
        ("iptables -A INPUT -i vmbr0 -j DROP", D, false),
        ("iptables -A INPUT -s 10.0.0.9 -j DROP", M, false),
        ("iptables -A INPUT -j ACCEPT", M, false),
        ("nft add rule inet filter input counter drop", D, false),
        (
            "nft add rule ip filter input ip saddr 10.0.0.9 drop",
            M,
            false,
        ),
        ("nft list ruleset", R, false),
        ("crontab -l", R, false),
        ("crontab -r", D, false),
        ("crontab x", X, false),
        ("lvresize -L -5G pve/x", D, false),
        ("lvresize -l +100%FREE pve/x", M, false),
        ("mdadm --grow /dev/md0 --raid-devices=1", D, false),
        ("mdadm --detail /dev/md0", R, false),
        ("cryptsetup status c", R, false),
        ("cryptsetup erase /dev/sdb", D, false),
        ("git push --force origin main", D, false),
        ("git push origin +main", D, false),
        ("git push origin main", M, false),
        ("ceph osd lost 3", D, false),
        ("ceph osd tree", R, false),
        ("rmmod zfs", D, false),
        ("qemu-img info x.qcow2", R, false),
        ("qemu-img commit x.qcow2", D, false),
        ("umount /", D, false),
        ("umount -lf /mnt/x", D, false),
        ("umount --all-targets /dev/sdb1", D, false),
        ("umount /dev/fuse", D, false),
        ("umount /mnt/x", L, false),
        ("swapoff -a", D, false),
        ("swapoff /dev/sdb2", L, false),
        ("mount -o remount,ro /etc/pve", D, false),
        ("mount -oremount,ro /", D, false),
        ("mount --options=remount,ro /", D, false),
        ("mount --bind /tmp/x --target /etc/cron.d", X, false),
        ("mount -o bind /tmp/x /etc/default", X, false),
        ("mount -t tmpfs tmpfs /mnt/x", M, false),
        (
            "mount -t tmpfs tmpfs /etc/pve/nodes/pve1/qemu-server",
            D,
            false,
        ),
        ("mount -t fuse.sshfs h:/ /usr", X, true),
        ("ip route add blackhole default", D, false),
        ("ip route append unreachable 10.0.0.0/24", D, false),
        ("ip route add default via 10.0.0.2 metric 100", M, false),
        ("ip ru add prohibit", D, false),
        ("ip rule add fwmark 1 table 10", M, false),
        ("ip link set eno1 mtu 575", D, false),
        ("ip link set eno1 mtu 576", M, false),
        ("ip link set eno1 mtu 01000", D, false),
        ("ip link set veth101i0 mtu 100", M, false),
        ("ethtool -s eno1 speed 10", D, false),
        ("ethtool -s veth101i0 speed 10", M, false),
        ("ethtool -s eno1 msglvl 1", M, false),
        ("sysctl -w kernel.panic=1", D, false),
        ("sysctl -w kernel.core_pattern=|/tmp/x", X, false),
        ("sysctl -w kernel.poweroff_cmd=/tmp/x", X, false),
        ("sysctl -w net.core.somaxconn=4096", M, false),
        ("sysctl -w fs.inotify.max_user_watches=524288", D, false),
        ("sysctl -pf /tmp/x", X, false),
        ("sysctl -p/tmp/x", X, false),
        ("sysctl -p /etc/sysctl.conf", D, false),
        ("sysctl --sys", D, false),
        ("hdparm -r1 /dev/sdb", D, false),
        ("hdparm -w /dev/sdb", D, false),
        ("hdparm -r0 /dev/sdb", M, false),
        ("ceph mds fail 0", D, false),
        ("ceph osd pause", D, false),
        (
            "ceph config get mon auth_allow_insecure_global_id_reclaim",
            R,
            false,
        ),
        (
            "ceph tell mon.* injectargs --auth_allow_insecure_global_id_reclaim=true",
            D,
            false,
        ),
        (
            "ceph config show mon.a auth_allow_insecure_global_id_reclaim",
            M,
            false,
        ),
        ("ceph osd unset noout", M, false),
    ]);
}
