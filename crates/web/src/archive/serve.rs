//! Catch-up playback: every Xtream timeshift URL form, as MPEG-TS from the
//! recording ring (or, for `.m3u8`, a VOD playlist of the span's segments).
//!
//! - `/timeshift/U/P/DURATION/START/ID.ts` (START `YYYY-MM-DD:HH-MM` and the other
//!   forms of [`crate::timeshift::request`], wall time in `server.timezone` — the
//!   zone `server_info.timezone` and the guide's offsets use),
//! - `/timeshifts/U/P/DURATION/ID/START.ts` (the XC nginx form),
//! - `/timeshift.php` and `/streaming/timeshift.php?username=&password=&stream=&start=&duration=`,
//! - `/archive/U/P/ID/<start ms>.ts`: one segment, as the VOD playlists list them.
//!
//! The span starts at the segment holding START (each segment starts at a PAT
//! before a keyframe: the nearest random-access point at or before START) and
//! ends with the segment holding START + DURATION. Its length is known, so
//! `Range` gets `206` and players seek; a range past the end is `416`. A START
//! the ring has nothing for is `404`, a malformed request `400`. A timeshift
//! viewer holds one of the account's connections while the body lasts. Bytes go
//! at disk speed unless `archive.pace` is set.

use std::io::SeekFrom;
use std::time::Duration;

use acextream_core::archive::{Span, StoredSegment};
use actix_web::http::{Method, StatusCode, header};
use actix_web::{HttpRequest, HttpResponse, web};
use bytes::Bytes;
use futures_util::Stream;
use tokio::io::{AsyncReadExt, AsyncSeekExt};

use crate::error::ApiError;
use crate::net::client_ip;
use crate::state::AppState;
use crate::timeshift::request::{
    self, Extension, RangeOutcome, TimeshiftRequest, content_range, parse_range, unsatisfied_range,
};
use crate::timeshift::vod::{VodSegment, vod_playlist};
use crate::xtream::base_url::BaseUrl;
use crate::xtream::connections::guarded;

/// Bytes read from a segment file at a time.
const READ_CHUNK: usize = 64 * 1024;

/// Registers the catch-up routes.
pub fn config(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/timeshift/{user}/{password}/{duration}/{start}/{stream}")
            .route(web::get().to(timeshift_path))
            .route(web::head().to(timeshift_path)),
    )
    .service(
        web::resource("/timeshifts/{user}/{password}/{duration}/{stream}/{start}")
            .route(web::get().to(timeshifts_path))
            .route(web::head().to(timeshifts_path)),
    )
    .service(
        web::resource(["/timeshift.php", "/streaming/timeshift.php"])
            .route(web::get().to(timeshift_php))
            .route(web::head().to(timeshift_php)),
    )
    .service(
        web::resource("/archive/{user}/{password}/{stream}/{segment}")
            .route(web::get().to(segment))
            .route(web::head().to(segment)),
    );
}

/// The path's segments after its first (the route's own name), decoded.
fn tail(req: &HttpRequest, names: &[&str]) -> Vec<String> {
    names
        .iter()
        .map(|n| req.match_info().get(n).unwrap_or_default().to_owned())
        .collect()
}

async fn timeshift_path(
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let parts = tail(&req, &["user", "password", "duration", "start", "stream"]);
    let parts: Vec<&str> = parts.iter().map(String::as_str).collect();
    let parsed = request::parse_timeshift_path(&parts, &state.settings.time_zone())
        .map_err(|e| ApiError::BadRequest(e.to_string()))?;
    play(&req, &state, parsed).await
}

async fn timeshifts_path(
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let parts = tail(&req, &["user", "password", "duration", "stream", "start"]);
    let parts: Vec<&str> = parts.iter().map(String::as_str).collect();
    let parsed = request::parse_timeshifts_path(&parts, &state.settings.time_zone())
        .map_err(|e| ApiError::BadRequest(e.to_string()))?;
    play(&req, &state, parsed).await
}

async fn timeshift_php(
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let pairs: Vec<(String, String)> = url::form_urlencoded::parse(req.query_string().as_bytes())
        .into_owned()
        .collect();
    let parsed = request::parse_timeshift_query(&pairs, &state.settings.time_zone())
        .map_err(|e| ApiError::BadRequest(e.to_string()))?;
    play(&req, &state, parsed).await
}

