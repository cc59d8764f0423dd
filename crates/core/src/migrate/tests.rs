//! The whole mapping over a real old-schema file: every kind, hostile rows, old
//! files without some columns, dry runs and a second run.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a panic here is a failed test

use super::*;
use crate::store::{channels, sources, users};

const CID: &str = "0123456789abcdef0123456789abcdef01234567";
const IH: &str = "89abcdef0123456789abcdef0123456789abcdef";

/// The replaced system's schema as SQLAlchemy `create_all` makes it.
const OLD_SCHEMA: &str = "
CREATE TABLE users (id INTEGER PRIMARY KEY, username VARCHAR(100) UNIQUE, password_hash VARCHAR(255),
  email VARCHAR(255), is_active BOOLEAN DEFAULT 1, is_admin BOOLEAN DEFAULT 0, is_trial BOOLEAN DEFAULT 0,
  max_connections INTEGER DEFAULT 1, allowed_output_formats TEXT, created_at DATETIME, updated_at DATETIME,
  expiry_date DATETIME, last_login DATETIME, notes TEXT);
CREATE TABLE categories (id INTEGER PRIMARY KEY, name VARCHAR(100), description TEXT, parent_id INTEGER,
  display_order INTEGER DEFAULT 0, icon_url VARCHAR(500), created_at DATETIME, updated_at DATETIME);
CREATE TABLE channels (id INTEGER PRIMARY KEY, name VARCHAR(255), acestream_id VARCHAR(100),
  stream_url VARCHAR(500), category_id INTEGER, logo_url VARCHAR(500), epg_id VARCHAR(100),
  language VARCHAR(10), country VARCHAR(50), description TEXT, is_active BOOLEAN DEFAULT 1,
  is_online BOOLEAN, last_checked DATETIME, last_error TEXT, source_url_id INTEGER,
  display_order INTEGER DEFAULT 0, created_at DATETIME, updated_at DATETIME);
CREATE TABLE scraper_urls (id INTEGER PRIMARY KEY, url VARCHAR(500), is_enabled BOOLEAN DEFAULT 1,
  scraper_type VARCHAR(50) DEFAULT 'auto', last_scraped DATETIME, last_success DATETIME,
  last_error TEXT, channels_found INTEGER, created_at DATETIME, updated_at DATETIME);
CREATE TABLE epg_sources (id INTEGER PRIMARY KEY, url VARCHAR(500), is_enabled BOOLEAN DEFAULT 1,
  is_gzipped BOOLEAN DEFAULT 1, last_updated DATETIME, last_success DATETIME, last_error TEXT,
  programs_found INTEGER, created_at DATETIME, updated_at DATETIME);
CREATE TABLE settings (id INTEGER PRIMARY KEY, key VARCHAR(100), value TEXT, description TEXT,
  created_at DATETIME, updated_at DATETIME);
";

