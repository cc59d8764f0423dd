//! HLS end to end through the public port, with the simulator's real H.264 + AAC
//! video: ffmpeg plays the Xtream `.m3u8` URL, 30 s of polling keep every RFC 8216
//! rule, TS and HLS viewers share one engine session, an HLS viewer holds a
//! connection slot until `hls.viewer_timeout`, the engine stops after the grace,
//! and a channel a browser cannot decode says why.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a panic here is a failed test

mod common;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use acestream_sim::{Content, Fault, SimConfig, Simulator, Video};
use common::{Api, TestApp, eventually, get_json, http};
use serde_json::json;

const USER: &str = "viewer";
const PASS: &str = "viewer-pass-1";

async fn sim_with(contents: Vec<Content>) -> Simulator {
    Simulator::start(SimConfig::with_catalogue(contents))
        .await
        .unwrap()
}

fn h264(name: &str) -> Content {
    Content::new(name).with_video(Video::H264)
}

async fn app_with(
    sim: &Simulator,
    max_connections: u32,
    tweak: impl FnOnce(&mut acextream_core::Settings),
) -> TestApp {
    let app = TestApp::start(&sim.url(), tweak).await;
    app.add_user(USER, PASS, max_connections).await;
    app
}

/// A channel with these links, by the REST API; its id.
async fn channel(app: &TestApp, name: &str, links: &[&Content]) -> i64 {
    common::channel_with_links(app, name, links).await
}

fn m3u8_url(app: &TestApp, id: i64) -> String {
    app.url(&format!("/live/{USER}/{PASS}/{id}.m3u8"))
}

/// GET with an optional `X-Forwarded-For` (the app trusts it in the tests that
/// need several player addresses).
async fn get(url: &str, from: Option<&str>) -> reqwest::Response {
    let mut req = http().get(url);
    if let Some(ip) = from {
        req = req.header("x-forwarded-for", ip);
    }
    req.send().await.unwrap()
}

/// Fetches the master playlist and returns its media playlist URL.
async fn media_url(master_url: &str, from: Option<&str>) -> String {
    let resp = get(master_url, from).await;
    assert_eq!(resp.status(), 200, "{master_url}");
    assert_eq!(
        resp.headers()["content-type"],
        "application/vnd.apple.mpegurl"
    );
    let text = resp.text().await.unwrap();
    assert!(text.starts_with("#EXTM3U\n"), "{text}");
    assert!(text.contains("#EXT-X-STREAM-INF:BANDWIDTH="), "{text}");
    assert!(text.contains("CODECS=\"avc1."), "codecs are known: {text}");
    assert!(
        !text.contains(PASS),
        "no password after the first URL: {text}"
    );
    text.lines()
        .find(|l| l.starts_with("http"))
        .expect("a media playlist URL")
        .to_owned()
}

/// One media playlist, parsed.
#[derive(Debug, Default)]
struct Media {
    version: Option<u32>,
    target: u64,
    sequence: u64,
    discontinuity_sequence: Option<u64>,
    /// (seq, duration, discontinuity before it, has program-date-time, uri)
    segments: Vec<(u64, f64, bool, bool, String)>,
}

