//! The `channel_links` table: the ordered streams that can play a channel, each with
//! its health (playback successes and failures, the availability check's result).
//!
//! One stream belongs to one channel (UNIQUE columns). The first link by position
//! is the channel's primary; a player is handed the links in [`play_order`]: links
//! that failed recently wait behind the others for a cool-down. A channel's
//! `online` is kept equal to "any of its links online", and its `channel_sources`
//! to the sources listing any of its links ([`sync_channel`]).

use rusqlite::{Connection, OptionalExtension, Row, params};
use serde::Serialize;

use super::channels::{self, LINKS_ORDERED, MANUAL, stream_column};
use super::{StoreError, StoreResult, immediate, now_epoch};
use crate::engine::ContentKey;
use crate::sources::StreamRef;

/// Longest failure reason kept, in characters.
const MAX_REASON_CHARS: usize = 300;

/// One link of a channel.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Link {
    /// Row id.
    pub id: i64,
    /// The channel it plays.
    pub channel_id: i64,
    /// Place in the channel's order (lowest first; gaps allowed).
    pub position: i64,
    /// What it plays.
    pub stream: StreamRef,
    /// Added by an admin: refreshes never delete or move it.
    pub manual: bool,
    /// Sources listing it, by id.
    pub sources: Vec<i64>,
    /// How it has been doing.
    pub health: LinkHealth,
}

/// A link's health record.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct LinkHealth {
    /// Last time it played (epoch seconds).
    pub last_success_at: Option<i64>,
    /// Last time it failed.
    pub last_failure_at: Option<i64>,
    /// Why it last failed (at most 300 characters).
    pub last_error: Option<String>,
    /// Failures in a row since the last success.
    pub failures: i64,
    /// The availability check's result.
    pub online: Option<bool>,
    /// When it was last checked.
    pub checked_at: Option<i64>,
}

impl LinkHealth {
    /// Whether the link failed within `cooldown_secs` before `now` and has not
    /// played since.
    pub fn cooling(&self, now: i64, cooldown_secs: i64) -> bool {
        match self.last_failure_at {
            Some(failed) => {
                failed > now - cooldown_secs && self.last_success_at.is_none_or(|ok| ok < failed)
            }
            None => false,
        }
    }
}

const SELECT: &str = "SELECT l.id, l.channel_id, l.position, l.content_id, l.infohash, \
     l.direct_url, l.manual, (SELECT group_concat(source_id) FROM link_sources s \
     WHERE s.link_id = l.id), l.last_success_at, l.last_failure_at, l.last_error, l.failures, \
     l.online, l.checked_at FROM channel_links l";

fn from_row(r: &Row<'_>) -> rusqlite::Result<Link> {
    let content_id: Option<String> = r.get(3)?;
    let infohash: Option<String> = r.get(4)?;
    let direct_url: Option<String> = r.get(5)?;
    // The table's CHECK guarantees exactly one of the three.
    let stream = match (content_id, infohash, direct_url) {
        (Some(id), _, _) => StreamRef::Ace {
            key: ContentKey::ContentId(id),
        },
        (None, Some(ih), _) => StreamRef::Ace {
            key: ContentKey::Infohash(ih),
        },
        (None, None, url) => StreamRef::Direct {
            url: url.unwrap_or_default(),
        },
    };
    let sources: Option<String> = r.get(7)?;
    let mut sources: Vec<i64> = sources
        .unwrap_or_default()
        .split(',')
        .filter_map(|s| s.parse().ok())
        .collect();
    sources.sort_unstable();
    Ok(Link {
        id: r.get(0)?,
        channel_id: r.get(1)?,
        position: r.get(2)?,
        stream,
        manual: r.get(6)?,
        sources,
        health: LinkHealth {
            last_success_at: r.get(8)?,
            last_failure_at: r.get(9)?,
            last_error: r.get(10)?,
            failures: r.get(11)?,
            online: r.get(12)?,
            checked_at: r.get(13)?,
        },
    })
}

