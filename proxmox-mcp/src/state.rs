//! Host-side state shared by every process on the host: the mode, approvals, spent
//! confirmations, and secrets handed over to the operator.
//!
//! Everything lives under the state directory (`Config::state_dir`, mode 0700): `mode` holds the
//! current mode, `approvals/ID.json` one approval each (mode 0600), `spent-confirmations` the
//! confirmations already answered (mode 0600). Writers take an exclusive file
//! lock and replace files atomically (write a temporary file, fsync, rename, fsync the directory),
//! so readers in other processes always see a whole old or a whole new file.

pub mod approvals;
pub mod handover;
pub mod mode;
pub mod spent;

pub use approvals::{Approval, ApprovalError, ApprovalId, ApprovalStatus, ApprovalStore, Listed};
pub use mode::{ModeError, ModeStatus, ModeStore, StoredMode};
pub use spent::{SpendError, SpentStore};

use std::fs::{self, DirBuilder, File, OpenOptions};
use std::io::{self, Write as _};
use std::os::unix::fs::{DirBuilderExt as _, OpenOptionsExt as _};
use std::path::Path;

/// Create `dir` (and its parents) with mode 0700 if it does not exist yet.
fn ensure_private_dir(dir: &Path) -> io::Result<()> {
    DirBuilder::new().recursive(true).mode(0o700).create(dir)
}

/// Open (creating, mode 0600) the lock file at `path` and hold an exclusive lock on it until the
/// returned file is dropped.
fn lock_exclusive(path: &Path) -> io::Result<File> {
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o600)
        .open(path)?;
    file.lock()?;
    Ok(file)
}

/// Replace `dir/name` with `bytes` atomically: a fresh 0600 temporary file in the same directory,
/// fsynced, renamed over the target, then the directory fsynced so the rename is durable.
fn write_atomic(dir: &Path, name: &str, bytes: &[u8]) -> io::Result<()> {
    let tmp = dir.join(format!(
        ".{name}.tmp.{}.{:08x}",
        std::process::id(),
        rand::random::<u32>()
    ));
    let result = (|| {
        let mut file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&tmp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        fs::rename(&tmp, dir.join(name))?;
        File::open(dir)?.sync_all()
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}
