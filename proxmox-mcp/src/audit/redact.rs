//! Masking secrets before anything is written: credential keys, secret shapes in strings, argv flags.
//!
//! Four rules, applied recursively to nested JSON:
//! - every secret this process holds ([`register_secret`]: token secrets, passwords, the
//!   confirmation-sealing key, in their common encodings) is masked wherever it appears, as a
//!   literal, whatever surrounds it;
//! - an object member whose key names a credential (`password`, `token_secret`, `ticket`,
//!   `CSRFPreventionToken`, `cipassword`, `Authorization`, `privateKey`, …) has its value replaced
//!   by `****`, whatever its type; so has `value` beside `name`/`key` naming one (header lists);
//! - in an argv array, the element after a password flag (`--password`, `-p` …) is masked;
//! - every string is scanned for secret shapes: PEM private key blocks, PVE tickets,
//!   `PVEAPIToken=user!id=SECRET`, `Authorization:` headers, `user:pass@` in URLs,
//!   `password=…`/`"secret": …` pairs, `--password X`/`-p X` arguments and UUIDs after `=` or `:`.
//!
//! The mask is `****`, as [`crate::config::Secret`] prints. Redaction is idempotent, and errs on the
//! side of masking: `mkdir -p foo` loses `foo`, a VM's `uuid=…` is masked.

use std::borrow::Cow;
use std::sync::{LazyLock, RwLock};

use base64::Engine as _;
use regex::{Captures, Regex, RegexSet};
use serde_json::{Map, Value};

/// What a secret is replaced with.
pub const MASK: &str = "****";

/// Shorter secrets are not masked as literals (they would mask ordinary words); the patterns
/// still apply.
const MIN_NEEDLE: usize = 8;

/// The secrets this process holds, each in the spellings it could be printed in.
static LIVE: RwLock<Vec<String>> = RwLock::new(Vec::new());

/// Adds a secret this process holds (a token secret, a password): from now on it is masked
/// wherever it appears, as written, upper- or lower-cased, and base64-encoded.
pub fn register_secret(secret: &str) {
    let secret = secret.trim();
    if secret.len() < MIN_NEEDLE {
        return;
    }
    let b64 = base64::engine::general_purpose::STANDARD.encode(secret);
    let forms = [
        secret.to_string(),
        secret.to_lowercase(),
        secret.to_uppercase(),
        b64.trim_end_matches('=').to_string(),
    ];
    add_needles(forms);
}

/// Adds a binary secret (a key): masked as hex (either case) and as base64 (standard and
/// URL-safe alphabets, with or without padding).
pub fn register_secret_bytes(secret: &[u8]) {
    if secret.len() < MIN_NEEDLE / 2 {
        return;
    }
    let hex = hex::encode(secret);
    let forms = [
        hex.to_uppercase(),
        hex,
        base64::engine::general_purpose::STANDARD_NO_PAD.encode(secret),
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(secret),
    ];
    add_needles(forms);
}

fn add_needles(forms: impl IntoIterator<Item = String>) {
    let mut live = LIVE.write().unwrap_or_else(|e| e.into_inner());
    for f in forms {
        if f.len() >= MIN_NEEDLE && !live.contains(&f) {
            live.push(f);
        }
    }
    // Longest first, so a needle inside another one does not leave part of it behind.
    live.sort_by_key(|n| std::cmp::Reverse(n.len()));
}

/// `s` with every registered secret masked; borrowed when none occurs.
fn mask_live(s: &str) -> Cow<'_, str> {
    let live = LIVE.read().unwrap_or_else(|e| e.into_inner());
    let mut out = Cow::Borrowed(s);
    for needle in live.iter() {
        if out.contains(needle.as_str()) {
            out = Cow::Owned(out.replace(needle.as_str(), MASK));
        }
    }
    out
}

