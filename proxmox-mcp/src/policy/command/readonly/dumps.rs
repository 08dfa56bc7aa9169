//! Read-only programs that dump or digest bytes: `od`, `hexdump`, `xxd`, the base encoders, the
//! checksums and hashes, and `strings`.

use super::{Inner, NONE, Operands, Opts, Parsed, Reader};
use crate::policy::command::walk::Arg;

const HASH_LONG: &[&str] = &[
    "binary",
    "check",
    "tag",
    "text",
    "zero",
    "ignore-missing",
    "quiet",
    "status",
    "strict",
    "warn",
    "help",
    "version",
];

pub(in crate::policy::command) static READERS: &[Reader] = &[
    Reader {
        names: &["od"],
        what: "dumps files in octal and other formats",
        opts: Opts {
            flags: "vabcdfilosx",
            valued: "AjNtS",
            optional: "w",
            long: &["output-duplicates", "traditional", "help", "version"],
            long_valued: &[
                "address-radix",
                "endian",
                "skip-bytes",
                "read-bytes",
                "format",
            ],
            long_optional: &["strings", "width"],
            ..NONE
        },
        operands: Operands::Any,
    },
    Reader {
        names: &["hexdump", "hd"],
        what: "dumps files in hex",
        opts: Opts {
            flags: "bcCdoxvhV",
            valued: "efns",
            optional: "L",
            long: &[
                "one-byte-octal",
                "one-byte-char",
                "canonical",
                "two-bytes-decimal",
                "two-bytes-octal",
                "two-bytes-hex",
                "no-squeezing",
                "help",
                "version",
            ],
            long_valued: &["format", "format-file", "length", "skip"],
            long_optional: &["color"],
            ..NONE
        },
        operands: Operands::Any,
    },
    Reader {
        names: &["xxd"],
        what: "shows a hex dump",
        opts: NONE,
        operands: Operands::Raw(xxd),
    },
    Reader {
        names: &["base64", "base32"],
        what: "encodes or decodes to standard output",
        opts: Opts {
            flags: "di",
            valued: "w",
            long: &["decode", "ignore-garbage", "help", "version"],
            long_valued: &["wrap"],
            ..NONE
        },
        operands: Operands::Any,
    },
    Reader {
        names: &["basenc"],
        what: "encodes or decodes to standard output",
        opts: Opts {
            flags: "di",
            valued: "w",
            long: &[
                "base64",
                "base64url",
                "base32",
                "base32hex",
                "base16",
                "base2msbf",
                "base2lsbf",
                "decode",
                "ignore-garbage",
                "z85",
                "help",
                "version",
            ],
            long_valued: &["wrap"],
            ..NONE
        },
        operands: Operands::Any,
    },
    Reader {
        names: &[
            "md5sum",
            "sha1sum",
            "sha224sum",
            "sha256sum",
            "sha384sum",
            "sha512sum",
        ],
        what: "computes or checks checksums",
        opts: Opts {
            flags: "bctzw",
            long: HASH_LONG,
            ..NONE
        },
        operands: Operands::Any,
    },
    Reader {
        names: &["b2sum"],
        what: "computes or checks checksums",
        opts: Opts {
            flags: "bctzw",
            valued: "l",
            long: HASH_LONG,
            long_valued: &["length"],
            ..NONE
        },
        operands: Operands::Any,
    },
    Reader {
        names: &["cksum"],
        what: "computes or checks checksums",
        opts: Opts {
            flags: "czw",
            valued: "al",
            long: &[
                "check",
                "tag",
                "untagged",
                "zero",
                "ignore-missing",
                "quiet",
                "status",
                "strict",
                "warn",
                "debug",
                "help",
                "version",
            ],
            long_valued: &["algorithm", "length"],
            ..NONE
        },
        operands: Operands::Any,
    },
    Reader {
        names: &["sum"],
        what: "computes checksums",
        opts: Opts {
            flags: "rs",
            long: &["sysv", "help", "version"],
            ..NONE
        },
        operands: Operands::Any,
    },
    Reader {
        // binutils reads more options from `@FILE` operands: refused.
        names: &["strings"],
        what: "prints the printable strings in files",
        opts: Opts {
            flags: "adfwohvV",
            valued: "nteTsU",
            long: &[
                "all",
                "data",
                "print-file-name",
                "include-all-whitespace",
                "help",
                "version",
            ],
            long_valued: &[
                "bytes",
                "radix",
                "encoding",
                "target",
                "output-separator",
                "unicode",
            ],
            numeric: true,
            ..NONE
        },
        operands: Operands::Custom(no_response_files),
    },
];

/// Refuses a binutils response file operand (`@FILE`, read as more options).
fn no_response_files(p: &Parsed, _: &[Arg]) -> Inner {
    match p.texts().iter().find(|t| t.starts_with('@')) {
        Some(t) => Err(format!("`{t}` reads more options from a file")),
        None => Ok(None),
    }
}

/// `xxd [options] [INFILE]`: xxd reads its own options (any word starting with `-a` is
/// `-autoskip`, and so on), stops at the first operand, and writes to a second operand. So:
/// only known option words, no `-r` (revert, which writes binary), and at most one operand,
/// which must be the last argument.
fn xxd(args: &[Arg]) -> Inner {
    let mut k = 0;
    while k < args.len() {
        let t = args[k].text.as_str();
        if t == "--" {
            k += 1;
            break;
        }
        if !t.starts_with('-') || t == "-" {
            break;
        }
        let letter = t.chars().nth(1).unwrap_or(' ');
        match letter {
            'a' | 'b' | 'e' | 'u' | 'p' | 'i' | 'C' | 'd' | 'E' | 'v' | 'h' => k += 1,
            'c' | 'g' | 'o' | 's' | 'l' | 'n' | 'R' => {
                let words = [
                    "-c",
                    "-cols",
                    "-g",
                    "-groupsize",
                    "-o",
                    "-offset",
                    "-s",
                    "-seek",
                    "-l",
                    "-len",
                    "-n",
                    "-name",
                    "-R",
                ];
                if words.contains(&t) {
                    if args.get(k + 1).is_none_or(|a| a.glob) {
                        return Err(format!("`xxd {t}` needs one literal value"));
                    }
                    k += 2;
                } else if t == "-capitalize" || t[2..].starts_with(|c: char| c.is_ascii_digit()) {
                    k += 1;
                } else {
                    return Err(format!("`xxd {t}` is not known to be read-only"));
                }
            }
            _ => return Err(format!("`xxd {t}` is not known to be read-only")),
        }
    }
    match &args[k.min(args.len())..] {
        [] => Ok(None),
        [one] if !one.glob => Ok(None),
        _ => Err("`xxd` writes to its second operand".into()),
    }
}
