//! Programs that run other programs: `sudo`, `env`, `timeout`, `xargs`, `ssh`, shells with
//! `-c`, interpreters, and the like. Each is at least `Exec` (what it runs is out of the
//! read-only proof's reach), and what it runs is classified too, so root protection and the
//! severity of the inner command still apply. Inline code in another language cannot be read:
//! it is opaque, and root protection scans its text.

use super::walk::{Arg, Stdin, Walker, is_safe_var};
use crate::policy::Class::Exec;

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
    "csh",
    "tcsh",
    "yash",
    "posh",
];
const INTERPRETERS: &[&str] = &[
    "python",
    "python2",
    "python3",
    "perl",
    "ruby",
    "node",
    "nodejs",
    "php",
    "lua",
    "luajit",
    "tclsh",
    "wish",
    "Rscript",
    "pwsh",
    "expect",
    "dc",
    "gdb",
    "vim",
    "vi",
    "nvim",
    "ex",
    "ed",
    "emacs",
    "nano",
    "jshell",
    "java",
    "osascript",
    "deno",
    "bun",
    "guile",
    "sbcl",
    "ocaml",
    "ghci",
    "julia",
    "octave",
];

/// Options of the common wrappers: (program, short options taking a value, long options
/// taking a value, how many operands precede the command).
const SIMPLE: &[(&str, &str, &[&str], usize)] = &[
    ("nice", "n", &["--adjustment"], 0),
    ("nohup", "", &[], 0),
    ("setsid", "", &[], 0),
    ("time", "fo", &["--format", "--output"], 0),
    ("stdbuf", "ioe", &["--input", "--output", "--error"], 0),
    ("unbuffer", "", &[], 0),
    ("catchsegv", "", &[], 0),
    (
        "ionice",
        "cnpPu",
        &["--class", "--classdata", "--pid", "--pgid", "--uid"],
        0,
    ),
    ("chrt", "", &[], 1),
    ("taskset", "", &[], 1),
    ("timeout", "sk", &["--signal", "--kill-after"], 1),
    ("chroot", "", &["--userspec", "--groups"], 1),
    ("flock", "wE", &["--timeout", "--conflict-exit-code"], 1),
    (
        "systemd-run",
        "pEuM",
        &[
            "--unit",
            "--property",
            "--uid",
            "--gid",
            "--setenv",
            "--working-directory",
            "--on-calendar",
            "--on-active",
            "--slice",
            "--description",
            "--machine",
        ],
        0,
    ),
    (
        "unshare",
        "",
        &["--mount-proc", "--root", "--wd", "--setuid", "--setgid"],
        0,
    ),
    (
        "nsenter",
        "tSGCD",
        &["--target", "--setuid", "--setgid", "--wd", "--root"],
        0,
    ),
    ("runuser", "ugl", &["--user", "--group"], 0),
    ("sg", "", &[], 1),
    (
        "strace",
        "eoOpPsSuUXb",
        &["--output", "--attach", "--user"],
        0,
    ),
    ("ltrace", "eoOpsSuU", &["--output"], 0),
    ("valgrind", "", &[], 0),
    ("faketime", "f", &[], 1),
    ("eatmydata", "", &[], 0),
    ("fakeroot", "", &[], 0),
    ("prlimit", "p", &["--pid"], 0),
    ("cpulimit", "lpe", &["--limit", "--pid", "--exe"], 0),
    ("trickle", "udwtln", &[], 0),
    ("proxychains", "f", &[], 0),
    ("proxychains4", "f", &[], 0),
    ("torsocks", "", &[], 0),
    ("firejail", "", &[], 0),
    ("bwrap", "", &[], 0),
    ("setpriv", "", &[], 0),
    ("cgexec", "g", &[], 0),
    ("pkexec", "", &["--user"], 0),
    ("dbus-launch", "", &[], 0),
    ("daemonize", "aceEloptuv", &[], 0),
    ("start-stop-daemon", "", &[], 0),
    ("sshpass", "pfde", &[], 0),
    (
        "lxc-attach",
        "nPRseuv",
        &[
            "--name",
            "--lxcpath",
            "--elevated-privileges",
            "--namespaces",
            "--set-var",
            "--keep-var",
            "--uid",
            "--gid",
            "--context",
        ],
        0,
    ),
    ("watch", "nqgd", &["--interval", "--differences"], 0),
];

