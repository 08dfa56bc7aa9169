//! `/nodes` and per-node endpoints: status, version, subscription, dns, time, services,
//! certificates, disks, apt, rrd, shells.

use serde_json::{Value, json};

use super::cluster::node_load;
use super::envelope::{ApiResult, PveError, Reply};
use super::router::{index, index_by};
use super::{Ctx, backup, console, firewall, guests, network, storage, tasks};
use crate::state::guest::Kind;
use crate::state::{Node, metrics};

pub fn route(ctx: &Ctx, rest: &[&str]) -> ApiResult {
    match (ctx.method, rest) {
        ("GET", []) => list(ctx),
        (_, [node, rest @ ..]) => node_route(ctx, node, rest),
        _ => Err(ctx.not_impl()),
    }
}

fn check_node_name(node: &str) -> Result<(), PveError> {
    let ok = !node.is_empty()
        && node.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        && !node.starts_with('-')
        && !node.ends_with('-');
    if ok {
        Ok(())
    } else {
        Err(PveError::param(
            "node",
            "value does not look like a valid node name",
        ))
    }
}

fn list(ctx: &Ctx) -> ApiResult {
    let c = ctx.read();
    let load = node_load(&c, ctx.now);
    let mut out = Vec::new();
    for n in &c.nodes {
        let online = c.node_online(&n.name);
        let mut v = json!({
            "node": n.name, "id": format!("node/{}", n.name), "type": "node",
            "status": if online { "online" } else { "offline" },
            "ssl_fingerprint": ctx.app.fingerprint, "level": n.level,
        });
        if online && ctx.perms.has(&format!("/nodes/{}", n.name), "Sys.Audit") {
            let (gm, gc) = load.get(n.name.as_str()).copied().unwrap_or_default();
            let m = metrics::node(c.seed, n, ctx.now, c.started, gm, gc);
            v["cpu"] = json!(m.cpu);
            v["maxcpu"] = json!(n.cpus);
            v["mem"] = json!(m.mem);
            v["maxmem"] = json!(n.memory);
            v["disk"] = json!(m.disk);
            v["maxdisk"] = json!(n.rootfs);
            v["uptime"] = json!(m.uptime);
        }
        out.push(v);
    }
    Ok(Reply::json(json!(out)))
}

