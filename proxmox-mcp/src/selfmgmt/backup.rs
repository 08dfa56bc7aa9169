//! Backups of the server's own configuration and state: the config file, the mode, pending
//! approvals and the HTTP bridge's token hashes, as versioned tar.gz archives under
//! `<state>/backups/` (mode 0600). [`create`], [`list`], [`plan`] (read, check and compare,
//! changing nothing) and [`restore`] (a pre-restore backup, then every file swapped in by
//! rename). The archive format and its checks are pure, in [`archive`]; the file IO is in
//! `fsio`.

pub mod archive;
mod diff;
mod fsio;

use std::collections::BTreeMap;
use std::fs;
use std::io;
use std::os::unix::fs::DirBuilderExt as _;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use serde::Serialize;

use archive::{APPROVALS_PREFIX, BRIDGE_TOKENS_PATH, CONFIG_PATH, Kind, MODE_PATH, Refusal};
use fsio::{lock_state, read_capped, stage, sync_parent, write_new};

/// The folder under the state directory that holds the archives.
pub const BACKUPS_DIR: &str = "backups";
const SUFFIX: &str = ".tar.gz";
/// Archives kept: after each write the oldest beyond this are removed (pre-restore and
/// pre-update backups count too).
pub const MAX_BACKUPS: usize = 20;
/// Free space the state directory's file system must keep: below it nothing is written.
pub const MIN_FREE_BYTES: u64 = 64 << 20;

/// Where the files a backup holds live: built from the loaded configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackupRoots {
    /// The configuration file in use, if any.
    pub config_file: Option<PathBuf>,
    /// The state directory: mode, approvals, the bridge's `bridge/tokens.json`, and `backups/`.
    pub state_dir: PathBuf,
}

impl BackupRoots {
    pub fn from_config(cfg: &crate::config::Config) -> Self {
        BackupRoots {
            config_file: cfg.source.clone(),
            state_dir: cfg.state_dir.clone(),
        }
    }

    pub fn backups_dir(&self) -> PathBuf {
        self.state_dir.join(BACKUPS_DIR)
    }

    /// The bridge's token store (hashes only; its plain-text `secret` file is never backed up).
    pub fn bridge_tokens(&self) -> PathBuf {
        self.state_dir
            .join(proxmox_mcp_contract::paths::BRIDGE_STATE_SUBDIR)
            .join("tokens.json")
    }

    /// The live file an archive path stands for.
    fn target(&self, path: &str) -> Option<PathBuf> {
        match archive::classify(path)? {
            Kind::Config => self.config_file.clone(),
            Kind::Mode => Some(self.state_dir.join(crate::state::mode::MODE_FILE)),
            Kind::BridgeTokens => Some(self.bridge_tokens()),
            Kind::Approval => Some(
                self.state_dir
                    .join(crate::state::approvals::APPROVALS_DIR)
                    .join(path.strip_prefix(APPROVALS_PREFIX)?),
            ),
        }
    }

    /// The live files, by archive path.
    fn gather(&self) -> Result<BTreeMap<String, Vec<u8>>, BackupError> {
        let mut files = BTreeMap::new();
        let mut paths = vec![MODE_PATH.to_owned(), BRIDGE_TOKENS_PATH.to_owned()];
        if self.config_file.is_some() {
            paths.push(CONFIG_PATH.to_owned());
        }
        paths.extend(self.live_approvals()?);
        for path in paths {
            let Some(target) = self.target(&path) else {
                continue;
            };
            if let Some(data) = read_capped(&target, archive::MAX_FILE_BYTES)? {
                if archive::classify(&path) == Some(Kind::Approval) && !is_pending(&data) {
                    continue;
                }
                files.insert(path, data);
            }
        }
        Ok(files)
    }

    /// Archive paths of the approval files on disk.
    fn live_approvals(&self) -> Result<Vec<String>, BackupError> {
        let dir = self.state_dir.join(crate::state::approvals::APPROVALS_DIR);
        let rd = match fs::read_dir(&dir) {
            Ok(rd) => rd,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(BackupError::io(&dir, e)),
        };
        let mut out = Vec::new();
        for e in rd {
            let e = e.map_err(|e| BackupError::io(&dir, e))?;
            let path = format!("{APPROVALS_PREFIX}{}", e.file_name().to_string_lossy());
            if archive::classify(&path) == Some(Kind::Approval) {
                out.push(path);
            }
        }
        out.sort();
        Ok(out)
    }
}

