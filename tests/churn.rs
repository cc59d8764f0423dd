//! Churn: 2 000 viewer sessions over 20 channels through the real daemon's public
//! port, with viewers that read and leave, stall, hang up mid-chunk (FIN or RST),
//! give up before the first byte, and send garbage; channels that pre-buffer, that
//! drop their playback (re-opens), and whose getstream the engine answers late.
//! Afterwards every engine session got exactly one stop, nobody is left watching,
//! and the daemon's file descriptors and memory are back near where they were
//! after a warm-up round. A second test pins down one way of leaving: hanging up
//! while the channel is still starting.
//!
//! Deterministic: a fixed seed decides which viewer does what on which channel.
//! Bounded: a fixed number of sessions, a bounded number at once, a timeout per
//! viewer and a deadline on every wait. Loopback only.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a panic here is a failed test

mod common;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use acestream_sim::ts::TsChecker;
use acestream_sim::{Content, Fault, SimConfig, Simulator};
use common::fixture::FixtureServer;
use common::{Daemon, http};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};
use tokio::sync::Semaphore;

const CHANNELS: usize = 20;
const SESSIONS: usize = 2000;
/// Enough sessions that every channel was started and ended, and every pool,
/// cache and per-worker buffer of the daemon exists, before the baseline is taken.
const WARMUP_SESSIONS: usize = 300;
const CONCURRENCY: usize = 64;
/// Channels whose engine playback ends every 1.5 s.
const DROPPING: [usize; 2] = [6, 15];
/// Channels whose getstream the engine answers only after [`SLOW_START`], far
/// longer than the idle grace: their viewers give up at once, so the grace ends
/// while getstream is under way and the session the engine hands out afterwards
/// must still be stopped.
const SLOW: [usize; 2] = [3, 11];
const SLOW_START: Duration = Duration::from_secs(5);
const SEED: u64 = 0x00c4_a2e5_eed0_2026;
/// No single viewer may take longer than this (a stuck viewer fails the test).
const VIEWER_TIMEOUT: Duration = Duration::from_secs(20);
/// Bound of every wait for the daemon to settle.
const SETTLE: Duration = Duration::from_secs(30);

const USER: &str = "churn";
const PASS: &str = "churn-pass-1";

/// File descriptors the daemon may hold beyond the baseline afterwards: a few
/// idle keep-alive connections (the status polls of this test, the proxy's pool
/// to the multiplexer) come and go; a leak of even 1 % of 2 000 viewers is 20+.
const FD_MARGIN: usize = 10;
/// Resident memory the daemon may hold beyond the baseline afterwards. The
/// allocator keeps freed pages, and the churn round runs longer than the warm-up,
/// so rings and socket buffers reach a slightly higher high-water mark: about
/// 5 MiB here. A viewer owns more than 16 KiB while it watches (the proxy's fixed
/// 16 KiB read buffer alone, plus request, response and hub state); leaking even
/// 24 KiB per joined viewer comes to 40+ MiB over this round and fails (tried by
/// hand). A leaked hub keeps its ring, which the status and stop checks catch.
const RSS_MARGIN_KIB: u64 = 32 * 1024;

/// splitmix64: a tiny deterministic generator, so the plan is the same every run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `lo..hi`.
    fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.next() % (hi - lo)
    }

    fn coin(&mut self) -> bool {
        self.next() & 1 == 1
    }
}

/// Malformed or refused requests. None carries a wrong password: the login brake
/// would (rightly) lock the test's address out after a few dozen.
#[derive(Debug, Clone, Copy)]
enum Garbage {
    /// Not an HTTP request line at all.
    BadRequestLine,
    /// A TLS ClientHello sent to the plain HTTP port.
    TlsHello,
    /// A channel number that does not exist.
    UnknownChannel,
    /// A channel "number" that is not a number.
    NonNumericChannel,
    /// The HLS form, which this server does not offer.
    Hls,
    /// A content id that is not 40 hex digits.
    BadContentId,
    /// Well formed, but no engine knows this content (502, no session kept).
    UnknownContent,
    /// Half a request line and headers, then the connection closes.
    HalfRequest,
    /// Headers larger than the server's 128 KiB head limit.
    HugeHeader,
    /// A probe: HEAD answers stream headers without an engine session.
    Head,
}

