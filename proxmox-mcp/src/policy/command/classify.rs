//! Walks a parsed script: expands what can be known, looks through wrappers, asks the knowledge
//! base about each simple command and checks what it writes against root protection.

use std::collections::{HashMap, HashSet};

use super::knowledge;
use super::parse::{self, RedirKind, Script, Seg, Word};
use super::paths::{self, Hit};
use super::{Context, Part, Protected};
use crate::policy::Class::{self, Destructive, Exec, Modify, Read};

/// Variables that change which program runs or what it loads.
pub(super) const SENSITIVE_VARS: &[&str] = &[
    "PATH",
    "LD_PRELOAD",
    "LD_LIBRARY_PATH",
    "LD_AUDIT",
    "BASH_ENV",
    "ENV",
    "IFS",
    "PROMPT_COMMAND",
    "SHELLOPTS",
    "PYTHONPATH",
    "PERL5OPT",
    "PERL5LIB",
    "NODE_OPTIONS",
];

const SHELLS: &[&str] = &[
    "sh",
    "bash",
    "dash",
    "zsh",
    "ksh",
    "ash",
    "mksh",
    "rbash",
    "fish",
    "busybox-sh",
];
const INTERPRETERS: &[&str] = &[
    "python", "python2", "python3", "perl", "ruby", "node", "nodejs", "php", "lua", "tclsh",
    "Rscript", "pwsh", "expect",
];
const MAX_DEPTH: usize = 24;

/// A word after the expansions we can know.
#[derive(Debug, Clone, Default)]
pub(crate) struct Arg {
    pub text: String,
    /// Glob pattern: quoted characters escaped, unquoted glob characters live.
    pub(super) pattern: String,
    pub dynamic: bool,
    pub(super) glob: bool,
}

impl Arg {
    pub(super) fn placeholder(text: &str) -> Arg {
        Arg {
            text: text.into(),
            pattern: "*".into(),
            dynamic: true,
            glob: false,
        }
    }
}

/// Where a command's standard input comes from.
#[derive(Debug, Clone)]
pub(crate) enum Stdin {
    Terminal,
    /// A pipe; the text when the upstream command is a plain `echo`/`printf`/here-document.
    Pipe(Option<String>),
    /// A here-document or here-string we can read.
    Text(String),
    /// A file or something computed.
    Unknown,
}

pub(crate) struct Walker<'a> {
    pub(super) ctx: &'a Context<'a>,
    pub(super) vars: HashMap<String, Option<String>>,
    pub(super) aliases: HashMap<String, String>,
    pub(super) funcs: HashSet<String>,
    pub(super) cwd: Option<String>,
    pub(super) via: Vec<String>,
    pub(super) depth: usize,
    pub parts: Vec<Part>,
    pub protected: Vec<Protected>,
}

fn escape_glob(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if matches!(c, '*' | '?' | '[' | ']' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

pub(super) fn skip_opts(args: &[Arg], with_value: &str, long_with_value: &[&str]) -> usize {
    let mut k = 0;
    while k < args.len() {
        let a = args[k].text.as_str();
        if a == "--" {
            return k + 1;
        }
        if !a.starts_with('-') || a == "-" {
            return k;
        }
        if a.starts_with("--") {
            k += if long_with_value.contains(&a) { 2 } else { 1 };
        } else {
            let last = a.chars().last().unwrap_or('-');
            k += if a.len() == 2 && with_value.contains(last) {
                2
            } else {
                1
            };
        }
    }
    k
}

pub(super) fn is_assignment(s: &str) -> Option<(&str, &str)> {
    let (name, value) = s.split_once('=')?;
    let ok = name
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    ok.then_some((name, value))
}

fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "'\\''"))
}