/// Whether `data` is an approval still waiting for a human (only those are backed up).
fn is_pending(data: &[u8]) -> bool {
    serde_json::from_slice::<crate::state::Approval>(data)
        .is_ok_and(|a| a.status == crate::state::ApprovalStatus::Pending)
}

/// What went wrong with a backup or a restore.
#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    #[error("backup {0:?} does not exist; `backup_config` with action list shows them")]
    NotFound(String),
    #[error("{0}")]
    BadName(String),
    #[error("backup {name:?} refused, nothing was changed: {refusal}")]
    Refused { name: String, refusal: Refusal },
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("backup {name:?} changed after it was checked; nothing was changed")]
    Changed { name: String },
    #[error(
        "the live configuration or state (mode, approvals, bridge tokens, config file) changed \
         since the restore was approved; nothing was changed: ask again to see the new changes"
    )]
    Drifted,
    #[error(
        "the restore stopped part way ({source}); backup {pre_restore:?} holds the files as \
         they were before it"
    )]
    Partial {
        pre_restore: String,
        source: Box<BackupError>,
    },
}

impl BackupError {
    fn io(path: &Path, source: io::Error) -> Self {
        BackupError::Io {
            path: path.to_owned(),
            source,
        }
    }
}

/// One archive as listed.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct BackupInfo {
    pub name: String,
    /// UTC, `YYYY-MM-DDTHH:MM:SSZ`
    pub created: String,
    /// Archive size in bytes
    pub size: u64,
    pub reason: String,
    pub server_version: String,
    /// Files it holds
    pub files: usize,
}

fn info(name: &str, size: u64, m: &archive::Manifest) -> BackupInfo {
    BackupInfo {
        name: name.to_owned(),
        created: utc_text(m.created),
        size,
        reason: m.reason.clone(),
        server_version: m.server_version.clone(),
        files: m.files.len(),
    }
}

/// `YYYY-MM-DDTHH:MM:SSZ` of Unix seconds.
pub fn utc_text(secs: u64) -> String {
    let day = (secs / 86_400) as i64;
    let (y, m, d) = crate::audit::event::civil_from_days(day);
    let s = secs % 86_400;
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        s / 3600,
        s / 60 % 60,
        s % 60
    )
}

/// Writes a backup of everything [`BackupRoots`] points at, with `reason` in its manifest.
pub fn create(roots: &BackupRoots, reason: &str) -> Result<BackupInfo, BackupError> {
    let files = roots.gather()?;
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs();
    let (manifest, bytes) = archive::pack(env!("CARGO_PKG_VERSION"), now, reason, &files)
        .map_err(|e| BackupError::io(&roots.backups_dir(), e))?;
    let dir = roots.backups_dir();
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(&dir)
        .map_err(|e| BackupError::io(&dir, e))?;
    ensure_room(&dir, MIN_FREE_BYTES).map_err(|e| BackupError::io(&dir, e))?;
    let stamp = utc_text(now).replace(['-', ':'], "");
    let name = format!("config-{stamp}-{:04x}{SUFFIX}", rand::random::<u16>());
    write_new(&dir, &name, &bytes)?;
    prune(&dir, MAX_BACKUPS, &name);
    Ok(info(&name, bytes.len() as u64, &manifest))
}

/// Refuses (as an IO error) when the file system holding `dir` has less than `min` bytes
/// free for unprivileged writers: a full state disk stops the mode and approvals working.
pub fn ensure_room(dir: &Path, min: u64) -> io::Result<()> {
    let st = rustix::fs::statvfs(dir).map_err(io::Error::from)?;
    let free = st.f_bavail.saturating_mul(st.f_frsize);
    if free < min {
        return Err(io::Error::other(format!(
            "only {} MiB free on this file system, under the {} MiB kept free; nothing was \
             written",
            free >> 20,
            min >> 20
        )));
    }
    Ok(())
}

/// Removes the oldest archives (by modification time, then name) so at most `keep` remain;
/// never `just_written`. Best effort: a file that does not go stays.
fn prune(dir: &Path, keep: usize, just_written: &str) {
    let Ok(rd) = fs::read_dir(dir) else {
        return;
    };
    let mut found: Vec<(SystemTime, String)> = rd
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().into_string().ok()?;
            check_name(&name).ok()?;
            let meta = e.metadata().ok()?;
            meta.file_type()
                .is_file()
                .then(|| (meta.modified().unwrap_or(UNIX_EPOCH), name))
        })
        .collect();
    if found.len() <= keep {
        return;
    }
    found.sort();
    let excess = found.len() - keep;
    for (_, name) in found.iter().filter(|(_, n)| n != just_written).take(excess) {
        let _ = fs::remove_file(dir.join(name));
    }
}

