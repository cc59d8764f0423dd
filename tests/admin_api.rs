//! The admin REST API end to end: users, settings (with a restart and an
//! environment override on the real binary), logs, the overview, live streams
//! against the engine simulator, and `/metrics`.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a panic here is a failed test

mod common;

use std::sync::Arc;
use std::time::Duration;

use acestream_sim::{Content, SimConfig, Simulator};
use acextream_core::logbuf::LogBuffer;
use common::{ADMIN, Api, Daemon, TestApp, eventually, get_json, http};
use serde_json::{Value, json};

/// Nothing listens here: tests that need no engine.
const NO_ENGINE: &str = "http://127.0.0.1:9";
const WAIT: Duration = Duration::from_secs(20);

async fn delete(app: &TestApp, path: &str) -> (u16, Value) {
    Api(app)
        .send(reqwest::Method::DELETE, path, json!({}))
        .await
}

/// `auth` of `player_api.php` for these credentials (1 = accepted).
async fn player_auth(app: &TestApp, user: &str, password: &str) -> i64 {
    let url = app.url(&format!(
        "/player_api.php?username={user}&password={password}"
    ));
    let body: Value = get_json(url).await;
    body["user_info"]["auth"].as_i64().unwrap()
}

fn assert_error(status: u16, body: &Value, want_status: u16, code: &str, mentions: &str) {
    assert_eq!(status, want_status, "{body}");
    assert_eq!(body["error"]["code"], code, "{body}");
    let message = body["error"]["message"].as_str().unwrap();
    assert!(
        message.contains(mentions),
        "{message:?} should mention {mentions:?}"
    );
}

