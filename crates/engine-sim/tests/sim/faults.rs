//! Each fault, as a proxy would meet it.

use std::time::Duration;

use acestream_sim::Fault;

use crate::helpers::{channel, read_for, read_until, spawn_sim};

#[tokio::test]
async fn offline_content_answers_getstream_but_playback_headers_never_come() {
    let c = channel("Dead").with_fault(Fault::Offline);
    let t = spawn_sim(vec![c.clone()]).await;
    let s = t.start(&c, "p1").await;
    let open = tokio::time::timeout(
        Duration::from_millis(1500),
        t.http.get(&s.playback_url).send(),
    )
    .await;
    assert!(open.is_err(), "headers came: {open:?}");
}

#[tokio::test]
async fn silent_content_sends_headers_then_no_bytes() {
    let c = channel("Quiet").with_fault(Fault::Silent);
    let t = spawn_sim(vec![c.clone()]).await;
    let s = t.start(&c, "p1").await;
    let mut resp = t.open(&s).await;
    let seen = read_for(&mut resp, Duration::from_millis(1500)).await;
    assert_eq!(seen.bytes, 0);
    assert!(!seen.ended);
}

#[tokio::test]
async fn error_with_status_200_is_the_envelope_and_other_statuses_are_plain() {
    let env = channel("Env").with_fault(Fault::Error {
        status: 200,
        message: "no peers".into(),
    });
    let plain = channel("Plain").with_fault(Fault::Error {
        status: 503,
        message: "engine busy".into(),
    });
    let t = spawn_sim(vec![env.clone(), plain.clone()]).await;
    let v = t.getstream_raw("id", &env.content_id, Some("p1")).await;
    assert!(v["response"].is_null());
    assert_eq!(v["error"], "no peers");
    let resp = t
        .http
        .get(t.url(&format!(
            "/ace/getstream?id={}&format=json&pid=p1",
            plain.content_id
        )))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 503);
    assert_eq!(resp.text().await.unwrap().trim(), "engine busy");
    assert!(t.sim.introspect().sessions.is_empty());
}

#[tokio::test]
async fn disconnect_ends_the_body() {
    let c = channel("Flaky").with_fault(Fault::Disconnect {
        at_secs: 0.5,
        first_session_only: false,
    });
    let t = spawn_sim(vec![c.clone()]).await;
    let s = t.start(&c, "p1").await;
    let mut resp = t.open(&s).await;
    let seen = read_for(&mut resp, Duration::from_secs(15)).await;
    assert!(seen.ended);
    assert!(seen.bytes > 0);
}

#[tokio::test]
async fn stall_pauses_then_continues_after_a_gap() {
    let c = channel("Starved").with_fault(Fault::Stall {
        at_secs: 0.3,
        for_secs: 1.5,
    });
    let t = spawn_sim(vec![c.clone()]).await;
    let s = t.start(&c, "p1").await;
    let mut resp = t.open(&s).await;
    let seen = read_for(&mut resp, Duration::from_secs(4)).await;
    assert!(!seen.ended);
    // A pause we cause can only look longer on a loaded machine.
    assert!(
        seen.longest_pause >= Duration::from_millis(1200),
        "longest pause {:?}",
        seen.longest_pause
    );
    let ck = &seen.checker;
    assert_eq!(ck.gaps, 1, "{ck:?}");
    assert!(ck.gap_packets > 0);
    assert_eq!(ck.sync_errors, 0, "the jump lands on a packet boundary");
    assert_eq!(ck.duplicates_or_reorders, 0);
}

#[tokio::test]
async fn a_fault_set_at_runtime_reaches_a_running_reader() {
    let c = channel("Sport");
    let t = spawn_sim(vec![c.clone()]).await;
    let s = t.start(&c, "p1").await;
    let mut resp = t.open(&s).await;
    let before = read_until(&mut resp, Duration::from_secs(10), 1000).await;
    assert!(!before.ended);
    assert!(t.sim.set_fault(
        &c.infohash,
        Fault::Disconnect {
            at_secs: 0.0,
            first_session_only: false
        }
    ));
    let after = read_for(&mut resp, Duration::from_secs(10)).await;
    assert!(after.ended);
}

#[tokio::test]
async fn slow_content_still_streams_valid_ts() {
    let c = channel("Slow").with_fault(Fault::Slow { factor: 0.5 });
    let t = spawn_sim(vec![c.clone()]).await;
    let s = t.start(&c, "p1").await;
    let mut resp = t.open(&s).await;
    let seen = read_for(&mut resp, Duration::from_millis(1500)).await;
    assert!(seen.bytes > 0);
    assert!(seen.checker.is_contiguous(), "{:?}", seen.checker);
}

#[tokio::test]
async fn set_fault_on_unknown_content_reports_false() {
    let t = spawn_sim(vec![channel("Sport")]).await;
    assert!(!t.sim.set_fault("nope", Fault::Silent));
}

#[tokio::test]
async fn silent_after_plays_then_sends_nothing_on_an_open_connection() {
    let c = channel("Fades").with_fault(Fault::SilentAfter {
        at_secs: 0.5,
        first_session_only: false,
    });
    let t = spawn_sim(vec![c.clone()]).await;
    let s = t.start(&c, "p1").await;
    let mut resp = t.open(&s).await;
    let seen = read_for(&mut resp, Duration::from_secs(2)).await;
    assert!(seen.bytes > 0, "it played first");
    let after = read_for(&mut resp, Duration::from_millis(1500)).await;
    assert_eq!(after.bytes, 0, "then silence");
    assert!(!after.ended, "on a connection that stays open");
    // A new session of the same content goes silent too.
    let again = t.start(&c, "p2").await;
    let mut resp = t.open(&again).await;
    read_for(&mut resp, Duration::from_secs(2)).await;
    assert_eq!(read_for(&mut resp, Duration::from_secs(1)).await.bytes, 0);
}

#[tokio::test]
async fn a_first_session_only_fault_spares_the_later_sessions() {
    let c = channel("Once").with_fault(Fault::Disconnect {
        at_secs: 0.3,
        first_session_only: true,
    });
    let t = spawn_sim(vec![c.clone()]).await;
    let first = t.start(&c, "p1").await;
    let mut resp = t.open(&first).await;
    assert!(read_for(&mut resp, Duration::from_secs(5)).await.ended);
    let second = t.start(&c, "p2").await;
    let mut resp = t.open(&second).await;
    let seen = read_for(&mut resp, Duration::from_secs(2)).await;
    assert!(!seen.ended, "the second session plays on");
    assert!(seen.checker.is_contiguous());
}

#[tokio::test]
async fn every_data_packet_names_its_content() {
    let a = channel("Tag A");
    let b = channel("Tag B");
    assert_ne!(a.tag(), b.tag());
    let t = spawn_sim(vec![a.clone(), b.clone()]).await;
    for c in [&a, &b] {
        let s = t.start(c, "p1").await;
        let mut resp = t.open(&s).await;
        let seen = read_for(&mut resp, Duration::from_millis(500)).await;
        assert_eq!(seen.checker.tags, vec![c.tag()]);
    }
}
