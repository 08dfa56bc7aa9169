//! Pure: the machine version rules V20a–V20c (old, unpinned Windows, pinned to an old release).

use super::{Kinds, guest_rule, opt, per_guest};
use crate::diagnostics::rules::{Confidence, Severity};

/// The version of a pinned machine type (`pc-q35-5.2`, `pc-i440fx-8.1+pve0`, `type=pc-q35-9.2`);
/// `None` when unpinned (`q35`, `pc`, unset).
pub(super) fn machine_version(machine: &str) -> Option<f64> {
    let ty = opt(machine, "type", "type")?;
    let rest = ty
        .strip_prefix("pc-q35-")
        .or_else(|| ty.strip_prefix("pc-i440fx-"))
        .or_else(|| ty.strip_prefix("pc-"))?;
    let ver = rest.split('+').next()?;
    let mut parts = ver.split('.');
    let major: f64 = parts.next()?.parse().ok()?;
    let minor: f64 = parts.next().unwrap_or("0").parse().ok()?;
    Some(major + minor / 100.0)
}

guest_rule!(
    V20a,
    "V20a",
    "Machine version too old for the next major release",
    |snap, ctx| {
        let min = ctx.threshold("V20a.min", 6.0);
        per_guest(snap, Kinds::Qemu, |g| {
            let mut old = vec![];
            for key in ["machine", "runningmachine"] {
                if let Some(m) = g
                    .key(key)
                    .filter(|m| machine_version(m).is_some_and(|v| v < min))
                {
                    old.push(format!("{key} = {m}"));
                }
            }
            if let Ok(snaps) = &g.g.snapshots {
                for (name, sec) in snaps {
                    for key in ["machine", "runningmachine"] {
                        if let Some(m) = sec
                            .get(key)
                            .filter(|m| machine_version(m).is_some_and(|v| v < min))
                        {
                            old.push(format!("snapshot {name}: {key} = {m}"));
                        }
                    }
                }
            }
            if old.is_empty() {
                return Ok(vec![]);
            }
            Ok(vec![g.finding(
            "V20a",
            Severity::Warning,
            format!("{}: machine version older than {min:.1}", g.label()),
            format!("{} (versions < {min:.1} go away with the next major release)", old.join("; ")),
            "Pin a current machine version (test the guest: device names may change) and remove snapshots or saved states that depend on the old one.",
        )])
        })
    }
);

guest_rule!(
    V20b,
    "V20b",
    "Windows guest with an unpinned machine version",
    |snap, _ctx| {
        per_guest(snap, Kinds::Qemu, |g| {
            if !g.windows() || g.key("machine").and_then(machine_version).is_some() {
                return Ok(vec![]);
            }
            let mut f = g.finding(
            "V20b",
            Severity::Info,
            format!("{}: Windows guest follows the newest machine version", g.label()),
            format!("ostype = {}, machine = {}", g.ostype().unwrap_or_default(), g.key("machine").unwrap_or("unset")),
            "Pin the machine version Windows runs on now, so a QEMU update does not change its virtual hardware (new NICs, lost IP settings).",
        );
            f.confidence = Confidence::Medium;
            Ok(vec![g.fix_text(
            f,
            format!(
                "qm status {} --verbose | grep running-machine; pvesh set {} --machine <that version>",
                g.g.vmid,
                g.config_path()
            ),
        )])
        })
    }
);

guest_rule!(
    V20c,
    "V20c",
    "Machine version pinned to an old release",
    |snap, ctx| {
        let (min, upto) = (
            ctx.threshold("V20a.min", 6.0),
            ctx.threshold("V20c.min", 8.0),
        );
        per_guest(snap, Kinds::Qemu, |g| {
            let Some((m, v)) = g
                .key("machine")
                .and_then(|m| machine_version(m).map(|v| (m, v)))
                .filter(|(_, v)| *v >= min && *v < upto)
            else {
                return Ok(vec![]);
            };
            let mut f = g.finding(
            "V20c",
            Severity::Info,
            format!("{}: machine pinned to {v:.2}", g.label()),
            format!("machine = {m} (older than {upto:.1}; newer versions bring fixes and features)"),
            "Plan to move the pin to a current machine version at a maintenance window (Windows may see new devices).",
        );
            f.confidence = Confidence::Low;
            Ok(vec![f])
        })
    }
);

#[cfg(test)]
mod tests {
    use super::super::fixtures::{baseline, check, guest_mut, no_configs, skips, with};
    use super::*;
    use crate::diagnostics::rules::Rule;
    use Severity::*;

    const NONE: &[(&str, Severity)] = &[];

    #[test]
    fn missing_configs_skip() {
        let rules: &[&dyn Rule] = &[&V20a, &V20b, &V20c];
        for r in rules {
            skips(*r, &no_configs(baseline()), "403");
            check(*r, &baseline(), NONE);
        }
    }

    #[test]
    fn v20_machine() {
        assert_eq!(machine_version("pc-q35-5.2"), Some(5.02));
        assert_eq!(machine_version("pc-i440fx-8.1+pve0"), Some(8.01));
        assert_eq!(machine_version("type=pc-q35-9.2,viommu=intel"), Some(9.02));
        assert_eq!(machine_version("q35"), None);
        check(
            &V20a,
            &with(baseline(), 101, &[("machine", Some("pc-q35-5.2"))]),
            &[("qemu/101", Warning)],
        );
        let mut snap = baseline();
        guest_mut(&mut snap, 102)
            .snapshots
            .as_mut()
            .unwrap()
            .insert(
                "old".into(),
                [(
                    "runningmachine".to_string(),
                    "pc-i440fx-4.2+pve0".to_string(),
                )]
                .into(),
            );
        check(&V20a, &snap, &[("qemu/102", Warning)]);
        check(
            &V20a,
            &with(baseline(), 101, &[("machine", Some("pc-q35-6.0"))]),
            NONE,
        );
        check(
            &V20b,
            &with(baseline(), 102, &[("machine", Some("q35"))]),
            &[("qemu/102", Info)],
        );
        check(
            &V20b,
            &with(baseline(), 101, &[("machine", Some("q35"))]),
            NONE,
        );
        check(
            &V20c,
            &with(baseline(), 102, &[("machine", Some("pc-q35-7.2"))]),
            &[("qemu/102", Info)],
        );
        // Below 6.0 is V20a's warning, not also V20c's note.
        check(
            &V20c,
            &with(baseline(), 102, &[("machine", Some("pc-q35-5.2"))]),
            NONE,
        );
        check(
            &V20c,
            &with(baseline(), 102, &[("machine", Some("pc-q35-8.0"))]),
            NONE,
        );
    }
}