fn node_route(ctx: &Ctx, node: &str, rest: &[&str]) -> ApiResult {
    check_node_name(node)?;
    {
        let c = ctx.read();
        if c.node(node).is_none() {
            return Err(PveError::internal(format!(
                "hostname lookup '{node}' failed - failed to get address info for: {node}: Name or service not known"
            )));
        }
        if !c.node_online(node) {
            return Err(PveError::new(595, "No route to host"));
        }
    }
    match (ctx.method, rest) {
        ("GET", []) => Ok(index(&[
            "apt",
            "version",
            "syslog",
            "journal",
            "status",
            "subscription",
            "rrddata",
            "tasks",
            "qemu",
            "lxc",
            "storage",
            "network",
            "firewall",
            "disks",
            "dns",
            "time",
            "services",
            "certificates",
            "hosts",
            "vzdump",
            "termproxy",
            "vncshell",
            "spiceshell",
        ])),
        ("GET", ["status"]) => status(ctx, node),
        ("POST", ["status"]) => {
            ctx.require(&format!("/nodes/{node}"), &["Sys.PowerMgmt"])?;
            let cmd = ctx.params.req("command")?;
            if cmd != "reboot" && cmd != "shutdown" {
                return Err(PveError::param(
                    "command",
                    format!(
                        "value '{cmd}' does not have a value in the enumeration 'reboot, shutdown'"
                    ),
                ));
            }
            Ok(Reply::null())
        }
        ("GET", ["version"]) => {
            ctx.require(&format!("/nodes/{node}"), &["Sys.Audit"])?;
            Ok(Reply::json(
                json!({"version": "9.1.1", "release": "9.1", "repoid": "42db4a6cf33dac83"}),
            ))
        }
        ("GET", ["subscription"]) => subscription(ctx, node),
        ("GET", ["dns"]) => {
            ctx.require(&format!("/nodes/{node}"), &["Sys.Audit"])?;
            Ok(Reply::json(
                json!({"search": "sim.example.invalid", "dns1": "10.10.10.2", "dns2": "1.1.1.1"}),
            ))
        }
        ("PUT", ["dns"]) => {
            ctx.require(&format!("/nodes/{node}"), &["Sys.Modify"])?;
            ctx.params.req("search")?;
            Ok(Reply::null())
        }
        ("GET", ["time"]) => {
            ctx.require(&format!("/nodes/{node}"), &["Sys.Audit"])?;
            let tz = ctx
                .read()
                .node(node)
                .map(|n| n.timezone.clone())
                .unwrap_or_default();
            Ok(Reply::json(
                json!({"timezone": tz, "time": ctx.now, "localtime": ctx.now + 3600}),
            ))
        }
        ("PUT", ["time"]) => {
            ctx.require(&format!("/nodes/{node}"), &["Sys.Modify"])?;
            let tz = ctx.params.req("timezone")?;
            let mut c = ctx.write();
            if let Some(n) = c.nodes.iter_mut().find(|n| n.name == node) {
                n.timezone = tz;
            }
            Ok(Reply::null())
        }
        ("GET", ["hosts"]) => {
            ctx.require(&format!("/nodes/{node}"), &["Sys.Audit"])?;
            let c = ctx.read();
            let mut text = String::from("127.0.0.1 localhost.localdomain localhost\n");
            for n in &c.nodes {
                text.push_str(&format!(
                    "{} {}.sim.example.invalid {}\n",
                    n.ip, n.name, n.name
                ));
            }
            Ok(Reply::json(
                json!({"data": text, "digest": crate::util::digest(&text)}),
            ))
        }
        ("GET", ["services"]) => services(ctx, node),
        ("GET", ["services", svc]) => {
            ctx.require(&format!("/nodes/{node}"), &["Sys.Audit"])?;
            known_service(svc)?;
            Ok(index_by(
                "subdir",
                &["state", "start", "stop", "restart", "reload"],
            ))
        }
        ("GET", ["services", svc, "state"]) => {
            ctx.require(&format!("/nodes/{node}"), &["Sys.Audit"])?;
            known_service(svc)?;
            Ok(Reply::json(service_json(svc)))
        }
        ("POST", ["services", svc, action])
            if matches!(*action, "start" | "stop" | "restart" | "reload") =>
        {
            ctx.require(&format!("/nodes/{node}"), &["Sys.Modify"])?;
            known_service(svc)?;
            let mut c = ctx.write();
            let upid = ctx.start_task(
                &mut c,
                node,
                &format!("srv{action}"),
                svc,
                0.5,
                vec![],
                None,
            );
            Ok(Reply::string(upid))
        }
        ("GET", ["certificates"]) => Ok(index(&["acme", "custom", "info"])),
        ("GET", ["certificates", "info"]) => certificates(ctx, node),
        ("POST", ["certificates", "custom"]) => upload_certificate(ctx, node),
        ("DELETE", ["certificates", "custom"]) => {
            ctx.require(&format!("/nodes/{node}"), &["Sys.Modify"])?;
            ctx.write().custom_certs.remove(node);
            Ok(Reply::null())
        }
        ("POST", ["termproxy"]) => console::shell(ctx, node, "termproxy"),
        ("POST", ["vncshell"]) => console::shell(ctx, node, "vncshell"),
        ("POST", ["spiceshell"]) => console::spice(ctx, node),
        ("GET", ["disks"]) => Ok(index(&[
            "list",
            "smart",
            "lvm",
            "lvmthin",
            "zfs",
            "directory",
        ])),
        ("GET", ["disks", "list"]) => disks(ctx, node),
        ("GET", ["apt"]) => Ok(index_by(
            "id",
            &["changelog", "repositories", "update", "versions"],
        )),
        ("GET", ["apt", "update"]) => apt(ctx, node),
        ("POST", ["apt", "update"]) => {
            ctx.require(&format!("/nodes/{node}"), &["Sys.Modify"])?;
            let mut c = ctx.write();
            let log = vec![
                "starting apt-get update".into(),
                "Hit:1 http://deb.debian.org/debian trixie InRelease".into(),
                "Hit:2 http://download.proxmox.com/debian/pve trixie InRelease".into(),
                "Reading package lists...".into(),
            ];
            let upid = ctx.start_task(&mut c, node, "aptupdate", "", 3.0, log, None);
            Ok(Reply::string(upid))
        }
        ("GET", ["rrddata"]) => rrddata(ctx, node),
        ("GET", ["syslog"]) => syslog(ctx, node),
        ("GET", ["journal"]) => {
            ctx.require(&format!("/nodes/{node}"), &["Sys.Syslog"])?;
            Ok(Reply::json(json!(log_lines(node, ctx.now))))
        }
        (_, ["qemu", rest @ ..]) => guests::route(ctx, node, Kind::Qemu, rest),
        (_, ["lxc", rest @ ..]) => guests::route(ctx, node, Kind::Lxc, rest),
        (_, ["tasks", rest @ ..]) => tasks::route(ctx, node, rest),
        (_, ["storage", rest @ ..]) => storage::route_node(ctx, node, rest),
        ("POST", ["vzdump"]) => backup::vzdump(ctx, node),
        (_, ["network", rest @ ..]) => network::route_node(ctx, node, rest),
        (_, ["firewall", rest @ ..]) => firewall::route_node(ctx, node, rest),
        _ => Err(ctx.not_impl()),
    }
}