fn old_file(dir: &Path) -> PathBuf {
    let path = dir.join("unified-iptv.db");
    let c = Connection::open(&path).unwrap();
    c.execute_batch(OLD_SCHEMA).unwrap();
    let hash = bcrypt::hash("old-pass", 4).unwrap();
    c.execute(
        "INSERT INTO users (id, username, password_hash, email, is_admin, max_connections, expiry_date, created_at, notes) \
         VALUES (1, 'boss', ?1, 'b@example.org', 1, 0, NULL, '2024-01-02 03:04:05.000000', 'the admin'), \
                (2, 'alice', ?1, NULL, 0, 2, '2030-02-01 12:00:00.000000', NULL, NULL), \
                (3, 'bad name', ?1, NULL, 0, 1, NULL, NULL, NULL), \
                (4, 'nohash', NULL, NULL, 0, 1, NULL, NULL, NULL), \
                (5, 'baddate', ?1, NULL, 0, 1, 'next tuesday', NULL, NULL), \
                (6, 'greedy', ?1, NULL, 0, -3, NULL, NULL, NULL), \
                (7, 'md5', '5f4dcc3b5aa765d61d8327deb882cf99', NULL, 0, 1, NULL, NULL, NULL)",
        [&hash],
    )
    .unwrap();
    c.execute_batch(&format!(
        "INSERT INTO categories (id, name, display_order) VALUES (1, 'Sport', 2), (2, 'News', 1), \
           (3, NULL, 0), (4, 'Tab\tbed', 0);
         INSERT INTO channels (id, name, acestream_id, stream_url, category_id, logo_url, epg_id, language, is_active, display_order, created_at) VALUES
           (1, 'Sport One', '{}', NULL, 1, 'http://l/s.png', 'sport.one', 'it', 1, 3, '2024-05-06 07:08:09'),
           (2, 'By Infohash', '{IH}', 'http://127.0.0.1:6878/ace/getstream?infohash={IH}', 2, NULL, NULL, NULL, 1, 0, NULL),
           (3, 'Direct', NULL, 'https://cdn.example.org/live/a.m3u8', NULL, NULL, NULL, NULL, 0, 0, NULL),
           (4, 'Broken id', 'xyz', NULL, NULL, NULL, NULL, NULL, 1, 0, NULL),
           (5, NULL, '{IH}', NULL, NULL, NULL, NULL, NULL, 1, 0, NULL),
           (6, 'Same again', '{CID}', NULL, NULL, NULL, NULL, NULL, 1, 0, NULL),
           (7, 'Nothing', NULL, NULL, NULL, NULL, NULL, NULL, 1, 0, NULL),
           (8, 'Lost category', NULL, 'http://example.org/b.ts', 99, NULL, NULL, NULL, 1, 0, NULL);
         INSERT INTO scraper_urls (id, url, is_enabled, scraper_type) VALUES
           (1, 'http://lists.example.org/a.m3u', 1, 'auto'), (2, 'zero://1abc/list.json', 1, 'zeronet'),
           (3, 'http://lists.example.org/b.json', 0, 'json');
         INSERT INTO epg_sources (id, url, is_enabled) VALUES (1, 'http://epg.example.org/g.xml.gz', 1), (2, '', 1);
         INSERT INTO settings (id, key, value) VALUES (1, 'server_timezone', 'Europe/Rome'),
           (2, 'acestream_engine_host', '10.0.0.5'), (3, 'acestream_engine_port', '6878'),
           (4, 'scraper_update_interval', '7200'), (5, 'theme', 'dark'), (6, 'epg_update_interval', '5');",
        CID.to_ascii_uppercase()
    ))
    .unwrap();
    path
}

fn opts(dry_run: bool) -> Options {
    Options {
        dry_run,
        time_zone: TimeZone::UTC,
        engine: None,
    }
}

fn reasons(s: &Summary, kind: Kind) -> Vec<(Option<i64>, String)> {
    s.skipped
        .iter()
        .filter(|x| x.kind == kind)
        .map(|x| (x.id, x.reason.clone()))
        .collect()
}

