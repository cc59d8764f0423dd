//! HTML pages scraped for `acestream://` links. (To be written.)

use super::ParsedList;

/// Scrapes an HTML page.
pub fn scrape_html(_text: &str) -> ParsedList {
    ParsedList::default()
}
