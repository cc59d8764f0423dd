//! The dashboard end to end: who may see what, the form login and its session
//! cookie, CSRF on state-changing calls, the login brake, logout, escaping of
//! hostile names and the `next` parameter.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a panic here is a failed test

mod common;

use common::{ADMIN, Api, TestApp};
use reqwest::header::{CONTENT_TYPE, COOKIE, LOCATION, SET_COOKIE, USER_AGENT};
use serde_json::{Value, json};
use std::time::Duration;

/// A client that never follows redirects (tests look at them) and keeps no cookies
/// (tests pass them by hand, so they see exactly what the server set).
fn client() -> reqwest::Client {
    client_from("127.0.0.1")
}

/// Like [`client`], with its sockets bound to the loopback address `ip`, so the
/// server sees a different client address.
fn client_from(ip: &str) -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .local_address(ip.parse::<std::net::IpAddr>().unwrap())
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

async fn app() -> TestApp {
    TestApp::start("http://127.0.0.1:9", |_| {}).await
}

/// Every dashboard page behind the session.
const PAGES: &[&str] = &[
    "/dashboard/",
    "/dashboard/live",
    "/dashboard/channels",
    "/dashboard/categories",
    "/dashboard/users",
    "/dashboard/sources",
    "/dashboard/settings",
    "/dashboard/logs",
];

/// Every admin API route (those being written elsewhere included: the guard
/// covers all of `/api`, so they are refused the same way whether or not they exist).
const API: &[(&str, &str)] = &[
    ("GET", "/api/health"),
    ("GET", "/api/channels"),
    ("POST", "/api/channels"),
    ("GET", "/api/channels/1"),
    ("PUT", "/api/channels/1"),
    ("DELETE", "/api/channels/1"),
    ("GET", "/api/channels/check"),
    ("POST", "/api/channels/check"),
    ("GET", "/api/categories"),
    ("GET", "/api/scraper/sources"),
    ("POST", "/api/scraper/sources"),
    ("GET", "/api/scraper/sources/1"),
    ("PUT", "/api/scraper/sources/1"),
    ("DELETE", "/api/scraper/sources/1"),
    ("POST", "/api/scraper/trigger"),
    ("GET", "/api/epg/sources"),
    ("POST", "/api/epg/sources"),
    ("GET", "/api/epg/sources/1"),
    ("PUT", "/api/epg/sources/1"),
    ("DELETE", "/api/epg/sources/1"),
    ("POST", "/api/epg/update"),
    ("GET", "/api/epg/report"),
    ("GET", "/api/aceproxy/stats"),
    ("GET", "/api/aceproxy/streams"),
    ("DELETE", "/api/aceproxy/streams/abc"),
    ("GET", "/api/dashboard/stats"),
    ("GET", "/api/users"),
    ("POST", "/api/users"),
    ("GET", "/api/users/1"),
    ("PUT", "/api/users/1"),
    ("DELETE", "/api/users/1"),
    ("GET", "/api/settings"),
    ("PUT", "/api/settings/server.timezone"),
    ("GET", "/api/logs/tail"),
    ("GET", "/api/logs/download"),
];

/// The value of cookie `name` in a response's `Set-Cookie` headers, with the
/// whole header line.
fn set_cookie(resp: &reqwest::Response, name: &str) -> Option<(String, String)> {
    resp.headers().get_all(SET_COOKIE).iter().find_map(|h| {
        let line = h.to_str().ok()?.to_owned();
        let first = line.split(';').next()?.trim();
        let (n, v) = first.split_once('=')?;
        (n == name).then(|| (v.to_owned(), line.clone()))
    })
}

/// The `value` of the hidden input named `name` in a form.
fn hidden(html: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html
        .find(&marker)
        .unwrap_or_else(|| panic!("no {name} field in {html}"))
        + marker.len();
    html[start..].split('"').next().unwrap().to_owned()
}

/// A login form as a browser gets it: its double-submit cookie and token.
struct LoginForm {
    cookie: String,
    csrf: String,
    next: String,
}

