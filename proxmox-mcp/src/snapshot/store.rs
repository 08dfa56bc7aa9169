//! Snapshots as files: `<state dir>/snapshots/<id>.json`, mode 0600 in a 0700 directory.
//! Ids are generated from the time (`20261206-024649`, `…-2` on a collision) and checked on
//! every read, so no id can name a path outside the directory.

use std::fs::{self, DirBuilder, OpenOptions};
use std::io::{self, Write as _};
use std::os::unix::fs::{DirBuilderExt as _, OpenOptionsExt as _};
use std::path::{Path, PathBuf};

use super::Snapshot;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error(
        "invalid snapshot id {0:?}: ids are letters, digits, '-', '_' and '.' (at most 64, not \
         starting with '.'); see config_snapshot action=list"
    )]
    BadId(String),
    #[error("no snapshot {0:?}; see config_snapshot action=list")]
    NotFound(String),
    #[error("snapshot store {path}: {err}")]
    Io { path: String, err: io::Error },
    #[error("snapshot {id} is unreadable: {err}")]
    Corrupt { id: String, err: serde_json::Error },
}

/// A summary line of one stored snapshot.
#[derive(Debug, Clone, serde::Serialize, schemars::JsonSchema)]
pub struct Listed {
    pub id: String,
    pub cluster: String,
    pub taken: String,
    pub objects: usize,
    /// Scopes that were not captured
    pub missing: usize,
}

/// Snapshots kept: after each save the oldest beyond this are removed.
pub const MAX_SNAPSHOTS: usize = 50;

/// The snapshot directory under a state directory.
pub struct Store {
    dir: PathBuf,
}

/// Refuses ids that are not plain names.
pub fn check_id(id: &str) -> Result<(), StoreError> {
    let ok = !id.is_empty()
        && id.len() <= 64
        && !id.starts_with('.')
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
    if ok {
        Ok(())
    } else {
        Err(StoreError::BadId(id.chars().take(80).collect()))
    }
}

/// The id for a snapshot taken at `taken` (RFC 3339): `YYYYMMDD-HHMMSS`.
pub fn id_for(taken: &str) -> String {
    let digits: String = taken
        .chars()
        .filter(char::is_ascii_digit)
        .take(14)
        .collect();
    if digits.len() == 14 {
        format!("{}-{}", &digits[..8], &digits[8..])
    } else {
        "snapshot".into()
    }
}

impl Store {
    pub fn new(state_dir: &Path) -> Store {
        Store {
            dir: state_dir.join("snapshots"),
        }
    }

    fn io(&self, err: io::Error) -> StoreError {
        StoreError::Io {
            path: self.dir.display().to_string(),
            err,
        }
    }

