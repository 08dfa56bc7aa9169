//! Programs whose arguments are small languages: `sed` scripts, `awk` programs and `find`
//! expressions. Each is a read only when every part provably neither writes nor runs
//! anything.
//! `git` is never a proven read: a repository's own configuration (hooks, `core.fsmonitor`,
//! filters) can make even `git status` run a program.

use super::{Inner, NONE, Operands, Opts, Parsed, Reader};
use crate::policy::command::walk::Arg;

/// One awk token, as far as the scan needs to know.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tok {
    /// A value: a name, number, string, regex, `)` or `]`, after which `/` divides.
    Value,
    /// A keyword after which `/` starts a regex (`print`, `return`, `in`, …).
    Keyword,
    /// An operator or opening bracket, after which `/` starts a regex.
    Op,
}

pub(in crate::policy::command) static READERS: &[Reader] = &[
    Reader {
        // No `-i` (edits in place) and no `-f` (a script we cannot see).
        names: &["sed"],
        what: "filters text",
        opts: Opts {
            flags: "nrEsuz",
            valued: "el",
            long: &[
                "quiet",
                "silent",
                "regexp-extended",
                "separate",
                "unbuffered",
                "null-data",
                "posix",
                "debug",
                "sandbox",
                "help",
                "version",
            ],
            long_valued: &["expression", "line-length"],
            ..NONE
        },
        operands: Operands::Custom(sed),
    },
    Reader {
        // No `-f`/`-i`/`-l`/`-E` (code from files or libraries), `-d`/`-o`/`-p` (write files),
        // `-D` (debugger), `-W` (mawk's `exec` and friends).
        names: &["awk", "gawk", "mawk", "nawk"],
        what: "processes text",
        opts: Opts {
            flags: "bcPrSsONMntV",
            valued: "Fve",
            long: &[
                "characters-as-bytes",
                "traditional",
                "posix",
                "re-interval",
                "sandbox",
                "no-optimize",
                "optimize",
                "non-decimal-data",
                "bignum",
                "use-lc-numeric",
                "copyright",
                "help",
                "version",
            ],
            long_valued: &["field-separator", "assign", "source"],
            ..NONE
        },
        operands: Operands::Custom(awk),
    },
    Reader {
        names: &["find"],
        what: "finds files",
        opts: NONE,
        operands: Operands::Raw(find),
    },
];

/// `sed`: no `e`, `w`, `W`, `r`, `R` commands or `e`/`w` flags in any script part.
fn sed(p: &Parsed, _: &[Arg]) -> Inner {
    let mut scripts: Vec<&str> = p.values("e").chain(p.values("expression")).collect();
    if scripts.is_empty() {
        match p.operands.first() {
            None => return Err("`sed` without a script".into()),
            Some((_, a)) if a.glob => return Err(code_glob("sed", a)),
            Some((_, a)) => scripts.push(&a.text),
        }
    }
    for s in scripts {
        sed_script(s)?;
    }
    Ok(None)
}

