//! Signed HLS tickets: what a playlist or segment URL carries instead of a
//! password. A ticket names the viewer's account, the channel, the HLS session
//! and an expiry, and is signed with a key that lives only in this process
//! (keyed BLAKE2b-256), so it cannot be forged or altered, and a restart voids
//! every ticket (players then reload the `.m3u8` URL they were given).
//!
//! Two lifetimes: the media playlist URL in the master playlist lives as long as
//! a viewing session may ([`SESSION_TTL`]); a segment URL expires [`SEGMENT_TTL`]
//! after its segment's own time (so it is the same on every reload, as RFC 8216
//! and hls.js require) — a leaked segment URL is useless a few minutes later,
//! and never reveals a password.

use std::time::Duration;

use base64::Engine as _;
use blake2::digest::consts::U32;
use blake2::digest::{KeyInit, Mac};
use rand::RngCore as _;
use serde::{Deserialize, Serialize};

/// How long a media playlist URL (one viewing session) stays valid.
pub const SESSION_TTL: Duration = Duration::from_secs(12 * 3600);
/// How long a segment URL stays valid.
pub const SEGMENT_TTL: Duration = Duration::from_secs(300);

type Signer = blake2::Blake2bMac<U32>;

/// What a ticket opens.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Kind {
    /// The media playlist of a session.
    #[serde(rename = "p")]
    Playlist,
    /// Segments of a session.
    #[serde(rename = "s")]
    Segment,
}

/// The channel a ticket plays.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Target {
    /// A catalogue channel.
    #[serde(rename = "c")]
    Channel(i64),
    /// A bare AceStream link (`id` or `infohash`, and its 40 hex digits).
    #[serde(rename = "l")]
    Link(String, String),
}

impl Target {
    /// The channel's name in the connection registry (`channel:7`, `id:…`).
    pub fn key(&self) -> String {
        match self {
            Target::Channel(id) => format!("channel:{id}"),
            Target::Link(kind, value) => format!("{kind}:{value}"),
        }
    }

    /// The query that finds the live channel in the multiplexer (no start).
    pub fn selector(&self) -> Vec<(String, String)> {
        match self {
            Target::Channel(id) => vec![("channel".into(), id.to_string())],
            Target::Link(kind, value) => vec![(kind.clone(), value.clone())],
        }
    }
}

/// A viewing session's claims.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ticket {
    /// What it opens.
    #[serde(rename = "k")]
    pub kind: Kind,
    /// The Xtream account, or empty for a viewer that holds no slot (anonymous
    /// `/ace/manifest.m3u8`, the dashboard's player).
    #[serde(rename = "u")]
    pub user: String,
    /// A fingerprint of the account's password hash: a changed password voids
    /// the session at its next new lease.
    #[serde(rename = "f")]
    pub key_print: String,
    /// The channel.
    #[serde(rename = "c")]
    pub target: Target,
    /// The address the session started from (its connection slot's address).
    #[serde(rename = "i")]
    pub ip: String,
    /// The HLS session id.
    #[serde(rename = "s")]
    pub session: String,
    /// Epoch seconds after which the ticket is refused.
    #[serde(rename = "e")]
    pub expires: i64,
}

/// The process's signing key.
#[derive(Clone)]
pub struct TicketKey([u8; 32]);

impl std::fmt::Debug for TicketKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TicketKey(…)")
    }
}

impl Default for TicketKey {
    fn default() -> Self {
        let mut key = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut key);
        TicketKey(key)
    }
}

fn b64() -> base64::engine::GeneralPurpose {
    base64::engine::general_purpose::URL_SAFE_NO_PAD
}

impl TicketKey {
    fn signer(&self) -> Signer {
        // A 32-byte key is always accepted by BLAKE2b (up to 64).
        <Signer as KeyInit>::new_from_slice(&self.0)
            .unwrap_or_else(|_| <Signer as KeyInit>::new(&Default::default()))
    }

    /// The ticket as a URL path segment: `payload.signature`, base64url.
    pub fn sign(&self, ticket: &Ticket) -> String {
        let payload = b64().encode(serde_json::to_vec(ticket).unwrap_or_default());
        let mut mac = self.signer();
        mac.update(payload.as_bytes());
        let sig = b64().encode(mac.finalize().into_bytes());
        format!("{payload}.{sig}")
    }

    /// The ticket behind `token`, if it is ours, of `kind`, and not expired.
    pub fn verify(&self, token: &str, kind: Kind, now: i64) -> Option<Ticket> {
        if token.len() > 2048 {
            return None;
        }
        let (payload, sig) = token.split_once('.')?;
        let sig = b64().decode(sig).ok()?;
        let mut mac = self.signer();
        mac.update(payload.as_bytes());
        mac.verify_slice(&sig).ok()?;
        let ticket: Ticket = serde_json::from_slice(&b64().decode(payload).ok()?).ok()?;
        (ticket.kind == kind && ticket.expires > now).then_some(ticket)
    }
}

/// A new HLS session id (22 URL-safe characters, 128 bits).
pub fn new_session_id() -> String {
    let mut bytes = [0u8; 16];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    b64().encode(bytes)
}

/// The fingerprint of a password hash kept in tickets (not the hash itself).
pub fn key_print(password_hash: &str) -> String {
    crate::session::token_hash(password_hash)[..16].to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ticket() -> Ticket {
        Ticket {
            kind: Kind::Playlist,
            user: "alice".into(),
            key_print: "abcd".into(),
            target: Target::Channel(7),
            ip: "10.0.0.2".into(),
            session: new_session_id(),
            expires: 2_000,
        }
    }

    #[test]
    fn a_signed_ticket_verifies_and_carries_no_password() {
        let key = TicketKey::default();
        let t = ticket();
        let token = key.sign(&t);
        assert_eq!(key.verify(&token, Kind::Playlist, 1_000), Some(t));
        assert!(!token.contains('/') && !token.contains('?'));
    }

    #[test]
    fn forged_expired_foreign_or_wrong_kind_tickets_are_refused() {
        let key = TicketKey::default();
        let token = key.sign(&ticket());
        assert_eq!(key.verify(&token, Kind::Playlist, 2_000), None, "expired");
        assert_eq!(key.verify(&token, Kind::Segment, 1_000), None, "kind");
        assert_eq!(
            TicketKey::default().verify(&token, Kind::Playlist, 1_000),
            None
        );
        let (payload, sig) = token.split_once('.').unwrap();
        let mut forged = ticket();
        forged.user = "admin".into();
        let forged_payload = b64().encode(serde_json::to_vec(&forged).unwrap());
        assert_ne!(payload, forged_payload);
        assert_eq!(
            key.verify(&format!("{forged_payload}.{sig}"), Kind::Playlist, 1_000),
            None
        );
        assert_eq!(key.verify("garbage", Kind::Playlist, 1_000), None);
        assert_eq!(key.verify("a.b.c", Kind::Playlist, 1_000), None);
    }
}
