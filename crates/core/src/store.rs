//! The SQLite store: a small pool of connections in WAL mode, foreign keys on,
//! migrations embedded in the binary and applied at open.
//!
//! Every transaction that writes begins with [`immediate`] (`BEGIN IMMEDIATE`, in
//! this process's queue of writers, see [`write`]): a deferred transaction that
//! reads and then writes is refused at once while another connection writes.
//!
//! rusqlite is blocking, so async callers go through [`Store::run`], which moves the
//! query onto tokio's blocking pool: a slow query never stalls a worker that is
//! moving stream bytes.

pub mod archive;
pub mod channels;
pub mod lineup;
pub mod links;
pub mod sources;
pub mod users;
pub mod write;

pub use write::{WriteTx, immediate};

use std::path::{Path, PathBuf};
use std::time::Duration;

use r2d2_sqlite::SqliteConnectionManager;
use rusqlite::{Connection, ErrorCode, OpenFlags};
use rusqlite_migration::{M, Migrations};

/// Everything that can go wrong with the database, each with one clear line.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The file exists but is not an SQLite database.
    #[error("{0} is not an SQLite database")]
    NotSqlite(PathBuf),
    /// The file or its directory cannot be written.
    #[error("database {0} is read-only")]
    ReadOnly(PathBuf),
    /// The file cannot be opened or created at all.
    #[error("cannot open database {path}: {reason}")]
    Open {
        /// The database path.
        path: PathBuf,
        /// Why, in one line.
        reason: String,
    },
    /// The schema could not be brought up to date.
    #[error("cannot migrate database {path}: {reason}")]
    Migration {
        /// The database path.
        path: PathBuf,
        /// Why, in one line.
        reason: String,
    },
    /// A value breaks a rule; the message names the field.
    #[error("{0}")]
    Invalid(String),
    /// A row that must be unique already exists.
    #[error("{0}")]
    Conflict(String),
    /// The row asked for does not exist.
    #[error("{0} not found")]
    NotFound(String),
    /// The disk is full: nothing was written.
    #[error("the disk holding the database is full")]
    DiskFull,
    /// Any other SQLite error.
    #[error("database error: {0}")]
    Sqlite(rusqlite::Error),
    /// No connection became free in time.
    #[error("database unavailable: {0}")]
    Pool(#[from] r2d2::Error),
    /// The blocking task running the query died.
    #[error("database task failed: {0}")]
    Task(String),
}

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        match e.sqlite_error_code() {
            Some(ErrorCode::DiskFull) => StoreError::DiskFull,
            _ => StoreError::Sqlite(e),
        }
    }
}

/// Result of a store operation.
pub type StoreResult<T> = Result<T, StoreError>;

/// A pooled handle on the database; cheap to clone.
#[derive(Clone)]
pub struct Store {
    pool: r2d2::Pool<SqliteConnectionManager>,
    path: PathBuf,
}

/// Connections in the pool: readers run in parallel under WAL, writers queue (see
/// [`write`]) and then meet on SQLite's own lock (busy_timeout), so a handful is
/// plenty for one process.
const POOL_SIZE: u32 = 8;

/// How long a writer waits for another writer before failing with "busy": long
/// enough for a CLI command and the daemon to share the file safely.
pub(crate) const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

fn migrations() -> Migrations<'static> {
    Migrations::new(vec![
        M::up(include_str!("store/schema_v1.sql")),
        M::up(include_str!("store/schema_v2.sql")),
        M::up(include_str!("store/schema_v3.sql")),
        M::up(include_str!("store/schema_v4.sql")),
        // Rebuilds `channels`: checked for dangling references before it commits.
        M::up(include_str!("store/schema_v5.sql")).foreign_key_check(),
        M::up(include_str!("store/schema_v6.sql")),
        M::up(include_str!("store/schema_v7.sql")),
    ])
}

impl Store {
    /// Opens (creating it and its directory when missing) and migrates the database.
    /// Blocking: call it at start-up or from a blocking task.
    pub fn open(path: &Path) -> StoreResult<Store> {
        Self::open_with_flags(path, OpenFlags::default())
    }

    /// [`Store::open`] with explicit SQLite open flags (a read-only open, in tests).
    pub fn open_with_flags(path: &Path, flags: OpenFlags) -> StoreResult<Store> {
        let path = path.to_path_buf();
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty())
            && !dir.exists()
        {
            std::fs::create_dir_all(dir).map_err(|e| StoreError::Open {
                path: path.clone(),
                reason: format!("cannot create directory {}: {e}", dir.display()),
            })?;
        }
        if path.is_dir() {
            return Err(StoreError::Open {
                path,
                reason: "it is a directory".into(),
            });
        }
        let classify = {
            let path = path.clone();
            move |e: rusqlite::Error| classify_open_error(&path, e)
        };

