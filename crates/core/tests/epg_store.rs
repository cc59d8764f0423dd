//! The guide against a real store: importing fixtures (plain, gzip, xz), the
//! all-or-nothing replacement, the window, duplicates, mapping passes and source
//! priority, and the queries the Xtream API and xmltv.php use.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a panic here is a failed test

// In a module so that `cargo test epg` selects these tests too.
mod epg {
    use std::io::{Cursor, Write};

    use acextream_core::Store;
    use acextream_core::epg::{
        self, EpgError, ImportReport, StoredProgramme, Window, channels_without_guide,
        for_each_programme_of_mapped_channels, import_source, programmes_for_channel, remap,
    };
    use rusqlite::params;
    use tempfile::TempDir;

    const GUIDE_A: &[u8] = include_bytes!("fixtures/epg/guide_a.xml");
    const MALFORMED: &[u8] = include_bytes!("fixtures/epg/malformed.xml");

    /// 2026-11-24 19:45:00 UTC, the time the fixtures are built around.
    const T: i64 = 1_795_549_500;
    const DAY: i64 = 86_400;
    const WINDOW: Window = Window {
        from: T - DAY,
        to: T + DAY,
    };

    struct Db {
        _dir: TempDir,
        store: Store,
    }

    impl Db {
        fn new() -> Db {
            let dir = tempfile::tempdir().unwrap();
            let store = Store::open(&dir.path().join("guide.db")).unwrap();
            Db { _dir: dir, store }
        }

        fn sql(&self, sql: &str, args: impl rusqlite::Params) -> i64 {
            self.store
                .run_blocking(|c| {
                    c.execute(sql, args)?;
                    Ok(c.last_insert_rowid())
                })
                .unwrap()
        }

        fn count(&self, sql: &str, args: impl rusqlite::Params) -> i64 {
            self.store
                .run_blocking(|c| Ok(c.query_row(sql, args, |r| r.get(0))?))
                .unwrap()
        }

        fn source(&self, name: &str, priority: i64) -> i64 {
            self.sql(
                "INSERT INTO epg_sources (name, url, priority, created_at) VALUES (?1, ?2, ?3, 0)",
                params![name, format!("http://guides.example/{name}.xml"), priority],
            )
        }

        fn channel(&self, name: &str, tvg_id: &str) -> i64 {
            self.sql(
                "INSERT INTO channels (name, tvg_id, added_at, updated_at)
                 VALUES (?1, ?2, 0, 0)",
                params![name, tvg_id],
            )
        }

        fn import(&self, source: i64, feed: &[u8]) -> Result<ImportReport, EpgError> {
            let feed = feed.to_vec();
            self.store
                .run_blocking(|c| {
                    let reader = epg::decoded(Cursor::new(feed)).map_err(EpgError::Io);
                    Ok(reader.and_then(|r| import_source(c, source, r, WINDOW)))
                })
                .unwrap()
        }

        fn remap(&self, by_name: bool) -> epg::MappingReport {
            self.store
                .run_blocking(|c| Ok(remap(c, by_name)))
                .unwrap()
                .unwrap()
        }

        /// `(xmltv_id, start, title)` of a source's programmes, in order.
        fn programmes(&self, source: i64) -> Vec<(String, i64, String)> {
            self.store
                .run_blocking(|c| {
                    let mut stmt = c.prepare(
                        "SELECT xmltv_id, start, title FROM epg_programmes WHERE source_id = ?1
                         ORDER BY xmltv_id, start, title",
                    )?;
                    let rows =
                        stmt.query_map([source], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
                    Ok(rows.collect::<Result<_, _>>()?)
                })
                .unwrap()
        }

        /// `(source_id, xmltv_id, matched_by)` of a channel's guide, if mapped.
        fn guide_of(&self, channel: i64) -> Option<(i64, String, String)> {
            self.store
                .run_blocking(|c| {
                    use rusqlite::OptionalExtension;
                    Ok(c.query_row(
                        "SELECT source_id, xmltv_id, matched_by FROM channel_guide
                         WHERE channel_id = ?1",
                        [channel],
                        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
                    )
                    .optional()?)
                })
                .unwrap()
        }
    }

