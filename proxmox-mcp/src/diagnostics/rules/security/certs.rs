//! Pure: certificate rules S13–S14 (expiry, self-signed web certificate, key size).

use serde_json::{Value, json};

use super::{api, days_until, finding, per_node};
use crate::diagnostics::rules::util::{num, str_of};
use crate::diagnostics::rules::{Confidence, Ctx, Finding, Outcome, Rule, Severity, Skip, got};
use crate::diagnostics::snapshot::cluster::{ClusterSnapshot, NodeSnapshot};

/// The certificate PVE's web proxy serves instead of `pve-ssl.pem` when present.
const PROXY_CERT: &str = "pveproxy-ssl.pem";

/// The node's certificates with their file name.
fn certificates(node: &NodeSnapshot) -> Result<Vec<(&str, &Value)>, Skip> {
    Ok(got(&node.certificates)?
        .iter()
        .filter_map(|c| Some((str_of(c, "filename")?, c)))
        .collect())
}

/// How to renew one of the node's certificates.
fn renew(node: &str, file: &str, cert: &Value) -> (String, Option<super::ToolCall>) {
    let acme = str_of(cert, "issuer").is_some_and(|i| i.contains("Let's Encrypt"));
    match file {
        PROXY_CERT if acme => (
            format!("pvenode acme cert renew   # on {node}"),
            api(
                "PUT",
                &format!("/nodes/{node}/certificates/acme/certificate"),
                json!({"force": "1"}),
            ),
        ),
        PROXY_CERT => (
            format!("pvenode cert set <cert.pem> <key.pem> --force 1 --restart 1   # on {node}"),
            None,
        ),
        "pve-ssl.pem" => (format!("pvecm updatecerts --force   # on {node}"), None),
        _ => (
            "Renew the cluster CA (pve-root-ca.pem) and reissue the node certificates: \
             pvecm updatecerts --force on each node after replacing the CA"
                .into(),
            None,
        ),
    }
}

/// S13a: a certificate past its notAfter date.
pub struct S13a;
impl Rule for S13a {
    meta!("S13a", "TLS certificate expired");
    fn check(&self, snap: &ClusterSnapshot, _ctx: &Ctx) -> Outcome {
        per_node(snap, |node| {
            let n = &node.name;
            Ok(certificates(node)?
                .into_iter()
                .filter_map(|(file, c)| Some((file, c, num(c, "notafter")? as i64)))
                .filter(|&(_, _, until)| until <= snap.now)
                .map(|(file, c, until)| {
                    let (fix, tool_call) = renew(n, file, c);
                    Finding {
                        evidence: format!(
                            "notafter {until}: expired {} days ago",
                            -days_until(snap.now, until)
                        ),
                        recommendation: "Renew the certificate now: clients refuse the \
                                         connection."
                            .into(),
                        fix: Some(fix),
                        tool_call,
                        ..super::finding(
                            "S13a",
                            Severity::Critical,
                            format!("cert/{n}/{file}"),
                            format!("Certificate {file} on {n} has expired"),
                        )
                    }
                })
                .collect())
        })
    }
}

/// S13b: a certificate that expires soon.
pub struct S13b;
impl Rule for S13b {
    meta!("S13b", "TLS certificate expiring soon");
    fn check(&self, snap: &ClusterSnapshot, ctx: &Ctx) -> Outcome {
        let warn = ctx.threshold("S13.warn_days", 30.0);
        let crit = ctx.threshold("S13.crit_days", 7.0);
        per_node(snap, |node| {
            let n = &node.name;
            let mut out = Vec::new();
            for (file, c) in certificates(node)? {
                let Some(until) = num(c, "notafter").map(|u| u as i64) else {
                    continue;
                };
                let days = days_until(snap.now, until);
                if until <= snap.now || days as f64 >= warn {
                    continue;
                }
                let severity = if (days as f64) < crit {
                    Severity::Critical
                } else {
                    Severity::Warning
                };
                let (fix, tool_call) = renew(n, file, c);
                out.push(Finding {
                    evidence: format!(
                        "notafter {until}: expires in {days} days (warn < {warn}, crit < {crit})"
                    ),
                    recommendation: "Renew the certificate before it expires (ACME renews \
                                     automatically when the node can reach the CA)."
                        .into(),
                    fix: Some(fix),
                    tool_call,
                    ..finding(
                        "S13b",
                        severity,
                        format!("cert/{n}/{file}"),
                        format!("Certificate {file} on {n} expires in {days} days"),
                    )
                });
            }
            Ok(out)
        })
    }
}

