//! Command execution through the real path (MCP client → server → policy → local executor,
//! against pve-sim): every corpus line gets the verdict `explain_command` predicts, the attack
//! chains that once let a model act without a human fail safe, and the audit log shows it.
//!
//! Effects stay in the test's temporary directory: the server's state lives there, and corpus
//! lines that must not run are sent to a container through `pct exec`, which does not exist on
//! a test machine, so even a classification bug could not touch the machine running the tests.

use std::path::Path;
use std::time::Duration;

use futures::StreamExt as _;

use e2e::{Harness, Human, Protocol, ResultExt as _, Value, json};

// ---------------------------------------------------------------------------------------------
// helpers

/// A harness with the local executor on node pve1, in `mode`.
async fn local(mode: &str, human: Human) -> Harness {
    Harness::builder(Protocol::Modern)
        .mode(mode)
        .human(human)
        .env("PROXMOX_MCP_EXECUTOR", "local")
        .env("PROXMOX_MCP_LOCAL_NODE", "pve1")
        .start()
        .await
}

/// What a call did, as the three outcomes a policy decision has.
fn outcome(r: &rmcp::model::CallToolResult) -> &'static str {
    if !r.failed() {
        "allow"
    } else if r.text().contains("proxmox-mcp approve") || r.text().contains("a human was asked") {
        "confirm"
    } else {
        "refuse"
    }
}

/// The approval id in an out-of-band message.
fn approval_id(msg: &str) -> String {
    let at = msg
        .find("proxmox-mcp approve ")
        .unwrap_or_else(|| panic!("no approval id in: {msg}"));
    msg[at + "proxmox-mcp approve ".len()..][..10].to_string()
}

/// (expected outcome, command) of every corpus file.
fn corpus() -> Vec<(String, String, String)> {
    let dir = e2e::workspace_root().join("proxmox-mcp/tests/corpus/commands");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .flatten()
        .map(|e| e.path())
        .collect();
    files.sort();
    let mut out = Vec::new();
    for f in files {
        let name = f.file_stem().unwrap().to_string_lossy().to_string();
        for line in std::fs::read_to_string(&f).unwrap().lines() {
            if line.trim().is_empty() || line.starts_with('#') {
                continue;
            }
            let (expect, cmd) = line.split_once(' ').unwrap();
            out.push((name.clone(), expect.to_string(), cmd.replace('⏎', "\n")));
        }
    }
    out
}

/// A container of the sim that no protection covers.
async fn plain_container(h: &Harness) -> u64 {
    e2e::sim::guests(&h.sim.api(), "lxc")
        .await
        .iter()
        .find(|g| {
            !g.get("tags")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .contains("protected")
        })
        .and_then(|g| g["vmid"].as_u64())
        .expect("the sim has an unprotected container")
}

fn audit_records(h: &Harness, tool: &str) -> Vec<Value> {
    h.audit()
        .into_iter()
        .filter(|r| r["tool"] == json!(tool) && r["result"] != json!("started"))
        .collect()
}

/// Each command is refused when sent to `execute_command` on pve1, and the audit log has the
/// refusals on record.
async fn all_refused(h: &Harness, commands: &[String]) {
    for cmd in commands {
        let r = h
            .call("execute_command", json!({"node": "pve1", "command": cmd}))
            .await;
        assert_eq!(outcome(&r), "refuse", "{cmd}: {}", r.text());
    }
    refusals_audited(h, commands);
}

/// The last `n` final audit records of `execute_command` are refusals of these commands.
fn refusals_audited(h: &Harness, commands: &[String]) {
    let records = audit_records(h, "execute_command");
    let last = &records[records.len().saturating_sub(commands.len())..];
    assert_eq!(last.len(), commands.len(), "{records:?}");
    for (rec, cmd) in last.iter().zip(commands) {
        assert_eq!(rec["decision"], json!("refused"), "{cmd}: {rec}");
        assert!(
            rec["arguments"]["command"].as_str().is_some(),
            "the refused command is on record: {rec}"
        );
    }
}

fn state(h: &Harness) -> std::path::PathBuf {
    h.dir.path().join("state")
}

// ---------------------------------------------------------------------------------------------
// the corpus

