//! The dashboard's CSS, scripts and icon, embedded in the binary (the dashboard
//! works offline on a LAN, with no CDN) and served under `/static/`.
//!
//! `vendor/` holds the pinned third-party builds `scripts/vendor_js.sh` copies
//! (hls.js for the player, uPlot for the overview's chart) with their licences.

use actix_web::http::header;
use actix_web::{HttpResponse, web};
use blake2::Digest as _;

/// `(path under /static/, content type, bytes)` of every asset.
const ASSETS: &[(&str, &str, &[u8])] = &[
    (
        "css/app.css",
        CSS,
        include_bytes!("../../../../static/css/app.css"),
    ),
    (
        "js/common.js",
        JS,
        include_bytes!("../../../../static/js/common.js"),
    ),
    (
        "js/login.js",
        JS,
        include_bytes!("../../../../static/js/login.js"),
    ),
    (
        "js/overview.js",
        JS,
        include_bytes!("../../../../static/js/overview.js"),
    ),
    (
        "js/live.js",
        JS,
        include_bytes!("../../../../static/js/live.js"),
    ),
    (
        "js/channels.js",
        JS,
        include_bytes!("../../../../static/js/channels.js"),
    ),
    (
        "js/categories.js",
        JS,
        include_bytes!("../../../../static/js/categories.js"),
    ),
    (
        "js/users.js",
        JS,
        include_bytes!("../../../../static/js/users.js"),
    ),
    (
        "js/sources.js",
        JS,
        include_bytes!("../../../../static/js/sources.js"),
    ),
    (
        "js/settings.js",
        JS,
        include_bytes!("../../../../static/js/settings.js"),
    ),
    (
        "js/logs.js",
        JS,
        include_bytes!("../../../../static/js/logs.js"),
    ),
    (
        "js/player.js",
        JS,
        include_bytes!("../../../../static/js/player.js"),
    ),
    (
        "vendor/hls.js-1.7.4/hls.light.min.js",
        JS,
        include_bytes!("../../../../static/vendor/hls.js-1.7.4/hls.light.min.js"),
    ),
    (
        "vendor/hls.js-1.7.4/LICENSE",
        TEXT,
        include_bytes!("../../../../static/vendor/hls.js-1.7.4/LICENSE"),
    ),
    (
        "vendor/uplot-1.6.32/uPlot.iife.min.js",
        JS,
        include_bytes!("../../../../static/vendor/uplot-1.6.32/uPlot.iife.min.js"),
    ),
    (
        "vendor/uplot-1.6.32/uPlot.min.css",
        CSS,
        include_bytes!("../../../../static/vendor/uplot-1.6.32/uPlot.min.css"),
    ),
    (
        "vendor/uplot-1.6.32/LICENSE",
        TEXT,
        include_bytes!("../../../../static/vendor/uplot-1.6.32/LICENSE"),
    ),
    (
        "img/logo.svg",
        "image/svg+xml",
        include_bytes!("../../../../static/img/logo.svg"),
    ),
];

const JS: &str = "text/javascript; charset=utf-8";
const CSS: &str = "text/css; charset=utf-8";
const TEXT: &str = "text/plain; charset=utf-8";

/// A short digest of every asset (the `?v=` query of asset URLs).
pub fn version() -> String {
    let mut h = blake2::Blake2b::<blake2::digest::consts::U32>::new();
    for (path, _, bytes) in ASSETS {
        h.update(path.as_bytes());
        h.update(bytes);
    }
    h.finalize()
        .iter()
        .take(5)
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// `GET /static/{path}`: the asset with a year-long cache (URLs carry `?v=`).
pub async fn serve(path: web::Path<String>) -> HttpResponse {
    match ASSETS.iter().find(|(p, _, _)| *p == path.as_str()) {
        Some((_, content_type, bytes)) => HttpResponse::Ok()
            .insert_header((header::CONTENT_TYPE, *content_type))
            .insert_header((header::CACHE_CONTROL, "public, max-age=31536000, immutable"))
            .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
            .body(*bytes),
        None => actix_web::ResponseError::error_response(&crate::error::ApiError::NotFound(
            "no such asset".into(),
        )),
    }
}
