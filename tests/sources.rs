//! Channel sources and the guide, end to end: the admin API, refreshes against a
//! local HTTP server serving changing fixtures, the engine simulator for searches and
//! availability checks, and the CLI importers.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a panic here is a failed test

mod common;

use std::io::Write;
use std::time::Duration;

use acestream_sim::{Content, Fault, SimConfig, Simulator};
use common::fixture::FixtureServer;
use common::{Api, TestApp, acextream, eventually};
use serde_json::{Value, json};

const CID_A: &str = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
const IH_B: &str = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";
const CID_D: &str = "dddddddddddddddddddddddddddddddddddddddd";

fn playlist_v1() -> String {
    format!(
        "#EXTM3U\r\n\
         #EXTINF:-1 tvg-id=\"a.id\" tvg-logo=\"http://logo/a.png\" group-title=\"Sport\",Channel A\r\n\
         acestream://{CID_A}\r\n\
         #EXTINF:-1 group-title=\"News\",Channel \"B\", the news\r\n\
         http://127.0.0.1:6878/ace/getstream?infohash={IH_B}\r\n\
         #EXTINF:-1 tvg-logo=\"http://logo/c1.png\",Channel C\r\n\
         http://example.org/live/c.ts\r\n\
         this line is junk\r\n"
    )
}

fn playlist_v2() -> String {
    format!(
        "#EXTM3U\n\
         #EXTINF:-1 tvg-id=\"a.id\" group-title=\"Sport\",Channel A renamed upstream\n\
         acestream://{CID_A}\n\
         #EXTINF:-1 tvg-logo=\"http://logo/c2.png\",Channel C\n\
         http://example.org/live/c.ts\n\
         #EXTINF:-1 group-title=\"Movies\",Channel D\n\
         acestream://{CID_D}\n"
    )
}

async fn channels(api: &Api<'_>, query: &str) -> Vec<Value> {
    let (status, page) = api.get(&format!("/api/channels?limit=1000{query}")).await;
    assert_eq!(status, 200, "{page}");
    page["channels"].as_array().unwrap().clone()
}

fn by_name<'a>(list: &'a [Value], prefix: &str) -> &'a Value {
    list.iter()
        .find(|c| c["name"].as_str().unwrap().starts_with(prefix))
        .unwrap_or_else(|| panic!("no channel {prefix} in {list:?}"))
}

/// Adds a channel source and waits for the refresh that adding it queues.
async fn add_source(api: &Api<'_>, body: Value) -> Value {
    let (status, source) = api.post("/api/scraper/sources", body).await;
    assert_eq!(status, 201, "{source}");
    let id = source["id"].as_i64().unwrap();
    let mut last = Value::Null;
    let done = eventually(Duration::from_secs(20), async || {
        let (_, s) = api.get(&format!("/api/scraper/sources/{id}")).await;
        last = s.clone();
        s["last_success_at"].is_i64() || s["last_error"].is_string()
    })
    .await;
    assert!(done, "the first refresh ran: {last}");
    last
}