/// Every corpus line: the safe-mode decision `explain_command` predicts is the one executing it
/// gets, and both are the corpus's expectation. Reads really run on the node; everything else
/// is aimed at a container through `pct exec` (absent here), so nothing can do harm.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_corpus_line_explained_as_executed() {
    let h = local("safe", Human::Absent).await;
    let ct = plain_container(&h).await;
    let lines = corpus();
    assert!(lines.len() > 900, "the corpus shrank: {}", lines.len());
    let h = &h;
    let results: Vec<Option<String>> = futures::stream::iter(lines.iter())
        .map(|(file, expect, cmd)| async move {
            let want = match expect.as_str() {
                "read" => "allow",
                "refuse" => "refuse",
                _ => "confirm",
            };
            let ex = h.ok("explain_command", json!({"command": cmd})).await;
            let predicted = ex["decisions"]["safe"]["decision"].as_str().unwrap_or("?").to_string();
            let args = if expect == "read" {
                json!({"node": "pve1", "command": cmd, "timeout": 10})
            } else {
                json!({"vmid": ct, "command": cmd, "timeout": 10})
            };
            let r = h.call("execute_command", args).await;
            let got = outcome(&r);
            (predicted != got || got != want).then(|| {
                format!(
                    "{file}: {cmd:?}: expected {want}, explain said {predicted}, running did {got}: {}",
                    e2e::truncate(&r.text(), 300)
                )
            })
        })
        .buffer_unordered(4)
        .collect()
        .await;
    let bad: Vec<String> = results.into_iter().flatten().collect();
    assert!(
        bad.is_empty(),
        "{} of {} lines disagree:\n{}",
        bad.len(),
        lines.len(),
        bad.join("\n")
    );
    assert!(
        h.writes().is_empty(),
        "a corpus line reached the cluster: {:?}",
        h.writes()
    );
}

// ---------------------------------------------------------------------------------------------
// the chains

/// A model asks for a destructive call, then tries to approve it itself through a command
/// that hides `proxmox-mcp approve` in an array subscript `let` evaluates. Refused; the
/// approval stays pending, the destructive call still cannot run, the audit log shows it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn self_approval_is_refused() {
    let h = local("safe", Human::Absent).await;
    let vms = e2e::sim::guests(&h.sim.api(), "qemu").await;
    let vm = vms
        .iter()
        .find(|g| g["status"] == json!("stopped"))
        .expect("a stopped VM");
    let (node, vmid) = (vm["node"].as_str().unwrap(), vm["vmid"].as_u64().unwrap());
    let destroy = json!({"method": "DELETE", "path": format!("/nodes/{node}/qemu/{vmid}")});
    let id = approval_id(&h.err("proxmox_api", destroy.clone()).await);
    let bin = e2e::binary();
    for cmd in [
        format!("let 'x[$({} approve {id})]=1'", bin.display()),
        format!("let 'x[$(proxmox-mcp approve {id})]=1'"),
        format!("x='$({} approve {id})'; echo ${{x@P}}", bin.display()),
        format!("{} approve {id}", bin.display()),
    ] {
        let r = h
            .call("execute_command", json!({"node": "pve1", "command": cmd}))
            .await;
        assert_eq!(outcome(&r), "refuse", "{cmd}: {}", r.text());
        assert!(
            r.text().contains("plain command") || r.text().contains("server"),
            "{}",
            r.text()
        );
    }
    let pending = h.cli(&["approvals"]);
    let listed = String::from_utf8_lossy(&pending.stdout);
    assert!(
        listed.contains(&id) && listed.contains("pending"),
        "{listed}"
    );
    let mut retry = destroy.clone();
    retry["approval_id"] = json!(id);
    let msg = h.err("proxmox_api", retry).await;
    assert!(msg.contains("pending"), "{msg}");
    assert!(h.writes().is_empty(), "{:?}", h.writes());
    let refused = audit_records(&h, "execute_command");
    assert_eq!(refused.len(), 4, "{refused:?}");
    assert!(
        refused.iter().all(|r| r["decision"] == json!("refused")),
        "{refused:?}"
    );
    h.finish().await;
}

/// Read-only mode cannot be left by a command that evaluates `proxmox-mcp mode normal`
/// through prompt expansion, nor by writing the mode file.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mode_switch_is_refused() {
    let h = local("read-only", Human::Absent).await;
    let mode_file = state(&h).join("mode");
    let commands = [
        "x='$(proxmox-mcp mode normal)'; echo ${x@P}".to_string(),
        format!("echo normal > {}", mode_file.display()),
        format!("cp /dev/null {}", mode_file.display()),
        format!("sed -i s/read-only/normal/ {}", mode_file.display()),
    ];
    all_refused(&h, &commands).await;
    assert_eq!(h.ok("toggle_mode", json!({})).await["mode"], "read-only");
    assert_eq!(
        std::fs::read_to_string(&mode_file).unwrap().trim(),
        "read-only"
    );
    h.finish().await;
}

