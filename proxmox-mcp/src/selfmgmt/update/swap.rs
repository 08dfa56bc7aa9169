//! Replacing the running binary and undoing it: a new binary is staged beside the old one,
//! must answer `--version` with the version it claims, and is renamed over the old one
//! (atomic); the old one stays as `<bin>.previous`. What `rollback` needs to trust that file
//! (its SHA-256, the replaced version) and the config copy live in the state directory's
//! `rollback/` (mode 0700), out of reach of commands: beside the binary anyone who can write
//! there could plant a record that points a rollback at any file.

use std::fs::{self, File, OpenOptions};
use std::io::{Read as _, Seek as _, Write as _};
use std::os::unix::fs::{
    DirBuilderExt as _, MetadataExt as _, OpenOptionsExt as _, PermissionsExt as _,
};
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

use super::UpdateError;
use crate::selfmgmt::version::Version;

fn with_suffix(bin: &Path, suffix: &str) -> PathBuf {
    let mut s = bin.as_os_str().to_owned();
    s.push(suffix);
    PathBuf::from(s)
}

/// The binary kept by the last update.
pub fn previous_path(bin: &Path) -> PathBuf {
    with_suffix(bin, ".previous")
}

/// Where an update keeps what `rollback` needs, in the state directory.
pub fn rollback_dir(state_dir: &Path) -> PathBuf {
    state_dir.join("rollback")
}

/// The copy of the config file taken before the last update.
pub fn config_copy_path(state_dir: &Path) -> PathBuf {
    rollback_dir(state_dir).join("previous.config")
}

fn record_path(state_dir: &Path) -> PathBuf {
    rollback_dir(state_dir).join("previous.json")
}

/// `O_NOFOLLOW`: opening a symlink fails instead of opening its target.
fn no_follow() -> i32 {
    rustix::fs::OFlags::NOFOLLOW.bits() as i32
}

/// Creates `path` afresh with `mode`: an existing file or symlink there is removed first, and
/// the create never follows a symlink a racer put back (`O_EXCL | O_NOFOLLOW`).
fn create_fresh(path: &Path, mode: u32) -> std::io::Result<File> {
    match fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e),
        _ => {}
    }
    let f = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .custom_flags(no_follow())
        .open(path)?;
    f.set_permissions(fs::Permissions::from_mode(mode))?;
    Ok(f)
}

/// Opens `path` for reading, refusing a symlink.
fn open_no_follow(path: &Path) -> std::io::Result<File> {
    OpenOptions::new()
        .read(true)
        .custom_flags(no_follow())
        .open(path)
}

/// Writes `data` to a new file at `path` (mode 0600), never through a symlink.
pub fn write_new(path: &Path, data: &[u8]) -> Result<(), UpdateError> {
    create_fresh(path, 0o600)
        .and_then(|mut f| f.write_all(data).and_then(|()| f.sync_all()))
        .map_err(|e| UpdateError::Failed(format!("cannot write {}: {e}", path.display())))
}

/// The SHA-256 of what `f` holds, read from its start.
fn sha256_of(f: &mut File) -> std::io::Result<String> {
    f.rewind()?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = f.read(&mut buf)?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Ok(hex::encode(h.finalize()))
}

/// The state directory's `rollback/`, created 0700; a symlink or file there is refused.
fn private_dir(state_dir: &Path) -> Result<PathBuf, UpdateError> {
    let dir = rollback_dir(state_dir);
    match fs::symlink_metadata(&dir) {
        Ok(m) if m.is_dir() => {}
        Ok(_) => {
            return Err(UpdateError::Failed(format!(
                "{} is not a directory; the running version stays in place",
                dir.display()
            )));
        }
        Err(_) => fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&dir)
            .map_err(io("cannot create", &dir))?,
    }
    fs::set_permissions(&dir, fs::Permissions::from_mode(0o700))
        .map_err(io("cannot restrict", &dir))?;
    Ok(dir)
}