/// Scans a sed script for commands that write files or run programs. Conservative: anything
/// it cannot follow is refused.
pub(super) fn sed_script(s: &str) -> Result<(), String> {
    let deny = |what: &str| Err(format!("the sed script {what}"));
    let c: Vec<char> = s.chars().collect();
    let mut i = 0;
    let skip_ws = |i: &mut usize| {
        while *i < c.len() && (c[*i].is_whitespace() || c[*i] == ';') {
            *i += 1;
        }
    };
    // Reads a delimited part starting after the delimiter; returns the index after the closing one.
    let delimited = |mut i: usize, d: char| -> Option<usize> {
        while i < c.len() {
            if c[i] == '\\' {
                i += 2;
                continue;
            }
            if c[i] == d {
                return Some(i + 1);
            }
            if c[i] == '\n' && d != '\n' {
                return None;
            }
            i += 1;
        }
        None
    };
    loop {
        skip_ws(&mut i);
        if i >= c.len() {
            return Ok(());
        }
        // Addresses: numbers, $, /re/, \%re%, with , ~ + and !
        loop {
            match c.get(i) {
                Some(d) if d.is_ascii_digit() || matches!(d, '$' | ',' | '~' | '+' | '!' | ' ') => {
                    i += 1
                }
                Some('/') => i = delimited(i + 1, '/').ok_or("an unterminated address")?,
                Some('\\') => {
                    let d = *c.get(i + 1).ok_or("a bad address")?;
                    i = delimited(i + 2, d).ok_or("an unterminated address")?;
                }
                Some('I' | 'M') if i > 0 && matches!(c[i - 1], '/') => i += 1,
                _ => break,
            }
        }
        let Some(&cmd) = c.get(i) else {
            return Ok(());
        };
        i += 1;
        match cmd {
            '{' | '}' | '=' | 'd' | 'D' | 'g' | 'G' | 'h' | 'H' | 'l' | 'n' | 'N' | 'p' | 'P'
            | 'x' | 'z' | 'F' => {}
            'q' | 'Q' | 'L' => {
                while c.get(i).is_some_and(|x| x.is_ascii_digit() || *x == ' ') {
                    i += 1;
                }
            }
            ':' | 'b' | 't' | 'T' => {
                // GNU sed ends a label at white space or `;` and reads what follows as the
                // next command (`:x e id` runs `id`); ending it at `}` too only scans more.
                while c.get(i).is_some_and(|x| matches!(x, ' ' | '\t')) {
                    i += 1;
                }
                while c
                    .get(i)
                    .is_some_and(|x| !x.is_whitespace() && !matches!(x, ';' | '}'))
                {
                    i += 1;
                }
            }
            '#' => {
                while c.get(i).is_some_and(|x| *x != '\n') {
                    i += 1;
                }
            }
            'a' | 'i' | 'c' => {
                // Text to the end of the line (GNU one-liner form), with backslash continuations.
                while i < c.len() && c[i] != '\n' {
                    i += if c[i] == '\\' { 2 } else { 1 };
                }
            }
            'y' => {
                let d = *c.get(i).ok_or("a bad `y` command")?;
                let mid = delimited(i + 1, d).ok_or("a bad `y` command")?;
                i = delimited(mid, d).ok_or("a bad `y` command")?;
            }
            's' => {
                let d = *c.get(i).ok_or("a bad `s` command")?;
                if d == '\n' || d == '\\' {
                    return deny("uses an unusual `s` delimiter");
                }
                let mid = delimited(i + 1, d).ok_or("an unterminated `s` command")?;
                i = delimited(mid, d).ok_or("an unterminated `s` command")?;
                while let Some(&f) = c.get(i) {
                    match f {
                        'g' | 'p' | 'i' | 'I' | 'm' | 'M' | '0'..='9' => i += 1,
                        'e' => return deny("runs the pattern space as a command (`s///e`)"),
                        'w' | 'W' => return deny("writes a file (`s///w`)"),
                        ';' | '\n' | ' ' | '}' => break,
                        _ => return deny("uses an unknown `s` flag"),
                    }
                }
            }
            'e' => return deny("runs a command (`e`)"),
            'r' | 'R' => return deny("reads a file into the output (`r`)"),
            'w' | 'W' => return deny("writes a file (`w`)"),
            'v' => {}
            other => {
                return Err(format!(
                    "the sed script uses `{other}`, which is not known to be read-only"
                ));
            }
        }
    }
}

/// Why a glob cannot stand where `prog` reads code: a file name could become the script.
pub(super) fn code_glob(prog: &str, a: &Arg) -> String {
    format!(
        "`{}` is a glob where `{prog}` reads code: a file name could become its script",
        a.text
    )
}

