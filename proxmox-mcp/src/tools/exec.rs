//! Command execution: `execute_command` (a node's shell, or a container through `pct exec`) and
//! `execute_vm_command` (inside a VM through the QEMU guest agent). Both are parsed and
//! classified by [`crate::policy::command::analyze`] before anything runs; the most dangerous
//! part of a command decides.

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::args::{NodeName, Vmid};
use super::request::assess_request;
use super::{AssessCtx, Assessment, Hints, Render, ToolCtx, ToolDef, ToolError};
use crate::audit::event::format_time;
use crate::config::{ExecConfig, ExecutorKind};
use crate::exec::{ExecError, ExecOutput, ExecRequest, Executor, OUTPUT_CAP};
use crate::policy::Class;
use crate::policy::advice;
use crate::policy::command::{Analysis, MAX_COMMAND_LEN, ServerFiles, analyze};
use crate::policy::engine::Request;
use crate::policy::protect::Identity;
use crate::pve::Method;
use crate::pve::types::GuestKind;

/// Text the model reads is cut here per stream; `structuredContent` keeps up to [`OUTPUT_CAP`].
const MAX_TEXT_STREAM: usize = 16 * 1024;
/// The guest agent's own limit on `input-data`.
const MAX_AGENT_INPUT: usize = 64 * 1024;

const EXEC_HINTS: Hints = Hints {
    read_only: false,
    destructive: true,
    idempotent: false,
    open_world: false,
};