/// In normal mode a `sed -i` is an ordinary change, but not on the approval store: forging
/// an approval is refused and the record stays pending.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn approval_forgery_is_refused() {
    let h = local("normal", Human::Absent).await;
    let id = approval_id(
        &h.err(
            "execute_command",
            json!({"node": "pve1", "command": format!("rm -rf {}/victim", h.dir.path().display())}),
        )
        .await,
    );
    let record = state(&h).join(format!("approvals/{id}.json"));
    let before = std::fs::read_to_string(&record).unwrap();
    let commands = [
        format!("sed -i 's/\"pending\"/\"approved\"/' {}", record.display()),
        format!(
            "cd {} && sed -i s/pending/approved/ {id}.json",
            record.parent().unwrap().display()
        ),
        format!("tee {} < /dev/null", record.display()),
    ];
    all_refused(&h, &commands).await;
    assert_eq!(std::fs::read_to_string(&record).unwrap(), before);
    h.finish().await;
}

/// Erasing the audit log from a tool call is refused (in the background too), and removing
/// day files behind the server's back is what `audit verify` reports.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn audit_erasure_is_refused_and_detected() {
    let h = local("normal", Human::Absent).await;
    let audit = state(&h).join("audit");
    h.ok("list_vms", json!({})).await;
    let commands = [
        format!("rm -f {}/*.jsonl &", audit.display()),
        format!("find {} -name '*.jsonl' -delete", audit.display()),
        format!("truncate -s 0 {}/audit-*.jsonl", audit.display()),
        format!(": > {}/$(date +audit-%F).jsonl", audit.display()),
    ];
    all_refused(&h, &commands).await;
    let verify = h.cli(&["audit", "verify"]);
    assert!(
        verify.status.success(),
        "{}",
        String::from_utf8_lossy(&verify.stdout)
    );
    let before = h.audit().len();
    assert!(before >= 5, "{before} records");
    // The same erasure done behind the server's back is detected.
    for f in std::fs::read_dir(&audit).unwrap().flatten() {
        if f.path().extension().is_some_and(|e| e == "jsonl") {
            std::fs::remove_file(f.path()).unwrap();
        }
    }
    let verify = h.cli(&["audit", "verify"]);
    assert!(
        !verify.status.success(),
        "erased log reported intact: {}",
        String::from_utf8_lossy(&verify.stdout)
    );
    h.finish().await;
}

/// Secrets never reach the model: reading a process environment is refused, and whatever a
/// command prints passes through the redactor with the server's own token secret as a needle.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secrets_never_reach_the_model() {
    let h = local("normal", Human::Absent).await;
    let commands = [
        "tr '\\0' '\\n' < /proc/$PPID/environ",
        "tr '\\0' '\\n' < /proc/self/environ",
        "cat /proc/1/environ",
        "strings /proc/$(pgrep -o proxmox-mcp)/environ",
    ]
    .map(String::from);
    all_refused(&h, &commands).await;
    let secret = h.sim.admin().secret.clone();
    let leak = h.dir.path().join("leak.txt");
    std::fs::write(&leak, &secret).unwrap();
    for cmd in [
        format!("cat {}", leak.display()),
        format!("base64 {}", leak.display()),
        format!("tr a-z A-Z < {}", leak.display()),
        format!("cat {} >&2", leak.display()),
    ] {
        let r = h
            .call("execute_command", json!({"node": "pve1", "command": &cmd}))
            .await;
        let all = format!("{}{}", r.text(), r.structured());
        assert!(!r.failed(), "{cmd}: {}", r.text());
        let b64 = {
            use base64::Engine as _;
            base64::engine::general_purpose::STANDARD_NO_PAD.encode(&secret)
        };
        for form in [secret.clone(), secret.to_uppercase(), b64] {
            assert!(
                !all.contains(&form),
                "{cmd}: the secret reached the model: {all}"
            );
        }
        assert!(all.contains("****"), "{cmd}: {all}");
    }
    h.finish().await;
}

