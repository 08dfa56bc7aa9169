//! Looking through wrappers: `sudo`, `env`, `timeout`, `xargs`, shells with `-c`, interpreters,
//! and programs that read commands from standard input.

use super::classify::{Arg, Stdin, Walker, skip_opts};
use crate::policy::Class::{self, Destructive, Exec, Modify, Read};

impl Walker<'_> {
    pub(super) fn wrapper(&mut self, prog: &str, argv: &[Arg], stdin: &Stdin) {
        let args = &argv[1..];
        let texts: Vec<&str> = args.iter().map(|a| a.text.as_str()).collect();
        let k = match prog {
            "nice" => skip_opts(args, "n", &["--adjustment"]),
            "ionice" => skip_opts(
                args,
                "cnpPu",
                &["--class", "--classdata", "--pid", "--pgid", "--uid"],
            ),
            "time" => skip_opts(args, "fo", &["--format", "--output"]),
            "stdbuf" => skip_opts(args, "ioe", &["--input", "--output", "--error"]),
            "timeout" => skip_opts(args, "sk", &["--signal", "--kill-after"]) + 1,
            "chrt" | "taskset" => {
                let k = skip_opts(args, "", &[]);
                if texts.iter().any(|a| *a == "-p" || *a == "--pid") {
                    return self.push(argv, Modify, "changes a running process's scheduling");
                }
                k + 1
            }
            "exec" => skip_opts(args, "a", &[]),
            "command" => {
                if texts.iter().any(|a| *a == "-v" || *a == "-V") {
                    return self.push(argv, Read, "looks up a command");
                }
                skip_opts(args, "", &[])
            }
            "systemd-run" => skip_opts(
                args,
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
            ),
            "unshare" | "nsenter" => skip_opts(
                args,
                "tSGCD",
                &["--target", "--setuid", "--setgid", "--wd", "--root"],
            ),
            "chroot" => skip_opts(args, "", &["--userspec", "--groups"]) + 1,
            "runuser" => {
                if let Some(k) = texts.iter().position(|a| *a == "-c" || *a == "--command") {
                    return match args.get(k + 1) {
                        Some(a) if !a.dynamic => {
                            self.script_text("runuser -c", &a.text.clone(), stdin)
                        }
                        _ => self.push(argv, Destructive, "runs a command computed at run time"),
                    };
                }
                skip_opts(args, "ugl", &["--user", "--group"])
            }
            "flock" => {
                if let Some(k) = texts.iter().position(|a| *a == "-c" || *a == "--command") {
                    return match args.get(k + 1) {
                        Some(a) if !a.dynamic => {
                            self.script_text("flock -c", &a.text.clone(), stdin)
                        }
                        _ => self.push(argv, Destructive, "runs a command computed at run time"),
                    };
                }
                skip_opts(args, "wE", &["--timeout", "--conflict-exit-code"]) + 1
            }
            "watch" => {
                let k = skip_opts(args, "nqg", &["--interval"]);
                if !texts.iter().take(k).any(|a| *a == "-x" || *a == "--exec") {
                    if args[k.min(args.len())..].iter().any(|a| a.dynamic) {
                        return self.push(
                            argv,
                            Destructive,
                            "repeats a command computed at run time",
                        );
                    }
                    let text = texts[k.min(texts.len())..].join(" ");
                    return self.script_text("watch", &text, &Stdin::Terminal);
                }
                k
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
                let mut inner: Vec<Arg> = args[k.min(args.len())..].to_vec();
                if inner.is_empty() {
                    inner.push(Arg {
                        text: "echo".into(),
                        ..Arg::default()
                    });
                }
                for a in &mut inner {
                    if a.text.contains("{}") {
                        *a = Arg::placeholder(&a.text);
                    }
                }
                inner.push(Arg::placeholder("{items from standard input}"));
                return self.inner("xargs", &inner, &Stdin::Unknown);
            }
            _ => skip_opts(args, "", &[]),
        };
        if k >= args.len() {
            return match prog {
                "chroot" | "nsenter" | "unshare" => {
                    self.push(argv, Exec, "opens a shell in another root or namespace")
                }
                "exec" | "command" | "builtin" => {
                    self.push(argv, Read, "changes nothing by itself")
                }
                _ => self.push(
                    argv,
                    Exec,
                    "wraps a command that is missing or cannot be found",
                ),
            };
        }
        self.inner(prog, &args[k..], stdin)
    }

    pub(super) fn shell(&mut self, prog: &str, argv: &[Arg], stdin: &Stdin) {
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
            k += if matches!(a, "-o" | "+o" | "-O" | "+O" | "--rcfile" | "--init-file") {
                2
            } else {
                1
            };
        }
        if c_mode {
            return match args.get(k) {
                Some(script) if !script.dynamic => {
                    self.script_text(&format!("{prog} -c"), &script.text.clone(), stdin)
                }
                Some(_) => self.push(
                    argv,
                    Destructive,
                    "runs a script computed at run time, which cannot be checked",
                ),
                None => self.push(argv, Destructive, "`-c` without a script"),
            };
        }
        if k < args.len() {
            return self.push(argv, Exec, "runs a script file, which cannot be inspected");
        }
        self.reads_stdin(prog, argv, stdin, Exec)
    }

    /// A program that reads commands from standard input (`sh`, `at`, `ssh host`).
    pub(super) fn reads_stdin(
        &mut self,
        prog: &str,
        argv: &[Arg],
        stdin: &Stdin,
        interactive: Class,
    ) {
        match stdin {
            Stdin::Text(body) | Stdin::Pipe(Some(body)) => {
                let body = body.clone();
                if prog == "at" || prog == "batch" {
                    self.push(argv, Modify, "schedules commands to run later");
                }
                self.script_text(&format!("{prog} stdin"), &body, &Stdin::Terminal)
            }
            Stdin::Pipe(None) | Stdin::Unknown => self.push(
                argv,
                Destructive,
                "runs commands read from a pipe or file, which cannot be inspected",
            ),
            Stdin::Terminal => self.push(argv, interactive, "opens an interactive shell"),
        }
    }

    pub(super) fn interpreter(&mut self, prog: &str, argv: &[Arg], stdin: &Stdin) {
        let args = &argv[1..];
        self.check_secrets(prog, args);
        let code = args.iter().position(|a| {
            let t = a.text.as_str();
            matches!(t, "-c" | "-e" | "-E" | "-r")
                || (t.starts_with('-') && !t.starts_with("--") && t.ends_with('e'))
        });
        if let Some(k) = code {
            return match args.get(k + 1) {
                Some(c) if c.dynamic => self.push(
                    argv,
                    Destructive,
                    "runs program text computed at run time (an encoded payload?)",
                ),
                _ => self.push(argv, Exec, &format!("runs inline {prog} code")),
            };
        }
        if args.iter().any(|a| !a.text.starts_with('-')) || args.iter().any(|a| a.text == "-m") {
            return self.push(argv, Exec, &format!("runs a {prog} program"));
        }
        match stdin {
            Stdin::Terminal => self.push(argv, Exec, &format!("opens an interactive {prog}")),
            Stdin::Text(_) => self.push(
                argv,
                Exec,
                &format!("runs a {prog} program from a here-document"),
            ),
            _ => self.push(
                argv,
                Destructive,
                &format!("runs a {prog} program read from a pipe, which cannot be inspected"),
            ),
        }
    }
}
