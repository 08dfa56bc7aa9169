//! One update, per install method: a git checkout fetches, checks out the tag and builds; a
//! release binary is downloaded with its signed `SHA256SUMS`; both then probe the new binary's
//! `--version`, keep the config and the old binary, and swap atomically. A `.deb` install says
//! the apt command (or installs the verified package with `dpkg -i` when configured to); a
//! container cannot rebuild itself and says the host command. Every failure leaves the running
//! version in place.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use serde::Serialize;

use super::feed::{self, Asset, FeedRelease, Release, Source};
use super::{InstallMethod, UpdateError, swap, verify};
use crate::config::UpdateConfig;
use crate::selfmgmt::version::Version;

/// The package-manager command for a Debian package install.
pub const APT_COMMAND: &str = "apt-get update && apt-get install --only-upgrade proxmox-mcp";
/// What rebuilds a container install, run on the host in the checkout.
pub const CONTAINER_COMMAND: &str = "git pull && docker compose up -d --build";
/// How long a git checkout's build may take.
const BUILD_TIMEOUT: Duration = Duration::from_secs(3600);
/// The system directories every update subprocess may find programs in.
const SYSTEM_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
/// Git options that keep a work tree's own config from running commands (hooks, fsmonitor).
const GIT_SAFE: [&str; 4] = [
    "-c",
    "core.hooksPath=/dev/null",
    "-c",
    "core.fsmonitor=false",
];

/// The directory of the `cargo` on the server's `PATH`, looked up once.
fn cargo_dir() -> Option<&'static Path> {
    static DIR: std::sync::OnceLock<Option<PathBuf>> = std::sync::OnceLock::new();
    DIR.get_or_init(|| {
        let path = std::env::var_os("PATH")?;
        std::env::split_paths(&path).find(|d| d.is_absolute() && d.join("cargo").is_file())
    })
    .as_deref()
}

/// Gives an update subprocess a minimal environment instead of the server's (which holds the
/// Proxmox credentials): system `PATH` plus cargo's directory, `HOME`, `LANG`, the rustup and
/// cargo homes, and the tool-call marker.
pub(super) fn minimal_env(cmd: &mut tokio::process::Command) {
    cmd.env_clear();
    let path = match cargo_dir() {
        Some(d) => format!("{}:{SYSTEM_PATH}", d.display()),
        None => SYSTEM_PATH.to_owned(),
    };
    cmd.env("PATH", path)
        .env("PROXMOX_MCP_TOOL_CALL", "1")
        .env("GIT_TERMINAL_PROMPT", "0");
    for key in ["HOME", "LANG", "CARGO_HOME", "RUSTUP_HOME"] {
        if let Some(v) = std::env::var_os(key) {
            cmd.env(key, v);
        }
    }
}

/// What one update is asked to do.
#[derive(Debug, Clone)]
pub struct Job {
    pub cfg: UpdateConfig,
    pub method: InstallMethod,
    /// The running binary.
    pub bin: PathBuf,
    /// The config file in use, copied before anything changes.
    pub config_file: Option<PathBuf>,
    pub state_dir: PathBuf,
    /// The version asked for; `None`: the newest (only where nothing is installed).
    pub version: Option<Version>,
    /// Whether a version below the running one may be installed.
    pub downgrade: bool,
}

/// How it ended.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// The new binary is in place.
    Updated,
    /// Nothing to do: already the newest.
    UpToDate,
    /// This install cannot replace itself: `next_step` says the command.
    Instructions,
}

#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct Outcome {
    pub status: Status,
    /// git, deb, container, cargo or release-binary
    pub method: &'static str,
    pub from: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub to: Option<String>,
    /// The binary kept for `proxmox-mcp rollback`
    #[serde(skip_serializing_if = "Option::is_none")]
    pub previous: Option<PathBuf>,
    /// The config copy taken first
    #[serde(skip_serializing_if = "Option::is_none")]
    pub config_copy: Option<PathBuf>,
    /// The `backup_config` archive taken first (`restore_config` takes it back)
    #[serde(skip_serializing_if = "Option::is_none")]
    pub config_backup: Option<String>,
    /// What to do now (restart, or the command to run)
    pub next_step: String,
}

