//! Where the bridge's log and the engine's stderr go: stderr always, and a file in the log
//! directory when one is set (rotated once at 16 MiB).

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

const FILE_NAME: &str = "mcp-http-bridge.log";
const ROTATE_AT: u64 = 16 * 1024 * 1024;

pub struct LogSink {
    file: Option<Mutex<(PathBuf, File)>>,
}

impl LogSink {
    pub fn open(dir: Option<&Path>) -> Result<LogSink, String> {
        let file = match dir {
            None => None,
            Some(d) => {
                let path = d.join(FILE_NAME);
                let f = open(&path)?;
                Some(Mutex::new((path, f)))
            }
        };
        Ok(LogSink { file })
    }

    /// One line, as is (the engine formats its own).
    pub fn line(&self, line: &str) {
        let _ = writeln!(std::io::stderr(), "{line}");
        self.to_file(format!("{line}\n").as_bytes());
    }

    fn to_file(&self, bytes: &[u8]) {
        let Some(m) = &self.file else { return };
        let mut guard = m.lock().unwrap_or_else(|e| e.into_inner());
        let (path, file) = &mut *guard;
        if file.metadata().map(|m| m.len()).unwrap_or(0) > ROTATE_AT {
            let _ = std::fs::rename(&*path, path.with_extension("log.1"));
            if let Ok(f) = open(path) {
                *file = f;
            }
        }
        let _ = file.write_all(bytes);
    }
}

fn open(path: &Path) -> Result<File, String> {
    use std::os::unix::fs::OpenOptionsExt as _;
    // Remote addresses, Host values and the engine's stderr: for the operator only.
    OpenOptions::new()
        .mode(0o600)
        .create(true)
        .append(true)
        .open(path)
        .map_err(|e| format!("{}: {e}", path.display()))
}

/// A `tracing` writer: stderr plus the log file.
pub struct Writer(pub std::sync::Arc<LogSink>);

impl Write for Writer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        std::io::stderr().write_all(buf)?;
        self.0.to_file(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        std::io::stderr().flush()
    }
}
