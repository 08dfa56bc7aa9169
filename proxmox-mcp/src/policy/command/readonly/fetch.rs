//! Fetching a URL to standard output (`curl`, `wget`) as a read: nothing written, nothing sent.

use super::{Inner, NONE, Operands, Opts, Parsed, Reader};
use crate::policy::command::walk::Arg;

pub(in crate::policy::command) static READERS: &[Reader] = &[
    Reader {
        names: &["curl"],
        what: "fetches a URL to standard output",
        opts: Opts {
            flags: "sSkLIivfNq46gGZ",
            valued: "owHXmuAerD",
            long: &[
                "silent",
                "show-error",
                "insecure",
                "location",
                "location-trusted",
                "head",
                "include",
                "verbose",
                "fail",
                "fail-with-body",
                "no-buffer",
                "ipv4",
                "ipv6",
                "compressed",
                "globoff",
                "get",
                "no-progress-meter",
                "progress-bar",
                "path-as-is",
                "http1.0",
                "http1.1",
                "http2",
                "http2-prior-knowledge",
                "tlsv1",
                "tlsv1.2",
                "tlsv1.3",
                "ssl-no-revoke",
                "disable",
                "raw",
                "tr-encoding",
                "help",
                "version",
            ],
            long_valued: &[
                "output",
                "write-out",
                "header",
                "request",
                "max-time",
                "connect-timeout",
                "retry",
                "retry-delay",
                "retry-max-time",
                "user",
                "user-agent",
                "referer",
                "range",
                "dump-header",
                "url",
                "cacert",
                "capath",
                "resolve",
                "connect-to",
                "noproxy",
                "max-filesize",
                "limit-rate",
                "max-redirs",
                "speed-limit",
                "speed-time",
                "interface",
            ],
            ..NONE
        },
        operands: Operands::Custom(curl),
    },
    Reader {
        names: &["wget"],
        what: "fetches a URL to standard output",
        opts: Opts {
            flags: "qS46",
            valued: "OTtUn",
            long: &[
                "quiet",
                "spider",
                "server-response",
                "no-check-certificate",
                "inet4-only",
                "inet6-only",
                "no-verbose",
                "no-hsts",
                "help",
                "version",
            ],
            long_valued: &[
                "output-document",
                "timeout",
                "tries",
                "user-agent",
                "header",
                "max-redirect",
                "ca-certificate",
            ],
            ..NONE
        },
        operands: Operands::Custom(wget),
    },
];

/// Whether `t` names a URL curl or wget would fetch over HTTP(S). Other schemes can send data
/// (`gopher://`, `dict://`, `telnet://`, `smtp://`), and a URL without a scheme lets curl guess
/// one from the host name (`ftp.…`, `dict.…`).
fn http_url(t: &str) -> bool {
    let lower = t.to_ascii_lowercase();
    lower.starts_with("http://") || lower.starts_with("https://")
}

/// `curl`: a GET or HEAD of http(s) URLs to standard output or `/dev/null`.
fn curl(p: &Parsed, _: &[Arg]) -> Inner {
    for o in p.values("o").chain(p.values("output")) {
        if o != "/dev/null" && o != "-" {
            return Err(format!("`curl -o {o}` writes a file"));
        }
    }
    for d in p.values("D").chain(p.values("dump-header")) {
        if d != "-" {
            return Err(format!("`curl -D {d}` writes a file"));
        }
    }
    for m in p.values("X").chain(p.values("request")) {
        if m != "GET" && m != "HEAD" {
            return Err(format!("`curl -X {m}` may change something"));
        }
    }
    for w in p.values("w").chain(p.values("write-out")) {
        if w.starts_with('@') || w.contains("%output{") {
            return Err("`curl -w` reads or writes a file".into());
        }
    }
    for h in p.values("H").chain(p.values("header")) {
        if h.starts_with('@') {
            return Err("`curl -H @FILE` sends a file's content".into());
        }
    }
    let urls: Vec<&str> = p.texts().into_iter().chain(p.values("url")).collect();
    if urls.is_empty() && !p.any(&["h", "help", "version"]) {
        return Err("`curl` without a URL".into());
    }
    match urls.iter().find(|u| !http_url(u)) {
        Some(u) => Err(format!("`{u}` is not an http(s) URL")),
        None => Ok(None),
    }
}

/// `wget -O - URL` or `wget --spider URL`.
fn wget(p: &Parsed, _: &[Arg]) -> Inner {
    let outputs: Vec<&str> = p.values("O").chain(p.values("output-document")).collect();
    if let Some(o) = outputs.iter().find(|o| **o != "-") {
        return Err(format!("`wget -O {o}` writes a file"));
    }
    if let Some(n) = p.values("n").find(|n| *n != "v") {
        return Err(format!("`wget -n{n}` is not known to be read-only"));
    }
    if outputs.is_empty() && !p.has("spider") {
        return Err("`wget` without `-O -` or `--spider` saves a file".into());
    }
    match p.texts().iter().find(|u| !http_url(u)) {
        Some(u) => Err(format!("`{u}` is not an http(s) URL")),
        None => Ok(None),
    }
}
