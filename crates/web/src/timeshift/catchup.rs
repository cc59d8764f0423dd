//! M3U catch-up attributes for Kodi IPTV Simple, TiviMate and SIPTV.
//!
//! Kodi's `catchup="xc"` derives the archive URL from the live URL with
//! `^(http[s]?://[^/]+)/(?:live/)?([^/]+)/([^/]+)/([^/\.]+)(\.m3u[8]?)?$`, which
//! matches no `….ts` URL — and our playlists list `/live/U/P/ID.ts`. So archived
//! entries get an explicit `catchup="default"` with a `catchup-source` template,
//! plus `catchup-days` and `timeshift` (TiviMate, SIPTV).
//!
//! The template's START is Kodi's `{utc}` (the programme start as Unix seconds),
//! not `{Y}-{m}-{d}:{H}-{M}`: Kodi formats those in the *Kodi device's* local time
//! (pvr.iptvsimple CatchupController), which is the server's zone only by luck.
//! The timeshift parser takes a 10-digit Unix time as START, so the programme
//! start is exact whatever zone either side runs in. `{duration:60}` is the
//! duration in minutes (Kodi divides its seconds by 60).

/// ` catchup="default" catchup-days="N" timeshift="N" catchup-source="…"` (with
/// its leading space) for stream `id`; `username` and `password` already
/// URL-encoded by the caller.
pub fn catchup_attributes(
    base: &str,
    username: &str,
    password: &str,
    id: i64,
    days: u32,
) -> String {
    let source = format!("{base}/timeshift/{username}/{password}/{{duration:60}}/{{utc}}/{id}.ts")
        .replace('"', "%22");
    format!(
        " catchup=\"default\" catchup-days=\"{days}\" timeshift=\"{days}\" catchup-source=\"{source}\""
    )
}

/// Expands the Kodi placeholders this module's template uses, as Kodi does:
/// `{utc}` (start, Unix seconds), `{utcend}`, `{duration}` (seconds),
/// `{duration:N}` (seconds / N), and `{Y} {m} {d} {H} {M} {S}` (start in `tz`,
/// the Kodi device's zone). For tests and for documentation of the contract.
pub fn expand_kodi_template(
    template: &str,
    start_utc: jiff::Timestamp,
    tz: &jiff::tz::TimeZone,
    duration_minutes: u32,
) -> String {
    let secs = i64::from(duration_minutes) * 60;
    let local = start_utc.to_zoned(tz.clone());
    let mut out = template
        .replace("{utcend}", &(start_utc.as_second() + secs).to_string())
        .replace("{utc}", &start_utc.as_second().to_string())
        .replace("{duration}", &secs.to_string());
    for (ph, fmt) in [
        ("{Y}", "%Y"),
        ("{m}", "%m"),
        ("{d}", "%d"),
        ("{H}", "%H"),
        ("{M}", "%M"),
        ("{S}", "%S"),
    ] {
        out = out.replace(ph, &local.strftime(fmt).to_string());
    }
    // {duration:N}
    while let Some(at) = out.find("{duration:") {
        let Some(end) = out[at..].find('}') else {
            break;
        };
        let divisor: i64 = out[at + 10..at + end].parse().unwrap_or(1).max(1);
        out.replace_range(at..at + end + 1, &(secs / divisor).to_string());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::timeshift::request::parse_timeshift_path;

    const KODI_XC: &str = r"^(http[s]?://[^/]+)/(?:live/)?([^/]+)/([^/]+)/([^/\.]+)(\.m3u[8]?)?$";

    #[test]
    fn kodis_xc_regex_matches_no_ts_url_which_is_why_we_give_a_template() {
        let re = regex::Regex::new(KODI_XC).unwrap();
        assert!(!re.is_match("http://h:1/live/u/p/7.ts"));
        assert!(re.is_match("http://h:1/live/u/p/7"));
        assert!(re.is_match("http://h:1/live/u/p/7.m3u8"));
    }

    #[test]
    fn the_template_expanded_by_kodis_rules_parses_to_the_programme_start() {
        let attrs = catchup_attributes("http://h:1", "u", "p%21", 7, 3);
        assert!(attrs.starts_with(" catchup=\"default\" catchup-days=\"3\" timeshift=\"3\" "));
        let template = attrs
            .split("catchup-source=\"")
            .nth(1)
            .unwrap()
            .trim_end_matches('"');
        let start: jiff::Timestamp = "2026-12-03T20:05:00Z".parse().unwrap();
        // Whatever the Kodi box's zone and the server's, the start is exact.
        let kodi_zone = jiff::tz::TimeZone::get("America/New_York").unwrap();
        let server_zone = jiff::tz::TimeZone::get("Europe/Madrid").unwrap();
        let url = expand_kodi_template(template, start, &kodi_zone, 90);
        let path = url.strip_prefix("http://h:1/timeshift/").unwrap();
        let parts: Vec<&str> = path.split('/').collect();
        let req = parse_timeshift_path(&parts, &server_zone).unwrap();
        assert_eq!(req.start, start);
        assert_eq!(req.duration_minutes, 90);
        assert_eq!(req.stream_id, 7);
        assert_eq!(req.password, "p%21", "decoded by the router, not here");
    }
}
