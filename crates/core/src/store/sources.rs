//! The `sources` and `epg_sources` tables: where channels and the guide come from,
//! and how each one's last refresh went.

use rusqlite::{Connection, OptionalExtension, Row, params};
use serde::{Deserialize, Serialize};

use super::{StoreError, StoreResult, now_epoch};

/// Which table a source lives in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SourceTable {
    /// Channel playlists (`sources`).
    Channels,
    /// XMLTV feeds (`epg_sources`).
    Epg,
}

impl SourceTable {
    fn name(self) -> &'static str {
        match self {
            SourceTable::Channels => "sources",
            SourceTable::Epg => "epg_sources",
        }
    }
}

/// A source of channels or of the guide, with its last refresh's result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Source {
    /// Row id.
    pub id: i64,
    /// Display name.
    pub name: String,
    /// Channel sources: `auto`, `m3u`, `json`, `html` or `search`; guide sources: `xmltv`.
    pub kind: String,
    /// http(s) URL, file path, or `search:<query>` for an engine search.
    pub url: String,
    /// Disabled sources are never refreshed.
    pub enabled: bool,
    /// Guide sources: lower wins when two cover the same channel.
    pub priority: i64,
    /// Own refresh interval in seconds; `None` uses the settings' default.
    pub refresh_secs: Option<i64>,
    /// Validator of the last download (conditional GET).
    #[serde(skip)]
    pub etag: Option<String>,
    /// Validator of the last download (conditional GET).
    #[serde(skip)]
    pub last_modified: Option<String>,
    /// Epoch seconds of the last attempt.
    pub last_attempt_at: Option<i64>,
    /// Epoch seconds of the last success.
    pub last_success_at: Option<i64>,
    /// Why the last attempt failed (`None` after a success).
    pub last_error: Option<String>,
    /// Channels (guide: XMLTV channels) found by the last success.
    pub found: i64,
    /// Channel sources: new channels; guide sources: programmes stored.
    pub new: i64,
    /// Channel sources: updated channels.
    pub updated: i64,
    /// Channel sources: channels no longer listed.
    pub gone: i64,
    /// Epoch seconds of creation.
    pub created_at: i64,
}

/// What an admin gives to create or change a source.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SourceInput {
    /// Display name (default: the URL).
    pub name: Option<String>,
    /// URL, path or `search:<query>`.
    pub url: Option<String>,
    /// Kind (channel sources).
    pub kind: Option<String>,
    /// Enabled.
    pub enabled: Option<bool>,
    /// Priority (guide sources).
    pub priority: Option<i64>,
    /// Refresh interval in seconds (0 or null: the default).
    pub refresh_secs: Option<i64>,
}

fn columns(table: SourceTable) -> &'static str {
    match table {
        SourceTable::Channels => {
            "id, name, kind, url, enabled, 0, refresh_secs, etag, last_modified, \
             last_attempt_at, last_success_at, last_error, channels_found, channels_new, \
             channels_updated, channels_gone, created_at"
        }
        SourceTable::Epg => {
            "id, name, 'xmltv', url, enabled, priority, refresh_secs, etag, last_modified, \
             last_attempt_at, last_success_at, last_error, channels_found, programmes_found, \
             0, 0, created_at"
        }
    }
}

fn from_row(r: &Row<'_>) -> rusqlite::Result<Source> {
    Ok(Source {
        id: r.get(0)?,
        name: r.get(1)?,
        kind: r.get(2)?,
        url: r.get(3)?,
        enabled: r.get(4)?,
        priority: r.get(5)?,
        refresh_secs: r.get(6)?,
        etag: r.get(7)?,
        last_modified: r.get(8)?,
        last_attempt_at: r.get(9)?,
        last_success_at: r.get(10)?,
        last_error: r.get(11)?,
        found: r.get(12)?,
        new: r.get(13)?,
        updated: r.get(14)?,
        gone: r.get(15)?,
        created_at: r.get(16)?,
    })
}

/// Every source of the table, guide sources in priority order.
pub fn list(c: &Connection, table: SourceTable) -> StoreResult<Vec<Source>> {
    let order = match table {
        SourceTable::Channels => "id",
        SourceTable::Epg => "priority, id",
    };
    let sql = format!(
        "SELECT {} FROM {} ORDER BY {order}",
        columns(table),
        table.name()
    );
    let mut st = c.prepare(&sql)?;
    let rows = st.query_map([], from_row)?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// One source.
pub fn get(c: &Connection, table: SourceTable, id: i64) -> StoreResult<Source> {
    let sql = format!(
        "SELECT {} FROM {} WHERE id = ?1",
        columns(table),
        table.name()
    );
    c.query_row(&sql, [id], from_row)
        .optional()?
        .ok_or_else(|| StoreError::NotFound(format!("source {id}")))
}

/// The source with this URL, if any.
pub fn by_url(c: &Connection, table: SourceTable, url: &str) -> StoreResult<Option<Source>> {
    let sql = format!(
        "SELECT {} FROM {} WHERE url = ?1",
        columns(table),
        table.name()
    );
    Ok(c.query_row(&sql, [url], from_row).optional()?)
}

fn conflict(e: rusqlite::Error, url: &str) -> StoreError {
    if e.sqlite_error_code() == Some(rusqlite::ErrorCode::ConstraintViolation) {
        StoreError::Conflict(format!("a source with URL {url} already exists"))
    } else {
        e.into()
    }
}

/// Adds a source; the URL must be new.
pub fn insert(c: &Connection, table: SourceTable, input: &SourceInput) -> StoreResult<Source> {
    let url = input.url.clone().unwrap_or_default();
    let name = input
        .name
        .clone()
        .filter(|n| !n.trim().is_empty())
        .unwrap_or_else(|| url.clone());
    let refresh = input.refresh_secs.filter(|s| *s > 0);
    let enabled = input.enabled.unwrap_or(true);
    let result = match table {
        SourceTable::Channels => c.execute(
            "INSERT INTO sources (name, kind, url, enabled, refresh_secs, created_at) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![
                name,
                input.kind.as_deref().unwrap_or("auto"),
                url,
                enabled,
                refresh,
                now_epoch()
            ],
        ),
        SourceTable::Epg => {
            let priority = match input.priority {
                Some(p) => p,
                None => c.query_row(
                    "SELECT COALESCE(MAX(priority) + 1, 0) FROM epg_sources",
                    [],
                    |r| r.get(0),
                )?,
            };
            c.execute(
                "INSERT INTO epg_sources (name, url, enabled, priority, refresh_secs, created_at) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![name, url, enabled, priority, refresh, now_epoch()],
            )
        }
    };
    result.map_err(|e| conflict(e, &url))?;
    get(c, table, c.last_insert_rowid())
}

