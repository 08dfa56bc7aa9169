//! What an unresolved command could reach. A command whose words are not all known before it
//! runs (expansions, substitutions, `eval`, inline code, functions…) cannot be checked part by
//! part, so root protection looks at its text instead: if it names a protected program, path,
//! identity or node removal anywhere — in any spelling the shell would join back together
//! (quotes, escapes, empty expansions, `\xHH`, base64 or hex payloads, globs) — it is refused,
//! and the model is asked for the plain command. Linear in the text.

use std::sync::LazyLock;

use regex::Regex;

use super::paths::{decode_lower, glob_match};
use super::{Context, ServerFiles};

/// Programs that change accounts, the cluster or this server.
const PROGRAMS: &[&str] = &[
    "pveum",
    "pvesh",
    "pvecm",
    "proxmox-mcp",
    "mcp-http-bridge",
    "passwd",
    "chpasswd",
    "usermod",
    "userdel",
    "deluser",
    "chage",
    "newusers",
    "gpasswd",
    "vipw",
    "vigr",
    "visudo",
    "pmxcfs",
];

/// Path components of protected trees and secrets.
const COMPONENTS: &[&str] = &[
    "shadow",
    "gshadow",
    "sudoers",
    "sudoers.d",
    ".ssh",
    "authorized_keys",
    "priv",
    "user.cfg",
    "pve-cluster",
    "config.db",
    "authkey",
    "authkey.key",
    "id_rsa",
    "id_ecdsa",
    "id_ed25519",
    "id_dsa",
    "keyring",
    "environ",
    "kcore",
    "mem",
    "kmem",
    "request-state.key",
    "approvals",
];

/// Substrings that name a protected identity or operation.
const PHRASES: &[&str] = &[
    "root@pam",
    "delnode",
    "config/nodes",
    "ssh_host_",
    "ssl/private",
    "pve-ssl.key",
    "pveproxy-ssl.key",
    "pve-www.key",
    "/etc/pve/priv",
    "proxmox_mcp_",
];

/// A quote, an optional concatenation operator, and the next quote: what separates two string
/// pieces an interpreter joins.
static CONCAT: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r#"['"]\s*[+.,]?\s*['"]"#).expect("valid regex"));

static WORD: LazyLock<Regex> = LazyLock::new(|| {
    let alt: Vec<String> = PROGRAMS.iter().map(|p| regex::escape(p)).collect();
    Regex::new(&format!(
        r"(?:^|[^a-z0-9_.-])({})(?:$|[^a-z0-9_-])",
        alt.join("|")
    ))
    .expect("valid regex")
});

static COMPONENT: LazyLock<Regex> = LazyLock::new(|| {
    let alt: Vec<String> = COMPONENTS.iter().map(|p| regex::escape(p)).collect();
    Regex::new(&format!(r"/({})(?:$|[^a-z0-9_.-])", alt.join("|"))).expect("valid regex")
});

/// The first protected thing `text` names, as the refusal should say it. `assigned` are the
/// variables the command assigns literally, substituted in one more spelling.
pub(super) fn names_protected(
    text: &str,
    ctx: &Context,
    assigned: &[(String, String)],
) -> Option<String> {
    let mut all = variants(text);
    if !assigned.is_empty() {
        all.extend(variants(&substitute(text, assigned)));
    }
    for variant in all {
        if let Some(hit) = scan(&variant, ctx) {
            return Some(hit);
        }
    }
    None
}

fn scan(t: &str, ctx: &Context) -> Option<String> {
    if let Some(c) = WORD.captures(t) {
        return Some(format!("the program `{}`", &c[1]));
    }
    if let Some(c) = COMPONENT.captures(t) {
        return Some(format!("the protected path component `{}`", &c[1]));
    }
    if let Some(p) = PHRASES.iter().find(|p| t.contains(*p)) {
        return Some(format!("`{p}`"));
    }
    let own = [ctx.own_user, ctx.own_token];
    if let Some(id) = own
        .into_iter()
        .flatten()
        .map(str::to_lowercase)
        .find(|id| super::paths::names_account(t, id))
    {
        return Some(format!("this server's own identity `{id}`"));
    }
    if let Some(p) = server_path(t, ctx.server) {
        return Some(format!("this server's file `{p}`"));
    }
    glob_hit(t, ctx.server)
}