/// Whether `text` (a serialised value) may hold anything [`redact_value`] would mask: a live
/// secret, a secret shape, or a key that names a credential. A cheap superset, so results that
/// hold nothing secret (most of them) are returned without being rebuilt.
fn may_need_redaction(text: &str) -> bool {
    static SHAPES: LazyLock<RegexSet> = LazyLock::new(|| {
        let mut pats: Vec<String> = RULES.iter().map(|r| r.re.as_str().to_string()).collect();
        // Keys `is_secret_key` masks, as they appear in JSON.
        pats.push(
            r#"(?i)"[a-z0-9_-]*(?:password|passwd|passphrase|secret|ticket|private_?key|authorization|cookie|api_?key|credential|token)"\s*:"#
                .into(),
        );
        pats.push(r#"(?i)"(?:pass|pwd|key|auth)"\s*:"#.into());
        pats.push(r"(?:^|\s)-p".into());
        RegexSet::new(pats).expect("valid regexes")
    });
    let live = LIVE.read().unwrap_or_else(|e| e.into_inner());
    live.iter().any(|n| text.contains(n.as_str())) || SHAPES.is_match(text)
}

/// A tool result made safe for the model: every string redacted ([`redact_str`]: live secrets
/// and secret shapes), and the values of keys that name a credential outright masked. Unlike
/// [`redact_value`] (for the audit log), generic keys such as `key` stay: results use
/// `{"key": "cores", "value": 4}` for ordinary data. Returned as is, without a copy, when it
/// cannot hold anything to mask.
pub fn redact_output(value: serde_json::Value) -> serde_json::Value {
    match serde_json::to_string(&value) {
        Ok(text) if !may_need_redaction(&text) => value,
        _ => walk(&value, Keys::Credentials),
    }
}

/// Which object members have their values masked.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Keys {
    /// Every key that may name a credential, `key` and `auth` included, and the argument after
    /// a password flag in argv arrays: what the audit log records.
    All,
    /// Keys that name a credential outright (`password`, `secret`, `ticket`, `*token`, …).
    Credentials,
}

/// True when an object key names a credential. Case, `_` and `-` are ignored.
pub fn is_secret_key(key: &str) -> bool {
    const EXACT: &[&str] = &["pass", "pwd", "key", "auth"];
    is_credential_key(key) || EXACT.contains(&normal_key(key).as_str())
}

/// True when an object key names a credential outright.
fn is_credential_key(key: &str) -> bool {
    const CONTAINS: &[&str] = &[
        "password",
        "passwd",
        "passphrase",
        "secret",
        "ticket",
        "privatekey",
        "authorization",
        "cookie",
        "apikey",
        "credential",
    ];
    let k = normal_key(key);
    CONTAINS.iter().any(|s| k.contains(s)) || k.ends_with("token")
}

fn normal_key(key: &str) -> String {
    key.chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

/// A copy of `value` with every secret masked.
pub fn redact_value(value: &Value) -> Value {
    walk(value, Keys::All)
}

fn walk(value: &Value, keys: Keys) -> Value {
    match value {
        Value::String(s) => Value::String(redact_str(s).into_owned()),
        Value::Array(items) if keys == Keys::All => redact_argv(items),
        Value::Array(items) => Value::Array(items.iter().map(|v| walk(v, keys)).collect()),
        Value::Object(map) => redact_object(map, keys),
        other => other.clone(),
    }
}

fn redact_object(map: &Map<String, Value>, keys: Keys) -> Value {
    let secret_key = |k: &str| match keys {
        Keys::All => is_secret_key(k),
        Keys::Credentials => is_credential_key(k),
    };
    // `{"name": "Authorization", "value": "…"}`: the secret sits beside the key that names it.
    let names_secret = ["name", "key", "header"]
        .iter()
        .any(|k| map.get(*k).and_then(Value::as_str).is_some_and(secret_key));
    let out = map.iter().map(|(k, v)| {
        let secret = secret_key(k) || (names_secret && k == "value");
        let v = if secret && !v.is_null() {
            Value::String(MASK.to_owned())
        } else {
            walk(v, keys)
        };
        (redact_str(k).into_owned(), v)
    });
    Value::Object(out.collect())
}

fn redact_argv(items: &[Value]) -> Value {
    let mut out = Vec::with_capacity(items.len());
    let mut flag: Option<&str> = None;
    for item in items {
        let masked = match (flag, item.as_str()) {
            (Some(f), Some(next)) => flag_value_is_secret(f, next, &argv_text(items)),
            _ => false,
        };
        out.push(if masked {
            Value::String(MASK.to_owned())
        } else {
            redact_value(item)
        });
        flag = item.as_str().filter(|_| !masked);
    }
    Value::Array(out)
}

fn argv_text(items: &[Value]) -> String {
    let words: Vec<&str> = items.iter().filter_map(Value::as_str).collect();
    words.join(" ")
}

/// Whether the argument `value` after `flag` is a secret; `command` is the whole command line.
fn flag_value_is_secret(flag: &str, value: &str, command: &str) -> bool {
    if PASSWORD_FLAG.is_match(flag) {
        return true;
    }
    flag == "-p" && p_value_is_secret(value, command)
}

/// `-p` is a password for `sshpass` and `mysql`; elsewhere (`mkdir -p DIR`, `ssh -p 22`) a path
/// or a number is kept and anything else is masked, to be safe.
fn p_value_is_secret(value: &str, command: &str) -> bool {
    if PASSWORD_P_TOOLS.is_match(command) {
        return true;
    }
    let plain = value.trim_matches(|c| c == '"' || c == '\'');
    !(plain.starts_with(['/', '-', '.', '~', '$']) || plain.bytes().all(|b| b.is_ascii_digit()))
}

static PASSWORD_FLAG: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)^--?(?:password|passwd|pass|pwd|passphrase|secret|token-?secret|api-?token|ticket|cipassword|key-?password)$",
    )
    .expect("valid regex")
});

