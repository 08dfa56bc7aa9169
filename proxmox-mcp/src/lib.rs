//! proxmox-mcp: an MCP server that lets an AI assistant run a Proxmox VE cluster safely.
//!
//! The engine is a library so that tests, the CLI and the stdio server share one code path:
//! [`config`] resolves where and how to connect, [`pve`] talks to the Proxmox API,
//! [`tools`] is the registry of MCP tools, [`server`] is the rmcp handler that dispatches them,
//! and [`cli`] is the human command line.

pub mod apidoc;
pub mod audit;
pub mod cli;
pub mod config;
pub mod diagnostics;
pub mod dispatch;
pub mod engine;
pub mod error;
pub mod exec;
pub mod gate;
pub mod policy;
pub mod progress;
pub mod pve;
pub mod safety;
pub mod selfmgmt;
pub mod server;
pub mod snapshot;
pub mod state;
pub mod tools;
