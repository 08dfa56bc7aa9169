//! Validation of the ids `user_management` and `cluster_management` put into PVE paths and
//! parameters: user, token, group, role and pool ids, ACL paths and free text.
//!
//! Stricter than PVE where PVE allows characters no administrator needs (shell and list
//! metacharacters), so a hostile string never reaches the cluster.

use super::super::ToolError;

/// Longest user id PVE accepts.
const MAX_USERID: usize = 64;
/// Longest free-text value (comment, names, e-mail).
const MAX_TEXT: usize = 256;

fn shown(s: &str) -> String {
    s.chars().take(80).collect()
}

fn id_chars(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= MAX_USERID
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_'))
}

/// `name@realm` (PVE's `pve-userid`): the realm starts with a letter.
pub fn userid(s: &str) -> Result<&str, ToolError> {
    let ok = s.len() <= MAX_USERID
        && s.rsplit_once('@').is_some_and(|(name, realm)| {
            !name.is_empty()
                && name.bytes().all(|b| {
                    b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_' | b'+' | b'@')
                })
                && realm
                    .bytes()
                    .next()
                    .is_some_and(|b| b.is_ascii_alphabetic())
                && id_chars(realm)
        });
    if ok {
        Ok(s)
    } else {
        Err(ToolError::invalid(format!(
            "userid {:?} is not a PVE user id: use name@realm, e.g. alice@pve or bob@pam",
            shown(s)
        )))
    }
}

/// A token name (the part after `!`): a letter, then letters, digits, `.`, `-`, `_`.
pub fn tokenid(s: &str) -> Result<&str, ToolError> {
    if s.len() >= 2 && s.as_bytes()[0].is_ascii_alphabetic() && id_chars(s) {
        Ok(s)
    } else {
        Err(ToolError::invalid(format!(
            "tokenid {:?} is not a token name: a letter, then letters, digits, '.', '-', '_' \
             (at least 2 characters)",
            shown(s)
        )))
    }
}

/// `user@realm` or `user@realm!token`, for ACL subjects and permission queries.
pub fn user_or_token(s: &str) -> Result<(&str, Option<&str>), ToolError> {
    match s.split_once('!') {
        Some((u, t)) => Ok((userid(u)?, Some(tokenid(t)?))),
        None => Ok((userid(s)?, None)),
    }
}

/// A group or role id (PVE's `pve-groupid` / `pve-roleid`).
pub fn simple_id<'a>(what: &str, s: &'a str) -> Result<&'a str, ToolError> {
    if id_chars(s) {
        Ok(s)
    } else {
        Err(ToolError::invalid(format!(
            "{what} {:?} is not valid: letters, digits, '.', '-', '_'",
            shown(s)
        )))
    }
}

/// A pool id: [`simple_id`] segments, `/`-separated for nested pools.
pub fn poolid(s: &str) -> Result<&str, ToolError> {
    let ok = !s.is_empty() && s.len() <= MAX_USERID && s.split('/').all(id_chars);
    if ok && !s.split('/').any(|p| p == "." || p == "..") {
        Ok(s)
    } else {
        Err(ToolError::invalid(format!(
            "pool {:?} is not a pool id: letters, digits, '.', '-', '_' (pools lists them)",
            shown(s)
        )))
    }
}

/// An ACL path: `/`, `/vms/100`, `/storage/local`, `/pool/dev`, `/access/realm/pve`…
pub fn acl_path(s: &str) -> Result<&str, ToolError> {
    let ok = s.starts_with('/')
        && s.len() <= MAX_TEXT
        && (s == "/"
            || s[1..].trim_end_matches('/').split('/').all(|seg| {
                !seg.is_empty()
                    && seg != "."
                    && seg != ".."
                    && seg.bytes().all(|b| {
                        b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_' | b'@' | b':')
                    })
            }));
    if ok {
        Ok(s)
    } else {
        Err(ToolError::invalid(format!(
            "path {:?} is not an ACL path: e.g. /, /vms/100, /storage/local, /pool/dev",
            shown(s)
        )))
    }
}

/// One line of free text (comment, names, e-mail): no control characters, bounded.
pub fn text<'a>(what: &str, s: &'a str) -> Result<&'a str, ToolError> {
    if s.len() > MAX_TEXT {
        Err(ToolError::invalid(format!(
            "{what} is {} bytes; the limit is {MAX_TEXT}",
            s.len()
        )))
    } else if s.chars().any(char::is_control) {
        Err(ToolError::invalid(format!(
            "{what} must be one line without control characters"
        )))
    } else {
        Ok(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(f: fn(&str) -> Result<&str, ToolError>, good: &[&str], bad: &[&str]) {
        for g in good {
            assert!(f(g).is_ok(), "{g} should pass");
        }
        for b in bad {
            assert!(f(b).is_err(), "{b} should fail");
        }
    }

    #[test]
    fn ids() {
        check(
            userid,
            &[
                "alice@pve",
                "root@pam",
                "john.doe@corp.com@ldap",
                "a-b_c@pve",
            ],
            &[
                "bob",
                "bob@pve; rm -rf /",
                "@pve",
                "bob@",
                "bob@1x",
                "a b@pve",
                "x/y@pve",
                "bob@pve!t",
            ],
        );
        check(tokenid, &["ci", "mcp-1.x"], &["a", "1x", "a b", "a!b", ""]);
        check(
            poolid,
            &["dev", "prod/web"],
            &["", "../x", "a b", "a;b", "/x"],
        );
        check(
            acl_path,
            &["/", "/vms/100", "/storage/local-lvm", "/pool/dev/"],
            &["", "vms", "/vms/../x", "/a b", "/vms//100", "/x;rm"],
        );
        assert!(user_or_token("mcp@pve!admin").is_ok());
        assert!(user_or_token("mcp@pve!").is_err());
        assert!(text("comment", "a\nb").is_err());
    }
}
