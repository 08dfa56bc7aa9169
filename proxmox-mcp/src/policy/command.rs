//! Shell-command classification: a command is `Read` only when that is proven, part by part.
//! Pure: no IO, no async; linear in the input.
//!
//! The proof, in order:
//! 1. `syntax` parses the line as bash does. What it cannot parse is unresolved.
//! 2. The walker expands every word it can know: quotes, escapes, `$'…'`, braces, `~`, globs
//!    (which must not be able to turn into options). Anything else — parameters, arithmetic,
//!    command and process substitution, builtins that evaluate or rebind (`eval`, `let`,
//!    `declare`, `alias`, `hash`, …), function definitions, assignments that change what runs
//!    — leaves the command **unresolved**: at least [`Class::Exec`], so a human confirms it
//!    (read-only mode refuses it), and `reach` refuses it outright when its text names
//!    anything root protection guards.
//! 3. Each simple command is `Read` only when `readonly` proves it: a program known to only
//!    read, with every option known to only read (deny by default). Programs that run other
//!    programs (`wrappers`) are at least `Exec`, and what they run is classified too.
//! 4. Everything else gets its class from `effects` (what the command does, by program and
//!    options; unknown programs are `Exec`), and `protect` checks what it writes, reads and
//!    names against root protection, the server's own files ([`ServerFiles`]) and secrets.
//!
//! The most dangerous part decides [`Analysis::class`]; a non-empty [`Analysis::protected`]
//! means the command must be refused whatever the mode.

mod braces;
mod builtins;
mod effects;
pub(crate) mod paths;
mod protect;
mod reach;
mod readonly;
mod server;
mod syntax;
mod vmids;
mod walk;
mod wrappers;

use serde::Serialize;

pub use server::ServerFiles;

use super::Class;

/// Commands longer than this are refused unparsed.
pub const MAX_COMMAND_LEN: usize = 64 * 1024;

/// The result of analysing one shell command line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Analysis {
    /// The most dangerous part decides; unresolved means at least Exec.
    pub class: Class,
    /// One per simple command found, after looking through wrappers.
    pub parts: Vec<Part>,
    /// Root-protection hits: non-empty means refuse, whatever the mode.
    pub protected: Vec<Protected>,
    /// Why the command could not be parsed (then it is unresolved as a whole).
    pub parse_error: Option<String>,
    /// Why the command cannot be resolved before it runs; empty when every word is known.
    pub unresolved: Vec<String>,
    /// It may destroy data: a destructive part, or a part that could do anything.
    pub may_destroy: bool,
    /// A destructive guest command whose guests are only known at run time.
    pub guests_unknown: bool,
}

/// One simple command with its own class.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Part {
    pub argv: Vec<String>,
    pub class: Class,
    /// One line: what it does (and through which wrapper).
    pub explanation: String,
    /// Whether its effect can be undone.
    pub reversible: bool,
}

/// Something no mode, configuration or confirmation may touch.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(tag = "kind", content = "target", rename_all = "snake_case")]
pub enum Protected {
    /// `root@pam` (or the Unix `root` account behind it), in any spelling.
    RootAccount(String),
    /// Removing a node from the cluster (any node: it cannot be undone without reinstalling it).
    NodeRemoval(String),
    /// Changing the server's own user, token or ACLs.
    OwnIdentity(String),
    /// Writing `/etc/pve/priv`, `/root/.ssh`, `/etc/shadow`, `/etc/sudoers*` and friends.
    ProtectedPath(String),
    /// Reading a secret: `/etc/pve/priv/*`, private keys, `/etc/shadow`, process memory and
    /// environments, the server's own secrets.
    SecretRead(String),
    /// Changing the server's own state, configuration or binaries, or running the server.
    ServerState(String),
    /// A command that cannot be resolved before it runs names something protected.
    Unresolved(String),
}

