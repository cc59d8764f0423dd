//! Catalogue files (TOML, `[[content]]` tables) and the built-in demo catalogue.

use std::path::Path;

use anyhow::Context as _;
use serde::Deserialize;

use crate::content::{Content, ContentSpec, Video};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CatalogueFile {
    #[serde(default)]
    content: Vec<ContentSpec>,
}

/// Parses a catalogue from TOML text.
pub fn parse_catalogue(text: &str) -> anyhow::Result<Vec<Content>> {
    let file: CatalogueFile = toml::from_str(text).context("parsing the catalogue")?;
    file.content
        .into_iter()
        .map(|spec| Content::try_from(spec).map_err(anyhow::Error::msg))
        .collect()
}

/// Reads and parses a catalogue file.
pub fn load_catalogue(path: &Path) -> anyhow::Result<Vec<Content>> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading the catalogue {}", path.display()))?;
    parse_catalogue(&text).with_context(|| format!("in {}", path.display()))
}

/// Six demo channels, the same as `demo-catalogue.toml`: ids derived from the
/// names, different bitrates and start-up delays, all well-behaved; four carry
/// the synthetic stream, the last two the decodable test cards.
pub fn demo_catalogue() -> Vec<Content> {
    use std::time::Duration;
    vec![
        Content::new("Demo Sport").with_startup_delay(Duration::from_millis(1500)),
        Content::new("Demo News")
            .with_bitrate(2_000_000)
            .with_startup_delay(Duration::from_millis(500)),
        Content::new("Demo Movies")
            .with_bitrate(6_000_000)
            .with_startup_delay(Duration::from_millis(2000)),
        Content::new("Demo Music")
            .with_bitrate(1_000_000)
            .with_startup_delay(Duration::from_millis(800)),
        Content::new("Test Card HD (H.264)")
            .with_video(Video::H264)
            .with_startup_delay(Duration::from_millis(1000)),
        Content::new("Test Card MPEG-2")
            .with_video(Video::Mpeg2)
            .with_startup_delay(Duration::from_millis(1000)),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shipped_demo_file_matches_the_built_in_catalogue() {
        let parsed = parse_catalogue(include_str!("../demo-catalogue.toml")).unwrap();
        assert_eq!(parsed, demo_catalogue());
    }

    #[test]
    fn explicit_ids_and_faults_parse() {
        let text = r#"
            [[content]]
            name = "X"
            content_id = "00112233445566778899AABBCCDDEEFF00112233"
            infohash = "ffeeddccbbaa99887766554433221100ffeeddcc"
            bitrate_kbps = 1000
            startup_delay_ms = 250
            fault = { kind = "stall", at_secs = 2.0, for_secs = 3.0 }
        "#;
        let c = &parse_catalogue(text).unwrap()[0];
        assert_eq!(c.content_id, "00112233445566778899aabbccddeeff00112233");
        assert_eq!(c.bitrate_bps, 1_000_000);
        assert_eq!(c.startup_delay.as_millis(), 250);
        assert_eq!(
            c.fault,
            crate::Fault::Stall {
                at_secs: 2.0,
                for_secs: 3.0
            }
        );
    }

    #[test]
    fn video_parses_and_real_video_brings_its_bitrate() {
        let text = r#"
            [[content]]
            name = "Plain"

            [[content]]
            name = "Card"
            video = "h264"
            bitrate_kbps = 9000

            [[content]]
            name = "Old card"
            video = "mpeg2"
        "#;
        let c = parse_catalogue(text).unwrap();
        assert_eq!(c[0].video, Video::Synthetic);
        assert_eq!(c[1].video, Video::H264);
        assert_eq!(c[2].video, Video::Mpeg2);
        // The files' own rates (~790 and ~300 kbit/s), not the 9000 asked for.
        assert!(
            (700_000..900_000).contains(&c[1].bitrate_bps),
            "{}",
            c[1].bitrate_bps
        );
        assert!(
            (250_000..350_000).contains(&c[2].bitrate_bps),
            "{}",
            c[2].bitrate_bps
        );
        assert!(parse_catalogue("[[content]]\nname = \"X\"\nvideo = \"vp9\"\n").is_err());
        // Synthetic is the default and is left out when written back.
        let v = serde_json::to_value(&c[0]).unwrap();
        assert!(v.get("video").is_none());
        assert_eq!(serde_json::to_value(&c[1]).unwrap()["video"], "h264");
    }

    #[test]
    fn unknown_fields_are_rejected() {
        assert!(parse_catalogue("[[content]]\nname = \"X\"\nbitrate = 3\n").is_err());
    }
}
