//! Root protection of one command: what it writes (protected trees, the server's own files),
//! what it reads (secrets), which accounts and nodes it names, and which guests it acts on.
//! Also applies an effects verdict: inner commands, escalation when targets are computed at run
//! time.
//!
//! Writes are checked in `protect/writes.rs`, reads of secrets in `protect/secrets.rs`.

mod secrets;
mod writes;

use secrets::COPIERS;

use super::Protected;
use super::effects::{ApiCall, GUEST_FLAGS, Verdict, creates_token, operands};
use super::paths::{self};
use super::walk::{Arg, Stdin, Walker, escape_glob};
use crate::policy::Class::{Destructive, Exec, Modify, Read};

/// Programs that act on guests: a destructive one whose guest is only known at run time
/// could hit a protected guest.
const GUEST_TOOLS: &[&str] = &[
    "qm",
    "pct",
    "pvesh",
    "qmrestore",
    "pct-restore",
    "vzdump",
    "ha-manager",
    "pvesm",
];

impl Walker<'_> {
    /// Applies an effects verdict to a command that is not a proven read (`why_not` says why).
    pub(super) fn apply(
        &mut self,
        prog: &str,
        argv: &[Arg],
        mut verdict: Verdict,
        stdin: &Stdin,
        why_not: &str,
    ) {
        let args = &argv[1..];
        if let Some(call) = verdict.api.take() {
            self.api_request(&call);
        }
        if verdict.guarded {
            self.may_destroy = true;
        }
        for r in std::mem::take(&mut verdict.inner) {
            let inner: Vec<Arg> = args[r]
                .iter()
                .map(|a| {
                    if a.text.contains("{}") {
                        Arg::placeholder(&a.text)
                    } else {
                        a.clone()
                    }
                })
                .collect();
            self.inner(prog, &inner, &Stdin::Unknown);
        }
        // What the program is known to change decides which protections apply; a program the
        // knowledge base calls harmless still needs a human when the proof did not hold.
        let mutating = verdict.class >= Modify;
        let original = verdict.class;
        if verdict.class == Read {
            verdict.class = Exec;
            verdict.explanation = format!("{why_not}, so it is not a proven read");
        }
        if verdict.opaque {
            self.opaque(argv, stdin);
        }
        let mut class = verdict.class;
        let mut notes = Vec::new();
        if mutating && matches!(class, Modify | Destructive) && args.iter().any(|a| a.dynamic) {
            class = class.max(Destructive);
            notes.push(
                "an argument is computed at run time, so its target cannot be checked".to_string(),
            );
        }
        if mutating
            && class >= Destructive
            && GUEST_TOOLS.contains(&prog)
            && guests_unresolved(prog, args)
        {
            self.guests_unknown = true;
        }
        self.secret_commands(prog, args);
        if mutating && let Some(dests) = self.extraction_targets(prog, args) {
            for dest in dests {
                // Any file of the archive may land anywhere below the destination.
                self.check_write(&dest, &escape_glob(&dest), true);
                if super::effects::holds_persistence(&dest) {
                    class = class.max(Exec);
                    notes.push(format!(
                        "extracts into {dest}, where files that run later (cron, units, profiles) live"
                    ));
                }
            }
        }
        // Stopping or restarting the server's own service counts too, not only changing it.
        self.server_units(prog, args, original > Read);
        let remount = args
            .iter()
            .any(|a| a.text.split([',', '=']).any(|o| o == "remount"))
            && !args.iter().any(|a| {
                matches!(
                    a.text.as_str(),
                    "--bind" | "--rbind" | "-B" | "--move" | "-M"
                )
            });
        if matches!(prog, "mount" | "umount") && original > Read && !remount {
            // A mount point hides (or bares) everything below it: a tmpfs over /etc/pve, or
            // its unmounting, would let the files root protection guards be replaced.
            for a in args.iter().filter(|a| !a.text.starts_with('-')) {
                if let Some(all) = self.absolute(&a.text) {
                    for p in all.into_iter().filter(|p| p.starts_with('/')) {
                        self.check_write(&p, &escape_glob(&p), true);
                    }
                }
            }
        }
        if prog == "ln" && original > Read {
            self.link_targets(args);
        }
        self.guest_binds(prog, args);
        // Copiers read their sources: a secret source is reported as read, not as written.
        let sources_first = COPIERS.contains(&prog);
        if sources_first {
            self.check_secrets(prog, args);
        }
        if verdict.writes && mutating {
            for a in args {
                self.check_path(prog, a, verdict.recursive, &mut class, &mut notes);
            }
            if class == Exec && verdict.class < Exec {
                // It installs code that runs later: scan what it writes like code we cannot read.
                self.opaque(argv, stdin);
            }
        }
        if verdict.accounts && mutating {
            for a in args {
                let hay = paths::decode_lower(&a.text);
                if paths::names_account(&hay, "root@pam") {
                    self.protect(Protected::RootAccount(a.text.clone()));
                }
                for own in [self.ctx.own_user, self.ctx.own_token]
                    .into_iter()
                    .flatten()
                {
                    if paths::names_account(&hay, &own.to_lowercase()) {
                        self.protect(Protected::OwnIdentity(a.text.clone()));
                    }
                }
            }
        }
        if verdict.unix_user && mutating && unix_root(prog, args) {
            self.protect(Protected::RootAccount("root".into()));
        }
        if verdict.node && mutating {
            self.check_node(prog, args);
        }
        if !sources_first {
            self.check_secrets(prog, args);
        }
        match prog {
            "chpasswd" | "newusers" => match stdin {
                Stdin::Text(t) | Stdin::Pipe(Some(t))
                    if t.lines()
                        .any(|l| l.trim().to_lowercase().starts_with("root:")) =>
                {
                    self.protect(Protected::RootAccount("root".into()))
                }
                Stdin::Text(_) | Stdin::Pipe(Some(_)) => {}
                _ => self.protect(Protected::RootAccount(
                    "root (passwords read from input that cannot be checked)".into(),
                )),
            },
            "visudo" if mutating => self.protect(Protected::ProtectedPath("/etc/sudoers".into())),
            "vipw" | "vigr" => self.protect(Protected::ProtectedPath("/etc/passwd".into())),
            "ssh-copy-id" => {
                let target = args.iter().rev().find(|a| !a.text.starts_with('-'));
                if target.is_none_or(|t| {
                    !t.text.contains('@') || t.text.to_lowercase().starts_with("root@")
                }) {
                    self.protect(Protected::ProtectedPath(
                        "/root/.ssh/authorized_keys (on the remote node)".into(),
                    ));
                }
            }
            _ => {}
        }
        let mut explanation = verdict.explanation;
        for n in notes {
            explanation.push_str("; ");
            explanation.push_str(&n);
        }
        self.push(argv, class, &explanation);
        if let Some(last) = self.parts.last_mut() {
            last.reversible = verdict.reversible && class < Destructive;
        }
    }

    /// A host directory bind-mounted into a guest (`pct set 101 --mp0 /,mp=/host`): the guest
    /// then reads and writes it, so a tree holding secrets or protected files is refused.
    fn guest_binds(&mut self, prog: &str, args: &[Arg]) {
        if !matches!(prog, "pct" | "qm" | "pvesh") {
            return;
        }
        let texts: Vec<&str> = args.iter().map(|a| a.text.as_str()).collect();
        for (k, t) in texts.iter().enumerate() {
            let key = t.trim_start_matches('-').to_ascii_lowercase();
            let name = key.split('=').next().unwrap_or_default();
            // Options in any case; `--root` is Getopt's abbreviation of `--rootfs`.
            let mount_key =
                key.starts_with("mp") || (name.len() >= 2 && "rootfs".starts_with(name));
            if !t.starts_with('-') || !mount_key {
                continue;
            }
            let value = match t.trim_start_matches('-').split_once('=') {
                Some((_, v)) => v.to_string(),
                None => texts.get(k + 1).map(|v| v.to_string()).unwrap_or_default(),
            };
            // PVE takes the default key's value (`volume`, `file`) from any item without
            // `=`, wherever it stands: `mp=/mnt/host,/` binds `/`.
            for host in bind_sources(&value) {
                self.check_secret_path(&Arg::literal(&host), true);
                if let Some(all) = self.absolute(&host) {
                    for p in all {
                        self.check_write(&p, &escape_glob(&p), true);
                    }
                }
            }
        }
    }

    /// Root protection of the API request a command makes (`pvesh`, `pveum`, …), as the API
    /// route checks it: root@pam, our own identity, groups and roles (ours are not known to a
    /// command, so a grant to any group or an edit of any role is refused), node removal,
    /// sign-in lockouts, the calls of a batch; and a new API token, whose secret the command
    /// would print to the assistant.
    fn api_request(&mut self, call: &ApiCall) {
        let id = crate::policy::protect::Identity {
            own_node: self.ctx.own_node.map(str::to_string),
            own_user: self.ctx.own_user.map(str::to_string),
            own_token: self.ctx.own_token.map(str::to_string),
            own_groups: None,
            own_roles: None,
        };
        let mut calls = vec![(
            call.method.to_string(),
            call.path.clone(),
            call.params.clone(),
        )];
        match crate::policy::api::bulk_commands(call.method, &call.path, &call.params) {
            Some(Some(inner)) => calls.extend(inner),
            Some(None) => self.protect(Protected::Unresolved(
                "its `commands` cannot be read, so the API calls it runs cannot be checked".into(),
            )),
            None => {}
        }
        for (method, path, params) in calls {
            let hits = crate::policy::protect::api_protection(&method, &path, &params, &id)
                .into_iter()
                .chain(crate::policy::api::auth_lockout(&method, &path, &params));
            for hit in hits {
                self.protect(hit);
            }
            if creates_token(&method, &path) {
                self.protect(Protected::SecretRead(format!(
                    "of the new API token ({method} {path}), which the command prints; create \
                     tokens with the user_management tool's token_create, which writes the \
                     secret to a file for the operator"
                )));
            }
        }
    }

    /// Changing the server's own service units (`systemctl edit proxmox-mcp`).
    fn server_units(&mut self, prog: &str, args: &[Arg], mutating: bool) {
        if !mutating
            || !matches!(
                prog,
                "systemctl" | "service" | "update-rc.d" | "deb-systemd-helper"
            )
        {
            return;
        }
        let server = self.ctx.server;
        if let Some(unit) = args.iter().find(|a| {
            let name = a.text.rsplit('/').next().unwrap_or(&a.text);
            let base = name.split(['.', '@']).next().unwrap_or(name);
            server.is_program(base) || a.dynamic || a.glob && name.contains("mcp")
        }) {
            self.protect(Protected::ServerState(format!(
                "the service unit `{}`",
                unit.text
            )));
        }
    }

    /// Removing a node from the cluster, whichever node: it cannot be undone.
    fn check_node(&mut self, prog: &str, args: &[Arg]) {
        let positional: Vec<&Arg> = args.iter().filter(|a| !a.text.starts_with('-')).collect();
        match prog {
            "pvecm" if positional.first().is_some_and(|a| a.text == "delnode") => {
                let node = positional
                    .get(1)
                    .map_or_else(|| "(unnamed)".to_string(), |a| a.text.clone());
                self.protect(Protected::NodeRemoval(node));
            }
            "pvesh" => {
                let Some(path) = positional.get(1) else {
                    return;
                };
                let verb = positional.first().map(|a| a.text.as_str()).unwrap_or("");
                let p = paths::normalize(&paths::decode_lower(&path.text), Some("/"))
                    .unwrap_or_default();
                let p = p
                    .strip_prefix("/api2/json")
                    .or_else(|| p.strip_prefix("/api2/extjs"))
                    .unwrap_or(&p)
                    .to_string();
                if verb == "delete"
                    && let Some(node) = p.strip_prefix("/cluster/config/nodes/")
                    && !node.is_empty()
                {
                    self.protect(Protected::NodeRemoval(node.to_string()));
                }
            }
            _ => {}
        }
    }
}

