//! `/api/users/{id}/streams`: what an account is watching now, from the multiplexer.

use actix_web::{HttpResponse, web};
use serde_json::{Value, json};

use super::user;
use crate::error::ApiError;
use crate::state::AppState;

/// The account's open streams: every live channel one of its players watches,
/// with only that account's viewers.
pub(super) async fn list(
    state: web::Data<AppState>,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let u = user(&state, id.into_inner()).await?;
    let all = crate::mux_api::all_streams(&state).await?;
    let mine: Vec<Value> = all["streams"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|s| {
            let viewers: Vec<Value> = s["viewers"]
                .as_array()?
                .iter()
                .filter(|v| v["user"] == u.username.as_str())
                .cloned()
                .collect();
            if viewers.is_empty() {
                return None;
            }
            let mut s = s.clone();
            s["viewers"] = json!(viewers);
            Some(s)
        })
        .collect();
    let viewers: usize = mine
        .iter()
        .filter_map(|s| s["viewers"].as_array().map(Vec::len))
        .sum();
    Ok(HttpResponse::Ok().json(json!({
        "username": u.username,
        "active_cons": state.connections.active(&u.username),
        "viewers": viewers,
        "streams": mine,
    })))
}
