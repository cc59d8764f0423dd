//! The reverse proxy to the multiplexer: `/ace/getstream` and `/ace/status` on the
//! public port, and [`forward_stream`], which the Xtream stream URLs use too.
//!
//! Bytes flow mux → here → player as they arrive (no buffering: actix pulls the next
//! chunk only when the player's socket took the previous one, so a slow player
//! back-pressures only its own mux connection). The mux decides the status before
//! any byte, so an engine failure reaches the player as 502/504, never as an empty 200.

use std::time::Duration;

use acextream_core::accounts::Login;
use acextream_core::engine::ContentKey;
use acextream_core::sources::StreamRef;
use actix_web::http::{StatusCode, header};
use actix_web::{HttpRequest, HttpResponse, web};
use bytes::Bytes;
use http_body_util::Empty;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

use crate::auth::player_credentials;
use crate::error::ApiError;
use crate::mux_api::mux_call;
use crate::net::client_ip;
use crate::state::AppState;
use crate::xtream::connections::{Guard, guarded};

/// Registers `/ace/getstream` (GET and HEAD) and `/ace/status`.
pub fn config(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/ace/getstream")
            .route(web::get().to(getstream))
            .route(web::head().to(getstream)),
    )
    .service(web::resource("/ace/status").route(web::get().to(status)))
    .service(web::resource("/ace/manifest.m3u8").route(web::get().to(manifest)));
}

/// `/ace/manifest.m3u8?id=…|infohash=…`: the engine's (and acexy's) HLS path, with
/// the same authentication rules as `/ace/getstream`. A link of a catalogue
/// channel plays that channel (its hub, its backups).
async fn manifest(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let query = query_pairs(&req);
    let user = stream_user(&req, &state, &query).await?;
    let named: Vec<&(String, String)> = query
        .iter()
        .filter(|(k, _)| matches!(k.as_str(), "id" | "infohash"))
        .collect();
    let [(kind, value)] = named.as_slice() else {
        return Err(ApiError::BadRequest(
            "give exactly one of id= or infohash= (40 hexadecimal digits)".into(),
        ));
    };
    let value = value.trim().to_ascii_lowercase();
    if value.len() != 40 || !value.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(ApiError::BadRequest(format!(
            "{kind} must be 40 hexadecimal digits"
        )));
    }
    let key = if kind == "id" {
        ContentKey::ContentId(value.clone())
    } else {
        ContentKey::Infohash(value.clone())
    };
    let target = match crate::play::channel_of(&state, StreamRef::Ace { key }).await? {
        Some(channel) => crate::hls::ticket::Target::Channel(channel),
        None => crate::hls::ticket::Target::Link(kind.clone(), value),
    };
    crate::hls::master(&state, &req, user.as_ref(), target).await
}

/// The pooled client for short requests to the multiplexer (HLS playlists and
/// segments); streams take [`crate::stream_hop`] (hyper, not reqwest, for its
/// buffer controls).
pub type StreamClient = Client<HttpConnector, Empty<Bytes>>;

/// Builds the pooled client. The read buffer is a fixed 16 KiB instead of hyper's
/// adaptive one, which grows towards 400 KiB on a fast body. No total timeout: the
/// mux (in this same process) decides when an answer is over.
pub fn stream_client() -> StreamClient {
    let mut connector = HttpConnector::new();
    connector.set_nodelay(true);
    connector.set_connect_timeout(Some(Duration::from_secs(2)));
    Client::builder(TokioExecutor::new())
        .http1_read_buf_exact_size(16 * 1024)
        .pool_idle_timeout(Duration::from_secs(30))
        .build(connector)
}

/// Parameters that carry our own credentials and never go further.
const CREDENTIAL_PARAMS: &[&str] = &["username", "password"];

fn query_pairs(req: &HttpRequest) -> Vec<(String, String)> {
    url::form_urlencoded::parse(req.query_string().as_bytes())
        .into_owned()
        .collect()
}

