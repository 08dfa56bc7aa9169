//! Proxmox VE API client: the `PveApi` trait, its reqwest implementation, typed helpers and task waiting.
//!
//! Tools talk to [`Pve`], a cheap handle around an `Arc<dyn PveApi>`. [`HttpClient`] is the real
//! implementation (token or ticket auth, TLS pinning, retries where safe); tests and the demo can
//! supply their own `PveApi`.

pub mod api;
pub mod auth;
pub mod client;
pub mod envelope;
pub mod error;
pub mod params;
pub mod perl;
pub mod request;
pub mod task;
pub mod tls;
pub mod types;
pub mod upid;

pub use api::Pve;
pub use auth::validate_token_id;
pub use client::{HttpClient, PveApi};
pub use error::PveError;
pub use request::{Method, Params, Request};
pub use task::{TaskOutcome, TaskProgress, WaitOptions, wait_task};
pub use upid::Upid;