/// One link by id.
pub fn get(c: &Connection, link_id: i64) -> StoreResult<Link> {
    c.query_row(&format!("{SELECT} WHERE l.id = ?1"), [link_id], from_row)
        .optional()?
        .ok_or_else(|| StoreError::NotFound(format!("link {link_id}")))
}

/// The link playing `stream`, if any.
pub fn by_stream(c: &Connection, stream: &StreamRef) -> StoreResult<Option<Link>> {
    let (column, value) = stream_column(stream);
    Ok(c.query_row(
        &format!("{SELECT} WHERE l.{column} = ?1"),
        [value],
        from_row,
    )
    .optional()?)
}

/// A channel's links in the admin's order (by position).
pub fn for_channel(c: &Connection, channel_id: i64) -> StoreResult<Vec<Link>> {
    let mut st = c.prepare_cached(&format!(
        "{SELECT} WHERE l.channel_id = ?1 ORDER BY l.position, l.id"
    ))?;
    let rows = st.query_map([channel_id], from_row)?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// The links to try for channel `channel_id`, in order, each with whether it is in
/// cool-down: first those not in cool-down, by position; then those in cool-down
/// (failed within `cooldown_secs` before `now` and not played since), oldest
/// failure first, so a player still gets them when nothing else is left.
///
/// The availability check's result does not change the order: it is hours old at
/// worst and the playback record is what counts; an offline link that works is
/// simply not in cool-down.
pub fn play_order(
    c: &Connection,
    channel_id: i64,
    now: i64,
    cooldown_secs: i64,
) -> StoreResult<Vec<(Link, bool)>> {
    let (mut ready, mut cooling): (Vec<Link>, Vec<Link>) = for_channel(c, channel_id)?
        .into_iter()
        .partition(|l| !l.health.cooling(now, cooldown_secs));
    cooling.sort_by_key(|l| (l.health.last_failure_at, l.position, l.id));
    ready.sort_by_key(|l| (l.position, l.id));
    Ok(ready
        .into_iter()
        .map(|l| (l, false))
        .chain(cooling.into_iter().map(|l| (l, true)))
        .collect())
}

/// Inserts a link (no checks: the caller made sure the stream is free).
pub(crate) fn insert(
    c: &Connection,
    channel_id: i64,
    position: i64,
    stream: &StreamRef,
    manual: bool,
    now: i64,
) -> StoreResult<i64> {
    let (content_id, infohash, direct) = channels::split_stream(stream);
    let mut st = c.prepare_cached(
        "INSERT INTO channel_links (channel_id, position, content_id, infohash, direct_url, \
         manual, added_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?;
    st.execute(params![
        channel_id, position, content_id, infohash, direct, manual, now
    ])?;
    Ok(c.last_insert_rowid())
}

/// Brings channel `channel_id`'s summaries in step with its links: its sources
/// (those listing any link), `online` (any link online; unknown when none was
/// checked) and `checked_at`.
pub(crate) fn sync_channel(c: &Connection, channel_id: i64) -> StoreResult<()> {
    c.prepare_cached("DELETE FROM channel_sources WHERE channel_id = ?1")?
        .execute([channel_id])?;
    c.prepare_cached(
        "INSERT OR IGNORE INTO channel_sources (channel_id, source_id) \
         SELECT DISTINCT ?1, s.source_id FROM link_sources s \
         JOIN channel_links l ON l.id = s.link_id WHERE l.channel_id = ?1",
    )?
    .execute([channel_id])?;
    sync_online(c, channel_id)
}

fn sync_online(c: &Connection, channel_id: i64) -> StoreResult<()> {
    c.prepare_cached(
        "UPDATE channels SET \
         online = (SELECT max(online) FROM channel_links WHERE channel_id = ?1), \
         checked_at = (SELECT max(checked_at) FROM channel_links WHERE channel_id = ?1) \
         WHERE id = ?1",
    )?
    .execute([channel_id])?;
    Ok(())
}

/// The channel's row must exist; its overrides.
fn channel_overrides(c: &Connection, channel_id: i64) -> StoreResult<String> {
    c.query_row(
        "SELECT overrides FROM channels WHERE id = ?1",
        [channel_id],
        |r| r.get(0),
    )
    .optional()?
    .ok_or_else(|| StoreError::NotFound(format!("channel {channel_id}")))
}

/// Adds `stream` as the last link of channel `channel_id`, as an admin's (manual:
/// no refresh removes or moves it); the channel becomes active again if it was not.
/// `Conflict` if a channel (this one included) already has the stream.
pub fn add(c: &mut Connection, channel_id: i64, stream: &StreamRef) -> StoreResult<Link> {
    let tx = immediate(c)?;
    channel_overrides(&tx, channel_id)?;
    if let Some(owner) = channels::by_stream(&tx, stream)? {
        return Err(StoreError::Conflict(if owner.id == channel_id {
            "the channel already has this link".to_owned()
        } else {
            format!(
                "channel {} ({}) already plays this stream",
                owner.id, owner.name
            )
        }));
    }
    let next: i64 = tx.query_row(
        "SELECT coalesce(max(position) + 1, 0) FROM channel_links WHERE channel_id = ?1",
        [channel_id],
        |r| r.get(0),
    )?;
    let now = now_epoch();
    let id = insert(&tx, channel_id, next, stream, true, now)?;
    tx.execute(
        "UPDATE channels SET active = 1, updated_at = ?2 WHERE id = ?1",
        params![channel_id, now],
    )?;
    sync_channel(&tx, channel_id)?;
    let link = get(&tx, id)?;
    tx.commit()?;
    Ok(link)
}

/// Removes link `link_id` of channel `channel_id` (`NotFound` if it is not one of
/// its links). Removing the last link is allowed: the channel then becomes
/// inactive, unless an admin added it (a manual channel stays, with nothing to
/// play, until it gets a link). A link a source lists comes back at that source's
/// next refresh: disable the channel, or the source, to hide it for good.
pub fn remove(c: &mut Connection, channel_id: i64, link_id: i64) -> StoreResult<()> {
    let tx = immediate(c)?;
    let overrides = channel_overrides(&tx, channel_id)?;
    let gone = tx.execute(
        "DELETE FROM channel_links WHERE id = ?1 AND channel_id = ?2",
        params![link_id, channel_id],
    )?;
    if gone == 0 {
        return Err(StoreError::NotFound(format!(
            "link {link_id} of channel {channel_id}"
        )));
    }
    sync_channel(&tx, channel_id)?;
    let manual = overrides.split(',').any(|o| o == MANUAL);
    tx.execute(
        "UPDATE channels SET updated_at = ?2, active = CASE WHEN ?3 OR EXISTS \
         (SELECT 1 FROM channel_links WHERE channel_id = ?1) THEN active ELSE 0 END \
         WHERE id = ?1",
        params![channel_id, now_epoch(), manual],
    )?;
    tx.commit()?;
    Ok(())
}

/// Puts channel `channel_id`'s links in the order of `link_ids`, which must name
/// each of its links exactly once (`Invalid` otherwise). The channel is marked
/// [`LINKS_ORDERED`]: refreshes then keep this order and only append new links.
pub fn reorder(c: &mut Connection, channel_id: i64, link_ids: &[i64]) -> StoreResult<Vec<Link>> {
    let tx = immediate(c)?;
    let overrides = channel_overrides(&tx, channel_id)?;
    let mut current: Vec<i64> = for_channel(&tx, channel_id)?
        .into_iter()
        .map(|l| l.id)
        .collect();
    let mut given = link_ids.to_vec();
    current.sort_unstable();
    given.sort_unstable();
    if current != given {
        return Err(StoreError::Invalid(format!(
            "order must list each of the channel's {} links exactly once",
            current.len()
        )));
    }
    for (position, id) in link_ids.iter().enumerate() {
        tx.execute(
            "UPDATE channel_links SET position = ?2 WHERE id = ?1",
            params![id, position as i64],
        )?;
    }
    let mut marks: Vec<&str> = overrides.split(',').filter(|o| !o.is_empty()).collect();
    if !marks.contains(&LINKS_ORDERED) {
        marks.push(LINKS_ORDERED);
    }
    tx.execute(
        "UPDATE channels SET overrides = ?2, updated_at = ?3 WHERE id = ?1",
        params![channel_id, marks.join(","), now_epoch()],
    )?;
    let links = for_channel(&tx, channel_id)?;
    tx.commit()?;
    Ok(links)
}

/// Records that `stream` played at `at`: its failures in a row start again from 0.
/// A stream no link has is ignored.
pub fn record_success(c: &Connection, stream: &StreamRef, at: i64) -> StoreResult<()> {
    let (column, value) = stream_column(stream);
    c.prepare_cached(&format!(
        "UPDATE channel_links SET last_success_at = ?2, failures = 0 WHERE {column} = ?1"
    ))?
    .execute(params![value, at])?;
    Ok(())
}

/// Records that `stream` failed at `at` because of `reason` (kept to 300
/// characters). A stream no link has is ignored.
pub fn record_failure(
    c: &Connection,
    stream: &StreamRef,
    reason: &str,
    at: i64,
) -> StoreResult<()> {
    let (column, value) = stream_column(stream);
    let reason: String = reason.chars().take(MAX_REASON_CHARS).collect();
    c.prepare_cached(&format!(
        "UPDATE channel_links SET last_failure_at = ?2, last_error = ?3, \
         failures = failures + 1 WHERE {column} = ?1"
    ))?
    .execute(params![value, at, reason])?;
    Ok(())
}

/// Records the availability check of link `link_id`, and its channel's `online`
/// (any link online).
pub fn set_online(c: &Connection, link_id: i64, online: bool) -> StoreResult<()> {
    let channel_id: Option<i64> = c
        .query_row(
            "UPDATE channel_links SET online = ?2, checked_at = ?3 WHERE id = ?1 \
             RETURNING channel_id",
            params![link_id, online, now_epoch()],
            |r| r.get(0),
        )
        .optional()?;
    match channel_id {
        Some(id) => sync_online(c, id),
        None => Ok(()),
    }
}

/// Makes `stream` what channel `channel_id` plays first (the legacy API's "change
/// the channel's stream"): its first link is pointed at `stream`, or one is added
/// when it has none. The link becomes the admin's (manual) and its health starts
/// afresh. `Conflict` if another channel has the stream; `NotFound` without the
/// channel. Runs in the caller's transaction.
pub fn set_primary(c: &Connection, channel_id: i64, stream: &StreamRef) -> StoreResult<()> {
    channel_overrides(c, channel_id)?;
    let existing = by_stream(c, stream)?;
    if let Some(link) = &existing
        && link.channel_id != channel_id
    {
        let name: String = c.query_row(
            "SELECT name FROM channels WHERE id = ?1",
            [link.channel_id],
            |r| r.get(0),
        )?;
        return Err(StoreError::Conflict(format!(
            "channel {} ({name}) already plays this stream",
            link.channel_id
        )));
    }
    let first = for_channel(c, channel_id)?.into_iter().next();
    match (first, existing) {
        // Already its first link: nothing to change.
        (Some(first), Some(link)) if first.id == link.id => {}
        // Another of its links: that one moves to the front.
        (_, Some(link)) => {
            c.execute(
                "UPDATE channel_links SET position = (SELECT min(position) - 1 FROM \
                 channel_links WHERE channel_id = ?2), manual = 1 WHERE id = ?1",
                params![link.id, channel_id],
            )?;
        }
        (Some(first), None) => {
            let (content_id, infohash, direct) = channels::split_stream(stream);
            c.execute(
                "UPDATE channel_links SET content_id = ?2, infohash = ?3, direct_url = ?4, \
                 manual = 1, last_success_at = NULL, last_failure_at = NULL, last_error = NULL, \
                 failures = 0, online = NULL, checked_at = NULL WHERE id = ?1",
                params![first.id, content_id, infohash, direct],
            )?;
            c.execute("DELETE FROM link_sources WHERE link_id = ?1", [first.id])?;
        }
        (None, None) => {
            insert(c, channel_id, 0, stream, true, now_epoch())?;
        }
    }
    c.execute(
        "UPDATE channels SET active = 1, updated_at = ?2 WHERE id = ?1",
        params![channel_id, now_epoch()],
    )?;
    sync_channel(c, channel_id)
}
