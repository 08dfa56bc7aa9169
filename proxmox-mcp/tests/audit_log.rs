//! The audit log against real files: chain across days, tampering, kill -9, concurrency, retention,
//! secrets and queries.

use std::fs;
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use proxmox_mcp::audit::head::{self, Found, HeadPointer};
use proxmox_mcp::audit::{
    AuditLog, Client, Event, GENESIS, Outcome, ProblemKind, Query, Transport, VerifyReport,
};
use proxmox_mcp::policy::Class;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

const DAY: Duration = Duration::from_secs(86_400);
const WEEK: Duration = Duration::from_secs(7 * 86_400);
/// Set in a child process: the directory `child_writer` appends to.
const CHILD_DIR: &str = "PROXMOX_MCP_AUDIT_CHILD_DIR";
/// Set in a child process: how many records to append (unset: until killed).
const CHILD_COUNT: &str = "PROXMOX_MCP_AUDIT_CHILD_COUNT";

/// Noon (UTC) of the day `offset` days from today.
fn noon(offset: i64) -> SystemTime {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let today = secs - secs % 86_400;
    UNIX_EPOCH + Duration::from_secs((today + offset * 86_400 + 43_200) as u64)
}

fn event(tool: &str, decision: Outcome) -> Event {
    let mut e = Event::new(tool, Class::Lifecycle, decision);
    e.client = Client {
        name: "claude-code".into(),
        version: "2.1.0".into(),
    };
    e.transport = Transport::Stdio;
    e.arguments = json!({ "node": "pve1", "vmid": 100 });
    e.target = Some("qemu/100@pve1".into());
    e.mode = "safe".into();
    e
}

/// The log directory in a test's temp dir; its head pointer goes beside it (`audit.head`).
fn audit_dir(tmp: &tempfile::TempDir) -> PathBuf {
    tmp.path().join("audit")
}

fn open(dir: &Path) -> AuditLog {
    AuditLog::open(dir, AuditLog::DEFAULT_RETENTION).unwrap()
}

/// The day files in `dir`, oldest first (none before a writer created `dir`).
fn day_files(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = entries
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "jsonl"))
        .collect();
    files.sort();
    files
}

fn name(path: &Path) -> String {
    path.file_name().unwrap().to_string_lossy().into_owned()
}

/// Rewrites the complete lines of a file.
fn edit_lines(path: &Path, f: impl FnOnce(&mut Vec<String>)) {
    let text = fs::read_to_string(path).unwrap();
    let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
    f(&mut lines);
    fs::write(path, lines.join("\n") + "\n").unwrap();
}

/// A line with a valid hash over whatever `record` says (what a forger who knows the format writes).
fn forge(mut record: Value) -> String {
    record.as_object_mut().unwrap().remove("hash");
    let body = record.to_string();
    let hash = hex::encode(Sha256::digest(body.as_bytes()));
    format!("{},\"hash\":\"{hash}\"}}", &body[..body.len() - 1])
}

/// (file, line, kind) of every problem.
fn problems(report: &VerifyReport) -> Vec<(String, usize, ProblemKind)> {
    let found = report.problems.iter();
    found
        .map(|p| (p.at.file.clone(), p.at.line, p.kind.clone()))
        .collect()
}

/// Six records: three yesterday, three today.
fn two_day_log() -> (tempfile::TempDir, AuditLog, [PathBuf; 2]) {
    let tmp = tempfile::tempdir().unwrap();
    let log = open(&audit_dir(&tmp));
    for i in 1..=6 {
        let at = if i <= 3 { noon(-1) } else { noon(0) };
        log.append_at(&event(&format!("tool-{i}"), Outcome::Allowed), at)
            .unwrap();
    }
    let files = day_files(&audit_dir(&tmp));
    assert_eq!(files.len(), 2);
    let files = [files[0].clone(), files[1].clone()];
    (tmp, log, files)
}

#[test]
fn round_trip_across_two_day_files() {
    let tmp = tempfile::tempdir().unwrap();
    let log = open(&audit_dir(&tmp));
    let mut records = Vec::new();
    for (i, at) in [noon(-1), noon(-1), noon(-1), noon(0), noon(0)]
        .into_iter()
        .enumerate()
    {
        records.push(
            log.append_at(&event(&format!("t{i}"), Outcome::Allowed), at)
                .unwrap(),
        );
    }
    // A clock that went back still writes to the newest file.
    records.push(
        log.append_at(&event("late", Outcome::Failed), noon(-1))
            .unwrap(),
    );

    let files = day_files(&audit_dir(&tmp));
    let names: Vec<String> = files.iter().map(|f| name(f)).collect();
    assert_eq!(names.len(), 2, "{names:?}");
    assert!(names[0].starts_with("audit-") && names[0] < names[1]);
    let counts: Vec<usize> = files
        .iter()
        .map(|f| fs::read_to_string(f).unwrap().lines().count())
        .collect();
    assert_eq!(counts, [3, 3]);

    assert_eq!(records[0].prev, GENESIS);
    for pair in records.windows(2) {
        assert_eq!(pair[1].seq, pair[0].seq + 1);
        assert_eq!(pair[1].prev, pair[0].hash, "record {}", pair[1].seq);
    }
    // The first record of today links to the last of yesterday's file.
    let first_today: Value = serde_json::from_str(
        fs::read_to_string(&files[1])
            .unwrap()
            .lines()
            .next()
            .unwrap(),
    )
    .unwrap();
    assert_eq!(first_today["seq"], 4);
    assert_eq!(first_today["prev"], records[2].hash.as_str());
    assert_eq!(first_today["decision"], "allowed");
    assert_eq!(first_today["class"], "lifecycle");
    assert_eq!(first_today["client"]["name"], "claude-code");
    assert!(first_today["time"].as_str().unwrap().ends_with('Z'));

    let report = log.verify();
    assert!(report.is_intact(), "{report}");
    assert_eq!((report.files, report.records), (2, 6));
    assert_eq!(report.incomplete_tail, None);
    assert_eq!(report.starts_at, None);
}

