//! The dashboard's pages (behind the session guard): each gathers what the
//! database holds now and renders its template; the page's script does the rest
//! through the admin REST API.

use acextream_core::store::channels::{self, ChannelFilter};
use acextream_core::store::sources::{self as rows, SourceTable};
use acextream_core::store::users;
use acextream_core::store::{StoreResult, now_epoch};
use actix_web::http::StatusCode;
use actix_web::{HttpMessage, HttpRequest, HttpResponse, web};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::error::ApiError;
use crate::session::Session;
use crate::state::AppState;
use crate::xtream::base_url::BaseUrl;

/// Channels per page of the channel list: enough to scan, small enough to stay
/// instant at tens of thousands of channels (the store pages with LIMIT/OFFSET).
const PAGE_SIZE: i64 = 50;

/// The session the guard put on the request.
fn session(req: &HttpRequest) -> Result<Session, ApiError> {
    req.extensions()
        .get::<Session>()
        .cloned()
        .ok_or(ApiError::Unauthorized)
}

/// What every page's layout needs: the nav, the admin's name, the CSRF token.
fn base(
    req: &HttpRequest,
    state: &AppState,
    page: &str,
    title: &str,
) -> Result<tera::Context, ApiError> {
    let session = session(req)?;
    let mut ctx = tera::Context::new();
    ctx.insert("page", page);
    ctx.insert("title", title);
    ctx.insert("csrf", &session.csrf);
    ctx.insert("admin", &session.user.username);
    ctx.insert("v", &*state.pages.version);
    ctx.insert("origin", &BaseUrl::of(req, &state.settings).origin());
    ctx.insert("version", env!("CARGO_PKG_VERSION"));
    // Stream URLs shown for copying (channel list, player) then need credentials.
    ctx.insert("proxy_auth", &state.settings.server.ace_proxy_auth);
    Ok(ctx)
}

fn ok(state: &AppState, template: &str, ctx: &tera::Context) -> Result<HttpResponse, ApiError> {
    Ok(state.pages.render(StatusCode::OK, template, ctx))
}

/// Counts shown on the overview.
#[derive(Debug, Default, Serialize)]
struct Counts {
    channels: i64,
    playable: i64,
    online: i64,
    offline: i64,
    with_guide: i64,
    users: i64,
    admins: i64,
}

fn counts(c: &rusqlite::Connection) -> StoreResult<Counts> {
    let one = |sql: &str| -> StoreResult<i64> { Ok(c.query_row(sql, [], |r| r.get(0))?) };
    Ok(Counts {
        channels: one("SELECT count(*) FROM channels")?,
        playable: one("SELECT count(*) FROM channels WHERE enabled = 1 AND active = 1")?,
        online: one("SELECT count(*) FROM channels WHERE online = 1")?,
        offline: one("SELECT count(*) FROM channels WHERE online = 0")?,
        with_guide: one("SELECT count(*) FROM channel_guide")?,
        users: one("SELECT count(*) FROM users")?,
        admins: one("SELECT count(*) FROM users WHERE is_admin = 1")?,
    })
}

/// `/dashboard/`: health, live numbers, sources and recent warnings.
pub async fn overview(
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let mut ctx = base(&req, &state, "overview", "Overview")?;
    // The chart's history fills from the first overview on.
    crate::api::history::ensure_started(&state);
    let (counts, sources, guides) = state
        .store
        .run(|c| {
            Ok((
                counts(c)?,
                rows::list(c, SourceTable::Channels)?,
                rows::list(c, SourceTable::Epg)?,
            ))
        })
        .await?;
    ctx.insert("counts", &counts);
    ctx.insert("sources", &sources);
    ctx.insert("guides", &guides);
    ctx.insert("started_at", &state.started_at.as_second());
    ctx.insert("archive", &crate::api::archive::status_json(&state).await?);
    ok(&state, "overview.html", &ctx)
}

