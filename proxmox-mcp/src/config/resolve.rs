//! The pure merge of file → environment → CLI into a [`Config`], and every check on it.
//!
//! Nothing here touches the process: the environment arrives as [`EnvVars`], and secret files,
//! the OS keyring, the ssh executor's files and the host name are read through [`SecretSource`],
//! so every rule is tested with plain data. `[cluster.exec]` is merged in `exec`, `[policy]`,
//! `[audit]` and `api_schema` in `settings`.

mod exec;
mod settings;
mod sources;
pub(crate) use sources::display_url;
mod update;
mod values;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::env::{self, EnvVars};
pub use super::error::ConfigError;
use super::error::{printable_user, redact_userinfo};
pub use super::file::{FileCluster, FileConfig, parse_file};
use super::load::{self, LoadOptions};
use super::secret::Secret;
use super::types::{Auth, ClusterConfig, Config, ExecConfig, Timeouts, TlsConfig};
use crate::pve::{PveError, auth, tls};

/// Everything `resolve` reads from the host: secret files, keyring entries, the ssh executor's
/// files and the host name. [`load::SystemSecrets`] is the real one.
pub trait SecretSource {
    /// The secret in `path` (trailing whitespace removed). The real source refuses files that
    /// users other than the owner may read ([`ConfigError::SecretFileMode`]).
    fn read_file(&self, path: &Path) -> Result<Secret, ConfigError>;
    /// The secret stored for `account` under the service [`load::KEYRING_SERVICE`];
    /// `Ok(None)` when there is no such entry.
    fn read_keyring(&self, account: &str) -> Result<Option<Secret>, ConfigError>;
    /// Check that `path`, a `what` (e.g. "ssh key file"), exists and that only its owner may
    /// read it, as secret files are checked ([`load::check_owner_only`]).
    fn check_private_file(&self, what: &'static str, path: &Path) -> Result<(), ConfigError>;
    /// Whether `path` is an existing file (the ssh known_hosts, the API schema).
    fn is_file(&self, path: &Path) -> bool;
    /// This host's name as the system stores it (untrimmed, maybe fully qualified);
    /// `None` when it cannot be read.
    fn host_name(&self) -> Option<String>;
}

/// Merge the file (with the path it was read from), the environment and the CLI into a
/// [`Config`], logging the warnings (see [`resolve_with_warnings`]).
pub fn resolve(
    file: Option<(PathBuf, FileConfig)>,
    env: &EnvVars,
    secrets: &dyn SecretSource,
    overrides: &LoadOptions,
) -> Result<Config, ConfigError> {
    let (config, warnings) = resolve_with_warnings(file, env, secrets, overrides)?;
    for warning in &warnings {
        tracing::warn!("{warning}");
    }
    Ok(config)
}

/// [`resolve`], returning the warnings (plain-text secrets, `insecure`, a stripped `/api2/json`,
/// …) instead of logging them, for `config check`-style commands and tests.
///
/// Precedence, lowest first: file → environment → CLI. The `PROXMOX_*` cluster variables
/// apply to the first cluster and create it (named `default`) when the file has none and
/// `PROXMOX_URL` is set. Credentials from the environment replace the file's credentials of the
/// other kind, so `PROXMOX_USER`/`PROXMOX_PASSWORD` switch a token cluster to ticket auth.
/// No cluster at all is not an error: `clusters` is then empty. The `PROXMOX_MCP_*` policy,
/// audit and schema variables replace the file's values the same way (a list replaces the whole
/// list), and the executor variables are cluster variables.
///
/// State dir: CLI > `PROXMOX_MCP_STATE_DIR` > the file's `state_dir` > `/var/lib/proxmox-mcp`
/// for a file in `/etc/proxmox-mcp` > the user's state dir. That last fallback is the one
/// place the process is consulted (`directories` reads `HOME`/`XDG_STATE_HOME`).
pub fn resolve_with_warnings(
    file: Option<(PathBuf, FileConfig)>,
    env: &EnvVars,
    secrets: &dyn SecretSource,
    overrides: &LoadOptions,
) -> Result<(Config, Vec<String>), ConfigError> {
    let mut warnings = Vec::new();
    let (source, file) = match file {
        Some((path, file)) => (Some(path), file),
        None => (None, FileConfig::default()),
    };
    let base = source.as_deref().and_then(Path::parent);
    let in_file = |p: PathBuf| match base {
        Some(dir) if p.is_relative() => dir.join(p),
        _ => p,
    };
    let layers = sources::Layers::new(&file, env, overrides);
    let tools = settings::tools(file.tools, env)?;
    let policy = settings::policy(file.policy, env)?;
    let audit = settings::audit(file.audit, env)?;
    let update = update::resolve(file.update, env)?;

    let mut drafts = file
        .clusters
        .into_iter()
        .map(|c| Draft::from_file(c, &in_file))
        .collect::<Result<Vec<_>, _>>()?;
    apply_env(&mut drafts, env)?;

    let mut names = BTreeSet::new();
    for draft in &mut drafts {
        let name = draft.name.get_or_insert_with(|| "default".to_owned());
        if name.is_empty()
            || !name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        {
            return Err(ConfigError::BadClusterName { name: name.clone() });
        }
        if !names.insert(name.clone()) {
            return Err(ConfigError::DuplicateCluster { name: name.clone() });
        }
    }
    let shape = drafts
        .into_iter()
        .map(|d| d.check(source.as_deref(), &mut warnings))
        .collect::<Result<Vec<_>, _>>()?;
    // Secrets last: every error that needs no IO is reported before a keyring is touched.
    let clusters = shape
        .into_iter()
        .map(|s| s.finish(secrets))
        .collect::<Result<Vec<_>, _>>()?;
    let api_schema = settings::api_schema(file.api_schema.map(&in_file), env, secrets)?;

    let system_install = source
        .as_deref()
        .is_some_and(|p| p.starts_with(load::SYSTEM_CONFIG_DIR));
    let state_dir = overrides
        .state_dir
        .clone()
        .or_else(|| env.get(env::PROXMOX_MCP_STATE_DIR).map(PathBuf::from))
        .or_else(|| file.state_dir.map(&in_file))
        .or_else(|| system_install.then(|| PathBuf::from(load::SYSTEM_STATE_DIR)))
        .or_else(load::user_state_dir)
        .ok_or(ConfigError::NoStateDir)?;

    let mut config = Config {
        clusters,
        state_dir,
        source,
        policy,
        audit,
        api_schema,
        tools,
        update,
        diagnostics: Default::default(),
        sources: Vec::new(),
    };
    config.sources = layers.settings(&config);
    Ok((config, warnings))
}

/// Where a secret comes from, after the file and the environment are merged.
#[derive(Debug, Clone)]
enum SecretFrom {
    /// Clear text in the config file (warned about).
    Inline(Secret),
    /// Clear text from an environment variable.
    Env(Secret),
    File(PathBuf),
    Keyring,
}

impl SecretFrom {
    /// Where a token secret comes from, for messages.
    fn token_origin(&self) -> String {
        match self {
            SecretFrom::Inline(_) => "`token_secret` in the config file".to_owned(),
            SecretFrom::Env(_) => env::PROXMOX_TOKEN_SECRET.to_owned(),
            SecretFrom::File(path) => format!("the secret file {}", path.display()),
            SecretFrom::Keyring => "the OS keyring".to_owned(),
        }
    }
}

/// One cluster while layers are merged: the file's keys, then the environment on top.
#[derive(Debug, Default)]
struct Draft {
    name: Option<String>,
    url: Option<String>,
    url_key: &'static str,
    token_id: Option<String>,
    token_secret: Option<SecretFrom>,
    user: Option<String>,
    password: Option<SecretFrom>,
    fingerprint: Option<String>,
    ca_file: Option<PathBuf>,
    insecure: Option<bool>,
    connect_timeout_secs: Option<u64>,
    request_timeout_secs: Option<u64>,
    exec: ExecConfig,
}

impl Draft {
    fn from_file(
        c: FileCluster,
        in_file: &dyn Fn(PathBuf) -> PathBuf,
    ) -> Result<Self, ConfigError> {
        let cluster = c.name.clone().unwrap_or_else(|| "default".to_owned());
        let token_secret = one_source(
            &cluster,
            "token secret",
            [
                c.token_secret
                    .map(|s| ("token_secret", SecretFrom::Inline(s))),
                c.token_secret_file
                    .map(|p| ("token_secret_file", SecretFrom::File(in_file(p)))),
                (c.token_secret_keyring == Some(true))
                    .then_some(("token_secret_keyring", SecretFrom::Keyring)),
            ],
        )?;
        let password = one_source(
            &cluster,
            "password",
            [
                c.password.map(|s| ("password", SecretFrom::Inline(s))),
                c.password_file
                    .map(|p| ("password_file", SecretFrom::File(in_file(p)))),
                (c.password_keyring == Some(true))
                    .then_some(("password_keyring", SecretFrom::Keyring)),
            ],
        )?;
        let exec = exec::from_file(c.exec, &cluster, in_file)?;
        Ok(Self {
            name: c.name,
            url: c.url,
            url_key: "url",
            token_id: c.token_id,
            token_secret,
            user: c.user,
            password,
            fingerprint: c.fingerprint,
            ca_file: c.ca_file.map(in_file),
            insecure: c.insecure,
            connect_timeout_secs: c.connect_timeout_secs,
            request_timeout_secs: c.request_timeout_secs,
            exec,
        })
    }

