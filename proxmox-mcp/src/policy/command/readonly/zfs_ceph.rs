//! Read-only programs for ZFS (`zfs list`, `zpool status`, the ARC statistics) and Ceph (`ceph`,
//! `rbd`, `rados` status and listings).

use super::{Inner, NONE, Operands, Opts, Parsed, Reader, sub, sub0};
use crate::policy::command::walk::Arg;

/// `ceph` and `rados`: output format only; no other cluster, user or key.
const CEPH: Opts = Opts {
    flags: "s",
    valued: "f",
    long: &["help", "version"],
    long_valued: &["format", "connect-timeout"],
    ..NONE
};

const ZFS_LIST: Opts = Opts {
    flags: "Hpr",
    valued: "dostS",
    ..NONE
};

const ZPOOL_STATUS: Opts = Opts {
    flags: "DgLpPstvxei",
    valued: "T",
    long: &["power", "json"],
    ..NONE
};

const RBD: Opts = Opts {
    flags: "l",
    valued: "p",
    long: &["long", "pretty-format", "help"],
    long_valued: &["pool", "format", "image", "namespace"],
    ..NONE
};

pub(in crate::policy::command) static READERS: &[Reader] = &[
    Reader {
        names: &["zfs"],
        what: "shows ZFS datasets",
        opts: NONE,
        operands: Operands::Subs(&[
            sub(&["list"], ZFS_LIST),
            sub(&["get"], ZFS_LIST),
            sub0(&["version"], NONE),
            sub0(&["help"], NONE),
        ]),
    },
    Reader {
        // No `-c SCRIPT` for `status`/`iostat` (it runs scripts).
        names: &["zpool"],
        what: "shows ZFS pools",
        opts: NONE,
        operands: Operands::Subs(&[
            sub(
                &["list"],
                Opts {
                    flags: "gHLpPv",
                    valued: "oT",
                    ..NONE
                },
            ),
            sub(&["status"], ZPOOL_STATUS),
            sub(
                &["get"],
                Opts {
                    flags: "Hp",
                    valued: "o",
                    ..NONE
                },
            ),
            sub(
                &["iostat"],
                Opts {
                    flags: "gHLlpPqrvwyn",
                    valued: "T",
                    ..NONE
                },
            ),
            sub(
                &["history"],
                Opts {
                    flags: "il",
                    ..NONE
                },
            ),
            sub0(&["version"], NONE),
            sub0(&["help"], NONE),
        ]),
    },
    Reader {
        // No `-o FILE`.
        names: &["arcstat"],
        what: "shows ZFS ARC statistics",
        opts: Opts {
            flags: "axvpH",
            valued: "fs",
            ..NONE
        },
        operands: Operands::Any,
    },
    Reader {
        names: &["arc_summary"],
        what: "shows ZFS ARC statistics",
        opts: Opts {
            flags: "adrgh",
            valued: "sp",
            long: &["alternate-tunables", "description", "raw", "graph", "help"],
            long_valued: &["section", "page"],
            ..NONE
        },
        operands: Operands::NoneAllowed,
    },
    Reader {
        names: &["ceph"],
        what: "shows Ceph cluster state",
        opts: CEPH,
        operands: Operands::Custom(ceph),
    },
    Reader {
        names: &["rbd"],
        what: "shows Ceph block images",
        opts: NONE,
        operands: Operands::Subs(&[
            sub(&["ls"], RBD),
            sub(&["list"], RBD),
            sub(&["info"], RBD),
            sub(&["du"], RBD),
            sub(&["disk-usage"], RBD),
            sub(&["status"], RBD),
            sub(&["snap", "ls"], RBD),
            sub(&["snap", "list"], RBD),
        ]),
    },
    Reader {
        names: &["rados"],
        what: "shows Ceph pools",
        opts: Opts {
            valued: "f",
            long_valued: &["format"],
            ..NONE
        },
        operands: Operands::Custom(rados),
    },
];

/// `ceph`: the showing commands, as word sequences, each with the most operands after it.
fn ceph(p: &Parsed, _: &[Arg]) -> Inner {
    const ANY: usize = usize::MAX;
    const READS: &[(&[&str], usize)] = &[
        (&["status"], 0),
        (&["-s"], 0),
        (&["health"], 0),
        (&["health", "detail"], 0),
        (&["df"], 0),
        (&["df", "detail"], 0),
        (&["osd", "tree"], 0),
        (&["osd", "df"], 1),
        (&["osd", "stat"], 0),
        (&["osd", "dump"], 1),
        (&["osd", "perf"], 0),
        (&["osd", "ls"], 0),
        (&["osd", "pool", "ls"], 1),
        (&["osd", "pool", "stats"], 1),
        (&["mon", "stat"], 0),
        (&["mon", "dump"], 1),
        (&["mgr", "stat"], 0),
        (&["mgr", "module", "ls"], 0),
        (&["mgr", "services"], 0),
        (&["versions"], 0),
        (&["version"], 0),
        (&["fs", "ls"], 0),
        (&["fs", "status"], 1),
        (&["mds", "stat"], 0),
        (&["quorum_status"], 0),
        (&["pg", "stat"], 0),
        (&["crash", "ls"], 0),
        (&["crash", "ls-new"], 0),
        (&["crash", "info"], 1),
        (&["config", "dump"], 0),
        (&["config", "get"], 2),
        (&["config", "show"], 2),
        (&["log", "last"], ANY),
    ];
    let words = p.exact()?;
    let words: Vec<&str> = if p.has("s") {
        std::iter::once("-s").chain(words).collect()
    } else {
        words
    };
    let found = READS
        .iter()
        .filter(|(w, _)| words.len() >= w.len() && words[..w.len()] == **w)
        .max_by_key(|(w, _)| w.len());
    match found {
        Some((w, max)) if words.len() - w.len() <= *max => Ok(None),
        _ => Err(format!(
            "`ceph {}` is not known to be read-only",
            words.join(" ")
        )),
    }
}

fn rados(p: &Parsed, _: &[Arg]) -> Inner {
    match p.exact()?.as_slice() {
        ["df"] | ["lspools"] => Ok(None),
        _ => Err("this `rados` command is not known to be read-only".into()),
    }
}
