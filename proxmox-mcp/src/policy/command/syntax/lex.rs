//! Word-level lexing: quoting, escapes, `$'…'`, expansions and substitutions.

use super::parse::{Parser, Term, is_meta};
use super::{Script, Seg, Word};

/// An unquoted here-document body: text with its `$…` and `` `…` `` expansions, as bash sees
/// it (backslash escapes only `$`, `` ` ``, `\` and newline).
pub(super) fn heredoc_body(body: &str, depth: usize) -> Result<Word, String> {
    let mut p = Parser::new(body.chars().collect(), depth);
    p.deeper()?;
    let mut w = Word::default();
    p.quoted_text(&mut w, None)?;
    Ok(w)
}

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
                if c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | '+') {
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
                    self.quoted_text(&mut w, Some('"'))?;
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
                        self.quoted_text(&mut w, Some('"'))?;
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

    fn until(&mut self, end: char) -> Result<String, String> {
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

    /// Double-quoted text up to `end` (or to the end of input for a here-document body).
    pub(super) fn quoted_text(&mut self, w: &mut Word, end: Option<char>) -> Result<(), String> {
        let mut t = String::new();
        loop {
            let Some(c) = self.peek() else {
                if end.is_none() {
                    break;
                }
                return Err("unterminated `\"` quote".into());
            };
            match c {
                _ if Some(c) == end => {
                    self.i += 1;
                    break;
                }
                '\\' => {
                    self.i += 1;
                    match self.peek() {
                        Some('\n') => self.i += 1,
                        Some(e @ ('$' | '`' | '\\')) => {
                            t.push(e);
                            self.i += 1;
                        }
                        Some('"') if end.is_some() => {
                            t.push('"');
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

    /// Text up to the `close` that balances the `open` just consumed (`${…}`, `$((…))`).
    fn balanced_text(
        &mut self,
        open: char,
        close: char,
        mut depth: usize,
    ) -> Result<String, String> {
        let start = self.i;
        while depth > 0 {
            match self.peek() {
                None => return Err(format!("unterminated `{open}`")),
                Some('\\') => self.i += 1,
                Some(c) if c == open => depth += 1,
                Some(c) if c == close => depth -= 1,
                _ => {}
            }
            self.i += 1;
        }
        let end = self.i - 1;
        Ok(self.s[start..end.max(start)].iter().collect())
    }

    /// `$…` at the cursor; `None` when the dollar is a plain character.
    fn dollar(&mut self) -> Result<Option<Seg>, String> {
        if self.peek_at(1) == Some('\\') && self.peek_at(2) == Some('\n') {
            // bash removes the line continuation first: `$\⏎(…)` is `$(…)`, `$\⏎HOME` is
            // `$HOME`. Whatever follows, the word is only known at run time.
            self.i += 3;
            return Ok(Some(Seg::Var("(after a line continuation)".into())));
        }
        match self.peek_at(1) {
            Some('(') if self.peek_at(2) == Some('(') => {
                self.i += 3;
                let text = self.balanced_text('(', ')', 2)?;
                Ok(Some(Seg::Arith(text.trim_end_matches(')').to_string())))
            }
            Some('(') => {
                self.i += 2;
                self.deeper()?;
                let mut inner = Script::default();
                self.list(&mut inner.cmds, Term::Paren)?;
                self.depth -= 1;
                Ok(Some(Seg::Subst(inner)))
            }
            Some('[') => {
                self.i += 2;
                Ok(Some(Seg::Arith(self.balanced_text('[', ']', 1)?)))
            }
            Some('{') => {
                self.i += 2;
                Ok(Some(Seg::Var(self.balanced_text('{', '}', 1)?)))
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
        let mut p = Parser::new(t.chars().collect(), self.depth);
        p.deeper()?;
        let mut script = Script::default();
        p.list(&mut script.cmds, Term::Eof)?;
        p.finish(&mut script)?;
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
                // bash ends the string at a NUL: `$'/etc/shadow\0/../x'` is `/etc/shadow`.
                '\'' => return Ok(t.split('\0').next().unwrap_or_default().to_string()),
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
                        'x' | 'u' | 'U' => {
                            let max = match e {
                                'x' => 2,
                                'u' => 4,
                                _ => 8,
                            };
                            match self.radix(16, max) {
                                // No digits: bash keeps the escape as written.
                                None => {
                                    t.push('\\');
                                    t.push(e);
                                }
                                Some(c) => t.push(c),
                            }
                        }
                        '0'..='7' => {
                            self.i -= 1;
                            t.push(self.radix(8, 3).unwrap_or('\0'));
                        }
                        'c' => {
                            if let Some(x) = self.peek() {
                                self.i += 1;
                                t.push(char::from((x as u8) & 0x1f));
                            }
                        }
                        other => {
                            if !matches!(other, '\\' | '\'' | '"' | '?') {
                                t.push('\\');
                            }
                            t.push(other);
                        }
                    }
                }
                _ => t.push(c),
            }
        }
    }

    /// Up to `max` digits in `radix` at the cursor as a character; `None` when there is none.
    fn radix(&mut self, radix: u32, max: usize) -> Option<char> {
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
        (n > 0).then(|| char::from_u32(v).unwrap_or('\u{fffd}'))
    }
}
