//! What a viewer asks the multiplexer for — a channel and the links to play it
//! with, in the order to try them — as the web side writes it in the query of
//! `/ace/getstream` (the web ↔ mux contract, README "The web ↔ mux contract"):
//!
//! - `id=<40 hex>`, `infohash=<40 hex>`, `url=<http(s) URL>`: one link each,
//!   repeatable; their order in the query is the order to try them.
//! - `channel=<id>`: the channel they belong to. One hub per channel, whatever link
//!   it is on; without it the hub is the (first) link's own, as for a bare
//!   `/ace/getstream?id=…` from a player.
//! - `cooling=<n>`: the last `n` links failed recently (the web side put them
//!   last); a switch skips them while other links are left.
//!
//! Everything else is an engine parameter the player passed, sent on to the engine.

use std::fmt;

use acextream_core::engine::{ContentKey, is_reserved_param};
use acextream_core::redact::redact_text;
use acextream_core::sources::StreamRef;

/// Most links one request may name: a channel with more is a data problem.
pub const MAX_LINKS: usize = 64;

/// What a hub is the channel of.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum HubKey {
    /// A catalogue channel, by its id (the Xtream `stream_id`).
    Channel(i64),
    /// A bare stream asked for by itself.
    Stream(StreamRef),
}

/// A parsed `/ace/getstream` request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChannelRequest {
    /// The hub to join or start.
    pub key: HubKey,
    /// Links in the order to try them (never empty).
    pub links: Vec<StreamRef>,
    /// How many of the last links are in cool-down.
    pub cooling: usize,
    /// The player's engine parameters.
    pub params: Vec<(String, String)>,
}

impl ChannelRequest {
    /// Reads the query; the error is a one-line reason for a 400.
    pub fn parse(query: &[(String, String)]) -> Result<Self, String> {
        let mut links = Vec::new();
        let mut channel = None;
        let mut cooling = 0;
        let mut params = Vec::new();
        for (k, v) in query {
            match k.as_str() {
                "id" | "infohash" => {
                    let value = v.trim().to_ascii_lowercase();
                    if value.len() != 40 || !value.bytes().all(|b| b.is_ascii_hexdigit()) {
                        return Err(format!("{k} must be 40 hexadecimal digits"));
                    }
                    let key = if k == "id" {
                        ContentKey::ContentId(value)
                    } else {
                        ContentKey::Infohash(value)
                    };
                    links.push(StreamRef::Ace { key });
                }
                "url" => {
                    let url = url::Url::parse(v.trim())
                        .ok()
                        .filter(|u| matches!(u.scheme(), "http" | "https"))
                        .ok_or("url must be an http(s) URL")?;
                    links.push(StreamRef::Direct { url: url.into() });
                }
                "channel" => {
                    channel = Some(
                        v.parse::<i64>()
                            .map_err(|_| "channel must be a channel id".to_owned())?,
                    );
                }
                "cooling" => {
                    cooling = v
                        .parse::<usize>()
                        .map_err(|_| "cooling must be a count".to_owned())?;
                }
                _ if is_reserved_param(k) => {}
                _ => params.push((k.clone(), v.clone())),
            }
        }
        if links.is_empty() {
            return Err("one of id, infohash or url is required".into());
        }
        if links.len() > MAX_LINKS {
            return Err(format!("at most {MAX_LINKS} links"));
        }
        let key = match channel {
            Some(id) => HubKey::Channel(id),
            None => HubKey::Stream(links[0].clone()),
        };
        Ok(Self {
            key,
            cooling: cooling.min(links.len()),
            links,
            params,
        })
    }
}

/// A link as status pages and logs show it: the kind and the value, a direct
/// URL with any credentials in it masked.
pub struct Shown<'a>(pub &'a StreamRef);

impl fmt::Display for Shown<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            StreamRef::Ace { key } => write!(f, "{}:{}", key.param(), key.value()),
            StreamRef::Direct { url } => write!(f, "url:{}", redact_text(url)),
        }
    }
}

/// The value alone (`stream_id` of the status shapes).
pub fn value_of(link: &StreamRef) -> String {
    match link {
        StreamRef::Ace { key } => key.value().to_owned(),
        StreamRef::Direct { url } => redact_text(url).into_owned(),
    }
}

/// `id`, `infohash` or `url`.
pub fn kind_of(link: &StreamRef) -> &'static str {
    match link {
        StreamRef::Ace { key } => key.param(),
        StreamRef::Direct { .. } => "url",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn links_keep_their_query_order_and_the_channel_is_the_hub() {
        let a = "a".repeat(40);
        let b = "B".repeat(40);
        let r = ChannelRequest::parse(&q(&[
            ("channel", "7"),
            ("infohash", &b),
            ("url", "http://example.com/x.ts"),
            ("id", &a),
            ("cooling", "1"),
            ("pid", "theirs"),
            ("quality", "hd"),
        ]))
        .unwrap();
        assert_eq!(r.key, HubKey::Channel(7));
        let kinds: Vec<_> = r.links.iter().map(kind_of).collect();
        assert_eq!(kinds, ["infohash", "url", "id"]);
        assert_eq!(value_of(&r.links[0]), "b".repeat(40));
        assert_eq!(r.cooling, 1);
        assert_eq!(
            r.params,
            q(&[("quality", "hd")]),
            "pid never reaches the engine"
        );
    }

    #[test]
    fn a_bare_stream_is_its_own_hub_and_bad_input_is_named() {
        let a = "a".repeat(40);
        let r = ChannelRequest::parse(&q(&[("id", &a)])).unwrap();
        assert!(matches!(r.key, HubKey::Stream(_)));
        for (bad, why) in [
            (q(&[]), "required"),
            (q(&[("id", "abc")]), "40 hexadecimal"),
            (q(&[("url", "file:///etc/passwd")]), "http(s)"),
            (q(&[("id", &a), ("channel", "x")]), "channel"),
        ] {
            let err = ChannelRequest::parse(&bad).unwrap_err();
            assert!(err.contains(why), "{err}");
        }
    }

    #[test]
    fn credentials_in_a_direct_link_are_not_shown() {
        let link = StreamRef::Direct {
            url: "http://user:secret@example.com/live.ts?password=hunter2".into(),
        };
        let shown = Shown(&link).to_string();
        assert!(
            !shown.contains("secret") && !shown.contains("hunter2"),
            "{shown}"
        );
    }
}