/// The account behind a stream request's credentials: required when
/// `server.ace_proxy_auth` is on, else optional (anonymous viewers hold no slot).
async fn stream_user(
    req: &HttpRequest,
    state: &AppState,
    query: &[(String, String)],
) -> Result<Option<acextream_core::store::users::User>, ApiError> {
    let ip = client_ip(req, state.settings.server.trust_forwarded_headers);
    Ok(match player_credentials(query, req.headers()) {
        Some((u, p)) => {
            match crate::auth::braked_login(state, &state.player_brake, &ip, &u, &p).await? {
                Login::Active(user) => Some(user),
                _ if state.settings.server.ace_proxy_auth => return Err(ApiError::Unauthorized),
                _ => None,
            }
        }
        None if state.settings.server.ace_proxy_auth => return Err(ApiError::Unauthorized),
        None => None,
    })
}

async fn getstream(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let query = query_pairs(&req);
    let ip = client_ip(&req, state.settings.server.trust_forwarded_headers);
    let user = stream_user(&req, &state, &query).await?;
    let params: Vec<(String, String)> = query
        .into_iter()
        .filter(|(k, _)| !CREDENTIAL_PARAMS.contains(&k.as_str()))
        .collect();
    let params = with_channel_links(&state, params).await?;
    // A known user's stream counts towards its connection limit, as on /live/.
    let guard = match &user {
        Some(u) if req.method() != actix_web::http::Method::HEAD => Some(
            state
                .connections
                .acquire(
                    &u.username,
                    u.max_connections,
                    &ip,
                    &crate::play::channel_key(&params),
                )
                .map_err(|e| ApiError::Forbidden(e.to_string()))?,
        ),
        _ => None,
    };
    let name = user.as_ref().map_or("-", |u| u.username.as_str());
    forward_stream(&state, &req, &params, name, guard).await
}

/// A bare `id=`/`infohash=` that is a link of a catalogue channel plays that
/// channel — its hub, its other links as backups, the asked link first — so a
/// player on `/ace/getstream` and one on `/live/` share one engine session.
/// Anything else goes to the multiplexer as it came (it answers a bad id 400).
async fn with_channel_links(
    state: &AppState,
    params: Vec<(String, String)>,
) -> Result<Vec<(String, String)>, ApiError> {
    let named: Vec<&(String, String)> = params
        .iter()
        .filter(|(k, _)| matches!(k.as_str(), "id" | "infohash" | "url" | "channel"))
        .collect();
    let [(kind, value)] = named.as_slice() else {
        return Ok(params);
    };
    let value = value.trim().to_ascii_lowercase();
    let key = match kind.as_str() {
        "id" => ContentKey::ContentId(value),
        "infohash" => ContentKey::Infohash(value),
        _ => return Ok(params),
    };
    let stream = StreamRef::Ace { key };
    let Some(channel) = crate::play::channel_of(state, stream.clone()).await? else {
        return Ok(params);
    };
    let mut query = crate::play::channel_query(state, channel, Some(stream)).await?;
    query.extend(params.into_iter().filter(|(k, _)| {
        !matches!(
            k.as_str(),
            "id" | "infohash" | "url" | "channel" | "cooling"
        )
    }));
    Ok(query)
}

/// Streams `/ace/getstream?<params>` from the multiplexer to the player. `user` is
/// the Xtream username shown on the dashboard (`-` for anonymous).
pub async fn forward_stream(
    state: &AppState,
    req: &HttpRequest,
    params: &[(String, String)],
    user: &str,
    guard: Option<Guard>,
) -> Result<HttpResponse, ApiError> {
    let mut url = state
        .mux_url
        .join("/ace/getstream")
        .map_err(|e| ApiError::Internal(e.into()))?;
    url.query_pairs_mut().extend_pairs(params);
    let head = req.method() == actix_web::http::Method::HEAD;
    let identity = viewer_identity(state, req, user);
    let method = if head { "HEAD" } else { "GET" };
    let resp = crate::stream_hop::request(&url, method, &identity.headers())
        .await
        .map_err(|e| {
            tracing::warn!(error = %e, "multiplexer unreachable");
            ApiError::BadGateway("stream service unavailable".into())
        })?;
    let status = StatusCode::from_u16(resp.status).unwrap_or(StatusCode::BAD_GATEWAY);
    if !status.is_success() {
        // A one-line reason: bounded, so a broken mux cannot make us buffer much.
        let body = resp.body.collect_limited(4096).await;
        return Ok(HttpResponse::build(status)
            .content_type("text/plain; charset=utf-8")
            .body(body));
    }
    let mut out = HttpResponse::Ok();
    out.content_type("video/mp2t")
        .insert_header((header::CACHE_CONTROL, "no-cache, no-store"))
        .insert_header(("x-content-type-options", "nosniff"));
    if head {
        return Ok(out.finish());
    }
    let body = crate::stream_hop::in_pieces(resp.body);
    Ok(match guard {
        Some(guard) => out.streaming(guarded(body, guard)),
        None => out.streaming(body),
    })
}

