//! Staging, swapping and rolling back in a temporary directory, and the version probe.

use super::*;

/// A binary `old`, a config `a = 1` and a built `new`, in one directory; the state
/// directory beside them.
fn setup() -> (tempfile::TempDir, PathBuf, PathBuf, PathBuf, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let bin = dir.path().join("proxmox-mcp");
    let cfg = dir.path().join("config.toml");
    let state = dir.path().join("state");
    fs::create_dir(&state).unwrap();
    fs::write(&bin, "old").unwrap();
    fs::write(&cfg, "a = 1").unwrap();
    let new = dir.path().join("built");
    fs::write(&new, "new").unwrap();
    (dir, bin, cfg, state, new)
}

#[test]
fn swap_keeps_previous_and_rollback_restores_both() {
    let (_dir, bin, cfg, state, new) = setup();
    assert!(
        rollback(&bin, &state, Some(&cfg))
            .unwrap_err()
            .to_string()
            .contains("nothing to roll back")
    );
    let kept = keep_config(&bin, &state, Some(&cfg)).unwrap();
    assert_eq!(kept.config_copy, Some(config_copy_path(&state)));
    let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&rollback_dir(&state)), 0o700);
    assert_eq!(mode(&config_copy_path(&state)), 0o600);
    assert_eq!(mode(&record_path(&state)), 0o600);
    let staged = stage(&new, &bin).unwrap();
    swap_in(&staged, &bin).unwrap();
    assert_eq!(fs::read_to_string(&bin).unwrap(), "new");
    assert_eq!(fs::read_to_string(previous_path(&bin)).unwrap(), "old");
    assert!(!with_suffix(&bin, ".previous.config").exists());
    assert!(!with_suffix(&bin, ".previous.json").exists());

    fs::write(&cfg, "a = 2").unwrap();
    let r = rollback(&bin, &state, Some(&cfg)).unwrap();
    assert_eq!(r.config.as_deref(), Some(cfg.as_path()));
    assert_eq!(fs::read_to_string(&bin).unwrap(), "old");
    assert_eq!(fs::read_to_string(&cfg).unwrap(), "a = 1");
    assert!(
        rollback(&bin, &state, Some(&cfg)).is_err(),
        "a second rollback has nothing left"
    );
}

/// A record planted beside the binary (where an update used to keep it) names any file as
/// the config and any file as its copy: rollback never reads it, and restores the copy
/// only to the config file in use.
#[test]
fn rollback_writes_only_the_config_in_use() {
    let (dir, bin, cfg, state, new) = setup();
    let victim = dir.path().join("authorized_keys");
    fs::write(&victim, "ssh-ed25519 operator").unwrap();
    let evil = dir.path().join("k");
    fs::write(&evil, "ssh-ed25519 attacker").unwrap();
    keep_config(&bin, &state, Some(&cfg)).unwrap();
    swap_in(&stage(&new, &bin).unwrap(), &bin).unwrap();
    let planted = serde_json::json!({
        "version": "0.0.1", "config": victim, "config_copy": evil,
    });
    fs::write(with_suffix(&bin, ".previous.json"), planted.to_string()).unwrap();

    // The config in use differs from the one copied: the copy stays where it is.
    let other = dir.path().join("other.toml");
    fs::write(&other, "b = 1").unwrap();
    let r = rollback(&bin, &state, Some(&other)).unwrap();
    assert_eq!(r.config, None);
    assert!(
        r.config_skipped
            .unwrap()
            .contains("not from the config file in use")
    );
    assert_eq!(fs::read_to_string(&other).unwrap(), "b = 1");
    assert_eq!(fs::read_to_string(&victim).unwrap(), "ssh-ed25519 operator");
    assert_eq!(fs::read_to_string(&bin).unwrap(), "old");
}

/// A `<bin>.previous` written by anyone but the update is not installed by rollback.
#[test]
fn rollback_refuses_a_replaced_previous_binary() {
    let (_dir, bin, cfg, state, new) = setup();
    keep_config(&bin, &state, Some(&cfg)).unwrap();
    swap_in(&stage(&new, &bin).unwrap(), &bin).unwrap();
    let previous = previous_path(&bin);
    fs::remove_file(&previous).unwrap();
    fs::write(&previous, "#!/bin/sh\necho evil").unwrap();
    let e = rollback(&bin, &state, Some(&cfg)).unwrap_err().to_string();
    assert!(e.contains("SHA-256 differs"), "{e}");
    assert_eq!(fs::read_to_string(&bin).unwrap(), "new");

    // No record at all: nothing is trusted either.
    fs::remove_file(record_path(&state)).unwrap();
    let e = rollback(&bin, &state, Some(&cfg)).unwrap_err().to_string();
    assert!(e.contains("no record"), "{e}");
}