fn parse_media(text: &str) -> Media {
    assert!(text.starts_with("#EXTM3U\n"), "{text}");
    assert!(!text.contains("#EXT-X-ENDLIST"), "live: {text}");
    let mut m = Media::default();
    let (mut duration, mut disc, mut pdt) = (None, false, false);
    for line in text.lines() {
        if let Some(v) = line.strip_prefix("#EXT-X-VERSION:") {
            m.version = v.parse().ok();
        } else if let Some(v) = line.strip_prefix("#EXT-X-TARGETDURATION:") {
            m.target = v.parse().unwrap();
        } else if let Some(v) = line.strip_prefix("#EXT-X-MEDIA-SEQUENCE:") {
            m.sequence = v.parse().unwrap();
        } else if let Some(v) = line.strip_prefix("#EXT-X-DISCONTINUITY-SEQUENCE:") {
            m.discontinuity_sequence = v.parse().ok();
        } else if line == "#EXT-X-DISCONTINUITY" {
            disc = true;
        } else if let Some(v) = line.strip_prefix("#EXT-X-PROGRAM-DATE-TIME:") {
            assert!(
                jiff::Timestamp::strptime("%Y-%m-%dT%H:%M:%S%.f%:z", v).is_ok()
                    || v.parse::<jiff::Timestamp>().is_ok(),
                "ISO-8601 with zone: {v}"
            );
            pdt = true;
        } else if let Some(v) = line.strip_prefix("#EXTINF:") {
            duration = Some(
                v.trim_end_matches(',')
                    .split(',')
                    .next()
                    .unwrap()
                    .parse()
                    .unwrap(),
            );
        } else if !line.starts_with('#') && !line.is_empty() {
            let seq = m.sequence + m.segments.len() as u64;
            m.segments.push((
                seq,
                duration.take().expect("EXTINF before URI"),
                disc,
                pdt,
                line.to_owned(),
            ));
            (disc, pdt) = (false, false);
        }
    }
    m
}

/// The PID of the TS packet at `at`.
fn pid_at(bytes: &[u8], at: usize) -> u16 {
    (u16::from(bytes[at + 1] & 0x1f) << 8) | u16::from(bytes[at + 2])
}

/// Checks one segment: whole packets, starts with a PAT then the PMT.
fn check_segment(bytes: &[u8], pmt_pid: &mut Option<u16>) {
    assert!(bytes.len() >= 3 * 188, "{} bytes", bytes.len());
    assert_eq!(bytes.len() % 188, 0, "whole packets only");
    assert!(
        bytes.chunks(188).all(|p| p[0] == 0x47),
        "every packet in sync"
    );
    assert_eq!(pid_at(bytes, 0), 0, "starts with the PAT");
    assert!(bytes[1] & 0x40 != 0, "the PAT starts its section");
    let second = pid_at(bytes, 188);
    match pmt_pid {
        Some(p) => assert_eq!(second, *p, "then the PMT"),
        None => *pmt_pid = Some(second),
    }
}

