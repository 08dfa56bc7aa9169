//! Lists, pipelines, compound commands, redirections and here-documents.

use super::{MAX_DEPTH, Redir, RedirKind, Script, Seg, Simple, Word};

#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Term {
    Eof,
    Paren,
    Brace,
    /// A `case` branch: ends at `;;`, `;&`, `;;&` or `esac`.
    Case,
}

/// Parses a whole script.
pub(crate) fn parse(src: &str) -> Result<Script, String> {
    let mut p = Parser::new(src.chars().collect(), 0);
    let mut script = Script::default();
    p.list(&mut script.cmds, Term::Eof)?;
    p.finish(&mut script)?;
    Ok(script)
}

pub(super) struct Parser {
    pub(super) s: Vec<char>,
    pub(super) i: usize,
    /// Here-documents whose bodies start after the next newline: (delimiter, strip tabs,
    /// quoted delimiter, index).
    pending: Vec<(String, bool, bool, usize)>,
    bodies: Vec<Word>,
    pub(super) depth: usize,
    /// The nesting depth of the last plain simple command parsed (a compound command's inner
    /// commands are deeper).
    plain_at: Option<usize>,
}

pub(super) fn is_meta(c: char) -> bool {
    matches!(
        c,
        '|' | '&' | ';' | '(' | ')' | '<' | '>' | ' ' | '\t' | '\n'
    )
}

impl Parser {
    pub(super) fn new(s: Vec<char>, depth: usize) -> Self {
        Parser {
            s,
            i: 0,
            pending: Vec::new(),
            bodies: Vec::new(),
            depth,
            plain_at: None,
        }
    }

    /// Reads here-documents still pending at the end and fills every body in.
    pub(super) fn finish(&mut self, script: &mut Script) -> Result<(), String> {
        if !self.pending.is_empty() {
            self.read_heredocs()?;
        }
        fill_bodies(script, &self.bodies);
        Ok(())
    }

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

