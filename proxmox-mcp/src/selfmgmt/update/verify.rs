//! What a downloaded release must prove before it runs: its SHA-256 is listed in the release's
//! `SHA256SUMS`, and that list carries a minisign signature by the release key. There is no
//! path without both.

use minisign_verify::{PublicKey, Signature};
use sha2::{Digest, Sha256};

use super::UpdateError;

/// The release signing key compiled into this build (`PROXMOX_MCP_RELEASE_PUBKEY` at build
/// time, the base64 line of a minisign public key); `[update] signing_pubkey` replaces it.
pub const BUILT_IN_PUBKEY: Option<&str> = option_env!("PROXMOX_MCP_RELEASE_PUBKEY");

/// The key releases are checked with: configured, else built in.
pub fn release_pubkey(configured: Option<&str>) -> Result<PublicKey, UpdateError> {
    let text = configured.or(BUILT_IN_PUBKEY).ok_or_else(|| {
        UpdateError::Refused(
            "no release signing key is known to this build: set [update] signing_pubkey \
             (PROXMOX_MCP_UPDATE_PUBKEY) to the project's minisign public key"
                .into(),
        )
    })?;
    parse_pubkey(text)
}

/// A minisign public key: its base64 line, or the whole `.pub` file.
pub fn parse_pubkey(text: &str) -> Result<PublicKey, UpdateError> {
    let line = text
        .lines()
        .map(str::trim)
        .rfind(|l| !l.is_empty() && !l.starts_with("untrusted comment:"))
        .unwrap_or_default();
    PublicKey::from_base64(line).map_err(|e| {
        UpdateError::Refused(format!(
            "the release signing key is not a minisign public key: {e}"
        ))
    })
}

/// Checks the minisign `signature` of `data` (the `SHA256SUMS` file).
pub fn check_signature(pk: &PublicKey, data: &[u8], signature: &str) -> Result<(), UpdateError> {
    let sig = Signature::decode(signature).map_err(|e| {
        UpdateError::Refused(format!(
            "the release's SHA256SUMS signature is unreadable ({e}); nothing was installed"
        ))
    })?;
    pk.verify(data, &sig, false).map_err(|e| {
        UpdateError::Refused(format!(
            "the release's SHA256SUMS signature does not verify with the release key ({e}); \
             nothing was installed"
        ))
    })
}

/// `HEX  NAME` (or `HEX *NAME`) lines.
pub fn parse_sums(text: &str) -> Vec<(String, String)> {
    text.lines()
        .filter_map(|l| {
            let (hash, name) = l.trim().split_once(char::is_whitespace)?;
            let name = name.trim_start().trim_start_matches('*');
            (hash.len() == 64 && hash.bytes().all(|b| b.is_ascii_hexdigit()) && !name.is_empty())
                .then(|| (hash.to_ascii_lowercase(), name.to_owned()))
        })
        .collect()
}

pub fn sha256_hex(data: &[u8]) -> String {
    hex::encode(Sha256::digest(data))
}

/// Checks `data` against the line for `name` in `sums` (and the feed's own `sha256`, if given).
pub fn check_sha256(
    data: &[u8],
    name: &str,
    sums: &str,
    feed_sha: Option<&str>,
) -> Result<(), UpdateError> {
    let listed = parse_sums(sums);
    let Some((want, _)) = listed.iter().find(|(_, n)| n == name) else {
        return Err(UpdateError::Refused(format!(
            "{name} is not listed in the release's SHA256SUMS; nothing was installed"
        )));
    };
    let got = sha256_hex(data);
    let feed_ok = feed_sha.is_none_or(|f| f.eq_ignore_ascii_case(want));
    if &got != want || !feed_ok {
        return Err(UpdateError::Refused(format!(
            "checksum mismatch for {name}: downloaded {got}, SHA256SUMS says {want}; the download \
             is corrupt or was tampered with, nothing was installed"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sums() {
        let h = sha256_hex(b"abc");
        assert_eq!(
            h,
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        let sums = format!(
            "{h}  proxmox-mcp-x86_64-linux\n{} *other\nnot a line\n",
            "0".repeat(64)
        );
        assert_eq!(parse_sums(&sums).len(), 2);
        assert!(check_sha256(b"abc", "proxmox-mcp-x86_64-linux", &sums, None).is_ok());
        assert!(
            check_sha256(
                b"abc",
                "proxmox-mcp-x86_64-linux",
                &sums,
                Some(&h.to_uppercase())
            )
            .is_ok()
        );
        let e = check_sha256(b"abd", "proxmox-mcp-x86_64-linux", &sums, None).unwrap_err();
        assert!(e.to_string().contains("checksum mismatch"), "{e}");
        assert!(
            check_sha256(
                b"abc",
                "proxmox-mcp-x86_64-linux",
                &sums,
                Some(&"1".repeat(64))
            )
            .is_err()
        );
        assert!(check_sha256(b"abc", "missing", &sums, None).is_err());
    }

    #[test]
    fn keys_and_signatures() {
        assert!(parse_pubkey("not a key").is_err());
        // minisign's documented example key.
        let pk = parse_pubkey(
            "untrusted comment: minisign public key\nRWQf6LRCGA9i53mlYecO4IzT51TGPpvWucNSCh1CBM0QTaLn73Y7GFO3\n",
        )
        .unwrap();
        let e = check_signature(&pk, b"data", "garbage").unwrap_err();
        assert!(e.to_string().contains("unreadable"), "{e}");
        assert!(
            release_pubkey(Some(
                "RWQf6LRCGA9i53mlYecO4IzT51TGPpvWucNSCh1CBM0QTaLn73Y7GFO3"
            ))
            .is_ok()
        );
    }
}
