//! Channels with several links: how a refresh groups a source's entries into
//! channels, keeps channel ids across refreshes, and what admins' links and order
//! survive; the play order with cool-down; the health record.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a panic here is a failed test

use acextream_core::Store;
use acextream_core::catalogue::refresh;
use acextream_core::engine::ContentKey;
use acextream_core::sources::{Entry, StreamRef};
use acextream_core::store::channels::{self, Channel, NewChannel};
use acextream_core::store::{StoreError, links};
use rusqlite::Connection;

struct Db {
    _dir: tempfile::TempDir,
    store: Store,
}

impl Db {
    fn new() -> Db {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("t.db")).unwrap();
        store
            .run_blocking(|c| {
                c.execute_batch(
                    "INSERT INTO sources (id, name, url, created_at) VALUES
                     (1, 'one', 'http://one', 0), (2, 'two', 'http://two', 0);",
                )?;
                Ok(())
            })
            .unwrap();
        Db { _dir: dir, store }
    }

    fn with<T>(&self, f: impl FnOnce(&mut Connection) -> Result<T, StoreError>) -> T {
        self.store.run_blocking(f).unwrap()
    }

    fn refresh(&self, source: i64, entries: &[Entry]) -> refresh::RefreshReport {
        self.with(|c| refresh::apply(c, source, entries, 0))
    }

    fn channels(&self) -> Vec<Channel> {
        self.with(|c| {
            channels::list(
                c,
                &channels::ChannelFilter {
                    limit: Some(1000),
                    ..Default::default()
                },
            )
        })
        .channels
    }

    fn channel_of(&self, n: u8) -> Channel {
        self.with(|c| channels::by_stream(c, &cid(n)))
            .unwrap_or_else(|| panic!("no channel plays {n}"))
    }

    /// The channel's links as the numbers `cid` was given.
    fn link_numbers(&self, channel_id: i64) -> Vec<u8> {
        self.with(|c| links::for_channel(c, channel_id))
            .iter()
            .map(|l| number_of(&l.stream))
            .collect()
    }
}

/// Content id number `n` (40 hex digits).
fn cid(n: u8) -> StreamRef {
    StreamRef::Ace {
        key: ContentKey::ContentId(format!("{n:02x}").repeat(20)),
    }
}

fn number_of(s: &StreamRef) -> u8 {
    match s {
        StreamRef::Ace {
            key: ContentKey::ContentId(id),
        } => u8::from_str_radix(&id[..2], 16).unwrap(),
        other => panic!("not a test id: {other:?}"),
    }
}

fn entry(name: &str, n: u8, tvg: Option<&str>, group: Option<&str>) -> Entry {
    Entry {
        name: name.into(),
        stream: cid(n),
        group: group.map(str::to_owned),
        logo: None,
        tvg_id: tvg.map(str::to_owned),
        chno: None,
    }
}

#[test]
fn entries_with_one_tvg_id_become_one_channel_with_links_in_playlist_order() {
    let db = Db::new();
    let report = db.refresh(
        1,
        &[
            entry("Sport 1", 3, Some("sport1"), Some("Sport")),
            entry("News", 9, Some("news"), None),
            entry("Sport 1 backup", 1, Some("sport1"), Some("Sport")),
            entry("Sport One", 2, Some("sport1"), None),
        ],
    );
    assert_eq!((report.found, report.links, report.new), (2, 4, 2));
    let all = db.channels();
    assert_eq!(all.len(), 2);
    let sport = db.channel_of(1);
    assert_eq!(sport.name, "Sport 1", "the first entry names the channel");
    assert_eq!(sport.links, 3);
    assert_eq!(db.link_numbers(sport.id), [3, 1, 2]);
    assert_eq!(
        sport.stream(),
        Some(cid(3)),
        "the first link is the primary"
    );
    assert_eq!(db.link_numbers(db.channel_of(9).id), [9]);
}

