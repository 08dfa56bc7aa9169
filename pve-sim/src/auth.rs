//! Authentication: API token headers, tickets (cookie or header), CSRF tokens and their signatures.

use std::sync::atomic::{AtomicU64, Ordering};

use axum::http::HeaderMap;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use sha2::{Digest, Sha256};

use crate::util::percent_decode;

/// What the client presented.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Presented {
    Token { id: String, secret: String },
    Ticket(String),
    Nothing,
}

/// Ticket signing key and lifetime.
pub struct Keys {
    secret: [u8; 32],
    lifetime: AtomicU64,
}

impl Keys {
    pub fn new() -> Self {
        let mut secret = [0u8; 32];
        rand::Rng::fill(&mut rand::rng(), &mut secret[..]);
        Keys {
            secret,
            lifetime: AtomicU64::new(2 * 3600),
        }
    }

    pub fn set_lifetime(&self, secs: u64) {
        self.lifetime.store(secs, Ordering::Relaxed);
    }

    pub fn lifetime(&self) -> u64 {
        self.lifetime.load(Ordering::Relaxed)
    }

    fn sign(&self, what: &str) -> String {
        let mut h = Sha256::new();
        h.update(self.secret);
        h.update(what.as_bytes());
        STANDARD.encode(h.finalize())
    }

    /// `PVE:<userid>:<HEXTIME>::<signature>`.
    pub fn ticket(&self, userid: &str, now: u64) -> String {
        let data = format!("PVE:{userid}:{now:08X}");
        format!("{data}::{}", self.sign(&data))
    }

    /// Returns the user id of a valid, unexpired ticket.
    pub fn verify_ticket(&self, ticket: &str, now: u64) -> Option<String> {
        let (data, sig) = ticket.split_once("::")?;
        if self.sign(data) != sig {
            return None;
        }
        let rest = data.strip_prefix("PVE:")?;
        let (userid, hex) = rest.rsplit_once(':')?;
        let t = u64::from_str_radix(hex, 16).ok()?;
        // PVE accepts tickets up to 5 minutes from the future (clock skew).
        if t > now + 300 || now >= t + self.lifetime() {
            return None;
        }
        Some(userid.to_string())
    }

    /// `<HEXTIME>:<signature>` bound to the user.
    pub fn csrf(&self, userid: &str, now: u64) -> String {
        let sig = self.sign(&format!("csrf:{now:08X}:{userid}"));
        format!("{now:08X}:{}", &sig[..43])
    }

    pub fn verify_csrf(&self, token: &str, userid: &str, now: u64) -> bool {
        let Some((hex, _)) = token.split_once(':') else {
            return false;
        };
        let Ok(t) = u64::from_str_radix(hex, 16) else {
            return false;
        };
        if t > now + 300 || now >= t + self.lifetime() {
            return false;
        }
        let sig = self.sign(&format!("csrf:{hex}:{userid}"));
        token == format!("{hex}:{}", &sig[..43])
    }
}

impl Default for Keys {
    fn default() -> Self {
        Self::new()
    }
}

/// Finds the credentials in the request headers, like pve-http-server does.
pub fn presented(headers: &HeaderMap) -> Presented {
    if let Some(auth) = headers.get("authorization").and_then(|v| v.to_str().ok()) {
        if let Some(v) = find_after(auth, "PVEAPIToken") {
            let v = percent_decode(v, false);
            if let Some((id, secret)) = v.rsplit_once('=') {
                return Presented::Token {
                    id: id.trim().to_string(),
                    secret: secret.trim().to_string(),
                };
            }
            return Presented::Token {
                id: v,
                secret: String::new(),
            };
        }
        if let Some(v) = auth.trim().strip_prefix("PVEAuthCookie=") {
            return Presented::Ticket(percent_decode(v.split(';').next().unwrap_or(""), false));
        }
    }
    for cookie in headers.get_all("cookie") {
        let Ok(c) = cookie.to_str() else { continue };
        for part in c.split(';') {
            if let Some(v) = part.trim().strip_prefix("PVEAuthCookie=") {
                return Presented::Ticket(percent_decode(v, false));
            }
        }
    }
    Presented::Nothing
}

/// The value after `name=` or `name ` at a word start (`(?:^|\s)NAME(?:=| )([^;]*)`).
fn find_after<'a>(s: &'a str, name: &str) -> Option<&'a str> {
    let mut from = 0;
    while let Some(pos) = s[from..].find(name) {
        let start = from + pos;
        let at_word = start == 0 || s[..start].ends_with(char::is_whitespace);
        let after = &s[start + name.len()..];
        if at_word && (after.starts_with('=') || after.starts_with(' ')) {
            let v = &after[1..];
            return Some(v.split(';').next().unwrap_or(""));
        }
        from = start + name.len();
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn check(header: (&str, &str), want: Presented) {
        let mut h = HeaderMap::new();
        h.insert(
            axum::http::HeaderName::from_bytes(header.0.as_bytes()).expect("name"),
            HeaderValue::from_str(header.1).expect("value"),
        );
        assert_eq!(presented(&h), want, "{header:?}");
    }

    fn tok(id: &str, secret: &str) -> Presented {
        Presented::Token {
            id: id.into(),
            secret: secret.into(),
        }
    }

    #[test]
    fn header_forms() {
        check(
            ("authorization", "PVEAPIToken=a@pve!t=s-1"),
            tok("a@pve!t", "s-1"),
        );
        check(
            ("authorization", "PVEAPIToken a@pve!t=s-1"),
            tok("a@pve!t", "s-1"),
        );
        check(
            ("authorization", "PVEAPIToken=a%40pve%21t=s"),
            tok("a@pve!t", "s"),
        );
        check(
            ("authorization", "PVEAuthCookie=PVE:x"),
            Presented::Ticket("PVE:x".into()),
        );
        check(
            ("cookie", "a=b; PVEAuthCookie=PVE%3Ax%3A"),
            Presented::Ticket("PVE:x:".into()),
        );
        check(("authorization", "Bearer x"), Presented::Nothing);
        check(("authorization", "XPVEAPIToken=a=b"), Presented::Nothing);
    }

    #[test]
    fn tickets() {
        let k = Keys::new();
        let t = k.ticket("root@pam", 1000);
        assert!(t.starts_with("PVE:root@pam:000003E8::"));
        assert_eq!(k.verify_ticket(&t, 1000).as_deref(), Some("root@pam"));
        assert_eq!(k.verify_ticket(&t, 1000 + 7200), None);
        assert_eq!(k.verify_ticket(&t.replace("root", "evil"), 1000), None);
        let c = k.csrf("root@pam", 1000);
        assert!(k.verify_csrf(&c, "root@pam", 1001));
        assert!(!k.verify_csrf(&c, "other@pam", 1001));
        k.set_lifetime(10);
        assert_eq!(k.verify_ticket(&t, 1011), None);
    }
}