/// A path of the server's own named literally (as a path, or by its last component when that
/// names the server: `…/proxmox-mcp/…`).
fn server_path(t: &str, server: &ServerFiles) -> Option<String> {
    server
        .guarded
        .iter()
        .chain(&server.secrets)
        .chain(server.programs.iter().filter(|p| p.contains('/')))
        .map(|p| p.to_lowercase())
        .find(|p| {
            let literal = p.split('*').next().unwrap_or(p).trim_end_matches('/');
            literal.len() > 1 && t.contains(literal)
        })
}

/// Glob words that could expand to a protected program or path component
/// (`/usr/sbin/pve?m`, `/etc/sha*`). A pattern with fewer than two literal characters says
/// nothing (cron's `* * * * *`), unless it names a file in a program directory
/// (`/usr/sbin/?????`).
fn glob_hit(t: &str, server: &ServerFiles) -> Option<String> {
    const BIN_DIRS: &[&str] = &[
        "/bin/",
        "/sbin/",
        "/usr/bin/",
        "/usr/sbin/",
        "/usr/local/bin/",
        "/usr/local/sbin/",
    ];
    let names = PROGRAMS
        .iter()
        .chain(COMPONENTS)
        .copied()
        .chain(server.programs.iter().map(String::as_str));
    let names: Vec<&str> = names.filter(|n| !n.contains('/')).collect();
    let delim = |c: char| c.is_whitespace() || "/;|&<>()'\"`$={},:".contains(c);
    let mut start = 0;
    for (i, c) in t.char_indices().chain(std::iter::once((t.len(), ' '))) {
        if !delim(c) {
            continue;
        }
        let token = &t[start..i];
        let at = start;
        start = i + c.len_utf8();
        if token.is_empty() || !token.contains(['*', '?', '[']) || token.len() > 256 {
            continue;
        }
        let literal = token
            .chars()
            .filter(|c| !matches!(c, '*' | '?' | '[' | ']' | '!'))
            .count();
        if literal < 2 && !BIN_DIRS.iter().any(|d| t[..at].ends_with(d)) {
            continue;
        }
        if let Some(n) = names.iter().find(|n| glob_match(token, n)) {
            return Some(format!("`{n}` (through the pattern `{token}`)"));
        }
    }
    None
}

/// The spellings of `text` a shell could turn into the same words: as written, with quotes and
/// escapes removed, with simple expansions dropped, with `\xHH`/`\NNN`/`\uHHHH` escapes decoded,
/// and with base64 or hex payloads decoded. All lowercased and `%XX`-decoded.
fn variants(text: &str) -> Vec<String> {
    let lower = decode_lower(text);
    let unquoted: String = lower
        .chars()
        .filter(|c| !matches!(c, '\'' | '"' | '\\'))
        .collect();
    let unexpanded = drop_expansions(&unquoted);
    let escaped = decode_escapes(&lower);
    // `$'\x70'veum`, also inside other quotes: decoded, then unquoted.
    let ansi_c = strip_quotes(&escaped);
    // String pieces glued together by an interpreter (`'pve'+'um'`, `"pve"."um"`, `'pve' 'um'`),
    // read backwards (`| rev`), or rotated by 13 (`codecs.decode(…, 'rot13')`).
    let glued = CONCAT.replace_all(&lower, "").into_owned();
    let reversed: String = lower.chars().rev().collect();
    let rot13: String = lower
        .chars()
        .map(|c| match c {
            'a'..='m' => (c as u8 + 13) as char,
            'n'..='z' => (c as u8 - 13) as char,
            c => c,
        })
        .collect();
    let mut out = vec![
        lower, unquoted, unexpanded, escaped, ansi_c, glued, reversed, rot13,
    ];
    out.extend(decode_payloads(text));
    out
}

