//! Catalogue files (TOML, `[[content]]` tables) and the built-in demo catalogue.

use std::path::Path;

use anyhow::Context as _;
use serde::Deserialize;

use crate::content::{Content, ContentSpec};

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

/// Four demo channels, the same as `demo-catalogue.toml`: ids derived from the
/// names, different bitrates and start-up delays, all well-behaved.
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
    fn unknown_fields_are_rejected() {
        assert!(parse_catalogue("[[content]]\nname = \"X\"\nbitrate = 3\n").is_err());
    }
}
