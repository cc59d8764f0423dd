//! One log line per request, with the password masked out of the path and query.

use std::time::Instant;

use acextream_core::redact::redact_uri;
use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;

/// Logs `method uri status ms ip` when the response headers are ready (a stream's
/// line is written when it starts, not when it ends).
pub async fn log_request(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let started = Instant::now();
    let method = req.method().clone();
    let uri = redact_uri(
        req.uri()
            .path_and_query()
            .map(|p| p.as_str())
            .unwrap_or("/"),
    )
    .into_owned();
    let ip = req
        .peer_addr()
        .map(|a| a.ip().to_string())
        .unwrap_or_else(|| "-".into());
    let res = next.call(req).await;
    let status = match &res {
        Ok(r) => r.status().as_u16(),
        Err(e) => e.as_response_error().status_code().as_u16(),
    };
    tracing::info!(
        target: "acextream::access",
        %method,
        uri,
        status,
        ms = started.elapsed().as_millis() as u64,
        ip,
        "request"
    );
    res
}
