//! Walking the whole log: every line re-hashed and checked against the record before it.
//!
//! Detected, each with file and line: an edited record (its bytes no longer match its `hash`),
//! removed records (a gap in `seq`), reordered ones (`seq` going back), a forged or re-hashed record
//! (`prev` not the previous `hash`), lines that are not records, and a torn line anywhere but at the
//! very end. A torn last line is not tampering: it is the record a killed writer was writing, and
//! is reported as [`VerifyReport::incomplete_tail`].
//!
//! The chain alone cannot tell that records are missing at either end, so it is compared with the
//! head pointer ([`super::head`]): records missing at the end (a truncated or removed newest file),
//! every record gone, records missing at the start that retention did not prune (the first record
//! is above the pointer's `floor`), and a last record that is not the one the pointer names. The
//! pointer one record behind the log is a writer killed between its two writes, not tampering.
//! After a crash of the host, records of reads that had not reached the disk may be missing at the
//! end, and the pointer may lag behind the log: both are noted, not reported, when the boot id
//! changed since the pointer was written.
//!
//! Limits: the chain is keyed by nothing, so someone who rewrites every record from some point on
//! and the head pointer with them is not detected; nor is removing the log together with the
//! pointer (it looks like a fresh log). The copy in the system journal is the witness for those.

use std::collections::BTreeSet;
use std::fmt;
use std::fs;

use serde::Serialize;

use super::event::GENESIS;
use super::head::{self, Found};
use super::jsonl;
use super::retention::DayFile;

/// A place in the log: the day file's name and a 1-based line number.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Location {
    pub file: String,
    pub line: usize,
}

impl fmt::Display for Location {
    /// `file:line`, or just `file` for the file as a whole (line 0).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            0 => f.write_str(&self.file),
            line => write!(f, "{}:{line}", self.file),
        }
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
    /// Records `first..=last` are gone from the end of the log: the head pointer says the log
    /// reached `last`.
    MissingAtEnd { first: u64, last: u64 },
    /// Records `first..=last` are gone from the start of the log, and retention did not prune
    /// them (the head pointer's floor is `first`).
    MissingAtStart { first: u64, last: u64 },
    /// No record is left although the head pointer says records `first..=last` were written.
    Emptied { first: u64, last: u64 },
    /// Record `seq` is not the one the head pointer names (its hash differs): rewritten.
    HeadMismatch { seq: u64 },
    /// The log goes on to record `log` but the head pointer stops at `head`: records were added
    /// without it (forged, or written by an older version).
    HeadBehind { head: u64, log: u64 },
    /// The head pointer file exists but cannot be read or is damaged.
    HeadDamaged { error: String },
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
            ProblemKind::MissingAtEnd { first, last } => write!(
                f,
                "{} removed from the end of the log (the head pointer says it reached record {last})",
                records(*first, *last)
            ),
            ProblemKind::MissingAtStart { first, last } => write!(
                f,
                "{} removed from the start of the log; retention did not prune them",
                records(*first, *last)
            ),
            ProblemKind::Emptied { first, last } => write!(
                f,
                "every record is gone: the head pointer says {} were written, no day file holds \
                 any",
                records(*first, *last)
            ),
            ProblemKind::HeadMismatch { seq } => write!(
                f,
                "record {seq} is not the record the head pointer names (its hash differs): \
                 rewritten"
            ),
            ProblemKind::HeadBehind { head, log } => write!(
                f,
                "the log goes on to record {log} but the head pointer stops at {head}: records \
                 {} to {log} were added without it (forged, or written by an older version)",
                head + 1
            ),
            ProblemKind::HeadDamaged { error } => {
                write!(f, "the head pointer is unreadable: {error}")
            }
        }
    }
}

