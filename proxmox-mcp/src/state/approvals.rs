//! Out-of-band approvals: a human grants them on the host (`proxmox-mcp approve ID`); the model
//! can only ask for one and later spend it.
//!
//! One file per approval, `<state>/approvals/ID.json` (0600). A record binds the SHA-256 of the
//! tool name and the canonical JSON of its arguments, so an approval only ever runs the exact
//! call a human saw. Every change (approve, deny, consume, prune) happens under an exclusive lock
//! on `<state>/approvals/.lock` with an atomic file replace, so an approval is spent exactly once
//! even when several processes race for it.

use std::fmt;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rand::Rng as _;
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

/// Sub-directory of the state directory holding the approvals.
pub const APPROVALS_DIR: &str = "approvals";
/// How long an approval may be used when the caller has no better idea.
pub const DEFAULT_TTL: Duration = Duration::from_secs(10 * 60);
/// Expired records are kept this long (listed as expired), then pruned on open.
pub const KEEP_EXPIRED: Duration = Duration::from_secs(60 * 60);
const LOCK_FILE: &str = ".lock";

/// Crockford base32: digits and capitals without I, L, O, U.
const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
/// Length of an approval id (50 random bits).
pub const ID_LEN: usize = 10;

/// A well-formed approval id: exactly [`ID_LEN`] Crockford base32 characters, upper case. Parsing
/// is the only way to get one, so an id can never name a path outside the approvals directory.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ApprovalId(String);

impl ApprovalId {
    /// A fresh random id.
    pub fn random() -> Self {
        let mut rng = rand::rng();
        Self(
            (0..ID_LEN)
                .map(|_| char::from(ALPHABET[rng.random_range(0..ALPHABET.len())]))
                .collect(),
        )
    }

    /// Parse what a human typed. Lower case is accepted, and so are Crockford's look-alikes
    /// (`I`/`L` for `1`, `O` for `0`); anything else is malformed.
    pub fn parse(s: &str) -> Result<Self, ApprovalError> {
        let malformed = || ApprovalError::Malformed(s.chars().take(40).collect());
        if s.len() != ID_LEN {
            return Err(malformed());
        }
        let mut id = String::with_capacity(ID_LEN);
        for c in s.chars() {
            let c = match c.to_ascii_uppercase() {
                'I' | 'L' => '1',
                'O' => '0',
                c => c,
            };
            if !c.is_ascii() || !ALPHABET.contains(&(c as u8)) {
                return Err(malformed());
            }
            id.push(c);
        }
        Ok(Self(id))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ApprovalId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Where an approval stands (expiry is separate: see [`Listed::expired`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ApprovalStatus {
    /// Waiting for a human.
    Pending,
    /// Granted; may be consumed once.
    Approved,
    /// Refused by a human.
    Denied,
    /// Granted and already consumed.
    Used,
}

impl fmt::Display for ApprovalStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ApprovalStatus::Pending => "pending",
            ApprovalStatus::Approved => "approved",
            ApprovalStatus::Denied => "denied",
            ApprovalStatus::Used => "used",
        })
    }
}

/// One approval record, as stored in `approvals/ID.json`. Times are Unix milliseconds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Approval {
    pub id: String,
    pub tool: String,
    /// Hex SHA-256 of the tool name, a NUL byte and the canonical JSON of the arguments.
    pub args_sha256: String,
    /// What the human is asked to approve, in words.
    pub summary: String,
    pub status: ApprovalStatus,
    pub created_ms: u64,
    pub expires_ms: u64,
    /// When it was approved, denied or consumed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decided_ms: Option<u64>,
}

/// An approval as listed, with its expiry evaluated against the store's clock.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listed {
    pub approval: Approval,
    pub expired: bool,
}

/// Why an approval could not be requested, granted or spent. Each refusal says which rule failed.
#[derive(Debug, thiserror::Error)]
pub enum ApprovalError {
    #[error(
        "malformed approval id {0:?}: expected {ID_LEN} characters of Crockford base32 \
         (0-9 and A-Z without I, L, O, U)"
    )]
    Malformed(String),
    #[error("unknown approval id {0} (never issued, or expired and pruned)")]
    Unknown(ApprovalId),
    #[error("approval {0} is still pending: a human must run `proxmox-mcp approve {0}` first")]
    Pending(ApprovalId),
    #[error("approval {0} was denied")]
    Denied(ApprovalId),
    #[error("approval {0} has expired; request a new one")]
    Expired(ApprovalId),
    #[error("approval {0} was already used; each approval runs one call only")]
    AlreadyUsed(ApprovalId),
    #[error("approval {0} is bound to another tool or other arguments than this call")]
    OtherArguments(ApprovalId),
    #[error("approval record {path} is unreadable: {reason}")]
    Corrupt { path: PathBuf, reason: String },
    #[error("approval store {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
}