/// A symlink where a file is written is replaced, never written through.
#[test]
fn writes_never_follow_symlinks() {
    use std::os::unix::fs::symlink;
    let (dir, bin, cfg, state, new) = setup();
    let target = dir.path().join("target");
    fs::write(&target, "untouched").unwrap();
    fs::create_dir(rollback_dir(&state)).unwrap();
    symlink(&target, config_copy_path(&state)).unwrap();
    symlink(&target, record_path(&state)).unwrap();
    symlink(&target, with_suffix(&bin, ".new")).unwrap();
    let download = dir.path().join(".proxmox-mcp.download");
    symlink(&target, &download).unwrap();

    keep_config(&bin, &state, Some(&cfg)).unwrap();
    let staged = stage(&new, &bin).unwrap();
    write_new(&download, b"data").unwrap();
    assert_eq!(fs::read_to_string(&target).unwrap(), "untouched");
    assert_eq!(
        fs::read_to_string(config_copy_path(&state)).unwrap(),
        "a = 1"
    );
    assert_eq!(fs::read_to_string(&staged.path).unwrap(), "new");
    assert_eq!(fs::read_to_string(&download).unwrap(), "data");

    // A symlinked rollback directory is refused outright.
    let state2 = dir.path().join("state2");
    fs::create_dir(&state2).unwrap();
    symlink(dir.path(), rollback_dir(&state2)).unwrap();
    assert!(keep_config(&bin, &state2, Some(&cfg)).is_err());
}

/// The staged binary replaced (or rewritten) after it was verified is not swapped in.
#[test]
fn a_staged_binary_changed_after_verification_is_refused() {
    let (_dir, bin, cfg, state, new) = setup();
    keep_config(&bin, &state, Some(&cfg)).unwrap();
    let staged = stage(&new, &bin).unwrap();
    fs::remove_file(&staged.path).unwrap();
    fs::write(&staged.path, "evil").unwrap();
    let e = swap_in(&staged, &bin).unwrap_err().to_string();
    assert!(e.contains("replaced"), "{e}");
    assert_eq!(fs::read_to_string(&bin).unwrap(), "old");

    let staged = stage(&new, &bin).unwrap();
    fs::OpenOptions::new()
        .write(true)
        .open(&staged.path)
        .unwrap()
        .write_all(b"EVIL")
        .unwrap();
    let e = swap_in(&staged, &bin).unwrap_err().to_string();
    assert!(e.contains("SHA-256 differs"), "{e}");
    assert_eq!(fs::read_to_string(&bin).unwrap(), "old");
}

#[tokio::test]
async fn probe_wants_the_claimed_version() {
    let dir = tempfile::tempdir().unwrap();
    let script = |name: &str, body: &str| {
        let p = dir.path().join(name);
        fs::write(&p, format!("#!/bin/sh\n{body}\n")).unwrap();
        fs::set_permissions(&p, fs::Permissions::from_mode(0o755)).unwrap();
        p
    };
    let want: Version = "0.2.0".parse().unwrap();
    let t = Duration::from_secs(5);
    let good = script("good", "echo 'proxmox-mcp 0.2.0'");
    assert_eq!(
        probe_version(&good, &want, t).await.unwrap(),
        "proxmox-mcp 0.2.0"
    );
    let fails = script("fails", "echo broken >&2; exit 3");
    assert!(
        probe_version(&fails, &want, t)
            .await
            .unwrap_err()
            .to_string()
            .contains("--version failed")
    );
    let other = script("other", "echo 'proxmox-mcp 0.1.9'");
    assert!(probe_version(&other, &want, t).await.is_err());
    let slow = script("slow", "sleep 5");
    let e = probe_version(&slow, &want, Duration::from_millis(200))
        .await
        .unwrap_err();
    assert!(e.to_string().contains("did not finish"), "{e}");
}
