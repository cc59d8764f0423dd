//! The one typed settings tree: embedded defaults → TOML file → `ACEXTREAM_*` environment.
//!
//! Settings are a value built once at start-up and passed around, never a global.
//! Every struct denies unknown fields, so a typo in the file fails start-up with a
//! message naming the key and the file instead of being silently ignored.

use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use figment::Figment;
use figment::providers::{Env, Format, Toml};
use serde::{Deserialize, Serialize};
use url::Url;

/// The file read when neither `--config` nor `$ACEXTREAM_CONFIG` names one.
pub const DEFAULT_CONFIG_PATH: &str = "config/acextream.toml";
/// The environment variable that names the settings file.
pub const CONFIG_ENV: &str = "ACEXTREAM_CONFIG";
/// Prefix of the environment overrides: `ACEXTREAM_<SECTION>__<KEY>`.
pub const ENV_PREFIX: &str = "ACEXTREAM_";

/// Why the settings could not be loaded: always one line naming the key or file.
#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    /// The file was named explicitly but does not exist.
    #[error("settings file {0} does not exist")]
    MissingFile(PathBuf),
    /// A key is unknown, has the wrong type, or a value does not parse.
    #[error("invalid settings: {0}")]
    Invalid(String),
}

/// Every setting of acextream. Each section is documented in `config/acextream.toml`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Settings {
    /// The public listener (Xtream API, playlists, guide, dashboard, admin REST).
    pub server: ServerSettings,
    /// The internal multiplexer listener and its streaming policy.
    pub mux: MuxSettings,
    /// HLS output, cut by the multiplexer from each channel's shared stream.
    pub hls: HlsSettings,
    /// The AceStream engine acextream talks to.
    pub engine: EngineSettings,
    /// Where the SQLite database lives.
    pub database: DatabaseSettings,
    /// The bootstrap administrator created on first start.
    pub admin: AdminSettings,
    /// Channel playlist sources.
    pub sources: SourcesSettings,
    /// XMLTV guide sources.
    pub epg: EpgSettings,
    /// Logging.
    pub log: LogSettings,
    /// Details of the Xtream Codes API.
    pub xtream: XtreamSettings,
    /// The HDHomeRun tuner emulation (Plex, Jellyfin, Emby).
    pub hdhr: HdhrSettings,
    /// Catch-up: the recording ring of archived channels.
    pub archive: ArchiveSettings,
}

/// Catch-up and timeshift. Channels (or whole categories) an admin marks for
/// archive are recorded, through the same shared hub live viewers use, to a ring
/// of segment files under `dir`; any span inside it plays back over Xtream
/// (`/timeshift/…`), M3U catch-up attributes and HLS.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct ArchiveSettings {
    /// Where the ring lives: one directory per channel (relative to the working
    /// directory, like the database).
    pub dir: PathBuf,
    /// Depth, in days, of a channel or category marked for archive without a
    /// number of its own.
    pub days: u32,
    /// Bytes kept per channel; the oldest segments go first.
    pub max_bytes: u64,
    /// Bytes kept for all channels together; the oldest segments go first.
    pub max_total_bytes: u64,
    /// Pace timeshift playback to real time (default: at full disk speed, which
    /// players buffer and seek in).
    pub pace: bool,
    /// Minutes of an archived channel's live HLS playlist (the DVR window that
    /// lets players pause and rewind live TV).
    pub hls_dvr: u32,
    /// Shortest recorded segment: a segment ends at the first PAT before a
    /// random-access point this long after its start.
    #[serde(with = "humantime_serde")]
    pub segment: Duration,
}

impl ArchiveSettings {
    /// The ring's size limits.
    pub fn limits(&self) -> crate::archive::Limits {
        crate::archive::Limits {
            max_bytes_per_channel: self.max_bytes,
            max_total_bytes: self.max_total_bytes,
        }
    }
}

impl Default for ArchiveSettings {
    fn default() -> Self {
        Self {
            dir: PathBuf::from("data/archive"),
            days: 1,
            max_bytes: 64 << 30,
            max_total_bytes: 256 << 30,
            pace: false,
            hls_dvr: 120,
            segment: Duration::from_secs(6),
        }
    }
}

