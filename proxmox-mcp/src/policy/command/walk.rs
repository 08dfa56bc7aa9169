//! Walks a parsed script: expands what can be known, records what cannot, follows the working
//! directory, and hands each simple command to the builtins, the wrappers, the read-only proof
//! or the effects knowledge base.
//!
//! Words are expanded in `walk/expand.rs` into `walk/arg.rs`'s [`Arg`]s, the working directory
//! is followed in `walk/cwd.rs`, redirections in `walk/redirect.rs`.

mod arg;
mod cwd;
mod expand;
mod redirect;

use super::paths;
use super::syntax::{RedirKind, Script, Word};
use super::{Analysis, Context, Part, Protected, effects, reach, readonly};
use crate::policy::Class::{self, Destructive, Exec, Read};
pub(crate) use arg::Arg;
pub(super) use arg::escape_glob;
use cwd::union;

/// Wrappers and inline scripts nested deeper than this are not followed.
const MAX_DEPTH: usize = 24;
/// Working directories followed at once (`cd a; cd b` may leave either); past this, unknown.
const MAX_CWDS: usize = 8;
/// Words one brace expansion may produce.
const MAX_BRACE_WORDS: usize = 256;
/// Reasons kept for the explanation.
const MAX_REASONS: usize = 8;

/// Variables a command may set without changing what programs run or read.
const SAFE_VARS: &[&str] = &[
    "LANG", "LANGUAGE", "TZ", "COLUMNS", "LINES", "NO_COLOR", "TERM",
];

pub(super) fn is_safe_var(name: &str) -> bool {
    SAFE_VARS.contains(&name) || name.starts_with("LC_")
}

/// Where a command's standard input comes from.
#[derive(Debug, Clone)]
pub(crate) enum Stdin {
    /// `/dev/null`: what the executors give every command.
    Null,
    /// A pipe; the text when the upstream command is a plain `echo`/`printf`/here-document.
    Pipe(Option<String>),
    /// A here-document or here-string we can read.
    Text(String),
    /// A file or something computed.
    Unknown,
}

/// The directories a command may be running in.
#[derive(Debug, Clone)]
pub(super) enum Cwd {
    Known(Vec<String>),
    Unknown,
}

pub(crate) struct Walker<'a> {
    pub(super) ctx: &'a Context<'a>,
    pub(super) cwd: Cwd,
    pub(super) via: Vec<String>,
    pub(super) depth: usize,
    pub(super) parts: Vec<Part>,
    pub(super) protected: Vec<Protected>,
    /// Why the command as a whole cannot be resolved before it runs.
    pub(super) unresolved: Vec<String>,
    /// Texts of code we cannot read (inline code, unknown programs), scanned on their own.
    pub(super) opaque: Vec<String>,
    pub(super) may_destroy: bool,
    pub(super) guests_unknown: bool,
    /// Variables assigned a literal value, so the text scan can see `p=pv; ${p}eum` as `pveum`.
    pub(super) assigned: Vec<(String, String)>,
    /// The directories the last `cd` went to, when it could be known.
    pub(super) last_cd: Option<Vec<String>>,
}

impl<'a> Walker<'a> {
    pub fn new(ctx: &'a Context<'a>) -> Self {
        Walker {
            ctx,
            cwd: Cwd::Known(vec![
                paths::normalize(ctx.cwd, Some("/")).unwrap_or_else(|| "/".into()),
            ]),
            via: Vec::new(),
            depth: 0,
            parts: Vec::new(),
            protected: Vec::new(),
            unresolved: Vec::new(),
            opaque: Vec::new(),
            may_destroy: false,
            guests_unknown: false,
            assigned: Vec::new(),
            last_cd: None,
        }
    }

    /// Records why the command as a whole cannot be resolved.
    pub(super) fn unresolve(&mut self, why: impl Into<String>) {
        let why = why.into();
        if self.unresolved.len() < MAX_REASONS && !self.unresolved.contains(&why) {
            self.unresolved.push(why);
        }
    }

