//! Masking secrets before anything is written: credential keys, secret shapes in strings, argv flags.
//!
//! Pure functions. Three rules, applied recursively to nested JSON:
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
use std::sync::LazyLock;

use regex::{Captures, Regex};
use serde_json::{Map, Value};

/// What a secret is replaced with.
pub const MASK: &str = "****";

/// True when an object key names a credential. Case, `_` and `-` are ignored.
pub fn is_secret_key(key: &str) -> bool {
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
    const EXACT: &[&str] = &["pass", "pwd", "key", "auth"];
    let k: String = key
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .collect();
    CONTAINS.iter().any(|s| k.contains(s)) || EXACT.contains(&k.as_str()) || k.ends_with("token")
}

/// A copy of `value` with every secret masked.
pub fn redact_value(value: &Value) -> Value {
    match value {
        Value::String(s) => Value::String(redact_str(s).into_owned()),
        Value::Array(items) => redact_argv(items),
        Value::Object(map) => redact_object(map),
        other => other.clone(),
    }
}

fn redact_object(map: &Map<String, Value>) -> Value {
    // `{"name": "Authorization", "value": "…"}`: the secret sits beside the key that names it.
    let names_secret = ["name", "key", "header"].iter().any(|k| {
        map.get(*k)
            .and_then(Value::as_str)
            .is_some_and(is_secret_key)
    });
    let out = map.iter().map(|(k, v)| {
        let secret = is_secret_key(k) || (names_secret && k == "value");
        let v = if secret && !v.is_null() {
            Value::String(MASK.to_owned())
        } else {
            redact_value(v)
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
                r#"(?i)\b([a-z0-9_.-]*(?:password|passwd|passphrase|pwd|secret|ticket|token|cookie|apikey|api_key|private_?key)["']?\s*[:=]\s*){VALUE}"#
            ),
            |c, m| {
                if c[1].to_ascii_lowercase().starts_with("pveapitoken") {
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

/// `s` with every secret shape masked; borrowed when nothing matched.
pub fn redact_str(s: &str) -> Cow<'_, str> {
    let mut out = Cow::Borrowed(s);
    for r in RULES.iter() {
        if r.re.is_match(&out) {
            let replaced =
                r.re.replace_all(&out, |c: &Captures<'_>| (r.rewrite)(c, &c[0]))
                    .into_owned();
            out = Cow::Owned(replaced);
        }
    }
    if out.contains("-p") {
        let command = out.clone().into_owned();
        let replaced = P_FLAG.replace_all(&command, |c: &Captures<'_>| {
            if p_value_is_secret(&c[2], &command) {
                format!("{}{MASK}", &c[1])
            } else {
                c[0].to_owned()
            }
        });
        let replaced = if PASSWORD_P_TOOLS.is_match(&command) {
            P_ATTACHED
                .replace_all(&replaced, |c: &Captures<'_>| format!("{}{MASK}", &c[1]))
                .into_owned()
        } else {
            replaced.into_owned()
        };
        if replaced != command {
            out = Cow::Owned(replaced);
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