/// `/dashboard/live`: the live streams (all data comes from the script's polling).
pub async fn live(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let ctx = base(&req, &state, "live", "Live streams")?;
    ok(&state, "live.html", &ctx)
}

/// The channel list's filters, as the GET form sends them (empty = any).
#[derive(Debug, Default, Deserialize)]
pub struct ChannelQuery {
    #[serde(default)]
    search: String,
    #[serde(default)]
    category_id: String,
    #[serde(default)]
    source_id: String,
    #[serde(default)]
    online: String,
    #[serde(default)]
    has_guide: String,
    #[serde(default)]
    enabled: String,
    #[serde(default)]
    page: String,
}

fn tri(v: &str) -> Option<bool> {
    match v {
        "yes" | "true" | "1" => Some(true),
        "no" | "false" | "0" => Some(false),
        _ => None,
    }
}

/// A channel as a table row.
#[derive(Debug, Serialize)]
struct ChannelRow {
    id: i64,
    name: String,
    category: String,
    /// Only http(s) logos are shown as images (never `javascript:` or `data:`).
    logo: Option<String>,
    logo_raw: String,
    /// The name's first letter, shown when there is no logo.
    initial: String,
    tvg_id: String,
    enabled: bool,
    active: bool,
    online: Option<bool>,
    checked_at: Option<i64>,
    chno: Option<i64>,
    /// What the engine is asked for first (content id, infohash or direct URL).
    stream: String,
    /// How many links the channel has.
    links: i64,
    /// A player URL for the channel through this server.
    play_url: String,
    /// Catch-up depth in days (0: not recorded).
    archive_days: u32,
}

/// `/dashboard/channels`: filters, a page of channels, edit and check tools.
pub async fn channels(
    req: HttpRequest,
    state: web::Data<AppState>,
    query: web::Query<ChannelQuery>,
) -> Result<HttpResponse, ApiError> {
    let mut ctx = base(&req, &state, "channels", "Channels")?;
    let q = query.into_inner();
    let page = q.page.parse::<i64>().unwrap_or(1).max(1);
    let search: String = q.search.trim().chars().take(200).collect();
    let filter = ChannelFilter {
        search: (!search.is_empty()).then(|| search.clone()),
        category_id: q.category_id.parse().ok(),
        source_id: q.source_id.parse().ok(),
        online: tri(&q.online),
        has_guide: tri(&q.has_guide),
        enabled: tri(&q.enabled),
        limit: Some(PAGE_SIZE),
        offset: Some((page - 1).saturating_mul(PAGE_SIZE)),
        ..ChannelFilter::default()
    };
    let (list, categories, sources, archived) = state
        .store
        .run(move |c| {
            Ok((
                channels::list(c, &filter)?,
                channels::categories(c)?,
                rows::list(c, SourceTable::Channels)?,
                acextream_core::store::archive::archived(c)?,
            ))
        })
        .await?;
    let origin = BaseUrl::of(&req, &state.settings).origin();
    let rows: Vec<ChannelRow> = list
        .channels
        .into_iter()
        .map(|ch| {
            let (param, value) = match (&ch.content_id, &ch.infohash, &ch.direct_url) {
                (Some(id), _, _) => ("id", id.clone()),
                (None, Some(h), _) => ("infohash", h.clone()),
                (None, None, Some(u)) => ("url", u.clone()),
                _ => ("id", String::new()),
            };
            let play_url = if param == "url" {
                value.clone()
            } else {
                format!("{origin}/ace/getstream?{param}={value}")
            };
            let logo = ch.logo.trim();
            let safe_logo = (logo.starts_with("https://") || logo.starts_with("http://"))
                .then(|| logo.to_owned());
            ChannelRow {
                id: ch.id,
                category: ch.category.unwrap_or_default(),
                logo: safe_logo,
                logo_raw: ch.logo.clone(),
                initial: ch
                    .name
                    .chars()
                    .next()
                    .map(|c| c.to_uppercase().to_string())
                    .unwrap_or_default(),
                tvg_id: ch.tvg_id,
                enabled: ch.enabled,
                active: ch.active,
                online: ch.online,
                checked_at: ch.checked_at,
                chno: ch.chno,
                stream: value,
                links: ch.links,
                play_url,
                archive_days: archived.get(&ch.id).copied().unwrap_or(0),
                name: ch.name,
            }
        })
        .collect();
    let pages = ((list.total + PAGE_SIZE - 1) / PAGE_SIZE).max(1);
    // Links to other pages keep every filter.
    let keep = |p: i64| -> String {
        let mut s = url::form_urlencoded::Serializer::new(String::new());
        for (k, v) in [
            ("search", search.as_str()),
            ("category_id", q.category_id.as_str()),
            ("source_id", q.source_id.as_str()),
            ("online", q.online.as_str()),
            ("has_guide", q.has_guide.as_str()),
            ("enabled", q.enabled.as_str()),
        ] {
            if !v.is_empty() {
                s.append_pair(k, v);
            }
        }
        s.append_pair("page", &p.to_string());
        format!("?{}", s.finish())
    };
    ctx.insert("channels", &rows);
    ctx.insert("total", &list.total);
    ctx.insert("page_no", &page);
    ctx.insert("pages", &pages);
    ctx.insert(
        "first_shown",
        &if list.total == 0 {
            0
        } else {
            (page - 1) * PAGE_SIZE + 1
        },
    );
    ctx.insert("last_shown", &((page - 1) * PAGE_SIZE + rows.len() as i64));
    ctx.insert("prev_link", &(page > 1).then(|| keep(page - 1)));
    ctx.insert("next_link", &(page < pages).then(|| keep(page + 1)));
    ctx.insert("categories", &categories);
    ctx.insert("sources", &sources);
    ctx.insert(
        "f",
        &json!({
            "search": search, "category_id": q.category_id, "source_id": q.source_id,
            "online": q.online, "has_guide": q.has_guide, "enabled": q.enabled,
        }),
    );
    ctx.insert("sel_category", &q.category_id.parse::<i64>().ok());
    ctx.insert("sel_source", &q.source_id.parse::<i64>().ok());
    ok(&state, "channels.html", &ctx)
}

