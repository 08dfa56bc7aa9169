//! Pure: node rules S13–S18 and S21 (certificates, subscription, updates, repositories,
//! end of life, microcode).

use serde_json::{Value, json};

use super::{api, days_until, finding, per_node};
use crate::audit::event::parse_day;
use crate::diagnostics::rules::util::{flag, num, str_of};
use crate::diagnostics::rules::{
    Area, Confidence, Ctx, Finding, Outcome, Rule, Severity, Skip, got,
};
use crate::diagnostics::snapshot::cluster::{ClusterSnapshot, NodeSnapshot};

/// The certificate PVE's web proxy serves instead of `pve-ssl.pem` when present.
const PROXY_CERT: &str = "pveproxy-ssl.pem";

/// End of security support per Proxmox VE major release (the last day of the month the
/// project announced; later majors are supported).
const EOL: &[(u64, &str)] = &[
    (4, "2018-06-30"),
    (5, "2020-07-31"),
    (6, "2022-07-31"),
    (7, "2024-07-31"),
    (8, "2026-08-31"),
];

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
    fn id(&self) -> &'static str {
        "S13a"
    }
    fn area(&self) -> Area {
        Area::Security
    }
    fn title(&self) -> &'static str {
        "TLS certificate expired"
    }
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
    fn id(&self) -> &'static str {
        "S13b"
    }
    fn area(&self) -> Area {
        Area::Security
    }
    fn title(&self) -> &'static str {
        "TLS certificate expiring soon"
    }
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
    fn id(&self) -> &'static str {
        "S13c"
    }
    fn area(&self) -> Area {
        Area::Security
    }
    fn title(&self) -> &'static str {
        "Self-signed web certificate"
    }
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
    fn id(&self) -> &'static str {
        "S14"
    }
    fn area(&self) -> Area {
        Area::Security
    }
    fn title(&self) -> &'static str {
        "Weak certificate key"
    }
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

/// The node's subscription status, lower-cased, with the subscription body.
fn subscription(node: &NodeSnapshot) -> Result<(String, &Value), Skip> {
    let sub = got(&node.subscription)?;
    Ok((
        str_of(sub, "status").unwrap_or("").to_ascii_lowercase(),
        sub,
    ))
}

/// One subscription finding for the statuses in `statuses`.
fn subscription_status(
    snap: &ClusterSnapshot,
    rule: &'static str,
    statuses: &[&str],
    severity: Severity,
) -> Outcome {
    per_node(snap, |node| {
        let (status, sub) = subscription(node)?;
        if !statuses.contains(&status.as_str()) {
            return Ok(vec![]);
        }
        let n = &node.name;
        let message = str_of(sub, "message").map_or(String::new(), |m| format!(" ({m})"));
        Ok(vec![Finding {
            evidence: format!("/nodes/{n}/subscription: status {status}{message}"),
            recommendation: if status == "notfound" {
                "Add a subscription key for production use (enterprise repository, \
                 support), or switch to the no-subscription repository knowingly."
                    .into()
            } else {
                "Renew or re-check the subscription key with the vendor's shop.".into()
            },
            fix: Some(if status == "notfound" {
                format!("pvesubscription set <key>   # on {n}")
            } else {
                format!("pvesubscription update --force   # on {n}")
            }),
            tool_call: if status == "notfound" {
                None
            } else {
                api(
                    "POST",
                    &format!("/nodes/{n}/subscription"),
                    json!({"force": "1"}),
                )
            },
            ..finding(
                rule,
                severity,
                format!("node/{n}"),
                format!("Subscription on {n}: {status}"),
            )
        }])
    })
}

/// S15a: no subscription, or one that is new (unchecked) or suspended.
pub struct S15a;
impl Rule for S15a {
    fn id(&self) -> &'static str {
        "S15a"
    }
    fn area(&self) -> Area {
        Area::Security
    }
    fn title(&self) -> &'static str {
        "No valid subscription (not found, new or suspended)"
    }
    fn check(&self, snap: &ClusterSnapshot, _ctx: &Ctx) -> Outcome {
        subscription_status(
            snap,
            "S15a",
            &["notfound", "new", "suspended"],
            Severity::Warning,
        )
    }
}

