//! Deciding, row by row, what the old file's data becomes here, against what the
//! acextream database already holds: the rows to insert, the rows already present
//! (so a second run imports nothing), and the rows skipped with a reason. Nothing
//! here writes; [`super::write`] does, in the same transaction.
//!
//! Identities: users by username, categories by name, channels by their stream
//! (content id, infohash or direct URL — the catalogue's own identity), sources by
//! URL, settings by key.

use std::collections::{HashMap, HashSet};

use jiff::tz::TimeZone;
use rusqlite::{Connection, OptionalExtension};
use serde_json::{Value as Json, json};

use super::legacy::{LegacyDb, Row};
use super::mapping::{self, boolean, epoch, integer, printable, text};
use super::summary::{Kind, Summary};
use crate::accounts::{check_legacy_hash, validate_username};
use crate::catalogue::validate_source_input;
use crate::engine::ContentKey;
use crate::runtime_settings;
use crate::sources::StreamRef;
use crate::store::channels;
use crate::store::sources::{self, SourceInput, SourceTable};
use crate::store::{StoreResult, users};

/// Largest `max_connections` imported (the admin API's own limit).
const MAX_CONNECTIONS: i64 = 10_000;

/// An account to insert.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewAccount {
    /// Login name.
    pub username: String,
    /// bcrypt (re-hashed at the first login) or argon2id.
    pub password_hash: String,
    /// `is_active`.
    pub enabled: bool,
    /// `is_admin`.
    pub is_admin: bool,
    /// `is_trial`.
    pub is_trial: bool,
    /// Streams at once; 0 = unlimited.
    pub max_connections: u32,
    /// Ours: the first second after the last day.
    pub expires_at: Option<i64>,
    /// Epoch seconds.
    pub created_at: i64,
    /// Free text.
    pub notes: String,
}

/// A channel to insert (admin-owned, like one added by hand).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewChannelRow {
    /// Display name.
    pub name: String,
    /// What plays it.
    pub stream: StreamRef,
    /// Category name.
    pub category: Option<String>,
    /// Logo URL.
    pub logo: String,
    /// Guide id.
    pub tvg_id: String,
    /// Channel number (`display_order` when positive).
    pub chno: Option<i64>,
    /// Shown to players (`is_active`).
    pub enabled: bool,
    /// Last check result.
    pub online: Option<bool>,
    /// Last check, epoch seconds.
    pub checked_at: Option<i64>,
    /// First seen, epoch seconds.
    pub added_at: i64,
}

