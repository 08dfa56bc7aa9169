//! Confirmations already answered (`<state>/spent-confirmations`): each is good once per host.
//!
//! A confirmation handed to an MCP client (the sealed `requestState`) carries a random nonce and
//! an expiry. Redeeming it records `NONCE EXPIRY_MS` as a line of this file (0600), under an
//! exclusive lock on `spent-confirmations.lock`, and `fdatasync`s it before the call may run; a
//! nonce already in the file is refused. The file is shared by every process on the host and
//! survives restarts, so a state cannot be replayed within its lifetime by restarting the server
//! or by sending it to a second one. Lines are kept [`KEEP_AFTER_EXPIRY`] past their expiry (a
//! clock stepped back cannot revive a state) and then dropped by the next redemption, which
//! rewrites the file atomically.
//!
//! Fail closed: when the file cannot be read, written or understood, nothing is redeemed.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write as _};
use std::os::unix::fs::OpenOptionsExt as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// File name of the spent confirmations inside the state directory.
pub const SPENT_FILE: &str = "spent-confirmations";
const LOCK_FILE: &str = "spent-confirmations.lock";
/// How long a spent nonce is kept after its expiry.
pub const KEEP_AFTER_EXPIRY: Duration = Duration::from_secs(60 * 60);

/// Why a confirmation could not be spent.
#[derive(Debug, thiserror::Error)]
pub enum SpendError {
    #[error("this confirmation was already used; each confirmation runs one call")]
    AlreadyUsed,
    #[error("malformed confirmation nonce")]
    Malformed,
    #[error(
        "cannot record the confirmation as used in {}: {source}; refusing it so that it can \
         never run twice",
        path.display()
    )]
    Io {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error(
        "{} is damaged at line {line} ({reason}); confirmations are refused until an operator \
         repairs or removes the file",
        path.display()
    )]
    Corrupt {
        path: PathBuf,
        line: usize,
        reason: String,
    },
}

/// The spent confirmations of one state directory.
#[derive(Debug, Clone)]
pub struct SpentStore {
    dir: PathBuf,
}

/// One line of the file.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Spent {
    nonce: String,
    expires_ms: u64,
}

impl SpentStore {
    /// The store of `state_dir`. Touches nothing: the files are created by the first spend.
    pub fn open(state_dir: impl AsRef<Path>) -> Self {
        Self {
            dir: state_dir.as_ref().to_owned(),
        }
    }

    /// Path of the file of spent nonces.
    pub fn path(&self) -> PathBuf {
        self.dir.join(SPENT_FILE)
    }

