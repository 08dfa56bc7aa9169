//! The host-side safety state one engine holds: the persisted mode, the audit log, out-of-band
//! approvals, and the key that seals confirmation state handed to MCP clients with the record of
//! the states already spent.
//!
//! Everything is opened lazily under the state directory, so a read-only tool still answers when
//! the state directory is not writable; a mutation then fails closed (it is never run unaudited).

pub mod confirm;

use std::fs;
use std::io::{self, Write as _};
use std::os::unix::fs::{DirBuilderExt as _, OpenOptionsExt as _};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rand::RngCore as _;
use rmcp::model::{RequestStateCodec, SealOptions};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::audit::AuditLog;
use crate::config::{AuditConfig, PolicyConfig};
use crate::policy::engine::Policy;
use crate::policy::mode::Mode;
use crate::policy::protect::{Identity, ProtectedGuests};
use crate::state::{ApprovalStore, ModeStatus, ModeStore, SpentStore};

/// File (0600) in the state directory holding the key that seals MRTR `requestState`.
const SEAL_KEY_FILE: &str = "request-state.key";

/// The safety state of one engine.
pub struct Safety {
    state_dir: PathBuf,
    modes: ModeStore,
    policy: PolicyConfig,
    audit_cfg: AuditConfig,
    audit: OnceLock<Result<AuditLog, String>>,
    approvals: OnceLock<Result<ApprovalStore, String>>,
    codec: OnceLock<Result<RequestStateCodec, String>>,
    /// Confirmation states already answered, on disk: each is good once per host.
    spent: SpentStore,
}

/// What a sealed confirmation state says. Bound to the call by the seal's associated data
/// (the hash of tool and arguments) and by its TTL.
#[derive(Debug, Serialize, Deserialize)]
struct Pending {
    tool: String,
    nonce: String,
    expires_ms: u64,
}

impl Safety {
    pub fn new(state_dir: &Path, policy: PolicyConfig, audit: AuditConfig) -> Self {
        // Mask the sealing key everywhere from the start, even before it is first used.
        if let Ok(key) = fs::read(state_dir.join(SEAL_KEY_FILE)) {
            crate::audit::redact::register_secret_bytes(&key);
        }
        Safety {
            state_dir: state_dir.to_owned(),
            modes: ModeStore::open(state_dir),
            policy,
            audit_cfg: audit,
            audit: OnceLock::new(),
            approvals: OnceLock::new(),
            codec: OnceLock::new(),
            spent: SpentStore::open(state_dir),
        }
    }

    pub fn state_dir(&self) -> &Path {
        &self.state_dir
    }

    /// The mode in force now (re-read when another process changed it).
    pub fn mode(&self) -> Mode {
        self.modes.get().into()
    }

    /// The mode and, when the mode file was unreadable, why `read-only` was assumed.
    pub fn mode_status(&self) -> ModeStatus {
        self.modes.status()
    }

    /// Store `mode` for every process on the host; returns the previous one.
    pub fn set_mode(&self, mode: Mode) -> Result<Mode, String> {
        self.modes
            .set(mode.into())
            .map(Into::into)
            .map_err(|e| e.to_string())
    }

    /// The policy for a call made with `identity`, in the current mode.
    pub fn policy(&self, identity: Identity) -> Policy {
        Policy {
            mode: self.mode(),
            protected_guests: ProtectedGuests {
                vmids: self.policy.protected_vmids.clone(),
                tags: self.policy.protected_tags.clone(),
            },
            identity,
        }
    }

    /// How long approvals and pending confirmations stay valid.
    pub fn approval_ttl(&self) -> Duration {
        self.policy.approval_ttl
    }

    /// The audit log, opened (and pruned) on first use.
    pub fn audit(&self) -> Result<&AuditLog, String> {
        self.audit
            .get_or_init(|| {
                AuditLog::open(&self.state_dir.join("audit"), self.audit_cfg.retention)
                    .map(|log| log.with_journal(self.audit_cfg.journal_socket.as_deref()))
                    .map_err(|e| format!("the audit log cannot be opened: {e}"))
            })
            .as_ref()
            .map_err(Clone::clone)
    }

    /// The out-of-band approvals of this host.
    pub fn approvals(&self) -> Result<&ApprovalStore, String> {
        self.approvals
            .get_or_init(|| {
                ApprovalStore::open(&self.state_dir)
                    .map_err(|e| format!("the approval store cannot be opened: {e}"))
            })
            .as_ref()
            .map_err(Clone::clone)
    }

