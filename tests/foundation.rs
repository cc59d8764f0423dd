//! The foundation, black-box: the real binary's CLI, settings errors, both
//! listeners, the admin guard, health, shutdown and log redaction.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a panic here is a failed test

mod common;

use std::io::Write;
use std::process::Stdio;
use std::time::Duration;

use common::{ADMIN, Daemon, acextream, http};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

#[test]
fn user_add_then_user_list_shows_the_account() {
    let dir = tempfile::tempdir().unwrap();
    let out = acextream(dir.path())
        .args([
            "user",
            "add",
            "alice",
            "--password",
            "pw-alice",
            "--max-connections",
            "3",
        ])
        .args(["--expires", "2099-12-31"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "created user alice"
    );

    let out = acextream(dir.path())
        .args(["user", "list"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let table = String::from_utf8_lossy(&out.stdout);
    let row = table
        .lines()
        .find(|l| l.starts_with("alice"))
        .expect(&table);
    assert!(
        row.contains("active") && row.contains("2099-12-31") && row.contains(" 3 "),
        "{row}"
    );

    let out = acextream(dir.path())
        .args(["user", "list", "--json"])
        .output()
        .unwrap();
    let users: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let alice = users
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["username"] == "alice")
        .unwrap();
    assert_eq!(alice["max_connections"], 3);
    assert!(
        alice.get("password_hash").is_none(),
        "the hash never leaves the store"
    );
    assert!(!String::from_utf8_lossy(&out.stdout).contains("pw-alice"));
}

#[test]
fn user_passwd_reads_stdin_and_remove_deletes() {
    let dir = tempfile::tempdir().unwrap();
    let run = |args: &[&str], stdin: Option<&str>| {
        let mut child = acextream(dir.path())
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut input = child.stdin.take().unwrap();
        if let Some(s) = stdin {
            input.write_all(s.as_bytes()).unwrap();
        }
        drop(input);
        child.wait_with_output().unwrap()
    };
    assert!(
        run(&["user", "add", "bob"], Some("first-pw\n"))
            .status
            .success()
    );
    let out = run(&["user", "passwd", "bob"], Some("second-pw\n"));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(run(&["user", "remove", "bob"], None).status.success());
    let out = run(&["user", "remove", "bob"], None);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("not found"));
    let out = run(&["user", "add", "bad/name", "--password", "x"], None);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("username"));
}

#[test]
fn config_prints_effective_settings_with_secrets_masked() {
    let dir = tempfile::tempdir().unwrap();
    let out = acextream(dir.path())
        .arg("config")
        .env("ACEXTREAM_SERVER__TIMEZONE", "Europe/Rome")
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("timezone = \"Europe/Rome\""), "{text}");
    assert!(text.contains("********"), "{text}");
    assert!(!text.contains(ADMIN.1), "{text}");
}

#[test]
fn an_unknown_key_in_the_settings_file_fails_start_up_naming_key_and_file() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("bad.toml");
    std::fs::write(&file, "[mux]\nidle_graec = \"5s\"\n").unwrap();
    let out = acextream(dir.path())
        .arg("--config")
        .arg(&file)
        .arg("serve")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("idle_graec") && err.contains("bad.toml"),
        "{err}"
    );
}

#[test]
fn a_database_that_is_not_sqlite_fails_with_a_clear_message() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("test.db"), vec![0x42u8; 8192]).unwrap();
    let out = acextream(dir.path())
        .args(["user", "list"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("is not an SQLite database"), "{err}");
    assert!(!err.contains("panicked"), "{err}");
}

#[test]
fn a_port_that_is_taken_makes_serve_exit_naming_the_address() {
    let dir = tempfile::tempdir().unwrap();
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let out = acextream(dir.path())
        .arg("serve")
        .env("ACEXTREAM_SERVER__BIND", &addr)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains(&addr) && err.contains("server.bind"), "{err}");
}

