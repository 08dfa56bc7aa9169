//! The `ssh` executor: the OpenSSH client's command line, and its own failures (exit 255 with a
//! host key, authentication or connection message) turned into errors that say how to fix them.

use std::ffi::OsString;
use std::path::Path;

/// Put before every remote command: the remote login shell starts in the user's home.
const START_IN_ROOT: &str = "cd / || exit 125\n";

use super::ExecError;
use crate::config::SshConfig;

/// The OpenSSH client's exit status for its own failures (and for a remote command that exited
/// 255 or died of a signal, which [`Target::diagnose`] leaves alone).
pub(super) const CLIENT_FAILURE: i32 = 255;

/// The address for `node`: its `hosts` entry, else the node name itself.
pub(super) fn host_for<'a>(cfg: &'a SshConfig, node: &'a str) -> &'a str {
    cfg.hosts.get(node).map_or(node, String::as_str)
}

/// A missing `ssh` binary is a setup problem the operator fixes, like the connection errors.
pub(super) fn spawn_error(e: ExecError) -> ExecError {
    match e {
        ExecError::Spawn { source, .. } if source.kind() == std::io::ErrorKind::NotFound => {
            ExecError::Ssh(
                "the OpenSSH client `ssh` is not installed on the machine proxmox-mcp runs on \
                 (looked in /usr/sbin:/usr/bin:/sbin:/bin): install it with \
                 `apt-get install openssh-client`"
                    .into(),
            )
        }
        e => e,
    }
}

/// One node reached over SSH.
pub(super) struct Target<'a> {
    cfg: &'a SshConfig,
    node: &'a str,
    host: &'a str,
}

impl<'a> Target<'a> {
    /// Checks what ssh would otherwise report less clearly: the address and the key file.
    pub(super) fn new(cfg: &'a SshConfig, node: &'a str) -> Result<Self, ExecError> {
        let host = host_for(cfg, node);
        if host.is_empty() || host.starts_with('-') || host.contains(char::is_whitespace) {
            return Err(ExecError::Ssh(format!(
                "invalid ssh address {host:?} for node {node:?}: set a host name or IP address in \
                 `[cluster.exec.hosts]`"
            )));
        }
        if let Some(key) = &cfg.key
            && !key.exists()
        {
            return Err(ExecError::Ssh(format!(
                "the ssh private key {} (`ssh_key` in `[cluster.exec]`) does not exist: create one with \
                 `ssh-keygen -t ed25519 -N '' -f {}` and add its .pub to \
                 ~{}/.ssh/authorized_keys on every node",
                key.display(),
                key.display(),
                cfg.user
            )));
        }
        Ok(Target { cfg, node, host })
    }

    /// The remote home directory of `user` (what `~` and `cd` mean there).
    pub(super) fn remote_home(user: &str) -> String {
        if user == "root" {
            "/root".into()
        } else {
            format!("/home/{user}")
        }
    }

    /// `ssh` arguments that run `command` non-interactively with strict host key checking. The
    /// command is one argument after `--`: ssh sends it as is, the remote login shell parses it.
    pub(super) fn args(&self, command: &str) -> Vec<OsString> {
        let cfg = self.cfg;
        let mut a: Vec<OsString> = Vec::new();
        let mut push = |s: &str| a.push(s.into());
        for s in [
            "-T",
            "-o",
            "BatchMode=yes",
            "-o",
            "StrictHostKeyChecking=yes",
        ] {
            push(s);
        }
        if let Some(kh) = &cfg.known_hosts {
            push("-o");
            push(&format!(
                "UserKnownHostsFile={}",
                option_value(&ssh_path(kh))
            ));
        }
        let connect =
            cfg.connect_timeout.as_secs() + u64::from(cfg.connect_timeout.subsec_nanos() > 0);
        push("-o");
        push(&format!("ConnectTimeout={}", connect.max(1)));
        if let Some(key) = &cfg.key {
            for s in ["-o", "IdentitiesOnly=yes", "-i", &ssh_path(key)] {
                push(s);
            }
        }
        let port = cfg.port.to_string();
        for s in [
            "-p",
            &port,
            "-l",
            &cfg.user,
            "-o",
            "LogLevel=ERROR",
            self.host,
            "--",
        ] {
            push(s);
        }
        // Every command starts in `/`, as local ones do: the classifier resolves relative
        // paths against the directory the command really runs in.
        push(&format!("{START_IN_ROOT}{command}"));
        a
    }