const GARBAGE: [Garbage; 10] = [
    Garbage::BadRequestLine,
    Garbage::TlsHello,
    Garbage::UnknownChannel,
    Garbage::NonNumericChannel,
    Garbage::Hls,
    Garbage::BadContentId,
    Garbage::UnknownContent,
    Garbage::HalfRequest,
    Garbage::HugeHeader,
    Garbage::Head,
];

#[derive(Debug, Clone, Copy)]
enum Kind {
    /// Reads `packets` TS packets (checked contiguous), then hangs up.
    Normal {
        packets: u64,
    },
    /// Reads the response head, then nothing for `ms`, then hangs up.
    Staller {
        ms: u64,
        rst: bool,
    },
    /// Reads into the body and hangs up inside a chunk of the chunked encoding.
    MidChunk {
        rst: bool,
    },
    /// Sends the request and hangs up after `ms`, before any answer (when `ms`
    /// is short or the channel slow to start).
    Impatient {
        ms: u64,
        rst: bool,
    },
    Garbage(Garbage),
}

#[derive(Debug, Clone, Copy)]
struct Plan {
    kind: Kind,
    channel: usize,
    /// Through `/live/U/P/ID.ts` (else `/ace/getstream?id=…`).
    xtream: bool,
}

/// Viewers pick from a window of [`WINDOW`] channels that moves on by
/// [`WINDOW_STEP`] every [`WINDOW_SESSIONS`] viewers: each channel gets busy, goes
/// cold long enough for the idle grace to end its engine session, and is opened
/// again later, so sessions are stopped and started throughout the round, some
/// right as the grace runs out.
const WINDOW: u64 = 6;
const WINDOW_STEP: usize = 3;
const WINDOW_SESSIONS: usize = 100;

fn plan(rng: &mut Rng, n: usize) -> Vec<Plan> {
    (0..n)
        .map(|i| {
            let base = (i / WINDOW_SESSIONS) * WINDOW_STEP;
            let channel = (base + rng.range(0, WINDOW) as usize) % CHANNELS;
            let xtream = rng.coin();
            let kind = match rng.range(0, 100) {
                0..40 => Kind::Normal {
                    packets: rng.range(50, 600),
                },
                40..55 => Kind::Staller {
                    ms: rng.range(300, 2500),
                    rst: rng.coin(),
                },
                55..72 => Kind::MidChunk { rst: rng.coin() },
                72..82 => Kind::Impatient {
                    ms: rng.range(0, 300),
                    rst: rng.coin(),
                },
                _ => Kind::Garbage(GARBAGE[rng.range(0, GARBAGE.len() as u64) as usize]),
            };
            // Nobody waits for a slow channel: players give up before it starts.
            let kind = match kind {
                Kind::Normal { .. } | Kind::Staller { .. } | Kind::MidChunk { .. }
                    if SLOW.contains(&channel) =>
                {
                    Kind::Impatient {
                        ms: rng.range(0, 300),
                        rst: rng.coin(),
                    }
                }
                k => k,
            };
            Plan {
                kind,
                channel,
                xtream,
            }
        })
        .collect()
}

/// A loopback relay in front of the engine at `engine` that holds each connection
/// whose first request is a getstream naming one of `slow` for [`SLOW_START`].
async fn slow_getstream(engine: SocketAddr, slow: Vec<String>) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let slow = Arc::new(slow);
    tokio::spawn(async move {
        while let Ok((mut client, _)) = listener.accept().await {
            let slow = slow.clone();
            tokio::spawn(async move {
                let mut head = Vec::new();
                let mut buf = [0u8; 4096];
                while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                    match client.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => head.extend_from_slice(&buf[..n]),
                    }
                }
                let line = String::from_utf8_lossy(&head);
                let line = line.lines().next().unwrap_or_default();
                if line.starts_with("GET /ace/getstream") && slow.iter().any(|id| line.contains(id))
                {
                    tokio::time::sleep(SLOW_START).await;
                }
                let Ok(mut upstream) = TcpStream::connect(engine).await else {
                    return;
                };
                if upstream.write_all(&head).await.is_ok() {
                    let _ = tokio::io::copy_bidirectional(&mut client, &mut upstream).await;
                }
            });
        }
    });
    addr
}

