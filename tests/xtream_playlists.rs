//! `get.php` and `xmltv.php` end to end: an in-process acextream with channels and a
//! guide imported from a local fixture server, read back as a player would (the M3U
//! through acextream's own parser, the XMLTV through its XMLTV reader and a strict
//! structural walk, and with `ACEXTREAM_VALIDATE_XMLTV=1` through `tv_validate_file`).

#![allow(clippy::unwrap_used, clippy::expect_used)] // a panic here is a failed test

mod common;

use std::collections::{HashMap, HashSet};
use std::io::Read;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use acextream_core::Settings;
use acextream_core::accounts::{AccountSpec, Accounts};
use acextream_core::epg::{Programme, XmltvChannel, format_xmltv_time, read_xmltv};
use acextream_core::sources::m3u::parse_m3u;
use common::fixture::FixtureServer;
use common::{ADMIN, Api, TestApp, eventually, raw_http};
use serde_json::{Value, json};

// ---- helpers ---------------------------------------------------------------------

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// `epoch` as an XMLTV time in the zone the server uses with `tz` as
/// `server.timezone` (through `Settings`, so this crate needs no jiff of its own).
fn xmltv_time(epoch: i64, tz: &str) -> Option<String> {
    let mut s = Settings::default();
    s.server.timezone = tz.into();
    format_xmltv_time(epoch, &s.time_zone())
}

/// `username=…&password=…`, form-encoded.
fn creds(user: &str, pass: &str) -> String {
    url::form_urlencoded::Serializer::new(String::new())
        .append_pair("username", user)
        .append_pair("password", pass)
        .finish()
}

fn admin_creds() -> String {
    creds(ADMIN.0, ADMIN.1)
}

/// A 40-hex content id numbered `n`.
fn cid(n: usize) -> String {
    format!("{n:040x}")
}

struct Fetched {
    status: u16,
    headers: reqwest::header::HeaderMap,
    body: Vec<u8>,
}

impl Fetched {
    fn text(&self) -> String {
        String::from_utf8(self.body.clone()).unwrap()
    }
    fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .map(|v| v.to_str().unwrap())
            .unwrap_or("")
    }
}

async fn fetch(req: reqwest::RequestBuilder) -> Fetched {
    let r = req.send().await.unwrap();
    let status = r.status().as_u16();
    let headers = r.headers().clone();
    let body = r.bytes().await.unwrap().to_vec();
    Fetched {
        status,
        headers,
        body,
    }
}

async fn get(app: &TestApp, path: &str) -> Fetched {
    fetch(raw_http().get(app.url(path))).await
}

/// Serves `m3u` and adds it as a channel source, waiting for its first refresh.
async fn import_playlist(app: &TestApp, fixture: &FixtureServer, m3u: String) {
    fixture.serve(200, m3u, None);
    let api = Api(app);
    let (status, source) = api
        .post(
            "/api/scraper/sources",
            json!({"url": fixture.url("/list.m3u")}),
        )
        .await;
    assert_eq!(status, 201, "{source}");
    let id = source["id"].as_i64().unwrap();
    let mut last = Value::Null;
    let done = eventually(Duration::from_secs(20), async || {
        let (_, s) = api.get(&format!("/api/scraper/sources/{id}")).await;
        last = s.clone();
        s["last_success_at"].is_i64() || s["last_error"].is_string()
    })
    .await;
    assert!(
        done && last["last_success_at"].is_i64(),
        "the playlist was imported: {last}"
    );
}

/// Serves `xml` and imports it as a guide source; returns the outcome of an update
/// run after the refresh that adding the source queues (running both at once is a
/// race between two writers of the same source, not what these tests are about).
async fn import_guide(app: &TestApp, fixture: &FixtureServer, xml: String) -> Value {
    fixture.serve(200, xml, None);
    let api = Api(app);
    let (status, epg) = api
        .post(
            "/api/epg/sources",
            json!({"url": fixture.url("/guide.xml")}),
        )
        .await;
    assert_eq!(status, 201, "{epg}");
    let id = epg["id"].as_i64().unwrap();
    let mut last = Value::Null;
    let done = eventually(Duration::from_secs(60), async || {
        let (_, s) = api.get(&format!("/api/epg/sources/{id}")).await;
        last = s.clone();
        s["last_success_at"].is_i64() || s["last_error"].is_string()
    })
    .await;
    assert!(done, "the queued guide refresh ended: {last}");
    let (status, outcome) = api
        .post("/api/epg/update?wait=true", json!({"source_id": id}))
        .await;
    assert_eq!(status, 200, "{outcome}");
    outcome
}

