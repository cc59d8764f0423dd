//! `/ace/getstream` and `/ace/manifest.m3u8`: the envelope, lookups, redirects,
//! and what introspection records.

use acestream_sim::Introspection;

use crate::helpers::{channel, spawn_sim};

fn is_hex(s: &str, len: usize) -> bool {
    s.len() == len && s.bytes().all(|b| b.is_ascii_hexdigit())
}

#[tokio::test]
async fn getstream_by_content_id_answers_the_full_envelope() {
    let c = channel("Sport");
    let t = spawn_sim(vec![c.clone()]).await;
    let v = t.getstream_raw("id", &c.content_id, Some("p1")).await;
    assert!(v["error"].is_null(), "{v}");
    let r = &v["response"];
    let ih = r["infohash"].as_str().unwrap();
    let sid = r["playback_session_id"].as_str().unwrap();
    assert_eq!(ih, c.infohash);
    assert_ne!(
        ih, c.content_id,
        "the swarm infohash differs from the content id"
    );
    assert!(is_hex(sid, 32), "{sid}");
    let base = t.sim.url();
    assert_eq!(r["playback_url"], format!("{base}/ace/r/{ih}/{sid}"));
    assert_eq!(r["stat_url"], format!("{base}/ace/stat/{ih}/{sid}"));
    assert_eq!(r["command_url"], format!("{base}/ace/cmd/{ih}/{sid}"));
    assert_eq!(r["event_url"], format!("{base}/ace/event/{ih}/{sid}"));
    assert_eq!(r["is_live"], 1);
    assert_eq!(r["is_encrypted"], 0);
    assert_eq!(r["client_session_id"], -1);
}

#[tokio::test]
async fn getstream_by_infohash_finds_the_same_content() {
    let c = channel("Sport");
    let t = spawn_sim(vec![c.clone()]).await;
    let v = t.getstream_raw("infohash", &c.infohash, Some("p1")).await;
    assert_eq!(v["response"]["infohash"], c.infohash.as_str());
}

#[tokio::test]
async fn ids_only_match_their_own_parameter() {
    let c = channel("Sport");
    let t = spawn_sim(vec![c.clone()]).await;
    let v = t.getstream_raw("id", &c.infohash, Some("p1")).await;
    assert_eq!(v["error"], "failed to load content");
    let v = t.getstream_raw("infohash", &c.content_id, Some("p1")).await;
    assert_eq!(v["error"], "failed to load content");
}

#[tokio::test]
async fn unknown_content_gets_the_error_envelope_with_http_200() {
    let t = spawn_sim(vec![channel("Sport")]).await;
    let v = t.getstream_raw("id", &"0".repeat(40), Some("p1")).await;
    assert!(v["response"].is_null());
    assert_eq!(v["error"], "failed to load content");
}

#[tokio::test]
async fn without_format_json_getstream_redirects_to_the_playback_url() {
    let c = channel("Sport");
    let t = spawn_sim(vec![c.clone()]).await;
    let resp = t
        .http
        .get(t.url(&format!("/ace/getstream?id={}&pid=p1", c.content_id)))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 302);
    let location = resp.headers()["location"].to_str().unwrap().to_owned();
    let sid = &t.sim.introspect().sessions[0].session_id;
    assert_eq!(
        location,
        format!("{}/ace/r/{}/{sid}", t.sim.url(), c.infohash)
    );
}

#[tokio::test]
async fn introspection_records_each_call_with_its_param_kind_and_pid() {
    let c = channel("Sport");
    let t = spawn_sim(vec![c.clone()]).await;
    t.getstream_raw("id", &c.content_id, Some("alpha")).await;
    t.getstream_raw("infohash", &c.infohash, None).await;
    let s = t.start(&c, "alpha").await;
    t.stop(&s).await;
    t.stop(&s).await;

    let state: Introspection = t
        .get_json(&t.url("/sim/state"))
        .await
        .pipe(serde_json::from_value)
        .unwrap();
    assert_eq!(state.getstream_calls.len(), 3);
    let first = &state.getstream_calls[0];
    assert_eq!(
        (first.param.as_str(), first.value.as_str()),
        ("id", c.content_id.as_str())
    );
    assert_eq!(first.pid.as_deref(), Some("alpha"));
    assert!(
        first
            .query
            .contains(&("format".to_owned(), "json".to_owned()))
    );
    let second = &state.getstream_calls[1];
    assert_eq!(second.param, "infohash");
    assert_eq!(second.pid, None);
    assert_eq!(state.stop_calls, 2);
    // alpha's session (reused by the third call) and the anonymous one.
    assert_eq!(state.sessions.len(), 2);
    assert_eq!(state.sessions_for(&c.infohash).len(), 2);
    assert_eq!(state.live_sessions().len(), 1);
    assert!(state.sessions.iter().any(|s| s.pid == "alpha" && s.stopped));
    assert!(
        state
            .sessions
            .iter()
            .any(|s| s.pid != "alpha" && !s.pid.is_empty() && !s.stopped)
    );
}

#[tokio::test]
async fn manifest_answers_an_hls_playback_url_serving_a_playlist() {
    let c = channel("Sport");
    let t = spawn_sim(vec![c.clone()]).await;
    let v = t
        .get_json(&t.url(&format!(
            "/ace/manifest.m3u8?id={}&format=json&pid=p1",
            c.content_id
        )))
        .await;
    let url = v["response"]["playback_url"].as_str().unwrap();
    assert!(url.ends_with(".m3u8"), "{url}");
    assert!(url.contains("/ace/m/"), "{url}");
    let text = t.http.get(url).send().await.unwrap().text().await.unwrap();
    assert!(text.starts_with("#EXTM3U"), "{text}");
    assert_eq!(t.sim.introspect().getstream_calls.len(), 1);
}

/// `value.pipe(f)` reads better than nesting in the assertion above.
trait Pipe: Sized {
    fn pipe<T>(self, f: impl FnOnce(Self) -> T) -> T {
        f(self)
    }
}
impl<T> Pipe for T {}
