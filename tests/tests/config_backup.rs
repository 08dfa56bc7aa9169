//! `backup_config` / `restore_config` end to end: the real binary over MCP, a human answering
//! the confirmation, the files on disk and the audit log. A valid archive round-trips; every
//! kind of malicious archive is refused and leaves the live files byte for byte as they were.

use std::io::Write as _;
use std::path::PathBuf;

use e2e::{Harness, Human, Protocol, Value, json, per_protocol};
use sha2::{Digest as _, Sha256};

per_protocol!(
    a_backup_round_trips_through_a_human_approved_restore,
    an_out_of_band_approval_is_bound_to_the_archive_bytes,
);

const CONFIG: &str = "[policy]\nprotected_vmids = [901]\n";

async fn start(p: Protocol) -> Harness {
    Harness::builder(p)
        .human(Human::Accept)
        .mode("safe")
        .config(CONFIG)
        .start()
        .await
}

fn config_path(h: &Harness) -> PathBuf {
    h.dir.path().join("empty-config.toml")
}

fn state(h: &Harness) -> PathBuf {
    h.dir.path().join("state")
}

/// The live files a restore may touch, as bytes.
fn live(h: &Harness) -> Vec<(String, Option<Vec<u8>>)> {
    let mut paths = vec![config_path(h), state(h).join("mode")];
    if let Ok(rd) = std::fs::read_dir(state(h).join("approvals")) {
        let mut approvals: Vec<PathBuf> = rd
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "json"))
            .collect();
        approvals.sort();
        paths.extend(approvals);
    }
    paths.push(state(h).join("bridge/tokens.json"));
    paths
        .into_iter()
        .map(|p| (p.display().to_string(), std::fs::read(&p).ok()))
        .collect()
}

/// The newest audit record of `tool`.
fn last_record(h: &Harness, tool: &str) -> Value {
    h.audit()
        .into_iter()
        .rev()
        .find(|r| r["tool"] == json!(tool) && r["result"] != json!("started"))
        .unwrap_or_else(|| panic!("no audit record for {tool}"))
}