/// The span a request asks for, or why there is none.
async fn span_of(state: &AppState, t: &TimeshiftRequest) -> Result<Span, ApiError> {
    let none = || ApiError::NotFound("the archive holds nothing for that time".into());
    let archive = state.recording.archive().ok_or_else(none)?;
    let (id, from) = (t.stream_id, t.start);
    let to = from + jiff::SignedDuration::from_mins(i64::from(t.duration_minutes));
    tokio::task::spawn_blocking(move || archive.span(id, from, to))
        .await
        .map_err(|e| ApiError::Internal(e.into()))?
        .ok_or_else(none)
}

async fn play(
    req: &HttpRequest,
    state: &AppState,
    t: TimeshiftRequest,
) -> Result<HttpResponse, ApiError> {
    let user = crate::xtream::authorize_path(state, req, &t.username, &t.password).await?;
    let span = span_of(state, &t).await?;
    if t.extension == Extension::M3u8 {
        return Ok(vod(req, state, &t, &span));
    }
    let len = span.len;
    let range = req
        .headers()
        .get(header::RANGE)
        .and_then(|v| v.to_str().ok())
        .map_or(RangeOutcome::Full, |h| parse_range(h, len));
    let (status, start, end) = match range {
        RangeOutcome::Full => (StatusCode::OK, 0, len.saturating_sub(1)),
        RangeOutcome::Partial {
            start,
            end_inclusive,
        } => (StatusCode::PARTIAL_CONTENT, start, end_inclusive),
        RangeOutcome::Unsatisfiable => {
            return Ok(HttpResponse::build(StatusCode::RANGE_NOT_SATISFIABLE)
                .insert_header((header::CONTENT_RANGE, unsatisfied_range(len)))
                .finish());
        }
    };
    let mut out = HttpResponse::build(status);
    out.content_type("video/mp2t")
        .insert_header((header::ACCEPT_RANGES, "bytes"))
        .insert_header((header::CACHE_CONTROL, "no-store"));
    if status == StatusCode::PARTIAL_CONTENT {
        out.insert_header((header::CONTENT_RANGE, content_range(start, end, len)));
    }
    let body_len = if len == 0 { 0 } else { end + 1 - start };
    if req.method() == Method::HEAD {
        return Ok(out.no_chunking(body_len).finish());
    }
    let ip = client_ip(req, state.settings.server.trust_forwarded_headers);
    let guard = state
        .connections
        .acquire(
            &user.username,
            user.max_connections,
            &ip,
            &format!("timeshift:{}", t.stream_id),
        )
        .map_err(|e| ApiError::Forbidden(e.to_string()))?;
    let pace = state.settings.archive.pace.then(|| bytes_per_second(&span));
    let body = read_span(span.segments, start, body_len, pace);
    Ok(out
        .no_chunking(body_len)
        .streaming(guarded(crate::stream_hop::in_pieces(Box::pin(body)), guard)))
}

/// The span's average rate, for `archive.pace`.
fn bytes_per_second(span: &Span) -> f64 {
    let secs: f64 = span.segments.iter().map(|s| s.duration.as_secs_f64()).sum();
    span.len as f64 / secs.max(1.0)
}

