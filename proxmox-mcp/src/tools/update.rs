//! The server's own version: `get_changelog` (the embedded changelog), `check_updates` (the
//! configured release source, at most once a day) and `self_update` (always a human's call).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{AssessCtx, Assessment, Hints, Render, ToolCtx, ToolDef, ToolError};
use crate::policy::Class;
use crate::policy::decision::Decision;
use crate::policy::engine::Request;
use crate::policy::mode::Mode;
use crate::selfmgmt::changelog::{self, Release};
use crate::selfmgmt::update::feed::Source;
use crate::selfmgmt::update::install::{self, Job, Outcome};
use crate::selfmgmt::update::{UpdateError, detect_install_method, throttle};
use crate::selfmgmt::version::{CURRENT, Version};

pub fn tools() -> Vec<ToolDef> {
    vec![
        ToolDef::new(
            "get_changelog",
            "Show the changelog",
            "This server's changelog, releases after `from` up to `to` (versions; both optional).",
            Class::Read,
            Hints::READ,
            &[],
            get_changelog,
        )
        .local(),
        ToolDef::new(
            "check_updates",
            "Check for a newer version",
            "Compare the running version with the newest release of the configured source, \
             with the changelog between. Asks the source at most once a day unless force.",
            Class::Read,
            Hints {
                open_world: true,
                ..Hints::READ
            },
            &[],
            check_updates,
        )
        .local(),
        ToolDef::new(
            "self_update",
            "Update this server",
            "Install a release (default: the newest) the way this server was installed, after \
             a config backup. Always asks a human; `proxmox-mcp rollback` undoes it.",
            Class::Modify,
            Hints {
                read_only: false,
                destructive: false,
                idempotent: false,
                open_world: true,
            },
            &[],
            self_update,
        )
        .assessed_by(assess_update)
        .local(),
    ]
}

fn version_arg(name: &str, v: Option<&str>) -> Result<Option<Version>, ToolError> {
    v.map(|s| {
        s.parse()
            .map_err(|e| ToolError::invalid(format!("{name}: {e}")))
    })
    .transpose()
}

