//! A copy of every record in the system journal, over journald's native datagram protocol.
//!
//! Each record becomes one datagram to the journal's socket (`/run/systemd/journal/socket` by
//! default) with the fields `MESSAGE` (one readable line), `PRIORITY` (6, or 4 for refused,
//! declined and failed calls), `SYSLOG_IDENTIFIER=proxmox-mcp`, `PROXMOX_MCP_SEQ`,
//! `PROXMOX_MCP_HASH`, `PROXMOX_MCP_TOOL`, `PROXMOX_MCP_DECISION`, `PROXMOX_MCP_CLIENT` and
//! `PROXMOX_MCP_RECORD` (the JSON line as written to the day file). A value holding a newline is
//! framed as name, newline, its length as a little-endian u64, the bytes and a newline; any other
//! as `NAME=value` and a newline.
//!
//! The journal is a second witness that someone able to rewrite the day files cannot reach. It
//! is best effort: the socket is non-blocking, a host without a journal is skipped silently, and a
//! failed send is logged once and never fails the call. A datagram too large for the socket is
//! sent again with the record cut to [`RECORD_CUT`] bytes and `PROXMOX_MCP_RECORD_TRUNCATED=1`.

use std::borrow::Cow;
use std::io;
use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, Ordering};

use super::event::{Outcome, Record, Transport};

/// Where journald listens for native messages.
pub const DEFAULT_SOCKET: &str = "/run/systemd/journal/socket";
/// What a record field is cut to when the whole datagram was too large to send.
pub const RECORD_CUT: usize = 48 * 1024;

/// The system journal at one socket path.
#[derive(Debug)]
pub struct Journal {
    path: PathBuf,
    socket: OnceLock<Option<UnixDatagram>>,
    warned: AtomicBool,
}

