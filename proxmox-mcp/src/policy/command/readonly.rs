//! The read-only proof: a simple command is `Read` only when its program is in this table and
//! every option it uses is one the table knows to only read. Deny by default: an unknown
//! program, an unknown option, an abbreviated long option, an operand where the program would
//! write (`uniq IN OUT`, `xxd IN OUT`) or a script part that writes or runs (`sed 'w f'`,
//! `awk 'system(…)'`, `find -delete`) is not proven, and the command is classified by what it
//! does instead ([`super::effects`]).
//!
//! Options are parsed the way GNU `getopt_long` does: bundled short flags (`-la`), values
//! attached or separate (`-n5`, `-n 5`), `--long=value`, options after operands, `--` ends
//! them. Only exact long names are accepted, so an abbreviation cannot reach an option the
//! table does not list. An option whose value is optional (GNU `-I[FMT]`, `--color[=WHEN]`)
//! takes it attached only, as getopt does: the next word is never its value, so it cannot
//! hide an option there (`date -I --set=…`).
//!
//! A glob the shell may expand into a word starting with `-` is not proven where the program
//! would read that word as an option; after a `--` the program honours, it is an operand.

mod accounts;
mod archives;
mod disks;
mod dumps;
mod fetch;
mod files;
mod firewall;
mod hardware;
mod host;
mod interfaces;
mod keys;
mod lookups;
mod packages;
mod processes;
mod pve;
mod scripts;
mod search;
mod services;
mod text;
mod volumes;
mod zfs_ceph;

#[cfg(test)]
mod tests;

use std::ops::Range;

use super::walk::Arg;

/// `--help` and `--version`, which every GNU program has.
pub(super) const HV: &[&str] = &["help", "version"];

/// Every table of read-only programs, by family. No program is in two of them.
pub(super) static TABLES: &[&[Reader]] = &[
    files::READERS,
    text::READERS,
    dumps::READERS,
    search::READERS,
    archives::READERS,
    pve::READERS,
    processes::READERS,
    accounts::READERS,
    host::READERS,
    services::READERS,
    hardware::READERS,
    interfaces::READERS,
    firewall::READERS,
    lookups::READERS,
    fetch::READERS,
    disks::READERS,
    volumes::READERS,
    zfs_ceph::READERS,
    packages::READERS,
    scripts::READERS,
    keys::READERS,
];

/// A custom operand check's answer: the range of an inner command, or why it is no read.
pub(super) type Inner = Result<Option<Range<usize>>, String>;

/// What a proven read does, and any inner command it runs that must be proven too.
#[derive(Debug)]
pub(super) struct Proof {
    /// One phrase: what the program shows.
    pub what: &'static str,
    /// Arguments that form a command of their own (`qm guest exec 100 -- uptime`), which
    /// must itself be proven (the caller classifies it).
    pub inner: Option<Range<usize>>,
}

/// The options one program accepts as read-only.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct Opts {
    /// Short options without a value, as one string: `"alh"`.
    pub flags: &'static str,
    /// Short options that take a value: `"n"` for `-n 5` / `-n5`.
    pub valued: &'static str,
    /// Short options whose value is optional and attached only: `"I"` for `-I` / `-Idate`
    /// (getopt's `I::`); a separate word after them is an option or operand of its own.
    pub optional: &'static str,
    /// Long options without a value (without the dashes).
    pub long: &'static [&'static str],
    /// Long options that take a value: `--lines=5` or `--lines 5`.
    pub long_valued: &'static [&'static str],
    /// Long options whose value is optional and attached only: `--color` or `--color=never`.
    pub long_optional: &'static [&'static str],
    /// Long options that take two values: `--arg NAME VALUE`.
    pub long_pair: &'static [&'static str],
    /// `-5` (a bare number) is accepted, as `head -5`.
    pub numeric: bool,
    /// Options are whole words after one or two dashes (`-noout`, `--noout`, `-in FILE`,
    /// `-in=FILE`), as openssl and the Proxmox tools spell them: no bundles, and every name,
    /// short ones included, is looked up in the long lists.
    pub words: bool,
    /// The program reads its arguments itself and may not end its options at `--` (or reads
    /// `--` as something else: unzip's negation), so a `--` is not proven.
    pub own_parser: bool,
}

/// No options at all; the base for `Opts { flags: "…", ..NONE }`.
pub(super) const NONE: Opts = Opts {
    flags: "",
    valued: "",
    optional: "",
    long: &[],
    long_valued: &[],
    long_optional: &[],
    long_pair: &[],
    numeric: false,
    words: false,
    own_parser: false,
};

