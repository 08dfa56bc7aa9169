//! Pure: the guest configuration rules V01–V08 (agent, OS type, media, CPU model, Windows).

use super::{Guest, Kinds, guest_rule, opt, per_guest};
use crate::diagnostics::rules::{Confidence, Severity, Skip};

/// `value` with option `key` set to `new` (added when missing).
pub(super) fn replace_opt(value: &str, key: &str, new: &str) -> String {
    let mut seen = false;
    let mut parts: Vec<String> = value
        .split(',')
        .filter(|p| !p.is_empty())
        .map(|p| match p.split_once('=') {
            Some((k, _)) if k == key => {
                seen = true;
                format!("{key}={new}")
            }
            _ => p.to_string(),
        })
        .collect();
    if !seen {
        parts.push(format!("{key}={new}"));
    }
    parts.join(",")
}

fn agent_on(g: &Guest) -> bool {
    g.key("agent")
        .and_then(|a| opt(a, "enabled", "enabled"))
        .and_then(crate::diagnostics::rules::util::pve_bool)
        == Some(true)
}

guest_rule!(
    V01,
    "V01",
    "QEMU guest agent not configured",
    |snap, _ctx| {
        per_guest(snap, Kinds::Qemu, |g| {
            if g.template() || agent_on(g) {
                return Ok(vec![]);
            }
            let f = g.finding(
            "V01",
            Severity::Warning,
            format!("{}: QEMU guest agent not enabled", g.label()),
            format!("agent = {}", g.key("agent").unwrap_or("unset")),
            "Install qemu-guest-agent in the guest and enable the agent option (clean shutdown, fs-freeze for consistent backups, IP reporting).",
        );
            Ok(vec![g.set(f, &[("agent", "1")])])
        })
    }
);

guest_rule!(
    V02,
    "V02",
    "Guest agent enabled but not answering",
    |snap, ctx| {
        if !ctx.config.guest_agent {
            return Err(Skip(
                "guest agent checks are off (diagnostics.guest_agent)".into(),
            ));
        }
        let out = per_guest(snap, Kinds::Qemu, |g| {
            if !g.running() || !agent_on(g) {
                return Ok(vec![]);
            }
            let Some(ping) = &g.g.agent_ping else {
                return Ok(vec![]);
            };
            let why = match ping {
                Ok(()) => {
                    return Ok(vec![]);
                }
                Err(why) if why.contains("403") || why.contains("ermission") => return Ok(vec![]),
                Err(why) => why,
            };
            let f = g.finding(
            "V02",
            Severity::Warning,
            format!("{}: guest agent enabled but not answering", g.label()),
            format!("agent ping: {why}"),
            "Install and start qemu-guest-agent inside the guest (systemctl enable --now qemu-guest-agent), or disable the agent option.",
        );
            Ok(vec![g.fix_text(
                f,
                format!(
                    "qm guest cmd {} ping   # on {}, after starting the agent in the guest",
                    g.g.vmid, g.g.node
                ),
            )])
        })?;
        // Guests that needed a ping: when none of them was pinged, the check did not run.
        let (needed, tried) = snap
            .guests
            .values()
            .filter(|g| g.kind == "qemu")
            .filter_map(|g| g.config.as_ref().ok().map(|cfg| Guest { g, cfg }))
            .filter(|g| g.running() && agent_on(g))
            .fold((0, 0), |(n, t), g| {
                (n + 1, t + usize::from(g.g.agent_ping.is_some()))
            });
        if needed > 0 && tried == 0 {
            return Err(Skip(
                "guest agent checks are off (diagnostics.guest_agent)".into(),
            ));
        }
        Ok(out)
    }
);