        // Migrate on one dedicated connection first, so a bad file fails here with a
        // clear reason instead of inside the pool's retry loop.
        let mut conn = Connection::open_with_flags(&path, flags).map_err(&classify)?;
        configure(&conn).map_err(&classify)?;
        // Migrations that rebuild a table (SQLite's way to drop columns) drop the old
        // one: with foreign keys on, that would cascade-delete every row referring
        // to it. So they run with foreign keys off (a no-op inside a transaction,
        // hence here), and the references are checked before they are back on.
        conn.pragma_update(None, "foreign_keys", "OFF")
            .map_err(&classify)?;
        let version = |c: &Connection| -> rusqlite::Result<i64> {
            c.query_row("PRAGMA user_version", [], |r| r.get(0))
        };
        let before = version(&conn).map_err(&classify)?;
        migrations().to_latest(&mut conn).map_err(|e| match e {
            rusqlite_migration::Error::RusqliteError { err, .. } => classify(err),
            other => StoreError::Migration {
                path: path.clone(),
                reason: other.to_string(),
            },
        })?;
        // Only after a migration: the check reads every table (the guide's too).
        let dangling: i64 = if version(&conn).map_err(&classify)? == before {
            0
        } else {
            conn.query_row("SELECT count(*) FROM pragma_foreign_key_check", [], |r| {
                r.get(0)
            })
            .map_err(&classify)?
        };
        if dangling > 0 {
            return Err(StoreError::Migration {
                path,
                reason: format!("{dangling} rows refer to rows that do not exist"),
            });
        }
        conn.pragma_update(None, "foreign_keys", "ON")
            .map_err(&classify)?;
        drop(conn);

        let manager = SqliteConnectionManager::file(&path)
            .with_flags(flags)
            .with_init(|c| configure(c));
        let pool = r2d2::Pool::builder()
            .max_size(POOL_SIZE)
            .min_idle(Some(1))
            .connection_timeout(BUSY_TIMEOUT)
            .build(manager)?;
        Ok(Store { pool, path })
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Runs `f` with a pooled connection on the blocking pool.
    pub async fn run<T, F>(&self, f: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> StoreResult<T> + Send + 'static,
    {
        let pool = self.pool.clone();
        tokio::task::spawn_blocking(move || {
            let mut conn = pool.get()?;
            f(&mut conn)
        })
        .await
        .map_err(|e| StoreError::Task(e.to_string()))?
    }

    /// Runs `f` with a pooled connection on the current thread (CLI commands, which
    /// have no async workers to protect).
    pub fn run_blocking<T>(
        &self,
        f: impl FnOnce(&mut Connection) -> StoreResult<T>,
    ) -> StoreResult<T> {
        let mut conn = self.pool.get()?;
        f(&mut conn)
    }

    /// Checks that the database answers and its schema is present (`/health`).
    pub async fn ping(&self) -> StoreResult<()> {
        self.run(|c| {
            c.query_row("SELECT count(*) FROM users", [], |r| r.get::<_, i64>(0))?;
            Ok(())
        })
        .await
    }
}

/// Per-connection settings: WAL lets readers run beside a writer; foreign keys keep
/// channel/source links honest; NORMAL sync is durable across crashes of the process
/// (only an OS crash may lose the last commits, never corrupt the file).
fn configure(c: &Connection) -> rusqlite::Result<()> {
    c.busy_timeout(BUSY_TIMEOUT)?;
    c.execute_batch("PRAGMA foreign_keys = ON; PRAGMA synchronous = NORMAL;")?;
    // A read-only connection cannot switch to WAL; it reads whatever mode exists.
    let mode: String = c.query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))?;
    if !mode.eq_ignore_ascii_case("wal") && !c.is_readonly(rusqlite::DatabaseName::Main)? {
        tracing::warn!(%mode, "database did not switch to WAL mode");
    }
    Ok(())
}

fn classify_open_error(path: &Path, e: rusqlite::Error) -> StoreError {
    match e.sqlite_error_code() {
        Some(ErrorCode::NotADatabase) => StoreError::NotSqlite(path.to_path_buf()),
        Some(ErrorCode::ReadOnly) => StoreError::ReadOnly(path.to_path_buf()),
        Some(ErrorCode::DiskFull) => StoreError::DiskFull,
        _ => StoreError::Open {
            path: path.to_path_buf(),
            reason: e.to_string(),
        },
    }
}

/// Seconds since the Unix epoch, the unit of every time column.
pub fn now_epoch() -> i64 {
    jiff::Timestamp::now().as_second()
}

#[cfg(test)]
mod tests;
