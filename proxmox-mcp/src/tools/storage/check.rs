//! Argument checks for `storage_operations`: storage and job ids, volume ids, URLs, file names,
//! checksums, retention options and schedules, each refused with a message the model can act on.

use super::super::ToolError;

/// Storage ids as PVE accepts them (`pve-storage-id`): `^[a-z][a-z0-9._-]*[a-z0-9]$`, any case.
pub fn storage_id(s: &str) -> Result<&str, ToolError> {
    let b = s.as_bytes();
    let ok = (2..=100).contains(&b.len())
        && b[0].is_ascii_alphabetic()
        && b[b.len() - 1].is_ascii_alphanumeric()
        && b.iter()
            .all(|c| c.is_ascii_alphanumeric() || b"._-".contains(c));
    if ok {
        Ok(s)
    } else {
        Err(ToolError::invalid(format!(
            "{:?} is not a valid storage id (letters, digits, '.', '_', '-'; starts with a \
             letter); action=list shows the storages",
            clip(s)
        )))
    }
}

/// Backup job ids (`pve-configid`): `^[a-z][a-z0-9_-]+$`, any case.
pub fn job_id(s: &str) -> Result<&str, ToolError> {
    let b = s.as_bytes();
    let ok = (2..=64).contains(&b.len())
        && b[0].is_ascii_alphabetic()
        && b.iter()
            .all(|c| c.is_ascii_alphanumeric() || b"_-".contains(c));
    if ok {
        Ok(s)
    } else {
        Err(ToolError::invalid(format!(
            "{:?} is not a valid job id (letters, digits, '_', '-'); action=jobs lists them",
            clip(s)
        )))
    }
}

/// A volume id, `storage:path` (or `path` on `storage`), with no way out of the storage: no
/// `..`, no absolute path, only the characters PVE volume names use. Returns the full volid.
pub fn volume(vol: &str, storage: Option<&str>) -> Result<(String, String), ToolError> {
    let bad = |why: &str| {
        ToolError::invalid(format!(
            "volume {:?} {why}; use the volid action=content shows (local:iso/x.iso)",
            clip(vol)
        ))
    };
    let vol = vol.trim();
    let (sid, path) = match vol.split_once(':') {
        Some((sid, path)) => (storage_id(sid)?.to_string(), path),
        None => match storage {
            Some(s) => (storage_id(s)?.to_string(), vol),
            None => {
                return Err(bad(
                    "has no storage (storage:path) and no storage was given",
                ));
            }
        },
    };
    if let Some(s) = storage
        && s != sid
    {
        return Err(bad(&format!("is on storage {sid}, not {s}")));
    }
    if path.is_empty() || path.len() > 255 {
        return Err(bad("has an empty or overlong path"));
    }
    if path.starts_with('/') || path.split('/').any(|seg| seg.is_empty() || seg == "..") {
        return Err(bad(
            "leaves the storage (absolute path, empty segment or '..')",
        ));
    }
    if !path
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"._+-=@,/".contains(&b))
    {
        return Err(bad("has characters volume names never have"));
    }
    Ok((sid.clone(), format!("{sid}:{path}")))
}

/// The guest a volume belongs to, from PVE's naming (`vm-100-disk-0`, `subvol-…`, `base-…`,
/// `vzdump-qemu-100-…`).
pub fn volume_owner(volid: &str) -> Option<u32> {
    let name = volid.rsplit(['/', ':']).next()?;
    const PREFIXES: [&str; 7] = [
        "vzdump-qemu-",
        "vzdump-lxc-",
        "vzdump-openvz-",
        "vm-",
        "base-",
        "subvol-",
        "basevol-",
    ];
    PREFIXES.iter().find_map(|p| {
        let rest = name.strip_prefix(p)?;
        let n = rest.bytes().take_while(u8::is_ascii_digit).count();
        (n > 0 && rest[n..].starts_with('-'))
            .then(|| rest[..n].parse().ok())
            .flatten()
    })
}