    fn gzip(bytes: &[u8]) -> Vec<u8> {
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        gz.write_all(bytes).unwrap();
        gz.finish().unwrap()
    }

    fn xz(bytes: &[u8]) -> Vec<u8> {
        let mut xz = liblzma::write::XzEncoder::new(Vec::new(), 6);
        xz.write_all(bytes).unwrap();
        xz.finish().unwrap()
    }

    /// A feed of `channels` (declared first) and `programmes` `(channel, start, stop, title)`.
    fn feed(channels: &[&str], programmes: &[(&str, i64, i64, &str)]) -> Vec<u8> {
        let mut xml = String::from("<tv>\n");
        for c in channels {
            xml += &format!("<channel id=\"{c}\"><display-name>{c}</display-name></channel>\n");
        }
        for (c, start, stop, title) in programmes {
            xml += &format!(
                "<programme start=\"{}\" stop=\"{}\" channel=\"{c}\"><title>{title}</title></programme>\n",
                xmltv_time(*start),
                xmltv_time(*stop)
            );
        }
        xml += "</tv>\n";
        xml.into_bytes()
    }

    fn xmltv_time(epoch: i64) -> String {
        jiff::Timestamp::from_second(epoch)
            .unwrap()
            .strftime("%Y%m%d%H%M%S +0000")
            .to_string()
    }

    const FIXTURE_REPORT: ImportReport = ImportReport {
        channels: 2,
        programmes: 4,
        skipped: 0,
        duplicates: 0,
        outside_window: 0,
        undeclared: 0,
    };

    #[test]
    fn plain_gzip_and_xz_feeds_import_the_same_guide() {
        let db = Db::new();
        let (plain, gz, x) = (
            db.source("plain", 0),
            db.source("gz", 1),
            db.source("xz", 2),
        );
        assert_eq!(db.import(plain, GUIDE_A).unwrap(), FIXTURE_REPORT);
        assert_eq!(db.import(gz, &gzip(GUIDE_A)).unwrap(), FIXTURE_REPORT);
        assert_eq!(db.import(x, &xz(GUIDE_A)).unwrap(), FIXTURE_REPORT);
        assert_eq!(db.programmes(plain), db.programmes(gz));
        assert_eq!(db.programmes(plain), db.programmes(x));
        assert_eq!(
            db.count(
                "SELECT count(*) FROM epg_channels WHERE source_id = ?1",
                [x]
            ),
            2
        );
        // Only the first display name fits the one column.
        assert_eq!(
            db.count(
                "SELECT count(*) FROM epg_channels WHERE xmltv_id = 'sky.sport.it'
                 AND display_name = 'Sky Sport' AND icon = 'http://logos.example/sky.png'",
                []
            ),
            3
        );
        assert_eq!(
            db.count(
                "SELECT count(*) FROM epg_sources WHERE channels_found = 2 AND programmes_found = 4
                 AND last_error IS NULL AND last_success_at IS NOT NULL",
                []
            ),
            3
        );
    }

    #[test]
    fn a_malformed_feed_leaves_the_previous_guide_intact() {
        let db = Db::new();
        let a = db.source("a", 0);
        db.import(a, GUIDE_A).unwrap();
        let before = db.programmes(a);
        db.sql(
            "UPDATE epg_sources SET last_success_at = 42 WHERE id = ?1",
            [a],
        );

        let err = db.import(a, MALFORMED).unwrap_err();
        assert!(matches!(err, EpgError::Xml(_)), "{err}");
        assert_eq!(db.programmes(a), before);
        assert_eq!(
            db.count(
                "SELECT count(*) FROM epg_channels WHERE source_id = ?1",
                [a]
            ),
            2
        );
        assert_eq!(
            db.count("SELECT last_success_at FROM epg_sources WHERE id = ?1", [a]),
            42
        );

        // A download cut short is an error too, not a shorter guide.
        let big = feed(
            &["x"],
            &(0..2000)
                .map(|i| ("x", T + i * 60, T + i * 60 + 60, "filler"))
                .collect::<Vec<_>>(),
        );
        let mut cut = gzip(&big);
        cut.truncate(cut.len() * 2 / 3);
        assert!(matches!(db.import(a, &cut), Err(EpgError::Io(_))));
        // An HTML error page is not a guide.
        let html = b"<html><body>Service unavailable</body></html>";
        assert!(matches!(db.import(a, html), Err(EpgError::NotXmltv(_))));
        assert_eq!(db.programmes(a), before);

        db.store
            .run_blocking(|c| Ok(epg::record_failure(c, a, "boom")))
            .unwrap()
            .unwrap();
        assert_eq!(
            db.count(
                "SELECT count(*) FROM epg_sources WHERE last_error = 'boom'",
                []
            ),
            1
        );
    }

