//! A proxy that cuts connections at a chosen byte, for the chaos tests.

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Forwards `client` to `upstream` and back, at most `budget` bytes of
/// upstream's, then drops both: the connections are reset mid-stream (the
/// chaos tests' cut at a random byte).
pub async fn forward_until_cut(client: TcpStream, upstream: &str, budget: usize) {
    let Ok(upstream) = TcpStream::connect(upstream).await else {
        return;
    };
    let (mut client_read, mut client_write) = client.into_split();
    let (mut up_read, mut up_write) = upstream.into_split();
    let up = tokio::spawn(async move {
        let _ = tokio::io::copy(&mut client_read, &mut up_write).await;
    });
    let mut left = budget;
    let mut buf = vec![0u8; 4096];
    while left > 0 {
        let n = match up_read.read(&mut buf[..left.min(4096)]).await {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        if client_write.write_all(&buf[..n]).await.is_err() {
            break;
        }
        left -= n;
    }
    up.abort();
}
