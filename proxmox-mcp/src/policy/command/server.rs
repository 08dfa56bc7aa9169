//! The server's own files and programs: its state (mode, approvals, the request-state key, the
//! audit log, spent confirmations), its configuration and secret files, its binaries and service
//! units. No command may write or delete them, read the secrets among them, or run the server
//! itself: a model that could would approve its own requests, switch the mode, or erase the log.

/// Where the server keeps what must stay out of a command's reach. Paths are absolute and may
/// hold `*` globs; a path covers the tree under it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerFiles {
    /// Trees no command may write, delete, move or link: state, configuration, binaries, units.
    pub guarded: Vec<String>,
    /// Files and trees whose contents are secrets: no command may read them either.
    pub secrets: Vec<String>,
    /// Program names (and absolute paths) that are this server; running one is refused.
    pub programs: Vec<String>,
}

/// Install locations of every packaging (the .deb, the container, `install.sh`, `cargo install`).
const GUARDED: &[&str] = &[
    "/var/lib/proxmox-mcp",
    "/etc/proxmox-mcp",
    "/opt/proxmox-mcp",
    "/usr/bin/proxmox-mcp",
    "/usr/sbin/proxmox-mcp",
    "/usr/local/bin/proxmox-mcp",
    "/usr/bin/mcp-http-bridge",
    "/usr/local/bin/mcp-http-bridge",
    "/root/.cargo/bin/proxmox-mcp",
    "/root/.config/proxmox-mcp",
    "/root/.local/state/proxmox-mcp",
    "/root/.local/share/proxmox-mcp",
    "/etc/systemd/system/proxmox-mcp*",
    "/etc/systemd/system/mcp-http-bridge*",
    "/lib/systemd/system/proxmox-mcp*",
    "/lib/systemd/system/mcp-http-bridge*",
    "/usr/lib/systemd/system/proxmox-mcp*",
    "/usr/lib/systemd/system/mcp-http-bridge*",
    "/etc/default/proxmox-mcp",
    "/etc/logrotate.d/proxmox-mcp",
];

/// Secret files at the standard locations: the configuration tree (it may hold inline secrets
/// and secret files), the sealing key, the bridge's secrets, and the programs themselves (a
/// copy would run as the server without being it).
const SECRETS: &[&str] = &[
    "/etc/proxmox-mcp",
    "/root/.config/proxmox-mcp",
    "/var/lib/proxmox-mcp/request-state.key",
    "/var/lib/proxmox-mcp/*.key",
    "/var/lib/proxmox-mcp/*secret*",
    "/var/lib/proxmox-mcp/bridge",
    "/var/lib/proxmox-mcp/backups",
    "/usr/bin/proxmox-mcp",
    "/usr/sbin/proxmox-mcp",
    "/usr/local/bin/proxmox-mcp",
    "/usr/bin/mcp-http-bridge",
    "/usr/local/bin/mcp-http-bridge",
    "/root/.cargo/bin/proxmox-mcp",
];

/// The server's programs, by name.
const PROGRAMS: &[&str] = &["proxmox-mcp", "mcp-http-bridge"];

impl Default for ServerFiles {
    fn default() -> Self {
        Self::standard()
    }
}

impl ServerFiles {
    /// The standard install locations only.
    pub fn standard() -> Self {
        let own = |v: &[&str]| v.iter().map(|s| s.to_string()).collect();
        let mut files = ServerFiles {
            guarded: own(GUARDED),
            secrets: own(SECRETS),
            programs: own(PROGRAMS),
        };
        let binaries = GUARDED.iter().filter(|p| {
            !p.contains('*') && p.rsplit('/').next().is_some_and(|n| PROGRAMS.contains(&n))
        });
        for bin in binaries {
            files.beside(bin);
        }
        files
    }

    /// What an update keeps or stages beside the binary at `path`: `<bin>.new` (staged),
    /// `<bin>.previous` (the binary `rollback` restores, and whatever an older version kept
    /// as `.previous.config` and `.previous.json`) and `.<name>.download`. All are guarded;
    /// all are secret too (copies of the binary, and of a config with inline secrets).
    fn beside(&mut self, path: &str) {
        let Some((dir, name)) = path.rsplit_once('/').filter(|(_, n)| !n.is_empty()) else {
            return;
        };
        for file in [
            format!("{path}.new"),
            format!("{path}.previous*"),
            format!("{dir}/.{name}.download"),
        ] {
            Self::push(&mut self.guarded, &file);
            Self::push(&mut self.secrets, &file);
        }
    }

    fn push(list: &mut Vec<String>, path: &str) {
        let path = super::paths::normalize(path, Some("/")).unwrap_or_default();
        if path != "/" && !list.contains(&path) {
            list.push(path);
        }
    }

    /// The state directory in use: guarded as a whole; its sealing key and any secret inside
    /// are secrets.
    pub fn with_state_dir(mut self, dir: &str) -> Self {
        Self::push(&mut self.guarded, dir);
        // `backups`: copies of the configuration file, which may hold inline secrets.
        // `rollback`: the config copy an update keeps, and the record of what it replaced.
        for secret in [
            "request-state.key",
            "*.key",
            "*secret*",
            "bridge",
            "backups",
            "rollback",
        ] {
            Self::push(&mut self.secrets, &format!("{dir}/{secret}"));
        }
        self
    }

    /// The configuration file in use: guarded and secret (it may hold inline secrets), with
    /// its directory when that directory is the server's own (its name says so).
    pub fn with_config_file(mut self, file: &str) -> Self {
        Self::push(&mut self.guarded, file);
        Self::push(&mut self.secrets, file);
        if let Some((dir, _)) = file.rsplit_once('/')
            && dir
                .rsplit('/')
                .next()
                .is_some_and(|d| d.contains("proxmox-mcp"))
        {
            Self::push(&mut self.guarded, dir);
            Self::push(&mut self.secrets, dir);
        }
        self
    }