impl Outcome {
    /// Nothing to install: the running version is the newest release.
    fn up_to_date(job: &Job) -> Self {
        Outcome::new(Status::UpToDate, job, None, "already the newest release")
    }

    fn new(status: Status, job: &Job, to: Option<String>, next_step: impl Into<String>) -> Self {
        Outcome {
            status,
            method: job.method.name(),
            from: super::super::version::CURRENT.to_owned(),
            to,
            previous: None,
            config_copy: None,
            config_backup: None,
            next_step: next_step.into(),
        }
    }
}

/// What [`pre_update_backup`] took.
struct Backed {
    kept: swap::Kept,
    /// The `backup_config` archive, in the state directory's `backups/`.
    archive: String,
}

/// Backs the server up before an update changes anything: a `backup_config` archive (config,
/// mode, approvals, bridge token hashes) and a copy of the config file in the state directory,
/// which `rollback` restores with it. No backup, no update.
fn pre_update_backup(job: &Job) -> Result<Backed, UpdateError> {
    let roots = crate::selfmgmt::backup::BackupRoots {
        config_file: job.config_file.clone(),
        state_dir: job.state_dir.clone(),
    };
    let info = crate::selfmgmt::backup::create(&roots, "before self_update")
        .map_err(|e| UpdateError::Failed(format!("cannot back the configuration up first: {e}")))?;
    let kept = swap::keep_config(&job.bin, &job.state_dir, job.config_file.as_deref())?;
    Ok(Backed {
        kept,
        archive: info.name,
    })
}

/// Runs one update.
pub async fn run(job: &Job) -> Result<Outcome, UpdateError> {
    if !super::ENABLED {
        return Ok(Outcome::new(
            Status::Instructions,
            job,
            None,
            format!(
                "self-update is disabled in this build (a distribution package): update it with \
                 the package manager, e.g. `{APT_COMMAND}`"
            ),
        ));
    }
    let installs = match &job.method {
        InstallMethod::Container => false,
        InstallMethod::Deb => job.cfg.dpkg_install,
        _ => true,
    };
    if installs {
        check_target(job.version.as_ref(), job.downgrade)?;
    }
    match &job.method {
        InstallMethod::Git { work_tree } => git(job, work_tree).await,
        InstallMethod::Deb => deb(job).await,
        InstallMethod::Container => Ok(Outcome::new(
            Status::Instructions,
            job,
            None,
            format!(
                "a container cannot rebuild itself: on the Docker host, in the proxmox-mcp \
                 checkout, run `{CONTAINER_COMMAND}`"
            ),
        )),
        InstallMethod::Cargo | InstallMethod::Unknown => release_binary(job).await,
    }
}

/// The version a human approved must be named, and may lie below the running one only when
/// `downgrade` says so: what is installed is what was approved, never "the newest" as it turns
/// out at run time.
pub fn check_target(want: Option<&Version>, downgrade: bool) -> Result<(), UpdateError> {
    let current = Version::current();
    match want {
        None => Err(UpdateError::Refused(
            "name the version to install: call check_updates first and pass its `latest` as \
             `version`, so the approval covers exactly that release"
                .into(),
        )),
        Some(v) if v <= &current && !downgrade => Err(UpdateError::Refused(format!(
            "{v} is not newer than the running {current}: reinstalling or going back needs \
             `downgrade: true`"
        ))),
        Some(_) => Ok(()),
    }
}

