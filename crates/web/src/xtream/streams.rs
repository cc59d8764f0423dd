//! Stream URLs. (Being written.)

use actix_web::{HttpRequest, HttpResponse, web};

use crate::error::ApiError;
use crate::state::AppState;

/// `/live/{user}/{password}/{id}.ts`.
pub async fn live(_req: HttpRequest, _state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    Err(ApiError::NotFound("not yet available".into()))
}

/// `/{user}/{password}/{id}`.
pub async fn legacy(_req: HttpRequest, _state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    Err(ApiError::NotFound("not yet available".into()))
}

/// `/movie/…` and `/series/…`: no VOD yet.
pub async fn no_vod() -> Result<HttpResponse, ApiError> {
    Err(ApiError::NotFound("no video on demand on this server".into()))
}
