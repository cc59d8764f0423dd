//! `GET /api/dashboard/stats`: one call for the dashboard's overview — engine,
//! live streams, accounts, catalogue, sources, uptime and recent problems.
//!
//! Each part degrades on its own: a dead engine or multiplexer shows as an error
//! inside the answer, never as a failed request, because that is exactly when an
//! admin opens the overview.

use std::time::Duration;

use acextream_core::redact::redact_text;
use acextream_core::store::sources::{self as rows, Source, SourceTable};
use actix_web::{HttpResponse, web};
use serde::Serialize;
use serde_json::{Value, json};

use crate::error::ApiError;
use crate::state::AppState;

/// The engine answers its version at once when it is healthy; the overview must
/// not wait on one that is not.
const ENGINE_TIMEOUT: Duration = Duration::from_secs(2);
/// Recent warnings and errors shown.
const RECENT_PROBLEMS: usize = 20;

/// Registers `/api/dashboard/stats`.
pub fn config(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/dashboard/stats").route(web::get().to(stats)));
}

/// Row counts of the catalogue and accounts (shared with `/metrics`).
#[derive(Debug, Default, Serialize)]
pub struct Counts {
    /// Channels stored.
    pub channels: i64,
    /// Channels still listed by a source (or added by hand).
    pub active: i64,
    /// Channels shown to players.
    pub enabled: i64,
    /// Channels the last availability check found online.
    pub online: i64,
    /// Channels matched to a guide channel.
    pub with_guide: i64,
    /// Accounts.
    pub users: i64,
    /// Enabled admin accounts.
    pub admins: i64,
}

/// The counts, in one trip to the blocking pool.
pub async fn counts(state: &AppState) -> Result<Counts, ApiError> {
    Ok(state
        .store
        .run(|c| {
            let (channels, active, enabled, online) = c.query_row(
                "SELECT count(*), coalesce(sum(active), 0), coalesce(sum(enabled), 0), \
                 coalesce(sum(online = 1), 0) FROM channels",
                [],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
            )?;
            let with_guide = c.query_row("SELECT count(*) FROM channel_guide", [], |r| r.get(0))?;
            Ok(Counts {
                channels,
                active,
                enabled,
                online,
                with_guide,
                users: acextream_core::store::users::count(c)?,
                admins: acextream_core::store::users::count_admins(c)?,
            })
        })
        .await?)
}

/// Channel and guide sources, in that order.
pub async fn sources(state: &AppState) -> Result<(Vec<Source>, Vec<Source>), ApiError> {
    Ok(state
        .store
        .run(|c| {
            Ok((
                rows::list(c, SourceTable::Channels)?,
                rows::list(c, SourceTable::Epg)?,
            ))
        })
        .await?)
}

fn source_row(s: &Source) -> Value {
    json!({
        "id": s.id,
        "name": s.name,
        "kind": s.kind,
        "enabled": s.enabled,
        "last_attempt_at": s.last_attempt_at,
        "last_success_at": s.last_success_at,
        "last_error": s.last_error.as_deref().map(|e| redact_text(e).into_owned()),
        "found": s.found,
    })
}

async fn engine(state: &AppState) -> Value {
    let _ = tokio::time::timeout(ENGINE_TIMEOUT, state.engines.check_all()).await;
    crate::health::engines_json(&state.engines)
}

async fn streams(state: &AppState) -> Value {
    match crate::mux_api::all_streams(state).await {
        Ok(all) => {
            let list = all["streams"].as_array().cloned().unwrap_or_default();
            let viewers: u64 = list.iter().filter_map(|s| s["clients"].as_u64()).sum();
            json!({
                "ok": true,
                "live": list.len(),
                "viewers": viewers,
                "bytes_out": all["metrics"]["bytes_out"],
                "metrics": all["metrics"],
            })
        }
        Err(e) => json!({"ok": false, "error": e.to_string()}),
    }
}

async fn stats(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let (engine, streams, counts, sources) = tokio::join!(
        engine(&state),
        streams(&state),
        counts(&state),
        sources(&state)
    );
    let (counts, (channel_sources, guide_sources)) = (counts?, sources?);
    let now = jiff::Timestamp::now();
    let problems: Vec<Value> = state
        .logs
        .all()
        .into_iter()
        .filter(|l| l.level == "WARN" || l.level == "ERROR")
        .rev()
        .take(RECENT_PROBLEMS)
        .map(|l| json!({"seq": l.seq, "level": l.level, "text": redact_text(&l.text)}))
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    let failing = |list: &[Source]| list.iter().filter(|s| s.last_error.is_some()).count();
    Ok(HttpResponse::Ok().json(json!({
        "version": env!("CARGO_PKG_VERSION"),
        "started_at": state.started_at.to_string(),
        "uptime_secs": now.as_second() - state.started_at.as_second(),
        "engine": engine,
        "streams": streams,
        "users": {
            "total": counts.users,
            "admins": counts.admins,
            "active_connections": state.connections.all().values().sum::<usize>(),
        },
        "channels": {
            "total": counts.channels,
            "active": counts.active,
            "enabled": counts.enabled,
            "online": counts.online,
            "with_guide": counts.with_guide,
        },
        "sources": {
            "channels": channel_sources.iter().map(source_row).collect::<Vec<_>>(),
            "epg": guide_sources.iter().map(source_row).collect::<Vec<_>>(),
            "failing": failing(&channel_sources) + failing(&guide_sources),
        },
        "recent_problems": problems,
    })))
}
