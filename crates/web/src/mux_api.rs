//! JSON calls to the internal multiplexer (status, streams, stop), shared by the
//! public `/ace/status`, the health check and the admin endpoints.

use std::time::Duration;

use reqwest::Method;
use serde_json::{Value, json};

use crate::error::ApiError;
use crate::state::AppState;

/// The multiplexer is in this process, on loopback: if it takes longer than this
/// to describe its streams, it is wedged and the admin should hear so.
const MUX_TIMEOUT: Duration = Duration::from_secs(5);

/// Calls the multiplexer's `path?query` and returns its status and JSON body.
pub async fn mux_call(
    state: &AppState,
    method: Method,
    path: &str,
    query: &[(&str, &str)],
) -> Result<(u16, Value), ApiError> {
    let url = state
        .mux_url
        .join(path)
        .map_err(|e| ApiError::Internal(e.into()))?;
    let resp = state
        .mux_client
        .request(method, url)
        .query(query)
        .timeout(MUX_TIMEOUT)
        .send()
        .await
        .map_err(|e| {
            tracing::warn!(error = %e.without_url(), "multiplexer unreachable");
            ApiError::BadGateway("stream service unavailable".into())
        })?;
    let status = resp.status().as_u16();
    let text = resp
        .text()
        .await
        .map_err(|_| ApiError::BadGateway("stream service answered badly".into()))?;
    // Error answers of the mux are one line of text; keep them as a message.
    let body = serde_json::from_str(&text).unwrap_or_else(|_| json!({ "error": text.trim() }));
    Ok((status, body))
}

/// Every live channel (`/ace/streams`): `{streams: [...], metrics: {...}}`.
pub async fn all_streams(state: &AppState) -> Result<Value, ApiError> {
    match mux_call(state, Method::GET, "/ace/streams", &[]).await? {
        (200, body) => Ok(body),
        (status, body) => Err(ApiError::BadGateway(format!(
            "stream service answered {status}: {body}"
        ))),
    }
}