/// Whether an account command acts on the Unix root account: its account operand (the last
/// one; any for `gpasswd`), the current user (root) for `passwd` alone, or a second uid 0.
fn unix_root(prog: &str, args: &[Arg]) -> bool {
    let is_root = |a: &Arg| a.dynamic || a.text.eq_ignore_ascii_case("root");
    let texts: Vec<&str> = args.iter().map(|a| a.text.as_str()).collect();
    // A second uid 0 (`-u 0`, `-ou0`, `--non-unique`) is another root.
    let bundle = |t: &str| t.starts_with('-') && !t.starts_with("--");
    let uid0 = texts.windows(2).any(|w| {
        (w[0] == "--uid" || (bundle(w[0]) && w[0].ends_with('u')))
            && w[1].trim_start_matches('0').is_empty()
    }) || texts.iter().any(|t| {
        let digits = t.len() - t.trim_end_matches('0').len();
        *t == "--uid=0"
            || *t == "--non-unique"
            || (bundle(t) && matches!(prog, "useradd" | "usermod") && t[1..].contains('o'))
            || (bundle(t) && digits > 0 && t.trim_end_matches('0').ends_with('u'))
    });
    // Membership of a group that is root in all but name.
    const ROOT_GROUPS: &[&str] = &[
        "root", "sudo", "wheel", "adm", "admin", "disk", "shadow", "staff", "lxd", "docker",
    ];
    let grants = matches!(
        prog,
        "usermod" | "useradd" | "adduser" | "gpasswd" | "groupmod"
    ) && texts
        .iter()
        .flat_map(|t| t.split(','))
        .any(|g| ROOT_GROUPS.contains(&g))
        && (prog != "gpasswd"
            || texts
                .iter()
                .any(|t| matches!(*t, "-a" | "-M" | "--add" | "--members")));
    let operands: Vec<&Arg> = args.iter().filter(|a| !a.text.starts_with('-')).collect();
    match prog {
        _ if uid0 || grants => true,
        "gpasswd" => args.iter().any(is_root),
        "passwd" if operands.is_empty() => true,
        _ => operands.last().is_some_and(|a| is_root(a)),
    }
}