async fn login_form(app: &TestApp, query: &str) -> LoginForm {
    login_form_via(&client(), app, query).await
}

async fn login_form_via(client: &reqwest::Client, app: &TestApp, query: &str) -> LoginForm {
    let r = client
        .get(app.url(&format!("/dashboard/login{query}")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let (cookie, line) = set_cookie(&r, "acx_login").expect("login cookie");
    assert!(
        line.contains("HttpOnly") && line.contains("SameSite=Strict"),
        "{line}"
    );
    let html = r.text().await.unwrap();
    // Attribute values are HTML-escaped (`/` is `&#x2F;`): decode what a browser would.
    let next = hidden(&html, "next")
        .replace("&#x2F;", "/")
        .replace("&amp;", "&");
    LoginForm {
        cookie,
        csrf: hidden(&html, "csrf"),
        next,
    }
}

/// Posts the login form; returns the response.
async fn post_login(
    app: &TestApp,
    user: &str,
    password: &str,
    next: &str,
    user_agent: &str,
) -> reqwest::Response {
    post_login_via(&client(), app, user, password, next, user_agent).await
}

/// [`post_login`] through `client`.
async fn post_login_via(
    client: &reqwest::Client,
    app: &TestApp,
    user: &str,
    password: &str,
    next: &str,
    user_agent: &str,
) -> reqwest::Response {
    let form = login_form_via(client, app, "").await;
    client
        .post(app.url("/dashboard/login"))
        .header(COOKIE, format!("acx_login={}", form.cookie))
        .header(USER_AGENT, user_agent)
        .form(&[
            ("username", user),
            ("password", password),
            ("csrf", &form.csrf),
            ("next", next),
        ])
        .send()
        .await
        .unwrap()
}

/// A logged-in admin: the session cookie value and the page's CSRF token.
struct Session {
    token: String,
    csrf: String,
}

impl Session {
    fn cookie(&self) -> String {
        format!("acx_session={}", self.token)
    }
}

async fn login_as(app: &TestApp, user_agent: &str) -> Session {
    let r = post_login(app, ADMIN.0, ADMIN.1, "/dashboard/", user_agent).await;
    assert_eq!(r.status(), 303);
    let (token, _) = set_cookie(&r, "acx_session").expect("session cookie");
    let page = client()
        .get(app.url("/dashboard/"))
        .header(COOKIE, format!("acx_session={token}"))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    let marker = "<meta name=\"csrf-token\" content=\"";
    let start = html.find(marker).expect("csrf meta") + marker.len();
    let csrf = html[start..].split('"').next().unwrap().to_owned();
    Session { token, csrf }
}

async fn login(app: &TestApp) -> Session {
    login_as(app, "dashboard-test").await
}

/// Every row of the sessions table, as `(token_hash, csrf_token, user_agent)`.
async fn session_rows(app: &TestApp) -> Vec<(String, String, String)> {
    let store = acextream_core::Store::open(&app.db).unwrap();
    store
        .run(|c| {
            let mut st = c.prepare("SELECT token_hash, csrf_token, user_agent FROM sessions")?;
            let rows = st.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
            Ok(rows.collect::<Result<Vec<_>, _>>()?)
        })
        .await
        .unwrap()
}

#[tokio::test]
async fn strangers_get_401_json_from_every_api_route_and_the_login_page_from_every_page() {
    let app = app().await;
    let c = client();
    for (method, path) in API {
        let r = c
            .request(method.parse().unwrap(), app.url(path))
            .json(&json!({}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 401, "{method} {path}");
        let body: Value = r.json().await.unwrap();
        assert_eq!(body["error"]["code"], "unauthorized", "{method} {path}");
    }
    for path in PAGES
        .iter()
        .chain(&["/dashboard/stream-names?id=x", "/dashboard/nowhere"])
    {
        let r = c.get(app.url(path)).send().await.unwrap();
        assert_eq!(r.status(), 303, "{path}");
        let location = r.headers()[LOCATION].to_str().unwrap();
        assert!(
            location.starts_with("/dashboard/login?next=%2Fdashboard"),
            "{path} → {location}"
        );
    }
    let r = c.post(app.url("/dashboard/logout")).send().await.unwrap();
    assert_eq!(r.status(), 303);
    assert_eq!(r.headers()[LOCATION], "/dashboard/login");
    for root in ["/", "/dashboard"] {
        let r = c.get(app.url(root)).send().await.unwrap();
        assert_eq!(
            (r.status().as_u16(), r.headers()[LOCATION].to_str().unwrap()),
            (303, "/dashboard/")
        );
    }
}

#[tokio::test]
async fn a_wrong_password_stays_on_the_form_and_the_right_one_opens_a_hashed_session() {
    let app = app().await;
    let r = post_login(&app, ADMIN.0, "not-the-password", "/dashboard/", "ua").await;
    assert_eq!(r.status(), 401);
    assert!(set_cookie(&r, "acx_session").is_none());
    let html = r.text().await.unwrap();
    assert!(html.contains("Wrong user name or password") && html.contains("name=\"password\""));

    let r = post_login(&app, ADMIN.0, ADMIN.1, "/dashboard/users", "ua").await;
    assert_eq!(r.status(), 303);
    assert_eq!(r.headers()[LOCATION], "/dashboard/users");
    let (token, line) = set_cookie(&r, "acx_session").expect("session cookie");
    for attr in ["HttpOnly", "SameSite=Strict", "Path=/"] {
        assert!(line.contains(attr), "{attr} missing: {line}");
    }
    assert!(!line.contains("Secure"), "plain http here: {line}");
    assert_eq!(token.len(), 43, "32 random bytes");

    let rows = session_rows(&app).await;
    assert_eq!(rows.len(), 1);
    let (hash, csrf, _) = &rows[0];
    assert_ne!(hash, &token);
    assert!(
        !hash.contains(&token) && csrf != &token,
        "the raw token is not stored"
    );
    assert_eq!(hash, &acextream_web::session::token_hash(&token));

    // A player account with the right password still may not use the dashboard.
    app.add_user("player", "player-pw", 1).await;
    let r = post_login(&app, "player", "player-pw", "/dashboard/", "ua").await;
    assert_eq!(r.status(), 403, "authenticated, not allowed");
    assert!(set_cookie(&r, "acx_session").is_none());
}

#[tokio::test]
async fn pages_render_for_the_session_with_strict_security_headers() {
    let app = app().await;
    let s = login(&app).await;
    for path in PAGES {
        let r = client()
            .get(app.url(path))
            .header(COOKIE, s.cookie())
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "{path}");
        let h = r.headers();
        assert_eq!(
            h["content-security-policy"],
            acextream_web::dashboard::CSP,
            "{path}"
        );
        assert!(acextream_web::dashboard::CSP.contains("script-src 'self'"));
        assert_eq!(h["x-content-type-options"], "nosniff");
        assert_eq!(h["x-frame-options"], "DENY");
        assert_eq!(h["referrer-policy"], "same-origin");
        let html = r.text().await.unwrap();
        assert!(html.contains(&s.csrf), "{path} carries the CSRF token");
        assert!(
            !html.contains("<script>") && !html.contains(" style="),
            "{path}: nothing inline"
        );
        assert!(!html.contains("$argon2"), "{path}: no password hash");
    }
    // The login page of a logged-in admin leads on; assets are embedded and cached.
    let r = client()
        .get(app.url("/dashboard/login"))
        .header(COOKIE, s.cookie())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let r = client()
        .get(app.url("/static/css/app.css?v=1"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()[CONTENT_TYPE], "text/css; charset=utf-8");
    assert!(
        r.headers()["cache-control"]
            .to_str()
            .unwrap()
            .contains("max-age=31536000")
    );
    let r = client()
        .get(app.url("/static/js/live.js"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()[CONTENT_TYPE], "text/javascript; charset=utf-8");
    assert_eq!(
        client()
            .get(app.url("/static/nope.js"))
            .send()
            .await
            .unwrap()
            .status(),
        404
    );
}

#[tokio::test]
async fn state_changing_calls_with_the_session_need_the_csrf_header() {
    let app = app().await;
    let s = login(&app).await;
    let body = json!({"name": "CSRF test", "stream": "a".repeat(40)});
    let r = client()
        .post(app.url("/api/channels"))
        .header(COOKIE, s.cookie())
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    let err: Value = r.json().await.unwrap();
    assert_eq!(err["error"]["code"], "csrf");

    let r = client()
        .post(app.url("/api/channels"))
        .header(COOKIE, s.cookie())
        .header("x-csrf-token", "wrong")
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);

    let r = client()
        .post(app.url("/api/channels"))
        .header(COOKIE, s.cookie())
        .header("x-csrf-token", &s.csrf)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201, "{}", r.text().await.unwrap());

    // Reads need no token.
    let r = client()
        .get(app.url("/api/channels"))
        .header(COOKIE, s.cookie())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let page: Value = r.json().await.unwrap();
    assert_eq!(page["total"], 1);

    // Basic credentials need no token (scripts), unless a browser says the request
    // comes from another site.
    let r = client()
        .delete(app.url("/api/channels/1"))
        .basic_auth(ADMIN.0, Some(ADMIN.1))
        .header("origin", "http://evil.example")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    let r = client()
        .delete(app.url("/api/channels/1"))
        .basic_auth(ADMIN.0, Some(ADMIN.1))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
}

#[tokio::test]
async fn the_brake_engages_after_repeated_failed_logins() {
    let app = app().await;
    for _ in 0..acextream_web::brake::ADMIN.per_address_account {
        let r = post_login(&app, ADMIN.0, "guess", "/dashboard/", "ua").await;
        assert_eq!(r.status(), 401);
    }
    // Braked: even the right password is not checked from this address.
    let r = post_login(&app, ADMIN.0, ADMIN.1, "/dashboard/", "ua").await;
    assert_eq!(r.status(), 429);
    assert!(set_cookie(&r, "acx_session").is_none());
    assert!(r.headers().contains_key("retry-after"));
    let html = r.text().await.unwrap();
    assert!(html.contains("Too many failed sign-ins") && html.contains("name=\"password\""));
    // Basic auth from the same address is braked too.
    let r = client()
        .get(app.url("/api/channels"))
        .basic_auth(ADMIN.0, Some(ADMIN.1))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 429);
}

#[tokio::test]
async fn basic_auth_failures_count_towards_the_brake() {
    let app = app().await;
    for _ in 0..acextream_web::brake::ADMIN.per_address_account {
        let r = client()
            .get(app.url("/api/channels"))
            .basic_auth(ADMIN.0, Some("guess"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 401);
    }
    let r = client()
        .get(app.url("/api/channels"))
        .basic_auth(ADMIN.0, Some(ADMIN.1))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 429);
    let err: Value = r.json().await.unwrap();
    assert_eq!(err["error"]["code"], "too_many_attempts");
}

#[tokio::test]
async fn logout_ends_the_session_everywhere() {
    let app = app().await;
    let s = login(&app).await;
    // Without the form's token, logout is refused (no forced logout from elsewhere).
    let r = client()
        .post(app.url("/dashboard/logout"))
        .header(COOKIE, s.cookie())
        .form(&[("csrf", "nope")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    let r = client()
        .post(app.url("/dashboard/logout"))
        .header(COOKIE, s.cookie())
        .form(&[("csrf", s.csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    assert_eq!(r.headers()[LOCATION], "/dashboard/login");
    let (value, line) = set_cookie(&r, "acx_session").expect("removal cookie");
    assert!(value.is_empty() && line.contains("Max-Age=0"), "{line}");
    assert!(session_rows(&app).await.is_empty());

    let r = client()
        .get(app.url("/dashboard/"))
        .header(COOKIE, s.cookie())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let r = client()
        .get(app.url("/api/channels"))
        .header(COOKIE, s.cookie())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
}

#[tokio::test]
async fn hostile_channel_names_logos_and_user_agents_are_escaped() {
    let app = app().await;
    let hostile = r#"<script>alert(1)</script>"'&"#;
    let s = login_as(&app, hostile).await;
    let r = client()
        .post(app.url("/api/channels"))
        .header(COOKIE, s.cookie())
        .header("x-csrf-token", &s.csrf)
        .json(&json!({
            "name": hostile,
            "stream": "b".repeat(40),
            "category": hostile,
            "logo": "javascript:alert(1)",
            "tvg_id": "\"><img src=x onerror=alert(1)>",
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201, "{}", r.text().await.unwrap());

    for path in [
        "/dashboard/channels",
        "/dashboard/categories",
        "/dashboard/users",
    ] {
        let html = client()
            .get(app.url(path))
            .header(COOKIE, s.cookie())
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(!html.contains("<script>alert"), "{path} has raw script");
        assert!(
            !html.contains("<img src=x"),
            "{path} has a raw attribute break-out"
        );
        assert!(
            html.contains("&lt;script&gt;alert(1)&lt;&#x2F;script&gt;&quot;&#x27;&amp;"),
            "{path}: {html}"
        );
        assert!(
            !html.contains("src=\"javascript:"),
            "{path}: a javascript: logo became an image"
        );
    }
}

#[tokio::test]
async fn the_login_next_parameter_never_leaves_the_dashboard() {
    let app = app().await;
    for (next, expected) in [
        ("https://evil.example/", "/dashboard/"),
        ("//evil.example/x", "/dashboard/"),
        ("/\\evil.example", "/dashboard/"),
        ("/dashboard/../../evil", "/dashboard/"),
        ("/api/users", "/dashboard/"),
        (
            "/dashboard/channels?search=a",
            "/dashboard/channels?search=a",
        ),
    ] {
        let r = post_login(&app, ADMIN.0, ADMIN.1, next, "ua").await;
        assert_eq!(r.status(), 303);
        assert_eq!(r.headers()[LOCATION], expected, "next={next}");
    }
    // The form itself never carries a foreign next either.
    let form = login_form(&app, "?next=https%3A%2F%2Fevil.example%2F").await;
    assert_eq!(form.next, "/dashboard/");
    let form = login_form(&app, "?next=%2Fdashboard%2Flogs").await;
    assert_eq!(form.next, "/dashboard/logs");
}

#[tokio::test]
async fn a_login_without_its_form_token_or_from_another_site_is_refused() {
    let app = app().await;
    let form = login_form(&app, "").await;
    let creds = [
        ("username", ADMIN.0),
        ("password", ADMIN.1),
        ("next", "/dashboard/"),
    ];
    // No double-submit cookie.
    let r = client()
        .post(app.url("/dashboard/login"))
        .form(&[creds[0], creds[1], creds[2], ("csrf", form.csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    // Cookie and token present, but the browser says another site sent it.
    let r = client()
        .post(app.url("/dashboard/login"))
        .header(COOKIE, format!("acx_login={}", form.cookie))
        .header("origin", "http://evil.example")
        .form(&[creds[0], creds[1], creds[2], ("csrf", form.csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    assert!(set_cookie(&r, "acx_session").is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stranger_guessing_the_admin_password_cannot_lock_the_admin_out() {
    let app = app().await;
    let stranger = client_from("127.0.0.2");
    let (mut refused, mut braked) = (0, 0);
    for i in 0..50 {
        // Alternate the two doors an outsider can knock on.
        let status = if i % 2 == 0 {
            stranger
                .get(app.url("/api/channels"))
                .basic_auth(ADMIN.0, Some(format!("guess-{i}")))
                .send()
                .await
                .unwrap()
                .status()
        } else {
            post_login_via(&stranger, &app, ADMIN.0, "guess", "/dashboard/", "ua")
                .await
                .status()
        };
        match status.as_u16() {
            401 => refused += 1,
            429 => braked += 1,
            other => panic!("guess {i}: unexpected {other}"),
        }
    }
    assert_eq!(refused, acextream_web::brake::ADMIN.per_address_account);
    assert_eq!(braked, 50 - refused, "every later guess is braked");
    let r = stranger
        .get(app.url("/api/channels"))
        .basic_auth(ADMIN.0, Some(ADMIN.1))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 429, "the guessing address stays braked");
    let retry: u64 = r.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=300).contains(&retry), "Retry-After {retry}");

    // The owner, from another address, gets in at once by both doors.
    let r = client()
        .get(app.url("/api/channels"))
        .basic_auth(ADMIN.0, Some(ADMIN.1))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let r = post_login(&app, ADMIN.0, ADMIN.1, "/dashboard/", "owner").await;
    assert_eq!(r.status(), 303);
    assert!(set_cookie(&r, "acx_session").is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_player_on_an_admin_route_is_forbidden_not_counted_as_a_guess() {
    let app = app().await;
    app.add_user("viewer", "viewer-pw", 1).await;
    for _ in 0..3 * acextream_web::brake::ADMIN.per_address_account {
        let r = client()
            .get(app.url("/api/users"))
            .basic_auth("viewer", Some("viewer-pw"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 403, "authenticated, not allowed");
        let err: Value = r.json().await.unwrap();
        assert_eq!(err["error"]["code"], "forbidden");
    }
    let r = post_login(&app, "viewer", "viewer-pw", "/dashboard/", "ua").await;
    assert_eq!(r.status(), 403);
    assert!(set_cookie(&r, "acx_session").is_none());
    let html = r.text().await.unwrap();
    assert!(html.contains("may not use the dashboard"), "{html}");
    // None of that was a guess: the same address still reaches the admin API.
    let r = client()
        .get(app.url("/api/users"))
        .basic_auth(ADMIN.0, Some(ADMIN.1))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn behind_a_trusted_proxy_the_brake_counts_the_forwarded_address() {
    let app = TestApp::start("http://127.0.0.1:9", |s| {
        s.server.trust_forwarded_headers = true;
    })
    .await;
    let basic = async |forwarded: &str, password: &str| {
        client()
            .get(app.url("/api/channels"))
            .header("x-forwarded-for", forwarded)
            .basic_auth(ADMIN.0, Some(password))
            .send()
            .await
            .unwrap()
            .status()
            .as_u16()
    };
    for _ in 0..acextream_web::brake::ADMIN.per_address_account {
        assert_eq!(basic("203.0.113.7", "guess").await, 401);
    }
    assert_eq!(basic("203.0.113.7", ADMIN.1).await, 429);
    // Made-up entries in front of what the proxy appended change nothing.
    assert_eq!(basic("192.0.2.99, 203.0.113.7", ADMIN.1).await, 429);
    // Every visitor shares the proxy's address, yet the owner is not braked.
    assert_eq!(basic("198.51.100.1", ADMIN.1).await, 200);
}

/// A catch-up archive directory that cannot be made (its path is a file) is
/// said on the overview, and every other page still works.
#[tokio::test]
async fn the_overview_says_when_recordings_cannot_be_written() {
    let blocker = tempfile::NamedTempFile::new().unwrap();
    let dir = blocker.path().join("archive");
    let app = TestApp::start("http://127.0.0.1:9", move |s| s.archive.dir = dir).await;
    let session = login(&app).await;
    let api = Api(&app);
    let (status, list) = api
        .post(
            "/api/channels",
            serde_json::json!({"name": "Recorded", "stream": "acestream://".to_owned() + &"ab".repeat(20)}),
        )
        .await;
    assert_eq!(status, 201, "{list}");
    let id = list["id"].as_i64().unwrap();
    let (status, body) = api
        .put(
            &format!("/api/channels/{id}/archive"),
            serde_json::json!({"days": 2}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let said = common::eventually(Duration::from_secs(20), async || {
        let html = client()
            .get(app.url("/dashboard/"))
            .header(COOKIE, session.cookie())
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        html.contains("Recording stopped") && html.contains("Catch-up recordings")
    })
    .await;
    assert!(said, "the overview warns");
    let (_, status) = api.get("/api/archive").await;
    assert!(
        status["problem"].as_str().unwrap().contains("archive"),
        "{status}"
    );
    let channels = client()
        .get(app.url("/dashboard/channels"))
        .header(COOKIE, session.cookie())
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(channels.contains("catch-up 2 d"), "the channel is marked");
}
