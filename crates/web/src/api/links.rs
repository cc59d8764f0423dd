//! `/api/channels/{id}/links*`: a channel's links for admins — list them with their
//! health, add one, put them in a new order, remove one.

use acextream_core::engine::ContentKey;
use acextream_core::sources::StreamRef;
use acextream_core::sources::ids::parse_stream_ref;
use acextream_core::store::links::{self, Link};
use acextream_core::store::{StoreError, now_epoch};
use actix_web::{HttpResponse, web};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::error::ApiError;
use crate::state::AppState;

/// Registers the link routes (beside the channel routes).
pub fn config(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/channels/{id}/links")
            .route(web::get().to(list))
            .route(web::post().to(add))
            .route(web::put().to(reorder)),
    )
    .service(web::resource("/channels/{id}/links/{link_id}").route(web::delete().to(remove)));
}

/// How long a link that failed waits behind the others (`mux.link_cooldown`), in
/// seconds.
pub fn link_cooldown(state: &AppState) -> i64 {
    i64::try_from(state.settings.mux.link_cooldown.as_secs()).unwrap_or(i64::MAX)
}

/// A stream as an admin types it: `acestream://…`, a 40-hex content id,
/// `infohash:<40 hex>`, an engine URL or an http(s) URL.
pub fn parse_link(text: &str) -> Result<StreamRef, ApiError> {
    let text = text.trim();
    if let Some(ih) = text
        .get(..9)
        .filter(|p| p.eq_ignore_ascii_case("infohash:"))
        .map(|_| text[9..].trim())
    {
        if ih.len() == 40 && ih.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Ok(StreamRef::Ace {
                key: ContentKey::Infohash(ih.to_ascii_lowercase()),
            });
        }
        return Err(ApiError::BadRequest(
            "stream: infohash: must be followed by 40 hexadecimal digits".into(),
        ));
    }
    parse_stream_ref(text).ok_or_else(|| {
        ApiError::BadRequest(
            "stream must be an acestream:// link, a 40-hex content id, infohash:<40 hex>, \
             an engine URL or an http(s) URL"
                .into(),
        )
    })
}

/// A link as the API answers it.
pub fn link_json(link: &Link, cooling: bool) -> Value {
    // The API says `url` where the table says `direct_url`.
    let (kind, value) = match acextream_core::store::channels::stream_column(&link.stream) {
        ("direct_url", v) => ("url", v),
        other => other,
    };
    json!({
        "id": link.id,
        "position": link.position,
        "kind": kind,
        "value": value,
        "manual": link.manual,
        "sources": link.sources,
        "health": link.health,
        "cooling": cooling,
    })
}

/// A channel's links in the admin's order, with whether each is in cool-down.
pub fn links_json(links: &[Link], now: i64, cooldown: i64) -> Value {
    let rows: Vec<Value> = links
        .iter()
        .map(|l| link_json(l, l.health.cooling(now, cooldown)))
        .collect();
    json!(rows)
}

/// Fails with 404 unless channel `id` exists.
fn channel_exists(c: &rusqlite::Connection, id: i64) -> Result<(), StoreError> {
    acextream_core::store::channels::get(c, id).map(|_| ())
}

async fn list(state: web::Data<AppState>, id: web::Path<i64>) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let links = state
        .store
        .run(move |c| {
            channel_exists(c, id)?;
            links::for_channel(c, id)
        })
        .await?;
    let cooldown = link_cooldown(&state);
    Ok(HttpResponse::Ok().json(json!({"links": links_json(&links, now_epoch(), cooldown)})))
}

/// `POST /api/channels/{id}/links`: `{"stream": "…"}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct AddBody {
    stream: String,
}

async fn add(
    state: web::Data<AppState>,
    id: web::Path<i64>,
    body: web::Json<AddBody>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let stream = parse_link(&body.stream)?;
    let link = state.store.run(move |c| links::add(c, id, &stream)).await?;
    let cooling = link.health.cooling(now_epoch(), link_cooldown(&state));
    Ok(HttpResponse::Created().json(link_json(&link, cooling)))
}

/// `PUT /api/channels/{id}/links`: `{"order": [link ids]}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct OrderBody {
    order: Vec<i64>,
}

async fn reorder(
    state: web::Data<AppState>,
    id: web::Path<i64>,
    body: web::Json<OrderBody>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let order = body.into_inner().order;
    let links = state
        .store
        .run(move |c| links::reorder(c, id, &order))
        .await?;
    let cooldown = link_cooldown(&state);
    Ok(HttpResponse::Ok().json(json!({"links": links_json(&links, now_epoch(), cooldown)})))
}

async fn remove(
    state: web::Data<AppState>,
    path: web::Path<(i64, i64)>,
) -> Result<HttpResponse, ApiError> {
    let (id, link_id) = path.into_inner();
    state
        .store
        .run(move |c| links::remove(c, id, link_id))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
