//! Writing a [`Plan`] into the acextream database, inside the caller's transaction:
//! either every row lands or, on any error, none does.

use rusqlite::{Connection, params};

use super::plan::Plan;
use crate::runtime_settings;
use crate::store::channels::{self, MANUAL};
use crate::store::links;
use crate::store::sources::{self, SourceTable};
use crate::store::{StoreResult, now_epoch};

/// Overrides of a migrated channel: hand-added there, so admin-owned here — no
/// source refresh changes it or makes it inactive.
const OVERRIDES: &str = "name,category,logo,tvg_id,chno,enabled";

/// Inserts everything `plan` lists.
pub fn write(tx: &Connection, plan: &Plan) -> StoreResult<()> {
    for (name, order) in &plan.categories {
        tx.execute(
            "INSERT INTO categories (name, sort_order) VALUES (?1, ?2)",
            params![name, order],
        )?;
    }
    let now = now_epoch();
    for c in &plan.channels {
        let category_id = match &c.category {
            Some(name) => Some(channels::category_id(tx, name)?),
            None => None,
        };
        tx.execute(
            "INSERT INTO channels (name, category_id, logo, tvg_id, chno, enabled, overrides, \
             online, checked_at, added_at, updated_at) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
            params![
                c.name,
                category_id,
                c.logo,
                c.tvg_id,
                c.chno,
                c.enabled,
                format!("{MANUAL},{OVERRIDES}"),
                c.online,
                c.checked_at,
                c.added_at,
                now
            ],
        )?;
        // Its one stream is its one link, the admin's like the channel.
        let channel_id = tx.last_insert_rowid();
        let link_id = links::insert(tx, channel_id, 0, &c.stream, true, c.added_at)?;
        tx.execute(
            "UPDATE channel_links SET online = ?2, checked_at = ?3 WHERE id = ?1",
            params![link_id, c.online, c.checked_at],
        )?;
    }
    for u in &plan.users {
        tx.execute(
            "INSERT INTO users (username, password_hash, enabled, is_admin, is_trial, \
             max_connections, expires_at, created_at, notes) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            params![
                u.username,
                u.password_hash,
                u.enabled,
                u.is_admin,
                u.is_trial,
                u.max_connections,
                u.expires_at,
                u.created_at,
                u.notes
            ],
        )?;
    }
    for input in &plan.channel_sources {
        sources::insert(tx, SourceTable::Channels, input)?;
    }
    for input in &plan.guide_sources {
        sources::insert(tx, SourceTable::Epg, input)?;
    }
    for (key, value) in &plan.settings {
        runtime_settings::save(tx, key, value)?;
    }
    Ok(())
}
