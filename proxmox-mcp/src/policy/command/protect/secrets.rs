//! What a command reads: secrets named by path, option value or inline code, commands that
//! print secrets by design, and which programs read contents or whole trees.

use super::super::Protected;
use super::super::paths::{self, Hit};
use super::super::walk::{Arg, Walker, escape_glob};

impl Walker<'_> {
    /// Refuses reading a secret through an argument: a path, an option value (`if=/etc/shadow`,
    /// `--file=…`, `-f/…`) or a path inside inline code.
    pub(in crate::policy::command) fn check_secrets(&mut self, prog: &str, args: &[Arg]) {
        let texts: Vec<String> = args.iter().map(|a| a.text.clone()).collect();
        // `find` itself shows names; what it runs on each file may read them.
        let runs_reader = texts.windows(2).any(|w| {
            matches!(w[0].as_str(), "-exec" | "-execdir" | "-ok" | "-okdir")
                && !NO_CONTENT.contains(&w[1].rsplit('/').next().unwrap_or_default())
        });
        if NO_CONTENT.contains(&prog) || (prog == "find" && !runs_reader) {
            // They show names only, but some read a list of names from a file, and print what
            // they cannot find: that file's content (`wc --files0-from=/etc/shadow`).
            for (k, t) in texts.iter().enumerate() {
                let value = NAME_FILE_OPTIONS.iter().find_map(|o| {
                    if t == o {
                        args.get(k + 1).cloned()
                    } else {
                        t.strip_prefix(o)
                            .and_then(|v| v.strip_prefix('='))
                            .map(Arg::literal)
                    }
                });
                if let Some(v) = value {
                    self.check_secret_path(&v, false);
                }
            }
            return;
        }
        let recursive = reads_recursively(prog, &texts);
        let skip = destinations(prog, &texts);
        if CONTENT_READERS.contains(&prog) {
            // Whole disks hold every secret on them.
            let sources = args.iter().enumerate().filter(|(k, a)| {
                !skip.contains(k) && (!a.text.starts_with('-') || a.text.contains("=/"))
            });
            for (_, a) in sources {
                let path = a
                    .text
                    .split_once("=/")
                    .map_or(a.text.clone(), |(_, p)| format!("/{p}"));
                if let Some(all) = self.absolute(&path) {
                    for p in all {
                        if paths::is_block_device(&p) {
                            self.protect(Protected::SecretRead(format!(
                                "{p} (a disk holds every secret on it)"
                            )));
                        }
                    }
                }
            }
        }
        for (k, a) in args.iter().enumerate() {
            if skip.contains(&k) {
                continue;
            }
            for (text, pattern) in path_candidates(a) {
                let arg = Arg {
                    text,
                    pattern,
                    dynamic: a.dynamic,
                    glob: a.glob,
                };
                // A word computed at run time may be any file, but not every tree: its text is
                // scanned as a whole, and only a secret it may be counts here.
                self.check_secret_path(&arg, recursive && !a.dynamic);
            }
        }
    }

    /// Refuses reading `target` (a path, relative or absolute, glob or not) when it is, or may
    /// be, a secret; for a `recursive` reader, also when it holds one.
    pub(in crate::policy::command) fn check_secret_path(&mut self, target: &Arg, recursive: bool) {
        if target.text.is_empty() {
            return;
        }
        let Some(all) = self.absolute(&target.text) else {
            self.unresolve(format!(
                "`{}` is relative to a directory only known at run time",
                target.text
            ));
            return;
        };
        let patterns = self.absolute(&target.pattern).unwrap_or_default();
        for (norm, pat) in all.iter().zip(patterns.iter()) {
            let hit = paths::secret_hit(pat, recursive)
                .map(|(s, h)| (s.to_string(), h))
                .or_else(|| {
                    paths::tree_hit(pat, &self.ctx.server.secrets, recursive)
                        .map(|(s, h)| (s.to_string(), h))
                });
            match hit {
                Some((_, Hit::Inside)) => self.protect(Protected::SecretRead(norm.clone())),
                Some((secret, Hit::Ancestor)) => self.protect(Protected::SecretRead(format!(
                    "{norm} (it contains {secret})"
                ))),
                None => {}
            }
        }
    }

    /// Commands that print secrets by design: `getent shadow`, `ceph auth get`.
    pub(super) fn secret_commands(&mut self, prog: &str, args: &[Arg]) {
        let words: Vec<&str> = args
            .iter()
            .map(|a| a.text.as_str())
            .filter(|a| !a.starts_with('-'))
            .collect();
        let hit = match (prog, words.as_slice()) {
            ("getent", [db, ..]) => matches!(*db, "shadow" | "gshadow"),
            ("ceph", ["auth", verb, ..]) => !matches!(*verb, "help"),
            ("ceph", ["config-key", verb, ..]) => matches!(*verb, "get" | "dump" | "export"),
            ("rbd" | "rados", _) => args.iter().any(|a| a.text.starts_with("--keyring")),
            _ => false,
        };
        if hit {
            self.protect(Protected::SecretRead(format!(
                "`{prog} {}`",
                words.join(" ")
            )));
        }
    }
}