/// The release to install: the one asked for, else the newest (`None`: already newest).
fn choose<'a>(job: &Job, releases: &'a [Release]) -> Result<Option<&'a Release>, UpdateError> {
    let current = Version::current();
    match &job.version {
        Some(want) => releases
            .iter()
            .find(|r| &r.version == want)
            .map(Some)
            .ok_or_else(|| {
                let mut have: Vec<&Version> = releases.iter().map(|r| &r.version).collect();
                have.sort();
                let have: Vec<String> = have.iter().map(|v| v.to_string()).collect();
                UpdateError::Refused(format!(
                    "there is no release {want}; available: {}",
                    if have.is_empty() {
                        "none".into()
                    } else {
                        have.join(", ")
                    }
                ))
            }),
        None => Ok(feed::newest(releases, &current).filter(|r| r.version > current)),
    }
}

async fn sh(
    program: &str,
    args: &[&str],
    dir: &Path,
    env: &[(&str, &Path)],
    timeout: Duration,
) -> Result<std::process::Output, UpdateError> {
    let mut cmd = tokio::process::Command::new(program);
    minimal_env(&mut cmd);
    cmd.args(args)
        .current_dir(dir)
        .stdin(Stdio::null())
        .kill_on_drop(true);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let what = format!("{program} {}", args.join(" "));
    tokio::time::timeout(timeout, cmd.output())
        .await
        .map_err(|_| {
            UpdateError::Failed(format!(
                "`{what}` did not finish within {:.0} s",
                timeout.as_secs_f32()
            ))
        })?
        .map_err(|e| UpdateError::Failed(format!("cannot run `{what}`: {e}")))
}

fn tail(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(12)..].join("\n")
}