impl<'a> Walker<'a> {
    pub fn new(ctx: &'a Context<'a>) -> Self {
        Walker {
            ctx,
            vars: HashMap::new(),
            aliases: HashMap::new(),
            funcs: HashSet::new(),
            // Commands run as root in its home directory.
            cwd: Some("/root".into()),
            via: Vec::new(),
            depth: 0,
            parts: Vec::new(),
            protected: Vec::new(),
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

    fn resolve(&mut self, w: &Word) -> Arg {
        let mut a = Arg::default();
        for seg in &w.segs {
            match seg {
                Seg::Lit(t) => {
                    a.text.push_str(t);
                    if t.contains(['*', '?'])
                        || t.find('[').is_some_and(|k| t[k + 1..].contains(']'))
                    {
                        a.glob = true;
                    }
                    if t.contains('{') && t.contains(',') {
                        a.glob = true;
                        let mut depth = 0;
                        for c in t.chars() {
                            match c {
                                '{' => {
                                    depth += 1;
                                    a.pattern.push('*');
                                }
                                '}' if depth > 0 => depth -= 1,
                                _ if depth > 0 => {}
                                _ => a.pattern.push(c),
                            }
                        }
                    } else {
                        a.pattern.push_str(t);
                    }
                }
                Seg::Quoted(t) => {
                    a.text.push_str(t);
                    a.pattern.push_str(&escape_glob(t));
                }
                Seg::Var(name) => match self.vars.get(name) {
                    Some(Some(val)) => {
                        a.text.push_str(val);
                        a.pattern.push_str(&escape_glob(val));
                    }
                    _ if name == "HOME" => {
                        a.text.push_str("/root");
                        a.pattern.push_str("/root");
                    }
                    _ => {
                        a.dynamic = true;
                        a.text.push_str(&format!("${{{name}}}"));
                        a.pattern.push('*');
                    }
                },
                Seg::Subst(script) => {
                    self.via.push("command substitution".into());
                    self.walk(script, &Stdin::Terminal);
                    self.via.pop();
                    a.dynamic = true;
                    a.text.push_str("$(…)");
                    a.pattern.push('*');
                }
                Seg::Tilde(user) => {
                    let home = if user.is_empty() || user == "root" {
                        "/root".to_string()
                    } else {
                        format!("/home/{user}")
                    };
                    a.text.push_str(&home);
                    a.pattern.push_str(&home);
                }
            }
        }
        a
    }

    pub(super) fn set_var(&mut self, name: &str, value: Option<String>, argv: &[Arg]) {
        if SENSITIVE_VARS.contains(&name) {
            self.push(
                argv,
                Exec,
                &format!("sets {name}, which changes which programs run or what they load"),
            );
        }
        self.vars.insert(name.to_string(), value);
    }

    pub fn walk(&mut self, script: &Script, outer: &Stdin) {
        for (i, cmd) in script.cmds.iter().enumerate() {
            if let Some(name) = &cmd.func_def {
                self.funcs.insert(name.clone());
                continue;
            }
            let argv: Vec<Arg> = cmd.words.iter().map(|w| self.resolve(w)).collect();
            for (name, value) in &cmd.assigns {
                let v = self.resolve(value);
                let value = (!v.dynamic).then_some(v.text);
                if cmd.words.is_empty() {
                    self.set_var(name, value, &argv);
                } else if SENSITIVE_VARS.contains(&name.as_str()) {
                    self.push(
                        &argv,
                        Exec,
                        &format!(
                            "runs with {name} changed, so the program or its libraries may differ"
                        ),
                    );
                }
            }
            let mut stdin = if cmd.piped_in {
                Stdin::Pipe(upstream_text(script, i))
            } else {
                outer.clone()
            };
            let mut writes = Vec::new();
            for r in &cmd.redirs {
                let target = self.resolve(&r.target);
                match r.kind {
                    RedirKind::HereDoc => stdin = Stdin::Text(r.body.clone()),
                    RedirKind::HereString if !target.dynamic => stdin = Stdin::Text(target.text),
                    RedirKind::HereString => stdin = Stdin::Unknown,
                    RedirKind::In => {
                        self.check_secret_redirect(&target);
                        stdin = Stdin::Unknown
                    }
                    RedirKind::ReadWrite => {
                        self.check_secret_redirect(&target);
                        writes.push((r.kind, target))
                    }
                    RedirKind::Out | RedirKind::Append => writes.push((r.kind, target)),
                    RedirKind::Dup => {}
                }
            }
            let before = self.parts.len();
            self.command(argv.clone(), &stdin);
            let truncate_only = argv.is_empty() || matches!(argv[0].text.as_str(), ":" | "true");
            for (kind, target) in writes {
                let (class, what) = self.redirect(kind, &target, truncate_only);
                if class == Read {
                    continue;
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
    }

    /// What an output redirection does.
    fn redirect(&mut self, kind: RedirKind, target: &Arg, truncate_only: bool) -> (Class, String) {
        if target.dynamic {
            return (
                Destructive,
                format!(
                    "writes to `{}`, a file name computed at run time",
                    target.text
                ),
            );
        }
        let Some(path) = paths::normalize(&target.text, self.cwd.as_deref()) else {
            return (
                Destructive,
                "writes to a relative path in an unknown directory".into(),
            );
        };
        if matches!(
            path.as_str(),
            "/dev/null" | "/dev/stdout" | "/dev/stderr" | "/dev/tty"
        ) || path.starts_with("/dev/fd/")
        {
            return (Read, String::new());
        }
        if let Some(pattern) = paths::normalize(&target.pattern, self.cwd.as_deref())
            && let Some((_, Hit::Inside)) = paths::protected_hit(&pattern)
        {
            self.protect(Protected::ProtectedPath(path.clone()));
        }
        let dev = path.strip_prefix("/dev/").unwrap_or("");
        let block = [
            "sd", "nvme", "vd", "hd", "xvd", "zd", "mapper/", "dm-", "disk/", "md", "rbd", "pve/",
            "loop",
        ];
        if block.iter().any(|b| dev.starts_with(b)) || path == "/proc/sysrq-trigger" {
            return (Destructive, format!("writes raw data to {path}"));
        }
        if paths::is_guest_config(&path) {
            return (
                Destructive,
                format!("writes {path}: {}", super::targets::GUEST_CONFIG_NOTE),
            );
        }
        match kind {
            RedirKind::Out if truncate_only => (Destructive, format!("truncates {path}")),
            RedirKind::Append => (Modify, format!("appends to {path}")),
            _ => (Modify, format!("overwrites {path}")),
        }
    }

    /// Parses and walks a script found inside an argument (`bash -c`, `eval`, `ssh host …`).
    pub(super) fn script_text(&mut self, label: &str, text: &str, stdin: &Stdin) {
        self.via.push(label.to_string());
        match parse::parse(text) {
            Ok(script) => self.walk(&script, stdin),
            Err(e) => {
                let arg = Arg {
                    text: text.to_string(),
                    ..Arg::default()
                };
                self.push(
                    &[arg],
                    Destructive,
                    &format!("the inner script cannot be parsed ({e}), so it cannot be checked"),
                );
            }
        }
        self.via.pop();
    }

    pub(super) fn command(&mut self, argv: Vec<Arg>, stdin: &Stdin) {
        if argv.is_empty() {
            return;
        }
        if self.depth >= MAX_DEPTH {
            self.push(
                &argv,
                Destructive,
                "wrappers are nested too deeply to check",
            );
            return;
        }
        self.depth += 1;
        self.command_inner(argv, stdin);
        self.depth -= 1;
    }

    pub(super) fn inner(&mut self, label: &str, argv: &[Arg], stdin: &Stdin) {
        self.via.push(label.to_string());
        self.command(argv.to_vec(), stdin);
        self.via.pop();
    }

    fn command_inner(&mut self, argv: Vec<Arg>, stdin: &Stdin) {
        let name = &argv[0];
        if name.dynamic {
            return self.push(
                &argv,
                Destructive,
                "the command name is computed at run time, so it cannot be checked",
            );
        }
        if name.glob {
            return self.push(
                &argv,
                Destructive,
                "the command name is a glob pattern, so it cannot be checked",
            );
        }
        let raw = name.text.clone();
        if let Some(body) = self.aliases.get(&raw).cloned() {
            let mut text = body;
            for a in &argv[1..] {
                text.push(' ');
                text.push_str(&shell_quote(&a.text));
            }
            return self.script_text(&format!("alias {raw}"), &text, stdin);
        }
        if self.funcs.contains(&raw) {
            return self.push(&argv, Read, "calls a shell function defined in this command (its body is classified on its own)");
        }
        let prog = if raw.contains('/') {
            if !paths::in_system_dir(&raw) {
                return self.push(
                    &argv,
                    Exec,
                    "runs a program outside the system directories: it could do anything",
                );
            }
            raw.rsplit('/').next().unwrap_or_default().to_string()
        } else {
            raw
        };
        let args = &argv[1..];
        let texts: Vec<String> = args.iter().map(|a| a.text.clone()).collect();
        let rest = |k: usize| &args[k.min(args.len())..];
        match prog.as_str() {
            "sudo" | "doas" => {
                let k = skip_opts(
                    args,
                    "ugCDhprtTUR",
                    &[
                        "--user",
                        "--group",
                        "--chdir",
                        "--prompt",
                        "--role",
                        "--type",
                        "--host",
                        "--chroot",
                        "--other-user",
                        "--close-from",
                        "--command-timeout",
                    ],
                );
                let k = k + args[k.min(args.len())..]
                    .iter()
                    .take_while(|a| is_assignment(&a.text).is_some())
                    .count();
                if k >= args.len() {
                    return self.push(&argv, Exec, "opens an interactive root shell");
                }
                self.inner(&prog, rest(k), stdin)
            }
            "env" => {
                if let Some(k) = texts
                    .iter()
                    .position(|a| a == "-S" || a == "--split-string")
                {
                    let text = texts[k + 1..].join(" ");
                    return self.script_text("env -S", &text, stdin);
                }
                let mut k = skip_opts(args, "uCP", &["--unset", "--chdir"]);
                while let Some((name, _)) = texts.get(k).and_then(|a| is_assignment(a)) {
                    if SENSITIVE_VARS.contains(&name) {
                        self.push(&argv, Exec, &format!("runs with {name} changed, so the program or its libraries may differ"));
                    }
                    k += 1;
                }
                if k >= args.len() {
                    return self.push(&argv, Read, "prints the environment");
                }
                self.inner("env", rest(k), stdin)
            }
            "nice" | "nohup" | "setsid" | "time" | "stdbuf" | "builtin" | "unbuffer"
            | "catchsegv" | "ionice" | "chrt" | "taskset" | "timeout" | "exec" | "command"
            | "systemd-run" | "unshare" | "nsenter" | "chroot" | "xargs" | "flock" | "busybox"
            | "runuser" | "watch" => self.wrapper(&prog, &argv, stdin),
            "su" => {
                if let Some(k) = texts.iter().position(|a| a == "-c" || a == "--command") {
                    return match args.get(k + 1) {
                        Some(a) if !a.dynamic => self.script_text("su -c", &a.text.clone(), stdin),
                        _ => self.push(&argv, Destructive, "runs a command computed at run time"),
                    };
                }
                self.push(&argv, Exec, "opens a shell as another user")
            }
            _ if SHELLS.contains(&prog.as_str()) => self.shell(&prog, &argv, stdin),
            _ if INTERPRETERS.contains(&prog.as_str()) || prog.starts_with("python3.") => {
                self.interpreter(&prog, &argv, stdin)
            }
            "eval" => {
                if args.iter().any(|a| a.dynamic) {
                    return self.push(
                        &argv,
                        Destructive,
                        "evaluates text computed at run time, which cannot be checked",
                    );
                }
                self.script_text("eval", &texts.join(" "), stdin)
            }
            "source" | "." => self.push(&argv, Exec, "runs a script file in the current shell"),
            "at" | "batch" => self.reads_stdin(&prog, &argv, stdin, Exec),
            "ssh" => {
                let k = skip_opts(args, "BbcDEeFIiJLlmOoPpQRSWw", &[]);
                if k >= args.len() {
                    return self.push(&argv, Exec, "opens an SSH connection");
                }
                let remote = rest(k + 1);
                if remote.is_empty() {
                    return self.reads_stdin("ssh", &argv, stdin, Exec);
                }
                if remote.iter().any(|a| a.dynamic) {
                    return self.push(
                        &argv,
                        Destructive,
                        "runs a remote command computed at run time",
                    );
                }
                let text: Vec<&str> = remote.iter().map(|a| a.text.as_str()).collect();
                let label = format!("ssh {}", args[k].text);
                self.script_text(&label, &text.join(" "), &Stdin::Unknown)
            }
            "trap" if args.len() >= 2 && !texts[0].starts_with('-') => {
                if args[0].dynamic {
                    return self.push(&argv, Destructive, "sets a trap computed at run time");
                }
                self.script_text("trap", &texts[0], stdin)
            }
            "alias" => {
                for a in args {
                    if let Some((name, body)) = a.text.split_once('=') {
                        if a.dynamic {
                            self.push(&argv, Destructive, "defines an alias computed at run time");
                            continue;
                        }
                        self.aliases.insert(name.to_string(), body.to_string());
                        self.script_text(&format!("alias {name}"), body, stdin);
                    }
                }
                self.push(
                    &argv,
                    Read,
                    "defines aliases (their bodies are classified on their own)",
                )
            }
            "cd" | "pushd" | "popd" => {
                self.cwd = match args.first() {
                    _ if prog == "popd" => None,
                    None => Some("/root".into()),
                    Some(a) if a.dynamic || a.glob || a.text == "-" => None,
                    Some(a) => paths::normalize(&a.text, self.cwd.as_deref()),
                };
                self.push(&argv, Read, "changes the working directory")
            }
            "export" | "declare" | "typeset" | "local" | "readonly" | "read" | "mapfile"
            | "readarray" | "unset" | "for" | "getopts" => {
                for a in args {
                    match is_assignment(&a.text) {
                        Some((name, value)) if prog != "unset" => {
                            let value = (!a.dynamic).then(|| value.to_string());
                            self.set_var(name, value, &argv);
                        }
                        _ if !a.text.starts_with('-') => {
                            self.vars.insert(a.text.clone(), None);
                        }
                        _ => {}
                    }
                }
                self.push(&argv, Read, "sets shell variables")
            }
            _ => {
                let verdict = knowledge::lookup(&prog, &texts);
                self.apply(&prog, &argv, verdict, stdin)
            }
        }
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
            Some(args.join(" "))
        }
        "printf" if args.len() == 1 && !args[0].contains(['\\', '%']) => Some(args[0].clone()),
        "cat" if args.is_empty() => prev
            .redirs
            .iter()
            .find(|r| r.kind == RedirKind::HereDoc)
            .map(|r| r.body.clone()),
        _ => None,
    }
}
