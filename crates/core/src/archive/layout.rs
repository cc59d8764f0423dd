//! File and directory names of the archive on disk, and the millisecond arithmetic
//! behind them. Every path is built from parsed integers only; a name read from disk
//! counts only if writing its parsed values back gives exactly the same name, so
//! `+5`, `05` or `5-0100.ts` never alias a real channel or segment.

use jiff::Timestamp;

/// Suffix of a segment still being written.
pub(super) const PART_SUFFIX: &str = ".part";

/// Prefix of a channel directory moved aside by `remove_channel`, deleted later.
pub(super) const TRASH_PREFIX: &str = ".trash-";

/// The directory name of a channel.
pub(super) fn channel_dir_name(channel: i64) -> String {
    channel.to_string()
}

/// The channel a directory name stands for, if it is one written by [`channel_dir_name`].
pub(super) fn parse_channel_dir(name: &str) -> Option<i64> {
    let channel: i64 = name.parse().ok()?;
    (channel_dir_name(channel) == name).then_some(channel)
}

/// `<start_ms>-<duration_ms>[-d].ts`.
pub(super) fn segment_name(start_ms: i64, duration_ms: u64, discontinuity: bool) -> String {
    let d = if discontinuity { "-d" } else { "" };
    format!("{start_ms}-{duration_ms}{d}.ts")
}

/// A segment file name read back: `(start_ms, duration_ms, discontinuity)`. `None`
/// for anything [`segment_name`] would not have written, or whose end is not a
/// representable time.
pub(super) fn parse_segment_name(name: &str) -> Option<(i64, u64, bool)> {
    let stem = name.strip_suffix(".ts")?;
    let (stem, discontinuity) = match stem.strip_suffix("-d") {
        Some(stem) => (stem, true),
        None => (stem, false),
    };
    // The start may be negative ("-5-100.ts"), so the duration is after the last '-'.
    let (start, duration) = stem.rsplit_once('-')?;
    let start_ms: i64 = start.parse().ok()?;
    let duration_ms: u64 = duration.parse().ok()?;
    end_ms(start_ms, duration_ms)?;
    (segment_name(start_ms, duration_ms, discontinuity) == name).then_some((
        start_ms,
        duration_ms,
        discontinuity,
    ))
}

/// The end of a segment, `None` when it would not be a representable [`Timestamp`]
/// (such a segment is refused on write and treated as junk on read).
pub(super) fn end_ms(start_ms: i64, duration_ms: u64) -> Option<i64> {
    let end = start_ms.checked_add(i64::try_from(duration_ms).ok()?)?;
    Timestamp::from_millisecond(start_ms).ok()?;
    Timestamp::from_millisecond(end).ok()?;
    Some(end)
}

/// The millisecond at or before `t` (segment starts are whole milliseconds).
pub(super) fn floor_ms(t: Timestamp) -> i64 {
    clamp_i64(t.as_nanosecond().div_euclid(1_000_000))
}

/// The millisecond at or after `t`: a segment starting at whole millisecond `s` starts
/// before `t` exactly when `s < ceil_ms(t)`.
pub(super) fn ceil_ms(t: Timestamp) -> i64 {
    let ns = t.as_nanosecond();
    let floor = ns.div_euclid(1_000_000);
    clamp_i64(if ns.rem_euclid(1_000_000) == 0 {
        floor
    } else {
        floor + 1
    })
}

fn clamp_i64(v: i128) -> i64 {
    i64::try_from(v).unwrap_or(if v < 0 { i64::MIN } else { i64::MAX })
}

/// A millisecond back to a [`Timestamp`], clamped to jiff's range (values in the
/// index were checked by [`end_ms`], so the clamp is only a guard).
pub(super) fn ts(ms: i64) -> Timestamp {
    Timestamp::from_millisecond(ms).unwrap_or(if ms < 0 {
        Timestamp::MIN
    } else {
        Timestamp::MAX
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segment_names_round_trip() {
        for (start, dur, d) in [
            (1_700_000_000_000, 6000, false),
            (1_700_000_000_000, 6000, true),
            (-5, 100, false),
            (-5, 100, true),
            (0, 0, false),
        ] {
            let name = segment_name(start, dur, d);
            assert_eq!(parse_segment_name(&name), Some((start, dur, d)), "{name}");
        }
        assert_eq!(segment_name(-5, 100, true), "-5-100-d.ts");
    }

    #[test]
    fn non_canonical_or_junk_segment_names_are_refused() {
        for name in [
            "1-2.ts.part",
            "+1-2.ts",
            "01-2.ts",
            "1-02.ts",
            "1-+2.ts",
            "1--2.ts",
            "1-2-x.ts",
            "1-2-d-d.ts",
            "1-2.TS",
            "1.ts",
            "-1.ts",
            "a-2.ts",
            "1-2",
            ".ts",
            "-d.ts",
            "1- 2.ts",
            "../1-2.ts",
            // End beyond jiff's range, and an i64 overflow.
            "253402207200000-999999999.ts",
            "9223372036854775807-1.ts",
            "1-18446744073709551615.ts",
        ] {
            assert_eq!(parse_segment_name(name), None, "{name}");
        }
    }

    #[test]
    fn channel_dirs_are_canonical_integers() {
        assert_eq!(parse_channel_dir("7"), Some(7));
        assert_eq!(parse_channel_dir("-7"), Some(-7));
        assert_eq!(
            parse_channel_dir(&channel_dir_name(i64::MIN)),
            Some(i64::MIN)
        );
        for name in ["+7", "07", "-0", "7 ", "x", "", ".trash-7-1", "..", "7/8"] {
            assert_eq!(parse_channel_dir(name), None, "{name}");
        }
    }

    #[test]
    fn floor_and_ceil_to_milliseconds() {
        let t = Timestamp::new(10, 500_000).unwrap(); // 10.0005 s
        assert_eq!(floor_ms(t), 10_000);
        assert_eq!(ceil_ms(t), 10_001);
        let whole = Timestamp::from_millisecond(10_000).unwrap();
        assert_eq!(floor_ms(whole), 10_000);
        assert_eq!(ceil_ms(whole), 10_000);
        let neg = Timestamp::from_nanosecond(-999_500_000).unwrap(); // -0.9995 s
        assert_eq!(floor_ms(neg), -1000);
        assert_eq!(ceil_ms(neg), -999);
    }
}
