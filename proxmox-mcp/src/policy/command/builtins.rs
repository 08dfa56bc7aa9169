//! Shell builtins and keywords. Those that only print or test are reads; those that evaluate
//! text or rebind what a name means (`eval`, `let`, `declare`, `alias`, `hash`, `trap`, `set`,
//! `source`, `exec`, `command`, `builtin`, `read`, `mapfile`, `printf -v`, arithmetic) leave the
//! command unresolved, whatever their arguments look like.

use super::walk::{Arg, Stdin, Walker};
use crate::policy::Class::{Exec, Modify, Read};

/// Variables whose value changes how bash or the programs it starts behave.
fn special_var(name: &str) -> bool {
    name.chars().any(|c| c.is_ascii_uppercase()) || name.ends_with("_proxy")
}

/// A keyword's pseudo command: `for`, `case`, `[[`, `((`, `coproc`, `time`.
pub(super) fn keyword(w: &mut Walker, kw: &str, argv: &[Arg]) {
    match kw {
        "((" => {
            w.unresolve(
                "an arithmetic command `((…))`, which can run commands through array subscripts",
            );
            w.push(argv, Exec, "evaluates arithmetic");
        }
        "coproc" => w.unresolve("a coprocess, whose descriptors land in variables"),
        "time" => w.push(
            &[Arg::literal("time")],
            Exec,
            "times a pipeline; a wrapper, so what it runs is checked on its own",
        ),
        "[[" => test(w, "[[", argv),
        "for" => {
            if let Some(var) = argv.first()
                && (special_var(&var.text) || var.dynamic)
            {
                w.unresolve(format!("the loop assigns `{}`", var.text));
            }
        }
        _ => {}
    }
}

/// Handles `prog` when it is a builtin; false when it is not one.
pub(super) fn run(w: &mut Walker, prog: &str, argv: &[Arg], stdin: &Stdin) -> bool {
    let args = &argv[1..];
    let texts: Vec<&str> = args.iter().map(|a| a.text.as_str()).collect();
    let literal = args.iter().all(|a| !a.dynamic && !a.glob);
    match prog {
        "cd" | "pushd" => {
            let dir = args
                .iter()
                .find(|a| !a.text.starts_with('-') || a.text == "-");
            if (prog == "pushd" && dir.is_none()) || dir.is_some_and(|d| d.text == "-") {
                w.unresolve(format!(
                    "`{prog}` goes to a directory only known at run time"
                ));
                w.cwd = super::walk::Cwd::Unknown;
            } else {
                w.change_dir(dir);
            }
            w.push(argv, Read, "changes the working directory");
        }
        "popd" => {
            w.unresolve("`popd` goes to a directory only known at run time");
            w.cwd = super::walk::Cwd::Unknown;
            w.push(argv, Read, "changes the working directory");
        }
        "pwd" | "dirs" | "true" | "false" | ":" | "wait" | "jobs" | "times" | "caller"
        | "disown" | "help" | "logout" | "suspend" => {
            w.push(argv, Read, "a shell builtin that changes nothing")
        }
        "exit" | "return" | "break" | "continue" | "shift" => {
            if !texts
                .iter()
                .all(|t| t.trim_start_matches('-').parse::<i64>().is_ok())
            {
                w.unresolve(format!("`{prog}` with a non-numeric argument is evaluated"));
            }
            w.push(argv, Read, "a shell builtin that changes nothing");
        }
        "echo" => w.push(argv, Read, "prints its arguments"),
        "printf" => {
            if texts
                .iter()
                .take_while(|t| t.starts_with('-'))
                .any(|t| t.contains('v'))
            {
                w.unresolve("`printf -v` assigns a variable");
            }
            w.push(argv, Read, "prints formatted text");
        }
        "test" | "[" => test(w, prog, args),
        "type" => w.push(argv, Read, "shows what a name is"),
        "command"
            if texts
                .first()
                .is_some_and(|t| matches!(*t, "-v" | "-V" | "-pv" | "-pV")) =>
        {
            w.push(argv, Read, "looks a command up")
        }
        "command" | "builtin" | "exec" => {
            w.unresolve(format!(
                "`{prog}` runs its arguments around functions and aliases"
            ));
            let k = texts.iter().take_while(|t| t.starts_with('-')).count();
            w.push(argv, Exec, &format!("`{prog}` runs another command"));
            if k < args.len() {
                w.inner(prog, &args[k..], stdin);
            }
        }
        "eval" => {
            w.unresolve("`eval` runs text as a new command");
            w.push(argv, Exec, "evaluates text as a command");
            if literal {
                w.script_text("eval", &texts.join(" "), stdin);
            } else {
                w.opaque(argv, stdin);
            }
        }
        "source" | "." => {
            w.unresolve(format!("`{prog}` runs a script file in this shell"));
            w.opaque(argv, stdin);
            w.push(argv, Exec, "runs a script file in the current shell");
        }
        "trap" => {
            w.unresolve("`trap` sets code to run later");
            w.push(argv, Exec, "sets a signal handler");
            if let Some(handler) = args.first().filter(|a| !a.text.starts_with('-'))
                && !handler.dynamic
            {
                w.script_text("trap", &handler.text.clone(), stdin);
            }
        }
        "let" | "declare" | "typeset" | "local" | "readonly" | "export" | "read" | "mapfile"
        | "readarray" | "getopts" | "alias" | "unalias" | "hash" | "enable" | "shopt" | "bind"
        | "complete" | "compgen" | "compopt" | "fc" | "history" => {
            let prints = (args.is_empty()
                || texts.iter().all(|t| matches!(*t, "-p" | "-f" | "-F")))
                && matches!(
                    prog,
                    "declare" | "typeset" | "export" | "readonly" | "alias" | "shopt" | "history"
                );
            if prints {
                w.push(argv, Read, "prints shell settings");
            } else {
                w.unresolve(format!(
                    "`{prog}` evaluates text or changes what names mean in this shell"
                ));
                w.push(
                    argv,
                    Exec,
                    &format!("`{prog}` changes how the shell evaluates what follows"),
                );
            }
        }
        "unset" => {
            if texts.iter().any(|t| t.contains('[')) || !literal {
                w.unresolve("`unset` evaluates array subscripts");
            }
            w.push(argv, Read, "removes shell variables");
        }
        "set" => {
            if !set_is_harmless(&texts) {
                w.unresolve("`set` changes how the shell evaluates what follows");
            }
            w.push(argv, Read, "sets shell options");
        }
        "umask" | "ulimit" => {
            if args.is_empty() || texts == ["-a"] || texts == ["-S"] {
                w.push(argv, Read, "shows a limit");
            } else {
                w.push(argv, Modify, "changes a limit for the commands that follow");
            }
        }
        _ => return false,
    }
    true
}

