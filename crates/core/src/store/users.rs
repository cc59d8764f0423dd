//! The `users` table: Xtream players and admins alike.

use rusqlite::{Connection, OptionalExtension, Row, params};
use serde::Serialize;

use super::{StoreError, StoreResult, now_epoch};

/// An account, as stored. The password hash never leaves the core crate in JSON.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct User {
    /// Row id.
    pub id: i64,
    /// Login name (also part of Xtream stream URLs).
    pub username: String,
    /// argon2id PHC string.
    #[serde(skip)]
    pub password_hash: String,
    /// A disabled account cannot log in or play.
    pub enabled: bool,
    /// May use the dashboard and `/api/*`.
    pub is_admin: bool,
    /// Shown to players as `is_trial`.
    pub is_trial: bool,
    /// Streams the account may have open at once; 0 means unlimited.
    pub max_connections: u32,
    /// Epoch seconds after which the account is expired; `None` never expires.
    pub expires_at: Option<i64>,
    /// Epoch seconds of creation.
    pub created_at: i64,
    /// Free text for the admin.
    pub notes: String,
}

impl User {
    /// Whether the account's expiry has passed at `now` (epoch seconds).
    pub fn is_expired(&self, now: i64) -> bool {
        self.expires_at.is_some_and(|t| t <= now)
    }
}

/// The fields of a new account.
#[derive(Debug, Clone, Default)]
pub struct NewUser {
    /// Login name.
    pub username: String,
    /// argon2id PHC string.
    pub password_hash: String,
    /// May use the dashboard and `/api/*`.
    pub is_admin: bool,
    /// Trial account.
    pub is_trial: bool,
    /// Streams at once; 0 means unlimited.
    pub max_connections: u32,
    /// Expiry in epoch seconds.
    pub expires_at: Option<i64>,
    /// Free text.
    pub notes: String,
}

const COLUMNS: &str = "id, username, password_hash, enabled, is_admin, is_trial, \
                       max_connections, expires_at, created_at, notes";

fn from_row(r: &Row<'_>) -> rusqlite::Result<User> {
    Ok(User {
        id: r.get(0)?,
        username: r.get(1)?,
        password_hash: r.get(2)?,
        enabled: r.get(3)?,
        is_admin: r.get(4)?,
        is_trial: r.get(5)?,
        max_connections: r.get(6)?,
        expires_at: r.get(7)?,
        created_at: r.get(8)?,
        notes: r.get(9)?,
    })
}

/// Inserts an account; a taken name is a [`StoreError::Conflict`].
pub fn insert(c: &Connection, u: &NewUser) -> StoreResult<User> {
    let result = c.execute(
        "INSERT INTO users (username, password_hash, is_admin, is_trial, max_connections, \
         expires_at, created_at, notes) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        params![
            u.username,
            u.password_hash,
            u.is_admin,
            u.is_trial,
            u.max_connections,
            u.expires_at,
            now_epoch(),
            u.notes
        ],
    );
    match result {
        Ok(_) => by_id(c, c.last_insert_rowid())?
            .ok_or_else(|| StoreError::NotFound(format!("user {}", u.username))),
        Err(e) if e.sqlite_error_code() == Some(rusqlite::ErrorCode::ConstraintViolation) => Err(
            StoreError::Conflict(format!("user {} already exists", u.username)),
        ),
        Err(e) => Err(e.into()),
    }
}

/// The account with this row id.
pub fn by_id(c: &Connection, id: i64) -> StoreResult<Option<User>> {
    Ok(c.query_row(
        &format!("SELECT {COLUMNS} FROM users WHERE id = ?1"),
        [id],
        from_row,
    )
    .optional()?)
}

/// The account with this exact name.
pub fn by_name(c: &Connection, username: &str) -> StoreResult<Option<User>> {
    Ok(c.query_row(
        &format!("SELECT {COLUMNS} FROM users WHERE username = ?1"),
        [username],
        from_row,
    )
    .optional()?)
}

/// Every account, by name.
pub fn list(c: &Connection) -> StoreResult<Vec<User>> {
    let mut st = c.prepare(&format!("SELECT {COLUMNS} FROM users ORDER BY username"))?;
    let rows = st.query_map([], from_row)?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Deletes an account by name; a missing name is [`StoreError::NotFound`].
pub fn delete(c: &Connection, username: &str) -> StoreResult<()> {
    match c.execute("DELETE FROM users WHERE username = ?1", [username])? {
        0 => Err(StoreError::NotFound(format!("user {username}"))),
        _ => Ok(()),
    }
}

/// Replaces an account's password hash.
pub fn set_password_hash(c: &Connection, username: &str, hash: &str) -> StoreResult<()> {
    match c.execute(
        "UPDATE users SET password_hash = ?2 WHERE username = ?1",
        params![username, hash],
    )? {
        0 => Err(StoreError::NotFound(format!("user {username}"))),
        _ => Ok(()),
    }
}

/// How many enabled admin accounts exist.
pub fn count_admins(c: &Connection) -> StoreResult<i64> {
    Ok(c.query_row(
        "SELECT count(*) FROM users WHERE is_admin = 1 AND enabled = 1",
        [],
        |r| r.get(0),
    )?)
}
