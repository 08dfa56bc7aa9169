//! The persisted mode (`<state>/mode`), shared by every process on the host.
//!
//! Absent file: `safe` (the default). A file that cannot be read or does not hold exactly one of
//! `read-only`, `safe`, `normal` means `read-only`, the safest, and [`ModeStatus::fallback`] says
//! why. Reads are cheap: the file is only re-read when its inode, size or mtime changed, so a
//! long-running server can call [`ModeStore::get`] on every request and still see a change made
//! by another process (`proxmox-mcp mode normal`) at once.

use std::fmt;
use std::fs;
use std::io;
use std::os::unix::fs::MetadataExt as _;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::Mutex;

/// File name of the mode inside the state directory.
pub const MODE_FILE: &str = "mode";
const LOCK_FILE: &str = "mode.lock";

/// The mode as stored on disk. Kept apart from the policy's own mode type so the store does not
/// depend on the policy module; converting is `as_str` / `parse`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum StoredMode {
    /// Write tools are hidden and refused.
    ReadOnly,
    /// Every mutation needs human confirmation (the default).
    #[default]
    Safe,
    /// Mutations run; destructive ones need confirmation.
    Normal,
}

impl StoredMode {
    /// Every mode, safest first.
    pub const ALL: [StoredMode; 3] = [StoredMode::ReadOnly, StoredMode::Safe, StoredMode::Normal];

    /// The name on disk and on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            StoredMode::ReadOnly => "read-only",
            StoredMode::Safe => "safe",
            StoredMode::Normal => "normal",
        }
    }
}

impl fmt::Display for StoredMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for StoredMode {
    type Err = ModeError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        StoredMode::ALL
            .into_iter()
            .find(|m| m.as_str() == s)
            .ok_or_else(|| ModeError::Unknown(s.to_owned()))
    }
}

/// Errors from parsing or storing a mode.
#[derive(Debug, thiserror::Error)]
pub enum ModeError {
    #[error("unknown mode {0:?}: expected one of read-only, safe, normal")]
    Unknown(String),
    #[error("cannot write the mode to {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
}

/// The effective mode and, when it is a fallback to `read-only`, why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModeStatus {
    pub mode: StoredMode,
    /// Set when the mode file could not be read or understood and `read-only` was assumed.
    pub fallback: Option<String>,
}

/// Identity of one version of the mode file: changes whenever the file is replaced or edited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ModeVersion(Option<(u64, u64, u64, i64, i64)>);

/// The mode file of one state directory. Cheap to clone the path; safe to share across threads.
#[derive(Debug)]
pub struct ModeStore {
    dir: PathBuf,
    cache: Mutex<Option<(ModeVersion, ModeStatus)>>,
}

impl ModeStore {
    /// The mode of `state_dir`. Touches nothing: the directory is created on the first `set`.
    pub fn open(state_dir: impl AsRef<Path>) -> Self {
        Self {
            dir: state_dir.as_ref().to_path_buf(),
            cache: Mutex::new(None),
        }
    }

    /// Path of the mode file.
    pub fn path(&self) -> PathBuf {
        self.dir.join(MODE_FILE)
    }

    /// The effective mode (see [`ModeStore::status`] for the fallback reason).
    pub fn get(&self) -> StoredMode {
        self.status().mode
    }

    /// The effective mode and why it fell back to `read-only`, if it did. Re-reads the file only
    /// when it changed since the last call.
    pub fn status(&self) -> ModeStatus {
        let version = self.version();
        let mut cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((v, status)) = cache.as_ref()
            && *v == version
        {
            return status.clone();
        }
        let status = self.read();
        // Stamp with the version seen *before* reading: a change racing the read is seen next time.
        *cache = Some((version, status.clone()));
        status
    }

    /// The current version of the mode file (a `stat`, no read).
    pub fn version(&self) -> ModeVersion {
        ModeVersion(
            fs::metadata(self.path())
                .ok()
                .map(|m| (m.dev(), m.ino(), m.size(), m.mtime(), m.mtime_nsec())),
        )
    }

    /// Whether the mode file changed since `version` was taken (by this or any other process).
    pub fn changed_since(&self, version: &ModeVersion) -> bool {
        self.version() != *version
    }

