//! Updates end to end: `check_updates` against a loopback release feed (newer, same, older,
//! malformed, slow, throttled); `self_update` of a git checkout built from a local bare
//! repository (a failed build and a broken new binary leave the running one in place, success
//! keeps the previous one, `proxmox-mcp rollback` restores it); and the release-binary path,
//! which refuses a bad checksum and a bad or missing signature.

use std::collections::HashMap;
use std::io::{Read as _, Write as _};
use std::net::TcpListener;
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine as _;
use e2e::{Harness, Human, Mcp, Protocol, ResultExt as _, Value, binary, isolation_env, json};

// ---------------------------------------------------------------------------------------------
// A loopback HTTP server with routes that can change between calls

#[derive(Clone)]
struct Route {
    body: Vec<u8>,
    delay: Duration,
}

#[derive(Clone, Default)]
struct Server {
    routes: Arc<Mutex<HashMap<String, Route>>>,
    hits: Arc<Mutex<HashMap<String, usize>>>,
    base: String,
}

impl Server {
    fn start() -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let mut s = Server {
            base: format!("http://{}", listener.local_addr().unwrap()),
            ..Server::default()
        };
        let me = s.clone();
        std::thread::spawn(move || {
            for conn in listener.incoming().flatten() {
                let me = me.clone();
                std::thread::spawn(move || me.answer(conn));
            }
        });
        s.base = s.base.clone();
        s
    }

    fn answer(&self, mut conn: std::net::TcpStream) {
        let mut head = Vec::new();
        let mut buf = [0u8; 1024];
        while !head.windows(4).any(|w| w == b"\r\n\r\n") {
            match conn.read(&mut buf) {
                Ok(0) | Err(_) => return,
                Ok(n) => head.extend_from_slice(&buf[..n]),
            }
        }
        let text = String::from_utf8_lossy(&head);
        let path = text.split_whitespace().nth(1).unwrap_or("/").to_owned();
        *self.hits.lock().unwrap().entry(path.clone()).or_default() += 1;
        let route = self.routes.lock().unwrap().get(&path).cloned();
        let (status, body) = match route {
            Some(r) => {
                std::thread::sleep(r.delay);
                ("200 OK", r.body)
            }
            None => ("404 Not Found", b"not found".to_vec()),
        };
        let _ = conn.write_all(
            format!(
                "HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                body.len()
            )
            .as_bytes(),
        );
        let _ = conn.write_all(&body);
    }

    fn set(&self, path: &str, body: impl Into<Vec<u8>>) {
        self.set_slow(path, body, Duration::ZERO);
    }

    fn set_slow(&self, path: &str, body: impl Into<Vec<u8>>, delay: Duration) {
        self.routes.lock().unwrap().insert(
            path.to_owned(),
            Route {
                body: body.into(),
                delay,
            },
        );
    }

    fn remove(&self, path: &str) {
        self.routes.lock().unwrap().remove(path);
    }

    fn hits(&self, path: &str) -> usize {
        self.hits.lock().unwrap().get(path).copied().unwrap_or(0)
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }
}

/// The running version and versions around it.
fn current() -> (u64, u64, u64) {
    let v: Vec<u64> = env!("CARGO_PKG_VERSION")
        .split('.')
        .map(|p| p.parse().unwrap())
        .collect();
    (v[0], v[1], v[2])
}

fn newer() -> String {
    let (a, b, _) = current();
    format!("{a}.{}.0", b + 1)
}

fn older() -> String {
    let (a, b, c) = current();
    match (b, c) {
        (0, 0) => format!("{}.9.9", a.saturating_sub(1)),
        (_, 0) => format!("{a}.{}.9", b - 1),
        _ => format!("{a}.{b}.{}", c - 1),
    }
}

// ---------------------------------------------------------------------------------------------
// check_updates

