//! GETs that are not plain reads: they open consoles or tunnels, read files out of guests or
//! backups, consume one-shot results, make the node contact other hosts, or reveal the
//! credentials of outside services.

use super::segments;

/// Why a GET has side effects, or `None` for a plain read. `path` is relative to `/api2/json`
/// in any spelling [`segments`] undoes (encodings, stray slashes, a prefix); compared in any
/// case.
pub fn risky_get(path: &str) -> Option<&'static str> {
    let segs: Vec<String> = segments(path)
        .iter()
        .map(|s| s.to_ascii_lowercase())
        .collect();
    let s: Vec<&str> = segs.iter().map(String::as_str).collect();
    let last = s.last().copied().unwrap_or("");
    match last {
        "file-read" => return Some("reads files inside the guest"),
        "exec-status" => {
            return Some("consumes the guest agent's one-shot command result");
        }
        "query-url-metadata" | "query-oci-repo-tags" => {
            return Some("makes the node contact an outside URL");
        }
        "termproxy" | "vncproxy" | "spiceproxy" | "vncshell" | "spiceshell" => {
            return Some("opens a console");
        }
        _ if last.ends_with("websocket") => return Some("opens a console or migration tunnel"),
        _ => {}
    }
    if s.contains(&"file-restore") {
        return Some("reads files out of backups");
    }
    match s.as_slice() {
        ["nodes", _, "scan", ..] => Some("makes the node probe other hosts"),
        // `directory` may name any URL: the node fetches it.
        ["cluster", "acme", "meta" | "tos"] => Some("makes the node contact an outside URL"),
        // Their answers carry the credentials of outside services: DNS provider keys, IPAM
        // and DNS API tokens, an OpenID client secret, webhook URLs and headers.
        ["cluster", "acme", "plugins", ..]
        | ["cluster", "sdn", "ipams" | "dns", _]
        | ["access", "domains", _]
        | [
            "cluster",
            "notifications",
            "endpoints",
            "webhook" | "gotify",
            ..,
        ] => Some("reveals the credentials of an outside service"),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_with_side_effects() {
        for path in [
            "/nodes/pve1/qemu/100/agent/file-read",
            "/nodes/pve1/qemu/100/agent/exec-status",
            "/nodes/pve1/query-url-metadata",
            "/nodes/pve1/query-oci-repo-tags",
            "/nodes/pve1/scan/nfs",
            "/nodes/pve1/scan/pbs",
            "/nodes/pve1/storage/pbs/file-restore/download",
            "/nodes/pve1/storage/pbs/file-restore/list",
            "/nodes/pve1/qemu/100/vncwebsocket",
            "/nodes/pve1/lxc/101/vncwebsocket",
            "/nodes/pve1/vncwebsocket",
            "/nodes/pve1/qemu/100/mtunnelwebsocket",
            "/nodes/pve1/lxc/101/mtunnelwebsocket",
            "/cluster/acme/meta",
            "/cluster/acme/tos",
            "/api2/json/nodes/pve1/qemu/100/agent/FILE-READ",
            "//nodes/pve1/qemu/100/agent/file%2Dread/",
            "/NODES/pve1/SCAN/cifs",
        ] {
            assert!(risky_get(path).is_some(), "{path}");
        }
        for path in [
            "/cluster/resources",
            "/nodes/pve1/qemu/100/agent/get-osinfo",
            "/nodes/pve1/qemu/100/agent/network-get-interfaces",
            "/nodes/pve1/status",
            "/nodes/pve1/storage/local/content",
            "/cluster/acme/directories",
            "/nodes/pve1/apt/changelog",
        ] {
            assert!(risky_get(path).is_none(), "{path}");
        }
    }
}
