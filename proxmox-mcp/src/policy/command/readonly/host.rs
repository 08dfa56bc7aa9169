//! Read-only programs for the host's identity and settings: `uname`, `hostname`, the locale, the
//! clock (`date`, `timedatectl`), the `systemd` settings tools, the runlevel and manual pages.

use super::{Inner, NONE, Operands, Opts, Parsed, Reader, verb};
use crate::policy::command::walk::Arg;

pub(in crate::policy::command) static READERS: &[Reader] = &[
    Reader {
        names: &["uname"],
        what: "shows system information",
        opts: Opts {
            flags: "asnrvmpio",
            long: &[
                "all",
                "kernel-name",
                "nodename",
                "kernel-release",
                "kernel-version",
                "machine",
                "processor",
                "hardware-platform",
                "operating-system",
                "help",
                "version",
            ],
            ..NONE
        },
        operands: Operands::NoneAllowed,
    },
    Reader {
        names: &["nproc"],
        what: "shows the number of processors",
        opts: Opts {
            long: &["all", "help", "version"],
            long_valued: &["ignore"],
            ..NONE
        },
        operands: Operands::NoneAllowed,
    },
    Reader {
        names: &["locale"],
        what: "shows locale settings",
        opts: Opts {
            flags: "amckvV",
            long: &[
                "all-locales",
                "charmaps",
                "category-name",
                "keyword-name",
                "verbose",
                "help",
                "usage",
                "version",
            ],
            ..NONE
        },
        operands: Operands::Any,
    },
    Reader {
        names: &["getconf"],
        what: "shows system configuration values",
        opts: Opts {
            flags: "a",
            valued: "v",
            own_parser: true,
            ..NONE
        },
        operands: Operands::Any,
    },
    Reader {
        names: &["printenv"],
        what: "prints the environment",
        opts: Opts {
            flags: "0",
            long: &["null", "help", "version"],
            ..NONE
        },
        operands: Operands::Any,
    },
    Reader {
        names: &["date"],
        what: "shows the date and time",
        opts: Opts {
            flags: "Ru",
            valued: "dfr",
            optional: "I",
            long: &[
                "debug",
                "rfc-email",
                "utc",
                "universal",
                "resolution",
                "help",
                "version",
            ],
            long_valued: &["date", "file", "reference"],
            long_optional: &["iso-8601", "rfc-3339"],
            ..NONE
        },
        operands: Operands::Custom(date_format),
    },
    Reader {
        names: &["cal", "ncal"],
        what: "shows a calendar",
        opts: Opts {
            flags: "31jybhJpwSMeoC",
            valued: "ABdmHsW",
            ..NONE
        },
        operands: Operands::Any,
    },
    Reader {
        // No operand: `hostname NAME` sets it; no `-F`/`--file` or `-b` either.
        names: &["hostname"],
        what: "shows the host name",
        opts: Opts {
            flags: "aAdfiIsy",
            long: &[
                "alias",
                "all-fqdns",
                "domain",
                "fqdn",
                "long",
                "ip-address",
                "all-ip-addresses",
                "short",
                "yp",
                "nis",
                "help",
                "version",
            ],
            ..NONE
        },
        operands: Operands::NoneAllowed,
    },
    Reader {
        names: &["hostnamectl"],
        what: "shows the host name settings",
        opts: Opts {
            long: &[
                "help",
                "version",
                "no-ask-password",
                "static",
                "transient",
                "pretty",
            ],
            long_optional: &["json"],
            ..NONE
        },
        operands: Operands::Custom(hostnamectl),
    },
    Reader {
        names: &["timedatectl"],
        what: "shows time settings",
        opts: Opts {
            flags: "ah",
            valued: "p",
            long: &[
                "help",
                "version",
                "no-pager",
                "no-ask-password",
                "monitor",
                "all",
                "value",
            ],
            long_valued: &["property"],
            ..NONE
        },
        operands: Operands::Custom(timedatectl),
    },
    Reader {
        names: &["localectl"],
        what: "shows locale and keyboard settings",
        opts: Opts {
            flags: "h",
            long: &[
                "help",
                "version",
                "no-pager",
                "no-ask-password",
                "no-convert",
            ],
            ..NONE
        },
        operands: Operands::Custom(localectl),
    },
    Reader {
        names: &["loginctl"],
        what: "shows login sessions",
        opts: Opts {
            flags: "hal",
            valued: "pPno",
            long: &[
                "help",
                "version",
                "no-pager",
                "no-legend",
                "no-ask-password",
                "all",
                "value",
                "full",
            ],
            long_valued: &["property", "lines", "output"],
            long_optional: &["json"],
            ..NONE
        },
        operands: Operands::Custom(loginctl),
    },
    Reader {
        names: &["runlevel"],
        what: "shows the run level",
        opts: Opts {
            long: &["help"],
            ..NONE
        },
        operands: Operands::NoneAllowed,
    },
    Reader {
        // No `-P`/`--pager`, `-H`/`--html`, `-X`, `-T`, `-l` (a local file), `-M`, `-u`.
        names: &["man"],
        what: "shows a manual page",
        opts: Opts {
            flags: "kfawiI",
            valued: "sS",
            long: &[
                "apropos",
                "whatis",
                "all",
                "where",
                "path",
                "location",
                "regex",
                "wildcard",
                "names-only",
                "ignore-case",
                "match-case",
                "help",
                "version",
            ],
            long_valued: &["sections"],
            ..NONE
        },
        operands: Operands::Custom(man),
    },
];