/// A download source: http or https with a host and no credentials (they would end up in the
/// task log and the audit).
pub fn url(text: &str) -> Result<url::Url, ToolError> {
    let shown = clip(text);
    if text.len() > 2048 {
        return Err(ToolError::invalid("url is longer than 2048 bytes"));
    }
    let u = url::Url::parse(text.trim())
        .map_err(|e| ToolError::invalid(format!("url {shown:?} is not a URL ({e})")))?;
    if !matches!(u.scheme(), "http" | "https") {
        return Err(ToolError::invalid(format!(
            "url {shown:?}: only http:// and https:// downloads are allowed, not {}://",
            u.scheme()
        )));
    }
    if u.host_str().is_none_or(str::is_empty) {
        return Err(ToolError::invalid(format!("url {shown:?} has no host")));
    }
    if !u.username().is_empty() || u.password().is_some() {
        return Err(ToolError::invalid(
            "url must not carry credentials (user:password@); they would be logged",
        ));
    }
    Ok(u)
}

/// The content type of a download: given, or from the file name.
pub fn download_content(content: Option<&str>, filename: &str) -> Result<&'static str, ToolError> {
    let iso = filename.ends_with(".iso") || filename.ends_with(".img");
    let tmpl = [".tar.gz", ".tar.xz", ".tar.zst", ".tar.bz2", ".tgz"]
        .iter()
        .any(|e| filename.ends_with(e));
    let kind = match content {
        Some("iso") => "iso",
        Some("vztmpl") => "vztmpl",
        Some(other) => {
            return Err(ToolError::invalid(format!(
                "download_url takes content iso or vztmpl, not {:?}",
                clip(other)
            )));
        }
        None if iso => "iso",
        None if tmpl => "vztmpl",
        None => {
            return Err(ToolError::invalid(format!(
                "cannot tell the content type of {filename:?}: give content=iso or vztmpl"
            )));
        }
    };
    if (kind == "iso" && !iso) || (kind == "vztmpl" && !tmpl) {
        return Err(ToolError::invalid(format!(
            "filename {filename:?} does not fit content {kind} (.iso/.img for iso, .tar.gz/.tar.xz/\
             .tar.zst for vztmpl)"
        )));
    }
    Ok(kind)
}

/// A plain file name: no directories, no hidden files, PVE's safe characters.
pub fn filename(name: &str) -> Result<&str, ToolError> {
    let ok = (1..=200).contains(&name.len())
        && !name.starts_with('.')
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._+-".contains(&b));
    if ok {
        Ok(name)
    } else {
        Err(ToolError::invalid(format!(
            "filename {:?} must be a plain file name (letters, digits, '.', '_', '+', '-')",
            clip(name)
        )))
    }
}

/// A hex digest and its algorithm, told by its length.
pub fn checksum(sum: &str) -> Result<(String, &'static str), ToolError> {
    let s = sum.trim().to_ascii_lowercase();
    let alg = match s.len() {
        32 => "md5",
        40 => "sha1",
        56 => "sha224",
        64 => "sha256",
        96 => "sha384",
        128 => "sha512",
        _ => "",
    };
    if alg.is_empty() || !s.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(ToolError::invalid(
            "checksum must be a hex md5, sha1, sha224, sha256, sha384 or sha512 digest",
        ));
    }
    Ok((s, alg))
}

/// Retention options, `keep-last=3,keep-daily=7` (the `keep-` prefix may be left out).
pub fn keep(text: &str) -> Result<String, ToolError> {
    const KEYS: [&str; 7] = [
        "all", "last", "hourly", "daily", "weekly", "monthly", "yearly",
    ];
    let mut out = Vec::new();
    for item in text.split(',').map(str::trim).filter(|i| !i.is_empty()) {
        let (k, v) = item.split_once('=').unwrap_or((item, ""));
        let k = k.trim().trim_start_matches("keep-");
        let n: u32 = v.trim().parse().map_err(|_| {
            ToolError::invalid(format!(
                "keep: {:?} needs a count, e.g. keep-last=3",
                clip(item)
            ))
        })?;
        if !KEYS.contains(&k) {
            return Err(ToolError::invalid(format!(
                "keep: unknown option {:?}; use keep-last, -hourly, -daily, -weekly, -monthly, \
                 -yearly or -all",
                clip(k)
            )));
        }
        out.push(format!("keep-{k}={n}"));
    }
    if out.is_empty() {
        return Err(ToolError::invalid(
            "keep is empty; e.g. keep-last=3,keep-daily=7",
        ));
    }
    Ok(out.join(","))
}

