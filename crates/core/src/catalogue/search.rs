//! Channel sources that are engine searches: `search:<query>[?category=<c>]`.

use crate::engine::{ContentKey, EngineClient, EngineError};
use crate::sources::{Entry, ParsedList, StreamRef};

/// Results asked for per page.
const PAGE_SIZE: u32 = 50;
/// Pages read at most per refresh, so a broad query cannot run forever.
const MAX_PAGES: u32 = 20;

/// `(query, category)` of a `search:` location, or `None` for other locations.
pub fn parse_location(location: &str) -> Option<(String, Option<String>)> {
    let rest = location.strip_prefix("search:")?;
    let (query, params) = rest.split_once('?').unwrap_or((rest, ""));
    let category = url::form_urlencoded::parse(params.as_bytes())
        .find(|(k, _)| k == "category")
        .map(|(_, v)| v.into_owned())
        .filter(|v| !v.is_empty());
    let query = url::form_urlencoded::parse(format!("q={query}").as_bytes())
        .next()
        .map(|(_, v)| v.trim().to_owned())
        .unwrap_or_default();
    (!query.is_empty()).then_some((query, category))
}

/// Runs the search page by page and turns its items into channel entries.
pub async fn run(
    engine: &EngineClient,
    query: &str,
    category: Option<&str>,
) -> Result<ParsedList, EngineError> {
    let mut list = ParsedList::default();
    for page in 0..MAX_PAGES {
        let (total, items) = engine.search(query, category, page, PAGE_SIZE).await?;
        let got = items.len();
        for item in items {
            if item.infohash.len() != 40 || !item.infohash.bytes().all(|b| b.is_ascii_hexdigit()) {
                list.skipped += 1;
                continue;
            }
            list.entries.push(Entry {
                name: item.name.trim().to_owned(),
                stream: StreamRef::Ace {
                    key: ContentKey::Infohash(item.infohash),
                },
                group: item.categories.first().cloned(),
                logo: None,
                tvg_id: None,
                chno: None,
            });
        }
        let seen = u64::from(page + 1) * u64::from(PAGE_SIZE);
        if got < PAGE_SIZE as usize || seen >= total {
            break;
        }
    }
    Ok(list)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn search_locations_are_parsed() {
        assert_eq!(parse_location("search:sport"), Some(("sport".into(), None)));
        assert_eq!(
            parse_location("search:sky%20sport?category=sport"),
            Some(("sky sport".into(), Some("sport".into())))
        );
        assert_eq!(parse_location("search:"), None);
        assert_eq!(parse_location("http://x/list.m3u"), None);
    }
}
