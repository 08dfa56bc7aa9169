//! Word expansion: quotes, escapes, `$'…'`, braces, `~` and globs expanded as bash does; anything
//! else leaves the word known only at run time.

use super::super::syntax::{Seg, Word};
use super::{Arg, MAX_BRACE_WORDS, Stdin, Walker, escape_glob};

impl Walker<'_> {
    /// Expands one word into the arguments bash would pass (brace expansion may give several).
    pub(in crate::policy::command) fn resolve(&mut self, w: &Word) -> Vec<Arg> {
        let dynamic = w
            .segs
            .iter()
            .any(|s| !matches!(s, Seg::Lit(_) | Seg::Quoted(_) | Seg::Tilde(_)));
        let braces = w
            .segs
            .iter()
            .any(|s| matches!(s, Seg::Lit(t) if t.contains('{')));
        if braces && !dynamic {
            match super::super::braces::expand(&w.segs, MAX_BRACE_WORDS) {
                Some(words) => {
                    return words.iter().map(|segs| self.resolve_segs(segs)).collect();
                }
                None => {
                    self.unresolve("a brace expansion is too large to check");
                    let mut a = self.resolve_segs(&w.segs);
                    a.dynamic = true;
                    return vec![a];
                }
            }
        }
        vec![self.resolve_segs(&w.segs)]
    }

    /// Expands one word that must stay one argument (a redirection target, an assignment).
    pub(in crate::policy::command) fn resolve_one(&mut self, w: &Word) -> Arg {
        let mut args = self.resolve(w);
        if args.len() == 1 {
            return args.remove(0);
        }
        self.unresolve("a brace expansion where bash expects one word");
        let mut a = args.remove(0);
        a.dynamic = true;
        a
    }

    fn resolve_segs(&mut self, segs: &[Seg]) -> Arg {
        let mut a = Arg::default();
        // A word brace expansion left starting with `~` gets tilde expansion then (`{,}~/x`),
        // when the prefix up to the first `/` is unquoted, as bash has it (`~''` stays `~`).
        let mut tilde_first = None;
        let segs = match segs.first() {
            Some(Seg::Lit(t)) if t.starts_with('~') && (t.contains('/') || segs.len() == 1) => {
                let end = t.find('/').unwrap_or(t.len());
                tilde_first = Some(Seg::Tilde(t[1..end].to_string()));
                let mut rest = vec![Seg::Lit(t[end..].to_string())];
                rest.extend(segs[1..].iter().cloned());
                rest
            }
            _ => segs.to_vec(),
        };
        let segs: Vec<Seg> = tilde_first.into_iter().chain(segs).collect();
        if let Some(Seg::Lit(t)) = segs.first()
            && let Some(eq) = t.find('=')
            && t[eq + 1..].contains('~')
            && t[..eq]
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_')
        {
            // `name=~/x` and `name=a:~/x` get tilde expansion too, as arguments.
            self.unresolve(format!("`{t}`: `~` after `=` is expanded at run time"));
            a.dynamic = true;
        }
        for seg in &segs {
            match seg {
                Seg::Lit(t) => {
                    a.text.push_str(t);
                    a.pattern.push_str(&glob_part(t, &mut a.glob));
                }
                Seg::Quoted(t) => {
                    a.text.push_str(t);
                    a.pattern.push_str(&escape_glob(t));
                }
                Seg::Var(name) => {
                    self.unresolve(format!("`${{{name}}}` is expanded at run time"));
                    a.dynamic = true;
                    a.text.push_str(&format!("${{{name}}}"));
                    a.pattern.push('*');
                }
                Seg::Arith(text) => {
                    self.unresolve(
                        "arithmetic expansion, which can run commands through array subscripts",
                    );
                    a.dynamic = true;
                    a.text.push_str(&format!("$(({text}))"));
                    a.pattern.push('*');
                }
                Seg::Subst(script) | Seg::ProcSubst(script) => {
                    let proc = matches!(seg, Seg::ProcSubst(_));
                    self.unresolve(if proc {
                        "process substitution"
                    } else {
                        "command substitution"
                    });
                    self.via.push(
                        if proc {
                            "process substitution"
                        } else {
                            "command substitution"
                        }
                        .into(),
                    );
                    let saved = self.cwd.clone();
                    self.walk(script, &Stdin::Null);
                    self.cwd = saved;
                    self.via.pop();
                    a.dynamic = true;
                    a.text.push_str(if proc { "<(…)" } else { "$(…)" });
                    a.pattern.push('*');
                }
                Seg::Tilde(user) => {
                    let home = match user.as_str() {
                        "" => Some(self.ctx.home.to_string()),
                        "root" => Some("/root".to_string()),
                        _ => None,
                    };
                    match home {
                        Some(h) => {
                            a.text.push_str(&h);
                            a.pattern.push_str(&escape_glob(&h));
                        }
                        None => {
                            self.unresolve(format!("`~{user}` depends on the user database"));
                            a.dynamic = true;
                            a.text.push_str(&format!("~{user}"));
                            a.pattern.push('*');
                        }
                    }
                }
            }
        }
        a
    }
}

/// The glob pattern of unquoted text; sets `glob` when a glob character is live.
fn glob_part(t: &str, glob: &mut bool) -> String {
    if t.contains(['*', '?']) || t.find('[').is_some_and(|k| t[k + 1..].contains(']')) {
        *glob = true;
    }
    t.to_string()
}
