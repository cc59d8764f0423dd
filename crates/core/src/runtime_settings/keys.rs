//! The table of runtime-editable settings (name, description, type and range) and
//! of the keys shown read-only.

use serde::Serialize;

/// The type and range of an editable value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Kind {
    /// `true` or `false`.
    Bool,
    /// A duration: a string such as `"90s"` or `"6h"`, or a number of seconds.
    Duration {
        /// Smallest value in seconds (0 is also accepted when `zero_ok`).
        min_secs: u64,
        /// Largest value in seconds.
        max_secs: u64,
        /// Whether 0 is accepted below `min_secs` (it means "never").
        zero_ok: bool,
    },
    /// A whole number.
    Integer {
        /// Smallest value.
        min: u64,
        /// Largest value.
        max: u64,
    },
    /// An http(s) URL, or null/empty for none.
    OptionalUrl,
    /// An IANA time zone name.
    TimeZone,
}

/// One key an admin may change.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Editable {
    /// Dotted name, `section.key`, as in the file.
    pub key: &'static str,
    /// What it does, for the dashboard.
    pub description: &'static str,
    /// Type and range.
    #[serde(flatten)]
    pub kind: Kind,
    /// Whether the change waits for the next start (every key, today: see the module doc).
    pub restart_required: bool,
}

const MIN: u64 = 60;
const HOUR: u64 = 3600;
const DAY: u64 = 24 * HOUR;

const fn dur(min_secs: u64, max_secs: u64) -> Kind {
    Kind::Duration {
        min_secs,
        max_secs,
        zero_ok: false,
    }
}

const fn key(key: &'static str, description: &'static str, kind: Kind) -> Editable {
    Editable {
        key,
        description,
        kind,
        restart_required: true,
    }
}

/// Every key editable at runtime. The rest (listeners, database, engine, secrets,
/// start-up seeds) are read-only here: changing them needs the file or environment.
/// `log.level` is read-only too: the logger starts before the database is open, so
/// a stored level could never take effect.
pub const EDITABLE: &[Editable] = &[
    key(
        "server.public_url",
        "Base URL given to players in playlists and guides (http://tv.example.org:58055); empty: the Host of each request.",
        Kind::OptionalUrl,
    ),
    key(
        "server.timezone",
        "IANA time zone of the wall-clock times shown to players.",
        Kind::TimeZone,
    ),
    key(
        "server.trust_forwarded_headers",
        "Believe X-Forwarded-For/Host/Proto: only behind a reverse proxy you run.",
        Kind::Bool,
    ),
    key(
        "server.ace_proxy_auth",
        "Require an enabled user's credentials on the public /ace/getstream.",
        Kind::Bool,
    ),
    key(
        "mux.idle_grace",
        "How long an engine session stays open after its last viewer left.",
        Kind::Duration {
            min_secs: 0,
            max_secs: HOUR,
            zero_ok: true,
        },
    ),
    key(
        "mux.stall_timeout",
        "Silence on a running stream after which the channel switches to its next link.",
        dur(1, 10 * MIN),
    ),
    key(
        "mux.link_start_timeout",
        "How long one link may take to produce its first byte before the next is tried.",
        dur(1, 10 * MIN),
    ),
    key(
        "mux.link_cooldown",
        "How long a link that failed stays behind the channel's healthy links.",
        Kind::Duration {
            min_secs: 0,
            max_secs: DAY,
            zero_ok: true,
        },
    ),
    key(
        "mux.max_reopens",
        "How many times a failed engine session is re-opened before viewers are cut.",
        Kind::Integer { min: 0, max: 100 },
    ),
    key(
        "mux.max_client_lag_bytes",
        "Bytes a viewer may fall behind the live edge before it is moved forward.",
        Kind::Integer {
            min: 188 * 64,
            max: 1 << 30,
        },
    ),
    key(
        "sources.refresh_interval",
        "Default interval between two refreshes of a channel source.",
        dur(MIN, 30 * DAY),
    ),
    key(
        "sources.check_interval",
        "Interval of the scheduled availability check of every channel; 0s = never.",
        Kind::Duration {
            min_secs: MIN,
            max_secs: 30 * DAY,
            zero_ok: true,
        },
    ),
    key(
        "sources.check_spacing",
        "Pause between two channels of an availability check.",
        Kind::Duration {
            min_secs: 0,
            max_secs: MIN,
            zero_ok: true,
        },
    ),
    key(
        "epg.refresh_interval",
        "Default interval between two refreshes of a guide source.",
        dur(10 * MIN, 30 * DAY),
    ),
    key(
        "epg.days_back",
        "Days of past programmes kept.",
        Kind::Integer { min: 0, max: 30 },
    ),
    key(
        "epg.days_ahead",
        "Days of future programmes kept.",
        Kind::Integer { min: 1, max: 30 },
    ),
    key(
        "epg.match_display_names",
        "After tvg-id matching, also match channels to guide channels by display name.",
        Kind::Bool,
    ),
    key(
        "xtream.exp_date_null",
        "Send exp_date null for accounts that never expire (some clients crash on null).",
        Kind::Bool,
    ),
];

