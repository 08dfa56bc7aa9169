//! Backups round-trip; every kind of malicious archive is refused and changes nothing.

use std::io::Write as _;

use super::archive;
use super::*;

/// A state dir with a config file, a mode, an approval and a bridge token store.
fn live() -> (tempfile::TempDir, BackupRoots) {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    fs::create_dir_all(state.join("approvals")).unwrap();
    fs::create_dir_all(state.join("bridge")).unwrap();
    let config = dir.path().join("config.toml");
    fs::write(&config, "[policy]\nprotected_vmids = [100]\n").unwrap();
    fs::write(state.join("mode"), "normal\n").unwrap();
    fs::write(state.join("bridge/tokens.json"), r#"{"tokens":[]}"#).unwrap();
    fs::write(state.join("bridge/secret"), "pmb_plain\n").unwrap();
    let roots = BackupRoots {
        config_file: Some(config),
        state_dir: state,
    };
    (dir, roots)
}

/// Every live file's bytes, to compare before and after.
fn snapshot(roots: &BackupRoots) -> BTreeMap<String, Vec<u8>> {
    roots.gather().unwrap()
}

#[test]
fn round_trip_restores_every_file_and_keeps_a_pre_restore_backup() {
    let (_dir, roots) = live();
    let before = snapshot(&roots);
    let made = create(&roots, "test").unwrap();
    assert_eq!(
        made.files, 3,
        "config, mode, tokens; never the bridge's plain secret"
    );
    let path = roots.backups_dir().join(&made.name);
    use std::os::unix::fs::PermissionsExt as _;
    assert_eq!(
        fs::metadata(&path).unwrap().permissions().mode() & 0o777,
        0o600
    );

    fs::write(roots.config_file.as_ref().unwrap(), "[policy]\n").unwrap();
    fs::write(roots.state_dir.join("mode"), "read-only\n").unwrap();
    let plan = plan(&roots, &made.name).unwrap();
    assert_eq!(
        plan.summary(),
        "config.toml changed, state/mode changed, 1 unchanged, LESS SAFE: mode read-only -> \
         normal (the restore raises the mode, which toggle_mode alone would not do), config \
         policy.protected_vmids: (unset) -> [100]"
    );
    assert!(plan.less_safe);
    let done = restore(&roots, &made.name, Some(&plan.archive_sha256), None).unwrap();
    assert_eq!(snapshot(&roots), before);
    assert!(done.pre_restore.reason.contains(&made.name));
    let (listed, bad) = list(&roots).unwrap();
    assert_eq!(listed.len(), 2);
    assert!(bad.is_empty());
}

fn approval(id: &str, status: &str) -> String {
    approval_until(id, status, 4_102_444_800_000)
}

fn approval_until(id: &str, status: &str, expires_ms: u64) -> String {
    format!(
        r#"{{"id":"{id}","tool":"t","args_sha256":"00","summary":"s","status":"{status}","created_ms":0,"expires_ms":{expires_ms}}}"#
    )
}

#[test]
fn an_expired_approval_is_not_brought_back() {
    let (_dir, roots) = live();
    let dir = roots.state_dir.join("approvals");
    let path = dir.join("00000000EX.json");
    fs::write(&path, approval_until("00000000EX", "pending", 1)).unwrap();
    let made = create(&roots, "test").unwrap();
    fs::remove_file(&path).unwrap();
    let plan = plan(&roots, &made.name).unwrap();
    assert!(
        plan.summary()
            .contains("state/approvals/00000000EX.json expired, not restored"),
        "{}",
        plan.summary()
    );
    restore(&roots, &made.name, None, None).unwrap();
    assert!(!path.exists());
}

#[test]
fn only_pending_approvals_are_kept_and_a_newer_record_on_disk_wins() {
    let (_dir, roots) = live();
    let dir = roots.state_dir.join("approvals");
    let put = |id: &str, status: &str| {
        fs::write(dir.join(format!("{id}.json")), approval(id, status)).unwrap()
    };
    put("000000000A", "pending");
    put("000000000B", "pending");
    put("000000000C", "approved");
    let made = create(&roots, "test").unwrap();
    assert_eq!(
        made.files, 5,
        "config, mode, tokens and the two pending approvals"
    );
    put("000000000A", "used");
    fs::remove_file(dir.join("000000000B.json")).unwrap();
    put("000000000D", "pending");
    let plan = plan(&roots, &made.name).unwrap();
    assert_eq!(
        plan.summary(),
        "state/approvals/000000000A.json kept, state/approvals/000000000B.json added, \
         3 unchanged"
    );
    restore(&roots, &made.name, None, None).unwrap();
    let read = |id: &str| fs::read_to_string(dir.join(format!("{id}.json"))).ok();
    assert_eq!(read("000000000A"), Some(approval("000000000A", "used")));
    assert_eq!(read("000000000B"), Some(approval("000000000B", "pending")));
    assert_eq!(read("000000000C"), Some(approval("000000000C", "approved")));
    assert_eq!(read("000000000D"), Some(approval("000000000D", "pending")));
}

#[test]
fn a_granted_approval_in_an_archive_is_refused() {
    let a = approval("000000000A", "approved");
    let path = "state/approvals/000000000A.json";
    check(
        with_manifest(
            vec![raw(path.as_bytes(), a.as_bytes())],
            &[(path, a.as_bytes())],
        ),
        "only pending ones are restored",
    );
}

#[test]
fn a_backup_that_is_a_link_is_refused() {
    let (_dir, roots) = live();
    let made = create(&roots, "test").unwrap();
    std::os::unix::fs::symlink(&made.name, roots.backups_dir().join("link.tar.gz")).unwrap();
    let err = plan(&roots, "link.tar.gz").unwrap_err().to_string();
    assert!(err.contains("not a regular file"), "{err}");
}

#[test]
fn a_restore_of_an_archive_changed_since_approval_is_refused() {
    let (_dir, roots) = live();
    let made = create(&roots, "test").unwrap();
    let err = restore(&roots, &made.name, Some("00"), None).unwrap_err();
    assert!(
        err.to_string().contains("changed after it was checked"),
        "{err}"
    );
}

#[test]
fn names_that_could_leave_the_backups_folder_are_refused() {
    let (_dir, roots) = live();
    for name in [
        "../mode",
        "/etc/passwd",
        ".hidden.tar.gz",
        "a/b.tar.gz",
        "x.tar",
    ] {
        let err = plan(&roots, name).unwrap_err();
        assert!(
            err.to_string().contains("is not a backup name"),
            "{name}: {err}"
        );
    }
    assert!(matches!(
        plan(&roots, "nope.tar.gz"),
        Err(BackupError::NotFound(_))
    ));
}

/// One raw tar entry: its name bytes, type, contents and link name.
struct Raw<'a> {
    name: &'a [u8],
    kind: tar::EntryType,
    data: &'a [u8],
    link: &'a [u8],
}

