//! `[update]` with the `PROXMOX_MCP_UPDATE_*` variables on top.

use std::time::Duration;

use super::ConfigError;
use crate::config::env::{self, EnvVars};
use crate::config::file::FileUpdate;
use crate::config::types::{UpdateConfig, UpdateSourceKind};

const SOURCE: &str = "`auto`, `feed` or `git`";
const TIMEOUT: &str = "a number of seconds from 1 to 600";
const FLAG: &str = "1/true/yes/on or 0/false/no/off";
const TEXT: &str = "a non-empty value";

fn kind(v: &str) -> Option<UpdateSourceKind> {
    match v.trim().to_ascii_lowercase().as_str() {
        "auto" => Some(UpdateSourceKind::Auto),
        "feed" => Some(UpdateSourceKind::Feed),
        "git" => Some(UpdateSourceKind::Git),
        _ => None,
    }
}

fn file_bad(key: &'static str, value: String, expected: &'static str) -> ConfigError {
    ConfigError::BadValue {
        cluster: None,
        key,
        value,
        expected,
    }
}

fn env_bad(var: &'static str, value: &str, expected: &'static str) -> ConfigError {
    ConfigError::BadEnvValue {
        var,
        value: value.to_owned(),
        expected,
    }
}

/// A non-empty text from the file, then the environment.
fn text(
    file: Option<String>,
    key: &'static str,
    env: &EnvVars,
    var: &'static str,
) -> Result<Option<String>, ConfigError> {
    if let Some(v) = env.get(var) {
        return Ok(Some(v.to_owned()));
    }
    match file.map(|v| v.trim().to_owned()) {
        Some(v) if v.is_empty() => Err(file_bad(key, "\"\"".into(), TEXT)),
        v => Ok(v),
    }
}

pub(super) fn resolve(file: FileUpdate, env: &EnvVars) -> Result<UpdateConfig, ConfigError> {
    let mut u = UpdateConfig::default();
    if let Some(v) = &file.source {
        u.source = kind(v).ok_or_else(|| file_bad("update.source", format!("{v:?}"), SOURCE))?;
    }
    if let Some(v) = env.get(env::PROXMOX_MCP_UPDATE_SOURCE) {
        u.source = kind(v).ok_or_else(|| env_bad(env::PROXMOX_MCP_UPDATE_SOURCE, v, SOURCE))?;
    }
    u.url = text(file.url, "update.url", env, env::PROXMOX_MCP_UPDATE_URL)?;
    u.signing_pubkey = text(
        file.signing_pubkey,
        "update.signing_pubkey",
        env,
        env::PROXMOX_MCP_UPDATE_PUBKEY,
    )?;
    if let Some(b) = text(
        file.build_command,
        "update.build_command",
        env,
        env::PROXMOX_MCP_UPDATE_BUILD_COMMAND,
    )? {
        u.build_command = b;
    }
    let ok_secs = |s: u64| (1..=600).contains(&s);
    if let Some(s) = file.timeout_secs {
        if !ok_secs(s) {
            return Err(file_bad("update.timeout_secs", s.to_string(), TIMEOUT));
        }
        u.timeout = Duration::from_secs(s);
    }
    if let Some(v) = env.get(env::PROXMOX_MCP_UPDATE_TIMEOUT_SECS) {
        let s = v
            .parse::<u64>()
            .ok()
            .filter(|s| ok_secs(*s))
            .ok_or_else(|| env_bad(env::PROXMOX_MCP_UPDATE_TIMEOUT_SECS, v, TIMEOUT))?;
        u.timeout = Duration::from_secs(s);
    }
    if let Some(b) = file.dpkg_install {
        u.dpkg_install = b;
    }
    if let Some(b) = env
        .flag(env::PROXMOX_MCP_UPDATE_DPKG_INSTALL)
        .map_err(|v| env_bad(env::PROXMOX_MCP_UPDATE_DPKG_INSTALL, &v, FLAG))?
    {
        u.dpkg_install = b;
    }
    Ok(u)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_then_env() {
        let file = FileUpdate {
            source: Some("git".into()),
            url: Some("https://mirror.example/releases.json".into()),
            timeout_secs: Some(5),
            ..FileUpdate::default()
        };
        let env = EnvVars::from_pairs([
            (env::PROXMOX_MCP_UPDATE_SOURCE, "feed"),
            (env::PROXMOX_MCP_UPDATE_DPKG_INSTALL, "yes"),
        ]);
        let u = resolve(file, &env).unwrap();
        assert_eq!(u.source, UpdateSourceKind::Feed);
        assert_eq!(
            u.url.as_deref(),
            Some("https://mirror.example/releases.json")
        );
        assert_eq!(u.timeout, Duration::from_secs(5));
        assert!(u.dpkg_install);
        assert_eq!(u.build_command, UpdateConfig::DEFAULT_BUILD);
    }

    #[test]
    fn bad_values_are_named() {
        let file = FileUpdate {
            source: Some("ftp".into()),
            ..FileUpdate::default()
        };
        let e = resolve(file, &EnvVars::default()).unwrap_err().to_string();
        assert!(e.contains("update.source"), "{e}");
        let env = EnvVars::from_pairs([(env::PROXMOX_MCP_UPDATE_TIMEOUT_SECS, "0")]);
        let e = resolve(FileUpdate::default(), &env)
            .unwrap_err()
            .to_string();
        assert!(e.contains(env::PROXMOX_MCP_UPDATE_TIMEOUT_SECS), "{e}");
    }
}
