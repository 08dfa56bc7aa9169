//! Pure: APT repository rules S17 (enterprise without subscription, test, Debian security).

use super::node::subscription;
use serde_json::{Value, json};

use super::{api, finding, per_node};
use crate::diagnostics::rules::util::{flag, num, str_of};
use crate::diagnostics::rules::{Ctx, Finding, Outcome, Rule, Severity, got};
use crate::diagnostics::snapshot::cluster::{ClusterSnapshot, NodeSnapshot};

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
fn standard_enabled(body: &Value, want: impl Fn(&str) -> bool) -> Vec<&str> {
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
    meta!("S17a", "Enterprise repository without subscription");
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
    meta!("S17b", "Test repository enabled");
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
    meta!("S17c", "Debian security repository missing or wrong suite");
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

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::super::fixtures::*;
    use super::*;

    const CASES: &[Case] = &[
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
                node(s, "pve1").apt_repositories = Ok(super::super::fixtures::repositories(false));
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
    ];

    #[test]
    fn repository_rules() {
        check(CASES);
    }
}
