//! The simulator's own endpoints: `GET /sim/state`, `GET /sim/catalogue`,
//! `POST /sim/fault?id=…`, `POST /sim/restart?down_secs=N`, `POST /sim/content`.

use std::sync::Arc;
use std::time::Duration;

use http::{Method, Request, StatusCode};
use http_body_util::{BodyExt, Limited};
use hyper::body::Incoming;
use serde_json::json;

use super::Query;
use crate::body::{Resp, json, text};
use crate::content::{Content, Fault};
use crate::server::Inner;

/// Control bodies are one small JSON value; 64 KiB is far more than enough.
const MAX_BODY: usize = 64 * 1024;

pub(crate) async fn control(
    inner: &Arc<Inner>,
    req: Request<Incoming>,
    segs: &[String],
    q: &Query,
) -> Resp {
    let method = req.method().clone();
    let what = segs.get(1).map(String::as_str).unwrap_or("");
    match (method, what) {
        (Method::GET, "state") => match serde_json::to_value(inner.state.introspect()) {
            Ok(v) => json(StatusCode::OK, &v),
            Err(e) => text(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()),
        },
        (Method::GET, "catalogue") => {
            let list: Vec<_> = inner
                .state
                .contents()
                .iter()
                .map(|c| Content {
                    fault: c.fault(),
                    ..c.content.clone()
                })
                .collect();
            json(StatusCode::OK, &json!(list))
        }
        (Method::POST, "fault") => {
            let Some(id) = q.get("id").or_else(|| q.get("infohash")).map(str::to_owned) else {
                return text(StatusCode::BAD_REQUEST, "missing id");
            };
            match read_json::<Fault>(req).await {
                Ok(fault) => match inner.state.set_fault(&id, fault) {
                    true => json(StatusCode::OK, &json!({"ok": true})),
                    false => text(StatusCode::NOT_FOUND, "unknown content"),
                },
                Err(e) => e,
            }
        }
        (Method::POST, "content") => match read_json::<Content>(req).await {
            Ok(c) => {
                let v = json!(c);
                inner.state.add_content(c);
                json(StatusCode::CREATED, &v)
            }
            Err(e) => e,
        },
        (Method::POST, "restart") => {
            let secs: f64 = q
                .get("down_secs")
                .and_then(|s| s.parse().ok())
                .unwrap_or(0.0);
            let down = Duration::from_secs_f64(secs.clamp(0.0, 3600.0));
            inner.request_restart(down);
            json(
                StatusCode::ACCEPTED,
                &json!({"ok": true, "down_secs": secs}),
            )
        }
        _ => text(StatusCode::NOT_FOUND, "not found"),
    }
}

async fn read_json<T: serde::de::DeserializeOwned>(req: Request<Incoming>) -> Result<T, Resp> {
    let bytes = Limited::new(req.into_body(), MAX_BODY)
        .collect()
        .await
        .map_err(|e| text(StatusCode::BAD_REQUEST, &format!("reading the body: {e}")))?
        .to_bytes();
    serde_json::from_slice(&bytes)
        .map_err(|e| text(StatusCode::BAD_REQUEST, &format!("bad JSON: {e}")))
}
