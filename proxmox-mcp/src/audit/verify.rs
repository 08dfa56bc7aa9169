//! Walking the whole log: every line re-hashed and checked against the record before it.
//!
//! Detected, each with file and line: an edited record (its bytes no longer match its `hash`),
//! removed records (a gap in `seq`), reordered ones (`seq` going back), a forged or re-hashed record
//! (`prev` not the previous `hash`), lines that are not records, and a torn line anywhere but at the
//! very end. A torn last line is not tampering: it is the record a killed writer was writing, and
//! is reported as [`VerifyReport::incomplete_tail`].
//!
//! Limits: the chain is keyed by nothing, so someone who rewrites every record from some point on,
//! or deletes whole files from the oldest end, is not detected; the first record of the oldest
//! file is trusted as the start when earlier ones were pruned ([`VerifyReport::starts_at`]).

use std::collections::BTreeSet;
use std::fmt;
use std::fs;

use serde::Serialize;

use super::event::GENESIS;
use super::jsonl;
use super::retention::DayFile;

/// A place in the log: the day file's name and a 1-based line number.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Location {
    pub file: String,
    pub line: usize,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.file, self.line)
    }
}

/// What is wrong at a [`Location`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum ProblemKind {
    /// The file could not be read.
    Unreadable { error: String },
    /// The line is not a record.
    Malformed { error: String },
    /// The record's bytes do not match its `hash`: it was edited.
    Edited,
    /// Records `first..=last` are missing before this one.
    Missing { first: u64, last: u64 },
    /// Records `first..=last` come after this one although they precede it.
    Reordered { first: u64, last: u64 },
    /// This record's `seq` is not after the previous one's.
    OutOfOrder { seq: u64, after: u64 },
    /// `prev` is not the previous record's `hash`: forged, or re-hashed after an edit.
    BrokenLink,
    /// A line without newline that is not at the end of the log.
    TornInside,
}

/// One finding of [`super::AuditLog::verify`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    pub at: Location,
    #[serde(flatten)]
    pub kind: ProblemKind,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: ", self.at)?;
        match &self.kind {
            ProblemKind::Unreadable { error } => write!(f, "cannot read the file: {error}"),
            ProblemKind::Malformed { error } => write!(f, "not a record ({error})"),
            ProblemKind::Edited => {
                f.write_str("record edited: its content does not match its hash")
            }
            ProblemKind::Missing { first, last } if first == last => {
                write!(f, "record {first} removed before this one")
            }
            ProblemKind::Missing { first, last } => {
                write!(f, "records {first} to {last} removed before this one")
            }
            ProblemKind::Reordered { first, last } => {
                write!(
                    f,
                    "records reordered: {first} to {last} appear after this one"
                )
            }
            ProblemKind::OutOfOrder { seq, after } => {
                write!(f, "record {seq} out of order (after record {after})")
            }
            ProblemKind::BrokenLink => {
                f.write_str("chain broken: prev is not the hash of the record before (forged?)")
            }
            ProblemKind::TornInside => f.write_str("incomplete record in the middle of the log"),
        }
    }
}

/// The outcome of a full walk.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct VerifyReport {
    /// Day files walked.
    pub files: usize,
    /// Complete records read.
    pub records: u64,
    /// Evidence of tampering or damage; empty when the chain is intact.
    pub problems: Vec<Problem>,
    /// The last line of the newest file is incomplete: a writer was killed mid-record. That record
    /// is lost; the next append removes it.
    pub incomplete_tail: Option<Location>,
    /// The oldest remaining record, when records before it were pruned.
    pub starts_at: Option<u64>,
}

impl VerifyReport {
    /// No tampering or damage (an incomplete last record is neither).
    pub fn is_intact(&self) -> bool {
        self.problems.is_empty()
    }
}

impl fmt::Display for VerifyReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for p in &self.problems {
            writeln!(f, "{p}")?;
        }
        if let Some(at) = &self.incomplete_tail {
            writeln!(
                f,
                "{at}: incomplete last record (a writer was killed mid-write; not tampering)"
            )?;
        }
        let verdict = if self.is_intact() {
            "intact"
        } else {
            "TAMPERED OR DAMAGED"
        };
        write!(
            f,
            "{} records in {} files: {verdict}",
            self.records, self.files
        )?;
        if let Some(seq) = self.starts_at {
            write!(f, " (starts at record {seq}; earlier ones pruned)")?;
        }
        Ok(())
    }
}

/// Walks `files` (oldest first).
pub(crate) fn verify(files: &[DayFile]) -> VerifyReport {
    let mut report = VerifyReport {
        files: files.len(),
        ..VerifyReport::default()
    };
    // The last record that fits the chain: (seq, hash as stated in it).
    let mut last: Option<(u64, String)> = None;
    let mut late = BTreeSet::new();
    for (index, file) in files.iter().enumerate() {
        let name = file.name();
        let at = |line| Location {
            file: name.clone(),
            line,
        };
        let bytes = match fs::read(&file.path) {
            Ok(b) => b,
            Err(e) => {
                let kind = ProblemKind::Unreadable {
                    error: e.to_string(),
                };
                report.problems.push(Problem { at: at(0), kind });
                continue;
            }
        };
        let mut lines: Vec<&[u8]> = bytes.split(|&b| b == b'\n').collect();
        let torn = lines.pop().is_some_and(|rest| !rest.is_empty());
        for (i, line) in lines.into_iter().enumerate() {
            let mut problem = |kind| {
                report.problems.push(Problem {
                    at: at(i + 1),
                    kind,
                })
            };
            let (record, actual) = match jsonl::decode(line) {
                Ok(r) => r,
                Err(e) => {
                    problem(ProblemKind::Malformed {
                        error: e.to_string(),
                    });
                    continue;
                }
            };
            report.records += 1;
            if actual != record.hash {
                problem(ProblemKind::Edited);
            }
            match &last {
                None if record.seq == 1 && record.prev != GENESIS => {
                    problem(ProblemKind::BrokenLink)
                }
                None if record.seq != 1 => report.starts_at = Some(record.seq),
                None => {}
                Some((seq, _)) if record.seq <= *seq => {
                    problem(ProblemKind::OutOfOrder {
                        seq: record.seq,
                        after: *seq,
                    });
                    late.insert(record.seq);
                    continue;
                }
                Some((seq, _)) if record.seq > seq + 1 => problem(ProblemKind::Missing {
                    first: seq + 1,
                    last: record.seq - 1,
                }),
                Some((_, hash)) if record.prev != *hash => problem(ProblemKind::BrokenLink),
                Some(_) => {}
            }
            last = Some((record.seq, record.hash));
        }
        if torn {
            let at = at(bytes.split(|&b| b == b'\n').count());
            if index + 1 == files.len() {
                report.incomplete_tail = Some(at);
            } else {
                report.problems.push(Problem {
                    at,
                    kind: ProblemKind::TornInside,
                });
            }
        }
    }
    // A "gap" whose records all turned up later was a reordering, not a removal.
    for p in &mut report.problems {
        if let ProblemKind::Missing { first, last } = p.kind
            && (first..=last).all(|s| late.contains(&s))
        {
            p.kind = ProblemKind::Reordered { first, last };
        }
    }
    report
}
