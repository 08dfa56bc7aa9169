//! The optional AI narrative over a diagnostics report: sanitises the findings and a data summary, sends them to the configured backend, and returns the analysis labelled apart from the rule findings.
//!
//! Off unless `diagnostics.ai.backend` names a backend (`PROXMOX_MCP_AI_ENABLED` is resolved
//! into it by the configuration; `backend = none` is off). `diagnostics.ai.timeout`
//! (`PROXMOX_MCP_AI_TIMEOUT`, default 60 s) bounds the whole request, retries included.
//!
//! Keys are read at call time and never logged, audited or returned:
//! - `anthropic`: `ANTHROPIC_API_KEY`, else `CLAUDE_CODE_API_KEY`, else the keyring entry
//!   (service `proxmox-mcp`, user `ai-anthropic`);
//! - `openai` (any `/v1/chat/completions` server): `OPENAI_API_KEY` when set, else no key
//!   (local servers need none);
//! - `claude-cli`: the command's own login; it inherits the environment.
//!
//! Before anything leaves, the whole prompt goes through [`sanitize`] (secrets always; IP
//! addresses and host names with `mask_hosts`), then through the audit redaction, which also
//! masks every credential this process holds (the clusters' token secrets and passwords). Requests are limited to
//! `diagnostics.ai.per_minute` per state directory (0: no limit), and each one writes an audit
//! record (backend, model, bytes sent and received, duration, outcome), never the payload.
//! Any failure (no key, rate limit, HTTP 429/529/5xx after at most one retry, a malformed
//! reply, the timeout) returns a [`Narrative`] with `text: None` and the reason in `note`: the
//! rule report stands on its own.

mod anthropic;
mod claude_cli;
mod http;
mod openai;
pub mod sanitize;
mod sse;

use std::collections::{HashMap, VecDeque};
use std::fmt::Write as _;
use std::path::PathBuf;
use std::sync::{LazyLock, Mutex};
use std::time::Duration;

use schemars::JsonSchema;
use serde::Serialize;
use serde_json::json;
use tokio::time::Instant;

use super::rules::Finding;
use crate::audit::event::{Event, Outcome};
use crate::config::{AiBackend, AiConfig, Secret};
use crate::engine::Engine;
use crate::policy::Class;
use crate::progress::Progress;

/// What the narrative is about.
pub struct NarrativeInput<'a> {
    /// The analysis tool (`analyze_cluster_health`).
    pub tool: &'a str,
    pub findings: &'a [Finding],
    /// A compact summary of the data behind the findings (counts, versions, usage), Markdown.
    pub summary: String,
}

/// The AI analysis, or why there is none.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct Narrative {
    /// `anthropic`, `openai`, `claude-cli`.
    pub backend: String,
    pub model: Option<String>,
    /// The analysis text, when the backend answered, labelled `AI analysis (model X): …`.
    pub text: Option<String>,
    /// Why there is no text (timeout, 429, malformed reply, rate limit …), or a remark beside
    /// it (the answer was cut at the token limit).
    pub note: Option<String>,
    /// How long the request took, in milliseconds.
    pub duration_ms: u64,
}

/// The API keys the backends may use, read at call time.
#[derive(Debug, Clone, Default)]
pub struct Keys {
    pub anthropic: Option<Secret>,
    pub openai: Option<Secret>,
}

/// The keyring entry of the Anthropic key (service `proxmox-mcp`).
pub const KEYRING_USER: &str = "ai-anthropic";

impl Keys {
    /// The keys `backend` needs, from the environment and (Anthropic) the keyring.
    pub fn from_env(backend: AiBackend) -> Keys {
        let env = |name: &str| {
            std::env::var(name)
                .ok()
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
                .map(Secret::new)
        };
        let keys = match backend {
            AiBackend::Anthropic => Keys {
                anthropic: env("ANTHROPIC_API_KEY")
                    .or_else(|| env("CLAUDE_CODE_API_KEY"))
                    .or_else(keyring_key),
                openai: None,
            },
            AiBackend::OpenAi => Keys {
                anthropic: None,
                openai: env("OPENAI_API_KEY"),
            },
            AiBackend::None | AiBackend::ClaudeCli => Keys::default(),
        };
        for k in keys.anthropic.iter().chain(&keys.openai) {
            crate::audit::redact::register_secret(k.expose());
        }
        keys
    }
}

