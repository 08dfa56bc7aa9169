//! The archive format, pure: the manifest, the allow-list of paths, packing into a tar.gz and
//! reading one back under caps that refuse anything but a small set of regular files.

use std::collections::BTreeMap;
use std::io::Read;

use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

/// The archive format this server writes, and the newest it reads.
pub const FORMAT: u32 = 1;
/// The manifest's name inside the archive.
pub const MANIFEST: &str = "manifest.json";
/// At most this many entries (the manifest included).
pub const MAX_ENTRIES: usize = 512;
/// At most this many bytes in one file.
pub const MAX_FILE_BYTES: u64 = 1 << 20;
/// At most this many bytes of files in all.
pub const MAX_TOTAL_BYTES: u64 = 8 << 20;
/// At most this many bytes of tar stream after decompression (headers and padding included).
pub const MAX_STREAM_BYTES: u64 = MAX_TOTAL_BYTES + (MAX_ENTRIES as u64 + 4) * 1024 + 10_240;
/// At most this many bytes of archive on disk.
pub const MAX_ARCHIVE_BYTES: u64 = 8 << 20;

/// What an archive says about itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// [`FORMAT`] of the server that wrote it.
    pub format: u32,
    pub server_version: String,
    /// Unix seconds.
    pub created: u64,
    pub reason: String,
    pub files: Vec<FileEntry>,
}

/// One file of the archive, as the manifest lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileEntry {
    pub path: String,
    pub size: u64,
    /// Hex SHA-256 of the contents.
    pub sha256: String,
}

/// What an allow-listed path holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `config.toml`: the configuration file (with its `[policy]`).
    Config,
    /// `state/mode`.
    Mode,
    /// `state/approvals/ID.json`.
    Approval,
    /// `state/bridge/tokens.json`: the HTTP bridge's token hashes.
    BridgeTokens,
}

pub const CONFIG_PATH: &str = "config.toml";
pub const MODE_PATH: &str = "state/mode";
pub const APPROVALS_PREFIX: &str = "state/approvals/";
pub const BRIDGE_TOKENS_PATH: &str = "state/bridge/tokens.json";

/// What `path` holds, or `None` when it is not on the allow-list.
pub fn classify(path: &str) -> Option<Kind> {
    match path {
        CONFIG_PATH => Some(Kind::Config),
        MODE_PATH => Some(Kind::Mode),
        BRIDGE_TOKENS_PATH => Some(Kind::BridgeTokens),
        _ => {
            let id = path.strip_prefix(APPROVALS_PREFIX)?.strip_suffix(".json")?;
            crate::state::ApprovalId::parse(id)
                .ok()
                .filter(|parsed| parsed.as_str() == id)
                .map(|_| Kind::Approval)
        }
    }
}

/// Hex SHA-256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// Why an archive is refused: one sentence naming what is wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Refusal(pub String);

fn refuse<T>(msg: impl Into<String>) -> Result<T, Refusal> {
    Err(Refusal(msg.into()))
}

/// An entry name as a relative path on the allow-list: UTF-8, no absolute name, no `.`, `..` or
/// empty component, no backslash or NUL.
pub fn check_path(raw: &[u8]) -> Result<String, Refusal> {
    let shown = String::from_utf8_lossy(raw);
    let Ok(path) = std::str::from_utf8(raw) else {
        return refuse(format!("entry {shown:?} is not valid UTF-8"));
    };
    if path.starts_with('/') {
        return refuse(format!("entry {path:?} is an absolute name"));
    }
    if path.contains(['\\', '\0']) {
        return refuse(format!("entry {path:?} contains a backslash or NUL"));
    }
    if path
        .split('/')
        .any(|c| c.is_empty() || c == "." || c == "..")
    {
        return refuse(format!(
            "entry {path:?} has an empty, `.` or `..` component (path traversal)"
        ));
    }
    if path != MANIFEST && classify(path).is_none() {
        return refuse(format!(
            "entry {path:?} is not on the allow-list ({MANIFEST}, {CONFIG_PATH}, {MODE_PATH}, \
             {APPROVALS_PREFIX}ID.json, {BRIDGE_TOKENS_PATH})"
        ));
    }
    Ok(path.to_owned())
}