/// `record 5` or `records 5 to 9`.
fn records(first: u64, last: u64) -> String {
    if first == last {
        format!("record {first}")
    } else {
        format!("records {first} to {last}")
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
    /// Things worth knowing that are neither tampering nor damage (a head pointer rebuilt after
    /// an upgrade, reads lost in a crash of the host).
    pub notes: Vec<String>,
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
        for note in &self.notes {
            writeln!(f, "note: {note}")?;
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

/// Walks `files` (oldest first) and compares the chain with the head pointer `head`, which lives
/// in the file `head_name`.
pub(crate) fn verify(files: &[DayFile], head: &Found, head_name: &str) -> VerifyReport {
    let mut report = VerifyReport {
        files: files.len(),
        ..VerifyReport::default()
    };
    // The last record that fits the chain: (seq, hash as stated in it).
    let mut last: Option<(u64, String)> = None;
    // The first record of the log and where it is.
    let mut first: Option<(u64, Location)> = None;
    // Where a record after the last line of the newest file would be.
    let mut end = Location {
        file: head_name.to_owned(),
        line: 0,
    };
    // The hash of the record the head pointer names, and where it is.
    let pointer = match head {
        Found::Present(p) => Some(p),
        _ => None,
    };
    let mut named: Option<(String, Location)> = None;
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
        end = at(lines.len() + 1);
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
            if first.is_none() {
                first = Some((record.seq, at(i + 1)));
            }
            if pointer.is_some_and(|p| p.seq == record.seq) {
                named = Some((record.hash.clone(), at(i + 1)));
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

    let floor = pointer.map_or(1, |p| p.floor.max(1));
    if let Some((seq, at)) = &first {
        if *seq > floor && pointer.is_some() {
            report.problems.push(Problem {
                at: at.clone(),
                kind: ProblemKind::MissingAtStart {
                    first: floor,
                    last: seq - 1,
                },
            });
        } else if *seq != 1 {
            report.starts_at = Some(*seq);
        }
    }
    let head_at = Location {
        file: head_name.to_owned(),
        line: 0,
    };
    match head {
        Found::Absent if report.records > 0 => report.notes.push(format!(
            "no head pointer ({head_name}): records removed from the end cannot be detected; \
             the next append or open creates it"
        )),
        Found::Absent => {}
        Found::Damaged(error) => report.problems.push(Problem {
            at: head_at,
            kind: ProblemKind::HeadDamaged {
                error: error.clone(),
            },
        }),
        Found::Present(p) => {
            let end_seq = last.as_ref().map_or(0, |(seq, _)| *seq);
            let rebooted = !head::same_boot(p.boot.as_deref());
            if end_seq < p.seq {
                if rebooted && end_seq >= p.synced {
                    report.notes.push(format!(
                        "{} (reads, not yet on disk) missing at the end: lost in a crash of \
                         the host, which has restarted since",
                        records(end_seq + 1, p.seq)
                    ));
                } else if last.is_none() {
                    report.problems.push(Problem {
                        at: head_at,
                        kind: ProblemKind::Emptied {
                            first: floor.min(p.seq),
                            last: p.seq,
                        },
                    });
                } else {
                    report.problems.push(Problem {
                        at: end,
                        kind: ProblemKind::MissingAtEnd {
                            first: end_seq + 1,
                            last: p.seq,
                        },
                    });
                }
            } else if end_seq > p.seq + 1 {
                if rebooted {
                    report.notes.push(format!(
                        "the head pointer ({}) lags behind the log ({end_seq}): it was not on \
                         disk yet when the host crashed",
                        p.seq
                    ));
                } else {
                    report.problems.push(Problem {
                        at: head_at.clone(),
                        kind: ProblemKind::HeadBehind {
                            head: p.seq,
                            log: end_seq,
                        },
                    });
                }
            }
            if end_seq >= p.seq
                && p.seq > 0
                && let Some((hash, at)) = named
                && hash != p.hash
            {
                report.problems.push(Problem {
                    at,
                    kind: ProblemKind::HeadMismatch { seq: p.seq },
                });
            }
        }
    }
    report
}