/// What the last update kept, for `rollback`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Kept {
    /// The version that was replaced.
    pub version: String,
    /// The config file that was copied, and where to.
    pub config: Option<PathBuf>,
    pub config_copy: Option<PathBuf>,
    /// The SHA-256 of the replaced binary: `rollback` puts back only this file.
    #[serde(default)]
    pub binary_sha256: Option<String>,
}

impl Kept {
    /// The config copy kept in the state directory, if there is one.
    pub fn config_copy_of(state_dir: &Path) -> Option<PathBuf> {
        let p = config_copy_path(state_dir);
        fs::symlink_metadata(&p)
            .is_ok_and(|m| m.is_file())
            .then_some(p)
    }
}

fn io(what: &str, path: &Path) -> impl Fn(std::io::Error) -> UpdateError {
    let msg = format!("{what} {}", path.display());
    move |e| UpdateError::Failed(format!("{msg}: {e}; the running version stays in place"))
}

/// Copies `config` (if there is one) into the state directory and records what was kept,
/// with the SHA-256 of the running `bin`.
pub fn keep_config(
    bin: &Path,
    state_dir: &Path,
    config: Option<&Path>,
) -> Result<Kept, UpdateError> {
    let dir = private_dir(state_dir)?;
    let binary_sha256 = File::open(bin)
        .and_then(|mut f| sha256_of(&mut f))
        .map_err(io("cannot read", bin))?;
    let copy = config_copy_path(state_dir);
    let _ = fs::remove_file(&copy);
    let mut kept = Kept {
        version: super::super::version::CURRENT.to_owned(),
        config: None,
        config_copy: None,
        binary_sha256: Some(binary_sha256),
    };
    if let Some(c) = config.filter(|c| c.is_file()) {
        let data = fs::read(c).map_err(io("cannot read", c))?;
        create_fresh(&copy, 0o600)
            .and_then(|mut f| f.write_all(&data).and_then(|()| f.sync_all()))
            .map_err(io("cannot copy the config file to", &copy))?;
        kept.config = Some(c.to_path_buf());
        kept.config_copy = Some(copy);
    }
    let body = serde_json::to_vec_pretty(&kept).map_err(|e| UpdateError::Failed(e.to_string()))?;
    let record = dir.join("previous.json");
    create_fresh(&record, 0o600)
        .and_then(|mut f| f.write_all(&body).and_then(|()| f.sync_all()))
        .map_err(io("cannot write", &record))?;
    Ok(kept)
}

/// A new binary staged beside the old one, held open so it can be proven unchanged before it
/// is swapped in.
#[derive(Debug)]
pub struct Staged {
    pub path: PathBuf,
    file: File,
    sha256: String,
}

impl AsRef<Path> for Staged {
    fn as_ref(&self) -> &Path {
        &self.path
    }
}

impl Staged {
    /// Still the file staged, with the bytes staged: the same inode at the same path, and the
    /// same SHA-256 read from the open handle.
    fn check(&mut self) -> Result<(), UpdateError> {
        let changed = |why: String| {
            UpdateError::Failed(format!(
                "the staged binary {} changed after it was verified ({why}); the running \
                 version stays in place",
                self.path.display()
            ))
        };
        let held = self.file.metadata().map_err(|e| changed(e.to_string()))?;
        let at_path = fs::symlink_metadata(&self.path).map_err(|e| changed(e.to_string()))?;
        if !at_path.is_file() || (at_path.dev(), at_path.ino()) != (held.dev(), held.ino()) {
            return Err(changed("another file is in its place".into()));
        }
        let now = sha256_of(&mut self.file).map_err(|e| changed(e.to_string()))?;
        if now != self.sha256 {
            return Err(changed("its SHA-256 differs".into()));
        }
        Ok(())
    }

    fn same_file(&self, m: &fs::Metadata) -> bool {
        self.file
            .metadata()
            .is_ok_and(|h| (h.dev(), h.ino()) == (m.dev(), m.ino()))
    }
}

