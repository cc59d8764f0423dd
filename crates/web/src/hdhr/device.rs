//! Who a tuner is: the account behind the request, its stable device identity
//! (DeviceID with a valid check digit, DeviceAuth, UPnP UDN), its tuner count and
//! the base URL clients must use — and the device documents built from them:
//! `discover.json`, `lineup_status.json`, `lineup.post` and `device.xml`.

use acextream_core::store::users::User;
use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use blake2::Digest;
use blake2::digest::consts::U32;
use serde_json::json;

use crate::error::ApiError;
use crate::state::AppState;
use crate::xtream::base_url::BaseUrl;

/// `Manufacturer`, as on a real device: some clients look for it.
pub const MANUFACTURER: &str = "Silicondust";
/// The model emulated: a 2-tuner HDHomeRun CONNECT/EXTEND-class device. Jellyfin
/// offers its transcoding profiles only to models containing "HDTC".
pub const MODEL_NUMBER: &str = "HDTC-2US";
/// Its firmware's name and a plausible version.
pub const FIRMWARE_NAME: &str = "hdhomeruntc_atsc";
/// Firmware version reported (a real device's date-stamped form).
pub const FIRMWARE_VERSION: &str = "20250623";

/// Marks the dedicated `hdhr.bind` listener, whose root is the tuner of this
/// account (`hdhr.discovery_user`) with no credentials in the URL.
#[derive(Debug, Clone)]
pub struct RootDevice {
    /// The account served.
    pub username: String,
}

/// The tuner a request is addressed to.
#[derive(Debug, Clone)]
pub struct Tuner {
    /// The account it plays as.
    pub user: User,
    /// The absolute base URL the client used, path included, no trailing slash.
    pub base: String,
    /// The device's identity.
    pub id: DeviceIdentity,
    /// Streams at once: the account's `max_connections`, else `hdhr.tuners_unlimited`.
    pub tuner_count: u32,
}

/// A device's stable identity, derived from the installation and the account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceIdentity {
    /// `DeviceID`: 32 bits whose low nibble is the HDHomeRun check digit.
    pub device_id: u32,
    /// `DeviceAuth`: an opaque token real devices send; ours is stable too.
    pub device_auth: String,
    /// UPnP `UDN` (without `uuid:`).
    pub udn: String,
}

impl DeviceIdentity {
    /// The identity of account `user_id` of the installation with `key`. Distinct
    /// accounts get distinct ids (Plex keys devices by DeviceID; Jellyfin rewrites
    /// a saved tuner's URL when it finds the same id elsewhere), and an account's
    /// id survives restarts and renames.
    pub fn derive(key: &str, user_id: i64) -> DeviceIdentity {
        let out: [u8; 32] = blake2::Blake2b::<U32>::new()
            .chain_update(b"acextream hdhomerun device\0")
            .chain_update(key.as_bytes())
            .chain_update(user_id.to_le_bytes())
            .finalize()
            .into();
        let raw = u32::from_be_bytes([out[0], out[1], out[2], out[3]]);
        // A first digit of 1 like real tuners (some clients read the model from it).
        let device_id = super::discovery::with_check_digit(0x1000_0000 | (raw & 0x0FFF_FFFF));
        let hex = |b: &[u8]| b.iter().map(|b| format!("{b:02x}")).collect::<String>();
        let u = hex(&out[8..24]);
        DeviceIdentity {
            device_id,
            device_auth: hex(&out[24..32]),
            udn: format!(
                "{}-{}-{}-{}-{}",
                &u[0..8],
                &u[8..12],
                &u[12..16],
                &u[16..20],
                &u[20..32]
            ),
        }
    }

    /// `DeviceID` as HDHomeRun writes it: 8 upper-case hex digits.
    pub fn device_id_hex(&self) -> String {
        format!("{:08X}", self.device_id)
    }
}

/// The installation's key (created on first use, kept in the database).
pub async fn installation_key(state: &AppState) -> Result<String, ApiError> {
    let store = state.store.clone();
    state
        .hdhr_key
        .get_or_try_init(|| async move {
            store
                .run(|c| acextream_core::store::lineup::installation_key(c))
                .await
        })
        .await
        .cloned()
        .map_err(ApiError::from)
}

/// The account's *tuner token*: a secret that may stand in for the password in
/// `/hdhr/{user}/{token}/` and nowhere else. Passwords are stored only as hashes,
/// so this is what lets the dashboard show a ready-made tuner URL and discovery
/// announce one without the account's password. Keyed by the installation and the
/// password hash: a new password revokes it.
pub fn tuner_token(key: &str, user: &User) -> String {
    let out: [u8; 32] = blake2::Blake2b::<U32>::new()
        .chain_update(b"acextream hdhomerun tuner token\0")
        .chain_update(key.as_bytes())
        .chain_update(user.id.to_le_bytes())
        .chain_update(user.password_hash.as_bytes())
        .finalize()
        .into();
    out[..16].iter().map(|b| format!("{b:02x}")).collect()
}

