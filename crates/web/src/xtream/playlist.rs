//! `get.php`: the M3U playlist. (Being written.)

use actix_web::{HttpRequest, HttpResponse, web};

use crate::error::ApiError;
use crate::state::AppState;

/// `GET|POST /get.php?username&password&type=m3u|m3u_plus&output=ts|m3u8|hls`.
pub async fn get_php(
    _req: HttpRequest,
    _state: web::Data<AppState>,
    _body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    Err(ApiError::NotFound("not yet available".into()))
}
