//! The simulator's control endpoints.

use acestream_sim::{Content, Fault, Introspection};
use serde_json::json;

use crate::helpers::{channel, spawn_sim};

#[tokio::test]
async fn content_posted_at_runtime_can_be_played() {
    let t = spawn_sim(vec![]).await;
    let resp = t
        .http
        .post(t.url("/sim/content"))
        .json(&json!({"name": "Late", "bitrate_kbps": 1000, "startup_delay_ms": 10}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201);
    let c: Content = resp.json().await.unwrap();
    assert_eq!(
        c,
        Content::new("Late")
            .with_bitrate(1_000_000)
            .with_startup_delay(std::time::Duration::from_millis(10))
    );
    let s = t.start(&c, "p1").await;
    assert!(s.playback_url.contains(&c.infohash));
}

#[tokio::test]
async fn add_content_from_the_library_can_be_played() {
    let t = spawn_sim(vec![]).await;
    let c = channel("Added");
    t.sim.add_content(c.clone());
    t.start(&c, "p1").await;
}

#[tokio::test]
async fn fault_posted_at_runtime_applies_to_new_sessions() {
    let c = channel("Sport");
    let t = spawn_sim(vec![c.clone()]).await;
    let resp = t
        .http
        .post(t.url(&format!("/sim/fault?id={}", c.content_id)))
        .json(&Fault::Error {
            status: 200,
            message: "gone".into(),
        })
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let v = t.getstream_raw("id", &c.content_id, Some("p1")).await;
    assert_eq!(v["error"], "gone");

    let resp = t
        .http
        .post(t.url("/sim/fault?id=nope"))
        .json(&Fault::None)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 404);
    let resp = t
        .http
        .post(t.url(&format!("/sim/fault?id={}", c.infohash)))
        .body("{")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
}

#[tokio::test]
async fn state_endpoint_matches_the_library_snapshot() {
    let c = channel("Sport");
    let t = spawn_sim(vec![c.clone()]).await;
    t.start(&c, "p1").await;
    let over_http: Introspection = t
        .http
        .get(t.url("/sim/state"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let direct = t.sim.introspect();
    assert_eq!(over_http.sessions, direct.sessions);
    assert_eq!(over_http.getstream_calls, direct.getstream_calls);
}
