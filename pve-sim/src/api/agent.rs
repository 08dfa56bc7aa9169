//! QEMU guest agent endpoints: ping, info, OS/network/filesystem info, exec and exec-status.

use serde_json::{Value, json};

use super::Ctx;
use super::envelope::{ApiResult, PveError, Reply};
use super::guests::{lookup, lookup_mut, pool_of};

use crate::state::guest::{Exec, Guest, Kind};

const READ_PRIVS: &[&str] = &["VM.GuestAgent.Audit", "VM.GuestAgent.Unrestricted"];

/// The commands `GET .../agent` lists.
const COMMANDS: &[&str] = &[
    "exec",
    "exec-status",
    "file-read",
    "file-write",
    "fsfreeze-freeze",
    "fsfreeze-status",
    "fsfreeze-thaw",
    "fstrim",
    "get-fsinfo",
    "get-host-name",
    "get-memory-block-info",
    "get-memory-blocks",
    "get-osinfo",
    "get-time",
    "get-timezone",
    "get-users",
    "get-vcpus",
    "info",
    "network-get-interfaces",
    "ping",
    "set-user-password",
    "shutdown",
    "suspend-disk",
    "suspend-hybrid",
    "suspend-ram",
];

/// Fails like `agent_available` does.
fn available(g: &Guest) -> Result<(), PveError> {
    if !g.agent_enabled() {
        return Err(PveError::internal("No QEMU guest agent configured"));
    }
    if !g.is_running() {
        return Err(PveError::internal(format!("VM {} is not running", g.vmid)));
    }
    if !g.agent_installed {
        return Err(PveError::internal("QEMU guest agent is not running"));
    }
    Ok(())
}

fn result(v: Value) -> ApiResult {
    Ok(Reply::json(json!({ "result": v })))
}

pub fn route(ctx: &Ctx, node: &str, vmid: u32, rest: &[&str]) -> ApiResult {
    let pool = pool_of(&ctx.read(), vmid);
    let pool = pool.as_deref();
    match (ctx.method, rest) {
        ("GET", []) => {
            ctx.require_vm_any(vmid, pool, READ_PRIVS)?;
            lookup(&ctx.read(), node, Kind::Qemu, vmid)?;
            Ok(super::router::index_by("name", COMMANDS))
        }
        ("POST", []) => {
            let cmd = ctx.params.req("command")?;
            ctx.require_vm_any(vmid, pool, &["VM.GuestAgent.Unrestricted"])?;
            simple(ctx, node, vmid, &cmd)
        }
        ("POST", ["exec"]) => {
            ctx.require_vm(vmid, pool, &["VM.GuestAgent.Unrestricted"])?;
            exec(ctx, node, vmid)
        }
        ("GET", ["exec-status"]) => {
            ctx.require_vm(vmid, pool, &["VM.GuestAgent.Unrestricted"])?;
            exec_status(ctx, node, vmid)
        }
        ("GET", ["file-read"]) => {
            ctx.require_vm_any(
                vmid,
                pool,
                &["VM.GuestAgent.FileRead", "VM.GuestAgent.Unrestricted"],
            )?;
            file_read(ctx, node, vmid)
        }
        ("POST", ["file-write"]) => {
            ctx.require_vm_any(
                vmid,
                pool,
                &["VM.GuestAgent.FileWrite", "VM.GuestAgent.Unrestricted"],
            )?;
            ctx.params.req("file")?;
            ctx.params.req("content")?;
            let c = ctx.read();
            available(lookup(&c, node, Kind::Qemu, vmid)?)?;
            Ok(Reply::null())
        }
        ("POST", ["set-user-password"]) => {
            ctx.require_vm_any(vmid, pool, &["VM.GuestAgent.Unrestricted"])?;
            ctx.params.req("username")?;
            ctx.params.req("password")?;
            let c = ctx.read();
            available(lookup(&c, node, Kind::Qemu, vmid)?)?;
            result(json!({}))
        }
        (m, [cmd]) if COMMANDS.contains(cmd) => {
            let is_read = m == "GET";
            if is_read {
                ctx.require_vm_any(vmid, pool, READ_PRIVS)?;
            } else {
                let privs: &[&str] = if cmd.starts_with("fs") {
                    &["VM.GuestAgent.FileSystemMgmt", "VM.GuestAgent.Unrestricted"]
                } else if *cmd == "ping" {
                    READ_PRIVS
                } else {
                    &["VM.PowerMgmt", "VM.GuestAgent.Unrestricted"]
                };
                ctx.require_vm_any(vmid, pool, privs)?;
            }
            let get_cmds = [
                "get-fsinfo",
                "get-host-name",
                "get-memory-block-info",
                "get-memory-blocks",
                "get-osinfo",
                "get-time",
                "get-timezone",
                "get-users",
                "get-vcpus",
                "info",
                "network-get-interfaces",
            ];
            if get_cmds.contains(cmd) != is_read {
                return Err(ctx.not_impl());
            }
            simple(ctx, node, vmid, cmd)
        }
        _ => Err(ctx.not_impl()),
    }
}