/// `date` operands: only a `+FORMAT` (anything else sets the clock).
fn date_format(p: &Parsed, _: &[Arg]) -> Inner {
    match p.exact()?.as_slice() {
        [] => Ok(None),
        [f] if f.starts_with('+') => Ok(None),
        _ => Err("`date` with a time operand sets the clock".into()),
    }
}

fn hostnamectl(p: &Parsed, _: &[Arg]) -> Inner {
    verb(
        "hostnamectl",
        p,
        &[
            ("", 0),
            ("status", 0),
            ("hostname", 0),
            ("icon-name", 0),
            ("chassis", 0),
            ("deployment", 0),
            ("location", 0),
            ("help", 0),
        ],
    )?;
    Ok(None)
}

fn timedatectl(p: &Parsed, _: &[Arg]) -> Inner {
    verb(
        "timedatectl",
        p,
        &[
            ("", 0),
            ("status", 0),
            ("show", 0),
            ("list-timezones", 0),
            ("timesync-status", 0),
            ("show-timesync", 0),
            ("help", 0),
        ],
    )?;
    Ok(None)
}

fn localectl(p: &Parsed, _: &[Arg]) -> Inner {
    verb(
        "localectl",
        p,
        &[
            ("", 0),
            ("status", 0),
            ("list-locales", 0),
            ("list-keymaps", 0),
            ("list-x11-keymap-models", 0),
            ("list-x11-keymap-layouts", 0),
            ("list-x11-keymap-variants", 1),
            ("list-x11-keymap-options", 0),
            ("help", 0),
        ],
    )?;
    Ok(None)
}

fn loginctl(p: &Parsed, _: &[Arg]) -> Inner {
    const ANY: usize = usize::MAX;
    verb(
        "loginctl",
        p,
        &[
            ("", 0),
            ("list-sessions", 0),
            ("session-status", ANY),
            ("show-session", ANY),
            ("list-users", 0),
            ("user-status", ANY),
            ("show-user", ANY),
            ("list-seats", 0),
            ("seat-status", ANY),
            ("show-seat", ANY),
            ("help", 0),
        ],
    )?;
    Ok(None)
}

/// `man [SECTION] PAGE…`: names only; a name with a `/` is a local file to format.
fn man(p: &Parsed, _: &[Arg]) -> Inner {
    match p.texts().iter().find(|t| t.contains('/')) {
        Some(t) => Err(format!("`man {t}` formats a local file")),
        None => Ok(None),
    }
}
