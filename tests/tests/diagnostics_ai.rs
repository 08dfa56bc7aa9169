//! The AI narrative against loopback servers and a fake `claude` speaking each backend's documented shapes.
//!
//! Every backend: a normal (streamed) answer, 429 with `retry-after`, 529 overloaded, malformed
//! replies, a server that stalls past the timeout; and the seeded secret corpus, which must not
//! reach any outbound payload.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use proxmox_mcp::config::{
    AiBackend, AiConfig, AuditConfig, ClusterConfig, Config, DiagnosticsConfig, Secret,
};
use proxmox_mcp::diagnostics::ai::{Keys, Narrative, NarrativeInput, narrate, narrate_with};
use proxmox_mcp::diagnostics::rules::{Area, Confidence, Finding, Severity};
use proxmox_mcp::engine::Engine;
use proxmox_mcp::progress::Progress;

#[path = "diagnostics_ai/server.rs"]
mod server;

use server::{Answer, Server, anthropic_stream, fake_claude, openai_stream};

struct World {
    engine: Arc<Engine>,
    dir: tempfile::TempDir,
}

impl World {
    fn new(ai: AiConfig) -> World {
        World::with_clusters(ai, Vec::new())
    }

    fn with_clusters(ai: AiConfig, clusters: Vec<ClusterConfig>) -> World {
        let dir = tempfile::tempdir().unwrap();
        let engine = Engine::new(Config {
            clusters,
            state_dir: dir.path().join("state"),
            source: None,
            policy: Default::default(),
            audit: AuditConfig::without_journal(),
            api_schema: None,
            tools: Default::default(),
            sources: Vec::new(),
            update: Default::default(),
            diagnostics: DiagnosticsConfig {
                ai,
                ..DiagnosticsConfig::default()
            },
        });
        World { engine, dir }
    }

    async fn ask(&self, keys: &Keys, findings: &[Finding]) -> Narrative {
        let input = NarrativeInput {
            tool: "analyze_cluster_health",
            findings,
            summary: "3 nodes, 12 guests, 2 storages".into(),
        };
        narrate_with(&self.engine, keys, input, &Progress::None)
            .await
            .expect("the narrative is on")
    }

    /// Every audit line written so far.
    fn audit(&self) -> String {
        let mut out = String::new();
        collect_files(&self.dir.path().join("state/audit"), &mut out);
        out
    }
}

fn collect_files(dir: &Path, out: &mut String) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            collect_files(&p, out);
        } else if let Ok(t) = std::fs::read(&p) {
            out.push_str(&String::from_utf8_lossy(&t));
        }
    }
}

fn ai(backend: AiBackend, url: Option<&str>, timeout: Duration) -> AiConfig {
    AiConfig {
        backend,
        model: None,
        url: url.map(str::to_owned),
        command: None,
        timeout,
        max_tokens: 4000,
        mask_hosts: false,
        per_minute: 0,
    }
}

const KEY: &str = "sk-ant-test-key-0123456789abcdef";

fn anthropic_keys() -> Keys {
    Keys {
        anthropic: Some(Secret::new(KEY)),
        openai: None,
    }
}

fn finding(object: &str, evidence: &str) -> Finding {
    Finding {
        rule: "H11",
        area: Area::Health,
        severity: Severity::Warning,
        object: object.into(),
        title: "CPU usage high".into(),
        evidence: evidence.into(),
        recommendation: "Move guests away.".into(),
        fix: None,
        tool_call: None,
        confidence: Confidence::High,
    }
}

fn findings() -> Vec<Finding> {
    vec![finding(
        "node/pve1",
        "cpu 91 % over the last hour (warn ≥ 70, crit ≥ 85)",
    )]
}

fn note(n: &Narrative) -> &str {
    assert!(n.text.is_none(), "unexpected text: {:?}", n.text);
    n.note.as_deref().expect("a note says why there is no text")
}

