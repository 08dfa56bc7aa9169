//! The OpenAI-compatible backend (Ollama, llama.cpp, vLLM): `POST {url}/v1/chat/completions`, streamed.

use serde_json::{Value, json};

use super::http::{self, Stream};
use super::sse::Event;
use super::{Call, Failed, Reply};

/// The server when none is configured: a local Ollama.
pub const DEFAULT_URL: &str = "http://127.0.0.1:11434";

/// Sends the request; a key is sent only when one is set (`OPENAI_API_KEY`).
pub async fn send(call: &Call<'_>, model: &str) -> Result<Reply, Failed> {
    let base = call.cfg.url.as_deref().unwrap_or(DEFAULT_URL);
    let url = format!("{}/v1/chat/completions", base.trim_end_matches('/'));
    let body = json!({
        "model": model,
        "max_tokens": call.cfg.max_tokens,
        "messages": [
            {"role": "system", "content": call.system},
            {"role": "user", "content": call.prompt},
        ],
        "stream": true,
    });
    let headers = call
        .keys
        .openai
        .as_ref()
        .map(|k| vec![("authorization", format!("Bearer {}", k.expose()))])
        .unwrap_or_default();
    http::post(call, &url, headers, &body, Chat::default()).await
}

/// The state of one streamed completion.
#[derive(Debug, Default)]
pub struct Chat {
    model: Option<String>,
    finish: Option<String>,
    done: bool,
}

impl Stream for Chat {
    fn event(&mut self, ev: &Event, text: &mut String) -> Result<(), String> {
        let data = ev.data.trim();
        if data.is_empty() {
            return Ok(());
        }
        if data == "[DONE]" {
            self.done = true;
            return Ok(());
        }
        let v = http::json(ev)?;
        if let Some(e) = v.get("error") {
            let msg = e["message"].as_str().or(e.as_str()).unwrap_or("no message");
            return Err(format!(
                "the backend reported an error: {}",
                super::sanitize::secrets(msg)
            ));
        }
        let choice = v["choices"]
            .get(0)
            .ok_or("malformed reply: a chunk without choices")?;
        if self.model.is_none() {
            self.model = v["model"].as_str().map(str::to_owned);
        }
        if let Some(t) = choice["delta"]["content"].as_str() {
            text.push_str(t);
        }
        if let Some(f) = choice["finish_reason"].as_str() {
            self.finish = Some(f.to_owned());
        }
        Ok(())
    }

    fn done(&self) -> bool {
        self.done
    }

    fn model(&self) -> Option<String> {
        self.model.clone()
    }

    fn note(&self) -> Option<String> {
        (self.finish.as_deref() == Some("length"))
            .then(|| "the answer was cut at the response token limit (max_tokens)".to_owned())
    }

    fn whole(&self, body: &Value) -> Result<String, String> {
        body["choices"][0]["message"]["content"]
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| "malformed reply: no choices[0].message.content".to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(data: &str) -> Event {
        Event {
            event: None,
            data: data.into(),
        }
    }

    fn check(events: &[Event], want: Result<(&str, bool), &str>) {
        let mut c = Chat::default();
        let mut text = String::new();
        let got = events
            .iter()
            .try_for_each(|e| c.event(e, &mut text))
            .map(|()| (text.as_str(), c.done()));
        match (got, want) {
            (Ok(g), Ok(w)) => assert_eq!(g, w),
            (Err(g), Err(w)) => assert!(g.contains(w), "{g}"),
            (g, w) => panic!("got {g:?}, want {w:?}"),
        }
    }

    #[test]
    fn chunks() {
        check(
            &[
                ev(r#"{"model":"llama","choices":[{"delta":{"role":"assistant"}}]}"#),
                ev(r#"{"choices":[{"delta":{"content":"Hi "}}]}"#),
                ev(r#"{"choices":[{"delta":{"content":"there"},"finish_reason":"stop"}]}"#),
                ev("[DONE]"),
            ],
            Ok(("Hi there", true)),
        );
        check(
            &[ev(r#"{"choices":[{"delta":{"content":"x"}}]}"#)],
            Ok(("x", false)),
        );
        check(
            &[ev(r#"{"error":{"message":"model not loaded"}}"#)],
            Err("model not loaded"),
        );
        check(&[ev(r#"{"choices":[]}"#)], Err("without choices"));
        check(&[ev("<html>")], Err("malformed reply"));
    }
}