async fn git_ok(dir: &Path, args: &[&str], timeout: Duration) -> Result<String, UpdateError> {
    let all: Vec<&str> = GIT_SAFE
        .iter()
        .copied()
        .chain(args.iter().copied())
        .collect();
    let out = sh("git", &all, dir, &[], timeout).await?;
    if !out.status.success() {
        return Err(UpdateError::Failed(format!(
            "`git {}` failed: {}",
            args.join(" "),
            tail(&out.stderr)
        )));
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

/// Git checkout: fetch the tags, check out the tag, build into a separate target directory,
/// probe, swap; on failure the checkout goes back to where it was.
async fn git(job: &Job, tree: &Path) -> Result<Outcome, UpdateError> {
    let t = job.cfg.timeout;
    // A checkout is built from its remote's tags whatever `source` says; `url` names that remote
    // unless it is a feed's.
    let remote = match job.cfg.source {
        crate::config::UpdateSourceKind::Feed => None,
        _ => job.cfg.url.clone(),
    }
    .unwrap_or_else(|| "origin".to_owned());
    ensure_pristine(tree, t).await?;
    let releases = feed::fetch_tags(Some(tree), &remote, t).await?;
    let Some(target) = choose(job, &releases)? else {
        return Ok(Outcome::up_to_date(job));
    };
    let tag = target
        .tag
        .clone()
        .unwrap_or_else(|| format!("v{}", target.version));
    let pinned = target.commit.clone().ok_or_else(|| {
        UpdateError::Source(format!("{remote} did not say which commit {tag} is"))
    })?;
    let backed = pre_update_backup(job)?;
    git_ok(
        tree,
        &[
            "fetch",
            "--quiet",
            "--force",
            &remote,
            &format!("+refs/tags/{tag}:refs/tags/{tag}"),
        ],
        t,
    )
    .await?;
    // The tag may have moved since the remote was asked: build only the commit it named then.
    let fetched = git_ok(
        tree,
        &[
            "rev-parse",
            "--verify",
            &format!("refs/tags/{tag}^{{commit}}"),
        ],
        t,
    )
    .await?;
    if fetched != pinned {
        return Err(UpdateError::Refused(format!(
            "tag {tag} moved while updating (the remote listed {pinned}, the fetch brought \
             {fetched}); nothing was built"
        )));
    }
    let head = git_ok(tree, &["rev-parse", "HEAD"], t).await?;
    git_ok(tree, &["checkout", "--quiet", "--detach", &pinned], t).await?;
    let result = build_and_swap(job, tree, &target.version).await;
    if result.is_err() {
        // Back to what the running binary was built from; the error says what failed.
        let _ = git_ok(tree, &["checkout", "--quiet", "--detach", &head], t).await;
    }
    let previous = result?;
    let mut o = Outcome::new(
        Status::Updated,
        job,
        Some(target.version.to_string()),
        restart_hint(&target.version),
    );
    o.previous = Some(previous);
    o.config_copy = backed.kept.config_copy;
    o.config_backup = Some(backed.archive);
    Ok(o)
}

/// Refuses a work tree that holds anything but its commit: local edits (which a checkout would
/// carry over into the build), untracked or ignored files outside `target/` (a planted
/// `build.rs` or `.cargo/config.toml`), or a cargo config in a directory above it.
async fn ensure_pristine(tree: &Path, t: Duration) -> Result<(), UpdateError> {
    let status = git_ok(
        tree,
        &[
            "status",
            "--porcelain",
            "--ignored",
            "--untracked-files=all",
        ],
        t,
    )
    .await?;
    let stray: Vec<&str> = status
        .lines()
        .filter(|l| !l.get(3..).is_some_and(|p| p.starts_with("target/")))
        .take(5)
        .collect();
    if !stray.is_empty() {
        return Err(UpdateError::Refused(format!(
            "the work tree {} is not clean ({}); commit, stash or remove those files by hand \
             before updating: what is built must be exactly the release",
            tree.display(),
            stray.join("; ")
        )));
    }
    for dir in tree.ancestors().skip(1) {
        for name in ["config", "config.toml"] {
            let f = dir.join(".cargo").join(name);
            if f.exists() {
                return Err(UpdateError::Refused(format!(
                    "{} would configure the build and is not part of the release; remove it \
                     (or build by hand) before updating",
                    f.display()
                )));
            }
        }
    }
    Ok(())
}

async fn build_and_swap(job: &Job, tree: &Path, want: &Version) -> Result<PathBuf, UpdateError> {
    let target_dir = tree.join("target").join("self-update");
    let out = sh(
        "sh",
        &["-c", &job.cfg.build_command],
        tree,
        &[("CARGO_TARGET_DIR", &target_dir)],
        BUILD_TIMEOUT,
    )
    .await?;
    if !out.status.success() {
        return Err(UpdateError::Failed(format!(
            "the build (`{}`) failed ({}); the running version stays in place:\n{}",
            job.cfg.build_command,
            out.status,
            tail(&out.stderr)
        )));
    }
    let built = target_dir.join("release").join("proxmox-mcp");
    if !built.is_file() {
        return Err(UpdateError::Failed(format!(
            "the build succeeded but left no {}; the running version stays in place",
            built.display()
        )));
    }
    probe_and_swap(job, &built, want).await
}

async fn probe_and_swap(job: &Job, new: &Path, want: &Version) -> Result<PathBuf, UpdateError> {
    let staged = swap::stage(new, &job.bin)?;
    if let Err(e) = swap::probe_version(&staged, want, job.cfg.timeout).await {
        let _ = std::fs::remove_file(&staged);
        return Err(e);
    }
    swap::swap_in(&staged, &job.bin)
}

fn restart_hint(v: &Version) -> String {
    format!(
        "{v} is installed; the server still runs the old version until it is restarted: restart \
         the MCP client (or `systemctl restart mcp-http-bridge` for the HTTP bridge). \
         `proxmox-mcp rollback` restores the previous binary and config."
    )
}

/// The feed release to install from, with its metadata.
async fn feed_release(job: &Job) -> Result<Option<(Version, FeedRelease)>, UpdateError> {
    let url = match Source::resolve(&job.cfg, &InstallMethod::Unknown) {
        Source::Feed(url) => url,
        Source::Git { .. } => {
            return Err(UpdateError::Refused(
                "this install updates from a release feed, not git tags: set [update] source = \
                 \"feed\" (or auto)"
                    .into(),
            ));
        }
    };
    let releases = feed::fetch_feed(&url, job.cfg.timeout).await?;
    let Some(r) = choose(job, &releases)? else {
        return Ok(None);
    };
    let info = r.info.clone().ok_or_else(|| {
        UpdateError::Source(format!("{url} lists {} without its files", r.version))
    })?;
    Ok(Some((r.version.clone(), info)))
}

/// Downloads `asset` of `rel` and proves it: signed `SHA256SUMS` first, then its checksum.
async fn verified(job: &Job, rel: &FeedRelease, asset: &Asset) -> Result<Vec<u8>, UpdateError> {
    let pk = verify::release_pubkey(job.cfg.signing_pubkey.as_deref())?;
    let t = job.cfg.timeout;
    let sums_url = rel.sha256s_url.as_deref().ok_or_else(|| {
        UpdateError::Refused(format!(
            "release {} publishes no SHA256SUMS (sha256s_url); an unverified binary is never \
             installed",
            rel.version
        ))
    })?;
    let sig_url = rel.signature_url.as_deref().ok_or_else(|| {
        UpdateError::Refused(format!(
            "release {} publishes no signature of its SHA256SUMS (signature_url); an unsigned \
             release is never installed",
            rel.version
        ))
    })?;
    let sums = feed::download_at_most(sums_url, t, feed::MAX_SUMS).await?;
    let sig = feed::download_at_most(sig_url, t, feed::MAX_SIGNATURE)
        .await
        .map_err(|e| {
            UpdateError::Refused(format!(
                "the release's signature cannot be downloaded ({e}); nothing was installed"
            ))
        })?;
    verify::check_signature(&pk, &sums, &String::from_utf8_lossy(&sig))?;
    let data = feed::download(&asset.url, t).await?;
    verify::check_sha256(
        &data,
        &asset.name,
        &String::from_utf8_lossy(&sums),
        asset.sha256.as_deref(),
    )?;
    Ok(data)
}

/// The release binary's file name for `version` on this machine: `proxmox-mcp-<version>-<arch>`.
pub fn binary_name(version: &Version) -> String {
    format!("proxmox-mcp-{version}-{}", std::env::consts::ARCH)
}

/// This machine's release binary of `version` among `assets`, by its exact name.
fn binary_asset<'a>(assets: &'a [Asset], version: &Version) -> Option<&'a Asset> {
    let name = binary_name(version);
    assets.iter().find(|a| a.name == name)
}