/// S15b: an expired or invalid subscription.
pub struct S15b;
impl Rule for S15b {
    fn id(&self) -> &'static str {
        "S15b"
    }
    fn area(&self) -> Area {
        Area::Security
    }
    fn title(&self) -> &'static str {
        "Subscription expired or invalid"
    }
    fn check(&self, snap: &ClusterSnapshot, _ctx: &Ctx) -> Outcome {
        subscription_status(snap, "S15b", &["expired", "invalid"], Severity::Critical)
    }
}

/// S15c: an active subscription whose next due date is near.
pub struct S15c;
impl Rule for S15c {
    fn id(&self) -> &'static str {
        "S15c"
    }
    fn area(&self) -> Area {
        Area::Security
    }
    fn title(&self) -> &'static str {
        "Subscription due soon"
    }
    fn check(&self, snap: &ClusterSnapshot, ctx: &Ctx) -> Outcome {
        let warn = ctx.threshold("S15.warn_days", 30.0);
        per_node(snap, |node| {
            let (status, sub) = subscription(node)?;
            let Some(due) = str_of(sub, "nextduedate").filter(|_| status == "active") else {
                return Ok(vec![]);
            };
            let Some(day) = parse_day(due) else {
                return Ok(vec![]);
            };
            let days = days_until(snap.now, day * 86_400);
            if days as f64 >= warn {
                return Ok(vec![]);
            }
            let n = &node.name;
            Ok(vec![Finding {
                evidence: format!("nextduedate {due}: {days} days (warn < {warn})"),
                recommendation: "Renew the subscription before its due date so the \
                                 enterprise repository keeps working."
                    .into(),
                fix: Some(format!(
                    "pvesubscription update --force   # on {n}, after renewal"
                )),
                ..finding(
                    "S15c",
                    Severity::Warning,
                    format!("node/{n}"),
                    format!("Subscription on {n} is due in {days} days"),
                )
            }])
        })
    }
}

/// S16: pending package updates.
pub struct S16;
impl Rule for S16 {
    fn id(&self) -> &'static str {
        "S16"
    }
    fn area(&self) -> Area {
        Area::Security
    }
    fn title(&self) -> &'static str {
        "Pending package updates"
    }
    fn check(&self, snap: &ClusterSnapshot, _ctx: &Ctx) -> Outcome {
        per_node(snap, |node| {
            let updates = got(&node.apt_updates)?;
            if updates.is_empty() {
                return Ok(vec![]);
            }
            let n = &node.name;
            let shown: Vec<String> = updates
                .iter()
                .take(8)
                .map(|u| {
                    format!(
                        "{} {} → {}",
                        str_of(u, "Package").unwrap_or("?"),
                        str_of(u, "OldVersion").unwrap_or("?"),
                        str_of(u, "Version").unwrap_or("?")
                    )
                })
                .collect();
            let more = updates.len().saturating_sub(shown.len());
            let more = if more > 0 {
                format!(", and {more} more")
            } else {
                String::new()
            };
            Ok(vec![Finding {
                evidence: format!("{} pending: {}{more}", updates.len(), shown.join(", ")),
                recommendation: "Install the updates (migrate guests away first if a new \
                                 kernel or QEMU needs a restart)."
                    .into(),
                fix: Some(format!("apt update && apt full-upgrade   # on {n}")),
                ..finding(
                    "S16",
                    Severity::Warning,
                    format!("node/{n}"),
                    format!("{} pending updates on {n}", updates.len()),
                )
            }])
        })
    }
}

/// One parsed APT repository: file, index in it, and the entry.
struct Repo<'a> {
    path: &'a str,
    index: usize,
    entry: &'a Value,
}

impl Repo<'_> {
    fn strings(&self, key: &str) -> Vec<&str> {
        self.entry
            .get(key)
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default()
    }
    fn enabled(&self) -> bool {
        flag(self.entry, "Enabled").unwrap_or(true)
    }
    fn uri_has(&self, text: &str) -> bool {
        self.strings("URIs").iter().any(|u| u.contains(text))
    }
    fn component(&self, names: &[&str]) -> bool {
        self.strings("Components").iter().any(|c| names.contains(c))
    }
}

