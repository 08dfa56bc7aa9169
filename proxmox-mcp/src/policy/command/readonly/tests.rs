//! Tests of the read-only proof: the option parser here, each family's table in `tests/`.

mod archives;
mod network;
mod pve;
mod scripts;
mod storage;
mod system;
mod text;

use super::*;

/// Splits a test line into arguments: on whitespace, then `·` stands for a space and `⏎`
/// for a new line inside one argument (`awk {print·$1} f`). A word starting with `≈` is a
/// live glob, as the shell would see `a*` unquoted (`ls -- ≈*`); any other word is quoted.
fn args(line: &str) -> Vec<Arg> {
    line.split_whitespace()
        .map(|w| {
            let text = w.replace('·', " ").replace('⏎', "\n");
            match text.strip_prefix('≈') {
                Some(glob) => Arg {
                    text: glob.into(),
                    pattern: glob.into(),
                    dynamic: false,
                    glob: true,
                },
                None => Arg::literal(&text),
            }
        })
        .collect()
}

/// `(command line, proven)`: one table for every program. Words are split on whitespace;
/// `·` is a space and `⏎` a new line inside a word, and `≈` starts a live glob.
pub(super) fn check(cases: &[(&str, bool)]) {
    let mut bad = Vec::new();
    for &(line, want) in cases {
        let mut words = args(line);
        let prog = words.remove(0);
        let got = prove(&prog.text, &words);
        if got.is_ok() != want {
            bad.push(format!("{line:?}: got {got:?}, want proven={want}"));
        }
    }
    assert!(bad.is_empty(), "{}", bad.join("\n"));
}

#[test]
fn options_parse_like_getopt_long() {
    let o = Opts {
        flags: "la",
        valued: "n",
        optional: "I",
        long: &["all"],
        long_valued: &["lines"],
        long_optional: &["color"],
        long_pair: &["arg"],
        numeric: true,
        words: false,
        own_parser: false,
    };
    let a = args("-la -n5 x --lines 3 --color --color=never -7 --arg k v -I -Ix -- -rf");
    let p = parse(&a, &o).unwrap();
    assert_eq!(p.texts(), ["x", "-rf"]);
    assert_eq!(p.operands_only, Some(a.len() - 1));
    assert_eq!(p.value("I"), Some("x"));
    assert_eq!(p.values("I").count(), 1);
    assert_eq!(p.value("n"), Some("5"));
    assert_eq!(p.value("lines"), Some("3"));
    assert_eq!(p.value("NUM"), Some("7"));
    assert_eq!(p.value("arg"), Some("k"));
    assert_eq!(p.value("color"), Some("never"));
    assert_eq!(p.values("color").count(), 1);
    for bad in [
        "-x",
        "-lx",
        "--al",
        "--all=1",
        "--output=f",
        "--lines",
        "--arg k",
        "-allx",
        "-I --frobnicate",
        "--color --frobnicate",
    ] {
        assert!(parse(&args(bad), &o).is_err(), "{bad}");
    }
    // An optional value is attached only: the next word is not swallowed.
    let a = args("-I x");
    let p = parse(&a, &o).unwrap();
    assert_eq!(p.texts(), ["x"]);
    assert_eq!(p.value("I"), None);
    // A program with a parser of its own does not end its options at `--`.
    let own = Opts {
        own_parser: true,
        ..o
    };
    assert!(parse(&args("-l -- x"), &own).is_err());
}

#[test]
fn a_glob_is_no_attached_value() {
    let o = Opts {
        valued: "n",
        optional: "I",
        long_valued: &["lines"],
        long_optional: &["color"],
        ..NONE
    };
    for bad in ["≈-n5*", "≈-I*", "≈--lines=1*", "≈--color=a*"] {
        assert!(parse(&args(bad), &o).is_err(), "{bad}");
    }
    assert!(parse(&args("-n5* -I* --lines=1* --color=a*"), &o).is_ok());
}

#[test]
fn a_glob_is_an_operand_only_after_a_double_dash() {
    check(&[
        ("ls -- ≈*", true),
        ("ls -l -- ≈*.conf ≈?", true),
        ("ls ≈*", false),
        ("ls ≈-*", false),
        ("ls ≈?x", false),
        ("ls ≈[-a]x", false),
        ("ls ≈[!a]x", false),
        ("ls ≈[p]x ≈[a-z0-9]*", true),
        ("ls ≈a*", true),
        ("grep -e -- ≈*", false),
        ("grep -- x ≈*", true),
        ("grep -r [p]veproxy", true),
        ("grep ≈[p]veproxy", true),
        // A program reading its own options gets no `--` exemption.
        ("find -- ≈*", false),
        ("xxd -- ≈*", false),
        // Only the subcommand's `--` counts.
        ("zpool -- status ≈*", false),
        ("zpool status -- ≈*", true),
        // The inner command is proven on its own.
        ("pct exec 101 -- ls ≈*", true),
        ("unzip -l -- -l x.zip", false),
        ("sar -- -o /tmp/x", false),
    ]);
}

