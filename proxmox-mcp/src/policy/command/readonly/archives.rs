//! Archives and compressors as reads: archive listings (`tar -t`, `unzip -l`, `zipinfo`) and
//! decompressing, listing or testing to standard output only (`gzip -dc`, `xz -l`, `zcat`);
//! extracting or writing a file is never a read.

use super::{Inner, NONE, Operands, Opts, Parsed, Reader, parse};
use crate::policy::command::walk::Arg;

pub(in crate::policy::command) static READERS: &[Reader] = &[
    Reader {
        names: &["tar"],
        what: "lists an archive",
        opts: NONE,
        operands: Operands::Raw(tar),
    },
    Reader {
        // Listing and testing only: without `-l`, `-v`, `-t` or `-Z`, unzip extracts. Its
        // parser reads `--` as a negation of the next option (`-l -- -l` extracts).
        names: &["unzip"],
        what: "lists a zip archive",
        opts: Opts {
            flags: "lvtZqz12smh",
            own_parser: true,
            ..NONE
        },
        operands: Operands::Custom(unzip),
    },
    Reader {
        names: &["zipinfo"],
        what: "lists a zip archive",
        opts: Opts {
            flags: "12smlvhtTz",
            own_parser: true,
            ..NONE
        },
        operands: Operands::Any,
    },
    Reader {
        // gzip has no `-z`; `-t` and `-l` imply standard output, but one mode is still asked.
        names: &["gzip", "gunzip"],
        what: "decompresses, tests or lists to standard output",
        opts: Opts {
            flags: "cdfhklLnNqtvV123456789",
            valued: "S",
            long: &[
                "stdout",
                "to-stdout",
                "decompress",
                "uncompress",
                "force",
                "help",
                "keep",
                "list",
                "license",
                "no-name",
                "name",
                "quiet",
                "test",
                "verbose",
                "version",
                "fast",
                "best",
            ],
            long_valued: &["suffix"],
            ..NONE
        },
        operands: Operands::Custom(one_read_mode),
    },
    Reader {
        // bzip2 has no listing.
        names: &["bzip2", "bunzip2"],
        what: "decompresses or tests to standard output",
        opts: Opts {
            flags: "cdzkftqvsLVh123456789",
            long: &[
                "stdout",
                "decompress",
                "compress",
                "keep",
                "force",
                "test",
                "quiet",
                "verbose",
                "small",
                "license",
                "version",
                "help",
                "fast",
                "best",
            ],
            ..NONE
        },
        operands: Operands::Custom(one_read_mode),
    },
    Reader {
        names: &["xz", "unxz"],
        what: "decompresses, tests or lists to standard output",
        opts: Opts {
            flags: "zdtlkfcqvhHVeQ0123456789",
            valued: "TFC",
            long: &[
                "compress",
                "decompress",
                "uncompress",
                "test",
                "list",
                "keep",
                "force",
                "stdout",
                "to-stdout",
                "extreme",
                "quiet",
                "verbose",
                "no-warn",
                "robot",
                "single-stream",
                "ignore-check",
                "help",
                "long-help",
                "version",
            ],
            long_valued: &["threads", "format", "check", "memlimit-decompress"],
            ..NONE
        },
        operands: Operands::Custom(one_read_mode),
    },
    Reader {
        // No `-o`, `--rm`, `--output-dir-*`, `--filelist`, `-r`, dictionary training or
        // benchmarks.
        names: &["zstd", "unzstd", "zstdmt"],
        what: "decompresses, tests or lists to standard output",
        opts: Opts {
            flags: "zdtlkfcqvhHV",
            valued: "D",
            long: &[
                "compress",
                "decompress",
                "uncompress",
                "test",
                "list",
                "keep",
                "force",
                "stdout",
                "quiet",
                "verbose",
                "ultra",
                "single-thread",
                "no-progress",
                "help",
                "version",
            ],
            long_optional: &["fast", "long", "format", "memory"],
            numeric: true,
            ..NONE
        },
        operands: Operands::Custom(one_read_mode),
    },
    Reader {
        names: &["zcat", "bzcat", "xzcat", "lzcat", "zstdcat"],
        what: "prints compressed files",
        opts: Opts {
            flags: "fhlqtvVL",
            long: &[
                "force", "help", "list", "quiet", "test", "verbose", "version", "license",
            ],
            ..NONE
        },
        operands: Operands::Any,
    },
];