fn tool_error(e: UpdateError) -> ToolError {
    match e {
        UpdateError::Refused(m) => ToolError::Refused(m),
        UpdateError::Source(m) | UpdateError::Failed(m) => ToolError::Config(m),
    }
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ChangelogParams {
    /// Releases after this version
    pub from: Option<String>,
    /// Releases up to this version
    pub to: Option<String>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct ChangelogResult {
    pub running: &'static str,
    pub releases: Vec<Release>,
}

async fn get_changelog(_ctx: ToolCtx, p: ChangelogParams) -> Result<ChangelogResult, ToolError> {
    let from = version_arg("from", p.from.as_deref())?;
    let to = version_arg("to", p.to.as_deref())?;
    let all = changelog::parse(changelog::EMBEDDED);
    Ok(ChangelogResult {
        running: CURRENT,
        releases: changelog::between(&all, from.as_ref(), to.as_ref()),
    })
}

fn render_releases(s: &mut String, releases: &[Release]) {
    for r in releases {
        s.push_str(&format!("\n## {}", r.version));
        if let Some(d) = &r.date {
            s.push_str(&format!(" ({d})"));
        }
        s.push('\n');
        s.push_str(&r.notes);
        s.push('\n');
    }
}

impl Render for ChangelogResult {
    fn render(&self) -> String {
        let mut s = format!("Running {}.", self.running);
        if self.releases.is_empty() {
            s.push_str(" No changelog entries in that range.");
        }
        render_releases(&mut s, &self.releases);
        s
    }
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CheckParams {
    /// Ask the source even if it was asked today
    pub force: Option<bool>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct CheckResult {
    pub current: String,
    pub latest: Option<String>,
    pub update_available: bool,
    /// The feed URL or git remote asked
    pub source: String,
    /// git, deb, container, cargo or release-binary
    pub install_method: &'static str,
    /// Unix time of the check
    pub checked_at: u64,
    /// True when answered from today's earlier check
    pub cached: bool,
    /// What changed between current and latest
    pub changelog: Vec<Release>,
}

async fn check_updates(ctx: ToolCtx, p: CheckParams) -> Result<CheckResult, ToolError> {
    let config = ctx.engine.config();
    let state_dir = &config.state_dir;
    let method = detect_install_method();
    let source = Source::resolve(&config.update, &method);
    let described = source.describe();
    let now = throttle::now();
    let current = Version::current();
    if !p.force.unwrap_or(false)
        && let Some(stamp) = throttle::read(state_dir)
        && throttle::still_fresh(&stamp, &described, CURRENT, now)
    {
        let changelog = local_changelog(&current, stamp.latest.as_deref());
        return Ok(CheckResult {
            current: stamp.current,
            latest: stamp.latest,
            update_available: stamp.update_available,
            source: stamp.source,
            install_method: method.name(),
            checked_at: stamp.checked_at,
            cached: true,
            changelog,
        });
    }
    let releases = source
        .releases(config.update.timeout)
        .await
        .map_err(tool_error)?;
    let newest = crate::selfmgmt::update::feed::newest(&releases, &current);
    let latest = newest.map(|r| r.version.clone());
    let update_available = latest.as_ref().is_some_and(|l| l > &current);
    // The feed's own notes for what lies between; else whatever the embedded changelog knows.
    let mut between: Vec<Release> = releases
        .iter()
        .filter(|r| r.version > current && latest.as_ref().is_some_and(|l| &r.version <= l))
        .filter_map(|r| {
            let info = r.info.as_ref()?;
            Some(Release {
                version: r.version.to_string(),
                date: info.published.clone(),
                notes: info.notes.clone().unwrap_or_default(),
            })
        })
        .collect();
    between.sort_by(|a, b| {
        let v = |r: &Release| r.version.parse::<Version>().ok();
        v(b).cmp(&v(a))
    });
    if between.is_empty() && update_available {
        between = local_changelog(&current, latest.as_ref().map(|l| l.to_string()).as_deref());
    }
    let stamp = throttle::Stamp {
        checked_at: now,
        source: described,
        current: CURRENT.to_owned(),
        latest: latest.as_ref().map(|l| l.to_string()),
        update_available,
    };
    if let Err(e) = throttle::write(state_dir, &stamp) {
        tracing::warn!(
            "cannot record the update check in {}: {e}",
            state_dir.display()
        );
    }
    Ok(CheckResult {
        current: stamp.current,
        latest: stamp.latest,
        update_available,
        source: stamp.source,
        install_method: method.name(),
        checked_at: now,
        cached: false,
        changelog: between,
    })
}

fn local_changelog(current: &Version, latest: Option<&str>) -> Vec<Release> {
    let Some(latest) = latest.and_then(|l| l.parse::<Version>().ok()) else {
        return Vec::new();
    };
    if &latest <= current {
        return Vec::new();
    }
    changelog::between(
        &changelog::parse(changelog::EMBEDDED),
        Some(current),
        Some(&latest),
    )
}

impl Render for CheckResult {
    fn render(&self) -> String {
        let when = if self.cached {
            " (today's earlier check; force=true asks again)"
        } else {
            ""
        };
        let mut s = match (&self.latest, self.update_available) {
            (Some(l), true) => format!(
                "Update available: {} -> {l} from {}{when}. self_update installs it ({} install).",
                self.current, self.source, self.install_method
            ),
            (Some(l), false) => format!(
                "Up to date: running {}, newest release {l} at {}{when}.",
                self.current, self.source
            ),
            (None, _) => format!(
                "No releases found at {}{when}; running {}.",
                self.source, self.current
            ),
        };
        render_releases(&mut s, &self.changelog);
        s
    }
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateParams {
    /// Version to install (default: the newest)
    pub version: Option<String>,
}

fn assess_update(ctx: &AssessCtx, p: UpdateParams) -> Result<Assessment, ToolError> {
    let version = version_arg("version", p.version.as_deref())?;
    let to = version.map_or_else(|| "the newest release".to_owned(), |v| v.to_string());
    let summary = format!("replace this server's binary ({CURRENT}) with {to}");
    let decision = if ctx.mode == Mode::ReadOnly {
        Decision::Refuse(
            "read-only mode: self_update changes the server; switch modes first".into(),
        )
    } else {
        Decision::Confirm(
            "Replacing the server's own binary always needs a human's approval.".into(),
        )
    };
    let mut a = Assessment::new(Request::new(Class::Modify), summary).target("proxmox-mcp binary");
    a.decision = Some(decision);
    Ok(a)
}

async fn self_update(ctx: ToolCtx, p: UpdateParams) -> Result<Outcome, ToolError> {
    let version = version_arg("version", p.version.as_deref())?;
    let config = ctx.engine.config();
    let bin = std::env::current_exe()
        .and_then(|p| p.canonicalize())
        .map_err(|e| ToolError::Config(format!("cannot locate the running binary: {e}")))?;
    let job = Job {
        cfg: config.update.clone(),
        method: detect_install_method(),
        bin,
        config_file: config.source.clone(),
        state_dir: config.state_dir.clone(),
        version,
    };
    install::run(&job).await.map_err(tool_error)
}

impl Render for Outcome {
    fn render(&self) -> String {
        use crate::selfmgmt::update::install::Status;
        match self.status {
            Status::Updated => format!(
                "Updated {} -> {} ({} install). {}",
                self.from,
                self.to.as_deref().unwrap_or("?"),
                self.method,
                self.next_step
            ),
            Status::UpToDate => format!("Already up to date ({}).", self.from),
            Status::Instructions => {
                format!("Not updated ({} install): {}", self.method, self.next_step)
            }
        }
    }
}
