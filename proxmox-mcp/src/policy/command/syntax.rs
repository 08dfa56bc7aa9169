//! The shell syntax the classifier sees: a bash command line parsed into simple commands, each
//! with its words (literal pieces and expansions kept apart), assignments and redirections.
//!
//! Control structures are flattened into the list of simple commands they contain, because the
//! most dangerous part decides anyway; keywords that evaluate words (`for`, `case`, `[[`, `((`)
//! become pseudo commands ([`Simple::keyword`]) so their words are checked like any other.
//! Parsing is linear in the input: one pass, no backtracking, nesting bounded by [`MAX_DEPTH`].
//! Anything the parser does not understand is an error, and the caller treats the whole command
//! as unresolved.

mod lex;
mod parse;

pub(crate) use parse::parse;

/// Deepest nesting of subshells, substitutions and groups the parser follows.
pub(super) const MAX_DEPTH: usize = 64;

/// One piece of a word, in source order.
#[derive(Debug, Clone)]
pub(crate) enum Seg {
    /// Unquoted text: glob and brace characters in it are live.
    Lit(String),
    /// Quoted or escaped text: taken literally.
    Quoted(String),
    /// `$name`, `${…}`: a value only known at run time.
    Var(String),
    /// `$((…))`, `$[…]`: arithmetic, which can run commands through array subscripts.
    Arith(String),
    /// `$(…)`, `` `…` ``: runs commands; the value is only known at run time.
    Subst(Script),
    /// `<(…)`, `>(…)`: runs commands; the word becomes a `/dev/fd/N` path.
    ProcSubst(Script),
    /// `~` or `~user` at the start of a word.
    Tilde(String),
}

/// A shell word before expansion.
#[derive(Debug, Clone, Default)]
pub(crate) struct Word {
    pub segs: Vec<Seg>,
}

impl Word {
    pub(crate) fn quoted(text: impl Into<String>) -> Word {
        Word {
            segs: vec![Seg::Quoted(text.into())],
        }
    }

    /// The text when the word holds only literal pieces.
    pub fn literal(&self) -> Option<String> {
        let mut s = String::new();
        for seg in &self.segs {
            match seg {
                Seg::Lit(t) | Seg::Quoted(t) => s.push_str(t),
                _ => return None,
            }
        }
        Some(s)
    }