pub fn tools() -> Vec<ToolDef> {
    vec![
        ToolDef::new(
            "execute_command",
            "Run a shell command on a node",
            "Run a shell command on a node, or in container vmid (pct exec). It is parsed and \
             classified first: reads (qm list, df -h, journalctl) run at once, changes follow \
             the safety mode.",
            Class::Exec,
            EXEC_HINTS,
            &["GET /cluster/resources"],
            execute_command,
        )
        .assessed_async_by(assess_command),
        ToolDef::new(
            "execute_vm_command",
            "Run a command inside a VM",
            "Run a program inside a VM through the QEMU guest agent; command is an argv list or \
             a string (split without expansion). Classified like shell commands.",
            Class::Exec,
            EXEC_HINTS,
            &[
                "GET /cluster/resources",
                "POST /nodes/{node}/qemu/{vmid}/agent/exec",
                "GET /nodes/{node}/qemu/{vmid}/agent/exec-status",
            ],
            execute_vm_command,
        )
        .assessed_async_by(assess_vm_command),
    ]
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CommandParams {
    /// Shell command line
    pub command: String,
    /// Default: the local node (local executor)
    pub node: Option<NodeName>,
    /// Container to run in (pct exec)
    pub vmid: Option<Vmid>,
    /// Seconds (default 60, max 600)
    #[schemars(range(min = 1, max = 600))]
    pub timeout: Option<u64>,
}

/// A command as a string or an argv list.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum CommandArg {
    Argv(Vec<String>),
    Line(String),
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct VmCommandParams {
    pub vmid: Vmid,
    /// e.g. ["cat","/etc/os-release"]
    pub command: CommandArg,
    /// Text passed on stdin
    pub input: Option<String>,
    /// Seconds (default 60, max 600)
    #[schemars(range(min = 1, max = 600))]
    pub timeout: Option<u64>,
}

/// The response format shared by both execution tools.
#[derive(Debug, Serialize, JsonSchema)]
pub struct ExecResult {
    pub success: bool,
    pub stdout: String,
    pub stderr: String,
    pub exit_code: Option<i32>,
    // Seconds
    pub execution_time: f64,
    // When it started (UTC)
    pub timestamp: String,
    pub mode: &'static str,
    pub class: Class,
    // What the command does, part by part
    pub explanation: String,
    pub warnings: Vec<String>,
    pub suggestions: Vec<String>,
    // Where it ran: node, container or VM, and how
    pub target: String,
}

/// Checks every command before it is parsed: size, NUL bytes, emptiness.
fn check_command(command: &str) -> Result<(), ToolError> {
    if command.len() > MAX_COMMAND_LEN {
        return Err(ToolError::invalid(format!(
            "command is {} bytes; the limit is {MAX_COMMAND_LEN}. Put long scripts in a file on \
             the node and run that",
            command.len()
        )));
    }
    if command.contains('\0') {
        return Err(ToolError::invalid(
            "command contains a NUL byte, which no shell can pass on; nothing was run",
        ));
    }
    if command.trim().is_empty() {
        return Err(ToolError::invalid("command is empty"));
    }
    Ok(())
}

fn timeout(requested: Option<u64>, exec: &ExecConfig) -> Result<Duration, ToolError> {
    match requested {
        None => Ok(exec.timeout),
        Some(0) => Err(ToolError::invalid("timeout must be at least 1 second")),
        Some(s) if Duration::from_secs(s) > ExecConfig::MAX_TIMEOUT => {
            Err(ToolError::invalid(format!(
                "timeout {s} s is over the limit of {} s",
                ExecConfig::MAX_TIMEOUT.as_secs()
            )))
        }
        Some(s) => Ok(Duration::from_secs(s)),
    }
}

/// Past this, a classification is abandoned and the command refused. Classification is linear
/// in the command (at most 64 KiB), so only a starved host ever gets near it.
const CLASSIFY_DEADLINE: Duration = Duration::from_secs(5);

/// Where a command runs, for classification: a node's shell through the configured executor,
/// or inside a guest (a container through `pct exec`, a VM through its agent).
pub(crate) enum Site<'a> {
    Node(&'a ExecConfig),
    Guest,
}

/// Analyses `command` as it would run at `site`, on the blocking pool with a deadline, so no
/// command can hold up the async workers or other calls.
pub(crate) async fn analyze_bounded(
    command: &str,
    identity: &Identity,
    server: &Arc<ServerFiles>,
    site: Site<'_>,
) -> Result<Analysis, ToolError> {
    let home = match site {
        Site::Node(exec) => Executor::new(exec).workdir().1,
        Site::Guest => "/root".to_string(),
    };
    let (command, identity, server) = (command.to_owned(), identity.clone(), server.clone());
    let task = tokio::task::spawn_blocking(move || {
        let ctx = identity.context(&server, "/", &home);
        analyze(&command, &ctx)
    });
    match tokio::time::timeout(CLASSIFY_DEADLINE, task).await {
        Ok(Ok(analysis)) => Ok(analysis),
        Ok(Err(e)) => Err(ToolError::Refused(format!(
            "the command could not be classified ({e}); nothing was run"
        ))),
        Err(_) => Err(ToolError::Refused(format!(
            "the command could not be classified within {} s; nothing was run. Send a \
             shorter, plainer command",
            CLASSIFY_DEADLINE.as_secs()
        ))),
    }
}

async fn assess_shell(
    ctx: &AssessCtx,
    command: &str,
    shown: String,
    guest: Option<u32>,
) -> Result<(Assessment, Analysis), ToolError> {
    check_command(command)?;
    let site = if guest.is_some() {
        Site::Guest
    } else {
        Site::Node(&ctx.exec)
    };
    let analysis = analyze_bounded(command, &ctx.identity, &ctx.server, site).await?;
    let mut guests = analysis.vmids();
    guests.extend(guest);
    let mut a = Assessment::new(Request::command(&analysis), shown).guests(guests);
    // Guest sets a `pvesh`/wrapper request selects (`stopall`, `--all`), resolved by the gate.
    a.selections.extend(analysis.selections());
    Ok((a, analysis))
}

async fn assess_command(ctx: AssessCtx, p: CommandParams) -> Result<Assessment, ToolError> {
    timeout(p.timeout, &ctx.exec)?;
    let target = match (p.vmid, &p.node) {
        (Some(v), _) => format!("container {}", v.0),
        (None, Some(n)) => format!("node {n}"),
        (None, None) => "the local node".to_string(),
    };
    let shown = format!("on {target}: {}", shown_command(&p.command));
    let (a, _) = assess_shell(&ctx, &p.command, shown, p.vmid.map(|v| v.0)).await?;
    Ok(a.target(target))
}

async fn assess_vm_command(ctx: AssessCtx, p: VmCommandParams) -> Result<Assessment, ToolError> {
    timeout(p.timeout, &ctx.exec)?;
    let argv = argv_of(&p.command)?;
    if p.input.as_ref().is_some_and(|i| i.len() > MAX_AGENT_INPUT) {
        return Err(ToolError::invalid(format!(
            "input is over the guest agent's limit of {MAX_AGENT_INPUT} bytes"
        )));
    }
    let vmid = p.vmid.0;
    let all = ctx.guests().await?;
    let guest = all
        .iter()
        .find(|r| r.vmid == Some(vmid) && r.guest_kind().is_some())
        .ok_or_else(|| {
            ToolError::NotFound(format!(
                "VM {vmid} does not exist in the cluster (list_vms shows the VMs)"
            ))
        })?;
    if guest.guest_kind() != Some(GuestKind::Qemu) {
        return Err(ToolError::invalid(format!(
            "{vmid} is a container, not a VM: use execute_command with vmid for containers"
        )));
    }
    let node = guest.node.clone().unwrap_or_default();
    let mut params = crate::pve::Params::new();
    params.insert("command".into(), json!(argv));
    if let Some(input) = &p.input {
        params.insert("input-data".into(), json!(input));
    }
    let request = crate::pve::Request::new(
        Method::Post,
        format!(
            "/nodes/{}/qemu/{vmid}/agent/exec",
            crate::pve::params::encode_segment(&node)
        ),
        params,
    );
    let mut shown = format!("in VM {vmid}: {}", shown_command(&shell_join(&argv)));
    if let Some(input) = &p.input {
        shown.push_str(&format!("\nwith standard input:\n{}", shown_command(input)));
    }
    // The agent request itself is assessed, as `proxmox_api` assesses it.
    let mut a = assess_request(&ctx, request.clone(), shown).await?;
    a.set_plan(AgentExec { node, request })?;
    Ok(a.target(format!("qemu/{vmid}")))
}

/// What `execute_vm_command` sends: the agent request its assessment judged.
#[derive(Debug, Serialize)]
struct AgentExec {
    node: String,
    request: crate::pve::Request,
}

/// A command as a human (and the audit log) sees it: whole, with secrets masked. Control and
/// invisible characters are escaped where it is shown ([`super::render::visible`]).
pub fn shown_command(command: &str) -> String {
    crate::audit::redact::redact_str(command).into_owned()
}

/// The argv of a command argument: a list as given (checked), a string split into words.
pub fn argv_of(c: &CommandArg) -> Result<Vec<String>, ToolError> {
    let argv = match c {
        CommandArg::Argv(v) => v.clone(),
        CommandArg::Line(s) => {
            check_command(s)?;
            split_words(s).map_err(ToolError::invalid)?
        }
    };
    if argv.is_empty() || argv[0].is_empty() {
        return Err(ToolError::invalid("command is empty"));
    }
    let total: usize = argv.iter().map(|a| a.len() + 1).sum();
    if total > MAX_COMMAND_LEN {
        return Err(ToolError::invalid(format!(
            "command is {total} bytes; the limit is {MAX_COMMAND_LEN}"
        )));
    }
    if argv.iter().any(|a| a.contains('\0')) {
        return Err(ToolError::invalid(
            "command contains a NUL byte; nothing was run",
        ));
    }
    Ok(argv)
}

/// Splits a command line into words like a POSIX shell, without any expansion: quotes and
/// backslashes group and escape, nothing else is special.
pub fn split_words(s: &str) -> Result<Vec<String>, String> {
    let mut words = Vec::new();
    let mut cur = String::new();
    let mut in_word = false;
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        match c {
            '\'' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('\'') => break,
                        Some(x) => cur.push(x),
                        None => return Err("unbalanced single quote in command".into()),
                    }
                }
            }
            '"' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('"') => break,
                        Some('\\') => match chars.next() {
                            Some(x @ ('"' | '\\' | '$' | '`')) => cur.push(x),
                            Some(x) => {
                                cur.push('\\');
                                cur.push(x);
                            }
                            None => return Err("unbalanced double quote in command".into()),
                        },
                        Some(x) => cur.push(x),
                        None => return Err("unbalanced double quote in command".into()),
                    }
                }
            }
            '\\' => {
                in_word = true;
                match chars.next() {
                    Some(x) => cur.push(x),
                    None => return Err("command ends with a lone backslash".into()),
                }
            }
            c if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut cur));
                    in_word = false;
                }
            }
            c => {
                in_word = true;
                cur.push(c);
            }
        }
    }
    if in_word {
        words.push(cur);
    }
    Ok(words)
}