/// `/dashboard/categories`: every category with its channel count.
pub async fn categories(
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let mut ctx = base(&req, &state, "categories", "Categories")?;
    let cats = state
        .store
        .run(|c| {
            let none: i64 = c.query_row(
                "SELECT count(*) FROM channels WHERE category_id IS NULL AND enabled = 1 AND active = 1",
                [],
                |r| r.get(0),
            )?;
            Ok((
                channels::categories(c)?,
                none,
                acextream_core::store::archive::category_marks(c)?,
            ))
        })
        .await?;
    let (cats, uncategorised, marks) = (cats.0, cats.1, cats.2);
    // Each category with its catch-up depth (0: not recorded).
    let cats: Vec<serde_json::Value> = cats
        .iter()
        .map(|c| {
            let mut v = serde_json::json!(c);
            v["archive_days"] = marks.get(&c.id).copied().unwrap_or(0).into();
            v
        })
        .collect();
    ctx.insert("categories", &cats);
    ctx.insert("uncategorised", &uncategorised);
    ok(&state, "categories.html", &ctx)
}

/// An account as the users page shows it (never its password hash).
#[derive(Debug, Serialize)]
struct UserRow {
    id: i64,
    username: String,
    enabled: bool,
    is_admin: bool,
    is_trial: bool,
    max_connections: u32,
    expires_at: Option<i64>,
    expired: bool,
    /// The last day the account works (`YYYY-MM-DD`, server time zone), as the
    /// users API takes it in `expires`.
    expires_date: String,
    created_at: i64,
    notes: String,
    open_streams: usize,
    /// Base path of the account's HDHomeRun tuner, with its tuner token.
    tuner_path: String,
}

