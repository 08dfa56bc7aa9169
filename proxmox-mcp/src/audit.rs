//! The audit log: every call, append-only, hash-chained, one JSON-lines file per UTC day.
//!
//! [`AuditLog`] owns a directory (`<state_dir>/audit`, mode 0700) of `audit-YYYY-MM-DD.jsonl`
//! files (mode 0600). Each [`Record`] carries a global `seq` and the hash of the record before it,
//! across day files, so [`AuditLog::verify`] finds edited, removed and reordered records
//! ([`jsonl`] describes the line format). Arguments and free text are [`redact`]ed before writing.
//!
//! **Several processes** (the stdio server, the HTTP bridge's children, the CLI) may append at
//! once: every append holds an exclusive `flock` on `audit.lock` while it reads the chain head
//! and writes its line; readers take it shared.
//!
//! **Durability over speed**: after each record the file is `fdatasync`ed (and the directory
//! `fsync`ed when a day file is created) before [`AuditLog::append`] returns, so a record is on
//! disk before the tool call proceeds. Records of plain reads use
//! [`AuditLog::append_unsynced`]: written at once, flushed by the next synced record. A crash or `kill -9` can only lose the record being written;
//! its torn bytes are reported by `verify` as an incomplete last record and truncated by the next
//! append (that record was never acknowledged).
//!
//! **Retention** (7 days by default): expired day files are deleted at [`AuditLog::open`] and by
//! the first [`AuditLog::append`] of each UTC day ([`retention`]).

pub mod event;
pub mod jsonl;
pub mod query;
pub mod redact;
pub mod retention;
pub mod verify;

use std::fs::{self, DirBuilder, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, SystemTime};

pub use event::{Client, Event, GENESIS, Outcome, Record, Transport};
pub use query::{Page, Query, Summary};
pub use verify::{Location, Problem, ProblemKind, VerifyReport};

use event::day_of;
use retention::DayFile;

/// Why the log could not be written or read.
#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    #[error("audit log {}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    /// The newest record cannot be read, so nothing can be chained to it. Writing stops (fail
    /// closed) until an operator looks: `proxmox-mcp audit verify` shows where.
    #[error("audit log {}: the last record is unreadable ({reason}); run `proxmox-mcp audit verify`", path.display())]
    CorruptHead { path: PathBuf, reason: String },
    #[error("cannot encode an audit record: {0}")]
    Encode(#[from] serde_json::Error),
}

fn io_err(path: &Path) -> impl FnOnce(io::Error) -> AuditError + '_ {
    move |source| AuditError::Io {
        path: path.to_owned(),
        source,
    }
}

/// The audit log in one directory. Cheap to share between threads (`&self` everywhere).
#[derive(Debug)]
pub struct AuditLog {
    dir: PathBuf,
    retention: Duration,
    /// `audit.lock`: flock'ed across processes, the mutex orders this handle's own threads.
    lock: Mutex<File>,
    /// The UTC day `append` last pruned on.
    pruned_day: AtomicI64,
}

/// The end of the chain: what the next record links to.
struct Head {
    seq: u64,
    hash: String,
}

/// Holds the file lock; releases it when dropped, even on panic.
struct Locked<'a>(MutexGuard<'a, File>);

impl Drop for Locked<'_> {
    fn drop(&mut self) {
        let _ = self.0.unlock();
    }
}

impl AuditLog {
    pub const DEFAULT_RETENTION: Duration = Duration::from_secs(7 * 86_400);
    const LOCK_FILE: &str = "audit.lock";