fn os_release(g: &Guest) -> (&'static str, &'static str, &'static str, &'static str) {
    if g.config.get("ostype").is_some_and(|o| o.starts_with("win")) {
        (
            "mswindows",
            "Microsoft Windows",
            "Windows Server 2022 Standard",
            "10.0",
        )
    } else if g.vmid.is_multiple_of(3) {
        ("ubuntu", "Ubuntu", "Ubuntu 24.04.1 LTS", "24.04")
    } else {
        (
            "debian",
            "Debian GNU/Linux",
            "Debian GNU/Linux 12 (bookworm)",
            "12",
        )
    }
}

fn simple(ctx: &Ctx, node: &str, vmid: u32, cmd: &str) -> ApiResult {
    let c = ctx.read();
    let g = lookup(&c, node, Kind::Qemu, vmid)?;
    available(g)?;
    let name = g.name().to_string();
    match cmd {
        "ping" | "fsfreeze-thaw" | "shutdown" | "suspend-disk" | "suspend-ram"
        | "suspend-hybrid" => result(json!({})),
        "fsfreeze-freeze" => result(json!(2)),
        "fsfreeze-status" => result(json!("thawed")),
        "fstrim" => {
            result(json!({"paths": [{"path": "/", "trimmed": 1_073_741_824u64, "minimum": 0}]}))
        }
        "info" => result(json!({
            "version": "8.2.2",
            "supported_commands": COMMANDS.iter().map(|c| json!({"name": format!("guest-{c}"), "enabled": true, "success-response": true})).collect::<Vec<_>>(),
        })),
        "get-host-name" => result(json!({"host-name": name})),
        "get-time" => result(json!(ctx.now * 1_000_000_000)),
        "get-timezone" => result(json!({"zone": "UTC", "offset": 0})),
        "get-users" => {
            result(json!([{"user": "root", "login-time": (ctx.now - 3600) as f64 + 0.5}]))
        }
        "get-vcpus" => result(json!(
            (0..g.derived.maxcpu)
                .map(|i| json!({"logical-id": i, "online": true, "can-offline": i != 0}))
                .collect::<Vec<_>>()
        )),
        "get-memory-blocks" => {
            result(json!([{"phys-index": 0, "online": true, "can-offline": false}]))
        }
        "get-memory-block-info" => result(json!({"size": 134_217_728})),
        "get-osinfo" => {
            let (id, n, pretty, ver) = os_release(g);
            result(json!({
                "id": id, "name": n, "pretty-name": pretty, "version-id": ver,
                "version": pretty.trim_start_matches(n).trim(),
                "kernel-release": "6.1.0-26-amd64",
                "kernel-version": "#1 SMP PREEMPT_DYNAMIC Debian 6.1.112-1 (2024-09-30)",
                "machine": "x86_64",
            }))
        }
        "network-get-interfaces" => {
            let mac = g
                .config
                .get("net0")
                .and_then(|n| n.split(',').next())
                .and_then(|f| f.split_once('='))
                .map(|(_, m)| m.to_lowercase())
                .unwrap_or_default();
            let stats = |k: u64| {
                json!({"rx-bytes": k * 1000, "rx-packets": k, "rx-errs": 0, "rx-dropped": 0,
                "tx-bytes": k * 400, "tx-packets": k / 2, "tx-errs": 0, "tx-dropped": 0})
            };
            let mut eth = json!({"name": "eth0", "hardware-address": mac, "statistics": stats(u64::from(vmid) * 1013)});
            let mut addrs = Vec::new();
            if let Some(ip) = &g.ip {
                addrs.push(json!({"ip-address-type": "ipv4", "ip-address": ip, "prefix": 24}));
            }
            addrs.push(json!({"ip-address-type": "ipv6", "ip-address": format!("fe80::be24:11ff:fe{:02x}:{:02x}{:02x}", vmid % 256, vmid / 256 % 256, vmid % 97), "prefix": 64}));
            eth["ip-addresses"] = json!(addrs);
            result(json!([
                {"name": "lo", "hardware-address": "00:00:00:00:00:00", "statistics": stats(50),
                 "ip-addresses": [{"ip-address-type": "ipv4", "ip-address": "127.0.0.1", "prefix": 8},
                                   {"ip-address-type": "ipv6", "ip-address": "::1", "prefix": 128}]},
                eth,
            ]))
        }
        "get-fsinfo" => {
            let total = g.derived.maxdisk.saturating_sub(1 << 30);
            let used = (total as f64 * (0.2 + (vmid % 50) as f64 / 100.0)) as u64;
            result(json!([
                {"name": "sda1", "mountpoint": "/", "type": "ext4", "total-bytes": total, "used-bytes": used,
                 "disk": [{"bus-type": "scsi", "bus": 0, "target": 0, "unit": 0, "dev": "/dev/sda1",
                           "serial": format!("drive-scsi0"), "pci-controller": {"domain": 0, "bus": 9, "slot": 1, "function": 0}}]},
                {"name": "sda15", "mountpoint": "/boot/efi", "type": "vfat", "total-bytes": 129_718_272u64, "used-bytes": 12_124_160u64,
                 "disk": [{"bus-type": "scsi", "bus": 0, "target": 0, "unit": 0, "dev": "/dev/sda15",
                           "pci-controller": {"domain": 0, "bus": 9, "slot": 1, "function": 0}}]},
            ]))
        }
        _ => Err(PveError::param(
            "command",
            format!("value '{cmd}' does not have a value in the enumeration"),
        )),
    }
}