#[test]
fn tampering_is_reported_with_file_and_line() {
    // An edited field in a middle record.
    let (_tmp, log, [day1, _]) = two_day_log();
    edit_lines(&day1, |l| l[1] = l[1].replace("\"tool-2\"", "\"tool-X\""));
    assert_eq!(
        problems(&log.verify()),
        [(name(&day1), 2, ProblemKind::Edited)]
    );

    // The same edit with the hash recomputed: the next record no longer links to it.
    let (_tmp, log, [day1, _]) = two_day_log();
    edit_lines(&day1, |l| {
        let mut v: Value = serde_json::from_str(&l[1]).unwrap();
        v["tool"] = json!("tool-X");
        l[1] = forge(v);
    });
    assert_eq!(
        problems(&log.verify()),
        [(name(&day1), 3, ProblemKind::BrokenLink)]
    );

    // A removed record.
    let (_tmp, log, [day1, _]) = two_day_log();
    edit_lines(&day1, |l| {
        l.remove(1);
    });
    let missing = ProblemKind::Missing { first: 2, last: 2 };
    assert_eq!(problems(&log.verify()), [(name(&day1), 2, missing)]);

    // Two records swapped.
    let (_tmp, log, [_, day2]) = two_day_log();
    edit_lines(&day2, |l| l.swap(0, 1));
    let report = log.verify();
    assert_eq!(
        problems(&report),
        [
            (name(&day2), 1, ProblemKind::Reordered { first: 4, last: 4 }),
            (name(&day2), 2, ProblemKind::OutOfOrder { seq: 4, after: 5 }),
        ]
    );
    let text = report.to_string();
    assert!(
        text.contains(&format!("{}:1: records reordered", name(&day2))),
        "{text}"
    );

    // A forged record appended with a wrong prev (but a hash that matches its content).
    let (_tmp, log, [_, day2]) = two_day_log();
    edit_lines(&day2, |l| {
        let mut v: Value = serde_json::from_str(&l[2]).unwrap();
        v["seq"] = json!(7);
        v["prev"] = json!("ab".repeat(32));
        v["tool"] = json!("forged");
        l.push(forge(v));
    });
    assert_eq!(
        problems(&log.verify()),
        [(name(&day2), 4, ProblemKind::BrokenLink)]
    );

    // A line that is not a record.
    let (_tmp, log, [day1, _]) = two_day_log();
    edit_lines(&day1, |l| l.insert(1, "{\"seq\": 2}".into()));
    let report = log.verify();
    assert!(
        matches!(&problems(&report)[..], [(f, 2, ProblemKind::Malformed { .. })] if *f == name(&day1)),
        "{report}"
    );
}

#[test]
fn a_torn_last_line_is_reported_then_replaced() {
    let (_tmp, log, [_, day2]) = two_day_log();
    let full = fs::read_to_string(&day2).unwrap();
    let last = full.lines().last().unwrap().to_owned();
    fs::write(&day2, format!("{full}{}", &last[..last.len() / 2])).unwrap();

    let report = log.verify();
    assert!(report.is_intact(), "{report}");
    assert_eq!(report.records, 6);
    let tail = report.incomplete_tail.clone().expect("torn tail reported");
    assert_eq!((tail.file, tail.line), (name(&day2), 4));
    assert!(
        report.to_string().contains("incomplete last record"),
        "{report}"
    );

    // The next append drops the torn bytes and links to the last complete record.
    let record = log
        .append_at(&event("after", Outcome::Allowed), noon(0))
        .unwrap();
    assert_eq!(record.seq, 7);
    let sixth: Value = serde_json::from_str(&last).unwrap();
    assert_eq!(record.prev, sixth["hash"].as_str().unwrap());
    let report = log.verify();
    assert!(report.is_intact(), "{report}");
    assert_eq!((report.records, report.incomplete_tail), (7, None));
}

/// The head pointer beside the log of `tmp`.
fn head_file(tmp: &tempfile::TempDir) -> PathBuf {
    tmp.path().join("audit.head")
}

/// Rewrites the head pointer of `tmp` through `f`.
fn edit_head(tmp: &tempfile::TempDir, f: impl FnOnce(&mut HeadPointer)) {
    let Found::Present(mut p) = head::read(&head_file(tmp)).unwrap() else {
        panic!("no head pointer");
    };
    f(&mut p);
    head::write(&head_file(tmp), &p, true).unwrap();
}

/// A boot id that is not this boot's.
const OTHER_BOOT: &str = "00000000-1111-2222-3333-444444444444";

