//! Where a system install and a user keep configuration and state.

use std::path::{Path, PathBuf};

/// Directory of a system install's configuration (the .deb's, the container's).
pub const SYSTEM_CONFIG_DIR: &str = "/etc/proxmox-mcp";
/// The system configuration file.
pub const SYSTEM_CONFIG_FILE: &str = "/etc/proxmox-mcp/config.toml";
/// State directory of a system install (used when the config came from [`SYSTEM_CONFIG_DIR`]).
pub const SYSTEM_STATE_DIR: &str = "/var/lib/proxmox-mcp";
/// Log directory of a system install.
pub const SYSTEM_LOG_DIR: &str = "/var/log/proxmox-mcp";
/// File name of the configuration inside a config directory.
pub const CONFIG_FILE_NAME: &str = "config.toml";
/// The bridge's own directory inside the state directory (its tokens and first-start secret).
pub const BRIDGE_STATE_SUBDIR: &str = "bridge";

fn project_dirs() -> Option<directories::ProjectDirs> {
    directories::ProjectDirs::from("", "", "proxmox-mcp")
}

/// The user's configuration file, e.g. `~/.config/proxmox-mcp/config.toml` on Linux.
pub fn user_config_file() -> Option<PathBuf> {
    project_dirs().map(|d| d.config_dir().join(CONFIG_FILE_NAME))
}

/// The user's state directory, e.g. `~/.local/state/proxmox-mcp` on Linux (the local data
/// directory where the platform has no state directory).
pub fn user_state_dir() -> Option<PathBuf> {
    project_dirs().map(|d| {
        d.state_dir()
            .unwrap_or_else(|| d.data_local_dir())
            .to_owned()
    })
}

/// The files looked for, in order, when no config file is named: the user's file, then the
/// system file (a service user has no file of its own, so a system install reads `/etc`, while
/// a person can keep a private one).
pub fn config_candidates() -> Vec<PathBuf> {
    user_config_file()
        .into_iter()
        .chain([PathBuf::from(SYSTEM_CONFIG_FILE)])
        .collect()
}

/// Whether a config file at `path` makes this a system install (state in [`SYSTEM_STATE_DIR`]).
pub fn is_system_config(path: &Path) -> bool {
    path.starts_with(SYSTEM_CONFIG_DIR)
}
