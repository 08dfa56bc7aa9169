//! Bridge tokens: named bearer secrets stored as SHA-256 hashes, the first-start secret, and
//! rotation with a grace period. The store is a JSON file in the state directory; the server
//! re-reads it when it changes, so `token add/revoke/rotate` apply without a restart.

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// The token created on first start; its secret is kept readable (0600) for the operator.
pub const DEFAULT_TOKEN: &str = "default";
const STORE_FILE: &str = "tokens.json";
const SECRET_FILE: &str = "secret";
const PREFIX: &str = "pmb_";

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Entry {
    pub name: String,
    /// Hex SHA-256 of the whole token string.
    pub sha256: String,
    pub created: u64,
    /// Set on a rotated-out secret: valid until then (Unix seconds).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires: Option<u64>,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct File {
    tokens: Vec<Entry>,
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

fn hash(token: &str) -> String {
    let digest = Sha256::digest(token.as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// A new random token: 256 bits, base64url.
fn generate() -> String {
    let bytes: [u8; 32] = rand::random();
    format!(
        "{PREFIX}{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    )
}

/// Token names appear in audit records and logs: keep them plain.
pub fn check_name(name: &str) -> Result<(), String> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'@'));
    if ok {
        Ok(())
    } else {
        Err(format!(
            "bad token name {name:?}: use 1 to 64 letters, digits, '-', '_', '.' or '@'"
        ))
    }
}

/// The token files in `<state>/bridge`.
#[derive(Debug, Clone)]
pub struct Store {
    dir: PathBuf,
}

impl Store {
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Store { dir: dir.into() }
    }

    pub fn path(&self) -> PathBuf {
        self.dir.join(STORE_FILE)
    }

    pub fn secret_path(&self) -> PathBuf {
        self.dir.join(SECRET_FILE)
    }

    fn read(&self) -> Result<Option<File>, String> {
        match std::fs::read_to_string(self.path()) {
            Ok(text) => serde_json::from_str(&text)
                .map(Some)
                .map_err(|e| format!("{}: {e}", self.path().display())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(format!("{}: {e}", self.path().display())),
        }
    }

    fn write(&self, file: &File) -> Result<(), String> {
        create_private_dir(&self.dir)?;
        let text = serde_json::to_string_pretty(file).map_err(|e| e.to_string())?;
        write_private(&self.path(), text.as_bytes())
    }

    /// First start: no store yet → create the `default` token and keep its secret in a 0600
    /// file. Returns the secret file's path when it was created now.
    pub fn init(&self) -> Result<Option<PathBuf>, String> {
        if self.read()?.is_some() {
            return Ok(None);
        }
        let token = generate();
        write_private(&self.secret_path(), format!("{token}\n").as_bytes()).or_else(|e| {
            create_private_dir(&self.dir)?;
            write_private(&self.secret_path(), format!("{token}\n").as_bytes()).map_err(|_| e)
        })?;
        self.write(&File {
            tokens: vec![Entry {
                name: DEFAULT_TOKEN.into(),
                sha256: hash(&token),
                created: now(),
                expires: None,
            }],
        })?;
        Ok(Some(self.secret_path()))
    }

    /// Every current entry (expired grace entries dropped).
    pub fn list(&self) -> Result<Vec<Entry>, String> {
        let t = now();
        Ok(self
            .read()?
            .unwrap_or_default()
            .tokens
            .into_iter()
            .filter(|e| e.expires.is_none_or(|x| x > t))
            .collect())
    }

    /// A new named token; returns the secret, shown once.
    pub fn add(&self, name: &str) -> Result<String, String> {
        check_name(name)?;
        let mut file = self.read()?.unwrap_or_default();
        if file.tokens.iter().any(|e| e.name == name) {
            return Err(format!(
                "a token named {name} exists: rotate or revoke it instead"
            ));
        }
        let token = generate();
        file.tokens.push(Entry {
            name: name.into(),
            sha256: hash(&token),
            created: now(),
            expires: None,
        });
        self.write(&file)?;
        Ok(token)
    }

    /// Remove every secret of `name`, at once.
    pub fn revoke(&self, name: &str) -> Result<(), String> {
        let mut file = self.read()?.unwrap_or_default();
        let before = file.tokens.len();
        file.tokens.retain(|e| e.name != name);
        if file.tokens.len() == before {
            return Err(format!("no token named {name}"));
        }
        self.write(&file)?;
        if name == DEFAULT_TOKEN {
            let _ = std::fs::remove_file(self.secret_path());
        }
        Ok(())
    }

    /// A new secret for `name`; the current one stays valid for `grace_secs`.
    pub fn rotate(&self, name: &str, grace_secs: u64) -> Result<String, String> {
        let mut file = self.read()?.unwrap_or_default();
        let t = now();
        let mut found = false;
        for e in file.tokens.iter_mut().filter(|e| e.name == name) {
            found = true;
            let until = t + grace_secs;
            e.expires = Some(e.expires.map_or(until, |x| x.min(until)));
        }
        if !found {
            return Err(format!("no token named {name}"));
        }
        file.tokens.retain(|e| e.expires.is_none_or(|x| x > t));
        let token = generate();
        file.tokens.push(Entry {
            name: name.into(),
            sha256: hash(&token),
            created: t,
            expires: None,
        });
        self.write(&file)?;
        if name == DEFAULT_TOKEN {
            write_private(&self.secret_path(), format!("{token}\n").as_bytes())?;
        }
        Ok(token)
    }
}

/// The server's view of the store: re-read when the file changes.
pub struct Verifier {
    store: Store,
    cache: Mutex<(Option<SystemTime>, Vec<Entry>)>,
}

impl Verifier {
    pub fn new(store: Store) -> Self {
        Verifier {
            store,
            cache: Mutex::new((None, Vec::new())),
        }
    }

    /// The name of the token `presented` is, if it is a current one. Compares every entry in
    /// constant time (no early exit).
    pub fn verify(&self, presented: &str) -> Option<String> {
        let mtime = std::fs::metadata(self.store.path())
            .and_then(|m| m.modified())
            .ok();
        let mut cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
        if cache.0 != mtime || mtime.is_none() {
            match self.store.read() {
                Ok(f) => *cache = (mtime, f.map(|f| f.tokens).unwrap_or_default()),
                Err(e) => {
                    tracing::error!("cannot read the token store, refusing every token: {e}");
                    *cache = (None, Vec::new());
                }
            }
        }
        let want = hash(presented);
        let t = now();
        let mut found: Option<String> = None;
        for e in cache.1.iter() {
            let same: bool = e.sha256.as_bytes().ct_eq(want.as_bytes()).into();
            if same && e.expires.is_none_or(|x| x > t) {
                found = Some(e.name.clone());
            }
        }
        found
    }
}

fn create_private_dir(dir: &Path) -> Result<(), String> {
    use std::os::unix::fs::DirBuilderExt;
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(|e| format!("{}: {e}", dir.display()))
}

/// Write through a temp file renamed into place, created 0600.
fn write_private(path: &Path, data: &[u8]) -> Result<(), String> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let tmp = path.with_extension("tmp");
    let _ = std::fs::remove_file(&tmp);
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&tmp)
        .map_err(|e| format!("{}: {e}", tmp.display()))?;
    f.write_all(data)
        .and_then(|_| f.sync_all())
        .map_err(|e| format!("{}: {e}", tmp.display()))?;
    std::fs::rename(&tmp, path).map_err(|e| format!("{}: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn lifecycle() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::new(dir.path().join("bridge"));
        let v = Verifier::new(store.clone());
        let secret_file = store
            .init()
            .unwrap()
            .expect("first start creates the secret");
        assert_eq!(store.init().unwrap(), None, "only once");
        let mode = std::fs::metadata(&secret_file)
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        let default = std::fs::read_to_string(&secret_file).unwrap();
        let default = default.trim();
        assert!(default.len() >= 4 + 43, "256 bits");
        assert_eq!(v.verify(default).as_deref(), Some(DEFAULT_TOKEN));
        assert_eq!(v.verify("pmb_wrong"), None);

        let alice = store.add("alice").unwrap();
        assert!(store.add("alice").is_err());
        assert!(store.add("bad name").is_err());
        assert_eq!(v.verify(&alice).as_deref(), Some("alice"));
        let text = std::fs::read_to_string(store.path()).unwrap();
        assert!(!text.contains(&alice), "only hashes are stored");

        let alice2 = store.rotate("alice", 3600).unwrap();
        assert_eq!(
            v.verify(&alice).as_deref(),
            Some("alice"),
            "in its grace period"
        );
        assert_eq!(v.verify(&alice2).as_deref(), Some("alice"));
        let alice3 = store.rotate("alice", 0).unwrap();
        assert_eq!(v.verify(&alice).as_deref(), None, "grace over");
        assert_eq!(v.verify(&alice2).as_deref(), None);
        assert_eq!(v.verify(&alice3).as_deref(), Some("alice"));

        store.revoke("alice").unwrap();
        assert_eq!(v.verify(&alice3), None);
        assert!(store.revoke("alice").is_err());
        assert_eq!(store.list().unwrap().len(), 1);
    }
}
