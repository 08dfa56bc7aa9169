//! The `{"data": …}` envelope and the mapping of PVE's HTTP errors (status, reason phrase, `message`, `errors`).

use std::collections::BTreeMap;
use std::sync::LazyLock;

use regex::Regex;
use serde::Deserialize;
use serde_json::Value;

use super::error::PveError;
use super::request::Method;

/// What the error messages need to know about the request.
#[derive(Clone, Copy, Debug)]
pub struct Context<'a> {
    /// Who we authenticated as, e.g. "API token mcp@pve!assistant" (never a secret).
    pub who: &'a str,
    /// Whether `who` is an API token (403 advice differs).
    pub token: bool,
    pub method: Method,
    /// The API path, relative to /api2/json.
    pub path: &'a str,
}

static PERM_RE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"Permission check failed \((/[^,()]*), ([A-Za-z][A-Za-z0-9.]*(?:(?:, | \| )[A-Za-z][A-Za-z0-9.]*)*)\)")
        .expect("valid regex")
});

/// Turn a response into the envelope's `data`, or into the matching [`PveError`].
///
/// `reason` is the HTTP reason phrase as the server sent it (old servers put the message only there).
pub fn decode(
    status: u16,
    reason: Option<&str>,
    body: &[u8],
    ctx: &Context<'_>,
) -> Result<Value, PveError> {
    check(status, reason, body, ctx)?;
    parse_data(body, ctx.method, ctx.path)
}

/// Decode the `data` member of a successful response straight into `T` (no intermediate
/// `Value` for large bodies such as `/cluster/resources`). `T` may borrow strings from `body`.
pub fn parse_data<'a, T: Deserialize<'a>>(
    body: &'a [u8],
    method: Method,
    path: &str,
) -> Result<T, PveError> {
    #[derive(Deserialize)]
    struct Envelope<T> {
        #[serde(default = "Option::default")]
        data: Option<T>,
    }
    let decode_error = |e| decode_error(body, method, path, e, &short_type_name::<T>());
    if !body.trim_ascii_start().starts_with(b"{") {
        // serde would read a JSON array positionally into the envelope; PVE never sends one.
        return Err(decode_error(serde::de::Error::custom("not an object")));
    }
    let envelope: Envelope<T> = serde_json::from_slice(body).map_err(decode_error)?;
    match envelope.data {
        Some(data) => Ok(data),
        None => T::deserialize(Value::Null).map_err(decode_error),
    }
}

/// Decode the `data` array of a successful response one element at a time, handing each to
/// `each`: a list of thousands of entries is never held decoded all at once. A `null` or
/// missing `data` is an empty list.
pub fn for_each_in_data<'a, T: Deserialize<'a>>(
    body: &'a [u8],
    method: Method,
    path: &str,
    each: impl FnMut(T),
) -> Result<(), PveError> {
    let decode_error = |e| decode_error(body, method, path, e, &short_type_name::<Vec<T>>());
    if !body.trim_ascii_start().starts_with(b"{") {
        return Err(decode_error(serde::de::Error::custom("not an object")));
    }
    let mut de = serde_json::Deserializer::from_slice(body);
    serde::Deserializer::deserialize_map(&mut de, each_seed::Envelope::new(each))
        .and_then(|()| de.end())
        .map_err(decode_error)
}

/// The visitors behind [`for_each_in_data`].
mod each_seed {
    use std::fmt;
    use std::marker::PhantomData;

    use serde::Deserialize;
    use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

    #[derive(Deserialize)]
    enum Key {
        #[serde(rename = "data")]
        Data,
        #[serde(other)]
        Other,
    }

    pub(super) struct Envelope<T, F>(F, PhantomData<fn(T)>);

    impl<T, F> Envelope<T, F> {
        pub(super) fn new(each: F) -> Self {
            Self(each, PhantomData)
        }
    }