#[tokio::test]
async fn an_old_database_migrates_once_with_every_hostile_row_skipped_with_a_reason() {
    let dir = tempfile::tempdir().unwrap();
    let old = old_file(dir.path());
    let target = dir.path().join("acextream.db");

    let dry = migrate(&old, &target, opts(true)).await.unwrap();
    assert!(!target.exists(), "a dry run creates nothing");
    let s = migrate(&old, &target, opts(false)).await.unwrap();
    assert_eq!(dry.counts, s.counts, "the dry run said what would happen");

    let c = |k| s.counts(k);
    assert_eq!(
        (c(Kind::Users).found, c(Kind::Users).imported),
        (7, 2),
        "{s}"
    );
    let user_reasons = reasons(&s, Kind::Users);
    let ids: Vec<_> = user_reasons.iter().map(|(id, _)| id.unwrap()).collect();
    assert_eq!(ids, [3, 4, 5, 6, 7], "{s}");
    assert!(user_reasons[0].1.contains("username"), "{s}");
    assert!(user_reasons[2].1.contains("expiry_date"), "{s}");
    assert!(user_reasons[4].1.contains("bcrypt"), "{s}");
    assert_eq!(c(Kind::Categories).imported, 2, "{s}");
    assert_eq!(c(Kind::Channels).imported, 4, "{s}");
    let ch: Vec<_> = reasons(&s, Kind::Channels)
        .into_iter()
        .map(|(id, _)| id.unwrap())
        .collect();
    assert_eq!(ch, [4, 5, 6, 7], "{s}");
    assert_eq!(c(Kind::ChannelSources).imported, 2, "{s}");
    assert_eq!(c(Kind::GuideSources).imported, 1, "{s}");
    assert_eq!(c(Kind::Settings).imported, 2, "{s}");
    let text = s.to_string();
    assert!(
        text.contains("engine.url = \"http://10.0.0.5:6878\""),
        "{text}"
    );
    assert!(text.contains("no bootstrap admin"), "{text}");
    assert!(text.contains("users.email (1)"), "{text}");
    assert!(text.contains("channels.language (1)"), "{text}");

    let store = Store::open(&target).unwrap();
    store
        .run_blocking(|c| {
            let boss = users::by_name(c, "boss")?.unwrap();
            assert!(boss.is_admin && boss.enabled && boss.max_connections == 0);
            assert!(boss.password_hash.starts_with("$2b$"));
            assert_eq!(boss.created_at, 1_704_164_645);
            assert_eq!(boss.notes, "the admin");
            let alice = users::by_name(c, "alice")?.unwrap();
            // Through Feb 1st in Rome (the old file's own time zone): stops at the
            // start of Feb 2nd there.
            assert_eq!(alice.expires_at, Some(1_896_134_400 + 86_400 - 3600));
            assert_eq!(alice.max_connections, 2);

            let page = channels::list(c, &Default::default())?;
            let by_name = |n: &str| page.channels.iter().find(|x| x.name == n).unwrap().clone();
            let one = by_name("Sport One");
            assert_eq!(
                one.content_id.as_deref(),
                Some(CID),
                "lowercased content id"
            );
            assert_eq!(
                (
                    one.category.as_deref(),
                    one.logo.as_str(),
                    one.tvg_id.as_str(),
                    one.chno
                ),
                (Some("Sport"), "http://l/s.png", "sport.one", Some(3))
            );
            assert_eq!(one.added_at, 1_714_979_289);
            assert!(one.overridden("manual") && one.active);
            let ih = by_name("By Infohash");
            assert_eq!(ih.infohash.as_deref(), Some(IH), "the infohash= URL told");
            assert_eq!(ih.content_id, None);
            let direct = by_name("Direct");
            assert_eq!(
                direct.direct_url.as_deref(),
                Some("https://cdn.example.org/live/a.m3u8")
            );
            assert!(!direct.enabled, "is_active 0 stays hidden");
            assert_eq!(by_name("Lost category").category, None);
            let cats = channels::categories(c)?;
            let names: Vec<_> = cats
                .iter()
                .map(|k| (k.name.as_str(), k.sort_order))
                .collect();
            assert_eq!(names, [("News", 1), ("Sport", 2)]);

            let srcs = sources::list(c, sources::SourceTable::Channels)?;
            assert_eq!(srcs.len(), 2);
            assert!(srcs[1].url.ends_with("b.json") && !srcs[1].enabled && srcs[1].kind == "json");
            let tz: String = c.query_row(
                "SELECT value FROM settings WHERE key = 'server.timezone'",
                [],
                |r| r.get(0),
            )?;
            assert_eq!(tz, "\"Europe/Rome\"");
            Ok(())
        })
        .unwrap();

    let again = migrate(&old, &target, opts(false)).await.unwrap();
    assert_eq!(again.imported(), 0, "a second run imports nothing: {again}");
    assert_eq!(again.counts(Kind::Channels).already_present, 4);
    assert_eq!(again.counts(Kind::Users).already_present, 2);
    let dry_again = migrate(&old, &target, opts(true)).await.unwrap();
    assert_eq!(dry_again.imported(), 0);
}

#[tokio::test]
async fn an_old_file_without_some_columns_and_tables_migrates_with_defaults() {
    let dir = tempfile::tempdir().unwrap();
    let old = dir.path().join("old.db");
    let c = Connection::open(&old).unwrap();
    let hash = bcrypt::hash("pw", 4).unwrap();
    c.execute_batch(&format!(
        "CREATE TABLE users (id INTEGER PRIMARY KEY, username TEXT, password_hash TEXT);
         INSERT INTO users VALUES (1, 'old', '{hash}');
         CREATE TABLE channels (id INTEGER PRIMARY KEY, name TEXT, acestream_id TEXT);
         INSERT INTO channels VALUES (1, 'Only', '{CID}');"
    ))
    .unwrap();
    drop(c);
    let target = dir.path().join("acextream.db");
    let s = migrate(&old, &target, opts(false)).await.unwrap();
    assert_eq!(s.counts(Kind::Users).imported, 1, "{s}");
    assert_eq!(s.counts(Kind::Channels).imported, 1, "{s}");
    assert!(s.to_string().contains("may be an infohash"), "{s}");
    let store = Store::open(&target).unwrap();
    let u = store
        .run_blocking(|c| users::by_name(c, "old"))
        .unwrap()
        .unwrap();
    assert!(u.enabled && !u.is_admin && u.max_connections == 1 && u.expires_at.is_none());
}

