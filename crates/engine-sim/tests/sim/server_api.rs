//! `/webui/api/service` and `/server/api`.

use acestream_sim::Fault;

use crate::helpers::{channel, spawn_sim};

#[tokio::test]
async fn get_version_answers_the_engine_version() {
    let t = spawn_sim(vec![]).await;
    let v = t
        .get_json(&t.url("/webui/api/service?method=get_version"))
        .await;
    assert_eq!(v["result"]["version"], "3.2.15");
    assert_eq!(v["result"]["code"], 3021500);
    assert_eq!(v["result"]["platform"], "linux");
    assert!(v["error"].is_null());
}

#[tokio::test]
async fn get_api_access_token_answers_a_hex_token() {
    let t = spawn_sim(vec![]).await;
    let v = t
        .get_json(&t.url("/server/api?api_version=3&method=get_api_access_token"))
        .await;
    let token = v["result"]["token"].as_str().unwrap();
    assert!(!token.is_empty() && token.bytes().all(|b| b.is_ascii_hexdigit()));
}

#[tokio::test]
async fn get_media_files_checks_availability_without_starting_playback() {
    let ok = channel("Sport");
    let dead = channel("Dead").with_fault(Fault::Offline);
    let t = spawn_sim(vec![ok.clone(), dead.clone()]).await;
    let url = |k: &str, v: &str| {
        t.url(&format!(
            "/server/api?api_version=3&method=get_media_files&{k}={v}"
        ))
    };
    let v = t.get_json(&url("content_id", &ok.content_id)).await;
    assert_eq!(v["result"]["files"][0][0], "Sport.ts");
    assert_eq!(v["result"]["files"][0][1], 0);
    let v = t.get_json(&url("infohash", &ok.infohash)).await;
    assert!(v["error"].is_null());
    let v = t.get_json(&url("content_id", &dead.content_id)).await;
    assert_eq!(v["error"], "failed to load content");
    let v = t.get_json(&url("content_id", &"1".repeat(40))).await;
    assert!(v["result"].is_null());
    let state = t.sim.introspect();
    assert!(state.sessions.is_empty() && state.getstream_calls.is_empty());
}

#[tokio::test]
async fn search_matches_names_case_insensitively_and_pages() {
    let cat = vec![
        channel("Demo Sport"),
        channel("Demo News"),
        channel("Other Sport"),
        channel("Music"),
    ];
    let t = spawn_sim(cat.clone()).await;
    let search = |q: &str| t.url(&format!("/server/api?api_version=3&method=search&{q}"));
    let v = t.get_json(&search("query=sport&page=0&page_size=10")).await;
    assert_eq!(v["result"]["total"], 2);
    let first = &v["result"]["results"][0];
    assert_eq!(first["name"], "Demo Sport");
    assert_eq!(first["items"][0]["infohash"], cat[0].infohash.as_str());
    assert_eq!(first["items"][0]["categories"][0], "sport");
    assert_eq!(first["items"][0]["status"], 2);

    let v = t.get_json(&search("query=DEMO&page=1&page_size=1")).await;
    assert_eq!(v["result"]["total"], 2);
    assert_eq!(v["result"]["results"].as_array().unwrap().len(), 1);
    assert_eq!(v["result"]["results"][0]["name"], "Demo News");

    let v = t
        .get_json(&search("query=&category=music&page=0&page_size=10"))
        .await;
    assert_eq!(v["result"]["total"], 1);
}
