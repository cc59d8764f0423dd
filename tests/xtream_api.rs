//! The Xtream Codes API and stream URLs as real players use them: every field's JSON
//! type, the refusals, POST equal to GET, connection limits and `active_cons`, and a
//! `/live/…ts` stream read through the whole chain from the simulator.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a panic here is a failed test

mod common;

use std::time::Duration;

use acestream_sim::ts::TsChecker;
use acestream_sim::{Content, SimConfig, Simulator};
use base64::Engine as _;
use common::fixture::FixtureServer;
use common::{Api, TestApp, eventually, get_json, http};
use serde_json::{Value, json};

struct World {
    sim: Simulator,
    app: TestApp,
    _lists: FixtureServer,
    sport: Content,
    direct: FixtureServer,
}

/// A simulator with two channels, a playlist listing them (one in a category, one
/// without, plus a direct HTTP channel), imported into a fresh app; user `alice`.
async fn world() -> World {
    let sport = Content::new("Sport One");
    let news = Content::new("News Two");
    let sim = Simulator::start(SimConfig::with_catalogue(vec![sport.clone(), news.clone()]))
        .await
        .unwrap();
    let direct = FixtureServer::start().await;
    direct.serve(200, vec![0x47u8; 188 * 10], None);
    let lists = FixtureServer::start().await;
    lists.serve(
        200,
        format!(
            "#EXTM3U\n#EXTINF:-1 tvg-id=\"sport.one\" tvg-logo=\"http://l/s.png\" group-title=\"Sport\",Sport One\n\
             acestream://{}\n#EXTINF:-1 tvg-id=\"news.two\",News Two\n\
             http://127.0.0.1:6878/ace/getstream?infohash={}\n\
             #EXTINF:-1 group-title=\"Sport\",Direct Three\n{}\n",
            sport.content_id,
            news.infohash,
            direct.url("/direct.ts")
        ),
        None,
    );
    let app = TestApp::start(&sim.url(), |s| s.server.timezone = "Europe/Rome".into()).await;
    let api = Api(&app);
    let (status, src) = api
        .post("/api/scraper/sources", json!({"url": lists.url("/l.m3u")}))
        .await;
    assert_eq!(status, 201);
    let (status, _) = api
        .post(
            "/api/scraper/trigger?wait=true",
            json!({"source_id": src["id"]}),
        )
        .await;
    assert_eq!(status, 200);
    app.add_user("alice", "alice-pw", 1).await;
    World {
        sim,
        app,
        _lists: lists,
        sport,
        direct,
    }
}

async fn player_api(app: &TestApp, query: &str) -> Value {
    let resp = http()
        .get(app.url(&format!("/player_api.php?{query}")))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200, "{query}");
    resp.json().await.unwrap()
}

const ALICE: &str = "username=alice&password=alice-pw";