fn status(ctx: &Ctx, node: &str) -> ApiResult {
    ctx.require(&format!("/nodes/{node}"), &["Sys.Audit"])?;
    let c = ctx.read();
    let n: &Node = c
        .node(node)
        .ok_or_else(|| PveError::internal("no such node"))?;
    let load = node_load(&c, ctx.now);
    let (gm, gc) = load.get(node).copied().unwrap_or_default();
    let m = metrics::node(c.seed, n, ctx.now, c.started, gm, gc);
    let disk_free = n.rootfs - m.disk;
    Ok(Reply::json(json!({
        "cpu": m.cpu,
        "wait": m.iowait,
        "idle": 0,
        "uptime": m.uptime,
        "loadavg": m.loadavg.iter().map(|l| format!("{l:.2}")).collect::<Vec<_>>(),
        "kversion": n.kversion,
        "pveversion": n.pveversion,
        "current-kernel": {"sysname": "Linux", "release": "6.14.11-4-pve", "machine": "x86_64",
            "version": "#1 SMP PREEMPT_DYNAMIC PMX 6.14.11-4 (2025-10-10T08:04Z)"},
        "boot-info": {"mode": "efi", "secureboot": 0},
        "cpuinfo": {
            "model": n.cpu_model, "cpus": n.cpus, "cores": n.cpus / n.sockets.max(1) / 2,
            "sockets": n.sockets, "mhz": "2000.000", "hvm": "1", "user_hz": 100,
            "flags": "fpu vme de pse tsc msr pae mce cx8 apic sep mtrr pge mca cmov pat pse36 clflush mmx fxsr sse sse2 ht syscall nx pdpe1gb rdtscp lm constant_tsc rep_good nopl xtopology nonstop_tsc cpuid aperfmperf pni pclmulqdq monitor ssse3 fma cx16 pcid sse4_1 sse4_2 x2apic movbe popcnt aes xsave avx f16c rdrand lahf_lm abm 3dnowprefetch svm vmx avx2 smep bmi2 erms invpcid rdseed adx smap clflushopt clwb sha_ni xsaveopt xsavec xgetbv1 xsaves",
        },
        "memory": {"total": n.memory, "used": m.mem, "free": n.memory - m.mem, "available": n.memory - m.mem},
        "swap": {"total": n.swap, "used": m.swap_used, "free": n.swap - m.swap_used},
        "rootfs": {"total": n.rootfs, "used": m.disk, "free": disk_free, "avail": disk_free},
        "ksm": {"shared": 0},
    })))
}

