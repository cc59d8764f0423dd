//! Parsing of timeshift requests: START, DURATION, the stream id, and `Range`.
//!
//! START is wall time in `server.timezone` (the zone `server_info.timezone`
//! reports, so players that convert a programme's start with it send the right
//! value): `YYYY-MM-DD:HH-MM`, `YYYY-MM-DD_HH-MM`, `YYYY-MM-DD:HH:MM:SS`,
//! `YYYY-MM-DD:HH-MM-SS`, `YYYY-MM-DD HH:MM[:SS]`, `YYYYMMDD-HH` (XC), or a Unix
//! time in seconds (10 digits, as Kodi's `{utc}` placeholder gives; zone-free).
//! A wall time in a DST gap or fold is resolved as jiff's "compatible" rule does
//! (the later time in a gap, the earlier in a fold).

use jiff::Timestamp;
use jiff::civil::DateTime;
use jiff::tz::TimeZone;

/// Why a timeshift request is malformed (→ 400).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RequestError {
    #[error("start {0:?} is not a time (YYYY-MM-DD:HH-MM in the server's time zone)")]
    Start(String),
    #[error("duration {0:?} is not a number of minutes from 1 to 1440")]
    Duration(String),
    #[error("stream {0:?} is not a stream id")]
    Stream(String),
    #[error("unknown format .{0} (ts or m3u8)")]
    Extension(String),
    #[error("missing {0}")]
    Missing(&'static str),
}

/// What the player asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Extension {
    Ts,
    M3u8,
}

/// A parsed timeshift request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimeshiftRequest {
    pub username: String,
    pub password: String,
    pub duration_minutes: u32,
    pub start: Timestamp,
    pub stream_id: i64,
    pub extension: Extension,
}

/// START as players send it (see the module doc).
pub fn parse_start(s: &str, tz: &TimeZone) -> Result<Timestamp, RequestError> {
    let bad = || RequestError::Start(s.chars().take(64).collect());
    let t = s.trim();
    if t.len() == 10 && t.bytes().all(|b| b.is_ascii_digit()) {
        let secs: i64 = t.parse().map_err(|_| bad())?;
        return Timestamp::from_second(secs).map_err(|_| bad());
    }
    // Normalise the separators: the date, then hour, minute, optional second.
    let digits: Vec<&str> = t.split(['-', ':', '_', ' ', 'T']).collect();
    let fields: Vec<i64> = match digits.as_slice() {
        // YYYYMMDD-HH (XC)
        // All ASCII digits before splitting by byte: `split_at` inside a multi-byte
        // character would panic (found by the fuzzer).
        // All ASCII digits before splitting by byte: `split_at` inside a multi-byte
        // character would panic (found by the fuzzer).
        [ymd, h] if ymd.len() == 8 && ymd.bytes().all(|b| b.is_ascii_digit()) && h.len() <= 2 => {
            let (y, md) = ymd.split_at(4);
            let (m, d) = md.split_at(2);
            [y, m, d, h, "0", "0"]
                .iter()
                .map(|f| parse_field(f))
                .collect::<Option<_>>()
                .ok_or_else(bad)?
        }
        [y, m, d, h, mi] | [y, m, d, h, mi, _] if y.len() == 4 => {
            let sec = digits.get(5).copied().unwrap_or("0");
            [y, m, d, h, mi, &sec]
                .iter()
                .map(|f| parse_field(f))
                .collect::<Option<_>>()
                .ok_or_else(bad)?
        }
        _ => return Err(bad()),
    };
    let [y, mo, d, h, mi, sec] = fields[..] else {
        return Err(bad());
    };
    let small = |v: i64| i8::try_from(v).map_err(|_| bad());
    let dt = DateTime::new(
        i16::try_from(y).map_err(|_| bad())?,
        small(mo)?,
        small(d)?,
        small(h)?,
        small(mi)?,
        small(sec)?,
        0,
    )
    .map_err(|_| bad())?;
    tz.to_ambiguous_zoned(dt)
        .compatible()
        .map(|z| z.timestamp())
        .map_err(|_| bad())
}

fn parse_field(f: &str) -> Option<i64> {
    (!f.is_empty() && f.len() <= 4 && f.bytes().all(|b| b.is_ascii_digit()))
        .then(|| f.parse().ok())
        .flatten()
}

/// DURATION in minutes, 1 to 1440.
pub fn parse_duration_minutes(s: &str) -> Result<u32, RequestError> {
    s.trim()
        .parse::<u32>()
        .ok()
        .filter(|m| (1..=1440).contains(m))
        .ok_or_else(|| RequestError::Duration(s.chars().take(32).collect()))
}