/// `/hdhr/<user>/<tuner token>`: the base path of the account's tuner that needs
/// no password (dashboard, discovery).
pub fn tuner_path(key: &str, user: &User) -> String {
    format!(
        "/hdhr/{}/{}",
        percent_encoding::utf8_percent_encode(&user.username, SEGMENT),
        tuner_token(key, user)
    )
}

/// Characters escaped in a path segment.
const SEGMENT: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// Length of a [`tuner_token`].
const TOKEN_LEN: usize = 32;

/// The account `username` if `token` is its tuner token.
async fn by_token(state: &AppState, username: &str, token: &str) -> Result<Option<User>, ApiError> {
    use subtle::ConstantTimeEq as _;
    if token.len() != TOKEN_LEN || !token.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Ok(None);
    }
    let name = username.to_owned();
    let Some(user) = state
        .store
        .run(move |c| acextream_core::store::users::by_name(c, &name))
        .await?
    else {
        return Ok(None);
    };
    let key = installation_key(state).await?;
    let expected = tuner_token(&key, &user);
    if !bool::from(
        expected
            .as_bytes()
            .ct_eq(token.to_ascii_lowercase().as_bytes()),
    ) {
        return Ok(None);
    }
    if !user.enabled {
        return Err(ApiError::AccountUnusable("account disabled".into()));
    }
    if user.is_expired(acextream_core::store::now_epoch()) {
        return Err(ApiError::AccountUnusable("account expired".into()));
    }
    Ok(Some(user))
}

impl Tuner {
    /// The tuner of `req`: `/hdhr/{user}/{password}/…` checks the password (or
    /// the account's [`tuner_token`]) like every Xtream URL; on the `hdhr.bind`
    /// listener it is the discovery account.
    pub async fn of(req: &HttpRequest, state: &AppState) -> Result<Tuner, ApiError> {
        let info = req.match_info();
        let (user, prefix) = match (info.get("user"), info.get("password")) {
            (Some(user), Some(password)) => {
                // Only a token-shaped password (32 hex digits) costs a read here;
                // one that is not the token then logs in like any password.
                let user = match by_token(state, user, password).await? {
                    Some(user) => user,
                    None => crate::xtream::authorize_path(state, req, user, password).await?,
                };
                // The prefix exactly as the client wrote it (percent-encoding kept).
                let raw = req.uri().path();
                let end = raw
                    .match_indices('/')
                    .nth(3)
                    .map_or(raw.len(), |(at, _)| at);
                (user, raw[..end].to_owned())
            }
            _ => {
                let Some(root) = req.app_data::<web::Data<RootDevice>>() else {
                    return Err(ApiError::NotFound("no tuner here".into()));
                };
                (root_account(state, &root.username).await?, String::new())
            }
        };
        let key = installation_key(state).await?;
        let tuner_count = match user.max_connections {
            0 => state.settings.hdhr.tuners_unlimited,
            n => n,
        };
        Ok(Tuner {
            base: format!("{}{prefix}", BaseUrl::of(req, &state.settings).origin()),
            id: DeviceIdentity::derive(&key, user.id),
            tuner_count,
            user,
        })
    }

    /// `TunerCount`, as the one byte UDP discovery has room for.
    pub fn tuner_count_u8(&self) -> u8 {
        u8::try_from(self.tuner_count).unwrap_or(u8::MAX)
    }
}

/// The discovery account, when it may play: enabled and not expired.
pub async fn root_account(state: &AppState, username: &str) -> Result<User, ApiError> {
    let name = username.to_owned();
    let user = state
        .store
        .run(move |c| acextream_core::store::users::by_name(c, &name))
        .await?;
    match user {
        Some(u) if u.enabled && !u.is_expired(acextream_core::store::now_epoch()) => Ok(u),
        Some(_) => Err(ApiError::AccountUnusable(
            "the tuner's account is disabled or expired".into(),
        )),
        None => Err(ApiError::NotFound(
            "hdhr.discovery_user names no account".into(),
        )),
    }
}

/// `FriendlyName`: `server.name`, else "acextream".
fn friendly_name(state: &AppState) -> String {
    state
        .settings
        .server
        .name
        .clone()
        .filter(|n| !n.trim().is_empty())
        .unwrap_or_else(|| "acextream".into())
}

