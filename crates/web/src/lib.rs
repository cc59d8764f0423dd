//! The public listener (actix-web): Xtream API, playlists, guide, stream URLs, the
//! reverse proxy to the multiplexer, the dashboard and the admin REST API.
//!
//! Request pipeline, in order: access log (credentials masked) → route → for `/api`
//! the admin guard → handler. Shared state is built once outside the worker factory
//! and cloned into each worker as `web::Data`.

pub mod access_log;
pub mod api;
pub mod archive;
pub mod auth;
pub mod brake;
pub mod dashboard;
pub mod error;
#[doc(hidden)]
pub mod fuzzing;
pub mod hdhr;
pub mod health;
pub mod hls;
pub mod mux_api;
pub mod net;
pub mod play;
pub mod proxy;
pub mod session;
pub mod state;
pub mod stream_hop;
pub mod timeshift;
pub mod xtream;

use std::net::TcpListener;

use actix_web::{App, HttpServer, dev::Server, middleware, web};

pub use state::AppState;

/// Registers every route of the public side.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/health").route(web::get().to(health::health)))
        .configure(proxy::config)
        .configure(hls::config)
        .configure(hdhr::config)
        .configure(archive::serve::config)
        .configure(api::metrics::config)
        .configure(dashboard::config)
        .service(
            web::scope("/api")
                .wrap(middleware::from_fn(auth::require_admin))
                .configure(api::config),
        )
        // Last: its legacy `/{user}/{password}/{id}` route matches any three segments.
        .configure(xtream::config);
}

/// Builds the public server on an already-bound listener (tests bind port 0).
/// Signals are handled by the daemon, which stops this server through its handle.
pub fn server(state: AppState, listener: TcpListener) -> std::io::Result<Server> {
    let settings = state.settings.clone();
    let data = web::Data::new(state);
    let access_log = settings.log.access_log;
    let mut server = HttpServer::new(move || {
        App::new()
            .app_data(data.clone())
            .app_data(web::QueryConfig::default().error_handler(error::query_error))
            .app_data(web::JsonConfig::default().error_handler(error::json_error))
            .app_data(web::FormConfig::default().error_handler(error::form_error))
            .app_data(web::PathConfig::default().error_handler(error::path_error))
            .wrap(middleware::Condition::new(
                access_log,
                middleware::from_fn(access_log::log_request),
            ))
            .configure(routes)
            .default_service(web::to(error::not_found))
    })
    .listen(listener)?
    .disable_signals()
    // A player that hangs up while its channel starts must leave at once, not once
    // the engine answered: without this a FIN only marks the read side closed and
    // the waiting handler (and the viewer it holds in the multiplexer) lives on.
    .h1_allow_half_closed(false)
    // A stream's pieces are at most stream_hop::PIECE so a viewer's write buffer
    // stays at the 8 KiB actix starts with (actix's default limit, 32 KiB, with
    // whole chunks, made every viewer hold 32 KiB+ for as long as it watched).
    // Bodies known in full are written whole whatever this says.
    .h1_write_buffer_size(stream_hop::WRITE_BUFFER)
    // Live streams never finish on their own: a drain must be bounded.
    .shutdown_timeout(settings.server.shutdown_timeout.as_secs().max(1));
    if settings.server.workers > 0 {
        server = server.workers(settings.server.workers);
    }
    Ok(server.run())
}

/// The dedicated `hdhr.bind` listener: `username`'s HDHomeRun tuner at its root
/// (`/discover.json`, `/lineup.json`, `/auto/vN`, …) with no credentials in any
/// URL, for clients that look for a tuner only at `http://<ip>/` (Jellyfin's
/// "detect my devices"). Nothing else is served there.
pub fn tuner_server(
    state: AppState,
    listener: TcpListener,
    username: String,
) -> std::io::Result<Server> {
    let settings = state.settings.clone();
    let data = web::Data::new(state);
    let root = web::Data::new(hdhr::device::RootDevice { username });
    let access_log = settings.log.access_log;
    let server = HttpServer::new(move || {
        App::new()
            .app_data(data.clone())
            .app_data(root.clone())
            .app_data(web::PathConfig::default().error_handler(error::path_error))
            .wrap(middleware::Condition::new(
                access_log,
                middleware::from_fn(access_log::log_request),
            ))
            .configure(hdhr::device_routes)
            .default_service(web::to(error::not_found))
    })
    .listen(listener)?
    .disable_signals()
    .h1_allow_half_closed(false)
    // A couple of media servers, not a crowd of players.
    .workers(1)
    .shutdown_timeout(settings.server.shutdown_timeout.as_secs().max(1));
    Ok(server.run())
}