/// `/dashboard/users`: accounts, their player details and the admin's sessions.
pub async fn users(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let mut ctx = base(&req, &state, "users", "Users")?;
    let session = session(&req)?;
    let list = state.store.run(|c| users::list(c)).await?;
    let open = state.connections.all();
    let now = now_epoch();
    let tz = state.settings.time_zone();
    let key = crate::hdhr::device::installation_key(&state).await?;
    let rows: Vec<UserRow> = list
        .into_iter()
        .map(|u| UserRow {
            tuner_path: crate::hdhr::device::tuner_path(&key, &u),
            expired: u.is_expired(now),
            expires_date: u
                .expires_at
                .and_then(|t| jiff::Timestamp::from_second(t - 1).ok())
                .map(|t| t.to_zoned(tz.clone()).date().to_string())
                .unwrap_or_default(),
            open_streams: open.get(&u.username).copied().unwrap_or(0),
            id: u.id,
            enabled: u.enabled,
            is_admin: u.is_admin,
            is_trial: u.is_trial,
            max_connections: u.max_connections,
            expires_at: u.expires_at,
            created_at: u.created_at,
            notes: u.notes,
            username: u.username,
        })
        .collect();
    let sessions = state
        .sessions
        .list(&state.store, session.user.id, session.token_hash.clone())
        .await?;
    ctx.insert("users", &rows);
    ctx.insert("sessions", &sessions);
    ctx.insert("session_expires", &session.expires_at);
    ok(&state, "users.html", &ctx)
}

/// `/dashboard/sources`: channel and guide sources with their last results.
pub async fn sources(
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let mut ctx = base(&req, &state, "sources", "Sources & EPG")?;
    let (sources, guides) = state
        .store
        .run(|c| {
            Ok((
                rows::list(c, SourceTable::Channels)?,
                rows::list(c, SourceTable::Epg)?,
            ))
        })
        .await?;
    ctx.insert("sources", &sources);
    ctx.insert("guides", &guides);
    ok(&state, "sources.html", &ctx)
}

/// `/dashboard/settings`: the settings (loaded by the script from `/api/settings`).
pub async fn settings(
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let ctx = base(&req, &state, "settings", "Settings")?;
    ok(&state, "settings.html", &ctx)
}

/// `/dashboard/logs`: recent log lines (loaded by the script from `/api/logs/tail`).
pub async fn logs(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let ctx = base(&req, &state, "logs", "Logs")?;
    ok(&state, "logs.html", &ctx)
}

/// `GET /dashboard/stream-names?id=…&id=…`: the channel name of each live stream
/// id (content id or infohash), for the live page, which gets only ids from the
/// multiplexer. JSON `{id: name}`; unknown ids are left out.
pub async fn stream_names(
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    // At most a page's worth of ids: the live view never shows more at once.
    let ids: Vec<String> = url::form_urlencoded::parse(req.query_string().as_bytes())
        .filter(|(k, _)| k == "id")
        .map(|(_, v)| v.into_owned())
        .filter(|v| v.len() <= 2048)
        .take(200)
        .collect();
    let names = state
        .store
        .run(move |c| {
            let mut st = c.prepare(
                "SELECT c.name FROM channel_links l JOIN channels c ON c.id = l.channel_id \
                 WHERE l.content_id = ?1 OR l.infohash = ?1 OR l.direct_url = ?1 LIMIT 1",
            )?;
            let mut out = serde_json::Map::new();
            for id in ids {
                let name: Option<String> =
                    rusqlite::OptionalExtension::optional(st.query_row([&id], |r| r.get(0)))?;
                if let Some(n) = name {
                    out.insert(id, n.into());
                }
            }
            Ok(out)
        })
        .await?;
    Ok(HttpResponse::Ok()
        .insert_header(("cache-control", "no-store"))
        .json(names))
}

/// An unknown dashboard path: a friendly 404 page in the layout.
pub async fn not_found(
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let ctx = base(&req, &state, "", "Not found")?;
    Ok(state
        .pages
        .render(StatusCode::NOT_FOUND, "not_found.html", &ctx))
}
