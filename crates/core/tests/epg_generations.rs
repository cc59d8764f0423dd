//! A guide import in generations: written in batches that let other writers in,
//! invisible to readers until its swap, and leaving the previous guide whole when it
//! stops half-way (an abrupt stop, a failure, a newer import of the same source).
#![allow(clippy::unwrap_used, clippy::expect_used)] // a panic here is a failed test

// In a module so that `cargo test epg` selects these tests too.
mod epg {
    use std::io::{BufReader, Cursor, Read};

    use acextream_core::epg::ingest::BATCH;
    use acextream_core::epg::{EpgError, Window, import_source, programmes_for_channel, remap};
    use acextream_core::store::channels::{self, ChannelEdit};
    use acextream_core::{Store, StoreError};
    use tempfile::TempDir;

    /// 2026-11-24 19:45:00 UTC.
    const T: i64 = 1_795_549_500;
    const WINDOW: Window = Window {
        from: T - 86_400,
        to: T + 30 * 86_400,
    };

    /// A feed of one channel `x` with `n` one-minute programmes titled `{title} {i}`.
    fn feed(n: usize, title: &str) -> Vec<u8> {
        let mut xml =
            String::from("<tv>\n<channel id=\"x\"><display-name>X</display-name></channel>\n");
        for i in 0..n as i64 {
            let (start, stop) = (time(T + i * 60), time(T + i * 60 + 60));
            xml += &format!(
                "<programme start=\"{start}\" stop=\"{stop}\" channel=\"x\"><title>{title} {i}</title></programme>\n"
            );
        }
        xml += "</tv>\n";
        xml.into_bytes()
    }

    fn time(epoch: i64) -> String {
        jiff::Timestamp::from_second(epoch)
            .unwrap()
            .strftime("%Y%m%d%H%M%S +0000")
            .to_string()
    }

    /// A reader that runs `hook` once, when half of `bytes` has been read: in the
    /// middle of an import, between two of its batches (no transaction is open
    /// while the importer reads).
    struct Midway {
        bytes: Cursor<Vec<u8>>,
        half: u64,
        hook: Option<Box<dyn FnOnce()>>,
    }

