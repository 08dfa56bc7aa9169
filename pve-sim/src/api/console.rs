//! Node shells: `termproxy`, `vncshell` (a console worker with a one-time ticket) and
//! `spiceshell` (a remote-viewer configuration). All need `Sys.Console` on the node.

use serde_json::json;

use super::Ctx;
use super::envelope::{ApiResult, Reply};

/// How long a shell session's worker runs before it times out unused (seconds, scaled).
const SESSION_SECS: f64 = 10.0;

/// `POST /nodes/{node}/termproxy` and `/vncshell`: starts the console worker and hands out the
/// port and ticket a websocket client connects with.
pub fn shell(ctx: &Ctx, node: &str, kind: &str) -> ApiResult {
    ctx.require(&format!("/nodes/{node}"), &["Sys.Console"])?;
    let cmd = ctx.params.str("cmd").unwrap_or_else(|| "login".into());
    let mut c = ctx.write();
    let log = vec![
        format!("starting {cmd} shell"),
        "connection timed out".into(),
    ];
    let upid = ctx.start_task(&mut c, node, kind, "", SESSION_SECS, log, None);
    let port = 5900 + (c.tasks.len() % 100) as u16;
    let mut out = json!({
        "port": port,
        "ticket": format!("PVEVNC:{}", crate::util::random_uuid()),
        "upid": upid,
        "user": ctx.user_id(),
    });
    if kind == "vncshell" {
        out["cert"] = json!(ctx.app.cert_pem);
        if ctx.params.flag("generate-password")? {
            out["password"] = json!(crate::util::random_uuid().replace('-', "")[..8]);
        }
    }
    Ok(Reply::json(out))
}

/// `POST /nodes/{node}/spiceshell`: what `remote-viewer` needs to open the node's shell.
pub fn spice(ctx: &Ctx, node: &str) -> ApiResult {
    ctx.require(&format!("/nodes/{node}"), &["Sys.Console"])?;
    let proxy = ctx
        .params
        .str("proxy")
        .unwrap_or_else(|| format!("http://{node}.sim.example.invalid:3128"));
    Ok(Reply::json(json!({
        "type": "spice",
        "host": format!("pvespiceproxy:{}", crate::util::random_uuid()),
        "password": crate::util::random_uuid(),
        "proxy": proxy,
        "tls-port": 61000,
        "title": format!("Shell on '{node}'"),
        "delete-this-file": 1,
        "secure-attention": "Ctrl+Alt+Ins",
        "release-cursor": "Ctrl+Alt+R",
        "toggle-fullscreen": "Shift+F11",
        "host-subject": format!("OU=PVE Cluster Node,O=Proxmox Virtual Environment,CN={node}.sim.example.invalid"),
        "ca": ctx.app.cert_pem,
    })))
}
