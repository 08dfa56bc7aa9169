//! Pure: small readers over PVE JSON shared by the rules (numbers sent as strings, 0/1 bools).

use serde_json::Value;

/// A number whether PVE sent it as a number or a string.
pub fn num(v: &Value, key: &str) -> Option<f64> {
    match v.get(key)? {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse().ok(),
        Value::Bool(b) => Some(f64::from(u8::from(*b))),
        _ => None,
    }
}

/// A string member.
pub fn str_of<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key).and_then(Value::as_str)
}

/// A PVE boolean (`1`, `"1"`, `true`, `"yes"`, `"on"`).
pub fn flag(v: &Value, key: &str) -> Option<bool> {
    match v.get(key)? {
        Value::Bool(b) => Some(*b),
        Value::Number(n) => Some(n.as_f64() != Some(0.0)),
        Value::String(s) => pve_bool(s),
        _ => None,
    }
}

/// PVE's spellings of a boolean in config strings.
pub fn pve_bool(s: &str) -> Option<bool> {
    match s.trim().to_ascii_lowercase().as_str() {
        "1" | "yes" | "on" | "true" => Some(true),
        "0" | "no" | "off" | "false" => Some(false),
        _ => None,
    }
}

/// `key=value` options of a property string (`virtio=…,bridge=vmbr0,firewall=1`); a leading
/// bare word is returned under `default_key`.
pub fn prop_string<'a>(s: &'a str, default_key: &'a str) -> Vec<(&'a str, &'a str)> {
    s.split(',')
        .filter(|p| !p.is_empty())
        .map(|p| p.split_once('=').unwrap_or((default_key, p)))
        .collect()
}

/// A percentage `used / total`, `None` when total is 0.
pub fn pct(used: f64, total: f64) -> Option<f64> {
    (total > 0.0).then(|| used * 100.0 / total)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn readers_accept_pve_spellings() {
        let v = json!({"a": "1.5", "b": 2, "c": "on", "d": 0});
        assert_eq!(num(&v, "a"), Some(1.5));
        assert_eq!(num(&v, "b"), Some(2.0));
        assert_eq!(flag(&v, "c"), Some(true));
        assert_eq!(flag(&v, "d"), Some(false));
        assert_eq!(
            prop_string("virtio=AA:BB,bridge=vmbr0", "model"),
            vec![("virtio", "AA:BB"), ("bridge", "vmbr0")]
        );
        assert_eq!(
            prop_string("local:iso/x.iso,media=cdrom", "file")[0],
            ("file", "local:iso/x.iso")
        );
        assert_eq!(pct(5.0, 0.0), None);
    }
}
