//! HLS for players: the master playlist behind `/live/U/P/ID.m3u8` and
//! `/ace/manifest.m3u8`, and the ticketed media playlist and segments under
//! `/hls/{ticket}/…`, all cut by the multiplexer from the channel's one shared
//! engine session.
//!
//! The flow: the `.m3u8` URL a player was given checks its password once, starts
//! the channel (waiting for its first complete segment, bounded like a TS start)
//! and answers a master playlist naming `/hls/{ticket}/index.m3u8`. Every reload
//! of that media playlist and every segment fetch renews the viewer's lease (its
//! connection slot) — no password is checked again, and none appears in any URL
//! after the first. Errors keep the TS statuses: 502/504 when the channel does
//! not start, 415 (with the reason) when its codecs are not H.264, 403 at the
//! connection limit.

pub mod ticket;

use acextream_core::store::{now_epoch, users};
use actix_web::http::{StatusCode, header};
use actix_web::{HttpRequest, HttpResponse, web};
use http_body_util::{BodyDataStream, BodyExt};

use crate::error::ApiError;
use crate::net::client_ip;
use crate::state::AppState;
use crate::xtream::base_url::BaseUrl;
use ticket::{Kind, SEGMENT_TTL, SESSION_TTL, Target, Ticket};

/// Registers `/hls/{ticket}/index.m3u8` and `/hls/{ticket}/{seq}.ts`.
pub fn config(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/hls/{ticket}/index.m3u8").route(web::get().to(media_playlist)))
        .service(web::resource("/hls/{ticket}/{segment}").route(web::get().to(segment)));
}

/// The MIME type of every playlist (RFC 8216 §4).
pub const PLAYLIST_TYPE: &str = "application/vnd.apple.mpegurl";

/// Starts an HLS session on `target` for `user` (`None`: an anonymous viewer,
/// which holds no connection slot) and answers its master playlist.
pub async fn master(
    state: &AppState,
    req: &HttpRequest,
    user: Option<&users::User>,
    target: Target,
) -> Result<HttpResponse, ApiError> {
    if !state.settings.hls.enabled {
        return Err(ApiError::NotFound(
            "HLS is turned off on this server: use the .ts URL".into(),
        ));
    }
    let ip = client_ip(req, state.settings.server.trust_forwarded_headers);
    let now = now_epoch();
    let ticket = Ticket {
        kind: Kind::Playlist,
        user: user.map(|u| u.username.clone()).unwrap_or_default(),
        key_print: user
            .map(|u| ticket::key_print(&u.password_hash))
            .unwrap_or_default(),
        target,
        ip: ip.clone(),
        session: ticket::new_session_id(),
        expires: now + SESSION_TTL.as_secs() as i64,
    };
    if let Some(user) = user {
        state
            .connections
            .renew_hls(
                &user.username,
                user.max_connections,
                &ip,
                &ticket.target.key(),
                &ticket.session,
            )
            .map_err(|e| ApiError::Forbidden(e.to_string()))?;
    }
    let shown = user.map_or("-", |u| u.username.as_str());
    let upstream = match fetch_playlist(state, req, &ticket, shown).await {
        Ok(u) => u,
        Err(e) => {
            // It never watched: its slot goes back at once.
            if let Some(user) = user {
                state.connections.end_hls(&user.username, &ticket.session);
            }
            return Err(e);
        }
    };
    let base = BaseUrl::of(req, &state.settings).origin();
    let media = format!("{base}/hls/{}/index.m3u8", state.hls_key.sign(&ticket));
    let text = master_playlist(&media, upstream.bandwidth, upstream.codecs.as_deref());
    Ok(playlist_response(text))
}

/// BANDWIDTH when the channel's peak is not measured yet (a typical SD stream).
const DEFAULT_BANDWIDTH: u64 = 2_000_000;

/// The master playlist: one variant, with its bandwidth and codecs when known
/// (RFC 8216 §4.3.4.2: BANDWIDTH is required, CODECS should be given).
fn master_playlist(media_uri: &str, bandwidth: Option<u64>, codecs: Option<&str>) -> String {
    let mut inf = format!("BANDWIDTH={}", bandwidth.unwrap_or(DEFAULT_BANDWIDTH));
    // A value from the mux header: keep it to the characters codecs use.
    if let Some(c) = codecs.filter(|c| {
        c.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b',' | b'-'))
    }) {
        inf.push_str(&format!(",CODECS=\"{c}\""));
    }
    format!("#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-STREAM-INF:{inf}\n{media_uri}\n")
}

fn playlist_response(text: String) -> HttpResponse {
    HttpResponse::Ok()
        .content_type(PLAYLIST_TYPE)
        .insert_header((header::CACHE_CONTROL, "no-cache"))
        .body(text)
}

