//! Catch-up, black-box through the real binary and the engine simulator: an
//! archived channel is recorded through its shared hub and any past span plays
//! back over every Xtream timeshift form, as the bytes live viewers got then;
//! the ring survives `kill -9`, evicts oldest first, and a disk that refuses
//! writes stops recording with a warning while live viewing goes on.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use acestream_sim::ts::TsChecker;
use acestream_sim::{Content, SimConfig, Simulator};
use common::fixture::FixtureServer;
use common::{Daemon, eventually, http};
use futures_util::StreamExt;
use jiff::Timestamp;
use jiff::tz::TimeZone;
use reqwest::Method;
use serde_json::{Value, json};

const ZONE: &str = "Europe/Madrid";
const WAIT: Duration = Duration::from_secs(60);

/// A playlist of the contents, in order.
fn playlist(contents: &[&Content]) -> String {
    let mut out = String::from("#EXTM3U\n");
    for c in contents {
        out.push_str(&format!(
            "#EXTINF:-1 tvg-id=\"{}.id\",{}\nacestream://{}\n",
            c.name, c.name, c.content_id
        ));
    }
    out
}

/// The channel ids by name.
async fn channel_ids(d: &Daemon) -> std::collections::HashMap<String, i64> {
    let (_, body) = d.admin(Method::GET, "/api/channels", json!({})).await;
    body["channels"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["name"].as_str().unwrap().to_owned(),
                c["id"].as_i64().unwrap(),
            )
        })
        .collect()
}

async fn archive_status(d: &Daemon) -> Value {
    d.admin(Method::GET, "/api/archive", json!({})).await.1
}

fn channel_status(status: &Value, id: i64) -> Value {
    status["channels"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["channel_id"] == id)
        .cloned()
        .unwrap_or(Value::Null)
}

/// Wall time `t` as players send START, in the server's zone.
fn start_param(t: Timestamp, format: &str) -> String {
    t.to_zoned(TimeZone::get(ZONE).unwrap())
        .strftime(format)
        .to_string()
}

/// The sequence number of the first data packet of `bytes` (the simulator's
/// payload: "ACXS" then a big-endian u64).
fn first_seq(bytes: &[u8]) -> Option<u64> {
    let mut c = TsChecker::new();
    c.feed(bytes);
    c.first_seq
}

/// A live viewer that notes which sequence number arrived when.
struct LiveLog {
    samples: std::sync::Arc<std::sync::Mutex<Vec<(Timestamp, u64)>>>,
    task: tokio::task::JoinHandle<()>,
}

impl LiveLog {
    async fn start(url: String) -> LiveLog {
        let r = http().get(&url).send().await.unwrap();
        assert_eq!(r.status(), 200, "{url}");
        let samples = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let out = samples.clone();
        let task = tokio::spawn(async move {
            let mut body = r.bytes_stream();
            let mut checker = TsChecker::new();
            while let Some(Ok(chunk)) = body.next().await {
                checker.feed(&chunk);
                if let Some(seq) = checker.last_seq {
                    out.lock().unwrap().push((Timestamp::now(), seq));
                }
            }
        });
        LiveLog { samples, task }
    }

    /// The newest sequence number a live viewer had received by `t`.
    fn seq_at(&self, t: Timestamp) -> u64 {
        let samples = self.samples.lock().unwrap();
        samples
            .iter()
            .take_while(|(at, _)| *at <= t)
            .last()
            .map(|(_, s)| *s)
            .expect("the live viewer had bytes by then")
    }
}

impl Drop for LiveLog {
    fn drop(&mut self) {
        self.task.abort();
    }
}

struct Setup {
    _sim: Simulator,
    _lists: FixtureServer,
    _guides: FixtureServer,
    d: Daemon,
    dir: tempfile::TempDir,
    archived: i64,
    plain: i64,
    env: Vec<(String, String)>,
}

/// A daemon with two channels, `archived` marked for catch-up (1 day).
async fn setup(archived: Content, extra_env: &[(&str, &str)], guide: String) -> Setup {
    setup_with(archived, extra_env, guide, None).await
}