    #[test]
    fn only_programmes_overlapping_the_window_are_kept() {
        let db = Db::new();
        let a = db.source("a", 0);
        let report = db
            .import(
                a,
                &feed(
                    &["c"],
                    &[
                        ("c", T - 3 * DAY, T - 3 * DAY + 3600, "long ago"),
                        ("c", T - DAY - 3600, T - DAY, "ends as the window opens"),
                        ("c", T - DAY - 1800, T - DAY + 1800, "straddles the start"),
                        ("c", T, T + 3600, "now"),
                        ("c", T + DAY - 60, T + DAY + 3600, "straddles the end"),
                        ("c", T + DAY, T + DAY + 3600, "starts as the window closes"),
                        ("c", T + 30 * DAY, T + 30 * DAY + 60, "far future"),
                    ],
                ),
            )
            .unwrap();
        assert_eq!((report.programmes, report.outside_window), (3, 4));
        let titles: Vec<String> = db.programmes(a).into_iter().map(|p| p.2).collect();
        assert_eq!(titles, ["straddles the start", "now", "straddles the end"]);

        let w = Window::around(T, 1, 7);
        assert_eq!((w.from, w.to), (T - DAY, T + 7 * DAY));
    }

    #[test]
    fn duplicates_are_dropped() {
        let db = Db::new();
        let a = db.source("a", 0);
        let report = db
            .import(
                a,
                &feed(
                    &["c", "d"],
                    &[
                        ("c", T, T + 60, "News"),
                        ("c", T, T + 120, "News"),
                        ("c", T, T + 60, "Weather"),
                        ("d", T, T + 60, "News"),
                        ("c", T, T + 60, "News"),
                    ],
                ),
            )
            .unwrap();
        assert_eq!((report.programmes, report.duplicates), (3, 2));
        assert_eq!(
            db.programmes(a),
            [
                ("c".into(), T, "News".into()),
                ("c".into(), T, "Weather".into()),
                ("d".into(), T, "News".into())
            ]
        );
    }

    #[test]
    fn only_declared_channels_keep_programmes_even_when_declared_last() {
        let db = Db::new();
        let a = db.source("a", 0);
        let xml = format!(
            "<tv>{}{}</tv>",
            r#"<programme start="20261124194500" stop="20261124204500" channel="late"><title>kept</title></programme>
               <programme start="20261124194500" stop="20261124204500" channel="ghost"><title>dropped</title></programme>"#,
            r#"<channel id="late"><display-name>Late</display-name></channel>"#
        );
        let report = db.import(a, xml.as_bytes()).unwrap();
        assert_eq!(
            (report.channels, report.programmes, report.undeclared),
            (1, 1, 1)
        );
        assert_eq!(db.programmes(a), [("late".into(), T, "kept".into())]);
        assert_eq!(
            db.count(
                "SELECT programmes_found FROM epg_sources WHERE id = ?1",
                [a]
            ),
            1
        );
    }

    #[test]
    fn a_reimport_replaces_only_its_own_source() {
        let db = Db::new();
        let (a, b) = (db.source("a", 0), db.source("b", 1));
        db.import(a, GUIDE_A).unwrap();
        db.import(b, GUIDE_A).unwrap();
        let b_before = db.programmes(b);

        db.import(
            a,
            &feed(&["sky.sport.it"], &[("sky.sport.it", T, T + 60, "Only")]),
        )
        .unwrap();
        assert_eq!(
            db.programmes(a),
            [("sky.sport.it".into(), T, "Only".into())]
        );
        assert_eq!(
            db.count(
                "SELECT count(*) FROM epg_channels WHERE source_id = ?1",
                [a]
            ),
            1
        );
        assert_eq!(db.programmes(b), b_before);
        assert_eq!(
            db.count(
                "SELECT count(*) FROM epg_channels WHERE source_id = ?1",
                [b]
            ),
            2
        );
    }

