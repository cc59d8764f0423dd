//! The `channels` and `categories` tables: the catalogue players see.
//!
//! A channel is played by its links (see [`super::links`]): content ids, infohashes
//! or direct URLs, in order. A [`Channel`] carries its first link's stream, the one
//! players and the legacy API fields name. Fields an admin edited are listed in
//! `overrides` and left alone by refreshes.

use rusqlite::types::Value;
use rusqlite::{Connection, OptionalExtension, Row, params, params_from_iter};
use serde::{Deserialize, Serialize};

use super::{StoreError, StoreResult, immediate, now_epoch};
use crate::engine::ContentKey;
use crate::sources::StreamRef;

/// Fields an admin can override.
pub const OVERRIDABLE: &[&str] = &["name", "category", "logo", "tvg_id", "chno", "enabled"];
/// Marks a channel an admin added by hand: no source can make it inactive.
pub const MANUAL: &str = "manual";
/// Marks a channel whose links an admin ordered: refreshes append, never reorder.
pub const LINKS_ORDERED: &str = "links";

/// A channel as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Channel {
    /// Row id, also the Xtream `stream_id`.
    pub id: i64,
    /// Display name.
    pub name: String,
    /// AceStream content id of the first link, when it is one.
    pub content_id: Option<String>,
    /// Swarm infohash of the first link, when it is one.
    pub infohash: Option<String>,
    /// Plain stream URL of the first link, for direct channels.
    pub direct_url: Option<String>,
    /// How many links the channel has (`link_count` in JSON).
    #[serde(rename = "link_count")]
    pub links: i64,
    /// Category row id.
    pub category_id: Option<i64>,
    /// Category name.
    pub category: Option<String>,
    /// Logo URL.
    pub logo: String,
    /// Guide id (`tvg-id`, `epg_channel_id`).
    pub tvg_id: String,
    /// Channel number.
    pub chno: Option<i64>,
    /// Shown to players.
    pub enabled: bool,
    /// Still listed by at least one source (or added by hand).
    pub active: bool,
    /// Fields the admin edited.
    pub overrides: Vec<String>,
    /// Last availability check: any link online, or not.
    pub online: Option<bool>,
    /// When it was last checked (epoch seconds).
    pub checked_at: Option<i64>,
    /// When it was first seen.
    pub added_at: i64,
    /// When a source or admin last changed it.
    pub updated_at: i64,
}

impl Channel {
    /// What plays the channel first (its first link), if it has a link.
    pub fn stream(&self) -> Option<StreamRef> {
        if let Some(id) = &self.content_id {
            return Some(StreamRef::Ace {
                key: ContentKey::ContentId(id.clone()),
            });
        }
        if let Some(ih) = &self.infohash {
            return Some(StreamRef::Ace {
                key: ContentKey::Infohash(ih.clone()),
            });
        }
        self.direct_url.clone().map(|url| StreamRef::Direct { url })
    }

    /// Whether the admin overrode `field`.
    pub fn overridden(&self, field: &str) -> bool {
        self.overrides.iter().any(|f| f == field)
    }
}

/// The channel columns, its first link (by position) and its number of links.
const COLUMNS: &str = "SELECT c.id, c.name, l.content_id, l.infohash, l.direct_url, c.category_id, \
     k.name, c.logo, c.tvg_id, c.chno, c.enabled, c.active, c.overrides, c.online, c.checked_at, \
     c.added_at, c.updated_at, \
     (SELECT count(*) FROM channel_links n WHERE n.channel_id = c.id)";
const JOINS: &str = " FROM channels c LEFT JOIN categories k ON k.id = c.category_id \
     LEFT JOIN channel_links l ON l.id = (SELECT f.id FROM channel_links f \
     WHERE f.channel_id = c.id ORDER BY f.position, f.id LIMIT 1)";

fn select() -> String {
    format!("{COLUMNS}{JOINS}")
}

