//! Guest power actions (`status/start|stop|shutdown|reboot|reset|suspend|resume`) as tasks.

use super::Ctx;
use super::envelope::{ApiResult, PveError, Reply};
use super::guests::{lookup, pool_of};
use super::lifecycle::{lock_error, with_guest};
use crate::state::Cluster;
use crate::state::guest::{Kind, Power};

/// `POST .../status/{action}`.
pub fn power(ctx: &Ctx, node: &str, kind: Kind, vmid: u32, action: &str) -> ApiResult {
    let actions: &[&str] = match kind {
        Kind::Qemu => &[
            "start", "stop", "shutdown", "reboot", "reset", "suspend", "resume",
        ],
        Kind::Lxc => &["start", "stop", "shutdown", "reboot", "suspend", "resume"],
    };
    if !actions.contains(&action) {
        return Err(ctx.not_impl());
    }
    let mut c = ctx.write();
    ctx.require_vm(vmid, pool_of(&c, vmid).as_deref(), &["VM.PowerMgmt"])?;
    let g = lookup(&c, node, kind, vmid)?;
    let skiplock = ctx.params.flag("skiplock")?;
    if let Some(l) = g.lock()
        && !skiplock
        && !(action == "resume" && l == "suspended")
    {
        return Err(lock_error(kind, l));
    }
    let label = kind.label();
    let running = g.is_running();
    if g.is_template() && action == "start" {
        return Err(PveError::internal(match kind {
            Kind::Qemu => "you can't start a vm if it's a template".to_string(),
            Kind::Lxc => format!("CT {vmid} is a template - unable to start"),
        }));
    }
    match (kind, action) {
        (Kind::Lxc, "start") if running => {
            return Err(PveError::internal(format!("CT {vmid} already running")));
        }
        (Kind::Lxc, "stop" | "shutdown" | "reboot" | "suspend") if !running => {
            return Err(PveError::internal(format!("CT {vmid} not running")));
        }
        (_, "suspend" | "resume") if !running => {
            return Err(PveError::internal(format!("{label} {vmid} not running")));
        }
        (Kind::Qemu, "shutdown" | "reboot")
            if g.power == Power::Paused && !ctx.params.flag("forceStop")? =>
        {
            return Err(PveError::internal("VM is paused - cannot shutdown"));
        }
        _ => {}
    }
    let timeout = ctx.params.int("timeout")?;
    let (base, log): (f64, Vec<String>) = match action {
        "start" => (1.0, vec![format!("starting {label} {vmid}")]),
        "stop" => (0.5, vec![format!("stopping {label} {vmid}")]),
        "shutdown" => (
            timeout.map(|t| (t as f64).min(3.0)).unwrap_or(3.0),
            vec![format!("shutting down {label} {vmid}")],
        ),
        "reboot" => (4.0, vec![format!("rebooting {label} {vmid}")]),
        "reset" => (0.3, vec![]),
        "suspend" => (0.5, vec![format!("suspend {label} {vmid}")]),
        _ => (0.3, vec![format!("resume {label} {vmid}")]),
    };
    let task_type = format!("{}{action}", kind.task_prefix());
    let n = node.to_string();
    let act = action.to_string();
    let todisk = ctx.params.flag("todisk")?;
    let effect = Box::new(move |c: &mut Cluster| {
        with_guest(c, &n, kind, vmid, |g, now| {
            let mut extra = Vec::new();
            match act.as_str() {
                "start" => {
                    if g.is_running() {
                        return Err(format!("{} {vmid} already running", kind.label()));
                    }
                    g.apply_pending();
                    g.power = Power::Running;
                    g.started_at = now;
                    if kind == Kind::Qemu && vmid % 7 == 3 {
                        extra.push(
                            "WARN: no efidisk configured! Using temporary efivars disk.".into(),
                        );
                    }
                }
                "stop" | "shutdown" => {
                    g.power = Power::Stopped;
                    g.execs.clear();
                    if kind == Kind::Qemu
                        && g.config.get("lock").map(String::as_str) == Some("suspended")
                    {
                        g.config.remove("lock");
                    }
                }
                "reboot" | "reset" => {
                    if !g.is_running() {
                        return Err(format!("{} {vmid} not running", kind.label()));
                    }
                    if act == "reboot" {
                        g.apply_pending();
                    }
                    g.started_at = now;
                    g.execs.clear();
                }
                "suspend" => {
                    if todisk {
                        g.power = Power::Stopped;
                        g.config.insert("lock".into(), "suspended".into());
                    } else {
                        g.power = Power::Paused;
                    }
                }
                _ => {
                    if g.config.get("lock").map(String::as_str) == Some("suspended") {
                        g.config.remove("lock");
                        g.started_at = now;
                    }
                    g.power = Power::Running;
                }
            }
            Ok(extra)
        })
    });
    let upid = ctx.start_task(
        &mut c,
        node,
        &task_type,
        &vmid.to_string(),
        base,
        log,
        Some(effect),
    );
    Ok(Reply::string(upid))
}