fn keyring_key() -> Option<Secret> {
    let entry = keyring::Entry::new(crate::config::load::KEYRING_SERVICE, KEYRING_USER).ok()?;
    match entry.get_password() {
        Ok(k) if !k.trim().is_empty() => Some(Secret::new(k.trim())),
        Ok(_) | Err(keyring::Error::NoEntry) => None,
        Err(e) => {
            tracing::debug!("the AI key could not be read from the keyring: {e}");
            None
        }
    }
}

/// One request as the backends see it: the prompt already sanitised.
pub(crate) struct Call<'a> {
    cfg: &'a AiConfig,
    keys: &'a Keys,
    system: &'static str,
    prompt: String,
    deadline: Instant,
    progress: &'a Progress,
}

/// A backend's answer.
pub(crate) struct Reply {
    text: String,
    model: Option<String>,
    note: Option<String>,
    sent: usize,
    received: usize,
}

/// Why a backend gave no answer, and the bytes that went each way.
pub(crate) struct Failed {
    why: String,
    sent: usize,
    received: usize,
}

impl Failed {
    fn new(why: impl Into<String>) -> Self {
        Failed {
            why: why.into(),
            sent: 0,
            received: 0,
        }
    }
}

/// What the model is asked to be.
pub const SYSTEM_PROMPT: &str = "You are a senior Proxmox VE engineer reviewing the output of \
an automated diagnostics run on a Proxmox VE cluster. You receive the rule findings (severity, \
rule id, object, evidence, recommendation, fix) and a summary of the data behind them. Write a \
short analysis for the administrator: what matters most and why, how findings relate (a common \
cause, a sequence of failures), the order in which to fix them, and risks of the fixes \
(downtime, migrations, quorum). Stay with the given facts: do not invent findings, numbers or \
objects, and say when the data is insufficient. Values shown as **** or aliases such as \
host-1 or ip-1 were masked on purpose; refer to them as given. Answer in Markdown, at most \
about 400 words.";

/// Most findings listed in one prompt (the report has them all).
const MAX_FINDINGS: usize = 150;
/// Most characters of the summary in one prompt.
const MAX_SUMMARY: usize = 20_000;

/// The user message: the tool, the summary and the findings, before sanitising.
pub fn prompt(input: &NarrativeInput<'_>) -> String {
    let mut p = format!("Analysis tool: {}\n\n## Data summary\n", input.tool);
    let summary: String = input.summary.chars().take(MAX_SUMMARY).collect();
    p.push_str(&summary);
    if summary.len() < input.summary.len() {
        p.push_str("\n… (summary shortened)");
    }
    let _ = write!(p, "\n\n## Findings ({})\n", input.findings.len());
    if input.findings.is_empty() {
        p.push_str("No rule reported a problem.\n");
    }
    for f in input.findings.iter().take(MAX_FINDINGS) {
        let _ = write!(
            p,
            "- [{:?}] {} {} — {}. Evidence: {}. Recommendation: {}",
            f.severity, f.rule, f.object, f.title, f.evidence, f.recommendation
        );
        if let Some(fix) = &f.fix {
            let _ = write!(p, " Fix: `{fix}`");
        }
        p.push('\n');
    }
    if input.findings.len() > MAX_FINDINGS {
        let _ = writeln!(
            p,
            "… and {} more findings of lower severity",
            input.findings.len() - MAX_FINDINGS
        );
    }
    p
}

/// The node names the findings name (`node/pve1`, `storage/pve1/local`, `disk/pve1/sda` …,
/// and `/nodes/pve1/…` in their text and fixes).
pub fn hosts(findings: &[Finding]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for f in findings {
        let texts = [Some(&f.evidence), Some(&f.title), f.fix.as_ref()];
        for text in texts.into_iter().flatten() {
            for after in text.split("/nodes/").skip(1) {
                let name: String = after
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '.')
                    .collect();
                let name = name.trim_end_matches('.');
                if !name.is_empty() && !out.iter().any(|o| o == name) {
                    out.push(name.to_owned());
                }
            }
        }
        let mut parts = f.object.split('/');
        let kind = parts.next().unwrap_or_default();
        let node = parts.next();
        let per_node = matches!(kind, "node" | "repo")
            || (matches!(
                kind,
                "storage" | "disk" | "zfs" | "cert" | "service" | "iface"
            ) && f.object.matches('/').count() >= 2);
        if let Some(n) = node.filter(|n| per_node && !n.is_empty())
            && !out.iter().any(|o| o == n)
        {
            out.push(n.to_owned());
        }
    }
    out.sort();
    out
}

