//! The head pointer: where the log ended at the last append, kept in a file apart from the day files.
//!
//! `<state>/audit.head` (beside the `audit` directory, mode 0600) is one fixed-size line:
//!
//! ```text
//! proxmox-mcp-audit-head 1 seq=<20 digits> hash=<64 hex> floor=<20 digits> synced=<20 digits> boot=<36> check=<16 hex>
//! ```
//!
//! - `seq`, `hash`: the last record appended (0 and [`GENESIS`](super::GENESIS) for none);
//! - `floor`: the first record that should still be in the log. Only pruning advances it, before
//!   it deletes expired day files, so records that vanish below it were pruned, above it removed;
//! - `synced`: the last record known to be on disk (reads are written without `fdatasync`);
//! - `boot`: the kernel's boot id when the pointer was written. Records that were not yet on disk
//!   can only go missing across a reboot (a crash of the host), never within one boot;
//! - `check`: the first 16 hex digits of the SHA-256 of everything before ` check=`, so a torn or
//!   damaged pointer is recognised instead of misread.
//!
//! It is rewritten in place (same size, one `pwrite` at offset 0) under the audit lock after every
//! record: without `fdatasync` after an unsynced record, with one after a synced record.

use std::fs::{self, File, OpenOptions};
use std::io;
use std::os::unix::fs::{FileExt as _, OpenOptionsExt as _};
use std::path::Path;
use std::sync::OnceLock;

use sha2::{Digest as _, Sha256};

const MAGIC: &str = "proxmox-mcp-audit-head 1";
/// Length of a boot id (`xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx`).
const BOOT_LEN: usize = 36;
/// Where Linux tells the boot id.
const BOOT_ID_FILE: &str = "/proc/sys/kernel/random/boot_id";

/// What the head pointer file says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeadPointer {
    pub seq: u64,
    pub hash: String,
    pub floor: u64,
    pub synced: u64,
    /// The boot id, or `None` when it could not be read.
    pub boot: Option<String>,
}

/// The pointer file as found: absent, damaged, or readable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Found {
    Absent,
    Damaged(String),
    Present(HeadPointer),
}

impl HeadPointer {
    /// The fixed-size line (with its newline).
    pub fn encode(&self) -> Vec<u8> {
        let boot = match &self.boot {
            Some(b) if b.len() == BOOT_LEN && b.bytes().all(|c| c.is_ascii_graphic()) => b.clone(),
            _ => "-".repeat(BOOT_LEN),
        };
        let body = format!(
            "{MAGIC} seq={:020} hash={} floor={:020} synced={:020} boot={boot}",
            self.seq, self.hash, self.floor, self.synced
        );
        let check = &hex::encode(Sha256::digest(body.as_bytes()))[..16];
        format!("{body} check={check}\n").into_bytes()
    }

    /// Parses what [`encode`](Self::encode) writes.
    pub fn decode(bytes: &[u8]) -> Result<Self, String> {
        let text = std::str::from_utf8(bytes).map_err(|_| "not text".to_owned())?;
        let line = text
            .strip_suffix('\n')
            .ok_or("no newline at the end (torn write?)")?;
        let (body, check) = line
            .rsplit_once(" check=")
            .ok_or("no check sum".to_owned())?;
        if check != &hex::encode(Sha256::digest(body.as_bytes()))[..16] {
            return Err("the check sum does not match (damaged or edited)".into());
        }
        let rest = body
            .strip_prefix(MAGIC)
            .ok_or("not a head pointer of this version".to_owned())?;
        let mut fields = rest.split_ascii_whitespace();
        let mut field = |name: &str| {
            fields
                .next()
                .and_then(|f| f.strip_prefix(name)?.strip_prefix('='))
                .ok_or_else(|| format!("no `{name}`"))
        };
        let number = |v: &str, name: &str| {
            v.parse::<u64>()
                .map_err(|_| format!("`{name}` is not a number"))
        };
        let seq = number(field("seq")?, "seq")?;
        let hash = field("hash")?.to_owned();
        let floor = number(field("floor")?, "floor")?;
        let synced = number(field("synced")?, "synced")?;
        let boot = field("boot")?;
        if hash.len() != 64 || !hash.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err("`hash` is not a SHA-256".into());
        }
        let boot = (!boot.bytes().all(|b| b == b'-')).then(|| boot.to_owned());
        Ok(HeadPointer {
            seq,
            hash,
            floor,
            synced,
            boot,
        })
    }
}