/// S13c: the web interface serves a self-signed certificate (no `pveproxy-ssl.pem`, or one
/// issued by itself). The cluster CA and `pve-ssl.pem` are self-signed by design.
pub struct S13c;
impl Rule for S13c {
    meta!("S13c", "Self-signed web certificate");
    fn check(&self, snap: &ClusterSnapshot, _ctx: &Ctx) -> Outcome {
        per_node(snap, |node| {
            let n = &node.name;
            let certs = certificates(node)?;
            if certs.is_empty() {
                return Ok(vec![]);
            }
            let (file, evidence) = match certs.iter().find(|(f, _)| *f == PROXY_CERT) {
                None => (
                    "pve-ssl.pem",
                    "no pveproxy-ssl.pem: the web interface serves pve-ssl.pem, signed by the \
                     cluster's own CA"
                        .to_owned(),
                ),
                Some((_, c))
                    if str_of(c, "issuer").is_some()
                        && str_of(c, "issuer") == str_of(c, "subject") =>
                {
                    (
                        PROXY_CERT,
                        format!(
                            "pveproxy-ssl.pem issuer = subject ({})",
                            str_of(c, "subject").unwrap_or("")
                        ),
                    )
                }
                Some(_) => return Ok(vec![]),
            };
            Ok(vec![Finding {
                evidence,
                recommendation: "Use a certificate from a trusted CA (ACME) so browsers and \
                                 API clients can verify the node without pinning."
                    .into(),
                fix: Some(format!(
                    "pvenode acme account register default <email> && pvenode config set \
                     --acme domains={n}.<domain> && pvenode acme cert order   # on {n}"
                )),
                confidence: Confidence::Medium,
                ..finding(
                    "S13c",
                    Severity::Info,
                    format!("cert/{n}/{file}"),
                    format!("{n} serves a self-signed certificate"),
                )
            }])
        })
    }
}