/// Quotes one word for a POSIX shell (single quotes; `'` as `'\''`).
pub fn shell_quote(word: &str) -> String {
    if !word.is_empty()
        && word
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_./:=@%+,".contains(&b))
    {
        return word.to_owned();
    }
    format!("'{}'", word.replace('\'', r"'\''"))
}

pub fn shell_join(argv: &[String]) -> String {
    argv.iter()
        .map(|w| shell_quote(w))
        .collect::<Vec<_>>()
        .join(" ")
}

fn explanation(a: &Analysis) -> String {
    if let Some(e) = &a.parse_error {
        return format!("could not be fully parsed ({e}), so it counts as destructive");
    }
    a.parts
        .iter()
        .map(|p| p.explanation.clone())
        .collect::<Vec<_>>()
        .join("; ")
}

fn suggestions(a: &Analysis) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for p in &a.parts {
        for s in advice::alternatives(&p.argv, p.class) {
            if !out.contains(&s) {
                out.push(s);
            }
        }
    }
    out.truncate(3);
    out
}

/// Builds the shared response from an executor's output.
fn result(
    ctx: &ToolCtx,
    analysis: &Analysis,
    out: ExecOutput,
    started: SystemTime,
    target: String,
) -> ExecResult {
    let mut warnings = Vec::new();
    let mut suggestions = suggestions(analysis);
    let cap_mib = OUTPUT_CAP >> 20;
    if out.stdout_truncated {
        warnings.push(format!(
            "stdout was cut at {cap_mib} MiB; narrow the command (| head, | tail, grep)"
        ));
    }
    if out.stderr_truncated {
        warnings.push(format!("stderr was cut at {cap_mib} MiB"));
    }
    if out.timed_out {
        warnings.push(format!(
            "timed out after {:.0} s and was killed; output is partial",
            out.duration.as_secs_f64()
        ));
        suggestions.insert(
            0,
            "raise timeout (up to 600 s), or start long jobs in the background and poll them"
                .into(),
        );
    }
    if let Some(sig) = out.signal {
        warnings.push(format!("ended by signal {sig}"));
    }
    if out.exit_code == Some(127) {
        suggestions.insert(
            0,
            "exit 127: the command was not found on the target; check the name and PATH".into(),
        );
    }
    suggestions.truncate(3);
    ExecResult {
        success: out.exit_code == Some(0) && !out.timed_out,
        stdout: out.stdout,
        stderr: out.stderr,
        exit_code: out.exit_code,
        execution_time: (out.duration.as_secs_f64() * 1000.0).round() / 1000.0,
        timestamp: format_time(started),
        mode: ctx.mode.as_str(),
        class: analysis.class,
        explanation: explanation(analysis),
        warnings,
        suggestions,
        target,
    }
}

