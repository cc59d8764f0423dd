//! `/api/archive`, `/api/channels/{id}/archive`, `/api/categories/{id}/archive`:
//! which channels are recorded for catch-up, how deep, and how the recordings do.
//!
//! A mark is `{"days": N}` (a channel's 0 keeps it out of an archived category)
//! or `{"days": null}` (a channel follows its category again; a category stops).
//! An archived channel keeps its engine session open with nobody watching: it
//! costs the engine's bandwidth all day.

use acextream_core::store::archive as marks;
use actix_web::{HttpResponse, web};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::error::ApiError;
use crate::state::AppState;

/// Registers the archive routes.
pub fn config(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/archive").route(web::get().to(status)))
        .service(web::resource("/channels/{id}/archive").route(web::put().to(mark_channel)))
        .service(web::resource("/categories/{id}/archive").route(web::put().to(mark_category)));
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Mark {
    /// Days; `null` clears the mark. Required, so a typo is no silent "off".
    days: Option<u32>,
}

async fn mark_channel(
    state: web::Data<AppState>,
    id: web::Path<i64>,
    body: web::Json<Mark>,
) -> Result<HttpResponse, ApiError> {
    let (id, days) = (id.into_inner(), body.days);
    let mark = state
        .store
        .run(move |c| {
            marks::set_channel(c, id, days)?;
            marks::mark_of(c, id)
        })
        .await?;
    state.recording.changed.notify_one();
    Ok(HttpResponse::Ok().json(json!({
        "channel_id": id,
        "days": mark.days(),
        "channel_mark": mark.channel,
        "category_mark": mark.category,
    })))
}

async fn mark_category(
    state: web::Data<AppState>,
    id: web::Path<i64>,
    body: web::Json<Mark>,
) -> Result<HttpResponse, ApiError> {
    let (id, days) = (id.into_inner(), body.days);
    state
        .store
        .run(move |c| marks::set_category(c, id, days))
        .await?;
    state.recording.changed.notify_one();
    Ok(HttpResponse::Ok().json(json!({ "category_id": id, "days": days })))
}

/// Every archived channel with its recorder's state and what the ring holds.
pub async fn status_json(state: &AppState) -> Result<Value, ApiError> {
    let (wanted, names) = state
        .store
        .run(|c| {
            let wanted = marks::archived(c)?;
            let mut names = std::collections::HashMap::new();
            for id in wanted.keys() {
                if let Ok(ch) = acextream_core::store::channels::get(c, *id) {
                    names.insert(*id, ch.name);
                }
            }
            Ok((wanted, names))
        })
        .await?;
    let recorders = state.recording.recorders();
    let archive = state.recording.archive();
    let held: std::collections::HashMap<i64, _> = archive
        .as_ref()
        .map(|a| a.channels().into_iter().map(|s| (s.id, s)).collect())
        .unwrap_or_default();
    let mut ids: Vec<i64> = wanted.keys().chain(held.keys()).copied().collect();
    ids.sort_unstable();
    ids.dedup();
    let channels: Vec<Value> = ids
        .iter()
        .map(|id| {
            let r = recorders.get(id).cloned().unwrap_or_default();
            let h = held.get(id);
            json!({
                "channel_id": id,
                "name": names.get(id),
                "days": wanted.get(id).copied().unwrap_or(0),
                "recording": r.recording,
                "error": r.error,
                "segments_written": r.segments_written,
                "bytes_written": r.bytes_written,
                "segments": h.map_or(0, |h| h.segments),
                "bytes": h.map_or(0, |h| h.bytes),
                "oldest": h.map(|h| h.oldest.to_string()),
                "newest": h.map(|h| h.newest.to_string()),
            })
        })
        .collect();
    let a = &state.settings.archive;
    Ok(json!({
        "dir": a.dir.display().to_string(),
        "problem": state.recording.problem(),
        "total_bytes": archive.as_ref().map_or(0, |a| a.total_bytes()),
        "max_bytes": a.max_bytes,
        "max_total_bytes": a.max_total_bytes,
        "channels": channels,
    }))
}

async fn status(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(status_json(&state).await?))
}
