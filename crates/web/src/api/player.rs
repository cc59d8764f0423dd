//! `GET /api/channels/{id}/player`: what the dashboard's player needs to play a
//! channel — its HLS URL (a ticket that holds no connection slot: the admin is
//! not an Xtream account), a stream URL to copy into VLC, and now/next from the
//! guide.

use acextream_core::epg;
use acextream_core::store::{channels, now_epoch};
use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::{Value, json};

use crate::error::ApiError;
use crate::hls::ticket::{self, Kind, SESSION_TTL, Target, Ticket};
use crate::net::client_ip;
use crate::state::AppState;
use crate::xtream::base_url::BaseUrl;

/// Registers the route.
pub fn config(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/channels/{id}/player").route(web::get().to(player)));
}

async fn player(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let id = path.into_inner();
    let now = now_epoch();
    let (channel, guide) = state
        .store
        .run(move |c| {
            let channel = channels::get(c, id)?;
            // Now and next: the first two programmes still running or to come.
            let guide = epg::programmes_for_channel(c, id, now, now + 2 * 86_400, Some(2))
                .unwrap_or_default();
            Ok((channel, guide))
        })
        .await?;
    let origin = BaseUrl::of(&req, &state.settings).origin();
    let hls_url = state.settings.hls.enabled.then(|| {
        let t = Ticket {
            kind: Kind::Playlist,
            user: String::new(),
            key_print: String::new(),
            target: Target::Channel(id),
            ip: client_ip(&req, state.settings.server.trust_forwarded_headers),
            session: ticket::new_session_id(),
            expires: now + SESSION_TTL.as_secs() as i64,
        };
        format!("/hls/{}/index.m3u8", state.hls_key.sign(&t))
    });
    // A link-addressed URL plays the channel (its hub, its backups) in any player.
    let stream_url = match (&channel.content_id, &channel.infohash) {
        (Some(id), _) => Some(format!("{origin}/ace/getstream?id={id}")),
        (None, Some(h)) => Some(format!("{origin}/ace/getstream?infohash={h}")),
        _ => None,
    };
    let programme =
        |p: &epg::StoredProgramme| json!({"title": p.title, "start": p.start, "stop": p.stop});
    let (on_now, next) = match guide.as_slice() {
        [first, rest @ ..] if first.start <= now => {
            (Some(programme(first)), rest.first().map(programme))
        }
        [first, ..] => (None, Some(programme(first))),
        [] => (None, None),
    };
    Ok(HttpResponse::Ok()
        .insert_header(("cache-control", "no-store"))
        .json(json!({
            "channel_id": channel.id,
            "name": channel.name,
            "logo": channel.logo,
            "hls_url": hls_url,
            "stream_url": stream_url,
            "now": on_now.unwrap_or(Value::Null),
            "next": next.unwrap_or(Value::Null),
        })))
}