#[test]
fn without_tvg_id_the_same_normalised_name_in_the_same_group_is_one_channel() {
    let db = Db::new();
    db.refresh(
        1,
        &[
            entry("BBC One", 1, None, Some("UK")),
            entry("bbc-one ", 2, None, Some("UK")),
            entry("BBC.ONE", 3, None, Some("UK")),
            // Another group: another channel.
            entry("BBC One", 4, None, Some("Backup")),
            // A quality suffix makes another name.
            entry("BBC One HD", 5, None, Some("UK")),
        ],
    );
    assert_eq!(db.channels().len(), 3);
    let one = db.channel_of(1);
    assert_eq!(db.link_numbers(one.id), [1, 2, 3]);
    assert_ne!(db.channel_of(4).id, one.id, "different groups stay apart");
    assert_ne!(db.channel_of(5).id, one.id);
    assert_eq!(refresh::normalise_name("  BBC--One!! "), "bbc one");
}

#[test]
fn links_of_several_sources_merge_into_the_channel_with_their_tvg_id() {
    let db = Db::new();
    db.refresh(1, &[entry("Sport", 1, Some("sport"), None)]);
    let sport = db.channel_of(1);
    db.refresh(
        2,
        &[
            entry("Sport (two)", 7, Some("sport"), None),
            entry("Sport (two) b", 8, Some("sport"), None),
        ],
    );
    assert_eq!(db.channels().len(), 1);
    assert_eq!(
        db.link_numbers(sport.id),
        [1, 7, 8],
        "appended after the first source's"
    );
    let links = db.with(|c| links::for_channel(c, sport.id));
    assert_eq!(links[0].sources, [1]);
    assert_eq!(links[1].sources, [2]);
    // Source one refreshes again: the other source's links keep their places.
    db.refresh(
        1,
        &[
            entry("Sport", 4, Some("sport"), None),
            entry("Sport", 1, Some("sport"), None),
        ],
    );
    assert_eq!(db.link_numbers(sport.id), [1, 7, 8, 4]);
    // Either source alone carries the channel.
    let carried = |source| {
        db.with(|c| {
            channels::list(
                c,
                &channels::ChannelFilter {
                    source_id: Some(source),
                    ..Default::default()
                },
            )
        })
        .total
    };
    assert_eq!((carried(1), carried(2)), (1, 1));
}

#[test]
fn a_refresh_that_reorders_links_keeps_channel_ids_and_follows_the_playlist() {
    let db = Db::new();
    db.refresh(
        1,
        &[
            entry("A", 1, Some("a"), None),
            entry("A", 2, Some("a"), None),
            entry("B", 3, Some("b"), None),
        ],
    );
    let (a, b) = (db.channel_of(1).id, db.channel_of(3).id);
    let report = db.refresh(
        1,
        &[
            entry("B", 3, Some("b"), None),
            entry("A", 2, Some("a"), None),
            entry("A", 1, Some("a"), None),
        ],
    );
    assert_eq!(report.new, 0);
    assert_eq!((db.channel_of(1).id, db.channel_of(3).id), (a, b));
    assert_eq!(db.link_numbers(a), [2, 1], "the playlist's new order");
    // Every link replaced but the guide id kept: still the same channel.
    db.refresh(
        1,
        &[
            entry("A", 5, Some("a"), None),
            entry("B", 3, Some("b"), None),
        ],
    );
    assert_eq!(db.channel_of(5).id, a);
    assert_eq!(db.link_numbers(a), [5]);
}

#[test]
fn a_link_that_vanishes_from_its_source_removes_only_that_link() {
    let db = Db::new();
    db.refresh(
        1,
        &[
            entry("A", 1, Some("a"), None),
            entry("A", 2, Some("a"), None),
        ],
    );
    let a = db.channel_of(1).id;
    let report = db.refresh(1, &[entry("A", 2, Some("a"), None)]);
    assert_eq!(report.gone, 0, "the channel is still listed");
    assert_eq!(db.link_numbers(a), [2]);
    assert!(db.with(|c| channels::by_stream(c, &cid(1))).is_none());
    assert!(db.with(|c| channels::get(c, a)).active);

    // Nothing left: inactive, never deleted.
    let report = db.refresh(1, &[]);
    assert_eq!(report.gone, 1);
    let gone = db.with(|c| channels::get(c, a));
    assert!(!gone.active);
    assert_eq!((gone.links, gone.content_id), (0, None));
    // Back with a new stream and the same guide id: the same id, active again.
    db.refresh(1, &[entry("A", 6, Some("a"), None)]);
    let back = db.channel_of(6);
    assert_eq!(back.id, a);
    assert!(back.active);
}

