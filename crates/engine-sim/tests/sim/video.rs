//! Real-video contents over HTTP: the body of an h264 or mpeg2 test card is one
//! clean endless stream across the loop seam, ffmpeg decodes it without a warning,
//! faults act on it as on the synthetic stream, and HLS segments open at keyframes.

use std::io::Write as _;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use acestream_sim::ts::{MediaChecker, PACKET_SIZE};
use acestream_sim::{Content, Fault, Policies, SimConfig, Simulator, Video};

use crate::helpers::{TestSim, client};

/// A simulator that sends as fast as the client reads, so a test gets 15 s of
/// stream in a moment.
async fn unpaced_sim(catalogue: Vec<Content>) -> TestSim {
    let config = SimConfig {
        catalogue,
        policies: Policies::default(),
        unpaced: true,
        ..SimConfig::default()
    };
    TestSim {
        sim: Simulator::start(config).await.unwrap(),
        http: client(),
    }
}

fn card(name: &str, video: Video) -> Content {
    Content::new(name).with_video(video)
}

/// Bytes of `secs` of the content's stream, at its average rate.
fn bytes_for(c: &Content, secs: f64) -> usize {
    (c.bitrate_bps as f64 / 8.0 * secs) as usize
}

/// Reads at least `min_bytes` of `c`'s playback body.
async fn read_stream(t: &TestSim, c: &Content, min_bytes: usize) -> Vec<u8> {
    let s = t.start(c, "p1").await;
    let mut resp = t.open(&s).await;
    let mut body = Vec::new();
    while body.len() < min_bytes {
        let chunk = tokio::time::timeout(Duration::from_secs(10), resp.chunk())
            .await
            .unwrap()
            .unwrap()
            .expect("the body ended early");
        body.extend_from_slice(&chunk);
    }
    body
}

fn check(bytes: &[u8]) -> MediaChecker {
    let mut c = MediaChecker::new();
    c.feed(bytes);
    c
}

/// PID and random_access_indicator of a packet.
fn pid_of(p: &[u8]) -> u16 {
    (u16::from(p[1] & 0x1F) << 8) | u16::from(p[2])
}

fn starts_keyframe(p: &[u8]) -> bool {
    p[1] & 0x40 != 0 && p[3] & 0x20 != 0 && p[4] > 0 && p[5] & 0x40 != 0
}

/// `body` cut before its last PAT that precedes a video keyframe, so a decoder
/// gets whole frames only.
fn cut_at_last_join(body: &[u8], video_pid: u16) -> &[u8] {
    let mut last_pat = None;
    let mut cut = 0;
    for (i, p) in body.chunks_exact(PACKET_SIZE).enumerate() {
        if pid_of(p) == 0 {
            last_pat = Some(i);
        } else if pid_of(p) == video_pid && p[1] & 0x40 != 0 {
            if let Some(pat) = last_pat.filter(|_| starts_keyframe(p)) {
                cut = pat;
            }
            last_pat = None;
        }
    }
    &body[..cut * PACKET_SIZE]
}

#[tokio::test]
async fn h264_body_read_past_the_loop_is_one_clean_stream() {
    let c = card("Card", Video::H264);
    let t = unpaced_sim(vec![c.clone()]).await;
    // 15 s of stream holds at least one seam of the 12.8 s loop, wherever it joined.
    let body = read_stream(&t, &c, bytes_for(&c, 15.0)).await;
    assert_eq!(pid_of(&body[..PACKET_SIZE]), 0, "the body starts at a PAT");
    let m = check(&body);
    assert!(m.is_clean(), "{m:?}");
    assert_eq!(m.streams, vec![(0x100, 0x1B), (0x101, 0x0F)]);
    assert_eq!(m.max_timestamp_step[&0x100], 3600, "one frame at a time");
    assert!(m.pcrs > 150, "a PCR per frame or so: {m:?}");
}

#[tokio::test]
async fn mpeg2_body_is_clean_and_its_pmt_says_mpeg2() {
    let c = card("Old card", Video::Mpeg2);
    let t = unpaced_sim(vec![c.clone()]).await;
    let body = read_stream(&t, &c, bytes_for(&c, 8.0)).await;
    let m = check(&body);
    assert!(m.is_clean(), "{m:?}");
    let types: Vec<u8> = m.streams.iter().map(|s| s.1).collect();
    assert_eq!(types[0], 0x02);
    assert!(matches!(types[1], 0x03 | 0x04), "{types:?}");
}