/// `tar -t` (or `--list`, or a bundle such as `tzvf`): listing only, with no program, script
/// or remote archive (`host:file` unless `--force-local`).
fn tar(args: &[Arg]) -> Inner {
    const OPTS: Opts = Opts {
        flags: "tvzjJaiB",
        valued: "fbH",
        long: &[
            "list",
            "verbose",
            "gzip",
            "gunzip",
            "ungzip",
            "bzip2",
            "xz",
            "lzma",
            "lzip",
            "lzop",
            "zstd",
            "auto-compress",
            "ignore-zeros",
            "numeric-owner",
            "full-time",
            "utc",
            "wildcards",
            "no-wildcards",
            "anchored",
            "no-anchored",
            "ignore-case",
            "force-local",
            "show-transformed-names",
            "help",
            "version",
        ],
        long_valued: &[
            "file",
            "exclude",
            "blocking-factor",
            "format",
            "quoting-style",
            "record-size",
        ],
        // `--occurrence[=N]` and `--totals[=SIGNAL]` take no separate value.
        long_optional: &["occurrence", "totals"],
        ..NONE
    };
    // The old bundle form: `tar tzvf FILE` is `tar -t -z -v -f FILE`.
    let expanded: Vec<Arg> = match args.first() {
        Some(first) if !first.text.starts_with('-') && !first.text.is_empty() => {
            let mut out: Vec<Arg> = first
                .text
                .chars()
                .map(|c| Arg::literal(&format!("-{c}")))
                .collect();
            out.extend(args[1..].iter().cloned());
            // Valued letters take the following words in order; `parse` does the same when
            // each letter stands alone and its value follows, which holds only if one letter
            // takes a value.
            let valued = first
                .text
                .chars()
                .filter(|c| OPTS.valued.contains(*c))
                .count();
            if valued > 1 {
                return Err("a `tar` bundle with several valued letters".into());
            }
            if valued == 1 {
                let pos = first
                    .text
                    .chars()
                    .position(|c| OPTS.valued.contains(c))
                    .unwrap_or(0);
                let letter = out.remove(pos);
                out.insert(first.text.chars().count() - 1, letter);
            }
            out
        }
        _ => args.to_vec(),
    };
    let p = parse(&expanded, &OPTS)?;
    if !p.any(&["t", "list"]) {
        return Err("`tar` without `-t` creates or extracts".into());
    }
    if !p.has("force-local") {
        let archives = p.values("f").chain(p.values("file"));
        if let Some(f) = archives.into_iter().find(|f| f.contains(':')) {
            return Err(format!(
                "`tar -f {f}` is a remote archive, reached by a command"
            ));
        }
    }
    Ok(None)
}

/// `unzip -l`/`-v`/`-t`/`-Z`/`-z`: listing, testing or the comment.
fn unzip(p: &Parsed, _: &[Arg]) -> Inner {
    if !p.any(&["l", "v", "t", "Z", "z", "h"]) {
        return Err("`unzip` without `-l` extracts".into());
    }
    Ok(None)
}

/// Compressors: a proven read has one mode that writes nothing but standard output: listing
/// (`-l`), testing (`-t`), or standard output (`-c`, with `-d` to decompress); or no mode and
/// no file operand (standard input to standard output). xz, bzip2 and zstd let the last mode
/// flag win (`xz -t -z f` compresses `f`), so no other mode flag may appear anywhere: no
/// `-z`, no `-d` beside `-l` or `-t`, and no `-f` (only needed to write where the tool would
/// refuse to).
fn one_read_mode(p: &Parsed, _: &[Arg]) -> Inner {
    if let Some(o) = p
        .opts
        .iter()
        .find(|o| matches!(o.name.as_str(), "z" | "compress" | "f" | "force"))
    {
        return Err(format!(
            "`{}` makes the compressor write files",
            if o.name.len() == 1 {
                format!("-{}", o.name)
            } else {
                format!("--{}", o.name)
            }
        ));
    }
    let list = p.any(&["l", "list"]);
    let test = p.any(&["t", "test"]);
    let stdout = p.any(&["c", "stdout", "to-stdout"]);
    let decompress = p.any(&["d", "decompress", "uncompress"]);
    match (list, test, stdout) {
        (true, false, false) | (false, true, false) if !decompress => Ok(None),
        (false, false, true) => Ok(None),
        (false, false, false) if p.operands.is_empty() => Ok(None),
        (false, false, false) => Err(
            "the compressor writes or replaces files unless it writes to standard output (`-c`)"
                .into(),
        ),
        _ => Err("the compressor is given several modes, and the last one wins".into()),
    }
}