fn from_row(r: &Row<'_>) -> rusqlite::Result<Channel> {
    let overrides: String = r.get(12)?;
    Ok(Channel {
        id: r.get(0)?,
        name: r.get(1)?,
        content_id: r.get(2)?,
        infohash: r.get(3)?,
        direct_url: r.get(4)?,
        category_id: r.get(5)?,
        category: r.get(6)?,
        logo: r.get(7)?,
        tvg_id: r.get(8)?,
        chno: r.get(9)?,
        enabled: r.get(10)?,
        active: r.get(11)?,
        overrides: overrides
            .split(',')
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect(),
        online: r.get(13)?,
        checked_at: r.get(14)?,
        added_at: r.get(15)?,
        updated_at: r.get(16)?,
        links: r.get(17)?,
    })
}

/// One channel.
pub fn get(c: &Connection, id: i64) -> StoreResult<Channel> {
    c.prepare_cached(&format!("{} WHERE c.id = ?1", select()))?
        .query_row([id], from_row)
        .optional()?
        .ok_or_else(|| StoreError::NotFound(format!("channel {id}")))
}

/// The channel owning a link to `stream`, if any.
pub fn by_stream(c: &Connection, stream: &StreamRef) -> StoreResult<Option<Channel>> {
    let (column, value) = stream_column(stream);
    Ok(c.prepare_cached(&format!(
        "{} WHERE c.id = (SELECT channel_id FROM channel_links WHERE {column} = ?1)",
        select()
    ))?
    .query_row([value], from_row)
    .optional()?)
}

/// The `channel_links` column holding `stream`, and its value.
pub fn stream_column(stream: &StreamRef) -> (&'static str, &str) {
    match stream {
        StreamRef::Ace {
            key: ContentKey::ContentId(v),
        } => ("content_id", v),
        StreamRef::Ace {
            key: ContentKey::Infohash(v),
        } => ("infohash", v),
        StreamRef::Direct { url } => ("direct_url", url),
    }
}

/// Filters of the channel list; every field is optional.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct ChannelFilter {
    /// Substring of the name (case-insensitive).
    pub search: Option<String>,
    /// Category row id.
    pub category_id: Option<i64>,
    /// Listed by this source.
    pub source_id: Option<i64>,
    /// Last check result.
    pub online: Option<bool>,
    /// Has a guide mapping.
    pub has_guide: Option<bool>,
    /// Still listed by a source.
    pub active: Option<bool>,
    /// Shown to players.
    pub enabled: Option<bool>,
    /// Page size (default 100, at most 1000).
    pub limit: Option<i64>,
    /// Rows to skip.
    pub offset: Option<i64>,
}

/// A page of channels and the total matching the filter.
#[derive(Debug, Clone, Serialize)]
pub struct ChannelPage {
    /// Rows matching the filter.
    pub total: i64,
    /// This page.
    pub channels: Vec<Channel>,
}

/// Channels matching `f`, by channel number then name.
pub fn list(c: &Connection, f: &ChannelFilter) -> StoreResult<ChannelPage> {
    let mut clauses: Vec<&str> = Vec::new();
    let mut args: Vec<Value> = Vec::new();
    if let Some(s) = f.search.as_deref().filter(|s| !s.is_empty()) {
        clauses.push("c.name LIKE ? ESCAPE '\\'");
        let escaped = s
            .replace('\\', "\\\\")
            .replace('%', "\\%")
            .replace('_', "\\_");
        args.push(Value::Text(format!("%{escaped}%")));
    }
    if let Some(id) = f.category_id {
        clauses.push("c.category_id = ?");
        args.push(Value::Integer(id));
    }
    if let Some(id) = f.source_id {
        clauses.push("c.id IN (SELECT channel_id FROM channel_sources WHERE source_id = ?)");
        args.push(Value::Integer(id));
    }
    if let Some(online) = f.online {
        clauses.push("c.online = ?");
        args.push(Value::Integer(online.into()));
    }
    if let Some(has) = f.has_guide {
        clauses.push(if has {
            "c.id IN (SELECT channel_id FROM channel_guide)"
        } else {
            "c.id NOT IN (SELECT channel_id FROM channel_guide)"
        });
    }
    if let Some(active) = f.active {
        clauses.push("c.active = ?");
        args.push(Value::Integer(active.into()));
    }
    if let Some(enabled) = f.enabled {
        clauses.push("c.enabled = ?");
        args.push(Value::Integer(enabled.into()));
    }
    let filter = if clauses.is_empty() {
        String::new()
    } else {
        format!(" WHERE {}", clauses.join(" AND "))
    };
    let total: i64 = c.query_row(
        &format!("SELECT count(*) FROM channels c{filter}"),
        params_from_iter(args.iter()),
        |r| r.get(0),
    )?;
    let limit = f.limit.unwrap_or(100).clamp(1, 1000);
    let offset = f.offset.unwrap_or(0).max(0);
    let sql = format!(
        "{}{filter} ORDER BY c.chno IS NULL, c.chno, c.name COLLATE NOCASE, c.id \
         LIMIT {limit} OFFSET {offset}",
        select()
    );
    let mut st = c.prepare(&sql)?;
    let rows = st.query_map(params_from_iter(args.iter()), from_row)?;
    Ok(ChannelPage {
        total,
        channels: rows.collect::<Result<_, _>>()?,
    })
}

