//! A server-sent events decoder: bytes in as they arrive, whole events out.

/// One event: its `event:` name (if any) and its `data:` lines joined by `\n`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    pub event: Option<String>,
    pub data: String,
}

/// Buffers partial lines between chunks.
#[derive(Debug, Default)]
pub struct Decoder {
    buf: Vec<u8>,
    event: Option<String>,
    data: Vec<String>,
}

impl Decoder {
    /// The events completed by `chunk`.
    pub fn feed(&mut self, chunk: &[u8]) -> Vec<Event> {
        self.buf.extend_from_slice(chunk);
        let mut out = Vec::new();
        while let Some(nl) = self.buf.iter().position(|&b| b == b'\n') {
            let raw: Vec<u8> = self.buf.drain(..=nl).collect();
            let line = String::from_utf8_lossy(&raw);
            let line = line.trim_end_matches(['\n', '\r']);
            self.line(line, &mut out);
        }
        out
    }

    /// The event left when the stream ends without a blank line.
    pub fn finish(&mut self) -> Option<Event> {
        let rest = std::mem::take(&mut self.buf);
        let mut out = Vec::new();
        if !rest.is_empty() {
            let line = String::from_utf8_lossy(&rest)
                .trim_end_matches('\r')
                .to_owned();
            self.line(&line, &mut out);
        }
        self.line("", &mut out);
        out.pop()
    }

    fn line(&mut self, line: &str, out: &mut Vec<Event>) {
        if line.is_empty() {
            if !self.data.is_empty() || self.event.is_some() {
                out.push(Event {
                    event: self.event.take(),
                    data: std::mem::take(&mut self.data).join("\n"),
                });
            }
            return;
        }
        if line.starts_with(':') {
            return;
        }
        let (field, value) = match line.split_once(':') {
            Some((f, v)) => (f, v.strip_prefix(' ').unwrap_or(v)),
            None => (line, ""),
        };
        match field {
            "event" => self.event = Some(value.to_owned()),
            "data" => self.data.push(value.to_owned()),
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(chunks: &[&str], want: &[(Option<&str>, &str)]) {
        let mut d = Decoder::default();
        let mut got: Vec<Event> = chunks.iter().flat_map(|c| d.feed(c.as_bytes())).collect();
        got.extend(d.finish());
        let want: Vec<Event> = want
            .iter()
            .map(|(e, data)| Event {
                event: e.map(str::to_owned),
                data: (*data).to_owned(),
            })
            .collect();
        assert_eq!(got, want, "chunks: {chunks:?}");
    }

    #[test]
    fn decodes() {
        check(&["event: a\ndata: 1\n\n"], &[(Some("a"), "1")]);
        check(
            &["ev", "ent: a\r\nda", "ta: {\"x\"", ":1}\r\n\r\n"],
            &[(Some("a"), "{\"x\":1}")],
        );
        check(
            &["data: a\ndata: b\n\n: comment\n\ndata: [DONE]\n\n"],
            &[(None, "a\nb"), (None, "[DONE]")],
        );
        check(&["data: tail"], &[(None, "tail")]);
        check(&["\n\n"], &[]);
    }
}
