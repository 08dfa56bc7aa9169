//! Pure: guest configuration rules for efficiency: ballooning, VirtIO devices, snapshots with
//! RAM or in numbers, NIC MTU against the bridge (O04, O05, O09, O10, O18).

use std::collections::BTreeMap;

use serde_json::json;

use super::super::util::{num, prop_string, str_of};
use super::super::{Area, Confidence, Ctx, Outcome, Rule, Severity, Skip};
use super::kit::{
    More, cfg_num, finding, guest_configs, guest_object, guest_path, guest_snapshots,
};
use crate::diagnostics::snapshot::cluster::ClusterSnapshot;

/// QEMU disk keys (`scsi0`, `virtio1`, `sata2`, `ide0`) that hold a disk, not a CD-ROM.
fn disks(c: &BTreeMap<String, String>) -> impl Iterator<Item = (&String, &String)> {
    c.iter().filter(|(k, v)| {
        let bus = k.trim_end_matches(|ch: char| ch.is_ascii_digit());
        bus.len() < k.len()
            && matches!(bus, "scsi" | "virtio" | "sata" | "ide")
            && !v.contains("media=cdrom")
            && v.as_str() != "none"
    })
}

/// `netN` keys of a config.
fn nics(c: &BTreeMap<String, String>) -> impl Iterator<Item = (&String, &String)> {
    c.iter().filter(|(k, _)| {
        k.strip_prefix("net")
            .is_some_and(|n| !n.is_empty() && n.chars().all(|ch| ch.is_ascii_digit()))
    })
}

/// The model of a QEMU NIC (`virtio=BC:…,bridge=vmbr0` → `virtio`).
fn nic_model(v: &str) -> &str {
    let first = v.split(',').next().unwrap_or("");
    match first.split_once('=') {
        Some(("model", m)) => m,
        Some((m, _)) => m,
        None => first,
    }
}

/// O04a: the balloon device switched off.
pub struct O04a;

impl Rule for O04a {
    fn id(&self) -> &'static str {
        "O04a"
    }
    fn area(&self) -> Area {
        Area::Optimisation
    }
    fn title(&self) -> &'static str {
        "Ballooning disabled"
    }
    fn check(&self, snap: &ClusterSnapshot, _ctx: &Ctx) -> Outcome {
        let mut out = Vec::new();
        for (g, c) in guest_configs(snap)? {
            if g.kind != "qemu" || cfg_num(c, "balloon") != Some(0.0) {
                continue;
            }
            let path = format!("{}/config", guest_path(g));
            out.push(
                finding(
                    self,
                    Severity::Info,
                    guest_object(g),
                    format!("VM {} has static memory (balloon: 0)", g.vmid),
                    format!(
                        "balloon 0, memory {} MiB: the host cannot reclaim memory and sees no \
                         guest memory statistics",
                        c.get("memory").map_or("2048", String::as_str)
                    ),
                    "Re-enable the balloon device unless the VM uses PCI passthrough or needs \
                     fixed memory.",
                )
                .fix(format!("pvesh set {path} --delete balloon"))
                .api("PUT", &path, json!({"delete": "balloon"}))
                .confidence(Confidence::Low),
            );
        }
        Ok(out)
    }
}

/// O04b: a ballooning minimum that leaves nothing to reclaim.
pub struct O04b;

impl Rule for O04b {
    fn id(&self) -> &'static str {
        "O04b"
    }
    fn area(&self) -> Area {
        Area::Optimisation
    }
    fn title(&self) -> &'static str {
        "Ballooning without room to reclaim"
    }
    fn check(&self, snap: &ClusterSnapshot, _ctx: &Ctx) -> Outcome {
        let mut out = Vec::new();
        for (g, c) in guest_configs(snap)? {
            if g.kind != "qemu" {
                continue;
            }
            let Some(min) = cfg_num(c, "balloon").filter(|b| *b > 0.0) else {
                continue;
            };
            let memory = cfg_num(c, "memory").unwrap_or(2048.0);
            if min >= memory {
                out.push(
                    finding(
                        self,
                        Severity::Info,
                        guest_object(g),
                        format!("VM {}: balloon minimum equals its memory", g.vmid),
                        format!(
                            "balloon {min:.0} MiB ≥ memory {memory:.0} MiB: nothing to reclaim"
                        ),
                        "Set the balloon minimum below the memory size so the host can reclaim \
                         unused guest memory.",
                    )
                    .fix(format!(
                        "pvesh set {}/config --balloon {:.0}",
                        guest_path(g),
                        memory / 2.0
                    ))
                    .confidence(Confidence::Low),
                );
            }
        }
        Ok(out)
    }
}

