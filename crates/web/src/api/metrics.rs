//! `GET /metrics` in the Prometheus text format 0.0.4, for scrapers.
//!
//! Written by hand: the `prometheus-client` crate encodes OpenMetrics only (a
//! `# EOF` trailer, counter families named without `_total`), which is not the
//! 0.0.4 format promised here, and every value is read fresh per scrape anyway
//! (the multiplexer's counters over its JSON API, rows from the database), so a
//! registry of long-lived metric objects would add nothing.
//!
//! Access: an admin's HTTP Basic login, or `Authorization: Bearer <server.metrics_token>`.

use std::fmt::Write as _;

use acextream_core::accounts::Login;
use acextream_core::store::sources::Source;
use actix_web::http::header::AUTHORIZATION;
use actix_web::{HttpRequest, HttpResponse, web};
use subtle::ConstantTimeEq;

use crate::auth::basic_credentials;
use crate::error::ApiError;
use crate::state::AppState;

/// The content type of the 0.0.4 text format.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// Registers `/metrics` (at the root, not under `/api`).
pub fn config(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/metrics").route(web::get().to(metrics)));
}

/// An admin's Basic login or the configured bearer token (compared in constant
/// time); anything else is a 401 that does not say which part failed.
async fn authorize(req: &HttpRequest, state: &AppState) -> Result<(), ApiError> {
    if let Some(token) = &state.settings.server.metrics_token {
        let bearer = req
            .headers()
            .get(AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().split_once(' '))
            .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
            .map(|(_, t)| t.trim());
        if let Some(given) = bearer {
            let expected = token.expose().as_bytes();
            if !expected.is_empty() && bool::from(given.as_bytes().ct_eq(expected)) {
                return Ok(());
            }
            return Err(ApiError::Unauthorized);
        }
    }
    let Some((user, password)) = basic_credentials(req.headers()) else {
        return Err(ApiError::Unauthorized);
    };
    let ip = crate::net::client_ip(req, state.settings.server.trust_forwarded_headers);
    match crate::auth::braked_login(state, &state.brake, &ip, &user, &password).await? {
        Login::Active(u) if u.is_admin => Ok(()),
        Login::Denied => Err(ApiError::Unauthorized),
        outcome => Err(crate::auth::not_an_admin(outcome)),
    }
}

/// The catch-up recordings: what is recorded, what the ring holds, what failed.
fn archive(out: &mut Exposition, state: &AppState) {
    let recorders = state.recording.recorders();
    out.family(
        "acextream_archive_recording",
        "gauge",
        "Archived channels being recorded now.",
    )
    .sample(
        "acextream_archive_recording",
        &[],
        recorders.values().filter(|r| r.recording).count(),
    );
    out.family(
        "acextream_archive_failing",
        "gauge",
        "Archived channels whose recording stopped on an error (disk full, no stream).",
    )
    .sample("acextream_archive_failing", &[], state.recording.failing());
    out.family(
        "acextream_archive_disk_problem",
        "gauge",
        "1 while the archive directory cannot be written (full, read-only, missing).",
    )
    .sample(
        "acextream_archive_disk_problem",
        &[],
        i32::from(state.recording.problem().is_some()),
    );
    out.family(
        "acextream_archive_bytes",
        "gauge",
        "Bytes the recording ring holds.",
    )
    .sample(
        "acextream_archive_bytes",
        &[],
        state.recording.archive().map_or(0, |a| a.total_bytes()),
    );
    out.family(
        "acextream_archive_written_bytes_total",
        "counter",
        "Bytes of segments written since start-up.",
    )
    .sample(
        "acextream_archive_written_bytes_total",
        &[],
        recorders.values().map(|r| r.bytes_written).sum::<u64>(),
    );
}

/// A text exposition being written: one `# HELP`/`# TYPE` header per family.
#[derive(Default)]
pub struct Exposition(String);

impl Exposition {
    /// Starts a family.
    pub fn family(&mut self, name: &str, kind: &str, help: &str) -> &mut Self {
        let _ = writeln!(self.0, "# HELP {name} {help}\n# TYPE {name} {kind}");
        self
    }

    /// One sample; `labels` are `(name, value)`, values escaped as the format says.
    pub fn sample(
        &mut self,
        name: &str,
        labels: &[(&str, &str)],
        value: impl std::fmt::Display,
    ) -> &mut Self {
        self.0.push_str(name);
        if !labels.is_empty() {
            let inner: Vec<String> = labels
                .iter()
                .map(|(k, v)| format!("{k}=\"{}\"", escape(v)))
                .collect();
            let _ = write!(self.0, "{{{}}}", inner.join(","));
        }
        let _ = writeln!(self.0, " {value}");
        self
    }

    /// The text.
    pub fn finish(self) -> String {
        self.0
    }
}

/// Label values escape `\`, `"` and newlines.
fn escape(v: &str) -> String {
    v.replace('\\', r"\\")
        .replace('"', "\\\"")
        .replace('\n', r"\n")
}

fn sources(out: &mut Exposition, channels: &[Source], guides: &[Source]) {
    let all = || {
        channels
            .iter()
            .map(|s| ("channels", s))
            .chain(guides.iter().map(|s| ("epg", s)))
    };
    out.family(
        "acextream_source_last_success_timestamp_seconds",
        "gauge",
        "When a source last refreshed successfully (0: never).",
    );
    for (kind, s) in all() {
        let id = s.id.to_string();
        let labels = [
            ("kind", kind),
            ("source", id.as_str()),
            ("name", s.name.as_str()),
        ];
        out.sample(
            "acextream_source_last_success_timestamp_seconds",
            &labels,
            s.last_success_at.unwrap_or(0),
        );
    }
    out.family(
        "acextream_source_up",
        "gauge",
        "1 when a source's last refresh succeeded.",
    );
    for (kind, s) in all() {
        let id = s.id.to_string();
        let labels = [
            ("kind", kind),
            ("source", id.as_str()),
            ("name", s.name.as_str()),
        ];
        let up = s.last_success_at.is_some() && s.last_error.is_none();
        out.sample("acextream_source_up", &labels, u8::from(up));
    }
}

