//! Brace expansion (`{a,b}`, `{1..3}`, `x{a,{b,c}}y`), done before anything else as bash does,
//! so `ls {-la,/tmp}` is checked as the two words bash passes. Bounded: too many words, too much
//! text or too deep a nesting gives up (the word is then unresolved). Linear per level.

use super::syntax::Seg;

/// Deepest brace nesting followed.
const MAX_NESTING: usize = 16;
/// Total characters all expansions of one word may produce.
const MAX_CHARS: usize = 256 * 1024;

#[derive(Clone, Debug, PartialEq)]
enum Tok {
    /// A character; `true` when unquoted (braces and commas in it are live).
    Ch(char, bool),
    /// `~user` at the start: passes through unchanged.
    Tilde(String),
    /// An empty quoted string (`''`): takes no room, but keeps its word from being dropped.
    QuotedNull,
}

/// The words `segs` expands to (itself alone when it holds no brace expression); `None` when
/// the expansion is too large or too deep to follow.
pub(super) fn expand(segs: &[Seg], max_words: usize) -> Option<Vec<Vec<Seg>>> {
    let mut toks = Vec::new();
    for seg in segs {
        match seg {
            Seg::Lit(t) => toks.extend(t.chars().map(|c| Tok::Ch(c, true))),
            Seg::Quoted(t) if t.is_empty() => toks.push(Tok::QuotedNull),
            Seg::Quoted(t) => toks.extend(t.chars().map(|c| Tok::Ch(c, false))),
            Seg::Tilde(u) => toks.push(Tok::Tilde(u.clone())),
            _ => return Some(vec![segs.to_vec()]),
        }
    }
    let mut budget = Budget {
        words: max_words,
        chars: MAX_CHARS,
    };
    let expanded = words(&toks, 0, &mut budget)?;
    let several = expanded.len() > 1 || expanded.first().is_some_and(|w| *w != toks);
    Some(
        expanded
            .into_iter()
            // bash drops the empty words an expansion leaves (`{,}`, `{a,}`), unless quoted.
            .filter(|w| !several || !w.is_empty())
            .map(|w| to_segs(&w))
            .collect(),
    )
}

struct Budget {
    words: usize,
    chars: usize,
}

fn words(toks: &[Tok], depth: usize, budget: &mut Budget) -> Option<Vec<Vec<Tok>>> {
    if depth > MAX_NESTING {
        return None;
    }
    let Some((open, close, kind)) = first_expression(toks) else {
        return Some(vec![toks.to_vec()]);
    };
    let prefix = &toks[..open];
    let inner = &toks[open + 1..close];
    let alternatives: Vec<Vec<Tok>> = match kind {
        Kind::List(commas) => {
            let mut alts = Vec::new();
            let mut start = 0;
            for &c in commas.iter().chain(std::iter::once(&inner.len())) {
                alts.extend(words(&inner[start..c], depth + 1, budget)?);
                start = c + 1;
            }
            alts
        }
        Kind::Sequence(items) => items
            .into_iter()
            .map(|s| s.chars().map(|c| Tok::Ch(c, false)).collect())
            .collect(),
    };
    let suffixes = words(&toks[close + 1..], depth + 1, budget)?;
    let mut out = Vec::new();
    for alt in &alternatives {
        for suffix in &suffixes {
            let len = prefix.len() + alt.len() + suffix.len();
            if out.len() >= budget.words || len > budget.chars {
                return None;
            }
            budget.chars -= len;
            let mut w = prefix.to_vec();
            w.extend_from_slice(alt);
            w.extend_from_slice(suffix);
            out.push(w);
        }
    }
    Some(out)
}

enum Kind {
    /// Positions of the top-level commas inside the braces.
    List(Vec<usize>),
    /// The words of `{x..y[..step]}`.
    Sequence(Vec<String>),
}

/// The first `{…}` that is a brace expression, found in one pass: (open, close, what it is).
fn first_expression(toks: &[Tok]) -> Option<(usize, usize, Kind)> {
    let live = |k: usize, c: char| toks[k] == Tok::Ch(c, true);
    // For every live `{`: its matching `}` and its top-level commas, with one stack.
    let mut stack: Vec<(usize, Vec<usize>)> = Vec::new();
    let mut found: Vec<(usize, usize, Vec<usize>)> = Vec::new();
    for k in 0..toks.len() {
        if live(k, '{') && !(k > 0 && live(k - 1, '$')) {
            stack.push((k, Vec::new()));
        } else if live(k, ',') {
            if let Some((open, commas)) = stack.last_mut() {
                commas.push(k - *open - 1);
            }
        } else if live(k, '}')
            && let Some((open, commas)) = stack.pop()
        {
            found.push((open, k, commas));
        }
    }
    found.sort_by_key(|f| f.0);
    for (open, close, commas) in found {
        if !commas.is_empty() {
            return Some((open, close, Kind::List(commas)));
        }
        if let Some(items) = sequence(&toks[open + 1..close]) {
            return Some((open, close, Kind::Sequence(items)));
        }
    }
    None
}

