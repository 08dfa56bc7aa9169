//! Read-only programs for the kernel and hardware: modules, PCI and USB devices, CPUs, sensors,
//! firmware tables, kernel settings (`sysctl`), AppArmor and the EFI boot entries.

use super::{Inner, NONE, Operands, Opts, Parsed, Reader};
use crate::policy::command::walk::Arg;

pub(in crate::policy::command) static READERS: &[Reader] = &[
    Reader {
        names: &["lsmod"],
        what: "lists kernel modules",
        opts: Opts {
            flags: "hV",
            long: &["help", "version", "syslog", "verbose"],
            ..NONE
        },
        operands: Operands::NoneAllowed,
    },
    Reader {
        names: &["modinfo"],
        what: "shows kernel module information",
        opts: Opts {
            flags: "adlpn0hV",
            valued: "Fkb",
            long: &[
                "author",
                "description",
                "license",
                "parameters",
                "filename",
                "null",
                "help",
                "version",
            ],
            long_valued: &["field", "set-version", "basedir"],
            ..NONE
        },
        operands: Operands::Any,
    },
    Reader {
        // No `-q`/`-Q` (ask the network), `-H` (direct hardware access), `-A`/`-O`.
        names: &["lspci"],
        what: "lists PCI devices",
        opts: Opts {
            flags: "mtvkxbDPn",
            valued: "sdipF",
            long: &["help", "version"],
            ..NONE
        },
        operands: Operands::NoneAllowed,
    },
    Reader {
        names: &["lsusb"],
        what: "lists USB devices",
        opts: Opts {
            flags: "vtVh",
            valued: "sdD",
            long: &["verbose", "tree", "version", "help"],
            ..NONE
        },
        operands: Operands::NoneAllowed,
    },
    Reader {
        names: &["lscpu"],
        what: "shows processor information",
        opts: Opts {
            flags: "abBcJxyhV",
            valued: "s",
            optional: "epC",
            long: &[
                "all",
                "online",
                "bytes",
                "offline",
                "json",
                "hex",
                "physical",
                "output-all",
                "help",
                "version",
            ],
            long_valued: &["sysroot"],
            long_optional: &["caches", "extended", "parse"],
            ..NONE
        },
        operands: Operands::NoneAllowed,
    },
    Reader {
        // No `-dump FILE` (writes a database) and no `-X` (a window).
        names: &["lshw"],
        what: "lists hardware",
        opts: Opts {
            long: &[
                "html", "xml", "json", "short", "businfo", "quiet", "sanitize", "numeric",
                "notime", "version", "help",
            ],
            long_valued: &["class", "C", "c", "disable", "enable"],
            words: true,
            own_parser: true,
            ..NONE
        },
        operands: Operands::NoneAllowed,
    },
    Reader {
        // No `--dump-bin FILE`.
        names: &["dmidecode"],
        what: "shows firmware (DMI) tables",
        opts: Opts {
            flags: "hquV",
            valued: "dstH",
            long: &["help", "quiet", "dump", "no-sysfs", "version", "no-quirks"],
            long_valued: &[
                "dev-mem",
                "string",
                "type",
                "handle",
                "from-dump",
                "oem-string",
            ],
            ..NONE
        },
        operands: Operands::NoneAllowed,
    },
    Reader {
        // No `-s` (runs `set` statements) and no `-c` (another configuration).
        names: &["sensors"],
        what: "shows hardware sensors",
        opts: Opts {
            flags: "fAujvh",
            long: &["fahrenheit", "no-adapter", "bus-list", "version", "help"],
            ..NONE
        },
        operands: Operands::Any,
    },
    Reader {
        // Reads only: no `-w`, `-p`/`-f`/`--load`, `--system`, and no `name=value` operand.
        names: &["sysctl"],
        what: "shows kernel parameters",
        opts: Opts {
            flags: "aAXbeNnqhV",
            valued: "r",
            long: &[
                "all",
                "binary",
                "ignore",
                "names",
                "values",
                "quiet",
                "deprecated",
                "help",
                "version",
            ],
            long_valued: &["pattern"],
            ..NONE
        },
        operands: Operands::Custom(sysctl),
    },
    Reader {
        names: &["aa-status", "apparmor_status"],
        what: "shows AppArmor status",
        opts: Opts {
            long: &[
                "enabled",
                "profiled",
                "enforced",
                "complaining",
                "kill",
                "special-unconfined",
                "process-mixed",
                "json",
                "pretty-json",
                "verbose",
                "help",
            ],
            ..NONE
        },
        operands: Operands::NoneAllowed,
    },
    Reader {
        // Listing only: every other option changes the boot entries in the firmware. `-v`
        // takes more `v`s attached (`-vv`).
        names: &["efibootmgr"],
        what: "lists the firmware boot entries",
        opts: Opts {
            flags: "qV",
            optional: "v",
            long: &["quiet", "version", "help"],
            long_optional: &["verbose"],
            ..NONE
        },
        operands: Operands::NoneAllowed,
    },
];

/// `sysctl NAME…`: an operand with `=` writes the parameter.
fn sysctl(p: &Parsed, _: &[Arg]) -> Inner {
    match p.texts().iter().find(|t| t.contains('=')) {
        Some(t) => Err(format!("`sysctl {t}` sets a kernel parameter")),
        None => Ok(None),
    }
}
