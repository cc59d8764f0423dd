//! A tiny live HLS server on loopback for the tests of the viewer loop: a master
//! playlist at `/live/u/p/1.m3u8`, a sliding media playlist at
//! `/hls/tok/index.m3u8` gaining one segment every `segment` interval, and the
//! segments as MPEG-TS packets, over keep-alive connections. It counts the GETs of
//! every segment, and can misbehave on purpose.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpStream};
use tokio::time::Instant;

use crate::http::head_end;

/// Segments listed in the media playlist.
const WINDOW: u64 = 6;

/// How the server behaves.
#[derive(Debug, Clone, Default)]
pub struct Faults {
    /// The master playlist answers 403 with this reason.
    pub refuse_master: Option<&'static str>,
    /// This segment's body does not start with 0x47.
    pub bad_segment: Option<u64>,
    /// After this many media playlist answers, the media sequence restarts at 0.
    pub rewind_after: Option<u64>,
}

/// A running fake server.
pub struct FakeHls {
    /// Where it listens.
    pub addr: SocketAddr,
    /// GETs per segment sequence number.
    pub segment_gets: Arc<Mutex<BTreeMap<u64, u64>>>,
}

impl FakeHls {
    /// The master playlist's URL.
    pub fn master_url(&self) -> String {
        format!("http://{}/live/u/p/1.m3u8", self.addr)
    }
}

struct Shared {
    addr: SocketAddr,
    start: Instant,
    segment: Duration,
    faults: Faults,
    playlists_served: Mutex<u64>,
    rewound_at: Mutex<Option<Instant>>,
    segment_gets: Arc<Mutex<BTreeMap<u64, u64>>>,
}

impl Shared {
    /// Segments complete by now, counted from the (re)start of the stream.
    fn complete(&self) -> u64 {
        let origin = self.rewound_at.lock().unwrap().unwrap_or(self.start);
        (origin.elapsed().as_millis() / self.segment.as_millis()) as u64
    }
}

/// Starts a server whose segments last `segment` (the target duration is that,
/// rounded up to whole seconds).
pub async fn start(segment: Duration, faults: Faults) -> FakeHls {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let segment_gets = Arc::new(Mutex::new(BTreeMap::new()));
    let shared = Arc::new(Shared {
        addr,
        start: Instant::now(),
        segment,
        faults,
        playlists_served: Mutex::new(0),
        rewound_at: Mutex::new(None),
        segment_gets: segment_gets.clone(),
    });
    tokio::spawn(async move {
        while let Ok((s, _)) = listener.accept().await {
            tokio::spawn(serve(s, shared.clone()));
        }
    });
    FakeHls { addr, segment_gets }
}

async fn serve(mut s: TcpStream, shared: Arc<Shared>) {
    loop {
        let mut req = Vec::new();
        let mut b = [0u8; 2048];
        while head_end(&req).is_none() {
            match s.read(&mut b).await {
                Ok(0) | Err(_) => return,
                Ok(n) => req.extend_from_slice(&b[..n]),
            }
        }
        let text = String::from_utf8_lossy(&req).into_owned();
        let path = text.split(' ').nth(1).unwrap_or("/").to_string();
        let (status, body) = answer(&path, &shared).await;
        let head = format!(
            "HTTP/1.1 {status} X\r\nContent-Length: {}\r\n\r\n",
            body.len()
        );
        if s.write_all(head.as_bytes()).await.is_err() || s.write_all(&body).await.is_err() {
            return;
        }
    }
}

async fn answer(path: &str, shared: &Shared) -> (u16, Vec<u8>) {
    let target = shared.segment.as_secs_f64().ceil().max(1.0) as u64;
    if path == "/live/u/p/1.m3u8" {
        if let Some(why) = shared.faults.refuse_master {
            return (403, why.as_bytes().to_vec());
        }
        let body = format!(
            "#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=4000000\nhttp://{}/hls/tok/index.m3u8\n",
            shared.addr
        );
        return (200, body.into_bytes());
    }
    if path == "/hls/tok/index.m3u8" {
        let served = {
            let mut n = shared.playlists_served.lock().unwrap();
            *n += 1;
            *n
        };
        if shared.faults.rewind_after == Some(served) {
            *shared.rewound_at.lock().unwrap() = Some(Instant::now() - shared.segment * 2);
        }
        // A cold channel answers once its first segment is complete.
        while shared.complete() == 0 {
            tokio::time::sleep(shared.segment / 10).await;
        }
        let done = shared.complete();
        let first = done.saturating_sub(WINDOW);
        let mut body =
            format!("#EXTM3U\n#EXT-X-TARGETDURATION:{target}\n#EXT-X-MEDIA-SEQUENCE:{first}\n");
        for seq in first..done {
            body.push_str(&format!(
                "#EXTINF:{:.3},\nhttp://{}/hls/tok/{seq}.ts\n",
                shared.segment.as_secs_f64(),
                shared.addr
            ));
        }
        return (200, body.into_bytes());
    }
    if let Some(seq) = path
        .strip_prefix("/hls/tok/")
        .and_then(|p| p.strip_suffix(".ts"))
        .and_then(|n| n.parse::<u64>().ok())
    {
        *shared.segment_gets.lock().unwrap().entry(seq).or_insert(0) += 1;
        let mut body = vec![0u8; 188 * 20];
        for p in body.chunks_mut(188) {
            p[0] = 0x47;
        }
        if shared.faults.bad_segment == Some(seq) {
            body[0] = 0;
        }
        return (200, body);
    }
    (404, b"no such thing".to_vec())
}
