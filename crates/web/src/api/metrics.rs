//! `GET /metrics` in the Prometheus text format. (Being written.)

use actix_web::web;

/// Registers `/metrics` (at the root, not under `/api`).
pub fn config(_cfg: &mut web::ServiceConfig) {}