impl Journal {
    pub fn new(path: &Path) -> Self {
        Self {
            path: path.to_owned(),
            socket: OnceLock::new(),
            warned: AtomicBool::new(false),
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Sends `record`, whose line in the day file is `line`. Never blocks, never fails.
    pub fn send(&self, record: &Record, line: &str) {
        let Some(socket) = self.socket() else {
            return;
        };
        let whole = encode(&fields(record, line, None));
        let Err(e) = socket.send_to(&whole, &self.path) else {
            return;
        };
        if !too_large(&e, whole.len()) {
            return self.failed(&e);
        }
        let cut = encode(&fields(record, line, Some(RECORD_CUT)));
        if let Err(e) = socket.send_to(&cut, &self.path) {
            self.failed(&e);
        }
    }

    fn socket(&self) -> Option<&UnixDatagram> {
        self.socket
            .get_or_init(|| {
                let socket = UnixDatagram::unbound().and_then(|s| {
                    s.set_nonblocking(true)?;
                    Ok(s)
                });
                socket.map_err(|e| self.failed(&e)).ok()
            })
            .as_ref()
    }

    /// Logs the first failure (a host without a journal is not one).
    fn failed(&self, e: &io::Error) {
        if e.kind() == io::ErrorKind::NotFound || self.warned.swap(true, Ordering::Relaxed) {
            return;
        }
        tracing::warn!(
            socket = %self.path.display(),
            error = %e,
            "audit: a record could not be copied to the system journal (further failures are \
             not logged); the audit log files still hold every record"
        );
    }
}

/// Whether a failed send of `len` bytes may succeed with the record cut: the datagram was too
/// large (EMSGSIZE, or ENOBUFS for a large buffer) rather than the journal being absent or busy.
fn too_large(e: &io::Error, len: usize) -> bool {
    use io::ErrorKind::*;
    len > RECORD_CUT
        && !matches!(
            e.kind(),
            NotFound | WouldBlock | ConnectionRefused | PermissionDenied
        )
}

/// The journal fields of `record`; the record field cut to `cut` bytes when given.
pub(crate) fn fields<'a>(
    record: &'a Record,
    line: &'a str,
    cut: Option<usize>,
) -> Vec<(&'static str, Cow<'a, str>)> {
    let e = &record.event;
    let priority = match e.decision {
        Outcome::Refused | Outcome::Declined | Outcome::Failed => "4",
        Outcome::Allowed | Outcome::Confirmed | Outcome::Pending => "6",
    };
    let transport = match (e.transport, &e.http_client) {
        (Transport::Http, Some(h)) => format!("http, token {}", h.token),
        (Transport::Http, None) => "http".to_string(),
        (Transport::Stdio, _) => "stdio".to_string(),
        (Transport::Cli, _) => "cli".to_string(),
    };
    let client = if e.client.version.is_empty() {
        e.client.name.clone()
    } else {
        format!("{}/{}", e.client.name, e.client.version)
    };
    let message = format!(
        "{} {} for {} ({transport}), audit record {}",
        e.tool,
        e.decision,
        if client.is_empty() {
            "an unnamed client"
        } else {
            &client
        },
        record.seq
    );
    // One line in `journalctl`: a client's name must not start a line of its own.
    let message: String = message
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let mut out = vec![
        ("MESSAGE", Cow::Owned(message)),
        ("PRIORITY", Cow::Borrowed(priority)),
        ("SYSLOG_IDENTIFIER", Cow::Borrowed("proxmox-mcp")),
        ("PROXMOX_MCP_SEQ", Cow::Owned(record.seq.to_string())),
        ("PROXMOX_MCP_HASH", Cow::Borrowed(record.hash.as_str())),
        ("PROXMOX_MCP_TOOL", Cow::Borrowed(e.tool.as_str())),
        ("PROXMOX_MCP_DECISION", Cow::Borrowed(e.decision.as_str())),
        ("PROXMOX_MCP_CLIENT", Cow::Owned(client)),
    ];
    if let Some(h) = &e.http_client {
        out.push(("PROXMOX_MCP_HTTP_TOKEN", Cow::Borrowed(h.token.as_str())));
    }
    match cut {
        Some(max) if line.len() > max => {
            let mut end = max;
            while !line.is_char_boundary(end) {
                end -= 1;
            }
            out.push(("PROXMOX_MCP_RECORD", Cow::Borrowed(&line[..end])));
            out.push(("PROXMOX_MCP_RECORD_TRUNCATED", Cow::Borrowed("1")));
        }
        _ => out.push(("PROXMOX_MCP_RECORD", Cow::Borrowed(line))),
    }
    out
}

/// One datagram of the native protocol.
pub(crate) fn encode(fields: &[(&str, Cow<'_, str>)]) -> Vec<u8> {
    let mut out = Vec::with_capacity(fields.iter().map(|(n, v)| n.len() + v.len() + 10).sum());
    for (name, value) in fields {
        out.extend_from_slice(name.as_bytes());
        if value.contains('\n') {
            out.push(b'\n');
            out.extend_from_slice(&(value.len() as u64).to_le_bytes());
        } else {
            out.push(b'=');
        }
        out.extend_from_slice(value.as_bytes());
        out.push(b'\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Reads a datagram back: `NAME=value\n`, or `NAME\n<u64 le><bytes>\n`.
    fn decode(mut d: &[u8]) -> Vec<(String, String)> {
        let mut out = Vec::new();
        while !d.is_empty() {
            let nl = d.iter().position(|&b| b == b'\n').unwrap();
            let head = &d[..nl];
            if let Some(eq) = head.iter().position(|&b| b == b'=') {
                let name = String::from_utf8(head[..eq].to_vec()).unwrap();
                out.push((name, String::from_utf8(head[eq + 1..].to_vec()).unwrap()));
                d = &d[nl + 1..];
            } else {
                let name = String::from_utf8(head.to_vec()).unwrap();
                let len = u64::from_le_bytes(d[nl + 1..nl + 9].try_into().unwrap()) as usize;
                let value = String::from_utf8(d[nl + 9..nl + 9 + len].to_vec()).unwrap();
                assert_eq!(d[nl + 9 + len], b'\n');
                out.push((name, value));
                d = &d[nl + 10 + len..];
            }
        }
        out
    }

    #[test]
    fn plain_and_binary_framing() {
        let cases: [(&str, &[u8]); 4] = [
            ("a", b"F=a\n"),
            ("", b"F=\n"),
            ("x=y", b"F=x=y\n"),
            ("1\n2", b"F\n\x03\0\0\0\0\0\0\x001\n2\n"),
        ];
        for (value, want) in cases {
            let fields = [("F", Cow::Borrowed(value))];
            let got = encode(&fields);
            assert_eq!(got, want, "{value:?}");
            assert_eq!(decode(&got), [("F".to_owned(), value.to_owned())]);
        }
    }

    #[test]
    fn fields_of_a_record() {
        use crate::audit::event::{Client, Event};
        use crate::policy::Class;
        let mut event = Event::new("execute_command", Class::Exec, Outcome::Refused);
        event.client = Client {
            name: "evil\nPRIORITY=0".into(),
            version: "1".into(),
        };
        let record = Record {
            seq: 7,
            prev: "0".repeat(64),
            event,
            hash: "ab".repeat(32),
        };
        let line = "{\"seq\":7,\"x\":\"ééé\"}";
        let got = decode(&encode(&fields(&record, line, None)));
        let get = |name: &str| got.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str());
        assert_eq!(
            get("MESSAGE"),
            Some("execute_command refused for evil PRIORITY=0/1 (stdio), audit record 7")
        );
        assert_eq!(get("PRIORITY"), Some("4"));
        assert_eq!(get("PROXMOX_MCP_CLIENT"), Some("evil\nPRIORITY=0/1"));
        assert_eq!(get("PROXMOX_MCP_RECORD"), Some(line));
        assert_eq!(got.iter().filter(|(n, _)| n == "PRIORITY").count(), 1);

        // Cut inside a two-byte character: back to the boundary before it.
        let cut = decode(&encode(&fields(&record, line, Some(17))));
        let record_field = cut.iter().find(|(n, _)| n == "PROXMOX_MCP_RECORD").unwrap();
        assert_eq!(record_field.1, "{\"seq\":7,\"x\":\"é");
        assert!(cut.contains(&("PROXMOX_MCP_RECORD_TRUNCATED".into(), "1".into())));
    }
}
