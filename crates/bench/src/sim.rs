//! Engine-session counts from acestream-sim's introspection (`GET /sim/state`).

use std::time::Duration;

use acestream_sim::Introspection;
use anyhow::Context as _;

use crate::target::{Target, parse_loopback_url};

/// Reads `/sim/state` of one simulator, or of a pool of them (an engine pool),
/// whose states are added up.
#[derive(Debug, Clone)]
pub struct SimProbe {
    targets: Vec<Target>,
}

impl SimProbe {
    /// A probe of the simulator at `base` (e.g. `http://127.0.0.1:6878`), or of
    /// every simulator of a comma-separated list.
    pub fn new(base: &str) -> anyhow::Result<Self> {
        let targets = base
            .split(',')
            .map(|b| {
                let url = format!("{}/sim/state", b.trim().trim_end_matches('/'));
                parse_loopback_url(&url).context("--sim")
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        Ok(Self { targets })
    }

    /// The simulators' current state, added up.
    pub async fn state(&self) -> anyhow::Result<Introspection> {
        let mut sum: Option<Introspection> = None;
        for target in &self.targets {
            let one = state_of(target).await?;
            sum = Some(match sum {
                None => one,
                Some(mut s) => {
                    s.sessions.extend(one.sessions);
                    s.getstream_calls.extend(one.getstream_calls);
                    s.stop_calls += one.stop_calls;
                    s.playback_opens += one.playback_opens;
                    s
                }
            });
        }
        sum.context("--sim names no simulator")
    }
}

async fn state_of(target: &Target) -> anyhow::Result<Introspection> {
    // A loaded machine may answer slowly; the state is small.
    let (status, body) = crate::http::get_all(target, Duration::from_secs(10))
        .await
        .context("GET /sim/state")?;
    anyhow::ensure!(status == 200, "GET /sim/state answered {status}");
    serde_json::from_slice(&body).context("parsing /sim/state")
}

/// Live (not stopped) sessions of the content with this id or infohash.
pub fn live_sessions_for(state: &Introspection, id: &str) -> usize {
    state.sessions_for(id).iter().filter(|s| !s.stopped).count()
}
