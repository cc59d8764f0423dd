//! `/api/settings`: every setting with where its value comes from, and edits of the
//! runtime-editable ones (stored in the `settings` table, applied at the next start).
//!
//! An entry: `{key, value, running, default, source, description, editable,
//! restart_required, pending_restart, env_var}` — `value` is what the next start
//! uses, `running` what this process uses now; editable entries add the `type`
//! and range. Secrets are masked. The table of keys lives in
//! [`acextream_core::runtime_settings`].

use std::collections::BTreeMap;

use acextream_core::runtime_settings::{self as rs, SettingError, Source};
use actix_web::{HttpResponse, web};
use serde_json::{Value, json};

use super::fields::Fields;
use crate::error::ApiError;
use crate::state::AppState;

/// Registers the settings routes.
pub fn config(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/settings").route(web::get().to(list)))
        .service(
            web::resource("/settings/{key}")
                .route(web::get().to(get_one))
                .route(web::put().to(put))
                .route(web::delete().to(delete)),
        );
}

impl From<SettingError> for ApiError {
    fn from(e: SettingError) -> Self {
        match e {
            SettingError::Unknown(_) => ApiError::NotFound(e.to_string()),
            SettingError::ReadOnly(_) => ApiError::Conflict(e.to_string()),
            SettingError::Invalid { .. } => ApiError::BadRequest(e.to_string()),
        }
    }
}

/// The `settings` table, parsed (a row that is not JSON shows as its text).
async fn stored(state: &AppState) -> Result<BTreeMap<String, Value>, ApiError> {
    let rows = state.store.run(|c| rs::load(c)).await?;
    Ok(rows
        .into_iter()
        .map(|(k, text)| {
            let v = serde_json::from_str(&text).unwrap_or(Value::String(text));
            (k, v)
        })
        .collect())
}

/// One entry of the list.
fn entry(state: &AppState, key: &str, description: &str, db: &BTreeMap<String, Value>) -> Value {
    let p = &state.provenance;
    let editable = rs::editable(key).ok();
    let env_set = p.env_keys.contains(key);
    // Only editable keys are read from the database at start-up.
    let in_db = editable.is_some() && db.contains_key(key);
    let source = p.source(key, in_db);
    let value = match source {
        Source::Database => db.get(key).cloned().unwrap_or(Value::Null),
        _ => rs::get(&p.base, key).unwrap_or(Value::Null),
    };
    let running = rs::get(&state.settings, key).unwrap_or(Value::Null);
    let mut e = json!({
        "key": key,
        "value": value,
        "running": running,
        "default": rs::get(&Default::default(), key).unwrap_or(Value::Null),
        "source": source,
        "description": description,
        "editable": editable.is_some() && !env_set,
        "restart_required": true,
        "pending_restart": value != running,
        "env_var": rs::env_name(key),
    });
    if let (Some(def), Some(obj)) = (editable, e.as_object_mut()) {
        if let Ok(Value::Object(kind)) = serde_json::to_value(def.kind) {
            obj.extend(kind);
        }
        obj.insert("restart_required".into(), json!(def.restart_required));
    }
    if let Some(obj) = e.as_object_mut() {
        let why = if editable.is_none() {
            Some("read-only at runtime: set it in the settings file or environment".to_owned())
        } else if env_set {
            Some(format!(
                "set by the environment ({}), which overrides the database",
                rs::env_name(key)
            ))
        } else {
            None
        };
        obj.insert("locked_reason".into(), json!(why));
    }
    e
}

fn description(key: &str) -> Option<&'static str> {
    rs::EDITABLE
        .iter()
        .find(|e| e.key == key)
        .map(|e| e.description)
        .or_else(|| {
            rs::READ_ONLY
                .iter()
                .find(|(k, _)| *k == key)
                .map(|(_, d)| *d)
        })
}

async fn list(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let db = stored(&state).await?;
    let editable = rs::EDITABLE.iter().map(|e| (e.key, e.description));
    let entries: Vec<Value> = editable
        .chain(rs::READ_ONLY.iter().copied())
        .map(|(k, d)| entry(&state, k, d, &db))
        .collect();
    let pending = entries.iter().any(|e| e["pending_restart"] == true);
    Ok(HttpResponse::Ok().json(json!({ "settings": entries, "restart_pending": pending })))
}

async fn get_one(
    state: web::Data<AppState>,
    key: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let d = description(&key).ok_or_else(|| SettingError::Unknown(key.to_string()))?;
    let db = stored(&state).await?;
    Ok(HttpResponse::Ok().json(entry(&state, &key, d, &db)))
}

/// Refuses keys that are unknown, read-only, or set by the environment.
fn check_editable(state: &AppState, key: &str) -> Result<&'static str, ApiError> {
    let def = rs::editable(key)?;
    if state.provenance.env_keys.contains(key) {
        return Err(ApiError::Conflict(format!(
            "{key} is set by the environment ({}), which overrides the database: change it there",
            rs::env_name(key)
        )));
    }
    Ok(def.description)
}

/// `PUT /api/settings/{key}` `{"value": …}`: validated (type, range, and the whole
/// settings tree with it), stored, answered with the new entry.
async fn put(
    state: web::Data<AppState>,
    key: web::Path<String>,
    body: web::Json<Value>,
) -> Result<HttpResponse, ApiError> {
    let key = key.into_inner();
    let d = check_editable(&state, &key)?;
    let f = Fields::new(body.into_inner(), &["value"])?;
    let raw = f
        .raw("value")
        .ok_or_else(|| super::fields::invalid("value", "is required"))?;
    let value = rs::normalize(&key, raw)?;
    // A value fine alone may clash with the rest (the file's other keys).
    rs::set(&mut (*state.settings).clone(), &key, &value)?;
    let (k, v) = (key.clone(), value.clone());
    state.store.run(move |c| rs::save(c, &k, &v)).await?;
    tracing::info!(key = %key, value = %value, "setting saved; it applies at the next start");
    let db = stored(&state).await?;
    Ok(HttpResponse::Ok().json(entry(&state, &key, d, &db)))
}

/// `DELETE /api/settings/{key}`: forgets the stored value; the next start uses the
/// file's (or the default). Idempotent.
async fn delete(
    state: web::Data<AppState>,
    key: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let key = key.into_inner();
    let d = rs::editable(&key)?.description;
    let k = key.clone();
    if state.store.run(move |c| rs::remove(c, &k)).await? {
        tracing::info!(key = %key, "stored setting removed; the file or default applies at the next start");
    }
    let db = stored(&state).await?;
    Ok(HttpResponse::Ok().json(entry(&state, &key, d, &db)))
}