    /// Store `mode` for every process on the host; returns the mode it replaced.
    pub fn set(&self, mode: StoredMode) -> Result<StoredMode, ModeError> {
        let io_err = |source| ModeError::Io {
            path: self.path(),
            source,
        };
        super::ensure_private_dir(&self.dir).map_err(io_err)?;
        let _lock = super::lock_exclusive(&self.dir.join(LOCK_FILE)).map_err(io_err)?;
        let previous = self.read().mode;
        super::write_atomic(&self.dir, MODE_FILE, format!("{mode}\n").as_bytes())
            .map_err(io_err)?;
        Ok(previous)
    }

    fn read(&self) -> ModeStatus {
        let path = self.path();
        match fs::read(&path) {
            Err(e) if e.kind() == io::ErrorKind::NotFound => ModeStatus {
                mode: StoredMode::default(),
                fallback: None,
            },
            Err(e) => read_only(format!("cannot read {}: {e}", path.display())),
            Ok(bytes) => match std::str::from_utf8(&bytes)
                .ok()
                .and_then(|s| s.trim().parse::<StoredMode>().ok())
            {
                Some(mode) => ModeStatus {
                    mode,
                    fallback: None,
                },
                None => read_only(format!(
                    "{} does not hold one of read-only, safe, normal (found {:?})",
                    path.display(),
                    String::from_utf8_lossy(&bytes[..bytes.len().min(40)])
                )),
            },
        }
    }
}

fn read_only(reason: String) -> ModeStatus {
    ModeStatus {
        mode: StoredMode::ReadOnly,
        fallback: Some(format!("{reason}; assuming read-only")),
    }
}

// The policy's mode is what is stored: state depends on policy, never the other way round.
impl From<StoredMode> for crate::policy::mode::Mode {
    fn from(m: StoredMode) -> Self {
        use crate::policy::mode::Mode;
        match m {
            StoredMode::ReadOnly => Mode::ReadOnly,
            StoredMode::Safe => Mode::Safe,
            StoredMode::Normal => Mode::Normal,
        }
    }
}

impl From<crate::policy::mode::Mode> for StoredMode {
    fn from(m: crate::policy::mode::Mode) -> Self {
        use crate::policy::mode::Mode;
        match m {
            Mode::ReadOnly => StoredMode::ReadOnly,
            Mode::Safe => StoredMode::Safe,
            Mode::Normal => StoredMode::Normal,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(content: Option<&str>, want: StoredMode, fallback: bool) {
        let dir = tempfile::tempdir().unwrap();
        if let Some(c) = content {
            fs::write(dir.path().join(MODE_FILE), c).unwrap();
        }
        let status = ModeStore::open(dir.path()).status();
        assert_eq!(status.mode, want, "content {content:?}");
        assert_eq!(status.fallback.is_some(), fallback, "content {content:?}");
    }

    #[test]
    fn reads_the_file() {
        check(None, StoredMode::Safe, false);
        check(Some("normal\n"), StoredMode::Normal, false);
        check(Some("  read-only  \n"), StoredMode::ReadOnly, false);
        check(Some("safe"), StoredMode::Safe, false);
        check(Some(""), StoredMode::ReadOnly, true);
        check(Some("Normal"), StoredMode::ReadOnly, true);
        check(Some("normal\nsafe\n"), StoredMode::ReadOnly, true);
        check(Some("\u{0}"), StoredMode::ReadOnly, true);
    }

    #[test]
    fn parse_round_trips_and_rejects_unknown() {
        for m in StoredMode::ALL {
            assert_eq!(m.as_str().parse::<StoredMode>().unwrap(), m);
        }
        let err = "yolo".parse::<StoredMode>().unwrap_err().to_string();
        assert!(err.contains("read-only, safe, normal"), "{err}");
    }

    #[test]
    fn cache_sees_a_replaced_file() {
        let dir = tempfile::tempdir().unwrap();
        let store = ModeStore::open(dir.path());
        let v0 = store.version();
        assert_eq!(store.get(), StoredMode::Safe);
        assert!(!store.changed_since(&v0));
        ModeStore::open(dir.path()).set(StoredMode::Normal).unwrap();
        assert!(store.changed_since(&v0));
        assert_eq!(store.get(), StoredMode::Normal);
    }
}
