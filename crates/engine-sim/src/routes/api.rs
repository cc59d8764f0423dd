//! `/webui/api/service` (the version health check) and `/server/api` (access
//! token, media files, search).

use std::sync::Arc;

use serde_json::json;

use super::Query;
use super::getstream::ERR_LOAD;
use crate::body::{Resp, result_err, result_ok};
use crate::content::Fault;
use crate::server::Inner;

pub(crate) fn service(q: &Query) -> Resp {
    match q.get("method") {
        Some("get_version") => {
            result_ok(json!({"code": 3021500, "platform": "linux", "version": "3.2.15"}))
        }
        _ => result_err("unknown method"),
    }
}

pub(crate) fn server_api(inner: &Arc<Inner>, q: &Query) -> Resp {
    match q.get("method") {
        Some("get_api_access_token") => result_ok(json!({"token": inner.token})),
        Some("get_media_files") => media_files(inner, q),
        Some("search") => search(inner, q),
        _ => result_err("unknown method"),
    }
}

/// Availability check that starts no playback.
fn media_files(inner: &Arc<Inner>, q: &Query) -> Resp {
    let key = q
        .get("content_id")
        .or_else(|| q.get("id"))
        .or_else(|| q.get("infohash"));
    let content = key.and_then(|k| inner.state.find(k));
    match content {
        Some(c) if !matches!(c.fault(), Fault::Offline | Fault::Error { .. }) => {
            result_ok(json!({"files": [[format!("{}.ts", c.content.name), 0]]}))
        }
        _ => result_err(ERR_LOAD),
    }
}

/// Case-insensitive substring search over names, one group per content, paged
/// (`page` counts from 0).
fn search(inner: &Arc<Inner>, q: &Query) -> Resp {
    let needle = q.get("query").unwrap_or("").to_lowercase();
    let category = q
        .get("category")
        .filter(|c| !c.is_empty())
        .map(str::to_lowercase);
    let page: usize = q.get("page").and_then(|p| p.parse().ok()).unwrap_or(0);
    // Page size bounded so a careless client cannot ask for an unbounded answer.
    let page_size: usize = q
        .get("page_size")
        .and_then(|p| p.parse().ok())
        .unwrap_or(10)
        .clamp(1, 200);
    let hits: Vec<_> = inner
        .state
        .contents()
        .into_iter()
        .filter(|c| c.content.name.to_lowercase().contains(&needle))
        .filter(|c| {
            category
                .as_ref()
                .is_none_or(|cat| c.content.categories().iter().any(|x| x == cat))
        })
        .collect();
    let results: Vec<_> = hits
        .iter()
        .skip(page.saturating_mul(page_size))
        .take(page_size)
        .map(|c| {
            let online = !matches!(c.fault(), Fault::Offline | Fault::Error { .. });
            json!({
                "name": c.content.name,
                "items": [{
                    "name": c.content.name,
                    "infohash": c.content.infohash,
                    "categories": c.content.categories(),
                    "status": if online { 2 } else { 1 },
                    "bitrate": c.content.bitrate_bps / 8,
                    "availability": if online { 1.0 } else { 0.0 },
                }],
            })
        })
        .collect();
    result_ok(json!({"total": hits.len(), "results": results}))
}
