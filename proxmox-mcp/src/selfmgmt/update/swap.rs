//! Replacing the running binary and undoing it: a new binary is staged beside the old one,
//! must answer `--version` with the version it claims, and is renamed over the old one
//! (atomic); the old one stays as `<bin>.previous`, the config file as
//! `<bin>.previous.config`, and `<bin>.previous.json` says where that config belongs.

use std::fs;
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::UpdateError;
use crate::selfmgmt::version::Version;

fn with_suffix(bin: &Path, suffix: &str) -> PathBuf {
    let mut s = bin.as_os_str().to_owned();
    s.push(suffix);
    PathBuf::from(s)
}

/// The binary kept by the last update.
pub fn previous_path(bin: &Path) -> PathBuf {
    with_suffix(bin, ".previous")
}

/// The copy of the config file taken before the last update.
pub fn config_copy_path(bin: &Path) -> PathBuf {
    with_suffix(bin, ".previous.config")
}

fn manifest_path(bin: &Path) -> PathBuf {
    with_suffix(bin, ".previous.json")
}

/// What the last update kept, for `rollback`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Kept {
    /// The version that was replaced.
    pub version: String,
    /// The config file that was copied, and where to.
    pub config: Option<PathBuf>,
    pub config_copy: Option<PathBuf>,
}

impl Kept {
    /// The config copy kept beside `bin`, if there is one.
    pub fn config_copy_of(bin: &Path) -> Option<PathBuf> {
        Some(config_copy_path(bin)).filter(|p| p.is_file())
    }
}

fn io(what: &str, path: &Path) -> impl Fn(std::io::Error) -> UpdateError {
    let msg = format!("{what} {}", path.display());
    move |e| UpdateError::Failed(format!("{msg}: {e}; the running version stays in place"))
}

/// Copies `config` (if there is one) beside the binary and records what was kept.
pub fn keep_config(bin: &Path, config: Option<&Path>) -> Result<Kept, UpdateError> {
    let copy = config_copy_path(bin);
    let kept = match config.filter(|c| c.is_file()) {
        Some(c) => {
            fs::copy(c, &copy).map_err(io("cannot copy the config file to", &copy))?;
            fs::set_permissions(&copy, fs::Permissions::from_mode(0o600))
                .map_err(io("cannot restrict", &copy))?;
            Kept {
                version: super::super::version::CURRENT.to_owned(),
                config: Some(c.to_path_buf()),
                config_copy: Some(copy),
            }
        }
        None => Kept {
            version: super::super::version::CURRENT.to_owned(),
            config: None,
            config_copy: None,
        },
    };
    let body = serde_json::to_vec_pretty(&kept).map_err(|e| UpdateError::Failed(e.to_string()))?;
    let manifest = manifest_path(bin);
    fs::write(&manifest, body).map_err(io("cannot write", &manifest))?;
    Ok(kept)
}

/// Stages `new` beside `bin` as `<bin>.new` (mode 0755) and returns its path.
pub fn stage(new: &Path, bin: &Path) -> Result<PathBuf, UpdateError> {
    let staged = with_suffix(bin, ".new");
    let _ = fs::remove_file(&staged);
    fs::copy(new, &staged).map_err(io("cannot stage the new binary as", &staged))?;
    fs::set_permissions(&staged, fs::Permissions::from_mode(0o755))
        .map_err(io("cannot make executable", &staged))?;
    fs::File::open(&staged)
        .and_then(|f| f.sync_all())
        .map_err(io("cannot sync", &staged))?;
    Ok(staged)
}