fn raw(name: &[u8], data: &[u8]) -> Raw<'static> {
    Raw {
        name: Box::leak(name.to_vec().into_boxed_slice()),
        kind: tar::EntryType::Regular,
        data: Box::leak(data.to_vec().into_boxed_slice()),
        link: b"",
    }
}

/// A tar.gz written header by header, names and types unchecked.
fn build(entries: &[Raw]) -> Vec<u8> {
    let mut tar = Vec::new();
    for e in entries {
        let mut h = tar::Header::new_old();
        h.as_old_mut().name[..e.name.len()].copy_from_slice(e.name);
        h.as_old_mut().linkname[..e.link.len()].copy_from_slice(e.link);
        h.set_entry_type(e.kind);
        h.set_size(e.data.len() as u64);
        h.set_mode(0o600);
        h.set_cksum();
        tar.extend_from_slice(h.as_bytes());
        tar.extend_from_slice(e.data);
        tar.resize(tar.len().div_ceil(512) * 512, 0);
    }
    tar.resize(tar.len() + 1024, 0);
    gzip(&tar)
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(bytes).unwrap();
    gz.finish().unwrap()
}

/// A manifest listing `files` (path, contents) correctly, with format `format`.
fn manifest(format: u32, files: &[(&str, &[u8])]) -> Vec<u8> {
    let files: Vec<archive::FileEntry> = files
        .iter()
        .map(|(p, d)| archive::FileEntry {
            path: (*p).into(),
            size: d.len() as u64,
            sha256: archive::sha256_hex(d),
        })
        .collect();
    serde_json::to_vec(&archive::Manifest {
        format,
        server_version: "0.1.0".into(),
        created: 0,
        reason: "test".into(),
        files,
    })
    .unwrap()
}