#[tokio::test]
async fn anthropic_streams_the_answer_and_audits_the_request() {
    let server = Server::start(vec![Answer::Sse(anthropic_stream(
        "claude-test-1",
        &["The cluster ", "is mostly ", "healthy."],
    ))])
    .await;
    let world = World::new(ai(
        AiBackend::Anthropic,
        Some(&server.url),
        Duration::from_secs(10),
    ));
    let n = world.ask(&anthropic_keys(), &findings()).await;
    assert_eq!(
        n.text.as_deref(),
        Some("AI analysis (model claude-test-1): The cluster is mostly healthy.")
    );
    assert_eq!(n.backend, "anthropic");
    assert_eq!(n.model.as_deref(), Some("claude-test-1"));
    let seen = server.seen();
    assert_eq!(seen.len(), 1);
    let req = &seen[0];
    assert!(
        req.head.starts_with("POST /v1/messages HTTP/1.1"),
        "{}",
        req.head
    );
    assert_eq!(req.header("x-api-key").as_deref(), Some(KEY));
    assert_eq!(
        req.header("anthropic-version").as_deref(),
        Some("2023-06-01")
    );
    let body: serde_json::Value = serde_json::from_str(&req.body).unwrap();
    assert_eq!(body["stream"], true);
    assert_eq!(body["max_tokens"], 4000);
    assert!(
        body["system"]
            .as_str()
            .unwrap()
            .contains("Proxmox VE engineer")
    );
    assert_eq!(body["messages"][0]["role"], "user");
    assert!(
        body["messages"][0]["content"]
            .as_str()
            .unwrap()
            .contains("cpu 91 %")
    );

    let audit = world.audit();
    assert!(audit.contains("ai/anthropic"), "{audit}");
    assert!(
        audit.contains("bytes_sent") && audit.contains("bytes_received"),
        "{audit}"
    );
    assert!(!audit.contains(KEY), "the key reached the audit log");
    assert!(
        !audit.contains("cpu 91 %"),
        "the payload reached the audit log"
    );
}

#[tokio::test]
async fn anthropic_retries_once_after_429_within_the_timeout() {
    let server = Server::start(vec![
        Answer::Status(
            429,
            vec![("retry-after", "1".into())],
            r#"{"type":"error","error":{"type":"rate_limit_error","message":"Too many requests"}}"#
                .into(),
        ),
        Answer::Sse(anthropic_stream("m", &["ok"])),
    ])
    .await;
    let world = World::new(ai(
        AiBackend::Anthropic,
        Some(&server.url),
        Duration::from_secs(10),
    ));
    let n = world.ask(&anthropic_keys(), &findings()).await;
    assert_eq!(n.text.as_deref(), Some("AI analysis (model m): ok"));
    assert_eq!(server.seen().len(), 2);
}

#[tokio::test]
async fn anthropic_429_whose_retry_after_exceeds_the_timeout_is_a_note() {
    let server = Server::start(vec![Answer::Status(
        429,
        vec![("retry-after", "120".into())],
        r#"{"type":"error","error":{"type":"rate_limit_error","message":"Too many requests"}}"#
            .into(),
    )])
    .await;
    let world = World::new(ai(
        AiBackend::Anthropic,
        Some(&server.url),
        Duration::from_secs(5),
    ));
    let started = Instant::now();
    let n = world.ask(&anthropic_keys(), &findings()).await;
    let why = note(&n);
    assert!(
        why.contains("HTTP 429") && why.contains("retry-after 120"),
        "{why}"
    );
    assert!(why.contains("Too many requests"), "{why}");
    assert_eq!(server.seen().len(), 1, "no retry past the timeout");
    assert!(started.elapsed() < Duration::from_secs(3));
    assert!(world.audit().contains("\"failed\""), "{}", world.audit());
}