#[test]
fn a_source_regrouping_moves_its_links_to_the_new_channel() {
    let db = Db::new();
    db.refresh(
        1,
        &[
            entry("A", 1, Some("a"), None),
            entry("A", 2, Some("a"), None),
        ],
    );
    let a = db.channel_of(1).id;
    // Link 2 now belongs to another guide id.
    db.refresh(
        1,
        &[
            entry("A", 1, Some("a"), None),
            entry("C", 2, Some("c"), None),
        ],
    );
    assert_eq!(db.channel_of(1).id, a);
    let c = db.channel_of(2);
    assert_ne!(c.id, a);
    assert_eq!(c.name, "C");
    assert_eq!(db.link_numbers(a), [1]);
}

#[test]
fn an_admins_link_survives_refreshes_and_the_admins_order_is_kept() {
    let db = Db::new();
    db.refresh(
        1,
        &[
            entry("A", 1, Some("a"), None),
            entry("A", 2, Some("a"), None),
            entry("A", 3, Some("a"), None),
        ],
    );
    let a = db.channel_of(1).id;
    let manual = db.with(|c| links::add(c, a, &cid(9)));
    assert!(manual.manual);
    assert_eq!(db.link_numbers(a), [1, 2, 3, 9]);
    // Another channel cannot take a stream this one has.
    let err = db
        .store
        .run_blocking(|c| links::add(c, a, &cid(2)))
        .unwrap_err();
    assert!(matches!(err, StoreError::Conflict(_)), "{err}");

    // The admin's order: 9 first, then 3, 1, 2.
    let ids = |numbers: &[u8]| -> Vec<i64> {
        let all = db.with(|c| links::for_channel(c, a));
        numbers
            .iter()
            .map(|n| all.iter().find(|l| l.stream == cid(*n)).unwrap().id)
            .collect()
    };
    let order = ids(&[9, 3, 1, 2]);
    db.with(|c| links::reorder(c, a, &order));
    assert!(db.with(|c| channels::get(c, a)).overridden("links"));

    // A refresh in another order, dropping 3 and adding 4: the admin's order stays,
    // the new link is appended, and the manual one is kept though no source lists it.
    db.refresh(
        1,
        &[
            entry("A", 2, Some("a"), None),
            entry("A", 4, Some("a"), None),
            entry("A", 1, Some("a"), None),
        ],
    );
    assert_eq!(db.link_numbers(a), [9, 1, 2, 4]);
    db.refresh(1, &[]);
    assert_eq!(db.link_numbers(a), [9], "only the admin's link is left");
    assert!(
        db.with(|c| channels::get(c, a)).active,
        "it still has a link"
    );

    // Not a permutation: refused, nothing changed.
    for bad in [vec![], vec![order[0], order[0]], vec![order[0], 12345]] {
        let err = db
            .store
            .run_blocking(|c| links::reorder(c, a, &bad))
            .unwrap_err();
        assert!(matches!(err, StoreError::Invalid(_)), "{bad:?}: {err}");
    }
    assert_eq!(db.link_numbers(a), [9]);
}

#[test]
fn a_manual_link_listed_by_a_source_stays_on_the_admins_channel() {
    let db = Db::new();
    let mine = db.with(|c| {
        channels::add_manual(
            c,
            &NewChannel {
                name: "Mine".into(),
                stream: String::new(),
                category: None,
                logo: None,
                tvg_id: None,
                chno: None,
            },
            &[cid(1), cid(2)],
        )
    });
    assert_eq!(db.link_numbers(mine.id), [1, 2]);
    db.refresh(
        1,
        &[
            entry("Other", 3, Some("o"), None),
            entry("Other", 2, Some("o"), None),
        ],
    );
    assert_eq!(
        db.channel_of(2).id,
        mine.id,
        "the admin's link did not move"
    );
    assert_eq!(db.link_numbers(db.channel_of(3).id), [3]);
    // Removing the last links of a manual channel leaves it active.
    for l in db.with(|c| links::for_channel(c, mine.id)) {
        db.with(|c| links::remove(c, mine.id, l.id));
    }
    let after = db.with(|c| channels::get(c, mine.id));
    assert!(after.active && after.links == 0);
    // Another channel's link is not this channel's to remove.
    let other = db.channel_of(3);
    let link = db.with(|c| links::for_channel(c, other.id))[0].id;
    let err = db
        .store
        .run_blocking(|c| links::remove(c, mine.id, link))
        .unwrap_err();
    assert!(matches!(err, StoreError::NotFound(_)), "{err}");
}