/// The HDHomeRun tuner emulation. Every account has a tuner at
/// `/hdhr/<user>/<password>/` on the public port; these keys size it and turn on
/// the optional auto-detection, which is off unless an account is named for it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct HdhrSettings {
    /// `TunerCount` of an account with unlimited connections (`max_connections` 0).
    pub tuners_unlimited: u32,
    /// The account announced by UDP discovery (port 65001) and SSDP (port 1900),
    /// and served at the root of `hdhr.bind`. Unset: no discovery at all — the
    /// announced URL carries that account's password, so it must be a choice.
    pub discovery_user: Option<String>,
    /// Address the discovery sockets bind to (`0.0.0.0`: every interface).
    pub discovery_bind: std::net::IpAddr,
    /// A dedicated listener serving `discovery_user`'s tuner at its root
    /// (`/discover.json`, …), for Jellyfin's "detect my devices", which only
    /// looks at `http://<ip>:80/`. Unset: none.
    pub bind: Option<SocketAddr>,
}

impl Default for HdhrSettings {
    fn default() -> Self {
        Self {
            tuners_unlimited: 4,
            discovery_user: None,
            discovery_bind: std::net::IpAddr::from([0, 0, 0, 0]),
            bind: None,
        }
    }
}

/// Details of the Xtream Codes API.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct XtreamSettings {
    /// Send `exp_date: null` for accounts that never expire, as real panels do.
    /// Off by default: common clients (pyxtream) crash on null, so a far-future
    /// date (2100-01-01) is sent instead.
    pub exp_date_null: bool,
}

/// The public listener.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct ServerSettings {
    /// Address and port of the public listener.
    pub bind: SocketAddr,
    /// The server's name where one is shown (the HDHomeRun tuner's
    /// `FriendlyName`); unset: "acextream".
    pub name: Option<String>,
    /// Base URL given to players in playlists (`http://tv.example.org:58055`); empty
    /// means "the Host the request came in on".
    pub public_url: Option<Url>,
    /// IANA time zone of the wall-clock times shown to players (`Europe/Rome`).
    pub timezone: String,
    /// Believe `X-Forwarded-For/Host/Proto`: only behind a reverse proxy you run.
    pub trust_forwarded_headers: bool,
    /// Require an enabled user's credentials on the public `/ace/getstream`.
    pub ace_proxy_auth: bool,
    /// actix worker threads; 0 means one per CPU core.
    pub workers: usize,
    /// How long a shutdown waits for open connections before closing them.
    #[serde(with = "humantime_serde")]
    pub shutdown_timeout: Duration,
    /// Bearer token that may read `GET /metrics` (besides an admin's Basic login);
    /// unset: only admins may scrape.
    pub metrics_token: Option<Secret>,
}

impl Default for ServerSettings {
    fn default() -> Self {
        Self {
            bind: SocketAddr::from(([0, 0, 0, 0], 58055)),
            name: None,
            public_url: None,
            timezone: "UTC".into(),
            trust_forwarded_headers: false,
            ace_proxy_auth: true,
            workers: 0,
            shutdown_timeout: Duration::from_secs(3),
            metrics_token: None,
        }
    }
}

/// The internal multiplexer.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct MuxSettings {
    /// Address of the internal listener; keep it on loopback.
    pub bind: SocketAddr,
    /// The longest a new viewer waits for a channel's first bytes, across all of
    /// its links (the channel goes on trying after; the viewer gets a 504).
    #[serde(with = "humantime_serde")]
    pub response_timeout: Duration,
    /// How long one link may take to produce its first byte (engine getstream,
    /// pre-buffering, playback headers) before the next link is tried.
    #[serde(with = "humantime_serde")]
    pub link_start_timeout: Duration,
    /// How long a link that failed stays behind the channel's healthy links.
    #[serde(with = "humantime_serde")]
    pub link_cooldown: Duration,
    /// Silence on a running stream after which the channel switches to its next link.
    #[serde(with = "humantime_serde")]
    pub stall_timeout: Duration,
    /// How many times a dropped engine session is re-opened on the same link before
    /// the channel switches to its next link (or, with one link, viewers are cut).
    pub max_reopens: u32,
    /// How long the engine session stays open after its last viewer left.
    #[serde(with = "humantime_serde")]
    pub idle_grace: Duration,
    /// Bytes a viewer may fall behind the live edge before it is moved forward.
    pub max_client_lag_bytes: u64,
    /// Bytes kept since the last PAT so a new viewer can start decoding at once.
    pub instant_start_bytes: u64,
    /// How long the engine's `stop` command may take before it is abandoned.
    #[serde(with = "humantime_serde")]
    pub stop_timeout: Duration,
    /// How often the engine's statistics are polled for live streams.
    #[serde(with = "humantime_serde")]
    pub stat_interval: Duration,
}

