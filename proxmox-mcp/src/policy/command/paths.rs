//! Path and account-name matching that variants cannot slip past: `//etc/./shadow`, globs,
//! `root%40pam`, `ROOT@PAM`.
//!
//! Two lists: [`PROTECTED`] may not be written, [`SECRETS`] may not be read either. They differ
//! on purpose: `/etc/passwd`, `/etc/sudoers`, `/etc/pve/user.cfg` and
//! `/root/.ssh/authorized_keys` are worth reading when diagnosing and hold no secret, while
//! `/etc/pve/priv`, private keys and password hashes must never reach the assistant.

/// Files and trees no command may write, whatever the mode. `sudoers` also covers `sudoers.*`.
pub(crate) const PROTECTED: &[&str] = &[
    "/etc/pve/priv",
    "/etc/pve/user.cfg",
    "/var/lib/pve-cluster",
    "/root/.ssh",
    "/etc/shadow",
    "/etc/gshadow",
    "/etc/passwd",
    "/etc/sudoers",
    "/etc/sudoers.d",
    "/proc/*/root",
    "/proc/*/cwd",
    "/proc/*/fd",
    "/proc/*/mem",
    "/proc/*/environ",
    "/proc/*/task/*/root",
    "/proc/*/task/*/cwd",
    "/proc/*/task/*/mem",
    "/proc/*/map_files",
];

/// Files and trees whose contents are secrets: no command may read them, whatever the mode
/// (`*` is a glob; `id_*` never matches a `.pub` public key).
pub(crate) const SECRETS: &[&str] = &[
    "/etc/pve/priv",
    "/etc/pve/local/pve-ssl.key",
    "/etc/pve/local/pveproxy-ssl.key",
    "/etc/pve/nodes/*/pve-ssl.key",
    "/etc/pve/nodes/*/pveproxy-ssl.key",
    "/var/lib/pve-cluster",
    "/etc/corosync/authkey",
    "/etc/ceph/*keyring",
    "/root/.ssh/id_*",
    "/home/*/.ssh/id_*",
    "/etc/ssh/ssh_host_*_key",
    "/etc/ssl/private",
    "/etc/shadow",
    "/etc/shadow-",
    "/etc/gshadow",
    "/etc/gshadow-",
    "/proc/*/environ",
    "/proc/*/mem",
    "/proc/*/task/*/environ",
    "/proc/*/task/*/mem",
    "/proc/*/root",
    "/proc/*/cwd",
    "/proc/*/fd",
    "/proc/*/map_files",
    "/proc/*/task/*/root",
    "/proc/*/task/*/cwd",
    "/proc/*/task/*/fd",
    "/proc/kcore",
    "/var/backups/*shadow*",
    "/var/lib/ceph/*/*/keyring",
    "/var/lib/ceph/bootstrap-*",
    "/run/credentials",
    "/dev/mem",
    "/dev/kmem",
    "/dev/port",
];

/// A guest's configuration file: writing it directly bypasses the API's checks (and can drop
/// `protection: 1` or a protected tag).
pub(crate) fn is_guest_config(path: &str) -> bool {
    [
        "/etc/pve/qemu-server/*",
        "/etc/pve/lxc/*",
        "/etc/pve/local/qemu-server/*",
        "/etc/pve/local/lxc/*",
        "/etc/pve/nodes/*/qemu-server/*",
        "/etc/pve/nodes/*/lxc/*",
    ]
    .iter()
    .any(|g| glob_match(g, path))
}

/// Directories whose programs we trust to be what their name says.
const SYSTEM_DIRS: &[&str] = &[
    "/bin",
    "/sbin",
    "/usr/bin",
    "/usr/sbin",
    "/usr/local/bin",
    "/usr/local/sbin",
];