impl std::fmt::Display for Protected {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Protected::RootAccount(s) => write!(f, "changes the root account ({s})"),
            Protected::NodeRemoval(s) => write!(
                f,
                "removes the node {s} from the cluster, which cannot be undone without \
                 reinstalling it"
            ),
            Protected::OwnIdentity(s) => {
                write!(f, "changes this server's own user, token or ACL ({s})")
            }
            Protected::ProtectedPath(s) => write!(f, "writes the protected path {s}"),
            Protected::SecretRead(s) => write!(
                f,
                "reads the secret {s}, and secrets must never reach the assistant"
            ),
            Protected::ServerState(s) => write!(
                f,
                "touches this server's own state, configuration or programs ({s}), which no \
                 tool call may change"
            ),
            Protected::Unresolved(s) => write!(
                f,
                "command cannot be checked before it runs ({s}). Send the plain command: \
                 every program and argument written out literally, without expansions, \
                 substitutions, eval, wrappers or inline code"
            ),
        }
    }
}

/// Who we are and where commands run, for root protection and path resolution.
#[derive(Debug, Clone, Copy)]
pub struct Context<'a> {
    /// The node commands run on.
    pub own_node: Option<&'a str>,
    /// The server's own Proxmox user, e.g. `mcp@pve`.
    pub own_user: Option<&'a str>,
    /// The server's own API token, e.g. `mcp@pve!mcp`.
    pub own_token: Option<&'a str>,
    /// The working directory commands start in, as the executor sets it.
    pub cwd: &'a str,
    /// `HOME` of the commands (and what `~` means), as the executor sets it.
    pub home: &'a str,
    /// The server's own files and programs.
    pub server: &'a ServerFiles,
}

impl<'a> Context<'a> {
    /// No identity, commands starting in `/` with `HOME=/root` (what the executors set up).
    pub fn new(server: &'a ServerFiles) -> Self {
        Context {
            own_node: None,
            own_user: None,
            own_token: None,
            cwd: "/",
            home: "/root",
            server,
        }
    }

    /// Commands run by `user` with `token` on `node`, starting in `/` with `HOME=/root`.
    pub fn for_identity(
        server: &'a ServerFiles,
        node: &'a str,
        user: &'a str,
        token: &'a str,
    ) -> Self {
        Context {
            own_node: Some(node),
            own_user: Some(user),
            own_token: Some(token),
            ..Context::new(server)
        }
    }
}

/// Analyses a shell command line.
pub fn analyze(command: &str, ctx: &Context) -> Analysis {
    if command.len() > MAX_COMMAND_LEN {
        let why = format!(
            "the command is {} bytes long; the limit is {MAX_COMMAND_LEN}",
            command.len()
        );
        return Analysis {
            class: Class::Exec,
            parts: Vec::new(),
            protected: vec![Protected::Unresolved(why.clone())],
            parse_error: Some(why.clone()),
            unresolved: vec![why],
            may_destroy: true,
            guests_unknown: true,
        };
    }
    let mut walker = walk::Walker::new(ctx);
    let parse_error = if command.contains('\0') {
        Some("the command contains a NUL byte".to_string())
    } else {
        match syntax::parse(command) {
            Ok(script) => {
                walker.walk(&script, &walk::Stdin::Null);
                None
            }
            Err(e) => Some(e),
        }
    };
    if let Some(e) = &parse_error {
        walker.unresolve(format!("it cannot be parsed: {e}"));
    }
    walker.finish(command)
}

/// The context unit tests classify in: node pve1, user mcp@pve, token mcp@pve!mcp, the
/// standard server files, commands starting in `/` with `HOME=/root`.
#[cfg(test)]
pub(crate) fn test_context() -> Context<'static> {
    static SERVER: std::sync::LazyLock<ServerFiles> =
        std::sync::LazyLock::new(ServerFiles::standard);
    Context::for_identity(&SERVER, "pve1", "mcp@pve", "mcp@pve!mcp")
}

#[cfg(test)]
mod tests {
    use super::*;
    use Class::{Destructive as D, Exec as X, Lifecycle as L, Modify as M, Read as R};

    /// `protected`: whether a Protected hit is expected.
    fn check(cases: &[(&str, Class, bool)]) {
        let ctx = test_context();
        let mut bad = Vec::new();
        for &(cmd, class, protected) in cases {
            let a = analyze(cmd, &ctx);
            if a.class != class || a.protected.is_empty() == protected {
                bad.push(format!(
                    "{cmd:?}: got {} {:?} {:?} unresolved {:?}, want {class} protected={protected}",
                    a.class, a.protected, a.parts, a.unresolved
                ));
            }
        }
        assert!(bad.is_empty(), "{}", bad.join("\n"));
    }