    /// Records code we cannot read: it may do anything, so root protection scans its text.
    pub(super) fn opaque(&mut self, argv: &[Arg], stdin: &Stdin) {
        // What it is handed, not its own name: `pvesh … agent/exec --command X` is judged by X.
        let mut text: Vec<&str> = argv.iter().skip(1).map(|a| a.text.as_str()).collect();
        if let Stdin::Text(t) | Stdin::Pipe(Some(t)) = stdin {
            text.push(t);
        }
        self.opaque.push(text.join(" "));
        self.may_destroy = true;
    }

    /// The final analysis: class, protection from the scans, and the reasons.
    pub(super) fn finish(mut self, command: &str) -> Analysis {
        let mut class = self.parts.iter().map(|p| p.class).max().unwrap_or(Read);
        if !self.unresolved.is_empty() {
            class = class.max(Exec);
            self.may_destroy = true;
            if let Some(what) = reach::names_protected(command, self.ctx, &self.assigned) {
                let why = format!("{}; it names {what}", self.unresolved.join("; "));
                self.protect(Protected::Unresolved(why));
            }
        }
        for text in std::mem::take(&mut self.opaque) {
            if let Some(what) = reach::names_protected(&text, self.ctx, &self.assigned) {
                let why = format!("it runs code that cannot be inspected, which names {what}");
                self.protect(Protected::Unresolved(why));
            }
        }
        let parse_error = self
            .unresolved
            .iter()
            .find_map(|r| r.strip_prefix("it cannot be parsed: "))
            .map(str::to_owned);
        if self.parts.iter().any(|p| p.class == Destructive) {
            self.may_destroy = true;
        }
        Analysis {
            class,
            parts: self.parts,
            protected: self.protected,
            parse_error,
            unresolved: self.unresolved,
            may_destroy: self.may_destroy,
            guests_unknown: self.guests_unknown,
        }
    }

    pub(super) fn push(&mut self, argv: &[Arg], class: Class, explanation: &str) {
        let mut explanation = explanation.to_string();
        if !self.via.is_empty() {
            explanation.push_str(&format!(" (via {})", self.via.join(" → ")));
        }
        self.parts.push(Part {
            argv: argv.iter().map(|a| a.text.clone()).collect(),
            class,
            explanation,
            reversible: class < Destructive,
        });
    }

    pub(super) fn protect(&mut self, p: Protected) {
        if !self.protected.contains(&p) {
            self.protected.push(p);
        }
    }

    pub fn walk(&mut self, script: &Script, outer: &Stdin) {
        // After `cd DIR &&`, the rest of the chain runs in DIR only; after the chain, in
        // either directory (the `cd` may have failed).
        let mut chain_restore: Option<Cwd> = None;
        for (i, cmd) in script.cmds.iter().enumerate() {
            self.last_cd = None;
            self.simple(script, i, outer);
            let was_cd = cmd
                .words
                .first()
                .and_then(|w| w.literal())
                .is_some_and(|w| w == "cd" || w == "pushd");
            match (cmd.and_next, was_cd, self.last_cd.take()) {
                (true, true, Some(targets)) => {
                    let all = std::mem::replace(&mut self.cwd, Cwd::Known(targets));
                    chain_restore = Some(match chain_restore.take() {
                        Some(r) => union(r, all),
                        None => all,
                    });
                }
                (true, _, _) => {}
                (false, _, _) => {
                    if let Some(r) = chain_restore.take() {
                        let now = std::mem::replace(&mut self.cwd, Cwd::Unknown);
                        self.cwd = union(now, r);
                    }
                }
            }
        }
    }

