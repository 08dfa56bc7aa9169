//! The configuration IO: the well-known paths, finding and reading the file, secret files, the
//! OS keyring, and the process environment. All of it feeds the pure [`resolve`].

use std::path::{Path, PathBuf};

use super::env::{self, EnvVars};
use super::resolve::{
    ConfigError, FileConfig, SecretSource, parse_file, resolve, resolve_with_warnings,
};
use super::secret::Secret;
use super::types::Config;

// Paths the HTTP bridge needs too live in the shared contract crate.
pub use proxmox_mcp_contract::paths::{
    CONFIG_FILE_NAME, SYSTEM_CONFIG_DIR, SYSTEM_CONFIG_FILE, SYSTEM_STATE_DIR, config_candidates,
    user_config_file, user_state_dir,
};

/// The PVE API schema of pve-docs, the default `api_schema` where it exists (on a PVE node).
pub const PVE_API_SCHEMA: &str = "/usr/share/pve-docs/api-viewer/apidata.js";
/// Where the host name is read, first found wins (the local executor's default `local_node`).
pub const HOST_NAME_FILES: [&str; 2] = ["/proc/sys/kernel/hostname", "/etc/hostname"];
/// The OS keyring service under which secrets are stored; the keyring "user" is the cluster name.
pub const KEYRING_SERVICE: &str = "proxmox-mcp";

/// What the caller (the CLI) can override.
#[derive(Debug, Clone, Default)]
pub struct LoadOptions {
    /// `--config`: read this file (it must exist) instead of looking for one.
    pub config_path: Option<PathBuf>,
    /// `--state-dir`: beats `PROXMOX_MCP_STATE_DIR` and the file.
    pub state_dir: Option<PathBuf>,
}

/// Read the configuration once: find and parse the file, snapshot the environment, read secret
/// files and the keyring, and [`resolve`] it all. Warnings go to `tracing`.
pub fn load(opts: &LoadOptions) -> Result<Config, ConfigError> {
    load_with(opts, &EnvVars::from_process(), &SystemSecrets)
}

/// [`load`] with the environment and secret source given, for tests.
pub fn load_with(
    opts: &LoadOptions,
    env: &EnvVars,
    secrets: &dyn SecretSource,
) -> Result<Config, ConfigError> {
    resolve(read_config_file(opts, env)?, env, secrets, opts)
}

/// [`load`], returning the warnings instead of logging them (for `config check`).
pub fn load_with_warnings(opts: &LoadOptions) -> Result<(Config, Vec<String>), ConfigError> {
    let env = EnvVars::from_process();
    resolve_with_warnings(read_config_file(opts, &env)?, &env, &SystemSecrets, opts)
}

fn read_config_file(
    opts: &LoadOptions,
    env: &EnvVars,
) -> Result<Option<(PathBuf, FileConfig)>, ConfigError> {
    let Some(path) = find_config(opts, env) else {
        return Ok(None);
    };
    let text = std::fs::read_to_string(&path).map_err(|source| ConfigError::Read {
        path: path.clone(),
        source,
    })?;
    let parsed = parse_file(&path, &text)?;
    Ok(Some((path, parsed)))
}

/// Which file would be used: `PROXMOX_MCP_CONFIG` if set (whether or not it exists), else the
/// first of [`config_candidates`] that exists. `--config` beats all of this in [`load`].
pub fn default_config_path() -> Option<PathBuf> {
    find_config(&LoadOptions::default(), &EnvVars::from_process())
}

fn find_config(opts: &LoadOptions, env: &EnvVars) -> Option<PathBuf> {
    opts.config_path
        .clone()
        .or_else(|| env.get(env::PROXMOX_MCP_CONFIG).map(PathBuf::from))
        .or_else(|| config_candidates().into_iter().find(|p| p.is_file()))
}

/// Secret files on disk and the OS keyring (keyring 3, Linux kernel keyutils).
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemSecrets;

impl SecretSource for SystemSecrets {
    fn read_file(&self, path: &Path) -> Result<Secret, ConfigError> {
        read_secret_file(path)
    }

    fn read_keyring(&self, account: &str) -> Result<Option<Secret>, ConfigError> {
        let got = keyring::Entry::new(KEYRING_SERVICE, account).and_then(|e| e.get_password());
        match got {
            Ok(secret) => Ok(Some(Secret::new(secret))),
            Err(keyring::Error::NoEntry) => Ok(None),
            Err(source) => Err(ConfigError::Keyring {
                account: account.to_owned(),
                source,
            }),
        }
    }

    fn check_private_file(&self, what: &'static str, path: &Path) -> Result<(), ConfigError> {
        check_owner_only(what, path)
    }

    fn is_file(&self, path: &Path) -> bool {
        path.is_file()
    }

    fn host_name(&self) -> Option<String> {
        HOST_NAME_FILES
            .iter()
            .find_map(|f| std::fs::read_to_string(f).ok())
    }
}