/// `awk [options] PROGRAM [FILE | VAR=VALUE]…`, or the program in `-e`/`--source` parts.
fn awk(p: &Parsed, _: &[Arg]) -> Inner {
    let mut programs: Vec<&str> = p.values("e").chain(p.values("source")).collect();
    if programs.is_empty() {
        match p.operands.first() {
            None => return Err("`awk` without a program".into()),
            Some((_, a)) if a.glob => return Err(code_glob("awk", a)),
            Some((_, a)) => programs.push(&a.text),
        }
    }
    for prog in programs {
        awk_program(prog)?;
    }
    Ok(None)
}

/// Scans an awk program for what runs commands or writes files: `system`, pipes (`|`, `|&`),
/// output redirection after `print`/`printf` (`>` outside parentheses, `>>`), `@`-directives
/// and indirect calls (`@load`, `@include`, `@f()`), and `/inet` special files. Strings and
/// regexes are skipped as awk reads them: `/` is a regex after an operator and a division
/// after a value, so `/a|b/` is a regex and `a / b` a division.
pub(super) fn awk_program(s: &str) -> Result<(), String> {
    let deny = |what: &str| Err(format!("the awk program {what}"));
    let c: Vec<char> = s.chars().collect();
    let mut i = 0;
    let mut prev = Tok::Op;
    let mut depth: usize = 0;
    // The parenthesis depth of the `print`/`printf` statement being read, if any.
    let mut print_at: Option<usize> = None;
    // The last character that was not blank: a new line after `,`, `&&`, `||`, `?` or `:`
    // continues the statement.
    let mut last = ';';
    while i < c.len() {
        let ch = c[i];
        if !matches!(ch, ' ' | '\t' | '\r' | '\n') {
            last = ch;
        }
        match ch {
            ' ' | '\t' | '\r' => i += 1,
            '\\' if c.get(i + 1) == Some(&'\n') => i += 2,
            '\n' if matches!(last, ',' | '&' | '|' | '?' | ':') => i += 1,
            '\n' | ';' => {
                print_at = None;
                prev = Tok::Op;
                i += 1;
            }
            '#' => {
                while i < c.len() && c[i] != '\n' {
                    i += 1;
                }
            }
            '"' => {
                let start = i;
                i += 1;
                while i < c.len() && c[i] != '"' {
                    i += if c[i] == '\\' { 2 } else { 1 };
                }
                if i >= c.len() {
                    return deny("has an unterminated string");
                }
                i += 1;
                let text: String = c[start..i].iter().collect();
                if text.contains("/inet") {
                    return deny("opens a network connection (`/inet`)");
                }
                prev = Tok::Value;
            }
            '/' if prev != Tok::Value => {
                let start = i;
                i += 1;
                let mut class = false;
                while i < c.len() && (c[i] != '/' || class) {
                    match c[i] {
                        '\\' => i += 1,
                        '[' => class = true,
                        ']' => class = false,
                        '\n' => return deny("has an unterminated regex"),
                        _ => {}
                    }
                    i += 1;
                }
                if i >= c.len() {
                    return deny("has an unterminated regex");
                }
                i += 1;
                let text: String = c[start..i].iter().collect();
                if text.contains("/inet") {
                    return deny("opens a network connection (`/inet`)");
                }
                prev = Tok::Value;
            }
            '|' if c.get(i + 1) == Some(&'|') => {
                prev = Tok::Op;
                i += 2;
            }
            '|' => return deny("pipes to or from a command (`|`)"),
            '@' => return deny("uses an `@` directive or an indirect call"),
            '>' => {
                if c.get(i + 1) == Some(&'>') {
                    return deny("appends to a file (`>>`)");
                }
                if print_at == Some(depth) {
                    return deny("redirects output to a file (`print > …`)");
                }
                prev = Tok::Op;
                i += 1;
            }
            '(' | '[' | '{' => {
                if ch == '(' {
                    depth += 1;
                }
                if ch == '{' {
                    print_at = None;
                }
                prev = Tok::Op;
                i += 1;
            }
            ')' | ']' | '}' => {
                if ch == ')' {
                    depth = depth.saturating_sub(1);
                }
                if ch == '}' {
                    print_at = None;
                }
                prev = if ch == '}' { Tok::Op } else { Tok::Value };
                i += 1;
            }
            '+' | '-' if c.get(i + 1) == Some(&ch) => {
                // `x++ / 2` divides; `++x` is followed by a value anyway.
                i += 2;
            }
            _ if ch.is_ascii_alphanumeric() || ch == '_' || ch == '.' => {
                let start = i;
                while i < c.len() && (c[i].is_ascii_alphanumeric() || c[i] == '_' || c[i] == '.') {
                    i += 1;
                }
                let word: String = c[start..i].iter().collect();
                match word.as_str() {
                    "system" => return deny("runs a command (`system`)"),
                    "print" | "printf" => {
                        print_at = Some(depth);
                        prev = Tok::Keyword;
                    }
                    "return" | "in" | "case" | "do" | "else" | "getline" | "delete" | "exit" => {
                        prev = Tok::Keyword
                    }
                    _ => prev = Tok::Value,
                }
            }
            '$' => {
                prev = Tok::Op;
                i += 1;
            }
            _ => {
                prev = Tok::Op;
                i += 1;
            }
        }
    }
    Ok(())
}