    /// Opens (creating, mode 0700) the log in `dir` and deletes day files past `retention`.
    pub fn open(dir: &Path, retention: Duration) -> Result<Self, AuditError> {
        DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .map_err(io_err(dir))?;
        fs::set_permissions(dir, fs::Permissions::from_mode(0o700)).map_err(io_err(dir))?;
        let lock_path = dir.join(Self::LOCK_FILE);
        let lock = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .mode(0o600)
            .open(&lock_path)
            .map_err(io_err(&lock_path))?;
        let log = Self {
            dir: dir.to_owned(),
            retention,
            lock: Mutex::new(lock),
            pruned_day: AtomicI64::new(i64::MIN),
        };
        let now = SystemTime::now();
        log.prune(now)?;
        log.pruned_day.store(day_of(now), Ordering::Relaxed);
        Ok(log)
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn retention(&self) -> Duration {
        self.retention
    }

    /// Redacts and writes `event` now; prunes first if this is the first append of a new day.
    /// Returns once the record is on disk.
    pub fn append(&self, event: &Event) -> Result<Record, AuditError> {
        let now = SystemTime::now();
        let today = day_of(now);
        if self.pruned_day.swap(today, Ordering::Relaxed) != today
            && let Err(e) = self.prune(now)
        {
            // Keeping old files a day longer must not stop the audit of the call.
            tracing::warn!(error = %e, "audit: pruning failed");
        }
        self.append_at(event, now)
    }

    /// [`append`](Self::append) with the clock given: the record goes to `now`'s day file (or
    /// to the newest file, should the clock have gone back). Does not prune.
    pub fn append_at(&self, event: &Event, now: SystemTime) -> Result<Record, AuditError> {
        self.write(event, now, true)
    }

    /// [`append`](Self::append) without waiting for the disk: for records of reads, which
    /// change nothing. The record is in the file (and the chain) at once; it reaches the disk
    /// with the next synced append (fdatasync covers every earlier write to the file) or when
    /// the kernel writes it back. A crash may lose such records, never corrupt the chain.
    pub fn append_unsynced(&self, event: &Event) -> Result<Record, AuditError> {
        let now = SystemTime::now();
        let today = day_of(now);
        if self.pruned_day.swap(today, Ordering::Relaxed) != today
            && let Err(e) = self.prune(now)
        {
            tracing::warn!(error = %e, "audit: pruning failed");
        }
        self.write(event, now, false)
    }

    fn write(&self, event: &Event, now: SystemTime, sync: bool) -> Result<Record, AuditError> {
        let event = event.redacted();
        let _locked = self.lock(true)?;
        let files = retention::list(&self.dir).map_err(io_err(&self.dir))?;
        let head = self.head(&files)?;
        let newest = files.last().map_or(i64::MIN, |f| f.day);
        let path = self.dir.join(retention::file_name(day_of(now).max(newest)));
        let seq = head.seq + 1;
        let (line, hash) = jsonl::encode(seq, &head.hash, &event)?;
        let created = !path.exists();
        let mut file = OpenOptions::new()
            .create(true)
            .append(true)
            .mode(0o600)
            .open(&path)
            .map_err(io_err(&path))?;
        let mut bytes = line.into_bytes();
        bytes.push(b'\n');
        file.write_all(&bytes).map_err(io_err(&path))?;
        if !sync {
            return Ok(Record {
                seq,
                prev: head.hash,
                event,
                hash,
            });
        }
        file.sync_data().map_err(io_err(&path))?;
        if created {
            File::open(&self.dir)
                .and_then(|d| d.sync_all())
                .map_err(io_err(&self.dir))?;
        }
        Ok(Record {
            seq,
            prev: head.hash,
            event,
            hash,
        })
    }

    /// Walks every day file, oldest first, and checks the chain.
    pub fn verify(&self) -> VerifyReport {
        let _locked = self.lock(false);
        match retention::list(&self.dir) {
            Ok(files) => verify::verify(&files),
            Err(e) => VerifyReport {
                problems: vec![Problem {
                    at: Location {
                        file: self.dir.display().to_string(),
                        line: 0,
                    },
                    kind: ProblemKind::Unreadable {
                        error: e.to_string(),
                    },
                }],
                ..VerifyReport::default()
            },
        }
    }

    /// Records matching `q`, newest first, one page at a time, with a summary of all matches.
    pub fn query(&self, q: &Query) -> Result<Page, AuditError> {
        let _locked = self.lock(false)?;
        let files = retention::list(&self.dir).map_err(io_err(&self.dir))?;
        query::run(&files, q).map_err(io_err(&self.dir))
    }

    /// Deletes day files past retention at `now` (never the newest); returns how many.
    pub fn prune(&self, now: SystemTime) -> Result<usize, AuditError> {
        let _locked = self.lock(true)?;
        retention::prune(&self.dir, now, self.retention).map_err(io_err(&self.dir))
    }

    fn lock(&self, exclusive: bool) -> Result<Locked<'_>, AuditError> {
        let guard = self.lock.lock().unwrap_or_else(|e| e.into_inner());
        let taken = if exclusive {
            guard.lock()
        } else {
            guard.lock_shared()
        };
        taken.map_err(io_err(&self.dir.join(Self::LOCK_FILE)))?;
        Ok(Locked(guard))
    }

    /// The last complete record, newest file first; truncates a torn tail on the way.
    fn head(&self, files: &[DayFile]) -> Result<Head, AuditError> {
        for file in files.iter().rev() {
            let path = &file.path;
            let f = OpenOptions::new()
                .read(true)
                .write(true)
                .open(path)
                .map_err(io_err(path))?;
            let tail = jsonl::read_tail(&f).map_err(io_err(path))?;
            let len = f.metadata().map_err(io_err(path))?.len();
            if tail.valid_len < len {
                tracing::warn!(
                    file = %path.display(),
                    bytes = len - tail.valid_len,
                    "audit: removing an incomplete record left by a killed writer"
                );
                f.set_len(tail.valid_len).map_err(io_err(path))?;
                f.sync_data().map_err(io_err(path))?;
            }
            if let Some(line) = tail.last_line {
                let (record, _) = jsonl::decode(&line).map_err(|e| AuditError::CorruptHead {
                    path: path.clone(),
                    reason: e.to_string(),
                })?;
                return Ok(Head {
                    seq: record.seq,
                    hash: record.hash,
                });
            }
        }
        Ok(Head {
            seq: 0,
            hash: GENESIS.to_owned(),
        })
    }
}
