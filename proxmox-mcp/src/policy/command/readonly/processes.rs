//! Read-only programs for processes and load: `ps`, `top`, `pgrep`, `lsof`, `fuser`, and the
//! memory, I/O and CPU statistics (`free`, `vmstat`, `iostat`, `sar`).

use super::{Inner, NONE, Operands, Opts, Parsed, Reader};
use crate::policy::command::walk::Arg;

pub(in crate::policy::command) static READERS: &[Reader] = &[
    Reader {
        names: &["uptime"],
        what: "shows uptime and load",
        opts: Opts {
            flags: "phsV",
            long: &["pretty", "since", "help", "version"],
            ..NONE
        },
        operands: Operands::NoneAllowed,
    },
    Reader {
        names: &["free"],
        what: "shows memory usage",
        opts: Opts {
            flags: "bkmghltvwV",
            valued: "sc",
            long: &[
                "bytes",
                "kilo",
                "mega",
                "giga",
                "tera",
                "peta",
                "kibi",
                "mebi",
                "gibi",
                "tebi",
                "pebi",
                "human",
                "wide",
                "si",
                "lohi",
                "total",
                "committed",
                "help",
                "version",
            ],
            long_valued: &["seconds", "count"],
            ..NONE
        },
        operands: Operands::NoneAllowed,
    },
    Reader {
        names: &["vmstat"],
        what: "shows virtual memory statistics",
        opts: Opts {
            flags: "afmnsdDwtyhV",
            valued: "pSc",
            long: &[
                "active",
                "forks",
                "slabs",
                "one-header",
                "stats",
                "disk",
                "disk-sum",
                "wide",
                "timestamp",
                "no-first",
                "help",
                "version",
            ],
            long_valued: &["partition", "unit"],
            ..NONE
        },
        operands: Operands::Any,
    },
    Reader {
        // sysstat reads its option values as words (`-p ALL`, `-u ALL`): they land as
        // operands here, which is harmless. No `+f`/`-f` directory for `iostat` beyond
        // reading, no `-o` (sar writes its data file). sysstat parses its own arguments.
        names: &["iostat"],
        what: "shows I/O statistics",
        opts: Opts {
            flags: "cdhkmNstVxyzHgpj",
            long: &["compact", "human", "pretty", "help"],
            long_optional: &["dec"],
            valued: "o",
            own_parser: true,
            ..NONE
        },
        operands: Operands::Any,
    },
    Reader {
        names: &["mpstat"],
        what: "shows processor statistics",
        opts: Opts {
            flags: "AnTuVIPN",
            valued: "o",
            long_optional: &["dec"],
            own_parser: true,
            ..NONE
        },
        operands: Operands::Any,
    },
    Reader {
        // `-e` runs a program and is handled as a wrapper before this table is asked.
        names: &["pidstat"],
        what: "shows per-process statistics",
        opts: Opts {
            flags: "dHhIlRrstUuVvwCGpT",
            long: &["human"],
            long_optional: &["dec"],
            own_parser: true,
            ..NONE
        },
        operands: Operands::Any,
    },
    Reader {
        // `-f [FILE]`, `-s [TIME]` and `-e [TIME]` take the next word only when it looks like
        // their value: here they take none, and such a word is a (harmless) operand.
        names: &["sar"],
        what: "shows collected system activity",
        opts: Opts {
            flags: "ABbdFHhIjmnPqrSuvWwyzpt",
            valued: "i",
            optional: "fse",
            long: &["human", "pretty", "help"],
            long_optional: &["dec", "fs", "iface"],
            own_parser: true,
            ..NONE
        },
        operands: Operands::Any,
    },
    Reader {
        names: &["numastat"],
        what: "shows NUMA statistics",
        opts: Opts {
            flags: "cmnvVz",
            valued: "p",
            ..NONE
        },
        operands: Operands::Any,
    },
    Reader {
        // Anything else runs a command under a NUMA policy (handled as a wrapper).
        names: &["numactl"],
        what: "shows the NUMA layout or policy",
        opts: Opts {
            flags: "Hs",
            long: &["hardware", "show"],
            ..NONE
        },
        operands: Operands::NoneAllowed,
    },
    Reader {
        names: &["ps"],
        what: "lists processes",
        opts: NONE,
        operands: Operands::Raw(ps),
    },
    Reader {
        names: &["pstree"],
        what: "shows the process tree",
        opts: Opts {
            flags: "aAcgGhlnpsStTuUVZ",
            valued: "CHN",
            long: &[
                "arguments",
                "ascii",
                "compact-not",
                "show-pgids",
                "vt100",
                "highlight-all",
                "long",
                "numeric-sort",
                "show-pids",
                "show-parents",
                "ns-changes",
                "thread-names",
                "hide-threads",
                "uid-changes",
                "unicode",
                "version",
                "security-context",
            ],
            long_valued: &["color", "highlight-pid", "ns-sort"],
            ..NONE
        },
        operands: Operands::Any,
    },
    Reader {
        names: &["pgrep"],
        what: "finds processes",
        opts: Opts {
            flags: "lavwcfinoxAhV",
            valued: "dgGOPstuUFr",
            long: &[
                "list-name",
                "list-full",
                "inverse",
                "lightweight",
                "count",
                "full",
                "ignore-case",
                "newest",
                "oldest",
                "exact",
                "logpidfile",
                "ignore-ancestors",
                "help",
                "version",
            ],
            long_valued: &[
                "delimiter",
                "pgroup",
                "group",
                "older",
                "parent",
                "session",
                "terminal",
                "euid",
                "uid",
                "pidfile",
                "runstates",
                "cgroup",
                "ns",
                "nslist",
            ],
            ..NONE
        },
        operands: Operands::Any,
    },
    Reader {
        names: &["pidof"],
        what: "finds process ids",
        opts: Opts {
            flags: "scqwxmtzhV",
            valued: "oSd",
            long: &["lightweight", "help", "version"],
            long_valued: &["omit-pid", "separator"],
            ..NONE
        },
        operands: Operands::Any,
    },
    Reader {
        names: &["top"],
        what: "shows processes once or repeatedly (batch mode)",
        opts: Opts {
            flags: "bcHiOSs1",
            valued: "dnuUpoEe",
            long: &[
                "batch-mode",
                "cmdline-toggle",
                "threads-show",
                "idle-toggle",
                "list-fields",
                "secure-mode",
                "single-cpu-toggle",
                "accum-time-toggle",
                "help",
                "version",
            ],
            long_valued: &[
                "delay",
                "iterations",
                "pid",
                "sort-override",
                "filter-any-user",
                "filter-only-euser",
                "scale-summary-mem",
                "scale-task-mem",
            ],
            own_parser: true,
            ..NONE
        },
        operands: Operands::Custom(batch),
    },
    Reader {
        names: &["iotop"],
        what: "shows I/O per process (batch mode)",
        opts: Opts {
            flags: "obPaktqhV",
            valued: "ndpu",
            long: &[
                "only",
                "batch",
                "processes",
                "accumulated",
                "kilobytes",
                "time",
                "quiet",
                "help",
                "version",
            ],
            long_valued: &["iter", "delay", "pid", "user"],
            ..NONE
        },
        operands: Operands::Custom(batch),
    },
    Reader {
        names: &["lsof"],
        what: "lists open files",
        opts: NONE,
        operands: Operands::Raw(lsof),
    },
    Reader {
        // No `-k` (kill) and no `-i` (asks before killing).
        names: &["fuser"],
        what: "shows which processes use files",
        opts: Opts {
            flags: "amMsuvV46l",
            valued: "n",
            long: &[
                "all",
                "mount",
                "ismountpoint",
                "silent",
                "user",
                "verbose",
                "version",
                "ipv4",
                "ipv6",
                "list-signals",
            ],
            long_valued: &["namespace"],
            own_parser: true,
            ..NONE
        },
        operands: Operands::Any,
    },
];

