//! The tuner lineup: every playable channel with the channel number media servers
//! (Plex, Jellyfin, Emby, through the HDHomeRun emulation) know it by.
//!
//! A media server keys a channel by its number (Jellyfin's channel id is
//! `hdhr_<GuideNumber>`; guide mappings and scheduled recordings hang off it), so
//! the number must not move when a source is refreshed or reordered:
//! - a channel with a source (or admin) number `chno` has that number;
//! - any other has `guide_number`, given once when the row was created (schema v6:
//!   the next number above every number in use) and never changed.
//!
//! Two channels can still claim one number (a source reuses a number, or gives one
//! that another channel was assigned). The first claimant keeps the plain number —
//! a source number before an assigned one, then the older row — and each other one
//! becomes the subchannel `N.<row id>`: unique, and as stable as the rows.

use std::collections::HashSet;
use std::fmt;

use rusqlite::{Connection, OptionalExtension};

use super::{StoreResult, now_epoch};

/// A channel number as media servers see it: `5`, or the subchannel `5.1234`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct GuideNumber {
    /// The number.
    pub major: i64,
    /// The subchannel (a row id) when another channel holds the plain number.
    pub minor: Option<i64>,
}

impl fmt::Display for GuideNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.minor {
            Some(minor) => write!(f, "{}.{minor}", self.major),
            None => write!(f, "{}", self.major),
        }
    }
}

impl std::str::FromStr for GuideNumber {
    type Err = ();

    /// `5` or `5.1234` (also `5-1234`, as some clients write subchannels).
    fn from_str(s: &str) -> Result<Self, ()> {
        let digits = |t: &str| -> Result<i64, ()> {
            if t.is_empty() || t.len() > 18 || !t.bytes().all(|b| b.is_ascii_digit()) {
                return Err(());
            }
            t.parse().map_err(|_| ())
        };
        match s.split_once(['.', '-']) {
            Some((major, minor)) => Ok(GuideNumber {
                major: digits(major)?,
                minor: Some(digits(minor)?),
            }),
            None => Ok(GuideNumber {
                major: digits(s)?,
                minor: None,
            }),
        }
    }
}

/// One channel of the lineup.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineupChannel {
    /// Its unique, stable number.
    pub number: GuideNumber,
    /// Channel row id (the Xtream `stream_id`).
    pub id: i64,
    /// Display name.
    pub name: String,
    /// Category name, if any.
    pub category: Option<String>,
    /// Logo URL (may be empty).
    pub logo: String,
    /// Guide id: the XMLTV channel it is mapped to, else its `tvg_id` (may be empty).
    pub epg_id: String,
}

/// Every enabled, playable channel in channel-number order.
pub fn lineup(c: &Connection) -> StoreResult<Vec<LineupChannel>> {
    let mut st = c.prepare_cached(
        "SELECT c.id, c.name, c.chno, c.guide_number, k.name, c.logo, \
                COALESCE(g.xmltv_id, c.tvg_id) \
         FROM channels c LEFT JOIN categories k ON k.id = c.category_id \
         LEFT JOIN channel_guide g ON g.channel_id = c.id \
         WHERE c.enabled = 1 AND c.active = 1",
    )?;
    let rows = st.query_map([], |r| {
        Ok(Claim {
            id: r.get(0)?,
            name: r.get(1)?,
            chno: r.get(2)?,
            assigned: r.get(3)?,
            category: r.get(4)?,
            logo: r.get(5)?,
            epg_id: r.get(6)?,
        })
    })?;
    Ok(number(rows.collect::<Result<_, _>>()?))
}

/// The channel of the lineup numbered `number`, if any.
pub fn by_number(c: &Connection, number: GuideNumber) -> StoreResult<Option<LineupChannel>> {
    Ok(lineup(c)?.into_iter().find(|ch| ch.number == number))
}

/// A random value created on first use and kept in the database: what makes this
/// installation's device ids differ from every other's, and survive restarts.
pub fn installation_key(c: &Connection) -> StoreResult<String> {
    let fresh: [u8; 16] = rand::random();
    let fresh: String = fresh.iter().map(|b| format!("{b:02x}")).collect();
    c.execute(
        "INSERT OR IGNORE INTO settings (key, value, updated_at) VALUES ('installation_id', ?1, ?2)",
        rusqlite::params![fresh, now_epoch()],
    )?;
    Ok(c.query_row(
        "SELECT value FROM settings WHERE key = 'installation_id'",
        [],
        |r| r.get(0),
    )
    .optional()?
    .unwrap_or(fresh))
}

/// A row as read, before numbers are settled.
struct Claim {
    id: i64,
    name: String,
    chno: Option<i64>,
    assigned: Option<i64>,
    category: Option<String>,
    logo: String,
    epg_id: String,
}

/// Settles the numbers (see the module doc) and sorts by them.
fn number(mut claims: Vec<Claim>) -> Vec<LineupChannel> {
    // Claimants of one number in precedence order: source numbers, then row age.
    claims.sort_by_key(|c| {
        let major = c.chno.or(c.assigned).unwrap_or(c.id);
        (major, c.chno.is_none(), c.id)
    });
    let mut taken: HashSet<i64> = HashSet::with_capacity(claims.len());
    let mut out: Vec<LineupChannel> = claims
        .into_iter()
        .map(|c| {
            let major = c.chno.or(c.assigned).unwrap_or(c.id);
            let minor = (!taken.insert(major)).then_some(c.id);
            LineupChannel {
                number: GuideNumber { major, minor },
                id: c.id,
                name: c.name,
                category: c.category,
                logo: c.logo,
                epg_id: c.epg_id,
            }
        })
        .collect();
    out.sort_by_key(|c| c.number);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claim(id: i64, chno: Option<i64>, assigned: i64) -> Claim {
        Claim {
            id,
            name: format!("ch{id}"),
            chno,
            assigned: Some(assigned),
            category: None,
            logo: String::new(),
            epg_id: String::new(),
        }
    }

    fn numbers(claims: Vec<Claim>) -> Vec<(i64, String)> {
        number(claims)
            .into_iter()
            .map(|c| (c.id, c.number.to_string()))
            .collect()
    }

    #[test]
    fn source_numbers_win_and_the_rest_keep_their_own() {
        let got = numbers(vec![
            claim(1, None, 1),
            claim(2, Some(1), 2),
            claim(3, None, 3),
            claim(4, Some(3), 4),
            claim(5, Some(3), 5),
        ]);
        assert_eq!(
            got,
            vec![
                (2, "1".into()),
                (1, "1.1".into()),
                (4, "3".into()),
                (3, "3.3".into()),
                (5, "3.5".into()),
            ]
        );
    }

    #[test]
    fn numbers_parse_back() {
        for s in ["5", "5.1234", "0"] {
            assert_eq!(s.parse::<GuideNumber>().unwrap().to_string(), s);
        }
        assert_eq!("5-7".parse::<GuideNumber>().unwrap().to_string(), "5.7");
        for bad in ["", "x", "5.", ".5", "-1", "5.5.5", "99999999999999999999"] {
            assert!(bad.parse::<GuideNumber>().is_err(), "{bad}");
        }
    }
}
