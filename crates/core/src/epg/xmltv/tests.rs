//! Tests of the XMLTV reader on the fixtures and on hand-made broken feeds.

use proptest::prelude::*;

use super::*;

const GUIDE_A: &[u8] = include_bytes!("../../../tests/fixtures/epg/guide_a.xml");
const MALFORMED: &[u8] = include_bytes!("../../../tests/fixtures/epg/malformed.xml");

/// 2026-11-24 19:45:00 UTC.
const T: i64 = 1_795_549_500;

fn read(
    xml: &[u8],
) -> (
    Result<ReadStats, EpgError>,
    Vec<XmltvChannel>,
    Vec<Programme>,
) {
    let (mut channels, mut programmes) = (Vec::new(), Vec::new());
    let result = read_xmltv(xml, |c| channels.push(c), |p| programmes.push(p));
    (result, channels, programmes)
}

fn titles(programmes: &[Programme]) -> Vec<&str> {
    programmes.iter().map(|p| p.title.as_str()).collect()
}

#[test]
fn the_fixture_reads_completely() {
    let (stats, channels, programmes) = read(GUIDE_A);
    let stats = stats.unwrap();
    assert_eq!(
        stats,
        ReadStats {
            channels: 2,
            programmes: 4,
            skipped: 0
        }
    );
    assert_eq!(
        channels[0],
        XmltvChannel {
            id: "sky.sport.it".into(),
            display_names: vec!["Sky Sport".into(), "Sky Sport HD".into()],
            icon: Some("http://logos.example/sky.png".into()),
        }
    );
    assert_eq!(channels[1].icon, None);
    assert_eq!(
        titles(&programmes),
        ["Inter & Milan", "Highlights", "TG1", "Soliti Ignoti"]
    );
}

#[test]
fn entities_cdata_and_first_values_are_kept() {
    let (_, _, programmes) = read(GUIDE_A);
    let p = &programmes[0];
    assert_eq!(p.channel, "sky.sport.it");
    assert_eq!(p.title, "Inter & Milan");
    assert_eq!(p.lang, "it");
    assert_eq!(p.sub_title, "Serie A, 13ª giornata");
    assert_eq!(
        p.description,
        "Il derby <in diretta> & \"senza\" filtri – tutto\u{a0}qui"
    );
    assert_eq!(p.desc_lang, "it", "the description's own lang is read");
    assert_eq!(p.category, "Sport");
    assert_eq!(p.icon, "http://img.example/derby.jpg?a=1&b=2");
}

#[test]
fn the_description_keeps_its_own_language_from_the_first_non_empty_one() {
    let xml =
        br#"<tv><programme start="20261124194500 +0000" stop="20261124204500 +0000" channel="a">
        <title lang="it">Partita</title><desc lang="de"></desc><desc lang="en">Match</desc>
        <desc lang="fr">Le match</desc></programme></tv>"#;
    let (_, _, programmes) = read(xml);
    assert_eq!(programmes[0].lang, "it");
    assert_eq!(programmes[0].description, "Match");
    assert_eq!(programmes[0].desc_lang, "en");
}

#[test]
fn times_with_offsets_become_utc_epochs() {
    let (_, _, programmes) = read(GUIDE_A);
    let times: Vec<(i64, i64)> = programmes.iter().map(|p| (p.start, p.stop)).collect();
    assert_eq!(
        times,
        [
            (T, T + 7200),
            (T + 7200, T + 10800),
            (T - 2700, T + 900),
            (T + 900, T + 2700)
        ]
    );
}

#[test]
fn unusable_entries_are_skipped_and_counted() {
    let xml = br#"<tv>
        <channel><display-name>No id</display-name></channel>
        <channel id="a"/>
        <programme start="20261124194500" stop="20261124204500" channel="a"><title>ok</title></programme>
        <programme start="20261124194500" stop="20261124204500"><title>no channel</title></programme>
        <programme start="20261124194500" stop="20261124204500" channel="a"><desc>no title</desc></programme>
        <programme start="20261124194500" stop="20261124204500" channel="a"><title>  </title></programme>
        <programme start="tomorrow" stop="20261124204500" channel="a"><title>bad start</title></programme>
        <programme start="20261124194500" stop="later" channel="a"><title>bad stop</title></programme>
        <programme start="20261124204500" stop="20261124194500" channel="a"><title>backwards</title></programme>
        <programme start="20261124194500" stop="20261124194500" channel="a"><title>empty</title></programme>
        <programme start="20261124194500" stop="20261124204500" channel="a"/>
    </tv>"#;
    let (stats, channels, programmes) = read(xml);
    assert_eq!(
        stats.unwrap(),
        ReadStats {
            channels: 1,
            programmes: 1,
            skipped: 9
        }
    );
    assert_eq!(channels.len(), 1);
    assert_eq!(titles(&programmes), ["ok"]);
}