/// `ID`, `ID.ts` or `ID.m3u8`.
fn parse_stream(s: &str) -> Result<(i64, Extension), RequestError> {
    let (id, ext) = match s.rsplit_once('.') {
        Some((id, ext)) => (id, ext),
        None => (s, "ts"),
    };
    let extension = match ext.to_ascii_lowercase().as_str() {
        "ts" => Extension::Ts,
        "m3u8" => Extension::M3u8,
        _ => return Err(RequestError::Extension(ext.chars().take(16).collect())),
    };
    let id = id
        .parse::<i64>()
        .map_err(|_| RequestError::Stream(s.chars().take(32).collect()))?;
    Ok((id, extension))
}

/// `/timeshift/U/P/DURATION/START/ID[.ext]`: the segments after `timeshift`.
pub fn parse_timeshift_path(
    parts: &[&str],
    tz: &TimeZone,
) -> Result<TimeshiftRequest, RequestError> {
    let [user, pass, duration, start, stream] = parts else {
        return Err(RequestError::Missing("path segments"));
    };
    build(user, pass, duration, start, stream, tz)
}

/// `/timeshifts/U/P/DURATION/ID/START[.ext]` (the XC nginx form).
pub fn parse_timeshifts_path(
    parts: &[&str],
    tz: &TimeZone,
) -> Result<TimeshiftRequest, RequestError> {
    let [user, pass, duration, stream, start] = parts else {
        return Err(RequestError::Missing("path segments"));
    };
    // The extension rides on START here.
    let (start, ext) = match start.rsplit_once('.') {
        Some((s, e)) if matches!(e, "ts" | "m3u8") => (s, e),
        _ => (*start, "ts"),
    };
    build(user, pass, duration, start, &format!("{stream}.{ext}"), tz)
}

/// `/timeshift.php` and `/streaming/timeshift.php?username&password&stream&start&duration`.
pub fn parse_timeshift_query(
    pairs: &[(String, String)],
    tz: &TimeZone,
) -> Result<TimeshiftRequest, RequestError> {
    let get = |k: &'static str| {
        pairs
            .iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.as_str())
            .ok_or(RequestError::Missing(k))
    };
    build(
        get("username")?,
        get("password")?,
        get("duration")?,
        get("start")?,
        get("stream")?,
        tz,
    )
}

fn build(
    user: &str,
    pass: &str,
    duration: &str,
    start: &str,
    stream: &str,
    tz: &TimeZone,
) -> Result<TimeshiftRequest, RequestError> {
    let duration_minutes = parse_duration_minutes(duration)?;
    let start = parse_start(start, tz)?;
    let (stream_id, extension) = parse_stream(stream)?;
    Ok(TimeshiftRequest {
        username: user.to_owned(),
        password: pass.to_owned(),
        duration_minutes,
        start,
        stream_id,
        extension,
    })
}

/// What a `Range` header asks of a body of `len` bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RangeOutcome {
    /// No usable range: the whole body (a multi-range or garbage header is
    /// ignored, as RFC 9110 allows).
    Full,
    Partial {
        start: u64,
        end_inclusive: u64,
    },
    Unsatisfiable,
}

/// One `bytes=` range: `a-b`, `a-` or `-suffix`.
pub fn parse_range(header: &str, len: u64) -> RangeOutcome {
    let Some(spec) = header.trim().strip_prefix("bytes=") else {
        return RangeOutcome::Full;
    };
    if spec.contains(',') {
        return RangeOutcome::Full;
    }
    let Some((a, b)) = spec.trim().split_once('-') else {
        return RangeOutcome::Full;
    };
    let (a, b) = (a.trim(), b.trim());
    let num = |s: &str| s.parse::<u64>().ok();
    let (start, end) = match (a.is_empty(), b.is_empty()) {
        (true, false) => {
            let Some(suffix) = num(b) else {
                return RangeOutcome::Full;
            };
            if suffix == 0 || len == 0 {
                return RangeOutcome::Unsatisfiable;
            }
            (len.saturating_sub(suffix), len - 1)
        }
        (false, _) => {
            let Some(start) = num(a) else {
                return RangeOutcome::Full;
            };
            let end = if b.is_empty() { Some(u64::MAX) } else { num(b) };
            let Some(end) = end else {
                return RangeOutcome::Full;
            };
            if end < start {
                return RangeOutcome::Full;
            }
            (start, end.min(len.saturating_sub(1)))
        }
        (true, true) => return RangeOutcome::Full,
    };
    if start >= len {
        return RangeOutcome::Unsatisfiable;
    }
    RangeOutcome::Partial {
        start,
        end_inclusive: end,
    }
}

/// `Content-Range` of a partial answer.
pub fn content_range(start: u64, end_inclusive: u64, len: u64) -> String {
    format!("bytes {start}-{end_inclusive}/{len}")
}

