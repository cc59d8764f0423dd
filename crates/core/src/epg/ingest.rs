//! Importing one guide source: its feed replaces its own channels and programmes,
//! all or nothing, and never touches another source's rows.
//!
//! Choices:
//! - One transaction: the old guide is deleted and the new one inserted inside it,
//!   so a feed that breaks half-way (or a full disk) rolls back to the old guide and
//!   players never see an empty one.
//! - Programmes are kept when they overlap the [`Window`]; duplicates (same channel,
//!   start and title, which merged feeds are full of) are dropped by the insert
//!   itself, through the `(source_id, xmltv_id, start)` index, so memory does not
//!   grow with the feed.
//! - Only programmes of channels the feed declares are kept. A feed may declare its
//!   channels after its programmes, so the filter runs once at the end, as one
//!   `DELETE … NOT IN (declared)`, instead of holding programmes back.
//! - A channel declared twice keeps its first declaration; `epg_channels` has one
//!   `display_name` column, so only a channel's first display name is stored.

use std::io::BufRead;

use rusqlite::{Connection, OptionalExtension, params};
use serde::Serialize;

use super::EpgError;
use super::xmltv::read_xmltv_with;
use crate::store::{StoreError, now_epoch};

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

/// Replaces source `source_id`'s guide with the feed read from `reader` (already
/// decompressed, see [`super::decoded`]), keeping programmes that overlap `window`,
/// and records the success on the source. On any error nothing changes.
pub fn import_source(
    conn: &mut Connection,
    source_id: i64,
    reader: impl BufRead,
    window: Window,
) -> Result<ImportReport, EpgError> {
    let tx = conn.transaction()?;
    let exists = tx
        .query_row(
            "SELECT 1 FROM epg_sources WHERE id = ?1",
            [source_id],
            |_| Ok(()),
        )
        .optional()?;
    if exists.is_none() {
        return Err(StoreError::NotFound(format!("guide source {source_id}")).into());
    }
    tx.execute(
        "DELETE FROM epg_programmes WHERE source_id = ?1",
        [source_id],
    )?;
    tx.execute("DELETE FROM epg_channels WHERE source_id = ?1", [source_id])?;

    let mut report = ImportReport::default();
    let (mut channels, mut programmes, mut duplicates, mut outside) = (0u64, 0u64, 0u64, 0u64);
    let stats = {
        let mut insert_channel = tx.prepare(
            "INSERT INTO epg_channels (source_id, xmltv_id, display_name, icon)
             VALUES (?1, ?2, ?3, ?4) ON CONFLICT DO NOTHING",
        )?;
        // The NOT EXISTS probe is an index lookup on (source_id, xmltv_id, start):
        // duplicates cost no memory, however large the feed.
        let mut insert_programme = tx.prepare(
            "INSERT INTO epg_programmes
                 (source_id, xmltv_id, start, stop, title, sub_title, description,
                  category, icon, lang)
             SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10
             WHERE NOT EXISTS (SELECT 1 FROM epg_programmes
                               WHERE source_id = ?1 AND xmltv_id = ?2
                                 AND start = ?3 AND title = ?5)",
        )?;
        read_xmltv_with(
            reader,
            |c| {
                let name = c.display_names.first().map(String::as_str).unwrap_or("");
                let icon = c.icon.as_deref().unwrap_or("");
                channels += insert_channel.execute(params![source_id, c.id, name, icon])? as u64;
                Ok(())
            },
            |p| {
                if !window.overlaps(p.start, p.stop) {
                    outside += 1;
                    return Ok(());
                }
                let inserted = insert_programme.execute(params![
                    source_id,
                    p.channel,
                    p.start,
                    p.stop,
                    p.title,
                    p.sub_title,
                    p.description,
                    p.category,
                    p.icon,
                    p.lang
                ])?;
                if inserted == 0 {
                    duplicates += 1;
                } else {
                    programmes += 1;
                }
                Ok(())
            },
        )?
    };
    let undeclared = tx.execute(
        "DELETE FROM epg_programmes WHERE source_id = ?1 AND xmltv_id NOT IN
             (SELECT xmltv_id FROM epg_channels WHERE source_id = ?1)",
        [source_id],
    )? as u64;
    report.channels = channels;
    report.programmes = programmes.saturating_sub(undeclared);
    report.skipped = stats.skipped;
    report.duplicates = duplicates;
    report.outside_window = outside;
    report.undeclared = undeclared;

    tx.execute(
        "UPDATE epg_sources SET last_success_at = ?2, channels_found = ?3,
             programmes_found = ?4, last_error = NULL
         WHERE id = ?1",
        params![
            source_id,
            now_epoch(),
            report.channels as i64,
            report.programmes as i64
        ],
    )?;
    tx.commit()?;
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

/// Records why a source's import failed; its stored guide stays as it was.
pub fn record_failure(conn: &Connection, source_id: i64, error: &str) -> Result<(), EpgError> {
    let table = crate::store::sources::SourceTable::Epg;
    Ok(crate::store::sources::mark_failure(
        conn, table, source_id, error,
    )?)
}