    /// One simple command of `script`: its words, assignments, redirections and what it runs.
    fn simple(&mut self, script: &Script, i: usize, outer: &Stdin) {
        let cmd = &script.cmds[i];
        if let Some(name) = &cmd.func_def {
            self.unresolve(format!(
                "it defines the function `{name}`, which can stand in for any command"
            ));
            return;
        }
        let argv: Vec<Arg> = cmd.words.iter().flat_map(|w| self.resolve(w)).collect();
        if let Some(kw) = cmd.keyword {
            super::builtins::keyword(self, kw, &argv);
            return;
        }
        for (name, value) in &cmd.assigns {
            let v = self.resolve_one(value);
            if !v.dynamic && self.assigned.len() < 64 {
                self.assigned.push((name.clone(), v.text.clone()));
            }
            if !is_safe_var(name) || v.dynamic {
                self.unresolve(format!(
                    "it assigns `{name}`, which can change what later commands run or read"
                ));
            }
        }
        let mut stdin = if cmd.piped_in {
            Stdin::Pipe(upstream_text(script, i))
        } else {
            outer.clone()
        };
        let mut writes = Vec::new();
        for r in &cmd.redirs {
            if r.named_fd {
                self.unresolve("`{name}>…` stores a file descriptor in a variable");
            }
            let target = self.resolve_one(&r.target);
            match r.kind {
                RedirKind::HereDoc => {
                    let body = self.resolve_one(&r.body);
                    stdin = if body.dynamic {
                        Stdin::Unknown
                    } else {
                        Stdin::Text(body.text)
                    };
                }
                RedirKind::HereString if !target.dynamic => {
                    stdin = Stdin::Text(format!("{}\n", target.text))
                }
                RedirKind::HereString => stdin = Stdin::Unknown,
                RedirKind::In => {
                    self.redirect_in(&target);
                    stdin = Stdin::Unknown;
                }
                RedirKind::ReadWrite => {
                    self.redirect_in(&target);
                    writes.push((r.kind, target));
                }
                RedirKind::Out | RedirKind::Append => writes.push((r.kind, target)),
                RedirKind::Dup => {}
            }
        }
        let before = self.parts.len();
        if argv.is_empty() {
            if !cmd.assigns.is_empty() {
                let names: Vec<&str> = cmd.assigns.iter().map(|(n, _)| n.as_str()).collect();
                let shown = [Arg::literal(&names.join(" "))];
                self.push(&shown, Read, "sets shell variables");
            }
        } else {
            self.command(argv.clone(), &stdin);
        }
        let truncate_only = argv.is_empty() || matches!(argv[0].text.as_str(), ":" | "true");
        for (kind, target) in writes {
            let (class, what) = self.redirect_out(kind, &target, truncate_only);
            if class == Exec && !argv.is_empty() {
                // Code that runs later: what is written is scanned like code we cannot read.
                self.opaque(&argv, &stdin);
            }
            if class == Read {
                return;
            }
            if self.parts.len() == before {
                self.push(&argv, class, &what);
            } else {
                let part = &mut self.parts[before];
                part.class = part.class.max(class);
                part.reversible &= class < Destructive;
                part.explanation.push_str(&format!("; {what}"));
            }
        }
    }

    /// Parses and walks a script found inside an argument (`bash -c`, `eval`, `ssh host …`).
    pub(super) fn script_text(&mut self, label: &str, text: &str, stdin: &Stdin) {
        if self.depth >= MAX_DEPTH {
            self.unresolve("scripts are nested too deeply to check");
            return;
        }
        self.depth += 1;
        self.via.push(label.to_string());
        match super::syntax::parse(text) {
            Ok(script) => self.walk(&script, stdin),
            Err(e) => {
                self.unresolve(format!("the inner script cannot be parsed ({e})"));
                self.opaque.push(text.to_string());
            }
        }
        self.via.pop();
        self.depth -= 1;
    }

    pub(super) fn command(&mut self, argv: Vec<Arg>, stdin: &Stdin) {
        if argv.is_empty() {
            return;
        }
        if self.depth >= MAX_DEPTH {
            self.unresolve("wrappers are nested too deeply to check");
            self.push(&argv, Exec, "wrappers are nested too deeply to check");
            return;
        }
        self.depth += 1;
        self.command_inner(argv, stdin);
        self.depth -= 1;
    }

    /// Runs `argv` as a command of its own, through `label` (`sudo`, `pct exec 101`).
    pub(super) fn inner(&mut self, label: &str, argv: &[Arg], stdin: &Stdin) {
        self.via.push(label.to_string());
        self.command(argv.to_vec(), stdin);
        self.via.pop();
    }