fn file_read(ctx: &Ctx, node: &str, vmid: u32) -> ApiResult {
    let file = ctx.params.req("file")?;
    let c = ctx.read();
    let g = lookup(&c, node, Kind::Qemu, vmid)?;
    available(g)?;
    let content = match file.as_str() {
        "/etc/hostname" => format!("{}\n", g.name()),
        "/etc/os-release" => os_release_text(g),
        "/etc/hosts" => format!(
            "127.0.0.1 localhost\n{} {}\n",
            g.ip.clone().unwrap_or_else(|| "127.0.1.1".into()),
            g.name()
        ),
        "/proc/loadavg" => "0.08 0.03 0.01 1/123 4567\n".to_string(),
        _ => {
            return Err(PveError::internal(format!(
                "Agent error: Failed to open file '{file}': No such file or directory"
            )));
        }
    };
    Ok(Reply::json(
        json!({"content": content, "bytes-read": content.len()}),
    ))
}

fn os_release_text(g: &Guest) -> String {
    let (id, name, pretty, ver) = os_release(g);
    format!(
        "PRETTY_NAME=\"{pretty}\"\nNAME=\"{name}\"\nVERSION_ID=\"{ver}\"\nID={id}\nHOME_URL=\"https://www.example.invalid/\"\n"
    )
}

