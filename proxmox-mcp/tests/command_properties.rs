//! Properties of command classification, over generated inputs (seeded, so a failure repeats):
//!
//! - every root-protected operation, wrapped in every construct the classifier cannot resolve
//!   (and spelled in ways the shell joins back together), is refused;
//! - nothing the parser meets makes it panic, and every input is classified in bounded time.

use std::sync::LazyLock;
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::{Rng as _, SeedableRng as _};

use proxmox_mcp::policy::Class;
use proxmox_mcp::policy::command::{Context, ServerFiles, analyze};

static SERVER: LazyLock<ServerFiles> = LazyLock::new(ServerFiles::standard);

fn ctx() -> Context<'static> {
    Context::for_identity(&SERVER, "pve1", "mcp@pve", "mcp@pve!mcp")
}

/// Operations root protection forbids: accounts, node removal, the server's own state,
/// secrets, protected paths.
const PROTECTED_OPS: &[&str] = &[
    "pveum user delete root@pam",
    "pveum passwd root@pam",
    "pveum acl modify / --users mcp@pve --roles Administrator",
    "pvecm delnode pve2",
    "pvesh delete /cluster/config/nodes/pve3",
    "proxmox-mcp approve ABCDEFGHJK",
    "proxmox-mcp mode normal",
    "rm -rf /var/lib/proxmox-mcp/audit",
    "cat /var/lib/proxmox-mcp/request-state.key",
    "cat /etc/shadow",
    "cat /etc/pve/priv/authkey.key",
    "tr '\\0' '\\n' < /proc/1/environ",
    "echo 'x ALL=(ALL) NOPASSWD: ALL' >> /etc/sudoers",
    "cp /tmp/k /root/.ssh/authorized_keys",
    "passwd root",
    "usermod -L root",
];

/// Constructs bash evaluates at run time, or programs that run their arguments. `{}` is the
/// operation as written, `{q}` the operation as one single-quoted shell word.
const WRAPPERS: &[&str] = &[
    "echo \"$({})\"",
    "echo `{}`",
    "x=$({}); echo $x",
    "eval {q}",
    "builtin eval {q}",
    "x={q}; eval \"$x\"",
    "let 'x[$({})]=1'",
    "declare -i x='a[$({})]'",
    "typeset -i x='a[$({})]'",
    "printf -v x %s \"$({})\"",
    "read x <<< \"$({})\"",
    "[[ 'a[$({})]' -eq 1 ]]",
    "test \"$({})\" = x",
    ": $((x[$({})]))",
    "(( x[$({})] ))",
    "x='$({})'; echo ${x@P}",
    "f() { {}; }; f",
    "function f { {}; }; f",
    "alias a={q}; a",
    "trap {q} EXIT",
    "source <(echo {q})",
    ". <(echo {q})",
    "cat <(/bin/sh -c {q})",
    "exec {}",
    "command {}",
    "hash -p /bin/sh s; s -c {q}",
    "coproc {}",
    "nohup {} &",
    "timeout 5 {}",
    "nice -n 5 {}",
    "sudo {}",
    "sudo -u root -- {}",
    "env {}",
    "env -S {q}",
    "setsid {}",
    "stdbuf -oL {}",
    "time {}",
    "xargs -0 sh -c {q} < /dev/null",
    "watch -n 60 {q}",
    "ssh pve1 {q}",
    "bash -c {q}",
    "sh -c {q}",
    "bash -lc {q}",
    "busybox sh -c {q}",
    "su -c {q}",
    "runuser -u root -- {}",
    "flock /tmp/l -c {q}",
    "script -qc {q} /dev/null",
    "echo {q} | sh",
    "sh <<< {q}",
    "bash <<'EOF'\n{}\nEOF",
    "at now <<< {q}",
    "find / -maxdepth 0 -exec sh -c {q} \\;",
    "python3 -c \"import os; os.system({q})\"",
    "perl -e \"system({q})\"",
    "{ {}; }",
    "( {} )",
    "if true; then {}; fi",
    "for i in 1; do {}; done",
    "case x in x) {};; esac",
    "while false; do :; done; {}",
    "X=1 {}",
    "! {}",
    "{} &",
    "{} | cat",
    "true && {}",
    "false || {}",
    "{}; true",
];

/// Single-quotes `s` as one shell word.
fn quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "'\\''"))
}