/// `len` bytes of the span's files from byte `from` (of the whole span), read
/// as they are sent. A segment evicted meanwhile ends the body early.
fn read_span(
    segments: Vec<StoredSegment>,
    from: u64,
    len: u64,
    pace: Option<f64>,
) -> impl Stream<Item = Result<Bytes, std::io::Error>> + 'static {
    struct Reader {
        segments: std::vec::IntoIter<StoredSegment>,
        skip: u64,
        left: u64,
        file: Option<tokio::fs::File>,
        started: tokio::time::Instant,
        sent: u64,
        pace: Option<f64>,
    }
    let reader = Reader {
        segments: segments.into_iter(),
        skip: from,
        left: len,
        file: None,
        started: tokio::time::Instant::now(),
        sent: 0,
        pace,
    };
    futures_util::stream::unfold(reader, |mut r| async move {
        loop {
            if r.left == 0 {
                return None;
            }
            if r.file.is_none() {
                let seg = r.segments.next()?;
                if r.skip >= seg.len {
                    r.skip -= seg.len;
                    continue;
                }
                let mut file = match tokio::fs::File::open(&seg.path).await {
                    Ok(f) => f,
                    Err(e) => {
                        tracing::info!(error = %e, "archive segment gone while playing");
                        return None;
                    }
                };
                if r.skip > 0 {
                    if let Err(e) = file.seek(SeekFrom::Start(r.skip)).await {
                        return Some((Err(e), Reader { left: 0, ..r }));
                    }
                    r.skip = 0;
                }
                r.file = Some(file);
            }
            let want = usize::try_from(r.left)
                .unwrap_or(usize::MAX)
                .min(READ_CHUNK);
            let mut buf = vec![0u8; want];
            let read = match r.file.as_mut()?.read(&mut buf).await {
                Ok(n) => n,
                Err(e) => return Some((Err(e), Reader { left: 0, ..r })),
            };
            if read == 0 {
                r.file = None;
                continue;
            }
            buf.truncate(read);
            r.left -= read as u64;
            r.sent += read as u64;
            if let Some(rate) = r.pace {
                let due = Duration::from_secs_f64(r.sent as f64 / rate);
                tokio::time::sleep_until(r.started + due).await;
            }
            return Some((Ok(Bytes::from(buf)), r));
        }
    })
}

/// The span as an HLS VOD playlist of its segments.
fn vod(req: &HttpRequest, state: &AppState, t: &TimeshiftRequest, span: &Span) -> HttpResponse {
    let origin = BaseUrl::of(req, &state.settings).origin();
    let user = crate::xtream::m3u_writer::encode_component(&t.username);
    let pass = crate::xtream::m3u_writer::encode_component(&t.password);
    let segments: Vec<VodSegment> = span
        .segments
        .iter()
        .map(|s| VodSegment {
            uri: format!(
                "{origin}/archive/{user}/{pass}/{}/{}.ts",
                t.stream_id,
                s.start.as_millisecond()
            ),
            duration_secs: s.duration.as_secs_f64(),
            discontinuity: s.discontinuity,
            program_date_time: s.start,
        })
        .collect();
    HttpResponse::Ok()
        .content_type("application/vnd.apple.mpegurl")
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .body(vod_playlist(&segments))
}

/// `GET /archive/U/P/ID/<start ms>.ts`: one recorded segment.
async fn segment(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let parts = tail(&req, &["user", "password", "stream", "segment"]);
    crate::xtream::authorize_path(&state, &req, &parts[0], &parts[1]).await?;
    let bad = || ApiError::BadRequest("a segment is /archive/U/P/<stream id>/<start ms>.ts".into());
    let id: i64 = parts[2].parse().map_err(|_| bad())?;
    let ms: i64 = parts[3]
        .strip_suffix(".ts")
        .unwrap_or(&parts[3])
        .parse()
        .map_err(|_| bad())?;
    let start = jiff::Timestamp::from_millisecond(ms).map_err(|_| bad())?;
    ring_segment(&req, &state, id, start).await
}

/// One segment of channel `id`'s ring, the one that starts at `start` exactly
/// (the VOD playlists' and the HLS DVR window's segment URLs).
pub async fn ring_segment(
    req: &HttpRequest,
    state: &AppState,
    id: i64,
    start: jiff::Timestamp,
) -> Result<HttpResponse, ApiError> {
    let none = || ApiError::NotFound("no such archive segment".into());
    let archive = state.recording.archive().ok_or_else(none)?;
    let found = tokio::task::spawn_blocking(move || {
        archive
            .span(id, start, start + jiff::SignedDuration::from_millis(1))
            .and_then(|s| s.segments.into_iter().find(|seg| seg.start == start))
    })
    .await
    .map_err(|e| ApiError::Internal(e.into()))?
    .ok_or_else(none)?;
    let len = found.len;
    let mut out = HttpResponse::Ok();
    out.content_type("video/mp2t")
        .insert_header((header::CACHE_CONTROL, "private, max-age=86400"));
    if req.method() == Method::HEAD {
        return Ok(out.no_chunking(len).finish());
    }
    Ok(out
        .no_chunking(len)
        .streaming(crate::stream_hop::in_pieces(Box::pin(read_span(
            vec![found],
            0,
            len,
            None,
        )))))
}
