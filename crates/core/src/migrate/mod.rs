//! `acextream migrate`: moving over from the replaced system (shared docs
//! MIGRATION.md). Its SQLite file is read read-only; users, categories, channels,
//! playlist and guide sources and the settings with a counterpart are imported in
//! one transaction, so a failure leaves the acextream database as it was. Rows
//! already here are left alone, so a second run imports nothing; hostile rows are
//! skipped with a reason. Nothing is refreshed: `serve` does that.

mod legacy;
mod mapping;
mod plan;
mod summary;
mod write;

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use futures_util::StreamExt;
use jiff::tz::TimeZone;
use rusqlite::{Connection, OpenFlags};

pub use mapping::{LegacyStream, expiry as legacy_expiry, stream as legacy_stream};
pub use summary::{Counts, Kind, Skipped, Summary};

use crate::engine::{ContentKey, EngineClient, EngineError};
use crate::store::{Store, StoreError, now_epoch};

/// Why a migration could not run at all (a bad row is skipped, never this).
#[derive(Debug, thiserror::Error)]
pub enum MigrateError {
    /// The old file is not there.
    #[error("{0} does not exist (the replaced system keeps data/unified-iptv.db)")]
    NotFound(PathBuf),
    /// The file is not the replaced system's database.
    #[error("{0}")]
    NotLegacy(String),
    /// The old file cannot be read.
    #[error("cannot read {path}: {reason}")]
    Legacy {
        /// The old file.
        path: PathBuf,
        /// Why, in one line.
        reason: String,
    },
    /// The old file is acextream's own database.
    #[error("{0} is the acextream database itself: give the replaced system's file")]
    SameFile(PathBuf),
    /// The acextream database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// How to migrate.
#[derive(Debug, Clone)]
pub struct Options {
    /// Report only; write nothing anywhere.
    pub dry_run: bool,
    /// `server.timezone`: what the old expiry instants' last days are in.
    pub time_zone: TimeZone,
    /// Ask this engine whether each bare 40-hex id is a content id or an infohash.
    pub engine: Option<EngineClient>,
}

/// Lookups in flight at once when asking the engine: it runs next to us and each
/// lookup may wait on the network, so a few in parallel, never hundreds.
const PROBE_CONCURRENCY: usize = 4;

/// Migrates the replaced system's file `from` into the acextream database `into`.
pub async fn migrate(from: &Path, into: &Path, opts: Options) -> Result<Summary, MigrateError> {
    if let (Ok(a), Ok(b)) = (std::fs::canonicalize(from), std::fs::canonicalize(into))
        && a == b
    {
        return Err(MigrateError::SameFile(from.to_path_buf()));
    }
    let path = from.to_path_buf();
    let db = tokio::task::spawn_blocking(move || legacy::read(&path))
        .await
        .map_err(|e| StoreError::Task(e.to_string()))??;
    let mut summary = Summary::new(
        from.display().to_string(),
        into.display().to_string(),
        opts.dry_run,
    );
    let (probed, probe_note) = match &opts.engine {
        Some(engine) => probe(engine, &db).await,
        None => (HashMap::new(), None),
    };
    summary.notes.extend(probe_note);
    let ctx = plan::Context {
        time_zone: opts.time_zone.clone(),
        probed,
        now: now_epoch(),
    };
    let into_path = into.to_path_buf();
    let dry_run = opts.dry_run;
    let plan = tokio::task::spawn_blocking(move || -> Result<plan::Plan, MigrateError> {
        if dry_run {
            return dry(&into_path, &db, &ctx, summary);
        }
        let store = Store::open(&into_path)?;
        Ok(store.run_blocking(|c| {
            // IMMEDIATE: what the plan read cannot change before it is written.
            let tx = crate::store::immediate(c)?;
            let plan = plan::plan(&tx, &db, &ctx, summary)?;
            write::write(&tx, &plan)?;
            tx.commit()?;
            Ok(plan)
        })?)
        .map(|mut plan| {
            plan.summary.notes.extend(unmapped_note(&db));
            plan
        })
    })
    .await
    .map_err(|e| StoreError::Task(e.to_string()))??;
    let mut summary = plan.summary;
    let asked = opts.engine.is_some();
    notes(
        &mut summary,
        &plan.admins,
        (plan.unsure_ids, asked),
        &plan.users,
    );
    Ok(summary)
}

/// The plan against the database as it is, opened read-only (or against an empty
/// one when there is none yet): nothing is created or written.
fn dry(
    into: &Path,
    db: &legacy::LegacyDb,
    ctx: &plan::Context,
    summary: Summary,
) -> Result<plan::Plan, MigrateError> {
    let mut plan = if into.is_file() {
        let conn = Connection::open_with_flags(
            into,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(StoreError::from)?;
        plan::plan(&conn, db, ctx, summary)?
    } else {
        let dir = tempfile::tempdir().map_err(|e| StoreError::Open {
            path: into.to_path_buf(),
            reason: format!("cannot make a scratch database: {e}"),
        })?;
        let scratch = Store::open(&dir.path().join("scratch.db"))?;
        scratch.run_blocking(|c| plan::plan(c, db, ctx, summary))?
    };
    plan.summary.notes.extend(unmapped_note(db));
    Ok(plan)
}

fn unmapped_note(db: &legacy::LegacyDb) -> Vec<String> {
    let mut notes = Vec::new();
    if !db.missing_tables.is_empty() {
        notes.push(format!(
            "tables not in the old file (nothing to import from them): {}",
            db.missing_tables.join(", ")
        ));
    }
    let unmapped = legacy::unmapped_values(db);
    notes.extend((!unmapped.is_empty()).then(|| {
        let list: Vec<String> = unmapped
            .iter()
            .map(|(col, n)| format!("{col} ({n})"))
            .collect();
        format!(
            "not carried over (acextream has no such field), rows with a value: {}",
            list.join(", ")
        )
    }));
    notes
}

fn notes(
    summary: &mut Summary,
    admins: &[String],
    (unsure, asked): (usize, bool),
    users: &[plan::NewAccount],
) {
    let bcrypt = users
        .iter()
        .filter(|u| crate::accounts::is_legacy_hash(&u.password_hash))
        .count();
    if bcrypt > 0 {
        summary.notes.push(format!(
            "{bcrypt} accounts keep their bcrypt password hash: the old passwords work, and \
             each is re-hashed with argon2id at its first successful login"
        ));
    }
    if unsure > 0 {
        let how = if asked {
            "the engine could load them as neither kind"
        } else {
            "migrate with --ask-engine to let the engine tell them apart"
        };
        summary.notes.push(format!(
            "{unsure} channels have a bare 40-hex acestream_id that may be an infohash: kept as \
             content ids ({how}; the availability check flags those that do not play)"
        ));
    }
    if !admins.is_empty() {
        summary.notes.push(format!(
            "admins exist ({}): `acextream serve` creates no bootstrap admin, so \
             ACEXTREAM_ADMIN__PASSWORD (admin.password) has no effect; log in as one of them",
            admins.join(", ")
        ));
    }
    summary.notes.push(
        "nothing was refreshed: `acextream serve` refreshes the sources and guides when it starts"
            .into(),
    );
}

/// Asks the engine about every bare 40-hex id: loadable as a content id → content
/// id; else loadable as an infohash → infohash; else left unsure. An unreachable
/// engine stops the questions (every id stays a content id) and says so.
async fn probe(
    engine: &EngineClient,
    db: &legacy::LegacyDb,
) -> (HashMap<String, ContentKey>, Option<String>) {
    let ids: Vec<String> = db
        .rows("channels")
        .iter()
        .filter_map(|r| {
            let id = mapping::text(r.get("acestream_id")).ok().flatten();
            let url = mapping::text(r.get("stream_url")).ok().flatten();
            let s = mapping::stream(id.as_deref(), url.as_deref()).ok()?;
            match s.stream {
                crate::sources::StreamRef::Ace { key } if s.unsure => Some(key.value().to_owned()),
                _ => None,
            }
        })
        .collect();
    if ids.is_empty() {
        return (HashMap::new(), None);
    }
    if let Err(e) = engine.version().await {
        return (
            HashMap::new(),
            Some(format!(
                "the engine at {} did not answer ({e}): 40-hex ids kept as content ids",
                engine.base()
            )),
        );
    }
    let answers: Vec<(String, Result<Option<ContentKey>, EngineError>)> =
        futures_util::stream::iter(ids)
            .map(|id| async move {
                let answer = ask(engine, &id).await;
                (id, answer)
            })
            .buffer_unordered(PROBE_CONCURRENCY)
            .collect()
            .await;
    let mut out = HashMap::new();
    let (mut infohashes, mut failed) = (0, 0);
    for (id, answer) in answers {
        match answer {
            Ok(Some(key)) => {
                if matches!(key, ContentKey::Infohash(_)) {
                    infohashes += 1;
                }
                out.insert(id, key);
            }
            Ok(None) => {}
            Err(_) => failed += 1,
        }
    }
    let mut note = format!(
        "the engine told {} ids apart ({infohashes} infohashes)",
        out.len()
    );
    if failed > 0 {
        note.push_str(&format!(
            "; {failed} lookups failed and those ids were kept as content ids"
        ));
    }
    (out, Some(note))
}

async fn ask(engine: &EngineClient, id: &str) -> Result<Option<ContentKey>, EngineError> {
    let content = ContentKey::ContentId(id.to_owned());
    if engine.media_files(&content).await? {
        return Ok(Some(content));
    }
    let infohash = ContentKey::Infohash(id.to_owned());
    Ok(engine.media_files(&infohash).await?.then_some(infohash))
}

#[cfg(test)]
mod tests;