/// `GET discover.json` (also the base URL itself).
pub async fn discover(
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let tuner = Tuner::of(&req, &state).await?;
    let name = friendly_name(&state);
    Ok(no_store(HttpResponse::Ok()).json(json!({
        "FriendlyName": name,
        "Manufacturer": MANUFACTURER,
        "ManufacturerURL": "https://github.com/acextream/acextream",
        "ModelNumber": MODEL_NUMBER,
        "ModelName": "acextream HDHomeRun emulation",
        "FirmwareName": FIRMWARE_NAME,
        "FirmwareVersion": FIRMWARE_VERSION,
        "DeviceID": tuner.id.device_id_hex(),
        "DeviceAuth": tuner.id.device_auth,
        "BaseURL": tuner.base,
        "LineupURL": format!("{}/lineup.json", tuner.base),
        "TunerCount": tuner.tuner_count,
    })))
}

/// `GET lineup_status.json`: never scanning, always scannable — the lineup is
/// always current, so a scan has nothing to wait for.
pub async fn lineup_status(
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    Tuner::of(&req, &state).await?;
    Ok(no_store(HttpResponse::Ok()).json(json!({
        "ScanInProgress": 0,
        "ScanPossible": 1,
        "Source": "Cable",
        "SourceList": ["Cable"],
    })))
}

/// `GET|POST lineup.post?scan=start|abort` (and `favorite=`): 200 at once. Plex
/// presses "scan" when a tuner is added; a 404 or 405 here makes it give up on
/// the device ("Can not communicate with device").
pub async fn lineup_post(
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    Tuner::of(&req, &state).await?;
    let scan = url::form_urlencoded::parse(req.query_string().as_bytes())
        .find(|(k, _)| k == "scan")
        .map(|(_, v)| v.into_owned());
    match scan.as_deref() {
        None | Some("start" | "abort") => Ok(HttpResponse::Ok().finish()),
        Some(other) => Err(ApiError::BadRequest(format!(
            "unknown scan {other:?}: use scan=start or scan=abort"
        ))),
    }
}

/// `GET device.xml`: the UPnP root device description SSDP replies point at.
pub async fn device_xml(
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let tuner = Tuner::of(&req, &state).await?;
    let name = friendly_name(&state);
    let esc = |s: &str| quick_xml::escape::escape(s).into_owned();
    let body = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
         <root xmlns=\"urn:schemas-upnp-org:device-1-0\">\n\
         \x20 <specVersion><major>1</major><minor>0</minor></specVersion>\n\
         \x20 <URLBase>{base}</URLBase>\n\
         \x20 <device>\n\
         \x20   <deviceType>urn:schemas-upnp-org:device:MediaServer:1</deviceType>\n\
         \x20   <friendlyName>{name}</friendlyName>\n\
         \x20   <manufacturer>{MANUFACTURER}</manufacturer>\n\
         \x20   <modelName>{MODEL_NUMBER}</modelName>\n\
         \x20   <modelNumber>{MODEL_NUMBER}</modelNumber>\n\
         \x20   <serialNumber>{id}</serialNumber>\n\
         \x20   <UDN>uuid:{udn}</UDN>\n\
         \x20 </device>\n\
         </root>\n",
        base = esc(&tuner.base),
        name = esc(&name),
        id = tuner.id.device_id_hex(),
        udn = tuner.id.udn,
    );
    Ok(no_store(HttpResponse::Ok())
        .content_type("application/xml; charset=utf-8")
        .body(body))
}

/// Device documents change with the account and the catalogue: never cached.
pub fn no_store(mut resp: actix_web::HttpResponseBuilder) -> actix_web::HttpResponseBuilder {
    resp.insert_header((header::CACHE_CONTROL, "no-store"));
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    fn valid(id: u32) -> bool {
        super::super::discovery::with_check_digit(id) == id
    }

    #[test]
    fn identities_are_stable_valid_and_distinct() {
        let a = DeviceIdentity::derive("k", 1);
        assert_eq!(a, DeviceIdentity::derive("k", 1));
        assert!(valid(a.device_id), "{:08X}", a.device_id);
        assert_eq!(a.device_id_hex().len(), 8);
        assert!(a.device_id_hex().starts_with('1'));
        let ids: std::collections::HashSet<u32> = (1..200)
            .map(|u| DeviceIdentity::derive("k", u).device_id)
            .collect();
        assert_eq!(ids.len(), 199);
        assert_ne!(
            a.device_id,
            DeviceIdentity::derive("other install", 1).device_id
        );
        assert_eq!(a.udn.len(), 36);
    }

    #[test]
    fn the_check_digit_matches_real_devices() {
        assert!(valid(0x1043_9EFD));
        assert!(valid(0x1059_02DB));
        assert!(!valid(0x1234_5678));
    }
}
