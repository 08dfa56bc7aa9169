//! Benchmarks of the real release binary against a large simulated cluster.
//!
//! Run:
//! ```text
//! cargo build --release --workspace --bins && cargo bench -p e2e
//! BENCH_QUICK=1 cargo bench -p e2e        # fewer iterations, same targets
//! ```
//! A sim with 5 nodes and 5,000 guests (4,000 VMs + 1,000 containers) runs in-process; the
//! server is `target/release/proxmox-mcp` (or `PROXMOX_MCP_BIN`) driven by an rmcp client over
//! stdio. Prints a table and exits non-zero when a target is missed.

// The table on stdout is this program's output.
#![allow(clippy::print_stdout)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use proxmox_mcp::config::{ClusterConfig, Secret};
use proxmox_mcp::pve::{HttpClient, Method, Params, Pve};

use e2e::{Harness, Human, Mcp, Protocol, ResultExt as _, Sim, SimConfig, isolation_env, json};

struct Row {
    metric: String,
    value: String,
    target: String,
    ok: Option<bool>,
}

#[derive(Default)]
struct Report {
    rows: Vec<Row>,
}

impl Report {
    fn check(&mut self, metric: &str, value: f64, unit: &str, max: f64) {
        self.rows.push(Row {
            metric: metric.into(),
            value: format!("{value:.2} {unit}"),
            target: format!("<= {max} {unit}"),
            ok: Some(value <= max),
        });
    }
    fn exact(&mut self, metric: &str, value: usize, want: usize) {
        self.rows.push(Row {
            metric: metric.into(),
            value: value.to_string(),
            target: format!("= {want}"),
            ok: Some(value == want),
        });
    }
    fn at_most(&mut self, metric: &str, value: usize, max: usize) {
        self.rows.push(Row {
            metric: metric.into(),
            value: value.to_string(),
            target: format!("<= {max}"),
            ok: Some(value <= max),
        });
    }
    fn info(&mut self, metric: &str, value: String) {
        self.rows.push(Row {
            metric: metric.into(),
            value,
            target: String::new(),
            ok: None,
        });
    }
    fn print(&self) -> bool {
        let w = self.rows.iter().map(|r| r.metric.len()).max().unwrap_or(10);
        let v = self.rows.iter().map(|r| r.value.len()).max().unwrap_or(10);
        println!();
        println!(
            "{:<w$}  {:>v$}  {:<14}  result",
            "metric", "value", "target"
        );
        println!("{}", "-".repeat(w + v + 26));
        let mut all = true;
        for r in &self.rows {
            let verdict = match r.ok {
                Some(true) => "ok",
                Some(false) => {
                    all = false;
                    "MISSED"
                }
                None => "",
            };
            println!(
                "{:<w$}  {:>v$}  {:<14}  {verdict}",
                r.metric, r.value, r.target
            );
        }
        all
    }
}