guest_rule!(
    V03,
    "V03",
    "Template with the guest agent enabled",
    |snap, _ctx| {
        per_guest(snap, Kinds::Qemu, |g| {
            if !g.template() || !agent_on(g) {
                return Ok(vec![]);
            }
            let mut f = g.finding(
            "V03",
            Severity::Warning,
            format!("{}: template has the guest agent enabled", g.label()),
            format!("template = 1, agent = {}", g.key("agent").unwrap_or_default()),
            "Make sure the template image has qemu-guest-agent installed, or disable the agent option so clones do not wait for an agent that is not there.",
        );
            f.confidence = Confidence::Medium;
            Ok(vec![f])
        })
    }
);

const EOL_OSTYPES: &[&str] = &[
    "wxp", "w2k", "w2k3", "w2k8", "wvista", "win7", "win8", "l24",
];

guest_rule!(V04a, "V04a", "OS type not set", |snap, _ctx| {
    per_guest(snap, Kinds::Qemu, |g| {
        if g.ostype().is_some() {
            return Ok(vec![]);
        }
        let f = g.finding(
            "V04a",
            Severity::Warning,
            format!("{}: OS type not set", g.label()),
            "ostype unset (defaults to other: no OS-specific tuning)".into(),
            "Set the OS type to the installed system (l26 for Linux, win11 for Windows 11/2022/2025) so PVE applies the right defaults.",
        );
        Ok(vec![g.set(f, &[("ostype", "l26")])])
    })
});

guest_rule!(V04b, "V04b", "End-of-life guest OS type", |snap, _ctx| {
    per_guest(snap, Kinds::Qemu, |g| {
        let Some(os) = g.ostype().filter(|o| EOL_OSTYPES.contains(o)) else {
            return Ok(vec![]);
        };
        Ok(vec![g.finding(
            "V04b",
            Severity::Warning,
            format!("{}: guest OS type {os} is end of life", g.label()),
            format!("ostype = {os} (no security updates from the vendor)"),
            "Plan an upgrade or replacement of the guest OS; isolate it on the network meanwhile.",
        )])
    })
});

guest_rule!(V05, "V05", "ISO left in a CD-ROM drive", |snap, _ctx| {
    per_guest(snap, Kinds::Qemu, |g| {
        let hits = g
            .drives()
            .into_iter()
            .filter(|(_, value)| {
                let file = opt(value, "file", "file").unwrap_or_default();
                opt(value, "file", "media") == Some("cdrom")
                    && !matches!(file, "none" | "cdrom")
                    && !file.contains("cloudinit")
            })
            .map(|(k, v)| (k, v, "none,media=cdrom".to_string()))
            .collect();
        Ok(g.drives_finding(
            "V05",
            Severity::Warning,
            "holds an ISO",
            "",
            "Eject the ISO: a mounted image on local storage blocks migration and HA recovery.",
            hits,
        ))
    })
});

fn cputype<'a>(g: &Guest<'a>) -> Option<&'a str> {
    g.key("cpu").and_then(|c| opt(c, "cputype", "cputype"))
}

guest_rule!(
    V06,
    "V06",
    "CPU type host blocks live migration",
    |snap, _ctx| {
        per_guest(snap, Kinds::Qemu, |g| {
            if cputype(g) != Some("host") {
                return Ok(vec![]);
            }
            let ha = g.ha_managed(snap)?;
            let (severity, extra) = if ha {
                (
                    Severity::Critical,
                    "; HA-managed: recovery on a node with another CPU can fail",
                )
            } else {
                (Severity::Warning, "")
            };
            let f = g.finding(
            "V06",
            severity,
            format!("{}: cpu type host", g.label()),
            format!("cpu = {}{extra}", g.key("cpu").unwrap_or_default()),
            "Use a generic model (x86-64-v2-AES or the highest level all nodes support) so the guest can migrate between nodes.",
        );
            Ok(vec![g.set(f, &[("cpu", "x86-64-v2-AES")])])
        })
    }
);

const OLD_MODELS: &[&str] = &[
    "kvm64", "qemu64", "kvm32", "qemu32", "486", "pentium", "pentium2", "pentium3", "coreduo",
    "core2duo", "athlon", "phenom", "Conroe", "Penryn",
];