/// An archive that does not read: its name and why.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct Unreadable {
    pub name: String,
    pub problem: String,
}

/// Every archive, newest first; those that fail their checks apart, with the reason.
pub fn list(roots: &BackupRoots) -> Result<(Vec<BackupInfo>, Vec<Unreadable>), BackupError> {
    let dir = roots.backups_dir();
    let rd = match fs::read_dir(&dir) {
        Ok(rd) => rd,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok((Vec::new(), Vec::new())),
        Err(e) => return Err(BackupError::io(&dir, e)),
    };
    let mut names: Vec<String> = rd
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| check_name(n).is_ok())
        .collect();
    names.sort_unstable_by(|a, b| b.cmp(a));
    let (mut good, mut bad) = (Vec::new(), Vec::new());
    for name in names {
        match peek(roots, &name) {
            Ok((size, manifest)) => good.push(info(&name, size, &manifest)),
            Err(e) => bad.push(Unreadable {
                name,
                problem: e.to_string(),
            }),
        }
    }
    Ok((good, bad))
}

/// A backup name: `NAME.tar.gz` of letters, digits, `-`, `_` and `.`, not starting with `.`.
pub fn check_name(name: &str) -> Result<(), BackupError> {
    let ok = name.len() <= 128
        && name.ends_with(SUFFIX)
        && name.len() > SUFFIX.len()
        && !name.starts_with('.')
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if ok {
        Ok(())
    } else {
        Err(BackupError::BadName(format!(
            "{name:?} is not a backup name: expected a file name ending in {SUFFIX} (letters, \
             digits, `-`, `_`, `.`), as `backup_config` with action list shows"
        )))
    }
}

/// The size and manifest of `backups/name` (a regular file, not followed through a link),
/// read from the archive's first entry only: listing never reads whole archives.
fn peek(roots: &BackupRoots, name: &str) -> Result<(u64, archive::Manifest), BackupError> {
    use std::os::unix::fs::OpenOptionsExt as _;
    let path = roots.backups_dir().join(name);
    let refused = |msg: String| BackupError::Refused {
        name: name.to_owned(),
        refusal: Refusal(msg),
    };
    let file = fs::OpenOptions::new()
        .read(true)
        .custom_flags(rustix::fs::OFlags::NOFOLLOW.bits() as i32)
        .open(&path)
        .map_err(|e| BackupError::io(&path, e))?;
    let meta = file.metadata().map_err(|e| BackupError::io(&path, e))?;
    if !meta.file_type().is_file() {
        return Err(refused("it is not a regular file".into()));
    }
    if meta.len() > archive::MAX_ARCHIVE_BYTES {
        return Err(refused(format!(
            "the archive is {} bytes, more than the cap of {}",
            meta.len(),
            archive::MAX_ARCHIVE_BYTES
        )));
    }
    let manifest = archive::read_manifest(io::BufReader::new(file)).map_err(|refusal| {
        BackupError::Refused {
            name: name.to_owned(),
            refusal,
        }
    })?;
    Ok((meta.len(), manifest))
}

/// Reads `backups/name` (a regular file, not followed through a link) and checks it whole.
fn open(roots: &BackupRoots, name: &str) -> Result<(Vec<u8>, archive::Unpacked), BackupError> {
    check_name(name)?;
    let path = roots.backups_dir().join(name);
    let meta = match fs::symlink_metadata(&path) {
        Ok(m) => m,
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            return Err(BackupError::NotFound(name.to_owned()));
        }
        Err(e) => return Err(BackupError::io(&path, e)),
    };
    let refused = |msg: String| BackupError::Refused {
        name: name.to_owned(),
        refusal: Refusal(msg),
    };
    if !meta.file_type().is_file() {
        return Err(refused("it is not a regular file".into()));
    }
    let Some(bytes) = read_capped(&path, archive::MAX_ARCHIVE_BYTES)? else {
        return Err(BackupError::NotFound(name.to_owned()));
    };
    let unpacked = archive::unpack(&bytes).map_err(|refusal| BackupError::Refused {
        name: name.to_owned(),
        refusal,
    })?;
    Ok((bytes, unpacked))
}

/// What a restore does to one file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Effect {
    Added,
    Changed,
    Removed,
    Unchanged,
    /// An approval whose record on disk is newer: left as it is
    Kept,
    /// An approval whose expiry has passed: not brought back
    Expired,
}

