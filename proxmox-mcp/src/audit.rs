//! The audit log: every call, append-only, hash-chained, one JSON-lines file per UTC day.
//!
//! [`AuditLog`] owns a directory (`<state_dir>/audit`, mode 0700) of `audit-YYYY-MM-DD.jsonl`
//! files (mode 0600). Each [`Record`] carries a global `seq` and the hash of the record before it,
//! across day files, so [`AuditLog::verify`] finds edited, removed and reordered records
//! ([`jsonl`] describes the line format). Arguments and free text are [`redact`]ed before writing.
//!
//! **The head pointer** (`<state_dir>/audit.head`, beside the directory; [`head`]) says where the
//! log ended at the last append and which records pruning removed, so `verify` also finds records
//! missing at either end: a truncated or deleted newest file, every file deleted, old files
//! deleted before their time. An append that finds records missing at the end continues the
//! numbering after them, so the gap stays in the chain for good.
//!
//! **The system journal** gets a copy of every record when the host has one ([`journal`]).
//!
//! **Several processes** (the stdio server, the HTTP bridge's children, the CLI) may append at
//! once: every append holds an exclusive `flock` on `audit.lock` while it reads the chain head,
//! writes its line and updates the head pointer; readers take it shared.
//!
//! **Durability over speed**: after each record the file is `fdatasync`ed (and the directory
//! `fsync`ed when a day file is created), then the head pointer, before [`AuditLog::append`]
//! returns, so a record is on disk before the tool call proceeds. Records of plain reads use
//! [`AuditLog::append_unsynced`]: written at once (the head pointer too), flushed by the next
//! synced record. A crash or `kill -9` can only lose the record being written; its torn bytes
//! are reported by `verify` as an incomplete last record and truncated by the next append (that
//! record was never acknowledged).
//!
//! **Retention** (7 days by default): expired day files are deleted at [`AuditLog::open`] and by
//! the first [`AuditLog::append`] of each UTC day ([`retention`]), after the head pointer's floor
//! was moved past their records.

pub mod event;
pub mod head;
pub mod journal;
pub mod jsonl;
pub mod query;
pub mod redact;
pub mod retention;
pub mod verify;

use std::fs::{self, DirBuilder, File, OpenOptions};
use std::io::{self, BufRead as _, BufReader, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, SystemTime};

pub use event::{Client, Event, GENESIS, HttpClient, Outcome, Record, Transport};
pub use query::{Page, Query, Summary};
pub use verify::{Location, Problem, ProblemKind, VerifyReport};