static PASSWORD_P_TOOLS: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\b(?:sshpass|mysql\w*|mariadb\w*)\b").expect("valid regex"));

/// One pattern and how a match is rewritten.
struct Rule {
    re: Regex,
    rewrite: fn(&Captures<'_>, &str) -> String,
}

fn rule(re: &str, rewrite: fn(&Captures<'_>, &str) -> String) -> Rule {
    Rule {
        re: Regex::new(re).expect("valid regex"),
        rewrite,
    }
}

/// Keep capture group 1, mask the rest of the match.
fn keep_prefix(c: &Captures<'_>, _: &str) -> String {
    format!("{}{MASK}", &c[1])
}

fn mask_all(_: &Captures<'_>, _: &str) -> String {
    MASK.to_owned()
}

// Values: a quoted string, or a run up to a separator.
const VALUE: &str = r#"(?:"[^"]*"|'[^']*'|[^\s&;,"'}]+)"#;
const UUID: &str = r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}";

static RULES: LazyLock<Vec<Rule>> = LazyLock::new(|| {
    vec![
        // PEM private keys, also cut off before their END line.
        rule(
            r"(?s)-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----.*?(?:-----END [A-Z0-9 ]*PRIVATE KEY-----|\z)",
            mask_all,
        ),
        // PVE tickets: PVE:user@realm:HEXTIME::signature (also PVEVNC:…).
        rule(
            r"PVE[A-Z]*:[^\s:]+:[0-9A-Fa-f]{8}::[A-Za-z0-9+/=_-]+",
            mask_all,
        ),
        // PVEAPIToken=user@realm!tokenid=SECRET: keep the token id.
        rule(
            r#"(?i)(PVEAPIToken[\s=]+[^\s=!"']+![^\s="']+[=:])[^\s"',;&}]+"#,
            keep_prefix,
        ),
        // Authorization headers, to the end of the quoted string or the line.
        rule(
            r#"(?i)(\bauthorization["']?\s*[:=]\s*)(?:"[^"]*"|'[^']*'|[^\r\n"'&]+)"#,
            keep_prefix,
        ),
        // user:password@ in URLs.
        rule(
            r#"(?i)(\b[a-z][a-z0-9+.-]*://[^\s/@:"']+:)[^\s/@"']+@"#,
            |c, _| format!("{}{MASK}@", &c[1]),
        ),
        // name=value and "name": value pairs whose name says secret (not PVEAPIToken, done above).
        rule(
            &format!(
                r#"(?i)((?:^|[^/a-z0-9_.-])[a-z0-9_.-]*(?:password|passwd|passphrase|pwd|secret|ticket|token|cookie|apikey|api_key|private_?key)["']?\s*[:=]\s*){VALUE}"#
            ),
            |c, m| {
                let name = c[1].trim_start_matches(|ch: char| !ch.is_ascii_alphanumeric());
                if name.to_ascii_lowercase().starts_with("pveapitoken") {
                    m.to_owned()
                } else {
                    keep_prefix(c, m)
                }
            },
        ),
        // --password X, --cipassword 'X' … in command lines.
        rule(
            &format!(
                r"(?i)((?:^|\s)--?(?:password|passwd|pass|pwd|passphrase|secret|token-?secret|api-?token|ticket|cipassword|key-?password)\s+){VALUE}"
            ),
            keep_prefix,
        ),
        // UUID-shaped token secrets after = or :.
        rule(&format!(r#"([=:]\s*["']?){UUID}\b"#), keep_prefix),
    ]
});

// `-p X` needs the whole string to decide (sshpass/mysql); `-pX` only for mysql-like tools.
static P_FLAG: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(&format!(r"((?:^|\s)-p\s+)({VALUE})")).expect("valid regex"));
static P_ATTACHED: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"((?:^|\s)-p)([^\s*][^\s]*)").expect("valid regex"));

