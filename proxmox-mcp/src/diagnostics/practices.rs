//! Pure: our best-practice guidance (stable ids, why, how, the tool call here, risk if ignored)
//! and the live evaluation of the items the cluster can show: pass, fail or not checked, each
//! with its evidence.

use schemars::JsonSchema;
use serde::Serialize;

use super::snapshot::{GuestFact, Snapshot};

/// One piece of guidance.
#[derive(Debug, Clone, Copy, Serialize, JsonSchema)]
pub struct Practice {
    /// Stable id, e.g. `vm.guest-agent`
    pub id: &'static str,
    pub topic: &'static str,
    pub title: &'static str,
    pub why: &'static str,
    /// The exact command or API call
    pub how: &'static str,
    /// The tool call that does it through this server
    pub tool: &'static str,
    pub risk: &'static str,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    Pass,
    Fail,
    NotChecked,
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct Live {
    pub verdict: Verdict,
    pub evidence: String,
}

/// The topics, in catalogue order.
pub const TOPICS: &[&str] = &[
    "backups",
    "storage",
    "networking",
    "security",
    "ha",
    "vm",
    "containers",
    "updates",
    "monitoring",
];

const fn p(
    id: &'static str,
    topic: &'static str,
    title: &'static str,
    why: &'static str,
    how: &'static str,
    tool: &'static str,
    risk: &'static str,
) -> Practice {
    Practice {
        id,
        topic,
        title,
        why,
        how,
        tool,
        risk,
    }
}

/// The catalogue.
pub const CATALOGUE: &[Practice] = &[
    p(
        "backup.coverage",
        "backups",
        "Every guest is in a scheduled backup job",
        "A guest no job covers has no restore point.",
        "POST /cluster/backup schedule=daily all=1 storage=<pbs> mode=snapshot",
        "proxmox_api method=POST path=/cluster/backup",
        "A lost disk or a bad upgrade loses the guest for good.",
    ),
    p(
        "backup.3-2-1",
        "backups",
        "3 copies, 2 media, 1 off site",
        "One backup on the same host fails with the host.",
        "Back up to Proxmox Backup Server, then sync its datastore to a second PBS off site \
         (proxmox-backup-manager sync-job create)",
        "storage_operations action=list (find a PBS storage)",
        "Fire, theft or ransomware takes the backups with the cluster.",
    ),
    p(
        "backup.mode",
        "backups",
        "Use snapshot mode with the guest agent",
        "Snapshot mode needs no downtime; the agent freezes file systems for consistency.",
        "vzdump <vmid> --mode snapshot (agent enabled: qm set <vmid> --agent 1)",
        "proxmox_api method=POST path=/nodes/{node}/vzdump",
        "Stop mode causes downtime; without fs-freeze databases may restore inconsistent.",
    ),
    p(
        "backup.retention",
        "backups",
        "Set a retention policy",
        "Without pruning backups fill the storage; without keeping enough, history is lost.",
        "POST /cluster/backup … prune-backups=keep-daily=7,keep-weekly=4,keep-monthly=6",
        "proxmox_api method=PUT path=/cluster/backup/{id}",
        "A full backup storage makes every following backup fail.",
    ),
    p(
        "storage.zfs-arc",
        "storage",
        "Cap the ZFS ARC",
        "ARC takes up to half the RAM by default and competes with guests.",
        "echo 'options zfs zfs_arc_max=8589934592' > /etc/modprobe.d/zfs.conf; update-initramfs -u",
        "execute_command node=<node> command=\"cat /sys/module/zfs/parameters/zfs_arc_max\"",
        "Guests are ballooned or OOM-killed while the ARC holds memory.",
    ),
    p(
        "storage.thin",
        "storage",
        "Watch thin-provisioned pools",
        "Thin pools (LVM-thin, ZFS, Ceph) can promise more than they hold.",
        "lvs -o lv_name,data_percent,metadata_percent; keep use under 85%",
        "health_check (storage over 85%)",
        "A full thin pool corrupts or freezes every guest on it.",
    ),
    p(
        "storage.overcommit",
        "storage",
        "Do not over-commit memory and disk blindly",
        "Sum of guest RAM and disks above capacity works until everyone uses it.",
        "GET /cluster/resources: compare maxmem/maxdisk of guests with the node's",
        "get_system_info",
        "Swap storms, OOM kills, full storage at the worst time.",
    ),
    p(
        "net.bridges-vlans",
        "networking",
        "VLAN-aware bridges instead of a bridge per VLAN",
        "One vmbr with bridge-vlan-aware yes and tagged guest NICs scales and stays readable.",
        "In /etc/network/interfaces: bridge-vlan-aware yes; bridge-vids 2-4094; then ifreload -a",
        "network_config action=list",
        "Dozens of bridges, easy mis-tagging, traffic in the wrong VLAN.",
    ),
    p(
        "net.bonds-mtu",
        "networking",
        "Bond uplinks and keep MTU consistent",
        "A bond (LACP 802.3ad) survives a link or switch port; mismatched MTU drops large frames.",
        "bond-mode 802.3ad, bond-miimon 100; mtu equal on NIC, bond, bridge and switch",
        "network_config action=list",
        "A single cable takes the node off the network; storage traffic stalls on MTU mismatch.",
    ),
    p(
        "net.corosync",
        "networking",
        "A separate network for corosync",
        "Corosync needs low latency; backup or storage traffic on its link causes node fencing.",
        "pvecm add … --link0 <dedicated> --link1 <fallback> (corosync.conf: two links)",
        "proxmox_api method=GET path=/cluster/config/nodes",
        "Congestion looks like node failure: HA fences healthy nodes.",
    ),
    p(
        "security.tfa",
        "security",
        "Two-factor authentication for human logins",
        "Passwords leak; TOTP or WebAuthn stops their reuse.",
        "Datacenter → Permissions → Two Factor, or POST /access/tfa/{userid}",
        "proxmox_api method=GET path=/access/tfa",
        "One phished password gives full cluster control.",
    ),
    p(
        "security.tokens",
        "security",
        "Privilege-separated API tokens with least-privilege roles",
        "A privsep token holds only the ACLs given to it, not its user's.",
        "pveum user token add <user> <name> --privsep 1; pveum acl modify / --tokens <id> --roles PVEAuditor",
        "user_management action=list_tokens",
        "A leaked automation token acts as its (often admin) user.",
    ),
    p(
        "security.firewall",
        "security",
        "Enable the cluster firewall",
        "It filters management ports (8006, 22) and guest traffic per rule.",
        "PUT /cluster/firewall/options enable=1 (allow 8006/22 from the admin network first)",
        "proxmox_api method=PUT path=/cluster/firewall/options",
        "The web UI, SSH and guests are reachable from anywhere the network lets through.",
    ),
    p(
        "security.ssh-root",
        "security",
        "SSH keys, and root@pam only for emergencies",
        "Keys cannot be guessed; named accounts leave an audit trail.",
        "PasswordAuthentication no in sshd_config; daily work as user@pve with a role",
        "user_management action=list",
        "Brute-forced root passwords; nobody knows who changed what.",
    ),
    p(
        "ha.three-nodes",
        "ha",
        "At least three votes for quorum",
        "A two-node cluster loses quorum with either node; a QDevice or third node keeps it.",
        "pvecm status; two nodes: pvecm qdevice setup <ip>",
        "cluster_management action=status",
        "One node down makes /etc/pve read-only and stops HA.",
    ),
    p(
        "ha.fencing",
        "ha",
        "Working fencing before HA",
        "HA restarts guests elsewhere only after the failed node is fenced (watchdog).",
        "Check the watchdog: ha-manager status; hardware watchdog in /etc/default/pve-ha-manager",
        "cluster_management action=status",
        "Guests run twice on shared storage and corrupt their disks.",
    ),
    p(
        "vm.guest-agent",
        "vm",
        "QEMU guest agent enabled",
        "Clean shutdowns, fs-freeze for backups, IP addresses in the API.",
        "qm set <vmid> --agent enabled=1,fstrim_cloned_disks=1; install qemu-guest-agent inside",
        "proxmox_api method=PUT path=/nodes/{node}/qemu/{vmid}/config agent=1",
        "Inconsistent backups, hard stops, no IP information.",
    ),
    p(
        "vm.scsi",
        "vm",
        "VirtIO SCSI single with iothread and discard",
        "virtio-scsi-single gives each disk its own iothread; discard returns freed space.",
        "qm set <vmid> --scsihw virtio-scsi-single --scsi0 <vol>,iothread=1,discard=on",
        "proxmox_api method=PUT path=/nodes/{node}/qemu/{vmid}/config scsihw=virtio-scsi-single",
        "Slow emulated disks; thin storage fills with deleted data.",
    ),
    p(
        "vm.cpu-balloon",
        "vm",
        "Sensible CPU type and ballooning",
        "x86-64-v2-AES (or host on identical nodes) gives modern instructions and keeps migration.",
        "qm set <vmid> --cpu x86-64-v2-AES --balloon <min MiB>",
        "vm_status vmid=<vmid>",
        "kvm64 is slow; host breaks live migration across CPU generations.",
    ),
    p(
        "ct.unprivileged",
        "containers",
        "Unprivileged containers",
        "Root in an unprivileged container is an unprivileged user on the host.",
        "pct create … --unprivileged 1 (an existing one: back up, restore with --unprivileged 1)",
        "list_containers",
        "A container escape is root on the host.",
    ),
    p(
        "ct.nesting",
        "containers",
        "Nesting only where needed",
        "features: nesting=1 is needed for systemd and docker in unprivileged containers only.",
        "pct set <vmid> --features nesting=1",
        "container_action",
        "Privileged + nesting widens the host attack surface.",
    ),
    p(
        "updates.repos",
        "updates",
        "One coherent package repository set",
        "Enterprise (with subscription) or no-subscription, never a broken mix.",
        "GET /nodes/{node}/apt/repositories; apt update && apt full-upgrade",
        "proxmox_api method=GET path=/nodes/{node}/apt/repositories",
        "Failed updates (401 from enterprise) leave nodes without security fixes.",
    ),
    p(
        "monitoring.metrics",
        "monitoring",
        "External metrics and alerting",
        "Trends and alerts catch full storage and failed backups before users do.",
        "POST /cluster/metrics/server/<id> type=influxdb|graphite; notification targets for backup jobs",
        "health_check",
        "Problems are noticed only when something is down.",
    ),
];

/// The items of `topic` (all for `None`); an unknown topic is an error naming the valid ones.
pub fn select(topic: Option<&str>) -> Result<Vec<&'static Practice>, String> {
    match topic.map(str::trim) {
        None | Some("") => Ok(CATALOGUE.iter().collect()),
        Some(t) if TOPICS.contains(&t) => Ok(CATALOGUE.iter().filter(|p| p.topic == t).collect()),
        Some(t) => Err(format!(
            "unknown topic {t:?}; topics: {}",
            TOPICS.join(", ")
        )),
    }
}

