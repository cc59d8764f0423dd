//! Importing one guide source: its feed replaces its own channels and programmes,
//! all or nothing, and never touches another source's rows.
//!
//! Choices:
//! - Generations, not one long transaction. An import claims a new generation of
//!   the source, writes the feed's rows under it in transactions of [`BATCH`]
//!   programmes (each a short `BEGIN IMMEDIATE`, so other writers — an admin's edit
//!   — get the lock between two batches), and swaps it in at the end by setting
//!   the source's `generation`: one row updated, however large the guide (the
//!   alternative, a staging table copied over with `DELETE` + `INSERT … SELECT`,
//!   would hold the write lock for the whole copy: 1.3 to 2.7 s for 200,000
//!   programmes in a release build on a shared two-core machine, against 0.1 to
//!   0.3 ms for the swap of a generation). Readers only see the source's current generation, so the old
//!   guide stays whole until the swap, and a feed that breaks half-way, a full
//!   disk or a `kill -9` leaves it as it was.
//! - Rows of other generations are deleted in batches too: those of the replaced
//!   guide right after the swap; those of an import that failed by that import,
//!   or, if it was killed, by the next import of the source before it writes.
//! - Two imports of one source (the daemon and a CLI command) claim different
//!   generations; the later claim wins, the earlier one fails at its swap.
//! - Programmes are kept when they overlap the [`Window`]; duplicates (same channel,
//!   start and title, which merged feeds are full of) are dropped by the insert
//!   itself, through the `(source_id, generation, xmltv_id, start)` index, so
//!   memory does not grow with the feed.
//! - Only programmes of channels the feed declares are kept. A feed may declare its
//!   channels after its programmes, so the filter runs at the end, before the swap,
//!   over the channels left undeclared.
//! - A channel declared twice keeps its first declaration; `epg_channels` has one
//!   `display_name` column, so only a channel's first display name is stored.

use std::io::BufRead;

use rusqlite::{Connection, OptionalExtension, params};
use serde::Serialize;

use super::EpgError;
use super::xmltv::{Programme, XmltvChannel, read_xmltv_with};
use crate::store::{StoreError, immediate, now_epoch};

/// Seconds in a day.
const DAY: i64 = 86_400;

/// The span of time whose programmes are kept, `[from, to)` in epoch seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    /// Programmes ending at or before this are dropped.
    pub from: i64,
    /// Programmes starting at or after this are dropped.
    pub to: i64,
}

impl Window {
    /// `days_back` days before `now` to `days_ahead` days after it.
    pub fn around(now: i64, days_back: u32, days_ahead: u32) -> Window {
        Window {
            from: now.saturating_sub(i64::from(days_back) * DAY),
            to: now.saturating_add(i64::from(days_ahead) * DAY),
        }
    }

    /// Whether a programme from `start` to `stop` shows at some point of the window.
    pub fn overlaps(&self, start: i64, stop: i64) -> bool {
        stop > self.from && start < self.to
    }
}

/// What an import stored and left out.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct ImportReport {
    /// Channels stored.
    pub channels: u64,
    /// Programmes stored.
    pub programmes: u64,
    /// Entries the reader found unusable (no title, bad times, …).
    pub skipped: u64,
    /// Programmes dropped as repeats of one already stored.
    pub duplicates: u64,
    /// Programmes dropped for lying wholly outside the window.
    pub outside_window: u64,
    /// Programmes dropped because the feed never declared their channel.
    pub undeclared: u64,
}

/// Programmes written per transaction: a few milliseconds of holding the write
/// lock, and few enough commits that a 200,000-programme guide is not slowed down.
pub const BATCH: usize = 2_000;

