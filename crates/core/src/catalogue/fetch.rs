//! Downloads a source: http(s) with conditional GET (ETag / Last-Modified), or a
//! local file. Sizes are capped, so a hostile or broken server cannot fill memory
//! or disk; big guide feeds go to a temporary file, never into memory.

use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

use futures_util::StreamExt;
use reqwest::StatusCode;
use reqwest::header::{ETAG, IF_MODIFIED_SINCE, IF_NONE_MATCH, LAST_MODIFIED};

use crate::redact::redact_text;

/// Why a download failed, in one line (credentials in URLs masked).
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    /// Connection, TLS or protocol failure.
    #[error("download failed: {0}")]
    Http(String),
    /// The server answered an error status.
    #[error("the server answered HTTP {0}")]
    Status(u16),
    /// More than the allowed size.
    #[error("larger than the {0} byte limit")]
    TooLarge(u64),
    /// A local file could not be read, or the temporary file written.
    #[error("{0}")]
    Io(String),
}

/// Where the bytes of a download are.
#[derive(Debug)]
pub enum Body {
    /// In memory (channel lists).
    Bytes(Vec<u8>),
    /// In a file (guide feeds); a temporary one is deleted when dropped.
    File(PathBuf, Option<tempfile::TempPath>),
}

/// The outcome of a download.
#[derive(Debug)]
pub enum Fetched {
    /// The server said nothing changed since the validators (304).
    NotModified,
    /// New content.
    Fresh {
        /// The content.
        body: Body,
        /// Validator for the next conditional GET.
        etag: Option<String>,
        /// Validator for the next conditional GET.
        last_modified: Option<String>,
    },
}

/// Downloads sources.
#[derive(Clone)]
pub struct Fetcher {
    http: reqwest::Client,
    max_bytes: u64,
}

impl Fetcher {
    /// A fetcher whose downloads may take `timeout` in all and hold `max_bytes`.
    pub fn new(timeout: Duration, max_bytes: u64) -> Result<Self, FetchError> {
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(10))
            .timeout(timeout)
            .gzip(true)
            .user_agent(concat!("acextream/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| FetchError::Http(e.to_string()))?;
        Ok(Self { http, max_bytes })
    }

    /// Downloads `location` into memory.
    pub async fn fetch(
        &self,
        location: &str,
        etag: Option<&str>,
        last_modified: Option<&str>,
    ) -> Result<Fetched, FetchError> {
        self.get(location, etag, last_modified, false).await
    }

    /// Downloads `location` into a temporary file (a local file is used in place).
    pub async fn fetch_to_file(
        &self,
        location: &str,
        etag: Option<&str>,
        last_modified: Option<&str>,
    ) -> Result<Fetched, FetchError> {
        self.get(location, etag, last_modified, true).await
    }

    async fn get(
        &self,
        location: &str,
        etag: Option<&str>,
        last_modified: Option<&str>,
        to_file: bool,
    ) -> Result<Fetched, FetchError> {
        let Some(url) = http_url(location) else {
            return self.local(location, to_file).await;
        };
        let mut req = self.http.get(url);
        if let Some(tag) = etag {
            req = req.header(IF_NONE_MATCH, tag);
        }
        if let Some(lm) = last_modified {
            req = req.header(IF_MODIFIED_SINCE, lm);
        }
        let resp = req.send().await.map_err(http_error)?;
        if resp.status() == StatusCode::NOT_MODIFIED {
            return Ok(Fetched::NotModified);
        }
        if !resp.status().is_success() {
            return Err(FetchError::Status(resp.status().as_u16()));
        }
        let header = |name| {
            resp.headers()
                .get(name)
                .and_then(|v: &reqwest::header::HeaderValue| v.to_str().ok())
                .map(str::to_owned)
        };
        let (etag, last_modified) = (header(ETAG), header(LAST_MODIFIED));
        if resp.content_length().is_some_and(|n| n > self.max_bytes) {
            return Err(FetchError::TooLarge(self.max_bytes));
        }
        let mut stream = resp.bytes_stream();
        let mut total = 0u64;
        let body = if to_file {
            let file = tempfile::NamedTempFile::new().map_err(|e| FetchError::Io(e.to_string()))?;
            let (mut file, path) = file.into_parts();
            while let Some(chunk) = stream.next().await {
                let chunk = chunk.map_err(http_error)?;
                total += chunk.len() as u64;
                if total > self.max_bytes {
                    return Err(FetchError::TooLarge(self.max_bytes));
                }
                file.write_all(&chunk)
                    .map_err(|e| FetchError::Io(e.to_string()))?;
            }
            file.flush().map_err(|e| FetchError::Io(e.to_string()))?;
            Body::File(path.to_path_buf(), Some(path))
        } else {
            let mut bytes = Vec::new();
            while let Some(chunk) = stream.next().await {
                let chunk = chunk.map_err(http_error)?;
                total += chunk.len() as u64;
                if total > self.max_bytes {
                    return Err(FetchError::TooLarge(self.max_bytes));
                }
                bytes.extend_from_slice(&chunk);
            }
            Body::Bytes(bytes)
        };
        Ok(Fetched::Fresh {
            body,
            etag,
            last_modified,
        })
    }

    async fn local(&self, location: &str, to_file: bool) -> Result<Fetched, FetchError> {
        let path = PathBuf::from(location.strip_prefix("file://").unwrap_or(location));
        let meta = tokio::fs::metadata(&path)
            .await
            .map_err(|e| FetchError::Io(format!("cannot read {}: {e}", path.display())))?;
        if !meta.is_file() {
            return Err(FetchError::Io(format!("{} is not a file", path.display())));
        }
        if meta.len() > self.max_bytes {
            return Err(FetchError::TooLarge(self.max_bytes));
        }
        let body = if to_file {
            Body::File(path, None)
        } else {
            let bytes = tokio::fs::read(&path)
                .await
                .map_err(|e| FetchError::Io(format!("cannot read {}: {e}", path.display())))?;
            Body::Bytes(bytes)
        };
        Ok(Fetched::Fresh {
            body,
            etag: None,
            last_modified: None,
        })
    }
}

/// `Some(url)` for http(s) locations; anything else is a local path.
pub fn http_url(location: &str) -> Option<reqwest::Url> {
    reqwest::Url::parse(location)
        .ok()
        .filter(|u| matches!(u.scheme(), "http" | "https"))
}

fn http_error(e: reqwest::Error) -> FetchError {
    let mut msg = e.to_string();
    let mut source = std::error::Error::source(&e);
    while let Some(cause) = source {
        msg.push_str(": ");
        msg.push_str(&cause.to_string());
        source = cause.source();
    }
    FetchError::Http(redact_text(&msg).into_owned())
}
