//! At most one update check a day: the last successful check's result is kept in a stamp file in
//! the state directory (`update-check.json`) and answered from there until it is a day old,
//! unless the caller forces a new check. `get_mcp_info` shows the same stamp.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// How long a check's answer is reused.
pub const PERIOD_SECS: u64 = 86_400;

/// The stamp file's name in the state directory.
pub const FILE: &str = "update-check.json";

/// What the last check found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Stamp {
    /// Unix time of the check
    pub checked_at: u64,
    /// The source asked (URL or git remote)
    pub source: String,
    /// The version that was running
    pub current: String,
    /// The newest release offered, if any
    pub latest: Option<String>,
    pub update_available: bool,
}

pub fn path(state_dir: &Path) -> PathBuf {
    state_dir.join(FILE)
}

/// The last check, if one was recorded and is readable.
pub fn read(state_dir: &Path) -> Option<Stamp> {
    let text = std::fs::read(path(state_dir)).ok()?;
    serde_json::from_slice(&text).ok()
}

/// Records a check (replaced atomically: a temporary file renamed over the old one).
pub fn write(state_dir: &Path, stamp: &Stamp) -> std::io::Result<()> {
    std::fs::create_dir_all(state_dir)?;
    let tmp = state_dir.join(format!(".{FILE}.tmp"));
    let body = serde_json::to_vec_pretty(stamp).map_err(std::io::Error::other)?;
    std::fs::write(&tmp, body)?;
    std::fs::rename(&tmp, path(state_dir))
}

/// Whether `stamp` still answers a check of `source` by `current` at `now` (unix seconds).
pub fn still_fresh(stamp: &Stamp, source: &str, current: &str, now: u64) -> bool {
    stamp.source == source
        && stamp.current == current
        && now >= stamp.checked_at
        && now - stamp.checked_at < PERIOD_SECS
}

pub fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stamp() -> Stamp {
        Stamp {
            checked_at: 1_000_000,
            source: "https://f/releases.json".into(),
            current: "0.1.0".into(),
            latest: Some("0.2.0".into()),
            update_available: true,
        }
    }

    #[test]
    fn fresh_for_a_day_of_the_same_source_and_version() {
        let s = stamp();
        let check = |src: &str, cur: &str, now: u64, want: bool| {
            assert_eq!(still_fresh(&s, src, cur, now), want, "{src} {cur} {now}");
        };
        check(&s.source, "0.1.0", 1_000_000, true);
        check(&s.source, "0.1.0", 1_000_000 + PERIOD_SECS - 1, true);
        check(&s.source, "0.1.0", 1_000_000 + PERIOD_SECS, false);
        check("https://mirror/r.json", "0.1.0", 1_000_001, false);
        check(&s.source, "0.2.0", 1_000_001, false);
        check(&s.source, "0.1.0", 999_999, false);
    }

    #[test]
    fn round_trips_on_disk() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(read(dir.path()), None);
        write(dir.path(), &stamp()).unwrap();
        assert_eq!(read(dir.path()), Some(stamp()));
    }
}
