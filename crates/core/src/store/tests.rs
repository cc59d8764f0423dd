//! Opening, migrating and failing to open the database.

use super::*;
use crate::sources::StreamRef;

fn user_version(path: &Path) -> i64 {
    let c = Connection::open(path).unwrap();
    c.query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap()
}

#[test]
fn a_fresh_database_is_created_with_its_directory_and_migrated() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nested/dir/acextream.db");
    let store = Store::open(&path).unwrap();
    assert!(path.exists());
    assert_eq!(user_version(&path), migrations_len());
    let tables: Vec<String> = store
        .run_blocking(|c| {
            let mut st = c.prepare("SELECT name FROM sqlite_master WHERE type='table'")?;
            let rows = st.query_map([], |r| r.get(0))?;
            Ok(rows.collect::<Result<_, _>>()?)
        })
        .unwrap();
    for t in [
        "users",
        "channels",
        "categories",
        "sources",
        "epg_sources",
        "epg_programmes",
        "settings",
        "sessions",
    ] {
        assert!(
            tables.iter().any(|x| x == t),
            "missing table {t}: {tables:?}"
        );
    }
    let mode: String = store
        .run_blocking(|c| Ok(c.query_row("PRAGMA journal_mode", [], |r| r.get(0))?))
        .unwrap();
    assert_eq!(mode.to_lowercase(), "wal");
}

#[test]
fn reopening_a_migrated_database_keeps_its_data() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a.db");
    let store = Store::open(&path).unwrap();
    store
        .run_blocking(|c| {
            c.execute("INSERT INTO categories (name) VALUES ('Sport')", [])?;
            Ok(())
        })
        .unwrap();
    drop(store);
    let store = Store::open(&path).unwrap();
    let n: i64 = store
        .run_blocking(|c| Ok(c.query_row("SELECT count(*) FROM categories", [], |r| r.get(0))?))
        .unwrap();
    assert_eq!(n, 1);
    assert_eq!(user_version(&path), migrations_len());
}

#[test]
fn a_file_that_is_not_sqlite_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("junk.db");
    std::fs::write(&path, vec![b'x'; 4096]).unwrap();
    let err = Store::open(&path).err().expect("junk must not open");
    assert!(matches!(err, StoreError::NotSqlite(_)), "{err:?}");
    assert!(err.to_string().contains("is not an SQLite database"));
}

#[test]
fn a_read_only_database_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ro.db");
    // A database from an older version (no schema yet) that cannot be written to.
    Connection::open(&path)
        .unwrap()
        .execute_batch("CREATE TABLE t (x)")
        .unwrap();
    let err = Store::open_with_flags(&path, OpenFlags::SQLITE_OPEN_READ_ONLY)
        .err()
        .expect("read-only must not open");
    assert!(matches!(err, StoreError::ReadOnly(_)), "{err:?}");
}

#[test]
fn a_directory_in_place_of_the_file_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let err = Store::open(dir.path())
        .err()
        .expect("a directory must not open");
    assert!(err.to_string().contains("directory"), "{err}");
}

#[test]
fn a_database_from_a_newer_version_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("new.db");
    Connection::open(&path)
        .unwrap()
        .execute_batch("PRAGMA user_version = 999")
        .unwrap();
    let err = Store::open(&path)
        .err()
        .expect("newer schema must not open");
    assert!(err.to_string().contains("migrate"), "{err}");
}

fn migrations_len() -> i64 {
    7
}

#[test]
fn every_new_channel_gets_a_number_above_all_in_use_and_keeps_it() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("n.db")).unwrap();
    store
        .run_blocking(|c| {
            let add = |name: &str, chno: Option<i64>| -> StoreResult<i64> {
                c.execute(
                    "INSERT INTO channels (name, chno, added_at, updated_at) VALUES (?1, ?2, 0, 0)",
                    rusqlite::params![name, chno],
                )?;
                Ok(c.last_insert_rowid())
            };
            let number = |id: i64| -> StoreResult<i64> {
                Ok(c.query_row(
                    "SELECT guide_number FROM channels WHERE id = ?1",
                    [id],
                    |r| r.get(0),
                )?)
            };
            let a = add("A", None)?;
            let b = add("B", Some(10))?;
            let d = add("D", None)?;
            assert_eq!((number(a)?, number(b)?, number(d)?), (1, 11, 12));
            // Renumbering or deleting others never moves a channel's own number.
            c.execute("UPDATE channels SET chno = 500 WHERE id = ?1", [b])?;
            c.execute("DELETE FROM channels WHERE id = ?1", [a])?;
            assert_eq!(number(d)?, 12);
            let e = add("E", None)?;
            assert_eq!(number(e)?, 501);
            Ok(())
        })
        .unwrap();
}