/// Programs that show only names or metadata, print their arguments, or change files without
/// printing them: naming a secret is harmless for them.
const NO_CONTENT: &[&str] = &[
    "ls", "dir", "vdir", "stat", "test", "[", "[[", "file", "namei", "realpath", "readlink",
    "basename", "dirname", "du", "df", "ncdu", "tree", "lsattr", "getfacl", "which", "whereis",
    "type", "wc", "echo", "printf", "touch", "mkdir", "rm", "rmdir", "unlink", "shred", "truncate",
    "chmod", "chown", "chgrp", "chattr", "setfacl", "findmnt", "lsof", "tee",
];

/// Options with which a names-only program reads its list of names from a file.
const NAME_FILE_OPTIONS: &[&str] = &[
    "--files0-from",
    "--files-from",
    "--fromfile",
    "--magic-file",
    "--exclude-from",
    "--from-file",
    "-f",
    "-m",
    "-T",
    "-X",
    "-F",
];

/// Programs that print or copy the bytes they read: a whole disk is off limits to them.
const CONTENT_READERS: &[&str] = &[
    "cat", "tac", "head", "tail", "dd", "strings", "grep", "egrep", "fgrep", "zgrep", "rg", "xxd",
    "od", "hexdump", "hd", "base64", "base32", "basenc", "less", "more", "sed", "awk", "gawk",
    "mawk", "sort", "uniq", "cut", "tr", "cmp", "diff", "sdiff", "comm", "nl", "fold", "rev", "cp",
    "rsync", "scp", "tar", "zip", "gzip", "xz", "zstd", "bzip2", "lz4", "pv", "split", "jq", "yq",
    "qemu-img", "tee", "socat", "nc", "ncat", "curl", "wget",
];

/// Programs that copy their sources somewhere: their secret sources are reported as reads.
pub(super) const COPIERS: &[&str] = &[
    "cp", "mv", "install", "ln", "scp", "rsync", "dd", "tar", "bsdtar", "openssl", "curl", "zip",
    "mount", "cpio", "pax",
];

/// Indices of arguments that name where a copier writes, not what it reads: the last of
/// several operands of `cp`/`mv`/`install`/`ln`/`scp`/`rsync`, `dd of=`, `-out`/`-o` values.
fn destinations(prog: &str, args: &[String]) -> Vec<usize> {
    let after = |flags: &[&str]| -> Vec<usize> {
        args.iter()
            .enumerate()
            .filter(|(_, a)| flags.contains(&a.as_str()))
            .map(|(k, _)| k + 1)
            .collect()
    };
    match prog {
        "cp" | "mv" | "install" | "ln" | "scp" | "rsync" => {
            let mut out = after(&["-t", "--target-directory"]);
            let operands: Vec<usize> = (0..args.len())
                .filter(|&k| !args[k].starts_with('-') && !out.contains(&k))
                .collect();
            if operands.len() >= 2 && out.is_empty() {
                out.extend(operands.last());
            }
            out
        }
        "dd" => (0..args.len())
            .filter(|&k| args[k].starts_with("of="))
            .collect(),
        "openssl" => after(&["-out"]),
        "curl" => after(&["-o", "--output"]),
        _ => Vec::new(),
    }
}

