//! What a command writes: protected trees and the server's own files, archive extraction
//! targets, and the targets of links.

use super::super::Protected;
use super::super::paths::{self, Hit};
use super::super::walk::{Arg, Walker, escape_glob};
use super::GUEST_CONFIG_NOTE;
use crate::policy::Class::{self, Destructive, Exec};

impl Walker<'_> {
    /// Checks one argument of a writing command against protected trees and server files.
    pub(super) fn check_path(
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
                t[pos + 1..].to_string(),
                a.pattern
                    .split_once('=')
                    .map(|(_, p)| p)
                    .unwrap_or("")
                    .to_string(),
            )
        } else if t.starts_with('-') {
            match (t.find('/'), a.pattern.find('/')) {
                (Some(x), Some(y)) => (t[x..].to_string(), a.pattern[y..].to_string()),
                _ => return,
            }
        } else if matches!(prog, "scp" | "rsync") && !t.starts_with('/') && t.contains(':') {
            let after = |s: &str| {
                s.split_once(':')
                    .map(|(_, p)| p.to_string())
                    .unwrap_or_default()
            };
            let (x, y) = (after(t), after(&a.pattern));
            // A remote path is relative to the remote user's home.
            let (x, y) = if x.starts_with('/') {
                (x, y)
            } else {
                (format!("/root/{x}"), format!("/root/{y}"))
            };
            return self.check_write(&x, &y, recursive);
        } else {
            (t.to_string(), a.pattern.clone())
        };
        if text.is_empty() || a.dynamic {
            return;
        }
        let Some(all) = self.absolute(&text) else {
            *class = (*class).max(Destructive);
            notes.push(format!("`{text}` is relative to an unknown directory"));
            return;
        };
        let patterns = self.absolute(&pattern).unwrap_or_default();
        for (norm, pat) in all
            .iter()
            .zip(patterns.iter().chain(std::iter::repeat(&String::new())))
        {
            if paths::is_guest_config(norm) {
                *class = (*class).max(Destructive);
                notes.push(GUEST_CONFIG_NOTE.into());
            }
            if let Some(what) = super::super::effects::raw_target(norm) {
                *class = (*class).max(Destructive);
                notes.push(what);
            }
            if let Some(what) = super::super::effects::persistence(norm) {
                *class = (*class).max(Exec);
                notes.push(format!("writes {what}"));
            }
            let pat = if pat.is_empty() {
                escape_glob(norm)
            } else {
                pat.clone()
            };
            self.check_write(norm, &pat, recursive);
        }
    }

    /// A written path (normalised) and its glob pattern against protected trees and the
    /// server's own files; `recursive` writers also hit the trees below a parent.
    pub(in crate::policy::command) fn check_write(
        &mut self,
        norm: &str,
        pattern: &str,
        recursive: bool,
    ) {
        let norm = paths::normalize(norm, Some("/")).unwrap_or_default();
        let pattern = paths::normalize(pattern, Some("/")).unwrap_or_default();
        match paths::protected_hit(&pattern) {
            Some((_, Hit::Inside)) => self.protect(Protected::ProtectedPath(norm.clone())),
            Some((prot, Hit::Ancestor)) if recursive => self.protect(Protected::ProtectedPath(
                format!("{norm} (contains {prot})"),
            )),
            _ => {}
        }
        match paths::tree_hit(&pattern, &self.ctx.server.guarded, recursive) {
            Some((_, Hit::Inside)) => self.protect(Protected::ServerState(norm)),
            Some((tree, Hit::Ancestor)) => {
                self.protect(Protected::ServerState(format!("{norm} (contains {tree})")))
            }
            None => {}
        }
    }

    /// Where an archive extraction writes: `-C DIR`/`--directory`, `unzip -d DIR`, `cpio -D`,
    /// else the working directory; `None` when `prog args` extracts nothing.
    pub(super) fn extraction_targets(&mut self, prog: &str, args: &[Arg]) -> Option<Vec<String>> {
        let texts: Vec<&str> = args.iter().map(|a| a.text.as_str()).collect();
        let bundled = texts
            .first()
            .is_some_and(|f| !f.starts_with('-') && f.contains('x'));
        let extracts = match prog {
            "tar" | "bsdtar" => {
                bundled
                    || texts.iter().any(|t| {
                        *t == "--extract"
                            || *t == "--get"
                            || (t.starts_with('-') && !t.starts_with("--") && t.contains('x'))
                    })
            }
            "unzip" => !texts
                .iter()
                .any(|t| matches!(*t, "-l" | "-t" | "-Z" | "-v" | "-p")),
            "cpio" => texts.iter().any(|t| {
                *t == "-i"
                    || *t == "--extract"
                    || (t.starts_with('-') && !t.starts_with("--") && t.contains('i'))
            }),
            _ => false,
        };
        if !extracts {
            return None;
        }
        let flag = match prog {
            "unzip" => "-d",
            "cpio" => "-D",
            _ => "-C",
        };
        let mut dirs: Vec<String> = Vec::new();
        for (k, t) in texts.iter().enumerate() {
            let value = if *t == flag || *t == "--directory" {
                texts.get(k + 1).copied()
            } else {
                t.strip_prefix("--directory=")
            };
            if let Some(v) = value {
                dirs.push(v.to_string());
            }
        }
        let mut out = Vec::new();
        if dirs.is_empty() {
            out.extend(
                self.cwds()
                    .map(<[String]>::to_vec)
                    .unwrap_or_else(|| vec!["/".into()]),
            );
        }
        for d in dirs {
            out.extend(self.absolute(&d).unwrap_or_else(|| vec!["/".into()]));
        }
        Some(out)
    }

    /// `ln -s TARGET LINK`: a relative TARGET is resolved from the link's directory, and a link
    /// to a protected tree or a secret is as good as writing or reading it.
    pub(super) fn link_targets(&mut self, args: &[Arg]) {
        let texts: Vec<&str> = args.iter().map(|a| a.text.as_str()).collect();
        let mut dir_opt = None;
        let mut operands: Vec<&Arg> = Vec::new();
        let mut k = 0;
        while k < args.len() {
            let t = texts[k];
            if t == "-t" || t == "--target-directory" || t == "-S" || t == "--suffix" {
                if t.starts_with("-t") || t.starts_with("--target") {
                    dir_opt = texts.get(k + 1).map(|d| d.to_string());
                }
                k += 2;
                continue;
            }
            if let Some(d) = t.strip_prefix("--target-directory=") {
                dir_opt = Some(d.to_string());
            } else if !t.starts_with('-') || t == "-" {
                operands.push(&args[k]);
            }
            k += 1;
        }
        let (targets, link) = match (&dir_opt, operands.split_last()) {
            (Some(_), _) => (operands.clone(), None),
            (None, Some((last, rest))) if !rest.is_empty() => (rest.to_vec(), Some(*last)),
            _ => (operands.clone(), None),
        };
        // Where the link lives: the -t directory, or the link itself (a directory) and its parent.
        let mut bases: Vec<String> = Vec::new();
        if let Some(d) = &dir_opt {
            bases.push(d.clone());
        }
        if let Some(l) = link {
            bases.push(l.text.clone());
            if let Some((parent, _)) = l.text.trim_end_matches('/').rsplit_once('/') {
                bases.push(if parent.is_empty() {
                    "/".into()
                } else {
                    parent.into()
                });
            }
        }
        for t in targets {
            let mut candidates = vec![t.text.clone()];
            if !t.text.starts_with('/') {
                candidates.extend(bases.iter().map(|b| format!("{b}/{}", t.text)));
            }
            for c in candidates {
                self.check_secret_path(&Arg::literal(&c), true);
                if let Some(all) = self.absolute(&c) {
                    for p in all {
                        self.check_write(&p, &escape_glob(&p), true);
                    }
                }
            }
        }
    }
}