/// `bytes` placed as backup `name`, then planned and restored: both must refuse with `want`
/// in the message and leave every live file as it was.
fn check(bytes: Vec<u8>, want: &str) {
    let (_dir, roots) = live();
    let before = snapshot(&roots);
    fs::create_dir_all(roots.backups_dir()).unwrap();
    fs::write(roots.backups_dir().join("evil.tar.gz"), bytes).unwrap();
    let err = plan(&roots, "evil.tar.gz").unwrap_err().to_string();
    assert!(err.contains(want), "want {want:?} in: {err}");
    let err = restore(&roots, "evil.tar.gz", None, None)
        .unwrap_err()
        .to_string();
    assert!(err.contains("nothing was changed"), "{err}");
    assert_eq!(snapshot(&roots), before);
    // `list` reads manifests only, so count the files: no pre-restore backup was taken.
    assert_eq!(fs::read_dir(roots.backups_dir()).unwrap().count(), 1);
}

const MODE: &[u8] = b"safe\n";

fn with_manifest(entries: Vec<Raw<'static>>, listed: &[(&str, &[u8])]) -> Vec<u8> {
    let m = manifest(1, listed);
    let mut all = vec![raw(b"manifest.json", &m)];
    all.extend(entries);
    build(&all)
}

#[test]
fn traversal_is_refused() {
    check(
        with_manifest(vec![raw(b"../x", MODE)], &[]),
        "path traversal",
    );
    check(
        with_manifest(vec![raw(b"state/../../x", MODE)], &[]),
        "path traversal",
    );
}

#[test]
fn absolute_names_are_refused() {
    check(
        with_manifest(vec![raw(b"/etc/x", MODE)], &[]),
        "absolute name",
    );
}

#[test]
fn links_and_devices_are_refused() {
    for (kind, want) in [
        (tar::EntryType::Symlink, "symbolic link"),
        (tar::EntryType::Link, "hard link"),
        (tar::EntryType::Char, "character device"),
        (tar::EntryType::Block, "block device"),
        (tar::EntryType::Fifo, "FIFO"),
        (tar::EntryType::Directory, "directory"),
    ] {
        let entry = Raw {
            name: b"state/mode",
            kind,
            data: b"",
            link: b"/etc/shadow",
        };
        check(with_manifest(vec![entry], &[]), want);
    }
}

#[test]
fn paths_off_the_allow_list_are_refused() {
    check(
        with_manifest(vec![raw(b"state/bridge/secret", MODE)], &[]),
        "not on the allow-list",
    );
    check(
        with_manifest(vec![raw(b"state/approvals/evil.json", MODE)], &[]),
        "not on the allow-list",
    );
}

#[test]
fn checksum_and_size_mismatches_are_refused() {
    check(
        with_manifest(
            vec![raw(b"state/mode", b"normal\n")],
            &[("state/mode", b"nxrmal\n")],
        ),
        "checksum mismatch",
    );
    check(
        with_manifest(
            vec![raw(b"state/mode", b"normal\n")],
            &[("state/mode", MODE)],
        ),
        "the manifest says 5",
    );
}

#[test]
fn unlisted_missing_and_duplicate_files_are_refused() {
    check(
        with_manifest(vec![raw(b"state/mode", MODE)], &[]),
        "not listed in manifest.json",
    );
    check(
        with_manifest(vec![], &[("state/mode", MODE)]),
        "which the archive does not hold",
    );
    check(
        with_manifest(
            vec![raw(b"state/mode", MODE), raw(b"state/mode", MODE)],
            &[("state/mode", MODE)],
        ),
        "appears twice",
    );
    check(build(&[raw(b"state/mode", MODE)]), "no manifest.json");
}

#[test]
fn a_newer_format_is_refused() {
    let m = manifest(archive::FORMAT + 1, &[]);
    check(
        build(&[raw(b"manifest.json", &m)]),
        "newer than this server",
    );
}

