//! Read-only programs for services and logs: `systemctl` and `service` status, `journalctl`
//! and `dmesg`.

use super::{HV, Inner, NONE, Operands, Opts, Parsed, Reader, parse, verb};
use crate::policy::command::walk::Arg;

pub(in crate::policy::command) static READERS: &[Reader] = &[
    Reader {
        names: &["systemctl"],
        what: "shows services and units",
        opts: Opts {
            flags: "harlq",
            valued: "tpPno",
            long: &[
                "help",
                "version",
                "system",
                "user",
                "all",
                "recursive",
                "reverse",
                "after",
                "before",
                "with-dependencies",
                "full",
                "value",
                "show-types",
                "failed",
                "quiet",
                "no-legend",
                "no-pager",
                "no-ask-password",
                "plain",
            ],
            long_valued: &[
                "type",
                "state",
                "property",
                "lines",
                "output",
                "timestamp",
                "legend",
            ],
            long_optional: &["json"],
            ..NONE
        },
        operands: Operands::Custom(systemctl),
    },
    Reader {
        // `service NAME status` only (it hands over to `systemctl status`).
        names: &["service"],
        what: "shows a service's status",
        opts: Opts {
            long: HV,
            own_parser: true,
            ..NONE
        },
        operands: Operands::Custom(service),
    },
    Reader {
        names: &["journalctl"],
        what: "shows the journal",
        opts: NONE,
        operands: Operands::Raw(journalctl),
    },
    Reader {
        // No `-C`/`-c` (clear), `-D`/`-E` (console off/on) or `-n` (console level).
        names: &["dmesg"],
        what: "shows the kernel log",
        opts: Opts {
            flags: "HJkPprSuwWxdeTthV",
            valued: "Ffls",
            optional: "L",
            long: &[
                "human",
                "json",
                "kernel",
                "nopager",
                "force-prefix",
                "raw",
                "noescape",
                "syslog",
                "userspace",
                "follow",
                "follow-new",
                "decode",
                "show-delta",
                "reltime",
                "ctime",
                "notime",
                "help",
                "version",
            ],
            long_valued: &[
                "file",
                "facility",
                "level",
                "buffer-size",
                "time-format",
                "since",
                "until",
            ],
            long_optional: &["color"],
            ..NONE
        },
        operands: Operands::NoneAllowed,
    },
];

/// `systemctl`: the showing verbs only (`status`, `show`, `cat`, `is-*`, `list-*`,
/// `get-default`).
fn systemctl(p: &Parsed, _: &[Arg]) -> Inner {
    const ANY: usize = usize::MAX;
    verb(
        "systemctl",
        p,
        &[
            ("", 0),
            ("status", ANY),
            ("show", ANY),
            ("cat", ANY),
            ("help", ANY),
            ("is-active", ANY),
            ("is-enabled", ANY),
            ("is-failed", ANY),
            ("is-system-running", 0),
            ("list-units", ANY),
            ("list-unit-files", ANY),
            ("list-sockets", ANY),
            ("list-timers", ANY),
            ("list-jobs", ANY),
            ("list-dependencies", ANY),
            ("list-automounts", ANY),
            ("list-paths", ANY),
            ("list-machines", ANY),
            ("get-default", 0),
        ],
    )?;
    Ok(None)
}

/// `service NAME status`.
fn service(p: &Parsed, _: &[Arg]) -> Inner {
    match p.exact()?.as_slice() {
        [_, "status"] | [] => Ok(None),
        _ => Err("`service` other than `status` starts, stops or changes a service".into()),
    }
}

/// `journalctl`: no vacuuming, rotating, flushing, syncing, relinquishing, key setup, catalog
/// update, cursor file, other roots or images. `-b`/`--boot` and `-n`/`--lines` take their
/// value from the next word only when it looks like one, as journalctl does.
fn journalctl(args: &[Arg]) -> Inner {
    const OPTS: Opts = Opts {
        flags: "mkrxaflqeNh",
        valued: "DSUcbutpgonFT",
        long: &[
            "system",
            "user",
            "merge",
            "dmesg",
            "reverse",
            "show-cursor",
            "utc",
            "catalog",
            "no-hostname",
            "no-full",
            "full",
            "all",
            "follow",
            "no-tail",
            "quiet",
            "no-pager",
            "pager-end",
            "help",
            "version",
            "fields",
            "list-boots",
            "disk-usage",
            "verify",
            "header",
            "list-catalog",
            "dump-catalog",
            "list-namespaces",
        ],
        long_valued: &[
            "directory",
            "file",
            "namespace",
            "since",
            "until",
            "cursor",
            "after-cursor",
            "unit",
            "user-unit",
            "identifier",
            "exclude-identifier",
            "priority",
            "facility",
            "grep",
            "output",
            "output-fields",
            "field",
            "lines",
            "boot",
        ],
        long_optional: &["case-sensitive"],
        ..NONE
    };
    let mut out: Vec<Arg> = Vec::with_capacity(args.len());
    let mut k = 0;
    while k < args.len() {
        let a = &args[k];
        let t = a.text.as_str();
        k += 1;
        let next = args.get(k).filter(|a| !a.glob).map(|a| a.text.as_str());
        // The part of a bundle before `b`/`n`, and the option itself as `--boot`/`--lines`.
        let (before, long, value) = match t {
            "--boot" => ("", "boot", None),
            "--lines" => ("", "lines", None),
            _ if t.starts_with('-') && !t.starts_with("--") && t.len() > 1 => {
                let body = &t[1..];
                let Some(j) = body
                    .char_indices()
                    .find(|&(_, c)| "DSUcbutpgonFT".contains(c))
                    .map(|(j, _)| j)
                    .filter(|&j| matches!(&body[j..j + 1], "b" | "n"))
                else {
                    out.push(a.clone());
                    continue;
                };
                let long = if &body[j..j + 1] == "b" {
                    "boot"
                } else {
                    "lines"
                };
                let rest = &body[j + 1..];
                (&body[..j], long, (!rest.is_empty()).then_some(rest))
            }
            _ => {
                out.push(a.clone());
                continue;
            }
        };
        let value = match value {
            Some(v) => v,
            None => match next {
                Some(n) if (long == "boot" && boot_id(n)) || (long == "lines" && lines(n)) => {
                    k += 1;
                    n
                }
                _ => "",
            },
        };
        if !before.is_empty() {
            out.push(Arg::literal(&format!("-{before}")));
        }
        out.push(Arg::literal(&format!("--{long}={value}")));
    }
    parse(&out, &OPTS)?;
    Ok(None)
}

/// A boot descriptor `journalctl -b` takes: an offset (`-1`, `0`, `+2`), or a 32-digit id
/// with an optional offset.
fn boot_id(s: &str) -> bool {
    let (id, off) = if s.len() >= 32 && s[..32].chars().all(|c| c.is_ascii_hexdigit()) {
        (true, &s[32..])
    } else {
        (false, s)
    };
    let digits = off.strip_prefix(['+', '-']).unwrap_or(off);
    (id && off.is_empty()) || (!digits.is_empty() && digits.chars().all(|c| c.is_ascii_digit()))
}

/// A line count `journalctl -n` takes: `N`, `+N` or `all`.
fn lines(s: &str) -> bool {
    let d = s.strip_prefix('+').unwrap_or(s);
    s == "all" || (!d.is_empty() && d.chars().all(|c| c.is_ascii_digit()))
}