/// S14: a certificate whose key is too short for current TLS libraries.
pub struct S14;
impl Rule for S14 {
    meta!("S14", "Weak certificate key");
    fn check(&self, snap: &ClusterSnapshot, ctx: &Ctx) -> Outcome {
        let rsa_min = ctx.threshold("S14.rsa_bits", 2048.0);
        let ec_min = ctx.threshold("S14.ec_bits", 224.0);
        per_node(snap, |node| {
            let n = &node.name;
            let mut out = Vec::new();
            for (file, c) in certificates(node)? {
                let (Some(kind), Some(bits)) =
                    (str_of(c, "public-key-type"), num(c, "public-key-bits"))
                else {
                    continue;
                };
                let lower = kind.to_ascii_lowercase();
                let min = if lower.contains("rsa") {
                    rsa_min
                } else if lower.contains("ec") && !lower.contains("ed25519") {
                    ec_min
                } else {
                    continue;
                };
                if bits >= min {
                    continue;
                }
                let (fix, tool_call) = renew(n, file, c);
                out.push(Finding {
                    evidence: format!("{kind} {bits} bits (minimum {min})"),
                    recommendation: "Reissue the certificate with an RSA 4096 or EC P-256 key: \
                                     current OpenSSL security levels reject short keys."
                        .into(),
                    fix: Some(fix),
                    tool_call,
                    ..finding(
                        "S14",
                        Severity::Critical,
                        format!("cert/{n}/{file}"),
                        format!("Certificate {file} on {n} has a {bits}-bit key"),
                    )
                });
            }
            Ok(out)
        })
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::super::fixtures::*;
    use super::*;

    const CASES: &[Case] = &[
        // S13a
        (
            &S13a,
            "proxy cert expired",
            |s| cert(s, "pve1", "pveproxy-ssl.pem")["notafter"] = json!(NOW - 2 * DAY),
            Want::Find(&[("cert/pve1/pveproxy-ssl.pem", Severity::Critical)]),
        ),
        (
            &S13a,
            "offline node left alone",
            |s| {
                cert(s, "pve1", "pveproxy-ssl.pem")["notafter"] = json!(NOW - 2 * DAY);
                node(s, "pve1").online = false;
            },
            Want::Pass,
        ),
        (
            &S13a,
            "certificates unreadable",
            |s| {
                for n in s.nodes.values_mut() {
                    n.certificates = denied("/nodes/x/certificates/info");
                }
            },
            Want::Skip("403"),
        ),
        // S13b
        (
            &S13b,
            "expires in 20 days",
            |s| cert(s, "pve2", "pveproxy-ssl.pem")["notafter"] = json!(NOW + 20 * DAY + 5),
            Want::Find(&[("cert/pve2/pveproxy-ssl.pem", Severity::Warning)]),
        ),
        (
            &S13b,
            "expires in 3 days",
            |s| cert(s, "pve2", "pve-ssl.pem")["notafter"] = json!(NOW + 3 * DAY + 5),
            Want::Find(&[("cert/pve2/pve-ssl.pem", Severity::Critical)]),
        ),
        (
            &S13b,
            "expired: S13a reports",
            |s| cert(s, "pve2", "pve-ssl.pem")["notafter"] = json!(NOW - DAY),
            Want::Pass,
        ),
        (
            &S13b,
            "certificates unreadable",
            |s| {
                for n in s.nodes.values_mut() {
                    n.certificates = denied("/nodes/x/certificates/info");
                }
            },
            Want::Skip("403"),
        ),
        // S13c
        (
            &S13c,
            "no proxy certificate",
            |s| {
                node(s, "pve3")
                    .certificates
                    .as_mut()
                    .unwrap()
                    .retain(|c| c["filename"] != "pveproxy-ssl.pem")
            },
            Want::Find(&[("cert/pve3/pve-ssl.pem", Severity::Info)]),
        ),
        (
            &S13c,
            "self-signed proxy certificate",
            |s| {
                let c = cert(s, "pve3", "pveproxy-ssl.pem");
                c["issuer"] = c["subject"].clone();
            },
            Want::Find(&[("cert/pve3/pveproxy-ssl.pem", Severity::Info)]),
        ),
        (
            &S13c,
            "certificates unreadable",
            |s| {
                for n in s.nodes.values_mut() {
                    n.certificates = denied("/nodes/x/certificates/info");
                }
            },
            Want::Skip("403"),
        ),
        // S14
        (
            &S14,
            "rsa 1024",
            |s| cert(s, "pve1", "pve-ssl.pem")["public-key-bits"] = json!(1024),
            Want::Find(&[("cert/pve1/pve-ssl.pem", Severity::Critical)]),
        ),
        (
            &S14,
            "ec 192",
            |s| {
                let c = cert(s, "pve1", "pveproxy-ssl.pem");
                c["public-key-type"] = json!("id-ecPublicKey");
                c["public-key-bits"] = json!(192);
            },
            Want::Find(&[("cert/pve1/pveproxy-ssl.pem", Severity::Critical)]),
        ),
        (
            &S14,
            "ec 256",
            |s| {
                let c = cert(s, "pve1", "pveproxy-ssl.pem");
                c["public-key-type"] = json!("id-ecPublicKey");
                c["public-key-bits"] = json!(256);
            },
            Want::Pass,
        ),
        (
            &S14,
            "certificates unreadable",
            |s| {
                for n in s.nodes.values_mut() {
                    n.certificates = denied("/nodes/x/certificates/info");
                }
            },
            Want::Skip("403"),
        ),
    ];

    #[test]
    fn certificate_rules() {
        check(CASES);
    }
}