    impl<'de, T: Deserialize<'de>, F: FnMut(T)> Visitor<'de> for Envelope<T, F> {
        type Value = ();

        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("a {\"data\": […]} object")
        }

        fn visit_map<A: MapAccess<'de>>(mut self, mut map: A) -> Result<(), A::Error> {
            while let Some(key) = map.next_key::<Key>()? {
                match key {
                    Key::Data => map.next_value_seed(Data(&mut self.0, PhantomData))?,
                    Key::Other => {
                        map.next_value::<IgnoredAny>()?;
                    }
                }
            }
            Ok(())
        }
    }

    /// The `data` member: `null` or an array whose elements go to the callback.
    struct Data<'f, T, F>(&'f mut F, PhantomData<fn(T)>);

    impl<'de, T: Deserialize<'de>, F: FnMut(T)> DeserializeSeed<'de> for Data<'_, T, F> {
        type Value = ();

        fn deserialize<D: Deserializer<'de>>(self, de: D) -> Result<(), D::Error> {
            de.deserialize_option(self)
        }
    }

    impl<'de, T: Deserialize<'de>, F: FnMut(T)> Visitor<'de> for Data<'_, T, F> {
        type Value = ();

        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("a list")
        }

        fn visit_none<E>(self) -> Result<(), E> {
            Ok(())
        }

        fn visit_unit<E>(self) -> Result<(), E> {
            Ok(())
        }

        fn visit_some<D: Deserializer<'de>>(self, de: D) -> Result<(), D::Error> {
            de.deserialize_seq(self)
        }

        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
            while let Some(item) = seq.next_element::<T>()? {
                (self.0)(item);
            }
            Ok(())
        }
    }
}

/// The error for a body that does not decode as `{"data": <expected>}`.
fn decode_error(
    body: &[u8],
    method: Method,
    path: &str,
    e: serde_json::Error,
    expected: &str,
) -> PveError {
    let message = if serde_json::from_slice::<serde::de::IgnoredAny>(body).is_err() {
        format!(
            "{method} {path} answered with a body that is not JSON ({e}); is the URL the \
             Proxmox API (https://HOST:8006)?"
        )
    } else if !body.trim_ascii_start().starts_with(b"{") {
        format!("{method} {path} answered with something other than a {{\"data\": …}} object")
    } else {
        format!("{method} {path}: unexpected shape ({e}); expected {expected}")
    };
    PveError::Decode { message }
}

/// `Vec<NodeListItem>` rather than `alloc::vec::Vec<proxmox_mcp::pve::types::node::NodeListItem>`.
pub(crate) fn short_type_name<T>() -> String {
    static MODULE_PATH: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
        regex::Regex::new(r"\b[a-z_][a-z0-9_]*::").expect("valid regex")
    });
    MODULE_PATH
        .replace_all(std::any::type_name::<T>(), "")
        .into_owned()
}

/// `Ok` for a 2xx status; otherwise the [`PveError`] the status, reason and body describe.
pub fn check(
    status: u16,
    reason: Option<&str>,
    body: &[u8],
    ctx: &Context<'_>,
) -> Result<(), PveError> {
    if (200..300).contains(&status) {
        return Ok(());
    }
    let parsed: Option<Value> = serde_json::from_slice(body).ok();
    let body_message = parsed
        .as_ref()
        .and_then(|v| v.get("message"))
        .and_then(Value::as_str)
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty());
    let message = body_message
        .or_else(|| {
            reason
                .map(|r| r.trim().to_owned())
                .filter(|r| !r.is_empty())
        })
        .unwrap_or_else(|| format!("HTTP {status}"));
    let errors: BTreeMap<String, String> = parsed
        .as_ref()
        .and_then(|v| v.get("errors"))
        .and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .map(|(k, v)| {
                    let text = v
                        .as_str()
                        .map_or_else(|| v.to_string(), |s| s.trim().to_owned());
                    (k.clone(), text)
                })
                .collect()
        })
        .unwrap_or_default();
    Err(map_error(status, message, errors, ctx))
}