/// Lexically normalises `path` against `cwd`: no `.`, `..`, repeated or trailing slashes.
/// `None` when the path is relative and the directory is unknown.
pub(crate) fn normalize(path: &str, cwd: Option<&str>) -> Option<String> {
    let full = if path.starts_with('/') {
        path.to_string()
    } else {
        format!("{}/{}", cwd?, path)
    };
    let mut parts: Vec<&str> = Vec::new();
    for c in full.split('/') {
        match c {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            c => parts.push(c),
        }
    }
    Some(format!("/{}", parts.join("/")))
}

/// `path` (normalised) with links the kernel always follows written out, so the checks see
/// where it leads: `/dev/fd/N/…` (a directory descriptor) is `/proc/self/fd/N/…`.
pub(crate) fn canonical(path: &str) -> String {
    if let Some(rest) = path.strip_prefix("/dev/fd/")
        && rest.contains('/')
    {
        return format!("/proc/self/fd/{rest}");
    }
    path.to_string()
}

/// Block devices (whole disks, partitions, volumes): reading one reads every file on it.
pub(crate) fn is_block_device(path: &str) -> bool {
    const DEVICES: &[&str] = &[
        "/dev/sd*",
        "/dev/hd*",
        "/dev/vd*",
        "/dev/xvd*",
        "/dev/nvme*",
        "/dev/mmcblk*",
        "/dev/dm-*",
        "/dev/md*",
        "/dev/zd*",
        "/dev/rbd*",
        "/dev/nbd*",
        "/dev/loop*",
        "/dev/mapper/*",
        "/dev/disk/*",
        "/dev/zvol/*",
        "/dev/pve/*",
        "/dev/block/*",
        "/dev/bcache*",
    ];
    DEVICES.iter().any(|d| glob_match(d, path))
}

/// Redirection targets that write nowhere: `/dev/null`, the standard streams and a plain
/// descriptor (`/dev/fd/2`; not a path below one, which a directory descriptor allows).
pub(crate) fn is_harmless_sink(path: &str) -> bool {
    matches!(
        path,
        "/dev/null" | "/dev/stdout" | "/dev/stderr" | "/dev/tty"
    ) || path
        .strip_prefix("/dev/fd/")
        .is_some_and(|n| !n.is_empty() && n.chars().all(|c| c.is_ascii_digit()))
}

/// True when `prog` (an absolute or relative path) lives in a system binary directory.
pub(crate) fn in_system_dir(prog: &str) -> bool {
    let Some(norm) = normalize(prog, None) else {
        return false;
    };
    let dir = norm.rsplit_once('/').map(|(d, _)| d).unwrap_or("");
    SYSTEM_DIRS.contains(&dir)
}

/// Shell glob match of `pat` against the literal `s` (`*`, `?`, `[…]`, backslash escapes).
///
/// Linear in each input for the short strings it meets here (at most `|pat| · |s|` steps, with
/// one side a fixed protected name): the pattern is compiled once, and only the last `*` is
/// ever backtracked to, so no input makes it exponential.
pub(crate) fn glob_match(pat: &str, s: &str) -> bool {
    let toks = compile(pat);
    let t: Vec<char> = s.chars().collect();
    let (mut p, mut k) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    while k < t.len() {
        match toks.get(p) {
            Some(Tok::Star) => {
                star = Some((p, k));
                p += 1;
            }
            Some(tok) if tok.matches(t[k]) => {
                p += 1;
                k += 1;
            }
            _ => match star {
                Some((sp, sk)) => {
                    p = sp + 1;
                    k = sk + 1;
                    star = Some((sp, sk + 1));
                }
                None => return false,
            },
        }
    }
    toks[p..].iter().all(|t| matches!(t, Tok::Star))
}

/// One element of a compiled glob pattern.
enum Tok {
    Star,
    Any,
    Char(char),
    /// `[…]`: ranges as (low, high), negated or not.
    Class(Vec<(char, char)>, bool),
}

impl Tok {
    fn matches(&self, c: char) -> bool {
        match self {
            Tok::Star => true,
            Tok::Any => true,
            Tok::Char(x) => *x == c,
            Tok::Class(ranges, negate) => {
                ranges.iter().any(|&(lo, hi)| lo <= c && c <= hi) != *negate
            }
        }
    }
}