    #[test]
    fn importing_into_an_unknown_source_fails() {
        let db = Db::new();
        assert!(matches!(
            db.import(99, GUIDE_A),
            Err(EpgError::Store(acextream_core::StoreError::NotFound(_)))
        ));
    }

    #[test]
    fn each_mapping_pass_matches() {
        let db = Db::new();
        let a = db.source("a", 0);
        db.import(a, GUIDE_A).unwrap();
        let exact = db.channel("Sky Sport", "sky.sport.it");
        let loose = db.channel("Whatever", "RAI-1.IT");
        let by_name = db.channel("RAI 1", "");
        let none = db.channel("Unknown", "unknown.it");
        let disabled = db.channel("Disabled", "sky.sport.it");
        db.sql("UPDATE channels SET enabled = 0 WHERE id = ?1", [disabled]);

        let report = db.remap(true);
        assert_eq!(
            (
                report.mapped,
                report.by_tvg_id,
                report.by_normalized,
                report.by_display_name
            ),
            (3, 1, 1, 1)
        );
        assert_eq!(report.unmapped, [(none, "Unknown".to_string())]);
        let guide = |id| db.guide_of(id).map(|g| (g.1, g.2));
        assert_eq!(guide(exact), Some(("sky.sport.it".into(), "tvg_id".into())));
        assert_eq!(guide(loose), Some(("Rai1.it".into(), "normalized".into())));
        assert_eq!(
            guide(by_name),
            Some(("Rai1.it".into(), "display_name".into()))
        );
        assert_eq!(guide(none), None);
        assert_eq!(guide(disabled), None);

        // Display names only when asked; a remap replaces the old mapping.
        let report = db.remap(false);
        assert_eq!((report.mapped, report.by_display_name), (2, 0));
        assert_eq!(guide(by_name), None);
        let without = db
            .store
            .run_blocking(|c| Ok(channels_without_guide(c)))
            .unwrap()
            .unwrap();
        assert_eq!(
            without,
            [
                (by_name, "RAI 1".to_string()),
                (none, "Unknown".to_string())
            ]
        );
    }

    #[test]
    fn the_higher_priority_source_wins_and_exact_beats_loose() {
        let db = Db::new();
        // Created first but lower priority (a higher number).
        let low = db.source("low", 5);
        let high = db.source("high", 0);
        let sky = |title: &str| feed(&["sky.sport.it"], &[("sky.sport.it", T, T + 60, title)]);
        db.import(low, &sky("from low")).unwrap();
        db.import(high, &sky("from high")).unwrap();
        let ch = db.channel("Sky Sport", "sky.sport.it");
        db.remap(false);
        assert_eq!(db.guide_of(ch).map(|g| g.0), Some(high));

        // Priorities change, the mapping follows.
        db.sql("UPDATE epg_sources SET priority = 9 WHERE id = ?1", [high]);
        db.remap(false);
        assert_eq!(db.guide_of(ch).map(|g| g.0), Some(low));

        // A disabled source is never used.
        db.sql("UPDATE epg_sources SET enabled = 0 WHERE id = ?1", [low]);
        db.remap(false);
        assert_eq!(db.guide_of(ch).map(|g| g.0), Some(high));
        db.sql(
            "UPDATE epg_sources SET enabled = 1, priority = 0 WHERE id = ?1",
            [low],
        );

        // An exact id in a lower-priority source beats a normalised one in a higher.
        let loose = db.source("loose", -1);
        db.import(
            loose,
            &feed(&["SKY-SPORT-IT"], &[("SKY-SPORT-IT", T, T + 60, "loose")]),
        )
        .unwrap();
        db.remap(false);
        assert_eq!(
            db.guide_of(ch).map(|g| (g.0, g.2)),
            Some((low, "tvg_id".into()))
        );

        // Ties on priority go to the older source.
        db.sql("UPDATE epg_sources SET priority = 0 WHERE id = ?1", [high]);
        db.remap(false);
        assert_eq!(db.guide_of(ch).map(|g| g.0), Some(low));
    }