/// No letter or long name is in two lists of one table: the parser would read it by the
/// first list it looks in, which may not be the one meant.
#[test]
fn option_tables_are_unambiguous() {
    fn one(prog: &str, o: &Opts, bad: &mut Vec<String>) {
        let shorts = [o.flags, o.valued, o.optional];
        for (i, a) in shorts.iter().enumerate() {
            for b in &shorts[i + 1..] {
                if let Some(c) = a.chars().find(|c| b.contains(*c)) {
                    bad.push(format!("{prog}: -{c}"));
                }
            }
        }
        let longs = [o.long, o.long_valued, o.long_optional, o.long_pair];
        for (i, a) in longs.iter().enumerate() {
            for b in &longs[i + 1..] {
                if let Some(n) = a.iter().find(|n| b.contains(n)) {
                    bad.push(format!("{prog}: --{n}"));
                }
            }
        }
    }
    let mut bad = Vec::new();
    for r in TABLES.iter().flat_map(|t| t.iter()) {
        one(r.names[0], &r.opts, &mut bad);
        if let Operands::Subs(subs) = r.operands {
            for s in subs {
                one(
                    &format!("{} {}", r.names[0], s.words.join(" ")),
                    &s.opts,
                    &mut bad,
                );
            }
        }
    }
    assert!(bad.is_empty(), "{}", bad.join("\n"));
}

#[test]
fn word_options_parse_like_openssl() {
    let o = Opts {
        long: &["noout", "text"],
        long_valued: &["in"],
        words: true,
        ..NONE
    };
    let a = args("-noout --text -in a.pem -in=b.pem c");
    let p = parse(&a, &o).unwrap();
    assert_eq!(p.texts(), ["c"]);
    assert_eq!(p.values("in").collect::<Vec<_>>(), ["a.pem", "b.pem"]);
    for bad in ["-out f", "-no", "-n", "-nooutx", "-noout=1"] {
        assert!(parse(&args(bad), &o).is_err(), "{bad}");
    }
}

#[test]
fn a_glob_cannot_be_a_value_or_a_subcommand() {
    let glob = |t: &str| Arg {
        glob: true,
        ..Arg::literal(t)
    };
    let o = Opts {
        valued: "k",
        ..NONE
    };
    assert!(parse(&[Arg::literal("-k"), glob("a*")], &o).is_err());
    assert!(parse(&[Arg::literal("-ka*")], &o).is_ok());
    assert!(prove("zpool", &[glob("s*")]).is_err());
    assert!(prove("uniq", &[glob("a*")]).is_err());
    assert!(prove("ls", &[glob("a*")]).is_ok());
    let dynamic = Arg::placeholder("$x");
    assert!(prove("qm", &[Arg::literal("list"), dynamic]).is_err());
}

/// The commands the assistant must be able to run in every mode, through the whole
/// classification (walker, secrets, protection): each is Read with no protection hit.
#[test]
fn everyday_reads_classify_as_read() {
    use crate::policy::Class;
    use crate::policy::command::{analyze, test_context};
    let mut bad = Vec::new();
    for cmd in [
        "passwd -S root",
        "chage -l root",
        "visudo -c",
        "ssh-keygen -lf /root/.ssh/authorized_keys",
        "proxmox-boot-tool status",
        "proxmox-boot-tool kernel list",
        "man qm",
        "iptables-save | grep -c PVEFW",
        "curl -sk -o /dev/null -w '%{http_code}' https://127.0.0.1:8006/",
        "qm guest exec 100 -- uptime",
        "pct exec 101 -- df -h",
        "journalctl -b -p err --no-pager | tail -n 100",
        "awk '{print $1}' /proc/loadavg",
        "find /var/lib/vz -name '*.qcow2' -size +10G",
        "tar -tzf /var/lib/vz/dump/vzdump-lxc-101.tar.gz | head",
        "openssl x509 -in /etc/pve/local/pve-ssl.pem -noout -enddate",
    ] {
        let a = analyze(cmd, &test_context());
        if a.class != Class::Read || !a.protected.is_empty() {
            bad.push(format!("{cmd}: {a:?}"));
        }
    }
    assert!(bad.is_empty(), "{}", bad.join("\n"));
    // The inner command of a guest exec is proven too.
    let a = analyze("qm guest exec 100 -- rm -rf /tmp/x", &test_context());
    assert!(a.class > Class::Read, "{a:?}");
}

#[test]
fn unknown_programs_and_options_are_not_proven() {
    check(&[
        ("ls -la /tmp", true),
        ("ls --frobnicate", false),
        ("ls --al", false),
        ("frobnicate", false),
        ("uniq a", true),
        ("uniq a b", false),
    ]);
}
