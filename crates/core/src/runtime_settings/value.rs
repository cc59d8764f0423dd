//! Checking a JSON value against a key's type and range, and writing it into the
//! settings tree.

use std::time::Duration;

use humantime_serde::re::humantime;
use serde_json::Value;
use url::Url;

use super::keys::{Editable, Kind};
use crate::settings::Settings;

/// A value after validation, typed.
pub(super) enum Typed {
    Bool(bool),
    Duration(Duration),
    Int(u64),
    Url(Option<Url>),
    Text(String),
}

pub(super) fn parse(def: &Editable, v: &Value) -> Result<Typed, String> {
    match def.kind {
        Kind::Bool => v
            .as_bool()
            .map(Typed::Bool)
            .ok_or_else(|| "must be true or false".into()),
        Kind::Duration {
            min_secs,
            max_secs,
            zero_ok,
        } => {
            let d = match v {
                Value::String(s) => humantime::parse_duration(s.trim()).map_err(|e| {
                    format!("not a duration ({e}); write it like \"90s\" or \"6h\"")
                })?,
                Value::Number(n) => Duration::from_secs(
                    n.as_u64()
                        .ok_or("must be a whole, non-negative number of seconds")?,
                ),
                _ => return Err("must be a duration such as \"90s\" or a number of seconds".into()),
            };
            let secs = d.as_secs();
            let below = d < Duration::from_secs(min_secs) && !(zero_ok && d.is_zero());
            if below || d > Duration::from_secs(max_secs) {
                let (lo, hi) = (fmt_secs(min_secs), fmt_secs(max_secs));
                let zero = if zero_ok && min_secs > 0 {
                    " (or 0s)"
                } else {
                    ""
                };
                return Err(format!(
                    "must be between {lo}{zero} and {hi}, not {}",
                    fmt_secs(secs)
                ));
            }
            Ok(Typed::Duration(d))
        }
        Kind::Integer { min, max } => match v.as_u64() {
            Some(n) if (min..=max).contains(&n) => Ok(Typed::Int(n)),
            _ => Err(format!("must be a whole number between {min} and {max}")),
        },
        Kind::OptionalUrl => match v {
            Value::Null => Ok(Typed::Url(None)),
            Value::String(s) if s.trim().is_empty() => Ok(Typed::Url(None)),
            Value::String(s) => {
                let url = Url::parse(s.trim()).map_err(|e| format!("not a URL ({e})"))?;
                if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
                    return Err("must be an http:// or https:// URL with a host".into());
                }
                Ok(Typed::Url(Some(url)))
            }
            _ => Err("must be a URL string or null".into()),
        },
        Kind::TimeZone => match v.as_str().map(str::trim) {
            Some(name) if jiff::tz::TimeZone::get(name).is_ok() => Ok(Typed::Text(name.to_owned())),
            _ => Err("must be an IANA time zone name such as \"Europe/Rome\"".into()),
        },
    }
}

fn fmt_secs(secs: u64) -> String {
    humantime::format_duration(Duration::from_secs(secs)).to_string()
}

fn to_u32(n: u64) -> u32 {
    // Ranges are validated first; saturate rather than panic all the same.
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// Writes `v` into the field of `key`; false if key and type do not match.
pub(super) fn assign(s: &mut Settings, key: &str, v: Typed) -> bool {
    use Typed as T;
    match (key, v) {
        ("server.public_url", T::Url(u)) => s.server.public_url = u,
        ("server.timezone", T::Text(t)) => s.server.timezone = t,
        ("server.trust_forwarded_headers", T::Bool(b)) => s.server.trust_forwarded_headers = b,
        ("server.ace_proxy_auth", T::Bool(b)) => s.server.ace_proxy_auth = b,
        ("mux.idle_grace", T::Duration(d)) => s.mux.idle_grace = d,
        ("mux.stall_timeout", T::Duration(d)) => s.mux.stall_timeout = d,
        ("mux.link_start_timeout", T::Duration(d)) => s.mux.link_start_timeout = d,
        ("mux.link_cooldown", T::Duration(d)) => s.mux.link_cooldown = d,
        ("mux.max_reopens", T::Int(n)) => s.mux.max_reopens = to_u32(n),
        ("mux.max_client_lag_bytes", T::Int(n)) => s.mux.max_client_lag_bytes = n,
        ("sources.refresh_interval", T::Duration(d)) => s.sources.refresh_interval = d,
        ("sources.check_interval", T::Duration(d)) => s.sources.check_interval = d,
        ("sources.check_spacing", T::Duration(d)) => s.sources.check_spacing = d,
        ("epg.refresh_interval", T::Duration(d)) => s.epg.refresh_interval = d,
        ("epg.days_back", T::Int(n)) => s.epg.days_back = to_u32(n),
        ("epg.days_ahead", T::Int(n)) => s.epg.days_ahead = to_u32(n),
        ("epg.match_display_names", T::Bool(b)) => s.epg.match_display_names = b,
        ("xtream.exp_date_null", T::Bool(b)) => s.xtream.exp_date_null = b,
        _ => return false,
    }
    true
}