fn backend_name(b: AiBackend) -> &'static str {
    match b {
        AiBackend::None => "none",
        AiBackend::Anthropic => "anthropic",
        AiBackend::OpenAi => "openai",
        AiBackend::ClaudeCli => "claude-cli",
    }
}

/// Requests made per state directory in the last minute.
static RECENT: LazyLock<Mutex<HashMap<PathBuf, VecDeque<std::time::Instant>>>> =
    LazyLock::new(Default::default);

/// Takes a slot, or says how long until one frees.
fn take_slot(key: PathBuf, per_minute: u32) -> Result<(), Duration> {
    if per_minute == 0 {
        return Ok(());
    }
    let now = std::time::Instant::now();
    let mut all = RECENT.lock().unwrap_or_else(|p| p.into_inner());
    let q = all.entry(key).or_default();
    while q
        .front()
        .is_some_and(|t| now.duration_since(*t) >= Duration::from_secs(60))
    {
        q.pop_front();
    }
    if q.len() >= per_minute as usize {
        let oldest = *q.front().expect("non-empty");
        return Err(Duration::from_secs(60).saturating_sub(now.duration_since(oldest)));
    }
    q.push_back(now);
    Ok(())
}

/// `None` when the narrative is off (`diagnostics.ai.backend = none`, or
/// `PROXMOX_MCP_AI_ENABLED` not set).
pub async fn narrate(
    engine: &Engine,
    input: NarrativeInput<'_>,
    progress: &Progress,
) -> Option<Narrative> {
    let backend = engine.config().diagnostics.ai.backend;
    if backend == AiBackend::None {
        return None;
    }
    let keys = Keys::from_env(backend);
    narrate_with(engine, &keys, input, progress).await
}

/// [`narrate`] with the keys given (tests, or a caller that already holds them).
pub async fn narrate_with(
    engine: &Engine,
    keys: &Keys,
    input: NarrativeInput<'_>,
    progress: &Progress,
) -> Option<Narrative> {
    let cfg = &engine.config().diagnostics.ai;
    if cfg.backend == AiBackend::None {
        return None;
    }
    let backend = backend_name(cfg.backend);
    let model = match cfg.backend {
        AiBackend::Anthropic => Some(
            cfg.model
                .clone()
                .unwrap_or_else(|| anthropic::DEFAULT_MODEL.to_owned()),
        ),
        _ => cfg.model.clone(),
    };
    let started = Instant::now();
    let mut narrative = Narrative {
        backend: backend.to_owned(),
        model: model.clone(),
        text: None,
        note: None,
        duration_ms: 0,
    };
    if let Err(wait) = take_slot(engine.safety().state_dir().to_owned(), cfg.per_minute) {
        narrative.note = Some(format!(
            "AI analysis skipped: at most {} requests per minute (diagnostics.ai.per_minute); \
             the next is possible in {} s",
            cfg.per_minute,
            wait.as_secs().max(1)
        ));
        audit(engine, input.tool, &narrative, 0, 0, Outcome::Refused);
        return Some(narrative);
    }
    let mut sanitizer = sanitize::Sanitizer::new(cfg.mask_hosts, &hosts(input.findings));
    let call = Call {
        cfg,
        keys,
        system: SYSTEM_PROMPT,
        // The shapes first, then every secret this process holds (a PVE password is no shape).
        prompt: crate::audit::redact::redact_str(&sanitizer.text(&prompt(&input))).into_owned(),
        deadline: started + cfg.timeout,
        progress,
    };
    let result = match cfg.backend {
        AiBackend::Anthropic => {
            anthropic::send(&call, model.as_deref().unwrap_or(anthropic::DEFAULT_MODEL)).await
        }
        AiBackend::OpenAi => match model.as_deref() {
            Some(m) => openai::send(&call, m).await,
            None => Err(Failed::new(
                "no model configured (diagnostics.ai.model): an OpenAI-compatible server needs one",
            )),
        },
        AiBackend::ClaudeCli => claude_cli::send(&call, model.as_deref()).await,
        AiBackend::None => unreachable!("handled above"),
    };
    narrative.duration_ms = started.elapsed().as_millis() as u64;
    let (sent, received, outcome) = match result {
        Ok(reply) if !reply.text.trim().is_empty() => {
            if reply.model.is_some() {
                narrative.model = reply.model;
            }
            let label = match &narrative.model {
                Some(m) => format!("model {m}"),
                None => backend.to_owned(),
            };
            narrative.text = Some(format!("AI analysis ({label}): {}", reply.text.trim()));
            narrative.note = reply.note;
            (reply.sent, reply.received, Outcome::Allowed)
        }
        Ok(reply) => {
            narrative.note =
                Some("AI analysis unavailable: the backend returned an empty answer".into());
            (reply.sent, reply.received, Outcome::Failed)
        }
        Err(f) => {
            narrative.note = Some(format!("AI analysis unavailable: {}", f.why));
            (f.sent, f.received, Outcome::Failed)
        }
    };
    audit(engine, input.tool, &narrative, sent, received, outcome);
    Some(narrative)
}

