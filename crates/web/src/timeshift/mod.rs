//! STUB (replaced by the h-tsreq merge).
pub mod request {
    use jiff::{Timestamp, tz::TimeZone};
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum Extension {
        Ts,
        M3u8,
    }
    #[derive(Debug, Clone)]
    pub struct TimeshiftRequest {
        pub username: String,
        pub password: String,
        pub duration_minutes: u32,
        pub start: Timestamp,
        pub stream_id: i64,
        pub extension: Extension,
    }
    #[derive(Debug, thiserror::Error)]
    #[error("bad")]
    pub struct E;
    pub fn parse_timeshift_path(_s: &[&str], _tz: &TimeZone) -> Result<TimeshiftRequest, E> {
        Err(E)
    }
    pub fn parse_timeshifts_path(_s: &[&str], _tz: &TimeZone) -> Result<TimeshiftRequest, E> {
        Err(E)
    }
    pub fn parse_timeshift_query(
        _s: &[(String, String)],
        _tz: &TimeZone,
    ) -> Result<TimeshiftRequest, E> {
        Err(E)
    }
    pub enum RangeOutcome {
        Full,
        Partial { start: u64, end_inclusive: u64 },
        Unsatisfiable,
    }
    pub fn parse_range(_h: &str, _len: u64) -> RangeOutcome {
        RangeOutcome::Full
    }
    pub fn content_range(a: u64, b: u64, l: u64) -> String {
        format!("bytes {a}-{b}/{l}")
    }
    pub fn unsatisfied_range(l: u64) -> String {
        format!("bytes */{l}")
    }
}
pub mod vod {
    pub struct VodSegment {
        pub uri: String,
        pub duration_secs: f64,
        pub discontinuity: bool,
        pub program_date_time: jiff::Timestamp,
    }
    pub fn event_playlist(_s: &[VodSegment], _m: u64, _d: u64) -> String {
        String::new()
    }
    pub fn vod_playlist(_s: &[VodSegment]) -> String {
        String::new()
    }
}
pub mod catchup {
    pub fn catchup_attributes(_b: &str, _u: &str, _p: &str, _id: i64, _d: u32) -> String {
        String::new()
    }
    pub fn expand_kodi_template(
        t: &str,
        _s: jiff::Timestamp,
        _tz: &jiff::tz::TimeZone,
        _d: u32,
    ) -> String {
        t.to_owned()
    }
}