#[test]
fn links_that_failed_recently_wait_behind_the_others_until_they_play() {
    let db = Db::new();
    db.refresh(
        1,
        &[
            entry("A", 1, Some("a"), None),
            entry("A", 2, Some("a"), None),
            entry("A", 3, Some("a"), None),
        ],
    );
    let a = db.channel_of(1).id;
    let now = 10_000;
    db.with(|c| {
        links::record_failure(c, &cid(2), "engine: failed to load content", now - 100)?;
        links::record_failure(c, &cid(1), &"x".repeat(1000), now - 50)?;
        links::record_failure(c, &cid(1), "again", now - 40)?;
        // Unknown streams are ignored.
        links::record_failure(c, &cid(77), "nobody", now)?;
        links::record_success(c, &cid(77), now)
    });
    let order = |now| -> Vec<(u8, bool)> {
        db.with(|c| links::play_order(c, a, now, 600))
            .iter()
            .map(|(l, cooling)| (number_of(&l.stream), *cooling))
            .collect()
    };
    assert_eq!(
        order(now),
        [(3, false), (2, true), (1, true)],
        "oldest failure first among those cooling"
    );
    // After the cool-down, the admin's order again.
    assert_eq!(order(now + 600), [(1, false), (2, false), (3, false)]);

    let one = db.with(|c| links::for_channel(c, a)).remove(0);
    assert_eq!(one.health.failures, 2);
    assert_eq!(one.health.last_error.as_deref(), Some("again"));
    db.with(|c| links::record_failure(c, &cid(3), &"é".repeat(1000), now));
    let three = db.with(|c| links::for_channel(c, a)).remove(2);
    assert_eq!(three.health.last_error.unwrap().chars().count(), 300);

    // A success ends the cool-down and the failure streak.
    db.with(|c| links::record_success(c, &cid(2), now - 10));
    assert_eq!(order(now), [(2, false), (1, true), (3, true)]);
    let two = db.with(|c| links::for_channel(c, a)).remove(1);
    assert_eq!(
        (two.health.failures, two.health.last_success_at),
        (0, Some(now - 10))
    );
}

#[test]
fn a_channel_is_online_when_any_of_its_links_is() {
    let db = Db::new();
    db.refresh(
        1,
        &[
            entry("A", 1, Some("a"), None),
            entry("A", 2, Some("a"), None),
        ],
    );
    let a = db.channel_of(1).id;
    let ids: Vec<i64> = db
        .with(|c| links::for_channel(c, a))
        .iter()
        .map(|l| l.id)
        .collect();
    assert_eq!(db.with(|c| channels::get(c, a)).online, None);
    db.with(|c| links::set_online(c, ids[0], false));
    assert_eq!(db.with(|c| channels::get(c, a)).online, Some(false));
    db.with(|c| links::set_online(c, ids[1], true));
    let ch = db.with(|c| channels::get(c, a));
    assert_eq!(ch.online, Some(true));
    assert!(ch.checked_at.is_some());
    // The online link vanishes: the channel follows the one left.
    db.refresh(1, &[entry("A", 1, Some("a"), None)]);
    assert_eq!(db.with(|c| channels::get(c, a)).online, Some(false));
}

#[test]
fn ten_thousand_entries_apply_and_reapply() {
    let db = Db::new();
    // 5,000 channels of two links each; ids as 40-hex strings of their index.
    let entries: Vec<Entry> = (0..10_000u32)
        .map(|i| Entry {
            name: format!("Channel {}", i / 2),
            stream: StreamRef::Ace {
                key: ContentKey::ContentId(format!("{i:040x}")),
            },
            group: Some("G".into()),
            logo: None,
            tvg_id: Some(format!("ch{}", i / 2)),
            chno: None,
        })
        .collect();
    let first = db.refresh(1, &entries);
    assert_eq!(
        (first.found, first.links, first.new),
        (5_000, 10_000, 5_000)
    );
    let mut reversed = entries.clone();
    reversed.reverse();
    let again = db.refresh(1, &reversed);
    assert_eq!((again.found, again.new, again.gone), (5_000, 0, 0));
    let total = db
        .with(|c| channels::list(c, &channels::ChannelFilter::default()))
        .total;
    assert_eq!(total, 5_000);
}
