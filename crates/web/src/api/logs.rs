//! `/api/logs/*`: the recent log lines kept in memory — a filtered tail to poll and
//! a plain-text download of everything kept.
//!
//! Lines were redacted by the log writer before they were buffered; they are
//! redacted again here, because a line that leaks a password is worse than a
//! second pass over a few thousand lines.

use acextream_core::logbuf::LogLine;
use acextream_core::redact::redact_text;
use actix_web::http::header;
use actix_web::{HttpResponse, web};
use serde::Deserialize;
use serde_json::json;

use crate::error::ApiError;
use crate::state::AppState;

/// Lines answered by one tail unless `limit` says otherwise.
const DEFAULT_LIMIT: usize = 200;
/// The most one tail answers: the buffer's own capacity.
const MAX_LIMIT: usize = 5000;
/// Levels from least to most severe.
const LEVELS: &[&str] = &["TRACE", "DEBUG", "INFO", "WARN", "ERROR"];

/// Registers the log routes.
pub fn config(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/logs/tail").route(web::get().to(tail)))
        .service(web::resource("/logs/download").route(web::get().to(download)));
}

/// `?after=N&limit=M&level=warn&q=text`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct TailQuery {
    /// Only lines with a greater sequence number (0: from the oldest kept).
    #[serde(default)]
    after: u64,
    /// At most this many lines, the newest.
    limit: Option<usize>,
    /// Minimum level: `trace`, `debug`, `info`, `warn` or `error`.
    level: Option<String>,
    /// Only lines containing this text (case-insensitive).
    q: Option<String>,
}

fn severity(level: &str) -> usize {
    LEVELS
        .iter()
        .position(|l| l.eq_ignore_ascii_case(level))
        .unwrap_or(2)
}

/// The lines at `min` level or above and containing `q`, newest last.
pub fn filter(lines: Vec<LogLine>, min: usize, q: Option<&str>, limit: usize) -> Vec<LogLine> {
    let q = q.map(str::to_lowercase).filter(|q| !q.is_empty());
    let kept: Vec<LogLine> = lines
        .into_iter()
        .filter(|l| severity(&l.level) >= min)
        .filter(|l| q.as_ref().is_none_or(|q| l.text.to_lowercase().contains(q)))
        .map(|mut l| {
            l.text = redact_text(&l.text).into_owned();
            l
        })
        .collect();
    let skip = kept.len().saturating_sub(limit);
    kept.into_iter().skip(skip).collect()
}

async fn tail(
    state: web::Data<AppState>,
    query: web::Query<TailQuery>,
) -> Result<HttpResponse, ApiError> {
    let q = query.into_inner();
    let min = match q.level.as_deref() {
        None | Some("") => 0,
        Some(l) if LEVELS.iter().any(|x| x.eq_ignore_ascii_case(l)) => severity(l),
        Some(_) => {
            return Err(ApiError::BadRequest(
                "level: must be trace, debug, info, warn or error".into(),
            ));
        }
    };
    let limit = q.limit.unwrap_or(DEFAULT_LIMIT).clamp(1, MAX_LIMIT);
    let newer = state.logs.since(q.after, usize::MAX);
    // Poll from here next time, whether or not the filter kept the newest lines.
    let last_seq = newer.last().map_or(q.after, |l| l.seq);
    let lines = filter(newer, min, q.q.as_deref(), limit);
    Ok(HttpResponse::Ok().json(json!({ "lines": lines, "last_seq": last_seq })))
}

async fn download(state: web::Data<AppState>) -> HttpResponse {
    let mut body = String::new();
    for line in state.logs.all() {
        body.push_str(&redact_text(&line.text));
        body.push('\n');
    }
    let stamp = jiff::Timestamp::now().strftime("%Y%m%d-%H%M%S");
    HttpResponse::Ok()
        .content_type("text/plain; charset=utf-8")
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"acextream-{stamp}.log\""),
        ))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .body(body)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(seq: u64, level: &str, text: &str) -> LogLine {
        LogLine {
            seq,
            level: level.into(),
            text: text.into(),
        }
    }

    #[test]
    fn the_filter_keeps_the_level_and_above_matching_text_newest_last() {
        let lines = vec![
            line(1, "INFO", "started"),
            line(2, "WARN", "engine slow"),
            line(3, "ERROR", "Engine gone"),
            line(4, "WARN", "source failed"),
        ];
        let kept = filter(lines.clone(), severity("warn"), Some("ENGINE"), 10);
        assert_eq!(kept.iter().map(|l| l.seq).collect::<Vec<_>>(), vec![2, 3]);
        let kept = filter(lines, 0, None, 2);
        assert_eq!(kept.iter().map(|l| l.seq).collect::<Vec<_>>(), vec![3, 4]);
    }

    #[test]
    fn lines_are_redacted_again() {
        let kept = filter(
            vec![line(1, "INFO", "GET /get.php?username=u&password=hunter2")],
            0,
            None,
            10,
        );
        assert!(!kept[0].text.contains("hunter2"), "{}", kept[0].text);
    }
}
