//! Pure masking of what leaves for an LLM: secrets of every shape, and optionally addresses and host names.
//!
//! Always masked (replaced by `****`, the key or kind kept so the text still reads):
//! - PEM private key blocks (an unterminated one to the end of the text), SSH public keys with
//!   their comment, cloud-init user data (`#cloud-config` bodies);
//! - `PVEAPIToken=user!id=SECRET`, PVE tickets (`PVE:user@realm:…`), `Bearer`/`Basic`
//!   credentials and `Authorization` headers, well-known API key shapes (`sk-…`, `ghp_…`,
//!   `AKIA…`, `xox?-…`, JWTs), every UUID (token secrets are UUIDs) and long hex strings;
//! - password hashes (`$1$`, `$5$`, `$6$`, `$y$`, `$2b$`, `$argon2…`);
//! - credentials in URLs (`https://user:pass@host`);
//! - the value of every credential key (`password`, `passwd`, `secret`, `token`, `key`,
//!   `cipassword`, `sshkeys`, `cicustom`, `user-data` …) in `key=value`, `key: value`, JSON
//!   members and `--key value` arguments.
//!
//! With `mask_hosts`: IPv4 and IPv6 addresses become `ip-N` / `ipv6-N`, known host names and
//! fully qualified names `host-N`, the same name always the same alias within one [`Sanitizer`].

use std::collections::BTreeMap;
use std::sync::LazyLock;

use regex::{Captures, Regex};

/// What a secret is replaced with.
pub const MASK: &str = "****";

fn re(s: &str) -> Regex {
    Regex::new(s).expect("valid regex")
}

static PEM_PRIVATE: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"-----BEGIN [A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----[\s\S]*?(?:-----END [A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----|\z)",
    )
});
static CLOUD_CONFIG: LazyLock<Regex> =
    LazyLock::new(|| re(r"#cloud-config[\s\S]*?(?:\n[ \t]*\n|\z)"));
static SSH_PUBLIC: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"((?:ssh-(?:rsa|dss|ed25519)|ecdsa-sha2-nistp\d+|sk-(?:ssh-ed25519|ecdsa-sha2-nistp256)@openssh\.com)(?:\s+|%20))[A-Za-z0-9+/=%]{16,}(?:(?:\s|%20)+[^\s,;\x22']*@[^\s,;\x22']*)?",
    )
});
static PVE_API_TOKEN: LazyLock<Regex> =
    LazyLock::new(|| re(r"(?i)(PVEAPIToken[= ]+[^\s=!]+![^\s=]+[=:])[^\s,;\x22'&]+"));
static PVE_TICKET: LazyLock<Regex> =
    LazyLock::new(|| re(r"PVE(?:VNC)?:[A-Za-z0-9@._-]+:[0-9A-F]{8}::[A-Za-z0-9+/=]+"));
static AUTH_SCHEME: LazyLock<Regex> =
    LazyLock::new(|| re(r"(?i)\b(bearer|basic)(\s+)[A-Za-z0-9\-._~+/]{8,}=*"));
static AUTH_HEADER: LazyLock<Regex> = LazyLock::new(|| {
    re(r"(?i)\b(authorization|cookie|set-cookie)(\x22?\s*[:=]\s*\x22?)[^\r\n\x22]+")
});
static KNOWN_KEYS: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"\b(?:sk-(?:ant-|proj-)?[A-Za-z0-9_\-]{16,}|gh[pousr]_[A-Za-z0-9]{20,}|github_pat_[A-Za-z0-9_]{20,}|AKIA[0-9A-Z]{16}|xox[abprs]-[A-Za-z0-9-]{10,}|glpat-[A-Za-z0-9_\-]{16,}|eyJ[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{8,})",
    )
});
static UUID: LazyLock<Regex> =
    LazyLock::new(|| re(r"(?i)\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b"));
static LONG_HEX: LazyLock<Regex> = LazyLock::new(|| re(r"\b[0-9a-fA-F]{32,}\b"));
static HASH: LazyLock<Regex> =
    LazyLock::new(|| re(r"\$(?:1|2[abxy]?|5|6|y|gy|7|sha1|md5|argon2(?:id|i|d))\$[^\s\x22';:]+"));
static URL_CREDS: LazyLock<Regex> =
    LazyLock::new(|| re(r"(?i)\b([a-z][a-z0-9+.\-]*://)[^/\s:@]+:[^/\s@]+@"));