/// Stages `new` beside `bin` as `<bin>.new` (mode 0755, created afresh, never through a
/// symlink), and returns it held open.
pub fn stage(new: &Path, bin: &Path) -> Result<Staged, UpdateError> {
    let staged = with_suffix(bin, ".new");
    let data = fs::read(new).map_err(io("cannot read the new binary", new))?;
    let written = create_fresh(&staged, 0o755)
        .and_then(|mut f| f.write_all(&data).and_then(|()| f.sync_all()).map(|()| f))
        .map_err(io("cannot stage the new binary as", &staged))?;
    let written = written.metadata().map_err(io("cannot stat", &staged))?;
    // Reopened read-only: a file open for writing cannot be executed (ETXTBSY).
    let file = open_no_follow(&staged).map_err(io("cannot reopen", &staged))?;
    let mut staged = Staged {
        path: staged,
        file,
        sha256: hex::encode(Sha256::digest(&data)),
    };
    if !staged.same_file(&written) {
        return Err(UpdateError::Failed(format!(
            "the staged binary {} was replaced while it was written; the running version \
             stays in place",
            staged.path.display()
        )));
    }
    staged.check()?;
    Ok(staged)
}

/// Runs `bin --version`: it must exit 0 within `timeout` and name `want`.
pub async fn probe_version(
    bin: impl AsRef<Path>,
    want: &Version,
    timeout: Duration,
) -> Result<String, UpdateError> {
    let mut cmd = tokio::process::Command::new(bin.as_ref());
    super::install::minimal_env(&mut cmd);
    let run = cmd
        .arg("--version")
        .stdin(std::process::Stdio::null())
        .kill_on_drop(true)
        .output();
    let out = tokio::time::timeout(timeout, run)
        .await
        .map_err(|_| {
            UpdateError::Failed(format!(
                "the new binary's --version did not finish within {:.0} s; the running version \
                 stays in place",
                timeout.as_secs_f32()
            ))
        })?
        .map_err(|e| {
            UpdateError::Failed(format!(
                "the new binary cannot be run ({e}); the running version stays in place"
            ))
        })?;
    let text = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    if !out.status.success() {
        return Err(UpdateError::Failed(format!(
            "the new binary's --version failed ({}): {}; the running version stays in place",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    let reported = text
        .split_whitespace()
        .find_map(|w| w.parse::<Version>().ok());
    if reported.as_ref() != Some(want) {
        return Err(UpdateError::Failed(format!(
            "the new binary reports {text:?}, not version {want}; the running version stays in \
             place"
        )));
    }
    Ok(text)
}

/// Swaps the staged binary in: the current one is kept as `<bin>.previous` (a hard link, else
/// a copy), then the staged one, proven unchanged just before, is renamed over it.
pub fn swap_in(staged: &Staged, bin: &Path) -> Result<PathBuf, UpdateError> {
    let previous = previous_path(bin);
    let _ = fs::remove_file(&previous);
    if fs::hard_link(bin, &previous).is_err() {
        let data = fs::read(bin).map_err(io("cannot read", bin))?;
        create_fresh(&previous, 0o755)
            .and_then(|mut f| f.write_all(&data).and_then(|()| f.sync_all()))
            .map_err(io("cannot keep the current binary as", &previous))?;
    }
    // A fresh handle: `check` reads through it, and `Staged` is borrowed.
    let mut held = Staged {
        path: staged.path.clone(),
        file: open_no_follow(&staged.path).map_err(io("cannot reopen", &staged.path))?,
        sha256: staged.sha256.clone(),
    };
    if !held.same_file(
        &staged
            .file
            .metadata()
            .map_err(io("cannot stat", &staged.path))?,
    ) {
        return Err(UpdateError::Failed(format!(
            "the staged binary {} was replaced after it was verified; the running version \
             stays in place",
            staged.path.display()
        )));
    }
    held.check()?;
    fs::rename(&staged.path, bin).map_err(io("cannot move the new binary to", bin))?;
    if !fs::symlink_metadata(bin).is_ok_and(|m| held.same_file(&m)) {
        return Err(UpdateError::Failed(format!(
            "{} is not the verified binary after the swap (it was replaced at the last \
             moment): run `proxmox-mcp rollback --binary {}` from an operator's shell",
            bin.display(),
            bin.display()
        )));
    }
    if let Some(dir) = bin.parent() {
        let _ = File::open(dir).and_then(|d| d.sync_all());
    }
    Ok(previous)
}

/// What `rollback` restored.
#[derive(Debug, Clone, Serialize)]
pub struct RolledBack {
    pub binary: PathBuf,
    pub version: Option<String>,
    pub config: Option<PathBuf>,
    /// Why the kept config copy was not restored, when there is one.
    pub config_skipped: Option<String>,
}

/// Puts `<bin>.previous` back in place of `bin`, and the config copy back at `config`, the
/// config file in use. The record in `state_dir` must name the previous binary's SHA-256, and
/// the copy is restored only when it was taken from `config`: no path read from a file is
/// ever written.
pub fn rollback(
    bin: &Path,
    state_dir: &Path,
    config: Option<&Path>,
) -> Result<RolledBack, UpdateError> {
    let previous = previous_path(bin);
    if !fs::symlink_metadata(&previous).is_ok_and(|m| m.is_file()) {
        return Err(UpdateError::Refused(format!(
            "there is nothing to roll back to: {} does not exist (self_update keeps the \
             replaced binary there)",
            previous.display()
        )));
    }
    let record = record_path(state_dir);
    let kept: Kept = open_no_follow(&record)
        .ok()
        .and_then(|mut f| {
            let mut b = Vec::new();
            f.read_to_end(&mut b).ok()?;
            serde_json::from_slice(&b).ok()
        })
        .ok_or_else(|| {
            UpdateError::Refused(format!(
                "{} exists but the update that kept it left no record in {} (or it is \
                 unreadable): nothing was restored",
                previous.display(),
                record.display()
            ))
        })?;
    let mut file = open_no_follow(&previous).map_err(io("cannot read", &previous))?;
    let sha = sha256_of(&mut file).map_err(io("cannot read", &previous))?;
    if kept.binary_sha256.as_deref() != Some(sha.as_str()) {
        return Err(UpdateError::Refused(format!(
            "{} is not the binary the last update replaced (its SHA-256 differs from the \
             record in {}): nothing was restored",
            previous.display(),
            record.display()
        )));
    }
    let at_path = fs::symlink_metadata(&previous).map_err(io("cannot stat", &previous))?;
    let held = file.metadata().map_err(io("cannot stat", &previous))?;
    if (at_path.dev(), at_path.ino()) != (held.dev(), held.ino()) {
        return Err(UpdateError::Refused(format!(
            "{} was replaced while it was checked: nothing was restored",
            previous.display()
        )));
    }
    let copy = Kept::config_copy_of(state_dir);
    let mut config_skipped = None;
    let mut restored = None;
    match (copy, config) {
        (None, _) => {}
        (Some(_), None) => {
            config_skipped = Some("no config file is in use".to_owned());
        }
        (Some(_), Some(dest)) if kept.config.as_deref() != Some(dest) => {
            config_skipped = Some(format!(
                "the copy was taken from {}, not from the config file in use {}",
                kept.config
                    .as_deref()
                    .map_or("(unknown)".into(), |p| p.display().to_string()),
                dest.display()
            ));
        }
        (Some(copy), Some(dest)) => {
            let data = open_no_follow(&copy)
                .and_then(|mut f| {
                    let mut b = Vec::new();
                    f.read_to_end(&mut b).map(|_| b)
                })
                .map_err(io("cannot read", &copy))?;
            let tmp = with_suffix(dest, ".rollback");
            create_fresh(&tmp, 0o600)
                .and_then(|mut f| f.write_all(&data).and_then(|()| f.sync_all()))
                .map_err(io("cannot restore the config file to", &tmp))?;
            fs::rename(&tmp, dest).map_err(io("cannot restore the config file to", dest))?;
            restored = Some(dest.to_path_buf());
        }
    }
    fs::rename(&previous, bin).map_err(io("cannot restore the previous binary to", bin))?;
    let _ = fs::remove_file(&record);
    let _ = fs::remove_file(config_copy_path(state_dir));
    Ok(RolledBack {
        binary: bin.to_path_buf(),
        version: Some(kept.version),
        config: restored,
        config_skipped,
    })
}

#[cfg(test)]
mod tests;