/// A spelling bash reads as the same word: quotes split it, a backslash escapes a letter, an
/// empty expansion sits inside it, or an ANSI-C escape spells a letter.
fn respell(word: &str, rng: &mut StdRng) -> String {
    let chars: Vec<char> = word.chars().collect();
    if chars.len() < 3
        || !chars
            .iter()
            .all(|c| c.is_ascii_alphanumeric() || "-/.".contains(*c))
    {
        return word.to_string();
    }
    let k = rng.random_range(1..chars.len() - 1);
    let (a, b): (String, String) = (chars[..k].iter().collect(), chars[k..].iter().collect());
    match rng.random_range(0..5) {
        0 => format!("{a}'{b}'"),
        1 => format!("{a}\"\"{b}"),
        2 if chars[k].is_ascii_alphabetic() => format!("{a}\\{b}"),
        3 => format!("{a}${{EMPTY}}{b}"),
        _ => format!("{a}$'\\x{:02x}'{}", chars[k] as u32, &b[1..]),
    }
}

#[test]
fn protected_operations_are_refused_in_every_wrapper() {
    let ctx = ctx();
    let mut rng = StdRng::seed_from_u64(8);
    let mut bad = Vec::new();
    let mut n = 0;
    for op in PROTECTED_OPS {
        for wrapper in WRAPPERS {
            for round in 0..3 {
                // Round 0 as written; then with the program, or a random word, respelled.
                let spelled = if round == 0 {
                    op.to_string()
                } else {
                    let mut words: Vec<String> = op.split(' ').map(str::to_string).collect();
                    let k = if round == 1 {
                        0
                    } else {
                        rng.random_range(0..words.len())
                    };
                    words[k] = respell(&words[k], &mut rng);
                    words.join(" ")
                };
                let cmd = wrapper
                    .replace("{q}", &quote(&spelled))
                    .replace("{}", &spelled);
                n += 1;
                let a = analyze(&cmd, &ctx);
                if a.protected.is_empty() {
                    bad.push(format!("{cmd:?}: {} {:?}", a.class, a.unresolved));
                }
            }
        }
    }
    assert!(
        bad.is_empty(),
        "{} of {n} not refused:\n{}",
        bad.len(),
        bad.join("\n")
    );
}

/// Wrapping a harmless read in the same constructs never makes it a read.
#[test]
fn wrapped_reads_are_never_reads() {
    let ctx = ctx();
    for wrapper in WRAPPERS {
        for op in ["cat /etc/hostname", "ls -la /var/log"] {
            let cmd = wrapper.replace("{q}", &quote(op)).replace("{}", op);
            let plain = [
                "{ {}; }",
                "( {} )",
                "if true; then {}; fi",
                "for i in 1; do {}; done",
                "case x in x) {};; esac",
                "while false; do :; done; {}",
                "! {}",
                "{} &",
                "{} | cat",
                "true && {}",
                "false || {}",
                "{}; true",
            ];
            let a = analyze(&cmd, &ctx);
            if plain.contains(wrapper) {
                assert_eq!(a.class, Class::Read, "{cmd:?}: {a:?}");
            } else {
                assert!(a.class >= Class::Exec, "{cmd:?} classed {}: {a:?}", a.class);
            }
        }
    }
}

/// Shell-ish noise: quotes, expansions, brackets, operators, globs, escapes, newlines.
const ALPHABET: &[&str] = &[
    "'",
    "\"",
    "$",
    "`",
    "(",
    ")",
    "{",
    "}",
    "[",
    "]",
    "|",
    "&",
    ";",
    "<",
    ">",
    "\\",
    "\n",
    " ",
    "*",
    "?",
    "~",
    "#",
    "=",
    "!",
    ",",
    ".",
    "-",
    "/",
    "a",
    "x",
    "0",
    "1",
    "$(",
    "${",
    "$((",
    "<<",
    "<<<",
    "EOF",
    "'$(id)'",
    "ls",
    "qm",
    "rm",
    "cat",
    "/etc/shadow",
    "pveum",
    "eval",
    "bash -c",
    "case",
    "in",
    "esac",
    ";;",
    "if",
    "then",
    "fi",
    "for",
    "do",
    "done",
    "[[",
    "]]",
    "((",
    "))",
    "\u{202e}",
    "é",
    "\t",
    "\r",
];