#[test]
fn a_missing_stop_is_the_next_start_of_the_same_channel() {
    let xml = br#"<tv>
        <programme start="20261124194500" channel="a"><title>a1</title></programme>
        <programme start="20261124200000" channel="b"><title>b1</title></programme>
        <programme start="20261124203000" channel="a"><title>a2</title></programme>
        <programme start="20261124210000" stop="20261124220000" channel="b"><title>b2</title></programme>
    </tv>"#;
    let (stats, _, programmes) = read(xml);
    // a2 has no successor: its end is unknown and it is skipped.
    assert_eq!(stats.unwrap().skipped, 1);
    let got: Vec<(&str, i64, i64)> = programmes
        .iter()
        .map(|p| (p.title.as_str(), p.start, p.stop))
        .collect();
    assert_eq!(
        got,
        [
            ("a1", T, T + 2700),
            ("b1", T + 900, T + 4500),
            ("b2", T + 4500, T + 8100)
        ]
    );
}

#[test]
fn malformed_xml_is_an_error_after_what_was_read() {
    let (result, channels, programmes) = read(MALFORMED);
    assert!(matches!(result, Err(EpgError::Xml(_))), "{result:?}");
    assert_eq!(channels.len(), 1);
    assert_eq!(titles(&programmes), ["Replacement"]);
}

#[test]
fn a_truncated_document_is_an_error() {
    let cut = &GUIDE_A[..GUIDE_A.len() / 2];
    assert!(read(cut).0.is_err());
    let unclosed = b"<tv><channel id=\"a\"><display-name>A</display-name></channel>";
    assert!(matches!(read(unclosed).0, Err(EpgError::Xml(_))));
}

#[test]
fn documents_that_are_not_xmltv_are_refused() {
    for doc in [
        &b""[..],
        b"   ",
        b"<!DOCTYPE html><html><body>502 Bad Gateway</body></html>",
        b"not xml at all",
    ] {
        let result = read(doc).0;
        assert!(matches!(result, Err(EpgError::NotXmltv(_))), "{result:?}");
    }
    // An empty but valid guide is a guide.
    assert_eq!(read(b"<tv/>").0.unwrap(), ReadStats::default());
}

#[test]
fn huge_fields_are_capped() {
    let long = "x".repeat(100_000);
    let xml = format!(
        r#"<tv><channel id="{long}"><display-name>{long}</display-name></channel>
        <programme start="20261124194500" stop="20261124204500" channel="a">
        <title>{long}</title><desc>{long}<![CDATA[{long}]]>{long}</desc></programme></tv>"#
    );
    let (stats, channels, programmes) = read(xml.as_bytes());
    assert_eq!(stats.unwrap().programmes, 1);
    assert_eq!(channels[0].id.len(), MAX_FIELD);
    assert_eq!(channels[0].display_names[0].len(), MAX_FIELD);
    assert_eq!(programmes[0].title.len(), MAX_FIELD);
    assert_eq!(programmes[0].description.len(), MAX_FIELD);
}

#[test]
fn a_gigantic_run_of_text_fails_instead_of_filling_memory() {
    let xml = format!(
        "<tv><channel id=\"a\"><display-name>{}",
        "x".repeat(MAX_RUN + 10)
    );
    assert!(matches!(read(xml.as_bytes()).0, Err(EpgError::Io(_))));
}

#[test]
fn a_failing_callback_stops_the_read() {
    let mut seen = 0;
    let result = read_xmltv_with(
        GUIDE_A,
        |_| Ok(()),
        |_| {
            seen += 1;
            Err(EpgError::Xml("stop".into()))
        },
    );
    assert!(result.is_err());
    assert_eq!(seen, 1);
}

#[test]
fn latin1_feeds_keep_their_accents() {
    let xml = b"<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><tv>\
        <programme start=\"20261124194500\" stop=\"20261124204500\" channel=\"a\">\
        <title>T\xe9l\xe9journal</title></programme></tv>";
    let (_, _, programmes) = read(xml);
    assert_eq!(titles(&programmes), ["Téléjournal"]);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
        let _ = read(&bytes);
    }

    /// Bytes made of XMLTV-ish pieces reach much deeper into the reader than noise.
    #[test]
    fn shuffled_xmltv_pieces_never_panic(pieces in proptest::collection::vec(0usize..PIECES.len(), 0..64)) {
        let doc: String = pieces.iter().map(|&i| PIECES[i]).collect();
        let _ = read(doc.as_bytes());
    }
}

const PIECES: &[&str] = &[
    "<tv>",
    "</tv>",
    "<channel id=\"a\">",
    "</channel>",
    "<display-name>",
    "</display-name>",
    "<programme start=\"20261124194500 +0100\" channel=\"a\">",
    "<programme start=\"2026\" stop=\"20261124204500\" channel=\"a\">",
    "</programme>",
    "<title lang=\"it\">",
    "</title>",
    "<desc>",
    "</desc>",
    "<icon src=\"x\"/>",
    "<![CDATA[ x ]]>",
    "&amp;",
    "&#xFFFFFF;",
    "&",
    "é",
    "text",
    "<!-- c -->",
    "<?xml version=\"1.0\"?>",
    "<",
    ">",
    "\"",
];
