//! The admin dashboard: server-rendered pages (Tera templates embedded in the
//! binary), a form login with server-side sessions, and embedded static assets.
//!
//! Pages render what the database holds at request time (channels, users,
//! sources, categories); live data (streams, health, logs, settings) is fetched by
//! each page's small script from the admin REST API with the session cookie and
//! the CSRF token of the `<meta name="csrf-token">` tag. Every template is
//! autoescaped, scripts build the DOM with `textContent`, and the
//! Content-Security-Policy allows no inline script or style at all.

pub mod assets;
pub mod login;
pub mod pages;

use std::sync::Arc;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::middleware::{self, Next};
use actix_web::{HttpMessage, HttpResponse, HttpResponseBuilder, web};
use serde_json::Value;
use tera::Tera;

use crate::state::AppState;

/// The policy of every dashboard page: nothing inline, nothing from elsewhere
/// except channel logos (which may live on any http/https host). The player's
/// `<video>` plays a `blob:` URL: hls.js feeds it through a MediaSource object
/// URL (the HLS playlist and segments themselves are fetched from 'self').
pub const CSP: &str = "default-src 'self'; img-src 'self' http: https: data:; style-src 'self'; \
                       script-src 'self'; media-src 'self' blob:; frame-ancestors 'none'; \
                       base-uri 'none'; form-action 'self'";

/// Registers `/`, `/dashboard/*` and `/static/*`.
pub fn config(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/").route(web::get().to(to_dashboard)))
        .service(web::resource("/dashboard").route(web::get().to(to_dashboard)))
        .service(
            web::resource("/dashboard/login")
                .route(web::get().to(login::form))
                .route(web::post().to(login::submit)),
        )
        .service(web::resource("/static/{path:.*}").route(web::get().to(assets::serve)))
        .service(
            web::scope("/dashboard")
                .wrap(middleware::from_fn(require_session))
                .service(web::resource("/logout").route(web::post().to(login::logout)))
                .service(web::resource("/").route(web::get().to(pages::overview)))
                .service(web::resource("/live").route(web::get().to(pages::live)))
                .service(web::resource("/channels").route(web::get().to(pages::channels)))
                .service(web::resource("/categories").route(web::get().to(pages::categories)))
                .service(web::resource("/users").route(web::get().to(pages::users)))
                .service(web::resource("/sources").route(web::get().to(pages::sources)))
                .service(web::resource("/settings").route(web::get().to(pages::settings)))
                .service(web::resource("/logs").route(web::get().to(pages::logs)))
                .service(web::resource("/stream-names").route(web::get().to(pages::stream_names)))
                .default_service(web::to(pages::not_found)),
        );
}

/// `/` and `/dashboard` lead to the overview.
async fn to_dashboard() -> HttpResponse {
    see_other("/dashboard/")
}

/// A 303 to a local path.
pub fn see_other(location: &str) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, location))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .finish()
}