#[test]
fn a_channel_mark_wins_over_its_category_and_zero_keeps_it_out() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("a.db")).unwrap();
    store
        .run_blocking(|c| {
            c.execute("INSERT INTO categories (name) VALUES ('Sport')", [])?;
            let sport = c.last_insert_rowid();
            let mut ids = Vec::new();
            for name in ["A", "B", "C"] {
                c.execute(
                    "INSERT INTO channels (name, category_id, added_at, updated_at) \
                     VALUES (?1, ?2, 0, 0)",
                    rusqlite::params![name, sport],
                )?;
                ids.push(c.last_insert_rowid());
            }
            assert!(archive::archived(c)?.is_empty());
            archive::set_category(c, sport, Some(3))?;
            archive::set_channel(c, ids[0], Some(7))?;
            archive::set_channel(c, ids[1], Some(0))?;
            let on = archive::archived(c)?;
            assert_eq!(on.get(&ids[0]), Some(&7), "its own mark wins");
            assert_eq!(on.get(&ids[1]), None, "0 keeps it out of the category");
            assert_eq!(on.get(&ids[2]), Some(&3), "the category's depth");
            archive::set_channel(c, ids[1], None)?;
            assert_eq!(archive::mark_of(c, ids[1])?.days(), 3);
            assert!(matches!(
                archive::set_category(c, sport, Some(0)),
                Err(StoreError::Invalid(_))
            ));
            assert!(matches!(
                archive::set_channel(c, 9999, Some(1)),
                Err(StoreError::NotFound(_))
            ));
            // A disabled channel is not recorded; a deleted one loses its mark.
            let marks = |c: &rusqlite::Connection| -> StoreResult<i64> {
                Ok(c.query_row("SELECT COUNT(*) FROM archive_channels", [], |r| r.get(0))?)
            };
            assert_eq!(marks(c)?, 1, "only A has a mark of its own now");
            c.execute("UPDATE channels SET enabled = 0 WHERE id = ?1", [ids[2]])?;
            c.execute("DELETE FROM channels WHERE id = ?1", [ids[0]])?;
            let on = archive::archived(c)?;
            assert_eq!(on.len(), 1, "{on:?}");
            assert_eq!(marks(c)?, 0, "A's mark went with it");
            Ok(())
        })
        .unwrap();
}

#[test]
fn every_pooled_connection_waits_for_a_busy_database() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("busy.db")).unwrap();
    // All of the pool at once, so none is the one checked before.
    let conns: Vec<_> = (0..POOL_SIZE).map(|_| store.pool.get().unwrap()).collect();
    for c in &conns {
        let ms: i64 = c
            .query_row("PRAGMA busy_timeout", [], |r| r.get(0))
            .unwrap();
        assert_eq!(ms, BUSY_TIMEOUT.as_millis() as i64);
    }
}

#[test]
fn a_version_2_guide_is_still_shown_after_the_migration_to_generations() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("v2.db");
    let mut c = Connection::open(&path).unwrap();
    Migrations::new(vec![
        M::up(include_str!("schema_v1.sql")),
        M::up(include_str!("schema_v2.sql")),
    ])
    .to_latest(&mut c)
    .unwrap();
    c.execute_batch(
        "INSERT INTO epg_sources (id, name, url, created_at) VALUES (1, 'a', 'http://a', 0);
         INSERT INTO epg_channels (source_id, xmltv_id, display_name) VALUES (1, 'x', 'X');
         INSERT INTO epg_programmes (source_id, xmltv_id, start, stop, title)
             VALUES (1, 'x', 100, 200, 'Kept');
         INSERT INTO channels (id, name, content_id, tvg_id, added_at, updated_at)
             VALUES (1, 'X', 'cid', 'x', 0, 0);",
    )
    .unwrap();
    drop(c);

    let store = Store::open(&path).unwrap();
    assert_eq!(user_version(&path), migrations_len());
    let titles: Vec<String> = store
        .run_blocking(|c| {
            let mapping = crate::epg::remap(c, false).unwrap();
            assert_eq!(mapping.mapped, 1);
            let programmes = crate::epg::programmes_for_channel(c, 1, 0, 1000, None).unwrap();
            Ok(programmes.into_iter().map(|p| p.title).collect())
        })
        .unwrap();
    assert_eq!(titles, ["Kept"]);
}