/// The enabled repositories of `GET /nodes/{n}/apt/repositories`.
fn repositories(body: &Value) -> Vec<Repo<'_>> {
    body.get("files")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|f| Some((str_of(f, "path")?, f.get("repositories")?.as_array()?)))
        .flat_map(|(path, repos)| {
            repos
                .iter()
                .enumerate()
                .map(move |(index, entry)| Repo { path, index, entry })
        })
        .filter(Repo::enabled)
        .collect()
}

/// Standard repositories (`standard-repos`) the node has enabled, whose handle matches.
fn standard_enabled<'a>(body: &'a Value, want: impl Fn(&str) -> bool) -> Vec<&'a str> {
    body.get("standard-repos")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter(|r| num(r, "status") == Some(1.0))
        .filter_map(|r| str_of(r, "handle"))
        .filter(|h| want(h))
        .collect()
}

/// A finding on a repository to switch off, with the request that disables it.
fn repo_finding(
    rule: &'static str,
    node: &str,
    repos: &[Repo],
    handles: &[&str],
    title: String,
    recommendation: &str,
) -> Finding {
    let (evidence, fix, tool_call) = match repos.first() {
        Some(r) => (
            repos
                .iter()
                .map(|r| {
                    format!(
                        "{}#{}: {} {} {}",
                        r.path,
                        r.index,
                        r.strings("URIs").join(" "),
                        r.strings("Suites").join(" "),
                        r.strings("Components").join(" ")
                    )
                })
                .collect::<Vec<_>>()
                .join("; "),
            format!(
                "POST /nodes/{node}/apt/repositories path={} index={} enabled=0",
                r.path, r.index
            ),
            api(
                "POST",
                &format!("/nodes/{node}/apt/repositories"),
                json!({"path": r.path, "index": r.index, "enabled": "0"}),
            ),
        ),
        None => (
            format!("standard repositories enabled: {}", handles.join(", ")),
            format!("Disable the repository in Node {node} → Updates → Repositories"),
            None,
        ),
    };
    Finding {
        evidence,
        recommendation: recommendation.into(),
        fix: Some(fix),
        tool_call,
        ..finding(rule, Severity::Warning, format!("repo/{node}"), title)
    }
}

/// S17a: the enterprise repository enabled on a node without an active subscription.
pub struct S17a;
impl Rule for S17a {
    fn id(&self) -> &'static str {
        "S17a"
    }
    fn area(&self) -> Area {
        Area::Security
    }
    fn title(&self) -> &'static str {
        "Enterprise repository without subscription"
    }
    fn check(&self, snap: &ClusterSnapshot, _ctx: &Ctx) -> Outcome {
        per_node(snap, |node| {
            let body = got(&node.apt_repositories)?;
            let (status, _) = subscription(node)?;
            if status == "active" {
                return Ok(vec![]);
            }
            let repos: Vec<Repo> = repositories(body)
                .into_iter()
                .filter(|r| r.uri_has("enterprise.proxmox.com"))
                .collect();
            let handles = standard_enabled(body, |h| h.ends_with("enterprise"));
            if repos.is_empty() && handles.is_empty() {
                return Ok(vec![]);
            }
            let n = &node.name;
            Ok(vec![repo_finding(
                "S17a",
                n,
                &repos,
                &handles,
                format!(
                    "Enterprise repository enabled on {n} without an active subscription ({status})"
                ),
                "Disable the enterprise repository and enable the no-subscription one, or add \
                 a subscription: without one, apt update fails and no updates arrive.",
            )])
        })
    }
}