impl Default for MuxSettings {
    fn default() -> Self {
        Self {
            bind: SocketAddr::from(([127, 0, 0, 1], 8001)),
            response_timeout: Duration::from_secs(45),
            link_start_timeout: Duration::from_secs(15),
            link_cooldown: Duration::from_secs(600),
            stall_timeout: Duration::from_secs(15),
            max_reopens: 3,
            idle_grace: Duration::from_secs(10),
            // About 8 s of a 4 Mbit/s stream.
            max_client_lag_bytes: 4 * 1024 * 1024,
            instant_start_bytes: 2 * 1024 * 1024,
            stop_timeout: Duration::from_secs(3),
            stat_interval: Duration::from_secs(3),
        }
    }
}

/// HLS output: segments cut from the hub every TS viewer shares.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct HlsSettings {
    /// Offer `.m3u8` at all (`allowed_output_formats`, `get.php?output=m3u8`).
    pub enabled: bool,
    /// Shortest segment: a segment is cut at the first keyframe after this long.
    #[serde(with = "humantime_serde")]
    pub segment_duration: Duration,
    /// Segments listed in a live playlist (raised to cover 3 target durations).
    pub window: usize,
    /// An HLS viewer that fetched nothing for this long has left.
    #[serde(with = "humantime_serde")]
    pub viewer_timeout: Duration,
}

impl Default for HlsSettings {
    fn default() -> Self {
        Self {
            enabled: true,
            segment_duration: Duration::from_secs(4),
            window: 8,
            viewer_timeout: Duration::from_secs(30),
        }
    }
}

/// The AceStream engine, or a pool of them.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct EngineSettings {
    /// Base URL of the engine's HTTP API (the one-engine shorthand of `urls`).
    pub url: Url,
    /// A pool of engines; when not empty it wins over `url`. In the environment a
    /// comma-separated list: `ACEXTREAM_ENGINE__URLS=http://a:6878,http://b:6878`.
    #[serde(deserialize_with = "url_list")]
    pub urls: Vec<Url>,
    /// Channel sessions one engine may carry; 0 = unlimited.
    pub max_sessions: u32,
    /// How often each engine's health (`get_version`) is checked.
    #[serde(with = "humantime_serde")]
    pub health_interval: Duration,
    /// Timeout of short engine calls (health, stat, availability checks).
    #[serde(with = "humantime_serde")]
    pub request_timeout: Duration,
}

impl Default for EngineSettings {
    fn default() -> Self {
        Self {
            url: Url::parse("http://127.0.0.1:6878").unwrap_or_else(|_| unreachable!()),
            urls: Vec::new(),
            max_sessions: 0,
            health_interval: Duration::from_secs(10),
            request_timeout: Duration::from_secs(3),
        }
    }
}

impl EngineSettings {
    /// The engines to use: `urls`, or `url` alone.
    pub fn pool_urls(&self) -> Vec<Url> {
        if self.urls.is_empty() {
            vec![self.url.clone()]
        } else {
            self.urls.clone()
        }
    }
}

/// A list of URLs from TOML (an array) or the environment (one comma-separated
/// string, since environment values cannot be arrays).
fn url_list<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<Url>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Given {
        List(Vec<String>),
        One(String),
    }
    let items = match Given::deserialize(d)? {
        Given::List(v) => v,
        Given::One(s) => s.split(',').map(str::to_owned).collect(),
    };
    items
        .iter()
        .map(|s| s.trim())
        .filter(|s| !s.is_empty())
        .map(|s| Url::parse(s).map_err(|e| serde::de::Error::custom(format!("{s:?}: {e}"))))
        .collect()
}

/// The SQLite database.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct DatabaseSettings {
    /// Path of the database file; its directory is created when missing.
    pub path: PathBuf,
}

impl Default for DatabaseSettings {
    fn default() -> Self {
        Self {
            path: PathBuf::from("data/acextream.db"),
        }
    }
}

/// The bootstrap administrator.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct AdminSettings {
    /// Name of the admin account created when the database has no admin.
    pub username: String,
    /// Its password; when unset a random one is generated and printed once.
    pub password: Option<Secret>,
}

impl Default for AdminSettings {
    fn default() -> Self {
        Self {
            username: "admin".into(),
            password: None,
        }
    }
}

