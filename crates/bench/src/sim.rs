//! Engine-session counts from acestream-sim's introspection (`GET /sim/state`).

use std::time::Duration;

use acestream_sim::Introspection;
use anyhow::Context as _;

use crate::target::{Target, parse_loopback_url};

/// Reads `/sim/state` of one simulator.
#[derive(Debug, Clone)]
pub struct SimProbe {
    target: Target,
}

impl SimProbe {
    /// A probe of the simulator at `base` (e.g. `http://127.0.0.1:6878`).
    pub fn new(base: &str) -> anyhow::Result<Self> {
        let url = format!("{}/sim/state", base.trim_end_matches('/'));
        Ok(Self {
            target: parse_loopback_url(&url).context("--sim")?,
        })
    }

    /// The simulator's current state.
    pub async fn state(&self) -> anyhow::Result<Introspection> {
        // A loaded machine may answer slowly; the state is small.
        let (status, body) = crate::http::get_all(&self.target, Duration::from_secs(10))
            .await
            .context("GET /sim/state")?;
        anyhow::ensure!(status == 200, "GET /sim/state answered {status}");
        serde_json::from_slice(&body).context("parsing /sim/state")
    }
}

/// Live (not stopped) sessions of the content with this id or infohash.
pub fn live_sessions_for(state: &Introspection, id: &str) -> usize {
    state.sessions_for(id).iter().filter(|s| !s.stopped).count()
}
