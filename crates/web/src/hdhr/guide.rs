//! The tuner's guide, `xmltv.xml` (or the gzip file `xmltv.xml.gz`), shaped so
//! media servers map its channels to the lineup's by themselves:
//! - `<channel id>` is the `GuideNumber` (the convention Plex users rely on with
//!   emulated tuners);
//! - the name comes first as `<display-name>`, the number after it: Jellyfin
//!   takes the *last* numeric display-name as the channel number and ignores
//!   `<lcn>`; the `<lcn>` is there for the others;
//! - every programme also carries the DVR category it belongs to (`Sports`,
//!   `News`, `Movie`, `Kids` — the names Plex and Jellyfin filter by), read from
//!   its own category or else its channel's.
//!
//! `xmltv.php` keeps the Xtream shape (guide ids from the sources) for players.

use std::collections::HashMap;

use acextream_core::store::lineup;
use actix_web::{HttpRequest, HttpResponse, web};

use super::device::Tuner;
use crate::error::ApiError;
use crate::state::AppState;
use crate::xtream::guide::{Encoding, accepts_gzip, serve_guide};
use crate::xtream::xmltv_writer::{GuideChannel, XmltvWriter};

/// `GET xmltv.xml`: XML, gzipped on the wire when the client asks.
pub async fn xmltv(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let encoding = if accepts_gzip(&req) {
        Encoding::Gzip
    } else {
        Encoding::Identity
    };
    serve(req, state, encoding).await
}

/// `GET xmltv.xml.gz`: the same document as a gzip file.
pub async fn xmltv_gz(
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    serve(req, state, Encoding::GzipFile).await
}

async fn serve(
    req: HttpRequest,
    state: web::Data<AppState>,
    encoding: Encoding,
) -> Result<HttpResponse, ApiError> {
    Tuner::of(&req, &state).await?;
    let channels = state.store.run(|c| lineup::lineup(c)).await?;
    // Channel row id → (guide id, DVR categories of the channel's own category).
    let mut route: HashMap<i64, (String, Vec<&'static str>)> = HashMap::new();
    let declared: Vec<GuideChannel> = channels
        .iter()
        .map(|ch| {
            let number = ch.number.to_string();
            let fallback = dvr_categories(ch.category.as_deref().unwrap_or(""));
            route.insert(ch.id, (number.clone(), fallback));
            GuideChannel {
                id: number.clone(),
                names: vec![ch.name.clone(), number.clone()],
                icon: Some(ch.logo.clone()).filter(|l| !l.trim().is_empty()),
                lcn: Some(number),
            }
        })
        .collect();
    serve_guide(&state, encoding, move |out, tz, walk| {
        let mut doc = XmltvWriter::begin(out, tz)?;
        for c in &declared {
            doc.channel(c)?;
        }
        walk(&mut |channel_id, p| {
            if let Some((id, fallback)) = route.get(&channel_id) {
                let own = dvr_categories(&p.category);
                let categories = if own.is_empty() { fallback } else { &own };
                doc.programme_in(id, p, categories)?;
            }
            Ok(())
        })?;
        doc.end()?;
        Ok(())
    })
    .await
}

/// The DVR categories a free-text category (a programme's, or a channel group's
/// such as "Deportes" or "Calcio") belongs to, by keywords in a few languages.
pub fn dvr_categories(text: &str) -> Vec<&'static str> {
    const KINDS: &[(&str, &[&str])] = &[
        (
            "Sports",
            &[
                "sport",
                "deport",
                "football",
                "futbol",
                "fútbol",
                "soccer",
                "calcio",
                "fussball",
                "fußball",
                "futebol",
                "tennis",
                "basket",
                "rugby",
                "cricket",
                "hockey",
                "boxing",
                "golf",
                "motogp",
                "formula 1",
                "nba",
                "nfl",
                "nhl",
                "ufc",
                "liga",
                "спорт",
            ],
        ),
        (
            "News",
            &[
                "news",
                "noticias",
                "notizie",
                "nachrichten",
                "actualité",
                "новости",
            ],
        ),
        (
            "Movie",
            &[
                "movie",
                "film",
                "cine",
                "kino",
                "pelicula",
                "película",
                "кино",
            ],
        ),
        (
            "Kids",
            &[
                "kids",
                "children",
                "infantil",
                "cartoon",
                "enfants",
                "bambini",
                "детск",
            ],
        ),
    ];
    let text = text.to_lowercase();
    if text.trim().is_empty() {
        return Vec::new();
    }
    KINDS
        .iter()
        .filter(|(_, words)| words.iter().any(|w| text.contains(w)))
        .map(|(kind, _)| *kind)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn categories_are_read_in_several_languages() {
        assert_eq!(dvr_categories("Football"), vec!["Sports"]);
        assert_eq!(dvr_categories("DEPORTES"), vec!["Sports"]);
        assert_eq!(dvr_categories("Notizie"), vec!["News"]);
        assert_eq!(dvr_categories("Película"), vec!["Movie"]);
        assert_eq!(dvr_categories("Sports news"), vec!["Sports", "News"]);
        assert!(dvr_categories("Music").is_empty());
        assert!(dvr_categories("").is_empty());
    }
}