async fn refresh(api: &Api<'_>, id: i64) -> (u16, Value) {
    api.post("/api/scraper/trigger?wait=true", json!({ "source_id": id }))
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_playlist_is_imported_then_refreshed_keeping_admin_edits() {
    let fixture = FixtureServer::start().await;
    fixture.serve(200, playlist_v1(), None);
    let app = TestApp::start("http://127.0.0.1:9", |_| {}).await;
    let api = Api(&app);
    let source = add_source(
        &api,
        json!({"url": fixture.url("/list.m3u"), "name": "Test list"}),
    )
    .await;
    let id = source["id"].as_i64().unwrap();
    assert_eq!(source["name"], "Test list");
    assert_eq!(source["found"], 3, "{source}");
    assert_eq!(source["new"], 3);
    let (status, report) = refresh(&api, id).await;
    assert_eq!(status, 200, "{report}");
    assert_eq!(
        (report["found"].as_i64(), report["new"].as_i64()),
        (Some(3), Some(0)),
        "{report}"
    );
    assert_eq!(report["skipped"], 1, "the junk line is counted");

    let list = channels(&api, "").await;
    let a = by_name(&list, "Channel A");
    assert_eq!(a["content_id"], CID_A);
    assert!(a["infohash"].is_null());
    assert_eq!(a["tvg_id"], "a.id");
    assert_eq!(a["category"], "Sport");
    let b = by_name(&list, "Channel \"B\", the news");
    assert_eq!(b["infohash"], IH_B, "an infohash stays an infohash");
    assert!(b["content_id"].is_null());
    let c = by_name(&list, "Channel C");
    assert_eq!(c["direct_url"], "http://example.org/live/c.ts");

    // The admin renames A: the override must survive the source's own rename.
    let a_id = a["id"].as_i64().unwrap();
    let (status, edited) = api
        .put(&format!("/api/channels/{a_id}"), json!({"name": "My A"}))
        .await;
    assert_eq!(status, 200, "{edited}");
    assert_eq!(edited["overrides"], json!(["name"]));

    fixture.serve(200, playlist_v2(), None);
    let (_, report) = refresh(&api, id).await;
    assert_eq!(
        (report["found"].as_i64(), report["new"].as_i64()),
        (Some(3), Some(1)),
        "{report}"
    );
    assert_eq!(report["gone"], 1, "{report}");
    assert_eq!(report["updated"], 1, "only C's logo changed: {report}");

    let list = channels(&api, "").await;
    let a = by_name(&list, "My A");
    assert_eq!(a["id"].as_i64(), Some(a_id), "same row, same stream_id");
    let b = by_name(&list, "Channel \"B\"");
    assert_eq!(b["active"], false, "vanished channels are kept, inactive");
    assert_eq!(by_name(&list, "Channel C")["logo"], "http://logo/c2.png");
    assert_eq!(by_name(&list, "Channel D")["category"], "Movies");
    let active = channels(&api, "&active=true").await;
    assert_eq!(active.len(), 3);

    let (_, source) = api.get(&format!("/api/scraper/sources/{id}")).await;
    assert_eq!(source["found"], 3);
    assert_eq!(source["gone"], 1);
    assert!(source["last_success_at"].is_i64());
    assert!(source["last_error"].is_null());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_or_empty_download_keeps_the_previous_catalogue() {
    let fixture = FixtureServer::start().await;
    fixture.serve(200, playlist_v1(), None);
    let app = TestApp::start("http://127.0.0.1:9", |_| {}).await;
    let api = Api(&app);
    let source = add_source(&api, json!({"url": fixture.url("/l.m3u")})).await;
    let id = source["id"].as_i64().unwrap();
    let before = channels(&api, "").await;
    assert_eq!(before.len(), 3);

    for (status, body) in [
        (500, "boom".to_string()),
        (200, "<html>maintenance</html>".to_string()),
    ] {
        fixture.serve(status, body, None);
        let (code, err) = refresh(&api, id).await;
        assert_eq!(code, 502, "{err}");
        let after = channels(&api, "").await;
        assert_eq!(after, before, "the catalogue is untouched");
        let (_, source) = api.get(&format!("/api/scraper/sources/{id}")).await;
        assert!(source["last_error"].as_str().unwrap().len() > 3, "{source}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unchanged_playlist_is_not_downloaded_again() {
    let fixture = FixtureServer::start().await;
    fixture.serve(200, playlist_v1(), Some("\"v1\""));
    let app = TestApp::start("http://127.0.0.1:9", |_| {}).await;
    let api = Api(&app);
    let source = add_source(&api, json!({"url": fixture.url("/l.m3u")})).await;
    let id = source["id"].as_i64().unwrap();
    assert_eq!(source["found"], 3, "the first download applied: {source}");
    let (_, second) = refresh(&api, id).await;
    assert_eq!(second["result"], "unchanged", "{second}");
    let seen = fixture.state.lock().unwrap().if_none_match.clone();
    assert_eq!(seen.last().unwrap().as_deref(), Some("\"v1\""), "{seen:?}");
    assert_eq!(channels(&api, "").await.len(), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_availability_check_asks_the_engine_with_the_right_parameter() {
    let good = Content::new("Good");
    let offline = Content::new("Dead").with_fault(Fault::Offline);
    let sim = Simulator::start(SimConfig::with_catalogue(vec![
        good.clone(),
        offline.clone(),
    ]))
    .await
    .unwrap();
    let fixture = FixtureServer::start().await;
    // Good by content id and (as another channel) by infohash; an unknown id.
    fixture.serve(
        200,
        format!(
            "#EXTM3U\n#EXTINF:-1,Good by id\nacestream://{}\n\
             #EXTINF:-1,Good by infohash\nhttp://x/ace/getstream?infohash={}\n\
             #EXTINF:-1,Dead\nacestream://{}\n#EXTINF:-1,Unknown\nacestream://{}\n",
            good.content_id,
            good.infohash,
            offline.content_id,
            "e".repeat(40)
        ),
        None,
    );
    let app = TestApp::start(&sim.url(), |s| {
        s.sources.check_spacing = Duration::from_millis(10)
    })
    .await;
    let api = Api(&app);
    add_source(&api, json!({"url": fixture.url("/l.m3u")})).await;
    let (status, progress) = api.post("/api/channels/check", json!({})).await;
    assert_eq!(status, 202, "{progress}");
    let done = eventually(Duration::from_secs(20), async || {
        let (_, p) = api.get("/api/channels/check").await;
        p["running"] == false && p["done"] == 4
    })
    .await;
    assert!(done);
    let (_, p) = api.get("/api/channels/check").await;
    assert_eq!(
        (p["online"].as_i64(), p["offline"].as_i64()),
        (Some(2), Some(2)),
        "{p}"
    );
    let list = channels(&api, "").await;
    assert_eq!(by_name(&list, "Good by id")["online"], true);
    assert_eq!(
        by_name(&list, "Good by infohash")["online"],
        true,
        "sent as infohash="
    );
    assert_eq!(by_name(&list, "Dead")["online"], false);
    assert_eq!(channels(&api, "&online=true").await.len(), 2);
    assert!(
        sim.introspect().sessions.is_empty(),
        "a check starts no playback"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_engine_search_source_adds_infohash_channels() {
    let sim = Simulator::start(SimConfig::with_catalogue(vec![
        Content::new("Search Sport One"),
        Content::new("Search Sport Two"),
        Content::new("Other"),
    ]))
    .await
    .unwrap();
    let app = TestApp::start(&sim.url(), |_| {}).await;
    let api = Api(&app);
    let source = add_source(&api, json!({"url": "search:search sport"})).await;
    assert_eq!(source["found"], 2, "{source}");
    let list = channels(&api, "").await;
    assert_eq!(list.len(), 2, "{list:?}");
    assert!(
        list.iter()
            .all(|c| c["infohash"].is_string() && c["content_id"].is_null())
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_source_input_is_refused_with_the_field_named() {
    let app = TestApp::start("http://127.0.0.1:9", |_| {}).await;
    let api = Api(&app);
    for body in [
        json!({}),
        json!({"url": ""}),
        json!({"url": "ftp://x/y"}),
        json!({"url": "http://x", "kind": "nope"}),
        json!({"url": "http://x", "bogus": 1}),
    ] {
        let (status, err) = api.post("/api/scraper/sources", body.clone()).await;
        assert_eq!(status, 400, "{body} -> {err}");
        assert_eq!(err["error"]["code"], "bad_request");
    }
    let (status, _) = api.put("/api/channels/999", json!({"name": "x"})).await;
    assert_eq!(status, 404);
    let (status, err) = api
        .post(
            "/api/channels",
            json!({"name": "X", "stream": "not a stream"}),
        )
        .await;
    assert_eq!(status, 400, "{err}");
    let (status, ch) = api
        .post(
            "/api/channels",
            json!({"name": "Manual", "stream": format!("acestream://{CID_D}"), "category": "Mine"}),
        )
        .await;
    assert_eq!(status, 201, "{ch}");
    let (status, _) = api
        .post("/api/channels", json!({"name": "Again", "stream": CID_D}))
        .await;
    assert_eq!(status, 409);
}

fn xmltv(channel: &str, title: &str) -> String {
    let now = jiff_like_now();
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<tv>\
         <channel id=\"{channel}\"><display-name>Guide {channel}</display-name></channel>\
         <programme start=\"{} +0000\" stop=\"{} +0000\" channel=\"{channel}\"><title>{title}</title></programme>\
         </tv>",
        now.0, now.1
    )
}

/// (now - 1h, now + 1h) as XMLTV timestamps, without a date crate in the tests.
fn jiff_like_now() -> (String, String) {
    let out = std::process::Command::new("date")
        .args(["-u", "-d", "-1 hour", "+%Y%m%d%H%M%S"])
        .output()
        .unwrap();
    let start = String::from_utf8(out.stdout).unwrap().trim().to_owned();
    let out = std::process::Command::new("date")
        .args(["-u", "-d", "+1 hour", "+%Y%m%d%H%M%S"])
        .output()
        .unwrap();
    (
        start,
        String::from_utf8(out.stdout).unwrap().trim().to_owned(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_gzipped_guide_is_imported_mapped_and_reported() {
    let fixture = FixtureServer::start().await;
    fixture.serve(200, playlist_v1(), None);
    let guide = FixtureServer::start().await;
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(xmltv("A.ID", "Match of the day").as_bytes())
        .unwrap();
    // Served under a name that does not say gzip: the magic bytes do.
    guide.serve(200, gz.finish().unwrap(), None);
    let app = TestApp::start("http://127.0.0.1:9", |_| {}).await;
    let api = Api(&app);
    add_source(&api, json!({"url": fixture.url("/l.m3u")})).await;
    let (status, epg) = api
        .post("/api/epg/sources", json!({"url": guide.url("/guide.xml")}))
        .await;
    assert_eq!(status, 201, "{epg}");
    let (status, outcome) = api
        .post("/api/epg/update?wait=true", json!({"source_id": epg["id"]}))
        .await;
    assert_eq!(status, 200, "{outcome}");
    assert_eq!(outcome["import"]["programmes"], 1, "{outcome}");
    assert_eq!(
        outcome["mapping"]["mapped"], 1,
        "a.id matches A.ID ignoring case: {outcome}"
    );
    let (_, report) = api.get("/api/epg/report").await;
    assert_eq!(report["without_guide"], 2, "{report}");
    assert_eq!(channels(&api, "&has_guide=true").await.len(), 1);
}

#[test]
fn the_cli_imports_a_playlist_file_and_a_guide_file() {
    let dir = tempfile::tempdir().unwrap();
    let list = dir.path().join("list.m3u");
    std::fs::write(&list, playlist_v1()).unwrap();
    let out = acextream(dir.path())
        .args(["channel", "import"])
        .arg(&list)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("3 channels (3 new"), "{text}");
    let guide = dir.path().join("guide.xml");
    std::fs::write(&guide, xmltv("a.id", "News at ten")).unwrap();
    let out = acextream(dir.path())
        .args(["epg", "import"])
        .arg(&guide)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("1 programmes") && text.contains("1 channels mapped"),
        "{text}"
    );
    let out = acextream(dir.path())
        .args(["channel", "import", "/does/not/exist.m3u"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot read"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sources_from_the_settings_are_seeded_once_and_refreshed_in_the_background() {
    let fixture = FixtureServer::start().await;
    fixture.serve(200, playlist_v1(), None);
    let url = fixture.url("/seed.m3u");
    let app = TestApp::start("http://127.0.0.1:9", |s| s.sources.urls = vec![url.clone()]).await;
    let api = Api(&app);
    let (_, sources) = api.get("/api/scraper/sources").await;
    assert_eq!(sources["sources"].as_array().unwrap().len(), 1);
    // Serving started at once; the first refresh runs in the background.
    let refreshed = eventually(Duration::from_secs(20), async || {
        channels(&api, "").await.len() == 3
    })
    .await;
    assert!(refreshed);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn categories_can_be_renamed_reordered_and_merged_and_refreshes_keep_it() {
    let fixture = FixtureServer::start().await;
    fixture.serve(200, playlist_v1(), None);
    let app = TestApp::start("http://127.0.0.1:9", |_| {}).await;
    let api = Api(&app);
    let source = add_source(&api, json!({"url": fixture.url("/l.m3u")})).await;
    let (_, cats) = api.get("/api/categories").await;
    let id_of = |cats: &Value, name: &str| {
        cats["categories"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["name"] == name)
            .unwrap()["id"]
            .as_i64()
            .unwrap()
    };
    let (sport, news) = (id_of(&cats, "Sport"), id_of(&cats, "News"));
    let (status, _) = api
        .put(&format!("/api/categories/{sport}"), json!({"name": "News"}))
        .await;
    assert_eq!(status, 409, "names stay unique");
    let (status, cats) = api
        .put(
            &format!("/api/categories/{sport}"),
            json!({"name": "Sports", "sort_order": -1}),
        )
        .await;
    assert_eq!(status, 200, "{cats}");
    assert_eq!(cats["categories"][0]["name"], "Sports", "ordered first");
    let (status, cats) = api
        .post(
            &format!("/api/categories/{news}/merge"),
            json!({"into": sport}),
        )
        .await;
    assert_eq!(status, 200, "{cats}");
    assert!(
        cats["categories"]
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c["name"] != "News")
    );
    // The source still says "News": the merge is an admin override and survives.
    refresh(&api, source["id"].as_i64().unwrap()).await;
    let list = channels(&api, "").await;
    assert_eq!(by_name(&list, "Channel \"B\"")["category"], "Sports");
}