/// S17b: the test repository enabled.
pub struct S17b;
impl Rule for S17b {
    fn id(&self) -> &'static str {
        "S17b"
    }
    fn area(&self) -> Area {
        Area::Security
    }
    fn title(&self) -> &'static str {
        "Test repository enabled"
    }
    fn check(&self, snap: &ClusterSnapshot, _ctx: &Ctx) -> Outcome {
        per_node(snap, |node| {
            let body = got(&node.apt_repositories)?;
            let repos: Vec<Repo> = repositories(body)
                .into_iter()
                .filter(|r| r.uri_has("proxmox") && r.component(&["pvetest", "pve-test", "test"]))
                .collect();
            let handles = standard_enabled(body, |h| h == "test" || h.ends_with("-test"));
            if repos.is_empty() && handles.is_empty() {
                return Ok(vec![]);
            }
            let n = &node.name;
            Ok(vec![repo_finding(
                "S17b",
                n,
                &repos,
                &handles,
                format!("Test repository enabled on {n}"),
                "Disable the test repository on production nodes: it carries packages before \
                 they are released.",
            )])
        })
    }
}

/// The Debian release a node runs: from its Proxmox or Debian repositories, else from the
/// PVE major version.
fn codename(repos: &[Repo], node: &NodeSnapshot, snap: &ClusterSnapshot) -> Option<String> {
    let plain = |s: &&str| !s.contains('-') && !s.contains('/');
    repos
        .iter()
        .filter(|r| r.uri_has("proxmox"))
        .chain(repos.iter().filter(|r| {
            r.strings("URIs")
                .iter()
                .any(|u| u.trim_end_matches('/').ends_with("/debian"))
        }))
        .flat_map(|r| r.strings("Suites"))
        .find(plain)
        .map(str::to_owned)
        .or_else(|| {
            let version = node.version.as_ref().ok().or(snap.version.as_ref().ok())?;
            let major = str_of(version, "version")?
                .split('.')
                .next()?
                .parse::<u64>()
                .ok()?;
            let name = match major {
                6 => "buster",
                7 => "bullseye",
                8 => "bookworm",
                9 => "trixie",
                _ => return None,
            };
            Some(name.to_owned())
        })
}

/// S17c: the Debian security repository missing or pointing at the wrong suite.
pub struct S17c;
impl Rule for S17c {
    fn id(&self) -> &'static str {
        "S17c"
    }
    fn area(&self) -> Area {
        Area::Security
    }
    fn title(&self) -> &'static str {
        "Debian security repository missing or wrong suite"
    }
    fn check(&self, snap: &ClusterSnapshot, _ctx: &Ctx) -> Outcome {
        per_node(snap, |node| {
            let body = got(&node.apt_repositories)?;
            let repos = repositories(body);
            if repos.is_empty() {
                return Ok(vec![]);
            }
            let n = &node.name;
            let security: Vec<&Repo> = repos
                .iter()
                .filter(|r| {
                    r.uri_has("debian-security")
                        || r.strings("Suites")
                            .iter()
                            .any(|s| s.ends_with("-security") || s.ends_with("/updates"))
                })
                .collect();
            let release = codename(&repos, node, snap);
            let expected = release.as_deref().map(|c| {
                if c == "buster" {
                    "buster/updates".to_owned()
                } else {
                    format!("{c}-security")
                }
            });
            let (title, evidence) = if security.is_empty() {
                (
                    format!("No Debian security repository on {n}"),
                    "no enabled repository for the Debian security suite".to_owned(),
                )
            } else {
                let Some(expected) = expected.as_deref() else {
                    return Ok(vec![]);
                };
                if security
                    .iter()
                    .any(|r| r.strings("Suites").contains(&expected))
                {
                    return Ok(vec![]);
                }
                let suites: Vec<&str> = security.iter().flat_map(|r| r.strings("Suites")).collect();
                (
                    format!("Wrong Debian security suite on {n}"),
                    format!(
                        "security suite {} in {}; expected {expected}",
                        suites.join(", "),
                        security[0].path
                    ),
                )
            };
            let suite = expected.unwrap_or_else(|| "<release>-security".into());
            Ok(vec![Finding {
                evidence,
                recommendation: "Point the Debian security repository at the release's \
                                 security suite, or security fixes never arrive."
                    .into(),
                fix: Some(format!(
                    "Add to /etc/apt/sources.list.d/debian.sources on {n}: Types: deb, URIs: \
                     <Debian mirror>/debian-security, Suites: {suite}, Components: main \
                     contrib non-free-firmware"
                )),
                ..finding("S17c", Severity::Warning, format!("repo/{n}"), title)
            }])
        })
    }
}

