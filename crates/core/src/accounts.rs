//! Accounts: argon2id password hashing, credential checks with a short-lived cache,
//! and the bootstrap admin.
//!
//! Accounts moved over from the replaced system keep their bcrypt hash until their
//! first successful login, which re-hashes the password with argon2id
//! ([`legacy`]).
//!
//! Xtream players send their password on nearly every request, and argon2id is
//! deliberately slow (tens of milliseconds), so a successful check is remembered for
//! [`CACHE_TTL`]. The cache holds a keyed BLAKE2 digest of the password, never the
//! password itself, and every change made through [`Accounts`] drops the entry at
//! once. A change made by another process (the CLI next to a running daemon) takes
//! effect within [`CACHE_TTL`].

use std::time::Duration;

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use blake2::digest::Mac;
use rand::Rng;
use rand::distributions::Alphanumeric;

mod legacy;

pub use legacy::{MAX_BCRYPT_COST, check_legacy_hash, is_legacy_hash};

use crate::settings::AdminSettings;
use crate::store::users::{self, NewUser, User};
use crate::store::{Store, StoreError, now_epoch};

/// How long a verified password is trusted without re-hashing.
pub const CACHE_TTL: Duration = Duration::from_secs(30);
/// At most this many accounts are cached; beyond it the least used are evicted.
const CACHE_CAPACITY: u64 = 10_000;
/// Latest expiry accepted (9999-12-31T23:59:59Z, epoch seconds): beyond it no date
/// can be shown for it, and an absurd value must not read as "never expires".
pub const MAX_EXPIRES_AT: i64 = 253_402_300_799;

/// Why an account operation failed.
#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    /// The input breaks a rule; the message says which.
    #[error("{0}")]
    Invalid(String),
    /// The database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Hashing failed (out of memory, in practice).
    #[error("password hashing failed: {0}")]
    Hash(String),
}

/// The result of checking credentials.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Login {
    /// Right password, enabled, not expired.
    Active(User),
    /// Right password, but the account is disabled.
    Disabled(User),
    /// Right password, but the account has expired.
    Expired(User),
    /// Unknown user or wrong password (never said which).
    Denied,
}

impl Login {
    /// The account when it may be used now.
    pub fn active(self) -> Option<User> {
        match self {
            Login::Active(u) => Some(u),
            _ => None,
        }
    }
}

/// What an admin asks for when creating an account.
#[derive(Debug, Clone, Default)]
pub struct AccountSpec {
    /// Login name.
    pub username: String,
    /// Plain password (hashed before storing).
    pub password: String,
    /// Admin rights.
    pub is_admin: bool,
    /// Trial account.
    pub is_trial: bool,
    /// Streams at once; 0 = unlimited.
    pub max_connections: u32,
    /// Expiry, epoch seconds.
    pub expires_at: Option<i64>,
    /// Free text.
    pub notes: String,
}

#[derive(Clone)]
struct CachedLogin {
    digest: [u8; 32],
    user: User,
}

/// The account service, shared by the web side and the CLI.
#[derive(Clone)]
pub struct Accounts {
    store: Store,
    cache: moka::sync::Cache<String, CachedLogin>,
    /// Per-process key of the cache digests, so a memory dump reveals nothing usable.
    cache_key: [u8; 32],
}

impl Accounts {
    /// A service over `store`.
    pub fn new(store: Store) -> Self {
        let cache = moka::sync::Cache::builder()
            .max_capacity(CACHE_CAPACITY)
            .time_to_live(CACHE_TTL)
            .build();
        Self {
            store,
            cache,
            cache_key: rand::thread_rng().r#gen(),
        }
    }

    /// The underlying store.
    pub fn store(&self) -> &Store {
        &self.store
    }

    fn digest(&self, password: &str) -> [u8; 32] {
        // Blake2sMac256 accepts any key up to 32 bytes, so this cannot fail.
        let mut mac = <blake2::Blake2sMac256 as Mac>::new_from_slice(&self.cache_key)
            .unwrap_or_else(|_| unreachable!("a 32-byte key is valid"));
        mac.update(password.as_bytes());
        mac.finalize().into_bytes().into()
    }