guest_rule!(V07a, "V07a", "Outdated CPU model", |snap, _ctx| {
    per_guest(snap, Kinds::Qemu, |g| {
        let model = match cputype(g) {
            None => "kvm64 (cpu unset)",
            Some(m) if OLD_MODELS.contains(&m) => m,
            Some(_) => return Ok(vec![]),
        };
        let f = g.finding(
            "V07a",
            Severity::Info,
            format!("{}: outdated CPU model {}", g.label(), model.split(' ').next().unwrap_or(model)),
            format!("cpu = {model}: no AES-NI, SSE4, POPCNT; modern distributions need x86-64-v2"),
            "Switch to x86-64-v2-AES (or a higher level every node supports); takes effect after a cold restart.",
        );
        Ok(vec![g.set(f, &[("cpu", "x86-64-v2-AES")])])
    })
});

/// Named models without the CPU-vulnerability mitigation flags by default, and the flag they need.
const NEEDS_FLAG: &[(&str, &str)] = &[
    ("Nehalem", "+spec-ctrl"),
    ("Westmere", "+spec-ctrl"),
    ("SandyBridge", "+spec-ctrl"),
    ("IvyBridge", "+spec-ctrl"),
    ("Haswell", "+spec-ctrl"),
    ("Haswell-noTSX", "+spec-ctrl"),
    ("Broadwell", "+spec-ctrl"),
    ("Broadwell-noTSX", "+spec-ctrl"),
    ("Skylake-Client", "+spec-ctrl"),
    ("Skylake-Server", "+spec-ctrl"),
    ("EPYC", "+ibpb"),
];

guest_rule!(
    V07b,
    "V07b",
    "CPU model without mitigation flags",
    |snap, _ctx| {
        per_guest(snap, Kinds::Qemu, |g| {
            let Some(model) = cputype(g) else {
                return Ok(vec![]);
            };
            let Some((_, need)) = NEEDS_FLAG.iter().find(|(m, _)| *m == model) else {
                return Ok(vec![]);
            };
            let flags = g
                .key("cpu")
                .and_then(|c| opt(c, "cputype", "flags"))
                .unwrap_or("");
            if flags.split(';').any(|f| f == *need) {
                return Ok(vec![]);
            }
            let cpu = g.key("cpu").unwrap_or_default();
            let new_flags = if flags.is_empty() {
                need.to_string()
            } else {
                format!("{flags};{need}")
            };
            let f = g.finding(
            "V07b",
            Severity::Warning,
            format!("{}: CPU model {model} without {need}", g.label()),
            format!("cpu = {cpu}: Spectre/MDS mitigations not passed to the guest"),
            "Add the mitigation flag (or use the -IBRS/-IBPB variant of the model) so the guest can protect itself.",
        );
            Ok(vec![g.set(
                f,
                &[("cpu", &replace_opt(cpu, "flags", &new_flags))],
            )])
        })
    }
);

guest_rule!(
    V08a,
    "V08a",
    "CPU hotplug on a Windows guest",
    |snap, _ctx| {
        per_guest(snap, Kinds::Qemu, |g| {
            let hotplug = g.key("hotplug").unwrap_or("network,disk,usb");
            if !g.windows() || !hotplug.split(',').any(|h| h == "cpu" || h == "1") {
                return Ok(vec![]);
            }
            let f = g.finding(
            "V08a",
            Severity::Warning,
            format!("{}: CPU hotplug enabled on Windows", g.label()),
            format!("ostype = {}, hotplug = {hotplug}", g.ostype().unwrap_or_default()),
            "Disable CPU hotplug on Windows guests: it is unreliable there and can hang or crash the guest.",
        );
            Ok(vec![g.set(f, &[("hotplug", "network,disk,usb")])])
        })
    }
);

