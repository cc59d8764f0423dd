//! `GET /health`: the state of the database, the multiplexer and each engine.
//!
//! 503 only when the database is unusable (nothing works without it); a dead engine
//! or multiplexer is reported as `degraded` with 200, because the API, playlists and
//! dashboard still work and a load balancer should not pull the whole service.

use std::time::Duration;

use actix_web::{HttpResponse, web};
use serde_json::{Value, json};

use crate::state::AppState;

/// How long each dependency may take to answer the health check.
const PROBE_TIMEOUT: Duration = Duration::from_secs(2);

/// The health report.
pub async fn health(state: web::Data<AppState>) -> HttpResponse {
    let (db, mux, engine) = tokio::join!(probe_db(&state), probe_mux(&state), probe_engine(&state));
    let db_ok = db["ok"] == json!(true);
    let all_ok = db_ok && mux["ok"] == json!(true) && engine["ok"] == json!(true);
    let status = if !db_ok {
        "unavailable"
    } else if all_ok {
        "ok"
    } else {
        "degraded"
    };
    let body = json!({
        "status": status,
        "version": env!("CARGO_PKG_VERSION"),
        "database": db,
        "mux": mux,
        "engine": engine,
    });
    if db_ok {
        HttpResponse::Ok().json(body)
    } else {
        HttpResponse::ServiceUnavailable().json(body)
    }
}

async fn probe_db(state: &AppState) -> Value {
    match tokio::time::timeout(PROBE_TIMEOUT, state.store.ping()).await {
        Ok(Ok(())) => json!({"ok": true}),
        Ok(Err(e)) => json!({"ok": false, "error": e.to_string()}),
        Err(_) => json!({"ok": false, "error": "database did not answer in time"}),
    }
}

async fn probe_mux(state: &AppState) -> Value {
    let call = crate::mux_api::mux_call(state, reqwest::Method::GET, "/ace/status", &[]);
    match tokio::time::timeout(PROBE_TIMEOUT, call).await {
        Ok(Ok((200, v))) => {
            json!({"ok": true, "streams": v.get("streams").cloned().unwrap_or(json!(0))})
        }
        Ok(Ok((code, _))) => {
            json!({"ok": false, "error": format!("multiplexer answered HTTP {code}")})
        }
        Ok(Err(e)) => json!({"ok": false, "error": e.to_string()}),
        Err(_) => json!({"ok": false, "error": "multiplexer did not answer in time"}),
    }
}

/// Checks every engine of the pool now (bounded) and reports each one; the
/// engine is `ok` when at least one engine is up.
async fn probe_engine(state: &AppState) -> Value {
    let _ = tokio::time::timeout(PROBE_TIMEOUT, state.engines.check_all()).await;
    engines_json(&state.engines)
}

/// The pool as `/health` and the dashboard show it: `ok` (any engine up), the
/// first engine's `url`/`version`/`error` (the one-engine shape) and `engines`.
pub fn engines_json(pool: &acextream_core::engine::pool::EnginePool) -> Value {
    let engines = pool.status();
    let up: Vec<_> = engines.iter().filter(|e| e.state == "up").collect();
    let first = &engines[0];
    json!({
        "ok": !up.is_empty(),
        "url": first.url,
        "version": up.first().and_then(|e| e.version.clone()),
        "error": if up.is_empty() { first.last_error.clone() } else { None },
        "up": up.len(),
        "engines": engines,
    })
}
