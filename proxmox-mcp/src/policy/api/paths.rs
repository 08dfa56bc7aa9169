//! How a request path is read: segments decoded the way the server decodes them, and the guest
//! a path is about.

/// The path's segments, decoded: percent-encoding undone (until stable, `%2F` included), empty
/// segments (from doubled or trailing slashes) dropped, surrounding whitespace trimmed and an
/// `/api2/<format>` prefix removed. Case is kept: node and storage names are case-sensitive.
pub fn segments(path: &str) -> Vec<String> {
    // Decode before splitting: an encoded `%2F` is a separator to us, the conservative reading.
    let mut segs: Vec<String> = decode(path)
        .split('/')
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .collect();
    if segs.first().is_some_and(|s| s.eq_ignore_ascii_case("api2")) {
        let n = segs.len().min(2);
        segs.drain(..n);
    }
    segs
}

/// Percent-decodes until nothing changes (so `%2540` is `@` too); a bad escape stays as is.
pub(crate) fn decode(s: &str) -> String {
    let mut cur = s.to_string();
    for _ in 0..4 {
        let bytes = cur.as_bytes();
        let mut out = Vec::with_capacity(bytes.len());
        let mut i = 0;
        while i < bytes.len() {
            let hex = (bytes[i] == b'%')
                .then(|| cur.get(i + 1..i + 3))
                .flatten()
                .and_then(|h| u8::from_str_radix(h, 16).ok());
            match hex {
                Some(b) => {
                    out.push(b);
                    i += 3;
                }
                None => {
                    out.push(bytes[i]);
                    i += 1;
                }
            }
        }
        let next = String::from_utf8_lossy(&out).into_owned();
        if next == cur {
            break;
        }
        cur = next;
    }
    cur
}

/// The guest a path is about: `/nodes/{node}/{qemu|lxc}/{vmid}/…` gives `vmid` (literal
/// segments in any case, as the endpoint table reads them). Every guest a request names, in
/// its parameters too, is [`super::named_guests`]'s.
pub fn target_vmid(path: &str) -> Option<u32> {
    let segs = segments(path);
    match segs.as_slice() {
        [nodes, _, kind, vmid, ..]
            if nodes.eq_ignore_ascii_case("nodes")
                && (kind.eq_ignore_ascii_case("qemu") || kind.eq_ignore_ascii_case("lxc")) =>
        {
            vmid.parse().ok()
        }
        _ => None,
    }
}