#[tokio::test]
async fn ffmpeg_decodes_both_loops_without_a_complaint() {
    if Command::new("ffmpeg").arg("-version").output().is_err() {
        println!("ffmpeg is not installed: skipping the decode test");
        return;
    }
    let h264 = card("Card", Video::H264);
    let mpeg2 = card("Old card", Video::Mpeg2);
    let t = unpaced_sim(vec![h264.clone(), mpeg2.clone()]).await;
    for (c, secs) in [(&h264, 16.0), (&mpeg2, 9.0)] {
        let body = read_stream(&t, c, bytes_for(c, secs)).await;
        let input = cut_at_last_join(&body, 0x100).to_vec();
        let mut ffmpeg = Command::new("ffmpeg")
            .args(["-v", "warning", "-nostats", "-i", "-", "-f", "null", "-"])
            .args(["-progress", "pipe:1"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut stdin = ffmpeg.stdin.take().unwrap();
        let writer = std::thread::spawn(move || stdin.write_all(&input));
        let out = ffmpeg.wait_with_output().unwrap();
        writer.join().unwrap().unwrap();
        let errors = String::from_utf8_lossy(&out.stderr);
        assert!(
            out.status.success() && errors.trim().is_empty(),
            "{}: {errors}",
            c.name
        );
        // Every frame decoded, across the seam: at least one loop's worth.
        let progress = String::from_utf8_lossy(&out.stdout);
        let frames: u64 = progress
            .lines()
            .rev()
            .filter_map(|l| l.strip_prefix("frame="))
            .find_map(|n| n.trim().parse().ok())
            .unwrap_or(0);
        let min_frames = ((secs - 1.5) * 25.0) as u64;
        assert!(frames >= min_frames, "{}: {frames} frames decoded", c.name);
        eprintln!("{}: {frames} frames", c.name);
    }
}

#[tokio::test]
async fn disconnect_and_stall_act_on_real_video() {
    let gone = card("Gone", Video::H264).with_fault(Fault::Disconnect {
        at_secs: 1.0,
        first_session_only: false,
    });
    let stalls = card("Stalls", Video::H264).with_fault(Fault::Stall {
        at_secs: 0.3,
        for_secs: 1.0,
    });
    let t = crate::helpers::spawn_sim(vec![gone.clone(), stalls.clone()]).await;

    let s = t.start(&gone, "p1").await;
    let mut resp = t.open(&s).await;
    let mut body = Vec::new();
    let ended = loop {
        match tokio::time::timeout(Duration::from_secs(5), resp.chunk()).await {
            Ok(Ok(Some(chunk))) => body.extend_from_slice(&chunk),
            Ok(_) => break true,
            Err(_) => break false,
        }
    };
    assert!(ended, "the body did not end");
    let m = check(&body);
    assert!(m.is_clean() && m.packets > 0, "{m:?}");

    // The stall: the longest pause between chunks is the stall, and the stream
    // goes on after it at a packet boundary, from a PAT before a keyframe.
    let s = t.start(&stalls, "p1").await;
    let mut resp = t.open(&s).await;
    let mut chunks: Vec<(Duration, Vec<u8>)> = Vec::new();
    let mut last = Instant::now();
    let deadline = Instant::now() + Duration::from_secs(4);
    while let Ok(Ok(Some(chunk))) = tokio::time::timeout_at(deadline.into(), resp.chunk()).await {
        chunks.push((last.elapsed(), chunk.to_vec()));
        last = Instant::now();
    }
    let (after, _) = chunks
        .iter()
        .enumerate()
        .skip(1)
        .max_by_key(|(_, (pause, _))| *pause)
        .unwrap();
    let before: usize = chunks[..after].iter().map(|(_, c)| c.len()).sum();
    assert_eq!(
        before % PACKET_SIZE,
        0,
        "the stall came at a packet boundary"
    );
    let resumed: Vec<u8> = chunks[after..]
        .iter()
        .flat_map(|(_, c)| c.clone())
        .collect();
    assert!(resumed.len() > 40 * PACKET_SIZE, "the stream went on");
    assert_eq!(pid_of(&resumed), 0, "it resumed at a PAT");
    let first_video = resumed
        .chunks_exact(PACKET_SIZE)
        .find(|p| pid_of(p) == 0x100 && p[1] & 0x40 != 0)
        .unwrap();
    assert!(starts_keyframe(first_video));
    let m = check(&resumed);
    assert!(m.is_clean(), "after the stall: {m:?}");
}

#[tokio::test]
async fn hls_segments_of_real_video_open_at_a_keyframe_and_check_clean() {
    let c = card("Card", Video::H264);
    let t = crate::helpers::spawn_sim(vec![c.clone()]).await;
    let v = t
        .get_json(&t.url(&format!(
            "/ace/manifest.m3u8?id={}&format=json&pid=p1",
            c.content_id
        )))
        .await;
    let playlist_url = v["response"]["playback_url"].as_str().unwrap().to_owned();
    // The first 2 s segment is listed once the channel has been live that long.
    let mut segment_url = None;
    for _ in 0..100 {
        let text = t.http.get(&playlist_url).send().await.unwrap();
        let text = text.text().await.unwrap();
        segment_url = text.lines().find(|l| l.ends_with(".ts")).map(str::to_owned);
        if segment_url.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let segment = t
        .http
        .get(segment_url.expect("no segment listed"))
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert_eq!(pid_of(&segment), 0, "a segment opens with a PAT");
    let first_video = segment
        .chunks_exact(PACKET_SIZE)
        .find(|p| pid_of(p) == 0x100 && p[1] & 0x40 != 0)
        .unwrap();
    assert!(starts_keyframe(first_video));
    let m = check(&segment);
    assert!(m.is_clean() && m.packets > 100, "{m:?}");
}