    pub(super) fn deeper(&mut self) -> Result<(), String> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err("nesting is too deep".into());
        }
        Ok(())
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
    fn newline(&mut self) -> Result<(), String> {
        self.i += 1;
        if !self.pending.is_empty() {
            self.read_heredocs()?;
        }
        Ok(())
    }

    fn skip_newlines(&mut self) -> Result<(), String> {
        loop {
            self.skip_blanks();
            if self.peek() == Some('\n') {
                self.newline()?;
            } else {
                return Ok(());
            }
        }
    }

    fn read_heredocs(&mut self) -> Result<(), String> {
        for (delim, strip, quoted, idx) in std::mem::take(&mut self.pending) {
            let mut body = String::new();
            let mut closed = false;
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
                    closed = true;
                    break;
                }
                body.push_str(cmp);
                body.push('\n');
            }
            if !closed {
                // bash runs it with a warning; we read to the end the same way.
                tracing::trace!("here-document not closed by {delim:?}");
            }
            self.bodies[idx] = if quoted {
                Word::quoted(body)
            } else {
                super::lex::heredoc_body(&body, self.depth)?
            };
        }
        Ok(())
    }

    pub(super) fn list(&mut self, out: &mut Vec<Simple>, term: Term) -> Result<(), String> {
        self.deeper()?;
        loop {
            self.skip_blanks();
            match self.peek() {
                None => {
                    self.depth -= 1;
                    return match term {
                        Term::Eof => Ok(()),
                        Term::Paren => Err("missing `)`".into()),
                        Term::Brace => Err("missing `}`".into()),
                        Term::Case => Err("missing `esac`".into()),
                    };
                }
                Some('\n') => self.newline()?,
                Some(';') if self.peek_at(1) == Some(';') || self.peek_at(1) == Some('&') => {
                    if term != Term::Case {
                        return Err("`;;` outside a case statement".into());
                    }
                    self.i += if self.starts(";;&") { 3 } else { 2 };
                    self.depth -= 1;
                    return Ok(());
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
                _ if term == Term::Case && self.starts("esac") && self.word_ends_at(4) => {
                    // The last branch may omit `;;`; leave `esac` to the case parser.
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
        let mut single = self.pipeline(out)?;
        loop {
            self.skip_blanks();
            if self.starts("&&") || self.starts("||") {
                if single
                    && self.starts("&&")
                    && let Some(last) = out.last_mut()
                {
                    last.and_next = true;
                }
                self.i += 2;
                self.skip_newlines()?;
                single = self.pipeline(out)?;
            } else {
                return Ok(());
            }
        }
    }

    /// Parses a pipeline; true when it was one plain simple command.
    fn pipeline(&mut self, out: &mut Vec<Simple>) -> Result<bool, String> {
        let mut piped = false;
        let first = out.len();
        loop {
            let start = out.len();
            self.plain_at = None;
            self.command(out)?;
            if piped {
                for c in &mut out[start..] {
                    c.piped_in = true;
                }
            }
            self.skip_blanks();
            if self.peek() == Some('|') && self.peek_at(1) != Some('|') {
                self.i += if self.peek_at(1) == Some('&') { 2 } else { 1 };
                self.skip_newlines()?;
                piped = true;
            } else {
                let plain = self.plain_at == Some(self.depth);
                return Ok(!piped && plain && out.len() == first + 1);
            }
        }
    }

    fn command(&mut self, out: &mut Vec<Simple>) -> Result<(), String> {
        self.skip_blanks();
        if self.peek() == Some('(') {
            if self.peek_at(1) == Some('(') {
                let text = self.arith_command()?;
                out.push(keyword("((", vec![Word::quoted(text)]));
                return self.trailing_redirs(out);
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
                cmd.words.push(Word::quoted(t));
                continue;
            }
            if in_test && c == '\n' {
                self.newline()?;
                continue;
            }
            if (c == '<' || c == '>') && self.peek_at(1) == Some('(') {
                self.i += 2;
                let mut inner = Script::default();
                self.list(&mut inner.cmds, Term::Paren)?;
                cmd.words.push(Word {
                    segs: vec![Seg::ProcSubst(inner)],
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
            if cmd.words.is_empty() && cmd.keyword.is_none() {
                if let Some((name, value)) = split_assignment(&word) {
                    if value.segs.is_empty() && self.peek() == Some('(') {
                        let text = self.balanced()?;
                        cmd.assigns.push((name, Word::quoted(text)));
                    } else {
                        cmd.assigns.push((name, value));
                    }
                    continue;
                }
                let lit = word.literal();
                match (lit.as_deref(), word.is_quoted()) {
                    (Some("{"), false) => {
                        if !cmd.assigns.is_empty() {
                            out.push(cmd);
                        }
                        self.list(out, Term::Brace)?;
                        return self.trailing_redirs(out);
                    }
                    (
                        Some(
                            "if" | "then" | "elif" | "else" | "fi" | "do" | "done" | "while"
                            | "until" | "!",
                        ),
                        false,
                    ) if cmd.assigns.is_empty() => continue,
                    (Some("for" | "select"), false) if cmd.assigns.is_empty() => {
                        return self.for_loop(out);
                    }
                    (Some("case"), false) if cmd.assigns.is_empty() => return self.case(out),
                    (Some("function"), false) if cmd.assigns.is_empty() => {
                        self.skip_blanks();
                        let name = self.word()?;
                        self.skip_blanks();
                        if self.starts("()") {
                            self.i += 2;
                        }
                        let head = Simple {
                            words: vec![name],
                            ..Simple::default()
                        };
                        return self.function_def(head, out);
                    }
                    (Some("time" | "coproc"), false) if cmd.assigns.is_empty() => {
                        let kw = if lit.as_deref() == Some("time") {
                            "time"
                        } else {
                            "coproc"
                        };
                        out.push(keyword(kw, Vec::new()));
                        if kw == "time" {
                            self.skip_blanks();
                            for opt in ["-p", "--"] {
                                if self.starts(opt) && self.word_ends_at(opt.len()) {
                                    self.i += opt.len();
                                    self.skip_blanks();
                                }
                            }
                        }
                        continue;
                    }
                    (Some("[["), false) if cmd.assigns.is_empty() => {
                        in_test = true;
                        cmd.keyword = Some("[[");
                        continue;
                    }
                    _ => {}
                }
            }
            if in_test && !word.is_quoted() && word.literal().as_deref() == Some("]]") {
                in_test = false;
                continue;
            }
            cmd.words.push(word);
        }
        if in_test {
            return Err("missing `]]`".into());
        }
        let empty = cmd.words.is_empty()
            && cmd.assigns.is_empty()
            && cmd.redirs.is_empty()
            && cmd.keyword.is_none();
        if !empty {
            if cmd.keyword.is_none() && !cmd.words.is_empty() {
                self.plain_at = Some(self.depth);
            }
            out.push(cmd);
        }
        Ok(())
    }

    /// `for NAME [in WORDS]; do …` or `for ((…))`: a pseudo command with the evaluated words.
    fn for_loop(&mut self, out: &mut Vec<Simple>) -> Result<(), String> {
        self.skip_blanks();
        if self.starts("((") {
            let text = self.arith_command()?;
            out.push(keyword("((", vec![Word::quoted(text)]));
            return Ok(());
        }
        let mut words = vec![self.word()?];
        loop {
            self.skip_blanks();
            match self.peek() {
                None | Some(';' | '\n') => break,
                Some(c) if is_meta(c) => return Err(format!("unexpected `{c}` in a for loop")),
                _ => words.push(self.word()?),
            }
        }
        out.push(keyword("for", words));
        Ok(())
    }

    /// `case WORD in [(]PAT[|PAT]…) LIST ;; … esac`.
    fn case(&mut self, out: &mut Vec<Simple>) -> Result<(), String> {
        self.deeper()?;
        self.skip_blanks();
        let mut words = vec![self.word()?];
        self.skip_newlines()?;
        if !(self.starts("in") && self.word_ends_at(2)) {
            return Err("`case` without `in`".into());
        }
        self.i += 2;
        let at = out.len();
        out.push(Simple::default());
        loop {
            self.skip_newlines()?;
            if self.starts("esac") && self.word_ends_at(4) {
                self.i += 4;
                break;
            }
            if self.peek().is_none() {
                return Err("missing `esac`".into());
            }
            if self.peek() == Some('(') {
                self.i += 1;
            }
            loop {
                self.skip_blanks();
                match self.peek() {
                    Some(')') => {
                        self.i += 1;
                        break;
                    }
                    Some('|') => self.i += 1,
                    Some(c) if !is_meta(c) => words.push(self.word()?),
                    _ => return Err("bad case pattern".into()),
                }
            }
            self.list(out, Term::Case)?;
        }
        out[at] = keyword("case", words);
        self.depth -= 1;
        self.trailing_redirs(out)
    }

    /// `((…))` at the cursor: the text between the double parentheses.
    fn arith_command(&mut self) -> Result<String, String> {
        self.i += 2;
        let start = self.i;
        let mut depth = 2usize;
        while depth > 0 {
            match self.peek() {
                None => return Err("unterminated `((`".into()),
                Some('(') => depth += 1,
                Some(')') => depth -= 1,
                _ => {}
            }
            self.i += 1;
        }
        Ok(self.s[start..self.i - 2].iter().collect())
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
            .map(|w| w.literal().unwrap_or_else(|| super::word_text(&w)))
            .ok_or("a function without a name")?;
        out.push(Simple {
            func_def: Some(name),
            ..Simple::default()
        });
        self.skip_newlines()?;
        self.deeper()?;
        let r = self.command(out);
        self.depth -= 1;
        r
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

    /// `(…)` of an array assignment, as text.
    fn balanced(&mut self) -> Result<String, String> {
        let start = self.i;
        let mut depth = 0usize;
        while let Some(c) = self.peek() {
            self.i += 1;
            match c {
                '(' => depth += 1,
                ')' => {
                    depth -= 1;
                    if depth == 0 {
                        return Ok(self.s[start..self.i].iter().collect());
                    }
                }
                _ => {}
            }
        }
        Err("missing `)`".into())
    }

    /// Parses one redirection at the cursor, if there is one.
    fn redir(&mut self, cmd: &mut Simple) -> Result<bool, String> {
        let save = self.i;
        let mut named_fd = false;
        if self.peek() == Some('{') {
            // `{name}>file`: bash allocates a descriptor and stores its number in `name`.
            let mut k = self.i + 1;
            while self
                .s
                .get(k)
                .is_some_and(|c| c.is_ascii_alphanumeric() || *c == '_')
            {
                k += 1;
            }
            if k > self.i + 1
                && self.s.get(k) == Some(&'}')
                && matches!(self.s.get(k + 1), Some('<' | '>'))
            {
                self.i = k + 1;
                named_fd = true;
            }
        }
        while !named_fd && self.peek().is_some_and(|c| c.is_ascii_digit()) {
            self.i += 1;
        }
        // `2\⏎>f` is `2>f`: bash removes the line continuation before it reads the operator.
        while self.peek() == Some('\\') && self.peek_at(1) == Some('\n') {
            self.i += 2;
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
            let fd = !t.is_empty() && t.trim_end_matches('-').chars().all(|c| c.is_ascii_digit());
            if !fd {
                kind = if op == ">&" {
                    RedirKind::Out
                } else {
                    RedirKind::In
                };
            }
        }
        let mut body_index = 0;
        if kind == RedirKind::HereDoc {
            let delim = target
                .literal()
                .unwrap_or_else(|| super::word_text(&target));
            body_index = self.bodies.len();
            self.bodies.push(Word::default());
            self.pending
                .push((delim, op == "<<-", target.is_quoted(), body_index));
        }
        cmd.redirs.push(Redir {
            kind,
            target,
            body: Word::default(),
            body_index,
            named_fd,
        });
        Ok(true)
    }
}

fn keyword(kw: &'static str, words: Vec<Word>) -> Simple {
    Simple {
        words,
        keyword: Some(kw),
        ..Simple::default()
    }
}

fn fill_bodies(script: &mut Script, bodies: &[Word]) {
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

fn fill_word(w: &mut Word, bodies: &[Word]) {
    for seg in &mut w.segs {
        if let Seg::Subst(s) | Seg::ProcSubst(s) = seg {
            fill_bodies(s, bodies);
        }
    }
}

/// `NAME=value` (or `NAME+=value`, `NAME[i]=value`) at the start of a word.
fn split_assignment(w: &Word) -> Option<(String, Word)> {
    let Some(Seg::Lit(first)) = w.segs.first() else {
        return None;
    };
    let eq = first.find('=')?;
    let name = first[..eq].trim_end_matches('+');
    let base = name.split_once('[').map_or(name, |(b, _)| b);
    let mut chars = base.chars();
    let ok = chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
        && (base == name || name.ends_with(']'));
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
