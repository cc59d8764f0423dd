//! Credentials on the public side: HTTP Basic parsing, the admin guard of `/api/*`,
//! and the player check used by the stream proxy.

use acextream_core::accounts::Login;
use acextream_core::store::users::User;
use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{AUTHORIZATION, HeaderMap};
use actix_web::middleware::Next;
use actix_web::{HttpMessage, web};
use base64::Engine as _;

use crate::error::ApiError;
use crate::state::AppState;

/// The admin who made the request (inserted by [`require_admin`]).
#[derive(Debug, Clone)]
pub struct AdminUser(pub User);

/// `Authorization: Basic base64(user:password)` → `(user, password)`.
pub fn basic_credentials(headers: &HeaderMap) -> Option<(String, String)> {
    let value = headers.get(AUTHORIZATION)?.to_str().ok()?;
    let (scheme, encoded) = value.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (user, password) = text.split_once(':')?;
    Some((user.to_owned(), password.to_owned()))
}

/// Lets the request through only with an enabled, unexpired admin's credentials;
/// anything else is a 401 JSON error that reveals nothing about which part failed.
pub async fn require_admin(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let state = req
        .app_data::<web::Data<AppState>>()
        .cloned()
        .ok_or_else(|| ApiError::Internal(anyhow::anyhow!("application state missing")))?;
    let Some((user, password)) = basic_credentials(req.headers()) else {
        return Err(ApiError::Unauthorized.into());
    };
    match state
        .accounts
        .login(&user, &password)
        .await
        .map_err(ApiError::from)?
    {
        Login::Active(user) if user.is_admin => {
            req.extensions_mut().insert(AdminUser(user));
            next.call(req).await
        }
        _ => Err(ApiError::Unauthorized.into()),
    }
}

/// Credentials a player sent: `username`/`password` query parameters first, else Basic.
pub fn player_credentials(
    query: &[(String, String)],
    headers: &HeaderMap,
) -> Option<(String, String)> {
    let find = |k: &str| query.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    match (find("username"), find("password")) {
        (Some(u), Some(p)) => Some((u, p)),
        _ => basic_credentials(headers),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::http::header::HeaderValue;

    #[test]
    fn basic_credentials_are_decoded_and_junk_is_ignored() {
        let mut h = HeaderMap::new();
        h.insert(
            AUTHORIZATION,
            HeaderValue::from_static("Basic YWxpY2U6czNjOnJldA=="),
        );
        assert_eq!(
            basic_credentials(&h),
            Some(("alice".into(), "s3c:ret".into()))
        );
        for junk in ["Basic", "Basic !!!", "Bearer abc", "Basic YWxpY2U="] {
            h.insert(AUTHORIZATION, HeaderValue::from_static(junk));
            assert_eq!(basic_credentials(&h), None, "{junk}");
        }
    }
}