/// Keys shown read-only, with what they do. Secrets among them are masked by
/// [`crate::settings::Secret`]'s serialisation.
pub const READ_ONLY: &[(&str, &str)] = &[
    ("server.bind", "Address and port of the public listener."),
    (
        "server.workers",
        "Worker threads of the public listener; 0 = one per core.",
    ),
    (
        "server.shutdown_timeout",
        "How long a shutdown waits for open connections.",
    ),
    (
        "server.metrics_token",
        "Bearer token that may read GET /metrics (secret).",
    ),
    (
        "mux.bind",
        "Address of the internal multiplexer (loopback).",
    ),
    (
        "mux.response_timeout",
        "How long the engine may take to send a channel's first bytes.",
    ),
    (
        "mux.instant_start_bytes",
        "Bytes kept since the last PAT for an instant start.",
    ),
    (
        "mux.stop_timeout",
        "How long the engine's stop command may take.",
    ),
    (
        "mux.stat_interval",
        "How often the engine's statistics are polled.",
    ),
    ("hls.enabled", "Offer HLS (.m3u8) besides MPEG-TS."),
    (
        "hls.segment_duration",
        "Shortest HLS segment; cut at the next keyframe.",
    ),
    ("hls.window", "Segments listed in a live HLS playlist."),
    (
        "hls.viewer_timeout",
        "An HLS viewer that fetched nothing for this long has left.",
    ),
    (
        "server.name",
        "Name shown by media servers for the HDHomeRun tuner (FriendlyName).",
    ),
    (
        "hdhr.tuners_unlimited",
        "HDHomeRun TunerCount of an account with unlimited connections.",
    ),
    (
        "hdhr.discovery_user",
        "Account announced by HDHomeRun UDP discovery and SSDP; unset = none.",
    ),
    (
        "hdhr.discovery_bind",
        "Address of the discovery sockets (UDP 65001 and 1900).",
    ),
    (
        "hdhr.bind",
        "Listener serving discovery_user's tuner at / (Jellyfin auto-detect); unset = none.",
    ),
    ("archive.dir", "Directory of the catch-up recording ring."),
    (
        "archive.days",
        "Catch-up depth of an archived channel without its own (days).",
    ),
    ("archive.max_bytes", "Bytes of recordings kept per channel."),
    (
        "archive.max_total_bytes",
        "Bytes of recordings kept for all channels.",
    ),
    ("archive.pace", "Pace timeshift playback to real time."),
    (
        "archive.hls_dvr",
        "Minutes of an archived channel's live HLS DVR window.",
    ),
    (
        "archive.segment",
        "Shortest recorded segment (cut at a PAT before a keyframe).",
    ),
    ("engine.url", "Base URL of the AceStream engine's HTTP API."),
    ("engine.request_timeout", "Timeout of short engine calls."),
    ("database.path", "Path of the SQLite database."),
    (
        "admin.username",
        "Name of the bootstrap admin created on first start.",
    ),
    (
        "admin.password",
        "Password of the bootstrap admin (secret).",
    ),
    (
        "sources.urls",
        "Playlist URLs added as sources on first start.",
    ),
    (
        "sources.download_timeout",
        "How long one download may take in all.",
    ),
    (
        "sources.max_download_bytes",
        "Largest download accepted, in bytes.",
    ),
    (
        "epg.urls",
        "XMLTV URLs added as guide sources on first start.",
    ),
    (
        "log.level",
        "Log filter in RUST_LOG syntax; RUST_LOG wins when set.",
    ),
    ("log.format", "text or json."),
    (
        "log.access_log",
        "One log line per HTTP request on the public port.",
    ),
];