    fn codec(&self) -> Result<&RequestStateCodec, String> {
        self.codec
            .get_or_init(|| {
                let key = seal_key(&self.state_dir).map_err(|e| {
                    format!(
                        "cannot read or create {}: {e}",
                        self.state_dir.join(SEAL_KEY_FILE).display()
                    )
                })?;
                crate::audit::redact::register_secret_bytes(&key);
                RequestStateCodec::try_new(key).map_err(|e| e.to_string())
            })
            .as_ref()
            .map_err(Clone::clone)
    }

    /// A sealed, expiring confirmation state for the call whose hash is `call_hash`.
    pub fn seal(&self, tool: &str, call_hash: &str) -> Result<String, String> {
        let ttl = self.approval_ttl();
        let mut nonce = [0u8; 16];
        rand::rng().fill_bytes(&mut nonce);
        let pending = Pending {
            tool: tool.to_owned(),
            nonce: hex::encode(nonce),
            expires_ms: now_ms().saturating_add(ttl.as_millis() as u64),
        };
        let opts = SealOptions::new()
            .associated_data(call_hash.as_bytes())
            .ttl(ttl);
        self.codec()?
            .seal_json_with(&pending, &opts)
            .map_err(|e| e.to_string())
    }

    /// The guest facts an asking round learned, sealed for the round that answers it: bound
    /// to the tool and its arguments (`args_hash`) and to the confirmation's TTL. The client
    /// can read them (nothing secret: the model saw the guests) but not change them.
    pub fn seal_facts(&self, tool: &str, args_hash: &str, facts: &Value) -> Result<String, String> {
        let ad = format!("facts\0{tool}\0{args_hash}");
        let opts = SealOptions::new()
            .associated_data(ad.as_bytes())
            .ttl(self.approval_ttl());
        self.codec()?
            .seal_json_with(facts, &opts)
            .map_err(|e| e.to_string())
    }

    /// Opens facts sealed by [`Safety::seal_facts`] for this very tool and arguments; `None`
    /// when they are not (expired, other call, not ours): the call then reads them anew.
    pub fn open_facts(&self, sealed: &str, tool: &str, args_hash: &str) -> Option<Value> {
        let ad = format!("facts\0{tool}\0{args_hash}");
        self.codec()
            .ok()?
            .open_json_with(sealed, ad.as_bytes())
            .ok()
    }