/// `Content-Range` of a 416.
pub fn unsatisfied_range(len: u64) -> String {
    format!("bytes */{len}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn madrid() -> TimeZone {
        TimeZone::get("Europe/Madrid").unwrap()
    }

    #[test]
    fn every_start_form_is_wall_time_in_the_servers_zone() {
        let utc = TimeZone::UTC;
        let want: Timestamp = "2026-12-03T20:05:00Z".parse().unwrap();
        for form in [
            "2026-12-03:20-05",
            "2026-12-03_20-05",
            "2026-12-03:20:05:00",
            "2026-12-03:20-05-00",
            "2026-12-03 20:05",
            "2026-12-03 20:05:00",
        ] {
            assert_eq!(parse_start(form, &utc), Ok(want), "{form}");
        }
        // In Madrid (UTC+1 in December) the same wall time is an hour earlier.
        assert_eq!(
            parse_start("2026-12-03:21-05", &madrid()),
            Ok(want),
            "Madrid"
        );
        assert_eq!(
            parse_start("20261203-20", &utc),
            Ok("2026-12-03T20:00:00Z".parse().unwrap())
        );
        assert_eq!(
            parse_start("1796328300", &madrid()),
            Ok(Timestamp::from_second(1_796_328_300).unwrap())
        );
        // DST: 2026-03-29 02:30 does not exist in Madrid: compatible → 03:30 CEST.
        assert_eq!(
            parse_start("2026-03-29:02-30", &madrid()),
            Ok("2026-03-29T01:30:00Z".parse().unwrap())
        );
    }

    #[test]
    fn malformed_starts_are_refused() {
        for bad in [
            "",
            "abc",
            "2026-13-01:10-00",
            "2026-12-32:10-00",
            "2026-12-03:25-00",
            "2026-12-03:10-61",
            "99999-12-03:10-00",
            "2026-12-03",
            "2026-12-03:10",
            "123",
            "2026-12-03:10-00-00-00",
            "2026-12-03:+1-00",
            "2026a卻-1",
        ] {
            assert!(parse_start(bad, &TimeZone::UTC).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn every_url_form_gives_the_same_request() {
        let tz = TimeZone::UTC;
        let a = parse_timeshift_path(&["u", "p", "60", "2026-12-03:20-05", "7.ts"], &tz).unwrap();
        let b = parse_timeshifts_path(&["u", "p", "60", "7", "2026-12-03:20-05.ts"], &tz).unwrap();
        let q: Vec<(String, String)> = [
            ("username", "u"),
            ("password", "p"),
            ("stream", "7.ts"),
            ("start", "2026-12-03:20-05"),
            ("duration", "60"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        let c = parse_timeshift_query(&q, &tz).unwrap();
        assert_eq!(a, b);
        assert_eq!(a, c);
        assert_eq!(
            (a.stream_id, a.duration_minutes, a.extension),
            (7, 60, Extension::Ts)
        );
        let m = parse_timeshift_path(&["u", "p", "1", "2026-12-03:20-05", "7.m3u8"], &tz).unwrap();
        assert_eq!(m.extension, Extension::M3u8);
        assert!(parse_timeshift_path(&["u", "p", "0", "2026-12-03:20-05", "7.ts"], &tz).is_err());
        assert!(parse_timeshift_path(&["u", "p", "60", "2026-12-03:20-05", "x.ts"], &tz).is_err());
        assert!(parse_timeshift_path(&["u", "p", "60", "2026-12-03:20-05", "7.mkv"], &tz).is_err());
        assert_eq!(
            parse_timeshift_query(&q[..2], &tz),
            Err(RequestError::Missing("duration"))
        );
    }

    #[test]
    fn ranges() {
        use RangeOutcome::*;
        assert_eq!(
            parse_range("bytes=0-99", 1000),
            Partial {
                start: 0,
                end_inclusive: 99
            }
        );
        assert_eq!(
            parse_range("bytes=900-", 1000),
            Partial {
                start: 900,
                end_inclusive: 999
            }
        );
        assert_eq!(
            parse_range("bytes=-100", 1000),
            Partial {
                start: 900,
                end_inclusive: 999
            }
        );
        assert_eq!(
            parse_range("bytes=-5000", 1000),
            Partial {
                start: 0,
                end_inclusive: 999
            }
        );
        assert_eq!(
            parse_range("bytes=0-99999", 1000),
            Partial {
                start: 0,
                end_inclusive: 999
            }
        );
        assert_eq!(parse_range("bytes=1000-", 1000), Unsatisfiable);
        assert_eq!(parse_range("bytes=-0", 1000), Unsatisfiable);
        for ignored in [
            "bytes=0-1,5-6",
            "items=0-1",
            "bytes=9-3",
            "bytes=x-",
            "bytes=-",
        ] {
            assert_eq!(parse_range(ignored, 1000), Full, "{ignored}");
        }
        assert_eq!(content_range(0, 99, 1000), "bytes 0-99/1000");
        assert_eq!(unsatisfied_range(1000), "bytes */1000");
    }
}