    #[test]
    fn a_declared_channel_without_programmes_does_not_hide_another_sources_guide() {
        let db = Db::new();
        let high = db.source("high", 0);
        let low = db.source("low", 1);
        db.import(high, &feed(&["sky.sport.it"], &[])).unwrap();
        db.import(
            low,
            &feed(&["sky.sport.it"], &[("sky.sport.it", T, T + 60, "x")]),
        )
        .unwrap();
        let ch = db.channel("Sky Sport", "sky.sport.it");
        db.remap(false);
        assert_eq!(db.guide_of(ch).map(|g| g.0), Some(low));
        // With no programmes anywhere it still maps, to the preferred source.
        db.import(low, &feed(&["sky.sport.it"], &[])).unwrap();
        db.remap(false);
        assert_eq!(db.guide_of(ch).map(|g| g.0), Some(high));
    }

    #[test]
    fn a_channel_reads_its_programmes_by_start() {
        let db = Db::new();
        let a = db.source("a", 0);
        db.import(a, GUIDE_A).unwrap();
        let sky = db.channel("Sky Sport", "sky.sport.it");
        let rai = db.channel("Rai", "Rai1.it");
        let lost = db.channel("Lost", "");
        db.remap(false);

        let read = |ch, from, to, limit| {
            db.store
                .run_blocking(|c| Ok(programmes_for_channel(c, ch, from, to, limit)))
                .unwrap()
                .unwrap()
        };
        let all: Vec<StoredProgramme> = read(rai, i64::MIN, i64::MAX, None);
        assert_eq!(
            all.iter()
                .map(|p| (p.start, p.stop, p.title.as_str()))
                .collect::<Vec<_>>(),
            [
                (T - 2700, T + 900, "TG1"),
                (T + 900, T + 2700, "Soliti Ignoti")
            ]
        );
        // Now and next: what is on at T (started before) first.
        let now_next = read(sky, T + 60, i64::MAX, Some(1));
        assert_eq!(now_next.len(), 1);
        let p = &now_next[0];
        assert_eq!((p.title.as_str(), p.lang.as_str()), ("Inter & Milan", "it"));
        assert_eq!((p.source_id, p.xmltv_id.as_str()), (a, "sky.sport.it"));
        assert_eq!(p.category, "Sport");
        assert!(p.description.contains("<in diretta>"));
        assert_eq!(read(sky, T + 7200, T + 7201, None)[0].title, "Highlights");
        assert!(read(lost, i64::MIN, i64::MAX, None).is_empty());
    }

    #[test]
    fn every_mapped_programme_is_visited_in_order() {
        let db = Db::new();
        let a = db.source("a", 0);
        db.import(a, GUIDE_A).unwrap();
        let sky = db.channel("Sky Sport", "sky.sport.it");
        let rai = db.channel("Rai", "Rai1.it");
        let twin = db.channel("Sky Sport again", "sky.sport.it");
        db.channel("Unmapped", "");
        db.remap(false);
        db.sql("UPDATE channels SET enabled = 0 WHERE id = ?1", [twin]);

        let mut seen = Vec::new();
        db.store
            .run_blocking(|c| {
                Ok(for_each_programme_of_mapped_channels(
                    c,
                    T - 3600,
                    T + DAY,
                    |ch, p| {
                        seen.push((ch, p.start, p.title.clone()));
                        Ok(())
                    },
                ))
            })
            .unwrap()
            .unwrap();
        assert_eq!(
            seen,
            [
                (sky, T, "Inter & Milan".to_string()),
                (sky, T + 7200, "Highlights".to_string()),
                (rai, T - 2700, "TG1".to_string()),
                (rai, T + 900, "Soliti Ignoti".to_string()),
            ]
        );

        // An error from the callback stops the walk.
        let mut calls = 0;
        let result = db
            .store
            .run_blocking(|c| {
                Ok(for_each_programme_of_mapped_channels(
                    c,
                    i64::MIN,
                    i64::MAX,
                    |_, _| {
                        calls += 1;
                        Err(EpgError::Xml("stop".into()))
                    },
                ))
            })
            .unwrap();
        assert!(result.is_err());
        assert_eq!(calls, 1);
    }
}