/// Replaces source `source_id`'s guide with the feed read from `reader` (already
/// decompressed, see [`super::decoded`]), keeping programmes that overlap `window`,
/// and records the success on the source. On any error the guide players see
/// stays as it was.
pub fn import_source(
    conn: &mut Connection,
    source_id: i64,
    reader: impl BufRead,
    window: Window,
) -> Result<ImportReport, EpgError> {
    let (live, generation) = claim(conn, source_id)?;
    // Leftovers of imports that failed to clean up or were killed.
    discard(conn, source_id, ..live)?;
    discard(conn, source_id, live + 1..generation)?;

    let staged = stage(conn, source_id, generation, reader, window)
        .and_then(|report| swap(conn, source_id, generation, report));
    match staged {
        Ok(report) => {
            // The replaced guide: invisible already, deleted at leisure (should
            // this fail, the next import deletes it).
            if let Err(e) = discard(conn, source_id, ..generation) {
                tracing::warn!(source_id, error = %e, "cannot delete the replaced guide yet");
            }
            tracing::info!(
                source_id,
                channels = report.channels,
                programmes = report.programmes,
                skipped = report.skipped,
                duplicates = report.duplicates,
                outside_window = report.outside_window,
                undeclared = report.undeclared,
                "guide imported"
            );
            Ok(report)
        }
        Err(e) => {
            if let Err(cleanup) = discard(conn, source_id, generation..generation + 1) {
                tracing::warn!(source_id, error = %cleanup, "cannot delete a failed import yet");
            }
            Err(e)
        }
    }
}

/// Claims a new generation of the source: `(live generation, claimed one)`.
fn claim(conn: &mut Connection, source_id: i64) -> Result<(i64, i64), EpgError> {
    let tx = immediate(conn)?;
    let claimed = tx
        .query_row(
            "UPDATE epg_sources SET staging_generation = max(generation, staging_generation) + 1
             WHERE id = ?1 RETURNING generation, staging_generation",
            [source_id],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    tx.commit()?;
    claimed.ok_or_else(|| StoreError::NotFound(format!("guide source {source_id}")).into())
}

/// Writes the feed's channels and programmes under `generation`, [`BATCH`] by batch,
/// then drops the programmes of undeclared channels.
fn stage(
    conn: &mut Connection,
    source_id: i64,
    generation: i64,
    reader: impl BufRead,
    window: Window,
) -> Result<ImportReport, EpgError> {
    let mut report = ImportReport::default();
    let batch = std::cell::RefCell::new(Batch {
        conn: &mut *conn,
        source_id,
        generation,
        channels: Vec::new(),
        programmes: Vec::new(),
        stored_channels: 0,
        stored_programmes: 0,
        duplicates: 0,
    });
    let stats = read_xmltv_with(
        reader,
        |c| {
            let mut b = batch.borrow_mut();
            b.channels.push(c);
            if b.channels.len() >= BATCH {
                b.flush()?;
            }
            Ok(())
        },
        |p| {
            if !window.overlaps(p.start, p.stop) {
                report.outside_window += 1;
                return Ok(());
            }
            let mut b = batch.borrow_mut();
            b.programmes.push(p);
            if b.programmes.len() >= BATCH {
                b.flush()?;
            }
            Ok(())
        },
    )?;
    let mut b = batch.into_inner();
    b.flush()?;
    let (channels, programmes, duplicates) = (b.stored_channels, b.stored_programmes, b.duplicates);
    drop(b);
    let undeclared = drop_undeclared(conn, source_id, generation)?;
    report.channels = channels;
    report.programmes = programmes.saturating_sub(undeclared);
    report.duplicates = duplicates;
    report.skipped = stats.skipped;
    report.undeclared = undeclared;
    Ok(report)
}

/// Channels and programmes read but not yet written.
struct Batch<'c> {
    conn: &'c mut Connection,
    source_id: i64,
    generation: i64,
    channels: Vec<XmltvChannel>,
    programmes: Vec<Programme>,
    stored_channels: u64,
    stored_programmes: u64,
    duplicates: u64,
}

