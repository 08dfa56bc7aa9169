//! Read-only queries of the package database: `dpkg -l`, `dpkg-query`, `apt list`,
//! `apt-cache`, `apt-config dump` and `lsinitramfs`.

use super::{Inner, NONE, Operands, Opts, Parsed, Reader};
use crate::policy::command::walk::Arg;

pub(in crate::policy::command) static READERS: &[Reader] = &[
    Reader {
        names: &["dpkg"],
        what: "shows installed packages",
        opts: Opts {
            flags: "lLSspCV",
            long: &[
                "list",
                "listfiles",
                "search",
                "status",
                "print-avail",
                "get-selections",
                "print-architecture",
                "print-foreign-architectures",
                "audit",
                "verify",
                "no-pager",
                "help",
                "version",
            ],
            ..NONE
        },
        operands: Operands::Custom(dpkg),
    },
    Reader {
        names: &["dpkg-query"],
        what: "shows installed packages",
        opts: Opts {
            flags: "lWLSsp",
            valued: "f",
            long: &[
                "list",
                "show",
                "listfiles",
                "search",
                "status",
                "print-avail",
                "control-list",
                "control-show",
                "control-path",
                "no-pager",
                "help",
                "version",
            ],
            long_valued: &["showformat"],
            ..NONE
        },
        operands: Operands::Any,
    },
    Reader {
        // No `-o`/`-c` (configuration that could point anywhere).
        names: &["apt", "apt-cache"],
        what: "shows package information",
        opts: Opts {
            flags: "qnaifh",
            long: &[
                "installed",
                "upgradable",
                "upgradeable",
                "all-versions",
                "manual-installed",
                "full",
                "names-only",
                "recurse",
                "no-pre-depends",
                "no-depends",
                "no-recommends",
                "no-suggests",
                "no-conflicts",
                "no-breaks",
                "no-replaces",
                "no-enhances",
                "installed-only",
                "quiet",
                "help",
                "version",
            ],
            ..NONE
        },
        operands: Operands::Custom(apt),
    },
    Reader {
        names: &["apt-config"],
        what: "shows APT configuration",
        opts: Opts {
            flags: "h",
            long: &["empty", "help", "version"],
            long_valued: &["format"],
            ..NONE
        },
        operands: Operands::Custom(apt_config),
    },
    Reader {
        names: &["lsinitramfs"],
        what: "lists an initramfs",
        opts: Opts {
            flags: "lh",
            long: &["long", "help"],
            own_parser: true,
            ..NONE
        },
        operands: Operands::Any,
    },
];

/// `dpkg` with one of its showing actions.
fn dpkg(p: &Parsed, _: &[Arg]) -> Inner {
    let actions = p.opts.iter().filter(|o| o.name != "no-pager").count();
    if actions != 1 {
        return Err("`dpkg` takes one showing action".into());
    }
    Ok(None)
}

fn apt(p: &Parsed, _: &[Arg]) -> Inner {
    let ops = p.exact()?;
    let reads = [
        "list", "show", "search", "policy", "depends", "rdepends", "showsrc", "madison",
        "pkgnames", "stats", "showpkg", "unmet", "help",
    ];
    match ops.first() {
        Some(cmd) if reads.contains(cmd) => Ok(None),
        None if p.any(&["h", "help", "version"]) => Ok(None),
        _ => Err("this `apt` command is not known to be read-only".into()),
    }
}

fn apt_config(p: &Parsed, _: &[Arg]) -> Inner {
    match p.exact()?.as_slice() {
        ["dump", ..] => Ok(None),
        [] if p.any(&["h", "help", "version"]) => Ok(None),
        _ => Err("`apt-config` other than `dump` is not known to be read-only".into()),
    }
}
