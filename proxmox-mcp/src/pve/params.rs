//! Parameter encoding the way PVE parses it: query string or form body, 1/0 booleans, repeated keys for arrays.

use serde_json::Value;

use super::error::PveError;
use super::request::Params;

/// Flatten `params` into `(key, value)` pairs in PVE's form/query conventions.
///
/// - strings as they are; numbers as decimal strings; booleans as `1`/`0`;
/// - arrays as the key repeated once per element (`command=ls&command=-la`);
/// - `null` is dropped (the parameter is absent);
/// - objects (and arrays of arrays/objects) are refused: PVE parameters are flat.
pub fn to_pairs(params: &Params) -> Result<Vec<(String, String)>, PveError> {
    let mut out = Vec::with_capacity(params.len());
    for (key, value) in params {
        match value {
            Value::Null => {}
            Value::Array(items) => {
                for item in items {
                    match scalar(item) {
                        Some(s) => out.push((key.clone(), s)),
                        None if item.is_null() => {}
                        None => {
                            return Err(PveError::local_param(
                                key,
                                "is an array containing a nested array or object; PVE parameters are \
                                 flat: pass an array of strings/numbers, or a property string such as \
                                 \"virtio,bridge=vmbr0\"",
                            ));
                        }
                    }
                }
            }
            Value::Object(_) => {
                return Err(PveError::local_param(
                    key,
                    "is an object; PVE parameters are flat values: pass a string (for config \
                     options a property string such as \"virtio,bridge=vmbr0,firewall=1\"), a \
                     number, a boolean or an array of those",
                ));
            }
            scalar_value => {
                let s = scalar(scalar_value).expect("non-null scalar");
                out.push((key.clone(), s));
            }
        }
    }
    Ok(out)
}

fn scalar(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Bool(b) => Some(if *b { "1" } else { "0" }.to_owned()),
        Value::Number(n) => Some(n.to_string()),
        Value::Null | Value::Array(_) | Value::Object(_) => None,
    }
}

/// `application/x-www-form-urlencoded` text for pairs (also used as the query string).
pub fn urlencode(pairs: &[(String, String)]) -> String {
    serde_urlencoded::to_string(pairs).expect("string pairs always encode")
}

/// Percent-encode what is not allowed in a URL path, keeping `/` and existing `%XX` escapes.
///
/// UPIDs (`:`, `@`, `!`) and ids pass unchanged; spaces, `?`, `#` and non-ASCII are escaped. A
/// segment that would be read as `.` or `..` is refused, so a path can never climb out of
/// `/api2/json` or dodge a policy keyed on the path.
pub fn encode_path(path: &str) -> Result<String, PveError> {
    if !path.starts_with('/') {
        return Err(PveError::Config(format!(
            "API path '{path}' must start with '/' and be relative to /api2/json, e.g. '/nodes'"
        )));
    }
    let mut out = String::with_capacity(path.len() + 8);
    let bytes = path.as_bytes();
    for (i, &b) in bytes.iter().enumerate() {
        let keep = b.is_ascii_alphanumeric()
            || b"/-._~!$&'()*+,;=:@".contains(&b)
            || (b == b'%'
                && bytes.get(i + 1).is_some_and(u8::is_ascii_hexdigit)
                && bytes.get(i + 2).is_some_and(u8::is_ascii_hexdigit));
        if keep {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    for segment in out.split('/') {
        let lowered = segment.to_ascii_lowercase().replace("%2e", ".");
        if lowered == "." || lowered == ".." {
            return Err(PveError::Config(format!(
                "API path '{path}' contains a '.' or '..' segment, which is not allowed"
            )));
        }
    }
    Ok(out)
}

/// Percent-encode one path segment completely (including `/`), e.g. a storage volume id
/// `local:iso/debian.iso` used as `{volume}`.
pub fn encode_segment(segment: &str) -> String {
    let mut out = String::with_capacity(segment.len());
    for &b in segment.as_bytes() {
        if b.is_ascii_alphanumeric() || b"-._~!$&'()*+,;=:@".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn check(params: serde_json::Value, want: Result<&str, &str>) {
        let map = params.as_object().unwrap().clone();
        match (to_pairs(&map), want) {
            (Ok(pairs), Ok(text)) => assert_eq!(urlencode(&pairs), text, "{params}"),
            (Err(e), Err(fragment)) => {
                let msg = e.to_string();
                assert!(msg.contains(fragment), "{params}: {msg}");
                assert!(!e.may_have_reached_server());
            }
            (got, want) => panic!("{params}: got {got:?}, want {want:?}"),
        }
    }

    #[test]
    fn encoding_table() {
        check(json!({}), Ok(""));
        check(json!({"type": "vm"}), Ok("type=vm"));
        check(
            json!({"force": true, "skiplock": false}),
            Ok("force=1&skiplock=0"),
        );
        check(
            json!({"cpuunits": 1.5, "memory": 2048}),
            Ok("cpuunits=1.5&memory=2048"),
        );
        check(json!({"vmid": "100"}), Ok("vmid=100"));
        check(
            json!({"command": ["/bin/sh", "-c", "uptime"]}),
            Ok("command=%2Fbin%2Fsh&command=-c&command=uptime"),
        );
        check(
            json!({"command": ["ls", 1, true]}),
            Ok("command=ls&command=1&command=1"),
        );
        check(json!({"gone": null, "a": "x"}), Ok("a=x"));
        check(
            json!({"net0": "virtio=BC:24:11:00:00:01,bridge=vmbr0,firewall=1"}),
            Ok("net0=virtio%3DBC%3A24%3A11%3A00%3A00%3A01%2Cbridge%3Dvmbr0%2Cfirewall%3D1"),
        );
        check(json!({"description": "a b&c"}), Ok("description=a+b%26c"));
        check(json!({"delete": "net1,scsi2"}), Ok("delete=net1%2Cscsi2"));
        check(
            json!({"net0": {"model": "virtio"}}),
            Err("parameter 'net0' is an object"),
        );
        check(
            json!({"x": [[1]]}),
            Err("parameter 'x' is an array containing a nested"),
        );
        check(json!({"x": [{"a": 1}]}), Err("nested array or object"));
    }

    #[test]
    fn paths() {
        let ok = |p: &str, want: &str| assert_eq!(encode_path(p).unwrap(), want, "{p}");
        ok("/nodes", "/nodes");
        ok(
            "/nodes/dahu-2/tasks/UPID:dahu-2:00007323:001036A5:6419CAF8:qmstart:100:root@pam!api:/status",
            "/nodes/dahu-2/tasks/UPID:dahu-2:00007323:001036A5:6419CAF8:qmstart:100:root@pam!api:/status",
        );
        ok(
            "/nodes/n1/storage/local/content/local%3Aiso%2Fa.iso",
            "/nodes/n1/storage/local/content/local%3Aiso%2Fa.iso",
        );
        ok("/pools/my pool", "/pools/my%20pool");
        ok("/a?b#c", "/a%3Fb%23c");
        ok("/100%", "/100%25");
        ok("/ü", "/%C3%BC");
        for bad in [
            "nodes",
            "/nodes/../access",
            "/nodes/./x",
            "/nodes/%2e%2E/x",
            "/..",
        ] {
            assert!(encode_path(bad).is_err(), "{bad}");
        }
        assert_eq!(
            encode_segment("local:iso/debian 12.iso"),
            "local:iso%2Fdebian%2012.iso"
        );
    }
}