/// Whether a destructive guest command's guests are only known at run time: the vmid of
/// `qm`/`pct` (the operand after the subcommand), or any argument of the other guest tools.
fn guests_unresolved(prog: &str, args: &[Arg]) -> bool {
    if args.iter().any(|a| a.dynamic || a.glob) {
        return true;
    }
    match prog {
        // Options and operands come in any order (`qm stop --timeout 10 101`): without a
        // literal vmid among the operands, the guest is not known.
        "qm" | "pct" => {
            let texts: Vec<String> = args.iter().map(|a| a.text.clone()).collect();
            !operands(&texts, GUEST_FLAGS)
                .iter()
                .skip(1)
                .any(|o| super::vmids::vmid(o).is_some())
        }
        _ => false,
    }
}

/// The host paths a mount point or disk value binds: every comma-separated item without `=`
/// (PVE's default key, wherever it stands) and every `volume=`/`file=` value, when absolute.
fn bind_sources(value: &str) -> Vec<String> {
    value
        .split(',')
        .map(|i| i.trim().trim_matches(['"', '\'', '`']).trim())
        .filter_map(|i| match i.split_once('=') {
            None => Some(i),
            Some((k, v))
                if k.trim().eq_ignore_ascii_case("volume")
                    || k.trim().eq_ignore_ascii_case("file") =>
            {
                Some(v.trim())
            }
            Some(_) => None,
        })
        .filter(|h| h.starts_with('/'))
        .map(str::to_string)
        .collect()
}

