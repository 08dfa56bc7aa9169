//! Applying a knowledge-base verdict to one command: inner commands, escalation when targets are
//! computed at run time, root protection of paths, accounts and the own node, and secrets a
//! command would read.

use super::Protected;
use super::classify::{Arg, Stdin, Walker};
use super::knowledge::Verdict;
use super::paths::{self, Hit};
use crate::policy::Class::{self, Destructive, Modify};

impl Walker<'_> {
    /// Applies a knowledge-base verdict: inner commands, protection checks, escalation.
    pub(super) fn apply(&mut self, prog: &str, argv: &[Arg], mut verdict: Verdict, stdin: &Stdin) {
        let args = &argv[1..];
        for r in std::mem::take(&mut verdict.inner) {
            let inner: Vec<Arg> = args[r]
                .iter()
                .map(|a| {
                    if a.text.contains("{}") {
                        Arg::placeholder(&a.text)
                    } else {
                        a.clone()
                    }
                })
                .collect();
            self.inner(prog, &inner, &Stdin::Unknown);
        }
        let mutating = verdict.class >= Modify;
        let mut class = verdict.class;
        let mut notes = Vec::new();
        if mutating && matches!(class, Modify | Destructive) && args.iter().any(|a| a.dynamic) {
            class = class.max(Destructive);
            notes.push(
                "an argument is computed at run time, so its target cannot be checked".to_string(),
            );
        }
        // Copiers read their sources: a secret source is reported as read, not as written.
        let sources_first = COPIERS.contains(&prog);
        if sources_first {
            self.check_secrets(prog, args);
        }
        if verdict.writes && mutating {
            for a in args {
                self.check_path(prog, a, verdict.recursive, &mut class, &mut notes);
            }
        }
        if verdict.accounts && mutating {
            for a in args {
                let hay = paths::decode_lower(&a.text);
                if paths::names_account(&hay, "root@pam") {
                    self.protect(Protected::RootAccount(a.text.clone()));
                }
                for own in [self.ctx.own_user, self.ctx.own_token]
                    .into_iter()
                    .flatten()
                {
                    if paths::names_account(&hay, &own.to_lowercase()) {
                        self.protect(Protected::OwnIdentity(a.text.clone()));
                    }
                }
            }
        }
        if verdict.unix_user {
            let named: Vec<&Arg> = args.iter().filter(|a| !a.text.starts_with('-')).collect();
            if named
                .iter()
                .any(|a| a.text.eq_ignore_ascii_case("root") || a.text == "0")
                || (prog == "passwd" && named.is_empty())
            {
                self.protect(Protected::RootAccount("root".into()));
            }
        }
        if verdict.node && mutating {
            self.check_node(prog, args);
        }
        if !sources_first {
            self.check_secrets(prog, args);
        }
        match prog {
            "chpasswd" | "newusers" => match stdin {
                Stdin::Text(t) | Stdin::Pipe(Some(t))
                    if t.lines()
                        .any(|l| l.trim().to_lowercase().starts_with("root:")) =>
                {
                    self.protect(Protected::RootAccount("root".into()))
                }
                Stdin::Text(_) | Stdin::Pipe(Some(_)) => {}
                _ => {
                    class = class.max(Destructive);
                    notes
                        .push("reads passwords from input that cannot be checked (root's?)".into());
                }
            },
            "visudo" => self.protect(Protected::ProtectedPath("/etc/sudoers".into())),
            "vipw" | "vigr" => self.protect(Protected::ProtectedPath("/etc/passwd".into())),
            "ssh-copy-id" => {
                let target = args.iter().rev().find(|a| !a.text.starts_with('-'));
                if target.is_none_or(|t| {
                    !t.text.contains('@') || t.text.to_lowercase().starts_with("root@")
                }) {
                    self.protect(Protected::ProtectedPath(
                        "/root/.ssh/authorized_keys (on the remote node)".into(),
                    ));
                }
            }
            _ => {}
        }
        let mut explanation = verdict.explanation;
        for n in notes {
            explanation.push_str("; ");
            explanation.push_str(&n);
        }
        self.push(argv, class, &explanation);
        if let Some(last) = self.parts.last_mut() {
            last.reversible = verdict.reversible && class < Destructive;
        }
    }

    fn check_path(
        &mut self,
        prog: &str,
        a: &Arg,
        recursive: bool,
        class: &mut Class,
        notes: &mut Vec<String>,
    ) {
        let t = a.text.as_str();
        let (text, pattern) = if let Some(pos) = t.find('=').filter(|_| !t.starts_with('/')) {
            (
                &t[pos + 1..],
                a.pattern.split_once('=').map(|(_, p)| p).unwrap_or(""),
            )
        } else if t.starts_with('-') {
            match (t.find('/'), a.pattern.find('/')) {
                (Some(x), Some(y)) => (&t[x..], &a.pattern[y..]),
                _ => return,
            }
        } else if matches!(prog, "scp" | "rsync") && !t.starts_with('/') && t.contains(':') {
            let after = |s: &'_ str| {
                s.split_once(':')
                    .map(|(_, p)| p.to_string())
                    .unwrap_or_default()
            };
            let (x, y) = (after(t), after(&a.pattern));
            let (x, y) = if x.starts_with('/') {
                (x, y)
            } else {
                (format!("/root/{x}"), format!("/root/{y}"))
            };
            return self.check_norm(&x, &y, recursive);
        } else {
            (t, a.pattern.as_str())
        };
        if text.is_empty() || a.dynamic {
            return;
        }
        let Some(norm) = paths::normalize(text, self.cwd.as_deref()) else {
            *class = (*class).max(Destructive);
            notes.push(format!("`{text}` is relative to an unknown directory"));
            return;
        };
        let pat = paths::normalize(pattern, self.cwd.as_deref()).unwrap_or_default();
        if paths::is_guest_config(&norm) {
            *class = (*class).max(Destructive);
            notes.push(GUEST_CONFIG_NOTE.into());
        }
        self.check_norm(&norm, &pat, recursive);
    }

    fn check_norm(&mut self, norm: &str, pattern: &str, recursive: bool) {
        let norm = paths::normalize(norm, Some("/")).unwrap_or_default();
        let pattern = paths::normalize(pattern, Some("/")).unwrap_or_default();
        match paths::protected_hit(&pattern) {
            Some((_, Hit::Inside)) => self.protect(Protected::ProtectedPath(norm)),
            Some((prot, Hit::Ancestor)) if recursive => self.protect(Protected::ProtectedPath(
                format!("{norm} (contains {prot})"),
            )),
            _ => {}
        }
    }

    /// Refuses reading a secret ([`paths::SECRETS`]) through an argument: a path, an option
    /// value (`if=/etc/shadow`, `--file=…`, `-f/…`) or a path inside inline code.
    pub(super) fn check_secrets(&mut self, prog: &str, args: &[Arg]) {
        let texts: Vec<String> = args.iter().map(|a| a.text.clone()).collect();
        // `find` itself shows names; what it runs on each file may read them.
        let runs_reader = texts.windows(2).any(|w| {
            matches!(w[0].as_str(), "-exec" | "-execdir" | "-ok" | "-okdir")
                && !NO_CONTENT.contains(&w[1].rsplit('/').next().unwrap_or_default())
        });
        if NO_CONTENT.contains(&prog) || (prog == "find" && !runs_reader) {
            return;
        }
        let recursive = reads_recursively(prog, &texts);
        let skip = destinations(prog, &texts);
        for (k, a) in args.iter().enumerate() {
            if skip.contains(&k) {
                continue;
            }
            for (text, pattern) in path_candidates(a) {
                let Some(norm) = paths::normalize(&text, self.cwd.as_deref()) else {
                    continue;
                };
                let pat = paths::normalize(&pattern, self.cwd.as_deref()).unwrap_or_default();
                match paths::secret_hit(&pat, recursive) {
                    Some((_, Hit::Inside)) => self.protect(Protected::SecretRead(norm)),
                    Some((secret, Hit::Ancestor)) => self.protect(Protected::SecretRead(format!(
                        "{norm} (it contains {secret})"
                    ))),
                    None => {}
                }
            }
        }
    }

    /// Refuses an input redirection (`< /etc/shadow`) from a secret.
    pub(super) fn check_secret_redirect(&mut self, target: &Arg) {
        let cwd = self.cwd.as_deref();
        if let (Some(norm), Some(pat)) = (
            paths::normalize(&target.text, cwd),
            paths::normalize(&target.pattern, cwd),
        ) && paths::secret_hit(&pat, false).is_some()
        {
            self.protect(Protected::SecretRead(norm));
        }
    }

    fn check_node(&mut self, prog: &str, args: &[Arg]) {
        let Some(own) = self.ctx.own_node.map(str::to_lowercase) else {
            return;
        };
        let hit = match prog {
            "pvecm" => args
                .get(1)
                .is_some_and(|a| paths::decode_lower(&a.text) == own),
            "pvesh" => args.get(1).is_some_and(|a| {
                let p =
                    paths::normalize(&paths::decode_lower(&a.text), Some("/")).unwrap_or_default();
                let p = p
                    .strip_prefix("/api2/json")
                    .or_else(|| p.strip_prefix("/api2/extjs"))
                    .unwrap_or(&p)
                    .to_string();
                p == format!("/cluster/config/nodes/{own}")
            }),
            _ => false,
        };
        if hit {
            self.protect(Protected::OwnNode(own));
        }
    }
}