/// S18: the cluster runs a release past (or near) its end of life.
pub struct S18;
impl Rule for S18 {
    fn id(&self) -> &'static str {
        "S18"
    }
    fn area(&self) -> Area {
        Area::Security
    }
    fn title(&self) -> &'static str {
        "Proxmox VE release at end of life"
    }
    fn check(&self, snap: &ClusterSnapshot, ctx: &Ctx) -> Outcome {
        let version = got(&snap.version)?;
        let Some(text) = str_of(version, "version") else {
            return Ok(vec![]);
        };
        let Some(major) = text.split('.').next().and_then(|m| m.parse::<u64>().ok()) else {
            return Ok(vec![]);
        };
        let eol = match EOL.iter().find(|(m, _)| *m == major) {
            Some((_, day)) => parse_day(day).map(|d| (d + 1) * 86_400),
            None if major < EOL[0].0 => Some(0),
            None => None,
        };
        let Some(eol) = eol else {
            return Ok(vec![]);
        };
        let notice = ctx.threshold("S18.notice_days", 90.0);
        let days = days_until(snap.now, eol);
        let (severity, title, evidence) = if days < 0 {
            (
                Severity::Warning,
                format!("Proxmox VE {major} is past its end of life"),
                format!(
                    "version {text}; security support for {major}.x ended {} days ago",
                    -days
                ),
            )
        } else if (days as f64) < notice {
            (
                Severity::Notice,
                format!("Proxmox VE {major} reaches its end of life in {days} days"),
                format!(
                    "version {text}; security support for {major}.x ends in {days} days (notice < {notice})"
                ),
            )
        } else {
            return Ok(vec![]);
        };
        Ok(vec![Finding {
            evidence,
            recommendation: "Plan the upgrade to the current major release (run the upgrade \
                             checker first)."
                .into(),
            fix: Some(format!(
                "pve{major}to{} --full   # on each node, then follow the upgrade guide",
                major + 1
            )),
            ..finding("S18", severity, "cluster".into(), title)
        }])
    }
}