fn subscription(ctx: &Ctx, node: &str) -> ApiResult {
    ctx.require(&format!("/nodes/{node}"), &["Sys.Audit"])?;
    let c = ctx.read();
    let n = c
        .node(node)
        .ok_or_else(|| PveError::internal("no such node"))?;
    Ok(Reply::json(json!({
        "status": "active",
        "level": n.level,
        "productname": "Proxmox VE Community Subscription 2 CPUs/year",
        "key": format!("pve2c-{:010x}", crate::util::mix(u64::from(n.nodeid)) & 0xff_ffff_ffff),
        "serverid": format!("{:032X}", u128::from(crate::util::mix(u64::from(n.nodeid) + 99))),
        "sockets": n.sockets,
        "checktime": crate::state::GEN_EPOCH,
        "regdate": "2025-01-15 00:00:00",
        "nextduedate": "2027-01-15",
        "url": "https://www.proxmox.com/en/proxmox-virtual-environment/pricing",
    })))
}

const SERVICES: &[(&str, &str)] = &[
    ("pveproxy", "PVE API Proxy Server"),
    ("pvedaemon", "PVE API Daemon"),
    ("pvestatd", "PVE Status Daemon"),
    ("pve-cluster", "The Proxmox VE cluster filesystem"),
    ("corosync", "Corosync Cluster Engine"),
    ("pve-firewall", "Proxmox VE firewall"),
    ("pve-ha-crm", "PVE Cluster HA Resource Manager Daemon"),
    ("pve-ha-lrm", "PVE Local HA Resource Manager Daemon"),
    ("pvescheduler", "Proxmox VE scheduler"),
    ("spiceproxy", "PVE SPICE Proxy Server"),
    ("sshd", "OpenBSD Secure Shell server"),
    ("chrony", "chrony, an NTP client/server"),
    ("cron", "Regular background program processing daemon"),
    ("postfix", "Postfix Mail Transport Agent (instance -)"),
    ("systemd-journald", "Journal Service"),
    ("syslog", "System Logging Service"),
];

fn known_service(svc: &str) -> Result<(), PveError> {
    if SERVICES.iter().any(|(s, _)| *s == svc) {
        Ok(())
    } else {
        Err(PveError::param(
            "service",
            format!("value '{svc}' does not have a value in the enumeration"),
        ))
    }
}

fn service_json(svc: &str) -> Value {
    let desc = SERVICES
        .iter()
        .find(|(s, _)| *s == svc)
        .map(|(_, d)| *d)
        .unwrap_or("");
    json!({"service": svc, "name": svc, "desc": desc, "state": "running",
        "active-state": "active", "sub-state": "running", "unit-state": "enabled"})
}

fn services(ctx: &Ctx, node: &str) -> ApiResult {
    ctx.require(&format!("/nodes/{node}"), &["Sys.Audit"])?;
    Ok(Reply::json(json!(
        SERVICES
            .iter()
            .map(|(s, _)| service_json(s))
            .collect::<Vec<_>>()
    )))
}

fn certificates(ctx: &Ctx, node: &str) -> ApiResult {
    ctx.require(&format!("/nodes/{node}"), &["Sys.Audit"])?;
    let cert = |file: &str, subject: &str, issuer: &str| {
        json!({
            "filename": file,
            "fingerprint": ctx.app.fingerprint,
            "subject": subject,
            "issuer": issuer,
            "notbefore": crate::state::GEN_EPOCH - 86_400 * 100,
            "notafter": crate::state::GEN_EPOCH + 86_400 * 630,
            "san": [node, format!("{node}.sim.example.invalid"), "localhost", "127.0.0.1", "::1"],
            "public-key-type": "ecdsa",
            "public-key-bits": 256,
            "pem": ctx.app.cert_pem,
        })
    };
    let custom = ctx.read().custom_certs.get(node).cloned();
    let mut out = vec![
        cert(
            "pve-root-ca.pem",
            "/CN=Proxmox Virtual Environment/OU=sim/O=PVE Cluster Manager CA",
            "/CN=Proxmox Virtual Environment/OU=sim/O=PVE Cluster Manager CA",
        ),
        cert(
            "pve-ssl.pem",
            &format!(
                "/OU=PVE Cluster Node/O=Proxmox Virtual Environment/CN={node}.sim.example.invalid"
            ),
            "/CN=Proxmox Virtual Environment/OU=sim/O=PVE Cluster Manager CA",
        ),
    ];
    if let Some(pem) = custom {
        let mut c = cert(
            "pveproxy-ssl.pem",
            &format!("/CN={node}.custom.example.invalid"),
            "/CN=Custom CA",
        );
        c["pem"] = json!(pem);
        c["fingerprint"] = json!(pem_fingerprint(&pem));
        out.push(c);
    }
    Ok(Reply::json(json!(out)))
}

