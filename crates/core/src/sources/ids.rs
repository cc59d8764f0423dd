//! Recognises what plays a channel in every form lists use. (To be written.)

use super::StreamRef;

/// Parses `acestream://ID`, `…/ace/getstream?id=|infohash=`, `…/ace/manifest.m3u8?…`,
/// a bare 40-hex id in a URL path, a bare 40-hex id, or a plain http(s) URL.
pub fn parse_stream_ref(_text: &str) -> Option<StreamRef> {
    None
}
