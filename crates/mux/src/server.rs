//! The multiplexer's HTTP server: the accept loop and its four routes.
//!
//! - `GET|HEAD /ace/getstream?[channel=N&]id=…|infohash=…|url=…[…][&engine params]`
//!   — a channel's stream, its links in the order to try them (see [`crate::links`])
//! - `GET /ace/status[?id=…|infohash=…|url=…|channel=N]` — `{"streams": N}` or one
//!   channel's status
//! - `GET /ace/streams` — every channel's status, and the engines'
//! - `DELETE /ace/streams?id=…|infohash=…|url=…|channel=N` — stop a channel now
//! - `GET /ace/hls/index.m3u8?<as getstream>&session=S` — the channel's live HLS
//!   media playlist (segment URIs `<seq>.ts`), starting it when cold; headers
//!   `x-acextream-codecs` and `x-acextream-bandwidth` feed the master playlist;
//!   415 with the reason when its codecs cannot be HLS
//! - `GET /ace/hls/segment?channel=N|id=…|infohash=…|url=…&seq=K&session=S` — one
//!   segment of a live channel (404 when not held); never starts a channel
//!
//! HLS requests carry the player's identity in the same `x-acextream-user` /
//! `x-forwarded-for` / `user-agent` headers as a stream; `session` is the public
//! side's id for one HLS viewer (the mux counts viewers by it).

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use http::{Method, Request, Response, StatusCode, header};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use serde_json::json;
use tokio::net::TcpListener;

use crate::body::{self, Body};
use crate::hub::{Hub, ViewerMeta};
use crate::links::{ChannelRequest, HubKey};
use crate::{HlsError, Mux, status};

/// How long a client may take to send its request headers.
const HEADER_TIMEOUT: Duration = Duration::from_secs(10);

/// Serves `listener` until `shutdown` resolves; then stops accepting, ends every
/// channel (engine stops included) and waits at most `drain` for connections.
pub async fn serve(
    listener: TcpListener,
    mux: Arc<Mux>,
    shutdown: impl Future<Output = ()>,
    drain: Duration,
) {
    let graceful = GracefulShutdown::new();
    let mut http = http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(HEADER_TIMEOUT);
    tokio::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(conn) => conn,
                Err(e) => {
                    // Out of file descriptors and the like: log, breathe, go on.
                    tracing::warn!(error = %e, "multiplexer accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            _ = &mut shutdown => break,
        };
        // Streams are many small writes: send each at once.
        let _ = stream.set_nodelay(true);
        let mux = mux.clone();
        let service = service_fn(move |req| route(mux.clone(), peer, req));
        let conn = http.serve_connection(TokioIo::new(stream), service);
        let conn = graceful.watch(conn);
        tokio::spawn(async move {
            if let Err(e) = conn.await {
                tracing::debug!(error = %e, "multiplexer connection ended");
            }
        });
    }
    drop(listener);
    // Live bodies never finish by themselves: end the channels first, then drain.
    mux.shutdown(drain).await;
    if tokio::time::timeout(drain, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("multiplexer connections still open after the drain; closing");
    }
}

async fn route(
    mux: Arc<Mux>,
    peer: SocketAddr,
    req: Request<Incoming>,
) -> Result<Response<Body>, Infallible> {
    let query: Vec<(String, String)> = req
        .uri()
        .query()
        .map(|q| {
            url::form_urlencoded::parse(q.as_bytes())
                .into_owned()
                .collect()
        })
        .unwrap_or_default();
    let method = req.method().clone();
    let response = match (method, req.uri().path()) {
        (Method::GET | Method::HEAD, "/ace/getstream") => getstream(&mux, peer, &req, query).await,
        (Method::GET, "/ace/status") => status_route(&mux, &query),
        (Method::GET, "/ace/streams") => json_response(StatusCode::OK, &streams_json(&mux)),
        (Method::DELETE, "/ace/streams") => stop_route(&mux, &query),
        (Method::GET, "/ace/hls/index.m3u8") => hls_playlist(&mux, peer, &req, query).await,
        (Method::GET, "/ace/hls/segment") => hls_segment(&mux, peer, &req, query),
        (_, "/ace/getstream" | "/ace/status" | "/ace/streams" | "/ace/hls/index.m3u8")
        | (_, "/ace/hls/segment") => text(StatusCode::METHOD_NOT_ALLOWED, "method not allowed"),
        _ => text(StatusCode::NOT_FOUND, "not found"),
    };
    Ok(response)
}

