//! An engine that takes its time to answer `getstream` still gets its session
//! stopped when the multiplexer stopped waiting for it: the player left and the
//! idle grace ran out, or the start deadline passed. Without this, the engine
//! would keep that session (and its P2P download) running with nobody to stop it.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a panic here is a failed test

use std::net::SocketAddr;
use std::time::Duration;

use acestream_sim::{Content, SimConfig, Simulator};
use acextream_core::engine::pool::EnginePool;
use acextream_core::settings::{EngineSettings, MuxSettings};
use acextream_mux::Mux;
use acextream_mux::hub::{StartError, ViewerMeta};
use acextream_mux::links::ChannelRequest;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// How long the engine takes to answer getstream here.
const SLOW_START: Duration = Duration::from_millis(1500);

/// A loopback relay in front of `engine` that holds every connection whose first
/// request is a getstream for `delay` before passing it on.
async fn slow_getstream(engine: SocketAddr, delay: Duration) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut client, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut head = Vec::new();
                let mut buf = [0u8; 4096];
                while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                    match client.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => head.extend_from_slice(&buf[..n]),
                    }
                }
                if head.starts_with(b"GET /ace/getstream") {
                    tokio::time::sleep(delay).await;
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

async fn setup(
    tweak: impl FnOnce(&mut MuxSettings),
) -> (Simulator, std::sync::Arc<Mux>, ChannelRequest) {
    let ch = Content::new("Slow start");
    let sim = Simulator::start(SimConfig::with_catalogue(vec![ch.clone()]))
        .await
        .unwrap();
    let relay = slow_getstream(sim.addr(), SLOW_START).await;
    let engine = EnginePool::new(&EngineSettings {
        url: format!("http://{relay}").parse().unwrap(),
        request_timeout: Duration::from_secs(2),
        ..EngineSettings::default()
    })
    .unwrap();
    let mut settings = MuxSettings {
        idle_grace: Duration::from_millis(200),
        response_timeout: Duration::from_secs(10),
        stop_timeout: Duration::from_secs(1),
        ..MuxSettings::default()
    };
    tweak(&mut settings);
    let mux = Mux::new(settings, Default::default(), engine);
    let request = ChannelRequest::parse(&[("id".to_owned(), ch.content_id.clone())]).unwrap();
    (sim, mux, request)
}

/// Waits until the simulator has seen a session, then until every session it has
/// seen got exactly one stop; panics with its state if that does not happen.
async fn every_session_stopped_once(sim: &Simulator) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let state = sim.introspect();
        let done = !state.sessions.is_empty()
            && state
                .sessions
                .iter()
                .all(|s| s.stopped && s.stop_calls == 1);
        if done {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "engine sessions not stopped exactly once: {state:#?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_the_engine_hands_out_after_the_viewer_left_is_stopped() {
    let (sim, mux, key) = setup(|_| {}).await;
    let watcher = {
        let mux = mux.clone();
        tokio::spawn(async move { mux.watch(key, ViewerMeta::default()).await })
    };
    // The player gives up while getstream is still under way; the grace ends long
    // before the engine answers.
    tokio::time::sleep(Duration::from_millis(100)).await;
    watcher.abort();
    let _ = watcher.await;
    every_session_stopped_once(&sim).await;
    assert!(mux.hubs_snapshot().is_empty());
    let m = mux.metrics.snapshot();
    assert_eq!((m.sessions_opened, m.sessions_stopped), (1, 1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_the_engine_hands_out_after_the_start_deadline_is_stopped() {
    let (sim, mux, key) = setup(|s| {
        s.response_timeout = Duration::from_millis(500);
        s.link_start_timeout = Duration::from_millis(500);
    })
    .await;
    let r = mux.watch(key, ViewerMeta::default()).await;
    assert_eq!(r.err(), Some(StartError::Timeout));
    every_session_stopped_once(&sim).await;
}
