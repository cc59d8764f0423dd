//! Stream URLs: `/live/{u}/{p}/{id}.ts`, the legacy `/{u}/{p}/{id}[.ts]`, and the
//! VOD forms (404 until there is VOD).
//!
//! Every channel streams through the multiplexer (the same internal path as
//! `/ace/getstream`) with all of its links, so a dead link fails over to the next
//! and viewers of one channel share one source, AceStream or direct http(s).
//! Every stream holds one of the account's connection slots for as long as the
//! player keeps its socket open.

use acextream_core::store::channels;
use actix_web::http::Method;
use actix_web::{HttpRequest, HttpResponse, web};

use acextream_core::accounts::RESERVED_SEGMENTS;

use crate::error::ApiError;
use crate::hls::ticket::Target;
use crate::net::client_ip;
use crate::proxy::forward_stream;
use crate::state::AppState;

/// `/live/{user}/{password}/{id}.ts`, and `.m3u8` for HLS (see [`crate::hls`]).
pub async fn live(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<(String, String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (user, password, stream) = path.into_inner();
    serve(&req, &state, user, password, &stream).await
}

/// The legacy `/{user}/{password}/{id}` and `/{user}/{password}/{id}.ts`.
pub async fn legacy(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<(String, String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (user, password, stream) = path.into_inner();
    if RESERVED_SEGMENTS.contains(&user.as_str()) {
        let path = acextream_core::redact::redact_uri(req.path()).into_owned();
        return Err(ApiError::NotFound(format!("no route for {path}")));
    }
    serve(&req, &state, user, password, &stream).await
}

/// `/movie/…` and `/series/…`: no VOD yet.
pub async fn no_vod() -> Result<HttpResponse, ApiError> {
    Err(ApiError::NotFound(
        "no video on demand on this server".into(),
    ))
}

async fn serve(
    req: &HttpRequest,
    state: &AppState,
    user: String,
    password: String,
    stream: &str,
) -> Result<HttpResponse, ApiError> {
    let (id, ext) = match stream.rsplit_once('.') {
        Some((id, ext)) => (id, ext),
        None => (stream, "ts"),
    };
    let user = super::authorize_path(state, req, &user, &password).await?;
    if !matches!(ext, "ts" | "m3u8") {
        return Err(ApiError::NotFound(format!("unknown stream format .{ext}")));
    }
    let id: i64 = id
        .parse()
        .map_err(|_| ApiError::NotFound("no such channel".into()))?;
    let channel = state
        .store
        .run(move |c| channels::get(c, id))
        .await
        .map_err(|_| ApiError::NotFound("no such channel".into()))?;
    if !channel.enabled || !channel.active {
        return Err(ApiError::NotFound("no such channel".into()));
    }
    if ext == "m3u8" {
        return crate::hls::master(state, req, Some(&user), Target::Channel(channel.id)).await;
    }
    let query = crate::play::channel_query(state, channel.id, None).await?;
    let head = req.method() == Method::HEAD;
    let guard = if head {
        None
    } else {
        let ip = client_ip(req, state.settings.server.trust_forwarded_headers);
        Some(
            state
                .connections
                .acquire(
                    &user.username,
                    user.max_connections,
                    &ip,
                    &crate::play::channel_key(&query),
                )
                .map_err(|e| ApiError::Forbidden(e.to_string()))?,
        )
    };
    forward_stream(state, req, &query, &user.username, guard).await
}