    #[test]
    fn quoting_and_escapes() {
        check(&[
            ("\"q\"m destroy 100", D, false),
            ("q''m list", R, false),
            ("\\rm -rf /tmp/x", D, false),
            ("$'\\x72\\x6d' -rf /tmp/x", D, false),
            ("$'\\161m' list", R, false),
            ("echo 'a; rm -rf /'", R, false),
            ("echo \"$(rm -rf /tmp/x)\"", X, false),
            ("echo `qm start 100`", X, false),
            ("echo 'unterminated", X, false),
        ]);
    }

    #[test]
    fn operators_and_grouping() {
        check(&[
            ("qm list | grep running && qm start 100", L, false),
            ("(cd /tmp; ls) || { echo failed; exit 1; }", R, false),
            ("ls; reboot", D, false),
            ("for i in 1 2; do qm config $i; done", X, false),
            ("for i in 1 2; do echo hi; done", R, false),
            ("f(){ rm -rf /tmp/x; }; f", X, false),
            ("ls &", R, false),
            ("ls )", X, false),
            ("case x in a) ls;; *) qm start 100;; esac", L, false),
        ]);
    }

    #[test]
    fn redirections_and_heredocs() {
        check(&[
            ("ls > /tmp/out 2>&1", M, false),
            ("> /var/log/syslog", D, false),
            ("echo x >> /root/.ssh/authorized_keys", M, true),
            ("echo x > ~root/.ssh/authorized_keys", M, true),
            ("cd /etc && echo x > shadow", M, true),
            ("cd /nowhere; echo x > etc/shadow", M, true),
            ("bash <<EOF\nqm destroy 100\nEOF", X, false),
            ("cat <<'EOF' | sh\nqm list\nEOF", X, false),
            ("bash <<< 'qm start 100'", X, false),
            (
                "cat > /etc/sudoers.d/x <<EOF\nx ALL=(ALL) ALL\nEOF",
                M,
                true,
            ),
            ("echo x > $TARGET", X, false),
            ("cat <<EOF\n$(id)\nEOF", X, false),
            ("dd if=/dev/zero of=/dev/sda bs=1M", D, false),
            ("echo x > /dev/tcp/127.0.0.1/80", X, false),
            ("echo '* * * * * root id' > /etc/cron.d/x", X, false),
            ("cd /srv && cat etc/shadow", R, false),
            ("cd /etc && cat shadow", R, true),
            ("cd /srv && ls; cat etc/shadow", R, true),
            ("cd /srv || cat etc/shadow", R, true),
            ("(cd /srv) && cat etc/shadow", R, true),
            ("cd /srv && cd etc && cat shadow", R, false),
            (
                "echo '* * * * * root pveum user delete root@pam' > /etc/cron.d/x",
                X,
                true,
            ),
            (
                "tee /etc/cron.d/x <<EOF\n* * * * * root passwd -d root\nEOF",
                X,
                true,
            ),
            ("cp /tmp/unit /etc/systemd/system/x.service", X, false),
        ]);
    }

    #[test]
    fn wrappers_are_never_reads() {
        check(&[
            ("sudo -u root -- qm destroy 100", X, false),
            ("sudo qm list", X, false),
            ("timeout 5 cat /etc/hostname", X, false),
            ("nice -n 10 ls", X, false),
            ("nohup bash -c 'qm list'", X, false),
            ("xargs -0 rm", X, false),
            ("ssh -p 22 root@pve2 'qm start 100'", X, false),
            ("X=rm; $X -rf /tmp/x", X, false),
            ("PATH=/tmp:$PATH ls", X, false),
            ("alias x=rm; x -rf /tmp/x", X, false),
            ("eval qm list", X, false),
            ("watch -n 5 qm list", X, false),
            ("pct exec 101 -- rm -rf /tmp/x", D, false),
            ("find / -name '*.tmp' -exec rm {} \\;", X, false),
            ("LANG=C ls", R, false),
        ]);
    }