#[test]
fn removed_and_truncated_records_are_found_at_either_end() {
    type Tamper = fn(&tempfile::TempDir, &[PathBuf; 2]);
    /// The one problem expected, given the names of the two day files.
    type Expect = fn(&[String; 2]) -> (String, usize, ProblemKind);
    #[rustfmt::skip]
    let cases: [(&str, Tamper, Expect, &str); 10] = [
        ("the last record cut from the newest file",
            |_, [_, d2]| edit_lines(d2, |l| { l.pop(); }),
            |[_, d2]| (d2.clone(), 3, ProblemKind::MissingAtEnd { first: 6, last: 6 }),
            "record 6 removed from the end of the log"),
        ("the last two records cut",
            |_, [_, d2]| edit_lines(d2, |l| l.truncate(1)),
            |[_, d2]| (d2.clone(), 2, ProblemKind::MissingAtEnd { first: 5, last: 6 }),
            "records 5 to 6 removed from the end"),
        ("the newest file truncated to nothing",
            |_, [_, d2]| fs::write(d2, "").unwrap(),
            |[_, d2]| (d2.clone(), 1, ProblemKind::MissingAtEnd { first: 4, last: 6 }),
            "records 4 to 6 removed from the end"),
        ("the newest file deleted",
            |_, [_, d2]| fs::remove_file(d2).unwrap(),
            |[d1, _]| (d1.clone(), 4, ProblemKind::MissingAtEnd { first: 4, last: 6 }),
            "records 4 to 6 removed from the end"),
        ("every day file deleted",
            |_, files| files.iter().for_each(|f| fs::remove_file(f).unwrap()),
            |_| ("audit.head".into(), 0, ProblemKind::Emptied { first: 1, last: 6 }),
            "every record is gone"),
        ("the oldest file deleted (retention did not)",
            |_, [d1, _]| fs::remove_file(d1).unwrap(),
            |[_, d2]| (d2.clone(), 1, ProblemKind::MissingAtStart { first: 1, last: 3 }),
            "retention did not prune them"),
        ("the first record cut",
            |_, [d1, _]| edit_lines(d1, |l| { l.remove(0); }),
            |[d1, _]| (d1.clone(), 1, ProblemKind::MissingAtStart { first: 1, last: 1 }),
            "record 1 removed from the start"),
        ("the last record rewritten with a matching hash",
            |_, [_, d2]| edit_lines(d2, |l| {
                let mut v: Value = serde_json::from_str(&l[2]).unwrap();
                v["tool"] = json!("innocent");
                l[2] = forge(v);
            }),
            |[_, d2]| (d2.clone(), 3, ProblemKind::HeadMismatch { seq: 6 }),
            "not the record the head pointer names"),
        ("records appended without the head pointer",
            |_, [_, d2]| edit_lines(d2, |l| {
                for seq in [7, 8] {
                    let last: Value = serde_json::from_str(l.last().unwrap()).unwrap();
                    let mut v = last.clone();
                    v["seq"] = json!(seq);
                    v["prev"] = last["hash"].clone();
                    l.push(forge(v));
                }
            }),
            |_| ("audit.head".into(), 0, ProblemKind::HeadBehind { head: 6, log: 8 }),
            "records 7 to 8 were added without it"),
        ("the head pointer damaged",
            |tmp, _| fs::write(head_file(tmp), "seq=999\n").unwrap(),
            |_| ("audit.head".into(), 0, ProblemKind::HeadDamaged { error: "no check sum".into() }),
            "the head pointer is unreadable"),
    ];
    for (case, tamper, want, text) in cases {
        if case.contains("appended without") && head::boot_id().is_none() {
            continue; // without a boot id, a lag may be a crash of the host: only a note
        }
        let (tmp, log, files) = two_day_log();
        assert!(log.verify().is_intact(), "{case}: {}", log.verify());
        tamper(&tmp, &files);
        let report = log.verify();
        let names = [name(&files[0]), name(&files[1])];
        assert_eq!(problems(&report), [want(&names)], "{case}: {report}");
        let shown = report.to_string();
        assert!(shown.contains(text), "{case}: {shown}");
        assert!(shown.ends_with("TAMPERED OR DAMAGED"), "{case}: {shown}");
        // A fresh handle (what `proxmox-mcp audit verify` opens) sees the same.
        assert_eq!(
            problems(&open(&audit_dir(&tmp)).verify()),
            problems(&report),
            "{case}"
        );
    }
}

#[test]
fn an_append_after_a_truncation_keeps_the_gap_on_record() {
    let (tmp, log, [_, day2]) = two_day_log();
    let sixth: Value =
        serde_json::from_str(fs::read_to_string(&day2).unwrap().lines().last().unwrap()).unwrap();
    edit_lines(&day2, |l| l.truncate(1));
    let next = log
        .append_at(&event("after", Outcome::Allowed), noon(0))
        .unwrap();
    assert_eq!(
        next.seq, 7,
        "the numbering goes on after the missing records"
    );
    assert_eq!(next.prev, sixth["hash"].as_str().unwrap());
    let report = log.verify();
    assert_eq!(
        problems(&report),
        [(name(&day2), 2, ProblemKind::Missing { first: 5, last: 6 })],
        "{report}"
    );
    // For good: more appends and another handle still see the gap.
    log.append(&event("later", Outcome::Allowed)).unwrap();
    assert!(!open(&audit_dir(&tmp)).verify().is_intact());
}

#[test]
fn a_writer_killed_between_record_and_head_pointer_is_not_tampering() {
    let (tmp, log, _) = two_day_log();
    let before = fs::read(head_file(&tmp)).unwrap();
    log.append_at(&event("seventh", Outcome::Allowed), noon(0))
        .unwrap();
    // The record is written, the pointer still names the record before.
    fs::write(head_file(&tmp), &before).unwrap();
    let report = log.verify();
    assert!(report.is_intact(), "{report}");
    assert_eq!(report.records, 7);
    assert!(report.notes.is_empty(), "{:?}", report.notes);
    // The next append puts the pointer right.
    log.append(&event("eighth", Outcome::Allowed)).unwrap();
    let Found::Present(p) = head::read(&head_file(&tmp)).unwrap() else {
        panic!("no head pointer")
    };
    assert_eq!((p.seq, p.synced, p.floor), (8, 8, 1));
}

