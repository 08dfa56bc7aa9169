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
        ServerFiles {
            guarded: own(GUARDED),
            secrets: own(SECRETS),
            programs: own(PROGRAMS),
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
        for secret in [
            "request-state.key",
            "*.key",
            "*secret*",
            "bridge",
            "backups",
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
        if let Some(name) = path.rsplit('/').next().filter(|n| !n.is_empty()) {
            let name = name.to_string();
            if !self.programs.contains(&name) {
                self.programs.push(name);
            }
        }
        self
    }

    /// True when `prog` (a name or an absolute path, normalised) is the server itself.
    pub fn is_program(&self, prog: &str) -> bool {
        let base = prog.rsplit('/').next().unwrap_or(prog);
        self.programs
            .iter()
            .any(|p| p == prog || (!p.contains('/') && p == base))
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
    }
}
