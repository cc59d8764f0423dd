//! Reading the stored guide back: what the Xtream API (`get_short_epg`,
//! `get_simple_data_table`) and `xmltv.php` serve.

use rusqlite::{Connection, Row, params};

use super::EpgError;

/// A programme as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredProgramme {
    /// Row id (the Xtream `id`).
    pub id: i64,
    /// The guide source it came from.
    pub source_id: i64,
    /// Its XMLTV channel id (the Xtream `channel_id` / `epg_channel_id`).
    pub xmltv_id: String,
    /// Start, epoch seconds.
    pub start: i64,
    /// Stop, epoch seconds.
    pub stop: i64,
    /// Title.
    pub title: String,
    /// Sub-title, or empty.
    pub sub_title: String,
    /// Description, or empty.
    pub description: String,
    /// First category, or empty.
    pub category: String,
    /// Image URL, or empty.
    pub icon: String,
    /// Language of the title, or empty.
    pub lang: String,
    /// Language of the description, or empty.
    pub desc_lang: String,
}

/// The programme columns, in the order [`programme_at`] reads them.
const COLUMNS: &str = "p.id, p.source_id, p.xmltv_id, p.start, p.stop, p.title, \
                       p.sub_title, p.description, p.category, p.icon, p.lang, \
                       p.desc_lang";

/// Reads a programme from `row`, its columns starting at `at`.
fn programme_at(row: &Row<'_>, at: usize) -> rusqlite::Result<StoredProgramme> {
    Ok(StoredProgramme {
        id: row.get(at)?,
        source_id: row.get(at + 1)?,
        xmltv_id: row.get(at + 2)?,
        start: row.get(at + 3)?,
        stop: row.get(at + 4)?,
        title: row.get(at + 5)?,
        sub_title: row.get(at + 6)?,
        description: row.get(at + 7)?,
        category: row.get(at + 8)?,
        icon: row.get(at + 9)?,
        lang: row.get(at + 10)?,
        desc_lang: row.get(at + 11)?,
    })
}

/// The programmes of a channel's mapped guide that overlap `[from, to)`, by start,
/// at most `limit` of them. Empty when the channel has no guide.
pub fn programmes_for_channel(
    conn: &Connection,
    channel_id: i64,
    from: i64,
    to: i64,
    limit: Option<usize>,
) -> Result<Vec<StoredProgramme>, EpgError> {
    // SQLite reads a negative LIMIT as "no limit".
    let limit = limit.map_or(-1, |n| i64::try_from(n).unwrap_or(i64::MAX));
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {COLUMNS}
         FROM channel_guide g
         JOIN epg_sources s ON s.id = g.source_id
         JOIN epg_programmes p ON p.source_id = g.source_id AND p.generation = s.generation
                              AND p.xmltv_id = g.xmltv_id
         WHERE g.channel_id = ?1 AND p.stop > ?2 AND p.start < ?3
         ORDER BY p.start
         LIMIT ?4"
    ))?;
    let rows = stmt.query_map(params![channel_id, from, to, limit], |r| programme_at(r, 0))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Enabled channels with no guide, `(id, name)`, by name.
pub fn channels_without_guide(conn: &Connection) -> Result<Vec<(i64, String)>, EpgError> {
    let mut stmt = conn.prepare(
        "SELECT c.id, c.name FROM channels c
         WHERE c.enabled = 1
           AND NOT EXISTS (SELECT 1 FROM channel_guide g WHERE g.channel_id = c.id)
         ORDER BY c.name, c.id",
    )?;
    let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// The query of [`for_each_programme_of_mapped_channels`].
///
/// CROSS JOIN fixes the loop order (channel_guide by channel_id, then the programme
/// index on (source_id, generation, xmltv_id, start)), which already yields the
/// ORDER BY: SQLite streams the rows instead of sorting the whole guide first.
/// Only the source's live generation is read (see [`super::ingest`]).
fn walk_sql() -> String {
    format!(
        "SELECT g.channel_id, {COLUMNS}
         FROM channel_guide g
         CROSS JOIN channels c ON c.id = g.channel_id
         CROSS JOIN epg_sources s ON s.id = g.source_id
         CROSS JOIN epg_programmes p
              ON p.source_id = g.source_id AND p.generation = s.generation
             AND p.xmltv_id = g.xmltv_id
         WHERE c.enabled = 1 AND p.stop > ?1 AND p.start < ?2
         ORDER BY g.channel_id, p.start"
    )
}

/// Calls `f(channel_id, programme)` for every programme overlapping `[from, to)` of
/// every enabled, mapped channel, by channel id then start. One query whose rows
/// are visited as SQLite produces them: a 200,000-programme guide is written out
/// without being held in memory. An error from `f` stops the walk and is returned.
pub fn for_each_programme_of_mapped_channels(
    conn: &Connection,
    from: i64,
    to: i64,
    mut f: impl FnMut(i64, &StoredProgramme) -> Result<(), EpgError>,
) -> Result<(), EpgError> {
    let mut stmt = conn.prepare(&walk_sql())?;
    let mut rows = stmt.query(params![from, to])?;
    while let Some(row) = rows.next()? {
        let channel_id: i64 = row.get(0)?;
        f(channel_id, &programme_at(row, 1)?)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_guide_walk_streams_without_sorting() {
        let dir = tempfile::tempdir().unwrap();
        let store = crate::Store::open(&dir.path().join("plan.db")).unwrap();
        let plan: Vec<String> = store
            .run_blocking(|c| {
                let mut stmt = c.prepare(&format!("EXPLAIN QUERY PLAN {}", walk_sql()))?;
                let rows = stmt.query_map(params![0, 1], |r| r.get(3))?;
                Ok(rows.collect::<Result<_, _>>()?)
            })
            .unwrap();
        assert!(
            !plan.iter().any(|step| step.contains("TEMP B-TREE")),
            "{plan:?}"
        );
        assert!(
            plan.iter().any(|step| step.contains("epg_programmes_live")),
            "{plan:?}"
        );
    }
}
