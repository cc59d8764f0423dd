//! Announcing `hdhr.discovery_user`'s tuner on the LAN: SiliconDust's UDP
//! discovery (port 65001) and SSDP (port 1900), both bound to
//! `hdhr.discovery_bind`.
//!
//! The announced base URL is the `hdhr.bind` listener's root when there is one
//! (no secret in it), else the public port's `/hdhr/<user>/<tuner token>` (the
//! token stands in for the password, which is stored only as a hash). The host is
//! `server.public_url`'s when set, else the address the asking client reached.
//! The account is re-read every few seconds, so a new password, a disabled account
//! or a new connection limit reach the announcements without a restart.

use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use super::device::{DeviceIdentity, installation_key, root_account, tuner_path};
use super::discovery::{self, DeviceInfo};
use super::ssdp::{self, SsdpInfo};
use crate::state::AppState;

/// UDP port of SiliconDust's discovery protocol.
pub const DISCOVERY_PORT: u16 = 65001;
/// UDP port of SSDP.
pub const SSDP_PORT: u16 = 1900;
/// How often the announced account is re-read.
const REFRESH: Duration = Duration::from_secs(5);

/// What is announced, as of the last refresh.
#[derive(Debug, Clone)]
struct Announced {
    id: DeviceIdentity,
    tuner_count: u8,
    /// Path of the tuner's base on `port` (`/hdhr/<user>/<token>`, or empty).
    path: String,
    port: u16,
}

/// Where the tuner is served: the `hdhr.bind` listener's port, or the public port.
#[derive(Debug, Clone, Copy)]
pub enum Served {
    /// At the root of the dedicated listener on this port.
    Root(u16),
    /// Under `/hdhr/<user>/<token>` on the public port.
    Public(u16),
}

/// Starts discovery and SSDP for `username` until `stop`. A port that cannot be
/// bound (another tuner emulator, a missing permission) is a warning: the typed
/// tuner URL works without discovery.
pub fn start(state: AppState, username: String, served: Served, stop: CancellationToken) {
    let bind = state.settings.hdhr.discovery_bind;
    let current: Arc<RwLock<Option<Announced>>> = Arc::default();
    tokio::spawn(refresh(
        state.clone(),
        username,
        served,
        current.clone(),
        stop.clone(),
    ));
    let public = state
        .settings
        .server
        .public_url
        .as_ref()
        .filter(|_| matches!(served, Served::Public(_)))
        .map(|u| u.origin().ascii_serialization());
    let base = {
        let current = current.clone();
        move |local: IpAddr| -> Option<(Announced, String)> {
            let a = current.read().ok()?.clone()?;
            let origin = public.clone().unwrap_or_else(|| match local {
                IpAddr::V6(ip) => format!("http://[{ip}]:{}", a.port),
                IpAddr::V4(ip) => format!("http://{ip}:{}", a.port),
            });
            let base = format!("{origin}{}", a.path);
            Some((a, base))
        }
    };
    match discovery::bind_udp(bind, DISCOVERY_PORT) {
        Ok(socket) => {
            let base = base.clone();
            tokio::spawn(discovery::serve_discovery(
                socket,
                move |_from: SocketAddr, local: IpAddr| {
                    let (a, base) = base(local)?;
                    Some(DeviceInfo {
                        device_id: a.id.device_id,
                        tuner_count: a.tuner_count,
                        lineup_url: format!("{base}/lineup.json"),
                        base_url: base,
                        device_auth: a.id.device_auth,
                    })
                },
                stop.clone(),
            ));
            tracing::info!(address = %SocketAddr::new(bind, DISCOVERY_PORT), "HDHomeRun discovery answering");
        }
        Err(e) => {
            tracing::warn!(address = %SocketAddr::new(bind, DISCOVERY_PORT), error = %e, "HDHomeRun discovery off: cannot bind")
        }
    }
    match discovery::bind_udp(bind, SSDP_PORT) {
        Ok(socket) => {
            tokio::spawn(ssdp::serve_ssdp(
                socket,
                move |_from: SocketAddr, local: IpAddr| {
                    let (a, base) = base(local)?;
                    Some(SsdpInfo {
                        udn: a.id.udn,
                        location: format!("{base}/device.xml"),
                    })
                },
                stop,
            ));
            tracing::info!(address = %SocketAddr::new(bind, SSDP_PORT), "SSDP answering");
        }
        Err(e) => {
            tracing::warn!(address = %SocketAddr::new(bind, SSDP_PORT), error = %e, "SSDP off: cannot bind")
        }
    }
}

/// Keeps `current` in step with the account.
async fn refresh(
    state: AppState,
    username: String,
    served: Served,
    current: Arc<RwLock<Option<Announced>>>,
    stop: CancellationToken,
) {
    let mut told = false;
    loop {
        let next = match announced(&state, &username, served).await {
            Ok(a) => {
                told = false;
                Some(a)
            }
            Err(e) => {
                if !told {
                    tracing::warn!(user = %username, error = %e, "hdhr.discovery_user: nothing announced");
                    told = true;
                }
                None
            }
        };
        if let Ok(mut slot) = current.write() {
            *slot = next;
        }
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = tokio::time::sleep(REFRESH) => {}
        }
    }
}

async fn announced(
    state: &AppState,
    username: &str,
    served: Served,
) -> Result<Announced, crate::error::ApiError> {
    let user = root_account(state, username).await?;
    let key = installation_key(state).await?;
    let tuner_count = match user.max_connections {
        0 => state.settings.hdhr.tuners_unlimited,
        n => n,
    };
    let (path, port) = match served {
        Served::Root(port) => (String::new(), port),
        Served::Public(port) => (tuner_path(&key, &user), port),
    };
    Ok(Announced {
        id: DeviceIdentity::derive(&key, user.id),
        tuner_count: u8::try_from(tuner_count).unwrap_or(u8::MAX),
        path,
        port,
    })
}