#[tokio::test]
async fn anthropic_overloaded_twice_is_a_note_after_one_retry() {
    let server = Server::start(vec![Answer::Status(
        529,
        vec![],
        r#"{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}"#.into(),
    )])
    .await;
    let world = World::new(ai(
        AiBackend::Anthropic,
        Some(&server.url),
        Duration::from_secs(10),
    ));
    let n = world.ask(&anthropic_keys(), &findings()).await;
    let why = note(&n);
    assert!(
        why.contains("overloaded (HTTP 529) after one retry"),
        "{why}"
    );
    assert_eq!(server.seen().len(), 2);
}

#[tokio::test]
async fn anthropic_stream_error_event_and_malformed_streams_are_notes() {
    let cases: Vec<(Vec<String>, &str)> = vec![
        (
            vec![
                anthropic_stream("m", &["par"])[0].clone(),
                "event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"Overloaded\"}}\n\n".into(),
            ],
            "overloaded_error: Overloaded",
        ),
        (
            vec!["event: content_block_delta\ndata: {\"delta\": {\"type\":\"text_delta\",\n\n".into()],
            "malformed reply",
        ),
        (
            // Cut off before message_stop.
            anthropic_stream("m", &["half an answer"])[..4].to_vec(),
            "ended before its end event",
        ),
        (vec!["<html>proxy error</html>".into()], "ended before its end event"),
    ];
    for (chunks, want) in cases {
        let server = Server::start(vec![Answer::Sse(chunks)]).await;
        let world = World::new(ai(
            AiBackend::Anthropic,
            Some(&server.url),
            Duration::from_secs(10),
        ));
        let n = world.ask(&anthropic_keys(), &findings()).await;
        let why = note(&n);
        assert!(why.contains(want), "{why} (want {want})");
    }
}

#[tokio::test]
async fn a_stalled_server_is_a_timeout_note() {
    for backend in [AiBackend::Anthropic, AiBackend::OpenAi] {
        let server = Server::start(vec![Answer::Stall]).await;
        let mut cfg = ai(backend, Some(&server.url), Duration::from_millis(800));
        cfg.model = Some("m".into());
        let world = World::new(cfg);
        let started = Instant::now();
        let n = world.ask(&anthropic_keys(), &findings()).await;
        let why = note(&n);
        assert!(why.contains("timeout"), "{why}");
        assert!(
            started.elapsed() < Duration::from_secs(3),
            "{:?}",
            started.elapsed()
        );
        assert!(n.duration_ms >= 700, "{}", n.duration_ms);
    }
    // A stream that starts, then stalls.
    let mut chunks = anthropic_stream("m", &["starting"]);
    chunks.truncate(4);
    let server = Server::start(vec![Answer::SseThenStall(chunks)]).await;
    let world = World::new(ai(
        AiBackend::Anthropic,
        Some(&server.url),
        Duration::from_millis(800),
    ));
    let n = world.ask(&anthropic_keys(), &findings()).await;
    assert!(note(&n).contains("timeout"), "{n:?}");
}

#[tokio::test]
async fn anthropic_without_a_key_sends_nothing() {
    let server = Server::start(vec![Answer::Sse(anthropic_stream("m", &["x"]))]).await;
    let world = World::new(ai(
        AiBackend::Anthropic,
        Some(&server.url),
        Duration::from_secs(5),
    ));
    let n = world.ask(&Keys::default(), &findings()).await;
    let why = note(&n);
    assert!(
        why.contains("ANTHROPIC_API_KEY") && why.contains("CLAUDE_CODE_API_KEY"),
        "{why}"
    );
    assert!(server.seen().is_empty());
}