#[tokio::test]
async fn both_listeners_answer_and_health_reports_each_part() {
    let dir = tempfile::tempdir().unwrap();
    let d = Daemon::start(dir.path(), &[]);
    let c = http();
    let health = c.get(d.url("/health")).send().await.unwrap();
    assert_eq!(health.status(), 200);
    let h: serde_json::Value = health.json().await.unwrap();
    assert_eq!(h["database"]["ok"], true);
    assert_eq!(h["mux"]["ok"], true);
    assert_eq!(h["engine"]["ok"], false, "no engine on port 9");
    assert_eq!(h["status"], "degraded");

    let internal: serde_json::Value = c
        .get(d.mux_url("/ace/status"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(internal["streams"], 0);
    let public: serde_json::Value = c
        .get(d.url("/ace/status"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(public["streams"], 0);
    assert!(d.mux.ip().is_loopback());
}

#[tokio::test]
async fn health_is_503_when_the_database_is_gone() {
    let dir = tempfile::tempdir().unwrap();
    let d = Daemon::start(dir.path(), &[]);
    // Replace the schema under the running daemon: every query now fails.
    let conn_path = dir.path().join("test.db");
    std::process::Command::new("python3")
        .arg("-c")
        .arg(format!(
            "import sqlite3; c=sqlite3.connect('{}'); c.execute('PRAGMA foreign_keys=OFF'); \
             c.execute('DROP TABLE users'); c.commit()",
            conn_path.display()
        ))
        .status()
        .unwrap();
    let resp = http().get(d.url("/health")).send().await.unwrap();
    assert_eq!(resp.status(), 503);
    let h: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(h["database"]["ok"], false);
}

#[tokio::test]
async fn the_admin_api_requires_an_admin_login() {
    let dir = tempfile::tempdir().unwrap();
    let out = acextream(dir.path())
        .args(["user", "add", "player", "--password", "player-pw"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let d = Daemon::start(dir.path(), &[]);
    let c = http();
    let url = d.url("/api/aceproxy/stats");
    let anon = c.get(&url).send().await.unwrap();
    assert_eq!(anon.status(), 401);
    assert!(anon.headers().contains_key("www-authenticate"));
    let body: serde_json::Value = anon.json().await.unwrap();
    assert_eq!(body["error"]["code"], "unauthorized");
    let wrong = c
        .get(&url)
        .basic_auth(ADMIN.0, Some("nope"))
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 401);
    let player = c
        .get(&url)
        .basic_auth("player", Some("player-pw"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        player.status(),
        403,
        "a player is authenticated but not an admin"
    );
    let admin = c
        .get(&url)
        .basic_auth(ADMIN.0, Some(ADMIN.1))
        .send()
        .await
        .unwrap();
    assert_eq!(admin.status(), 200);
    let stats: serde_json::Value = admin.json().await.unwrap();
    assert!(stats["streams"].is_array());
    let unknown = c.get(d.url("/api/nothing")).send().await.unwrap();
    assert_eq!(
        unknown.status(),
        401,
        "unknown admin paths do not leak their absence"
    );
}

#[tokio::test]
async fn sigterm_stops_both_listeners_within_the_bound_with_a_client_connected() {
    let dir = tempfile::tempdir().unwrap();
    let mut d = Daemon::start(dir.path(), &[]);
    // A client that sent half a request and waits: the drain must not wait for it.
    let mut idle = tokio::net::TcpStream::connect(d.public).await.unwrap();
    idle.write_all(b"GET /health HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    let mut mux_idle = tokio::net::TcpStream::connect(d.mux).await.unwrap();
    mux_idle
        .write_all(b"GET /ace/status HTTP/1.1\r\n")
        .await
        .unwrap();
    d.terminate();
    let status = tokio::task::spawn_blocking(move || {
        let s = d.wait_exit(Duration::from_secs(10));
        (s, d)
    })
    .await
    .unwrap();
    let (exit, d) = status;
    let exit = exit.expect("acextream must exit after SIGTERM");
    assert!(exit.success(), "{exit:?}");
    let log = d.drain_log().join("\n");
    assert!(
        log.contains("shutting down") && log.contains("stopped"),
        "{log}"
    );
    let mut buf = [0u8; 64];
    let n = tokio::time::timeout(Duration::from_secs(5), idle.read(&mut buf)).await;
    assert!(
        matches!(n, Ok(Ok(_)) | Ok(Err(_))),
        "the connection was closed"
    );
    assert!(
        std::net::TcpStream::connect(d.public).is_err(),
        "public port closed"
    );
    assert!(
        std::net::TcpStream::connect(d.mux).is_err(),
        "mux port closed"
    );
}

#[tokio::test]
async fn access_log_lines_never_contain_a_password() {
    let dir = tempfile::tempdir().unwrap();
    let d = Daemon::start(dir.path(), &[]);
    let c = http();
    for path in [
        "/live/bob/hunter2/1.ts",
        "/bob/hunter2/17",
        "/player_api.php?username=bob&password=hunter2",
        "/ace/getstream?id=0000000000000000000000000000000000000000&password=hunter2",
    ] {
        let _ = c.get(d.url(path)).send().await.unwrap();
    }
    let _ = c
        .get(d.url("/api/aceproxy/stats"))
        .basic_auth("bob", Some("hunter2"))
        .send()
        .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let log = d.drain_log().join("\n");
    assert!(log.contains("/live/bob/***/1.ts"), "{log}");
    assert!(log.contains("password=***"), "{log}");
    assert!(!log.contains("hunter2"), "{log}");
}
