//! acextream as an HDHomeRun tuner, black-box through the real binary: what Plex,
//! Jellyfin and Emby read from `discover.json`, `lineup.json` and the guide, the
//! tuner's streams and its busy answer, and auto-detection over UDP discovery
//! (port 65001) and SSDP (port 1900) on loopback. CLIENTS.md §1 has why each
//! field is the way it is.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a panic here is a failed test

mod common;

use std::collections::HashMap;
use std::time::Duration;

use acestream_sim::{Content, SimConfig, Simulator};
use common::fixture::FixtureServer;
use common::{Daemon, eventually, http, raw_http};
use futures_util::StreamExt;
use reqwest::Method;
use serde_json::{Value, json};

const WAIT: Duration = Duration::from_secs(20);

/// A playlist of three channels; `reversed` lists them the other way round.
fn playlist(alpha: &Content, bravo: &Content, charlie: &Content, reversed: bool) -> String {
    let mut entries = [
        format!(
            "#EXTINF:-1 tvg-id=\"alpha.id\" group-title=\"Sport\",Alpha HD\nacestream://{}\n",
            alpha.content_id
        ),
        format!(
            "#EXTINF:-1 tvg-chno=\"7\" group-title=\"News\",Bravo\nacestream://{}\n",
            bravo.content_id
        ),
        format!(
            "#EXTINF:-1 group-title=\"Misc\",Charlie\nacestream://{}\n",
            charlie.content_id
        ),
    ];
    if reversed {
        entries.reverse();
    }
    format!("#EXTM3U\n{}", entries.concat())
}

/// A guide with one programme on `alpha.id` now.
fn guide() -> String {
    let now = jiff::Timestamp::now();
    let fmt = |t: jiff::Timestamp| t.strftime("%Y%m%d%H%M%S +0000").to_string();
    format!(
        "<?xml version=\"1.0\"?>\n<tv>\n<channel id=\"alpha.id\"><display-name>Alpha</display-name></channel>\n\
         <programme start=\"{}\" stop=\"{}\" channel=\"alpha.id\"><title>Derby</title><category>Football</category></programme>\n</tv>\n",
        fmt(now - jiff::SignedDuration::from_hours(1)),
        fmt(now + jiff::SignedDuration::from_hours(1)),
    )
}

async fn json_at(url: &str) -> Value {
    let r = http().get(url).send().await.unwrap();
    assert_eq!(r.status(), 200, "{url}");
    r.json().await.unwrap()
}

/// The HDHomeRun check digit, computed here independently of the server
/// (libhdhomerun's `hdhomerun_discover_validate_device_id`).
fn device_id_is_valid(id: u32) -> bool {
    const L: [u32; 16] = [
        0xA, 0x5, 0xF, 0x6, 0x7, 0xC, 0x1, 0xB, 0x9, 0x2, 0x8, 0xD, 0x4, 0x3, 0xE, 0x0,
    ];
    let n = |i: u32| (id >> (28 - 4 * i)) & 0xF;
    let check = L[n(0) as usize]
        ^ n(1)
        ^ L[n(2) as usize]
        ^ n(3)
        ^ L[n(4) as usize]
        ^ n(5)
        ^ L[n(6) as usize]
        ^ n(7);
    check == 0
}

