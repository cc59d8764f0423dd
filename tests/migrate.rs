//! Moving over from the replaced system, end to end with the real binary: a
//! database in its schema (bcrypt hashes included) is migrated by
//! `acextream migrate` (a dry run writes nothing, a second run imports nothing),
//! then `acextream serve` runs on it against the engine simulator: an imported user
//! logs in through `player_api.php` with the old password and its channels play.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::zombie_processes)] // a panic here is a failed test

mod common;

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::Duration;

use acestream_sim::ts::TsChecker;
use acestream_sim::{Content, SimConfig, Simulator};
use common::{ADMIN, acextream, http};
use serde_json::Value;

/// The replaced system's tables as SQLAlchemy `create_all` makes them (MIGRATION.md).
const OLD_SCHEMA: &str = "
CREATE TABLE users (id INTEGER NOT NULL PRIMARY KEY, username VARCHAR(100) NOT NULL UNIQUE,
  password_hash VARCHAR(255) NOT NULL, email VARCHAR(255) UNIQUE, is_active BOOLEAN, is_admin BOOLEAN,
  is_trial BOOLEAN, max_connections INTEGER, allowed_output_formats TEXT, created_at DATETIME,
  updated_at DATETIME, expiry_date DATETIME, last_login DATETIME, notes TEXT);
CREATE TABLE categories (id INTEGER NOT NULL PRIMARY KEY, name VARCHAR(100) NOT NULL UNIQUE,
  description TEXT, parent_id INTEGER REFERENCES categories(id), display_order INTEGER,
  icon_url VARCHAR(500), created_at DATETIME, updated_at DATETIME);
CREATE TABLE channels (id INTEGER NOT NULL PRIMARY KEY, name VARCHAR(255) NOT NULL,
  acestream_id VARCHAR(100) UNIQUE, stream_url VARCHAR(500), category_id INTEGER REFERENCES categories(id),
  logo_url VARCHAR(500), epg_id VARCHAR(100), language VARCHAR(10), country VARCHAR(50), description TEXT,
  is_active BOOLEAN, is_online BOOLEAN, last_checked DATETIME, last_error TEXT, source_url_id INTEGER,
  display_order INTEGER, created_at DATETIME, updated_at DATETIME);
CREATE TABLE scraper_urls (id INTEGER NOT NULL PRIMARY KEY, url VARCHAR(500) NOT NULL UNIQUE,
  is_enabled BOOLEAN, scraper_type VARCHAR(50), last_scraped DATETIME, last_success DATETIME,
  last_error TEXT, channels_found INTEGER, created_at DATETIME, updated_at DATETIME);
CREATE TABLE epg_sources (id INTEGER NOT NULL PRIMARY KEY, url VARCHAR(500) NOT NULL UNIQUE,
  is_enabled BOOLEAN, is_gzipped BOOLEAN, last_updated DATETIME, last_success DATETIME, last_error TEXT,
  programs_found INTEGER, created_at DATETIME, updated_at DATETIME);
CREATE TABLE epg_programs (id INTEGER NOT NULL PRIMARY KEY, channel_id INTEGER, title VARCHAR(255),
  description TEXT, start_time DATETIME, end_time DATETIME, category VARCHAR(100), icon_url VARCHAR(500),
  rating VARCHAR(20), created_at DATETIME);
CREATE TABLE settings (id INTEGER NOT NULL PRIMARY KEY, key VARCHAR(100) NOT NULL UNIQUE, value TEXT,
  description TEXT, created_at DATETIME, updated_at DATETIME);
";

const ALICE: (&str, &str) = ("alice", "alice-old-pw");
const BOSS: (&str, &str) = ("boss", "boss-old-pw");

/// Writes the old database with two accounts, two channels (one stored by infohash,
/// as the replaced system did for `infohash=` URLs), a category and a source each.
fn old_database(dir: &Path, sport: &Content, news: &Content) -> PathBuf {
    let path = dir.join("unified-iptv.db");
    let c = rusqlite::Connection::open(&path).unwrap();
    c.execute_batch(OLD_SCHEMA).unwrap();
    // passlib writes $2b$; the cost is low so the test stays fast.
    let alice = bcrypt::hash(ALICE.1, 4).unwrap();
    let boss = bcrypt::hash(BOSS.1, 4).unwrap();
    c.execute(
        "INSERT INTO users (id, username, password_hash, email, is_active, is_admin, is_trial, \
         max_connections, created_at, expiry_date, notes) VALUES \
         (1, ?1, ?2, 'boss@example.org', 1, 1, 0, 0, '2024-01-02 03:04:05.000000', NULL, NULL), \
         (2, ?3, ?4, NULL, 1, 0, 1, 2, '2024-02-03 04:05:06.000000', '2099-06-30 00:00:00.000000', 'vip'), \
         (3, 'no good', ?4, NULL, 1, 0, 0, 1, NULL, NULL, NULL)",
        rusqlite::params![BOSS.0, boss, ALICE.0, alice],
    )
    .unwrap();
    c.execute_batch(&format!(
        "INSERT INTO categories (id, name, display_order) VALUES (1, 'Sport', 1);
         INSERT INTO channels (id, name, acestream_id, stream_url, category_id, logo_url, epg_id,
           is_active, display_order, created_at) VALUES
           (1, 'Sport One', '{}', NULL, 1, 'http://127.0.0.1:9/s.png', 'sport.one', 1, 1, '2024-03-01 00:00:00'),
           (2, 'News Two', '{}', 'http://127.0.0.1:6878/ace/getstream?infohash={}', NULL, NULL, NULL, 1, 2, NULL);
         INSERT INTO scraper_urls (id, url, is_enabled, scraper_type) VALUES (1, 'http://127.0.0.1:9/list.m3u', 0, 'auto');
         INSERT INTO epg_sources (id, url, is_enabled, is_gzipped) VALUES (1, 'http://127.0.0.1:9/guide.xml.gz', 0, 1);
         INSERT INTO settings (id, key, value) VALUES (1, 'server_timezone', 'Europe/Rome'), (2, 'theme', 'dark');",
        sport.content_id, news.infohash, news.infohash
    ))
    .unwrap();
    path
}

