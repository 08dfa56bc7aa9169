//! Runs the `mcp-http-bridge` binary against a simulator, for the bridge tests and benchmarks.

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

pub use crate::bridge_binary;
use crate::{Sim, Value};

/// A running bridge with its own state directory.
pub struct Bridge {
    pub proc: tokio::process::Child,
    pub url: String,
    pub base: String,
    pub dir: tempfile::TempDir,
    pub stderr: std::sync::Arc<std::sync::Mutex<String>>,
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl Bridge {
    pub async fn start(sim: &Sim, args: &[&str]) -> Bridge {
        Self::start_engine(sim, &crate::binary(), args)
            .await
            .expect("bridge started")
    }

    /// Starts the bridge running `engine`; `Err` with its stderr when it exits instead.
    pub async fn start_engine(
        sim: &Sim,
        engine: &Path,
        args: &[&str],
    ) -> Result<Bridge, (i32, String)> {
        let dir = tempfile::tempdir().unwrap();
        let port = free_port();
        let c = sim.handle().admin();
        let mut cmd = tokio::process::Command::new(bridge_binary());
        crate::mcp::scrub_env(cmd.as_std_mut());
        cmd.envs(crate::isolation_env(dir.path()))
            .env("PROXMOX_MCP_LOG", "info")
            .env("PROXMOX_URL", sim.handle().url())
            .env("PROXMOX_TOKEN_ID", &c.token_id)
            .env("PROXMOX_TOKEN_SECRET", &c.secret)
            .env("PROXMOX_FINGERPRINT", sim.handle().fingerprint())
            .arg("--listen")
            .arg(format!("127.0.0.1:{port}"))
            .arg("--engine")
            .arg(engine)
            .args(args)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        let mut proc = cmd.spawn().expect("spawning the bridge");
        let stderr = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
        let mut pipe = proc.stderr.take().unwrap();
        let sink = stderr.clone();
        tokio::spawn(async move {
            use tokio::io::AsyncReadExt;
            let mut buf = [0u8; 4096];
            while let Ok(n) = pipe.read(&mut buf).await {
                if n == 0 {
                    break;
                }
                sink.lock()
                    .unwrap()
                    .push_str(&String::from_utf8_lossy(&buf[..n]));
            }
        });
        let base = format!("http://127.0.0.1:{port}");
        let http = reqwest::Client::new();
        for _ in 0..200 {
            if let Ok(Some(status)) = proc.try_wait() {
                tokio::time::sleep(Duration::from_millis(100)).await;
                return Err((status.code().unwrap_or(-1), stderr.lock().unwrap().clone()));
            }
            if http
                .get(format!("{base}/healthz"))
                .send()
                .await
                .is_ok_and(|r| r.status() == 200)
            {
                return Ok(Bridge {
                    proc,
                    url: format!("{base}/mcp"),
                    base,
                    dir,
                    stderr,
                });
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("the bridge did not come up:\n{}", stderr.lock().unwrap());
    }

    pub fn token(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("state/bridge/secret"))
            .expect("first-start secret")
            .trim()
            .to_string()
    }

    pub fn cli(&self, args: &[&str]) -> std::process::Output {
        let mut cmd = std::process::Command::new(bridge_binary());
        crate::mcp::scrub_env(&mut cmd);
        cmd.envs(crate::isolation_env(self.dir.path()))
            .args(args)
            .output()
            .unwrap()
    }

    pub fn audit(&self) -> Vec<Value> {
        let dir = self.dir.path().join("state/audit");
        let mut files: Vec<_> = std::fs::read_dir(&dir)
            .map(|rd| rd.flatten().map(|e| e.path()).collect())
            .unwrap_or_default();
        files.retain(|p| p.extension().is_some_and(|e| e == "jsonl"));
        files.sort();
        files
            .iter()
            .flat_map(|f| {
                std::fs::read_to_string(f)
                    .unwrap_or_default()
                    .lines()
                    .filter_map(|l| serde_json::from_str(l).ok())
                    .collect::<Vec<Value>>()
            })
            .collect()
    }

    /// The engine child's pid (the bridge's only child process).
    pub fn child_pid(&self) -> Option<u32> {
        let pid = self.proc.id()?;
        let tasks = std::fs::read_dir(format!("/proc/{pid}/task")).ok()?;
        for t in tasks.flatten() {
            let children = std::fs::read_to_string(t.path().join("children")).unwrap_or_default();
            if let Some(c) = children.split_whitespace().next() {
                return c.parse().ok();
            }
        }
        None
    }

    pub async fn status(&self, path: &str) -> u16 {
        reqwest::get(format!("{}{path}", self.base))
            .await
            .map(|r| r.status().as_u16())
            .unwrap_or(0)
    }
}