#[test]
fn contents_that_do_not_parse_are_refused() {
    let bad_config: &[u8] = b"[policy]\nno_such_key = 1\n";
    check(
        with_manifest(
            vec![raw(b"config.toml", bad_config)],
            &[("config.toml", bad_config)],
        ),
        "the configuration does not parse",
    );
    check(
        with_manifest(
            vec![raw(b"state/mode", b"yolo\n")],
            &[("state/mode", b"yolo\n")],
        ),
        "unknown mode",
    );
}

#[test]
fn size_bombs_and_entry_floods_are_refused() {
    // A gzip stream that inflates to 64 MiB of zeros: one entry claiming that size.
    let mut h = tar::Header::new_old();
    h.as_old_mut().name[..10].copy_from_slice(b"state/mode");
    h.set_size(64 << 20);
    h.set_entry_type(tar::EntryType::Regular);
    h.set_cksum();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    gz.write_all(h.as_bytes()).unwrap();
    let zeros = vec![0u8; 1 << 20];
    for _ in 0..64 {
        gz.write_all(&zeros).unwrap();
    }
    let bomb = gz.finish().unwrap();
    assert!(bomb.len() < 1 << 20, "the bomb is small on disk");
    check(bomb, "more than the cap");

    // Zeros past the caps with no header naming a size: the stream cap stops it.
    let flood: Vec<Raw> = (0..archive::MAX_ENTRIES + 1)
        .map(|_| raw(b"state/mode", MODE))
        .collect();
    check(build(&flood), "appears twice");
    let many: Vec<Raw> = (0..archive::MAX_ENTRIES + 1)
        .map(|i| raw(format!("state/approvals/{:010}.json", i).as_bytes(), b"{}"))
        .collect();
    check(build(&many), "more than 512 entries");
}

#[test]
fn garbage_is_refused() {
    check(b"not a gzip stream".to_vec(), "cannot be read");
}

#[test]
fn at_most_max_backups_are_kept_and_the_newest_is_never_pruned() {
    let (_dir, roots) = live();
    let mut last = String::new();
    for _ in 0..MAX_BACKUPS + 3 {
        last = create(&roots, "test").unwrap().name;
    }
    let (listed, bad) = list(&roots).unwrap();
    assert_eq!(listed.len(), MAX_BACKUPS);
    assert!(bad.is_empty());
    assert!(roots.backups_dir().join(&last).exists());
}

#[test]
fn a_nearly_full_file_system_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    ensure_room(dir.path(), 0).unwrap();
    let err = ensure_room(dir.path(), u64::MAX).unwrap_err().to_string();
    assert!(err.contains("nothing was written"), "{err}");
}

#[test]
fn list_reads_the_manifest_only() {
    let (_dir, roots) = live();
    let made = create(&roots, "test").unwrap();
    let path = roots.backups_dir().join(&made.name);
    // A manifest followed by a body that no longer checks out still lists; restore refuses it.
    let unpacked = archive::unpack(&fs::read(&path).unwrap()).unwrap();
    let manifest = serde_json::to_vec(&unpacked.manifest).unwrap();
    fs::write(&path, build(&[raw(b"manifest.json", &manifest)])).unwrap();
    let (listed, bad) = list(&roots).unwrap();
    assert_eq!((listed.len(), bad.len()), (1, 0), "{bad:?}");
    assert_eq!(listed[0].files, 3);
    assert!(plan(&roots, &made.name).is_err());
}

#[test]
fn a_restore_refuses_when_the_live_files_drifted_since_approval() {
    let (_dir, roots) = live();
    let made = create(&roots, "test").unwrap();
    fs::write(roots.state_dir.join("mode"), "safe\n").unwrap();
    let plan = plan(&roots, &made.name).unwrap();
    assert!(plan.less_safe, "{}", plan.summary());
    // The operator lowers the mode again after the human said yes.
    fs::write(roots.state_dir.join("mode"), "read-only\n").unwrap();
    let err = restore(
        &roots,
        &made.name,
        Some(&plan.archive_sha256),
        Some(&plan.live_sha256),
    )
    .unwrap_err();
    assert!(matches!(err, BackupError::Drifted), "{err}");
    assert_eq!(
        fs::read_to_string(roots.state_dir.join("mode")).unwrap(),
        "read-only\n"
    );
}