async fn a_backup_round_trips_through_a_human_approved_restore(p: Protocol) {
    let h = start(p).await;
    let original = live(&h);
    let made = h
        .ok(
            "backup_config",
            json!({"action": "create", "reason": "before the change"}),
        )
        .await;
    let name = made["created"]["name"].as_str().unwrap().to_string();
    let archive = state(&h).join("backups").join(&name);
    use std::os::unix::fs::PermissionsExt as _;
    let perms = std::fs::metadata(&archive).unwrap().permissions().mode();
    assert_eq!(perms & 0o777, 0o600, "{}", archive.display());
    let listed = h.ok("backup_config", json!({"action": "list"})).await;
    let row = &listed["backups"][0];
    assert_eq!(row["name"], json!(name), "{listed}");
    assert_eq!(row["reason"], json!("before the change"));
    assert!(row["size"].as_u64().unwrap() > 0);
    assert!(row["server_version"].is_string() && row["created"].is_string());

    // Change the configuration and the mode.
    std::fs::write(config_path(&h), "[policy]\nprotected_vmids = [902]\n").unwrap();
    h.ok("toggle_mode", json!({"mode": "normal"})).await;
    assert_eq!(
        std::fs::read_to_string(state(&h).join("mode"))
            .unwrap()
            .trim(),
        "normal"
    );
    assert_ne!(live(&h), original);

    let asked_before = h.mcp.asked().len();
    let r = h.ok("restore_config", json!({"name": name})).await;
    let asked = h.mcp.asked();
    assert_eq!(
        asked.len(),
        asked_before + 1,
        "a human was asked: {asked:?}"
    );
    let question = asked.last().unwrap();
    assert!(
        question.contains(&name) && question.contains("config.toml changed"),
        "{question}"
    );
    assert!(
        question.contains("config policy.protected_vmids: [902] ->")
            && question.contains("mode normal -> "),
        "the question shows the values that change: {question}"
    );
    assert_eq!(live(&h), original, "the live files are back");
    assert_eq!(r["restart_needed"], json!(true), "{r}");
    let pre = r["pre_restore"]["name"].as_str().unwrap();
    assert!(state(&h).join("backups").join(pre).is_file());
    let rec = last_record(&h, "restore_config");
    assert_eq!(rec["decision"], "confirmed", "{rec}");

    // The operator's CLI sees the same backups.
    let out = h.cli(&["config-backup", "list"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && text.contains(&name) && text.contains(pre),
        "{text}"
    );
    h.finish().await;
}

/// A raw tar entry: name bytes, type byte, contents, link name.
struct Raw {
    name: Vec<u8>,
    kind: u8,
    data: Vec<u8>,
    link: Vec<u8>,
}

fn file(name: &str, data: &[u8]) -> Raw {
    Raw {
        name: name.as_bytes().to_vec(),
        kind: b'0',
        data: data.to_vec(),
        link: Vec::new(),
    }
}

/// A tar stream written header by header: names and types are not checked.
fn tar(entries: &[Raw]) -> Vec<u8> {
    let mut out = Vec::new();
    for e in entries {
        let mut h = tar::Header::new_old();
        h.as_old_mut().name[..e.name.len()].copy_from_slice(&e.name);
        h.as_old_mut().linkname[..e.link.len()].copy_from_slice(&e.link);
        h.set_entry_type(tar::EntryType::new(e.kind));
        h.set_size(e.data.len() as u64);
        h.set_mode(0o600);
        h.set_cksum();
        out.extend_from_slice(h.as_bytes());
        out.extend_from_slice(&e.data);
        out.resize(out.len().div_ceil(512) * 512, 0);
    }
    out.resize(out.len() + 1024, 0);
    out
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    gz.write_all(bytes).unwrap();
    gz.finish().unwrap()
}

/// A manifest that lists `files` truthfully.
fn manifest(format: u32, files: &[(&str, &[u8])]) -> Raw {
    let files: Vec<Value> = files
        .iter()
        .map(|(p, d)| json!({"path": p, "size": d.len(), "sha256": hex(&Sha256::digest(d))}))
        .collect();
    let m = json!({"format": format, "server_version": "0.1.0", "created": 0,
                   "reason": "evil", "files": files});
    file("manifest.json", m.to_string().as_bytes())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Every malicious archive, with what its refusal must say.
fn malicious() -> Vec<(&'static str, Vec<u8>, &'static str)> {
    let mode: &[u8] = b"normal\n";
    let with = |e: Raw| gzip(&tar(&[manifest(1, &[]), e]));
    let link = |kind: u8| Raw {
        name: b"state/mode".to_vec(),
        kind,
        data: Vec::new(),
        link: b"/etc/shadow".to_vec(),
    };
    let bomb = {
        // One entry claiming 64 MiB of zeros: tiny compressed.
        let mut h = tar::Header::new_old();
        h.as_old_mut().name[..10].copy_from_slice(b"state/mode");
        h.set_size(64 << 20);
        h.set_entry_type(tar::EntryType::Regular);
        h.set_cksum();
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        gz.write_all(h.as_bytes()).unwrap();
        let zeros = vec![0u8; 1 << 20];
        for _ in 0..64 {
            gz.write_all(&zeros).unwrap();
        }
        gz.finish().unwrap()
    };
    let many: Vec<Raw> = (0..600)
        .map(|i| file(&format!("state/approvals/{i:010}.json"), b"{}"))
        .collect();
    vec![
        ("traversal", with(file("../x", mode)), "path traversal"),
        ("absolute", with(file("/etc/x", mode)), "absolute name"),
        ("symlink", with(link(b'2')), "symbolic link"),
        ("hardlink", with(link(b'1')), "hard link"),
        ("chardev", with(link(b'3')), "character device"),
        (
            "checksum",
            gzip(&tar(&[
                manifest(1, &[("state/mode", b"nxrmal\n")]),
                file("state/mode", b"normal\n"),
            ])),
            "checksum mismatch",
        ),
        (
            "future",
            gzip(&tar(&[manifest(99, &[])])),
            "newer than this server",
        ),
        ("bomb", bomb, "more than the cap"),
        ("entries", gzip(&tar(&many)), "more than 512 entries"),
        (
            "allowlist",
            with(file("state/bridge/secret", mode)),
            "not on the allow-list",
        ),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malicious_archives_are_refused_and_change_nothing() {
    let h = start(Protocol::Modern).await;
    // One good backup, to tell the listing apart from pre-restore backups.
    h.ok("backup_config", json!({"action": "create"})).await;
    let before = live(&h);
    let backups = state(&h).join("backups");
    for (name, bytes, want) in malicious() {
        let file = format!("evil-{name}.tar.gz");
        std::fs::write(backups.join(&file), bytes).unwrap();
        let err = h.err("restore_config", json!({"name": file})).await;
        assert!(err.contains(want), "{name}: want {want:?} in: {err}");
        assert!(err.contains("nothing was changed"), "{name}: {err}");
        assert_eq!(live(&h), before, "{name}: the live files are untouched");
        let rec = last_record(&h, "restore_config");
        assert_eq!(rec["decision"], "refused", "{name}: {rec}");
    }
    assert!(
        h.mcp.asked().is_empty(),
        "no human is asked about a bad archive"
    );
    // `list` reads manifests only, so count the files: one good, the bad ones, no
    // pre-restore backup.
    let files = std::fs::read_dir(&backups).unwrap().count();
    assert_eq!(
        files,
        1 + malicious().len(),
        "no pre-restore backup was taken"
    );

    // Names that would leave the backups folder never reach the file system.
    let err = h.err("restore_config", json!({"name": "../mode"})).await;
    assert!(err.contains("is not a backup name"), "{err}");
    h.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn read_only_mode_refuses_a_restore_and_the_operator_cli_restores() {
    let h = start(Protocol::Modern).await;
    let made = h.ok("backup_config", json!({"action": "create"})).await;
    let name = made["created"]["name"].as_str().unwrap().to_string();
    let original = live(&h);
    h.ok("toggle_mode", json!({"mode": "read-only"})).await;
    let err = h.err("restore_config", json!({"name": name})).await;
    assert!(err.contains("read-only"), "{err}");
    assert_eq!(last_record(&h, "restore_config")["decision"], "refused");
    let err = h.err("backup_config", json!({"action": "create"})).await;
    assert!(err.contains("read-only"), "{err}");

    let dry = h.cli(&["config-backup", "restore", &name, "--dry-run"]);
    let text = String::from_utf8_lossy(&dry.stdout);
    assert!(
        dry.status.success() && text.contains("changed   state/mode"),
        "{text}"
    );
    assert_ne!(live(&h), original, "a dry run changes nothing");
    let out = h.cli(&["config-backup", "restore", &name]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains("pre-restore backup"), "{text}");
    assert_eq!(live(&h), original);
    let rec = last_record(&h, "config-backup restore");
    assert_eq!(rec["decision"], "allowed", "{rec}");
    h.finish().await;
}

fn approval_id(msg: &str) -> String {
    let at = msg
        .find("proxmox-mcp approve ")
        .unwrap_or_else(|| panic!("no approval id in: {msg}"));
    msg[at + "proxmox-mcp approve ".len()..][..10].to_string()
}

async fn an_out_of_band_approval_is_bound_to_the_archive_bytes(p: Protocol) {
    let h = Harness::builder(p)
        .mode("safe")
        .config(CONFIG)
        .start()
        .await;
    let made = h.ok("backup_config", json!({"action": "create"})).await;
    let name = made["created"]["name"].as_str().unwrap().to_string();
    let original = live(&h);
    let archive = state(&h).join("backups").join(&name);
    let approved_bytes = std::fs::read(&archive).unwrap();
    std::fs::write(config_path(&h), "[policy]\nprotected_vmids = [902]\n").unwrap();

    let msg = h.err("restore_config", json!({"name": name})).await;
    let id = approval_id(&msg);
    assert_eq!(last_record(&h, "restore_config")["decision"], "pending");
    assert!(h.cli(&["approve", &id]).status.success());

    // The archive is swapped for another valid one after the human said yes: refused.
    let other = h.ok("backup_config", json!({"action": "create"})).await;
    let other = state(&h)
        .join("backups")
        .join(other["created"]["name"].as_str().unwrap());
    std::fs::copy(&other, &archive).unwrap();
    let changed = live(&h);
    let msg = h
        .err("restore_config", json!({"name": name, "approval_id": id}))
        .await;
    assert!(msg.contains("other arguments"), "{msg}");
    assert_eq!(
        live(&h),
        changed,
        "nothing restored from bytes nobody approved"
    );
    assert_eq!(last_record(&h, "restore_config")["decision"], "refused");

    // The approved bytes back: the approval runs it.
    std::fs::write(&archive, approved_bytes).unwrap();
    h.ok("restore_config", json!({"name": name, "approval_id": id}))
        .await;
    // The approval's own record (now used) stays; everything else is as backed up.
    let now: Vec<_> = live(&h)
        .into_iter()
        .filter(|(p, _)| !p.contains("/approvals/"))
        .collect();
    assert_eq!(now, original);
    assert_eq!(last_record(&h, "restore_config")["decision"], "confirmed");
    h.finish().await;
}
