//! Shell-command classification: parse a command line, look through wrappers, classify every
//! simple command and find root-protection hits. Pure: no IO, no async.
//!
//! The most dangerous part decides the [`Analysis::class`]; anything that cannot be parsed or
//! inspected (computed command names, encoded payloads piped into a shell) is Destructive, and a
//! non-empty [`Analysis::protected`] means the command must be refused whatever the mode.
//!
//! Protected paths come in two lists. Writing `/etc/pve/priv`, `/etc/pve/user.cfg`,
//! `/root/.ssh`, `/etc/passwd`, `/etc/shadow`, `/etc/sudoers*` is refused. Reading is refused
//! only for secrets, which must never reach the assistant: `/etc/pve/priv`, TLS and SSH private
//! keys, `/etc/shadow`, the cluster database, corosync and Ceph keys. A secret named as an
//! argument, inside inline code, in an input redirection, or under the directory a recursive
//! reader (`grep -r`, `rg`, `find -exec`, `tar -c` to standard output) walks counts; programs
//! that only show names or metadata (`ls`, `stat`, `test`, `du`) may name them. Copies made
//! through a parent directory (`cp -a /etc /tmp/x`) and file names fed through pipes
//! (`find /etc/pve/priv | xargs cat`) are not followed.

mod classify;
mod knowledge;
mod lex;
mod parse;
mod paths;
mod pve;
mod targets;
mod tools;
mod vmids;
mod wrappers;

use serde::Serialize;

use super::Class;

/// Commands longer than this are refused unparsed.
pub const MAX_COMMAND_LEN: usize = 64 * 1024;

/// The result of analysing one shell command line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Analysis {
    /// The most dangerous part decides; unparseable means Destructive.
    pub class: Class,
    /// One per simple command found, after looking through wrappers.
    pub parts: Vec<Part>,
    /// Root-protection hits: non-empty means refuse, whatever the mode.
    pub protected: Vec<Protected>,
    /// Why the command could not be parsed (then `class` is Destructive).
    pub parse_error: Option<String>,
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
    /// Removing the node we run against from the cluster.
    OwnNode(String),
    /// Changing the server's own user, token or ACLs.
    OwnIdentity(String),
    /// Writing `/etc/pve/priv`, `/root/.ssh`, `/etc/shadow`, `/etc/sudoers*` and friends.
    ProtectedPath(String),
    /// Reading a secret: `/etc/pve/priv/*`, private keys, `/etc/shadow` and friends.
    SecretRead(String),
}

impl std::fmt::Display for Protected {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Protected::RootAccount(s) => write!(f, "changes the root account ({s})"),
            Protected::OwnNode(s) => {
                write!(f, "removes this server's own node ({s}) from the cluster")
            }
            Protected::OwnIdentity(s) => {
                write!(f, "changes this server's own user, token or ACL ({s})")
            }
            Protected::ProtectedPath(s) => write!(f, "writes the protected path {s}"),
            Protected::SecretRead(s) => write!(
                f,
                "reads the secret {s}, and secrets must never reach the assistant"
            ),
        }
    }
}

/// Who we are, for root protection.
#[derive(Debug, Clone, Copy, Default)]
pub struct Context<'a> {
    /// The node commands run on (`pvecm delnode` of it is refused).
    pub own_node: Option<&'a str>,
    /// The server's own Proxmox user, e.g. `mcp@pve`.
    pub own_user: Option<&'a str>,
    /// The server's own API token, e.g. `mcp@pve!mcp`.
    pub own_token: Option<&'a str>,
}

