//! Pure conversions from the replaced system's values to ours: its naive-UTC
//! `DATETIME` text, its expiry instants (ours is "the first second after the last
//! day"), its 0/1 booleans, and the stream of a channel (`acestream_id` and
//! `stream_url`).

use jiff::Timestamp;
use jiff::civil::{Date, DateTime};
use jiff::tz::TimeZone;
use rusqlite::types::Value;

use crate::accounts::MAX_EXPIRES_AT;
use crate::engine::ContentKey;
use crate::sources::StreamRef;
use crate::sources::ids::{is_hex40, parse_ace_link};

/// A column value as text: text as is, numbers written out, NULL as `None`.
pub fn text(v: &Value) -> Result<Option<String>, String> {
    match v {
        Value::Null => Ok(None),
        Value::Text(s) => Ok(Some(s.clone())),
        Value::Integer(n) => Ok(Some(n.to_string())),
        Value::Real(f) => Ok(Some(f.to_string())),
        Value::Blob(_) => Err("is binary, not text".into()),
    }
}

/// A 0/1 column; NULL is `None` (the caller's default).
pub fn boolean(v: &Value) -> Result<Option<bool>, String> {
    match v {
        Value::Null => Ok(None),
        Value::Integer(0) => Ok(Some(false)),
        Value::Integer(1) => Ok(Some(true)),
        Value::Text(s) => match s.trim().to_ascii_lowercase().as_str() {
            "0" | "false" => Ok(Some(false)),
            "1" | "true" => Ok(Some(true)),
            _ => Err(format!("{s:?} is not 0 or 1")),
        },
        other => Err(format!("{other:?} is not 0 or 1")),
    }
}

/// A whole-number column; NULL is `None`.
pub fn integer(v: &Value) -> Result<Option<i64>, String> {
    match v {
        Value::Null => Ok(None),
        Value::Integer(n) => Ok(Some(*n)),
        Value::Real(f) if f.fract() == 0.0 && f.abs() < 9e15 => Ok(Some(*f as i64)),
        Value::Text(s) => s
            .trim()
            .parse()
            .map(Some)
            .map_err(|_| format!("{s:?} is not a whole number")),
        other => Err(format!("{other:?} is not a whole number")),
    }
}

/// An instant as the replaced system writes it: naive UTC `2025-03-01 12:00:00.000000`
/// (or with `T`, or a bare date meaning its midnight), or an RFC 3339 instant with
/// its own offset.
pub fn instant(text: &str) -> Result<Timestamp, String> {
    let t = text.trim();
    let bad = || format!("{t:?} is not a date or date-time");
    if let Ok(ts) = t.parse::<Timestamp>() {
        return Ok(ts);
    }
    // A date-time first: jiff also reads a date-time as a date, dropping its time.
    let civil = match t.replacen(' ', "T", 1).parse::<DateTime>() {
        Ok(dt) if t.len() > 10 => dt,
        _ if t.len() == 10 => t
            .parse::<Date>()
            .map_err(|_| bad())?
            .to_datetime(jiff::civil::Time::midnight()),
        _ => return Err(bad()),
    };
    civil
        .to_zoned(TimeZone::UTC)
        .map(|z| z.timestamp())
        .map_err(|_| bad())
}

/// A timestamp column (creation, last check) as epoch seconds; NULL is `None`.
pub fn epoch(v: &Value) -> Result<Option<i64>, String> {
    match text(v)? {
        None => Ok(None),
        Some(s) if s.trim().is_empty() => Ok(None),
        Some(s) => instant(&s).map(|t| Some(t.as_second())),
    }
}