/// Quotes, backslashes and the `$` of `$'…'`/`$"…"` removed.
fn strip_quotes(t: &str) -> String {
    let c: Vec<char> = t.chars().collect();
    let mut out = String::with_capacity(t.len());
    for (i, &ch) in c.iter().enumerate() {
        let quote = |x: Option<&char>| matches!(x, Some('\'' | '"'));
        if matches!(ch, '\'' | '"' | '\\') || (ch == '$' && quote(c.get(i + 1))) {
            continue;
        }
        out.push(ch);
    }
    out
}

/// `text` with `$name` and `${name}` replaced by the literal values assigned to them, in one
/// pass: what a value brings in is not substituted again, and the result is at most twice the
/// text (plus 64 KiB), so no chain of variables makes it grow beyond that.
fn substitute(text: &str, assigned: &[(String, String)]) -> String {
    let budget = text.len() * 2 + 64 * 1024;
    let value = |name: &str| {
        assigned
            .iter()
            .rev()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    };
    let b = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'$' && out.len() < budget {
            let braced = b.get(i + 1) == Some(&b'{');
            let start = i + 1 + usize::from(braced);
            let mut end = start;
            while end < b.len() && (b[end].is_ascii_alphanumeric() || b[end] == b'_') {
                end += 1;
            }
            let closed = !braced || b.get(end) == Some(&b'}');
            if end > start
                && closed
                && let Some(v) = value(&text[start..end])
            {
                out.push_str(v);
                i = end + usize::from(braced);
                continue;
            }
        }
        let ch = text[i..].chars().next().unwrap_or(' ');
        out.push(ch);
        i += ch.len_utf8();
    }
    out
}

/// Removes `$name`, `${…}` (without nesting), `$N` and `$@`-style expansions and the empty
/// quotes they leave, so `pv${x}eum` reads as `pveum`.
fn drop_expansions(t: &str) -> String {
    let c: Vec<char> = t.chars().collect();
    let mut out = String::with_capacity(t.len());
    let mut i = 0;
    while i < c.len() {
        if c[i] == '$' {
            match c.get(i + 1) {
                Some('{') => {
                    let end = c[i + 2..].iter().position(|&x| x == '}');
                    i = end.map_or(c.len(), |e| i + 2 + e + 1);
                    continue;
                }
                Some(x) if x.is_ascii_alphabetic() || *x == '_' => {
                    i += 1;
                    while c
                        .get(i)
                        .is_some_and(|x| x.is_ascii_alphanumeric() || *x == '_')
                    {
                        i += 1;
                    }
                    continue;
                }
                Some(x) if x.is_ascii_digit() || "@*#?$!-".contains(*x) => {
                    i += 2;
                    continue;
                }
                _ => {}
            }
        }
        out.push(c[i]);
        i += 1;
    }
    out
}

/// Decodes `\xHH`, `\NNN` (octal), `\0NNN`, `\uHHHH` and `\UHHHHHHHH` escapes as printf,
/// `echo -e` and `$'…'` would.
fn decode_escapes(t: &str) -> String {
    let c: Vec<char> = t.chars().collect();
    let mut out = String::with_capacity(t.len());
    let mut i = 0;
    while i < c.len() {
        if c[i] == '\\' && i + 1 < c.len() {
            let (radix, max, skip) = match c[i + 1] {
                'x' => (16, 2, 2),
                'u' => (16, 4, 2),
                'U' => (16, 8, 2),
                '0' => (8, 4, 1),
                '1'..='7' => (8, 3, 1),
                _ => (0, 0, 0),
            };
            if radix > 0 {
                let mut v = 0u32;
                let mut n = 0;
                while n < max {
                    match c.get(i + skip + n).and_then(|d| d.to_digit(radix)) {
                        Some(d) => {
                            v = v.saturating_mul(radix).saturating_add(d);
                            n += 1;
                        }
                        None => break,
                    }
                }
                if n > 0 {
                    out.extend(char::from_u32(v).map(|ch| ch.to_ascii_lowercase()));
                    i += skip + n;
                    continue;
                }
            }
        }
        out.push(c[i]);
        i += 1;
    }
    out
}

