//! `proxmox-mcp config check`: validate the configuration and test each cluster connection.

use std::process::ExitCode;
use std::sync::Arc;

use serde_json::Value;

use super::out;
use crate::config::{self, Auth, Config, ExecConfig, ExecutorKind, LoadOptions};
use crate::pve::{HttpClient, Method, Params, Pve};

/// Print what was found, the configuration's warnings (clear-text secrets, TLS verification off,
/// …), then every configured cluster; exit 1 if any check failed.
pub async fn run(load: &LoadOptions) -> anyhow::Result<ExitCode> {
    let source = load
        .config_path
        .clone()
        .or_else(config::load::default_config_path);
    let (cfg, warnings) = match config::load::load_with_warnings(load) {
        Ok(loaded) => loaded,
        Err(e) => {
            eprintln!("configuration error: {e}");
            return Ok(ExitCode::from(1));
        }
    };
    if let Err(e) = crate::tools::select::check(&cfg.tools) {
        eprintln!("configuration error: {e}");
        return Ok(ExitCode::from(1));
    }
    let mut report = String::new();
    report.push_str(&format!(
        "config file: {}\nstate dir:   {}\n",
        cfg.source
            .as_ref()
            .or(source.as_ref())
            .map(|p| p.display().to_string())
            .unwrap_or_else(|| "(none; environment only)".into()),
        cfg.state_dir.display()
    ));
    report.push_str(&settings_lines(&cfg));
    if !warnings.is_empty() {
        report.push_str("\nwarnings:\n");
        for w in &warnings {
            report.push_str(&format!("  - {w}\n"));
        }
    }
    if cfg.clusters.is_empty() {
        report.push_str(
            "no cluster configured: set PROXMOX_URL and PROXMOX_TOKEN_ID/PROXMOX_TOKEN_SECRET\n",
        );
        out(&report)?;
        return Ok(ExitCode::from(1));
    }
    let mut ok = true;
    for c in &cfg.clusters {
        let who = match &c.auth {
            Auth::Token { id, .. } => format!("token {id}"),
            Auth::Password { user, .. } => format!("user {user} (ticket)"),
        };
        let tls = if c.tls.insecure {
            "verification OFF (insecure)".to_string()
        } else if let Some(fp) = &c.tls.fingerprint {
            format!("pinned fingerprint {fp}")
        } else if let Some(ca) = &c.tls.ca_file {
            format!("CA file {}", ca.display())
        } else {
            "system trust store".to_string()
        };
        report.push_str(&format!(
            "\n[{}] {} as {who}\n  tls: {tls}\n",
            c.name, c.url
        ));
        for l in exec_lines(&c.exec) {
            report.push_str(&format!("  {l}\n"));
        }
        match probe(c).await {
            Ok(lines) => {
                for l in lines {
                    report.push_str(&format!("  {l}\n"));
                }
            }
            Err(e) => {
                ok = false;
                report.push_str(&format!("  FAILED: {e}\n"));
            }
        }
    }
    out(&report)?;
    Ok(if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// The API schema, what the policy protects, the approval TTL and the audit retention, one line
/// each, aligned with `config file:`.
fn settings_lines(cfg: &Config) -> String {
    let list = |items: Vec<String>| {
        if items.is_empty() {
            "none".to_owned()
        } else {
            items.join(", ")
        }
    };
    let policy = &cfg.policy;
    format!(
        "api schema:  {}\nprotected:   vmids {}; tags {}\napprovals:   valid for {} s\naudit log:   kept {} days\n",
        cfg.api_schema
            .as_ref()
            .map_or_else(|| "none".to_owned(), |p| p.display().to_string()),
        list(policy.protected_vmids.iter().map(u32::to_string).collect()),
        list(policy.protected_tags.iter().cloned().collect()),
        policy.approval_ttl.as_secs(),
        cfg.audit.retention.as_secs() / 86_400,
    )
}

/// How `execute_command` reaches the cluster's nodes: `exec: disabled`, `exec: local on node …`,
/// or `exec: ssh as user@<node>:port` plus a line with the key, known_hosts and host addresses.
fn exec_lines(exec: &ExecConfig) -> Vec<String> {
    let timeout = exec.timeout.as_secs();
    match exec.executor {
        ExecutorKind::Disabled => vec!["exec: disabled".to_owned()],
        ExecutorKind::Local => vec![format!(
            "exec: local on node {}{}, timeout {timeout} s",
            exec.local_node.as_deref().unwrap_or("?"),
            exec.run_as
                .as_deref()
                .map_or_else(String::new, |a| format!(" as {a} (sudo)"))
        )],
        ExecutorKind::Ssh => {
            let ssh = &exec.ssh;
            let key = ssh.key.as_ref().map_or_else(
                || "the ssh client's default".to_owned(),
                |k| k.display().to_string(),
            );
            let known_hosts = ssh.known_hosts.as_ref().map_or_else(
                || "~/.ssh/known_hosts of the service user".to_owned(),
                |k| k.display().to_string(),
            );
            let hosts = if ssh.hosts.is_empty() {
                "nodes by name".to_owned()
            } else {
                let pairs: Vec<_> = ssh.hosts.iter().map(|(n, a)| format!("{n}={a}")).collect();
                format!("hosts {}", pairs.join(", "))
            };
            vec![
                format!(
                    "exec: ssh as {}@<node>:{}, timeout {timeout} s",
                    ssh.user, ssh.port
                ),
                format!(
                    "ssh:  key {key}; known_hosts {known_hosts}; {hosts}; connect timeout {} s",
                    ssh.connect_timeout.as_secs()
                ),
            ]
        }
    }
}

async fn probe(c: &config::ClusterConfig) -> Result<Vec<String>, crate::pve::PveError> {
    let pve = Pve::new(Arc::new(HttpClient::new(c)?));
    let version = pve.version().await?;
    let mut lines = vec![format!(
        "connected: PVE {}{}",
        version.version,
        version
            .release
            .as_deref()
            .map(|r| format!(" (release {r})"))
            .unwrap_or_default()
    )];
    match pve.cluster_status().await {
        Ok(status) => {
            let nodes = status.iter().filter(|s| s.kind == "node").count();
            match status.iter().find(|s| s.kind == "cluster") {
                Some(cl) => lines.push(format!(
                    "cluster: {} ({nodes} nodes, quorate: {})",
                    cl.name,
                    cl.quorate
                        .map(|q| if q { "yes" } else { "NO" })
                        .unwrap_or("?")
                )),
                None => lines.push(format!("standalone node ({nodes} node)")),
            }
        }
        Err(e) => lines.push(format!("cluster status unavailable: {e}")),
    }
    let mut params = Params::new();
    params.insert("path".into(), Value::from("/"));
    match pve.call(Method::Get, "/access/permissions", &params).await {
        Ok(Value::Object(map)) => {
            let mut privs: Vec<String> = map
                .get("/")
                .and_then(Value::as_object)
                .map(|m| m.keys().cloned().collect())
                .unwrap_or_default();
            privs.sort();
            if privs.is_empty() {
                lines.push(
                    "privileges on /: none (the token sees nothing; grant PVEAuditor)".into(),
                );
            } else {
                lines.push(format!("privileges on /: {}", privs.join(", ")));
            }
        }
        Ok(_) => lines.push("privileges: unexpected answer".into()),
        Err(e) => lines.push(format!("privileges unavailable: {e}")),
    }
    Ok(lines)
}

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, BTreeSet};
    use std::path::PathBuf;
    use std::time::Duration;

    use super::*;
    use crate::config::{AuditConfig, PolicyConfig, SshConfig};

    #[test]
    fn exec_is_described() {
        let local = ExecConfig {
            executor: ExecutorKind::Local,
            local_node: Some("pve1".into()),
            ..ExecConfig::default()
        };
        let ssh = ExecConfig {
            executor: ExecutorKind::Ssh,
            timeout: Duration::from_secs(90),
            ssh: SshConfig {
                key: Some(PathBuf::from("/etc/proxmox-mcp/id_ed25519")),
                hosts: BTreeMap::from([("pve1".into(), "10.0.0.11".into())]),
                ..SshConfig::default()
            },
            ..ExecConfig::default()
        };
        let bare_ssh = ExecConfig {
            executor: ExecutorKind::Ssh,
            ..ExecConfig::default()
        };
        assert_eq!(exec_lines(&ExecConfig::default()), ["exec: disabled"]);
        assert_eq!(
            exec_lines(&local),
            ["exec: local on node pve1, timeout 60 s"]
        );
        assert_eq!(
            exec_lines(&ssh),
            [
                "exec: ssh as root@<node>:22, timeout 90 s",
                "ssh:  key /etc/proxmox-mcp/id_ed25519; known_hosts ~/.ssh/known_hosts of the service user; hosts pve1=10.0.0.11; connect timeout 10 s",
            ]
        );
        assert_eq!(
            exec_lines(&bare_ssh)[1],
            "ssh:  key the ssh client's default; known_hosts ~/.ssh/known_hosts of the service user; nodes by name; connect timeout 10 s"
        );
    }

    #[test]
    fn settings_are_described() {
        let mut cfg = Config {
            clusters: Vec::new(),
            state_dir: PathBuf::from("/var/lib/proxmox-mcp"),
            source: None,
            policy: PolicyConfig::default(),
            audit: AuditConfig::without_journal(),
            api_schema: None,
            tools: Default::default(),
            sources: Vec::new(),
            update: Default::default(),
            diagnostics: Default::default(),
        };
        assert_eq!(
            settings_lines(&cfg),
            "api schema:  none\nprotected:   vmids none; tags protected\n\
             approvals:   valid for 600 s\naudit log:   kept 7 days\n"
        );
        cfg.api_schema = Some(PathBuf::from("/usr/share/pve-docs/api-viewer/apidata.js"));
        cfg.policy.protected_vmids = BTreeSet::from([100, 101]);
        cfg.policy.protected_tags = BTreeSet::new();
        assert_eq!(
            settings_lines(&cfg),
            "api schema:  /usr/share/pve-docs/api-viewer/apidata.js\n\
             protected:   vmids 100, 101; tags none\n\
             approvals:   valid for 600 s\naudit log:   kept 7 days\n"
        );
    }
}
