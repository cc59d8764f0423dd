//! Which channels are recorded for catch-up, and how deep: a channel's own mark
//! (`archive_channels`) wins over its category's (`archive_categories`); a
//! channel marked with 0 days stays out of an archived category.

use std::collections::HashMap;

use rusqlite::{Connection, OptionalExtension, params};

use super::{StoreError, StoreResult};

/// The most days a mark may ask for (ten years).
pub const MAX_DAYS: u32 = 3650;

/// How a channel's archive depth was decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct ArchiveMark {
    /// The channel's own mark: `Some(0)` keeps it out of an archived category.
    pub channel: Option<u32>,
    /// Its category's mark.
    pub category: Option<u32>,
}

impl ArchiveMark {
    /// Days recorded: the channel's own mark, else its category's, else 0 (off).
    pub fn days(&self) -> u32 {
        self.channel.or(self.category).unwrap_or(0)
    }
}

fn check_days(days: u32, min: u32) -> StoreResult<()> {
    if (min..=MAX_DAYS).contains(&days) {
        Ok(())
    } else {
        Err(StoreError::Invalid(format!(
            "days must be between {min} and {MAX_DAYS}"
        )))
    }
}

/// Marks a channel (`Some(days)`, 0 = never, even in an archived category) or
/// clears its own mark (`None`: its category decides).
pub fn set_channel(c: &Connection, channel_id: i64, days: Option<u32>) -> StoreResult<()> {
    let exists: bool = c.query_row(
        "SELECT EXISTS (SELECT 1 FROM channels WHERE id = ?1)",
        [channel_id],
        |r| r.get(0),
    )?;
    if !exists {
        return Err(StoreError::NotFound(format!("channel {channel_id}")));
    }
    match days {
        Some(days) => {
            check_days(days, 0)?;
            c.execute(
                "INSERT INTO archive_channels (channel_id, days) VALUES (?1, ?2) \
                 ON CONFLICT (channel_id) DO UPDATE SET days = excluded.days",
                params![channel_id, days],
            )?;
        }
        None => {
            c.execute(
                "DELETE FROM archive_channels WHERE channel_id = ?1",
                [channel_id],
            )?;
        }
    }
    Ok(())
}

/// Marks a whole category (`Some(days)`, at least 1) or clears its mark.
pub fn set_category(c: &Connection, category_id: i64, days: Option<u32>) -> StoreResult<()> {
    let exists: bool = c.query_row(
        "SELECT EXISTS (SELECT 1 FROM categories WHERE id = ?1)",
        [category_id],
        |r| r.get(0),
    )?;
    if !exists {
        return Err(StoreError::NotFound(format!("category {category_id}")));
    }
    match days {
        Some(days) => {
            check_days(days, 1)?;
            c.execute(
                "INSERT INTO archive_categories (category_id, days) VALUES (?1, ?2) \
                 ON CONFLICT (category_id) DO UPDATE SET days = excluded.days",
                params![category_id, days],
            )?;
        }
        None => {
            c.execute(
                "DELETE FROM archive_categories WHERE category_id = ?1",
                [category_id],
            )?;
        }
    }
    Ok(())
}

/// The marks of one channel.
pub fn mark_of(c: &Connection, channel_id: i64) -> StoreResult<ArchiveMark> {
    let row = c
        .query_row(
            "SELECT ac.days, ak.days FROM channels ch \
             LEFT JOIN archive_channels ac ON ac.channel_id = ch.id \
             LEFT JOIN archive_categories ak ON ak.category_id = ch.category_id \
             WHERE ch.id = ?1",
            [channel_id],
            |r| {
                Ok(ArchiveMark {
                    channel: r.get(0)?,
                    category: r.get(1)?,
                })
            },
        )
        .optional()?;
    row.ok_or_else(|| StoreError::NotFound(format!("channel {channel_id}")))
}

/// The category marks, by category id.
pub fn category_marks(c: &Connection) -> StoreResult<HashMap<i64, u32>> {
    let mut st = c.prepare_cached("SELECT category_id, days FROM archive_categories")?;
    let rows = st.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Every channel recorded now — enabled, active, with a depth above 0 — and its
/// depth in days, by channel id.
pub fn archived(c: &Connection) -> StoreResult<HashMap<i64, u32>> {
    let mut st = c.prepare_cached(
        "SELECT ch.id, COALESCE(ac.days, ak.days, 0) AS days FROM channels ch \
         LEFT JOIN archive_channels ac ON ac.channel_id = ch.id \
         LEFT JOIN archive_categories ak ON ak.category_id = ch.category_id \
         WHERE ch.enabled = 1 AND ch.active = 1 AND COALESCE(ac.days, ak.days, 0) > 0",
    )?;
    let rows = st.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
    Ok(rows.collect::<Result<_, _>>()?)
}
