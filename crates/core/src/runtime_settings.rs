//! Settings an admin may change at runtime (`/api/settings`): the table of editable
//! keys with their validation, the `settings` table they persist in, and how the
//! persisted values are laid over the file at start-up.
//!
//! Precedence, lowest first: defaults → file → database → environment. The
//! environment stays on top because it is the operator's hard override (a systemd
//! unit, a container): a click in the dashboard must not silently beat it, so a key
//! set by the environment cannot be edited at all.
//!
//! Every value applies at the next start. [`Settings`] is one immutable value shared
//! by the public side, the multiplexer and the background jobs (several keep their
//! own copy of a section), so changing it live would need a swappable settings tree
//! everywhere; a restart is cheap and leaves no half-applied state.

mod keys;
mod origin;
mod value;

use std::collections::BTreeSet;

use humantime_serde::re::humantime;
use serde_json::{Value, json};

pub use keys::{EDITABLE, Editable, Kind, READ_ONLY};
pub use origin::{Provenance, Source, env_keys, env_name, load, remove, save};
use value::{Typed, assign, parse};

use crate::settings::Settings;

/// Why a value was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SettingError {
    /// No such setting.
    #[error("unknown setting {0}")]
    Unknown(String),
    /// The setting exists but needs the file or environment.
    #[error("{0} cannot be changed at runtime: set it in the settings file or environment")]
    ReadOnly(String),
    /// The value has the wrong type or is out of range; the message names the key.
    #[error("{key}: {reason}")]
    Invalid {
        /// The setting.
        key: String,
        /// What is wrong, in one line.
        reason: String,
    },
}

/// The editable key named `key`, or why there is none.
pub fn editable(key: &str) -> Result<&'static Editable, SettingError> {
    if let Some(def) = EDITABLE.iter().find(|e| e.key == key) {
        return Ok(def);
    }
    if READ_ONLY.iter().any(|(k, _)| *k == key) {
        return Err(SettingError::ReadOnly(key.to_owned()));
    }
    Err(SettingError::Unknown(key.to_owned()))
}

/// Validates `value` for `key` and writes it into `settings`, re-checking the
/// whole tree (a value fine alone may clash with another key). On error
/// `settings` is unchanged.
pub fn set(settings: &mut Settings, key: &str, value: &Value) -> Result<(), SettingError> {
    let def = editable(key)?;
    let invalid = |reason: String| SettingError::Invalid {
        key: key.to_owned(),
        reason,
    };
    let typed = parse(def, value).map_err(invalid)?;
    let mut trial = settings.clone();
    if !assign(&mut trial, key, typed) {
        return Err(invalid("no such field (internal table mismatch)".into()));
    }
    trial.validate().map_err(|e| invalid(e.to_string()))?;
    *settings = trial;
    Ok(())
}

/// `value` checked for `key` and normalised as it is stored: durations as
/// humantime strings (`"1h 30m"`), URLs in their parsed form, an empty URL as null.
pub fn normalize(key: &str, value: &Value) -> Result<Value, SettingError> {
    let def = editable(key)?;
    let typed = parse(def, value).map_err(|reason| SettingError::Invalid {
        key: key.to_owned(),
        reason,
    })?;
    Ok(match typed {
        Typed::Bool(b) => json!(b),
        Typed::Duration(d) => json!(humantime::format_duration(d).to_string()),
        Typed::Int(n) => json!(n),
        Typed::Url(u) => json!(u.map(String::from)),
        Typed::Text(t) => json!(t),
    })
}

/// The value of any key (`section.key`) as JSON, secrets masked; `None` if unknown.
pub fn get(settings: &Settings, key: &str) -> Option<Value> {
    let (section, field) = key.split_once('.')?;
    let tree = serde_json::to_value(settings).ok()?;
    tree.get(section)?.get(field).cloned()
}

/// What [`apply`] did, for the start-up log.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Applied {
    /// Keys whose database value now holds.
    pub from_database: Vec<String>,
    /// Keys stored in the database but set by the environment, which wins.
    pub overridden_by_env: Vec<String>,
    /// Keys stored in the database but refused now, with the reason.
    pub rejected: Vec<(String, String)>,
}

/// Lays persisted values (`key`, JSON text) over `settings` (defaults + file + env),
/// except keys in `env_keys`. A value that no longer validates is skipped and
/// reported, never fatal: one bad row must not keep the service from starting.
pub fn apply(
    settings: &mut Settings,
    persisted: &[(String, String)],
    env_keys: &BTreeSet<String>,
) -> Applied {
    let mut out = Applied::default();
    for (key, text) in persisted {
        if env_keys.contains(key) {
            out.overridden_by_env.push(key.clone());
            continue;
        }
        let result = serde_json::from_str::<Value>(text)
            .map_err(|e| SettingError::Invalid {
                key: key.clone(),
                reason: format!("stored value is not JSON: {e}"),
            })
            .and_then(|v| set(settings, key, &v));
        match result {
            Ok(()) => out.from_database.push(key.clone()),
            Err(e) => out.rejected.push((key.clone(), e.to_string())),
        }
    }
    out
}

#[cfg(test)]
mod tests;