/// Runs `bin --version`: it must exit 0 within `timeout` and name `want`.
pub async fn probe_version(
    bin: &Path,
    want: &Version,
    timeout: Duration,
) -> Result<String, UpdateError> {
    let mut cmd = tokio::process::Command::new(bin);
    super::install::minimal_env(&mut cmd);
    let run = cmd
        .arg("--version")
        .stdin(std::process::Stdio::null())
        .kill_on_drop(true)
        .output();
    let out = tokio::time::timeout(timeout, run)
        .await
        .map_err(|_| {
            UpdateError::Failed(format!(
                "the new binary's --version did not finish within {:.0} s; the running version \
                 stays in place",
                timeout.as_secs_f32()
            ))
        })?
        .map_err(|e| {
            UpdateError::Failed(format!(
                "the new binary cannot be run ({e}); the running version stays in place"
            ))
        })?;
    let text = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    if !out.status.success() {
        return Err(UpdateError::Failed(format!(
            "the new binary's --version failed ({}): {}; the running version stays in place",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    let reported = text
        .split_whitespace()
        .find_map(|w| w.parse::<Version>().ok());
    if reported.as_ref() != Some(want) {
        return Err(UpdateError::Failed(format!(
            "the new binary reports {text:?}, not version {want}; the running version stays in \
             place"
        )));
    }
    Ok(text)
}

/// Swaps the staged binary in: the current one is kept as `<bin>.previous` (a hard link, else
/// a copy), then the staged one is renamed over it.
pub fn swap_in(staged: &Path, bin: &Path) -> Result<PathBuf, UpdateError> {
    let previous = previous_path(bin);
    let _ = fs::remove_file(&previous);
    if fs::hard_link(bin, &previous).is_err() {
        fs::copy(bin, &previous).map_err(io("cannot keep the current binary as", &previous))?;
    }
    fs::rename(staged, bin).map_err(io("cannot move the new binary to", bin))?;
    if let Some(dir) = bin.parent() {
        let _ = fs::File::open(dir).and_then(|d| d.sync_all());
    }
    Ok(previous)
}

/// What `rollback` restored.
#[derive(Debug, Clone, Serialize)]
pub struct RolledBack {
    pub binary: PathBuf,
    pub version: Option<String>,
    pub config: Option<PathBuf>,
}

/// Puts `<bin>.previous` back in place of `bin`, and the config copy back where it came from.
pub fn rollback(bin: &Path) -> Result<RolledBack, UpdateError> {
    let previous = previous_path(bin);
    if !previous.is_file() {
        return Err(UpdateError::Refused(format!(
            "there is nothing to roll back to: {} does not exist (self_update keeps the \
             replaced binary there)",
            previous.display()
        )));
    }
    let kept: Option<Kept> = fs::read(manifest_path(bin))
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok());
    let restore_config = kept
        .as_ref()
        .and_then(|k| Some((k.config.clone()?, k.config_copy.clone()?)))
        .filter(|(_, copy)| copy.is_file());
    if let Some((dest, copy)) = &restore_config {
        let tmp = with_suffix(dest, ".rollback");
        fs::copy(copy, &tmp).map_err(io("cannot restore the config file to", &tmp))?;
        fs::rename(&tmp, dest).map_err(io("cannot restore the config file to", dest))?;
    }
    fs::rename(&previous, bin).map_err(io("cannot restore the previous binary to", bin))?;
    let _ = fs::remove_file(manifest_path(bin));
    let _ = fs::remove_file(config_copy_path(bin));
    Ok(RolledBack {
        binary: bin.to_path_buf(),
        version: kept.map(|k| k.version),
        config: restore_config.map(|(d, _)| d),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn swap_keeps_previous_and_rollback_restores_both() {
        let dir = tempfile::tempdir().unwrap();
        let bin = dir.path().join("proxmox-mcp");
        let cfg = dir.path().join("config.toml");
        fs::write(&bin, "old").unwrap();
        fs::write(&cfg, "a = 1").unwrap();
        let new = dir.path().join("built");
        fs::write(&new, "new").unwrap();

        assert!(
            rollback(&bin)
                .unwrap_err()
                .to_string()
                .contains("nothing to roll back")
        );
        keep_config(&bin, Some(&cfg)).unwrap();
        let staged = stage(&new, &bin).unwrap();
        swap_in(&staged, &bin).unwrap();
        assert_eq!(fs::read_to_string(&bin).unwrap(), "new");
        assert_eq!(fs::read_to_string(previous_path(&bin)).unwrap(), "old");

        fs::write(&cfg, "a = 2").unwrap();
        let r = rollback(&bin).unwrap();
        assert_eq!(r.config.as_deref(), Some(cfg.as_path()));
        assert_eq!(fs::read_to_string(&bin).unwrap(), "old");
        assert_eq!(fs::read_to_string(&cfg).unwrap(), "a = 1");
        assert!(
            rollback(&bin).is_err(),
            "a second rollback has nothing left"
        );
    }

    #[tokio::test]
    async fn probe_wants_the_claimed_version() {
        let dir = tempfile::tempdir().unwrap();
        let script = |name: &str, body: &str| {
            let p = dir.path().join(name);
            fs::write(&p, format!("#!/bin/sh\n{body}\n")).unwrap();
            fs::set_permissions(&p, fs::Permissions::from_mode(0o755)).unwrap();
            p
        };
        let want: Version = "0.2.0".parse().unwrap();
        let t = Duration::from_secs(5);
        let good = script("good", "echo 'proxmox-mcp 0.2.0'");
        assert_eq!(
            probe_version(&good, &want, t).await.unwrap(),
            "proxmox-mcp 0.2.0"
        );
        let fails = script("fails", "echo broken >&2; exit 3");
        assert!(
            probe_version(&fails, &want, t)
                .await
                .unwrap_err()
                .to_string()
                .contains("--version failed")
        );
        let other = script("other", "echo 'proxmox-mcp 0.1.9'");
        assert!(probe_version(&other, &want, t).await.is_err());
        let slow = script("slow", "sleep 5");
        let e = probe_version(&slow, &want, Duration::from_millis(200))
            .await
            .unwrap_err();
        assert!(e.to_string().contains("did not finish"), "{e}");
    }
}
