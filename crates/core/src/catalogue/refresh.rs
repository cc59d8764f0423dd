//! Applies a source's freshly parsed list to the catalogue, in one transaction.
//!
//! A channel is a group of links. Entries of one source with the same non-empty
//! `tvg-id` — or, without one, the same normalised name ([`normalise_name`]: case,
//! whitespace and punctuation ignored; quality suffixes such as "HD" are kept, since
//! "Sport HD" and "Sport SD" are often different feeds) in the same group — are one
//! channel whose links are the entries' streams in playlist order.
//!
//! Each group lands on an existing channel when it can, so that `stream_id`s stay
//! stable: the channel already owning one of its non-manual links (the first in
//! playlist order), else a channel with the same guide id (so several sources merge), else,
//! without a guide id, a channel this source carries (or a link-less inactive one)
//! with the same normalised name and group; else a new channel. A non-manual link
//! this source lists is moved to its group's channel (the source defines the
//! grouping); a manual link stays where the admin put it.
//!
//! Order: unless the admin ordered the channel's links ([`LINKS_ORDERED`]), this
//! source's links take the position slots they held before, in playlist order, and
//! new ones are appended, so other sources' links keep their places; with the
//! admin's order, existing links stay put and new ones are appended.
//!
//! A link this source no longer lists loses the source; a non-manual link no source
//! lists is deleted (that link only). A channel left without links is marked
//! inactive, never deleted (its id is a player's `stream_id`, and the admin's edits
//! survive its return). Names, logos, groups, guide ids and numbers follow the
//! source unless the admin overrode them. A failure anywhere rolls the whole
//! refresh back.
//!
//! The transaction is a writer's from its start ([`immediate`]), since it reads the
//! channels it then updates. It is one transaction, not batches, because a list is
//! applied as a whole; it stays short (every stream and guide id is looked up
//! through an index, statements are prepared once), so other writers wait for it
//! well within their busy timeout.

use std::collections::{HashMap, HashSet};

use rusqlite::{Connection, OptionalExtension, params};
use serde::Serialize;

use crate::sources::{Entry, StreamRef};
use crate::store::channels::{self, Channel, LINKS_ORDERED, MANUAL, stream_column};
use crate::store::links;
use crate::store::{StoreResult, immediate, now_epoch};

/// What one refresh changed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct RefreshReport {
    /// Distinct channels the source lists (groups of entries).
    pub found: usize,
    /// Distinct links (streams) the source lists.
    pub links: usize,
    /// Channels that did not exist before.
    pub new: usize,
    /// Existing channels whose fields or links changed.
    pub updated: usize,
    /// Channels this source no longer lists (inactive if left without links).
    pub gone: usize,
    /// Lines or items the parser could not use.
    pub skipped: usize,
}

/// A name as grouping compares it: lower case, every run of characters that are
/// not letters or digits one space, trimmed ("BBC One", "bbc-one " and "BBC.ONE"
/// are the same; "BBC One HD" is not).
pub fn normalise_name(name: &str) -> String {
    let words: Vec<String> = name
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect();
    if words.is_empty() {
        name.trim().to_lowercase()
    } else {
        words.join(" ")
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum GroupKey {
    Tvg(String),
    Name(String, String),
}

/// One channel as this source lists it: its entries (distinct streams) in order.
struct Group<'e> {
    key: GroupKey,
    entries: Vec<&'e Entry>,
}

fn trimmed(v: Option<&str>) -> &str {
    v.map(str::trim).unwrap_or("")
}

/// Groups `entries` by guide id, else by normalised name and group, in order of
/// first appearance. The first listing of a stream wins; later duplicates are
/// ignored.
fn group_entries(entries: &[Entry]) -> Vec<Group<'_>> {
    let mut seen: HashSet<&StreamRef> = HashSet::new();
    let mut index: HashMap<GroupKey, usize> = HashMap::new();
    let mut groups: Vec<Group<'_>> = Vec::new();
    for entry in entries {
        if !seen.insert(&entry.stream) {
            continue;
        }
        let key = match trimmed(entry.tvg_id.as_deref()) {
            "" => GroupKey::Name(
                normalise_name(&entry.name),
                trimmed(entry.group.as_deref()).to_owned(),
            ),
            tvg => GroupKey::Tvg(tvg.to_owned()),
        };
        match index.get(&key) {
            Some(&i) => groups[i].entries.push(entry),
            None => {
                index.insert(key.clone(), groups.len());
                groups.push(Group {
                    key,
                    entries: vec![entry],
                });
            }
        }
    }
    groups
}