fn exec_config(ctx: &ToolCtx) -> ExecConfig {
    ctx.engine
        .config()
        .cluster(Some(&ctx.cluster))
        .map(|c| c.exec.clone())
        .unwrap_or_default()
}

fn exec_error(e: ExecError) -> ToolError {
    match e {
        ExecError::Cancelled => ToolError::Cancelled,
        ExecError::Disabled | ExecError::NotLocal { .. } => ToolError::Refused(e.to_string()),
        other => ToolError::Config(other.to_string()),
    }
}

async fn execute_command(ctx: ToolCtx, p: CommandParams) -> Result<ExecResult, ToolError> {
    check_command(&p.command)?;
    let cfg = exec_config(&ctx);
    let executor = Executor::new(&cfg);
    if executor.kind() == ExecutorKind::Disabled {
        return Err(exec_error(ExecError::Disabled));
    }
    let timeout = timeout(p.timeout, &cfg)?;
    let site = if p.vmid.is_some() {
        Site::Guest
    } else {
        Site::Node(&cfg)
    };
    let analysis =
        analyze_bounded(&p.command, &ctx.identity, ctx.engine.server_files(), site).await?;
    let (node, line, target) = match p.vmid {
        Some(vmid) => {
            let vmid = vmid.0;
            let guest = ctx.pve.locate_guest(vmid).await?;
            if guest.guest_kind() != Some(GuestKind::Lxc) {
                return Err(ToolError::invalid(format!(
                    "{vmid} is a QEMU VM, not a container: use execute_vm_command for VMs"
                )));
            }
            let node = guest.node.clone().unwrap_or_default();
            let line = format!("pct exec {vmid} -- /bin/sh -c {}", shell_quote(&p.command));
            let target = format!("container {vmid} on {node} ({})", executor.describe(&node));
            (node, line, target)
        }
        None => {
            let node = match p.node {
                Some(n) => n.to_string(),
                None if executor.kind() == ExecutorKind::Local => executor.local_node().to_owned(),
                None => {
                    return Err(ToolError::invalid(
                        "node is required with the ssh executor (e.g. \"node\": \"pve1\")",
                    ));
                }
            };
            let target = format!("node {node} ({})", executor.describe(&node));
            (node, p.command.clone(), target)
        }
    };
    let started = SystemTime::now();
    let out = executor
        .run(
            ExecRequest {
                node: &node,
                command: &line,
                stdin: None,
                timeout,
            },
            ctx.cancel.clone(),
        )
        .await
        .map_err(exec_error)?;
    Ok(result(&ctx, &analysis, out, started, target))
}

