//! Key and certificate inspection as reads: `openssl` (`x509 -noout`, `verify`, digests…) and
//! `ssh-keygen -l`; anything that writes a key or runs a program is not.

use super::{Inner, NONE, Operands, Opts, Parsed, Reader, parse};
use crate::policy::command::walk::Arg;

pub(in crate::policy::command) static READERS: &[Reader] = &[
    Reader {
        names: &["openssl"],
        what: "inspects certificates, keys and TLS servers",
        opts: NONE,
        operands: Operands::Raw(openssl),
    },
    Reader {
        // Fingerprints, known-hosts lookups and certificate listings; anything else
        // generates, converts, signs or rewrites keys.
        names: &["ssh-keygen"],
        what: "shows key fingerprints",
        opts: Opts {
            flags: "lLBv",
            valued: "fEF",
            ..NONE
        },
        operands: Operands::Custom(ssh_keygen),
    },
];

/// `ssh-keygen -l`, `-F`, `-L` or `-B`.
fn ssh_keygen(p: &Parsed, _: &[Arg]) -> Inner {
    if !p.any(&["l", "F", "L", "B"]) {
        return Err("`ssh-keygen` without `-l` generates or changes keys".into());
    }
    if !p.operands.is_empty() {
        return Err("`ssh-keygen -l` takes no operand".into());
    }
    Ok(None)
}

/// `openssl COMMAND [options]`: inspection commands, with options as whole words. No `-out`,
/// `-engine`, `-provider*`, key or password inputs, `-sess_out`, `-keylogfile`, `-msgfile`.
fn openssl(args: &[Arg]) -> Inner {
    const X509: Opts = Opts {
        long: &[
            "noout",
            "text",
            "subject",
            "issuer",
            "dates",
            "enddate",
            "startdate",
            "serial",
            "fingerprint",
            "hash",
            "subject_hash",
            "issuer_hash",
            "subject_hash_old",
            "issuer_hash_old",
            "email",
            "purpose",
            "pubkey",
            "modulus",
            "ocspid",
            "ocsp_uri",
            "alias",
            "checkemail",
            "nocert",
            "sha1",
            "sha256",
            "sha384",
            "sha512",
            "md5",
            "help",
        ],
        long_valued: &[
            "in",
            "inform",
            "ext",
            "nameopt",
            "certopt",
            "checkend",
            "checkhost",
            "checkip",
            "dateopt",
        ],
        words: true,
        ..NONE
    };
    const CRL: Opts = Opts {
        long: &[
            "noout",
            "text",
            "hash",
            "issuer",
            "lastupdate",
            "nextupdate",
            "fingerprint",
            "crlnumber",
            "hash_old",
            "help",
        ],
        long_valued: &["in", "inform", "nameopt", "CAfile", "CApath"],
        words: true,
        ..NONE
    };
    const REQ: Opts = Opts {
        long: &[
            "noout", "text", "verify", "subject", "pubkey", "modulus", "help",
        ],
        long_valued: &["in", "inform", "nameopt", "reqopt"],
        words: true,
        ..NONE
    };
    const VERIFY: Opts = Opts {
        long: &[
            "verbose",
            "show_chain",
            "crl_check",
            "crl_check_all",
            "partial_chain",
            "x509_strict",
            "no-CAfile",
            "no-CApath",
            "help",
        ],
        long_valued: &[
            "CAfile",
            "CApath",
            "untrusted",
            "CRLfile",
            "purpose",
            "verify_hostname",
            "verify_ip",
            "verify_email",
            "attime",
        ],
        words: true,
        ..NONE
    };
    const S_CLIENT: Opts = Opts {
        long: &[
            "showcerts",
            "brief",
            "verify_return_error",
            "status",
            "quiet",
            "prexit",
            "crlf",
            "debug",
            "msg",
            "state",
            "nbio",
            "4",
            "6",
            "tls1",
            "tls1_1",
            "tls1_2",
            "tls1_3",
            "no_tls1_3",
            "ign_eof",
            "no_ign_eof",
            "reconnect",
            "help",
        ],
        long_valued: &[
            "connect",
            "host",
            "port",
            "servername",
            "CAfile",
            "CApath",
            "verify",
            "verify_hostname",
            "alpn",
            "starttls",
            "cipher",
            "ciphersuites",
            "timeout",
        ],
        words: true,
        ..NONE
    };
    const VERSION: Opts = Opts {
        long: &[
            "a", "v", "b", "o", "f", "p", "d", "e", "m", "r", "c", "help",
        ],
        words: true,
        ..NONE
    };
    const CIPHERS: Opts = Opts {
        long: &[
            "v", "V", "s", "tls1", "tls1_1", "tls1_2", "tls1_3", "stdname", "help",
        ],
        long_valued: &["ciphersuites"],
        words: true,
        ..NONE
    };
    const LIST: Opts = Opts {
        long: &[
            "1",
            "verbose",
            "commands",
            "standard-commands",
            "digest-commands",
            "cipher-commands",
            "digest-algorithms",
            "cipher-algorithms",
            "public-key-algorithms",
            "public-key-methods",
            "kdf-algorithms",
            "mac-algorithms",
            "signature-algorithms",
            "key-exchange-algorithms",
            "disabled",
            "providers",
            "help",
        ],
        long_valued: &["options"],
        words: true,
        ..NONE
    };
    const DGST: Opts = Opts {
        long: &["r", "hex", "c", "binary", "list", "help"],
        words: true,
        ..NONE
    };
    let Some((cmd, rest)) = args.split_first() else {
        return Err("`openssl` without a command reads commands from its input".into());
    };
    let (opts, check_in): (&Opts, bool) = match cmd.text.as_str() {
        "x509" => (&X509, false),
        "crl" => (&CRL, false),
        "req" => (&REQ, true),
        "verify" => (&VERIFY, false),
        "s_client" => (&S_CLIENT, false),
        "version" => (&VERSION, false),
        "ciphers" => (&CIPHERS, false),
        "list" => (&LIST, false),
        "dgst" | "sha1" | "sha256" | "sha384" | "sha512" | "md5" => {
            let digests: Vec<Arg> = rest
                .iter()
                .filter(|a| !is_digest(&a.text))
                .cloned()
                .collect();
            parse(&digests, &DGST)?;
            return Ok(None);
        }
        other => return Err(format!("`openssl {other}` is not known to be read-only")),
    };
    let p = parse(rest, opts)?;
    if check_in && !p.has("in") {
        return Err("`openssl req` without `-in` creates a request".into());
    }
    Ok(None)
}

/// A digest option of `openssl dgst`: `-sha256`, `-sha3-512`, `-blake2b512`, `-md5`, `-sm3`.
fn is_digest(t: &str) -> bool {
    let Some(name) = t.strip_prefix('-') else {
        return false;
    };
    ["sha", "md5", "blake2", "sm3", "ripemd", "shake"]
        .iter()
        .any(|p| name.starts_with(p))
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}
