//! JSON lists of AceStream channels. (To be written.)

use super::ParsedList;

/// Parses a JSON list.
pub fn parse_json(_text: &str) -> ParsedList {
    ParsedList::default()
}
