//! The one response body type of the multiplexer, with its constructors.

use std::convert::Infallible;

use bytes::Bytes;
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Empty, Full, StreamBody};
use hyper::body::Frame;

use crate::hub::Viewer;

/// Every response body the multiplexer sends.
pub type Body = BoxBody<Bytes, Infallible>;

/// No body.
pub fn empty() -> Body {
    Empty::new().boxed()
}

/// A body known in full.
pub fn full(bytes: impl Into<Bytes>) -> Body {
    Full::new(bytes.into()).boxed()
}

/// A body of several shared pieces (an HLS segment's slices of the ring), sent
/// as they are: no piece is copied.
pub fn parts(parts: Vec<Bytes>) -> Body {
    let frames = futures_util::stream::iter(
        parts
            .into_iter()
            .map(|b| Ok::<_, Infallible>(Frame::data(b))),
    );
    StreamBody::new(frames).boxed()
}

/// A viewer's endless stream; ends when the channel ends. Dropping the body (the
/// player went away) drops the viewer, which leaves the hub at once.
pub fn stream(viewer: Viewer) -> Body {
    let frames = futures_util::stream::unfold(viewer, |mut viewer| async move {
        let bytes = viewer.next().await?;
        Some((Ok(Frame::data(bytes)), viewer))
    });
    StreamBody::new(frames).boxed()
}