/// Base64 and hex tokens decoded to text (only those that decode to mostly printable text).
fn decode_payloads(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let delim = |c: char| !(c.is_ascii_alphanumeric() || matches!(c, '+' | '/' | '=' | '-' | '_'));
    for token in text.split(delim).filter(|t| t.len() >= 8) {
        let hex = token.len() % 2 == 0 && token.bytes().all(|b| b.is_ascii_hexdigit());
        let bytes = if hex {
            hex::decode(token).ok()
        } else {
            use base64::Engine as _;
            let t = token.trim_end_matches('=');
            base64::engine::general_purpose::STANDARD_NO_PAD
                .decode(t)
                .or_else(|_| base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(t))
                .ok()
        };
        if let Some(bytes) = bytes
            && let Ok(s) = String::from_utf8(bytes)
            && s.chars()
                .filter(|c| !c.is_control() || c.is_whitespace())
                .count()
                * 10
                >= s.chars().count() * 9
        {
            out.push(decode_lower(&s));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(text: &str) -> Option<String> {
        let server = ServerFiles::standard().with_state_dir("/srv/pmcp-state");
        let ctx = Context {
            own_user: Some("mcp@pve"),
            own_token: Some("mcp@pve!mcp"),
            ..Context::new(&server)
        };
        names_protected(text, &ctx, &[])
    }

    #[test]
    fn finds_protected_names_in_any_spelling() {
        for t in [
            "x=$(pveum user list)",
            "p've'um user delete x",
            "pv${EMPTY}eum user delete x",
            "\"$(printf '\\x70\\x76\\x65\\x75\\x6d')\" user delete x",
            "$(echo cHZldW0gdXNlciBkZWxldGUgeA== | base64 -d)",
            "$(echo 707665756d | xxd -r -p) user delete x",
            "/usr/sbin/pve?m user delete $X",
            "cat /etc/sha*$X",
            "/usr/sbin/????? user delete $X",
            "echo $X > /root/.ssh/authorized_keys",
            "tr '\\0' '\\n' < /proc/$PPID/environ",
            "$X root%40pam",
            "$X ROOT@PAM",
            "$CMD mcp@pve!mcp",
            "rm -rf /srv/pmcp-state/audit/$X",
            "$(which proxmox-mcp) approve X",
            "$X /usr/bin/proxmox-mcp",
            "pvecm $(echo delnode) pve2",
            "python3 -c \"import os; os.system('pve'+'um user delete ro'+'ot@pam')\"",
            "perl -e 'system(scalar reverse \"map\\@toor eteled resu muevp\")'",
            "echo 'cirhz hfre qryrgr ebbg@cnz' | tr a-z n-za-m | sh",
            "env -u PROXMOX_MCP_TOOL_CALL /tmp/x approve ABCDEFGHJK",
        ] {
            assert!(check(t).is_some(), "{t}");
        }
    }

    #[test]
    fn substitution_cannot_blow_up() {
        let server = ServerFiles::standard();
        let ctx = Context::new(&server);
        let assigned: Vec<(String, String)> = (0..30)
            .map(|k| (format!("v{k}"), format!("$v{}", k + 1).repeat(8)))
            .collect();
        let text = format!("echo $v0 {}", "$v0".repeat(1000));
        let out = substitute(&text, &assigned);
        assert!(
            out.len() <= text.len() * 2 + 64 * 1024 + 64,
            "{}",
            out.len()
        );
        assert!(names_protected(&text, &ctx, &assigned).is_none());
    }

    #[test]
    fn literal_assignments_are_substituted() {
        let server = ServerFiles::standard();
        let ctx = Context::new(&server);
        let assigned = [
            ("p".to_string(), "pv".to_string()),
            ("q".to_string(), "um".to_string()),
        ];
        assert!(names_protected("${p}e$q user delete x", &ctx, &assigned).is_some());
        assert!(names_protected("${p}e$qx user", &ctx, &assigned).is_none());
    }

    #[test]
    fn ordinary_text_names_nothing() {
        for t in [
            "for i in $(seq 1 3); do qm config $i; done",
            "echo $HOME",
            "ls -la /var/log/$X",
            "df -h $(findmnt -n -o TARGET /)",
            "grep -c memory $F",
            "echo passwords-are-stored-elsewhere $X",
            "echo deadbeef $X",
            "echo '* * * * * root id' $X",
        ] {
            assert_eq!(check(t), None, "{t}");
        }
    }
}