#[test]
fn reads_lost_in_a_crash_of_the_host_are_noted_not_reported() {
    let known_boot = head::boot_id().is_some();
    let setup = || {
        let tmp = tempfile::tempdir().unwrap();
        let log = open(&audit_dir(&tmp));
        log.append(&event("change", Outcome::Allowed)).unwrap();
        for _ in 0..2 {
            log.append_unsynced(&event("read", Outcome::Allowed))
                .unwrap();
        }
        let Found::Present(p) = head::read(&head_file(&tmp)).unwrap() else {
            panic!("no head pointer")
        };
        assert_eq!((p.seq, p.synced), (3, 1));
        (tmp, log)
    };
    let file = |tmp: &tempfile::TempDir| day_files(&audit_dir(tmp)).pop().unwrap();

    // The two reads never reached the disk, and the host restarted since.
    let (tmp, log) = setup();
    edit_lines(&file(&tmp), |l| l.truncate(1));
    edit_head(&tmp, |p| p.boot = Some(OTHER_BOOT.into()));
    let report = log.verify();
    assert!(report.is_intact(), "{report}");
    assert!(
        report
            .to_string()
            .contains("records 2 to 3 (reads, not yet on disk) missing"),
        "{report}"
    );
    // The chain goes on from what is there.
    let next = log.append(&event("after", Outcome::Allowed)).unwrap();
    assert_eq!(next.seq, 2);
    assert!(log.verify().is_intact(), "{}", log.verify());

    // The same within one boot: removed, not lost.
    if known_boot {
        let (tmp, log) = setup();
        edit_lines(&file(&tmp), |l| l.truncate(1));
        let report = log.verify();
        let missing = ProblemKind::MissingAtEnd { first: 2, last: 3 };
        assert_eq!(problems(&report), [(name(&file(&tmp)), 2, missing)]);
    }

    // A synced record is never lost, whatever the boot.
    let (tmp, log) = setup();
    fs::write(file(&tmp), "").unwrap();
    edit_head(&tmp, |p| p.boot = Some(OTHER_BOOT.into()));
    let report = log.verify();
    let emptied = ProblemKind::Emptied { first: 1, last: 3 };
    assert_eq!(problems(&report), [("audit.head".into(), 0, emptied)]);

    // The pointer lagging behind the log after a crash is noted too.
    let (tmp, log) = setup();
    let first: Value = serde_json::from_str(
        fs::read_to_string(file(&tmp))
            .unwrap()
            .lines()
            .next()
            .unwrap(),
    )
    .unwrap();
    edit_head(&tmp, |p| {
        (p.seq, p.hash) = (1, first["hash"].as_str().unwrap().to_owned());
        p.boot = Some(OTHER_BOOT.into());
    });
    let report = log.verify();
    assert!(report.is_intact(), "{report}");
    assert!(
        report.to_string().contains("lags behind the log"),
        "{report}"
    );
}

#[test]
fn a_log_without_head_pointer_gets_one_without_complaint() {
    // A log written before there were head pointers: the first open creates it from the chain.
    let (tmp, log, [_, day2]) = two_day_log();
    drop(log);
    fs::remove_file(head_file(&tmp)).unwrap();
    let log = open(&audit_dir(&tmp));
    let report = log.verify();
    assert!(report.is_intact(), "{report}");
    assert!(
        report
            .notes
            .iter()
            .any(|n| n.contains("created from the log at record 6")),
        "{report}"
    );
    // From now on, truncation is found.
    edit_lines(&day2, |l| {
        l.pop();
    });
    assert!(!open(&audit_dir(&tmp)).verify().is_intact());

    // Deleted under a running handle: noted, and the next append writes it again.
    let (tmp, log, _) = two_day_log();
    fs::remove_file(head_file(&tmp)).unwrap();
    let report = log.verify();
    assert!(report.is_intact(), "{report}");
    assert!(report.to_string().contains("no head pointer"), "{report}");
    log.append(&event("t", Outcome::Allowed)).unwrap();
    let report = log.verify();
    assert!(report.is_intact() && report.notes.is_empty(), "{report}");

    // A fresh directory: nothing to note.
    let tmp = tempfile::tempdir().unwrap();
    let report = open(&audit_dir(&tmp)).verify();
    assert!(report.is_intact() && report.notes.is_empty(), "{report}");
    assert_eq!(report.to_string(), "0 records in 0 files: intact");
    let mode = fs::metadata(head_file(&tmp)).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
}

/// The writer process for the kill and multi-process tests; does nothing in a normal run.
#[test]
fn child_writer() {
    let Some(dir) = std::env::var_os(CHILD_DIR) else {
        return;
    };
    let count: Option<usize> = std::env::var(CHILD_COUNT).ok().map(|c| c.parse().unwrap());
    let log = open(Path::new(&dir));
    let bulk = "lorem ipsum dolor ".repeat(16 * 1024); // ~300 KB per record: writes take a while
    let pid = std::process::id();
    for i in 0.. {
        if count.is_some_and(|c| i >= c) {
            break;
        }
        let mut e = event(&format!("child-{pid}"), Outcome::Allowed);
        e.arguments = if count.is_some() {
            json!({ "i": i })
        } else {
            json!({ "i": i, "bulk": bulk })
        };
        log.append(&e).unwrap();
    }
}

