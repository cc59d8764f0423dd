//! `/api/channels*`: the catalogue for admins, edits (recorded as overrides that
//! refreshes keep), hand-added channels and the availability check. A channel's
//! links have their own routes ([`super::links`]).
//!
//! The bodies also take the replaced system's field names (`acestream_id`,
//! `stream_url`, `logo_url`, `epg_id`, `is_active`; `language`, `country` and
//! `description` are accepted and ignored), so its admin scripts keep working, and
//! every channel answered carries its old-style fields too.

use acextream_core::sources::StreamRef;
use acextream_core::sources::ids::parse_stream_ref;
use acextream_core::store::channels::{self, Channel, ChannelEdit, ChannelFilter, NewChannel};
use acextream_core::store::{StoreError, links, now_epoch};
use actix_web::{HttpResponse, web};
use serde::Deserialize;
use serde::de::IgnoredAny;
use serde_json::{Value, json};

use super::links::{link_cooldown, links_json, parse_link};
use crate::error::ApiError;
use crate::state::AppState;

/// Registers the channel routes.
pub fn config(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/channels")
            .route(web::get().to(list))
            .route(web::post().to(add)),
    )
    .service(
        web::resource("/channels/check")
            .route(web::get().to(check_progress))
            .route(web::post().to(start_check)),
    )
    .service(web::resource("/categories").route(web::get().to(categories)))
    .service(web::resource("/categories/{id}").route(web::put().to(edit_category)))
    .service(web::resource("/categories/{id}/merge").route(web::post().to(merge_category)))
    .service(
        web::resource("/channels/{id}")
            .route(web::get().to(get))
            .route(web::put().to(edit))
            .route(web::delete().to(delete)),
    )
    .configure(super::links::config);
}

/// The replaced system's names of a channel's fields, added beside ours (never
/// instead): `acestream_id`, `stream_url`, `logo_url`, `epg_id`, `is_active`,
/// `is_online`.
fn with_legacy_fields(c: &Channel) -> Value {
    let mut v = json!(c);
    if let Some(obj) = v.as_object_mut() {
        let ace = c.content_id.as_ref().or(c.infohash.as_ref());
        obj.insert("acestream_id".into(), json!(ace));
        obj.insert("stream_url".into(), json!(c.direct_url));
        obj.insert("logo_url".into(), json!(c.logo));
        obj.insert("epg_id".into(), json!(c.tvg_id));
        obj.insert("is_active".into(), json!(c.enabled));
        obj.insert("is_online".into(), json!(c.online));
    }
    v
}

async fn list(
    state: web::Data<AppState>,
    filter: web::Query<ChannelFilter>,
) -> Result<HttpResponse, ApiError> {
    let filter = filter.into_inner();
    let page = state.store.run(move |c| channels::list(c, &filter)).await?;
    let rows: Vec<Value> = page.channels.iter().map(with_legacy_fields).collect();
    Ok(HttpResponse::Ok().json(json!({"total": page.total, "channels": rows})))
}

/// One channel with its links (`links`, as `GET /api/channels/{id}/links` lists them).
async fn get(state: web::Data<AppState>, id: web::Path<i64>) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let (channel, links) = state
        .store
        .run(move |c| Ok((channels::get(c, id)?, links::for_channel(c, id)?)))
        .await?;
    let mut body = with_legacy_fields(&channel);
    body["links"] = links_json(&links, now_epoch(), link_cooldown(&state));
    Ok(HttpResponse::Ok().json(body))
}

/// How a body names the stream: ours (`stream`: any form) or the replaced system's
/// (`acestream_id`, `stream_url`: read as `acextream migrate` reads them).
fn stream_of(
    stream: Option<&str>,
    acestream_id: Option<&str>,
    stream_url: Option<&str>,
) -> Result<Option<StreamRef>, ApiError> {
    let given = |v: Option<&str>| v.is_some_and(|s| !s.trim().is_empty());
    if given(stream) && (given(acestream_id) || given(stream_url)) {
        return Err(ApiError::BadRequest(
            "give stream, or acestream_id / stream_url, not both".into(),
        ));
    }
    if let Some(text) = stream {
        return parse_stream_ref(text).map(Some).ok_or_else(|| {
            ApiError::BadRequest(
                "stream must be an acestream:// link, a 40-hex content id, an engine URL or an http(s) URL"
                    .into(),
            )
        });
    }
    if !given(acestream_id) && !given(stream_url) {
        return Ok(None);
    }
    acextream_core::migrate::legacy_stream(acestream_id, stream_url)
        .map(|s| Some(s.stream))
        .map_err(ApiError::BadRequest)
}

/// `POST /api/channels`: ours, with the replaced system's names as aliases.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct AddBody {
    name: String,
    stream: Option<String>,
    /// Several links, in order (after `stream` when both are given).
    links: Option<Vec<String>>,
    acestream_id: Option<String>,
    stream_url: Option<String>,
    category: Option<String>,
    #[serde(alias = "logo_url")]
    logo: Option<String>,
    #[serde(alias = "epg_id")]
    tvg_id: Option<String>,
    chno: Option<i64>,
    #[serde(alias = "is_active")]
    enabled: Option<bool>,
    // The replaced system's, with no counterpart here.
    #[serde(default, rename = "language")]
    _language: Option<IgnoredAny>,
    #[serde(default, rename = "country")]
    _country: Option<IgnoredAny>,
    #[serde(default, rename = "description")]
    _description: Option<IgnoredAny>,
}

