//! Searching the log for `get_command_history`: filters, newest-first pages and a summary.

use std::collections::{BTreeMap, VecDeque};
use std::fmt;
use std::fs;
use std::io;
use std::time::SystemTime;

use serde::Serialize;

use super::event::{Outcome, Record, day_of};
use super::jsonl;
use super::retention::DayFile;

/// Which records to return. Every filter that is set must match; the default matches all.
#[derive(Debug, Clone, Default)]
pub struct Query {
    /// Events at or after this time.
    pub since: Option<SystemTime>,
    /// Events before this time.
    pub until: Option<SystemTime>,
    /// Exact tool name.
    pub tool: Option<String>,
    pub decision: Option<Outcome>,
    /// Case-insensitive substring of the client's `name/version`.
    pub client: Option<String>,
    /// Case-insensitive substring of the event as JSON (arguments, target, reason, result …).
    pub text: Option<String>,
    /// Only records older than this `seq`: the `next_cursor` of the previous page.
    pub cursor: Option<u64>,
    /// Page size; 0 means [`Query::DEFAULT_LIMIT`], at most [`Query::MAX_LIMIT`].
    pub limit: usize,
}

impl Query {
    pub const DEFAULT_LIMIT: usize = 50;
    pub const MAX_LIMIT: usize = 500;

    fn limit(&self) -> usize {
        match self.limit {
            0 => Self::DEFAULT_LIMIT,
            n => n.min(Self::MAX_LIMIT),
        }
    }

    /// Whether `record` passes every filter except the cursor.
    pub fn matches(&self, record: &Record) -> bool {
        let e = &record.event;
        let contains =
            |hay: &str, needle: &str| hay.to_lowercase().contains(&needle.to_lowercase());
        self.since.is_none_or(|t| e.time >= t)
            && self.until.is_none_or(|t| e.time < t)
            && self.tool.as_ref().is_none_or(|t| e.tool == *t)
            && self.decision.is_none_or(|d| e.decision == d)
            && self
                .client
                .as_ref()
                .is_none_or(|c| contains(&format!("{}/{}", e.client.name, e.client.version), c))
            && self
                .text
                .as_ref()
                .is_none_or(|t| serde_json::to_string(e).is_ok_and(|json| contains(&json, t)))
    }
}

/// Counts of the matching records, over all pages.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Summary {
    pub matched: usize,
    pub by_decision: BTreeMap<Outcome, usize>,
}

impl fmt::Display for Summary {
    /// `12 records: 9 allowed, 2 refused, 1 failed`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let noun = if self.matched == 1 {
            "record"
        } else {
            "records"
        };
        write!(f, "{} {noun}", self.matched)?;
        let mut sep = ": ";
        for (decision, n) in &self.by_decision {
            write!(f, "{sep}{n} {decision}")?;
            sep = ", ";
        }
        Ok(())
    }
}

/// One page of records, newest first.
#[derive(Debug, Clone, Serialize)]
pub struct Page {
    pub records: Vec<Record>,
    /// Pass as [`Query::cursor`] for the next (older) page; `None` on the last page.
    pub next_cursor: Option<u64>,
    pub summary: Summary,
}

/// Runs `q` over `files` (oldest first). Lines that are not records (a torn tail) are skipped.
pub(crate) fn run(files: &[DayFile], q: &Query) -> io::Result<Page> {
    let limit = q.limit();
    let since_day = q.since.map(day_of);
    let mut summary = Summary::default();
    // The newest `limit + 1` matches below the cursor, oldest at the front.
    let mut window = VecDeque::with_capacity(limit + 1);
    for file in files {
        // A file holds events up to the end of its day, so older days cannot match `since`.
        if since_day.is_some_and(|d| file.day < d) {
            continue;
        }
        let bytes = fs::read(&file.path)?;
        for line in bytes.split(|&b| b == b'\n') {
            let Ok((record, _)) = jsonl::decode(line) else {
                continue;
            };
            if !q.matches(&record) {
                continue;
            }
            summary.matched += 1;
            *summary
                .by_decision
                .entry(record.event.decision)
                .or_default() += 1;
            if q.cursor.is_none_or(|c| record.seq < c) {
                window.push_back(record);
                if window.len() > limit + 1 {
                    window.pop_front();
                }
            }
        }
    }
    let more = window.len() > limit;
    if more {
        window.pop_front();
    }
    let records: Vec<Record> = window.into_iter().rev().collect();
    let next_cursor = if more {
        records.last().map(|r| r.seq)
    } else {
        None
    };
    Ok(Page {
        records,
        next_cursor,
        summary,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summary_line() {
        let mut s = Summary::default();
        assert_eq!(s.to_string(), "0 records");
        s.matched = 3;
        s.by_decision.insert(Outcome::Refused, 1);
        s.by_decision.insert(Outcome::Allowed, 2);
        assert_eq!(s.to_string(), "3 records: 2 allowed, 1 refused");
    }
}