use event::day_of;
use head::{Found, HeadPointer};
use journal::Journal;
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
    /// `<dir>.head`: the head pointer, beside the directory.
    head_path: PathBuf,
    retention: Duration,
    /// `audit.lock`: flock'ed across processes, the mutex orders this handle's own threads.
    lock: Mutex<File>,
    /// The UTC day `append` last pruned on.
    pruned_day: AtomicI64,
    /// Where records are copied to, if anywhere.
    journal: Option<Journal>,
    /// Set when `open` had to create the head pointer of a log that already had records.
    created_head: Option<String>,
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

    /// Opens (creating, mode 0700) the log in `dir`, creates its head pointer if there is none
    /// (a log written before there were head pointers) and deletes day files past `retention`.
    /// Records are not copied to the system journal unless [`with_journal`](Self::with_journal)
    /// says where it is.
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
        let mut log = Self {
            dir: dir.to_owned(),
            head_path: head_path(dir),
            retention,
            lock: Mutex::new(lock),
            pruned_day: AtomicI64::new(i64::MIN),
            journal: None,
            created_head: None,
        };
        log.created_head = log.ensure_head();
        let now = SystemTime::now();
        log.prune(now)?;
        log.pruned_day.store(day_of(now), Ordering::Relaxed);
        Ok(log)
    }

    /// Copies every record from now on to the system journal listening at `socket` (none: off).
    pub fn with_journal(mut self, socket: Option<&Path>) -> Self {
        self.journal = socket.map(Journal::new);
        self
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The head pointer file (`<dir>.head`).
    pub fn head_path(&self) -> &Path {
        &self.head_path
    }

    /// The journal socket records are copied to, if any.
    pub fn journal_socket(&self) -> Option<&Path> {
        self.journal.as_ref().map(Journal::path)
    }

    pub fn retention(&self) -> Duration {
        self.retention
    }

    /// Redacts and writes `event` now; prunes first if this is the first append of a new day.
    /// Returns once the record is on disk.
    pub fn append(&self, event: &Event) -> Result<Record, AuditError> {
        let now = SystemTime::now();
        self.prune_daily(now);
        self.write(event, now, true)
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
        self.prune_daily(now);
        self.write(event, now, false)
    }

    /// Prunes if this is the first append of the UTC day of `now`.
    fn prune_daily(&self, now: SystemTime) {
        let today = day_of(now);
        if self.pruned_day.swap(today, Ordering::Relaxed) != today
            && let Err(e) = self.prune(now)
        {
            // Keeping old files a day longer must not stop the audit of the call.
            tracing::warn!(error = %e, "audit: pruning failed");
        }
    }

    fn write(&self, event: &Event, now: SystemTime, sync: bool) -> Result<Record, AuditError> {
        let event = event.redacted();
        let _locked = self.lock(true)?;
        let files = retention::list(&self.dir).map_err(io_err(&self.dir))?;
        let chain = self.head(&files)?;
        let pointer = head::read(&self.head_path)
            .unwrap_or_else(|e| Found::Damaged(format!("cannot read it: {e}")));
        let after = self.continue_from(&pointer, chain, &files);
        let newest = files.last().map_or(i64::MIN, |f| f.day);
        let path = self.dir.join(retention::file_name(day_of(now).max(newest)));
        let seq = after.seq + 1;
        let (line, hash) = jsonl::encode(seq, &after.hash, &event)?;
        let created = !path.exists();
        let mut file = OpenOptions::new()
            .create(true)
            .append(true)
            .mode(0o600)
            .open(&path)
            .map_err(io_err(&path))?;
        let mut bytes = Vec::with_capacity(line.len() + 1);
        bytes.extend_from_slice(line.as_bytes());
        bytes.push(b'\n');
        file.write_all(&bytes).map_err(io_err(&path))?;
        if sync {
            file.sync_data().map_err(io_err(&path))?;
            if created {
                File::open(&self.dir)
                    .and_then(|d| d.sync_all())
                    .map_err(io_err(&self.dir))?;
            }
            // Unsynced records before this one may sit in the previous day's file.
            let previous = if created {
                files.last()
            } else {
                files.len().checked_sub(2).map(|i| &files[i])
            };
            if after.synced + 1 < seq
                && let Some(previous) = previous
            {
                File::open(&previous.path)
                    .and_then(|f| f.sync_data())
                    .map_err(io_err(&previous.path))?;
            }
        }
        let pointer = HeadPointer {
            seq,
            hash: hash.clone(),
            floor: after.floor,
            synced: if sync { seq } else { after.synced },
            boot: head::boot_id(),
        };
        if let Err(e) = head::write(&self.head_path, &pointer, sync) {
            // The record itself is written; `verify` will show the pointer lagging behind.
            tracing::warn!(
                file = %self.head_path.display(),
                error = %e,
                "audit: the head pointer could not be updated"
            );
        }
        let record = Record {
            seq,
            prev: after.hash,
            event,
            hash,
        };
        if let Some(journal) = &self.journal {
            journal.send(&record, &line);
        }
        Ok(record)
    }

    /// Where the next record goes on from: the end of the chain, unless the head pointer says
    /// records are missing there. Then the numbering continues after the missing ones (linked
    /// to the last hash the pointer saw), so the gap stays visible to `verify` for good.
    fn continue_from(&self, pointer: &Found, chain: Head, files: &[DayFile]) -> After {
        match pointer {
            Found::Present(p) if p.seq > chain.seq => {
                let lost = format!("records {} to {}", chain.seq + 1, p.seq);
                if !head::same_boot(p.boot.as_deref()) && chain.seq >= p.synced {
                    tracing::warn!(
                        "audit: {lost} (reads, not yet on disk) were lost in a crash of the host"
                    );
                    return After {
                        seq: chain.seq,
                        hash: chain.hash,
                        floor: p.floor,
                        synced: chain.seq,
                    };
                }
                tracing::error!(
                    "audit: {lost} are missing from the end of the log (removed?); the next \
                     record continues after them so the gap stays on record; run \
                     `proxmox-mcp audit verify`"
                );
                After {
                    seq: p.seq,
                    hash: p.hash.clone(),
                    floor: p.floor,
                    synced: p.synced,
                }
            }
            Found::Present(p) => After {
                seq: chain.seq,
                hash: chain.hash,
                floor: p.floor,
                synced: p.synced,
            },
            Found::Absent | Found::Damaged(_) => {
                if let Found::Damaged(e) = pointer {
                    tracing::warn!(
                        file = %self.head_path.display(),
                        "audit: the head pointer is damaged ({e}); it is rebuilt from the log"
                    );
                }
                let floor = first_seq(files).unwrap_or(chain.seq + 1);
                After {
                    seq: chain.seq,
                    hash: chain.hash,
                    floor,
                    synced: 0,
                }
            }
        }
    }

    /// Creates the head pointer from the log when there is none; returns a note for `verify`
    /// when the log already had records (the first open after an upgrade, or it was deleted).
    fn ensure_head(&self) -> Option<String> {
        let created = (|| -> Result<Option<u64>, AuditError> {
            let _locked = self.lock(true)?;
            if head::read(&self.head_path).map_err(io_err(&self.head_path))? != Found::Absent {
                return Ok(None);
            }
            let files = retention::list(&self.dir).map_err(io_err(&self.dir))?;
            let end = chain_end(&files)?;
            let pointer = HeadPointer {
                seq: end.seq,
                hash: end.hash,
                floor: first_seq(&files).unwrap_or(end.seq + 1),
                synced: end.seq,
                boot: head::boot_id(),
            };
            head::write(&self.head_path, &pointer, true).map_err(io_err(&self.head_path))?;
            Ok(Some(end.seq))
        })();
        match created {
            Ok(Some(seq)) if seq > 0 => {
                tracing::warn!(
                    file = %self.head_path.display(),
                    "audit: the log had no head pointer; created it from the log"
                );
                Some(format!(
                    "the head pointer was missing and has been created from the log at record \
                     {seq} (expected once, after an upgrade; otherwise it was deleted, and records \
                     removed before now cannot be detected)"
                ))
            }
            Ok(_) => None,
            Err(e) => {
                tracing::warn!(error = %e, "audit: cannot create the head pointer");
                None
            }
        }
    }

    /// Walks every day file, oldest first, checks the chain and compares it with the head
    /// pointer.
    pub fn verify(&self) -> VerifyReport {
        let _locked = self.lock(false);
        let pointer = head::read(&self.head_path)
            .unwrap_or_else(|e| Found::Damaged(format!("cannot read it: {e}")));
        let head_name = self
            .head_path
            .file_name()
            .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
        let mut report = match retention::list(&self.dir) {
            Ok(files) => verify::verify(&files, &pointer, &head_name),
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
        };
        if let Some(note) = &self.created_head {
            report.notes.insert(0, note.clone());
        }
        report
    }

    /// Records matching `q`, newest first, one page at a time, with a summary of all matches.
    pub fn query(&self, q: &Query) -> Result<Page, AuditError> {
        let _locked = self.lock(false)?;
        let files = retention::list(&self.dir).map_err(io_err(&self.dir))?;
        query::run(&files, q).map_err(io_err(&self.dir))
    }

    /// Deletes day files past retention at `now` (never the newest); returns how many. The head
    /// pointer's floor is moved past their records first (and synced), so `verify` knows they
    /// were pruned, not removed.
    pub fn prune(&self, now: SystemTime) -> Result<usize, AuditError> {
        let _locked = self.lock(true)?;
        let files = retention::list(&self.dir).map_err(io_err(&self.dir))?;
        let days: Vec<i64> = files.iter().map(|f| f.day).collect();
        let doomed_days = retention::expired(&days, now, self.retention);
        let (doomed, kept): (Vec<DayFile>, Vec<DayFile>) = files
            .into_iter()
            .partition(|f| doomed_days.contains(&f.day));
        let Some(newest_doomed) = doomed.last() else {
            return Ok(0);
        };
        // The first record after the doomed files; if their last one is unreadable, the first
        // record that stays.
        let floor = chain_end(std::slice::from_ref(newest_doomed))
            .ok()
            .filter(|end| end.seq > 0)
            .map(|end| end.seq + 1)
            .or_else(|| first_seq(&kept));
        if let (Found::Present(mut pointer), Some(floor)) = (
            head::read(&self.head_path).map_err(io_err(&self.head_path))?,
            floor,
        ) && floor > pointer.floor
        {
            pointer.floor = floor;
            head::write(&self.head_path, &pointer, true).map_err(io_err(&self.head_path))?;
        }
        retention::remove(&doomed).map_err(io_err(&self.dir))?;
        Ok(doomed.len())
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

/// Where an append goes on from, and what the head pointer keeps.
struct After {
    seq: u64,
    hash: String,
    floor: u64,
    synced: u64,
}

/// `<parent>/<name>.head` for the log directory `<parent>/<name>`.
fn head_path(dir: &Path) -> PathBuf {
    match dir.file_name() {
        Some(name) => {
            let mut file = name.to_os_string();
            file.push(".head");
            dir.with_file_name(file)
        }
        None => dir.join("audit.head"),
    }
}

/// The last complete record of the newest file that has one, without changing anything.
fn chain_end(files: &[DayFile]) -> Result<Head, AuditError> {
    for file in files.iter().rev() {
        let path = &file.path;
        let f = File::open(path).map_err(io_err(path))?;
        let tail = jsonl::read_tail(&f).map_err(io_err(path))?;
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

/// The `seq` of the first readable record, oldest file first.
fn first_seq(files: &[DayFile]) -> Option<u64> {
    files.iter().find_map(|file| {
        let reader = BufReader::new(File::open(&file.path).ok()?);
        reader
            .split(b'\n')
            .map_while(Result::ok)
            .find_map(|line| jsonl::decode(&line).ok().map(|(r, _)| r.seq))
    })
}