/// O05a: SCSI disks behind an emulated controller.
pub struct O05a;

impl Rule for O05a {
    fn id(&self) -> &'static str {
        "O05a"
    }
    fn area(&self) -> Area {
        Area::Optimisation
    }
    fn title(&self) -> &'static str {
        "Emulated SCSI controller"
    }
    fn check(&self, snap: &ClusterSnapshot, _ctx: &Ctx) -> Outcome {
        let mut out = Vec::new();
        for (g, c) in guest_configs(snap)? {
            if g.kind != "qemu" || !disks(c).any(|(k, _)| k.starts_with("scsi")) {
                continue;
            }
            let hw = c.get("scsihw").map_or("lsi", String::as_str);
            if hw.starts_with("virtio-scsi") {
                continue;
            }
            let path = format!("{}/config", guest_path(g));
            out.push(
                finding(
                    self,
                    Severity::Info,
                    guest_object(g),
                    format!("VM {} uses the emulated {hw} SCSI controller", g.vmid),
                    format!("scsihw {hw} (VirtIO SCSI is faster and supports iothreads)"),
                    "Switch to virtio-scsi-single once the guest has the VirtIO drivers.",
                )
                .fix(format!("pvesh set {path} --scsihw virtio-scsi-single"))
                .api("PUT", &path, json!({"scsihw": "virtio-scsi-single"}))
                .confidence(Confidence::Medium),
            );
        }
        Ok(out)
    }
}

/// O05b: disks on the emulated IDE/SATA buses.
pub struct O05b;

impl Rule for O05b {
    fn id(&self) -> &'static str {
        "O05b"
    }
    fn area(&self) -> Area {
        Area::Optimisation
    }
    fn title(&self) -> &'static str {
        "Disks on an emulated bus"
    }
    fn check(&self, snap: &ClusterSnapshot, _ctx: &Ctx) -> Outcome {
        let mut out = Vec::new();
        for (g, c) in guest_configs(snap)? {
            if g.kind != "qemu" {
                continue;
            }
            let slow: Vec<&str> = disks(c)
                .filter(|(k, _)| k.starts_with("ide") || k.starts_with("sata"))
                .map(|(k, _)| k.as_str())
                .collect();
            if slow.is_empty() {
                continue;
            }
            out.push(
                finding(
                    self,
                    Severity::Info,
                    guest_object(g),
                    format!("VM {} has disks on IDE/SATA", g.vmid),
                    format!("{} on an emulated bus", slow.join(", ")),
                    "Move the disks to SCSI (virtio-scsi-single) or VirtIO block after \
                     installing the VirtIO drivers in the guest.",
                )
                .confidence(Confidence::Medium),
            );
        }
        Ok(out)
    }
}

/// O05c: NICs with an emulated model.
pub struct O05c;

impl Rule for O05c {
    fn id(&self) -> &'static str {
        "O05c"
    }
    fn area(&self) -> Area {
        Area::Optimisation
    }
    fn title(&self) -> &'static str {
        "Emulated NIC model"
    }
    fn check(&self, snap: &ClusterSnapshot, _ctx: &Ctx) -> Outcome {
        let mut out = Vec::new();
        for (g, c) in guest_configs(snap)? {
            if g.kind != "qemu" {
                continue;
            }
            let slow: Vec<String> = nics(c)
                .filter(|(_, v)| nic_model(v) != "virtio")
                .map(|(k, v)| format!("{k} {}", nic_model(v)))
                .collect();
            if slow.is_empty() {
                continue;
            }
            out.push(
                finding(
                    self,
                    Severity::Info,
                    guest_object(g),
                    format!("VM {} has emulated NICs", g.vmid),
                    slow.join(", "),
                    "Use the VirtIO NIC model (keep the MAC address) once the guest has the \
                     VirtIO drivers.",
                )
                .confidence(Confidence::Medium),
            );
        }
        Ok(out)
    }
}

/// A snapshot carrying the guest's RAM.
fn has_vmstate(s: &BTreeMap<String, String>) -> bool {
    s.get("vmstate")
        .is_some_and(|v| !v.trim().is_empty() && v.trim() != "0")
}

/// O09: snapshots with RAM state.
pub struct O09;

