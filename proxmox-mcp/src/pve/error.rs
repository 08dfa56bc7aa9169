//! `PveError`: every way a Proxmox call can fail, worded for an AI assistant to act on, with retry safety.

use std::collections::BTreeMap;

/// A failed Proxmox VE API call. `Display` says what happened and what to do next; secrets never
/// appear in it (token ids do, token secrets and passwords do not).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PveError {
    /// The client is misconfigured (bad token id, unreadable CA file, invalid path…).
    #[error("configuration problem: {0}")]
    Config(String),

    /// The request never reached the server (DNS, refused, connect timeout). Safe to retry.
    #[error(
        "cannot reach the Proxmox API at {url}: {detail}. Check that the URL is right (https://HOST:8006, \
         the node's hostname or IP), that the node is up, and that port 8006 is reachable from this \
         machine. Nothing was sent, so retrying is safe."
    )]
    Connect { url: String, detail: String },

    /// The TLS handshake failed: the certificate is untrusted, mismatched or not the pinned one.
    #[error("{}", tls_message(url, detail, presented_fingerprint.as_deref()))]
    Tls {
        url: String,
        detail: String,
        /// SHA-256 of the leaf certificate the server presented, `AA:BB:…`, when we saw one.
        presented_fingerprint: Option<String>,
    },

    /// No complete answer within the request timeout.
    #[error("{}", timeout_message(url, *may_have_reached))]
    Timeout { url: String, may_have_reached: bool },

    /// HTTP 401: the credentials were refused.
    #[error("{message}")]
    Auth { message: String },

    /// HTTP 403: the credentials are valid but lack a privilege.
    #[error("{message}")]
    Permission {
        message: String,
        /// ACL path from "Permission check failed (/vms/100, VM.PowerMgmt)".
        path: Option<String>,
        /// Privilege from the same message.
        privilege: Option<String>,
    },

    /// HTTP 400: parameter verification failed.
    #[error("{}", params_message(message, errors))]
    Params {
        message: String,
        /// Per-parameter messages from the body's `errors` member.
        errors: BTreeMap<String, String>,
    },

    /// The object does not exist (HTTP 500 "... does not exist", or a guest not in the cluster).
    #[error("{message}")]
    NotFound { message: String },

    /// HTTP 595/596: the node we addressed forwarded the call to a node it could not reach.
    #[error(
        "node unreachable (HTTP {status}: {message}). The Proxmox node named in the request path \
         is offline or not reachable from the node we talk to. Node names are case-sensitive and \
         must be the PVE node name (not an IP or FQDN); check the node with `node_status` or the \
         node list, or retry later."
    )]
    NodeUnreachable { status: u16, message: String },

    /// HTTP 501: no such method or path on this server.
    #[error(
        "not implemented by this Proxmox server (HTTP 501: {message}). The path or method does not \
         exist in this PVE version; check the path (it is relative to /api2/json) and the method."
    )]
    NotImplemented { message: String },

    /// The QEMU guest agent failed or is not running.
    #[error("{message}")]
    Agent { message: String },

    /// Any other HTTP error.
    #[error("Proxmox API error (HTTP {status}): {message}")]
    Api { status: u16, message: String },

    /// The response was not what the API promises.
    #[error("could not decode the Proxmox response: {message}")]
    Decode { message: String },

    /// The operation was cancelled by the caller (the task keeps running on the server).
    #[error(
        "cancelled while waiting; the Proxmox task itself was not stopped and may still be running"
    )]
    Cancelled,
}

fn tls_message(url: &str, detail: &str, presented: Option<&str>) -> String {
    let mut m = format!("TLS certificate check failed for {url}: {detail}.");
    match presented {
        Some(fp) => m.push_str(&format!(
            " The server presented a certificate with SHA-256 fingerprint {fp}. If that is your \
             Proxmox node's certificate (compare with `ssl_fingerprint` in the node list, or the node's \
             Certificates panel in the web UI), pin it: set PROXMOX_FINGERPRINT={fp} (the fingerprint \
             the server presented), or trust the cluster CA with PROXMOX_CA_FILE=/path/to/pve-root-ca.pem \
             (a copy of /etc/pve/pve-root-ca.pem)."
        )),
        None => m.push_str(
            " Trust the cluster CA with PROXMOX_CA_FILE=/path/to/pve-root-ca.pem (a copy of \
             /etc/pve/pve-root-ca.pem) or pin the node certificate with PROXMOX_FINGERPRINT=AA:BB:… \
             (its SHA-256 fingerprint).",
        ),
    }
    m
}

