//! `proxmox-mcp config-backup create|list|restore NAME`: the operator's side of the server's
//! own backups. The operator is the human, so a restore asks nobody, but it prints what it
//! changes, is audited, and never runs from inside a tool call.

use std::process::ExitCode;

use clap::Subcommand;

use super::approvals::{audit, refuse_inside_tool_call};
use super::out;
use crate::audit::Outcome;
use crate::config::{self, LoadOptions};
use crate::selfmgmt::backup::{self, BackupInfo, BackupRoots, Effect};

#[derive(Debug, Subcommand)]
pub enum ConfigBackupCommand {
    /// Write a backup of the config file, mode, approvals and bridge token hashes
    Create {
        /// Why (kept in the archive's manifest)
        #[arg(long, default_value = "operator backup")]
        reason: String,
    },
    /// List the backups, newest first
    List,
    /// Restore a backup (a pre-restore backup is taken first)
    Restore {
        /// The archive's name, as `list` shows it
        name: String,
        /// Only check the archive and print what would change
        #[arg(long)]
        dry_run: bool,
    },
}

fn line(b: &BackupInfo) -> String {
    format!(
        "{}  {}  {} B  {} files  server {}  {}\n",
        b.name, b.created, b.size, b.files, b.server_version, b.reason
    )
}

pub fn run(load: &LoadOptions, cmd: ConfigBackupCommand) -> anyhow::Result<ExitCode> {
    if let ConfigBackupCommand::Restore { name, .. } = &cmd {
        refuse_inside_tool_call(load, "config-backup restore", format!("backup {name}"))?;
    }
    let cfg = config::load(load)?;
    let roots = BackupRoots::from_config(&cfg);
    match cmd {
        ConfigBackupCommand::Create { reason } => {
            let b = backup::create(&roots, &reason)?;
            out(&format!("backup written: {}", line(&b)))?;
        }
        ConfigBackupCommand::List => {
            let (good, bad) = backup::list(&roots)?;
            if good.is_empty() && bad.is_empty() {
                out("no config backups\n")?;
            }
            for b in &good {
                out(&line(b))?;
            }
            for u in &bad {
                out(&format!("UNREADABLE {}: {}\n", u.name, u.problem))?;
            }
        }
        ConfigBackupCommand::Restore { name, dry_run } => {
            let target = Some(format!("server config backup {name}"));
            let plan = match backup::plan(&roots, &name) {
                Ok(p) => p,
                Err(e) => {
                    if !dry_run {
                        audit(
                            &cfg,
                            "config-backup restore",
                            Outcome::Refused,
                            e.to_string(),
                            target,
                        );
                    }
                    return Err(e.into());
                }
            };
            let mut text = format!("backup {}: {}", name, line(&plan.backup));
            for c in &plan.changes {
                text.push_str(&format!("  {:<9} {}\n", c.effect.as_str(), c.path));
            }
            out(&text)?;
            if dry_run {
                return Ok(ExitCode::SUCCESS);
            }
            match backup::restore(
                &roots,
                &name,
                Some(&plan.archive_sha256),
                Some(&plan.live_sha256),
            ) {
                Ok(done) => {
                    audit(
                        &cfg,
                        "config-backup restore",
                        Outcome::Allowed,
                        format!(
                            "the operator restored backup {name} ({}); pre-restore backup {}",
                            plan.summary(),
                            done.pre_restore.name
                        ),
                        target,
                    );
                    out(&format!(
                        "restored; pre-restore backup: {}\n",
                        done.pre_restore.name
                    ))?;
                    if done.changes.iter().any(|c| {
                        c.path == backup::archive::CONFIG_PATH && c.effect != Effect::Unchanged
                    }) {
                        out("the config file changed: restart the server for it to apply\n")?;
                    }
                }
                Err(e) => {
                    audit(
                        &cfg,
                        "config-backup restore",
                        Outcome::Failed,
                        e.to_string(),
                        target,
                    );
                    return Err(e.into());
                }
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
