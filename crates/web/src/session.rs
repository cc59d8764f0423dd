//! Dashboard login sessions: a random token in an `HttpOnly`, `SameSite=Strict`
//! cookie, stored server-side only as a BLAKE2b digest, with a per-session CSRF
//! token for state-changing requests.
//!
//! Choices, and why:
//! - **Absolute expiry** ([`SESSION_TTL`], 12 h from login, never extended): the
//!   live pages poll every few seconds, so a sliding expiry would keep a forgotten
//!   browser tab logged in forever.
//! - **Only a digest of the token is stored**: a copy of the database (a backup, a
//!   read-only leak) does not let anyone ride an open session. The token has 256
//!   bits of entropy, so a fast unsalted hash is enough (no guessing is possible).
//! - **The CSRF token is stored in clear**: it is not a credential on its own (it
//!   is useless without the cookie) and it must be handed to the page.
//! - **Expired rows are deleted** when met, and in a sweep at most every
//!   [`SWEEP_EVERY`] seconds piggy-backed on a session check (one indexed `DELETE`),
//!   so no background task is needed.
//! - Every check re-reads the account: disabling, demoting or expiring an admin
//!   ends their sessions at once.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use acextream_core::store::users::User;
use acextream_core::store::{Store, StoreResult, now_epoch};
use actix_web::HttpRequest;
use actix_web::cookie::{Cookie, SameSite};
use base64::Engine as _;
use blake2::Digest as _;
use rand::RngCore as _;
use rusqlite::{OptionalExtension, params};

use acextream_core::Settings;

/// The session cookie's name.
pub const COOKIE: &str = "acx_session";
/// How long a session lasts from login (absolute, not sliding).
pub const SESSION_TTL: Duration = Duration::from_secs(12 * 3600);
/// Seconds between two sweeps of expired sessions.
pub const SWEEP_EVERY: i64 = 600;

/// An open, valid session.
#[derive(Debug, Clone)]
pub struct Session {
    /// The admin it belongs to (re-read on every request).
    pub user: User,
    /// The token that state-changing requests must echo in `X-CSRF-Token`.
    pub csrf: String,
    /// Epoch seconds when it ends.
    pub expires_at: i64,
    /// The digest of the cookie token (identifies the row).
    pub token_hash: String,
}

/// A row of the admin's open sessions (for the dashboard's session list).
#[derive(Debug, Clone, serde::Serialize)]
pub struct SessionInfo {
    /// Epoch seconds of login.
    pub created_at: i64,
    /// Epoch seconds of expiry.
    pub expires_at: i64,
    /// Address it logged in from.
    pub ip: String,
    /// Browser it logged in with (untrusted text: escaped when shown).
    pub user_agent: String,
    /// Whether it is the session making this request.
    pub current: bool,
}

/// The session service: a handle on the store plus the time of the last sweep.
#[derive(Clone, Default)]
pub struct Sessions {
    last_sweep: Arc<AtomicI64>,
}