/// Where "now" comes from; tests inject their own.
pub type Clock = Arc<dyn Fn() -> SystemTime + Send + Sync>;

/// The approvals of one state directory.
#[derive(Clone)]
pub struct ApprovalStore {
    dir: PathBuf,
    clock: Clock,
}

impl fmt::Debug for ApprovalStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ApprovalStore")
            .field("dir", &self.dir)
            .finish_non_exhaustive()
    }
}

impl ApprovalStore {
    /// Open (creating, 0700) `<state_dir>/approvals` and prune long-expired records.
    pub fn open(state_dir: impl AsRef<Path>) -> Result<Self, ApprovalError> {
        Self::open_with_clock(state_dir, Arc::new(SystemTime::now))
    }

    /// [`ApprovalStore::open`] with an injected clock.
    pub fn open_with_clock(
        state_dir: impl AsRef<Path>,
        clock: Clock,
    ) -> Result<Self, ApprovalError> {
        let store = Self {
            dir: state_dir.as_ref().join(APPROVALS_DIR),
            clock,
        };
        super::ensure_private_dir(&store.dir).map_err(|e| store.io(&store.dir, e))?;
        store.prune()?;
        Ok(store)
    }

    /// The approvals directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Now, in Unix milliseconds, by the store's clock.
    pub fn now_ms(&self) -> u64 {
        unix_ms((self.clock)())
    }

