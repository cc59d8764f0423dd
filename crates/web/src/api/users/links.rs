//! `/api/users/{id}/links`: the URLs a player needs (M3U, XMLTV, Xtream server),
//! built for the address the admin reached us on.

use acextream_core::accounts::Login;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;
use serde_json::{Value, json};

use super::user;
use crate::api::fields::invalid;
use crate::error::ApiError;
use crate::state::AppState;
use crate::xtream::base_url::BaseUrl;

/// What the links carry where the password goes when it was not supplied.
const PASSWORD_PLACEHOLDER: &str = "{password}";

/// The password that fills the links, if the admin supplied one.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct LinksInput {
    password: Option<String>,
}

/// `GET /api/users/{id}/links[?password=…]`. Passwords are stored only as hashes,
/// so without `password` the URLs carry the placeholder `{password}`. A supplied
/// password is checked against the account (400 when wrong), so the links given
/// out always work. `POST` with `{"password": …}` does the same without putting
/// the password in a URL.
pub(super) async fn get(
    req: HttpRequest,
    state: web::Data<AppState>,
    id: web::Path<i64>,
    query: web::Query<LinksInput>,
) -> Result<HttpResponse, ApiError> {
    links(&req, &state, id.into_inner(), query.into_inner().password).await
}

pub(super) async fn post(
    req: HttpRequest,
    state: web::Data<AppState>,
    id: web::Path<i64>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    // An empty body asks for the placeholder links; a malformed one is a 400, not
    // silently "no password" (the caller would get links that do not work).
    let password = if body.iter().all(u8::is_ascii_whitespace) {
        None
    } else {
        serde_json::from_slice::<LinksInput>(&body)
            .map_err(|e| ApiError::BadRequest(format!("invalid JSON body: {e}")))?
            .password
    };
    links(&req, &state, id.into_inner(), password).await
}

fn encode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

async fn links(
    req: &HttpRequest,
    state: &AppState,
    id: i64,
    password: Option<String>,
) -> Result<HttpResponse, ApiError> {
    let u = user(state, id).await?;
    let password = password.filter(|p| !p.is_empty());
    if let Some(p) = &password
        && matches!(state.accounts.login(&u.username, p).await?, Login::Denied)
    {
        return Err(invalid("password", "does not match this account"));
    }
    let included = password.is_some();
    let pass = password
        .as_deref()
        .map_or_else(|| PASSWORD_PLACEHOLDER.to_owned(), encode);
    let base = BaseUrl::of(req, &state.settings);
    let origin = base.origin();
    let name = encode(&u.username);
    Ok(HttpResponse::Ok().json(json!({
        "username": u.username,
        "password_included": included,
        "placeholder": if included { Value::Null } else { json!(PASSWORD_PLACEHOLDER) },
        "m3u": format!("{origin}/get.php?username={name}&password={pass}&type=m3u_plus&output=ts"),
        "xmltv": format!("{origin}/xmltv.php?username={name}&password={pass}"),
        "stream_template": format!("{origin}/live/{name}/{pass}/{{stream_id}}.ts"),
        "xtream": {
            "server": origin,
            "host": base.host,
            "port": base.port_or_default(),
            "https": base.scheme == "https",
            "username": u.username,
            "password": password.as_deref().unwrap_or(PASSWORD_PLACEHOLDER),
        },
    })))
}
