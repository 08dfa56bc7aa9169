//! Read-only programs for volumes and disk images: LVM, device mapper, multipath, iSCSI, md,
//! LUKS and `qemu-img info`.

use super::{Inner, NONE, Operands, Opts, Parsed, Reader, sub, sub0};
use crate::policy::command::walk::Arg;

/// What the LVM reporting commands share; no `--config`, `--profile`, `--commandprofile`.
const LVM_LONG: &[&str] = &[
    "aligned",
    "all",
    "binary",
    "debug",
    "foreign",
    "help",
    "history",
    "ignorelockingfailure",
    "longhelp",
    "nameprefixes",
    "noheadings",
    "nohints",
    "nolocking",
    "nosuffix",
    "quiet",
    "readonly",
    "rows",
    "segments",
    "shared",
    "test",
    "unbuffered",
    "unquoted",
    "verbose",
    "version",
    "partial",
    "colon",
    "columns",
    "maps",
    "short",
];

const LVM_LONG_VALUED: &[&str] = &[
    "configreport",
    "devices",
    "devicesfile",
    "driverloaded",
    "options",
    "reportformat",
    "select",
    "separator",
    "sort",
    "units",
];

const QEMU_IMG: Opts = Opts {
    flags: "qUpsh",
    valued: "fFTlOo",
    long: &["force-share", "backing-chain", "image-opts", "help"],
    long_valued: &["output", "start-offset", "max-length", "size"],
    ..NONE
};

const CRYPTSETUP: Opts = Opts {
    flags: "v",
    long: &[
        "verbose",
        "debug",
        "dump-json-metadata",
        "disable-locks",
        "help",
        "version",
    ],
    long_valued: &["header", "type"],
    ..NONE
};

const DMSETUP: Opts = Opts {
    flags: "cCjmuv",
    valued: "o",
    long: &[
        "columns",
        "noheadings",
        "tree",
        "nameprefixes",
        "rows",
        "unbuffered",
        "verbose",
        "inactive",
        "noopencount",
        "help",
        "version",
    ],
    long_valued: &["target", "separator", "sort", "select", "options"],
    ..NONE
};

pub(in crate::policy::command) static READERS: &[Reader] = &[
    Reader {
        names: &["lvs", "vgs", "pvs", "lvdisplay", "vgdisplay", "pvdisplay"],
        what: "shows LVM volumes",
        opts: Opts {
            flags: "adhHqtvPcCmsy",
            valued: "oOS",
            long: LVM_LONG,
            long_valued: LVM_LONG_VALUED,
            ..NONE
        },
        operands: Operands::Any,
    },
    Reader {
        // No `--cache`, `--mknodes`, `--notifydbus` or activation.
        names: &["lvscan", "vgscan", "pvscan"],
        what: "lists LVM volumes",
        opts: Opts {
            flags: "abvhensu",
            long: &[
                "all",
                "blockdevice",
                "verbose",
                "help",
                "version",
                "ignorelockingfailure",
                "readonly",
                "exported",
                "novolumegroup",
                "short",
                "uuid",
            ],
            long_valued: &["reportformat"],
            ..NONE
        },
        operands: Operands::NoneAllowed,
    },
    Reader {
        // `table` without `--showkeys` (which prints encryption keys).
        names: &["dmsetup"],
        what: "shows device-mapper devices",
        opts: NONE,
        operands: Operands::Subs(&[
            sub(&["ls"], DMSETUP),
            sub(&["info"], DMSETUP),
            sub(&["status"], DMSETUP),
            sub(&["table"], DMSETUP),
            sub(&["deps"], DMSETUP),
            sub0(&["version"], DMSETUP),
            sub0(&["targets"], DMSETUP),
            sub0(&["help"], DMSETUP),
        ]),
    },
    Reader {
        // Only `-l`/`-ll`: without it multipath creates maps.
        names: &["multipath"],
        what: "shows multipath devices",
        opts: Opts {
            flags: "lh",
            valued: "v",
            ..NONE
        },
        operands: Operands::Custom(multipath),
    },
    Reader {
        // No `-o` other than `show`, no login, logout, rescan, discovery, or `-S` (secrets).
        names: &["iscsiadm"],
        what: "shows iSCSI sessions and nodes",
        opts: Opts {
            flags: "hV",
            valued: "mPrTpIo",
            long: &["help", "version"],
            long_valued: &[
                "mode",
                "print",
                "sid",
                "targetname",
                "portal",
                "interface",
                "op",
            ],
            ..NONE
        },
        operands: Operands::Custom(iscsiadm),
    },
    Reader {
        names: &["mdadm"],
        what: "shows md RAID arrays",
        opts: Opts {
            flags: "DEQbvsYh",
            valued: "c",
            long: &[
                "detail",
                "examine",
                "query",
                "brief",
                "verbose",
                "scan",
                "export",
                "detail-platform",
                "help",
                "version",
            ],
            long_valued: &["config"],
            ..NONE
        },
        operands: Operands::Custom(mdadm),
    },
    Reader {
        // No `--dump-master-key`/`--dump-volume-key` and no key files.
        names: &["cryptsetup"],
        what: "shows LUKS devices",
        opts: CRYPTSETUP,
        operands: Operands::Subs(&[
            sub(&["status"], CRYPTSETUP),
            sub(&["luksDump"], CRYPTSETUP),
            sub(&["isLuks"], CRYPTSETUP),
            sub0(&[], NONE),
        ]),
    },
    Reader {
        // `check` without `-r` (repairs); no `--object`.
        names: &["qemu-img"],
        what: "shows disk image information",
        opts: Opts {
            flags: "hV",
            long: &["help", "version"],
            ..NONE
        },
        operands: Operands::Subs(&[
            sub(&["info"], QEMU_IMG),
            sub(&["check"], QEMU_IMG),
            sub(&["map"], QEMU_IMG),
            sub(&["measure"], QEMU_IMG),
            sub(&["compare"], QEMU_IMG),
            sub0(&[], NONE),
        ]),
    },
];

fn multipath(p: &Parsed, _: &[Arg]) -> Inner {
    if !p.has("l") && !p.has("h") {
        return Err("`multipath` without `-l` creates maps".into());
    }
    if p.exact()?.len() > 1 {
        return Err("`multipath -ll` takes one device".into());
    }
    Ok(None)
}

fn iscsiadm(p: &Parsed, _: &[Arg]) -> Inner {
    let mode = p.value("m").or(p.value("mode"));
    if !matches!(mode, Some("session" | "node" | "iface" | "host")) && !p.any(&["h", "V"]) {
        return Err("this `iscsiadm` mode is not known to be read-only".into());
    }
    if let Some(op) = p.values("o").chain(p.values("op")).find(|o| *o != "show") {
        return Err(format!("`iscsiadm -o {op}` changes the iSCSI database"));
    }
    if !p.operands.is_empty() {
        return Err("`iscsiadm` takes no operand".into());
    }
    Ok(None)
}

fn mdadm(p: &Parsed, _: &[Arg]) -> Inner {
    let show = [
        "D",
        "E",
        "Q",
        "detail",
        "examine",
        "query",
        "detail-platform",
        "h",
        "help",
        "version",
    ];
    if !p.any(&show) {
        return Err("`mdadm` without `--detail`/`--examine` may change arrays".into());
    }
    Ok(None)
}