/// `(GuideName → GuideNumber)` of a lineup.
fn numbers(lineup: &Value) -> HashMap<String, String> {
    lineup
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["GuideName"].as_str().unwrap().to_owned(),
                e["GuideNumber"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

/// Reads until `n` bytes came; panics when the stream ends or pauses for [`WAIT`].
async fn read_bytes(resp: reqwest::Response, n: usize) -> Vec<u8> {
    let mut body = resp.bytes_stream();
    let mut got = Vec::new();
    while got.len() < n {
        let chunk = tokio::time::timeout(WAIT, body.next())
            .await
            .expect("the stream paused")
            .expect("the stream ended")
            .unwrap();
        got.extend_from_slice(&chunk);
    }
    got
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tuner_per_account_plays_and_guides_like_an_hdhomerun() {
    let (alpha, bravo, charlie) = (
        Content::new("hdhr alpha"),
        Content::new("hdhr bravo"),
        Content::new("hdhr charlie"),
    );
    let sim = Simulator::start(SimConfig::with_catalogue(vec![
        alpha.clone(),
        bravo.clone(),
        charlie.clone(),
    ]))
    .await
    .unwrap();
    let lists = FixtureServer::start().await;
    lists.serve(200, playlist(&alpha, &bravo, &charlie, false), None);
    let guides = FixtureServer::start().await;
    guides.serve(200, guide(), None);
    let dir = tempfile::tempdir().unwrap();
    let env = [("ACEXTREAM_ENGINE__URL", sim.url())];
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let mut d = Daemon::start(dir.path(), &env);
    let source = d.add_source("scraper", &lists.url("/list.m3u")).await;
    d.add_source("epg", &guides.url("/guide.xml")).await;
    d.add_user("plex", "plex-pass-1", 1).await;
    d.add_user("jelly", "jelly-pass-1", 0).await;
    let plex = d.url("/hdhr/plex/plex-pass-1");

    // discover.json: every field real clients read, PascalCase, with its JSON type.
    let r = http()
        .get(format!("{plex}/discover.json"))
        .header("Host", "tuner.lan:8123")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let disc: Value = r.json().await.unwrap();
    for (field, value) in [
        ("FriendlyName", "acextream"),
        ("Manufacturer", "Silicondust"),
        ("ModelNumber", "HDTC-2US"),
        ("FirmwareName", "hdhomeruntc_atsc"),
    ] {
        assert_eq!(disc[field], value, "{disc}");
    }
    for field in ["ManufacturerURL", "FirmwareVersion", "DeviceAuth"] {
        assert!(!disc[field].as_str().unwrap().is_empty(), "{field}: {disc}");
    }
    assert_eq!(
        disc["BaseURL"], "http://tuner.lan:8123/hdhr/plex/plex-pass-1",
        "the prefix the client used, Host included"
    );
    assert_eq!(
        disc["LineupURL"],
        "http://tuner.lan:8123/hdhr/plex/plex-pass-1/lineup.json"
    );
    assert!(disc["TunerCount"].is_u64(), "an integer: {disc}");
    assert_eq!(disc["TunerCount"], 1, "the account's max_connections");
    let device_id = disc["DeviceID"].as_str().unwrap().to_owned();
    assert_eq!(device_id.len(), 8);
    let id = u32::from_str_radix(&device_id, 16).unwrap();
    assert!(
        device_id_is_valid(id),
        "{device_id} has a valid check digit"
    );
    let jelly = d.url("/hdhr/jelly/jelly-pass-1");
    let jdisc = json_at(&format!("{jelly}/discover.json")).await;
    assert_eq!(jdisc["TunerCount"], 4, "hdhr.tuners_unlimited");
    assert_ne!(jdisc["DeviceID"], disc["DeviceID"], "a device per account");
    assert!(device_id_is_valid(
        u32::from_str_radix(jdisc["DeviceID"].as_str().unwrap(), 16).unwrap()
    ));
    assert!(
        jdisc["BaseURL"]
            .as_str()
            .unwrap()
            .starts_with(&format!("http://{}/hdhr/jelly/", d.public)),
        "never 0.0.0.0: {jdisc}"
    );

    // A wrong password is no tuner.
    let r = http()
        .get(d.url("/hdhr/plex/wrong/discover.json"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);

    // lineup_status.json and lineup.post, as Plex drives them.
    assert_eq!(
        json_at(&format!("{plex}/lineup_status.json")).await,
        json!({"ScanInProgress":0,"ScanPossible":1,"Source":"Cable","SourceList":["Cable"]})
    );
    for method in [Method::GET, Method::POST] {
        for scan in ["start", "abort"] {
            let r = http()
                .request(
                    method.clone(),
                    format!("{plex}/lineup.post?scan={scan}&source=Cable"),
                )
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 200, "{method} scan={scan}");
        }
    }

    // lineup.json: every channel in number order, absolute query-less TS URLs.
    let lineup = json_at(&format!("{plex}/lineup.json")).await;
    for show in ["found", "demo", "all"] {
        assert_eq!(
            json_at(&format!("{plex}/lineup.json?show={show}")).await,
            lineup
        );
    }
    let entries = lineup.as_array().unwrap();
    assert_eq!(entries.len(), 3, "{lineup}");
    let as_number = |e: &Value| e["GuideNumber"].as_str().unwrap().parse::<f64>().unwrap();
    assert!(
        entries
            .windows(2)
            .all(|w| as_number(&w[0]) < as_number(&w[1])),
        "in channel-number order: {lineup}"
    );
    let by_name = numbers(&lineup);
    assert_eq!(by_name["Bravo"], "7", "the source's tvg-chno");
    for e in entries {
        let url = e["URL"].as_str().unwrap();
        assert!(
            url.starts_with(&format!("http://{}/hdhr/plex/", d.public)),
            "{url}"
        );
        assert!(!url.contains('?'), "Jellyfin appends ?transcode=: {url}");
        assert!(e.get("DRM").is_none(), "{e}");
    }
    let alpha_entry = entries
        .iter()
        .find(|e| e["GuideName"] == "Alpha HD")
        .unwrap();
    assert_eq!(alpha_entry["HD"], 1);
    let alpha_url = alpha_entry["URL"].as_str().unwrap().to_owned();
    let bravo_url = entries.iter().find(|e| e["GuideName"] == "Bravo").unwrap()["URL"]
        .as_str()
        .unwrap()
        .to_owned();

    // device.xml parses and names the device.
    let xml = http()
        .get(format!("{plex}/device.xml"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let doc = parse_xml(&xml);
    assert_eq!(
        text_of(&doc, "deviceType"),
        vec!["urn:schemas-upnp-org:device:MediaServer:1"]
    );
    assert_eq!(text_of(&doc, "serialNumber"), vec![device_id.clone()]);
    assert!(text_of(&doc, "UDN")[0].starts_with("uuid:"));

    // A tune plays MPEG-TS through the shared hub (Jellyfin's ?transcode= ignored)…
    let stream = http()
        .get(format!("{alpha_url}?transcode=heavy"))
        .send()
        .await
        .unwrap();
    assert_eq!(stream.status(), 200, "{alpha_url}");
    assert_eq!(stream.headers()["content-type"], "video/mp2t");
    let first = read_bytes(stream, 188 * 50).await;
    assert_eq!(first[0], 0x47, "TS from the first byte");
    // (`read_bytes` consumed the response: open the tune again and hold it.)
    let holding = http().get(&alpha_url).send().await.unwrap();
    assert_eq!(holding.status(), 200);
    // …and holds the account's only tuner: another tune is 805, with no body.
    let busy = http().get(&bravo_url).send().await.unwrap();
    assert_eq!(busy.status(), 503);
    assert_eq!(busy.headers()["x-hdhomerun-error"], "805 All Tuners In Use");
    assert!(busy.bytes().await.unwrap().is_empty(), "an empty body");
    drop(holding);
    assert!(
        eventually(WAIT, async || {
            let r = http()
                .get(format!("{bravo_url}?duration=60"))
                .send()
                .await
                .unwrap();
            r.status() == 200
        })
        .await,
        "the tuner is free once the stream is closed"
    );
    let unknown = http()
        .get(format!("{plex}/auto/v9999"))
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), 404);
    assert!(unknown.bytes().await.unwrap().is_empty());

    // The tuner guide: ids and the last numeric display-name are the lineup's numbers.
    let xml = http()
        .get(format!("{plex}/xmltv.xml"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let guide = parse_xml(&xml);
    let mut ids: Vec<String> = guide
        .iter()
        .filter(|(path, ..)| path.ends_with("/channel"))
        .map(|(_, attrs, ..)| attrs["id"].clone())
        .collect();
    ids.sort();
    let mut lineup_numbers: Vec<String> = by_name.values().cloned().collect();
    lineup_numbers.sort();
    assert_eq!(ids, lineup_numbers, "{xml}");
    for (name, number) in &by_name {
        let names = channel_texts(&guide, number, "display-name");
        assert_eq!(names, vec![name.clone(), number.clone()], "{xml}");
        assert_eq!(channel_texts(&guide, number, "lcn"), vec![number.clone()]);
    }
    let programme = guide
        .iter()
        .find(|(path, ..)| path.ends_with("/programme"))
        .expect("a programme");
    assert_eq!(programme.1["channel"], by_name["Alpha HD"]);
    let categories = text_of(&guide, "category");
    assert!(
        categories.contains(&"Football".to_owned()) && categories.contains(&"Sports".to_owned()),
        "{categories:?}"
    );
    let gz = raw_http()
        .get(format!("{plex}/xmltv.xml"))
        .header("Accept-Encoding", "gzip")
        .send()
        .await
        .unwrap();
    assert_eq!(gz.headers()["content-encoding"], "gzip");
    let mut unpacked = String::new();
    let gz = gz.bytes().await.unwrap();
    std::io::Read::read_to_string(&mut flate2::read::GzDecoder::new(&gz[..]), &mut unpacked)
        .unwrap();
    assert_eq!(unpacked, xml);
    let file = raw_http()
        .get(format!("{plex}/xmltv.xml.gz"))
        .send()
        .await
        .unwrap();
    assert!(file.headers().get("content-encoding").is_none());
    let body = file.bytes().await.unwrap();
    assert_eq!(&body[..2], &[0x1f, 0x8b], "a gzip file");
    let mut unpacked = String::new();
    std::io::Read::read_to_string(&mut flate2::read::GzDecoder::new(&body[..]), &mut unpacked)
        .unwrap();
    assert_eq!(unpacked, xml);

    // A refresh that reorders the source keeps every number.
    lists.serve(200, playlist(&alpha, &bravo, &charlie, true), None);
    d.refresh("scraper", source).await;
    assert_eq!(
        numbers(&json_at(&format!("{plex}/lineup.json")).await),
        by_name
    );

    // A restart keeps the device ids.
    d.terminate();
    d.wait_exit(Duration::from_secs(10)).expect("stopped");
    let d = Daemon::start(dir.path(), &env);
    let again = json_at(&d.url("/hdhr/plex/plex-pass-1/discover.json")).await;
    assert_eq!(again["DeviceID"], device_id.as_str());
    assert_eq!(
        numbers(&json_at(&d.url("/hdhr/plex/plex-pass-1/lineup.json")).await),
        by_name
    );
}

/// One element: its `/`-joined path, attributes, text and parent (an index).
type Element = (String, HashMap<String, String>, String, Option<usize>);

/// Every element of `xml`, in document order.
fn parse_xml(xml: &str) -> Vec<Element> {
    use quick_xml::events::{BytesStart, Event};
    let mut reader = quick_xml::Reader::from_str(xml);
    let mut open: Vec<usize> = Vec::new();
    let mut out: Vec<Element> = Vec::new();
    let element = |e: &BytesStart<'_>, out: &[Element], open: &[usize]| -> Element {
        let name = String::from_utf8(e.name().as_ref().to_vec()).unwrap();
        let parent = open.last().copied();
        let path = match parent {
            Some(p) => format!("{}/{name}", out[p].0),
            None => format!("/{name}"),
        };
        let attrs = e
            .attributes()
            .map(|a| {
                let a = a.unwrap();
                (
                    String::from_utf8(a.key.as_ref().to_vec()).unwrap(),
                    a.unescape_value().unwrap().into_owned(),
                )
            })
            .collect();
        (path, attrs, String::new(), parent)
    };
    loop {
        match reader.read_event().expect("well-formed XML") {
            Event::Start(e) => {
                let el = element(&e, &out, &open);
                out.push(el);
                open.push(out.len() - 1);
            }
            Event::Empty(e) => {
                let el = element(&e, &out, &open);
                out.push(el);
            }
            Event::Text(t) => {
                if let Some(&at) = open.last() {
                    out[at].2.push_str(&t.unescape().unwrap());
                }
            }
            Event::End(_) => {
                open.pop();
            }
            Event::Eof => break,
            _ => {}
        }
    }
    out
}

/// The texts of every element named `name`.
fn text_of(doc: &[Element], name: &str) -> Vec<String> {
    doc.iter()
        .filter(|(path, ..)| path.rsplit('/').next() == Some(name))
        .map(|(_, _, text, _)| text.trim().to_owned())
        .collect()
}

/// The texts of the `name` children of `<channel id="id">`, in order.
fn channel_texts(doc: &[Element], id: &str, name: &str) -> Vec<String> {
    let at = doc
        .iter()
        .position(|(path, attrs, ..)| path.ends_with("/channel") && attrs["id"] == id)
        .unwrap_or_else(|| panic!("no channel {id}"));
    doc.iter()
        .filter(|(path, _, _, parent)| *parent == Some(at) && path.rsplit('/').next() == Some(name))
        .map(|(_, _, text, _)| text.trim().to_owned())
        .collect()
}

/// Jellyfin's discovery request, byte for byte (HdHomerunHost.cs).
const JELLYFIN_DISCOVER: [u8; 20] = [
    0x00, 0x02, 0x00, 0x0C, 0x01, 0x04, 0xFF, 0xFF, 0xFF, 0xFF, 0x02, 0x04, 0xFF, 0xFF, 0xFF, 0xFF,
    0x73, 0xCC, 0x7D, 0x8F,
];

/// A discovery reply's tags, decoded here independently of the server: type 3,
/// lengths in bounds, the CRC-32 (little-endian) of header and payload right.
fn decode_reply(packet: &[u8]) -> HashMap<u8, Vec<u8>> {
    assert!(packet.len() > 13 && packet[1] == 3, "what Jellyfin accepts");
    assert_eq!(&packet[..2], &[0, 3], "a discover reply");
    let len = u16::from_be_bytes([packet[2], packet[3]]) as usize;
    assert_eq!(
        packet.len(),
        4 + len + 4,
        "the length field covers the payload"
    );
    let crc = crc::Crc::<u32>::new(&crc::CRC_32_ISO_HDLC).checksum(&packet[..4 + len]);
    assert_eq!(&packet[4 + len..], &crc.to_le_bytes(), "CRC");
    let mut tags = HashMap::new();
    let mut at = 4;
    while at < 4 + len {
        let tag = packet[at];
        let mut n = packet[at + 1] as usize;
        at += 2;
        if n & 0x80 != 0 {
            n = (n & 0x7F) | ((packet[at] as usize) << 7);
            at += 1;
        }
        tags.insert(tag, packet[at..at + n].to_vec());
        at += n;
    }
    assert_eq!(at, 4 + len, "TLVs end where the payload does");
    tags
}

/// Sends `request` to 127.0.0.1:`port` until an answer comes (the daemon reads
/// the announced account every few seconds); the answer.
async fn ask_udp(port: u16, request: &[u8]) -> Vec<u8> {
    let socket = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let deadline = tokio::time::Instant::now() + WAIT;
    let mut buf = vec![0u8; 2048];
    loop {
        socket.send_to(request, ("127.0.0.1", port)).await.unwrap();
        if let Ok(Ok((n, _))) =
            tokio::time::timeout(Duration::from_millis(500), socket.recv_from(&mut buf)).await
        {
            return buf[..n].to_vec();
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no answer on UDP port {port}"
        );
    }
}

fn m_search(st: &str) -> Vec<u8> {
    format!(
        "M-SEARCH * HTTP/1.1\r\nHOST: 239.255.255.250:1900\r\nMAN: \"ssdp:discover\"\r\nMX: 1\r\nST: {st}\r\n\r\n"
    )
    .into_bytes()
}

/// The value of `name` in an SSDP (HTTP-over-UDP) message.
fn ssdp_header(message: &str, name: &str) -> Option<String> {
    message.lines().find_map(|l| {
        let (k, v) = l.split_once(':')?;
        k.trim()
            .eq_ignore_ascii_case(name)
            .then(|| v.trim().to_owned())
    })
}

/// Both discovery modes, one after the other (they share the fixed ports): without
/// `hdhr.bind` the announced URL is the public port's tuner with the account's
/// tuner token; with it, the dedicated listener's root, which serves the tuner
/// with no credentials. SSDP points at a `device.xml` that parses.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn discovery_and_ssdp_announce_the_configured_account_on_loopback() {
    let channel = Content::new("hdhr discovery");
    let sim = Simulator::start(SimConfig::with_catalogue(vec![channel.clone()]))
        .await
        .unwrap();
    let lists = FixtureServer::start().await;
    lists.serve(
        200,
        format!(
            "#EXTM3U\n#EXTINF:-1,Found\nacestream://{}\n",
            channel.content_id
        ),
        None,
    );
    let sim_url = sim.url();
    let dir = tempfile::tempdir().unwrap();
    let base_env = [
        ("ACEXTREAM_ENGINE__URL", sim_url.as_str()),
        ("ACEXTREAM_HDHR__DISCOVERY_USER", "plex"),
        ("ACEXTREAM_HDHR__DISCOVERY_BIND", "127.0.0.1"),
    ];

    // 1. No hdhr.bind: the public port's /hdhr/plex/<token>.
    let mut d = Daemon::start(dir.path(), &base_env);
    d.add_source("scraper", &lists.url("/list.m3u")).await;
    d.add_user("plex", "plex-pass-1", 2).await;
    let typed = json_at(&d.url("/hdhr/plex/plex-pass-1/discover.json")).await;
    let reply = decode_reply(&ask_udp(65001, &JELLYFIN_DISCOVER).await);
    assert_eq!(reply[&0x01], 1u32.to_be_bytes(), "a tuner");
    assert_eq!(
        format!(
            "{:08X}",
            u32::from_be_bytes(reply[&0x02][..].try_into().unwrap())
        ),
        typed["DeviceID"].as_str().unwrap(),
        "the id the typed URL reports"
    );
    assert_eq!(reply[&0x10], vec![2], "TunerCount");
    let base = String::from_utf8(reply[&0x2A].clone()).unwrap();
    let prefix = format!("http://127.0.0.1:{}/hdhr/plex/", d.public.port());
    assert!(base.starts_with(&prefix), "{base}");
    assert!(
        !base.contains("plex-pass-1"),
        "the password is never announced"
    );
    assert_eq!(
        String::from_utf8(reply[&0x27].clone()).unwrap(),
        format!("{base}/lineup.json")
    );
    // The announced URL works as it is (the tuner token stands in for the password).
    let by_token = json_at(&format!("{base}/discover.json")).await;
    assert_eq!(by_token["DeviceID"], typed["DeviceID"]);
    assert_eq!(by_token["BaseURL"], base.as_str());
    // …and a wrong token is no login.
    let forged = format!("{prefix}{}", "0".repeat(32));
    let r = http()
        .get(format!("{forged}/discover.json"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    // Garbage gets no answer and stops nothing.
    let socket = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    socket
        .send_to(b"\x00\x02\x00\xffjunk", ("127.0.0.1", 65001))
        .await
        .unwrap();
    let mut buf = [0u8; 64];
    assert!(
        tokio::time::timeout(Duration::from_millis(500), socket.recv_from(&mut buf))
            .await
            .is_err(),
        "no reply to a malformed packet"
    );
    decode_reply(&ask_udp(65001, &JELLYFIN_DISCOVER).await);
    d.terminate();
    d.wait_exit(Duration::from_secs(10)).expect("stopped");

    // 2. With hdhr.bind: the dedicated listener's root, no credentials anywhere.
    let mut env = base_env.to_vec();
    env.push(("ACEXTREAM_HDHR__BIND", "127.0.0.1:0"));
    let d = Daemon::start(dir.path(), &env);
    let tuner_addr = loop {
        let line = d
            .log
            .recv_timeout(WAIT)
            .expect("the tuner listener's log line");
        let v: Value = serde_json::from_str(&line).unwrap_or(Value::Null);
        if v["fields"]["message"] == "HDHomeRun tuner listening (hdhr.bind)" {
            break v["fields"]["addr"].as_str().unwrap().to_owned();
        }
    };
    let root = format!("http://{tuner_addr}");
    let reply = decode_reply(&ask_udp(65001, &JELLYFIN_DISCOVER).await);
    assert_eq!(String::from_utf8(reply[&0x2A].clone()).unwrap(), root);
    let disc = json_at(&format!("{root}/discover.json")).await;
    assert_eq!(disc["DeviceID"], typed["DeviceID"], "the same device");
    assert_eq!(disc["BaseURL"], root.as_str());
    let lineup = json_at(&format!("{root}/lineup.json")).await;
    let url = lineup[0]["URL"].as_str().unwrap().to_owned();
    assert!(url.starts_with(&format!("{root}/auto/v")), "{url}");
    let stream = http().get(&url).send().await.unwrap();
    assert_eq!(stream.status(), 200);
    assert_eq!(read_bytes(stream, 188 * 10).await[0], 0x47);
    // Only the tuner lives there.
    let r = http()
        .get(format!("{root}/api/users"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);

    // SSDP: an M-SEARCH for a MediaServer gets LOCATION → device.xml.
    let answer = String::from_utf8(
        ask_udp(1900, &m_search("urn:schemas-upnp-org:device:MediaServer:1")).await,
    )
    .unwrap();
    assert!(answer.starts_with("HTTP/1.1 200 OK\r\n"), "{answer}");
    assert_eq!(
        ssdp_header(&answer, "ST").as_deref(),
        Some("urn:schemas-upnp-org:device:MediaServer:1")
    );
    let location = ssdp_header(&answer, "LOCATION").unwrap();
    assert_eq!(location, format!("{root}/device.xml"));
    let xml = http()
        .get(&location)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let doc = parse_xml(&xml);
    let udn = text_of(&doc, "UDN");
    assert_eq!(
        ssdp_header(&answer, "USN").unwrap(),
        format!("{}::urn:schemas-upnp-org:device:MediaServer:1", udn[0])
    );
    // Another service type is not ours to answer.
    let socket = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    socket
        .send_to(
            &m_search("urn:schemas-upnp-org:device:Printer:1"),
            ("127.0.0.1", 1900),
        )
        .await
        .unwrap();
    let mut buf = [0u8; 512];
    assert!(
        tokio::time::timeout(Duration::from_millis(500), socket.recv_from(&mut buf))
            .await
            .is_err()
    );
}