/// Commands start in `/` with the executor's home, and relative paths are resolved there:
/// `cat etc/shadow` is `/etc/shadow`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn relative_paths_resolve_where_commands_run() {
    let h = local("normal", Human::Absent).await;
    let pwd = h
        .ok("execute_command", json!({"node": "pve1", "command": "pwd"}))
        .await;
    assert_eq!(pwd["stdout"].as_str().unwrap().trim(), "/", "{pwd}");
    let commands = [
        "cat etc/shadow",
        "cd etc; cat shadow",
        "cd /nowhere; cat etc/shadow",
        "echo 'x ALL=(ALL) NOPASSWD: ALL' >> etc/sudoers",
        "head root/.ssh/id_rsa",
    ]
    .map(String::from);
    all_refused(&h, &commands).await;
    h.finish().await;
}

/// Commands of hundreds of `*` are classified in linear time off the async workers: four at
/// once do not stall the server, and other calls (cancellation included) still get answers.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn glob_bombs_do_not_stall_the_server() {
    let h = local("safe", Human::Absent).await;
    // None of them is a proven read, so none runs: a glob that could become an option, a write,
    // a secret matched through a pattern.
    let bombs = [
        format!("cat {}x", "*".repeat(400)),
        format!("echo x > /tmp/{}", "*a".repeat(400)),
        format!("cat /etc/{}shadow", "*".repeat(400)),
        format!("ls -d {}/{}", "[".repeat(300), "*?".repeat(400)),
    ];
    let calls = bombs.iter().map(|cmd| {
        let h = &h;
        async move {
            h.call("execute_command", json!({"node": "pve1", "command": cmd}))
                .await
        }
    });
    let (bombs, vms) = tokio::time::timeout(Duration::from_secs(120), async {
        tokio::join!(
            futures::future::join_all(calls),
            h.call("list_vms", json!({}))
        )
    })
    .await
    .expect("the server stopped answering");
    assert!(!vms.failed(), "{}", vms.text());
    for r in bombs {
        assert_ne!(outcome(&r), "allow", "{}", r.text());
    }
    h.finish().await;
}

/// A command the human must confirm is shown whole, with control and invisible characters
/// escaped; one too long to show in full is refused, never cut.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_human_sees_what_will_run() {
    let h = local("safe", Human::Decline).await;
    let victim = h.dir.path().join("victim");
    std::fs::create_dir(&victim).unwrap();
    let hidden = format!("rm -rf {}\r\u{202e}ls\u{200b} # harmless", victim.display());
    let r = h
        .call(
            "execute_command",
            json!({"node": "pve1", "command": hidden}),
        )
        .await;
    assert_eq!(outcome(&r), "confirm", "{}", r.text());
    let asked = h.mcp.asked().join("\n");
    assert!(
        asked.contains(&format!(
            "rm -rf {}\\r\\u{{202e}}ls\\u{{200b}}",
            victim.display()
        )),
        "{asked}"
    );
    assert!(
        !asked.contains('\u{202e}') && !asked.contains('\r'),
        "{asked:?}"
    );
    let long = format!("touch {}/{}", victim.display(), "a".repeat(9000));
    let r = h
        .call("execute_command", json!({"node": "pve1", "command": long}))
        .await;
    assert_eq!(outcome(&r), "refuse", "{}", r.text());
    assert!(r.text().contains("shown in full"), "{}", r.text());
    assert!(victim.exists());
    h.finish().await;
}

/// Reads stay reads in read-only mode: the everyday checks of an administrator run.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reads_stay_reads_in_read_only_mode() {
    let h = local("read-only", Human::Absent).await;
    for cmd in [
        "passwd -S root",
        "chage -l root",
        "visudo -c",
        "ssh-keygen -lf /root/.ssh/authorized_keys",
        "proxmox-boot-tool status",
        "man qm",
        "iptables-save | grep -c PVEFW",
        "curl -sk -o /dev/null -w '%{http_code}' https://127.0.0.1:8006/",
        "qm guest exec 100 -- uptime",
    ] {
        let r = h
            .call(
                "execute_command",
                json!({"node": "pve1", "command": cmd, "timeout": 10}),
            )
            .await;
        assert_eq!(outcome(&r), "allow", "{cmd}: {}", r.text());
    }
    h.finish().await;
}

