//! The playback body (valid, contiguous TS from a PAT, in unaligned chunks),
//! shared live positions, stop, and stat.

use std::time::Duration;

use crate::helpers::{channel, read_for, read_until, spawn_sim};

#[tokio::test]
async fn playback_body_is_contiguous_ts_starting_at_a_pat_in_unaligned_chunks() {
    let c = channel("Sport");
    let t = spawn_sim(vec![c.clone()]).await;
    let s = t.start(&c, "p1").await;
    let mut resp = t.open(&s).await;
    assert_eq!(resp.headers()["content-type"], "video/mp2t");
    assert!(resp.headers().get("content-length").is_none());
    // The 1 s burst alone is ~500 KB at 4 Mbit/s.
    let seen = read_until(&mut resp, Duration::from_secs(20), 400_000).await;
    assert!(!seen.ended);
    assert!(seen.bytes >= 400_000, "only {} bytes", seen.bytes);
    assert!(seen.checker.is_contiguous(), "{:?}", seen.checker);
    assert_eq!(seen.checker.first_pid, Some(0), "starts at a PAT");
    assert_eq!(seen.checker.cc_errors, 0);
    assert!(seen.checker.pats > 10);
    assert!(seen.checker.random_access_points > 10);
    assert!(
        seen.any_unaligned_chunk(),
        "chunk sizes {:?}",
        seen.chunk_sizes
    );
    assert!(t.sim.introspect().sessions[0].bytes_sent >= 400_000);
    assert_eq!(t.sim.introspect().playback_opens, 1);
}

#[tokio::test]
async fn readers_joining_together_see_the_same_numbers_and_a_later_one_starts_higher() {
    // A low bitrate makes a cycle long, so two opens usually land in the same one.
    let c = channel("Slow channel").with_bitrate(500_000);
    let t = spawn_sim(vec![c.clone()]).await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let a = t.start(&c, "pa").await;
    let b = t.start(&c, "pb").await;
    let (mut ra, mut rb) = (t.open(&a).await, t.open(&b).await);
    let (sa, sb) = tokio::join!(
        read_for(&mut ra, Duration::from_millis(1500)),
        read_for(&mut rb, Duration::from_millis(1500))
    );
    for s in [&sa, &sb] {
        assert!(s.checker.is_contiguous(), "{:?}", s.checker);
    }
    let (fa, fb) = (sa.checker.first_seq.unwrap(), sb.checker.first_seq.unwrap());
    let (la, lb) = (sa.checker.last_seq.unwrap(), sb.checker.last_seq.unwrap());
    assert!(
        fa.abs_diff(fb) <= 2 * 38,
        "first seqs {fa} and {fb} far apart"
    );
    assert!(
        fa.max(fb) < la.min(lb),
        "runs [{fa},{la}] and [{fb},{lb}] do not overlap"
    );

    tokio::time::sleep(Duration::from_millis(1500)).await;
    let late = t.start(&c, "pc").await;
    let mut rc = t.open(&late).await;
    let sc = read_for(&mut rc, Duration::from_millis(300)).await;
    let fc = sc.checker.first_seq.unwrap();
    assert!(
        fc > fa.max(fb),
        "late joiner starts at {fc}, earlier ones at {fa}/{fb}"
    );
    assert_eq!(sc.checker.first_pid, Some(0));
}

#[tokio::test]
async fn stop_ends_the_reader_and_a_second_stop_gets_the_error_envelope() {
    let c = channel("Sport");
    let t = spawn_sim(vec![c.clone()]).await;
    let s = t.start(&c, "p1").await;
    let mut resp = t.open(&s).await;
    let before = read_until(&mut resp, Duration::from_secs(10), 10_000).await;
    assert!(before.bytes >= 10_000);

    let v = t.stop(&s).await;
    assert_eq!(v["response"], "ok");
    assert!(v["error"].is_null());
    // Generous bound: the body ends within a second on an idle machine.
    let after = read_for(&mut resp, Duration::from_secs(10)).await;
    assert!(after.ended, "body still open after stop");

    let v = t.stop(&s).await;
    assert!(v["response"].is_null());
    assert_eq!(v["error"], "unknown playback session id");
    let v = t.get_json(&s.stat_url).await;
    assert_eq!(v["error"], "unknown playback session id");
    let resp = t.http.get(&s.playback_url).send().await.unwrap();
    assert_eq!(resp.status(), 404);

    let state = t.sim.introspect();
    assert_eq!(state.stop_calls, 2);
    assert!(state.sessions[0].stopped);
    assert!(state.live_sessions().is_empty());
}

#[tokio::test]
async fn stat_counters_grow_with_time() {
    let c = channel("Sport");
    let t = spawn_sim(vec![c.clone()]).await;
    let s = t.start(&c, "p1").await;
    let first = t.get_json(&s.stat_url).await;
    tokio::time::sleep(Duration::from_millis(1200)).await;
    let second = t.get_json(&s.stat_url).await;
    let r1 = &first["response"];
    let r2 = &second["response"];
    assert!(first["error"].is_null());
    assert_eq!(r2["status"], "dl");
    for key in ["downloaded", "uploaded"] {
        assert!(
            r2[key].as_u64().unwrap() > r1[key].as_u64().unwrap(),
            "{key}: {r1} then {r2}"
        );
    }
    assert!(r2["peers"].as_u64().unwrap() > 0);
    assert!(r2["speed_down"].as_u64().unwrap() > 0);
    assert_eq!(r2["total_progress"], 0);
    assert!(r2["livepos"].is_object());
}

#[tokio::test]
async fn stat_reports_prebuf_during_the_startup_delay_and_headers_wait_for_it() {
    let c = channel("Sport").with_startup_delay(Duration::from_millis(2000));
    let t = spawn_sim(vec![c.clone()]).await;
    let started = std::time::Instant::now();
    let s = t.start(&c, "p1").await;
    let v = t.get_json(&s.stat_url).await;
    assert_eq!(v["response"]["status"], "prebuf");
    let _resp = t.open(&s).await;
    // A lower bound only (the delay counts from the session's creation): a loaded
    // machine makes it longer, never shorter.
    assert!(started.elapsed() >= Duration::from_millis(2000));
}