    pub(crate) fn is_quoted(&self) -> bool {
        self.segs.iter().any(|s| matches!(s, Seg::Quoted(_)))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RedirKind {
    /// `<`
    In,
    /// `>`, `>|`, `&>`, `>&file`
    Out,
    /// `>>`, `&>>`
    Append,
    /// `<>`
    ReadWrite,
    /// `>&N`, `<&N`, `>&-`
    Dup,
    /// `<<`, `<<-`
    HereDoc,
    /// `<<<`
    HereString,
}

#[derive(Debug, Clone)]
pub(crate) struct Redir {
    pub kind: RedirKind,
    /// The file, descriptor, here-string or here-document delimiter.
    pub target: Word,
    /// Here-document body: literal when the delimiter was quoted, else with its expansions.
    pub body: Word,
    pub(super) body_index: usize,
    /// `{name}>file`: bash stores a new descriptor number in a variable.
    pub named_fd: bool,
}

/// One simple command (or a bare set of redirections on a compound command).
#[derive(Debug, Clone, Default)]
pub(crate) struct Simple {
    pub assigns: Vec<(String, Word)>,
    pub words: Vec<Word>,
    pub redirs: Vec<Redir>,
    /// Standard input comes from an earlier command in a pipeline.
    pub piped_in: bool,
    /// A plain command followed by `&&`: what comes next runs only if it succeeded.
    pub and_next: bool,
    /// `name() { … }`: the body follows as ordinary commands.
    pub func_def: Option<String>,
    /// A keyword whose words bash evaluates (`for`, `case`, `[[`, `((`, `coproc`, `time`), with
    /// `words` its operands; `None` for an ordinary command.
    pub keyword: Option<&'static str>,
}

/// All simple commands of a script, in source order.
#[derive(Debug, Clone, Default)]
pub(crate) struct Script {
    pub cmds: Vec<Simple>,
}

/// A readable rendering of a word, with expansions shown as written.
pub(crate) fn word_text(w: &Word) -> String {
    let mut s = String::new();
    for seg in &w.segs {
        match seg {
            Seg::Lit(t) | Seg::Quoted(t) => s.push_str(t),
            Seg::Var(v) => {
                s.push_str("${");
                s.push_str(v);
                s.push('}');
            }
            Seg::Arith(a) => {
                s.push_str("$((");
                s.push_str(a);
                s.push_str("))");
            }
            Seg::Subst(_) => s.push_str("$(…)"),
            Seg::ProcSubst(_) => s.push_str("<(…)"),
            Seg::Tilde(u) => {
                s.push('~');
                s.push_str(u);
            }
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(src: &str) -> Vec<Vec<String>> {
        parse(src)
            .unwrap()
            .cmds
            .iter()
            .map(|c| c.words.iter().map(word_text).collect())
            .collect()
    }

    #[test]
    fn commands_are_flattened_in_order() {
        assert_eq!(
            words("a b; c | d && (e) || { f; }"),
            [["a", "b"].as_slice(), &["c"], &["d"], &["e"], &["f"]]
        );
        assert_eq!(
            words("if a; then b; elif c; then d; else e; fi"),
            [["a"], ["b"], ["c"], ["d"], ["e"]]
        );
        assert_eq!(
            words("case $x in a|b) c;; *) d;& esac"),
            [["${x}", "a", "b", "*"].as_slice(), &["c"], &["d"]]
        );
        assert_eq!(words("for i in 1 2; do e $i; done")[1], ["e", "${i}"]);
        assert_eq!(words("((x = $(y) + 1))")[0], ["x = $(y) + 1"]);
    }

    #[test]
    fn keywords_are_marked() {
        let s = parse("for i in 1; do :; done; [[ -f x ]]; ((1)); time ls; coproc ls").unwrap();
        let kw: Vec<Option<&str>> = s.cmds.iter().map(|c| c.keyword).collect();
        assert_eq!(
            kw,
            [
                Some("for"),
                None,
                Some("[["),
                Some("(("),
                Some("time"),
                None,
                Some("coproc"),
                None
            ]
        );
    }

    #[test]
    fn heredoc_bodies_keep_their_expansions_unless_quoted() {
        let s = parse("cat <<EOF\n$(id) x\nEOF\ncat <<'EOF'\n$(id)\nEOF\n").unwrap();
        assert!(s.cmds[0].redirs[0].body.literal().is_none());
        assert_eq!(s.cmds[1].redirs[0].body.literal().unwrap(), "$(id)\n");
    }

    #[test]
    fn and_chains_are_marked_on_plain_commands_only() {
        let s = parse("cd /x && ls && cat y; (cd /z) && ls; cd /a | ls && ls").unwrap();
        let marks: Vec<bool> = s.cmds.iter().map(|c| c.and_next).collect();
        assert_eq!(
            marks,
            [true, true, false, false, false, false, false, false]
        );
    }

    #[test]
    fn bad_syntax_is_an_error() {
        for src in [
            "echo 'open",
            "echo \"open",
            "ls )",
            "(ls",
            "{ ls",
            "echo $(",
            "echo ${x",
            "echo $((1)",
            "case x in a) ;;",
            "ls >",
            "f() ( ls",
        ] {
            assert!(parse(src).is_err(), "{src:?}");
        }
    }

    #[test]
    fn deep_nesting_is_refused_not_overflowed() {
        let deep = "( ".repeat(10_000) + &")".repeat(10_000);
        assert!(parse(&deep).is_err());
        let ticks = "$(".repeat(5_000) + &")".repeat(5_000);
        assert!(parse(&ticks).is_err());
    }
}
