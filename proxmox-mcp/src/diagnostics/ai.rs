//! The optional AI narrative over a diagnostics report: sanitises the findings and a data
//! summary, sends them to the configured backend, and returns the analysis labelled apart from
//! the rule findings. Any failure leaves the rule report intact with a note.

use schemars::JsonSchema;
use serde::Serialize;

use super::rules::Finding;
use crate::engine::Engine;
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
    /// The analysis text, when the backend answered.
    pub text: Option<String>,
    /// Why there is no text (timeout, 429, malformed reply, rate limit …).
    pub note: Option<String>,
}

/// `None` when the narrative is off (`diagnostics.ai.backend = none`, or
/// `PROXMOX_MCP_AI_ENABLED` not set).
pub async fn narrate(
    engine: &Engine,
    input: NarrativeInput<'_>,
    progress: &Progress,
) -> Option<Narrative> {
    let _ = (engine, input, progress);
    None
}
