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
    /// argon2id PHC string (bcrypt for an account moved over from the replaced
    /// system that has not logged in since).
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

/// Replaces the hash of account `id` only while it is still `old`, so a re-hash at
/// login never undoes a password change made meanwhile. Whether it replaced it.
pub fn replace_password_hash(c: &Connection, id: i64, old: &str, new: &str) -> StoreResult<bool> {
    Ok(c.execute(
        "UPDATE users SET password_hash = ?3 WHERE id = ?1 AND password_hash = ?2",
        params![id, old, new],
    )? > 0)
}

/// How many enabled admin accounts exist.
pub fn count_admins(c: &Connection) -> StoreResult<i64> {
    Ok(c.query_row(
        "SELECT count(*) FROM users WHERE is_admin = 1 AND enabled = 1",
        [],
        |r| r.get(0),
    )?)
}

/// Changes an admin asks for; `None` leaves a field alone.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UserEdit {
    /// New login name (validated by the caller).
    pub username: Option<String>,
    /// Enabled or disabled.
    pub enabled: Option<bool>,
    /// Admin rights.
    pub is_admin: Option<bool>,
    /// Trial account.
    pub is_trial: Option<bool>,
    /// Streams at once; 0 means unlimited.
    pub max_connections: Option<u32>,
    /// Expiry: `Some(None)` never expires.
    pub expires_at: Option<Option<i64>>,
    /// Free text.
    pub notes: Option<String>,
}

/// Whether `u` counts as an enabled admin (the accounts that can run the service).
fn keeps_service(u: &User) -> bool {
    u.is_admin && u.enabled
}

const LAST_ADMIN: &str = "this is the last enabled admin: enable or create another admin first";

/// Applies `edit` to the account `id` and returns it. Refuses ([`StoreError::Conflict`])
/// to disable or demote the last enabled admin, or to take a name in use. The check
/// and the write share one transaction, so two admins demoting each other at once
/// cannot both succeed.
pub fn update(c: &mut Connection, id: i64, edit: &UserEdit) -> StoreResult<User> {
    let tx = super::immediate(c)?;
    let before = by_id(&tx, id)?.ok_or_else(|| StoreError::NotFound(format!("user {id}")))?;
    let mut after = before.clone();
    if let Some(v) = &edit.username {
        after.username.clone_from(v);
    }
    if let Some(v) = edit.enabled {
        after.enabled = v;
    }
    if let Some(v) = edit.is_admin {
        after.is_admin = v;
    }
    if let Some(v) = edit.is_trial {
        after.is_trial = v;
    }
    if let Some(v) = edit.max_connections {
        after.max_connections = v;
    }
    if let Some(v) = edit.expires_at {
        after.expires_at = v;
    }
    if let Some(v) = &edit.notes {
        after.notes.clone_from(v);
    }
    if keeps_service(&before) && !keeps_service(&after) && count_admins(&tx)? <= 1 {
        return Err(StoreError::Conflict(LAST_ADMIN.into()));
    }
    let result = tx.execute(
        "UPDATE users SET username = ?2, enabled = ?3, is_admin = ?4, is_trial = ?5, \
         max_connections = ?6, expires_at = ?7, notes = ?8 WHERE id = ?1",
        params![
            id,
            after.username,
            after.enabled,
            after.is_admin,
            after.is_trial,
            after.max_connections,
            after.expires_at,
            after.notes
        ],
    );
    match result {
        Ok(_) => {}
        Err(e) if e.sqlite_error_code() == Some(rusqlite::ErrorCode::ConstraintViolation) => {
            return Err(StoreError::Conflict(format!(
                "user {} already exists",
                after.username
            )));
        }
        Err(e) => return Err(e.into()),
    }
    tx.commit()?;
    Ok(after)
}

/// Deletes the account `id` and returns what it was; refuses to delete the last
/// enabled admin (same transaction as the check).
pub fn delete_by_id(c: &mut Connection, id: i64) -> StoreResult<User> {
    let tx = super::immediate(c)?;
    let user = by_id(&tx, id)?.ok_or_else(|| StoreError::NotFound(format!("user {id}")))?;
    if keeps_service(&user) && count_admins(&tx)? <= 1 {
        return Err(StoreError::Conflict(LAST_ADMIN.into()));
    }
    tx.execute("DELETE FROM users WHERE id = ?1", [id])?;
    tx.commit()?;
    Ok(user)
}

/// How many accounts exist.
pub fn count(c: &Connection) -> StoreResult<i64> {
    Ok(c.query_row("SELECT count(*) FROM users", [], |r| r.get(0))?)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)] // a panic here is a failed test
    use super::*;

    fn user(name: &str, is_admin: bool) -> NewUser {
        NewUser {
            username: name.into(),
            password_hash: "x".into(),
            is_admin,
            ..NewUser::default()
        }
    }

    #[test]
    fn the_last_enabled_admin_cannot_be_demoted_disabled_or_deleted() {
        let dir = tempfile::tempdir().unwrap();
        let store = crate::Store::open(&dir.path().join("t.db")).unwrap();
        store
            .run_blocking(|c| {
                let a = insert(c, &user("a", true))?;
                let p = insert(c, &user("p", false))?;
                for edit in [
                    UserEdit {
                        enabled: Some(false),
                        ..UserEdit::default()
                    },
                    UserEdit {
                        is_admin: Some(false),
                        ..UserEdit::default()
                    },
                ] {
                    assert!(matches!(
                        update(c, a.id, &edit),
                        Err(StoreError::Conflict(_))
                    ));
                }
                assert!(matches!(
                    delete_by_id(c, a.id),
                    Err(StoreError::Conflict(_))
                ));
                let edit = UserEdit {
                    max_connections: Some(3),
                    expires_at: Some(Some(99)),
                    notes: Some("n".into()),
                    ..UserEdit::default()
                };
                let p2 = update(c, p.id, &edit)?;
                assert_eq!(
                    (p2.max_connections, p2.expires_at, p2.notes.as_str()),
                    (3, Some(99), "n")
                );
                let taken = UserEdit {
                    username: Some("a".into()),
                    ..UserEdit::default()
                };
                assert!(matches!(
                    update(c, p.id, &taken),
                    Err(StoreError::Conflict(_))
                ));
                // With a second admin, the first may go.
                update(
                    c,
                    p.id,
                    &UserEdit {
                        is_admin: Some(true),
                        ..UserEdit::default()
                    },
                )?;
                update(
                    c,
                    a.id,
                    &UserEdit {
                        enabled: Some(false),
                        ..UserEdit::default()
                    },
                )?;
                assert!(matches!(
                    delete_by_id(c, p.id),
                    Err(StoreError::Conflict(_))
                ));
                delete_by_id(c, a.id)?;
                assert_eq!(count(c)?, 1);
                Ok(())
            })
            .unwrap();
    }
}