/// The channel a status or stop request names: `channel=N`, or a link.
fn find_hub(mux: &Mux, query: &[(String, String)]) -> Result<Option<Arc<Hub>>, String> {
    if let Some((_, v)) = query.iter().find(|(k, _)| k == "channel") {
        let id: i64 = v.parse().map_err(|_| "channel must be a channel id")?;
        return Ok(mux.hub(&HubKey::Channel(id)));
    }
    let request = ChannelRequest::parse(query)?;
    Ok(mux.hub_with_link(&request.links[0]))
}

fn names_a_channel(query: &[(String, String)]) -> bool {
    query
        .iter()
        .any(|(k, _)| matches!(k.as_str(), "id" | "infohash" | "url" | "channel"))
}

fn header_str(req: &Request<Incoming>, name: &str) -> Option<String> {
    req.headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.chars().take(300).collect())
}

async fn getstream(
    mux: &Arc<Mux>,
    peer: SocketAddr,
    req: &Request<Incoming>,
    query: Vec<(String, String)>,
) -> Response<Body> {
    // The player's own pid/sid never reach the engine: we choose the player id.
    let request = match ChannelRequest::parse(&query) {
        Ok(r) => r,
        Err(msg) => return text(StatusCode::BAD_REQUEST, &msg),
    };
    if req.method() == Method::HEAD {
        // Players probe with HEAD; answering needs no engine session.
        return stream_headers(Response::builder())
            .body(body::empty())
            .unwrap_or_default();
    }
    let meta = viewer_meta(req, peer);
    match mux.watch(request, meta).await {
        Ok(viewer) => stream_headers(Response::builder())
            .body(body::stream(viewer))
            .unwrap_or_default(),
        Err(e) => start_error(&e),
    }
}

/// Who is asking, from the headers the public side sets.
fn viewer_meta(req: &Request<Incoming>, peer: SocketAddr) -> ViewerMeta {
    ViewerMeta {
        user: header_str(req, "x-acextream-user").unwrap_or_else(|| "-".into()),
        ip: header_str(req, "x-forwarded-for")
            .and_then(|v| v.split(',').next().map(|s| s.trim().to_owned()))
            .unwrap_or_else(|| peer.ip().to_string()),
        user_agent: header_str(req, "user-agent").unwrap_or_default(),
        internal: false,
    }
}

/// Takes the HLS session id out of the query (the reason for a 400 when missing).
fn take_session(query: &mut Vec<(String, String)>) -> Result<String, &'static str> {
    let at = query.iter().position(|(k, _)| k == "session");
    match at.map(|i| query.remove(i).1) {
        Some(s) if !s.is_empty() && s.len() <= 64 => Ok(s),
        _ => Err("session must be given (1-64 characters)"),
    }
}

async fn hls_playlist(
    mux: &Arc<Mux>,
    peer: SocketAddr,
    req: &Request<Incoming>,
    mut query: Vec<(String, String)>,
) -> Response<Body> {
    let session = match take_session(&mut query) {
        Ok(s) => s,
        Err(msg) => return text(StatusCode::BAD_REQUEST, msg),
    };
    let request = match ChannelRequest::parse(&query) {
        Ok(r) => r,
        Err(msg) => return text(StatusCode::BAD_REQUEST, &msg),
    };
    match mux
        .hls_playlist(request, &session, viewer_meta(req, peer))
        .await
    {
        Ok(p) => {
            let mut b = Response::builder()
                .status(StatusCode::OK)
                .header(header::CONTENT_TYPE, "application/vnd.apple.mpegurl")
                .header(header::CACHE_CONTROL, "no-cache");
            if let Some(c) = &p.codecs {
                b = b.header("x-acextream-codecs", c.as_str());
            }
            if let Some(bw) = p.bandwidth {
                b = b.header("x-acextream-bandwidth", bw);
            }
            b.body(body::full(p.text)).unwrap_or_default()
        }
        Err(HlsError::Unsupported(reason)) => text(StatusCode::UNSUPPORTED_MEDIA_TYPE, &reason),
        Err(HlsError::Start(e)) => start_error(&e),
    }
}