/// `s` with every registered secret and every secret shape masked; borrowed when nothing
/// matched.
pub fn redact_str(s: &str) -> Cow<'_, str> {
    let mut out = mask_live(s);
    for r in RULES.iter() {
        if r.re.is_match(&out) {
            let replaced =
                r.re.replace_all(&out, |c: &Captures<'_>| (r.rewrite)(c, &c[0]))
                    .into_owned();
            out = Cow::Owned(replaced);
        }
    }
    if out.contains("-p") {
        // Work on the text in place: a large result is copied only when something is masked.
        let changed = {
            let command: &str = &out;
            let replaced = P_FLAG.replace_all(command, |c: &Captures<'_>| {
                if p_value_is_secret(&c[2], command) {
                    format!("{}{MASK}", &c[1])
                } else {
                    c[0].to_owned()
                }
            });
            let replaced = if PASSWORD_P_TOOLS.is_match(command) {
                Cow::Owned(
                    P_ATTACHED
                        .replace_all(&replaced, |c: &Captures<'_>| format!("{}{MASK}", &c[1]))
                        .into_owned(),
                )
            } else {
                replaced
            };
            match replaced {
                Cow::Owned(r) if r != command => Some(r),
                _ => None,
            }
        };
        if let Some(r) = changed {
            out = Cow::Owned(r);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    /// Redacts `input` and checks that `secret` is gone and `kept` is still there.
    fn check(input: &str, secret: &str, kept: &str) {
        let out = redact_str(input);
        assert!(!out.contains(secret), "{secret:?} survived in {out:?}");
        assert!(out.contains(kept), "{kept:?} lost from {out:?}");
        assert_eq!(redact_str(&out), out, "not idempotent");
    }

    #[test]
    fn strings() {
        let uuid = "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0";
        let token = format!("PVEAPIToken=root@pam!ci={uuid}");
        check(&token, uuid, "PVEAPIToken=root@pam!ci=****");
        check(
            &format!("curl -H 'Authorization: {token}' https://h:8006"),
            uuid,
            "https://h:8006",
        );
        check(
            "Authorization: Bearer abc.def.ghi\nHost: x",
            "abc.def",
            "Host: x",
        );
        check(
            "https://admin:hunter2@pve:8006/api2/json",
            "hunter2",
            "admin:****@pve",
        );
        check(
            "git clone ssh://git:s3cr3t@host/repo",
            "s3cr3t",
            "host/repo",
        );
        check(
            "pveum user add bob@pve --password hunter2 --comment x",
            "hunter2",
            "--comment x",
        );
        check(
            "qm set 100 --cipassword 'pa ss'",
            "pa ss",
            "qm set 100 --cipassword",
        );
        check("qm set 100 --cipassword=\"pa ss\"", "pa ss", "qm set 100");
        check(
            "sshpass -p 123456 ssh root@h uptime",
            "123456",
            "ssh root@h uptime",
        );
        check("mysql -uroot -phunter2 db", "hunter2", "-uroot");
        check(
            "mkdir -p /var/lib/x && ssh -p 22 h",
            "never",
            "mkdir -p /var/lib/x && ssh -p 22 h",
        );
        check(
            "username=root@pam&password=hunter2&realm=pam",
            "hunter2",
            "realm=pam",
        );
        check(
            r#"{"password": "hunter2", "user": "x"}"#,
            "hunter2",
            r#""user": "x""#,
        );
        check(
            "PROXMOX_TOKEN_SECRET=abc123 proxmox-mcp",
            "abc123",
            "proxmox-mcp",
        );
        check(
            "CSRFPreventionToken: 4EEC61E2:lzYC7",
            "lzYC7",
            "CSRFPreventionToken",
        );
        check(
            "Cookie: PVEAuthCookie=PVE:root@pam:4EEC61E2::rsKoAp/x+=; x=1",
            "rsKoAp",
            "x=1",
        );
        check(
            "got ticket PVE:root@pam:4EEC61E2::rsKoApxDTL== ok",
            "rsKoApx",
            " ok",
        );
        check(&format!("root@pam!mcp={uuid}"), uuid, "root@pam!mcp=");
        check(
            &format!("tokenid=root@pam!x, value: {uuid}"),
            uuid,
            "tokenid=root@pam!x",
        );
        check("qm list", "never", "qm list");
        // A path that ends in a secret-sounding name is not a name=value pair.
        check(
            "url \"file:///etc/passwd\": only http:// and https://",
            "never",
            "only http://",
        );
    }

    #[test]
    fn live_secrets_are_masked_in_any_common_spelling() {
        let secret = "Zq9-live-secret-Xv2";
        register_secret(secret);
        let key = [0x5au8, 0x01, 0xfe, 0x33, 0x10, 0x99, 0xab, 0xcd, 0xef, 0x42];
        register_secret_bytes(&key);
        let b64 = base64::engine::general_purpose::STANDARD.encode(secret);
        for text in [
            format!("out: {secret}!"),
            secret.to_uppercase(),
            format!("x{b64}y"),
            format!("key {}", hex::encode(key)),
            format!("key {}", hex::encode_upper(key)),
            format!(
                "key {}",
                base64::engine::general_purpose::STANDARD_NO_PAD.encode(key)
            ),
        ] {
            let out = redact_str(&text);
            assert!(out.contains(MASK), "{text} -> {out}");
            assert!(
                !out.contains(secret) && !out.contains(&hex::encode(key)),
                "{out}"
            );
        }
        let v = redact_output(json!({"stdout": format!("env: X={secret}"), "n": 1}));
        assert!(!v.to_string().contains(secret), "{v}");
        // A result with nothing secret comes back as it was; generic key/value data stays.
        let plain = json!({"vms": [{"vmid": 100, "name": "web"}]});
        assert_eq!(redact_output(plain.clone()), plain);
        let pending =
            json!({"pending": [{"key": "cores", "value": 4}, {"key": "cipassword", "value": "x"}]});
        let out = redact_output(pending);
        assert_eq!(out["pending"][0], json!({"key": "cores", "value": 4}));
        assert_eq!(out["pending"][1]["value"], MASK);
        register_secret("short");
        assert_eq!(redact_str("a short word"), "a short word");
    }

    #[test]
    fn private_keys() {
        let key = "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXk\n-----END OPENSSH PRIVATE KEY-----";
        check(
            &format!("echo '{key}' > /root/k"),
            "b3BlbnNzaC1rZXk",
            "> /root/k",
        );
        check(
            "x -----BEGIN RSA PRIVATE KEY-----\nMIIEcut",
            "MIIEcut",
            "x ",
        );
        check("-----BEGIN PUBLIC KEY-----\nMFkw", "never", "MFkw");
    }

    #[test]
    fn json() {
        let v = json!({
            "password": 12345678,
            "params": { "cipassword": "a", "name": "vm1", "list": [{ "token_secret": "b" }] },
            "headers": [{ "name": "Authorization", "value": "c" }],
            "CSRFPreventionToken": "d",
            "privateKey": { "pem": "e" },
            "tokenid": "root@pam!x",
            "argv": ["pveum", "passwd", "--password", "f", "-p", "g", "mkdir", "-p", "/h"],
            "nothing": null,
        });
        let out = redact_value(&v);
        let text = out.to_string();
        for secret in [
            "12345678", "\"a\"", "\"b\"", "\"c\"", "\"d\"", "\"e\"", "\"f\"", "\"g\"",
        ] {
            assert!(!text.contains(secret), "{secret} survived in {text}");
        }
        assert_eq!(out["params"]["name"], "vm1");
        assert_eq!(out["tokenid"], "root@pam!x");
        assert_eq!(out["argv"][8], "/h");
        assert_eq!(out["nothing"], Value::Null);
        assert_eq!(redact_value(&out), out);
    }

    #[test]
    fn secret_keys() {
        for k in [
            "password",
            "new-password",
            "Passwd",
            "token_secret",
            "ticket",
            "CSRFPreventionToken",
            "cipassword",
            "privateKey",
            "ssh_private_key",
            "Authorization",
            "api_token",
            "token",
        ] {
            assert!(is_secret_key(k), "{k}");
        }
        for k in [
            "tokenid", "name", "sshkeys", "user", "keys", "ciuser", "vmid",
        ] {
            assert!(!is_secret_key(k), "{k}");
        }
    }
}