    /// An actionable message when ssh itself failed (the command never ran); `None` for an exit
    /// 255 that came from the remote command.
    pub(super) fn diagnose(&self, stderr: &str) -> Option<String> {
        let failure = classify(stderr)?;
        let detail = stderr
            .lines()
            .map(str::trim)
            .rfind(|l| !l.is_empty())
            .unwrap_or("no message");
        Some(self.message(failure, detail))
    }

    fn message(&self, failure: Failure, detail: &str) -> String {
        let Target { cfg, node, host } = *self;
        let (user, port) = (&cfg.user, cfg.port);
        // How known_hosts names the host: `host` on port 22, else `[host]:port`.
        let entry = if port == 22 {
            host.to_string()
        } else {
            format!("[{host}]:{port}")
        };
        let (known_hosts, file, pve_hint) = match &cfg.known_hosts {
            Some(p) => (p.display().to_string(), p.display().to_string(), ""),
            None => (
                "the known_hosts files of the user proxmox-mcp runs as (~/.ssh/known_hosts, \
                 /etc/ssh/ssh_known_hosts)"
                    .to_string(),
                "~/.ssh/known_hosts".to_string(),
                " Alternatively point `ssh_known_hosts` in `[cluster.exec]` at a file that has it (on a \
                 PVE node, /etc/pve/priv/known_hosts lists the cluster's node keys).",
            ),
        };
        let key = match &cfg.key {
            Some(k) => k.display().to_string(),
            None => "your key (~/.ssh/id_ed25519 of the user proxmox-mcp runs as)".to_string(),
        };
        match failure {
            Failure::UnknownHostKey => format!(
                "ssh to node {node} refused: the host key of {entry} is not in {known_hosts}, and \
                 host keys are checked strictly. Verify the node's key fingerprint out of band \
                 (on the node: `ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub`), then add it \
                 with `ssh-keyscan -p {port} {host} >> {file}` and compare the fingerprint of \
                 what was added (`ssh-keygen -lF '{entry}' -f {file}`).{pve_hint} ({detail})"
            ),
            Failure::ChangedHostKey => format!(
                "ssh to node {node} refused: the host key {entry} presented does NOT match the \
                 one in {known_hosts}. Either the node was reinstalled or its keys regenerated, \
                 or someone is intercepting the connection. Verify the new fingerprint out of \
                 band, then replace the entry: `ssh-keygen -R '{entry}' -f {file}` followed by \
                 `ssh-keyscan -p {port} {host} >> {file}`. ({detail})"
            ),
            Failure::KeyPermissions => format!(
                "ssh refused to use the private key {key} because other users can read it: run \
                 `chmod 600 {key}`. ({detail})"
            ),
            Failure::KeyUnusable => format!(
                "ssh cannot load the private key {key}: it must be a readable OpenSSH private \
                 key without a passphrase (no agent is used and nothing can prompt). ({detail})"
            ),
            Failure::Auth => format!(
                "ssh to node {node} as {user}@{host} (port {port}) failed: the node refused our key. Add the \
                 public key of {key} to ~{user}/.ssh/authorized_keys on the node (on a PVE \
                 cluster, /etc/pve/priv/authorized_keys for root), or set `ssh_user`/`ssh_key` in \
                 `[cluster.exec]`; the key must not need a passphrase. ({detail})"
            ),
            Failure::Resolve => format!(
                "ssh cannot resolve {host:?}, the address of node {node}: set its IP address \
                 with `[cluster.exec.hosts] {node} = \"ADDRESS\"`. ({detail})"
            ),
            Failure::Connect => format!(
                "ssh cannot connect to {host} port {port} for node {node}: check the address \
                 (`[cluster.exec.hosts]`) and `ssh_port`, that the node is up with sshd \
                 running, and that no firewall is in the way. Nothing ran; retrying is safe. \
                 ({detail})"
            ),
            Failure::Handshake => format!(
                "the SSH handshake with {host} port {port} (node {node}) failed: check that an \
                 SSH server listens there and accepts connections from this machine (sshd's \
                 MaxStartups, AllowUsers, tcp wrappers). Nothing ran; retrying is safe. \
                 ({detail})"
            ),
        }
    }
}

