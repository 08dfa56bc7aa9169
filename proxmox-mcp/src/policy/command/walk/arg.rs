//! A word as the walker knows it after expansion: its text, its glob pattern, and whether it
//! is only known at run time.

/// A word after the expansions we can know.
#[derive(Debug, Clone, Default)]
pub(crate) struct Arg {
    /// The text after quote removal; expansions appear as written (`${x}`, `$(…)`).
    pub text: String,
    /// Glob pattern: quoted characters escaped, live glob characters live, expansions `*`.
    pub pattern: String,
    /// Part of it is only known at run time.
    pub dynamic: bool,
    /// It holds live glob characters: the shell may replace it by file names.
    pub glob: bool,
}

impl Arg {
    pub(in crate::policy::command) fn literal(text: &str) -> Arg {
        Arg {
            text: text.into(),
            pattern: escape_glob(text),
            dynamic: false,
            glob: false,
        }
    }

    pub(in crate::policy::command) fn placeholder(text: &str) -> Arg {
        Arg {
            text: text.into(),
            pattern: "*".into(),
            dynamic: true,
            glob: false,
        }
    }

    /// A glob whose expansions could start with `-` and so be taken for options. One that
    /// starts with a literal other than `-`, or with a bracket expression whose set cannot
    /// hold `-` (`[p]veproxy`, `[0-9]*`), only expands to words that start the same way.
    /// Whether the program would read the word as an option at all (it would not after
    /// `--`) is for the read-only proof to say.
    pub(in crate::policy::command) fn may_become_option(&self) -> bool {
        if !self.glob {
            return false;
        }
        let mut c = self.pattern.chars();
        match c.next() {
            Some('\\') => c.next() == Some('-'),
            Some('[') => {
                // Only letters and digits, and ranges between two of one kind (`a-z`, `0-9`),
                // are known not to match `-`; anything else (`!`/`^` negation, `-` itself,
                // `[:classes:]`, escapes, other punctuation, no closing `]`) may.
                let rest = c.as_str();
                let Some(end) = rest.find(']') else {
                    return true;
                };
                let set: Vec<char> = rest[..end].chars().collect();
                let kind = |x: char| {
                    if x.is_ascii_lowercase() {
                        1
                    } else if x.is_ascii_uppercase() {
                        2
                    } else if x.is_ascii_digit() {
                        3
                    } else {
                        0
                    }
                };
                let mut i = 0;
                while i < set.len() {
                    let from = set[i];
                    if kind(from) == 0 {
                        return true;
                    }
                    if set.get(i + 1) == Some(&'-') {
                        match set.get(i + 2) {
                            Some(&to) if kind(to) == kind(from) && to >= from => i += 3,
                            _ => return true,
                        }
                    } else {
                        i += 1;
                    }
                }
                set.is_empty()
            }
            Some(x) => matches!(x, '*' | '?' | '-'),
            None => true,
        }
    }
}

pub(in crate::policy::command) fn escape_glob(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if matches!(c, '*' | '?' | '[' | ']' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}
