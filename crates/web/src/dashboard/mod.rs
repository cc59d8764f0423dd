//! The admin dashboard (server-rendered pages). (Being written.)

use actix_web::web;

/// Registers the dashboard's routes.
pub fn config(_cfg: &mut web::ServiceConfig) {}