/// `acextream migrate ARGS…` in `dir`; its standard output, after checking it succeeded.
fn migrate(dir: &Path, args: &[&str]) -> String {
    let out = acextream(dir).arg("migrate").args(args).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "migrate {args:?} failed: {stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

fn counts(summary: &Value, kind: &str) -> (u64, u64, u64) {
    let c = &summary["counts"][kind];
    (
        c["imported"].as_u64().unwrap(),
        c["already_present"].as_u64().unwrap(),
        c["skipped"].as_u64().unwrap(),
    )
}

/// `acextream serve` with every start-up log line kept (the common helper drops
/// those before "listening", and the bootstrap-admin warning is one of them).
struct Serve {
    child: Child,
    public: SocketAddr,
    startup: Vec<String>,
}

impl Serve {
    fn start(dir: &Path, engine: &str) -> Serve {
        let mut child = acextream(dir)
            .arg("serve")
            .env("ACEXTREAM_LOG__FORMAT", "json")
            .env("ACEXTREAM_ENGINE__URL", engine)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stderr = child.stderr.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let mut startup = Vec::new();
        loop {
            let line = rx
                .recv_timeout(Duration::from_secs(30))
                .expect("acextream did not start within 30 s");
            let v: Value = serde_json::from_str(&line).unwrap_or(Value::Null);
            startup.push(line);
            if v["fields"]["message"] == "acextream listening" {
                let public = v["fields"]["public"].as_str().unwrap().parse().unwrap();
                return Serve {
                    child,
                    public,
                    startup,
                };
            }
        }
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.public)
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn player_api(serve: &Serve, (user, password): (&str, &str), action: &str) -> Value {
    http()
        .get(serve.url(&format!(
            "/player_api.php?username={user}&password={password}{action}"
        )))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

/// Reads 1000 MPEG-TS packets of `/live/U/P/ID.ts` and checks they are contiguous.
async fn play(serve: &Serve, (user, password): (&str, &str), id: i64) {
    let url = serve.url(&format!("/live/{user}/{password}/{id}.ts"));
    let mut resp = http().get(&url).send().await.unwrap();
    assert_eq!(resp.status(), 200, "{url}");
    assert_eq!(resp.headers()["content-type"], "video/mp2t");
    let mut checker = TsChecker::default();
    while checker.packets < 1000 {
        let chunk = tokio::time::timeout(Duration::from_secs(20), resp.chunk())
            .await
            .expect("no bytes in time")
            .expect("read error")
            .expect("stream ended early");
        checker.feed(&chunk);
    }
    assert!(checker.is_contiguous(), "{checker:?}");
    assert_eq!(checker.first_pid, Some(0), "starts at a PAT");
}

fn stored_hash(db: &Path, user: &str) -> String {
    let c = rusqlite::Connection::open(db).unwrap();
    c.query_row(
        "SELECT password_hash FROM users WHERE username = ?1",
        [user],
        |r| r.get(0),
    )
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_old_database_moves_over_in_one_command_and_its_users_and_channels_work() {
    let sport = Content::new("Sport One");
    let news = Content::new("News Two");
    let sim = Simulator::start(SimConfig::with_catalogue(vec![sport.clone(), news.clone()]))
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let old = old_database(dir.path(), &sport, &news);
    let old_arg = old.to_str().unwrap();
    let db = dir.path().join("test.db");
    let old_bytes = std::fs::read(&old).unwrap();

    // A dry run says what would happen and writes nothing, not even an empty database.
    let dry = migrate(dir.path(), &[old_arg, "--dry-run"]);
    assert!(dry.contains("dry run"), "{dry}");
    assert!(
        dry.contains("users:") && dry.contains("2 to import"),
        "{dry}"
    );
    assert!(!db.exists(), "the dry run created the database");

    let first: Value = serde_json::from_str(&migrate(dir.path(), &[old_arg, "--json"])).unwrap();
    assert_eq!(counts(&first, "users"), (2, 0, 1), "{first:#}");
    assert_eq!(counts(&first, "categories"), (1, 0, 0));
    assert_eq!(counts(&first, "channels"), (2, 0, 0));
    assert_eq!(counts(&first, "channel_sources"), (1, 0, 0));
    assert_eq!(counts(&first, "guide_sources"), (1, 0, 0));
    assert_eq!(counts(&first, "settings"), (1, 0, 1));
    let skipped = first["skipped"].as_array().unwrap();
    assert!(
        skipped
            .iter()
            .any(|s| s["name"] == "no good" && s["reason"].as_str().unwrap().contains("username")),
        "{first:#}"
    );
    assert!(
        skipped
            .iter()
            .any(|s| s["name"] == "theme" && s["reason"] == "no counterpart in acextream"),
        "{first:#}"
    );
    let notes = first["notes"].to_string();
    assert!(
        notes.contains("no bootstrap admin") && notes.contains("ACEXTREAM_ADMIN__PASSWORD"),
        "{notes}"
    );

    // Twice is the same as once.
    let second: Value = serde_json::from_str(&migrate(dir.path(), &[old_arg, "--json"])).unwrap();
    for kind in [
        "users",
        "categories",
        "channels",
        "channel_sources",
        "guide_sources",
        "settings",
    ] {
        let (imported, present, _) = counts(&second, kind);
        assert_eq!(imported, 0, "{kind} imported twice: {second:#}");
        assert_eq!(present, counts(&first, kind).0, "{kind}: {second:#}");
    }
    assert_eq!(
        std::fs::read(&old).unwrap(),
        old_bytes,
        "the old file is never written"
    );

    // --ask-engine asks about the one bare 40-hex id; an engine that is not there is
    // said so, and the id stays a content id.
    let asked = acextream(dir.path())
        .args(["migrate", old_arg, "--dry-run", "--ask-engine"])
        .env("ACEXTREAM_ENGINE__URL", sim.url())
        .output()
        .unwrap();
    let asked = String::from_utf8_lossy(&asked.stdout);
    assert!(asked.contains("the engine told 1 ids apart"), "{asked}");
    let unreachable = migrate(dir.path(), &[old_arg, "--dry-run", "--ask-engine"]);
    assert!(unreachable.contains("did not answer"), "{unreachable}");

    // The migrated database holds an admin: no bootstrap admin, and the configured
    // password opens nothing — the log says so.
    let serve = Serve::start(dir.path(), &sim.url());
    assert!(
        serve
            .startup
            .iter()
            .any(|l| l.contains("no bootstrap admin was created")
                && l.contains("ACEXTREAM_ADMIN__PASSWORD")),
        "{:#?}",
        serve.startup
    );
    let status = |r: reqwest::Response| r.status().as_u16();
    let as_bootstrap = http()
        .get(serve.url("/api/users"))
        .basic_auth(ADMIN.0, Some(ADMIN.1))
        .send()
        .await
        .unwrap();
    assert_eq!(status(as_bootstrap), 401);

    // The old password logs in through player_api.php, and is re-hashed on the way.
    assert!(stored_hash(&db, ALICE.0).starts_with("$2b$"));
    let info = player_api(&serve, ALICE, "").await;
    assert_eq!(info["user_info"]["auth"], 1, "{info}");
    assert_eq!(info["user_info"]["max_connections"], "2", "{info}");
    assert_eq!(info["user_info"]["is_trial"], "1", "{info}");
    assert!(stored_hash(&db, ALICE.0).starts_with("$argon2id$"));
    let wrong = player_api(&serve, (ALICE.0, "not-the-password"), "").await;
    assert_eq!(wrong["user_info"]["auth"], 0, "{wrong}");

    let streams = player_api(&serve, ALICE, "&action=get_live_streams").await;
    let id_of = |name: &str| {
        streams
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["name"] == name)
            .unwrap_or_else(|| panic!("{name} missing: {streams}"))["stream_id"]
            .as_i64()
            .unwrap()
    };
    let (sport_id, news_id) = (id_of("Sport One"), id_of("News Two"));
    let cats = player_api(&serve, ALICE, "&action=get_live_categories").await;
    assert!(cats.to_string().contains("Sport"), "{cats}");

    // Its channels play: the content id as id=, the infohash as infohash=.
    play(&serve, ALICE, sport_id).await;
    play(&serve, BOSS, news_id).await;
    let calls = sim.introspect().getstream_calls;
    assert!(
        calls
            .iter()
            .any(|c| c.param == "id" && c.value == sport.content_id),
        "{calls:?}"
    );
    assert!(
        calls
            .iter()
            .any(|c| c.param == "infohash" && c.value == news.infohash),
        "{calls:?}"
    );

    // The old admin is an admin here, with its old password.
    let as_boss = http()
        .get(serve.url("/api/users"))
        .basic_auth(BOSS.0, Some(BOSS.1))
        .send()
        .await
        .unwrap();
    assert_eq!(status(as_boss), 200);
}