/// Packs `files` (allow-listed paths) with a manifest into a tar.gz.
pub fn pack(
    server_version: &str,
    created: u64,
    reason: &str,
    files: &BTreeMap<String, Vec<u8>>,
) -> std::io::Result<(Manifest, Vec<u8>)> {
    let manifest = Manifest {
        format: FORMAT,
        server_version: server_version.to_owned(),
        created,
        reason: reason.to_owned(),
        files: files
            .iter()
            .map(|(path, data)| FileEntry {
                path: path.clone(),
                size: data.len() as u64,
                sha256: sha256_hex(data),
            })
            .collect(),
    };
    let manifest_json = serde_json::to_vec_pretty(&manifest)?;
    let gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    let mut tar = tar::Builder::new(gz);
    let mut add = |path: &str, data: &[u8]| {
        let mut h = tar::Header::new_ustar();
        h.set_entry_type(tar::EntryType::Regular);
        h.set_size(data.len() as u64);
        h.set_mode(0o600);
        h.set_mtime(created);
        tar.append_data(&mut h, path, data)
    };
    add(MANIFEST, &manifest_json)?;
    for (path, data) in files {
        add(path, data)?;
    }
    let bytes = tar.into_inner()?.finish()?;
    Ok((manifest, bytes))
}

/// An archive read and checked: its manifest and files (checksums match, contents parse).
#[derive(Debug, Clone)]
pub struct Unpacked {
    pub manifest: Manifest,
    pub files: BTreeMap<String, Vec<u8>>,
}

/// A reader that fails once more than `left` bytes came through (a decompression bomb).
struct Capped<R> {
    inner: R,
    left: u64,
}

impl<R: Read> Read for Capped<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.left = self.left.checked_sub(n as u64).ok_or_else(|| {
            std::io::Error::other(format!(
                "it decompresses to more than {MAX_STREAM_BYTES} bytes (size cap)"
            ))
        })?;
        Ok(n)
    }
}

/// The manifest of an archive, read from its first entry alone (what [`pack`] writes first):
/// for listing. The archive is not checked beyond it; [`unpack`] does that before any use.
pub fn read_manifest(reader: impl Read) -> Result<Manifest, Refusal> {
    let stream = Capped {
        inner: flate2::read::GzDecoder::new(reader),
        left: MAX_STREAM_BYTES,
    };
    let mut archive = tar::Archive::new(stream);
    let bad = |e: std::io::Error| Refusal(format!("the archive cannot be read: {e}"));
    let mut entries = archive.entries().map_err(bad)?;
    let Some(entry) = entries.next() else {
        return refuse(format!("the archive has no {MANIFEST}"));
    };
    let entry = entry.map_err(bad)?;
    if check_path(&entry.path_bytes())? != MANIFEST
        || entry.header().entry_type() != tar::EntryType::Regular
    {
        return refuse(format!("the archive does not start with {MANIFEST}"));
    }
    let mut data = Vec::new();
    entry
        .take(MAX_FILE_BYTES + 1)
        .read_to_end(&mut data)
        .map_err(bad)?;
    if data.len() as u64 > MAX_FILE_BYTES {
        return refuse(format!("{MANIFEST} is larger than {MAX_FILE_BYTES} bytes"));
    }
    parse_manifest(&data)
}

/// Reads and checks an archive: only regular files on the allow-list, within the caps, each
/// once; a manifest of a format this server reads that lists exactly those files with matching
/// sizes and SHA-256; contents that parse ([`check_contents`]).
pub fn unpack(bytes: &[u8]) -> Result<Unpacked, Refusal> {
    if bytes.len() as u64 > MAX_ARCHIVE_BYTES {
        return refuse(format!(
            "the archive is {} bytes, more than the cap of {MAX_ARCHIVE_BYTES}",
            bytes.len()
        ));
    }
    let stream = Capped {
        inner: flate2::read::GzDecoder::new(bytes),
        left: MAX_STREAM_BYTES,
    };
    let mut archive = tar::Archive::new(stream);
    let bad = |e: std::io::Error| Refusal(format!("the archive cannot be read: {e}"));
    let mut files: BTreeMap<String, Vec<u8>> = BTreeMap::new();
    let mut total = 0u64;
    for (count, entry) in archive.entries().map_err(bad)?.enumerate() {
        let mut entry = entry.map_err(bad)?;
        if count >= MAX_ENTRIES {
            return refuse(format!("the archive has more than {MAX_ENTRIES} entries"));
        }
        let path = check_path(&entry.path_bytes())?;
        let kind = entry.header().entry_type();
        if kind != tar::EntryType::Regular {
            let what = match kind {
                tar::EntryType::Symlink => "a symbolic link".to_owned(),
                tar::EntryType::Link => "a hard link".to_owned(),
                tar::EntryType::Char => "a character device".to_owned(),
                tar::EntryType::Block => "a block device".to_owned(),
                tar::EntryType::Directory => "a directory".to_owned(),
                tar::EntryType::Fifo => "a FIFO".to_owned(),
                other => format!("of type {:?}", other.as_byte() as char),
            };
            return refuse(format!(
                "entry {path:?} is {what}; only regular files are accepted"
            ));
        }
        let size = entry.header().size().map_err(bad)?;
        if size > MAX_FILE_BYTES {
            return refuse(format!(
                "entry {path:?} is {size} bytes, more than the cap of {MAX_FILE_BYTES}"
            ));
        }
        total += size;
        if total > MAX_TOTAL_BYTES {
            return refuse(format!(
                "the files add up to more than the cap of {MAX_TOTAL_BYTES} bytes"
            ));
        }
        let mut data = Vec::with_capacity(size as usize);
        (&mut entry)
            .take(MAX_FILE_BYTES + 1)
            .read_to_end(&mut data)
            .map_err(bad)?;
        if data.len() as u64 != size {
            return refuse(format!("entry {path:?} is truncated"));
        }
        if files.insert(path.clone(), data).is_some() {
            return refuse(format!("entry {path:?} appears twice"));
        }
    }
    let Some(manifest_bytes) = files.remove(MANIFEST) else {
        return refuse(format!("the archive has no {MANIFEST}"));
    };
    let manifest = parse_manifest(&manifest_bytes)?;
    check_manifest(&manifest, &files)?;
    check_contents(&files)?;
    Ok(Unpacked { manifest, files })
}