/// Who a request to the multiplexer is for: shown on the dashboard and in its log.
pub struct ViewerIdentity {
    pub user: String,
    pub ip: String,
    pub user_agent: String,
}

impl ViewerIdentity {
    /// The headers that carry it.
    pub fn headers(&self) -> [(&str, &str); 3] {
        [
            ("x-acextream-user", &self.user),
            ("x-forwarded-for", &self.ip),
            ("user-agent", &self.user_agent),
        ]
    }
}

/// The viewer behind `req`, with every value made safe to send as a header.
pub fn viewer_identity(state: &AppState, req: &HttpRequest, user: &str) -> ViewerIdentity {
    let user_agent = req
        .headers()
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let ip = client_ip(req, state.settings.server.trust_forwarded_headers);
    ViewerIdentity {
        user: sanitize_header(user),
        ip: sanitize_header(&ip),
        user_agent: sanitize_header(user_agent),
    }
}

/// A GET to the multiplexer carrying the viewer's identity (user, address, agent),
/// for the pooled client (HLS requests, which are short and many).
pub fn mux_request(
    state: &AppState,
    req: &HttpRequest,
    url: &str,
    user: &str,
) -> Result<http::Request<Empty<Bytes>>, ApiError> {
    let identity = viewer_identity(state, req, user);
    let mut builder = http::Request::builder().method(http::Method::GET).uri(url);
    for (name, value) in identity.headers() {
        builder = builder.header(name, value);
    }
    builder
        .body(Empty::<Bytes>::new())
        .map_err(|e| ApiError::Internal(e.into()))
}

/// Header values from the outside may hold anything; keep what a header can carry.
fn sanitize_header(value: &str) -> String {
    value
        .chars()
        .filter(|c| !c.is_control())
        .take(300)
        .collect()
}

async fn status(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let query = query_pairs(&req);
    let query: Vec<(&str, &str)> = query
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let (code, body) = mux_call(&state, reqwest::Method::GET, "/ace/status", &query).await?;
    let status = StatusCode::from_u16(code).unwrap_or(StatusCode::BAD_GATEWAY);
    if is_admin(&req, &state).await? {
        return Ok(HttpResponse::build(status).json(body));
    }
    // Without an admin login only the replaced system's public shape is shown: who
    // watches (users, IPs, user agents) and the engine's URLs are admin data.
    const PUBLIC: &[&str] = &[
        "streams",
        "clients",
        "stream_id",
        "kind",
        "phase",
        "started_at",
        "error",
    ];
    let public: serde_json::Map<String, serde_json::Value> = body
        .as_object()
        .into_iter()
        .flatten()
        .filter(|(k, _)| PUBLIC.contains(&k.as_str()))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    Ok(HttpResponse::build(status).json(public))
}

/// Whether the request carries an admin's dashboard session or Basic credentials.
async fn is_admin(req: &HttpRequest, state: &AppState) -> Result<bool, ApiError> {
    if crate::auth::session_of(state, req).await?.is_some() {
        return Ok(true);
    }
    let ip = client_ip(req, state.settings.server.trust_forwarded_headers);
    Ok(match crate::auth::basic_credentials(req.headers()) {
        Some((u, p)) => crate::auth::braked_login(state, &state.brake, &ip, &u, &p)
            .await?
            .active()
            .is_some_and(|u| u.is_admin),
        None => false,
    })
}