/// Whether `prog` reads whole directory trees, so a parent of a secret counts.
fn reads_recursively(prog: &str, args: &[String]) -> bool {
    let short = |c: char| {
        args.iter()
            .any(|a| a.starts_with('-') && !a.starts_with("--") && a[1..].contains(c))
    };
    let long = |flags: &[&str]| {
        args.iter().any(|a| {
            flags
                .iter()
                .any(|f| a == f || a.starts_with(&format!("{f}=")))
        })
    };
    match prog {
        // A link or a bind mount exposes everything below its source; comparing directories
        // reads the files in them.
        "ln" | "diff" | "sdiff" => true,
        "mount" => {
            long(&["--bind", "--rbind", "-B", "-R"])
                || args
                    .windows(2)
                    .any(|w| w[0] == "-o" && w[1].split(',').any(|o| o == "bind" || o == "rbind"))
        }
        "cp" | "scp" | "zip" => {
            short('r') || short('R') || short('a') || long(&["--recursive", "--archive"])
        }
        "rsync" => short('r') || short('a') || long(&["--recursive", "--archive"]),
        "cpio" | "pax" => true,
        "grep" | "egrep" | "fgrep" | "zgrep" => {
            short('r')
                || short('R')
                || args
                    .iter()
                    .any(|a| a.starts_with("--recursive") || a == "--directories=recurse")
        }
        "rg" | "ag" | "ack" | "find" => true,
        "tar" | "bsdtar" => {
            let flags = args.first().map(String::as_str).unwrap_or("");
            let bundled = !flags.starts_with('-') && !flags.is_empty();
            let create = args.iter().any(|a| a == "--create")
                || short('c')
                || (bundled && flags.contains('c'));
            let file = args.iter().position(|a| {
                a == "-f" || a == "--file" || (bundled && flags.contains('f') && a == flags)
            });
            let to_stdout = match file {
                Some(k) => args.get(k + 1).is_none_or(|f| f == "-"),
                None => !args
                    .iter()
                    .any(|a| a.starts_with("--file=") && a != "--file=-"),
            };
            create && to_stdout
        }
        _ => false,
    }
}

/// The path texts in one argument, each with its glob pattern: the argument itself (or its
/// option value), and every absolute path inside it (inline code, `user@host:/path`, `@file`).
fn path_candidates(a: &Arg) -> Vec<(String, String)> {
    let t = a.text.as_str();
    let mut out = Vec::new();
    if let Some((_, value)) = t.split_once('=').filter(|_| !t.starts_with('/')) {
        let pattern = a.pattern.split_once('=').map(|(_, p)| p).unwrap_or("");
        out.push((value.to_string(), pattern.to_string()));
    } else if t.starts_with('-') {
        if let (Some(x), Some(y)) = (t.find('/'), a.pattern.find('/')) {
            out.push((t[x..].to_string(), a.pattern[y..].to_string()));
        }
    } else if !t.is_empty() {
        out.push((t.to_string(), a.pattern.clone()));
    }
    if !a.dynamic {
        let delim = |c: char| {
            c.is_whitespace()
                || matches!(
                    c,
                    '\'' | '"'
                        | '`'
                        | '('
                        | ')'
                        | '='
                        | '@'
                        | ':'
                        | ','
                        | ';'
                        | '<'
                        | '>'
                        | '|'
                        | '&'
                        | '{'
                        | '}'
                        | '['
                        | ']'
                )
        };
        let mut prev = None;
        for (i, c) in t.char_indices() {
            if c == '/' && prev.is_some_and(delim) {
                let rest = &t[i..];
                let end = rest.find(delim).unwrap_or(rest.len());
                let token = rest[..end].to_string();
                out.push((token.clone(), escape_glob(&token)));
            }
            prev = Some(c);
        }
    }
    out
}
