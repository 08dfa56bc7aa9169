//! Credentials: API-token header, ticket login/renewal with CSRF, and up-front validation of token ids.

use std::time::{Duration, Instant};

use crate::config::env::PROXMOX_TOKEN_SECRET;
use crate::config::{Auth, Secret};

use super::error::PveError;

/// Renew a ticket once it is this old (tickets live 2 h; the server renews with the old ticket).
pub const TICKET_RENEW_AFTER: Duration = Duration::from_secs(105 * 60);
/// Never use a ticket this old (the server refuses it): log in again with the password.
pub const TICKET_LIFETIME: Duration = Duration::from_secs(2 * 3600);

const TOKEN_EXAMPLE: &str = "mcp@pve!assistant";

fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_')
}

/// The part of a token id that may be printed: everything before the first `=` (or whitespace),
/// then `…`.
///
/// After an `=` a pasted id usually carries the secret (`user@realm!name=SECRET`,
/// `PVEAPIToken=user@realm!name=SECRET`), and after a space or tab one copied from a table row,
/// so that part never reaches a message.
pub fn printable_token_id(id: &str) -> String {
    match id.find(|c: char| c == '=' || c.is_whitespace() || c.is_control()) {
        Some(i) if id[i..].starts_with('=') => format!("{}=…", &id[..i]),
        Some(i) => format!("{}…", &id[..i]),
        None => id.to_owned(),
    }
}

/// Check an API token id (`USER@REALM!TOKENNAME`) and say exactly what is wrong with it.
/// The message shows only [`printable_token_id`], never what follows an `=` or whitespace.
pub fn validate_token_id(id: &str) -> Result<(), PveError> {
    let shown = printable_token_id(id);
    let bad = |what: String| {
        Err(PveError::Config(format!(
            "API token id '{shown}' is invalid: {what}. The expected form is USER@REALM!TOKENNAME, \
             e.g. '{TOKEN_EXAMPLE}' or 'root@pam!monitoring' (Datacenter → Permissions → API Tokens \
             shows it as 'Token ID')."
        )))
    };
    if id.is_empty() {
        return bad("it is empty".into());
    }
    if id.starts_with("PVEAPIToken") {
        let secret_hint = if id.matches('=').count() >= 2 {
            format!(
                "; the part after the last '=' looks like the secret: put it in {PROXMOX_TOKEN_SECRET}"
            )
        } else {
            String::new()
        };
        return bad(format!(
            "it includes the 'PVEAPIToken=' header prefix; give only USER@REALM!TOKENNAME as the id{secret_hint}"
        ));
    }
    if id.contains('=') {
        return bad(format!(
            "it contains '='; the part after '=' looks like the secret: put it in \
             {PROXMOX_TOKEN_SECRET} (or a token_secret_file), not in the id"
        ));
    }
    if let Some(c) = id.chars().find(|c| c.is_whitespace() || c.is_control()) {
        return bad(format!(
            "it contains whitespace or a control character ({c:?})"
        ));
    }
    let Some((user_realm, token)) = id.rsplit_once('!') else {
        return bad(format!(
            "the token name is missing: append '!TOKENNAME' (e.g. '{id}!assistant')"
        ));
    };
    if user_realm.contains('!') {
        return bad("it contains more than one '!'".into());
    }
    let Some((user, realm)) = user_realm.rsplit_once('@') else {
        return bad(format!(
            "the realm is missing: '{user_realm}' must be USER@REALM, e.g. '{user_realm}@pve' or \
             '{user_realm}@pam'"
        ));
    };
    if user.is_empty() {
        return bad("the user name before '@' is empty".into());
    }
    if user.contains(':') || user.contains('/') {
        return bad("the user name contains ':' or '/'".into());
    }
    if realm.is_empty() {
        return bad("the realm after '@' is empty (usually 'pam' or 'pve')".into());
    }
    if !realm.starts_with(|c: char| c.is_ascii_alphabetic()) || !realm.chars().all(is_name_char) {
        return bad(format!(
            "the realm '{realm}' must start with a letter and contain only letters, digits, '.', '-' or '_'"
        ));
    }
    if token.is_empty() {
        return bad("the token name after '!' is empty".into());
    }
    if !token.starts_with(|c: char| c.is_ascii_alphabetic()) || !token.chars().all(is_name_char) {
        return bad(format!(
            "the token name '{token}' must start with a letter and contain only letters, digits, '.', '-' or '_'"
        ));
    }
    Ok(())
}