/// Changes the given fields of a source. A new URL forgets the download validators.
pub fn update(
    c: &Connection,
    table: SourceTable,
    id: i64,
    input: &SourceInput,
) -> StoreResult<Source> {
    let old = get(c, table, id)?;
    let url = input.url.clone().unwrap_or(old.url.clone());
    let name = input
        .name
        .clone()
        .filter(|n| !n.trim().is_empty())
        .unwrap_or(old.name);
    let enabled = input.enabled.unwrap_or(old.enabled);
    let refresh = match input.refresh_secs {
        Some(s) if s > 0 => Some(s),
        Some(_) => None,
        None => old.refresh_secs,
    };
    let url_changed = url != old.url;
    let result = match table {
        SourceTable::Channels => c.execute(
            "UPDATE sources SET name = ?2, kind = ?3, url = ?4, enabled = ?5, refresh_secs = ?6 \
             WHERE id = ?1",
            params![
                id,
                name,
                input.kind.clone().unwrap_or(old.kind),
                url,
                enabled,
                refresh
            ],
        ),
        SourceTable::Epg => c.execute(
            "UPDATE epg_sources SET name = ?2, url = ?3, enabled = ?4, refresh_secs = ?5, \
             priority = ?6 WHERE id = ?1",
            params![
                id,
                name,
                url,
                enabled,
                refresh,
                input.priority.unwrap_or(old.priority)
            ],
        ),
    };
    result.map_err(|e| conflict(e, &url))?;
    if url_changed {
        c.execute(
            &format!(
                "UPDATE {} SET etag = NULL, last_modified = NULL WHERE id = ?1",
                table.name()
            ),
            [id],
        )?;
    }
    get(c, table, id)
}

/// Deletes a source (its links to channels and its programmes go with it).
pub fn delete(c: &Connection, table: SourceTable, id: i64) -> StoreResult<()> {
    match c.execute(&format!("DELETE FROM {} WHERE id = ?1", table.name()), [id])? {
        0 => Err(StoreError::NotFound(format!("source {id}"))),
        _ => Ok(()),
    }
}

/// Records that a refresh is starting.
pub fn mark_attempt(c: &Connection, table: SourceTable, id: i64) -> StoreResult<()> {
    c.execute(
        &format!(
            "UPDATE {} SET last_attempt_at = ?2 WHERE id = ?1",
            table.name()
        ),
        params![id, now_epoch()],
    )?;
    Ok(())
}

/// Records a failed refresh; the previous catalogue stays as it was.
pub fn mark_failure(c: &Connection, table: SourceTable, id: i64, error: &str) -> StoreResult<()> {
    c.execute(
        &format!("UPDATE {} SET last_error = ?2 WHERE id = ?1", table.name()),
        params![id, error.chars().take(500).collect::<String>()],
    )?;
    Ok(())
}

/// Records a download that the server said had not changed (304).
pub fn mark_unchanged(c: &Connection, table: SourceTable, id: i64) -> StoreResult<()> {
    c.execute(
        &format!(
            "UPDATE {} SET last_success_at = ?2, last_error = NULL WHERE id = ?1",
            table.name()
        ),
        params![id, now_epoch()],
    )?;
    Ok(())
}

/// Stores the download validators for the next conditional GET.
pub fn set_validators(
    c: &Connection,
    table: SourceTable,
    id: i64,
    etag: Option<&str>,
    last_modified: Option<&str>,
) -> StoreResult<()> {
    c.execute(
        &format!(
            "UPDATE {} SET etag = ?2, last_modified = ?3 WHERE id = ?1",
            table.name()
        ),
        params![id, etag, last_modified],
    )?;
    Ok(())
}

/// Enabled sources whose refresh is due at `now`, given the default interval.
pub fn due(
    c: &Connection,
    table: SourceTable,
    now: i64,
    default_secs: i64,
) -> StoreResult<Vec<Source>> {
    Ok(list(c, table)?
        .into_iter()
        .filter(|s| s.enabled)
        .filter(|s| {
            let every = s.refresh_secs.unwrap_or(default_secs).max(60);
            s.last_attempt_at.is_none_or(|t| t + every <= now)
        })
        .collect())
}