/// Every channel the admin API lists, by id.
async fn channels_by_id(app: &TestApp) -> HashMap<i64, Value> {
    let (status, page) = Api(app).get("/api/channels?limit=1000").await;
    assert_eq!(status, 200, "{page}");
    page["channels"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["id"].as_i64().unwrap(), c.clone()))
        .collect()
}

/// Creates an account directly in the app's database; `disabled` turns it off.
async fn add_user(app: &TestApp, name: &str, pass: &str, expires_at: Option<i64>, disabled: bool) {
    let store = acextream_core::Store::open(&app.db_path()).unwrap();
    let accounts = Accounts::new(store.clone());
    let spec = AccountSpec {
        username: name.into(),
        password: pass.into(),
        max_connections: 1,
        expires_at,
        ..AccountSpec::default()
    };
    accounts.create(spec).await.unwrap();
    if disabled {
        let name = name.to_owned();
        store
            .run(move |c| {
                c.execute("UPDATE users SET enabled = 0 WHERE username = ?1", [name])?;
                Ok(())
            })
            .await
            .unwrap();
    }
}

/// One XMLTV programme line in UTC.
fn programme_xml(channel: &str, start: i64, stop: i64, inner: &str) -> String {
    format!(
        "<programme start=\"{}\" stop=\"{}\" channel=\"{channel}\">{inner}</programme>\n",
        xmltv_time(start, "UTC").unwrap(),
        xmltv_time(stop, "UTC").unwrap()
    )
}

/// An element of a parsed document: enough structure to check names, attributes,
/// order and text, parsed strictly (a stray `<` or `&`, or a mismatched end tag, fails).
#[derive(Debug, Default)]
struct El {
    name: String,
    attrs: Vec<(String, String)>,
    children: Vec<El>,
    text: String,
}