/// Why writing a guest's config file directly is Destructive.
pub(super) const GUEST_CONFIG_NOTE: &str =
    "edits a guest's configuration file directly, which can lift its protection";

/// Programs that show only names or metadata, print their arguments, or change files without
/// printing them: naming a secret is harmless for them.
const NO_CONTENT: &[&str] = &[
    "ls", "dir", "vdir", "stat", "test", "[", "[[", "file", "namei", "realpath", "readlink",
    "basename", "dirname", "du", "df", "ncdu", "tree", "lsattr", "getfacl", "which", "whereis",
    "type", "wc", "echo", "printf", "touch", "mkdir", "rm", "rmdir", "unlink", "shred", "truncate",
    "chmod", "chown", "chgrp", "chattr", "setfacl", "findmnt", "lsof", "tee",
];

/// Programs that copy their sources somewhere: their secret sources are reported as reads.
const COPIERS: &[&str] = &[
    "cp", "mv", "install", "ln", "scp", "rsync", "dd", "tar", "bsdtar", "openssl", "curl",
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
    match prog {
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
                out.push((token.clone(), escape(&token)));
            }
            prev = Some(c);
        }
    }
    out
}

/// Glob characters in `s` taken literally.
fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if matches!(c, '*' | '?' | '[' | ']' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::super::{Context, Protected, analyze};

    const CTX: Context = Context {
        own_node: Some("pve1"),
        own_user: Some("mcp@pve"),
        own_token: Some("mcp@pve!mcp"),
    };

    /// Secret reads are refused; naming, listing and public keys are not.
    #[test]
    fn secrets() {
        let secret = |cmd: &str| {
            analyze(cmd, &CTX)
                .protected
                .iter()
                .any(|p| matches!(p, Protected::SecretRead(_)))
        };
        for cmd in [
            "cat /etc/pve/priv/token.cfg",
            "cat /root/.ssh/id_rsa",
            "cat < /etc/shadow",
            "grep -r x /etc",
            "python3 -c 'open(\"/etc/shadow\")'",
            "cd /etc/pve/priv; cat *",
            "cat /etc/$F",
            "find / -name id_rsa -exec base64 {} +",
            "tar -c /etc/pve",
        ] {
            assert!(secret(cmd), "{cmd}");
        }
        for cmd in [
            "cat /root/.ssh/id_rsa.pub",
            "ls -la /etc/pve/priv",
            "grep x /etc",
            "find / -name '*.tmp' -exec rm {} +",
            "tar czf /root/etc.tgz /etc",
            "cat /etc/pve/storage.cfg",
            "echo /etc/shadow",
            "cat $F",
            "cd $DIR && cat shadow",
        ] {
            assert!(!secret(cmd), "{cmd}");
        }
        // A write hit comes first, so the refusal says "writes".
        let a = analyze("sed -i s/a/b/ /etc/shadow", &CTX);
        assert!(
            matches!(a.protected[0], Protected::ProtectedPath(_)),
            "{a:?}"
        );
    }
}