impl Effect {
    pub fn as_str(self) -> &'static str {
        match self {
            Effect::Added => "added",
            Effect::Changed => "changed",
            Effect::Removed => "removed",
            Effect::Unchanged => "unchanged",
            Effect::Kept => "kept",
            Effect::Expired => "expired, not restored",
        }
    }
}

/// One file's fate in a restore.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct Change {
    /// Path inside the archive (`config.toml`, `state/mode`, …)
    pub path: String,
    pub effect: Effect,
}

/// A restore as it would happen: the archive checked and compared with the live files.
#[derive(Debug, Clone, Serialize)]
pub struct RestorePlan {
    pub backup: BackupInfo,
    /// Hex SHA-256 of the archive: the restore runs only on these exact bytes.
    pub archive_sha256: String,
    pub changes: Vec<Change>,
    /// What changes, in values: the mode old -> new, bridge tokens added and removed, the
    /// config file's changed keys (secrets masked)
    pub details: Vec<String>,
    /// The restore makes the mode less safe
    pub less_safe: bool,
    /// Hex SHA-256 over the live mode, config file and bridge tokens: the restore runs only if
    /// they still match.
    pub live_sha256: String,
    #[serde(skip)]
    files: BTreeMap<String, Vec<u8>>,
    /// Live files the archive does not hold that are removed (approvals, the mode).
    #[serde(skip)]
    removals: Vec<String>,
}

impl RestorePlan {
    /// `config.toml changed, state/mode changed, 2 unchanged`: what a human reads.
    pub fn summary(&self) -> String {
        let mut parts: Vec<String> = self
            .changes
            .iter()
            .filter(|c| c.effect != Effect::Unchanged)
            .map(|c| format!("{} {}", c.path, c.effect.as_str()))
            .collect();
        let same = self.changes.len() - parts.len();
        if same > 0 {
            parts.push(format!("{same} unchanged"));
        }
        parts.extend(self.details.iter().cloned());
        if parts.is_empty() {
            "nothing to change".into()
        } else {
            parts.join(", ")
        }
    }
}

/// Reads, checks and compares backup `name` with the live files; changes nothing.
pub fn plan(roots: &BackupRoots, name: &str) -> Result<RestorePlan, BackupError> {
    let (bytes, unpacked) = open(roots, name)?;
    if unpacked.files.contains_key(CONFIG_PATH) && roots.config_file.is_none() {
        return Err(BackupError::Refused {
            name: name.to_owned(),
            refusal: Refusal(
                "it holds a configuration file, but this server runs without one (start it \
                 with --config FILE to restore it there)"
                    .into(),
            ),
        });
    }
    let live = roots.gather()?;
    let mut changes = Vec::new();
    let on_disk = roots.live_approvals()?;
    let now_ms = u64::try_from(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_millis(),
    )
    .unwrap_or(u64::MAX);
    for (path, data) in &unpacked.files {
        let expired = archive::classify(path) == Some(Kind::Approval)
            && serde_json::from_slice::<crate::state::Approval>(data)
                .is_ok_and(|a| now_ms >= a.expires_ms);
        let effect = match live.get(path) {
            _ if expired && !on_disk.contains(path) => Effect::Expired,
            // An approval record on disk (whatever its status) is newer: it is kept.
            None if on_disk.contains(path) => Effect::Kept,
            Some(old) if old != data && archive::classify(path) == Some(Kind::Approval) => {
                Effect::Kept
            }
            None => Effect::Added,
            Some(old) if old == data => Effect::Unchanged,
            Some(_) => Effect::Changed,
        };
        changes.push(Change {
            path: path.clone(),
            effect,
        });
    }
    // A mode the archive does not hold is the default: the live one goes. Approvals it does
    // not hold expire on their own, and a config file or token store it does not hold is left
    // as it is.
    let removals: Vec<String> = live
        .keys()
        .filter(|p| !unpacked.files.contains_key(*p))
        .filter(|p| archive::classify(p) == Some(Kind::Mode))
        .cloned()
        .collect();
    for path in &removals {
        changes.push(Change {
            path: path.clone(),
            effect: Effect::Removed,
        });
    }
    let (old, new) = (
        |p: &str| live.get(p).map(Vec::as_slice),
        |p: &str| unpacked.files.get(p).map(Vec::as_slice),
    );
    let mut details = Vec::new();
    let mut less_safe = false;
    if let Some((line, less)) = diff::mode_change(old(MODE_PATH), new(MODE_PATH)) {
        details.push(line);
        less_safe = less;
    }
    if new(BRIDGE_TOKENS_PATH).is_some() {
        details.extend(diff::token_changes(
            old(BRIDGE_TOKENS_PATH),
            new(BRIDGE_TOKENS_PATH),
        ));
    }
    if new(CONFIG_PATH).is_some() {
        details.extend(diff::config_changes(old(CONFIG_PATH), new(CONFIG_PATH)));
    }
    Ok(RestorePlan {
        backup: info(name, bytes.len() as u64, &unpacked.manifest),
        archive_sha256: archive::sha256_hex(&bytes),
        changes,
        details,
        less_safe,
        live_sha256: live_digest(&live),
        files: unpacked.files,
        removals,
    })
}

