//! `[cluster.exec]`: the file's table, the `PROXMOX_MCP_EXECUTOR`/`PROXMOX_MCP_EXEC_*`/`PROXMOX_MCP_SSH_*` variables
//! on top (first cluster only), then the checks that read the host.

use std::path::PathBuf;
use std::time::Duration;

use super::values::{self, Bad, Bounded};
use super::{ConfigError, SecretSource};
use crate::config::env::{self, EnvVars};
use crate::config::file::FileExec;
use crate::config::load;
use crate::config::types::{ExecConfig, ExecutorKind};

/// The `[cluster.exec]` table of `cluster`, every value checked, relative paths made absolute.
pub(super) fn from_file(
    file: FileExec,
    cluster: &str,
    in_file: &dyn Fn(PathBuf) -> PathBuf,
) -> Result<ExecConfig, ConfigError> {
    let bad = |key: &'static str| {
        move |b: Bad| ConfigError::BadValue {
            cluster: Some(cluster.to_owned()),
            key,
            value: b.value,
            expected: b.expected,
        }
    };
    let secs = |value: u64, bounds: &Bounded, key| {
        bounds
            .check(value)
            .map(Duration::from_secs)
            .map_err(bad(key))
    };
    let mut exec = ExecConfig::default();
    if let Some(v) = file.executor {
        exec.executor = values::executor(&v).map_err(bad("exec.executor"))?;
    }
    if let Some(v) = file.local_node {
        exec.local_node = Some(values::node_name(&v).map_err(bad("exec.local_node"))?);
    }
    if let Some(v) = file.run_as {
        exec.run_as = Some(values::account(&v).map_err(bad("exec.run_as"))?);
    }
    if let Some(v) = file.timeout_secs {
        exec.timeout = secs(v, &values::EXEC_TIMEOUT_SECS, "exec.timeout_secs")?;
    }
    if let Some(v) = file.ssh_user {
        exec.ssh.user = values::ssh_user(&v).map_err(bad("exec.ssh_user"))?;
    }
    if let Some(v) = file.ssh_port {
        exec.ssh.port = port(values::SSH_PORT.check(v)).map_err(bad("exec.ssh_port"))?;
    }
    exec.ssh.key = file.ssh_key.map(in_file);
    exec.ssh.known_hosts = file.ssh_known_hosts.map(in_file);
    if let Some(v) = file.ssh_connect_timeout_secs {
        exec.ssh.connect_timeout = secs(
            v,
            &values::SSH_CONNECT_TIMEOUT_SECS,
            "exec.ssh_connect_timeout_secs",
        )?;
    }
    if let Some(table) = file.hosts {
        exec.ssh.hosts = values::hosts(table).map_err(bad("exec.hosts"))?;
    }
    Ok(exec)
}

/// A port checked against [`values::SSH_PORT`], as `u16`.
fn port(checked: Result<u64, Bad>) -> Result<u16, Bad> {
    let n = checked?;
    u16::try_from(n).map_err(|_| Bad {
        value: n.to_string(),
        expected: values::SSH_PORT.expected,
    })
}

/// Lay the executor variables over `exec` (the first cluster's); each replaces the file's value,
/// `PROXMOX_MCP_SSH_HOSTS` the whole `hosts` table.
pub(super) fn apply_env(exec: &mut ExecConfig, env: &EnvVars) -> Result<(), ConfigError> {
    /// `var` parsed by `parse`, if set; a refusal shows the whole value and `expected`
    /// (`None`: what `parse` expected).
    fn get<T>(
        env: &EnvVars,
        var: &'static str,
        parse: impl Fn(&str) -> Result<T, Bad>,
        expected: Option<&'static str>,
    ) -> Result<Option<T>, ConfigError> {
        env.get(var)
            .map(|v| {
                parse(v).map_err(|b| ConfigError::BadEnvValue {
                    var,
                    value: v.to_owned(),
                    expected: expected.unwrap_or(b.expected),
                })
            })
            .transpose()
    }
    let secs = |bounds: &'static Bounded| move |v: &str| bounds.parse(v).map(Duration::from_secs);

    if let Some(v) = get(env, env::PROXMOX_MCP_EXECUTOR, values::executor, None)? {
        exec.executor = v;
    }
    if let Some(v) = get(env, env::PROXMOX_MCP_LOCAL_NODE, values::node_name, None)? {
        exec.local_node = Some(v);
    }
    if let Some(v) = get(env, env::PROXMOX_MCP_EXEC_RUN_AS, values::account, None)? {
        exec.run_as = Some(v);
    }
    let timeout = secs(&values::EXEC_TIMEOUT_SECS);
    if let Some(v) = get(env, env::PROXMOX_MCP_EXEC_TIMEOUT_SECS, timeout, None)? {
        exec.timeout = v;
    }
    if let Some(v) = get(env, env::PROXMOX_MCP_SSH_USER, values::ssh_user, None)? {
        exec.ssh.user = v;
    }
    let ssh_port = |v: &str| port(values::SSH_PORT.parse(v));
    if let Some(v) = get(env, env::PROXMOX_MCP_SSH_PORT, ssh_port, None)? {
        exec.ssh.port = v;
    }
    if let Some(v) = env.get(env::PROXMOX_MCP_SSH_KEY) {
        exec.ssh.key = Some(PathBuf::from(v));
    }
    if let Some(v) = env.get(env::PROXMOX_MCP_SSH_KNOWN_HOSTS) {
        exec.ssh.known_hosts = Some(PathBuf::from(v));
    }
    let hosts = Some(values::HOSTS_ENV);
    if let Some(v) = get(env, env::PROXMOX_MCP_SSH_HOSTS, values::hosts_env, hosts)? {
        exec.ssh.hosts = v;
    }
    Ok(())
}

/// The warnings about `exec` that need no IO.
pub(super) fn warn(cluster: &str, exec: &ExecConfig, warnings: &mut Vec<String>) {
    if exec.executor == ExecutorKind::Ssh && exec.ssh.known_hosts.is_none() {
        warnings.push(format!(
            "cluster `{cluster}`: ssh executor without ssh_known_hosts: host keys are checked against ~/.ssh/known_hosts of the service user; set ssh_known_hosts ({}), e.g. to a copy of /etc/pve/priv/known_hosts",
            env::PROXMOX_MCP_SSH_KNOWN_HOSTS
        ));
    }
}

/// The checks that read the host, for the executor in use only: the local executor's node
/// (default: the host name), the ssh key's mode and the known_hosts file.
pub(super) fn finish(
    cluster: &str,
    mut exec: ExecConfig,
    host: &dyn SecretSource,
) -> Result<ExecConfig, ConfigError> {
    match exec.executor {
        ExecutorKind::Disabled => {}
        ExecutorKind::Local => {
            if exec.local_node.is_none() {
                let no_node = |reason| ConfigError::NoLocalNode {
                    cluster: cluster.to_owned(),
                    reason,
                };
                let raw = host.host_name().ok_or_else(|| {
                    no_node(format!(
                        "the host name could not be read from {}",
                        load::HOST_NAME_FILES.join(" or ")
                    ))
                })?;
                exec.local_node = Some(values::short_host_name(&raw).map_err(no_node)?);
            }
        }
        ExecutorKind::Ssh => {
            if let Some(key) = &exec.ssh.key {
                host.check_private_file("ssh key file", key)?;
            }
            if let Some(path) = &exec.ssh.known_hosts
                && !host.is_file(path)
            {
                return Err(ConfigError::KnownHostsMissing {
                    cluster: cluster.to_owned(),
                    path: path.clone(),
                });
            }
        }
    }
    Ok(exec)
}