/// Reads the pointer at `path`.
pub fn read(path: &Path) -> io::Result<Found> {
    match fs::read(path) {
        Ok(bytes) => Ok(match HeadPointer::decode(&bytes) {
            Ok(p) => Found::Present(p),
            Err(e) => Found::Damaged(e),
        }),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(Found::Absent),
        Err(e) => Err(e),
    }
}

/// Writes `pointer` at `path` in place; `fdatasync`s it when `sync`. A file created here is always
/// synced, with its directory, so the pointer exists for sure once it was ever written.
pub fn write(path: &Path, pointer: &HeadPointer, sync: bool) -> io::Result<()> {
    let (file, created) = match OpenOptions::new().write(true).open(path) {
        Ok(f) => (f, false),
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            let f = OpenOptions::new()
                .write(true)
                .create(true)
                .truncate(false)
                .mode(0o600)
                .open(path)?;
            (f, true)
        }
        Err(e) => return Err(e),
    };
    let bytes = pointer.encode();
    file.write_all_at(&bytes, 0)?;
    if file.metadata()?.len() != bytes.len() as u64 {
        file.set_len(bytes.len() as u64)?;
    }
    if sync || created {
        file.sync_data()?;
    }
    if created && let Some(dir) = path.parent() {
        File::open(dir)?.sync_all()?;
    }
    Ok(())
}

/// This boot's id, read once; `None` where the kernel does not tell it.
pub fn boot_id() -> Option<String> {
    static BOOT: OnceLock<Option<String>> = OnceLock::new();
    BOOT.get_or_init(|| {
        let id = fs::read_to_string(BOOT_ID_FILE).ok()?;
        let id = id.trim();
        (id.len() == BOOT_LEN && id.bytes().all(|c| c.is_ascii_graphic())).then(|| id.to_owned())
    })
    .clone()
}

/// Whether `boot` is known to be this very boot (so nothing written since can have been lost to
/// a crash of the host).
pub fn same_boot(boot: Option<&str>) -> bool {
    matches!((boot, boot_id()), (Some(a), Some(b)) if a == b)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pointer(boot: Option<&str>) -> HeadPointer {
        HeadPointer {
            seq: 42,
            hash: "ab".repeat(32),
            floor: 7,
            synced: 40,
            boot: boot.map(str::to_owned),
        }
    }

    #[test]
    fn round_trip_at_a_fixed_size() {
        let boot = "0123abcd-0000-1111-2222-333344445555";
        for p in [pointer(Some(boot)), pointer(None)] {
            let bytes = p.encode();
            assert_eq!(HeadPointer::decode(&bytes), Ok(p.clone()));
            assert_eq!(bytes.len(), pointer(None).encode().len());
        }
        let big = HeadPointer {
            seq: u64::MAX,
            floor: u64::MAX,
            synced: u64::MAX,
            ..pointer(Some(boot))
        };
        assert_eq!(big.encode().len(), pointer(None).encode().len());
    }

    #[test]
    fn damage_is_recognised() {
        let good = String::from_utf8(pointer(None).encode()).unwrap();
        let cases: [(&str, String); 5] = [
            ("torn", good[..good.len() / 2].to_owned()),
            ("edited seq", good.replacen("seq=0000", "seq=0009", 1)),
            ("no newline", good.trim_end().to_owned()),
            ("empty", String::new()),
            ("other text", "hello\n".to_owned()),
        ];
        for (name, text) in cases {
            assert!(HeadPointer::decode(text.as_bytes()).is_err(), "{name}");
        }
    }

    #[test]
    fn write_in_place_and_read() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("audit.head");
        assert_eq!(read(&path).unwrap(), Found::Absent);
        write(&path, &pointer(None), false).unwrap();
        let next = HeadPointer {
            seq: 43,
            ..pointer(None)
        };
        write(&path, &next, true).unwrap();
        assert_eq!(read(&path).unwrap(), Found::Present(next));
        // Trailing garbage is cut off by the next write.
        let mut bytes = fs::read(&path).unwrap();
        bytes.extend_from_slice(b"junk");
        fs::write(&path, &bytes).unwrap();
        assert!(matches!(read(&path).unwrap(), Found::Damaged(_)));
        write(&path, &pointer(None), false).unwrap();
        assert_eq!(read(&path).unwrap(), Found::Present(pointer(None)));
        use std::os::unix::fs::PermissionsExt as _;
        let mode = fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }
}
