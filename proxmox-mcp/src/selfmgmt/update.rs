//! Updating the server itself: how it was installed ([`detect`]), where releases are announced
//! ([`feed`]), how often that is asked ([`throttle`]), what a download must prove
//! ([`verify`]), replacing the binary and undoing it ([`swap`]), and the per-method paths
//! ([`install`]).

pub mod detect;
pub mod feed;
pub mod install;
pub mod swap;
pub mod throttle;
pub mod verify;

pub use detect::{InstallMethod, detect_install_method};

/// Why an update check or an update did not happen.
#[derive(Debug, thiserror::Error)]
pub enum UpdateError {
    /// The release source could not be asked or answered nonsense.
    #[error("{0}")]
    Source(String),
    /// A download did not prove itself, or the update is not allowed here.
    #[error("{0}")]
    Refused(String),
    /// A step failed; the running version stays in place.
    #[error("{0}")]
    Failed(String),
}

/// Whether this build may replace itself (the `self-update` feature; packages build without).
pub const ENABLED: bool = cfg!(feature = "self-update");

/// The last update check (time, source, result), for `get_mcp_info`.
pub fn last_check(state_dir: &std::path::Path) -> Option<throttle::Stamp> {
    throttle::read(state_dir)
}
