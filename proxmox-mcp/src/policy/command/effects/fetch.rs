//! `curl`: its method, data and output, and requests to a Proxmox VE API URL classified as that
//! API request.

use super::{Verdict, v};
use crate::policy::Class::{Destructive, Exec, Lifecycle, Modify, Read};
use crate::policy::api::{classify_api_call, decode};

pub(super) fn curl(args: &[String]) -> Verdict {
    if args
        .iter()
        .any(|a| a.starts_with("-K") || a == "--config" || a.starts_with("--config="))
    {
        return v(
            Exec,
            "curl reads its options from a file, which can send or write anything",
        )
        .opaque();
    }
    let method = args
        .iter()
        .position(|a| a == "-X" || a == "--request")
        .and_then(|k| args.get(k + 1));
    let method = method.map(|m| m.to_ascii_uppercase()).or_else(|| {
        args.iter().find_map(|a| {
            a.strip_prefix("-X")
                .or(a.strip_prefix("--request="))
                .filter(|m| !m.is_empty())
                .map(str::to_ascii_uppercase)
        })
    });
    let sends = args.iter().any(|a| {
        a.starts_with("-d")
            || a.starts_with("--data")
            || a.starts_with("-F")
            || a.starts_with("--form")
            || a == "-T"
            || a.starts_with("--upload")
            || a == "--json"
    });
    let writes = args.iter().any(|a| {
        matches!(
            a.as_str(),
            "-o" | "-O" | "--output" | "--remote-name" | "-J" | "--remote-name-all"
        ) || a.starts_with("--output=")
    });
    let generic = curl_generic(method.as_deref(), sends, writes);
    match pve_api(args, method.as_deref(), sends) {
        // The API's verdict; a download to a file stays a write whose target is checked.
        Some(api) if !generic.writes => api,
        Some(api) if api.class > generic.class => Verdict {
            writes: true,
            ..api
        },
        _ => generic,
    }
}

/// What a `curl` request does as plain HTTP: its method, whether it sends data, whether it
/// writes a file.
fn curl_generic(method: Option<&str>, sends: bool, writes: bool) -> Verdict {
    match method {
        Some("DELETE") => v(Destructive, "sends an HTTP DELETE").accounts(),
        Some(m) if m != "GET" && m != "HEAD" => {
            v(Modify, "sends a changing HTTP request").accounts()
        }
        _ if sends => v(Modify, "sends data in an HTTP request").accounts(),
        _ if writes => v(Modify, "downloads to a file").writes(),
        _ => v(Read, "fetches a URL to standard output"),
    }
}

/// A `curl` request to a Proxmox VE API URL (`…/api2/json/…`), classified as that API request
/// with its form data and query, so it gets the verdict `proxmox_api` would give it.
fn pve_api(args: &[String], method: Option<&str>, sends: bool) -> Option<Verdict> {
    let url = args.iter().find(|a| a.contains("/api2/"))?;
    let path = &url[url.find("/api2/")?..];
    let (path, query) = path.split_once('?').unwrap_or((path, ""));
    let mut params = serde_json::Map::new();
    let mut add = |pairs: &str| {
        for pair in pairs.split('&').filter(|p| !p.is_empty()) {
            let (k, val) = pair.split_once('=').unwrap_or((pair, "1"));
            params.insert(decode(k), serde_json::Value::String(decode(val)));
        }
    };
    add(query);
    let mut k = 0;
    while k < args.len() {
        let a = args[k].as_str();
        let data = [
            "-d",
            "--data",
            "--data-raw",
            "--data-urlencode",
            "--data-binary",
            "-F",
            "--form",
        ]
        .iter()
        .find_map(|o| {
            if a == *o {
                args.get(k + 1).map(String::as_str)
            } else if o.starts_with("--") {
                a.strip_prefix(&format!("{o}="))
            } else {
                a.strip_prefix(o).filter(|r| !r.is_empty())
            }
        });
        if let Some(d) = data {
            add(d);
        }
        k += 1;
    }
    let method = method.unwrap_or(if sends { "POST" } else { "GET" });
    let class = classify_api_call(method, path, &params);
    let what = match class {
        Read => "reads the Proxmox API",
        Lifecycle | Modify => "changes state through the Proxmox API",
        Destructive => "destroys, hard-stops or locks down through the Proxmox API",
        Exec => "runs commands or opens a console through the Proxmox API",
    };
    Some(v(class, what).accounts())
}