async fn execute_vm_command(ctx: ToolCtx, p: VmCommandParams) -> Result<ExecResult, ToolError> {
    let cfg = exec_config(&ctx);
    let timeout = timeout(p.timeout, &cfg)?;
    let plan = ctx.plan::<AgentExec>()?;
    let (node, request) = (plan.node.clone(), plan.request.clone());
    let argv = argv_of(&p.command)?;
    let analysis = analyze_bounded(
        &shell_join(&argv),
        &ctx.identity,
        ctx.engine.server_files(),
        Site::Guest,
    )
    .await?;
    let vmid = p.vmid.0;
    let base = request.path.trim_end_matches("/exec").to_string();
    let started = SystemTime::now();
    let t0 = Instant::now();
    let data = ctx
        .pve
        .call(request.method, &request.path, &request.params)
        .await?;
    let pid = data
        .get("pid")
        .and_then(|v| v.as_u64().or_else(|| v.as_str()?.parse().ok()))
        .ok_or_else(|| ToolError::Config(format!("the guest agent returned no pid: {data}")))?;
    let mut q = crate::pve::Params::new();
    q.insert("pid".into(), json!(pid));
    let mut wait = Duration::from_millis(50);
    let status: Value = loop {
        let s = ctx
            .pve
            .call(Method::Get, &format!("{base}/exec-status"), &q)
            .await?;
        let exited = s
            .get("exited")
            .is_some_and(|e| e.as_u64() == Some(1) || e.as_bool() == Some(true));
        if exited {
            break s;
        }
        if t0.elapsed() >= timeout {
            break Value::Null;
        }
        tokio::select! {
            () = tokio::time::sleep(wait.min(timeout.saturating_sub(t0.elapsed()))) => {}
            () = ctx.cancel.cancelled() => return Err(ToolError::Cancelled),
        }
        wait = (wait * 2).min(Duration::from_secs(1));
    };
    let text = |k: &str| {
        let s = status.get(k).and_then(Value::as_str).unwrap_or_default();
        super::render::clip(s, OUTPUT_CAP)
    };
    let truncated = |k: &str| status.get(k).is_some_and(|v| v.as_u64() == Some(1));
    let out = ExecOutput {
        stdout: text("out-data"),
        stderr: text("err-data"),
        exit_code: status
            .get("exitcode")
            .and_then(Value::as_i64)
            .map(|c| c as i32),
        signal: status
            .get("signal")
            .and_then(Value::as_i64)
            .map(|c| c as i32),
        timed_out: status.is_null(),
        stdout_truncated: truncated("out-truncated"),
        stderr_truncated: truncated("err-truncated"),
        duration: t0.elapsed(),
    };
    let mut r = result(
        &ctx,
        &analysis,
        out,
        started,
        format!("VM {vmid} on {node} (guest agent, pid {pid})"),
    );
    if r.exit_code.is_none() && !status.is_null() {
        r.warnings.push("the agent reported no exit code".into());
    }
    if status.is_null() {
        r.warnings
            .push("the guest agent cannot kill the program; it may still be running".into());
    }
    Ok(r)
}

