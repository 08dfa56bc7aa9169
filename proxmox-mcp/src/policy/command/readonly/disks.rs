//! Read-only programs for disks and mounts: block devices (`lsblk`, `blkid`, `findmnt`), disk
//! health (`smartctl`, `nvme`, `hdparm`) and partition tables and signatures (`fdisk -l`,
//! `parted print`, `sgdisk -p`, `wipefs`).

use super::{Inner, NONE, Operands, Opts, Parsed, Reader, sub, sub0};
use crate::policy::command::walk::Arg;

const NVME: Opts = Opts {
    flags: "Hvb",
    valued: "one",
    long: &["human-readable", "verbose", "raw-binary", "vendor-specific"],
    long_valued: &["output-format", "namespace-id", "log-entries"],
    ..NONE
};

pub(in crate::policy::command) static READERS: &[Reader] = &[
    Reader {
        names: &["findmnt"],
        what: "lists mounts",
        opts: Opts {
            flags: "smkAabCcDefiJlnPRrUuvyxhV",
            valued: "wdFNOoSTMt",
            optional: "p",
            long: &[
                "fstab",
                "mtab",
                "kernel",
                "all",
                "ascii",
                "bytes",
                "nocanonicalize",
                "canonicalize",
                "df",
                "evaluate",
                "first-only",
                "invert",
                "json",
                "list",
                "noheadings",
                "output-all",
                "pairs",
                "pseudo",
                "shadowed",
                "submounts",
                "raw",
                "real",
                "tree",
                "uniq",
                "notruncate",
                "nofsroot",
                "shell",
                "verify",
                "verbose",
                "vfs-all",
                "help",
                "version",
            ],
            long_valued: &[
                "timeout",
                "direction",
                "tab-file",
                "task",
                "options",
                "output",
                "source",
                "target",
                "mountpoint",
                "types",
            ],
            long_optional: &["poll"],
            ..NONE
        },
        operands: Operands::Any,
    },
    Reader {
        names: &["lsblk"],
        what: "lists block devices",
        opts: Opts {
            flags: "ADJMOPSabdfilmnprstyzhV",
            valued: "EIeowx",
            optional: "T",
            long: &[
                "noempty",
                "discard",
                "json",
                "merge",
                "output-all",
                "pairs",
                "scsi",
                "all",
                "bytes",
                "nodeps",
                "fs",
                "ascii",
                "list",
                "perms",
                "noheadings",
                "paths",
                "raw",
                "inverse",
                "topology",
                "shell",
                "zoned",
                "help",
                "version",
            ],
            long_valued: &[
                "dedup", "include", "exclude", "output", "width", "sort", "sysroot",
            ],
            long_optional: &["tree"],
            ..NONE
        },
        operands: Operands::Any,
    },
    Reader {
        // No `-c` (a cache file it writes) and no `-g` (cleans the cache).
        names: &["blkid"],
        what: "shows block device attributes",
        opts: Opts {
            flags: "dklpiDhV",
            valued: "ostLUHSOun",
            long: &[
                "no-encoding",
                "list-filesystems",
                "list-one",
                "probe",
                "info",
                "no-part-details",
                "help",
                "version",
            ],
            long_valued: &[
                "output",
                "match-tag",
                "match-token",
                "label",
                "uuid",
                "hint",
                "size",
                "offset",
                "usages",
                "match-types",
            ],
            ..NONE
        },
        operands: Operands::Any,
    },
    Reader {
        // Only the listing: no operand, no `-a`.
        names: &["mount"],
        what: "lists mounts",
        opts: Opts {
            flags: "lhV",
            valued: "t",
            long: &["show-labels", "help", "version"],
            long_valued: &["types"],
            ..NONE
        },
        operands: Operands::NoneAllowed,
    },
    Reader {
        names: &["smartctl"],
        what: "shows disk health",
        opts: Opts {
            flags: "axiHcAjVh",
            valued: "ldTgvbrnqPf",
            long: &[
                "all",
                "xall",
                "info",
                "health",
                "capabilities",
                "attributes",
                "scan",
                "scan-open",
                "version",
                "help",
            ],
            long_valued: &[
                "log",
                "device",
                "tolerance",
                "badsum",
                "report",
                "nocheck",
                "quietmode",
                "get",
                "presets",
                "vendorattribute",
                "format",
                "firmwarebug",
            ],
            long_optional: &["json", "identify"],
            ..NONE
        },
        operands: Operands::Custom(smartctl),
    },
    Reader {
        // The listings only (`-l`, `-x`); anything else is the partition editor.
        names: &["fdisk"],
        what: "lists partition tables",
        opts: Opts {
            flags: "lxhV",
            valued: "bot",
            optional: "Lcu",
            long: &["list", "list-details", "bytes", "help", "version"],
            long_valued: &["sector-size", "output", "type"],
            long_optional: &["color", "compatibility", "units"],
            ..NONE
        },
        operands: Operands::Custom(fdisk),
    },
    Reader {
        // `-l`, or `DEVICE [unit UNIT] print [free]`: parted runs every command on its line.
        // No `-f`/`--fix` (answers "fix" to what it asks) or `--pretend-input-tty`; without
        // a terminal it leaves its questions unanswered.
        names: &["parted"],
        what: "shows partition tables",
        opts: Opts {
            flags: "lsmjhv",
            long: &["list", "script", "machine", "json", "help", "version"],
            ..NONE
        },
        operands: Operands::Custom(parted),
    },
    Reader {
        // Printing and verifying only: after any other operation sgdisk saves the table.
        names: &["sgdisk"],
        what: "shows GPT partition tables",
        opts: Opts {
            flags: "pvODLV",
            valued: "i",
            long: &[
                "print",
                "verify",
                "print-mbr",
                "display-alignment",
                "list-types",
                "version",
                "help",
            ],
            long_valued: &["info"],
            ..NONE
        },
        operands: Operands::Custom(sgdisk),
    },
    Reader {
        // Listing only: no `-a`/`--all` or `-o`/`--offset` (they erase), `-b`/`--backup` or
        // `-f`/`--force`.
        names: &["wipefs"],
        what: "lists file system signatures",
        opts: Opts {
            flags: "iJnpqhV",
            valued: "Ot",
            long: &[
                "noheadings",
                "json",
                "no-act",
                "parsable",
                "quiet",
                "help",
                "version",
            ],
            long_valued: &["output", "types"],
            ..NONE
        },
        operands: Operands::Any,
    },
    Reader {
        // The `--get…` queries and `--report`: every `--set…`, `--flushbufs` and
        // `--rereadpt` changes the device. blockdev reads its arguments itself.
        names: &["blockdev"],
        what: "shows block device parameters",
        opts: Opts {
            flags: "qvhV",
            long: &[
                "getsz",
                "getsize",
                "getsize64",
                "getss",
                "getpbsz",
                "getiomin",
                "getioopt",
                "getalignoff",
                "getmaxsect",
                "getbsz",
                "getro",
                "getdiscardzeroes",
                "getzonesz",
                "getra",
                "getfra",
                "getdiskseq",
                "report",
                "help",
                "version",
            ],
            own_parser: true,
            ..NONE
        },
        operands: Operands::Any,
    },
    Reader {
        // Only what shows or measures: most other hdparm options set drive features.
        names: &["hdparm"],
        what: "shows disk information or measures read speed",
        opts: Opts {
            flags: "IitTgh",
            long: &["help"],
            own_parser: true,
            ..NONE
        },
        operands: Operands::Any,
    },
    Reader {
        names: &["nvme"],
        what: "shows NVMe devices",
        opts: NONE,
        operands: Operands::Subs(&[
            sub0(&["list"], NVME),
            sub(&["list-subsys"], NVME),
            sub(&["smart-log"], NVME),
            sub(&["id-ctrl"], NVME),
            sub(&["id-ns"], NVME),
            sub(&["error-log"], NVME),
            sub0(&["version"], NONE),
            sub0(&["help"], NONE),
        ]),
    },
];

