//! Where a long-running tool reports progress: an MCP client, a human at the CLI, or nobody.

use rmcp::model::{ProgressNotificationParam, ProgressToken};
use rmcp::service::{Peer, RoleServer};

/// Where a long-running tool reports progress.
#[derive(Clone, Default)]
pub enum Progress {
    /// Nobody is listening.
    #[default]
    None,
    /// An MCP client that sent a `progressToken`.
    Mcp {
        peer: Peer<RoleServer>,
        token: ProgressToken,
    },
    /// A human at the CLI: one line per update on stderr.
    Stderr,
}

impl Progress {
    pub async fn report(&self, done: f64, total: Option<f64>, message: impl Into<String>) {
        match self {
            Progress::None => {}
            Progress::Mcp { peer, token } => {
                let mut p = ProgressNotificationParam::new(token.clone(), done);
                p.total = total;
                p.message = Some(message.into());
                if let Err(e) = peer.notify_progress(p).await {
                    tracing::debug!("progress notification not delivered: {e}");
                }
            }
            Progress::Stderr => eprintln!("… {}", message.into()),
        }
    }
}