fn live(verdict: Verdict, evidence: impl Into<String>) -> Option<Live> {
    Some(Live {
        verdict,
        evidence: evidence.into(),
    })
}

/// Pass when `bad` is empty, else fail listing them; `what` names the checked set.
fn verdict_of(bad: Vec<String>, checked: usize, what: &str, skipped: &[String]) -> Option<Live> {
    let mut evidence = if bad.is_empty() {
        format!("all {checked} {what} comply")
    } else {
        format!("{} of {checked} {what}: {}", bad.len(), bad.join(", "))
    };
    if !skipped.is_empty() {
        evidence.push_str(&format!("; not checked: {}", skipped.join("; ")));
    }
    if bad.is_empty() && checked == 0 && !skipped.is_empty() {
        return live(Verdict::NotChecked, evidence);
    }
    live(
        if bad.is_empty() {
            Verdict::Pass
        } else {
            Verdict::Fail
        },
        evidence,
    )
}

/// Checks each guest of `kind` with readable config; `bad` says why one fails.
fn per_guest(
    s: &Snapshot,
    kind: &str,
    what: &str,
    bad: impl Fn(&GuestFact, &std::collections::BTreeMap<String, String>) -> Option<String>,
) -> Option<Live> {
    let guests = match &s.guests {
        Err(why) => return live(Verdict::NotChecked, why.clone()),
        Ok(g) => g,
    };
    let (mut failed, mut skipped, mut checked) = (Vec::new(), Vec::new(), 0);
    for g in guests.iter().filter(|g| g.kind == kind && !g.template) {
        match &g.config {
            Err(why) => skipped.push(format!("{} {}", g.vmid, why)),
            Ok(cfg) => {
                checked += 1;
                if let Some(b) = bad(g, cfg) {
                    failed.push(format!("{} ({})", g.vmid, b));
                }
            }
        }
    }
    verdict_of(failed, checked, what, &skipped)
}

