//! `backup_config` and `restore_config`: the server's own configuration and state (config file,
//! mode, approvals, bridge token hashes) backed up, listed, and restored with a human's yes.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{AssessCtx, Assessment, Hints, Render, ToolCtx, ToolDef, ToolError};
use crate::policy::Class;
use crate::policy::decision::Decision;
use crate::policy::engine::Request;
use crate::policy::mode::Mode;
use crate::selfmgmt::backup::{
    self, BackupError, BackupInfo, BackupRoots, Change, Effect, Unreadable,
};

pub fn tools() -> Vec<ToolDef> {
    vec![
        ToolDef::new(
            "backup_config",
            "Back up the server's own config",
            "Back up this server's config file, mode, approvals and bridge token hashes to an \
             archive in its state dir (create), or list the archives.",
            Class::Modify,
            Hints {
                read_only: false,
                destructive: false,
                idempotent: false,
                open_world: false,
            },
            &[],
            backup_config,
        )
        .assessed_by(assess_backup)
        .read_actions(&["list"])
        .local(),
        ToolDef::new(
            "restore_config",
            "Restore the server's own config",
            "Restore this server's config, mode, approvals and bridge token hashes from a \
             backup_config archive. Checked whole first; a pre-restore backup is taken; always \
             asks a human.",
            Class::Modify,
            Hints {
                read_only: false,
                destructive: true,
                idempotent: false,
                open_world: false,
            },
            &[],
            restore_config,
        )
        .assessed_by(assess_restore)
        .local(),
    ]
}

