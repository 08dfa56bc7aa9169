//! The stdio transport: rmcp's line reader for requests, and one writer task that writes each
//! message from its own buffer and frees it once written. A framed writer keeps the buffer of
//! the largest response it ever sent (and the standard-output handle a copy of it) for the life
//! of the process: half a megabyte each after one listing of 5,000 guests.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use rmcp::RoleServer;
use rmcp::service::{RxJsonRpcMessage, TxJsonRpcMessage};
use rmcp::transport::Transport;
use rmcp::transport::async_rw::AsyncRwTransport;
use rmcp::transport::{StdioReader, stdio_pipes};
use tokio::io::{AsyncWrite, AsyncWriteExt};
use tokio::sync::{mpsc, oneshot};

/// One message for the writer, and where to say it was written.
type Outgoing = (Vec<u8>, Option<oneshot::Sender<io::Result<()>>>);

/// MCP over this process's standard input and output.
pub struct Stdio {
    /// Reads requests; its own writer carries only the error replies it makes for lines that
    /// are not JSON-RPC.
    read: AsyncRwTransport<RoleServer, StdioReader, Forward>,
    out: mpsc::UnboundedSender<Outgoing>,
}

impl Default for Stdio {
    fn default() -> Self {
        Self::new()
    }
}

impl Stdio {
    /// Must be called inside the runtime (the pipes register with its IO driver).
    pub fn new() -> Self {
        let (reader, mut writer) = stdio_pipes();
        let (out, mut queue) = mpsc::unbounded_channel::<Outgoing>();
        tokio::spawn(async move {
            while let Some((bytes, done)) = queue.recv().await {
                let written = match writer.write_all(&bytes).await {
                    Ok(()) => writer.flush().await,
                    Err(e) => Err(e),
                };
                drop(bytes);
                if let Some(done) = done {
                    let _ = done.send(written);
                }
            }
        });
        Stdio {
            read: AsyncRwTransport::new_server(
                reader,
                Forward {
                    pending: Vec::new(),
                    out: out.clone(),
                },
            ),
            out,
        }
    }
}

fn closed() -> io::Error {
    io::Error::new(io::ErrorKind::NotConnected, "standard output is closed")
}

impl Transport<RoleServer> for Stdio {
    type Error = io::Error;

    fn send(
        &mut self,
        item: TxJsonRpcMessage<RoleServer>,
    ) -> impl Future<Output = Result<(), Self::Error>> + Send + 'static {
        let out = self.out.clone();
        async move {
            let mut bytes = serde_json::to_vec(&item).map_err(io::Error::other)?;
            drop(item);
            bytes.push(b'\n');
            let (done, written) = oneshot::channel();
            out.send((bytes, Some(done))).map_err(|_| closed())?;
            written.await.map_err(|_| closed())?
        }
    }

    fn receive(&mut self) -> impl Future<Output = Option<RxJsonRpcMessage<RoleServer>>> + Send {
        self.read.receive()
    }

    async fn close(&mut self) -> Result<(), Self::Error> {
        self.read.close().await
    }
}

/// The reader's writer: collects what it writes and hands it to the writer task on flush, so
/// its replies and ours leave in order through one place.
struct Forward {
    pending: Vec<u8>,
    out: mpsc::UnboundedSender<Outgoing>,
}

impl AsyncWrite for Forward {
    fn poll_write(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.pending.extend_from_slice(buf);
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(mut self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        if self.pending.is_empty() {
            return Poll::Ready(Ok(()));
        }
        let bytes = std::mem::take(&mut self.pending);
        Poll::Ready(self.out.send((bytes, None)).map_err(|_| closed()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.poll_flush(cx)
    }
}
