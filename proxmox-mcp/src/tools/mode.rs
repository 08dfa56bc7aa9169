//! `toggle_mode`: show the server's mode, or change it. Safer is immediate; less safe needs a
//! human, whatever the current mode (even read-only can be left, but only with a person's yes).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{AssessCtx, Assessment, Hints, Render, ToolCtx, ToolDef, ToolError};
use crate::policy::Class;
use crate::policy::decision::Decision;
use crate::policy::engine::Request;
use crate::policy::mode::Mode;

pub fn tools() -> Vec<ToolDef> {
    vec![
        ToolDef::new(
            "toggle_mode",
            "Show or change the safety mode",
            "Show the safety mode, or switch it: read-only (write tools hidden), safe (every \
             change asks a human), normal (only destructive actions and commands ask). \
             Switching to a safer mode is immediate; to a less safe one a human must approve.",
            Class::Modify,
            Hints {
                read_only: false,
                destructive: false,
                idempotent: true,
                open_world: false,
            },
            &[],
            toggle_mode,
        )
        .assessed_by(assess)
        .local(),
    ]
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ModeParams {
    /// read-only, safe or normal; omit to show the current mode
    pub mode: Option<String>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct ModeResult {
    pub mode: &'static str,
    /// The mode before this call, when it changed
    #[serde(skip_serializing_if = "Option::is_none")]
    pub previous: Option<&'static str>,
    pub changed: bool,
    /// What the mode lets through
    pub meaning: &'static str,
    /// Set when the mode file was unreadable and read-only was assumed
    #[serde(skip_serializing_if = "Option::is_none")]
    pub warning: Option<String>,
}

fn parse(p: &ModeParams) -> Result<Option<Mode>, ToolError> {
    p.mode
        .as_deref()
        .map(|m| {
            m.parse::<Mode>()
                .map_err(|e| ToolError::invalid(e.to_string()))
        })
        .transpose()
}

fn assess(ctx: &AssessCtx, p: ModeParams) -> Result<Assessment, ToolError> {
    let current = ctx.mode;
    let Some(want) = parse(&p)? else {
        return Ok(Assessment::new(Request::new(Class::Read), "show the mode"));
    };
    let summary = format!("switch the safety mode from {current} to {want}");
    let (class, decision) = if want == current {
        (Class::Read, Decision::Allow)
    } else if want.is_safer_than(current) {
        (Class::Modify, Decision::Allow)
    } else {
        (
            Class::Modify,
            Decision::Confirm(format!(
                "Switching from {current} to the less safe {want} mode needs a human's approval."
            )),
        )
    };
    let mut a = Assessment::new(Request::new(class), summary).target("mode");
    a.decision = Some(decision);
    Ok(a)
}

pub fn meaning(mode: Mode) -> &'static str {
    match mode {
        Mode::ReadOnly => "reads only: write tools are hidden and every change is refused",
        Mode::Safe => "every change (start, stop, config, delete, commands) asks a human first",
        Mode::Normal => "changes run; destructive actions and command execution ask a human first",
    }
}

async fn toggle_mode(ctx: ToolCtx, p: ModeParams) -> Result<ModeResult, ToolError> {
    let safety = ctx.engine.safety();
    let status = safety.mode_status();
    let current: Mode = status.mode.into();
    let warning = status.fallback;
    let want = parse(&p)?;
    match want {
        Some(want) if want != current => {
            let previous = safety.set_mode(want).map_err(ToolError::Config)?;
            Ok(ModeResult {
                mode: want.as_str(),
                previous: Some(previous.as_str()),
                changed: true,
                meaning: meaning(want),
                warning: None,
            })
        }
        _ => Ok(ModeResult {
            mode: current.as_str(),
            previous: None,
            changed: false,
            meaning: meaning(current),
            warning,
        }),
    }
}

impl Render for ModeResult {
    fn render(&self) -> String {
        let mut s = match self.previous {
            Some(prev) => format!(
                "Mode changed from {prev} to {}: {}.",
                self.mode, self.meaning
            ),
            None => format!("Mode: {} ({}).", self.mode, self.meaning),
        };
        if let Some(w) = &self.warning {
            s.push_str(&format!("\nWarning: {w}"));
        }
        s
    }
}