    impl Read for Midway {
        fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
            if self.bytes.position() >= self.half
                && let Some(hook) = self.hook.take()
            {
                hook();
            }
            // Small reads, so the hook runs close to the half.
            let n = out.len().min(4096);
            self.bytes.read(&mut out[..n])
        }
    }

    struct Db {
        _dir: TempDir,
        store: Store,
        source: i64,
        channel: i64,
    }

    impl Db {
        /// A source whose guide (channel `x`, `n` programmes titled "Old") is
        /// imported, and a channel showing it.
        fn with_old_guide(n: usize) -> Db {
            let dir = tempfile::tempdir().unwrap();
            let store = Store::open(&dir.path().join("guide.db")).unwrap();
            let (source, channel) = store
                .run_blocking(|c| {
                    c.execute(
                        "INSERT INTO epg_sources (name, url, created_at) VALUES ('a', 'http://a', 0)",
                        [],
                    )?;
                    let source = c.last_insert_rowid();
                    c.execute(
                        "INSERT INTO channels (name, tvg_id, added_at, updated_at)
                         VALUES ('X', 'x', 0, 0)",
                        [],
                    )?;
                    Ok((source, c.last_insert_rowid()))
                })
                .unwrap();
            let db = Db {
                _dir: dir,
                store,
                source,
                channel,
            };
            db.import(Cursor::new(feed(n, "Old"))).unwrap();
            db.store
                .run_blocking(|c| Ok(remap(c, false)))
                .unwrap()
                .unwrap();
            assert_eq!(db.titles().len(), n);
            db
        }

        fn import(&self, reader: impl Read) -> Result<acextream_core::epg::ImportReport, EpgError> {
            let source = self.source;
            self.store
                .run_blocking(|c| Ok(import_source(c, source, BufReader::new(reader), WINDOW)))
                .unwrap()
        }

        /// Imports `bytes`, running `hook` half-way through.
        fn import_with(
            &self,
            bytes: Vec<u8>,
            hook: impl FnOnce() + 'static,
        ) -> Result<acextream_core::epg::ImportReport, EpgError> {
            let half = bytes.len() as u64 / 2;
            self.import(Midway {
                bytes: Cursor::new(bytes),
                half,
                hook: Some(Box::new(hook)),
            })
        }

        /// The titles players see on the channel, by start.
        fn titles(&self) -> Vec<String> {
            titles(&self.store, self.channel)
        }

        /// Programme rows of the source, whatever their generation.
        fn rows(&self) -> i64 {
            rows(&self.store, self.source)
        }
    }

    fn titles(store: &Store, channel: i64) -> Vec<String> {
        store
            .run_blocking(|c| Ok(programmes_for_channel(c, channel, i64::MIN, i64::MAX, None)))
            .unwrap()
            .unwrap()
            .into_iter()
            .map(|p| p.title)
            .collect()
    }

    fn rows(store: &Store, source: i64) -> i64 {
        store
            .run_blocking(|c| {
                Ok(c.query_row(
                    "SELECT count(*) FROM epg_programmes WHERE source_id = ?1",
                    [source],
                    |r| r.get(0),
                )?)
            })
            .unwrap()
    }

    #[test]
    fn other_writers_get_in_between_batches_and_readers_see_the_old_guide_until_the_swap() {
        let db = Db::with_old_guide(3);
        let n = BATCH * 3;
        let (store, source, channel) = (db.store.clone(), db.source, db.channel);
        let report = db
            .import_with(feed(n, "New"), move || {
                // Batches are written already, yet players still get the old guide.
                assert!(rows(&store, source) > 3 + BATCH as i64 / 2);
                assert_eq!(titles(&store, channel), ["Old 0", "Old 1", "Old 2"]);
                // And an admin's edit (a read-then-write transaction) goes through.
                let edit = ChannelEdit {
                    name: Some("Edited mid-import".into()),
                    ..ChannelEdit::default()
                };
                let edited = store
                    .run_blocking(|c| channels::edit(c, channel, &edit))
                    .unwrap();
                assert_eq!(edited.name, "Edited mid-import");
            })
            .unwrap();
        assert_eq!(report.programmes, n as u64);
        let titles = db.titles();
        assert_eq!(titles.len(), n);
        assert_eq!(
            (titles[0].as_str(), titles[n - 1].as_str()),
            ("New 0", "New 5999")
        );
        // The replaced guide is gone from the table, not only hidden.
        assert_eq!(db.rows(), n as i64);
        let name: String = db
            .store
            .run_blocking(|c| Ok(channels::get(c, db.channel)?.name))
            .unwrap();
        assert_eq!(name, "Edited mid-import");
    }

    #[test]
    fn an_import_stopped_dead_leaves_the_old_guide_and_the_next_import_cleans_up() {
        let db = Db::with_old_guide(3);
        // A panic half-way stops the import with no chance to clean up, as a
        // `kill -9` would.
        let stopped = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            db.import_with(feed(BATCH * 3, "Lost"), || panic!("stopped dead"))
        }));
        assert!(stopped.is_err());
        assert_eq!(db.titles(), ["Old 0", "Old 1", "Old 2"]);
        let left_over = db.rows() - 3;
        assert!(left_over >= BATCH as i64, "{left_over} rows left over");

        let report = db.import(Cursor::new(feed(5, "Next"))).unwrap();
        assert_eq!(report.programmes, 5);
        assert_eq!(
            db.titles(),
            ["Next 0", "Next 1", "Next 2", "Next 3", "Next 4"]
        );
        assert_eq!(db.rows(), 5);
    }

    #[test]
    fn a_feed_that_breaks_half_way_leaves_the_old_guide_and_no_rows_behind() {
        let db = Db::with_old_guide(3);
        let mut broken = feed(BATCH * 3, "Broken");
        broken.truncate(broken.len() * 3 / 4);
        broken.extend_from_slice(b"<programme <<< not xml");
        let err = db.import(Cursor::new(broken)).unwrap_err();
        assert!(matches!(err, EpgError::Xml(_)), "{err}");
        assert_eq!(db.titles(), ["Old 0", "Old 1", "Old 2"]);
        assert_eq!(db.rows(), 3);
    }

    #[test]
    fn of_two_imports_of_a_source_the_later_one_wins() {
        let db = Db::with_old_guide(3);
        // Half-way through, another process starts importing the same source: it
        // claims the next generation (and would write under it).
        let (store, source) = (db.store.clone(), db.source);
        let err = db
            .import_with(feed(BATCH * 3, "Earlier"), move || {
                store
                    .run_blocking(|c| {
                        c.execute(
                            "UPDATE epg_sources SET staging_generation = staging_generation + 1
                             WHERE id = ?1",
                            [source],
                        )?;
                        Ok(())
                    })
                    .unwrap();
            })
            .unwrap_err();
        assert!(
            matches!(err, EpgError::Store(StoreError::Conflict(_))),
            "{err}"
        );
        // The earlier import swapped nothing in and took its rows away.
        assert_eq!(db.titles(), ["Old 0", "Old 1", "Old 2"]);
        assert_eq!(db.rows(), 3);
        // The next import goes through.
        db.import(Cursor::new(feed(2, "Later"))).unwrap();
        assert_eq!(db.titles(), ["Later 0", "Later 1"]);
    }
}