/// `set -e`, `set -u`, `set -x`, `set -o pipefail` and their `+` forms only.
fn set_is_harmless(args: &[&str]) -> bool {
    let mut k = 0;
    while k < args.len() {
        let a = args[k];
        if a == "-o" || a == "+o" {
            if !matches!(
                args.get(k + 1),
                Some(&("pipefail" | "errexit" | "nounset" | "xtrace"))
            ) {
                return false;
            }
            k += 2;
            continue;
        }
        let flags = a.strip_prefix('-').or_else(|| a.strip_prefix('+'));
        match flags {
            Some(f) if !f.is_empty() && f.chars().all(|c| matches!(c, 'e' | 'u' | 'x')) => {}
            _ => return false,
        }
        k += 1;
    }
    true
}

/// `test`, `[` and `[[`: reads, unless an arithmetic comparison or `-v` could evaluate an
/// operand (`[[ 'a[$(id)]' -eq 1 ]]` runs `id`).
fn test(w: &mut Walker, prog: &str, args: &[Arg]) {
    const ARITH: &[&str] = &["-eq", "-ne", "-lt", "-le", "-gt", "-ge"];
    let integer = |a: &Arg| {
        !a.dynamic
            && a.text
                .trim()
                .trim_start_matches(['-', '+'])
                .parse::<u64>()
                .is_ok()
    };
    for (k, a) in args.iter().enumerate() {
        if ARITH.contains(&a.text.as_str()) {
            let around = [k.checked_sub(1).and_then(|j| args.get(j)), args.get(k + 1)];
            if around.iter().any(|o| o.is_none_or(|o| !integer(o))) {
                w.unresolve(format!(
                    "`{prog}` compares arithmetic operands that are not plain numbers"
                ));
            }
        }
        if matches!(a.text.as_str(), "-v" | "-R")
            && args
                .get(k + 1)
                .is_none_or(|o| o.dynamic || o.text.contains('['))
        {
            w.unresolve(format!("`{prog} -v` evaluates an array subscript"));
        }
    }
    let shown: Vec<Arg> = std::iter::once(Arg::literal(prog))
        .chain(args.iter().cloned())
        .collect();
    w.push(&shown, Read, "tests a condition");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn harmless_set() {
        for ok in [&["-e"][..], &["-eu", "-o", "pipefail"], &["+x"], &[]] {
            assert!(set_is_harmless(ok), "{ok:?}");
        }
        for bad in [
            &["-o", "posix"][..],
            &["-f"],
            &["--", "a"],
            &["-k"],
            &["+o", "history"],
        ] {
            assert!(!set_is_harmless(bad), "{bad:?}");
        }
    }
}