impl Rule for O09 {
    fn id(&self) -> &'static str {
        "O09"
    }
    fn area(&self) -> Area {
        Area::Optimisation
    }
    fn title(&self) -> &'static str {
        "Snapshot with RAM"
    }
    fn check(&self, snap: &ClusterSnapshot, _ctx: &Ctx) -> Outcome {
        let mut out = Vec::new();
        for (g, snaps) in guest_snapshots(snap)? {
            for (name, s) in snaps.into_iter().filter(|(_, s)| has_vmstate(s)) {
                let cmd = if g.kind == "qemu" { "qm" } else { "pct" };
                out.push(
                    finding(
                        self,
                        Severity::Warning,
                        format!("snapshot/{}/{name}", g.vmid),
                        format!("Snapshot {name} of {} includes RAM", g.vmid),
                        format!("vmstate {}", s.get("vmstate").map_or("", String::as_str)),
                        "Delete the snapshot when it is no longer needed, or retake it without \
                         RAM: the state volume uses space and blocks storage migration.",
                    )
                    .fix(format!("{cmd} delsnapshot {} {name}", g.vmid)),
                );
            }
        }
        Ok(out)
    }
}

/// O10: too many snapshots on one guest.
pub struct O10;

impl Rule for O10 {
    fn id(&self) -> &'static str {
        "O10"
    }
    fn area(&self) -> Area {
        Area::Optimisation
    }
    fn title(&self) -> &'static str {
        "Snapshot sprawl"
    }
    fn check(&self, snap: &ClusterSnapshot, ctx: &Ctx) -> Outcome {
        let warn = ctx.threshold("O10.warn", 10.0);
        let mut out = Vec::new();
        for (g, snaps) in guest_snapshots(snap)? {
            let n = snaps.len();
            if n as f64 > warn {
                out.push(finding(
                    self,
                    Severity::Warning,
                    guest_object(g),
                    format!("{} has {n} snapshots", g.vmid),
                    format!("{n} snapshots (warn > {warn})"),
                    "Delete snapshots that are no longer needed: long chains slow disk IO and \
                     hold space.",
                ));
            }
        }
        Ok(out)
    }
}

/// O18: a VirtIO NIC whose explicit MTU differs from its bridge's.
pub struct O18;

