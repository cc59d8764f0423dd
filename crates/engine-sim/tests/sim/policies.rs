//! The switches for the engine's undocumented policies.

use std::time::Duration;

use acestream_sim::{Policies, SamePid, SecondPid, SecondReader};

use crate::helpers::{channel, read_for, read_until, spawn_sim, spawn_sim_with};

#[tokio::test]
async fn by_default_the_same_pid_gets_the_same_session_and_readers_share_it() {
    let c = channel("Sport");
    let t = spawn_sim(vec![c.clone()]).await;
    let a = t.start(&c, "p1").await;
    let b = t.start(&c, "p1").await;
    assert_eq!(a.session_id, b.session_id);
    let other = t.start(&c, "p2").await;
    assert_ne!(other.session_id, a.session_id);
    let (mut r1, mut r2) = (t.open(&a).await, t.open(&a).await);
    let (s1, s2) = tokio::join!(
        read_until(&mut r1, Duration::from_secs(10), 5000),
        read_until(&mut r2, Duration::from_secs(10), 5000)
    );
    assert!(s1.bytes >= 5000 && s2.bytes >= 5000);
    assert_eq!(t.sim.introspect().sessions_for(&c.content_id)[0].readers, 2);
}

#[tokio::test]
async fn same_pid_replace_stops_the_old_session() {
    let c = channel("Sport");
    let policies = Policies {
        same_pid: SamePid::Replace,
        ..Policies::default()
    };
    let t = spawn_sim_with(vec![c.clone()], policies).await;
    let a = t.start(&c, "p1").await;
    let mut ra = t.open(&a).await;
    let b = t.start(&c, "p1").await;
    assert_ne!(a.session_id, b.session_id);
    assert!(read_for(&mut ra, Duration::from_secs(10)).await.ended);
    assert_eq!(t.sim.introspect().live_sessions().len(), 1);
}

#[tokio::test]
async fn second_reader_refuse_answers_409() {
    let c = channel("Sport");
    let policies = Policies {
        second_reader: SecondReader::Refuse,
        ..Policies::default()
    };
    let t = spawn_sim_with(vec![c.clone()], policies).await;
    let s = t.start(&c, "p1").await;
    let _first = t.open(&s).await;
    let second = t.http.get(&s.playback_url).send().await.unwrap();
    assert_eq!(second.status(), 409);
}

#[tokio::test]
async fn second_reader_kick_first_ends_the_first_reader() {
    let c = channel("Sport");
    let policies = Policies {
        second_reader: SecondReader::KickFirst,
        ..Policies::default()
    };
    let t = spawn_sim_with(vec![c.clone()], policies).await;
    let s = t.start(&c, "p1").await;
    let mut first = t.open(&s).await;
    read_until(&mut first, Duration::from_secs(10), 1000).await;
    let mut second = t.open(&s).await;
    assert!(
        read_for(&mut first, Duration::from_secs(10)).await.ended,
        "first reader not kicked"
    );
    let seen = read_until(&mut second, Duration::from_secs(10), 10_000).await;
    assert!(!seen.ended);
    assert!(seen.bytes >= 10_000);
}

#[tokio::test]
async fn second_pid_refuse_answers_the_error_envelope() {
    let c = channel("Sport");
    let policies = Policies {
        second_pid: SecondPid::Refuse,
        ..Policies::default()
    };
    let t = spawn_sim_with(vec![c.clone()], policies).await;
    t.start(&c, "p1").await;
    let v = t.getstream_raw("id", &c.content_id, Some("p2")).await;
    assert!(v["response"].is_null());
    assert!(v["error"].is_string());
    assert_eq!(t.sim.introspect().sessions.len(), 1);
}

#[tokio::test]
async fn second_pid_kick_first_stops_the_other_pids_session() {
    let c = channel("Sport");
    let policies = Policies {
        second_pid: SecondPid::KickFirst,
        ..Policies::default()
    };
    let t = spawn_sim_with(vec![c.clone()], policies).await;
    let a = t.start(&c, "p1").await;
    let mut ra = t.open(&a).await;
    let b = t.start(&c, "p2").await;
    assert!(read_for(&mut ra, Duration::from_secs(10)).await.ended);
    let state = t.sim.introspect();
    let live = state.live_sessions();
    assert_eq!(live.len(), 1);
    assert_eq!(live[0].session_id, b.session_id);
    assert_eq!(live[0].pid, "p2");
}
