//! The changelog (`CHANGELOG.md`, Keep a Changelog), embedded at build time: parsed into
//! releases and filtered by version. Pure.

use serde::Serialize;

use super::version::Version;

/// The project's changelog as it was when this binary was built.
pub const EMBEDDED: &str = include_str!("../../../CHANGELOG.md");

/// One `## [x.y.z] - date` section (or `## [Unreleased]`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct Release {
    /// `x.y.z`, or `Unreleased`
    pub version: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub date: Option<String>,
    /// The section's Markdown, headings `### Added` etc. included
    pub notes: String,
}

impl Release {
    fn parsed(&self) -> Option<Version> {
        self.version.parse().ok()
    }
}

/// Every release section of a Keep a Changelog document, newest first as written. Link
/// reference lines (`[0.1.0]: https://…`) end a section's notes.
pub fn parse(text: &str) -> Vec<Release> {
    let mut out: Vec<Release> = Vec::new();
    for line in text.lines() {
        if let Some(head) = line.strip_prefix("## ") {
            let head = head.trim();
            let (name, rest) = match head.strip_prefix('[').and_then(|h| h.split_once(']')) {
                Some((n, r)) => (n.trim(), r),
                None => (head.split_whitespace().next().unwrap_or(""), ""),
            };
            let date = rest
                .trim()
                .trim_start_matches(['-', '–'])
                .split_whitespace()
                .next()
                .map(str::to_owned);
            out.push(Release {
                version: name.strip_prefix('v').unwrap_or(name).to_owned(),
                date,
                notes: String::new(),
            });
            continue;
        }
        let Some(cur) = out.last_mut() else { continue };
        if line.starts_with('[') && line.contains("]: ") {
            continue;
        }
        cur.notes.push_str(line);
        cur.notes.push('\n');
    }
    for r in &mut out {
        r.notes = r.notes.trim().to_owned();
    }
    out
}

/// The releases after `from` up to and including `to` (both optional). `Unreleased` is kept
/// only when no upper bound is given; sections whose heading is no version are dropped then.
pub fn between(releases: &[Release], from: Option<&Version>, to: Option<&Version>) -> Vec<Release> {
    releases
        .iter()
        .filter(|r| match r.parsed() {
            Some(v) => from.is_none_or(|f| &v > f) && to.is_none_or(|t| &v <= t),
            None => to.is_none() && r.version.eq_ignore_ascii_case("unreleased"),
        })
        .cloned()
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOC: &str = "# Changelog\n\nintro\n\n## [Unreleased]\n\n- next\n\n\
        ## [0.3.0-rc.1] - 2026-03-01\n### Added\n- rc\n\n\
        ## [0.2.0] - 2026-02-01\n### Fixed\n- two\n\n\
        ## 0.1.0 - 2026-01-01\n- one\n\n[0.2.0]: https://example.invalid/0.2.0\n";

    fn check(from: Option<&str>, to: Option<&str>, want: &[&str]) {
        let from = from.map(|s| s.parse().unwrap());
        let to = to.map(|s| s.parse().unwrap());
        let got: Vec<String> = between(&parse(DOC), from.as_ref(), to.as_ref())
            .into_iter()
            .map(|r| r.version)
            .collect();
        assert_eq!(got, want, "from {from:?} to {to:?}");
    }

    #[test]
    fn parses_sections() {
        let r = parse(DOC);
        assert_eq!(r.len(), 4);
        assert_eq!(r[1].date.as_deref(), Some("2026-03-01"));
        assert_eq!(r[2].notes, "### Fixed\n- two");
        assert_eq!(r[3].version, "0.1.0");
        assert_eq!(r[3].notes, "- one", "link references are not notes");
    }

    #[test]
    fn filters_by_version() {
        check(None, None, &["Unreleased", "0.3.0-rc.1", "0.2.0", "0.1.0"]);
        check(Some("0.1.0"), None, &["Unreleased", "0.3.0-rc.1", "0.2.0"]);
        check(Some("0.1.0"), Some("0.2.0"), &["0.2.0"]);
        check(None, Some("0.3.0"), &["0.3.0-rc.1", "0.2.0", "0.1.0"]);
        check(Some("0.2.0"), Some("0.2.0"), &[]);
    }

    #[test]
    fn the_embedded_changelog_has_this_version() {
        let r = parse(EMBEDDED);
        assert!(
            r.iter()
                .any(|r| r.version == super::super::version::CURRENT),
            "CHANGELOG.md has no section for {}",
            super::super::version::CURRENT
        );
    }
}
