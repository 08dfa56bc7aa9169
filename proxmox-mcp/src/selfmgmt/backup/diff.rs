//! What a restore changes, in values a human can judge: the mode old → new (and whether it
//! gets less safe), the bridge tokens added and removed, and the config file's changed keys
//! (secrets masked). Pure: bytes in, lines out.

use std::collections::BTreeMap;
use std::str::FromStr as _;

use crate::policy::mode::Mode;

/// The mode a `state/mode` file holds; no file (or one that does not parse) is the default.
fn mode_of(data: Option<&[u8]>) -> Mode {
    data.and_then(|d| Mode::from_str(String::from_utf8_lossy(d).trim()).ok())
        .unwrap_or_default()
}

fn rank(m: Mode) -> usize {
    Mode::ALL.iter().position(|x| *x == m).unwrap_or(0)
}

/// `Some(line)` when the mode changes; the flag is true when it becomes less safe.
pub fn mode_change(old: Option<&[u8]>, new: Option<&[u8]>) -> Option<(String, bool)> {
    let (old, new) = (mode_of(old), mode_of(new));
    if old == new {
        return None;
    }
    let less_safe = rank(new) > rank(old);
    let line = if less_safe {
        format!(
            "LESS SAFE: mode {old} -> {new} (the restore raises the mode, which toggle_mode \
             alone would not do)"
        )
    } else {
        format!("mode {old} -> {new}")
    };
    Some((line, less_safe))
}

/// `name (sha256 abcd1234…)` of each token in a bridge `tokens.json`.
fn tokens_of(data: Option<&[u8]>) -> Vec<String> {
    let v: serde_json::Value = data
        .and_then(|d| serde_json::from_slice(d).ok())
        .unwrap_or_default();
    let mut out: Vec<String> = v["tokens"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|t| {
                    let name = t["name"].as_str().unwrap_or("?");
                    let sha = t["sha256"].as_str().unwrap_or("");
                    format!("{name} (sha256 {}…)", sha.get(..8).unwrap_or(sha))
                })
                .collect()
        })
        .unwrap_or_default();
    out.sort();
    out
}

/// Bridge tokens the restore brings back and those it drops.
pub fn token_changes(old: Option<&[u8]>, new: Option<&[u8]>) -> Vec<String> {
    let (old, new) = (tokens_of(old), tokens_of(new));
    let mut out = Vec::new();
    for t in new.iter().filter(|t| !old.contains(t)) {
        out.push(format!("bridge token added: {t}"));
    }
    for t in old.iter().filter(|t| !new.contains(t)) {
        out.push(format!("bridge token removed: {t}"));
    }
    out
}

/// Whether a config key holds a secret (its value is never shown).
fn is_secret(key: &str) -> bool {
    let k = key.to_ascii_lowercase();
    ["secret", "password", "token", "key", "pass"]
        .iter()
        .any(|w| k.contains(w))
}

fn flatten(prefix: &str, v: &toml::Value, out: &mut BTreeMap<String, String>) {
    match v {
        toml::Value::Table(t) => {
            for (k, v) in t {
                let key = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                flatten(&key, v, out);
            }
        }
        toml::Value::Array(a) if a.iter().all(toml::Value::is_table) && !a.is_empty() => {
            for (i, v) in a.iter().enumerate() {
                flatten(&format!("{prefix}.{i}"), v, out);
            }
        }
        other => {
            out.insert(prefix.to_owned(), other.to_string());
        }
    }
}

fn keys_of(data: Option<&[u8]>) -> Option<BTreeMap<String, String>> {
    let text = std::str::from_utf8(data?).ok()?;
    let v: toml::Value = toml::from_str(text).ok()?;
    let mut out = BTreeMap::new();
    flatten("", &v, &mut out);
    Some(out)
}

fn shown(key: &str, value: Option<&String>) -> String {
    match value {
        None => "(unset)".into(),
        Some(_) if is_secret(key) => "****".into(),
        Some(v) if v.chars().count() > 80 => format!("{}…", v.chars().take(80).collect::<String>()),
        Some(v) => v.clone(),
    }
}

/// The config file's keys that change, `key: old -> new`, URLs without userinfo and secrets
/// masked.
pub fn config_changes(old: Option<&[u8]>, new: Option<&[u8]>) -> Vec<String> {
    if old == new {
        return Vec::new();
    }
    let (Some(old), Some(new)) = (keys_of(old.or(Some(b""))), keys_of(new)) else {
        return vec!["config.toml: replaced (it does not parse as TOML key by key)".into()];
    };
    let mut keys: Vec<&String> = old.keys().chain(new.keys()).collect();
    keys.sort();
    keys.dedup();
    keys.into_iter()
        .filter(|k| old.get(*k) != new.get(*k))
        .map(|k| {
            let show = |v: Option<&String>| crate::config::resolve::display_url(&shown(k, v));
            format!("config {k}: {} -> {}", show(old.get(k)), show(new.get(k)))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_raised_mode_is_called_less_safe() {
        let (line, less) = mode_change(Some(b"safe\n"), Some(b"normal\n")).unwrap();
        assert!(
            less && line.starts_with("LESS SAFE: mode safe -> normal"),
            "{line}"
        );
        let (line, less) = mode_change(Some(b"normal\n"), None).unwrap();
        assert!(!less && line == "mode normal -> safe", "{line}");
        assert!(mode_change(Some(b"safe"), None).is_none());
    }

    #[test]
    fn tokens_added_and_removed_are_named() {
        let old = br#"{"tokens":[{"name":"a","sha256":"1111111111","created":0}]}"#;
        let new = br#"{"tokens":[{"name":"b","sha256":"2222222222","created":0}]}"#;
        assert_eq!(
            token_changes(Some(old), Some(new)),
            [
                "bridge token added: b (sha256 22222222…)",
                "bridge token removed: a (sha256 11111111…)"
            ]
        );
    }

    #[test]
    fn config_changes_are_keys_with_secrets_masked() {
        let old = b"[policy]\nprotected_vmids = [100]\n[[cluster]]\nname = \"c\"\ntoken_secret = \"s1\"\nurl = \"https://u:p@h:8006\"\n";
        let new = b"[policy]\n[[cluster]]\nname = \"c\"\ntoken_secret = \"s2\"\nurl = \"https://h:8006\"\n";
        let lines = config_changes(Some(old), Some(new));
        assert_eq!(
            lines,
            [
                "config cluster.0.token_secret: **** -> ****",
                "config cluster.0.url: \"https://h:8006\" -> \"https://h:8006\"",
                "config policy.protected_vmids: [100] -> (unset)",
            ]
        );
    }
}
