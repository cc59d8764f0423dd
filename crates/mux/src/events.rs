//! What the multiplexer tells the rest of acextream about links: which worked and
//! which failed, so the catalogue can keep each link's health record (and order a
//! channel's links by it next time). The daemon drains the channel into the store.

use acextream_core::sources::StreamRef;

/// One observation about a link.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LinkEvent {
    /// The link delivered its first bytes.
    Worked(StreamRef),
    /// The link failed, with the reason in words.
    Failed(StreamRef, String),
}

/// Where the events go; unbounded because they are rare (one per session start or
/// failure) and the multiplexer must never wait on the database.
pub type LinkEvents = tokio::sync::mpsc::UnboundedSender<LinkEvent>;