/// A systemd-style calendar event as PVE schedules take it (`02:00`, `sat 03:30`, `*/6:00`).
pub fn schedule(s: &str) -> Result<&str, ToolError> {
    let s = s.trim();
    let ok = (1..=128).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b" :*,./~-".contains(&b));
    if ok {
        Ok(s)
    } else {
        Err(ToolError::invalid(format!(
            "schedule {:?} is not a calendar event (e.g. 02:00, sat 03:30, mon..fri 21:00)",
            clip(s)
        )))
    }
}

/// A one-line comment.
pub fn comment(s: &str) -> Result<&str, ToolError> {
    if s.len() > 512 || s.chars().any(char::is_control) {
        Err(ToolError::invalid(
            "comment must be one line of at most 512 bytes",
        ))
    } else {
        Ok(s)
    }
}

/// The first 80 characters, for error messages.
pub fn clip(s: &str) -> String {
    s.chars().take(80).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn storage_ids() {
        for ok in ["local", "local-lvm", "nfs.backup_2"] {
            assert!(storage_id(ok).is_ok(), "{ok}");
        }
        for bad in [
            "", "l", "1local", "local/..", "../etc", "a b", "local;rm", "x-",
        ] {
            assert!(storage_id(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn volumes_stay_inside_their_storage() {
        let check = |vol: &str, storage: Option<&str>, want: Option<&str>| {
            let got = volume(vol, storage).ok().map(|(_, v)| v);
            assert_eq!(got.as_deref(), want, "{vol}");
        };
        check("local:iso/x.iso", None, Some("local:iso/x.iso"));
        check("iso/x.iso", Some("local"), Some("local:iso/x.iso"));
        check("local:iso/x.iso", Some("other"), None);
        check("iso/x.iso", None, None);
        check("local:../etc/passwd", None, None);
        check("local:iso/../../etc", None, None);
        check("local:/etc/passwd", None, None);
        check("local:iso//x", None, None);
        check("local:iso/x;rm -rf", None, None);
        check("../x:iso/a.iso", None, None);
    }

    #[test]
    fn owners_from_volume_names() {
        let cases = [
            (
                "nfs:backup/vzdump-qemu-104-2025_05_31-02_00_04.vma.zst",
                Some(104),
            ),
            (
                "nfs:backup/vzdump-lxc-201-2025_05_31-02_00_04.tar.zst",
                Some(201),
            ),
            ("local-lvm:vm-100-disk-0", Some(100)),
            ("local:100/base-100-disk-1.qcow2", Some(100)),
            ("local-zfs:subvol-105-disk-0", Some(105)),
            ("local:iso/debian.iso", None),
            ("local:vm-abc-disk", None),
        ];
        for (v, want) in cases {
            assert_eq!(volume_owner(v), want, "{v}");
        }
    }

    #[test]
    fn urls_are_http_only() {
        assert!(url("https://example.org/x.iso").is_ok());
        assert!(url("http://10.0.0.1:8080/t.tar.zst").is_ok());
        for bad in [
            "file:///etc/passwd",
            "ftp://example.org/x.iso",
            "https://user:pw@example.org/x.iso",
            "not a url",
            "javascript:alert(1)",
        ] {
            assert!(url(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn downloads_and_retention() {
        assert_eq!(download_content(None, "a.iso").unwrap(), "iso");
        assert_eq!(download_content(None, "a.tar.zst").unwrap(), "vztmpl");
        assert!(download_content(Some("iso"), "a.tar.zst").is_err());
        assert!(download_content(Some("images"), "a.iso").is_err());
        assert!(filename("../a.iso").is_err());
        assert!(filename(".hidden.iso").is_err());
        assert_eq!(
            keep("keep-last=3, daily=7").unwrap(),
            "keep-last=3,keep-daily=7"
        );
        assert!(keep("keep-forever=1").is_err());
        assert!(keep("keep-last=x").is_err());
        assert_eq!(checksum(&"a".repeat(64)).unwrap().1, "sha256");
        assert_eq!(checksum(&"A".repeat(32)).unwrap().1, "md5");
        assert!(checksum("abc").is_err());
        assert!(checksum(&"g".repeat(64)).is_err());
        assert!(schedule("sat 03:30").is_ok());
        assert!(schedule("02:00; reboot").is_err());
        assert!(job_id("backup-1a2b").is_ok());
        assert!(job_id("../x").is_err());
    }
}
