//! Self-management: the server's own configuration and state, kept safe and put back; its
//! version and changelog; updating (and rolling back) its own binary.

pub mod backup;
pub mod changelog;
pub mod update;
pub mod version;
