//! Request routing: the engine's endpoints (`/ace`, `/server/api`, `/webui`) and
//! the simulator's control endpoints (`/sim`), one family per file.

mod api;
mod command;
mod control;
mod getstream;
mod hls;
mod playback;
mod stat;

use std::sync::Arc;

use http::{Method, Request, StatusCode};
use hyper::body::Incoming;

use crate::body::{Resp, text};
use crate::server::Inner;

/// A request's query parameters, decoded, in order.
pub(crate) struct Query(pub Vec<(String, String)>);

impl Query {
    fn of<B>(req: &Request<B>) -> Self {
        let q = req.uri().query().unwrap_or("");
        Query(
            url::form_urlencoded::parse(q.as_bytes())
                .into_owned()
                .collect(),
        )
    }

    /// The first value of `name` (names are case-sensitive, as the engine's are).
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Answers one request.
pub(crate) async fn handle(inner: &Arc<Inner>, req: Request<Incoming>) -> Resp {
    let query = Query::of(&req);
    let path = req.uri().path().to_owned();
    let segs: Vec<&str> = path.trim_matches('/').split('/').collect();
    let method = req.method().clone();
    tracing::debug!(%method, %path, "request");
    let base = inner.base_url(&req);
    match (&method, segs.as_slice()) {
        (&Method::GET, ["ace", "getstream"]) => {
            getstream::getstream(inner, &base, &query, getstream::Kind::Ts)
        }
        (&Method::GET, ["ace", "manifest.m3u8"]) => {
            getstream::getstream(inner, &base, &query, getstream::Kind::Hls)
        }
        (&Method::GET, ["ace", "r", ih, sid]) => playback::playback(inner, ih, sid).await,
        (&Method::GET, ["ace", "m", ih, file]) => hls::playlist(inner, &base, ih, file).await,
        (&Method::GET, ["ace", "c", ih, sid, file]) => hls::segment(inner, ih, sid, file),
        (&Method::GET, ["ace", "stat", ih, sid]) => stat::stat(inner, ih, sid),
        (&Method::GET, ["ace", "cmd", ih, sid]) => {
            let hang = inner.state.policies.stop_hang_ms;
            if hang > 0 && query.get("method") == Some("stop") {
                tokio::time::sleep(std::time::Duration::from_millis(hang)).await;
            }
            command::command(inner, ih, sid, &query)
        }
        (&Method::GET, ["ace", "event", ih, sid]) => command::event(inner, ih, sid),
        (&Method::GET, ["webui", "api", "service"]) => api::service(&query),
        (&Method::GET, ["server", "api"]) => api::server_api(inner, &query),
        (_, ["sim", ..]) => {
            control::control(
                inner,
                req,
                &segs.iter().map(|s| s.to_string()).collect::<Vec<_>>(),
                &query,
            )
            .await
        }
        (_, ["ace" | "webui" | "server", ..]) if method != Method::GET => {
            text(StatusCode::METHOD_NOT_ALLOWED, "method not allowed")
        }
        _ => text(StatusCode::NOT_FOUND, "not found"),
    }
}