/// What the viewers need to know about the daemon.
struct Target {
    public: SocketAddr,
    /// Per channel: (Xtream stream id, content id).
    channels: Vec<(i64, String)>,
}

impl Target {
    fn path(&self, p: &Plan) -> String {
        let (stream_id, content_id) = &self.channels[p.channel];
        if p.xtream {
            format!("/live/{USER}/{PASS}/{stream_id}.ts")
        } else {
            format!("/ace/getstream?id={content_id}&username={USER}&password={PASS}")
        }
    }

    fn stream_url(&self, p: &Plan) -> String {
        format!("http://{}{}", self.public, self.path(p))
    }
}

fn get(path: &str) -> Vec<u8> {
    format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: churn\r\n\r\n").into_bytes()
}

/// A raw connection; with `rst`, closing it sends a reset instead of a FIN; with
/// `small`, a small receive buffer so a non-reading client pushes back quickly.
async fn connect(addr: SocketAddr, rst: bool, small: bool) -> TcpStream {
    let sock = TcpSocket::new_v4().unwrap();
    if small {
        sock.set_recv_buffer_size(8192).unwrap();
    }
    if rst {
        sock.set_zero_linger().unwrap();
    }
    sock.connect(addr).await.unwrap()
}

/// Reads up to the end of the response head: its status (None if the server closed
/// first) and the bytes already read past the head.
async fn read_head(s: &mut TcpStream) -> (Option<u16>, String, Vec<u8>) {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..end]).into_owned();
            let status = head.split_whitespace().nth(1).and_then(|s| s.parse().ok());
            return (status, head, buf[end + 4..].to_vec());
        }
        match s.read(&mut chunk).await {
            Ok(0) | Err(_) => return (None, String::from_utf8_lossy(&buf).into_owned(), buf),
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    }
}

/// One viewer's session; `Err` says what went wrong from the player's side.
async fn view(t: Arc<Target>, p: Plan, client: reqwest::Client) -> Result<(), String> {
    match p.kind {
        Kind::Normal { packets } => {
            let mut resp = client
                .get(t.stream_url(&p))
                .header("user-agent", "churn")
                .send()
                .await
                .map_err(|e| format!("request: {e}"))?;
            if resp.status() != 200 {
                return Err(format!("status {}", resp.status()));
            }
            let mut c = TsChecker::default();
            while c.packets < packets {
                match resp.chunk().await {
                    Ok(Some(bytes)) => c.feed(&bytes),
                    Ok(None) => return Err(format!("body ended after {} packets", c.packets)),
                    Err(e) => return Err(format!("body: {e}")),
                }
            }
            // A re-opened engine session starts in the engine's buffer, so around a
            // re-open the stream may repeat or jump: only packet alignment holds.
            let whole = c.is_contiguous() || DROPPING.contains(&p.channel);
            if c.sync_errors > 0 || !whole || c.first_pid != Some(0) {
                return Err(format!("bad stream: {c:?}"));
            }
            Ok(())
        }
        Kind::Staller { ms, rst } => {
            let mut s = connect(t.public, rst, true).await;
            s.write_all(&get(&t.path(&p)))
                .await
                .map_err(|e| e.to_string())?;
            let (status, head, _) = read_head(&mut s).await;
            if status != Some(200) {
                return Err(format!("staller got {head}"));
            }
            tokio::time::sleep(Duration::from_millis(ms)).await;
            Ok(())
        }
        Kind::MidChunk { rst } => {
            let mut s = connect(t.public, rst, false).await;
            s.write_all(&get(&t.path(&p)))
                .await
                .map_err(|e| e.to_string())?;
            let (status, head, mut body) = read_head(&mut s).await;
            if status != Some(200) || !head.to_ascii_lowercase().contains("chunked") {
                return Err(format!("mid-chunk viewer got {head}"));
            }
            // Read the first chunk's size line, then part of that chunk only.
            let mut chunk = [0u8; 4096];
            let line_end = loop {
                if let Some(i) = body.windows(2).position(|w| w == b"\r\n") {
                    break i;
                }
                match s.read(&mut chunk).await {
                    Ok(0) | Err(_) => return Err("body ended before a chunk".into()),
                    Ok(n) => body.extend_from_slice(&chunk[..n]),
                }
            };
            let line = String::from_utf8_lossy(&body[..line_end]);
            let size = usize::from_str_radix(&line, 16)
                .map_err(|e| format!("chunk size {line:?}: {e}"))?;
            // Half of it (at least its first byte), and never its end.
            let want = line_end + 2 + (size / 2).max(1);
            while body.len() < want {
                match s.read(&mut chunk[..(want - body.len()).min(4096)]).await {
                    Ok(0) | Err(_) => return Err("body ended inside the first chunk".into()),
                    Ok(n) => body.extend_from_slice(&chunk[..n]),
                }
            }
            // The stream starts on a packet boundary, at a sync byte.
            if body[line_end + 2] != 0x47 {
                return Err(format!("first chunk is not TS ({size} bytes)"));
            }
            Ok(())
        }
        Kind::Impatient { ms, rst } => {
            let mut s = connect(t.public, rst, false).await;
            s.write_all(&get(&t.path(&p)))
                .await
                .map_err(|e| e.to_string())?;
            tokio::time::sleep(Duration::from_millis(ms)).await;
            Ok(())
        }
        Kind::Garbage(g) => garbage(&t, &p, g).await,
    }
}

