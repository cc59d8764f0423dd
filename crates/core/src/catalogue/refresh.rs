//! Applies a source's freshly parsed list to the catalogue, in one transaction.
//!
//! Channels are matched by what plays them, across all sources, so a channel carried
//! by three lists is one row. Names, logos, groups, guide ids and numbers follow the
//! source unless the admin overrode them. A channel no source lists any more is
//! marked inactive, never deleted (its id is a player's `stream_id`, and the admin's
//! edits survive its return). A failure anywhere rolls the whole refresh back.
//!
//! The transaction is a writer's from its start ([`immediate`]), since it reads the
//! channels it then updates. It is one transaction, not batches, because a list is
//! applied as a whole; it stays short (every stream is looked up through an
//! index: 10,000 channels take about half a second in a debug build), so other
//! writers wait for it well within their busy timeout.

use std::collections::HashSet;

use rusqlite::{Connection, params};
use serde::Serialize;

use crate::sources::{Entry, StreamRef};
use crate::store::channels::{self, Channel, MANUAL, split_stream};
use crate::store::{StoreResult, immediate, now_epoch};

/// What one refresh changed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct RefreshReport {
    /// Distinct channels the source lists.
    pub found: usize,
    /// Channels that did not exist before.
    pub new: usize,
    /// Existing channels whose fields changed.
    pub updated: usize,
    /// Channels this source no longer lists (inactive if no other source has them).
    pub gone: usize,
    /// Lines or items the parser could not use.
    pub skipped: usize,
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
    let mut seen: HashSet<&StreamRef> = HashSet::new();
    let mut listed: HashSet<i64> = HashSet::new();
    let now = now_epoch();
    for entry in entries {
        // The first listing of a stream in a source wins; later duplicates are ignored.
        if !seen.insert(&entry.stream) {
            continue;
        }
        report.found += 1;
        let id = match channels::by_stream(&tx, &entry.stream)? {
            Some(existing) => {
                if update_from_source(&tx, &existing, entry, now)? {
                    report.updated += 1;
                }
                existing.id
            }
            None => {
                report.new += 1;
                insert(&tx, entry, now)?
            }
        };
        listed.insert(id);
        tx.execute(
            "INSERT OR IGNORE INTO channel_sources (channel_id, source_id) VALUES (?1, ?2)",
            params![id, source_id],
        )?;
    }

    // Links of this source to channels it no longer lists.
    let previously: Vec<i64> = {
        let mut st = tx.prepare("SELECT channel_id FROM channel_sources WHERE source_id = ?1")?;
        let rows = st.query_map([source_id], |r| r.get(0))?;
        rows.collect::<Result<_, _>>()?
    };
    for id in previously.into_iter().filter(|id| !listed.contains(id)) {
        report.gone += 1;
        tx.execute(
            "DELETE FROM channel_sources WHERE channel_id = ?1 AND source_id = ?2",
            params![id, source_id],
        )?;
    }
    deactivate_orphans(&tx, now)?;
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

/// Channels no source lists and no admin added become inactive.
pub fn deactivate_orphans(tx: &Connection, now: i64) -> StoreResult<usize> {
    Ok(tx.execute(
        &format!(
            "UPDATE channels SET active = 0, updated_at = ?1 WHERE active = 1 \
             AND ',' || overrides || ',' NOT LIKE '%,{MANUAL},%' \
             AND id NOT IN (SELECT channel_id FROM channel_sources)"
        ),
        [now],
    )?)
}

fn insert(tx: &Connection, e: &Entry, now: i64) -> StoreResult<i64> {
    let category = match e.group.as_deref().map(str::trim) {
        Some(g) if !g.is_empty() => Some(channels::category_id(tx, g)?),
        _ => None,
    };
    let (content_id, infohash, direct) = split_stream(&e.stream);
    tx.execute(
        "INSERT INTO channels (name, content_id, infohash, direct_url, category_id, logo, tvg_id, \
         chno, added_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?9)",
        params![
            e.name,
            content_id,
            infohash,
            direct,
            category,
            e.logo.as_deref().unwrap_or(""),
            e.tvg_id.as_deref().unwrap_or(""),
            e.chno,
            now
        ],
    )?;
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
        tx.execute(
            "UPDATE channels SET name = ?2, category_id = ?3, logo = ?4, tvg_id = ?5, chno = ?6, \
             active = 1, updated_at = ?7 WHERE id = ?1",
            params![old.id, name, category_id, logo, tvg_id, chno, now],
        )?;
    }
    Ok(changed)
}