/// Why writing a guest's config file directly is Destructive.
pub(super) const GUEST_CONFIG_NOTE: &str =
    "edits a guest's configuration file directly, which can lift its protection";

#[cfg(test)]
mod tests {
    use super::super::{Protected, analyze, test_context};

    /// Secret reads are refused; naming, listing and public keys are not.
    #[test]
    fn secrets() {
        let secret = |cmd: &str| {
            analyze(cmd, &test_context())
                .protected
                .iter()
                .any(|p| matches!(p, Protected::SecretRead(_)))
        };
        for cmd in [
            "cat /etc/pve/priv/token.cfg",
            "cat /root/.ssh/id_rsa",
            "cat < /etc/shadow",
            "grep -r x /etc",
            "python3 -c 'open(\"/etc/shadow\")'",
            "cd /etc/pve/priv; cat *",
            "cat /etc/$F",
            "find / -name id_rsa -exec base64 {} +",
            "tar -c /etc/pve",
        ] {
            assert!(secret(cmd), "{cmd}");
        }
        for cmd in [
            "cat /root/.ssh/id_rsa.pub",
            "ls -la /etc/pve/priv",
            "grep x /etc",
            "find / -name '*.tmp' -exec rm {} +",
            "tar czf /root/etc.tgz /etc",
            "cat /etc/pve/storage.cfg",
            "echo /etc/shadow",
            "cat $F",
            "cd $DIR && cat shadow",
        ] {
            assert!(!secret(cmd), "{cmd}");
        }
        // A write hit comes first, so the refusal says "writes".
        let a = analyze("sed -i s/a/b/ /etc/shadow", &test_context());
        assert!(
            matches!(a.protected[0], Protected::ProtectedPath(_)),
            "{a:?}"
        );
    }
}
