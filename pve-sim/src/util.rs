//! Small helpers: deterministic hashing, percent-decoding, clocks and size strings.

use std::time::{SystemTime, UNIX_EPOCH};

/// SplitMix64: a tiny, well-mixed deterministic hash used for pseudo-random metrics.
pub fn mix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = x;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Hashes several numbers together.
pub fn mix2(a: u64, b: u64) -> u64 {
    mix(mix(a) ^ b.rotate_left(17))
}

/// A deterministic fraction in [0, 1) from two keys.
pub fn frac(a: u64, b: u64) -> f64 {
    (mix2(a, b) >> 11) as f64 / (1u64 << 53) as f64
}

/// Seconds since the Unix epoch.
pub fn now_epoch() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// Decodes `%XX` escapes (and leaves invalid escapes alone). `plus_space` turns `+` into a space.
pub fn percent_decode(s: &str, plus_space: bool) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).ok();
                match hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                    Some(b) => {
                        out.push(b);
                        i += 3;
                    }
                    None => {
                        out.push(b'%');
                        i += 1;
                    }
                }
            }
            b'+' if plus_space => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Parses a PVE size string such as `32G`, `512M`, `8T`, `1024K` or plain bytes.
pub fn parse_size(s: &str) -> Option<u64> {
    let s = s.trim();
    let (num, mult) = match s.chars().last()? {
        'K' | 'k' => (&s[..s.len() - 1], 1u64 << 10),
        'M' | 'm' => (&s[..s.len() - 1], 1 << 20),
        'G' | 'g' => (&s[..s.len() - 1], 1 << 30),
        'T' | 't' => (&s[..s.len() - 1], 1 << 40),
        _ => (s, 1),
    };
    if let Ok(n) = num.parse::<u64>() {
        return Some(n * mult);
    }
    num.parse::<f64>().ok().map(|f| (f * mult as f64) as u64)
}

/// Formats bytes the way PVE writes disk sizes in configs (`32G`, `512M`, ...).
pub fn format_size(bytes: u64) -> String {
    const UNITS: [(u64, &str); 4] = [
        (1 << 40, "T"),
        (1 << 30, "G"),
        (1 << 20, "M"),
        (1 << 10, "K"),
    ];
    for (m, u) in UNITS {
        if bytes >= m && bytes.is_multiple_of(m) {
            return format!("{}{u}", bytes / m);
        }
    }
    if bytes >= 1 << 30 {
        return format!("{:.2}G", bytes as f64 / (1u64 << 30) as f64);
    }
    bytes.to_string()
}

/// Looks up one key in a property string.
pub fn prop_get(s: &str, key: &str) -> Option<String> {
    s.split(',').find_map(|p| {
        p.split_once('=')
            .filter(|(k, _)| *k == key)
            .map(|(_, v)| v.to_string())
    })
}

/// A deterministic MAC address with the Proxmox OUI `BC:24:11`.
pub fn mac_for(seed: u64, vmid: u32, idx: u32) -> String {
    let h = mix2(seed ^ 0xAC, u64::from(vmid) * 64 + u64::from(idx));
    format!(
        "BC:24:11:{:02X}:{:02X}:{:02X}",
        (h >> 16) & 0xff,
        (h >> 8) & 0xff,
        h & 0xff
    )
}

/// A deterministic UUID-looking string.
pub fn uuid_for(a: u64, b: u64) -> String {
    let h1 = mix2(a, b);
    let h2 = mix2(h1, b ^ 0x5555);
    format!(
        "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
        h1 >> 32,
        (h1 >> 16) & 0xffff,
        h1 & 0xfff,
        0x8000 | ((h2 >> 48) & 0x3fff),
        h2 & 0xffff_ffff_ffff
    )
}

/// A random UUID (v4) for secrets.
pub fn random_uuid() -> String {
    use rand::Rng;
    let mut rng = rand::rng();
    uuid_for(rng.random(), rng.random())
}

/// A short config digest (40 hex chars, like PVE's SHA1 digests).
pub fn digest(text: &str) -> String {
    use sha2::{Digest, Sha256};
    let h = Sha256::digest(text.as_bytes());
    hex::encode(h)[..40].to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percent_decoding() {
        let check = |i: &str, o: &str| assert_eq!(percent_decode(i, false), o, "{i}");
        check("UPID%3Apve1%3A", "UPID:pve1:");
        check("a%2Fb", "a/b");
        check("100%", "100%");
        check("%zz", "%zz");
        check("mcp%40pve%21admin", "mcp@pve!admin");
        assert_eq!(percent_decode("a+b", true), "a b");
    }

    #[test]
    fn sizes() {
        let check = |i: &str, o: u64| assert_eq!(parse_size(i), Some(o), "{i}");
        check("32G", 32 << 30);
        check("512M", 512 << 20);
        check("1T", 1 << 40);
        check("4096", 4096);
        check("1.5G", 3 << 29);
        assert_eq!(format_size(32 << 30), "32G");
        assert_eq!(format_size(512 << 20), "512M");
    }

    #[test]
    fn prop_strings() {
        assert_eq!(
            prop_get("local-lvm:vm-100-disk-0,size=32G", "size").as_deref(),
            Some("32G")
        );
        assert_eq!(
            prop_get("virtio=BC:24:11:00:00:01,bridge=vmbr0", "bridge").as_deref(),
            Some("vmbr0")
        );
    }
}