#[derive(Debug, Clone, Copy, Deserialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum BackupAction {
    Create,
    List,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BackupParams {
    pub action: BackupAction,
    /// Why (create; kept in the manifest)
    pub reason: Option<String>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RestoreParams {
    /// Archive name from backup_config list
    pub name: String,
}

fn roots_of(ctx: &AssessCtx) -> Result<BackupRoots, ToolError> {
    let (state_dir, config_file) = ctx.server_paths.clone().ok_or_else(|| {
        ToolError::Config("the server's state directory is not known here".into())
    })?;
    Ok(BackupRoots {
        config_file,
        state_dir,
    })
}

fn tool_error(e: BackupError) -> ToolError {
    match e {
        BackupError::NotFound(_) => ToolError::NotFound(e.to_string()),
        BackupError::BadName(m) => ToolError::invalid(m),
        BackupError::Refused { .. } | BackupError::Changed { .. } | BackupError::Drifted => {
            ToolError::Refused(e.to_string())
        }
        BackupError::Io { .. } | BackupError::Partial { .. } => ToolError::Config(e.to_string()),
    }
}

const MAX_REASON: usize = 200;

fn assess_backup(ctx: &AssessCtx, p: BackupParams) -> Result<Assessment, ToolError> {
    if p.action == BackupAction::List {
        return Ok(Assessment::new(
            Request::new(Class::Read),
            "list config backups",
        ));
    }
    if p.reason
        .as_ref()
        .is_some_and(|r| r.chars().count() > MAX_REASON)
    {
        return Err(ToolError::invalid(format!(
            "reason is longer than {MAX_REASON} characters"
        )));
    }
    let mut a = Assessment::new(
        Request::new(Class::Modify),
        "back up the server's own configuration and state",
    )
    .target("server config");
    // A backup only adds a file beside the state; read-only mode still refuses it.
    if ctx.mode != Mode::ReadOnly {
        a.decision = Some(Decision::Allow);
    }
    Ok(a)
}

/// What a human approved: this archive, these exact bytes, over the live files as they were.
#[derive(Debug, Clone, Serialize)]
struct Approved {
    name: String,
    archive_sha256: String,
    live_sha256: String,
}

fn assess_restore(ctx: &AssessCtx, p: RestoreParams) -> Result<Assessment, ToolError> {
    let target = format!("server config backup {}", p.name);
    if ctx.mode == Mode::ReadOnly {
        let mut a = Assessment::new(Request::new(Class::Modify), format!("restore {}", p.name))
            .target(target);
        a.decision = Some(Decision::Refuse(
            "Refused: the server is in read-only mode, which never restores its configuration. \
             An operator can run `proxmox-mcp config-backup restore NAME` on the host."
                .into(),
        ));
        return Ok(a);
    }
    let roots = roots_of(ctx)?;
    let plan = backup::plan(&roots, &p.name).map_err(tool_error)?;
    let b = &plan.backup;
    let summary = format!(
        "restore the server's own configuration and state from backup {} (created {}, \
         reason {:?}, server {}): {}. A pre-restore backup is taken first.",
        b.name,
        b.created,
        b.reason,
        b.server_version,
        plan.summary()
    );
    let mut a = Assessment::new(Request::new(Class::Modify), summary).target(target);
    let why = if plan.less_safe {
        "WARNING: this restore makes the server's mode LESS SAFE. Restoring the server's own \
         configuration and state always needs a human's approval."
    } else {
        "Restoring the server's own configuration and state always needs a human's approval."
    };
    a.decision = Some(Decision::Confirm(why.into()));
    a.set_plan(Approved {
        name: p.name,
        archive_sha256: plan.archive_sha256,
        live_sha256: plan.live_sha256,
    })?;
    Ok(a)
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct BackupResult {
    /// The archive written (create)
    #[serde(skip_serializing_if = "Option::is_none")]
    pub created: Option<BackupInfo>,
    /// Newest first (list)
    #[serde(skip_serializing_if = "Option::is_none")]
    pub backups: Option<Vec<BackupInfo>>,
    /// Archives that fail their checks (list)
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub unreadable: Vec<Unreadable>,
}

async fn backup_config(ctx: ToolCtx, p: BackupParams) -> Result<BackupResult, ToolError> {
    let roots = BackupRoots::from_config(ctx.engine.config());
    match p.action {
        BackupAction::Create => {
            let reason = p.reason.unwrap_or_else(|| "backup_config".into());
            let info = tokio::task::spawn_blocking(move || backup::create(&roots, &reason))
                .await
                .map_err(|e| ToolError::Config(format!("the backup did not finish: {e}")))?
                .map_err(tool_error)?;
            Ok(BackupResult {
                created: Some(info),
                backups: None,
                unreadable: Vec::new(),
            })
        }
        BackupAction::List => {
            let (backups, unreadable) = backup::list(&roots).map_err(tool_error)?;
            Ok(BackupResult {
                created: None,
                backups: Some(backups),
                unreadable,
            })
        }
    }
}

impl Render for BackupResult {
    fn render(&self) -> String {
        let line = |b: &BackupInfo| {
            format!(
                "{}  {}  {} B  {} files  server {}  {}",
                b.name, b.created, b.size, b.files, b.server_version, b.reason
            )
        };
        let mut s = String::new();
        if let Some(b) = &self.created {
            s = format!("Backup written: {}", line(b));
        }
        if let Some(list) = &self.backups {
            s = if list.is_empty() {
                "No config backups.".into()
            } else {
                list.iter().map(line).collect::<Vec<_>>().join("\n")
            };
        }
        for u in &self.unreadable {
            s.push_str(&format!("\nUNREADABLE {}: {}", u.name, u.problem));
        }
        s
    }
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct RestoreResult {
    pub restored: BackupInfo,
    /// Backup of the files as they were just before
    pub pre_restore: BackupInfo,
    pub changes: Vec<Change>,
    /// What changed, in values: mode old -> new, bridge tokens, config keys (secrets masked)
    pub details: Vec<String>,
    /// The config file changed: it applies when the server restarts
    pub restart_needed: bool,
}

async fn restore_config(ctx: ToolCtx, _p: RestoreParams) -> Result<RestoreResult, ToolError> {
    let approved = ctx.plan::<Approved>()?.clone();
    let roots = BackupRoots::from_config(ctx.engine.config());
    let done = tokio::task::spawn_blocking(move || {
        backup::restore(
            &roots,
            &approved.name,
            Some(&approved.archive_sha256),
            Some(&approved.live_sha256),
        )
    })
    .await
    .map_err(|e| ToolError::Config(format!("the restore did not finish: {e}")))?
    .map_err(tool_error)?;
    let restart_needed = done
        .changes
        .iter()
        .any(|c| c.path == backup::archive::CONFIG_PATH && c.effect != Effect::Unchanged);
    Ok(RestoreResult {
        restored: done.restored,
        pre_restore: done.pre_restore,
        changes: done.changes,
        details: done.details,
        restart_needed,
    })
}

impl Render for RestoreResult {
    fn render(&self) -> String {
        let changes: Vec<String> = self
            .changes
            .iter()
            .map(|c| format!("{} {}", c.path, c.effect.as_str()))
            .collect();
        let mut s = format!(
            "Restored {} ({}): {}. Pre-restore backup: {}.",
            self.restored.name,
            self.restored.created,
            changes.join(", "),
            self.pre_restore.name
        );
        for d in &self.details {
            s.push_str(&format!("\n- {d}"));
        }
        if self.restart_needed {
            s.push_str("\nThe config file changed: restart the server for it to apply.");
        }
        s
    }
}