/// Analyses a shell command line.
pub fn analyze(command: &str, ctx: &Context) -> Analysis {
    let refuse = |why: String| Analysis {
        class: Class::Destructive,
        parts: Vec::new(),
        protected: Vec::new(),
        parse_error: Some(why),
    };
    if command.len() > MAX_COMMAND_LEN {
        return refuse(format!(
            "the command is {} bytes long; the limit is {MAX_COMMAND_LEN}",
            command.len()
        ));
    }
    if command.contains('\0') {
        return refuse("the command contains a NUL byte".into());
    }
    let script = match parse::parse(command) {
        Ok(s) => s,
        Err(e) => return refuse(e),
    };
    let mut walker = classify::Walker::new(ctx);
    walker.walk(&script, &classify::Stdin::Terminal);
    let class = walker
        .parts
        .iter()
        .map(|p| p.class)
        .max()
        .unwrap_or(Class::Read);
    Analysis {
        class,
        parts: walker.parts,
        protected: walker.protected,
        parse_error: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Class::{Destructive as D, Exec as X, Lifecycle as L, Modify as M, Read as R};

    const CTX: Context = Context {
        own_node: Some("pve1"),
        own_user: Some("mcp@pve"),
        own_token: Some("mcp@pve!mcp"),
    };

    /// `protected`: whether a Protected hit is expected.
    fn check(cases: &[(&str, Class, bool)]) {
        let mut bad = Vec::new();
        for &(cmd, class, protected) in cases {
            let a = analyze(cmd, &CTX);
            if a.class != class || a.protected.is_empty() == protected {
                bad.push(format!(
                    "{cmd:?}: got {} {:?} {:?}, want {class} protected={protected}",
                    a.class, a.protected, a.parts
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
            ("echo \"$(rm -rf /tmp/x)\"", D, false),
            ("echo `qm start 100`", L, false),
            ("echo 'unterminated", D, false),
        ]);
    }

    #[test]
    fn operators_and_grouping() {
        check(&[
            ("qm list | grep running && qm start 100", L, false),
            ("(cd /tmp; ls) || { echo failed; exit 1; }", R, false),
            ("ls; reboot", D, false),
            ("if qm status 100; then qm stop 100; fi", L, false),
            ("for i in 1 2; do qm config $i; done", R, false),
            ("f(){ rm -rf /tmp/x; }; f", D, false),
            ("function g { qm list; }; g", R, false),
            ("ls &", R, false),
            ("ls )", D, false),
        ]);
    }

    #[test]
    fn redirections_and_heredocs() {
        check(&[
            ("ls > /tmp/out 2>&1", M, false),
            ("dmesg 2>/dev/null | tail", R, false),
            ("> /var/log/syslog", D, false),
            ("echo x >> /root/.ssh/authorized_keys", M, true),
            ("echo x > ~root/.ssh/authorized_keys", M, true),
            ("cd /etc && echo x > shadow", M, true),
            ("bash <<EOF\nqm destroy 100\nEOF", D, false),
            ("cat <<'EOF' | sh\nqm list\nEOF", R, false),
            ("bash <<< 'qm start 100'", L, false),
            (
                "cat > /etc/sudoers.d/x <<EOF\nx ALL=(ALL) ALL\nEOF",
                M,
                true,
            ),
            ("echo x > $TARGET", D, false),
            ("dd if=/dev/zero of=/dev/sda bs=1M", D, false),
        ]);
    }

    #[test]
    fn wrappers_and_variables() {
        check(&[
            ("sudo -u root -- qm destroy 100", D, false),
            (
                "env -i FOO=1 nice -n 10 ionice -c3 timeout -s KILL 60 qm list",
                R,
                false,
            ),
            ("xargs -0 rm", D, false),
            ("ssh -p 22 root@pve2 'qm start 100'", L, false),
            ("X=rm; $X -rf /tmp/x", D, false),
            ("X=qm; $X list", R, false),
            ("PATH=/tmp:$PATH ls", X, false),
            ("alias x=rm; x -rf /tmp/x", D, false),
            ("alias ll='ls -la'; ll /", R, false),
            ("eval qm list", R, false),
            ("watch -n 5 qm list", R, false),
            ("pct exec 101 -- rm -rf /tmp/x", D, false),
            ("find / -name '*.tmp' -exec rm {} \\;", D, false),
            ("nohup bash -c 'qm list'", R, false),
        ]);
    }

    #[test]
    fn protection_variants() {
        check(&[
            ("pveum user modify root@pam --enable 0", M, true),
            ("pveum user modify ROOT@PAM --enable 0", M, true),
            ("pvesh set /access/users/root%40pam -enable 0", M, true),
            ("pveum user modify rootx@pam --enable 0", M, false),
            (
                "pveum acl modify / --users mcp@pve --roles Administrator",
                M,
                true,
            ),
            ("pvecm delnode PVE1", D, true),
            ("pvecm delnode pve2", D, false),
            ("pvesh delete //cluster/config/nodes/pve1/", D, true),
            ("tee -a /etc/./shadow", M, true),
            ("cp x /etc/../etc/sudoers", M, true),
            ("cp x /etc/sudo?rs.d/", M, true),
            ("cp x /etc/sudo'?'ers", M, false),
            ("rm -rf /root", D, true),
            ("rm /root/notes.txt", D, false),
            ("passwd", M, true),
            ("echo 'root:x' | chpasswd", M, true),
            ("usermod -L root", M, true),
        ]);
    }

    #[test]
    fn bad_input() {
        let long = "a".repeat(MAX_COMMAND_LEN + 1);
        assert!(analyze(&long, &CTX).parse_error.is_some());
        let nul = analyze("ls\0rm", &CTX);
        assert_eq!((nul.class, nul.parse_error.is_some()), (D, true));
        assert_eq!(analyze("", &CTX).class, R);
        let a = analyze("sudo qm destroy 100", &CTX);
        assert_eq!(a.parts.len(), 1);
        assert!(a.parts[0].explanation.contains("via sudo"), "{:?}", a.parts);
        assert!(!a.parts[0].reversible);
    }
}