fn timeout_message(url: &str, may_have_reached: bool) -> String {
    if may_have_reached {
        format!(
            "{url} did not answer within the request timeout. The request may have reached the \
             server and been carried out: check the current state (and the node's task list) before \
             retrying a change."
        )
    } else {
        format!(
            "{url} did not answer within the request timeout before the request was sent; nothing \
             was changed and retrying is safe."
        )
    }
}

fn params_message(message: &str, errors: &BTreeMap<String, String>) -> String {
    let mut m = format!("Proxmox rejected the parameters: {message}");
    if !errors.is_empty() {
        let list: Vec<String> = errors.iter().map(|(k, v)| format!("{k}: {v}")).collect();
        m.push_str(&format!(" ({})", list.join("; ")));
    }
    m
}

impl PveError {
    /// Whether the request may have reached the server (and so a write may have taken effect).
    /// `false` means nothing was sent and any call can be retried.
    pub fn may_have_reached_server(&self) -> bool {
        match self {
            PveError::Config(_) | PveError::Connect { .. } | PveError::Tls { .. } => false,
            PveError::Timeout {
                may_have_reached, ..
            } => *may_have_reached,
            _ => true,
        }
    }

    /// The HTTP status the server answered with, for errors that came from a response.
    pub fn status(&self) -> Option<u16> {
        match self {
            PveError::Auth { .. } => Some(401),
            PveError::Permission { .. } => Some(403),
            PveError::Params { .. } => Some(400),
            PveError::NodeUnreachable { status, .. } => Some(*status),
            // 0: the connection broke before a status line arrived.
            PveError::Api { status, .. } => Some(*status).filter(|s| *s != 0),
            PveError::NotImplemented { .. } => Some(501),
            _ => None,
        }
    }

    /// A parameter we refuse to send (raised before anything reaches the server).
    pub(crate) fn local_param(param: &str, msg: impl std::fmt::Display) -> Self {
        PveError::Config(format!("parameter '{param}' {msg}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_safety_and_status() {
        let url = || "https://pve1:8006".to_owned();
        let table: Vec<(PveError, bool, Option<u16>)> = vec![
            (PveError::Config("x".into()), false, None),
            (
                PveError::Connect {
                    url: url(),
                    detail: "refused".into(),
                },
                false,
                None,
            ),
            (
                PveError::Tls {
                    url: url(),
                    detail: "x".into(),
                    presented_fingerprint: None,
                },
                false,
                None,
            ),
            (
                PveError::Timeout {
                    url: url(),
                    may_have_reached: false,
                },
                false,
                None,
            ),
            (
                PveError::Timeout {
                    url: url(),
                    may_have_reached: true,
                },
                true,
                None,
            ),
            (
                PveError::Auth {
                    message: "x".into(),
                },
                true,
                Some(401),
            ),
            (
                PveError::Permission {
                    message: "x".into(),
                    path: None,
                    privilege: None,
                },
                true,
                Some(403),
            ),
            (
                PveError::Params {
                    message: "x".into(),
                    errors: BTreeMap::new(),
                },
                true,
                Some(400),
            ),
            (
                PveError::NotFound {
                    message: "x".into(),
                },
                true,
                None,
            ),
            (
                PveError::NodeUnreachable {
                    status: 595,
                    message: "x".into(),
                },
                true,
                Some(595),
            ),
            (
                PveError::NotImplemented {
                    message: "x".into(),
                },
                true,
                Some(501),
            ),
            (
                PveError::Agent {
                    message: "x".into(),
                },
                true,
                None,
            ),
            (
                PveError::Api {
                    status: 500,
                    message: "x".into(),
                },
                true,
                Some(500),
            ),
            (
                PveError::Api {
                    status: 0,
                    message: "x".into(),
                },
                true,
                None,
            ),
            (
                PveError::Decode {
                    message: "x".into(),
                },
                true,
                None,
            ),
            (PveError::Cancelled, true, None),
        ];
        for (e, reached, status) in table {
            assert_eq!(e.may_have_reached_server(), reached, "{e:?}");
            assert_eq!(e.status(), status, "{e:?}");
        }
    }

    #[test]
    fn tls_message_says_how_to_pin() {
        let e = PveError::Tls {
            url: "https://pve1:8006".into(),
            detail: "the certificate is not signed by a CA this machine trusts".into(),
            presented_fingerprint: Some("AA:BB".into()),
        };
        let m = e.to_string();
        assert!(
            m.contains("PROXMOX_FINGERPRINT=AA:BB (the fingerprint the server presented)"),
            "{m}"
        );
        assert!(m.contains("PROXMOX_CA_FILE="), "{m}");
    }
}
