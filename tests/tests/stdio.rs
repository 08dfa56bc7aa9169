//! The stdio transport over real pipes: replies in order, a line that is not JSON ignored, JSON
//! that is no JSON-RPC message answered with an error, the server carrying on, and a large reply written whole.

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};

use serde_json::{Value, json};

fn line(v: &Value) -> String {
    format!("{v}\n")
}

#[test]
fn replies_in_order_and_survive_a_garbage_line() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(e2e::binary())
        .envs(e2e::isolation_env(dir.path()))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("server starts");
    let mut stdin = child.stdin.take().unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut read = || {
        let mut l = String::new();
        stdout.read_line(&mut l).expect("a reply line");
        serde_json::from_str::<Value>(&l).unwrap_or_else(|e| panic!("{e}: {l:?}"))
    };

    let init = json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-06-18", "capabilities": {},
        "clientInfo": {"name": "stdio-test", "version": "1"}}});
    stdin.write_all(line(&init).as_bytes()).unwrap();
    assert_eq!(read()["id"], 1);
    stdin
        .write_all(
            line(&json!({"jsonrpc": "2.0", "method": "notifications/initialized"})).as_bytes(),
        )
        .unwrap();

    // Not JSON: ignored (no id to answer). JSON that is no JSON-RPC message: an error reply.
    stdin
        .write_all(b"this is not json\n{\"foo\": 1}\n")
        .unwrap();
    let err = read();
    assert!(err["error"].is_object(), "{err}");

    // Several requests at once: one reply each, each whole (tools/list is tens of KiB).
    let mut batch = String::new();
    for id in 2..6 {
        batch.push_str(&line(
            &json!({"jsonrpc": "2.0", "id": id, "method": "tools/list"}),
        ));
    }
    stdin.write_all(batch.as_bytes()).unwrap();
    let mut ids: Vec<i64> = (0..4)
        .map(|_| {
            let r = read();
            assert!(
                r["result"]["tools"]
                    .as_array()
                    .is_some_and(|t| t.len() > 20),
                "{r}"
            );
            r["id"].as_i64().unwrap()
        })
        .collect();
    ids.sort();
    assert_eq!(ids, vec![2, 3, 4, 5]);

    drop(stdin);
    let status = child.wait().unwrap();
    assert!(status.success(), "{status}");
}
