//! `/api/aceproxy/*`: the multiplexer's live streams, for admins.

use actix_web::{HttpResponse, web};

use crate::error::ApiError;
use crate::state::AppState;

/// Registers `/api/aceproxy/stats`.
pub fn config(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/aceproxy/stats").route(web::get().to(stats)));
}

/// Every live stream with its viewers and engine statistics.
async fn stats(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(crate::mux_api::all_streams(&state).await?))
}