#[tokio::test]
async fn openai_compatible_streams_with_and_without_a_key() {
    for key in [None, Some("sk-local-0123456789abcdefgh")] {
        let server = Server::start(vec![Answer::Sse(openai_stream(
            "llama3.1",
            &["Two ", "nodes ", "are fine."],
        ))])
        .await;
        let mut cfg = ai(
            AiBackend::OpenAi,
            Some(&server.url),
            Duration::from_secs(10),
        );
        cfg.model = Some("llama3.1".into());
        let world = World::new(cfg);
        let keys = Keys {
            anthropic: None,
            openai: key.map(Secret::new),
        };
        let n = world.ask(&keys, &findings()).await;
        assert_eq!(
            n.text.as_deref(),
            Some("AI analysis (model llama3.1): Two nodes are fine.")
        );
        let seen = server.seen();
        assert_eq!(seen.len(), 1);
        assert!(
            seen[0]
                .head
                .starts_with("POST /v1/chat/completions HTTP/1.1"),
            "{}",
            seen[0].head
        );
        assert_eq!(
            seen[0].header("authorization"),
            key.map(|k| format!("Bearer {k}"))
        );
        let body: serde_json::Value = serde_json::from_str(&seen[0].body).unwrap();
        assert_eq!(body["stream"], true);
        assert_eq!(body["model"], "llama3.1");
        assert_eq!(body["messages"][0]["role"], "system");
        assert_eq!(body["messages"][1]["role"], "user");
        assert!(world.audit().contains("ai/openai"));
    }
}

#[tokio::test]
async fn openai_compatible_failures_are_notes() {
    let cases: Vec<(Vec<Answer>, &str, usize)> = vec![
        (
            vec![Answer::Status(
                503,
                vec![],
                r#"{"error":{"message":"model is loading"}}"#.into(),
            )],
            "HTTP 503) after one retry: model is loading",
            2,
        ),
        (
            vec![
                Answer::Status(
                    429,
                    vec![("retry-after", "1".into())],
                    r#"{"error":"busy"}"#.into(),
                ),
                Answer::Sse(openai_stream("m", &["fine"])),
            ],
            "",
            2,
        ),
        (
            vec![Answer::Status(
                404,
                vec![],
                r#"{"error":"model 'm' not found"}"#.into(),
            )],
            "no such endpoint or model (HTTP 404): model 'm' not found",
            1,
        ),
        (
            vec![Answer::Sse(vec!["data: {\"choices\": [\n\n".into()])],
            "malformed reply",
            1,
        ),
        (
            vec![Answer::Sse(openai_stream("m", &["cut"])[..1].to_vec())],
            "ended before its end event",
            1,
        ),
        (
            vec![Answer::Json(
                r#"{"choices":[{"message":{"role":"assistant","content":"Whole answer"}}]}"#.into(),
            )],
            "",
            1,
        ),
        (
            vec![Answer::Json(r#"{"oops":true}"#.into())],
            "malformed reply",
            1,
        ),
    ];
    for (answers, want, requests) in cases {
        let server = Server::start(answers).await;
        let mut cfg = ai(
            AiBackend::OpenAi,
            Some(&server.url),
            Duration::from_secs(10),
        );
        cfg.model = Some("m".into());
        let world = World::new(cfg);
        let n = world.ask(&Keys::default(), &findings()).await;
        if want.is_empty() {
            assert!(n.text.is_some(), "{n:?}");
        } else {
            let why = note(&n);
            assert!(why.contains(want), "{why} (want {want})");
        }
        assert_eq!(server.seen().len(), requests, "{want}");
    }
}

async fn ask_cli(command: &Path, timeout: Duration, findings: &[Finding]) -> Narrative {
    let mut cfg = ai(AiBackend::ClaudeCli, None, timeout);
    cfg.command = Some(command.display().to_string());
    let world = World::new(cfg);
    let n = world.ask(&Keys::default(), findings).await;
    assert!(world.audit().contains("ai/claude-cli"), "{}", world.audit());
    n
}

#[tokio::test]
async fn claude_cli_shapes() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let ok = fake_claude(
        d,
        "ok",
        r#"echo '{"type":"result","subtype":"success","is_error":false,"duration_ms":1200,"result":"Fix the quorum first.","session_id":"s1","total_cost_usd":0.01}'"#,
    );
    let n = ask_cli(&ok, Duration::from_secs(10), &findings()).await;
    assert_eq!(
        n.text.as_deref(),
        Some("AI analysis (claude-cli): Fix the quorum first.")
    );
    let args = std::fs::read_to_string(d.join("ok.args")).unwrap();
    assert_eq!(args.trim(), "-p --output-format json");
    let stdin = std::fs::read_to_string(d.join("ok.stdin")).unwrap();
    assert!(
        stdin.contains("Proxmox VE engineer") && stdin.contains("cpu 91 %"),
        "{stdin}"
    );

    let error = fake_claude(
        d,
        "error",
        r#"echo '{"type":"result","subtype":"success","is_error":true,"result":"Invalid API key · Please run /login"}'"#,
    );
    let why = ask_cli(&error, Duration::from_secs(10), &findings()).await;
    assert!(note(&why).contains("Invalid API key"), "{why:?}");

    let garbage = fake_claude(d, "garbage", "echo 'Segmentation fault'");
    let why = ask_cli(&garbage, Duration::from_secs(10), &findings()).await;
    assert!(note(&why).contains("malformed reply: not JSON"), "{why:?}");

    let failing = fake_claude(d, "failing", "echo 'not logged in' >&2\nexit 3");
    let why = ask_cli(&failing, Duration::from_secs(10), &findings()).await;
    let why = note(&why).to_owned();
    assert!(
        why.contains("exit status: 3") && why.contains("not logged in"),
        "{why}"
    );

    let sleeping = fake_claude(d, "sleeping", "exec sleep 30");
    let started = Instant::now();
    let why = ask_cli(&sleeping, Duration::from_millis(800), &findings()).await;
    assert!(note(&why).contains("within the timeout"), "{why:?}");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );

    let missing = d.join("no-such-claude");
    let why = ask_cli(&missing, Duration::from_secs(5), &findings()).await;
    assert!(note(&why).contains("cannot run"), "{why:?}");
}