/// Every channel players may see (enabled and active), in playlist order.
pub fn playable(c: &Connection) -> StoreResult<Vec<Channel>> {
    let sql = format!(
        "{} WHERE c.enabled = 1 AND c.active = 1 \
         ORDER BY c.chno IS NULL, c.chno, c.name COLLATE NOCASE, c.id",
        select()
    );
    let mut st = c.prepare(&sql)?;
    let rows = st.query_map([], from_row)?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Every playable channel with its guide id: the XMLTV channel it is mapped to, else
/// its own `tvg_id` (empty when it has neither). This one id is the Xtream
/// `epg_channel_id`, the M3U `tvg-id` and the `xmltv.php` channel id.
pub fn playable_with_guide(c: &Connection) -> StoreResult<Vec<(Channel, String)>> {
    let sql = format!(
        "{COLUMNS}, g.xmltv_id{JOINS} LEFT JOIN channel_guide g ON g.channel_id = c.id \
         WHERE c.enabled = 1 AND c.active = 1 \
         ORDER BY c.chno IS NULL, c.chno, c.name COLLATE NOCASE, c.id"
    );
    let mut st = c.prepare(&sql)?;
    let rows = st.query_map([], |r| {
        let channel = from_row(r)?;
        let mapped: Option<String> = r.get(18)?;
        let epg_id = mapped.unwrap_or_else(|| channel.tvg_id.clone());
        Ok((channel, epg_id))
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// The category named `name`, created when missing.
pub fn category_id(c: &Connection, name: &str) -> StoreResult<i64> {
    c.prepare_cached("INSERT OR IGNORE INTO categories (name) VALUES (?1)")?
        .execute([name])?;
    Ok(
        c.prepare_cached("SELECT id FROM categories WHERE name = ?1")?
            .query_row([name], |r| r.get(0))?,
    )
}

/// A category with its channel count.
#[derive(Debug, Clone, Serialize)]
pub struct Category {
    /// Row id (`category_id`).
    pub id: i64,
    /// Name.
    pub name: String,
    /// Display order.
    pub sort_order: i64,
    /// Playable channels in it.
    pub channels: i64,
}

/// Every category, in display order.
pub fn categories(c: &Connection) -> StoreResult<Vec<Category>> {
    let mut st = c.prepare(
        "SELECT k.id, k.name, k.sort_order, \
         (SELECT count(*) FROM channels c WHERE c.category_id = k.id AND c.enabled = 1 AND c.active = 1) \
         FROM categories k ORDER BY k.sort_order, k.name COLLATE NOCASE",
    )?;
    let rows = st.query_map([], |r| {
        Ok(Category {
            id: r.get(0)?,
            name: r.get(1)?,
            sort_order: r.get(2)?,
            channels: r.get(3)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// An admin's edit of a channel: every field given becomes an override.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChannelEdit {
    /// New name.
    pub name: Option<String>,
    /// New category name (empty: none).
    pub category: Option<String>,
    /// New logo URL.
    pub logo: Option<String>,
    /// New guide id.
    pub tvg_id: Option<String>,
    /// New channel number.
    pub chno: Option<i64>,
    /// Shown to players or not.
    pub enabled: Option<bool>,
}

/// A channel an admin adds by hand.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewChannel {
    /// Display name.
    pub name: String,
    /// `acestream://…`, a content id, an engine URL or a plain http(s) stream URL.
    pub stream: String,
    /// Category name.
    pub category: Option<String>,
    /// Logo URL.
    pub logo: Option<String>,
    /// Guide id.
    pub tvg_id: Option<String>,
    /// Channel number.
    pub chno: Option<i64>,
}

fn check_text(field: &str, value: &str, max: usize) -> StoreResult<()> {
    if value.chars().count() > max || value.chars().any(char::is_control) {
        return Err(StoreError::Invalid(format!(
            "{field} must be at most {max} characters without control characters"
        )));
    }
    Ok(())
}

/// Applies an admin edit; each edited field is recorded as an override so that
/// refreshes keep the admin's value.
pub fn edit(c: &mut Connection, id: i64, e: &ChannelEdit) -> StoreResult<Channel> {
    let tx = immediate(c)?;
    let old = get(&tx, id)?;
    let mut overrides = old.overrides.clone();
    let mut mark = |f: &str| {
        if !overrides.iter().any(|o| o == f) {
            overrides.push(f.to_owned());
        }
    };
    if let Some(name) = &e.name {
        let name = name.trim();
        if name.is_empty() {
            return Err(StoreError::Invalid("name must not be empty".into()));
        }
        check_text("name", name, 200)?;
        tx.execute(
            "UPDATE channels SET name = ?2 WHERE id = ?1",
            params![id, name],
        )?;
        mark("name");
    }
    if let Some(cat) = &e.category {
        check_text("category", cat, 100)?;
        let cat_id = match cat.trim() {
            "" => None,
            name => Some(category_id(&tx, name)?),
        };
        tx.execute(
            "UPDATE channels SET category_id = ?2 WHERE id = ?1",
            params![id, cat_id],
        )?;
        mark("category");
    }
    if let Some(logo) = &e.logo {
        check_text("logo", logo, 2000)?;
        tx.execute(
            "UPDATE channels SET logo = ?2 WHERE id = ?1",
            params![id, logo.trim()],
        )?;
        mark("logo");
    }
    if let Some(tvg) = &e.tvg_id {
        check_text("tvg_id", tvg, 200)?;
        tx.execute(
            "UPDATE channels SET tvg_id = ?2 WHERE id = ?1",
            params![id, tvg.trim()],
        )?;
        mark("tvg_id");
    }
    if let Some(chno) = e.chno {
        if !(0..=1_000_000).contains(&chno) {
            return Err(StoreError::Invalid(
                "chno must be between 0 and 1000000".into(),
            ));
        }
        tx.execute(
            "UPDATE channels SET chno = ?2 WHERE id = ?1",
            params![id, chno],
        )?;
        mark("chno");
    }
    if let Some(enabled) = e.enabled {
        tx.execute(
            "UPDATE channels SET enabled = ?2 WHERE id = ?1",
            params![id, enabled],
        )?;
        mark("enabled");
    }
    tx.execute(
        "UPDATE channels SET overrides = ?2, updated_at = ?3 WHERE id = ?1",
        params![id, overrides.join(","), now_epoch()],
    )?;
    let channel = get(&tx, id)?;
    tx.commit()?;
    Ok(channel)
}

/// Adds a channel by hand with its links in order (at least one); it stays active
/// whatever the sources say. Nothing is written unless every stream is free.
pub fn add_manual(
    c: &mut Connection,
    new: &NewChannel,
    streams: &[StreamRef],
) -> StoreResult<Channel> {
    let name = new.name.trim();
    if name.is_empty() {
        return Err(StoreError::Invalid("name must not be empty".into()));
    }
    check_text("name", name, 200)?;
    if streams.is_empty() {
        return Err(StoreError::Invalid(
            "a channel needs at least one link".into(),
        ));
    }
    for (i, s) in streams.iter().enumerate() {
        if streams[..i].contains(s) {
            return Err(StoreError::Invalid("the same link is given twice".into()));
        }
    }
    let tx = immediate(c)?;
    for stream in streams {
        if let Some(existing) = by_stream(&tx, stream)? {
            return Err(StoreError::Conflict(format!(
                "channel {} ({}) already plays this stream",
                existing.id, existing.name
            )));
        }
    }
    let cat_id = match new.category.as_deref().map(str::trim) {
        Some(n) if !n.is_empty() => Some(category_id(&tx, n)?),
        _ => None,
    };
    let now = now_epoch();
    tx.execute(
        "INSERT INTO channels (name, category_id, logo, tvg_id, chno, overrides, added_at, \
         updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7)",
        params![
            name,
            cat_id,
            new.logo.as_deref().unwrap_or("").trim(),
            new.tvg_id.as_deref().unwrap_or("").trim(),
            new.chno,
            format!("{MANUAL},name,category,logo,tvg_id,chno"),
            now
        ],
    )?;
    let id = tx.last_insert_rowid();
    for (position, stream) in streams.iter().enumerate() {
        super::links::insert(&tx, id, position as i64, stream, true, now)?;
    }
    let channel = get(&tx, id)?;
    tx.commit()?;
    Ok(channel)
}

/// `(content_id, infohash, direct_url)` columns for a stream.
pub fn split_stream(stream: &StreamRef) -> (Option<&str>, Option<&str>, Option<&str>) {
    match stream {
        StreamRef::Ace {
            key: ContentKey::ContentId(v),
        } => (Some(v), None, None),
        StreamRef::Ace {
            key: ContentKey::Infohash(v),
        } => (None, Some(v), None),
        StreamRef::Direct { url } => (None, None, Some(url)),
    }
}

/// Deletes a channel.
pub fn delete(c: &Connection, id: i64) -> StoreResult<()> {
    match c.execute("DELETE FROM channels WHERE id = ?1", [id])? {
        0 => Err(StoreError::NotFound(format!("channel {id}"))),
        _ => Ok(()),
    }
}

/// An admin's change to a category.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CategoryEdit {
    /// New name (unique).
    pub name: Option<String>,
    /// New display order (lower first).
    pub sort_order: Option<i64>,
}

/// Renames or reorders a category.
pub fn edit_category(c: &Connection, id: i64, e: &CategoryEdit) -> StoreResult<()> {
    let exists: i64 = c.query_row("SELECT count(*) FROM categories WHERE id = ?1", [id], |r| {
        r.get(0)
    })?;
    if exists == 0 {
        return Err(StoreError::NotFound(format!("category {id}")));
    }
    if let Some(name) = &e.name {
        let name = name.trim();
        if name.is_empty() {
            return Err(StoreError::Invalid("name must not be empty".into()));
        }
        check_text("name", name, 100)?;
        c.execute(
            "UPDATE categories SET name = ?2 WHERE id = ?1",
            params![id, name],
        )
        .map_err(|err| match err.sqlite_error_code() {
            Some(rusqlite::ErrorCode::ConstraintViolation) => {
                StoreError::Conflict(format!("a category named {name} exists: merge instead"))
            }
            _ => err.into(),
        })?;
    }
    if let Some(order) = e.sort_order {
        c.execute(
            "UPDATE categories SET sort_order = ?2 WHERE id = ?1",
            params![id, order],
        )?;
    }
    Ok(())
}

/// Moves every channel of category `from` into `into` and deletes `from`; the moved
/// channels' category becomes an admin override, so refreshes keep the merge.
pub fn merge_categories(c: &mut Connection, from: i64, into: i64) -> StoreResult<()> {
    if from == into {
        return Err(StoreError::Invalid(
            "into must differ from the merged category".into(),
        ));
    }
    let tx = immediate(c)?;
    for id in [from, into] {
        let n: i64 = tx.query_row("SELECT count(*) FROM categories WHERE id = ?1", [id], |r| {
            r.get(0)
        })?;
        if n == 0 {
            return Err(StoreError::NotFound(format!("category {id}")));
        }
    }
    tx.execute(
        "UPDATE channels SET category_id = ?2, updated_at = ?3, \
         overrides = CASE WHEN ',' || overrides || ',' LIKE '%,category,%' THEN overrides \
                          WHEN overrides = '' THEN 'category' ELSE overrides || ',category' END \
         WHERE category_id = ?1",
        params![from, into, now_epoch()],
    )?;
    tx.execute("DELETE FROM categories WHERE id = ?1", [from])?;
    tx.commit()?;
    Ok(())
}