/// A version 4 database with two sources, a channel on both, a hand-added one, an
/// inactive one, a guide mapping and a check result.
fn v4_database(path: &Path) {
    let mut c = Connection::open(path).unwrap();
    Migrations::new(vec![
        M::up(include_str!("schema_v1.sql")),
        M::up(include_str!("schema_v2.sql")),
        M::up(include_str!("schema_v3.sql")),
        M::up(include_str!("schema_v4.sql")),
    ])
    .to_latest(&mut c)
    .unwrap();
    c.execute_batch(&format!(
        "PRAGMA foreign_keys = ON;
         INSERT INTO sources (id, name, url, created_at) VALUES (1, 'a', 'http://a', 0), (2, 'b', 'http://b', 0);
         INSERT INTO categories (id, name) VALUES (7, 'Sport');
         INSERT INTO epg_sources (id, name, url, created_at) VALUES (1, 'g', 'http://g', 0);
         INSERT INTO channels (id, name, content_id, category_id, tvg_id, online, checked_at, added_at, updated_at)
             VALUES (3, 'Sport', '{a}', 7, 'sport', 1, 1234, 10, 11);
         INSERT INTO channels (id, name, direct_url, overrides, added_at, updated_at)
             VALUES (5, 'Mine', 'http://cdn/x.ts', 'manual,name', 20, 21);
         INSERT INTO channels (id, name, infohash, active, added_at, updated_at)
             VALUES (9, 'Gone', '{b}', 0, 30, 31);
         INSERT INTO channel_sources (channel_id, source_id) VALUES (3, 1), (3, 2);
         INSERT INTO channel_guide (channel_id, source_id, xmltv_id, matched_by)
             VALUES (3, 1, 'sport', 'tvg_id');",
        a = "a".repeat(40),
        b = "b".repeat(40),
    ))
    .unwrap();
}

#[test]
fn a_version_4_database_keeps_its_channels_as_one_link_each() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("v4.db");
    v4_database(&path);

    let store = Store::open(&path).unwrap();
    assert_eq!(user_version(&path), migrations_len());
    store
        .run_blocking(|c| {
            // The rebuild of `channels` deleted nothing that refers to it.
            let sources: i64 =
                c.query_row("SELECT count(*) FROM channel_sources", [], |r| r.get(0))?;
            assert_eq!(sources, 2, "channel_sources survived the rebuild");
            let guide: i64 = c.query_row("SELECT count(*) FROM channel_guide", [], |r| r.get(0))?;
            assert_eq!(guide, 1, "channel_guide survived the rebuild");

            // v6 numbered the channels in playlist order (no source numbers here).
            let numbers: Vec<(i64, i64)> = c
                .prepare("SELECT id, guide_number FROM channels ORDER BY id")?
                .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
                .collect::<Result<_, _>>()?;
            assert_eq!(numbers, [(3, 3), (5, 2), (9, 1)]);

            let sport = channels::get(c, 3)?;
            assert_eq!(sport.content_id.as_deref(), Some("a".repeat(40).as_str()));
            assert_eq!(
                (sport.links, sport.online, sport.checked_at),
                (1, Some(true), Some(1234))
            );
            assert_eq!(sport.category.as_deref(), Some("Sport"));
            let link = &links::for_channel(c, 3)?[0];
            assert_eq!((link.position, link.manual), (0, false));
            assert_eq!(
                link.sources,
                [1, 2],
                "the channel's sources became the link's"
            );
            assert_eq!(
                (link.health.online, link.health.checked_at),
                (Some(true), Some(1234))
            );

            let mine = &links::for_channel(c, 5)?[0];
            assert!(mine.manual, "a hand-added channel's link is the admin's");
            assert_eq!(
                mine.stream,
                StreamRef::Direct {
                    url: "http://cdn/x.ts".into()
                }
            );
            let gone = channels::get(c, 9)?;
            assert!(!gone.active);
            assert_eq!(gone.infohash.as_deref(), Some("b".repeat(40).as_str()));
            let found = channels::by_stream(
                c,
                &StreamRef::Ace {
                    key: crate::engine::ContentKey::Infohash("b".repeat(40)),
                },
            )?;
            assert_eq!(found.map(|ch| ch.id), Some(9));

            // The old columns are gone; foreign keys are on again for everyone.
            let cols: Vec<String> = c
                .prepare("SELECT name FROM pragma_table_info('channels')")?
                .query_map([], |r| r.get(0))?
                .collect::<Result<_, _>>()?;
            assert!(
                !cols.iter().any(|c| c == "content_id" || c == "direct_url"),
                "{cols:?}"
            );
            let fk: i64 = c.query_row("PRAGMA foreign_keys", [], |r| r.get(0))?;
            assert_eq!(fk, 1);
            // Deleting a channel still cascades to its links.
            channels::delete(c, 3)?;
            let left: i64 = c.query_row(
                "SELECT count(*) FROM channel_links WHERE channel_id = 3",
                [],
                |r| r.get(0),
            )?;
            assert_eq!(left, 0);
            Ok(())
        })
        .unwrap();
}
