//! The Anthropic Messages API backend: `POST {url}/v1/messages`, streamed.

use serde_json::{Value, json};

use super::http::{self, Stream};
use super::sse::Event;
use super::{Call, Failed, Reply};

/// The API base when none is configured.
pub const DEFAULT_URL: &str = "https://api.anthropic.com";
/// The model asked for when none is configured.
pub const DEFAULT_MODEL: &str = "claude-sonnet-4-5";

/// Sends the request; the key comes from [`super::Keys`].
pub async fn send(call: &Call<'_>, model: &str) -> Result<Reply, Failed> {
    let Some(key) = call.keys.anthropic.as_ref() else {
        return Err(Failed::new(
            "no API key: set ANTHROPIC_API_KEY or CLAUDE_CODE_API_KEY, or store it in the \
             keyring (service proxmox-mcp, user ai-anthropic)",
        ));
    };
    let base = call.cfg.url.as_deref().unwrap_or(DEFAULT_URL);
    let url = format!("{}/v1/messages", base.trim_end_matches('/'));
    let body = json!({
        "model": model,
        "max_tokens": call.cfg.max_tokens,
        "system": call.system,
        "messages": [{"role": "user", "content": call.prompt}],
        "stream": true,
    });
    let headers = vec![
        ("x-api-key", key.expose().to_owned()),
        ("anthropic-version", "2023-06-01".to_owned()),
    ];
    http::post(call, &url, headers, &body, Messages::default()).await
}

/// The state of one streamed message.
#[derive(Debug, Default)]
pub struct Messages {
    model: Option<String>,
    stop_reason: Option<String>,
    stopped: bool,
}

impl Stream for Messages {
    fn event(&mut self, ev: &Event, text: &mut String) -> Result<(), String> {
        let kind = ev.event.as_deref().unwrap_or_default();
        if kind == "ping" || (kind.is_empty() && ev.data.is_empty()) {
            return Ok(());
        }
        let v = http::json(ev)?;
        let kind = if kind.is_empty() {
            v["type"].as_str().unwrap_or_default()
        } else {
            kind
        };
        match kind {
            "message_start" => self.model = v["message"]["model"].as_str().map(str::to_owned),
            "content_block_delta" if v["delta"]["type"] == "text_delta" => {
                let t = v["delta"]["text"]
                    .as_str()
                    .ok_or("malformed reply: a text_delta without text")?;
                text.push_str(t);
            }
            "message_delta" if v["delta"]["stop_reason"].is_string() => {
                self.stop_reason = v["delta"]["stop_reason"].as_str().map(str::to_owned);
            }
            "message_stop" => self.stopped = true,
            "error" => {
                let e = &v["error"];
                return Err(format!(
                    "the backend reported {}: {}",
                    e["type"].as_str().unwrap_or("an error"),
                    super::sanitize::secrets(e["message"].as_str().unwrap_or("no message"))
                ));
            }
            _ => {}
        }
        Ok(())
    }

    fn done(&self) -> bool {
        self.stopped
    }

    fn model(&self) -> Option<String> {
        self.model.clone()
    }

    fn note(&self) -> Option<String> {
        (self.stop_reason.as_deref() == Some("max_tokens"))
            .then(|| "the answer was cut at the response token limit (max_tokens)".to_owned())
    }

    fn whole(&self, body: &Value) -> Result<String, String> {
        let parts = body["content"]
            .as_array()
            .ok_or("malformed reply: no content in the message")?;
        Ok(parts
            .iter()
            .filter(|p| p["type"] == "text")
            .filter_map(|p| p["text"].as_str())
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(event: &str, data: &str) -> Event {
        Event {
            event: Some(event.into()),
            data: data.into(),
        }
    }

    fn check(events: &[Event], want: Result<(&str, bool), &str>) {
        let mut m = Messages::default();
        let mut text = String::new();
        let got = events
            .iter()
            .try_for_each(|e| m.event(e, &mut text))
            .map(|()| (text.as_str(), m.done()));
        match (got, want) {
            (Ok(g), Ok(w)) => assert_eq!(g, w),
            (Err(g), Err(w)) => assert!(g.contains(w), "{g}"),
            (g, w) => panic!("got {g:?}, want {w:?}"),
        }
    }

    #[test]
    fn events() {
        check(
            &[
                ev(
                    "message_start",
                    r#"{"type":"message_start","message":{"model":"m1"}}"#,
                ),
                ev("ping", r#"{"type":"ping"}"#),
                ev(
                    "content_block_delta",
                    r#"{"delta":{"type":"text_delta","text":"Hel"}}"#,
                ),
                ev(
                    "content_block_delta",
                    r#"{"delta":{"type":"input_json_delta","partial_json":"x"}}"#,
                ),
                ev(
                    "content_block_delta",
                    r#"{"delta":{"type":"text_delta","text":"lo"}}"#,
                ),
                ev("message_stop", r#"{"type":"message_stop"}"#),
            ],
            Ok(("Hello", true)),
        );
        check(
            &[ev(
                "content_block_delta",
                r#"{"delta":{"type":"text_delta","text":"a"}}"#,
            )],
            Ok(("a", false)),
        );
        check(
            &[ev(
                "error",
                r#"{"error":{"type":"overloaded_error","message":"Overloaded"}}"#,
            )],
            Err("overloaded_error: Overloaded"),
        );
        check(
            &[ev("content_block_delta", "{not json")],
            Err("malformed reply"),
        );
    }

    #[test]
    fn cut_at_max_tokens_is_noted() {
        let mut m = Messages::default();
        let mut text = String::new();
        m.event(
            &ev("message_delta", r#"{"delta":{"stop_reason":"end_turn"}}"#),
            &mut text,
        )
        .unwrap();
        assert_eq!(m.note(), None);
        m.event(
            &ev("message_delta", r#"{"delta":{"stop_reason":"max_tokens"}}"#),
            &mut text,
        )
        .unwrap();
        assert!(m.note().unwrap().contains("max_tokens"));
        let whole = serde_json::json!({"content":[{"type":"text","text":"a"},{"type":"tool_use"},{"type":"text","text":"b"}]});
        assert_eq!(m.whole(&whole).unwrap(), "ab");
    }
}
