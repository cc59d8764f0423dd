//! How a catalogue channel is asked of the multiplexer: its links in the order to
//! try them (healthy ones in the admin's order, then those in cool-down), as the
//! query of the internal `/ace/getstream` (see the mux's `links` module).

use acextream_core::sources::StreamRef;
use acextream_core::store::{channels, links, now_epoch};

use crate::error::ApiError;
use crate::state::AppState;

/// The query naming channel `channel_id` and its links; `first` (a link the
/// player asked for by itself) goes to the front. `NotFound` when the channel
/// has no link left.
pub async fn channel_query(
    state: &AppState,
    channel_id: i64,
    first: Option<StreamRef>,
) -> Result<Vec<(String, String)>, ApiError> {
    let cooldown = crate::api::links::link_cooldown(state);
    let mut order = state
        .store
        .run(move |c| links::play_order(c, channel_id, now_epoch(), cooldown))
        .await?;
    if let Some(first) = first
        && let Some(at) = order.iter().position(|(l, _)| l.stream == first)
    {
        let (link, _) = order.remove(at);
        order.insert(0, (link, false));
    }
    if order.is_empty() {
        return Err(ApiError::NotFound("the channel has no link to play".into()));
    }
    let cooling = order.iter().filter(|(_, cooling)| *cooling).count();
    // Cooling links are last already; the mux only needs their count.
    let mut query = vec![("channel".to_owned(), channel_id.to_string())];
    query.extend(order.iter().map(|(l, _)| link_param(&l.stream)));
    query.push(("cooling".to_owned(), cooling.to_string()));
    Ok(query)
}

/// The channel a bare stream (`/ace/getstream?id=…`) belongs to, if any.
pub async fn channel_of(state: &AppState, stream: StreamRef) -> Result<Option<i64>, ApiError> {
    Ok(state
        .store
        .run(move |c| channels::by_stream(c, &stream))
        .await?
        .map(|ch| ch.id))
}

/// One link as a query parameter.
fn link_param(stream: &StreamRef) -> (String, String) {
    match stream {
        StreamRef::Ace { key } => (key.param().to_owned(), key.value().to_owned()),
        StreamRef::Direct { url } => ("url".to_owned(), url.clone()),
    }
}

/// The channel a mux query plays, as the connection registry names it
/// (`channel:7`, or the first link `id:…`), so a TS stream and an HLS viewer of
/// one channel from one address are recognised as one connection.
pub fn channel_key(query: &[(String, String)]) -> String {
    query
        .iter()
        .find(|(k, _)| k == "channel")
        .or_else(|| {
            query
                .iter()
                .find(|(k, _)| matches!(k.as_str(), "id" | "infohash" | "url"))
        })
        .map(|(k, v)| format!("{k}:{}", v.to_ascii_lowercase()))
        .unwrap_or_default()
}