/// Everything to write, and the summary so far.
#[derive(Debug, Default)]
pub struct Plan {
    /// Accounts.
    pub users: Vec<NewAccount>,
    /// Categories with their display order.
    pub categories: Vec<(String, i64)>,
    /// Channels.
    pub channels: Vec<NewChannelRow>,
    /// Playlist sources.
    pub channel_sources: Vec<SourceInput>,
    /// Guide sources.
    pub guide_sources: Vec<SourceInput>,
    /// Runtime settings, normalised.
    pub settings: Vec<(&'static str, Json)>,
    /// Enabled admins once this is written (those already here and those imported).
    pub admins: Vec<String>,
    /// Channels whose 40-hex id was kept as a content id without knowing its kind.
    pub unsure_ids: usize,
    /// The report.
    pub summary: Summary,
}

/// What the plan needs besides the two databases.
#[derive(Debug, Clone)]
pub struct Context {
    /// `server.timezone` from the settings (the old file's own wins when imported).
    pub time_zone: TimeZone,
    /// What the engine said about unsure 40-hex ids.
    pub probed: HashMap<String, ContentKey>,
    /// Now, epoch seconds (default creation time).
    pub now: i64,
}

/// Old settings keys with a runtime counterpart here.
const SETTINGS: &[(&str, &str)] = &[
    ("server_timezone", "server.timezone"),
    ("scraper_update_interval", "sources.refresh_interval"),
    ("epg_update_interval", "epg.refresh_interval"),
    ("external_url", "server.public_url"),
];

/// Decides what every row of `db` becomes, reading (never writing) `here`.
pub fn plan(
    here: &Connection,
    db: &LegacyDb,
    ctx: &Context,
    summary: Summary,
) -> StoreResult<Plan> {
    let mut plan = Plan {
        summary,
        ..Plan::default()
    };
    for kind in Kind::ALL {
        plan.summary.count(kind).found = db.rows(kind.table()).len();
    }
    // Settings first: the old file's time zone decides what its expiry dates mean.
    let tz = settings(here, db, &mut plan)?.unwrap_or_else(|| ctx.time_zone.clone());
    accounts(here, db, &tz, ctx.now, &mut plan)?;
    let names = categories(here, db, &mut plan)?;
    channel_rows(here, db, ctx, &names, &mut plan)?;
    source_rows(here, db, SourceTable::Channels, &mut plan)?;
    source_rows(here, db, SourceTable::Epg, &mut plan)?;
    Ok(plan)
}

/// Imports the settings with a counterpart; returns the time zone in force after.
fn settings(here: &Connection, db: &LegacyDb, plan: &mut Plan) -> StoreResult<Option<TimeZone>> {
    let kind = Kind::Settings;
    let mut seen = HashSet::new();
    let engine: HashMap<String, String> = db
        .rows("settings")
        .iter()
        .filter_map(|r| {
            let key = text(r.get("key")).ok().flatten()?;
            let value = text(r.get("value")).ok().flatten()?;
            Some((key.trim().to_owned(), value.trim().to_owned()))
        })
        .filter(|(k, _)| k.starts_with("acestream_engine_"))
        .collect();
    let mut tz_key_value: Option<String> = here
        .query_row(
            "SELECT value FROM settings WHERE key = 'server.timezone'",
            [],
            |r| r.get::<_, String>(0),
        )
        .optional()?
        .and_then(|v| serde_json::from_str::<String>(&v).ok());
    for r in db.rows("settings") {
        let key = match text(r.get("key")) {
            Ok(Some(k)) if !k.trim().is_empty() => k.trim().to_owned(),
            _ => {
                plan.summary.skip(kind, r.id, "", "has no key".into());
                continue;
            }
        };
        if !seen.insert(key.clone()) {
            plan.summary
                .skip(kind, r.id, &key, "duplicate key in the old file".into());
            continue;
        }
        if key == "acestream_engine_host" || key == "acestream_engine_port" {
            let host = engine
                .get("acestream_engine_host")
                .map(String::as_str)
                .unwrap_or("127.0.0.1");
            let port = engine
                .get("acestream_engine_port")
                .map(String::as_str)
                .unwrap_or("6878");
            plan.summary.skip(
                kind,
                r.id,
                &key,
                format!(
                    "engine.url cannot be set at runtime: put engine.url = \"http://{host}:{port}\" \
                     in the settings file (or ACEXTREAM_ENGINE__URL)"
                ),
            );
            continue;
        }
        let Some((_, ours)) = SETTINGS.iter().find(|(old, _)| *old == key) else {
            plan.summary
                .skip(kind, r.id, &key, "no counterpart in acextream".into());
            continue;
        };
        let raw = match text(r.get("value")) {
            Ok(Some(v)) if !v.trim().is_empty() => v.trim().to_owned(),
            Ok(_) => {
                plan.summary.skip(kind, r.id, &key, "empty value".into());
                continue;
            }
            Err(e) => {
                plan.summary.skip(kind, r.id, &key, format!("value {e}"));
                continue;
            }
        };
        // Intervals were whole seconds there; ours take seconds as a number too.
        let value = match raw.parse::<i64>() {
            Ok(n) if ours.ends_with("interval") => json!(n),
            _ => json!(raw),
        };
        let normalized = match runtime_settings::normalize(ours, &value) {
            Ok(v) => v,
            Err(e) => {
                plan.summary.skip(kind, r.id, &key, e.to_string());
                continue;
            }
        };
        let present: i64 = here.query_row(
            "SELECT count(*) FROM settings WHERE key = ?1",
            [ours],
            |r| r.get(0),
        )?;
        if present > 0 {
            plan.summary.count(kind).already_present += 1;
            continue;
        }
        if *ours == "server.timezone" {
            tz_key_value = normalized.as_str().map(str::to_owned);
        }
        plan.summary.count(kind).imported += 1;
        plan.settings.push((ours, normalized));
    }
    Ok(tz_key_value.and_then(|name| TimeZone::get(&name).ok()))
}

fn accounts(
    here: &Connection,
    db: &LegacyDb,
    tz: &TimeZone,
    now: i64,
    plan: &mut Plan,
) -> StoreResult<()> {
    let kind = Kind::Users;
    let mut st = here.prepare("SELECT username FROM users WHERE is_admin = 1 AND enabled = 1")?;
    let rows = st.query_map([], |r| r.get::<_, String>(0))?;
    plan.admins = rows.collect::<Result<_, _>>()?;
    let mut seen = HashSet::new();
    for r in db.rows("users") {
        let shown = text(r.get("username")).ok().flatten().unwrap_or_default();
        let account = match account(r, tz, now) {
            Ok(a) => a,
            Err(reason) => {
                plan.summary.skip(kind, r.id, &shown, reason);
                continue;
            }
        };
        if users::by_name(here, &account.username)?.is_some() {
            plan.summary.count(kind).already_present += 1;
            continue;
        }
        if !seen.insert(account.username.clone()) {
            plan.summary.skip(
                kind,
                r.id,
                &shown,
                "duplicate username in the old file".into(),
            );
            continue;
        }
        if account.is_admin && account.enabled {
            plan.admins.push(account.username.clone());
        }
        plan.summary.count(kind).imported += 1;
        plan.users.push(account);
    }
    plan.admins.sort();
    Ok(())
}

/// One old account as ours, or why it cannot be.
fn account(r: &Row, tz: &TimeZone, now: i64) -> Result<NewAccount, String> {
    let username = text(r.get("username"))
        .map_err(|e| format!("username {e}"))?
        .ok_or("has no username")?;
    validate_username(&username).map_err(|e| e.to_string())?;
    let hash = text(r.get("password_hash"))
        .map_err(|e| format!("password_hash {e}"))?
        .ok_or("has no password_hash")?;
    if !(hash.starts_with("$argon2id$") && argon2::password_hash::PasswordHash::new(&hash).is_ok())
    {
        check_legacy_hash(&hash)?;
    }
    let flag = |col: &str, default: bool| {
        boolean(r.get(col))
            .map(|b| b.unwrap_or(default))
            .map_err(|e| format!("{col}: {e}"))
    };
    let max = integer(r.get("max_connections"))
        .map_err(|e| format!("max_connections: {e}"))?
        .unwrap_or(1);
    if !(0..=MAX_CONNECTIONS).contains(&max) {
        return Err(format!(
            "max_connections {max} is outside 0 to {MAX_CONNECTIONS}"
        ));
    }
    let expires_at = match text(r.get("expiry_date")).map_err(|e| format!("expiry_date {e}"))? {
        Some(s) if !s.trim().is_empty() => {
            Some(mapping::expiry(&s, tz).map_err(|e| format!("expiry_date: {e}"))?)
        }
        _ => None,
    };
    let notes = text(r.get("notes"))
        .map_err(|e| format!("notes {e}"))?
        .unwrap_or_default();
    Ok(NewAccount {
        username,
        password_hash: hash,
        enabled: flag("is_active", true)?,
        is_admin: flag("is_admin", false)?,
        is_trial: flag("is_trial", false)?,
        max_connections: u32::try_from(max).unwrap_or(1),
        expires_at,
        created_at: epoch(r.get("created_at")).ok().flatten().unwrap_or(now),
        notes,
    })
}

/// Imports the categories; returns the name each old category id stands for here.
fn categories(
    here: &Connection,
    db: &LegacyDb,
    plan: &mut Plan,
) -> StoreResult<HashMap<i64, String>> {
    let kind = Kind::Categories;
    let mut names = HashMap::new();
    let mut seen = HashSet::new();
    for r in db.rows("categories") {
        let name = match text(r.get("name")) {
            Ok(Some(n)) if !n.trim().is_empty() => n.trim().to_owned(),
            Ok(_) => {
                plan.summary.skip(kind, r.id, "", "has no name".into());
                continue;
            }
            Err(e) => {
                plan.summary.skip(kind, r.id, "", format!("name {e}"));
                continue;
            }
        };
        if !printable(&name, 100) {
            plan.summary.skip(
                kind,
                r.id,
                &name,
                "name is longer than 100 characters or has control characters".into(),
            );
            continue;
        }
        let order = match integer(r.get("display_order")) {
            Ok(o) => o.unwrap_or(0),
            Err(e) => {
                plan.summary
                    .adjust(kind, r.id, &name, format!("display_order {e}: 0 used"));
                0
            }
        };
        if !seen.insert(name.clone()) {
            plan.summary
                .skip(kind, r.id, &name, "duplicate name in the old file".into());
            continue;
        }
        if let Some(id) = r.id {
            names.insert(id, name.clone());
        }
        let present: i64 = here.query_row(
            "SELECT count(*) FROM categories WHERE name = ?1",
            [&name],
            |r| r.get(0),
        )?;
        if present > 0 {
            plan.summary.count(kind).already_present += 1;
            continue;
        }
        plan.summary.count(kind).imported += 1;
        plan.categories.push((name, order));
    }
    Ok(names)
}

/// The column and value a stream is known by, for duplicate detection.
fn identity(s: &StreamRef) -> (u8, String) {
    match s {
        StreamRef::Ace {
            key: ContentKey::ContentId(v),
        } => (0, v.clone()),
        StreamRef::Ace {
            key: ContentKey::Infohash(v),
        } => (1, v.clone()),
        StreamRef::Direct { url } => (2, url.clone()),
    }
}

fn channel_rows(
    here: &Connection,
    db: &LegacyDb,
    ctx: &Context,
    categories: &HashMap<i64, String>,
    plan: &mut Plan,
) -> StoreResult<()> {
    let kind = Kind::Channels;
    let mut seen: HashMap<(u8, String), Option<i64>> = HashMap::new();
    for r in db.rows("channels") {
        let shown = text(r.get("name")).ok().flatten().unwrap_or_default();
        let (mut channel, unsure) = match channel(r, ctx.now) {
            Ok(c) => c,
            Err(reason) => {
                plan.summary.skip(kind, r.id, &shown, reason);
                continue;
            }
        };
        let name = channel.name.clone();
        if unsure && let StreamRef::Ace { key } = &channel.stream {
            match ctx.probed.get(key.value()) {
                Some(k) => channel.stream = StreamRef::Ace { key: k.clone() },
                None => plan.unsure_ids += 1,
            }
        }
        match integer(r.get("category_id")) {
            Ok(None) => {}
            Ok(Some(id)) => match categories.get(&id) {
                Some(n) => channel.category = Some(n.clone()),
                None => plan.summary.adjust(
                    kind,
                    r.id,
                    &name,
                    format!("category_id {id} names no imported category: no category"),
                ),
            },
            Err(e) => {
                plan.summary
                    .adjust(kind, r.id, &name, format!("category_id {e}: no category"))
            }
        }
        let logo = text(r.get("logo_url")).ok().flatten().unwrap_or_default();
        if printable(logo.trim(), 2000) {
            channel.logo = logo.trim().to_owned();
        } else {
            plan.summary.adjust(
                kind,
                r.id,
                &name,
                "logo_url is too long or has control characters: no logo".into(),
            );
        }
        let epg = text(r.get("epg_id")).ok().flatten().unwrap_or_default();
        if printable(epg.trim(), 200) {
            channel.tvg_id = epg.trim().to_owned();
        } else {
            plan.summary.adjust(
                kind,
                r.id,
                &name,
                "epg_id is too long or has control characters: no guide id".into(),
            );
        }
        let id = identity(&channel.stream);
        if let Some(first) = seen.get(&id) {
            let of = first.map(|i| format!(" #{i}")).unwrap_or_default();
            plan.summary.skip(
                kind,
                r.id,
                &name,
                format!("plays the same stream as channel{of} of the old file"),
            );
            continue;
        }
        seen.insert(id, r.id);
        if channels::by_stream(here, &channel.stream)?.is_some() {
            plan.summary.count(kind).already_present += 1;
            continue;
        }
        plan.summary.count(kind).imported += 1;
        plan.channels.push(channel);
    }
    Ok(())
}

/// One old channel's essentials, or why it cannot be imported; and whether its
/// 40-hex id's kind is unsure.
fn channel(r: &Row, now: i64) -> Result<(NewChannelRow, bool), String> {
    let name = text(r.get("name"))
        .map_err(|e| format!("name {e}"))?
        .map(|n| n.trim().to_owned())
        .filter(|n| !n.is_empty())
        .ok_or("has no name")?;
    if !printable(&name, 200) {
        return Err("name is longer than 200 characters or has control characters".into());
    }
    let id = text(r.get("acestream_id")).map_err(|e| format!("acestream_id {e}"))?;
    let url = text(r.get("stream_url")).map_err(|e| format!("stream_url {e}"))?;
    let stream = mapping::stream(id.as_deref(), url.as_deref())?;
    let enabled = boolean(r.get("is_active"))
        .map_err(|e| format!("is_active: {e}"))?
        .unwrap_or(true);
    let chno = integer(r.get("display_order"))
        .ok()
        .flatten()
        .filter(|n| (1..=1_000_000).contains(n));
    Ok((
        NewChannelRow {
            name,
            stream: stream.stream,
            category: None,
            logo: String::new(),
            tvg_id: String::new(),
            chno,
            enabled,
            online: boolean(r.get("is_online")).ok().flatten(),
            checked_at: epoch(r.get("last_checked")).ok().flatten(),
            added_at: epoch(r.get("created_at")).ok().flatten().unwrap_or(now),
        },
        stream.unsure,
    ))
}

fn source_rows(
    here: &Connection,
    db: &LegacyDb,
    table: SourceTable,
    plan: &mut Plan,
) -> StoreResult<()> {
    let (kind, old) = match table {
        SourceTable::Channels => (Kind::ChannelSources, "scraper_urls"),
        SourceTable::Epg => (Kind::GuideSources, "epg_sources"),
    };
    let mut seen = HashSet::new();
    for r in db.rows(old) {
        let url = match text(r.get("url")) {
            Ok(Some(u)) if !u.trim().is_empty() => u.trim().to_owned(),
            Ok(_) => {
                plan.summary.skip(kind, r.id, "", "has no url".into());
                continue;
            }
            Err(e) => {
                plan.summary.skip(kind, r.id, "", format!("url {e}"));
                continue;
            }
        };
        let enabled = match boolean(r.get("is_enabled")) {
            Ok(b) => b.unwrap_or(true),
            Err(e) => {
                plan.summary
                    .skip(kind, r.id, &url, format!("is_enabled: {e}"));
                continue;
            }
        };
        // "auto" was the replaced system's default and is ours too; a kind we do not
        // know falls back to it (the content decides).
        let kind_text = text(r.get("scraper_type")).ok().flatten();
        let source_kind = match (table, kind_text.as_deref().map(str::trim)) {
            (SourceTable::Channels, Some(k @ ("m3u" | "json" | "html"))) => Some(k.to_owned()),
            (SourceTable::Channels, _) => Some("auto".to_owned()),
            (SourceTable::Epg, _) => None,
        };
        let input = SourceInput {
            url: Some(url.clone()),
            kind: source_kind,
            enabled: Some(enabled),
            ..SourceInput::default()
        };
        if let Err(e) = validate_source_input(&input, table) {
            plan.summary.skip(kind, r.id, &url, e.to_string());
            continue;
        }
        if !seen.insert(url.clone()) {
            plan.summary
                .skip(kind, r.id, &url, "duplicate url in the old file".into());
            continue;
        }
        if sources::by_url(here, table, &url)?.is_some() {
            plan.summary.count(kind).already_present += 1;
            continue;
        }
        plan.summary.count(kind).imported += 1;
        match table {
            SourceTable::Channels => plan.channel_sources.push(input),
            SourceTable::Epg => plan.guide_sources.push(input),
        }
    }
    Ok(())
}
