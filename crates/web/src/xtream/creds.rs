//! Xtream credentials: `username`/`password` from the query string first, then from
//! an `application/x-www-form-urlencoded` POST body (some Android apps POST).

use acextream_core::accounts::Login;
use actix_web::HttpRequest;

use crate::error::ApiError;
use crate::state::AppState;

/// Every parameter of an Xtream call: the query, then the form body's fields that
/// the query does not have.
#[derive(Debug, Clone, Default)]
pub struct XtreamParams(pub Vec<(String, String)>, pub String);

impl XtreamParams {
    /// Collects the parameters of `req` with its (possibly empty) body.
    pub fn from_request(req: &HttpRequest, body: &[u8]) -> XtreamParams {
        let mut params: Vec<(String, String)> =
            url::form_urlencoded::parse(req.query_string().as_bytes())
                .into_owned()
                .collect();
        let is_form = req
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
        if is_form {
            for (k, v) in url::form_urlencoded::parse(body).into_owned() {
                if !params.iter().any(|(q, _)| *q == k) {
                    params.push((k, v));
                }
            }
        }
        let ip = crate::net::client_ip(req, trust_forwarded(req));
        XtreamParams(params, ip)
    }

    /// The first value of `name`.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// Checks the credentials; missing ones are `Denied`. An address that keeps
    /// failing is braked (429 with `Retry-After`, see [`crate::brake`]): its
    /// attempts are refused for a while without running argon2, so password
    /// guessing cannot burn the CPU the streams need.
    pub async fn login(&self, state: &AppState) -> Result<Login, ApiError> {
        let (Some(u), Some(p)) = (self.get("username"), self.get("password")) else {
            return Ok(Login::Denied);
        };
        crate::auth::braked_login(state, &state.player_brake, &self.1, u, p).await
    }
}

/// Whether `X-Forwarded-For` is to be believed for this request.
fn trust_forwarded(req: &HttpRequest) -> bool {
    req.app_data::<actix_web::web::Data<AppState>>()
        .is_some_and(|s| s.settings.server.trust_forwarded_headers)
}

/// The active account behind `params`, or the HTTP 200 refusal the JSON APIs answer
/// (`auth: 0`, with the status for disabled and expired accounts).
pub async fn api_login(
    state: &AppState,
    params: &XtreamParams,
) -> Result<Result<acextream_core::store::users::User, serde_json::Value>, ApiError> {
    Ok(match params.login(state).await? {
        Login::Active(user) => Ok(user),
        Login::Disabled(u) => Err(super::rows::refused(&u.username, "Disabled")),
        Login::Expired(u) => Err(super::rows::refused(&u.username, "Expired")),
        Login::Denied => Err(super::rows::denied()),
    })
}

/// Form bodies of Xtream calls are tiny; anything bigger is not a player.
pub const MAX_FORM_BYTES: usize = 16 * 1024;
