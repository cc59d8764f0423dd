//! `GET/POST /dashboard/login` and `POST /dashboard/logout`.
//!
//! Login CSRF (a forged login into the attacker's account) is stopped twice: the
//! form carries a random token that must match a pre-session cookie
//! (`acx_login`, `HttpOnly`, `SameSite=Strict`, scoped to the login path: a double
//! submit another site can neither read nor send), and a browser's `Origin`/
//! `Sec-Fetch-Site` must not name another site. Failed logins count towards the
//! brake; a braked login gets the form again with 429 and the password is not
//! checked at all.

use acextream_core::accounts::Login;
use actix_web::http::StatusCode;
use actix_web::http::header;
use actix_web::{HttpMessage, HttpRequest, HttpResponse, web};
use serde::Deserialize;

use crate::error::ApiError;
use crate::net::client_ip;
use crate::session::{self, COOKIE, Session, same_secret};
use crate::state::AppState;

/// The pre-session cookie of the login form's double-submit token.
pub const LOGIN_COOKIE: &str = "acx_login";
/// The path both the login cookie and the form live on.
const LOGIN_PATH: &str = "/dashboard/login";

/// `?next=` of the login page.
#[derive(Debug, Default, Deserialize)]
pub struct NextQuery {
    next: Option<String>,
}

/// The login form's fields.
#[derive(Debug, Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    username: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    next: String,
}

/// The logout form's field.
#[derive(Debug, Deserialize)]
pub struct LogoutForm {
    #[serde(default)]
    csrf: String,
}

/// `next` when it is a path of the dashboard itself (never another site: no
/// scheme, no `//`, no backslash, no `..`, no control characters), else `None`.
pub fn safe_next(next: &str) -> Option<String> {
    let ok = next.len() <= 1024
        && (next == "/dashboard"
            || next.starts_with("/dashboard/")
            || next.starts_with("/dashboard?"))
        && !next.contains("//")
        && !next.contains('\\')
        && !next.contains("..")
        && !next.chars().any(|c| c.is_control() || c.is_whitespace())
        && !next.starts_with("/dashboard/login")
        && !next.starts_with("/dashboard/logout");
    ok.then(|| next.to_owned())
}

/// `GET /dashboard/login`: the form (or straight on, for a logged-in admin).
pub async fn form(
    req: HttpRequest,
    state: web::Data<AppState>,
    query: web::Query<NextQuery>,
) -> Result<HttpResponse, ApiError> {
    let next = query
        .next
        .as_deref()
        .and_then(safe_next)
        .unwrap_or_else(|| "/dashboard/".into());
    if crate::auth::session_of(&state, &req).await?.is_some() {
        return Ok(super::see_other(&next));
    }
    Ok(render_form(&req, &state, StatusCode::OK, "", "", &next))
}

/// The login page with a fresh double-submit token, a message and the name typed.
fn render_form(
    req: &HttpRequest,
    state: &AppState,
    status: StatusCode,
    message: &str,
    username: &str,
    next: &str,
) -> HttpResponse {
    let token = session::random_token();
    let mut ctx = tera::Context::new();
    ctx.insert("csrf", &token);
    ctx.insert("message", message);
    ctx.insert("username", username);
    ctx.insert("next", next);
    ctx.insert("v", &*state.pages.version);
    let mut resp = state.pages.render(status, "login.html", &ctx);
    let secure = session::request_is_https(req, &state.settings);
    let mut cookie = session::cookie(LOGIN_COOKIE, token, LOGIN_PATH, secure);
    cookie.set_max_age(actix_web::cookie::time::Duration::hours(1));
    if let Err(e) = resp.add_cookie(&cookie) {
        tracing::error!(error = %e, "cannot set the login cookie");
    }
    resp
}