async fn user_id(api: &Api<'_>, name: &str) -> i64 {
    let (_, list) = api.get("/api/users").await;
    list["users"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["username"] == name)
        .unwrap()["id"]
        .as_i64()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_user_is_created_listed_edited_reset_disabled_and_deleted() {
    let app = TestApp::start(NO_ENGINE, |_| {}).await;
    let api = Api(&app);
    let (status, created) = api
        .post(
            "/api/users",
            json!({"username": "alice", "password": "alice-pass-1", "max_connections": 2,
                   "expires": "2030-01-31", "notes": "first", "is_trial": true}),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    let id = created["id"].as_i64().unwrap();
    assert_eq!(
        created["expires_at"], 1_896_134_400,
        "through the last day, UTC"
    );
    assert_eq!(created["expires"], "2030-01-31");
    assert_eq!(created["is_trial"], true);

    let (status, list) = api.get("/api/users").await;
    assert_eq!(status, 200);
    let alice = list["users"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["username"] == "alice")
        .unwrap();
    assert_eq!(alice["active_cons"], 0);
    assert_eq!(alice["max_connections"], 2);
    let text = list.to_string();
    assert!(
        !text.contains("password") && !text.contains("argon2"),
        "no hash: {text}"
    );

    assert_eq!(player_auth(&app, "alice", "alice-pass-1").await, 1);
    let (status, edited) = api
        .put(
            &format!("/api/users/{id}"),
            json!({"max_connections": 5, "expires": null, "notes": "vip"}),
        )
        .await;
    assert_eq!(status, 200, "{edited}");
    assert_eq!(
        (edited["max_connections"].as_i64(), edited["notes"].as_str()),
        (Some(5), Some("vip"))
    );
    assert_eq!(edited["expires_at"], Value::Null);
    assert_eq!(edited["is_trial"], true, "untouched fields stay");

    // The old password was just verified (and cached): a reset drops it at once.
    let (status, _) = api
        .put(
            &format!("/api/users/{id}"),
            json!({"password": "alice-pass-2"}),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        player_auth(&app, "alice", "alice-pass-1").await,
        0,
        "old password refused at once"
    );
    assert_eq!(player_auth(&app, "alice", "alice-pass-2").await, 1);

    let (status, off) = api
        .put(&format!("/api/users/{id}"), json!({"enabled": false}))
        .await;
    assert_eq!((status, &off["enabled"]), (200, &json!(false)));
    assert_eq!(
        player_auth(&app, "alice", "alice-pass-2").await,
        0,
        "disabled at once"
    );

    let (status, _) = delete(&app, &format!("/api/users/{id}")).await;
    assert_eq!(status, 204);
    let (status, body) = api.get(&format!("/api/users/{id}")).await;
    assert_error(status, &body, 404, "not_found", "user");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn validation_errors_name_the_field_and_the_last_admin_is_protected() {
    let app = TestApp::start(NO_ENGINE, |_| {}).await;
    let api = Api(&app);
    for (body, field) in [
        (
            json!({"username": "bad name", "password": "pass-1234"}),
            "username",
        ),
        (json!({"username": "bob"}), "password"),
        (json!({"username": "bob", "password": "a b"}), "password"),
        (
            json!({"username": "bob", "password": "pass-1234", "max_connections": -1}),
            "max_connections",
        ),
        (
            json!({"username": "bob", "password": "pass-1234", "expires": "soon"}),
            "expires",
        ),
        (
            json!({"username": "bob", "password": "pass-1234", "is_admin": "yes"}),
            "is_admin",
        ),
        (
            json!({"username": "bob", "password": "pass-1234", "colour": "red"}),
            "colour",
        ),
    ] {
        let (status, err) = api.post("/api/users", body.clone()).await;
        assert_error(status, &err, 400, "bad_request", field);
    }
    let (status, _) = api
        .post(
            "/api/users",
            json!({"username": "bob", "password": "pass-1234"}),
        )
        .await;
    assert_eq!(status, 201);
    let (status, err) = api
        .post(
            "/api/users",
            json!({"username": "bob", "password": "pass-1234"}),
        )
        .await;
    assert_error(status, &err, 409, "conflict", "bob");

    let admin = user_id(&api, ADMIN.0).await;
    for edit in [json!({"is_admin": false}), json!({"enabled": false})] {
        let (status, err) = api.put(&format!("/api/users/{admin}"), edit).await;
        assert_error(status, &err, 409, "conflict", "last enabled admin");
    }
    let (status, err) = delete(&app, &format!("/api/users/{admin}")).await;
    assert_error(status, &err, 409, "conflict", "last enabled admin");
    assert_eq!(
        player_auth(&app, ADMIN.0, ADMIN.1).await,
        1,
        "the admin is intact"
    );

    // With a second admin, either may be demoted.
    let (status, second) = api
        .post(
            "/api/users",
            json!({"username": "root2", "password": "root2-pass", "is_admin": true}),
        )
        .await;
    assert_eq!(status, 201, "{second}");
    let (status, demoted) = api
        .put(
            &format!("/api/users/{}", second["id"]),
            json!({"is_admin": false}),
        )
        .await;
    assert_eq!((status, &demoted["is_admin"]), (200, &json!(false)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn user_links_carry_a_placeholder_unless_the_password_is_given() {
    let app = TestApp::start(NO_ENGINE, |_| {}).await;
    let api = Api(&app);
    let (_, carol) = api
        .post(
            "/api/users",
            json!({"username": "carol", "password": "carol-pass-1"}),
        )
        .await;
    let id = carol["id"].as_i64().unwrap();
    let origin = format!("http://{}", app.public);

    let (status, links) = api.get(&format!("/api/users/{id}/links")).await;
    assert_eq!(status, 200, "{links}");
    assert_eq!(links["password_included"], false);
    assert_eq!(
        links["m3u"],
        format!("{origin}/get.php?username=carol&password={{password}}&type=m3u_plus&output=ts")
    );
    assert_eq!(
        links["xmltv"],
        format!("{origin}/xmltv.php?username=carol&password={{password}}")
    );
    assert_eq!(links["xtream"]["server"], origin);
    assert_eq!(links["xtream"]["port"], app.public.port());
    assert_eq!(links["xtream"]["username"], "carol");

    let (status, filled) = api
        .get(&format!("/api/users/{id}/links?password=carol-pass-1"))
        .await;
    assert_eq!((status, &filled["password_included"]), (200, &json!(true)));
    let m3u = filled["m3u"].as_str().unwrap();
    assert!(m3u.contains("password=carol-pass-1"), "{m3u}");
    let playlist = http().get(m3u).send().await.unwrap();
    assert_eq!(playlist.status(), 200, "the link works");

    let (status, posted) = api
        .post(
            &format!("/api/users/{id}/links"),
            json!({"password": "carol-pass-1"}),
        )
        .await;
    assert_eq!((status, &posted["m3u"]), (200, &filled["m3u"]));
    // A malformed body is refused, not read as "no password".
    let (status, err) = api
        .post(&format!("/api/users/{id}/links"), json!({"password": 17}))
        .await;
    assert_error(status, &err, 400, "bad_request", "invalid JSON body");
    let (status, err) = api
        .get(&format!("/api/users/{id}/links?password=wrong-pass"))
        .await;
    assert_error(status, &err, 400, "bad_request", "password");
}

fn entry<'a>(list: &'a Value, key: &str) -> &'a Value {
    list["settings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["key"] == key)
        .unwrap_or_else(|| panic!("no {key}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn settings_are_listed_validated_saved_reverted_and_applied_at_the_next_start() {
    let mut app = TestApp::start(NO_ENGINE, |_| {}).await;
    let api = Api(&app);
    let (status, list) = api.get("/api/settings").await;
    assert_eq!(status, 200, "{list}");
    let days = entry(&list, "epg.days_ahead");
    assert_eq!(
        (&days["value"], &days["source"], &days["editable"]),
        (&json!(7), &json!("default"), &json!(true))
    );
    assert_eq!(
        (&days["restart_required"], &days["type"]),
        (&json!(true), &json!("integer"))
    );
    assert!(days["description"].as_str().unwrap().len() > 10);
    // The test harness sets these in code, which is the file's layer.
    assert_eq!(entry(&list, "mux.idle_grace")["source"], "file");
    let bind = entry(&list, "server.bind");
    assert_eq!(
        (&bind["editable"], &bind["locked_reason"].is_string()),
        (&json!(false), &true)
    );
    let secret = entry(&list, "admin.password");
    assert_eq!(secret["value"], "********");
    assert!(!list.to_string().contains(ADMIN.1), "secrets are masked");

    for (key, value, status, code, mentions) in [
        (
            "epg.days_ahead",
            json!(40),
            400,
            "bad_request",
            "epg.days_ahead",
        ),
        (
            "epg.days_ahead",
            json!("x"),
            400,
            "bad_request",
            "epg.days_ahead",
        ),
        (
            "mux.stall_timeout",
            json!("forever"),
            400,
            "bad_request",
            "mux.stall_timeout",
        ),
        (
            "server.timezone",
            json!("Mars/Base"),
            400,
            "bad_request",
            "server.timezone",
        ),
        (
            "server.bind",
            json!("0.0.0.0:1"),
            409,
            "conflict",
            "server.bind",
        ),
        ("no.such", json!(1), 404, "not_found", "no.such"),
    ] {
        let (s, err) = api
            .put(&format!("/api/settings/{key}"), json!({ "value": value }))
            .await;
        assert_error(s, &err, status, code, mentions);
    }
    let (s, err) = api
        .put("/api/settings/epg.days_ahead", json!({"val": 3}))
        .await;
    assert_error(s, &err, 400, "bad_request", "val");

    let (status, saved) = api
        .put("/api/settings/epg.days_ahead", json!({"value": 3}))
        .await;
    assert_eq!(status, 200, "{saved}");
    assert_eq!(
        (&saved["value"], &saved["running"], &saved["source"]),
        (&json!(3), &json!(7), &json!("database"))
    );
    assert_eq!(
        (&saved["restart_required"], &saved["pending_restart"]),
        (&json!(true), &json!(true))
    );
    let (_, grace) = api
        .put("/api/settings/mux.idle_grace", json!({"value": 90}))
        .await;
    assert_eq!(grace["value"], "1m 30s");
    let (status, reverted) = delete(&app, "/api/settings/mux.idle_grace").await;
    assert_eq!(status, 200);
    assert_eq!(
        (&reverted["value"], &reverted["source"]),
        (&json!("1s"), &json!("file"))
    );
    let (_, list) = api.get("/api/settings").await;
    assert_eq!(list["restart_pending"], true);

    // A restart on the same database applies the saved value.
    let db = app.db.clone();
    app.shutdown().await.unwrap();
    let app = TestApp::start_with(NO_ENGINE, Some(db), Arc::default(), |_| {}).await;
    let (_, now) = Api(&app).get("/api/settings/epg.days_ahead").await;
    assert_eq!(
        (&now["value"], &now["running"], &now["source"]),
        (&json!(3), &json!(3), &json!("database"))
    );
    assert_eq!(now["pending_restart"], false);
    assert_eq!(
        Api(&app).get("/api/settings/mux.idle_grace").await.1["running"],
        "1s"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_setting_from_the_environment_is_not_editable_and_beats_the_database() {
    let dir = tempfile::tempdir().unwrap();
    let env = [("ACEXTREAM_EPG__DAYS_AHEAD", "5")];
    let mut daemon = Daemon::start(dir.path(), &env);
    let get = reqwest::Method::GET;
    let (status, days) = daemon
        .admin(get.clone(), "/api/settings/epg.days_ahead", Value::Null)
        .await;
    assert_eq!(status, 200, "{days}");
    assert_eq!(
        (&days["value"], &days["source"], &days["editable"]),
        (&json!(5), &json!("env"), &json!(false))
    );
    let (status, err) = daemon
        .admin(
            reqwest::Method::PUT,
            "/api/settings/epg.days_ahead",
            json!({"value": 9}),
        )
        .await;
    assert_error(status, &err, 409, "conflict", "ACEXTREAM_EPG__DAYS_AHEAD");
    let (status, _) = daemon
        .admin(
            reqwest::Method::PUT,
            "/api/settings/epg.days_back",
            json!({"value": 3}),
        )
        .await;
    assert_eq!(status, 200);
    // A row written behind the API's back (an older version, another tool) for the
    // env-set key: the environment still wins at the next start.
    let store = acextream_core::Store::open(&dir.path().join("test.db")).unwrap();
    store
        .run_blocking(|c| acextream_core::runtime_settings::save(c, "epg.days_ahead", &json!(9)))
        .unwrap();
    drop(store);

    daemon.terminate();
    assert!(daemon.wait_exit(Duration::from_secs(10)).is_some());
    let daemon = Daemon::start(dir.path(), &env);
    let (_, days) = daemon
        .admin(get.clone(), "/api/settings/epg.days_ahead", Value::Null)
        .await;
    assert_eq!(
        (&days["running"], &days["source"]),
        (&json!(5), &json!("env"))
    );
    let (_, back) = daemon
        .admin(get, "/api/settings/epg.days_back", Value::Null)
        .await;
    assert_eq!(
        (&back["running"], &back["source"]),
        (&json!(3), &json!("database"))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_log_tail_filters_by_position_level_and_text_and_downloads_redacted() {
    let logs = Arc::new(LogBuffer::default());
    let app = TestApp::start_with(NO_ENGINE, None, logs.clone(), |_| {}).await;
    let api = Api(&app);
    logs.push(
        "2030-01-01T00:00:00Z  INFO acextream: started\n\
         2030-01-01T00:00:01Z  WARN acextream: engine slow\n\
         2030-01-01T00:00:02Z ERROR acextream: engine gone url=http://x/?password=hunter2\n\
         2030-01-01T00:00:03Z  INFO acextream: refreshed\n",
    );
    let seqs = |v: &Value| {
        v["lines"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| l["seq"].as_u64().unwrap())
            .collect::<Vec<_>>()
    };
    let (status, all) = api.get("/api/logs/tail").await;
    assert_eq!(status, 200, "{all}");
    let first = all["lines"][0]["seq"].as_u64().unwrap();
    assert_eq!(seqs(&all).len(), 4);
    assert_eq!(all["last_seq"], first + 3);
    assert_eq!(all["lines"][1]["level"], "WARN");

    let (_, warn) = api.get("/api/logs/tail?level=warn").await;
    assert_eq!(seqs(&warn), vec![first + 1, first + 2]);
    assert!(!warn.to_string().contains("hunter2"), "{warn}");
    let (_, q) = api.get("/api/logs/tail?level=error&q=ENGINE").await;
    assert_eq!(seqs(&q), vec![first + 2]);
    let (_, after) = api
        .get(&format!("/api/logs/tail?after={}", first + 1))
        .await;
    assert_eq!(seqs(&after), vec![first + 2, first + 3]);
    let (_, limited) = api.get("/api/logs/tail?limit=1").await;
    assert_eq!(seqs(&limited), vec![first + 3]);
    let (_, none) = api
        .get(&format!("/api/logs/tail?after={}", first + 3))
        .await;
    assert_eq!(
        (seqs(&none).len(), &none["last_seq"]),
        (0, &json!(first + 3))
    );
    let (status, err) = api.get("/api/logs/tail?level=loud").await;
    assert_error(status, &err, 400, "bad_request", "level");

    let resp = http()
        .get(app.url("/api/logs/download"))
        .basic_auth(ADMIN.0, Some(ADMIN.1))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert!(
        resp.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain")
    );
    assert!(
        resp.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .starts_with("attachment")
    );
    let text = resp.text().await.unwrap();
    assert_eq!(text.lines().count(), 4);
    assert!(
        !text.contains("hunter2") && text.contains("engine gone"),
        "{text}"
    );
    let anonymous = http()
        .get(app.url("/api/logs/download"))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), 401);

    let (_, stats) = api.get("/api/dashboard/stats").await;
    let problems = stats["recent_problems"].as_array().unwrap();
    assert_eq!(problems.len(), 2, "{stats}");
    assert_eq!(problems[1]["level"], "ERROR");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_overview_reports_every_part_even_with_the_engine_down() {
    let app = TestApp::start(NO_ENGINE, |_| {}).await;
    let api = Api(&app);
    app.add_user("dave", "dave-pass-1", 1).await;
    let (status, stats) = api.get("/api/dashboard/stats").await;
    assert_eq!(status, 200, "{stats}");
    assert_eq!(stats["engine"]["ok"], false);
    assert!(stats["engine"]["error"].is_string());
    assert_eq!(
        (&stats["streams"]["ok"], &stats["streams"]["live"]),
        (&json!(true), &json!(0))
    );
    assert_eq!(stats["streams"]["viewers"], 0);
    assert!(stats["streams"]["bytes_out"].is_u64());
    assert_eq!(
        (&stats["users"]["total"], &stats["users"]["admins"]),
        (&json!(2), &json!(1))
    );
    for k in ["total", "active", "online", "with_guide"] {
        assert_eq!(stats["channels"][k], 0, "{k}");
    }
    assert!(stats["sources"]["channels"].is_array() && stats["sources"]["epg"].is_array());
    assert!(stats["uptime_secs"].as_i64().unwrap() >= 0);
    assert!(stats["recent_problems"].is_array());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_live_stream_is_listed_with_its_viewer_and_stopped_on_request() {
    let ch = Content::new("Admin stop");
    let sim = Simulator::start(SimConfig {
        catalogue: vec![ch.clone()],
        ..SimConfig::default()
    })
    .await
    .unwrap();
    let app = TestApp::start(&sim.url(), |s| s.mux.idle_grace = Duration::from_secs(60)).await;
    let api = Api(&app);
    app.add_user("viewer", "viewer-pass-1", 2).await;
    let url = app.url(&format!(
        "/ace/getstream?id={}&username=viewer&password=viewer-pass-1",
        ch.content_id
    ));
    let mut body = http().get(url).send().await.unwrap();
    assert_eq!(body.status(), 200);
    let first = tokio::time::timeout(WAIT, body.chunk())
        .await
        .unwrap()
        .unwrap();
    assert!(first.is_some_and(|c| !c.is_empty()));

    let (status, list) = api.get("/api/aceproxy/streams").await;
    assert_eq!(status, 200, "{list}");
    assert_eq!((&list["count"], &list["viewers"]), (&json!(1), &json!(1)));
    let stream = &list["streams"][0];
    assert_eq!(stream["stream_id"], ch.content_id.as_str());
    assert_eq!(stream["viewers"][0]["user"], "viewer");
    let (status, one) = api
        .get(&format!("/api/aceproxy/streams/{}", ch.content_id))
        .await;
    assert_eq!((status, &one["clients"]), (200, &json!(1)));

    let viewer = user_id(&api, "viewer").await;
    let (status, mine) = api.get(&format!("/api/users/{viewer}/streams")).await;
    assert_eq!(status, 200, "{mine}");
    assert_eq!(
        (&mine["active_cons"], &mine["viewers"]),
        (&json!(1), &json!(1))
    );
    assert_eq!(mine["streams"][0]["viewers"][0]["user"], "viewer");
    let admin = user_id(&api, ADMIN.0).await;
    let (_, none) = api.get(&format!("/api/users/{admin}/streams")).await;
    assert_eq!(none["streams"], json!([]));
    let (_, users) = api.get(&format!("/api/users/{viewer}")).await;
    assert_eq!(users["active_cons"], 1);

    let (status, stopped) = delete(&app, &format!("/api/aceproxy/streams/{}", ch.content_id)).await;
    assert_eq!(status, 200, "{stopped}");
    assert_eq!(stopped["stopped"], ch.content_id.as_str());
    let ended = tokio::time::timeout(Duration::from_secs(10), async {
        while let Ok(Some(_)) = body.chunk().await {}
    })
    .await;
    assert!(ended.is_ok(), "the viewer's body ended");
    assert!(
        eventually(WAIT, async || sim.introspect().stop_calls >= 1).await,
        "the engine got a stop"
    );
    assert!(
        eventually(
            WAIT,
            async || api.get("/api/aceproxy/streams").await.1["count"] == 0
        )
        .await
    );

    let (status, err) = delete(&app, &format!("/api/aceproxy/streams/{}", ch.content_id)).await;
    assert_error(status, &err, 404, "not_found", &ch.content_id);
    let (status, err) = api
        .get(&format!("/api/aceproxy/streams/{}", ch.content_id))
        .await;
    assert_error(status, &err, 404, "not_found", &ch.content_id);
    let (status, err) = api.get("/api/aceproxy/streams/not-hex").await;
    assert_error(status, &err, 400, "bad_request", "id");
}

/// Checks the 0.0.4 text format line by line; returns `(series, value)` pairs,
/// the series being `name` or `name{labels}`.
fn parse_exposition(text: &str) -> Vec<(String, f64)> {
    let mut typed = Vec::new();
    let mut out = Vec::new();
    for line in text.lines().filter(|l| !l.is_empty()) {
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = rest.split_once(' ').unwrap();
            assert!(["gauge", "counter"].contains(&kind), "{line}");
            typed.push(name.to_owned());
            continue;
        }
        if line.starts_with("# HELP ") {
            continue;
        }
        let (series, value) = line
            .rsplit_once(' ')
            .unwrap_or_else(|| panic!("no value: {line}"));
        let value: f64 = value
            .parse()
            .unwrap_or_else(|_| panic!("bad value: {line}"));
        let name = match series.split_once('{') {
            Some((name, labels)) => {
                let labels = labels
                    .strip_suffix('}')
                    .unwrap_or_else(|| panic!("unclosed labels: {line}"));
                for pair in labels.split("\",").filter(|p| !p.is_empty()) {
                    let (k, v) = pair
                        .split_once("=\"")
                        .unwrap_or_else(|| panic!("bad label: {line}"));
                    assert!(
                        k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'),
                        "{line}"
                    );
                    assert!(!v.is_empty() || pair.ends_with("=\""), "{line}");
                }
                name
            }
            None => series,
        };
        assert!(
            name.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':'),
            "{line}"
        );
        assert!(
            typed.iter().any(|t| t == name),
            "{name} has a # TYPE before it"
        );
        out.push((series.to_owned(), value));
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_are_prometheus_text_behind_an_admin_login_or_the_token() {
    let token = "scrape-token-0123456789";
    let app = TestApp::start(NO_ENGINE, |s| {
        s.server.metrics_token = Some(acextream_core::settings::Secret::new(token));
    })
    .await;
    app.add_user("erin", "erin-pass-1", 1).await;
    let (status, _) = Api(&app)
        .post(
            "/api/scraper/sources",
            json!({"url": "http://127.0.0.1:9/list.m3u"}),
        )
        .await;
    assert_eq!(status, 201);

    let metrics = || http().get(app.url("/metrics"));
    let anonymous = metrics().send().await.unwrap();
    assert_eq!(anonymous.status(), 401);
    assert_eq!(
        anonymous.json::<Value>().await.unwrap()["error"]["code"],
        "unauthorized"
    );
    assert_eq!(
        metrics()
            .bearer_auth("wrong-token")
            .send()
            .await
            .unwrap()
            .status(),
        401
    );
    assert_eq!(
        metrics()
            .basic_auth("erin", Some("erin-pass-1"))
            .send()
            .await
            .unwrap()
            .status(),
        403,
        "players are authenticated but may not"
    );
    assert_eq!(
        metrics()
            .basic_auth(ADMIN.0, Some(ADMIN.1))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );

    let resp = metrics().bearer_auth(token).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    let ctype = resp.headers()["content-type"].to_str().unwrap().to_owned();
    assert!(ctype.starts_with("text/plain; version=0.0.4"), "{ctype}");
    let text = resp.text().await.unwrap();
    let series = parse_exposition(&text);
    let value = |s: &str| {
        series
            .iter()
            .find(|(k, _)| k == s)
            .map(|(_, v)| *v)
            .unwrap_or_else(|| panic!("{s} in\n{text}"))
    };
    assert_eq!(value("acextream_up"), 1.0);
    assert_eq!(value("acextream_streams"), 0.0);
    assert_eq!(value("acextream_viewers"), 0.0);
    assert_eq!(value("acextream_users"), 2.0);
    assert_eq!(value("acextream_channels{state=\"active\"}"), 0.0);
    assert_eq!(value("acextream_channels{state=\"inactive\"}"), 0.0);
    for counter in [
        "acextream_bytes_out_total",
        "acextream_engine_sessions_opened_total",
        "acextream_engine_sessions_stopped_total",
        "acextream_engine_sessions_failed_total",
        "acextream_engine_reopens_total",
    ] {
        assert!(value(counter) >= 0.0);
    }
    let source = series
        .iter()
        .find(|(k, _)| k.starts_with("acextream_source_up{kind=\"channels\",source=\""));
    assert_eq!(
        source.map(|(_, v)| *v),
        Some(0.0),
        "a source that never refreshed is down:\n{text}"
    );
    assert!(text.contains("acextream_source_last_success_timestamp_seconds{kind=\"channels\""));
}