fn spawn_writer(dir: &Path, count: Option<usize>) -> Child {
    let mut cmd = Command::new(std::env::current_exe().unwrap());
    cmd.args(["child_writer", "--exact", "--test-threads=1"])
        .env(CHILD_DIR, dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    if let Some(c) = count {
        cmd.env(CHILD_COUNT, c.to_string());
    }
    cmd.spawn().unwrap()
}

fn newlines(dir: &Path) -> usize {
    let files = day_files(dir);
    let bytes = files.iter().map(|f| fs::read(f).unwrap_or_default());
    bytes
        .map(|b| b.iter().filter(|&&c| c == b'\n').count())
        .sum()
}

#[test]
fn survives_kill_9_mid_write() {
    let tmp = tempfile::tempdir().unwrap();
    const ROUNDS: u64 = 4;
    let mut torn_seen = 0;
    for round in 0..ROUNDS {
        let before = newlines(&audit_dir(&tmp));
        let mut child = spawn_writer(&audit_dir(&tmp), None);
        let deadline = Instant::now() + Duration::from_secs(60);
        while newlines(&audit_dir(&tmp)) < before + 3 {
            assert!(Instant::now() < deadline, "the writer made no progress");
            thread::sleep(Duration::from_millis(2));
        }
        thread::sleep(Duration::from_millis(3 * round));
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();

        let report = open(&audit_dir(&tmp)).verify();
        assert!(report.is_intact(), "round {round}: {report}");
        assert!(report.records as usize >= before + 3, "{report}");
        torn_seen += usize::from(report.incomplete_tail.is_some());
    }
    // On a disk, kills mostly land in fdatasync, after the line is whole: torn lines are rare here,
    // and `a_torn_last_line_is_reported_then_replaced` makes one on purpose.
    eprintln!("torn last records seen in {torn_seen} of {ROUNDS} kills");

    // The next writer continues the chain from the last complete record.
    let log = open(&audit_dir(&tmp));
    let complete = log.verify().records;
    let record = log.append(&event("after-kill", Outcome::Allowed)).unwrap();
    assert_eq!(record.seq, complete + 1);
    let report = log.verify();
    assert!(report.is_intact(), "{report}");
    assert_eq!(
        (report.records, report.incomplete_tail),
        (complete + 1, None)
    );
}

#[test]
fn concurrent_writers_keep_the_chain() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = &audit_dir(&tmp);
    // Two processes, three threads with their own handles and two threads sharing one.
    let children = [spawn_writer(dir, Some(25)), spawn_writer(dir, Some(25))];
    let shared = open(dir);
    thread::scope(|s| {
        for t in 0..3 {
            s.spawn(move || {
                let log = open(dir);
                for _ in 0..25 {
                    log.append(&event(&format!("thread-{t}"), Outcome::Allowed))
                        .unwrap();
                }
            });
        }
        for t in 0..2 {
            let shared = &shared;
            s.spawn(move || {
                for _ in 0..25 {
                    shared
                        .append(&event(&format!("shared-{t}"), Outcome::Refused))
                        .unwrap();
                }
            });
        }
    });
    for mut child in children {
        assert!(child.wait().unwrap().success(), "a writer process failed");
    }

    let report = shared.verify();
    assert!(report.is_intact(), "{report}");
    assert_eq!(report.records, 7 * 25);
    let mut seqs = Vec::new();
    for file in day_files(dir) {
        for line in fs::read_to_string(file).unwrap().lines() {
            let v: Value = serde_json::from_str(line).expect("whole JSON lines only");
            seqs.push(v["seq"].as_u64().unwrap());
        }
    }
    assert_eq!(seqs, (1..=7 * 25).collect::<Vec<u64>>());
}

#[test]
fn retention_prunes_old_day_files() {
    let tmp = tempfile::tempdir().unwrap();
    let log = open(&audit_dir(&tmp));
    for offset in [-10, -9, -8, -7, -6, -1, 0] {
        log.append_at(&event("t", Outcome::Allowed), noon(offset))
            .unwrap();
    }
    assert_eq!(day_files(&audit_dir(&tmp)).len(), 7);
    assert_eq!(log.prune(noon(0)).unwrap(), 3);
    assert_eq!(day_files(&audit_dir(&tmp)).len(), 4);
    let report = log.verify();
    assert!(report.is_intact(), "{report}");
    assert_eq!((report.records, report.starts_at), (4, Some(4)));
    assert_eq!(log.prune(noon(0)).unwrap(), 0);
    // Retention moved the floor to record 4; the file of record 4 deleted by hand is not its doing.
    let files = day_files(&audit_dir(&tmp));
    fs::remove_file(&files[0]).unwrap();
    assert_eq!(
        problems(&log.verify()),
        [(
            name(&files[1]),
            1,
            ProblemKind::MissingAtStart { first: 4, last: 4 }
        )]
    );

    // Killed after moving the floor, before deleting: the records below it are still there.
    let tmp = tempfile::tempdir().unwrap();
    let log = open(&audit_dir(&tmp));
    for offset in [-10, -9, 0] {
        log.append_at(&event("t", Outcome::Allowed), noon(offset))
            .unwrap();
    }
    edit_head(&tmp, |p| p.floor = 3);
    let report = log.verify();
    assert!(report.is_intact(), "{report}");
    assert_eq!((report.records, report.starts_at), (3, None));
    assert_eq!(log.prune(noon(0)).unwrap(), 2);
    let report = log.verify();
    assert!(report.is_intact(), "{report}");
    assert_eq!(report.starts_at, Some(3));

    // Opening prunes too (against the real clock); the newest file always stays.
    let tmp = tempfile::tempdir().unwrap();
    let log = open(&audit_dir(&tmp));
    log.append_at(&event("t", Outcome::Allowed), noon(-30))
        .unwrap();
    log.append_at(&event("t", Outcome::Allowed), noon(-20))
        .unwrap();
    drop(log);
    let log = AuditLog::open(&audit_dir(&tmp), WEEK).unwrap();
    let left = day_files(&audit_dir(&tmp));
    assert_eq!(left.len(), 1, "{left:?}");
    let next = log.append(&event("t", Outcome::Allowed)).unwrap();
    assert_eq!(next.seq, 3);
    assert!(log.verify().is_intact());

    // A shorter retention keeps fewer days.
    let tmp = tempfile::tempdir().unwrap();
    let log = AuditLog::open(&audit_dir(&tmp), DAY).unwrap();
    for offset in [-3, -2, -1, 0] {
        log.append_at(&event("t", Outcome::Allowed), noon(offset))
            .unwrap();
    }
    assert_eq!(log.prune(noon(0)).unwrap(), 2);
}