    /// Checks credentials and the account's state.
    pub async fn login(&self, username: &str, password: &str) -> Result<Login, AccountError> {
        let user = match self.verify(username, password).await? {
            Some(u) => u,
            None => return Ok(Login::Denied),
        };
        Ok(if !user.enabled {
            Login::Disabled(user)
        } else if user.is_expired(now_epoch()) {
            Login::Expired(user)
        } else {
            Login::Active(user)
        })
    }

    /// The account if the password is right, whatever its state.
    ///
    /// Runs on the blocking pool. Concurrent first logins of one user (a player
    /// opening ten channels at once) share a single argon2 verification through the
    /// cache's `try_get_with`, instead of each burning tens of milliseconds of CPU.
    async fn verify(&self, username: &str, password: &str) -> Result<Option<User>, AccountError> {
        if username.is_empty() || password.is_empty() || username.len() > 256 {
            return Ok(None);
        }
        let digest = self.digest(password);
        if let Some(hit) = self.cache.get(username)
            && hit.digest == digest
        {
            return Ok(Some(hit.user));
        }
        let (this, name, password) = (self.clone(), username.to_owned(), password.to_owned());
        tokio::task::spawn_blocking(move || this.verify_blocking(&name, &password, digest))
            .await
            .map_err(|e| AccountError::Store(StoreError::Task(e.to_string())))?
    }

    fn verify_blocking(
        &self,
        username: &str,
        password: &str,
        digest: [u8; 32],
    ) -> Result<Option<User>, AccountError> {
        let check = || -> Result<Option<User>, StoreError> {
            let Some(user) = self.store.run_blocking(|c| users::by_name(c, username))? else {
                // Spend the same time as a real check, so timing does not tell
                // which user names exist.
                let _ = verify_password(&DUMMY_HASH, password);
                return Ok(None);
            };
            if !verify_password(&user.password_hash, password) {
                return Ok(None);
            }
            Ok(Some(if is_legacy_hash(&user.password_hash) {
                self.upgrade_hash(user, password)
            } else {
                user
            }))
        };
        let shared = self
            .cache
            .try_get_with(username.to_owned(), || match check() {
                Ok(Some(user)) => Ok(CachedLogin { digest, user }),
                Ok(None) => Err(None),
                Err(e) => Err(Some(e.to_string())),
            });
        match shared {
            Ok(entry) if entry.digest == digest => Ok(Some(entry.user)),
            // Another password was verified for this name meanwhile: check ours alone.
            Ok(_) => Ok(check()?),
            Err(e) => match e.as_ref() {
                None => Ok(None),
                Some(msg) => Err(AccountError::Store(StoreError::Task(msg.clone()))),
            },
        }
    }

    /// Replaces the bcrypt hash of `user` (whose password was just verified) with an
    /// argon2id one. A failure only means the next login re-hashes again, so it is
    /// logged and the login goes on.
    fn upgrade_hash(&self, mut user: User, password: &str) -> User {
        let new = match hash_password(password) {
            Ok(h) => h,
            Err(e) => {
                tracing::warn!(user = %user.username, error = %e, "re-hashing a bcrypt password failed");
                return user;
            }
        };
        let (id, old) = (user.id, user.password_hash.clone());
        match self
            .store
            .run_blocking(|c| users::replace_password_hash(c, id, &old, &new))
        {
            Ok(true) => {
                tracing::info!(user = %user.username, "bcrypt password hash replaced by argon2id");
                user.password_hash = new;
            }
            // The password changed meanwhile: that change wins.
            Ok(false) => {}
            Err(e) => {
                tracing::warn!(user = %user.username, error = %e, "storing the re-hashed password failed")
            }
        }
        user
    }