    /// Ask a human to approve `tool` with exactly `args`. The record is pending until someone
    /// runs `proxmox-mcp approve ID` and expires after `ttl`.
    pub fn request(
        &self,
        tool: &str,
        args: &serde_json::Value,
        summary: &str,
        ttl: Duration,
    ) -> Result<Approval, ApprovalError> {
        let now = self.now_ms();
        let _lock = self.lock()?;
        let id = loop {
            let id = ApprovalId::random();
            if !self.path(&id).exists() {
                break id;
            }
        };
        let approval = Approval {
            id: id.to_string(),
            tool: tool.to_owned(),
            args_sha256: call_hash(tool, args),
            summary: summary.to_owned(),
            status: ApprovalStatus::Pending,
            created_ms: now,
            expires_ms: now.saturating_add(u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX)),
            decided_ms: None,
        };
        self.write(&id, &approval)?;
        Ok(approval)
    }

    /// Grant a pending approval (idempotent on an approved one).
    pub fn approve(&self, id: &str) -> Result<Approval, ApprovalError> {
        self.decide(id, ApprovalStatus::Approved)
    }

    /// Refuse a pending approval, or revoke an approved one that was not used yet.
    pub fn deny(&self, id: &str) -> Result<Approval, ApprovalError> {
        self.decide(id, ApprovalStatus::Denied)
    }

    /// Spend an approval for this call. Succeeds exactly once, and only when the approval was
    /// granted, has not expired and was issued for this very tool and these arguments.
    pub fn consume(
        &self,
        id: &str,
        tool: &str,
        args: &serde_json::Value,
    ) -> Result<(), ApprovalError> {
        let id = ApprovalId::parse(id)?;
        let _lock = self.lock()?;
        let mut approval = self.read(&id)?;
        let now = self.now_ms();
        match approval.status {
            ApprovalStatus::Pending if now >= approval.expires_ms => {
                return Err(ApprovalError::Expired(id));
            }
            ApprovalStatus::Pending => return Err(ApprovalError::Pending(id)),
            ApprovalStatus::Denied => return Err(ApprovalError::Denied(id)),
            ApprovalStatus::Used => return Err(ApprovalError::AlreadyUsed(id)),
            ApprovalStatus::Approved => {}
        }
        if now >= approval.expires_ms {
            return Err(ApprovalError::Expired(id));
        }
        if approval.tool != tool || approval.args_sha256 != call_hash(tool, args) {
            return Err(ApprovalError::OtherArguments(id));
        }
        approval.status = ApprovalStatus::Used;
        approval.decided_ms = Some(now);
        self.write(&id, &approval)
    }

    /// Every record still on disk (pending, decided, recently expired), newest first.
    pub fn list(&self) -> Result<Vec<Listed>, ApprovalError> {
        let now = self.now_ms();
        let mut all: Vec<Listed> = self
            .ids()?
            .iter()
            // A record removed by a concurrent prune, or garbled, is simply not listed.
            .filter_map(|id| self.read(id).ok())
            .map(|approval| Listed {
                expired: now >= approval.expires_ms,
                approval,
            })
            .collect();
        all.sort_by(|a, b| {
            (b.approval.created_ms, &b.approval.id).cmp(&(a.approval.created_ms, &a.approval.id))
        });
        Ok(all)
    }

    /// One record.
    pub fn get(&self, id: &str) -> Result<Approval, ApprovalError> {
        self.read(&ApprovalId::parse(id)?)
    }

    fn decide(&self, id: &str, to: ApprovalStatus) -> Result<Approval, ApprovalError> {
        let id = ApprovalId::parse(id)?;
        let _lock = self.lock()?;
        let mut approval = self.read(&id)?;
        let now = self.now_ms();
        match (approval.status, to) {
            (ApprovalStatus::Used, _) => return Err(ApprovalError::AlreadyUsed(id)),
            (ApprovalStatus::Denied, ApprovalStatus::Denied) => return Ok(approval),
            (ApprovalStatus::Denied, _) => return Err(ApprovalError::Denied(id)),
            _ if now >= approval.expires_ms => return Err(ApprovalError::Expired(id)),
            (from, to) if from == to => return Ok(approval),
            _ => {}
        }
        approval.status = to;
        approval.decided_ms = Some(now);
        self.write(&id, &approval)?;
        Ok(approval)
    }

    /// Remove records expired for longer than [`KEEP_EXPIRED`], and stale temporary files.
    fn prune(&self) -> Result<(), ApprovalError> {
        let keep_ms = u64::try_from(KEEP_EXPIRED.as_millis()).unwrap_or(u64::MAX);
        let now = self.now_ms();
        let _lock = self.lock()?;
        for entry in fs::read_dir(&self.dir).map_err(|e| self.io(&self.dir, e))? {
            let entry = entry.map_err(|e| self.io(&self.dir, e))?;
            let name = entry.file_name();
            let name = name.to_string_lossy();
            // Temporary files of a writer that died; live writers hold the lock we hold.
            if name.starts_with('.') && name.contains(".tmp.") {
                let _ = fs::remove_file(entry.path());
                continue;
            }
            let Some(id) = id_of_file(&name) else {
                continue;
            };
            if let Ok(a) = self.read(&id)
                && now >= a.expires_ms.saturating_add(keep_ms)
            {
                fs::remove_file(entry.path()).map_err(|e| self.io(&entry.path(), e))?;
            }
        }
        Ok(())
    }

    fn ids(&self) -> Result<Vec<ApprovalId>, ApprovalError> {
        let mut ids = Vec::new();
        for entry in fs::read_dir(&self.dir).map_err(|e| self.io(&self.dir, e))? {
            let entry = entry.map_err(|e| self.io(&self.dir, e))?;
            if let Some(id) = id_of_file(&entry.file_name().to_string_lossy()) {
                ids.push(id);
            }
        }
        Ok(ids)
    }

    fn path(&self, id: &ApprovalId) -> PathBuf {
        self.dir.join(format!("{id}.json"))
    }

    fn read(&self, id: &ApprovalId) -> Result<Approval, ApprovalError> {
        let path = self.path(id);
        let bytes = match fs::read(&path) {
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                return Err(ApprovalError::Unknown(id.clone()));
            }
            Err(e) => return Err(self.io(&path, e)),
            Ok(b) => b,
        };
        let approval: Approval =
            serde_json::from_slice(&bytes).map_err(|e| ApprovalError::Corrupt {
                path: path.clone(),
                reason: e.to_string(),
            })?;
        if approval.id != id.as_str() {
            return Err(ApprovalError::Corrupt {
                path,
                reason: format!("the record names id {:?}", approval.id),
            });
        }
        Ok(approval)
    }

    fn write(&self, id: &ApprovalId, approval: &Approval) -> Result<(), ApprovalError> {
        let mut json = serde_json::to_vec_pretty(approval).map_err(|e| ApprovalError::Corrupt {
            path: self.path(id),
            reason: e.to_string(),
        })?;
        json.push(b'\n');
        super::write_atomic(&self.dir, &format!("{id}.json"), &json)
            .map_err(|e| self.io(&self.path(id), e))
    }

    fn lock(&self) -> Result<fs::File, ApprovalError> {
        let path = self.dir.join(LOCK_FILE);
        super::lock_exclusive(&path).map_err(|e| self.io(&path, e))
    }

    fn io(&self, path: &Path, source: io::Error) -> ApprovalError {
        ApprovalError::Io {
            path: path.to_path_buf(),
            source,
        }
    }
}

