//! The one error type of the guide: reading, decoding and storing a feed.

use crate::store::StoreError;

/// Why a guide could not be read or stored.
#[derive(Debug, thiserror::Error)]
pub enum EpgError {
    /// Reading or decompressing the feed failed (a truncated download, a corrupt
    /// gzip or xz stream).
    #[error("cannot read the guide: {0}")]
    Io(#[from] std::io::Error),
    /// The feed is not well-formed XML.
    #[error("malformed XMLTV: {0}")]
    Xml(String),
    /// The document is XML but has no `<tv>` root: an HTML error page or an empty
    /// body served with status 200 must not wipe a source's guide.
    #[error("not an XMLTV document: {0}")]
    NotXmltv(String),
    /// The database refused the guide.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<rusqlite::Error> for EpgError {
    fn from(e: rusqlite::Error) -> Self {
        EpgError::Store(StoreError::from(e))
    }
}