guest_rule!(
    V08b,
    "V08b",
    "Windows 11 without OVMF or TPM",
    |snap, _ctx| {
        per_guest(snap, Kinds::Qemu, |g| {
            if g.ostype() != Some("win11") || g.template() {
                return Ok(vec![]);
            }
            let ovmf = g.key("bios") == Some("ovmf");
            let tpm = g.key("tpmstate0").is_some();
            if ovmf && tpm {
                return Ok(vec![]);
            }
            let mut missing = vec![];
            if !ovmf {
                missing.push("bios ovmf (UEFI, Secure Boot)");
            }
            if !tpm {
                missing.push("tpmstate0 (TPM 2.0)");
            }
            let f = g.finding(
            "V08b",
            Severity::Warning,
            format!("{}: Windows 11 without {}", g.label(), missing.join(" and ")),
            format!("ostype = win11, bios = {}, tpmstate0 = {}", g.key("bios").unwrap_or("seabios"), if tpm { "set" } else { "missing" }),
            "Windows 11 needs UEFI with Secure Boot and a TPM 2.0: add a v2.0 TPM state volume and use OVMF with an EFI disk (switching firmware needs a reinstall or an MBR-to-GPT conversion).",
        );
            // The win11 OS type also covers Windows Server 2022/2025, which boot without them.
            let mut f = f;
            f.confidence = Confidence::Medium;
            Ok(vec![g.fix_text(
                f,
                format!(
                    "pvesh set {} --tpmstate0 <storage>:1,version=v2.0{}",
                    g.config_path(),
                    if ovmf {
                        ""
                    } else {
                        " --bios ovmf --efidisk0 <storage>:1,efitype=4m,pre-enrolled-keys=1"
                    }
                ),
            )])
        })
    }
);

#[cfg(test)]
mod tests {
    use super::super::fixtures::{baseline, check, no_configs, skips, with};
    use super::*;
    use crate::config::DiagnosticsConfig;
    use crate::diagnostics::rules::{Ctx, Rule};
    use Severity::*;

    const NONE: &[(&str, Severity)] = &[];

    /// Every rule here: skipped when no config is readable.
    #[test]
    fn missing_configs_skip() {
        let rules: &[&dyn Rule] = &[
            &V01, &V03, &V04a, &V04b, &V05, &V06, &V07a, &V07b, &V08a, &V08b,
        ];
        for r in rules {
            skips(*r, &no_configs(baseline()), "403");
            check(*r, &baseline(), NONE);
        }
        let mut snap = baseline();
        snap.resources = Err("GET /cluster/resources: 403".into());
        skips(&V01, &snap, "403");
    }

    #[test]
    fn v01_agent() {
        check(
            &V01,
            &with(baseline(), 101, &[("agent", None)]),
            &[("qemu/101", Warning)],
        );
        check(
            &V01,
            &with(baseline(), 103, &[("agent", Some("enabled=0"))]),
            &[("qemu/103", Warning)],
        );
        // A template without agent is not flagged.
        check(&V01, &with(baseline(), 900, &[("agent", None)]), NONE);
        let f = &super::super::fixtures::run(&V01, &with(baseline(), 101, &[("agent", None)]))
            .unwrap()[0];
        assert_eq!(
            f.fix.as_deref(),
            Some("pvesh set /nodes/pve1/qemu/101/config --agent 1")
        );
        assert_eq!(
            f.tool_call.as_ref().unwrap().arguments["params"]["agent"],
            "1"
        );
    }

    #[test]
    fn v02_agent_silent() {
        let on = DiagnosticsConfig {
            guest_agent: true,
            ..DiagnosticsConfig::default()
        };
        let run =
            |snap: &crate::diagnostics::snapshot::cluster::ClusterSnapshot,
             cfg: &DiagnosticsConfig| { V02.check(snap, &Ctx { config: cfg }) };
        assert!(run(&baseline(), &on).unwrap().is_empty());
        let mut snap = baseline();
        super::super::fixtures::guest_mut(&mut snap, 102).agent_ping =
            Some(Err("QEMU guest agent is not running".into()));
        let found = run(&snap, &on).unwrap();
        assert_eq!(found.len(), 1);
        assert_eq!(
            (found[0].object.as_str(), found[0].severity),
            ("qemu/102", Warning)
        );
        // Off in the config, or never tried: skipped with the reason.
        let off = DiagnosticsConfig::default();
        assert!(
            run(&snap, &off)
                .unwrap_err()
                .0
                .contains("diagnostics.guest_agent")
        );
        let mut snap = baseline();
        for g in snap.guests.values_mut() {
            g.agent_ping = None;
        }
        assert!(
            run(&snap, &on)
                .unwrap_err()
                .0
                .contains("diagnostics.guest_agent")
        );
        assert!(
            run(&no_configs(baseline()), &on)
                .unwrap_err()
                .0
                .contains("403")
        );
    }