    fn command_inner(&mut self, argv: Vec<Arg>, stdin: &Stdin) {
        let name = &argv[0];
        if name.dynamic || name.glob {
            let why = if name.dynamic {
                "the program name is computed at run time"
            } else {
                "the program name is a glob pattern"
            };
            self.unresolve(why);
            self.opaque(&argv, stdin);
            return self.push(&argv, Exec, &format!("{why}, so it cannot be checked"));
        }
        let raw = name.text.clone();
        let prog = if raw.contains('/') {
            let Some(abs) = self.absolute(&raw).filter(|v| v.len() == 1) else {
                self.opaque(&argv, stdin);
                return self.push(
                    &argv,
                    Exec,
                    "runs a program by a relative path, which could be anything",
                );
            };
            let abs = abs[0].clone();
            // `/proc/PID/exe`, `/dev/fd/N`: another process's program, which may be this server.
            if self.ctx.server.is_program(&abs)
                || abs.starts_with("/proc/")
                || abs.starts_with("/dev/fd/")
            {
                return self.run_server(&argv);
            }
            if !paths::in_system_dir(&abs) {
                self.opaque(&argv, stdin);
                return self.push(
                    &argv,
                    Exec,
                    "runs a program outside the system directories: it could do anything",
                );
            }
            abs.rsplit('/').next().unwrap_or_default().to_string()
        } else {
            raw
        };
        if self.ctx.server.is_program(&prog) {
            return self.run_server(&argv);
        }
        if super::builtins::run(self, &prog, &argv, stdin) {
            return;
        }
        if super::wrappers::run(self, &prog, &argv, stdin) {
            return;
        }
        let args = &argv[1..];
        let why_not = match readonly::prove(&prog, args) {
            Ok(proof) => {
                self.check_secrets(&prog, args);
                self.push(&argv, Read, proof.what);
                if let Some(range) = proof.inner {
                    let label = format!(
                        "{prog} {}",
                        args[..range.start]
                            .iter()
                            .map(|a| a.text.as_str())
                            .collect::<Vec<_>>()
                            .join(" ")
                    );
                    let inner: Vec<Arg> = args[range].to_vec();
                    self.inner(label.trim_end_matches(" --"), &inner, &Stdin::Null);
                }
                return;
            }
            Err(why) => why,
        };
        let verdict = effects::lookup(
            &prog,
            &args.iter().map(|a| a.text.clone()).collect::<Vec<_>>(),
        );
        self.apply(&prog, &argv, verdict, stdin, &why_not);
    }

    fn run_server(&mut self, argv: &[Arg]) {
        self.protect(Protected::ServerState(format!(
            "runs `{}`, the server itself",
            argv[0].text
        )));
        self.push(argv, Exec, "runs proxmox-mcp itself");
    }
}

/// The text a pipeline's upstream command feeds into the next one, when it is plain literal text.
fn upstream_text(script: &Script, i: usize) -> Option<String> {
    let prev = script.cmds.get(i.checked_sub(1)?)?;
    let words: Vec<String> = prev
        .words
        .iter()
        .map(Word::literal)
        .collect::<Option<_>>()?;
    let (prog, args) = words.split_first()?;
    match prog.as_str() {
        "echo" if !args.iter().any(|a| a.starts_with('-') || a.contains('\\')) => {
            Some(args.join(" ") + "\n")
        }
        "printf" if args.len() == 1 && !args[0].contains(['\\', '%']) => Some(args[0].clone()),
        "cat" if args.is_empty() => prev
            .redirs
            .iter()
            .find(|r| r.kind == RedirKind::HereDoc)
            .and_then(|r| r.body.literal()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::Arg;

    #[test]
    fn globs_that_may_become_options() {
        let glob = |p: &str| Arg {
            text: p.into(),
            pattern: p.into(),
            dynamic: false,
            glob: true,
        };
        for p in [
            "*",
            "?x",
            "-*",
            "\\-*",
            "[-a]x",
            "[a-]x",
            "[!p]x",
            "[^p]x",
            "[[:alpha:]]x",
            "[+-0]x",
            "[a-Z]x",
            "[z-a]x",
            "[\\-]x",
            "[]x",
            "[.]x",
            "[x",
        ] {
            assert!(glob(p).may_become_option(), "{p}");
        }
        for p in [
            "a*",
            "[p]veproxy",
            "[a-z0-9]*",
            "[A-Z]?",
            "[0-9][0-9]*",
            "\\**",
        ] {
            assert!(!glob(p).may_become_option(), "{p}");
        }
        assert!(!Arg::literal("-rf").may_become_option());
    }
}
