//! The multiplexer and the public proxy, end to end: real sockets, the in-process
//! daemon, and the engine simulator. Every byte is checked as MPEG-TS with the
//! simulator's sequence numbers.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a panic here is a failed test

mod common;

use std::time::Duration;

use acestream_sim::ts::TsChecker;
use acestream_sim::{Content, Fault, Policies, SimConfig, Simulator};
use common::{ADMIN, TestApp, eventually, get_json, http};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const WAIT: Duration = Duration::from_secs(20);

async fn sim_with(contents: Vec<Content>) -> Simulator {
    Simulator::start(SimConfig {
        catalogue: contents,
        ..SimConfig::default()
    })
    .await
    .unwrap()
}

/// Reads until `checker` has seen `packets` packets; panics if the body ends first.
async fn read_packets(resp: &mut reqwest::Response, checker: &mut TsChecker, packets: u64) {
    while checker.packets < packets {
        let chunk = tokio::time::timeout(WAIT, resp.chunk())
            .await
            .expect("no bytes in time")
            .expect("read error")
            .expect("stream ended early");
        checker.feed(&chunk);
    }
}

async fn open(url: &str) -> reqwest::Response {
    let resp = http().get(url).send().await.unwrap();
    assert_eq!(resp.status(), 200, "{url}");
    assert_eq!(resp.headers()["content-type"], "video/mp2t");
    resp
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_viewers_share_one_engine_session_and_each_gets_every_packet() {
    let ch = Content::new("Shared");
    let sim = sim_with(vec![ch.clone()]).await;
    let app = TestApp::start(&sim.url(), |_| {}).await;
    // Players send their own pid; it must never reach the engine.
    let url = app.stream_url("id", &ch.content_id) + "&pid=player-pid-1";
    let mut readers = Vec::new();
    for _ in 0..5 {
        let url = url.clone();
        readers.push(tokio::spawn(async move {
            let mut resp = open(&url).await;
            let mut c = TsChecker::default();
            read_packets(&mut resp, &mut c, 3000).await;
            c
        }));
    }
    for r in readers {
        let c = r.await.unwrap();
        assert!(c.is_contiguous(), "{c:?}");
        assert_eq!(c.sync_errors, 0);
        assert_eq!(c.first_pid, Some(0), "every viewer starts at a PAT");
    }
    let state = sim.introspect();
    assert_eq!(
        state.getstream_calls.len(),
        1,
        "one engine session for five viewers"
    );
    assert_eq!(state.playback_opens, 1, "one reader of the playback URL");
    let call = &state.getstream_calls[0];
    assert_eq!(call.param, "id");
    let pid = call.pid.clone().expect("acextream sends a pid");
    assert_ne!(pid, "player-pid-1");
    assert!(pid.len() >= 16, "a fresh random pid: {pid}");
    assert!(
        !call
            .query
            .iter()
            .any(|(k, v)| k == "username" || k == "password" || v == "player-pid-1")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_late_joiner_starts_at_a_pat_on_a_packet_boundary() {
    let ch = Content::new("Late");
    let sim = sim_with(vec![ch.clone()]).await;
    let app = TestApp::start(&sim.url(), |_| {}).await;
    let url = app.stream_url("id", &ch.content_id);
    let mut first = open(&url).await;
    let mut c1 = TsChecker::default();
    read_packets(&mut first, &mut c1, 4000).await;
    let mut late = open(&url).await;
    let mut c2 = TsChecker::default();
    read_packets(&mut late, &mut c2, 2000).await;
    read_packets(&mut first, &mut c1, 8000).await;
    assert_eq!(
        c2.first_pid,
        Some(0),
        "the late joiner's first packet is a PAT"
    );
    assert!(c2.is_contiguous() && c1.is_contiguous(), "{c1:?} {c2:?}");
    assert!(c2.first_seq > c1.first_seq, "it joined near the live edge");
    assert_eq!(sim.introspect().getstream_calls.len(), 1);

    // The public status shows the count; who watches is for admins only.
    let status_url = app.url(&format!("/ace/status?id={}", ch.content_id));
    let public: serde_json::Value = http()
        .get(&status_url)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(public["clients"], 2);
    assert_eq!(public["stream_id"], ch.content_id);
    assert!(
        public.get("viewers").is_none() && public.get("stat_url").is_none(),
        "{public}"
    );
    let admin: serde_json::Value = http()
        .get(&status_url)
        .basic_auth(ADMIN.0, Some(ADMIN.1))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(admin["viewers"].as_array().unwrap().len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn head_answers_stream_headers_without_an_engine_session() {
    let ch = Content::new("Head");
    let sim = sim_with(vec![ch.clone()]).await;
    let app = TestApp::start(&sim.url(), |_| {}).await;
    let resp = http()
        .head(app.stream_url("id", &ch.content_id))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["content-type"], "video/mp2t");
    let mux = http()
        .head(app.mux_url(&format!("/ace/getstream?id={}", ch.content_id)))
        .send()
        .await
        .unwrap();
    assert_eq!(mux.status(), 200);
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(sim.introspect().getstream_calls.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_channels_get_two_sessions_and_infohash_stays_infohash() {
    let a = Content::new("Alpha");
    let b = Content::new("Beta");
    let sim = sim_with(vec![a.clone(), b.clone()]).await;
    let app = TestApp::start(&sim.url(), |_| {}).await;
    let mut ra = open(&app.stream_url("id", &a.content_id)).await;
    let url_b = app.stream_url("infohash", &b.infohash) + "&transcode_audio=1&sid=evil";
    let mut rb = open(&url_b).await;
    let (mut ca, mut cb) = (TsChecker::default(), TsChecker::default());
    read_packets(&mut ra, &mut ca, 1000).await;
    read_packets(&mut rb, &mut cb, 1000).await;
    assert!(ca.is_contiguous() && cb.is_contiguous());
    let state = sim.introspect();
    assert_eq!(state.getstream_calls.len(), 2);
    let call_b = state
        .getstream_calls
        .iter()
        .find(|c| c.param == "infohash")
        .expect("infohash=");
    assert_eq!(call_b.value, b.infohash);
    assert!(
        call_b
            .query
            .iter()
            .any(|(k, v)| k == "transcode_audio" && v == "1")
    );
    assert!(!call_b.query.iter().any(|(k, _)| k == "sid"));
    let pids: std::collections::HashSet<_> = state
        .getstream_calls
        .iter()
        .map(|c| c.pid.clone())
        .collect();
    assert_eq!(pids.len(), 2, "each session has its own pid");
    let status: serde_json::Value = get_json(app.url("/ace/status")).await;
    assert_eq!(status["streams"], 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_viewer_that_stops_reading_does_not_hold_back_the_others() {
    // 40 Mbit/s, so the stalled viewer's socket buffers fill within seconds; a short
    // burst, so the healthy viewer is never more than the lag limit behind.
    let mut ch = Content::new("Fast");
    ch.bitrate_bps = 40_000_000;
    let sim = Simulator::start(SimConfig {
        catalogue: vec![ch.clone()],
        burst: Duration::from_millis(20),
        ..SimConfig::default()
    })
    .await
    .unwrap();
    let app = TestApp::start(&sim.url(), |s| {
        s.mux.max_client_lag_bytes = 2 * 1024 * 1024;
        s.mux.instant_start_bytes = 256 * 1024;
    })
    .await;
    let url = app.stream_url("id", &ch.content_id);
    let path = url
        .trim_start_matches(&format!("http://{}", app.public))
        .to_owned();
    // The stalled player: a raw socket with a small receive buffer that reads the
    // headers and then nothing.
    let sock = tokio::net::TcpSocket::new_v4().unwrap();
    sock.set_recv_buffer_size(8192).unwrap();
    let mut stalled = sock.connect(app.public).await.unwrap();
    stalled
        .write_all(
            format!("GET {path} HTTP/1.1\r\nHost: x\r\nUser-Agent: stalled\r\n\r\n").as_bytes(),
        )
        .await
        .unwrap();
    let mut head = [0u8; 512];
    let n = stalled.read(&mut head).await.unwrap();
    assert!(String::from_utf8_lossy(&head[..n]).starts_with("HTTP/1.1 200"));

    let mut healthy = open(&url).await;
    let mut c = TsChecker::default();
    // About 26 MB: far more than every buffer between the mux and the stalled socket.
    read_packets(&mut healthy, &mut c, 140_000).await;
    assert!(c.is_contiguous(), "the healthy viewer lost nothing: {c:?}");

    let stalled_status = async || {
        let status: serde_json::Value =
            get_json(app.mux_url(&format!("/ace/status?id={}", ch.content_id))).await;
        assert_eq!(status["clients"], 2);
        status["viewers"]
            .as_array()
            .unwrap()
            .iter()
            .find(|v| v["user_agent"] == "stalled")
            .expect("stalled viewer listed")
            .clone()
    };
    let view = stalled_status().await;
    assert!(
        view["lag_bytes"].as_u64().unwrap() > 2 * 1024 * 1024,
        "{view}"
    );
    assert_eq!(view["user"], ADMIN.0);

    // When it reads again it is moved to the live edge instead of replaying the past.
    let mut sink = vec![0u8; 1 << 16];
    let resumed = eventually(WAIT, async || {
        for _ in 0..64 {
            let _ = stalled.read(&mut sink).await;
        }
        stalled_status().await["skips"].as_u64().unwrap() >= 1
    })
    .await;
    assert!(resumed, "the stalled viewer skipped forward");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_engine_is_stopped_once_after_the_grace_and_not_when_a_viewer_returns() {
    let ch = Content::new("Grace");
    let sim = sim_with(vec![ch.clone()]).await;
    let app = TestApp::start(&sim.url(), |s| s.mux.idle_grace = Duration::from_secs(2)).await;
    let url = app.stream_url("id", &ch.content_id);
    let mut c = TsChecker::default();
    let mut r = open(&url).await;
    read_packets(&mut r, &mut c, 500).await;
    drop(r);
    // Zapping back inside the grace reuses the session.
    let mut r = open(&url).await;
    read_packets(&mut r, &mut TsChecker::default(), 500).await;
    assert_eq!(sim.introspect().stop_calls, 0);
    assert_eq!(sim.introspect().getstream_calls.len(), 1);
    drop(r);
    assert!(
        eventually(WAIT, async || sim.introspect().stop_calls >= 1).await,
        "stop after the grace"
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    let state = sim.introspect();
    assert_eq!(state.stop_calls, 1, "exactly one stop");
    assert!(state.sessions.iter().all(|s| s.stopped));
    let status: serde_json::Value = get_json(app.mux_url("/ace/status")).await;
    assert_eq!(status["streams"], 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn engine_failures_reach_the_player_as_status_codes_before_any_byte() {
    let mut offline = Content::new("Offline");
    offline.fault = Fault::Offline;
    let mut silent = Content::new("Silent");
    silent.fault = Fault::Silent;
    let mut refused = Content::new("Refused");
    refused.fault = Fault::Error {
        status: 200,
        message: "failed to load content".into(),
    };
    let mut crashed = Content::new("Crashed");
    crashed.fault = Fault::Error {
        status: 500,
        message: "internal engine error".into(),
    };
    let sim = sim_with(vec![
        offline.clone(),
        silent.clone(),
        refused.clone(),
        crashed.clone(),
    ])
    .await;
    let app = TestApp::start(&sim.url(), |s| {
        s.mux.response_timeout = Duration::from_secs(2)
    })
    .await;
    let c = http();
    let cases = [
        (&offline.content_id, 504, "in time"),
        (&silent.content_id, 504, "in time"),
        (&refused.content_id, 502, "failed to load content"),
        (&crashed.content_id, 502, "500"),
        (&"f".repeat(40), 502, "failed to load content"),
    ];
    for (id, status, text) in cases {
        let resp = c.get(app.stream_url("id", id)).send().await.unwrap();
        assert_eq!(resp.status(), status, "{id}");
        assert!(
            resp.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with("text/plain")
        );
        let body = resp.text().await.unwrap();
        assert!(body.contains(text), "{id}: {body}");
    }
    let bad = c.get(app.stream_url("id", "not-hex")).send().await.unwrap();
    assert_eq!(bad.status(), 400);
    // Several links are a failover list; a channel that is not an id is a 400.
    let bad_channel = c
        .get(app.mux_url(&format!("/ace/getstream?id={}&channel=x", "a".repeat(40))))
        .send()
        .await
        .unwrap();
    assert_eq!(bad_channel.status(), 400);
    // The failed sessions that did open (offline, silent) were stopped.
    assert!(eventually(WAIT, async || sim.introspect().live_sessions().is_empty()).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_engine_is_a_503_with_the_reason_not_an_empty_200() {
    let app = TestApp::start("http://127.0.0.1:9", |_| {}).await;
    let resp = http()
        .get(app.stream_url("id", &"a".repeat(40)))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 503, "no engine of the pool is up");
    let text = resp.text().await.unwrap();
    assert!(
        text.contains("no engine") && text.contains("127.0.0.1:9"),
        "{text}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_engine_restart_mid_stream_keeps_the_viewers_connected() {
    let ch = Content::new("Restart");
    let sim = sim_with(vec![ch.clone()]).await;
    let app = TestApp::start(&sim.url(), |s| s.mux.max_reopens = 5).await;
    let mut r = open(&app.stream_url("id", &ch.content_id)).await;
    let mut c = TsChecker::default();
    read_packets(&mut r, &mut c, 2000).await;
    let sessions_before = sim.introspect().sessions.len();
    sim.restart(Duration::from_secs(1)).await;
    // Same connection: the viewer sees a pause (and a jump in the live position).
    let target = c.packets + 4000;
    read_packets(&mut r, &mut c, target).await;
    assert_eq!(c.sync_errors, 0);
    assert_eq!(c.duplicates_or_reorders, 0);
    let state = sim.introspect();
    assert!(
        state.getstream_calls.len() >= 2,
        "a new engine session was opened"
    );
    assert!(state.sessions.len() > sessions_before);
    let status: serde_json::Value = http()
        .get(app.mux_url(&format!("/ace/status?id={}", ch.content_id)))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(status["reopens"].as_u64().unwrap() >= 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_stops_every_engine_session_and_ends_the_bodies() {
    let a = Content::new("ShutA");
    let b = Content::new("ShutB");
    let sim = sim_with(vec![a.clone(), b.clone()]).await;
    let mut app = TestApp::start(&sim.url(), |s| s.mux.idle_grace = Duration::from_secs(60)).await;
    let mut ra = open(&app.stream_url("id", &a.content_id)).await;
    let mut rb = open(&app.stream_url("id", &b.content_id)).await;
    read_packets(&mut ra, &mut TsChecker::default(), 200).await;
    read_packets(&mut rb, &mut TsChecker::default(), 200).await;
    tokio::time::timeout(Duration::from_secs(10), app.shutdown())
        .await
        .expect("shutdown is bounded")
        .unwrap();
    let state = sim.introspect();
    assert_eq!(state.stop_calls, 2, "{state:?}");
    assert!(state.live_sessions().is_empty());
    // The bodies end (or error), they do not hang.
    for r in [&mut ra, &mut rb] {
        let end = tokio::time::timeout(Duration::from_secs(5), async {
            while let Ok(Some(_)) = r.chunk().await {}
        })
        .await;
        assert!(end.is_ok(), "the body ended");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_public_getstream_needs_a_user_unless_opened_for_a_lan() {
    let ch = Content::new("Auth");
    let sim = sim_with(vec![ch.clone()]).await;
    let app = TestApp::start(&sim.url(), |_| {}).await;
    let bare = app.url(&format!("/ace/getstream?id={}", ch.content_id));
    assert_eq!(http().get(&bare).send().await.unwrap().status(), 401);
    let wrong = bare.clone() + "&username=admin&password=nope";
    assert_eq!(http().get(&wrong).send().await.unwrap().status(), 401);
    let basic = http()
        .get(&bare)
        .basic_auth(ADMIN.0, Some(ADMIN.1))
        .send()
        .await
        .unwrap();
    assert_eq!(basic.status(), 200);
    drop(basic);
    assert!(
        sim.introspect().getstream_calls.len() <= 1,
        "refused requests cost no session"
    );

    let open_app = TestApp::start(&sim.url(), |s| s.server.ace_proxy_auth = false).await;
    let url = open_app.url(&format!("/ace/getstream?id={}", ch.content_id));
    let mut r = open(&url).await;
    read_packets(&mut r, &mut TsChecker::default(), 100).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_engine_stop_that_hangs_blocks_nothing_else() {
    let a = Content::new("HangA");
    let b = Content::new("HangB");
    let sim = Simulator::start(SimConfig {
        catalogue: vec![a.clone(), b.clone()],
        // Far longer than the test may take: nothing may wait for this stop.
        policies: Policies {
            stop_hang_ms: 120_000,
            ..Policies::default()
        },
        ..SimConfig::default()
    })
    .await
    .unwrap();
    let app = TestApp::start(&sim.url(), |s| {
        s.mux.idle_grace = Duration::from_millis(200)
    })
    .await;
    let mut r = open(&app.stream_url("id", &a.content_id)).await;
    read_packets(&mut r, &mut TsChecker::default(), 200).await;
    drop(r);
    // The channel closes after the grace and its (hanging) stop is under way.
    let closed = eventually(WAIT, async || {
        let v: serde_json::Value = http()
            .get(app.mux_url("/ace/status"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        v["streams"] == 0
    })
    .await;
    assert!(closed);
    // A new channel, and the same channel again, start while that stop hangs.
    let mut rb = open(&app.stream_url("id", &b.content_id)).await;
    let mut ra = open(&app.stream_url("id", &a.content_id)).await;
    read_packets(&mut rb, &mut TsChecker::default(), 500).await;
    read_packets(&mut ra, &mut TsChecker::default(), 500).await;
    assert_eq!(sim.introspect().getstream_calls.len(), 3);
    let health = http().get(app.url("/health")).send().await.unwrap();
    assert_eq!(health.status(), 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_channels_play_at_once_each_on_its_own_session() {
    let channels: Vec<Content> = (0..50)
        .map(|i| Content::new(&format!("Many {i}")).with_bitrate(500_000))
        .collect();
    let sim = sim_with(channels.clone()).await;
    let app = TestApp::start(&sim.url(), |s| s.mux.idle_grace = Duration::from_secs(60)).await;
    let mut readers = Vec::new();
    for ch in &channels {
        let url = app.stream_url("id", &ch.content_id);
        readers.push(tokio::spawn(async move {
            let mut resp = open(&url).await;
            let mut c = TsChecker::default();
            read_packets(&mut resp, &mut c, 300).await;
            c
        }));
    }
    for r in readers {
        let c = r.await.unwrap();
        assert!(c.is_contiguous(), "{c:?}");
    }
    let state = sim.introspect();
    assert_eq!(state.getstream_calls.len(), 50);
    assert_eq!(state.live_sessions().len(), 50);
    let v: serde_json::Value = http()
        .get(app.mux_url("/ace/streams"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(v["streams"].as_array().unwrap().len(), 50);
}