/// The replaced system's expiry (the instant the account stops) as ours: the
/// account works through the last day in `tz` that the instant reaches, so ours is
/// the first second of the next day. An instant at midnight stays where it is (the
/// day before was the last one); `2025-03-01 12:00` becomes the start of March 2nd.
pub fn expiry(text: &str, tz: &TimeZone) -> Result<i64, String> {
    let t = instant(text)?;
    let out_of_range = || format!("expiry {:?} is outside 1970 to 9999", text.trim());
    let last_moment = t
        .checked_sub(jiff::SignedDuration::from_secs(1))
        .map_err(|_| out_of_range())?;
    let last_day = last_moment.to_zoned(tz.clone()).date();
    let next = last_day.tomorrow().map_err(|_| out_of_range())?;
    let start = next.to_zoned(tz.clone()).map_err(|_| out_of_range())?;
    let secs = start.timestamp().as_second();
    if (1..=MAX_EXPIRES_AT).contains(&secs) {
        Ok(secs)
    } else {
        Err(out_of_range())
    }
}

/// What plays an old channel, and whether it is a 40-hex id whose kind is unsure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LegacyStream {
    /// What we play.
    pub stream: StreamRef,
    /// A bare 40-hex `acestream_id` with nothing saying which kind it is: kept as a
    /// content id, but it may be an infohash (only the engine can tell).
    pub unsure: bool,
}

/// The stream of an old channel. `acestream_id` wins: a bare 40-hex id (either case)
/// or an `acestream://` / engine URL. When `stream_url` is an engine URL naming the
/// same id with `infohash=`, the id is an infohash (the replaced system stored the
/// `infohash=` value in the same column). Without `acestream_id`, `stream_url` is an
/// engine URL (its id, of its kind) or a direct http(s) stream.
pub fn stream(
    acestream_id: Option<&str>,
    stream_url: Option<&str>,
) -> Result<LegacyStream, String> {
    let id = acestream_id.map(str::trim).filter(|s| !s.is_empty());
    let url = stream_url.map(str::trim).filter(|s| !s.is_empty());
    let from_url = url.and_then(parse_ace_link);
    if let Some(id) = id {
        if is_hex40(id) {
            let id = id.to_ascii_lowercase();
            return Ok(match from_url {
                Some(key) if key.value() == id => LegacyStream {
                    stream: StreamRef::Ace { key },
                    unsure: false,
                },
                _ => LegacyStream {
                    stream: StreamRef::Ace {
                        key: ContentKey::ContentId(id),
                    },
                    unsure: true,
                },
            });
        }
        return match parse_ace_link(id) {
            Some(key) => Ok(LegacyStream {
                stream: StreamRef::Ace { key },
                unsure: false,
            }),
            None => Err(format!(
                "acestream_id {:?} is not a 40-hex id nor an acestream:// link",
                short(id)
            )),
        };
    }
    let Some(url) = url else {
        return Err("has neither acestream_id nor stream_url".into());
    };
    if let Some(key) = from_url {
        return Ok(LegacyStream {
            stream: StreamRef::Ace { key },
            unsure: false,
        });
    }
    match crate::catalogue::fetch::http_url(url) {
        Some(u) if url.len() <= crate::sources::ids::MAX_REF_LEN => Ok(LegacyStream {
            stream: StreamRef::Direct { url: u.to_string() },
            unsure: false,
        }),
        _ => Err(format!("stream_url {:?} is not an http(s) URL", short(url))),
    }
}

/// At most 80 characters of `s`, for messages about hostile values.
pub fn short(s: &str) -> String {
    let mut out: String = s.chars().take(80).collect();
    if out.len() < s.len() {
        out.push('…');
    }
    out
}

