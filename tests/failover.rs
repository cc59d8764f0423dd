//! Channels that never go dark, end to end through the public port: backup links
//! tried at start and switched to while viewers stay connected (with the output
//! still valid MPEG-TS), links in cool-down skipped, and a pool of simulated
//! engines sharing the channels — one killed, its channels moving to the other.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a panic here is a failed test

mod common;

use std::time::Duration;

use acestream_sim::ts::TsChecker;
use acestream_sim::{Content, Fault, SimConfig, Simulator};
use common::{Api, TestApp, eventually, get_json, http};

const WAIT: Duration = Duration::from_secs(20);

async fn sim_with(contents: Vec<Content>) -> Simulator {
    Simulator::start(SimConfig::with_catalogue(contents))
        .await
        .unwrap()
}

fn error_fault() -> Fault {
    Fault::Error {
        status: 200,
        message: "failed to load content".into(),
    }
}

/// A channel with these links, by the REST API; its id.
async fn channel(app: &TestApp, name: &str, links: &[&Content]) -> i64 {
    common::channel_with_links(app, name, links).await
}

/// acextream on `engine` with a player account `viewer`.
async fn app_with(engine: &str, tweak: impl FnOnce(&mut acextream_core::Settings)) -> TestApp {
    let app = TestApp::start(engine, tweak).await;
    app.add_user("viewer", "viewer-pass-1", 50).await;
    app
}

/// The Xtream stream URL of a channel.
fn live_url(app: &TestApp, id: i64) -> String {
    app.url(&format!("/live/viewer/viewer-pass-1/{id}.ts"))
}

async fn open(url: &str) -> reqwest::Response {
    let resp = http().get(url).send().await.unwrap();
    assert_eq!(resp.status(), 200, "{url}");
    resp
}

/// Reads until `done(checker)`; panics if the body ends or pauses for `WAIT`.
async fn read_until(
    resp: &mut reqwest::Response,
    checker: &mut TsChecker,
    mut done: impl FnMut(&TsChecker) -> bool,
) {
    while !done(checker) {
        let chunk = tokio::time::timeout(WAIT, resp.chunk())
            .await
            .expect("no bytes in time")
            .expect("read error")
            .expect("the stream ended: the viewer was cut");
        checker.feed(&chunk);
    }
}