/// Handles `prog` when it runs other programs; false when it does not.
pub(super) fn run(w: &mut Walker, prog: &str, argv: &[Arg], stdin: &Stdin) -> bool {
    let args = &argv[1..];
    let texts: Vec<&str> = args.iter().map(|a| a.text.as_str()).collect();
    match prog {
        "sudo" | "doas" => {
            let mut k = skip_opts(
                args,
                "ugCDhprtTURg",
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
            while let Some(a) = args.get(k).filter(|a| is_assignment(&a.text).is_some()) {
                check_env(w, &a.text, prog);
                k += 1;
            }
            through(w, prog, argv, k, stdin, "runs a command as another user");
        }
        "env" => {
            if let Some(k) = texts
                .iter()
                .position(|a| *a == "-S" || *a == "--split-string")
            {
                w.push(argv, Exec, "runs a command split from one string");
                let text = texts[k + 1..].join(" ");
                w.script_text("env -S", &text, stdin);
                return true;
            }
            let mut k = skip_opts(args, "uCP", &["--unset", "--chdir"]);
            if k > 0 {
                w.unresolve("`env` changes the environment of what it runs");
            }
            while let Some(a) = args.get(k).filter(|a| is_assignment(&a.text).is_some()) {
                check_env(w, &a.text, prog);
                k += 1;
            }
            if k >= args.len() {
                w.push(argv, crate::policy::Class::Read, "prints the environment");
                return true;
            }
            through(
                w,
                prog,
                argv,
                k,
                stdin,
                "runs a command with a changed environment",
            );
        }
        "xargs" => {
            let k = skip_opts(
                args,
                "dIiLlnPsEa",
                &[
                    "--delimiter",
                    "--replace",
                    "--max-lines",
                    "--max-args",
                    "--max-procs",
                    "--max-chars",
                    "--eof",
                    "--arg-file",
                ],
            );
            w.unresolve("`xargs` builds its command from its input");
            let mut inner: Vec<Arg> = args[k.min(args.len())..].to_vec();
            if inner.is_empty() {
                inner.push(Arg::literal("echo"));
            }
            for a in &mut inner {
                if a.text.contains("{}") {
                    *a = Arg::placeholder(&a.text);
                }
            }
            inner.push(Arg::placeholder("{items from standard input}"));
            w.push(
                argv,
                Exec,
                "runs a command with arguments read from its input",
            );
            w.inner("xargs", &inner, &Stdin::Unknown);
        }
        "su" => {
            if let Some(k) = texts.iter().position(|a| *a == "-c" || *a == "--command") {
                w.push(argv, Exec, "runs a command as another user");
                match args.get(k + 1) {
                    Some(a) if !a.dynamic => w.script_text("su -c", &a.text.clone(), stdin),
                    _ => w.opaque(argv, stdin),
                }
            } else {
                w.push(argv, Exec, "opens a shell as another user");
            }
        }
        "runuser" | "flock" if texts.iter().any(|a| *a == "-c" || *a == "--command") => {
            let k = texts
                .iter()
                .position(|a| *a == "-c" || *a == "--command")
                .unwrap_or(0);
            w.push(argv, Exec, &format!("{prog} runs a command line"));
            match args.get(k + 1) {
                Some(a) if !a.dynamic => {
                    w.script_text(&format!("{prog} -c"), &a.text.clone(), stdin)
                }
                _ => w.opaque(argv, stdin),
            }
        }
        "watch" if !texts.iter().any(|a| *a == "-x" || *a == "--exec") => {
            let k = skip_opts(args, "nqgd", &["--interval", "--differences"]);
            w.push(argv, Exec, "repeats a command line");
            let rest: Vec<&str> = texts[k.min(texts.len())..].to_vec();
            if args[k.min(args.len())..].iter().any(|a| a.dynamic) {
                w.opaque(argv, stdin);
            } else {
                w.script_text("watch", &rest.join(" "), &Stdin::Null);
            }
        }
        "busybox" => {
            w.push(argv, Exec, "runs a busybox applet");
            if !args.is_empty() {
                w.inner("busybox", args, stdin);
            }
        }
        "ssh" => ssh(w, argv, stdin),
        "script"
            if texts
                .iter()
                .any(|a| *a == "-c" || a.starts_with("--command")) =>
        {
            let k = texts
                .iter()
                .position(|a| *a == "-c" || a.starts_with("--command"))
                .unwrap_or(0);
            w.push(argv, Exec, "runs a command line under script");
            match args.get(k + 1) {
                Some(a) if !a.dynamic && texts[k] == "-c" => {
                    w.script_text("script -c", &a.text.clone(), stdin)
                }
                _ => w.opaque(argv, stdin),
            }
        }
        "ip" if is_ip_exec(&texts) => {
            let k = texts.iter().position(|a| *a == "exec").unwrap_or(0) + 1;
            through(
                w,
                "ip exec",
                argv,
                k,
                stdin,
                "runs a command in a network namespace or VRF",
            );
        }
        "pidstat" if texts.contains(&"-e") => {
            let k = texts.iter().position(|a| *a == "-e").unwrap_or(0) + 1;
            through(
                w,
                "pidstat -e",
                argv,
                k,
                stdin,
                "runs a command and watches it",
            );
        }
        "numactl"
            if !texts
                .iter()
                .any(|a| matches!(*a, "-H" | "--hardware" | "-s" | "--show")) =>
        {
            let k = numactl_command(&texts);
            through(
                w,
                "numactl",
                argv,
                k,
                stdin,
                "runs a command with a NUMA policy",
            );
        }
        "perf"
            if matches!(
                texts.first(),
                Some(
                    &("stat"
                        | "record"
                        | "trace"
                        | "top"
                        | "sched"
                        | "mem"
                        | "lock"
                        | "kvm"
                        | "c2c")
                )
            ) =>
        {
            w.push(argv, Exec, "runs a command under the profiler");
            w.opaque(argv, stdin);
        }
        "tmux" | "screen" | "at" | "batch" | "parallel" | "run-parts" | "make" => {
            w.push(argv, Exec, "runs commands it is given or finds");
            w.opaque(argv, stdin);
            if matches!(prog, "at" | "batch") {
                reads_stdin(w, prog, argv, stdin);
            }
        }
        _ if SHELLS.contains(&prog) => shell(w, prog, argv, stdin),
        _ if INTERPRETERS.contains(&prog)
            || prog.starts_with("python3.")
            || prog.starts_with("perl5") =>
        {
            interpreter(w, prog, argv, stdin)
        }
        _ => {
            let Some(&(_, short, long, operands)) = SIMPLE.iter().find(|s| s.0 == prog) else {
                return false;
            };
            let k = skip_opts(args, short, long) + operands;
            through(w, prog, argv, k, stdin, "runs another command");
        }
    }
    true
}

/// The wrapper's own part (Exec), then `argv[k+1..]` as a command of its own.
fn through(w: &mut Walker, label: &str, argv: &[Arg], k: usize, stdin: &Stdin, what: &str) {
    let args = &argv[1..];
    w.push(
        argv,
        Exec,
        &format!("{what}; a wrapper, so it is not a proven read"),
    );
    if args[..k.min(args.len())].iter().any(|a| a.dynamic) {
        w.opaque(argv, stdin);
    }
    if k < args.len() {
        w.inner(label, &args[k..], stdin);
    }
}

/// `NAME=value` of `env`/`sudo`: anything but a harmless variable leaves the command unresolved.
fn check_env(w: &mut Walker, text: &str, prog: &str) {
    if let Some((name, _)) = is_assignment(text)
        && !is_safe_var(name)
    {
        w.unresolve(format!(
            "`{prog}` sets `{name}`, which can change what the command runs or reads"
        ));
    }
}

fn is_ip_exec(texts: &[&str]) -> bool {
    let words: Vec<&str> = texts
        .iter()
        .copied()
        .filter(|a| !a.starts_with('-'))
        .collect();
    matches!(words.as_slice(), [obj, "exec", ..] if obj.starts_with("netns") || obj.starts_with("vrf"))
        || matches!(words.as_slice(), [obj, _, "exec", ..] if obj.starts_with("netns") || obj.starts_with("vrf"))
}

/// Index of the command in `numactl OPTIONS… COMMAND`: options all take a value.
fn numactl_command(texts: &[&str]) -> usize {
    let mut k = 0;
    while k < texts.len() && texts[k].starts_with('-') {
        if texts[k] == "--" {
            return k + 1;
        }
        k += if texts[k].contains('=') || texts[k].len() > 2 && !texts[k].starts_with("--") {
            1
        } else {
            2
        };
    }
    k
}

fn ssh(w: &mut Walker, argv: &[Arg], stdin: &Stdin) {
    let args = &argv[1..];
    let k = skip_opts(args, "BbcDEeFIiJLlmOoPpQRSWw", &[]);
    // `-o ProxyCommand=…`, `-o LocalCommand=…` and friends run local commands.
    let local = args.iter().any(|a| {
        let t = a.text.to_ascii_lowercase();
        t.contains("command") || t.contains("proxyjump") || t.starts_with("-f")
    });
    if local {
        w.unresolve("ssh options that run local commands");
        w.opaque(argv, stdin);
    }
    if k >= args.len() {
        return w.push(argv, Exec, "opens an SSH connection");
    }
    let remote = &args[k + 1..];
    w.push(argv, Exec, "runs a command on another host over SSH");
    if remote.is_empty() {
        return reads_stdin(w, "ssh", argv, stdin);
    }
    if remote.iter().any(|a| a.dynamic) {
        return w.opaque(argv, stdin);
    }
    let text: Vec<&str> = remote.iter().map(|a| a.text.as_str()).collect();
    let label = format!("ssh {}", args[k].text);
    w.script_text(&label, &text.join(" "), &Stdin::Unknown);
}

fn shell(w: &mut Walker, prog: &str, argv: &[Arg], stdin: &Stdin) {
    let args = &argv[1..];
    let mut c_mode = false;
    let mut k = 0;
    while k < args.len() {
        let a = args[k].text.as_str();
        if a == "--" {
            k += 1;
            break;
        }
        if !(a.starts_with('-') || a.starts_with('+')) || a == "-" {
            break;
        }
        if !a.starts_with("--") && a.contains('c') {
            c_mode = true;
        }
        if a.starts_with("--") && a != "--norc" && a != "--noprofile" && a != "--posix" {
            w.unresolve(format!("`{prog} {a}` changes what the shell runs first"));
        }
        k += if matches!(a, "-o" | "+o" | "-O" | "+O" | "--rcfile" | "--init-file") {
            2
        } else {
            1
        };
    }
    w.push(
        argv,
        Exec,
        &format!("runs a {prog} script; a wrapper, so it is not a proven read"),
    );
    if c_mode {
        return match args.get(k) {
            Some(script) if !script.dynamic => {
                if args.len() > k + 1 {
                    // `sh -c '… "$0" …' ARG`: the script reads its arguments at run time.
                    w.opaque(argv, stdin);
                }
                w.script_text(&format!("{prog} -c"), &script.text.clone(), stdin)
            }
            _ => w.opaque(argv, stdin),
        };
    }
    if k < args.len() {
        return w.opaque(argv, stdin);
    }
    reads_stdin(w, prog, argv, stdin)
}

/// A program that reads commands from standard input (`sh`, `at`, `ssh host`).
fn reads_stdin(w: &mut Walker, prog: &str, argv: &[Arg], stdin: &Stdin) {
    match stdin {
        Stdin::Text(body) | Stdin::Pipe(Some(body)) => {
            let body = body.clone();
            w.script_text(&format!("{prog} stdin"), &body, &Stdin::Null)
        }
        Stdin::Pipe(None) | Stdin::Unknown => {
            w.unresolve(format!("`{prog}` runs commands read from a pipe or file"));
            w.opaque(argv, stdin);
        }
        Stdin::Null => {}
    }
}

fn interpreter(w: &mut Walker, prog: &str, argv: &[Arg], stdin: &Stdin) {
    w.push(
        argv,
        Exec,
        &format!("runs {prog} code, which cannot be inspected"),
    );
    w.opaque(argv, stdin);
    w.check_secrets(prog, &argv[1..]);
}

/// Index of the first operand after the options of a wrapper.
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