/// One parsed option: its name (`"n"` or `"lines"`) and value (the first of a pair).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Opt {
    pub name: String,
    pub value: Option<String>,
}

/// A command line split into options and operands.
#[derive(Debug, Default)]
pub(super) struct Parsed<'a> {
    pub opts: Vec<Opt>,
    /// Operands with their index in the argument list.
    pub operands: Vec<(usize, &'a Arg)>,
    /// The index after a `--` that ended the options: every argument from there on is an
    /// operand, which the program cannot take for an option whatever it expands to.
    pub operands_only: Option<usize>,
}

impl Parsed<'_> {
    /// Whether `name` was given.
    pub fn has(&self, name: &str) -> bool {
        self.opts.iter().any(|o| o.name == name)
    }

    /// Whether any of `names` was given.
    pub fn any(&self, names: &[&str]) -> bool {
        self.opts.iter().any(|o| names.contains(&o.name.as_str()))
    }

    /// The value of the last `name` given (getopt lets a later one win).
    pub fn value(&self, name: &str) -> Option<&str> {
        self.opts
            .iter()
            .rev()
            .find(|o| o.name == name)
            .and_then(|o| o.value.as_deref())
    }

    /// Every value given for `name`, in order.
    pub fn values<'s>(&'s self, name: &'s str) -> impl Iterator<Item = &'s str> + 's {
        self.opts
            .iter()
            .filter(move |o| o.name == name)
            .filter_map(|o| o.value.as_deref())
    }

    /// Operand texts.
    pub fn texts(&self) -> Vec<&str> {
        self.operands.iter().map(|(_, a)| a.text.as_str()).collect()
    }

    /// The operand texts, refusing a glob: where an operand's position or number matters
    /// (a subcommand, a second operand that is written), a glob could shift them.
    pub fn exact(&self) -> Result<Vec<&str>, String> {
        if let Some((_, a)) = self.operands.iter().find(|(_, a)| a.glob) {
            return Err(format!(
                "`{}` is a glob, which could stand for other words here",
                a.text
            ));
        }
        Ok(self.texts())
    }
}

/// Splits `args` by `opts`; any option not in `opts` is an error that names it.
pub(super) fn parse<'a>(args: &'a [Arg], opts: &Opts) -> Result<Parsed<'a>, String> {
    parse_from(args, opts, false).map(|(p, _)| p)
}

/// Parses the options before the first operand (a subcommand); returns them with that
/// operand's index (`args.len()` when there is none).
pub(super) fn parse_head<'a>(args: &'a [Arg], opts: &Opts) -> Result<(Parsed<'a>, usize), String> {
    parse_from(args, opts, true)
}

/// The value of an option that takes the next argument: it must exist, and must not be a glob
/// (which could expand into several words and shift everything after it).
fn next_value(args: &[Arg], k: usize, name: &str) -> Result<String, String> {
    let a = args
        .get(k)
        .ok_or_else(|| format!("`{name}` needs a value"))?;
    if a.glob {
        return Err(format!(
            "the value of `{name}` is a glob, which could expand into several words"
        ));
    }
    Ok(a.text.clone())
}

/// An attached value (`-n5`, `--lines=5`) must not come from a glob either: the program sees
/// each expansion, not the text checked here.
fn attached(a: &Arg, name: &str, value: String) -> Result<String, String> {
    if a.glob {
        return Err(format!(
            "the value of `{name}` is a glob, which could expand into other values"
        ));
    }
    Ok(value)
}

