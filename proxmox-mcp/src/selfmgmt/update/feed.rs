//! Where releases are announced: release JSON at a URL (the project's feed, or a mirror), or
//! a git remote's tags (`git ls-remote --tags`). Every source answers within a timeout.
//!
//! The release JSON is a list (bare, or under `"releases"`) of
//! `{"version", "published", "notes"?, "assets": [{"name", "url", "sha256"?}], "sha256s_url",
//! "signature_url"}`; `sha256s_url` is a `SHA256SUMS` file (`HEX  NAME` lines) and
//! `signature_url` its minisign signature.

use std::path::Path;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::UpdateError;
use crate::selfmgmt::version::Version;

/// The project's release feed, used when no `[update] url` is configured.
pub const DEFAULT_FEED: &str = concat!(env!("CARGO_PKG_REPOSITORY"), "/releases.json");

/// The largest feed or download accepted.
const MAX_FEED: usize = 4 << 20;
const MAX_ASSET: usize = 256 << 20;
/// The largest `SHA256SUMS` file accepted.
pub const MAX_SUMS: usize = 1 << 20;
/// The largest minisign signature accepted.
pub const MAX_SIGNATURE: usize = 8 << 10;
/// The most of a release's notes passed on (they reach the model), in bytes.
pub const MAX_NOTES: usize = 2 << 10;
/// The most of a release's `published` field passed on, in bytes.
const MAX_PUBLISHED: usize = 64;

/// Feed text made fit for the model: control characters (bar newlines and tabs in notes)
/// dropped, cut to `max` bytes on a character boundary.
pub fn sanitize(text: &str, max: usize, keep_lines: bool) -> String {
    let mut out = String::new();
    for c in text.chars() {
        let keep = !c.is_control() || (keep_lines && (c == '\n' || c == '\t'));
        if !keep {
            continue;
        }
        if out.len() + c.len_utf8() > max {
            out.push('…');
            break;
        }
        out.push(c);
    }
    out
}

/// One release as the feed describes it.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq, Eq)]
pub struct FeedRelease {
    pub version: String,
    #[serde(default)]
    pub published: Option<String>,
    #[serde(default)]
    pub notes: Option<String>,
    #[serde(default)]
    pub assets: Vec<Asset>,
    #[serde(default)]
    pub sha256s_url: Option<String>,
    #[serde(default)]
    pub signature_url: Option<String>,
}

/// A downloadable file of a release.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq, Eq)]
pub struct Asset {
    pub name: String,
    pub url: String,
    #[serde(default)]
    pub sha256: Option<String>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum FeedDoc {
    List(Vec<FeedRelease>),
    Wrapped { releases: Vec<FeedRelease> },
}

/// A release with its parsed version; tag-only sources have no assets or notes.
#[derive(Debug, Clone)]
pub struct Release {
    pub version: Version,
    /// The git tag it came from (git sources).
    pub tag: Option<String>,
    /// The commit that tag named when the remote was asked (git sources).
    pub commit: Option<String>,
    pub info: Option<FeedRelease>,
}

/// Parses a feed: every entry must have a semantic version.
pub fn parse_feed(body: &[u8]) -> Result<Vec<Release>, String> {
    let doc: FeedDoc = serde_json::from_slice(body).map_err(|e| {
        format!("it is not release JSON (a list of {{version, published, assets, …}}): {e}")
    })?;
    let list = match doc {
        FeedDoc::List(l) | FeedDoc::Wrapped { releases: l } => l,
    };
    list.into_iter()
        .map(|mut r| {
            r.notes = r.notes.map(|n| sanitize(&n, MAX_NOTES, true));
            r.published = r.published.map(|p| sanitize(&p, MAX_PUBLISHED, false));
            Ok(Release {
                version: r.version.parse()?,
                tag: None,
                commit: None,
                info: Some(r),
            })
        })
        .collect()
}

/// Parses `git ls-remote --tags` output: tags that are semantic versions (other tags are
/// skipped), each with the commit it names (an annotated tag's peeled `^{}` line).
pub fn parse_ls_remote(out: &str) -> Vec<Release> {
    let refs: Vec<(&str, &str)> = out
        .lines()
        .filter_map(|l| {
            let mut w = l.split_whitespace();
            let oid = w.next()?;
            Some((oid, w.next()?.strip_prefix("refs/tags/")?))
        })
        .collect();
    refs.iter()
        .filter(|(_, t)| !t.ends_with("^{}"))
        .filter_map(|(oid, t)| {
            let peeled = format!("{t}^{{}}");
            let commit = refs
                .iter()
                .find(|(_, p)| *p == peeled)
                .map_or(*oid, |(c, _)| *c);
            Some(Release {
                version: t.parse().ok()?,
                tag: Some((*t).to_owned()),
                commit: Some(commit.to_owned()),
                info: None,
            })
        })
        .collect()
}

/// The newest release worth offering: pre-releases only to a pre-release.
pub fn newest<'a>(releases: &'a [Release], current: &Version) -> Option<&'a Release> {
    releases
        .iter()
        .filter(|r| !r.version.is_prerelease() || current.is_prerelease())
        .max_by(|a, b| a.version.cmp(&b.version))
}

