//! A channel's links through the real daemon's REST API: a channel made with
//! several links, listing, adding, reordering and removing them, the errors each
//! route answers, and that only admins get in.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a panic here is a failed test

mod common;

use common::{Daemon, http};
use reqwest::Method;
use serde_json::{Value, json};

const A: &str = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
const B: &str = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";
const C: &str = "cccccccccccccccccccccccccccccccccccccccc";

fn ids(links: &Value) -> Vec<i64> {
    links["links"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["id"].as_i64().unwrap())
        .collect()
}

fn values(links: &Value) -> Vec<String> {
    links["links"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["value"].as_str().unwrap().to_owned())
        .collect()
}

fn assert_error(status: u16, body: &Value, want: u16, mentions: &str) {
    assert_eq!(status, want, "{body}");
    let message = body["error"]["message"].as_str().unwrap_or_default();
    assert!(
        message.contains(mentions),
        "{message:?} should mention {mentions:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_lists_adds_reorders_and_removes_a_channels_links() {
    let dir = tempfile::tempdir().unwrap();
    let d = Daemon::start(dir.path(), &[]);

    // A channel made with two links, in the order given.
    let (status, ch) = d
        .admin(
            Method::POST,
            "/api/channels",
            json!({"name": "Sport", "links": [format!("acestream://{A}"), format!("infohash:{B}")]}),
        )
        .await;
    assert_eq!(status, 201, "{ch}");
    let id = ch["id"].as_i64().unwrap();
    assert_eq!(
        ch["content_id"], A,
        "the first link is the channel's stream"
    );
    assert_eq!(ch["link_count"], 2);
    let links_path = format!("/api/channels/{id}/links");

    let (status, list) = d.admin(Method::GET, &links_path, Value::Null).await;
    assert_eq!(status, 200, "{list}");
    let first = &list["links"][0];
    assert_eq!(
        (first["kind"].as_str(), first["value"].as_str()),
        (Some("content_id"), Some(A))
    );
    assert_eq!(list["links"][1]["kind"], "infohash");
    assert_eq!(first["manual"], true);
    assert_eq!(first["cooling"], false);
    assert_eq!(first["health"]["failures"], 0);
    assert!(first["health"]["last_error"].is_null());

    // The channel itself lists them too.
    let (_, one) = d
        .admin(Method::GET, &format!("/api/channels/{id}"), Value::Null)
        .await;
    assert_eq!(ids(&one), ids(&list));

    // A third, by plain URL.
    let (status, added) = d
        .admin(
            Method::POST,
            &links_path,
            json!({"stream": "http://cdn.example/live.ts"}),
        )
        .await;
    assert_eq!(status, 201, "{added}");
    assert_eq!(added["kind"], "url");
    assert_eq!(added["position"], 2);

    // Reversed: the channel now plays the URL first.
    let mut order = ids(&one);
    order.insert(0, added["id"].as_i64().unwrap());
    order.reverse();
    let (status, reordered) = d
        .admin(Method::PUT, &links_path, json!({"order": order}))
        .await;
    assert_eq!(status, 200, "{reordered}");
    assert_eq!(values(&reordered), [B, A, "http://cdn.example/live.ts"]);
    let (_, ch) = d
        .admin(Method::GET, &format!("/api/channels/{id}"), Value::Null)
        .await;
    assert_eq!(ch["infohash"], B);
    assert!(
        ch["overrides"]
            .as_array()
            .unwrap()
            .iter()
            .any(|o| o == "links")
    );

    // Removed: gone from the list.
    let gone = order[0];
    let (status, _) = d
        .admin(Method::DELETE, &format!("{links_path}/{gone}"), Value::Null)
        .await;
    assert_eq!(status, 204);
    let (_, list) = d.admin(Method::GET, &links_path, Value::Null).await;
    assert_eq!(values(&list), [A, "http://cdn.example/live.ts"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_link_requests_get_clear_errors_and_change_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let d = Daemon::start(dir.path(), &[]);
    let (_, one) = d
        .admin(
            Method::POST,
            "/api/channels",
            json!({"name": "One", "stream": A}),
        )
        .await;
    let (_, two) = d
        .admin(
            Method::POST,
            "/api/channels",
            json!({"name": "Two", "links": [B]}),
        )
        .await;
    let (one, two) = (one["id"].as_i64().unwrap(), two["id"].as_i64().unwrap());
    let path = format!("/api/channels/{one}/links");

    // Another channel's stream: 409, naming the owner.
    let (status, err) = d.admin(Method::POST, &path, json!({"stream": B})).await;
    assert_error(status, &err, 409, &format!("channel {two}"));
    // Not a stream: 400.
    for bad in ["not a stream", "infohash:xyz", ""] {
        let (status, err) = d.admin(Method::POST, &path, json!({"stream": bad})).await;
        assert_error(status, &err, 400, "stream");
    }
    // A channel that does not exist.
    let (status, err) = d
        .admin(Method::GET, "/api/channels/9999/links", Value::Null)
        .await;
    assert_error(status, &err, 404, "channel 9999");
    let (status, _) = d
        .admin(
            Method::POST,
            "/api/channels/9999/links",
            json!({"stream": C}),
        )
        .await;
    assert_eq!(status, 404);

    // Not a permutation of the channel's links: 400.
    let (_, list) = d.admin(Method::GET, &path, Value::Null).await;
    let only = ids(&list)[0];
    let (_, other) = d
        .admin(
            Method::GET,
            &format!("/api/channels/{two}/links"),
            Value::Null,
        )
        .await;
    let theirs = ids(&other)[0];
    for order in [json!([]), json!([only, only]), json!([theirs])] {
        let (status, err) = d.admin(Method::PUT, &path, json!({"order": order})).await;
        assert_error(status, &err, 400, "order");
    }
    let (status, _) = d.admin(Method::PUT, &path, json!({"order": "first"})).await;
    assert_eq!(status, 400);

    // Another channel's link cannot be removed through this one.
    let (status, _) = d
        .admin(Method::DELETE, &format!("{path}/{theirs}"), Value::Null)
        .await;
    assert_eq!(status, 404);
    let (_, other_after) = d
        .admin(
            Method::GET,
            &format!("/api/channels/{two}/links"),
            Value::Null,
        )
        .await;
    assert_eq!(ids(&other_after), [theirs]);

    // A new channel needs a stream, every link valid and free — checked before
    // anything is written.
    let (status, err) = d
        .admin(Method::POST, "/api/channels", json!({"name": "None"}))
        .await;
    assert_error(status, &err, 400, "links");
    let (status, err) = d
        .admin(
            Method::POST,
            "/api/channels",
            json!({"name": "Bad", "links": [C, "nope"]}),
        )
        .await;
    assert_error(status, &err, 400, "links[1]");
    let (status, _) = d
        .admin(
            Method::POST,
            "/api/channels",
            json!({"name": "Taken", "links": [C, A]}),
        )
        .await;
    assert_eq!(status, 409);
    let (status, ch) = d
        .admin(
            Method::POST,
            "/api/channels",
            json!({"name": "Free", "stream": C}),
        )
        .await;
    assert_eq!(status, 201, "C was not taken by the refused channel: {ch}");
    let (_, all) = d.admin(Method::GET, "/api/channels", Value::Null).await;
    assert_eq!(all["total"], 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_admins_reach_the_link_routes() {
    let dir = tempfile::tempdir().unwrap();
    let d = Daemon::start(dir.path(), &[]);
    let (_, ch) = d
        .admin(
            Method::POST,
            "/api/channels",
            json!({"name": "One", "stream": A}),
        )
        .await;
    let path = format!("/api/channels/{}/links", ch["id"]);
    let (status, _) = d
        .admin(
            Method::POST,
            "/api/users",
            json!({"username": "player", "password": "player-pass-1"}),
        )
        .await;
    assert_eq!(status, 201);

    let anonymous = http().get(d.url(&path)).send().await.unwrap();
    assert_eq!(anonymous.status(), 401);
    let player = http()
        .post(d.url(&path))
        .basic_auth("player", Some("player-pass-1"))
        .json(&json!({"stream": B}))
        .send()
        .await
        .unwrap();
    assert_eq!(player.status(), 403);
    let (_, list) = d.admin(Method::GET, &path, Value::Null).await;
    assert_eq!(values(&list), [A], "the player's link was not added");
}
