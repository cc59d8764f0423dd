//! Where values come from: the environment's keys, the `settings` table, and the
//! provenance of each value shown by `/api/settings`.

use std::collections::BTreeSet;

use rusqlite::{Connection, params};
use serde::Serialize;
use serde_json::Value;

use super::get;
use crate::settings::{ENV_PREFIX, Settings};
use crate::store::{StoreResult, now_epoch};

/// The settings keys the environment sets: `ACEXTREAM_EPG__DAYS_AHEAD` →
/// `epg.days_ahead` (figment lower-cases names the same way).
pub fn env_keys<I: IntoIterator<Item = (String, String)>>(vars: I) -> BTreeSet<String> {
    vars.into_iter()
        .filter_map(|(name, _)| {
            let rest = name.strip_prefix(ENV_PREFIX)?;
            rest.contains("__").then(|| {
                rest.split("__")
                    .collect::<Vec<_>>()
                    .join(".")
                    .to_ascii_lowercase()
            })
        })
        .collect()
}

/// The environment variable that sets `key` (for messages).
pub fn env_name(key: &str) -> String {
    format!(
        "{ENV_PREFIX}{}",
        key.replace('.', "__").to_ascii_uppercase()
    )
}

/// Where a value comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Source {
    /// Built in.
    Default,
    /// The settings file (a value that differs from the default).
    File,
    /// An `ACEXTREAM_*` variable.
    Env,
    /// The `settings` table (an admin's edit).
    Database,
}

/// How the settings were put together at start-up, for `/api/settings`.
#[derive(Debug, Clone, Default)]
pub struct Provenance {
    /// Defaults + file + environment, before database values.
    pub base: Settings,
    /// Keys the environment set.
    pub env_keys: BTreeSet<String>,
}

impl Provenance {
    /// Where `key`'s value comes from, given whether the database holds a value.
    /// A file value equal to the default reads as `default`: the merged settings
    /// no longer say which layer wrote it, and the value is the same.
    pub fn source(&self, key: &str, in_database: bool) -> Source {
        if self.env_keys.contains(key) {
            Source::Env
        } else if in_database {
            Source::Database
        } else if get(&self.base, key) != get(&Settings::default(), key) {
            Source::File
        } else {
            Source::Default
        }
    }
}

/// Every persisted `(key, JSON text)`, by key. Only dotted keys are settings: the
/// table also holds internal bookkeeping (`seeded`, `last_check_at`).
pub fn load(c: &Connection) -> StoreResult<Vec<(String, String)>> {
    let mut st = c.prepare("SELECT key, value FROM settings WHERE key LIKE '%.%' ORDER BY key")?;
    let rows = st.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Stores a (normalised) value for `key`.
pub fn save(c: &Connection, key: &str, value: &Value) -> StoreResult<()> {
    c.execute(
        "INSERT INTO settings (key, value, updated_at) VALUES (?1, ?2, ?3) \
         ON CONFLICT(key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
        params![key, value.to_string(), now_epoch()],
    )?;
    Ok(())
}

/// Forgets `key`'s value; true if there was one.
pub fn remove(c: &Connection, key: &str) -> StoreResult<bool> {
    Ok(c.execute("DELETE FROM settings WHERE key = ?1", [key])? > 0)
}
