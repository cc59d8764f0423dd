//! Credentials on the public side: HTTP Basic parsing, the admin guard of `/api/*`
//! (session cookie + CSRF token, or Basic), and the player check used by the
//! stream proxy.

use acextream_core::accounts::Login;
use acextream_core::store::users::User;
use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::error::InternalError;
use actix_web::http::Method;
use actix_web::http::header::{AUTHORIZATION, HeaderMap};
use actix_web::middleware::Next;
use actix_web::{HttpMessage, HttpRequest, HttpResponse, web};
use base64::Engine as _;
use serde_json::json;

use crate::error::ApiError;
use crate::net::client_ip;
use crate::session::Session;
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

/// The header JavaScript on the dashboard echoes the session's CSRF token in.
pub const CSRF_HEADER: &str = "x-csrf-token";

/// Lets the request through only for an admin, who proves it one of two ways:
///
/// - a valid dashboard **session cookie**; a state-changing method (POST, PUT,
///   PATCH, DELETE) must then also carry the session's CSRF token in
///   `X-CSRF-Token`, else 403 `{"error":{"code":"csrf"}}`;
/// - **HTTP Basic** credentials of an enabled, unexpired admin (scripts, curl).
///   Failures count towards the login brake ([`crate::brake`]); a braked address
///   gets 429 without the password being checked, and a right password of an
///   account that is not an admin gets 403 (it is not counted as a guess). Browsers cache Basic
///   credentials and replay them like a cookie, so a state-changing Basic request
///   that a browser marks as coming from another site (`Sec-Fetch-Site:
///   cross-site`/`same-site`, or an `Origin` that is not this host) is refused
///   with 403 `csrf`; scripts send neither header and need no token.
///
/// Anything else is a 401 JSON error that reveals nothing about which part failed.
pub async fn require_admin(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let state = req
        .app_data::<web::Data<AppState>>()
        .cloned()
        .ok_or_else(|| ApiError::Internal(anyhow::anyhow!("application state missing")))?;
    let unsafe_method = !matches!(
        *req.method(),
        Method::GET | Method::HEAD | Method::OPTIONS | Method::TRACE
    );

    if let Some(session) = session_of(&state, req.request()).await? {
        if unsafe_method {
            let sent = req
                .headers()
                .get(CSRF_HEADER)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("");
            if !crate::session::same_secret(sent, &session.csrf) {
                return Err(csrf_error("missing or wrong X-CSRF-Token header"));
            }
        }
        req.extensions_mut().insert(AdminUser(session.user.clone()));
        req.extensions_mut().insert(session);
        return next.call(req).await;
    }

    let Some((user, password)) = basic_credentials(req.headers()) else {
        return Err(ApiError::Unauthorized.into());
    };
    if unsafe_method && is_cross_site(req.request()) {
        return Err(csrf_error("cross-site request refused"));
    }
    let ip = client_ip(req.request(), state.settings.server.trust_forwarded_headers);
    match braked_login(&state, &state.brake, &ip, &user, &password).await? {
        Login::Active(account) if account.is_admin => {
            req.extensions_mut().insert(AdminUser(account));
            next.call(req).await
        }
        Login::Denied => {
            tracing::warn!(ip, "admin API: wrong credentials");
            Err(ApiError::Unauthorized.into())
        }
        // The password was right (not a guess), but the account may not administer.
        outcome => Err(not_an_admin(outcome).into()),
    }
}

/// The refusal for a right password on an admin route: 403 for an account that is
/// not an admin, 401 with the reason for a disabled or expired admin.
pub fn not_an_admin(outcome: Login) -> ApiError {
    match outcome {
        Login::Disabled(u) | Login::Expired(u) if u.is_admin => {
            ApiError::AccountUnusable("this admin account is disabled or expired".into())
        }
        _ => ApiError::Forbidden("this account may not administer acextream".into()),
    }
}

/// Checks a password through `brake` ([`crate::brake`]): a braked address gets
/// [`ApiError::TooManyAttempts`] without the password being checked; an account
/// that is being guessed from many addresses makes the attempt wait a little
/// first; the outcome is recorded. Every password check reachable from the
/// network goes through here, so none of them is an unbraked guessing oracle.
pub async fn braked_login(
    state: &AppState,
    brake: &crate::brake::LoginBrake,
    ip: &str,
    user: &str,
    password: &str,
) -> Result<Login, ApiError> {
    match brake.check(ip, user) {
        crate::brake::Verdict::Braked { retry_after } => {
            tracing::warn!(ip, "login braked: too many failures from this address");
            return Err(ApiError::TooManyAttempts(retry_after.as_secs().max(1)));
        }
        crate::brake::Verdict::Go { delay } if !delay.is_zero() => {
            tokio::time::sleep(delay).await;
        }
        crate::brake::Verdict::Go { .. } => {}
    }
    let login = state.accounts.login(user, password).await?;
    if login == Login::Denied {
        brake.failed(ip, user);
    } else {
        brake.succeeded(ip, user);
    }
    Ok(login)
}

/// The valid dashboard session of this request's cookie, if any.
pub async fn session_of(state: &AppState, req: &HttpRequest) -> Result<Option<Session>, ApiError> {
    let Some(cookie) = req.cookie(crate::session::COOKIE) else {
        return Ok(None);
    };
    Ok(state.sessions.check(&state.store, cookie.value()).await?)
}

/// Whether a browser says this request comes from another site: an `Origin`
/// other than the `Host` it was sent to, or a `Sec-Fetch-Site` other than
/// `same-origin`/`none`. Requests without these headers (scripts) are not.
pub fn is_cross_site(req: &HttpRequest) -> bool {
    let header = |n: &str| req.headers().get(n).and_then(|v| v.to_str().ok());
    if let Some(site) = header("sec-fetch-site")
        && !matches!(site, "same-origin" | "none")
    {
        return true;
    }
    match (header("origin"), header("host")) {
        (Some(origin), Some(host)) => {
            let origin_host = origin.split_once("://").map(|(_, rest)| rest).unwrap_or("");
            !origin_host.eq_ignore_ascii_case(host)
        }
        // An opaque or absent Host with an Origin: refuse, a browser always sends Host.
        (Some(_), None) => true,
        _ => false,
    }
}

/// 403 `{"error":{"code":"csrf"}}`.
fn csrf_error(message: &str) -> actix_web::Error {
    let body = json!({"error": {"code": "csrf", "message": message}});
    InternalError::from_response(message.to_owned(), HttpResponse::Forbidden().json(body)).into()
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
