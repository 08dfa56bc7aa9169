//! The evasion and benign corpora for shell-command classification: every line must come out as
//! its expected outcome; a failure lists every mismatch at once.

use proxmox_mcp::policy::Class;
use proxmox_mcp::policy::command::{Analysis, Context, analyze};

const CTX: Context = Context {
    own_node: Some("pve1"),
    own_user: Some("mcp@pve"),
    own_token: Some("mcp@pve!mcp"),
};

/// (outcome, command) pairs; `#` lines and blank lines are skipped, `⏎` is a newline.
fn corpus(text: &str) -> Vec<(&str, String)> {
    text.lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .map(|l| {
            let (outcome, cmd) = l.split_once(' ').unwrap_or((l, ""));
            (outcome, cmd.replace('⏎', "\n"))
        })
        .collect()
}

fn describe(cmd: &str, a: &Analysis) -> String {
    let parts: Vec<String> = a
        .parts
        .iter()
        .map(|p| format!("{} {:?}: {}", p.class, p.argv, p.explanation))
        .collect();
    format!(
        "{cmd:?}\n    class {} protected {:?} error {:?}\n    {}",
        a.class,
        a.protected,
        a.parse_error,
        parts.join("\n    ")
    )
}

fn run(text: &str, min: usize, ok: impl Fn(&str, &Analysis) -> Result<(), String>) {
    let lines = corpus(text);
    assert!(
        lines.len() >= min,
        "corpus has {} commands, want at least {min}",
        lines.len()
    );
    let mut bad = Vec::new();
    for (outcome, cmd) in &lines {
        let a = analyze(cmd, &CTX);
        if let Err(why) = ok(outcome, &a) {
            bad.push(format!("{why}: {}", describe(cmd, &a)));
        }
    }
    assert!(
        bad.is_empty(),
        "{} of {} mismatched:\n{}",
        bad.len(),
        lines.len(),
        bad.join("\n")
    );
}

#[test]
fn evasion_corpus_is_refused_or_needs_confirmation() {
    run(
        include_str!("corpus/evasion.txt"),
        150,
        |outcome, a| match outcome {
            "protected" if !a.protected.is_empty() => Ok(()),
            "protected" => Err("want a protection hit".into()),
            "confirm" if !a.protected.is_empty() => {
                Err("want confirm, got a protection hit".into())
            }
            "confirm" if matches!(a.class, Class::Destructive | Class::Exec) => Ok(()),
            "confirm" => Err("want Destructive or Exec".into()),
            other => Err(format!("unknown outcome {other:?}")),
        },
    );
}

#[test]
fn benign_corpus_is_read_only() {
    run(
        include_str!("corpus/benign.txt"),
        100,
        |outcome, a| match outcome {
            "read"
                if a.class == Class::Read && a.protected.is_empty() && a.parse_error.is_none() =>
            {
                Ok(())
            }
            "read" => Err("want Read with no protection hit".into()),
            other => Err(format!("unknown outcome {other:?}")),
        },
    );
}
