//! The file system side of backups: owner-only files written whole (fsynced, renamed, the
//! directory fsynced), reads under a size cap, and the state locks held during a swap.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read as _, Write as _};
use std::os::unix::fs::{DirBuilderExt as _, OpenOptionsExt as _};
use std::path::{Path, PathBuf};

use super::{BackupError, BackupRoots};

/// The mode's and the approvals' lock files, held for the swap.
pub(super) fn lock_state(roots: &BackupRoots) -> Result<Vec<File>, BackupError> {
    let approvals = roots.state_dir.join(crate::state::approvals::APPROVALS_DIR);
    let mut locks = Vec::new();
    for (dir, name) in [(&roots.state_dir, "mode.lock"), (&approvals, ".lock")] {
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .map_err(|e| BackupError::io(dir, e))?;
        let path = dir.join(name);
        let f = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .open(&path)
            .map_err(|e| BackupError::io(&path, e))?;
        f.lock().map_err(|e| BackupError::io(&path, e))?;
        locks.push(f);
    }
    Ok(locks)
}

/// Writes `data` to a fresh 0600 file beside `target` (same file system, so the rename is
/// atomic), fsynced; returns its path.
pub(super) fn stage(target: &Path, data: &[u8]) -> Result<PathBuf, BackupError> {
    let dir = target.parent().unwrap_or(Path::new("."));
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(|e| BackupError::io(dir, e))?;
    let file_name = target
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(
        ".{file_name}.restore.{}.{:08x}",
        std::process::id(),
        rand::random::<u32>()
    ));
    let written = (|| {
        let mut f = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&tmp)?;
        f.write_all(data)?;
        f.sync_all()
    })();
    match written {
        Ok(()) => Ok(tmp),
        Err(e) => {
            let _ = fs::remove_file(&tmp);
            Err(BackupError::io(&tmp, e))
        }
    }
}

pub(super) fn sync_parent(path: &Path) -> Result<(), BackupError> {
    let dir = path.parent().unwrap_or(Path::new("."));
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| BackupError::io(dir, e))
}

/// A new 0600 file `dir/name` holding `bytes`, written whole or not at all.
pub(super) fn write_new(dir: &Path, name: &str, bytes: &[u8]) -> Result<(), BackupError> {
    let tmp = stage(&dir.join(name), bytes)?;
    let target = dir.join(name);
    fs::rename(&tmp, &target).map_err(|e| {
        let _ = fs::remove_file(&tmp);
        BackupError::io(&target, e)
    })?;
    sync_parent(&target)
}

/// The contents of `path` (`None` when it does not exist), refused past `cap` bytes.
pub(super) fn read_capped(path: &Path, cap: u64) -> Result<Option<Vec<u8>>, BackupError> {
    let f = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(BackupError::io(path, e)),
    };
    let mut data = Vec::new();
    f.take(cap + 1)
        .read_to_end(&mut data)
        .map_err(|e| BackupError::io(path, e))?;
    if data.len() as u64 > cap {
        return Err(BackupError::io(
            path,
            io::Error::other(format!("larger than the cap of {cap} bytes")),
        ));
    }
    Ok(Some(data))
}
