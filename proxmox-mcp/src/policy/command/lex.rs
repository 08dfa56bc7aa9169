//! Word-level lexing for the shell parser: quoting, escapes, `$'…'`, expansions, substitutions.

use super::parse::{MAX_DEPTH, Parser, Script, Seg, Term, Word, fill_bodies, is_meta};

impl Parser {
    pub(super) fn word(&mut self) -> Result<Word, String> {
        let mut w = Word::default();
        let mut lit = String::new();
        let flush = |lit: &mut String, w: &mut Word| {
            if !lit.is_empty() {
                w.segs.push(Seg::Lit(std::mem::take(lit)));
            }
        };
        if self.peek() == Some('~') {
            let mut k = self.i + 1;
            let mut user = String::new();
            while let Some(&c) = self.s.get(k) {
                if c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.') {
                    user.push(c);
                    k += 1;
                } else {
                    break;
                }
            }
            if self.s.get(k).is_none_or(|&c| c == '/' || is_meta(c)) {
                self.i = k;
                w.segs.push(Seg::Tilde(user));
            }
        }
        while let Some(c) = self.peek() {
            if is_meta(c) {
                break;
            }
            match c {
                '\\' => {
                    self.i += 1;
                    match self.peek() {
                        Some('\n') => self.i += 1,
                        Some(e) => {
                            flush(&mut lit, &mut w);
                            self.i += 1;
                            w.segs.push(Seg::Quoted(e.to_string()));
                        }
                        None => lit.push('\\'),
                    }
                }
                '\'' => {
                    flush(&mut lit, &mut w);
                    self.i += 1;
                    let t = self.until('\'')?;
                    w.segs.push(Seg::Quoted(t));
                }
                '"' => {
                    flush(&mut lit, &mut w);
                    self.i += 1;
                    self.double_quoted(&mut w)?;
                }
                '`' => {
                    flush(&mut lit, &mut w);
                    let s = self.backtick()?;
                    w.segs.push(Seg::Subst(s));
                }
                '$' => {
                    if self.peek_at(1) == Some('\'') {
                        flush(&mut lit, &mut w);
                        self.i += 2;
                        let t = self.ansi_c()?;
                        w.segs.push(Seg::Quoted(t));
                    } else if self.peek_at(1) == Some('"') {
                        flush(&mut lit, &mut w);
                        self.i += 2;
                        self.double_quoted(&mut w)?;
                    } else if let Some(seg) = self.dollar()? {
                        flush(&mut lit, &mut w);
                        w.segs.push(seg);
                    } else {
                        lit.push('$');
                    }
                }
                _ => {
                    lit.push(c);
                    self.i += 1;
                }
            }
        }
        flush(&mut lit, &mut w);
        Ok(w)
    }

    pub(super) fn until(&mut self, end: char) -> Result<String, String> {
        let mut t = String::new();
        loop {
            match self.peek() {
                None => return Err(format!("unterminated `{end}` quote")),
                Some(c) if c == end => {
                    self.i += 1;
                    return Ok(t);
                }
                Some(c) => {
                    t.push(c);
                    self.i += 1;
                }
            }
        }
    }

    fn double_quoted(&mut self, w: &mut Word) -> Result<(), String> {
        let mut t = String::new();
        loop {
            let Some(c) = self.peek() else {
                return Err("unterminated `\"` quote".into());
            };
            match c {
                '"' => {
                    self.i += 1;
                    break;
                }
                '\\' => {
                    self.i += 1;
                    match self.peek() {
                        Some('\n') => self.i += 1,
                        Some(e @ ('$' | '`' | '"' | '\\')) => {
                            t.push(e);
                            self.i += 1;
                        }
                        _ => t.push('\\'),
                    }
                }
                '`' => {
                    w.segs.push(Seg::Quoted(std::mem::take(&mut t)));
                    let s = self.backtick()?;
                    w.segs.push(Seg::Subst(s));
                }
                '$' => {
                    if let Some(seg) = self.dollar()? {
                        w.segs.push(Seg::Quoted(std::mem::take(&mut t)));
                        w.segs.push(seg);
                    } else {
                        t.push('$');
                    }
                }
                _ => {
                    t.push(c);
                    self.i += 1;
                }
            }
        }
        w.segs.push(Seg::Quoted(t));
        Ok(())
    }

    /// `$…` at the cursor; `None` when the dollar is a plain character.
    fn dollar(&mut self) -> Result<Option<Seg>, String> {
        match self.peek_at(1) {
            Some('(') if self.peek_at(2) == Some('(') => {
                let start = self.i + 3;
                self.i = start;
                let mut depth = 2usize;
                while depth > 0 {
                    match self.peek() {
                        None => return Err("unterminated `$((`".into()),
                        Some('(') => depth += 1,
                        Some(')') => depth -= 1,
                        _ => {}
                    }
                    self.i += 1;
                }
                let text: String = self.s[start..self.i - 2].iter().collect();
                if text.contains('$') || text.contains('`') {
                    return Err("expansion inside arithmetic `$((…))`".into());
                }
                Ok(Some(Seg::Var(format!("(({text}))"))))
            }
            Some('(') => {
                self.i += 2;
                let mut inner = Script::default();
                self.list(&mut inner.cmds, Term::Paren)?;
                Ok(Some(Seg::Subst(inner)))
            }
            Some('{') => {
                let start = self.i + 2;
                self.i = start;
                let mut depth = 1usize;
                while depth > 0 {
                    match self.peek() {
                        None => return Err("unterminated `${`".into()),
                        Some('{') => depth += 1,
                        Some('}') => depth -= 1,
                        _ => {}
                    }
                    self.i += 1;
                }
                let text: String = self.s[start..self.i - 1].iter().collect();
                if text.contains("$(") || text.contains('`') {
                    return Err("command substitution inside `${…}`".into());
                }
                Ok(Some(Seg::Var(text)))
            }
            Some(c) if c.is_ascii_alphabetic() || c == '_' => {
                self.i += 1;
                let start = self.i;
                while self
                    .peek()
                    .is_some_and(|c| c.is_ascii_alphanumeric() || c == '_')
                {
                    self.i += 1;
                }
                Ok(Some(Seg::Var(self.s[start..self.i].iter().collect())))
            }
            Some(c) if c.is_ascii_digit() || "@*#?$!-".contains(c) => {
                self.i += 2;
                Ok(Some(Seg::Var(c.to_string())))
            }
            _ => {
                self.i += 1;
                Ok(None)
            }
        }
    }

    fn backtick(&mut self) -> Result<Script, String> {
        self.i += 1;
        let mut t = String::new();
        loop {
            match self.peek() {
                None => return Err("unterminated backtick".into()),
                Some('`') => {
                    self.i += 1;
                    break;
                }
                Some('\\') if matches!(self.peek_at(1), Some('`' | '\\' | '$')) => {
                    t.push(self.s[self.i + 1]);
                    self.i += 2;
                }
                Some(c) => {
                    t.push(c);
                    self.i += 1;
                }
            }
        }
        let mut p = Parser {
            s: t.chars().collect(),
            i: 0,
            pending: Vec::new(),
            bodies: Vec::new(),
            depth: self.depth + 1,
        };
        if p.depth > MAX_DEPTH {
            return Err("nesting is too deep".into());
        }
        let mut script = Script::default();
        p.list(&mut script.cmds, Term::Eof)?;
        p.read_heredocs();
        fill_bodies(&mut script, &p.bodies);
        Ok(script)
    }

    /// `$'…'` with the cursor after the opening quote.
    fn ansi_c(&mut self) -> Result<String, String> {
        let mut t = String::new();
        loop {
            let Some(c) = self.peek() else {
                return Err("unterminated `$'` quote".into());
            };
            self.i += 1;
            match c {
                '\'' => return Ok(t),
                '\\' => {
                    let Some(e) = self.peek() else { continue };
                    self.i += 1;
                    match e {
                        'n' => t.push('\n'),
                        't' => t.push('\t'),
                        'r' => t.push('\r'),
                        'a' => t.push('\x07'),
                        'b' => t.push('\x08'),
                        'e' | 'E' => t.push('\x1b'),
                        'f' => t.push('\x0c'),
                        'v' => t.push('\x0b'),
                        'x' => t.push(self.radix(16, 2)),
                        'u' => t.push(self.radix(16, 4)),
                        'U' => t.push(self.radix(16, 8)),
                        '0'..='7' => {
                            self.i -= 1;
                            t.push(self.radix(8, 3));
                        }
                        'c' => {
                            if let Some(x) = self.peek() {
                                self.i += 1;
                                t.push(char::from((x as u8) & 0x1f));
                            }
                        }
                        other => t.push(other),
                    }
                }
                _ => t.push(c),
            }
        }
    }

    fn radix(&mut self, radix: u32, max: usize) -> char {
        let mut v = 0u32;
        let mut n = 0;
        while n < max {
            match self.peek().and_then(|c| c.to_digit(radix)) {
                Some(d) => {
                    v = v * radix + d;
                    self.i += 1;
                    n += 1;
                }
                None => break,
            }
        }
        char::from_u32(v).unwrap_or('\u{fffd}')
    }
}