    /// Marks `nonce` (valid until `expires_ms`) as used, durably, at `now_ms`. Fails when it was
    /// used before, on this host, by any process.
    pub fn spend(&self, nonce: &str, expires_ms: u64, now_ms: u64) -> Result<(), SpendError> {
        if nonce.is_empty() || nonce.len() > 64 || !nonce.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(SpendError::Malformed);
        }
        let path = self.path();
        let io_err = |source| SpendError::Io {
            path: path.clone(),
            source,
        };
        super::ensure_private_dir(&self.dir).map_err(io_err)?;
        let _lock = super::lock_exclusive(&self.dir.join(LOCK_FILE)).map_err(io_err)?;
        let (entries, torn) = self.read()?;
        if entries.iter().any(|e| e.nonce == nonce) {
            return Err(SpendError::AlreadyUsed);
        }
        let keep_ms = KEEP_AFTER_EXPIRY.as_millis() as u64;
        let live: Vec<&Spent> = entries
            .iter()
            .filter(|e| e.expires_ms.saturating_add(keep_ms) > now_ms)
            .collect();
        let line = format!("{nonce} {expires_ms}\n");
        if torn || live.len() < entries.len() {
            let mut text: String = live
                .iter()
                .map(|e| format!("{} {}\n", e.nonce, e.expires_ms))
                .collect();
            text.push_str(&line);
            return super::write_atomic(&self.dir, SPENT_FILE, text.as_bytes()).map_err(io_err);
        }
        let created = !path.exists();
        let mut file = OpenOptions::new()
            .append(true)
            .create(true)
            .mode(0o600)
            .open(&path)
            .map_err(io_err)?;
        file.write_all(line.as_bytes()).map_err(io_err)?;
        file.sync_data().map_err(io_err)?;
        if created {
            File::open(&self.dir)
                .and_then(|d| d.sync_all())
                .map_err(io_err)?;
        }
        Ok(())
    }

    /// The lines of the file, and whether its last line is torn (a writer killed mid-line: that
    /// spend never returned, so its call never ran).
    fn read(&self) -> Result<(Vec<Spent>, bool), SpendError> {
        let path = self.path();
        let text = match fs::read(&path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok((Vec::new(), false)),
            Err(source) => return Err(SpendError::Io { path, source }),
        };
        let corrupt = |line: usize, reason: &str| SpendError::Corrupt {
            path: path.clone(),
            line,
            reason: reason.to_owned(),
        };
        let text = std::str::from_utf8(&text).map_err(|_| corrupt(0, "not text"))?;
        let torn = !text.is_empty() && !text.ends_with('\n');
        let mut lines: Vec<&str> = text.split('\n').collect();
        lines.pop(); // after the last newline: empty, or the torn line
        let entries = lines
            .iter()
            .enumerate()
            .map(|(i, line)| {
                let (nonce, expires) = line
                    .split_once(' ')
                    .ok_or_else(|| corrupt(i + 1, "expected `NONCE EXPIRY_MS`"))?;
                let hex = !nonce.is_empty() && nonce.bytes().all(|b| b.is_ascii_hexdigit());
                let expires_ms = expires.parse().ok().filter(|_| hex).ok_or_else(|| {
                    corrupt(i + 1, "expected a hex nonce and a number of milliseconds")
                })?;
                Ok(Spent {
                    nonce: nonce.to_owned(),
                    expires_ms,
                })
            })
            .collect::<Result<_, _>>()?;
        Ok((entries, torn))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: u64 = 1_800_000_000_000;
    const HOUR: u64 = 3_600_000;

    #[test]
    fn a_nonce_is_spent_once_and_kept_past_its_expiry() {
        let tmp = tempfile::tempdir().unwrap();
        let store = SpentStore::open(tmp.path().join("state"));
        store.spend("aa", NOW + 600_000, NOW).unwrap();
        store.spend("bb", NOW + 600_000, NOW).unwrap();
        // Another handle (another process) sees them.
        let other = SpentStore::open(tmp.path().join("state"));
        assert!(matches!(
            other.spend("aa", NOW + 600_000, NOW),
            Err(SpendError::AlreadyUsed)
        ));
        // Past expiry but within the grace: still refused.
        assert!(matches!(
            other.spend("bb", NOW + 600_000, NOW + 600_000 + HOUR - 1),
            Err(SpendError::AlreadyUsed)
        ));
        // Past the grace: pruned by the next spend, which rewrites the file.
        other.spend("cc", NOW + 2 * HOUR, NOW + 2 * HOUR).unwrap();
        let text = fs::read_to_string(store.path()).unwrap();
        assert_eq!(text, format!("cc {}\n", NOW + 2 * HOUR));
        use std::os::unix::fs::PermissionsExt as _;
        let mode = fs::metadata(store.path()).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }

    #[test]
    fn damage_fails_closed_but_a_torn_tail_is_dropped() {
        let cases: [(&str, &str, Option<&str>); 6] = [
            ("torn tail", "aa 1900000000000\nbb 19", None),
            ("empty", "", None),
            ("no expiry", "aa\n", Some("line 1")),
            ("bad number", "aa 1x\n", Some("line 1")),
            ("not hex", "zz 1900000000000\n", Some("line 1")),
            ("second line", "aa 1900000000000\n\n", Some("line 2")),
        ];
        for (name, content, error) in cases {
            let tmp = tempfile::tempdir().unwrap();
            let store = SpentStore::open(tmp.path());
            fs::write(store.path(), content).unwrap();
            let result = store.spend("cc", NOW + 600_000, NOW);
            match error {
                None => {
                    result.unwrap_or_else(|e| panic!("{name}: {e}"));
                    let text = fs::read_to_string(store.path()).unwrap();
                    assert!(text.ends_with(&format!("cc {}\n", NOW + 600_000)), "{name}");
                    assert!(!text.contains("bb"), "{name}: {text}");
                }
                Some(at) => {
                    let e = result.unwrap_err().to_string();
                    assert!(e.contains(at) && e.contains("damaged"), "{name}: {e}");
                }
            }
        }
        // Unreadable (a directory where the file should be): refused, with the path.
        let tmp = tempfile::tempdir().unwrap();
        let store = SpentStore::open(tmp.path());
        fs::create_dir(store.path()).unwrap();
        let e = store.spend("cc", NOW + 600_000, NOW).unwrap_err();
        assert!(matches!(e, SpendError::Io { .. }), "{e}");
        assert!(e.to_string().contains(SPENT_FILE), "{e}");
        assert!(matches!(
            store.spend("not hex!", NOW, NOW),
            Err(SpendError::Malformed)
        ));
    }
}