/// `x..y` or `x..y..step` over integers or single letters.
fn sequence(inner: &[Tok]) -> Option<Vec<String>> {
    if inner.len() > 64 {
        return None;
    }
    let text: String = inner
        .iter()
        .map(|t| match t {
            Tok::Ch(c, true) => Some(*c),
            _ => None,
        })
        .collect::<Option<_>>()?;
    let parts: Vec<&str> = text.split("..").collect();
    if !(2..=3).contains(&parts.len()) {
        return None;
    }
    let step: i64 = match parts.get(2) {
        Some(s) => s.parse::<i64>().ok()?.checked_abs()?.max(1),
        None => 1,
    };
    let (a, b) = (parts[0], parts[1]);
    if let (Ok(x), Ok(y)) = (a.parse::<i64>(), b.parse::<i64>()) {
        let pad = [a, b].iter().any(|s| {
            s.trim_start_matches('-').len() > 1 && s.trim_start_matches('-').starts_with('0')
        });
        let width = if pad { a.len().max(b.len()) } else { 0 };
        let n = (x - y).unsigned_abs() / step as u64 + 1;
        if n > 4096 {
            return Some(vec![String::new(); 4097]);
        }
        let dir = if y >= x { 1 } else { -1 };
        return Some(
            (0..n as i64)
                .map(|k| format!("{:0width$}", x + dir * k * step))
                .collect(),
        );
    }
    let (ca, cb) = (single(a)?, single(b)?);
    let (x, y) = (ca as i64, cb as i64);
    let dir = if y >= x { 1 } else { -1 };
    let n = (x - y).unsigned_abs() / step as u64 + 1;
    Some(
        (0..n as i64)
            .filter_map(|k| char::from_u32((x + dir * k * step) as u32).map(String::from))
            .collect(),
    )
}

fn single(s: &str) -> Option<char> {
    let mut c = s.chars();
    let x = c.next().filter(char::is_ascii_alphabetic)?;
    c.next().is_none().then_some(x)
}

fn to_segs(w: &[Tok]) -> Vec<Seg> {
    let mut out = Vec::new();
    for t in w {
        match t {
            Tok::Tilde(u) => out.push(Seg::Tilde(u.clone())),
            Tok::QuotedNull => out.push(Seg::Quoted(String::new())),
            Tok::Ch(c, live) => match (out.last_mut(), live) {
                (Some(Seg::Lit(s)), true) | (Some(Seg::Quoted(s)), false) => s.push(*c),
                (_, true) => out.push(Seg::Lit(c.to_string())),
                (_, false) => out.push(Seg::Quoted(c.to_string())),
            },
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(lit: &str) -> Option<Vec<String>> {
        let words = expand(&[Seg::Lit(lit.into())], 256)?;
        Some(
            words
                .iter()
                .map(|w| {
                    w.iter()
                        .map(|s| match s {
                            Seg::Lit(t) | Seg::Quoted(t) => t.clone(),
                            _ => "?".into(),
                        })
                        .collect()
                })
                .collect(),
        )
    }

    #[test]
    fn expands_like_bash() {
        let e = |s: &str| texts(s).unwrap();
        assert_eq!(e("a{b,c}d"), ["abd", "acd"]);
        assert_eq!(e("{-la,/tmp}"), ["-la", "/tmp"]);
        assert_eq!(e("x{a,{b,c}}"), ["xa", "xb", "xc"]);
        assert_eq!(e("{a}"), ["{a}"]);
        assert_eq!(e("{}"), ["{}"]);
        assert_eq!(e("{1..3}"), ["1", "2", "3"]);
        assert_eq!(e("{3..1}"), ["3", "2", "1"]);
        assert_eq!(e("{01..3}"), ["01", "02", "03"]);
        assert_eq!(e("{a..c}"), ["a", "b", "c"]);
        assert_eq!(e("{1..10..4}"), ["1", "5", "9"]);
        assert_eq!(e("{a,b}{c,d}"), ["ac", "ad", "bc", "bd"]);
        assert_eq!(e("{x}{a,b}"), ["{x}a", "{x}b"]);
        assert_eq!(
            e("/etc/{pve/priv,shadow}"),
            ["/etc/pve/priv", "/etc/shadow"]
        );
    }

    #[test]
    fn quoted_braces_are_text() {
        let words = expand(&[Seg::Quoted("{a,b}".into())], 256).unwrap();
        assert_eq!(words.len(), 1);
    }

    #[test]
    fn too_large_or_deep_gives_up() {
        assert!(texts("{1..100000}").is_none());
        assert!(texts(&"{a,b}".repeat(9)).is_none());
        assert!(texts(&format!("{}x{}", "{a,".repeat(40), "}".repeat(40))).is_none());
        // Unbalanced braces in bulk stay linear and literal.
        let many = "{".repeat(30_000) + &"}".repeat(30_000);
        assert_eq!(texts(&many).unwrap().len(), 1);
    }
}
