//! The error type of every JSON endpoint: a status code, a stable tag and one line.

use actix_web::http::StatusCode;
use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, ResponseError};
use serde_json::json;

/// An error answered as `{"error": {"code": "...", "message": "..."}}`.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// Missing or wrong credentials (adds `WWW-Authenticate`).
    #[error("authentication required")]
    Unauthorized,
    /// Right password, but the account is disabled or expired (401 with the reason).
    #[error("{0}")]
    AccountUnusable(String),
    /// Authenticated, but not allowed.
    #[error("{0}")]
    Forbidden(String),
    /// Nothing there.
    #[error("{0}")]
    NotFound(String),
    /// The request is malformed; the message names the field.
    #[error("{0}")]
    BadRequest(String),
    /// It conflicts with what exists.
    #[error("{0}")]
    Conflict(String),
    /// A dependency (database, multiplexer) is unusable right now.
    #[error("{0}")]
    Unavailable(String),
    /// The upstream failed.
    #[error("{0}")]
    BadGateway(String),
    /// The upstream did not answer in time (504).
    #[error("{0}")]
    Timeout(String),
    /// The content cannot be served in the asked format (415, with the reason).
    #[error("{0}")]
    Unsupported(String),
    /// The login brake holds for this address; retry after this many seconds.
    #[error("too many failed logins from this address; try again in {0} s")]
    TooManyAttempts(u64),
    /// Anything else; the cause is logged, the player sees one line.
    #[error("internal error")]
    Internal(#[source] anyhow::Error),
}

impl ApiError {
    /// The stable tag scripts can match on.
    pub fn code(&self) -> &'static str {
        match self {
            ApiError::Unauthorized => "unauthorized",
            ApiError::AccountUnusable(_) => "account_unusable",
            ApiError::Forbidden(_) => "forbidden",
            ApiError::NotFound(_) => "not_found",
            ApiError::BadRequest(_) => "bad_request",
            ApiError::Conflict(_) => "conflict",
            ApiError::Unavailable(_) => "unavailable",
            ApiError::BadGateway(_) => "bad_gateway",
            ApiError::Timeout(_) => "timeout",
            ApiError::Unsupported(_) => "unsupported_format",
            ApiError::TooManyAttempts(_) => "too_many_attempts",
            ApiError::Internal(_) => "internal",
        }
    }
}

impl From<acextream_core::StoreError> for ApiError {
    fn from(e: acextream_core::StoreError) -> Self {
        use acextream_core::StoreError as E;
        match e {
            E::NotFound(what) => ApiError::NotFound(format!("{what} not found")),
            E::Conflict(what) => ApiError::Conflict(what),
            E::Invalid(why) => ApiError::BadRequest(why),
            E::Pool(_) | E::DiskFull | E::ReadOnly(_) => ApiError::Unavailable(e.to_string()),
            other => ApiError::Internal(other.into()),
        }
    }
}

impl From<acextream_core::accounts::AccountError> for ApiError {
    fn from(e: acextream_core::accounts::AccountError) -> Self {
        use acextream_core::accounts::AccountError as E;
        match e {
            E::Invalid(msg) => ApiError::BadRequest(msg),
            E::Store(s) => s.into(),
            E::Hash(h) => ApiError::Internal(anyhow::anyhow!(h)),
        }
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            ApiError::Unauthorized | ApiError::AccountUnusable(_) => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::BadGateway(_) => StatusCode::BAD_GATEWAY,
            ApiError::Timeout(_) => StatusCode::GATEWAY_TIMEOUT,
            ApiError::Unsupported(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::TooManyAttempts(_) => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        if let ApiError::Internal(cause) = self {
            tracing::error!(error = format!("{cause:#}"), "request failed");
        }
        let mut resp = HttpResponse::build(self.status_code());
        if matches!(self, ApiError::Unauthorized) {
            resp.insert_header((header::WWW_AUTHENTICATE, "Basic realm=\"acextream\""));
        }
        if let ApiError::TooManyAttempts(secs) = self {
            resp.insert_header((header::RETRY_AFTER, secs.to_string()));
        }
        resp.json(json!({"error": {"code": self.code(), "message": self.to_string()}}))
    }
}

/// Unknown paths: a JSON 404, never an empty 200.
pub async fn not_found(req: HttpRequest) -> HttpResponse {
    let path = acextream_core::redact::redact_uri(req.path()).into_owned();
    ApiError::NotFound(format!("no route for {path}")).error_response()
}

/// Malformed query strings name the problem.
pub fn query_error(
    err: actix_web::error::QueryPayloadError,
    _req: &HttpRequest,
) -> actix_web::Error {
    ApiError::BadRequest(format!("invalid query: {err}")).into()
}

/// Malformed JSON bodies name the problem.
pub fn json_error(err: actix_web::error::JsonPayloadError, _req: &HttpRequest) -> actix_web::Error {
    ApiError::BadRequest(format!("invalid JSON body: {err}")).into()
}

/// Path segments that do not parse (an id too big for an `i64`, invalid UTF-8)
/// name nothing: a JSON 404 like any unknown path.
pub fn path_error(err: actix_web::error::PathError, _req: &HttpRequest) -> actix_web::Error {
    ApiError::NotFound(format!("no such resource: {err}")).into()
}

/// Malformed or oversized form bodies: the JSON error shape, with actix's status
/// (413 when too large, else 400).
pub fn form_error(err: actix_web::error::UrlencodedError, _req: &HttpRequest) -> actix_web::Error {
    let status = err.status_code();
    let code = if status == StatusCode::PAYLOAD_TOO_LARGE {
        "payload_too_large"
    } else {
        "bad_request"
    };
    let message = format!("invalid form body: {err}");
    let resp =
        HttpResponse::build(status).json(json!({"error": {"code": code, "message": message}}));
    actix_web::error::InternalError::from_response(err, resp).into()
}
