//! `xmltv.php`: the XMLTV guide. (Being written.)

use actix_web::{HttpRequest, HttpResponse, web};

use crate::error::ApiError;
use crate::state::AppState;

/// `GET|POST /xmltv.php?username&password`.
pub async fn xmltv_php(
    _req: HttpRequest,
    _state: web::Data<AppState>,
    _body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    Err(ApiError::NotFound("not yet available".into()))
}
