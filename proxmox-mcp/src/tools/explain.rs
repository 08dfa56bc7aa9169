//! `explain_command`: what a shell command or an API call would do, and what the policy would
//! say in every mode. It assesses the call with the very assessor of the tool that would run it
//! (`execute_command` or `proxmox_api`) and decides with [`crate::gate::decide`], the function
//! the dispatch pipeline uses, so explaining never disagrees with running.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::raw_api::{HttpMethod, normalize_path};
use super::{AssessCtx, Hints, Render, ToolCtx, ToolDef, ToolError};
use crate::apidoc::ApiDoc;
use crate::gate::{self, Flags};
use crate::policy::advice;
use crate::policy::engine::Policy;
use crate::policy::mode::Mode;
use crate::policy::{Class, api::classify_api_call};

pub fn tools() -> Vec<ToolDef> {
    vec![
        ToolDef::new(
            "explain_command",
            "Explain a command or API call",
            "Explain a shell command, or an API call (method, path, params), without running \
             it: each part, whether it can be undone, safer alternatives, and the policy \
             decision in every mode.",
            Class::Read,
            Hints::READ,
            &["GET /cluster/resources"],
            explain,
        )
        .local(),
    ]
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ExplainParams {
    /// Shell command line
    pub command: Option<String>,
    pub method: Option<HttpMethod>,
    /// API path, e.g. /nodes/pve1/qemu/100/status/stop
    pub path: Option<String>,
    /// API parameters
    pub params: Option<BTreeMap<String, Value>>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct ModeDecision {
    // allow, confirm or refuse
    pub decision: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct PartInfo {
    pub command: String,
    pub class: Class,
    pub explanation: String,
    pub reversible: bool,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct Explanation {
    // What was explained
    pub subject: String,
    pub class: Class,
    // Decision per mode: read-only, safe, normal
    pub decisions: BTreeMap<&'static str, ModeDecision>,
    // The decision in the current mode
    pub current_mode: &'static str,
    pub changes_something: bool,
    pub reversible: bool,
    pub parts: Vec<PartInfo>,
    pub alternatives: Vec<String>,
    // Root-protection hits (always refused)
    pub protected: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parse_error: Option<String>,
    // From the PVE API schema, when available
    #[serde(skip_serializing_if = "Option::is_none")]
    pub api: Option<ApiInfo>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct ApiInfo {
    pub endpoint: String,
    pub description: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub permissions: Option<String>,
    pub params: BTreeMap<String, String>,
}

/// The API schema, loaded once (from `api_schema` in the config, or the node's own copy).
fn api_doc(ctx: &ToolCtx) -> Option<&'static ApiDoc> {
    static DOC: OnceLock<Option<ApiDoc>> = OnceLock::new();
    DOC.get_or_init(|| {
        let path = ctx.engine.config().api_schema.as_ref()?;
        match ApiDoc::load(path) {
            Ok(doc) => Some(doc),
            Err(e) => {
                tracing::warn!("API schema {}: {e}", path.display());
                None
            }
        }
    })
    .as_ref()
}

async fn explain(ctx: ToolCtx, p: ExplainParams) -> Result<Explanation, ToolError> {
    let (tool, args) = match (&p.command, &p.path) {
        (Some(_), Some(_)) => {
            return Err(ToolError::invalid(
                "give either command (a shell command) or method+path (an API call), not both",
            ));
        }
        (None, None) => {
            return Err(ToolError::invalid(
                "give command (a shell command) or path (an API call, with method)",
            ));
        }
        (Some(c), None) => {
            let mut args = Map::new();
            args.insert("command".into(), Value::from(c.clone()));
            ("execute_command", args)
        }
        (None, Some(path)) => {
            let mut args = Map::new();
            args.insert("path".into(), Value::from(path.clone()));
            if let Some(m) = p.method {
                args.insert("method".into(), serde_json::to_value(m).unwrap_or_default());
            }
            if let Some(params) = &p.params {
                args.insert(
                    "params".into(),
                    Value::Object(params.clone().into_iter().collect()),
                );
            }
            ("proxmox_api", args)
        }
    };
    let def = super::find(tool).expect("the explained tools are registered");
    let exec = ctx
        .engine
        .config()
        .cluster(Some(&ctx.cluster))
        .map(|c| c.exec.clone())
        .unwrap_or_default();
    let exec_cfg = exec.clone();
    // Explained as the dispatcher would judge it: with who we are, read from the cluster.
    let identity = ctx.engine.identity(&ctx.cluster, &ctx.pve).await;
    let assess_ctx = AssessCtx::for_call(
        ctx.cluster.clone(),
        identity.clone(),
        ctx.mode,
        exec,
        ctx.pve.clone(),
        ctx.engine.server_files().clone(),
    );
    let assessment = def.assess(assess_ctx.clone(), &args).await?;
    let base = ctx.engine.safety().policy(identity);
    let mut decisions = BTreeMap::new();
    for mode in Mode::ALL {
        let policy = Policy {
            mode,
            ..base.clone()
        };
        let d = match gate::decide(&policy, &assessment, &assess_ctx, Flags::Check).await {
            Ok(d) => d,
            Err(e) => crate::policy::decision::Decision::Refuse(e.to_string()),
        };
        decisions.insert(
            mode.as_str(),
            ModeDecision {
                decision: d.as_str(),
                reason: d.reason().map(str::to_owned),
            },
        );
    }
    let class = assessment.request.class;
    let protected = assessment
        .request
        .protected
        .iter()
        .map(|h| h.to_string())
        .collect();

    let mut out = Explanation {
        subject: assessment.summary.clone(),
        class,
        decisions,
        current_mode: ctx.mode.as_str(),
        changes_something: class.is_mutation(),
        reversible: true,
        parts: Vec::new(),
        alternatives: Vec::new(),
        protected,
        parse_error: None,
        api: None,
    };
    if let Some(command) = &p.command {
        let site = super::exec::Site::Node(&exec_cfg);
        let analysis =
            super::exec::analyze_bounded(command, &ctx.identity, ctx.engine.server_files(), site)
                .await?;
        out.parse_error = analysis.parse_error.clone();
        out.reversible =
            analysis.parse_error.is_none() && analysis.parts.iter().all(|p| p.reversible);
        for part in &analysis.parts {
            for alt in advice::alternatives(&part.argv, part.class) {
                if !out.alternatives.contains(&alt) {
                    out.alternatives.push(alt);
                }
            }
            out.parts.push(PartInfo {
                command: super::exec::shown_command(&super::exec::shell_join(&part.argv)),
                class: part.class,
                explanation: part.explanation.clone(),
                reversible: part.reversible,
            });
        }
        out.alternatives.truncate(3);
    } else if let Some(raw) = &p.path {
        let method = serde_json::to_value(p.method.unwrap_or(HttpMethod::GET))
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_else(|| "GET".into());
        let path = normalize_path(raw).map_err(ToolError::InvalidArgs)?;
        let params: Map<String, Value> = p.params.clone().unwrap_or_default().into_iter().collect();
        out.reversible = !matches!(class, Class::Destructive);
        out.alternatives = advice::api_alternatives(&method, &path, &params);
        let what = classify_api_call(&method, &path, &params);
        out.parts.push(PartInfo {
            command: format!("{method} {path}"),
            class: what,
            explanation: api_sentence(&method, class),
            reversible: out.reversible,
        });
        if let Some(doc) = api_doc(&ctx)
            && let Some(ep) = doc.lookup(&method, &path)
        {
            out.parts[0].explanation = crate::apidoc::first_sentence(ep.description);
            out.api = Some(ApiInfo {
                endpoint: format!("{method} {}", ep.template),
                description: ep.description.to_string(),
                permissions: ep.permissions.clone(),
                params: doc
                    .describe_params(&method, &path, &params)
                    .into_iter()
                    .map(|(k, v)| (k.to_string(), v))
                    .collect(),
            });
        }
    }
    Ok(out)
}

fn api_sentence(method: &str, class: Class) -> String {
    let verb = match method {
        "GET" => "reads",
        "POST" => "creates or runs",
        "PUT" => "updates",
        "DELETE" => "deletes",
        _ => "calls",
    };
    format!("{verb} an API object ({class})")
}

impl Render for Explanation {
    fn render(&self) -> String {
        let mut s = format!("{} — class {}", self.subject, self.class);
        for p in &self.parts {
            s.push_str(&format!(
                "\n- {} [{}{}]: {}",
                p.command,
                p.class,
                if p.reversible { "" } else { ", irreversible" },
                p.explanation
            ));
        }
        if let Some(e) = &self.parse_error {
            s.push_str(&format!("\nNot fully parsed: {e}"));
        }
        for h in &self.protected {
            s.push_str(&format!("\nProtected: {h}"));
        }
        let d: Vec<String> = self
            .decisions
            .iter()
            .map(|(m, d)| format!("{m}: {}", d.decision))
            .collect();
        s.push_str(&format!(
            "\nPolicy: {} (now {})",
            d.join(", "),
            self.current_mode
        ));
        if let Some(r) = self
            .decisions
            .get(self.current_mode)
            .and_then(|d| d.reason.as_ref())
        {
            s.push_str(&format!("\nWhy: {r}"));
        }
        for a in &self.alternatives {
            s.push_str(&format!("\nSafer: {a}"));
        }
        if let Some(api) = &self.api {
            s.push_str(&format!("\nAPI: {} — {}", api.endpoint, api.description));
            if let Some(p) = &api.permissions {
                s.push_str(&format!("\nPermissions: {p}"));
            }
        }
        s
    }
}
