//! The admin REST API under `/api` (behind [`crate::auth::require_admin`]).

pub mod aceproxy;
pub mod archive;
pub mod channels;
pub mod fields;
pub mod history;
pub mod links;
pub mod logs;
pub mod metrics;
pub mod now_playing;
pub mod player;
pub mod settings;
pub mod sources;
pub mod stats;
pub mod streams;
pub mod users;

use actix_web::web;

/// Registers every `/api` route.
pub fn config(cfg: &mut web::ServiceConfig) {
    cfg.configure(aceproxy::config)
        .configure(archive::config)
        .configure(channels::config)
        .configure(sources::config)
        .configure(streams::config)
        .configure(users::config)
        .configure(settings::config)
        .configure(logs::config)
        .configure(stats::config)
        .configure(history::config)
        .configure(now_playing::config)
        .configure(player::config)
        .service(web::resource("/health").route(web::get().to(crate::health::health)));
}
