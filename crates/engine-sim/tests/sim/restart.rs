//! A simulated engine restart: refused connections, then new sessions.

use std::time::Duration;

use crate::helpers::{channel, client, eventually, read_for, spawn_sim};

#[tokio::test]
async fn restart_refuses_connections_while_down_then_serves_new_sessions() {
    let c = channel("Sport");
    let t = spawn_sim(vec![c.clone()]).await;
    let old = t.start(&c, "p1").await;
    let mut resp = t.open(&old).await;
    let before = read_for(&mut resp, Duration::from_millis(300)).await;
    let old_last = before.checker.last_seq.unwrap();

    t.sim.restart(Duration::from_secs(2)).await;
    // A fresh client: no pooled connection can hide the refusal.
    let err = client()
        .get(t.url("/webui/api/service?method=get_version"))
        .send()
        .await
        .unwrap_err();
    assert!(err.is_connect(), "{err:?}");
    let after = read_for(&mut resp, Duration::from_secs(5)).await;
    assert!(after.ended, "the old reader survived the restart");

    let version_url = t.url("/webui/api/service?method=get_version");
    let up = eventually(Duration::from_secs(20), async || {
        client().get(&version_url).send().await.is_ok()
    })
    .await;
    assert!(up, "the simulator did not come back");
    let new = t.start(&c, "p1").await;
    assert_ne!(new.session_id, old.session_id);
    let mut resp = client().get(&new.playback_url).send().await.unwrap();
    let seen = read_for(&mut resp, Duration::from_millis(300)).await;
    assert!(
        seen.checker.first_seq.unwrap() > old_last,
        "the live position moved on"
    );
    let v = client()
        .get(format!("{}?method=stop", old.command_url))
        .send()
        .await
        .unwrap();
    let v: serde_json::Value = v.json().await.unwrap();
    assert_eq!(v["error"], "unknown playback session id");
}

#[tokio::test]
async fn restart_over_http_answers_then_goes_down() {
    let t = spawn_sim(vec![channel("Sport")]).await;
    let resp = client()
        .post(t.url("/sim/restart?down_secs=1"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 202);
    let version_url = t.url("/webui/api/service?method=get_version");
    let went_down = eventually(Duration::from_secs(5), async || {
        client().get(&version_url).send().await.is_err()
    })
    .await;
    assert!(went_down);
    let up = eventually(Duration::from_secs(20), async || {
        client().get(&version_url).send().await.is_ok()
    })
    .await;
    assert!(up);
}