    /// A file holding a credential (token secret, password, SSH key): guarded and secret.
    pub fn with_secret_file(mut self, file: &str) -> Self {
        Self::push(&mut self.guarded, file);
        Self::push(&mut self.secrets, file);
        self
    }

    /// The running binary: guarded, kept from readers and copiers (a copy would run as the
    /// server without being it), and running it from a command is refused.
    pub fn with_program(mut self, path: &str) -> Self {
        Self::push(&mut self.guarded, path);
        Self::push(&mut self.secrets, path);
        Self::push(&mut self.programs, path);
        self.beside(path);
        if let Some(name) = path.rsplit('/').next().filter(|n| !n.is_empty()) {
            let name = name.to_string();
            if !self.programs.contains(&name) {
                self.programs.push(name);
            }
        }
        self
    }

    /// True when `prog` (a name or an absolute path, normalised) is the server itself: also
    /// its staged (`<bin>.new`) and kept (`<bin>.previous`) copies and a download of it.
    pub fn is_program(&self, prog: &str) -> bool {
        let (dir, base) = prog.rsplit_once('/').unwrap_or(("", prog));
        let stripped = [".new", ".previous"]
            .iter()
            .find_map(|s| base.strip_suffix(s))
            .or_else(|| base.strip_prefix('.')?.strip_suffix(".download"))
            .filter(|b| !b.is_empty());
        let names = std::iter::once(base.to_string()).chain(stripped.map(str::to_string));
        names.into_iter().any(|name| {
            let full = if prog.contains('/') {
                format!("{dir}/{name}")
            } else {
                name.clone()
            };
            self.programs
                .iter()
                .any(|p| *p == full || (!p.contains('/') && *p == name))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn built_from_the_running_configuration() {
        let s = ServerFiles::standard()
            .with_state_dir("/tmp/t/state/")
            .with_config_file("/home/a/.config/proxmox-mcp/config.toml")
            .with_config_file("/etc/pmcp.toml")
            .with_secret_file("/etc/pmcp/home.secret")
            .with_program("/opt/bin/pmcp-server");
        assert!(s.guarded.contains(&"/tmp/t/state".to_string()));
        assert!(
            s.secrets
                .contains(&"/tmp/t/state/request-state.key".to_string())
        );
        assert!(s.secrets.contains(&"/tmp/t/state/backups".to_string()));
        assert!(
            s.guarded
                .contains(&"/home/a/.config/proxmox-mcp".to_string())
        );
        assert!(s.guarded.contains(&"/etc/pmcp.toml".to_string()));
        assert!(!s.guarded.contains(&"/etc".to_string()), "{:?}", s.guarded);
        assert!(s.secrets.contains(&"/etc/pmcp/home.secret".to_string()));
        assert!(s.is_program("pmcp-server"));
        assert!(s.is_program("/usr/local/bin/proxmox-mcp"));
        assert!(s.is_program("/opt/bin/pmcp-server"));
        assert!(!s.is_program("pvesh"));
        assert!(s.is_program("/opt/bin/pmcp-server.previous"));
        assert!(s.is_program("/opt/bin/pmcp-server.new"));
        assert!(s.is_program("./proxmox-mcp.previous"));
        assert!(s.is_program("/tmp/.proxmox-mcp.download"));
        assert!(!s.is_program("/opt/bin/.new"));
        assert!(!s.is_program("pvesh.previous"));
        assert!(
            s.guarded
                .contains(&"/opt/bin/pmcp-server.previous*".to_string())
        );
        assert!(
            s.secrets
                .contains(&"/opt/bin/pmcp-server.previous*".to_string())
        );
        assert!(
            s.guarded
                .contains(&"/opt/bin/.pmcp-server.download".to_string())
        );
        assert!(s.secrets.contains(&"/tmp/t/state/rollback".to_string()));
    }

    /// Files an update keeps or stages beside the binary (a `cargo install` in
    /// `~/.cargo/bin`, a git checkout's `target/release/`): no command may write them, read
    /// the config copy, or run them.
    #[test]
    fn files_beside_the_binary_are_the_servers() {
        use crate::policy::command::{Context, analyze};
        let bin = "/home/op/src/proxmox-mcp/target/release/proxmox-mcp";
        let s = ServerFiles::standard()
            .with_state_dir("/home/op/.local/state/proxmox-mcp")
            .with_program(bin);
        let ctx = Context::new(&s);
        let refused = |cmd: String| {
            let a = analyze(&cmd, &ctx);
            assert!(!a.protected.is_empty(), "{cmd:?} allowed: {a:?}");
        };
        for b in [
            bin,
            "/root/.cargo/bin/proxmox-mcp",
            "/usr/local/bin/proxmox-mcp",
        ] {
            let dir = b.rsplit_once('/').unwrap().0;
            refused(format!("cat {b}.previous.config"));
            refused(format!("cp x {b}.previous"));
            refused(format!("echo '{{}}' > {b}.previous.json"));
            refused(format!("cp /tmp/k {b}.previous.config"));
            refused(format!("cp /tmp/evil {b}.new"));
            refused(format!(
                "ln -sf /root/.ssh/authorized_keys {dir}/.proxmox-mcp.download"
            ));
            refused(format!("{b}.previous approve ABCDEFGHJK"));
            refused(format!("{b}.new mode normal"));
        }
        refused("cat /home/op/.local/state/proxmox-mcp/rollback/previous.config".into());
        let a = analyze(&format!("cp x {bin}-notes.txt"), &ctx);
        assert!(a.protected.is_empty(), "{a:?}");
    }
}