/// The seeded corpus: (secret, the finding text it hides in).
fn corpus() -> Vec<(String, String)> {
    include_str!("../../proxmox-mcp/src/diagnostics/ai/secret-corpus.txt")
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| {
            let (secret, context) = l.split_once('\t').expect("secret TAB context");
            (
                secret.to_owned(),
                context.replace("\\n", "\n").replace("{}", secret),
            )
        })
        .collect()
}

/// Findings carrying every corpus entry, in evidence, title and fix.
fn corpus_findings() -> Vec<Finding> {
    corpus()
        .into_iter()
        .enumerate()
        .map(|(i, (_, context))| {
            let mut f = finding(&format!("qemu/{}", 100 + i), &context);
            match i % 3 {
                0 => {
                    f.fix = Some(format!(
                        "pvesh set /nodes/pve1/qemu/{}/config --description '{context}'",
                        100 + i
                    ))
                }
                1 => f.title = format!("config holds {context}"),
                _ => f.recommendation = format!("Remove {context}."),
            }
            f
        })
        .collect()
}

fn assert_clean(payload: &str, what: &str) {
    let corpus = corpus();
    assert!(corpus.len() >= 30);
    for (secret, _) in &corpus {
        let escaped = serde_json::to_string(secret).unwrap();
        let escaped = &escaped[1..escaped.len() - 1];
        assert!(
            !payload.contains(secret.as_str()) && !payload.contains(escaped),
            "{what}: the secret {secret:?} reached the payload"
        );
    }
    assert!(
        payload.contains("qemu/100"),
        "{what}: the findings were not sent at all"
    );
}

