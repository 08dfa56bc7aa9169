//! The server managing itself: its version and changelog, and updating (and rolling back) its
//! own binary.

pub mod changelog;
pub mod update;
pub mod version;