fn map_error(
    status: u16,
    message: String,
    errors: BTreeMap<String, String>,
    ctx: &Context<'_>,
) -> PveError {
    let call = format!("{} {}", ctx.method, ctx.path);
    match status {
        400 => PveError::Params {
            message: format!("{message} ({call})"),
            errors,
        },
        401 => {
            let check = if ctx.token {
                "Check the token id and secret, that the token and its user exist, are enabled and \
                 have not expired (Datacenter → Permissions → API Tokens)"
            } else {
                "Check the user name (USER@REALM, e.g. root@pam) and the password, and that the user \
                 is enabled and not expired"
            };
            PveError::Auth {
                message: format!(
                    "authentication failed (HTTP 401: {message}) for {} on {call}. {check}.",
                    ctx.who
                ),
            }
        }
        403 => permission(message, ctx, &call),
        500 if message.contains("does not exist") => {
            let mut m = format!("{message} ({call}).");
            if ctx.path.contains("/qemu/") || ctx.path.contains("/lxc/") {
                m.push_str(
                    " The guest is not on that node (it may have been migrated, or the vmid is \
                     wrong): find its current node in the cluster resource list.",
                );
            }
            PveError::NotFound { message: m }
        }
        500 if ctx.path.contains("/agent/") && is_agent_failure(&message) => PveError::Agent {
            message: agent_hint(&message),
        },
        500 if message.contains("can't lock file") => PveError::Api {
            status,
            message: format!(
                "{message} ({call}). Another operation holds the lock on this guest; wait for it \
                 (see the node's task list) and retry."
            ),
        },
        501 => PveError::NotImplemented {
            message: format!("{message} ({call})"),
        },
        595 | 596 => PveError::NodeUnreachable {
            status,
            message: format!("{message} ({call})"),
        },
        _ => PveError::Api {
            status,
            message: format!("{message} ({call})"),
        },
    }
}

fn is_agent_failure(message: &str) -> bool {
    let m = message.to_ascii_lowercase();
    m.contains("agent") || m.contains("not running") || m.contains("'guest-")
}

/// Message for a guest-agent failure, with what to check.
pub fn agent_hint(message: &str) -> String {
    format!(
        "QEMU guest agent error: {message}. The VM must be running, have the agent enabled in its \
         config (agent: 1) and run qemu-guest-agent inside the guest; `agent/ping` is a cheap check."
    )
}