/// The simulated outcome of a command: (exit code, stdout, stderr, seconds).
fn run(g: &Guest, argv: &[String], input: &str) -> (i32, String, String, f64) {
    if argv.len() >= 3
        && matches!(argv[0].as_str(), "/bin/sh" | "sh" | "/bin/bash" | "bash")
        && argv[1] == "-c"
    {
        return run_script(g, &argv[2], input);
    }
    run_words(g, argv, input)
}

fn run_script(g: &Guest, script: &str, input: &str) -> (i32, String, String, f64) {
    let (mut code, mut out, mut err, mut secs) = (0, String::new(), String::new(), 0.0);
    for part in script.split(";") {
        for (i, cmd) in part.split("&&").enumerate() {
            if i > 0 && code != 0 {
                break;
            }
            let cmd = cmd.split('|').next().unwrap_or("").trim();
            if cmd.is_empty() {
                continue;
            }
            let words: Vec<String> = cmd
                .split_whitespace()
                .map(|w| w.trim_matches(['\'', '"']).to_string())
                .collect();
            let (c, o, e, s) = run_words(g, &words, input);
            code = c;
            out.push_str(&o);
            if c == 127 {
                err.push_str(&format!("sh: 1: {}: not found\n", words[0]));
            } else {
                err.push_str(&e);
            }
            secs += s;
        }
    }
    (code, out, err, secs)
}

fn run_words(g: &Guest, argv: &[String], input: &str) -> (i32, String, String, f64) {
    let Some(prog) = argv.first() else {
        return (0, String::new(), String::new(), 0.0);
    };
    let prog = prog.rsplit('/').next().unwrap_or(prog);
    let args: Vec<&str> = argv[1..].iter().map(String::as_str).collect();
    let name = g.name();
    let ok = |s: String| (0, s, String::new(), 0.1);
    match (prog, args.as_slice()) {
        ("true", _) | ("sync", _) => ok(String::new()),
        ("false", _) => (1, String::new(), String::new(), 0.1),
        ("echo", rest) => ok(format!("{}\n", rest.join(" "))),
        ("hostname", _) => ok(format!("{name}\n")),
        ("whoami", _) => ok("root\n".into()),
        ("id", _) => ok("uid=0(root) gid=0(root) groups=0(root)\n".into()),
        ("uname", ["-a"]) => ok(format!(
            "Linux {name} 6.1.0-26-amd64 #1 SMP PREEMPT_DYNAMIC Debian 6.1.112-1 (2024-09-30) x86_64 GNU/Linux\n"
        )),
        ("uname", ["-r"]) => ok("6.1.0-26-amd64\n".into()),
        ("uname", _) => ok("Linux\n".into()),
        ("cat", []) => ok(input.to_string()),
        ("cat", ["/etc/os-release"]) => ok(os_release_text(g)),
        ("cat", ["/etc/hostname"]) => ok(format!("{name}\n")),
        ("cat", [f]) => (
            1,
            String::new(),
            format!("cat: {f}: No such file or directory\n"),
            0.1,
        ),
        ("uptime", _) => ok(format!(
            " 12:00:00 up {} days,  2:11,  1 user,  load average: 0.08, 0.03, 0.01\n",
            1 + g.vmid % 30
        )),
        ("df", _) => {
            let size = g.derived.maxdisk >> 30;
            let used = size * (20 + u64::from(g.vmid % 50)) / 100;
            ok(format!(
                "Filesystem      Size  Used Avail Use% Mounted on\nudev            1.9G     0  1.9G   0% /dev\ntmpfs           392M  1.1M  391M   1% /run\n/dev/sda1        {size}G  {used}G  {}G  {}% /\ntmpfs           2.0G     0  2.0G   0% /dev/shm\n",
                size - used,
                used * 100 / size.max(1)
            ))
        }
        ("free", _) => {
            let mb = g.derived.maxmem >> 20;
            ok(format!(
                "               total        used        free      shared  buff/cache   available\nMem:           {mb}         {}        {}           1         {}        {}\nSwap:              0           0           0\n",
                mb * 3 / 10,
                mb / 2,
                mb / 5,
                mb * 6 / 10
            ))
        }
        ("ip", _) => ok(format!(
            "lo               UNKNOWN        127.0.0.1/8 ::1/128\neth0             UP             {}/24\n",
            g.ip.clone().unwrap_or_default()
        )),
        ("systemctl", ["is-active", ..]) => ok("active\n".into()),
        ("systemctl", _) => ok(String::new()),
        ("ls", _) => {
            ok("bin\nboot\ndev\netc\nhome\nlib\nopt\nroot\nrun\nsbin\nsrv\ntmp\nusr\nvar\n".into())
        }
        ("date", _) => ok("Thu Jan  1 12:00:00 UTC 2026\n".into()),
        ("sleep", [n, ..]) => (
            0,
            String::new(),
            String::new(),
            n.parse::<f64>().unwrap_or(1.0).max(0.0),
        ),
        ("exit", [n, ..]) => (n.parse().unwrap_or(0), String::new(), String::new(), 0.0),
        _ => (
            127,
            String::new(),
            format!("{prog}: command not found\n"),
            0.1,
        ),
    }
}