/// Compiles a glob in one pass; a `[` without its `]` is a plain character, as in the shell.
fn compile(pat: &str) -> Vec<Tok> {
    let p: Vec<char> = pat.chars().collect();
    // next_close[i]: the first `]` at or after i (a class needs one at i + 1 or later).
    let mut next_close = vec![usize::MAX; p.len() + 1];
    for i in (0..p.len()).rev() {
        next_close[i] = if p[i] == ']' { i } else { next_close[i + 1] };
    }
    let mut toks = Vec::with_capacity(p.len());
    let mut i = 0;
    while i < p.len() {
        match p[i] {
            '*' => {
                if !matches!(toks.last(), Some(Tok::Star)) {
                    toks.push(Tok::Star);
                }
                i += 1;
            }
            '?' => {
                toks.push(Tok::Any);
                i += 1;
            }
            '\\' if i + 1 < p.len() => {
                toks.push(Tok::Char(p[i + 1]));
                i += 2;
            }
            '[' => {
                let mut j = i + 1;
                let negate = matches!(p.get(j), Some('!' | '^'));
                if negate {
                    j += 1;
                }
                // A `]` right after the opening bracket belongs to the set.
                let close = next_close.get(j + 1).copied().unwrap_or(usize::MAX);
                if close == usize::MAX {
                    toks.push(Tok::Char('['));
                    i += 1;
                    continue;
                }
                let set = &p[j..close];
                let mut ranges = Vec::new();
                let mut k = 0;
                while k < set.len() {
                    if k + 2 < set.len() && set[k + 1] == '-' {
                        ranges.push((set[k], set[k + 2]));
                        k += 3;
                    } else {
                        ranges.push((set[k], set[k]));
                        k += 1;
                    }
                }
                toks.push(Tok::Class(ranges, negate));
                i = close + 1;
            }
            c => {
                toks.push(Tok::Char(c));
                i += 1;
            }
        }
    }
    toks
}

/// How a written path relates to the protected trees.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Hit {
    /// The path is (or may be, through a glob) inside a protected tree.
    Inside,
    /// The path is a parent of a protected tree: recursive operations reach it.
    Ancestor,
}

/// Checks a normalised path pattern (globs live, quoted characters escaped) against
/// [`PROTECTED`]; returns the protected entry it touches.
pub(crate) fn protected_hit(pattern: &str) -> Option<(&'static str, Hit)> {
    let comps: Vec<&str> = pattern.split('/').filter(|c| !c.is_empty()).collect();
    let mut ancestor = None;
    for prot in PROTECTED {
        let pc: Vec<&str> = prot.split('/').filter(|c| !c.is_empty()).collect();
        let n = comps.len().min(pc.len());
        let prefix_ok = (0..n).all(|k| {
            may_overlap(comps[k], pc[k])
                || (pc[k] == "sudoers" && unescape(comps[k]).starts_with("sudoers"))
        });
        if !prefix_ok {
            continue;
        }
        if comps.len() >= pc.len() {
            return Some((prot, Hit::Inside));
        }
        ancestor.get_or_insert((*prot, Hit::Ancestor));
    }
    ancestor
}

/// Checks a normalised path pattern against [`SECRETS`]: the path is (or may be, through a
/// glob) a secret or inside a secret tree ([`Hit::Inside`]), or, for a `recursive` reader, a
/// parent of one ([`Hit::Ancestor`]).
pub(crate) fn secret_hit(pattern: &str, recursive: bool) -> Option<(&'static str, Hit)> {
    let comps: Vec<&str> = pattern.split('/').filter(|c| !c.is_empty()).collect();
    let mut ancestor = None;
    for secret in SECRETS {
        let sc: Vec<&str> = secret.split('/').filter(|c| !c.is_empty()).collect();
        let n = comps.len().min(sc.len());
        if !(0..n).all(|k| may_overlap(comps[k], sc[k])) {
            continue;
        }
        if comps.len() < sc.len() {
            ancestor.get_or_insert((*secret, Hit::Ancestor));
            continue;
        }
        let public_key = comps.len() == sc.len()
            && sc[n - 1].contains('*')
            && unescape(comps[n - 1]).ends_with(".pub");
        if !public_key {
            return Some((secret, Hit::Inside));
        }
    }
    ancestor.filter(|_| recursive)
}

