//! Inline code: `awk` programs, `sed` scripts and `find` actions, by what they run and write.

use super::{Verdict, has, persistence, raw_target, v};
use crate::policy::Class::{Destructive, Exec, Modify, Read};

/// Absolute paths named inside inline code (`print > "/etc/cron.d/x"`, `w /dev/sda`): writing
/// one that makes something run later is Exec, one that is a raw device or guest image is
/// Destructive.
fn script_targets(verdict: Verdict, script: &str) -> Verdict {
    let mut verdict = verdict;
    for token in script.split(|c: char| {
        c.is_whitespace() || matches!(c, '"' | '\'' | '(' | ')' | ';' | '>' | '|' | ',')
    }) {
        if !token.starts_with('/') {
            continue;
        }
        let Some(path) = crate::policy::command::paths::normalize(token, None) else {
            continue;
        };
        if let Some(what) = raw_target(&path) {
            verdict = Verdict {
                class: verdict.class.max(Destructive),
                reversible: false,
                explanation: format!("{}; {what}", verdict.explanation),
                ..verdict
            };
        }
        if let Some(what) = persistence(&path) {
            verdict = Verdict {
                class: verdict.class.max(Exec),
                explanation: format!("{}; writes {what}", verdict.explanation),
                ..verdict
            };
        }
    }
    verdict
}

pub(super) fn awk(args: &[String]) -> Verdict {
    let prog = args
        .iter()
        .find(|a| !a.starts_with('-'))
        .map(String::as_str)
        .unwrap_or("");
    if prog.contains("system") || prog.contains("|") || prog.contains("getline") {
        v(Exec, "awk program runs commands").opaque()
    } else if prog.contains("> \"")
        || prog.contains(">\"")
        || prog.contains(">> ")
        || has(args, &["-i"])
    {
        script_targets(v(Modify, "awk program writes files").writes(), prog)
    } else {
        v(Read, "filters text")
    }
}

pub(super) fn sed(args: &[String]) -> Verdict {
    let in_place = args.iter().any(|a| {
        a.starts_with("--in-place")
            || (a.starts_with('-') && !a.starts_with("--") && a[1..].contains('i'))
    });
    let script: String = args
        .iter()
        .filter(|a| !a.starts_with('-'))
        .take(1)
        .cloned()
        .collect();
    let command = script
        .trim_start()
        .trim_start_matches(|c: char| c.is_ascii_digit() || ",$~! ".contains(c));
    let execs = script.ends_with("/e") || script.contains("/e;") || command.starts_with('e');
    if execs {
        v(Exec, "sed script runs commands").opaque()
    } else if script.contains(" w ") || script.contains("/w ") || script.starts_with("w ") {
        script_targets(v(Modify, "sed script writes a file").writes(), &script)
    } else if in_place {
        v(Modify, "edits files in place").writes()
    } else {
        v(Read, "filters text")
    }
}

pub(super) fn find(args: &[String]) -> Verdict {
    let mut verdict = v(Read, "searches files");
    let mut k = 0;
    while k < args.len() {
        match args[k].as_str() {
            "-delete" => {
                verdict = Verdict {
                    class: Destructive,
                    explanation: "deletes every file it finds".into(),
                    reversible: false,
                    writes: true,
                    recursive: true,
                    ..verdict
                }
            }
            "-exec" | "-execdir" | "-ok" | "-okdir" => {
                let end = (k + 1..args.len())
                    .find(|&j| args[j] == ";" || args[j] == "+")
                    .unwrap_or(args.len());
                verdict.inner.push(k + 1..end);
                verdict.recursive = true;
                if verdict.class < Exec {
                    verdict.class = Exec;
                    verdict.explanation = "runs a command for every file it finds".into();
                }
                k = end;
            }
            "-fprint" | "-fprintf" | "-fprint0" | "-fls" => {
                verdict.class = verdict.class.max(Modify);
                verdict.writes = true;
            }
            _ => {}
        }
        k += 1;
    }
    verdict
}