/// [`setup`] with the daemon started through `sh -c '<shell>; exec …'`.
async fn setup_with(
    archived: Content,
    extra_env: &[(&str, &str)],
    guide: String,
    shell: Option<&str>,
) -> Setup {
    let plain = Content::new("catchup plain");
    let sim = Simulator::start(SimConfig::with_catalogue(vec![
        archived.clone(),
        plain.clone(),
    ]))
    .await
    .unwrap();
    let lists = FixtureServer::start().await;
    lists.serve(200, playlist(&[&archived, &plain]), None);
    let guides = FixtureServer::start().await;
    guides.serve(200, guide, None);
    let dir = tempfile::tempdir().unwrap();
    let archive_dir = dir.path().join("archive").display().to_string();
    let mut env: Vec<(String, String)> = vec![
        ("ACEXTREAM_ENGINE__URL".into(), sim.url()),
        ("ACEXTREAM_SERVER__TIMEZONE".into(), ZONE.into()),
        ("ACEXTREAM_ARCHIVE__DIR".into(), archive_dir),
        ("ACEXTREAM_ARCHIVE__SEGMENT".into(), "2s".into()),
    ];
    env.extend(
        extra_env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string())),
    );
    let d = launch(dir.path(), &env, shell);
    d.add_source("scraper", &lists.url("/list.m3u")).await;
    d.add_source("epg", &guides.url("/guide.xml")).await;
    d.add_user("kodi", "kodi-pass", 3).await;
    let ids = channel_ids(&d).await;
    let (archived_id, plain_id) = (ids[&archived.name], ids[&plain.name]);
    let (status, body) = d
        .admin(
            Method::PUT,
            &format!("/api/channels/{archived_id}/archive"),
            json!({"days": 1}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["days"], 1);
    Setup {
        _sim: sim,
        _lists: lists,
        _guides: guides,
        d,
        dir,
        archived: archived_id,
        plain: plain_id,
        env,
    }
}

fn launch(dir: &std::path::Path, env: &[(String, String)], shell: Option<&str>) -> Daemon {
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    match shell {
        Some(sh) => Daemon::start_in_shell(dir, &env, sh),
        None => Daemon::start(dir, &env),
    }
}

/// Waits until the channel's recording holds at least `bytes`.
async fn recorded(d: &Daemon, id: i64, bytes: u64) {
    let ok = eventually(WAIT, async || {
        channel_status(&archive_status(d).await, id)["bytes"]
            .as_u64()
            .is_some_and(|b| b >= bytes)
    })
    .await;
    assert!(ok, "nothing recorded: {}", archive_status(d).await);
}

