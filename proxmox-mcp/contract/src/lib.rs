//! What the engine (`proxmox-mcp`) and the HTTP bridge (`mcp-http-bridge`) agree on, in one
//! small place both link: the environment variables and paths they share, and the contract by
//! which the bridge tells the engine who made each call.
//!
//! The bridge does not link the engine: it runs it as a child process over stdio. Everything
//! the two must spell the same way lives here, so neither copies a string from the other.

pub mod bridge;
pub mod env;
pub mod paths;