/// Checks a normalised path pattern against `trees` (absolute, `*` globs allowed, each covering
/// what is below it): the path is (or may be) inside one ([`Hit::Inside`]), or, when
/// `recursive`, a parent of one ([`Hit::Ancestor`]).
pub(crate) fn tree_hit<'t>(
    pattern: &str,
    trees: &'t [String],
    recursive: bool,
) -> Option<(&'t str, Hit)> {
    let comps: Vec<&str> = pattern.split('/').filter(|c| !c.is_empty()).collect();
    let mut ancestor = None;
    for tree in trees {
        let tc: Vec<&str> = tree.split('/').filter(|c| !c.is_empty()).collect();
        let n = comps.len().min(tc.len());
        if tc.is_empty() || !(0..n).all(|k| may_overlap(comps[k], tc[k])) {
            continue;
        }
        if comps.len() >= tc.len() {
            return Some((tree, Hit::Inside));
        }
        ancestor.get_or_insert((tree.as_str(), Hit::Ancestor));
    }
    ancestor.filter(|_| recursive)
}

/// Whether an argument component (glob pattern, quoted characters escaped) and a component
/// of [`SECRETS`] (plain, or with `*`) can name the same file. Two globs are taken to overlap.
fn may_overlap(arg: &str, secret: &str) -> bool {
    let arg_glob = {
        let mut esc = false;
        arg.chars().any(|c| {
            let live = !esc && matches!(c, '*' | '?' | '[');
            esc = !esc && c == '\\';
            live
        })
    };
    match (arg_glob, secret.contains('*')) {
        (_, false) => glob_match(arg, secret),
        (false, true) => glob_match(secret, &unescape(arg)),
        (true, true) => true,
    }
}

fn unescape(s: &str) -> String {
    let mut out = String::new();
    let mut esc = false;
    for c in s.chars() {
        if c == '\\' && !esc {
            esc = true;
        } else {
            out.push(c);
            esc = false;
        }
    }
    out
}

/// Decodes `%XX` escapes (three rounds, for double encoding) and lowercases.
pub(crate) fn decode_lower(s: &str) -> String {
    let mut cur = s.to_string();
    for _ in 0..3 {
        let b = cur.as_bytes();
        let mut out = Vec::with_capacity(b.len());
        let mut k = 0;
        while k < b.len() {
            if b[k] == b'%' && k + 2 < b.len() {
                let hex = |c: u8| (c as char).to_digit(16);
                if let (Some(h), Some(l)) = (hex(b[k + 1]), hex(b[k + 2])) {
                    out.push((h * 16 + l) as u8);
                    k += 3;
                    continue;
                }
            }
            out.push(b[k]);
            k += 1;
        }
        let next = String::from_utf8_lossy(&out).into_owned();
        if next == cur {
            break;
        }
        cur = next;
    }
    cur.to_lowercase()
}

/// True when `hay` (already decoded and lowercased) names the account `who` (lowercased) as a
/// whole word: `root@pam` in `/access/users/root@pam/token/x` or `--users a@pve,root@pam`.
pub(crate) fn names_account(hay: &str, who: &str) -> bool {
    if who.is_empty() {
        return false;
    }
    let word = |c: char| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-');
    let mut from = 0;
    while let Some(k) = hay[from..].find(who) {
        let start = from + k;
        let end = start + who.len();
        let before_ok = hay[..start].chars().next_back().is_none_or(|c| !word(c));
        let after_ok = hay[end..]
            .chars()
            .next()
            .is_none_or(|c| !c.is_ascii_alphanumeric());
        if before_ok && after_ok {
            return true;
        }
        from = start + 1;
    }
    false
}