/// `POST /nodes/{node}/certificates/custom`: replaces the proxy certificate (`pveproxy-ssl.pem`)
/// with the uploaded chain; `restart` would reload pveproxy, which the sim need not do.
fn upload_certificate(ctx: &Ctx, node: &str) -> ApiResult {
    ctx.require(&format!("/nodes/{node}"), &["Sys.Modify"])?;
    let pem = ctx.params.req("certificates")?;
    if !pem.contains("-----BEGIN CERTIFICATE-----") {
        return Err(PveError::internal(
            "unable to read certificate - no PEM certificate found",
        ));
    }
    let mut c = ctx.write();
    if c.custom_certs.contains_key(node) && !ctx.params.flag("force")? {
        return Err(PveError::internal(
            "Custom certificate exists but 'force' is not set.",
        ));
    }
    c.custom_certs.insert(node.to_string(), pem.clone());
    Ok(Reply::json(json!({
        "filename": "pveproxy-ssl.pem",
        "fingerprint": pem_fingerprint(&pem),
        "subject": format!("/CN={node}.custom.example.invalid"),
        "issuer": "/CN=Custom CA",
        "notbefore": crate::state::GEN_EPOCH,
        "notafter": crate::state::GEN_EPOCH + 86_400 * 365,
        "san": [format!("{node}.custom.example.invalid")],
        "public-key-type": "rsaEncryption",
        "public-key-bits": 2048,
        "pem": pem,
    })))
}

/// A stable SHA-256 fingerprint of an uploaded PEM's text (the sim does not parse X.509).
fn pem_fingerprint(pem: &str) -> String {
    use sha2::{Digest, Sha256};
    hex::encode(Sha256::digest(pem.as_bytes()))
        .as_bytes()
        .chunks(2)
        .map(|b| String::from_utf8_lossy(b).to_ascii_uppercase())
        .collect::<Vec<_>>()
        .join(":")
}

fn disks(ctx: &Ctx, node: &str) -> ApiResult {
    if !ctx.perms.has("/", "Sys.Audit") && !ctx.perms.has(&format!("/nodes/{node}"), "Sys.Audit") {
        return Err(PveError::forbidden(&format!("/nodes/{node}"), "Sys.Audit"));
    }
    let c = ctx.read();
    let n = c
        .node(node)
        .ok_or_else(|| PveError::internal("no such node"))?;
    let h = crate::util::mix(u64::from(n.nodeid));
    Ok(Reply::json(json!([
        {"devpath": "/dev/nvme0n1", "type": "nvme", "size": 1_000_204_886_016u64, "model": "Samsung SSD 980 PRO 1TB",
         "serial": format!("S5GXNX0T{:06X}", h & 0xffffff), "vendor": "unknown", "health": "PASSED", "wearout": 97,
         "used": "LVM", "gpt": 1, "rpm": 0, "wwn": "unknown", "by_id_link": "/dev/disk/by-id/nvme-Samsung_SSD_980_PRO_1TB",
         "osdid": -1, "osdid-list": null},
        {"devpath": "/dev/sda", "type": "ssd", "size": 3_840_755_982_336u64, "model": "SAMSUNG_MZ7L33T8HBLT-00A07",
         "serial": format!("S6ERNE0T{:06X}", (h >> 24) & 0xffffff), "vendor": "ATA     ", "health": "PASSED", "wearout": 99,
         "used": "LVM", "gpt": 1, "rpm": 0, "wwn": format!("0x5002538f{:08x}", h & 0xffff_ffff), "osdid": -1, "osdid-list": null},
        {"devpath": "/dev/sdb", "type": "hdd", "size": 8_001_563_222_016u64, "model": "ST8000NM017B-2TJ103",
         "serial": format!("WSD{:05X}", (h >> 40) & 0xfffff), "vendor": "ATA     ", "health": "PASSED", "wearout": "N/A",
         "used": "unused", "gpt": 0, "rpm": 7200, "wwn": "unknown", "osdid": -1, "osdid-list": null},
    ])))
}