/// Check that a token secret looks like the UUID PVE issues, without ever echoing it.
pub fn validate_token_secret(secret: &Secret) -> Result<(), PveError> {
    let s = secret.expose();
    let problem = if s.is_empty() {
        Some("it is empty".to_owned())
    } else if s.trim() != s {
        Some("it has leading or trailing whitespace".to_owned())
    } else if s.len() != 36 {
        Some(format!(
            "it is {} characters long, a token secret has 36",
            s.chars().count()
        ))
    } else {
        let shape_ok = s.char_indices().all(|(i, c)| {
            if matches!(i, 8 | 13 | 18 | 23) {
                c == '-'
            } else {
                c.is_ascii_hexdigit()
            }
        });
        (!shape_ok).then(|| "it is not in the 8-4-4-4-12 hex form".to_owned())
    };
    match problem {
        None => Ok(()),
        Some(p) => Err(PveError::Config(format!(
            "the API token secret is invalid: {p}. It must be the UUID shown once when the token was \
             created (xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx); if it was lost, create a new secret with \
             `pveum user token add USER@REALM TOKENNAME` (or regenerate it in the web UI)."
        ))),
    }
}

/// Check a password-login user id (`USER@REALM`).
pub fn validate_user_id(user: &str) -> Result<(), PveError> {
    match user.rsplit_once('@') {
        Some((u, r)) if !u.is_empty() && !r.is_empty() && !user.contains('!') => Ok(()),
        _ => Err(PveError::Config(format!(
            "user '{user}' is invalid: the expected form is USER@REALM, e.g. 'root@pam' or \
             'admin@pve' (for an API token use the token settings instead)"
        ))),
    }
}

/// A ticket from `POST /access/ticket`.
#[derive(Clone, Debug)]
pub struct Ticket {
    pub ticket: Secret,
    pub csrf: Secret,
    pub obtained: Instant,
}

impl Ticket {
    pub fn needs_renewal(&self) -> bool {
        self.obtained.elapsed() >= TICKET_RENEW_AFTER
    }

    pub fn expired(&self) -> bool {
        // Keep a minute of margin for clock skew and the request in flight.
        self.obtained.elapsed() + Duration::from_secs(60) >= TICKET_LIFETIME
    }

    /// Parse the `data` of `POST /access/ticket`.
    pub fn from_response(data: &serde_json::Value) -> Result<Self, PveError> {
        let field = |k: &str| {
            data.get(k)
                .and_then(|v| v.as_str())
                .filter(|s| !s.is_empty())
        };
        if data
            .get("NeedTFA")
            .is_some_and(|v| v.as_i64() == Some(1) || v.as_bool() == Some(true))
        {
            return Err(PveError::Auth {
                message:
                    "the account requires two-factor authentication, which this client cannot \
                          complete; use an API token instead (tokens skip TFA)"
                        .into(),
            });
        }
        match (field("ticket"), field("CSRFPreventionToken")) {
            (Some(t), Some(c)) => Ok(Ticket {
                ticket: Secret::new(t),
                csrf: Secret::new(c),
                obtained: Instant::now(),
            }),
            _ => Err(PveError::Decode {
                message: "POST /access/ticket answered without 'ticket' and 'CSRFPreventionToken'"
                    .into(),
            }),
        }
    }
}

/// Who we authenticate as, for messages: never contains a secret.
pub fn describe(auth: &Auth) -> String {
    match auth {
        Auth::Token { id, .. } => format!("API token {id}"),
        Auth::Password { user, .. } => format!("user {user} (password login)"),
    }
}

/// The `Authorization` header value for a token.
pub fn token_header(id: &str, secret: &Secret) -> String {
    format!("PVEAPIToken={id}={}", secret.expose())
}

