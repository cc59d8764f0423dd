//! `player_api.php`. (Being written.)

use actix_web::{HttpRequest, HttpResponse, web};

use crate::error::ApiError;
use crate::state::AppState;

/// The endpoint.
pub async fn handle(
    _req: HttpRequest,
    _state: web::Data<AppState>,
    _body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    Err(ApiError::NotFound("not yet available".into()))
}
