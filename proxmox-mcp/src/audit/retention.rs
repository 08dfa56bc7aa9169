//! Day files (`audit-YYYY-MM-DD.jsonl`, UTC) and deleting those past retention.
//!
//! A file expires when its whole day lies more than the retention before `now`: with 7 days, the
//! file of day D goes once `now` passes D+8 00:00. The newest file is never deleted, even when
//! expired: its last record is the head of the hash chain, which the next record links to.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use super::event::{day_start, format_day, parse_day};

/// One day's file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct DayFile {
    pub day: i64,
    pub path: PathBuf,
}

impl DayFile {
    pub fn name(&self) -> String {
        file_name(self.day)
    }
}

pub(crate) fn file_name(day: i64) -> String {
    format!("audit-{}.jsonl", format_day(day))
}

pub(crate) fn parse_file_name(name: &str) -> Option<i64> {
    parse_day(name.strip_prefix("audit-")?.strip_suffix(".jsonl")?)
}

/// The day files in `dir`, oldest first. Other files are ignored.
pub(crate) fn list(dir: &Path) -> io::Result<Vec<DayFile>> {
    let mut files = Vec::new();
    for entry in fs::read_dir(dir)? {
        let entry = entry?;
        let day = entry.file_name().to_str().and_then(parse_file_name);
        if let Some(day) = day {
            files.push(DayFile {
                day,
                path: entry.path(),
            });
        }
    }
    files.sort_by_key(|f| f.day);
    Ok(files)
}

/// The days among `days` (sorted, oldest first) to delete at `now`.
pub(crate) fn expired(days: &[i64], now: SystemTime, retention: Duration) -> Vec<i64> {
    let keep_newest = days.len().saturating_sub(1);
    days[..keep_newest]
        .iter()
        .copied()
        .filter(|&day| day_start(day + 1) + retention <= now)
        .collect()
}

/// Deletes `files` (the expired ones: see [`expired`]).
pub(crate) fn remove(files: &[DayFile]) -> io::Result<()> {
    for file in files {
        fs::remove_file(&file.path)?;
        tracing::info!(file = %file.path.display(), "audit: pruned day file past retention");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::event::parse_time;

    #[test]
    fn file_names() {
        assert_eq!(file_name(20_454), "audit-2026-01-01.jsonl");
        assert_eq!(parse_file_name("audit-2026-01-01.jsonl"), Some(20_454));
        for other in [
            "audit.lock",
            "audit-2026-01-01.jsonl.tmp",
            "x-2026-01-01.jsonl",
        ] {
            assert_eq!(parse_file_name(other), None, "{other}");
        }
    }

    #[test]
    fn expiry() {
        let week = Duration::from_secs(7 * 86_400);
        let check = |now: &str, days: &[i64], expected: &[i64]| {
            let now = parse_time(now).unwrap();
            assert_eq!(expired(days, now, week), expected, "{days:?}");
        };
        // 20_454 is 2026-01-01; its day ends 2026-01-02 00:00, expires a week later.
        let d = 20_454;
        check("2026-01-09T00:00:00Z", &[d, d + 8], &[d]);
        check("2026-01-08T23:59:59Z", &[d, d + 7], &[]);
        check(
            "2026-01-20T00:00:00Z",
            &[d - 1, d, d + 7, d + 12],
            &[d - 1, d, d + 7],
        );
        // The newest file carries the chain head and stays.
        check("2026-03-01T00:00:00Z", &[d, d + 1], &[d]);
        check("2026-03-01T00:00:00Z", &[], &[]);
    }
}
