//! The simulator's settings: its catalogue, the switches for the engine's
//! undocumented policies, and pacing.

use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::content::Content;

/// What getstream does when the same pid asks again for content it already plays.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SamePid {
    /// The same session is returned.
    #[default]
    Reuse,
    /// A new session replaces it; the old session's readers end.
    Replace,
}

/// What a second open of the same playback URL gets while one is open.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SecondReader {
    /// Both readers get the live stream.
    #[default]
    Allow,
    /// The second one is answered 409.
    Refuse,
    /// The second one is served and the earlier readers' bodies end.
    KickFirst,
}

/// What getstream does when a second pid asks for content another pid plays.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SecondPid {
    /// Each pid gets its own session.
    #[default]
    Allow,
    /// The second pid gets the error envelope.
    Refuse,
    /// The second pid gets a session and the other pids' sessions are stopped.
    KickFirst,
}

/// Switches for behaviours the engine's docs leave open.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Policies {
    /// Same pid, same content.
    pub same_pid: SamePid,
    /// Second reader of one playback URL.
    pub second_reader: SecondReader,
    /// Second pid, same content.
    pub second_pid: SecondPid,
    /// How long `stop` hangs before it is carried out (0: answers at once). Real
    /// engines' stop sometimes hangs; a proxy must not wait on it.
    #[serde(default)]
    pub stop_hang_ms: u64,
}

/// Everything [`crate::Simulator::start`] needs.
#[derive(Clone, Debug)]
pub struct SimConfig {
    /// The contents it can play.
    pub catalogue: Vec<Content>,
    /// Policy switches.
    pub policies: Policies,
    /// Send as fast as the client reads instead of at the bitrate (bench mode).
    pub unpaced: bool,
    /// How much stream a new reader gets at once before real-time pacing (a real
    /// engine flushes its live buffer first).
    pub burst: Duration,
    /// Where to listen; port 0 picks a free port.
    pub bind: SocketAddr,
}

impl Default for SimConfig {
    fn default() -> Self {
        Self {
            catalogue: Vec::new(),
            policies: Policies::default(),
            unpaced: false,
            burst: Duration::from_secs(1),
            bind: SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
        }
    }
}

impl SimConfig {
    /// Defaults with this catalogue.
    pub fn with_catalogue(catalogue: Vec<Content>) -> Self {
        Self {
            catalogue,
            ..Self::default()
        }
    }
}