/// Read a secret file that only its owner may read (mode 0600 or 0400; any group or other bit
/// is refused), without trailing whitespace (`echo secret > file` leaves a newline).
pub fn read_secret_file(path: &Path) -> Result<Secret, ConfigError> {
    const WHAT: &str = "secret file";
    check_owner_only(WHAT, path)?;
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::SecretFileRead {
        what: WHAT,
        path: path.to_owned(),
        source,
    })?;
    let secret = text.trim_end();
    if secret.is_empty() {
        return Err(ConfigError::EmptySecret {
            origin: format!("secret file {}", path.display()),
        });
    }
    Ok(Secret::new(secret))
}

/// Check that `path` (a `what`, e.g. "ssh key file") exists and only its owner may read it:
/// mode 0600 or 0400, any group or other bit is refused (on Unix; elsewhere only existence).
pub fn check_owner_only(what: &'static str, path: &Path) -> Result<(), ConfigError> {
    let metadata = std::fs::metadata(path).map_err(|source| ConfigError::SecretFileRead {
        what,
        path: path.to_owned(),
        source,
    })?;
    if !metadata.is_file() {
        return Err(ConfigError::SecretFileRead {
            what,
            path: path.to_owned(),
            source: std::io::Error::new(std::io::ErrorKind::InvalidInput, "not a regular file"),
        });
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = metadata.permissions().mode() & 0o7777;
        if mode & 0o077 != 0 {
            return Err(ConfigError::SecretFileMode {
                what,
                path: path.to_owned(),
                mode,
            });
        }
    }
    Ok(())
}

/// Store `secret` in the OS keyring for `cluster` (service [`KEYRING_SERVICE`], user = the
/// cluster name), where `token_secret_keyring = true` / `password_keyring = true` find it.
///
/// With the Linux kernel keyring (keyutils) the entry lives in memory and does not survive a
/// reboot; a secret file is the durable choice for services.
pub fn store_secret_in_keyring(cluster: &str, secret: &Secret) -> Result<(), ConfigError> {
    if secret.expose().trim().is_empty() {
        return Err(ConfigError::EmptySecret {
            origin: format!("secret for cluster `{cluster}`"),
        });
    }
    keyring::Entry::new(KEYRING_SERVICE, cluster)
        .and_then(|e| e.set_password(secret.expose()))
        .map_err(|source| ConfigError::Keyring {
            account: cluster.to_owned(),
            source,
        })
}

#[cfg(all(test, unix))]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    fn secret_file(dir: &Path, content: &str, mode: u32) -> PathBuf {
        let path = dir.join("s.secret");
        std::fs::write(&path, content).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
        path
    }

    #[test]
    fn secret_file_modes() {
        let dir = tempfile::tempdir().unwrap();
        for (mode, content, expect) in [
            (0o600, "abc\n", Ok("abc")),
            (0o400, "abc", Ok("abc")),
            (
                0o644,
                "abc",
                Err("has mode 0644, so other users may read it: run `chmod 600 "),
            ),
            (0o640, "abc", Err("chmod 600")),
            (0o600, " \n", Err("is empty")),
        ] {
            let path = secret_file(dir.path(), content, mode);
            let got = read_secret_file(&path);
            match (got, expect) {
                (Ok(s), Ok(want)) => assert_eq!(s.expose(), want, "mode {mode:o}"),
                (Err(e), Err(want)) => assert!(e.to_string().contains(want), "mode {mode:o}: {e}"),
                (got, want) => panic!("mode {mode:o}: got {got:?}, want {want:?}"),
            }
            std::fs::remove_file(&path).unwrap();
        }
    }

    #[test]
    fn load_reads_the_given_file_and_env() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.toml");
        secret_file(dir.path(), "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee\n", 0o600);
        std::fs::write(
            &path,
            "[[cluster]]\nname = \"lab\"\nurl = \"https://lab:8006\"\ntoken_id = \"a@pve!b\"\ntoken_secret_file = \"s.secret\"\n",
        )
        .unwrap();
        let env = EnvVars::from_pairs([(env::PROXMOX_MCP_STATE_DIR, "/tmp/st")]);
        let opts = LoadOptions {
            config_path: Some(path.clone()),
            state_dir: None,
        };
        let config = load_with(&opts, &env, &SystemSecrets).unwrap();
        assert_eq!(config.source.as_deref(), Some(path.as_path()));
        assert_eq!(config.state_dir, PathBuf::from("/tmp/st"));
        let lab = config.cluster(None).unwrap();
        assert_eq!(
            (lab.name.as_str(), lab.url.as_str()),
            ("lab", "https://lab:8006")
        );
        assert!(
            matches!(&lab.auth, super::super::Auth::Token { secret, .. } if secret.expose() == "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee")
        );

        let missing = LoadOptions {
            config_path: Some(dir.path().join("nope.toml")),
            state_dir: None,
        };
        let err = load_with(&missing, &env, &SystemSecrets)
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("cannot read the config file "), "{err}");
    }

    #[test]
    fn candidates_end_with_the_system_file() {
        assert_eq!(
            config_candidates().last().map(PathBuf::as_path),
            Some(Path::new(SYSTEM_CONFIG_FILE))
        );
        assert!(SYSTEM_CONFIG_FILE.starts_with(SYSTEM_CONFIG_DIR));
    }
}