    /// Creates an account after validating its name and password.
    pub async fn create(&self, spec: AccountSpec) -> Result<User, AccountError> {
        validate_username(&spec.username)?;
        validate_password(&spec.password)?;
        if let Some(t) = spec.expires_at {
            validate_expiry(t)?;
        }
        let store = self.store.clone();
        let user = tokio::task::spawn_blocking(move || {
            let hash = hash_password(&spec.password)?;
            let new = NewUser {
                username: spec.username,
                password_hash: hash,
                is_admin: spec.is_admin,
                is_trial: spec.is_trial,
                max_connections: spec.max_connections,
                expires_at: spec.expires_at,
                notes: spec.notes,
            };
            store
                .run_blocking(|c| users::insert(c, &new))
                .map_err(AccountError::from)
        })
        .await
        .map_err(|e| AccountError::Hash(e.to_string()))??;
        self.cache.invalidate(&user.username);
        Ok(user)
    }

    /// Sets a new password; the old one stops working at once in this process.
    pub async fn set_password(&self, username: &str, password: &str) -> Result<(), AccountError> {
        validate_password(password)?;
        let (name, password) = (username.to_owned(), password.to_owned());
        let store = self.store.clone();
        tokio::task::spawn_blocking(move || {
            let hash = hash_password(&password)?;
            store
                .run_blocking(|c| users::set_password_hash(c, &name, &hash))
                .map_err(AccountError::from)
        })
        .await
        .map_err(|e| AccountError::Hash(e.to_string()))??;
        self.cache.invalidate(username);
        Ok(())
    }

    /// Removes an account.
    pub async fn remove(&self, username: &str) -> Result<(), AccountError> {
        let name = username.to_owned();
        self.store.run(move |c| users::delete(c, &name)).await?;
        self.cache.invalidate(username);
        Ok(())
    }

    /// Drops any cached verification of `username` (after an edit elsewhere).
    pub fn forget(&self, username: &str) {
        self.cache.invalidate(username);
    }

    /// Every account.
    pub async fn list(&self) -> Result<Vec<User>, AccountError> {
        Ok(self.store.run(|c| users::list(c)).await?)
    }

    /// Creates the bootstrap admin when no enabled admin exists. When one does (a
    /// restart, or a database moved over with `acextream migrate`), nothing is
    /// created and `admin.password` has no effect: the answer says which admins
    /// exist, so the caller can say so.
    pub async fn ensure_bootstrap_admin(
        &self,
        admin: &AdminSettings,
    ) -> Result<Bootstrap, AccountError> {
        let admins: Vec<String> = self
            .list()
            .await?
            .into_iter()
            .filter(|u| u.is_admin && u.enabled)
            .map(|u| u.username)
            .collect();
        if !admins.is_empty() {
            return Ok(Bootstrap::Existing { admins });
        }
        let (password, generated) = match &admin.password {
            Some(p) => (p.expose().to_owned(), false),
            None => (generate_password(), true),
        };
        let name = admin.username.clone();
        let existing = self.store.run(move |c| users::by_name(c, &name)).await?;
        if existing.is_some() {
            // A disabled or demoted account holds the name: do not touch it, just say so.
            return Err(AccountError::Invalid(format!(
                "no enabled admin exists and the name {} is taken by a non-admin or \
                 disabled account; fix it with `acextream user add` under another name",
                admin.username
            )));
        }
        self.create(AccountSpec {
            username: admin.username.clone(),
            password: password.clone(),
            is_admin: true,
            max_connections: 0,
            notes: "bootstrap admin".into(),
            ..AccountSpec::default()
        })
        .await?;
        Ok(Bootstrap::Created(BootstrapAdmin {
            username: admin.username.clone(),
            generated_password: generated.then_some(password),
        }))
    }
}

/// What [`Accounts::ensure_bootstrap_admin`] did.
#[derive(Debug)]
pub enum Bootstrap {
    /// No enabled admin existed: this one was created.
    Created(BootstrapAdmin),
    /// Enabled admins exist (their names, sorted): none was created.
    Existing {
        /// The enabled admins.
        admins: Vec<String>,
    },
}