fn exec(ctx: &Ctx, node: &str, vmid: u32) -> ApiResult {
    let argv = ctx.params.list("command");
    if argv.is_empty() {
        return Err(PveError::param(
            "command",
            "property is missing and it is not optional",
        ));
    }
    let input = ctx.params.str("input-data").unwrap_or_default();
    if input.len() > 65_536 {
        return Err(PveError::param(
            "input-data",
            "value may only be 65536 characters long",
        ));
    }
    let scale = ctx.app.time_scale;
    let mut c = ctx.write();
    let g = lookup_mut(&mut c, node, Kind::Qemu, vmid)?;
    available(g)?;
    let (exitcode, out, err, secs) = run(g, &argv, &input);
    g.next_exec_pid += 1 + (g.next_exec_pid % 3);
    let pid = g.next_exec_pid;
    g.execs.insert(
        pid,
        Exec {
            started: Some(tokio::time::Instant::now()),
            duration_ms: (secs * scale * 1000.0) as u64,
            exitcode,
            out,
            err,
        },
    );
    Ok(Reply::json(json!({ "pid": pid })))
}

fn exec_status(ctx: &Ctx, node: &str, vmid: u32) -> ApiResult {
    let pid = ctx
        .params
        .int("pid")?
        .ok_or_else(|| PveError::param("pid", "property is missing and it is not optional"))?;
    let mut c = ctx.write();
    let g = lookup_mut(&mut c, node, Kind::Qemu, vmid)?;
    available(g)?;
    let pid = u32::try_from(pid).unwrap_or(0);
    let Some(e) = g.execs.get(&pid) else {
        return Err(PveError::internal(format!(
            "Agent error: PID {pid} does not exist"
        )));
    };
    let elapsed = e
        .started
        .map(|s| s.elapsed().as_millis() as u64)
        .unwrap_or(u64::MAX);
    if elapsed < e.duration_ms {
        return Ok(Reply::json(json!({"exited": 0})));
    }
    let mut v = json!({"exited": 1, "exitcode": e.exitcode});
    if !e.out.is_empty() {
        v["out-data"] = json!(e.out);
    }
    if !e.err.is_empty() {
        v["err-data"] = json!(e.err);
    }
    g.execs.remove(&pid);
    Ok(Reply::json(v))
}
