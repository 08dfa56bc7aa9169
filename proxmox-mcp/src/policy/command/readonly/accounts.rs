//! Read-only programs for users, logins and accounts: who is who (`id`, `who`, `last`, `getent`),
//! scheduled jobs (`crontab -l`, `atq`) and the account checks (`passwd -S`, `chage -l`,
//! `visudo -c`, `pwck -r`).

use super::{HV, Inner, NONE, Operands, Opts, Parsed, Reader};
use crate::policy::command::walk::Arg;

pub(in crate::policy::command) static READERS: &[Reader] = &[
    Reader {
        names: &["arch", "whoami", "logname"],
        what: "shows system or user information",
        opts: Opts { long: HV, ..NONE },
        operands: Operands::NoneAllowed,
    },
    Reader {
        names: &["tty"],
        what: "shows the terminal",
        opts: Opts {
            flags: "s",
            long: &["silent", "quiet", "help", "version"],
            ..NONE
        },
        operands: Operands::NoneAllowed,
    },
    Reader {
        names: &["users", "groups"],
        what: "shows users or groups",
        opts: Opts { long: HV, ..NONE },
        operands: Operands::Any,
    },
    Reader {
        names: &["id"],
        what: "shows user and group ids",
        opts: Opts {
            flags: "agGnruzZ",
            long: &[
                "context", "group", "groups", "name", "real", "user", "zero", "help", "version",
            ],
            ..NONE
        },
        operands: Operands::Any,
    },
    Reader {
        names: &["who"],
        what: "shows who is logged in",
        opts: Opts {
            flags: "abdHlmpqrstTwu",
            long: &[
                "all", "boot", "dead", "heading", "ips", "login", "lookup", "process", "count",
                "runlevel", "short", "time", "mesg", "users", "message", "writable", "help",
                "version",
            ],
            ..NONE
        },
        operands: Operands::Any,
    },
    Reader {
        names: &["w"],
        what: "shows who is logged in and what they do",
        opts: Opts {
            flags: "husfoiV",
            long: &[
                "no-header",
                "no-current",
                "short",
                "from",
                "old-style",
                "ip-addr",
                "help",
                "version",
            ],
            ..NONE
        },
        operands: Operands::Any,
    },
    Reader {
        names: &["last", "lastb"],
        what: "shows past logins",
        opts: Opts {
            flags: "adFiRwxhV",
            valued: "fnstp",
            long: &[
                "hostlast",
                "dns",
                "fulltimes",
                "ip",
                "nohostname",
                "fullnames",
                "system",
                "help",
                "version",
            ],
            long_valued: &["file", "limit", "since", "until", "present", "time-format"],
            numeric: true,
            ..NONE
        },
        operands: Operands::Any,
    },
    Reader {
        // No `-C`/`--clear`, `-S`/`--set` (they write the log) and no `-R` (chroot).
        names: &["lastlog"],
        what: "shows last logins",
        opts: Opts {
            flags: "h",
            valued: "btu",
            long: &["help"],
            long_valued: &["before", "time", "user"],
            ..NONE
        },
        operands: Operands::NoneAllowed,
    },
    Reader {
        names: &["getent"],
        what: "looks up names in the system databases",
        opts: Opts {
            flags: "AiV",
            valued: "s",
            long: &["no-addrconfig", "no-idn", "help", "usage", "version"],
            long_valued: &["service"],
            ..NONE
        },
        operands: Operands::Custom(getent),
    },
    Reader {
        // `-l` only: `-e` edits, `-r` removes, and a file operand replaces the crontab.
        names: &["crontab"],
        what: "shows a crontab",
        opts: Opts {
            flags: "l",
            valued: "u",
            ..NONE
        },
        operands: Operands::Custom(crontab),
    },
    Reader {
        names: &["atq"],
        what: "lists pending jobs",
        opts: Opts {
            flags: "V",
            valued: "q",
            ..NONE
        },
        operands: Operands::NoneAllowed,
    },
    Reader {
        // Read-only mode (`-r`) on the system's own files: without it they offer to fix
        // entries, `-s` sorts them, and another file's bad lines would be printed whole.
        names: &["pwck", "grpck"],
        what: "checks the user and group databases",
        opts: Opts {
            flags: "qr",
            long: &["quiet", "read-only", "help"],
            ..NONE
        },
        operands: Operands::Custom(read_only_check),
    },
    Reader {
        names: &["passwd"],
        what: "shows a password's status",
        opts: Opts {
            flags: "Sa",
            long: &["status", "all"],
            ..NONE
        },
        operands: Operands::Custom(passwd),
    },
    Reader {
        names: &["chage"],
        what: "shows password ageing",
        opts: Opts {
            flags: "lih",
            long: &["list", "iso8601", "help"],
            ..NONE
        },
        operands: Operands::Custom(chage),
    },
    Reader {
        // `-c` checks; anything else opens an editor. No `-x` (exports to a file).
        names: &["visudo"],
        what: "checks the sudoers file",
        opts: Opts {
            flags: "cqshV",
            valued: "f",
            long: &["check", "quiet", "strict", "help", "version"],
            long_valued: &["file"],
            ..NONE
        },
        operands: Operands::Custom(visudo),
    },
];

/// `getent DATABASE KEY…`, but not the password hash databases.
fn getent(p: &Parsed, _: &[Arg]) -> Inner {
    let ops = p.exact()?;
    match ops.first() {
        Some(db) if db.contains("shadow") => Err(format!("`getent {db}` prints password hashes")),
        _ => Ok(None),
    }
}

/// `crontab [-u USER] -l`.
fn crontab(p: &Parsed, _: &[Arg]) -> Inner {
    if !p.has("l") {
        return Err("`crontab` without `-l` installs, edits or removes a crontab".into());
    }
    if !p.operands.is_empty() {
        return Err("`crontab` with a file installs it".into());
    }
    Ok(None)
}

/// `pwck -r` / `grpck -r`, with no file operand.
fn read_only_check(p: &Parsed, _: &[Arg]) -> Inner {
    if !p.any(&["r", "read-only", "help"]) {
        return Err("`pwck`/`grpck` without `-r` offer to change the databases".into());
    }
    if !p.operands.is_empty() {
        return Err("`pwck -r`/`grpck -r` check the system's own files only".into());
    }
    Ok(None)
}

/// `passwd -S [-a] [USER]`: only the status.
fn passwd(p: &Parsed, _: &[Arg]) -> Inner {
    if !p.any(&["S", "status"]) {
        return Err("`passwd` without `-S` changes a password".into());
    }
    if p.exact()?.len() > 1 {
        return Err("`passwd -S` takes one user".into());
    }
    Ok(None)
}

/// `chage -l USER`: only the listing.
fn chage(p: &Parsed, _: &[Arg]) -> Inner {
    if !p.any(&["l", "list", "h", "help"]) {
        return Err("`chage` without `-l` changes password ageing".into());
    }
    if p.exact()?.len() > 1 {
        return Err("`chage -l` takes one user".into());
    }
    Ok(None)
}

/// `visudo -c`: checks and exits; without it, visudo edits.
fn visudo(p: &Parsed, _: &[Arg]) -> Inner {
    if !p.any(&["c", "check", "h", "help", "V", "version"]) {
        return Err("`visudo` without `-c` edits the sudoers file".into());
    }
    if !p.operands.is_empty() {
        return Err("`visudo -c` takes no operand".into());
    }
    Ok(None)
}
