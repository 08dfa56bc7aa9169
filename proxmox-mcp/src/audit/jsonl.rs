//! The line format: one JSON object per line, its `hash` member last, each line linked to the one before.
//!
//! A record is written as `{"seq":…,"prev":…,<event members>,"hash":"<64 hex>"}` and a newline.
//! `hash` is the SHA-256 of the line *without* its `hash` member: the bytes before `,"hash":"`
//! followed by `}`. It is computed over the bytes on disk, never over a re-serialisation, so a
//! verifier needs no canonical JSON. `prev` is the previous record's `hash`.
//!
//! A line without its final newline is torn: the writer was killed inside `write`. That record was
//! never acknowledged (`append` returns only after the newline is written and synced), so the next
//! append truncates the torn bytes before writing; until then `verify` reports an incomplete last
//! record.

use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;

use serde::Serialize;
use sha2::{Digest, Sha256};

use super::event::{Event, Record};

const HASH_KEY: &str = ",\"hash\":\"";
/// `,"hash":"` + 64 hex digits + `"}`.
const SUFFIX_LEN: usize = HASH_KEY.len() + 64 + 2;

#[derive(Serialize)]
struct Body<'a> {
    seq: u64,
    prev: &'a str,
    #[serde(flatten)]
    event: &'a Event,
}

/// The line for a record (without newline) and its hash.
pub(crate) fn encode(
    seq: u64,
    prev: &str,
    event: &Event,
) -> Result<(String, String), serde_json::Error> {
    let body = serde_json::to_string(&Body { seq, prev, event })?;
    let hash = hex::encode(Sha256::digest(body.as_bytes()));
    let open = &body[..body.len() - 1];
    Ok((format!("{open}{HASH_KEY}{hash}\"}}"), hash))
}

/// A line that is not a record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum LineError {
    /// It does not end in a `hash` member.
    NoHash,
    /// It is not a record (bad JSON, missing or mistyped members).
    Json(String),
}

impl std::fmt::Display for LineError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LineError::NoHash => f.write_str("no `hash` member at the end of the line"),
            LineError::Json(e) => write!(f, "not a record: {e}"),
        }
    }
}

/// The record on a line and the hash its bytes actually have (differs from `record.hash` when
/// the line was edited).
pub(crate) fn decode(line: &[u8]) -> Result<(Record, String), LineError> {
    let n = line.len();
    let well_formed = n > SUFFIX_LEN
        && line[n - SUFFIX_LEN..].starts_with(HASH_KEY.as_bytes())
        && line[n - 66..n - 2]
            .iter()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(b))
        && line.ends_with(b"\"}");
    if !well_formed {
        return Err(LineError::NoHash);
    }
    let mut hasher = Sha256::new();
    hasher.update(&line[..n - SUFFIX_LEN]);
    hasher.update(b"}");
    let actual = hex::encode(hasher.finalize());
    let record: Record =
        serde_json::from_slice(line).map_err(|e| LineError::Json(e.to_string()))?;
    Ok((record, actual))
}

/// The end of a day file.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Tail {
    /// Length up to and including the last newline; shorter than the file when the tail is torn.
    pub valid_len: u64,
    /// The last complete line, without its newline.
    pub last_line: Option<Vec<u8>>,
}

/// Reads backwards from the end until the last complete line is found.
pub(crate) fn read_tail(file: &File) -> io::Result<Tail> {
    let len = file.metadata()?.len();
    let mut start = len;
    let mut buf: Vec<u8> = Vec::new(); // the bytes [start, len)
    let mut chunk = 8 * 1024;
    loop {
        if let Some(end) = buf.iter().rposition(|&b| b == b'\n') {
            let valid_len = start + end as u64 + 1;
            if let Some(before) = buf[..end].iter().rposition(|&b| b == b'\n') {
                let last_line = Some(buf[before + 1..end].to_vec());
                return Ok(Tail {
                    valid_len,
                    last_line,
                });
            }
            if start == 0 {
                let last_line = Some(buf[..end].to_vec());
                return Ok(Tail {
                    valid_len,
                    last_line,
                });
            }
        } else if start == 0 {
            let last_line = None;
            return Ok(Tail {
                valid_len: 0,
                last_line,
            });
        }
        let n = chunk.min(start);
        start -= n;
        let mut more = vec![0; n as usize];
        file.read_exact_at(&mut more, start)?;
        more.extend_from_slice(&buf);
        buf = more;
        chunk = chunk.saturating_mul(2);
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;
    use crate::audit::event::{GENESIS, Outcome};
    use crate::policy::Class;

    fn event() -> Event {
        let mut e = Event::new("list_vms", Class::Read, Outcome::Allowed);
        e.arguments = serde_json::json!({ "node": "pve1", "ratio": 0.1 });
        e
    }

    #[test]
    fn encode_then_decode() {
        let (line, hash) = encode(1, GENESIS, &event()).unwrap();
        assert!(line.ends_with(&format!(",\"hash\":\"{hash}\"}}")), "{line}");
        let (record, actual) = decode(line.as_bytes()).unwrap();
        assert_eq!(actual, hash);
        assert_eq!(record.hash, hash);
        assert_eq!((record.seq, record.prev.as_str()), (1, GENESIS));
        assert_eq!(record.event.tool, "list_vms");

        let edited = line.replace("pve1", "pve2");
        let (_, actual) = decode(edited.as_bytes()).unwrap();
        assert_ne!(actual, hash);
        assert_eq!(
            decode(&line.as_bytes()[..40]).unwrap_err(),
            LineError::NoHash
        );
    }

    #[test]
    fn tail_finds_the_last_complete_line() {
        let check = |content: &[u8], valid_len: u64, last: Option<&[u8]>| {
            let mut f = tempfile::tempfile().unwrap();
            f.write_all(content).unwrap();
            let tail = read_tail(&f).unwrap();
            assert_eq!(tail.valid_len, valid_len, "{content:?}");
            assert_eq!(tail.last_line.as_deref(), last, "{content:?}");
        };
        check(b"", 0, None);
        check(b"torn", 0, None);
        check(b"a\n", 2, Some(b"a"));
        check(b"a\nbb\n", 5, Some(b"bb"));
        check(b"a\nbb\ntorn", 5, Some(b"bb"));
        let long = vec![b'x'; 50_000];
        let mut content = b"a\n".to_vec();
        content.extend_from_slice(&long);
        content.extend_from_slice(b"\nto");
        check(&content, 50_003, Some(&long));
    }
}
