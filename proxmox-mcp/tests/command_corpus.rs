//! The command corpora, by category (`tests/corpus/commands/*.txt`): every line must come out as
//! its expected outcome, decided by the very policy function that gates execution, in every
//! mode. A failure lists every mismatch at once. Zero misses on adversarial lines, zero false
//! positives on benign ones.

use std::sync::LazyLock;

use proxmox_mcp::policy::Class;
use proxmox_mcp::policy::command::{Analysis, Context, ServerFiles, analyze};
use proxmox_mcp::policy::decision::Decision;
use proxmox_mcp::policy::engine::{Policy, Request, decisions};

static SERVER: LazyLock<ServerFiles> = LazyLock::new(ServerFiles::standard);

fn ctx() -> Context<'static> {
    Context::for_identity(&SERVER, "pve1", "mcp@pve", "mcp@pve!mcp")
}

/// (file, minimum number of lines): the corpora only grow.
const FILES: &[(&str, usize)] = &[
    ("reads", 190),
    ("changes", 14),
    ("unresolved", 130),
    ("root-protection", 140),
    ("server-state", 40),
    ("secrets", 75),
    ("persistence", 22),
    ("severity", 43),
    ("read-lookalikes", 55),
    ("wrappers", 75),
    ("destructive", 110),
    ("evasion", 20),
];

/// (expected outcome, command) pairs; `#` lines and blank lines are skipped, `⏎` is a newline.
pub fn corpus(text: &str) -> Vec<(String, String)> {
    text.lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .map(|l| {
            let (outcome, cmd) = l.split_once(' ').unwrap_or((l, ""));
            (outcome.to_string(), cmd.replace('⏎', "\n"))
        })
        .collect()
}

fn read(name: &str) -> String {
    let path = format!(
        "{}/tests/corpus/commands/{name}.txt",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn describe(cmd: &str, a: &Analysis) -> String {
    let parts: Vec<String> = a
        .parts
        .iter()
        .map(|p| format!("{} {:?}: {}", p.class, p.argv, p.explanation))
        .collect();
    format!(
        "{cmd:?}\n    class {} protected {:?} unresolved {:?}\n    {}",
        a.class,
        a.protected,
        a.unresolved,
        parts.join("\n    ")
    )
}

/// The decisions (read-only, safe, normal) an outcome stands for.
fn expected(outcome: &str, class: Class) -> Result<[&'static str; 3], String> {
    Ok(match outcome {
        "read" => ["allow", "allow", "allow"],
        "change" => ["refuse", "confirm", "allow"],
        "confirm" => ["refuse", "confirm", "confirm"],
        "notread" if class < Class::Destructive => ["refuse", "confirm", "allow"],
        "notread" => ["refuse", "confirm", "confirm"],
        "refuse" => ["refuse", "refuse", "refuse"],
        other => return Err(format!("unknown outcome {other:?}")),
    })
}

#[test]
fn every_corpus_line_gets_its_verdict_in_every_mode() {
    let ctx = ctx();
    let mut bad = Vec::new();
    let mut total = 0;
    for (file, min) in FILES {
        let lines = corpus(&read(file));
        assert!(
            lines.len() >= *min,
            "{file}.txt has {} commands, want at least {min}",
            lines.len()
        );
        total += lines.len();
        for (outcome, cmd) in &lines {
            let a = analyze(cmd, &ctx);
            let got: Vec<&str> = decisions(&Policy::default(), &Request::command(&a))
                .iter()
                .map(|(_, d)| d.as_str())
                .collect();
            let class_ok = match outcome.as_str() {
                "read" => a.class == Class::Read,
                "change" => matches!(a.class, Class::Lifecycle | Class::Modify),
                "confirm" => a.class >= Class::Destructive,
                _ => true,
            };
            match expected(outcome, a.class) {
                Ok(want) if class_ok && got == want => {}
                Ok(want) => bad.push(format!(
                    "{file}: want {outcome} {want:?}, got {got:?}: {}",
                    describe(cmd, &a)
                )),
                Err(e) => bad.push(format!("{file}: {e}: {cmd:?}")),
            }
        }
    }
    assert!(
        bad.is_empty(),
        "{} of {total} mismatched:\n{}",
        bad.len(),
        bad.join("\n")
    );
}

/// A refusal names what it protects and, for commands that cannot be checked, asks for the
/// plain command: the model can act on it.
#[test]
fn refusals_say_what_to_do() {
    let ctx = ctx();
    let a = analyze("pveum user delete \"$(printf 'root@%s' pam)\"", &ctx);
    let Decision::Refuse(why) =
        proxmox_mcp::policy::engine::evaluate(&Policy::default(), &Request::command(&a))
    else {
        panic!("not refused: {a:?}");
    };
    assert!(why.contains("plain command"), "{why}");
    assert!(why.contains("pveum"), "{why}");
}
