//! The one error a tool call can end in: it becomes an `isError` result the model can act on.

use crate::pve::PveError;

/// A tool failure the model can act on (becomes an `isError` result).
#[derive(Debug, thiserror::Error)]
pub enum ToolError {
    #[error("invalid arguments: {0}")]
    InvalidArgs(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Refused(String),
    #[error("{0}")]
    Pve(#[from] PveError),
    #[error("{0}")]
    Config(String),
    #[error("cancelled by the client")]
    Cancelled,
}

impl ToolError {
    pub fn invalid(msg: impl Into<String>) -> Self {
        ToolError::InvalidArgs(msg.into())
    }
}
