//! Pure: the container rules V25–V29 and the description size rule V30.

use super::{Guest, Kinds, guest_rule, opt, per_guest, raw_lxc, vm::replace_opt};
use crate::diagnostics::rules::util::pve_bool;
use crate::diagnostics::rules::{Confidence, Severity};

fn privileged(g: &Guest) -> bool {
    g.bool_key("unprivileged") != Some(true)
}

fn feature(g: &Guest, name: &str) -> bool {
    g.key("features")
        .and_then(|f| opt(f, "", name))
        .and_then(pve_bool)
        == Some(true)
}

/// A deprecated cgroup v1 key (`lxc.cgroup.devices.allow`), not `lxc.cgroup2.*`.
fn cgroup_v1(key: &str) -> bool {
    key.starts_with("lxc.cgroup.")
}

guest_rule!(V25, "V25", "Privileged container", |snap, _ctx| {
    per_guest(snap, Kinds::Lxc, |g| {
        if !privileged(g) {
            return Ok(vec![]);
        }
        let mut f = g.finding(
            "V25",
            Severity::Warning,
            format!("{}: privileged container", g.label()),
            format!("unprivileged = {}: root in the container is root on the host", g.key("unprivileged").unwrap_or("0 (unset)")),
            "Convert to an unprivileged container (backup, then restore with --unprivileged 1), unless it needs host access you have documented.",
        );
        f.confidence = Confidence::Medium;
        Ok(vec![g.fix_text(
            f,
            format!(
                "vzdump {id} --storage <backup-storage> --mode stop && pct restore {id} <archive> --unprivileged 1 --force",
                id = g.g.vmid
            ),
        )])
    })
});

guest_rule!(
    V26,
    "V26",
    "Privileged container without AppArmor",
    |snap, _ctx| {
        per_guest(snap, Kinds::Lxc, |g| {
            let unconfined = raw_lxc(g.cfg).into_iter().any(|(k, v)| {
                (k == "lxc.apparmor.profile" || k == "lxc.aa_profile") && v.trim() == "unconfined"
            });
            if !privileged(g) || !unconfined {
                return Ok(vec![]);
            }
            let f = g.finding(
            "V26",
            Severity::Critical,
            format!("{}: privileged and AppArmor unconfined", g.label()),
            "unprivileged = 0 and lxc.apparmor.profile = unconfined: nothing stands between the container and the host".into(),
            "Remove the unconfined AppArmor profile and make the container unprivileged.",
        );
            Ok(vec![g.fix_text(
            f,
            format!("sed -i '/^lxc.apparmor.profile/d' /etc/pve/lxc/{}.conf   # on any node, then restart the container", g.g.vmid),
        )])
        })
    }
);

guest_rule!(V27, "V27", "Nesting without keyctl", |snap, _ctx| {
    per_guest(snap, Kinds::Lxc, |g| {
        if privileged(g) || !feature(g, "nesting") || feature(g, "keyctl") {
            return Ok(vec![]);
        }
        let features = g.key("features").unwrap_or_default();
        let f = g.finding(
            "V27",
            Severity::Warning,
            format!("{}: nesting without keyctl", g.label()),
            format!("features = {features}: systemd and Docker inside the container need keyctl"),
            "Enable keyctl alongside nesting in this unprivileged container.",
        );
        Ok(vec![g.set(
            f,
            &[("features", &replace_opt(features, "keyctl", "1"))],
        )])
    })
});

guest_rule!(
    V28a,
    "V28a",
    "Raw lxc.* configuration entries",
    |snap, _ctx| {
        per_guest(snap, Kinds::Lxc, |g| {
            let raw: Vec<String> = raw_lxc(g.cfg)
                .into_iter()
                .filter(|(k, _)| !cgroup_v1(k))
                .map(|(k, v)| format!("{k} = {v}"))
                .collect();
            if raw.is_empty() {
                return Ok(vec![]);
            }
            let mut f = g.finding(
            "V28a",
            Severity::Warning,
            format!("{}: {} raw lxc.* entr{}", g.label(), raw.len(), if raw.len() == 1 { "y" } else { "ies" }),
            raw.join("; "),
            "Review the raw LXC keys: they bypass PVE's checks, are not migrated by tools and often break on upgrades; use PVE options (devN, mpN, features) where possible.",
        );
            f.confidence = Confidence::Medium;
            Ok(vec![g.fix_text(
                f,
                format!("edit /etc/pve/lxc/{}.conf", g.g.vmid),
            )])
        })
    }
);

guest_rule!(
    V28b,
    "V28b",
    "Deprecated lxc.cgroup.* entries",
    |snap, _ctx| {
        per_guest(snap, Kinds::Lxc, |g| {
            let old: Vec<String> = raw_lxc(g.cfg)
                .into_iter()
                .filter(|(k, _)| cgroup_v1(k))
                .map(|(k, v)| format!("{k} = {v}"))
                .collect();
            if old.is_empty() {
                return Ok(vec![]);
            }
            let f = g.finding(
            "V28b",
            Severity::Warning,
            format!("{}: cgroup v1 keys ignored on a cgroup v2 host", g.label()),
            old.join("; "),
            "Rename lxc.cgroup.* to lxc.cgroup2.* (PVE 9 supports only cgroup v2), or use devN passthrough.",
        );
            Ok(vec![g.fix_text(
                f,
                format!(
                    "sed -i 's/^lxc.cgroup\\./lxc.cgroup2./' /etc/pve/lxc/{}.conf",
                    g.g.vmid
                ),
            )])
        })
    }
);