async fn metrics(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    authorize(&req, &state).await?;
    let (streams, counts, sources_result) = tokio::join!(
        crate::mux_api::all_streams(&state),
        super::stats::counts(&state),
        super::stats::sources(&state),
    );
    let (counts, (channel_sources, guide_sources)) = (counts?, sources_result?);
    let mut out = Exposition::default();
    out.family("acextream_up", "gauge", "1 while acextream answers.")
        .sample("acextream_up", &[], 1);
    out.family(
        "acextream_mux_up",
        "gauge",
        "1 when the multiplexer answered this scrape.",
    )
    .sample("acextream_mux_up", &[], u8::from(streams.is_ok()));
    // Without the multiplexer its families are left out rather than reported as 0,
    // which would read as a counter reset.
    if let Ok(all) = &streams {
        let list = all["streams"].as_array().cloned().unwrap_or_default();
        let sum = |k: &str| -> u64 { list.iter().filter_map(|s| s[k].as_u64()).sum() };
        let viewers = sum("clients");
        let m = &all["metrics"];
        let n = |k: &str| m[k].as_u64().unwrap_or(0);
        out.family(
            "acextream_streams",
            "gauge",
            "Live channels (one engine session each).",
        )
        .sample("acextream_streams", &[], list.len());
        out.family(
            "acextream_viewers",
            "gauge",
            "Players watching now (TS and HLS).",
        )
        .sample("acextream_viewers", &[], viewers);
        out.family(
            "acextream_ts_viewers",
            "gauge",
            "Players with an open MPEG-TS stream.",
        )
        .sample("acextream_ts_viewers", &[], sum("ts_viewers"));
        out.family(
            "acextream_hls_viewers",
            "gauge",
            "HLS players that polled within hls.viewer_timeout.",
        )
        .sample("acextream_hls_viewers", &[], sum("hls_viewers"));
        for (name, key, help) in [
            (
                "acextream_bytes_out_total",
                "bytes_out",
                "Bytes sent to players.",
            ),
            (
                "acextream_engine_sessions_opened_total",
                "sessions_opened",
                "Engine sessions opened.",
            ),
            (
                "acextream_engine_sessions_stopped_total",
                "sessions_stopped",
                "Engine stop commands sent.",
            ),
            (
                "acextream_engine_sessions_failed_total",
                "sessions_failed",
                "Channels that failed to start.",
            ),
            (
                "acextream_engine_reopens_total",
                "reopens",
                "Engine sessions re-opened after a stall or drop.",
            ),
            (
                "acextream_viewers_total",
                "viewers_total",
                "Viewer connections accepted.",
            ),
        ] {
            out.family(name, "counter", help).sample(name, &[], n(key));
        }
        out.family(
            "acextream_link_switches_total",
            "counter",
            "Channels moved to another link (or engine), by reason.",
        );
        for (reason, count) in m["link_switches"].as_object().into_iter().flatten() {
            out.sample(
                "acextream_link_switches_total",
                &[("reason", reason.as_str())],
                count.as_u64().unwrap_or(0),
            );
        }
    }
    let engines = state.engines.status();
    out.family(
        "acextream_engine_up",
        "gauge",
        "1 when the engine answers its health check.",
    );
    for e in &engines {
        out.sample(
            "acextream_engine_up",
            &[("engine", e.url.as_str())],
            u8::from(e.state == "up"),
        );
    }
    out.family(
        "acextream_engine_sessions",
        "gauge",
        "Channel sessions each engine carries now.",
    );
    for e in &engines {
        out.sample(
            "acextream_engine_sessions",
            &[("engine", e.url.as_str())],
            e.sessions,
        );
    }
    out.family(
        "acextream_channels",
        "gauge",
        "Channels by state (inactive: no source lists them).",
    )
    .sample("acextream_channels", &[("state", "active")], counts.active)
    .sample(
        "acextream_channels",
        &[("state", "inactive")],
        counts.channels - counts.active,
    );
    out.family(
        "acextream_channels_online",
        "gauge",
        "Channels the last availability check found online.",
    )
    .sample("acextream_channels_online", &[], counts.online);
    out.family("acextream_users", "gauge", "Accounts.").sample(
        "acextream_users",
        &[],
        counts.users,
    );
    out.family(
        "acextream_active_connections",
        "gauge",
        "Streams open per the connection limits.",
    )
    .sample(
        "acextream_active_connections",
        &[],
        state.connections.all().values().sum::<usize>(),
    );
    archive(&mut out, &state);
    sources(&mut out, &channel_sources, &guide_sources);
    Ok(HttpResponse::Ok()
        .content_type(CONTENT_TYPE)
        .body(out.finish()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn samples_are_written_with_escaped_labels() {
        let mut out = Exposition::default();
        out.family("x_total", "counter", "Things.")
            .sample("x_total", &[], 3)
            .sample("x_total", &[("name", "a \"b\"\\c\nd"), ("k", "v")], 4);
        assert_eq!(
            out.finish(),
            "# HELP x_total Things.\n# TYPE x_total counter\nx_total 3\nx_total{name=\"a \\\"b\\\"\\\\c\\nd\",k=\"v\"} 4\n"
        );
    }
}