/// The `Cookie` header value for a ticket (URI-escaped like the server sets it).
pub fn cookie_header(ticket: &Secret) -> String {
    let mut v = String::with_capacity(ticket.expose().len() + 16);
    for &b in ticket.expose().as_bytes() {
        if b.is_ascii_alphanumeric() || b"-._~:@".contains(&b) {
            v.push(b as char);
        } else {
            v.push_str(&format!("%{b:02X}"));
        }
    }
    format!("PVEAuthCookie={v}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(id: &str, want: Result<(), &str>) {
        match (validate_token_id(id), want) {
            (Ok(()), Ok(())) => {}
            (Err(e), Err(fragment)) => {
                let m = e.to_string();
                assert!(m.contains(fragment), "{id:?}: {m}");
                assert!(m.contains("USER@REALM!TOKENNAME"), "{id:?}: {m}");
            }
            (got, want) => panic!("{id:?}: got {got:?}, want {want:?}"),
        }
    }

    #[test]
    fn token_ids() {
        check("mcp@pve!assistant", Ok(()));
        check("root@pam!monitoring", Ok(()));
        check("first.last@ad-corp.example!ci_job-1", Ok(()));
        check("", Err("it is empty"));
        check(
            "mcp@pve",
            Err("the token name is missing: append '!TOKENNAME' (e.g. 'mcp@pve!assistant')"),
        );
        check(
            "mcp!assistant",
            Err("the realm is missing: 'mcp' must be USER@REALM, e.g. 'mcp@pve'"),
        );
        check("@pve!x", Err("the user name before '@' is empty"));
        check("mcp@!x", Err("the realm after '@' is empty"));
        check("mcp@pve!", Err("the token name after '!' is empty"));
        check(
            "mcp@pve!1abc",
            Err("the token name '1abc' must start with a letter"),
        );
        check("mcp@pve!a!b", Err("more than one '!'"));
        check(
            "mcp@pve!x=aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee",
            Err(
                "API token id 'mcp@pve!x=…' is invalid: it contains '='; the part after '=' looks \
                 like the secret: put it in PROXMOX_TOKEN_SECRET",
            ),
        );
        check(
            "PVEAPIToken=mcp@pve!x",
            Err(
                "API token id 'PVEAPIToken=…' is invalid: it includes the 'PVEAPIToken=' header prefix; give only USER@REALM!TOKENNAME as the id.",
            ),
        );
        check(
            "PVEAPIToken=mcp@pve!x=aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee",
            Err(
                "the part after the last '=' looks like the secret: put it in PROXMOX_TOKEN_SECRET",
            ),
        );
        check("mcp@pve !x", Err("whitespace"));
        check(
            "mcp@p/ve!x",
            Err("the realm 'p/ve' must start with a letter"),
        );
    }

    /// A secret pasted into the id never comes back in the message.
    #[test]
    fn token_ids_never_echo_a_pasted_secret() {
        let secret = "5ec2e7aa-bbbb-cccc-dddd-eeeeeeeeeeee";
        for id in [
            format!("mcp@pve!mcp={secret}"),
            format!("PVEAPIToken=mcp@pve!mcp={secret}"),
            format!("mcp@pve={secret}"),
            format!("={secret}"),
            format!("mcp@pve!mcp= {secret}"),
            format!("mcp@pve!mcp {secret}"),
            format!("mcp@pve!mcp\t{secret}"),
        ] {
            let m = validate_token_id(&id).unwrap_err().to_string();
            assert!(!m.contains("5ec2e7aa"), "{id:?}: secret echoed: {m}");
            assert!(!m.contains("eeeeeeeeeeee"), "{id:?}: secret echoed: {m}");
        }
        assert_eq!(printable_token_id("mcp@pve!mcp"), "mcp@pve!mcp");
        assert_eq!(printable_token_id("mcp@pve!mcp=s=t"), "mcp@pve!mcp=…");
        assert_eq!(printable_token_id("mcp@pve!mcp\ts=t"), "mcp@pve!mcp…");
    }

    #[test]
    fn token_secrets_never_echoed() {
        let ok = Secret::new("aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee");
        assert!(validate_token_secret(&ok).is_ok());
        for (bad, fragment) in [
            ("", "it is empty"),
            ("hunter2", "7 characters long"),
            ("aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeeZ", "8-4-4-4-12"),
            ("aaaaaaaaXbbbbXccccXddddXeeeeeeeeeeee", "8-4-4-4-12"),
            (" aaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee", "whitespace"),
        ] {
            let e = validate_token_secret(&Secret::new(bad))
                .unwrap_err()
                .to_string();
            assert!(e.contains(fragment), "{bad:?}: {e}");
            if !bad.is_empty() {
                assert!(!e.contains(bad), "secret echoed: {e}");
            }
        }
    }

    #[test]
    fn ticket_parsing() {
        let data = serde_json::json!({"username":"root@pam","ticket":"PVE:root@pam:4EEC61E2::sig","CSRFPreventionToken":"4EEC61E2:tok"});
        let t = Ticket::from_response(&data).unwrap();
        assert_eq!(t.ticket.expose(), "PVE:root@pam:4EEC61E2::sig");
        assert!(!t.needs_renewal() && !t.expired());
        assert!(matches!(
            Ticket::from_response(
                &serde_json::json!({"NeedTFA": 1, "ticket": "x", "CSRFPreventionToken": "y"})
            ),
            Err(PveError::Auth { .. })
        ));
        assert!(Ticket::from_response(&serde_json::json!({})).is_err());
        assert_eq!(
            cookie_header(&Secret::new("PVE:a@pam:1::s+/=")),
            "PVEAuthCookie=PVE:a@pam:1::s%2B%2F%3D"
        );
    }
}
