//! The Xtream Codes surface players use (see shared docs XTREAM.md): the login and
//! catalogue API, the M3U playlist, the XMLTV guide and the stream URLs.
//!
//! Registration order matters: the legacy `/{user}/{password}/{id}` form matches any
//! three segments, so it is registered last, and it answers 404 for the first
//! segments of other routes (`api`, `dashboard`, `static`, `epg`…), which are
//! reserved user names.

pub mod base_url;
pub mod connections;
pub mod creds;
pub mod guide;
pub mod m3u_writer;
pub mod panel_api;
pub mod player_api;
pub mod playlist;
pub mod rows;
pub mod streams;
pub mod xmltv_writer;

use acextream_core::accounts::Login;
use acextream_core::store::users::User;
use actix_web::web;

use crate::error::ApiError;
use crate::state::AppState;
use creds::XtreamParams;

/// Registers every Xtream route.
pub fn config(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/player_api.php")
            .route(web::get().to(player_api::handle))
            .route(web::post().to(player_api::handle)),
    )
    .service(
        web::resource("/panel_api.php")
            .route(web::get().to(panel_api::handle))
            .route(web::post().to(panel_api::handle)),
    )
    .service(
        web::resource("/get.php")
            .route(web::get().to(playlist::get_php))
            .route(web::post().to(playlist::get_php)),
    )
    .service(
        web::resource("/xmltv.php")
            .route(web::get().to(guide::xmltv_php))
            .route(web::post().to(guide::xmltv_php)),
    )
    .service(
        web::resource("/live/{user}/{password}/{stream}")
            .route(web::get().to(streams::live))
            .route(web::head().to(streams::live)),
    )
    .service(web::resource("/movie/{user}/{password}/{stream}").to(streams::no_vod))
    .service(web::resource("/series/{user}/{password}/{stream}").to(streams::no_vod))
    .service(
        web::resource("/{user}/{password}/{stream}")
            .route(web::get().to(streams::legacy))
            .route(web::head().to(streams::legacy)),
    );
}

/// [`authorize`] for credentials taken from a URL path (`/live/U/P/…`,
/// `/timeshift/U/P/…`, `/hdhr/U/P/…`), from the request's client address.
pub async fn authorize_path(
    state: &AppState,
    req: &actix_web::HttpRequest,
    username: &str,
    password: &str,
) -> Result<User, ApiError> {
    let ip = crate::net::client_ip(req, state.settings.server.trust_forwarded_headers);
    let params = XtreamParams(
        vec![
            ("username".into(), username.to_owned()),
            ("password".into(), password.to_owned()),
        ],
        ip,
    );
    authorize(state, &params).await
}

/// The active account behind `params`, or 401 with the reason (for playlists,
/// guides and streams; `player_api.php` answers `auth: 0` instead).
pub async fn authorize(state: &AppState, params: &XtreamParams) -> Result<User, ApiError> {
    match params.login(state).await? {
        Login::Active(user) => Ok(user),
        Login::Disabled(_) => Err(ApiError::AccountUnusable("account disabled".into())),
        Login::Expired(_) => Err(ApiError::AccountUnusable("account expired".into())),
        Login::Denied => Err(ApiError::Unauthorized),
    }
}