/// Whether `s` is fit for a name-like field: at most `max` characters, no control
/// characters.
pub fn printable(s: &str, max: usize) -> bool {
    s.chars().count() <= max && !s.chars().any(char::is_control)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)] // a panic here is a failed test
    use super::*;

    const HEX: &str = "0123456789abcdef0123456789abcdef01234567";

    #[test]
    fn datetimes_are_naive_utc_in_every_spelling() {
        let want = 1_740_830_400; // 2025-03-01T12:00:00Z
        for s in [
            "2025-03-01 12:00:00.000000",
            "2025-03-01 12:00:00",
            "2025-03-01T12:00:00",
            "2025-03-01T12:00:00Z",
            "2025-03-01T13:00:00+01:00",
        ] {
            assert_eq!(instant(s).unwrap().as_second(), want, "{s}");
        }
        assert_eq!(instant("2025-03-01").unwrap().as_second(), want - 12 * 3600);
        for bad in ["", "yesterday", "2025-13-01", "2025-03-01 25:00:00"] {
            assert!(instant(bad).is_err(), "{bad:?}");
        }
        assert_eq!(epoch(&Value::Null).unwrap(), None);
        assert!(epoch(&Value::Blob(vec![1])).is_err());
    }

    #[test]
    fn an_expiry_becomes_the_start_of_the_day_after_the_last_day() {
        let utc = TimeZone::UTC;
        // Midnight: the day before was the last one, so nothing moves.
        assert_eq!(expiry("2030-02-01 00:00:00", &utc).unwrap(), 1_896_134_400);
        assert_eq!(expiry("2030-02-01", &utc).unwrap(), 1_896_134_400);
        // Noon: the account worked all of Feb 1st; it stops at the start of Feb 2nd.
        assert_eq!(
            expiry("2030-02-01 12:00:00.000000", &utc).unwrap(),
            1_896_134_400 + 86_400
        );
        // In Rome, 2030-01-31 23:30 UTC is already Feb 1st: that is the last day.
        let rome = TimeZone::get("Europe/Rome").unwrap();
        let start_feb_2_rome = 1_896_134_400 + 86_400 - 3600;
        assert_eq!(
            expiry("2030-01-31 23:30:00", &rome).unwrap(),
            start_feb_2_rome
        );
        for bad in ["9999-12-31 12:00:00", "0001-01-01", "1969-06-01", "soon"] {
            assert!(expiry(bad, &utc).is_err(), "{bad}");
        }
    }

    #[test]
    fn booleans_and_integers_are_read_leniently_but_never_guessed() {
        assert_eq!(boolean(&Value::Integer(1)).unwrap(), Some(true));
        assert_eq!(boolean(&Value::Text("0".into())).unwrap(), Some(false));
        assert_eq!(boolean(&Value::Null).unwrap(), None);
        assert!(boolean(&Value::Integer(2)).is_err());
        assert!(boolean(&Value::Text("yes please".into())).is_err());
        assert_eq!(integer(&Value::Text(" 42 ".into())).unwrap(), Some(42));
        assert_eq!(integer(&Value::Real(3.0)).unwrap(), Some(3));
        assert!(integer(&Value::Real(3.5)).is_err());
        assert!(integer(&Value::Text("many".into())).is_err());
    }

    #[test]
    fn a_channel_stream_tells_content_ids_infohashes_and_direct_urls_apart() {
        let upper = HEX.to_ascii_uppercase();
        let s = stream(Some(&upper), None).unwrap();
        assert_eq!(
            s.stream,
            StreamRef::Ace {
                key: ContentKey::ContentId(HEX.into())
            }
        );
        assert!(s.unsure, "a bare 40-hex id may be an infohash");
        // The infohash= URL it came from says which kind it is.
        let engine = format!("http://127.0.0.1:6878/ace/getstream?infohash={HEX}");
        let s = stream(Some(HEX), Some(&engine)).unwrap();
        assert_eq!(
            s.stream,
            StreamRef::Ace {
                key: ContentKey::Infohash(HEX.into())
            }
        );
        assert!(!s.unsure);
        // Without acestream_id, an engine URL names its id; anything else http is direct.
        let s = stream(None, Some(&engine)).unwrap();
        assert_eq!(
            s.stream,
            StreamRef::Ace {
                key: ContentKey::Infohash(HEX.into())
            }
        );
        let s = stream(Some(""), Some("https://cdn.example.org/live/a.m3u8")).unwrap();
        assert_eq!(
            s.stream,
            StreamRef::Direct {
                url: "https://cdn.example.org/live/a.m3u8".into()
            }
        );
        let s = stream(Some(&format!("acestream://{HEX}")), None).unwrap();
        assert!(!s.unsure);
        for (id, url) in [
            (Some("not-an-id"), None),
            (Some(&HEX[..39]), None),
            (None, None),
            (None, Some("ftp://example.org/a.ts")),
            (None, Some("zero://1abc/list.json")),
        ] {
            assert!(stream(id, url).is_err(), "{id:?} {url:?}");
        }
    }
}
