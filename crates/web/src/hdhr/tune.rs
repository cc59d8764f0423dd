//! `/auto/v<GuideNumber>`: tune a channel, as a real HDHomeRun does it — MPEG-TS
//! through the channel's shared hub and failover (exactly like `/live/U/P/ID.ts`),
//! one of the account's connections for as long as it plays.
//!
//! Every refusal has an empty body: Jellyfin copies whatever body it gets into
//! its recording without looking at the status. All tuners busy is `503` with
//! `X-HDHomeRun-Error: 805` (the device's "All Tuners In Use"); a channel that
//! would not start is `503` with `806 Tune Failed`; an unknown channel is `404`.
//! `?transcode=` (Jellyfin) and `?duration=` (the HDHomeRun API) are accepted and
//! ignored: the stream is the source's own.

use acextream_core::store::lineup::{self, GuideNumber};
use actix_web::http::{Method, StatusCode};
use actix_web::{HttpRequest, HttpResponse, ResponseError, web};

use super::device::Tuner;
use crate::net::client_ip;
use crate::play::{channel_key, channel_query};
use crate::proxy::forward_stream;
use crate::state::AppState;

/// The header HDHomeRun devices give the reason of a refusal in.
pub const ERROR_HEADER: &str = "X-HDHomeRun-Error";
/// All tuners are in use.
pub const ALL_TUNERS_BUSY: &str = "805 All Tuners In Use";
/// The channel could not be started.
pub const TUNE_FAILED: &str = "806 Tune Failed";

/// `GET|HEAD /auto/v{number}`.
pub async fn auto(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    // By name: under `/hdhr/{user}/{password}` the path holds three parameters.
    let channel = req
        .match_info()
        .get("channel")
        .unwrap_or_default()
        .to_owned();
    let tuner = match Tuner::of(&req, &state).await {
        Ok(t) => t,
        Err(e) => return refuse(e.status_code(), None),
    };
    let Some(number) = channel
        .strip_prefix(['v', 'V'])
        .and_then(|n| n.parse::<GuideNumber>().ok())
    else {
        return refuse(StatusCode::NOT_FOUND, None);
    };
    let channel = match state.store.run(move |c| lineup::by_number(c, number)).await {
        Ok(Some(channel)) => channel,
        Ok(None) => return refuse(StatusCode::NOT_FOUND, None),
        Err(e) => {
            tracing::warn!(error = %e, "tuner lineup unreadable");
            return refuse(StatusCode::SERVICE_UNAVAILABLE, Some(TUNE_FAILED));
        }
    };
    let query = match channel_query(&state, channel.id, None).await {
        Ok(q) => q,
        Err(e) => return refuse(e.status_code(), None),
    };
    let guard = if req.method() == Method::HEAD {
        None
    } else {
        let ip = client_ip(&req, state.settings.server.trust_forwarded_headers);
        match state.connections.acquire_tuner(
            &tuner.user.username,
            tuner.tuner_count,
            &ip,
            &channel_key(&query),
        ) {
            Ok(guard) => Some(guard),
            Err(_) => {
                tracing::info!(
                    user = %tuner.user.username,
                    tuners = tuner.tuner_count,
                    "tune refused: all tuners in use"
                );
                return refuse(StatusCode::SERVICE_UNAVAILABLE, Some(ALL_TUNERS_BUSY));
            }
        }
    };
    match forward_stream(&state, &req, &query, &tuner.user.username, guard).await {
        Ok(resp) if resp.status().is_success() => resp,
        Ok(_) | Err(_) => refuse(StatusCode::SERVICE_UNAVAILABLE, Some(TUNE_FAILED)),
    }
}

/// A refusal with an empty body.
fn refuse(status: StatusCode, reason: Option<&'static str>) -> HttpResponse {
    let mut resp = HttpResponse::build(status);
    if let Some(reason) = reason {
        resp.insert_header((ERROR_HEADER, reason));
    }
    resp.finish()
}