/// A digest of the live mode, config file and bridge token store (path and contents).
/// Approvals are left out: asking for and granting the restore's own approval changes them.
fn live_digest(live: &BTreeMap<String, Vec<u8>>) -> String {
    let mut all = Vec::new();
    for (path, data) in live {
        if archive::classify(path) == Some(Kind::Approval) {
            continue;
        }
        all.extend_from_slice(path.as_bytes());
        all.push(0);
        all.extend_from_slice(archive::sha256_hex(data).as_bytes());
        all.push(b'\n');
    }
    archive::sha256_hex(&all)
}

/// What a restore did.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct Restored {
    pub restored: BackupInfo,
    /// The backup of the live files taken just before
    pub pre_restore: BackupInfo,
    pub changes: Vec<Change>,
    /// What changed, in values (mode, bridge tokens, config keys)
    pub details: Vec<String>,
}

/// Restores backup `name`: checks it whole (and, with `expect_sha256`, that it is the archive a
/// human approved), takes a pre-restore backup, writes every new file beside its target, then
/// renames them into place and removes what the archive does not hold. Holds the mode's and
/// the approvals' locks while it swaps.
///
/// With `expect_live`, the live files must still be as they were when the plan a human saw was
/// made: a mode lowered since then, or a token revoked, refuses the restore.
pub fn restore(
    roots: &BackupRoots,
    name: &str,
    expect_sha256: Option<&str>,
    expect_live: Option<&str>,
) -> Result<Restored, BackupError> {
    let _locks = lock_state(roots)?;
    let plan = plan(roots, name)?;
    if expect_sha256.is_some_and(|want| want != plan.archive_sha256) {
        return Err(BackupError::Changed {
            name: name.to_owned(),
        });
    }
    if expect_live.is_some_and(|want| want != plan.live_sha256) {
        return Err(BackupError::Drifted);
    }
    let pre_restore = create(roots, &format!("pre-restore of {name}"))?;
    let mut staged: Vec<(PathBuf, PathBuf)> = Vec::new();
    let stage_all = (|| {
        let writes = plan
            .changes
            .iter()
            .filter(|c| matches!(c.effect, Effect::Added | Effect::Changed));
        for c in writes {
            let target = roots.target(&c.path).ok_or_else(|| {
                BackupError::io(
                    Path::new(&c.path),
                    io::Error::other("no place to restore to"),
                )
            })?;
            let tmp = stage(&target, &plan.files[&c.path])?;
            staged.push((tmp, target));
        }
        Ok::<_, BackupError>(())
    })();
    if let Err(e) = stage_all {
        for (tmp, _) in &staged {
            let _ = fs::remove_file(tmp);
        }
        return Err(e);
    }
    let partial = |source: BackupError| BackupError::Partial {
        pre_restore: pre_restore.name.clone(),
        source: Box::new(source),
    };
    for (i, (tmp, target)) in staged.iter().enumerate() {
        if let Err(e) = fs::rename(tmp, target) {
            for (tmp, _) in &staged[i..] {
                let _ = fs::remove_file(tmp);
            }
            let e = BackupError::io(target, e);
            return Err(if i == 0 { e } else { partial(e) });
        }
        sync_parent(target).map_err(partial)?;
    }
    for path in &plan.removals {
        if let Some(target) = roots.target(path) {
            match fs::remove_file(&target) {
                Ok(()) => sync_parent(&target).map_err(partial)?,
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => return Err(partial(BackupError::io(&target, e))),
            }
        }
    }
    Ok(Restored {
        restored: plan.backup,
        pre_restore,
        changes: plan.changes,
        details: plan.details,
    })
}

#[cfg(test)]
mod tests;
