//! HDHomeRun tuner emulation for Plex, Jellyfin and Emby.
//!
//! Every account is a tuner at `/hdhr/{user}/{password}/` on the public port: its
//! tuner count and channels follow the account, and its device id is its own
//! (media servers key devices by it). The optional `hdhr.bind` listener serves
//! `hdhr.discovery_user`'s tuner at its root, and UDP discovery (65001) and SSDP
//! (1900) announce that one account. What clients read, and why each field is the
//! way it is: shared docs CLIENTS.md §1 and docs/HDHOMERUN.md.

pub mod announce;
pub mod device;
pub mod discovery;
pub mod guide;
pub mod lineup;
pub mod ssdp;
pub mod tune;

use actix_web::web;

/// Registers the per-account tuners on the public port.
pub fn config(cfg: &mut web::ServiceConfig) {
    cfg.service(web::scope("/hdhr/{user}/{password}").configure(device_routes));
}

/// A tuner's endpoints, relative to its base URL (the per-account prefix, or the
/// root of the `hdhr.bind` listener).
pub fn device_routes(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource(["", "/", "/discover.json"]).route(web::get().to(device::discover)))
        .service(web::resource("/lineup.json").route(web::get().to(lineup::lineup_json)))
        .service(web::resource("/lineup_status.json").route(web::get().to(device::lineup_status)))
        .service(
            web::resource("/lineup.post")
                .route(web::get().to(device::lineup_post))
                .route(web::post().to(device::lineup_post)),
        )
        .service(web::resource("/device.xml").route(web::get().to(device::device_xml)))
        .service(web::resource("/xmltv.xml").route(web::get().to(guide::xmltv)))
        .service(web::resource("/xmltv.xml.gz").route(web::get().to(guide::xmltv_gz)))
        .service(
            web::resource("/auto/{channel}")
                .route(web::get().to(tune::auto))
                .route(web::head().to(tune::auto)),
        );
}