    /// Writes `snap` under a fresh id derived from `snap.id` and returns that id. Never
    /// replaces an existing snapshot.
    pub fn save(&self, snap: &mut Snapshot) -> Result<String, StoreError> {
        check_id(&snap.id)?;
        DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&self.dir)
            .map_err(|e| self.io(e))?;
        crate::selfmgmt::backup::ensure_room(&self.dir, crate::selfmgmt::backup::MIN_FREE_BYTES)
            .map_err(|e| self.io(e))?;
        let base = snap.id.clone();
        for n in 1..1000 {
            let id = if n == 1 {
                base.clone()
            } else {
                format!("{base}-{n}")
            };
            let path = self.dir.join(format!("{id}.json"));
            let file = OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(&path);
            let mut file = match file {
                Ok(f) => f,
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(self.io(e)),
            };
            snap.id = id.clone();
            let body = serde_json::to_vec(&snap).map_err(|e| StoreError::Corrupt {
                id: id.clone(),
                err: e,
            })?;
            let written = file.write_all(&body).and_then(|()| file.sync_all());
            if let Err(e) = written {
                let _ = fs::remove_file(&path);
                return Err(self.io(e));
            }
            self.prune(MAX_SNAPSHOTS, &id);
            return Ok(id);
        }
        Err(self.io(io::Error::other("too many snapshots with the same id")))
    }

    /// Removes the oldest snapshot files (by modification time, then name) so at most `keep`
    /// remain; never `just_written`. Best effort.
    fn prune(&self, keep: usize, just_written: &str) {
        let Ok(rd) = fs::read_dir(&self.dir) else {
            return;
        };
        let mut found: Vec<(std::time::SystemTime, String)> = rd
            .flatten()
            .filter_map(|e| {
                let name = e.file_name().into_string().ok()?;
                check_id(name.strip_suffix(".json")?).ok()?;
                let meta = e.metadata().ok()?;
                let when = meta.modified().unwrap_or(std::time::UNIX_EPOCH);
                meta.file_type().is_file().then_some((when, name))
            })
            .collect();
        if found.len() <= keep {
            return;
        }
        found.sort();
        let excess = found.len() - keep;
        let mine = format!("{just_written}.json");
        for (_, name) in found.iter().filter(|(_, n)| *n != mine).take(excess) {
            let _ = fs::remove_file(self.dir.join(name));
        }
    }

    pub fn load(&self, id: &str) -> Result<Snapshot, StoreError> {
        check_id(id)?;
        let path = self.dir.join(format!("{id}.json"));
        let bytes = match fs::read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                return Err(StoreError::NotFound(id.into()));
            }
            Err(e) => return Err(self.io(e)),
        };
        serde_json::from_slice(&bytes).map_err(|err| StoreError::Corrupt { id: id.into(), err })
    }

    /// Every stored snapshot, oldest first (unreadable files are skipped).
    pub fn list(&self) -> Result<Vec<Listed>, StoreError> {
        let entries = match fs::read_dir(&self.dir) {
            Ok(rd) => rd,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(self.io(e)),
        };
        let mut out: Vec<Listed> = entries
            .flatten()
            .filter_map(|e| {
                let name = e.file_name().into_string().ok()?;
                let id = name.strip_suffix(".json")?;
                check_id(id).ok()?;
                let s = self.load(id).ok()?;
                Some(Listed {
                    id: s.id,
                    cluster: s.cluster,
                    taken: s.taken,
                    objects: s.objects.len(),
                    missing: s.missing.len(),
                })
            })
            .collect();
        out.sort_by(|a, b| (&a.taken, &a.id).cmp(&(&b.taken, &b.id)));
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;
    use std::os::unix::fs::PermissionsExt as _;

    #[test]
    fn ids_are_plain_names() {
        for bad in [
            "",
            "../x",
            "a/b",
            ".hidden",
            "a b",
            "x\0",
            &"a".repeat(65),
            "..",
            "ü",
        ] {
            assert!(check_id(bad).is_err(), "{bad:?} accepted");
        }
        for good in ["20261206-024649", "before-upgrade", "a.b_c-2"] {
            check_id(good).unwrap();
        }
        assert_eq!(id_for("2026-12-06T02:46:49.123Z"), "20261206-024649");
    }

    #[test]
    fn save_never_replaces_and_files_are_private() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::new(dir.path());
        let mut s = Snapshot {
            id: "20261206-024649".into(),
            cluster: "c".into(),
            taken: "2026-12-06T02:46:49Z".into(),
            objects: BTreeMap::new(),
            missing: BTreeMap::new(),
        };
        let first = store.save(&mut s.clone()).unwrap();
        let second = store.save(&mut s).unwrap();
        assert_eq!(
            (first.as_str(), second.as_str()),
            ("20261206-024649", "20261206-024649-2")
        );
        let mode = fs::metadata(dir.path().join("snapshots/20261206-024649.json"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        assert_eq!(store.load(&second).unwrap(), s);
        assert_eq!(store.list().unwrap().len(), 2);
        assert!(matches!(store.load("nope"), Err(StoreError::NotFound(_))));
        assert!(matches!(
            store.load("../snapshots/x"),
            Err(StoreError::BadId(_))
        ));
    }

    #[test]
    fn at_most_max_snapshots_are_kept() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::new(dir.path());
        let s = Snapshot {
            id: "s".into(),
            cluster: "c".into(),
            taken: "2026-12-06T02:46:49Z".into(),
            objects: BTreeMap::new(),
            missing: BTreeMap::new(),
        };
        let mut last = String::new();
        for _ in 0..MAX_SNAPSHOTS + 5 {
            last = store.save(&mut s.clone()).unwrap();
        }
        assert_eq!(store.list().unwrap().len(), MAX_SNAPSHOTS);
        store.load(&last).unwrap();
    }
}