/// `find`: starting points, then an expression of allowlisted tests and printing actions. No
/// `-exec*`, `-ok*`, `-delete`, `-fprint*` or `-fls`, and no glob among the expression's
/// words: a file name could become a test or action there.
fn find(args: &[Arg]) -> Inner {
    const VALUED: &[&str] = &[
        "-name",
        "-iname",
        "-path",
        "-ipath",
        "-wholename",
        "-iwholename",
        "-regex",
        "-iregex",
        "-regextype",
        "-type",
        "-xtype",
        "-size",
        "-perm",
        "-user",
        "-group",
        "-uid",
        "-gid",
        "-links",
        "-inum",
        "-samefile",
        "-newer",
        "-anewer",
        "-cnewer",
        "-mtime",
        "-atime",
        "-ctime",
        "-mmin",
        "-amin",
        "-cmin",
        "-used",
        "-lname",
        "-ilname",
        "-fstype",
        "-context",
        "-maxdepth",
        "-mindepth",
        "-printf",
    ];
    const FLAGS: &[&str] = &[
        "-nouser",
        "-nogroup",
        "-empty",
        "-executable",
        "-readable",
        "-writable",
        "-true",
        "-false",
        "-print",
        "-print0",
        "-ls",
        "-prune",
        "-quit",
        "-depth",
        "-d",
        "-xdev",
        "-mount",
        "-follow",
        "-noleaf",
        "-ignore_readdir_race",
        "-noignore_readdir_race",
        "-daystart",
        "-warn",
        "-nowarn",
        "-not",
        "!",
        "-a",
        "-and",
        "-o",
        "-or",
        "(",
        ")",
        ",",
        "-help",
        "--help",
        "-version",
        "--version",
    ];
    let mut k = 0;
    while let Some(a) = args.get(k) {
        match a.text.as_str() {
            "-H" | "-L" | "-P" => k += 1,
            "-O0" | "-O1" | "-O2" | "-O3" => k += 1,
            _ => break,
        }
    }
    while let Some(a) = args.get(k) {
        if a.text.starts_with('-') || matches!(a.text.as_str(), "!" | "(" | ")" | ",") {
            break;
        }
        k += 1;
    }
    while let Some(a) = args.get(k) {
        let t = a.text.as_str();
        k += 1;
        if a.glob {
            return Err(code_glob("find", a));
        }
        let newer_xy =
            t.len() == 8 && t.starts_with("-newer") && t[6..].chars().all(|c| "aBcmt".contains(c));
        if VALUED.contains(&t) || newer_xy {
            match args.get(k) {
                Some(v) if !v.glob => k += 1,
                Some(_) => return Err(format!("the value of `find {t}` is a glob")),
                None => return Err(format!("`find {t}` needs a value")),
            }
        } else if !FLAGS.contains(&t) {
            return Err(format!("`find {t}` is not known to be read-only"));
        }
    }
    Ok(None)
}