/// `POST /dashboard/login`.
pub async fn submit(
    req: HttpRequest,
    state: web::Data<AppState>,
    form: web::Form<LoginForm>,
) -> Result<HttpResponse, ApiError> {
    let form = form.into_inner();
    let next = safe_next(&form.next).unwrap_or_else(|| "/dashboard/".into());
    let shown_name: String = form.username.chars().take(64).collect();
    let expected = req
        .cookie(LOGIN_COOKIE)
        .map(|c| c.value().to_owned())
        .unwrap_or_default();
    if crate::auth::is_cross_site(&req)
        || expected.is_empty()
        || !same_secret(&form.csrf, &expected)
    {
        return Ok(render_form(
            &req,
            &state,
            StatusCode::FORBIDDEN,
            "The login form expired or came from another site. Please sign in again.",
            &shown_name,
            &next,
        ));
    }
    let ip = client_ip(&req, state.settings.server.trust_forwarded_headers);
    let outcome =
        crate::auth::braked_login(&state, &state.brake, &ip, &form.username, &form.password).await;
    let user = match outcome {
        Ok(Login::Active(user)) if user.is_admin => user,
        Err(ApiError::TooManyAttempts(secs)) => {
            let minutes = secs.div_ceil(60);
            let mut resp = render_form(
                &req,
                &state,
                StatusCode::TOO_MANY_REQUESTS,
                &format!(
                    "Too many failed sign-ins from this address. Wait {minutes} minute(s) and try again."
                ),
                &shown_name,
                &next,
            );
            resp.headers_mut()
                .insert(header::RETRY_AFTER, header::HeaderValue::from(secs));
            return Ok(resp);
        }
        Err(e) => return Err(e),
        Ok(Login::Denied) => {
            tracing::warn!(ip, "dashboard login refused");
            // One message for a guess: it must not tell which part was wrong.
            return Ok(render_form(
                &req,
                &state,
                StatusCode::UNAUTHORIZED,
                "Wrong user name or password.",
                &shown_name,
                &next,
            ));
        }
        Ok(outcome) => {
            // The password was right: say plainly why it does not open the dashboard.
            let refusal = crate::auth::not_an_admin(outcome);
            let status = actix_web::ResponseError::status_code(&refusal);
            return Ok(render_form(
                &req,
                &state,
                status,
                "This account may not use the dashboard (not an active admin).",
                &shown_name,
                &next,
            ));
        }
    };
    let user_agent = req
        .headers()
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let (token, _csrf) = state
        .sessions
        .open(&state.store, &user, &ip, user_agent)
        .await?;
    tracing::info!(user = user.username, ip, "dashboard session opened");
    let secure = session::request_is_https(&req, &state.settings);
    let mut cookie = session::cookie(COOKIE, token, "/", secure);
    cookie.set_max_age(actix_web::cookie::time::Duration::seconds(
        session::SESSION_TTL.as_secs() as i64,
    ));
    Ok(HttpResponse::SeeOther()
        .insert_header((header::LOCATION, next))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .cookie(cookie)
        .cookie(session::removal(LOGIN_COOKIE, LOGIN_PATH, secure))
        .finish())
}

/// `POST /dashboard/logout` (behind the session guard): ends the session.
pub async fn logout(
    req: HttpRequest,
    state: web::Data<AppState>,
    form: web::Form<LogoutForm>,
) -> Result<HttpResponse, ApiError> {
    let Some(session) = req.extensions().get::<Session>().cloned() else {
        return Err(ApiError::Unauthorized);
    };
    if !same_secret(&form.csrf, &session.csrf) || crate::auth::is_cross_site(&req) {
        return Err(ApiError::Forbidden("missing or wrong CSRF token".into()));
    }
    state
        .sessions
        .close(&state.store, session.token_hash.clone())
        .await?;
    tracing::info!(user = session.user.username, "dashboard session closed");
    let secure = session::request_is_https(&req, &state.settings);
    Ok(HttpResponse::SeeOther()
        .insert_header((header::LOCATION, LOGIN_PATH))
        .cookie(session::removal(COOKIE, "/", secure))
        .finish())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_stays_on_the_dashboard() {
        for ok in [
            "/dashboard/",
            "/dashboard/channels?search=a&offset=100",
            "/dashboard",
        ] {
            assert_eq!(safe_next(ok).as_deref(), Some(ok));
        }
        for bad in [
            "https://evil.example/",
            "//evil.example/dashboard/",
            "/dashboard/..//evil",
            "/\\evil.example",
            "/dashboard\\@evil",
            "/dashboardx",
            "/api/users",
            "javascript:alert(1)",
            "/dashboard/ x",
            "/dashboard/login",
        ] {
            assert_eq!(safe_next(bad), None, "{bad}");
        }
    }
}
