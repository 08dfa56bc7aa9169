//! The loopback server and the fake `claude` the AI narrative tests talk to.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpStream};

/// One request the loopback server received.
#[derive(Debug, Clone)]
pub struct Seen {
    pub head: String,
    pub body: String,
}

impl Seen {
    pub fn header(&self, name: &str) -> Option<String> {
        self.head.lines().find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case(name).then(|| v.trim().to_owned())
        })
    }
}

/// What the server answers to one request.
#[derive(Debug, Clone)]
pub enum Answer {
    /// 200 `text/event-stream`, these chunks one after the other, then close.
    Sse(Vec<String>),
    /// 200 `application/json`.
    Json(String),
    /// This status, extra headers, a JSON body.
    Status(u16, Vec<(&'static str, String)>, String),
    /// Read the request, then say nothing.
    Stall,
    /// Start a stream, then say nothing more.
    SseThenStall(Vec<String>),
}

/// A loopback HTTP/1.1 server answering the n-th request with the n-th answer (the last repeats).
pub struct Server {
    pub url: String,
    seen: Arc<Mutex<Vec<Seen>>>,
}

impl Server {
    pub async fn start(answers: Vec<Answer>) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let seen = Arc::new(Mutex::new(Vec::new()));
        let log = seen.clone();
        tokio::spawn(async move {
            let mut n = 0;
            loop {
                let Ok((sock, _)) = listener.accept().await else {
                    return;
                };
                let answer = answers[n.min(answers.len() - 1)].clone();
                n += 1;
                let log = log.clone();
                tokio::spawn(serve(sock, answer, log));
            }
        });
        Server { url, seen }
    }

    pub fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }
}

async fn serve(mut sock: TcpStream, answer: Answer, log: Arc<Mutex<Vec<Seen>>>) {
    let mut buf = Vec::new();
    let mut tmp = [0u8; 8192];
    let head_end = loop {
        let n = sock.read(&mut tmp).await.unwrap_or(0);
        if n == 0 {
            return;
        }
        buf.extend_from_slice(&tmp[..n]);
        if let Some(p) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break p + 4;
        }
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    let len: usize = head
        .lines()
        .find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case("content-length")
                .then(|| v.trim().parse().ok())?
        })
        .unwrap_or(0);
    while buf.len() < head_end + len {
        let n = sock.read(&mut tmp).await.unwrap_or(0);
        if n == 0 {
            break;
        }
        buf.extend_from_slice(&tmp[..n]);
    }
    let body = String::from_utf8_lossy(&buf[head_end..]).into_owned();
    log.lock().unwrap().push(Seen { head, body });
    match answer {
        Answer::Sse(chunks) => stream(&mut sock, chunks).await,
        Answer::SseThenStall(chunks) => {
            stream(&mut sock, chunks).await;
            tokio::time::sleep(Duration::from_secs(60)).await;
        }
        Answer::Json(body) => {
            let resp = format!(
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = sock.write_all(resp.as_bytes()).await;
        }
        Answer::Status(code, headers, body) => {
            let mut resp = format!(
                "HTTP/1.1 {code} Whatever\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n",
                body.len()
            );
            for (k, v) in headers {
                resp.push_str(&format!("{k}: {v}\r\n"));
            }
            resp.push_str("\r\n");
            resp.push_str(&body);
            let _ = sock.write_all(resp.as_bytes()).await;
        }
        Answer::Stall => {
            tokio::time::sleep(Duration::from_secs(60)).await;
        }
    }
    let _ = sock.shutdown().await;
}

async fn stream(sock: &mut TcpStream, chunks: Vec<String>) {
    let _ = sock
        .write_all(
            b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\nconnection: close\r\n\r\n",
        )
        .await;
    for c in chunks {
        let _ = sock.write_all(c.as_bytes()).await;
        let _ = sock.flush().await;
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// Anthropic's streamed shape for `text`, split over several deltas.
pub fn anthropic_stream(model: &str, parts: &[&str]) -> Vec<String> {
    let mut out = vec![
        format!("event: message_start\ndata: {{\"type\":\"message_start\",\"message\":{{\"id\":\"msg_1\",\"model\":\"{model}\",\"content\":[]}}}}\n\n"),
        "event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n".into(),
        "event: ping\ndata: {\"type\":\"ping\"}\n\n".into(),
    ];
    for p in parts {
        let delta = serde_json::json!({"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":p}});
        out.push(format!("event: content_block_delta\ndata: {delta}\n\n"));
    }
    out.push(
        "event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":0}\n\n".into(),
    );
    out.push("event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\"}}\n\n".into());
    out.push("event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n".into());
    out
}

/// The OpenAI-compatible streamed shape for `text`.
pub fn openai_stream(model: &str, parts: &[&str]) -> Vec<String> {
    let mut out = Vec::new();
    for p in parts {
        let chunk = serde_json::json!({"id":"c1","object":"chat.completion.chunk","model":model,"choices":[{"index":0,"delta":{"content":p},"finish_reason":null}]});
        out.push(format!("data: {chunk}\n\n"));
    }
    let end = serde_json::json!({"id":"c1","object":"chat.completion.chunk","model":model,"choices":[{"index":0,"delta":{},"finish_reason":"stop"}]});
    out.push(format!("data: {end}\n\n"));
    out.push("data: [DONE]\n\n".into());
    out
}

/// A fake `claude` that keeps its stdin and arguments in `dir`, then runs `body`.
pub fn fake_claude(dir: &Path, name: &str, body: &str) -> PathBuf {
    let path = dir.join(name);
    let script = format!(
        "#!/bin/sh\ncat > '{d}/{name}.stdin'\necho \"$@\" > '{d}/{name}.args'\n{body}\n",
        d = dir.display()
    );
    std::fs::write(&path, script).unwrap();
    let mut perm = std::fs::metadata(&path).unwrap().permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut perm, 0o755);
    std::fs::set_permissions(&path, perm).unwrap();
    path
}
