//! Services: `systemctl` and `service`, by verb and by unit: power targets, the services the
//! node cannot do without.

use super::{Verdict, v};
use crate::policy::Class::{Destructive, Exec, Lifecycle, Modify, Read};
use crate::policy::api::critical_service;
use crate::policy::command::paths::glob_match;

/// Units that reboot, halt or isolate the node when started.
const POWER_TARGETS: &[&str] = &[
    "reboot.target",
    "poweroff.target",
    "halt.target",
    "kexec.target",
    "shutdown.target",
    "rescue.target",
    "emergency.target",
    "ctrl-alt-del.target",
    "soft-reboot.target",
    "sleep.target",
    "suspend.target",
    "hibernate.target",
];

/// `systemctl` options that take a separate value.
const SYSTEMCTL_VALUE_OPTS: &[&str] = &[
    "-t",
    "--type",
    "-p",
    "--property",
    "-s",
    "--signal",
    "--kill-whom",
    "--kill-value",
    "-n",
    "--lines",
    "-o",
    "--output",
    "-H",
    "--host",
    "-M",
    "--machine",
    "--root",
    "--image",
    "--state",
    "--job-mode",
    "--what",
    "--timestamp",
    "--message",
    "--drop-in",
    "--when",
    "--preset-mode",
    "--boot-loader-entry",
    "--boot-loader-menu",
    "--reboot-argument",
    "--check-inhibitors",
];

/// The verb and the units of a `systemctl` or `service`-style command line.
fn verb_and_units<'a>(args: &'a [String], value_opts: &[&str]) -> (&'a str, Vec<&'a str>) {
    let mut words = Vec::new();
    let mut k = 0;
    while k < args.len() {
        let a = args[k].as_str();
        if value_opts.contains(&a) {
            k += 2;
            continue;
        }
        if !a.starts_with('-') {
            words.push(a);
        }
        k += 1;
    }
    let verb = words.first().copied().unwrap_or("");
    (verb, words.into_iter().skip(1).collect())
}

/// A unit (or a unit pattern, which systemd matches against loaded units) that may be one of
/// the services the node cannot do without, or a target (stopping one stops what it pulls in).
fn critical_unit(unit: &str) -> bool {
    if unit.ends_with(".target") {
        return true;
    }
    if critical_service(unit) {
        return true;
    }
    unit.contains(['*', '?', '['])
        && crate::policy::api::CRITICAL_SERVICES.iter().any(|s| {
            glob_match(unit, s)
                || glob_match(unit, &format!("{s}.service"))
                || glob_match(unit, &format!("{s}.socket"))
        })
}

/// Units that reboot, power off or halt the node when started, besides [`POWER_TARGETS`].
fn power_unit(unit: &str) -> bool {
    let unit = unit.trim_end_matches('/');
    POWER_TARGETS.contains(&unit)
        || [
            "systemd-reboot",
            "systemd-poweroff",
            "systemd-halt",
            "systemd-kexec",
            "systemd-soft-reboot",
            "systemd-suspend",
            "systemd-hibernate",
        ]
        .iter()
        .any(|p| unit.starts_with(p))
}

pub(super) fn systemctl(args: &[String]) -> Verdict {
    let (verb, units) = verb_and_units(args, SYSTEMCTL_VALUE_OPTS);
    let starts = matches!(
        verb,
        "start"
            | "restart"
            | "reload-or-restart"
            | "try-restart"
            | "try-reload-or-restart"
            | "isolate"
            | "set-default"
    );
    if starts && units.iter().any(|u| power_unit(u)) {
        return v(Destructive, "reboots, halts or isolates the node");
    }
    let critical: Vec<&str> = units.iter().copied().filter(|u| critical_unit(u)).collect();
    match verb {
        "" | "status" | "is-active" | "is-enabled" | "is-failed" | "is-system-running"
        | "list-units" | "list-unit-files" | "list-timers" | "list-sockets"
        | "list-dependencies" | "list-jobs" | "list-machines" | "list-automounts"
        | "list-paths" | "show" | "cat" | "get-default" | "help" | "show-environment" => {
            v(Read, "shows service state")
        }
        "stop"
        | "restart"
        | "try-restart"
        | "reload-or-restart"
        | "try-reload-or-restart"
        | "kill"
        | "freeze"
        | "clean"
            if !critical.is_empty() =>
        {
            v(
                Destructive,
                &format!(
                    "stops, kills or restarts {}, which the node needs to stay reachable, \
                     in the cluster or protected (a restart that fails leaves it stopped)",
                    critical.join(", ")
                ),
            )
        }
        "disable" if !critical.is_empty() => v(
            Destructive,
            &format!(
                "disables {}, which the node needs to stay reachable or in the cluster",
                critical.join(", ")
            ),
        ),
        "mask" => v(
            Destructive,
            "masks units, so nothing can start them (not even what depends on them)",
        ),
        "start"
        | "stop"
        | "restart"
        | "reload"
        | "try-restart"
        | "reload-or-restart"
        | "try-reload-or-restart"
        | "kill"
        | "reset-failed"
        | "freeze"
        | "thaw" => v(Lifecycle, "starts, stops or restarts services"),
        "enable" | "reenable" | "link" | "edit" | "preset" | "preset-all" | "set-property"
        | "add-wants" | "add-requires" | "revert" | "set-environment" | "import-environment" => v(
            Exec,
            "changes what systemd runs, now or at a later boot (persistence)",
        ),
        "reboot"
        | "poweroff"
        | "halt"
        | "kexec"
        | "isolate"
        | "rescue"
        | "emergency"
        | "suspend"
        | "hibernate"
        | "hybrid-sleep"
        | "suspend-then-hibernate"
        | "soft-reboot"
        | "default"
        | "switch-root"
        | "exit" => v(Destructive, "reboots, halts or isolates the node"),
        "set-default"
            if units
                .iter()
                .any(|u| !matches!(*u, "multi-user.target" | "graphical.target")) =>
        {
            v(
                Destructive,
                "changes the boot target to one without the node's services",
            )
        }
        _ => v(Modify, "changes unit configuration"),
    }
}

/// `service NAME VERB`: as `systemctl VERB NAME`.
pub(super) fn service(args: &[String]) -> Verdict {
    let name = args.first().map(String::as_str).unwrap_or("");
    match args.get(1).map(String::as_str).unwrap_or("") {
        "status" | "" => v(Read, "shows a service's status"),
        "stop" | "restart" | "force-reload" | "try-restart" if critical_unit(name) => v(
            Destructive,
            &format!(
                "stops or restarts {name}, which the node needs to stay reachable, in the \
                 cluster or protected (a restart that fails leaves it stopped)"
            ),
        ),
        "start" | "stop" | "restart" | "reload" | "force-reload" | "try-restart" => {
            v(Lifecycle, "starts, stops or restarts a service")
        }
        _ => v(Modify, "changes a service"),
    }
}