fn parse_from<'a>(
    args: &'a [Arg],
    opts: &Opts,
    stop_at_operand: bool,
) -> Result<(Parsed<'a>, usize), String> {
    let mut out = Parsed::default();
    let mut k = 0;
    let mut only_operands = false;
    while k < args.len() {
        let a = &args[k];
        let t = a.text.as_str();
        if only_operands || !t.starts_with('-') || t == "-" {
            if stop_at_operand {
                return Ok((out, k));
            }
            out.operands.push((k, a));
            k += 1;
            continue;
        }
        if t == "--" {
            if opts.own_parser {
                return Err("`--` may not end this program's options".into());
            }
            only_operands = true;
            k += 1;
            out.operands_only = Some(k);
            if stop_at_operand {
                return Ok((out, k));
            }
            continue;
        }
        let long = if opts.words {
            Some(t.strip_prefix("--").unwrap_or(&t[1..]))
        } else {
            t.strip_prefix("--")
        };
        if let Some(long) = long {
            let (name, value) = match long.split_once('=') {
                Some((n, v)) => (n, Some(v.to_string())),
                None => (long, None),
            };
            let shown = if opts.words {
                format!("-{name}")
            } else {
                format!("--{name}")
            };
            let attached = value.map(|v| attached(a, &shown, v)).transpose()?;
            let value = if opts.long.contains(&name) && attached.is_none() {
                None
            } else if opts.long_optional.contains(&name) {
                attached
            } else if opts.long_valued.contains(&name) {
                Some(match attached {
                    Some(v) => v,
                    None => {
                        k += 1;
                        next_value(args, k, &shown)?
                    }
                })
            } else if opts.long_pair.contains(&name) && attached.is_none() {
                let first = next_value(args, k + 1, &shown)?;
                next_value(args, k + 2, &shown)?;
                k += 2;
                Some(first)
            } else {
                return Err(format!("`{shown}` is not known to be read-only"));
            };
            out.opts.push(Opt {
                name: name.into(),
                value,
            });
            k += 1;
            continue;
        }
        let body = &t[1..];
        if opts.numeric && body.chars().all(|c| c.is_ascii_digit()) {
            out.opts.push(Opt {
                name: "NUM".into(),
                value: Some(body.into()),
            });
            k += 1;
            continue;
        }
        let chars: Vec<char> = body.chars().collect();
        let mut j = 0;
        while j < chars.len() {
            let c = chars[j];
            if opts.flags.contains(c) {
                out.opts.push(Opt {
                    name: c.to_string(),
                    value: None,
                });
                j += 1;
            } else if opts.valued.contains(c) {
                let rest: String = chars[j + 1..].iter().collect();
                let value = if rest.is_empty() {
                    k += 1;
                    next_value(args, k, &format!("-{c}"))?
                } else {
                    attached(a, &format!("-{c}"), rest)?
                };
                out.opts.push(Opt {
                    name: c.to_string(),
                    value: Some(value),
                });
                break;
            } else if opts.optional.contains(c) {
                let rest: String = chars[j + 1..].iter().collect();
                let value = if rest.is_empty() {
                    None
                } else {
                    Some(attached(a, &format!("-{c}"), rest)?)
                };
                out.opts.push(Opt {
                    name: c.to_string(),
                    value,
                });
                break;
            } else {
                return Err(format!("`-{c}` is not known to be read-only"));
            }
        }
        k += 1;
    }
    Ok((out, args.len()))
}

/// A check of a program's own: the parsed line and the raw arguments it was parsed from; may
/// name an inner command (a range of those arguments).
pub(super) type Check = fn(&Parsed, &[Arg]) -> Result<Option<Range<usize>>, String>;

/// A check that reads the raw arguments itself.
pub(super) type RawCheck = fn(&[Arg]) -> Result<Option<Range<usize>>, String>;

/// How a program's operands are checked once its options are.
#[derive(Clone, Copy)]
pub(super) enum Operands {
    /// Any number (files read, patterns, names).
    Any,
    /// At most this many: one more would be written to (`uniq IN OUT`). Globs are refused,
    /// since they can expand to more.
    AtMost(usize),
    /// None at all.
    NoneAllowed,
    /// A check of its own.
    Custom(Check),
    /// A check of its own that reads the options itself (`xxd`, `lsof`, `find`): the
    /// arguments are not parsed by the options table first.
    Raw(RawCheck),
    /// The first operand (after the program's own options) names a subcommand, each with
    /// its own options and operands; any other subcommand is not proven.
    Subs(&'static [Sub]),
}

/// The first operand must be one of `verbs` (`""` allows none at all), each with the most
/// operands it may have after it (`usize::MAX`: any number). Used by the `systemd` tools
/// (`systemctl status UNIT…`), whose options may stand anywhere on the line.
pub(super) fn verb(prog: &str, p: &Parsed, verbs: &[(&str, usize)]) -> Result<(), String> {
    let ops = p.exact()?;
    let (first, rest) = match ops.split_first() {
        Some((f, r)) => (*f, r.len()),
        None => ("", 0),
    };
    match verbs.iter().find(|(v, _)| *v == first) {
        Some((_, max)) if rest <= *max => Ok(()),
        Some(_) => Err(format!(
            "`{prog} {first}` with these operands changes something"
        )),
        None => Err(format!(
            "`{prog} {first}` is not a subcommand known to be read-only"
        )),
    }
}

/// One subcommand of a program: `zpool status`, `ceph osd tree`.
pub(super) struct Sub {
    /// The words that name it, in order; `&[]` is the program without a subcommand.
    pub words: &'static [&'static str],
    pub opts: Opts,
    pub operands: Operands,
}