impl Batch<'_> {
    /// Writes what was read, in one short write transaction.
    fn flush(&mut self) -> Result<(), EpgError> {
        if self.channels.is_empty() && self.programmes.is_empty() {
            return Ok(());
        }
        let (source_id, generation) = (self.source_id, self.generation);
        let tx = immediate(self.conn)?;
        {
            let mut insert_channel = tx.prepare_cached(
                "INSERT INTO epg_channels (source_id, generation, xmltv_id, display_name, icon)
                 VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT DO NOTHING",
            )?;
            for c in self.channels.drain(..) {
                let name = c.display_names.first().map(String::as_str).unwrap_or("");
                let icon = c.icon.as_deref().unwrap_or("");
                self.stored_channels += insert_channel
                    .execute(params![source_id, generation, c.id, name, icon])?
                    as u64;
            }
            // The NOT EXISTS probe is an index lookup on (source_id, generation,
            // xmltv_id, start): duplicates cost no memory, however large the feed.
            let mut insert_programme = tx.prepare_cached(
                "INSERT INTO epg_programmes
                     (source_id, generation, xmltv_id, start, stop, title, sub_title,
                      description, category, icon, lang, desc_lang)
                 SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12
                 WHERE NOT EXISTS (SELECT 1 FROM epg_programmes
                                   WHERE source_id = ?1 AND generation = ?2
                                     AND xmltv_id = ?3 AND start = ?4 AND title = ?6)",
            )?;
            for p in self.programmes.drain(..) {
                let inserted = insert_programme.execute(params![
                    source_id,
                    generation,
                    p.channel,
                    p.start,
                    p.stop,
                    p.title,
                    p.sub_title,
                    p.description,
                    p.category,
                    p.icon,
                    p.lang,
                    p.desc_lang
                ])?;
                if inserted == 0 {
                    self.duplicates += 1;
                } else {
                    self.stored_programmes += 1;
                }
            }
        }
        tx.commit()?;
        Ok(())
    }
}

/// Deletes the staged programmes of channels the feed never declared; returns how
/// many. Finding them only reads (no lock held); deleting goes in batches.
fn drop_undeclared(
    conn: &mut Connection,
    source_id: i64,
    generation: i64,
) -> Result<u64, EpgError> {
    let mut deleted = 0u64;
    let mut after = String::new();
    loop {
        // A page of undeclared channel ids at a time: memory stays bounded even
        // for a feed made of nothing else.
        let page: Vec<String> = {
            let mut stmt = conn.prepare_cached(
                "SELECT d.xmltv_id FROM
                     (SELECT DISTINCT xmltv_id FROM epg_programmes
                      WHERE source_id = ?1 AND generation = ?2 AND xmltv_id > ?3) d
                 WHERE NOT EXISTS (SELECT 1 FROM epg_channels e
                                   WHERE e.source_id = ?1 AND e.generation = ?2
                                     AND e.xmltv_id = d.xmltv_id)
                 ORDER BY d.xmltv_id LIMIT 256",
            )?;
            let rows = stmt.query_map(params![source_id, generation, after], |r| r.get(0))?;
            rows.collect::<Result<_, _>>()?
        };
        let Some(last) = page.last() else {
            return Ok(deleted);
        };
        after.clone_from(last);
        for xmltv_id in &page {
            deleted += delete_in_batches(
                conn,
                "SELECT rowid FROM epg_programmes
                 WHERE source_id = ?1 AND generation = ?2 AND xmltv_id = ?3",
                params![source_id, generation, xmltv_id],
            )?;
        }
    }
}

/// Swaps the staged generation in, unless a later import of the source claimed a
/// newer one meanwhile (the later one wins; this one fails).
fn swap(
    conn: &mut Connection,
    source_id: i64,
    generation: i64,
    report: ImportReport,
) -> Result<ImportReport, EpgError> {
    let tx = immediate(conn)?;
    let swapped = tx.execute(
        "UPDATE epg_sources SET generation = ?2, last_success_at = ?3, channels_found = ?4,
             programmes_found = ?5, last_error = NULL
         WHERE id = ?1 AND staging_generation = ?2",
        params![
            source_id,
            generation,
            now_epoch(),
            report.channels as i64,
            report.programmes as i64
        ],
    )?;
    if swapped == 0 {
        let exists = tx
            .query_row(
                "SELECT 1 FROM epg_sources WHERE id = ?1",
                [source_id],
                |_| Ok(()),
            )
            .optional()?;
        return Err(match exists {
            None => StoreError::NotFound(format!("guide source {source_id}")),
            Some(()) => StoreError::Conflict(format!(
                "guide source {source_id}: a newer import of it started meanwhile"
            )),
        }
        .into());
    }
    tx.commit()?;
    Ok(report)
}

/// Rowids whose rows one discarding transaction deletes (a few milliseconds).
const DISCARD_ROWIDS: i64 = 8_192;