/// `PUT /api/channels/{id}`: ours, with the replaced system's names as aliases; a
/// new stream replaces the one that plays the channel.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct EditBody {
    name: Option<String>,
    category: Option<String>,
    #[serde(alias = "logo_url")]
    logo: Option<String>,
    #[serde(alias = "epg_id")]
    tvg_id: Option<String>,
    chno: Option<i64>,
    #[serde(alias = "is_active")]
    enabled: Option<bool>,
    stream: Option<String>,
    acestream_id: Option<String>,
    stream_url: Option<String>,
    #[serde(default, rename = "language")]
    _language: Option<IgnoredAny>,
    #[serde(default, rename = "country")]
    _country: Option<IgnoredAny>,
    #[serde(default, rename = "description")]
    _description: Option<IgnoredAny>,
}

async fn edit(
    state: web::Data<AppState>,
    id: web::Path<i64>,
    body: web::Json<EditBody>,
) -> Result<HttpResponse, ApiError> {
    let (id, body) = (id.into_inner(), body.into_inner());
    // Checked before anything is written, so a bad stream changes nothing.
    let stream = stream_of(
        body.stream.as_deref(),
        body.acestream_id.as_deref(),
        body.stream_url.as_deref(),
    )?;
    let edit = ChannelEdit {
        name: body.name,
        category: body.category,
        logo: body.logo,
        tvg_id: body.tvg_id,
        chno: body.chno,
        enabled: body.enabled,
    };
    let remap = edit.tvg_id.is_some() || edit.name.is_some() || edit.enabled.is_some();
    let channel = state
        .store
        .run(move |c| {
            if let Some(s) = &stream
                && let Some(other) = channels::by_stream(c, s)?
                && other.id != id
            {
                return Err(StoreError::Conflict(format!(
                    "channel {} ({}) already plays this stream",
                    other.id, other.name
                )));
            }
            let edited = channels::edit(c, id, &edit)?;
            match &stream {
                Some(s) => {
                    let tx = acextream_core::store::immediate(c)?;
                    links::set_primary(&tx, id, s)?;
                    tx.commit()?;
                    channels::get(c, id)
                }
                None => Ok(edited),
            }
        })
        .await?;
    if remap {
        // The guide mapping depends on the guide id and the name.
        let _ = state.catalogue.remap_guide().await;
    }
    Ok(HttpResponse::Ok().json(with_legacy_fields(&channel)))
}

async fn add(
    state: web::Data<AppState>,
    body: web::Json<AddBody>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    // Every stream is checked before anything is written.
    let mut streams: Vec<StreamRef> = stream_of(
        body.stream.as_deref(),
        body.acestream_id.as_deref(),
        body.stream_url.as_deref(),
    )?
    .into_iter()
    .collect();
    for (i, text) in body.links.iter().flatten().enumerate() {
        let link =
            parse_link(text).map_err(|e| ApiError::BadRequest(format!("links[{i}]: {e}")))?;
        streams.push(link);
    }
    if streams.is_empty() {
        return Err(ApiError::BadRequest(
            "stream (or acestream_id or stream_url) or links is required".into(),
        ));
    }
    let new = NewChannel {
        name: body.name,
        stream: String::new(),
        category: body.category,
        logo: body.logo,
        tvg_id: body.tvg_id,
        chno: body.chno,
    };
    let enabled = body.enabled;
    let channel = state
        .store
        .run(move |c| {
            let added = channels::add_manual(c, &new, &streams)?;
            match enabled {
                // Hidden from the start (the replaced system's `is_active: false`).
                Some(false) => channels::edit(
                    c,
                    added.id,
                    &ChannelEdit {
                        enabled: Some(false),
                        ..ChannelEdit::default()
                    },
                ),
                _ => Ok(added),
            }
        })
        .await?;
    let _ = state.catalogue.remap_guide().await;
    Ok(HttpResponse::Created().json(with_legacy_fields(&channel)))
}

async fn delete(state: web::Data<AppState>, id: web::Path<i64>) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    state.store.run(move |c| channels::delete(c, id)).await?;
    Ok(HttpResponse::NoContent().finish())
}

async fn categories(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let cats = state.store.run(|c| channels::categories(c)).await?;
    Ok(HttpResponse::Ok().json(json!({ "categories": cats })))
}

async fn edit_category(
    state: web::Data<AppState>,
    id: web::Path<i64>,
    body: web::Json<channels::CategoryEdit>,
) -> Result<HttpResponse, ApiError> {
    let (id, edit) = (id.into_inner(), body.into_inner());
    state
        .store
        .run(move |c| channels::edit_category(c, id, &edit))
        .await?;
    categories(state).await
}

/// `{"into": <category id>}`
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct MergeBody {
    into: i64,
}

async fn merge_category(
    state: web::Data<AppState>,
    id: web::Path<i64>,
    body: web::Json<MergeBody>,
) -> Result<HttpResponse, ApiError> {
    let (from, into) = (id.into_inner(), body.into);
    state
        .store
        .run(move |c| channels::merge_categories(c, from, into))
        .await?;
    categories(state).await
}

async fn start_check(state: web::Data<AppState>) -> HttpResponse {
    let started = state.jobs.checker().start();
    let progress = state.jobs.checker().progress();
    if started {
        HttpResponse::Accepted().json(progress)
    } else {
        HttpResponse::Conflict().json(json!({
            "error": {"code": "conflict", "message": "a check is already running"},
            "progress": progress,
        }))
    }
}

async fn check_progress(state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok().json(state.jobs.checker().progress())
}