/// `top` and `iotop` only in batch mode, which prints and exits (or keeps printing).
fn batch(p: &Parsed, _: &[Arg]) -> Inner {
    if !p.any(&["b", "batch-mode", "batch"]) {
        return Err("interactive `top`/`iotop` take keystrokes that can kill or renice".into());
    }
    if !p.operands.is_empty() {
        return Err("`top`/`iotop` take no operands".into());
    }
    Ok(None)
}

/// `ps`: UNIX (`-ef`), BSD (`aux`) and GNU (`--sort`) options. Anything goes but BSD `e`,
/// which prints every process's environment (secrets).
fn ps(args: &[Arg]) -> Inner {
    const LONG: &[&str] = &[
        "forest",
        "headers",
        "no-headers",
        "cumulative",
        "deselect",
        "help",
        "info",
        "version",
    ];
    const LONG_VALUED: &[&str] = &[
        "cols",
        "columns",
        "width",
        "rows",
        "lines",
        "format",
        "sort",
        "pid",
        "ppid",
        "user",
        "User",
        "group",
        "Group",
        "sid",
        "tty",
        "quick-pid",
    ];
    let mut k = 0;
    while k < args.len() {
        let a = &args[k];
        let t = a.text.as_str();
        k += 1;
        if let Some(long) = t.strip_prefix("--") {
            let name = long.split_once('=').map_or(long, |(n, _)| n);
            if LONG.contains(&name) && !long.contains('=') {
                continue;
            }
            if LONG_VALUED.contains(&name) {
                if !long.contains('=') {
                    k += 1;
                }
                continue;
            }
            return Err(format!("`ps --{name}` is not known to be read-only"));
        }
        let (unix, body) = match t.strip_prefix('-') {
            Some(b) => (true, b),
            None => (false, t),
        };
        if !unix && body.chars().all(|c| c.is_ascii_digit() || c == ',') {
            continue; // a process id list
        }
        let (flags, valued) = if unix {
            ("AacdefFHjlLMmNTVwxyZ", "CgGoOpqstuUkn")
        } else {
            ("acfghjlmnrsSTuvwxXZLV", "OopqtUk")
        };
        for (j, c) in body.char_indices() {
            if valued.contains(c) {
                if j + c.len_utf8() == body.len() {
                    k += 1;
                }
                break;
            }
            if !flags.contains(c) {
                let how = if !unix && c == 'e' {
                    "prints every process's environment"
                } else {
                    "is not known to be read-only"
                };
                return Err(format!("`ps {t}` {how}"));
            }
        }
    }
    if k > args.len() {
        return Err("a `ps` option needs a value".into());
    }
    Ok(None)
}

/// `lsof`: its own option syntax (`-i :22`, `+D DIR`, `-iTCP`). Refuses `-D` (device cache
/// file), `+m`/`-m` (mount supplement file), `-k` and `-K`, and unknown `+` options.
fn lsof(args: &[Arg]) -> Inner {
    const FLAGS: &str = "abChlnNOPRtUvVwXx";
    const VALUED: &str = "AcdgiopsTuFrEZSe";
    for a in args {
        let t = a.text.as_str();
        if let Some(body) = t.strip_prefix('+') {
            if matches!(body, "D" | "d" | "L" | "c" | "r" | "w" | "f")
                || body.starts_with('c')
                || body.starts_with('r')
                || body.starts_with('L')
            {
                continue;
            }
            return Err(format!("`lsof {t}` is not known to be read-only"));
        }
        let Some(body) = t.strip_prefix('-') else {
            continue;
        };
        if body == "-" || body.is_empty() {
            continue;
        }
        for c in body.chars() {
            if VALUED.contains(c) {
                break;
            }
            if !FLAGS.contains(c) {
                return Err(format!("`lsof -{c}` is not known to be read-only"));
            }
        }
    }
    Ok(None)
}