impl El {
    fn attr(&self, name: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
    fn child_names(&self) -> Vec<&str> {
        self.children.iter().map(|c| c.name.as_str()).collect()
    }
}

fn unescape(s: &str) -> String {
    let mut out = String::new();
    let mut rest = s;
    while let Some(at) = rest.find('&') {
        out.push_str(&rest[..at]);
        let end = rest[at..].find(';').expect("an entity ends with ;") + at;
        out.push(match &rest[at + 1..end] {
            "lt" => '<',
            "gt" => '>',
            "amp" => '&',
            "quot" => '"',
            "apos" => '\'',
            other => panic!("unexpected entity &{other};"),
        });
        rest = &rest[end + 1..];
    }
    out.push_str(rest);
    out
}

/// Parses the document element of `xml`, after its prologue.
fn parse_tree(xml: &str) -> El {
    let mut stack: Vec<El> = vec![El::default()];
    let mut rest = xml;
    while let Some(lt) = rest.find('<') {
        let text = &rest[..lt];
        assert!(
            !text.contains('>') || stack.len() == 1,
            "raw > in text: {text:?}"
        );
        stack.last_mut().unwrap().text.push_str(&unescape(text));
        let gt = rest[lt..].find('>').expect("unterminated tag") + lt;
        let tag = &rest[lt + 1..gt];
        rest = &rest[gt + 1..];
        if tag.starts_with('?') || tag.starts_with('!') {
            assert_eq!(stack.len(), 1, "prologue inside an element");
            continue;
        }
        if let Some(name) = tag.strip_prefix('/') {
            let el = stack.pop().unwrap();
            assert_eq!(el.name, name.trim(), "mismatched end tag");
            stack.last_mut().unwrap().children.push(el);
            continue;
        }
        let empty = tag.ends_with('/');
        let tag = tag.trim_end_matches('/');
        let (name, mut attrs_text) = tag.split_once(char::is_whitespace).unwrap_or((tag, ""));
        let mut el = El {
            name: name.to_owned(),
            ..El::default()
        };
        loop {
            attrs_text = attrs_text.trim_start();
            if attrs_text.is_empty() {
                break;
            }
            let (key, after) = attrs_text.split_once("=\"").expect("attribute");
            let end = after.find('"').expect("closing quote");
            let value = &after[..end];
            assert!(!value.contains('<'), "raw < in an attribute");
            el.attrs.push((key.trim().to_owned(), unescape(value)));
            attrs_text = &after[end + 1..];
        }
        if empty {
            stack.last_mut().unwrap().children.push(el);
        } else {
            stack.push(el);
        }
    }
    assert!(rest.trim().is_empty(), "text after the document: {rest:?}");
    assert_eq!(stack.len(), 1, "unclosed elements");
    let mut root = stack.pop().unwrap();
    assert_eq!(root.children.len(), 1, "one document element");
    root.children.pop().unwrap()
}

/// Reads the guide with acextream's own XMLTV reader (quick-xml underneath).
fn read_guide(xml: &[u8]) -> (Vec<XmltvChannel>, Vec<Programme>) {
    let (mut channels, mut programmes) = (Vec::new(), Vec::new());
    let stats = read_xmltv(xml, |c| channels.push(c), |p| programmes.push(p)).unwrap();
    assert_eq!(stats.skipped, 0, "every entry is usable");
    (channels, programmes)
}

/// The children a programme may have, in DTD order.
const PROGRAMME_CHILDREN: [&str; 5] = ["title", "sub-title", "desc", "category", "icon"];

/// Checks what every served guide must satisfy; returns the document element.
fn check_guide_shape(xml: &str, tz_name: &str) -> El {
    assert!(
        xml.starts_with(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<!DOCTYPE tv SYSTEM \"xmltv.dtd\">"
        ),
        "{}",
        &xml[..xml.len().min(200)]
    );
    let tv = parse_tree(xml);
    assert_eq!(tv.name, "tv");
    assert_eq!(tv.attr("generator-info-name"), Some("acextream"));
    let first_programme = tv
        .children
        .iter()
        .position(|c| c.name == "programme")
        .unwrap_or(tv.children.len());
    assert!(
        tv.children[..first_programme]
            .iter()
            .all(|c| c.name == "channel"),
        "channels come first"
    );
    assert!(
        tv.children[first_programme..]
            .iter()
            .all(|c| c.name == "programme")
    );
    let mut ids = HashSet::new();
    for c in tv.children.iter().filter(|c| c.name == "channel") {
        let id = c.attr("id").unwrap();
        assert!(ids.insert(id.to_owned()), "channel {id} declared twice");
        let names = c.child_names();
        let icons = names
            .iter()
            .skip_while(|n| **n == "display-name")
            .collect::<Vec<_>>();
        assert!(names.first() == Some(&"display-name"), "{id}: {names:?}");
        assert!(
            icons.iter().all(|n| **n == "icon") && icons.len() <= 1,
            "{id}: {names:?}"
        );
    }
    for p in tv.children.iter().filter(|c| c.name == "programme") {
        let channel = p.attr("channel").unwrap();
        assert!(
            ids.contains(channel),
            "programme of undeclared channel {channel}"
        );
        let order: Vec<usize> = p
            .child_names()
            .iter()
            .map(|n| {
                PROGRAMME_CHILDREN
                    .iter()
                    .position(|c| c == n)
                    .unwrap_or_else(|| panic!("child {n}"))
            })
            .collect();
        assert!(
            order.windows(2).all(|w| w[0] < w[1]),
            "children in DTD order, once each: {:?}",
            p.child_names()
        );
        assert_eq!(order.first(), Some(&0), "a title first");
        assert!(
            p.children
                .iter()
                .all(|c| c.name == "icon" || !c.text.trim().is_empty()),
            "no empty element"
        );
        for key in ["start", "stop"] {
            let value = p.attr(key).unwrap();
            let epoch = acextream_core::epg::parse_xmltv_time(value).unwrap();
            assert_eq!(
                xmltv_time(epoch, tz_name).as_deref(),
                Some(value),
                "{key} in {tz_name}"
            );
        }
    }
    tv
}

// ---- get.php ---------------------------------------------------------------------

/// Names, groups and logos that break naive writers.
fn tricky_playlist() -> String {
    format!(
        "#EXTM3U\n\
         #EXTINF:-1 tvg-id=\"sky.sport.it\" tvg-logo=\"http://logo/s.png\" tvg-chno=\"7\" group-title=\"Sport\",Sky Sport\n\
         acestream://{}\n\
         #EXTINF:-1 tvg-id=\"news.example.org\" group-title='Say \"hi\", world',Channel \"Q\", the one — ünïcödé 📺\n\
         acestream://{}\n\
         #EXTINF:-1 tvg-logo='http://logo/\"q\".png' group-title=\"Ça, c'est\",Bob's, \"Best\"\n\
         acestream://{}\n\
         #EXTINF:-1,Plain\n\
         acestream://{}\n",
        cid(1),
        cid(2),
        cid(3),
        cid(4)
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn get_php_refuses_wrong_credentials_and_unusable_accounts() {
    let app = TestApp::start("http://127.0.0.1:9", |_| {}).await;
    add_user(&app, "gone", "gone-pass-1", None, true).await;
    add_user(&app, "old", "old-pass-1", Some(now() - 86_400), false).await;
    for query in [
        creds(ADMIN.0, "wrong"),
        creds("nobody", "x"),
        "username=admin".to_owned(),
        String::new(),
        creds("gone", "gone-pass-1"),
        creds("old", "old-pass-1"),
    ] {
        for path in ["/get.php", "/xmltv.php"] {
            let r = get(&app, &format!("{path}?{query}")).await;
            assert_eq!(r.status, 401, "{path}?{query}: {}", r.text());
        }
    }
    let disabled = get(&app, &format!("/get.php?{}", creds("gone", "gone-pass-1"))).await;
    assert!(disabled.text().contains("disabled"), "{}", disabled.text());
    let expired = get(&app, &format!("/get.php?{}", creds("old", "old-pass-1"))).await;
    assert!(expired.text().contains("expired"), "{}", expired.text());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_playlist_survives_a_parser_round_trip() {
    let fixture = FixtureServer::start().await;
    let app = TestApp::start("http://127.0.0.1:9", |_| {}).await;
    import_playlist(&app, &fixture, tricky_playlist()).await;
    let stored = channels_by_id(&app).await;
    assert_eq!(stored.len(), 4);

    let r = get(&app, &format!("/get.php?{}", admin_creds())).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.header("content-type"), "audio/x-mpegurl");
    assert_eq!(r.header("cache-control"), "no-store");
    assert!(r.header("content-disposition").starts_with("attachment"));
    let text = r.text();
    let origin = format!("http://{}", app.public);
    let guide = format!("{origin}/xmltv.php?{}", admin_creds());
    let first = text.lines().next().unwrap();
    assert_eq!(
        first,
        format!("#EXTM3U url-tvg=\"{guide}\" x-tvg-url=\"{guide}\"")
    );
    assert!(!text.contains("0.0.0.0"));
    // Every #EXTINF line has exactly its 5 attributes' 10 quotes, whatever the values.
    for line in text.lines().filter(|l| l.starts_with("#EXTINF")) {
        let head = &line[..line.find("\",").unwrap() + 1];
        assert_eq!(head.matches('"').count(), 10, "{line}");
    }

    let parsed = parse_m3u(&text);
    assert_eq!(parsed.skipped, 0);
    assert_eq!(parsed.entries.len(), stored.len());
    for e in &parsed.entries {
        let acextream_core::sources::StreamRef::Direct { url } = &e.stream else {
            panic!("a stream URL: {e:?}")
        };
        let id: i64 = url
            .strip_prefix(&format!("{origin}/live/{}/{}/", ADMIN.0, ADMIN.1))
            .and_then(|rest| rest.strip_suffix(".ts"))
            .unwrap_or_else(|| panic!("{url}"))
            .parse()
            .unwrap();
        let c = &stored[&id];
        let text_of = |v: &Value| v.as_str().filter(|s| !s.is_empty()).map(str::to_owned);
        assert_eq!(
            e.name,
            c["name"].as_str().unwrap(),
            "names survive untouched"
        );
        // Documented: a `"` inside an attribute value becomes `'` (text) or `%22` (URL).
        assert_eq!(
            e.group,
            text_of(&c["category"]).map(|g| g.replace('"', "'"))
        );
        assert_eq!(e.logo, text_of(&c["logo"]).map(|l| l.replace('"', "%22")));
        assert_eq!(e.tvg_id, text_of(&c["tvg_id"]));
    }
    let names: Vec<&str> = parsed.entries.iter().map(|e| e.name.as_str()).collect();
    assert!(
        names.contains(&"Channel \"Q\", the one — ünïcödé 📺"),
        "{names:?}"
    );
    assert!(names.contains(&"Bob's, \"Best\""), "{names:?}");
    // Numbered channels keep their number; the others get their position.
    let sky = parsed
        .entries
        .iter()
        .find(|e| e.name == "Sky Sport")
        .unwrap();
    assert_eq!(sky.chno, Some(7));
    assert!(parsed.entries.iter().all(|e| e.chno.is_some()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn get_php_forms_types_outputs_and_post() {
    let fixture = FixtureServer::start().await;
    let app = TestApp::start("http://127.0.0.1:9", |_| {}).await;
    import_playlist(&app, &fixture, tricky_playlist()).await;
    let origin = format!("http://{}", app.public);

    let plain = get(
        &app,
        &format!("/get.php?{}&type=m3u&output=ts", admin_creds()),
    )
    .await;
    assert_eq!(plain.status, 200);
    let text = plain.text();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "#EXTM3U");
    assert_eq!(lines.len(), 1 + 2 * 4);
    for pair in lines[1..].chunks(2) {
        assert!(
            pair[0].starts_with("#EXTINF:-1,") && !pair[0].contains("tvg-"),
            "{}",
            pair[0]
        );
        assert!(
            pair[1].starts_with(&format!("{origin}/live/")) && pair[1].ends_with(".ts"),
            "{}",
            pair[1]
        );
    }

    // POST with a form body answers what GET answers.
    let by_get = get(&app, &format!("/get.php?{}&type=m3u_plus", admin_creds())).await;
    let by_post = fetch(
        raw_http()
            .post(app.url("/get.php"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(format!("{}&type=m3u_plus", admin_creds())),
    )
    .await;
    assert_eq!(by_post.status, 200, "{}", by_post.text());
    assert_eq!(by_post.body, by_get.body);
    let default = get(&app, &format!("/get.php?{}", admin_creds())).await;
    assert_eq!(
        default.body, by_get.body,
        "m3u_plus and ts are the defaults"
    );

    for output in ["hls", "m3u8"] {
        let r = get(&app, &format!("/get.php?{}&output={output}", admin_creds())).await;
        assert_eq!(r.status, 200, "{output}: {}", r.text());
        assert_eq!(
            r.text().matches(".m3u8\n").count(),
            by_get.text().matches(".ts\n").count()
        );
    }
    for (query, status) in [("output=flv", 400), ("type=xspf", 400)] {
        let r = get(&app, &format!("/get.php?{}&{query}", admin_creds())).await;
        assert_eq!(r.status, status, "{query}: {}", r.text());
        assert!(
            r.text().contains("output") || r.text().contains("type"),
            "a reason: {}",
            r.text()
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn urls_use_the_public_url_or_the_host_and_encode_credentials() {
    let fixture = FixtureServer::start().await;
    let app = TestApp::start("http://127.0.0.1:9", |s| {
        s.server.public_url = Some("https://tv.example.org:8443".parse().unwrap());
    })
    .await;
    import_playlist(&app, &fixture, tricky_playlist()).await;
    let text = get(&app, &format!("/get.php?{}", admin_creds()))
        .await
        .text();
    let urls: Vec<&str> = text.lines().filter(|l| !l.starts_with('#')).collect();
    assert_eq!(urls.len(), 4);
    assert!(
        urls.iter()
            .all(|u| u.starts_with("https://tv.example.org:8443/live/admin/")),
        "{urls:?}"
    );
    assert!(text.contains("url-tvg=\"https://tv.example.org:8443/xmltv.php?"));

    // Without public_url, the Host the player used (never the bind address).
    let plain = TestApp::start("http://127.0.0.1:9", |_| {}).await;
    import_playlist(&plain, &fixture, tricky_playlist()).await;
    let pass = "pä!ss'w@rd~1";
    add_user(&plain, "viewer", pass, None, false).await;
    let r = fetch(
        raw_http()
            .get(format!(
                "http://127.0.0.1:{}/get.php?{}",
                plain.public.port(),
                creds("viewer", pass)
            ))
            .header("host", "living-room.lan:8080"),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let text = r.text();
    assert!(!text.contains("0.0.0.0"));
    let encoded = "p%C3%A4%21ss%27w%40rd~1";
    assert!(
        text.contains(&format!(
            "url-tvg=\"http://living-room.lan:8080/xmltv.php?username=viewer&password={encoded}\""
        )),
        "{text}"
    );
    let url = text.lines().find(|l| !l.starts_with('#')).unwrap();
    let tail = url
        .strip_prefix(&format!(
            "http://living-room.lan:8080/live/viewer/{encoded}/"
        ))
        .unwrap();
    assert!(
        tail.strip_suffix(".ts").unwrap().parse::<i64>().is_ok(),
        "{url}"
    );
    // The encoded credentials are the ones the stream route decodes: an unknown
    // channel under them is 404 (authorised), not 401.
    let r = get(&plain, &format!("/live/viewer/{encoded}/999999.ts")).await;
    assert_eq!(r.status, 404, "{}", r.text());
    // And the guide URL in the header works as given.
    let guide = fetch(raw_http().get(format!(
        "http://{}/xmltv.php?username=viewer&password={encoded}",
        plain.public
    )))
    .await;
    assert_eq!(guide.status, 200);
}

// ---- xmltv.php -------------------------------------------------------------------

/// A playlist whose tvg-ids a guide maps: two channels share `one.example.org`, one has
/// no guide id at all, one has an id no guide has.
fn guide_playlist(with_unguided_id: bool) -> String {
    let mut m3u = format!(
        "#EXTM3U\n\
         #EXTINF:-1 tvg-id=\"one.example.org\" tvg-logo=\"http://logo/1.png\",One & Only <HD>\n\
         acestream://{}\n\
         #EXTINF:-1 tvg-id=\"ONE.example.org\",One backup\n\
         acestream://{}\n\
         #EXTINF:-1 tvg-id=\"two.example.org\",Two\n\
         acestream://{}\n\
         #EXTINF:-1,No guide\n\
         acestream://{}\n",
        cid(11),
        cid(12),
        cid(13),
        cid(14)
    );
    if with_unguided_id {
        m3u.push_str(&format!(
            "#EXTINF:-1 tvg-id=\"lost.example.org\",Lost\nacestream://{}\n",
            cid(15)
        ));
    }
    m3u
}

/// The guide of [`guide_playlist`], plus a channel no playlist entry shows.
fn guide_xml() -> String {
    let t = now() - now() % 3600;
    let mut xml = String::from(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<tv>\n\
         <channel id=\"one.example.org\"><display-name>One</display-name></channel>\n\
         <channel id=\"two.example.org\"><display-name>Two</display-name></channel>\n\
         <channel id=\"other.example.org\"><display-name>Other</display-name></channel>\n",
    );
    xml.push_str(&programme_xml(
        "one.example.org",
        t - 3600,
        t,
        "<icon src=\"http://img/p1.jpg\"/><category>Sport</category><desc lang=\"en\">A &lt;b&gt; &amp; \"c\"</desc>\
         <sub-title>Part 1</sub-title><title lang=\"it\">Partita</title>",
    ));
    xml.push_str(&programme_xml(
        "one.example.org",
        t,
        t + 3600,
        "<title>Only a title</title><desc></desc>",
    ));
    xml.push_str(&programme_xml(
        "two.example.org",
        t,
        t + 1800,
        "<title>Two's show</title><desc>Text</desc>",
    ));
    xml.push_str(&programme_xml(
        "other.example.org",
        t,
        t + 1800,
        "<title>Nobody's</title>",
    ));
    // Outside the stored window (days_back 1, days_ahead 7): dropped at import.
    xml.push_str(&programme_xml(
        "two.example.org",
        t - 10 * 86_400,
        t - 9 * 86_400,
        "<title>Old</title>",
    ));
    xml.push_str("</tv>\n");
    xml
}

async fn guide_app(tz: &str, with_unguided_id: bool) -> (TestApp, FixtureServer, FixtureServer) {
    let (lists, guides) = (FixtureServer::start().await, FixtureServer::start().await);
    let tz = tz.to_owned();
    let app = TestApp::start("http://127.0.0.1:9", move |s| s.server.timezone = tz).await;
    import_playlist(&app, &lists, guide_playlist(with_unguided_id)).await;
    let outcome = import_guide(&app, &guides, guide_xml()).await;
    assert_eq!(outcome["mapping"]["mapped"], 3, "{outcome}");
    (app, lists, guides)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_guide_declares_each_tvg_id_once_in_dtd_order_and_the_server_zone() {
    let (app, _lists, _guides) = guide_app("Europe/Rome", true).await;
    let playlist = parse_m3u(
        &get(&app, &format!("/get.php?{}", admin_creds()))
            .await
            .text(),
    );
    let tvg_ids: HashSet<String> = playlist
        .entries
        .iter()
        .filter_map(|e| e.tvg_id.clone())
        .collect();

    let r = get(&app, &format!("/xmltv.php?{}", admin_creds())).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.header("content-type"), "application/xml; charset=utf-8");
    assert!(
        r.header("content-encoding").is_empty(),
        "not compressed unless asked"
    );
    let xml = r.text();
    let tv = check_guide_shape(&xml, "Europe/Rome");

    let channels: Vec<&El> = tv.children.iter().filter(|c| c.name == "channel").collect();
    let ids: HashSet<String> = channels
        .iter()
        .map(|c| c.attr("id").unwrap().to_owned())
        .collect();
    assert_eq!(ids, tvg_ids, "channel ids are the playlist's tvg-ids");
    assert_eq!(ids.len(), 3, "{ids:?}");
    let one = channels
        .iter()
        .find(|c| c.attr("id") == Some("one.example.org"))
        .unwrap();
    let names: Vec<&str> = one
        .children
        .iter()
        .filter(|c| c.name == "display-name")
        .map(|c| c.text.as_str())
        .collect();
    assert_eq!(
        names,
        ["One & Only <HD>", "One backup"],
        "every channel sharing the id names it"
    );
    assert_eq!(
        one.children.last().unwrap().attr("src"),
        Some("http://logo/1.png")
    );

    let programmes: Vec<&El> = tv
        .children
        .iter()
        .filter(|c| c.name == "programme")
        .collect();
    let per_channel = |id: &str| {
        programmes
            .iter()
            .filter(|p| p.attr("channel") == Some(id))
            .count()
    };
    assert_eq!(
        per_channel("one.example.org"),
        2,
        "shared ids are written once"
    );
    assert_eq!(
        per_channel("two.example.org"),
        1,
        "the old programme is outside the window"
    );
    assert_eq!(programmes.len(), 3);
    let full = programmes[0];
    assert_eq!(
        full.child_names(),
        PROGRAMME_CHILDREN,
        "reordered from the feed's order"
    );
    assert_eq!(full.children[0].attr("lang"), Some("it"));
    assert_eq!(full.children[2].text, "A <b> & \"c\"");
    assert_eq!(
        full.children[2].attr("lang"),
        Some("en"),
        "the description keeps its own language"
    );
    let bare = programmes[1];
    assert_eq!(bare.child_names(), ["title"], "empty elements are left out");
    assert!(
        bare.attrs
            .iter()
            .all(|(k, v)| k != "start" || v.ends_with(" +0100") || v.ends_with(" +0200"))
    );

    // acextream's own XMLTV reader reads back the same times and texts.
    let (read_channels, read_programmes) = read_guide(&r.body);
    assert_eq!(read_channels.len(), 3);
    assert_eq!(read_programmes.len(), 3);
    assert_eq!(read_programmes[0].title, "Partita");
    assert_eq!(read_programmes[0].description, "A <b> & \"c\"");
    assert_eq!(
        read_programmes[0].start % 3600,
        0,
        "the offset is applied, not dropped"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_guide_is_gzipped_when_asked_and_post_works() {
    let (app, _lists, _guides) = guide_app("UTC", false).await;
    let plain = get(&app, &format!("/xmltv.php?{}", admin_creds())).await;
    let gz = fetch(
        raw_http()
            .get(app.url(&format!("/xmltv.php?{}", admin_creds())))
            .header("accept-encoding", "gzip, deflate"),
    )
    .await;
    assert_eq!(gz.status, 200);
    assert_eq!(gz.header("content-encoding"), "gzip");
    let mut decoded = Vec::new();
    flate2::read::GzDecoder::new(&gz.body[..])
        .read_to_end(&mut decoded)
        .unwrap();
    assert_eq!(decoded, plain.body);
    check_guide_shape(&plain.text(), "UTC");
    let posted = fetch(
        raw_http()
            .post(app.url("/xmltv.php"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(admin_creds()),
    )
    .await;
    assert_eq!(posted.body, plain.body);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_guide_validates_against_the_xmltv_dtd() {
    // Every declared channel has programmes here: tv_validate_file reports a channel
    // without any as an error, beyond what the DTD says.
    let (app, _lists, _guides) = guide_app("Europe/Rome", false).await;
    let r = get(&app, &format!("/xmltv.php?{}", admin_creds())).await;
    assert_eq!(r.status, 200);
    check_guide_shape(&r.text(), "Europe/Rome");
    if std::env::var("ACEXTREAM_VALIDATE_XMLTV").as_deref() != Ok("1") {
        eprintln!("ACEXTREAM_VALIDATE_XMLTV is not 1: tv_validate_file not run");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("guide.xml");
    std::fs::write(&file, &r.body).unwrap();
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/validate_xmltv.sh");
    let out = std::process::Command::new(script)
        .arg(&file)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "tv_validate_file: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_big_guide_streams_out_completely() {
    const CHANNELS: usize = 20;
    const PER_CHANNEL: usize = 1000;
    let (lists, guides) = (FixtureServer::start().await, FixtureServer::start().await);
    let app = TestApp::start("http://127.0.0.1:9", |_| {}).await;
    let mut m3u = String::from("#EXTM3U\n");
    let mut xml = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<tv>\n");
    for c in 0..CHANNELS {
        m3u.push_str(&format!(
            "#EXTINF:-1 tvg-id=\"ch{c}.example.org\",Channel {c}\nacestream://{}\n",
            cid(100 + c)
        ));
        xml.push_str(&format!(
            "<channel id=\"ch{c}.example.org\"><display-name>Channel {c}</display-name></channel>\n"
        ));
    }
    // 1000 ten-minute programmes per channel: from 12 hours ago to 6.4 days ahead,
    // all inside the stored window.
    let start = now() - 12 * 3600;
    for c in 0..CHANNELS {
        for i in 0..PER_CHANNEL {
            let t = start + i as i64 * 600;
            xml.push_str(&programme_xml(
                &format!("ch{c}.example.org"),
                t,
                t + 600,
                &format!("<title>Show {i} on {c}</title><desc>Episode {i}, with text to make it weigh.</desc>"),
            ));
        }
    }
    xml.push_str("</tv>\n");
    import_playlist(&app, &lists, m3u).await;
    let outcome = import_guide(&app, &guides, xml).await;
    assert_eq!(
        outcome["import"]["programmes"],
        CHANNELS * PER_CHANNEL,
        "{outcome}"
    );

    let r = get(&app, &format!("/xmltv.php?{}", admin_creds())).await;
    assert_eq!(r.status, 200);
    let text = r.text();
    assert!(text.ends_with("</tv>\n"), "the document is complete");
    assert_eq!(text.matches("<programme ").count(), CHANNELS * PER_CHANNEL);
    let (channels, programmes) = read_guide(&r.body);
    assert_eq!(channels.len(), CHANNELS);
    assert_eq!(programmes.len(), CHANNELS * PER_CHANNEL);

    let gz = fetch(
        raw_http()
            .get(app.url(&format!("/xmltv.php?{}", admin_creds())))
            .header("accept-encoding", "gzip"),
    )
    .await;
    assert!(
        gz.body.len() * 4 < r.body.len(),
        "{} vs {}",
        gz.body.len(),
        r.body.len()
    );
    let mut decoded = Vec::new();
    flate2::read::GzDecoder::new(&gz.body[..])
        .read_to_end(&mut decoded)
        .unwrap();
    assert_eq!(decoded, r.body);
}
