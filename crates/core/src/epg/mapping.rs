//! Which guide channel each channel shows: recomputes `channel_guide` after every
//! guide import and channel refresh.
//!
//! Matching runs in passes, and the pass order is global: every enabled guide source
//! is tried with pass 1 before any is tried with pass 2, so an exact match in a
//! lower-priority source beats a loose match in a higher-priority one (an exact id
//! is far stronger evidence than a similar name). The passes:
//! 1. `tvg_id` equals an XMLTV channel id exactly (`tvg_id`);
//! 2. the same, with case and punctuation ignored: `Sky.Sport-IT` = `skysportit`
//!    (`normalized`);
//! 3. when enabled, the channel's name equals a display name, normalised the same
//!    way (`display_name`).
//!
//! Within a pass, sources are tried by `priority` then `id`; but a guide channel
//! with programmes stored beats one without, whatever its source's priority, so a
//! feed that merely declares a channel does not hide another feed's programmes.

use std::collections::HashMap;

use rusqlite::{Connection, params};
use serde::Serialize;

use super::EpgError;
pub use super::query::{
    StoredProgramme, channels_without_guide, for_each_programme_of_mapped_channels,
    programmes_for_channel,
};

/// What a remap decided.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize)]
pub struct MappingReport {
    /// Channels given a guide.
    pub mapped: u64,
    /// … of which by exact tvg-id.
    pub by_tvg_id: u64,
    /// … of which by normalised tvg-id.
    pub by_normalized: u64,
    /// … of which by display name.
    pub by_display_name: u64,
    /// Enabled channels left without a guide: `(channel id, name)`.
    pub unmapped: Vec<(i64, String)>,
}

/// Lower-case, letters and digits only: what is left when case and punctuation
/// are ignored.
pub fn normalize(s: &str) -> String {
    s.chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_lowercase)
        .collect()
}

/// A guide channel a channel can be matched to: `(source_id, xmltv_id)`.
type Target = (i64, String);

/// The candidates of each pass, keyed by what is compared; the first candidate in
/// preference order holds each key.
#[derive(Default)]
struct Candidates {
    exact: HashMap<String, Target>,
    normalized: HashMap<String, Target>,
    display_name: HashMap<String, Target>,
}

impl Candidates {
    fn load(conn: &Connection, match_display_names: bool) -> Result<Self, EpgError> {
        let mut candidates = Candidates::default();
        let mut stmt = conn.prepare(
            "SELECT e.source_id, e.xmltv_id, e.display_name
             FROM epg_channels e JOIN epg_sources s ON s.id = e.source_id
             WHERE s.enabled = 1 AND e.generation = s.generation
             ORDER BY EXISTS (SELECT 1 FROM epg_programmes p
                              WHERE p.source_id = e.source_id
                                AND p.generation = s.generation
                                AND p.xmltv_id = e.xmltv_id) DESC,
                      s.priority, s.id, e.xmltv_id",
        )?;
        let mut rows = stmt.query([])?;
        while let Some(row) = rows.next()? {
            let source_id: i64 = row.get(0)?;
            let xmltv_id: String = row.get(1)?;
            let display_name: String = row.get(2)?;
            let target = (source_id, xmltv_id.clone());
            let key = normalize(&xmltv_id);
            if !key.is_empty() {
                candidates
                    .normalized
                    .entry(key)
                    .or_insert_with(|| target.clone());
            }
            if match_display_names {
                let key = normalize(&display_name);
                if !key.is_empty() {
                    candidates
                        .display_name
                        .entry(key)
                        .or_insert_with(|| target.clone());
                }
            }
            candidates.exact.entry(xmltv_id).or_insert(target);
        }
        Ok(candidates)
    }

    /// The guide channel for a channel, and the pass that found it.
    fn find(&self, tvg_id: &str, name: &str) -> Option<(&Target, &'static str)> {
        let tvg_id = tvg_id.trim();
        if !tvg_id.is_empty() {
            if let Some(t) = self.exact.get(tvg_id) {
                return Some((t, "tvg_id"));
            }
            if let Some(t) = self.normalized.get(&normalize(tvg_id)) {
                return Some((t, "normalized"));
            }
        }
        self.display_name
            .get(&normalize(name))
            .map(|t| (t, "display_name"))
    }
}

/// Recomputes `channel_guide` for every enabled channel, in one write transaction
/// (it reads what it then replaces; a few milliseconds even for thousands of
/// channels, since every lookup is an index probe).
pub fn remap(conn: &mut Connection, match_display_names: bool) -> Result<MappingReport, EpgError> {
    let tx = crate::store::immediate(conn)?;
    let candidates = Candidates::load(&tx, match_display_names)?;
    let channels: Vec<(i64, String, String)> = tx
        .prepare("SELECT id, name, tvg_id FROM channels WHERE enabled = 1 ORDER BY id")?
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
        .collect::<Result<_, _>>()?;

    tx.execute("DELETE FROM channel_guide", [])?;
    let mut report = MappingReport::default();
    {
        let mut insert = tx.prepare(
            "INSERT INTO channel_guide (channel_id, source_id, xmltv_id, matched_by)
             VALUES (?1, ?2, ?3, ?4)",
        )?;
        for (id, name, tvg_id) in channels {
            let Some(((source_id, xmltv_id), how)) = candidates.find(&tvg_id, &name) else {
                report.unmapped.push((id, name));
                continue;
            };
            insert.execute(params![id, source_id, xmltv_id, how])?;
            report.mapped += 1;
            match how {
                "tvg_id" => report.by_tvg_id += 1,
                "normalized" => report.by_normalized += 1,
                _ => report.by_display_name += 1,
            }
        }
    }
    tx.commit()?;
    tracing::info!(
        mapped = report.mapped,
        by_tvg_id = report.by_tvg_id,
        by_normalized = report.by_normalized,
        by_display_name = report.by_display_name,
        unmapped = report.unmapped.len(),
        "guide mapping recomputed"
    );
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::normalize;

    #[test]
    fn normalisation_ignores_case_and_punctuation() {
        assert_eq!(normalize("Sky.Sport-IT"), "skysportit");
        assert_eq!(normalize("skysportit"), "skysportit");
        assert_eq!(normalize(" Rai 1 (HD) "), "rai1hd");
        assert_eq!(normalize("Télé Ñ"), "téléñ");
        assert_eq!(normalize("-.-"), "");
    }
}