    /// Opens a state the client echoed back and spends it. Fails when it was not sealed by this
    /// host, belongs to another tool or other arguments, expired, or was already answered by any
    /// process on this host (spent states are kept on disk: [`SpentStore`]); and when the spend
    /// cannot be recorded.
    pub fn redeem(&self, sealed: &str, tool: &str, call_hash: &str) -> Result<(), String> {
        let pending: Pending = self
            .codec()?
            .open_json_with(sealed, call_hash.as_bytes())
            .map_err(|e| match e {
                rmcp::model::RequestStateError::Expired => {
                    "the confirmation expired; call the tool again to ask anew".to_string()
                }
                _ => "the confirmation state does not belong to this call (other tool or \
                      arguments, or not issued here); call the tool again to ask anew"
                    .to_string(),
            })?;
        if pending.tool != tool {
            return Err("the confirmation state belongs to another tool".into());
        }
        let now = now_ms();
        if now >= pending.expires_ms {
            return Err("the confirmation expired; call the tool again to ask anew".into());
        }
        self.spent
            .spend(&pending.nonce, pending.expires_ms, now)
            .map_err(|e| e.to_string())
    }
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// The host's sealing key: 32 random bytes in `<state>/request-state.key` (0600), created once.
/// Shared by every process on the host, so a confirmation survives a server restart.
fn seal_key(state_dir: &Path) -> io::Result<Vec<u8>> {
    let path = state_dir.join(SEAL_KEY_FILE);
    match fs::read(&path) {
        Ok(key) if key.len() >= 32 => return Ok(key),
        Ok(_) => {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "the key file is shorter than 32 bytes; delete it to make a new one",
            ));
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(e),
    }
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(state_dir)?;
    let mut key = vec![0u8; 32];
    rand::rng().fill_bytes(&mut key);
    match fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&path)
    {
        Ok(mut f) => {
            f.write_all(&key)?;
            f.sync_all()?;
            Ok(key)
        }
        // Another process created it first: use theirs.
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => fs::read(&path),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn safety(dir: &Path) -> Safety {
        Safety::new(dir, PolicyConfig::default(), AuditConfig::without_journal())
    }

    #[test]
    fn a_sealed_state_opens_once_for_its_own_call_only() {
        let dir = tempfile::tempdir().unwrap();
        let s = safety(dir.path());
        let sealed = s.seal("proxmox_api", "hash-a").unwrap();
        assert!(s.redeem(&sealed, "proxmox_api", "hash-b").is_err());
        assert!(s.redeem(&sealed, "execute_command", "hash-a").is_err());
        let mut forged = sealed.clone();
        forged.insert(5, 'x');
        assert!(s.redeem(&forged, "proxmox_api", "hash-a").is_err());
        s.redeem(&sealed, "proxmox_api", "hash-a").unwrap();
        let again = s.redeem(&sealed, "proxmox_api", "hash-a").unwrap_err();
        assert!(again.contains("already used"), "{again}");
    }

    #[test]
    fn the_key_is_shared_through_the_state_dir() {
        let dir = tempfile::tempdir().unwrap();
        let sealed = safety(dir.path()).seal("t", "h").unwrap();
        safety(dir.path()).redeem(&sealed, "t", "h").unwrap();
        let other = tempfile::tempdir().unwrap();
        assert!(safety(other.path()).redeem(&sealed, "t", "h").is_err());
    }

    #[test]
    fn a_spent_state_stays_spent_in_a_fresh_safety() {
        let dir = tempfile::tempdir().unwrap();
        let first = safety(dir.path());
        let sealed = first.seal("proxmox_api", "hash-a").unwrap();
        first.redeem(&sealed, "proxmox_api", "hash-a").unwrap();
        // A restarted server, or a second one on the same host.
        drop(first);
        let again = safety(dir.path())
            .redeem(&sealed, "proxmox_api", "hash-a")
            .unwrap_err();
        assert!(again.contains("already used"), "{again}");
        let spent = fs::read_to_string(dir.path().join(crate::state::spent::SPENT_FILE)).unwrap();
        assert_eq!(spent.lines().count(), 1, "{spent}");
    }

    #[test]
    fn two_threads_racing_for_one_state_one_wins() {
        let dir = tempfile::tempdir().unwrap();
        let sealed = safety(dir.path()).seal("t", "h").unwrap();
        for shared in [false, true] {
            let sealed = if shared {
                safety(dir.path()).seal("t", "h").unwrap()
            } else {
                sealed.clone()
            };
            let one = safety(dir.path());
            let barrier = std::sync::Barrier::new(2);
            let results: Vec<Result<(), String>> = std::thread::scope(|s| {
                let racers: Vec<_> = (0..2)
                    .map(|_| {
                        let (one, barrier, sealed, dir) = (&one, &barrier, &sealed, &dir);
                        s.spawn(move || {
                            let own = safety(dir.path());
                            let safety = if shared { one } else { &own };
                            barrier.wait();
                            safety.redeem(sealed, "t", "h")
                        })
                    })
                    .collect();
                racers.into_iter().map(|r| r.join().unwrap()).collect()
            });
            assert_eq!(
                results.iter().filter(|r| r.is_ok()).count(),
                1,
                "shared {shared}: {results:?}"
            );
            let loser = results.iter().find_map(|r| r.clone().err()).unwrap();
            assert!(loser.contains("already used"), "{loser}");
        }
    }

    #[test]
    fn an_unrecordable_spend_refuses_the_confirmation() {
        let dir = tempfile::tempdir().unwrap();
        let s = safety(dir.path());
        let sealed = s.seal("t", "h").unwrap();
        fs::create_dir(dir.path().join(crate::state::spent::SPENT_FILE)).unwrap();
        let e = s.redeem(&sealed, "t", "h").unwrap_err();
        assert!(e.contains("refusing it"), "{e}");
        // Once the operator repaired it, the (unspent) state is still good once.
        fs::remove_dir(dir.path().join(crate::state::spent::SPENT_FILE)).unwrap();
        s.redeem(&sealed, "t", "h").unwrap();
        assert!(s.redeem(&sealed, "t", "h").is_err());
    }
}