/// The manifest, after its format version (checked first, so a newer layout is named as such).
pub fn parse_manifest(bytes: &[u8]) -> Result<Manifest, Refusal> {
    #[derive(Deserialize)]
    struct Version {
        format: u32,
    }
    let v: Version = serde_json::from_slice(bytes)
        .map_err(|e| Refusal(format!("{MANIFEST} has no readable format version: {e}")))?;
    if v.format > FORMAT {
        return refuse(format!(
            "the archive is of format {}, newer than this server reads ({FORMAT}); restore it \
             with a newer proxmox-mcp",
            v.format
        ));
    }
    if v.format == 0 {
        return refuse(format!("{MANIFEST} has format 0, which no server writes"));
    }
    serde_json::from_slice(bytes).map_err(|e| Refusal(format!("{MANIFEST} is invalid: {e}")))
}

/// The manifest lists exactly the archive's files, with their sizes and checksums.
pub fn check_manifest(m: &Manifest, files: &BTreeMap<String, Vec<u8>>) -> Result<(), Refusal> {
    let mut listed = BTreeMap::new();
    for f in &m.files {
        if listed.insert(f.path.as_str(), f).is_some() {
            return refuse(format!("{MANIFEST} lists {:?} twice", f.path));
        }
    }
    for (path, data) in files {
        let Some(f) = listed.remove(path.as_str()) else {
            return refuse(format!("entry {path:?} is not listed in {MANIFEST}"));
        };
        if f.size != data.len() as u64 {
            return refuse(format!(
                "entry {path:?} is {} bytes, the manifest says {}",
                data.len(),
                f.size
            ));
        }
        let sum = sha256_hex(data);
        if !f.sha256.eq_ignore_ascii_case(&sum) {
            return refuse(format!(
                "checksum mismatch for {path:?}: SHA-256 {sum}, the manifest says {}",
                f.sha256
            ));
        }
    }
    if let Some(missing) = listed.keys().next() {
        return refuse(format!(
            "{MANIFEST} lists {missing:?}, which the archive does not hold"
        ));
    }
    Ok(())
}

/// Every file parses as what it is: the configuration file, a mode, an approval whose id is
/// its name, the bridge's token store.
pub fn check_contents(files: &BTreeMap<String, Vec<u8>>) -> Result<(), Refusal> {
    for (path, data) in files {
        let text = std::str::from_utf8(data)
            .map_err(|_| Refusal(format!("{path:?} is not valid UTF-8")))?;
        match classify(path) {
            Some(Kind::Config) => {
                crate::config::file::parse_file(std::path::Path::new(CONFIG_PATH), text)
                    .map_err(|e| Refusal(format!("the configuration does not parse: {e}")))?;
            }
            Some(Kind::Mode) => {
                text.trim()
                    .parse::<crate::state::StoredMode>()
                    .map_err(|e| Refusal(format!("{path:?}: {e}")))?;
            }
            Some(Kind::Approval) => {
                let a: crate::state::Approval = serde_json::from_str(text)
                    .map_err(|e| Refusal(format!("{path:?} is not an approval: {e}")))?;
                if format!("{APPROVALS_PREFIX}{}.json", a.id) != *path {
                    return refuse(format!("{path:?} holds approval {:?}", a.id));
                }
                if a.status != crate::state::ApprovalStatus::Pending {
                    // A granted approval put back could be spent twice.
                    return refuse(format!(
                        "{path:?} is a {} approval; only pending ones are restored",
                        a.status
                    ));
                }
            }
            Some(Kind::BridgeTokens) => {
                let v: serde_json::Value = serde_json::from_str(text)
                    .map_err(|e| Refusal(format!("{path:?} is not JSON: {e}")))?;
                if !v.is_object() {
                    return refuse(format!("{path:?} is not a JSON object"));
                }
            }
            None => return refuse(format!("entry {path:?} is not on the allow-list")),
        }
    }
    Ok(())
}