/// One audit record per request: sizes and outcome, never the payload or a key.
fn audit(
    engine: &Engine,
    tool: &str,
    n: &Narrative,
    sent: usize,
    received: usize,
    outcome: Outcome,
) {
    let mut ev = Event::new(tool, Class::Read, outcome);
    ev.reason = "AI narrative request".into();
    ev.target = Some(format!("ai/{}", n.backend));
    ev.arguments = json!({
        "backend": n.backend,
        "model": n.model,
        "bytes_sent": sent,
        "bytes_received": received,
    });
    ev.result = Some(match (&n.text, &n.note) {
        (Some(_), _) => "answered".to_owned(),
        (None, Some(note)) => note.clone(),
        (None, None) => "no answer".to_owned(),
    });
    ev.duration_ms = n.duration_ms;
    ev.mode = engine.safety().mode().as_str().to_owned();
    let written = engine
        .safety()
        .audit()
        .and_then(|log| log.append(&ev).map(|_| ()).map_err(|e| e.to_string()));
    if let Err(e) = written {
        tracing::warn!("the AI request could not be audited: {e}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagnostics::rules::{Area, Confidence, Severity};

    fn finding(object: &str, evidence: &str) -> Finding {
        Finding {
            rule: "T01",
            area: Area::Health,
            severity: Severity::Warning,
            object: object.into(),
            title: "a title".into(),
            evidence: evidence.into(),
            recommendation: "do it".into(),
            fix: Some("pvesh set /x".into()),
            tool_call: None,
            confidence: Confidence::High,
        }
    }

    fn check(objects: &[&str], want: &[&str]) {
        let f: Vec<Finding> = objects.iter().map(|o| finding(o, "")).collect();
        assert_eq!(hosts(&f), want, "{objects:?}");
    }

    #[test]
    fn hosts_from_objects() {
        check(
            &["node/pve2", "storage/pve1/local", "storage/nfs", "qemu/101"],
            &["pve1", "pve2"],
        );
        check(&["disk/pve3//dev/sda", "repo/pve3", "cluster"], &["pve3"]);
        check(&["user/root@pam", "token/a@pve!x"], &[]);
        let mut f = finding("qemu/101", "PUT /nodes/pve9/qemu/101/config");
        f.fix = Some("pvesh set /nodes/pve8/qemu/101/config --agent 1".into());
        assert_eq!(hosts(&[f]), ["pve8", "pve9"]);
    }

    #[test]
    fn prompt_lists_findings() {
        let f = [finding("node/pve1", "cpu 91 %")];
        let p = prompt(&NarrativeInput {
            tool: "analyze_cluster_health",
            findings: &f,
            summary: "3 nodes".into(),
        });
        assert!(p.contains("Analysis tool: analyze_cluster_health"));
        assert!(p.contains("## Findings (1)"));
        assert!(p.contains("[Warning] T01 node/pve1 — a title. Evidence: cpu 91 %. Recommendation: do it Fix: `pvesh set /x`"));
    }

    #[test]
    fn rate_limit_per_directory() {
        let dir = PathBuf::from("/nonexistent/rate-limit-test");
        assert!(take_slot(dir.clone(), 2).is_ok());
        assert!(take_slot(dir.clone(), 2).is_ok());
        let wait = take_slot(dir.clone(), 2).unwrap_err();
        assert!(wait > Duration::from_secs(58), "{wait:?}");
        assert!(take_slot(PathBuf::from("/nonexistent/other"), 2).is_ok());
        assert!(take_slot(dir, 0).is_ok());
    }
}
