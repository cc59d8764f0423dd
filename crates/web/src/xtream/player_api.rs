//! `player_api.php`: the login and every catalogue action players call.
//!
//! Wrong credentials answer HTTP 200 `{"user_info":{"auth":0}}`, as panels do;
//! unknown actions (`get_profile`, `get_account_info`…) answer the login payload.
//! List actions always answer a JSON array, the others an object.

use acextream_core::epg::{self, Window};
use acextream_core::store::archive as archive_marks;
use acextream_core::store::channels;
use acextream_core::store::now_epoch;
use acextream_core::store::users::User;
use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::{Value, json};

use super::base_url::BaseUrl;
use super::creds::{MAX_FORM_BYTES, XtreamParams};
use super::rows;
use crate::error::ApiError;
use crate::state::AppState;

/// `GET|POST /player_api.php`.
pub async fn handle(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let params = XtreamParams::from_request(&req, &body[..body.len().min(MAX_FORM_BYTES)]);
    let user = match super::creds::api_login(&state, &params).await? {
        Ok(user) => user,
        Err(refusal) => return Ok(json_ok(refusal)),
    };
    let password = params.get("password").unwrap_or_default().to_owned();
    let action = params.get("action").unwrap_or("");
    let value = match action {
        "get_live_categories" => live_categories(&state).await?,
        "get_live_streams" => live_streams(&state, params.get("category_id")).await?,
        "get_vod_categories" | "get_vod_streams" | "get_series_categories" | "get_series" => {
            json!([])
        }
        // There is no VOD: every id is unknown. XC panels (PHP) encode their empty
        // "not found" maps as `[]`, and client libraries test for exactly that.
        "get_vod_info" => json!({ "info": [], "movie_data": [] }),
        "get_series_info" => json!({ "seasons": [], "info": [], "episodes": [] }),
        "get_short_epg" => {
            let limit = params
                .get("limit")
                .and_then(|l| l.parse::<usize>().ok())
                .filter(|l| *l > 0)
                .unwrap_or(4)
                .min(100);
            epg_listings(&state, params.get("stream_id"), Some(limit)).await?
        }
        "get_simple_data_table" => epg_listings(&state, params.get("stream_id"), None).await?,
        _ => login(&req, &state, &user, &password),
    };
    Ok(json_ok(value))
}

fn json_ok(value: Value) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header(("cache-control", "no-store"))
        .json(value)
}

/// The login payload for `user`.
pub fn login(req: &HttpRequest, state: &AppState, user: &User, password: &str) -> Value {
    let base = BaseUrl::of(req, &state.settings);
    let tz = state.settings.time_zone();
    let view = rows::ServerView {
        base: &base,
        timezone: &state.settings.server.timezone,
        tz: &tz,
        exp_date_null: state.settings.xtream.exp_date_null,
        hls: state.settings.hls.enabled,
    };
    rows::login_payload(
        user,
        password,
        state.connections.active(&user.username),
        &view,
    )
}

/// The playable channels with their guide ids, and the categories.
pub async fn catalogue(
    state: &AppState,
) -> Result<(Vec<channels::Category>, Vec<(channels::Channel, String)>), ApiError> {
    Ok(state
        .store
        .run(|c| Ok((channels::categories(c)?, channels::playable_with_guide(c)?)))
        .await?)
}

async fn live_categories(state: &AppState) -> Result<Value, ApiError> {
    let (cats, chans) = catalogue(state).await?;
    Ok(Value::Array(rows::categories(&cats, &chans)))
}

async fn live_streams(state: &AppState, category: Option<&str>) -> Result<Value, ApiError> {
    let filter = match category.map(str::trim).filter(|c| !c.is_empty()) {
        None => None,
        // A non-numeric category gives an empty list, never an error page.
        Some(c) => match c.parse::<i64>() {
            Ok(id) => Some(id),
            Err(_) => return Ok(json!([])),
        },
    };
    let (_, chans) = catalogue(state).await?;
    let archived = state.store.run(|c| archive_marks::archived(c)).await?;
    let list: Vec<Value> = chans
        .iter()
        .enumerate()
        .filter(|(_, (ch, _))| filter.is_none_or(|id| rows::category_of(ch) == id))
        .map(|(i, (ch, epg_id))| {
            let days = archived.get(&ch.id).copied().unwrap_or(0);
            rows::live_stream_row(i + 1, ch, epg_id, days)
        })
        .collect();
    Ok(Value::Array(list))
}

async fn epg_listings(
    state: &AppState,
    stream_id: Option<&str>,
    limit: Option<usize>,
) -> Result<Value, ApiError> {
    let Some(id) = stream_id.and_then(|s| s.trim().parse::<i64>().ok()) else {
        return Ok(json!({ "epg_listings": [] }));
    };
    let now = now_epoch();
    let e = &state.settings.epg;
    let window = Window::around(now, e.days_back, e.days_ahead);
    // The short EPG is now and next; the data table is the whole stored window.
    let from = if limit.is_some() { now } else { window.from };
    let programmes = state
        .store
        .run(move |c| Ok(epg::programmes_for_channel(c, id, from, window.to, limit)))
        .await?
        .map_err(|e| ApiError::Internal(anyhow::anyhow!(e.to_string())))?;
    let tz = state.settings.time_zone();
    let full = limit.is_none();
    let archive = state.recording.archive();
    let archived = |p: &epg::StoredProgramme| {
        p.stop <= now
            && archive.as_ref().is_some_and(|a| {
                jiff::Timestamp::from_second(p.start).is_ok_and(|start| a.covers(id, start))
            })
    };
    let rows: Vec<Value> = programmes
        .iter()
        .map(|p| rows::epg_row(p, id, &tz, now, full, full && archived(p)))
        .collect();
    Ok(json!({ "epg_listings": rows }))
}