guest_rule!(
    V29a,
    "V29a",
    "Container without a memory limit",
    |snap, _ctx| {
        per_guest(snap, Kinds::Lxc, |g| {
            if g.key("memory").map(str::trim) != Some("0") {
                return Ok(vec![]);
            }
            let f = g.finding(
                "V29a",
                Severity::Warning,
                format!("{}: no memory limit", g.label()),
                "memory = 0".into(),
                "Give the container a memory limit so it cannot starve the host.",
            );
            Ok(vec![g.set(f, &[("memory", "512")])])
        })
    }
);

guest_rule!(V29b, "V29b", "Container without swap", |snap, _ctx| {
    per_guest(snap, Kinds::Lxc, |g| {
        if g.key("swap").map(str::trim) != Some("0") {
            return Ok(vec![]);
        }
        let mut f = g.finding(
            "V29b",
            Severity::Info,
            format!("{}: no swap", g.label()),
            format!(
                "swap = 0, memory = {} MiB: a short peak triggers the OOM killer",
                g.key("memory").unwrap_or("512")
            ),
            "Allow some swap (e.g. equal to memory) unless the workload must never swap.",
        );
        f.confidence = Confidence::Low;
        Ok(vec![
            g.set(f, &[("swap", g.key("memory").unwrap_or("512"))]),
        ])
    })
});

guest_rule!(
    V29c,
    "V29c",
    "Container without a hostname",
    |snap, _ctx| {
        per_guest(snap, Kinds::Lxc, |g| {
            if g.key("hostname").is_some_and(|h| !h.trim().is_empty()) {
                return Ok(vec![]);
            }
            let f = g.finding(
                "V29c",
                Severity::Info,
                format!("{}: no hostname", g.label()),
                "hostname unset (the container is named CT<id>)".into(),
                "Set a hostname so the container is recognisable in the tree and on the network.",
            );
            let name = format!("ct{}", g.g.vmid);
            Ok(vec![g.set(f, &[("hostname", &name)])])
        })
    }
);

guest_rule!(V30, "V30", "Description too long", |snap, ctx| {
    let max = ctx.threshold("V30.bytes", 8192.0);
    per_guest(snap, Kinds::Both, |g| {
        let len = g.key("description").map_or(0, str::len);
        if (len as f64) <= max {
            return Ok(vec![]);
        }
        Ok(vec![g.finding(
            "V30",
            Severity::Warning,
            format!("{}: description of {} KiB", g.label(), len / 1024),
            format!("description {len} bytes (> {max:.0}): the config file limit is near and every read carries it"),
            "Move long notes to a wiki or a file and keep a short description with a link.",
        )])
    })
});

#[cfg(test)]
mod tests {
    use super::super::fixtures::{baseline, check, no_configs, skips, with};
    use super::*;
    use crate::diagnostics::rules::Rule;
    use Severity::*;

    const NONE: &[(&str, Severity)] = &[];

    #[test]
    fn missing_configs_skip() {
        let rules: &[&dyn Rule] = &[&V25, &V26, &V27, &V28a, &V28b, &V29a, &V29b, &V29c, &V30];
        for r in rules {
            skips(*r, &no_configs(baseline()), "403");
            check(*r, &baseline(), NONE);
        }
    }

    #[test]
    fn v25_v26_privilege() {
        check(
            &V25,
            &with(baseline(), 201, &[("unprivileged", None)]),
            &[("lxc/201", Warning)],
        );
        let unconfined = r#"[["lxc.apparmor.profile","unconfined"]]"#;
        check(
            &V26,
            &with(
                baseline(),
                201,
                &[("unprivileged", Some("0")), ("lxc", Some(unconfined))],
            ),
            &[("lxc/201", Critical)],
        );
        check(
            &V26,
            &with(baseline(), 201, &[("lxc", Some(unconfined))]),
            NONE,
        );
    }

    #[test]
    fn v27_v28_features_and_raw_keys() {
        let snap = with(baseline(), 201, &[("features", Some("nesting=1"))]);
        check(&V27, &snap, &[("lxc/201", Warning)]);
        let f = &super::super::super::guests::fixtures::run(&V27, &snap).unwrap()[0];
        assert_eq!(
            f.fix.as_deref(),
            Some("pvesh set /nodes/pve2/lxc/201/config --features nesting=1,keyctl=1")
        );
        check(
            &V27,
            &with(
                baseline(),
                201,
                &[("features", Some("nesting=1")), ("unprivileged", Some("0"))],
            ),
            NONE,
        );
        let raw = r#"[["lxc.cgroup.devices.allow","c 10:200 rwm"],["lxc.mount.entry","/dev/net dev/net none bind,create=dir"]]"#;
        let snap = with(baseline(), 201, &[("lxc", Some(raw))]);
        check(&V28a, &snap, &[("lxc/201", Warning)]);
        check(&V28b, &snap, &[("lxc/201", Warning)]);
        let v2 = with(
            baseline(),
            201,
            &[(
                "lxc",
                Some(r#"[["lxc.cgroup2.devices.allow","c 10:200 rwm"]]"#),
            )],
        );
        check(&V28b, &v2, NONE);
    }

    #[test]
    fn v29_v30() {
        check(
            &V29a,
            &with(baseline(), 201, &[("memory", Some("0"))]),
            &[("lxc/201", Warning)],
        );
        check(
            &V29b,
            &with(baseline(), 201, &[("swap", Some("0"))]),
            &[("lxc/201", Info)],
        );
        check(
            &V29c,
            &with(baseline(), 201, &[("hostname", None)]),
            &[("lxc/201", Info)],
        );
        let long = "x".repeat(9000);
        check(
            &V30,
            &with(baseline(), 101, &[("description", Some(&long))]),
            &[("qemu/101", Warning)],
        );
        check(
            &V30,
            &with(baseline(), 101, &[("description", Some("short"))]),
            NONE,
        );
    }
}
