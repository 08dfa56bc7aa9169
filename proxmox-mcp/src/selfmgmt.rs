//! Self-management: the server's own configuration and state, kept safe and put back.

pub mod backup;
