//! Asking a human. The model must never be able to approve itself, so every path ends at a person:
//!
//! - **2026-07-28 clients** ([`Channel::Mrtr`]): the call returns an input-required result with a
//!   form elicitation and a sealed `requestState`; the client shows the form and retries the call
//!   with the answer. The state is opened only for the same tool and arguments, once, in time.
//! - **2025-11-25 clients with elicitation** ([`Channel::Elicit`]): `elicitation/create` while the
//!   call waits.
//! - **Everything else** ([`Channel::OutOfBand`]): an approval id a human grants on the host with
//!   `proxmox-mcp approve ID`; the retried call carries `approval_id`.
//! - **The CLI on a terminal** ([`Channel::Terminal`]): a yes/no prompt on `/dev/tty`.

use std::io::{BufRead as _, BufReader, Write as _};
use std::time::Duration;

use rmcp::model::{
    ElicitRequest, ElicitRequestParams, ElicitResult, ElicitationAction, ElicitationSchema,
    InputRequest, InputRequests, InputRequiredResult, InputResponses,
};
use rmcp::service::{Peer, RoleServer};
use schemars::JsonSchema;
use serde::Deserialize;

/// Key of our one input request in an MRTR round.
pub const INPUT_KEY: &str = "confirm";

/// How this call can reach a human.
#[derive(Clone)]
pub enum Channel {
    /// A 2026-07-28 client that declared elicitation: the retry's answer and state, if any.
    Mrtr {
        responses: Option<InputResponses>,
        state: Option<String>,
    },
    /// A 2025-11-25 client that declared elicitation.
    Elicit(Peer<RoleServer>),
    /// No way to ask in-band: approval ids.
    OutOfBand,
    /// The CLI: ask on the controlling terminal, else fall back to approval ids.
    Terminal,
}

impl Channel {
    pub fn as_str(&self) -> &'static str {
        match self {
            Channel::Mrtr { .. } => "input-required",
            Channel::Elicit(_) => "elicitation",
            Channel::OutOfBand => "approval id",
            Channel::Terminal => "terminal",
        }
    }
}

/// The one-field form a human answers.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct Confirm {
    /// Tick to run it; leave unticked or decline to refuse.
    pub confirm: bool,
}

rmcp::elicit_safe!(Confirm);

/// What the human said, or why asking failed.
#[derive(Debug, PartialEq, Eq)]
pub enum Answer {
    Approved,
    Declined(String),
    /// The channel cannot ask (no capability, no terminal): use approval ids instead.
    Unavailable(String),
}

/// The form's schema.
fn schema() -> ElicitationSchema {
    ElicitationSchema::from_type::<Confirm>().expect("a one-boolean form is a valid schema")
}

fn params(message: &str) -> ElicitRequestParams {
    ElicitRequestParams::FormElicitationParams {
        meta: None,
        message: message.to_owned(),
        requested_schema: schema(),
    }
}

/// The first MRTR round: ask, and hand the client the sealed state to echo back.
pub fn input_required(message: &str, sealed_state: String) -> InputRequiredResult {
    let request = InputRequest::Elicitation(ElicitRequest::new(params(message)));
    InputRequiredResult::new(
        Some(InputRequests::from([(INPUT_KEY.to_string(), request)])),
        Some(sealed_state),
    )
}

/// Reads the human's answer from an MRTR retry.
pub fn mrtr_answer(responses: Option<&InputResponses>) -> Answer {
    let Some(raw) = responses.and_then(|r| r.get(INPUT_KEY)) else {
        return Answer::Declined(format!(
            "the retry carried no answer under {INPUT_KEY:?}; call the tool again to ask anew"
        ));
    };
    match serde_json::from_value::<ElicitResult>(raw.clone()) {
        Ok(result) => judge(result),
        Err(e) => Answer::Declined(format!("the answer is not an elicitation result: {e}")),
    }
}

/// Accept with `confirm: true` is a yes; everything else is a no.
fn judge(result: ElicitResult) -> Answer {
    match result.action {
        ElicitationAction::Accept => {
            let yes = result
                .content
                .as_ref()
                .and_then(|c| c.get("confirm"))
                .and_then(|v| v.as_bool())
                == Some(true);
            if yes {
                Answer::Approved
            } else {
                Answer::Declined("the human left \"confirm\" unticked".into())
            }
        }
        ElicitationAction::Decline => Answer::Declined("the human declined".into()),
        ElicitationAction::Cancel => Answer::Declined("the human dismissed the request".into()),
        _ => Answer::Declined("the client answered with an unknown action".into()),
    }
}

/// Asks a 2025-11-25 client with `elicitation/create`, waiting at most `ttl`.
pub async fn elicit(peer: &Peer<RoleServer>, message: &str, ttl: Duration) -> Answer {
    match peer
        .create_elicitation_with_timeout(params(message), Some(ttl))
        .await
    {
        Ok(result) => judge(result),
        Err(e) => Answer::Unavailable(format!("the client could not ask: {e}")),
    }
}

/// Asks on the controlling terminal (the CLI). No terminal: unavailable.
pub async fn terminal(message: String) -> Answer {
    tokio::task::spawn_blocking(move || {
        let tty = match std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open("/dev/tty")
        {
            Ok(t) => t,
            Err(e) => return Answer::Unavailable(format!("no terminal to ask on: {e}")),
        };
        let mut w = &tty;
        if write!(w, "\n{message}\nRun it? [y/N] ")
            .and_then(|()| w.flush())
            .is_err()
        {
            return Answer::Unavailable("cannot write to the terminal".into());
        }
        let mut line = String::new();
        if BufReader::new(&tty).read_line(&mut line).is_err() {
            return Answer::Unavailable("cannot read from the terminal".into());
        }
        if matches!(line.trim(), "y" | "Y" | "yes" | "YES" | "Yes") {
            Answer::Approved
        } else {
            Answer::Declined("the operator answered no at the terminal".into())
        }
    })
    .await
    .unwrap_or_else(|e| Answer::Unavailable(format!("terminal prompt failed: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn answer(v: serde_json::Value) -> Answer {
        mrtr_answer(Some(&InputResponses::from([(INPUT_KEY.to_string(), v)])))
    }

    #[test]
    fn only_an_accepted_ticked_form_approves() {
        assert_eq!(
            answer(json!({"action": "accept", "content": {"confirm": true}})),
            Answer::Approved
        );
        for v in [
            json!({"action": "accept", "content": {"confirm": false}}),
            json!({"action": "accept", "content": {"confirm": "true"}}),
            json!({"action": "accept"}),
            json!({"action": "decline"}),
            json!({"action": "cancel"}),
            json!({"confirm": true}),
            json!("yes"),
        ] {
            assert!(matches!(answer(v.clone()), Answer::Declined(_)), "{v}");
        }
        assert!(matches!(mrtr_answer(None), Answer::Declined(_)));
    }

    #[test]
    fn the_first_round_carries_a_boolean_form_and_the_state() {
        let r = input_required("Stop VM 100?", "sealed".into());
        let v = serde_json::to_value(&r).unwrap();
        assert_eq!(v["resultType"], "input_required");
        assert_eq!(v["requestState"], "sealed");
        let req = &v["inputRequests"][INPUT_KEY];
        assert_eq!(req["method"], "elicitation/create");
        assert_eq!(req["params"]["message"], "Stop VM 100?");
        assert_eq!(
            req["params"]["requestedSchema"]["properties"]["confirm"]["type"],
            "boolean"
        );
    }
}
