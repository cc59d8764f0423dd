//! The JSON documents players parse, with the exact field names and JSON types of
//! real panels (XTREAM.md): clients call `int()` on strings and crash on a missing
//! key or a wrong container, so every field here is deliberate.

use acextream_core::epg::StoredProgramme;
use acextream_core::store::channels::{Category, Channel};
use acextream_core::store::users::User;
use base64::Engine as _;
use serde_json::{Value, json};

use super::base_url::BaseUrl;

/// `exp_date` for accounts that never expire, when null is not wanted: 2100-01-01.
pub const NEVER_EXPIRES: i64 = 4_102_444_800;
/// `max_connections` shown for unlimited accounts: some clients refuse to play when
/// `active_cons >= max_connections`, so 0 would read as "none allowed".
pub const UNLIMITED_CONNECTIONS: u32 = 999;
/// The category of channels that have none.
pub const UNCATEGORIZED: (i64, &str) = (0, "Uncategorized");

/// Everything the login payload needs besides the account.
pub struct ServerView<'a> {
    /// Where players reach us.
    pub base: &'a BaseUrl,
    /// IANA name of the time zone.
    pub timezone: &'a str,
    /// The zone itself.
    pub tz: &'a jiff::tz::TimeZone,
    /// Send `exp_date: null` for never-expiring accounts.
    pub exp_date_null: bool,
    /// Whether `.m3u8` (HLS) is offered besides `.ts`.
    pub hls: bool,
}

/// `YYYY-MM-DD HH:MM:SS` wall clock in `tz`.
pub fn wall_clock(epoch: i64, tz: &jiff::tz::TimeZone) -> String {
    jiff::Timestamp::from_second(epoch)
        .map(|t| {
            t.to_zoned(tz.clone())
                .strftime("%Y-%m-%d %H:%M:%S")
                .to_string()
        })
        .unwrap_or_default()
}

/// The `user_info` + `server_info` login payload.
pub fn login_payload(user: &User, password: &str, active: usize, view: &ServerView<'_>) -> Value {
    let now = jiff::Timestamp::now().as_second();
    let exp_date = match user.expires_at {
        Some(t) => json!(t.to_string()),
        None if view.exp_date_null => Value::Null,
        None => json!(NEVER_EXPIRES.to_string()),
    };
    let max = if user.max_connections == 0 {
        UNLIMITED_CONNECTIONS
    } else {
        user.max_connections
    };
    let port = view.base.port_or_default().to_string();
    let https = view.base.scheme == "https";
    json!({
        "user_info": {
            "username": user.username,
            "password": password,
            "message": "",
            "auth": 1,
            "status": "Active",
            "exp_date": exp_date,
            "is_trial": if user.is_trial { "1" } else { "0" },
            "active_cons": active.to_string(),
            "created_at": user.created_at.to_string(),
            "max_connections": max.to_string(),
            "allowed_output_formats": if view.hls { json!(["m3u8", "ts"]) } else { json!(["ts"]) },
        },
        "server_info": {
            "url": view.base.host,
            "port": if https { "80".to_owned() } else { port.clone() },
            "https_port": if https { port } else { "443".to_owned() },
            "server_protocol": view.base.scheme,
            "rtmp_port": "",
            "timezone": view.timezone,
            "timestamp_now": now,
            "time_now": wall_clock(now, view.tz),
            "process": true,
        },
    })
}

/// What players get for wrong or missing credentials (HTTP 200, as panels do).
pub fn denied() -> Value {
    json!({ "user_info": { "auth": 0 } })
}

/// A refused account: `auth` 0 with its status.
pub fn refused(username: &str, status: &str) -> Value {
    json!({ "user_info": {
        "username": username,
        "auth": 0,
        "status": status,
        "message": format!("account {}", status.to_lowercase()),
    }})
}

/// The category id of a channel as players see it.
pub fn category_of(ch: &Channel) -> i64 {
    ch.category_id.unwrap_or(UNCATEGORIZED.0)
}

/// One `get_live_categories` row.
pub fn category_row(id: i64, name: &str) -> Value {
    json!({ "category_id": id.to_string(), "category_name": name, "parent_id": 0 })
}

/// The live categories: those with playable channels, plus "Uncategorized" when a
/// playable channel has no category.
pub fn categories(cats: &[Category], channels: &[(Channel, String)]) -> Vec<Value> {
    let mut rows: Vec<Value> = cats
        .iter()
        .filter(|c| c.channels > 0)
        .map(|c| category_row(c.id, &c.name))
        .collect();
    if channels.iter().any(|(c, _)| c.category_id.is_none()) {
        rows.push(category_row(UNCATEGORIZED.0, UNCATEGORIZED.1));
    }
    rows
}

/// One `get_live_streams` row; `archive_days` > 0 lights up the players'
/// catch-up (`tv_archive`, `tv_archive_duration` in days).
pub fn live_stream_row(num: usize, ch: &Channel, epg_id: &str, archive_days: u32) -> Value {
    let cat = category_of(ch);
    json!({
        "num": num,
        "name": ch.name,
        "stream_type": "live",
        "stream_id": ch.id,
        "stream_icon": ch.logo,
        "epg_channel_id": epg_id,
        "added": ch.added_at.to_string(),
        "is_adult": "0",
        "category_id": cat.to_string(),
        "category_ids": [cat],
        "custom_sid": "",
        "tv_archive": i32::from(archive_days > 0),
        "direct_source": "",
        "tv_archive_duration": archive_days,
        "thumbnail": "",
    })
}

fn b64(text: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(text.as_bytes())
}

/// One EPG listing row (`get_short_epg`, `get_simple_data_table`);
/// `has_archive`: the programme is over and the recording ring holds its start.
pub fn epg_row(
    p: &StoredProgramme,
    stream_id: i64,
    tz: &jiff::tz::TimeZone,
    now: i64,
    full: bool,
    has_archive: bool,
) -> Value {
    let mut row = json!({
        "id": p.id.to_string(),
        "epg_id": p.source_id.to_string(),
        "title": b64(&p.title),
        "lang": p.lang,
        "start": wall_clock(p.start, tz),
        "end": wall_clock(p.stop, tz),
        // XUI-style panels send `stop` beside `end`; some client libraries read it.
        "stop": wall_clock(p.stop, tz),
        "description": b64(&p.description),
        "channel_id": p.xmltv_id,
        "start_timestamp": p.start.to_string(),
        "stop_timestamp": p.stop.to_string(),
        "stream_id": stream_id.to_string(),
    });
    if full && let Some(obj) = row.as_object_mut() {
        let playing = p.start <= now && now < p.stop;
        obj.insert("now_playing".into(), json!(i32::from(playing)));
        obj.insert("has_archive".into(), json!(i32::from(has_archive)));
    }
    row
}