fn percentile(samples: &mut [Duration], p: f64) -> Duration {
    samples.sort_unstable();
    let i = ((samples.len() as f64 - 1.0) * p).round() as usize;
    samples[i]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn rss_kib(pid: u32, key: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find(|l| l.starts_with(key))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

fn env_for(sim: &Sim, dir: &std::path::Path) -> Vec<(String, String)> {
    let c = sim.admin();
    let mut env = isolation_env(dir);
    env.extend([
        ("PROXMOX_URL".to_string(), sim.url()),
        ("PROXMOX_TOKEN_ID".to_string(), c.token_id.clone()),
        ("PROXMOX_TOKEN_SECRET".to_string(), c.secret.clone()),
        ("PROXMOX_FINGERPRINT".to_string(), sim.fingerprint()),
    ]);
    env
}

fn main() -> std::process::ExitCode {
    // `cargo bench` passes `--bench`; nothing else to parse.
    let quick = std::env::var("BENCH_QUICK").is_ok_and(|v| v != "0" && !v.is_empty());
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime");
    let ok = rt.block_on(run(quick));
    if ok {
        std::process::ExitCode::SUCCESS
    } else {
        eprintln!("benchmark targets missed");
        std::process::ExitCode::FAILURE
    }
}

async fn run(quick: bool) -> bool {
    // `BENCH_ONLY=bridge`: just the bridge section.
    if std::env::var("BENCH_ONLY").as_deref() == Ok("bridge") {
        let mut report = Report::default();
        bridge(&mut report, quick).await;
        return report.print();
    }
    let bin = e2e::binary();
    // The tail (p95) needs at least 40 samples, quick or not.
    let (latency_iters, cold_runs) = if quick { (40, 20) } else { (60, 30) };
    println!(
        "proxmox-mcp benchmark ({}): {}",
        if quick { "quick" } else { "full" },
        bin.display()
    );

    let t0 = Instant::now();
    let sim = Sim::start(SimConfig {
        nodes: 5,
        vms: 4000,
        cts: 1000,
        time_scale: 0.0,
        seed: 42,
        schema: None,
        ..SimConfig::default()
    })
    .await;
    println!(
        "sim with 5 nodes, 4000 VMs, 1000 CTs up in {:?}",
        t0.elapsed()
    );
    let dir = tempfile::tempdir().unwrap();
    let env = env_for(&sim, dir.path());
    let mut report = Report::default();

    let mcp = Mcp::spawn(&bin, Protocol::Modern, &env)
        .await
        .unwrap_or_else(|e| panic!("{e:#}"));
    let pid = mcp.pid().expect("server pid");

    // (a) PVE requests per list_vms
    let warm = mcp.call("list_vms", json!({})).await;
    warm.ok("list_vms");
    sim.clear_requests();
    let r = mcp.call("list_vms", json!({})).await;
    r.ok("list_vms");
    let reqs = sim.requests();
    report.exact("(a) PVE requests per list_vms", reqs.len(), 1);
    let guests = r.structured()["count"].as_u64().unwrap_or(0) as usize;
    report.exact("    guests listed", guests, 4000);

    // (b) latency: MCP list_vms vs a bare GET /cluster/resources through the same Proxmox
    // client the server uses (fetched and decoded into its `data`).
    let admin = sim.admin();
    let cluster = ClusterConfig::token_pinned(
        "bench",
        sim.url(),
        admin.token_id,
        Secret::new(admin.secret),
        sim.fingerprint(),
    );
    let pve = Pve::new(Arc::new(HttpClient::new(&cluster).expect("client")));
    let no_params = Params::new();
    let bare_get = || pve.call(Method::Get, "/cluster/resources", &no_params);
    for _ in 0..3 {
        bare_get().await.expect("bare GET");
    }
    let (mut via_mcp, mut bare) = (Vec::new(), Vec::new());
    for _ in 0..latency_iters {
        let t = Instant::now();
        let v = bare_get().await.expect("bare GET");
        assert!(v.is_array());
        bare.push(t.elapsed());
        let t = Instant::now();
        let r = mcp.call("list_vms", json!({})).await;
        via_mcp.push(t.elapsed());
        assert!(!r.failed());
    }
    let (m50, m90, m95) = (
        percentile(&mut via_mcp, 0.5),
        percentile(&mut via_mcp, 0.9),
        percentile(&mut via_mcp, 0.95),
    );
    let (b50, b90, b95) = (
        percentile(&mut bare, 0.5),
        percentile(&mut bare, 0.9),
        percentile(&mut bare, 0.95),
    );
    report.info(
        "(b) list_vms via MCP p50 / p90",
        format!("{:.1} / {:.1} ms", ms(m50), ms(m90)),
    );
    report.info(
        "    bare GET /cluster/resources p50 / p90",
        format!("{:.1} / {:.1} ms", ms(b50), ms(b90)),
    );
    report.check("    ratio MCP/bare p50", ms(m50) / ms(b50), "x", 1.5);
    report.check("    ratio MCP/bare p90", ms(m90) / ms(b90), "x", 1.5);
    report.info(
        &format!("    list_vms p95 over {latency_iters} calls (bare GET p95)"),
        format!("{:.1} ms ({:.1} ms)", ms(m95), ms(b95)),
    );
    report.check("    list_vms p95 / its p50", ms(m95) / ms(m50), "x", 1.5);

    // (f) bytes per guest the model reads (default fields)
    let text = r.text();
    let structured = serde_json::to_vec(r.structured()).unwrap();
    report.check(
        "(f) list_vms text bytes/guest",
        text.len() as f64 / guests.max(1) as f64,
        "B",
        60.0,
    );
    report.check(
        "    list_vms structuredContent bytes/guest",
        structured.len() as f64 / guests.max(1) as f64,
        "B",
        60.0,
    );
    let raw = sim.api().get_bytes("/cluster/resources").await.unwrap();
    report.info(
        "    raw /cluster/resources bytes/entry",
        format!("{:.0} B", raw.len() as f64 / (guests + 5 * 4) as f64),
    );

    // (e) tools/list size
    let tools = mcp.tools().await;
    let total = serde_json::to_vec(&json!({ "tools": tools }))
        .unwrap()
        .len();
    report.info(
        "(e) tools/list bytes total",
        format!("{total} B for {} tools", tools.len()),
    );
    for t in &tools {
        let n = serde_json::to_vec(t).unwrap().len();
        report.info(&format!("    {}", t.name), format!("{n} B"));
    }
    report.check(
        "    tools/list average per tool",
        total as f64 / tools.len().max(1) as f64,
        "B",
        1400.0,
    );

    // (d) RSS after 100 calls (list_vms over 5,000 guests, the heaviest read)
    let calls_so_far = (2 + latency_iters).min(100);
    for i in calls_so_far..100 {
        let tool = if i % 4 == 0 {
            "get_system_info"
        } else {
            "list_vms"
        };
        assert!(!mcp.call(tool, json!({})).await.failed());
    }
    // Read it once the server is idle: the last response's buffers are freed just after it is
    // written, and a reading taken in that instant would count them.
    let mut rss = rss_kib(pid, "VmRSS:").unwrap_or(0);
    for _ in 0..25 {
        tokio::time::sleep(Duration::from_millis(20)).await;
        let now = rss_kib(pid, "VmRSS:").unwrap_or(0);
        if now == rss {
            break;
        }
        rss = now;
    }
    let hwm = rss_kib(pid, "VmHWM:").unwrap_or(0);
    report.check(
        "(d) server RSS after 100 calls",
        rss as f64 * 1024.0 / 1e6,
        "MB",
        15.0,
    );
    report.info(
        "    server RSS after 100 calls / peak RSS (VmHWM)",
        format!(
            "{:.1} / {:.1} MiB",
            rss as f64 / 1024.0,
            hwm as f64 / 1024.0
        ),
    );
    mcp.close().await;

    // (c) cold start: spawn → first reply
    for p in Protocol::BOTH {
        let mut samples = Vec::new();
        for _ in 0..cold_runs {
            let m = Mcp::spawn(&bin, p, &env)
                .await
                .unwrap_or_else(|e| panic!("{e:#}"));
            samples.push(m.startup);
            m.close().await;
        }
        let p50 = percentile(&mut samples, 0.5);
        let what = match p {
            Protocol::Legacy => "(c) cold start → initialize result p50",
            Protocol::Modern => "    cold start → discover result p50",
        };
        report.check(what, ms(p50), "ms", 10.0);
    }

    sim.finish().await;
    lifecycle(&bin, &mut report).await;
    for (p, most) in [(Protocol::Legacy, 3), (Protocol::Modern, 4)] {
        destroy_cost(p, most, &mut report).await;
    }
    classification(&mut report, quick);
    bridge(&mut report, quick).await;
    report.print()
}

/// (j) the HTTP bridge: what it adds to a call over direct stdio (same run, interleaved), 50
/// clients with their own tokens calling at once, and its own memory.
async fn bridge(report: &mut Report, quick: bool) {
    use e2e::bridge::Bridge;
    let sim = Sim::small().await;
    // The per-token rate limit is raised: this measures the bridge, not its throttle.
    let b = Bridge::start(&sim, &["--rate", "100000", "--burst", "100000"]).await;
    let dir = tempfile::tempdir().unwrap();
    let direct = Mcp::spawn(&e2e::binary(), Protocol::Modern, &env_for(&sim, dir.path()))
        .await
        .expect("stdio server");
    let http = Mcp::connect_http(&b.url, Some(&b.token()), Protocol::Modern, Human::Absent)
        .await
        .expect("bridge client");
    let args = json!({"path": "/version"});
    let rounds = if quick { 50 } else { 300 };
    let (mut d, mut h) = (Vec::new(), Vec::new());
    for _ in 0..rounds {
        let t = Instant::now();
        assert!(!direct.call("proxmox_api", args.clone()).await.failed());
        d.push(t.elapsed());
        let t = Instant::now();
        assert!(!http.call("proxmox_api", args.clone()).await.failed());
        h.push(t.elapsed());
    }
    let (pd, ph) = (percentile(&mut d, 0.5), percentile(&mut h, 0.5));
    report.check(
        "(j) bridge: added p50 per tools/call over stdio",
        ms(ph.saturating_sub(pd)),
        "ms",
        1.0,
    );
    report.info(
        "    tools/call p50 direct stdio / through the bridge",
        format!("{:.2} / {:.2} ms", ms(pd), ms(ph)),
    );
    direct.close().await;
    http.close().await;

    // 50 clients, each with its own token, 100 calls each, all at once.
    let clients = 50;
    let calls = if quick { 20 } else { 100 };
    let mut tokens = Vec::new();
    for i in 0..clients {
        let o = b.cli(&["token", "add", &format!("bench{i}")]);
        assert!(o.status.success(), "{o:?}");
        tokens.push(String::from_utf8(o.stdout).unwrap().trim().to_string());
    }
    let url = b.url.clone();
    let t = Instant::now();
    let tasks: Vec<_> = tokens
        .into_iter()
        .map(|token| {
            let url = url.clone();
            tokio::spawn(async move {
                let m = Mcp::connect_http(&url, Some(&token), Protocol::Modern, Human::Absent)
                    .await
                    .expect("connect");
                let mut lat = Vec::new();
                let mut errors = 0;
                for _ in 0..calls {
                    let t = Instant::now();
                    match m.try_call("proxmox_api", json!({"path": "/version"})).await {
                        Ok(r) if !r.failed() => lat.push(t.elapsed()),
                        _ => errors += 1,
                    }
                }
                m.close().await;
                (lat, errors)
            })
        })
        .collect();
    let mut all = Vec::new();
    let mut errors = 0;
    for task in tasks {
        let (lat, e) = task.await.expect("client task");
        all.extend(lat);
        errors += e;
    }
    let wall = t.elapsed();
    report.exact(
        &format!("    {clients} clients x {calls} calls through the bridge: errors"),
        errors,
        0,
    );
    let p99 = percentile(&mut all, 0.99);
    report.info(
        "    ... p50 / p99 / throughput",
        format!(
            "{:.1} / {:.1} ms / {:.0} calls/s",
            ms(percentile(&mut all, 0.5)),
            ms(p99),
            (clients * calls) as f64 / wall.as_secs_f64()
        ),
    );
    let rss = b
        .proc
        .id()
        .and_then(|pid| rss_kib(pid, "VmRSS:"))
        .unwrap_or(0);
    report.check(
        "    bridge RSS after the load",
        rss as f64 * 1024.0 / 1e6,
        "MB",
        20.0,
    );
    sim.finish().await;
}

/// (i) shell-command classification, the pure function every command goes through: the worst
/// of several 16 KiB adversarial commands, and the throughput over the whole corpus.
fn classification(report: &mut Report, quick: bool) {
    use proxmox_mcp::policy::command::{Context, ServerFiles, analyze};
    let server = ServerFiles::standard();
    let ctx = Context::for_identity(&server, "pve1", "mcp@pve", "mcp@pve!mcp");
    let fill = |chunk: &str| chunk.repeat(16 * 1024 / chunk.len() + 1)[..16 * 1024].to_string();
    let adversarial = [
        fill("eval \"$(printf '%s' 'p'v'eum')\" ${x@P} $((a[$(id)])) `date`; "),
        fill("cat /etc/*sh*/**/*?[a-z]*[!x]*; "),
        fill("*"),
        fill("*a"),
        fill("echo {a,b}{c,d}{e,f} ~root/x $'\\x70' \"q\\\"\" 'x'; "),
        fill("$(echo $(echo $(echo `id`))) "),
        fill("bash -c 'sh -c \"eval ls\"'; "),
        fill("qm list | grep x | awk '{print $1}' | sort | uniq -c && "),
        fill("cHZldW0gdXNlciBkZWxldGUgcm9vdEBwYW0g"),
        fill("[[[[(((({{{{"),
        fill("cd a; "),
        fill("x=1 "),
    ];
    let rounds = if quick { 5 } else { 20 };
    let mut worst = Duration::ZERO;
    let mut worst_name = String::new();
    for cmd in &adversarial {
        let mut samples: Vec<Duration> = (0..rounds)
            .map(|_| {
                let t = Instant::now();
                std::hint::black_box(analyze(std::hint::black_box(cmd), &ctx));
                t.elapsed()
            })
            .collect();
        let p50 = percentile(&mut samples, 0.5);
        if p50 > worst {
            worst = p50;
            worst_name = cmd.chars().take(24).collect();
        }
    }
    report.check(
        "(i) classify a 16 KiB adversarial command, worst p50",
        ms(worst),
        "ms",
        50.0,
    );
    report.info("    the worst one starts with", format!("{worst_name:?}"));

    let dir = e2e::workspace_root().join("proxmox-mcp/tests/corpus/commands");
    let mut lines = Vec::new();
    for f in std::fs::read_dir(&dir).expect("the corpus").flatten() {
        let text = std::fs::read_to_string(f.path()).unwrap_or_default();
        lines.extend(
            text.lines()
                .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
                .filter_map(|l| l.split_once(' ').map(|(_, c)| c.replace('⏎', "\n"))),
        );
    }
    let passes = if quick { 3 } else { 10 };
    let t = Instant::now();
    for _ in 0..passes {
        for l in &lines {
            std::hint::black_box(analyze(std::hint::black_box(l), &ctx));
        }
    }
    let per_sec = (lines.len() * passes) as f64 / t.elapsed().as_secs_f64();
    report.info(
        "    corpus throughput",
        format!("{per_sec:.0} commands/s ({} lines)", lines.len()),
    );
}

/// (g) how soon `vm_action start` with `wait` returns after the task ends, and (h) 20
/// concurrent lifecycle calls on different VMs. A sim where a start takes 1 s of real time.
async fn lifecycle(bin: &std::path::Path, report: &mut Report) {
    let sim = Sim::start(SimConfig {
        nodes: 3,
        vms: 150,
        cts: 0,
        time_scale: 1.0,
        seed: 9,
        schema: None,
        ..SimConfig::default()
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    std::fs::create_dir_all(&state).unwrap();
    std::fs::write(state.join("mode"), "normal\n").unwrap();
    let env = env_for(&sim, dir.path());
    let mcp = Mcp::spawn(bin, Protocol::Modern, &env)
        .await
        .unwrap_or_else(|e| panic!("{e:#}"));
    let vms = e2e::sim::guests(&sim.api(), "qemu").await;
    let mut stopped: Vec<u64> = vms
        .iter()
        .filter(|g| g["status"] == json!("stopped") && g.get("template") != Some(&json!(1)))
        .filter_map(|g| g["vmid"].as_u64())
        .collect();
    assert!(stopped.len() >= 26, "the bench sim needs 26 stopped VMs");

    let mut lags = Vec::new();
    for vmid in stopped.drain(..5) {
        let r = mcp
            .call(
                "vm_action",
                json!({"action": "start", "vmid": vmid, "wait": 30}),
            )
            .await;
        let returned = Instant::now();
        r.ok("vm_action start");
        let upid = r.structured()["upid"].as_str().expect("upid").to_string();
        let end = sim
            .handle()
            .task_end(&upid)
            .expect("the sim knows the task");
        lags.push(returned.saturating_duration_since(end));
    }
    let worst = *lags.iter().max().unwrap();
    report.info(
        "(g) vm_action start, return after task end p50",
        format!("{:.1} ms", ms(percentile(&mut lags, 0.5))),
    );
    report.check("    worst of 5", ms(worst), "ms", 50.0);

    let t = Instant::now();
    let calls = stopped.drain(..20).map(|vmid| {
        mcp.call(
            "vm_action",
            json!({"action": "start", "vmid": vmid, "wait": 60}),
        )
    });
    let results = futures::future::join_all(calls).await;
    let failed = results
        .iter()
        .filter(|r| r.failed() || r.structured()["task"]["status"] != json!("ok"))
        .count();
    report.exact("(h) 20 concurrent vm_action start: failures", failed, 0);
    report.info(
        "    all 20 done in",
        format!("{:.2} s (each start takes 1 s)", t.elapsed().as_secs_f64()),
    );
    mcp.close().await;
    sim.finish().await;
}

/// (j) PVE requests of one confirmed VM destroy (after a first one read who the server is):
/// the human asked through a form (elicitation, one round) or an input-required round.
async fn destroy_cost(p: Protocol, most: usize, report: &mut Report) {
    let h = Harness::builder(p)
        .mode("normal")
        .human(Human::Accept)
        .start()
        .await;
    let vms = e2e::sim::guests(&h.sim.api(), "qemu").await;
    let mut disposable = Vec::new();
    for g in vms {
        let stopped = g.get("status") == Some(&json!("stopped"));
        let template = g.get("template") == Some(&json!(1));
        let protected_tag = g
            .get("tags")
            .and_then(|t| t.as_str())
            .is_some_and(|t| t.to_lowercase().contains("protected"));
        if !stopped || template || protected_tag {
            continue;
        }
        let vmid = g["vmid"].as_u64().expect("vmid");
        let node = g["node"].as_str().expect("node");
        let cfg = h
            .sim
            .api()
            .get(&format!("/nodes/{node}/qemu/{vmid}/config"))
            .await
            .expect("guest config");
        if cfg.get("protection").is_none_or(|p| p != &json!(1)) {
            disposable.push(vmid);
        }
        if disposable.len() == 2 {
            break;
        }
    }
    let [warm, vm] = disposable[..] else {
        panic!("the sim needs 2 disposable VMs");
    };
    let destroy = |vmid| json!({"action": "destroy", "vmid": vmid, "wait": 0});
    h.ok("vm_action", destroy(warm)).await;
    h.sim.clear_requests();
    let asked = h.mcp.asked().len();
    h.ok("vm_action", destroy(vm)).await;
    let reqs = h.sim.requests();
    assert!(
        reqs.last().is_some_and(|r| r.method == "DELETE"),
        "the destroy ends with its DELETE"
    );
    let what = match p {
        Protocol::Legacy => "(j) PVE requests per destroy, asked by elicitation",
        Protocol::Modern => "    PVE requests per destroy, asked by input-required",
    };
    report.at_most(what, reqs.len(), most);
    report.exact("    human asked", h.mcp.asked().len() - asked, 1);
    h.finish().await;
}
