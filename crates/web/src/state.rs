//! The state every handler shares: settings, store, accounts and outbound clients.

use std::sync::Arc;
use std::time::Duration;

use acextream_core::accounts::Accounts;
use acextream_core::catalogue::Catalogue;
use acextream_core::engine::pool::EnginePool;
use acextream_core::jobs::Jobs;
use acextream_core::{Settings, Store};
use url::Url;

/// Cloneable handles, built once at start-up.
#[derive(Clone)]
pub struct AppState {
    /// Effective settings.
    pub settings: Arc<Settings>,
    /// The database.
    pub store: Store,
    /// Accounts and credential checks.
    pub accounts: Accounts,
    /// The AceStream engines (health, status).
    pub engines: Arc<EnginePool>,
    /// Base URL of the internal multiplexer, as actually bound.
    pub mux_url: Url,
    /// Client for JSON calls to the multiplexer (status, health).
    pub mux_client: reqwest::Client,
    /// Client for streams from the multiplexer, tuned for many long connections.
    pub stream_client: crate::proxy::StreamClient,
    /// Channel and guide sources.
    pub catalogue: Catalogue,
    /// Background refreshes and the availability check.
    pub jobs: Jobs,
    /// Open streams per account (`max_connections`, `active_cons`).
    pub connections: Arc<crate::xtream::connections::Connections>,
    /// Recent log lines (redacted) for the dashboard.
    pub logs: Arc<acextream_core::logbuf::LogBuffer>,
    /// Failed-login brake for the dashboard and the admin API.
    pub brake: crate::brake::LoginBrake,
    /// Looser brake on wrong player passwords (Xtream endpoints, stream URLs).
    pub player_brake: crate::brake::LoginBrake,
    /// When the process started (uptime on the dashboard).
    pub started_at: jiff::Timestamp,
    /// Where each setting came from at start-up (`/api/settings`).
    pub provenance: Arc<acextream_core::runtime_settings::Provenance>,
    /// Dashboard login sessions.
    pub sessions: crate::session::Sessions,
    /// The dashboard's templates, parsed once at start-up.
    pub pages: crate::dashboard::Pages,
    /// Signs the tickets in HLS URLs (a fresh key per process).
    pub hls_key: crate::hls::ticket::TicketKey,
    /// The installation's key behind every HDHomeRun device id, read from the
    /// database on first use.
    pub hdhr_key: Arc<tokio::sync::OnceCell<String>>,
    /// Catch-up: the recording ring and its recorders.
    pub recording: Arc<crate::archive::Recording>,
}

impl AppState {
    /// Assembles the state; `mux_url` is the multiplexer's real address.
    pub fn new(
        settings: Arc<Settings>,
        store: Store,
        engines: Arc<EnginePool>,
        mux_url: Url,
        catalogue: Catalogue,
        jobs: Jobs,
    ) -> anyhow::Result<Self> {
        let mux_client = reqwest::Client::builder()
            // The multiplexer is on loopback: a system proxy must never see stream bytes.
            .no_proxy()
            .connect_timeout(Duration::from_secs(2))
            // No total timeout: streams are endless. A read may pause while the mux
            // re-opens an engine session (stall + start timeouts), so the read
            // timeout only catches a mux that is truly gone.
            .read_timeout(
                settings.mux.stall_timeout
                    + settings.mux.link_start_timeout
                    + settings.mux.response_timeout
                    + Duration::from_secs(30),
            )
            .tcp_nodelay(true)
            // Streams must pass through untouched.
            .no_gzip()
            .pool_idle_timeout(Duration::from_secs(30))
            .build()?;
        // Replaced by the daemon with what it applied; this default reads the same
        // environment the settings were loaded from.
        let provenance = Arc::new(acextream_core::runtime_settings::Provenance {
            base: (*settings).clone(),
            env_keys: acextream_core::runtime_settings::env_keys(std::env::vars()),
        });
        let connections = Arc::new(crate::xtream::connections::Connections::new(
            settings.hls.viewer_timeout,
        ));
        Ok(Self {
            accounts: Accounts::new(store.clone()),
            settings,
            store,
            engines,
            mux_url,
            mux_client,
            stream_client: crate::proxy::stream_client(),
            catalogue,
            jobs,
            connections,
            logs: Arc::default(),
            brake: crate::brake::LoginBrake::new(crate::brake::ADMIN),
            player_brake: crate::brake::LoginBrake::new(crate::brake::PLAYER),
            started_at: jiff::Timestamp::now(),
            provenance,
            sessions: crate::session::Sessions::default(),
            pages: crate::dashboard::Pages::default(),
            hls_key: Default::default(),
            hdhr_key: Arc::default(),
            recording: Arc::default(),
        })
    }
}