async fn feed_harness(server: &Server) -> Harness {
    Harness::builder(Protocol::Legacy)
        .env("PROXMOX_MCP_UPDATE_SOURCE", "feed")
        .env("PROXMOX_MCP_UPDATE_URL", server.url("/releases.json"))
        .env("PROXMOX_MCP_UPDATE_TIMEOUT_SECS", "1")
        .start()
        .await
}

fn release(version: &str, notes: &str) -> Value {
    json!({"version": version, "published": "2026-12-01", "notes": notes, "assets": []})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_updates_newer_same_older_malformed_slow() {
    let server = Server::start();
    let h = feed_harness(&server).await;
    let cur = env!("CARGO_PKG_VERSION");
    let new = newer();

    // Newer: the newest stable release, with the feed's notes between; a pre-release is not offered.
    let feed = json!([
        release(cur, "- this one"),
        release(&new, "- the next one"),
        release("99.0.0-rc.1", "- not yet"),
    ]);
    server.set("/releases.json", feed.to_string());
    let r = h.ok("check_updates", json!({"force": true})).await;
    assert_eq!(r["update_available"], true, "{r}");
    assert_eq!(r["latest"], new.as_str(), "{r}");
    assert_eq!(r["current"], cur);
    assert_eq!(r["cached"], false);
    assert_eq!(r["changelog"][0]["version"], new.as_str(), "{r}");
    assert_eq!(r["changelog"][0]["notes"], "- the next one");
    assert_eq!(r["changelog"].as_array().unwrap().len(), 1, "{r}");

    // Same.
    server.set("/releases.json", json!([release(cur, "")]).to_string());
    let r = h.ok("check_updates", json!({"force": true})).await;
    assert_eq!(r["update_available"], false, "{r}");
    assert_eq!(r["latest"], cur);

    // Older (wrapped form of the feed).
    server.set(
        "/releases.json",
        json!({"releases": [release(&older(), "")]}).to_string(),
    );
    let r = h.ok("check_updates", json!({"force": true})).await;
    assert_eq!(r["update_available"], false, "{r}");
    assert_eq!(r["latest"], older().as_str());

    // Malformed.
    server.set("/releases.json", "{\"version\": ");
    let e = h.err("check_updates", json!({"force": true})).await;
    assert!(e.contains("not release JSON"), "{e}");
    server.set("/releases.json", json!([{"version": "latest"}]).to_string());
    let e = h.err("check_updates", json!({"force": true})).await;
    assert!(e.contains("not a semantic version"), "{e}");

    // Slow: a clean error within the 1 s timeout, not a hang.
    server.set_slow("/releases.json", "[]", Duration::from_secs(8));
    let t0 = Instant::now();
    let e = h.err("check_updates", json!({"force": true})).await;
    assert!(
        t0.elapsed() < Duration::from_secs(4),
        "took {:?}",
        t0.elapsed()
    );
    assert!(e.contains("did not answer within 1 s"), "{e}");

    // The feed is gone: the status is named.
    server.remove("/releases.json");
    let e = h.err("check_updates", json!({"force": true})).await;
    assert!(e.contains("404"), "{e}");
    h.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_updates_asks_at_most_once_a_day() {
    let server = Server::start();
    let h = feed_harness(&server).await;
    server.set(
        "/releases.json",
        json!([release(&newer(), "- next")]).to_string(),
    );
    let first = h.ok("check_updates", json!({})).await;
    assert_eq!(first["cached"], false);
    assert_eq!(server.hits("/releases.json"), 1);

    let second = h.ok("check_updates", json!({})).await;
    assert_eq!(server.hits("/releases.json"), 1, "a second check went out");
    assert_eq!(second["cached"], true, "{second}");
    assert_eq!(second["latest"], first["latest"]);
    assert_eq!(second["checked_at"], first["checked_at"]);
    let stamp = h.dir.path().join("state/update-check.json");
    assert!(stamp.is_file(), "no stamp file at {}", stamp.display());

    let forced = h.ok("check_updates", json!({"force": true})).await;
    assert_eq!(server.hits("/releases.json"), 2, "force did not ask");
    assert_eq!(forced["cached"], false);
    h.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn get_changelog_filters_by_version() {
    let h = Harness::start(Protocol::Legacy).await;
    let cur = env!("CARGO_PKG_VERSION");
    let r = h.ok("get_changelog", json!({"to": cur})).await;
    let versions: Vec<&str> = r["releases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["version"].as_str().unwrap())
        .collect();
    assert_eq!(versions.first(), Some(&cur), "{r}");
    assert!(!versions.contains(&"Unreleased"), "{versions:?}");
    let r = h.ok("get_changelog", json!({"from": cur, "to": cur})).await;
    assert_eq!(r["releases"], json!([]));
    let e = h.err("get_changelog", json!({"from": "yesterday"})).await;
    assert!(e.contains("from") && e.contains("semantic version"), "{e}");
    h.finish().await;
}

// ---------------------------------------------------------------------------------------------
// self_update of a git checkout

fn run(cmd: &mut Command) -> String {
    let out = cmd.output().expect("running a command");
    assert!(
        out.status.success(),
        "{cmd:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

fn git(dir: &Path, args: &[&str]) -> String {
    run(Command::new("git")
        .args(["-c", "user.name=t", "-c", "user.email=t@example.invalid"])
        .arg("-C")
        .arg(dir)
        .args(args))
}

/// A build script that makes a "binary" answering `--version` with `version` and `exit`.
fn build_script(version: &str, build_exit: i32, version_exit: i32) -> String {
    format!(
        "set -e\nmkdir -p \"$CARGO_TARGET_DIR/release\"\n\
         echo 'compiling...' >&2\n\
         if [ {build_exit} -ne 0 ]; then echo 'error[E0308]: mismatched types' >&2; exit {build_exit}; fi\n\
         printf '#!/bin/sh\\necho \"proxmox-mcp {version}\"\\nexit {version_exit}\\n' \
         > \"$CARGO_TARGET_DIR/release/proxmox-mcp\"\n\
         chmod +x \"$CARGO_TARGET_DIR/release/proxmox-mcp\"\n"
    )
}

/// A bare repository with tags: the current version, a newer one that builds, and two
/// pre-releases of it (never offered as the newest): one whose build fails and one whose
/// binary's `--version` fails.
fn bare_repo(root: &Path) -> PathBuf {
    let src = root.join("src");
    std::fs::create_dir_all(&src).unwrap();
    git(&src, &["init", "-q"]);
    let tags = [
        (env!("CARGO_PKG_VERSION").to_owned(), 0, 0),
        (format!("{}-rc.1", newer()), 1, 0),
        (format!("{}-rc.2", newer()), 0, 7),
        (newer(), 0, 0),
    ];
    for (v, build_exit, version_exit) in &tags {
        std::fs::write(
            src.join("build.sh"),
            build_script(v, *build_exit, *version_exit),
        )
        .unwrap();
        git(&src, &["add", "build.sh"]);
        git(&src, &["commit", "-q", "-m", &format!("release {v}")]);
        git(&src, &["tag", &format!("v{v}")]);
    }
    let bare = root.join("origin.git");
    run(Command::new("git")
        .args(["clone", "-q", "--bare"])
        .arg(&src)
        .arg(&bare));
    bare
}

/// The server under test, started from `bin` with a client that approves (or not).
async fn spawn_installed(
    bin: &Path,
    dir: &Path,
    extra: &[(&str, String)],
) -> (Mcp, Vec<(String, String)>) {
    let mut env = isolation_env(dir);
    std::fs::write(dir.join("empty-config.toml"), "# config v1\n").unwrap();
    env.extend(extra.iter().map(|(k, v)| (k.to_string(), v.clone())));
    let mcp = Mcp::spawn_with(bin, Protocol::Legacy, &env, Human::Accept)
        .await
        .unwrap_or_else(|e| panic!("{e:#}"));
    (mcp, env)
}

fn rollback(bin: &Path, env: &[(String, String)]) -> std::process::Output {
    let mut cmd = Command::new(binary());
    e2e::mcp::scrub_env(&mut cmd);
    cmd.envs(env.iter().map(|(k, v)| (k, v)))
        .arg("rollback")
        .arg("--binary")
        .arg(bin)
        .stdin(std::process::Stdio::null())
        .output()
        .expect("running rollback")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn self_update_of_a_git_checkout_and_rollback() {
    let tmp = tempfile::tempdir().unwrap();
    let bare = bare_repo(tmp.path());
    let tree = tmp.path().join("install");
    let cur = env!("CARGO_PKG_VERSION");
    run(Command::new("git")
        .args(["clone", "-q", "--branch", &format!("v{cur}")])
        .arg(&bare)
        .arg(&tree));
    let bin = tree.join("target/release/proxmox-mcp");
    std::fs::create_dir_all(bin.parent().unwrap()).unwrap();
    std::fs::copy(binary(), &bin).unwrap();
    let original = std::fs::read(&bin).unwrap();
    let head = git(&tree, &["rev-parse", "HEAD"]);
    let (mcp, env) = spawn_installed(
        &bin,
        tmp.path(),
        &[
            (
                "PROXMOX_MCP_UPDATE_BUILD_COMMAND",
                "mkdir -p \"$CARGO_TARGET_DIR\" && env > \"$CARGO_TARGET_DIR/build-env\" && sh build.sh"
                    .into(),
            ),
            ("E2E_SERVER_SECRET", "hunter2-never-in-a-build".into()),
        ],
    )
    .await;

    // A checkout asks its remote's tags; pre-releases are not offered.
    let r = mcp.call("check_updates", json!({})).await;
    r.ok("check_updates (git)");
    let r = r.structured().clone();
    assert_eq!(r["source"], "git origin", "{r}");
    assert_eq!(r["install_method"], "git");
    assert_eq!(r["latest"], newer().as_str(), "{r}");
    assert_eq!(r["update_available"], true);

    // The approval names the version: none given, or an older one without `downgrade`, is
    // refused before a human is asked.
    let e = mcp.call("self_update", json!({})).await.err("no version");
    assert!(e.contains("check_updates"), "{e}");
    let e = mcp
        .call("self_update", json!({"version": "0.0.1"}))
        .await
        .err("silent downgrade");
    assert!(e.contains("downgrade: true"), "{e}");
    assert!(mcp.asked().is_empty(), "{:?}", mcp.asked());
    let e = mcp
        .call(
            "self_update",
            json!({"version": "0.0.1", "downgrade": true}),
        )
        .await
        .err("downgrade to a missing release");
    assert!(e.contains("no release 0.0.1"), "{e}");
    let asked = mcp.asked();
    assert!(
        asked
            .iter()
            .any(|m| m.contains("DOWNGRADE") && m.contains("sh build.sh")),
        "{asked:?}"
    );

    // A tree that holds anything but its commit is not built: a planted cargo config or
    // build script edit would run as the server.
    let planted = tree.join(".cargo/config.toml");
    std::fs::create_dir_all(planted.parent().unwrap()).unwrap();
    std::fs::write(&planted, "[build]\nrustc-wrapper = \"/tmp/evil\"\n").unwrap();
    let e = mcp
        .call("self_update", json!({"version": newer()}))
        .await
        .err("planted cargo config");
    assert!(
        e.contains("not clean") && e.contains(".cargo/config.toml"),
        "{e}"
    );
    std::fs::remove_dir_all(tree.join(".cargo")).unwrap();
    std::fs::write(tree.join("build.sh"), "echo evil\n").unwrap();
    let e = mcp
        .call("self_update", json!({"version": newer()}))
        .await
        .err("local edit");
    assert!(e.contains("not clean") && e.contains("build.sh"), "{e}");
    git(&tree, &["checkout", "--", "build.sh"]);
    assert!(
        std::fs::read(&bin).unwrap() == original,
        "the binary changed"
    );
    assert_eq!(git(&tree, &["rev-parse", "HEAD"]), head);

    // The build fails: nothing changes, the checkout is back where it was.
    let broken_build = format!("{}-rc.1", newer());
    let e = mcp
        .call("self_update", json!({"version": broken_build}))
        .await
        .err("self_update (failing build)");
    assert!(e.contains("build") && e.contains("mismatched types"), "{e}");
    assert!(
        std::fs::read(&bin).unwrap() == original,
        "the binary changed"
    );
    assert_eq!(git(&tree, &["rev-parse", "HEAD"]), head);
    assert!(
        mcp.asked().iter().any(|m| m.contains("human")),
        "no human was asked: {:?}",
        mcp.asked()
    );

    // The new binary's --version fails: nothing changes.
    let broken_bin = format!("{}-rc.2", newer());
    let e = mcp
        .call("self_update", json!({"version": broken_bin}))
        .await
        .err("self_update (broken binary)");
    assert!(e.contains("--version failed"), "{e}");
    assert!(
        std::fs::read(&bin).unwrap() == original,
        "the binary changed"
    );
    assert!(!tree.join("target/release/proxmox-mcp.new").exists());
    assert_eq!(git(&tree, &["rev-parse", "HEAD"]), head);

    // The newest release: built, probed, swapped; the previous binary is kept.
    let r = mcp.call("self_update", json!({"version": newer()})).await;
    r.ok("self_update");
    let out = r.structured().clone();
    assert_eq!(out["status"], "updated", "{out}");
    assert_eq!(out["to"], newer().as_str());
    assert_eq!(out["method"], "git");
    let swapped = String::from_utf8_lossy(&std::fs::read(&bin).unwrap()).into_owned();
    assert!(
        swapped.contains(&format!("proxmox-mcp {}", newer())),
        "{swapped}"
    );
    assert!(std::fs::read(tree.join("target/release/proxmox-mcp.previous")).unwrap() == original);
    let config = tmp.path().join("empty-config.toml");
    assert_eq!(
        std::fs::read_to_string(tmp.path().join("state/rollback/previous.config")).unwrap(),
        "# config v1\n"
    );
    // Nothing a command could rewrite is kept beside the binary but the binary itself.
    for kept in ["proxmox-mcp.previous.config", "proxmox-mcp.previous.json"] {
        assert!(!tree.join("target/release").join(kept).exists(), "{kept}");
    }
    assert_eq!(git(&tree, &["describe", "--tags"]), format!("v{}", newer()));
    // The build saw a minimal environment, not the server's.
    let build_env = std::fs::read_to_string(tree.join("target/self-update/build-env")).unwrap();
    assert!(build_env.contains("PROXMOX_MCP_TOOL_CALL=1"), "{build_env}");
    assert!(!build_env.contains("hunter2"), "{build_env}");
    assert!(!build_env.contains("PROXMOX_MCP_CONFIG"), "{build_env}");
    mcp.close().await;

    // Rollback restores the binary and the config.
    std::fs::write(&config, "# config v2\n").unwrap();
    let out = rollback(&bin, &env);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        std::fs::read(&bin).unwrap() == original,
        "rollback did not restore the binary"
    );
    assert_eq!(std::fs::read_to_string(&config).unwrap(), "# config v1\n");
    let again = rollback(&bin, &env);
    assert_eq!(again.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&again.stderr).contains("nothing to roll back"),
        "{}",
        String::from_utf8_lossy(&again.stderr)
    );
}

// ---------------------------------------------------------------------------------------------
// self_update of a release binary

/// A minisign key made with ring: `(public key line, signer)`.
struct Key {
    id: [u8; 8],
    pair: ring::signature::Ed25519KeyPair,
}

impl Key {
    fn new(id: u8) -> Key {
        let rng = ring::rand::SystemRandom::new();
        let pkcs8 = ring::signature::Ed25519KeyPair::generate_pkcs8(&rng).unwrap();
        Key {
            id: [id; 8],
            pair: ring::signature::Ed25519KeyPair::from_pkcs8(pkcs8.as_ref()).unwrap(),
        }
    }

    fn public(&self) -> String {
        use ring::signature::KeyPair as _;
        let mut raw = b"Ed".to_vec();
        raw.extend_from_slice(&self.id);
        raw.extend_from_slice(self.pair.public_key().as_ref());
        base64::engine::general_purpose::STANDARD.encode(raw)
    }

    /// A prehashed (`ED`) minisign signature of `data`.
    fn sign(&self, data: &[u8]) -> String {
        use blake2::Digest as _;
        let b64 = |b: &[u8]| base64::engine::general_purpose::STANDARD.encode(b);
        let hash = blake2::Blake2b512::digest(data);
        let sig = self.pair.sign(&hash);
        let mut raw = b"ED".to_vec();
        raw.extend_from_slice(&self.id);
        raw.extend_from_slice(sig.as_ref());
        let trusted = "timestamp:1764979200\tfile:SHA256SUMS";
        let mut global = sig.as_ref().to_vec();
        global.extend_from_slice(trusted.as_bytes());
        let global = self.pair.sign(&global);
        format!(
            "untrusted comment: test signature\n{}\ntrusted comment: {trusted}\n{}\n",
            b64(&raw),
            b64(global.as_ref())
        )
    }
}

fn sha256(data: &[u8]) -> String {
    use sha2::Digest as _;
    hex::encode(sha2::Sha256::digest(data))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn self_update_of_a_release_binary_verifies_before_swapping() {
    let server = Server::start();
    let key = Key::new(1);
    let stranger = Key::new(2);
    let new = newer();
    let asset_name = format!("proxmox-mcp-{new}-{}", std::env::consts::ARCH);
    let asset = format!("#!/bin/sh\necho 'proxmox-mcp {new}'\n").into_bytes();
    let good_sums = format!("{}  {asset_name}\n", sha256(&asset));
    let feed_named = |signed: bool, name: &str| {
        let mut r = json!({
            "version": new,
            "published": "2026-12-01",
            "assets": [{"name": name, "url": server.url("/asset")}],
            "sha256s_url": server.url("/SHA256SUMS"),
        });
        if signed {
            r["signature_url"] = json!(server.url("/SHA256SUMS.minisig"));
        }
        json!([r]).to_string()
    };
    let feed = |signed: bool| feed_named(signed, &asset_name);
    server.set("/asset", asset.clone());

    let tmp = tempfile::tempdir().unwrap();
    let bin = tmp.path().join("bin/proxmox-mcp");
    std::fs::create_dir_all(bin.parent().unwrap()).unwrap();
    std::fs::copy(binary(), &bin).unwrap();
    std::fs::set_permissions(&bin, std::fs::Permissions::from_mode(0o755)).unwrap();
    let original = std::fs::read(&bin).unwrap();
    let (mcp, _env) = spawn_installed(
        &bin,
        tmp.path(),
        &[
            ("PROXMOX_MCP_UPDATE_SOURCE", "feed".into()),
            ("PROXMOX_MCP_UPDATE_URL", server.url("/releases.json")),
            ("PROXMOX_MCP_UPDATE_PUBKEY", key.public()),
            ("PROXMOX_MCP_UPDATE_TIMEOUT_SECS", "5".into()),
        ],
    )
    .await;
    let unchanged = |what: &str| {
        assert!(
            std::fs::read(&bin).unwrap() == original,
            "{what}: the binary changed"
        );
        assert!(
            !bin.with_file_name("proxmox-mcp.previous").exists(),
            "{what}: swapped"
        );
    };

    // Bad checksum: the signed list names another hash.
    let wrong_sums = format!("{}  {asset_name}\n", sha256(b"something else"));
    server.set("/releases.json", feed(true));
    server.set("/SHA256SUMS", wrong_sums.clone());
    server.set("/SHA256SUMS.minisig", key.sign(wrong_sums.as_bytes()));
    let e = mcp
        .call("self_update", json!({"version": new}))
        .await
        .err("bad checksum");
    assert!(e.contains("checksum mismatch"), "{e}");
    unchanged("bad checksum");

    // Bad signature: signed by another key.
    server.set("/SHA256SUMS", good_sums.clone());
    server.set("/SHA256SUMS.minisig", stranger.sign(good_sums.as_bytes()));
    let e = mcp
        .call("self_update", json!({"version": new}))
        .await
        .err("bad signature");
    assert!(e.contains("does not verify"), "{e}");
    unchanged("bad signature");

    // Bad signature: the right key, over other content.
    server.set("/SHA256SUMS.minisig", key.sign(wrong_sums.as_bytes()));
    let e = mcp
        .call("self_update", json!({"version": new}))
        .await
        .err("signature of other content");
    assert!(e.contains("does not verify"), "{e}");
    unchanged("signature of other content");

    // Missing signature: none announced, or announced but absent.
    server.set("/releases.json", feed(false));
    let e = mcp
        .call("self_update", json!({"version": new}))
        .await
        .err("no signature_url");
    assert!(e.contains("no signature"), "{e}");
    unchanged("no signature_url");
    server.set("/releases.json", feed(true));
    server.remove("/SHA256SUMS.minisig");
    let e = mcp
        .call("self_update", json!({"version": new}))
        .await
        .err("signature 404");
    assert!(e.contains("signature cannot be downloaded"), "{e}");
    unchanged("signature 404");
    assert_eq!(
        server.hits("/asset"),
        1,
        "only the bad-checksum case gets as far as the asset"
    );

    // A loosely named asset (no version in its name) is not the release's binary, even with a
    // valid signed checksum.
    server.set("/SHA256SUMS.minisig", key.sign(good_sums.as_bytes()));
    let loose = format!("proxmox-mcp-{}-linux", std::env::consts::ARCH);
    let loose_sums = format!("{}  {loose}\n", sha256(&asset));
    server.set("/releases.json", feed_named(true, &loose));
    server.set("/SHA256SUMS", loose_sums.clone());
    server.set("/SHA256SUMS.minisig", key.sign(loose_sums.as_bytes()));
    let e = mcp
        .call("self_update", json!({"version": new}))
        .await
        .err("loose asset name");
    assert!(e.contains(&format!("has no {asset_name}")), "{e}");
    unchanged("loose asset name");

    // Everything in order: swapped, the previous binary kept.
    server.set("/releases.json", feed(true));
    server.set("/SHA256SUMS", good_sums.clone());
    server.set("/SHA256SUMS.minisig", key.sign(good_sums.as_bytes()));
    let r = mcp.call("self_update", json!({"version": new})).await;
    r.ok("verified release");
    assert_eq!(r.structured()["status"], "updated", "{:?}", r.structured());
    assert_eq!(r.structured()["method"], "release-binary");
    assert_eq!(std::fs::read(&bin).unwrap(), asset);
    assert!(std::fs::read(bin.with_file_name("proxmox-mcp.previous")).unwrap() == original);
    mcp.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn self_update_is_refused_in_read_only_mode() {
    let h = Harness::builder(Protocol::Legacy)
        .mode("read-only")
        .human(Human::Accept)
        .start()
        .await;
    let e = h.err("self_update", json!({})).await;
    assert!(e.contains("read-only"), "{e}");
    assert!(
        h.mcp.asked().is_empty(),
        "a human was asked in read-only mode"
    );
    h.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn self_update_asks_a_human_even_in_normal_mode() {
    let h = Harness::builder(Protocol::Legacy)
        .mode("normal")
        .human(Human::Decline)
        .start()
        .await;
    let e = h.err("self_update", json!({"version": newer()})).await;
    assert!(e.to_lowercase().contains("declin"), "{e}");
    let asked = h.mcp.asked();
    assert_eq!(asked.len(), 1, "{asked:?}");
    assert!(asked[0].contains("binary"), "{asked:?}");
    h.finish().await;
}