/// The fields a group gives its channel: its first entry's, with a logo, group
/// and number taken from a later entry when the first has none.
fn group_fields(group: &Group<'_>) -> Entry {
    let mut e = group.entries[0].clone();
    for later in &group.entries[1..] {
        if trimmed(e.logo.as_deref()).is_empty() {
            e.logo.clone_from(&later.logo);
        }
        if trimmed(e.group.as_deref()).is_empty() {
            e.group.clone_from(&later.group);
        }
        if e.chno.is_none() {
            e.chno = later.chno;
        }
    }
    e
}

/// A link as a refresh sees it.
#[derive(Debug, Clone, Copy)]
struct LinkRow {
    id: i64,
    channel_id: i64,
    manual: bool,
}

fn link_of(tx: &Connection, stream: &StreamRef) -> StoreResult<Option<LinkRow>> {
    let (column, value) = stream_column(stream);
    Ok(tx
        .prepare_cached(&format!(
            "SELECT id, channel_id, manual FROM channel_links WHERE {column} = ?1"
        ))?
        .query_row([value], |r| {
            Ok(LinkRow {
                id: r.get(0)?,
                channel_id: r.get(1)?,
                manual: r.get(2)?,
            })
        })
        .optional()?)
}

fn channels_of_source(tx: &Connection, source_id: i64) -> StoreResult<HashSet<i64>> {
    let mut st =
        tx.prepare_cached("SELECT channel_id FROM channel_sources WHERE source_id = ?1")?;
    let rows = st.query_map([source_id], |r| r.get(0))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Channels a group without guide id may land on, by normalised name and group:
/// those this source carries, else inactive ones left without links (so a channel
/// whose links all changed comes back under its old id).
fn name_index(tx: &Connection, source_id: i64) -> StoreResult<HashMap<(String, String), i64>> {
    let mut index = HashMap::new();
    let mut st = tx.prepare(&format!(
        "SELECT c.id, c.name, coalesce(k.name, ''), \
         c.id IN (SELECT channel_id FROM channel_sources WHERE source_id = ?1) AS carried \
         FROM channels c LEFT JOIN categories k ON k.id = c.category_id \
         WHERE carried OR (c.active = 0 AND ',' || c.overrides || ',' NOT LIKE '%,{MANUAL},%' \
         AND NOT EXISTS (SELECT 1 FROM channel_links l WHERE l.channel_id = c.id)) \
         ORDER BY carried, c.id DESC"
    ))?;
    let rows = st.query_map([source_id], |r| {
        Ok((
            r.get::<_, i64>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, String>(2)?,
        ))
    })?;
    // Later rows win: carried ones, and among equals the oldest channel.
    for row in rows {
        let (id, name, group) = row?;
        index.insert((normalise_name(&name), group.trim().to_owned()), id);
    }
    Ok(index)
}

/// The existing channel group `g` lands on, among those not `claimed` by an
/// earlier group of this refresh.
fn target_channel(
    tx: &Connection,
    key: &GroupKey,
    found: &[Option<LinkRow>],
    names: &HashMap<(String, String), i64>,
    claimed: &HashSet<i64>,
) -> StoreResult<Option<i64>> {
    // An admin's link says nothing about where the source's channel is.
    if let Some(id) = found
        .iter()
        .flatten()
        .filter(|l| !l.manual)
        .map(|l| l.channel_id)
        .find(|id| !claimed.contains(id))
    {
        return Ok(Some(id));
    }
    match key {
        GroupKey::Tvg(tvg) => {
            let mut st = tx.prepare_cached(
                "SELECT id FROM channels WHERE tvg_id = ?1 ORDER BY active DESC, id",
            )?;
            let rows = st.query_map([tvg], |r| r.get::<_, i64>(0))?;
            for id in rows {
                let id = id?;
                if !claimed.contains(&id) {
                    return Ok(Some(id));
                }
            }
            Ok(None)
        }
        GroupKey::Name(name, group) => Ok(names
            .get(&(name.clone(), group.clone()))
            .copied()
            .filter(|id| !claimed.contains(id))),
    }
}

/// Replaces what source `source_id` contributes with `entries`.
pub fn apply(
    conn: &mut Connection,
    source_id: i64,
    entries: &[Entry],
    skipped: usize,
) -> StoreResult<RefreshReport> {
    let tx = immediate(conn)?;
    let mut report = RefreshReport {
        skipped,
        ..RefreshReport::default()
    };
    let now = now_epoch();
    let groups = group_entries(entries);
    report.found = groups.len();
    let carried_before = channels_of_source(&tx, source_id)?;
    let names = name_index(&tx, source_id)?;
    // Channels given to a group of this refresh: no second group lands on them.
    let mut claimed: HashSet<i64> = HashSet::new();
    // Links this source lists now.
    let mut listed: HashSet<i64> = HashSet::new();
    // Channels whose links or sources changed: summaries to bring in step.
    let mut touched: HashSet<i64> = HashSet::new();

    for group in &groups {
        report.links += group.entries.len();
        let found: Vec<Option<LinkRow>> = group
            .entries
            .iter()
            .map(|e| link_of(&tx, &e.stream))
            .collect::<StoreResult<_>>()?;
        let fields = group_fields(group);
        let (channel, existing) = match target_channel(&tx, &group.key, &found, &names, &claimed)? {
            Some(id) => (channels::get(&tx, id)?, true),
            None => {
                report.new += 1;
                let id = insert(&tx, &fields, now)?;
                (channels::get(&tx, id)?, false)
            }
        };
        // A new channel has the group's fields already; an existing one follows them.
        let mut changed = existing && update_from_source(&tx, &channel, &fields, now)?;
        changed |= place_links(
            &tx,
            source_id,
            &channel,
            group,
            &found,
            now,
            &mut listed,
            &mut touched,
        )?;
        if existing && changed {
            report.updated += 1;
        }
        claimed.insert(channel.id);
    }

    // Links this source listed before and no longer does.
    let previously: Vec<(i64, i64, bool)> = {
        let mut st = tx.prepare(
            "SELECT l.id, l.channel_id, l.manual FROM link_sources s \
             JOIN channel_links l ON l.id = s.link_id WHERE s.source_id = ?1",
        )?;
        let rows = st.query_map([source_id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
        rows.collect::<Result<_, _>>()?
    };
    for (link_id, channel_id, manual) in previously {
        if listed.contains(&link_id) {
            continue;
        }
        tx.prepare_cached("DELETE FROM link_sources WHERE link_id = ?1 AND source_id = ?2")?
            .execute(params![link_id, source_id])?;
        if !manual {
            tx.prepare_cached(
                "DELETE FROM channel_links WHERE id = ?1 \
                 AND NOT EXISTS (SELECT 1 FROM link_sources WHERE link_id = ?1)",
            )?
            .execute([link_id])?;
        }
        touched.insert(channel_id);
    }
    for &id in &touched {
        links::sync_channel(&tx, id)?;
    }
    deactivate_linkless(&tx, now)?;
    let carried_after = channels_of_source(&tx, source_id)?;
    report.gone = carried_before.difference(&carried_after).count();
    tx.execute(
        "UPDATE sources SET last_success_at = ?2, last_error = NULL, channels_found = ?3, \
         channels_new = ?4, channels_updated = ?5, channels_gone = ?6 WHERE id = ?1",
        params![
            source_id,
            now,
            report.found as i64,
            report.new as i64,
            report.updated as i64,
            report.gone as i64
        ],
    )?;
    tx.commit()?;
    Ok(report)
}

/// Gives `group`'s links to `channel` (inserting new ones, moving non-manual ones
/// from other channels), records that this source lists them, and puts them in
/// order (see the module's documentation). Returns whether the channel's links
/// changed.
#[allow(clippy::too_many_arguments)]
fn place_links(
    tx: &Connection,
    source_id: i64,
    channel: &Channel,
    group: &Group<'_>,
    found: &[Option<LinkRow>],
    now: i64,
    listed: &mut HashSet<i64>,
    touched: &mut HashSet<i64>,
) -> StoreResult<bool> {
    let before: Vec<(i64, i64, bool)> = {
        let mut st = tx.prepare_cached(
            "SELECT id, position, manual FROM channel_links WHERE channel_id = ?1 \
             ORDER BY position, id",
        )?;
        let rows = st.query_map([channel.id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
        rows.collect::<Result<_, _>>()?
    };
    let positions: HashMap<i64, i64> = before.iter().map(|&(id, p, _)| (id, p)).collect();
    let mut next = before.iter().map(|&(_, p, _)| p + 1).max().unwrap_or(0);
    let mut changed = false;
    // This source's non-manual links of the channel that were already there (in
    // playlist order), and those that are new to it.
    let mut kept: Vec<i64> = Vec::new();
    let mut arrived = false;
    for (entry, link) in group.entries.iter().zip(found) {
        let id = match link {
            Some(l) if l.channel_id == channel.id => {
                if !l.manual {
                    kept.push(l.id);
                }
                l.id
            }
            // The admin put it there: it stays, still known as listed here.
            Some(l) if l.manual => {
                touched.insert(l.channel_id);
                l.id
            }
            Some(l) => {
                tx.prepare_cached(
                    "UPDATE channel_links SET channel_id = ?2, position = ?3 WHERE id = ?1",
                )?
                .execute(params![l.id, channel.id, next])?;
                next += 1;
                touched.insert(l.channel_id);
                arrived = true;
                l.id
            }
            None => {
                let id = links::insert(tx, channel.id, next, &entry.stream, false, now)?;
                next += 1;
                arrived = true;
                id
            }
        };
        listed.insert(id);
        let added = tx
            .prepare_cached(
                "INSERT OR IGNORE INTO link_sources (link_id, source_id) VALUES (?1, ?2)",
            )?
            .execute(params![id, source_id])?;
        if added > 0 {
            touched.insert(channel.id);
        }
    }
    if !channel.overridden(LINKS_ORDERED) {
        // The slots these links held, given out again in playlist order.
        let mut slots: Vec<i64> = kept
            .iter()
            .filter_map(|id| positions.get(id).copied())
            .collect();
        slots.sort_unstable();
        for (&id, &slot) in kept.iter().zip(&slots) {
            if positions.get(&id) != Some(&slot) {
                tx.prepare_cached("UPDATE channel_links SET position = ?2 WHERE id = ?1")?
                    .execute(params![id, slot])?;
                changed = true;
            }
        }
    }
    changed |= arrived;
    if changed {
        touched.insert(channel.id);
    }
    Ok(changed)
}

/// Channels with no link left that no admin added become inactive.
fn deactivate_linkless(tx: &Connection, now: i64) -> StoreResult<usize> {
    Ok(tx.execute(
        &format!(
            "UPDATE channels SET active = 0, updated_at = ?1 WHERE active = 1 \
             AND ',' || overrides || ',' NOT LIKE '%,{MANUAL},%' \
             AND NOT EXISTS (SELECT 1 FROM channel_links l WHERE l.channel_id = channels.id)"
        ),
        [now],
    )?)
}

/// After sources were deleted: links no source lists any more (admins' excepted)
/// are deleted, and channels left without links become inactive. Returns how many
/// channels became inactive.
pub fn deactivate_orphans(tx: &Connection, now: i64) -> StoreResult<usize> {
    const ORPHAN: &str = "manual = 0 AND NOT EXISTS \
         (SELECT 1 FROM link_sources s WHERE s.link_id = channel_links.id)";
    let hit: Vec<i64> = {
        let mut st = tx.prepare(&format!(
            "SELECT DISTINCT channel_id FROM channel_links WHERE {ORPHAN}"
        ))?;
        let rows = st.query_map([], |r| r.get(0))?;
        rows.collect::<Result<_, _>>()?
    };
    tx.execute(&format!("DELETE FROM channel_links WHERE {ORPHAN}"), [])?;
    for id in hit {
        links::sync_channel(tx, id)?;
    }
    deactivate_linkless(tx, now)
}

fn insert(tx: &Connection, e: &Entry, now: i64) -> StoreResult<i64> {
    let category = match e.group.as_deref().map(str::trim) {
        Some(g) if !g.is_empty() => Some(channels::category_id(tx, g)?),
        _ => None,
    };
    tx.prepare_cached(
        "INSERT INTO channels (name, category_id, logo, tvg_id, chno, added_at, updated_at) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6)",
    )?
    .execute(params![
        e.name,
        category,
        e.logo.as_deref().unwrap_or(""),
        e.tvg_id.as_deref().unwrap_or("").trim(),
        e.chno,
        now
    ])?;
    Ok(tx.last_insert_rowid())
}

/// Updates the fields the admin did not override; returns whether anything changed.
fn update_from_source(tx: &Connection, old: &Channel, e: &Entry, now: i64) -> StoreResult<bool> {
    let mut changed = !old.active;
    let mut name = old.name.clone();
    if !old.overridden("name") && e.name != old.name {
        name = e.name.clone();
        changed = true;
    }
    let mut category_id = old.category_id;
    if !old.overridden("category")
        && let Some(g) = e.group.as_deref().map(str::trim).filter(|g| !g.is_empty())
        && old.category.as_deref() != Some(g)
    {
        category_id = Some(channels::category_id(tx, g)?);
        changed = true;
    }
    let mut logo = old.logo.clone();
    if !old.overridden("logo")
        && let Some(l) = e
            .logo
            .as_deref()
            .filter(|l| !l.is_empty() && *l != old.logo)
    {
        logo = l.to_owned();
        changed = true;
    }
    let mut tvg_id = old.tvg_id.clone();
    if !old.overridden("tvg_id")
        && let Some(t) = e
            .tvg_id
            .as_deref()
            .filter(|t| !t.is_empty() && *t != old.tvg_id)
    {
        tvg_id = t.to_owned();
        changed = true;
    }
    let mut chno = old.chno;
    if !old.overridden("chno")
        && let Some(n) = e.chno.map(i64::from).filter(|n| Some(*n) != old.chno)
    {
        chno = Some(n);
        changed = true;
    }
    if changed {
        tx.prepare_cached(
            "UPDATE channels SET name = ?2, category_id = ?3, logo = ?4, tvg_id = ?5, chno = ?6, \
             active = 1, updated_at = ?7 WHERE id = ?1",
        )?
        .execute(params![old.id, name, category_id, logo, tvg_id, chno, now])?;
    }
    Ok(changed)
}
