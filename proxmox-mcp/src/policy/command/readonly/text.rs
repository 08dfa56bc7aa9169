//! Read-only programs for text: printing (`cat`, `head`, `tail`), cutting and joining, comparing
//! (`diff`, `cmp`), reformatting, sorting and counting, and the trivial generators (`seq`, `yes`,
//! `sleep`). Each entry lists every option the program may use; anything else is not a proven
//! read.

use super::{HV, Inner, NONE, Operands, Opts, Parsed, Reader};
use crate::policy::command::walk::Arg;

pub(in crate::policy::command) static READERS: &[Reader] = &[
    Reader {
        names: &["cat"],
        what: "prints files",
        opts: Opts {
            flags: "AbeEnstTuv",
            long: &[
                "show-all",
                "number-nonblank",
                "show-ends",
                "number",
                "squeeze-blank",
                "show-tabs",
                "show-nonprinting",
                "help",
                "version",
            ],
            ..NONE
        },
        operands: Operands::Any,
    },
    Reader {
        names: &["tac"],
        what: "prints files last line first",
        opts: Opts {
            flags: "br",
            valued: "s",
            long: &["before", "regex", "help", "version"],
            long_valued: &["separator"],
            ..NONE
        },
        operands: Operands::Any,
    },
    Reader {
        names: &["nl"],
        what: "prints files with line numbers",
        opts: Opts {
            flags: "p",
            valued: "bdfhilnsvw",
            long: &["no-renumber", "help", "version"],
            long_valued: &[
                "body-numbering",
                "section-delimiter",
                "footer-numbering",
                "header-numbering",
                "line-increment",
                "join-blank-lines",
                "number-format",
                "number-separator",
                "starting-line-number",
                "number-width",
            ],
            ..NONE
        },
        operands: Operands::Any,
    },
    Reader {
        names: &["head"],
        what: "prints the start of files",
        opts: Opts {
            flags: "qvz",
            valued: "cn",
            long: &[
                "quiet",
                "silent",
                "verbose",
                "zero-terminated",
                "help",
                "version",
            ],
            long_valued: &["bytes", "lines"],
            numeric: true,
            ..NONE
        },
        operands: Operands::Any,
    },
    Reader {
        names: &["tail"],
        what: "prints the end of files",
        opts: Opts {
            flags: "fFqvz",
            valued: "cns",
            long: &[
                "quiet",
                "silent",
                "retry",
                "verbose",
                "zero-terminated",
                "help",
                "version",
            ],
            long_valued: &[
                "bytes",
                "lines",
                "max-unchanged-stats",
                "pid",
                "sleep-interval",
            ],
            long_optional: &["follow"],
            numeric: true,
            ..NONE
        },
        operands: Operands::Any,
    },
    Reader {
        names: &["wc"],
        what: "counts lines, words and bytes",
        opts: Opts {
            flags: "clmwL",
            long: &[
                "bytes",
                "chars",
                "lines",
                "words",
                "max-line-length",
                "help",
                "version",
            ],
            long_valued: &["files0-from", "total"],
            ..NONE
        },
        operands: Operands::Any,
    },
    Reader {
        names: &["cut"],
        what: "prints selected columns",
        opts: Opts {
            flags: "nsz",
            valued: "bcdf",
            long: &[
                "complement",
                "only-delimited",
                "zero-terminated",
                "help",
                "version",
            ],
            long_valued: &[
                "bytes",
                "characters",
                "delimiter",
                "fields",
                "output-delimiter",
            ],
            ..NONE
        },
        operands: Operands::Any,
    },
    Reader {
        names: &["tr"],
        what: "translates characters",
        opts: Opts {
            flags: "cCdst",
            long: &[
                "complement",
                "delete",
                "squeeze-repeats",
                "truncate-set1",
                "help",
                "version",
            ],
            ..NONE
        },
        operands: Operands::Any,
    },
    Reader {
        names: &["column"],
        what: "formats text into columns",
        opts: Opts {
            flags: "tdeLJxhV",
            valued: "nONlEHRTWripcos",
            long: &[
                "table",
                "table-noheadings",
                "table-header-repeat",
                "keep-empty-lines",
                "json",
                "fillrows",
                "help",
                "version",
            ],
            long_valued: &[
                "table-name",
                "table-order",
                "table-columns",
                "table-columns-limit",
                "table-noextreme",
                "table-hide",
                "table-right",
                "table-truncate",
                "table-wrap",
                "tree",
                "tree-id",
                "tree-parent",
                "output-width",
                "output-separator",
                "separator",
            ],
            ..NONE
        },
        operands: Operands::Any,
    },
    Reader {
        names: &["paste"],
        what: "merges lines of files",
        opts: Opts {
            flags: "sz",
            valued: "d",
            long: &["serial", "zero-terminated", "help", "version"],
            long_valued: &["delimiters"],
            ..NONE
        },
        operands: Operands::Any,
    },
    Reader {
        names: &["join"],
        what: "joins lines of two files",
        opts: Opts {
            flags: "iz",
            valued: "aejotv12",
            long: &[
                "ignore-case",
                "check-order",
                "nocheck-order",
                "header",
                "zero-terminated",
                "help",
                "version",
            ],
            ..NONE
        },
        operands: Operands::Any,
    },
    Reader {
        names: &["comm"],
        what: "compares two sorted files",
        opts: Opts {
            flags: "123z",
            long: &[
                "check-order",
                "nocheck-order",
                "total",
                "zero-terminated",
                "help",
                "version",
            ],
            long_valued: &["output-delimiter"],
            ..NONE
        },
        operands: Operands::Any,
    },
    Reader {
        names: &["diff"],
        what: "compares files",
        opts: Opts {
            flags: "qscuenyptTrNiEZbwBadv",
            valued: "CUWFxXSID",
            long: &[
                "normal",
                "brief",
                "report-identical-files",
                "ed",
                "rcs",
                "side-by-side",
                "left-column",
                "suppress-common-lines",
                "show-c-function",
                "expand-tabs",
                "initial-tab",
                "suppress-blank-empty",
                "recursive",
                "no-dereference",
                "new-file",
                "unidirectional-new-file",
                "ignore-file-name-case",
                "no-ignore-file-name-case",
                "ignore-case",
                "ignore-tab-expansion",
                "ignore-trailing-space",
                "ignore-space-change",
                "ignore-all-space",
                "ignore-blank-lines",
                "text",
                "strip-trailing-cr",
                "minimal",
                "speed-large-files",
                "help",
                "version",
            ],
            long_valued: &[
                "width",
                "show-function-line",
                "label",
                "tabsize",
                "exclude",
                "exclude-from",
                "starting-file",
                "from-file",
                "to-file",
                "ignore-matching-lines",
                "ifdef",
                "old-group-format",
                "new-group-format",
                "changed-group-format",
                "unchanged-group-format",
                "line-format",
                "old-line-format",
                "new-line-format",
                "unchanged-line-format",
                "horizon-lines",
                "palette",
            ],
            long_optional: &["context", "unified", "color"],
            numeric: true,
            ..NONE
        },
        operands: Operands::Any,
    },
    Reader {
        names: &["cmp"],
        what: "compares files byte by byte",
        opts: Opts {
            flags: "blsv",
            valued: "in",
            long: &[
                "print-bytes",
                "verbose",
                "quiet",
                "silent",
                "help",
                "version",
            ],
            long_valued: &["ignore-initial", "bytes"],
            ..NONE
        },
        operands: Operands::Any,
    },
    Reader {
        // No `-o` (it merges into a file, asking interactively) and no `--diff-program`.
        names: &["sdiff"],
        what: "compares files side by side",
        opts: Opts {
            flags: "iEZbWBalstdv",
            valued: "Iw",
            long: &[
                "ignore-case",
                "ignore-tab-expansion",
                "ignore-trailing-space",
                "ignore-space-change",
                "ignore-all-space",
                "ignore-blank-lines",
                "strip-trailing-cr",
                "text",
                "left-column",
                "suppress-common-lines",
                "expand-tabs",
                "minimal",
                "speed-large-files",
                "help",
                "version",
            ],
            long_valued: &["ignore-matching-lines", "width", "tabsize"],
            ..NONE
        },
        operands: Operands::Any,
    },
    Reader {
        names: &["fold"],
        what: "wraps lines",
        opts: Opts {
            flags: "bs",
            valued: "w",
            long: &["bytes", "spaces", "help", "version"],
            long_valued: &["width"],
            ..NONE
        },
        operands: Operands::Any,
    },
    Reader {
        names: &["fmt"],
        what: "reformats paragraphs",
        opts: Opts {
            flags: "cstu",
            valued: "pwg",
            long: &[
                "crown-margin",
                "split-only",
                "tagged-paragraph",
                "uniform-spacing",
                "help",
                "version",
            ],
            long_valued: &["prefix", "width", "goal"],
            ..NONE
        },
        operands: Operands::Any,
    },
    Reader {
        names: &["expand", "unexpand"],
        what: "converts between tabs and spaces",
        opts: Opts {
            flags: "ia",
            valued: "t",
            long: &["initial", "all", "first-only", "help", "version"],
            long_valued: &["tabs"],
            numeric: true,
            ..NONE
        },
        operands: Operands::Any,
    },
    Reader {
        names: &["rev"],
        what: "reverses lines",
        opts: Opts {
            flags: "hV0",
            long: &["zero", "help", "version"],
            ..NONE
        },
        operands: Operands::Any,
    },
    Reader {
        names: &["look"],
        what: "prints lines beginning with a string",
        opts: Opts {
            flags: "adfhV",
            valued: "t",
            long: &["alternative", "alphanum", "ignore-case", "help", "version"],
            long_valued: &["terminate"],
            ..NONE
        },
        operands: Operands::Any,
    },
    Reader {
        names: &["seq"],
        what: "prints a sequence of numbers",
        opts: Opts {
            flags: "w",
            valued: "fs",
            long: &["equal-width", "help", "version"],
            long_valued: &["format", "separator"],
            ..NONE
        },
        operands: Operands::Any,
    },
    Reader {
        names: &["sleep"],
        what: "waits",
        opts: Opts { long: HV, ..NONE },
        operands: Operands::Custom(durations),
    },
    Reader {
        names: &["yes"],
        what: "prints a line repeatedly",
        opts: Opts { long: HV, ..NONE },
        operands: Operands::Any,
    },
    Reader {
        // No `-o`/`--output`, `-T`/`--temporary-directory` or `--compress-program`.
        names: &["sort"],
        what: "sorts lines",
        opts: Opts {
            flags: "bdfgiMhnRrVcCmsuz",
            valued: "kSt",
            long: &[
                "ignore-leading-blanks",
                "dictionary-order",
                "ignore-case",
                "general-numeric-sort",
                "ignore-nonprinting",
                "month-sort",
                "human-numeric-sort",
                "numeric-sort",
                "random-sort",
                "reverse",
                "version-sort",
                "merge",
                "stable",
                "unique",
                "zero-terminated",
                "debug",
                "help",
                "version",
            ],
            long_valued: &[
                "sort",
                "random-source",
                "key",
                "field-separator",
                "files0-from",
                "buffer-size",
                "batch-size",
                "parallel",
            ],
            long_optional: &["check"],
            ..NONE
        },
        operands: Operands::Any,
    },
    Reader {
        names: &["uniq"],
        what: "filters repeated lines",
        opts: Opts {
            flags: "cdDiuz",
            valued: "fsw",
            long: &[
                "count",
                "repeated",
                "ignore-case",
                "unique",
                "zero-terminated",
                "help",
                "version",
            ],
            long_valued: &["skip-fields", "skip-chars", "check-chars"],
            long_optional: &["all-repeated", "group"],
            numeric: true,
            ..NONE
        },
        operands: Operands::AtMost(1),
    },
];

/// `sleep`: durations only (`5`, `0.5`, `1m`, `infinity`).
fn durations(p: &Parsed, _: &[Arg]) -> Inner {
    for t in p.texts() {
        let number = t.trim_end_matches(['s', 'm', 'h', 'd']);
        if t != "infinity" && number.parse::<f64>().is_err() {
            return Err(format!("`sleep {t}` is not a duration"));
        }
    }
    Ok(None)
}
