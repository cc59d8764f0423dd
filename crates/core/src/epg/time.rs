//! XMLTV times: `YYYYMMDDhhmmss ±hhmm`, to Unix epoch seconds.
//!
//! The DTD allows the time to be truncated (`YYYYMMDDhhmm`, `YYYYMMDDhh`,
//! `YYYYMMDD`) and the offset to be missing, which means UTC. Feeds in the wild also
//! write the offset glued to the time, as `±hh:mm` or `±hh`, or as `Z` / `UTC` /
//! `GMT`; all are accepted. Named zones (`CET`) are ambiguous and rejected.

use jiff::Timestamp;
use jiff::civil::DateTime;
use jiff::tz::{Offset, TimeZone};

/// Parses one XMLTV time; `None` when it is not a valid one.
pub fn parse_xmltv_time(text: &str) -> Option<i64> {
    let text = text.trim();
    let digits = text.bytes().take_while(u8::is_ascii_digit).count();
    let (stamp, zone) = text.split_at(digits);
    let field = |at: usize| -> Option<i8> {
        match stamp.get(at..at + 2) {
            Some(two) => two.parse().ok(),
            None => Some(0),
        }
    };
    let (year, month, day, hour, minute, second) = match digits {
        8 | 10 | 12 | 14 => (
            stamp.get(0..4)?.parse::<i16>().ok()?,
            field(4)?,
            field(6)?,
            field(8)?,
            field(10)?,
            field(12)?,
        ),
        _ => return None,
    };
    let local = DateTime::new(year, month, day, hour, minute, second, 0).ok()?;
    let offset = parse_offset(zone.trim())?;
    Some(offset.to_timestamp(local).ok()?.as_second())
}

/// Writes an epoch as an XMLTV time in `tz` (`20261124204500 +0100`), the form
/// `xmltv.php` serves; `None` for an epoch out of range.
pub fn format_xmltv_time(epoch: i64, tz: &TimeZone) -> Option<String> {
    let zoned = Timestamp::from_second(epoch).ok()?.to_zoned(tz.clone());
    Some(zoned.strftime("%Y%m%d%H%M%S %z").to_string())
}

/// `+0100`, `-05:30`, `+01`, `Z`, `UTC`, `GMT` or nothing (UTC).
fn parse_offset(zone: &str) -> Option<Offset> {
    if zone.is_empty()
        || ["Z", "UTC", "GMT"]
            .iter()
            .any(|z| zone.eq_ignore_ascii_case(z))
    {
        return Some(Offset::UTC);
    }
    let (sign, rest) = match zone.as_bytes().first()? {
        b'+' => (1, &zone[1..]),
        b'-' => (-1, &zone[1..]),
        _ => return None,
    };
    let rest = rest.replacen(':', "", 1);
    if !rest.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let (hours, minutes): (i32, i32) = match rest.len() {
        2 => (rest.parse().ok()?, 0),
        4 => (rest[..2].parse().ok()?, rest[2..].parse().ok()?),
        _ => return None,
    };
    if hours > 23 || minutes > 59 {
        return None;
    }
    Offset::from_seconds(sign * (hours * 3600 + minutes * 60)).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 2026-11-24 19:45:00 UTC.
    const T: i64 = 1_795_549_500;

    #[test]
    fn the_canonical_form_with_offsets() {
        assert_eq!(parse_xmltv_time("20261124194500 +0000"), Some(T));
        assert_eq!(parse_xmltv_time("20261124204500 +0100"), Some(T));
        assert_eq!(parse_xmltv_time("20261124144500 -0500"), Some(T));
        assert_eq!(parse_xmltv_time("20261125011500 +0530"), Some(T));
    }

    #[test]
    fn variants_seen_in_the_wild() {
        assert_eq!(parse_xmltv_time("20261124194500"), Some(T));
        assert_eq!(parse_xmltv_time("202611241945"), Some(T));
        assert_eq!(parse_xmltv_time("202611242045 +0100"), Some(T));
        assert_eq!(parse_xmltv_time("20261124204500+01:00"), Some(T));
        assert_eq!(parse_xmltv_time("20261124204500 +01"), Some(T));
        assert_eq!(parse_xmltv_time(" 20261124194500 Z "), Some(T));
        assert_eq!(parse_xmltv_time("20261124194500 UTC"), Some(T));
        assert_eq!(parse_xmltv_time("2026112419"), Some(T - 45 * 60));
        assert_eq!(parse_xmltv_time("20261124"), Some(T - (19 * 60 + 45) * 60));
    }

    #[test]
    fn formatting_round_trips() {
        let rome = TimeZone::get("Europe/Rome").unwrap();
        let text = format_xmltv_time(T, &rome).unwrap();
        assert_eq!(text, "20261124204500 +0100");
        assert_eq!(parse_xmltv_time(&text), Some(T));
        let utc = format_xmltv_time(T, &TimeZone::UTC).unwrap();
        assert_eq!(utc, "20261124194500 +0000");
        assert_eq!(format_xmltv_time(i64::MAX, &TimeZone::UTC), None);
    }

    #[test]
    fn garbage_is_rejected() {
        for bad in [
            "",
            "tomorrow",
            "2026112419450",
            "20261324194500 +0000",
            "20261124254500",
            "20261124194500 CET",
            "20261124194500 +2500",
            "20261124194500 +01x0",
            "202611241945000000",
        ] {
            assert_eq!(parse_xmltv_time(bad), None, "{bad}");
        }
    }
}