/// What went wrong before the remote command could start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Failure {
    UnknownHostKey,
    ChangedHostKey,
    KeyPermissions,
    KeyUnusable,
    Auth,
    Resolve,
    Connect,
    Handshake,
}

/// Recognises the OpenSSH client's own error messages in `stderr`. Order matters: a changed
/// host key also prints "Host key verification failed", a refused key file also "Permission
/// denied".
fn classify(stderr: &str) -> Option<Failure> {
    let has = |s: &str| stderr.contains(s);
    Some(
        if has("REMOTE HOST IDENTIFICATION HAS CHANGED")
            || has("has changed and you have requested strict checking")
        {
            Failure::ChangedHostKey
        } else if has("host key is known for") || has("Host key verification failed") {
            Failure::UnknownHostKey
        } else if has("UNPROTECTED PRIVATE KEY FILE") {
            Failure::KeyPermissions
        } else if has("Load key \"") || has("not accessible: ") {
            Failure::KeyUnusable
        } else if has("Permission denied (") || has("Too many authentication failures") {
            Failure::Auth
        } else if has("ssh: Could not resolve hostname") {
            Failure::Resolve
        } else if has("ssh: connect to host") {
            Failure::Connect
        } else if has("kex_exchange_identification")
            || has("banner exchange")
            || has("Unable to negotiate with")
            || (has("Connection closed by ") && !has("closed by remote host"))
            || has("Connection reset by ")
        {
            Failure::Handshake
        } else {
            return None;
        },
    )
}

/// A path as ssh's `%` token expansion reads it back unchanged.
fn ssh_path(p: &Path) -> String {
    p.display().to_string().replace('%', "%%")
}

