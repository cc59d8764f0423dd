//! `lineup.json`: the channels of a tuner, in channel-number order, each with the
//! MPEG-TS URL media servers tune (`{base}/auto/v<GuideNumber>`, see `tune`).
//!
//! The URL has no query string: Jellyfin appends `?transcode=<profile>` by string
//! concatenation for "HDTC" models. Never HLS: Plex takes MPEG-TS only.

use acextream_core::store::lineup::{self, LineupChannel};
use actix_web::{HttpRequest, HttpResponse, web};
use serde::Serialize;

use super::device::{Tuner, no_store};
use crate::error::ApiError;
use crate::state::AppState;

/// One `lineup.json` entry; field names are case-exact (Jellyfin matches them so).
#[derive(Debug, Serialize)]
struct Entry {
    #[serde(rename = "GuideNumber")]
    guide_number: String,
    #[serde(rename = "GuideName")]
    guide_name: String,
    #[serde(rename = "URL")]
    url: String,
    /// 1 where the name says the channel is HD; left out when unknown.
    #[serde(rename = "HD", skip_serializing_if = "Option::is_none")]
    hd: Option<u8>,
}

/// `GET lineup.json[?show=found|demo|all]`: every value of `show` lists the same
/// channels — there is nothing to scan for.
pub async fn lineup_json(
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let tuner = Tuner::of(&req, &state).await?;
    let channels = state.store.run(|c| lineup::lineup(c)).await?;
    let entries: Vec<Entry> = channels
        .iter()
        .map(|ch| Entry {
            guide_number: ch.number.to_string(),
            guide_name: ch.name.clone(),
            url: tune_url(&tuner, ch),
            hd: is_hd(&ch.name).then_some(1),
        })
        .collect();
    Ok(no_store(HttpResponse::Ok()).json(entries))
}

/// The URL that tunes `channel` on `tuner`.
pub fn tune_url(tuner: &Tuner, channel: &LineupChannel) -> String {
    format!("{}/auto/v{}", tuner.base, channel.number)
}

/// Whether a channel's name says it is high definition (`HD`, `FHD`, `UHD`, `4K`,
/// `1080p`/`1080i`, `720p` as a word).
pub fn is_hd(name: &str) -> bool {
    name.split(|c: char| !c.is_alphanumeric()).any(|w| {
        [
            "hd", "fhd", "uhd", "4k", "1080", "1080p", "1080i", "720p", "hevc",
        ]
        .iter()
        .any(|t| w.eq_ignore_ascii_case(t))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hd_is_read_from_whole_words_of_the_name() {
        assert!(is_hd("Sky Sport 1 HD"));
        assert!(is_hd("DAZN 1 [1080p]"));
        assert!(is_hd("Canal+ UHD"));
        assert!(!is_hd("Shadow TV"));
        assert!(!is_hd("HDNet"), "not a word of its own");
        assert!(!is_hd(""));
    }
}