/// The fields of a journald native datagram: `NAME=value\n`, or `NAME\n<u64 le><value>\n`.
fn journal_fields(mut d: &[u8]) -> Vec<(String, String)> {
    let mut out = Vec::new();
    while !d.is_empty() {
        let nl = d
            .iter()
            .position(|&b| b == b'\n')
            .expect("a field ends in a newline");
        let text = |b: &[u8]| String::from_utf8(b.to_vec()).unwrap();
        match d[..nl].iter().position(|&b| b == b'=') {
            Some(eq) => {
                out.push((text(&d[..eq]), text(&d[eq + 1..nl])));
                d = &d[nl + 1..];
            }
            None => {
                let len = u64::from_le_bytes(d[nl + 1..nl + 9].try_into().unwrap()) as usize;
                let value = &d[nl + 9..nl + 9 + len];
                assert_eq!(d[nl + 9 + len], b'\n', "binary field ends in a newline");
                out.push((text(&d[..nl]), text(value)));
                d = &d[nl + 10 + len..];
            }
        }
    }
    out
}

#[test]
fn every_record_is_copied_to_the_journal_socket() {
    use std::os::unix::net::UnixDatagram;
    let tmp = tempfile::tempdir().unwrap();
    let socket_path = tmp.path().join("journal.socket");
    let journal = UnixDatagram::bind(&socket_path).unwrap();
    journal
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let log = open(&audit_dir(&tmp)).with_journal(Some(&socket_path));
    assert_eq!(log.journal_socket(), Some(socket_path.as_path()));
    let mut buf = vec![0u8; 8 << 20];
    let mut receive = || {
        let n = journal.recv(&mut buf).unwrap();
        (buf[..n].to_vec(), journal_fields(&buf[..n]))
    };
    let on_disk = |seq: u64| -> String {
        let files = day_files(&audit_dir(&tmp));
        let text = fs::read_to_string(files.last().unwrap()).unwrap();
        let prefix = format!("{{\"seq\":{seq},");
        text.lines()
            .find(|l| l.starts_with(&prefix))
            .unwrap()
            .to_owned()
    };
    let get = |fields: &[(String, String)], name: &str| -> Option<String> {
        let mut found = fields.iter().filter(|(n, _)| n == name);
        let value = found.next().map(|(_, v)| v.clone());
        assert!(found.next().is_none(), "{name} twice");
        value
    };

    // An allowed call, synced.
    let r = log.append(&event("start_vm", Outcome::Allowed)).unwrap();
    let (_, fields) = receive();
    let want = [
        (
            "MESSAGE",
            "start_vm allowed for claude-code/2.1.0 (stdio), audit record 1",
        ),
        ("PRIORITY", "6"),
        ("SYSLOG_IDENTIFIER", "proxmox-mcp"),
        ("PROXMOX_MCP_SEQ", "1"),
        ("PROXMOX_MCP_HASH", r.hash.as_str()),
        ("PROXMOX_MCP_TOOL", "start_vm"),
        ("PROXMOX_MCP_DECISION", "allowed"),
        ("PROXMOX_MCP_CLIENT", "claude-code/2.1.0"),
    ];
    for (name, value) in want {
        assert_eq!(get(&fields, name).as_deref(), Some(value), "{name}");
    }
    assert_eq!(get(&fields, "PROXMOX_MCP_RECORD"), Some(on_disk(1)));
    assert_eq!(get(&fields, "PROXMOX_MCP_RECORD_TRUNCATED"), None);

    // A refused one (unsynced) whose client name holds a newline: binary framing, one-line MESSAGE.
    let mut e = event("execute_command", Outcome::Refused);
    e.client.name = "two\nlines".into();
    log.append_unsynced(&e).unwrap();
    let (raw, fields) = receive();
    assert!(
        raw.windows(19).any(|w| w == b"PROXMOX_MCP_CLIENT\n"),
        "binary framing expected"
    );
    assert_eq!(get(&fields, "PRIORITY").as_deref(), Some("4"));
    assert_eq!(
        get(&fields, "PROXMOX_MCP_CLIENT").as_deref(),
        Some("two\nlines/2.1.0")
    );
    let message = get(&fields, "MESSAGE").unwrap();
    assert_eq!(
        message,
        "execute_command refused for two lines/2.1.0 (stdio), audit record 2"
    );
    assert_eq!(get(&fields, "PROXMOX_MCP_RECORD"), Some(on_disk(2)));

    // Too large for one datagram: sent again with the record cut.
    let wmem: usize = fs::read_to_string("/proc/sys/net/core/wmem_default")
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(212_992);
    let mut e = event("proxmox_api", Outcome::Failed);
    e.arguments = json!({ "bulk": "x".repeat(2 * wmem + 65_536) });
    log.append(&e).unwrap();
    let (_, fields) = receive();
    assert_eq!(
        get(&fields, "PROXMOX_MCP_RECORD_TRUNCATED").as_deref(),
        Some("1")
    );
    let cut = get(&fields, "PROXMOX_MCP_RECORD").unwrap();
    assert!(cut.len() <= proxmox_mcp::audit::journal::RECORD_CUT && cut.len() > 1000);
    assert!(on_disk(3).starts_with(&cut));
    assert_eq!(get(&fields, "PROXMOX_MCP_SEQ").as_deref(), Some("3"));
    assert_eq!(get(&fields, "PRIORITY").as_deref(), Some("4"));

    // No journal listening any more: skipped, the call goes on.
    drop(journal);
    fs::remove_file(&socket_path).unwrap();
    log.append(&event("t", Outcome::Allowed)).unwrap();
    assert!(log.verify().is_intact());
}

