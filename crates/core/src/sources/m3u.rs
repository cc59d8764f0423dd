//! M3U / M3U8 playlists. (To be written.)

use super::ParsedList;

/// Parses an M3U playlist.
pub fn parse_m3u(_text: &str) -> ParsedList {
    ParsedList::default()
}