fn permission(message: String, ctx: &Context<'_>, call: &str) -> PveError {
    if message.contains("not available with API token") {
        return PveError::Permission {
            message: format!(
                "{call} refuses API tokens (Proxmox: {message}). This call needs a password (ticket) \
                 login; it cannot be done with {}.",
                ctx.who
            ),
            path: None,
            privilege: None,
        };
    }
    if let Some(c) = PERM_RE.captures(&message) {
        let path = c[1].to_owned();
        let privilege = c[2].to_owned();
        let several = privilege.contains(',') || privilege.contains('|');
        let what = if several {
            format!("the privileges {privilege}")
        } else {
            format!("privilege {privilege}")
        };
        let grantee = if ctx.token {
            " For a privilege-separated token the owning user needs it as well."
        } else {
            ""
        };
        return PveError::Permission {
            message: format!(
                "{} lacks {what} on {path} (Proxmox: {message}; {call}). Grant a role that \
                 includes it on {path} or a parent path with propagate, e.g. `pveum acl modify {path} \
                 --roles PVEVMAdmin --{} …`.{grantee}",
                ctx.who,
                if ctx.token { "tokens" } else { "users" }
            ),
            path: Some(path),
            privilege: Some(privilege),
        };
    }
    PveError::Permission {
        message: format!("{} is not allowed to do {call}: {message}", ctx.who),
        path: None,
        privilege: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const TOKEN: Context<'static> = Context {
        who: "API token mcp@pve!assistant",
        token: true,
        method: Method::Post,
        path: "/nodes/pve1/qemu/100/status/start",
    };

    fn err(status: u16, reason: Option<&str>, body: &str) -> PveError {
        decode(status, reason, body.as_bytes(), &TOKEN).unwrap_err()
    }

    #[test]
    fn success_envelope() {
        assert_eq!(
            decode(200, None, br#"{"data":[1,2]}"#, &TOKEN).unwrap(),
            json!([1, 2])
        );
        assert_eq!(
            decode(200, None, br#"{"data":null}"#, &TOKEN).unwrap(),
            Value::Null
        );
        assert_eq!(
            decode(200, None, br#"{"data":"UPID:x","total":3}"#, &TOKEN).unwrap(),
            json!("UPID:x")
        );
        assert!(matches!(
            decode(200, None, b"<html>", &TOKEN),
            Err(PveError::Decode { .. })
        ));
        assert!(matches!(
            decode(200, None, b"[1]", &TOKEN),
            Err(PveError::Decode { .. })
        ));
    }

    #[test]
    fn error_table() {
        // 400 with per-parameter errors, old server (no message: reason phrase).
        let e = err(
            400,
            Some("Parameter verification failed."),
            r#"{"errors":{"pid":"property is missing and it is not optional"},"data":null}"#,
        );
        match &e {
            PveError::Params { message, errors } => {
                assert!(message.starts_with("Parameter verification failed."));
                assert_eq!(errors["pid"], "property is missing and it is not optional");
            }
            other => panic!("{other:?}"),
        }
        assert!(e.to_string().contains("pid: property is missing"));
        assert_eq!(e.status(), Some(400));

        // New server: body message wins over the canonical reason.
        let e = err(
            500,
            Some("Internal Server Error"),
            r#"{"data":null,"message":"VM 100 not running\n"}"#,
        );
        assert_eq!(
            e,
            PveError::Api {
                status: 500,
                message: format!("VM 100 not running ({} {})", TOKEN.method, TOKEN.path)
            }
        );

        // 500 does not exist -> NotFound with a hint.
        let e = err(
            500,
            Some("Configuration file 'nodes/pve1/qemu-server/100.conf' does not exist"),
            r#"{"data":null}"#,
        );
        assert!(
            matches!(&e, PveError::NotFound { message } if message.contains("cluster resource list")),
            "{e:?}"
        );

        // 401.
        let e = err(401, Some("authentication failure"), "");
        let m = e.to_string();
        assert!(
            m.contains("mcp@pve!assistant") && m.contains("HTTP 401: authentication failure"),
            "{m}"
        );
        assert_eq!(e.status(), Some(401));

        // 403 with privilege and path.
        let e = err(
            403,
            Some("Permission check failed (/vms/100, VM.PowerMgmt)"),
            r#"{"data":null}"#,
        );
        match &e {
            PveError::Permission {
                message,
                path,
                privilege,
            } => {
                assert_eq!(path.as_deref(), Some("/vms/100"));
                assert_eq!(privilege.as_deref(), Some("VM.PowerMgmt"));
                assert!(
                    message.starts_with(
                        "API token mcp@pve!assistant lacks privilege VM.PowerMgmt on /vms/100"
                    ),
                    "{message}"
                );
            }
            other => panic!("{other:?}"),
        }
        let e = err(
            403,
            None,
            r#"{"message":"Permission check failed (URI '/access/password' not available with API token, need proper ticket.)"}"#,
        );
        assert!(
            matches!(&e, PveError::Permission { path: None, message, .. } if message.contains("refuses API tokens")),
            "{e:?}"
        );
        let e = err(
            403,
            Some("Permission check failed (/, Sys.Audit | Sys.Modify)"),
            "",
        );
        assert!(
            matches!(&e, PveError::Permission { privilege: Some(p), .. } if p == "Sys.Audit | Sys.Modify"),
            "{e:?}"
        );
        let e = err(403, Some("Forbidden"), "");
        assert!(matches!(&e, PveError::Permission { path: None, .. }));

        // 501, 595/596.
        assert!(matches!(
            err(501, Some("Method 'GET /foo' not implemented"), ""),
            PveError::NotImplemented { .. }
        ));
        let e = err(595, Some("Connection refused"), "");
        assert!(matches!(e, PveError::NodeUnreachable { status: 595, .. }));
        assert!(e.to_string().contains("case-sensitive"));
        assert!(matches!(
            err(596, Some("Broken pipe"), ""),
            PveError::NodeUnreachable { status: 596, .. }
        ));

        // Anything else; empty reason falls back to the status.
        assert_eq!(
            err(502, None, ""),
            PveError::Api {
                status: 502,
                message: format!("HTTP 502 ({} {})", TOKEN.method, TOKEN.path)
            }
        );
    }

    #[test]
    fn agent_errors() {
        let ctx = Context {
            path: "/nodes/pve1/qemu/100/agent/network-get-interfaces",
            method: Method::Get,
            ..TOKEN
        };
        let e = decode(500, Some("QEMU guest agent is not running"), b"", &ctx).unwrap_err();
        assert!(
            matches!(&e, PveError::Agent { message } if message.contains("qemu-guest-agent")),
            "{e:?}"
        );
    }
}