/// A fresh 32-byte random value, base64url without padding (43 characters).
pub fn random_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// The digest stored for a cookie token (hex BLAKE2b-256).
pub fn token_hash(token: &str) -> String {
    let digest = blake2::Blake2b::<blake2::digest::consts::U32>::digest(token.as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// Whether `a` equals `b`, in time independent of where they differ.
pub fn same_secret(a: &str, b: &str) -> bool {
    use subtle::ConstantTimeEq as _;
    a.len() == b.len() && bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

/// Whether the browser reached us over https: the connection itself, or
/// `X-Forwarded-Proto` when `server.trust_forwarded_headers` says a proxy sets it.
/// (`server.public_url` is not used: an admin may also browse the LAN address.)
pub fn request_is_https(req: &HttpRequest, settings: &Settings) -> bool {
    if req.app_config().secure() {
        return true;
    }
    settings.server.trust_forwarded_headers
        && req
            .headers()
            .get("x-forwarded-proto")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(',').next())
            .is_some_and(|p| p.trim().eq_ignore_ascii_case("https"))
}

/// A cookie with the attributes every dashboard cookie shares.
pub fn cookie<'a>(name: &'a str, value: String, path: &'a str, secure: bool) -> Cookie<'a> {
    Cookie::build(name, value)
        .http_only(true)
        .same_site(SameSite::Strict)
        .path(path)
        .secure(secure)
        .finish()
}

/// The cookie that ends a session in the browser.
pub fn removal(name: &str, path: &str, secure: bool) -> Cookie<'static> {
    let mut c = cookie(name, String::new(), path, secure).into_owned();
    c.make_removal();
    c
}

impl Sessions {
    /// Opens a session for `user`; returns the cookie token (never stored) and the
    /// CSRF token. Expired sessions are swept on the way.
    pub async fn open(
        &self,
        store: &Store,
        user: &User,
        ip: &str,
        user_agent: &str,
    ) -> StoreResult<(String, String)> {
        let token = random_token();
        let csrf = random_token();
        let (hash, csrf2, user_id) = (token_hash(&token), csrf.clone(), user.id);
        // Long user agents are cut: they are only shown in the session list.
        let (ip, ua) = (
            ip.to_owned(),
            user_agent.chars().take(300).collect::<String>(),
        );
        let ttl = SESSION_TTL.as_secs() as i64;
        store
            .run(move |c| {
                let now = now_epoch();
                c.execute("DELETE FROM sessions WHERE expires_at <= ?1", [now])?;
                c.execute(
                    "INSERT INTO sessions (token_hash, user_id, csrf_token, created_at, \
                     expires_at, ip, user_agent) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                    params![hash, user_id, csrf2, now, now + ttl, ip, ua],
                )?;
                Ok(())
            })
            .await?;
        self.last_sweep.store(now_epoch(), Ordering::Relaxed);
        Ok((token, csrf))
    }

    /// The valid session behind a cookie token, if any. A session whose account is
    /// no longer an enabled, unexpired admin is refused (and its row kept until it
    /// expires, so re-enabling the admin does not resurrect it: it is deleted).
    pub async fn check(&self, store: &Store, token: &str) -> StoreResult<Option<Session>> {
        if token.is_empty() || token.len() > 100 {
            return Ok(None);
        }
        let hash = token_hash(token);
        let now = now_epoch();
        let last = self.last_sweep.load(Ordering::Relaxed);
        let sweep = now - last >= SWEEP_EVERY
            && self
                .last_sweep
                .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok();
        store
            .run(move |c| {
                if sweep {
                    c.execute("DELETE FROM sessions WHERE expires_at <= ?1", [now])?;
                }
                let row = c
                    .query_row(
                        "SELECT user_id, csrf_token, expires_at FROM sessions WHERE token_hash = ?1",
                        [&hash],
                        |r| Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?, r.get::<_, i64>(2)?)),
                    )
                    .optional()?;
                let Some((user_id, csrf, expires_at)) = row else {
                    return Ok(None);
                };
                let user = acextream_core::store::users::by_id(c, user_id)?;
                match user {
                    Some(u) if expires_at > now && u.enabled && u.is_admin && !u.is_expired(now) => {
                        Ok(Some(Session { user: u, csrf, expires_at, token_hash: hash }))
                    }
                    _ => {
                        c.execute("DELETE FROM sessions WHERE token_hash = ?1", [&hash])?;
                        Ok(None)
                    }
                }
            })
            .await
    }

    /// Ends the session behind `token_hash`.
    pub async fn close(&self, store: &Store, token_hash: String) -> StoreResult<()> {
        store
            .run(move |c| {
                c.execute("DELETE FROM sessions WHERE token_hash = ?1", [token_hash])?;
                Ok(())
            })
            .await
    }

    /// The open sessions of `user_id`, newest first.
    pub async fn list(
        &self,
        store: &Store,
        user_id: i64,
        current_hash: String,
    ) -> StoreResult<Vec<SessionInfo>> {
        store
            .run(move |c| {
                let mut st = c.prepare(
                    "SELECT token_hash, created_at, expires_at, ip, user_agent FROM sessions \
                     WHERE user_id = ?1 AND expires_at > ?2 ORDER BY created_at DESC LIMIT 50",
                )?;
                let rows = st.query_map(params![user_id, now_epoch()], |r| {
                    Ok(SessionInfo {
                        current: r.get::<_, String>(0)? == current_hash,
                        created_at: r.get(1)?,
                        expires_at: r.get(2)?,
                        ip: r.get(3)?,
                        user_agent: r.get(4)?,
                    })
                })?;
                Ok(rows.collect::<Result<_, _>>()?)
            })
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_random_and_only_their_digest_is_kept() {
        let (a, b) = (random_token(), random_token());
        assert_ne!(a, b);
        assert_eq!(a.len(), 43);
        let h = token_hash(&a);
        assert_eq!(h.len(), 64);
        assert!(!h.contains(&a));
        assert_eq!(h, token_hash(&a));
    }

    #[test]
    fn secrets_compare_exactly() {
        assert!(same_secret("abc", "abc"));
        assert!(!same_secret("abc", "abd"));
        assert!(!same_secret("abc", "abcd"));
    }
}