#[tokio::test]
async fn files_that_are_not_the_old_database_are_refused_and_nothing_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("acextream.db");
    let missing = migrate(&dir.path().join("nope.db"), &target, opts(false)).await;
    assert!(matches!(missing, Err(MigrateError::NotFound(_))));
    let junk = dir.path().join("junk.db");
    std::fs::write(&junk, b"this is not sqlite at all, just text").unwrap();
    assert!(migrate(&junk, &target, opts(false)).await.is_err());
    Store::open(&target).unwrap();
    let ours = migrate(&target, &target, opts(false)).await.unwrap_err();
    assert!(matches!(ours, MigrateError::SameFile(_)), "{ours}");
    let other = dir.path().join("other.db");
    Store::open(&other).unwrap();
    let not_legacy = migrate(&other, &target, opts(false)).await.unwrap_err();
    assert!(
        not_legacy.to_string().contains("acextream database"),
        "{not_legacy}"
    );
}

#[tokio::test]
async fn a_failure_halfway_leaves_the_database_as_it_was() {
    let dir = tempfile::tempdir().unwrap();
    let old = old_file(dir.path());
    let target = dir.path().join("acextream.db");
    let store = Store::open(&target).unwrap();
    // Users are written after categories and channels: make the second user fail.
    store
        .run_blocking(|c| {
            c.execute_batch(
                "CREATE TRIGGER boom BEFORE INSERT ON users WHEN NEW.username = 'alice' \
                 BEGIN SELECT RAISE(ABORT, 'disk on fire'); END;",
            )?;
            Ok(())
        })
        .unwrap();
    let err = migrate(&old, &target, opts(false)).await.unwrap_err();
    assert!(err.to_string().contains("disk on fire"), "{err}");
    store
        .run_blocking(|c| {
            for table in [
                "users",
                "categories",
                "channels",
                "sources",
                "epg_sources",
                "settings",
            ] {
                let n: i64 =
                    c.query_row(&format!("SELECT count(*) FROM {table}"), [], |r| r.get(0))?;
                assert_eq!(n, 0, "{table} was half-imported");
            }
            Ok(())
        })
        .unwrap();
}

#[tokio::test]
async fn values_of_the_wrong_type_are_skipped_never_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    let old = dir.path().join("hostile.db");
    let c = Connection::open(&old).unwrap();
    let hash = bcrypt::hash("pw", 4).unwrap();
    c.execute_batch(OLD_SCHEMA).unwrap();
    c.execute(
        "INSERT INTO users (id, username, password_hash, is_active, max_connections) VALUES \
         (1, x'00ff', ?1, 1, 1), (2, 'n1', 42, 1, 1), (3, 'n2', ?1, 0.5, 1), \
         (4, 'n3', ?1, 1, 1e300), (5, 'n4', ?1, 'maybe', 1), (6, 'ok', ?1, '1', '3')",
        [&hash],
    )
    .unwrap();
    c.execute_batch(&format!(
        "INSERT INTO channels (id, name, acestream_id, display_order, is_active, created_at, category_id) VALUES
           (1, x'00', '{CID}', 1, 1, NULL, NULL),
           (2, 'blob id', x'0102', 1, 1, NULL, NULL),
           (3, '{long}', '{CID}', 1, 1, NULL, NULL),
           (4, 'odd', '{CID}', 'abc', 1, 'not a date', 'seven');
         INSERT INTO settings (id, key, value) VALUES (1, NULL, 'x'), (2, 'server_timezone', 'Mars/Olympus'),
           (3, 'external_url', x'00');
         INSERT INTO scraper_urls (id, url, is_enabled) VALUES (1, NULL, 1), (2, 'http://a.example.org/l.m3u', 7);",
        long = "x".repeat(300)
    ))
    .unwrap();
    drop(c);
    let target = dir.path().join("acextream.db");
    let s = migrate(&old, &target, opts(false)).await.unwrap();
    assert_eq!(s.counts(Kind::Users).imported, 1, "{s}");
    assert_eq!(s.counts(Kind::Users).skipped, 5, "{s}");
    assert_eq!(s.counts(Kind::Channels).imported, 1, "{s}");
    assert_eq!(s.counts(Kind::Channels).skipped, 3, "{s}");
    assert_eq!(s.counts(Kind::Settings).skipped, 3, "{s}");
    assert_eq!(s.counts(Kind::ChannelSources).skipped, 2, "{s}");
    let store = Store::open(&target).unwrap();
    let ok = store
        .run_blocking(|c| users::by_name(c, "ok"))
        .unwrap()
        .unwrap();
    assert_eq!(ok.max_connections, 3);
    let odd = store
        .run_blocking(|c| {
            channels::by_stream(
                c,
                &crate::sources::StreamRef::Ace {
                    key: ContentKey::ContentId(CID.into()),
                },
            )
        })
        .unwrap()
        .unwrap();
    assert_eq!(
        (odd.name.as_str(), odd.chno, odd.category),
        ("odd", None, None)
    );
}
