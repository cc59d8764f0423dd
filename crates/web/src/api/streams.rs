//! `/api/aceproxy/streams[/{id}]`: the multiplexer's live channels with their
//! viewers, and stopping one now. Also the JSON calls to the multiplexer that the
//! stats, metrics and user endpoints share.

use std::time::Duration;

use actix_web::{HttpResponse, web};
use reqwest::Method;
use serde_json::{Value, json};

use crate::error::ApiError;
use crate::state::AppState;

/// The multiplexer is in this process, on loopback: if it takes longer than this
/// to describe its streams, it is wedged and the admin should hear so.
const MUX_TIMEOUT: Duration = Duration::from_secs(5);

/// Registers the stream routes.
pub fn config(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/aceproxy/streams").route(web::get().to(list)))
        .service(
            web::resource("/aceproxy/streams/{id}")
                .route(web::get().to(get))
                .route(web::delete().to(stop)),
        );
}

/// Calls the multiplexer's `path?query` and returns its status and JSON body.
pub async fn mux_call(
    state: &AppState,
    method: Method,
    path: &str,
    query: &[(&str, &str)],
) -> Result<(u16, Value), ApiError> {
    let url = state
        .mux_url
        .join(path)
        .map_err(|e| ApiError::Internal(e.into()))?;
    let resp = state
        .mux_client
        .request(method, url)
        .query(query)
        .timeout(MUX_TIMEOUT)
        .send()
        .await
        .map_err(|e| {
            tracing::warn!(error = %e.without_url(), "multiplexer unreachable");
            ApiError::BadGateway("stream service unavailable".into())
        })?;
    let status = resp.status().as_u16();
    let text = resp
        .text()
        .await
        .map_err(|_| ApiError::BadGateway("stream service answered badly".into()))?;
    // Error answers of the mux are one line of text; keep them as a message.
    let body = serde_json::from_str(&text).unwrap_or_else(|_| json!({ "error": text.trim() }));
    Ok((status, body))
}

/// Every live channel (`/ace/streams`): `{streams: [...], metrics: {...}}`.
pub async fn all_streams(state: &AppState) -> Result<Value, ApiError> {
    match mux_call(state, Method::GET, "/ace/streams", &[]).await? {
        (200, body) => Ok(body),
        (status, body) => Err(ApiError::BadGateway(format!(
            "stream service answered {status}: {body}"
        ))),
    }
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