/// S21: no CPU microcode package installed.
pub struct S21;
impl Rule for S21 {
    fn id(&self) -> &'static str {
        "S21"
    }
    fn area(&self) -> Area {
        Area::Security
    }
    fn title(&self) -> &'static str {
        "CPU microcode package missing"
    }
    fn check(&self, snap: &ClusterSnapshot, _ctx: &Ctx) -> Outcome {
        per_node(snap, |node| {
            let versions = got(&node.apt_versions)?;
            if versions.is_empty() {
                return Ok(vec![]);
            }
            let model = node
                .status
                .as_ref()
                .ok()
                .and_then(|s| s.get("cpuinfo"))
                .and_then(|c| str_of(c, "model"))
                .unwrap_or("");
            let wanted: &[&str] = if model.contains("Intel") {
                &["intel-microcode"]
            } else if model.contains("AMD") {
                &["amd64-microcode"]
            } else {
                &["intel-microcode", "amd64-microcode"]
            };
            let installed = versions.iter().any(|v| {
                str_of(v, "Package").is_some_and(|p| wanted.contains(&p))
                    && str_of(v, "CurrentState").is_none_or(|s| s == "Installed")
            });
            if installed {
                return Ok(vec![]);
            }
            let n = &node.name;
            let package = wanted.join(" or ");
            Ok(vec![Finding {
                evidence: format!(
                    "{package} not installed per /nodes/{n}/apt/versions (CPU: {})",
                    if model.is_empty() { "unknown" } else { model }
                ),
                recommendation: "Install the CPU microcode package (from the \
                                 non-free-firmware component) so CPU vulnerability fixes load \
                                 at boot."
                    .into(),
                fix: Some(format!("apt install {}   # on {n}, then reboot", wanted[0])),
                confidence: Confidence::Medium,
                ..finding(
                    "S21",
                    Severity::Warning,
                    format!("node/{n}"),
                    format!("No CPU microcode package on {n}"),
                )
            }])
        })
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::super::fixtures::{Case, DAY, NOW, Want, check, denied, repositories};
    use super::*;

    fn node<'a>(s: &'a mut ClusterSnapshot, name: &str) -> &'a mut NodeSnapshot {
        s.nodes.get_mut(name).unwrap()
    }

    fn cert<'a>(s: &'a mut ClusterSnapshot, name: &str, file: &str) -> &'a mut Value {
        node(s, name)
            .certificates
            .as_mut()
            .unwrap()
            .iter_mut()
            .find(|c| c["filename"] == file)
            .unwrap()
    }

    fn repos<'a>(s: &'a mut ClusterSnapshot, name: &str) -> &'a mut Value {
        node(s, name).apt_repositories.as_mut().unwrap()
    }

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
        // S15a
        (
            &S15a,
            "notfound",
            |s| {
                node(s, "pve1").subscription = Ok(json!({"status": "notfound",
                "message": "There is no subscription key"}))
            },
            Want::Find(&[("node/pve1", Severity::Warning)]),
        ),
        (
            &S15a,
            "suspended",
            |s| node(s, "pve3").subscription.as_mut().unwrap()["status"] = json!("Suspended"),
            Want::Find(&[("node/pve3", Severity::Warning)]),
        ),
        (
            &S15a,
            "subscription unreadable",
            |s| {
                for n in s.nodes.values_mut() {
                    n.subscription = denied("/nodes/x/subscription");
                }
            },
            Want::Skip("403"),
        ),
        // S15b
        (
            &S15b,
            "expired",
            |s| node(s, "pve2").subscription.as_mut().unwrap()["status"] = json!("expired"),
            Want::Find(&[("node/pve2", Severity::Critical)]),
        ),
        (
            &S15b,
            "notfound: S15a reports",
            |s| node(s, "pve2").subscription = Ok(json!({"status": "notfound"})),
            Want::Pass,
        ),
        (
            &S15b,
            "subscription unreadable",
            |s| {
                for n in s.nodes.values_mut() {
                    n.subscription = denied("/nodes/x/subscription");
                }
            },
            Want::Skip("403"),
        ),
        // S15c
        (
            &S15c,
            "due in 10 days",
            |s| node(s, "pve2").subscription.as_mut().unwrap()["nextduedate"] = json!("2026-12-16"),
            Want::Find(&[("node/pve2", Severity::Warning)]),
        ),
        (
            &S15c,
            "due in 40 days",
            |s| node(s, "pve2").subscription.as_mut().unwrap()["nextduedate"] = json!("2027-01-15"),
            Want::Pass,
        ),
        (
            &S15c,
            "subscription unreadable",
            |s| {
                for n in s.nodes.values_mut() {
                    n.subscription = denied("/nodes/x/subscription");
                }
            },
            Want::Skip("403"),
        ),
        // S16
        (
            &S16,
            "updates pending",
            |s| {
                node(s, "pve1").apt_updates = Ok(vec![json!({"Package": "pve-manager",
                "OldVersion": "9.1.1", "Version": "9.1.2", "Origin": "Proxmox",
                "Priority": "optional", "Section": "admin"})])
            },
            Want::Find(&[("node/pve1", Severity::Warning)]),
        ),
        (
            &S16,
            "no Sys.Modify",
            |s| {
                for n in s.nodes.values_mut() {
                    n.apt_updates = denied("/nodes/x/apt/update");
                }
            },
            Want::Skip("403"),
        ),
        // S17a
        (
            &S17a,
            "enterprise without subscription",
            |s| node(s, "pve1").subscription = Ok(json!({"status": "notfound"})),
            Want::Find(&[("repo/pve1", Severity::Warning)]),
        ),
        (
            &S17a,
            "enterprise disabled, no subscription",
            |s| {
                node(s, "pve1").subscription = Ok(json!({"status": "notfound"}));
                node(s, "pve1").apt_repositories = Ok(repositories(false));
            },
            Want::Pass,
        ),
        (
            &S17a,
            "repositories unreadable",
            |s| {
                for n in s.nodes.values_mut() {
                    n.apt_repositories = denied("/nodes/x/apt/repositories");
                }
            },
            Want::Skip("403"),
        ),
        // S17b
        (
            &S17b,
            "pve-test enabled",
            |s| {
                repos(s, "pve2")["files"]
                    .as_array_mut()
                    .unwrap()
                    .push(json!({
                "path": "/etc/apt/sources.list.d/test.sources", "repositories": [
                {"Types": ["deb"], "URIs": ["http://download.proxmox.com/debian/pve"],
                 "Suites": ["trixie"], "Components": ["pve-test"], "Enabled": true}]}))
            },
            Want::Find(&[("repo/pve2", Severity::Warning)]),
        ),
        (
            &S17b,
            "pve-test disabled",
            |s| {
                repos(s, "pve2")["files"]
                    .as_array_mut()
                    .unwrap()
                    .push(json!({
                "path": "/etc/apt/sources.list.d/test.sources", "repositories": [
                {"Types": ["deb"], "URIs": ["http://download.proxmox.com/debian/pve"],
                 "Suites": ["trixie"], "Components": ["pve-test"], "Enabled": false}]}))
            },
            Want::Pass,
        ),
        (
            &S17b,
            "repositories unreadable",
            |s| {
                for n in s.nodes.values_mut() {
                    n.apt_repositories = denied("/nodes/x/apt/repositories");
                }
            },
            Want::Skip("403"),
        ),
        // S17c
        (
            &S17c,
            "old suite name",
            |s| {
                repos(s, "pve3")["files"][0]["repositories"][1]["Suites"] =
                    json!(["bookworm-security"])
            },
            Want::Find(&[("repo/pve3", Severity::Warning)]),
        ),
        (
            &S17c,
            "no security repository",
            |s| repos(s, "pve3")["files"][0]["repositories"][1]["Enabled"] = json!(false),
            Want::Find(&[("repo/pve3", Severity::Warning)]),
        ),
        (
            &S17c,
            "repositories unreadable",
            |s| {
                for n in s.nodes.values_mut() {
                    n.apt_repositories = denied("/nodes/x/apt/repositories");
                }
            },
            Want::Skip("403"),
        ),
        // S18
        (
            &S18,
            "PVE 7",
            |s| s.version = Ok(json!({"version": "7.4-3", "release": "7.4"})),
            Want::Find(&[("cluster", Severity::Warning)]),
        ),
        (
            &S18,
            "PVE 8 past August 2026",
            |s| s.version = Ok(json!({"version": "8.4.14"})),
            Want::Find(&[("cluster", Severity::Warning)]),
        ),
        (
            &S18,
            "PVE 8 two months before",
            |s| {
                s.version = Ok(json!({"version": "8.4.1"}));
                s.now = NOW - 150 * DAY;
            },
            Want::Find(&[("cluster", Severity::Notice)]),
        ),
        (
            &S18,
            "PVE 5",
            |s| s.version = Ok(json!({"version": "5.4-13"})),
            Want::Find(&[("cluster", Severity::Warning)]),
        ),
        (
            &S18,
            "version unreadable",
            |s| s.version = denied("/version"),
            Want::Skip("403"),
        ),
        // S21
        (
            &S21,
            "no microcode",
            |s| {
                node(s, "pve1")
                    .apt_versions
                    .as_mut()
                    .unwrap()
                    .retain(|v| v["Package"] != "intel-microcode")
            },
            Want::Find(&[("node/pve1", Severity::Warning)]),
        ),
        (
            &S21,
            "wrong vendor's microcode",
            |s| node(s, "pve1").status = Ok(json!({"cpuinfo": {"model": "AMD EPYC 7543"}})),
            Want::Find(&[("node/pve1", Severity::Warning)]),
        ),
        (
            &S21,
            "versions unreadable",
            |s| {
                for n in s.nodes.values_mut() {
                    n.apt_versions = denied("/nodes/x/apt/versions");
                }
            },
            Want::Skip("403"),
        ),
    ];

    #[test]
    fn node_rules() {
        check(CASES);
    }

    #[test]
    fn eol_table_is_ordered_dates() {
        for pair in EOL.windows(2) {
            assert!(pair[0].0 < pair[1].0);
            assert!(parse_day(pair[0].1) < parse_day(pair[1].1));
        }
        assert!(EOL.iter().all(|(_, d)| parse_day(d).is_some()));
    }
}