/// Channel playlist sources.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct SourcesSettings {
    /// Playlist URLs added as sources on first start.
    pub urls: Vec<String>,
    /// Default interval between two refreshes of a source.
    #[serde(with = "humantime_serde")]
    pub refresh_interval: Duration,
    /// How long one download (playlist or guide) may take in all.
    #[serde(with = "humantime_serde")]
    pub download_timeout: Duration,
    /// Largest download accepted, in bytes (playlists and guide feeds).
    pub max_download_bytes: u64,
    /// Interval of the scheduled availability check of every channel; 0 = never.
    #[serde(with = "humantime_serde")]
    pub check_interval: Duration,
    /// Pause between two channels of an availability check (engines have crashed
    /// under parallel checks, so channels are checked one at a time).
    #[serde(with = "humantime_serde")]
    pub check_spacing: Duration,
}

impl Default for SourcesSettings {
    fn default() -> Self {
        Self {
            urls: Vec::new(),
            refresh_interval: Duration::from_secs(6 * 3600),
            download_timeout: Duration::from_secs(300),
            max_download_bytes: 512 * 1024 * 1024,
            check_interval: Duration::from_secs(24 * 3600),
            check_spacing: Duration::from_secs(1),
        }
    }
}

/// XMLTV guide sources.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct EpgSettings {
    /// XMLTV URLs added as guide sources on first start, in priority order.
    pub urls: Vec<String>,
    /// Default interval between two refreshes of a guide source.
    #[serde(with = "humantime_serde")]
    pub refresh_interval: Duration,
    /// Days of past programmes kept.
    pub days_back: u32,
    /// Days of future programmes kept.
    pub days_ahead: u32,
    /// After tvg-id matching, also match channels to guide channels by display name.
    pub match_display_names: bool,
}

impl Default for EpgSettings {
    fn default() -> Self {
        Self {
            urls: Vec::new(),
            refresh_interval: Duration::from_secs(12 * 3600),
            days_back: 1,
            days_ahead: 7,
            match_display_names: true,
        }
    }
}

/// Output format of the log.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

/// Logging.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct LogSettings {
    /// Filter in `RUST_LOG` syntax (`info`, `acextream_mux=debug,info`); `RUST_LOG` wins.
    pub level: String,
    /// `text` or `json`.
    pub format: LogFormat,
    /// Log one line per HTTP request on the public port.
    pub access_log: bool,
}

impl Default for LogSettings {
    fn default() -> Self {
        Self {
            level: "info".into(),
            format: LogFormat::Text,
            access_log: true,
        }
    }
}

/// A secret string: masked in `Debug` and in the printed settings.
#[derive(Clone, Deserialize, PartialEq, Eq)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret value.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }
    /// The secret itself; call only where it is used, never to log it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("\"********\"")
    }
}

impl Serialize for Secret {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str("********")
    }
}

/// Where the settings file comes from, in order of precedence.
pub fn config_path(explicit: Option<&Path>) -> Option<(PathBuf, bool)> {
    if let Some(path) = explicit {
        return Some((path.to_path_buf(), true));
    }
    if let Some(path) = std::env::var_os(CONFIG_ENV).filter(|p| !p.is_empty()) {
        return Some((PathBuf::from(path), true));
    }
    let default = PathBuf::from(DEFAULT_CONFIG_PATH);
    default.exists().then_some((default, false))
}

impl Settings {
    /// Loads defaults, then the settings file (see [`config_path`]), then the environment.
    pub fn load(explicit: Option<&Path>) -> Result<Self, SettingsError> {
        let file = config_path(explicit);
        if let Some((path, true)) = &file
            && !path.exists()
        {
            return Err(SettingsError::MissingFile(path.clone()));
        }
        let mut figment = Figment::new();
        if let Some((path, _)) = &file {
            figment = figment.merge(Toml::file_exact(path));
        }
        Self::from_figment(figment.merge(env_provider()))
    }

    /// Loads settings from a TOML string only (tests and the dashboard's validation).
    pub fn from_toml(text: &str) -> Result<Self, SettingsError> {
        Self::from_figment(Figment::new().merge(Toml::string(text)))
    }

    fn from_figment(figment: Figment) -> Result<Self, SettingsError> {
        let settings: Settings = figment.extract().map_err(|e| {
            // figment lists every error; the first one is the one worth a line.
            let first = e.into_iter().next();
            SettingsError::Invalid(first.map(|e| e.to_string()).unwrap_or_default())
        })?;
        settings.validate()?;
        Ok(settings)
    }