    #[test]
    fn v03_to_v05() {
        check(
            &V03,
            &with(baseline(), 900, &[("agent", Some("1"))]),
            &[("qemu/900", Warning)],
        );
        check(
            &V04a,
            &with(baseline(), 103, &[("ostype", None)]),
            &[("qemu/103", Warning)],
        );
        check(
            &V04b,
            &with(baseline(), 102, &[("ostype", Some("win7"))]),
            &[("qemu/102", Warning)],
        );
        check(
            &V04b,
            &with(baseline(), 102, &[("ostype", Some("win10"))]),
            NONE,
        );
        check(
            &V05,
            &with(
                baseline(),
                101,
                &[("ide2", Some("local:iso/debian-12.iso,media=cdrom"))],
            ),
            &[("qemu/101", Warning)],
        );
        check(
            &V05,
            &with(
                baseline(),
                101,
                &[("ide0", Some("ceph-vm:vm-101-cloudinit,media=cdrom"))],
            ),
            NONE,
        );
    }

    #[test]
    fn v06_cpu_host() {
        check(
            &V06,
            &with(baseline(), 103, &[("cpu", Some("host"))]),
            &[("qemu/103", Warning)],
        );
        check(
            &V06,
            &with(baseline(), 101, &[("cpu", Some("host,flags=+aes"))]),
            &[("qemu/101", Critical)],
        );
        let mut snap = with(baseline(), 101, &[("cpu", Some("host"))]);
        snap.ha_resources = Err("GET /cluster/ha/resources: 403".into());
        skips(&V06, &snap, "ha/resources");
    }

    #[test]
    fn v07_cpu_models() {
        check(
            &V07a,
            &with(baseline(), 103, &[("cpu", Some("kvm64"))]),
            &[("qemu/103", Info)],
        );
        check(
            &V07a,
            &with(baseline(), 103, &[("cpu", None)]),
            &[("qemu/103", Info)],
        );
        check(
            &V07b,
            &with(baseline(), 103, &[("cpu", Some("Haswell"))]),
            &[("qemu/103", Warning)],
        );
        check(
            &V07b,
            &with(
                baseline(),
                103,
                &[("cpu", Some("Haswell,flags=+pcid;+spec-ctrl"))],
            ),
            NONE,
        );
        check(
            &V07b,
            &with(baseline(), 103, &[("cpu", Some("Haswell-IBRS"))]),
            NONE,
        );
        assert_eq!(
            replace_opt("Haswell,flags=+pcid", "flags", "+pcid;+spec-ctrl"),
            "Haswell,flags=+pcid;+spec-ctrl"
        );
    }

    #[test]
    fn v08_windows() {
        check(
            &V08a,
            &with(baseline(), 102, &[("hotplug", Some("network,disk,cpu"))]),
            &[("qemu/102", Warning)],
        );
        check(
            &V08a,
            &with(baseline(), 101, &[("hotplug", Some("network,disk,cpu"))]),
            NONE,
        );
        check(
            &V08b,
            &with(baseline(), 102, &[("tpmstate0", None)]),
            &[("qemu/102", Warning)],
        );
        check(
            &V08b,
            &with(baseline(), 102, &[("bios", None)]),
            &[("qemu/102", Warning)],
        );
    }
}
