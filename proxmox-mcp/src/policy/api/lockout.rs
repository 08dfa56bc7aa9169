//! Requests that could lock `root@pam` out of the cluster through its second factor: the
//! `pam` realm's TFA requirement and the cluster-wide WebAuthn/U2F settings that registered
//! keys depend on. Root protection refuses them in every mode.

use serde_json::{Map, Value};

use super::params::{list_items, param_key};
use super::{decode, segments};
use crate::policy::command::Protected;

/// Root-protection hits for requests that change how `root@pam` passes its second factor;
/// empty means none. GETs never hit.
///
/// - `PUT /access/domains/pam` (or `POST /access/domains` naming `pam`) that sets, deletes or
///   reverts `tfa`: a realm-wide TFA requirement root may not be able to meet, or dropping the
///   one root relies on. `DELETE /access/domains/pam` removes the realm root logs in through.
/// - `PUT /cluster/options` that sets, deletes or reverts `u2f`, `webauthn` or any `tfa` key:
///   a new relying-party id or origin breaks every registered key, root's included.
///
/// Root's password (`PUT /access/password`), its user entry, ACLs and TFA entries are
/// [`crate::policy::protect::api_protection`]'s; this function does not repeat them.
pub fn auth_lockout(method: &str, path: &str, params: &Map<String, Value>) -> Vec<Protected> {
    let method = method.trim().to_ascii_uppercase();
    if method == "GET" {
        return Vec::new();
    }
    let segs = segments(path);
    let lower: Vec<String> = segs.iter().map(|s| s.to_ascii_lowercase()).collect();
    let l: Vec<&str> = lower.iter().map(String::as_str).collect();
    let shown = format!("{method} /{}", segs.join("/"));
    let mut hits = Vec::new();
    match (method.as_str(), l.as_slice()) {
        ("DELETE", ["access", "domains", realm]) if is_pam(realm) => {
            hits.push(Protected::RootAccount(format!(
                "root@pam: removes the pam realm it logs in through ({shown})"
            )));
        }
        ("PUT", ["access", "domains", realm]) if is_pam(realm) && touches_tfa(params) => {
            hits.push(Protected::RootAccount(format!(
                "root@pam: changes the pam realm's TFA requirement ({shown})"
            )));
        }
        ("POST", ["access", "domains"]) if named_pam(params) && touches_tfa(params) => {
            hits.push(Protected::RootAccount(format!(
                "root@pam: changes the pam realm's TFA requirement ({shown})"
            )));
        }
        ("PUT", ["cluster", "options"]) if touches(params, second_factor_key) => {
            hits.push(Protected::RootAccount(format!(
                "root@pam: changes the cluster's WebAuthn/U2F settings its keys are registered \
                 against ({shown})"
            )));
        }
        _ => {}
    }
    hits
}

/// A realm name as PVE compares it: decoded, unquoted, trimmed, in any case.
fn is_pam(realm: &str) -> bool {
    decode(realm)
        .trim()
        .trim_matches(|c: char| matches!(c, '"' | '\'' | '`') || c.is_whitespace())
        .eq_ignore_ascii_case("pam")
}

/// Whether a `realm` parameter names `pam`.
fn named_pam(params: &Map<String, Value>) -> bool {
    params
        .iter()
        .any(|(k, v)| param_key(k) == "realm" && matches!(v, Value::String(s) if is_pam(s)))
}

fn touches_tfa(params: &Map<String, Value>) -> bool {
    touches(params, |k| k == "tfa")
}

/// Second-factor keys of the datacenter options, today and in likely future spellings.
fn second_factor_key(k: &str) -> bool {
    k.contains("u2f") || k.contains("webauthn") || k.contains("tfa")
}

/// Whether `params` set a key `is_key` accepts, or delete or revert one.
fn touches(params: &Map<String, Value>, is_key: fn(&str) -> bool) -> bool {
    params.iter().any(|(k, v)| {
        let k = param_key(k);
        is_key(&k)
            || (matches!(k.as_str(), "delete" | "revert")
                && list_items(v).iter().any(|i| is_key(i)))
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn hit(method: &str, path: &str, params: Value) -> bool {
        let Value::Object(map) = params else {
            panic!("params must be an object")
        };
        let hits = auth_lockout(method, path, &map);
        hits.iter().all(|h| matches!(h, Protected::RootAccount(_))) && !hits.is_empty()
    }

    #[test]
    fn pam_realm_tfa() {
        for (m, p, params) in [
            ("PUT", "/access/domains/pam", json!({"tfa": "type=oath"})),
            ("PUT", "/access/domains/PAM", json!({"tfa": "type=yubico"})),
            ("PUT", "/access/domains/pam", json!({"delete": "tfa"})),
            (
                "PUT",
                "/access/domains/pam",
                json!({"delete": "comment, TFA"}),
            ),
            ("PUT", "/access/domains/pam", json!({"delete": ["tfa"]})),
            ("PUT", "/access/domains/%70am/", json!({"TFA": "type=oath"})),
            (
                "PUT",
                "/api2/json/access/domains/pam",
                json!({"--tfa": "type=oath"}),
            ),
            ("PUT", "//access//domains/%22pam%22", json!({"tfa": ""})),
            ("DELETE", "/access/domains/pam", json!({})),
            (
                "POST",
                "/access/domains",
                json!({"realm": "pam", "type": "pam", "tfa": "type=oath"}),
            ),
        ] {
            assert!(hit(m, p, params.clone()), "{m} {p} {params}");
        }
        for (m, p, params) in [
            ("GET", "/access/domains/pam", json!({"tfa": "x"})),
            ("PUT", "/access/domains/pam", json!({"comment": "x"})),
            ("PUT", "/access/domains/pve", json!({"tfa": "type=oath"})),
            ("PUT", "/access/domains/pam2", json!({"tfa": "type=oath"})),
            ("DELETE", "/access/domains/ldap", json!({})),
            (
                "POST",
                "/access/domains",
                json!({"realm": "corp", "tfa": "type=oath"}),
            ),
        ] {
            assert!(!hit(m, p, params.clone()), "{m} {p} {params}");
        }
    }

    #[test]
    fn cluster_second_factor_settings() {
        let o = "/cluster/options";
        for params in [
            json!({"webauthn": "rp=pve,origin=https://x:8006,id=x"}),
            json!({"u2f": "appid=https://x"}),
            json!({"WebAuthn": "id=x"}),
            json!({"delete": "webauthn"}),
            json!({"delete": "keyboard,u2f"}),
            json!({"revert": ["webauthn"]}),
        ] {
            assert!(hit("PUT", o, params.clone()), "{params}");
        }
        for params in [json!({"keyboard": "de"}), json!({"delete": "keyboard"})] {
            assert!(!hit("PUT", o, params.clone()), "{params}");
        }
    }
}
