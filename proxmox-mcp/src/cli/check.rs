//! `proxmox-mcp config check`: validate the configuration and test each cluster connection.

use std::process::ExitCode;
use std::sync::Arc;

use serde_json::Value;

use super::out;
use crate::config::{self, Auth, LoadOptions};
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