fn apt(ctx: &Ctx, node: &str) -> ApiResult {
    ctx.require(&format!("/nodes/{node}"), &["Sys.Modify"])?;
    let pkg = |name: &str, old: &str, new: &str, title: &str| {
        json!({"Package": name, "Title": title, "Description": title, "OldVersion": old, "Version": new,
            "Priority": "optional", "Section": "admin", "Origin": "Proxmox", "Arch": "amd64"})
    };
    Ok(Reply::json(json!([
        pkg(
            "pve-manager",
            "9.1.1",
            "9.1.2",
            "Proxmox Virtual Environment Management Tools"
        ),
        pkg("qemu-server", "9.1.0", "9.1.1", "Qemu Server Tools"),
        pkg(
            "proxmox-kernel-6.14",
            "6.14.11-4",
            "6.14.11-5",
            "Latest Proxmox Kernel Image"
        ),
        json!({"Package": "openssl", "Title": "Secure Sockets Layer toolkit", "Description": "Secure Sockets Layer toolkit - cryptographic utility",
            "OldVersion": "3.5.1-1", "Version": "3.5.1-1+deb13u1", "Priority": "optional", "Section": "utils",
            "Origin": "Debian", "Arch": "amd64"}),
    ])))
}

fn rrddata(ctx: &Ctx, node: &str) -> ApiResult {
    ctx.require(&format!("/nodes/{node}"), &["Sys.Audit"])?;
    let tf = ctx.params.req("timeframe")?;
    guests::check_timeframe(&tf)?;
    let cf_max = ctx.params.str("cf").as_deref() == Some("MAX");
    let c = ctx.read();
    let n = c
        .node(node)
        .ok_or_else(|| PveError::internal("no such node"))?;
    let fields = [
        ("cpu", 0.25),
        ("iowait", 0.02),
        ("loadavg", f64::from(n.cpus) * 0.2),
        ("memused", n.memory as f64 * 0.5),
        ("swapused", n.swap as f64 * 0.02),
        ("rootused", n.rootfs as f64 * 0.15),
        ("netin", 2_000_000.0),
        ("netout", 1_000_000.0),
        ("arcsize", 0.0),
    ];
    let consts = [
        ("maxcpu", json!(n.cpus)),
        ("memtotal", json!(n.memory)),
        ("swaptotal", json!(n.swap)),
        ("roottotal", json!(n.rootfs)),
    ];
    Ok(Reply::json(metrics::series(
        c.seed ^ u64::from(n.nodeid) << 50,
        ctx.now,
        &tf,
        cf_max,
        &fields,
        &consts,
    )))
}

fn log_lines(node: &str, now: u64) -> Vec<String> {
    let (y, mo, d, h, mi, _) = crate::state::storage::civil(now);
    let ts = format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:00+00:00");
    vec![
        format!("{ts} {node} pvedaemon[1234]: <root@pam> successful auth for user 'root@pam'"),
        format!("{ts} {node} pveproxy[2345]: worker 3456 finished"),
        format!("{ts} {node} pvestatd[1111]: status update time (0.512 seconds)"),
        format!("{ts} {node} systemd[1]: Started session-42.scope - Session 42 of User root."),
    ]
}

fn syslog(ctx: &Ctx, node: &str) -> ApiResult {
    ctx.require(&format!("/nodes/{node}"), &["Sys.Syslog"])?;
    let lines = log_lines(node, ctx.now);
    let start = ctx.params.uint("start", 0)? as usize;
    let limit = ctx.params.uint("limit", 50)? as usize;
    let out: Vec<Value> = lines
        .iter()
        .enumerate()
        .skip(start)
        .take(limit)
        .map(|(i, t)| json!({"n": i + 1, "t": t}))
        .collect();
    Ok(Reply::json(json!(out)).with("total", json!(lines.len())))
}
