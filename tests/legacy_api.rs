//! The admin REST API with the replaced system's field names: the bodies its admin
//! scripts send for channels and users keep working, and absurd expiries are
//! refused with a clear 400.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a panic here is a failed test

mod common;

use common::{Api, TestApp};
use serde_json::{Value, json};

/// Nothing listens here: these tests need no engine.
const NO_ENGINE: &str = "http://127.0.0.1:9";
const CID: &str = "0123456789abcdef0123456789abcdef01234567";
const IH: &str = "89abcdef0123456789abcdef0123456789abcdef";

fn find<'a>(list: &'a Value, id: &Value) -> &'a Value {
    list["channels"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| &c["id"] == id)
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn channels_take_the_replaced_systems_field_names() {
    let app = TestApp::start(NO_ENGINE, |_| {}).await;
    let api = Api(&app);
    // Its POST body, field for field.
    let (status, ch) = api
        .post(
            "/api/channels",
            json!({
                "name": "Sport One",
                "acestream_id": CID.to_ascii_uppercase(),
                "category": "Sport",
                "logo_url": "http://l/s.png",
                "epg_id": "sport.one",
                "language": "it",
                "country": "IT",
                "description": "football"
            }),
        )
        .await;
    assert_eq!(status, 201, "{ch}");
    assert_eq!(ch["content_id"], CID);
    assert_eq!(ch["category"], "Sport", "the category was created by name");
    assert_eq!(
        (ch["logo"].as_str(), ch["tvg_id"].as_str()),
        (Some("http://l/s.png"), Some("sport.one"))
    );
    assert_eq!(ch["acestream_id"], CID, "answered with its old names too");
    assert_eq!(ch["logo_url"], "http://l/s.png");
    assert_eq!(ch["is_active"], true);
    let (_, cats) = api.get("/api/categories").await;
    assert!(
        cats["categories"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["name"] == "Sport")
    );

    // A direct stream, hidden from the start; and an engine URL naming an infohash.
    let (status, direct) = api
        .post(
            "/api/channels",
            json!({"name": "Direct", "stream_url": "https://cdn.example.org/a.m3u8", "is_active": false}),
        )
        .await;
    assert_eq!(status, 201, "{direct}");
    assert_eq!(direct["direct_url"], "https://cdn.example.org/a.m3u8");
    assert_eq!(direct["enabled"], false);
    let (status, ih) = api
        .post(
            "/api/channels",
            json!({"name": "By Infohash", "stream_url": format!("http://127.0.0.1:6878/ace/getstream?infohash={IH}")}),
        )
        .await;
    assert_eq!(status, 201, "{ih}");
    assert_eq!(ih["infohash"], IH);

    // Its PUT: the same names plus is_active; a new acestream_id replaces the stream.
    let new_id = "fedcba9876543210fedcba9876543210fedcba98";
    let (status, edited) = api
        .put(
            &format!("/api/channels/{}", ch["id"]),
            json!({"is_active": false, "logo_url": "http://l/t.png", "epg_id": "s1",
                   "category": "Calcio", "acestream_id": new_id}),
        )
        .await;
    assert_eq!(status, 200, "{edited}");
    assert_eq!(edited["enabled"], false);
    assert_eq!(edited["logo"], "http://l/t.png");
    assert_eq!(edited["tvg_id"], "s1");
    assert_eq!(edited["category"], "Calcio");
    assert_eq!(edited["content_id"], new_id);
    let (_, list) = api.get("/api/channels?limit=1000").await;
    assert_eq!(list["total"], 3, "our list shape is kept");
    assert_eq!(find(&list, &ch["id"])["acestream_id"], new_id);

    // Refusals name the problem.
    for (body, want) in [
        (
            json!({"name": "X", "acestream_id": "not-an-id"}),
            "acestream_id",
        ),
        (json!({"name": "X"}), "required"),
        (
            json!({"name": "X", "stream": CID, "acestream_id": CID}),
            "not both",
        ),
        (
            json!({"name": "X", "acestream_id": new_id}),
            "already plays",
        ),
        (
            json!({"name": "X", "logo": "a", "logo_url": "b", "acestream_id": IH}),
            "duplicate",
        ),
        (
            json!({"name": "X", "acestream_id": IH, "bogus": 1}),
            "bogus",
        ),
    ] {
        let (status, err) = api.post("/api/channels", body.clone()).await;
        assert!(status == 400 || status == 409, "{body}: {status} {err}");
        assert!(err.to_string().contains(want), "{body}: {err}");
    }
    let (status, err) = api
        .put(
            &format!("/api/channels/{}", direct["id"]),
            json!({"acestream_id": new_id}),
        )
        .await;
    assert_eq!(status, 409, "{err}");
    let (_, list) = api.get("/api/channels?limit=1000").await;
    assert_eq!(
        find(&list, &direct["id"])["direct_url"],
        "https://cdn.example.org/a.m3u8",
        "a refused stream change changes nothing"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn users_take_the_replaced_systems_field_names() {
    let app = TestApp::start(NO_ENGINE, |s| s.server.timezone = "UTC".into()).await;
    let api = Api(&app);
    let (status, u) = api
        .post(
            "/api/users",
            json!({
                "username": "bob",
                "password": "bob-pass-1",
                "email": "bob@example.org",
                "is_active": true,
                "is_admin": false,
                "is_trial": true,
                "max_connections": 3,
                "expiry_date": "2030-02-01T12:00:00",
                "notes": "from a script"
            }),
        )
        .await;
    assert_eq!(status, 201, "{u}");
    assert_eq!(u["is_trial"], true);
    assert_eq!(u["max_connections"], 3);
    // Stopped at noon on Feb 1st: that day was the last one.
    assert_eq!(u["expires"], "2030-02-01");
    assert_eq!(u["enabled"], true);
    let id = &u["id"];
    let (status, u) = api
        .put(
            &format!("/api/users/{id}"),
            json!({"is_active": false, "expiry_date": null}),
        )
        .await;
    assert_eq!(status, 200, "{u}");
    assert_eq!(u["enabled"], false);
    assert_eq!(u["expires"], Value::Null);
    let (status, err) = api
        .put(
            &format!("/api/users/{id}"),
            json!({"is_active": true, "enabled": false}),
        )
        .await;
    assert_eq!(status, 400);
    assert!(err.to_string().contains("not both"), "{err}");
    let (status, err) = api
        .put(
            &format!("/api/users/{id}"),
            json!({"expiry_date": "whenever"}),
        )
        .await;
    assert_eq!(status, 400);
    assert!(err.to_string().contains("expiry_date"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn absurd_expiries_get_a_clear_400_and_change_nothing() {
    let app = TestApp::start(NO_ENGINE, |_| {}).await;
    let api = Api(&app);
    let (status, u) = api
        .post(
            "/api/users",
            json!({"username": "carol", "password": "carol-pass-1", "expires": "2030-01-31"}),
        )
        .await;
    assert_eq!(status, 201, "{u}");
    let id = &u["id"];
    for bad in [
        json!(i64::MAX),
        json!(i64::MAX.to_string()),
        json!(253_402_300_800_i64),
        json!("9999-12-31"),
        json!(0),
        json!("1969-07-20T20:17:00Z"),
    ] {
        let (status, err) = api
            .put(&format!("/api/users/{id}"), json!({"expires": bad}))
            .await;
        assert_eq!(status, 400, "{bad}: {err}");
        assert!(err.to_string().contains("expires"), "{bad}: {err}");
        let (status, err) = api
            .post(
                "/api/users",
                json!({"username": "dave", "password": "dave-pass-1", "expires": bad}),
            )
            .await;
        assert_eq!(status, 400, "{bad}: {err}");
    }
    let (_, u) = api.get(&format!("/api/users/{id}")).await;
    assert_eq!(u["expires"], "2030-01-31", "unchanged by the refused edits");
    let (_, list) = api.get("/api/users").await;
    assert!(
        !list["users"]
            .as_array()
            .unwrap()
            .iter()
            .any(|u| u["username"] == "dave"),
        "no account was made"
    );
}