fn hls_segment(
    mux: &Mux,
    peer: SocketAddr,
    req: &Request<Incoming>,
    mut query: Vec<(String, String)>,
) -> Response<Body> {
    let session = match take_session(&mut query) {
        Ok(s) => s,
        Err(msg) => return text(StatusCode::BAD_REQUEST, msg),
    };
    let seq = match query.iter().position(|(k, _)| k == "seq") {
        Some(i) => match query.remove(i).1.parse::<u64>() {
            Ok(n) => n,
            Err(_) => return text(StatusCode::BAD_REQUEST, "seq must be a segment number"),
        },
        None => return text(StatusCode::BAD_REQUEST, "seq must be given"),
    };
    let hub = match find_hub(mux, &query) {
        Ok(Some(hub)) => hub,
        Ok(None) => return text(StatusCode::NOT_FOUND, "the channel is not live"),
        Err(msg) => return text(StatusCode::BAD_REQUEST, &msg),
    };
    match mux.hls_segment(&hub, seq, &session, &viewer_meta(req, peer)) {
        Some(segment) => Response::builder()
            .status(StatusCode::OK)
            .header(header::CONTENT_TYPE, "video/mp2t")
            .header(header::CONTENT_LENGTH, segment.len)
            .header(header::CACHE_CONTROL, "private, max-age=3600")
            .body(body::parts(segment.parts))
            .unwrap_or_default(),
        None => text(
            StatusCode::NOT_FOUND,
            "no such segment (expired or not yet cut)",
        ),
    }
}

/// A channel that did not start: its status (502/503/504) and the reason.
fn start_error(e: &crate::hub::StartError) -> Response<Body> {
    let status = StatusCode::from_u16(e.status()).unwrap_or(StatusCode::BAD_GATEWAY);
    text(status, &e.to_string())
}

fn stream_headers(b: http::response::Builder) -> http::response::Builder {
    b.status(StatusCode::OK)
        .header(header::CONTENT_TYPE, "video/mp2t")
        .header(header::CACHE_CONTROL, "no-cache, no-store")
}

fn status_route(mux: &Mux, query: &[(String, String)]) -> Response<Body> {
    if !names_a_channel(query) {
        return json_response(
            StatusCode::OK,
            &json!({
                "streams": mux.hubs_snapshot().len(),
                "metrics": mux.metrics.snapshot(),
                "engines": mux.pool().status(),
            }),
        );
    }
    match find_hub(mux, query) {
        Ok(Some(hub)) => json_response(StatusCode::OK, &status::of(&hub)),
        Ok(None) => json_response(StatusCode::NOT_FOUND, &json!({"error": "stream not found"})),
        Err(msg) => text(StatusCode::BAD_REQUEST, &msg),
    }
}

fn streams_json(mux: &Mux) -> serde_json::Value {
    let streams: Vec<_> = mux.hubs_snapshot().iter().map(|h| status::of(h)).collect();
    json!({
        "streams": streams,
        "metrics": mux.metrics.snapshot(),
        "engines": mux.pool().status(),
    })
}

fn stop_route(mux: &Mux, query: &[(String, String)]) -> Response<Body> {
    match find_hub(mux, query) {
        Ok(Some(hub)) if mux.stop(&hub.key) => {
            json_response(StatusCode::OK, &json!({"stopped": status::stream_id(&hub)}))
        }
        Ok(_) => json_response(StatusCode::NOT_FOUND, &json!({"error": "stream not found"})),
        Err(msg) => text(StatusCode::BAD_REQUEST, &msg),
    }
}

fn json_response(status: StatusCode, value: &impl serde::Serialize) -> Response<Body> {
    let bytes = serde_json::to_vec(value).unwrap_or_default();
    Response::builder()
        .status(status)
        .header(header::CONTENT_TYPE, "application/json")
        .body(body::full(bytes))
        .unwrap_or_default()
}

fn text(status: StatusCode, message: &str) -> Response<Body> {
    Response::builder()
        .status(status)
        .header(header::CONTENT_TYPE, "text/plain; charset=utf-8")
        .body(body::full(format!("{message}\n")))
        .unwrap_or_default()
}