#[test]
fn the_parser_never_panics_and_stays_fast() {
    let ctx = ctx();
    let mut rng = StdRng::seed_from_u64(1);
    let started = Instant::now();
    let mut worst = Duration::ZERO;
    for i in 0..6000 {
        let len = if i % 100 == 0 {
            4000
        } else {
            rng.random_range(0..60)
        };
        let s: String = (0..len)
            .map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())])
            .collect();
        let t = Instant::now();
        let a = analyze(&s, &ctx);
        worst = worst.max(t.elapsed());
        // Whatever could not be parsed is never a read.
        if a.parse_error.is_some() {
            assert!(a.class >= Class::Exec, "{s:?}: {a:?}");
        }
    }
    // Deep nesting of every kind.
    for open in [
        "$(",
        "`",
        "(",
        "{ ",
        "${",
        "$((",
        "<(",
        "bash -c '",
        "\"$(",
        "[[ ",
    ] {
        let s = open.repeat(3000);
        let t = Instant::now();
        let _ = analyze(&s, &ctx);
        worst = worst.max(t.elapsed());
    }
    // A hang detector, not a speed measurement (the benchmarks measure speed): an exponential
    // matcher or a quadratic scan would blow far past this on the inputs above.
    assert!(
        started.elapsed() < Duration::from_secs(120) && worst < Duration::from_secs(10),
        "classification took {:?} in all, {worst:?} for one input",
        started.elapsed()
    );
}

/// Pieces of words whose meaning bash fixes before anything runs: quotes, escapes, ANSI-C
/// strings (NULs included), brace expansion (empty words included), tildes, line
/// continuations, globs that match nothing in an empty directory.
const WORD_PIECES: &[&str] = &[
    "a",
    "b",
    "x=y",
    "'q u'",
    "\"d q\"",
    "\\ ",
    "\\\n",
    "$'\\x41'",
    "$'a\\0z'",
    "$'\\x'",
    "{x,y}",
    "{,}",
    "{a,}",
    "{a..c}",
    "{1..3}",
    "~",
    "~/x",
    "x=~/y",
    "\\$",
    "''",
    "\"\"",
    "$'\\n'",
    "\\\\",
    "[ab]",
    "\\{",
    "'{a,b}'",
    ",",
    "-",
    "--",
    "\\*",
    "$'\\c@'",
    "\"\\$\"",
    "{a,{b,c}}",
    "\\\"",
    "$\"x\"",
    "#",
    "\"a'b\"",
    "'a\"b'",
    "$'\\''",
    "\\'",
    "{}",
    "{x..}",
    "a{b}",
    "{a,b}\\,",
    "\t",
    "$'\\u0041'",
    "$'\\101'",
    "\"\\\n\"",
    "'\\\n'",
    "{-a,b}",
    "{a,b}{,c}",
];

/// Our expansion of literal words agrees with bash's, word for word: bash itself prints the
/// words it passes (`printf '%s\0' …`, a builtin, with no `PATH`, in an empty directory).
#[test]
fn literal_words_expand_as_bash_expands_them() {
    let ctx = ctx();
    let dir = tempfile::tempdir().expect("a temporary directory");
    let mut rng = StdRng::seed_from_u64(42);
    let mut bad = Vec::new();
    let mut compared = 0;
    for _ in 0..1500 {
        let words: Vec<String> = (0..rng.random_range(1..5))
            .map(|_| {
                (0..rng.random_range(1..4))
                    .map(|_| WORD_PIECES[rng.random_range(0..WORD_PIECES.len())])
                    .collect()
            })
            .collect();
        let cmd = format!("printf '%s\\0' {}", words.join(" "));
        let a = analyze(&cmd, &ctx);
        if !a.unresolved.is_empty() || a.parts.len() != 1 {
            continue;
        }
        let out = std::process::Command::new("/bin/bash")
            .arg("-c")
            .arg(&cmd)
            .env_clear()
            .env("PATH", "/nonexistent")
            .env("HOME", "/root")
            .current_dir(dir.path())
            .output()
            .expect("bash runs (the executors need it too)");
        let theirs: Vec<String> = String::from_utf8_lossy(&out.stdout)
            .split('\0')
            .map(str::to_string)
            .collect();
        let mut theirs = theirs[..theirs.len().saturating_sub(1)].to_vec();
        let ours = &a.parts[0].argv[2..];
        if ours.is_empty() && theirs == [""] {
            // `printf` prints its format once even with no arguments.
            theirs.clear();
        }
        compared += 1;
        if ours != theirs {
            bad.push(format!("{cmd:?}: we read {ours:?}, bash passes {theirs:?}"));
        }
    }
    assert!(compared > 100, "only {compared} literal commands compared");
    assert!(
        bad.is_empty(),
        "{} of {compared} differ:\n{}",
        bad.len(),
        bad.join("\n")
    );
}
