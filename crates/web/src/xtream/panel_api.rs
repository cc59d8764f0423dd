//! `panel_api.php`: the login payload plus every category and channel at once
//! (older apps load everything in one call).

use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::{Map, Value, json};

use super::creds::{MAX_FORM_BYTES, XtreamParams};
use super::{player_api, rows};
use crate::error::ApiError;
use crate::state::AppState;

/// `GET|POST /panel_api.php`.
pub async fn handle(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let params = XtreamParams::from_request(&req, &body[..body.len().min(MAX_FORM_BYTES)]);
    let user = match super::creds::api_login(&state, &params).await? {
        Ok(user) => user,
        Err(refusal) => return Ok(HttpResponse::Ok().json(refusal)),
    };
    let password = params.get("password").unwrap_or_default();
    let mut payload = player_api::login(&req, &state, &user, password);
    let (cats, chans) = player_api::catalogue(&state).await?;
    let names: std::collections::HashMap<i64, String> =
        cats.iter().map(|c| (c.id, c.name.clone())).collect();
    let archived = state
        .store
        .run(|c| acextream_core::store::archive::archived(c))
        .await?;
    let mut available = Map::new();
    for (i, (ch, epg_id)) in chans.iter().enumerate() {
        let days = archived.get(&ch.id).copied().unwrap_or(0);
        let mut row = rows::live_stream_row(i + 1, ch, epg_id, days);
        let cat = rows::category_of(ch);
        let name = names
            .get(&cat)
            .cloned()
            .unwrap_or_else(|| rows::UNCATEGORIZED.1.to_owned());
        if let Some(obj) = row.as_object_mut() {
            obj.insert("category_name".into(), json!(name));
        }
        available.insert(ch.id.to_string(), row);
    }
    if let Some(obj) = payload.as_object_mut() {
        obj.insert(
            "categories".into(),
            json!({ "live": rows::categories(&cats, &chans), "movie": [], "series": [] }),
        );
        obj.insert("available_channels".into(), Value::Object(available));
    }
    Ok(HttpResponse::Ok()
        .insert_header(("cache-control", "no-store"))
        .json(payload))
}