fn calls_for(sim: &Simulator, c: &Content) -> usize {
    sim.introspect()
        .getstream_calls
        .iter()
        .filter(|call| call.value == c.content_id)
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_erroring_first_link_is_passed_over_before_the_viewer_sees_a_status() {
    let bad = Content::new("Broken link").with_fault(error_fault());
    let good = Content::new("Good link");
    let sim = sim_with(vec![bad.clone(), good.clone()]).await;
    let app = app_with(&sim.url(), |_| {}).await;
    let id = channel(&app, "News", &[&bad, &good]).await;
    let mut resp = open(&live_url(&app, id)).await;
    let mut c = TsChecker::default();
    read_until(&mut resp, &mut c, |c| c.data_packets >= 2000).await;
    assert_eq!(
        c.tags,
        vec![good.tag()],
        "only the good link's bytes: {c:?}"
    );
    assert!(c.is_contiguous(), "{c:?}");
    assert_eq!(c.first_pid, Some(0), "starts at a PAT");
    assert_eq!((calls_for(&sim, &bad), calls_for(&sim, &good)), (1, 1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_link_failing_is_one_error_naming_the_last_reason() {
    let a = Content::new("Dead A").with_fault(error_fault());
    let b = Content::new("Dead B").with_fault(Fault::Offline);
    let sim = sim_with(vec![a.clone(), b.clone()]).await;
    let app = app_with(&sim.url(), |s| {
        s.mux.link_start_timeout = Duration::from_secs(1);
    })
    .await;
    let id = channel(&app, "Dark", &[&a, &b]).await;
    let resp = http().get(live_url(&app, id)).send().await.unwrap();
    assert_eq!(resp.status(), 504, "the last link timed out");
    let text = resp.text().await.unwrap();
    assert!(text.contains("all 2 links failed"), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_link_that_goes_silent_is_switched_with_the_viewer_still_connected() {
    let silent = Content::new("Silent after 3 s").with_fault(Fault::SilentAfter {
        at_secs: 3.0,
        first_session_only: false,
    });
    let good = Content::new("Backup");
    let sim = sim_with(vec![silent.clone(), good.clone()]).await;
    let app = app_with(&sim.url(), |s| {
        s.mux.stall_timeout = Duration::from_secs(3);
    })
    .await;
    let id = channel(&app, "Sport", &[&silent, &good]).await;
    let mut resp = open(&live_url(&app, id)).await;
    let mut c = TsChecker::default();
    let started = std::time::Instant::now();
    read_until(&mut resp, &mut c, |c| {
        c.tags.len() == 2 && c.data_packets_since_splice() >= 1000
    })
    .await;
    // 3 s of the first link, 3 s of silence, then the backup's pre-buffer.
    assert!(
        started.elapsed() < Duration::from_secs(3 + 3 + 8),
        "the backup played within the stall timeout and a few seconds"
    );
    assert_eq!(c.tags, vec![silent.tag(), good.tag()], "{c:?}");
    assert!(
        c.is_valid_spliced(),
        "valid, aligned TS across the switch: {c:?}"
    );
    assert!(c.discontinuities >= 1, "{c:?}");
    assert_eq!(c.splices_at_pat, c.splices, "the backup starts at its PAT");
    let status = get_json(app.mux_url(&format!("/ace/status?channel={id}"))).await;
    assert_eq!(status["link"]["index"], 1, "{status}");
    assert_eq!(status["recent_switches"][0]["reason"], "stall", "{status}");
    let metrics = Api(&app).get_text("/metrics").await;
    assert!(
        metrics.contains("acextream_link_switches_total{reason=\"stall\"} 1"),
        "{metrics}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twenty_viewers_follow_one_switch_on_one_engine_session() {
    let silent = Content::new("Goes quiet").with_fault(Fault::SilentAfter {
        at_secs: 2.0,
        first_session_only: false,
    });
    let good = Content::new("Holds up");
    let sim = sim_with(vec![silent.clone(), good.clone()]).await;
    let app = app_with(&sim.url(), |s| {
        s.mux.stall_timeout = Duration::from_secs(2);
    })
    .await;
    let id = channel(&app, "Crowd", &[&silent, &good]).await;
    let url = live_url(&app, id);
    let mut viewers = Vec::new();
    for _ in 0..20 {
        let url = url.clone();
        viewers.push(tokio::spawn(async move {
            let mut resp = open(&url).await;
            let mut c = TsChecker::default();
            read_until(&mut resp, &mut c, |c| {
                c.tags.len() == 2 && c.data_packets_since_splice() >= 500
            })
            .await;
            c
        }));
    }
    for v in viewers {
        let c = v.await.unwrap();
        assert_eq!(c.tags.last(), Some(&good.tag()), "{c:?}");
        assert!(c.is_valid_spliced(), "{c:?}");
    }
    assert_eq!(
        calls_for(&sim, &silent),
        1,
        "one session for twenty viewers"
    );
    assert_eq!(calls_for(&sim, &good), 1, "one session on the new link");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_link_in_cool_down_is_skipped_next_time() {
    let bad = Content::new("Failed lately").with_fault(error_fault());
    let good = Content::new("Steady");
    let sim = sim_with(vec![bad.clone(), good.clone()]).await;
    let app = app_with(&sim.url(), |s| {
        s.mux.idle_grace = Duration::from_millis(200);
    })
    .await;
    let id = channel(&app, "Movies", &[&bad, &good]).await;
    let url = live_url(&app, id);
    {
        let mut resp = open(&url).await;
        read_until(&mut resp, &mut TsChecker::default(), |c| c.packets >= 200).await;
    }
    // The failure reaches the link's health record; the channel closes when idle.
    let cooling = eventually(WAIT, async || {
        let (_, body) = Api(&app).get(&format!("/api/channels/{id}/links")).await;
        body["links"][0]["cooling"] == true && body["links"][0]["health"]["failures"] == 1
    })
    .await;
    assert!(cooling, "the broken link is in cool-down");
    assert!(
        eventually(
            WAIT,
            async || get_json(app.mux_url("/ace/status")).await["streams"] == 0
        )
        .await
    );
    let mut resp = open(&url).await;
    read_until(&mut resp, &mut TsChecker::default(), |c| c.packets >= 200).await;
    assert_eq!(calls_for(&sim, &bad), 1, "not tried again while cooling");
    assert_eq!(calls_for(&sim, &good), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pool_spreads_channels_and_a_killed_engine_moves_them_with_their_viewers() {
    let contents: Vec<Content> = (0..4).map(|i| Content::new(&format!("Pool {i}"))).collect();
    let sim_a = sim_with(contents.clone()).await;
    let sim_b = sim_with(contents.clone()).await;
    let urls = format!("{},{}", sim_a.url(), sim_b.url());
    let app = app_with(&sim_a.url(), move |s| {
        s.engine.urls = urls.split(',').map(|u| u.parse().unwrap()).collect();
        s.engine.health_interval = Duration::from_secs(1);
    })
    .await;
    let mut ids = Vec::new();
    for c in &contents {
        ids.push(channel(&app, &c.name, &[c]).await);
    }
    let mut readers = Vec::new();
    for id in &ids {
        let mut resp = open(&live_url(&app, *id)).await;
        let mut c = TsChecker::default();
        read_until(&mut resp, &mut c, |c| c.packets >= 500).await;
        readers.push((resp, c));
    }
    let live = |sim: &Simulator| sim.introspect().live_sessions().len();
    assert_eq!(
        (live(&sim_a), live(&sim_b)),
        (2, 2),
        "spread over both engines"
    );
    let health = get_json(app.url("/health")).await;
    assert_eq!(health["engine"]["engines"][0]["sessions"], 2, "{health}");

    sim_a.shutdown().await;
    // Every viewer keeps its connection and gets media again, now from B.
    for (resp, c) in &mut readers {
        let before = c.data_packets;
        read_until(resp, c, |c| c.data_packets >= before + 1000).await;
    }
    assert_eq!(live(&sim_b), 4, "B carries every channel now");
    let health = get_json(app.url("/health")).await;
    assert_eq!(health["engine"]["engines"][0]["state"], "down", "{health}");
    assert_eq!(health["engine"]["engines"][1]["sessions"], 4, "{health}");
    let metrics = Api(&app).get_text("/metrics").await;
    // Both of A's channels moved for engine_down; on a loaded machine one may move
    // twice (its first re-open raced the shutdown), so at least two.
    let moved: u64 = metrics
        .lines()
        .find_map(|l| l.strip_prefix("acextream_link_switches_total{reason=\"engine_down\"} "))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0);
    assert!(moved >= 2, "{metrics}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_pool_answers_503_with_a_reason_not_a_hang() {
    let a = Content::new("Only slot");
    let b = Content::new("No room");
    let sim = sim_with(vec![a.clone(), b.clone()]).await;
    let app = app_with(&sim.url(), |s| s.engine.max_sessions = 1).await;
    let first = channel(&app, "First", &[&a]).await;
    let second = channel(&app, "Second", &[&b]).await;
    let mut resp = open(&live_url(&app, first)).await;
    read_until(&mut resp, &mut TsChecker::default(), |c| c.packets >= 100).await;
    let refused = http().get(live_url(&app, second)).send().await.unwrap();
    assert_eq!(refused.status(), 503);
    assert!(refused.text().await.unwrap().contains("full"));
}