async fn garbage(t: &Target, p: &Plan, g: Garbage) -> Result<(), String> {
    let (stream_id, content_id) = &t.channels[p.channel];
    let auth = format!("username={USER}&password={PASS}");
    let (request, expect): (Vec<u8>, Option<u16>) = match g {
        Garbage::BadRequestLine => (b"GARBAGE\r\n\r\n".to_vec(), Some(400)),
        Garbage::TlsHello => (
            b"\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03\r\n\r\n".to_vec(),
            Some(400),
        ),
        Garbage::UnknownChannel => (get(&format!("/live/{USER}/{PASS}/987654321.ts")), Some(404)),
        Garbage::NonNumericChannel => (
            get(&format!("/live/{USER}/{PASS}/x{stream_id}.ts")),
            Some(404),
        ),
        Garbage::Hls => (
            get(&format!("/live/{USER}/{PASS}/987654321.m3u8")),
            Some(404),
        ),
        Garbage::BadContentId => (
            get(&format!("/ace/getstream?id={}&{auth}", &content_id[..39])),
            Some(400),
        ),
        Garbage::UnknownContent => (
            get(&format!("/ace/getstream?id={}&{auth}", "0".repeat(40))),
            Some(502),
        ),
        Garbage::HalfRequest => {
            let mut r = get(&t.path(p));
            r.truncate(r.len() * 2 / 3);
            (r, None)
        }
        Garbage::HugeHeader => {
            let mut r = format!("GET {} HTTP/1.1\r\nHost: x\r\nX-Junk: ", t.path(p)).into_bytes();
            r.extend(std::iter::repeat_n(b'a', 192 * 1024));
            r.extend_from_slice(b"\r\n\r\n");
            (r, Some(431))
        }
        Garbage::Head => {
            let path = t.path(p);
            (
                format!("HEAD {path} HTTP/1.1\r\nHost: x\r\n\r\n").into_bytes(),
                Some(200),
            )
        }
    };
    let mut s = connect(t.public, false, false).await;
    // The server may answer and close before all of a huge request is written.
    let _ = s.write_all(&request).await;
    let Some(expect) = expect else {
        return Ok(());
    };
    let (status, head, _) = read_head(&mut s).await;
    match status {
        Some(code) if code == expect => Ok(()),
        // A server may answer protocol garbage with any 4xx, or just close.
        Some(code) if (400..500).contains(&code) && matches!(g, Garbage::HugeHeader) => Ok(()),
        None if matches!(g, Garbage::TlsHello | Garbage::HugeHeader) => Ok(()),
        _ => Err(format!("{g:?}: expected {expect}, got {head:?}")),
    }
}

