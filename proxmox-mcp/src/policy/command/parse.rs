//! A POSIX/bash shell parser just deep enough to find every simple command, its words and its
//! redirections; control structures are flattened because the most dangerous part decides anyway.

/// One piece of a word, in source order.
#[derive(Debug, Clone)]
pub(crate) enum Seg {
    /// Unquoted text: glob characters in it are live.
    Lit(String),
    /// Quoted or escaped text: taken literally.
    Quoted(String),
    /// `$name`, `${…}`, `$((…))`: a value only known at run time (unless we saw the assignment).
    Var(String),
    /// `$(…)`, `` `…` ``, `<(…)`, `>(…)`: runs commands, value only known at run time.
    Subst(Script),
    /// `~` or `~user` at the start of a word.
    Tilde(String),
}

/// A shell word before expansion.
#[derive(Debug, Clone, Default)]
pub(crate) struct Word {
    pub segs: Vec<Seg>,
}

impl Word {
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

    fn is_quoted(&self) -> bool {
        self.segs.iter().any(|s| matches!(s, Seg::Quoted(_)))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RedirKind {
    In,
    Out,
    Append,
    ReadWrite,
    Dup,
    HereDoc,
    HereString,
}

#[derive(Debug, Clone)]
pub(crate) struct Redir {
    pub kind: RedirKind,
    pub target: Word,
    /// Here-document body (filled after parsing).
    pub body: String,
    body_index: usize,
}

/// One simple command (or a bare set of redirections on a compound command).
#[derive(Debug, Clone, Default)]
pub(crate) struct Simple {
    pub assigns: Vec<(String, Word)>,
    pub words: Vec<Word>,
    pub redirs: Vec<Redir>,
    /// Standard input comes from an earlier command in a pipeline.
    pub piped_in: bool,
    /// `name() { … }`: the body follows as ordinary commands.
    pub func_def: Option<String>,
}

/// All simple commands of a script, in source order.
#[derive(Debug, Clone, Default)]
pub(crate) struct Script {
    pub cmds: Vec<Simple>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Term {
    Eof,
    Paren,
    Brace,
}

pub(super) const MAX_DEPTH: usize = 64;

/// Parses a whole script.
pub(crate) fn parse(src: &str) -> Result<Script, String> {
    let mut p = Parser {
        s: src.chars().collect(),
        i: 0,
        pending: Vec::new(),
        bodies: Vec::new(),
        depth: 0,
    };
    let mut script = Script::default();
    p.list(&mut script.cmds, Term::Eof)?;
    if !p.pending.is_empty() {
        p.read_heredocs();
    }
    fill_bodies(&mut script, &p.bodies);
    Ok(script)
}

pub(super) fn fill_bodies(script: &mut Script, bodies: &[String]) {
    for cmd in &mut script.cmds {
        for r in &mut cmd.redirs {
            if r.kind == RedirKind::HereDoc {
                r.body = bodies.get(r.body_index).cloned().unwrap_or_default();
            }
            fill_word(&mut r.target, bodies);
        }
        for w in cmd
            .words
            .iter_mut()
            .chain(cmd.assigns.iter_mut().map(|(_, w)| w))
        {
            fill_word(w, bodies);
        }
    }
}

fn fill_word(w: &mut Word, bodies: &[String]) {
    for seg in &mut w.segs {
        if let Seg::Subst(s) = seg {
            fill_bodies(s, bodies);
        }
    }
}

pub(super) struct Parser {
    pub(super) s: Vec<char>,
    pub(super) i: usize,
    /// Here-documents whose bodies start after the next newline: (delimiter, strip tabs, index).
    pub(super) pending: Vec<(String, bool, usize)>,
    pub(super) bodies: Vec<String>,
    pub(super) depth: usize,
}

pub(super) fn is_meta(c: char) -> bool {
    matches!(
        c,
        '|' | '&' | ';' | '(' | ')' | '<' | '>' | ' ' | '\t' | '\n'
    )
}

impl Parser {
    pub(super) fn peek(&self) -> Option<char> {
        self.s.get(self.i).copied()
    }

    pub(super) fn peek_at(&self, n: usize) -> Option<char> {
        self.s.get(self.i + n).copied()
    }

    fn starts(&self, pat: &str) -> bool {
        pat.chars()
            .enumerate()
            .all(|(k, c)| self.peek_at(k) == Some(c))
    }

    fn skip_blanks(&mut self) {
        loop {
            match self.peek() {
                Some(' ' | '\t') => self.i += 1,
                Some('\\') if self.peek_at(1) == Some('\n') => self.i += 2,
                Some('#') => {
                    while self.peek().is_some_and(|c| c != '\n') {
                        self.i += 1;
                    }
                }
                _ => return,
            }
        }
    }

    /// Consumes one newline and then any here-document bodies that were waiting for it.
    fn newline(&mut self) {
        self.i += 1;
        if !self.pending.is_empty() {
            self.read_heredocs();
        }
    }

    fn skip_newlines(&mut self) {
        loop {
            self.skip_blanks();
            if self.peek() == Some('\n') {
                self.newline();
            } else {
                return;
            }
        }
    }

    pub(super) fn read_heredocs(&mut self) {
        for (delim, strip, idx) in std::mem::take(&mut self.pending) {
            let mut body = String::new();
            while self.i < self.s.len() {
                let start = self.i;
                while self.peek().is_some_and(|c| c != '\n') {
                    self.i += 1;
                }
                let line: String = self.s[start..self.i].iter().collect();
                if self.peek() == Some('\n') {
                    self.i += 1;
                }
                let cmp = if strip {
                    line.trim_start_matches('\t')
                } else {
                    &line
                };
                if cmp == delim {
                    break;
                }
                body.push_str(cmp);
                body.push('\n');
            }
            self.bodies[idx] = body;
        }
    }

    pub(super) fn list(&mut self, out: &mut Vec<Simple>, term: Term) -> Result<(), String> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err("nesting is too deep".into());
        }
        loop {
            self.skip_blanks();
            match self.peek() {
                None => {
                    self.depth -= 1;
                    return match term {
                        Term::Eof => Ok(()),
                        Term::Paren => Err("missing `)`".into()),
                        Term::Brace => Err("missing `}`".into()),
                    };
                }
                Some('\n') => self.newline(),
                Some(';') if self.peek_at(1) == Some(';') => {
                    return Err("`;;` outside a case statement (case is not supported)".into());
                }
                Some(';' | '&') => self.i += 1,
                Some(')') if term == Term::Paren => {
                    self.i += 1;
                    self.depth -= 1;
                    return Ok(());
                }
                Some(')') => return Err("unexpected `)`".into()),
                Some('}') if term == Term::Brace && self.word_ends_at(1) => {
                    self.i += 1;
                    self.depth -= 1;
                    return Ok(());
                }
                _ => self.and_or(out)?,
            }
        }
    }

    fn word_ends_at(&self, n: usize) -> bool {
        self.peek_at(n).is_none_or(is_meta)
    }

    fn and_or(&mut self, out: &mut Vec<Simple>) -> Result<(), String> {
        self.pipeline(out)?;
        loop {
            self.skip_blanks();
            if self.starts("&&") || self.starts("||") {
                self.i += 2;
                self.skip_newlines();
                self.pipeline(out)?;
            } else {
                return Ok(());
            }
        }
    }

    fn pipeline(&mut self, out: &mut Vec<Simple>) -> Result<(), String> {
        let mut piped = false;
        loop {
            let start = out.len();
            self.command(out)?;
            if piped {
                for c in &mut out[start..] {
                    c.piped_in = true;
                }
            }
            self.skip_blanks();
            if self.peek() == Some('|') && self.peek_at(1) != Some('|') {
                self.i += if self.peek_at(1) == Some('&') { 2 } else { 1 };
                self.skip_newlines();
                piped = true;
            } else {
                return Ok(());
            }
        }
    }

    fn command(&mut self, out: &mut Vec<Simple>) -> Result<(), String> {
        self.skip_blanks();
        if self.peek() == Some('(') {
            if self.peek_at(1) == Some('(') {
                return Err("arithmetic commands `(( ))` are not supported".into());
            }
            self.i += 1;
            self.list(out, Term::Paren)?;
            return self.trailing_redirs(out);
        }
        let mut cmd = Simple::default();
        let mut in_test = false;
        loop {
            self.skip_blanks();
            let Some(c) = self.peek() else { break };
            if in_test
                && (matches!(c, '<' | '>' | '(' | ')' | '!')
                    || self.starts("&&")
                    || self.starts("||"))
            {
                let n = if self.starts("&&") || self.starts("||") {
                    2
                } else {
                    1
                };
                let t: String = self.s[self.i..self.i + n].iter().collect();
                self.i += n;
                cmd.words.push(Word {
                    segs: vec![Seg::Quoted(t)],
                });
                continue;
            }
            if (c == '<' || c == '>') && self.peek_at(1) == Some('(') {
                self.i += 2;
                let mut inner = Script::default();
                self.list(&mut inner.cmds, Term::Paren)?;
                cmd.words.push(Word {
                    segs: vec![Seg::Subst(inner)],
                });
                continue;
            }
            if self.redir(&mut cmd)? {
                continue;
            }
            if is_meta(c) {
                if c == '(' && cmd.words.len() == 1 && cmd.assigns.is_empty() {
                    return self.function_def(cmd, out);
                }
                break;
            }
            let word = self.word()?;
            if cmd.words.is_empty() {
                if let Some((name, value)) = split_assignment(&word) {
                    if value.segs.is_empty() && self.peek() == Some('(') {
                        self.skip_balanced()?;
                        cmd.assigns.push((
                            name,
                            Word {
                                segs: vec![Seg::Var("array".into())],
                            },
                        ));
                    } else {
                        cmd.assigns.push((name, value));
                    }
                    continue;
                }
                let lit = word.literal();
                match (lit.as_deref(), word.is_quoted()) {
                    (Some("{"), false) => {
                        out.push(cmd);
                        self.list(out, Term::Brace)?;
                        return self.trailing_redirs(out);
                    }
                    (
                        Some(
                            "if" | "then" | "elif" | "else" | "fi" | "do" | "done" | "while"
                            | "until" | "!",
                        ),
                        false,
                    ) => continue,
                    (Some("for" | "select"), false) => {
                        self.skip_blanks();
                        let var = self.word()?;
                        cmd.words.push(Word {
                            segs: vec![Seg::Quoted("for".into())],
                        });
                        cmd.words.push(var);
                        loop {
                            self.skip_blanks();
                            match self.peek() {
                                None | Some(';' | '\n') => break,
                                _ => {
                                    let w = self.word()?;
                                    cmd.words.push(w);
                                }
                            }
                        }
                        break;
                    }
                    (Some("case"), false) => return Err("case statements are not supported".into()),
                    (Some("function"), false) => {
                        self.skip_blanks();
                        let name = self.word()?;
                        self.skip_blanks();
                        if self.starts("()") {
                            self.i += 2;
                        }
                        return self.function_def(
                            Simple {
                                words: vec![name],
                                ..Simple::default()
                            },
                            out,
                        );
                    }
                    (Some("[["), false) => in_test = true,
                    _ => {}
                }
            }
            if in_test && word.literal().as_deref() == Some("]]") {
                in_test = false;
            }
            cmd.words.push(word);
        }
        out.push(cmd);
        Ok(())
    }

    fn function_def(&mut self, mut head: Simple, out: &mut Vec<Simple>) -> Result<(), String> {
        self.skip_blanks();
        if self.starts("()") {
            self.i += 2;
        } else if self.peek() == Some('(') {
            let mut k = self.i + 1;
            while matches!(self.s.get(k), Some(' ' | '\t')) {
                k += 1;
            }
            if self.s.get(k) != Some(&')') {
                return Err("unexpected `(`".into());
            }
            self.i = k + 1;
        }
        let name = head
            .words
            .pop()
            .and_then(|w| w.literal())
            .ok_or("function name is not literal")?;
        out.push(Simple {
            func_def: Some(name),
            ..Simple::default()
        });
        self.skip_newlines();
        self.command(out)
    }

    fn trailing_redirs(&mut self, out: &mut Vec<Simple>) -> Result<(), String> {
        let mut cmd = Simple::default();
        loop {
            self.skip_blanks();
            if !self.redir(&mut cmd)? {
                break;
            }
        }
        if !cmd.redirs.is_empty() {
            out.push(cmd);
        }
        Ok(())
    }

    fn skip_balanced(&mut self) -> Result<(), String> {
        let mut depth = 0usize;
        while let Some(c) = self.peek() {
            self.i += 1;
            match c {
                '(' => depth += 1,
                ')' => {
                    depth -= 1;
                    if depth == 0 {
                        return Ok(());
                    }
                }
                '$' | '`' => return Err("command substitution inside an array assignment".into()),
                _ => {}
            }
        }
        Err("missing `)`".into())
    }

    /// Parses one redirection at the cursor, if there is one.
    fn redir(&mut self, cmd: &mut Simple) -> Result<bool, String> {
        let save = self.i;
        while self.peek().is_some_and(|c| c.is_ascii_digit()) {
            self.i += 1;
        }
        let ops: &[(&str, RedirKind)] = &[
            ("<<<", RedirKind::HereString),
            ("<<-", RedirKind::HereDoc),
            ("<<", RedirKind::HereDoc),
            ("<>", RedirKind::ReadWrite),
            ("<&", RedirKind::Dup),
            ("<", RedirKind::In),
            ("&>>", RedirKind::Append),
            ("&>", RedirKind::Out),
            (">>", RedirKind::Append),
            (">&", RedirKind::Dup),
            (">|", RedirKind::Out),
            (">", RedirKind::Out),
        ];
        let Some(&(op, mut kind)) = ops.iter().find(|(op, _)| self.starts(op)) else {
            self.i = save;
            return Ok(false);
        };
        if op.starts_with('&') && self.i != save {
            self.i = save;
            return Ok(false);
        }
        self.i += op.len();
        self.skip_blanks();
        if self.peek().is_none_or(is_meta) {
            return Err(format!("`{op}` without a target"));
        }
        let target = self.word()?;
        if kind == RedirKind::Dup {
            let t = target.literal().unwrap_or_default();
            if op == ">&" && !(t.chars().all(|c| c.is_ascii_digit()) || t == "-") {
                kind = RedirKind::Out;
            }
        }
        let mut body_index = 0;
        if kind == RedirKind::HereDoc {
            let delim = target.literal().unwrap_or_else(|| word_text(&target));
            body_index = self.bodies.len();
            self.bodies.push(String::new());
            self.pending.push((delim, op == "<<-", body_index));
        }
        cmd.redirs.push(Redir {
            kind,
            target,
            body: String::new(),
            body_index,
        });
        Ok(true)
    }
}

/// `NAME=value` (or `NAME+=value`) at the start of a word.
fn split_assignment(w: &Word) -> Option<(String, Word)> {
    let Some(Seg::Lit(first)) = w.segs.first() else {
        return None;
    };
    let eq = first.find('=')?;
    let name = first[..eq].trim_end_matches('+');
    let mut chars = name.chars();
    let ok = chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_');
    if !ok {
        return None;
    }
    let mut value = Word::default();
    if eq + 1 < first.len() {
        value.segs.push(Seg::Lit(first[eq + 1..].to_string()));
    }
    value.segs.extend(w.segs[1..].iter().cloned());
    Some((name.to_string(), value))
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
            Seg::Subst(_) => s.push_str("$(…)"),
            Seg::Tilde(u) => {
                s.push('~');
                s.push_str(u);
            }
        }
    }
    s
}