#[tokio::test]
async fn no_corpus_secret_reaches_any_backend() {
    let findings = corpus_findings();

    let server = Server::start(vec![Answer::Sse(anthropic_stream("m", &["ok"]))]).await;
    let world = World::new(ai(
        AiBackend::Anthropic,
        Some(&server.url),
        Duration::from_secs(10),
    ));
    let n = world.ask(&anthropic_keys(), &findings).await;
    assert!(n.text.is_some(), "{n:?}");
    let seen = server.seen();
    assert_clean(&format!("{}{}", seen[0].head, seen[0].body), "anthropic");

    let server = Server::start(vec![Answer::Sse(openai_stream("m", &["ok"]))]).await;
    let mut cfg = ai(
        AiBackend::OpenAi,
        Some(&server.url),
        Duration::from_secs(10),
    );
    cfg.model = Some("m".into());
    cfg.mask_hosts = true;
    let world = World::new(cfg);
    let n = world.ask(&Keys::default(), &findings).await;
    assert!(n.text.is_some(), "{n:?}");
    let seen = server.seen();
    assert_clean(&seen[0].body, "openai");
    assert!(
        !seen[0].body.contains("pve1"),
        "mask_hosts left a node name"
    );

    let dir = tempfile::tempdir().unwrap();
    let cli = fake_claude(
        dir.path(),
        "corpus",
        r#"echo '{"type":"result","is_error":false,"result":"ok"}'"#,
    );
    let n = ask_cli(&cli, Duration::from_secs(10), &findings).await;
    assert!(n.text.is_some(), "{n:?}");
    let stdin = std::fs::read_to_string(dir.path().join("corpus.stdin")).unwrap();
    let args = std::fs::read_to_string(dir.path().join("corpus.args")).unwrap();
    assert_clean(&format!("{args}{stdin}"), "claude-cli");
}

#[tokio::test]
async fn the_engines_own_credentials_never_leave() {
    // A secret of no recognisable shape: only the engine knows it is one.
    let own = "plainClusterSecret42";
    let server = Server::start(vec![Answer::Sse(openai_stream("m", &["ok"]))]).await;
    let mut cfg = ai(
        AiBackend::OpenAi,
        Some(&server.url),
        Duration::from_secs(10),
    );
    cfg.model = Some("m".into());
    let cluster = ClusterConfig::token_pinned(
        "lab",
        "https://127.0.0.1:1".into(),
        "monitor@pve!diag".into(),
        Secret::new(own),
        "00".repeat(32),
    );
    let world = World::with_clusters(cfg, vec![cluster]);
    let f = vec![finding(
        "node/pve1",
        &format!("a description quotes {own} verbatim"),
    )];
    let n = world.ask(&Keys::default(), &f).await;
    assert!(n.text.is_some(), "{n:?}");
    let body = &server.seen()[0].body;
    assert!(body.contains("a description quotes"), "{body}");
    assert!(
        !body.contains(own),
        "the cluster's secret reached the payload"
    );
}

#[tokio::test]
async fn requests_are_rate_limited_and_audited() {
    let server = Server::start(vec![Answer::Sse(openai_stream("m", &["ok"]))]).await;
    let mut cfg = ai(
        AiBackend::OpenAi,
        Some(&server.url),
        Duration::from_secs(10),
    );
    cfg.model = Some("m".into());
    cfg.per_minute = 1;
    let world = World::new(cfg);
    let first = world.ask(&Keys::default(), &findings()).await;
    assert!(first.text.is_some(), "{first:?}");
    let second = world.ask(&Keys::default(), &findings()).await;
    assert!(
        note(&second).contains("at most 1 requests per minute"),
        "{second:?}"
    );
    assert_eq!(server.seen().len(), 1);
    let audit = world.audit();
    assert_eq!(audit.matches("ai/openai").count(), 2, "{audit}");
    assert!(audit.contains("\"refused\""), "{audit}");
}

#[tokio::test]
async fn off_by_default() {
    let world = World::new(AiConfig::default());
    let f = findings();
    let input = NarrativeInput {
        tool: "analyze_cluster_health",
        findings: &f,
        summary: String::new(),
    };
    assert!(
        narrate(&world.engine, input, &Progress::None)
            .await
            .is_none()
    );
    assert!(world.audit().is_empty());
}