/// One case a line: the arguments (JSON) `=>` the seeded secrets (`|`-separated). `{NAME}` are
/// replaced from [`SEEDS`].
const SECRET_CASES: &str = r#"
{"password": "Hunter2-pw01"} => Hunter2-pw01
{"new-password": "Hunter2-pw02"} => Hunter2-pw02
{"passwd": "Hunter2-pw03"} => Hunter2-pw03
{"token_secret": "{UUID}"} => {UUID}
{"params": {"cipassword": "Ci-Secret-04"}} => Ci-Secret-04
{"config": [{"ciuser": "u", "cipassword": "Ci-Secret-05"}]} => Ci-Secret-05
{"command": "qm set 100 --cipassword Ci-Secret-06"} => Ci-Secret-06
{"command": "qm set 101 --cipassword='Ci Secret 07'"} => Ci Secret 07
{"command": "pveum user add bob@pve --password Hunter2-pw08 --comment x"} => Hunter2-pw08
{"command": "pvesh create /access/users --userid x@pve --password 'Hunter2 pw09'"} => Hunter2 pw09
{"command": "sshpass -p Hunter2-pw10 ssh root@10.0.0.2 uptime"} => Hunter2-pw10
{"command": "mysql -uroot -pHunter2-pw11 nextcloud"} => Hunter2-pw11
{"command": "curl -H 'Authorization: PVEAPIToken=root@pam!ci={UUID2}' https://pve:8006/api2/json"} => {UUID2}
{"header": "Authorization: Bearer eyJhbGciOiJSEEDJWT12.payload.sig"} => eyJhbGciOiJSEEDJWT12
{"url": "https://admin:Url-Pass-13@pve.example:8006/api2/json"} => Url-Pass-13
{"command": "git clone https://deploy:Url-Pass-14@git.example/infra.git"} => Url-Pass-14
{"ssh_private_key": "{PEM}"} => SEEDKEY|SEEDKEY2
{"content": "{PEM}"} => SEEDKEY|SEEDKEY2
{"command": "echo '{RSA}' > /root/.ssh/id_rsa"} => MIIEowIBAAKCAQEArsaSEED
{"note": "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANcutSEED"} => MIIEvQIBADANcutSEED
{"ticket": "{TICKET}"} => TiCkEtSiGnAtUrE0123
{"output": "login ok, ticket {TICKET}, welcome"} => TiCkEtSiGnAtUrE0123
{"CSRFPreventionToken": "66A1B2C3:CsrfSeed23abc"} => CsrfSeed23abc
{"headers": {"Cookie": "PVEAuthCookie={TICKET}"}} => TiCkEtSiGnAtUrE0123
{"body": "username=root@pam&password=Form-Pass-25&realm=pam"} => Form-Pass-25
{"argv": ["sshpass", "-p", "Argv-Pass-26", "ssh", "host"]} => Argv-Pass-26
{"argv": ["pveum", "user", "add", "x@pve", "--password", "Argv-Pass-27"]} => Argv-Pass-27
{"data": "{\"password\": \"Json-Pass-28\"}"} => Json-Pass-28
{"env": "PROXMOX_TOKEN_SECRET={UUID}"} => {UUID}
{"line": "token={UUID2}"} => {UUID2}
{"value": "root@pam!mcp={UUID}"} => {UUID}
{"headers": [{"name": "Authorization", "value": "Basic SEEDBASIC32="}]} => SEEDBASIC32
{"cloud_init": {"user": "ubuntu", "password": "Ci-Secret-33"}} => Ci-Secret-33
{"api_token": "Api-Token-34"} => Api-Token-34
{"privateKey": "Priv-Key-35"} => Priv-Key-35
{"Authorization": "PVEAPIToken=a@pve!b=Auth-Secret-36"} => Auth-Secret-36
{"password": 87263541} => 87263541
{"passphrase": "Pass-Phrase-38"} => Pass-Phrase-38
{"command": "qm set 100 --cipassword=\"Ci-Secret-39\""} => Ci-Secret-39
{"nested": [[{"deep": {"secret": "Deep-Secret-40"}}]]} => Deep-Secret-40
"#;

const SEEDS: &[(&str, &str)] = &[
    ("{UUID}", "5b0d7c3e-91aa-4f2e-8c1d-3a7f9e2b6d40"),
    ("{UUID2}", "e2c4a6b8-1357-4d9f-a0b1-c2d3e4f5a6b7"),
    (
        "{PEM}",
        r"-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUSEEDKEY\nAAAAtzc2gtZWQyNTUxOQAAACSEEDKEY2\n-----END OPENSSH PRIVATE KEY-----",
    ),
    (
        "{RSA}",
        r"-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEArsaSEED\n-----END RSA PRIVATE KEY-----",
    ),
    (
        "{TICKET}",
        "PVE:root@pam:66A1B2C3::TiCkEtSiGnAtUrE0123+/xyz==",
    ),
];

fn seeded(text: &str) -> String {
    SEEDS
        .iter()
        .fold(text.to_owned(), |t, (name, value)| t.replace(name, value))
}