/// Even a command a human confirmed cannot act as the operator: `proxmox-mcp approve` run
/// from inside a tool call refuses, so the approval stays pending.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_confirmed_command_cannot_act_as_the_operator() {
    let h = local("safe", Human::Accept).await;
    let (vm_node, vmid) = {
        let vms = e2e::sim::guests(&h.sim.api(), "qemu").await;
        let vm = vms
            .iter()
            .find(|g| g["status"] == json!("stopped"))
            .unwrap();
        (
            vm["node"].as_str().unwrap().to_string(),
            vm["vmid"].as_u64().unwrap(),
        )
    };
    // An approval id, as the command line hands one out when no terminal can ask.
    let destroy = json!({"method": "DELETE", "path": format!("/nodes/{vm_node}/qemu/{vmid}")});
    let out = h.cli(&["call", "proxmox_api", "--json", &destroy.to_string()]);
    let id = approval_id(&format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    ));
    // The program name and the server's paths are assembled at run time, so the text names
    // nothing protected: the human is asked and says yes, and the operator command itself
    // still refuses to run inside a tool call.
    let bin = e2e::binary();
    let split = |p: &Path| {
        let s = p.display().to_string();
        let (a, b) = s.split_at(s.len() - 3);
        format!("\"$(printf %s {a})$(printf %s {b})\"")
    };
    // The CLI finds the server's state through a config file of its own, named nowhere the
    // server knows.
    let alt = h.dir.path().join("alt.toml");
    std::fs::write(
        &alt,
        format!("state_dir = {:?}\n", state(&h).display().to_string()),
    )
    .unwrap();
    let cmd = format!("{} --config {} approve {id}", split(&bin), alt.display());
    let r = h
        .call("execute_command", json!({"node": "pve1", "command": cmd}))
        .await;
    assert!(!r.failed(), "{}", r.text());
    assert_ne!(r.structured()["exit_code"], json!(0), "{}", r.structured());
    let stderr = r.structured()["stderr"].as_str().unwrap_or_default();
    assert!(
        stderr.contains("own shell"),
        "refused for another reason: {stderr}"
    );
    let listed = String::from_utf8_lossy(&h.cli(&["approvals"]).stdout).to_string();
    assert!(
        listed.contains(&id) && listed.contains("pending"),
        "{listed}"
    );
    h.finish().await;
}

/// The raw API's guest-agent exec is judged as `execute_vm_command` judges the same program:
/// a read runs, root protection refuses, and bulk `POST /nodes/{node}/execute` is judged by the
/// calls it carries.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn raw_agent_exec_and_bulk_execute_get_the_command_verdict() {
    let h = local("safe", Human::Absent).await;
    let vms = e2e::sim::guests(&h.sim.api(), "qemu").await;
    let vm = vms
        .iter()
        .find(|g| g["status"] == json!("running"))
        .expect("a running VM");
    let (node, vmid) = (vm["node"].as_str().unwrap(), vm["vmid"].as_u64().unwrap());
    let exec = |argv: Value| {
        json!({"method": "POST", "path": format!("/nodes/{node}/qemu/{vmid}/agent/exec"),
               "params": {"command": argv}})
    };
    for (argv, want) in [
        (json!(["passwd", "root"]), "refuse"),
        (json!(["cat", "/etc/shadow"]), "refuse"),
        (json!("sh -c 'pveum user delete root@pam'"), "refuse"),
        (json!(["rm", "-rf", "/srv/data"]), "confirm"),
    ] {
        let raw = h.call("proxmox_api", exec(argv.clone())).await;
        assert_eq!(outcome(&raw), want, "{argv}: {}", raw.text());
        let vmc = h
            .call("execute_vm_command", json!({"vmid": vmid, "command": argv}))
            .await;
        assert_eq!(outcome(&vmc), want, "{argv}: {}", vmc.text());
    }
    let ex = h
        .ok(
            "explain_command",
            exec(json!(["uptime"])).as_object().unwrap().clone().into(),
        )
        .await;
    assert_eq!(ex["decisions"]["read-only"]["decision"], "allow", "{ex}");
    let bulk = json!({"method": "POST", "path": format!("/nodes/{node}/execute"),
        "params": {"commands": "[{\"method\":\"DELETE\",\"path\":\"/access/users/root@pam\"}]"}});
    assert_eq!(outcome(&h.call("proxmox_api", bulk).await), "refuse");
    let garbled = json!({"method": "POST", "path": format!("/nodes/{node}/execute"),
        "params": {"commands": "not json"}});
    assert_eq!(outcome(&h.call("proxmox_api", garbled).await), "refuse");
    assert!(h.writes().is_empty(), "{:?}", h.writes());
    h.finish().await;
}
