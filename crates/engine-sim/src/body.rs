//! The one response-body type of the server and the helpers that build responses
//! (JSON envelopes, plain text, redirects, the endless playback stream).

use std::convert::Infallible;

use bytes::Bytes;
use http::header::{CONTENT_TYPE, LOCATION};
use http::{HeaderValue, Response, StatusCode};
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyExt, Full, StreamBody};
use hyper::body::Frame;
use serde_json::{Value, json};

use crate::reader::Reader;

/// Every response body: a full buffer or a stream. Unsync because the stream's
/// future is Send but not Sync, and hyper only needs Send.
pub(crate) type Body = UnsyncBoxBody<Bytes, Infallible>;
/// Every response.
pub(crate) type Resp = Response<Body>;

pub(crate) fn full(bytes: impl Into<Bytes>) -> Body {
    Full::new(bytes.into()).boxed_unsync()
}

fn with_type(status: StatusCode, content_type: &'static str, body: Body) -> Resp {
    let mut resp = Response::new(body);
    *resp.status_mut() = status;
    resp.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    resp
}

pub(crate) fn json(status: StatusCode, value: &Value) -> Resp {
    with_type(status, "application/json", full(value.to_string()))
}

pub(crate) fn text(status: StatusCode, msg: &str) -> Resp {
    with_type(
        status,
        "text/plain; charset=utf-8",
        full(format!("{msg}\n")),
    )
}

/// `{"response": value, "error": null}`, the `/ace/*` success envelope.
pub(crate) fn response_ok(value: Value) -> Resp {
    json(StatusCode::OK, &json!({"response": value, "error": null}))
}

/// `{"response": null, "error": msg}` with HTTP 200, as the engine answers errors.
pub(crate) fn response_err(msg: &str) -> Resp {
    json(StatusCode::OK, &json!({"response": null, "error": msg}))
}

/// `{"result": value, "error": null}`, the `/server/api` and `/webui` envelope.
pub(crate) fn result_ok(value: Value) -> Resp {
    json(StatusCode::OK, &json!({"result": value, "error": null}))
}

pub(crate) fn result_err(msg: &str) -> Resp {
    json(StatusCode::OK, &json!({"result": null, "error": msg}))
}

pub(crate) fn redirect(location: &str) -> Resp {
    match HeaderValue::from_str(location) {
        Ok(v) => {
            let mut resp = text(StatusCode::FOUND, "Found");
            resp.headers_mut().insert(LOCATION, v);
            resp
        }
        Err(_) => text(StatusCode::INTERNAL_SERVER_ERROR, "bad redirect location"),
    }
}

pub(crate) fn mpeg_ts(body: Body) -> Resp {
    with_type(StatusCode::OK, "video/mp2t", body)
}

pub(crate) fn m3u8(playlist: String) -> Resp {
    with_type(
        StatusCode::OK,
        "application/vnd.apple.mpegurl",
        full(playlist),
    )
}

/// The endless playback body: no Content-Length, chunks as the reader yields them;
/// dropping the body (client gone) drops the reader and frees its slot.
pub(crate) fn stream(reader: Reader) -> Body {
    let chunks = futures_util::stream::unfold(reader, |mut r| async move {
        let chunk = r.next_chunk().await?;
        Some((Ok::<_, Infallible>(Frame::data(chunk)), r))
    });
    StreamBody::new(chunks).boxed_unsync()
}