/// A subcommand with `opts` and any operands.
pub(super) const fn sub(words: &'static [&'static str], opts: Opts) -> Sub {
    Sub {
        words,
        opts,
        operands: Operands::Any,
    }
}

/// A subcommand with `opts` and no operands.
pub(super) const fn sub0(words: &'static [&'static str], opts: Opts) -> Sub {
    Sub {
        words,
        opts,
        operands: Operands::NoneAllowed,
    }
}

/// One read-only program.
pub(super) struct Reader {
    pub names: &'static [&'static str],
    pub what: &'static str,
    /// Its options (for a program with subcommands, those before the subcommand).
    pub opts: Opts,
    pub operands: Operands,
}

/// Proves that `prog args…` only reads; the error says why it is not proven.
pub(super) fn prove(prog: &str, args: &[Arg]) -> Result<Proof, String> {
    if let Some(a) = args.iter().find(|a| a.dynamic) {
        return Err(format!("`{}` is only known at run time", a.text));
    }
    let Some(reader) = TABLES
        .iter()
        .flat_map(|t| t.iter())
        .find(|r| r.names.contains(&prog))
    else {
        return Err(format!("`{prog}` is not a program known to only read"));
    };
    let (inner, operands_from) = check(prog, &reader.opts, reader.operands, args)?;
    if let Some(a) = args[..operands_from].iter().find(|a| a.may_become_option()) {
        return Err(format!("`{}` could expand to an option", a.text));
    }
    Ok(Proof {
        what: reader.what,
        inner,
    })
}

/// What a check found: the inner command, if any, and the index from which every argument
/// is an operand after a `--` the program honours (`args.len()` when there is none).
type Checked = Result<(Option<Range<usize>>, usize), String>;

/// Checks `args` against one option table and operand rule.
fn check(prog: &str, opts: &Opts, operands: Operands, args: &[Arg]) -> Checked {
    match operands {
        Operands::Subs(subs) => return check_subs(prog, opts, subs, args),
        // A program that reads its own options: no word is known to be past them.
        Operands::Raw(f) => return f(args).map(|inner| (inner, args.len())),
        _ => {}
    }
    let parsed = parse(args, opts)?;
    let operands_from = parsed.operands_only.unwrap_or(args.len());
    let inner = match operands {
        Operands::Any | Operands::Subs(_) | Operands::Raw(_) => None,
        Operands::NoneAllowed if parsed.operands.is_empty() => None,
        Operands::NoneAllowed => {
            return Err(format!("`{prog}` with an operand may change something"));
        }
        Operands::AtMost(n) => {
            if parsed.operands.len() > n {
                return Err(format!("`{prog}` writes to its operand number {}", n + 1));
            }
            if parsed.operands.iter().any(|(_, a)| a.glob) {
                return Err(format!(
                    "a glob could give `{prog}` an operand it writes to"
                ));
            }
            None
        }
        Operands::Custom(f) => f(&parsed, args)?,
    };
    Ok((inner, operands_from))
}

/// `prog [options] SUB… [sub options and operands]`. Only the subcommand's own `--` ends
/// options: the words before the subcommand are never past them.
fn check_subs(prog: &str, opts: &Opts, subs: &[Sub], args: &[Arg]) -> Checked {
    let (_, k) = parse_head(args, opts)?;
    let rest = &args[k..];
    let matches = |s: &&Sub| {
        s.words.len() <= rest.len()
            && s.words
                .iter()
                .zip(rest)
                .all(|(w, a)| !a.glob && a.text == *w)
            && (!s.words.is_empty() || rest.is_empty())
    };
    let Some(found) = subs.iter().filter(matches).max_by_key(|s| s.words.len()) else {
        let shown = rest.first().map_or("", |a| a.text.as_str());
        return Err(format!(
            "`{prog} {shown}` is not a subcommand known to be read-only"
        ));
    };
    let name = format!("{prog} {}", found.words.join(" "));
    let start = k + found.words.len();
    let (inner, from) = check(name.trim_end(), &found.opts, found.operands, &args[start..])?;
    Ok((inner.map(|r| r.start + start..r.end + start), from + start))
}