/// `--password X`, `--cipassword=X`: the flag and what separates it from its value.
static FLAG: LazyLock<Regex> = LazyLock::new(|| re(r"(--?[A-Za-z0-9_\-]+)(=|[ \t]+)"));
/// `key=value`, `"key": "value"`, `key: value`: the key and its separator.
static KEY: LazyLock<Regex> =
    LazyLock::new(|| re(r#"(["']?)([A-Za-z0-9_.\-]+)(["']?)(\s*[=:]\s*)"#));
/// A value after `=` or a flag: one word, or a quoted string.
static VALUE_WORD: LazyLock<Regex> =
    LazyLock::new(|| re(r#"^(?:"(?:[^"\\]|\\.)*"|'[^']*'|[^\s,;&"'}\])]+)"#));
/// A value after `:`: may run over several words (`password: correct horse`).
static VALUE_WORDS: LazyLock<Regex> = LazyLock::new(|| {
    re(r#"^(?:"(?:[^"\\]|\\.)*"|'[^']*'|[^\s,;&"'}\])]+(?:[ \t]+[^\s,;&"'}\])=:]+)*)"#)
});
static IPV4: LazyLock<Regex> = LazyLock::new(|| {
    re(r"\b((?:25[0-5]|2[0-4]\d|1?\d?\d)(?:\.(?:25[0-5]|2[0-4]\d|1?\d?\d)){3})\b")
});
static IPV6: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"(?i)(?:\b(?:[0-9a-f]{1,4}:){7}[0-9a-f]{1,4}\b|(?:\b[0-9a-f]{1,4}:){1,7}:(?:[0-9a-f]{1,4}\b(?::[0-9a-f]{1,4}\b){0,6})?|::(?:[0-9a-f]{1,4}\b(?::[0-9a-f]{1,4}\b){0,6}))",
    )
});
static FQDN: LazyLock<Regex> = LazyLock::new(|| {
    re(r"(?i)\b[a-z0-9](?:[a-z0-9\-]{0,62})(?:\.[a-z0-9](?:[a-z0-9\-]{0,62}))*\.([a-z]{2,24})\b")
});

/// Last labels that make a dotted word a file name, not a host name.
const FILE_SUFFIXES: &[&str] = &[
    "zst", "gz", "lzo", "vma", "tar", "pem", "key", "conf", "cfg", "log", "raw", "qcow2", "img",
    "iso", "json", "txt", "yaml", "yml", "sh", "service", "timer", "list", "sources", "rs", "deb",
    "vmdk", "py", "toml", "socket", "mount", "target", "d", "db", "sqlite", "csr", "crt", "md",
];

/// Whether a key (`password`, `token_secret`, `"cipassword"`, `encryption-key`) names a
/// credential whose value must not leave.
pub fn is_secret_key(key: &str) -> bool {
    let k = key.to_ascii_lowercase();
    let k = k.trim_matches(|c| c == '"' || c == '\'' || c == '-');
    const WHOLE: &[&str] = &[
        "cipassword",
        "sshkeys",
        "cicustom",
        "userdata",
        "user-data",
        "user_data",
        "vendor-data",
        "chpasswd",
        "pass",
        "pwd",
        "psk",
        "apikey",
        "passphrase",
        "credentials",
        "credential",
        "privkey",
        "authkey",
        "x-api-key",
        "ticket",
        "csrfpreventiontoken",
        "keyring",
        "master-pubkey",
    ];
    const ENDINGS: &[&str] = &[
        "password",
        "passwd",
        "secret",
        "token",
        "key",
        "keys",
        "pwd",
        "pass",
        "passphrase",
    ];
    if WHOLE.contains(&k) {
        return true;
    }
    let last = k.rsplit(['_', '-', '.']).next().unwrap_or(k);
    ENDINGS.contains(&last) || k.ends_with("password") || k.ends_with("secret")
}

/// Masks secrets and, on request, hosts. One per LLM request, so aliases stay consistent
/// across the findings and the summary.
#[derive(Debug, Default)]
pub struct Sanitizer {
    mask_hosts: bool,
    /// Known host names (node names), longest first.
    known: Vec<String>,
    /// name or address → alias.
    aliases: BTreeMap<String, String>,
    hosts: usize,
    v4: usize,
    v6: usize,
}

impl Sanitizer {
    /// `hosts`: the node names the text may mention (aliased `host-1`, `host-2` … in this
    /// order when `mask_hosts`).
    pub fn new(mask_hosts: bool, hosts: &[String]) -> Self {
        let mut s = Sanitizer {
            mask_hosts,
            ..Sanitizer::default()
        };
        if mask_hosts {
            for h in hosts {
                let h = h.trim().to_ascii_lowercase();
                if !h.is_empty() && !s.aliases.contains_key(&h) {
                    s.hosts += 1;
                    s.aliases.insert(h.clone(), format!("host-{}", s.hosts));
                    s.known.push(h);
                }
            }
            s.known.sort_by_key(|h| std::cmp::Reverse(h.len()));
        }
        s
    }

    /// `text` with every secret (and host, when asked) masked.
    pub fn text(&mut self, text: &str) -> String {
        let mut out = secrets(text);
        if self.mask_hosts {
            out = self.hosts(&out);
        }
        out
    }

    fn alias(&mut self, key: String, kind: &str) -> String {
        if let Some(a) = self.aliases.get(&key) {
            return a.clone();
        }
        let n = match kind {
            "ip" => {
                self.v4 += 1;
                self.v4
            }
            "ipv6" => {
                self.v6 += 1;
                self.v6
            }
            _ => {
                self.hosts += 1;
                self.hosts
            }
        };
        let a = format!("{kind}-{n}");
        self.aliases.insert(key, a.clone());
        a
    }

    fn hosts(&mut self, text: &str) -> String {
        let mut out = String::with_capacity(text.len());
        let mut last = 0;
        // Addresses first (an FQDN pattern would otherwise eat dotted quads' neighbours).
        let mut spans: Vec<(usize, usize, String, &str)> = Vec::new();
        for m in IPV4.find_iter(text) {
            spans.push((m.start(), m.end(), m.as_str().to_owned(), "ip"));
        }
        for m in IPV6.find_iter(text) {
            // A MAC (six pairs, no `::`) is not an address; times are not either.
            let s = m.as_str();
            if s.matches(':').count() < 2 || (!s.contains("::") && s.split(':').count() != 8) {
                continue;
            }
            spans.push((m.start(), m.end(), s.to_ascii_lowercase(), "ipv6"));
        }
        for c in FQDN.captures_iter(text) {
            let m = c.get(0).expect("match");
            let tld = c[1].to_ascii_lowercase();
            let before = text[..m.start()].chars().next_back();
            if FILE_SUFFIXES.contains(&tld.as_str())
                || before.is_some_and(|b| matches!(b, '_' | '-' | '.' | '$'))
                || m.as_str()
                    .chars()
                    .all(|ch| ch.is_ascii_digit() || ch == '.')
            {
                continue;
            }
            spans.push((m.start(), m.end(), m.as_str().to_ascii_lowercase(), "fqdn"));
        }
        spans.sort_by_key(|s| (s.0, std::cmp::Reverse(s.1)));
        let mut taken_to = 0;
        for (start, end, key, kind) in spans {
            if start < taken_to {
                continue;
            }
            out.push_str(&self.known_names(&text[last..start]));
            let alias = if kind == "fqdn" {
                // `pve1.example.com` is the node `pve1`.
                let first = key.split('.').next().unwrap_or_default().to_owned();
                match self
                    .aliases
                    .get(&first)
                    .filter(|_| self.known.contains(&first))
                {
                    Some(a) => a.clone(),
                    None => self.alias(key, "host"),
                }
            } else {
                self.alias(key, kind)
            };
            out.push_str(&alias);
            last = end;
            taken_to = end;
        }
        out.push_str(&self.known_names(&text[last..]));
        out
    }

    /// Known node names as whole words.
    fn known_names(&self, text: &str) -> String {
        if self.known.is_empty() {
            return text.to_owned();
        }
        let alternation = self
            .known
            .iter()
            .map(|h| regex::escape(h))
            .collect::<Vec<_>>()
            .join("|");
        let names = re(&format!(r"(?i)\b(?:{alternation})\b"));
        names
            .replace_all(text, |c: &Captures<'_>| {
                self.aliases
                    .get(&c[0].to_ascii_lowercase())
                    .cloned()
                    .unwrap_or_else(|| MASK.to_owned())
            })
            .into_owned()
    }
}

/// `text` with every secret shape masked (no host masking).
pub fn secrets(text: &str) -> String {
    let s = PEM_PRIVATE.replace_all(text, "[private key removed]");
    let s = CLOUD_CONFIG.replace_all(&s, "[cloud-init user data removed]\n");
    let s = SSH_PUBLIC.replace_all(&s, |c: &Captures<'_>| format!("{}{MASK}", &c[1]));
    let s = PVE_API_TOKEN.replace_all(&s, |c: &Captures<'_>| format!("{}{MASK}", &c[1]));
    let s = PVE_TICKET.replace_all(&s, MASK);
    let s = AUTH_HEADER.replace_all(&s, |c: &Captures<'_>| format!("{}{}{MASK}", &c[1], &c[2]));
    let s = AUTH_SCHEME.replace_all(&s, |c: &Captures<'_>| format!("{}{}{MASK}", &c[1], &c[2]));
    let s = KNOWN_KEYS.replace_all(&s, MASK);
    let s = HASH.replace_all(&s, MASK);
    let s = URL_CREDS.replace_all(&s, |c: &Captures<'_>| format!("{}{MASK}:{MASK}@", &c[1]));
    let s = mask_values(&s, &FLAG, 1, 2);
    let s = mask_values(&s, &KEY, 2, 4);
    let s = UUID.replace_all(&s, MASK);
    let s = LONG_HEX.replace_all(&s, MASK);
    s.into_owned()
}

/// Masks the value after every match of `key_re` whose group `key` names a credential; the
/// separator group `sep` chooses how far the value runs. A key that names no credential is
/// stepped over alone, so a credential in its value is still found.
fn mask_values(s: &str, key_re: &Regex, key: usize, sep: usize) -> String {
    let mut out = String::with_capacity(s.len());
    let mut pos = 0;
    while let Some(c) = key_re.captures_at(s, pos) {
        let m = c.get(0).expect("match");
        out.push_str(&s[pos..m.end()]);
        pos = m.end();
        if !is_secret_key(&c[key]) {
            continue;
        }
        let rest = &s[pos..];
        let value = if c[sep].contains(':') {
            &VALUE_WORDS
        } else {
            &VALUE_WORD
        };
        let Some(v) = value.find(rest) else { continue };
        let v = v.as_str();
        if v == MASK || v.is_empty() {
            continue;
        }
        match v.chars().next() {
            Some(q @ ('"' | '\'')) => out.extend([q.to_string(), MASK.into(), q.to_string()]),
            _ => out.push_str(MASK),
        }
        pos += v.len();
    }
    out.push_str(&s[pos..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(mask_hosts: bool, hosts: &[&str], input: &str, want: &str) {
        let hosts: Vec<String> = hosts.iter().map(|h| h.to_string()).collect();
        let got = Sanitizer::new(mask_hosts, &hosts).text(input);
        assert_eq!(got, want, "input: {input}");
    }

    #[test]
    fn secrets_are_masked_keys_kept() {
        let table: &[(&str, &str)] = &[
            (
                "nothing to hide: cpu 91 % (warn 70)",
                "nothing to hide: cpu 91 % (warn 70)",
            ),
            ("password=hunter22 user=root", "password=**** user=root"),
            ("cipassword: s3cr3t!", "cipassword: ****"),
            (
                r#"{"password":"x y z","user":"a"}"#,
                r#"{"password":"****","user":"a"}"#,
            ),
            ("token_secret = abc123", "token_secret = ****"),
            (
                "features: nesting=1,keyctl=1",
                "features: nesting=1,keyctl=1",
            ),
            ("keep-daily=7, privsep=0", "keep-daily=7, privsep=0"),
            (
                "--password hunter22 --node pve1",
                "--password **** --node pve1",
            ),
            (
                "Authorization: PVEAPIToken=root@pam!ci=aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee",
                "Authorization: ****",
            ),
            (
                "header PVEAPIToken=root@pam!ci=aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee",
                "header PVEAPIToken=root@pam!ci=****",
            ),
            ("use Bearer abcdefghijkl.mnop", "use Bearer ****"),
            (
                "https://admin:pa55@pbs.lan:8007/",
                "https://****:****@pbs.lan:8007/",
            ),
            ("hash $6$rounds=5000$salt$abcdef/.", "hash ****"),
            ("root:$y$j9T$abc$def:19000:0", "root:****:19000:0"),
            (
                "sshkeys: ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIG me@laptop",
                "sshkeys: ****",
            ),
            (
                "key ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQC7 root@pve1 in authorized_keys",
                "key ssh-rsa **** in authorized_keys",
            ),
            (
                "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n-----END OPENSSH PRIVATE KEY-----\nafter",
                "[private key removed]\nafter",
            ),
            (
                "#cloud-config\nusers:\n  - name: x\n\nnext",
                "[cloud-init user data removed]\nnext",
            ),
            (
                "vmgenid uuid aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee",
                "vmgenid uuid ****",
            ),
            (
                "object token/root@pam!ci privsep 0",
                "object token/root@pam!ci privsep 0",
            ),
            (
                "config: password=abc --node --password xyz",
                "config: password=**** --node --password ****",
            ),
        ];
        for (input, want) in table {
            check(false, &[], input, want);
        }
    }

    #[test]
    fn ordinary_diagnostics_text_is_kept() {
        for text in [
            "net0: virtio=BC:24:11:AA:BB:CC,bridge=vmbr0,firewall=1",
            "scsi0: local-lvm:vm-101-disk-0,iothread=1,size=32G",
            "pvesh set /nodes/pve1/qemu/101/config --agent 1",
            "PUT /nodes/pve1/qemu/101/config agent=1",
            "prune-backups keep-daily=7,keep-weekly=4,keep-monthly=6",
            "cpu: x86-64-v2-AES, ostype: l26, boot: order=scsi0;net0",
            "API token root@pam!ci has privsep 0 and expires in 400 days (warn > 365)",
            "pve-manager/9.1.2/3f2a1b9c running kernel 6.8.12-4-pve, installed 6.8.12-5-pve",
            "certificate pveproxy-ssl.pem expires 2026-01-01 (in 25 days, warn < 30)",
            "features: nesting=1,keyctl=1; unprivileged: 1",
            "user alice@pve has no TFA; role Administrator on /",
            "storage local-zfs usage 91 % (warn ≥ 80, crit ≥ 90)",
            "datacenter firewall: enable 0, policy_in ACCEPT",
            "subscription status: notfound, nextduedate none",
            "ring0_addr 10.0.0.1, ring1_addr 10.1.0.1",
        ] {
            check(false, &["pve1"], text, text);
        }
    }

    #[test]
    fn hosts_and_addresses_when_asked() {
        check(
            true,
            &["pve1", "pve2"],
            "node/pve2 at 192.168.1.12 and pve1.example.com; node/pve1; mac bc:24:11:aa:bb:cc",
            "node/host-2 at ip-1 and host-1; node/host-1; mac bc:24:11:aa:bb:cc",
        );
        check(
            true,
            &[],
            "ring0 fe80::1 ring1 2001:db8::5, again fe80::1, pbs.corp.example ok",
            "ring0 ipv6-1 ring1 ipv6-2, again ipv6-1, host-1 ok",
        );
        check(
            true,
            &["pve1"],
            "vzdump-qemu-101-2026_01_01-00_00_00.vma.zst on storage/pve1/local, kernel 6.8.12-4-pve",
            "vzdump-qemu-101-2026_01_01-00_00_00.vma.zst on storage/host-1/local, kernel 6.8.12-4-pve",
        );
        check(false, &["pve1"], "node/pve1 10.0.0.1", "node/pve1 10.0.0.1");
    }

    #[test]
    fn secret_keys() {
        for k in [
            "password",
            "Token_Secret",
            "\"cipassword\"",
            "encryption-key",
            "--password",
            "x-api-key",
            "ssh_authorized_keys",
        ] {
            assert!(is_secret_key(k), "{k}");
        }
        for k in [
            "keyctl",
            "keep-daily",
            "privsep",
            "tokenid",
            "max_tokens",
            "node",
            "monkey2",
        ] {
            assert!(!is_secret_key(k), "{k}");
        }
    }

    /// The seeded corpus: (secret, text with the secret in it).
    fn corpus() -> Vec<(String, String)> {
        include_str!("secret-corpus.txt")
            .lines()
            .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
            .map(|l| {
                let (secret, context) = l.split_once('\t').expect("secret TAB context");
                let context = context.replace("\\n", "\n").replace("{}", secret);
                (secret.to_owned(), context)
            })
            .collect()
    }

    #[test]
    fn no_corpus_secret_survives() {
        let corpus = corpus();
        assert!(corpus.len() >= 30, "{} entries", corpus.len());
        let all: String = corpus.iter().map(|(_, c)| format!("{c}\n")).collect();
        for mask_hosts in [false, true] {
            for (secret, context) in &corpus {
                assert!(context.contains(secret.as_str()), "{context}");
                let got = Sanitizer::new(mask_hosts, &["pve1".into()]).text(context);
                assert!(
                    !got.contains(secret.as_str()),
                    "{secret} survived in {got:?}"
                );
            }
            // All at once, as they reach a backend in one prompt.
            let got = Sanitizer::new(mask_hosts, &[]).text(&all);
            for (secret, _) in &corpus {
                assert!(
                    !got.contains(secret.as_str()),
                    "{secret} survived in the joined corpus"
                );
            }
        }
    }
}