    /// Checks what the types alone cannot.
    pub fn validate(&self) -> Result<(), SettingsError> {
        let bad = |key: &str, why: &str| Err(SettingsError::Invalid(format!("{key}: {why}")));
        if jiff::tz::TimeZone::get(&self.server.timezone).is_err() {
            return bad("server.timezone", "not an IANA time zone name");
        }
        if let Some(url) = &self.server.public_url
            && !matches!(url.scheme(), "http" | "https")
        {
            return bad("server.public_url", "must be an http:// or https:// URL");
        }
        if !matches!(self.engine.url.scheme(), "http" | "https") {
            return bad("engine.url", "must be an http:// or https:// URL");
        }
        if self
            .engine
            .urls
            .iter()
            .any(|u| !matches!(u.scheme(), "http" | "https"))
        {
            return bad(
                "engine.urls",
                "every entry must be an http:// or https:// URL",
            );
        }
        if self.engine.health_interval.is_zero() {
            return bad("engine.health_interval", "must be greater than zero");
        }
        if self.mux.link_start_timeout.is_zero() {
            return bad("mux.link_start_timeout", "must be greater than zero");
        }
        if self.server.bind.port() != 0 && self.server.bind == self.mux.bind {
            return bad("mux.bind", "must differ from server.bind");
        }
        if self.mux.stall_timeout.is_zero() || self.mux.response_timeout.is_zero() {
            return bad("mux", "timeouts must be greater than zero");
        }
        if self.mux.max_client_lag_bytes < 188 * 64 {
            return bad("mux.max_client_lag_bytes", "must be at least 12032 bytes");
        }
        if self.hls.segment_duration < Duration::from_secs(1)
            || self.hls.segment_duration > Duration::from_secs(30)
        {
            return bad("hls.segment_duration", "must be between 1s and 30s");
        }
        if !(3..=100).contains(&self.hls.window) {
            return bad("hls.window", "must be between 3 and 100 segments");
        }
        if self.hls.viewer_timeout < Duration::from_secs(5) {
            return bad("hls.viewer_timeout", "must be at least 5s");
        }
        if !(1..=255).contains(&self.hdhr.tuners_unlimited) {
            return bad("hdhr.tuners_unlimited", "must be between 1 and 255");
        }
        if self
            .hdhr
            .discovery_user
            .as_deref()
            .is_some_and(|u| u.trim().is_empty())
        {
            return bad(
                "hdhr.discovery_user",
                "must name an account, or be left out",
            );
        }
        if self.hdhr.bind.is_some() && self.hdhr.discovery_user.is_none() {
            return bad(
                "hdhr.bind",
                "needs hdhr.discovery_user: the listener serves that account's tuner",
            );
        }
        // Port 0 (any free port, as tests use) never collides.
        if let Some(bind) = self.hdhr.bind
            && bind.port() != 0
            && (bind == self.server.bind || bind == self.mux.bind)
        {
            return bad("hdhr.bind", "must differ from server.bind and mux.bind");
        }
        if !(1..=3650).contains(&self.archive.days) {
            return bad("archive.days", "must be between 1 and 3650");
        }
        if self.archive.dir.as_os_str().is_empty() {
            return bad("archive.dir", "must not be empty");
        }
        if self.archive.max_bytes < (16 << 20)
            || self.archive.max_total_bytes < self.archive.max_bytes
        {
            return bad(
                "archive.max_bytes",
                "must be at least 16 MiB, and archive.max_total_bytes at least as much",
            );
        }
        if !(1..=30).contains(&self.archive.segment.as_secs()) {
            return bad("archive.segment", "must be between 1s and 30s");
        }
        if self.archive.hls_dvr > 24 * 60 {
            return bad("archive.hls_dvr", "must be at most 1440 minutes");
        }
        if self.admin.username.trim().is_empty() {
            return bad("admin.username", "must not be empty");
        }
        if self.database.path.as_os_str().is_empty() {
            return bad("database.path", "must not be empty");
        }
        Ok(())
    }

    /// The effective settings as TOML, secrets masked (`acextream config`).
    pub fn to_masked_toml(&self) -> String {
        toml::to_string_pretty(self).unwrap_or_else(|e| format!("# cannot print settings: {e}\n"))
    }

    /// The configured wall-clock time zone (validated at load).
    pub fn time_zone(&self) -> jiff::tz::TimeZone {
        jiff::tz::TimeZone::get(&self.server.timezone).unwrap_or(jiff::tz::TimeZone::UTC)
    }
}

/// `ACEXTREAM_SERVER__BIND=…` → `server.bind`. Only names with the `__` section
/// separator are settings: `ACEXTREAM_CONFIG` names the file, and other
/// `ACEXTREAM_*` variables (scripts' own) are not ours to reject.
fn env_provider() -> Env {
    Env::prefixed(ENV_PREFIX)
        .filter(|key| key.as_str().contains("__"))
        .split("__")
}

#[cfg(test)]
mod tests;