/// Lets a dashboard request through only with a valid admin session (put into the
/// request's extensions); otherwise 303 to the login page, remembering the path.
async fn require_session(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<actix_web::body::BoxBody>, actix_web::Error> {
    let state = req
        .app_data::<web::Data<AppState>>()
        .cloned()
        .ok_or_else(|| crate::error::ApiError::Internal(anyhow::anyhow!("state missing")))?;
    match crate::auth::session_of(&state, req.request()).await? {
        Some(session) => {
            req.extensions_mut().insert(session);
            Ok(next.call(req).await?.map_into_boxed_body())
        }
        None => {
            let wanted = match req.query_string() {
                "" => req.path().to_owned(),
                q => format!("{}?{q}", req.path()),
            };
            let target = match login::safe_next(&wanted) {
                Some(next) if req.method() == actix_web::http::Method::GET => {
                    let encoded: String =
                        url::form_urlencoded::byte_serialize(next.as_bytes()).collect();
                    format!("/dashboard/login?next={encoded}")
                }
                _ => "/dashboard/login".to_owned(),
            };
            Ok(req.into_response(see_other(&target)))
        }
    }
}

/// The parsed templates and the assets' version, built once at start-up.
#[derive(Clone)]
pub struct Pages {
    tera: Arc<Result<Tera, String>>,
    /// Short digest of every embedded asset: the `?v=` of their URLs, so a new
    /// build is never served from a browser's year-long cache.
    pub version: Arc<str>,
}

impl Default for Pages {
    fn default() -> Self {
        let tera = build_tera().map_err(|e| {
            // Templates are embedded: this is a build defect, caught by the tests.
            let msg = format!("dashboard templates are invalid: {e:?}");
            tracing::error!("{msg}");
            msg
        });
        Pages {
            tera: Arc::new(tera),
            version: assets::version().into(),
        }
    }
}

/// Every template, embedded in the binary.
const TEMPLATES: &[(&str, &str)] = &[
    ("base.html", include_str!("../../../../templates/base.html")),
    (
        "login.html",
        include_str!("../../../../templates/login.html"),
    ),
    (
        "overview.html",
        include_str!("../../../../templates/overview.html"),
    ),
    ("live.html", include_str!("../../../../templates/live.html")),
    (
        "channels.html",
        include_str!("../../../../templates/channels.html"),
    ),
    (
        "categories.html",
        include_str!("../../../../templates/categories.html"),
    ),
    (
        "users.html",
        include_str!("../../../../templates/users.html"),
    ),
    (
        "sources.html",
        include_str!("../../../../templates/sources.html"),
    ),
    (
        "settings.html",
        include_str!("../../../../templates/settings.html"),
    ),
    ("logs.html", include_str!("../../../../templates/logs.html")),
    (
        "player.html",
        include_str!("../../../../templates/player.html"),
    ),
    (
        "not_found.html",
        include_str!("../../../../templates/not_found.html"),
    ),
];

fn build_tera() -> tera::Result<Tera> {
    let mut tera = Tera::default();
    // Autoescape every template (the default covers only some suffixes).
    tera.autoescape_on(vec![".html"]);
    tera.add_raw_templates(TEMPLATES.to_vec())?;
    tera.register_filter("epoch", epoch_filter);
    tera.register_filter("bytes", bytes_filter);
    tera.register_filter("duration", duration_filter);
    Ok(tera)
}

/// `{{ t | epoch }}`: epoch seconds as `YYYY-MM-DD HH:MM UTC`, `—` for none.
fn epoch_filter(v: &Value, _: &std::collections::HashMap<String, Value>) -> tera::Result<Value> {
    Ok(Value::String(format_epoch(v.as_i64())))
}

/// Epoch seconds as `YYYY-MM-DD HH:MM UTC`.
pub fn format_epoch(t: Option<i64>) -> String {
    match t.and_then(|t| jiff::Timestamp::from_second(t).ok()) {
        Some(ts) => ts.strftime("%Y-%m-%d %H:%M UTC").to_string(),
        None => "—".to_owned(),
    }
}

/// `{{ n | bytes }}`: a byte count in KiB/MiB/GiB.
fn bytes_filter(v: &Value, _: &std::collections::HashMap<String, Value>) -> tera::Result<Value> {
    let n = v.as_f64().unwrap_or(0.0);
    let units = ["B", "KiB", "MiB", "GiB", "TiB"];
    let (mut n, mut i) = (n, 0);
    while n >= 1024.0 && i + 1 < units.len() {
        n /= 1024.0;
        i += 1;
    }
    Ok(Value::String(if i == 0 {
        format!("{n:.0} B")
    } else {
        format!("{n:.1} {}", units[i])
    }))
}

/// `{{ secs | duration }}`: `90 min`, `6 h`, `2 d`.
fn duration_filter(v: &Value, _: &std::collections::HashMap<String, Value>) -> tera::Result<Value> {
    let s = v.as_i64().unwrap_or(0);
    Ok(Value::String(match s {
        s if s % 86_400 == 0 && s > 0 => format!("{} d", s / 86_400),
        s if s % 3600 == 0 && s > 0 => format!("{} h", s / 3600),
        s if s % 60 == 0 => format!("{} min", s / 60),
        s => format!("{s} s"),
    }))
}

impl Pages {
    /// Renders `template` with `ctx` into a page response with `status`.
    pub fn render(&self, status: StatusCode, template: &str, ctx: &tera::Context) -> HttpResponse {
        let body = match self.tera.as_ref() {
            Ok(tera) => tera.render(template, ctx).map_err(|e| format!("{e:?}")),
            Err(e) => Err(e.clone()),
        };
        match body {
            Ok(html) => {
                let mut resp = HttpResponse::build(status);
                secure_headers(&mut resp);
                resp.content_type("text/html; charset=utf-8").body(html)
            }
            Err(e) => {
                tracing::error!(template, error = e, "dashboard page failed to render");
                let mut resp = HttpResponse::InternalServerError();
                secure_headers(&mut resp);
                resp.content_type("text/plain; charset=utf-8")
                    .body("the page failed to render; see the log")
            }
        }
    }
}

/// The headers every dashboard page carries.
pub fn secure_headers(resp: &mut HttpResponseBuilder) {
    resp.insert_header((
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    ))
    .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
    .insert_header((header::REFERRER_POLICY, "same-origin"))
    .insert_header((header::X_FRAME_OPTIONS, "DENY"))
    // Pages hold a CSRF token and personal data: never cache them.
    .insert_header((header::CACHE_CONTROL, "no-store"));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_template_parses_and_autoescapes() {
        let tera = build_tera().unwrap();
        let mut ctx = tera::Context::new();
        ctx.insert("message", "<script>alert(1)</script>");
        ctx.insert("csrf", "t");
        ctx.insert("next", "/dashboard/");
        ctx.insert("v", "1");
        ctx.insert("username", "\"quoted\"");
        let html = tera.render("login.html", &ctx).unwrap();
        assert!(
            html.contains("&lt;script&gt;alert(1)&lt;&#x2F;script&gt;"),
            "{html}"
        );
        assert!(!html.contains("<script>alert"));
    }

    #[test]
    fn epochs_and_sizes_read_well() {
        assert_eq!(format_epoch(Some(0)), "1970-01-01 00:00 UTC");
        assert_eq!(format_epoch(None), "—");
        let none = std::collections::HashMap::new();
        assert_eq!(
            bytes_filter(&Value::from(1536), &none).unwrap(),
            Value::from("1.5 KiB")
        );
    }
}