    #[test]
    fn protection_variants() {
        check(&[
            // A lock-out, as the API request `PUT /access/users/{id}` it makes.
            ("pveum user modify root@pam --enable 0", D, true),
            ("pveum user modify ROOT@PAM --enable 0", D, true),
            ("pvesh set /access/users/root%40pam -enable 0", D, true),
            ("pveum user modify rootx@pam --enable 0", D, false),
            (
                "pveum acl modify / --users mcp@pve --roles Administrator",
                D,
                true,
            ),
            ("pvecm delnode PVE1", D, true),
            ("pvecm delnode pve2", D, true),
            ("pvesh delete //cluster/config/nodes/pve3/", D, true),
            ("tee -a /etc/./shadow", M, true),
            ("cp x /etc/../etc/sudoers", X, true),
            ("cp x /etc/sudo?rs.d/", M, true),
            ("cp x /etc/sudo'?'ers", M, false),
            ("rm -rf /root", D, true),
            ("rm /root/notes.txt", D, false),
            ("passwd", M, true),
            ("echo 'root:x' | chpasswd", M, true),
            ("usermod -L root", M, true),
        ]);
    }

    /// The attack chains the command-execution issue found, and indirect spellings of
    /// root-protected operations: all refused.
    #[test]
    fn attack_chains_are_refused() {
        let ctx = test_context();
        for cmd in [
            "let 'x[$(proxmox-mcp approve ABCDEFGHJK)]=1'",
            "x='$(proxmox-mcp mode normal)'; echo ${x@P}",
            "sed -i s/pending/approved/ /var/lib/proxmox-mcp/approvals/ABCDEFGHJK.json",
            "rm -f /var/lib/proxmox-mcp/audit/*.jsonl &",
            "tr '\\0' '\\n' < /proc/$PPID/environ",
            "tr '\\0' '\\n' < /proc/1/environ",
            "cat etc/shadow",
            "echo 'x ALL=(ALL) NOPASSWD: ALL' > etc/sudoers",
            "pveum user delete \"$(printf 'root@%s' pam)\"",
            "sh -c 'pveum user delete \"$0\"' root@pam",
            "python3 -c 'import os; os.system(\"pveum user delete root@pam\")'",
            "echo root@pam | xargs pveum user delete",
            "hash -p /usr/bin/pveum ls; ls user modify root@pam",
            "proxmox-mcp mode normal",
            "/usr/bin/proxmox-mcp approve ABCDEFGHJK",
            "cat /var/lib/proxmox-mcp/request-state.key",
            "ln -s /usr/bin/proxmox-mcp /tmp/x",
            "cat /proc/self/root/etc/shadow",
        ] {
            let a = analyze(cmd, &ctx);
            assert!(!a.protected.is_empty(), "{cmd:?} not refused: {a:?}");
        }
    }

    #[test]
    fn bad_input() {
        let ctx = test_context();
        let long = "a".repeat(MAX_COMMAND_LEN + 1);
        assert!(analyze(&long, &ctx).parse_error.is_some());
        let nul = analyze("ls\0rm", &ctx);
        assert_eq!((nul.class, nul.parse_error.is_some()), (X, true));
        assert_eq!(analyze("", &ctx).class, R);
        let a = analyze("sudo qm destroy 100", &ctx);
        let inner = a
            .parts
            .iter()
            .find(|p| p.explanation.contains("via sudo"))
            .unwrap();
        assert_eq!(inner.class, D);
        assert!(!inner.reversible);
        assert!(a.may_destroy);
    }

    #[test]
    fn globs_are_linear() {
        let ctx = test_context();
        let started = std::time::Instant::now();
        for cmd in [
            format!("ls {}x", "*".repeat(5000)),
            format!("cat /etc/{}", "*a".repeat(4000)),
            format!("echo x > /etc/{}x", "[".repeat(8000)),
            format!("$X {}", "/*?".repeat(5000)),
        ] {
            let _ = analyze(&cmd, &ctx);
        }
        // Generous even for an unoptimised build on a loaded machine; exponential matching
        // would take hours.
        assert!(started.elapsed() < std::time::Duration::from_secs(20));
    }
}