fn is_numeric_string(v: &Value) -> bool {
    v.as_str()
        .is_some_and(|s| !s.is_empty() && s.parse::<i64>().is_ok())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_login_payload_has_the_types_clients_parse() {
    let w = world().await;
    let v = player_api(&w.app, ALICE).await;
    let u = &v["user_info"];
    assert_eq!(u["auth"], json!(1));
    assert_eq!(u["username"], "alice");
    assert_eq!(
        u["password"], "alice-pw",
        "pyxtream builds URLs from the echo"
    );
    assert_eq!(u["status"], "Active");
    assert!(is_numeric_string(&u["exp_date"]), "{u}");
    assert_eq!(u["is_trial"], "0");
    assert_eq!(u["active_cons"], "0");
    assert!(is_numeric_string(&u["created_at"]));
    assert_eq!(u["max_connections"], "1");
    assert_eq!(u["allowed_output_formats"], json!(["m3u8", "ts"]));
    assert!(u["message"].is_string());
    let s = &v["server_info"];
    assert_eq!(s["url"], "127.0.0.1", "host only: {s}");
    assert_eq!(s["port"], json!(w.app.public.port().to_string()));
    assert!(s["https_port"].is_string() && s["rtmp_port"].is_string());
    assert_eq!(s["server_protocol"], "http");
    assert_eq!(s["timezone"], "Europe/Rome");
    assert!(s["timestamp_now"].is_i64());
    let time_now = s["time_now"].as_str().unwrap();
    assert_eq!(time_now.len(), 19, "{time_now}");
    assert_eq!(s["process"], true);
    // Unknown actions, as @iptv/xtream-api calls first, answer the same payload.
    for action in [
        "get_profile",
        "get_account_info",
        "get_user_info",
        "get_server_info",
        "nonsense",
    ] {
        let p = player_api(&w.app, &format!("{ALICE}&action={action}")).await;
        assert_eq!(p["user_info"]["auth"], 1, "{action}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_disabled_and_expired_accounts_are_refused_with_auth_zero() {
    let w = world().await;
    for q in [
        "",
        "username=alice",
        "username=alice&password=nope",
        "username=ghost&password=x",
    ] {
        let v = player_api(&w.app, q).await;
        assert_eq!(v, json!({"user_info": {"auth": 0}}), "{q}");
    }
    let acc = w.app.accounts();
    acc.create(acextream_core::accounts::AccountSpec {
        username: "old".into(),
        password: "pw".into(),
        expires_at: Some(1_000_000),
        ..Default::default()
    })
    .await
    .unwrap();
    let v = player_api(&w.app, "username=old&password=pw").await;
    assert_eq!(
        (
            v["user_info"]["auth"].clone(),
            v["user_info"]["status"].clone()
        ),
        (json!(0), json!("Expired"))
    );
    w.app.add_user("off", "pw", 1).await;
    acextream_core::Store::open(&w.app.db)
        .unwrap()
        .run_blocking(|c| Ok(c.execute("UPDATE users SET enabled = 0 WHERE username = 'off'", [])?))
        .unwrap();
    // The app caches logins for 30 s; this account never logged in, so it is fresh.
    let v = player_api(&w.app, "username=off&password=pw").await;
    assert_eq!(v["user_info"]["status"], "Disabled");
    // Stream URLs and playlists answer 401 for all three.
    for (u, p) in [("alice", "nope"), ("old", "pw"), ("off", "pw")] {
        let r = http()
            .get(w.app.url(&format!("/live/{u}/{p}/1.ts")))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 401, "{u}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn categories_and_streams_have_exact_types_and_filters() {
    let w = world().await;
    let cats = player_api(&w.app, &format!("{ALICE}&action=get_live_categories")).await;
    let cats = cats.as_array().unwrap();
    assert_eq!(cats.len(), 2, "Sport and Uncategorized: {cats:?}");
    for c in cats {
        assert!(is_numeric_string(&c["category_id"]));
        assert!(c["category_name"].is_string());
        assert_eq!(c["parent_id"], json!(0));
    }
    let sport_id = cats.iter().find(|c| c["category_name"] == "Sport").unwrap()["category_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let streams = player_api(&w.app, &format!("{ALICE}&action=get_live_streams")).await;
    let streams = streams.as_array().unwrap();
    assert_eq!(streams.len(), 3);
    for s in streams {
        assert!(s["num"].is_i64() && s["stream_id"].is_i64() && s["tv_archive"].is_i64());
        assert!(s["tv_archive_duration"].is_i64());
        assert_eq!(s["stream_type"], "live");
        assert!(is_numeric_string(&s["added"]) && is_numeric_string(&s["category_id"]));
        assert!(
            s["category_ids"]
                .as_array()
                .unwrap()
                .iter()
                .all(Value::is_i64)
        );
        assert_eq!(s["is_adult"], "0");
        for k in [
            "name",
            "stream_icon",
            "epg_channel_id",
            "custom_sid",
            "direct_source",
            "thumbnail",
        ] {
            assert!(s[k].is_string(), "{k} in {s}");
        }
    }
    let sport = streams.iter().find(|s| s["name"] == "Sport One").unwrap();
    assert_eq!(sport["epg_channel_id"], "sport.one");
    assert_eq!(sport["stream_icon"], "http://l/s.png");
    let filtered = player_api(
        &w.app,
        &format!("{ALICE}&action=get_live_streams&category_id={sport_id}"),
    )
    .await;
    assert_eq!(filtered.as_array().unwrap().len(), 2);
    for bad in ["abc", "99999", "-1"] {
        let v = player_api(
            &w.app,
            &format!("{ALICE}&action=get_live_streams&category_id={bad}"),
        )
        .await;
        assert_eq!(v, json!([]), "{bad}");
    }
    for action in [
        "get_vod_categories",
        "get_vod_streams",
        "get_series_categories",
        "get_series",
    ] {
        assert_eq!(
            player_api(&w.app, &format!("{ALICE}&action={action}")).await,
            json!([])
        );
    }
    assert_eq!(
        player_api(&w.app, &format!("{ALICE}&action=get_vod_info&vod_id=1")).await,
        json!({"info": [], "movie_data": []})
    );
    assert_eq!(
        player_api(
            &w.app,
            &format!("{ALICE}&action=get_series_info&series_id=1")
        )
        .await,
        json!({"seasons": [], "info": [], "episodes": []})
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_form_post_answers_what_the_get_answers() {
    let w = world().await;
    for action in ["", "get_live_categories", "get_live_streams"] {
        let get = player_api(&w.app, &format!("{ALICE}&action={action}")).await;
        let post: Value = http()
            .post(w.app.url("/player_api.php"))
            .form(&[
                ("username", "alice"),
                ("password", "alice-pw"),
                ("action", action),
            ])
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let strip = |mut v: Value| {
            if let Some(s) = v.get_mut("server_info") {
                s["timestamp_now"] = json!(0);
                s["time_now"] = json!("");
            }
            v
        };
        assert_eq!(strip(get), strip(post), "{action}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn panel_api_lists_categories_and_channels_keyed_by_id() {
    let w = world().await;
    let v: Value = get_json(w.app.url(&format!("/panel_api.php?{ALICE}"))).await;
    assert_eq!(v["user_info"]["auth"], 1);
    assert_eq!(v["categories"]["live"].as_array().unwrap().len(), 2);
    assert_eq!(v["categories"]["movie"], json!([]));
    let channels = v["available_channels"].as_object().unwrap();
    assert_eq!(channels.len(), 3);
    for (id, row) in channels {
        assert_eq!(row["stream_id"].as_i64().unwrap().to_string(), *id);
        assert!(row["category_name"].is_string());
    }
}

fn xmltv_now() -> String {
    let t = |offset: &str| {
        let out = std::process::Command::new("date")
            .args(["-u", "-d", offset, "+%Y%m%d%H%M%S"])
            .output()
            .unwrap();
        String::from_utf8(out.stdout).unwrap().trim().to_owned()
    };
    format!(
        "<?xml version=\"1.0\"?><tv><channel id=\"sport.one\"><display-name>Sport</display-name></channel>\
         <programme start=\"{} +0000\" stop=\"{} +0000\" channel=\"sport.one\"><title lang=\"it\">Partita è</title><desc>Calcio</desc></programme>\
         <programme start=\"{} +0000\" stop=\"{} +0000\" channel=\"sport.one\"><title>Dopo</title></programme>\
         </tv>",
        t("-1 hour"),
        t("+1 hour"),
        t("+1 hour"),
        t("+2 hours")
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn short_epg_and_data_table_come_from_the_stored_guide() {
    let w = world().await;
    let guide = FixtureServer::start().await;
    guide.serve(200, xmltv_now(), None);
    let api = Api(&w.app);
    let (_, src) = api
        .post("/api/epg/sources", json!({"url": guide.url("/g.xml")}))
        .await;
    let (status, out) = api
        .post("/api/epg/update?wait=true", json!({"source_id": src["id"]}))
        .await;
    assert_eq!(status, 200, "{out}");
    let streams = player_api(&w.app, &format!("{ALICE}&action=get_live_streams")).await;
    let id = streams
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == "Sport One")
        .unwrap()["stream_id"]
        .as_i64()
        .unwrap();
    let short = player_api(
        &w.app,
        &format!("{ALICE}&action=get_short_epg&stream_id={id}"),
    )
    .await;
    let rows = short["epg_listings"].as_array().unwrap();
    assert_eq!(rows.len(), 2, "{short}");
    let first = &rows[0];
    let title = base64::engine::general_purpose::STANDARD
        .decode(first["title"].as_str().unwrap())
        .unwrap();
    assert_eq!(String::from_utf8(title).unwrap(), "Partita è");
    assert_eq!(first["lang"], "it");
    assert_eq!(first["channel_id"], "sport.one");
    assert_eq!(first["stream_id"], id.to_string());
    for k in ["id", "epg_id", "start_timestamp", "stop_timestamp"] {
        assert!(is_numeric_string(&first[k]), "{k}: {first}");
    }
    assert_eq!(first["start"].as_str().unwrap().len(), 19);
    assert_eq!(first["stop"], first["end"], "XUI's `stop` beside `end`");
    assert_eq!(first["stop"].as_str().unwrap().len(), 19);
    let limited = player_api(
        &w.app,
        &format!("{ALICE}&action=get_short_epg&stream_id={id}&limit=1"),
    )
    .await;
    assert_eq!(limited["epg_listings"].as_array().unwrap().len(), 1);
    let table = player_api(
        &w.app,
        &format!("{ALICE}&action=get_simple_data_table&stream_id={id}"),
    )
    .await;
    let rows = table["epg_listings"].as_array().unwrap();
    assert_eq!(rows[0]["now_playing"], json!(1));
    assert_eq!(rows[1]["now_playing"], json!(0));
    assert_eq!(rows[0]["has_archive"], json!(0));
    for bad in ["", "abc", "999999"] {
        let v = player_api(
            &w.app,
            &format!("{ALICE}&action=get_short_epg&stream_id={bad}"),
        )
        .await;
        assert_eq!(v, json!({"epg_listings": []}), "{bad}");
    }
}

async fn sport_id(w: &World) -> i64 {
    let streams = player_api(&w.app, &format!("{ALICE}&action=get_live_streams")).await;
    streams
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == "Sport One")
        .unwrap()["stream_id"]
        .as_i64()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_live_ts_url_streams_the_channel_through_the_whole_chain() {
    let w = world().await;
    let id = sport_id(&w).await;
    for path in [
        format!("/live/alice/alice-pw/{id}.ts"),
        format!("/alice/alice-pw/{id}"),
        format!("/alice/alice-pw/{id}.ts"),
    ] {
        let mut resp = http().get(w.app.url(&path)).send().await.unwrap();
        assert_eq!(resp.status(), 200, "{path}");
        assert_eq!(resp.headers()["content-type"], "video/mp2t");
        let mut c = TsChecker::default();
        while c.packets < 2000 {
            let chunk = tokio::time::timeout(Duration::from_secs(20), resp.chunk())
                .await
                .unwrap()
                .unwrap()
                .unwrap();
            c.feed(&chunk);
        }
        assert!(c.is_contiguous(), "{path}: {c:?}");
        assert_eq!(c.first_pid, Some(0));
    }
    let calls = w.sim.introspect().getstream_calls;
    assert_eq!(calls.len(), 1, "one engine session for all three URLs");
    assert_eq!(calls[0].value, w.sport.content_id);
    for path in [
        "/live/alice/alice-pw/99999.m3u8",
        "/live/alice/alice-pw/99999.ts",
        "/live/alice/alice-pw/abc.ts",
        "/movie/alice/alice-pw/1.mkv",
        "/series/alice/alice-pw/1.mp4",
    ] {
        assert_eq!(
            http().get(w.app.url(path)).send().await.unwrap().status(),
            404,
            "{path}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_infohash_channel_reaches_the_engine_as_infohash() {
    let w = world().await;
    let streams = player_api(&w.app, &format!("{ALICE}&action=get_live_streams")).await;
    let id = streams
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == "News Two")
        .unwrap()["stream_id"]
        .as_i64()
        .unwrap();
    let mut resp = http()
        .get(w.app.url(&format!("/live/alice/alice-pw/{id}.ts")))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let mut c = TsChecker::default();
    while c.packets < 200 {
        c.feed(&resp.chunk().await.unwrap().unwrap());
    }
    let call = &w.sim.introspect().getstream_calls[0];
    assert_eq!(call.param, "infohash");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_direct_channel_is_proxied_without_the_engine() {
    let w = world().await;
    let streams = player_api(&w.app, &format!("{ALICE}&action=get_live_streams")).await;
    let id = streams
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == "Direct Three")
        .unwrap()["stream_id"]
        .as_i64()
        .unwrap();
    let mut resp = http()
        .get(w.app.url(&format!("/live/alice/alice-pw/{id}.ts")))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["content-type"], "video/mp2t");
    // The multiplexer plays it like any link (a live source that ends is
    // re-opened): the viewer gets the source's packets, whole.
    let mut got = Vec::new();
    while got.len() < 1880 {
        let chunk = tokio::time::timeout(std::time::Duration::from_secs(10), resp.chunk())
            .await
            .expect("bytes in time")
            .unwrap()
            .expect("the body goes on");
        got.extend_from_slice(&chunk);
    }
    assert!(
        got[..1880]
            .chunks(188)
            .all(|p| p[0] == 0x47 && p.len() == 188)
    );
    drop(resp);
    assert!(w.sim.introspect().getstream_calls.is_empty());
    // Closed at once rather than after the idle grace, then the source breaks.
    let stopped = http()
        .delete(w.app.mux_url(&format!("/ace/streams?channel={id}")))
        .send()
        .await
        .unwrap();
    assert_eq!(stopped.status(), 200);
    w.direct.serve(404, "gone", None);
    let resp = http()
        .get(w.app.url(&format!("/live/alice/alice-pw/{id}.ts")))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 502);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn active_cons_rises_and_falls_and_the_limit_refuses_a_second_device() {
    let w = world().await;
    let id = sport_id(&w).await;
    let url = w.app.url(&format!("/live/alice/alice-pw/{id}.ts"));
    let mut first = http().get(&url).send().await.unwrap();
    assert_eq!(first.status(), 200);
    first.chunk().await.unwrap();
    let v = player_api(&w.app, ALICE).await;
    assert_eq!(v["user_info"]["active_cons"], "1");
    // Another device (another IP) is refused while alice's one slot is taken.
    let other = http()
        .get(&url)
        .header("x-forwarded-for", "10.9.9.9")
        .send()
        .await
        .unwrap();
    assert_eq!(
        other.status(),
        200,
        "forwarded headers are not trusted by default: same IP"
    );
    drop(other);
    drop(first);
    assert!(
        eventually(Duration::from_secs(10), async || {
            player_api(&w.app, ALICE).await["user_info"]["active_cons"] == "0"
        })
        .await,
        "the count falls the moment the player hangs up"
    );

    let trusting = TestApp::start(&w.sim.url(), |s| s.server.trust_forwarded_headers = true).await;
    let api = Api(&trusting);
    let (_, src) = api
        .post(
            "/api/scraper/sources",
            json!({"url": w._lists.url("/l.m3u")}),
        )
        .await;
    api.post(
        "/api/scraper/trigger?wait=true",
        json!({"source_id": src["id"]}),
    )
    .await;
    trusting.add_user("bob", "bob-pw", 1).await;
    let streams = player_api(
        &trusting,
        "username=bob&password=bob-pw&action=get_live_streams",
    )
    .await;
    let id = streams
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == "Sport One")
        .unwrap()["stream_id"]
        .as_i64()
        .unwrap();
    let url = trusting.url(&format!("/live/bob/bob-pw/{id}.ts"));
    let mut tv = http()
        .get(&url)
        .header("x-forwarded-for", "10.0.0.1")
        .send()
        .await
        .unwrap();
    assert_eq!(tv.status(), 200);
    tv.chunk().await.unwrap();
    let phone = http()
        .get(&url)
        .header("x-forwarded-for", "10.0.0.2")
        .send()
        .await
        .unwrap();
    assert_eq!(phone.status(), 403);
    assert!(phone.text().await.unwrap().contains("limit"));
    // The same device zapping replaces its own older stream instead of a 403.
    let zap = http()
        .get(&url)
        .header("x-forwarded-for", "10.0.0.1")
        .send()
        .await
        .unwrap();
    assert_eq!(zap.status(), 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_route_shadows_another() {
    let w = world().await;
    let c = http();
    let status = async |path: &str| {
        c.get(w.app.url(path))
            .send()
            .await
            .unwrap()
            .status()
            .as_u16()
    };
    assert_eq!(status("/health").await, 200);
    assert_eq!(status("/ace/status").await, 200);
    assert_eq!(
        status("/api/health").await,
        401,
        "the admin API is reached (and guarded)"
    );
    assert_eq!(status("/api/channels/1").await, 401);
    assert_eq!(status("/player_api.php").await, 200);
    assert_eq!(status("/get.php").await, 401);
    assert_eq!(status("/xmltv.php").await, 401);
    // Other areas stay theirs: the dashboard (guarded) and its assets.
    assert_eq!(
        status("/static/css/app.css").await,
        200,
        "dashboard assets are served"
    );
    let no_redirect = reqwest::Client::builder()
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let dash = no_redirect
        .get(w.app.url("/dashboard/channels"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        dash.status(),
        303,
        "the dashboard's guard answers, not the Xtream routes"
    );
    // Three-segment paths of other areas are never read as /{user}/{password}/{id}.
    for path in ["/epg/channel/5", "/static/css/nope.css", "/ace/x/1"] {
        let r = c.get(w.app.url(path)).send().await.unwrap();
        assert_eq!(r.status(), 404, "{path}");
        let body: Value = r.json().await.unwrap();
        assert_eq!(body["error"]["code"], "not_found", "{path}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_address_that_keeps_guessing_passwords_is_braked() {
    let w = world().await;
    let guesser = reqwest::Client::builder()
        .no_proxy()
        .local_address("127.0.0.2".parse::<std::net::IpAddr>().unwrap())
        .build()
        .unwrap();
    let from_guesser = async |path: &str| guesser.get(w.app.url(path)).send().await.unwrap();
    for _ in 0..30 {
        let r = from_guesser("/player_api.php?username=alice&password=guess").await;
        assert_eq!(r.status(), 200);
        let v: Value = r.json().await.unwrap();
        assert_eq!(v["user_info"]["auth"], 0);
    }
    // Even the right password is refused from this address for a while, with a
    // 429 that says when to come back.
    let r = from_guesser(&format!("/player_api.php?{ALICE}")).await;
    assert_eq!(r.status(), 429);
    assert!(r.headers().contains_key("retry-after"));
    let r = from_guesser("/live/alice/alice-pw/1.ts").await;
    assert_eq!(r.status(), 429);
    // Alice at home, on another address, is not braked by the guesser.
    let v = player_api(&w.app, ALICE).await;
    assert_eq!(v["user_info"]["auth"], 1);
}