/// A media playlist as the multiplexer answered it.
struct Upstream {
    text: String,
    codecs: Option<String>,
    bandwidth: Option<u64>,
}

/// The mux query that plays `target` (starting it when cold).
async fn play_query(state: &AppState, target: &Target) -> Result<Vec<(String, String)>, ApiError> {
    match target {
        Target::Channel(id) => crate::play::channel_query(state, *id, None).await,
        Target::Link(kind, value) => Ok(vec![(kind.clone(), value.clone())]),
    }
}

/// Asks the multiplexer for the live media playlist of `ticket`'s channel.
async fn fetch_playlist(
    state: &AppState,
    req: &HttpRequest,
    ticket: &Ticket,
    user: &str,
) -> Result<Upstream, ApiError> {
    let mut query = play_query(state, &ticket.target).await?;
    query.push(("session".into(), ticket.session.clone()));
    let resp = mux_get(state, req, "/ace/hls/index.m3u8", &query, user).await?;
    let header = |name: &str| {
        resp.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let codecs = header("x-acextream-codecs");
    let bandwidth = header("x-acextream-bandwidth").and_then(|v| v.parse().ok());
    let status = resp.status();
    let body = http_body_util::Limited::new(resp.into_body(), 1 << 20)
        .collect()
        .await
        .map(|b| b.to_bytes())
        .map_err(|_| ApiError::BadGateway("stream service unavailable".into()))?;
    let text = String::from_utf8_lossy(&body).into_owned();
    if !status.is_success() {
        return Err(mux_error(status.as_u16(), text.trim()));
    }
    Ok(Upstream {
        text,
        codecs,
        bandwidth,
    })
}

/// The error a player gets for a multiplexer answer `status` with reason `text`.
fn mux_error(status: u16, text: &str) -> ApiError {
    let text = text.to_owned();
    match status {
        415 => ApiError::Unsupported(text),
        404 => ApiError::NotFound(text),
        400 => ApiError::BadRequest(text),
        503 => ApiError::Unavailable(text),
        504 => ApiError::Timeout(text),
        _ => ApiError::BadGateway(text),
    }
}

/// A GET to the multiplexer with the viewer's identity headers.
async fn mux_get(
    state: &AppState,
    req: &HttpRequest,
    path: &str,
    query: &[(String, String)],
    user: &str,
) -> Result<http::Response<hyper::body::Incoming>, ApiError> {
    let mut url = state
        .mux_url
        .join(path)
        .map_err(|e| ApiError::Internal(e.into()))?;
    url.query_pairs_mut().extend_pairs(query);
    let upstream = crate::proxy::mux_request(state, req, url.as_str(), user)?;
    state.stream_client.request(upstream).await.map_err(|e| {
        tracing::warn!(error = %e, "multiplexer unreachable");
        ApiError::BadGateway("stream service unavailable".into())
    })
}

/// Checks a ticket from a URL and renews its viewer's lease.
async fn admit(state: &AppState, token: &str, kind: Kind) -> Result<Ticket, ApiError> {
    let ticket = state
        .hls_key
        .verify(token, kind, now_epoch())
        .ok_or_else(|| {
            ApiError::Forbidden("this HLS link has expired: reload the channel".into())
        })?;
    if ticket.user.is_empty() {
        return Ok(ticket);
    }
    // The limit is re-read only when the lease is new (the viewer paused longer
    // than hls.viewer_timeout, or was kicked): a renewal costs no database read.
    let name = ticket.user.clone();
    let renew = |limit: u32| {
        state.connections.renew_hls(
            &ticket.user,
            limit,
            &ticket.ip,
            &ticket.target.key(),
            &ticket.session,
        )
    };
    if state.connections.touch_hls(&ticket.user, &ticket.session) {
        return Ok(ticket);
    }
    let user = state
        .store
        .run(move |c| users::by_name(c, &name))
        .await?
        .filter(|u| u.enabled && !u.is_expired(now_epoch()))
        .filter(|u| ticket::key_print(&u.password_hash) == ticket.key_print)
        .ok_or_else(|| ApiError::Forbidden("this account can no longer watch".into()))?;
    renew(user.max_connections).map_err(|e| ApiError::Forbidden(e.to_string()))?;
    Ok(ticket)
}

/// `/hls/{ticket}/index.m3u8`: the live media playlist, each segment URL ticketed.
async fn media_playlist(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let ticket = admit(&state, &path.into_inner(), Kind::Playlist).await?;
    let shown = if ticket.user.is_empty() {
        "-"
    } else {
        ticket.user.as_str()
    };
    // An archived channel being recorded offers its DVR window instead of the
    // multiplexer's short live window; its segments stay listed for hls_dvr.
    let dvr_minutes = state.settings.archive.hls_dvr;
    let dvr = match ticket.target {
        Target::Channel(id) => crate::archive::dvr::playlist(&state.recording, id, dvr_minutes),
        Target::Link(..) => None,
    };
    let (text, listed_for) = match dvr {
        Some(text) => (text, i64::from(dvr_minutes) * 60),
        None => (fetch_playlist(&state, &req, &ticket, shown).await?.text, 0),
    };
    let origin = BaseUrl::of(&req, &state.settings).origin();
    let segment_ticket = Ticket {
        kind: Kind::Segment,
        ..ticket
    };
    let text = rewrite_uris(&text, |start| {
        // Each segment's ticket expires SEGMENT_TTL after the segment's own time
        // (plus the time a DVR window lists it): the URL of a segment is the same on
        // every reload (RFC 8216 §6.2.1; hls.js refuses a playlist whose segment
        // URLs change), yet short-lived.
        let ticket = Ticket {
            expires: start.unwrap_or(segment_ticket.expires)
                + listed_for
                + SEGMENT_TTL.as_secs() as i64,
            ..segment_ticket.clone()
        };
        format!("{origin}/hls/{}/", state.hls_key.sign(&ticket))
    });
    Ok(playlist_response(text))
}

/// Prefixes every URI line (the mux writes `<seq>.ts`) with `prefix(start)`, the
/// start being the epoch second of the segment's `EXT-X-PROGRAM-DATE-TIME`.
fn rewrite_uris(playlist: &str, prefix: impl Fn(Option<i64>) -> String) -> String {
    let mut out = String::with_capacity(playlist.len() + 300 * 16);
    let mut start = None;
    for line in playlist.lines() {
        if let Some(at) = line.strip_prefix("#EXT-X-PROGRAM-DATE-TIME:") {
            start = at.parse::<jiff::Timestamp>().ok().map(|t| t.as_second());
        } else if !line.is_empty() && !line.starts_with('#') {
            out.push_str(&prefix(start.take()));
        }
        out.push_str(line);
        out.push('\n');
    }
    out
}

/// `/hls/{ticket}/{seq}.ts`: one segment, streamed from the multiplexer's window.
async fn segment(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (token, name) = path.into_inner();
    if let Some(start) = crate::archive::dvr::segment_start(&name) {
        let ticket = admit(&state, &token, Kind::Segment).await?;
        let Target::Channel(id) = ticket.target else {
            return Err(ApiError::NotFound("no such segment".into()));
        };
        return crate::archive::serve::ring_segment(&req, &state, id, start).await;
    }
    let seq: u64 = name
        .strip_suffix(".ts")
        .and_then(|n| n.parse().ok())
        .ok_or_else(|| ApiError::NotFound("no such segment".into()))?;
    let ticket = admit(&state, &token, Kind::Segment).await?;
    let mut query = ticket.target.selector();
    query.push(("seq".into(), seq.to_string()));
    query.push(("session".into(), ticket.session.clone()));
    let shown = if ticket.user.is_empty() {
        "-"
    } else {
        ticket.user.as_str()
    };
    let resp = mux_get(&state, &req, "/ace/hls/segment", &query, shown).await?;
    if !resp.status().is_success() {
        let status = resp.status().as_u16();
        let body = http_body_util::Limited::new(resp.into_body(), 4096)
            .collect()
            .await
            .map(|b| b.to_bytes())
            .unwrap_or_default();
        return Err(mux_error(status, String::from_utf8_lossy(&body).trim()));
    }
    let len = resp
        .headers()
        .get(http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    let mut out = HttpResponse::build(StatusCode::OK);
    out.content_type("video/mp2t")
        .insert_header((header::CACHE_CONTROL, "private, max-age=3600"))
        .insert_header(("x-content-type-options", "nosniff"));
    if let Some(len) = len {
        out.no_chunking(len);
    }
    Ok(
        out.streaming(crate::stream_hop::in_pieces(BodyDataStream::new(
            resp.into_body(),
        ))),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uri_lines_get_the_ticketed_prefix_and_tags_stay() {
        let p = "#EXTM3U\n#EXT-X-TARGETDURATION:4\n\
                 #EXT-X-PROGRAM-DATE-TIME:2026-12-03T06:00:00.000Z\n#EXTINF:4.000,\n17.ts\n\
                 #EXT-X-PROGRAM-DATE-TIME:2026-12-03T06:00:04.000Z\n#EXTINF:4.000,\n18.ts\n";
        let out = rewrite_uris(p, |start| format!("http://h/hls/{}/", start.unwrap_or(0)));
        assert!(out.contains("\nhttp://h/hls/1796277600/17.ts\n"), "{out}");
        assert!(out.contains("\nhttp://h/hls/1796277604/18.ts\n"), "{out}");
        assert!(out.starts_with("#EXTM3U\n#EXT-X-TARGETDURATION:4\n"));
    }
}
