//! `/api/aceproxy/streams[/{id}]`: the multiplexer's live channels with their
//! viewers, and stopping one now.

use actix_web::{HttpResponse, web};
use reqwest::Method;
use serde_json::{Value, json};

use crate::error::ApiError;
use crate::mux_api::{all_streams, mux_call};
use crate::state::AppState;

/// Registers the stream routes.
pub fn config(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/aceproxy/streams").route(web::get().to(list)))
        .service(
            web::resource("/aceproxy/streams/{id}")
                .route(web::get().to(get))
                .route(web::delete().to(stop)),
        );
}

/// A channel id as the mux keys it: 40 hex digits, lower-cased.
fn stream_key(id: &str) -> Result<String, ApiError> {
    let id = id.trim().to_ascii_lowercase();
    if id.len() != 40 || !id.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(ApiError::BadRequest(
            "id: must be a content id or infohash of 40 hexadecimal digits".into(),
        ));
    }
    Ok(id)
}

/// The live channel asked for by `id`: its key (content id or infohash, as the
/// player asked), or the swarm infohash the engine reported for it.
fn find(streams: &Value, id: &str) -> Option<Value> {
    streams["streams"]
        .as_array()?
        .iter()
        .find(|s| s["stream_id"] == id || s["infohash"] == id)
        .cloned()
}

async fn list(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let mut body = all_streams(&state).await?;
    let streams = body["streams"].as_array().cloned().unwrap_or_default();
    let viewers: u64 = streams.iter().filter_map(|s| s["clients"].as_u64()).sum();
    body["count"] = json!(streams.len());
    body["viewers"] = json!(viewers);
    Ok(HttpResponse::Ok().json(body))
}

async fn get(state: web::Data<AppState>, id: web::Path<String>) -> Result<HttpResponse, ApiError> {
    let id = stream_key(&id)?;
    // By the key first (`id=` then `infohash=`), as the mux answers them directly.
    for param in ["id", "infohash"] {
        if let (200, body) = mux_call(&state, Method::GET, "/ace/status", &[(param, &id)]).await? {
            return Ok(HttpResponse::Ok().json(body));
        }
    }
    // A channel opened by content id is also known by the swarm's infohash.
    let streams = all_streams(&state).await?;
    find(&streams, &id)
        .map(|s| HttpResponse::Ok().json(s))
        .ok_or_else(|| ApiError::NotFound(format!("no live stream {id}")))
}

/// Stops the channel now: the engine session is closed and every viewer's body ends.
async fn stop(state: web::Data<AppState>, id: web::Path<String>) -> Result<HttpResponse, ApiError> {
    let id = stream_key(&id)?;
    for param in ["id", "infohash"] {
        match mux_call(&state, Method::DELETE, "/ace/streams", &[(param, &id)]).await? {
            (200, _) => return Ok(HttpResponse::Ok().json(json!({ "stopped": id, "kind": param }))),
            (404, _) => {}
            (status, body) => {
                return Err(ApiError::BadGateway(format!(
                    "stream service answered {status}: {body}"
                )));
            }
        }
    }
    // Asked by the engine's infohash of a channel opened by content id.
    let streams = all_streams(&state).await?;
    let Some(stream) = find(&streams, &id) else {
        return Err(ApiError::NotFound(format!("no live stream {id}")));
    };
    let (key, kind) = (
        stream["stream_id"].as_str().unwrap_or(""),
        stream["kind"].as_str().unwrap_or("id"),
    );
    match mux_call(&state, Method::DELETE, "/ace/streams", &[(kind, key)]).await? {
        (200, _) => Ok(HttpResponse::Ok().json(json!({ "stopped": key, "kind": kind }))),
        _ => Err(ApiError::NotFound(format!("no live stream {id}"))),
    }
}
