//! Keeps each link's health record: drains the multiplexer's link events into the
//! store (`channel_links`), off the streaming path, so the next viewer's channel
//! tries its links healthy-first and the dashboard shows what failed and why.

use acextream_core::Store;
use acextream_core::store::{links, now_epoch};
use acextream_mux::events::{LinkEvent, LinkEvents};

/// A sender for the multiplexer; a task writes what it receives into `store`.
pub fn record(store: Store) -> LinkEvents {
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<LinkEvent>();
    tokio::spawn(async move {
        while let Some(event) = rx.recv().await {
            let written = store
                .run(move |c| match &event {
                    LinkEvent::Worked(link) => links::record_success(c, link, now_epoch()),
                    LinkEvent::Failed(link, reason) => {
                        links::record_failure(c, link, reason, now_epoch())
                    }
                })
                .await;
            if let Err(e) = written {
                tracing::warn!(error = %e, "could not record a link's health");
            }
        }
    });
    tx
}