/// The live verdict for `id`; `None` when the item has no live check.
pub fn evaluate(id: &str, s: &Snapshot) -> Option<Live> {
    match id {
        "backup.coverage" => {
            let jobs = match &s.backup_jobs {
                Err(why) => return live(Verdict::NotChecked, why.clone()),
                Ok(j) => j,
            };
            let guests = match &s.guests {
                Err(why) => return live(Verdict::NotChecked, why.clone()),
                Ok(g) => g,
            };
            let all: Vec<&GuestFact> = guests.iter().filter(|g| !g.template).collect();
            let bad = all
                .iter()
                .filter(|g| !jobs.iter().any(|j| j.covers(g)))
                .map(|g| format!("{} not in any enabled backup job", g.vmid))
                .collect();
            verdict_of(bad, all.len(), "guests", &[])
        }
        "vm.guest-agent" => per_guest(s, "qemu", "VMs", |_, cfg| {
            let on = cfg.get("agent").is_some_and(|a| {
                let first = a.split(',').next().unwrap_or("");
                first == "1" || first == "enabled=1"
            });
            (!on).then(|| "agent off".to_string())
        }),
        "vm.scsi" => per_guest(s, "qemu", "VMs", |_, cfg| {
            let hw = cfg.get("scsihw").map(String::as_str).unwrap_or("lsi");
            (!hw.starts_with("virtio-scsi")).then(|| format!("scsihw={hw}"))
        }),
        "ct.unprivileged" => per_guest(s, "lxc", "containers", |_, cfg| {
            (cfg.get("unprivileged").map(String::as_str) != Some("1"))
                .then(|| "privileged".to_string())
        }),
        "security.firewall" => match &s.firewall_enabled {
            Err(why) => live(Verdict::NotChecked, why.clone()),
            Ok(true) => live(Verdict::Pass, "cluster firewall enable=1"),
            Ok(false) => live(Verdict::Fail, "cluster firewall is disabled (enable=0)"),
        },
        "ha.three-nodes" => match &s.cluster {
            Err(why) => live(Verdict::NotChecked, why.clone()),
            Ok(c) if c.nodes.len() >= 3 => live(Verdict::Pass, format!("{} nodes", c.nodes.len())),
            Ok(c) => live(
                Verdict::Fail,
                format!("{} node(s): one failure loses quorum", c.nodes.len()),
            ),
        },
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::super::health::tests::healthy;
    use super::super::snapshot::*;
    use super::*;

    fn guest(vmid: u32, kind: &str, cfg: &[(&str, &str)]) -> GuestFact {
        GuestFact {
            vmid,
            kind: kind.into(),
            node: "pve1".into(),
            name: format!("g{vmid}"),
            template: false,
            pool: None,
            config: Ok(cfg
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()),
        }
    }

    /// A cluster that follows every checked practice.
    fn good() -> Snapshot {
        let mut s = healthy();
        s.guests = Ok(vec![
            guest(
                100,
                "qemu",
                &[("agent", "1"), ("scsihw", "virtio-scsi-single")],
            ),
            guest(200, "lxc", &[("unprivileged", "1")]),
        ]);
        s.backup_jobs = Ok(vec![BackupJob {
            id: "daily".into(),
            enabled: true,
            all: true,
            ..Default::default()
        }]);
        s
    }

    fn verdicts(s: &Snapshot) -> Vec<(&'static str, Verdict)> {
        CATALOGUE
            .iter()
            .filter_map(|p| evaluate(p.id, s).map(|l| (p.id, l.verdict)))
            .collect()
    }

    #[test]
    fn a_good_cluster_passes_every_live_check() {
        let v = verdicts(&good());
        assert_eq!(v.len(), 6);
        assert!(v.iter().all(|(_, v)| *v == Verdict::Pass), "{v:?}");
    }

    #[test]
    fn each_defect_fails_its_check_only() {
        type Seed = fn(&mut Snapshot);
        let cases: [(&str, Seed); 6] = [
            ("vm.guest-agent", |s| {
                s.guests.as_mut().unwrap()[0] = guest(100, "qemu", &[("scsihw", "virtio-scsi-pci")])
            }),
            ("vm.scsi", |s| {
                s.guests.as_mut().unwrap()[0] = guest(100, "qemu", &[("agent", "1")])
            }),
            ("ct.unprivileged", |s| {
                s.guests.as_mut().unwrap()[1] = guest(200, "lxc", &[])
            }),
            ("backup.coverage", |s| {
                s.backup_jobs.as_mut().unwrap()[0] = BackupJob {
                    id: "some".into(),
                    enabled: true,
                    vmids: [100].into(),
                    ..Default::default()
                }
            }),
            ("security.firewall", |s| s.firewall_enabled = Ok(false)),
            ("ha.three-nodes", |s| {
                s.cluster.as_mut().unwrap().nodes.retain(|n, _| n == "pve1")
            }),
        ];
        for (id, change) in cases {
            let mut s = good();
            change(&mut s);
            let failed: Vec<_> = verdicts(&s)
                .into_iter()
                .filter(|(_, v)| *v == Verdict::Fail)
                .map(|(id, _)| id)
                .collect();
            assert_eq!(failed, vec![id]);
        }
    }

    #[test]
    fn unreadable_facts_are_not_checked() {
        let mut s = good();
        s.firewall_enabled = Err("GET /cluster/firewall/options: 403".into());
        s.guests.as_mut().unwrap()[1].config = Err("GET …/config: 403".into());
        let l = evaluate("security.firewall", &s).unwrap();
        assert_eq!(l.verdict, Verdict::NotChecked);
        let l = evaluate("ct.unprivileged", &s).unwrap();
        assert_eq!(l.verdict, Verdict::NotChecked, "{}", l.evidence);
        assert!(l.evidence.contains("403"));
    }

    #[test]
    fn ids_are_unique_and_topics_known() {
        let mut ids: Vec<_> = CATALOGUE.iter().map(|p| p.id).collect();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), CATALOGUE.len());
        for t in TOPICS {
            assert!(!select(Some(t)).unwrap().is_empty(), "{t}");
        }
        assert!(select(Some("nope")).unwrap_err().contains("backups"));
    }
}
