//! Applying a knowledge-base verdict to one command: inner commands, escalation when targets are
//! computed at run time, and root protection of paths, accounts and the own node.

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
