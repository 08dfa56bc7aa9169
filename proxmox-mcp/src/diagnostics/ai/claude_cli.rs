//! The `claude -p --output-format json` backend: the prompt on stdin, one JSON object on stdout.

use std::process::Stdio;

use serde_json::Value;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::process::Command;

use super::{Call, Failed, Reply};

/// The executable when none is configured.
pub const DEFAULT_COMMAND: &str = "claude";

/// Runs the command; killed when the deadline passes.
pub async fn send(call: &Call<'_>, model: Option<&str>) -> Result<Reply, Failed> {
    let program = call.cfg.command.as_deref().unwrap_or(DEFAULT_COMMAND);
    let input = format!("{}\n\n{}", call.system, call.prompt);
    let sent = input.len();
    let mut cmd = Command::new(program);
    cmd.arg("-p").args(["--output-format", "json"]);
    if let Some(m) = model {
        cmd.args(["--model", m]);
    }
    cmd.stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    let mut child = cmd
        .spawn()
        .map_err(|e| Failed::new(format!("cannot run {program}: {e}")))?;
    call.progress
        .report(0.0, None, format!("AI analysis: waiting for {program}"))
        .await;
    let mut stdin = child.stdin.take().expect("piped stdin");
    let mut stdout = child.stdout.take().expect("piped stdout");
    let mut stderr = child.stderr.take().expect("piped stderr");
    let run = async {
        // Write and read at once: a child that answers before reading all its input must not
        // block on a full pipe.
        let write = async {
            let r = stdin.write_all(input.as_bytes()).await;
            drop(stdin);
            r
        };
        let mut out = Vec::new();
        let mut err = Vec::new();
        let (w, o, e) = tokio::join!(
            write,
            stdout.read_to_end(&mut out),
            stderr.read_to_end(&mut err)
        );
        // A child that exits without reading its input is judged by its output.
        let _ = w;
        o.and(e).map(|_| (out, err))
    };
    let (out, err) = match tokio::time::timeout_at(call.deadline, run).await {
        Err(_) => {
            let _ = child.kill().await;
            return Err(Failed {
                why: format!(
                    "{program} gave no answer within the timeout ({} s); it was stopped",
                    call.cfg.timeout.as_secs_f64()
                ),
                sent,
                received: 0,
            });
        }
        Ok(Err(e)) => {
            let _ = child.kill().await;
            return Err(Failed {
                why: format!("reading from {program} failed: {e}"),
                sent,
                received: 0,
            });
        }
        Ok(Ok(r)) => r,
    };
    let received = out.len();
    let status = match tokio::time::timeout_at(call.deadline, child.wait()).await {
        Ok(Ok(s)) => s,
        _ => {
            let _ = child.kill().await;
            return Err(Failed {
                why: format!("{program} did not exit"),
                sent,
                received,
            });
        }
    };
    let fail = |why: String| Failed {
        why,
        sent,
        received,
    };
    let parsed = parse(&out);
    match parsed {
        Ok(text) if status.success() => Ok(Reply {
            text,
            model: model.map(str::to_owned),
            note: None,
            sent,
            received,
        }),
        Ok(_) => Err(fail(format!(
            "{program} exited with {status}{}",
            tail(&err)
        ))),
        Err(why) if status.success() => Err(fail(why)),
        Err(why) => Err(fail(format!(
            "{program} exited with {status}: {why}{}",
            tail(&err)
        ))),
    }
}

/// The answer in the CLI's JSON (`{"type":"result","is_error":false,"result":"…"}`), or a note.
pub fn parse(out: &[u8]) -> Result<String, String> {
    let v: Value = serde_json::from_slice(out).map_err(|_| {
        let head: String = String::from_utf8_lossy(out).chars().take(60).collect();
        format!(
            "malformed reply: not JSON: {}",
            super::sanitize::secrets(head.trim())
        )
    })?;
    let result = v["result"].as_str();
    if v["is_error"].as_bool().unwrap_or(false)
        || v["subtype"]
            .as_str()
            .is_some_and(|s| s.starts_with("error"))
    {
        let why = result.or(v["subtype"].as_str()).unwrap_or("no detail");
        return Err(format!(
            "the command reported an error: {}",
            super::sanitize::secrets(why)
        ));
    }
    result
        .map(str::to_owned)
        .ok_or_else(|| "malformed reply: no `result` in the JSON".to_owned())
}

/// The last line of stderr, masked.
fn tail(err: &[u8]) -> String {
    let s = String::from_utf8_lossy(err);
    match s.lines().rev().find(|l| !l.trim().is_empty()) {
        Some(l) => format!(
            ": {}",
            super::sanitize::secrets(&l.chars().take(200).collect::<String>())
        ),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(out: &str, want: Result<&str, &str>) {
        match (parse(out.as_bytes()), want) {
            (Ok(g), Ok(w)) => assert_eq!(g, w),
            (Err(g), Err(w)) => assert!(g.contains(w), "{g}"),
            (g, w) => panic!("{out}: got {g:?}, want {w:?}"),
        }
    }

    #[test]
    fn shapes() {
        check(
            r#"{"type":"result","subtype":"success","is_error":false,"result":"All good"}"#,
            Ok("All good"),
        );
        check(
            r#"{"type":"result","subtype":"success","is_error":true,"result":"Invalid API key"}"#,
            Err("Invalid API key"),
        );
        check(
            r#"{"type":"result","subtype":"error_max_turns","is_error":false}"#,
            Err("error_max_turns"),
        );
        check(r#"{"type":"result"}"#, Err("no `result`"));
        check("Segmentation fault", Err("malformed reply: not JSON"));
    }
}