/// Runs `plans` with at most [`CONCURRENCY`] at once; returns the failures.
async fn run(t: &Arc<Target>, plans: Vec<Plan>) -> Vec<String> {
    let client = reqwest::Client::builder()
        .no_proxy()
        .pool_max_idle_per_host(0)
        .build()
        .unwrap();
    let gate = Arc::new(Semaphore::new(CONCURRENCY));
    let mut tasks = tokio::task::JoinSet::new();
    for (i, p) in plans.into_iter().enumerate() {
        let permit = gate.clone().acquire_owned().await.unwrap();
        let (t, client) = (t.clone(), client.clone());
        tasks.spawn(async move {
            let r = tokio::time::timeout(VIEWER_TIMEOUT, view(t, p, client)).await;
            drop(permit);
            match r {
                Ok(Ok(())) => None,
                Ok(Err(e)) => Some(format!("viewer {i} {p:?}: {e}")),
                Err(_) => Some(format!("viewer {i} {p:?}: stuck for {VIEWER_TIMEOUT:?}")),
            }
        });
    }
    let mut failures = Vec::new();
    while let Some(r) = tasks.join_next().await {
        if let Some(f) = r.unwrap() {
            failures.push(f);
        }
    }
    failures
}

fn fd_count(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .unwrap()
        .count()
}

fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap()
}

/// What the daemon and the engine say about open streams, in one snapshot.
#[derive(Debug)]
struct Quiet {
    public_streams: Value,
    mux_streams: usize,
    viewers: usize,
    active_cons: Value,
    live_sessions: usize,
    sessions: usize,
    stops_sent: u64,
    stop_calls: u64,
}

impl Quiet {
    fn settled(&self) -> bool {
        self.public_streams == json!(0)
            && self.mux_streams == 0
            && self.viewers == 0
            && self.active_cons == json!("0")
            && self.live_sessions == 0
            && self.stops_sent == self.sessions as u64
            && self.stop_calls == self.sessions as u64
    }
}

async fn quiet(d: &Daemon, sim: &Simulator) -> Quiet {
    let public = common::get_json(d.url("/ace/status")).await;
    let streams = common::get_json(d.mux_url("/ace/streams")).await;
    let list = streams["streams"].as_array().cloned().unwrap_or_default();
    let user =
        common::get_json(d.url(&format!("/player_api.php?username={USER}&password={PASS}"))).await;
    let state = sim.introspect();
    Quiet {
        public_streams: public["streams"].clone(),
        mux_streams: list.len(),
        viewers: list
            .iter()
            .map(|s| s["clients"].as_u64().unwrap_or(0) as usize)
            .sum(),
        active_cons: user["user_info"]["active_cons"].clone(),
        live_sessions: state.live_sessions().len(),
        sessions: state.sessions.len(),
        stops_sent: streams["metrics"]["sessions_stopped"].as_u64().unwrap_or(0),
        stop_calls: state.stop_calls,
    }
}