/// The admin created at first start.
#[derive(Debug)]
pub struct BootstrapAdmin {
    /// Its name.
    pub username: String,
    /// The password, when acextream made it up (shown once, never stored in clear).
    pub generated_password: Option<String>,
}

/// A real argon2id hash of a random string, verified against when the user does not
/// exist so that both paths cost the same.
static DUMMY_HASH: std::sync::LazyLock<String> =
    std::sync::LazyLock::new(|| hash_password(&generate_password()).unwrap_or_default());

/// Hashes a password with argon2id and a random salt (PHC string).
pub fn hash_password(password: &str) -> Result<String, AccountError> {
    let salt = SaltString::generate(&mut rand::rngs::OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| AccountError::Hash(e.to_string()))
}

/// Whether `password` matches `hash`: an argon2id PHC string, or a bcrypt hash
/// moved over from the replaced system. A malformed hash never matches.
pub fn verify_password(hash: &str, password: &str) -> bool {
    if is_legacy_hash(hash) {
        return legacy::verify(hash, password);
    }
    PasswordHash::new(hash)
        .map(|h| {
            Argon2::default()
                .verify_password(password.as_bytes(), &h)
                .is_ok()
        })
        .unwrap_or(false)
}

/// A random 20-character alphanumeric password.
pub fn generate_password() -> String {
    rand::thread_rng()
        .sample_iter(&Alphanumeric)
        .take(20)
        .map(char::from)
        .collect()
}

/// Characters that break the URLs credentials travel in (`/live/u/p/1.ts`,
/// `get.php?username=u&password=p`) or the M3U/HTML they are written into.
const FORBIDDEN: &[char] = &['/', '?', '#', '%', '&', '"', '\\', '<', '>', ':', '+', '='];

fn check_token(what: &str, value: &str, max: usize) -> Result<(), AccountError> {
    if value.is_empty() {
        return Err(AccountError::Invalid(format!("{what} must not be empty")));
    }
    if value.chars().count() > max {
        return Err(AccountError::Invalid(format!(
            "{what} is longer than {max} characters"
        )));
    }
    if let Some(c) = value
        .chars()
        .find(|c| c.is_whitespace() || c.is_control() || FORBIDDEN.contains(c))
    {
        return Err(AccountError::Invalid(format!(
            "{what} must not contain {c:?} (no spaces and none of / ? # % & \" \\ < > : + =)"
        )));
    }
    Ok(())
}

/// First path segments of the public side's own routes. They cannot be user names:
/// the legacy stream URL `/{user}/{password}/{id}` would shadow those routes, so the
/// router, the log redaction and the account rules all read this one list.
pub const RESERVED_SEGMENTS: &[&str] = &[
    "api",
    "dashboard",
    "static",
    "ace",
    "epg",
    "health",
    "metrics",
    "live",
    "movie",
    "series",
    "timeshift",
    "hls",
    "hdhr",
];

/// Rules for a user name.
pub fn validate_username(name: &str) -> Result<(), AccountError> {
    check_token("username", name, 64)?;
    if RESERVED_SEGMENTS.contains(&name) {
        return Err(AccountError::Invalid(format!(
            "username {name:?} is reserved"
        )));
    }
    Ok(())
}

/// Rules for an expiry (epoch seconds): from 1970 through 9999-12-31.
pub fn validate_expiry(expires_at: i64) -> Result<(), AccountError> {
    if (1..=MAX_EXPIRES_AT).contains(&expires_at) {
        Ok(())
    } else {
        Err(AccountError::Invalid(
            "expiry must be between 1970-01-01 and 9999-12-31".into(),
        ))
    }
}

/// Rules for a password.
pub fn validate_password(password: &str) -> Result<(), AccountError> {
    check_token("password", password, 128)
}

#[cfg(test)]
mod tests;