/// `smartctl -l TYPE`: no `scttempint,N` or `scterc,R,W` (they set), no `…,reset`.
fn smartctl(p: &Parsed, _: &[Arg]) -> Inner {
    for l in p.values("l").chain(p.values("log")) {
        if l.contains("scttempint") || l.starts_with("scterc,") || l.contains("reset") {
            return Err(format!("`smartctl -l {l}` changes the drive"));
        }
    }
    Ok(None)
}

/// `fdisk -l|-x [DEVICE…]`.
fn fdisk(p: &Parsed, _: &[Arg]) -> Inner {
    let list = [
        "l",
        "list",
        "x",
        "list-details",
        "h",
        "help",
        "V",
        "version",
    ];
    if !p.any(&list) {
        return Err("`fdisk` without `-l` edits partition tables".into());
    }
    Ok(None)
}

/// `parted -l`, or `parted [-s] [-m] DEVICE [unit UNIT] print [free]`.
fn parted(p: &Parsed, _: &[Arg]) -> Inner {
    const UNITS: &[&str] = &[
        "s", "B", "kB", "KiB", "MB", "MiB", "GB", "GiB", "TB", "TiB", "%", "cyl", "chs", "compact",
    ];
    let ops = p.exact()?;
    if p.any(&["l", "list"]) {
        if !ops.is_empty() {
            return Err("`parted -l` runs no command".into());
        }
        return Ok(None);
    }
    let commands = match ops.as_slice() {
        [] if p.any(&["h", "help", "v", "version"]) => return Ok(None),
        [_device, rest @ ..] => match rest {
            ["unit", unit, rest @ ..] if UNITS.contains(unit) => rest,
            _ => rest,
        },
        [] => &[][..],
    };
    match commands {
        ["print"] | ["print", "free"] => Ok(None),
        _ => Err(format!(
            "`parted {}` may change the partition table",
            ops.join(" ")
        )),
    }
}

/// `sgdisk` with printing options and at most one device.
fn sgdisk(p: &Parsed, _: &[Arg]) -> Inner {
    if p.opts.is_empty() {
        return Err("`sgdisk` without a printing option".into());
    }
    if p.exact()?.len() > 1 {
        return Err("`sgdisk` takes one device".into());
    }
    Ok(None)
}