/// An `-o` value as ssh's config tokenizer reads it back: quoted when it has spaces or quotes.
fn option_value(v: &str) -> String {
    if v.contains(|c: char| c.is_whitespace() || matches!(c, '"' | '\'' | '\\')) {
        format!("\"{}\"", v.replace('\\', r"\\").replace('"', "\\\""))
    } else {
        v.to_string()
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::path::PathBuf;
    use std::time::Duration;

    use super::*;

    fn cfg() -> SshConfig {
        SshConfig {
            user: "root".into(),
            port: 2222,
            key: Some(PathBuf::from("/etc/passwd")), // exists, that is all `new` checks
            known_hosts: Some(PathBuf::from("/var/lib/proxmox mcp/known_hosts")),
            hosts: BTreeMap::from([("pve1".to_string(), "127.0.0.1".to_string())]),
            connect_timeout: Duration::from_millis(2500),
        }
    }

    #[test]
    fn args_are_strict_and_end_with_the_command() {
        let cfg = cfg();
        let args = Target::new(&cfg, "pve1").unwrap().args("echo hi; exit 3");
        let args: Vec<&str> = args.iter().map(|a| a.to_str().unwrap()).collect();
        assert_eq!(
            args,
            [
                "-T",
                "-o",
                "BatchMode=yes",
                "-o",
                "StrictHostKeyChecking=yes",
                "-o",
                "UserKnownHostsFile=\"/var/lib/proxmox mcp/known_hosts\"",
                "-o",
                "ConnectTimeout=3",
                "-o",
                "IdentitiesOnly=yes",
                "-i",
                "/etc/passwd",
                "-p",
                "2222",
                "-l",
                "root",
                "-o",
                "LogLevel=ERROR",
                "127.0.0.1",
                "--",
                "cd / || exit 125\necho hi; exit 3",
            ]
        );
    }

    #[test]
    fn defaults_leave_key_and_known_hosts_to_ssh() {
        let cfg = SshConfig::default();
        let args = Target::new(&cfg, "pve2").unwrap().args("true");
        let args: Vec<String> = args.iter().map(|a| a.to_string_lossy().into()).collect();
        assert!(!args.iter().any(|a| a == "-i" || a.contains("KnownHosts")));
        assert!(args.ends_with(&["pve2".into(), "--".into(), "cd / || exit 125\ntrue".into()]));
        assert!(args.contains(&"ConnectTimeout=10".into()));
    }

    #[test]
    fn bad_hosts_and_missing_keys_are_refused_before_ssh_runs() {
        let mut cfg = cfg();
        cfg.hosts.insert("evil".into(), "-oProxyCommand=sh".into());
        for node in ["evil", "", "a b"] {
            let e = Target::new(&cfg, node).err().expect(node);
            assert!(e.to_string().contains("invalid ssh address"), "{e}");
        }
        cfg.key = Some(PathBuf::from("/nonexistent/id_ed25519"));
        let e = Target::new(&cfg, "pve1").err().unwrap().to_string();
        assert!(
            e.contains("does not exist") && e.contains("ssh-keygen"),
            "{e}"
        );
    }

    #[test]
    fn quoting_and_percent_escapes() {
        assert_eq!(option_value("/a/b"), "/a/b");
        assert_eq!(option_value(r#"/a b/"c"\d"#), r#""/a b/\"c\"\\d""#);
        assert_eq!(ssh_path(Path::new("/keys/%u")), "/keys/%%u");
    }

    #[test]
    fn classifies_openssh_client_failures() {
        let check = |stderr: &str, want: Option<Failure>| {
            assert_eq!(classify(stderr), want, "{stderr}");
        };
        check(
            "No ED25519 host key is known for [127.0.0.1]:2222 and you have requested strict \
             checking.\r\nHost key verification failed.\r\n",
            Some(Failure::UnknownHostKey),
        );
        check(
            "@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@\r\n\
             @    WARNING: REMOTE HOST IDENTIFICATION HAS CHANGED!     @\r\n\
             Host key for [127.0.0.1]:2222 has changed and you have requested strict checking.\r\n\
             Host key verification failed.\r\n",
            Some(Failure::ChangedHostKey),
        );
        check(
            "@         WARNING: UNPROTECTED PRIVATE KEY FILE!          @\r\n\
             Permissions 0644 for '/k' are too open.\r\n\
             root@127.0.0.1: Permission denied (publickey).\r\n",
            Some(Failure::KeyPermissions),
        );
        check(
            "Load key \"/k\": invalid format\r\nroot@h: Permission denied (publickey).\r\n",
            Some(Failure::KeyUnusable),
        );
        check(
            "root@127.0.0.1: Permission denied (publickey).\r\n",
            Some(Failure::Auth),
        );
        check(
            "ssh: Could not resolve hostname pve9: Name or service not known\r\n",
            Some(Failure::Resolve),
        );
        check(
            "ssh: connect to host 127.0.0.1 port 1: Connection refused\r\n",
            Some(Failure::Connect),
        );
        check(
            "kex_exchange_identification: Connection closed by remote host\r\n\
             Connection closed by 127.0.0.1 port 2222\r\n",
            Some(Failure::Handshake),
        );
        // The remote command's own exit 255, or a session that ran and then dropped.
        check("", None);
        check("my script failed\n", None);
        check("Connection to 10.0.0.1 closed by remote host.\r\n", None);
    }

    #[test]
    fn messages_say_how_to_fix() {
        let cfg = cfg();
        let t = Target::new(&cfg, "pve1").unwrap();
        let unknown = t
            .diagnose("No ED25519 host key is known for [127.0.0.1]:2222 and you have requested strict checking.\r\nHost key verification failed.\r\n")
            .unwrap();
        assert!(
            unknown.contains(
                "host key of [127.0.0.1]:2222 is not in /var/lib/proxmox mcp/known_hosts"
            ) && unknown
                .contains("ssh-keyscan -p 2222 127.0.0.1 >> /var/lib/proxmox mcp/known_hosts")
                && unknown.ends_with("(Host key verification failed.)"),
            "{unknown}"
        );
        let auth = t
            .diagnose("root@127.0.0.1: Permission denied (publickey).\r\n")
            .unwrap();
        assert!(auth.contains("~root/.ssh/authorized_keys"), "{auth}");
        assert_eq!(t.diagnose("remote said no\n"), None);
    }
}