/// Deletes a generation's programmes in a window of rowids: the table is walked in
/// rowid order (the unary `+` keeps SQLite off the generation index), because a
/// generation's rows were appended in that order and sit on consecutive pages. Going
/// by the index instead — by channel — would touch rows spread over the whole
/// table in every batch, and rewrite most of its pages each time: 200,000
/// programmes took 5.2 s to discard that way against 1.5 s (release build).
const DISCARD_SQL: &str = "DELETE FROM epg_programmes
     WHERE rowid >= ?4 AND rowid < ?5
       AND +source_id = ?1 AND +generation >= ?2 AND +generation < ?3";

/// Deletes the source's channels and programmes whose generation lies in `range`,
/// in batches.
fn discard(
    conn: &mut Connection,
    source_id: i64,
    range: impl std::ops::RangeBounds<i64>,
) -> Result<(), EpgError> {
    use std::ops::Bound;
    let from = match range.start_bound() {
        Bound::Included(n) => *n,
        Bound::Excluded(n) => n.saturating_add(1),
        Bound::Unbounded => i64::MIN,
    };
    let to = match range.end_bound() {
        Bound::Included(n) => n.saturating_add(1),
        Bound::Excluded(n) => *n,
        Bound::Unbounded => i64::MAX,
    };
    if from >= to {
        return Ok(());
    }
    // Finding the rows' span only reads (no lock held).
    let span: (Option<i64>, Option<i64>) = conn.query_row(
        "SELECT min(rowid), max(rowid) FROM epg_programmes
         WHERE source_id = ?1 AND generation >= ?2 AND generation < ?3",
        params![source_id, from, to],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    if let (Some(first), Some(last)) = span {
        let mut at = first;
        while at <= last {
            let end = at.saturating_add(DISCARD_ROWIDS);
            let tx = immediate(conn)?;
            tx.prepare_cached(DISCARD_SQL)?
                .execute(params![source_id, from, to, at, end])?;
            tx.commit()?;
            at = end;
        }
    }
    // A feed declares hundreds of channels, not hundreds of thousands: one go.
    let tx = immediate(conn)?;
    tx.execute(
        "DELETE FROM epg_channels WHERE source_id = ?1 AND generation >= ?2 AND generation < ?3",
        params![source_id, from, to],
    )?;
    tx.commit()?;
    Ok(())
}

/// Deletes the programmes whose rowids `select` lists, [`BATCH`] × 2 per write
/// transaction (deleting is cheaper than inserting); returns how many.
fn delete_in_batches(
    conn: &mut Connection,
    select: &str,
    args: impl rusqlite::Params + Copy,
) -> Result<u64, EpgError> {
    let sql = format!(
        "DELETE FROM epg_programmes WHERE rowid IN ({select} LIMIT {})",
        BATCH * 2
    );
    let mut total = 0u64;
    loop {
        let tx = immediate(conn)?;
        let n = tx.execute(&sql, args)?;
        tx.commit()?;
        total += n as u64;
        if n == 0 {
            return Ok(total);
        }
    }
}

/// Records why a source's import failed; its stored guide stays as it was.
pub fn record_failure(conn: &Connection, source_id: i64, error: &str) -> Result<(), EpgError> {
    let table = crate::store::sources::SourceTable::Epg;
    Ok(crate::store::sources::mark_failure(
        conn, table, source_id, error,
    )?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn discarding_walks_the_table_by_rowid() {
        let dir = tempfile::tempdir().unwrap();
        let store = crate::Store::open(&dir.path().join("plan.db")).unwrap();
        let plan: Vec<String> = store
            .run_blocking(|c| {
                let mut stmt = c.prepare(&format!("EXPLAIN QUERY PLAN {DISCARD_SQL}"))?;
                let rows = stmt.query_map(params![1, 0, 1, 0, 10], |r| r.get(3))?;
                Ok(rows.collect::<Result<_, _>>()?)
            })
            .unwrap();
        assert!(
            plan.iter()
                .any(|step| step.contains("USING INTEGER PRIMARY KEY (rowid>? AND rowid<?)")),
            "{plan:?}"
        );
    }
}