/// An HTTP client for the update source: certificates verified, `timeout` for the whole request.
pub fn http(timeout: Duration) -> Result<reqwest::Client, UpdateError> {
    let (tls, _) = crate::pve::tls::client_config(&crate::config::TlsConfig::default(), "update")
        .map_err(|e| UpdateError::Source(format!("cannot set up TLS: {e}")))?;
    reqwest::Client::builder()
        .tls_backend_preconfigured(tls)
        .connect_timeout(timeout)
        .timeout(timeout)
        .http1_only()
        .user_agent(concat!("proxmox-mcp/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| UpdateError::Source(format!("cannot build the HTTP client: {e}")))
}

/// GETs `url` whole (at most `limit` bytes) within the client's timeout.
pub async fn get(
    client: &reqwest::Client,
    url: &str,
    timeout: Duration,
    limit: usize,
) -> Result<Vec<u8>, UpdateError> {
    let secs = timeout.as_secs_f32();
    let fail = |e: reqwest::Error| {
        if e.is_timeout() {
            UpdateError::Source(format!(
                "{url} did not answer within {secs:.0} s (update timeout_secs); try again later"
            ))
        } else if e.is_connect() {
            UpdateError::Source(format!("cannot reach {url}: {e}; is this host offline?"))
        } else {
            UpdateError::Source(format!("reading {url} failed: {e}"))
        }
    };
    let work = async {
        let resp = client.get(url).send().await.map_err(fail)?;
        let status = resp.status();
        if !status.is_success() {
            return Err(UpdateError::Source(format!("{url} answered HTTP {status}")));
        }
        let mut resp = resp;
        let mut body = Vec::new();
        while let Some(chunk) = resp.chunk().await.map_err(fail)? {
            body.extend_from_slice(&chunk);
            if body.len() > limit {
                return Err(UpdateError::Source(format!(
                    "{url} is larger than {limit} bytes"
                )));
            }
        }
        Ok(body)
    };
    // The client's timeout covers each request; this bounds the whole read as well.
    tokio::time::timeout(timeout, work)
        .await
        .unwrap_or_else(|_| {
            Err(UpdateError::Source(format!(
                "{url} did not answer within {secs:.0} s (update timeout_secs); try again later"
            )))
        })
}

/// The releases a feed at `url` lists.
pub async fn fetch_feed(url: &str, timeout: Duration) -> Result<Vec<Release>, UpdateError> {
    let client = http(timeout)?;
    let body = get(&client, url, timeout, MAX_FEED).await?;
    parse_feed(&body).map_err(|e| UpdateError::Source(format!("{url} answered, but {e}")))
}

/// Downloads a release file (at most 256 MiB).
pub async fn download(url: &str, timeout: Duration) -> Result<Vec<u8>, UpdateError> {
    download_at_most(url, timeout, MAX_ASSET).await
}

/// Downloads a file of at most `limit` bytes (`SHA256SUMS`, a signature).
pub async fn download_at_most(
    url: &str,
    timeout: Duration,
    limit: usize,
) -> Result<Vec<u8>, UpdateError> {
    let client = http(timeout)?;
    get(&client, url, timeout, limit).await
}

/// The version tags of a git `remote` (a URL or a remote name of the work tree `dir`).
pub async fn fetch_tags(
    dir: Option<&Path>,
    remote: &str,
    timeout: Duration,
) -> Result<Vec<Release>, UpdateError> {
    let mut cmd = tokio::process::Command::new("git");
    super::install::minimal_env(&mut cmd);
    if let Some(d) = dir {
        cmd.arg("-C").arg(d);
    }
    cmd.args(["ls-remote", "--tags", "--", remote])
        .stdin(std::process::Stdio::null())
        .kill_on_drop(true);
    let out = tokio::time::timeout(timeout, cmd.output())
        .await
        .map_err(|_| {
            UpdateError::Source(format!(
                "git ls-remote {remote} did not answer within {:.0} s (update timeout_secs)",
                timeout.as_secs_f32()
            ))
        })?
        .map_err(|e| UpdateError::Source(format!("cannot run git: {e}")))?;
    if !out.status.success() {
        return Err(UpdateError::Source(format!(
            "git ls-remote --tags {remote} failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    Ok(parse_ls_remote(&String::from_utf8_lossy(&out.stdout)))
}

/// Where this server asks for releases.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    Feed(String),
    Git {
        /// The work tree whose remote is meant (a remote name needs one).
        dir: Option<std::path::PathBuf>,
        remote: String,
    },
}

impl Source {
    /// The configured source; `auto` asks a git checkout's remote, anything else the feed.
    pub fn resolve(cfg: &crate::config::UpdateConfig, method: &super::InstallMethod) -> Source {
        use crate::config::UpdateSourceKind as K;
        let dir = match method {
            super::InstallMethod::Git { work_tree } => Some(work_tree.clone()),
            _ => None,
        };
        let git = match cfg.source {
            K::Git => true,
            K::Feed => false,
            K::Auto => dir.is_some(),
        };
        if git {
            Source::Git {
                dir,
                remote: cfg.url.clone().unwrap_or_else(|| "origin".to_owned()),
            }
        } else {
            Source::Feed(cfg.url.clone().unwrap_or_else(|| DEFAULT_FEED.to_owned()))
        }
    }

    /// The URL or remote, as the stamp and the result name it.
    pub fn describe(&self) -> String {
        match self {
            Source::Feed(url) => url.clone(),
            Source::Git { remote, .. } => format!("git {remote}"),
        }
    }

    /// The releases this source lists, within `timeout`.
    pub async fn releases(&self, timeout: Duration) -> Result<Vec<Release>, UpdateError> {
        match self {
            Source::Feed(url) => fetch_feed(url, timeout).await,
            Source::Git { dir, remote } => fetch_tags(dir.as_deref(), remote, timeout).await,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn feed_shapes() {
        let bare = br#"[{"version":"0.2.0","published":"2026-12-01","assets":[{"name":"a","url":"u"}],"sha256s_url":"s","signature_url":"g"}]"#;
        let r = parse_feed(bare).unwrap();
        assert_eq!(r[0].version.to_string(), "0.2.0");
        assert_eq!(r[0].info.as_ref().unwrap().assets[0].name, "a");
        let wrapped = br#"{"releases":[{"version":"v1.0.0"}]}"#;
        assert_eq!(parse_feed(wrapped).unwrap()[0].version.to_string(), "1.0.0");
        assert!(parse_feed(b"{\"version\":").is_err());
        assert!(parse_feed(br#"[{"version":"latest"}]"#).is_err());
    }

    #[tokio::test]
    async fn an_offline_source_is_a_clear_error() {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let url = format!("http://127.0.0.1:{port}/releases.json");
        let e = fetch_feed(&url, Duration::from_secs(2)).await.unwrap_err();
        assert!(e.to_string().contains("cannot reach"), "{e}");
        let e = fetch_tags(None, "/nonexistent/repo.git", Duration::from_secs(5))
            .await
            .unwrap_err();
        assert!(e.to_string().contains("git ls-remote"), "{e}");
    }

    #[test]
    fn notes_are_capped_and_stripped() {
        let notes = format!("line\u{1b}[31m one\r\ntwo\t{}", "x".repeat(10_000));
        let body = serde_json::json!([{"version": "1.0.0", "notes": notes,
            "published": format!("2026\u{7}{}", "y".repeat(500))}]);
        let r = parse_feed(body.to_string().as_bytes()).unwrap();
        let info = r[0].info.as_ref().unwrap();
        let n = info.notes.as_deref().unwrap();
        assert!(n.len() <= MAX_NOTES + '…'.len_utf8(), "{}", n.len());
        assert!(n.starts_with("line[31m one\ntwo\tx"), "{n:?}");
        assert!(!n.chars().any(|c| c.is_control() && c != '\n' && c != '\t'));
        let p = info.published.as_deref().unwrap();
        assert!(p.starts_with("2026y") && p.len() <= 64 + 3, "{p:?}");
    }

    #[test]
    fn tags_and_newest() {
        let out = "aa\trefs/tags/v0.1.0\nbb\trefs/tags/v0.1.0^{}\ncc\trefs/tags/v0.3.0-rc.1\n\
                   dd\trefs/tags/nightly\nee\trefs/tags/v0.2.0\n";
        let r = parse_ls_remote(out);
        assert_eq!(r.len(), 3);
        let stable: Version = "0.1.0".parse().unwrap();
        assert_eq!(newest(&r, &stable).unwrap().tag.as_deref(), Some("v0.2.0"));
        // An annotated tag is pinned to its commit (the peeled line), a plain one to its oid.
        assert_eq!(r[0].commit.as_deref(), Some("bb"));
        assert_eq!(r[2].commit.as_deref(), Some("ee"));
        let pre: Version = "0.1.0-rc.1".parse().unwrap();
        assert_eq!(newest(&r, &pre).unwrap().version.to_string(), "0.3.0-rc.1");
        assert!(newest(&[], &stable).is_none());
    }
}