/// The id of a record file name `ID.json`, if it is one.
fn id_of_file(name: &str) -> Option<ApprovalId> {
    let stem = name.strip_suffix(".json")?;
    let id = ApprovalId::parse(stem).ok()?;
    // Only the canonical spelling names a record (`abc….json` is not ours).
    (id.as_str() == stem).then_some(id)
}

/// Hex SHA-256 of `tool`, a NUL byte and the canonical JSON of `args`: what an approval binds.
pub fn call_hash(tool: &str, args: &serde_json::Value) -> String {
    let mut canonical = String::new();
    canonical_json(args, &mut canonical);
    let mut hasher = Sha256::new();
    hasher.update(tool.as_bytes());
    hasher.update([0]);
    hasher.update(canonical.as_bytes());
    hex::encode(hasher.finalize())
}

/// Compact JSON with object keys sorted (by their UTF-8 bytes) at every level.
pub fn canonical_json(value: &serde_json::Value, out: &mut String) {
    use serde_json::Value;
    match value {
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                canonical_json(item, out);
            }
            out.push(']');
        }
        Value::Object(map) => {
            let mut entries: Vec<_> = map.iter().collect();
            entries.sort_by(|a, b| a.0.cmp(b.0));
            out.push('{');
            for (i, (key, item)) in entries.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String(key.clone()).to_string());
                out.push(':');
                canonical_json(item, out);
            }
            out.push('}');
        }
        scalar => out.push_str(&scalar.to_string()),
    }
}

fn unix_ms(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn check_id(input: &str, want: Option<&str>) {
        let got = ApprovalId::parse(input).ok().map(|id| id.to_string());
        assert_eq!(got.as_deref(), want, "input {input:?}");
    }

    #[test]
    fn ids() {
        check_id("0123456789", Some("0123456789"));
        check_id("abcdefghjk", Some("ABCDEFGHJK"));
        check_id("ILOilo0000", Some("1101100000"));
        check_id("", None);
        check_id("../x", None);
        check_id("../../etc/", None);
        check_id("ABCDEFGHJKM", None);
        check_id("ABCDEFGHJ", None);
        check_id("ABCDEFGHJ\0", None);
        check_id("ABCDEFGHJU", None);
        check_id("ABCDEFGH/K", None);
        check_id("ABCDEFGHJé", None);
        for _ in 0..100 {
            let id = ApprovalId::random();
            assert_eq!(ApprovalId::parse(id.as_str()).unwrap(), id);
        }
    }

    #[test]
    fn canonical_json_sorts_keys_at_every_level() {
        let mut s = String::new();
        canonical_json(
            &json!({"b": 1, "a": {"d": [true, null, {"z": "x", "y": 1.5}], "c": "é\"\n"}}),
            &mut s,
        );
        assert_eq!(
            s,
            r#"{"a":{"c":"é\"\n","d":[true,null,{"y":1.5,"z":"x"}]},"b":1}"#
        );
        assert_eq!(
            call_hash("t", &json!({"a": 1, "b": 2})),
            call_hash("t", &json!({"b": 2, "a": 1}))
        );
        assert_ne!(
            call_hash("t", &json!({"a": 1})),
            call_hash("u", &json!({"a": 1}))
        );
        assert_ne!(
            call_hash("t", &json!({"a": 1})),
            call_hash("t", &json!({"a": "1"}))
        );
    }
}