/// The Debian architecture of this machine.
fn deb_arch() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        a => a,
    }
}

/// The package file names of `version` (cargo-deb's, with or without the `-1` revision).
fn deb_names(version: &Version) -> [String; 2] {
    let v = version.to_string().replace('-', "~");
    let arch = deb_arch();
    [
        format!("proxmox-mcp_{v}-1_{arch}.deb"),
        format!("proxmox-mcp_{v}_{arch}.deb"),
    ]
}

/// Whether a package's `Version` field is `want` (revision dropped, `~` read as `-`).
fn deb_version_is(field: &str, want: &Version) -> bool {
    let field = field.trim();
    let upstream = match field.rsplit_once('-') {
        Some((u, rev)) if !rev.is_empty() && rev.bytes().all(|b| b.is_ascii_digit()) => u,
        _ => field,
    };
    upstream
        .replace('~', "-")
        .parse::<Version>()
        .is_ok_and(|v| &v == want)
}

/// Release binary: download, verify, probe, swap.
async fn release_binary(job: &Job) -> Result<Outcome, UpdateError> {
    let Some((version, rel)) = feed_release(job).await? else {
        return Ok(Outcome::up_to_date(job));
    };
    let asset = binary_asset(&rel.assets, &version).ok_or_else(|| {
        UpdateError::Refused(format!(
            "release {version} has no {} (assets: {})",
            binary_name(&version),
            rel.assets
                .iter()
                .map(|a| a.name.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ))
    })?;
    let data = verified(job, &rel, asset).await?;
    let dir = job.bin.parent().unwrap_or(Path::new("."));
    let download = dir.join(".proxmox-mcp.download");
    swap::write_new(&download, &data)?;
    let result = match pre_update_backup(job) {
        Ok(backed) => probe_and_swap(job, &download, &version)
            .await
            .map(|previous| (previous, backed)),
        Err(e) => Err(e),
    };
    let _ = std::fs::remove_file(&download);
    let (previous, backed) = result?;
    let mut o = Outcome::new(
        Status::Updated,
        job,
        Some(version.to_string()),
        restart_hint(&version),
    );
    o.previous = Some(previous);
    o.config_copy = swap::Kept::config_copy_of(&job.state_dir);
    o.config_backup = Some(backed.archive);
    Ok(o)
}

/// Debian package: say the apt command, or install the verified package when configured to.
async fn deb(job: &Job) -> Result<Outcome, UpdateError> {
    if !job.cfg.dpkg_install {
        return Ok(Outcome::new(
            Status::Instructions,
            job,
            None,
            format!(
                "a Debian package never replaces itself: run `{APT_COMMAND}` (or set [update] \
                 dpkg_install = true to install the verified package with dpkg -i)"
            ),
        ));
    }
    let Some((version, rel)) = feed_release(job).await? else {
        return Ok(Outcome::up_to_date(job));
    };
    let names = deb_names(&version);
    let asset = rel
        .assets
        .iter()
        .find(|a| names.contains(&a.name))
        .ok_or_else(|| UpdateError::Refused(format!("release {version} has no {}", names[0])))?;
    let data = verified(job, &rel, asset).await?;
    let backed = pre_update_backup(job)?;
    let dir = job.state_dir.join("update");
    std::fs::create_dir_all(&dir)
        .map_err(|e| UpdateError::Failed(format!("cannot create {}: {e}", dir.display())))?;
    let file = dir.join(&asset.name);
    std::fs::write(&file, &data)
        .map_err(|e| UpdateError::Failed(format!("cannot write {}: {e}", file.display())))?;
    let path = file.display().to_string();
    let field = sh(
        "dpkg-deb",
        &["-f", &path, "Version"],
        &dir,
        &[],
        job.cfg.timeout,
    )
    .await?;
    let field = String::from_utf8_lossy(&field.stdout).trim().to_owned();
    if !deb_version_is(&field, &version) {
        let _ = std::fs::remove_file(&file);
        return Err(UpdateError::Refused(format!(
            "{} is version {field:?}, not the release's {version}; nothing was installed",
            asset.name
        )));
    }
    let out = sh("dpkg", &["-i", &path], &dir, &[], BUILD_TIMEOUT).await?;
    if !out.status.success() {
        return Err(UpdateError::Failed(format!(
            "`dpkg -i {path}` failed: {}",
            tail(&out.stderr)
        )));
    }
    let mut o = Outcome::new(
        Status::Updated,
        job,
        Some(version.to_string()),
        restart_hint(&version),
    );
    o.config_copy = backed.kept.config_copy;
    o.config_backup = Some(backed.archive);
    Ok(o)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job(method: InstallMethod) -> Job {
        let tmp = std::env::temp_dir();
        Job {
            cfg: UpdateConfig::default(),
            method,
            bin: tmp.join("proxmox-mcp-test-never-written"),
            config_file: None,
            state_dir: tmp,
            version: None,
            downgrade: false,
        }
    }

    #[cfg(feature = "self-update")]
    #[tokio::test]
    async fn packages_and_containers_say_the_command() {
        let o = run(&job(InstallMethod::Container)).await.unwrap();
        assert!(matches!(o.status, Status::Instructions));
        assert!(o.next_step.contains(CONTAINER_COMMAND), "{}", o.next_step);
        let o = run(&job(InstallMethod::Deb)).await.unwrap();
        assert!(matches!(o.status, Status::Instructions));
        assert!(o.next_step.contains(APT_COMMAND), "{}", o.next_step);
        assert!(o.previous.is_none() && o.config_copy.is_none());
    }

    #[cfg(not(feature = "self-update"))]
    #[tokio::test]
    async fn a_package_build_never_updates_itself() {
        let o = run(&job(InstallMethod::Unknown)).await.unwrap();
        assert!(matches!(o.status, Status::Instructions));
        assert!(
            o.next_step.contains("disabled in this build"),
            "{}",
            o.next_step
        );
    }

    #[test]
    fn the_version_must_be_named_and_a_downgrade_asked_for() {
        let e = check_target(None, false).unwrap_err();
        assert!(e.to_string().contains("check_updates"), "{e}");
        let older: Version = "0.0.1".parse().unwrap();
        let e = check_target(Some(&older), false).unwrap_err();
        assert!(e.to_string().contains("downgrade: true"), "{e}");
        assert!(check_target(Some(&older), true).is_ok());
        let e = check_target(Some(&Version::current()), false).unwrap_err();
        assert!(e.to_string().contains("not newer"), "{e}");
        let newer: Version = "999.0.0".parse().unwrap();
        assert!(check_target(Some(&newer), false).is_ok());
    }

    #[cfg(feature = "self-update")]
    #[tokio::test]
    async fn an_unnamed_version_installs_nothing() {
        let e = run(&job(InstallMethod::Unknown)).await.unwrap_err();
        assert!(e.to_string().contains("check_updates"), "{e}");
    }

    #[test]
    fn assets_match_by_exact_name() {
        let v: Version = "1.2.0".parse().unwrap();
        let other: Version = "1.1.0".parse().unwrap();
        let arch = std::env::consts::ARCH;
        let asset = |name: String| Asset {
            name,
            url: "u".into(),
            sha256: None,
        };
        let assets = vec![
            asset(format!("proxmox-mcp-evil-{arch}")),
            asset(format!("proxmox-mcp-{arch}-linux")),
            asset(binary_name(&other)),
        ];
        assert!(binary_asset(&assets, &v).is_none());
        let mut with = assets.clone();
        with.push(asset(format!("proxmox-mcp-1.2.0-{arch}")));
        assert_eq!(
            binary_asset(&with, &v).unwrap().name,
            format!("proxmox-mcp-1.2.0-{arch}")
        );
        let rc: Version = "1.3.0-rc.1".parse().unwrap();
        assert_eq!(
            deb_names(&rc)[0],
            format!("proxmox-mcp_1.3.0~rc.1-1_{}.deb", deb_arch())
        );
    }

    #[test]
    fn a_package_must_carry_the_release_version() {
        let v: Version = "1.2.0".parse().unwrap();
        assert!(deb_version_is("1.2.0-1\n", &v));
        assert!(deb_version_is("1.2.0", &v));
        assert!(!deb_version_is("1.1.0-1", &v));
        assert!(!deb_version_is("", &v));
        let rc: Version = "1.3.0-rc.1".parse().unwrap();
        assert!(deb_version_is("1.3.0~rc.1-1", &rc));
        assert!(!deb_version_is("1.3.0-1", &rc));
    }

    fn git_tree(root: &Path) -> PathBuf {
        let tree = root.join("tree");
        std::fs::create_dir_all(&tree).unwrap();
        let g = |args: &[&str]| {
            let out = std::process::Command::new("git")
                .args(["-c", "user.name=t", "-c", "user.email=t@example.invalid"])
                .arg("-C")
                .arg(&tree)
                .args(args)
                .output()
                .unwrap();
            assert!(out.status.success(), "{out:?}");
        };
        g(&["init", "-q"]);
        std::fs::write(tree.join(".gitignore"), "target/\n*.log\n").unwrap();
        std::fs::write(tree.join("build.rs"), "fn main() {}\n").unwrap();
        g(&["add", "."]);
        g(&["commit", "-q", "-m", "one"]);
        std::fs::create_dir_all(tree.join("target/release")).unwrap();
        std::fs::write(tree.join("target/release/proxmox-mcp"), "bin").unwrap();
        tree
    }

    #[tokio::test]
    async fn only_a_pristine_tree_is_built() {
        let tmp = tempfile::tempdir().unwrap();
        let tree = git_tree(tmp.path());
        let t = Duration::from_secs(10);
        ensure_pristine(&tree, t).await.unwrap();

        // A local edit would be carried over by the checkout.
        std::fs::write(tree.join("build.rs"), "fn main() { evil() }\n").unwrap();
        let e = ensure_pristine(&tree, t).await.unwrap_err();
        assert!(e.to_string().contains("not clean"), "{e}");
        std::fs::write(tree.join("build.rs"), "fn main() {}\n").unwrap();

        // Untracked and ignored files outside target/ alike.
        for planted in [".cargo/config.toml", "debug.log"] {
            let f = tree.join(planted);
            std::fs::create_dir_all(f.parent().unwrap()).unwrap();
            std::fs::write(&f, "[build]\nrustc-wrapper = \"/tmp/x\"\n").unwrap();
            let e = ensure_pristine(&tree, t).await.unwrap_err();
            assert!(e.to_string().contains(planted), "{e}");
            std::fs::remove_file(&f).unwrap();
        }
        ensure_pristine(&tree, t).await.unwrap();

        // A cargo config above the tree configures the build too.
        let above = tmp.path().join(".cargo/config.toml");
        std::fs::create_dir_all(above.parent().unwrap()).unwrap();
        std::fs::write(&above, "").unwrap();
        let e = ensure_pristine(&tree, t).await.unwrap_err();
        assert!(e.to_string().contains(".cargo"), "{e}");
    }

    #[tokio::test]
    async fn subprocesses_get_a_minimal_environment() {
        // HOME is passed on; whatever else the server holds (credentials) is not.
        let out = sh(
            "sh",
            &["-c", "env"],
            Path::new("/"),
            &[],
            Duration::from_secs(10),
        )
        .await
        .unwrap();
        let env = String::from_utf8_lossy(&out.stdout);
        let mut names: Vec<&str> = env
            .lines()
            .filter_map(|l| l.split_once('='))
            .map(|(k, _)| k)
            .collect();
        names.sort();
        let allowed = [
            "CARGO_HOME",
            "GIT_TERMINAL_PROMPT",
            "HOME",
            "LANG",
            "PATH",
            "PROXMOX_MCP_TOOL_CALL",
            "PWD",
            "RUSTUP_HOME",
            "SHLVL",
            "_",
        ];
        assert!(names.iter().all(|n| allowed.contains(n)), "{names:?}");
        assert!(env.contains("PROXMOX_MCP_TOOL_CALL=1"), "{env}");
    }

    #[tokio::test]
    async fn a_bad_release_key_is_refused_before_any_download() {
        let r = FeedRelease {
            version: "9.9.9".into(),
            published: None,
            notes: None,
            assets: Vec::new(),
            // The discard port: a download would fail with a connection error instead.
            sha256s_url: Some("http://127.0.0.1:9/SHA256SUMS".into()),
            signature_url: Some("http://127.0.0.1:9/SHA256SUMS.minisig".into()),
        };
        let asset = Asset {
            name: "proxmox-mcp".into(),
            url: "http://127.0.0.1:9/a".into(),
            sha256: None,
        };
        let mut j = job(InstallMethod::Unknown);
        j.cfg.signing_pubkey = Some("not a key".into());
        let e = verified(&j, &r, &asset).await.unwrap_err();
        assert!(e.to_string().contains("not a minisign public key"), "{e}");
    }
}