impl Rule for O18 {
    fn id(&self) -> &'static str {
        "O18"
    }
    fn area(&self) -> Area {
        Area::Optimisation
    }
    fn title(&self) -> &'static str {
        "NIC MTU differs from the bridge"
    }
    fn check(&self, snap: &ClusterSnapshot, _ctx: &Ctx) -> Outcome {
        let mut out = Vec::new();
        let mut why = None;
        for (g, c) in guest_configs(snap)? {
            if g.kind != "qemu" {
                continue;
            }
            for (key, v) in nics(c).filter(|(_, v)| nic_model(v) == "virtio") {
                let opts = prop_string(v, "model");
                let get = |k: &str| opts.iter().find(|(o, _)| *o == k).map(|(_, v)| *v);
                let Some(mtu) = get("mtu").and_then(|m| m.parse::<f64>().ok()) else {
                    continue;
                };
                // mtu=1 means "take the bridge's".
                if mtu == 1.0 {
                    continue;
                }
                let Some(bridge) = get("bridge") else {
                    continue;
                };
                let net = match snap.nodes.get(&g.node).map(|n| &n.network) {
                    Some(Ok(net)) => net,
                    Some(Err(e)) => {
                        why.get_or_insert_with(|| e.clone());
                        continue;
                    }
                    None => continue,
                };
                let Some(iface) = net.iter().find(|i| str_of(i, "iface") == Some(bridge)) else {
                    continue;
                };
                let bridge_mtu = num(iface, "mtu").unwrap_or(1500.0);
                if mtu != bridge_mtu {
                    let path = format!("{}/config", guest_path(g));
                    let fixed: Vec<String> = opts
                        .iter()
                        .filter(|(k, _)| *k != "mtu")
                        .map(|(k, v)| format!("{k}={v}"))
                        .collect();
                    let fixed = format!("{},mtu=1", fixed.join(","));
                    out.push(
                        finding(
                            self,
                            Severity::Notice,
                            guest_object(g),
                            format!(
                                "VM {} {key}: MTU {mtu:.0} on a {bridge_mtu:.0} bridge",
                                g.vmid
                            ),
                            format!(
                                "{key} mtu {mtu:.0}, bridge {bridge} on {} mtu {bridge_mtu:.0}",
                                g.node
                            ),
                            "Set the NIC MTU to the bridge's (mtu=1 inherits it); a different \
                             value is forced or breaks the link.",
                        )
                        .fix(format!("pvesh set {path} --{key} {fixed}"))
                        .api("PUT", &path, json!({ key.as_str(): fixed })),
                    );
                }
            }
        }
        match why {
            Some(why) if out.is_empty() && snap.nodes.values().all(|n| n.network.is_err()) => {
                Err(Skip(why))
            }
            _ => Ok(out),
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::super::fixtures::{DAY, NOW, cfg, check, config_of, denied, healthy, skipped};
    use super::*;

    fn no_configs() -> ClusterSnapshot {
        let mut s = healthy();
        for g in s.guests.values_mut() {
            g.config = Err(denied("/nodes/x/qemu/1/config"));
        }
        s
    }

    fn no_snapshots() -> ClusterSnapshot {
        let mut s = healthy();
        for g in s.guests.values_mut() {
            g.snapshots = Err(denied("/nodes/x/qemu/1/snapshot"));
        }
        s
    }

    #[test]
    fn o04_ballooning() {
        let mut s = healthy();
        check(&O04a, &s, &[]);
        check(&O04b, &s, &[]);
        config_of(&mut s, 101).insert("balloon".into(), "0".into());
        config_of(&mut s, 102).insert("balloon".into(), "4096".into());
        check(&O04a, &s, &[("qemu/101", Severity::Info)]);
        check(&O04b, &s, &[("qemu/102", Severity::Info)]);
        config_of(&mut s, 102).insert("balloon".into(), "1024".into());
        check(&O04b, &s, &[]);
        skipped(&O04a, &no_configs());
        skipped(&O04b, &no_configs());
    }

    #[test]
    fn o05_virtio() {
        let mut s = healthy();
        for r in [&O05a as &dyn Rule, &O05b, &O05c] {
            check(r, &s, &[]);
            skipped(r, &no_configs());
        }
        config_of(&mut s, 101).remove("scsihw");
        let c = config_of(&mut s, 102);
        c.insert("sata0".into(), "local-lvm:vm-102-disk-1,size=8G".into());
        c.insert("net1".into(), "e1000=BC:24:11:00:00:99,bridge=vmbr0".into());
        check(&O05a, &s, &[("qemu/101", Severity::Info)]);
        check(&O05b, &s, &[("qemu/102", Severity::Info)]);
        check(&O05c, &s, &[("qemu/102", Severity::Info)]);
        // A CD-ROM on IDE is not a disk.
        let mut s = healthy();
        config_of(&mut s, 101).insert("ide0".into(), "local:iso/x.iso,media=cdrom".into());
        check(&O05b, &s, &[]);
    }

    #[test]
    fn o09_o10_snapshots() {
        let mut s = healthy();
        check(&O09, &s, &[]);
        check(&O10, &s, &[]);
        let snaps = s.guests.get_mut(&102).unwrap().snapshots.as_mut().unwrap();
        snaps.insert(
            "with-ram".into(),
            cfg(&[
                ("snaptime", &(NOW - DAY).to_string()),
                ("vmstate", "local-lvm:vm-102-state-with-ram"),
            ]),
        );
        for i in 0..10 {
            snaps.insert(format!("s{i}"), cfg(&[("snaptime", &NOW.to_string())]));
        }
        snaps.insert("current".into(), cfg(&[("parent", "s9")]));
        check(&O09, &s, &[("snapshot/102/with-ram", Severity::Warning)]);
        check(&O10, &s, &[("qemu/102", Severity::Warning)]);
        skipped(&O09, &no_snapshots());
        skipped(&O10, &no_snapshots());
    }

    #[test]
    fn o18_mtu() {
        let mut s = healthy();
        check(&O18, &s, &[]);
        config_of(&mut s, 101).insert(
            "net1".into(),
            "virtio=BC:24:11:00:00:77,bridge=vmbr1,mtu=1500".into(),
        );
        config_of(&mut s, 102).insert(
            "net1".into(),
            "virtio=BC:24:11:00:00:78,bridge=vmbr1,mtu=9000".into(),
        );
        check(&O18, &s, &[("qemu/101", Severity::Notice)]);
        s.nodes.get_mut("pve1").unwrap().network.as_mut().unwrap()[2]["mtu"] = json!(1500);
        check(&O18, &s, &[]);
        skipped(&O18, &no_configs());
        let mut s = healthy();
        config_of(&mut s, 101).insert("net1".into(), "virtio=AA,bridge=vmbr1,mtu=1500".into());
        for n in s.nodes.values_mut() {
            n.network = Err(denied("/nodes/x/network"));
        }
        skipped(&O18, &s);
    }
}
