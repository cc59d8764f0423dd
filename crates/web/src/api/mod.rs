//! The admin REST API under `/api` (behind [`crate::auth::require_admin`]).

pub mod aceproxy;
pub mod channels;
pub mod metrics;
pub mod sources;

use actix_web::web;

/// Registers every `/api` route.
pub fn config(cfg: &mut web::ServiceConfig) {
    cfg.configure(aceproxy::config)
        .configure(channels::config)
        .configure(sources::config)
        .service(web::resource("/health").route(web::get().to(crate::health::health)));
}