/// Events whose arguments and free text carry secrets, and the secrets.
fn secret_corpus() -> Vec<(Event, Vec<String>)> {
    let mut corpus: Vec<(Event, Vec<String>)> = SECRET_CASES
        .lines()
        .filter(|l| !l.is_empty())
        .map(|line| {
            let (arguments, secrets) = line.split_once(" => ").unwrap();
            let mut e = event("proxmox_api", Outcome::Allowed);
            e.arguments = serde_json::from_str(&seeded(arguments)).expect(line);
            (e, secrets.split('|').map(seeded).collect())
        })
        .collect();
    // Secrets in the free-text fields.
    let uuid = seeded("{UUID}");
    let mut e = event("execute_command", Outcome::Refused);
    e.reason = "refused: `pveum passwd root@pam --password Reason-Pass-41`".into();
    e.result = Some("stderr: password: Result-Pass-42".into());
    e.target = Some("https://root:Target-Pass-43@pve1:8006".into());
    e.client.name = format!("bot token={uuid}");
    let secrets = ["Reason-Pass-41", "Result-Pass-42", "Target-Pass-43", &uuid];
    corpus.push((e, secrets.map(str::to_owned).to_vec()));
    corpus
}

#[test]
fn no_seeded_secret_reaches_the_files() {
    let tmp = tempfile::tempdir().unwrap();
    let log = open(&audit_dir(&tmp));
    let corpus = secret_corpus();
    assert!(corpus.len() >= 30);
    for (i, (e, secrets)) in corpus.iter().enumerate() {
        let at = if i % 2 == 0 { noon(-1) } else { noon(0) };
        let record = log.append_at(e, at).unwrap();
        let shown = serde_json::to_string(&record).unwrap();
        for s in secrets {
            assert!(
                !shown.contains(s),
                "case {i}: {s:?} in the returned record {shown}"
            );
        }
    }
    let mut raw = Vec::new();
    for file in day_files(&audit_dir(&tmp)) {
        raw.extend(fs::read(file).unwrap());
    }
    let raw = String::from_utf8(raw).unwrap();
    for (i, (_, secrets)) in corpus.iter().enumerate() {
        for s in secrets {
            assert!(
                !raw.contains(s.as_str()),
                "case {i}: {s:?} reached the audit file"
            );
        }
    }
    assert!(raw.contains("****"));
    assert!(raw.contains("root@pam!mcp=****"), "token ids stay readable");
    assert!(log.verify().is_intact());
}

#[test]
fn query_filters_and_pages() {
    let tmp = tempfile::tempdir().unwrap();
    let log = open(&audit_dir(&tmp));
    let decisions = [
        Outcome::Allowed,
        Outcome::Refused,
        Outcome::Confirmed,
        Outcome::Failed,
    ];
    for i in 0..20u64 {
        let mut e = event(
            if i % 2 == 0 { "start_vm" } else { "list_vms" },
            decisions[i as usize % 4],
        );
        e.time = noon(-1) + Duration::from_secs(i * 3600);
        e.client.name = if i < 10 { "claude-code" } else { "Cursor" }.into();
        e.arguments = json!({ "vmid": 100 + i });
        log.append_at(&e, e.time).unwrap();
    }
    let q = |f: fn(&mut Query)| {
        let mut q = Query::default();
        f(&mut q);
        log.query(&q).unwrap()
    };
    let seqs = |p: &proxmox_mcp::audit::Page| p.records.iter().map(|r| r.seq).collect::<Vec<_>>();

    let all = q(|_| {});
    assert_eq!(all.summary.matched, 20);
    assert_eq!(seqs(&all), (1..=20).rev().collect::<Vec<_>>());
    assert_eq!(all.next_cursor, None);
    assert_eq!(
        all.summary.to_string(),
        "20 records: 5 allowed, 5 confirmed, 5 refused, 5 failed"
    );

    let tool = q(|q| q.tool = Some("start_vm".into()));
    assert_eq!(seqs(&tool), [19, 17, 15, 13, 11, 9, 7, 5, 3, 1]);
    let refused = q(|q| q.decision = Some(Outcome::Refused));
    assert_eq!(seqs(&refused), [18, 14, 10, 6, 2]);
    assert_eq!(refused.summary.to_string(), "5 records: 5 refused");
    let cursor = q(|q| q.client = Some("cursor".into()));
    assert_eq!(cursor.summary.matched, 10);
    assert!(cursor.records.iter().all(|r| r.seq > 10));
    let text = q(|q| q.text = Some("\"vmid\":107".into()));
    assert_eq!(seqs(&text), [8]);
    let range = q(|q| {
        q.since = Some(noon(-1) + Duration::from_secs(5 * 3600));
        q.until = Some(noon(-1) + Duration::from_secs(8 * 3600));
    });
    assert_eq!(seqs(&range), [8, 7, 6]);
    let none = q(|q| q.tool = Some("nope".into()));
    assert_eq!(
        (none.records.len(), none.summary.to_string()),
        (0, "0 records".into())
    );

    // Pages of 2 walk every match exactly once, newest first, and share the summary.
    let mut query = Query {
        decision: Some(Outcome::Allowed),
        limit: 2,
        ..Query::default()
    };
    let mut walked = Vec::new();
    loop {
        let page = log.query(&query).unwrap();
        assert_eq!(page.summary.matched, 5);
        assert!(page.records.len() <= 2);
        walked.extend(seqs(&page));
        match page.next_cursor {
            Some(c) => query.cursor = Some(c),
            None => break,
        }
    }
    assert_eq!(walked, [17, 13, 9, 5, 1]);
}
