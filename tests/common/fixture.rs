//! A tiny local HTTP server for source fixtures whose body, status and ETag a test
//! changes between refreshes; it records the conditional headers it received.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncReadExt, AsyncWriteExt};

#[derive(Default)]
pub struct FixtureState {
    pub status: u16,
    pub body: Vec<u8>,
    pub etag: Option<String>,
    pub requests: usize,
    pub if_none_match: Vec<Option<String>>,
}

#[derive(Clone)]
pub struct FixtureServer {
    pub addr: SocketAddr,
    pub state: Arc<Mutex<FixtureState>>,
}

impl FixtureServer {
    pub async fn start() -> FixtureServer {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let state = Arc::new(Mutex::new(FixtureState {
            status: 200,
            ..FixtureState::default()
        }));
        let shared = state.clone();
        tokio::spawn(async move {
            loop {
                let Ok((mut sock, _)) = listener.accept().await else {
                    continue;
                };
                let state = shared.clone();
                tokio::spawn(async move {
                    let mut buf = Vec::new();
                    let mut chunk = [0u8; 4096];
                    while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
                        match sock.read(&mut chunk).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => buf.extend_from_slice(&chunk[..n]),
                        }
                    }
                    let head = String::from_utf8_lossy(&buf).to_lowercase();
                    let inm = head
                        .lines()
                        .find_map(|l| l.strip_prefix("if-none-match:"))
                        .map(|v| v.trim().to_owned());
                    let (status, body, etag) = {
                        let mut s = state.lock().unwrap();
                        s.requests += 1;
                        s.if_none_match.push(inm.clone());
                        if s.etag.is_some()
                            && inm.as_deref() == s.etag.as_deref().map(str::to_lowercase).as_deref()
                        {
                            (304, Vec::new(), s.etag.clone())
                        } else {
                            (s.status, s.body.clone(), s.etag.clone())
                        }
                    };
                    let mut resp = format!(
                        "HTTP/1.1 {status} X\r\nContent-Length: {}\r\nConnection: close\r\n",
                        body.len()
                    );
                    if let Some(tag) = etag {
                        resp.push_str(&format!("ETag: {tag}\r\n"));
                    }
                    resp.push_str("\r\n");
                    let _ = sock.write_all(resp.as_bytes()).await;
                    let _ = sock.write_all(&body).await;
                });
            }
        });
        FixtureServer { addr, state }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    pub fn serve(&self, status: u16, body: impl Into<Vec<u8>>, etag: Option<&str>) {
        let mut s = self.state.lock().unwrap();
        s.status = status;
        s.body = body.into();
        s.etag = etag.map(str::to_owned);
    }
}