fn section(out: &mut String, name: &str, text: &str) {
    if text.is_empty() {
        return;
    }
    out.push_str(&format!("\n--- {name} ---\n"));
    out.push_str(&super::render::clip(text.trim_end(), MAX_TEXT_STREAM));
    if text.len() > MAX_TEXT_STREAM {
        out.push_str("\n[cut for reading; structuredContent has the full output]");
    }
}

impl Render for ExecResult {
    fn exit_code(&self) -> Option<i32> {
        self.exit_code
    }

    fn render(&self) -> String {
        let code = self
            .exit_code
            .map_or_else(|| "no exit code".to_string(), |c| format!("exit {c}"));
        let mut s = format!(
            "{} {code} in {:.2} s on {}",
            if self.success { "OK" } else { "FAILED" },
            self.execution_time,
            self.target
        );
        section(&mut s, "stdout", &self.stdout);
        section(&mut s, "stderr", &self.stderr);
        for w in &self.warnings {
            s.push_str(&format!("\nWarning: {w}"));
        }
        for h in &self.suggestions {
            s.push_str(&format!("\nSuggestion: {h}"));
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_split_like_a_shell_without_expansion() {
        let w = |s: &str| split_words(s).unwrap();
        assert_eq!(w("cat /etc/os-release"), ["cat", "/etc/os-release"]);
        assert_eq!(
            w(r#"sh -c 'echo "$HOME"'"#),
            ["sh", "-c", r#"echo "$HOME""#]
        );
        assert_eq!(w(r#"echo "a b" c\ d ''"#), ["echo", "a b", "c d", ""]);
        assert_eq!(w("  ls   -l  "), ["ls", "-l"]);
        assert!(split_words("echo 'oops").is_err());
        assert!(split_words("echo \"oops").is_err());
        assert!(split_words("echo oops\\").is_err());
    }

    #[test]
    fn quoting_round_trips_through_the_splitter() {
        for argv in [
            vec!["echo", "it's", "a b", "", "$(rm -rf /)", "`x`", "a\"b"],
            vec!["ls", "-la", "/var/lib/vz"],
        ] {
            let argv: Vec<String> = argv.into_iter().map(String::from).collect();
            assert_eq!(split_words(&shell_join(&argv)).unwrap(), argv);
        }
    }

    #[test]
    fn bad_commands_are_refused_before_parsing() {
        assert!(check_command(&"x".repeat(MAX_COMMAND_LEN + 1)).is_err());
        assert!(check_command("ls\0-l").is_err());
        assert!(check_command("   ").is_err());
        assert!(check_command("qm list").is_ok());
    }
}