    /// Validate everything that needs no IO.
    fn check(
        self,
        source: Option<&Path>,
        warnings: &mut Vec<String>,
    ) -> Result<Shape, ConfigError> {
        let name = self.name.unwrap_or_default();
        let raw_url = self.url.ok_or_else(|| ConfigError::MissingUrl {
            cluster: name.clone(),
        })?;
        let url = normalize_url(&raw_url, warnings)
            .map_err(|reason| ConfigError::bad_url(self.url_key, &raw_url, reason))?;

        let has_token = self.token_id.is_some() || self.token_secret.is_some();
        let has_password = self.user.is_some() || self.password.is_some();
        let file = source.map_or_else(|| "the config file".to_owned(), |p| p.display().to_string());
        let auth = match (has_token, has_password) {
            (true, true) => return Err(ConfigError::BothAuth { cluster: name }),
            (false, false) => return Err(ConfigError::NoCredentials { cluster: name }),
            (true, false) => {
                let id = self.token_id.ok_or_else(|| ConfigError::TokenIdMissing {
                    cluster: name.clone(),
                })?;
                auth::validate_token_id(&id).map_err(|e| ConfigError::BadTokenId {
                    cluster: name.clone(),
                    reason: pve_message(e),
                })?;
                let secret = self
                    .token_secret
                    .ok_or_else(|| ConfigError::TokenSecretMissing {
                        cluster: name.clone(),
                        token_id: id.clone(),
                    })?;
                if matches!(secret, SecretFrom::Inline(_)) {
                    warnings.push(format!(
                        "cluster `{name}`: token_secret is stored in clear text in {file}; prefer token_secret_file (mode 0600) or token_secret_keyring = true"
                    ));
                }
                let accounts = vec![name.clone(), id.clone()];
                PendingAuth::Token {
                    id,
                    secret,
                    accounts,
                }
            }
            (false, true) => {
                let user = self.user.ok_or_else(|| ConfigError::UserMissing {
                    cluster: name.clone(),
                })?;
                match user.rsplit_once('@') {
                    Some((u, realm))
                        if !u.is_empty()
                            && !realm.is_empty()
                            && !user
                                .contains(|c: char| c.is_whitespace() || c == ':' || c == '/') => {}
                    _ => {
                        return Err(ConfigError::BadUser {
                            cluster: name,
                            user: printable_user(&user),
                        });
                    }
                }
                let password = self.password.ok_or_else(|| ConfigError::PasswordMissing {
                    cluster: name.clone(),
                    user: user.clone(),
                })?;
                if matches!(password, SecretFrom::Inline(_)) {
                    warnings.push(format!(
                        "cluster `{name}`: password is stored in clear text in {file}; prefer password_file (mode 0600) or password_keyring = true"
                    ));
                }
                let accounts = vec![name.clone(), user.clone()];
                PendingAuth::Password {
                    user,
                    password,
                    accounts,
                }
            }
        };

        let fingerprint = self
            .fingerprint
            .map(|fp| match tls::parse_fingerprint(&fp) {
                Ok(bytes) => Ok(colon_hex(&bytes)),
                Err(e) => Err(ConfigError::BadFingerprint {
                    cluster: name.clone(),
                    reason: pve_message(e),
                }),
            })
            .transpose()?;
        let insecure = self.insecure.unwrap_or(false);
        if insecure {
            let ignored = if fingerprint.is_some() || self.ca_file.is_some() {
                " (fingerprint/ca_file are ignored)"
            } else {
                ""
            };
            warnings.push(format!(
                "cluster `{name}`: TLS certificate verification is OFF{ignored}; pin the certificate with `fingerprint` ({}) instead",
                env::PROXMOX_FINGERPRINT
            ));
        }
        let secs = |value: Option<u64>, default: Duration, key| match value {
            None => Ok(default),
            Some(0) => Err(ConfigError::BadTimeout {
                cluster: name.clone(),
                key,
            }),
            Some(s) => Ok(Duration::from_secs(s)),
        };
        let defaults = Timeouts::default();
        let timeouts = Timeouts {
            connect: secs(
                self.connect_timeout_secs,
                defaults.connect,
                "connect_timeout_secs",
            )?,
            request: secs(
                self.request_timeout_secs,
                defaults.request,
                "request_timeout_secs",
            )?,
        };
        exec::warn(&name, &self.exec, warnings);
        Ok(Shape {
            name,
            url,
            auth,
            tls: TlsConfig {
                ca_file: self.ca_file,
                fingerprint,
                insecure,
            },
            timeouts,
            exec: self.exec,
        })
    }
}

/// A checked cluster whose secret is still to be read.
struct Shape {
    name: String,
    url: String,
    auth: PendingAuth,
    tls: TlsConfig,
    timeouts: Timeouts,
    exec: ExecConfig,
}

enum PendingAuth {
    Token {
        id: String,
        secret: SecretFrom,
        accounts: Vec<String>,
    },
    Password {
        user: String,
        password: SecretFrom,
        accounts: Vec<String>,
    },
}

impl Shape {
    fn finish(self, secrets: &dyn SecretSource) -> Result<ClusterConfig, ConfigError> {
        let name = &self.name;
        let mut secret_files: Vec<PathBuf> = Vec::new();
        if let PendingAuth::Token {
            secret: SecretFrom::File(p),
            ..
        }
        | PendingAuth::Password {
            password: SecretFrom::File(p),
            ..
        } = &self.auth
        {
            secret_files.push(p.clone());
        }
        secret_files.extend(self.exec.ssh.key.clone());
        let auth = match self.auth {
            PendingAuth::Token {
                id,
                secret,
                accounts,
            } => {
                let origin = secret.token_origin();
                let secret = read_secret(secrets, name, "token secret", secret, accounts)?;
                auth::validate_token_secret(&secret).map_err(|e| ConfigError::BadTokenSecret {
                    cluster: name.clone(),
                    origin,
                    reason: pve_message(e),
                })?;
                Auth::Token { id, secret }
            }
            PendingAuth::Password {
                user,
                password,
                accounts,
            } => Auth::Password {
                password: read_secret(secrets, name, "password", password, accounts)?,
                user,
            },
        };
        let exec = exec::finish(&self.name, self.exec, secrets)?;
        Ok(ClusterConfig {
            name: self.name,
            url: self.url,
            auth,
            secret_files,
            tls: self.tls,
            timeouts: self.timeouts,
            exec,
        })
    }
}

fn read_secret(
    secrets: &dyn SecretSource,
    cluster: &str,
    what: &str,
    from: SecretFrom,
    mut accounts: Vec<String>,
) -> Result<Secret, ConfigError> {
    let secret = match from {
        SecretFrom::Inline(s) | SecretFrom::Env(s) => s,
        SecretFrom::File(path) => secrets.read_file(&path)?,
        SecretFrom::Keyring => {
            accounts.dedup();
            let mut found = None;
            for account in &accounts {
                if let Some(s) = secrets.read_keyring(account)? {
                    found = Some(s);
                    break;
                }
            }
            found.ok_or_else(|| ConfigError::KeyringMissing {
                cluster: cluster.to_owned(),
                accounts,
            })?
        }
    };
    if secret.expose().trim().is_empty() {
        return Err(ConfigError::EmptySecret {
            origin: format!("{what} of cluster `{cluster}`"),
        });
    }
    Ok(secret)
}

/// At most one of the candidate sources may be set.
fn one_source<const N: usize>(
    cluster: &str,
    what: &'static str,
    candidates: [Option<(&'static str, SecretFrom)>; N],
) -> Result<Option<SecretFrom>, ConfigError> {
    let mut set: Vec<_> = candidates.into_iter().flatten().collect();
    if set.len() > 1 {
        let keys: Vec<_> = set.iter().map(|(k, _)| format!("`{k}`")).collect();
        return Err(ConfigError::SecretSourceConflict {
            cluster: cluster.to_owned(),
            what,
            sources: format!("in {}", keys.join(" and ")),
        });
    }
    Ok(set.pop().map(|(_, s)| s))
}

/// Lay the `PROXMOX_*` cluster variables over the first cluster, creating it if needed.
fn apply_env(drafts: &mut Vec<Draft>, env: &EnvVars) -> Result<(), ConfigError> {
    let Some(first_set) = env::CLUSTER_VARS.iter().copied().find(|v| env.is_set(v)) else {
        return Ok(());
    };
    if drafts.is_empty() {
        if !env.is_set(env::PROXMOX_URL) {
            return Err(ConfigError::EnvWithoutCluster { var: first_set });
        }
        drafts.push(Draft::default());
    }
    let d = &mut drafts[0];
    let cluster = d.name.clone().unwrap_or_else(|| "default".to_owned());
    let env_token = env.is_set(env::PROXMOX_TOKEN_ID) || env.is_set(env::PROXMOX_TOKEN_SECRET);
    let env_password = env.is_set(env::PROXMOX_USER) || env.is_set(env::PROXMOX_PASSWORD);
    if env_token && env_password {
        return Err(ConfigError::BothAuth { cluster });
    }
    if env_token {
        d.user = None;
        d.password = None;
    }
    if env_password {
        d.token_id = None;
        d.token_secret = None;
    }
    if let Some(url) = env.get(env::PROXMOX_URL) {
        d.url = Some(url.to_owned());
        d.url_key = env::PROXMOX_URL;
    }
    if let Some(id) = env.get(env::PROXMOX_TOKEN_ID) {
        d.token_id = Some(id.to_owned());
    }
    if let Some(s) = env.get(env::PROXMOX_TOKEN_SECRET) {
        d.token_secret = Some(SecretFrom::Env(Secret::new(s)));
    }
    if let Some(user) = env.get(env::PROXMOX_USER) {
        d.user = Some(user.to_owned());
    }
    if let Some(s) = env.get(env::PROXMOX_PASSWORD) {
        d.password = Some(SecretFrom::Env(Secret::new(s)));
    }
    if let Some(ca) = env.get(env::PROXMOX_CA_FILE) {
        d.ca_file = Some(PathBuf::from(ca));
    }
    if let Some(fp) = env.get(env::PROXMOX_FINGERPRINT) {
        d.fingerprint = Some(fp.to_owned());
    }
    match env.flag(env::PROXMOX_INSECURE) {
        Ok(Some(b)) => d.insecure = Some(b),
        Ok(None) => {}
        Err(value) => {
            return Err(ConfigError::BadEnvValue {
                var: env::PROXMOX_INSECURE,
                value,
                expected: "1, true or yes (or 0, false, no)",
            });
        }
    }
    exec::apply_env(&mut d.exec, env)
}

/// `https://host[:port]` with no path, credentials, query or fragment; `/api2/json` is dropped.
///
/// Messages and warnings show `raw` with its userinfo hidden ([`redact_userinfo`]).
fn normalize_url(raw: &str, warnings: &mut Vec<String>) -> Result<String, String> {
    let shown = redact_userinfo(raw);
    if !raw.contains("://") {
        return Err(format!("it has no scheme; did you mean https://{shown} ?"));
    }
    let url = url::Url::parse(raw).map_err(|e| format!("{e}; expected e.g. https://pve1:8006"))?;
    match url.scheme() {
        "https" => {}
        "http" => warnings.push(format!(
            "{shown}: plain http sends the API token unencrypted; Proxmox VE itself serves https on port 8006"
        )),
        other => return Err(format!("scheme `{other}` is not https:// (or http://)")),
    }
    let host = url
        .host_str()
        .filter(|h| !h.is_empty())
        .ok_or_else(|| "it has no host".to_owned())?;
    if !url.username().is_empty() || url.password().is_some() {
        return Err("it must not contain credentials; use token_id or user instead".to_owned());
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err("it must not have a query or fragment".to_owned());
    }
    match url.path().trim_end_matches('/') {
        "" => {}
        "/api2/json" => warnings.push(format!(
            "{shown}: the /api2/json suffix is added by proxmox-mcp and was removed; give only https://host:port"
        )),
        path => {
            return Err(format!(
                "it has a path (`{path}`); give only the scheme, host and port, e.g. https://pve1:8006"
            ));
        }
    }
    let port = url.port().map(|p| format!(":{p}")).unwrap_or_default();
    Ok(format!("{}://{host}{port}", url.scheme()))
}

/// The text of a validation error from the `pve` layer, without its "configuration problem: "
/// prefix (the [`ConfigError`] adds the cluster instead).
fn pve_message(e: PveError) -> String {
    match e {
        PveError::Config(message) => message,
        other => other.to_string(),
    }
}

/// `AA:BB:…`, the form `GET /nodes` reports as `ssl_fingerprint`.
fn colon_hex(bytes: &[u8]) -> String {
    bytes
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect::<Vec<_>>()
        .join(":")
}

#[cfg(all(test, unix))]
mod tests;