/// Polls until the daemon is idle; panics with the last snapshot if it is not.
async fn settle(d: &Daemon, sim: &Simulator, what: &str) -> Quiet {
    let deadline = tokio::time::Instant::now() + SETTLE;
    loop {
        let q = quiet(d, sim).await;
        if q.settled() {
            return q;
        }
        // A second stop never un-happens: no need to wait for the deadline.
        assert!(
            q.stops_sent <= q.sessions as u64 && q.stop_calls <= q.sessions as u64,
            "{what}: more stops than engine sessions: {q:?}"
        );
        assert!(
            tokio::time::Instant::now() < deadline,
            "{what}: not idle after {SETTLE:?}: {q:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_thousand_viewers_come_and_go_and_leave_nothing_behind() {
    // Low bitrate: the point is the joins and leaves, not the bytes. Some channels
    // pre-buffer (viewers give up and the grace can run out while a session
    // starts); some drop their playback every 1.5 s (the multiplexer re-opens,
    // stopping the broken session in the background); on some (SLOW) the engine
    // answers getstream late, behind a relay.
    let contents: Vec<Content> = (0..CHANNELS)
        .map(|i| {
            let c = Content::new(&format!("Churn {i:02}")).with_bitrate(500_000);
            if DROPPING.contains(&i) {
                c.with_fault(Fault::Disconnect {
                    at_secs: 1.5,
                    first_session_only: false,
                })
            } else if i % 4 == 1 {
                c.with_startup_delay(Duration::from_millis(400))
            } else {
                c
            }
        })
        .collect();
    let sim = Simulator::start(SimConfig::with_catalogue(contents.clone()))
        .await
        .unwrap();
    let lists = FixtureServer::start().await;
    let mut m3u = String::from("#EXTM3U\n");
    for c in &contents {
        m3u.push_str(&format!(
            "#EXTINF:-1 group-title=\"Churn\",{}\nacestream://{}\n",
            c.name, c.content_id
        ));
    }
    lists.serve(200, m3u, None);

    let dir = tempfile::tempdir().unwrap();
    let slow = SLOW
        .iter()
        .map(|&i| contents[i].content_id.clone())
        .collect();
    let engine = format!("http://{}", slow_getstream(sim.addr(), slow).await);
    let d = Daemon::start(
        dir.path(),
        &[
            ("ACEXTREAM_ENGINE__URL", engine.as_str()),
            ("ACEXTREAM_SERVER__WORKERS", "2"),
            // Short grace and stop bound, so the round settles within seconds.
            ("ACEXTREAM_MUX__IDLE_GRACE", "1s"),
            ("ACEXTREAM_MUX__STOP_TIMEOUT", "2s"),
            ("ACEXTREAM_MUX__STAT_INTERVAL", "1s"),
            // The dropping channels re-open as often as they drop.
            ("ACEXTREAM_MUX__MAX_REOPENS", "1000"),
            // Small rings (about 4 s of these channels): stallers fall behind and
            // skip, and 20 rings are a few MiB, far below the memory margin.
            ("ACEXTREAM_MUX__MAX_CLIENT_LAG_BYTES", "262144"),
            ("ACEXTREAM_MUX__INSTANT_START_BYTES", "131072"),
        ],
    );
    let pid = d.child.id();

    let post = reqwest::Method::POST;
    let (status, src) = d
        .admin(
            post.clone(),
            "/api/scraper/sources",
            json!({"url": lists.url("/churn.m3u")}),
        )
        .await;
    assert_eq!(status, 201, "{src}");
    let (status, body) = d
        .admin(
            post.clone(),
            "/api/scraper/trigger?wait=true",
            json!({"source_id": src["id"]}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = d
        .admin(
            post,
            "/api/users",
            json!({"username": USER, "password": PASS, "max_connections": 0}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let streams = common::get_json(d.url(&format!(
        "/player_api.php?username={USER}&password={PASS}&action=get_live_streams"
    )))
    .await;
    let by_name: HashMap<String, i64> = streams
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["name"].as_str().unwrap().to_owned(),
                s["stream_id"].as_i64().unwrap(),
            )
        })
        .collect();
    let target = Arc::new(Target {
        public: d.public,
        channels: contents
            .iter()
            .map(|c| (by_name[&c.name], c.content_id.clone()))
            .collect(),
    });

    let mut rng = Rng(SEED);
    // Warm-up: the same mix, every channel started and ended once at least.
    let mut warmup = plan(&mut rng, WARMUP_SESSIONS);
    for (i, p) in warmup.iter_mut().take(CHANNELS).enumerate() {
        *p = Plan {
            kind: if SLOW.contains(&i) {
                Kind::Impatient {
                    ms: 200,
                    rst: false,
                }
            } else {
                Kind::Normal { packets: 100 }
            },
            channel: i,
            xtream: i % 2 == 0,
        };
    }
    let failures = run(&target, warmup).await;
    assert!(failures.is_empty(), "warm-up: {failures:#?}");
    let warm = settle(&d, &sim, "after the warm-up").await;
    let (fd_base, rss_base) = (fd_count(pid), rss_kib(pid));

    let plans = plan(&mut rng, SESSIONS);
    let normal = plans
        .iter()
        .filter(|p| matches!(p.kind, Kind::Normal { .. }))
        .count();
    let started = std::time::Instant::now();
    let failures = run(&target, plans).await;
    let took = started.elapsed();
    assert!(
        failures.is_empty(),
        "{} of {SESSIONS} viewers failed:\n{}",
        failures.len(),
        failures.join("\n")
    );

    // Every engine session opened (warm-up included) got exactly one stop.
    let after = settle(&d, &sim, "after the churn").await;
    assert!(
        after.sessions > warm.sessions + CHANNELS,
        "the churn opened sessions: {warm:?} {after:?} ({normal} normal viewers)"
    );
    let state = sim.introspect();
    let wrong: Vec<_> = state
        .sessions
        .iter()
        .filter(|s| s.stop_calls != 1 || !s.stopped)
        .collect();
    assert!(
        wrong.is_empty(),
        "sessions not stopped exactly once: {wrong:#?}"
    );
    let sessions_opened =
        common::get_json(d.mux_url("/ace/status")).await["metrics"]["sessions_opened"].clone();
    assert_eq!(
        sessions_opened,
        json!(state.sessions.len()),
        "the mux counted each"
    );

    // Descriptors and memory come back (polled: sockets close asynchronously).
    let deadline = tokio::time::Instant::now() + SETTLE;
    let fds = loop {
        let n = fd_count(pid);
        if n <= fd_base + FD_MARGIN || tokio::time::Instant::now() >= deadline {
            break n;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert!(
        fds <= fd_base + FD_MARGIN,
        "open descriptors: {fd_base} after the warm-up, {fds} after the churn"
    );
    let rss = rss_kib(pid);
    assert!(
        rss <= rss_base + RSS_MARGIN_KIB,
        "resident memory: {rss_base} KiB after the warm-up, {rss} KiB after the churn"
    );
    eprintln!(
        "churn: {took:?}, {} sessions ({} in the warm-up), fds {fd_base} -> {fds}, rss {rss_base} -> {rss} KiB",
        state.sessions.len(),
        warm.sessions
    );

    // Still healthy, and nothing panicked on the way.
    let health = http().get(d.url("/health")).send().await.unwrap();
    assert_eq!(health.status(), 200);
    let log = d.drain_log();
    let panics: Vec<_> = log.iter().filter(|l| l.contains("panick")).collect();
    assert!(panics.is_empty(), "{panics:#?}");
}

/// A player that hangs up (FIN or RST) while its channel is still starting leaves
/// the multiplexer at once: it holds no viewer place, no connection slot, and the
/// engine session it started is stopped after the grace, not whenever the engine
/// would have finished pre-buffering.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_player_that_hangs_up_while_its_channel_starts_is_gone_at_once() {
    // The engine would pre-buffer for longer than this test may take.
    let ch = Content::new("Never ready").with_startup_delay(Duration::from_secs(120));
    let sim = Simulator::start(SimConfig::with_catalogue(vec![ch.clone()]))
        .await
        .unwrap();
    let app = common::TestApp::start(&sim.url(), |s| {
        s.mux.idle_grace = Duration::from_millis(300);
        s.mux.response_timeout = Duration::from_secs(120);
    })
    .await;
    app.add_user(USER, PASS, 0).await;
    let path = format!(
        "/ace/getstream?id={}&username={USER}&password={PASS}",
        ch.content_id
    );
    for (round, rst) in [false, true].into_iter().enumerate() {
        let mut s = connect(app.public, rst, false).await;
        s.write_all(&get(&path)).await.unwrap();
        // The channel is starting and this player is its viewer.
        let joined = common::eventually(Duration::from_secs(10), async || {
            let v = common::get_json(app.mux_url("/ace/streams")).await;
            v["streams"][0]["clients"] == 1
        })
        .await;
        assert!(joined, "the player joined the starting channel");
        drop(s);
        let released = common::eventually(Duration::from_secs(10), async || {
            let v = common::get_json(app.mux_url("/ace/streams")).await;
            let state = sim.introspect();
            v["streams"] == json!([])
                && state.sessions.len() == round + 1
                && state
                    .sessions
                    .iter()
                    .all(|s| s.stopped && s.stop_calls == 1)
        })
        .await;
        assert!(
            released,
            "rst={rst}: the player is still counted, or its session was not stopped: {} {:?}",
            common::get_json(app.mux_url("/ace/streams")).await,
            sim.introspect().sessions
        );
        let user =
            common::get_json(app.url(&format!("/player_api.php?username={USER}&password={PASS}")))
                .await;
        assert_eq!(user["user_info"]["active_cons"], "0", "its slot is free");
    }
}