/// Polls a media playlist for `span`, checking RFC 8216's live rules on every
/// reload and every new segment; returns how many discontinuities appeared.
async fn poll_and_check(media: &str, span: Duration, from: Option<&str>) -> (usize, u64) {
    let started = Instant::now();
    let mut target = None;
    let mut last_seq: Option<u64> = None;
    let mut last_disc_seq = 0;
    let mut seen: BTreeMap<u64, bool> = BTreeMap::new();
    let mut uris: BTreeMap<u64, String> = BTreeMap::new();
    let mut pmt_pid = None;
    while started.elapsed() < span {
        let resp = get(media, from).await;
        assert_eq!(resp.status(), 200);
        assert_eq!(resp.headers()["cache-control"], "no-cache");
        let m = parse_media(&resp.text().await.unwrap());
        assert_eq!(m.version, Some(3));
        let t = *target.get_or_insert(m.target);
        assert_eq!(m.target, t, "EXT-X-TARGETDURATION never changes");
        assert!(!m.segments.is_empty());
        if let Some(prev) = last_seq {
            assert!(m.sequence >= prev, "EXT-X-MEDIA-SEQUENCE never goes back");
        }
        last_seq = Some(m.sequence);
        let disc_seq = m
            .discontinuity_sequence
            .expect("EXT-X-DISCONTINUITY-SEQUENCE");
        assert!(disc_seq >= last_disc_seq);
        last_disc_seq = disc_seq;
        for (seq, duration, disc, pdt, uri) in &m.segments {
            assert!(
                duration.round() as u64 <= t,
                "EXTINF {duration} rounds above the target {t}"
            );
            assert!(*pdt, "EXT-X-PROGRAM-DATE-TIME on every segment");
            assert!(!uri.contains(PASS), "no password in a segment URL");
            let first_uri = uris.entry(*seq).or_insert_with(|| uri.clone());
            assert_eq!(
                first_uri, uri,
                "a segment's URL never changes between reloads"
            );
            if seen.contains_key(seq) {
                continue;
            }
            if let Some((&newest, _)) = seen.last_key_value() {
                assert_eq!(*seq, newest + 1, "one new sequence number per new segment");
            }
            seen.insert(*seq, *disc);
            let resp = get(uri, from).await;
            assert_eq!(resp.status(), 200, "{uri}");
            assert_eq!(resp.headers()["content-type"], "video/mp2t");
            let bytes = resp.bytes().await.unwrap();
            check_segment(&bytes, &mut pmt_pid);
        }
        tokio::time::sleep(Duration::from_millis(1000)).await;
    }
    let discontinuities = seen.values().skip(1).filter(|d| **d).count();
    (discontinuities, seen.len() as u64)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thirty_seconds_of_polling_keep_rfc_8216_and_a_link_switch_is_a_discontinuity() {
    let first = h264("Goes quiet").with_fault(Fault::SilentAfter {
        at_secs: 12.0,
        first_session_only: false,
    });
    let backup = h264("Backup");
    let sim = sim_with(vec![first.clone(), backup.clone()]).await;
    let app = app_with(&sim, 5, |s| s.mux.stall_timeout = Duration::from_secs(2)).await;
    let id = channel(&app, "Match", &[&first, &backup]).await;
    let media = media_url(&m3u8_url(&app, id), None).await;
    let (discontinuities, segments) = poll_and_check(&media, Duration::from_secs(30), None).await;
    assert!(segments >= 4, "{segments} segments in 30 s");
    assert!(
        discontinuities >= 1,
        "the switch to the backup is marked EXT-X-DISCONTINUITY"
    );
    let status = get_json(app.mux_url(&format!("/ace/status?channel={id}"))).await;
    assert_eq!(status["link"]["index"], 1, "{status}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_engine_reopen_is_a_discontinuity_too() {
    let flaky = h264("Drops once").with_fault(Fault::Disconnect {
        at_secs: 10.0,
        first_session_only: true,
    });
    let sim = sim_with(vec![flaky.clone()]).await;
    let app = app_with(&sim, 5, |_| {}).await;
    let id = channel(&app, "Flaky", &[&flaky]).await;
    let media = media_url(&m3u8_url(&app, id), None).await;
    let (discontinuities, _) = poll_and_check(&media, Duration::from_secs(22), None).await;
    assert!(discontinuities >= 1, "the re-open is marked");
    let status = get_json(app.mux_url(&format!("/ace/status?channel={id}"))).await;
    assert!(status["reopens"].as_u64().unwrap() >= 1, "{status}");
}

/// Whether ffmpeg is installed; `.ci/run` installs it and sets
/// ACEXTREAM_REQUIRE_FFMPEG=1 so the test cannot be skipped there.
fn ffmpeg_available() -> bool {
    let found = std::process::Command::new("ffmpeg")
        .arg("-version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !found {
        assert!(
            std::env::var_os("ACEXTREAM_REQUIRE_FFMPEG").is_none(),
            "ffmpeg is required (ACEXTREAM_REQUIRE_FFMPEG) but not installed"
        );
        eprintln!("SKIPPED: ffmpeg is not installed (scripts/make_test_video.sh installs it)");
    }
    found
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ffmpeg_plays_the_xtream_m3u8_url_for_20_seconds_without_an_error() {
    if !ffmpeg_available() {
        return;
    }
    let tv = h264("Test card");
    let sim = sim_with(vec![tv.clone()]).await;
    let app = app_with(&sim, 5, |_| {}).await;
    let id = channel(&app, "Test card", &[&tv]).await;
    let url = m3u8_url(&app, id);
    let out = tokio::process::Command::new("ffmpeg")
        .args([
            "-nostdin", "-v", "error", "-i", &url, "-t", "20", "-f", "null", "-",
        ])
        .output()
        .await
        .unwrap();
    let errors = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "ffmpeg failed: {errors}");
    assert!(errors.trim().is_empty(), "ffmpeg reported: {errors}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_ts_and_three_hls_viewers_share_one_engine_session() {
    let tv = h264("Shared");
    let sim = sim_with(vec![tv.clone()]).await;
    let app = app_with(&sim, 0, |s| s.server.trust_forwarded_headers = true).await;
    let id = channel(&app, "Shared", &[&tv]).await;
    let mut ts = get(
        &app.url(&format!("/live/{USER}/{PASS}/{id}.ts")),
        Some("10.0.0.1"),
    )
    .await;
    assert_eq!(ts.status(), 200);
    assert!(ts.chunk().await.unwrap().is_some());
    for n in 2..=4 {
        let from = format!("10.0.0.{n}");
        let media = media_url(&m3u8_url(&app, id), Some(&from)).await;
        let m = parse_media(&get(&media, Some(&from)).await.text().await.unwrap());
        let uri = &m.segments.last().unwrap().4;
        assert_eq!(get(uri, Some(&from)).await.status(), 200);
    }
    let status = get_json(app.mux_url(&format!("/ace/status?channel={id}"))).await;
    assert_eq!(status["ts_viewers"], 1, "{status}");
    assert_eq!(status["hls_viewers"], 3, "{status}");
    assert_eq!(status["clients"], 4, "{status}");
    let calls = sim.introspect().getstream_calls.len();
    assert_eq!(calls, 1, "one engine session for TS and HLS viewers");
    let (_, users) = Api(&app).get("/api/users").await;
    let viewer = users
        .as_array()
        .or_else(|| users["users"].as_array())
        .unwrap()
        .iter()
        .find(|u| u["username"] == USER)
        .cloned()
        .unwrap();
    assert_eq!(viewer["active_cons"], 4, "{viewer}");
    let metrics = Api(&app).get_text("/metrics").await;
    assert!(metrics.contains("acextream_hls_viewers 3"), "{metrics}");
    drop(ts);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_hls_viewer_holds_its_slot_until_the_viewer_timeout_then_the_engine_stops() {
    let tv = h264("Limited");
    let sim = sim_with(vec![tv.clone()]).await;
    let app = app_with(&sim, 1, |s| {
        s.server.trust_forwarded_headers = true;
        s.hls.viewer_timeout = Duration::from_secs(5);
        s.mux.idle_grace = Duration::from_secs(1);
    })
    .await;
    let id = channel(&app, "Limited", &[&tv]).await;
    let ts_url = app.url(&format!("/live/{USER}/{PASS}/{id}.ts"));
    let media = media_url(&m3u8_url(&app, id), Some("10.0.0.1")).await;
    // The same address switching to TS of the same channel is the same connection.
    let same = get(&ts_url, Some("10.0.0.1")).await;
    assert_eq!(
        same.status(),
        200,
        "TS and HLS of one channel from one address"
    );
    drop(same);
    assert_eq!(get(&media, Some("10.0.0.1")).await.status(), 200);
    // Another address is another connection: refused while the HLS viewer polls.
    let other = get(&ts_url, Some("10.0.0.2")).await;
    assert_eq!(other.status(), 403, "the HLS viewer holds the only slot");
    let other_hls = get(&m3u8_url(&app, id), Some("10.0.0.2")).await;
    assert_eq!(other_hls.status(), 403);
    // The viewer stops polling: after the timeout its slot is free…
    assert!(
        eventually(Duration::from_secs(15), async || {
            get(&ts_url, Some("10.0.0.2")).await.status() == 200
        })
        .await,
        "the slot frees after hls.viewer_timeout"
    );
    // …and with nobody left, the engine session is stopped after the grace.
    assert!(
        eventually(Duration::from_secs(20), async || {
            sim.introspect().live_sessions().is_empty()
        })
        .await,
        "the engine is stopped once the last HLS and TS viewers are gone"
    );
    // A viewer back from a long pause takes a free slot again; the channel restarts.
    assert_eq!(get(&media, Some("10.0.0.1")).await.status(), 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_mpeg2_channel_says_why_it_has_no_hls() {
    let old = Content::new("Old encoder").with_video(Video::Mpeg2);
    let sim = sim_with(vec![old.clone()]).await;
    let app = app_with(&sim, 5, |_| {}).await;
    let id = channel(&app, "Old", &[&old]).await;
    let resp = get(&m3u8_url(&app, id), None).await;
    assert_eq!(resp.status(), 415);
    let body: serde_json::Value = resp.json().await.unwrap();
    let message = body["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("H.264") && message.contains("MPEG-2"),
        "{message}"
    );
    let ts = get(&app.url(&format!("/live/{USER}/{PASS}/{id}.ts")), None).await;
    assert_eq!(ts.status(), 200, "TS still plays");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_engine_path_and_the_xtream_playlist_offer_hls() {
    let tv = h264("Engine path");
    let sim = sim_with(vec![tv.clone()]).await;
    let app = app_with(&sim, 5, |_| {}).await;
    let id = channel(&app, "Engine path", &[&tv]).await;
    // /ace/manifest.m3u8 with the engine's parameter, authenticated like getstream.
    let manifest = app
        .stream_url("id", &tv.content_id)
        .replace("/ace/getstream", "/ace/manifest.m3u8");
    let media = media_url(&manifest, None).await;
    let m = parse_media(&get(&media, None).await.text().await.unwrap());
    assert!(!m.segments.is_empty());
    // Its catalogue channel's hub: one engine session with the Xtream viewers.
    let status = get_json(app.mux_url(&format!("/ace/status?channel={id}"))).await;
    assert_eq!(status["hls_viewers"], 1, "{status}");
    // get.php?output=m3u8 and output=hls list .m3u8 URLs.
    for output in ["m3u8", "hls"] {
        let text = http()
            .get(app.url(&format!(
                "/get.php?username={USER}&password={PASS}&type=m3u_plus&output={output}"
            )))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(
            text.contains(&format!("/live/{USER}/{PASS}/{id}.m3u8")),
            "{text}"
        );
    }
    let login =
        get_json(app.url(&format!("/player_api.php?username={USER}&password={PASS}"))).await;
    assert_eq!(
        login["user_info"]["allowed_output_formats"],
        json!(["m3u8", "ts"])
    );
    // A ticket that was tampered with opens nothing.
    let forged = media.replacen("/hls/", "/hls/x", 1);
    assert_eq!(get(&forged, None).await.status(), 403);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_password_or_a_disabled_account_ends_hls_sessions_at_once() {
    let tv = h264("Private");
    let sim = sim_with(vec![tv.clone()]).await;
    let app = app_with(&sim, 2, |_| {}).await;
    let id = channel(&app, "Private", &[&tv]).await;
    let media = media_url(&m3u8_url(&app, id), None).await;
    assert_eq!(get(&media, None).await.status(), 200);
    let (_, users) = Api(&app).get("/api/users").await;
    let uid = users
        .as_array()
        .or_else(|| users["users"].as_array())
        .unwrap()
        .iter()
        .find(|u| u["username"] == USER)
        .unwrap()["id"]
        .as_i64()
        .unwrap();
    let (status, body) = Api(&app)
        .put(
            &format!("/api/users/{uid}"),
            json!({"password": "a-new-pass-2"}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        get(&media, None).await.status(),
        403,
        "the old session does not outlive the password"
    );
    let fresh = app.url(&format!("/live/{USER}/a-new-pass-2/{id}.m3u8"));
    let media = media_url(&fresh, None).await;
    assert_eq!(get(&media, None).await.status(), 200);
    let (status, _) = Api(&app)
        .put(&format!("/api/users/{uid}"), json!({"enabled": false}))
        .await;
    assert_eq!(status, 200);
    assert_eq!(get(&media, None).await.status(), 403, "nor the account");
}