/// A guide around `t0`: one programme over before the recording began, one
/// inside the ring (over by the time it is asked for), one on now.
fn guide(a: &Content, t0: Timestamp) -> String {
    let f = |t: Timestamp| t.strftime("%Y%m%d%H%M%S +0000").to_string();
    let s = jiff::SignedDuration::from_secs;
    let id = format!("{}.id", a.name);
    format!(
        "<?xml version=\"1.0\"?>\n<tv>\n<channel id=\"{id}\"><display-name>{n}</display-name></channel>\n\
         <programme start=\"{}\" stop=\"{}\" channel=\"{id}\"><title>Before</title></programme>\n\
         <programme start=\"{}\" stop=\"{}\" channel=\"{id}\"><title>Recorded</title></programme>\n\
         <programme start=\"{}\" stop=\"{}\" channel=\"{id}\"><title>Later</title></programme>\n</tv>\n",
        f(t0 - s(7200)),
        f(t0 - s(3600)),
        f(t0 + s(20)),
        f(t0 + s(50)),
        f(t0 + s(50)),
        f(t0 + s(7200)),
        n = a.name,
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_archived_channel_plays_back_what_live_viewers_got_in_every_form() {
    let content = Content::new("catchup archived");
    let t0 = Timestamp::now();
    let s = setup(content.clone(), &[], guide(&content, t0)).await;
    let (d, id) = (&s.d, s.archived);
    let live = LiveLog::start(d.url(&format!("/live/kodi/kodi-pass/{id}.ts"))).await;
    recorded(d, id, 1).await;
    // 90 s of recording, then a span that started 60 s ago.
    tokio::time::sleep(Duration::from_secs(90)).await;
    let start = Timestamp::now() - jiff::SignedDuration::from_secs(60);
    let at = start_param(start, "%Y-%m-%d:%H:%M:%S");
    let url = d.url(&format!("/timeshift/kodi/kodi-pass/1/{at}/{id}.ts"));
    let r = http().get(&url).send().await.unwrap();
    assert_eq!(r.status(), 200, "{url}");
    assert_eq!(r.headers()["content-type"], "video/mp2t");
    assert_eq!(r.headers()["accept-ranges"], "bytes");
    let len: u64 = r.headers()["content-length"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    let body = r.bytes().await.unwrap();
    assert_eq!(body.len() as u64, len);
    assert_eq!(body.len() % 188, 0, "whole packets");
    assert_eq!(body[0], 0x47);
    let mut checker = TsChecker::new();
    checker.feed(&body);
    assert_eq!(checker.first_pid, Some(0), "a PAT first");
    assert!(checker.is_contiguous(), "{checker:?}");
    // The span starts at the random-access point at or before START: what the
    // live viewer had at START, less at most a few segments (2 s each).
    let first = checker.first_seq.unwrap();
    let at_start = live.seq_at(start);
    let before = live.seq_at(start - jiff::SignedDuration::from_secs(8));
    assert!(
        before <= first && first <= at_start + 1,
        "first seq {first} not within [{before}, {at_start}]"
    );
    // About one minute of a 4 Mbit/s stream.
    let minute = 4_000_000 / 8 * 60;
    assert!(len > minute / 2 && len < minute * 2, "{len} bytes");

    // Range: 206 with Content-Range, the same bytes; past the end 416.
    let r = http()
        .get(&url)
        .header("Range", "bytes=188-375")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 206);
    assert_eq!(r.headers()["content-range"], format!("bytes 188-375/{len}"));
    assert_eq!(r.bytes().await.unwrap(), body.slice(188..376));
    let r = http()
        .get(&url)
        .header("Range", format!("bytes={len}-"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 416);
    assert_eq!(r.headers()["content-range"], format!("bytes */{len}"));

    // Every other URL form gives the same span.
    let at_minute = start_param(start, "%Y-%m-%d:%H-%M");
    let php = format!("username=kodi&password=kodi-pass&stream={id}&start={at}&duration=1");
    for other in [
        format!("/timeshifts/kodi/kodi-pass/1/{id}/{at}.ts"),
        format!("/timeshift.php?{php}"),
        format!("/streaming/timeshift.php?{php}"),
    ] {
        let r = http().get(d.url(&other)).send().await.unwrap();
        assert_eq!(r.status(), 200, "{other}");
        let b = r.bytes().await.unwrap();
        assert_eq!(first_seq(&b), Some(first), "{other}");
    }
    // The minute forms parse too (that minute may start before the ring: 200 or 404).
    for form in [at_minute.clone(), start_param(start, "%Y-%m-%d_%H-%M")] {
        let r = http()
            .head(d.url(&format!("/timeshift/kodi/kodi-pass/1/{form}/{id}.ts")))
            .send()
            .await
            .unwrap();
        assert!(
            matches!(r.status().as_u16(), 200 | 404),
            "{form}: {}",
            r.status()
        );
    }
    // Nothing recorded then: 404; malformed: 400; wrong password: 401.
    let long_ago = start_param(t0 - jiff::SignedDuration::from_secs(3600), "%Y-%m-%d:%H-%M");
    for (path, status) in [
        (
            format!("/timeshift/kodi/kodi-pass/1/{long_ago}/{id}.ts"),
            404,
        ),
        (
            format!("/timeshift/kodi/kodi-pass/1/{at}/{}.ts", s.plain),
            404,
        ),
        (
            format!("/timeshift/kodi/kodi-pass/1/2026-13-45:99-99/{id}.ts"),
            400,
        ),
        (format!("/timeshift/kodi/kodi-pass/0/{at}/{id}.ts"), 400),
        (format!("/timeshift/kodi/wrong/1/{at}/{id}.ts"), 401),
    ] {
        let r = http().get(d.url(&path)).send().await.unwrap();
        assert_eq!(r.status().as_u16(), status, "{path}");
    }

    // The .m3u8 form: a VOD playlist of the span whose segments play.
    let r = http()
        .get(d.url(&format!("/timeshift/kodi/kodi-pass/1/{at}/{id}.m3u8")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let text = r.text().await.unwrap();
    assert!(text.starts_with("#EXTM3U"), "{text}");
    assert!(text.contains("#EXT-X-PLAYLIST-TYPE:VOD"), "{text}");
    assert!(text.trim_end().ends_with("#EXT-X-ENDLIST"), "{text}");
    let uris: Vec<&str> = text.lines().filter(|l| !l.starts_with('#')).collect();
    assert!(uris.len() >= 10, "about 30 segments of 2 s: {text}");
    let seg = http().get(uris[0]).send().await.unwrap();
    assert_eq!(seg.status(), 200, "{}", uris[0]);
    let seg = seg.bytes().await.unwrap();
    assert_eq!(
        first_seq(&seg),
        Some(first),
        "the playlist starts where the TS does"
    );
    assert_eq!(
        &body[..seg.len()],
        &seg[..],
        "segment 0 is the span's first bytes"
    );

    // Xtream: tv_archive on the archived channel only, has_archive on the
    // programme inside the ring only.
    let api = |q: &str| {
        d.url(&format!(
            "/player_api.php?username=kodi&password=kodi-pass&{q}"
        ))
    };
    let streams: Value = http()
        .get(api("action=get_live_streams"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    for row in streams.as_array().unwrap() {
        let archived = row["stream_id"] == id;
        assert_eq!(row["tv_archive"], i32::from(archived), "{row}");
        assert_eq!(row["tv_archive_duration"], i32::from(archived), "{row}");
    }
    let table: Value = http()
        .get(api(&format!("action=get_simple_data_table&stream_id={id}")))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let archive_of = |title: &str| {
        let b64 = base64::Engine::encode(&base64::engine::general_purpose::STANDARD, title);
        table["epg_listings"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["title"] == b64)
            .unwrap_or_else(|| panic!("{title} in {table}"))["has_archive"]
            .clone()
    };
    assert_eq!(archive_of("Recorded"), 1);
    assert_eq!(archive_of("Before"), 0, "before the ring");
    assert_eq!(archive_of("Later"), 0, "not over yet");

    // M3U: catch-up attributes; Kodi's template, expanded by its rules, plays.
    let m3u = http()
        .get(d.url("/get.php?username=kodi&password=kodi-pass&type=m3u_plus"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let entry = m3u
        .lines()
        .find(|l| l.ends_with(&format!(",{}", content.name)))
        .unwrap();
    assert!(entry.contains("catchup-days=\"1\""), "{entry}");
    assert!(entry.contains("timeshift=\"1\""), "{entry}");
    let template = entry
        .split("catchup-source=\"")
        .nth(1)
        .and_then(|t| t.split('"').next())
        .expect("a catchup-source");
    let expanded = acextream_web::timeshift::catchup::expand_kodi_template(
        template,
        start,
        &TimeZone::get(ZONE).unwrap(),
        1,
    );
    let r = http().get(&expanded).send().await.unwrap();
    assert_eq!(r.status(), 200, "{expanded}");
    let plain_entry = m3u.lines().find(|l| l.ends_with(",catchup plain")).unwrap();
    assert!(!plain_entry.contains("catchup="), "{plain_entry}");

    // kill -9 while recording; after a restart the earlier minutes still play.
    let mut d = s.d;
    d.child.kill().unwrap();
    d.child.wait().unwrap();
    drop(live);
    let d = launch(s.dir.path(), &s.env, None);
    let r = http()
        .get(d.url(&format!("/timeshift/kodi/kodi-pass/1/{at}/{id}.ts")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(first_seq(&r.bytes().await.unwrap()), Some(first));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tiny_max_bytes_evicts_the_oldest_segments_first() {
    // 32 Mbit/s: 16 MiB (the smallest allowed) fill in about 4 s.
    let mut content = Content::new("catchup evicted");
    content.bitrate_bps = 32_000_000;
    let limit: u64 = 16 << 20;
    let s = setup(
        content.clone(),
        &[("ACEXTREAM_ARCHIVE__MAX_BYTES", &limit.to_string())],
        guide(&content, Timestamp::now()),
    )
    .await;
    let (d, id) = (&s.d, s.archived);
    recorded(d, id, 1).await;
    let first_oldest = channel_status(&archive_status(d).await, id)["oldest"].clone();
    // Twice the limit written: the oldest segments are gone, the ring is full.
    let ok = eventually(WAIT, async || {
        let st = channel_status(&archive_status(d).await, id);
        st["bytes_written"].as_u64().unwrap_or(0) > 2 * limit
    })
    .await;
    assert!(ok, "{}", archive_status(d).await);
    let st = channel_status(&archive_status(d).await, id);
    assert!(st["bytes"].as_u64().unwrap() <= limit, "{st}");
    assert!(st["bytes"].as_u64().unwrap() > limit / 2, "{st}");
    assert_ne!(st["oldest"], first_oldest, "the oldest went first: {st}");
    let oldest: Timestamp = st["oldest"].as_str().unwrap().parse().unwrap();
    let gone = start_param(
        first_oldest.as_str().unwrap().parse::<Timestamp>().unwrap(),
        "%Y-%m-%d:%H:%M:%S",
    );
    let r = http()
        .get(d.url(&format!("/timeshift/kodi/kodi-pass/1/{gone}/{id}.ts")))
        .header("Range", "bytes=0-187")
        .send()
        .await
        .unwrap();
    // An evicted START plays from the oldest segment kept, or is gone (404).
    if r.status() == 206 {
        let at = start_param(oldest, "%Y-%m-%d:%H:%M:%S");
        let kept = http()
            .get(d.url(&format!("/timeshift/kodi/kodi-pass/1/{at}/{id}.ts")))
            .header("Range", "bytes=0-187")
            .send()
            .await
            .unwrap();
        assert_eq!(kept.bytes().await.unwrap(), r.bytes().await.unwrap());
    } else {
        assert_eq!(r.status(), 404);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_disk_that_refuses_writes_stops_recording_with_a_warning_and_live_goes_on() {
    // Segments of 6 s at 16 Mbit/s are 12 MB; the process may write files of at
    // most 8 MiB (`ulimit -f` counts 512-byte blocks in dash and 1 KiB in bash,
    // so 16384 is 8 or 16 MiB): every segment write fails with EFBIG.
    let mut content = Content::new("catchup full");
    content.bitrate_bps = 16_000_000;
    let s = setup_with(
        content.clone(),
        &[("ACEXTREAM_ARCHIVE__SEGMENT", "12s")],
        guide(&content, Timestamp::now()),
        Some("ulimit -f 16384"),
    )
    .await;
    let (d, id) = (&s.d, s.archived);
    let live = http()
        .get(d.url(&format!("/live/kodi/kodi-pass/{id}.ts")))
        .send()
        .await
        .unwrap();
    assert_eq!(live.status(), 200);
    let mut live = live.bytes_stream();
    // The first segment cannot be written: the recorder stops and says why.
    let stopped = eventually(WAIT, async || {
        archive_status(d).await["problem"].is_string()
    })
    .await;
    let status = archive_status(d).await;
    assert!(stopped, "{status}");
    let st = channel_status(&status, id);
    assert_eq!(st["recording"], false, "{st}");
    assert!(st["error"].as_str().unwrap().contains("write"), "{st}");
    assert!(
        d.drain_log()
            .iter()
            .any(|l| l.contains("recording stopped")),
        "a warning in the log"
    );
    let metrics = http()
        .get(d.url("/metrics"))
        .basic_auth(common::ADMIN.0, Some(common::ADMIN.1))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("acextream_archive_disk_problem 1"),
        "{metrics}"
    );
    assert!(metrics.contains("acextream_archive_failing 1"), "{metrics}");
    // Live viewing goes on, and the database still takes writes.
    let mut got = 0usize;
    while got < 4 << 20 {
        got += live.next().await.unwrap().unwrap().len();
    }
    let (status, body) = d
        .admin(
            Method::POST,
            "/api/users",
            json!({"username": "after", "password": "after-pass-1"}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
}

/// The live HLS of an archived (H.264) channel is its DVR window: the ring's
/// segments, listed live (no ENDLIST), each keeping its media sequence number as
/// the window grows, and each one playable.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn live_hls_of_an_archived_channel_is_a_dvr_window_of_the_ring() {
    let content = Content::new("catchup dvr").with_video(acestream_sim::Video::H264);
    let s = setup(content.clone(), &[], guide(&content, Timestamp::now())).await;
    let (d, id) = (&s.d, s.archived);
    // Six segments of at least 2 s recorded.
    let ok = eventually(WAIT, async || {
        channel_status(&archive_status(d).await, id)["segments"]
            .as_u64()
            .is_some_and(|n| n >= 6)
    })
    .await;
    assert!(ok, "{}", archive_status(d).await);
    let master = http()
        .get(d.url(&format!("/live/kodi/kodi-pass/{id}.m3u8")))
        .send()
        .await
        .unwrap();
    assert_eq!(master.status(), 200);
    let master = master.text().await.unwrap();
    let media_url = master
        .lines()
        .find(|l| !l.starts_with('#') && !l.is_empty())
        .expect("a media playlist URI")
        .to_owned();
    let first = http()
        .get(&media_url)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let uris = |text: &str| -> Vec<String> {
        text.lines()
            .filter(|l| !l.starts_with('#') && !l.is_empty())
            .map(str::to_owned)
            .collect()
    };
    let seq = |text: &str| -> u64 {
        text.lines()
            .find_map(|l| l.strip_prefix("#EXT-X-MEDIA-SEQUENCE:"))
            .unwrap()
            .parse()
            .unwrap()
    };
    let listed = uris(&first);
    assert!(listed.len() >= 6, "the ring's segments: {first}");
    assert!(
        listed.iter().all(|u| u.contains("/a")),
        "ring segment URIs: {first}"
    );
    assert!(
        !first.contains("#EXT-X-ENDLIST") && !first.contains("PLAYLIST-TYPE"),
        "{first}"
    );
    let seg = http().get(&listed[0]).send().await.unwrap();
    assert_eq!(seg.status(), 200);
    let seg = seg.bytes().await.unwrap();
    assert_eq!((seg[0], seg.len() % 188), (0x47, 0), "whole TS packets");
    // Later, the window has grown at the live edge and old numbers still hold.
    let later = {
        let mut text = String::new();
        let grew = eventually(WAIT, async || {
            text = http()
                .get(&media_url)
                .send()
                .await
                .unwrap()
                .text()
                .await
                .unwrap();
            uris(&text).len() > listed.len()
        })
        .await;
        assert!(grew, "{text}");
        text
    };
    let shift = usize::try_from(seq(&later) - seq(&first)).unwrap();
    let again = uris(&later);
    let name = |u: &str| u.rsplit('/').next().unwrap().to_owned();
    assert_eq!(
        name(&again[0]),
        name(&listed[shift]),
        "the same number names the same segment"
    );
}
